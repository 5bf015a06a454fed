//! Intake forms: administrators build versioned questionnaires; a form is assigned to a
//! patient by the clinic, or automatically the first time the patient books a service
//! that asks for it; the patient (or a guardian) answers it in the portal; providers
//! read the answers beside the appointment and on the chart.
//!
//! Answers are clinical content: they are sealed in the database like notes
//! (`intake_assignments:answers:<id>`), kept against the exact form version answered,
//! and shown only to administrators, the providers treating the patient and the patient
//! themselves — every such read is audited. Staff see which forms are pending or done,
//! never the answers. Publishing a changed form makes a new version; pending
//! assignments move to it, completed ones keep theirs.

use crate::Services;
use crate::actor::Actor;
use crate::crypto::aad;
use crate::error::{ServiceError, ServiceResult};
use jiff::Timestamp;
use praxis_domain::documents::Standing;
use praxis_domain::forms::{Answer, FormDefinition, Question};
use praxis_domain::permissions::Scope;
use praxis_domain::{AppointmentId, PatientId, Permission, ServiceId, Validation};
use praxis_store::forms::{self as store, AssignmentRow, FormRow};
use praxis_store::{DbTime, Tx};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A form with its current questions.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Form {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The current version number (from 1).
    pub version: i64,
    /// The current version's id.
    pub version_id: Uuid,
    /// The current questions.
    pub questions: Vec<Question>,
    /// Offered for assignment.
    pub active: bool,
    /// The services that send it automatically on a patient's first booking.
    pub service_ids: Vec<ServiceId>,
    /// Last change.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// A form to create, or a form's new state.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct FormInput {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The questions, in order.
    #[serde(default)]
    pub questions: Vec<Question>,
    /// Offered for assignment (default true).
    #[serde(default)]
    pub active: Option<bool>,
    /// Services that send it on a patient's first booking (replaces the list).
    #[serde(default)]
    pub service_ids: Option<Vec<ServiceId>>,
}

/// A form given to a patient.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Assignment {
    /// Id.
    pub id: Uuid,
    /// Whose.
    pub patient_id: PatientId,
    /// Which form.
    pub form_id: Uuid,
    /// Its name.
    pub form_name: String,
    /// The version to answer, or answered.
    pub version: i64,
    /// That version's id (send it back with the answers).
    pub version_id: Uuid,
    /// The appointment it was sent for.
    pub appointment_id: Option<AppointmentId>,
    /// `pending`, `completed` or `cancelled`.
    pub status: String,
    /// Sent automatically when the patient booked.
    pub automatic: bool,
    /// When assigned.
    #[schema(value_type = String, format = DateTime)]
    pub assigned_at: Timestamp,
    /// When answered.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Timestamp>,
    /// The questions of that version (for filling in and for reading the answers).
    pub questions: Vec<Question>,
    /// The answers, keyed by question; present only for those who may read them.
    pub answers: Option<BTreeMap<String, Answer>>,
}

impl Assignment {
    /// The answer to `question`, for display ("—" when not answered).
    pub fn answer_text(&self, question: &str) -> String {
        self.answers.as_ref().and_then(|a| a.get(question)).map(Answer::display).unwrap_or_else(|| "—".into())
    }
}

/// Answers sent by the patient: question key → value(s) as typed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct AnswersInput {
    /// The version the answers are for (the one shown); a newer version answers 409.
    pub version_id: Option<Uuid>,
    /// Question key → a string, a number, a boolean or a list of strings.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub answers: BTreeMap<String, serde_json::Value>,
}

/// A form to assign.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct AssignInput {
    /// The form.
    pub form_id: Option<Uuid>,
    /// The appointment it is for (this patient's).
    #[serde(default)]
    pub appointment_id: Option<AppointmentId>,
}

fn raw_values(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::Bool(b) => vec![if *b { "yes" } else { "no" }.into()],
        serde_json::Value::Number(n) => vec![n.to_string()],
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a.iter().flat_map(raw_values).collect(),
        serde_json::Value::Object(_) => vec!["\u{0}object".into()],
    }
}

fn parse_definition(json: &str) -> ServiceResult<FormDefinition> {
    serde_json::from_str(json).map_err(|e| ServiceError::Internal(format!("form definition: {e}")))
}

