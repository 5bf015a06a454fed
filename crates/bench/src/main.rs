//! `praxis-load`: the scheduling benchmark over real HTTP against the release `praxis`
//! binary.
//!
//! 1. Seeds a fresh database in-process through the service layer: two clinics in
//!    Australia/Sydney, 50 providers (30 at one clinic, 20 at the other) working
//!    Monday–Friday 08:00–18:00, a 50-minute consultation with a 10-minute buffer on a
//!    15-minute grid, 200 patients, and 2,000 appointments over the next 30 days.
//! 2. Starts `praxis serve` as a child process on that database and logs in as staff.
//! 3. Measures slot-search latency (1 provider × 1 day, 1 provider × 30 days, the 20
//!    providers of the second clinic × 30 days); logs in through the web login form and
//!    times the staff calendar of the busiest clinic for its busiest seeded week (one
//!    provider's week view, the whole clinic's day view) with page sizes; then the raw
//!    commit rate of a one-row INSERT transaction on the same database, booking throughput
//!    with concurrent clients, and the raw commit rate again.
//! 4. Prints a Markdown report.
#![forbid(unsafe_code)]

#[allow(dead_code)]
mod bulk;
mod calendar;
mod load;
mod pg;
mod probe;
mod raw;
mod report;
mod seed;
mod server;
mod stats;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Which database to benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Engine {
    /// SQLite file in `--data-dir` (WAL, synchronous=FULL, as the server opens it).
    Sqlite,
    /// PostgreSQL database named in `--url` (dropped and created afresh).
    Postgres,
}

/// Scheduling benchmark: slot search latency, booking throughput and the raw commit rate,
/// over HTTP against `praxis serve`.
#[derive(Parser, Debug)]
#[command(name = "praxis-load", version, about)]
struct Cli {
    /// Database engine.
    #[arg(long, value_enum)]
    db: Engine,
    /// SQLite: the directory for `praxis.db` (an existing one there is deleted first).
    #[arg(long, default_value = "/tmp/praxis-load")]
    data_dir: PathBuf,
    /// PostgreSQL: URL of the benchmark database, e.g.
    /// postgres://postgres@127.0.0.1:5432/praxis_bench. It is dropped and created through
    /// the server's `postgres` database, and dropped again at the end (see --keep).
    #[arg(long)]
    url: Option<String>,
    /// The `praxis` binary to serve with (default: beside this executable).
    #[arg(long)]
    praxis_bin: Option<PathBuf>,
    /// Timed requests per slot-search shape.
    #[arg(long, default_value_t = 1000)]
    search_requests: usize,
    /// Untimed warm-up requests per slot-search shape.
    #[arg(long, default_value_t = 50)]
    search_warmup: usize,
    /// Timed requests per calendar page (week view, day view).
    #[arg(long, default_value_t = 500)]
    page_requests: usize,
    /// Untimed warm-up requests per calendar page.
    #[arg(long, default_value_t = 20)]
    page_warmup: usize,
    /// Length of the booking phase.
    #[arg(long, default_value_t = 10.0)]
    booking_seconds: f64,
    /// Concurrent booking clients (one connection each).
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Length of each raw-commit measurement.
    #[arg(long, default_value_t = 5.0)]
    raw_seconds: f64,
    /// Providers in total.
    #[arg(long, default_value_t = 50)]
    providers: usize,
    /// Providers at the second clinic (the "20 providers × 30 days" search).
    #[arg(long, default_value_t = 20)]
    second_clinic_providers: usize,
    /// Existing appointments over the next `--days` days.
    #[arg(long, default_value_t = 2000)]
    appointments: usize,
    /// Days from tomorrow the existing appointments (and the 30-day searches) cover.
    #[arg(long, default_value_t = 30)]
    days: i64,
    /// Patients.
    #[arg(long, default_value_t = 200)]
    patients: usize,
    /// Seed for the random placement of the existing appointments.
    #[arg(long, default_value_t = 20261121)]
    seed: u64,
    /// Completed appointments to add in the past (16 a working day per provider, weeks
    /// back from the start of this week), for the scale figures; 0 adds none.
    #[arg(long, default_value_t = 0)]
    history: usize,
    /// Patients to add by bulk copy (no logins), for the scale figures.
    #[arg(long, default_value_t = 0)]
    more_patients: usize,
    /// PostgreSQL: keep the database afterwards.
    #[arg(long)]
    keep: bool,
}

