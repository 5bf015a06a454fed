//! Patient documents: upload (size limit, type found from the content, not the name),
//! encrypted and content-addressed storage in the data directory, metadata, and
//! downloads that stream the decrypted content after the permission check.
//!
//! Who may see and upload which document is the matrix in
//! [`praxis_domain::documents`]: administrators everything; staff patient-visible and
//! admin-only documents; providers patient-visible and clinicians-only documents of the
//! patients they treat; patients (and guardians) the documents shared with them. A
//! confidential document is for administrators and treating providers only. Lists leave
//! out what the reader may not see; opening one answers 403 (404 for another patient's
//! record, so its existence is not revealed) and the refusal is audited. Every list,
//! read and download is audited.
//!
//! Files live at `<data_dir>/documents/<first two hex digits>/<SHA-256 of the content>`,
//! sealed in 64 KiB chunks (see [`files`]); the same content uploaded twice is stored
//! once. An upload is written to `documents/tmp` first and linked into place only when
//! it is complete and accepted, so a refused or broken upload leaves nothing behind.

pub mod files;

use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use files::{CHUNK, FileOpener, FileSealer};
use jiff::Timestamp;
use praxis_domain::documents::{self as rules, ACCEPTED, AccessLevel, Category, FileKind, Sniffed, Standing};
use praxis_domain::{AppointmentId, PatientId, Role, Validation};
use praxis_store::DbTime;
use praxis_store::documents::{self as store, DocumentRow};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

/// How many leading bytes decide a file's type.
const HEAD: usize = 64 * 1024;

/// A document as shown to someone allowed to see it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Document {
    /// Id.
    pub id: Uuid,
    /// Whose record.
    pub patient_id: PatientId,
    /// The appointment it belongs to.
    pub appointment_id: Option<AppointmentId>,
    /// The clinical note it belongs to.
    pub note_id: Option<Uuid>,
    /// Title.
    pub title: String,
    /// The file's name (its extension matches the content).
    pub file_name: String,
    /// The media type found from the content.
    pub media_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// What it is.
    pub category: Category,
    /// Free tags.
    pub tags: Vec<String>,
    /// Description.
    pub description: String,
    /// Confidential: administrators and treating providers only.
    pub confidential: bool,
    /// Who may see it.
    pub access_level: AccessLevel,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub uploaded_at: Timestamp,
    /// Last change of its details.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl Document {
    fn from_row(r: DocumentRow) -> Document {
        Document {
            id: r.id,
            patient_id: PatientId(r.patient_id),
            appointment_id: r.appointment_id.map(AppointmentId),
            note_id: r.note_id,
            title: r.title,
            file_name: r.file_name,
            media_type: r.media_type,
            size_bytes: r.size_bytes,
            category: Category::parse(&r.category).unwrap_or(Category::Other),
            tags: r.tags.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect(),
            description: r.description,
            confidential: r.confidential,
            access_level: AccessLevel::parse(&r.access_level).unwrap_or(AccessLevel::AdminOnly),
            uploaded_by: r.uploaded_by_name,
            uploaded_at: r.uploaded_at.0,
            updated_at: r.updated_at.0,
        }
    }

    /// Whether this is clinical content.
    pub fn is_clinical(&self) -> bool {
        rules::is_clinical(self.access_level, self.confidential)
    }

    /// "1.2 MB" style size.
    pub fn size_label(&self) -> String {
        human_size(self.size_bytes)
    }
}

/// "1.2 MB" style size for people.
pub fn human_size(n: i64) -> String {
    let n = n.max(0);
    if n < 1024 {
        format!("{n} bytes")
    } else if n < 1024 * 1024 {
        format!("{} KB", (n + 512) / 1024)
    } else {
        format!("{}.{} MB", n / (1024 * 1024), (n % (1024 * 1024)) * 10 / (1024 * 1024))
    }
}

