//! Verifying a backup: every part against its checksum, then a real test restore into
//! a scratch location (a SQLite file, or a scratch PostgreSQL database on the same
//! server) where the engine's integrity check runs, every table's rows are counted
//! against the manifest and the audit chain is recomputed. Only then is it good.

use super::archive;
use super::create::{blocking, open_sqlite};
use super::{Backup, Manifest, PartRole};
use crate::Services;
use crate::actor::Actor;
use crate::crypto::KeyRing;
use crate::error::{ServiceError, ServiceResult};
use praxis_domain::Permission;
use praxis_store::Db;
use praxis_store::audit::VerifyOutcome;
use praxis_store::backups::{self as store, snapshot};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

/// What a passed verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Tables restored.
    pub tables: usize,
    /// Rows restored.
    pub rows: i64,
    /// Documents restored.
    pub documents: u64,
}

/// Hears how far a long step is: (what, bytes done, bytes in all).
pub type Progress = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

/// A byte counter that reports to `progress` as step `what` of `total` bytes.
pub(super) fn hear(progress: &Option<Progress>, what: &'static str, total: u64) -> Option<Box<dyn FnMut(u64) + Send>> {
    progress.clone().map(|p| Box::new(move |n: u64| p(what, n, total)) as Box<dyn FnMut(u64) + Send>)
}

/// Explains why a part would not open.
fn open_reason(part: &str, e: &std::io::Error, manifest: &Manifest) -> String {
    let text = e.to_string();
    if text.contains("is not available") {
        format!(
            "{part} is sealed with key {:?}, which this installation does not have: restore needs the key file \
             (or PRAXIS_ENCRYPTION_KEYS) the backup was made with",
            manifest.key_id
        )
    } else if e.kind() == std::io::ErrorKind::InvalidData || e.kind() == std::io::ErrorKind::UnexpectedEof {
        format!("{part} does not open: it is damaged, cut short, or sealed with another key ({text})")
    } else {
        format!("{part}: {text}")
    }
}

/// Checks every part's size and SHA-256 against the manifest.
pub async fn check_checksums(dir: &Path, manifest: &Manifest, progress: &Option<Progress>) -> Result<(), String> {
    for part in &manifest.parts {
        let path = dir.join(&part.name);
        let p = hear(progress, "checking checksums", part.bytes);
        let (sha, bytes) = blocking(move || archive::file_sha256(&path, p))
            .await
            .map_err(|e| format!("{} cannot be read: {e}", part.name))?;
        if bytes != part.bytes {
            return Err(format!(
                "{} is {bytes} bytes but was written as {} bytes: the file was cut short or changed",
                part.name, part.bytes
            ));
        }
        if sha != part.sha256 {
            return Err(format!("{} does not match its checksum: the file was changed or damaged", part.name));
        }
    }
    Ok(())
}

