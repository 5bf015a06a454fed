//! Messages (what was or will be sent to whom, through which channel) and each patient's
//! contact preferences. Every message is carried by one job of kind `message`.

use crate::codec::DbTime;
use crate::db::{Backend, Db, Tx, Where, dynamic_sql, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use uuid::Uuid;

/// A message to record with its job.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// Id.
    pub id: Uuid,
    /// The job that sends it.
    pub job_id: Uuid,
    /// Which template (`confirmation`, `reminder`, …).
    pub template: String,
    /// `email` or `sms`.
    pub channel: String,
    /// Address or number at the time it was queued.
    pub recipient: String,
    /// About this patient.
    pub patient_id: Option<Uuid>,
    /// About this appointment.
    pub appointment_id: Option<Uuid>,
    /// Subject line (email) or a short label (SMS).
    pub subject: String,
    /// Template data (JSON).
    pub data: String,
}

/// A message with its job's state.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MessageRow {
    /// Id.
    pub id: Uuid,
    /// Job.
    pub job_id: Uuid,
    /// Template.
    pub template: String,
    /// Channel.
    pub channel: String,
    /// Recipient.
    pub recipient: String,
    /// Patient.
    pub patient_id: Option<Uuid>,
    /// Patient's name, when about a patient.
    pub patient_name: Option<String>,
    /// Appointment.
    pub appointment_id: Option<Uuid>,
    /// Appointment number.
    pub appointment_number: Option<String>,
    /// Subject.
    pub subject: String,
    /// Template data.
    pub data: String,
    /// The provider's id for the sent message (SMTP Message-ID, SMS sid).
    pub provider_message_id: Option<String>,
    /// `pending`, `sent`, `failed` (will retry), `dead`, `cancelled`.
    pub status: String,
    /// Attempts.
    pub attempts: i64,
    /// Last error.
    pub last_error: Option<String>,
    /// Queued at.
    pub created_at: DbTime,
    /// Last change.
    pub updated_at: DbTime,
    /// Sent at.
    pub sent_at: Option<DbTime>,
    /// When the job is due (next attempt).
    pub run_at: DbTime,
    /// The job's idempotency key.
    pub idempotency_key: String,
}

const SELECT: &str = "SELECT m.id, m.job_id, m.template, m.channel, m.recipient, m.patient_id, \
    CASE WHEN p.id IS NULL THEN NULL ELSE p.given_name || ' ' || p.family_name END AS patient_name, \
    m.appointment_id, a.number AS appointment_number, m.subject, m.data, m.provider_message_id, m.status, \
    m.attempts, m.last_error, m.created_at, m.updated_at, m.sent_at, j.run_at, j.idempotency_key \
    FROM messages m JOIN jobs j ON j.id = m.job_id LEFT JOIN patients p ON p.id = m.patient_id \
    LEFT JOIN appointments a ON a.id = m.appointment_id";

