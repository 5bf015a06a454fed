//! Progress notes, therapy-session notes and assessments. A draft is edited only by its
//! author; signing fixes it forever (a hash of the content is kept and checked on every
//! read); later changes are amendments shown beside the original.

use crate::Services;
use crate::actor::Actor;
use crate::crypto::aad;
use crate::error::{ServiceError, ServiceResult};
use crate::users::{Page, PageRequest};
use jiff::Timestamp;
use jiff::civil::Date;
use praxis_domain::{AppointmentId, PatientId, ProviderId, Validation};
use praxis_store::clinical::{self, AmendmentRow, NoteRow};
use praxis_store::{DbDate, DbTime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The kind of note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// A progress note.
    Progress,
    /// A therapy-session note.
    TherapySession,
    /// An assessment.
    Assessment,
}

impl NoteKind {
    /// Every kind, in the order pages offer them.
    pub const ALL: [NoteKind; 3] = [NoteKind::Progress, NoteKind::TherapySession, NoteKind::Assessment];

    /// From the stored code (`progress`, `therapy_session`, `assessment`).
    pub fn parse(s: &str) -> Option<NoteKind> {
        NoteKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind in words.
    pub fn label(self) -> &'static str {
        match self {
            NoteKind::Progress => "Progress note",
            NoteKind::TherapySession => "Therapy session",
            NoteKind::Assessment => "Assessment",
        }
    }

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Progress => "progress",
            NoteKind::TherapySession => "therapy_session",
            NoteKind::Assessment => "assessment",
        }
    }
}

/// The kind of assessment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentKind {
    /// The first assessment.
    Initial,
    /// A progress review.
    Progress,
    /// At discharge.
    Discharge,
    /// A reassessment.
    Reassessment,
}

impl AssessmentKind {
    /// Every kind, in the order pages offer them.
    pub const ALL: [AssessmentKind; 4] =
        [AssessmentKind::Initial, AssessmentKind::Progress, AssessmentKind::Reassessment, AssessmentKind::Discharge];

    /// The kind in words.
    pub fn label(self) -> &'static str {
        match self {
            AssessmentKind::Initial => "Initial assessment",
            AssessmentKind::Progress => "Progress review",
            AssessmentKind::Discharge => "Discharge assessment",
            AssessmentKind::Reassessment => "Reassessment",
        }
    }

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            AssessmentKind::Initial => "initial",
            AssessmentKind::Progress => "progress",
            AssessmentKind::Discharge => "discharge",
            AssessmentKind::Reassessment => "reassessment",
        }
    }
    /// From the stored code.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "initial" => AssessmentKind::Initial,
            "progress" => AssessmentKind::Progress,
            "discharge" => AssessmentKind::Discharge,
            "reassessment" => AssessmentKind::Reassessment,
            _ => return None,
        })
    }
}

/// Whether the patient attended a therapy session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    /// Came for the whole session.
    #[default]
    Attended,
    /// Came late or left early.
    Partial,
    /// Did not come.
    Absent,
}

/// A scored measure in an assessment (a standard scale, a test result).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Score {
    /// The measure ("PHQ-9", "Berg Balance Scale").
    #[serde(default)]
    pub measure: String,
    /// The result as recorded ("14", "48/56").
    #[serde(default)]
    pub value: String,
    /// Interpretation ("moderate").
    #[serde(default)]
    pub interpretation: String,
}

/// What a note says. Sealed as a whole.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoteContent {
    /// Progress notes: the note itself.
    #[serde(default)]
    pub text: String,
    /// Therapy sessions: the session's objectives.
    #[serde(default)]
    pub objectives: String,
    /// Activities done.
    #[serde(default)]
    pub activities: String,
    /// Observations.
    #[serde(default)]
    pub observations: String,
    /// Progress towards goals.
    #[serde(default)]
    pub progress: String,
    /// Homework set.
    #[serde(default)]
    pub homework: String,
    /// Plan for the next session.
    #[serde(default)]
    pub plan: String,
    /// Attendance.
    #[serde(default)]
    pub attendance: Option<Attendance>,
    /// How the patient responded.
    #[serde(default)]
    pub patient_response: String,
    /// Assessments: structured scores.
    #[serde(default)]
    pub scores: Vec<Score>,
    /// Assessments: goals.
    #[serde(default)]
    pub goals: Vec<String>,
    /// Assessments: findings.
    #[serde(default)]
    pub findings: String,
    /// Assessments: recommendations.
    #[serde(default)]
    pub recommendations: String,
}

