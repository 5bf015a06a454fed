//! Patient documents: metadata rows, and the stored files they point at (one encrypted
//! file per content hash, shared by every document with that content).

use crate::codec::DbTime;
use crate::db::{Db, Tx, dynamic_sql, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::{AppointmentId, PatientId, UserId};
use uuid::Uuid;

/// A document's metadata.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DocumentRow {
    /// Id.
    pub id: Uuid,
    /// Whose record.
    pub patient_id: Uuid,
    /// The appointment it belongs to.
    pub appointment_id: Option<Uuid>,
    /// The note it belongs to.
    pub note_id: Option<Uuid>,
    /// SHA-256 (hex) of the plain content: the stored file's name.
    pub file_sha256: String,
    /// The name it was uploaded with (cleaned).
    pub file_name: String,
    /// The media type found from the content.
    pub media_type: String,
    /// Size of the plain content.
    pub size_bytes: i64,
    /// Title.
    pub title: String,
    /// Category code.
    pub category: String,
    /// Comma-separated tags.
    pub tags: String,
    /// Description.
    pub description: String,
    /// Confidential flag.
    pub confidential: bool,
    /// Access level code.
    pub access_level: String,
    /// Who uploaded.
    pub uploaded_by: Option<Uuid>,
    /// Their name.
    pub uploaded_by_name: String,
    /// When.
    pub uploaded_at: DbTime,
    /// Last change of the metadata.
    pub updated_at: DbTime,
    /// When removed from the record (kept for the audit trail).
    pub removed_at: Option<DbTime>,
}

const SELECT: &str = "SELECT id, patient_id, appointment_id, note_id, file_sha256, file_name, media_type, size_bytes, \
    title, category, tags, description, confidential, access_level, uploaded_by, uploaded_by_name, uploaded_at, \
    updated_at, removed_at FROM documents";

/// Records a stored file (once per content; a second upload of the same content keeps
/// the first row).
pub async fn insert_file(tx: &mut Tx, sha256: &str, size: i64, key_id: &str, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO document_files (sha256, size_bytes, key_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sha256) DO NOTHING")
        .bind(sha256)
        .bind(size)
        .bind(key_id)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// Whether a file with this content is recorded.
pub async fn file_exists(db: &Db, sha256: &str) -> StoreResult<bool> {
    let row: Option<(String,)> =
        db.fetch_optional(sql("SELECT sha256 FROM document_files WHERE sha256 = $1").bind(sha256)).await?;
    Ok(row.is_some())
}

/// Stored files a batch at a time in hash order after `after` (key rotation):
/// (sha256, key id).
pub async fn files_batch(db: &Db, after: Option<&str>, limit: i64) -> StoreResult<Vec<(String, String)>> {
    db.fetch_all(
        sql("SELECT sha256, key_id FROM document_files WHERE ($1 IS NULL OR sha256 > $1) ORDER BY sha256 LIMIT $2")
            .bind(after.map(str::to_string))
            .bind(limit),
    )
    .await
}

/// Notes the key a stored file is sealed with now (key rotation).
pub async fn set_file_key(tx: &mut Tx, sha256: &str, key_id: &str) -> StoreResult<()> {
    tx.execute(sql("UPDATE document_files SET key_id = $2 WHERE sha256 = $1").bind(sha256).bind(key_id)).await?;
    Ok(())
}

/// Inserts a document.
pub async fn insert(tx: &mut Tx, d: &DocumentRow) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO documents (id, patient_id, appointment_id, note_id, file_sha256, file_name, media_type, \
             size_bytes, title, category, tags, description, confidential, access_level, uploaded_by, \
             uploaded_by_name, uploaded_at, updated_at, removed_at, removed_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, NULL, NULL)")
        .bind(d.id)
        .bind(d.patient_id)
        .bind(d.appointment_id)
        .bind(d.note_id)
        .bind(&d.file_sha256)
        .bind(&d.file_name)
        .bind(&d.media_type)
        .bind(d.size_bytes)
        .bind(&d.title)
        .bind(&d.category)
        .bind(&d.tags)
        .bind(&d.description)
        .bind(d.confidential)
        .bind(&d.access_level)
        .bind(d.uploaded_by)
        .bind(&d.uploaded_by_name)
        .bind(d.uploaded_at.0),
    )
    .await?;
    Ok(())
}

/// Replaces a document's metadata (title, category, tags, description, flags, links).
pub async fn update_meta(tx: &mut Tx, d: &DocumentRow) -> StoreResult<bool> {
    Ok(tx
        .execute(
            sql("UPDATE documents SET title = $2, category = $3, tags = $4, description = $5, confidential = $6, \
                 access_level = $7, appointment_id = $8, note_id = $9, updated_at = $10 WHERE id = $1 AND removed_at IS NULL")
            .bind(d.id)
            .bind(&d.title)
            .bind(&d.category)
            .bind(&d.tags)
            .bind(&d.description)
            .bind(d.confidential)
            .bind(&d.access_level)
            .bind(d.appointment_id)
            .bind(d.note_id)
            .bind(d.updated_at.0),
        )
        .await?
        == 1)
}

/// Removes a document from the record (the row stays for the audit trail).
pub async fn remove(tx: &mut Tx, id: Uuid, by: Option<UserId>, now: Timestamp) -> StoreResult<bool> {
    Ok(tx
        .execute(
            sql("UPDATE documents SET removed_at = $2, removed_by = $3 WHERE id = $1 AND removed_at IS NULL")
                .bind(id)
                .bind(now)
                .bind(by),
        )
        .await?
        == 1)
}

/// One document (removed ones too; callers decide).
pub async fn get(db: &Db, id: Uuid) -> StoreResult<Option<DocumentRow>> {
    db.fetch_optional(dynamic_sql(format!("{SELECT} WHERE id = $1")).bind(id)).await
}

/// A patient's documents on record, newest first (every level; the services filter by
/// what the reader may see).
pub async fn for_patient(db: &Db, patient: PatientId) -> StoreResult<Vec<DocumentRow>> {
    db.fetch_all(
        dynamic_sql(format!(
            "{SELECT} WHERE patient_id = $1 AND removed_at IS NULL ORDER BY uploaded_at DESC, id DESC LIMIT 1000"
        ))
        .bind(patient),
    )
    .await
}

/// The documents linked to an appointment (every level; the caller filters).
pub async fn for_appointment(db: &Db, appointment: AppointmentId) -> StoreResult<Vec<DocumentRow>> {
    db.fetch_all(
        dynamic_sql(format!(
            "{SELECT} WHERE appointment_id = $1 AND removed_at IS NULL ORDER BY uploaded_at DESC, id DESC"
        ))
        .bind(appointment),
    )
    .await
}
