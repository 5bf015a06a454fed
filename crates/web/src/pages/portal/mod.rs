//! The patient portal: register, book (service → clinician → time → details → done),
//! see, cancel and move appointments, join the waiting list and answer offers.

mod start;

use super::{FormErrors, Layout, PageError, PageResult};
use crate::csrf::CsrfToken;
use crate::extract::{Ctx, PageActor};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::{CookieJar, Form};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use praxis_domain::{AppointmentAction, AppointmentId, AppointmentStatus, ClinicId, ProviderId, ServiceId};
use praxis_services::auth::SessionKind;
use praxis_services::catalog::{Clinic, Provider, Service};
use praxis_services::patients::Registration;
use praxis_services::scheduling::{
    Appointment, AppointmentFilter, BookingRequest, CancelRequest, RescheduleRequest, SlotQuery, SlotView,
    WaitlistInput,
};
use praxis_services::users::PageRequest;
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/register", get(register_page).post(register))
        .route("/book", get(start::choose_service))
        .route("/book/s/{service}", get(start::choose_provider))
        .route("/book/s/{service}/time", get(choose_time))
        .route("/book/hold", post(hold))
        .route("/book/confirm/{id}", get(confirm_page).post(confirm))
        .route("/book/release/{id}", post(release))
        .route("/my/appointments", get(my_appointments))
        .route("/my/appointments/{id}", get(my_appointment))
        .route("/my/appointments/{id}/calendar.ics", get(appointment_ics))
        .route("/my/appointments/{id}/cancel", get(cancel_page).post(cancel))
        .route("/my/appointments/{id}/reschedule", get(reschedule_page).post(reschedule))
        .route("/my/waitlist", get(my_waitlist).post(join_waitlist))
        .route("/my/waitlist/join", get(join_waitlist_page))
        .route("/my/waitlist/{id}/leave", post(leave_waitlist))
        .route("/my/offers/{id}/accept", post(accept_offer))
        .route("/my/offers/{id}/decline", post(decline_offer))
}

// ---------------------------------------------------------------------------------------
// Registration

#[derive(Template, WebTemplate)]
#[template(path = "portal_register.html")]
struct RegisterPage {
    layout: Layout,
    form: RegisterForm,
    errors: FormErrors,
}