impl NoteContent {
    fn is_empty(&self) -> bool {
        self == &NoteContent { attendance: self.attendance, ..NoteContent::default() } && self.attendance.is_none()
    }

    fn validate(&self, kind: NoteKind, v: &mut Validation) {
        let texts = [
            ("text", &self.text),
            ("objectives", &self.objectives),
            ("activities", &self.activities),
            ("observations", &self.observations),
            ("progress", &self.progress),
            ("homework", &self.homework),
            ("plan", &self.plan),
            ("patient_response", &self.patient_response),
            ("findings", &self.findings),
            ("recommendations", &self.recommendations),
        ];
        for (field, t) in texts {
            if t.chars().count() > 20_000 {
                v.add(field, "too_long", "Use at most 20,000 characters.");
            }
        }
        if self.scores.len() > 50 || self.goals.len() > 50 {
            v.add("scores", "too_many", "Record at most 50 scores and 50 goals.");
        }
        if self.is_empty() {
            let field = match kind {
                NoteKind::Progress => "text",
                NoteKind::TherapySession => "observations",
                NoteKind::Assessment => "findings",
            };
            v.add(field, "required", "Write something before saving the note.");
        }
    }

    /// A one-line preview for timelines.
    pub fn summary(&self) -> String {
        let first = [&self.text, &self.observations, &self.findings, &self.objectives, &self.progress]
            .into_iter()
            .find(|t| !t.trim().is_empty())
            .cloned()
            .unwrap_or_default();
        let line: String = first.lines().next().unwrap_or("").chars().take(140).collect();
        line
    }
}

/// A note to write or a draft to replace.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct NewNote {
    /// `progress`, `therapy_session` or `assessment`.
    pub kind: Option<NoteKind>,
    /// For assessments.
    pub assessment_kind: Option<AssessmentKind>,
    /// The appointment it records (must be this patient's).
    pub appointment_id: Option<AppointmentId>,
    /// The content.
    #[serde(default)]
    pub content: NoteContent,
    /// Assessments: when to review next.
    #[schema(value_type = Option<String>, format = Date)]
    pub next_review_date: Option<Date>,
}

/// An amendment to a signed note.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Amendment {
    /// Id.
    pub id: Uuid,
    /// Author.
    pub author: String,
    /// Why.
    pub reason: String,
    /// What it adds or corrects.
    pub text: String,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// A note as read back.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Note {
    /// Id.
    pub id: Uuid,
    /// Whose record.
    pub patient_id: PatientId,
    /// The appointment it records.
    pub appointment_id: Option<AppointmentId>,
    /// The author's provider id.
    pub author_id: ProviderId,
    /// The author's name.
    pub author: String,
    /// Kind.
    pub kind: NoteKind,
    /// For assessments.
    pub assessment_kind: Option<AssessmentKind>,
    /// `draft` or `signed`.
    pub status: String,
    /// The content.
    pub content: NoteContent,
    /// Assessments: next review.
    #[schema(value_type = Option<String>, format = Date)]
    pub next_review_date: Option<Date>,
    /// Created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Last edited.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Signed.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub signed_at: Option<Timestamp>,
    /// Amendments, oldest first.
    pub amendments: Vec<Amendment>,
}

fn content_hash(json: &str) -> String {
    hex::encode(Sha256::digest(json.as_bytes()))
}

fn kind_of(s: &str) -> NoteKind {
    match s {
        "therapy_session" => NoteKind::TherapySession,
        "assessment" => NoteKind::Assessment,
        _ => NoteKind::Progress,
    }
}

/// What a caller wants to do with a note; a refusal is audited under its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteUse {
    /// Read it.
    Read,
    /// Edit a draft.
    Edit,
    /// Sign a draft.
    Sign,
    /// Amend a signed note.
    Amend,
}

impl NoteUse {
    fn refused(self) -> &'static str {
        match self {
            NoteUse::Read => "clinical.read_denied",
            NoteUse::Edit => "clinical.note_edit_denied",
            NoteUse::Sign => "clinical.note_sign_denied",
            NoteUse::Amend => "clinical.note_amend_denied",
        }
    }
}

