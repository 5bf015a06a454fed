//! The portal's forms and documents: the intake forms waiting for the patient (and for
//! the children they act for), the page that fills one in — one field per question, the
//! error beside each, what was typed kept — and the documents the clinic shared.

use super::{Layout, PageError, PageResult, fmt_time};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_domain::FieldError;
use praxis_domain::forms::QuestionKind;
use praxis_services::forms::{AnswersInput, Assignment};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/my/forms", get(list))
        .route("/my/forms/{id}", get(fill).post(submit))
        .route("/my/documents", get(documents))
}

struct Line {
    id: String,
    name: String,
    when: String,
    who: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_forms.html")]
struct ListPage {
    layout: Layout,
    pending: Vec<Line>,
    done: Vec<Line>,
}

async fn names(st: &AppState, actor: &Actor, list: &[Assignment]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let me = st.svc.my_patient(actor).await.ok().flatten().map(|p| p.id);
    for a in list {
        let key = a.patient_id.to_string();
        if out.contains_key(&key) {
            continue;
        }
        let name = if Some(a.patient_id) == me {
            String::new()
        } else {
            st.svc
                .get_patient(actor, a.patient_id)
                .await
                .map(|p| format!("for {}", p.display_name()))
                .unwrap_or_default()
        };
        out.insert(key, name);
    }
    out
}

#[derive(Deserialize)]
struct Msg {
    msg: Option<String>,
}

async fn list(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Extension(csrf): Extension<CsrfToken>,
    Query(m): Query<Msg>,
) -> PageResult {
    let zone = st.svc.settings().display_zone.clone();
    let all = st.svc.my_forms(&actor).await?;
    let who = names(&st, &actor, &all).await;
    let line = |a: &Assignment| Line {
        id: a.id.to_string(),
        name: a.form_name.clone(),
        when: fmt_time(a.completed_at.unwrap_or(a.assigned_at), &zone),
        who: who.get(&a.patient_id.to_string()).cloned().unwrap_or_default(),
    };
    let pending = all.iter().filter(|a| a.status == "pending").map(line).collect();
    let done = all.iter().filter(|a| a.status == "completed").map(line).collect();
    let mut layout = Layout::new(&actor, &csrf, "Forms", "/my/forms");
    if m.msg.as_deref() == Some("sent") {
        layout = layout.notice("ok", "Thank you — your answers were sent to the clinic.");
    }
    Ok(ListPage { layout, pending, done }.into_response())
}

/// One question on the filling page.
struct Field {
    key: String,
    label: String,
    help: String,
    required: bool,
    kind: &'static str,
    options: Vec<(String, bool)>,
    value: String,
    scale: Vec<(i64, bool)>,
    error: Option<String>,
    answer: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_forms_fill.html")]
struct FillPage {
    layout: Layout,
    id: String,
    version_id: String,
    pending: bool,
    fields: Vec<Field>,
    has_errors: bool,
}

fn fields_of(a: &Assignment, values: &BTreeMap<String, Vec<String>>, errors: &[FieldError]) -> Vec<Field> {
    a.questions
        .iter()
        .map(|q| {
            let given: Vec<String> = values
                .get(&q.id)
                .cloned()
                .or_else(|| a.answers.as_ref().and_then(|ans| ans.get(&q.id)).map(|x| x.raw()))
                .unwrap_or_default();
            let first = given.first().cloned().unwrap_or_default();
            let (lo, hi) = q.scale_bounds();
            Field {
                key: q.id.clone(),
                label: q.label.clone(),
                help: q.help.clone(),
                required: q.required,
                kind: q.kind.as_str(),
                options: q.options.iter().map(|o| (o.clone(), given.contains(o))).collect(),
                value: first.clone(),
                scale: if q.kind == QuestionKind::Scale {
                    (lo..=hi).map(|n| (n, first == n.to_string())).collect()
                } else {
                    Vec::new()
                },
                error: errors.iter().find(|e| e.field == q.id).map(|e| e.message.clone()),
                answer: a.answer_text(&q.id),
            }
        })
        .collect()
}

fn fill_page(
    actor: &Actor,
    csrf: &CsrfToken,
    a: &Assignment,
    values: &BTreeMap<String, Vec<String>>,
    errors: &[FieldError],
    notice: Option<String>,
) -> FillPage {
    let mut layout =
        Layout::new(actor, csrf, a.form_name.clone(), "/my/forms").crumbs(&[("Home", "/"), ("Forms", "/my/forms")]);
    if let Some(n) = notice {
        layout = layout.notice("warn", n);
    }
    FillPage {
        layout,
        id: a.id.to_string(),
        version_id: a.version_id.to_string(),
        pending: a.status == "pending",
        fields: fields_of(a, values, errors),
        has_errors: !errors.is_empty(),
    }
}

fn form_id(id: &str) -> Result<Uuid, PageError> {
    id.parse().map_err(|_| PageError(ServiceError::NotFound { what: "Form" }))
}

async fn fill(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
) -> PageResult {
    let a = st.svc.get_assignment(&actor, form_id(&id)?).await?;
    if a.status == "cancelled" {
        return Err(PageError(ServiceError::NotFound { what: "Form" }));
    }
    Ok(fill_page(&actor, &csrf, &a, &BTreeMap::new(), &[], None).into_response())
}

async fn submit(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = form_id(&id)?;
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut version = None;
    for (k, v) in pairs {
        if let Some(key) = k.strip_prefix("a.") {
            values.entry(key.to_string()).or_default().push(v);
        } else if k == "version_id" {
            version = v.parse::<Uuid>().ok();
        }
    }
    let answers = values
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::Array(v.iter().cloned().map(serde_json::Value::String).collect())))
        .collect();
    match st.svc.submit_answers(&actor, id, AnswersInput { version_id: version, answers }).await {
        Ok(_) => Ok(Redirect::to("/my/forms?msg=sent").into_response()),
        Err(ServiceError::Validation(errors)) => {
            let a = st.svc.get_assignment(&actor, id).await?;
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                fill_page(
                    &actor,
                    &csrf,
                    &a,
                    &values,
                    &errors,
                    Some("Some answers need attention; they are marked below.".into()),
                ),
            )
                .into_response())
        }
        Err(ServiceError::Conflict { message, .. }) => {
            let a = st.svc.get_assignment(&actor, id).await?;
            Ok((StatusCode::CONFLICT, fill_page(&actor, &csrf, &a, &values, &[], Some(message))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

struct SharedDoc {
    id: String,
    title: String,
    category: &'static str,
    size: String,
    when: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_forms_documents.html")]
struct DocumentsPage {
    layout: Layout,
    docs: Vec<SharedDoc>,
}

async fn documents(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Extension(csrf): Extension<CsrfToken>,
) -> PageResult {
    let zone = st.svc.settings().display_zone.clone();
    let mut docs = Vec::new();
    for p in st.svc.patients_i_act_for(&actor).await? {
        for d in st.svc.patient_documents(&actor, p).await? {
            docs.push(SharedDoc {
                id: d.id.to_string(),
                title: d.title.clone(),
                category: d.category.label(),
                size: d.size_label(),
                when: fmt_time(d.uploaded_at, &zone),
            });
        }
    }
    Ok(DocumentsPage { layout: Layout::new(&actor, &csrf, "Documents", "/my/documents"), docs }.into_response())
}