#[derive(Default, Deserialize)]
struct RegisterForm {
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn register_page(Extension(csrf): Extension<CsrfToken>) -> Response {
    RegisterPage {
        layout: Layout::public(Some(&csrf), "Register as a patient"),
        form: RegisterForm::default(),
        errors: FormErrors::default(),
    }
    .into_response()
}

async fn register(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    jar: CookieJar,
    Form(f): Form<RegisterForm>,
) -> PageResult {
    let mut date_error = None;
    let date_of_birth = match f.date_of_birth.trim() {
        "" => None,
        text => match text.parse::<Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                date_error = Some("Enter a real date, for example 1990-04-23.");
                None
            }
        },
    };
    let input = Registration {
        given_name: f.given_name.clone(),
        family_name: f.family_name.clone(),
        email: f.email.clone(),
        phone: Some(f.phone.clone()).filter(|p| !p.trim().is_empty()),
        date_of_birth,
        password: f.password.clone(),
        confirm_password: f.confirm_password.clone(),
    };
    let outcome = match date_error {
        Some(msg) => Err(ServiceError::invalid("date_of_birth", "invalid", msg)),
        None => st.svc.register_patient(&ctx, input).await,
    };
    match outcome {
        Ok(_) => {
            let outcome = st.svc.login(&ctx, &f.email, &f.password, SessionKind::Browser).await?;
            Ok(super::auth::after_password(&st, jar, outcome, "/book?msg=welcome"))
        }
        Err(ServiceError::Validation(errors)) | Err(ServiceError::Conflict { fields: errors, .. }) => {
            let page = RegisterPage {
                layout: Layout::public(Some(&csrf), "Register as a patient")
                    .notice("error", "Please correct the fields marked below."),
                form: RegisterForm { password: String::new(), confirm_password: String::new(), ..f },
                errors: FormErrors(errors),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(ServiceError::RateLimited { retry_after_secs }) => {
            let minutes = retry_after_secs.div_ceil(60);
            let page = RegisterPage {
                layout: Layout::public(Some(&csrf), "Register as a patient").notice(
                    "error",
                    format!(
                        "Too many registrations came from your network just now. Please try again in {minutes} \
                         minute{}, or ask the clinic to register you.",
                        if minutes == 1 { "" } else { "s" }
                    ),
                ),
                form: RegisterForm { password: String::new(), confirm_password: String::new(), ..f },
                errors: FormErrors::default(),
            };
            Ok((StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, retry_after_secs.to_string())], page)
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------
// Booking: service → clinician → time → details → done

/// Where in the booking steps a page is (1–5).
struct Steps(u8);

impl Steps {
    fn items(&self) -> Vec<(u8, &'static str, &'static str)> {
        let names = ["Service", "Clinician", "Time", "Details", "Done"];
        names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let step = i as u8 + 1;
                let state = if step < self.0 {
                    "done"
                } else if step == self.0 {
                    "current"
                } else {
                    "todo"
                };
                (step, *n, state)
            })
            .collect()
    }
}

#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

fn parse_id<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, PageError> {
    s.parse().map_err(|_| PageError(ServiceError::NotFound { what }))
}

#[derive(Default, Deserialize)]
struct TimeQuery {
    clinic: Option<String>,
    provider: Option<String>,
    month: Option<String>,
    day: Option<String>,
}

/// One cell of the month picker.
struct DayCell {
    date: String,
    day: i8,
    in_month: bool,
    has_slots: bool,
    selected: bool,
    today: bool,
}

/// A group of times ("Morning").
struct SlotGroup {
    label: &'static str,
    slots: Vec<SlotButton>,
}

struct SlotButton {
    start: String,
    time: String,
    provider_id: String,
    provider_name: String,
    remaining: i64,
}

/// The month picker and the chosen day's times, shared by booking and rescheduling.
struct Picker {
    month_label: String,
    weeks: Vec<Vec<DayCell>>,
    prev_month: Option<String>,
    next_month: String,
    day: Option<String>,
    day_label: String,
    groups: Vec<SlotGroup>,
    zone: String,
    /// The base address of the picker's links, with its fixed query parameters.
    base: String,
}

impl Picker {
    fn month_href(&self, month: &str) -> String {
        format!("{}&month={month}", self.base)
    }
    fn day_href(&self, day: &str) -> String {
        format!("{}&month={}&day={day}", self.base, &day[..7])
    }
}

fn month_start(text: Option<&str>, today: Date) -> Date {
    text.and_then(|m| format!("{m}-01").parse::<Date>().ok())
        .filter(|d| d.first_of_month() >= today.first_of_month())
        .unwrap_or(today)
        .first_of_month()
}

/// Builds the picker: which days of the month have free times, and the times of `day`.
async fn build_picker(
    st: &AppState,
    actor: &Actor,
    service: ServiceId,
    clinic: &Clinic,
    provider: Option<ProviderId>,
    month: Option<&str>,
    day: Option<&str>,
    base: String,
    moving: Option<AppointmentId>,
) -> Result<Picker, ServiceError> {
    let zone = clinic.zone();
    let today = st.svc.now().to_zoned(zone.clone()).date();
    let first = month_start(month, today);
    let last = first.last_of_month();
    let from = first.max(today);
    let q = |from: Date, until: Date| SlotQuery {
        service_id: service,
        provider_id: provider,
        clinic_id: Some(clinic.id),
        from: Some(from),
        until: Some(until),
    };
    let days =
        if from <= last { st.svc.days_with_slots_moving(actor, &q(from, last), moving).await? } else { Vec::new() };
    let chosen = day.and_then(|d| d.parse::<Date>().ok()).filter(|d| *d >= today).or_else(|| days.first().copied());
    let slots = match chosen {
        Some(d) => st.svc.search_slots_moving(actor, &q(d, d), moving).await?,
        None => Vec::new(),
    };
    // Monday-first weeks covering the month.
    let mut cursor = first.checked_sub((i64::from(first.weekday().to_monday_zero_offset())).days()).unwrap_or(first);
    let mut weeks = Vec::new();
    while cursor <= last {
        let mut week = Vec::new();
        for _ in 0..7 {
            week.push(DayCell {
                date: cursor.to_string(),
                day: cursor.day(),
                in_month: cursor.month() == first.month(),
                has_slots: days.contains(&cursor),
                selected: Some(cursor) == chosen,
                today: cursor == today,
            });
            cursor = cursor.tomorrow().unwrap_or(cursor);
        }
        weeks.push(week);
    }
    let mut groups = vec![
        SlotGroup { label: "Morning", slots: Vec::new() },
        SlotGroup { label: "Afternoon", slots: Vec::new() },
        SlotGroup { label: "Evening", slots: Vec::new() },
    ];
    for s in slots {
        let local = s.start.to_zoned(zone.clone());
        let g = match local.hour() {
            0..=11 => 0,
            12..=16 => 1,
            _ => 2,
        };
        groups[g].slots.push(slot_button(&s, &zone));
    }
    groups.retain(|g| !g.slots.is_empty());
    let prev = first.checked_sub(1.month()).ok().filter(|p| p.first_of_month() >= today.first_of_month());
    Ok(Picker {
        month_label: first.strftime("%B %Y").to_string(),
        weeks,
        prev_month: prev.map(|p| p.strftime("%Y-%m").to_string()),
        next_month: first.checked_add(1.month()).unwrap_or(first).strftime("%Y-%m").to_string(),
        day: chosen.map(|d| d.to_string()),
        day_label: chosen.map(|d| d.strftime("%A %-d %B").to_string()).unwrap_or_default(),
        groups,
        zone: super::zone_label(&zone),
        base,
    })
}

fn slot_button(s: &SlotView, zone: &TimeZone) -> SlotButton {
    SlotButton {
        start: s.start.to_string(),
        time: s.start.to_zoned(zone.clone()).strftime("%H:%M").to_string(),
        provider_id: s.provider_id.to_string(),
        provider_name: s.provider_name.clone(),
        remaining: s.remaining,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_book_time.html")]
struct TimePage {
    layout: Layout,
    steps: Steps,
    service: Service,
    clinic: Clinic,
    provider: Option<Provider>,
    picker: Picker,
}

async fn time_page(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    service: ServiceId,
    q: &TimeQuery,
) -> Result<TimePage, ServiceError> {
    let service = st.svc.get_service(actor, service).await?;
    let clinic_id: ClinicId = q
        .clinic
        .as_deref()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| ServiceError::invalid("clinic", "required", "Choose a clinic first."))?;
    let clinic = st.svc.get_clinic(actor, clinic_id).await?;
    let provider = match q.provider.as_deref().filter(|p| !p.is_empty() && *p != "any") {
        Some(p) => {
            Some(st.svc.get_provider(actor, p.parse().map_err(|_| ServiceError::NotFound { what: "Provider" })?).await?)
        }
        None => None,
    };
    let base = format!(
        "/book/s/{}/time?clinic={}&provider={}",
        service.id,
        clinic.id,
        provider.as_ref().map(|p| p.id.to_string()).unwrap_or_else(|| "any".into())
    );
    let picker = build_picker(
        st,
        actor,
        service.id,
        &clinic,
        provider.as_ref().map(|p| p.id),
        q.month.as_deref(),
        q.day.as_deref(),
        base,
        None,
    )
    .await?;
    let title = match &provider {
        Some(p) => format!("Choose a time with {}", p.name),
        None => format!("Choose a time at {}", clinic.name),
    };
    let layout = Layout::new(actor, csrf, title, "/book")
        .crumbs(&[("Home", "/"), ("Book", "/book"), (service.name.as_str(), &format!("/book/s/{}", service.id))])
        .zone(&clinic.zone());
    Ok(TimePage { layout, steps: Steps(3), service, clinic, provider, picker })
}

async fn choose_time(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(service): Path<String>,
    Query(q): Query<TimeQuery>,
) -> PageResult {
    let service: ServiceId = parse_id(&service, "Service")?;
    Ok(time_page(&st, &actor, &csrf, service, &q).await?.into_response())
}

#[derive(Deserialize)]
struct HoldForm {
    #[serde(default)]
    service: String,
    #[serde(default)]
    clinic: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    start: String,
    /// The provider choice on the time page ("any" or an id), to come back to it.
    #[serde(default)]
    chosen: String,
}

async fn hold(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(f): Form<HoldForm>,
) -> PageResult {
    let service: ServiceId = parse_id(&f.service, "Service")?;
    let req = BookingRequest {
        service_id: Some(service),
        provider_id: f.provider.parse().ok(),
        clinic_id: f.clinic.parse().ok(),
        start: f.start.parse::<Timestamp>().ok(),
        patient_id: None,
        hold: true,
        note: String::new(),
    };
    let zone = match f.clinic.parse::<ClinicId>() {
        Ok(c) => st.svc.get_clinic(&actor, c).await.map(|c| c.zone()).unwrap_or(TimeZone::UTC),
        Err(_) => TimeZone::UTC,
    };
    let day = f.start.parse::<Timestamp>().ok().map(|t| t.to_zoned(zone).date().to_string());
    let back = TimeQuery {
        clinic: Some(f.clinic.clone()),
        provider: Some(if f.chosen.is_empty() { "any".into() } else { f.chosen.clone() }),
        month: day.as_ref().map(|d| d[..7].to_string()),
        day,
    };
    match st.svc.book(&actor, req, None).await {
        Ok(b) => Ok(Redirect::to(&format!("/book/confirm/{}", b.appointment.id)).into_response()),
        Err(e @ (ServiceError::Conflict { .. } | ServiceError::Validation(_))) => {
            let message = match &e {
                ServiceError::Conflict { code: "slot_taken", .. } => {
                    "Sorry — this time was just taken by someone else. Here are the times still free.".to_string()
                }
                ServiceError::Validation(v) => v.first().map(|f| f.message.clone()).unwrap_or_default(),
                other => other.to_string(),
            };
            let status = if matches!(e, ServiceError::Conflict { .. }) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let mut page = time_page(&st, &actor, &csrf, service, &back).await?;
            page.layout = page.layout.notice("warn", message);
            Ok((status, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_book_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    steps: Steps,
    a: Appointment,
    when: String,
    held_until: String,
    expired: bool,
}

/// "Tuesday 3 March 2026, 10:00–10:50".
pub(super) fn when_label(a: &Appointment) -> String {
    let zone = TimeZone::get(&a.time_zone).unwrap_or(TimeZone::UTC);
    let s = a.start.to_zoned(zone.clone());
    let e = a.end.to_zoned(zone);
    format!("{}, {}–{}", s.strftime("%A %-d %B %Y"), s.strftime("%H:%M"), e.strftime("%H:%M"))
}

async fn confirm_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: AppointmentId = parse_id(&id, "Appointment")?;
    let a = st.svc.get_appointment(&actor, id).await?;
    if a.status != AppointmentStatus::Held && a.status != AppointmentStatus::Expired {
        return Ok(Redirect::to(&format!("/my/appointments/{id}")).into_response());
    }
    let zone = TimeZone::get(&a.time_zone).unwrap_or(TimeZone::UTC);
    let now = st.svc.now();
    let expired = a.status == AppointmentStatus::Expired || a.held_until.is_none_or(|h| h <= now);
    let held_until = a.held_until.map(|h| h.to_zoned(zone.clone()).strftime("%H:%M").to_string()).unwrap_or_default();
    let layout = Layout::new(&actor, &csrf, "Check and confirm", "/book")
        .crumbs(&[("Home", "/"), ("Book", "/book")])
        .zone(&zone);
    Ok(ConfirmPage { layout, steps: Steps(4), when: when_label(&a), a, held_until, expired }.into_response())
}

async fn confirm(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: AppointmentId = parse_id(&id, "Appointment")?;
    match st.svc.transition(&actor, id, AppointmentAction::Confirm).await {
        Ok(_) => Ok(Redirect::to(&format!("/my/appointments/{id}?booked=1")).into_response()),
        Err(ServiceError::Conflict { message, .. }) => {
            let a = st.svc.get_appointment(&actor, id).await?;
            let zone = TimeZone::get(&a.time_zone).unwrap_or(TimeZone::UTC);
            let layout = Layout::new(&actor, &csrf, "Check and confirm", "/book").zone(&zone).notice("warn", message);
            let page = ConfirmPage {
                layout,
                steps: Steps(4),
                when: when_label(&a),
                a,
                held_until: String::new(),
                expired: true,
            };
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// "Choose another time": gives the hold back and returns to the time picker.
async fn release(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<String>) -> PageResult {
    let id: AppointmentId = parse_id(&id, "Appointment")?;
    let a = st.svc.get_appointment(&actor, id).await?;
    if a.status == AppointmentStatus::Held {
        st.svc
            .cancel_appointment(
                &actor,
                id,
                CancelRequest { reason: "Patient chose another time".into(), ..Default::default() },
            )
            .await?;
    }
    Ok(Redirect::to(&format!("/book/s/{}/time?clinic={}&provider={}", a.service_id, a.clinic_id, a.provider_id))
        .into_response())
}

// ---------------------------------------------------------------------------------------
// My appointments

struct Row {
    a: Appointment,
    when: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_my_appointments.html")]
struct MyAppointmentsPage {
    layout: Layout,
    upcoming: Vec<Row>,
    past: Vec<Row>,
}

async fn my_appointments(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<MsgQuery>,
) -> PageResult {
    let now = st.svc.now();
    let page =
        st.svc.list_appointments(&actor, AppointmentFilter::default(), PageRequest::new(Some(1), Some(200))).await?;
    let (mut upcoming, mut past) = (Vec::new(), Vec::new());
    for a in
        page.items.into_iter().filter(|a| a.status != AppointmentStatus::Expired && a.status != AppointmentStatus::Held)
    {
        let row = Row { when: when_label(&a), a };
        if row.a.end >= now && !row.a.status.is_final() { upcoming.push(row) } else { past.push(row) }
    }
    past.reverse();
    let mut layout = Layout::new(&actor, &csrf, "My appointments", "/my/appointments");
    layout = match q.msg.as_deref() {
        Some("cancelled") => layout.notice("ok", "Your appointment was cancelled."),
        Some("moved") => layout.notice("ok", "Your appointment was moved."),
        _ => layout,
    };
    Ok(MyAppointmentsPage { layout, upcoming, past }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_appointment.html")]
struct AppointmentPage {
    layout: Layout,
    steps: Option<Steps>,
    a: Appointment,
    when: String,
    can_change: bool,
    late_notice: String,
}

#[derive(Deserialize)]
struct DetailQuery {
    booked: Option<String>,
}

async fn my_appointment(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> PageResult {
    let id: AppointmentId = parse_id(&id, "Appointment")?;
    let a = st.svc.get_appointment(&actor, id).await?;
    let service = st.svc.get_service(&actor, a.service_id).await?;
    let zone = TimeZone::get(&a.time_zone).unwrap_or(TimeZone::UTC);
    let booked = q.booked.is_some();
    let title = if booked { "You are booked in" } else { "Your appointment" };
    let layout = Layout::new(&actor, &csrf, title, "/my/appointments")
        .crumbs(&[("Home", "/"), ("My appointments", "/my/appointments")])
        .zone(&zone);
    let can_change =
        matches!(a.status, AppointmentStatus::Requested | AppointmentStatus::Confirmed) && a.start > st.svc.now();
    let late_notice = late_notice(&service);
    Ok(AppointmentPage { layout, steps: booked.then_some(Steps(5)), when: when_label(&a), a, can_change, late_notice }
        .into_response())
}

fn late_notice(service: &Service) -> String {
    let m = service.late_cancellation_minutes;
    match m {
        0 => "You can cancel or change this appointment up to its start.".into(),
        m if m % 60 == 0 => {
            format!("Please cancel or change at least {} hours ahead; later counts as a late cancellation.", m / 60)
        }
        m => format!("Please cancel or change at least {m} minutes ahead; later counts as a late cancellation."),
    }
}

async fn appointment_ics(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: AppointmentId = parse_id(&id, "Appointment")?;
    let body = st.svc.appointment_ics(&actor, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"appointment-{id}.ics\"")),
        ],
        body,
    )
        .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_cancel.html")]
struct CancelPage {
    layout: Layout,
    a: Appointment,
    when: String,
    late: bool,
    errors: FormErrors,
}

async fn cancel_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: AppointmentId = parse_id(&id, "Appointment")?;
    let a = st.svc.get_appointment(&actor, id).await?;
    let service = st.svc.get_service(&actor, a.service_id).await?;
    let late = praxis_domain::appointment::is_late_cancellation(
        a.start,
        st.svc.now(),
        SignedDuration::from_mins(service.late_cancellation_minutes),
    );
    let zone = TimeZone::get(&a.time_zone).unwrap_or(TimeZone::UTC);
    let layout = Layout::new(&actor, &csrf, "Cancel this appointment?", "/my/appointments")
        .crumbs(&[("Home", "/"), ("My appointments", "/my/appointments")])
        .zone(&zone);
    Ok(CancelPage { layout, when: when_label(&a), a, late, errors: FormErrors::default() }.into_response())
}

#[derive(Deserialize)]
struct CancelForm {
    #[serde(default)]
    reason: String,
}

async fn cancel(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(f): Form<CancelForm>,
) -> PageResult {
    let id: AppointmentId = parse_id(&id, "Appointment")?;
    match st.svc.cancel_appointment(&actor, id, CancelRequest { reason: f.reason, ..Default::default() }).await {
        Ok(_) => Ok(Redirect::to("/my/appointments?msg=cancelled").into_response()),
        Err(e @ (ServiceError::Conflict { .. } | ServiceError::Validation(_))) => {
            let a = st.svc.get_appointment(&actor, id).await?;
            let message = e.to_string();
            let errors = match e {
                ServiceError::Validation(v) => v,
                _ => Vec::new(),
            };
            let layout =
                Layout::new(&actor, &csrf, "Cancel this appointment?", "/my/appointments").notice("error", message);
            Ok((
                StatusCode::CONFLICT,
                CancelPage { layout, when: when_label(&a), a, late: false, errors: FormErrors(errors) },
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_reschedule.html")]
struct ReschedulePage {
    layout: Layout,
    a: Appointment,
    when: String,
    picker: Picker,
}

async fn reschedule_view(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    id: AppointmentId,
    q: &TimeQuery,
) -> Result<ReschedulePage, ServiceError> {
    let a = st.svc.get_appointment(actor, id).await?;
    let clinic = st.svc.get_clinic(actor, a.clinic_id).await?;
    let base = format!("/my/appointments/{id}/reschedule?x=1");
    let picker = build_picker(
        st,
        actor,
        a.service_id,
        &clinic,
        Some(a.provider_id),
        q.month.as_deref(),
        q.day.as_deref(),
        base,
        Some(a.id),
    )
    .await?;
    let layout = Layout::new(actor, csrf, "Choose a new time", "/my/appointments")
        .crumbs(&[("Home", "/"), ("My appointments", "/my/appointments")])
        .zone(&clinic.zone());
    Ok(ReschedulePage { layout, when: when_label(&a), a, picker })
}

async fn reschedule_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<TimeQuery>,
) -> PageResult {
    let id: AppointmentId = parse_id(&id, "Appointment")?;
    Ok(reschedule_view(&st, &actor, &csrf, id, &q).await?.into_response())
}

#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    start: String,
}

async fn reschedule(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> PageResult {
    let id: AppointmentId = parse_id(&id, "Appointment")?;
    let req = RescheduleRequest { start: f.start.parse().ok(), ..Default::default() };
    match st.svc.reschedule(&actor, id, req).await {
        Ok(_) => Ok(Redirect::to("/my/appointments?msg=moved").into_response()),
        Err(e @ (ServiceError::Conflict { .. } | ServiceError::Validation(_))) => {
            let message = match &e {
                ServiceError::Conflict { code: "slot_taken", .. } => {
                    "Sorry — this time was just taken. Here are the times still free.".to_string()
                }
                ServiceError::Validation(v) => v.first().map(|x| x.message.clone()).unwrap_or_default(),
                other => other.to_string(),
            };
            let zone = st
                .svc
                .get_appointment(&actor, id)
                .await
                .map(|a| TimeZone::get(&a.time_zone).unwrap_or(TimeZone::UTC))?;
            let day = f.start.parse::<Timestamp>().ok().map(|t| t.to_zoned(zone).date().to_string());
            let q = TimeQuery { day: day.clone(), month: day.map(|d| d[..7].to_string()), ..Default::default() };
            let mut page = reschedule_view(&st, &actor, &csrf, id, &q).await?;
            page.layout = page.layout.notice("warn", message);
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------
// Waiting list

struct OfferRow {
    id: String,
    when: String,
    with: String,
    expires: String,
}

struct EntryRow {
    id: String,
    service: String,
    status: String,
    since: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_waitlist.html")]
struct WaitlistPage {
    layout: Layout,
    offers: Vec<OfferRow>,
    entries: Vec<EntryRow>,
}

async fn my_waitlist(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<MsgQuery>,
) -> PageResult {
    let offers = st.svc.list_offers(&actor, None).await?;
    let entries = st
        .svc
        .list_waitlist(
            &actor,
            praxis_services::scheduling::EntryFilter::default(),
            PageRequest::new(Some(1), Some(100)),
        )
        .await?;
    let zone = st.svc.settings().display_zone.clone();
    let offers = offers
        .into_iter()
        .filter(|o| o.status == "pending")
        .map(|o| {
            let z = TimeZone::get(&o.appointment.time_zone).unwrap_or(TimeZone::UTC);
            OfferRow {
                id: o.id.to_string(),
                when: when_label(&o.appointment),
                with: format!(
                    "{} with {} at {}",
                    o.appointment.service_name, o.appointment.provider_name, o.appointment.clinic_name
                ),
                expires: o.expires_at.to_zoned(z.clone()).strftime("%A %-d %B, %H:%M %Z").to_string(),
            }
        })
        .collect();
    let entries = entries
        .items
        .into_iter()
        .filter(|e| e.status == "waiting" || e.status == "offered")
        .map(|e| EntryRow {
            id: e.id.to_string(),
            service: e.service_name,
            status: e.status,
            since: super::fmt_time(e.created_at, &zone),
        })
        .collect();
    let mut layout = Layout::new(&actor, &csrf, "Waiting list", "/my/appointments")
        .crumbs(&[("Home", "/"), ("My appointments", "/my/appointments")]);
    layout = match q.msg.as_deref() {
        Some("joined") => {
            layout.notice("ok", "You are on the waiting list. We will offer you a time as soon as one frees up.")
        }
        Some("left") => layout.notice("ok", "You have left the waiting list."),
        Some("declined") => layout.notice("ok", "Offer declined. You stay on the waiting list."),
        _ => layout,
    };
    Ok(WaitlistPage { layout, offers, entries }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_waitlist_join.html")]
struct JoinPage {
    layout: Layout,
    services: Vec<(String, String)>,
    form: JoinForm,
    errors: FormErrors,
}

#[derive(Default, Deserialize)]
struct JoinForm {
    #[serde(default)]
    service: String,
    #[serde(default)]
    clinic: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    days: Vec<String>,
    #[serde(default)]
    times: Vec<String>,
}

impl JoinForm {
    fn has_day(&self, d: &str) -> bool {
        self.days.iter().any(|x| x == d)
    }
    fn has_time(&self, t: &str) -> bool {
        self.times.iter().any(|x| x == t)
    }
}

const WEEKDAYS: [(&str, &str); 7] = [
    ("monday", "Mon"),
    ("tuesday", "Tue"),
    ("wednesday", "Wed"),
    ("thursday", "Thu"),
    ("friday", "Fri"),
    ("saturday", "Sat"),
    ("sunday", "Sun"),
];

async fn join_page(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    form: JoinForm,
    errors: FormErrors,
) -> Result<JoinPage, ServiceError> {
    let services = st
        .svc
        .list_services(actor)
        .await?
        .into_iter()
        .filter(|s| s.active)
        .map(|s| (s.id.to_string(), s.name))
        .collect();
    let layout = Layout::new(actor, csrf, "Join the waiting list", "/my/appointments")
        .crumbs(&[("Home", "/"), ("Waiting list", "/my/waitlist")]);
    Ok(JoinPage { layout, services, form, errors })
}

async fn join_waitlist_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<TimeQuery>,
) -> PageResult {
    let form = JoinForm {
        clinic: q.clinic.unwrap_or_default(),
        provider: q.provider.filter(|p| p != "any").unwrap_or_default(),
        ..JoinForm::default()
    };
    Ok(join_page(&st, &actor, &csrf, form, FormErrors::default()).await?.into_response())
}

/// Preferred times from the form: chosen weekdays × chosen parts of the day.
fn preferred(form: &JoinForm) -> Vec<praxis_services::scheduling::PreferredTime> {
    let parts: Vec<(&str, &str)> =
        [("morning", ("07:00", "12:00")), ("afternoon", ("12:00", "17:00")), ("evening", ("17:00", "21:00"))]
            .into_iter()
            .filter(|(k, _)| form.has_time(k))
            .map(|(_, v)| v)
            .collect();
    let parts = if parts.is_empty() { vec![("00:00", "24:00")] } else { parts };
    let days: Vec<Option<String>> =
        if form.days.is_empty() { vec![None] } else { form.days.iter().map(|d| Some(d.clone())).collect() };
    if form.days.is_empty() && form.times.is_empty() {
        return Vec::new();
    }
    days.iter()
        .flat_map(|d| {
            parts.iter().map(move |(s, e)| praxis_services::scheduling::PreferredTime {
                weekday: d.clone(),
                start: s.to_string(),
                end: e.to_string(),
            })
        })
        .collect()
}

async fn join_waitlist(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(f): Form<JoinForm>,
) -> PageResult {
    let mut errors = Vec::new();
    let date = |text: &str, field: &str, errors: &mut Vec<praxis_domain::FieldError>| -> Option<Date> {
        if text.trim().is_empty() {
            return None;
        }
        text.parse()
            .map_err(|_| {
                errors.push(praxis_domain::FieldError {
                    field: field.into(),
                    code: "invalid".into(),
                    message: "Enter a real date.".into(),
                })
            })
            .ok()
    };
    let from = date(&f.from, "from", &mut errors);
    let until = date(&f.until, "until", &mut errors);
    let input = WaitlistInput {
        service_id: f.service.parse().ok(),
        provider_id: f.provider.parse().ok(),
        clinic_id: f.clinic.parse().ok(),
        patient_id: None,
        from,
        until,
        preferred: preferred(&f),
        note: String::new(),
    };
    let outcome = if errors.is_empty() {
        st.svc.join_waitlist(&actor, input).await
    } else {
        Err(ServiceError::Validation(errors))
    };
    match outcome {
        Ok(_) => Ok(Redirect::to("/my/waitlist?msg=joined").into_response()),
        Err(ServiceError::Validation(errors)) => {
            let page = join_page(&st, &actor, &csrf, f, FormErrors(errors)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn leave_waitlist(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<String>) -> PageResult {
    st.svc.leave_waitlist(&actor, parse_id(&id, "Waiting list entry")?).await?;
    Ok(Redirect::to("/my/waitlist?msg=left").into_response())
}

async fn accept_offer(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<String>) -> PageResult {
    match st.svc.accept_offer(&actor, parse_id(&id, "Offer")?).await {
        Ok(a) => Ok(Redirect::to(&format!("/my/appointments/{}?booked=1", a.id)).into_response()),
        Err(ServiceError::Conflict { message, .. }) => Ok(super::error_page_with(StatusCode::CONFLICT, &message, None)),
        Err(e) => Err(e.into()),
    }
}

async fn decline_offer(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<String>) -> PageResult {
    st.svc.decline_offer(&actor, parse_id(&id, "Offer")?).await?;
    Ok(Redirect::to("/my/waitlist?msg=declined").into_response())
}