/// Where the benchmark database lives.
struct Target {
    engine: Engine,
    url: String,
    data_dir: PathBuf,
    sqlite_path: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("praxis-load: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn progress(msg: impl AsRef<str>) {
    eprintln!("praxis-load: {}", msg.as_ref());
}

async fn run(cli: Cli) -> Result<()> {
    if cli.clients == 0 || cli.search_requests == 0 || cli.page_requests == 0 {
        bail!("--clients, --search-requests and --page-requests must be at least 1");
    }
    let binary = match &cli.praxis_bin {
        Some(b) => b.clone(),
        None => server::default_binary()?,
    };
    let load_before = load_average();
    let target = prepare_target(&cli).await?;
    let spec = seed::SeedSpec {
        providers: cli.providers,
        second_clinic_providers: cli.second_clinic_providers,
        appointments: cli.appointments,
        days: cli.days,
        patients: cli.patients,
        seed: cli.seed,
    };
    progress(format!(
        "seeding {} providers, {} patients, {} appointments (Argon2 hashing of {} accounts takes a few seconds)",
        spec.providers,
        spec.patients,
        spec.appointments,
        spec.providers + 1
    ));
    let seeded = seed::seed(&target.url, &spec).await?;
    progress(format!("seeded in {:.1} s", seeded.elapsed.as_secs_f64()));
    let scale = add_history(&cli, &target, &seeded).await?;
    let database = match target.engine {
        Engine::Sqlite => raw::sqlite_describe(target.sqlite_path.as_deref().context("no SQLite path")?).await?,
        Engine::Postgres => pg::describe(&target.url).await?,
    };

    let http = load::http_client()?;
    let server = server::Server::start(&binary, &target.url, &target.data_dir, &http).await?;
    progress(format!(
        "{} serving at {} (ready after {} ms)",
        binary.display(),
        server.base,
        server.ready_after.as_millis()
    ));
    let measured = measure(&cli, &target, &seeded, &server, &http).await;
    let stopped = server.stop().await;
    if target.engine == Engine::Postgres && !cli.keep {
        pg::drop(&target.url).await.context("drop the benchmark database")?;
    }
    let measured = measured?;
    stopped?;
    let context = report::Context {
        engine: match target.engine {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        },
        database,
        binary: binary.display().to_string(),
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        memory_gib: memory_gib(),
        when: jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC").to_string(),
        raw_seconds: cli.raw_seconds,
        booking_seconds: cli.booking_seconds,
        load_average: (load_before, load_average()),
        scale,
    };
    println!("{}", report::markdown(&context, &seeded, &measured));
    Ok(())
}

/// Adds `--more-patients` and `--history` by bulk copy, then `ANALYZE`; describes what
/// was added for the report (empty when nothing was).
async fn add_history(cli: &Cli, target: &Target, seeded: &seed::Seeded) -> Result<String> {
    if cli.history == 0 && cli.more_patients == 0 {
        return Ok(String::new());
    }
    let db = match target.engine {
        Engine::Sqlite => bulk::Backend::Sqlite,
        Engine::Postgres => bulk::Backend::Postgres,
    };
    let per_week = seeded.providers.len() * 80;
    let weeks = cli.history.div_ceil(per_week.max(1)) as i64;
    let zone = jiff::tz::TimeZone::get(seed::ZONE)?;
    let today = jiff::Timestamp::now().to_zoned(zone.clone()).date();
    let monday = today
        .checked_sub(jiff::Span::new().days(i64::from(today.weekday().to_monday_zero_offset())))?
        .checked_sub(jiff::Span::new().weeks(weeks))?;
    let first = calendar::local_instant(&zone, monday, 8 * 60)?;
    progress(format!(
        "adding {} patients and {} completed appointments from {monday} ({weeks} weeks)",
        cli.more_patients, cli.history
    ));
    let t0 = std::time::Instant::now();
    bulk::run(&target.url, db, &["patients", "appointments"], |cols| {
        let mut out = bulk::patient_copies(db, &cols[0], "1 = 1", cli.more_patients);
        out.extend(bulk::history(db, &cols[1], cli.history, first));
        out
    })
    .await?;
    let took = t0.elapsed().as_secs_f64();
    progress(format!("added in {took:.1} s"));
    Ok(format!(
        "History added by bulk copy in {took:.1} s: {} more patients (copies without logins) and {} completed \
         appointments from {monday} over {weeks} weeks before this one (every provider 16 a working day, 08:00–16:00), \
         each with a participant; then `ANALYZE`.",
        stats::thousands(cli.more_patients as u64),
        stats::thousands(cli.history as u64),
    ))
}

async fn prepare_target(cli: &Cli) -> Result<Target> {
    match cli.db {
        Engine::Sqlite => {
            std::fs::create_dir_all(&cli.data_dir).with_context(|| format!("create {}", cli.data_dir.display()))?;
            let path = cli.data_dir.join("praxis.db");
            for suffix in ["", "-wal", "-shm"] {
                let f = PathBuf::from(format!("{}{suffix}", path.display()));
                if f.exists() {
                    std::fs::remove_file(&f).with_context(|| format!("remove the old {}", f.display()))?;
                }
            }
            Ok(Target {
                engine: Engine::Sqlite,
                url: format!("sqlite://{}", path.display()),
                data_dir: cli.data_dir.clone(),
                sqlite_path: Some(path),
            })
        }
        Engine::Postgres => {
            let url = cli.url.clone().context("--db postgres needs --url postgres://…/praxis_bench")?;
            if !praxis_store::is_postgres_url(&url) {
                bail!("--url must start with postgres://");
            }
            pg::recreate(&url).await?;
            Ok(Target { engine: Engine::Postgres, url, data_dir: cli.data_dir.clone(), sqlite_path: None })
        }
    }
}

/// Everything measured against one running server.
pub struct Measured {
    /// One result per slot-search shape.
    pub searches: Vec<load::SearchResult>,
    /// The calendar pages: which clinic week they show, and one result per page.
    pub pages: (String, Vec<load::PageResult>),
    /// Raw commit rate before the booking phase (one connection).
    pub raw_before: raw::RawRate,
    /// Booking throughput.
    pub booking: load::BookingResult,
    /// Slots the booking clients had planned in total.
    pub planned: usize,
    /// Raw commit rate after the booking phase (one connection).
    pub raw_after: raw::RawRate,
    /// PostgreSQL only: raw commit rate with as many connections as booking clients.
    pub raw_concurrent: Option<raw::RawRate>,
}

async fn measure(
    cli: &Cli,
    target: &Target,
    seeded: &seed::Seeded,
    server: &server::Server,
    http: &reqwest::Client,
) -> Result<Measured> {
    let token = load::login(http, &server.base, &seeded.staff_email, &seeded.staff_password).await?;
    let probe = probe::Probe::new(server.pid, (target.engine == Engine::Postgres).then(|| target.url.clone()));

    let one_day = calendar::working_days(seeded.first_day, seeded.last_day)
        .first()
        .copied()
        .context("no working day in the range")?;
    let shapes = [
        load::SearchShape::reference(seeded),
        load::SearchShape::per_provider("1 provider × 1 day", ms(1), seeded, one_day, one_day),
        load::SearchShape::per_provider(
            &format!("1 provider × {} days", cli.days),
            ms(2),
            seeded,
            seeded.first_day,
            seeded.last_day,
        ),
        load::SearchShape::fhir_per_provider(
            &format!("FHIR `Slot`: 1 provider × {} days", cli.days),
            None,
            seeded,
            seeded.first_day,
            seeded.last_day,
        ),
        load::SearchShape::clinic(
            &format!("{} providers × {} days", cli.second_clinic_providers, cli.days),
            ms(20),
            seeded,
            seeded.second_clinic,
            seeded.first_day,
            seeded.last_day,
        ),
    ];
    let mut searches = Vec::new();
    for shape in &shapes {
        progress(format!(
            "slot search {}: {} warm-up + {} timed requests",
            shape.label, cli.search_warmup, cli.search_requests
        ));
        let r = load::search_latency(http, &server.base, &token, shape, cli.search_warmup, cli.search_requests, &probe)
            .await?;
        progress(format!("  p50 {} ms, p95 {} ms", stats::ms(r.latency.p50), stats::ms(r.latency.p95)));
        searches.push(r);
    }

    let pages = calendar_pages(cli, seeded, server, &probe).await?;

    let probe = &probe;
    let raw_once = |label: &'static str| async move {
        progress(format!("raw commit rate ({label}), {} s", cli.raw_seconds));
        let before = probe.snapshot().await;
        let mut r = match target.engine {
            Engine::Sqlite => {
                raw::sqlite(target.sqlite_path.as_deref().context("no SQLite path")?, cli.raw_seconds).await
            }
            Engine::Postgres => raw::postgres(&target.url, cli.raw_seconds, 1).await,
        }?;
        r.other_load = probe.usage_since(&before).await.other_share;
        progress(format!("  {:.0} commits/s", r.per_second()));
        anyhow::Ok(r)
    };
    let raw_before = raw_once("before booking").await?;