impl Services {
    fn form_view(&self, r: FormRow, services: Vec<ServiceId>) -> ServiceResult<Form> {
        let def = parse_definition(&r.definition)?;
        Ok(Form {
            id: r.id,
            name: r.name,
            description: r.description,
            version: r.current_version,
            version_id: r.version_id,
            questions: def.questions,
            active: r.active,
            service_ids: services,
            updated_at: r.updated_at.0,
        })
    }

    fn require_clinic_people(&self, actor: &Actor) -> ServiceResult<()> {
        if actor.require(Permission::ManagePatients)? != Scope::All || actor.roles.is_patient_only() {
            return Err(ServiceError::Forbidden);
        }
        Ok(())
    }

    fn check_form_input(&self, input: &FormInput) -> ServiceResult<(String, String, FormDefinition)> {
        let mut v = Validation::new();
        let name = input.name.trim().to_string();
        if name.is_empty() {
            v.add("name", "required", "Give the form a name patients will recognise.");
        } else if name.chars().count() > 120 {
            v.add("name", "too_long", "Use at most 120 characters.");
        }
        let description = input.description.trim().to_string();
        if description.chars().count() > 2000 {
            v.add("description", "too_long", "Use at most 2,000 characters.");
        }
        let def = FormDefinition { questions: input.questions.clone() }.normalise();
        let def = match def {
            Ok(d) => Some(d),
            Err(errs) => {
                for e in errs {
                    v.add(&e.field, &e.code, e.message);
                }
                None
            }
        };
        v.finish()?;
        let def = def.ok_or_else(|| ServiceError::Internal("checked definition".into()))?;
        Ok((name, description, def))
    }

    async fn check_services(&self, ids: &[ServiceId]) -> ServiceResult<()> {
        for s in ids {
            if praxis_store::catalog::service(self.db(), *s).await?.is_none() {
                return Err(ServiceError::invalid("service_ids", "unknown", "One of the services does not exist."));
            }
        }
        Ok(())
    }

    /// Creates a form (administrators). Its questions become version 1.
    pub async fn create_form(&self, actor: &Actor, input: FormInput) -> ServiceResult<Form> {
        actor.require(Permission::ManageForms)?;
        let (name, description, def) = self.check_form_input(&input)?;
        let services = input.service_ids.clone().unwrap_or_default();
        self.check_services(&services).await?;
        let now = self.now();
        let row = FormRow {
            id: Uuid::now_v7(),
            name,
            description,
            current_version: 1,
            version_id: Uuid::now_v7(),
            definition: serde_json::to_string(&def).map_err(|e| ServiceError::Internal(e.to_string()))?,
            active: input.active.unwrap_or(true),
            created_at: DbTime(now),
            updated_at: DbTime(now),
        };
        let mut tx = self.db().begin().await?;
        if let Err(e) = store::insert_form(&mut tx, &row, actor.user_id).await {
            if e.is_unique("intake_forms") {
                return Err(ServiceError::Conflict {
                    code: "name_taken",
                    message: "A form with this name exists already. Choose another name, or edit that form.".into(),
                    fields: vec![praxis_domain::FieldError {
                        field: "name".into(),
                        code: "taken".into(),
                        message: "A form with this name exists already.".into(),
                    }],
                });
            }
            return Err(e.into());
        }
        store::set_services_of_form(&mut tx, row.id, &services).await?;
        tx.audit(self.audit_entry(
            actor,
            "form.create",
            "intake_form",
            Some(row.id.to_string()),
            format!("{} v1, {} question(s)", row.name, def.questions.len()),
        ));
        tx.commit().await?;
        self.form_view(row, services)
    }

