//! Two-factor login: SQL for each account's authenticator secret, its recovery codes,
//! the step between password and code ([`challenges`]) and the per-role requirement.

pub mod challenges;

use crate::codec::DbTime;
use crate::db::{Db, Tx, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::UserId;

/// An account's authenticator secret.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SecondFactorRow {
    /// The secret, sealed with the key ring.
    pub secret_sealed: String,
    /// When it was drawn.
    pub created_at: DbTime,
    /// When the first code confirmed it; until then it is only an enrolment in progress.
    pub confirmed_at: Option<DbTime>,
    /// The time step of the last code accepted.
    pub last_used_step: i64,
}

const SELECT_FACTOR: &str =
    "SELECT secret_sealed, created_at, confirmed_at, last_used_step FROM user_second_factors WHERE user_id = $1";

/// The account's secret, confirmed or not.
pub async fn of_user(db: &Db, user: UserId) -> StoreResult<Option<SecondFactorRow>> {
    db.fetch_optional(sql(SELECT_FACTOR).bind(user)).await
}

/// The account's secret, read inside a write transaction.
pub async fn of_user_tx(tx: &mut Tx, user: UserId) -> StoreResult<Option<SecondFactorRow>> {
    tx.fetch_optional(sql(SELECT_FACTOR).bind(user)).await
}

/// Starts an enrolment with a new secret, replacing an unconfirmed one. Returns false
/// (and changes nothing) when the account already has a confirmed secret.
pub async fn start(tx: &mut Tx, user: UserId, secret_sealed: &str, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("INSERT INTO user_second_factors (user_id, secret_sealed, created_at, confirmed_at, last_used_step) \
                 VALUES ($1, $2, $3, NULL, 0) ON CONFLICT (user_id) DO UPDATE SET \
                 secret_sealed = excluded.secret_sealed, created_at = excluded.created_at, last_used_step = 0 \
                 WHERE user_second_factors.confirmed_at IS NULL")
            .bind(user)
            .bind(secret_sealed)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Records that a code of time step `step` was accepted, if no code of that step or a
/// later one was before (the check and the write are one statement, so two requests
/// with the same code cannot both pass). `confirm` also marks an enrolment confirmed;
/// otherwise only a confirmed secret counts.
pub async fn use_step(tx: &mut Tx, user: UserId, step: i64, now: Timestamp, confirm: bool) -> StoreResult<bool> {
    let q = if confirm {
        sql("UPDATE user_second_factors SET last_used_step = $2, confirmed_at = $3 \
             WHERE user_id = $1 AND last_used_step < $2 AND confirmed_at IS NULL")
        .bind(user)
        .bind(step)
        .bind(now)
    } else {
        sql("UPDATE user_second_factors SET last_used_step = $2 \
             WHERE user_id = $1 AND last_used_step < $2 AND confirmed_at IS NOT NULL")
        .bind(user)
        .bind(step)
    };
    Ok(tx.execute(q).await? == 1)
}

/// Removes the account's secret and recovery codes (turned off, or reset by an
/// administrator). Returns whether there was a secret.
pub async fn remove(tx: &mut Tx, user: UserId) -> StoreResult<bool> {
    tx.execute(sql("DELETE FROM recovery_codes WHERE user_id = $1").bind(user)).await?;
    Ok(tx.execute(sql("DELETE FROM user_second_factors WHERE user_id = $1").bind(user)).await? == 1)
}

/// Replaces the account's recovery codes with these hashes.
pub async fn replace_recovery_codes(tx: &mut Tx, user: UserId, hashes: &[String], now: Timestamp) -> StoreResult<()> {
    tx.execute(sql("DELETE FROM recovery_codes WHERE user_id = $1").bind(user)).await?;
    for h in hashes {
        tx.execute(
            sql("INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) VALUES ($1, $2, $3, NULL)")
                .bind(user)
                .bind(h)
                .bind(now),
        )
        .await?;
    }
    Ok(())
}

/// Uses up the unused recovery code with this hash; false when there is none.
pub async fn use_recovery_code(tx: &mut Tx, user: UserId, hash: &str, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
                .bind(user)
                .bind(hash)
                .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Unused recovery codes the account has left.
pub async fn recovery_codes_left(db: &Db, user: UserId) -> StoreResult<i64> {
    let (n,): (i64,) = db
        .fetch_one(sql("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL").bind(user))
        .await?;
    Ok(n)
}

/// Unused recovery codes left, counted inside a write transaction.
pub async fn recovery_codes_left_tx(tx: &mut Tx, user: UserId) -> StoreResult<i64> {
    let (n,): (i64,) = tx
        .fetch_one(sql("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL").bind(user))
        .await?;
    Ok(n)
}

/// The stored list of roles that must use a second factor (`admin,staff`); empty when
/// none was ever set.
pub async fn required_roles(db: &Db) -> StoreResult<String> {
    let row: Option<(String,)> =
        db.fetch_optional(sql("SELECT required_roles FROM second_factor_policy WHERE id = 1")).await?;
    Ok(row.map(|(r,)| r).unwrap_or_default())
}

/// Sets which roles must use a second factor.
pub async fn set_required_roles(tx: &mut Tx, roles: &str, now: Timestamp, by: Option<UserId>) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO second_factor_policy (id, required_roles, updated_at, updated_by) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET required_roles = excluded.required_roles, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by")
        .bind(roles)
        .bind(now)
        .bind(by),
    )
    .await?;
    Ok(())
}
