//! `praxis-billing-bench`: issuing invoices under concurrency, and the money reports at
//! clinic-group size.
//!
//! 1. Two Praxis instances (two connection pools, as two `praxis serve` processes) share
//!    one database; `--tasks` tasks split between them create and issue invoices for
//!    `--seconds` seconds through the billing service (each: a draft in one transaction,
//!    then issuing it with its number in another). Reports invoices issued per second, then
//!    checks the numbers handed out are exactly 1..n with no gap and no repeat.
//! 2. Copies an issued invoice (with its line) until the database holds `--invoices`
//!    invoices spread over the past year — 70 % paid, the rest issued, partly paid or
//!    overdue — with batched `INSERT … SELECT`, then times the aged-receivables and revenue
//!    reports through the service (permissions, the query, the shaping), `--runs` times each.
//!
//! ```sh
//! cargo build --release -p praxis-bench --bin praxis-billing-bench
//! target/release/praxis-billing-bench --db sqlite
//! target/release/praxis-billing-bench --db postgres --url postgres://postgres@127.0.0.1:5432/postgres
//! ```

#[path = "stats.rs"]
#[allow(dead_code)]
mod stats;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, ValueEnum};
use praxis_services::Actor;
use praxis_services::billing::reports::ReportQuery;
use praxis_services::billing::{DraftRequest, IssueRequest, LineRequest};
use praxis_testkit::scheduling::Fixture;
use praxis_testkit::{TestApp, TestDb, test_settings};
use sqlx::Connection;
use stats::{Summary, ms, thousands};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Invoice issuing and money report benchmark.
#[derive(Parser, Debug)]
struct Args {
    /// Database: a fresh SQLite file, or a fresh PostgreSQL database made through --url.
    #[arg(long, value_enum, default_value = "sqlite")]
    db: Backend,
    /// PostgreSQL administrative URL (a database is created and dropped through it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    url: String,
    /// Concurrent issuing tasks (split over two instances).
    #[arg(long, default_value_t = 8)]
    tasks: usize,
    /// Seconds of concurrent issuing.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Invoices in the database for the report timings.
    #[arg(long, default_value_t = 100_000)]
    invoices: usize,
    /// Timed runs per report.
    #[arg(long, default_value_t = 50)]
    runs: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let test_db = Arc::new(match args.db {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => TestDb::postgres(&args.url).await,
    });
    let a = TestApp::spawn_on(test_db.clone(), test_settings()).await;
    let b = TestApp::spawn_on(test_db.clone(), test_settings()).await;
    let f = Arc::new(a.fixture().await);
    println!("database: {:?}; {} issuing tasks over two instances for {} s", args.db, args.tasks, args.seconds);

    // 1. Concurrent issuing.
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut handles = Vec::new();
    for t in 0..args.tasks {
        let svc = if t % 2 == 0 { a.svc.clone() } else { b.svc.clone() };
        let f = f.clone();
        handles.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                issue_one(&svc, &f).await?;
                times.push(started.elapsed());
            }
            Ok::<_, anyhow::Error>(times)
        }));
    }
    let started = Instant::now();
    let mut times = Vec::new();
    for h in handles {
        times.extend(h.await.context("issuing task")??);
    }
    let took = started.elapsed();
    let issued = times.len();
    let s = Summary::of(times);
    println!();
    println!("| concurrent issuing | invoices | per second | p50 ms | p95 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {} tasks, draft + issue each | {} | {:.0} | {} | {} | {} |",
        args.tasks,
        thousands(issued as u64),
        issued as f64 / took.as_secs_f64(),
        ms(s.p50),
        ms(s.p95),
        ms(s.p99)
    );
    let numbers = issued_numbers(&test_db.url, args.db).await?;
    check_gap_free(&numbers, issued)?;
    println!();
    println!(
        "numbers: {} issued, {} … {}, every one of 1..{} exactly once",
        numbers.len(),
        format_number(&numbers, 0),
        format_number(&numbers, numbers.len().saturating_sub(1)),
        numbers.len()
    );

    // 2. Reports over many invoices.
    let started = Instant::now();
    let total = seed_copies(&test_db.url, args.db, args.invoices).await?;
    println!();
    println!(
        "seeded to {} invoices ({} open) in {:.1} s",
        thousands(total.0 as u64),
        thousands(total.1 as u64),
        started.elapsed().as_secs_f64()
    );
    let sys = Actor::system("bench");
    let q = ReportQuery::default();
    let by_clinic = ReportQuery { clinic_id: Some(f.clinic.id), ..ReportQuery::default() };
    println!();
    println!("| report over {} invoices | runs | p50 ms | p95 ms | p99 ms |", thousands(total.0 as u64));
    println!("|---|---|---|---|---|");
    let aged = timed(args.runs, || async {
        let r = a.svc.aged_receivables(&sys, &q).await.map_err(|e| anyhow!("aged: {e}"))?;
        Ok(serde_json::to_vec(&r)?.len())
    })
    .await?;
    print_row("aged receivables, whole practice", aged);
    let aged_clinic = timed(args.runs, || async {
        let r = a.svc.aged_receivables(&sys, &by_clinic).await.map_err(|e| anyhow!("aged: {e}"))?;
        Ok(serde_json::to_vec(&r)?.len())
    })
    .await?;
    print_row("aged receivables, one clinic", aged_clinic);
    let revenue = timed(args.runs, || async {
        let r = a.svc.revenue_report(&sys, &q).await.map_err(|e| anyhow!("revenue: {e}"))?;
        Ok(serde_json::to_vec(&r)?.len())
    })
    .await?;
    print_row("revenue by month, last 12 months", revenue);
    Ok(())
}

