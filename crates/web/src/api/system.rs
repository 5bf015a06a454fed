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

/// Readiness: the database answers and the data folder is writable. The queue backlog
/// and the age of the last good backup are reported, not judged: a backlog is the
/// workers' problem and an old backup the administrators', and taking this instance out
/// of the load balancer would help neither (both alert on their own).
async fn readyz(State(state): State<AppState>) -> Response {
    let r = state.svc.readiness().await;
    let body = serde_json::json!({
        "status": if r.ready { "ready" } else { "not_ready" },
        "database": if r.database_error.is_none() { "ok" } else { "down" },
        "storage": { "writable": r.storage_writable, "free_bytes": r.free_bytes },
        "queue": { "due": r.queue_due, "waiting": r.queue_waiting, "running": r.queue_running,
                   "abandoned": r.queue_abandoned, "dead": r.queue_dead,
                   "oldest_due_age_seconds": r.oldest_due_seconds },
        "backup": { "last_good_age_seconds": r.last_good_backup_age_seconds },
    });
    if r.ready {
        return axum::Json(body).into_response();
    }
    tracing::warn!(database = ?r.database_error, storage_writable = r.storage_writable, "not ready");
    let detail =
        if r.database_error.is_some() { "The database is not answering." } else { "The data folder is not writable." };
    let mut res = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", detail).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Prometheus text exposition.
async fn metrics(State(state): State<AppState>) -> Response {
    // Queue figures are read from the database at scrape time, so every instance reports
    // the whole queue whichever worker did the work.
    if let Err(e) = state.svc.refresh_queue_metrics().await {
        tracing::warn!(error = %e, "could not read the job queue for metrics");
    }
    if let Err(e) = state.svc.refresh_ops_metrics().await {
        tracing::warn!(error = %e, "could not read the backup and storage figures for metrics");
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
