//! Intake forms: versioned questionnaires, the services that send them on booking, and
//! assignments to patients with their (sealed) answers.

use crate::codec::DbTime;
use crate::db::{Backend, Db, Tx, dynamic_sql, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::{AppointmentId, PatientId, ServiceId, UserId};
use uuid::Uuid;

/// A form with its current version's definition.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FormRow {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The version new assignments get.
    pub current_version: i64,
    /// The current version's id.
    pub version_id: Uuid,
    /// The current version's questions (JSON).
    pub definition: String,
    /// Offered for assignment.
    pub active: bool,
    /// Created.
    pub created_at: DbTime,
    /// Changed.
    pub updated_at: DbTime,
}

const FORM_SELECT: &str = "SELECT f.id, f.name, f.description, f.current_version, v.id AS version_id, v.definition, \
    f.active, f.created_at, f.updated_at FROM intake_forms f JOIN intake_form_versions v ON v.form_id = f.id \
    AND v.version = f.current_version";

/// Inserts a form and its first version.
pub async fn insert_form(tx: &mut Tx, f: &FormRow, by: Option<UserId>) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO intake_forms (id, name, description, current_version, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)")
        .bind(f.id)
        .bind(&f.name)
        .bind(&f.description)
        .bind(f.current_version)
        .bind(f.active)
        .bind(f.created_at.0),
    )
    .await?;
    insert_version(tx, f.version_id, f.id, f.current_version, &f.definition, f.created_at.0, by).await
}

/// Adds a version of a form's questions.
pub async fn insert_version(
    tx: &mut Tx,
    id: Uuid,
    form: Uuid,
    version: i64,
    definition: &str,
    now: Timestamp,
    by: Option<UserId>,
) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO intake_form_versions (id, form_id, version, definition, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(form)
        .bind(version)
        .bind(definition)
        .bind(now)
        .bind(by),
    )
    .await?;
    Ok(())
}

/// Changes a form's name, description, current version and active flag.
pub async fn update_form(tx: &mut Tx, f: &FormRow) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE intake_forms SET name = $2, description = $3, current_version = $4, active = $5, updated_at = $6 \
             WHERE id = $1")
        .bind(f.id)
        .bind(&f.name)
        .bind(&f.description)
        .bind(f.current_version)
        .bind(f.active)
        .bind(f.updated_at.0),
    )
    .await?;
    Ok(())
}

/// One form.
pub async fn form(db: &Db, id: Uuid) -> StoreResult<Option<FormRow>> {
    db.fetch_optional(dynamic_sql(format!("{FORM_SELECT} WHERE f.id = $1")).bind(id)).await
}

/// One form, locked for a change (PostgreSQL).
pub async fn form_for_update(tx: &mut Tx, id: Uuid) -> StoreResult<Option<FormRow>> {
    let lock = if tx.backend() == Backend::Postgres { " FOR UPDATE OF f" } else { "" };
    tx.fetch_optional(dynamic_sql(format!("{FORM_SELECT} WHERE f.id = $1{lock}")).bind(id)).await
}

/// Every form, by name.
pub async fn forms(db: &Db) -> StoreResult<Vec<FormRow>> {
    db.fetch_all(dynamic_sql(format!("{FORM_SELECT} ORDER BY lower(f.name), f.id"))).await
}

/// A version's questions (JSON) and number.
pub async fn version(db: &Db, id: Uuid) -> StoreResult<Option<(Uuid, i64, String)>> {
    db.fetch_optional(sql("SELECT form_id, version, definition FROM intake_form_versions WHERE id = $1").bind(id)).await
}

/// Versions by id (for lists of assignments).
pub async fn versions(db: &Db, ids: &[Uuid]) -> StoreResult<Vec<(Uuid, i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = dynamic_sql(String::new());
    let ps: Vec<String> = ids.iter().map(|i| q.push_arg(*i)).collect();
    q.push_sql(&format!("SELECT id, version, definition FROM intake_form_versions WHERE id IN ({})", ps.join(", ")));
    db.fetch_all(q).await
}

