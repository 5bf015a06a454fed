//! Consistent copies of the live database while it keeps serving, and the checks a
//! restored copy must pass.
//!
//! - SQLite: `VACUUM INTO` on a connection of its own. It reads one snapshot (WAL mode:
//!   writers go on meanwhile) and writes a compact, self-contained database file.
//! - PostgreSQL: `pg_dump --format=custom` under a snapshot exported from a
//!   `REPEATABLE READ` transaction, so the row counts recorded in the manifest are
//!   counted in exactly the data the dump holds. Restores go through `pg_restore`.
//!
//! The PostgreSQL client programs must be on the `PATH` (or in `PRAXIS_PG_BIN_DIR`) and
//! be at least the server's major version.

use crate::db::{Backend, Db, dynamic_sql, sql};
use crate::error::{StoreError, StoreResult};
use sqlx::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Row counts per table, by table name.
pub type RowCounts = BTreeMap<String, i64>;

const TABLES_SQLITE: &str =
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
const TABLES_POSTGRES: &str =
    "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename";

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every table of the database (the migrations' bookkeeping included), by name.
pub async fn tables(db: &Db) -> StoreResult<Vec<String>> {
    let text = match db.backend() {
        Backend::Sqlite => TABLES_SQLITE,
        Backend::Postgres => TABLES_POSTGRES,
    };
    let rows: Vec<(String,)> = db.fetch_all(sql(text)).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Rows in every table.
pub async fn row_counts(db: &Db) -> StoreResult<RowCounts> {
    let mut out = RowCounts::new();
    for t in tables(db).await? {
        let (n,): (i64,) = db.fetch_one(dynamic_sql(format!("SELECT COUNT(*) FROM {}", quoted(&t)))).await?;
        out.insert(t, n);
    }
    Ok(out)
}

/// The newest migration applied to the database (0 for an empty one).
pub async fn schema_version(db: &Db) -> StoreResult<i64> {
    let has: Vec<(String,)> = db
        .fetch_all(sql(match db.backend() {
            Backend::Sqlite => "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = '_sqlx_migrations'",
            Backend::Postgres => {
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
             AND tablename = '_sqlx_migrations'"
            }
        }))
        .await?;
    if has.is_empty() {
        return Ok(0);
    }
    let (v,): (i64,) = db
        .fetch_one(sql("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM _sqlx_migrations WHERE success"))
        .await?;
    Ok(v)
}

/// True when the database holds no tables at all (a safe restore target).
pub async fn is_empty(db: &Db) -> StoreResult<bool> {
    Ok(tables(db).await?.is_empty())
}

/// Removes every table of a PostgreSQL database (its current schema is dropped and made
/// again), so a restore told `--force` starts from empty. Not for SQLite (a restore
/// there replaces the file).
pub async fn wipe(db: &Db) -> StoreResult<()> {
    if db.backend() != Backend::Postgres {
        return Err(StoreError::External { tool: "postgres", detail: "not a PostgreSQL database".into() });
    }
    let (schema,): (String,) = db.fetch_one(sql("SELECT current_schema()::text")).await?;
    db.execute_unaudited(dynamic_sql(format!("DROP SCHEMA {} CASCADE", quoted(&schema)))).await?;
    db.execute_unaudited(dynamic_sql(format!("CREATE SCHEMA {}", quoted(&schema)))).await?;
    Ok(())
}

/// The engine's own consistency check: SQLite's `PRAGMA integrity_check` and
/// `foreign_key_check`; on PostgreSQL, that every constraint is validated and, where the
/// `amcheck` extension can be used (`scratch`: a throw-away copy it may be installed
/// into), every B-tree index checks out. `Err` says what is wrong.
pub async fn integrity(db: &Db, scratch: bool) -> StoreResult<Result<(), String>> {
    match db.backend() {
        Backend::Sqlite => {
            let rows: Vec<(String,)> = db.fetch_all(sql("PRAGMA integrity_check")).await?;
            let problems: Vec<String> = rows.into_iter().map(|r| r.0).filter(|r| r != "ok").collect();
            if !problems.is_empty() {
                return Ok(Err(format!("integrity check: {}", problems.join("; "))));
            }
            let fk: Vec<(String,)> = db.fetch_all(sql("SELECT \"table\" FROM pragma_foreign_key_check")).await?;
            if let Some((t,)) = fk.first() {
                return Ok(Err(format!("{} row(s) point at rows that do not exist (first in {t})", fk.len())));
            }
            Ok(Ok(()))
        }
        Backend::Postgres => {
            let (invalid,): (i64,) =
                db.fetch_one(sql("SELECT COUNT(*) FROM pg_constraint WHERE NOT convalidated")).await?;
            if invalid > 0 {
                return Ok(Err(format!("{invalid} constraint(s) are not valid")));
            }
            // amcheck is installed only into scratch copies, never into a clinic's database.
            if scratch && db.execute_unaudited(sql("CREATE EXTENSION IF NOT EXISTS amcheck")).await.is_ok() {
                let checked: Result<Vec<(i64,)>, _> = db
                    .fetch_all(sql("SELECT CAST(COUNT(bt_index_check(i.indexrelid, true)) AS BIGINT) FROM pg_index i \
                         JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam \
                         JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE a.amname = 'btree' AND n.nspname = current_schema() AND i.indisvalid"))
                    .await;
                if let Err(e) = checked {
                    return Ok(Err(format!("an index does not check out: {e}")));
                }
            }
            Ok(Ok(()))
        }
    }
}

/// Writes a consistent copy of the live SQLite database to `dest` (which must not
/// exist) while the server keeps serving.
pub async fn sqlite_copy(db: &Db, dest: &Path) -> StoreResult<()> {
    let path = db
        .sqlite_path()
        .ok_or_else(|| StoreError::External { tool: "sqlite", detail: "not a SQLite database".into() })?;
    let opts =
        sqlx::sqlite::SqliteConnectOptions::new().filename(path).busy_timeout(std::time::Duration::from_secs(30));
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&opts).await?;
    let target = dest.to_str().ok_or_else(|| StoreError::External {
        tool: "sqlite",
        detail: format!("the backup path {} is not valid text", dest.display()),
    })?;
    let res = sqlx::query("VACUUM INTO $1").bind(target).execute(&mut conn).await;
    let _ = conn.close().await;
    res?;
    Ok(())
}

/// Where a PostgreSQL client program lives.
fn pg_tool(name: &str) -> PathBuf {
    match std::env::var_os("PRAXIS_PG_BIN_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join(name),
        _ => PathBuf::from(name),
    }
}

/// A connection URL without its password, and the password (passed in the environment,
/// never on a command line other processes can read).
fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://") else { return (url.to_string(), None) };
    let rest = &url[scheme_end + 3..];
    let auth_end = rest.find('@');
    let path_start = rest.find('/').unwrap_or(rest.len());
    match auth_end {
        Some(at) if at < path_start => {
            let auth = &rest[..at];
            match auth.split_once(':') {
                Some((user, pass)) => {
                    (format!("{}{user}@{}", &url[..scheme_end + 3], &rest[at + 1..]), Some(percent_decode(pass)))
                }
                None => (url.to_string(), None),
            }
        }
        _ => (url.to_string(), None),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = if b[i] == b'%' && i + 2 < b.len() {
            std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
        } else {
            None
        };
        match hex {
            Some(v) => {
                out.push(v);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The same server URL naming another database.
pub fn with_database(url: &str, database: &str) -> String {
    let scheme_end = url.find("://").map(|i| i + 3).unwrap_or(0);
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let host_part = &base[scheme_end..];
    let host_end = host_part.find('/').map(|i| scheme_end + i).unwrap_or(base.len());
    format!("{}/{database}{query}", &base[..host_end])
}

async fn run_tool(name: &'static str, url: &str, args: &[String]) -> StoreResult<()> {
    let (url, password) = split_password(url);
    let mut cmd = tokio::process::Command::new(pg_tool(name));
    cmd.args(args).arg(format!("--dbname={url}")).env("PGAPPNAME", "praxis-backup").kill_on_drop(true);
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    let out = cmd.output().await.map_err(|e| StoreError::External {
        tool: name,
        detail: if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "{name} was not found: install the PostgreSQL client programs (Debian: postgresql-client) \
                 of the server's version, or set PRAXIS_PG_BIN_DIR"
            )
        } else {
            format!("could not run {name}: {e}")
        },
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.lines().filter(|l| !l.trim().is_empty()).take(4).collect::<Vec<_>>().join(" / ");
        return Err(StoreError::External { tool: name, detail: format!("{name} failed: {err}") });
    }
    Ok(())
}

/// Dumps the live PostgreSQL database to `dest` (custom format, uncompressed: the
/// caller compresses) and counts every table's rows in the very snapshot the dump reads.
pub async fn pg_dump(db: &Db, dest: &Path) -> StoreResult<RowCounts> {
    let (pool, url) = db
        .postgres()
        .ok_or_else(|| StoreError::External { tool: "pg_dump", detail: "not a PostgreSQL database".into() })?;
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    let (snapshot,): (String,) = sqlx::query_as("SELECT pg_export_snapshot()").fetch_one(&mut *tx).await?;
    let names: Vec<(String,)> = sqlx::query_as(TABLES_POSTGRES).fetch_all(&mut *tx).await?;
    let mut counts = RowCounts::new();
    for (t,) in names {
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quoted(&t))))
            .fetch_one(&mut *tx)
            .await?;
        counts.insert(t, n);
    }
    let args = vec![
        "--format=custom".to_string(),
        "--compress=0".into(),
        "--no-owner".into(),
        "--no-privileges".into(),
        format!("--snapshot={snapshot}"),
        format!("--file={}", dest.display()),
    ];
    let res = run_tool("pg_dump", url, &args).await;
    tx.rollback().await?;
    res?;
    Ok(counts)
}

