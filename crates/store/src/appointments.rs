//! Appointments, their participants and history, idempotency keys and number counters.
//!
//! No double booking: every write that occupies a provider's time runs in a [`Tx`] that
//! first checks for overlaps (a friendly 409); on PostgreSQL the
//! `appointments_no_overlap` exclusion constraint catches any race, on SQLite the single
//! writer connection serialises check and insert.

use crate::codec::DbTime;
use crate::db::{Backend, Db, Tx, Where, dynamic_sql, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::{AppointmentId, ClinicId, PatientId, ProviderId, SeriesId, ServiceId, UserId};
use uuid::Uuid;

/// The statuses that occupy a provider's time, as an SQL list.
pub const OCCUPYING_SQL: &str = "('held', 'requested', 'confirmed', 'checked_in', 'in_progress')";

/// A new appointment row.
#[derive(Clone, Debug)]
pub struct NewAppointment {
    /// Id.
    pub id: AppointmentId,
    /// Human-readable number (`A-2026-000123`).
    pub number: String,
    /// Clinic.
    pub clinic_id: ClinicId,
    /// Provider.
    pub provider_id: ProviderId,
    /// Service.
    pub service_id: ServiceId,
    /// Start of the appointment itself.
    pub starts_at: Timestamp,
    /// End of the appointment itself.
    pub ends_at: Timestamp,
    /// Start of the provider's occupied time (buffer before included).
    pub occupied_from: Timestamp,
    /// End of the occupied time (buffer after included).
    pub occupied_until: Timestamp,
    /// Status code.
    pub status: &'static str,
    /// When a hold lapses.
    pub held_until: Option<Timestamp>,
    /// Series membership.
    pub series_id: Option<SeriesId>,
    /// Position in the series, from 1.
    pub series_index: Option<i64>,
    /// Video room link.
    pub video_url: Option<String>,
    /// Booking note.
    pub note: String,
    /// Now.
    pub created_at: Timestamp,
    /// Who booked.
    pub created_by: Option<UserId>,
}

/// Inserts an appointment. On PostgreSQL an overlap fails with `StoreError::Exclusion`.
pub async fn insert(tx: &mut Tx, a: &NewAppointment) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO appointments (id, number, clinic_id, provider_id, service_id, starts_at, ends_at, \
             occupied_from, occupied_until, status, held_until, series_id, series_index, video_url, note, \
             late_cancellation, created_at, created_by, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, $15, FALSE, $16, $17, $16, 1)")
        .bind(a.id)
        .bind(&a.number)
        .bind(a.clinic_id)
        .bind(a.provider_id)
        .bind(a.service_id)
        .bind(a.starts_at)
        .bind(a.ends_at)
        .bind(a.occupied_from)
        .bind(a.occupied_until)
        .bind(a.status)
        .bind(a.held_until)
        .bind(a.series_id)
        .bind(a.series_index)
        .bind(a.video_url.clone())
        .bind(&a.note)
        .bind(a.created_at)
        .bind(a.created_by),
    )
    .await?;
    Ok(())
}