    /// Changes a form (administrators). Changed questions publish a new version; pending
    /// assignments move to it, answered ones keep the version they answered.
    pub async fn update_form(&self, actor: &Actor, id: Uuid, input: FormInput) -> ServiceResult<Form> {
        actor.require(Permission::ManageForms)?;
        let (name, description, def) = self.check_form_input(&input)?;
        if let Some(s) = &input.service_ids {
            self.check_services(s).await?;
        }
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let mut row = store::form_for_update(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "Form" })?;
        let current = parse_definition(&row.definition)?;
        let mut summary = format!("{name}: details");
        if current != def {
            row.current_version += 1;
            row.version_id = Uuid::now_v7();
            row.definition = serde_json::to_string(&def).map_err(|e| ServiceError::Internal(e.to_string()))?;
            store::insert_version(
                &mut tx,
                row.version_id,
                id,
                row.current_version,
                &row.definition,
                now,
                actor.user_id,
            )
            .await?;
            let moved = store::move_pending_to(&mut tx, id, row.version_id).await?;
            summary = format!(
                "{name}: published v{} ({} question(s)); {moved} pending assignment(s) moved to it",
                row.current_version,
                def.questions.len()
            );
        }
        row.name = name;
        row.description = description;
        row.active = input.active.unwrap_or(row.active);
        row.updated_at = DbTime(now);
        if let Err(e) = store::update_form(&mut tx, &row).await {
            if e.is_unique("intake_forms") {
                return Err(ServiceError::invalid("name", "taken", "A form with this name exists already."));
            }
            return Err(e.into());
        }
        if let Some(s) = &input.service_ids {
            store::set_services_of_form(&mut tx, id, s).await?;
        }
        tx.audit(self.audit_entry(actor, "form.update", "intake_form", Some(id.to_string()), summary));
        tx.commit().await?;
        let services = store::services_of_form(self.db(), id).await?.into_iter().map(ServiceId).collect();
        self.form_view(row, services)
    }

    /// Every form (the clinic's people: to assign them; administrators: to edit them).
    pub async fn list_forms(&self, actor: &Actor) -> ServiceResult<Vec<Form>> {
        self.require_clinic_people(actor)?;
        let links = store::service_forms(self.db()).await?;
        store::forms(self.db())
            .await?
            .into_iter()
            .map(|r| {
                let services = links.iter().filter(|(_, f)| *f == r.id).map(|(s, _)| ServiceId(*s)).collect();
                self.form_view(r, services)
            })
            .collect()
    }

    /// One form with its current questions (the clinic's people).
    pub async fn get_form(&self, actor: &Actor, id: Uuid) -> ServiceResult<Form> {
        self.require_clinic_people(actor)?;
        let row = store::form(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Form" })?;
        let services = store::services_of_form(self.db(), id).await?.into_iter().map(ServiceId).collect();
        self.form_view(row, services)
    }

    /// Whether the actor may read form answers of `patient`: administrators, providers
    /// treating them, and the patient (or guardian) themselves.
    async fn may_read_answers(&self, standings: &[Standing]) -> bool {
        standings.iter().any(|s| matches!(s, Standing::Admin | Standing::TreatingProvider | Standing::OwnPatient))
    }

    async fn assignment_views(
        &self,
        rows: Vec<AssignmentRow>,
        with_answers: impl Fn(&AssignmentRow) -> bool,
    ) -> ServiceResult<Vec<Assignment>> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.form_version_id).collect();
        let versions = store::versions(self.db(), &ids).await?;
        rows.into_iter()
            .map(|r| {
                let (_, version, def) = versions
                    .iter()
                    .find(|(v, _, _)| *v == r.form_version_id)
                    .ok_or_else(|| ServiceError::Internal("form version missing".into()))?;
                let answers = match (&r.answers_enc, with_answers(&r)) {
                    (Some(sealed), true) => {
                        let json = self
                            .keys()
                            .open_str(&aad("intake_assignments", "answers", r.id), sealed)
                            .map_err(|e| self.damaged("The form's answers", "intake_assignment", r.id, e))?;
                        Some(
                            serde_json::from_str(&json)
                                .map_err(|e| ServiceError::Internal(format!("answers {}: {e}", r.id)))?,
                        )
                    }
                    _ => None,
                };
                Ok(Assignment {
                    id: r.id,
                    patient_id: PatientId(r.patient_id),
                    form_id: r.form_id,
                    form_name: r.form_name,
                    version: *version,
                    version_id: r.form_version_id,
                    appointment_id: r.appointment_id.map(AppointmentId),
                    status: r.status,
                    automatic: r.assigned_by.is_none(),
                    assigned_at: r.assigned_at.0,
                    completed_at: r.completed_at.map(|t| t.0),
                    questions: parse_definition(def)?.questions,
                    answers,
                })
            })
            .collect()
    }

    /// A patient's forms. Answers are included for administrators, treating providers
    /// and the patient (audited); staff see only what is pending or done; other
    /// providers and other patients are refused (audited).
    pub async fn patient_forms(&self, actor: &Actor, patient: PatientId) -> ServiceResult<Vec<Assignment>> {
        let standings = self.standings(actor, patient).await?;
        if praxis_store::patients::get(self.db(), patient).await?.is_none() {
            return Err(ServiceError::NotFound { what: "Patient" });
        }
        let may_list = standings.iter().any(|s| {
            matches!(s, Standing::Admin | Standing::Staff | Standing::TreatingProvider | Standing::OwnPatient)
        });
        if !may_list {
            let err = if standings.iter().all(|s| *s == Standing::OtherPatient) {
                ServiceError::NotFound { what: "Patient" }
            } else {
                ServiceError::Forbidden
            };
            return Err(self
                .denied(
                    actor,
                    "form.list_denied",
                    "patient",
                    Some(patient.to_string()),
                    "intake forms of a patient they may not see",
                    err,
                )
                .await);
        }
        let answers = self.may_read_answers(&standings).await;
        let list = self.assignment_views(store::for_patient(self.db(), patient).await?, |_| answers).await?;
        let answered = list.iter().filter(|a| a.answers.is_some()).count();
        if answered > 0 {
            self.audit_read(
                actor,
                "form.answers_read",
                "patient",
                &patient.to_string(),
                format!("read the answers of {answered} intake form(s)"),
            )
            .await?;
        }
        Ok(list)
    }

    /// One assignment with its questions, and its answers for those who may read them
    /// (audited). Another patient's form answers 404, refused reads are audited.
    pub async fn get_assignment(&self, actor: &Actor, id: Uuid) -> ServiceResult<Assignment> {
        let row = store::assignment(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Form" })?;
        let patient = PatientId(row.patient_id);
        let standings = self.standings(actor, patient).await?;
        if !sees_forms(&standings) {
            // A form one may not see answers exactly like one that does not exist.
            let err = ServiceError::NotFound { what: "Form" };
            return Err(self
                .denied(
                    actor,
                    "form.read_denied",
                    "intake_assignment",
                    Some(id.to_string()),
                    &format!("intake form of patient {patient}"),
                    err,
                )
                .await);
        }
        let answers = self.may_read_answers(&standings).await;
        let mut list = self.assignment_views(vec![row], |_| answers).await?;
        let a = list.pop().ok_or(ServiceError::NotFound { what: "Form" })?;
        if a.answers.is_some() {
            self.audit_read(
                actor,
                "form.answers_read",
                "intake_assignment",
                &id.to_string(),
                format!("answers to {} v{} of patient {patient}", a.form_name, a.version),
            )
            .await?;
        }
        Ok(a)
    }

    /// The forms of an appointment's patients (for the appointment page), with answers
    /// for those who may read them (audited).
    pub async fn appointment_forms(&self, actor: &Actor, appointment: AppointmentId) -> ServiceResult<Vec<Assignment>> {
        let appt = self.get_appointment(actor, appointment).await?;
        if actor.roles.is_patient_only() {
            return Ok(Vec::new());
        }
        let patients: Vec<Uuid> = appt.participants.iter().map(|p| p.patient_id.0).collect();
        let rows = store::for_appointment(self.db(), appointment, &patients).await?;
        let mut readable = Vec::new();
        for p in &patients {
            let standings = self.standings(actor, PatientId(*p)).await?;
            if self.may_read_answers(&standings).await {
                readable.push(*p);
            }
        }
        let list = self.assignment_views(rows, |r| readable.contains(&r.patient_id)).await?;
        let answered = list.iter().filter(|a| a.answers.is_some()).count();
        if answered > 0 {
            self.audit_read(
                actor,
                "form.answers_read",
                "appointment",
                &appointment.to_string(),
                format!("read the answers of {answered} intake form(s)"),
            )
            .await?;
        }
        Ok(list)
    }

    /// The actor's own open forms (and their children's), for the portal.
    pub async fn my_forms(&self, actor: &Actor) -> ServiceResult<Vec<Assignment>> {
        let mine = self.patients_i_act_for(actor).await?;
        let rows = store::for_patients(self.db(), &mine).await?;
        self.assignment_views(rows.into_iter().filter(|r| r.status != "cancelled").collect(), |_| false).await
    }

    /// Gives a form to a patient (staff, administrators, providers treating them). A
    /// form already waiting for this patient answers 409.
    pub async fn assign_form(
        &self,
        actor: &Actor,
        patient: PatientId,
        input: AssignInput,
    ) -> ServiceResult<Assignment> {
        self.require_clinic_people(actor)?;
        let standings = self.standings(actor, patient).await?;
        if praxis_store::patients::get(self.db(), patient).await?.is_none() {
            return Err(ServiceError::NotFound { what: "Patient" });
        }
        if !standings.iter().any(|s| matches!(s, Standing::Admin | Standing::Staff | Standing::TreatingProvider)) {
            return Err(self
                .denied(
                    actor,
                    "form.assign_denied",
                    "patient",
                    Some(patient.to_string()),
                    "assign a form to a patient they do not treat",
                    ServiceError::Forbidden,
                )
                .await);
        }
        let form_id =
            input.form_id.ok_or_else(|| ServiceError::invalid("form_id", "required", "Choose the form to send."))?;
        let form = store::form(self.db(), form_id)
            .await?
            .ok_or_else(|| ServiceError::invalid("form_id", "unknown", "There is no such form."))?;
        if !form.active {
            return Err(ServiceError::invalid(
                "form_id",
                "inactive",
                "This form is switched off. Switch it on in Setup → Intake forms first.",
            ));
        }
        if let Some(a) = input.appointment_id {
            let parts = praxis_store::appointments::participants(self.db(), &[a.0]).await?;
            if !parts.iter().any(|p| p.patient_id == patient.0) {
                return Err(ServiceError::invalid(
                    "appointment_id",
                    "other_patient",
                    "That appointment is not this patient's.",
                ));
            }
        }
        let row = AssignmentRow {
            id: Uuid::now_v7(),
            patient_id: patient.0,
            form_id,
            form_name: form.name.clone(),
            form_version_id: form.version_id,
            appointment_id: input.appointment_id.map(|a| a.0),
            status: "pending".into(),
            assigned_at: DbTime(self.now()),
            assigned_by: actor.user_id.map(|u| u.0),
            completed_at: None,
            completed_by: None,
            answers_enc: None,
        };
        let mut tx = self.db().begin().await?;
        if !store::insert_assignment(&mut tx, &row, false).await? {
            return Err(ServiceError::conflict(
                "form_pending",
                format!("{} is already waiting for this patient to fill in.", form.name),
            ));
        }
        tx.audit(self.audit_entry(
            actor,
            "form.assign",
            "intake_assignment",
            Some(row.id.to_string()),
            format!("{} v{} to patient {patient}", form.name, form.current_version),
        ));
        tx.commit().await?;
        let mut list = self.assignment_views(vec![row], |_| false).await?;
        list.pop().ok_or(ServiceError::NotFound { what: "Form" })
    }

    /// Withdraws a form that has not been answered yet (staff, administrators, providers
    /// treating the patient).
    pub async fn cancel_assignment(&self, actor: &Actor, id: Uuid) -> ServiceResult<Assignment> {
        self.require_clinic_people(actor)?;
        let row = store::assignment(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Form" })?;
        let standings = self.standings(actor, PatientId(row.patient_id)).await?;
        if !standings.iter().any(|s| matches!(s, Standing::Admin | Standing::Staff | Standing::TreatingProvider)) {
            let err = refusal(&standings);
            return Err(self
                .denied(
                    actor,
                    "form.cancel_denied",
                    "intake_assignment",
                    Some(id.to_string()),
                    "withdraw a form of a patient they do not treat",
                    err,
                )
                .await);
        }
        let mut tx = self.db().begin().await?;
        if !store::cancel(&mut tx, id).await? {
            return Err(ServiceError::conflict(
                "form_not_pending",
                "Only a form that has not been answered yet can be withdrawn.",
            ));
        }
        tx.audit(self.audit_entry(
            actor,
            "form.cancel",
            "intake_assignment",
            Some(id.to_string()),
            format!("withdrew {} from patient {}", row.form_name, row.patient_id),
        ));
        tx.commit().await?;
        let mut list =
            self.assignment_views(vec![AssignmentRow { status: "cancelled".into(), ..row }], |_| false).await?;
        list.pop().ok_or(ServiceError::NotFound { what: "Form" })
    }

    /// The patient (or a guardian) answers a form. Answers are checked against the
    /// version shown, sealed, and kept with that version. Another patient's form is 404
    /// (audited); a form changed meanwhile is 409 with the new questions to answer.
    pub async fn submit_answers(&self, actor: &Actor, id: Uuid, input: AnswersInput) -> ServiceResult<Assignment> {
        let row = store::assignment(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Form" })?;
        let mine = self.patients_i_act_for(actor).await?;
        if !mine.contains(&PatientId(row.patient_id)) {
            let err = refusal(&self.standings(actor, PatientId(row.patient_id)).await?);
            return Err(self
                .denied(
                    actor,
                    "form.answer_denied",
                    "intake_assignment",
                    Some(id.to_string()),
                    &format!("answer a form of patient {}", row.patient_id),
                    err,
                )
                .await);
        }
        if row.status != "pending" {
            return Err(ServiceError::conflict(
                "form_not_pending",
                "This form has been answered already or was withdrawn.",
            ));
        }
        if input.version_id.is_some_and(|v| v != row.form_version_id) {
            return Err(ServiceError::conflict(
                "form_changed",
                "The clinic changed this form while you were filling it in. Please check your answers against the new questions and send them again.",
            ));
        }
        let (_, version, def) = store::version(self.db(), row.form_version_id)
            .await?
            .ok_or_else(|| ServiceError::Internal("form version missing".into()))?;
        let def = parse_definition(&def)?;
        let raw: BTreeMap<String, Vec<String>> =
            input.answers.iter().map(|(k, v)| (k.clone(), raw_values(v))).collect();
        let answers = def.check_answers(&raw)?;
        let json = serde_json::to_string(&answers).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let sealed = self
            .keys()
            .seal_str(&aad("intake_assignments", "answers", id), &json)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        if !store::complete(&mut tx, id, row.form_version_id, &sealed, actor.user_id, now).await? {
            return Err(ServiceError::conflict(
                "form_changed",
                "This form changed or was answered meanwhile. Reload it and try again.",
            ));
        }
        tx.audit(self.audit_entry(
            actor,
            "form.answer",
            "intake_assignment",
            Some(id.to_string()),
            format!(
                "{} v{version} answered for patient {} ({} answer(s))",
                row.form_name,
                row.patient_id,
                answers.len()
            ),
        ));
        tx.commit().await?;
        self.get_assignment(actor, id).await
    }

    /// Inside a booking's transaction: if `service` sends an intake form and the patient
    /// has never had it, assigns it (idempotent — at most one per patient and form).
    pub(crate) async fn assign_intake_on_booking(
        &self,
        tx: &mut Tx,
        service: ServiceId,
        appointment: AppointmentId,
        patient: PatientId,
        now: Timestamp,
    ) -> ServiceResult<()> {
        let Some((form_id, version_id)) = store::form_of_service_tx(tx, service).await? else { return Ok(()) };
        let row = AssignmentRow {
            id: Uuid::now_v7(),
            patient_id: patient.0,
            form_id,
            form_name: String::new(),
            form_version_id: version_id,
            appointment_id: Some(appointment.0),
            status: "pending".into(),
            assigned_at: DbTime(now),
            assigned_by: None,
            completed_at: None,
            completed_by: None,
            answers_enc: None,
        };
        if store::insert_assignment(tx, &row, true).await? {
            tx.audit(self.audit_entry(
                &Actor::system("system"),
                "form.assign",
                "intake_assignment",
                Some(row.id.to_string()),
                format!("intake form {form_id} sent to patient {patient} on booking {appointment}"),
            ));
        }
        Ok(())
    }
}

/// Whether someone in these standings may see a patient's forms: the clinic's staff and
/// administrators, a provider treating the patient, the patient (or a guardian).
fn sees_forms(standings: &[Standing]) -> bool {
    standings
        .iter()
        .any(|s| matches!(s, Standing::Admin | Standing::Staff | Standing::TreatingProvider | Standing::OwnPatient))
}

/// The refusal of a form action: 403 to those who see the form, 404 (as for a made-up
/// id) to anyone else.
fn refusal(standings: &[Standing]) -> ServiceError {
    if sees_forms(standings) { ServiceError::Forbidden } else { ServiceError::NotFound { what: "Form" } }
}
