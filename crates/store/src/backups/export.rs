//! Every table as JSON Lines, the same on both engines, and back.
//!
//! One JSON object per row, keys sorted, rows in primary-key order, and every value in
//! one engine-neutral form: ids and bytes as lowercase hex, instants as integer
//! microseconds since the Unix epoch (UTC), dates as `YYYY-MM-DD`, booleans, integers
//! and text as themselves. So an export of a SQLite database and of the PostgreSQL
//! database it was imported into are byte for byte the same.
//!
//! Reading happens in one snapshot (a read transaction on SQLite, `REPEATABLE READ` on
//! PostgreSQL). Loading happens in one transaction on an empty, freshly migrated
//! database, with the guard triggers (issued invoices are final, the audit log is
//! append-only) set aside while rows that already passed them are put back.

use crate::db::{Arg, Backend, Db};
use crate::error::{StoreError, StoreResult};
use futures::TryStreamExt;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sqlx::{Acquire, Row};
use std::collections::{BTreeMap, BTreeSet};

/// How a column's values are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Text.
    Text,
    /// A 64-bit integer.
    Integer,
    /// True or false.
    Boolean,
    /// An id (UUID) as 32 hex digits.
    Uuid,
    /// Bytes as hex.
    Bytes,
    /// An instant as microseconds since the Unix epoch.
    Instant,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
}

