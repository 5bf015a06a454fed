//! Weekly availability windows, dated exceptions and clinic closures.

use crate::codec::{DbDate, DbTime};
use crate::db::{Db, Tx, sql};
use crate::error::StoreResult;
use jiff::civil::Date;
use praxis_domain::{AvailabilityWindowId, ClinicId, ClosureId, ExceptionId, ProviderId};
use uuid::Uuid;

/// A weekly window: `weekday` 1 = Monday … 7 = Sunday; minutes since local midnight.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct WindowRow {
    /// Id.
    pub id: Uuid,
    /// Whose.
    pub provider_id: Uuid,
    /// Where.
    pub clinic_id: Uuid,
    /// ISO weekday.
    pub weekday: i64,
    /// Local start, minutes after midnight.
    pub start_min: i64,
    /// Local end, minutes after midnight (up to 1440).
    pub end_min: i64,
    /// First date it applies.
    pub valid_from: Option<DbDate>,
    /// Last date it applies.
    pub valid_until: Option<DbDate>,
    /// Created.
    pub created_at: DbTime,
}

const WINDOW_SELECT: &str = "SELECT id, provider_id, clinic_id, weekday, start_min, end_min, valid_from, valid_until, \
                             created_at FROM availability_windows";

/// Adds a window.
pub async fn insert_window(tx: &mut Tx, w: &WindowRow) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO availability_windows (id, provider_id, clinic_id, weekday, start_min, end_min, valid_from, \
             valid_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(w.id)
        .bind(w.provider_id)
        .bind(w.clinic_id)
        .bind(w.weekday)
        .bind(w.start_min)
        .bind(w.end_min)
        .bind(w.valid_from.map(|d| d.0))
        .bind(w.valid_until.map(|d| d.0))
        .bind(w.created_at.0),
    )
    .await?;
    Ok(())
}

/// Removes a window of a provider; false when there was none.
pub async fn delete_window(tx: &mut Tx, provider: ProviderId, id: AvailabilityWindowId) -> StoreResult<bool> {
    Ok(tx
        .execute(sql("DELETE FROM availability_windows WHERE id = $1 AND provider_id = $2").bind(id).bind(provider))
        .await?
        == 1)
}

/// A provider's windows (all clinics), read inside a write transaction.
pub async fn windows_of_tx(tx: &mut Tx, provider: ProviderId) -> StoreResult<Vec<WindowRow>> {
    tx.fetch_all(
        crate::db::dynamic_sql(format!("{WINDOW_SELECT} WHERE provider_id = $1 ORDER BY weekday, start_min"))
            .bind(provider),
    )
    .await
}

/// A provider's windows (all clinics).
pub async fn windows_of(db: &Db, provider: ProviderId) -> StoreResult<Vec<WindowRow>> {
    db.fetch_all(
        crate::db::dynamic_sql(format!("{WINDOW_SELECT} WHERE provider_id = $1 ORDER BY weekday, start_min"))
            .bind(provider),
    )
    .await
}

/// Windows of the providers a slot search can show (every provider offering the service,
/// or those `scope` narrows to), at the clinic asked for if any — one query for a whole
/// search.
pub async fn windows_for_service(db: &Db, scope: &crate::catalog::SearchScope) -> StoreResult<Vec<WindowRow>> {
    let mut q = crate::db::dynamic_sql(String::new());
    let mut cond = scope.provider_condition(&mut q, "provider_id");
    if let Some(c) = scope.clinic {
        cond.push_str(&format!(" AND clinic_id = {}", q.push_arg(c)));
    }
    q.push_sql(&format!("{WINDOW_SELECT} WHERE {cond}"));
    db.fetch_all(q).await
}

/// A dated exception: `kind` is `closed` or `hours` (then `hours` is a JSON list of
/// `[start_min, end_min]` pairs). `clinic_id` None = at every clinic.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ExceptionRow {
    /// Id.
    pub id: Uuid,
    /// Whose.
    pub provider_id: Uuid,
    /// Where (None = everywhere).
    pub clinic_id: Option<Uuid>,
    /// First date.
    pub from_date: DbDate,
    /// Last date (inclusive).
    pub until_date: DbDate,
    /// `closed` or `hours`.
    pub kind: String,
    /// JSON `[[start_min, end_min], …]`.
    pub hours: String,
    /// Why (leave, training…).
    pub reason: String,
    /// Created.
    pub created_at: DbTime,
}

const EXCEPTION_SELECT: &str = "SELECT id, provider_id, clinic_id, from_date, until_date, kind, hours, reason, \
                                created_at FROM availability_exceptions";

