//! The login page and logging out.

use super::{FormErrors, Layout, PageResult};
use crate::csrf::{CsrfToken, SESSION_COOKIE};
use crate::extract::{Ctx, PageActor, session_token};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use praxis_services::ServiceError;
use praxis_services::auth::{LoginOutcome, SessionKind};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/login", get(login_page).post(login)).route("/logout", post(logout))
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    msg: Option<String>,
}

/// Only local paths are followed after login (no open redirects).
pub(super) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.starts_with("/login") => {
            n.to_string()
        }
        _ => "/".into(),
    }
}

async fn login_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Query(q): Query<LoginQuery>,
    parts: Parts,
) -> PageResult {
    let next = safe_next(q.next.as_deref());
    if let Some(token) = session_token(&parts)
        && st.svc.authenticate(&token, ctx).await.is_ok()
    {
        return Ok(Redirect::to(&next).into_response());
    }
    let mut layout = Layout::public(Some(&csrf), "Log in to Praxis");
    layout = match q.msg.as_deref() {
        Some("logged_out") => layout.notice("ok", "You have logged out."),
        Some("password_changed") => layout.notice("ok", "Password changed. Please log in again."),
        Some("login_expired") => {
            layout.notice("error", "That login took too long or was already finished. Please log in again.")
        }
        _ => layout,
    };
    Ok(LoginPage { layout, email: String::new(), next, error: None, errors: FormErrors::default() }.into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> PageResult {
    let next = safe_next(f.next.as_deref());
    match st.svc.login(&ctx, &f.email, &f.password, SessionKind::Browser).await {
        Ok(outcome) => Ok(after_password(&st, jar, outcome, &next)),
        Err(e) => {
            let (status, error, errors) = match e {
                ServiceError::Validation(v) => (StatusCode::UNPROCESSABLE_ENTITY, None, FormErrors(v)),
                ServiceError::InvalidCredentials => (
                    StatusCode::UNAUTHORIZED,
                    Some("The email or password is not correct.".to_string()),
                    FormErrors::default(),
                ),
                ServiceError::RateLimited { retry_after_secs } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(format!(
                        "Too many attempts. For your safety, try again in {} minute(s).",
                        retry_after_secs.div_ceil(60)
                    )),
                    FormErrors::default(),
                ),
                other => return Err(other.into()),
            };
            let page = LoginPage {
                layout: Layout::public(Some(&csrf), "Log in to Praxis"),
                email: f.email.chars().take(254).collect(),
                next,
                error,
                errors,
            };
            Ok((status, page).into_response())
        }
    }
}

/// The cookie that carries a session.
pub(super) fn session_cookie(st: &AppState, token: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(st.config.secure_cookies)
        .build()
}

/// The cookie that carries a login waiting for its second factor: only sent to the
/// login pages; what it holds stops working after ten minutes.
pub(super) const PENDING_COOKIE: &str = "praxis_login";

/// Where a correct password leads: logged in (to `next`), or on to the second factor —
/// the code page, or the set-up page when the account's role requires one it lacks.
pub(super) fn after_password(st: &AppState, jar: CookieJar, outcome: LoginOutcome, next: &str) -> Response {
    match outcome {
        LoginOutcome::Session(s) => (jar.add(session_cookie(st, s.token)), Redirect::to(next)).into_response(),
        LoginOutcome::SecondFactor(p) => {
            let cookie = Cookie::build((PENDING_COOKIE, p.token))
                .path("/login")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(st.config.secure_cookies)
                .build();
            let page = if p.enrol { "/login/setup" } else { "/login/code" };
            let to = format!("{page}?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
            (jar.add(cookie), Redirect::to(&to)).into_response()
        }
    }
}

async fn logout(State(st): State<AppState>, actor: Option<PageActorOpt>, jar: CookieJar) -> PageResult {
    if let Some(PageActorOpt(a)) = actor {
        st.svc.logout(&a).await?;
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/login?msg=logged_out")).into_response())
}

/// The page actor when there is one (logging out twice is fine).
struct PageActorOpt(praxis_services::Actor);

impl axum::extract::OptionalFromRequestParts<AppState> for PageActorOpt {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        use axum::extract::FromRequestParts;
        Ok(PageActor::from_request_parts(parts, state).await.ok().map(|PageActor(a)| PageActorOpt(a)))
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/admin/users?q=a")), "/admin/users?q=a");
        for bad in ["https://evil.example", "//evil.example", "/\\evil", "javascript:alert(1)", "/login?next=/x"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
