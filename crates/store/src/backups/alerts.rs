//! Operational alerts: one row per incident, keyed so the same incident is raised (and
//! mailed) once however often the check that finds it runs.

use crate::codec::DbTime;
use crate::db::{Db, Tx, sql};
use crate::error::StoreResult;
use jiff::Timestamp;

/// An incident.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AlertRow {
    /// What makes it unique (`backup_failed:<id>`, `backup_stale:<last good id>`).
    pub key: String,
    /// Its kind (`backup_failed`, `backup_stale`, `message_dead`).
    pub kind: String,
    /// What happened, for the administrator.
    pub message: String,
    /// Raised.
    pub opened_at: DbTime,
    /// Cleared (by a later good backup, or by an administrator).
    pub resolved_at: Option<DbTime>,
}

/// Raises an incident. Returns false when it was raised before (nothing is written),
/// so the caller mails the administrators only the first time.
pub async fn open(tx: &mut Tx, key: &str, kind: &str, message: &str, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("INSERT INTO ops_alerts (key, kind, message, opened_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(kind)
            .bind(message)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Clears every open incident of `kind`. Returns how many.
pub async fn resolve_kind(tx: &mut Tx, kind: &str, now: Timestamp) -> StoreResult<u64> {
    tx.execute(
        sql("UPDATE ops_alerts SET resolved_at = $2 WHERE kind = $1 AND resolved_at IS NULL").bind(kind).bind(now),
    )
    .await
}

/// Clears one incident. Returns whether it was open.
pub async fn resolve(tx: &mut Tx, key: &str, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE ops_alerts SET resolved_at = $2 WHERE key = $1 AND resolved_at IS NULL").bind(key).bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Open incidents, newest first.
pub async fn open_alerts(db: &Db, limit: i64) -> StoreResult<Vec<AlertRow>> {
    db.fetch_all(
        sql("SELECT key, kind, message, opened_at, resolved_at FROM ops_alerts WHERE resolved_at IS NULL \
             ORDER BY opened_at DESC, key LIMIT $1")
        .bind(limit),
    )
    .await
}

/// How many incidents are open.
pub async fn open_count(db: &Db) -> StoreResult<(i64,)> {
    db.fetch_one(sql("SELECT COUNT(*) FROM ops_alerts WHERE resolved_at IS NULL")).await
}
