//! `/api/v1/auth` and `/api/v1/me`.

use crate::extract::{ApiActor, ApiJson, Ctx};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use praxis_services::auth::{LoginOutcome, SessionKind};
use praxis_services::users::User;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

/// Credentials.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    /// Account email.
    #[serde(default)]
    pub email: String,
    /// Password.
    #[serde(default)]
    pub password: String,
    /// For an account with two-factor login: the 6-digit code from the authenticator
    /// app, or one of its recovery codes. Without it such an account answers 401
    /// `second_factor_required`.
    #[serde(default)]
    pub code: Option<String>,
}

/// A new session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`. Shown once; Praxis keeps only its hash.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// When the token expires unless used (each use extends it, up to 14 days).
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// The account.
    pub user: User,
}

/// Log in and receive a bearer token.
///
/// Wrong email, wrong password and a deactivated account all answer 401 alike. After
/// repeated failures for one account or from one address, 429 with `Retry-After`. An
/// account with two-factor login also needs `code` (401 `second_factor_required`
/// without it, 422 when it is wrong or already used); an account whose role requires
/// two-factor login but has none set up answers 403 `second_factor_setup_required`
/// until it is set up by logging in on the web once.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 401, description = "Wrong credentials, or a second factor is needed", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Two-factor login must be set up first (on the web)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing fields, or a wrong or reused code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(st): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Json<LoginResponse>> {
    let s = match st.svc.login(&ctx, &body.email, &body.password, SessionKind::Api).await? {
        LoginOutcome::Session(s) => s,
        LoginOutcome::SecondFactor(pending) if pending.enrol => {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "second_factor_setup_required",
                "Your role requires two-factor login, and it is not set up for this account yet. Log in once on \
                 the web to set it up, then log in here with `code`.",
            ));
        }
        LoginOutcome::SecondFactor(pending) => match body.code.as_deref().filter(|c| !c.trim().is_empty()) {
            Some(code) => st.svc.complete_login(&ctx, &pending.token, code).await?,
            None => {
                return Err(Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "second_factor_required",
                    "This account uses two-factor login: send the 6-digit code from the authenticator app (or a \
                     recovery code) as `code` with the email and password.",
                ));
            }
        },
    };
    Ok(Json(LoginResponse { token: s.token, token_type: "Bearer", expires_at: s.expires_at, user: s.user }))
}

/// End the current session (the token stops working at once).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Logged out"), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn logout(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult<StatusCode> {
    st.svc.logout(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The current account.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn me(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult<Json<User>> {
    Ok(Json(st.svc.me(&actor).await?))
}

/// A password change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    /// The password in use now.
    #[serde(default)]
    pub current_password: String,
    /// The new password (10–128 characters).
    #[serde(default)]
    pub new_password: String,
    /// The new password again.
    #[serde(default)]
    pub confirm_password: String,
}

/// Change your own password. Every other session of the account ends.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", security(("bearer" = [])), request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong current password or weak new one", body = Problem, content_type = "application/problem+json"),
    ))]
async fn change_password(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    st.svc.change_password(&actor, &b.current_password, &b.new_password, &b.confirm_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
