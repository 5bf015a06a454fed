//! Patient records: demographics, search, guardians, consents and care teams.
//!
//! Search runs on a normalised `search_text` (see `praxis_domain::search`): on SQLite
//! through an FTS5 trigram index whose rowid is the patient's `mrn_seq`, on PostgreSQL
//! through a `pg_trgm` GIN index on the column itself. Both answer "contains" queries of
//! three characters or more from the index.

use crate::codec::{DbDate, DbTime};
use crate::db::{Backend, Db, Tx, Where, dynamic_sql, like_contains, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::{ClinicId, PatientId, ProviderId, UserId};
use uuid::Uuid;

/// A patient.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PatientRow {
    /// Id.
    pub id: Uuid,
    /// Their portal account, if any.
    pub user_id: Option<Uuid>,
    /// Medical record number (`P000123`).
    pub mrn: Option<String>,
    /// Its sequence number.
    pub mrn_seq: Option<i64>,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Preferred name.
    pub preferred_name: Option<String>,
    /// Sex recorded for clinical purposes.
    pub sex: Option<String>,
    /// Gender identity in their words.
    pub gender_identity: Option<String>,
    /// Email (normalised).
    pub email: Option<String>,
    /// Phone (normalised).
    pub phone: Option<String>,
    /// Date of birth.
    pub date_of_birth: Option<DbDate>,
    /// Postal address.
    pub address: String,
    /// Emergency contact's name.
    pub emergency_contact_name: Option<String>,
    /// Emergency contact's phone.
    pub emergency_contact_phone: Option<String>,
    /// How the emergency contact is related.
    pub emergency_contact_relationship: Option<String>,
    /// Insurer (Medicare, a private fund…).
    pub insurance_provider: Option<String>,
    /// Insurance/Medicare number, sealed.
    pub insurance_number_enc: Option<String>,
    /// Administrative notes (not clinical).
    pub notes: String,
    /// Not archived.
    pub active: bool,
    /// When archived.
    pub archived_at: Option<DbTime>,
    /// Last completed appointment.
    pub last_visit_at: Option<DbTime>,
    /// Created.
    pub created_at: DbTime,
    /// Changed.
    pub updated_at: DbTime,
}

const COLUMNS: &str = "p.id, p.user_id, p.mrn, p.mrn_seq, p.given_name, p.family_name, p.preferred_name, p.sex, \
    p.gender_identity, p.email, p.phone, p.date_of_birth, p.address, p.emergency_contact_name, \
    p.emergency_contact_phone, p.emergency_contact_relationship, p.insurance_provider, p.insurance_number_enc, \
    p.notes, p.active, p.archived_at, p.last_visit_at, p.created_at, p.updated_at";

fn select() -> String {
    format!("SELECT {COLUMNS} FROM patients p")
}

/// Inserts a patient (the caller has assigned `mrn`/`mrn_seq`) and indexes its search text.
pub async fn insert(tx: &mut Tx, p: &PatientRow, search_text: &str) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO patients (id, user_id, mrn, mrn_seq, given_name, family_name, preferred_name, sex, \
             gender_identity, email, phone, date_of_birth, address, emergency_contact_name, emergency_contact_phone, \
             emergency_contact_relationship, insurance_provider, insurance_number_enc, notes, active, archived_at, \
             last_visit_at, created_at, updated_at, search_text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)")
        .bind(p.id)
        .bind(p.user_id)
        .bind(p.mrn.clone())
        .bind(p.mrn_seq)
        .bind(&p.given_name)
        .bind(&p.family_name)
        .bind(p.preferred_name.clone())
        .bind(p.sex.clone())
        .bind(p.gender_identity.clone())
        .bind(p.email.clone())
        .bind(p.phone.clone())
        .bind(p.date_of_birth.map(|d| d.0))
        .bind(&p.address)
        .bind(p.emergency_contact_name.clone())
        .bind(p.emergency_contact_phone.clone())
        .bind(p.emergency_contact_relationship.clone())
        .bind(p.insurance_provider.clone())
        .bind(p.insurance_number_enc.clone())
        .bind(&p.notes)
        .bind(p.active)
        .bind(p.archived_at.map(|t| t.0))
        .bind(p.last_visit_at.map(|t| t.0))
        .bind(p.created_at.0)
        .bind(p.updated_at.0)
        .bind(search_text),
    )
    .await?;
    index(tx, p.mrn_seq, search_text).await
}

