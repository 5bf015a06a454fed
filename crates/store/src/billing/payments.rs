//! Payments (each with a numbered receipt) and refunds.

use crate::codec::DbTime;
use crate::db::{Backend, Db, Tx, Where, dynamic_sql, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::{InvoiceId, PaymentId, RefundId, UserId};
use uuid::Uuid;

/// A payment with the names needed to show it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PaymentRow {
    /// Id.
    pub id: Uuid,
    /// Invoice.
    pub invoice_id: Uuid,
    /// The invoice's number.
    pub invoice_number: Option<String>,
    /// Clinic.
    pub clinic_id: Uuid,
    /// Patient.
    pub patient_id: Uuid,
    /// Receipt number (`RCT-2027-000012`).
    pub receipt_number: String,
    /// Method code.
    pub method: String,
    /// Amount received.
    pub amount_minor: i64,
    /// Given back so far (pending and done refunds).
    pub refunded_minor: i64,
    /// Currency.
    pub currency: String,
    /// When received.
    pub received_at: DbTime,
    /// UPI transaction reference, bank reference, insurer's reference.
    pub reference: String,
    /// Note.
    pub note: String,
    /// The claim an insurer paid.
    pub claim_id: Option<Uuid>,
    /// The online payment (Stripe) it came from.
    pub online_payment_id: Option<Uuid>,
    /// Created.
    pub created_at: DbTime,
    /// By (none for webhooks).
    pub created_by: Option<Uuid>,
}

const SELECT: &str = "SELECT pm.id, pm.invoice_id, i.number AS invoice_number, pm.clinic_id, pm.patient_id, \
    pm.receipt_number, pm.method, pm.amount_minor, pm.refunded_minor, pm.currency, pm.received_at, pm.reference, \
    pm.note, pm.claim_id, pm.online_payment_id, pm.created_at, pm.created_by \
    FROM payments pm JOIN invoices i ON i.id = pm.invoice_id";

/// A new payment.
#[derive(Clone, Debug)]
pub struct NewPayment {
    /// Id.
    pub id: PaymentId,
    /// Invoice.
    pub invoice_id: InvoiceId,
    /// Clinic.
    pub clinic_id: Uuid,
    /// Patient.
    pub patient_id: Uuid,
    /// Receipt number.
    pub receipt_number: String,
    /// Method code.
    pub method: &'static str,
    /// Amount.
    pub amount_minor: i64,
    /// Currency.
    pub currency: String,
    /// Received at.
    pub received_at: Timestamp,
    /// Reference.
    pub reference: String,
    /// Note.
    pub note: String,
    /// Claim.
    pub claim_id: Option<Uuid>,
    /// Online payment.
    pub online_payment_id: Option<Uuid>,
    /// The form's one-time key (a repeat fails as unique).
    pub request_key: Option<String>,
    /// Now.
    pub created_at: Timestamp,
    /// By.
    pub created_by: Option<UserId>,
}

/// Inserts a payment. A repeated `request_key` or UPI reference fails as unique.
pub async fn insert(tx: &mut Tx, p: &NewPayment) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO payments (id, invoice_id, clinic_id, patient_id, receipt_number, method, amount_minor, \
             refunded_minor, currency, received_at, reference, note, claim_id, online_payment_id, request_key, \
             created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12, $13, $14, $15, $16)")
        .bind(p.id)
        .bind(p.invoice_id)
        .bind(p.clinic_id)
        .bind(p.patient_id)
        .bind(&p.receipt_number)
        .bind(p.method)
        .bind(p.amount_minor)
        .bind(&p.currency)
        .bind(p.received_at)
        .bind(&p.reference)
        .bind(&p.note)
        .bind(p.claim_id)
        .bind(p.online_payment_id)
        .bind(p.request_key.clone())
        .bind(p.created_at)
        .bind(p.created_by),
    )
    .await?;
    Ok(())
}

/// One payment.
pub async fn get(db: &Db, id: PaymentId) -> StoreResult<Option<PaymentRow>> {
    db.fetch_optional(dynamic_sql(format!("{SELECT} WHERE pm.id = $1")).bind(id)).await
}

/// One payment in a transaction, locked on PostgreSQL.
pub async fn get_for_update(tx: &mut Tx, id: PaymentId) -> StoreResult<Option<PaymentRow>> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE OF pm",
        Backend::Sqlite => "",
    };
    tx.fetch_optional(dynamic_sql(format!("{SELECT} WHERE pm.id = $1{lock}")).bind(id)).await
}

/// The payment a form's one-time key already made, if any.
pub async fn by_request_key(tx: &mut Tx, key: &str) -> StoreResult<Option<PaymentRow>> {
    tx.fetch_optional(dynamic_sql(format!("{SELECT} WHERE pm.request_key = $1")).bind(key)).await
}

/// The payment recorded for an online payment, if any.
pub async fn by_online_payment(tx: &mut Tx, online: Uuid) -> StoreResult<Option<PaymentRow>> {
    tx.fetch_optional(dynamic_sql(format!("{SELECT} WHERE pm.online_payment_id = $1")).bind(online)).await
}

/// The payments of invoices, oldest first.
pub async fn for_invoices(db: &Db, invoices: &[Uuid]) -> StoreResult<Vec<PaymentRow>> {
    let mut w = Where::new();
    w.and_in("pm.invoice_id", invoices.iter().copied());
    db.fetch_all(w.query(SELECT, " ORDER BY pm.received_at, pm.id")).await
}

/// Adds to (or, with a negative `delta`, takes from) what was refunded of a payment.
pub async fn add_refunded(tx: &mut Tx, id: PaymentId, delta: i64) -> StoreResult<()> {
    tx.execute(sql("UPDATE payments SET refunded_minor = refunded_minor + $2 WHERE id = $1").bind(id).bind(delta))
        .await?;
    Ok(())
}