    let days = calendar::working_days(seeded.first_day, seed::last_bookable_day(seeded)?);
    let plans = calendar::plan_bookings(&seeded.zone, &days, &seeded.taken, cli.clients)?;
    let planned = plans.iter().map(Vec::len).sum();
    progress(format!("booking: {} clients for {} s ({planned} free slots planned)", cli.clients, cli.booking_seconds));
    let booking = load::booking_throughput(
        &server.base,
        &token,
        seeded,
        plans,
        Duration::from_secs_f64(cli.booking_seconds),
        probe,
    )
    .await?;
    progress(format!(
        "  {:.0} bookings/s ({} created, other: {:?})",
        booking.per_second(),
        booking.created,
        booking.other
    ));

    let raw_after = raw_once("after booking").await?;
    let raw_concurrent = if target.engine == Engine::Postgres {
        progress(format!("raw commit rate, {} connections, {} s", cli.clients, cli.raw_seconds));
        let before = probe.snapshot().await;
        let mut r = raw::postgres(&target.url, cli.raw_seconds, cli.clients).await?;
        r.other_load = probe.usage_since(&before).await.other_share;
        progress(format!("  {:.0} commits/s", r.per_second()));
        Some(r)
    } else {
        None
    };
    Ok(Measured { searches, pages, raw_before, booking, planned, raw_after, raw_concurrent })
}

