//! Patient records: registration (by staff, or the patient in the portal), demographics,
//! a record number from a sequence, duplicate warnings, search, archive instead of delete,
//! guardians who act for a child, consents, care teams and CSV export.

use crate::Services;
use crate::actor::Actor;
use crate::crypto::aad;
use crate::error::{ServiceError, ServiceResult};
use crate::users::{Page, PageRequest};
use jiff::Timestamp;
use jiff::civil::Date;
use praxis_domain::permissions::Scope;
use praxis_domain::search::{digits, normalise};
use praxis_domain::{ClinicId, Email, PatientId, Permission, Phone, ProviderId, UserId, Validation};
use praxis_store::patients::{self, PatientFilter, PatientRow, PatientSort};
use praxis_store::{DbDate, DbTime, Tx};
use serde::{Deserialize, Serialize};

/// Sex recorded for clinical purposes (gender identity is separate, in the patient's words).
pub const SEXES: [&str; 4] = ["female", "male", "intersex", "unknown"];

/// An emergency contact.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmergencyContact {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Phone.
    #[serde(default)]
    pub phone: String,
    /// How they are related (mother, partner…).
    #[serde(default)]
    pub relationship: String,
}

/// A patient record.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Patient {
    /// Id.
    pub id: PatientId,
    /// Medical record number (`P000123`).
    pub mrn: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Preferred name.
    pub preferred_name: Option<String>,
    /// Sex recorded for clinical purposes.
    pub sex: Option<String>,
    /// Gender identity.
    pub gender_identity: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Date of birth.
    #[schema(value_type = Option<String>, format = Date)]
    pub date_of_birth: Option<Date>,
    /// Postal address.
    pub address: String,
    /// Emergency contact.
    pub emergency_contact: Option<EmergencyContact>,
    /// Insurer (Medicare, a private fund…).
    pub insurance_provider: Option<String>,
    /// Insurance/Medicare number — only on a single record, never in lists.
    pub insurance_number: Option<String>,
    /// Administrative notes.
    pub notes: String,
    /// Their portal account, if any.
    pub user_id: Option<UserId>,
    /// Not archived.
    pub active: bool,
    /// When archived.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub archived_at: Option<Timestamp>,
    /// Last completed visit.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_visit_at: Option<Timestamp>,
    /// Registered at.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl Patient {
    /// The record without the sealed insurance number (lists, scheduling).
    pub(crate) fn from_row(r: PatientRow) -> Self {
        let emergency_contact = r.emergency_contact_name.as_ref().map(|name| EmergencyContact {
            name: name.clone(),
            phone: r.emergency_contact_phone.clone().unwrap_or_default(),
            relationship: r.emergency_contact_relationship.clone().unwrap_or_default(),
        });
        Patient {
            id: PatientId(r.id),
            mrn: r.mrn.unwrap_or_default(),
            given_name: r.given_name,
            family_name: r.family_name,
            preferred_name: r.preferred_name,
            sex: r.sex,
            gender_identity: r.gender_identity,
            email: r.email,
            phone: r.phone,
            date_of_birth: r.date_of_birth.map(|d| d.0),
            address: r.address,
            emergency_contact,
            insurance_provider: r.insurance_provider,
            insurance_number: None,
            notes: r.notes,
            user_id: r.user_id.map(UserId),
            active: r.active,
            archived_at: r.archived_at.map(|t| t.0),
            last_visit_at: r.last_visit_at.map(|t| t.0),
            created_at: r.created_at.0,
        }
    }

    /// "Given Family".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name).trim().to_string()
    }

    /// The name to greet them by.
    pub fn display_name(&self) -> String {
        match self.preferred_name.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => format!("{p} {}", self.family_name),
            None => self.full_name(),
        }
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    /// Patients registered.
    pub imported: usize,
    /// Rows refused: (position from 0, why).
    pub refused: Vec<(usize, Vec<praxis_domain::FieldError>)>,
}

/// A patient as registered or edited.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct NewPatient {
    /// Given name.
    #[serde(default)]
    pub given_name: String,
    /// Family name.
    #[serde(default)]
    pub family_name: String,
    /// Preferred name.
    pub preferred_name: Option<String>,
    /// `female`, `male`, `intersex` or `unknown`.
    pub sex: Option<String>,
    /// Gender identity, in the patient's words.
    pub gender_identity: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Date of birth (not in the future).
    #[schema(value_type = Option<String>, format = Date)]
    pub date_of_birth: Option<Date>,
    /// Postal address.
    #[serde(default)]
    pub address: String,
    /// Emergency contact.
    pub emergency_contact: Option<EmergencyContact>,
    /// Insurer.
    pub insurance_provider: Option<String>,
    /// Insurance/Medicare number (stored encrypted).
    pub insurance_number: Option<String>,
    /// Administrative notes.
    #[serde(default)]
    pub notes: String,
    /// Register even though a patient with the same name and date of birth exists.
    #[serde(default)]
    pub confirm_duplicate: bool,
}

/// Splits a full name into (given, family): the last word is the family name.
pub fn split_name(full: &str) -> (String, String) {
    let full = full.trim();
    match full.rsplit_once(char::is_whitespace) {
        Some((given, family)) => (given.trim().to_string(), family.to_string()),
        None => (full.to_string(), String::new()),
    }
}

