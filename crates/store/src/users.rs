//! Accounts: SQL for the `users` table.

use crate::codec::DbTime;
use crate::db::{Backend, Db, Tx, Where, dynamic_sql, like_contains, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::UserId;
use uuid::Uuid;

/// A stored account.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    /// Id.
    pub id: Uuid,
    /// Normalised (lower-case) email.
    pub email: String,
    /// Full name.
    pub full_name: String,
    /// Normalised phone number.
    pub phone: Option<String>,
    /// Comma-separated roles (`admin,provider`).
    pub roles: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Inactive users cannot log in.
    pub active: bool,
    /// Created.
    pub created_at: DbTime,
    /// Last changed.
    pub updated_at: DbTime,
    /// When the password was last set.
    pub password_changed_at: DbTime,
    /// Last successful login.
    pub last_login_at: Option<DbTime>,
}

const COLUMNS: &str = "id, email, full_name, phone, roles, password_hash, active, created_at, updated_at, \
                       password_changed_at, last_login_at";

/// Inserts a new account. A taken email fails with a unique violation on `email`.
pub async fn insert(tx: &mut Tx, u: &UserRow) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO users (id, email, full_name, phone, roles, password_hash, active, created_at, updated_at, \
             password_changed_at, last_login_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .bind(u.id)
        .bind(&u.email)
        .bind(&u.full_name)
        .bind(u.phone.clone())
        .bind(&u.roles)
        .bind(&u.password_hash)
        .bind(u.active)
        .bind(u.created_at.0)
        .bind(u.updated_at.0)
        .bind(u.password_changed_at.0)
        .bind(u.last_login_at.map(|t| t.0)),
    )
    .await?;
    Ok(())
}

/// One account by id.
pub async fn by_id(db: &Db, id: UserId) -> StoreResult<Option<UserRow>> {
    db.fetch_optional(sql(BY_ID).bind(id)).await
}

/// One account by id, inside a write transaction (to decide on fresh data).
pub async fn by_id_tx(tx: &mut Tx, id: UserId) -> StoreResult<Option<UserRow>> {
    tx.fetch_optional(sql(BY_ID).bind(id)).await
}

const BY_ID: &str = "SELECT id, email, full_name, phone, roles, password_hash, active, created_at, updated_at, \
                     password_changed_at, last_login_at FROM users WHERE id = $1";

/// One account by normalised email.
pub async fn by_email(db: &Db, email: &str) -> StoreResult<Option<UserRow>> {
    db.fetch_optional(
        sql("SELECT id, email, full_name, phone, roles, password_hash, active, created_at, updated_at, \
             password_changed_at, last_login_at FROM users WHERE email = $1")
        .bind(email),
    )
    .await
}

/// Filters for the user list.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    /// Part of the name or email (case-insensitive).
    pub text: Option<String>,
    /// Holding this role.
    pub role: Option<String>,
    /// Active or not.
    pub active: Option<bool>,
}

/// A page of accounts ordered by name, and the total that match.
pub async fn list(db: &Db, f: &UserFilter, limit: i64, offset: i64) -> StoreResult<(Vec<UserRow>, i64)> {
    let mut w = Where::new();
    if let Some(t) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        w.and_many(
            |p| format!("lower(full_name) LIKE {p} ESCAPE '\\' OR email LIKE {p} ESCAPE '\\'"),
            like_contains(&t.to_lowercase()),
        );
    }
    if let Some(r) = &f.role {
        w.and(|p| format!("(',' || roles || ',') LIKE {p}"), format!("%,{r},%"));
    }
    if let Some(a) = f.active {
        w.and(|p| format!("active = {p}"), a);
    }
    let (total,): (i64,) = db.fetch_one(w.query("SELECT COUNT(*) FROM users", "")).await?;
    let rows = db
        .fetch_all(w.query(
            &format!("SELECT {COLUMNS} FROM users"),
            &format!(" ORDER BY lower(full_name), email LIMIT {} OFFSET {}", limit.clamp(1, 500), offset.max(0)),
        ))
        .await?;
    Ok((rows, total))
}

/// Updates name, phone and roles.
pub async fn update_profile(
    tx: &mut Tx,
    id: UserId,
    full_name: &str,
    phone: Option<&str>,
    roles: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE users SET full_name = $2, phone = $3, roles = $4, updated_at = $5 WHERE id = $1")
                .bind(id)
                .bind(full_name)
                .bind(phone)
                .bind(roles)
                .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Activates or deactivates an account.
pub async fn set_active(tx: &mut Tx, id: UserId, active: bool, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(sql("UPDATE users SET active = $2, updated_at = $3 WHERE id = $1").bind(id).bind(active).bind(now))
        .await?;
    Ok(n == 1)
}

/// Replaces the password hash.
pub async fn set_password(tx: &mut Tx, id: UserId, hash: &str, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(hash)
                .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Records a successful login.
pub async fn touch_login(tx: &mut Tx, id: UserId, now: Timestamp) -> StoreResult<()> {
    tx.execute(sql("UPDATE users SET last_login_at = $2 WHERE id = $1").bind(id).bind(now)).await?;
    Ok(())
}

/// How many accounts exist (the demo seeds only an empty database).
pub async fn count(db: &Db) -> StoreResult<i64> {
    let (n,): (i64,) = db.fetch_one(sql("SELECT COUNT(*) FROM users")).await?;
    Ok(n)
}

/// Active administrators other than `except` (an account must never remove the last one).
/// On PostgreSQL the query locks every active administrator's row, so two transactions
/// each removing a different administrator are taken one after the other, and the second
/// sees what the first left: a row whose roles changed meanwhile no longer matches (SQLite
/// has one writer at a time anyway).
pub async fn count_active_admins_except(tx: &mut Tx, except: UserId) -> StoreResult<i64> {
    const ADMINS: &str =
        "SELECT id FROM users WHERE active = TRUE AND (',' || roles || ',') LIKE '%,admin,%' ORDER BY id";
    let q = match tx.backend() {
        Backend::Postgres => dynamic_sql(format!("{ADMINS} FOR UPDATE")),
        Backend::Sqlite => sql(ADMINS),
    };
    let admins: Vec<(Uuid,)> = tx.fetch_all(q).await?;
    Ok(admins.iter().filter(|(id,)| *id != except.0).count() as i64)
}
