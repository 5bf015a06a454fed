//! Answers to reminders (confirm or cancel without logging in): SQL for the participant's
//! answer and for finding the reminder an SMS reply answers.

use crate::codec::DbTime;
use crate::db::{Db, Tx, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::{AppointmentId, PatientId};
use uuid::Uuid;

/// A patient's place in an appointment, as a reply link sees it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReplyTarget {
    /// `booked` or `cancelled` (their place).
    pub participant_status: String,
    /// `confirmed` or `cancelled` once answered.
    pub reply: Option<String>,
    /// When.
    pub replied_at: Option<DbTime>,
}

/// The patient's place in the appointment, if they have one.
pub async fn target(db: &Db, appointment: AppointmentId, patient: PatientId) -> StoreResult<Option<ReplyTarget>> {
    db.fetch_optional(
        sql("SELECT status AS participant_status, reply, replied_at FROM appointment_participants \
             WHERE appointment_id = $1 AND patient_id = $2")
        .bind(appointment)
        .bind(patient),
    )
    .await
}

/// Records the patient's answer, once: false when they already answered or no longer
/// hold a place (the check and the write are one statement).
pub async fn record(
    tx: &mut Tx,
    appointment: AppointmentId,
    patient: PatientId,
    reply: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE appointment_participants SET reply = $3, replied_at = $4 \
                 WHERE appointment_id = $1 AND patient_id = $2 AND status = 'booked' AND replied_at IS NULL")
            .bind(appointment)
            .bind(patient)
            .bind(reply)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// The appointment whose SMS reminder went to `phone` most recently and which has not
/// started yet, with the patient it went to.
pub async fn reminded_by_sms(db: &Db, phone: &str, now: Timestamp) -> StoreResult<Option<(Uuid, Uuid)>> {
    db.fetch_optional(
        sql("SELECT m.appointment_id, m.patient_id FROM messages m JOIN appointments a ON a.id = m.appointment_id \
             WHERE m.channel = 'sms' AND m.template = 'reminder' AND m.recipient = $1 AND m.status = 'sent' \
             AND m.patient_id IS NOT NULL AND a.starts_at > $2 ORDER BY m.created_at DESC LIMIT 1")
        .bind(phone)
        .bind(now),
    )
    .await
}
