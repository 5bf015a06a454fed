//! `/api/v1/audit`: the audit log.

use crate::extract::{ApiActor, ApiQuery};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use praxis_services::audit::{AuditEvent, AuditFilter};
use praxis_services::users::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// Filters and paging for the audit log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this acting user (id).
    pub actor_id: Option<uuid::Uuid>,
    /// Actions starting with this text, e.g. `user.` or `auth.login_failed`.
    pub action: Option<String>,
    /// Only this kind of record (`user`, `session`…).
    pub entity_type: Option<String>,
    /// Only this record id.
    pub entity_id: Option<String>,
    /// At or after this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<Timestamp>,
    /// Before this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
    /// Page number from 1.
    pub page: Option<i64>,
    /// Items per page (1–200, default 50).
    pub per_page: Option<i64>,
}

/// A page of audit events, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Events on this page.
    pub items: Vec<AuditEvent>,
    /// Total matching.
    pub total: i64,
    /// Page number.
    pub page: i64,
    /// Page size.
    pub per_page: i64,
}

/// Page and filter the audit log (administrators).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn list_audit(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    if let (Some(f), Some(u)) = (q.from, q.until)
        && u < f
    {
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "`until` must be after `from`."));
    }
    let filter = AuditFilter {
        actor_id: q.actor_id,
        action_prefix: q.action.filter(|a| !a.is_empty()),
        entity_type: q.entity_type.filter(|a| !a.is_empty()),
        entity_id: q.entity_id.filter(|a| !a.is_empty()),
        from: q.from,
        until: q.until,
    };
    let p = st.svc.list_audit(&actor, &filter, PageRequest::new(q.page, q.per_page)).await?;
    Ok(Json(AuditPage { items: p.items, total: p.total, page: p.page, per_page: p.per_page }))
}
