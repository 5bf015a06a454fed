//! Writing a backup: a consistent copy of the live database (and the documents) into a
//! `.partial` folder, sealed part by part, then renamed into place. A failure removes
//! the partial folder, records why and alerts the administrators; the live data is
//! only ever read.

use super::archive::{self, Written};
use super::{Backup, BackupKind, DocumentsSummary, FORMAT, MANIFEST, Manifest, Part, PartRole};
use crate::Services;
use crate::actor::Actor;
use crate::crypto::KeyRing;
use crate::error::{ServiceError, ServiceResult};
use praxis_domain::Permission;
use praxis_store::backups::{self as store, NewBackup, snapshot};
use praxis_store::{Backend, Db, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

/// How often a backup being written shows it is alive.
pub(super) const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(20);

/// Why writing a backup failed, for the history and the alert.
fn io_reason(what: &str, e: &std::io::Error) -> String {
    if e.raw_os_error() == Some(28) || e.kind() == std::io::ErrorKind::StorageFull {
        format!("{what}: the disk is full — free space where backups are written, or set PRAXIS_BACKUP_DIR")
    } else {
        format!("{what}: {e}")
    }
}

fn store_reason(what: &str, e: &StoreError) -> String {
    let text = e.to_string();
    if text.contains("database or disk is full") || text.contains("No space left") {
        format!("{what}: the disk is full — free space where backups are written, or set PRAXIS_BACKUP_DIR")
    } else {
        format!("{what}: {text}")
    }
}

/// The folder name of a backup.
fn folder_name(id: Uuid, kind: BackupKind, at: jiff::Timestamp) -> String {
    let stamp = at.strftime("%Y%m%dT%H%M%SZ").to_string();
    format!("{stamp}-{kind}-{}", &id.simple().to_string()[24..])
}

/// Writes a backup of `db` (and of the documents under `documents`) into `dest`, a new
/// folder. The building block of [`Services::create_backup`], usable on any database.
pub async fn write_backup(
    db: &Db,
    ring: Arc<KeyRing>,
    documents: &Path,
    kind: BackupKind,
    id: Uuid,
    created_at: jiff::Timestamp,
    dest: &Path,
) -> Result<Manifest, String> {
    std::fs::create_dir_all(dest).map_err(|e| io_reason("cannot create the backup folder", &e))?;
    let mut parts = Vec::new();
    let mut tables = std::collections::BTreeMap::new();
    let mut schema_version = 0;
    let engine = match db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    if kind.has_database() {
        let (role, name, plain_name) = match db.backend() {
            Backend::Sqlite => (PartRole::SqliteDatabase, "database.sqlite.zst.pxf", "database.sqlite"),
            Backend::Postgres => (PartRole::PostgresDump, "database.pgdump.zst.pxf", "database.pgdump"),
        };
        let plain = dest.join(plain_name);
        match db.backend() {
            Backend::Sqlite => {
                snapshot::sqlite_copy(db, &plain).await.map_err(|e| store_reason("copying the database", &e))?;
                // Counted in the copy itself: exactly what the backup holds.
                let copy = open_sqlite(&plain).await.map_err(|e| store_reason("reading the copy", &e))?;
                let counted = async {
                    let t = snapshot::row_counts(&copy).await?;
                    let v = snapshot::schema_version(&copy).await?;
                    Ok::<_, StoreError>((t, v))
                }
                .await;
                copy.close().await;
                (tables, schema_version) = counted.map_err(|e| store_reason("counting rows in the copy", &e))?;
            }
            Backend::Postgres => {
                tables = snapshot::pg_dump(db, &plain).await.map_err(|e| store_reason("dumping the database", &e))?;
                schema_version = snapshot::schema_version(db).await.map_err(|e| store_reason("schema version", &e))?;
            }
        }
        let sealed = dest.join(name);
        let ring2 = ring.clone();
        let plain2 = plain.clone();
        let written = blocking(move || archive::seal_file(&ring2, &plain2, &sealed))
            .await
            .map_err(|e| io_reason("sealing the database copy", &e))?;
        std::fs::remove_file(&plain).map_err(|e| io_reason("removing the unsealed copy", &e))?;
        parts.push(part(name, role, written));
    }
    let mut documents_summary = None;
    if kind.has_files() {
        let name = "documents.tar.zst.pxf";
        let (ring2, root, sealed) = (ring.clone(), documents.to_path_buf(), dest.join(name));
        let w = blocking(move || archive::seal_documents(&ring2, &root, &sealed))
            .await
            .map_err(|e| io_reason("archiving the documents", &e))?;
        if let Some(p) = w.part {
            parts.push(part(name, PartRole::Documents, p));
        }
        documents_summary = Some(DocumentsSummary { files: w.files, bytes: w.bytes });
    }
    let key_id = ring.current_key().map_err(|e| e.to_string())?.0;
    let manifest = Manifest {
        format: FORMAT.into(),
        id,
        kind,
        engine: engine.into(),
        created_at,
        praxis_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        key_id,
        parts,
        tables,
        documents: documents_summary,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    write_synced(&dest.join(MANIFEST), &json).map_err(|e| io_reason("writing the manifest", &e))?;
    Ok(manifest)
}

fn part(name: &str, role: PartRole, w: Written) -> Part {
    Part { name: name.into(), role, bytes: w.bytes, plain_bytes: w.plain_bytes, sha256: w.sha256 }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create_new(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Runs blocking file work off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| std::io::Error::other(format!("the backup task stopped: {e}")))?
}

/// Opens a SQLite file that is not the live database (a copy, a scratch restore).
pub(super) async fn open_sqlite(path: &Path) -> Result<Db, StoreError> {
    let mut opts = praxis_store::DbOptions::new(format!("sqlite:{}", path.display()));
    opts.sqlite_readers = 1;
    Db::connect(&opts).await
}

/// Bytes of every file in a folder.
pub(super) fn folder_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum()
        })
        .unwrap_or(0)
}

