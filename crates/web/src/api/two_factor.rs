//! Two-factor login over the API: your own authenticator app (`/api/v1/me/two-factor`),
//! and for administrators the per-role requirement and resetting someone's.

use crate::extract::{ApiActor, ApiJson, ApiPath};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use praxis_domain::two_factor::SecondFactorPolicy;
use praxis_domain::{Role, Roles, UserId};
use praxis_services::two_factor::{Enrolment, RecoveryCodes, SecondFactorStatus};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_two_factor, start_two_factor))
        .routes(routes!(confirm_two_factor))
        .routes(routes!(renew_recovery_codes))
        .routes(routes!(turn_off_two_factor))
        .routes(routes!(user_two_factor, reset_two_factor))
        .routes(routes!(two_factor_policy, set_two_factor_policy))
}

/// Your second factor: whether it is on, recovery codes left, whether your role requires it.
#[utoipa::path(get, path = "/api/v1/me/two-factor", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = SecondFactorStatus), (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn my_two_factor(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult<Json<SecondFactorStatus>> {
    Ok(Json(st.svc.my_second_factor(&actor).await?))
}

/// Start setting up an authenticator app: returns the key and the `otpauth://` address
/// (for a QR code). The same key is returned until a code confirms it.
#[utoipa::path(post, path = "/api/v1/me/two-factor", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Enrolment), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Already set up", body = Problem, content_type = "application/problem+json")))]
async fn start_two_factor(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult<Json<Enrolment>> {
    Ok(Json(st.svc.start_my_second_factor(&actor).await?))
}

/// A code from the authenticator app (six digits), or a recovery code where allowed.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CodeBody {
    /// The code.
    #[serde(default)]
    pub code: String,
}

/// Confirm the set-up with the app's current code. From then on, login asks for a code.
/// Returns ten recovery codes, shown once.
#[utoipa::path(post, path = "/api/v1/me/two-factor/confirm", tag = "auth", security(("bearer" = [])), request_body = CodeBody,
    responses((status = 200, body = RecoveryCodes), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "No set-up started", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "Wrong or reused code", body = Problem, content_type = "application/problem+json"),
              (status = 429, description = "Too many wrong codes", body = Problem, content_type = "application/problem+json")))]
async fn confirm_two_factor(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<CodeBody>,
) -> ApiResult<Json<RecoveryCodes>> {
    Ok(Json(st.svc.confirm_my_second_factor(&actor, &b.code).await?))
}

/// Replace your recovery codes (the old ones stop working); needs a current code.
#[utoipa::path(post, path = "/api/v1/me/two-factor/recovery-codes", tag = "auth", security(("bearer" = [])), request_body = CodeBody,
    responses((status = 200, body = RecoveryCodes), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "Wrong or reused code", body = Problem, content_type = "application/problem+json"),
              (status = 429, description = "Too many wrong codes", body = Problem, content_type = "application/problem+json")))]
async fn renew_recovery_codes(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<CodeBody>,
) -> ApiResult<Json<RecoveryCodes>> {
    Ok(Json(st.svc.renew_my_recovery_codes(&actor, &b.code).await?))
}

/// Your password, to confirm turning two-factor login off.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordBody {
    /// Your current password.
    #[serde(default)]
    pub password: String,
}

/// Turn two-factor login off for your account (not while your role requires it).
#[utoipa::path(post, path = "/api/v1/me/two-factor/disable", tag = "auth", security(("bearer" = [])), request_body = PasswordBody,
    responses((status = 204, description = "Turned off"), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Your role requires it", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "Wrong password", body = Problem, content_type = "application/problem+json")))]
async fn turn_off_two_factor(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    st.svc.turn_off_my_second_factor(&actor, &b.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether an account uses two-factor login (administrators).
#[utoipa::path(get, path = "/api/v1/users/{id}/two-factor", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = SecondFactorStatus), (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn user_two_factor(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<SecondFactorStatus>> {
    Ok(Json(st.svc.second_factor_of(&actor, id).await?))
}

/// Reset an account's two-factor login (a lost phone): its app and recovery codes stop
/// working and its sessions end; if its role requires two-factor login, it is set up
/// again at the next login. Audited.
#[utoipa::path(delete, path = "/api/v1/users/{id}/two-factor", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 204, description = "Reset"), (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn reset_two_factor(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    st.svc.reset_second_factor(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which roles must log in with a second factor.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SecondFactorPolicyBody {
    /// The roles; a user holding any of them must use two-factor login. Empty: nobody must.
    pub required_roles: Vec<Role>,
}

impl From<SecondFactorPolicy> for SecondFactorPolicyBody {
    fn from(p: SecondFactorPolicy) -> Self {
        Self { required_roles: p.required.iter().collect() }
    }
}

/// Which roles must log in with a second factor (administrators).
#[utoipa::path(get, path = "/api/v1/two-factor-policy", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = SecondFactorPolicyBody), (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn two_factor_policy(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<SecondFactorPolicyBody>> {
    Ok(Json(st.svc.second_factor_policy(&actor).await?.into()))
}

/// Set which roles must log in with a second factor. Their users without one set it up
/// at their next login. Audited.
#[utoipa::path(put, path = "/api/v1/two-factor-policy", tag = "users", security(("bearer" = [])), request_body = SecondFactorPolicyBody,
    responses((status = 200, body = SecondFactorPolicyBody), (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn set_two_factor_policy(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<SecondFactorPolicyBody>,
) -> ApiResult<Json<SecondFactorPolicyBody>> {
    Ok(Json(st.svc.set_second_factor_policy(&actor, Roles::of(&b.required_roles)).await?.into()))
}
