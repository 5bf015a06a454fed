//! The raw commit rate of the database: one-row INSERT transactions in a tight loop on
//! a scratch table in the same database (file), with the same durability settings as
//! the server — the ceiling any booking rate is measured against.

use crate::stats::Summary;
use anyhow::{Context, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, PgConnection, SqliteConnection};
use std::path::Path;
use std::time::{Duration, Instant};

/// What one raw-commit measurement gave.
#[derive(Clone, Debug)]
pub struct RawRate {
    /// Connections committing concurrently.
    pub connections: usize,
    /// Transactions committed.
    pub commits: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Latency of each BEGIN…INSERT…COMMIT.
    pub latency: Summary,
    /// Share of the machine other processes used meanwhile (filled in by the caller).
    pub other_load: Option<f64>,
}

impl RawRate {
    /// Commits per second.
    pub fn per_second(&self) -> f64 {
        self.commits as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// SQLite: one connection to `path` with the server's settings (WAL, `synchronous=FULL`,
/// foreign keys, the same busy timeout and cache), `BEGIN IMMEDIATE; INSERT; COMMIT` for
/// `seconds`.
pub async fn sqlite(path: &Path, seconds: f64) -> Result<RawRate> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("temp_store", "memory")
        .pragma("cache_size", "-16000")
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut conn = SqliteConnection::connect_with(&opts).await.context("open SQLite for the raw commit loop")?;
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(&mut conn).await?;
    let (sync,): (i64,) = sqlx::query_as("PRAGMA synchronous").fetch_one(&mut conn).await?;
    anyhow::ensure!(mode == "wal" && sync == 2, "SQLite raw loop runs with journal_mode={mode}, synchronous={sync}");
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_raw_commit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, payload TEXT NOT NULL)",
    )
    .execute(&mut conn)
    .await?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut lat = Vec::new();
    let mut n: i64 = 0;
    while Instant::now() < deadline {
        let t0 = Instant::now();
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("INSERT INTO bench_raw_commit (at, payload) VALUES ($1, $2)")
            .bind(n)
            .bind("one row of about forty bytes of payload")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        lat.push(t0.elapsed());
        n += 1;
    }
    let elapsed = started.elapsed();
    conn.close().await?;
    Ok(RawRate { connections: 1, commits: n as u64, elapsed, latency: Summary::of(lat), other_load: None })
}

/// PostgreSQL: `connections` connections to `url`, each running `BEGIN; INSERT; COMMIT`
/// for `seconds` (server defaults: `synchronous_commit=on`, `fsync=on`).
pub async fn postgres(url: &str, seconds: f64, connections: usize) -> Result<RawRate> {
    let mut setup = PgConnection::connect(url).await.context("open PostgreSQL for the raw commit loop")?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_raw_commit (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, payload TEXT NOT NULL)",
    )
    .execute(&mut setup)
    .await?;
    setup.close().await?;
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections.max(1) {
        conns.push(PgConnection::connect(url).await?);
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(conns.len()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for mut conn in conns {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut lat = Vec::new();
            let mut n: i64 = 0;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let mut tx = conn.begin().await?;
                sqlx::query("INSERT INTO bench_raw_commit (at, payload) VALUES ($1, $2)")
                    .bind(n)
                    .bind("one row of about forty bytes of payload")
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                lat.push(t0.elapsed());
                n += 1;
            }
            conn.close().await?;
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.context("raw commit task")??);
    }
    let elapsed = started.elapsed();
    Ok(RawRate {
        connections: connections.max(1),
        commits: all.len() as u64,
        elapsed,
        latency: Summary::of(all),
        other_load: None,
    })
}

/// The SQLite library version and the settings a connection with the server's options
/// ends up with.
pub async fn sqlite_describe(path: &Path) -> Result<String> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(Duration::from_secs(10))
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut conn = SqliteConnection::connect_with(&opts).await?;
    let (version,): (String,) = sqlx::query_as("SELECT sqlite_version()").fetch_one(&mut conn).await?;
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(&mut conn).await?;
    let (sync,): (i64,) = sqlx::query_as("PRAGMA synchronous").fetch_one(&mut conn).await?;
    conn.close().await?;
    let sync = match sync {
        0 => "OFF",
        1 => "NORMAL",
        2 => "FULL",
        _ => "EXTRA",
    };
    Ok(format!("SQLite {version} (bundled), journal_mode={mode}, synchronous={sync}"))
}
