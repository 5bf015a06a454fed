//! The waiting list and the offers of freed slots made from it.

use crate::codec::{DbDate, DbTime};
use crate::db::{Backend, Db, Tx, Where, dynamic_sql, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use jiff::civil::Date;
use praxis_domain::{AppointmentId, ClinicId, PatientId, ProviderId, ServiceId, WaitlistEntryId, WaitlistOfferId};
use uuid::Uuid;

/// A place on the waiting list.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EntryRow {
    /// Id.
    pub id: Uuid,
    /// Who waits.
    pub patient_id: Uuid,
    /// Patient's given name.
    pub given_name: String,
    /// Patient's family name.
    pub family_name: String,
    /// For which service.
    pub service_id: Uuid,
    /// Service name.
    pub service_name: String,
    /// Only with this provider.
    pub provider_id: Option<Uuid>,
    /// Only at this clinic.
    pub clinic_id: Option<Uuid>,
    /// Not before.
    pub from_date: Option<DbDate>,
    /// Not after.
    pub until_date: Option<DbDate>,
    /// JSON list of preferred times.
    pub preferred: String,
    /// Note.
    pub note: String,
    /// `waiting`, `offered`, `booked` or `cancelled`.
    pub status: String,
    /// Joined the list.
    pub created_at: DbTime,
    /// Changed.
    pub updated_at: DbTime,
}

const ENTRY_SELECT: &str = "SELECT e.id, e.patient_id, pt.given_name, pt.family_name, e.service_id, \
    s.name AS service_name, e.provider_id, e.clinic_id, e.from_date, e.until_date, e.preferred, e.note, e.status, \
    e.created_at, e.updated_at FROM waitlist_entries e JOIN patients pt ON pt.id = e.patient_id \
    JOIN services s ON s.id = e.service_id";

/// A new entry.
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// Id.
    pub id: WaitlistEntryId,
    /// Patient.
    pub patient_id: PatientId,
    /// Service.
    pub service_id: ServiceId,
    /// Provider, if one is wanted.
    pub provider_id: Option<ProviderId>,
    /// Clinic, if one is wanted.
    pub clinic_id: Option<ClinicId>,
    /// Earliest date.
    pub from_date: Option<Date>,
    /// Latest date.
    pub until_date: Option<Date>,
    /// Preferred times (JSON).
    pub preferred: String,
    /// Note.
    pub note: String,
    /// Now.
    pub now: Timestamp,
}

/// Adds an entry (status `waiting`).
pub async fn insert_entry(tx: &mut Tx, e: &NewEntry) -> StoreResult<()> {
    tx.execute(
        sql(
            "INSERT INTO waitlist_entries (id, patient_id, service_id, provider_id, clinic_id, from_date, until_date, \
             preferred, note, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'waiting', \
             $10, $10)",
        )
        .bind(e.id)
        .bind(e.patient_id)
        .bind(e.service_id)
        .bind(e.provider_id)
        .bind(e.clinic_id)
        .bind(e.from_date)
        .bind(e.until_date)
        .bind(&e.preferred)
        .bind(&e.note)
        .bind(e.now),
    )
    .await?;
    Ok(())
}

/// One entry.
pub async fn entry(db: &Db, id: WaitlistEntryId) -> StoreResult<Option<EntryRow>> {
    db.fetch_optional(dynamic_sql(format!("{ENTRY_SELECT} WHERE e.id = $1")).bind(id)).await
}

/// One entry inside a transaction.
pub async fn entry_tx(tx: &mut Tx, id: WaitlistEntryId) -> StoreResult<Option<EntryRow>> {
    tx.fetch_optional(dynamic_sql(format!("{ENTRY_SELECT} WHERE e.id = $1")).bind(id)).await
}

/// Filters for the waiting list.
#[derive(Clone, Debug, Default)]
pub struct EntryFilter {
    /// One patient's entries.
    pub patient_id: Option<PatientId>,
    /// For one service.
    pub service_id: Option<ServiceId>,
    /// For one provider (entries without a provider preference included).
    pub provider_id: Option<ProviderId>,
    /// In these statuses (empty = any).
    pub statuses: Vec<String>,
}

