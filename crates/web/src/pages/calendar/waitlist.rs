//! The waiting list for reception and providers: entries in order, their offers, adding
//! a patient and removing an entry.

use super::appointment::parse_id_field;
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::{FormErrors, Layout, PageError, PageResult, Pager, query_string};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use jiff::civil::Date;
use praxis_domain::{FieldError, WaitlistEntryId};
use praxis_services::scheduling::{WaitlistBoard, WaitlistInput, when};
use praxis_services::users::PageRequest;
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/waitlist", get(board).post(add)).route("/waitlist/{id}/remove", post(remove))
}

#[derive(Default, Deserialize)]
struct BoardQuery {
    #[serde(default)]
    all: String,
    page: Option<i64>,
    #[serde(default)]
    msg: String,
}

/// The add form as typed.
#[derive(Clone, Default, Deserialize)]
struct AddForm {
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
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    note: String,
    #[serde(default, rename = "do")]
    action: String,
}

struct Opt {
    value: String,
    label: String,
    selected: bool,
}

struct OfferView {
    time: String,
    provider: String,
    status: String,
    chip_class: &'static str,
    expires: String,
}

struct RowView {
    id: String,
    position: i64,
    patient: String,
    service: String,
    wants: String,
    dates: String,
    times: String,
    status: String,
    chip_class: &'static str,
    joined: String,
    note: String,
    offers: Vec<OfferView>,
    removable: bool,
}

struct PatientOpt {
    value: String,
    label: String,
    checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "waitlist_board.html")]
struct BoardPage {
    layout: Layout,
    all: bool,
    rows: Vec<RowView>,
    pager: Pager,
    form: AddForm,
    errors: FormErrors,
    patients: Vec<PatientOpt>,
    services: Vec<Opt>,
    providers: Vec<Opt>,
    clinics: Vec<Opt>,
}

fn entry_chip(status: &str) -> (&'static str, &'static str) {
    match status {
        "waiting" => ("Waiting", "warn"),
        "offered" => ("Offered a time", "cal-info"),
        "booked" => ("Booked", "ok"),
        "cancelled" => ("Removed", "off"),
        _ => ("Unknown", "off"),
    }
}

fn offer_chip(status: &str) -> (&'static str, &'static str) {
    match status {
        "pending" => ("Waiting for an answer", "warn"),
        "accepted" => ("Accepted", "ok"),
        "declined" => ("Declined", "off"),
        "expired" => ("Expired", "off"),
        _ => ("Unknown", "off"),
    }
}

fn date_text(d: Date) -> String {
    d.strftime("%-d %b %Y").to_string()
}

