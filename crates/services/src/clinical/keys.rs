//! Re-sealing every encrypted value under the current key (`praxis keys rotate`). Runs in
//! small batches while the server keeps serving: each value is opened with whichever key
//! sealed it, sealed again with the current key, and written back only if it did not
//! change meanwhile. Nothing is ever left unreadable: old keys stay in the ring.

use crate::Services;
use crate::actor::Actor;
use crate::crypto::{KeyRing, aad};
use crate::error::{ServiceError, ServiceResult};
use praxis_domain::Permission;
use praxis_store::sealed::{self, SealedColumn};
use serde::Serialize;
use std::collections::BTreeMap;

/// What a rotation did, per kind of value.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RotationReport {
    /// The key everything is sealed with now.
    pub current_key: String,
    /// Values re-sealed, by table.
    pub resealed: BTreeMap<String, u64>,
    /// Values already under the current key, by table.
    pub already_current: BTreeMap<String, u64>,
}

const BATCH: i64 = 500;

impl Services {
    /// Re-seals every value not under the current key (administrators, command line).
    pub async fn reseal_all(&self, actor: &Actor) -> ServiceResult<RotationReport> {
        actor.require(Permission::ManageUsers)?;
        let current = self.keys().current_id();
        let mut report = RotationReport { current_key: current.clone(), ..RotationReport::default() };
        for col in SealedColumn::ALL {
            let mut after = None;
            loop {
                let batch = sealed::batch(self.db(), col, after, BATCH).await?;
                let Some(last) = batch.last() else { break };
                after = Some(last.0);
                let mut tx = self.db().begin().await?;
                for (id, value) in &batch {
                    if KeyRing::key_id_of(value) == Some(current.as_str()) {
                        *report.already_current.entry(col.table().into()).or_default() += 1;
                        continue;
                    }
                    let place = aad(col.table(), col.aad_field(), id);
                    let plain = self
                        .keys()
                        .open(&place, value)
                        .map_err(|e| ServiceError::Internal(format!("{} {id}: {e}", col.table())))?;
                    let fresh = self.keys().seal(&place, &plain).map_err(|e| ServiceError::Internal(e.to_string()))?;
                    if sealed::reseal(&mut tx, col, *id, value, &fresh).await? {
                        *report.resealed.entry(col.table().into()).or_default() += 1;
                    }
                }
                tx.commit().await?;
            }
        }
        let (files, files_current) = self.reseal_documents().await?;
        report.resealed.insert("document_files".into(), files);
        report.already_current.insert("document_files".into(), files_current);
        let mut tx = self.db().begin().await?;
        let total: u64 = report.resealed.values().sum();
        tx.audit(self.audit_entry(
            actor,
            "keys.reseal",
            "key",
            Some(current.clone()),
            format!("{total} value(s) re-sealed under key {current}"),
        ));
        tx.commit().await?;
        Ok(report)
    }
}
