//! Clinical notes, assessments and their amendments. Content is sealed by the services
//! before it gets here; a signed note is protected by triggers as well as by the code.

use crate::codec::{DbDate, DbTime};
use crate::db::{Backend, Db, Tx, dynamic_sql, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::{PatientId, UserId};
use uuid::Uuid;

/// A note or assessment.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct NoteRow {
    /// Id.
    pub id: Uuid,
    /// Whose record.
    pub patient_id: Uuid,
    /// The appointment it belongs to.
    pub appointment_id: Option<Uuid>,
    /// The provider who wrote it.
    pub author_provider_id: Uuid,
    /// Their name.
    pub author_name: String,
    /// `progress`, `therapy_session` or `assessment`.
    pub kind: String,
    /// For assessments: `initial`, `progress`, `discharge`, `reassessment`.
    pub assessment_kind: Option<String>,
    /// `draft` or `signed`.
    pub status: String,
    /// Sealed JSON content.
    pub content_enc: String,
    /// SHA-256 of the content, fixed at signing.
    pub content_hash: Option<String>,
    /// Assessments: when to review next.
    pub next_review_date: Option<DbDate>,
    /// Created.
    pub created_at: DbTime,
    /// Last edited.
    pub updated_at: DbTime,
    /// When signed.
    pub signed_at: Option<DbTime>,
    /// Who signed (user id).
    pub signed_by: Option<Uuid>,
}

const SELECT: &str = "SELECT n.id, n.patient_id, n.appointment_id, n.author_provider_id, u.full_name AS author_name, \
    n.kind, n.assessment_kind, n.status, n.content_enc, n.content_hash, n.next_review_date, n.created_at, n.updated_at, \
    n.signed_at, n.signed_by FROM clinical_notes n JOIN providers pr ON pr.id = n.author_provider_id \
    JOIN users u ON u.id = pr.user_id";

/// Inserts a draft.
pub async fn insert(tx: &mut Tx, n: &NoteRow) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO clinical_notes (id, patient_id, appointment_id, author_provider_id, kind, assessment_kind, \
             status, content_enc, content_hash, next_review_date, created_at, updated_at, signed_at, signed_by) \
             VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, NULL, $8, $9, $9, NULL, NULL)")
        .bind(n.id)
        .bind(n.patient_id)
        .bind(n.appointment_id)
        .bind(n.author_provider_id)
        .bind(&n.kind)
        .bind(n.assessment_kind.clone())
        .bind(&n.content_enc)
        .bind(n.next_review_date.map(|d| d.0))
        .bind(n.created_at.0),
    )
    .await?;
    Ok(())
}

/// Saves a draft's content (only while it is a draft).
pub async fn update_draft(
    tx: &mut Tx,
    id: Uuid,
    content_enc: &str,
    next_review: Option<jiff::civil::Date>,
    now: Timestamp,
) -> StoreResult<bool> {
    Ok(tx
        .execute(
            sql("UPDATE clinical_notes SET content_enc = $2, next_review_date = $3, updated_at = $4 \
                 WHERE id = $1 AND status = 'draft'")
            .bind(id)
            .bind(content_enc)
            .bind(next_review)
            .bind(now),
        )
        .await?
        == 1)
}

/// Signs a draft: from now on it never changes.
pub async fn sign(tx: &mut Tx, id: Uuid, content_hash: &str, by: UserId, now: Timestamp) -> StoreResult<bool> {
    Ok(tx
        .execute(
            sql("UPDATE clinical_notes SET status = 'signed', content_hash = $2, signed_at = $3, signed_by = $4, \
                 updated_at = $3 WHERE id = $1 AND status = 'draft'")
            .bind(id)
            .bind(content_hash)
            .bind(now)
            .bind(by),
        )
        .await?
        == 1)
}

/// One note.
pub async fn get(db: &Db, id: Uuid) -> StoreResult<Option<NoteRow>> {
    db.fetch_optional(dynamic_sql(format!("{SELECT} WHERE n.id = $1")).bind(id)).await
}

