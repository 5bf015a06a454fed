//! The chart's summary tab: details, guardians, consents, care team, appointments, the
//! latest notes, what the patient owes and their referrals (funded plans), with the small
//! forms that change them.

use super::{ChartHeader, ConsentView, chart_layout, consent_views, form_date, header_of, is_office, sex_label};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::form::{Fields, Opt, Reader};
use crate::pages::{FormErrors, PageResult, fmt_day, fmt_time};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use jiff::Timestamp;
use praxis_domain::billing::CapPeriod;
use praxis_domain::{PatientId, Permission, ProviderId, UserId};
use praxis_services::billing::{Referral, ReferralRequest};
use praxis_services::patients::{CONSENT_KINDS, ConsentInput, Patient};
use praxis_services::scheduling::AppointmentFilter;
use praxis_services::users::PageRequest;
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/patients/{id}", get(summary))
        .route("/patients/{id}/archive", post(archive))
        .route("/patients/{id}/restore", post(restore))
        .route("/patients/{id}/guardians", post(add_guardian))
        .route("/patients/{id}/guardians/{user}/remove", post(remove_guardian))
        .route("/patients/{id}/consents", post(add_consent))
        .route("/patients/{id}/consents/{consent}/withdraw", post(withdraw_consent))
        .route("/patients/{id}/care-team", post(add_to_care_team))
        .route("/patients/{id}/referrals", post(add_referral))
}

struct GuardianView {
    user_id: String,
    name: String,
    email: String,
    relationship: String,
}

struct AppointmentView {
    id: String,
    when: String,
    what: String,
    status: String,
    status_code: String,
}

struct NoteLine {
    id: String,
    when: String,
    kind: String,
    author: String,
    summary: String,
    draft: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "patient_chart.html")]
struct SummaryPage {
    layout: crate::pages::Layout,
    header: ChartHeader,
    p: Patient,
    sex: &'static str,
    registered: String,
    archived_at: String,
    guardians: Vec<GuardianView>,
    consents: Vec<ConsentView>,
    consent_kinds: Vec<(&'static str, &'static str)>,
    care_team: Vec<String>,
    providers: Vec<(String, String)>,
    upcoming: Vec<AppointmentView>,
    past: Vec<AppointmentView>,
    past_total: i64,
    notes: Vec<NoteLine>,
    office: bool,
    may_edit: bool,
    may_book: bool,
    errors: FormErrors,
    form: SmallForms,
    /// What the patient owes per currency; `None` when the reader may not see it.
    balances: Option<Vec<BalanceView>>,
    /// The patient's referrals; `None` when the reader may not manage them.
    referrals: Option<Vec<ReferralView>>,
    referral: ReferralForm,
    referral_f: Fields,
    specialties: Vec<Opt>,
    cap_periods: Vec<Opt>,
}

/// What the patient owes in one currency.
struct BalanceView {
    owing: String,
    open_invoices: i64,
}

/// A referral or funded plan and where it stands today.
struct ReferralView {
    label: String,
    referrer: String,
    valid: String,
    /// "3 of 10 sessions left per calendar year" or "Not capped".
    sessions: String,
    /// Sessions used and booked, when capped.
    counts: String,
    specialty: String,
    notes: String,
    active: bool,
    in_date: bool,
    low: bool,
    warnings: Vec<String>,
}

/// The new-referral form as typed (kept when it is refused).
#[derive(Clone, Default, Deserialize)]
struct ReferralForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    referrer_name: String,
    #[serde(default)]
    referrer_number: String,
    #[serde(default)]
    referral_date: String,
    #[serde(default)]
    expiry_date: String,
    #[serde(default)]
    session_cap: String,
    #[serde(default)]
    cap_period: String,
    #[serde(default)]
    specialty_id: String,
    #[serde(default)]
    notes: String,
}