/// What the search index holds for a patient.
fn search_text(r: &PatientRow) -> String {
    let names = normalise(&format!(
        "{} {} {} {}",
        r.given_name,
        r.family_name,
        r.preferred_name.as_deref().unwrap_or(""),
        r.email.as_deref().unwrap_or("")
    ));
    format!(
        "{names} {} {}",
        r.phone.as_deref().map(digits).unwrap_or_default(),
        r.mrn.as_deref().unwrap_or("").to_lowercase()
    )
    .trim()
    .to_string()
}

/// A search query as the words a match must contain, each folded the way the index
/// is. Words are what the user separated with spaces, so "O'Brien" or "example.in"
/// stay one piece while "nunez jose" finds José Núñez.
pub fn search_words(q: &str) -> Vec<String> {
    q.split_whitespace().map(search_key).filter(|w| !w.is_empty()).collect()
}

/// A search word folded the way the index is: digits only when it is a phone number.
pub fn search_key(q: &str) -> String {
    let n = normalise(q);
    let d = digits(q);
    if !d.is_empty() && n.replace(' ', "").chars().all(|c| c.is_ascii_digit()) { d } else { n }
}

fn opt(v: &Option<String>, max: usize, field: &str, check: &mut Validation) -> Option<String> {
    let t = v.as_deref().map(str::trim).filter(|t| !t.is_empty())?;
    if t.chars().count() > max {
        check.add(field, "too_long", format!("Use at most {max} characters."));
        return None;
    }
    Some(t.to_string())
}

/// Filters for the patient list (API and page).
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientQuery {
    /// Part of a name, email, phone number or record number (accents and case ignored).
    pub q: Option<String>,
    /// Seen or booked at this clinic.
    pub clinic_id: Option<ClinicId>,
    /// Treated by this provider.
    pub provider_id: Option<ProviderId>,
    /// `active` (default), `archived` or `all`.
    pub status: Option<String>,
    /// Born on this date.
    #[param(value_type = Option<String>, format = Date)]
    pub date_of_birth: Option<Date>,
    /// Last visit on or after this date.
    #[param(value_type = Option<String>, format = Date)]
    pub last_visit_from: Option<Date>,
    /// Last visit before this date.
    #[param(value_type = Option<String>, format = Date)]
    pub last_visit_until: Option<Date>,
    /// `name` (default), `last_visit` or `mrn`.
    pub sort: Option<String>,
    /// Page from 1.
    pub page: Option<i64>,
    /// Page size (default 50, at most 200).
    pub per_page: Option<i64>,
}

