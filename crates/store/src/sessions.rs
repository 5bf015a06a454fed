//! Sessions: only the SHA-256 of each token is stored, so a copy of the database does
//! not let anyone log in.

use crate::codec::DbTime;
use crate::db::{Db, Tx, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::{SessionId, UserId};
use uuid::Uuid;

/// A new session to store.
#[derive(Clone, Debug)]
pub struct NewSession {
    /// Id.
    pub id: SessionId,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// Whose.
    pub user_id: UserId,
    /// `browser` (cookie) or `api` (bearer).
    pub kind: &'static str,
    /// Created.
    pub created_at: Timestamp,
    /// Expires unless used again (sliding).
    pub expires_at: Timestamp,
    /// Client address.
    pub ip: Option<String>,
    /// Client software.
    pub user_agent: Option<String>,
}

/// Stores a session.
pub async fn insert(tx: &mut Tx, s: &NewSession) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO sessions (id, token_hash, user_id, kind, created_at, expires_at, last_seen_at, revoked_at, \
             ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $5, NULL, $7, $8)")
        .bind(s.id)
        .bind(&s.token_hash)
        .bind(s.user_id)
        .bind(s.kind)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.ip.clone())
        .bind(s.user_agent.clone()),
    )
    .await?;
    Ok(())
}

/// A live session joined with its (active) user.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LiveSession {
    /// Session id.
    pub id: Uuid,
    /// `browser` or `api`.
    pub kind: String,
    /// Created.
    pub created_at: DbTime,
    /// Current expiry.
    pub expires_at: DbTime,
    /// Last use (updated at most every few minutes).
    pub last_seen_at: DbTime,
    /// User id.
    pub user_id: Uuid,
    /// User email.
    pub email: String,
    /// User name.
    pub full_name: String,
    /// User roles.
    pub roles: String,
}

/// The unexpired, unrevoked session with this token hash whose user is active.
pub async fn find_live(db: &Db, token_hash: &str, now: Timestamp) -> StoreResult<Option<LiveSession>> {
    db.fetch_optional(
        sql("SELECT s.id, s.kind, s.created_at, s.expires_at, s.last_seen_at, u.id AS user_id, \
             u.email, u.full_name, u.roles FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.active = TRUE")
        .bind(token_hash)
        .bind(now),
    )
    .await
}

/// Records use and slides the expiry forward.
pub async fn touch(tx: &mut Tx, id: SessionId, now: Timestamp, expires_at: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .bind(expires_at),
    )
    .await?;
    Ok(())
}

/// Ends one session.
pub async fn revoke(tx: &mut Tx, id: SessionId, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(sql("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL").bind(id).bind(now))
        .await?;
    Ok(n == 1)
}

/// Ends every session of a user, optionally keeping one (the one that changed the
/// password). Returns how many ended.
pub async fn revoke_all_for_user(
    tx: &mut Tx,
    user: UserId,
    now: Timestamp,
    keep: Option<SessionId>,
) -> StoreResult<u64> {
    tx.execute(
        sql("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL \
             AND ($3 IS NULL OR id <> $3)")
        .bind(user)
        .bind(now)
        .bind(keep),
    )
    .await
}

/// Deletes sessions that ended more than a retention period ago (housekeeping).
pub async fn purge_ended(tx: &mut Tx, before: Timestamp) -> StoreResult<u64> {
    tx.execute(
        sql("DELETE FROM sessions WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1)").bind(before),
    )
    .await
}
