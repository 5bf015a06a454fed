//! `/api/v1/patients`, `/api/v1/notes`: patient records and the clinical record.

use super::scheduling::PageOf;
use crate::extract::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use praxis_domain::{PatientId, ProviderId, UserId};
use praxis_services::clinical::{NewNote, Note, NoteKind, NoteUse};
use praxis_services::patients::{Consent, ConsentInput, Guardian, NewPatient, Patient, PatientQuery};
use praxis_services::users::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_patients, create_patient))
        .routes(routes!(export_patients))
        .routes(routes!(get_patient, update_patient))
        .routes(routes!(archive_patient))
        .routes(routes!(restore_patient))
        .routes(routes!(list_guardians, add_guardian))
        .routes(routes!(remove_guardian))
        .routes(routes!(list_consents, add_consent))
        .routes(routes!(withdraw_consent))
        .routes(routes!(add_to_care_team))
        .routes(routes!(patient_notes, create_note))
        .routes(routes!(get_note, update_note))
        .routes(routes!(sign_note))
        .routes(routes!(amend_note))
}

const PJ: &str = "application/problem+json";

/// Find patients (staff, providers, administrators): any part of a name, email, phone or
/// record number, accents and case ignored; filters by clinic, provider, status and last
/// visit; paged.
#[utoipa::path(get, path = "/api/v1/patients", tag = "patients", security(("bearer" = [])), params(PatientQuery),
    responses((status = 200, body = PageOf<Patient>), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ)))]
async fn list_patients(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<PatientQuery>,
) -> ApiResult<Json<PageOf<Patient>>> {
    Ok(Json(st.svc.list_patients(&a, &q, PageRequest::new(q.page, q.per_page)).await?.into()))
}

/// Register a patient (staff, providers, administrators). A probable duplicate (same name
/// and date of birth) answers 409 `possible_duplicate` unless `confirm_duplicate` is true.
#[utoipa::path(post, path = "/api/v1/patients", tag = "patients", security(("bearer" = [])), request_body = NewPatient,
    responses((status = 201, body = Patient), (status = 403, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn create_patient(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<NewPatient>,
) -> ApiResult<(StatusCode, Json<Patient>)> {
    Ok((StatusCode::CREATED, Json(st.svc.create_patient(&a, b).await?)))
}

/// Every patient matching the filters as CSV (administrators). Formula-like cells are
/// defused.
#[utoipa::path(get, path = "/api/v1/patients/export.csv", tag = "patients", security(("bearer" = [])), params(PatientQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem, content_type = PJ)))]
async fn export_patients(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<PatientQuery>,
) -> ApiResult<Response> {
    let csv = st.svc.export_patients_csv(&a, &q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"patients.csv\""),
        ],
        csv,
    )
        .into_response())
}

/// One patient (patients and guardians: only their own).
#[utoipa::path(get, path = "/api/v1/patients/{id}", tag = "patients", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Patient), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ, description = "record_damaged: its protected content does not open (the administrators are alerted)")))]
async fn get_patient(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
) -> ApiResult<Json<Patient>> {
    Ok(Json(st.svc.get_patient(&a, id).await?))
}

/// Replace a patient's details.
#[utoipa::path(put, path = "/api/v1/patients/{id}", tag = "patients", security(("bearer" = [])), params(("id" = String, Path)), request_body = NewPatient,
    responses((status = 200, body = Patient), (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn update_patient(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
    ApiJson(b): ApiJson<NewPatient>,
) -> ApiResult<Json<Patient>> {
    Ok(Json(st.svc.update_patient(&a, id, b).await?))
}

/// Archive a patient (never deleted; hidden from lists by default).
#[utoipa::path(post, path = "/api/v1/patients/{id}/archive", tag = "patients", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Patient), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn archive_patient(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
) -> ApiResult<Json<Patient>> {
    Ok(Json(st.svc.set_patient_archived(&a, id, true).await?))
}

/// Restore an archived patient.
#[utoipa::path(post, path = "/api/v1/patients/{id}/restore", tag = "patients", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Patient), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn restore_patient(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
) -> ApiResult<Json<Patient>> {
    Ok(Json(st.svc.set_patient_archived(&a, id, false).await?))
}

