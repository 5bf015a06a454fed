//! `/r/{token}`: the page a reminder's link opens — confirm or cancel that one
//! appointment without logging in. Nothing else of the patient's record is shown or
//! reachable; a link that is altered, expired or already used says so plainly.

use super::{Layout, PageResult, fmt_time};
use crate::csrf::CsrfToken;
use crate::extract::Ctx;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use praxis_services::ServiceError;
use praxis_services::notifications::replies::{ReplyAction, ReplyState, ReplyView};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/r/{token}", get(show))
        .route("/r/{token}/confirm", post(confirm))
        .route("/r/{token}/cancel", post(cancel))
}

#[derive(Template, WebTemplate)]
#[template(path = "reply.html")]
struct ReplyPage {
    layout: Layout,
    token: String,
    view: Option<ReplyView>,
    when: String,
    answered_at: String,
    /// `open`, `confirmed`, `answered_cancelled`, `cancelled`, `expired` or `closed`.
    state: &'static str,
}

fn page(csrf: &CsrfToken, token: &str, view: Option<ReplyView>) -> ReplyPage {
    let when = view.as_ref().map(|v| fmt_time(v.start, &v.zone)).unwrap_or_default();
    let answered_at = match view.as_ref().map(|v| (&v.state, &v.zone)) {
        Some((ReplyState::Answered { at, .. }, zone)) => fmt_time(*at, zone),
        _ => String::new(),
    };
    let state = match view.as_ref().map(|v| &v.state) {
        Some(ReplyState::Open) => "open",
        Some(ReplyState::Answered { reply, .. }) if reply == "confirmed" => "confirmed",
        Some(ReplyState::Answered { .. }) => "answered_cancelled",
        Some(ReplyState::Cancelled) => "cancelled",
        Some(ReplyState::Expired) => "expired",
        Some(ReplyState::Closed) | None => "closed",
    };
    let title = if view.is_some() { "Your appointment" } else { "Link not valid" };
    ReplyPage { layout: Layout::public(Some(csrf), title), token: token.to_string(), view, when, answered_at, state }
}

async fn show(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
) -> PageResult {
    match st.svc.reply_link_view(&token).await {
        Ok(v) => Ok(page(&csrf, &token, Some(v)).into_response()),
        Err(ServiceError::NotFound { .. }) => Ok((StatusCode::NOT_FOUND, page(&csrf, &token, None)).into_response()),
        Err(e) => Err(e.into()),
    }
}

async fn answer(
    st: AppState,
    csrf: CsrfToken,
    ctx: praxis_services::RequestContext,
    token: String,
    action: ReplyAction,
) -> PageResult {
    match st.svc.answer_reply_link(&ctx, &token, action).await {
        Ok(v) => {
            let notice = match action {
                ReplyAction::Confirm => "Thank you — your appointment is confirmed.",
                ReplyAction::Cancel => "Your appointment is cancelled. The clinic has been told.",
            };
            let mut p = page(&csrf, &token, Some(v));
            p.layout = p.layout.notice("ok", notice);
            Ok(p.into_response())
        }
        Err(ServiceError::Conflict { message, .. }) => {
            let view = st.svc.reply_link_view(&token).await.ok();
            let mut p = page(&csrf, &token, view);
            p.layout = p.layout.notice("error", message);
            Ok((StatusCode::CONFLICT, p).into_response())
        }
        Err(ServiceError::NotFound { .. }) => Ok((StatusCode::NOT_FOUND, page(&csrf, &token, None)).into_response()),
        Err(e) => Err(e.into()),
    }
}

async fn confirm(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(token): Path<String>,
) -> PageResult {
    answer(st, csrf, ctx, token, ReplyAction::Confirm).await
}

async fn cancel(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(token): Path<String>,
) -> PageResult {
    answer(st, csrf, ctx, token, ReplyAction::Cancel).await
}
