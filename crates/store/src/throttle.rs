//! Login throttling counters, kept in the database so the limit holds across instances.
//! Increments are single atomic upserts, so concurrent failures are all counted.

use crate::codec::DbTime;
use crate::db::{Db, Tx, sql};
use crate::error::StoreResult;
use jiff::Timestamp;

/// The latest lock-out among `keys` that is still in force at `now`.
pub async fn locked_until(db: &Db, keys: [&str; 2], now: Timestamp) -> StoreResult<Option<Timestamp>> {
    let (t,): (Option<DbTime>,) = db
        .fetch_one(
            sql("SELECT MAX(locked_until) FROM login_throttle WHERE key IN ($1, $2) AND locked_until > $3")
                .bind(keys[0])
                .bind(keys[1])
                .bind(now),
        )
        .await?;
    Ok(t.map(|t| t.0))
}

/// Counts one failure for `key`; a window that began before `window_floor` starts over.
/// Returns the failures in the current window, this one included.
pub async fn record_failure(tx: &mut Tx, key: &str, now: Timestamp, window_floor: Timestamp) -> StoreResult<i64> {
    let (n,): (i64,) = tx
        .fetch_one(
            sql(
                "INSERT INTO login_throttle (key, failures, window_started_at, locked_until) VALUES ($1, 1, $2, NULL) \
                 ON CONFLICT (key) DO UPDATE SET \
                 failures = CASE WHEN login_throttle.window_started_at < $3 THEN 1 \
                                 ELSE login_throttle.failures + 1 END, \
                 window_started_at = CASE WHEN login_throttle.window_started_at < $3 THEN $2 \
                                          ELSE login_throttle.window_started_at END \
                 RETURNING failures",
            )
            .bind(key)
            .bind(now)
            .bind(window_floor),
        )
        .await?;
    Ok(n)
}

/// Locks `key` out until `until`.
pub async fn lock(tx: &mut Tx, key: &str, until: Timestamp) -> StoreResult<()> {
    tx.execute(sql("UPDATE login_throttle SET locked_until = $2 WHERE key = $1").bind(key).bind(until)).await?;
    Ok(())
}

/// Forgets the counter for `key` (after a successful login).
pub async fn clear(tx: &mut Tx, key: &str) -> StoreResult<()> {
    tx.execute(sql("DELETE FROM login_throttle WHERE key = $1").bind(key)).await?;
    Ok(())
}

/// Removes counters whose window and lock both ended before `before` (housekeeping).
pub async fn purge(tx: &mut Tx, before: Timestamp) -> StoreResult<u64> {
    tx.execute(
        sql("DELETE FROM login_throttle WHERE window_started_at < $1 AND (locked_until IS NULL OR locked_until < $1)")
            .bind(before),
    )
    .await
}
