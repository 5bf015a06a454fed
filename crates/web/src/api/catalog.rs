//! `/api/v1/clinics`, `/specialties`, `/providers`, `/services`: the catalogue, and
//! availability editing.

use crate::extract::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::civil::Date;
use praxis_domain::{AvailabilityWindowId, ClinicId, ClosureId, ExceptionId, ProviderId, ServiceId};
use praxis_services::availability::{
    AvailabilityExceptionView, AvailabilityWindow, Closure, ClosureInput, ExceptionInput, ProviderAvailability,
    WindowInput,
};
use praxis_services::catalog::{Clinic, ClinicInput, Provider, ProviderInput, Service, ServiceInput, Specialty};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clinics, create_clinic))
        .routes(routes!(get_clinic, update_clinic))
        .routes(routes!(list_closures, add_closure))
        .routes(routes!(delete_closure))
        .routes(routes!(list_specialties, create_specialty))
        .routes(routes!(list_providers, create_provider))
        .routes(routes!(get_provider, update_provider))
        .routes(routes!(get_availability))
        .routes(routes!(add_window))
        .routes(routes!(delete_window))
        .routes(routes!(add_exception))
        .routes(routes!(delete_exception))
        .routes(routes!(list_services, create_service))
        .routes(routes!(get_service, update_service))
}

const PJ: &str = "application/problem+json";

/// Every clinic.
#[utoipa::path(get, path = "/api/v1/clinics", tag = "catalog", security(("bearer" = [])),
    responses((status = 200, body = Vec<Clinic>), (status = 401, body = Problem, content_type = PJ)))]
async fn list_clinics(State(st): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<Clinic>>> {
    Ok(Json(st.svc.list_clinics(&a).await?))
}

/// Add a clinic (administrators).
#[utoipa::path(post, path = "/api/v1/clinics", tag = "catalog", security(("bearer" = [])), request_body = ClinicInput,
    responses((status = 201, body = Clinic), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn create_clinic(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<ClinicInput>,
) -> ApiResult<(StatusCode, Json<Clinic>)> {
    Ok((StatusCode::CREATED, Json(st.svc.create_clinic(&a, b).await?)))
}

/// One clinic.
#[utoipa::path(get, path = "/api/v1/clinics/{id}", tag = "catalog", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Clinic), (status = 404, body = Problem, content_type = PJ)))]
async fn get_clinic(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ClinicId>,
) -> ApiResult<Json<Clinic>> {
    Ok(Json(st.svc.get_clinic(&a, id).await?))
}

/// Replace a clinic's details (administrators).
#[utoipa::path(put, path = "/api/v1/clinics/{id}", tag = "catalog", security(("bearer" = [])), params(("id" = String, Path)), request_body = ClinicInput,
    responses((status = 200, body = Clinic), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn update_clinic(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ClinicId>,
    ApiJson(b): ApiJson<ClinicInput>,
) -> ApiResult<Json<Clinic>> {
    Ok(Json(st.svc.update_clinic(&a, id, b).await?))
}

/// Closures from a date on.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct FromQuery {
    /// From this date (default: all).
    #[param(value_type = Option<String>, format = Date)]
    from: Option<Date>,
}

/// A clinic's closures.
#[utoipa::path(get, path = "/api/v1/clinics/{id}/closures", tag = "availability", security(("bearer" = [])), params(("id" = String, Path), FromQuery),
    responses((status = 200, body = Vec<Closure>), (status = 401, body = Problem, content_type = PJ)))]
async fn list_closures(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ClinicId>,
    ApiQuery(q): ApiQuery<FromQuery>,
) -> ApiResult<Json<Vec<Closure>>> {
    Ok(Json(st.svc.list_closures(&a, id, q.from).await?))
}

