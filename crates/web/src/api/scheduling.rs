//! `/api/v1/patients`, `/slots`, `/appointments`, `/series`, `/waitlist`.

use crate::extract::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::Date;
use praxis_domain::{
    AppointmentAction, AppointmentId, ClinicId, PatientId, ProviderId, SeriesId, ServiceId, WaitlistEntryId,
    WaitlistOfferId,
};
use praxis_services::scheduling::{
    Appointment, AppointmentChange, BookingRequest, CancelRequest, RescheduleRequest, SeriesMode, SeriesReport,
    SeriesRequest, SlotQuery, SlotTable, SlotView, WaitlistEntry, WaitlistInput, WaitlistOffer,
};
use praxis_services::users::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_slots))
        .routes(routes!(first_available))
        .routes(routes!(slot_days))
        .routes(routes!(list_appointments, book))
        .routes(routes!(get_appointment))
        .routes(routes!(history))
        .routes(routes!(confirm))
        .routes(routes!(check_in))
        .routes(routes!(start))
        .routes(routes!(complete))
        .routes(routes!(no_show))
        .routes(routes!(cancel))
        .routes(routes!(reschedule))
        .routes(routes!(add_participant))
        .routes(routes!(remove_participant))
        .routes(routes!(book_series))
        .routes(routes!(list_waitlist, join_waitlist))
        .routes(routes!(leave_waitlist))
        .routes(routes!(list_offers))
        .routes(routes!(accept_offer))
        .routes(routes!(decline_offer))
        .routes(routes!(issue_feed))
}

const PJ: &str = "application/problem+json";

/// A page of items.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PageOf<T> {
    /// Items on this page.
    pub items: Vec<T>,
    /// Total matching.
    pub total: i64,
    /// Page number.
    pub page: i64,
    /// Page size.
    pub per_page: i64,
}

impl<T> From<praxis_services::users::Page<T>> for PageOf<T> {
    fn from(p: praxis_services::users::Page<T>) -> Self {
        PageOf { items: p.items, total: p.total, page: p.page, per_page: p.per_page }
    }
}

/// Free times for a service over a date range (at most 90 days), by provider and/or
/// clinic, grouped per provider and local day: each provider's names once, then the
/// starts (UTC) of each day; every time lasts `minutes`. Group services also list
/// existing sessions with places left.
#[utoipa::path(get, path = "/api/v1/slots", tag = "scheduling", security(("bearer" = [])), params(SlotQuery),
    responses((status = 200, body = SlotTable), (status = 400, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn search_slots(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<SlotQuery>,
) -> ApiResult<Json<SlotTable>> {
    Ok(Json(st.svc.slot_table(&a, &q).await?))
}

/// First-available search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct FirstQuery {
    /// The service.
    service_id: ServiceId,
    /// Only at this clinic.
    clinic_id: Option<ClinicId>,
    /// From this local date (default today); searches 90 days.
    #[param(value_type = Option<String>, format = Date)]
    from: Option<Date>,
}

/// The earliest free time for a service across every provider.
#[utoipa::path(get, path = "/api/v1/slots/first-available", tag = "scheduling", security(("bearer" = [])), params(FirstQuery),
    responses((status = 200, body = Option<SlotView>, description = "The slot, or null when nothing is free in 90 days"), (status = 422, body = Problem, content_type = PJ)))]
async fn first_available(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<FirstQuery>,
) -> ApiResult<Json<Option<SlotView>>> {
    Ok(Json(st.svc.first_available(&a, q.service_id, q.clinic_id, q.from).await?))
}

/// Local dates in a range with at least one free time (for a month view).
#[utoipa::path(get, path = "/api/v1/slots/days", tag = "scheduling", security(("bearer" = [])), params(SlotQuery),
    responses((status = 200, body = Vec<String>), (status = 422, body = Problem, content_type = PJ)))]
async fn slot_days(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<SlotQuery>,
) -> ApiResult<Json<Vec<Date>>> {
    Ok(Json(st.svc.days_with_slots(&a, &q).await?))
}

