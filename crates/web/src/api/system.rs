//! Liveness, readiness, metrics and the OpenAPI document.

use crate::problem::Problem;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::OnceLock;

/// Health, metrics and the API description (not part of `/api/v1` itself).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/ical/{file}", get(calendar_feed))
}

/// A provider's calendar feed at its secret address (`/ical/<token>.ics`).
async fn calendar_feed(
    State(state): State<AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Response {
    let token = file.strip_suffix(".ics").unwrap_or(&file);
    match state.svc.provider_feed(token).await {
        Ok(body) => (
            [(header::CONTENT_TYPE, "text/calendar; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=300")],
            body,
        )
            .into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// Liveness: the process answers.
async fn healthz() -> Response {
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], "ok\n").into_response()
}

/// Readiness: the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.svc.check_ready().await {
        Ok(()) => {
            // The queue backlog is reported, not judged: a backlog is the workers' problem,
            // and taking this instance out of the load balancer would not help it.
            let queue = match state.svc.queue_stats().await {
                Ok(q) => serde_json::json!({
                    "due": q.due,
                    "waiting": q.waiting,
                    "running": q.running,
                    "dead": q.dead,
                    "oldest_due_age_seconds": q.oldest_due
                        .map(|t| state.svc.now().duration_since(t).as_secs().max(0))
                        .unwrap_or(0),
                }),
                Err(_) => serde_json::json!(null),
            };
            axum::Json(serde_json::json!({ "status": "ready", "database": "ok", "queue": queue })).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "The database is not answering.").into_response()
        }
    }
}

/// Prometheus text exposition.
async fn metrics(State(state): State<AppState>) -> Response {
    // Queue figures are read from the database at scrape time, so every instance reports
    // the whole queue whichever worker did the work.
    if let Err(e) = state.svc.refresh_queue_metrics().await {
        tracing::warn!(error = %e, "could not read the job queue for metrics");
    }
    let mut res = crate::metrics::render().into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    res
}

async fn openapi_json() -> Response {
    static DOC: OnceLock<String> = OnceLock::new();
    let body = DOC.get_or_init(|| super::openapi().to_pretty_json().unwrap_or_default()).clone();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
