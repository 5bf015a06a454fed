//! `/api/v1/forms`, `/api/v1/patients/{id}/forms`, `/api/v1/form-assignments/{id}`:
//! intake questionnaires, their assignment to patients and the patients' answers.

use crate::extract::{ApiActor, ApiJson, ApiPath};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use praxis_domain::{AppointmentId, PatientId};
use praxis_services::forms::{AnswersInput, AssignInput, Assignment, Form, FormInput};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_forms, create_form))
        .routes(routes!(get_form, update_form))
        .routes(routes!(patient_forms, assign_form))
        .routes(routes!(get_assignment))
        .routes(routes!(submit_answers))
        .routes(routes!(cancel_assignment))
        .routes(routes!(appointment_forms))
}

const PJ: &str = "application/problem+json";

/// Every intake form with its current questions (staff, providers, administrators).
#[utoipa::path(get, path = "/api/v1/forms", tag = "forms", security(("bearer" = [])),
    responses((status = 200, body = Vec<Form>), (status = 403, body = Problem, content_type = PJ)))]
async fn list_forms(State(st): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<Form>>> {
    Ok(Json(st.svc.list_forms(&a).await?))
}

/// Create an intake form (administrators). Question kinds: `text`, `choice`,
/// `multi_choice`, `date`, `number`, `yes_no`, `scale`; `service_ids` send it
/// automatically on a patient's first booking of those services.
#[utoipa::path(post, path = "/api/v1/forms", tag = "forms", security(("bearer" = [])), request_body = FormInput,
    responses((status = 201, body = Form), (status = 403, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn create_form(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<FormInput>,
) -> ApiResult<(StatusCode, Json<Form>)> {
    Ok((StatusCode::CREATED, Json(st.svc.create_form(&a, b).await?)))
}

/// One form with its current questions.
#[utoipa::path(get, path = "/api/v1/forms/{id}", tag = "forms", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Form), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn get_form(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Form>> {
    Ok(Json(st.svc.get_form(&a, id).await?))
}

/// Change a form (administrators). Changed questions publish a new version; forms
/// already answered keep the version they answered.
#[utoipa::path(put, path = "/api/v1/forms/{id}", tag = "forms", security(("bearer" = [])), params(("id" = String, Path)), request_body = FormInput,
    responses((status = 200, body = Form), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn update_form(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<FormInput>,
) -> ApiResult<Json<Form>> {
    Ok(Json(st.svc.update_form(&a, id, b).await?))
}

/// A patient's intake forms. Answers only for administrators, providers treating the
/// patient and the patient (audited); staff see what is pending or done.
#[utoipa::path(get, path = "/api/v1/patients/{id}/forms", tag = "forms", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<Assignment>), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ, description = "record_damaged: its protected content does not open (the administrators are alerted)")))]
async fn patient_forms(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
) -> ApiResult<Json<Vec<Assignment>>> {
    Ok(Json(st.svc.patient_forms(&a, id).await?))
}

/// Send a form to a patient (staff, administrators, providers treating the patient). A
/// form already waiting is 409.
#[utoipa::path(post, path = "/api/v1/patients/{id}/forms", tag = "forms", security(("bearer" = [])), params(("id" = String, Path)), request_body = AssignInput,
    responses((status = 201, body = Assignment), (status = 403, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn assign_form(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
    ApiJson(b): ApiJson<AssignInput>,
) -> ApiResult<(StatusCode, Json<Assignment>)> {
    Ok((StatusCode::CREATED, Json(st.svc.assign_form(&a, id, b).await?)))
}

/// One assigned form with its questions (and answers for those who may read them).
#[utoipa::path(get, path = "/api/v1/form-assignments/{id}", tag = "forms", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Assignment), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ, description = "record_damaged: its protected content does not open (the administrators are alerted)")))]
async fn get_assignment(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Assignment>> {
    Ok(Json(st.svc.get_assignment(&a, id).await?))
}

/// Answer a form (the patient, or a guardian). Answers are keyed by question; 422 names
/// each question that needs attention; 409 when the form changed meanwhile.
#[utoipa::path(post, path = "/api/v1/form-assignments/{id}/answers", tag = "forms", security(("bearer" = [])), params(("id" = String, Path)), request_body = AnswersInput,
    responses((status = 200, body = Assignment), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn submit_answers(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<AnswersInput>,
) -> ApiResult<Json<Assignment>> {
    Ok(Json(st.svc.submit_answers(&a, id, b).await?))
}

/// Withdraw a form that has not been answered yet.
#[utoipa::path(post, path = "/api/v1/form-assignments/{id}/cancel", tag = "forms", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Assignment), (status = 403, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ)))]
async fn cancel_assignment(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Assignment>> {
    Ok(Json(st.svc.cancel_assignment(&a, id).await?))
}

/// The intake forms of an appointment's patients (answers for those who may read them).
#[utoipa::path(get, path = "/api/v1/appointments/{id}/forms", tag = "forms", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<Assignment>), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ, description = "record_damaged: its protected content does not open (the administrators are alerted)")))]
async fn appointment_forms(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<AppointmentId>,
) -> ApiResult<Json<Vec<Assignment>>> {
    Ok(Json(st.svc.appointment_forms(&a, id).await?))
}