/// Appointment filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AppointmentQuery {
    /// Starting at or after (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<Timestamp>,
    /// Starting before (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    until: Option<Timestamp>,
    /// At this clinic.
    clinic_id: Option<ClinicId>,
    /// With this provider.
    provider_id: Option<ProviderId>,
    /// For this patient.
    patient_id: Option<PatientId>,
    /// In this series.
    series_id: Option<SeriesId>,
    /// Comma-separated statuses.
    status: Option<String>,
    /// Page from 1.
    page: Option<i64>,
    /// Page size (default 50, at most 200).
    per_page: Option<i64>,
}

/// Appointments you may see (patients: your own; providers: your schedule).
#[utoipa::path(get, path = "/api/v1/appointments", tag = "scheduling", security(("bearer" = [])), params(AppointmentQuery),
    responses((status = 200, body = PageOf<Appointment>), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ)))]
async fn list_appointments(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<AppointmentQuery>,
) -> ApiResult<Json<PageOf<Appointment>>> {
    let mut statuses = Vec::new();
    for s in q.status.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let parsed: praxis_domain::AppointmentStatus = s
            .parse()
            .map_err(|_| {
                Problem::from(praxis_services::ServiceError::invalid(
                    "status",
                    "invalid",
                    format!("Unknown status {s:?}; use requested, held, confirmed, checked_in, in_progress, completed, cancelled, no_show or expired."),
                ))
            })?;
        statuses.push(parsed.as_str().to_string());
    }
    let filter = praxis_services::scheduling::AppointmentFilter {
        from: q.from,
        until: q.until,
        clinic_id: q.clinic_id,
        provider_id: q.provider_id,
        patient_id: q.patient_id,
        statuses,
        series_id: q.series_id,
        patients_of_user: None,
    };
    Ok(Json(st.svc.list_appointments(&a, filter, PageRequest::new(q.page, q.per_page)).await?.into()))
}

/// Book an appointment, or hold it (`"hold": true`) and confirm it afterwards. Send an
/// `Idempotency-Key` header to make retries safe: the same key returns the same
/// appointment (200 with `Idempotent-Replayed: true`). A time taken meanwhile is a 409.
#[utoipa::path(post, path = "/api/v1/appointments", tag = "scheduling", security(("bearer" = [])), request_body = BookingRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Any unique string per booking attempt")),
    responses((status = 201, body = Appointment), (status = 200, body = Appointment, description = "A replay of an earlier request with the same key"),
              (status = 403, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ, description = "Taken, full, or key reused"),
              (status = 422, body = Problem, content_type = PJ)))]
async fn book(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    headers: HeaderMap,
    ApiJson(b): ApiJson<BookingRequest>,
) -> ApiResult<Response> {
    let key = headers.get("idempotency-key").map(|v| v.to_str().unwrap_or("\u{0}").to_string());
    if key.as_deref().is_some_and(|k| k.contains('\u{0}')) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_header",
            "The Idempotency-Key header must be plain text.",
        ));
    }
    let booked = st.svc.book(&a, b, key.as_deref()).await?;
    let status = if booked.replayed { StatusCode::OK } else { StatusCode::CREATED };
    let mut res = (status, Json(booked.appointment)).into_response();
    if booked.replayed {
        res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// One appointment.
#[utoipa::path(get, path = "/api/v1/appointments/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Appointment), (status = 404, body = Problem, content_type = PJ)))]
async fn get_appointment(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<AppointmentId>,
) -> ApiResult<Json<Appointment>> {
    Ok(Json(st.svc.get_appointment(&a, id).await?))
}

/// An appointment's history: created, every move and status change.
#[utoipa::path(get, path = "/api/v1/appointments/{id}/history", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<AppointmentChange>), (status = 404, body = Problem, content_type = PJ)))]
async fn history(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<AppointmentId>,
) -> ApiResult<Json<Vec<AppointmentChange>>> {
    Ok(Json(st.svc.appointment_history(&a, id).await?))
}

macro_rules! workflow {
    ($name:ident, $path:literal, $action:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)),
            responses((status = 200, body = Appointment), (status = 403, body = Problem, content_type = PJ),
                      (status = 404, body = Problem, content_type = PJ),
                      (status = 409, body = Problem, content_type = PJ, description = "Not allowed from the current status")))]
        async fn $name(State(st): State<AppState>, ApiActor(a): ApiActor, ApiPath(id): ApiPath<AppointmentId>) -> ApiResult<Json<Appointment>> {
            Ok(Json(st.svc.transition(&a, id, $action).await?))
        }
    };
}