/// Creates a one-line draft for the fixture's patient and issues it.
async fn issue_one(svc: &praxis_services::Services, f: &Fixture) -> Result<()> {
    let sys = Actor::system("bench");
    let req = DraftRequest {
        patient_id: Some(f.patient.id),
        clinic_id: Some(f.clinic.id),
        provider_id: Some(f.provider.id),
        lines: vec![LineRequest {
            description: "Standard consultation".into(),
            unit_price_minor: Some(8_500),
            item_number: Some("23".into()),
            rebate_minor: Some(4_290),
            ..Default::default()
        }],
        ..Default::default()
    };
    let draft = svc.create_invoice(&sys, req).await.map_err(|e| anyhow!("draft: {e}"))?;
    svc.issue_invoice(&sys, draft.summary.id, IssueRequest::default()).await.map_err(|e| anyhow!("issue: {e}"))?;
    Ok(())
}

/// Every invoice number handed out, as (prefix, sequence).
async fn issued_numbers(url: &str, db: Backend) -> Result<Vec<(String, u64)>> {
    let sql = "SELECT number FROM invoices WHERE number IS NOT NULL";
    let rows: Vec<String> = match db {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(url).await?;
            sqlx::query_scalar(sql).fetch_all(&mut c).await?
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await?;
            sqlx::query_scalar(sql).fetch_all(&mut c).await?
        }
    };
    let mut numbers = rows
        .iter()
        .map(|n| {
            let (prefix, seq) = n.rsplit_once('-').ok_or_else(|| anyhow!("odd invoice number {n}"))?;
            Ok((prefix.to_string(), seq.parse::<u64>().with_context(|| format!("odd invoice number {n}"))?))
        })
        .collect::<Result<Vec<_>>>()?;
    numbers.sort();
    Ok(numbers)
}

/// The numbers are one prefix and exactly 1..=issued.
fn check_gap_free(numbers: &[(String, u64)], issued: usize) -> Result<()> {
    if numbers.len() != issued {
        bail!("{} invoices issued but {} numbers in the database", issued, numbers.len());
    }
    if let Some((first, _)) = numbers.first()
        && numbers.iter().any(|(p, _)| p != first)
    {
        bail!("invoice numbers with different prefixes in one clinic and year");
    }
    for (i, (_, seq)) in numbers.iter().enumerate() {
        if *seq != i as u64 + 1 {
            bail!("invoice numbers are not gap-free: position {} holds {}", i + 1, seq);
        }
    }
    Ok(())
}

fn format_number(numbers: &[(String, u64)], i: usize) -> String {
    numbers.get(i).map(|(p, s)| format!("{p}-{s:06}")).unwrap_or_default()
}