impl Services {
    /// Validates patient input into a row (without id, record number or timestamps).
    fn patient_row(&self, input: &NewPatient, v: &mut Validation) -> PatientRow {
        let given = v.required("given_name", &input.given_name, 100).unwrap_or_default();
        let family = input.family_name.trim().to_string();
        if family.chars().count() > 100 {
            v.add("family_name", "too_long", "Use at most 100 characters.");
        }
        let email = match input.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => v.check("email", Email::parse(e)).map(|e| e.as_str().to_string()),
            None => None,
        };
        let phone = match input.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => v.check("phone", Phone::parse(p)).map(|p| p.as_str().to_string()),
            None => None,
        };
        if let Some(dob) = input.date_of_birth {
            let today = self.now().to_zoned(self.settings().display_zone.clone()).date();
            if dob > today {
                v.add("date_of_birth", "future", "A date of birth cannot be in the future.");
            } else if dob.year() < 1880 {
                v.add("date_of_birth", "invalid", "Check the year of birth.");
            }
        }
        let sex = match input.sex.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) if SEXES.contains(&s) => Some(s.to_string()),
            Some(_) => {
                v.add("sex", "invalid", "Choose female, male, intersex or unknown.");
                None
            }
            None => None,
        };
        let ec = input.emergency_contact.as_ref().filter(|c| !c.name.trim().is_empty());
        let ec_phone = match ec.map(|c| c.phone.trim()).filter(|p| !p.is_empty()) {
            Some(p) => v.check("emergency_contact.phone", Phone::parse(p)).map(|p| p.as_str().to_string()),
            None => None,
        };
        if input.address.chars().count() > 500 {
            v.add("address", "too_long", "Use at most 500 characters.");
        }
        if input.notes.chars().count() > 4000 {
            v.add("notes", "too_long", "Use at most 4000 characters.");
        }
        let insurance_number = opt(&input.insurance_number, 40, "insurance_number", v);
        if let Some(n) = &insurance_number
            && !n.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-' || c == '/')
        {
            v.add("insurance_number", "invalid", "Use letters, digits, spaces and dashes only.");
        }
        let now = DbTime(self.now());
        PatientRow {
            id: PatientId::new().0,
            user_id: None,
            mrn: None,
            mrn_seq: None,
            given_name: given,
            family_name: family,
            preferred_name: opt(&input.preferred_name, 100, "preferred_name", v),
            sex,
            gender_identity: opt(&input.gender_identity, 100, "gender_identity", v),
            email,
            phone,
            date_of_birth: input.date_of_birth.map(DbDate),
            address: input.address.trim().to_string(),
            emergency_contact_name: ec.map(|c| c.name.trim().chars().take(200).collect()),
            emergency_contact_phone: ec_phone,
            emergency_contact_relationship: ec
                .map(|c| c.relationship.trim().chars().take(100).collect())
                .filter(|r: &String| !r.is_empty()),
            insurance_provider: opt(&input.insurance_provider, 100, "insurance_provider", v),
            // Sealed once the row id is final (see `seal_insurance`).
            insurance_number_enc: insurance_number,
            notes: input.notes.trim().to_string(),
            active: true,
            archived_at: None,
            last_visit_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Seals the plain insurance number carried in `row.insurance_number_enc`.
    fn seal_insurance(&self, row: &mut PatientRow) -> ServiceResult<()> {
        if let Some(plain) = row.insurance_number_enc.take() {
            let sealed = self
                .keys()
                .seal_str(&aad("patients", "insurance_number", row.id), &plain)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            row.insurance_number_enc = Some(sealed);
        }
        Ok(())
    }

    /// Inserts a patient row inside `tx`: assigns the next record number, seals the
    /// insurance number, indexes the search text, warns about a probable duplicate.
    pub(crate) async fn insert_patient(
        &self,
        tx: &mut Tx,
        input: &NewPatient,
        user: Option<UserId>,
    ) -> ServiceResult<Patient> {
        let mut v = Validation::new();
        let mut row = self.patient_row(input, &mut v);
        v.finish()?;
        if let (Some(dob), false) = (input.date_of_birth, input.confirm_duplicate) {
            let same = patients::same_name_and_birth(tx, &row.given_name, &row.family_name, dob).await?;
            if let Some(first) = same.first() {
                let message = format!(
                    "A patient with this name and date of birth is already registered ({}). Open that record instead, or confirm that this is a different person.",
                    first.mrn.clone().unwrap_or_default()
                );
                return Err(ServiceError::Conflict {
                    code: "possible_duplicate",
                    message: message.clone(),
                    fields: vec![praxis_domain::FieldError {
                        field: "given_name".into(),
                        code: "possible_duplicate".into(),
                        message,
                    }],
                });
            }
        }
        let seq = praxis_store::appointments::next_counter(tx, "mrn").await?;
        row.mrn_seq = Some(seq);
        row.mrn = Some(format!("P{seq:06}"));
        row.user_id = user.map(|u| u.0);
        self.seal_insurance(&mut row)?;
        let text = search_text(&row);
        patients::insert(tx, &row, &text).await?;
        let event = serde_json::json!({ "patient": { "id": row.id, "record_number": row.mrn } });
        self.emit_webhook(tx, praxis_domain::integrations::WebhookEvent::PatientCreated, event, self.now()).await?;
        Ok(Patient::from_row(row))
    }

    /// Puts a refused registration or change on the audit record (which fields were
    /// wrong and why, not what was typed), then answers with the refusal.
    async fn audit_refusal<T>(
        &self,
        actor: &Actor,
        action: &str,
        id: Option<PatientId>,
        result: ServiceResult<T>,
    ) -> ServiceResult<T> {
        let Err(err) = result else { return result };
        let Some(why) = err.refusal_reason() else { return Err(err) };
        let what = id.map(|p| format!("patient {p}")).unwrap_or_else(|| "a new patient".into());
        Err(self
            .denied(actor, action, "patient", id.map(|p| p.to_string()), &format!("refused ({why}) for {what}"), err)
            .await)
    }

    /// Registers a patient (staff, providers, administrators). A probable duplicate
    /// (same name and date of birth) answers 409 unless `confirm_duplicate` is set. A
    /// refusal is audited.
    pub async fn create_patient(&self, actor: &Actor, input: NewPatient) -> ServiceResult<Patient> {
        let result = self.create_patient_checked(actor, input).await;
        self.audit_refusal(actor, "patient.create_refused", None, result).await
    }

    async fn create_patient_checked(&self, actor: &Actor, input: NewPatient) -> ServiceResult<Patient> {
        if actor.require_change(Permission::ManagePatients)? != Scope::All {
            return Err(ServiceError::Forbidden);
        }
        let mut tx = self.db().begin().await?;
        let p = self.insert_patient(&mut tx, &input, None).await?;
        tx.audit(self.audit_entry(
            actor,
            "patient.create",
            "patient",
            Some(p.id.to_string()),
            format!("registered patient {}", p.mrn),
        ));
        tx.commit().await?;
        Ok(p)
    }

    /// Registers many patients at once (moving a clinic's register in; benchmarks), a
    /// transaction per 500 and one audit entry each (administrators). Every row is
    /// validated like a single registration; rows that fail are reported by their
    /// position and skipped, the rest are registered. Duplicates are not checked.
    pub async fn import_patients(&self, actor: &Actor, rows: Vec<NewPatient>) -> ServiceResult<ImportReport> {
        actor.require_change(Permission::ExportData)?;
        let mut report = ImportReport::default();
        for (batch_no, batch) in rows.chunks(500).enumerate() {
            let mut tx = self.db().begin().await?;
            let mut added = 0;
            for (i, input) in batch.iter().enumerate() {
                let input = NewPatient { confirm_duplicate: true, ..input.clone() };
                match self.insert_patient(&mut tx, &input, None).await {
                    Ok(_) => added += 1,
                    Err(ServiceError::Validation(errors)) => report.refused.push((batch_no * 500 + i, errors)),
                    Err(e) => return Err(e),
                }
            }
            tx.audit(self.audit_entry(actor, "patient.import", "patient", None, format!("imported {added} patients")));
            tx.commit().await?;
            report.imported += added;
        }
        Ok(report)
    }

    /// The patients the actor may act for as a patient: their own record and, for a
    /// guardian, their children's.
    pub async fn patients_i_act_for(&self, actor: &Actor) -> ServiceResult<Vec<PatientId>> {
        let Some(user) = actor.user_id else { return Ok(Vec::new()) };
        let mut ids: Vec<PatientId> =
            patients::of_user(self.db(), user).await?.map(|p| PatientId(p.id)).into_iter().collect();
        ids.extend(patients::wards_of(self.db(), user).await?.into_iter().map(PatientId));
        Ok(ids)
    }

    /// Checks the actor may see a patient's demographics: staff, providers and
    /// administrators may; a patient (or their guardian) only their own.
    pub(crate) async fn require_patient(&self, actor: &Actor, id: PatientId) -> ServiceResult<PatientRow> {
        let scope = actor.require(Permission::ManagePatients)?;
        let row = patients::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Patient" })?;
        if scope == Scope::Own && !self.patients_i_act_for(actor).await?.contains(&id) {
            let err = ServiceError::NotFound { what: "Patient" };
            return Err(self
                .denied(actor, "patient.read_denied", "patient", Some(id.to_string()), "another patient's record", err)
                .await);
        }
        Ok(row)
    }

    /// One patient record, the insurance number opened. Reading it is audited.
    pub async fn get_patient(&self, actor: &Actor, id: PatientId) -> ServiceResult<Patient> {
        let row = self.require_patient(actor, id).await?;
        let sealed = row.insurance_number_enc.clone();
        let mut p = Patient::from_row(row);
        if actor.roles.is_patient_only() {
            // Administrative notes are the practice's, not the patient's.
            p.notes.clear();
        }
        if let Some(sealed) = sealed {
            p.insurance_number = Some(
                self.keys()
                    .open_str(&aad("patients", "insurance_number", id), &sealed)
                    .map_err(|e| self.damaged("The insurance number", "patient", id, e))?,
            );
        }
        Ok(p)
    }

    /// Replaces a patient's details (staff, providers, administrators; patients and
    /// guardians the contact details of their own record). The record number and history
    /// stay. A refusal is audited.
    pub async fn update_patient(&self, actor: &Actor, id: PatientId, input: NewPatient) -> ServiceResult<Patient> {
        let result = self.update_patient_checked(actor, id, input).await;
        self.audit_refusal(actor, "patient.update_refused", Some(id), result).await
    }

    async fn update_patient_checked(&self, actor: &Actor, id: PatientId, input: NewPatient) -> ServiceResult<Patient> {
        let current = self.require_patient(actor, id).await?;
        let mut v = Validation::new();
        let mut row = self.patient_row(&input, &mut v);
        v.finish()?;
        if actor.roles.is_patient_only() {
            // Patients keep their contact details current; who they are (name, date of
            // birth, sex) is changed by reception, and the practice's notes are not theirs.
            row.notes = current.notes.clone();
            row.given_name = current.given_name.clone();
            row.family_name = current.family_name.clone();
            row.date_of_birth = current.date_of_birth;
            row.sex = current.sex.clone();
        }
        row.id = current.id;
        row.user_id = current.user_id;
        row.mrn = current.mrn.clone();
        row.mrn_seq = current.mrn_seq;
        row.active = current.active;
        row.archived_at = current.archived_at;
        row.last_visit_at = current.last_visit_at;
        row.created_at = current.created_at;
        self.seal_insurance(&mut row)?;
        let mut tx = self.db().begin().await?;
        let text = search_text(&row);
        patients::update(&mut tx, &row, &text).await?;
        tx.audit(self.audit_entry(
            actor,
            "patient.update",
            "patient",
            Some(id.to_string()),
            format!("updated the details of {}", current.mrn.unwrap_or_default()),
        ));
        tx.commit().await?;
        self.get_patient(actor, id).await
    }

    /// Archives (or restores) a patient: hidden from lists and search by default, never
    /// deleted (reception staff and administrators).
    pub async fn set_patient_archived(&self, actor: &Actor, id: PatientId, archived: bool) -> ServiceResult<Patient> {
        actor.require_change(Permission::ManagePatients)?;
        if !actor.roles.has(praxis_domain::Role::Staff) && !actor.roles.has(praxis_domain::Role::Admin) {
            return Err(ServiceError::Forbidden);
        }
        let mut row = patients::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Patient" })?;
        row.active = !archived;
        row.archived_at = archived.then(|| DbTime(self.now()));
        row.updated_at = DbTime(self.now());
        let text = search_text(&row);
        let mut tx = self.db().begin().await?;
        patients::update(&mut tx, &row, &text).await?;
        let action = if archived { "patient.archive" } else { "patient.restore" };
        tx.audit(self.audit_entry(actor, action, "patient", Some(id.to_string()), row.mrn.clone().unwrap_or_default()));
        tx.commit().await?;
        Ok(Patient::from_row(row))
    }

    /// Patients matching the filters, paged on the server. Providers may search every
    /// patient's demographics (to book them); clinical data is never in this list.
    pub async fn search_patients(
        &self,
        actor: &Actor,
        text: Option<&str>,
        page: PageRequest,
    ) -> ServiceResult<Page<Patient>> {
        let q = PatientQuery { q: text.map(str::to_string), ..PatientQuery::default() };
        self.list_patients(actor, &q, page).await
    }

    fn patient_filter(&self, q: &PatientQuery) -> ServiceResult<(PatientFilter, PatientSort)> {
        let zone = self.settings().display_zone.clone();
        let start = |d: Date| d.to_zoned(zone.clone()).map(|z| z.timestamp()).ok();
        let active = match q.status.as_deref().unwrap_or("active") {
            "active" => Some(true),
            "archived" => Some(false),
            "all" => None,
            other => {
                return Err(ServiceError::invalid(
                    "status",
                    "invalid",
                    format!("Unknown status {other:?}; use active, archived or all."),
                ));
            }
        };
        let sort = match q.sort.as_deref().unwrap_or("name") {
            "name" => PatientSort::Name,
            "last_visit" => PatientSort::LastVisit,
            "mrn" => PatientSort::Mrn,
            other => {
                return Err(ServiceError::invalid(
                    "sort",
                    "invalid",
                    format!("Unknown sort {other:?}; use name, last_visit or mrn."),
                ));
            }
        };
        Ok((
            PatientFilter {
                words: search_words(q.q.as_deref().unwrap_or("")),
                clinic_id: q.clinic_id,
                provider_id: q.provider_id,
                active,
                born_on: q.date_of_birth,
                last_visit_from: q.last_visit_from.and_then(start),
                last_visit_until: q.last_visit_until.and_then(|d| d.tomorrow().ok()).and_then(start),
                only: None,
            },
            sort,
        ))
    }

    /// The patient list with every filter (staff, providers, administrators).
    pub async fn list_patients(
        &self,
        actor: &Actor,
        q: &PatientQuery,
        page: PageRequest,
    ) -> ServiceResult<Page<Patient>> {
        if actor.require(Permission::ManagePatients)? != Scope::All {
            return Err(ServiceError::Forbidden);
        }
        let (filter, sort) = self.patient_filter(q)?;
        let (rows, total) = patients::search(self.db(), &filter, sort, page.per_page, page.offset()).await?;
        Ok(Page {
            items: rows.into_iter().map(Patient::from_row).collect(),
            total,
            page: page.page,
            per_page: page.per_page,
        })
    }

    /// Every patient matching the filters as CSV (administrators). Cells that a
    /// spreadsheet would run as a formula are defused; the export is audited.
    pub async fn export_patients_csv(&self, actor: &Actor, q: &PatientQuery) -> ServiceResult<String> {
        actor.require(Permission::ExportData)?;
        let (filter, sort) = self.patient_filter(q)?;
        let mut out = String::from(
            "mrn,given_name,family_name,preferred_name,date_of_birth,sex,email,phone,address,last_visit,status\r\n",
        );
        let mut offset = 0;
        let mut count = 0;
        loop {
            let (rows, total) = patients::search(self.db(), &filter, sort, 1000, offset).await?;
            for r in &rows {
                let cells = [
                    r.mrn.clone().unwrap_or_default(),
                    r.given_name.clone(),
                    r.family_name.clone(),
                    r.preferred_name.clone().unwrap_or_default(),
                    r.date_of_birth.map(|d| d.0.to_string()).unwrap_or_default(),
                    r.sex.clone().unwrap_or_default(),
                    r.email.clone().unwrap_or_default(),
                    r.phone.clone().unwrap_or_default(),
                    r.address.clone(),
                    r.last_visit_at.map(|t| t.0.to_string()).unwrap_or_default(),
                    if r.active { "active".into() } else { "archived".into() },
                ];
                out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
                out.push_str("\r\n");
            }
            count += rows.len();
            offset += 1000;
            if offset >= total || rows.is_empty() {
                break;
            }
        }
        let mut tx = self.db().begin().await?;
        tx.audit(self.audit_entry(
            actor,
            "patient.export",
            "patient",
            None,
            format!("exported {count} patients as CSV"),
        ));
        tx.commit().await?;
        Ok(out)
    }

    /// The patient record of the acting user, if they have one.
    pub async fn my_patient(&self, actor: &Actor) -> ServiceResult<Option<Patient>> {
        let Some(user) = actor.user_id else { return Ok(None) };
        Ok(patients::of_user(self.db(), user).await?.map(Patient::from_row))
    }

    /// Fills in search text for patients registered before search existed (run at start).
    pub async fn reindex_patients(&self) -> ServiceResult<u64> {
        let mut done = 0;
        loop {
            let rows = patients::unindexed(self.db(), 500).await?;
            if rows.is_empty() {
                return Ok(done);
            }
            let mut tx = self.db().begin().await?;
            for r in &rows {
                let mut text = search_text(r);
                if text.is_empty() {
                    text = "-".into();
                }
                patients::set_search_text(&mut tx, PatientId(r.id), r.mrn_seq, &text).await?;
                done += 1;
            }
            tx.commit().await?;
        }
    }
}

