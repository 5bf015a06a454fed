//! `praxis-backup-bench`: backing up, verifying and restoring a large practice, and what
//! a running backup does to booking latency.
//!
//! 1. Seeds a fresh database (the test fixture, then batched `INSERT … SELECT` copies) to
//!    `--patients` patients and `--appointments` completed appointments, one every two
//!    minutes going back from the fixture's.
//! 2. Books `--bookings` appointments over HTTP one after another (a staff bearer token,
//!    `POST /api/v1/appointments`) with no backup running: the baseline.
//! 3. Starts a full backup and, while it is written, books again the same way; reports
//!    both latency distributions.
//! 4. Verifies the backup by its test restore, then restores it into a new folder (SQLite)
//!    or a new database (PostgreSQL), each timed.
//!
//! ```sh
//! cargo build --release -p praxis-bench --bin praxis-backup-bench
//! target/release/praxis-backup-bench --db sqlite
//! target/release/praxis-backup-bench --db postgres --url postgres://postgres@127.0.0.1:5432/postgres
//! ```

#[path = "stats.rs"]
#[allow(dead_code)]
mod stats;

#[allow(dead_code)]
mod bulk;

use anyhow::{Context, Result};
use bulk::Backend;
use clap::Parser;
use praxis_domain::Role;
use praxis_services::Actor;
use praxis_services::backups::BackupKind;
use praxis_services::backups::restore::{RestoreTarget, restore_backup};
use praxis_testkit::{TestApp, TestDb, http_client, test_settings};
use stats::{Summary, ms, thousands};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The booking index of the appointment the seeded ones are copied from.
const TEMPLATE: usize = 1_000_000;

/// Backup, verify and restore at scale; booking latency during a backup.
#[derive(Parser, Debug)]
struct Args {
    /// Database: a fresh SQLite file, or a fresh PostgreSQL database made through --url.
    #[arg(long, value_enum, default_value = "sqlite")]
    db: Backend,
    /// PostgreSQL administrative URL (databases are created and dropped through it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    url: String,
    /// Patients to seed.
    #[arg(long, default_value_t = 100_000)]
    patients: usize,
    /// Appointments to seed.
    #[arg(long, default_value_t = 1_000_000)]
    appointments: usize,
    /// Bookings timed with and without a backup running.
    #[arg(long, default_value_t = 300)]
    bookings: usize,
}

async fn seed(url: &str, db: Backend, patients: usize, appointments: usize) -> Result<()> {
    let shift = match db {
        Backend::Sqlite => "t.{c} - s.n * 120000000",
        Backend::Postgres => "t.{c} - s.n * interval '2 minutes'",
    };
    let when = |c: &str| shift.replace("{c}", c);
    let appointment_overrides = vec![
        ("id", bulk::new_id(db).to_string()),
        ("number", "'BA-' || CAST(s.n AS TEXT)".into()),
        ("status", "'completed'".into()),
        ("held_until", "NULL".into()),
        ("starts_at", when("starts_at")),
        ("ends_at", when("ends_at")),
        ("occupied_from", when("occupied_from")),
        ("occupied_until", when("occupied_until")),
    ];
    bulk::run(url, db, &["patients", "appointments"], |cols| {
        let mut out = bulk::patient_copies(db, &cols[0], "user_id IS NOT NULL", patients);
        if appointments > 0 {
            out.extend(bulk::copy_sql(
                db,
                "appointments",
                &cols[1],
                "number NOT LIKE 'BA-%'",
                &appointment_overrides,
                1,
                appointments,
                "",
            ));
        }
        out
    })
    .await
}