workflow!(
    confirm,
    "/api/v1/appointments/{id}/confirm",
    AppointmentAction::Confirm,
    "Confirm a hold (the patient or staff) or a request (staff, the provider)."
);
workflow!(check_in, "/api/v1/appointments/{id}/check-in", AppointmentAction::CheckIn, "Record the patient's arrival.");
workflow!(start, "/api/v1/appointments/{id}/start", AppointmentAction::Start, "Begin the consultation.");
workflow!(complete, "/api/v1/appointments/{id}/complete", AppointmentAction::Complete, "Finish the consultation.");
workflow!(
    no_show,
    "/api/v1/appointments/{id}/no-show",
    AppointmentAction::MarkNoShow,
    "Record that the patient did not come."
);

/// Cancel (for a series: `scope` this, following or all). Inside the service's
/// late-cancellation window the cancellation is flagged late.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/cancel", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)), request_body = CancelRequest,
    responses((status = 200, body = Vec<Appointment>), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn cancel(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<AppointmentId>,
    ApiJson(b): ApiJson<CancelRequest>,
) -> ApiResult<Json<Vec<Appointment>>> {
    Ok(Json(st.svc.cancel_appointment(&a, id, b).await?))
}

/// Move to a new time (checked like a new booking; the history keeps the old time). For a
/// series, `scope` moves this, following or all occurrences by the same shift.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/reschedule", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)), request_body = RescheduleRequest,
    responses((status = 200, body = Vec<Appointment>), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn reschedule(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<AppointmentId>,
    ApiJson(b): ApiJson<RescheduleRequest>,
) -> ApiResult<Json<Vec<Appointment>>> {
    Ok(Json(st.svc.reschedule(&a, id, b).await?))
}

/// A patient to add.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ParticipantInput {
    /// The patient.
    pub patient_id: Option<PatientId>,
}

/// Add a patient to a group session (up to its capacity).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/participants", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)), request_body = ParticipantInput,
    responses((status = 200, body = Appointment), (status = 403, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ, description = "Full, or already booked"), (status = 422, body = Problem, content_type = PJ)))]
async fn add_participant(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<AppointmentId>,
    ApiJson(b): ApiJson<ParticipantInput>,
) -> ApiResult<Json<Appointment>> {
    let patient = b.patient_id.ok_or_else(|| {
        Problem::from(praxis_services::ServiceError::invalid("patient_id", "required", "Choose the patient."))
    })?;
    Ok(Json(st.svc.add_participant(&a, id, patient).await?))
}

/// Remove a patient from a group session.
#[utoipa::path(delete, path = "/api/v1/appointments/{id}/participants/{patient_id}", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path), ("patient_id" = String, Path)),
    responses((status = 200, body = Appointment), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn remove_participant(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, patient)): ApiPath<(AppointmentId, PatientId)>,
) -> ApiResult<Json<Appointment>> {
    Ok(Json(st.svc.remove_participant(&a, id, patient).await?))
}

/// Book a recurring series. The answer reports every occurrence; with
/// `all_or_nothing`, any taken occurrence means nothing is booked (409 with the report in
/// `occurrences`).
#[utoipa::path(post, path = "/api/v1/series", tag = "scheduling", security(("bearer" = [])), request_body = SeriesRequest,
    responses((status = 201, body = SeriesReport), (status = 403, body = Problem, content_type = PJ, description = "A patient may book a series only for themselves or a patient they act for"), (status = 409, body = Problem, content_type = PJ, description = "Some occurrences are taken; `occurrences` lists each"),
              (status = 422, body = Problem, content_type = PJ)))]
async fn book_series(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<SeriesRequest>,
) -> ApiResult<Response> {
    let mode = b.mode;
    let report = st.svc.book_series(&a, b).await?;
    if report.booked == 0 {
        let detail = if mode == SeriesMode::AllOrNothing {
            format!(
                "Nothing was booked: {} of {} occurrences are not free.",
                report.conflicts,
                report.occurrences.len()
            )
        } else {
            "None of the occurrences is free.".to_string()
        };
        let mut p = Problem::new(StatusCode::CONFLICT, "series_conflict", detail);
        p.extensions.insert("occurrences".into(), serde_json::to_value(&report.occurrences).unwrap_or_default());
        return Err(p);
    }
    Ok((StatusCode::CREATED, Json(report)).into_response())
}

