//! Bulk seeding for the scale benchmarks: batched `INSERT … SELECT` statements that copy a
//! template row many times (patients), and years of completed appointments spread over
//! every provider (the history a real practice accumulates). Service-layer seeding is
//! far too slow for a million rows; these statements write them in seconds.

use anyhow::{Context, Result};
use jiff::Timestamp;
use sqlx::Connection;

/// Which SQL dialect to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// SQLite: instants are integer microseconds, ids 16-byte blobs.
    Sqlite,
    /// PostgreSQL: `timestamptz` and `uuid`.
    Postgres,
}

/// Rows per `INSERT … SELECT`.
const BATCH: usize = 100_000;

/// The statements that copy the one row of `table` matching `template` into rows
/// `first..=last`, overriding `overrides` (column, SQL expression over `t.`, the copy
/// number `s.n` and whatever `join` brings in); `names` are the table's columns.
#[allow(clippy::too_many_arguments)]
pub fn copy_sql(
    db: Backend,
    table: &str,
    names: &[String],
    template: &str,
    overrides: &[(&str, String)],
    first: usize,
    last: usize,
    join: &str,
) -> Vec<String> {
    let select: Vec<String> = names
        .iter()
        .map(|c| overrides.iter().find(|(o, _)| o == c).map(|(_, e)| e.clone()).unwrap_or_else(|| format!("t.{c}")))
        .collect();
    let mut out = Vec::new();
    let mut from = first;
    while from <= last {
        let to = (from + BATCH - 1).min(last);
        let series = match db {
            Backend::Sqlite => format!(
                "WITH RECURSIVE s(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM s WHERE n < {to}) SELECT {} FROM s",
                select.join(", ")
            ),
            Backend::Postgres => format!("SELECT {} FROM generate_series({from}, {to}) AS s(n)", select.join(", ")),
        };
        out.push(format!(
            "INSERT INTO {table} ({}) {series} {join} CROSS JOIN (SELECT * FROM {table} WHERE {template} LIMIT 1) t",
            names.join(", ")
        ));
        from = to + 1;
    }
    out
}

/// The query listing `table`'s columns in order.
pub fn columns_sql(db: Backend, table: &str) -> String {
    match db {
        Backend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}')"),
        Backend::Postgres => format!(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = '{table}' ORDER BY ordinal_position"
        ),
    }
}

/// A new random id in SQL.
pub fn new_id(db: Backend) -> &'static str {
    match db {
        Backend::Sqlite => "randomblob(16)",
        Backend::Postgres => "gen_random_uuid()",
    }
}

/// Copies of the first patient matching `template` until there are `n` more, numbered
/// "Bench1", "Bench2", … with record numbers B1, B2, … and no login or email.
pub fn patient_copies(db: Backend, names: &[String], template: &str, n: usize) -> Vec<String> {
    let overrides = vec![
        ("id", new_id(db).to_string()),
        ("user_id", "NULL".into()),
        ("given_name", "'Bench' || CAST(s.n AS TEXT)".into()),
        ("mrn", "'B' || CAST(s.n AS TEXT)".into()),
        ("mrn_seq", "1000000 + s.n".into()),
        ("email", "NULL".into()),
    ];
    if n == 0 {
        return Vec::new();
    }
    copy_sql(db, "patients", names, template, &overrides, 1, n, "")
}