/// Entries in the order they joined.
pub async fn entries(db: &Db, f: &EntryFilter, limit: i64, offset: i64) -> StoreResult<(Vec<EntryRow>, i64)> {
    let mut w = Where::new();
    if let Some(p) = f.patient_id {
        w.and(|x| format!("e.patient_id = {x}"), p);
    }
    if let Some(s) = f.service_id {
        w.and(|x| format!("e.service_id = {x}"), s);
    }
    if let Some(p) = f.provider_id {
        w.and(|x| format!("(e.provider_id IS NULL OR e.provider_id = {x})"), p);
    }
    if !f.statuses.is_empty() {
        w.and_in("e.status", f.statuses.iter());
    }
    let (total,): (i64,) = db.fetch_one(w.query("SELECT COUNT(*) FROM waitlist_entries e", "")).await?;
    let rows = db
        .fetch_all(w.query(
            ENTRY_SELECT,
            &format!(" ORDER BY e.created_at, e.id LIMIT {} OFFSET {}", limit.clamp(1, 500), offset.max(0)),
        ))
        .await?;
    Ok((rows, total))
}

/// Sets an entry's status.
pub async fn set_entry_status(tx: &mut Tx, id: WaitlistEntryId, status: &str, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE waitlist_entries SET status = $2, updated_at = $3 WHERE id = $1").bind(id).bind(status).bind(now),
    )
    .await?;
    Ok(())
}

/// Waiting entries for `service` that accept `provider` at `clinic` on `date`, oldest
/// first, leaving out entries already offered this very time with this provider.
pub async fn candidates(
    tx: &mut Tx,
    service: ServiceId,
    provider: ProviderId,
    clinic: ClinicId,
    date: Date,
    starts_at: Timestamp,
) -> StoreResult<Vec<EntryRow>> {
    tx.fetch_all(
        dynamic_sql(format!(
            "{ENTRY_SELECT} WHERE e.service_id = $1 AND e.status = 'waiting' \
             AND (e.provider_id IS NULL OR e.provider_id = $2) AND (e.clinic_id IS NULL OR e.clinic_id = $3) \
             AND (e.from_date IS NULL OR e.from_date <= $4) AND (e.until_date IS NULL OR e.until_date >= $4) \
             AND NOT EXISTS (SELECT 1 FROM waitlist_offers o JOIN appointments a ON a.id = o.appointment_id \
                 WHERE o.entry_id = e.id AND a.provider_id = $2 AND a.starts_at = $5) \
             ORDER BY e.created_at, e.id LIMIT 50"
        ))
        .bind(service)
        .bind(provider)
        .bind(clinic)
        .bind(date)
        .bind(starts_at),
    )
    .await
}

/// An offer of a held slot to a waiting patient.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OfferRow {
    /// Id.
    pub id: Uuid,
    /// The entry.
    pub entry_id: Uuid,
    /// The held appointment.
    pub appointment_id: Uuid,
    /// When it lapses.
    pub expires_at: DbTime,
    /// `pending`, `accepted`, `declined` or `expired`.
    pub status: String,
    /// Made at.
    pub created_at: DbTime,
    /// Answered at.
    pub decided_at: Option<DbTime>,
    /// The waiting patient.
    pub patient_id: Uuid,
}

const OFFER_SELECT: &str = "SELECT o.id, o.entry_id, o.appointment_id, o.expires_at, o.status, o.created_at, \
    o.decided_at, e.patient_id FROM waitlist_offers o JOIN waitlist_entries e ON e.id = o.entry_id";

/// Records an offer.
pub async fn insert_offer(
    tx: &mut Tx,
    id: WaitlistOfferId,
    entry: WaitlistEntryId,
    appointment: AppointmentId,
    expires_at: Timestamp,
    now: Timestamp,
) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO waitlist_offers (id, entry_id, appointment_id, expires_at, status, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5)")
        .bind(id)
        .bind(entry)
        .bind(appointment)
        .bind(expires_at)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// One offer, locked for a decision (PostgreSQL).