/// A document's details (for an upload, or to change them).
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentInput {
    /// Title (default: the file name).
    #[serde(default)]
    pub title: Option<String>,
    /// `report`, `prescription`, `referral`, `lab_result`, `image`, `recording`,
    /// `letter`, `insurance`, `consent` or `other`.
    #[serde(default)]
    pub category: Option<String>,
    /// Tags: a list, as a document shows them (`["insurance", "2026"]`); in an upload's
    /// query string, separated by commas (`tags=insurance,2026`).
    #[serde(default, deserialize_with = "tags_in_either_shape")]
    #[schema(value_type = Option<Vec<String>>)]
    #[param(value_type = Option<String>)]
    pub tags: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Administrators and treating providers only.
    #[serde(default)]
    pub confidential: Option<bool>,
    /// `patient_visible`, `clinicians_only` or `admin_only`: required for an upload; a
    /// change keeps the current level when it is left out.
    #[serde(default)]
    #[param(required = true)]
    pub access_level: Option<String>,
    /// The appointment it belongs to (this patient's).
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub appointment_id: Option<AppointmentId>,
    /// The clinical note it belongs to (this patient's).
    #[serde(default)]
    pub note_id: Option<Uuid>,
    /// The file's name as the client knows it (uploads only).
    #[serde(default)]
    pub file_name: Option<String>,
}

/// Tags as a JSON list or as one comma-separated text (query strings, forms), kept as the
/// comma-separated text the checks split.
fn tags_in_either_shape<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Tags {
        Text(String),
        List(Vec<String>),
    }
    Ok(Option::<Tags>::deserialize(d)?.map(|t| match t {
        Tags::Text(s) => s,
        Tags::List(v) => v.join(","),
    }))
}

/// Checked details.
#[derive(Clone, Debug)]
struct Meta {
    title: Option<String>,
    category: Category,
    tags: String,
    description: String,
    confidential: bool,
    level: AccessLevel,
    appointment_id: Option<AppointmentId>,
    note_id: Option<Uuid>,
    file_name: String,
}

fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '*' | '?' | '|'))
        .take(120)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() { "document".into() } else { cleaned }
}

fn check_meta(input: &DocumentInput, v: &mut Validation) -> Meta {
    let category = match input.category.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Category::Other,
        Some(c) => Category::parse(c).unwrap_or_else(|| {
            v.add("category", "invalid", "Choose one of the categories.");
            Category::Other
        }),
    };
    let level = match input.access_level.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            v.add("access_level", "required", "Choose who may see this document.");
            AccessLevel::AdminOnly
        }
        Some(l) => AccessLevel::parse(l).unwrap_or_else(|| {
            v.add("access_level", "invalid", "Choose patient_visible, clinicians_only or admin_only.");
            AccessLevel::AdminOnly
        }),
    };
    let confidential = input.confidential.unwrap_or(false);
    if confidential && level == AccessLevel::PatientVisible {
        v.add("confidential", "not_shareable", "A confidential document cannot be shared with the patient. Untick confidential or choose another access level.");
    }
    let title = input.title.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if title.as_ref().is_some_and(|t| t.chars().count() > 200) {
        v.add("title", "too_long", "Use at most 200 characters.");
    }
    let description = input.description.as_deref().unwrap_or("").trim().to_string();
    if description.chars().count() > 2000 {
        v.add("description", "too_long", "Use at most 2,000 characters.");
    }
    let tags: Vec<String> = input
        .tags
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    if tags.len() > 20 || tags.iter().any(|t| t.chars().count() > 40) {
        v.add("tags", "invalid", "Use at most 20 tags of up to 40 characters, separated by commas.");
    }
    let mut unique = Vec::new();
    for t in tags {
        if !unique.contains(&t) {
            unique.push(t);
        }
    }
    Meta {
        title,
        category,
        tags: unique.join(","),
        description,
        confidential,
        level,
        appointment_id: input.appointment_id,
        note_id: input.note_id,
        file_name: clean_file_name(input.file_name.as_deref().unwrap_or("")),
    }
}