/// Provider columns per page of the staff calendar's day view (the server's page size;
/// a server that shows every column ignores `cols`).
const DAY_VIEW_COLUMNS: usize = 10;

/// Logs in through the web form as the staff user and times the staff calendar of the
/// first (busiest) clinic over the seeded week with the most of its appointments: the week
/// view of one provider (rotating over the clinic's providers) and the day view (rotating
/// over the week's working days and the groups of provider columns).
async fn calendar_pages(
    cli: &Cli,
    seeded: &seed::Seeded,
    server: &server::Server,
    probe: &probe::Probe,
) -> Result<(String, Vec<load::PageResult>)> {
    let clinic = seeded.first_clinic;
    let staff: Vec<usize> =
        seeded.providers.iter().enumerate().filter(|(_, p)| p.clinic == clinic).map(|(i, _)| i).collect();
    let mut per_week: std::collections::BTreeMap<jiff::civil::Date, usize> = std::collections::BTreeMap::new();
    for &i in &staff {
        for (start, _) in seeded.taken.get(i).map(Vec::as_slice).unwrap_or_default() {
            let date = start.to_zoned(seeded.zone.clone()).date();
            let monday = calendar::add_days(date, -i64::from(date.weekday().to_monday_zero_offset()))?;
            *per_week.entry(monday).or_default() += 1;
        }
    }
    let (monday, booked) = per_week
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(d, n)| (*d, *n))
        .context("no seeded appointment at the first clinic")?;
    let sunday = calendar::add_days(monday, 6)?;
    let days = calendar::working_days(monday, sunday);
    let week_paths = staff
        .iter()
        .map(|&i| format!("/calendar?clinic={clinic}&date={monday}&view=week&provider={}", seeded.providers[i].id))
        .collect();
    // The day view shows a large clinic's providers a group of columns at a time (`cols`,
    // from 1); rotate over every group of every day so all providers' columns are timed.
    let groups = staff.len().div_ceil(DAY_VIEW_COLUMNS).max(1);
    let day_paths: Vec<String> = days
        .iter()
        .flat_map(|d| (1..=groups).map(move |g| format!("/calendar?clinic={clinic}&date={d}&view=day&cols={g}")))
        .collect();
    let shapes = [
        load::PageShape {
            label: "week view, one provider (`/calendar?view=week&provider=…`)".into(),
            rotation: format!("rotating over the clinic's {} providers", staff.len()),
            paths: week_paths,
            goal_p95: ms(20),
        },
        load::PageShape {
            label: format!(
                "day view, {} providers in groups of up to {DAY_VIEW_COLUMNS} columns (`/calendar?view=day&cols=…`)",
                staff.len()
            ),
            rotation: format!("rotating over the week's {} working days × {groups} groups", days.len()),
            paths: day_paths,
            goal_p95: ms(20),
        },
    ];
    progress("web login as staff (GET /login, POST /login)");
    let browser = load::browser_login(&server.base, &seeded.staff_email, &seeded.staff_password).await?;
    let mut out = Vec::new();
    for shape in &shapes {
        progress(format!(
            "calendar {}: {} warm-up + {} timed requests",
            shape.label, cli.page_warmup, cli.page_requests
        ));
        let r = load::page_latency(&browser, &server.base, shape, cli.page_warmup, cli.page_requests, probe).await?;
        progress(format!(
            "  p50 {} ms, p95 {} ms, {:.1} KiB",
            stats::ms(r.latency.p50),
            stats::ms(r.latency.p95),
            r.bytes.2 / 1024.0
        ));
        out.push(r);
    }
    let week = format!(
        "clinic A ({} providers), week of Monday {monday} to Sunday {sunday}: {booked} of its seeded appointments, the most of any week",
        staff.len()
    );
    Ok((week, out))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The 1-minute load average (other work on the machine skews every figure).
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// Total memory from /proc/meminfo, in GiB.
fn memory_gib() -> f64 {
    let kib = std::fs::read_to_string(Path::new("/proc/meminfo"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        })
        .unwrap_or(0.0);
    kib / 1024.0 / 1024.0
}