/// The accounts that may act for a patient (a minor's parents).
#[utoipa::path(get, path = "/api/v1/patients/{id}/guardians", tag = "patients", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<Guardian>), (status = 404, body = Problem, content_type = PJ)))]
async fn list_guardians(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
) -> ApiResult<Json<Vec<Guardian>>> {
    Ok(Json(st.svc.guardians(&a, id).await?))
}

/// A guardian to add.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct GuardianInput {
    /// Their portal account.
    pub user_id: Option<UserId>,
    /// Mother, father, carer…
    #[serde(default)]
    pub relationship: String,
}

/// Let a portal account act for a patient (staff, administrators).
#[utoipa::path(post, path = "/api/v1/patients/{id}/guardians", tag = "patients", security(("bearer" = [])), params(("id" = String, Path)), request_body = GuardianInput,
    responses((status = 200, body = Vec<Guardian>), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn add_guardian(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
    ApiJson(b): ApiJson<GuardianInput>,
) -> ApiResult<Json<Vec<Guardian>>> {
    let user = b.user_id.ok_or_else(|| {
        Problem::from(praxis_services::ServiceError::invalid("user_id", "required", "Choose the guardian's account."))
    })?;
    Ok(Json(st.svc.add_guardian(&a, id, user, &b.relationship).await?))
}

/// Stop an account acting for a patient.
#[utoipa::path(delete, path = "/api/v1/patients/{id}/guardians/{user_id}", tag = "patients", security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn remove_guardian(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, user)): ApiPath<(PatientId, UserId)>,
) -> ApiResult<StatusCode> {
    st.svc.remove_guardian(&a, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A patient's consents with dates.
#[utoipa::path(get, path = "/api/v1/patients/{id}/consents", tag = "patients", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<Consent>), (status = 404, body = Problem, content_type = PJ)))]
async fn list_consents(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
) -> ApiResult<Json<Vec<Consent>>> {
    Ok(Json(st.svc.consents(&a, id).await?))
}

/// Record a consent.
#[utoipa::path(post, path = "/api/v1/patients/{id}/consents", tag = "patients", security(("bearer" = [])), params(("id" = String, Path)), request_body = ConsentInput,
    responses((status = 201, body = Consent), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn add_consent(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
    ApiJson(b): ApiJson<ConsentInput>,
) -> ApiResult<(StatusCode, Json<Consent>)> {
    Ok((StatusCode::CREATED, Json(st.svc.add_consent(&a, id, b).await?)))
}

/// Record that a consent was withdrawn.
#[utoipa::path(post, path = "/api/v1/patients/{id}/consents/{consent_id}/withdraw", tag = "patients", security(("bearer" = [])),
    params(("id" = String, Path), ("consent_id" = String, Path)),
    responses((status = 200, body = Vec<Consent>), (status = 404, body = Problem, content_type = PJ)))]
async fn withdraw_consent(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, consent)): ApiPath<(PatientId, Uuid)>,
) -> ApiResult<Json<Vec<Consent>>> {
    Ok(Json(st.svc.withdraw_consent(&a, id, consent).await?))
}

/// A provider to add to a patient's care team.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct CareTeamInput {
    /// The provider.
    pub provider_id: Option<ProviderId>,
}

