//! Clinics, specialties, providers and services, and who offers what where.

use crate::codec::DbTime;
use crate::db::{Db, Query, Tx, dynamic_sql, sql};
use crate::error::StoreResult;
use praxis_domain::{ClinicId, ProviderId, ServiceId, SpecialtyId, UserId};
use uuid::Uuid;

/// A clinic location.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClinicRow {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Street address (free text, several lines).
    pub address: String,
    /// Phone.
    pub phone: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// IANA time zone.
    pub time_zone: String,
    /// Open for bookings.
    pub active: bool,
    /// Created.
    pub created_at: DbTime,
    /// Changed.
    pub updated_at: DbTime,
}

/// Inserts or replaces a clinic.
pub async fn upsert_clinic(tx: &mut Tx, c: &ClinicRow) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO clinics (id, name, address, phone, email, time_zone, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             address = excluded.address, phone = excluded.phone, email = excluded.email, \
             time_zone = excluded.time_zone, active = excluded.active, updated_at = excluded.updated_at")
        .bind(c.id)
        .bind(&c.name)
        .bind(&c.address)
        .bind(c.phone.clone())
        .bind(c.email.clone())
        .bind(&c.time_zone)
        .bind(c.active)
        .bind(c.created_at.0)
        .bind(c.updated_at.0),
    )
    .await?;
    Ok(())
}

/// One clinic.
pub async fn clinic(db: &Db, id: ClinicId) -> StoreResult<Option<ClinicRow>> {
    db.fetch_optional(
        sql("SELECT id, name, address, phone, email, time_zone, active, created_at, updated_at FROM clinics \
             WHERE id = $1")
        .bind(id),
    )
    .await
}

/// Every clinic, by name.
pub async fn clinics(db: &Db) -> StoreResult<Vec<ClinicRow>> {
    db.fetch_all(sql(
        "SELECT id, name, address, phone, email, time_zone, active, created_at, updated_at FROM clinics ORDER BY name",
    ))
    .await
}

/// A specialty.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SpecialtyRow {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
}

/// Inserts a specialty (a name taken case-insensitively fails as unique on `specialties`).
pub async fn insert_specialty(tx: &mut Tx, id: SpecialtyId, name: &str, now: jiff::Timestamp) -> StoreResult<()> {
    tx.execute(sql("INSERT INTO specialties (id, name, created_at) VALUES ($1, $2, $3)").bind(id).bind(name).bind(now))
        .await?;
    Ok(())
}

/// Renames a specialty.
pub async fn rename_specialty(tx: &mut Tx, id: SpecialtyId, name: &str) -> StoreResult<bool> {
    Ok(tx.execute(sql("UPDATE specialties SET name = $2 WHERE id = $1").bind(id).bind(name)).await? == 1)
}

/// Every specialty, by name.
pub async fn specialties(db: &Db) -> StoreResult<Vec<SpecialtyRow>> {
    db.fetch_all(sql("SELECT id, name FROM specialties ORDER BY lower(name)")).await
}

/// A provider with the name and email of their account.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ProviderRow {
    /// Id.
    pub id: Uuid,
    /// Their login account.
    pub user_id: Uuid,
    /// Name (from the account).
    pub full_name: String,
    /// Email (from the account).
    pub email: String,
    /// Title ("Dr", "Clinical Psychologist").
    pub title: String,
    /// Biography.
    pub bio: String,
    /// Qualifications.
    pub qualifications: String,
    /// Standard consultation fee, minor units.
    pub fee_minor: Option<i64>,
    /// Its currency.
    pub fee_currency: Option<String>,
    /// Whether new patients may book.
    pub accepting_new_patients: bool,
    /// Calendar colour, `#rrggbb`.
    pub calendar_colour: String,
    /// Bookable at all.
    pub active: bool,
    /// Created.
    pub created_at: DbTime,
    /// Changed.
    pub updated_at: DbTime,
}

const PROVIDER_SELECT: &str = "SELECT p.id, p.user_id, u.full_name, u.email, p.title, p.bio, p.qualifications, \
    p.fee_minor, p.fee_currency, p.accepting_new_patients, p.calendar_colour, p.active, p.created_at, p.updated_at \
    FROM providers p JOIN users u ON u.id = p.user_id";

