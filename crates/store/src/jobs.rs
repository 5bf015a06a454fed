//! The durable job queue: the backbone of all background work (messages today; invoices
//! and backups later).
//!
//! - A job is enqueued inside the caller's [`Tx`], so it exists exactly when the change
//!   that caused it commits. Its `idempotency_key` is unique: enqueueing the same key again
//!   is a no-op (`ON CONFLICT DO NOTHING`), never a second job.
//! - Workers claim due jobs in a short transaction of their own, setting a lease
//!   (`locked_until`, `locked_by`), and commit before doing any network I/O. On PostgreSQL
//!   the claim uses `FOR UPDATE SKIP LOCKED`, so any number of workers on any number of
//!   machines take disjoint jobs without waiting for each other; on SQLite the single
//!   writer connection serialises claims.
//! - The outcome is recorded in another short transaction, and only while the lease is
//!   still ours (`locked_by` is unique per claim). A job whose lease expired (its worker
//!   died) is due again and is claimed by the next worker.

use crate::codec::DbTime;
use crate::db::{Backend, Db, Tx, Where, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use uuid::Uuid;

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// What to do (`message`, …); the worker dispatches on it.
    pub kind: String,
    /// JSON arguments.
    pub payload: String,
    /// Not before.
    pub run_at: Timestamp,
    /// Attempts before the job is dead.
    pub max_attempts: i64,
    /// The same key never makes two jobs.
    pub idempotency_key: String,
}

/// A job row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct JobRow {
    /// Id.
    pub id: Uuid,
    /// Kind.
    pub kind: String,
    /// JSON arguments.
    pub payload: String,
    /// Due at.
    pub run_at: DbTime,
    /// Attempts started so far (a claim counts as one).
    pub attempts: i64,
    /// Limit.
    pub max_attempts: i64,
    /// `pending`, `running`, `done`, `failed` (will retry), `dead`, `cancelled`.
    pub status: String,
    /// Lease end while running.
    pub locked_until: Option<DbTime>,
    /// The claim that holds the lease.
    pub locked_by: Option<String>,
    /// The last failure.
    pub last_error: Option<String>,
    /// Idempotency key.
    pub idempotency_key: String,
    /// Enqueued at.
    pub created_at: DbTime,
    /// Last change.
    pub updated_at: DbTime,
}

const COLUMNS: &str = "id, kind, payload, run_at, attempts, max_attempts, status, locked_until, locked_by, \
                       last_error, idempotency_key, created_at, updated_at";