/// One note, locked for a change (PostgreSQL).
pub async fn get_for_update(tx: &mut Tx, id: Uuid) -> StoreResult<Option<NoteRow>> {
    let lock = if tx.backend() == Backend::Postgres { " FOR UPDATE OF n" } else { "" };
    tx.fetch_optional(dynamic_sql(format!("{SELECT} WHERE n.id = $1{lock}")).bind(id)).await
}

/// Which of a patient's notes a list shows.
#[derive(Clone, Copy, Debug)]
pub struct NoteListFilter<'a> {
    /// Only this kind (`progress`, `therapy_session`, `assessment`).
    pub kind: Option<&'a str>,
    /// Drafts are shown only to their author: this provider's drafts are included.
    pub drafts_of: Option<Uuid>,
}

fn list_where(f: &NoteListFilter<'_>) -> String {
    let mut w = String::from("n.patient_id = $1 AND (n.status = 'signed' OR n.author_provider_id = $2)");
    if f.kind.is_some() {
        w.push_str(" AND n.kind = $3");
    }
    w
}

/// A page of a patient's notes, newest first, and how many there are in all.
pub async fn for_patient(
    db: &Db,
    patient: PatientId,
    f: NoteListFilter<'_>,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<NoteRow>, i64)> {
    // A provider id nobody has stands for "no drafts".
    let drafts_of = f.drafts_of.unwrap_or(Uuid::nil());
    let w = list_where(&f);
    let mut count =
        dynamic_sql(format!("SELECT COUNT(*) FROM clinical_notes n WHERE {w}")).bind(patient).bind(drafts_of);
    let mut rows = dynamic_sql(format!(
        "{SELECT} WHERE {w} ORDER BY n.created_at DESC, n.id DESC LIMIT {} OFFSET {}",
        limit.clamp(1, 1000),
        offset.max(0)
    ))
    .bind(patient)
    .bind(drafts_of);
    if let Some(k) = f.kind {
        count = count.bind(k.to_string());
        rows = rows.bind(k.to_string());
    }
    let (total,): (i64,) = db.fetch_one(count).await?;
    Ok((db.fetch_all(rows).await?, total))
}

/// An amendment.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AmendmentRow {
    /// Id.
    pub id: Uuid,
    /// The note it amends.
    pub note_id: Uuid,
    /// Author.
    pub author_provider_id: Uuid,
    /// Author's name.
    pub author_name: String,
    /// Why.
    pub reason: String,
    /// Sealed content.
    pub content_enc: String,
    /// SHA-256 of the content.
    pub content_hash: String,
    /// When.
    pub created_at: DbTime,
}

/// Adds an amendment (final at once).
pub async fn insert_amendment(tx: &mut Tx, a: &AmendmentRow) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO clinical_amendments (id, note_id, author_provider_id, reason, content_enc, content_hash, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(a.id)
        .bind(a.note_id)
        .bind(a.author_provider_id)
        .bind(&a.reason)
        .bind(&a.content_enc)
        .bind(&a.content_hash)
        .bind(a.created_at.0),
    )
    .await?;
    Ok(())
}

/// Amendments of the given notes, oldest first.
pub async fn amendments(db: &Db, notes: &[Uuid]) -> StoreResult<Vec<AmendmentRow>> {
    if notes.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = dynamic_sql(String::new());
    let ps: Vec<String> = notes.iter().map(|n| q.push_arg(*n)).collect();
    q.push_sql(&format!(
        "SELECT a.id, a.note_id, a.author_provider_id, u.full_name AS author_name, a.reason, a.content_enc, \
         a.content_hash, a.created_at FROM clinical_amendments a JOIN providers pr ON pr.id = a.author_provider_id \
         JOIN users u ON u.id = pr.user_id WHERE a.note_id IN ({}) ORDER BY a.created_at, a.id",
        ps.join(", ")
    ));
    db.fetch_all(q).await
}
