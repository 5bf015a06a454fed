//! Sealed data that no longer opens: a tampered ciphertext, a value moved to another
//! record, a signed note whose content no longer matches its hash, or a missing key. The
//! caller gets a clear 409 naming what could not be shown (never a 500, never the bytes);
//! the failure is counted (`praxis_damaged_records_total`), audited, and raised once per
//! record as an operational alert — mailed to the administrators, on their banner and in
//! `praxis_alerts_open`.

use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use std::fmt::Display;

impl Services {
    /// The answer for sealed `entity` `id` that did not open, for `reason`. Counts and
    /// logs it now; the audit row and the alert are written by a task of their own, so
    /// the callers — which open sealed values while building their answer — stay simple.
    /// Should that write fail, the next read of the record raises it again.
    pub(crate) fn damaged(
        &self,
        what: &'static str,
        entity: &'static str,
        id: impl Display,
        reason: impl Display,
    ) -> ServiceError {
        let (id, reason) = (id.to_string(), reason.to_string());
        metrics::counter!("praxis_damaged_records_total", "entity" => entity).increment(1);
        tracing::error!(entity, id = %id, reason = %reason, "sealed data does not open");
        let svc = self.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = svc.record_damage(entity, &id, &reason).await {
                    tracing::error!(error = %e, entity, id = %id, "could not record a damaged record");
                }
            });
        }
        ServiceError::Damaged { what }
    }

    async fn record_damage(&self, entity: &str, id: &str, reason: &str) -> ServiceResult<()> {
        let now = self.now();
        let admins = praxis_store::messages::admin_emails(self.db()).await?;
        let message = format!(
            "The protected content of {entity} {id} could not be opened ({reason}). It is not shown to anyone. \
             Check that every encryption key is in the key file, then restore the record from a verified backup."
        );
        let mut tx = self.db().begin().await?;
        let key = format!("record_damaged:{entity}:{id}");
        self.raise_alert(&mut tx, &admins, &key, "record_damaged", &message, now).await?;
        tx.audit(self.audit_entry(&Actor::system("system"), "record.damaged", entity, Some(id.to_string()), message));
        tx.commit().await?;
        Ok(())
    }
}