/// Replaces a patient's details (not its id, account, record number or visit history)
/// and re-indexes its search text.
pub async fn update(tx: &mut Tx, p: &PatientRow, search_text: &str) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE patients SET given_name = $2, family_name = $3, preferred_name = $4, sex = $5, \
                 gender_identity = $6, email = $7, phone = $8, date_of_birth = $9, address = $10, \
                 emergency_contact_name = $11, emergency_contact_phone = $12, emergency_contact_relationship = $13, \
                 insurance_provider = $14, insurance_number_enc = $15, notes = $16, active = $17, archived_at = $18, \
                 updated_at = $19, search_text = $20 WHERE id = $1")
            .bind(p.id)
            .bind(&p.given_name)
            .bind(&p.family_name)
            .bind(p.preferred_name.clone())
            .bind(p.sex.clone())
            .bind(p.gender_identity.clone())
            .bind(p.email.clone())
            .bind(p.phone.clone())
            .bind(p.date_of_birth.map(|d| d.0))
            .bind(&p.address)
            .bind(p.emergency_contact_name.clone())
            .bind(p.emergency_contact_phone.clone())
            .bind(p.emergency_contact_relationship.clone())
            .bind(p.insurance_provider.clone())
            .bind(p.insurance_number_enc.clone())
            .bind(&p.notes)
            .bind(p.active)
            .bind(p.archived_at.map(|t| t.0))
            .bind(p.updated_at.0)
            .bind(search_text),
        )
        .await?;
    index(tx, p.mrn_seq, search_text).await?;
    Ok(n == 1)
}

/// Keeps the SQLite FTS index in step (PostgreSQL indexes the column itself).
async fn index(tx: &mut Tx, mrn_seq: Option<i64>, search_text: &str) -> StoreResult<()> {
    if tx.backend() != Backend::Sqlite {
        return Ok(());
    }
    let Some(key) = mrn_seq else { return Ok(()) };
    tx.execute(sql("DELETE FROM patients_fts WHERE rowid = $1").bind(key)).await?;
    tx.execute(sql("INSERT INTO patients_fts (rowid, search_text) VALUES ($1, $2)").bind(key).bind(search_text))
        .await?;
    Ok(())
}

