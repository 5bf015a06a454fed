//! The second step of logging in: `/login/code` (the app's code or a recovery code) and
//! `/login/setup` (setting up the app when the account's role requires it). Both hold
//! the pending login in an HttpOnly cookie only the login pages receive.

use super::{CodesPage, SetupPage, code_refusal};
use crate::csrf::CsrfToken;
use crate::extract::Ctx;
use crate::pages::auth::{PENDING_COOKIE, safe_next, session_cookie};
use crate::pages::{FormErrors, Layout, PageResult};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use praxis_services::ServiceError;
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/login/code", get(code_page).post(submit_code))
        .route("/login/setup", get(setup_page).post(confirm_setup))
}

#[derive(Template, WebTemplate)]
#[template(path = "two_factor_code.html")]
struct CodePage {
    layout: Layout,
    next: String,
    error: Option<String>,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// Back to the password: the pending login is missing, expired or used.
fn start_again(jar: CookieJar) -> Response {
    (jar.remove(Cookie::build(PENDING_COOKIE).path("/login")), Redirect::to("/login?msg=login_expired")).into_response()
}

fn pending(jar: &CookieJar) -> Option<String> {
    jar.get(PENDING_COOKIE).map(|c| c.value().to_string())
}

/// Logged in: the pending cookie goes, the session cookie comes.
fn logged_in(st: &AppState, jar: CookieJar, token: String) -> CookieJar {
    jar.remove(Cookie::build(PENDING_COOKIE).path("/login")).add(session_cookie(st, token))
}

async fn code_page(Extension(csrf): Extension<CsrfToken>, jar: CookieJar, Query(q): Query<NextQuery>) -> PageResult {
    if pending(&jar).is_none() {
        return Ok(start_again(jar));
    }
    let page = CodePage {
        layout: Layout::public(Some(&csrf), "Log in to Praxis"),
        next: safe_next(q.next.as_deref()),
        error: None,
        errors: FormErrors::default(),
    };
    Ok(page.into_response())
}

async fn submit_code(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    jar: CookieJar,
    Form(f): Form<CodeForm>,
) -> PageResult {
    let next = safe_next(f.next.as_deref());
    let Some(token) = pending(&jar) else { return Ok(start_again(jar)) };
    match st.svc.complete_login(&ctx, &token, &f.code).await {
        Ok(s) => Ok((logged_in(&st, jar, s.token), Redirect::to(&next)).into_response()),
        Err(ServiceError::Unauthenticated) => Ok(start_again(jar)),
        Err(e) => {
            let (status, errors, error) = code_refusal(e)?;
            let page = CodePage { layout: Layout::public(Some(&csrf), "Log in to Praxis"), next, error, errors };
            Ok((status, page).into_response())
        }
    }
}

const REQUIRED: &str = "Your role requires two-factor login. Set it up now to finish logging in; it takes a minute.";

async fn setup(
    st: &AppState,
    csrf: &CsrfToken,
    token: &str,
    next: String,
    errors: FormErrors,
) -> Result<SetupPage, ServiceError> {
    let enrolment = st.svc.login_enrolment(token).await?;
    Ok(SetupPage {
        layout: Layout::public(Some(csrf), "Set up two-factor login"),
        intro: Some(REQUIRED.into()),
        enrolment,
        action: "/login/setup",
        next,
        cancel_href: "/login",
        errors,
    })
}

async fn setup_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> PageResult {
    let Some(token) = pending(&jar) else { return Ok(start_again(jar)) };
    match setup(&st, &csrf, &token, safe_next(q.next.as_deref()), FormErrors::default()).await {
        Ok(page) => Ok(page.into_response()),
        Err(ServiceError::Unauthenticated) => Ok(start_again(jar)),
        Err(e) => Err(e.into()),
    }
}

async fn confirm_setup(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    jar: CookieJar,
    Form(f): Form<CodeForm>,
) -> PageResult {
    let next = safe_next(f.next.as_deref());
    let Some(token) = pending(&jar) else { return Ok(start_again(jar)) };
    match st.svc.confirm_login_enrolment(&ctx, &token, &f.code).await {
        Ok((s, codes)) => {
            let page = CodesPage {
                layout: Layout::public(Some(&csrf), "Two-factor login is on"),
                codes: codes.codes,
                continue_href: next,
            };
            Ok((logged_in(&st, jar, s.token), page).into_response())
        }
        Err(ServiceError::Unauthenticated) => Ok(start_again(jar)),
        Err(e) => {
            let (status, errors, error) = code_refusal(e)?;
            let mut page = setup(&st, &csrf, &token, next, errors).await?;
            if let Some(msg) = error {
                page.layout = page.layout.notice("error", msg);
            }
            Ok((status, page).into_response())
        }
    }
}
