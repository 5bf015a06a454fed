//! `/api/v1/users`: account administration.

use crate::extract::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use praxis_domain::UserId;
use praxis_services::users::UserFilter;
use praxis_services::users::{CreatedUser, NewUser, Page, PageRequest, User, UserChanges};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(deactivate_user))
        .routes(routes!(activate_user))
        .routes(routes!(reset_password))
}

/// Filters and paging for the user list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Part of a name or email.
    pub q: Option<String>,
    /// Only users holding this role.
    pub role: Option<praxis_domain::Role>,
    /// Only active (true) or inactive (false) users.
    pub active: Option<bool>,
    /// Page number from 1.
    pub page: Option<i64>,
    /// Items per page (1–200, default 50).
    pub per_page: Option<i64>,
}

/// A page of users.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserPage {
    /// Users on this page.
    pub items: Vec<User>,
    /// Total matching.
    pub total: i64,
    /// Page number.
    pub page: i64,
    /// Page size.
    pub per_page: i64,
}

impl From<Page<User>> for UserPage {
    fn from(p: Page<User>) -> Self {
        UserPage { items: p.items, total: p.total, page: p.page, per_page: p.per_page }
    }
}

/// List accounts.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(UserListQuery),
    responses((status = 200, body = UserPage), (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn list_users(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<UserListQuery>,
) -> ApiResult<Json<UserPage>> {
    let filter = UserFilter { text: q.q, role: q.role.map(|r| r.as_str().to_string()), active: q.active };
    let page = st.svc.list_users(&actor, &filter, PageRequest::new(q.page, q.per_page)).await?;
    Ok(Json(page.into()))
}

/// Create an account. Without `password`, a temporary one is generated and returned once.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = NewUser,
    responses((status = 201, body = CreatedUser),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Email taken", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_user(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<CreatedUser>)> {
    Ok((StatusCode::CREATED, Json(st.svc.create_user(&actor, body).await?)))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = User), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_user(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<User>> {
    Ok(Json(st.svc.get_user(&actor, id).await?))
}

/// Change name, phone or roles.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), request_body = UserChanges,
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = User), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Would remove the last administrator", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn update_user(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(body): ApiJson<UserChanges>,
) -> ApiResult<Json<User>> {
    Ok(Json(st.svc.update_user(&actor, id, body).await?))
}

/// Deactivate an account: it can no longer log in and its sessions end at once.
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = User), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn deactivate_user(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<User>> {
    Ok(Json(st.svc.set_user_active(&actor, id, false).await?))
}

/// Re-activate an account.
#[utoipa::path(post, path = "/api/v1/users/{id}/activate", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = User), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn activate_user(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<User>> {
    Ok(Json(st.svc.set_user_active(&actor, id, true).await?))
}

/// A password reset by an administrator.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PasswordReset {
    /// The new password; omit to have a temporary one generated.
    pub new_password: Option<String>,
}

/// The outcome of a reset.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PasswordResetDone {
    /// The generated temporary password (only when none was given). Shown once.
    pub temporary_password: Option<String>,
}

/// Set a new password for an account; its sessions end.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-password", tag = "users", security(("bearer" = [])),
    request_body = PasswordReset, params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = PasswordResetDone), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn reset_password(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(body): ApiJson<PasswordReset>,
) -> ApiResult<Json<PasswordResetDone>> {
    let temporary_password = st.svc.reset_password(&actor, id, body.new_password.as_deref()).await?;
    Ok(Json(PasswordResetDone { temporary_password }))
}
