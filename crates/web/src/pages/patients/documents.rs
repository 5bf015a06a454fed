//! The chart's documents tab: the documents the user may see, an upload form (multipart,
//! the CSRF token in the form's address since the middleware does not read multipart
//! bodies), downloads and removal. What is listed, offered and allowed is decided by the
//! documents service.

use super::{ChartHeader, chart_header, chart_layout};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::{FormErrors, PageError, PageResult, fmt_time};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use praxis_domain::documents::{AccessLevel, Category};
use praxis_domain::{FieldError, PatientId};
use praxis_services::documents::{Document, DocumentInput};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/patients/{id}/documents", get(list).post(upload).layer(DefaultBodyLimit::disable()))
        .route("/documents/{id}/download", get(download))
        .route("/documents/{id}/remove", post(remove))
}

/// One row of the list.
pub(crate) struct DocRow {
    pub id: String,
    pub title: String,
    pub file_name: String,
    pub kind: String,
    pub category: &'static str,
    pub level: &'static str,
    pub level_code: &'static str,
    pub confidential: bool,
    pub size: String,
    pub uploaded: String,
    pub by: String,
    pub tags: Vec<String>,
    pub description: String,
}

pub(crate) fn doc_row(d: &Document, zone: &jiff::tz::TimeZone) -> DocRow {
    DocRow {
        id: d.id.to_string(),
        title: d.title.clone(),
        file_name: d.file_name.clone(),
        kind: d.media_type.split(';').next().unwrap_or("").to_string(),
        category: d.category.label(),
        level: d.access_level.label(),
        level_code: d.access_level.as_str(),
        confidential: d.confidential,
        size: d.size_label(),
        uploaded: fmt_time(d.uploaded_at, zone),
        by: d.uploaded_by.clone(),
        tags: d.tags.clone(),
        description: d.description.clone(),
    }
}

#[derive(Clone, Default)]
struct UploadForm {
    title: String,
    category: String,
    tags: String,
    description: String,
    access_level: String,
    confidential: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "documents_tab.html")]
struct DocumentsPage {
    layout: crate::pages::Layout,
    header: ChartHeader,
    docs: Vec<DocRow>,
    levels: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str)>,
    may_confidential: bool,
    max_size: String,
    form: UploadForm,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct Msg {
    msg: Option<String>,
}

