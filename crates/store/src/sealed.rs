//! Every column that holds a value sealed with the key ring, for key rotation: read them
//! in batches, write each back re-sealed only if it did not change meanwhile.

use crate::db::{Db, Tx, dynamic_sql};
use crate::error::StoreResult;
use uuid::Uuid;

/// A sealed column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealedColumn {
    /// Clinical notes' content.
    Notes,
    /// Amendments' content.
    Amendments,
    /// Patients' insurance numbers.
    InsuranceNumbers,
    /// Intake-form answers.
    FormAnswers,
    /// Webhook endpoints' signing secrets.
    WebhookSecrets,
    /// Two-factor login secrets.
    SecondFactorSecrets,
}

impl SealedColumn {
    /// Every sealed column.
    pub const ALL: [SealedColumn; 6] = [
        SealedColumn::Notes,
        SealedColumn::Amendments,
        SealedColumn::InsuranceNumbers,
        SealedColumn::FormAnswers,
        SealedColumn::WebhookSecrets,
        SealedColumn::SecondFactorSecrets,
    ];

    /// (table, id column, sealed column, the field named in the associated data).
    fn parts(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            SealedColumn::Notes => ("clinical_notes", "id", "content_enc", "content"),
            SealedColumn::Amendments => ("clinical_amendments", "id", "content_enc", "content"),
            SealedColumn::InsuranceNumbers => ("patients", "id", "insurance_number_enc", "insurance_number"),
            SealedColumn::FormAnswers => ("intake_assignments", "id", "answers_enc", "answers"),
            SealedColumn::WebhookSecrets => ("webhook_endpoints", "id", "secret_sealed", "secret"),
            SealedColumn::SecondFactorSecrets => ("user_second_factors", "user_id", "secret_sealed", "secret"),
        }
    }

    /// The table (also the first part of the associated data).
    pub fn table(self) -> &'static str {
        self.parts().0
    }

    /// The field the associated data names (`aad(table, field, id)`).
    pub fn aad_field(self) -> &'static str {
        self.parts().3
    }
}

/// Up to `limit` sealed values of `col` after id `after`, by id.
pub async fn batch(db: &Db, col: SealedColumn, after: Option<Uuid>, limit: i64) -> StoreResult<Vec<(Uuid, String)>> {
    let (t, id, c, _) = col.parts();
    db.fetch_all(
        dynamic_sql(format!(
            "SELECT {id}, {c} FROM {t} WHERE {c} IS NOT NULL AND ($1 IS NULL OR {id} > $1) ORDER BY {id} LIMIT $2"
        ))
        .bind(after)
        .bind(limit),
    )
    .await
}

/// Replaces one sealed value if it still holds `old` (content unchanged).
pub async fn reseal(tx: &mut Tx, col: SealedColumn, id: Uuid, old: &str, new: &str) -> StoreResult<bool> {
    let (t, idc, c, _) = col.parts();
    Ok(tx
        .execute(
            dynamic_sql(format!("UPDATE {t} SET {c} = $3 WHERE {idc} = $1 AND {c} = $2")).bind(id).bind(old).bind(new),
        )
        .await?
        == 1)
}
