//! Operational alerts: a failed or unverified backup, no good backup for too long, a
//! message that could not be sent. Each incident is raised once (its key is unique),
//! mailed to every administrator through the job queue once, shown as a banner to
//! administrators until it is resolved, and counted in the metrics.

use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use jiff::{SignedDuration, Timestamp};
use praxis_domain::Permission;
use praxis_store::backups::{self as store, alerts};
use serde::Serialize;

/// With no good backup for longer than this, the administrators are alerted.
pub const STALE_AFTER: SignedDuration = SignedDuration::from_hours(26);

/// An open incident, for the admin banner and the health page.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Alert {
    /// Its key.
    pub key: String,
    /// `backup_failed`, `backup_stale`, `backup_copy_failed`, `message_dead`, `record_damaged`.
    pub kind: String,
    /// What happened.
    pub message: String,
    /// Raised.
    #[schema(value_type = String, format = DateTime)]
    pub opened_at: Timestamp,
}

impl Services {
    /// Raises incident `key` inside `tx`; the first time only, queues an email to every
    /// administrator. Returns whether it was new.
    pub(crate) async fn raise_alert(
        &self,
        tx: &mut praxis_store::Tx,
        admins: &[String],
        key: &str,
        kind: &str,
        message: &str,
        now: Timestamp,
    ) -> ServiceResult<bool> {
        if !alerts::open(tx, key, kind, message, now).await? {
            return Ok(false);
        }
        metrics::counter!("praxis_alerts_total", "kind" => kind.to_string()).increment(1);
        let subject = match kind {
            "backup_failed" => "Praxis: a backup failed",
            "backup_stale" => "Praxis: no good backup",
            "backup_copy_failed" => "Praxis: a backup could not be copied",
            "record_damaged" => "Praxis: a record could not be opened",
            _ => "Praxis needs attention",
        };
        let body = format!(
            "{message}\n\nOpen Administration → Backups in Praxis to see the history, start a backup and verify it. \
             You get one email per incident; the banner stays until it is resolved."
        );
        self.email_admins(tx, admins, &format!("ops-alert:{key}"), subject, &body, now).await?;
        Ok(true)
    }

    /// Resolves the backup incidents a good backup ends.
    pub(crate) async fn resolve_backup_alerts(&self, tx: &mut praxis_store::Tx, now: Timestamp) -> ServiceResult<()> {
        alerts::resolve_kind(tx, "backup_failed", now).await?;
        alerts::resolve_kind(tx, "backup_stale", now).await?;
        Ok(())
    }

    /// Raises "no good backup for more than 26 hours" once per incident: the incident is
    /// named after the last good backup, so it is raised again only after another good
    /// backup came and went stale. Counted from when backups were scheduled when there
    /// has never been a good one.
    pub(crate) async fn check_backup_age(&self) -> ServiceResult<()> {
        let now = self.now();
        let last = store::last_good(self.db()).await?;
        let (since, name) = match &last {
            Some(b) => (b.started_at.0, b.id.to_string()),
            None => match store::schedule(self.db()).await? {
                Some(s) if s.enabled => (s.updated_at.0, "none".to_string()),
                _ => return Ok(()),
            },
        };
        let age = now.duration_since(since);
        if age <= STALE_AFTER {
            return Ok(());
        }
        let hours = age.as_secs() / 3600;
        let message = match &last {
            Some(b) => format!(
                "There has been no good backup for {hours} hours: the last one verified was taken at {}.",
                b.started_at.0.strftime("%Y-%m-%d %H:%M UTC")
            ),
            None => format!("No backup has been verified in the {hours} hours since backups were scheduled."),
        };
        let admins = praxis_store::messages::admin_emails(self.db()).await?;
        let mut tx = self.db().begin().await?;
        if self.raise_alert(&mut tx, &admins, &format!("backup_stale:{name}"), "backup_stale", &message, now).await? {
            tx.audit(self.audit_entry(&Actor::system("system"), "alert.raise", "alert", Some(name), message));
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(())
    }

    /// Open incidents, newest first (administrators; the banner and the health page).
    pub async fn open_alerts(&self, actor: &Actor) -> ServiceResult<Vec<Alert>> {
        self.authorize_all(actor, Permission::ManageBackups)?;
        let rows = alerts::open_alerts(self.db(), 50).await?;
        Ok(rows
            .into_iter()
            .map(|r| Alert { key: r.key, kind: r.kind, message: r.message, opened_at: r.opened_at.0 })
            .collect())
    }

    /// The banner an administrator sees on every page while incidents are open: the
    /// newest one, and how many others. `None` for everyone else, or when all is well.
    pub async fn alert_banner(&self, actor: &Actor) -> ServiceResult<Option<String>> {
        if !actor.can(Permission::ManageBackups) {
            return Ok(None);
        }
        let rows = alerts::open_alerts(self.db(), 2).await?;
        let Some(first) = rows.first() else { return Ok(None) };
        let (total,) = alerts::open_count(self.db()).await?;
        Ok(Some(match total {
            1 => first.message.clone(),
            n => format!("{} (and {} more)", first.message, n - 1),
        }))
    }

    /// Marks an incident as dealt with (it leaves the banner; the history stays).
    pub async fn dismiss_alert(&self, actor: &Actor, key: &str) -> ServiceResult<()> {
        self.authorize_all(actor, Permission::ManageBackups)?;
        let mut tx = self.db().begin().await?;
        if !alerts::resolve(&mut tx, key, self.now()).await? {
            return Err(ServiceError::NotFound { what: "Alert" });
        }
        tx.audit(self.audit_entry(actor, "alert.dismiss", "alert", Some(key.to_string()), "dismissed"));
        tx.commit().await?;
        Ok(())
    }
}