/// Adds an exception.
pub async fn insert_exception(tx: &mut Tx, e: &ExceptionRow) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO availability_exceptions (id, provider_id, clinic_id, from_date, until_date, kind, hours, \
             reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(e.id)
        .bind(e.provider_id)
        .bind(e.clinic_id)
        .bind(e.from_date.0)
        .bind(e.until_date.0)
        .bind(&e.kind)
        .bind(&e.hours)
        .bind(&e.reason)
        .bind(e.created_at.0),
    )
    .await?;
    Ok(())
}

/// Removes an exception of a provider.
pub async fn delete_exception(tx: &mut Tx, provider: ProviderId, id: ExceptionId) -> StoreResult<bool> {
    Ok(tx
        .execute(sql("DELETE FROM availability_exceptions WHERE id = $1 AND provider_id = $2").bind(id).bind(provider))
        .await?
        == 1)
}

/// A provider's exceptions overlapping `[from, until]` (None = all).
pub async fn exceptions_of(
    db: &Db,
    provider: ProviderId,
    from: Option<Date>,
    until: Option<Date>,
) -> StoreResult<Vec<ExceptionRow>> {
    db.fetch_all(
        crate::db::dynamic_sql(format!(
            "{EXCEPTION_SELECT} WHERE provider_id = $1 AND ($2 IS NULL OR until_date >= $2) \
             AND ($3 IS NULL OR from_date <= $3) ORDER BY from_date"
        ))
        .bind(provider)
        .bind(from)
        .bind(until),
    )
    .await
}

/// Exceptions overlapping `[from, until]` of the providers a slot search can show, that
/// apply at the clinic asked for if any (those at that clinic or at every clinic).
pub async fn exceptions_for_service(
    db: &Db,
    scope: &crate::catalog::SearchScope,
    from: Date,
    until: Date,
) -> StoreResult<Vec<ExceptionRow>> {
    let mut q = crate::db::dynamic_sql(String::new());
    let mut cond = scope.provider_condition(&mut q, "provider_id");
    if let Some(c) = scope.clinic {
        cond.push_str(&format!(" AND (clinic_id IS NULL OR clinic_id = {})", q.push_arg(c)));
    }
    let f = q.push_arg(from);
    let u = q.push_arg(until);
    q.push_sql(&format!("{EXCEPTION_SELECT} WHERE {cond} AND until_date >= {f} AND from_date <= {u}"));
    db.fetch_all(q).await
}

/// A whole-day closure of a clinic.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClosureRow {
    /// Id.
    pub id: Uuid,
    /// Which clinic.
    pub clinic_id: Uuid,
    /// First date.
    pub from_date: DbDate,
    /// Last date (inclusive).
    pub until_date: DbDate,
    /// Why (public holiday…).
    pub reason: String,
    /// Created.
    pub created_at: DbTime,
}

/// Adds a closure.
pub async fn insert_closure(tx: &mut Tx, c: &ClosureRow) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO clinic_closures (id, clinic_id, from_date, until_date, reason, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(c.id)
        .bind(c.clinic_id)
        .bind(c.from_date.0)
        .bind(c.until_date.0)
        .bind(&c.reason)
        .bind(c.created_at.0),
    )
    .await?;
    Ok(())
}

/// Removes a closure of a clinic.
pub async fn delete_closure(tx: &mut Tx, clinic: ClinicId, id: ClosureId) -> StoreResult<bool> {
    Ok(tx.execute(sql("DELETE FROM clinic_closures WHERE id = $1 AND clinic_id = $2").bind(id).bind(clinic)).await?
        == 1)
}

/// Closures overlapping `[from, until]`, of one clinic or of all (None).
pub async fn closures(
    db: &Db,
    clinic: Option<ClinicId>,
    from: Option<Date>,
    until: Option<Date>,
) -> StoreResult<Vec<ClosureRow>> {
    db.fetch_all(
        sql("SELECT id, clinic_id, from_date, until_date, reason, created_at FROM clinic_closures \
             WHERE ($1 IS NULL OR clinic_id = $1) AND ($2 IS NULL OR until_date >= $2) \
             AND ($3 IS NULL OR from_date <= $3) ORDER BY from_date")
        .bind(clinic)
        .bind(from)
        .bind(until),
    )
    .await
}

/// Every provider's windows (the dashboard's capacity figures).
pub async fn all_windows(db: &Db) -> StoreResult<Vec<WindowRow>> {
    db.fetch_all(crate::db::dynamic_sql(WINDOW_SELECT.to_string())).await
}

/// Every provider's exceptions overlapping `[from, until]`.
pub async fn all_exceptions(db: &Db, from: Date, until: Date) -> StoreResult<Vec<ExceptionRow>> {
    db.fetch_all(
        crate::db::dynamic_sql(format!("{EXCEPTION_SELECT} WHERE until_date >= $1 AND from_date <= $2"))
            .bind(from)
            .bind(until),
    )
    .await
}
