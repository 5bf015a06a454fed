//! The chart's summary tab: details, guardians, consents, care team, appointments and the
//! latest notes, with the small forms that change them.

use super::{ChartHeader, ConsentView, chart_layout, consent_views, form_date, header_of, is_office, sex_label};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
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
use praxis_domain::{PatientId, Permission, ProviderId, UserId};
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
        _ => return None,
    })
}

/// Renders the summary tab (also after a small form failed, with its errors).
async fn render(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    id: PatientId,
    notice: Option<(&'static str, String)>,
    errors: Vec<praxis_domain::FieldError>,
    form: SmallForms,
) -> PageResult {
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
    let mut layout = chart_layout(actor, csrf, &header, "").zone(&zone);
    if let Some((kind, text)) = notice {
        layout = layout.notice(kind, text);
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
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
    render(&st, &actor, &csrf, id, notice, Vec::new(), SmallForms::default()).await
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
            render(st, actor, csrf, id, Some(("error", "Please correct the fields marked below.".into())), errors, form)
                .await
        }
        Err(ServiceError::NotFound { what }) if what != "Patient" => {
            render(
                st,
                actor,
                csrf,
                id,
                Some(("error", format!("{what} was not found; it may have been changed meanwhile."))),
                Vec::new(),
                form,
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