/// What a consent covers.
pub const CONSENT_KINDS: [(&str, &str); 6] = [
    ("treatment", "Treatment"),
    ("telehealth", "Telehealth consultations"),
    ("sms_reminders", "Reminders by SMS"),
    ("email_reminders", "Reminders by email"),
    ("data_sharing", "Sharing records with other practitioners"),
    ("research", "Use of de-identified data for research"),
];

/// A consent with its dates.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Consent {
    /// Id.
    pub id: uuid::Uuid,
    /// What it covers (see `kind_label`).
    pub kind: String,
    /// What it covers, in words.
    pub kind_label: String,
    /// Given at.
    #[schema(value_type = String, format = DateTime)]
    pub given_at: Timestamp,
    /// Withdrawn at.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub withdrawn_at: Option<Timestamp>,
    /// Note (how it was given: signed form, verbally…).
    pub note: String,
}

/// A consent to record.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ConsentInput {
    /// `treatment`, `telehealth`, `sms_reminders`, `email_reminders`, `data_sharing` or `research`.
    #[serde(default)]
    pub kind: String,
    /// When it was given (default now; not in the future).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub given_at: Option<Timestamp>,
    /// How it was given.
    #[serde(default)]
    pub note: String,
}

/// A portal account that may act for a patient.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Guardian {
    /// Their account.
    pub user_id: UserId,
    /// Their name.
    pub full_name: String,
    /// Their email.
    pub email: String,
    /// Mother, father, carer…
    pub relationship: String,
}