/// An appointment with the names needed to show it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AppointmentRow {
    /// Id.
    pub id: Uuid,
    /// Number.
    pub number: String,
    /// Clinic.
    pub clinic_id: Uuid,
    /// Clinic name.
    pub clinic_name: String,
    /// Clinic time zone.
    pub time_zone: String,
    /// Clinic address.
    pub clinic_address: String,
    /// Provider.
    pub provider_id: Uuid,
    /// Provider's name.
    pub provider_name: String,
    /// Provider's account.
    pub provider_user_id: Uuid,
    /// Provider's calendar colour.
    pub calendar_colour: String,
    /// Service.
    pub service_id: Uuid,
    /// Service name.
    pub service_name: String,
    /// Service capacity (1 = individual).
    pub capacity: i64,
    /// Late-cancellation window, minutes.
    pub late_cancel_min: i64,
    /// Start.
    pub starts_at: DbTime,
    /// End.
    pub ends_at: DbTime,
    /// Occupied from (buffers included).
    pub occupied_from: DbTime,
    /// Occupied until (buffers included).
    pub occupied_until: DbTime,
    /// Status code.
    pub status: String,
    /// Hold lapses at.
    pub held_until: Option<DbTime>,
    /// Series.
    pub series_id: Option<Uuid>,
    /// Position in the series.
    pub series_index: Option<i64>,
    /// Video room.
    pub video_url: Option<String>,
    /// Booking note.
    pub note: String,
    /// When cancelled.
    pub cancelled_at: Option<DbTime>,
    /// Who cancelled.
    pub cancelled_by: Option<Uuid>,
    /// Why.
    pub cancel_reason: Option<String>,
    /// Cancelled inside the late-cancellation window.
    pub late_cancellation: bool,
    /// Created.
    pub created_at: DbTime,
    /// Booked by.
    pub created_by: Option<Uuid>,
    /// Changed.
    pub updated_at: DbTime,
    /// Optimistic version, +1 per change.
    pub version: i64,
}

const SELECT: &str = "SELECT a.id, a.number, a.clinic_id, c.name AS clinic_name, c.time_zone, \
    c.address AS clinic_address, a.provider_id, u.full_name AS provider_name, p.user_id AS provider_user_id, \
    p.calendar_colour, a.service_id, s.name AS service_name, s.capacity, s.late_cancel_min, a.starts_at, a.ends_at, \
    a.occupied_from, a.occupied_until, a.status, a.held_until, a.series_id, a.series_index, a.video_url, a.note, \
    a.cancelled_at, a.cancelled_by, a.cancel_reason, a.late_cancellation, a.created_at, a.created_by, a.updated_at, \
    a.version FROM appointments a JOIN clinics c ON c.id = a.clinic_id JOIN providers p ON p.id = a.provider_id \
    JOIN users u ON u.id = p.user_id JOIN services s ON s.id = a.service_id";

/// One appointment.
pub async fn get(db: &Db, id: AppointmentId) -> StoreResult<Option<AppointmentRow>> {
    db.fetch_optional(dynamic_sql(format!("{SELECT} WHERE a.id = $1")).bind(id)).await
}

/// One appointment inside a write transaction, locked against concurrent changes on
/// PostgreSQL (SQLite transactions are already serialised).
pub async fn get_for_update(tx: &mut Tx, id: AppointmentId) -> StoreResult<Option<AppointmentRow>> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE OF a",
        Backend::Sqlite => "",
    };
    tx.fetch_optional(dynamic_sql(format!("{SELECT} WHERE a.id = $1{lock}")).bind(id)).await
}

/// The appointments of a series from position `from_index` on, in order, locked.
pub async fn series_members_for_update(
    tx: &mut Tx,
    series: SeriesId,
    from_index: i64,
) -> StoreResult<Vec<AppointmentRow>> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE OF a",
        Backend::Sqlite => "",
    };
    tx.fetch_all(
        dynamic_sql(format!("{SELECT} WHERE a.series_id = $1 AND a.series_index >= $2 ORDER BY a.series_index{lock}"))
            .bind(series)
            .bind(from_index),
    )
    .await
}

/// Filters for listing appointments.
#[derive(Clone, Debug, Default)]
pub struct AppointmentFilter {
    /// Starting at or after.
    pub from: Option<Timestamp>,
    /// Starting before.
    pub until: Option<Timestamp>,
    /// At this clinic.
    pub clinic_id: Option<ClinicId>,
    /// With this provider.
    pub provider_id: Option<ProviderId>,
    /// With this patient among the booked participants.
    pub patient_id: Option<PatientId>,
    /// With a booked participant this account may act for: their own patient record
    /// or a child they are a guardian of.
    pub patients_of_user: Option<UserId>,
    /// In one of these statuses.
    pub statuses: Vec<String>,
    /// In this series.
    pub series_id: Option<SeriesId>,
}

