//! `/fhir/r4`: Praxis as a FHIR R4 server (JSON only). Reads and searches of the
//! directory, patients, schedules, computed slots and appointments, and booking by
//! posting an `Appointment` that names a free slot. Handlers only translate: the
//! services decide who may see and do what, exactly as for `/api/v1`, and every error is
//! an `OperationOutcome`.

mod read;
mod search;

use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use praxis_fhir::{FHIR_JSON, Outcome, ResourceType};
use praxis_services::Actor;
use serde_json::Value;

/// Where the FHIR interface lives.
pub const PREFIX: &str = "/fhir/r4";

/// Whether a request path is under the FHIR interface (its errors are OperationOutcomes).
pub fn is_fhir_path(path: &str) -> bool {
    path == PREFIX || path.starts_with("/fhir/")
}

/// The FHIR routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/r4/metadata", get(metadata))
        .route("/fhir/r4/{resource_type}", get(search_type).post(create))
        .route("/fhir/r4/{resource_type}/{id}", get(read_one))
}

/// An error answered as an `OperationOutcome`.
pub struct FhirError(pub Outcome);

impl From<Outcome> for FhirError {
    fn from(o: Outcome) -> Self {
        FhirError(o)
    }
}

impl From<praxis_services::ServiceError> for FhirError {
    fn from(e: praxis_services::ServiceError) -> Self {
        if let praxis_services::ServiceError::Internal(detail) = &e {
            tracing::error!(error = %detail, "FHIR request failed");
        }
        FhirError(Outcome::from(e))
    }
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = fhir_json(status, &self.0.to_json());
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

type FhirResult = Result<Response, FhirError>;

/// A FHIR JSON answer.
pub fn fhir_json(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))], bytes).into_response()
}

/// The logged-in caller (bearer token or session cookie); 401 OperationOutcome otherwise.
pub struct FhirActor(pub Actor);

impl FromRequestParts<AppState> for FhirActor {
    type Rejection = FhirError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        crate::extract::caller(parts, state).await.map(FhirActor).map_err(FhirError::from)
    }
}

/// The server's FHIR base URL, for `fullUrl`s and links.
fn base(st: &AppState) -> String {
    format!("{}{PREFIX}", st.svc.settings().public_base_url.trim_end_matches('/'))
}

fn resource_type(name: &str) -> Result<ResourceType, FhirError> {
    ResourceType::parse(name).ok_or_else(|| {
        let known: Vec<&str> = ResourceType::ALL.iter().map(|t| t.as_str()).collect();
        FhirError(Outcome::new(
            404,
            "not-supported",
            format!("{name:?} is not a resource type served here; use {}.", known.join(", ")),
        ))
    })
}

/// The CapabilityStatement (public, as FHIR clients read it before logging in).
async fn metadata(State(st): State<AppState>) -> Response {
    fhir_json(StatusCode::OK, &praxis_fhir::capability::capability_statement(&base(&st), st.svc.now()))
}

async fn search_type(
    State(st): State<AppState>,
    FhirActor(a): FhirActor,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> FhirResult {
    let Path(name) = path.map_err(|_| Outcome::invalid("type", "The address is not valid."))?;
    let t = resource_type(&name)?;
    let params = praxis_fhir::search::Params::parse(t, query.as_deref().unwrap_or(""))?;
    let bundle = search::run(&st, &a, &params, &base(&st)).await?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))], bundle).into_response())
}

async fn read_one(
    State(st): State<AppState>,
    FhirActor(a): FhirActor,
    path: Result<Path<(String, String)>, PathRejection>,
) -> FhirResult {
    let Path((name, id)) = path.map_err(|_| Outcome::invalid("id", "The address is not valid."))?;
    let t = resource_type(&name)?;
    let resource = read::run(&st, &a, t, &id).await?;
    Ok(fhir_json(StatusCode::OK, &resource))
}

/// Books a slot: `POST /fhir/r4/Appointment` with `slot` naming a free Slot. 201 with the
/// appointment (200 when an `Idempotency-Key` repeats an earlier booking); a slot taken
/// meanwhile is a 409.
async fn create(
    State(st): State<AppState>,
    FhirActor(a): FhirActor,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> FhirResult {
    let Path(name) = path.map_err(|_| Outcome::invalid("type", "The address is not valid."))?;
    if !resource_type(&name)?.creatable() {
        return Err(Outcome::new(
            405,
            "not-supported",
            format!("{name} is read-only here; only Appointment can be created."),
        )
        .into());
    }
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(FHIR_JSON) || v.starts_with("application/json"));
    if !json_body {
        return Err(Outcome::for_status(415).into());
    }
    let body = body.map_err(|e| Outcome::for_status(e.status().as_u16()))?;
    let resource: Value = serde_json::from_slice(&body)
        .map_err(|e| Outcome::invalid("Appointment", format!("The body is not valid JSON: {e}")))?;
    let ask = praxis_fhir::resources::booking_ask(&resource)?;
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| Outcome::invalid("Idempotency-Key", "The Idempotency-Key header must be plain text."))?,
        ),
        None => None,
    };
    let booked = st.svc.fhir_book(&a, &ask.slot, ask.patient, ask.note, key).await?;
    let appt = booked.appointment;
    let status = if booked.replayed { StatusCode::OK } else { StatusCode::CREATED };
    let mut res = fhir_json(status, &praxis_fhir::resources::appointment(&appt));
    let location = format!("{}/Appointment/{}/_history/{}", base(&st), appt.id, appt.version);
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("W/\"{}\"", appt.version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(res)
}