/// Rebuilds the SQLite FTS index from every patient's search text (after an import,
/// which loads the rows but not the index). Nothing to do on PostgreSQL.
pub async fn rebuild_search_index(db: &Db) -> StoreResult<()> {
    if db.backend() != Backend::Sqlite {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    tx.execute(sql("DELETE FROM patients_fts")).await?;
    tx.execute(sql("INSERT INTO patients_fts (rowid, search_text) SELECT mrn_seq, search_text FROM patients \
         WHERE mrn_seq IS NOT NULL AND search_text <> ''"))
        .await?;
    tx.commit().await
}

/// Rows whose search text was never computed (patients registered before search
/// existed), a batch at a time.
pub async fn unindexed(db: &Db, limit: i64) -> StoreResult<Vec<PatientRow>> {
    db.fetch_all(dynamic_sql(format!("{} WHERE p.search_text = '' LIMIT {}", select(), limit.clamp(1, 1000)))).await
}

/// Sets the search text of one patient (re-indexing).
pub async fn set_search_text(tx: &mut Tx, id: PatientId, mrn_seq: Option<i64>, text: &str) -> StoreResult<()> {
    tx.execute(sql("UPDATE patients SET search_text = $2 WHERE id = $1").bind(id).bind(text)).await?;
    index(tx, mrn_seq, text).await
}

/// One patient.
pub async fn get(db: &Db, id: PatientId) -> StoreResult<Option<PatientRow>> {
    db.fetch_optional(dynamic_sql(format!("{} WHERE p.id = $1", select())).bind(id)).await
}

/// One patient, inside a write transaction.
pub async fn get_tx(tx: &mut Tx, id: PatientId) -> StoreResult<Option<PatientRow>> {
    tx.fetch_optional(dynamic_sql(format!("{} WHERE p.id = $1", select())).bind(id)).await
}

/// The patient record linked to a portal account.
pub async fn of_user(db: &Db, user: UserId) -> StoreResult<Option<PatientRow>> {
    db.fetch_optional(dynamic_sql(format!("{} WHERE p.user_id = $1", select())).bind(user)).await
}

/// Filters for the patient list.
#[derive(Clone, Debug, Default)]
pub struct PatientFilter {
    /// Folded search words, every one of which a match must contain somewhere (name,
    /// email, phone digits, record number), in any order.
    pub words: Vec<String>,
    /// Seen (or booked) at this clinic.
    pub clinic_id: Option<ClinicId>,
    /// Treated by this provider (an appointment, or on their care team).
    pub provider_id: Option<ProviderId>,
    /// Active (true), archived (false) or both (None).
    pub active: Option<bool>,
    /// Born on this date.
    pub born_on: Option<jiff::civil::Date>,
    /// Last visit at or after.
    pub last_visit_from: Option<Timestamp>,
    /// Last visit before.
    pub last_visit_until: Option<Timestamp>,
    /// Only these patients (a provider's own, or a guardian's children).
    pub only: Option<Vec<Uuid>>,
}

/// The sort orders the list offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PatientSort {
    /// Family name, given name.
    #[default]
    Name,
    /// Most recent visit first.
    LastVisit,
    /// Record number.
    Mrn,
}

fn filter_where(backend: Backend, f: &PatientFilter) -> Where {
    let mut w = Where::new();
    let words: Vec<&str> = f.words.iter().map(|w| w.trim()).filter(|w| !w.is_empty()).collect();
    if !words.is_empty() {
        // Every word must appear somewhere, in any order; a word is matched as written
        // (after folding), so "example.in" stays one contiguous piece.
        let (long, short): (Vec<&str>, Vec<&str>) = match backend {
            // FTS5's trigram tokenizer finds words of three or more characters anywhere
            // in the text from its index (a quoted MATCH term is a substring search;
            // LIKE with an ESCAPE clause would scan the whole table).
            Backend::Sqlite => words.iter().partition(|w| w.chars().count() >= 3),
            // pg_trgm's GIN index answers LIKE.
            Backend::Postgres => (Vec::new(), words),
        };
        if !long.is_empty() {
            let terms: Vec<String> = long.iter().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect();
            w.and(
                |p| format!("p.mrn_seq IN (SELECT rowid FROM patients_fts WHERE patients_fts MATCH {p})"),
                terms.join(" AND "),
            );
        }
        for word in short {
            w.and(|p| format!("p.search_text LIKE {p} ESCAPE '\\'"), like_contains(word));
        }
    }
    if let Some(c) = f.clinic_id {
        w.and(
            |p| {
                format!(
                    "EXISTS (SELECT 1 FROM appointment_participants ap JOIN appointments a ON a.id = ap.appointment_id \
                     WHERE ap.patient_id = p.id AND a.clinic_id = {p})"
                )
            },
            c,
        );
    }
    if let Some(pr) = f.provider_id {
        w.and_many(
            |p| {
                format!(
                    "EXISTS (SELECT 1 FROM appointment_participants ap JOIN appointments a ON a.id = ap.appointment_id \
                     WHERE ap.patient_id = p.id AND a.provider_id = {p}) \
                     OR EXISTS (SELECT 1 FROM care_team ct WHERE ct.patient_id = p.id AND ct.provider_id = {p})"
                )
            },
            pr,
        );
    }
    if let Some(a) = f.active {
        w.and(|p| format!("p.active = {p}"), a);
    }
    if let Some(d) = f.born_on {
        w.and(|p| format!("p.date_of_birth = {p}"), d);
    }
    if let Some(t) = f.last_visit_from {
        w.and(|p| format!("p.last_visit_at >= {p}"), t);
    }
    if let Some(t) = f.last_visit_until {
        w.and(|p| format!("p.last_visit_at < {p}"), t);
    }
    if let Some(ids) = &f.only {
        w.and_in("p.id", ids.iter().copied());
    }
    w
}