/// Enqueues a job inside the caller's transaction. Returns `false` when a job with the
/// same idempotency key already exists (nothing is written).
pub async fn enqueue(tx: &mut Tx, job: &NewJob, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("INSERT INTO jobs (id, kind, payload, run_at, attempts, max_attempts, status, idempotency_key, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, 'pending', $6, $7, $7) \
                 ON CONFLICT (idempotency_key) DO NOTHING")
            .bind(job.id)
            .bind(&job.kind)
            .bind(&job.payload)
            .bind(job.run_at)
            .bind(job.max_attempts)
            .bind(&job.idempotency_key)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// The claim statement. PostgreSQL locks the chosen rows and skips rows another worker is
/// claiming at this moment; SQLite needs no lock (one writer at a time).
const CLAIM_POSTGRES: &str = "UPDATE jobs SET status = 'running', locked_until = $2, locked_by = $3, \
    attempts = attempts + 1, updated_at = $1 WHERE id IN (SELECT id FROM jobs \
    WHERE (status IN ('pending', 'failed') AND run_at <= $1) OR (status = 'running' AND locked_until <= $1) \
    ORDER BY run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
    RETURNING id, kind, payload, run_at, attempts, max_attempts, status, locked_until, locked_by, last_error, \
    idempotency_key, created_at, updated_at";
const CLAIM_SQLITE: &str = "UPDATE jobs SET status = 'running', locked_until = $2, locked_by = $3, \
    attempts = attempts + 1, updated_at = $1 WHERE id IN (SELECT id FROM jobs \
    WHERE (status IN ('pending', 'failed') AND run_at <= $1) OR (status = 'running' AND locked_until <= $1) \
    ORDER BY run_at, id LIMIT $4) \
    RETURNING id, kind, payload, run_at, attempts, max_attempts, status, locked_until, locked_by, last_error, \
    idempotency_key, created_at, updated_at";

/// Claims up to `limit` due jobs (pending or failed and due, or running with an expired
/// lease) for `claim` until `lease_until`, in its own short transaction, and commits.
pub async fn claim(
    db: &Db,
    now: Timestamp,
    lease_until: Timestamp,
    claim: &str,
    limit: i64,
) -> StoreResult<Vec<JobRow>> {
    let mut tx = db.begin().await?;
    let text = match tx.backend() {
        Backend::Postgres => CLAIM_POSTGRES,
        Backend::Sqlite => CLAIM_SQLITE,
    };
    let mut rows: Vec<JobRow> =
        tx.fetch_all(sql(text).bind(now).bind(lease_until).bind(claim).bind(limit.clamp(1, 1000))).await?;
    tx.commit().await?;
    rows.sort_by_key(|r| (r.run_at, r.id));
    Ok(rows)
}

/// Marks a claimed job done, if the claim still holds its lease. Returns whether it did.
pub async fn complete(tx: &mut Tx, id: Uuid, claim: &str, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE jobs SET status = 'done', locked_until = NULL, locked_by = NULL, last_error = NULL, \
                 updated_at = $3 WHERE id = $1 AND status = 'running' AND locked_by = $2")
            .bind(id)
            .bind(claim)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Records a failed attempt: `failed` and due again at `retry_at`, or `dead` when
/// `retry_at` is `None`. Only while the claim holds the lease.
pub async fn fail(
    tx: &mut Tx,
    id: Uuid,
    claim: &str,
    error: &str,
    retry_at: Option<Timestamp>,
    now: Timestamp,
) -> StoreResult<bool> {
    let (status, run_at) = match retry_at {
        Some(t) => ("failed", Some(t)),
        None => ("dead", None),
    };
    let n = tx
        .execute(
            sql("UPDATE jobs SET status = $3, run_at = COALESCE($4, run_at), locked_until = NULL, \
                 locked_by = NULL, last_error = $5, updated_at = $6 \
                 WHERE id = $1 AND status = 'running' AND locked_by = $2")
            .bind(id)
            .bind(claim)
            .bind(status)
            .bind(run_at)
            .bind(error)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Extends a long job's lease while its claim still holds it (a backup outlasts the
/// usual lease). Its own short transaction. Returns whether it did.
pub async fn extend_lease(db: &Db, id: Uuid, claim: &str, until: Timestamp) -> StoreResult<bool> {
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            sql("UPDATE jobs SET locked_until = $3 WHERE id = $1 AND status = 'running' AND locked_by = $2")
                .bind(id)
                .bind(claim)
                .bind(until),
        )
        .await?;
    tx.commit().await?;
    Ok(n == 1)
}

/// Gives a claimed job back without counting the attempt (graceful shutdown, or a message
/// that must wait, e.g. for the end of a patient's quiet hours): pending again at `run_at`.
pub async fn release(tx: &mut Tx, id: Uuid, claim: &str, run_at: Timestamp, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE jobs SET status = 'pending', run_at = $3, attempts = CASE WHEN attempts > 0 \
                 THEN attempts - 1 ELSE 0 END, locked_until = NULL, locked_by = NULL, updated_at = $4 \
                 WHERE id = $1 AND status = 'running' AND locked_by = $2")
            .bind(id)
            .bind(claim)
            .bind(run_at)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Cancels a claimed job (it no longer needs doing, e.g. a reminder for an appointment
/// that was moved), keeping the reason. Only while the claim holds the lease.
pub async fn cancel_claimed(tx: &mut Tx, id: Uuid, claim: &str, reason: &str, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE jobs SET status = 'cancelled', locked_until = NULL, locked_by = NULL, last_error = $3, \
                 updated_at = $4 WHERE id = $1 AND status = 'running' AND locked_by = $2")
            .bind(id)
            .bind(claim)
            .bind(reason)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Cancels a job that is not running (pending, or failed and waiting to retry). Returns
/// whether it did.
pub async fn cancel_waiting(tx: &mut Tx, id: Uuid, reason: &str, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE jobs SET status = 'cancelled', last_error = $2, updated_at = $3 \
                 WHERE id = $1 AND status IN ('pending', 'failed')")
            .bind(id)
            .bind(reason)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Puts a dead, failed or cancelled job back in the queue, due now, with a fresh budget
/// of attempts. Returns whether it did.
pub async fn retry(tx: &mut Tx, id: Uuid, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE jobs SET status = 'pending', run_at = $2, attempts = 0, locked_until = NULL, \
                 locked_by = NULL, updated_at = $2 WHERE id = $1 AND status IN ('dead', 'failed', 'cancelled')")
            .bind(id)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// One job.
pub async fn get(db: &Db, id: Uuid) -> StoreResult<Option<JobRow>> {
    db.fetch_optional(crate::db::dynamic_sql(format!("SELECT {COLUMNS} FROM jobs WHERE id = $1")).bind(id)).await
}

/// One job, inside a transaction, locked on PostgreSQL.
pub async fn get_for_update(tx: &mut Tx, id: Uuid) -> StoreResult<Option<JobRow>> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    tx.fetch_optional(crate::db::dynamic_sql(format!("SELECT {COLUMNS} FROM jobs WHERE id = $1{lock}")).bind(id)).await
}

/// The queue at a glance.
#[derive(Clone, Debug, Default)]
pub struct QueueStats {
    /// Jobs waiting (pending or failed-and-retrying), due or not.
    pub waiting: i64,
    /// Of those, due now.
    pub due: i64,
    /// Running under a lease that has not run out.
    pub running: i64,
    /// Held by a worker whose lease ran out (it stopped, or was killed): due again, and
    /// taken over by the next worker that looks.
    pub abandoned: i64,
    /// Dead (gave up).
    pub dead: i64,
    /// When the oldest due job became due.
    pub oldest_due: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct StatsRow {
    waiting: i64,
    due: i64,
    running: i64,
    abandoned: i64,
    dead: i64,
    oldest_due: Option<DbTime>,
}

/// Counts for metrics and `/readyz`, in one query over the queue's indexes.
pub async fn stats(db: &Db, now: Timestamp) -> StoreResult<QueueStats> {
    let r: StatsRow = db
        .fetch_one(
            sql("SELECT \
                 (SELECT COUNT(*) FROM jobs WHERE status IN ('pending', 'failed')) AS waiting, \
                 (SELECT COUNT(*) FROM jobs WHERE status IN ('pending', 'failed') AND run_at <= $1) AS due, \
                 (SELECT COUNT(*) FROM jobs WHERE status = 'running' AND locked_until > $1) AS running, \
                 (SELECT COUNT(*) FROM jobs WHERE status = 'running' AND (locked_until IS NULL OR locked_until <= $1)) \
                   AS abandoned, \
                 (SELECT COUNT(*) FROM jobs WHERE status = 'dead') AS dead, \
                 (SELECT MIN(run_at) FROM jobs WHERE status IN ('pending', 'failed') AND run_at <= $1) AS oldest_due")
            .bind(now),
        )
        .await?;
    Ok(QueueStats {
        waiting: r.waiting,
        due: r.due,
        running: r.running,
        abandoned: r.abandoned,
        dead: r.dead,
        oldest_due: r.oldest_due.map(|t| t.0),
    })
}

/// Jobs by status and kind (maintenance, tests).
pub async fn list(db: &Db, status: Option<&str>, kind: Option<&str>, limit: i64) -> StoreResult<Vec<JobRow>> {
    let mut w = Where::new();
    if let Some(s) = status {
        w.and(|p| format!("status = {p}"), s);
    }
    if let Some(k) = kind {
        w.and(|p| format!("kind = {p}"), k);
    }
    db.fetch_all(w.query(
        &format!("SELECT {COLUMNS} FROM jobs"),
        &format!(" ORDER BY run_at, id LIMIT {}", limit.clamp(1, 100_000)),
    ))
    .await
}