fn consent_label(kind: &str) -> String {
    CONSENT_KINDS.iter().find(|(k, _)| *k == kind).map(|(_, l)| l.to_string()).unwrap_or_else(|| kind.to_string())
}

impl Services {
    /// 403 unless the actor manages patient records for the whole practice (staff,
    /// providers, administrators).
    fn require_practice_patients(&self, actor: &Actor) -> ServiceResult<()> {
        match actor.require(Permission::ManagePatients)? {
            Scope::All => Ok(()),
            Scope::Own => Err(ServiceError::Forbidden),
        }
    }

    /// The accounts that may act for a patient.
    pub async fn guardians(&self, actor: &Actor, patient: PatientId) -> ServiceResult<Vec<Guardian>> {
        self.require_patient(actor, patient).await?;
        Ok(patients::guardians(self.db(), patient)
            .await?
            .into_iter()
            .map(|g| Guardian {
                user_id: UserId(g.user_id),
                full_name: g.full_name,
                email: g.email,
                relationship: g.relationship,
            })
            .collect())
    }

    /// Lets a portal account (a parent, a carer) act for a patient: book, see and cancel
    /// their appointments (staff, providers, administrators).
    pub async fn add_guardian(
        &self,
        actor: &Actor,
        patient: PatientId,
        user: UserId,
        relationship: &str,
    ) -> ServiceResult<Vec<Guardian>> {
        self.require_practice_patients(actor)?;
        self.require_patient(actor, patient).await?;
        let account = praxis_store::users::by_id(self.db(), user)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| ServiceError::invalid("user_id", "unknown", "Choose an active portal account."))?;
        let relationship: String = relationship.trim().chars().take(100).collect();
        if relationship.is_empty() {
            return Err(ServiceError::invalid(
                "relationship",
                "required",
                "Say how they are related (mother, father, carer…).",
            ));
        }
        if patients::of_user(self.db(), user).await?.is_some_and(|p| p.id == patient.0) {
            return Err(ServiceError::invalid("user_id", "self", "This is the patient's own account."));
        }
        let mut tx = self.db().begin().await?;
        patients::add_guardian(&mut tx, patient, user, &relationship, self.now()).await?;
        tx.audit(self.audit_entry(
            actor,
            "patient.guardian_add",
            "patient",
            Some(patient.to_string()),
            format!("{} ({relationship}) may act for the patient", account.email),
        ));
        tx.commit().await?;
        self.guardians(actor, patient).await
    }

    /// Like `add_guardian`, naming the account by its email (the staff page).
    pub async fn add_guardian_by_email(
        &self,
        actor: &Actor,
        patient: PatientId,
        email: &str,
        relationship: &str,
    ) -> ServiceResult<Vec<Guardian>> {
        self.require_practice_patients(actor)?;
        let email = Email::parse(email.trim()).map_err(|e| ServiceError::invalid("email", "invalid", e.to_string()))?;
        let account = praxis_store::users::by_email(self.db(), email.as_str()).await?.ok_or_else(|| {
            ServiceError::invalid(
                "email",
                "unknown",
                "No portal account uses this email. Ask the parent or carer to register in the portal first, then add them here.",
            )
        })?;
        self.add_guardian(actor, patient, UserId(account.id), relationship).await
    }

    /// Stops an account acting for a patient.
    pub async fn remove_guardian(&self, actor: &Actor, patient: PatientId, user: UserId) -> ServiceResult<()> {
        self.require_practice_patients(actor)?;
        self.require_patient(actor, patient).await?;
        let mut tx = self.db().begin().await?;
        if !patients::remove_guardian(&mut tx, patient, user).await? {
            return Err(ServiceError::NotFound { what: "Guardian" });
        }
        tx.audit(self.audit_entry(
            actor,
            "patient.guardian_remove",
            "patient",
            Some(patient.to_string()),
            format!("account {user} no longer acts for the patient"),
        ));
        tx.commit().await?;
        Ok(())
    }

    /// A patient's consents (the patient sees their own).
    pub async fn consents(&self, actor: &Actor, patient: PatientId) -> ServiceResult<Vec<Consent>> {
        self.require_patient(actor, patient).await?;
        Ok(patients::consents(self.db(), patient)
            .await?
            .into_iter()
            .map(|c| Consent {
                id: c.id,
                kind_label: consent_label(&c.kind),
                kind: c.kind,
                given_at: c.given_at.0,
                withdrawn_at: c.withdrawn_at.map(|t| t.0),
                note: c.note,
            })
            .collect())
    }

    /// Records a consent (staff, providers, administrators).
    pub async fn add_consent(&self, actor: &Actor, patient: PatientId, input: ConsentInput) -> ServiceResult<Consent> {
        self.require_practice_patients(actor)?;
        self.require_patient(actor, patient).await?;
        let mut v = Validation::new();
        if !CONSENT_KINDS.iter().any(|(k, _)| *k == input.kind) {
            let kinds: Vec<&str> = CONSENT_KINDS.iter().map(|(k, _)| *k).collect();
            v.add("kind", "invalid", format!("Choose what the consent covers: {}.", kinds.join(", ")));
        }
        let now = self.now();
        let given_at = input.given_at.unwrap_or(now);
        if given_at > now {
            v.add("given_at", "future", "A consent cannot be given in the future.");
        }
        if input.note.chars().count() > 1000 {
            v.add("note", "too_long", "Use at most 1000 characters.");
        }
        v.finish()?;
        let row = patients::ConsentRow {
            id: uuid::Uuid::now_v7(),
            patient_id: patient.0,
            kind: input.kind.clone(),
            given_at: DbTime(given_at),
            withdrawn_at: None,
            note: input.note.trim().to_string(),
        };
        let mut tx = self.db().begin().await?;
        patients::add_consent(&mut tx, &row, actor.user_id).await?;
        tx.audit(self.audit_entry(
            actor,
            "patient.consent_add",
            "patient",
            Some(patient.to_string()),
            format!("consent recorded: {}", consent_label(&row.kind)),
        ));
        tx.commit().await?;
        Ok(Consent {
            id: row.id,
            kind_label: consent_label(&row.kind),
            kind: row.kind,
            given_at,
            withdrawn_at: None,
            note: row.note,
        })
    }

    /// Records that a consent was withdrawn (staff, providers, administrators, and the
    /// patient themselves: withdrawing is always allowed).
    pub async fn withdraw_consent(
        &self,
        actor: &Actor,
        patient: PatientId,
        consent: uuid::Uuid,
    ) -> ServiceResult<Vec<Consent>> {
        self.require_patient(actor, patient).await?;
        let mut tx = self.db().begin().await?;
        if !patients::withdraw_consent(&mut tx, patient, consent, self.now()).await? {
            return Err(ServiceError::NotFound { what: "Consent (or it is already withdrawn)" });
        }
        tx.audit(self.audit_entry(
            actor,
            "patient.consent_withdraw",
            "patient",
            Some(patient.to_string()),
            format!("consent {consent} withdrawn"),
        ));
        tx.commit().await?;
        self.consents(actor, patient).await
    }

    /// Puts a provider on a patient's care team, so they may read and write the clinical
    /// record before a first appointment (staff, administrators).
    pub async fn assign_provider(&self, actor: &Actor, patient: PatientId, provider: ProviderId) -> ServiceResult<()> {
        self.require_practice_patients(actor)?;
        if !actor.roles.has(praxis_domain::Role::Staff) && !actor.roles.has(praxis_domain::Role::Admin) {
            return Err(ServiceError::Forbidden);
        }
        self.require_patient(actor, patient).await?;
        let p = praxis_store::catalog::provider(self.db(), provider)
            .await?
            .ok_or_else(|| ServiceError::invalid("provider_id", "unknown", "Choose a provider of the practice."))?;
        let mut tx = self.db().begin().await?;
        patients::add_to_care_team(&mut tx, patient, provider, actor.user_id, self.now()).await?;
        tx.audit(self.audit_entry(
            actor,
            "patient.care_team_add",
            "patient",
            Some(patient.to_string()),
            format!("{} joined the care team", p.full_name),
        ));
        tx.commit().await?;
        Ok(())
    }

    /// The providers on a patient's care team (by assignment; treating providers are
    /// found through appointments).
    pub async fn care_team(&self, actor: &Actor, patient: PatientId) -> ServiceResult<Vec<ProviderId>> {
        self.require_patient(actor, patient).await?;
        Ok(patients::care_team(self.db(), patient).await?.into_iter().map(|(p,)| ProviderId(p)).collect())
    }
}