/// A page of appointments by start time, and the total.
pub async fn list(db: &Db, f: &AppointmentFilter, limit: i64, offset: i64) -> StoreResult<(Vec<AppointmentRow>, i64)> {
    let mut w = Where::new();
    if let Some(t) = f.from {
        w.and(|p| format!("a.starts_at >= {p}"), t);
    }
    if let Some(t) = f.until {
        w.and(|p| format!("a.starts_at < {p}"), t);
    }
    if let Some(c) = f.clinic_id {
        w.and(|p| format!("a.clinic_id = {p}"), c);
    }
    if let Some(pr) = f.provider_id {
        w.and(|p| format!("a.provider_id = {p}"), pr);
    }
    if let Some(pt) = f.patient_id {
        w.and(
            |p| {
                format!(
                    "EXISTS (SELECT 1 FROM appointment_participants ap WHERE ap.appointment_id = a.id \
                     AND ap.patient_id = {p})"
                )
            },
            pt,
        );
    }
    if let Some(u) = f.patients_of_user {
        w.and(
            |p| {
                format!(
                    "EXISTS (SELECT 1 FROM appointment_participants ap JOIN patients pt ON pt.id = ap.patient_id \
                     WHERE ap.appointment_id = a.id AND (pt.user_id = {p} OR pt.id IN \
                     (SELECT g.patient_id FROM patient_guardians g WHERE g.user_id = {p})))"
                )
            },
            u,
        );
    }
    if let Some(s) = f.series_id {
        w.and(|p| format!("a.series_id = {p}"), s);
    }
    if !f.statuses.is_empty() {
        w.and_in("a.status", f.statuses.iter());
    }
    let count_head = "SELECT COUNT(*) FROM appointments a";
    let (total,): (i64,) = db.fetch_one(w.query(count_head, "")).await?;
    let rows = db
        .fetch_all(w.query(
            SELECT,
            &format!(" ORDER BY a.starts_at, a.number LIMIT {} OFFSET {}", limit.clamp(1, 2000), offset.max(0)),
        ))
        .await?;
    Ok((rows, total))
}

/// Occupied time of a provider, for the slot engine.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BusyRow {
    /// The appointment.
    pub appointment_id: Uuid,
    /// Whose time.
    pub provider_id: Uuid,
    /// Its service.
    pub service_id: Uuid,
    /// Clinic.
    pub clinic_id: Uuid,
    /// Appointment start (joinable group sessions match on it).
    pub starts_at: DbTime,
    /// Appointment end.
    pub ends_at: DbTime,
    /// Occupied from.
    pub occupied_from: DbTime,
    /// Occupied until.
    pub occupied_until: DbTime,
    /// Booked participants.
    pub booked: i64,
    /// Status code.
    pub status: String,
}

const BUSY_SELECT: &str = "SELECT a.id AS appointment_id, a.provider_id, a.service_id, a.clinic_id, a.starts_at, \
    a.ends_at, a.occupied_from, a.occupied_until, (SELECT COUNT(*) FROM appointment_participants ap \
    WHERE ap.appointment_id = a.id AND ap.status = 'booked') AS booked, a.status FROM appointments a";

/// Time-occupying appointments (live holds included, lapsed holds not) overlapping
/// `[from, until)` of the providers a slot search can show — every provider offering the
/// service, or those `scope` narrows to — at every clinic (a provider busy elsewhere is
/// busy). One query for a whole slot search.
pub async fn busy_for_service(
    db: &Db,
    scope: &crate::catalog::SearchScope,
    from: Timestamp,
    until: Timestamp,
    now: Timestamp,
) -> StoreResult<Vec<BusyRow>> {
    let mut q = dynamic_sql(String::new());
    let providers = scope.provider_condition(&mut q, "a.provider_id");
    let f = q.push_arg(from);
    let u = q.push_arg(until);
    let n = q.push_arg(now);
    q.push_sql(&format!(
        "{BUSY_SELECT} WHERE {providers} AND a.status IN {OCCUPYING_SQL} AND (a.status <> 'held' OR a.held_until > {n}) \
         AND a.occupied_until > {f} AND a.occupied_from < {u}"
    ));
    db.fetch_all(q).await
}

