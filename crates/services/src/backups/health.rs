//! The system's health in one place, for `/readyz`, the metrics and the admin's
//! System health page: the database, the data folder (writable, free space), the job
//! queue, the last good backup, the version and how long this process has run.

use super::{Backup, BackupSchedule};
use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceResult;
use jiff::Timestamp;
use praxis_domain::Permission;
use praxis_store::jobs::QueueStats;
use serde::Serialize;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

/// Below this much free space where Praxis writes, storage is reported as low.
pub const LOW_DISK_BYTES: u64 = 1024 * 1024 * 1024;

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Notes when this process started (called when the services are built).
pub(crate) fn mark_started() {
    STARTED.get_or_init(Instant::now);
}

/// Seconds since this process started.
pub fn uptime_seconds() -> u64 {
    STARTED.get().map(|s| s.elapsed().as_secs()).unwrap_or(0)
}

/// The data folder: can Praxis write there, and how much room is left.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Storage {
    /// The folder.
    pub path: String,
    /// A file could be written and removed there just now.
    pub writable: bool,
    /// Bytes free for Praxis on its file system.
    pub free_bytes: Option<u64>,
    /// Bytes of that file system.
    pub total_bytes: Option<u64>,
    /// What is wrong, when something is.
    pub problem: Option<String>,
}

/// Everything the health page shows.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SystemHealth {
    /// The database answered.
    pub database_ok: bool,
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// Bytes the database takes.
    pub database_bytes: Option<i64>,
    /// The data folder.
    pub storage: Storage,
    /// The backup folder (often another disk).
    pub backup_storage: Storage,
    /// Jobs waiting (due or later).
    pub queue_waiting: i64,
    /// Jobs due now.
    pub queue_due: i64,
    /// Jobs running.
    pub queue_running: i64,
    /// Jobs whose worker stopped mid-way (lease run out); the next worker takes them over.
    pub queue_abandoned: i64,
    /// Jobs that gave up.
    pub queue_dead: i64,
    /// How long the oldest due job has waited, in seconds.
    pub oldest_due_seconds: i64,
    /// The newest good backup.
    pub last_good_backup: Option<Backup>,
    /// Its age in seconds.
    pub last_good_age_seconds: Option<i64>,
    /// The schedule.
    pub schedule: BackupSchedule,
    /// The newest backups (for the size chart), oldest first.
    pub recent_backups: Vec<Backup>,
    /// The Praxis version.
    pub version: String,
    /// Seconds this process has run.
    pub uptime_seconds: u64,
}

/// Checks a folder: writes and removes a probe file, and reads the free space.
pub fn check_storage(dir: &Path) -> Storage {
    let path = dir.display().to_string();
    let probe = dir.join(format!(".praxis-write-check-{}", std::process::id()));
    let written = std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&probe, b"ok"))
        .and_then(|_| std::fs::remove_file(&probe));
    let stats = rustix::fs::statvfs(dir).ok();
    let free_bytes = stats.as_ref().map(|s| s.f_bavail.saturating_mul(s.f_frsize));
    let total_bytes = stats.as_ref().map(|s| s.f_blocks.saturating_mul(s.f_frsize));
    let problem = match (&written, free_bytes) {
        (Err(e), _) => Some(format!("Praxis cannot write to {path}: {e}")),
        (Ok(()), Some(free)) if free < LOW_DISK_BYTES => {
            Some(format!("Only {} MB are free in {path}.", free / (1024 * 1024)))
        }
        _ => None,
    };
    Storage { path, writable: written.is_ok(), free_bytes, total_bytes, problem }
}

impl Services {
    /// The system's health (administrators).
    pub async fn system_health(&self, actor: &Actor) -> ServiceResult<SystemHealth> {
        self.authorize_all(actor, Permission::ManageBackups)?;
        let now = self.now();
        let database_ok = self.db().ping().await.is_ok();
        let database_bytes = self.db().size_bytes().await.ok();
        let q = self.queue_stats().await.unwrap_or_default();
        let last = self.last_good_backup().await?;
        let mut recent = self.list_backups(actor, 30, 0).await?.items;
        recent.reverse();
        Ok(SystemHealth {
            database_ok,
            engine: self.database_engine().into(),
            database_bytes,
            storage: check_storage(&self.settings().data_dir),
            backup_storage: check_storage(&self.backup_dir()),
            queue_waiting: q.waiting,
            queue_due: q.due,
            queue_running: q.running,
            queue_abandoned: q.abandoned,
            queue_dead: q.dead,
            oldest_due_seconds: oldest_age(&q, now),
            last_good_age_seconds: last.as_ref().map(|b| now.duration_since(b.started_at).as_secs().max(0)),
            last_good_backup: last,
            schedule: self.backup_schedule(actor).await?,
            recent_backups: recent,
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_seconds: uptime_seconds(),
        })
    }