/// Books `n` appointments one after another over HTTP, from `first` on, 30 minutes
/// apart in working hours; stops early when `until` says so. Returns each booking's time.
async fn book_many(
    app: &TestApp,
    token: &str,
    f: &praxis_testkit::scheduling::Fixture,
    first: usize,
    n: usize,
    cancel: bool,
    until: impl Fn() -> bool,
) -> Result<Vec<Duration>> {
    let client = http_client();
    let mut times = Vec::new();
    for i in first..first + n {
        if until() {
            break;
        }
        // Weekdays from Monday 9 March 2026, 09:00–17:00 Sydney, every hour, over six
        // weeks (each booking is cancelled again untimed, so the times come round again).
        // The template booking (i = TEMPLATE) gets a day of its own after them.
        let day = if i >= TEMPLATE { 31 } else { (i / 8) % 30 };
        let week_day = day % 5;
        let week = day / 5;
        let date = jiff::civil::date(2026, 3, 9).checked_add(jiff::Span::new().days((week * 7 + week_day) as i64))?;
        let start =
            date.at(9 + (i % 8) as i8, 0, 0, 0).to_zoned(jiff::tz::TimeZone::get("Australia/Sydney")?)?.timestamp();
        let body = serde_json::json!({"service_id": f.service.id, "provider_id": f.provider.id,
                                      "clinic_id": f.clinic.id, "patient_id": f.patient.id, "start": start});
        let t = Instant::now();
        let res = client
            .post(app.url("/api/v1/appointments"))
            .bearer_auth(token)
            .header("Idempotency-Key", format!("bench-{i}"))
            .json(&body)
            .send()
            .await?;
        let status = res.status();
        let booked: serde_json::Value = res.json().await?;
        times.push(t.elapsed());
        anyhow::ensure!(status.is_success(), "booking {i} at {start} answered {status}: {booked}");
        if cancel {
            let id = booked["id"].as_str().context("booked appointment id")?;
            let res = client
                .post(app.url(&format!("/api/v1/appointments/{id}/cancel")))
                .bearer_auth(token)
                .json(&serde_json::json!({"reason": "benchmark"}))
                .send()
                .await?;
            anyhow::ensure!(res.status().is_success(), "cancelling answered {}", res.status());
        }
    }
    Ok(times)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let test_db = Arc::new(match args.db {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => TestDb::postgres(&args.url).await,
    });
    let backups = tempfile::tempdir()?;
    let mut settings = test_settings();
    settings.backup_dir = Some(backups.path().to_path_buf());
    let app = TestApp::spawn_on(test_db.clone(), settings).await;
    let f = app.fixture().await;
    // The template appointment, then the copies.
    let (_, token) = app.user_with_token(Role::Staff).await;
    book_many(&app, &token, &f, TEMPLATE, 1, false, || false).await?;
    let t = Instant::now();
    seed(&test_db.url, args.db, args.patients, args.appointments).await?;
    let size = app.db.size_bytes().await?;
    println!(
        "database: {:?}; seeded {} patients and {} appointments in {:.1} s; {} MB",
        args.db,
        thousands(args.patients as u64),
        thousands(args.appointments as u64),
        t.elapsed().as_secs_f64(),
        size / (1024 * 1024)
    );

    let (_, token) = app.user_with_token(Role::Staff).await;
    let quiet = book_many(&app, &token, &f, 0, args.bookings, true, || false).await?;
    let sys = Actor::system("bench");
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let backup = {
        let (svc, done) = (app.svc.clone(), done.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let b = svc.create_backup(&Actor::system("bench"), BackupKind::Full, "manual").await;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            b.map(|b| (b, t.elapsed()))
        })
    };
    let d2 = done.clone();
    let during = book_many(&app, &token, &f, args.bookings, args.bookings * 20, true, move || {
        d2.load(std::sync::atomic::Ordering::SeqCst)
    })
    .await?;
    let (b, write_time) = backup.await.context("backup task")??;
    let t = Instant::now();
    let b = app.svc.verify_backup(&sys, b.id).await?;
    let verify_time = t.elapsed();
    anyhow::ensure!(b.status == praxis_services::backups::BackupStatus::Good, "backup not good: {:?}", b.error);
    let m = b.manifest.clone().context("manifest")?;

    let into = tempfile::tempdir()?;
    let target_db = match args.db {
        Backend::Sqlite => None,
        Backend::Postgres => Some(TestDb::postgres(&args.url).await),
    };
    let target = RestoreTarget {
        dir: into.path().to_path_buf(),
        postgres_url: target_db.as_ref().map(|t| t.url.clone()),
        force: false,
    };
    let t = Instant::now();
    let restored = restore_backup(app.svc.settings().keys.clone(), std::path::Path::new(&b.location), &target, None)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let restore_time = t.elapsed();

    println!();
    println!("| step | seconds | detail |");
    println!("|---|---|---|");
    println!(
        "| write the backup (copy, compress, seal) | {:.1} | {} MB on disk from {} MB of database, {} rows |",
        write_time.as_secs_f64(),
        b.size_bytes / (1024 * 1024),
        size / (1024 * 1024),
        thousands(m.total_rows() as u64)
    );
    println!(
        "| verify (checksums, test restore, integrity, counts, audit chain) | {:.1} | |",
        verify_time.as_secs_f64()
    );
    println!("| backup + verify | {:.1} | goal < 60 s |", (write_time + verify_time).as_secs_f64());
    println!(
        "| restore (checks, migrate, into place) | {:.1} | {} rows; goal < 60 s |",
        restore_time.as_secs_f64(),
        thousands(restored.rows as u64)
    );
    let (q, d) = (Summary::of(quiet), Summary::of(during));
    println!();
    println!("| bookings over HTTP, one client | n | p50 ms | p95 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    println!("| no backup running | {} | {} | {} | {} |", q.n, ms(q.p50), ms(q.p95), ms(q.p99));
    println!("| while the backup is written | {} | {} | {} | {} |", d.n, ms(d.p50), ms(d.p95), ms(d.p99));
    println!();
    println!("p95 during / without: {:.2}× (goal < 2×)", d.p95.as_secs_f64() / q.p95.as_secs_f64().max(1e-9));
    Ok(())
}