/// Time-occupying appointments of one provider overlapping `[from, until)`, inside the
/// booking transaction, leaving out the appointments being moved.
pub async fn busy_for_provider_tx(
    tx: &mut Tx,
    provider: ProviderId,
    from: Timestamp,
    until: Timestamp,
    now: Timestamp,
    exclude: &[AppointmentId],
) -> StoreResult<Vec<BusyRow>> {
    let mut q = dynamic_sql(String::new());
    let p = q.push_arg(provider);
    let f = q.push_arg(from);
    let u = q.push_arg(until);
    let n = q.push_arg(now);
    let excluded: Vec<String> = exclude.iter().map(|id| q.push_arg(*id)).collect();
    let not_in =
        if excluded.is_empty() { String::new() } else { format!(" AND a.id NOT IN ({})", excluded.join(", ")) };
    q.push_sql(&format!(
        "{BUSY_SELECT} WHERE a.provider_id = {p} AND a.status IN {OCCUPYING_SQL} \
         AND (a.status <> 'held' OR a.held_until > {n}) AND a.occupied_until > {f} AND a.occupied_from < {u}{not_in}"
    ));
    tx.fetch_all(q).await
}

/// Busy time of one provider overlapping `[from, until)` (calendar views).
pub async fn busy_for_provider(
    db: &Db,
    provider: ProviderId,
    from: Timestamp,
    until: Timestamp,
    now: Timestamp,
) -> StoreResult<Vec<BusyRow>> {
    db.fetch_all(
        dynamic_sql(format!(
            "{BUSY_SELECT} WHERE a.provider_id = $1 AND a.status IN {OCCUPYING_SQL} \
             AND (a.status <> 'held' OR a.held_until > $4) AND a.occupied_until > $2 AND a.occupied_from < $3"
        ))
        .bind(provider)
        .bind(from)
        .bind(until)
        .bind(now),
    )
    .await
}

/// Expires one provider's lapsed holds overlapping `[$3, $4)` at `$1` (provider `$2`).
/// Public so that a test can check its SQLite plan: it must read the partial index of held
/// appointments, not scan the table.
pub const EXPIRE_HOLDS_OF_PROVIDER_SQL: &str = "UPDATE appointments SET status = 'expired', updated_at = $1, \
    version = version + 1 WHERE status = 'held' AND provider_id = $2 AND held_until <= $1 \
    AND occupied_until > $3 AND occupied_from < $4 RETURNING id";

/// Expires every lapsed hold at `$1` (housekeeping); reads the partial index of held
/// appointments.
pub const EXPIRE_ALL_HOLDS_SQL: &str = "UPDATE appointments SET status = 'expired', updated_at = $1, \
    version = version + 1 WHERE status = 'held' AND held_until <= $1 RETURNING id";