/// An upload in progress: bytes are sealed chunk by chunk into a temporary file. Dropping
/// it without [`Services::finish_upload`] deletes the temporary file.
pub struct Upload {
    patient: PatientId,
    meta: Meta,
    tmp: PathBuf,
    file: Option<tokio::fs::File>,
    sealer: FileSealer,
    pending: Vec<u8>,
    head: Vec<u8>,
    hasher: Sha256,
    size: u64,
    limit: u64,
    kind: Option<FileKind>,
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Gone already when the upload was linked into place.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl Upload {
    /// The patient it is for.
    pub fn patient(&self) -> PatientId {
        self.patient
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }
}

fn io_err(e: std::io::Error) -> ServiceError {
    ServiceError::Internal(format!("document storage: {e}"))
}

impl Services {
    fn documents_dir(&self) -> PathBuf {
        self.settings().data_dir.join("documents")
    }

    fn stored_path(&self, sha256: &str) -> PathBuf {
        self.documents_dir().join(sha256.get(..2).unwrap_or("00")).join(sha256)
    }

    /// How the actor stands towards `patient` (one standing per role they hold).
    pub(crate) async fn standings(&self, actor: &Actor, patient: PatientId) -> ServiceResult<Vec<Standing>> {
        let mut out = Vec::new();
        if actor.roles.has(Role::Admin) {
            out.push(Standing::Admin);
        }
        if actor.roles.has(Role::Staff) {
            out.push(Standing::Staff);
        }
        if actor.roles.has(Role::Provider) {
            let treats = match self.actor_provider(actor).await? {
                Some(p) => praxis_store::patients::treats(self.db(), p, patient).await?,
                None => false,
            };
            out.push(if treats { Standing::TreatingProvider } else { Standing::OtherProvider });
        }
        if actor.roles.has(Role::Patient) {
            let mine = self.patients_i_act_for(actor).await?.contains(&patient);
            out.push(if mine { Standing::OwnPatient } else { Standing::OtherPatient });
        }
        Ok(out)
    }

    /// The refusal of a patient's document list: 404 (as for a made-up patient) to another
    /// patient's account, which may not know the patient exists; 403 to the clinic's people.
    async fn refuse_list(&self, actor: &Actor, standings: &[Standing], patient: PatientId) -> ServiceError {
        let err = if standings.iter().all(|s| matches!(s, Standing::OtherPatient | Standing::OwnPatient)) {
            ServiceError::NotFound { what: "Patient" }
        } else {
            ServiceError::Forbidden
        };
        let summary = "documents of a patient they may not see";
        self.denied(actor, "document.list_denied", "patient", Some(patient.to_string()), summary, err).await
    }

    async fn check_links(&self, patient: PatientId, meta: &Meta, standings: &[Standing]) -> ServiceResult<()> {
        if let Some(a) = meta.appointment_id {
            let parts = praxis_store::appointments::participants(self.db(), &[a.0]).await?;
            if !parts.iter().any(|p| p.patient_id == patient.0) {
                return Err(ServiceError::invalid(
                    "appointment_id",
                    "other_patient",
                    "That appointment is not this patient's.",
                ));
            }
        }
        if let Some(n) = meta.note_id {
            let note = praxis_store::clinical::get(self.db(), n).await?;
            let clinical = standings.iter().any(|s| matches!(s, Standing::Admin | Standing::TreatingProvider));
            if !clinical || note.is_none_or(|n| n.patient_id != patient.0) {
                return Err(ServiceError::invalid(
                    "note_id",
                    "other_patient",
                    "That note is not one of this patient's notes you can see.",
                ));
            }
        }
        Ok(())
    }

