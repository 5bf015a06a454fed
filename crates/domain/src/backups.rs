//! Backups as the clinic sees them: what a backup holds, its status, when the next
//! scheduled one runs, and which old ones retention lets go.
//!
//! Pure rules, no I/O: the services layer lists the backups, asks [`prune`] which to
//! remove and [`next_run`] when to run next.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// What a backup holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupKind {
    /// The database only.
    Database,
    /// The uploaded documents only.
    Files,
    /// The database and the documents.
    Full,
}

impl BackupKind {
    /// Every kind, in display order.
    pub const ALL: [BackupKind; 3] = [BackupKind::Full, BackupKind::Database, BackupKind::Files];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::Database => "database",
            BackupKind::Files => "files",
            BackupKind::Full => "full",
        }
    }

    /// In the clinic's words.
    pub fn label(self) -> &'static str {
        match self {
            BackupKind::Database => "Database",
            BackupKind::Files => "Documents",
            BackupKind::Full => "Database and documents",
        }
    }

    /// True when the backup holds the database.
    pub fn has_database(self) -> bool {
        matches!(self, BackupKind::Database | BackupKind::Full)
    }

    /// True when the backup holds the uploaded documents.
    pub fn has_files(self) -> bool {
        matches!(self, BackupKind::Files | BackupKind::Full)
    }
}

impl fmt::Display for BackupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BackupKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "database" => Ok(BackupKind::Database),
            "files" => Ok(BackupKind::Files),
            "full" => Ok(BackupKind::Full),
            other => Err(format!("Unknown backup kind {other:?}; use database, files or full.")),
        }
    }
}

/// Where a backup stands. Only `good` backups count as backups: they were verified by
/// a real test restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupStatus {
    /// Being written.
    Running,
    /// Written but not (yet) verified.
    Unverified,
    /// Verified by a test restore.
    Good,
    /// Could not be written, or did not verify; the error says why.
    Failed,
}

impl BackupStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupStatus::Running => "running",
            BackupStatus::Unverified => "unverified",
            BackupStatus::Good => "good",
            BackupStatus::Failed => "failed",
        }
    }

    /// In the clinic's words.
    pub fn label(self) -> &'static str {
        match self {
            BackupStatus::Running => "In progress",
            BackupStatus::Unverified => "Not verified",
            BackupStatus::Good => "Good",
            BackupStatus::Failed => "Failed",
        }
    }
}

impl FromStr for BackupStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "running" => Ok(BackupStatus::Running),
            "unverified" => Ok(BackupStatus::Unverified),
            "good" => Ok(BackupStatus::Good),
            "failed" => Ok(BackupStatus::Failed),
            other => Err(format!("unknown backup status {other:?}")),
        }
    }
}

/// How many good backups to keep: the newest of each of the last `daily` days, `weekly`
/// ISO weeks and `monthly` months (each counted in the clinic's zone). The newest good
/// backup of each kind is always kept, whatever the numbers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Retention {
    /// Days with a backup kept.
    pub daily: u32,
    /// ISO weeks with a backup kept.
    pub weekly: u32,
    /// Months with a backup kept.
    pub monthly: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { daily: 7, weekly: 4, monthly: 12 }
    }
}

/// One stored backup, as retention sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Its id.
    pub id: Uuid,
    /// What it holds (retention counts each kind on its own).
    pub kind: BackupKind,
    /// When it was taken.
    pub at: Timestamp,
    /// Its status.
    pub status: BackupStatus,
}

/// The backups retention lets go (their files are removed; their history stays).
///
/// - Good backups: kept when they are the newest of one of the last `daily` days, the
///   last `weekly` weeks or the last `monthly` months that have a good backup, or the
///   newest good backup of their kind; the rest go.
/// - Failed and unverified backups older than the newest good backup of their kind go
///   (a good one supersedes them); newer ones stay, to be verified or looked at.
/// - Running backups are never touched.
pub fn prune(stored: &[Stored], keep: Retention, zone: &TimeZone) -> Vec<Uuid> {
    let mut out = Vec::new();
    for kind in BackupKind::ALL {
        let mut good: Vec<(&Stored, Date)> = stored
            .iter()
            .filter(|s| s.kind == kind && s.status == BackupStatus::Good)
            .map(|s| (s, s.at.to_zoned(zone.clone()).date()))
            .collect();
        good.sort_by(|a, b| b.0.at.cmp(&a.0.at).then(b.0.id.cmp(&a.0.id)));
        let Some(newest) = good.first().map(|g| g.0) else { continue };
        let mut kept: HashSet<Uuid> = HashSet::from([newest.id]);
        keep_newest_per(&good, keep.daily, &mut kept, |d| (d.year(), i16::from(d.month()), i16::from(d.day())));
        keep_newest_per(&good, keep.weekly, &mut kept, |d| {
            let w = d.iso_week_date();
            (w.year(), i16::from(w.week()), 0)
        });
        keep_newest_per(&good, keep.monthly, &mut kept, |d| (d.year(), i16::from(d.month()), 0));
        out.extend(good.iter().filter(|g| !kept.contains(&g.0.id)).map(|g| g.0.id));
        out.extend(
            stored
                .iter()
                .filter(|s| {
                    s.kind == kind
                        && matches!(s.status, BackupStatus::Failed | BackupStatus::Unverified)
                        && s.at < newest.at
                })
                .map(|s| s.id),
        );
    }
    out
}