/// The services that send `form` when booked.
pub async fn services_of_form(db: &Db, form: Uuid) -> StoreResult<Vec<Uuid>> {
    let rows: Vec<(Uuid,)> =
        db.fetch_all(sql("SELECT id FROM services WHERE intake_form_id = $1 ORDER BY name").bind(form)).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Which form (if any) each service sends: (service id, form id).
pub async fn service_forms(db: &Db) -> StoreResult<Vec<(Uuid, Uuid)>> {
    db.fetch_all(sql("SELECT id, intake_form_id FROM services WHERE intake_form_id IS NOT NULL")).await
}

/// Makes exactly `services` send `form` on booking (others stop sending it).
pub async fn set_services_of_form(tx: &mut Tx, form: Uuid, services: &[ServiceId]) -> StoreResult<()> {
    tx.execute(sql("UPDATE services SET intake_form_id = NULL WHERE intake_form_id = $1").bind(form)).await?;
    for s in services {
        tx.execute(sql("UPDATE services SET intake_form_id = $2 WHERE id = $1").bind(*s).bind(form)).await?;
    }
    Ok(())
}

/// The form a service sends on booking (inside the booking's transaction), with the
/// current version id, if the form is active.
pub async fn form_of_service_tx(tx: &mut Tx, service: ServiceId) -> StoreResult<Option<(Uuid, Uuid)>> {
    tx.fetch_optional(
        sql("SELECT f.id, v.id FROM services s JOIN intake_forms f ON f.id = s.intake_form_id \
             JOIN intake_form_versions v ON v.form_id = f.id AND v.version = f.current_version \
             WHERE s.id = $1 AND f.active = TRUE")
        .bind(service),
    )
    .await
}

/// An assignment of a form to a patient.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AssignmentRow {
    /// Id.
    pub id: Uuid,
    /// Whose.
    pub patient_id: Uuid,
    /// Which form.
    pub form_id: Uuid,
    /// The form's name.
    pub form_name: String,
    /// The version to answer (and, once completed, the version answered).
    pub form_version_id: Uuid,
    /// The appointment it was sent for.
    pub appointment_id: Option<Uuid>,
    /// `pending`, `completed` or `cancelled`.
    pub status: String,
    /// When assigned.
    pub assigned_at: DbTime,
    /// Who assigned (none: automatic on booking).
    pub assigned_by: Option<Uuid>,
    /// When completed.
    pub completed_at: Option<DbTime>,
    /// Who submitted the answers.
    pub completed_by: Option<Uuid>,
    /// Sealed JSON answers.
    pub answers_enc: Option<String>,
}

const ASSIGNMENT_SELECT: &str = "SELECT a.id, a.patient_id, a.form_id, f.name AS form_name, a.form_version_id, \
    a.appointment_id, a.status, a.assigned_at, a.assigned_by, a.completed_at, a.completed_by, a.answers_enc \
    FROM intake_assignments a JOIN intake_forms f ON f.id = a.form_id";

/// Inserts a pending assignment unless the patient already has this form pending
/// (or, with `once`, has ever had it). Returns whether a row was added.
pub async fn insert_assignment(tx: &mut Tx, a: &AssignmentRow, once: bool) -> StoreResult<bool> {
    let guard = if once {
        "NOT EXISTS (SELECT 1 FROM intake_assignments x WHERE x.patient_id = $2 AND x.form_id = $3 AND x.status <> 'cancelled')"
    } else {
        "NOT EXISTS (SELECT 1 FROM intake_assignments x WHERE x.patient_id = $2 AND x.form_id = $3 AND x.status = 'pending')"
    };
    let q = dynamic_sql(format!(
        "INSERT INTO intake_assignments (id, patient_id, form_id, form_version_id, appointment_id, status, assigned_at, \
         assigned_by) SELECT $1, $2, $3, $4, $5, 'pending', $6, $7 WHERE {guard} \
         ON CONFLICT (patient_id, form_id) WHERE status = 'pending' DO NOTHING"
    ))
    .bind(a.id)
    .bind(a.patient_id)
    .bind(a.form_id)
    .bind(a.form_version_id)
    .bind(a.appointment_id)
    .bind(a.assigned_at.0)
    .bind(a.assigned_by);
    Ok(tx.execute(q).await? == 1)
}