/// The referral form's fields in the order it shows them (the first invalid takes the focus).
const REFERRAL_FIELDS: &[&str] = &[
    "label",
    "referrer_name",
    "referrer_number",
    "referral_date",
    "expiry_date",
    "session_cap",
    "cap_period",
    "specialty_id",
    "notes",
];

fn long_day(d: jiff::civil::Date) -> String {
    d.strftime("%-d %b %Y").to_string()
}

fn referral_view(r: Referral) -> ReferralView {
    let s = &r.standing;
    let (sessions, counts) = match (s.cap, s.remaining) {
        (Some(cap), Some(left)) => (
            format!("{left} of {cap} funded sessions left {}", r.cap_period.label()),
            format!("{} used, {} booked", s.used, s.booked),
        ),
        _ => ("Sessions not capped".to_string(), format!("{} used, {} booked", s.used, s.booked)),
    };
    let valid = match r.expiry_date {
        Some(e) => format!("{} to {}", long_day(r.referral_date), long_day(e)),
        None => format!("From {}, no expiry", long_day(r.referral_date)),
    };
    let referrer = if r.referrer_number.trim().is_empty() {
        r.referrer_name.clone()
    } else {
        format!("{} ({})", r.referrer_name, r.referrer_number)
    };
    ReferralView {
        low: s.remaining.is_some_and(|n| n <= 1),
        in_date: s.valid,
        label: r.label,
        referrer,
        valid,
        sessions,
        counts,
        specialty: r.specialty_name.unwrap_or_default(),
        notes: r.notes,
        active: r.active,
        warnings: r.warnings,
    }
}

/// The referral form's typed values as the service's request (unreadable ones collected).
fn referral_request(f: &ReferralForm) -> Result<ReferralRequest, ServiceError> {
    let mut read = Reader::default();
    let referral_date = read.date("referral_date", &f.referral_date);
    let expiry_date = read.date("expiry_date", &f.expiry_date);
    let session_cap = read.number("session_cap", &f.session_cap);
    let specialty_id = read.id("specialty_id", &f.specialty_id);
    let cap_period = match f.cap_period.trim() {
        "" => None,
        p => match CapPeriod::parse(p) {
            Some(c) => Some(c),
            None => {
                read.add("cap_period", "Choose one of the options.");
                None
            }
        },
    };
    read.finish()?;
    Ok(ReferralRequest {
        label: f.label.clone(),
        referrer_name: f.referrer_name.clone(),
        referrer_number: f.referrer_number.clone(),
        referral_date,
        expiry_date,
        session_cap,
        cap_period,
        specialty_id,
        notes: f.notes.clone(),
        active: Some(true),
    })
}

/// What was typed into the chart's small forms (kept on errors).
#[derive(Clone, Default, Deserialize)]
struct SmallForms {
    #[serde(default)]
    email: String,
    #[serde(default)]
    relationship: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    given_on: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    provider_id: String,
}

#[derive(Deserialize)]
struct Msg {
    msg: Option<String>,
}

fn notice_for(msg: Option<&str>) -> Option<&'static str> {
    Some(match msg? {
        "registered" => "The patient is registered.",
        "saved" => "The details are saved.",
        "archived" => "The patient is archived: hidden from lists and search, nothing deleted.",
        "restored" => "The patient is active again.",
        "guardian_added" => "The guardian can now act for the patient in the portal.",
        "guardian_removed" => "The guardian no longer acts for the patient.",
        "consent_added" => "The consent is recorded.",
        "consent_withdrawn" => "The consent is recorded as withdrawn.",
        "care_team" => "The provider joined the care team.",
        "referral_added" => "The referral is recorded; bookings and invoices now warn before its limits.",
        _ => return None,
    })
}

/// What was typed into the chart's forms and what was refused (empty on a fresh view).
#[derive(Default)]
struct Typed {
    /// The small forms' errors.
    errors: Vec<praxis_domain::FieldError>,
    /// The small forms' values.
    form: SmallForms,
    /// The referral form, when it was refused.
    referral: Option<(ReferralForm, Fields)>,
}