/// A table's columns and primary key.
#[derive(Clone, Debug)]
pub struct TableShape {
    /// The table.
    pub name: String,
    /// Columns by name, with how each is written.
    pub columns: BTreeMap<String, Kind>,
    /// Primary-key columns in order (all columns when there is none).
    pub key: Vec<String>,
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The tables an export holds: every table of the schema except the migrations'
/// bookkeeping and the search index (rebuilt from the patients on start).
pub async fn exported_tables(db: &Db) -> StoreResult<Vec<TableShape>> {
    let names = super::snapshot::tables(db).await?;
    let mut out = Vec::new();
    for name in names {
        if name.starts_with("_sqlx") || name.contains("_fts") {
            continue;
        }
        out.push(shape(db, &name).await?);
    }
    Ok(out)
}

async fn shape(db: &Db, table: &str) -> StoreResult<TableShape> {
    let mut columns = BTreeMap::new();
    let mut key: Vec<(i64, String)> = Vec::new();
    match db.backend() {
        Backend::Sqlite => {
            let rows: Vec<(String, String, i64)> =
                db.fetch_all(crate::db::sql("SELECT name, type, pk FROM pragma_table_info($1)").bind(table)).await?;
            for (name, decl, pk) in rows {
                let kind = match decl.to_ascii_uppercase().as_str() {
                    "BLOB" => Kind::Bytes,
                    "INTEGER" => Kind::Integer,
                    "BOOLEAN" => Kind::Boolean,
                    _ => Kind::Text,
                };
                if pk > 0 {
                    key.push((pk, name.clone()));
                }
                columns.insert(name, kind);
            }
        }
        Backend::Postgres => {
            let rows: Vec<(String, String)> = db
                .fetch_all(
                    crate::db::sql(
                        "SELECT column_name::text, data_type::text FROM information_schema.columns \
                         WHERE table_schema = current_schema() AND table_name = $1",
                    )
                    .bind(table),
                )
                .await?;
            for (name, ty) in rows {
                let kind = match ty.as_str() {
                    "uuid" => Kind::Uuid,
                    "bytea" => Kind::Bytes,
                    "bigint" | "integer" | "smallint" => Kind::Integer,
                    "boolean" => Kind::Boolean,
                    "timestamp with time zone" => Kind::Instant,
                    "date" => Kind::Date,
                    _ => Kind::Text,
                };
                columns.insert(name, kind);
            }
            let pk: Vec<(String, i64)> = db
                .fetch_all(
                    crate::db::sql(
                        "SELECT a.attname::text, CAST(array_position(i.indkey, a.attnum) AS BIGINT) \
                         FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                         WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass \
                         AND i.indisprimary",
                    )
                    .bind(table),
                )
                .await?;
            key = pk.into_iter().map(|(n, p)| (p, n)).collect();
        }
    }
    key.sort();
    let mut key: Vec<String> = key.into_iter().map(|k| k.1).collect();
    if key.is_empty() {
        key = columns.keys().cloned().collect();
    }
    Ok(TableShape { name: table.to_string(), columns, key })
}

/// The SELECT that gives each row of `t` as one canonical JSON object.
fn select_json(backend: Backend, t: &TableShape) -> String {
    let order: Vec<String> = t
        .key
        .iter()
        .map(|k| match (backend, t.columns.get(k)) {
            (Backend::Postgres, Some(Kind::Text)) => format!("{} COLLATE \"C\"", quoted(k)),
            _ => quoted(k),
        })
        .collect();
    match backend {
        Backend::Sqlite => {
            let pairs: Vec<String> = t
                .columns
                .iter()
                .map(|(name, kind)| {
                    let c = quoted(name);
                    let v = match kind {
                        Kind::Bytes | Kind::Uuid => format!("CASE WHEN {c} IS NULL THEN NULL ELSE lower(hex({c})) END"),
                        Kind::Boolean => {
                            format!("json(CASE WHEN {c} IS NULL THEN 'null' WHEN {c} THEN 'true' ELSE 'false' END)")
                        }
                        _ => c,
                    };
                    format!("'{}', {v}", name.replace('\'', "''"))
                })
                .collect();
            format!("SELECT json_object({}) FROM {} ORDER BY {}", pairs.join(", "), quoted(&t.name), order.join(", "))
        }
        Backend::Postgres => {
            let cols: Vec<String> = t
                .columns
                .iter()
                .map(|(name, kind)| {
                    let c = quoted(name);
                    let v = match kind {
                        Kind::Uuid => format!("replace({c}::text, '-', '')"),
                        Kind::Bytes => format!("encode({c}, 'hex')"),
                        Kind::Instant => format!("CAST(EXTRACT(EPOCH FROM {c}) * 1000000 AS BIGINT)"),
                        Kind::Date => format!("to_char({c}, 'YYYY-MM-DD')"),
                        _ => c.clone(),
                    };
                    format!("{v} AS {c}")
                })
                .collect();
            format!(
                "SELECT row_to_json(r)::text FROM (SELECT {} FROM {} ORDER BY {}) r",
                cols.join(", "),
                quoted(&t.name),
                order.join(", ")
            )
        }
    }
}

/// Reads every row of `tables` in one snapshot, handing each table's rows (canonical
/// JSON text, one per row) to `sink` as they come.
pub async fn read_all(
    db: &Db,
    tables: &[TableShape],
    mut sink: impl FnMut(&TableShape, String) -> std::io::Result<()>,
) -> StoreResult<()> {
    let io = |e: std::io::Error| StoreError::External { tool: "export", detail: e.to_string() };
    match db.pools_for_export() {
        ExportPools::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            let mut tx = conn.begin().await?;
            for t in tables {
                let text = select_json(Backend::Sqlite, t);
                let mut rows = sqlx::query(sqlx::AssertSqlSafe(text)).fetch(&mut *tx);
                while let Some(row) = rows.try_next().await? {
                    sink(t, canonical(row.try_get::<String, _>(0)?)?).map_err(io)?;
                }
            }
            tx.rollback().await?;
        }
        ExportPools::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
            for t in tables {
                let text = select_json(Backend::Postgres, t);
                let mut rows = sqlx::query(sqlx::AssertSqlSafe(text)).fetch(&mut *tx);
                while let Some(row) = rows.try_next().await? {
                    sink(t, canonical(row.try_get::<String, _>(0)?)?).map_err(io)?;
                }
            }
            tx.rollback().await?;
        }
    }
    Ok(())
}

/// One JSON object with sorted keys and no insignificant whitespace.
fn canonical(text: String) -> StoreResult<String> {
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt { what: "exported row", detail: e.to_string() })?;
    serde_json::to_string(&v).map_err(|e| StoreError::Corrupt { what: "exported row", detail: e.to_string() })
}