/// Copies the newest issued invoice and its line until `target` invoices exist; returns
/// (invoices, open invoices).
async fn seed_copies(url: &str, db: Backend, target: usize) -> Result<(i64, i64)> {
    const BATCH: usize = 10_000;
    // Status by copy number: 7 in 10 paid, then issued, partly paid, overdue.
    // Copies start as drafts (the database refuses lines on an issued invoice), get their
    // line, then take their status.
    let n = "CAST(substr(number, 7) AS INTEGER) % 10";
    let finish = format!(
        "UPDATE invoices SET status = CASE {n} WHEN 7 THEN 'issued' WHEN 8 THEN 'partially_paid' \
         WHEN 9 THEN 'overdue' ELSE 'paid' END, \
         paid_minor = CASE {n} WHEN 7 THEN 0 WHEN 8 THEN total_minor / 2 WHEN 9 THEN 0 ELSE total_minor END \
         WHERE status = 'draft' AND number LIKE 'BENCH-%'"
    );
    let (id, issue, due, line_id) = match db {
        Backend::Sqlite => (
            "randomblob(16)",
            "date(t.issue_date, '-' || (s.n % 365) || ' days')",
            "date(t.issue_date, '-' || (s.n % 365) || ' days', '+14 days')",
            "randomblob(16)",
        ),
        Backend::Postgres => {
            ("gen_random_uuid()", "t.issue_date - (s.n % 365)", "t.issue_date - (s.n % 365) + 14", "gen_random_uuid()")
        }
    };
    let copy_invoices = |from: usize, to: usize| {
        format!(
            "INSERT INTO invoices (id, clinic_id, patient_id, provider_id, number, status, source, currency, \
             issue_date, due_date, subtotal_minor, discount_minor, tax_minor, total_minor, rebate_minor, paid_minor, \
             notes, issued_at, issued_by, created_at, created_by, updated_at, version) \
             WITH RECURSIVE s(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM s WHERE n < {to}) \
             SELECT {id}, t.clinic_id, t.patient_id, t.provider_id, 'BENCH-' || CAST(s.n AS TEXT), 'draft', t.source, \
             t.currency, {issue}, {due}, t.subtotal_minor, t.discount_minor, t.tax_minor, t.total_minor, \
             t.rebate_minor, 0, t.notes, t.issued_at, t.issued_by, t.created_at, t.created_by, t.updated_at, 1 \
             FROM s CROSS JOIN (SELECT * FROM invoices WHERE number IS NOT NULL AND number NOT LIKE 'BENCH-%' \
             ORDER BY number DESC LIMIT 1) t"
        )
    };
    let copy_lines = format!(
        "INSERT INTO invoice_lines (id, invoice_id, position, kind, service_id, provider_id, description, \
         service_date, item_number, quantity, unit_price_minor, discount_kind, discount_value, tax_bp, gross_minor, \
         discount_minor, net_minor, tax_minor, total_minor, rebate_minor) \
         SELECT {line_id}, i.id, l.position, l.kind, l.service_id, l.provider_id, l.description, i.issue_date, \
         l.item_number, l.quantity, l.unit_price_minor, l.discount_kind, l.discount_value, l.tax_bp, l.gross_minor, \
         l.discount_minor, l.net_minor, l.tax_minor, l.total_minor, l.rebate_minor \
         FROM invoices i CROSS JOIN (SELECT * FROM invoice_lines WHERE invoice_id = (SELECT id FROM invoices \
         WHERE number IS NOT NULL AND number NOT LIKE 'BENCH-%' ORDER BY number DESC LIMIT 1)) l \
         WHERE i.status = 'draft' AND i.number LIKE 'BENCH-%'"
    );
    let counts = "SELECT CAST(COUNT(*) AS BIGINT), CAST(SUM(CASE WHEN status IN ('issued', 'partially_paid', \
                  'overdue') THEN 1 ELSE 0 END) AS BIGINT) FROM invoices";
    macro_rules! run {
        ($conn:expr) => {{
            let mut c = $conn;
            let have: i64 =
                sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM invoices").fetch_one(&mut c).await?;
            let mut next = 1usize;
            let mut remaining = target.saturating_sub(have as usize);
            while remaining > 0 {
                let n = remaining.min(BATCH);
                let mut tx = c.begin().await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(copy_invoices(next, next + n - 1))).execute(&mut *tx).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(copy_lines.clone())).execute(&mut *tx).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(finish.clone())).execute(&mut *tx).await?;
                tx.commit().await?;
                next += n;
                remaining -= n;
            }
            sqlx::raw_sql(sqlx::AssertSqlSafe(if db == Backend::Sqlite {
                "ANALYZE"
            } else {
                "ANALYZE invoices; ANALYZE invoice_lines"
            }))
            .execute(&mut c)
            .await?;
            let (all, open): (i64, i64) = sqlx::query_as(counts).fetch_one(&mut c).await?;
            Ok((all, open))
        }};
    }
    match db {
        Backend::Sqlite => run!(sqlx::SqliteConnection::connect(url).await?),
        Backend::Postgres => run!(sqlx::PgConnection::connect(url).await?),
    }
}

fn print_row(label: &str, s: Summary) {
    println!("| {label} | {} | {} | {} | {} |", s.n, ms(s.p50), ms(s.p95), ms(s.p99));
}

/// Runs `f` a few times untimed, then `n` times timed.
async fn timed<F, Fut>(n: usize, f: F) -> Result<Summary>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<usize>>,
{
    for _ in 0..3 {
        f().await?;
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f().await?;
        times.push(t.elapsed());
    }
    Ok(Summary::of(times))
}