/// Close a clinic on a date or date range (administrators, staff).
#[utoipa::path(post, path = "/api/v1/clinics/{id}/closures", tag = "availability", security(("bearer" = [])), params(("id" = String, Path)), request_body = ClosureInput,
    responses((status = 201, body = Closure), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn add_closure(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ClinicId>,
    ApiJson(b): ApiJson<ClosureInput>,
) -> ApiResult<(StatusCode, Json<Closure>)> {
    Ok((StatusCode::CREATED, Json(st.svc.add_closure(&a, id, b).await?)))
}

/// Remove a closure.
#[utoipa::path(delete, path = "/api/v1/clinics/{id}/closures/{closure_id}", tag = "availability", security(("bearer" = [])),
    params(("id" = String, Path), ("closure_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn delete_closure(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, closure)): ApiPath<(ClinicId, ClosureId)>,
) -> ApiResult<StatusCode> {
    st.svc.delete_closure(&a, id, closure).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every specialty.
#[utoipa::path(get, path = "/api/v1/specialties", tag = "catalog", security(("bearer" = [])),
    responses((status = 200, body = Vec<Specialty>), (status = 401, body = Problem, content_type = PJ)))]
async fn list_specialties(State(st): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<Specialty>>> {
    Ok(Json(st.svc.list_specialties(&a).await?))
}

/// A specialty to add.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct SpecialtyInput {
    /// Name (unique regardless of case).
    #[serde(default)]
    pub name: String,
}

/// Add a specialty (administrators).
#[utoipa::path(post, path = "/api/v1/specialties", tag = "catalog", security(("bearer" = [])), request_body = SpecialtyInput,
    responses((status = 201, body = Specialty), (status = 403, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn create_specialty(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<SpecialtyInput>,
) -> ApiResult<(StatusCode, Json<Specialty>)> {
    Ok((StatusCode::CREATED, Json(st.svc.create_specialty(&a, &b.name).await?)))
}

/// Every provider with where they work and what they offer.
#[utoipa::path(get, path = "/api/v1/providers", tag = "catalog", security(("bearer" = [])),
    responses((status = 200, body = Vec<Provider>), (status = 401, body = Problem, content_type = PJ)))]
async fn list_providers(State(st): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<Provider>>> {
    Ok(Json(st.svc.list_providers(&a).await?))
}

/// Create the provider profile of an account with the provider role (administrators).
#[utoipa::path(post, path = "/api/v1/providers", tag = "catalog", security(("bearer" = [])), request_body = ProviderInput,
    responses((status = 201, body = Provider), (status = 403, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn create_provider(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<ProviderInput>,
) -> ApiResult<(StatusCode, Json<Provider>)> {
    Ok((StatusCode::CREATED, Json(st.svc.create_provider(&a, b).await?)))
}

/// One provider.
#[utoipa::path(get, path = "/api/v1/providers/{id}", tag = "catalog", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Provider), (status = 404, body = Problem, content_type = PJ)))]
async fn get_provider(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ProviderId>,
) -> ApiResult<Json<Provider>> {
    Ok(Json(st.svc.get_provider(&a, id).await?))
}

/// Replace a provider's profile, clinics, specialties and services (administrators).
#[utoipa::path(put, path = "/api/v1/providers/{id}", tag = "catalog", security(("bearer" = [])), params(("id" = String, Path)), request_body = ProviderInput,
    responses((status = 200, body = Provider), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn update_provider(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ProviderId>,
    ApiJson(b): ApiJson<ProviderInput>,
) -> ApiResult<Json<Provider>> {
    Ok(Json(st.svc.update_provider(&a, id, b).await?))
}

/// A provider's weekly windows and exceptions.
#[utoipa::path(get, path = "/api/v1/providers/{id}/availability", tag = "availability", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ProviderAvailability), (status = 404, body = Problem, content_type = PJ)))]
async fn get_availability(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ProviderId>,
) -> ApiResult<Json<ProviderAvailability>> {
    Ok(Json(st.svc.provider_availability(&a, id).await?))
}

/// Add a weekly window (administrators, staff, the provider). Refused when it overlaps
/// another window or puts the provider at two clinics at once.
#[utoipa::path(post, path = "/api/v1/providers/{id}/availability/windows", tag = "availability", security(("bearer" = [])), params(("id" = String, Path)), request_body = WindowInput,
    responses((status = 201, body = AvailabilityWindow), (status = 403, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn add_window(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ProviderId>,
    ApiJson(b): ApiJson<WindowInput>,
) -> ApiResult<(StatusCode, Json<AvailabilityWindow>)> {
    Ok((StatusCode::CREATED, Json(st.svc.add_window(&a, id, b).await?)))
}

/// Remove a weekly window.
#[utoipa::path(delete, path = "/api/v1/providers/{id}/availability/windows/{window_id}", tag = "availability", security(("bearer" = [])),
    params(("id" = String, Path), ("window_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn delete_window(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, w)): ApiPath<(ProviderId, AvailabilityWindowId)>,
) -> ApiResult<StatusCode> {
    st.svc.delete_window(&a, id, w).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add an exception: closed (leave) or replacement hours on a date or date range.
#[utoipa::path(post, path = "/api/v1/providers/{id}/availability/exceptions", tag = "availability", security(("bearer" = [])), params(("id" = String, Path)), request_body = ExceptionInput,
    responses((status = 201, body = AvailabilityExceptionView), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn add_exception(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ProviderId>,
    ApiJson(b): ApiJson<ExceptionInput>,
) -> ApiResult<(StatusCode, Json<AvailabilityExceptionView>)> {
    Ok((StatusCode::CREATED, Json(st.svc.add_exception(&a, id, b).await?)))
}

/// Remove an exception.
#[utoipa::path(delete, path = "/api/v1/providers/{id}/availability/exceptions/{exception_id}", tag = "availability", security(("bearer" = [])),
    params(("id" = String, Path), ("exception_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn delete_exception(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, e)): ApiPath<(ProviderId, ExceptionId)>,
) -> ApiResult<StatusCode> {
    st.svc.delete_exception(&a, id, e).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every service.
#[utoipa::path(get, path = "/api/v1/services", tag = "catalog", security(("bearer" = [])),
    responses((status = 200, body = Vec<Service>), (status = 401, body = Problem, content_type = PJ)))]
async fn list_services(State(st): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<Service>>> {
    Ok(Json(st.svc.list_services(&a).await?))
}

/// Add a service (administrators).
#[utoipa::path(post, path = "/api/v1/services", tag = "catalog", security(("bearer" = [])), request_body = ServiceInput,
    responses((status = 201, body = Service), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn create_service(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<ServiceInput>,
) -> ApiResult<(StatusCode, Json<Service>)> {
    Ok((StatusCode::CREATED, Json(st.svc.create_service(&a, b).await?)))
}

/// One service.
#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "catalog", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Service), (status = 404, body = Problem, content_type = PJ)))]
async fn get_service(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ServiceId>,
) -> ApiResult<Json<Service>> {
    Ok(Json(st.svc.get_service(&a, id).await?))
}

/// Replace a service's settings (administrators).
#[utoipa::path(put, path = "/api/v1/services/{id}", tag = "catalog", security(("bearer" = [])), params(("id" = String, Path)), request_body = ServiceInput,
    responses((status = 200, body = Service), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn update_service(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ServiceId>,
    ApiJson(b): ApiJson<ServiceInput>,
) -> ApiResult<Json<Service>> {
    Ok(Json(st.svc.update_service(&a, id, b).await?))
}
