//! Scheduled backups, run by the durable job queue (no external cron): housekeeping
//! queues the next run at the clinic's chosen local time (its key makes every instance
//! queue the same one job); a worker writes it, verifies it, copies it to the second
//! folder and lets retention prune the old ones — never the last good backup.

use super::{Backup, BackupKind, BackupStatus, Retention};
use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use crate::notifications::queue::{Claimed, Outcome};
use jiff::civil::Time;
use jiff::{SignedDuration, Timestamp};
use praxis_domain::backups::{Stored, next_run, prune};
use praxis_domain::{FieldError, Permission, Validation};
use praxis_store::backups::{self as store, ScheduleRow};
use praxis_store::jobs::{self, NewJob};
use serde::{Deserialize, Serialize};
use std::path::Path;
use uuid::Uuid;

/// The job kind of a backup run.
pub const BACKUP_JOB: &str = "backup";

/// A running backup whose process showed no sign of life for this long was interrupted
/// (its process died); a live one beats every [`super::create::HEARTBEAT`].
pub(super) const INTERRUPTED_AFTER: SignedDuration = SignedDuration::from_mins(2);

#[derive(Serialize, Deserialize)]
struct BackupJob {
    kind: BackupKind,
    origin: String,
    /// Who asked (manual runs), for the audit log.
    requested_by: Option<Uuid>,
    /// Only verify this backup again (nothing is written).
    #[serde(default)]
    verify: Option<Uuid>,
}

/// The backup schedule as the admin page shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BackupSchedule {
    /// Scheduled backups run.
    pub enabled: bool,
    /// What they hold.
    pub kind: BackupKind,
    /// Local time of day, `HH:MM`.
    pub run_at: String,
    /// The zone of that time (IANA).
    pub time_zone: String,
    /// How many to keep.
    pub retention: Retention,
    /// A second folder (an off-machine mount) that receives a copy of each good backup.
    pub copy_dir: Option<String>,
    /// The next run, when enabled.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_run: Option<Timestamp>,
    /// False until an administrator (or the first start of `praxis serve`) saved one.
    pub saved: bool,
}

/// A schedule to save.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct ScheduleInput {
    /// Run scheduled backups.
    pub enabled: bool,
    /// What they hold.
    pub kind: String,
    /// Local time of day, `HH:MM` (24-hour).
    pub run_at: String,
    /// IANA zone, e.g. `Australia/Sydney`.
    pub time_zone: String,
    /// Days kept.
    pub keep_daily: i64,
    /// ISO weeks kept.
    pub keep_weekly: i64,
    /// Months kept.
    pub keep_monthly: i64,
    /// A second folder for copies; empty for none.
    #[serde(default)]
    pub copy_dir: Option<String>,
}

fn parse_time(s: &str) -> Option<Time> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    Time::new(h, m, 0, 0).ok()
}

impl ScheduleInput {
    fn validate(&self) -> Result<ScheduleRow, Vec<FieldError>> {
        let mut v = Validation::new();
        let kind = v.check("kind", self.kind.parse::<BackupKind>());
        let time = parse_time(&self.run_at);
        if time.is_none() {
            v.add("run_at", "invalid", "Give a time of day as HH:MM, e.g. 02:30.");
        }
        if jiff::tz::TimeZone::get(self.time_zone.trim()).is_err() {
            v.add("time_zone", "invalid", "Give a time zone such as Australia/Sydney or Asia/Kolkata.");
        }
        for (field, n, max) in [
            ("keep_daily", self.keep_daily, 366),
            ("keep_weekly", self.keep_weekly, 520),
            ("keep_monthly", self.keep_monthly, 600),
        ] {
            if !(0..=max).contains(&n) {
                v.add(field, "out_of_range", format!("Give a number from 0 to {max}."));
            }
        }
        let copy_dir = self.copy_dir.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(str::to_string);
        if let Some(d) = &copy_dir {
            let p = Path::new(d);
            if !p.is_absolute() {
                v.add("copy_dir", "invalid", "Give the full path of the folder, e.g. /mnt/offsite/praxis.");
            } else if !p.is_dir() {
                v.add("copy_dir", "missing", "This folder does not exist on the server; create or mount it first.");
            }
        }
        v.finish()?;
        let (Some(kind), Some(t)) = (kind, time) else { return Err(Vec::new()) };
        Ok(ScheduleRow {
            enabled: self.enabled,
            kind: kind.as_str().into(),
            run_at_minute: i64::from(t.hour()) * 60 + i64::from(t.minute()),
            time_zone: self.time_zone.trim().into(),
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            copy_dir,
            updated_at: praxis_store::DbTime(Timestamp::UNIX_EPOCH),
            updated_by: None,
        })
    }
}

