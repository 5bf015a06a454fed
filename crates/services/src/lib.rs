//! Praxis use cases. Every rule that needs data lives here: each public function checks
//! the acting user's permission, opens one write transaction, asks the domain for
//! decisions, writes through the store, queues its audit row and commits.
//!
//! The HTTP API and the web pages call exactly these functions, so no rule lives only in
//! one of them.
#![forbid(unsafe_code)]

mod actor;
mod clock;
pub mod crypto;
mod error;
mod integrity;
mod passwords;
mod settings;

pub mod audit;
pub mod auth;
pub mod availability;
pub mod backups;
pub mod billing;
pub mod catalog;
pub mod clinical;
pub mod dashboard;
pub mod documents;
pub mod fhir;
pub mod forms;
pub mod integrations;
pub mod notifications;
pub mod patients;
pub mod scheduling;
pub mod two_factor;
pub mod users;

pub use actor::{Actor, KeyActor, RequestContext};
pub use clock::{Clock, SystemClock};
pub use error::{ServiceError, ServiceResult};
pub use passwords::PasswordParams;
pub use settings::{LoginLimits, Settings};

use praxis_store::Db;
use std::sync::Arc;

/// The use-case layer: cheap to clone, shared by every request handler and worker.
#[derive(Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    clock: Arc<dyn Clock>,
    settings: Settings,
    passwords: passwords::Passwords,
}

impl Services {
    /// Wires the services to a database, a clock and settings.
    pub fn new(db: Db, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        backups::health::mark_started();
        let passwords = passwords::Passwords::new(settings.password_params);
        Self { inner: Arc::new(Inner { db, clock, settings, passwords }) }
    }

    /// The database (for health checks and maintenance commands).
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The current instant from the injected clock (microsecond precision).
    pub fn now(&self) -> jiff::Timestamp {
        self.inner.clock.now()
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The key ring that seals clinical content.
    pub fn keys(&self) -> &crypto::KeyRing {
        &self.inner.settings.keys
    }

    fn passwords(&self) -> &passwords::Passwords {
        &self.inner.passwords
    }

    /// An audit entry stamped with the clock and the actor's request context.
    fn audit_entry(
        &self,
        actor: &Actor,
        action: &str,
        entity_type: &str,
        entity_id: Option<String>,
        summary: impl Into<String>,
    ) -> praxis_store::audit::NewAuditEntry {
        praxis_store::audit::NewAuditEntry {
            at: self.now(),
            actor_id: actor.user_id.map(|u| u.0),
            actor_label: actor.label.clone(),
            action: action.into(),
            entity_type: entity_type.into(),
            entity_id,
            request_id: actor.ctx.request_id.clone(),
            client_ip: actor.ctx.client_ip.clone(),
            summary: summary.into(),
        }
    }

    /// Whether `actor` may do `p` at all (and how far), before a page offers the form for
    /// it. The use case itself checks again when the form is sent.
    pub fn authorize(
        &self,
        actor: &Actor,
        p: praxis_domain::Permission,
    ) -> ServiceResult<praxis_domain::permissions::Scope> {
        actor.require(p)
    }

    /// Like [`Services::authorize`], but only a grant over every record will do (clinic-wide
    /// actions such as closures).
    pub fn authorize_all(&self, actor: &Actor, p: praxis_domain::Permission) -> ServiceResult<()> {
        match actor.require(p)? {
            praxis_domain::permissions::Scope::All => Ok(()),
            praxis_domain::permissions::Scope::Own => Err(ServiceError::Forbidden),
        }
    }

    /// Records a security event that has no logged-in actor (a forged form, a replayed
    /// token) in the audit log, with where it came from.
    pub async fn record_security_event(&self, ctx: &RequestContext, action: &str, summary: &str) {
        let actor = Actor::anonymous("unknown", ctx.clone());
        let write = async {
            let mut tx = self.db().begin().await?;
            tx.audit(self.audit_entry(&actor, action, "request", ctx.request_id.clone(), summary));
            tx.commit().await
        };
        if let Err(e) = write.await {
            tracing::error!(error = %e, "could not audit a security event");
        }
    }

    /// Checks the database answers; `/readyz` uses it.
    pub async fn check_ready(&self) -> ServiceResult<()> {
        self.db().ping().await.map_err(|e| ServiceError::Unavailable(format!("database: {e}")))
    }
}