/// Which pool an export reads through.
pub(crate) enum ExportPools<'a> {
    Sqlite(&'a sqlx::SqlitePool),
    Postgres(&'a sqlx::PgPool),
}

/// A value read back from an export, bound as the target column needs it.
fn arg(kind: Kind, v: &serde_json::Value, backend: Backend) -> Result<Arg, String> {
    use serde_json::Value as V;
    let hex = |s: &str| hex::decode(s).map_err(|_| format!("{s:?} is not hex"));
    Ok(match (kind, v) {
        (Kind::Text, V::Null) => Arg::Text(None),
        (Kind::Integer, V::Null) => Arg::I64(None),
        (Kind::Boolean, V::Null) => Arg::Bool(None),
        (Kind::Uuid, V::Null) => Arg::Uuid(None),
        (Kind::Bytes, V::Null) => Arg::Bytes(None),
        (Kind::Instant, V::Null) => Arg::Time(None),
        (Kind::Date, V::Null) => Arg::Date(None),
        (Kind::Text, V::String(s)) => Arg::Text(Some(s.clone())),
        (Kind::Integer, V::Number(n)) => Arg::I64(Some(n.as_i64().ok_or("not a whole number")?)),
        (Kind::Boolean, V::Bool(b)) => Arg::Bool(Some(*b)),
        (Kind::Uuid, V::String(s)) => {
            Arg::Uuid(Some(uuid::Uuid::from_slice(&hex(s)?).map_err(|_| format!("{s:?} is not an id"))?))
        }
        (Kind::Bytes, V::String(s)) => Arg::Bytes(Some(hex(s)?)),
        (Kind::Instant, V::Number(n)) => Arg::Time(Some(
            Timestamp::from_microsecond(n.as_i64().ok_or("not a whole number")?).map_err(|e| e.to_string())?,
        )),
        (Kind::Date, V::String(s)) => Arg::Date(Some(s.parse::<Date>().map_err(|e| e.to_string())?)),
        (k, v) => return Err(format!("{v} cannot be a {k:?} value on {backend:?}")),
    })
}

/// Tables in an order that loads parents before children (by the target's foreign keys;
/// a table's references to itself are left to row order, which is creation order).
pub async fn load_order(db: &Db, tables: &[TableShape]) -> StoreResult<Vec<String>> {
    let edges: Vec<(String, String)> = match db.backend() {
        Backend::Sqlite => {
            let mut e = Vec::new();
            for t in tables {
                let refs: Vec<(String,)> = db
                    .fetch_all(crate::db::sql("SELECT \"table\" FROM pragma_foreign_key_list($1)").bind(&t.name))
                    .await?;
                e.extend(refs.into_iter().map(|(r,)| (t.name.clone(), r)));
            }
            e
        }
        Backend::Postgres => {
            db.fetch_all(crate::db::sql(
                "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c \
                 WHERE c.contype = 'f' AND c.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())",
            ))
            .await?
        }
    };
    let names: BTreeSet<String> = tables.iter().map(|t| t.name.clone()).collect();
    let mut deps: BTreeMap<String, BTreeSet<String>> = names.iter().map(|n| (n.clone(), BTreeSet::new())).collect();
    for (child, parent) in edges {
        let (child, parent) = (child.trim_matches('"').to_string(), parent.trim_matches('"').to_string());
        if child != parent
            && names.contains(&parent)
            && let Some(d) = deps.get_mut(&child)
        {
            d.insert(parent);
        }
    }
    let mut order = Vec::new();
    while !deps.is_empty() {
        let ready: Vec<String> = deps.iter().filter(|(_, d)| d.is_empty()).map(|(n, _)| n.clone()).collect();
        if ready.is_empty() {
            // A cycle: load the rest in name order (their checks run at the end on SQLite).
            order.extend(deps.keys().cloned());
            break;
        }
        for n in &ready {
            deps.remove(n);
        }
        for d in deps.values_mut() {
            for n in &ready {
                d.remove(n);
            }
        }
        order.extend(ready);
    }
    Ok(order)
}

/// Loads rows into an empty, migrated database in one transaction. `rows` yields, per
/// table in `order`, the JSON objects of its rows. Guard triggers are set aside for the
/// load and restored before commit; on SQLite foreign keys are checked at commit.
pub async fn load_all<I>(db: &Db, shapes: &[TableShape], order: &[String], mut rows: I) -> StoreResult<u64>
where
    I: FnMut(&str) -> std::io::Result<Option<Box<dyn Iterator<Item = std::io::Result<String>> + Send>>>,
{
    let backend = db.backend();
    let bad = |table: &str, line: u64, detail: String| StoreError::External {
        tool: "import",
        detail: format!("{table}, row {line}: {detail}"),
    };
    let mut tx = db.begin().await?;
    // Set the guards aside.
    let triggers: Vec<(String, String)> = match backend {
        Backend::Sqlite => {
            tx.execute(crate::db::sql("PRAGMA defer_foreign_keys = ON")).await?;
            let t: Vec<(String, String)> = tx
                .fetch_all(crate::db::sql(
                    "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND sql IS NOT NULL",
                ))
                .await?;
            for (name, _) in &t {
                tx.execute(crate::db::dynamic_sql(format!("DROP TRIGGER {}", quoted(name)))).await?;
            }
            t
        }
        Backend::Postgres => {
            for t in shapes {
                tx.execute(crate::db::dynamic_sql(format!("ALTER TABLE {} DISABLE TRIGGER USER", quoted(&t.name))))
                    .await?;
            }
            Vec::new()
        }
    };
    // Rows the migrations seeded (the audit chain's head, counters) make way for the
    // exported ones; the caller checked that nothing else is there.
    for table in order.iter().rev() {
        tx.execute(crate::db::dynamic_sql(format!("DELETE FROM {}", quoted(table)))).await?;
    }
    let mut total = 0u64;
    for table in order {
        let Some(shape) = shapes.iter().find(|s| &s.name == table) else { continue };
        let Some(iter) = rows(table).map_err(|e| bad(table, 0, e.to_string()))? else { continue };
        let cols: Vec<(&String, &Kind)> = shape.columns.iter().collect();
        let names: Vec<String> = cols.iter().map(|(n, _)| quoted(n)).collect();
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
        let insert = format!("INSERT INTO {} ({}) VALUES ({})", quoted(table), names.join(", "), marks.join(", "));
        for (i, line) in iter.enumerate() {
            let n = i as u64 + 1;
            let line = line.map_err(|e| bad(table, n, e.to_string()))?;
            let obj: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&line).map_err(|e| bad(table, n, format!("not a JSON object: {e}")))?;
            if let Some(extra) = obj.keys().find(|k| !shape.columns.contains_key(*k)) {
                return Err(bad(table, n, format!("column {extra} does not exist in this version")));
            }
            let mut q = crate::db::dynamic_sql(insert.clone());
            for (name, kind) in &cols {
                let v = obj.get(*name).unwrap_or(&serde_json::Value::Null);
                q = q.bind(arg(**kind, v, backend).map_err(|e| bad(table, n, format!("{name}: {e}")))?);
            }
            tx.execute(q).await.map_err(|e| bad(table, n, e.to_string()))?;
            total += 1;
        }
    }
    // The guards come back before anything is committed.
    match backend {
        Backend::Sqlite => {
            for (_, sql) in triggers {
                tx.execute(crate::db::dynamic_sql(sql)).await?;
            }
        }
        Backend::Postgres => {
            for t in shapes {
                tx.execute(crate::db::dynamic_sql(format!("ALTER TABLE {} ENABLE TRIGGER USER", quoted(&t.name))))
                    .await?;
            }
        }
    }
    tx.commit().await.map_err(|e| StoreError::External {
        tool: "import",
        detail: format!("the rows do not fit together (a reference to a row that is not there?): {e}"),
    })?;
    Ok(total)
}
