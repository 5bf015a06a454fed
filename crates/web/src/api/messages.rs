//! `/api/v1/messages` (the outbox: what was sent, what failed, retry and cancel) and a
//! patient's message preferences.

use crate::api::scheduling::PageOf;
use crate::extract::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use praxis_domain::{AppointmentId, PatientId};
use praxis_services::notifications::{MessageQuery, MessageView, Preferences, PreferencesInput};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_messages))
        .routes(routes!(get_message))
        .routes(routes!(retry_message))
        .routes(routes!(cancel_message))
        .routes(routes!(appointment_messages))
        .routes(routes!(get_preferences, set_preferences))
}

const PJ: &str = "application/problem+json";

/// Messages, newest first, with their status (`pending`, `sent`, `failed` — will retry —,
/// `dead` — gave up —, `cancelled`), attempts and last error (staff, administrators).
#[utoipa::path(get, path = "/api/v1/messages", tag = "messages", security(("bearer" = [])), params(MessageQuery),
    responses((status = 200, body = PageOf<MessageView>), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn list_messages(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<MessageQuery>,
) -> ApiResult<Json<PageOf<MessageView>>> {
    Ok(Json(st.svc.list_messages(&a, &q).await?.into()))
}

/// One message.
#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = "messages", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = MessageView), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn get_message(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<MessageView>> {
    Ok(Json(st.svc.get_message(&a, id).await?))
}

/// Send a failed, dead or cancelled message again now (a fresh set of attempts).
#[utoipa::path(post, path = "/api/v1/messages/{id}/retry", tag = "messages", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = MessageView), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ)))]
async fn retry_message(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<MessageView>> {
    Ok(Json(st.svc.retry_message(&a, id).await?))
}

/// Cancel a message that is waiting to be sent.
#[utoipa::path(post, path = "/api/v1/messages/{id}/cancel", tag = "messages", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = MessageView), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ)))]
async fn cancel_message(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<MessageView>> {
    Ok(Json(st.svc.cancel_message(&a, id).await?))
}

/// The messages about one appointment (its message history).
#[utoipa::path(get, path = "/api/v1/appointments/{id}/messages", tag = "messages", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<MessageView>), (status = 403, body = Problem, content_type = PJ)))]
async fn appointment_messages(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<AppointmentId>,
) -> ApiResult<Json<Vec<MessageView>>> {
    Ok(Json(st.svc.appointment_messages(&a, id).await?))
}

/// A patient's message preferences (patients: their own): email and SMS on or off, and
/// quiet hours without SMS.
#[utoipa::path(get, path = "/api/v1/patients/{id}/message-preferences", tag = "messages", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Preferences), (status = 404, body = Problem, content_type = PJ)))]
async fn get_preferences(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
) -> ApiResult<Json<Preferences>> {
    Ok(Json(st.svc.get_preferences(&a, id).await?))
}

/// Change a patient's message preferences (patients: their own). Fields left out keep
/// their value; times are `HH:MM` in the clinic's zone.
#[utoipa::path(put, path = "/api/v1/patients/{id}/message-preferences", tag = "messages", security(("bearer" = [])), params(("id" = String, Path)), request_body = PreferencesInput,
    responses((status = 200, body = Preferences), (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn set_preferences(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
    ApiJson(b): ApiJson<PreferencesInput>,
) -> ApiResult<Json<Preferences>> {
    Ok(Json(st.svc.set_preferences(&a, id, b).await?))
}
