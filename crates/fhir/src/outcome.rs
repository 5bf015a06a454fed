//! Errors as FHIR `OperationOutcome`: one issue with a severity, an issue-type code from
//! FHIR's value set, what went wrong and what to do, and the HTTP status that carries it.

use praxis_services::ServiceError;
use serde_json::{Value, json};

/// An error answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// HTTP status.
    pub status: u16,
    /// FHIR issue type (`invalid`, `not-found`, `conflict`…).
    pub code: &'static str,
    /// What happened and what to do, for the person reading it.
    pub diagnostics: String,
    /// The parameters or elements at fault.
    pub expression: Vec<String>,
}

impl Outcome {
    /// An outcome with a status, an issue type and a message.
    pub fn new(status: u16, code: &'static str, diagnostics: impl Into<String>) -> Self {
        Outcome { status, code, diagnostics: diagnostics.into(), expression: Vec::new() }
    }

    /// A malformed request (400), naming the parameter or element at fault.
    pub fn invalid(at: &str, diagnostics: impl Into<String>) -> Self {
        Outcome { expression: vec![at.to_string()], ..Outcome::new(400, "invalid", diagnostics) }
    }

    /// A well-formed resource the server cannot act on (422).
    pub fn unprocessable(at: &str, diagnostics: impl Into<String>) -> Self {
        Outcome { expression: vec![at.to_string()], ..Outcome::new(422, "processing", diagnostics) }
    }

    /// No such resource, or one the caller may not know of (404).
    pub fn not_found(resource_type: &str, id: &str) -> Self {
        Outcome::new(404, "not-found", format!("{resource_type}/{id} was not found."))
    }

    /// The outcome for a bare HTTP status (405, 413, timeouts…).
    pub fn for_status(status: u16) -> Self {
        let (code, text) = match status {
            401 => ("login", "Log in with POST /api/v1/auth/login and send the token as Authorization: Bearer."),
            403 => ("forbidden", "You do not have permission to do that."),
            404 => ("not-found", "There is nothing at this address. GET /fhir/r4/metadata lists what is served."),
            405 => ("not-supported", "This address does not accept that method."),
            406 | 415 => ("not-supported", "Send and accept JSON: application/fhir+json."),
            413 => ("too-costly", "The request body is too large."),
            429 => ("throttled", "Too many requests; try again shortly."),
            s if s >= 500 => ("transient", "The server could not answer. Please try again."),
            _ => ("invalid", "The request could not be understood."),
        };
        Outcome::new(status, code, text)
    }

    /// The `OperationOutcome` resource.
    pub fn to_json(&self) -> Value {
        let severity = if self.status >= 500 { "fatal" } else { "error" };
        let mut issue = json!({"severity": severity, "code": self.code, "diagnostics": self.diagnostics});
        if !self.expression.is_empty() {
            issue["expression"] = json!(self.expression);
        }
        json!({"resourceType": "OperationOutcome", "issue": [issue]})
    }
}

impl From<ServiceError> for Outcome {
    fn from(e: ServiceError) -> Self {
        let text = e.to_string();
        match e {
            ServiceError::Validation(errors) => Outcome {
                diagnostics: errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join(" "),
                expression: errors.into_iter().map(|f| f.field).collect(),
                ..Outcome::new(422, "processing", text)
            },
            ServiceError::InvalidCredentials | ServiceError::Unauthenticated => Outcome::new(401, "login", text),
            ServiceError::Forbidden => Outcome::new(403, "forbidden", text),
            ServiceError::NotFound { .. } => Outcome::new(404, "not-found", text),
            ServiceError::Conflict { .. } => Outcome::new(409, "conflict", text),
            ServiceError::TooLarge(_) => Outcome::new(413, "too-costly", text),
            ServiceError::RateLimited { .. } => Outcome::new(429, "throttled", text),
            ServiceError::Damaged { .. } => Outcome::new(409, "exception", text),
            ServiceError::Unavailable(_) => Outcome::new(503, "transient", "A dependency is not available."),
            ServiceError::Internal(_) => Outcome::new(500, "exception", text),
        }
    }
}
