//! Errors a use case can end with. Each maps to one HTTP status and one stable problem
//! type in the web layer; the message is written for the person who will read it.

use praxis_domain::FieldError;
use praxis_store::StoreError;
use thiserror::Error;

/// Why a use case did not complete. Nothing was written when one of these is returned.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// Some inputs are missing or invalid (422), each with its field and reason.
    #[error("Some fields need attention.")]
    Validation(Vec<FieldError>),
    /// Email or password wrong, or the account is inactive (401; deliberately vague).
    #[error("The email or password is not correct.")]
    InvalidCredentials,
    /// No valid session (401).
    #[error("Please log in to continue.")]
    Unauthenticated,
    /// Logged in but not allowed (403).
    #[error("You do not have permission to do that.")]
    Forbidden,
    /// The record does not exist, or the actor may not know it exists (404).
    #[error("{what} was not found.")]
    NotFound {
        /// What was looked for ("User", "Appointment").
        what: &'static str,
    },
    /// The request conflicts with the current state (409).
    #[error("{message}")]
    Conflict {
        /// A stable code (`email_taken`, `slot_taken`, `illegal_transition`…).
        code: &'static str,
        /// What happened and what to do.
        message: String,
        /// Field-level detail, when one field is the cause.
        fields: Vec<FieldError>,
    },
    /// What was sent is larger than allowed (413); the message says the limit.
    #[error("{0}")]
    TooLarge(String),
    /// Too many attempts (429); try again after this many seconds.
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    RateLimited {
        /// Seconds until the lock lifts.
        retry_after_secs: u64,
    },
    /// Sealed content of a record does not open — tampered, moved, or its key missing
    /// (409). Nothing of it is shown; the administrators are alerted.
    #[error(
        "{what} could not be shown: its protected content failed its integrity check. The administrators have \
         been alerted and can restore it from a backup."
    )]
    Damaged {
        /// What could not be shown ("The note", "The insurance number").
        what: &'static str,
    },
    /// A dependency is down (503).
    #[error("Service unavailable: {0}")]
    Unavailable(String),
    /// A bug or an infrastructure failure (500). Logged with detail; shown vaguely.
    #[error("Something went wrong on our side. Please try again.")]
    Internal(String),
}

/// Result alias for services.
pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// For a refusal of what was asked (bad input or a conflict), why in audit-log words:
    /// the fields and their error codes, or the conflict's code — never the values typed.
    /// `None` for other errors.
    pub fn refusal_reason(&self) -> Option<String> {
        match self {
            ServiceError::Validation(v) => {
                Some(v.iter().map(|f| format!("{} {}", f.field, f.code)).collect::<Vec<_>>().join(", "))
            }
            ServiceError::Conflict { code, .. } => Some((*code).to_string()),
            _ => None,
        }
    }

    /// A 409 with a code and message.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Conflict { code, message: message.into(), fields: Vec::new() }
    }

    /// A 422 for one field.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        ServiceError::Validation(vec![FieldError { field: field.into(), code: code.into(), message: message.into() }])
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        ServiceError::Internal(e.to_string())
    }
}

impl From<Vec<FieldError>> for ServiceError {
    fn from(v: Vec<FieldError>) -> Self {
        ServiceError::Validation(v)
    }
}