/// Marks lapsed holds as expired. With `provider`, only that provider's holds overlapping
/// `[from, until)` (so a booking can take the time); without, every lapsed hold
/// (housekeeping). Returns the ids changed.
///
/// Two statements rather than one with `$n IS NULL OR …`, which SQLite can only answer by
/// scanning the whole table (inside `BEGIN IMMEDIATE`, while every other writer waits).
pub async fn expire_lapsed_holds(
    tx: &mut Tx,
    provider: Option<(ProviderId, Timestamp, Timestamp)>,
    now: Timestamp,
) -> StoreResult<Vec<Uuid>> {
    let q = match provider {
        Some((p, from, until)) => sql(EXPIRE_HOLDS_OF_PROVIDER_SQL).bind(now).bind(p).bind(from).bind(until),
        None => sql(EXPIRE_ALL_HOLDS_SQL).bind(now),
    };
    let rows: Vec<(Uuid,)> = tx.fetch_all(q).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Changes an appointment's status (and hold expiry), bumping its version.
pub async fn set_status(
    tx: &mut Tx,
    id: AppointmentId,
    status: &str,
    held_until: Option<Timestamp>,
    now: Timestamp,
) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE appointments SET status = $2, held_until = $3, updated_at = $4, version = version + 1 \
             WHERE id = $1")
        .bind(id)
        .bind(status)
        .bind(held_until)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// Cancels an appointment.
pub async fn cancel(
    tx: &mut Tx,
    id: AppointmentId,
    by: Option<UserId>,
    reason: &str,
    late: bool,
    now: Timestamp,
) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE appointments SET status = 'cancelled', cancelled_at = $2, cancelled_by = $3, cancel_reason = $4, \
             late_cancellation = $5, held_until = NULL, updated_at = $2, version = version + 1 WHERE id = $1")
        .bind(id)
        .bind(now)
        .bind(by)
        .bind(reason)
        .bind(late),
    )
    .await?;
    Ok(())
}

/// Where and when an appointment moves to.
#[derive(Clone, Copy, Debug)]
pub struct Move {
    /// New provider.
    pub provider_id: ProviderId,
    /// New clinic.
    pub clinic_id: ClinicId,
    /// New start.
    pub starts_at: Timestamp,
    /// New end.
    pub ends_at: Timestamp,
    /// New occupied start.
    pub occupied_from: Timestamp,
    /// New occupied end.
    pub occupied_until: Timestamp,
}

/// Moves an appointment. On PostgreSQL an overlap fails with `StoreError::Exclusion`.
pub async fn move_to(tx: &mut Tx, id: AppointmentId, m: &Move, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE appointments SET provider_id = $2, clinic_id = $3, starts_at = $4, ends_at = $5, \
             occupied_from = $6, occupied_until = $7, updated_at = $8, version = version + 1 WHERE id = $1")
        .bind(id)
        .bind(m.provider_id)
        .bind(m.clinic_id)
        .bind(m.starts_at)
        .bind(m.ends_at)
        .bind(m.occupied_from)
        .bind(m.occupied_until)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// Sets the video room link.
pub async fn set_video_url(tx: &mut Tx, id: AppointmentId, url: &str) -> StoreResult<()> {
    tx.execute(sql("UPDATE appointments SET video_url = $2 WHERE id = $1").bind(id).bind(url)).await?;
    Ok(())
}

/// A participant of an appointment with their name.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ParticipantRow {
    /// Appointment.
    pub appointment_id: Uuid,
    /// Patient.
    pub patient_id: Uuid,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// The patient's portal account.
    pub user_id: Option<Uuid>,
    /// `booked` or `cancelled`.
    pub status: String,
    /// When added.
    pub added_at: DbTime,
}

/// Adds a booked participant.
pub async fn add_participant(tx: &mut Tx, appt: AppointmentId, patient: PatientId, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO appointment_participants (appointment_id, patient_id, status, added_at) \
             VALUES ($1, $2, 'booked', $3) ON CONFLICT (appointment_id, patient_id) DO UPDATE SET status = 'booked', \
             added_at = excluded.added_at, cancelled_at = NULL")
        .bind(appt)
        .bind(patient)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// Cancels one participant's place.
pub async fn cancel_participant(
    tx: &mut Tx,
    appt: AppointmentId,
    patient: PatientId,
    now: Timestamp,
) -> StoreResult<bool> {
    Ok(tx
        .execute(
            sql("UPDATE appointment_participants SET status = 'cancelled', cancelled_at = $3 \
                 WHERE appointment_id = $1 AND patient_id = $2 AND status = 'booked'")
            .bind(appt)
            .bind(patient)
            .bind(now),
        )
        .await?
        == 1)
}

/// Participants of the given appointments (one query for a page of appointments).
pub async fn participants(db: &Db, ids: &[Uuid]) -> StoreResult<Vec<ParticipantRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = dynamic_sql(String::new());
    let placeholders: Vec<String> = ids.iter().map(|id| q.push_arg(*id)).collect();
    q.push_sql(&format!(
        "SELECT ap.appointment_id, ap.patient_id, pt.given_name, pt.family_name, pt.user_id, ap.status, ap.added_at \
         FROM appointment_participants ap JOIN patients pt ON pt.id = ap.patient_id \
         WHERE ap.appointment_id IN ({}) ORDER BY ap.added_at",
        placeholders.join(", ")
    ));
    db.fetch_all(q).await
}