fn board_page(
    actor: &Actor,
    csrf: &CsrfToken,
    board: WaitlistBoard,
    all: bool,
    form: AddForm,
    errors: Vec<FieldError>,
) -> BoardPage {
    let zone = st_zone(&board);
    let first = (board.page - 1) * board.per_page;
    let rows = board
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let e = &r.entry;
            let (status, chip_class) = entry_chip(&e.status);
            let wants = match (&r.provider_name, &r.clinic_name) {
                (Some(p), Some(c)) => format!("{p} at {c}"),
                (Some(p), None) => format!("{p}, any clinic"),
                (None, Some(c)) => format!("Any provider at {c}"),
                (None, None) => "Any provider, any clinic".into(),
            };
            let dates = match (e.from, e.until) {
                (Some(f), Some(u)) => format!("{} to {}", date_text(f), date_text(u)),
                (Some(f), None) => format!("From {}", date_text(f)),
                (None, Some(u)) => format!("Until {}", date_text(u)),
                (None, None) => "Any date".into(),
            };
            let times = if e.preferred.is_empty() {
                "Any time".to_string()
            } else {
                e.preferred
                    .iter()
                    .map(|p| match &p.weekday {
                        Some(w) => format!("{} {}–{}", capitalise(w), p.start, p.end),
                        None => format!("{}–{}", p.start, p.end),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            RowView {
                id: e.id.to_string(),
                position: first + i as i64 + 1,
                patient: e.patient_name.clone(),
                service: e.service_name.clone(),
                wants,
                dates,
                times,
                status: status.into(),
                chip_class,
                joined: when(e.created_at, &zone),
                note: e.note.clone(),
                offers: r
                    .offers
                    .iter()
                    .map(|o| {
                        let (status, chip_class) = offer_chip(&o.status);
                        OfferView {
                            time: when(o.start, &o.zone),
                            provider: o.provider_name.clone(),
                            status: status.into(),
                            chip_class,
                            expires: when(o.expires_at, &o.zone),
                        }
                    })
                    .collect(),
                removable: matches!(e.status.as_str(), "waiting" | "offered"),
            }
        })
        .collect();
    let opt = |value: String, label: String, chosen: &str| Opt { selected: value == chosen, value, label };
    let patients = board
        .matches
        .iter()
        .map(|p| PatientOpt {
            checked: p.id.to_string() == form.patient_id || board.matches.len() == 1,
            value: p.id.to_string(),
            label: [
                Some(p.full_name()),
                p.date_of_birth.map(|d| format!("born {}", date_text(d))),
                p.phone.clone(),
                p.email.clone(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
        })
        .collect();
    let base = format!("/waitlist{}", query_string(&[("all", if all { "1" } else { "" })]));
    BoardPage {
        layout: Layout::new(actor, csrf, "Waiting list", "/waitlist").crumbs(&[("Home", "/")]).zone(&zone),
        all,
        rows,
        pager: Pager { page: board.page, per_page: board.per_page, total: board.total, base },
        services: board.services.iter().map(|s| opt(s.id.to_string(), s.name.clone(), &form.service_id)).collect(),
        providers: board.providers.iter().map(|p| opt(p.id.to_string(), p.name.clone(), &form.provider_id)).collect(),
        clinics: board.clinics.iter().map(|c| opt(c.id.to_string(), c.name.clone(), &form.clinic_id)).collect(),
        patients,
        form,
        errors: FormErrors(errors),
    }
}

/// The zone for dates on the board: the first clinic's (entries are not tied to one).
fn st_zone(board: &WaitlistBoard) -> jiff::tz::TimeZone {
    board.clinics.first().map(|c| c.zone()).unwrap_or(jiff::tz::TimeZone::UTC)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

async fn board(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<BoardQuery>,
) -> PageResult {
    let all = !q.all.is_empty();
    let board = st.svc.waitlist_board(&actor, !all, "", PageRequest::new(q.page, Some(50))).await?;
    let mut page = board_page(&actor, &csrf, board, all, AddForm::default(), Vec::new());
    page.layout = match q.msg.as_str() {
        "added" => page.layout.notice("ok", "The patient was added to the waiting list."),
        "removed" => page.layout.notice("ok", "The entry was removed from the waiting list."),
        _ => page.layout,
    };
    Ok(page.into_response())
}

async fn add(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(f): Form<AddForm>,
) -> PageResult {
    if actor.roles.is_patient_only() {
        // Patients join the list from their own pages.
        return Err(PageError(ServiceError::Forbidden));
    }
    if f.action != "add" {
        let board = st.svc.waitlist_board(&actor, true, &f.q, PageRequest::new(Some(1), Some(50))).await?;
        return Ok(board_page(&actor, &csrf, board, false, f, Vec::new()).into_response());
    }
    let mut errors = Vec::new();
    let e = &mut errors;
    let input = WaitlistInput {
        patient_id: parse_id_field(&f.patient_id, "patient_id", "Choose the patient from the list.", e),
        service_id: parse_id_field(&f.service_id, "service_id", "Choose a service from the list.", e),
        provider_id: parse_id_field(&f.provider_id, "provider_id", "Choose a provider from the list.", e),
        clinic_id: parse_id_field(&f.clinic_id, "clinic_id", "Choose a clinic from the list.", e),
        from: f.from.trim().parse().ok(),
        until: f.until.trim().parse().ok(),
        preferred: Vec::new(),
        note: f.note.clone(),
    };
    for (field, text, value) in [("from", &f.from, input.from), ("until", &f.until, input.until)] {
        if !text.trim().is_empty() && value.is_none() {
            errors.push(FieldError {
                field: field.into(),
                code: "invalid".into(),
                message: "Enter the date as YYYY-MM-DD or use the date picker.".into(),
            });
        }
    }
    let result = if errors.is_empty() {
        st.svc.join_waitlist(&actor, input).await.map(|_| ())
    } else {
        Err(ServiceError::Validation(errors))
    };
    match result {
        Ok(()) => Ok(Redirect::to("/waitlist?msg=added").into_response()),
        Err(ServiceError::Validation(errors)) => {
            let board = st.svc.waitlist_board(&actor, true, &f.q, PageRequest::new(Some(1), Some(50))).await?;
            let mut page = board_page(&actor, &csrf, board, false, f, errors);
            page.layout =
                page.layout.notice("error", "The patient was not added. Please correct the fields marked below.");
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn remove(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: WaitlistEntryId =
        id.parse().map_err(|_| PageError(ServiceError::NotFound { what: "Waiting list entry" }))?;
    if actor.roles.is_patient_only() {
        // Patients leave the list from their own pages.
        return Err(PageError(ServiceError::Forbidden));
    }
    match st.svc.leave_waitlist(&actor, id).await {
        Ok(_) => Ok(Redirect::to("/waitlist?msg=removed").into_response()),
        Err(ServiceError::Conflict { message, .. }) => {
            let board = st.svc.waitlist_board(&actor, true, "", PageRequest::new(Some(1), Some(50))).await?;
            let mut page = board_page(&actor, &csrf, board, false, AddForm::default(), Vec::new());
            page.layout = page.layout.notice("error", message);
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
