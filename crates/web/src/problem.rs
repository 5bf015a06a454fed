//! RFC 9457 problem details: every API error is `application/problem+json` with a stable
//! `type`, a `title`, a human `detail` and, for validation, per-field `errors`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use praxis_domain::FieldError;
use praxis_services::ServiceError;
use serde::Serialize;

/// A problem answer.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A stable URI naming the kind of problem (`urn:praxis:problem:validation`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened in this case and what to do.
    pub detail: String,
    /// Per-field problems (validation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The request id, to quote when asking for help.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Seconds to wait before retrying (429).
    #[serde(skip)]
    pub retry_after: Option<u64>,
    /// Extension members specific to the problem type (e.g. `occurrences` for a series
    /// that could not be booked).
    #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    /// A problem with a code (becomes `urn:praxis:problem:<code>`), status and detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:praxis:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            request_id: None,
            retry_after: None,
            extensions: serde_json::Map::new(),
        }
    }

    /// The generic problem for a bare status code (used when a lower layer answered
    /// without a body: 405, 413, timeouts).
    pub fn for_status(status: StatusCode) -> Self {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => ("not_found", "There is nothing at this address."),
            StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "This address does not accept that method."),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large."),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported_media_type", "Send the body as JSON with Content-Type: application/json.")
            }
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
                ("unavailable", "The server could not answer in time. Please try again.")
            }
            StatusCode::UNAUTHORIZED => ("unauthenticated", "Log in, or send a valid bearer token."),
            StatusCode::FORBIDDEN => ("forbidden", "You do not have permission to do that."),
            s if s.is_server_error() => ("internal", "Something went wrong on our side. Please try again."),
            _ => ("bad_request", "The request could not be understood."),
        };
        Problem::new(status, code, detail)
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        let detail = e.to_string();
        match e {
            ServiceError::Validation(errors) => Problem {
                errors,
                ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "Some fields need attention.")
            },
            ServiceError::InvalidCredentials => Problem::new(StatusCode::UNAUTHORIZED, "invalid_credentials", detail),
            ServiceError::Unauthenticated => Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail),
            ServiceError::Forbidden => Problem::new(StatusCode::FORBIDDEN, "forbidden", detail),
            ServiceError::NotFound { .. } => Problem::new(StatusCode::NOT_FOUND, "not_found", detail),
            ServiceError::Conflict { code, fields, .. } => {
                Problem { errors: fields, ..Problem::new(StatusCode::CONFLICT, code, detail) }
            }
            ServiceError::TooLarge(message) => Problem {
                errors: vec![FieldError { field: "file".into(), code: "too_large".into(), message }],
                ..Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", detail)
            },
            ServiceError::RateLimited { retry_after_secs } => Problem {
                retry_after: Some(retry_after_secs),
                ..Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail)
            },
            ServiceError::Damaged { .. } => Problem::new(StatusCode::CONFLICT, "record_damaged", detail),
            ServiceError::Unavailable(_) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "A dependency is not available.")
            }
            ServiceError::Internal(_) => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry = self.retry_after;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// API handlers return this: a service error becomes a problem.
pub type ApiResult<T> = Result<T, Problem>;
