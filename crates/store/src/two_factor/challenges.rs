//! The step between a correct password and the second factor: a short-lived, single-use
//! token (only its SHA-256 is stored) that lets the holder type a code, or enrol, for
//! one account — and nothing else.

use crate::codec::DbTime;
use crate::db::{Db, Tx, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::UserId;
use uuid::Uuid;

/// A challenge to store.
#[derive(Clone, Debug)]
pub struct NewChallenge {
    /// Id.
    pub id: Uuid,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// Whose login it continues.
    pub user_id: UserId,
    /// `verify` or `enrol`.
    pub purpose: &'static str,
    /// `browser` or `api`: the session it will open.
    pub session_kind: &'static str,
    /// Created.
    pub created_at: Timestamp,
    /// After this the password must be typed again.
    pub expires_at: Timestamp,
}

/// Stores a challenge.
pub async fn insert(tx: &mut Tx, c: &NewChallenge) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO login_challenges (id, token_hash, user_id, purpose, session_kind, created_at, expires_at, \
             used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)")
        .bind(c.id)
        .bind(&c.token_hash)
        .bind(c.user_id)
        .bind(c.purpose)
        .bind(c.session_kind)
        .bind(c.created_at)
        .bind(c.expires_at),
    )
    .await?;
    Ok(())
}

/// A live challenge with its (active) account.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LiveChallenge {
    /// Id.
    pub id: Uuid,
    /// Whose.
    pub user_id: Uuid,
    /// `verify` or `enrol`.
    pub purpose: String,
    /// `browser` or `api`.
    pub session_kind: String,
    /// When it ends.
    pub expires_at: DbTime,
}

/// The unused, unexpired challenge with this token hash whose account is active.
pub async fn find_live(db: &Db, token_hash: &str, now: Timestamp) -> StoreResult<Option<LiveChallenge>> {
    db.fetch_optional(
        sql("SELECT c.id, c.user_id, c.purpose, c.session_kind, c.expires_at FROM login_challenges c \
             JOIN users u ON u.id = c.user_id \
             WHERE c.token_hash = $1 AND c.used_at IS NULL AND c.expires_at > $2 AND u.active = TRUE")
        .bind(token_hash)
        .bind(now),
    )
    .await
}

/// Uses the challenge up; false when it was already used (a second request with it).
pub async fn finish(tx: &mut Tx, id: Uuid, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(sql("UPDATE login_challenges SET used_at = $2 WHERE id = $1 AND used_at IS NULL").bind(id).bind(now))
        .await?;
    Ok(n == 1)
}

/// Deletes challenges that ended before `before` (housekeeping).
pub async fn purge(tx: &mut Tx, before: Timestamp) -> StoreResult<u64> {
    tx.execute(sql("DELETE FROM login_challenges WHERE expires_at < $1").bind(before)).await
}
