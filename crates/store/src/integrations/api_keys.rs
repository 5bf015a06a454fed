//! API keys. Only the SHA-256 of each key is stored (keys are 256 random bits, so a
//! fast hash is enough), with a short prefix for people to tell keys apart.

use crate::codec::DbTime;
use crate::db::{Db, Tx, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::UserId;
use uuid::Uuid;

/// A key to store.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    /// Id.
    pub id: Uuid,
    /// What it is for ("Lab results import").
    pub name: String,
    /// The first characters of the key.
    pub prefix: String,
    /// Hex SHA-256 of the key.
    pub token_hash: String,
    /// `admin` or `staff`.
    pub role: String,
    /// Whether it may change nothing.
    pub read_only: bool,
    /// Comma-separated areas.
    pub areas: String,
    /// Who made it.
    pub created_by: Option<UserId>,
}

/// A stored key (never the key itself).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApiKeyRow {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The first characters of the key.
    pub prefix: String,
    /// `admin` or `staff`.
    pub role: String,
    /// Read-only?
    pub read_only: bool,
    /// Comma-separated areas.
    pub areas: String,
    /// Created.
    pub created_at: DbTime,
    /// Who made it (their name), if the account still exists.
    pub created_by_name: Option<String>,
    /// Last request made with it (recorded at most once a minute).
    pub last_used_at: Option<DbTime>,
    /// Where that request came from.
    pub last_used_ip: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<DbTime>,
}

/// A SELECT of [`ApiKeyRow`]s followed by `$tail`.
macro_rules! select_keys {
    ($tail:literal) => {
        concat!(
            "SELECT k.id, k.name, k.prefix, k.role, k.read_only, k.areas, k.created_at, \
             u.full_name AS created_by_name, k.last_used_at, k.last_used_ip, k.revoked_at \
             FROM api_keys k LEFT JOIN users u ON u.id = k.created_by ",
            $tail
        )
    };
}

/// Stores a new key.
pub async fn insert(tx: &mut Tx, k: &NewApiKey, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO api_keys (id, name, prefix, token_hash, role, read_only, areas, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(k.id)
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&k.token_hash)
        .bind(&k.role)
        .bind(k.read_only)
        .bind(&k.areas)
        .bind(now)
        .bind(k.created_by),
    )
    .await?;
    Ok(())
}

/// Every key, newest first (revoked ones too: their history matters).
pub async fn list(db: &Db) -> StoreResult<Vec<ApiKeyRow>> {
    db.fetch_all(sql(select_keys!("ORDER BY k.created_at DESC, k.id DESC"))).await
}

/// One key.
pub async fn get(db: &Db, id: Uuid) -> StoreResult<Option<ApiKeyRow>> {
    db.fetch_optional(sql(select_keys!("WHERE k.id = $1")).bind(id)).await
}

/// The key with this hash, revoked or not.
pub async fn by_hash(db: &Db, token_hash: &str) -> StoreResult<Option<ApiKeyRow>> {
    db.fetch_optional(sql(select_keys!("WHERE k.token_hash = $1")).bind(token_hash)).await
}

/// Records a use of the key.
pub async fn touch(tx: &mut Tx, id: Uuid, now: Timestamp, ip: Option<String>) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE api_keys SET last_used_at = $2, last_used_ip = $3 WHERE id = $1").bind(id).bind(now).bind(ip),
    )
    .await?;
    Ok(())
}

/// Revokes a live key. Returns whether it was live.
pub async fn revoke(tx: &mut Tx, id: Uuid, by: Option<UserId>, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE api_keys SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(now)
                .bind(by),
        )
        .await?;
    Ok(n == 1)
}
