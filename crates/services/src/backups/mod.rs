//! Backups: written while Praxis keeps serving, sealed with the installation's key,
//! verified by a real test restore, kept by a retention schedule, restorable, and
//! watched — a failure or a long time without a good backup alerts the administrators.
//!
//! A backup is a folder `<backup dir>/<started, UTC>-<kind>-<id>` holding
//! `manifest.json` and one sealed part per content (the database, the documents). The
//! manifest (also kept in the history row, so a changed file is noticed) names every
//! part with its size and SHA-256, the row count of every table, and the Praxis and
//! schema versions it was made by.

pub mod alerts;
pub mod archive;
mod create;
pub mod export;
pub mod health;
pub mod restore;
mod schedule;
pub mod verify;

pub use praxis_domain::backups::{BackupKind, BackupStatus, Retention};
pub use schedule::{BACKUP_JOB, BackupSchedule, ScheduleInput};

use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use jiff::Timestamp;
use praxis_domain::Permission;
use praxis_store::backups::{self as store, BackupRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// The manifest's format name; a restore refuses formats it does not know.
pub const FORMAT: &str = "praxis-backup/1";
/// The manifest's file name inside a backup folder.
pub const MANIFEST: &str = "manifest.json";

/// What a part holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartRole {
    /// A SQLite database file (`VACUUM INTO`).
    SqliteDatabase,
    /// A PostgreSQL custom-format dump (`pg_dump -Fc`).
    PostgresDump,
    /// The uploaded documents (a tar archive with an index).
    Documents,
}

/// One file of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Part {
    /// File name inside the backup folder.
    pub name: String,
    /// What it holds.
    pub role: PartRole,
    /// Bytes on disk (sealed).
    pub bytes: u64,
    /// Bytes of the content before compression.
    pub plain_bytes: u64,
    /// SHA-256 (hex) of the file on disk.
    pub sha256: String,
}

/// The documents a backup holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentsSummary {
    /// Stored files.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// What a backup holds, written beside its parts and kept in its history row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The backup's id.
    pub id: Uuid,
    /// What it holds.
    pub kind: BackupKind,
    /// The engine the database part came from (`sqlite`, `postgres`).
    pub engine: String,
    /// When the copy was taken.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The Praxis version that made it.
    pub praxis_version: String,
    /// The newest migration of the database it holds (0 without a database).
    pub schema_version: i64,
    /// The key the parts are sealed with (restores need it).
    pub key_id: String,
    /// Its files.
    pub parts: Vec<Part>,
    /// Rows per table in the database part.
    pub tables: BTreeMap<String, i64>,
    /// The documents part's contents.
    pub documents: Option<DocumentsSummary>,
}

impl Manifest {
    /// The part holding `role`, if any.
    pub fn part(&self, role: PartRole) -> Option<&Part> {
        self.parts.iter().find(|p| p.role == role)
    }

    /// The database part, of either engine.
    pub fn database_part(&self) -> Option<&Part> {
        self.part(PartRole::SqliteDatabase).or_else(|| self.part(PartRole::PostgresDump))
    }

    /// Rows in all tables.
    pub fn total_rows(&self) -> i64 {
        self.tables.values().sum()
    }

    /// Reads and checks the manifest of the backup folder `dir`.
    pub fn read(dir: &Path) -> Result<Manifest, String> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("{} has no {MANIFEST}: it is not a Praxis backup folder", dir.display())
            }
            _ => format!("cannot read {}: {e}", path.display()),
        })?;
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a readable Praxis manifest: {e}", path.display()))?;
        if m.format != FORMAT {
            return Err(format!(
                "this backup is in format {:?}, which this version of Praxis does not read ({FORMAT})",
                m.format
            ));
        }
        Ok(m)
    }
}

