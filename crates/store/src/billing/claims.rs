//! Insurance and Medicare claims, one per invoice line with a rebate.

use crate::codec::DbTime;
use crate::db::{Backend, Db, Tx, Where, dynamic_sql, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::{ClaimId, InvoiceId};
use uuid::Uuid;

/// A claim with its invoice's number and patient.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClaimRow {
    /// Id.
    pub id: Uuid,
    /// Invoice.
    pub invoice_id: Uuid,
    /// The invoice's number.
    pub invoice_number: Option<String>,
    /// Patient.
    pub patient_id: Uuid,
    /// Patient's name.
    pub patient_name: String,
    /// Clinic.
    pub clinic_id: Uuid,
    /// The line claimed for.
    pub line_id: Uuid,
    /// The line's text.
    pub description: String,
    /// Who pays ("Medicare", an insurer's name).
    pub payer: String,
    /// Item number.
    pub item_number: String,
    /// Amount claimed.
    pub claimed_minor: i64,
    /// Amount approved.
    pub approved_minor: Option<i64>,
    /// Status code.
    pub status: String,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The payer's reference.
    pub reference: String,
    /// Sent.
    pub submitted_at: Option<DbTime>,
    /// Decided.
    pub decided_at: Option<DbTime>,
    /// Created.
    pub created_at: DbTime,
    /// Changed.
    pub updated_at: DbTime,
    /// The invoice's currency.
    pub currency: String,
}

const SELECT: &str = "SELECT c.id, c.invoice_id, i.number AS invoice_number, i.patient_id, \
    p.given_name || ' ' || p.family_name AS patient_name, i.clinic_id, c.line_id, l.description, c.payer, \
    c.item_number, c.claimed_minor, c.approved_minor, c.status, c.reason, c.reference, c.submitted_at, c.decided_at, \
    c.created_at, c.updated_at, i.currency FROM claims c JOIN invoices i ON i.id = c.invoice_id \
    JOIN invoice_lines l ON l.id = c.line_id JOIN patients p ON p.id = i.patient_id";

/// A new claim.
#[derive(Clone, Debug)]
pub struct NewClaim {
    /// Id.
    pub id: ClaimId,
    /// Invoice.
    pub invoice_id: InvoiceId,
    /// Line.
    pub line_id: Uuid,
    /// Payer.
    pub payer: String,
    /// Item number.
    pub item_number: String,
    /// Amount.
    pub claimed_minor: i64,
    /// Now.
    pub created_at: Timestamp,
}

/// Inserts a pending claim.
pub async fn insert(tx: &mut Tx, c: &NewClaim) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO claims (id, invoice_id, line_id, payer, item_number, claimed_minor, status, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7)")
        .bind(c.id)
        .bind(c.invoice_id)
        .bind(c.line_id)
        .bind(&c.payer)
        .bind(&c.item_number)
        .bind(c.claimed_minor)
        .bind(c.created_at),
    )
    .await?;
    Ok(())
}

/// The claims of invoices.
pub async fn for_invoices(db: &Db, invoices: &[Uuid]) -> StoreResult<Vec<ClaimRow>> {
    let mut w = Where::new();
    w.and_in("c.invoice_id", invoices.iter().copied());
    db.fetch_all(w.query(SELECT, " ORDER BY c.created_at, c.id")).await
}

/// The claims of one invoice in a transaction.
pub async fn for_invoice_tx(tx: &mut Tx, invoice: InvoiceId) -> StoreResult<Vec<ClaimRow>> {
    tx.fetch_all(dynamic_sql(format!("{SELECT} WHERE c.invoice_id = $1 ORDER BY c.created_at")).bind(invoice)).await
}

/// One claim, locked on PostgreSQL.
pub async fn get_for_update(tx: &mut Tx, id: ClaimId) -> StoreResult<Option<ClaimRow>> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE OF c",
        Backend::Sqlite => "",
    };
    tx.fetch_optional(dynamic_sql(format!("{SELECT} WHERE c.id = $1{lock}")).bind(id)).await
}

/// One claim.
pub async fn get(db: &Db, id: ClaimId) -> StoreResult<Option<ClaimRow>> {
    db.fetch_optional(dynamic_sql(format!("{SELECT} WHERE c.id = $1")).bind(id)).await
}

/// A claim's new state.
#[derive(Clone, Debug)]
pub struct ClaimUpdate {
    /// Status code.
    pub status: &'static str,
    /// Approved amount.
    pub approved_minor: Option<i64>,
    /// Rejection reason.
    pub reason: Option<String>,
    /// Payer's reference.
    pub reference: String,
    /// Sent at.
    pub submitted_at: Option<Timestamp>,
    /// Decided at.
    pub decided_at: Option<Timestamp>,
}

/// Saves a claim's new state.
pub async fn update(tx: &mut Tx, id: ClaimId, u: &ClaimUpdate, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE claims SET status = $2, approved_minor = $3, reason = $4, reference = $5, submitted_at = $6, \
             decided_at = $7, updated_at = $8 WHERE id = $1")
        .bind(id)
        .bind(u.status)
        .bind(u.approved_minor)
        .bind(u.reason.clone())
        .bind(&u.reference)
        .bind(u.submitted_at)
        .bind(u.decided_at)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// Withdraws every open claim of an invoice (it was voided).
pub async fn withdraw_all(tx: &mut Tx, invoice: InvoiceId, now: Timestamp) -> StoreResult<u64> {
    tx.execute(
        sql("UPDATE claims SET status = 'withdrawn', updated_at = $2 WHERE invoice_id = $1 \
             AND status IN ('pending', 'submitted', 'rejected')")
        .bind(invoice)
        .bind(now),
    )
    .await
}

/// A page of claims in one status (or all), oldest first, and the total.
pub async fn list(db: &Db, status: Option<&str>, limit: i64, offset: i64) -> StoreResult<(Vec<ClaimRow>, i64)> {
    let mut w = Where::new();
    if let Some(s) = status {
        w.and(|p| format!("c.status = {p}"), s);
    }
    let (total,): (i64,) = db.fetch_one(w.query("SELECT COUNT(*) FROM claims c", "")).await?;
    let rows = db
        .fetch_all(w.query(
            SELECT,
            &format!(" ORDER BY c.created_at, c.id LIMIT {} OFFSET {}", limit.clamp(1, 500), offset.max(0)),
        ))
        .await?;
    Ok((rows, total))
}
