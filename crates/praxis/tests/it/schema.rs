//! Both databases get the same tables and columns from their migrations.

use crate::*;
use praxis_store::sql;
use std::collections::BTreeMap;

async fn sqlite_columns(db: &praxis_store::Db) -> BTreeMap<String, Vec<String>> {
    let rows: Vec<(String, String)> = db
        .fetch_all(sql("SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
             AND m.name NOT LIKE '%_fts%' ORDER BY m.name, p.name"))
        .await
        .unwrap();
    group(rows)
}

async fn postgres_columns(db: &praxis_store::Db) -> BTreeMap<String, Vec<String>> {
    let rows: Vec<(String, String)> = db
        .fetch_all(sql("SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%' ORDER BY table_name, column_name"))
        .await
        .unwrap();
    group(rows)
}

fn group(rows: Vec<(String, String)>) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (t, c) in rows {
        m.entry(t).or_default().push(c);
    }
    m
}

/// The PostgreSQL server to compare against: the suite's, or the local default.
fn postgres_admin_url() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|s| !s.is_empty()).or_else(|| {
        std::net::TcpStream::connect_timeout(&"127.0.0.1:5432".parse().unwrap(), std::time::Duration::from_millis(300))
            .ok()
            .map(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
    })
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_have_the_same_tables_and_columns() {
    let Some(admin) = postgres_admin_url() else {
        eprintln!("SKIPPED: no PostgreSQL on 127.0.0.1:5432 and {PG_ENV} unset (.ci/run always provides one)");
        return;
    };
    let lite = TestDb::sqlite();
    let pg = TestDb::postgres(&admin).await;
    let lite_cols = sqlite_columns(&lite.open().await).await;
    let pg_cols = postgres_columns(&pg.open().await).await;
    assert!(lite_cols.contains_key("users") && lite_cols.contains_key("audit_log"));
    assert_eq!(lite_cols, pg_cols);
}

async fn sqlite_types(db: &praxis_store::Db) -> BTreeMap<(String, String), String> {
    let rows: Vec<(String, String, String)> = db
        .fetch_all(sql("SELECT m.name, p.name, upper(p.type) FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
             AND m.name NOT LIKE '%_fts%'"))
        .await
        .unwrap();
    rows.into_iter().map(|(t, c, ty)| ((t, c), ty)).collect()
}

async fn postgres_types(db: &praxis_store::Db) -> BTreeMap<(String, String), String> {
    let rows: Vec<(String, String, String)> = db
        .fetch_all(sql("SELECT table_name::TEXT, column_name::TEXT, data_type::TEXT FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'"))
        .await
        .unwrap();
    rows.into_iter().map(|(t, c, ty)| ((t, c), ty)).collect()
}

/// Columns that hold instants: TIMESTAMPTZ on PostgreSQL, INTEGER microseconds on SQLite.
fn is_instant_column(name: &str) -> bool {
    name == "at"
        || name.ends_with("_at")
        || [
            "first_start",
            "occupied_from",
            "occupied_until",
            "held_until",
            "locked_until",
            "from_starts_at",
            "to_starts_at",
        ]
        .contains(&name)
}

#[tokio::test]
async fn column_types_correspond_on_both_backends() {
    let Some(admin) = postgres_admin_url() else {
        eprintln!("SKIPPED: no PostgreSQL on 127.0.0.1:5432 and {PG_ENV} unset (.ci/run always provides one)");
        return;
    };
    let lite = TestDb::sqlite();
    let pg = TestDb::postgres(&admin).await;
    let lite_types = sqlite_types(&lite.open().await).await;
    let pg_types = postgres_types(&pg.open().await).await;
    let mut wrong = Vec::new();
    for ((table, column), lt) in &lite_types {
        let Some(pt) = pg_types.get(&(table.clone(), column.clone())) else { continue };
        let expected: &[&str] = if is_instant_column(column) {
            &["timestamp with time zone"]
        } else {
            match lt.as_str() {
                "BLOB" => &["uuid", "bytea"],
                "BOOLEAN" => &["boolean"],
                "INTEGER" => &["bigint"],
                "TEXT" => &["text", "date"],
                other => panic!("unexpected SQLite type {other} for {table}.{column}"),
            }
        };
        if is_instant_column(column) && lt != "INTEGER" {
            wrong.push(format!("{table}.{column}: SQLite {lt}, expected INTEGER microseconds"));
        }
        if !expected.contains(&pt.as_str()) {
            wrong.push(format!("{table}.{column}: SQLite {lt} but PostgreSQL {pt}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let db = TestDb::new().await;
    let a = db.open().await;
    a.migrate().await.unwrap();
    a.migrate().await.unwrap();
}
