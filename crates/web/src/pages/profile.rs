//! The profile page: your account, a password change, and your two-factor login
//! (whose forms are handled in `two_factor/profile.rs`).

use super::{FormErrors, Layout, PageResult, fmt_time};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use praxis_services::two_factor::SecondFactorStatus;
use praxis_services::users::User;
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/profile", get(profile)).route("/profile/password", post(change_password))
}

#[derive(Template, WebTemplate)]
#[template(path = "profile.html")]
pub(in crate::pages) struct ProfilePage {
    pub(in crate::pages) layout: Layout,
    user: User,
    two_factor: SecondFactorStatus,
    two_factor_since: String,
    roles: String,
    last_login: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct ProfileQuery {
    msg: Option<String>,
}

/// The profile page, with `errors` on its forms.
pub(in crate::pages) async fn render(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    errors: FormErrors,
) -> Result<ProfilePage, ServiceError> {
    let user = st.svc.me(actor).await?;
    let zone = &st.svc.settings().display_zone;
    let roles = user.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ");
    let last_login = user.last_login_at.map(|t| fmt_time(t, zone)).unwrap_or_else(|| "never".into());
    let two_factor = st.svc.my_second_factor(actor).await?;
    let two_factor_since = two_factor.since.map(|t| fmt_time(t, zone)).unwrap_or_default();
    Ok(ProfilePage {
        layout: Layout::new(actor, csrf, "Profile", "/profile").zone(zone),
        user,
        two_factor,
        two_factor_since,
        roles,
        last_login,
        errors,
    })
}

async fn profile(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<ProfileQuery>,
) -> PageResult {
    let mut page = render(&st, &actor, &csrf, FormErrors::default()).await?;
    let notice = match q.msg.as_deref() {
        Some("password_changed") => Some("Your password was changed. Other sessions were logged out."),
        Some("two_factor_saved") => Some("Two-factor login is on. Keep your recovery codes safe."),
        Some("two_factor_off") => Some("Two-factor login is off. Logging in now needs only your password."),
        _ => None,
    };
    if let Some(text) = notice {
        page.layout = page.layout.notice("ok", text);
    }
    Ok(page.into_response())
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn change_password(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(f): Form<PasswordForm>,
) -> PageResult {
    match st.svc.change_password(&actor, &f.current_password, &f.new_password, &f.confirm_password).await {
        Ok(()) => Ok(Redirect::to("/profile?msg=password_changed").into_response()),
        Err(ServiceError::Validation(errors)) => {
            let mut page = render(&st, &actor, &csrf, FormErrors(errors)).await?;
            page.layout = page.layout.notice("error", "The password was not changed. See below.");
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
