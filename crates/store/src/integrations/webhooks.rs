//! Webhook endpoints and their deliveries. A delivery is written in the transaction of
//! the change that caused its event, together with the queue job that sends it, so an
//! event exists exactly when its change commits and is never lost.

use crate::codec::DbTime;
use crate::db::{Db, Tx, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::UserId;
use uuid::Uuid;

/// An endpoint to store.
#[derive(Clone, Debug)]
pub struct NewEndpoint {
    /// Id.
    pub id: Uuid,
    /// Where events are posted.
    pub url: String,
    /// What it is ("Clinic CRM").
    pub description: String,
    /// Comma-separated event names.
    pub events: String,
    /// The signing secret, sealed with the clinic's key ring.
    pub secret_sealed: String,
    /// Whether events are sent to it from the start.
    pub active: bool,
    /// Who registered it.
    pub created_by: Option<UserId>,
}

/// A registered endpoint.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EndpointRow {
    /// Id.
    pub id: Uuid,
    /// Where events are posted.
    pub url: String,
    /// What it is.
    pub description: String,
    /// Comma-separated event names.
    pub events: String,
    /// The sealed signing secret.
    pub secret_sealed: String,
    /// Whether events are sent to it.
    pub active: bool,
    /// Registered.
    pub created_at: DbTime,
    /// Last change.
    pub updated_at: DbTime,
}

/// A SELECT of [`EndpointRow`]s followed by `$tail`.
macro_rules! select_endpoints {
    ($tail:literal) => {
        concat!(
            "SELECT id, url, description, events, secret_sealed, active, created_at, updated_at \
             FROM webhook_endpoints WHERE removed_at IS NULL ",
            $tail
        )
    };
}

/// Registers an endpoint.
pub async fn insert_endpoint(tx: &mut Tx, e: &NewEndpoint, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO webhook_endpoints (id, url, description, events, secret_sealed, active, created_at, \
             created_by, updated_at) VALUES ($1, $2, $3, $4, $5, $8, $6, $7, $6)")
        .bind(e.id)
        .bind(&e.url)
        .bind(&e.description)
        .bind(&e.events)
        .bind(&e.secret_sealed)
        .bind(now)
        .bind(e.created_by)
        .bind(e.active),
    )
    .await?;
    Ok(())
}

/// Every endpoint not removed, oldest first.
pub async fn list_endpoints(db: &Db) -> StoreResult<Vec<EndpointRow>> {
    db.fetch_all(sql(select_endpoints!("ORDER BY created_at, id"))).await
}

/// One endpoint, unless removed.
pub async fn endpoint(db: &Db, id: Uuid) -> StoreResult<Option<EndpointRow>> {
    db.fetch_optional(sql(select_endpoints!("AND id = $1")).bind(id)).await
}

/// The active endpoints, inside a transaction (the event's subscribers are chosen from
/// them by the caller).
pub async fn active_endpoints_tx(tx: &mut Tx) -> StoreResult<Vec<EndpointRow>> {
    tx.fetch_all(sql(select_endpoints!("AND active = TRUE ORDER BY created_at, id"))).await
}

/// Changes an endpoint's address, description, events and whether it is active.
pub async fn update_endpoint(
    tx: &mut Tx,
    id: Uuid,
    url: &str,
    description: &str,
    events: &str,
    active: bool,
    now: Timestamp,
) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE webhook_endpoints SET url = $2, description = $3, events = $4, active = $5, updated_at = $6 \
                 WHERE id = $1 AND removed_at IS NULL")
            .bind(id)
            .bind(url)
            .bind(description)
            .bind(events)
            .bind(active)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Removes an endpoint (its delivery log stays). Returns whether it was there.
