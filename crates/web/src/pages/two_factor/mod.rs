//! Two-factor login pages: the code after the password and the set-up a role requires
//! ([`login`]), and a person's own set-up, recovery codes and turning it off
//! ([`profile`]). Administrators reset it and choose the roles that must use it on the
//! user pages (`admin.rs`).

mod login;
mod profile;

use super::{FormErrors, Layout};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use praxis_services::ServiceError;
use praxis_services::two_factor::Enrolment;

pub(super) fn router() -> Router<AppState> {
    Router::new().merge(login::router()).merge(profile::router())
}

/// Scan the QR code (or type the key), then confirm with a first code.
#[derive(Template, WebTemplate)]
#[template(path = "two_factor_setup.html")]
struct SetupPage {
    layout: Layout,
    intro: Option<String>,
    enrolment: Enrolment,
    action: &'static str,
    next: String,
    cancel_href: &'static str,
    errors: FormErrors,
}

/// The recovery codes, shown once.
#[derive(Template, WebTemplate)]
#[template(path = "two_factor_codes.html")]
struct CodesPage {
    layout: Layout,
    codes: Vec<String>,
    continue_href: String,
}

/// The form's message for a refused code (wrong, reused, too many attempts), or the
/// error itself when it is something else.
fn code_refusal(e: ServiceError) -> Result<(axum::http::StatusCode, FormErrors, Option<String>), ServiceError> {
    use axum::http::StatusCode;
    match e {
        ServiceError::Validation(v) => Ok((StatusCode::UNPROCESSABLE_ENTITY, FormErrors(v), None)),
        ServiceError::RateLimited { retry_after_secs } => Ok((
            StatusCode::TOO_MANY_REQUESTS,
            FormErrors::default(),
            Some(format!(
                "Too many wrong codes. For your safety, try again in {} minute(s).",
                retry_after_secs.div_ceil(60)
            )),
        )),
        other => Err(other),
    }
}