/// Participants of one appointment inside a transaction.
pub async fn participants_tx(tx: &mut Tx, id: AppointmentId) -> StoreResult<Vec<ParticipantRow>> {
    tx.fetch_all(
        sql("SELECT ap.appointment_id, ap.patient_id, pt.given_name, pt.family_name, pt.user_id, ap.status, \
             ap.added_at FROM appointment_participants ap JOIN patients pt ON pt.id = ap.patient_id \
             WHERE ap.appointment_id = $1 ORDER BY ap.added_at")
        .bind(id),
    )
    .await
}

/// The group session of `service` with `provider` starting exactly at `starts_at` that
/// still occupies time, locked (PostgreSQL) so joins cannot exceed capacity.
pub async fn group_session_for_update(
    tx: &mut Tx,
    provider: ProviderId,
    service: ServiceId,
    starts_at: Timestamp,
) -> StoreResult<Option<AppointmentRow>> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE OF a",
        Backend::Sqlite => "",
    };
    tx.fetch_optional(
        dynamic_sql(format!(
            "{SELECT} WHERE a.provider_id = $1 AND a.service_id = $2 AND a.starts_at = $3 \
             AND a.status IN ('requested', 'confirmed') LIMIT 1{lock}"
        ))
        .bind(provider)
        .bind(service)
        .bind(starts_at),
    )
    .await
}

/// One entry of an appointment's history.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ChangeRow {
    /// Id.
    pub id: Uuid,
    /// Appointment.
    pub appointment_id: Uuid,
    /// When.
    pub at: DbTime,
    /// Who.
    pub actor_id: Option<Uuid>,
    /// `created`, `status`, `rescheduled`, `participant_added`, `participant_cancelled`.
    pub kind: String,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: Option<String>,
    /// Start before.
    pub from_starts_at: Option<DbTime>,
    /// Start after.
    pub to_starts_at: Option<DbTime>,
    /// Provider before.
    pub from_provider_id: Option<Uuid>,
    /// Provider after.
    pub to_provider_id: Option<Uuid>,
    /// Free text (a reason).
    pub note: String,
}

/// Records one change.
pub async fn insert_change(tx: &mut Tx, c: &ChangeRow) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO appointment_changes (id, appointment_id, at, actor_id, kind, from_status, to_status, \
             from_starts_at, to_starts_at, from_provider_id, to_provider_id, note) VALUES ($1, $2, $3, $4, $5, $6, \
             $7, $8, $9, $10, $11, $12)")
        .bind(c.id)
        .bind(c.appointment_id)
        .bind(c.at.0)
        .bind(c.actor_id)
        .bind(&c.kind)
        .bind(c.from_status.clone())
        .bind(c.to_status.clone())
        .bind(c.from_starts_at.map(|t| t.0))
        .bind(c.to_starts_at.map(|t| t.0))
        .bind(c.from_provider_id)
        .bind(c.to_provider_id)
        .bind(&c.note),
    )
    .await?;
    Ok(())
}

