//! Re-sealing every encrypted value under the current key (`praxis keys rotate`). Runs in
//! small batches while the server keeps serving: each value is opened with whichever key
//! sealed it, sealed again with the current key, and written back only if it did not
//! change meanwhile. Nothing is ever left unreadable: old keys stay in the ring.

use crate::Services;
use crate::actor::Actor;
use crate::crypto::{KeyRing, aad};
use crate::error::{ServiceError, ServiceResult};
use praxis_domain::Permission;
use praxis_store::clinical::{self, Sealed};
use praxis_store::patients;
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
        for table in [Sealed::Notes, Sealed::Amendments] {
            let mut after = None;
            loop {
                let batch = clinical::sealed_batch(self.db(), table, after, BATCH).await?;
                let Some(last) = batch.last() else { break };
                after = Some(last.0);
                let mut tx = self.db().begin().await?;
                for (id, sealed) in &batch {
                    if KeyRing::key_id_of(sealed) == Some(current.as_str()) {
                        *report.already_current.entry(table.name().into()).or_default() += 1;
                        continue;
                    }
                    let place = aad(table.name(), "content", id);
                    let plain = self
                        .keys()
                        .open(&place, sealed)
                        .map_err(|e| ServiceError::Internal(format!("{} {id}: {e}", table.name())))?;
                    let fresh = self.keys().seal(&place, &plain).map_err(|e| ServiceError::Internal(e.to_string()))?;
                    if clinical::reseal(&mut tx, table, *id, sealed, &fresh).await? {
                        *report.resealed.entry(table.name().into()).or_default() += 1;
                    }
                }
                tx.commit().await?;
            }
        }
        let mut after = None;
        loop {
            let batch = patients::sealed_insurance_numbers(self.db(), after, BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.0);
            let mut tx = self.db().begin().await?;
            for (id, sealed) in &batch {
                if KeyRing::key_id_of(sealed) == Some(current.as_str()) {
                    *report.already_current.entry("patients".into()).or_default() += 1;
                    continue;
                }
                let place = aad("patients", "insurance_number", id);
                let plain = self
                    .keys()
                    .open(&place, sealed)
                    .map_err(|e| ServiceError::Internal(format!("patient {id}: {e}")))?;
                let fresh = self.keys().seal(&place, &plain).map_err(|e| ServiceError::Internal(e.to_string()))?;
                if patients::reseal_insurance_number(&mut tx, *id, sealed, &fresh).await? {
                    *report.resealed.entry("patients".into()).or_default() += 1;
                }
            }
            tx.commit().await?;
        }
        let (answers, answers_current) = self.reseal_form_answers().await?;
        report.resealed.insert("intake_assignments".into(), answers);
        report.already_current.insert("intake_assignments".into(), answers_current);
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