/// The checks a restored database must pass: the engine's integrity check, the schema
/// version, every table's rows against the manifest, and an intact audit chain.
pub async fn check_restored(db: &Db, manifest: &Manifest, scratch: bool) -> Result<i64, String> {
    let fail = |e: praxis_store::StoreError| format!("the restored database cannot be read: {e}");
    snapshot::integrity(db, scratch).await.map_err(fail)??;
    let version = snapshot::schema_version(db).await.map_err(fail)?;
    if version != manifest.schema_version {
        return Err(format!(
            "the restored database is at schema version {version}, but the manifest says {}",
            manifest.schema_version
        ));
    }
    let counts = snapshot::row_counts(db).await.map_err(fail)?;
    for (table, want) in &manifest.tables {
        match counts.get(table) {
            None => return Err(format!("table {table} is missing from the restored database")),
            Some(got) if got != want => {
                return Err(format!("table {table} has {got} rows after restoring, but the backup recorded {want}"));
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = counts.keys().find(|t| !manifest.tables.contains_key(*t)) {
        return Err(format!("the restored database has a table {extra} the manifest does not list"));
    }
    if manifest.tables.contains_key("audit_log") {
        match praxis_store::audit::verify(db).await.map_err(fail)? {
            VerifyOutcome::Intact { .. } => {}
            VerifyOutcome::Broken { seq, reason } => {
                return Err(format!("the audit log in the backup is broken at row {seq}: {reason}"));
            }
        }
    }
    Ok(counts.values().sum())
}

/// Verifies the backup in `dir` (its manifest must equal `expected` when given):
/// checksums, then a test restore under `scratch` (SQLite) or into a scratch database
/// on the server of `server` (PostgreSQL), then [`check_restored`]. Leaves nothing behind.
pub async fn check_backup(
    ring: Arc<KeyRing>,
    dir: &Path,
    expected: Option<&Manifest>,
    scratch: &Path,
    server: Option<&Db>,
    progress: Option<Progress>,
) -> Result<Verified, String> {
    let manifest = Manifest::read(dir)?;
    if let Some(want) = expected
        && want != &manifest
    {
        return Err("the manifest on disk differs from the one recorded when the backup was made".into());
    }
    if manifest.schema_version > praxis_store::latest_schema_version() {
        return Err(format!(
            "this backup holds schema version {}, newer than this version of Praxis knows ({}): \
             use the Praxis version that made it ({}) or newer",
            manifest.schema_version,
            praxis_store::latest_schema_version(),
            manifest.praxis_version
        ));
    }
    check_checksums(dir, &manifest, &progress).await?;
    let work = scratch.join(format!(".verify-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create a scratch folder for the test restore: {e}"))?;
    let result = test_restore(ring, dir, &manifest, &work, server, &progress).await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

async fn test_restore(
    ring: Arc<KeyRing>,
    dir: &Path,
    manifest: &Manifest,
    work: &Path,
    server: Option<&Db>,
    progress: &Option<Progress>,
) -> Result<Verified, String> {
    let mut rows = 0;
    if let Some(part) = manifest.database_part() {
        let sealed = dir.join(&part.name);
        let plain = work.join("restored");
        let (r, s, pl) = (ring.clone(), sealed.clone(), plain.clone());
        let p = hear(progress, "test restore", part.bytes);
        blocking(move || archive::unseal_to_file(&r, &s, &pl, p))
            .await
            .map_err(|e| open_reason(&part.name, &e, manifest))?;
        rows = match part.role {
            PartRole::SqliteDatabase => {
                let db = open_sqlite(&plain).await.map_err(|e| format!("the restored database does not open: {e}"))?;
                let checked = check_restored(&db, manifest, true).await;
                db.close().await;
                checked?
            }
            _ => {
                let server = server.ok_or_else(|| {
                    "this backup is of a PostgreSQL database: verify it with Praxis running on PostgreSQL".to_string()
                })?;
                let name = format!("praxis_verify_{}", Uuid::now_v7().simple());
                let url = snapshot::create_database(server, &name)
                    .await
                    .map_err(|e| format!("cannot create a scratch database for the test restore: {e}"))?;
                let checked = async {
                    snapshot::pg_restore(&url, &plain).await.map_err(|e| format!("the test restore failed: {e}"))?;
                    let db = Db::connect(&praxis_store::DbOptions::new(url.clone()))
                        .await
                        .map_err(|e| format!("the restored database does not open: {e}"))?;
                    let checked = check_restored(&db, manifest, true).await;
                    db.close().await;
                    checked
                }
                .await;
                if let Err(e) = snapshot::drop_database(server, &name).await {
                    tracing::warn!(database = %name, error = %e, "could not drop the scratch database");
                }
                checked?
            }
        };
        let _ = std::fs::remove_file(&plain);
    }
    let mut documents = 0;
    if let Some(part) = manifest.part(PartRole::Documents) {
        let (r, s, into) = (ring.clone(), dir.join(&part.name), work.join("documents"));
        let p = hear(progress, "test restore of documents", part.bytes);
        let index = blocking(move || archive::unseal_documents(&r, &s, &into, p))
            .await
            .map_err(|e| open_reason(&part.name, &e, manifest))?;
        documents = index.len() as u64;
        if let Some(summary) = &manifest.documents
            && summary.files != documents
        {
            return Err(format!("{documents} documents came back, but the backup recorded {}", summary.files));
        }
    }
    Ok(Verified { tables: manifest.tables.len(), rows, documents })
}

impl Services {
    /// Verifies backup `id` by a real test restore and records the outcome: `good`, or
    /// `failed` with the reason (and an alert to the administrators).
    pub async fn verify_backup(&self, actor: &Actor, id: Uuid) -> ServiceResult<Backup> {
        self.authorize_all(actor, Permission::ManageBackups)?;
        let row = store::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Backup" })?;
        let b = Backup::from_row(row)?;
        if b.pruned_at.is_some() {
            return Err(ServiceError::Conflict {
                code: "backup_pruned",
                message: "This backup's files were removed by the retention schedule; verify a newer one.".into(),
                fields: vec![],
            });
        }
        let Some(expected) = b.manifest.clone() else {
            return Err(ServiceError::Conflict {
                code: "backup_not_written",
                message: "This backup was never completely written, so there is nothing to verify.".into(),
                fields: vec![],
            });
        };
        let server = (self.db().backend() == praxis_store::Backend::Postgres).then(|| self.db());
        let outcome = check_backup(
            self.settings().keys.clone(),
            Path::new(&b.location),
            Some(&expected),
            &self.backup_dir(),
            server,
            None,
        )
        .await;
        let now = self.now();
        match outcome {
            Ok(v) => {
                let mut tx = self.db().begin().await?;
                store::mark_good(&mut tx, id, now).await?;
                self.resolve_backup_alerts(&mut tx, now).await?;
                tx.audit(self.audit_entry(
                    actor,
                    "backup.verify",
                    "backup",
                    Some(id.to_string()),
                    format!(
                        "verified by a test restore: {} tables, {} rows, {} documents",
                        v.tables, v.rows, v.documents
                    ),
                ));
                tx.commit().await?;
                tracing::info!(backup = %id, rows = v.rows, "backup verified");
            }
            Err(reason) => self.record_backup_failure(actor, id, &reason, true).await?,
        }
        let row = store::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Backup" })?;
        Backup::from_row(row)
    }
}

/// The scratch folder used when verifying a backup given by path.
pub fn scratch_for(dir: &Path) -> PathBuf {
    dir.parent().map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir)
}
