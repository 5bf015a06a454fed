//! Referrals and funded plans, and the sessions that count against them.

use crate::codec::{DbDate, DbTime};
use crate::db::{Db, Tx, dynamic_sql, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::{PatientId, ReferralId, UserId};
use uuid::Uuid;

/// A referral as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReferralRow {
    /// Id.
    pub id: Uuid,
    /// Patient.
    pub patient_id: Uuid,
    /// What it is ("Mental Health Treatment Plan", "GP referral").
    pub label: String,
    /// Referring practitioner.
    pub referrer_name: String,
    /// Their provider number.
    pub referrer_number: String,
    /// Valid from.
    pub referral_date: DbDate,
    /// Valid until.
    pub expiry_date: Option<DbDate>,
    /// Sessions it funds per period.
    pub session_cap: Option<i64>,
    /// `calendar_year` or `referral`.
    pub cap_period: String,
    /// Only sessions of this specialty count (none: every session).
    pub specialty_id: Option<Uuid>,
    /// Specialty's name.
    pub specialty_name: Option<String>,
    /// Notes.
    pub notes: String,
    /// Still in use.
    pub active: bool,
    /// Created.
    pub created_at: DbTime,
    /// By.
    pub created_by: Option<Uuid>,
    /// Changed.
    pub updated_at: DbTime,
}

const SELECT: &str = "SELECT r.id, r.patient_id, r.label, r.referrer_name, r.referrer_number, r.referral_date, \
    r.expiry_date, r.session_cap, r.cap_period, r.specialty_id, s.name AS specialty_name, r.notes, r.active, \
    r.created_at, r.created_by, r.updated_at FROM referrals r LEFT JOIN specialties s ON s.id = r.specialty_id";

/// What is saved of a referral.
#[derive(Clone, Debug)]
pub struct ReferralInput {
    /// Label.
    pub label: String,
    /// Referrer.
    pub referrer_name: String,
    /// Referrer's number.
    pub referrer_number: String,
    /// From.
    pub referral_date: jiff::civil::Date,
    /// Until.
    pub expiry_date: Option<jiff::civil::Date>,
    /// Cap.
    pub session_cap: Option<i64>,
    /// Period code.
    pub cap_period: &'static str,
    /// Specialty.
    pub specialty_id: Option<Uuid>,
    /// Notes.
    pub notes: String,
    /// Active.
    pub active: bool,
}

/// Inserts a referral.
pub async fn insert(
    tx: &mut Tx,
    id: ReferralId,
    patient: PatientId,
    r: &ReferralInput,
    now: Timestamp,
    by: Option<UserId>,
) -> StoreResult<()> {
    tx.execute(
        sql(
            "INSERT INTO referrals (id, patient_id, label, referrer_name, referrer_number, referral_date, expiry_date, \
             session_cap, cap_period, specialty_id, notes, active, created_at, created_by, updated_at) VALUES ($1, $2, \
             $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $13)",
        )
        .bind(id)
        .bind(patient)
        .bind(&r.label)
        .bind(&r.referrer_name)
        .bind(&r.referrer_number)
        .bind(r.referral_date)
        .bind(r.expiry_date)
        .bind(r.session_cap)
        .bind(r.cap_period)
        .bind(r.specialty_id)
        .bind(&r.notes)
        .bind(r.active)
        .bind(now)
        .bind(by),
    )
    .await?;
    Ok(())
}

/// Replaces a referral's details; false when there is none for that patient.
pub async fn update(
    tx: &mut Tx,
    id: ReferralId,
    patient: PatientId,
    r: &ReferralInput,
    now: Timestamp,
) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE referrals SET label = $3, referrer_name = $4, referrer_number = $5, referral_date = $6, \
                 expiry_date = $7, session_cap = $8, cap_period = $9, specialty_id = $10, notes = $11, active = $12, \
                 updated_at = $13 WHERE id = $1 AND patient_id = $2")
            .bind(id)
            .bind(patient)
            .bind(&r.label)
            .bind(&r.referrer_name)
            .bind(&r.referrer_number)
            .bind(r.referral_date)
            .bind(r.expiry_date)
            .bind(r.session_cap)
            .bind(r.cap_period)
            .bind(r.specialty_id)
            .bind(&r.notes)
            .bind(r.active)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// A patient's referrals, newest first.
pub async fn for_patient(db: &Db, patient: PatientId) -> StoreResult<Vec<ReferralRow>> {
    db.fetch_all(
        dynamic_sql(format!("{SELECT} WHERE r.patient_id = $1 ORDER BY r.referral_date DESC, r.id")).bind(patient),
    )
    .await
}

/// A patient's referrals inside a transaction.
pub async fn for_patient_tx(tx: &mut Tx, patient: PatientId) -> StoreResult<Vec<ReferralRow>> {
    tx.fetch_all(
        dynamic_sql(format!("{SELECT} WHERE r.patient_id = $1 ORDER BY r.referral_date DESC, r.id")).bind(patient),
    )
    .await
}

/// One referral.
pub async fn get(db: &Db, id: ReferralId) -> StoreResult<Option<ReferralRow>> {
    db.fetch_optional(dynamic_sql(format!("{SELECT} WHERE r.id = $1")).bind(id)).await
}

/// A session of the patient's that may count against a referral.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    /// The appointment.
    pub appointment_id: Uuid,
    /// Its start.
    pub starts_at: DbTime,
    /// Its status (completed, or still to come).
    pub status: String,
    /// Its service's specialty.
    pub specialty_id: Option<Uuid>,
    /// The clinic's zone (sessions count by local date).
    pub time_zone: String,
}

const SESSIONS: &str = "SELECT a.id AS appointment_id, a.starts_at, a.status, s.specialty_id, c.time_zone \
    FROM appointments a JOIN appointment_participants ap ON ap.appointment_id = a.id AND ap.status = 'booked' \
    JOIN services s ON s.id = a.service_id JOIN clinics c ON c.id = a.clinic_id \
    WHERE ap.patient_id = $1 AND a.status IN ('completed', 'requested', 'confirmed', 'checked_in', 'in_progress') \
    ORDER BY a.starts_at";

/// The patient's completed and booked sessions.
pub async fn sessions(db: &Db, patient: PatientId) -> StoreResult<Vec<SessionRow>> {
    db.fetch_all(sql(SESSIONS).bind(patient)).await
}

/// The patient's completed and booked sessions inside a transaction.
pub async fn sessions_tx(tx: &mut Tx, patient: PatientId) -> StoreResult<Vec<SessionRow>> {
    tx.fetch_all(sql(SESSIONS).bind(patient)).await
}