/// Assign a provider to a patient (they may then read and write the clinical record).
#[utoipa::path(post, path = "/api/v1/patients/{id}/care-team", tag = "patients", security(("bearer" = [])), params(("id" = String, Path)), request_body = CareTeamInput,
    responses((status = 204), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn add_to_care_team(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
    ApiJson(b): ApiJson<CareTeamInput>,
) -> ApiResult<StatusCode> {
    let provider = b.provider_id.ok_or_else(|| {
        Problem::from(praxis_services::ServiceError::invalid("provider_id", "required", "Choose the provider."))
    })?;
    st.svc.assign_provider(&a, id, provider).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Notes query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct NotesQuery {
    /// Only this kind: `progress`, `therapy_session` or `assessment`.
    kind: Option<String>,
    /// Page number, from 1.
    page: Option<i64>,
    /// Notes per page (default 50, at most 200).
    per_page: Option<i64>,
}

/// A patient's notes and assessments, newest first, a page at a time (providers who
/// treat the patient, administrators). Drafts only to their author. Audited.
#[utoipa::path(get, path = "/api/v1/patients/{id}/notes", tag = "clinical", security(("bearer" = [])), params(("id" = String, Path), NotesQuery),
    responses((status = 200, body = PageOf<Note>), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ, description = "record_damaged: its protected content does not open (the administrators are alerted)")))]
async fn patient_notes(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
    ApiQuery(q): ApiQuery<NotesQuery>,
) -> ApiResult<Json<PageOf<Note>>> {
    let kind = match q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(NoteKind::parse(k).ok_or_else(|| {
            Problem::from(praxis_services::ServiceError::invalid(
                "kind",
                "invalid",
                "Use progress, therapy_session or assessment.",
            ))
        })?),
    };
    let page = PageRequest::new(q.page, q.per_page);
    Ok(Json(st.svc.patient_notes(&a, id, kind, page).await?.into()))
}

/// Write a draft note or assessment (providers who treat the patient).
#[utoipa::path(post, path = "/api/v1/patients/{id}/notes", tag = "clinical", security(("bearer" = [])), params(("id" = String, Path)), request_body = NewNote,
    responses((status = 201, body = Note), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn create_note(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
    body: Result<ApiJson<NewNote>, Problem>,
) -> ApiResult<(StatusCode, Json<Note>)> {
    // Who may write here is settled before the body is read: someone else's record
    // answers 404 whatever the body.
    st.svc.check_clinical_write(&a, id).await?;
    let ApiJson(b) = body?;
    Ok((StatusCode::CREATED, Json(st.svc.create_note(&a, id, b).await?)))
}

/// One note with its amendments. Audited.
#[utoipa::path(get, path = "/api/v1/notes/{id}", tag = "clinical", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Note), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ, description = "record_damaged: its protected content does not open (the administrators are alerted)")))]
async fn get_note(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Note>> {
    Ok(Json(st.svc.read_note(&a, id).await?))
}

/// Replace a draft's content (its author). A signed note answers 409.
#[utoipa::path(put, path = "/api/v1/notes/{id}", tag = "clinical", security(("bearer" = [])), params(("id" = String, Path)), request_body = NewNote,
    responses((status = 200, body = Note), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn update_note(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
    body: Result<ApiJson<NewNote>, Problem>,
) -> ApiResult<Json<Note>> {
    st.svc.check_note_visible(&a, id, NoteUse::Edit).await?;
    let ApiJson(b) = body?;
    Ok(Json(st.svc.update_note(&a, id, b).await?))
}

/// Sign a draft (its author): it never changes again.
#[utoipa::path(post, path = "/api/v1/notes/{id}/sign", tag = "clinical", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Note), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ)))]
async fn sign_note(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Note>> {
    Ok(Json(st.svc.sign_note(&a, id).await?))
}

/// An amendment.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct AmendmentInput {
    /// Why the note is amended.
    #[serde(default)]
    pub reason: String,
    /// The addition or correction.
    #[serde(default)]
    pub text: String,
}

/// Amend a signed note; the amendment shows beside the original.
#[utoipa::path(post, path = "/api/v1/notes/{id}/amendments", tag = "clinical", security(("bearer" = [])), params(("id" = String, Path)), request_body = AmendmentInput,
    responses((status = 200, body = Note), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn amend_note(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
    body: Result<ApiJson<AmendmentInput>, Problem>,
) -> ApiResult<Json<Note>> {
    st.svc.check_note_visible(&a, id, NoteUse::Amend).await?;
    let ApiJson(b) = body?;
    Ok(Json(st.svc.amend_note(&a, id, &b.reason, &b.text).await?))
}