pub async fn offer_for_update(tx: &mut Tx, id: WaitlistOfferId) -> StoreResult<Option<OfferRow>> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE OF o",
        Backend::Sqlite => "",
    };
    tx.fetch_optional(dynamic_sql(format!("{OFFER_SELECT} WHERE o.id = $1{lock}")).bind(id)).await
}

/// Marks an offer decided.
pub async fn set_offer_status(tx: &mut Tx, id: WaitlistOfferId, status: &str, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE waitlist_offers SET status = $2, decided_at = $3 WHERE id = $1").bind(id).bind(status).bind(now),
    )
    .await?;
    Ok(())
}

/// Pending offers past their expiry, locked and skipped by other workers (PostgreSQL).
pub async fn lapsed_offers(tx: &mut Tx, now: Timestamp) -> StoreResult<Vec<OfferRow>> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE OF o SKIP LOCKED",
        Backend::Sqlite => "",
    };
    tx.fetch_all(
        dynamic_sql(format!(
            "{OFFER_SELECT} WHERE o.status = 'pending' AND o.expires_at <= $1 ORDER BY o.expires_at LIMIT 100{lock}"
        ))
        .bind(now),
    )
    .await
}

/// Offers made to a patient (newest first), or all offers of one entry.
pub async fn offers(db: &Db, patient: Option<PatientId>, entry: Option<WaitlistEntryId>) -> StoreResult<Vec<OfferRow>> {
    db.fetch_all(
        dynamic_sql(format!(
            "{OFFER_SELECT} WHERE ($1 IS NULL OR e.patient_id = $1) AND ($2 IS NULL OR o.entry_id = $2) \
             ORDER BY o.created_at DESC LIMIT 200"
        ))
        .bind(patient)
        .bind(entry),
    )
    .await
}

/// The pending offer holding `appointment`, if any.
pub async fn pending_offer_for_appointment(tx: &mut Tx, appointment: AppointmentId) -> StoreResult<Option<OfferRow>> {
    tx.fetch_optional(
        dynamic_sql(format!("{OFFER_SELECT} WHERE o.appointment_id = $1 AND o.status = 'pending'")).bind(appointment),
    )
    .await
}

/// Freed time to offer to the waiting list.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReleaseRow {
    /// Id.
    pub id: Uuid,
    /// Whose time.
    pub provider_id: Uuid,
    /// Where.
    pub clinic_id: Uuid,
    /// Which service was booked there.
    pub service_id: Uuid,
    /// The freed start.
    pub starts_at: DbTime,
}

/// Records freed time (in the transaction that frees it).
pub async fn insert_release(
    tx: &mut Tx,
    provider: ProviderId,
    clinic: ClinicId,
    service: ServiceId,
    starts_at: Timestamp,
    now: Timestamp,
) -> StoreResult<Uuid> {
    let id = Uuid::now_v7();
    tx.execute(
        sql("INSERT INTO slot_releases (id, provider_id, clinic_id, service_id, starts_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(provider)
        .bind(clinic)
        .bind(service)
        .bind(starts_at)
        .bind(now),
    )
    .await?;
    Ok(id)
}

/// Unprocessed releases, oldest first.
pub async fn pending_releases(db: &Db, limit: i64) -> StoreResult<Vec<ReleaseRow>> {
    db.fetch_all(dynamic_sql(format!(
        "SELECT id, provider_id, clinic_id, service_id, starts_at FROM slot_releases \
             WHERE processed_at IS NULL ORDER BY created_at LIMIT {}",
        limit.clamp(1, 1000)
    )))
    .await
}

/// Claims a release for processing; false when another worker already did.
pub async fn claim_release(tx: &mut Tx, id: Uuid, now: Timestamp) -> StoreResult<Option<ReleaseRow>> {
    tx.fetch_optional(
        sql("UPDATE slot_releases SET processed_at = $2 WHERE id = $1 AND processed_at IS NULL \
             RETURNING id, provider_id, clinic_id, service_id, starts_at")
        .bind(id)
        .bind(now),
    )
    .await
}