impl Services {
    /// Writes a backup now, while Praxis keeps serving, and records it as `unverified`
    /// (call [`Services::verify_backup`] next; scheduled backups do both). Only one
    /// backup is written at a time: a second request while one runs is refused.
    pub async fn create_backup(&self, actor: &Actor, kind: BackupKind, origin: &str) -> ServiceResult<Backup> {
        self.authorize_all(actor, Permission::ManageBackups)?;
        // A backup whose process died must not block this one.
        self.fail_interrupted_backups().await?;
        let id = Uuid::now_v7();
        let now = self.now();
        let root = self.backup_dir();
        std::fs::create_dir_all(&root).map_err(|e| {
            ServiceError::Unavailable(format!("cannot create the backup folder {}: {e}", root.display()))
        })?;
        let location = root.join(folder_name(id, kind, now));
        let partial = PathBuf::from(format!("{}.partial", location.display()));
        let engine = self.database_engine();
        let mut tx = self.db().begin().await?;
        let row = NewBackup {
            id,
            kind: kind.as_str().into(),
            origin: origin.into(),
            engine: engine.into(),
            location: location.display().to_string(),
            requested_by: actor.user_id.map(|u| u.0),
        };
        match store::insert_running(&mut tx, &row, now).await {
            Ok(()) => {}
            Err(StoreError::Unique(_)) => {
                return Err(ServiceError::Conflict {
                    code: "backup_running",
                    message: "A backup is being written right now. Wait for it to finish, then try again.".into(),
                    fields: vec![],
                });
            }
            Err(e) => return Err(e.into()),
        }
        tx.audit(self.audit_entry(
            actor,
            "backup.start",
            "backup",
            Some(id.to_string()),
            format!("{kind} backup started ({origin})"),
        ));
        tx.commit().await?;
        tracing::info!(backup = %id, %kind, %origin, "backup started");
        let beat = {
            let svc = self.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(HEARTBEAT).await;
                    if let Err(e) = store::heartbeat(svc.db(), id, svc.now()).await {
                        tracing::warn!(backup = %id, error = %e, "could not record a backup's heartbeat");
                    }
                }
            })
        };

        let written = write_backup(
            self.db(),
            self.settings().keys.clone(),
            &self.settings().data_dir.join("documents"),
            kind,
            id,
            now,
            &partial,
        )
        .await
        .and_then(|m| {
            std::fs::rename(&partial, &location).map_err(|e| io_reason("moving the backup into place", &e))?;
            Ok(m)
        });
        beat.abort();
        let now = self.now();
        match written {
            Ok(manifest) => {
                let size = folder_size(&location) as i64;
                let json = serde_json::to_string(&manifest).map_err(|e| ServiceError::Internal(e.to_string()))?;
                let mut tx = self.db().begin().await?;
                if !store::mark_written(&mut tx, id, size, &json, now).await? {
                    return Err(ServiceError::Conflict {
                        code: "backup_interrupted",
                        message: "The backup was marked as interrupted while it was being written; start a new one."
                            .into(),
                        fields: vec![],
                    });
                }
                tx.audit(self.audit_entry(
                    actor,
                    "backup.create",
                    "backup",
                    Some(id.to_string()),
                    format!("{kind} backup written: {size} bytes, {} rows", manifest.total_rows()),
                ));
                tx.commit().await?;
                tracing::info!(backup = %id, size, "backup written");
            }
            Err(reason) => {
                let _ = std::fs::remove_dir_all(&partial);
                self.record_backup_failure(actor, id, &reason, false).await?;
            }
        }
        let row = store::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Backup" })?;
        Backup::from_row(row)
    }

    /// Records that backup `id` failed (to be written, or to verify) and raises an alert
    /// (mailed to the administrators once) in the same transaction.
    pub(super) async fn record_backup_failure(
        &self,
        actor: &Actor,
        id: Uuid,
        reason: &str,
        at_verification: bool,
    ) -> ServiceResult<()> {
        let now = self.now();
        let admins = praxis_store::messages::admin_emails(self.db()).await?;
        let mut tx = self.db().begin().await?;
        store::mark_failed(&mut tx, id, reason, at_verification, now).await?;
        let what = if at_verification { "did not pass verification" } else { "could not be written" };
        self.raise_alert(
            &mut tx,
            &admins,
            &format!("backup_failed:{id}"),
            "backup_failed",
            &format!("A backup {what}: {reason}"),
            now,
        )
        .await?;
        tx.audit(self.audit_entry(
            actor,
            "backup.fail",
            "backup",
            Some(id.to_string()),
            format!("backup {what}: {reason}"),
        ));
        tx.commit().await?;
        metrics::counter!("praxis_backup_failures_total").increment(1);
        tracing::error!(backup = %id, error = %reason, "backup {what}");
        Ok(())
    }
}