/// Inserts or replaces a provider's profile.
pub async fn upsert_provider(tx: &mut Tx, p: &ProviderRow) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO providers (id, user_id, title, bio, qualifications, fee_minor, fee_currency, \
             accepting_new_patients, calendar_colour, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO UPDATE SET \
             title = excluded.title, bio = excluded.bio, qualifications = excluded.qualifications, \
             fee_minor = excluded.fee_minor, fee_currency = excluded.fee_currency, \
             accepting_new_patients = excluded.accepting_new_patients, calendar_colour = excluded.calendar_colour, \
             active = excluded.active, updated_at = excluded.updated_at")
        .bind(p.id)
        .bind(p.user_id)
        .bind(&p.title)
        .bind(&p.bio)
        .bind(&p.qualifications)
        .bind(p.fee_minor)
        .bind(p.fee_currency.clone())
        .bind(p.accepting_new_patients)
        .bind(&p.calendar_colour)
        .bind(p.active)
        .bind(p.created_at.0)
        .bind(p.updated_at.0),
    )
    .await?;
    Ok(())
}

/// One provider.
pub async fn provider(db: &Db, id: ProviderId) -> StoreResult<Option<ProviderRow>> {
    db.fetch_optional(crate::db::dynamic_sql(format!("{PROVIDER_SELECT} WHERE p.id = $1")).bind(id)).await
}

/// The provider profile of a user account, if they have one.
pub async fn provider_of_user(db: &Db, user: UserId) -> StoreResult<Option<ProviderRow>> {
    db.fetch_optional(crate::db::dynamic_sql(format!("{PROVIDER_SELECT} WHERE p.user_id = $1")).bind(user)).await
}

/// Every provider, by name.
pub async fn providers(db: &Db) -> StoreResult<Vec<ProviderRow>> {
    db.fetch_all(crate::db::dynamic_sql(format!("{PROVIDER_SELECT} ORDER BY lower(u.full_name)"))).await
}

/// One link of a provider to a clinic, specialty or service.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LinkRow {
    /// The provider.
    pub provider_id: Uuid,
    /// The clinic, specialty or service.
    pub other_id: Uuid,
}

/// Which kind of link.
#[derive(Clone, Copy, Debug)]
pub enum Link {
    /// Clinics the provider works at.
    Clinics,
    /// The provider's specialties.
    Specialties,
    /// Services the provider offers.
    Services,
}

impl Link {
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Link::Clinics => ("provider_clinics", "clinic_id"),
            Link::Specialties => ("provider_specialties", "specialty_id"),
            Link::Services => ("provider_services", "service_id"),
        }
    }
}

/// Every link of one kind (for all providers: three queries describe the whole catalogue).
pub async fn links(db: &Db, kind: Link) -> StoreResult<Vec<LinkRow>> {
    let (table, col) = kind.table();
    db.fetch_all(crate::db::dynamic_sql(format!("SELECT provider_id, {col} AS other_id FROM {table}"))).await
}

/// Replaces one kind of link of a provider.
pub async fn set_links(tx: &mut Tx, provider: ProviderId, kind: Link, ids: &[Uuid]) -> StoreResult<()> {
    let (table, col) = kind.table();
    tx.execute(crate::db::dynamic_sql(format!("DELETE FROM {table} WHERE provider_id = $1")).bind(provider)).await?;
    for id in ids {
        tx.execute(
            crate::db::dynamic_sql(format!("INSERT INTO {table} (provider_id, {col}) VALUES ($1, $2)"))
                .bind(provider)
                .bind(*id),
        )
        .await?;
    }
    Ok(())
}

/// A service (appointment type).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ServiceRow {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description for patients.
    pub description: String,
    /// Specialty.
    pub specialty_id: Option<Uuid>,
    /// Duration in minutes.
    pub duration_min: i64,
    /// Price in minor units.
    pub price_minor: i64,
    /// ISO currency.
    pub currency: String,
    /// Buffer before, minutes.
    pub buffer_before_min: i64,
    /// Buffer after, minutes.
    pub buffer_after_min: i64,
    /// 1 = individual; more = group session.
    pub capacity: i64,
    /// `in_person` or `video`.
    pub mode: String,
    /// Minimum notice, minutes.
    pub min_notice_min: i64,
    /// Booking horizon, days.
    pub horizon_days: i64,
    /// Late-cancellation window, minutes (0 = no policy).
    pub late_cancel_min: i64,
    /// Slot start granularity, minutes.
    pub slot_step_min: i64,
    /// Patient bookings wait for the clinic's confirmation.
    pub requires_approval: bool,
    /// Bookable.
    pub active: bool,
    /// Created.
    pub created_at: DbTime,
    /// Changed.
    pub updated_at: DbTime,
}