/// A CSV cell: quoted when needed, and defused when a spreadsheet would run it as a
/// formula (a leading `=`, `+`, `-`, `@`, tab or carriage return gets a `'` in front).
pub fn csv_cell(value: &str) -> String {
    let defused = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_string(),
    };
    if defused.contains([',', '"', '\n', '\r']) { format!("\"{}\"", defused.replace('"', "\"\"")) } else { defused }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_split_on_the_last_word() {
        assert_eq!(split_name("Sam Patient"), ("Sam".into(), "Patient".into()));
        assert_eq!(split_name("Mary Jane  van Dyke"), ("Mary Jane  van".into(), "Dyke".into()));
        assert_eq!(split_name("Cher"), ("Cher".into(), "".into()));
    }

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+61 412"), "'+61 412");
        assert_eq!(csv_cell("\"="), "\"\"\"=\"", "a leading quote is not a formula");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn search_keys_fold_names_and_phones() {
        assert_eq!(search_key("José O'Brien"), "jose o brien");
        assert_eq!(search_key("+61 (412) 345"), "61412345");
        assert_eq!(search_key("P000123"), "p000123");
        assert_eq!(search_words(" Núñez  example.in 0412-345 "), vec!["nunez", "example in", "0412345"]);
    }

    proptest! {
        #[test]
        fn no_csv_cell_starts_a_formula(s in "\\PC{0,20}") {
            // What a spreadsheet reads: a quoted cell without its outer quotes, "" as ".
            let c = csv_cell(&s);
            let read = match c.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
                Some(inner) => inner.replace("\"\"", "\""),
                None => c.clone(),
            };
            let first = read.chars().next();
            prop_assert!(!matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')), "{c:?}");
            prop_assert!(read == s || read == format!("'{s}"), "the value survives: {c:?}");
        }
    }
}

