//! `/api/v1/backups`: the backup history, starting and verifying backups (both run in
//! the background job queue: a large backup outlasts any request), downloading a
//! backup's files, and the schedule. Administrators only.

use crate::extract::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use praxis_services::backups::alerts::Alert;
use praxis_services::backups::{Backup, BackupKind, BackupPage, BackupSchedule, ScheduleInput};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

const PJ: &str = "application/problem+json";

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_backups, start_backup))
        .routes(routes!(get_schedule, set_schedule))
        .routes(routes!(get_backup))
        .routes(routes!(verify_backup))
        .routes(routes!(download_part))
        .routes(routes!(list_alerts))
        .routes(routes!(dismiss_alert))
}

/// Paging for the history.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Items (1–500, default 50).
    pub limit: Option<i64>,
    /// Items to skip.
    pub offset: Option<i64>,
}

/// The history of backups, newest first.
#[utoipa::path(get, path = "/api/v1/backups", tag = "operations", security(("bearer" = [])), params(HistoryQuery),
    responses((status = 200, body = BackupPage), (status = 400, body = Problem, content_type = PJ),
              (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ)))]
async fn list_backups(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<BackupPage>> {
    Ok(Json(st.svc.list_backups(&a, q.limit.unwrap_or(50), q.offset.unwrap_or(0)).await?))
}

/// What to back up.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StartBackup {
    /// `database`, `files` or `full` (default).
    #[serde(default)]
    pub kind: Option<BackupKind>,
}

/// A background task was queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Queued {
    /// Always true.
    pub queued: bool,
    /// What happens next.
    pub detail: String,
}

/// Start a backup now. It is written and then verified by a worker; the history shows
/// it as it goes (`running`, then `good` or `failed`).
#[utoipa::path(post, path = "/api/v1/backups", tag = "operations", security(("bearer" = [])), request_body = StartBackup,
    responses((status = 202, body = Queued), (status = 400, body = Problem, content_type = PJ),
              (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 422, body = Problem, content_type = PJ)))]
async fn start_backup(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<StartBackup>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    let kind = b.kind.unwrap_or(BackupKind::Full);
    st.svc.request_backup(&a, kind).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Queued {
            queued: true,
            detail: format!("A {kind} backup will be written and verified shortly; it appears in the history."),
        }),
    ))
}

/// One backup with its manifest.
#[utoipa::path(get, path = "/api/v1/backups/{id}", tag = "operations", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Backup), (status = 400, body = Problem, content_type = PJ), (status = 401, body = Problem, content_type = PJ),
              (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn get_backup(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Backup>> {
    Ok(Json(st.svc.get_backup(&a, id).await?))
}

/// Verify a backup again by a test restore (in the background).
#[utoipa::path(post, path = "/api/v1/backups/{id}/verify", tag = "operations", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 202, body = Queued), (status = 400, body = Problem, content_type = PJ), (status = 401, body = Problem, content_type = PJ),
              (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ),
              (status = 409, body = Problem, content_type = PJ)))]
async fn verify_backup(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    st.svc.request_verification(&a, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Queued { queued: true, detail: "The backup will be verified by a test restore shortly.".into() }),
    ))
}

/// Download one file of a backup (its manifest or a sealed part). The parts stay
/// sealed: only a Praxis holding the installation's key can restore them.
#[utoipa::path(get, path = "/api/v1/backups/{id}/files/{name}", tag = "operations", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("name" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 400, body = Problem, content_type = PJ),
              (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 404, body = Problem, content_type = PJ)))]
async fn download_part(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, name)): ApiPath<(Uuid, String)>,
) -> ApiResult<Response> {
    let path = st.svc.backup_part_for_download(&a, id, &name).await?;
    Ok(file_response(&path, &name).await)
}

/// Streams a file from disk as an attachment.
pub(crate) async fn file_response(path: &std::path::Path, name: &str) -> Response {
    use tokio::io::AsyncReadExt;
    let file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(_) => {
            return Problem::new(StatusCode::NOT_FOUND, "not_found", "Backup file was not found.").into_response();
        }
    };
    let len = file.metadata().await.map(|m| m.len()).ok();
    let stream = futures::stream::try_unfold(file, |mut f| async move {
        let mut buf = vec![0u8; 64 * 1024];
        let n = f.read(&mut buf).await?;
        if n == 0 {
            return Ok::<_, std::io::Error>(None);
        }
        buf.truncate(n);
        Ok(Some((Bytes::from(buf), f)))
    });
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    let kind = if name.ends_with(".json") { "application/json" } else { "application/octet-stream" };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if let Some(len) = len {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    let safe: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The backup schedule and retention.
#[utoipa::path(get, path = "/api/v1/backups/schedule", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = BackupSchedule), (status = 401, body = Problem, content_type = PJ),
              (status = 403, body = Problem, content_type = PJ)))]
async fn get_schedule(State(st): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<BackupSchedule>> {
    Ok(Json(st.svc.backup_schedule(&a).await?))
}

/// Change the backup schedule and retention.
#[utoipa::path(put, path = "/api/v1/backups/schedule", tag = "operations", security(("bearer" = [])), request_body = ScheduleInput,
    responses((status = 200, body = BackupSchedule), (status = 400, body = Problem, content_type = PJ),
              (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 422, body = Problem, content_type = PJ)))]
async fn set_schedule(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<ScheduleInput>,
) -> ApiResult<Json<BackupSchedule>> {
    Ok(Json(st.svc.set_backup_schedule(&a, &b).await?))
}

/// Open operational alerts (failed backups, no recent good backup, messages that could
/// not be sent), newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = Vec<Alert>), (status = 401, body = Problem, content_type = PJ),
              (status = 403, body = Problem, content_type = PJ)))]
async fn list_alerts(State(st): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<Alert>>> {
    Ok(Json(st.svc.open_alerts(&a).await?))
}

/// Dismiss an alert (it leaves the banner; its history stays).
#[utoipa::path(delete, path = "/api/v1/alerts/{key}", tag = "operations", security(("bearer" = [])), params(("key" = String, Path)),
    responses((status = 204), (status = 400, body = Problem, content_type = PJ), (status = 401, body = Problem, content_type = PJ),
              (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn dismiss_alert(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<StatusCode> {
    st.svc.dismiss_alert(&a, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}