    /// What `/readyz` reports, without a login: whether this instance can serve (the
    /// database answers and the data folder is writable), plus the queue and the age of
    /// the last good backup (reported, not judged).
    pub async fn readiness(&self) -> Readiness {
        let now = self.now();
        let database = self.db().ping().await.map_err(|e| e.to_string());
        let storage = check_storage(&self.settings().data_dir);
        let queue = self.queue_stats().await.ok();
        let last = praxis_store::backups::last_good(self.db()).await.ok().flatten();
        Readiness {
            ready: database.is_ok() && storage.writable,
            database_error: database.err(),
            storage_writable: storage.writable,
            free_bytes: storage.free_bytes,
            queue_waiting: queue.as_ref().map(|q| q.waiting),
            queue_running: queue.as_ref().map(|q| q.running),
            queue_abandoned: queue.as_ref().map(|q| q.abandoned),
            queue_due: queue.as_ref().map(|q| q.due),
            queue_dead: queue.as_ref().map(|q| q.dead),
            oldest_due_seconds: queue.as_ref().map(|q| oldest_age(q, now)),
            last_good_backup_age_seconds: last.map(|b| now.duration_since(b.started_at.0).as_secs().max(0)),
        }
    }

    /// Sets the operational gauges from the database at scrape time, so every instance
    /// reports the same figures: backups, alerts, database size, free disk, pool use.
    pub async fn refresh_ops_metrics(&self) -> ServiceResult<()> {
        let last = praxis_store::backups::last_good(self.db()).await?;
        metrics::gauge!("praxis_backup_last_success_timestamp_seconds")
            .set(last.as_ref().map(|b| b.started_at.0.as_second() as f64).unwrap_or(0.0));
        metrics::gauge!("praxis_backup_last_success_size_bytes")
            .set(last.as_ref().map(|b| b.size_bytes as f64).unwrap_or(0.0));
        metrics::gauge!("praxis_alerts_open").set(praxis_store::backups::alerts::open_count(self.db()).await?.0 as f64);
        if let Ok(n) = self.db().size_bytes().await {
            metrics::gauge!("praxis_database_size_bytes").set(n as f64);
        }
        let storage = check_storage(&self.settings().data_dir);
        if let Some(free) = storage.free_bytes {
            metrics::gauge!("praxis_disk_free_bytes", "path" => "data").set(free as f64);
        }
        metrics::gauge!("praxis_data_dir_writable").set(if storage.writable { 1.0 } else { 0.0 });
        let (open, idle) = self.db().pool_use();
        metrics::gauge!("praxis_db_pool_connections", "state" => "busy").set(f64::from(open.saturating_sub(idle)));
        metrics::gauge!("praxis_db_pool_connections", "state" => "idle").set(f64::from(idle));
        metrics::gauge!("praxis_uptime_seconds").set(uptime_seconds() as f64);
        Ok(())
    }
}

fn oldest_age(q: &QueueStats, now: Timestamp) -> i64 {
    q.oldest_due.map(|t| now.duration_since(t).as_secs().max(0)).unwrap_or(0)
}

/// What `/readyz` says.
#[derive(Clone, Debug, Serialize)]
pub struct Readiness {
    /// The database answers and the data folder is writable.
    pub ready: bool,
    /// Why the database did not answer.
    pub database_error: Option<String>,
    /// The data folder is writable.
    pub storage_writable: bool,
    /// Free bytes there.
    pub free_bytes: Option<u64>,
    /// Jobs waiting, due or not.
    pub queue_waiting: Option<i64>,
    /// Jobs running.
    pub queue_running: Option<i64>,
    /// Jobs whose worker stopped mid-way (lease run out); the next worker takes them over.
    pub queue_abandoned: Option<i64>,
    /// Jobs due now.
    pub queue_due: Option<i64>,
    /// Jobs that gave up.
    pub queue_dead: Option<i64>,
    /// How long the oldest due job has waited.
    pub oldest_due_seconds: Option<i64>,
    /// Age of the newest good backup.
    pub last_good_backup_age_seconds: Option<i64>,
}
