//! Read models for the dashboard's money figures: what is owing on open invoices, per
//! provider and currency (revenue and payments come from [`super::reports`]).

use crate::db::{Db, Where};
use crate::error::StoreResult;
use praxis_domain::{ClinicId, ProviderId};
use uuid::Uuid;

/// What is owing on open invoices of one provider in one currency.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OwingRow {
    /// The invoices' provider (none for invoices without one).
    pub provider_id: Option<Uuid>,
    /// Their name.
    pub provider_name: Option<String>,
    /// Currency.
    pub currency: String,
    /// Σ total − paid (paid is net of refunds).
    pub owing_minor: i64,
    /// Of that, on overdue invoices.
    pub overdue_minor: i64,
    /// Open invoices.
    pub invoices: i64,
}

/// Money owing now on issued, partly paid and overdue invoices, optionally at one clinic
/// and/or of one provider, per provider and currency, the largest first.
pub async fn owing_by_provider(
    db: &Db,
    clinic: Option<ClinicId>,
    provider: Option<ProviderId>,
) -> StoreResult<Vec<OwingRow>> {
    let mut w = Where::new();
    w.and_literal("i.status IN ('issued', 'partially_paid', 'overdue')");
    if let Some(c) = clinic {
        w.and(|p| format!("i.clinic_id = {p}"), c);
    }
    if let Some(pr) = provider {
        w.and(|p| format!("i.provider_id = {p}"), pr);
    }
    db.fetch_all(w.query(
        "SELECT i.provider_id, MIN(u.full_name) AS provider_name, i.currency, \
         CAST(SUM(i.total_minor - i.paid_minor) AS BIGINT) AS owing_minor, \
         CAST(SUM(CASE WHEN i.status = 'overdue' THEN i.total_minor - i.paid_minor ELSE 0 END) AS BIGINT) \
         AS overdue_minor, CAST(COUNT(*) AS BIGINT) AS invoices \
         FROM invoices i LEFT JOIN providers pr ON pr.id = i.provider_id LEFT JOIN users u ON u.id = pr.user_id",
        " GROUP BY i.provider_id, i.currency ORDER BY owing_minor DESC",
    ))
    .await
}