    /// Starts an upload for `patient` after checking the details and that the actor may
    /// file a document at this level (refusals are audited). Send the bytes with
    /// [`Services::upload_chunk`], then call [`Services::finish_upload`].
    pub async fn begin_upload(
        &self,
        actor: &Actor,
        patient: PatientId,
        input: &DocumentInput,
    ) -> ServiceResult<Upload> {
        let standings = self.standings(actor, patient).await?;
        if praxis_store::patients::get(self.db(), patient).await?.is_none() {
            return Err(ServiceError::NotFound { what: "Patient" });
        }
        let may_at = |level, conf| standings.iter().any(|s| rules::may_upload(*s, level, conf));
        if !AccessLevel::ALL.iter().any(|l| may_at(*l, false)) {
            let err = if standings.iter().all(|s| *s == Standing::OtherPatient) {
                ServiceError::NotFound { what: "Patient" }
            } else {
                ServiceError::Forbidden
            };
            return Err(self
                .denied(
                    actor,
                    "document.upload_denied",
                    "patient",
                    Some(patient.to_string()),
                    "may not file documents for this patient",
                    err,
                )
                .await);
        }
        let mut v = Validation::new();
        let meta = check_meta(input, &mut v);
        v.finish()?;
        if !may_at(meta.level, meta.confidential) {
            let summary = format!(
                "refused upload at level {}{}",
                meta.level.as_str(),
                if meta.confidential { " (confidential)" } else { "" }
            );
            // Another patient's record is not revealed; one's own answers 403.
            let err = if standings.iter().all(|s| *s == Standing::OtherPatient) {
                ServiceError::NotFound { what: "Patient" }
            } else {
                ServiceError::Forbidden
            };
            return Err(self
                .denied(actor, "document.upload_denied", "patient", Some(patient.to_string()), &summary, err)
                .await);
        }
        self.check_links(patient, &meta, &standings).await?;
        let tmp_dir = self.documents_dir().join("tmp");
        tokio::fs::create_dir_all(&tmp_dir).await.map_err(io_err)?;
        let tmp = tmp_dir.join(format!("{}.part", Uuid::now_v7()));
        let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&tmp).await.map_err(io_err)?;
        let (sealer, header) = FileSealer::new(self.keys()).map_err(|e| ServiceError::Internal(e.to_string()))?;
        file.write_all(&header).await.map_err(io_err)?;
        Ok(Upload {
            patient,
            meta,
            tmp,
            file: Some(file),
            sealer,
            pending: Vec::with_capacity(CHUNK * 2),
            head: Vec::with_capacity(HEAD),
            hasher: Sha256::new(),
            size: 0,
            limit: self.settings().max_upload_bytes,
            kind: None,
        })
    }

    /// Refuses the upload (audited) and discards what was written.
    async fn refuse_upload(
        &self,
        actor: &Actor,
        up: Upload,
        code: &str,
        message: String,
        too_large: bool,
    ) -> ServiceError {
        let summary = format!("refused upload {:?} for patient {}: {message}", up.meta.file_name, up.patient);
        let patient = up.patient.to_string();
        drop(up);
        let err =
            if too_large { ServiceError::TooLarge(message) } else { ServiceError::invalid("file", code, message) };
        self.denied(actor, "document.upload_refused", "patient", Some(patient), &summary, err).await
    }

    fn judge(&self, up: &Upload, complete: bool) -> Result<FileKind, (String, String)> {
        let named = FileKind::of_extension(&up.meta.file_name);
        match rules::sniff(&up.head, complete) {
            Sniffed::Accepted(kind) => {
                if let Some(n) = named
                    && n != kind
                {
                    return Err((
                        "type_mismatch".into(),
                        format!(
                            "The file is named as {} but its content is {}. Choose the right file, or rename it to end in .{}.",
                            n.label(),
                            kind.label(),
                            kind.extension()
                        ),
                    ));
                }
                Ok(kind)
            }
            Sniffed::Dangerous(what) => Err((
                "type_not_allowed".into(),
                format!("This file looks like {what}, which cannot be stored. Upload {ACCEPTED}."),
            )),
            Sniffed::Unknown => {
                Err(("type_not_allowed".into(), format!("This kind of file is not accepted. Upload {ACCEPTED}.")))
            }
        }
    }