/// A page of patients and the total that match.
pub async fn search(
    db: &Db,
    f: &PatientFilter,
    sort: PatientSort,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<PatientRow>, i64)> {
    let w = filter_where(db.backend(), f);
    let order = match sort {
        PatientSort::Name => "lower(p.family_name), lower(p.given_name), p.mrn",
        PatientSort::LastVisit => "p.last_visit_at DESC NULLS LAST, p.mrn_seq",
        PatientSort::Mrn => "p.mrn_seq",
    };
    // The page is chosen on narrow rows first (on SQLite from a covering index: record
    // number, status, name keys), and only its rows are read in full: sorting thousands
    // of whole rows for a broad search cost more than finding them.
    let head = format!("{} WHERE p.id IN (SELECT p.id FROM patients p", select());
    let tail = format!(" ORDER BY {order} LIMIT {} OFFSET {}) ORDER BY {order}", limit.clamp(1, 5000), offset.max(0));
    // The count and the page are independent reads: each on its own connection, at once,
    // so a broad search waits for the slower of the two, not for both.
    let ((total,), rows): ((i64,), Vec<PatientRow>) = futures::try_join!(
        db.fetch_one(w.query("SELECT COUNT(*) FROM patients p", "")),
        db.fetch_all(w.query(&head, &tail))
    )?;
    Ok((rows, total))
}

/// Active patients with the same normalised names and date of birth (possible duplicates).
pub async fn same_name_and_birth(
    tx: &mut Tx,
    given: &str,
    family: &str,
    dob: jiff::civil::Date,
) -> StoreResult<Vec<PatientRow>> {
    tx.fetch_all(
        dynamic_sql(format!(
            "{} WHERE lower(p.given_name) = lower($1) AND lower(p.family_name) = lower($2) AND p.date_of_birth = $3 \
             AND p.active = TRUE",
            select()
        ))
        .bind(given)
        .bind(family)
        .bind(dob),
    )
    .await
}

/// Records a completed visit.
pub async fn set_last_visit(tx: &mut Tx, patient: PatientId, at: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE patients SET last_visit_at = $2 WHERE id = $1 AND (last_visit_at IS NULL OR last_visit_at < $2)")
            .bind(patient)
            .bind(at),
    )
    .await?;
    Ok(())
}

/// Whether `provider` treats `patient`: an appointment (any time, any status but an
/// expired hold) or a place on the care team.
pub async fn treats(db: &Db, provider: ProviderId, patient: PatientId) -> StoreResult<bool> {
    let (n,): (i64,) = db
        .fetch_one(
            sql("SELECT (SELECT COUNT(*) FROM appointment_participants ap JOIN appointments a ON a.id = ap.appointment_id \
                 WHERE ap.patient_id = $2 AND a.provider_id = $1 AND a.status <> 'expired') \
                 + (SELECT COUNT(*) FROM care_team WHERE patient_id = $2 AND provider_id = $1)")
            .bind(provider)
            .bind(patient),
        )
        .await?;
    Ok(n > 0)
}

/// Adds a provider to a patient's care team.
pub async fn add_to_care_team(
    tx: &mut Tx,
    patient: PatientId,
    provider: ProviderId,
    by: Option<UserId>,
    now: Timestamp,
) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO care_team (patient_id, provider_id, assigned_at, assigned_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (patient_id, provider_id) DO NOTHING")
        .bind(patient)
        .bind(provider)
        .bind(now)
        .bind(by),
    )
    .await?;
    Ok(())
}