/// Waiting-list filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct WaitlistQuery {
    /// For one service.
    service_id: Option<ServiceId>,
    /// For one provider.
    provider_id: Option<ProviderId>,
    /// Comma-separated statuses (waiting, offered, booked, cancelled).
    status: Option<String>,
    /// Page from 1.
    page: Option<i64>,
    /// Page size.
    per_page: Option<i64>,
}

/// The waiting list in order (patients: their own entries).
#[utoipa::path(get, path = "/api/v1/waitlist", tag = "waitlist", security(("bearer" = [])), params(WaitlistQuery),
    responses((status = 200, body = PageOf<WaitlistEntry>), (status = 403, body = Problem, content_type = PJ)))]
async fn list_waitlist(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<WaitlistQuery>,
) -> ApiResult<Json<PageOf<WaitlistEntry>>> {
    let statuses: Vec<String> = q
        .status
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(bad) = statuses.iter().find(|s| !matches!(s.as_str(), "waiting" | "offered" | "booked" | "cancelled")) {
        return Err(Problem::from(praxis_services::ServiceError::invalid(
            "status",
            "invalid",
            format!("Unknown status {bad:?}; use waiting, offered, booked or cancelled."),
        )));
    }
    let filter = praxis_services::scheduling::EntryFilter {
        patient_id: None,
        service_id: q.service_id,
        provider_id: q.provider_id,
        statuses,
    };
    Ok(Json(st.svc.list_waitlist(&a, filter, PageRequest::new(q.page, q.per_page)).await?.into()))
}

/// Join the waiting list for a service.
#[utoipa::path(post, path = "/api/v1/waitlist", tag = "waitlist", security(("bearer" = [])), request_body = WaitlistInput,
    responses((status = 201, body = WaitlistEntry), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn join_waitlist(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<WaitlistInput>,
) -> ApiResult<(StatusCode, Json<WaitlistEntry>)> {
    Ok((StatusCode::CREATED, Json(st.svc.join_waitlist(&a, b).await?)))
}

/// Leave the waiting list.
#[utoipa::path(delete, path = "/api/v1/waitlist/{id}", tag = "waitlist", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = WaitlistEntry), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ)))]
async fn leave_waitlist(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<WaitlistEntryId>,
) -> ApiResult<Json<WaitlistEntry>> {
    Ok(Json(st.svc.leave_waitlist(&a, id).await?))
}

/// Offers filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct OfferQuery {
    /// Staff: one patient's offers.
    patient_id: Option<PatientId>,
}

/// Offers of freed times (patients: their own).
#[utoipa::path(get, path = "/api/v1/waitlist/offers", tag = "waitlist", security(("bearer" = [])), params(OfferQuery),
    responses((status = 200, body = Vec<WaitlistOffer>), (status = 403, body = Problem, content_type = PJ)))]
async fn list_offers(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<OfferQuery>,
) -> ApiResult<Json<Vec<WaitlistOffer>>> {
    Ok(Json(st.svc.list_offers(&a, q.patient_id).await?))
}

/// Accept an offer: the held time becomes your appointment.
#[utoipa::path(post, path = "/api/v1/waitlist/offers/{id}/accept", tag = "waitlist", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Appointment), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ, description = "Expired or already answered")))]
async fn accept_offer(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<WaitlistOfferId>,
) -> ApiResult<Json<Appointment>> {
    Ok(Json(st.svc.accept_offer(&a, id).await?))
}

/// Decline an offer; the time passes to the next person waiting.
#[utoipa::path(post, path = "/api/v1/waitlist/offers/{id}/decline", tag = "waitlist", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = WaitlistOffer), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ)))]
async fn decline_offer(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<WaitlistOfferId>,
) -> ApiResult<Json<WaitlistOffer>> {
    Ok(Json(st.svc.decline_offer(&a, id).await?))
}

/// A calendar feed address.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedLink {
    /// Subscribe to this address in any calendar app. Keep it secret; issuing a new one
    /// stops the old one.
    pub url: String,
}

/// Issue (or replace) a provider's secret calendar-feed address (the provider, administrators).
#[utoipa::path(post, path = "/api/v1/providers/{id}/calendar-feed", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = FeedLink), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn issue_feed(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ProviderId>,
) -> ApiResult<Json<FeedLink>> {
    Ok(Json(FeedLink { url: st.svc.issue_feed_token(&a, id).await? }))
}
