//! Creating and dropping the benchmark's PostgreSQL database through the server's
//! `postgres` maintenance database.

use anyhow::{Context, Result, bail};
use sqlx::{Connection, PgConnection};

/// `postgres://…/name?opts` → (`postgres://…/postgres?opts`, `name`). The name must be a
/// plain identifier, since it is spliced into `CREATE DATABASE`.
pub fn split(url: &str) -> Result<(String, String)> {
    let (base, rest) = url.rsplit_once('/').context("the PostgreSQL URL has no database name")?;
    let (name, query) = match rest.split_once('?') {
        Some((n, q)) => (n, format!("?{q}")),
        None => (rest, String::new()),
    };
    if name.is_empty()
        || name == "postgres"
        || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        || base.ends_with('/')
    {
        bail!("use a database name of lower-case letters, digits and _ (not `postgres`): got {name:?}");
    }
    Ok((format!("{base}/postgres{query}"), name.to_string()))
}

async fn admin(url: &str) -> Result<(PgConnection, String)> {
    let (admin_url, name) = split(url)?;
    let conn = PgConnection::connect(&admin_url).await.context("connect to the `postgres` database")?;
    Ok((conn, name))
}

/// Drops (if present) and creates the database named in `url`.
pub async fn recreate(url: &str) -> Result<()> {
    let (mut conn, name) = admin(url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&mut conn)
        .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Drops the database named in `url`.
pub async fn drop(url: &str) -> Result<()> {
    let (mut conn, name) = admin(url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// `server_version` and the durability settings that decide the commit rate.
pub async fn describe(url: &str) -> Result<String> {
    let mut conn = PgConnection::connect(url).await?;
    let mut parts = Vec::new();
    for setting in ["server_version", "synchronous_commit", "fsync", "wal_sync_method"] {
        let (v,): (String,) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SHOW {setting}"))).fetch_one(&mut conn).await?;
        parts.push(if setting == "server_version" { format!("PostgreSQL {v}") } else { format!("{setting}={v}") });
    }
    conn.close().await?;
    Ok(parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let (a, n) = split("postgres://postgres@127.0.0.1:5432/praxis_bench").unwrap();
        assert_eq!((a.as_str(), n.as_str()), ("postgres://postgres@127.0.0.1:5432/postgres", "praxis_bench"));
        let (a, n) = split("postgres://u:p@h/x1?sslmode=disable").unwrap();
        assert_eq!((a.as_str(), n.as_str()), ("postgres://u:p@h/postgres?sslmode=disable", "x1"));
        assert!(split("postgres://h/postgres").is_err());
        assert!(split("postgres://h/bad;name").is_err());
        assert!(split("postgres://h/").is_err());
    }
}