/// A backup as the history shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Backup {
    /// Id.
    pub id: Uuid,
    /// What it holds.
    pub kind: BackupKind,
    /// `manual` or `scheduled`.
    pub origin: String,
    /// Where it stands.
    pub status: BackupStatus,
    /// The engine of the database it copied.
    pub engine: String,
    /// Its folder.
    pub location: String,
    /// The second copy's folder.
    pub copy_location: Option<String>,
    /// Bytes on disk.
    pub size_bytes: i64,
    /// Why it failed or did not verify.
    pub error: Option<String>,
    /// Who asked for it.
    pub requested_by: Option<Uuid>,
    /// Started.
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    /// Written (or failed).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
    /// Last verified.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub verified_at: Option<Timestamp>,
    /// When retention removed its files.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub pruned_at: Option<Timestamp>,
    /// Its manifest, once written.
    pub manifest: Option<Manifest>,
}

impl Backup {
    fn from_row(r: BackupRow) -> ServiceResult<Backup> {
        let corrupt = |what: &str| ServiceError::Internal(format!("backup {}: unreadable {what}", r.id));
        Ok(Backup {
            id: r.id,
            kind: r.kind.parse().map_err(|_| corrupt("kind"))?,
            status: r.status.parse().map_err(|_| corrupt("status"))?,
            manifest: match &r.manifest {
                Some(m) => Some(serde_json::from_str(m).map_err(|_| corrupt("manifest"))?),
                None => None,
            },
            origin: r.origin,
            engine: r.engine,
            location: r.location,
            copy_location: r.copy_location,
            size_bytes: r.size_bytes,
            error: r.error,
            requested_by: r.requested_by,
            started_at: r.started_at.0,
            finished_at: r.finished_at.map(|t| t.0),
            verified_at: r.verified_at.map(|t| t.0),
            pruned_at: r.pruned_at.map(|t| t.0),
        })
    }
}

/// A page of the history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BackupPage {
    /// Newest first.
    pub items: Vec<Backup>,
    /// All backups ever made.
    pub total: i64,
}

impl Services {
    /// Where backups are written.
    pub fn backup_dir(&self) -> PathBuf {
        self.settings().backup_dir.clone().unwrap_or_else(|| self.settings().data_dir.join("backups"))
    }

    /// The database engine in use: `sqlite` or `postgres`.
    pub fn database_engine(&self) -> &'static str {
        match self.db().backend() {
            praxis_store::Backend::Sqlite => "sqlite",
            praxis_store::Backend::Postgres => "postgres",
        }
    }

    /// The history, newest first (administrators only).
    pub async fn list_backups(&self, actor: &Actor, limit: i64, offset: i64) -> ServiceResult<BackupPage> {
        self.authorize_all(actor, Permission::ManageBackups)?;
        let (rows, total) = store::list(self.db(), limit.clamp(1, 500), offset.max(0)).await?;
        let items = rows.into_iter().map(Backup::from_row).collect::<ServiceResult<Vec<_>>>()?;
        Ok(BackupPage { items, total })
    }

    /// One backup.
    pub async fn get_backup(&self, actor: &Actor, id: Uuid) -> ServiceResult<Backup> {
        self.authorize_all(actor, Permission::ManageBackups)?;
        let row = store::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Backup" })?;
        Backup::from_row(row)
    }

    /// The newest good backup, if any (for health checks: no permission needed to know
    /// its age, nothing else of it is shown).
    pub async fn last_good_backup(&self) -> ServiceResult<Option<Backup>> {
        store::last_good(self.db()).await?.map(Backup::from_row).transpose()
    }

    /// The folder of a backup whose files are still there, for downloading one part.
    /// Audited: a download takes the clinic's data off the machine.
    pub async fn backup_part_for_download(&self, actor: &Actor, id: Uuid, name: &str) -> ServiceResult<PathBuf> {
        let b = self.get_backup(actor, id).await?;
        let manifest = b.manifest.as_ref().ok_or(ServiceError::NotFound { what: "Backup file" })?;
        if b.pruned_at.is_some() || !manifest.parts.iter().any(|p| p.name == name) && name != MANIFEST {
            return Err(ServiceError::NotFound { what: "Backup file" });
        }
        let path = Path::new(&b.location).join(name);
        if !path.is_file() {
            return Err(ServiceError::NotFound { what: "Backup file" });
        }
        let mut tx = self.db().begin().await?;
        tx.audit(self.audit_entry(
            actor,
            "backup.download",
            "backup",
            Some(id.to_string()),
            format!("downloaded {name}"),
        ));
        tx.commit().await?;
        Ok(path)
    }
}