fn run_time(row: &ScheduleRow) -> Time {
    Time::new((row.run_at_minute / 60) as i8, (row.run_at_minute % 60) as i8, 0, 0).unwrap_or(Time::midnight())
}

impl Services {
    fn schedule_view(&self, row: Option<ScheduleRow>) -> BackupSchedule {
        let saved = row.is_some();
        let row = row.unwrap_or_else(|| self.default_schedule());
        let zone = crate::scheduling::zone_named(&row.time_zone);
        let next = row.enabled.then(|| next_run(self.now(), run_time(&row), &zone));
        BackupSchedule {
            enabled: row.enabled,
            kind: row.kind.parse().unwrap_or(BackupKind::Full),
            run_at: format!("{:02}:{:02}", row.run_at_minute / 60, row.run_at_minute % 60),
            time_zone: row.time_zone,
            retention: Retention {
                daily: row.keep_daily.max(0) as u32,
                weekly: row.keep_weekly.max(0) as u32,
                monthly: row.keep_monthly.max(0) as u32,
            },
            copy_dir: row.copy_dir,
            next_run: next,
            saved,
        }
    }

    /// The schedule a new installation starts with: a full backup every night at 02:00
    /// in the display zone, keeping 7 daily, 4 weekly and 12 monthly.
    fn default_schedule(&self) -> ScheduleRow {
        let r = Retention::default();
        ScheduleRow {
            enabled: true,
            kind: BackupKind::Full.as_str().into(),
            run_at_minute: 120,
            time_zone: self.settings().display_zone.iana_name().unwrap_or("UTC").to_string(),
            keep_daily: i64::from(r.daily),
            keep_weekly: i64::from(r.weekly),
            keep_monthly: i64::from(r.monthly),
            copy_dir: None,
            updated_at: praxis_store::DbTime(self.now()),
            updated_by: None,
        }
    }

    /// The backup schedule (administrators).
    pub async fn backup_schedule(&self, actor: &Actor) -> ServiceResult<BackupSchedule> {
        self.authorize_all(actor, Permission::ManageBackups)?;
        Ok(self.schedule_view(store::schedule(self.db()).await?))
    }

    /// Saves the backup schedule.
    pub async fn set_backup_schedule(&self, actor: &Actor, input: &ScheduleInput) -> ServiceResult<BackupSchedule> {
        self.authorize_all(actor, Permission::ManageBackups)?;
        let mut row = match input.validate() {
            Ok(r) => r,
            Err(errors) => {
                let why = errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>().join(", ");
                let err = ServiceError::Validation(errors);
                return Err(self
                    .denied(actor, "backup.schedule_refused", "backup_schedule", None, &format!("refused: {why}"), err)
                    .await);
            }
        };
        row.updated_at = praxis_store::DbTime(self.now());
        row.updated_by = actor.user_id.map(|u| u.0);
        let mut tx = self.db().begin().await?;
        store::save_schedule(&mut tx, &row, false).await?;
        tx.audit(self.audit_entry(
            actor,
            "backup.schedule",
            "backup_schedule",
            None,
            format!(
                "backups {} at {} {} ({}), keeping {}/{}/{}",
                if row.enabled { "on" } else { "off" },
                input.run_at,
                row.time_zone,
                row.kind,
                row.keep_daily,
                row.keep_weekly,
                row.keep_monthly
            ),
        ));
        tx.commit().await?;
        Ok(self.schedule_view(Some(row)))
    }