/// Restores a custom-format dump into the (empty) database at `url`, in one transaction.
pub async fn pg_restore(url: &str, src: &Path) -> StoreResult<()> {
    let args = vec![
        "--exit-on-error".to_string(),
        "--single-transaction".into(),
        "--no-owner".into(),
        "--no-privileges".into(),
        src.display().to_string(),
    ];
    run_tool("pg_restore", url, &args).await
}

/// Creates an empty database `name` on the same server and returns its URL.
pub async fn create_database(db: &Db, name: &str) -> StoreResult<String> {
    let (_, url) = db
        .postgres()
        .ok_or_else(|| StoreError::External { tool: "postgres", detail: "not a PostgreSQL database".into() })?;
    db.execute_unaudited(dynamic_sql(format!("CREATE DATABASE {}", quoted(name)))).await?;
    Ok(with_database(url, name))
}

/// Drops database `name` on the same server, closing its connections first.
pub async fn drop_database(db: &Db, name: &str) -> StoreResult<()> {
    db.execute_unaudited(dynamic_sql(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quoted(name)))).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_the_url_and_databases_can_be_renamed() {
        assert_eq!(
            split_password("postgres://praxis:s%40cret@db.example:5433/clinic?sslmode=require"),
            ("postgres://praxis@db.example:5433/clinic?sslmode=require".to_string(), Some("s@cret".to_string()))
        );
        assert_eq!(
            split_password("postgres://postgres@127.0.0.1/test"),
            ("postgres://postgres@127.0.0.1/test".into(), None)
        );
        assert_eq!(
            with_database("postgres://u:p@h:5432/test?sslmode=disable", "scratch"),
            "postgres://u:p@h:5432/scratch?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
