//! `/api/v1/api-keys` and `/api/v1/webhooks`: API keys for integrations and signed
//! outgoing webhooks (administrators only; an API key can never manage either).

use super::scheduling::PageOf;
use crate::extract::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use praxis_services::integrations::{
    ApiKey, ApiKeyInput, CreatedApiKey, CreatedEndpoint, EndpointInput, WebhookDelivery, WebhookEndpoint,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

const PJ: &str = "application/problem+json";

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, remove_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(resend_delivery))
}

/// Every API key, newest first (revoked ones too), with its last use. The key itself is
/// never shown again after it was created.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "integrations", security(("bearer" = [])),
    responses((status = 200, body = Vec<ApiKey>), (status = 403, body = Problem, content_type = PJ)))]
async fn list_keys(State(st): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<ApiKey>>> {
    Ok(Json(st.svc.list_api_keys(&a).await?))
}

/// Create an API key for an integration: a role (`admin` or `staff`), `read` or
/// `read_write`, and the areas it may use. The answer's `token` is the key — shown this
/// once; send it as `Authorization: Bearer pxk_…`. Requests made with it are audited
/// under the key's name.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "integrations", security(("bearer" = [])), request_body = ApiKeyInput,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = Problem, content_type = PJ)))]
async fn create_key(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(input): ApiJson<ApiKeyInput>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    Ok((StatusCode::CREATED, Json(st.svc.create_api_key(&a, &input).await?)))
}

/// Revoke an API key: every later request with it is refused (401) and audited.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ApiKey), (status = 403, body = Problem, content_type = PJ)))]
async fn revoke_key(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ApiKey>> {
    Ok(Json(st.svc.revoke_api_key(&a, id).await?))
}

/// Every registered webhook endpoint.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "integrations", security(("bearer" = [])),
    responses((status = 200, body = Vec<WebhookEndpoint>), (status = 403, body = Problem, content_type = PJ)))]
async fn list_webhooks(State(st): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<WebhookEndpoint>>> {
    Ok(Json(st.svc.list_webhooks(&a).await?))
}

/// Register a webhook endpoint for some events. The answer's `secret` signs every
/// delivery and is shown this once. Each delivery is a POST of the event as JSON with
/// `Praxis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the
/// secret>`, plus `Praxis-Event`, `Praxis-Event-Id` and `Praxis-Delivery`. A 2xx answer
/// within 10 s counts as delivered; anything else is retried with back-off.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "integrations", security(("bearer" = [])), request_body = EndpointInput,
    responses((status = 201, body = CreatedEndpoint), (status = 403, body = Problem, content_type = PJ)))]
async fn create_webhook(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(input): ApiJson<EndpointInput>,
) -> ApiResult<(StatusCode, Json<CreatedEndpoint>)> {
    Ok((StatusCode::CREATED, Json(st.svc.create_webhook(&a, &input).await?)))
}

/// One webhook endpoint.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookEndpoint), (status = 403, body = Problem, content_type = PJ)))]
async fn get_webhook(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<WebhookEndpoint>> {
    Ok(Json(st.svc.get_webhook(&a, id).await?))
}

/// Change a webhook endpoint's address, description, events, or pause it
/// (`active: false`: nothing is sent while paused).
#[utoipa::path(put, path = "/api/v1/webhooks/{id}", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = EndpointInput,
    responses((status = 200, body = WebhookEndpoint), (status = 403, body = Problem, content_type = PJ)))]
async fn update_webhook(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<EndpointInput>,
) -> ApiResult<Json<WebhookEndpoint>> {
    Ok(Json(st.svc.update_webhook(&a, id, &input).await?))
}

/// Remove a webhook endpoint. Nothing more is sent to it; its delivery log is kept.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "Removed"), (status = 403, body = Problem, content_type = PJ)))]
async fn remove_webhook(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    st.svc.remove_webhook(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Paging for the delivery log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Page number (from 1).
    pub page: Option<i64>,
    /// Items per page (1–200, default 50).
    pub per_page: Option<i64>,
}

/// An endpoint's delivery log, newest first: each delivery's status (`pending`,
/// `retrying`, `delivered`, `dead`), attempts, last answer and error, and the body sent.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path), DeliveryQuery),
    responses((status = 200, body = PageOf<WebhookDelivery>), (status = 403, body = Problem, content_type = PJ)))]
async fn list_deliveries(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<PageOf<WebhookDelivery>>> {
    let page = st.svc.list_webhook_deliveries(&a, id, q.page.unwrap_or(1), q.per_page.unwrap_or(50)).await?;
    Ok(Json(page.into()))
}

/// Send a delivery again: a new delivery of the same event (same `Praxis-Event-Id` and
/// body, so a receiver can tell it already has it).
#[utoipa::path(post, path = "/api/v1/webhook-deliveries/{id}/resend", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 202, body = WebhookDelivery), (status = 403, body = Problem, content_type = PJ),
              (status = 409, body = Problem, content_type = PJ, description = "endpoint_removed: the endpoint was removed")))]
async fn resend_delivery(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<WebhookDelivery>)> {
    Ok((StatusCode::ACCEPTED, Json(st.svc.resend_webhook_delivery(&a, id).await?)))
}
