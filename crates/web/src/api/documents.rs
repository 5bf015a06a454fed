//! `/api/v1/patients/{id}/documents`, `/api/v1/documents/{id}`: patient documents.
//! Uploads send the file itself as the request body (any content type; the type is found
//! from the content) with the details in the query string; downloads stream.

use crate::extract::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, TryStreamExt};
use praxis_domain::PatientId;
use praxis_services::documents::{Document, DocumentInput, Upload};
use praxis_services::{Actor, Services};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_documents, upload_document))
        .routes(routes!(get_document, update_document, remove_document))
        .routes(routes!(document_content))
}

const PJ: &str = "application/problem+json";

/// Pumps a request body into an upload. A body cut off by the size limit is a 413.
pub(crate) async fn pump(svc: &Services, actor: &Actor, mut up: Upload, body: Body) -> Result<Upload, Problem> {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| body_problem(&e.to_string()))?;
        up = svc.upload_chunk(actor, up, &chunk).await?;
    }
    Ok(up)
}

/// The problem for a request body that could not be read to the end.
pub(crate) fn body_problem(error: &str) -> Problem {
    if error.contains("length limit") {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The file is too large. Upload a smaller file.",
        )
    } else {
        Problem::new(StatusCode::BAD_REQUEST, "upload_interrupted", "The upload was interrupted. Send the file again.")
    }
}

/// A download: the decrypted content streamed with its type, length and file name.
pub(crate) fn download_response(
    doc: &Document,
    stream: impl futures::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static,
) -> Response {
    let body = Body::from_stream(stream.map_ok(Bytes::from));
    let mut res = body.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&doc.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(doc.size_bytes.max(0) as u64));
    let ascii: String = doc
        .file_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._- ()".contains(c) { c } else { '_' })
        .collect();
    let encoded = crate::extract::urlencode(&doc.file_name).replace('/', "%2F");
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The documents of a patient the caller may see, newest first: administrators all;
/// staff patient-visible and admin-only; providers treating the patient patient-visible
/// and clinicians-only; the patient those shared with them. Confidential documents only
/// for administrators and treating providers. Audited.
#[utoipa::path(get, path = "/api/v1/patients/{id}/documents", tag = "documents", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<Document>), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn list_documents(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
) -> ApiResult<Json<Vec<Document>>> {
    Ok(Json(st.svc.patient_documents(&a, id).await?))
}

/// Upload a document: the request body is the file (at most the configured size, 20 MiB
/// by default); details go in the query string. The type is found from the content: PDF,
/// PNG, JPEG, GIF, WebP, Word (.docx), MP3, WAV, MP4 or plain text. A disguised or
/// unknown type is 422, too large 413; nothing is stored then, and the attempt is
/// audited. The file is stored encrypted, once per content.
#[utoipa::path(post, path = "/api/v1/patients/{id}/documents", tag = "documents", security(("bearer" = [])), params(("id" = String, Path), DocumentInput),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses((status = 201, body = Document), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ),
        (status = 413, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn upload_document(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
    ApiQuery(q): ApiQuery<DocumentInput>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Document>)> {
    let up = st.svc.begin_upload(&a, id, &q).await?;
    let up = pump(&st.svc, &a, up, body).await?;
    Ok((StatusCode::CREATED, Json(st.svc.finish_upload(&a, up).await?)))
}

/// One document's details. Audited.
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "documents", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Document), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn get_document(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Document>> {
    Ok(Json(st.svc.get_document(&a, id).await?))
}

/// Change a document's details (title, category, tags, description, confidential,
/// access level, links). Fields left out keep their value.
#[utoipa::path(put, path = "/api/v1/documents/{id}", tag = "documents", security(("bearer" = [])), params(("id" = String, Path)), request_body = DocumentInput,
    responses((status = 200, body = Document), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn update_document(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<DocumentInput>,
) -> ApiResult<Json<Document>> {
    Ok(Json(st.svc.update_document(&a, id, &b).await?))
}

/// Remove a document from the record (administrators, or the uploader). Kept for the
/// audit trail.
#[utoipa::path(delete, path = "/api/v1/documents/{id}", tag = "documents", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn remove_document(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    st.svc.remove_document(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Download a document's content (decrypted as it streams). Audited.
#[utoipa::path(get, path = "/api/v1/documents/{id}/content", tag = "documents", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn document_content(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let (doc, stream) = st.svc.download_document(&a, id).await?;
    Ok(download_response(&doc, stream))
}