const SERVICE_SELECT: &str = "SELECT id, name, description, specialty_id, duration_min, price_minor, currency, \
    buffer_before_min, buffer_after_min, capacity, mode, min_notice_min, horizon_days, late_cancel_min, slot_step_min, \
    requires_approval, active, created_at, updated_at FROM services";

/// Inserts or replaces a service.
pub async fn upsert_service(tx: &mut Tx, s: &ServiceRow) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO services (id, name, description, specialty_id, duration_min, price_minor, currency, \
             buffer_before_min, buffer_after_min, capacity, mode, min_notice_min, horizon_days, late_cancel_min, \
             slot_step_min, requires_approval, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT (id) DO UPDATE SET \
             name = excluded.name, description = excluded.description, specialty_id = excluded.specialty_id, \
             duration_min = excluded.duration_min, price_minor = excluded.price_minor, currency = excluded.currency, \
             buffer_before_min = excluded.buffer_before_min, buffer_after_min = excluded.buffer_after_min, \
             capacity = excluded.capacity, mode = excluded.mode, min_notice_min = excluded.min_notice_min, \
             horizon_days = excluded.horizon_days, late_cancel_min = excluded.late_cancel_min, \
             slot_step_min = excluded.slot_step_min, requires_approval = excluded.requires_approval, \
             active = excluded.active, updated_at = excluded.updated_at")
        .bind(s.id)
        .bind(&s.name)
        .bind(&s.description)
        .bind(s.specialty_id)
        .bind(s.duration_min)
        .bind(s.price_minor)
        .bind(&s.currency)
        .bind(s.buffer_before_min)
        .bind(s.buffer_after_min)
        .bind(s.capacity)
        .bind(&s.mode)
        .bind(s.min_notice_min)
        .bind(s.horizon_days)
        .bind(s.late_cancel_min)
        .bind(s.slot_step_min)
        .bind(s.requires_approval)
        .bind(s.active)
        .bind(s.created_at.0)
        .bind(s.updated_at.0),
    )
    .await?;
    Ok(())
}

/// One service.
pub async fn service(db: &Db, id: ServiceId) -> StoreResult<Option<ServiceRow>> {
    db.fetch_optional(crate::db::dynamic_sql(format!("{SERVICE_SELECT} WHERE id = $1")).bind(id)).await
}

/// One service, read inside a write transaction.
pub async fn service_tx(tx: &mut Tx, id: ServiceId) -> StoreResult<Option<ServiceRow>> {
    tx.fetch_optional(crate::db::dynamic_sql(format!("{SERVICE_SELECT} WHERE id = $1")).bind(id)).await
}

/// Every service, by name.
pub async fn services(db: &Db) -> StoreResult<Vec<ServiceRow>> {
    db.fetch_all(crate::db::dynamic_sql(format!("{SERVICE_SELECT} ORDER BY lower(name)"))).await
}

/// A (provider, clinic) pair that can deliver a service.
#[derive(Clone, Copy, Debug, sqlx::FromRow)]
pub struct Offering {
    /// The provider.
    pub provider_id: Uuid,
    /// The clinic.
    pub clinic_id: Uuid,
}

/// Every active provider offering `service` at an active clinic they work at, optionally
/// narrowed to one provider and/or clinic — one query.
pub async fn offerings(
    db: &Db,
    service: ServiceId,
    provider: Option<ProviderId>,
    clinic: Option<ClinicId>,
) -> StoreResult<Vec<Offering>> {
    db.fetch_all(
        sql("SELECT ps.provider_id, pc.clinic_id FROM provider_services ps \
             JOIN providers p ON p.id = ps.provider_id AND p.active = TRUE \
             JOIN users u ON u.id = p.user_id AND u.active = TRUE \
             JOIN provider_clinics pc ON pc.provider_id = ps.provider_id \
             JOIN clinics c ON c.id = pc.clinic_id AND c.active = TRUE \
             WHERE ps.service_id = $1 AND ($2 IS NULL OR ps.provider_id = $2) AND ($3 IS NULL OR pc.clinic_id = $3) \
             ORDER BY ps.provider_id, pc.clinic_id")
        .bind(service)
        .bind(provider)
        .bind(clinic),
    )
    .await
}