/// Adds to what was received on a payment (an online payment that brought more than was
/// owing: the excess is refunded at once, so the net paid stays what was owing).
pub async fn add_amount(tx: &mut Tx, id: PaymentId, delta: i64) -> StoreResult<()> {
    tx.execute(sql("UPDATE payments SET amount_minor = amount_minor + $2 WHERE id = $1").bind(id).bind(delta)).await?;
    Ok(())
}

/// A refund as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RefundRow {
    /// Id.
    pub id: Uuid,
    /// Payment.
    pub payment_id: Uuid,
    /// Invoice.
    pub invoice_id: Uuid,
    /// Number (`RFD-2027-000003`).
    pub number: String,
    /// Amount.
    pub amount_minor: i64,
    /// Why.
    pub reason: String,
    /// `pending` (sent to Stripe), `succeeded`, `failed`.
    pub status: String,
    /// Stripe's refund id.
    pub stripe_refund_id: Option<String>,
    /// Why Stripe refused it.
    pub failure: Option<String>,
    /// Created.
    pub created_at: DbTime,
    /// By.
    pub created_by: Option<Uuid>,
    /// Done.
    pub completed_at: Option<DbTime>,
}

const REFUND_SELECT: &str = "SELECT id, payment_id, invoice_id, number, amount_minor, reason, status, \
    stripe_refund_id, failure, created_at, created_by, completed_at FROM refunds";

/// A new refund.
#[derive(Clone, Debug)]
pub struct NewRefund {
    /// Id.
    pub id: RefundId,
    /// Payment.
    pub payment_id: PaymentId,
    /// Invoice.
    pub invoice_id: InvoiceId,
    /// Number.
    pub number: String,
    /// Amount.
    pub amount_minor: i64,
    /// Why.
    pub reason: String,
    /// Status.
    pub status: &'static str,
    /// Stripe's id (refunds made in Stripe's dashboard arrive with it).
    pub stripe_refund_id: Option<String>,
    /// The form's one-time key.
    pub request_key: Option<String>,
    /// Now.
    pub created_at: Timestamp,
    /// By.
    pub created_by: Option<UserId>,
}

/// Inserts a refund.
pub async fn insert_refund(tx: &mut Tx, r: &NewRefund) -> StoreResult<()> {
    let done = (r.status == "succeeded").then_some(r.created_at);
    tx.execute(
        sql(
            "INSERT INTO refunds (id, payment_id, invoice_id, number, amount_minor, reason, status, stripe_refund_id, \
             request_key, created_at, created_by, completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12)",
        )
        .bind(r.id)
        .bind(r.payment_id)
        .bind(r.invoice_id)
        .bind(&r.number)
        .bind(r.amount_minor)
        .bind(&r.reason)
        .bind(r.status)
        .bind(r.stripe_refund_id.clone())
        .bind(r.request_key.clone())
        .bind(r.created_at)
        .bind(r.created_by)
        .bind(done),
    )
    .await?;
    Ok(())
}

/// One refund.
pub async fn refund(tx: &mut Tx, id: RefundId) -> StoreResult<Option<RefundRow>> {
    tx.fetch_optional(dynamic_sql(format!("{REFUND_SELECT} WHERE id = $1")).bind(id)).await
}

/// The refund a form's one-time key already made.
pub async fn refund_by_request_key(tx: &mut Tx, key: &str) -> StoreResult<Option<RefundRow>> {
    tx.fetch_optional(dynamic_sql(format!("{REFUND_SELECT} WHERE request_key = $1")).bind(key)).await
}

/// The refund Stripe knows by `stripe_id`.
pub async fn refund_by_stripe_id(tx: &mut Tx, stripe_id: &str) -> StoreResult<Option<RefundRow>> {
    tx.fetch_optional(dynamic_sql(format!("{REFUND_SELECT} WHERE stripe_refund_id = $1")).bind(stripe_id)).await
}

/// The refunds of payments, oldest first.
pub async fn refunds_for_invoices(db: &Db, invoices: &[Uuid]) -> StoreResult<Vec<RefundRow>> {
    let mut w = Where::new();
    w.and_in("invoice_id", invoices.iter().copied());
    db.fetch_all(w.query(REFUND_SELECT, " ORDER BY created_at, id")).await
}

/// The pending refunds of a payment, oldest first (a dashboard refund is matched to them).
pub async fn pending_refunds_of(tx: &mut Tx, payment: PaymentId) -> StoreResult<Vec<RefundRow>> {
    tx.fetch_all(
        dynamic_sql(format!("{REFUND_SELECT} WHERE payment_id = $1 AND status = 'pending' ORDER BY created_at"))
            .bind(payment),
    )
    .await
}

/// Settles a refund: `succeeded` (with Stripe's id) or `failed` (with why).
pub async fn finish_refund(
    tx: &mut Tx,
    id: RefundId,
    status: &str,
    stripe_id: Option<&str>,
    failure: Option<&str>,
    now: Timestamp,
) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE refunds SET status = $2, stripe_refund_id = COALESCE($3, stripe_refund_id), failure = $4, \
                 completed_at = $5 WHERE id = $1 AND status = 'pending'")
            .bind(id)
            .bind(status)
            .bind(stripe_id)
            .bind(failure)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Records Stripe's refund id on a pending refund as soon as Stripe answers.
pub async fn set_refund_stripe_id(tx: &mut Tx, id: RefundId, stripe_id: &str) -> StoreResult<()> {
    tx.execute(sql("UPDATE refunds SET stripe_refund_id = $2 WHERE id = $1").bind(id).bind(stripe_id)).await?;
    Ok(())
}
