//! The chart's forms tab: the patient's intake forms with their status and, for those
//! who may read them, the answers beside each question; sending a form and withdrawing
//! one not yet answered.

use super::{ChartHeader, chart_header, chart_layout};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::{FormErrors, PageResult, fmt_time};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_domain::{FieldError, PatientId};
use praxis_services::forms::{AssignInput, Assignment};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/patients/{id}/forms", get(list).post(assign))
        .route("/form-assignments/{id}/cancel", post(cancel))
}

/// An assigned form ready to show.
pub(crate) struct AssignmentView {
    pub id: String,
    pub patient_id: String,
    pub name: String,
    pub version: i64,
    pub status: &'static str,
    pub status_class: &'static str,
    pub pending: bool,
    pub automatic: bool,
    pub assigned: String,
    pub completed: String,
    /// (question, answer) when the reader may see the answers.
    pub answers: Vec<(String, String)>,
    pub has_answers: bool,
}

pub(crate) fn assignment_view(a: &Assignment, zone: &jiff::tz::TimeZone) -> AssignmentView {
    let (status, status_class) = match a.status.as_str() {
        "pending" => ("Waiting for the patient", "warn"),
        "completed" => ("Answered", "ok"),
        _ => ("Withdrawn", "off"),
    };
    AssignmentView {
        id: a.id.to_string(),
        patient_id: a.patient_id.to_string(),
        name: a.form_name.clone(),
        version: a.version,
        status,
        status_class,
        pending: a.status == "pending",
        automatic: a.automatic,
        assigned: fmt_time(a.assigned_at, zone),
        completed: a.completed_at.map(|t| fmt_time(t, zone)).unwrap_or_default(),
        answers: if a.answers.is_some() {
            a.questions.iter().map(|q| (q.label.clone(), a.answer_text(&q.id))).collect()
        } else {
            Vec::new()
        },
        has_answers: a.answers.is_some(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "forms_tab.html")]
struct FormsPage {
    layout: crate::pages::Layout,
    header: ChartHeader,
    items: Vec<AssignmentView>,
    forms: Vec<(String, String)>,
    may_assign: bool,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct Msg {
    msg: Option<String>,
}

#[derive(Deserialize)]
struct AssignForm {
    #[serde(default)]
    form_id: String,
}

async fn render(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    id: PatientId,
    notice: Option<&'static str>,
    errors: Vec<FieldError>,
) -> PageResult {
    let header = chart_header(st, actor, id, "forms").await?;
    let zone = st.svc.settings().display_zone.clone();
    let items = st.svc.patient_forms(actor, id).await?.iter().map(|a| assignment_view(a, &zone)).collect();
    let forms: Vec<(String, String)> = match st.svc.list_forms(actor).await {
        Ok(list) => list.into_iter().filter(|f| f.active).map(|f| (f.id.to_string(), f.name)).collect(),
        Err(_) => Vec::new(),
    };
    let may_assign = !forms.is_empty();
    let mut layout = chart_layout(actor, csrf, &header, "Forms");
    if let Some(n) = notice {
        layout = layout.notice("ok", n);
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, FormsPage { layout, header, items, forms, may_assign, errors: FormErrors(errors) }).into_response())
}

async fn list(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<PatientId>,
    Query(m): Query<Msg>,
) -> PageResult {
    let notice = match m.msg.as_deref() {
        Some("sent") => Some("The form is waiting for the patient in the portal."),
        Some("withdrawn") => Some("The form was withdrawn."),
        _ => None,
    };
    render(&st, &actor, &csrf, id, notice, Vec::new()).await
}

async fn assign(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<PatientId>,
    Form(f): Form<AssignForm>,
) -> PageResult {
    let form_id = f.form_id.parse::<Uuid>().ok();
    match st.svc.assign_form(&actor, id, AssignInput { form_id, appointment_id: None }).await {
        Ok(_) => Ok(Redirect::to(&format!("/patients/{id}/forms?msg=sent")).into_response()),
        Err(ServiceError::Validation(v)) => render(&st, &actor, &csrf, id, None, v).await,
        Err(ServiceError::Conflict { message, .. }) => {
            render(
                &st,
                &actor,
                &csrf,
                id,
                None,
                vec![FieldError { field: "form_id".into(), code: "pending".into(), message }],
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn cancel(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<Uuid>) -> PageResult {
    let a = st.svc.cancel_assignment(&actor, id).await?;
    Ok(Redirect::to(&format!("/patients/{}/forms?msg=withdrawn", a.patient_id)).into_response())
}