/// Renders the summary tab (also after a small form failed, with its errors).
async fn render(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    id: PatientId,
    notice: Option<(&'static str, String)>,
    typed: Typed,
) -> PageResult {
    let Typed { errors, form, referral } = typed;
    let p = st.svc.get_patient(actor, id).await?;
    let clinical = st.svc.may_read_clinical(actor, id).await?;
    let header = header_of(st, &p, clinical, "summary");
    let zone = st.svc.settings().display_zone.clone();
    let guardians = st
        .svc
        .guardians(actor, id)
        .await?
        .into_iter()
        .map(|g| GuardianView {
            user_id: g.user_id.to_string(),
            name: g.full_name,
            email: g.email,
            relationship: g.relationship,
        })
        .collect();
    let consents = consent_views(st, actor, id).await?;
    let all_providers = st.svc.list_providers(actor).await?;
    let team_ids = st.svc.care_team(actor, id).await?;
    let care_team = all_providers.iter().filter(|p| team_ids.contains(&p.id)).map(|p| p.name.clone()).collect();
    let providers = all_providers
        .iter()
        .filter(|p| !team_ids.contains(&p.id))
        .map(|p| (p.id.to_string(), p.name.clone()))
        .collect();
    let now = st.svc.now();
    let (upcoming, past, past_total) = appointments(st, actor, id, now).await?;
    let notes = if clinical {
        st.svc
            .patient_notes(actor, id, None, praxis_services::users::PageRequest::new(Some(1), Some(5)))
            .await?
            .items
            .into_iter()
            .map(|n| NoteLine {
                id: n.id.to_string(),
                when: fmt_time(n.signed_at.unwrap_or(n.updated_at), &zone),
                kind: match n.assessment_kind {
                    Some(a) => a.label().to_string(),
                    None => n.kind.label().to_string(),
                },
                author: n.author.clone(),
                summary: n.content.summary(),
                draft: n.status == "draft",
            })
            .collect()
    } else {
        Vec::new()
    };
    // Money and funding: shown to those the services let see them (a provider sees no
    // balance; patients never reach the chart).
    let balances = match st.svc.patient_balance(actor, id).await {
        Ok(b) => Some({
            let money = crate::pages::billing::money_for(b.iter().map(|b| b.currency.as_str()));
            b.iter()
                .map(|b| BalanceView { owing: money(b.owing_minor, &b.currency), open_invoices: b.open_invoices })
                .collect()
        }),
        Err(ServiceError::Forbidden) => None,
        Err(e) => return Err(e.into()),
    };
    let referrals = if actor.can(Permission::ManageReferrals) {
        Some(st.svc.list_referrals(actor, id).await?.into_iter().map(referral_view).collect())
    } else {
        None
    };
    let (referral, referral_f) = referral.unwrap_or_default();
    let specialties = if referrals.is_some() {
        let mut o = vec![Opt::new("", "Every session", referral.specialty_id.is_empty())];
        o.extend(
            st.svc
                .list_specialties(actor)
                .await?
                .into_iter()
                .map(|s| Opt::new(s.id.to_string(), s.name, referral.specialty_id == s.id.to_string())),
        );
        o
    } else {
        Vec::new()
    };
    let cap_periods = [CapPeriod::CalendarYear, CapPeriod::Referral]
        .iter()
        .map(|c| {
            let chosen =
                referral.cap_period == c.as_str() || (referral.cap_period.is_empty() && *c == CapPeriod::CalendarYear);
            Opt::new(c.as_str(), c.label(), chosen)
        })
        .collect();
    let refused = !referral_f.errors.is_empty();
    let mut layout = chart_layout(actor, csrf, &header, "").zone(&zone);
    if let Some((kind, text)) = notice {
        layout = layout.notice(kind, text);
    }
    let status = if errors.is_empty() && !refused { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = SummaryPage {
        layout,
        header,
        sex: p.sex.as_deref().map(sex_label).unwrap_or(""),
        registered: fmt_day(p.created_at, &zone),
        archived_at: p.archived_at.map(|t| fmt_time(t, &zone)).unwrap_or_default(),
        guardians,
        consents,
        consent_kinds: CONSENT_KINDS.to_vec(),
        care_team,
        providers,
        upcoming,
        past,
        past_total,
        notes,
        office: is_office(actor),
        may_edit: !actor.roles.is_patient_only() && actor.can(Permission::ManagePatients),
        may_book: actor.can(Permission::RunAppointmentWorkflow),
        errors: FormErrors(errors),
        form,
        balances,
        referrals,
        referral,
        referral_f,
        specialties,
        cap_periods,
        p,
    };
    Ok((status, page).into_response())
}

/// The next ten appointments and the last ten before now, with how many past ones
/// there are.
async fn appointments(
    st: &AppState,
    actor: &Actor,
    id: PatientId,
    now: Timestamp,
) -> Result<(Vec<AppointmentView>, Vec<AppointmentView>, i64), crate::pages::PageError> {
    let view = |a: praxis_services::scheduling::Appointment| AppointmentView {
        id: a.id.to_string(),
        when: a.local_start.clone(),
        what: format!("{} with {} at {}", a.service_name, a.provider_name, a.clinic_name),
        status: a.status_label.clone(),
        status_code: a.status.as_str().to_string(),
    };
    let base = AppointmentFilter { patient_id: Some(id), ..AppointmentFilter::default() };
    let upcoming = st
        .svc
        .list_appointments(
            actor,
            AppointmentFilter { from: Some(now), ..base.clone() },
            PageRequest::new(Some(1), Some(10)),
        )
        .await?;
    let past_filter = AppointmentFilter { until: Some(now), ..base };
    let count = st.svc.list_appointments(actor, past_filter.clone(), PageRequest::new(Some(1), Some(1))).await?.total;
    let past = if count == 0 {
        Vec::new()
    } else {
        // The last page of ten holds the most recent; show them newest first.
        let last_page = (count - 1) / 10 + 1;
        let mut items = Vec::new();
        if count % 10 != 0 && last_page > 1 {
            items = st
                .svc
                .list_appointments(actor, past_filter.clone(), PageRequest::new(Some(last_page - 1), Some(10)))
                .await?
                .items;
        }
        items.extend(
            st.svc.list_appointments(actor, past_filter, PageRequest::new(Some(last_page), Some(10))).await?.items,
        );
        items.reverse();
        items.truncate(10);
        items
    };
    Ok((upcoming.items.into_iter().map(view).collect(), past.into_iter().map(view).collect(), count))
}

async fn summary(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<PatientId>,
    Query(m): Query<Msg>,
) -> PageResult {
    if actor.roles.is_patient_only() {
        return Err(ServiceError::Forbidden.into());
    }
    let notice = notice_for(m.msg.as_deref()).map(|t| ("ok", t.to_string()));
    render(&st, &actor, &csrf, id, notice, Typed::default()).await
}

/// After a small form: back to the chart with a message, or the chart again with the
/// form's errors (nothing is written on an error).
async fn outcome(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    id: PatientId,
    result: Result<(), ServiceError>,
    msg: &str,
    form: SmallForms,
) -> PageResult {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/patients/{id}?msg={msg}")).into_response()),
        Err(ServiceError::Validation(errors)) => {
            let notice = Some(("error", "Please correct the fields marked below.".into()));
            render(st, actor, csrf, id, notice, Typed { errors, form, referral: None }).await
        }
        Err(ServiceError::NotFound { what }) if what != "Patient" => {
            render(
                st,
                actor,
                csrf,
                id,
                Some(("error", format!("{what} was not found; it may have been changed meanwhile."))),
                Typed { form, ..Typed::default() },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn archive(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<PatientId>) -> PageResult {
    st.svc.set_patient_archived(&actor, id, true).await?;
    Ok(Redirect::to(&format!("/patients/{id}?msg=archived")).into_response())
}

async fn restore(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<PatientId>) -> PageResult {
    st.svc.set_patient_archived(&actor, id, false).await?;
    Ok(Redirect::to(&format!("/patients/{id}?msg=restored")).into_response())
}

async fn add_guardian(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<PatientId>,
    Form(f): Form<SmallForms>,
) -> PageResult {
    let r = st.svc.add_guardian_by_email(&actor, id, &f.email, &f.relationship).await.map(|_| ());
    outcome(&st, &actor, &csrf, id, r, "guardian_added", f).await
}

async fn remove_guardian(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path((id, user)): Path<(PatientId, UserId)>,
) -> PageResult {
    let r = st.svc.remove_guardian(&actor, id, user).await;
    outcome(&st, &actor, &csrf, id, r, "guardian_removed", SmallForms::default()).await
}

async fn add_consent(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<PatientId>,
    Form(f): Form<SmallForms>,
) -> PageResult {
    let mut errors = Vec::new();
    let zone = st.svc.settings().display_zone.clone();
    let given_at = form_date(&f.given_on, "given_on", &mut errors).map(|d| {
        // A consent dated today is "now"; an earlier date is that day at noon, local.
        let today = st.svc.now().to_zoned(zone.clone()).date();
        if d == today {
            st.svc.now()
        } else {
            d.at(12, 0, 0, 0).to_zoned(zone.clone()).map(|z| z.timestamp()).unwrap_or_else(|_| st.svc.now())
        }
    });
    let r = if errors.is_empty() {
        st.svc
            .add_consent(&actor, id, ConsentInput { kind: f.kind.clone(), given_at, note: f.note.clone() })
            .await
            .map(|_| ())
            .map_err(|e| match e {
                // The page's date field is `given_on`.
                ServiceError::Validation(mut v) => {
                    for fe in &mut v {
                        if fe.field == "given_at" {
                            fe.field = "given_on".into();
                        }
                    }
                    ServiceError::Validation(v)
                }
                e => e,
            })
    } else {
        Err(ServiceError::Validation(errors))
    };
    outcome(&st, &actor, &csrf, id, r, "consent_added", f).await
}

async fn withdraw_consent(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path((id, consent)): Path<(PatientId, Uuid)>,
) -> PageResult {
    let r = st.svc.withdraw_consent(&actor, id, consent).await.map(|_| ());
    outcome(&st, &actor, &csrf, id, r, "consent_withdrawn", SmallForms::default()).await
}

async fn add_to_care_team(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<PatientId>,
    Form(f): Form<SmallForms>,
) -> PageResult {
    let r = match f.provider_id.trim().parse::<Uuid>() {
        Ok(p) => st.svc.assign_provider(&actor, id, ProviderId(p)).await,
        Err(_) => Err(ServiceError::invalid("provider_id", "required", "Choose the provider.")),
    };
    outcome(&st, &actor, &csrf, id, r, "care_team", f).await
}

async fn add_referral(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<PatientId>,
    Form(f): Form<ReferralForm>,
) -> PageResult {
    let outcome = match referral_request(&f) {
        Ok(req) => st.svc.create_referral(&actor, id, req).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/patients/{id}?msg=referral_added#referrals")).into_response()),
        Err(ServiceError::Validation(errors)) => {
            let notice = Some(("error", "The referral was not saved. Please correct the fields marked below.".into()));
            let fields = Fields::new(errors, REFERRAL_FIELDS);
            let typed = Typed { referral: Some((f, fields)), ..Typed::default() };
            render(&st, &actor, &csrf, id, notice, typed).await
        }
        Err(e) => Err(e.into()),
    }
}
