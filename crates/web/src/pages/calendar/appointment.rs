//! An appointment's detail panel with its actions (and, for those who may see money, the
//! patient's balance and the visit's invoices), and the new-appointment form (with the
//! patient's funded-plan warnings).

use super::{Back, chip_class};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::{FormErrors, Layout, PageError, PageResult, query_string, zone_label};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use praxis_domain::{AppointmentAction, AppointmentId, AppointmentStatus, FieldError, PatientId, Permission};
use praxis_services::billing::InvoiceQuery;
use praxis_services::scheduling::{
    AppointmentPanel, BookingDraft, BookingOptions, CancelRequest, LocalBooked, LocalBooking, OccurrenceOutcome,
    Repeat, SeriesMode, SeriesReport, SlotView, when,
};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/appointments/new", get(new_page).post(new_submit))
        .route("/appointments/{id}", get(detail))
        .route("/appointments/{id}/status", post(status))
        .route("/appointments/{id}/cancel", post(cancel))
        .route("/appointments/{id}/reschedule", post(reschedule))
}

/// A path id that cannot be parsed cannot exist.
fn parse_id(s: &str) -> Result<AppointmentId, PageError> {
    s.parse().map_err(|_| PageError(ServiceError::NotFound { what: "Appointment" }))
}

/// Service field names as the form's: the start of a booking is its time field.
fn form_errors(errors: Vec<FieldError>) -> FormErrors {
    FormErrors(
        errors
            .into_iter()
            .map(|mut e| {
                if matches!(e.field.as_str(), "start" | "first_start") {
                    e.field = "time".into();
                }
                e
            })
            .collect(),
    )
}

/// The local time of a slot as `HH:MM`.
fn slot_time(s: &SlotView, zone: &TimeZone) -> String {
    s.start.to_zoned(zone.clone()).strftime("%H:%M").to_string()
}

/// An optional id typed into a form: empty is `None`; anything unreadable is a field error.
pub(super) fn parse_id_field<T: std::str::FromStr>(
    s: &str,
    field: &str,
    message: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let parsed = s.parse().ok();
    if parsed.is_none() {
        errors.push(FieldError { field: field.into(), code: "invalid".into(), message: message.into() });
    }
    parsed
}

fn parse_date(s: &str) -> Option<Date> {
    s.trim().parse().ok()
}

fn parse_time(s: &str) -> Option<Time> {
    let s = s.trim();
    s.parse::<Time>().ok().filter(|_| !s.is_empty())
}

// ---------------------------------------------------------------- detail panel

#[derive(Default, Deserialize)]
struct DetailQuery {
    #[serde(default)]
    v: String,
    #[serde(default)]
    d: String,
    #[serde(default)]
    p: String,
    #[serde(default)]
    day: String,
}

struct ActionView {
    value: &'static str,
    label: &'static str,
    explain: &'static str,
    primary: bool,
    danger: bool,
}

struct HistoryView {
    at: String,
    who: String,
    text: String,
}

/// A patient on the appointment, linked to their chart.
struct PatientLink {
    id: PatientId,
    name: String,
    /// Their place was cancelled (group sessions).
    cancelled: bool,
    /// The reader may write a clinical note for this visit.
    write_note: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "appointment_detail.html")]
struct DetailPage {
    layout: Layout,
    id: String,
    number: String,
    when: String,
    zone: String,
    status: String,
    chip_class: &'static str,
    patients: Vec<PatientLink>,
    service: String,
    provider: String,
    clinic: String,
    video_url: String,
    note: String,
    cancel_reason: String,
    history: Vec<HistoryView>,
    actions: Vec<ActionView>,
    can_cancel: bool,
    can_reschedule: bool,
    reason: String,
    errors: FormErrors,
    move_date: String,
    move_time: String,
    move_day_label: String,
    slots: Vec<String>,
    back: Back,
    back_href: String,
    /// The messages sent about this appointment (staff who may see them).
    messages: Option<Vec<crate::pages::messages::MessageLine>>,
    /// The intake forms of the appointment's patients (answers for those who may read them).
    intake: Vec<crate::pages::patients::forms::AssignmentView>,
    /// Money: the patients' balances and this visit's invoices; `None` for those who may
    /// not see invoices.
    billing: Option<BillingView>,
}