/// Records a message (in the transaction that enqueues its job).
pub async fn insert(tx: &mut Tx, m: &NewMessage, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO messages (id, job_id, template, channel, recipient, patient_id, appointment_id, subject, \
             data, status, attempts, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $10)")
        .bind(m.id)
        .bind(m.job_id)
        .bind(&m.template)
        .bind(&m.channel)
        .bind(&m.recipient)
        .bind(m.patient_id)
        .bind(m.appointment_id)
        .bind(&m.subject)
        .bind(&m.data)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// One message.
pub async fn get(db: &Db, id: Uuid) -> StoreResult<Option<MessageRow>> {
    db.fetch_optional(dynamic_sql(format!("{SELECT} WHERE m.id = $1")).bind(id)).await
}

/// The message carried by a job.
pub async fn of_job(db: &Db, job: Uuid) -> StoreResult<Option<MessageRow>> {
    db.fetch_optional(dynamic_sql(format!("{SELECT} WHERE m.job_id = $1")).bind(job)).await
}

/// The message carried by a job, inside a transaction.
pub async fn of_job_tx(tx: &mut Tx, job: Uuid) -> StoreResult<Option<MessageRow>> {
    tx.fetch_optional(dynamic_sql(format!("{SELECT} WHERE m.job_id = $1")).bind(job)).await
}

/// Updates a message's state after an attempt (or a retry/cancel by staff).
#[allow(clippy::too_many_arguments)]
pub async fn set_status(
    tx: &mut Tx,
    id: Uuid,
    status: &str,
    attempts: Option<i64>,
    error: Option<&str>,
    provider_message_id: Option<&str>,
    recipient: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    let sent_at = (status == "sent").then_some(now);
    tx.execute(
        sql("UPDATE messages SET status = $2, attempts = COALESCE($3, attempts), last_error = $4, \
             provider_message_id = COALESCE($5, provider_message_id), recipient = COALESCE($6, recipient), \
             sent_at = COALESCE($7, sent_at), updated_at = $8 WHERE id = $1")
        .bind(id)
        .bind(status)
        .bind(attempts)
        .bind(error)
        .bind(provider_message_id)
        .bind(recipient)
        .bind(sent_at)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// Cancels the waiting messages (and their jobs) about an appointment with one of
/// `templates`, optionally only those to one patient. Returns how many. Runs in the
/// transaction that cancels or moves the appointment, so no stale reminder survives it.
pub async fn cancel_waiting_for_appointment(
    tx: &mut Tx,
    appointment: Uuid,
    patient: Option<Uuid>,
    templates: &[&str],
    reason: &str,
    now: Timestamp,
) -> StoreResult<u64> {
    let mut w = Where::new();
    w.and(|p| format!("m.appointment_id = {p}"), appointment);
    if let Some(p) = patient {
        w.and(|ph| format!("m.patient_id = {ph}"), p);
    }
    w.and_in("m.template", templates.iter().copied());
    w.and_literal("j.status IN ('pending', 'failed')");
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE OF j",
        Backend::Sqlite => "",
    };
    let ids: Vec<(Uuid, Uuid)> =
        tx.fetch_all(w.query("SELECT m.id, m.job_id FROM messages m JOIN jobs j ON j.id = m.job_id", lock)).await?;
    for (mid, jid) in &ids {
        tx.execute(
            sql("UPDATE jobs SET status = 'cancelled', last_error = $2, updated_at = $3 WHERE id = $1")
                .bind(*jid)
                .bind(reason)
                .bind(now),
        )
        .await?;
        tx.execute(
            sql("UPDATE messages SET status = 'cancelled', last_error = $2, updated_at = $3 WHERE id = $1")
                .bind(*mid)
                .bind(reason)
                .bind(now),
        )
        .await?;
    }
    Ok(ids.len() as u64)
}

/// Filters for the message list.
#[derive(Clone, Debug, Default)]
pub struct MessageFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this channel.
    pub channel: Option<String>,
    /// Only this template.
    pub template: Option<String>,
    /// About this appointment.
    pub appointment_id: Option<Uuid>,
    /// About this patient.
    pub patient_id: Option<Uuid>,
    /// Recipient contains.
    pub recipient: Option<String>,
}

/// Messages, newest first, with the total.
pub async fn list(db: &Db, f: &MessageFilter, limit: i64, offset: i64) -> StoreResult<(Vec<MessageRow>, i64)> {
    let mut w = Where::new();
    if let Some(s) = &f.status {
        w.and(|p| format!("m.status = {p}"), s.clone());
    }
    if let Some(c) = &f.channel {
        w.and(|p| format!("m.channel = {p}"), c.clone());
    }
    if let Some(t) = &f.template {
        w.and(|p| format!("m.template = {p}"), t.clone());
    }
    if let Some(a) = f.appointment_id {
        w.and(|p| format!("m.appointment_id = {p}"), a);
    }
    if let Some(pt) = f.patient_id {
        w.and(|p| format!("m.patient_id = {p}"), pt);
    }
    if let Some(r) = f.recipient.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        w.and(|p| format!("lower(m.recipient) LIKE {p} ESCAPE '\\'"), crate::db::like_contains(&r.to_lowercase()));
    }
    let (total,): (i64,) = db.fetch_one(w.query("SELECT COUNT(*) FROM messages m", "")).await?;
    let rows = db
        .fetch_all(w.query(
            SELECT,
            &format!(" ORDER BY m.created_at DESC, m.id DESC LIMIT {} OFFSET {}", limit.clamp(1, 500), offset.max(0)),
        ))
        .await?;
    Ok((rows, total))
}

/// Counts of messages per (channel, status), for metrics.
pub async fn counts(db: &Db) -> StoreResult<Vec<(String, String, i64)>> {
    db.fetch_all(sql(
        "SELECT channel, status, COUNT(*) FROM messages GROUP BY channel, status ORDER BY channel, status",
    ))
    .await
}

/// A patient's contact details and preferences, as a message needs them.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ContactRow {
    /// Patient.
    pub patient_id: Uuid,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Portal account.
    pub user_id: Option<Uuid>,
    /// Email wanted (default yes).
    pub email_enabled: bool,
    /// SMS wanted (default yes).
    pub sms_enabled: bool,
    /// Quiet hours start, minutes after local midnight.
    pub quiet_start_min: i64,
    /// Quiet hours end.
    pub quiet_end_min: i64,
    /// Whether a preferences row exists.
    pub has_preferences: bool,
    /// Last change of the preferences.
    pub updated_at: Option<DbTime>,
}