    /// Saves the default schedule unless one exists (first start of `praxis serve`), so
    /// a new installation is backed up every night without anyone remembering to ask.
    pub async fn ensure_backup_schedule(&self) -> ServiceResult<()> {
        let row = self.default_schedule();
        let mut tx = self.db().begin().await?;
        if store::save_schedule(&mut tx, &row, true).await? {
            tx.audit(self.audit_entry(
                &Actor::system("system"),
                "backup.schedule",
                "backup_schedule",
                None,
                format!("default schedule: full backup nightly at 02:00 {}", row.time_zone),
            ));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Asks a worker to write (and verify) a backup now; returns at once. The history
    /// shows it when it is done.
    pub async fn request_backup(&self, actor: &Actor, kind: BackupKind) -> ServiceResult<()> {
        self.authorize_all(actor, Permission::ManageBackups)?;
        let now = self.now();
        let payload =
            BackupJob { kind, origin: "manual".into(), requested_by: actor.user_id.map(|u| u.0), verify: None };
        let mut tx = self.db().begin().await?;
        self.enqueue_backup_job(&mut tx, &payload, now, format!("backup:manual:{}", Uuid::now_v7())).await?;
        tx.audit(self.audit_entry(actor, "backup.request", "backup", None, format!("{kind} backup requested")));
        tx.commit().await?;
        Ok(())
    }

    /// Asks a worker to verify backup `id` again by a test restore; returns at once.
    pub async fn request_verification(&self, actor: &Actor, id: Uuid) -> ServiceResult<()> {
        let b = self.get_backup(actor, id).await?;
        if b.pruned_at.is_some() || b.manifest.is_none() {
            return Err(ServiceError::Conflict {
                code: "backup_not_verifiable",
                message: "This backup has no files to verify (it was never completely written, or retention removed \
                          it)."
                    .into(),
                fields: vec![],
            });
        }
        let now = self.now();
        let payload = BackupJob {
            kind: b.kind,
            origin: "manual".into(),
            requested_by: actor.user_id.map(|u| u.0),
            verify: Some(id),
        };
        let mut tx = self.db().begin().await?;
        self.enqueue_backup_job(&mut tx, &payload, now, format!("backup:verify:{id}:{}", Uuid::now_v7())).await?;
        tx.audit(self.audit_entry(
            actor,
            "backup.request_verify",
            "backup",
            Some(id.to_string()),
            "verification requested",
        ));
        tx.commit().await?;
        Ok(())
    }

    async fn enqueue_backup_job(
        &self,
        tx: &mut praxis_store::Tx,
        job: &BackupJob,
        run_at: Timestamp,
        key: String,
    ) -> ServiceResult<bool> {
        let payload = serde_json::to_string(job).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let job = NewJob {
            id: Uuid::now_v7(),
            kind: BACKUP_JOB.into(),
            payload,
            run_at,
            max_attempts: 1,
            idempotency_key: key,
        };
        Ok(jobs::enqueue(tx, &job, self.now()).await?)
    }

    /// Housekeeping for backups (every instance, any time): fails backups whose process
    /// died, queues the next scheduled run, and raises the "no good backup" alert.
    pub async fn backup_housekeeping(&self) -> ServiceResult<()> {
        self.fail_interrupted_backups().await?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        if let Some(row) = store::schedule(self.db()).await?
            && row.enabled
        {
            let zone = crate::scheduling::zone_named(&row.time_zone);
            let at = next_run(now, run_time(&row), &zone);
            let job = BackupJob {
                kind: row.kind.parse().unwrap_or(BackupKind::Full),
                origin: "scheduled".into(),
                requested_by: None,
                verify: None,
            };
            self.enqueue_backup_job(&mut tx, &job, at, format!("backup:scheduled:{}", at.as_second())).await?;
        }
        tx.commit().await?;
        self.check_backup_age().await
    }

    /// Fails backups whose process died while writing them, and removes their partial files.
    pub(super) async fn fail_interrupted_backups(&self) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let dead = store::fail_interrupted(&mut tx, now.saturating_sub(INTERRUPTED_AFTER).unwrap_or(now), now).await?;
        if dead.is_empty() {
            tx.rollback().await?;
            return Ok(());
        }
        for b in &dead {
            tx.audit(self.audit_entry(
                &Actor::system("system"),
                "backup.fail",
                "backup",
                Some(b.id.to_string()),
                "interrupted: the process writing it stopped",
            ));
        }
        tx.commit().await?;
        for b in dead {
            let _ = std::fs::remove_dir_all(format!("{}.partial", b.location));
        }
        Ok(())
    }

    /// Runs one `backup` job: write, verify, copy, prune. The job itself is done either
    /// way (a failure is in the history and alerted; the next run is already queued).
    pub(crate) async fn process_backup_job(&self, c: &Claimed) -> ServiceResult<Outcome> {
        let result = match serde_json::from_str::<BackupJob>(&c.job.payload) {
            Ok(job) => self.run_backup_job(c, &job).await,
            Err(e) => Err(ServiceError::Internal(format!("unreadable backup job: {e}"))),
        };
        let summary = match result {
            Ok(b) => format!("backup {} {}", b.id, b.status.as_str()),
            Err(e) => format!("backup not written: {e}"),
        };
        let mut tx = self.db().begin().await?;
        if !jobs::complete(&mut tx, c.job.id, &c.claim, self.now()).await? {
            return Ok(Outcome::LeaseLost);
        }
        tx.commit().await?;
        Ok(Outcome::Done(summary))
    }

    async fn run_backup_job(&self, c: &Claimed, job: &BackupJob) -> ServiceResult<Backup> {
        let mut actor = Actor::system(if job.origin == "scheduled" { "backup schedule" } else { "backup" });
        actor.user_id = job.requested_by.map(praxis_domain::UserId);
        // Keep the lease while the backup runs (a large one outlasts it).
        let keep = self.keep_lease(c);
        let outcome = async {
            if let Some(id) = job.verify {
                return self.verify_backup(&actor, id).await;
            }
            let b = self.create_backup(&actor, job.kind, &job.origin).await?;
            if b.status != BackupStatus::Unverified {
                return Ok(b);
            }
            let b = self.verify_backup(&actor, b.id).await?;
            if b.status == BackupStatus::Good {
                self.copy_backup(&b).await?;
                self.prune_backups(&actor).await?;
            }
            Ok(b)
        }
        .await;
        keep.abort();
        outcome
    }

    fn keep_lease(&self, c: &Claimed) -> tokio::task::JoinHandle<()> {
        let (svc, id, claim) = (self.clone(), c.job.id, c.claim.clone());
        tokio::spawn(async move {
            let lease = svc.settings().job_lease;
            let every = std::time::Duration::from_secs_f64((lease.as_secs_f64() / 3.0).max(1.0));
            loop {
                tokio::time::sleep(every).await;
                let now = svc.now();
                let until = now.saturating_add(lease).unwrap_or(now);
                if let Err(e) = jobs::extend_lease(svc.db(), id, &claim, until).await {
                    tracing::warn!(job = %id, error = %e, "could not extend a backup job's lease");
                }
            }
        })
    }

    /// Copies a good backup into the schedule's second folder, when one is set.
    async fn copy_backup(&self, b: &Backup) -> ServiceResult<()> {
        let Some(dir) = store::schedule(self.db()).await?.and_then(|s| s.copy_dir) else { return Ok(()) };
        let src = Path::new(&b.location).to_path_buf();
        let name = src.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        let dest = Path::new(&dir).join(&name);
        let partial = Path::new(&dir).join(format!("{}.partial", name.to_string_lossy()));
        let copied = super::create::blocking({
            let (src, dest, partial) = (src.clone(), dest.clone(), partial.clone());
            move || {
                std::fs::create_dir_all(&partial)?;
                for entry in std::fs::read_dir(&src)? {
                    let entry = entry?;
                    let to = partial.join(entry.file_name());
                    std::fs::copy(entry.path(), &to)?;
                    std::fs::File::open(&to)?.sync_all()?;
                }
                std::fs::rename(&partial, &dest)
            }
        })
        .await;
        let now = self.now();
        match copied {
            Ok(()) => {
                let mut tx = self.db().begin().await?;
                store::set_copy(&mut tx, b.id, &dest.display().to_string()).await?;
                tx.audit(self.audit_entry(
                    &Actor::system("backup schedule"),
                    "backup.copy",
                    "backup",
                    Some(b.id.to_string()),
                    format!("copied to {}", dest.display()),
                ));
                tx.commit().await?;
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&partial);
                let admins = praxis_store::messages::admin_emails(self.db()).await?;
                let mut tx = self.db().begin().await?;
                self.raise_alert(
                    &mut tx,
                    &admins,
                    &format!("backup_copy_failed:{}", b.id),
                    "backup_copy_failed",
                    &format!("A good backup could not be copied to the second folder {dir}: {e}"),
                    now,
                )
                .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Removes the files of backups retention lets go (history rows stay, marked
    /// pruned). Never the newest good backup of any kind. Returns how many went.
    pub async fn prune_backups(&self, actor: &Actor) -> ServiceResult<usize> {
        self.authorize_all(actor, Permission::ManageBackups)?;
        let schedule = self.schedule_view(store::schedule(self.db()).await?);
        let rows = store::stored(self.db()).await?;
        let candidates: Vec<Stored> = rows
            .iter()
            .filter_map(|r| {
                Some(Stored {
                    id: r.id,
                    kind: r.kind.parse().ok()?,
                    at: r.started_at.0,
                    status: r.status.parse().ok()?,
                })
            })
            .collect();
        let zone = crate::scheduling::zone_named(&schedule.time_zone);
        let gone = prune(&candidates, schedule.retention, &zone);
        let now = self.now();
        for id in &gone {
            let Some(row) = rows.iter().find(|r| r.id == *id) else { continue };
            if let Err(e) = std::fs::remove_dir_all(&row.location)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(backup = %id, error = %e, "could not remove a pruned backup's files");
                continue;
            }
            let mut tx = self.db().begin().await?;
            store::mark_pruned(&mut tx, *id, now).await?;
            tx.audit(self.audit_entry(actor, "backup.prune", "backup", Some(id.to_string()), "removed by retention"));
            tx.commit().await?;
        }
        Ok(gone.len())
    }
}