/// The billing part of the panel.
struct BillingView {
    /// "Alex Smith owes $132.00 on 1 open invoice" per patient and currency.
    balances: Vec<String>,
    /// The invoices billing this appointment.
    invoices: Vec<InvoiceLink>,
    /// Billing staff may draft one: the visit is completed and has no invoice yet.
    can_create: bool,
}

/// An invoice of this appointment.
struct InvoiceLink {
    id: String,
    label: String,
    total: String,
    status: String,
    chip: &'static str,
    void: bool,
}

/// The panel's billing part: the balances the actor may see (a provider sees none) and
/// the invoices of this appointment. `None` when the actor may not see invoices at all.
async fn billing_view(
    st: &AppState,
    actor: &Actor,
    id: AppointmentId,
    status: AppointmentStatus,
    patients: &[PatientLink],
) -> Result<Option<BillingView>, PageError> {
    if !actor.can(Permission::ViewInvoices) || actor.roles.is_patient_only() {
        return Ok(None);
    }
    let money = crate::pages::billing::money;
    let mut balances = Vec::new();
    for p in patients.iter().filter(|p| !p.cancelled) {
        match st.svc.patient_balance(actor, p.id).await {
            Ok(list) => {
                for b in list.into_iter().filter(|b| b.owing_minor > 0) {
                    let n = b.open_invoices;
                    balances.push(format!(
                        "{} owes {} on {n} open invoice{}",
                        p.name,
                        money(b.owing_minor, &b.currency),
                        if n == 1 { "" } else { "s" }
                    ));
                }
            }
            // Providers do not see what patients owe: show nothing rather than an error.
            Err(ServiceError::Forbidden) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let q = InvoiceQuery { appointment_id: Some(id), per_page: Some(20), ..InvoiceQuery::default() };
    let invoices: Vec<InvoiceLink> = match st.svc.list_invoices(actor, &q).await {
        Ok(page) => page
            .items
            .into_iter()
            .map(|i| InvoiceLink {
                id: i.id.to_string(),
                label: i.number.clone().unwrap_or_else(|| "Draft invoice".into()),
                total: money(i.total_minor, &i.currency),
                chip: crate::pages::billing::status_chip(i.status),
                void: i.status == praxis_domain::billing::InvoiceStatus::Void,
                status: i.status_label,
            })
            .collect(),
        Err(ServiceError::Forbidden) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let billed = invoices.iter().any(|i| !i.void);
    let can_create = actor.can(Permission::ManageBilling) && status == AppointmentStatus::Completed && !billed;
    Ok(Some(BillingView { balances, invoices, can_create }))
}

fn action_view(a: AppointmentAction, first: bool) -> Option<ActionView> {
    let (label, explain) = match a {
        AppointmentAction::Confirm => {
            ("Confirm", "Confirms the requested appointment; the patient is told it is booked.")
        }
        AppointmentAction::CheckIn => ("Check in", "Records that the patient has arrived."),
        AppointmentAction::Start => ("Start", "Marks the consultation as begun."),
        AppointmentAction::Complete => ("Complete", "Marks the appointment as finished."),
        AppointmentAction::MarkNoShow => {
            ("Mark as no-show", "Records that the patient did not come; the time is offered to the waiting list.")
        }
        _ => return None,
    };
    let danger = a == AppointmentAction::MarkNoShow;
    Some(ActionView { value: a.as_str(), label, explain, primary: first && !danger, danger })
}

fn detail_page(
    actor: &Actor,
    csrf: &CsrfToken,
    panel: AppointmentPanel,
    back: Back,
    notice: Option<(&'static str, String)>,
) -> DetailPage {
    let a = &panel.appointment;
    let zone = &panel.zone;
    let start = a.start.to_zoned(zone.clone());
    let end = a.end.to_zoned(zone.clone());
    let when_text = format!("{}–{}", start.strftime("%A %-d %B %Y, %H:%M"), end.strftime("%H:%M"));
    let title = format!("Appointment {}", a.number);
    let back = if back.d.parse::<Date>().is_ok() { back } else { Back { d: start.date().to_string(), ..back } };
    let back_href = back.calendar_href(a.clinic_id, "", Some(&a.id.to_string()));
    let mut layout = Layout::new(actor, csrf, title, "/calendar")
        .crumbs(&[("Home", "/"), ("Calendar", &back.calendar_href(a.clinic_id, "", None))])
        .zone(zone);
    if let Some((kind, text)) = notice {
        layout = layout.notice(kind, text);
    }
    let actions = panel.workflow.iter().enumerate().filter_map(|(i, x)| action_view(*x, i == 0)).collect();
    DetailPage {
        layout,
        id: a.id.to_string(),
        number: a.number.clone(),
        when: when_text,
        zone: zone_label(zone),
        status: a.status.label().to_string(),
        chip_class: chip_class(a.status),
        patients: a
            .participants
            .iter()
            .map(|p| PatientLink {
                id: p.patient_id,
                name: p.name.clone(),
                cancelled: p.status != "booked",
                write_note: false,
            })
            .collect(),
        service: a.service_name.clone(),
        provider: a.provider_name.clone(),
        clinic: a.clinic_name.clone(),
        video_url: a.video_url.clone().unwrap_or_default(),
        note: a.note.clone(),
        cancel_reason: a.cancel_reason.clone().unwrap_or_default(),
        history: panel
            .history
            .iter()
            .map(|h| HistoryView { at: when(h.at, zone), who: h.who.clone(), text: h.text.clone() })
            .collect(),
        actions,
        can_cancel: panel.can_cancel,
        can_reschedule: panel.can_reschedule,
        reason: String::new(),
        errors: FormErrors::default(),
        move_date: panel.reschedule_date.to_string(),
        move_time: String::new(),
        move_day_label: panel.reschedule_date.strftime("%A %-d %B").to_string(),
        slots: panel.free_slots.iter().map(|s| slot_time(s, zone)).collect(),
        back,
        back_href,
        messages: None,
        intake: Vec::new(),
        billing: None,
    }
}

async fn detail(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> PageResult {
    let id = parse_id(&id)?;
    let panel = st.svc.appointment_panel(&actor, id, parse_date(&q.day)).await?;
    let back = Back { v: q.v, d: q.d, p: q.p };
    let status = panel.appointment.status;
    let visited = matches!(
        panel.appointment.status,
        AppointmentStatus::CheckedIn | AppointmentStatus::InProgress | AppointmentStatus::Completed
    );
    let mut page = detail_page(&actor, &csrf, panel, back, None);
    page.billing = billing_view(&st, &actor, id, status, &page.patients).await?;
    if visited {
        for p in page.patients.iter_mut().filter(|p| !p.cancelled) {
            p.write_note = st.svc.may_write_clinical(&actor, p.id).await?;
        }
    }
    if actor.can(praxis_domain::Permission::ViewMessages) {
        let items = st.svc.appointment_messages(&actor, id).await?;
        page.messages = Some(crate::pages::messages::lines(&items, &st.svc.settings().display_zone));
    }
    let zone = st.svc.settings().display_zone.clone();
    // Someone who may open the panel but not the appointment itself just sees no forms.
    page.intake = st
        .svc
        .appointment_forms(&actor, id)
        .await
        .unwrap_or_default()
        .iter()
        .map(|a| crate::pages::patients::forms::assignment_view(a, &zone))
        .collect();
    Ok(page.into_response())
}

#[derive(Default, Deserialize)]
struct StatusForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    v: String,
    #[serde(default)]
    d: String,
    #[serde(default)]
    p: String,
}

/// Why the panel is shown again: where the calendar was, the day of free times to list,
/// the status to answer with and the message.
struct Again {
    back: Back,
    day: Option<Date>,
    status: StatusCode,
    notice: String,
}

/// Shows the panel again with a message (an action that could not be done).
async fn panel_again(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    id: AppointmentId,
    again: Again,
    fill: impl FnOnce(&mut DetailPage),
) -> PageResult {
    let panel = st.svc.appointment_panel(actor, id, again.day).await?;
    let mut page = detail_page(actor, csrf, panel, again.back, Some(("error", again.notice)));
    fill(&mut page);
    Ok((again.status, page).into_response())
}

async fn status(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(f): Form<StatusForm>,
) -> PageResult {
    let id = parse_id(&id)?;
    let back = Back { v: f.v, d: f.d, p: f.p };
    let Ok(action) = f.action.parse::<AppointmentAction>() else {
        let msg = "Choose one of the actions shown.".to_string();
        return panel_again(
            &st,
            &actor,
            &csrf,
            id,
            Again { back, day: None, status: StatusCode::UNPROCESSABLE_ENTITY, notice: msg },
            |_| {},
        )
        .await;
    };
    match st.svc.transition(&actor, id, action).await {
        Ok(a) => {
            Ok(Redirect::to(&back.calendar_href(a.clinic_id, a.status.as_str(), Some(&a.id.to_string())))
                .into_response())
        }
        Err(ServiceError::Conflict { message, .. }) => {
            panel_again(
                &st,
                &actor,
                &csrf,
                id,
                Again { back, day: None, status: StatusCode::CONFLICT, notice: message },
                |_| {},
            )
            .await
        }
        Err(ServiceError::Validation(errors)) => {
            let msg = errors.first().map(|e| e.message.clone()).unwrap_or_default();
            panel_again(
                &st,
                &actor,
                &csrf,
                id,
                Again { back, day: None, status: StatusCode::UNPROCESSABLE_ENTITY, notice: msg },
                |_| {},
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Default, Deserialize)]
struct CancelForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    v: String,
    #[serde(default)]
    d: String,
    #[serde(default)]
    p: String,
}

async fn cancel(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(f): Form<CancelForm>,
) -> PageResult {
    let id = parse_id(&id)?;
    let back = Back { v: f.v, d: f.d, p: f.p };
    let req = CancelRequest { reason: f.reason.clone(), ..CancelRequest::default() };
    match st.svc.cancel_appointment(&actor, id, req).await {
        Ok(done) => {
            let clinic = match done.first() {
                Some(a) => a.clinic_id,
                None => return Err(PageError(ServiceError::NotFound { what: "Appointment" })),
            };
            Ok(Redirect::to(&back.calendar_href(clinic, "cancelled", None)).into_response())
        }
        Err(ServiceError::Validation(errors)) => {
            let reason = f.reason;
            let msg = "The appointment was not cancelled. Please correct the field marked below.".to_string();
            panel_again(
                &st,
                &actor,
                &csrf,
                id,
                Again { back, day: None, status: StatusCode::UNPROCESSABLE_ENTITY, notice: msg },
                |p| {
                    p.errors = FormErrors(errors);
                    p.reason = reason;
                },
            )
            .await
        }
        Err(ServiceError::Conflict { message, .. }) => {
            panel_again(
                &st,
                &actor,
                &csrf,
                id,
                Again { back, day: None, status: StatusCode::CONFLICT, notice: message },
                |_| {},
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Default, Deserialize)]
struct MoveForm {
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    /// A free time picked from the list (wins over `time`).
    #[serde(default)]
    slot: String,
    #[serde(default)]
    v: String,
    #[serde(default)]
    d: String,
    #[serde(default)]
    p: String,
}

async fn reschedule(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> PageResult {
    let id = parse_id(&id)?;
    let back = Back { v: f.v.clone(), d: f.d.clone(), p: f.p.clone() };
    let typed = if f.slot.trim().is_empty() { f.time.clone() } else { f.slot.clone() };
    let date = parse_date(&f.date);
    let mut parse = Vec::new();
    if date.is_none() {
        parse.push(FieldError { field: "date".into(), code: "invalid".into(), message: "Choose the new date.".into() });
    }
    let time = parse_time(&typed);
    if time.is_none() {
        let message = if typed.trim().is_empty() {
            "Choose the new time, or pick one of the free times."
        } else {
            "Enter the time as HH:MM, for example 14:30."
        };
        parse.push(FieldError { field: "time".into(), code: "invalid".into(), message: message.into() });
    }
    let result = if parse.is_empty() {
        st.svc.reschedule_at_local(&actor, id, date, time).await
    } else {
        Err(ServiceError::Validation(parse))
    };
    match result {
        Ok(a) => {
            let new_date = a.start.to_zoned(TimeZone::get(&a.time_zone).unwrap_or(TimeZone::UTC)).date();
            let back = back.at(new_date);
            Ok(Redirect::to(&back.calendar_href(a.clinic_id, "moved", Some(&a.id.to_string()))).into_response())
        }
        Err(ServiceError::Validation(errors)) => {
            let msg = "The appointment was not moved. Please correct the fields marked below.".to_string();
            panel_again(
                &st,
                &actor,
                &csrf,
                id,
                Again { back, day: date, status: StatusCode::UNPROCESSABLE_ENTITY, notice: msg },
                |p| {
                    p.errors = form_errors(errors);
                    p.move_time = typed;
                },
            )
            .await
        }
        Err(ServiceError::Conflict { code, message, .. }) => {
            let message = if code == "slot_taken" {
                "This time was just taken. Choose one of the free times below.".into()
            } else {
                message
            };
            panel_again(
                &st,
                &actor,
                &csrf,
                id,
                Again { back, day: date, status: StatusCode::CONFLICT, notice: message },
                |p| {
                    p.move_time = typed;
                },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- new appointment

/// The new-appointment form as typed (kept on every re-render).
#[derive(Clone, Default, Deserialize)]
struct NewForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    patient_id: String,
    #[serde(default)]
    service_id: String,
    #[serde(default)]
    provider_id: String,
    #[serde(default)]
    clinic_id: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    repeat: String,
    #[serde(default)]
    every_weeks: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    key: String,
    /// Which button: `search`, `slots` or `book`.
    #[serde(default, rename = "do")]
    action: String,
    /// A free time picked from the list.
    #[serde(default)]
    pick: String,
}

/// Prefill from a calendar link: clinic, provider, service, patient, a local start.
#[derive(Default, Deserialize)]
struct NewParams {
    #[serde(default)]
    c: String,
    #[serde(default)]
    p: String,
    #[serde(default)]
    s: String,
    #[serde(default)]
    patient: String,
    /// `2026-03-03T09:15`, local to the clinic.
    #[serde(default)]
    at: String,
    /// A date without a time.
    #[serde(default)]
    d: String,
}

impl NewForm {
    fn draft(&self) -> BookingDraft {
        BookingDraft {
            q: self.q.clone(),
            patient_id: self.patient_id.parse().ok(),
            service_id: self.service_id.parse().ok(),
            provider_id: self.provider_id.parse().ok(),
            clinic_id: self.clinic_id.parse().ok(),
            date: parse_date(&self.date),
        }
    }

    fn repeats(&self) -> bool {
        !self.repeat.is_empty()
    }

    /// The booking, or the fields that could not be read.
    fn booking(&self) -> Result<LocalBooking, Vec<FieldError>> {
        let mut errors = Vec::new();
        let patient_id =
            parse_id_field(&self.patient_id, "patient_id", "Choose the patient from the list.", &mut errors);
        let service_id = parse_id_field(&self.service_id, "service_id", "Choose a service from the list.", &mut errors);
        let provider_id =
            parse_id_field(&self.provider_id, "provider_id", "Choose a provider from the list.", &mut errors);
        let clinic_id = parse_id_field(&self.clinic_id, "clinic_id", "Choose a clinic from the list.", &mut errors);
        let mut bad = |field: &str, message: &str| {
            errors.push(FieldError { field: field.into(), code: "invalid".into(), message: message.into() })
        };
        let date = parse_date(&self.date);
        if date.is_none() && !self.date.trim().is_empty() {
            bad("date", "Enter the date as YYYY-MM-DD or use the date picker.");
        }
        let time = parse_time(&self.time);
        if time.is_none() && !self.time.trim().is_empty() {
            bad("time", "Enter the time as HH:MM, for example 14:30.");
        }
        let repeat = if self.repeats() {
            let every_weeks = match self.every_weeks.trim() {
                "" => None,
                s => match s.parse::<u8>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        bad("every_weeks", "Enter a number of weeks from 1 to 12.");
                        None
                    }
                },
            };
            let count = match self.count.trim() {
                "" => None,
                s => match s.parse::<u16>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        bad("count", "Enter how many appointments, from 1 to 104.");
                        None
                    }
                },
            };
            let until = match self.until.trim() {
                "" => None,
                s => match s.parse::<Date>() {
                    Ok(d) => Some(d),
                    Err(_) => {
                        bad("until", "Enter the last date as YYYY-MM-DD or use the date picker.");
                        None
                    }
                },
            };
            let mode =
                if self.mode == "book_what_is_free" { SeriesMode::BookWhatIsFree } else { SeriesMode::AllOrNothing };
            Some(Repeat { every_weeks, count, until, mode })
        } else {
            None
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(LocalBooking {
            patient_id,
            service_id,
            provider_id,
            clinic_id,
            date,
            time,
            repeat,
            note: self.note.clone(),
            idempotency_key: Some(self.key.clone()).filter(|k| !k.is_empty() && k.len() <= 200),
        })
    }
}

struct Opt {
    value: String,
    label: String,
    selected: bool,
}

struct PatientOpt {
    value: String,
    name: String,
    detail: String,
    checked: bool,
}

struct ReportLine {
    index: i64,
    when: String,
    outcome: &'static str,
    chip_class: &'static str,
    reason: String,
    href: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "appointment_new.html")]
struct NewPage {
    layout: Layout,
    form: NewForm,
    errors: FormErrors,
    zone: String,
    patients: Vec<PatientOpt>,
    searched: bool,
    matches_total: i64,
    services: Vec<Opt>,
    providers: Vec<Opt>,
    clinics: Vec<Opt>,
    slots: Vec<String>,
    slots_shown: bool,
    day_label: String,
    key: String,
    report: Vec<ReportLine>,
    report_summary: String,
    calendar_href: String,
    /// The chosen patient's funded-plan warnings for this service and day (never blocking).
    plan_warnings: Vec<String>,
}

/// What staff should know before booking: the patient's referrals or funded plans that
/// are used up, nearly used up or out of date for the chosen service and day. Nothing
/// when no patient or service is chosen yet, or for those who do not manage referrals.
async fn plan_warnings(st: &AppState, actor: &Actor, o: &BookingOptions) -> Result<Vec<String>, PageError> {
    let (Some(patient), Some(service)) = (&o.patient, o.service_id) else { return Ok(Vec::new()) };
    if !actor.can(Permission::ManageReferrals) {
        return Ok(Vec::new());
    }
    match st.svc.booking_plan_warnings(actor, patient.id, service, o.date).await {
        Ok(w) => Ok(w),
        Err(ServiceError::Forbidden | ServiceError::NotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

fn new_key() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    format!("form-{}", hex::encode(bytes))
}

fn new_page_for(actor: &Actor, csrf: &CsrfToken, mut form: NewForm, o: BookingOptions) -> NewPage {
    let zone = o.zone.clone();
    let selected = |id: String, chosen: Option<String>| chosen.is_some_and(|c| c == id);
    // The chosen patient first, then the search results.
    let mut patients: Vec<PatientOpt> = Vec::new();
    let describe = |p: &praxis_services::patients::Patient| {
        let mut parts = Vec::new();
        if let Some(d) = p.date_of_birth {
            parts.push(format!("born {}", d.strftime("%-d %b %Y")));
        }
        if let Some(ph) = &p.phone {
            parts.push(ph.clone());
        }
        if let Some(e) = &p.email {
            parts.push(e.clone());
        }
        parts.join(" · ")
    };
    if let Some(p) = &o.patient {
        patients.push(PatientOpt { value: p.id.to_string(), name: p.full_name(), detail: describe(p), checked: true });
    }
    for p in &o.matches {
        if o.patient.as_ref().is_some_and(|c| c.id == p.id) {
            continue;
        }
        patients.push(PatientOpt {
            value: p.id.to_string(),
            name: p.full_name(),
            detail: describe(p),
            checked: o.patient.is_none() && o.matches.len() == 1,
        });
    }
    let services = o
        .services
        .iter()
        .map(|s| Opt {
            value: s.id.to_string(),
            label: format!("{} ({} min)", s.name, s.duration_minutes),
            selected: selected(s.id.to_string(), o.service_id.map(|x| x.to_string())),
        })
        .collect();
    let providers = o
        .providers
        .iter()
        .map(|p| Opt {
            value: p.id.to_string(),
            label: p.name.clone(),
            selected: selected(p.id.to_string(), o.provider_id.map(|x| x.to_string())),
        })
        .collect();
    let clinics = o
        .clinics
        .iter()
        .map(|c| Opt {
            value: c.id.to_string(),
            label: c.name.clone(),
            selected: selected(c.id.to_string(), o.clinic_id.map(|x| x.to_string())),
        })
        .collect();
    form.date = o.date.to_string();
    let slots_shown = o.service_id.is_some() && o.provider_id.is_some() && o.clinic_id.is_some();
    let back = Back { v: "day".into(), d: o.date.to_string(), p: String::new() };
    let calendar_href = o.clinic_id.map(|c| back.calendar_href(c, "", None)).unwrap_or_else(|| "/calendar".into());
    NewPage {
        layout: Layout::new(actor, csrf, "New appointment", "/calendar")
            .crumbs(&[("Home", "/"), ("Calendar", &calendar_href)])
            .zone(&zone),
        searched: !form.q.trim().is_empty(),
        form,
        errors: FormErrors::default(),
        zone: zone_label(&zone),
        patients,
        matches_total: o.matches_total,
        services,
        providers,
        clinics,
        slots: o.slots.iter().map(|s| slot_time(s, &zone)).collect(),
        slots_shown,
        day_label: o.date.strftime("%A %-d %B %Y").to_string(),
        key: new_key(),
        report: Vec::new(),
        report_summary: String::new(),
        calendar_href,
        plan_warnings: Vec::new(),
    }
}

async fn new_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<NewParams>,
) -> PageResult {
    let at = q.at.parse::<DateTime>().ok();
    let form = NewForm {
        clinic_id: q.c,
        provider_id: q.p,
        service_id: q.s,
        patient_id: q.patient,
        date: at.map(|a| a.date().to_string()).unwrap_or(q.d),
        time: at.map(|a| a.time().strftime("%H:%M").to_string()).unwrap_or_default(),
        every_weeks: "1".into(),
        ..NewForm::default()
    };
    let options = st.svc.booking_options(&actor, &form.draft()).await?;
    let warnings = plan_warnings(&st, &actor, &options).await?;
    let mut page = new_page_for(&actor, &csrf, form, options);
    page.plan_warnings = warnings;
    Ok(page.into_response())
}

async fn new_submit(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(mut form): Form<NewForm>,
) -> PageResult {
    if !form.pick.trim().is_empty() {
        form.time = form.pick.trim().to_string();
    }
    if form.action != "book" {
        // A search, a refresh of the free times or a picked time: show the form again.
        let options = st.svc.booking_options(&actor, &form.draft()).await?;
        let warnings = plan_warnings(&st, &actor, &options).await?;
        let mut page = new_page_for(&actor, &csrf, form, options);
        page.plan_warnings = warnings;
        return Ok(page.into_response());
    }
    let outcome = match form.booking() {
        Ok(booking) => st.svc.book_at_local(&actor, booking).await,
        Err(errors) => Err(ServiceError::Validation(errors)),
    };
    let (status, notice, errors, report) = match outcome {
        Ok(LocalBooked::One(a)) => {
            let date = a.start.to_zoned(TimeZone::get(&a.time_zone).unwrap_or(TimeZone::UTC)).date();
            let back = Back { v: "day".into(), d: date.to_string(), p: String::new() };
            return Ok(
                Redirect::to(&back.calendar_href(a.clinic_id, "booked", Some(&a.id.to_string()))).into_response()
            );
        }
        Ok(LocalBooked::Series(r)) => {
            let status = if r.booked > 0 { StatusCode::CREATED } else { StatusCode::CONFLICT };
            let text = series_summary(&r);
            (status, Some((if r.booked > 0 { "ok" } else { "error" }, text)), Vec::new(), Some(r))
        }
        Err(ServiceError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(("error", "Nothing was booked. Please correct the fields marked below.".to_string())),
            errors,
            None,
        ),
        Err(ServiceError::Conflict { code, message, fields }) => {
            let message = if code == "slot_taken" {
                "This time was just taken. Nothing was booked — choose one of the free times below.".to_string()
            } else {
                format!("Nothing was booked. {message}")
            };
            (StatusCode::CONFLICT, Some(("error", message)), fields, None)
        }
        Err(e) => return Err(e.into()),
    };
    let options = st.svc.booking_options(&actor, &form.draft()).await?;
    let zone = options.zone.clone();
    let warnings = plan_warnings(&st, &actor, &options).await?;
    let mut page = new_page_for(&actor, &csrf, form, options);
    page.plan_warnings = warnings;
    page.errors = form_errors(errors);
    if let Some((kind, text)) = notice {
        page.layout = page.layout.notice(kind, text);
    }
    if let Some(r) = report {
        page.report_summary = series_summary(&r);
        page.report = report_lines(&r, &zone);
    }
    Ok((status, page).into_response())
}

fn series_summary(r: &SeriesReport) -> String {
    let total = r.occurrences.len();
    match (r.booked, r.conflicts) {
        (b, 0) => format!("All {b} appointments of the series were booked."),
        (0, c) => format!(
            "Nothing was booked: {c} of {total} times are not free (all or nothing). Choose another time, or book what is free."
        ),
        (b, c) => format!("{b} of {total} appointments were booked; {c} could not be (see below)."),
    }
}

fn report_lines(r: &SeriesReport, zone: &TimeZone) -> Vec<ReportLine> {
    r.occurrences
        .iter()
        .map(|o| {
            let (outcome, chip_class) = match o.outcome {
                OccurrenceOutcome::Booked => ("Booked", "ok"),
                OccurrenceOutcome::Free => ("Free, not booked", "off"),
                OccurrenceOutcome::Conflict => ("Not free", "bad"),
            };
            ReportLine {
                index: o.index,
                when: when(o.start, zone),
                outcome,
                chip_class,
                reason: o.reason.clone().unwrap_or_default(),
                href: o.appointment_id.map(|id| format!("/appointments/{id}")).unwrap_or_default(),
            }
        })
        .collect()
}

/// `?c=…&p=…&at=…` for a free cell's link (kept short: a busy week has hundreds).
pub(super) fn new_href(clinic: &str, provider: &str, at: &str) -> String {
    format!("/appointments/new{}", query_string(&[("c", clinic), ("p", provider), ("at", at)]))
}