/// A patient registering themselves in the portal.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct Registration {
    /// Given name.
    #[serde(default)]
    pub given_name: String,
    /// Family name.
    #[serde(default)]
    pub family_name: String,
    /// Email (becomes the login).
    #[serde(default)]
    pub email: String,
    /// Phone.
    pub phone: Option<String>,
    /// Date of birth.
    #[schema(value_type = Option<String>, format = Date)]
    pub date_of_birth: Option<Date>,
    /// Password (10–128 characters).
    #[serde(default)]
    pub password: String,
    /// The password again.
    #[serde(default)]
    pub confirm_password: String,
}

impl Services {
    /// Counts a self-registration attempt from the client's address; past the limit the
    /// address waits (429 with how long), and the lock-out is audited.
    async fn count_registration_attempt(&self, ctx: &crate::RequestContext) -> ServiceResult<()> {
        use praxis_store::throttle;
        let limits = self.settings().login_limits;
        let now = self.now();
        let key = format!("register:{}", ctx.client_ip.as_deref().unwrap_or("unknown"));
        if let Some(until) = throttle::locked_until(self.db(), [&key, &key], now).await? {
            return Err(ServiceError::RateLimited { retry_after_secs: crate::auth::retry_after(until, now) });
        }
        let floor = now.saturating_sub(limits.registration_window).unwrap_or(now);
        let mut tx = self.db().begin().await?;
        let attempts = throttle::record_failure(&mut tx, &key, now, floor).await?;
        // The attempt past the limit is the first one refused.
        let limit = limits.registrations_per_address + 1;
        if let Some(until) = crate::auth::lockout_after(attempts, limit, now, limits.registration_window) {
            throttle::lock(&mut tx, &key, until).await?;
            tx.audit(self.audit_entry(
                &Actor::anonymous("unknown", ctx.clone()),
                "patient.register_throttled",
                "request",
                ctx.request_id.clone(),
                format!(
                    "{attempts} self-registrations from one address in {} min; refused until {until}",
                    limits.registration_window.as_mins()
                ),
            ));
            tx.commit().await?;
            return Err(ServiceError::RateLimited { retry_after_secs: crate::auth::retry_after(until, now) });
        }
        tx.commit().await?;
        Ok(())
    }