pub async fn remove_endpoint(tx: &mut Tx, id: Uuid, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE webhook_endpoints SET active = FALSE, removed_at = $2, updated_at = $2 \
                 WHERE id = $1 AND removed_at IS NULL")
            .bind(id)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// A delivery to store.
#[derive(Clone, Debug)]
pub struct NewDelivery {
    /// Id.
    pub id: Uuid,
    /// To which endpoint.
    pub endpoint_id: Uuid,
    /// The event (the same for every endpoint and every resend).
    pub event_id: Uuid,
    /// `appointment.booked`, …
    pub event_type: String,
    /// The exact body that is sent (and signed).
    pub payload: String,
    /// The delivery this one sends again, if any.
    pub resend_of: Option<Uuid>,
}

/// A delivery with its last attempt.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeliveryRow {
    /// Id.
    pub id: Uuid,
    /// Endpoint.
    pub endpoint_id: Uuid,
    /// Event id.
    pub event_id: Uuid,
    /// Event name.
    pub event_type: String,
    /// The body.
    pub payload: String,
    /// `pending`, `retrying`, `delivered` or `dead`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// The HTTP status of the last answer, if there was one.
    pub last_status: Option<i64>,
    /// What went wrong last time.
    pub last_error: Option<String>,
    /// When the last attempt was made.
    pub last_attempt_at: Option<DbTime>,
    /// How long it took.
    pub last_duration_ms: Option<i64>,
    /// When the endpoint accepted it.
    pub delivered_at: Option<DbTime>,
    /// The delivery this one sent again.
    pub resend_of: Option<Uuid>,
    /// Created (when the event happened, or the resend was asked for).
    pub created_at: DbTime,
}

/// A SELECT of [`DeliveryRow`]s followed by `$tail`.
macro_rules! select_deliveries {
    ($tail:literal) => {
        concat!(
            "SELECT id, endpoint_id, event_id, event_type, payload, status, attempts, last_status, last_error, \
             last_attempt_at, last_duration_ms, delivered_at, resend_of, created_at FROM webhook_deliveries ",
            $tail
        )
    };
}

/// Stores a delivery (pending).
pub async fn insert_delivery(tx: &mut Tx, d: &NewDelivery, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, payload, status, attempts, \
             resend_of, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7)")
        .bind(d.id)
        .bind(d.endpoint_id)
        .bind(d.event_id)
        .bind(&d.event_type)
        .bind(&d.payload)
        .bind(d.resend_of)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// One delivery.
pub async fn delivery(db: &Db, id: Uuid) -> StoreResult<Option<DeliveryRow>> {
    db.fetch_optional(sql(select_deliveries!("WHERE id = $1")).bind(id)).await
}

/// An endpoint's deliveries, newest first, a page at a time; and how many there are.
pub async fn deliveries(db: &Db, endpoint: Uuid, limit: i64, offset: i64) -> StoreResult<(Vec<DeliveryRow>, i64)> {
    let rows = db
        .fetch_all(
            sql(select_deliveries!("WHERE endpoint_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"))
                .bind(endpoint)
                .bind(limit)
                .bind(offset),
        )
        .await?;
    let (total,): (i64,) =
        db.fetch_one(sql("SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = $1").bind(endpoint)).await?;
    Ok((rows, total))
}

/// The outcome of one attempt.
#[derive(Clone, Debug)]
pub struct AttemptRecord {
    /// `delivered`, `retrying` or `dead`.
    pub status: &'static str,
    /// The HTTP status, if the endpoint answered.
    pub http_status: Option<i64>,
    /// What went wrong.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
}

/// Records an attempt on a delivery.
pub async fn record_attempt(tx: &mut Tx, id: Uuid, a: &AttemptRecord, now: Timestamp) -> StoreResult<()> {
    let delivered = (a.status == "delivered").then_some(now);
    tx.execute(
        sql("UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, last_status = $3, last_error = $4, \
             last_attempt_at = $5, last_duration_ms = $6, delivered_at = COALESCE($7, delivered_at) WHERE id = $1")
        .bind(id)
        .bind(a.status)
        .bind(a.http_status)
        .bind(a.error.clone())
        .bind(now)
        .bind(a.duration_ms)
        .bind(delivered),
    )
    .await?;
    Ok(())
}
