//! Backups: their history (one row per backup, with its manifest), the schedule, and
//! the operational alerts an administrator sees. The engine-level copies (SQLite's
//! `VACUUM INTO`, PostgreSQL's `pg_dump` under an exported snapshot) are in
//! [`snapshot`].

pub mod alerts;
pub mod export;
pub mod snapshot;

use crate::codec::DbTime;
use crate::db::{Db, Tx, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use uuid::Uuid;

/// One backup in the history.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BackupRow {
    /// Id (UUIDv7, so ids sort by start).
    pub id: Uuid,
    /// `database`, `files` or `full`.
    pub kind: String,
    /// `manual` or `scheduled`.
    pub origin: String,
    /// `running`, `unverified`, `good` or `failed`.
    pub status: String,
    /// The database engine it was taken from (`sqlite`, `postgres`).
    pub engine: String,
    /// The folder that holds it.
    pub location: String,
    /// The second copy's folder, when one was made.
    pub copy_location: Option<String>,
    /// Bytes on disk (all parts and the manifest).
    pub size_bytes: i64,
    /// The manifest (JSON), once written.
    pub manifest: Option<String>,
    /// Why it failed (or did not verify).
    pub error: Option<String>,
    /// Who asked for it (none for scheduled backups).
    pub requested_by: Option<Uuid>,
    /// Started.
    pub started_at: DbTime,
    /// Written (or failed).
    pub finished_at: Option<DbTime>,
    /// Last verified (good or not).
    pub verified_at: Option<DbTime>,
    /// When retention removed its files (the row stays as history).
    pub pruned_at: Option<DbTime>,
}

const COLUMNS: &str = "id, kind, origin, status, engine, location, copy_location, size_bytes, manifest, error, \
                       requested_by, started_at, finished_at, verified_at, pruned_at";

/// A backup about to be written.
#[derive(Clone, Debug)]
pub struct NewBackup {
    /// Id.
    pub id: Uuid,
    /// Kind.
    pub kind: String,
    /// Origin.
    pub origin: String,
    /// Engine.
    pub engine: String,
    /// Its folder.
    pub location: String,
    /// Who asked.
    pub requested_by: Option<Uuid>,
}

/// Records a backup as running.
pub async fn insert_running(tx: &mut Tx, b: &NewBackup, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO backups (id, kind, origin, status, engine, location, requested_by, started_at) \
             VALUES ($1, $2, $3, 'running', $4, $5, $6, $7)")
        .bind(b.id)
        .bind(&b.kind)
        .bind(&b.origin)
        .bind(&b.engine)
        .bind(&b.location)
        .bind(b.requested_by)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// Records a running backup as written (`unverified`) with its manifest and size.
/// Returns false when it was no longer running (an interrupted backup already failed).
pub async fn mark_written(tx: &mut Tx, id: Uuid, size: i64, manifest: &str, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE backups SET status = 'unverified', size_bytes = $2, manifest = $3, finished_at = $4 \
                 WHERE id = $1 AND status = 'running'")
            .bind(id)
            .bind(size)
            .bind(manifest)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Records that a backup failed (while being written, or at verification).
pub async fn mark_failed(tx: &mut Tx, id: Uuid, error: &str, verified: bool, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE backups SET status = 'failed', error = $2, finished_at = COALESCE(finished_at, $3), \
             verified_at = CASE WHEN $4 THEN $3 ELSE verified_at END WHERE id = $1")
        .bind(id)
        .bind(error)
        .bind(now)
        .bind(verified),
    )
    .await?;
    Ok(())
}

/// Records a passed verification: the backup is good.
pub async fn mark_good(tx: &mut Tx, id: Uuid, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE backups SET status = 'good', error = NULL, verified_at = $2 WHERE id = $1").bind(id).bind(now),
    )
    .await?;
    Ok(())
}

/// Records where the second copy went.
pub async fn set_copy(tx: &mut Tx, id: Uuid, location: &str) -> StoreResult<()> {
    tx.execute(sql("UPDATE backups SET copy_location = $2 WHERE id = $1").bind(id).bind(location)).await?;
    Ok(())
}

/// Records that retention removed a backup's files.
pub async fn mark_pruned(tx: &mut Tx, id: Uuid, now: Timestamp) -> StoreResult<()> {
    tx.execute(sql("UPDATE backups SET pruned_at = $2 WHERE id = $1 AND pruned_at IS NULL").bind(id).bind(now)).await?;
    Ok(())
}

/// Shows that a running backup's process is alive.
pub async fn heartbeat(db: &Db, id: Uuid, now: Timestamp) -> StoreResult<()> {
    let mut tx = db.begin().await?;
    tx.execute(sql("UPDATE backups SET heartbeat_at = $2 WHERE id = $1 AND status = 'running'").bind(id).bind(now))
        .await?;
    tx.commit().await
}