impl Services {
    fn open_note(&self, r: &NoteRow) -> ServiceResult<(NoteContent, String)> {
        let json = self
            .keys()
            .open_str(&aad("clinical_notes", "content", r.id), &r.content_enc)
            .map_err(|e| self.damaged("The note", "clinical_note", r.id, e))?;
        if let Some(h) = &r.content_hash
            && *h != content_hash(&json)
        {
            return Err(self.damaged(
                "The note",
                "clinical_note",
                r.id,
                "it does not match the content it was signed with",
            ));
        }
        let content = serde_json::from_str(&json).map_err(|e| ServiceError::Internal(format!("note {}: {e}", r.id)))?;
        Ok((content, json))
    }

    fn note_view(&self, r: NoteRow, amendments: &[AmendmentRow]) -> ServiceResult<Note> {
        let (content, _) = self.open_note(&r)?;
        let amendments = amendments
            .iter()
            .filter(|a| a.note_id == r.id)
            .map(|a| {
                let text = self
                    .keys()
                    .open_str(&aad("clinical_amendments", "content", a.id), &a.content_enc)
                    .map_err(|e| self.damaged("An amendment of the note", "clinical_amendment", a.id, e))?;
                if content_hash(&text) != a.content_hash {
                    let why = "it does not match the content it was written with";
                    return Err(self.damaged("An amendment of the note", "clinical_amendment", a.id, why));
                }
                Ok(Amendment {
                    id: a.id,
                    author: a.author_name.clone(),
                    reason: a.reason.clone(),
                    text,
                    created_at: a.created_at.0,
                })
            })
            .collect::<ServiceResult<Vec<_>>>()?;
        Ok(Note {
            id: r.id,
            patient_id: PatientId(r.patient_id),
            appointment_id: r.appointment_id.map(AppointmentId),
            author_id: ProviderId(r.author_provider_id),
            author: r.author_name,
            kind: kind_of(&r.kind),
            assessment_kind: r.assessment_kind.as_deref().and_then(AssessmentKind::parse),
            status: r.status,
            content,
            next_review_date: r.next_review_date.map(|d| d.0),
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
            signed_at: r.signed_at.map(|t| t.0),
            amendments,
        })
    }

    async fn check_appointment_of(&self, appointment: Option<AppointmentId>, patient: PatientId) -> ServiceResult<()> {
        if let Some(a) = appointment {
            let parts = praxis_store::appointments::participants(self.db(), &[a.0]).await?;
            if !parts.iter().any(|p| p.patient_id == patient.0) {
                return Err(ServiceError::invalid(
                    "appointment_id",
                    "other_patient",
                    "That appointment is not this patient's.",
                ));
            }
        }
        Ok(())
    }

    /// Writes a draft note for a patient the provider treats.
    #[tracing::instrument(skip_all)]
    pub async fn create_note(&self, actor: &Actor, patient: PatientId, input: NewNote) -> ServiceResult<Note> {
        let author = self.require_clinical_write(actor, patient).await?;
        let mut v = Validation::new();
        let kind = input.kind.unwrap_or(NoteKind::Progress);
        if kind == NoteKind::Assessment && input.assessment_kind.is_none() {
            v.add("assessment_kind", "required", "Choose initial, progress, discharge or reassessment.");
        }
        input.content.validate(kind, &mut v);
        v.finish()?;
        self.check_appointment_of(input.appointment_id, patient).await?;
        let id = Uuid::now_v7();
        let json = serde_json::to_string(&input.content).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let sealed = self
            .keys()
            .seal_str(&aad("clinical_notes", "content", id), &json)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = self.now();
        let row = NoteRow {
            id,
            patient_id: patient.0,
            appointment_id: input.appointment_id.map(|a| a.0),
            author_provider_id: author.0,
            author_name: actor.name.clone(),
            kind: kind.as_str().into(),
            assessment_kind: (kind == NoteKind::Assessment)
                .then(|| input.assessment_kind.map(|a| a.as_str().to_string()))
                .flatten(),
            status: "draft".into(),
            content_enc: sealed,
            content_hash: None,
            next_review_date: input.next_review_date.map(DbDate),
            created_at: DbTime(now),
            updated_at: DbTime(now),
            signed_at: None,
            signed_by: None,
        };
        let mut tx = self.db().begin().await?;
        clinical::insert(&mut tx, &row).await?;
        tx.audit(self.audit_entry(
            actor,
            "clinical.note_create",
            "clinical_note",
            Some(id.to_string()),
            format!("{} draft for patient {patient}", kind.as_str()),
        ));
        tx.commit().await?;
        self.note_view(row, &[])
    }