/// Providers on a patient's care team.
pub async fn care_team(db: &Db, patient: PatientId) -> StoreResult<Vec<(Uuid,)>> {
    db.fetch_all(sql("SELECT provider_id FROM care_team WHERE patient_id = $1").bind(patient)).await
}

/// A guardian link.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GuardianRow {
    /// The patient (a child).
    pub patient_id: Uuid,
    /// The guardian's account.
    pub user_id: Uuid,
    /// Mother, father, carer…
    pub relationship: String,
    /// The guardian's name.
    pub full_name: String,
    /// The guardian's email.
    pub email: String,
}

/// Lets a portal account act for a patient.
pub async fn add_guardian(
    tx: &mut Tx,
    patient: PatientId,
    user: UserId,
    relationship: &str,
    now: Timestamp,
) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO patient_guardians (patient_id, user_id, relationship, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (patient_id, user_id) DO UPDATE SET relationship = excluded.relationship")
        .bind(patient)
        .bind(user)
        .bind(relationship)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// Removes a guardian link.
pub async fn remove_guardian(tx: &mut Tx, patient: PatientId, user: UserId) -> StoreResult<bool> {
    Ok(tx
        .execute(sql("DELETE FROM patient_guardians WHERE patient_id = $1 AND user_id = $2").bind(patient).bind(user))
        .await?
        == 1)
}

/// A patient's guardians.
pub async fn guardians(db: &Db, patient: PatientId) -> StoreResult<Vec<GuardianRow>> {
    db.fetch_all(
        sql("SELECT g.patient_id, g.user_id, g.relationship, u.full_name, u.email FROM patient_guardians g \
             JOIN users u ON u.id = g.user_id WHERE g.patient_id = $1 ORDER BY u.full_name")
        .bind(patient),
    )
    .await
}

/// The patients an account may act for as a guardian.
pub async fn wards_of(db: &Db, user: UserId) -> StoreResult<Vec<Uuid>> {
    let rows: Vec<(Uuid,)> =
        db.fetch_all(sql("SELECT patient_id FROM patient_guardians WHERE user_id = $1").bind(user)).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A consent.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ConsentRow {
    /// Id.
    pub id: Uuid,
    /// Whose.
    pub patient_id: Uuid,
    /// What (`treatment`, `sms_reminders`, `data_sharing`…).
    pub kind: String,
    /// Given at.
    pub given_at: DbTime,
    /// Withdrawn at.
    pub withdrawn_at: Option<DbTime>,
    /// Note.
    pub note: String,
}

/// Records a consent.
pub async fn add_consent(tx: &mut Tx, c: &ConsentRow, by: Option<UserId>) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO patient_consents (id, patient_id, kind, given_at, withdrawn_at, note, recorded_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(c.id)
        .bind(c.patient_id)
        .bind(&c.kind)
        .bind(c.given_at.0)
        .bind(c.withdrawn_at.map(|t| t.0))
        .bind(&c.note)
        .bind(by),
    )
    .await?;
    Ok(())
}

/// Withdraws a consent.
pub async fn withdraw_consent(tx: &mut Tx, patient: PatientId, id: Uuid, now: Timestamp) -> StoreResult<bool> {
    Ok(tx
        .execute(
            sql("UPDATE patient_consents SET withdrawn_at = $3 WHERE id = $1 AND patient_id = $2 \
                 AND withdrawn_at IS NULL")
            .bind(id)
            .bind(patient)
            .bind(now),
        )
        .await?
        == 1)
}

/// A patient's consents.
pub async fn consents(db: &Db, patient: PatientId) -> StoreResult<Vec<ConsentRow>> {
    db.fetch_all(
        sql("SELECT id, patient_id, kind, given_at, withdrawn_at, note FROM patient_consents WHERE patient_id = $1 \
             ORDER BY given_at")
        .bind(patient),
    )
    .await
}
