//! Reading and verifying the audit log.

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceResult;
use crate::users::{Page, PageRequest};
use jiff::Timestamp;
use praxis_domain::Permission;
pub use praxis_store::audit::{AuditFilter, VerifyOutcome};
use serde::Serialize;

/// One audit row as shown to administrators.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Sequence number (gap-free, from 1).
    pub seq: i64,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Acting user id, if a user acted.
    pub actor_id: Option<uuid::Uuid>,
    /// Acting user's email, or `cli` / `system` / the attempted email of a failed login.
    pub actor: String,
    /// What was done (`user.create`, `auth.login_failed`…).
    pub action: String,
    /// Kind of record.
    pub entity_type: String,
    /// Record id.
    pub entity_id: Option<String>,
    /// Request id (matches logs and the `x-request-id` header).
    pub request_id: Option<String>,
    /// Client address.
    pub client_ip: Option<String>,
    /// What changed.
    pub summary: String,
    /// This row's chain hash.
    pub hash: String,
}

impl Services {
    /// Pages through the audit log, newest first (admins only).
    pub async fn list_audit(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> ServiceResult<Page<AuditEvent>> {
        actor.require(Permission::ViewAuditLog)?;
        let (rows, total) = praxis_store::audit::list(self.db(), filter, page.per_page, page.offset()).await?;
        let items = rows
            .into_iter()
            .map(|r| AuditEvent {
                seq: r.seq,
                at: r.at.0,
                actor_id: r.actor_id,
                actor: r.actor_label,
                action: r.action,
                entity_type: r.entity_type,
                entity_id: r.entity_id,
                request_id: r.request_id,
                client_ip: r.client_ip,
                summary: r.summary,
                hash: r.hash,
            })
            .collect();
        Ok(Page { items, total, page: page.page, per_page: page.per_page })
    }

    /// Recomputes the whole hash chain and reports the first tampered or missing row.
    pub async fn verify_audit(&self, actor: &Actor) -> ServiceResult<VerifyOutcome> {
        actor.require(Permission::ViewAuditLog)?;
        Ok(praxis_store::audit::verify(self.db()).await?)
    }
}