    /// Replaces a draft's content (its author only). A signed note answers 409.
    pub async fn update_note(&self, actor: &Actor, id: Uuid, input: NewNote) -> ServiceResult<Note> {
        let current = self.visible_note(actor, id, NoteUse::Edit).await?;
        let author = self.require_clinical_write(actor, PatientId(current.patient_id)).await?;
        if current.author_provider_id != author.0 {
            return Err(self
                .denied(
                    actor,
                    "clinical.note_edit_denied",
                    "clinical_note",
                    Some(id.to_string()),
                    "only the author edits a draft",
                    ServiceError::Forbidden,
                )
                .await);
        }
        if current.status == "signed" {
            return Err(self
                .denied(
                    actor,
                    "clinical.note_edit_denied",
                    "clinical_note",
                    Some(id.to_string()),
                    "tried to edit a signed note",
                    ServiceError::conflict("note_signed", "A signed note cannot be changed. Add an amendment instead."),
                )
                .await);
        }
        let mut v = Validation::new();
        input.content.validate(kind_of(&current.kind), &mut v);
        v.finish()?;
        let json = serde_json::to_string(&input.content).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let sealed = self
            .keys()
            .seal_str(&aad("clinical_notes", "content", id), &json)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        if !clinical::update_draft(&mut tx, id, &sealed, input.next_review_date, now).await? {
            return Err(ServiceError::conflict(
                "note_signed",
                "A signed note cannot be changed. Add an amendment instead.",
            ));
        }
        tx.audit(self.audit_entry(
            actor,
            "clinical.note_update",
            "clinical_note",
            Some(id.to_string()),
            "draft edited",
        ));
        tx.commit().await?;
        self.read_note(actor, id).await
    }

    /// Signs a draft (its author only); it is final from then on.
    pub async fn sign_note(&self, actor: &Actor, id: Uuid) -> ServiceResult<Note> {
        let current = self.visible_note(actor, id, NoteUse::Sign).await?;
        let author = self.require_clinical_write(actor, PatientId(current.patient_id)).await?;
        if current.author_provider_id != author.0 {
            return Err(ServiceError::Forbidden);
        }
        if current.status == "signed" {
            return Err(ServiceError::conflict("note_signed", "This note is already signed."));
        }
        let (_, json) = self.open_note(&current)?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        if !clinical::sign(&mut tx, id, &content_hash(&json), actor.user()?, now).await? {
            return Err(ServiceError::conflict("note_signed", "This note is already signed."));
        }
        tx.audit(self.audit_entry(actor, "clinical.note_sign", "clinical_note", Some(id.to_string()), "note signed"));
        tx.commit().await?;
        self.read_note(actor, id).await
    }

    /// Adds an amendment to a signed note (any provider treating the patient).
    pub async fn amend_note(&self, actor: &Actor, id: Uuid, reason: &str, text: &str) -> ServiceResult<Note> {
        let current = self.visible_note(actor, id, NoteUse::Amend).await?;
        let author = self.require_clinical_write(actor, PatientId(current.patient_id)).await?;
        let mut v = Validation::new();
        let reason = v.required("reason", reason, 300);
        let text = v.required("text", text, 20_000);
        v.finish()?;
        if current.status != "signed" {
            return Err(ServiceError::conflict(
                "note_draft",
                "This note is still a draft; edit it instead of amending it.",
            ));
        }
        let (Some(reason), Some(text)) = (reason, text) else {
            return Err(ServiceError::Internal("validated amendment".into()));
        };
        let aid = Uuid::now_v7();
        let sealed = self
            .keys()
            .seal_str(&aad("clinical_amendments", "content", aid), &text)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let row = AmendmentRow {
            id: aid,
            note_id: id,
            author_provider_id: author.0,
            author_name: actor.name.clone(),
            reason,
            content_hash: content_hash(&text),
            content_enc: sealed,
            created_at: DbTime(self.now()),
        };
        let mut tx = self.db().begin().await?;
        clinical::insert_amendment(&mut tx, &row).await?;
        tx.audit(self.audit_entry(
            actor,
            "clinical.note_amend",
            "clinical_note",
            Some(id.to_string()),
            format!("amendment {aid}: {}", row.reason),
        ));
        tx.commit().await?;
        self.read_note(actor, id).await
    }