async fn render(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    id: PatientId,
    notice: Option<(&'static str, String)>,
    errors: Vec<FieldError>,
    form: UploadForm,
) -> PageResult {
    let header = chart_header(st, actor, id, "documents").await?;
    let zone = st.svc.settings().display_zone.clone();
    let docs = st.svc.patient_documents(actor, id).await?.iter().map(|d| doc_row(d, &zone)).collect();
    let levels: Vec<AccessLevel> = st.svc.upload_levels(actor, id).await?;
    let may_confidential = levels.contains(&AccessLevel::CliniciansOnly);
    let mut layout = chart_layout(actor, csrf, &header, "Documents");
    if let Some((kind, text)) = notice {
        layout = layout.notice(kind, text);
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = DocumentsPage {
        layout,
        header,
        docs,
        levels: levels.iter().map(|l| (l.as_str(), l.label())).collect(),
        categories: Category::ALL.iter().map(|c| (c.as_str(), c.label())).collect(),
        may_confidential,
        max_size: praxis_services::documents::human_size(st.svc.settings().max_upload_bytes as i64),
        form,
        errors: FormErrors(errors),
    };
    Ok((status, page).into_response())
}

async fn list(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<PatientId>,
    Query(m): Query<Msg>,
) -> PageResult {
    let notice = match m.msg.as_deref() {
        Some("uploaded") => Some(("ok", "The document is stored (encrypted).".to_string())),
        Some("removed") => Some(("ok", "The document was removed from the record.".to_string())),
        _ => None,
    };
    render(&st, &actor, &csrf, id, notice, Vec::new(), UploadForm::default()).await
}

fn field_errors(e: &ServiceError) -> Option<Vec<FieldError>> {
    match e {
        ServiceError::Validation(v) => Some(v.clone()),
        ServiceError::TooLarge(m) => {
            Some(vec![FieldError { field: "file".into(), code: "too_large".into(), message: m.clone() }])
        }
        ServiceError::Conflict { fields, message, .. } => Some(if fields.is_empty() {
            vec![FieldError { field: "file".into(), code: "conflict".into(), message: message.clone() }]
        } else {
            fields.clone()
        }),
        _ => None,
    }
}

async fn upload(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<PatientId>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let mut form = UploadForm::default();
    let Ok(mut multipart) = multipart else {
        let e =
            FieldError { field: "file".into(), code: "required".into(), message: "Choose a file to upload.".into() };
        return render(&st, &actor, &csrf, id, None, vec![e], form).await;
    };
    let mut result: Option<Result<Document, ServiceError>> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let msg = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    "The file is too large. Upload a smaller file."
                } else {
                    "The upload was interrupted. Choose the file and send it again."
                };
                result = Some(Err(ServiceError::invalid("file", "interrupted", msg)));
                break;
            }
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("").to_string();
            if file_name.is_empty() {
                continue;
            }
            let input = DocumentInput {
                title: Some(form.title.clone()),
                category: Some(form.category.clone()),
                tags: Some(form.tags.clone()),
                description: Some(form.description.clone()),
                confidential: Some(form.confidential),
                access_level: Some(form.access_level.clone()),
                file_name: Some(file_name),
                ..Default::default()
            };
            result = Some(stream_field(&st, &actor, id, &input, field).await);
            break;
        }
        let value = field.text().await.unwrap_or_default();
        match name.as_str() {
            "title" => form.title = value,
            "category" => form.category = value,
            "tags" => form.tags = value,
            "description" => form.description = value,
            "access_level" => form.access_level = value,
            "confidential" => form.confidential = !value.is_empty(),
            _ => {}
        }
    }
    match result {
        Some(Ok(_)) => Ok(Redirect::to(&format!("/patients/{id}/documents?msg=uploaded")).into_response()),
        Some(Err(e)) => match field_errors(&e) {
            Some(errs) => render(&st, &actor, &csrf, id, None, errs, form).await,
            None => Err(PageError(e)),
        },
        None => {
            let e = FieldError {
                field: "file".into(),
                code: "required".into(),
                message: "Choose a file to upload.".into(),
            };
            render(&st, &actor, &csrf, id, None, vec![e], form).await
        }
    }
}

async fn stream_field(
    st: &AppState,
    actor: &Actor,
    id: PatientId,
    input: &DocumentInput,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<Document, ServiceError> {
    let mut up = st.svc.begin_upload(actor, id, input).await?;
    loop {
        match field.chunk().await {
            Ok(Some(bytes)) => up = st.svc.upload_chunk(actor, up, &bytes).await?,
            Ok(None) => break,
            Err(e) => {
                drop(up);
                let too_large = e.status() == StatusCode::PAYLOAD_TOO_LARGE || e.to_string().contains("length limit");
                return Err(if too_large {
                    ServiceError::TooLarge("The file is too large. Upload a smaller file.".into())
                } else {
                    ServiceError::invalid(
                        "file",
                        "interrupted",
                        "The upload was interrupted. Choose the file and send it again.",
                    )
                });
            }
        }
    }
    st.svc.finish_upload(actor, up).await
}

async fn download(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<Uuid>) -> PageResult {
    let (doc, stream) = st.svc.download_document(&actor, id).await?;
    Ok(crate::api::documents::download_response(&doc, stream))
}

async fn remove(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<Uuid>) -> PageResult {
    let doc = st.svc.get_document(&actor, id).await?;
    st.svc.remove_document(&actor, id).await?;
    Ok(Redirect::to(&format!("/patients/{}/documents?msg=removed", doc.patient_id)).into_response())
}
