//! Intake forms in setup (administrators): the list, and the form builder — name,
//! description, the services that send it on a patient's first booking, and its
//! questions. Without any script: each question is one fieldset; three blank ones wait
//! at the end for new questions, and clearing a question's text removes it. Saving
//! changed questions publishes a new version (answers already given keep theirs).

use super::{Refusal, done, layout, path_id};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::{FormErrors, PageResult};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_domain::forms::{Question, QuestionKind};
use praxis_domain::{FieldError, Permission, ServiceId};
use praxis_services::Actor;
use praxis_services::forms::{Form as IntakeForm, FormInput};
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/setup/forms", get(list).post(create))
        .route("/setup/forms/new", get(new))
        .route("/setup/forms/{id}", get(edit).post(update))
}

/// Blank question rows offered after the existing ones.
const BLANK_ROWS: usize = 3;

struct FormLine {
    id: String,
    name: String,
    version: i64,
    questions: usize,
    services: String,
    active: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_forms_list.html")]
struct ListPage {
    layout: crate::pages::Layout,
    forms: Vec<FormLine>,
}

async fn list(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
) -> PageResult {
    st.svc.authorize(&actor, Permission::ManageForms)?;
    let services = st.svc.list_services(&actor).await?;
    let forms = st
        .svc
        .list_forms(&actor)
        .await?
        .into_iter()
        .map(|f| FormLine {
            id: f.id.to_string(),
            services: services
                .iter()
                .filter(|s| f.service_ids.contains(&s.id))
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            name: f.name,
            version: f.version,
            questions: f.questions.len(),
            active: f.active,
        })
        .collect();
    Ok(ListPage { layout: layout(&actor, &csrf, "Intake forms", &[]), forms }.into_response())
}

/// One question of the builder.
struct QRow {
    n: usize,
    id: String,
    label: String,
    help: String,
    kind: String,
    required: bool,
    options: String,
    min: String,
    max: String,
    error: Vec<String>,
}

struct Svc {
    id: String,
    name: String,
    checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_forms_edit.html")]
struct EditPage {
    layout: crate::pages::Layout,
    action: String,
    form_name: String,
    description: String,
    active: bool,
    version: i64,
    services: Vec<Svc>,
    rows: Vec<QRow>,
    kinds: Vec<(&'static str, &'static str)>,
    errors: FormErrors,
}

fn rows_of(questions: &[Question]) -> Vec<QRow> {
    let mut rows: Vec<QRow> = questions
        .iter()
        .enumerate()
        .map(|(n, q)| QRow {
            n,
            id: q.id.clone(),
            label: q.label.clone(),
            help: q.help.clone(),
            kind: q.kind.as_str().into(),
            required: q.required,
            options: q.options.join("\n"),
            min: q.min.map(|v| v.to_string()).unwrap_or_default(),
            max: q.max.map(|v| v.to_string()).unwrap_or_default(),
            error: Vec::new(),
        })
        .collect();
    pad(&mut rows);
    rows
}

fn pad(rows: &mut Vec<QRow>) {
    let start = rows.len();
    for n in start..start + BLANK_ROWS {
        rows.push(QRow {
            n,
            id: String::new(),
            label: String::new(),
            help: String::new(),
            kind: "text".into(),
            required: false,
            options: String::new(),
            min: String::new(),
            max: String::new(),
            error: Vec::new(),
        });
    }
}

async fn page(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    form: Option<&IntakeForm>,
    posted: Option<Posted>,
    status: StatusCode,
    errors: Vec<FieldError>,
) -> PageResult {
    let services = st.svc.list_services(actor).await?;
    let (title, action, version) = match form {
        Some(f) => (format!("Edit {}", f.name), format!("/setup/forms/{}", f.id), f.version),
        None => ("New intake form".to_string(), "/setup/forms".to_string(), 0),
    };
    let (name, description, active, chosen, mut rows) = match posted {
        Some(p) => (p.name, p.description, p.active, p.service_ids, p.rows),
        None => match form {
            Some(f) => (
                f.name.clone(),
                f.description.clone(),
                f.active,
                f.service_ids.iter().map(|s| s.to_string()).collect(),
                rows_of(&f.questions),
            ),
            None => (String::new(), String::new(), true, Vec::new(), rows_of(&[])),
        },
    };
    // Errors about questions (`questions[2].label`) go beside their question.
    let mut general = Vec::new();
    for e in errors {
        match e
            .field
            .strip_prefix("questions[")
            .and_then(|r| r.split_once(']'))
            .and_then(|(i, _)| i.parse::<usize>().ok())
        {
            Some(i) => {
                match rows.iter_mut().filter(|r| !r.label.trim().is_empty() || !r.options.trim().is_empty()).nth(i) {
                    Some(r) => r.error.push(e.message),
                    None => general.push(e),
                }
            }
            None => general.push(e),
        }
    }
    let page = EditPage {
        layout: layout(actor, csrf, title, &[("Intake forms", "/setup/forms")]),
        action,
        form_name: name,
        description,
        active,
        version,
        services: services
            .into_iter()
            .map(|s| Svc { checked: chosen.contains(&s.id.to_string()), id: s.id.to_string(), name: s.name })
            .collect(),
        rows: std::mem::take(&mut rows),
        kinds: QuestionKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        errors: FormErrors(general),
    };
    Ok((status, page).into_response())
}

async fn new(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
) -> PageResult {
    st.svc.authorize(&actor, Permission::ManageForms)?;
    page(&st, &actor, &csrf, None, None, StatusCode::OK, Vec::new()).await
}

#[derive(serde::Deserialize)]
struct Saved {
    saved: Option<i64>,
}

async fn edit(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<Saved>,
) -> PageResult {
    st.svc.authorize(&actor, Permission::ManageForms)?;
    let id: Uuid = path_id(&id, "Form")?;
    let form = st.svc.get_form(&actor, id).await?;
    let res = page(&st, &actor, &csrf, Some(&form), None, StatusCode::OK, Vec::new()).await;
    match (q.saved, res) {
        (Some(v), Ok(_)) => {
            let text =
                format!("Saved. Patients now get version {v}; answers already given keep the version they answered.");
            page_with_notice(&st, &actor, &csrf, &form, text).await
        }
        (_, r) => r,
    }
}

async fn page_with_notice(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    form: &IntakeForm,
    text: String,
) -> PageResult {
    let services = st.svc.list_services(actor).await?;
    let page = EditPage {
        layout: layout(actor, csrf, format!("Edit {}", form.name), &[("Intake forms", "/setup/forms")])
            .notice("ok", text),
        action: format!("/setup/forms/{}", form.id),
        form_name: form.name.clone(),
        description: form.description.clone(),
        active: form.active,
        version: form.version,
        services: services
            .into_iter()
            .map(|s| Svc { checked: form.service_ids.contains(&s.id), id: s.id.to_string(), name: s.name })
            .collect(),
        rows: rows_of(&form.questions),
        kinds: QuestionKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        errors: FormErrors::default(),
    };
    Ok(page.into_response())
}

/// What the builder sent back.
struct Posted {
    name: String,
    description: String,
    active: bool,
    service_ids: Vec<String>,
    rows: Vec<QRow>,
}

fn read(pairs: &[(String, String)]) -> (Posted, FormInput, Vec<FieldError>) {
    let one = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let count = pairs
        .iter()
        .filter_map(|(k, _)| k.strip_prefix('q')?.split_once('.')?.0.parse::<usize>().ok())
        .max()
        .map_or(0, |m| m + 1);
    let mut rows = Vec::new();
    let mut questions = Vec::new();
    let mut errors = Vec::new();
    for n in 0..count.min(praxis_domain::forms::MAX_QUESTIONS + BLANK_ROWS) {
        let f = |name: &str| one(&format!("q{n}.{name}"));
        let row = QRow {
            n,
            id: f("id"),
            label: f("label"),
            help: f("help"),
            kind: f("kind"),
            required: !f("required").is_empty(),
            options: f("options"),
            min: f("min"),
            max: f("max"),
            error: Vec::new(),
        };
        if row.label.trim().is_empty() && row.options.trim().is_empty() {
            continue;
        }
        let kind = QuestionKind::parse(&row.kind).unwrap_or(QuestionKind::Text);
        let mut number = |s: &str, which: &str| -> Option<i64> {
            let t = s.trim();
            if t.is_empty() {
                return None;
            }
            t.parse().ok().or_else(|| {
                errors.push(FieldError {
                    field: format!("questions[{}].{which}", questions.len()),
                    code: "invalid".into(),
                    message: format!("The {which} value must be a whole number."),
                });
                None
            })
        };
        let min = number(&row.min, "min");
        let max = number(&row.max, "max");
        questions.push(Question {
            id: row.id.clone(),
            label: row.label.clone(),
            help: row.help.clone(),
            kind,
            required: row.required,
            options: row.options.lines().map(str::to_string).collect(),
            min,
            max,
        });
        rows.push(row);
    }
    let service_ids: Vec<String> = pairs.iter().filter(|(k, _)| k == "service_ids").map(|(_, v)| v.clone()).collect();
    let input = FormInput {
        name: one("name"),
        description: one("description"),
        questions,
        active: Some(!one("active").is_empty()),
        service_ids: Some(service_ids.iter().filter_map(|s| s.parse::<Uuid>().ok().map(ServiceId)).collect()),
    };
    for (i, r) in rows.iter_mut().enumerate() {
        r.n = i;
    }
    pad(&mut rows);
    (
        Posted {
            name: input.name.clone(),
            description: input.description.clone(),
            active: input.active.unwrap_or(true),
            service_ids,
            rows,
        },
        input,
        errors,
    )
}

async fn create(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let (posted, input, errors) = read(&pairs);
    if !errors.is_empty() {
        return page(&st, &actor, &csrf, None, Some(posted), StatusCode::UNPROCESSABLE_ENTITY, errors).await;
    }
    match st.svc.create_form(&actor, input).await {
        Ok(f) => Ok(done(format!("/setup/forms/{}?saved=1", f.id))),
        Err(e) => {
            let r = Refusal::of(e)?.beside("name");
            page(&st, &actor, &csrf, None, Some(posted), r.status, r.errors).await
        }
    }
}

async fn update(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let id: Uuid = path_id(&id, "Form")?;
    let form = st.svc.get_form(&actor, id).await?;
    let (posted, input, errors) = read(&pairs);
    if !errors.is_empty() {
        return page(&st, &actor, &csrf, Some(&form), Some(posted), StatusCode::UNPROCESSABLE_ENTITY, errors).await;
    }
    match st.svc.update_form(&actor, id, input).await {
        Ok(f) => Ok(done(format!("/setup/forms/{}?saved={}", f.id, f.version))),
        Err(e) => {
            let r = Refusal::of(e)?.beside("name");
            page(&st, &actor, &csrf, Some(&form), Some(posted), r.status, r.errors).await
        }
    }
}