    /// The note `id` if `actor` may read it — the patient's clinical record, and a draft
    /// only by its author (and administrators, who read everything). Anyone else gets the
    /// 404 a made-up id gets, so the answer never tells that the note exists; a refusal
    /// on the record is audited.
    async fn visible_note(&self, actor: &Actor, id: Uuid, purpose: NoteUse) -> ServiceResult<NoteRow> {
        let refused = purpose.refused();
        let missing = || ServiceError::NotFound { what: "Note" };
        let row = clinical::get(self.db(), id).await?.ok_or_else(missing)?;
        let note = Some(id.to_string());
        if !self.may_read_clinical(actor, PatientId(row.patient_id)).await? {
            return Err(self.denied(actor, refused, "clinical_note", note, "clinical record refused", missing()).await);
        }
        let reads_all =
            actor.scope(praxis_domain::Permission::ReadClinicalRecords) == Some(praxis_domain::permissions::Scope::All);
        if row.status == "draft"
            && !reads_all
            && self.actor_provider(actor).await?.is_none_or(|p| p.0 != row.author_provider_id)
        {
            return Err(self.denied(actor, refused, "clinical_note", note, "a draft is its author's", missing()).await);
        }
        Ok(row)
    }

    /// Checks, before a request's body is read, that `actor` may see note `id` (404 as
    /// for a missing one otherwise).
    pub async fn check_note_visible(&self, actor: &Actor, id: Uuid, purpose: NoteUse) -> ServiceResult<()> {
        self.visible_note(actor, id, purpose).await.map(|_| ())
    }

    /// One note with its amendments, if the actor may read the patient's clinical
    /// record. The read is audited.
    pub async fn read_note(&self, actor: &Actor, id: Uuid) -> ServiceResult<Note> {
        let row = self.visible_note(actor, id, NoteUse::Read).await?;
        let amendments = clinical::amendments(self.db(), &[id]).await?;
        let note = self.note_view(row, &amendments)?;
        self.audit_read(
            actor,
            "clinical.note_read",
            "clinical_note",
            &id.to_string(),
            format!("read a {} note of patient {}", note.kind.as_str(), note.patient_id),
        )
        .await?;
        Ok(note)
    }

    /// A page of a patient's notes and assessments, newest first, optionally of one kind
    /// (drafts only to their author). The read is audited.
    pub async fn patient_notes(
        &self,
        actor: &Actor,
        patient: PatientId,
        kind: Option<NoteKind>,
        page: PageRequest,
    ) -> ServiceResult<Page<Note>> {
        self.require_clinical_read(actor, patient).await?;
        let me = self.actor_provider(actor).await?;
        let filter = clinical::NoteListFilter { kind: kind.map(NoteKind::as_str), drafts_of: me.map(|m| m.0) };
        let (rows, total) = clinical::for_patient(self.db(), patient, filter, page.offset(), page.per_page).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let amendments = clinical::amendments(self.db(), &ids).await?;
        let notes = rows.into_iter().map(|r| self.note_view(r, &amendments)).collect::<ServiceResult<Vec<_>>>()?;
        self.audit_read(
            actor,
            "clinical.notes_read",
            "patient",
            &patient.to_string(),
            format!("read {} note(s)", notes.len()),
        )
        .await?;
        Ok(Page { items: notes, total, page: page.page, per_page: page.per_page })
    }

    /// Records a read of clinical content in the audit log (its own small transaction).
    pub(crate) async fn audit_read(
        &self,
        actor: &Actor,
        action: &str,
        entity_type: &str,
        entity_id: &str,
        summary: String,
    ) -> ServiceResult<()> {
        let mut tx = self.db().begin().await?;
        tx.audit(self.audit_entry(actor, action, entity_type, Some(entity_id.to_string()), summary));
        tx.commit().await?;
        Ok(())
    }
}