/// Fails backups still `running` whose last sign of life (heartbeat, or start) is before
/// `before` — their process died — and returns them, so their partial files can be removed.
pub async fn fail_interrupted(tx: &mut Tx, before: Timestamp, now: Timestamp) -> StoreResult<Vec<BackupRow>> {
    let rows: Vec<BackupRow> = tx
        .fetch_all(
            crate::db::dynamic_sql(format!(
                "UPDATE backups SET status = 'failed', finished_at = $2, \
                 error = 'interrupted: the process writing it stopped before it finished' \
                 WHERE status = 'running' AND COALESCE(heartbeat_at, started_at) < $1 RETURNING {COLUMNS}"
            ))
            .bind(before)
            .bind(now),
        )
        .await?;
    Ok(rows)
}

/// One backup.
pub async fn get(db: &Db, id: Uuid) -> StoreResult<Option<BackupRow>> {
    db.fetch_optional(crate::db::dynamic_sql(format!("SELECT {COLUMNS} FROM backups WHERE id = $1")).bind(id)).await
}

/// The newest backups first.
pub async fn list(db: &Db, limit: i64, offset: i64) -> StoreResult<(Vec<BackupRow>, i64)> {
    let rows = db
        .fetch_all(
            crate::db::dynamic_sql(format!(
                "SELECT {COLUMNS} FROM backups ORDER BY started_at DESC, id DESC LIMIT $1 OFFSET $2"
            ))
            .bind(limit)
            .bind(offset),
        )
        .await?;
    let (total,): (i64,) = db.fetch_one(sql("SELECT COUNT(*) FROM backups")).await?;
    Ok((rows, total))
}

/// Every backup whose files are still there (for retention), oldest first.
pub async fn stored(db: &Db) -> StoreResult<Vec<BackupRow>> {
    db.fetch_all(crate::db::dynamic_sql(format!(
        "SELECT {COLUMNS} FROM backups WHERE pruned_at IS NULL ORDER BY started_at, id"
    )))
    .await
}

/// The newest good backup whose files are still there.
pub async fn last_good(db: &Db) -> StoreResult<Option<BackupRow>> {
    db.fetch_optional(crate::db::dynamic_sql(format!(
        "SELECT {COLUMNS} FROM backups WHERE status = 'good' AND pruned_at IS NULL \
         ORDER BY started_at DESC, id DESC LIMIT 1"
    )))
    .await
}

/// The backup schedule.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ScheduleRow {
    /// Scheduled backups run.
    pub enabled: bool,
    /// What they hold.
    pub kind: String,
    /// Minutes after local midnight.
    pub run_at_minute: i64,
    /// The zone of that local time (IANA).
    pub time_zone: String,
    /// Retention: days.
    pub keep_daily: i64,
    /// Retention: ISO weeks.
    pub keep_weekly: i64,
    /// Retention: months.
    pub keep_monthly: i64,
    /// A second folder (an off-machine mount) that receives a copy of each good backup.
    pub copy_dir: Option<String>,
    /// Changed.
    pub updated_at: DbTime,
    /// By.
    pub updated_by: Option<Uuid>,
}

/// The schedule, once set.
pub async fn schedule(db: &Db) -> StoreResult<Option<ScheduleRow>> {
    db.fetch_optional(sql(
        "SELECT enabled, kind, run_at_minute, time_zone, keep_daily, keep_weekly, keep_monthly, copy_dir, \
         updated_at, updated_by FROM backup_schedule WHERE id = 1",
    ))
    .await
}

/// Sets the schedule. With `only_if_missing`, leaves one that exists alone (the default
/// schedule a new installation starts with). Returns whether it wrote.
pub async fn save_schedule(tx: &mut Tx, s: &ScheduleRow, only_if_missing: bool) -> StoreResult<bool> {
    let conflict = if only_if_missing {
        "DO NOTHING"
    } else {
        "DO UPDATE SET enabled = excluded.enabled, kind = excluded.kind, run_at_minute = excluded.run_at_minute, \
         time_zone = excluded.time_zone, keep_daily = excluded.keep_daily, keep_weekly = excluded.keep_weekly, \
         keep_monthly = excluded.keep_monthly, copy_dir = excluded.copy_dir, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by"
    };
    let n = tx
        .execute(
            crate::db::dynamic_sql(format!(
                "INSERT INTO backup_schedule (id, enabled, kind, run_at_minute, time_zone, keep_daily, keep_weekly, \
                 keep_monthly, copy_dir, updated_at, updated_by) VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (id) {conflict}"
            ))
            .bind(s.enabled)
            .bind(&s.kind)
            .bind(s.run_at_minute)
            .bind(&s.time_zone)
            .bind(s.keep_daily)
            .bind(s.keep_weekly)
            .bind(s.keep_monthly)
            .bind(s.copy_dir.clone())
            .bind(s.updated_at.0)
            .bind(s.updated_by),
        )
        .await?;
    Ok(n == 1)
}
