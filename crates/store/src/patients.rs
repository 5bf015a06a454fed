//! Patient records (the core demographics used by scheduling).

use crate::codec::{DbDate, DbTime};
use crate::db::{Db, Tx, Where, like_contains, sql};
use crate::error::StoreResult;
use praxis_domain::{PatientId, UserId};
use uuid::Uuid;

/// A patient.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PatientRow {
    /// Id.
    pub id: Uuid,
    /// Their portal account, if any.
    pub user_id: Option<Uuid>,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Email (normalised).
    pub email: Option<String>,
    /// Phone (normalised).
    pub phone: Option<String>,
    /// Date of birth.
    pub date_of_birth: Option<DbDate>,
    /// Not archived.
    pub active: bool,
    /// Created.
    pub created_at: DbTime,
    /// Changed.
    pub updated_at: DbTime,
}

const SELECT: &str = "SELECT id, user_id, given_name, family_name, email, phone, date_of_birth, active, created_at, \
                      updated_at FROM patients";

/// Inserts a patient.
pub async fn insert(tx: &mut Tx, p: &PatientRow) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO patients (id, user_id, given_name, family_name, email, phone, date_of_birth, active, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(p.id)
        .bind(p.user_id)
        .bind(&p.given_name)
        .bind(&p.family_name)
        .bind(p.email.clone())
        .bind(p.phone.clone())
        .bind(p.date_of_birth.map(|d| d.0))
        .bind(p.active)
        .bind(p.created_at.0)
        .bind(p.updated_at.0),
    )
    .await?;
    Ok(())
}

/// One patient.
pub async fn get(db: &Db, id: PatientId) -> StoreResult<Option<PatientRow>> {
    db.fetch_optional(crate::db::dynamic_sql(format!("{SELECT} WHERE id = $1")).bind(id)).await
}

/// One patient, inside a write transaction.
pub async fn get_tx(tx: &mut Tx, id: PatientId) -> StoreResult<Option<PatientRow>> {
    tx.fetch_optional(crate::db::dynamic_sql(format!("{SELECT} WHERE id = $1")).bind(id)).await
}

/// The patient record linked to a portal account.
pub async fn of_user(db: &Db, user: UserId) -> StoreResult<Option<PatientRow>> {
    db.fetch_optional(crate::db::dynamic_sql(format!("{SELECT} WHERE user_id = $1")).bind(user)).await
}

/// Patients whose name, email or phone contains `text` (case-insensitive), by name.
pub async fn search(db: &Db, text: Option<&str>, limit: i64, offset: i64) -> StoreResult<(Vec<PatientRow>, i64)> {
    let mut w = Where::new();
    if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
        w.and_many(
            |p| {
                format!(
                    "lower(given_name || ' ' || family_name) LIKE {p} ESCAPE '\\' OR lower(email) LIKE {p} ESCAPE '\\' \
                     OR phone LIKE {p} ESCAPE '\\'"
                )
            },
            like_contains(&t.to_lowercase()),
        );
    }
    let (total,): (i64,) = db.fetch_one(w.query("SELECT COUNT(*) FROM patients", "")).await?;
    let rows = db
        .fetch_all(w.query(
            SELECT,
            &format!(
                " ORDER BY lower(family_name), lower(given_name) LIMIT {} OFFSET {}",
                limit.clamp(1, 500),
                offset.max(0)
            ),
        ))
        .await?;
    Ok((rows, total))
}