/// One assignment.
pub async fn assignment(db: &Db, id: Uuid) -> StoreResult<Option<AssignmentRow>> {
    db.fetch_optional(dynamic_sql(format!("{ASSIGNMENT_SELECT} WHERE a.id = $1")).bind(id)).await
}

/// One assignment, locked (PostgreSQL).
pub async fn assignment_for_update(tx: &mut Tx, id: Uuid) -> StoreResult<Option<AssignmentRow>> {
    let lock = if tx.backend() == Backend::Postgres { " FOR UPDATE OF a" } else { "" };
    tx.fetch_optional(dynamic_sql(format!("{ASSIGNMENT_SELECT} WHERE a.id = $1{lock}")).bind(id)).await
}

/// A patient's assignments, newest first.
pub async fn for_patient(db: &Db, patient: PatientId) -> StoreResult<Vec<AssignmentRow>> {
    db.fetch_all(
        dynamic_sql(format!(
            "{ASSIGNMENT_SELECT} WHERE a.patient_id = $1 ORDER BY a.assigned_at DESC, a.id DESC LIMIT 500"
        ))
        .bind(patient),
    )
    .await
}

/// The assignments of several patients (a portal user and their children), newest first.
pub async fn for_patients(db: &Db, patients: &[PatientId]) -> StoreResult<Vec<AssignmentRow>> {
    if patients.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = dynamic_sql(String::new());
    let ps: Vec<String> = patients.iter().map(|p| q.push_arg(*p)).collect();
    q.push_sql(&format!(
        "{ASSIGNMENT_SELECT} WHERE a.patient_id IN ({}) ORDER BY a.assigned_at DESC, a.id DESC LIMIT 500",
        ps.join(", ")
    ));
    db.fetch_all(q).await
}

/// The assignments that belong with an appointment: sent for it, or pending or
/// completed for one of its patients.
pub async fn for_appointment(
    db: &Db,
    appointment: AppointmentId,
    patients: &[Uuid],
) -> StoreResult<Vec<AssignmentRow>> {
    let mut q = dynamic_sql(String::new());
    let a = q.push_arg(appointment);
    let ps: Vec<String> = patients.iter().map(|p| q.push_arg(*p)).collect();
    let by_patient = if ps.is_empty() {
        String::new()
    } else {
        format!(" OR (a.patient_id IN ({}) AND a.status <> 'cancelled')", ps.join(", "))
    };
    q.push_sql(&format!(
        "{ASSIGNMENT_SELECT} WHERE a.appointment_id = {a}{by_patient} ORDER BY a.assigned_at DESC, a.id DESC LIMIT 100"
    ));
    db.fetch_all(q).await
}

/// Stores the answers and completes the assignment (only while pending and still on
/// `version`).
pub async fn complete(
    tx: &mut Tx,
    id: Uuid,
    version: Uuid,
    answers_enc: &str,
    by: Option<UserId>,
    now: Timestamp,
) -> StoreResult<bool> {
    Ok(tx
        .execute(
            sql("UPDATE intake_assignments SET status = 'completed', answers_enc = $3, completed_by = $4, completed_at = $5 \
                 WHERE id = $1 AND status = 'pending' AND form_version_id = $2")
            .bind(id)
            .bind(version)
            .bind(answers_enc)
            .bind(by)
            .bind(now),
        )
        .await?
        == 1)
}

/// Cancels a pending assignment.
pub async fn cancel(tx: &mut Tx, id: Uuid) -> StoreResult<bool> {
    Ok(tx
        .execute(
            sql("UPDATE intake_assignments SET status = 'cancelled' WHERE id = $1 AND status = 'pending'").bind(id),
        )
        .await?
        == 1)
}

/// Moves pending assignments of a form to its new version (answers not yet given are
/// given to the newest questions).
pub async fn move_pending_to(tx: &mut Tx, form: Uuid, version: Uuid) -> StoreResult<u64> {
    tx.execute(
        sql("UPDATE intake_assignments SET form_version_id = $2 WHERE form_id = $1 AND status = 'pending'")
            .bind(form)
            .bind(version),
    )
    .await
}