    /// Self-registration: creates a portal account with the patient role and the patient's
    /// record in one transaction. A taken email answers 409.
    #[tracing::instrument(skip_all)]
    pub async fn register_patient(&self, ctx: &crate::RequestContext, input: Registration) -> ServiceResult<Patient> {
        self.count_registration_attempt(ctx).await?;
        let mut v = Validation::new();
        let email = v.check("email", Email::parse(&input.email));
        let password = v.check("password", praxis_domain::values::NewPassword::parse(&input.password));
        if password.is_some() && input.password != input.confirm_password {
            v.add("confirm_password", "mismatch", "The two passwords are not the same.");
        }
        if input.given_name.trim().is_empty() {
            v.add("given_name", "required", "Enter your given name.");
        }
        if input.family_name.trim().is_empty() {
            v.add("family_name", "required", "Enter your family name.");
        }
        v.finish()?;
        let (Some(email), Some(password)) = (email, password) else {
            return Err(ServiceError::Internal("validated registration without values".into()));
        };
        let taken = || ServiceError::Conflict {
            code: "email_taken",
            message:
                "An account with this email already exists. Log in instead, or ask the clinic to reset your password."
                    .into(),
            fields: vec![praxis_domain::FieldError {
                field: "email".into(),
                code: "taken".into(),
                message: "An account with this email already exists.".into(),
            }],
        };
        if praxis_store::users::by_email(self.db(), email.as_str()).await?.is_some() {
            return Err(taken());
        }
        let hash = self.passwords().hash(password.expose()).await?;
        let now = self.now();
        let full_name = format!("{} {}", input.given_name.trim(), input.family_name.trim());
        let user = praxis_store::users::UserRow {
            id: UserId::new().0,
            email: email.as_str().to_string(),
            full_name: full_name.chars().take(200).collect(),
            phone: None,
            roles: praxis_domain::Role::Patient.as_str().into(),
            password_hash: hash,
            active: true,
            created_at: DbTime(now),
            updated_at: DbTime(now),
            password_changed_at: DbTime(now),
            last_login_at: None,
        };
        let mut tx = self.db().begin().await?;
        match praxis_store::users::insert(&mut tx, &user).await {
            Err(e) if e.is_unique("email") => return Err(taken()),
            other => other?,
        }
        let record = NewPatient {
            given_name: input.given_name,
            family_name: input.family_name,
            email: Some(email.as_str().to_string()),
            phone: input.phone,
            date_of_birth: input.date_of_birth,
            confirm_duplicate: true,
            ..NewPatient::default()
        };
        let patient = self.insert_patient(&mut tx, &record, Some(UserId(user.id))).await?;
        let actor = Actor { user_id: Some(UserId(user.id)), ..Actor::anonymous(email.as_str(), ctx.clone()) };
        tx.audit(self.audit_entry(
            &actor,
            "patient.register",
            "patient",
            Some(patient.id.to_string()),
            "registered in the portal",
        ));
        tx.commit().await?;
        Ok(patient)
    }
}
