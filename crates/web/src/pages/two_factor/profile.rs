//! A person's own two-factor login, from the profile page: set it up, make new
//! recovery codes, turn it off.

use super::{CodesPage, SetupPage, code_refusal};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::{FormErrors, Layout, PageResult, profile};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/profile/two-factor", get(setup_page).post(confirm))
        .route("/profile/two-factor/recovery-codes", post(renew_codes))
        .route("/profile/two-factor/disable", post(turn_off))
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn setup(st: &AppState, actor: &Actor, csrf: &CsrfToken, errors: FormErrors) -> Result<SetupPage, ServiceError> {
    let enrolment = st.svc.start_my_second_factor(actor).await?;
    Ok(SetupPage {
        layout: Layout::new(actor, csrf, "Set up two-factor login", "/profile"),
        intro: None,
        enrolment,
        action: "/profile/two-factor",
        next: String::new(),
        cancel_href: "/profile",
        errors,
    })
}

async fn setup_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
) -> PageResult {
    match setup(&st, &actor, &csrf, FormErrors::default()).await {
        Ok(page) => Ok(page.into_response()),
        Err(ServiceError::Conflict { code: "second_factor_on", .. }) => Ok(Redirect::to("/profile").into_response()),
        Err(e) => Err(e.into()),
    }
}

async fn confirm(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(f): Form<CodeForm>,
) -> PageResult {
    match st.svc.confirm_my_second_factor(&actor, &f.code).await {
        Ok(codes) => Ok(codes_page(&actor, &csrf, codes.codes, "Two-factor login is on").into_response()),
        Err(e) => {
            let (status, errors, error) = code_refusal(e)?;
            let mut page = setup(&st, &actor, &csrf, errors).await?;
            if let Some(msg) = error {
                page.layout = page.layout.notice("error", msg);
            }
            Ok((status, page).into_response())
        }
    }
}

fn codes_page(actor: &Actor, csrf: &CsrfToken, codes: Vec<String>, title: &str) -> CodesPage {
    CodesPage {
        layout: Layout::new(actor, csrf, title, "/profile"),
        codes,
        continue_href: "/profile?msg=two_factor_saved".into(),
    }
}

async fn renew_codes(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(f): Form<CodeForm>,
) -> PageResult {
    match st.svc.renew_my_recovery_codes(&actor, &f.code).await {
        Ok(codes) => Ok(codes_page(&actor, &csrf, codes.codes, "New recovery codes").into_response()),
        Err(e) => {
            let (status, errors, error) = code_refusal(e)?;
            let mut page = profile::render(&st, &actor, &csrf, errors).await?;
            let msg = error.unwrap_or_else(|| "No new recovery codes were made. See below.".into());
            page.layout = page.layout.notice("error", msg);
            Ok((status, page).into_response())
        }
    }
}

async fn turn_off(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(f): Form<PasswordForm>,
) -> PageResult {
    match st.svc.turn_off_my_second_factor(&actor, &f.password).await {
        Ok(()) => Ok(Redirect::to("/profile?msg=two_factor_off").into_response()),
        Err(ServiceError::Validation(v)) => {
            let mut page = profile::render(&st, &actor, &csrf, FormErrors(v)).await?;
            page.layout = page.layout.notice("error", "Two-factor login is still on. See below.");
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(ServiceError::Conflict { message, .. }) => {
            let mut page = profile::render(&st, &actor, &csrf, FormErrors::default()).await?;
            page.layout = page.layout.notice("error", message);
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