    /// Adds bytes to an upload. Too many bytes, or a type that is not accepted, ends the
    /// upload (refusal audited, nothing kept).
    pub async fn upload_chunk(&self, actor: &Actor, mut up: Upload, bytes: &[u8]) -> ServiceResult<Upload> {
        up.size += bytes.len() as u64;
        if up.size > up.limit {
            let msg = format!(
                "The file is larger than {}. Upload a smaller file (for example a compressed PDF).",
                human_size(up.limit as i64)
            );
            return Err(self.refuse_upload(actor, up, "too_large", msg, true).await);
        }
        if up.head.len() < HEAD {
            let take = (HEAD - up.head.len()).min(bytes.len());
            up.head.extend_from_slice(&bytes[..take]);
            if up.head.len() == HEAD && up.kind.is_none() {
                match self.judge(&up, false) {
                    Ok(k) => up.kind = Some(k),
                    Err((code, msg)) => return Err(self.refuse_upload(actor, up, &code, msg, false).await),
                }
            }
        }
        up.hasher.update(bytes);
        up.pending.extend_from_slice(bytes);
        while up.pending.len() > CHUNK {
            let sealed =
                up.sealer.seal(&up.pending[..CHUNK], false).map_err(|e| ServiceError::Internal(e.to_string()))?;
            let file = up.file.as_mut().ok_or_else(|| ServiceError::Internal("upload already finished".into()))?;
            file.write_all(&sealed).await.map_err(io_err)?;
            up.pending.drain(..CHUNK);
        }
        Ok(up)
    }