/// An appointment's history, oldest first.
pub async fn changes(db: &Db, id: AppointmentId) -> StoreResult<Vec<ChangeRow>> {
    db.fetch_all(
        sql("SELECT id, appointment_id, at, actor_id, kind, from_status, to_status, from_starts_at, to_starts_at, \
             from_provider_id, to_provider_id, note FROM appointment_changes WHERE appointment_id = $1 \
             ORDER BY at, id")
        .bind(id),
    )
    .await
}

/// The next value of a named counter (`appointment:2026`), starting at 1. The row lock
/// serialises concurrent bookings only for this one statement's transaction.
pub async fn next_counter(tx: &mut Tx, name: &str) -> StoreResult<i64> {
    let (v,): (i64,) = tx
        .fetch_one(
            sql("INSERT INTO counters (name, value) VALUES ($1, 1) ON CONFLICT (name) \
                 DO UPDATE SET value = counters.value + 1 RETURNING value")
            .bind(name),
        )
        .await?;
    Ok(v)
}

/// A stored idempotency key.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct IdempotencyRow {
    /// Hash of the request it answered.
    pub request_hash: String,
    /// The appointment it created.
    pub appointment_id: Option<Uuid>,
}

/// The stored answer for `(actor, key)`.
pub async fn idempotency_get(tx: &mut Tx, actor: &str, key: &str) -> StoreResult<Option<IdempotencyRow>> {
    tx.fetch_optional(
        sql("SELECT request_hash, appointment_id FROM idempotency_keys WHERE actor_key = $1 AND key = $2")
            .bind(actor)
            .bind(key),
    )
    .await
}

/// Records the answer for `(actor, key)`; a concurrent duplicate fails as unique.
pub async fn idempotency_put(
    tx: &mut Tx,
    actor: &str,
    key: &str,
    request_hash: &str,
    appointment: Option<AppointmentId>,
    now: Timestamp,
) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO idempotency_keys (actor_key, key, request_hash, appointment_id, created_at) \
             VALUES ($1, $2, $3, $4, $5)")
        .bind(actor)
        .bind(key)
        .bind(request_hash)
        .bind(appointment)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// A recurring series.
#[derive(Clone, Debug)]
pub struct NewSeries {
    /// Id.
    pub id: SeriesId,
    /// Provider.
    pub provider_id: ProviderId,
    /// Clinic.
    pub clinic_id: ClinicId,
    /// Service.
    pub service_id: ServiceId,
    /// Patient.
    pub patient_id: PatientId,
    /// Every N weeks.
    pub every_weeks: i64,
    /// For K occurrences.
    pub occurrences: Option<i64>,
    /// Or until this date.
    pub until_date: Option<jiff::civil::Date>,
    /// The first start.
    pub first_start: Timestamp,
    /// Now.
    pub created_at: Timestamp,
    /// Who booked it.
    pub created_by: Option<UserId>,
}

/// Records a series (its appointments reference it).
pub async fn insert_series(tx: &mut Tx, s: &NewSeries) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO appointment_series (id, provider_id, clinic_id, service_id, patient_id, every_weeks, \
             occurrences, until_date, first_start, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11)")
        .bind(s.id)
        .bind(s.provider_id)
        .bind(s.clinic_id)
        .bind(s.service_id)
        .bind(s.patient_id)
        .bind(s.every_weeks)
        .bind(s.occurrences)
        .bind(s.until_date)
        .bind(s.first_start)
        .bind(s.created_at)
        .bind(s.created_by),
    )
    .await?;
    Ok(())
}