const CONTACT: &str = "SELECT p.id AS patient_id, p.given_name, p.family_name, p.email, p.phone, p.user_id, \
    COALESCE(n.email_enabled, TRUE) AS email_enabled, COALESCE(n.sms_enabled, TRUE) AS sms_enabled, \
    COALESCE(n.quiet_start_min, 1260) AS quiet_start_min, COALESCE(n.quiet_end_min, 480) AS quiet_end_min, \
    (n.patient_id IS NOT NULL) AS has_preferences, n.updated_at \
    FROM patients p LEFT JOIN notification_preferences n ON n.patient_id = p.id";

/// Contact details and preferences of patients, inside a transaction.
pub async fn contacts_tx(tx: &mut Tx, patients: &[Uuid]) -> StoreResult<Vec<ContactRow>> {
    let mut w = Where::new();
    w.and_in("p.id", patients.iter().copied());
    tx.fetch_all(w.query(CONTACT, "")).await
}

/// Contact details and preferences of one patient.
pub async fn contact(db: &Db, patient: Uuid) -> StoreResult<Option<ContactRow>> {
    db.fetch_optional(dynamic_sql(format!("{CONTACT} WHERE p.id = $1")).bind(patient)).await
}

/// Preferences to save.
#[derive(Clone, Debug)]
pub struct Preferences {
    /// Patient.
    pub patient_id: Uuid,
    /// Email wanted.
    pub email_enabled: bool,
    /// SMS wanted.
    pub sms_enabled: bool,
    /// Quiet hours start (minutes after midnight).
    pub quiet_start_min: i64,
    /// Quiet hours end.
    pub quiet_end_min: i64,
    /// Who changed them.
    pub updated_by: Option<Uuid>,
}

/// Saves a patient's preferences (insert or replace).
pub async fn save_preferences(tx: &mut Tx, p: &Preferences, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO notification_preferences (patient_id, email_enabled, sms_enabled, quiet_start_min, \
             quiet_end_min, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (patient_id) DO UPDATE SET email_enabled = excluded.email_enabled, \
             sms_enabled = excluded.sms_enabled, quiet_start_min = excluded.quiet_start_min, \
             quiet_end_min = excluded.quiet_end_min, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by")
        .bind(p.patient_id)
        .bind(p.email_enabled)
        .bind(p.sms_enabled)
        .bind(p.quiet_start_min)
        .bind(p.quiet_end_min)
        .bind(now)
        .bind(p.updated_by),
    )
    .await?;
    Ok(())
}

/// Email addresses of active administrators (failure alerts go to them).
pub async fn admin_emails(db: &Db) -> StoreResult<Vec<String>> {
    let rows: Vec<(String, String)> =
        db.fetch_all(sql("SELECT email, roles FROM users WHERE active = TRUE ORDER BY email")).await?;
    Ok(rows.into_iter().filter(|(_, roles)| roles.split(',').any(|r| r.trim() == "admin")).map(|(e, _)| e).collect())
}

/// [`admin_emails`] inside a transaction.
pub async fn admin_emails_tx(tx: &mut Tx) -> StoreResult<Vec<String>> {
    let rows: Vec<(String, String)> =
        tx.fetch_all(sql("SELECT email, roles FROM users WHERE active = TRUE ORDER BY email")).await?;
    Ok(rows.into_iter().filter(|(_, roles)| roles.split(',').any(|r| r.trim() == "admin")).map(|(e, _)| e).collect())
}

/// The patients booked into an appointment, inside a transaction.
pub async fn booked_patients_tx(tx: &mut Tx, appointment: Uuid) -> StoreResult<Vec<Uuid>> {
    let rows: Vec<(Uuid,)> = tx
        .fetch_all(
            sql("SELECT patient_id FROM appointment_participants WHERE appointment_id = $1 AND status = 'booked' \
                 ORDER BY added_at, patient_id")
            .bind(appointment),
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A clinic's IANA time zone, inside a transaction.
pub async fn clinic_time_zone_tx(tx: &mut Tx, clinic: praxis_domain::ClinicId) -> StoreResult<Option<String>> {
    let row: Option<(String,)> =
        tx.fetch_optional(sql("SELECT time_zone FROM clinics WHERE id = $1").bind(clinic)).await?;
    Ok(row.map(|r| r.0))
}

/// Cancels every message still waiting to be sent (and its job). Returns how many.
pub async fn cancel_all_waiting(tx: &mut Tx, reason: &str, now: Timestamp) -> StoreResult<u64> {
    tx.execute(
        sql("UPDATE messages SET status = 'cancelled', last_error = $1, updated_at = $2 \
             WHERE job_id IN (SELECT id FROM jobs WHERE status IN ('pending', 'failed') AND kind = 'message')")
        .bind(reason)
        .bind(now),
    )
    .await?;
    tx.execute(
        sql("UPDATE jobs SET status = 'cancelled', last_error = $1, updated_at = $2 \
             WHERE status IN ('pending', 'failed') AND kind = 'message'")
        .bind(reason)
        .bind(now),
    )
    .await
}
