//! Online payments (Stripe PaymentIntents) and the webhook events already processed.

use crate::codec::DbTime;
use crate::db::{Db, Tx, dynamic_sql, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::{InvoiceId, OnlinePaymentId, UserId};
use uuid::Uuid;

/// One online payment attempt.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OnlinePaymentRow {
    /// Id.
    pub id: Uuid,
    /// Invoice.
    pub invoice_id: Uuid,
    /// Stripe's PaymentIntent id.
    pub intent_id: String,
    /// Amount asked for.
    pub amount_minor: i64,
    /// Currency.
    pub currency: String,
    /// Stripe's status (`requires_payment_method`, `processing`, `succeeded`, `failed`, `canceled`).
    pub status: String,
    /// The client secret the payment page needs, sealed.
    pub client_secret_enc: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Created.
    pub created_at: DbTime,
    /// By.
    pub created_by: Option<Uuid>,
    /// Changed.
    pub updated_at: DbTime,
}

const SELECT: &str = "SELECT id, invoice_id, intent_id, amount_minor, currency, status, client_secret_enc, \
    last_error, created_at, created_by, updated_at FROM online_payments";

/// A new attempt.
#[derive(Clone, Debug)]
pub struct NewOnlinePayment {
    /// Id.
    pub id: OnlinePaymentId,
    /// Invoice.
    pub invoice_id: InvoiceId,
    /// PaymentIntent id.
    pub intent_id: String,
    /// Amount.
    pub amount_minor: i64,
    /// Currency.
    pub currency: String,
    /// Status.
    pub status: String,
    /// Sealed client secret.
    pub client_secret_enc: Option<String>,
    /// Now.
    pub created_at: Timestamp,
    /// By.
    pub created_by: Option<UserId>,
}

/// Inserts an attempt.
pub async fn insert(tx: &mut Tx, o: &NewOnlinePayment) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO online_payments (id, invoice_id, intent_id, amount_minor, currency, status, \
             client_secret_enc, created_at, created_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8)")
        .bind(o.id)
        .bind(o.invoice_id)
        .bind(&o.intent_id)
        .bind(o.amount_minor)
        .bind(&o.currency)
        .bind(&o.status)
        .bind(o.client_secret_enc.clone())
        .bind(o.created_at)
        .bind(o.created_by),
    )
    .await?;
    Ok(())
}

/// The attempt for a PaymentIntent.
pub async fn by_intent(tx: &mut Tx, intent: &str) -> StoreResult<Option<OnlinePaymentRow>> {
    tx.fetch_optional(dynamic_sql(format!("{SELECT} WHERE intent_id = $1")).bind(intent)).await
}

/// The newest attempt of an invoice that can still be paid (not failed, cancelled or succeeded).
pub async fn open_for_invoice(db: &Db, invoice: InvoiceId) -> StoreResult<Option<OnlinePaymentRow>> {
    db.fetch_optional(
        dynamic_sql(format!(
            "{SELECT} WHERE invoice_id = $1 AND status IN ('requires_payment_method', 'requires_confirmation', \
             'requires_action') ORDER BY created_at DESC LIMIT 1"
        ))
        .bind(invoice),
    )
    .await
}

/// Every attempt of an invoice, newest first.
pub async fn for_invoice(db: &Db, invoice: InvoiceId) -> StoreResult<Vec<OnlinePaymentRow>> {
    db.fetch_all(dynamic_sql(format!("{SELECT} WHERE invoice_id = $1 ORDER BY created_at DESC")).bind(invoice)).await
}

/// The attempts of an invoice still open, inside a transaction (to cancel them on void).
pub async fn open_for_invoice_tx(tx: &mut Tx, invoice: InvoiceId) -> StoreResult<Vec<OnlinePaymentRow>> {
    tx.fetch_all(
        dynamic_sql(format!(
            "{SELECT} WHERE invoice_id = $1 AND status IN ('requires_payment_method', 'requires_confirmation', \
             'requires_action')"
        ))
        .bind(invoice),
    )
    .await
}

/// Records Stripe's status (and the error of a failed attempt).
pub async fn set_status(
    tx: &mut Tx,
    id: OnlinePaymentId,
    status: &str,
    error: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE online_payments SET status = $2, last_error = $3, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(status)
            .bind(error)
            .bind(now),
    )
    .await?;
    Ok(())
}

/// Claims a webhook event for processing: true the first time an event id is seen, false
/// for a repeat (Stripe delivers at least once; a repeat must change nothing).
pub async fn claim_event(
    tx: &mut Tx,
    provider: &str,
    event_id: &str,
    kind: &str,
    outcome: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("INSERT INTO payment_webhook_events (provider, event_id, kind, outcome, received_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, event_id) DO NOTHING")
            .bind(provider)
            .bind(event_id)
            .bind(kind)
            .bind(outcome)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Records what processing an event came to.
pub async fn set_event_outcome(tx: &mut Tx, provider: &str, event_id: &str, outcome: &str) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE payment_webhook_events SET outcome = $3 WHERE provider = $1 AND event_id = $2")
            .bind(provider)
            .bind(event_id)
            .bind(outcome),
    )
    .await?;
    Ok(())
}

/// How many events were processed (tests, metrics).
pub async fn event_count(db: &Db) -> StoreResult<i64> {
    let (n,): (i64,) = db.fetch_one(sql("SELECT CAST(COUNT(*) AS BIGINT) FROM payment_webhook_events")).await?;
    Ok(n)
}