/// The condition of [`calendar_appointments`] ($1 clinic, $2 provider or NULL, $3 from,
/// $4 until, $5 now, $6 the earliest start still running at $3); public for the test
/// that checks its plan. The clinic's appointments and its providers' (or the one
/// provider's) are separate subqueries, each on its own index range: as one `OR`,
/// PostgreSQL read the whole table once there were years of history.
pub fn calendar_where_sql(one_provider: bool) -> String {
    let (clinic_side, provider_side) = if one_provider {
        (
            "ca.clinic_id = $1 AND ca.provider_id = $2",
            "pa.provider_id = $2 AND EXISTS (SELECT 1 FROM provider_clinics pc WHERE pc.clinic_id = $1 \
             AND pc.provider_id = $2)",
        )
    } else {
        (
            "ca.clinic_id = $1",
            "pa.provider_id IN (SELECT pc.provider_id FROM provider_clinics pc WHERE pc.clinic_id = $1)",
        )
    };
    format!(
        "a.id IN (SELECT ca.id FROM appointments ca WHERE {clinic_side} AND ca.starts_at > $6 AND ca.starts_at < $4 \
         UNION ALL SELECT pa.id FROM appointments pa WHERE {provider_side} \
         AND pa.occupied_until > $3 AND pa.occupied_from < $4) \
         AND ($2 IS NULL OR a.provider_id = $2) AND a.ends_at > $3 AND a.starts_at < $4 \
         AND a.status <> 'expired' AND (a.status <> 'held' OR a.held_until > $5)"
    )
}

/// Appointments shown on a clinic's calendar over `[from, until)`: those at `clinic` and
/// those of the providers who work there (at any clinic, so time spent elsewhere shows as
/// busy), optionally of one provider, by start — one query. Lapsed holds and expired
/// holds are left out; cancelled appointments are included (the calendar lists them).
///
/// Each half walks a bounded index range, so the cost follows the week shown,
/// not the years of history: the clinic's appointments by start, from `from` minus the
/// longest appointment there can be (one still running at `from` began after that); the
/// providers' by `occupied_until > from` (it is never before `ends_at`).
pub async fn calendar_appointments(
    db: &Db,
    clinic: ClinicId,
    provider: Option<ProviderId>,
    from: Timestamp,
    until: Timestamp,
    now: Timestamp,
) -> StoreResult<Vec<AppointmentRow>> {
    let longest = jiff::SignedDuration::from_mins(praxis_domain::appointment::LONGEST_APPOINTMENT_MINUTES);
    let earliest_start = from.saturating_sub(longest).unwrap_or(from);
    db.fetch_all(
        dynamic_sql(format!(
            "{SELECT} WHERE {} ORDER BY a.starts_at, a.number LIMIT 5000",
            calendar_where_sql(provider.is_some())
        ))
        .bind(clinic)
        .bind(provider)
        .bind(from)
        .bind(until)
        .bind(now)
        .bind(earliest_start),
    )
    .await
}

/// The weekly availability windows of every provider at `clinic` (calendar views; one
/// query). Kept here with the calendar's other reads; see `availability` for the row type.
pub async fn calendar_windows(db: &Db, clinic: ClinicId) -> StoreResult<Vec<crate::availability::WindowRow>> {
    db.fetch_all(
        sql("SELECT id, provider_id, clinic_id, weekday, start_min, end_min, valid_from, valid_until, created_at \
             FROM availability_windows WHERE clinic_id = $1 ORDER BY provider_id, weekday, start_min")
        .bind(clinic),
    )
    .await
}

/// Dated exceptions overlapping `[from, until]` of every provider who works at `clinic`,
/// that apply there (at that clinic or at every clinic) — one query.
pub async fn calendar_exceptions(
    db: &Db,
    clinic: ClinicId,
    from: jiff::civil::Date,
    until: jiff::civil::Date,
) -> StoreResult<Vec<crate::availability::ExceptionRow>> {
    db.fetch_all(
        sql("SELECT id, provider_id, clinic_id, from_date, until_date, kind, hours, reason, created_at \
             FROM availability_exceptions WHERE (clinic_id IS NULL OR clinic_id = $1) \
             AND provider_id IN (SELECT pc.provider_id FROM provider_clinics pc WHERE pc.clinic_id = $1) \
             AND until_date >= $2 AND from_date <= $3 ORDER BY from_date")
        .bind(clinic)
        .bind(from)
        .bind(until),
    )
    .await
}
