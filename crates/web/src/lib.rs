//! Praxis over HTTP: the `/api/v1` JSON API (described by OpenAPI 3.1 at
//! `/api/v1/openapi.json`) and the server-rendered web pages. Handlers are thin: they
//! parse input, find the acting user, call one service function and shape its answer.
//! Access is decided by the services, never here.
#![forbid(unsafe_code)]

pub mod api;
mod csrf;
mod extract;
pub mod fhir;
pub mod metrics;
mod middleware;
pub mod pages;
mod problem;
mod state;

pub use problem::Problem;
pub use state::{AppState, WebConfig};

use axum::Router;

/// The whole HTTP application: API, pages, health endpoints, static assets and the
/// middleware stack (request ids, security headers, limits, timeouts, metrics).
pub fn router(state: AppState) -> Router {
    metrics::handle();
    let (api, _) = api::router().split_for_parts();
    let app = Router::new()
        .merge(api)
        .merge(pages::router())
        .merge(fhir::router())
        .merge(api::system::router())
        .fallback(middleware::not_found)
        .with_state(state.clone());
    middleware::stack(app, &state)
}

/// Serves the application on `listener` until `shutdown` completes, then finishes the
/// requests in flight (graceful shutdown).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state);
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