/// What a slot search covers: one service, optionally narrowed to one provider and/or one
/// clinic. The store's search reads take it so that a narrowed search reads only the rows of
/// the providers it can show.
#[derive(Clone, Copy, Debug)]
pub struct SearchScope {
    /// The service to book.
    pub service: ServiceId,
    /// Only this provider.
    pub provider: Option<ProviderId>,
    /// Only providers working at this clinic.
    pub clinic: Option<ClinicId>,
}

impl SearchScope {
    /// Binds what is needed and returns an SQL condition on `column` (a provider id) that
    /// holds for the providers the search can show: the one provider asked for, else those
    /// offering the service (at the clinic asked for). It selects providers, not clinics:
    /// a provider's time anywhere is theirs.
    pub(crate) fn provider_condition(&self, q: &mut Query, column: &str) -> String {
        match (self.provider, self.clinic) {
            (Some(p), _) => format!("{column} = {}", q.push_arg(p)),
            (None, Some(c)) => {
                let s = q.push_arg(self.service);
                let c = q.push_arg(c);
                format!(
                    "{column} IN (SELECT ps.provider_id FROM provider_services ps JOIN provider_clinics pc \
                     ON pc.provider_id = ps.provider_id WHERE ps.service_id = {s} AND pc.clinic_id = {c})"
                )
            }
            (None, None) => {
                let s = q.push_arg(self.service);
                format!("{column} IN (SELECT ps.provider_id FROM provider_services ps WHERE ps.service_id = {s})")
            }
        }
    }
}

/// A (provider, clinic) pair that can deliver a service, with the names and zone a slot
/// shows.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SearchOffering {
    /// The provider.
    pub provider_id: Uuid,
    /// Their name.
    pub provider_name: String,
    /// The clinic.
    pub clinic_id: Uuid,
    /// Its name.
    pub clinic_name: String,
    /// Its IANA time zone.
    pub time_zone: String,
}

/// Every active provider offering the service of `scope` at an active clinic they work
/// at, narrowed as `scope` says, with names — one query.
pub async fn search_offerings(db: &Db, scope: &SearchScope) -> StoreResult<Vec<SearchOffering>> {
    let mut q = dynamic_sql(String::new());
    let s = q.push_arg(scope.service);
    let mut cond = format!("ps.service_id = {s}");
    if let Some(p) = scope.provider {
        cond.push_str(&format!(" AND ps.provider_id = {}", q.push_arg(p)));
    }
    if let Some(c) = scope.clinic {
        cond.push_str(&format!(" AND pc.clinic_id = {}", q.push_arg(c)));
    }
    q.push_sql(&format!(
        "SELECT ps.provider_id, u.full_name AS provider_name, pc.clinic_id, c.name AS clinic_name, c.time_zone \
         FROM provider_services ps JOIN providers p ON p.id = ps.provider_id AND p.active = TRUE \
         JOIN users u ON u.id = p.user_id AND u.active = TRUE \
         JOIN provider_clinics pc ON pc.provider_id = ps.provider_id \
         JOIN clinics c ON c.id = pc.clinic_id AND c.active = TRUE \
         WHERE {cond} ORDER BY ps.provider_id, pc.clinic_id"
    ));
    db.fetch_all(q).await
}

/// Stores the hash of a provider's calendar-feed token (replacing any earlier one).
pub async fn set_feed_token(tx: &mut Tx, provider: ProviderId, hash: Option<&str>) -> StoreResult<bool> {
    Ok(tx.execute(sql("UPDATE providers SET feed_token_hash = $2 WHERE id = $1").bind(provider).bind(hash)).await? == 1)
}

/// The provider whose feed token hashes to `hash`.
pub async fn provider_by_feed_token(db: &Db, hash: &str) -> StoreResult<Option<ProviderRow>> {
    db.fetch_optional(crate::db::dynamic_sql(format!("{PROVIDER_SELECT} WHERE p.feed_token_hash = $1")).bind(hash))
        .await
}