    /// Completes an upload: checks the type from the content, links the sealed file into
    /// place (or keeps the copy already stored), and records the document. Audited.
    pub async fn finish_upload(&self, actor: &Actor, mut up: Upload) -> ServiceResult<Document> {
        let kind = match up.kind {
            Some(k) => k,
            None => match self.judge(&up, true) {
                Ok(k) => k,
                Err((code, msg)) => return Err(self.refuse_upload(actor, up, &code, msg, false).await),
            },
        };
        if up.size == 0 {
            return Err(self
                .refuse_upload(actor, up, "empty", "The file is empty. Choose the file again.".into(), false)
                .await);
        }
        let last = std::mem::take(&mut up.pending);
        let sealed = up.sealer.seal(&last, true).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let key_id = up.sealer.key_id().to_string();
        let mut file = up.file.take().ok_or_else(|| ServiceError::Internal("upload already finished".into()))?;
        file.write_all(&sealed).await.map_err(io_err)?;
        file.sync_all().await.map_err(io_err)?;
        drop(file);
        let sha = hex::encode(std::mem::take(&mut up.hasher).finalize());
        let target = self.stored_path(&sha);
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io_err)?;
        }
        // Content-addressed: if this content is stored already, keep that copy. A link
        // (not a rename) never replaces a file another upload just put there.
        match tokio::fs::hard_link(&up.tmp, &target).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(e)),
        }
        let _ = tokio::fs::remove_file(&up.tmp).await;
        let now = self.now();
        let mut file_name = up.meta.file_name.clone();
        if FileKind::of_extension(&file_name).is_none() {
            file_name = format!("{file_name}.{}", kind.extension());
        }
        let row = DocumentRow {
            id: Uuid::now_v7(),
            patient_id: up.patient.0,
            appointment_id: up.meta.appointment_id.map(|a| a.0),
            note_id: up.meta.note_id,
            file_sha256: sha.clone(),
            title: up.meta.title.clone().unwrap_or_else(|| file_name.clone()),
            file_name,
            media_type: kind.media_type().into(),
            size_bytes: up.size as i64,
            category: up.meta.category.as_str().into(),
            tags: up.meta.tags.clone(),
            description: up.meta.description.clone(),
            confidential: up.meta.confidential,
            access_level: up.meta.level.as_str().into(),
            uploaded_by: actor.user_id.map(|u| u.0),
            uploaded_by_name: actor.name.clone(),
            uploaded_at: DbTime(now),
            updated_at: DbTime(now),
            removed_at: None,
        };
        let mut tx = self.db().begin().await?;
        store::insert_file(&mut tx, &sha, row.size_bytes, &key_id, now).await?;
        store::insert(&mut tx, &row).await?;
        tx.audit(self.audit_entry(
            actor,
            "document.upload",
            "document",
            Some(row.id.to_string()),
            format!(
                "{} ({}, {}, {}) for patient {}",
                row.title,
                row.media_type,
                human_size(row.size_bytes),
                row.access_level,
                up.patient
            ),
        ));
        tx.commit().await?;
        Ok(Document::from_row(row))
    }

    /// Uploads a whole file held in memory (the demo, tests, small API clients).
    pub async fn upload_document(
        &self,
        actor: &Actor,
        patient: PatientId,
        input: &DocumentInput,
        bytes: &[u8],
    ) -> ServiceResult<Document> {
        let mut up = self.begin_upload(actor, patient, input).await?;
        for chunk in bytes.chunks(CHUNK) {
            up = self.upload_chunk(actor, up, chunk).await?;
        }
        self.finish_upload(actor, up).await
    }

    /// A patient's documents the actor may see, newest first. Audited.
    pub async fn patient_documents(&self, actor: &Actor, patient: PatientId) -> ServiceResult<Vec<Document>> {
        let standings = self.standings(actor, patient).await?;
        if praxis_store::patients::get(self.db(), patient).await?.is_none() {
            return Err(ServiceError::NotFound { what: "Patient" });
        }
        let sees_any = AccessLevel::ALL.iter().any(|l| standings.iter().any(|s| rules::may_see(*s, *l, false)));
        if !sees_any {
            return Err(self.refuse_list(actor, &standings, patient).await);
        }
        let docs: Vec<Document> = store::for_patient(self.db(), patient)
            .await?
            .into_iter()
            .map(Document::from_row)
            .filter(|d| standings.iter().any(|s| rules::may_see(*s, d.access_level, d.confidential)))
            .collect();
        let clinical = docs.iter().filter(|d| d.is_clinical()).count();
        self.audit_read(
            actor,
            "document.list",
            "patient",
            &patient.to_string(),
            format!("listed {} document(s), {clinical} clinical", docs.len()),
        )
        .await?;
        Ok(docs)
    }

    async fn visible_document(
        &self,
        actor: &Actor,
        id: Uuid,
        purpose: &str,
    ) -> ServiceResult<(DocumentRow, Vec<Standing>)> {
        let action = match purpose {
            "change" => "document.update_denied",
            "remove" => "document.remove_denied",
            _ => "document.read_denied",
        };
        let row = store::get(self.db(), id)
            .await?
            .filter(|r| r.removed_at.is_none())
            .ok_or(ServiceError::NotFound { what: "Document" })?;
        let standings = self.standings(actor, PatientId(row.patient_id)).await?;
        let level = AccessLevel::parse(&row.access_level).unwrap_or(AccessLevel::AdminOnly);
        if !standings.iter().any(|s| rules::may_see(*s, level, row.confidential)) {
            let summary = format!("{purpose} refused: {} document of patient {}", row.access_level, row.patient_id);
            // A document one may not see answers exactly like one that does not exist.
            let missing = ServiceError::NotFound { what: "Document" };
            return Err(self.denied(actor, action, "document", Some(id.to_string()), &summary, missing).await);
        }
        Ok((row, standings))
    }

    /// One document's details, if the actor may see it. Audited.
    pub async fn get_document(&self, actor: &Actor, id: Uuid) -> ServiceResult<Document> {
        let (row, _) = self.visible_document(actor, id, "read").await?;
        let doc = Document::from_row(row);
        self.audit_read(
            actor,
            "document.read",
            "document",
            &id.to_string(),
            format!("details of {} (patient {})", doc.title, doc.patient_id),
        )
        .await?;
        Ok(doc)
    }

    /// Opens a document for download: its details and a stream of the decrypted content
    /// (64 KiB at a time). Audited.
    pub async fn download_document(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> ServiceResult<(Document, impl futures::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static)> {
        let (row, _) = self.visible_document(actor, id, "download").await?;
        let path = self.stored_path(&row.file_sha256);
        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| ServiceError::Internal(format!("stored file {}: {e}", path.display())))?;
        let opener = FileOpener::read_header(self.keys(), &mut file).await.map_err(io_err)?;
        let stream = files::decrypt_stream(file, opener, row.file_sha256.clone());
        let doc = Document::from_row(row);
        self.audit_read(
            actor,
            "document.download",
            "document",
            &id.to_string(),
            format!("downloaded {} (patient {})", doc.title, doc.patient_id),
        )
        .await?;
        Ok((doc, stream))
    }

    /// Changes a document's details (its level only to one the actor may file at).
    pub async fn update_document(&self, actor: &Actor, id: Uuid, input: &DocumentInput) -> ServiceResult<Document> {
        let (mut row, standings) = self.visible_document(actor, id, "change").await?;
        let current_level = AccessLevel::parse(&row.access_level).unwrap_or(AccessLevel::AdminOnly);
        let mut v = Validation::new();
        let merged = DocumentInput {
            title: input.title.clone().or(Some(row.title.clone())),
            category: input.category.clone().or(Some(row.category.clone())),
            tags: input.tags.clone().or(Some(row.tags.clone())),
            description: input.description.clone().or(Some(row.description.clone())),
            confidential: input.confidential.or(Some(row.confidential)),
            access_level: input.access_level.clone().or(Some(row.access_level.clone())),
            appointment_id: input.appointment_id.or(row.appointment_id.map(AppointmentId)),
            note_id: input.note_id.or(row.note_id),
            file_name: Some(row.file_name.clone()),
        };
        let meta = check_meta(&merged, &mut v);
        v.finish()?;
        let may = |level, conf| standings.iter().any(|s| rules::may_upload(*s, level, conf));
        if !may(meta.level, meta.confidential) || !may(current_level, row.confidential) {
            let summary = format!("refused change of {} to level {}", id, meta.level.as_str());
            return Err(self
                .denied(
                    actor,
                    "document.update_denied",
                    "document",
                    Some(id.to_string()),
                    &summary,
                    ServiceError::Forbidden,
                )
                .await);
        }
        self.check_links(PatientId(row.patient_id), &meta, &standings).await?;
        let before =
            format!("{} {}{}", row.title, row.access_level, if row.confidential { " confidential" } else { "" });
        row.title = meta.title.unwrap_or(row.title);
        row.category = meta.category.as_str().into();
        row.tags = meta.tags;
        row.description = meta.description;
        row.confidential = meta.confidential;
        row.access_level = meta.level.as_str().into();
        row.appointment_id = meta.appointment_id.map(|a| a.0);
        row.note_id = meta.note_id;
        row.updated_at = DbTime(self.now());
        let mut tx = self.db().begin().await?;
        if !store::update_meta(&mut tx, &row).await? {
            return Err(ServiceError::NotFound { what: "Document" });
        }
        tx.audit(self.audit_entry(
            actor,
            "document.update",
            "document",
            Some(id.to_string()),
            format!(
                "{before} → {} {}{}",
                row.title,
                row.access_level,
                if row.confidential { " confidential" } else { "" }
            ),
        ));
        tx.commit().await?;
        Ok(Document::from_row(row))
    }

    /// Removes a document from the record (administrators, or whoever uploaded it while
    /// they may still file at its level). The row stays for the audit trail.
    pub async fn remove_document(&self, actor: &Actor, id: Uuid) -> ServiceResult<()> {
        let (row, standings) = self.visible_document(actor, id, "remove").await?;
        let level = AccessLevel::parse(&row.access_level).unwrap_or(AccessLevel::AdminOnly);
        let own = actor.user_id.is_some_and(|u| Some(u.0) == row.uploaded_by);
        let allowed = standings.contains(&Standing::Admin)
            || (own && standings.iter().any(|s| rules::may_upload(*s, level, row.confidential)));
        if !allowed {
            return Err(self
                .denied(
                    actor,
                    "document.remove_denied",
                    "document",
                    Some(id.to_string()),
                    "only administrators and the uploader remove documents",
                    ServiceError::Forbidden,
                )
                .await);
        }
        let mut tx = self.db().begin().await?;
        store::remove(&mut tx, id, actor.user_id, self.now()).await?;
        tx.audit(self.audit_entry(
            actor,
            "document.remove",
            "document",
            Some(id.to_string()),
            format!("removed {} from patient {}", row.title, row.patient_id),
        ));
        tx.commit().await?;
        Ok(())
    }

    /// Whether the actor could upload anything for `patient` (pages show the form only
    /// then), and at which levels.
    pub async fn upload_levels(&self, actor: &Actor, patient: PatientId) -> ServiceResult<Vec<AccessLevel>> {
        let standings = self.standings(actor, patient).await?;
        Ok(AccessLevel::ALL
            .into_iter()
            .filter(|l| standings.iter().any(|s| rules::may_upload(*s, *l, false)))
            .collect())
    }

    /// Re-seals stored files not under the current key (key rotation): each file is
    /// decrypted and sealed again into a temporary file, then renamed over the old one
    /// (atomic; a download already reading the old file finishes on it). Returns how many
    /// were re-sealed and how many were current.
    pub(crate) async fn reseal_documents(&self) -> ServiceResult<(u64, u64)> {
        use futures::TryStreamExt;
        let current = self.keys().current_id();
        let (mut done, mut fine) = (0, 0);
        let mut after: Option<String> = None;
        loop {
            let batch = store::files_batch(self.db(), after.as_deref(), 200).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.0.clone());
            for (sha, _) in &batch {
                let path = self.stored_path(sha);
                let mut file = match tokio::fs::File::open(&path).await {
                    Ok(f) => f,
                    Err(e) => return Err(ServiceError::Internal(format!("stored file {}: {e}", path.display()))),
                };
                let opener = FileOpener::read_header(self.keys(), &mut file).await.map_err(io_err)?;
                if opener.key_id == current {
                    fine += 1;
                    continue;
                }
                let tmp = self.documents_dir().join("tmp").join(format!("{}.rekey", Uuid::now_v7()));
                tokio::fs::create_dir_all(self.documents_dir().join("tmp")).await.map_err(io_err)?;
                let result = async {
                    let (mut sealer, header) =
                        FileSealer::new(self.keys()).map_err(|e| ServiceError::Internal(e.to_string()))?;
                    let mut out = tokio::fs::File::create(&tmp).await.map_err(io_err)?;
                    out.write_all(&header).await.map_err(io_err)?;
                    let mut stream = std::pin::pin!(files::decrypt_stream(file, opener, sha.clone()));
                    let mut prev: Option<Vec<u8>> = None;
                    while let Some(chunk) = stream.try_next().await.map_err(io_err)? {
                        if let Some(p) = prev.replace(chunk) {
                            let s = sealer.seal(&p, false).map_err(|e| ServiceError::Internal(e.to_string()))?;
                            out.write_all(&s).await.map_err(io_err)?;
                        }
                    }
                    let s = sealer
                        .seal(&prev.unwrap_or_default(), true)
                        .map_err(|e| ServiceError::Internal(e.to_string()))?;
                    out.write_all(&s).await.map_err(io_err)?;
                    out.sync_all().await.map_err(io_err)?;
                    tokio::fs::rename(&tmp, &path).await.map_err(io_err)?;
                    let mut tx = self.db().begin().await?;
                    store::set_file_key(&mut tx, sha, sealer.key_id()).await?;
                    tx.commit().await?;
                    Ok::<(), ServiceError>(())
                }
                .await;
                if result.is_err() {
                    let _ = tokio::fs::remove_file(&tmp).await;
                }
                result?;
                done += 1;
            }
        }
        Ok((done, fine))
    }

    /// The path a document's content is stored at (tests check it holds no plaintext).
    pub fn document_file_path(&self, sha256: &str) -> PathBuf {
        self.stored_path(sha256)
    }

    /// The directory uploads are stored in.
    pub fn documents_path(&self) -> PathBuf {
        self.documents_dir()
    }
}