/// Completed appointments shaped like a busy practice's past: `n` of them, every provider
/// seeing 16 patients a working day (25 minutes each, every 30 minutes from `first_day_start`
/// on, Monday to Friday, weeks after weeks), each with one of the patients as participant.
/// `first_day_start` must be a Monday morning; the rows run for `n / (providers × 80)`
/// weeks from it. Numbers are `H-<n>`. Needs one connection throughout (temporary tables).
pub fn history(db: Backend, names: &[String], n: usize, first_day_start: Timestamp) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    // k: the provider's own running number; 16 a day, 80 a week.
    let k = "(s.n / (SELECT COUNT(*) FROM bench_providers))";
    let (start, plus): (String, fn(&str, i64) -> String) = match db {
        Backend::Sqlite => (
            format!(
                "({} + ({k} / 80) * 604800000000 + (({k} / 16) % 5) * 86400000000 + ({k} % 16) * 1800000000)",
                first_day_start.as_microsecond()
            ),
            |e: &str, mins: i64| format!("({e} + {})", mins * 60_000_000),
        ),
        Backend::Postgres => (
            format!(
                "(TIMESTAMPTZ '{first_day_start}' + (({k} / 80) * 7 + ({k} / 16) % 5) * INTERVAL '1 day' \
                 + ({k} % 16) * INTERVAL '30 minutes')"
            ),
            |e: &str, mins: i64| format!("({e} + INTERVAL '{mins} minutes')"),
        ),
    };
    let overrides = vec![
        ("id", new_id(db).to_string()),
        ("number", "'H-' || CAST(s.n AS TEXT)".into()),
        ("clinic_id", "bp.clinic_id".into()),
        ("provider_id", "bp.id".into()),
        ("starts_at", start.clone()),
        ("ends_at", plus(&start, 25)),
        ("occupied_from", start.clone()),
        ("occupied_until", plus(&start, 30)),
        ("status", "'completed'".into()),
        ("held_until", "NULL".into()),
        ("series_id", "NULL".into()),
        ("series_index", "NULL".into()),
        ("video_url", "NULL".into()),
        ("note", "''".into()),
        ("cancelled_at", "NULL".into()),
        ("cancelled_by", "NULL".into()),
        ("cancel_reason", "NULL".into()),
        ("created_at", start.clone()),
        ("updated_at", start),
        ("version", "1".into()),
    ];
    let mut out = vec![
        "CREATE TEMP TABLE bench_providers AS SELECT ROW_NUMBER() OVER (ORDER BY p.id) - 1 AS rn, p.id AS id, \
         (SELECT pc.clinic_id FROM provider_clinics pc WHERE pc.provider_id = p.id ORDER BY pc.clinic_id LIMIT 1) \
         AS clinic_id FROM providers p"
            .to_string(),
        "CREATE TEMP TABLE bench_patients AS SELECT ROW_NUMBER() OVER (ORDER BY id) - 1 AS rn, id FROM patients"
            .to_string(),
    ];
    out.extend(copy_sql(
        db,
        "appointments",
        names,
        "status = 'confirmed'",
        &overrides,
        0,
        n - 1,
        "JOIN bench_providers bp ON bp.rn = s.n % (SELECT COUNT(*) FROM bench_providers)",
    ));
    out.push(
        "INSERT INTO appointment_participants (appointment_id, patient_id, status, added_at) \
         SELECT a.id, bq.id, 'booked', a.created_at FROM appointments a JOIN bench_patients bq \
         ON bq.rn = CAST(substr(a.number, 3) AS BIGINT) % (SELECT COUNT(*) FROM bench_patients) \
         WHERE a.number LIKE 'H-%'"
            .to_string(),
    );
    out
}

/// Runs `build(columns of each table)` on one connection, then `ANALYZE`.
pub async fn run(url: &str, db: Backend, tables: &[&str], build: impl Fn(&[Vec<String>]) -> Vec<String>) -> Result<()> {
    macro_rules! go {
        ($conn:expr) => {{
            let mut c = $conn;
            let mut columns = Vec::new();
            for table in tables {
                let cols: Vec<(String,)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(columns_sql(db, table))).fetch_all(&mut c).await?;
                columns.push(cols.into_iter().map(|c| c.0).collect::<Vec<_>>());
            }
            for stmt in build(&columns) {
                sqlx::raw_sql(sqlx::AssertSqlSafe(stmt.clone()))
                    .execute(&mut c)
                    .await
                    .with_context(|| format!("bulk seeding: {}", &stmt[..stmt.len().min(200)]))?;
            }
            sqlx::raw_sql("ANALYZE").execute(&mut c).await?;
            Ok(())
        }};
    }
    match db {
        Backend::Sqlite => go!(sqlx::SqliteConnection::connect(url).await?),
        Backend::Postgres => go!(sqlx::PgConnection::connect(url).await?),
    }
}