/// Keeps the newest backup of each of the first `n` periods (newest first) that hold
/// one. `good` is sorted newest first, each with its local date.
fn keep_newest_per(
    good: &[(&Stored, Date)],
    n: u32,
    kept: &mut HashSet<Uuid>,
    period: impl Fn(Date) -> (i16, i16, i16),
) {
    let mut last = None;
    let mut periods = 0;
    for (s, date) in good {
        let p = period(*date);
        if last == Some(p) {
            continue;
        }
        if periods == n {
            break;
        }
        periods += 1;
        last = Some(p);
        kept.insert(s.id);
    }
}

/// The first instant after `after` at which the clinic's clock shows `at`. On the night
/// the clocks spring forward over `at`, as much later as the clocks jumped (02:30 that
/// does not exist runs at 03:30); on the night they fall back, the earlier of the two.
pub fn next_run(after: Timestamp, at: Time, zone: &TimeZone) -> Timestamp {
    let today = after.to_zoned(zone.clone()).date();
    let mut day = today.yesterday().unwrap_or(today);
    for _ in 0..4 {
        if let Ok(z) = day.to_datetime(at).to_zoned(zone.clone()) {
            if z.timestamp() > after {
                return z.timestamp();
            }
        }
        day = day.tomorrow().unwrap_or(day);
    }
    after
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ZONES: [&str; 4] = ["Australia/Sydney", "America/New_York", "Europe/London", "Asia/Kolkata"];

    fn zone(i: usize) -> TimeZone {
        TimeZone::get(ZONES[i % ZONES.len()]).unwrap()
    }

    fn stored() -> impl Strategy<Value = Vec<Stored>> {
        // Up to 120 backups spread over about two years, some of each kind and status.
        prop::collection::vec((0i64..(730 * 24), 0usize..3, 0usize..8), 0..120).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (hours, kind, status))| Stored {
                    id: Uuid::from_u128(i as u128 + 1),
                    kind: BackupKind::ALL[kind],
                    at: Timestamp::from_second(1_750_000_000 + hours * 3600).unwrap(),
                    status: match status {
                        0 => BackupStatus::Failed,
                        1 => BackupStatus::Unverified,
                        2 => BackupStatus::Running,
                        _ => BackupStatus::Good,
                    },
                })
                .collect()
        })
    }

    fn newest_good(s: &[Stored], kind: BackupKind) -> Option<&Stored> {
        s.iter().filter(|b| b.kind == kind && b.status == BackupStatus::Good).max_by_key(|b| (b.at, b.id))
    }

    proptest! {
        #[test]
        fn retention_never_removes_the_newest_good_backup_or_a_running_one(
            s in stored(), d in 0u32..10, w in 0u32..6, m in 0u32..14, z in 0usize..4,
        ) {
            let gone: HashSet<Uuid> = prune(&s, Retention { daily: d, weekly: w, monthly: m }, &zone(z)).into_iter().collect();
            for kind in BackupKind::ALL {
                if let Some(n) = newest_good(&s, kind) {
                    prop_assert!(!gone.contains(&n.id), "the newest good {kind} backup was pruned");
                }
            }
            for b in &s {
                if b.status == BackupStatus::Running {
                    prop_assert!(!gone.contains(&b.id));
                }
            }
        }

        #[test]
        fn retention_keeps_at_most_what_it_promises_and_is_idempotent(
            s in stored(), d in 0u32..10, w in 0u32..6, m in 0u32..14, z in 0usize..4,
        ) {
            let keep = Retention { daily: d, weekly: w, monthly: m };
            let tz = zone(z);
            let gone: HashSet<Uuid> = prune(&s, keep, &tz).into_iter().collect();
            let left: Vec<Stored> = s.iter().filter(|b| !gone.contains(&b.id)).cloned().collect();
            for kind in BackupKind::ALL {
                let good = left.iter().filter(|b| b.kind == kind && b.status == BackupStatus::Good).count();
                prop_assert!(good as u32 <= d + w + m + 1, "{good} good {kind} backups kept");
            }
            prop_assert!(prune(&left, keep, &tz).is_empty(), "pruning twice removed more");
        }

        #[test]
        fn each_of_the_last_days_with_a_good_backup_keeps_its_newest(s in stored(), d in 1u32..10, z in 0usize..4) {
            let tz = zone(z);
            let gone: HashSet<Uuid> = prune(&s, Retention { daily: d, weekly: 0, monthly: 0 }, &tz).into_iter().collect();
            for kind in BackupKind::ALL {
                let mut good: Vec<&Stored> = s.iter().filter(|b| b.kind == kind && b.status == BackupStatus::Good).collect();
                good.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
                let mut days: Vec<Date> = Vec::new();
                for b in good {
                    let day = b.at.to_zoned(tz.clone()).date();
                    if days.contains(&day) {
                        continue;
                    }
                    days.push(day);
                    if days.len() as u32 <= d {
                        prop_assert!(!gone.contains(&b.id), "the newest backup of {day} was pruned");
                    }
                }
            }
        }

        #[test]
        fn the_next_run_is_the_next_time_the_clinic_clock_shows_it(
            secs in 1_700_000_000i64..1_900_000_000, minute in 0i64..1440, z in 0usize..4,
        ) {
            let tz = zone(z);
            let after = Timestamp::from_second(secs).unwrap();
            let at = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).unwrap();
            let next = next_run(after, at, &tz);
            prop_assert!(next > after);
            prop_assert!(next.duration_since(after).as_secs() <= 26 * 3600, "{after} → {next}");
            let local = next.to_zoned(tz.clone());
            if local.time() != at {
                // Only in a spring-forward gap: the clock jumped over `at` that day.
                let day = local.date();
                prop_assert!(day.to_datetime(at).to_zoned(tz.clone()).map(|z| z.time() != at).unwrap_or(true));
            }
        }
    }

    #[test]
    fn a_week_of_daily_backups_keeps_seven_and_the_oldest_of_the_month() {
        let tz = TimeZone::get("Australia/Sydney").unwrap();
        let day0 = Timestamp::from_second(1_767_225_600).unwrap(); // 2026-01-01T00:00Z
        let s: Vec<Stored> = (0..40)
            .map(|i| Stored {
                id: Uuid::from_u128(i + 1),
                kind: BackupKind::Full,
                at: day0.saturating_add(jiff::SignedDuration::from_hours(24 * i as i64)).unwrap(),
                status: BackupStatus::Good,
            })
            .collect();
        let gone = prune(&s, Retention { daily: 7, weekly: 0, monthly: 0 }, &tz);
        assert_eq!(gone.len(), 33);
        assert!(gone.iter().all(|id| id.as_u128() <= 33));
        let gone = prune(&s, Retention { daily: 7, weekly: 4, monthly: 2 }, &tz);
        assert!(gone.len() < 33 && !gone.contains(&Uuid::from_u128(40)));
    }

    #[test]
    fn a_failed_backup_older_than_a_good_one_goes_but_not_a_newer_one() {
        let tz = TimeZone::UTC;
        let t = |h: i64| Timestamp::from_second(1_767_225_600 + h * 3600).unwrap();
        let s = vec![
            Stored { id: Uuid::from_u128(1), kind: BackupKind::Full, at: t(0), status: BackupStatus::Failed },
            Stored { id: Uuid::from_u128(2), kind: BackupKind::Full, at: t(1), status: BackupStatus::Good },
            Stored { id: Uuid::from_u128(3), kind: BackupKind::Full, at: t(2), status: BackupStatus::Failed },
            Stored { id: Uuid::from_u128(4), kind: BackupKind::Database, at: t(0), status: BackupStatus::Failed },
        ];
        assert_eq!(prune(&s, Retention::default(), &tz), vec![Uuid::from_u128(1)]);
    }

    #[test]
    fn on_the_spring_forward_night_a_run_inside_the_gap_starts_after_it() {
        let tz = TimeZone::get("America/New_York").unwrap();
        // 2027-03-14: clocks go from 02:00 to 03:00.
        let after: Timestamp = "2027-03-13T12:00:00Z".parse().unwrap();
        let next = next_run(after, Time::new(2, 30, 0, 0).unwrap(), &tz);
        assert_eq!(next.to_zoned(tz).datetime().to_string(), "2027-03-14T03:30:00");
    }
}
