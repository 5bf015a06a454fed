//! `/api/v1/auth` and `/api/v1/me`.

use crate::extract::{ApiActor, ApiJson, Ctx};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use praxis_services::auth::SessionKind;
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
/// repeated failures for one account or from one address, 429 with `Retry-After`.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 401, description = "Wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(st): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Json<LoginResponse>> {
    let s = st.svc.login(&ctx, &body.email, &body.password, SessionKind::Api).await?;
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
