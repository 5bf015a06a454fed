//! The database handle, the write transaction and a backend-neutral query value.

use crate::audit::{self, NewAuditEntry};
use crate::codec::{DbDate, DbTime};
use crate::error::StoreResult;
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow, Postgres};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow};
use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use uuid::Uuid;

/// Which database engine a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// How to open the database.
#[derive(Clone, Debug)]
pub struct DbOptions {
    /// `postgres://…` selects PostgreSQL; `sqlite:…` or a plain file path selects SQLite.
    pub url: String,
    /// Upper bound of pooled PostgreSQL connections per process.
    pub max_connections: u32,
    /// Number of read-only SQLite connections (the writer is always exactly one).
    pub sqlite_readers: u32,
}

impl DbOptions {
    /// Options with sensible pool sizes for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), max_connections: 16, sqlite_readers: 4 }
    }
}

/// The database: SQLite with one writer connection (so check-then-insert is serialised by
/// `BEGIN IMMEDIATE`) and a pool of readers, or a PostgreSQL pool. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pools: Pools,
    reads: Arc<AtomicU64>,
    /// The URL it was opened with (for backups: the file, or pg_dump's connection).
    url: Arc<str>,
}

#[derive(Clone, Debug)]
enum Pools {
    /// SQLite in WAL mode, `synchronous=FULL`, foreign keys on.
    Sqlite {
        /// Read-only connections for queries outside a write transaction.
        read: SqlitePool,
        /// Exactly one connection; every write transaction goes through it.
        write: SqlitePool,
    },
    /// PostgreSQL; any number of app instances may share it.
    Postgres(PgPool),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The newest schema version (migration) this build knows; both backends have the same.
pub fn latest_schema_version() -> i64 {
    SQLITE_MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0)
}

/// True when `url` selects PostgreSQL.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl Db {
    /// Opens (and for SQLite creates) the database. Does not migrate; call [`Db::migrate`].
    pub async fn connect(opts: &DbOptions) -> StoreResult<Db> {
        if is_postgres_url(&opts.url) {
            // Praxis's statements are short: starting parallel workers for one costs more
            // than the query (a calendar read planned in parallel over a million
            // appointments took 15 ms instead of 1.8 ms), and on a small server they
            // take the cores other requests need.
            let connect = PgConnectOptions::from_str(&opts.url)?
                .application_name("praxis")
                .options([("max_parallel_workers_per_gather", "0")]);
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .min_connections(0)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(connect)
                .await?;
            return Ok(Db { pools: Pools::Postgres(pool), reads: Arc::default(), url: opts.url.as_str().into() });
        }
        let path = opts.url.strip_prefix("sqlite://").or_else(|| opts.url.strip_prefix("sqlite:")).unwrap_or(&opts.url);
        let path = path.split('?').next().unwrap_or(path);
        let base = SqliteConnectOptions::new()
            .filename(path)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-16000");
        let write_opts = base
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(write_opts)
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(opts.sqlite_readers.max(1))
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.read_only(true))
            .await?;
        Ok(Db { pools: Pools::Sqlite { read, write }, reads: Arc::default(), url: path.into() })
    }

    /// The URL it was opened with (for SQLite: the file's path). May hold a password:
    /// never log it.
    pub fn connection_url(&self) -> &str {
        &self.url
    }

    /// The SQLite file, on SQLite.
    pub(crate) fn sqlite_path(&self) -> Option<&str> {
        matches!(self.pools, Pools::Sqlite { .. }).then_some(&*self.url)
    }

    /// The pool an export reads through (SQLite: the readers).
    pub(crate) fn pools_for_export(&self) -> crate::backups::export::ExportPools<'_> {
        match &self.pools {
            Pools::Sqlite { read, .. } => crate::backups::export::ExportPools::Sqlite(read),
            Pools::Postgres(p) => crate::backups::export::ExportPools::Postgres(p),
        }
    }

    /// The PostgreSQL pool and its URL, on PostgreSQL.
    pub(crate) fn postgres(&self) -> Option<(&PgPool, &str)> {
        match &self.pools {
            Pools::Postgres(p) => Some((p, &self.url)),
            Pools::Sqlite { .. } => None,
        }
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations for this backend (idempotent; on PostgreSQL an
    /// advisory lock makes concurrent starts of several instances safe).
    #[tracing::instrument(skip_all)]
    pub async fn migrate(&self) -> StoreResult<()> {
        match &self.pools {
            Pools::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await?,
            Pools::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Starts the write transaction of one use case. On SQLite this is `BEGIN IMMEDIATE`
    /// on the single writer connection, so transactions never interleave.
    pub async fn begin(&self) -> StoreResult<Tx> {
        let inner = match &self.pools {
            Pools::Sqlite { write, .. } => TxInner::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Pools::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx { inner, pending_audit: Vec::new() })
    }

    /// How many read queries this handle (and its clones) has run outside write
    /// transactions — lets tests prove a use case runs a constant number of queries.
    pub fn read_count(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Bulk loading (the demo seeder, imports): on SQLite, turns the writer's
    /// `synchronous` from FULL to OFF (`fast = true`) and back. A crash while it is off can
    /// lose the last transactions, so only use it for data that can be loaded again. No
    /// effect on PostgreSQL.
    pub async fn bulk_load(&self, fast: bool) -> StoreResult<()> {
        if let Pools::Sqlite { write, .. } = &self.pools {
            let stmt = if fast { "PRAGMA synchronous = OFF" } else { "PRAGMA synchronous = FULL" };
            sqlx::raw_sql(stmt).execute(write).await?;
        }
        Ok(())
    }

    /// Connections of the pool(s): (open, idle). For the metrics.
    pub fn pool_use(&self) -> (u32, u32) {
        match &self.pools {
            Pools::Sqlite { read, write } => (read.size() + write.size(), (read.num_idle() + write.num_idle()) as u32),
            Pools::Postgres(p) => (p.size(), p.num_idle() as u32),
        }
    }

    /// The database's size on disk in bytes (SQLite: pages in use plus the WAL is not
    /// counted; PostgreSQL: `pg_database_size`).
    pub async fn size_bytes(&self) -> StoreResult<i64> {
        let text = match self.backend() {
            Backend::Sqlite => {
                "SELECT CAST(page_count * page_size AS BIGINT) FROM pragma_page_count(), pragma_page_size()"
            }
            Backend::Postgres => "SELECT CAST(pg_database_size(current_database()) AS BIGINT)",
        };
        let (n,): (i64,) = self.fetch_one(sql(text)).await?;
        Ok(n)
    }

    /// Checks the database answers (used by `/readyz`).
    pub async fn ping(&self) -> StoreResult<()> {
        let _: (i64,) = self.fetch_one(sql("SELECT CAST(1 AS BIGINT)")).await?;
        Ok(())
    }

    /// Closes all connections (graceful shutdown; checkpoints the SQLite WAL).
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }

    /// Runs a read query outside any write transaction.
    pub async fn fetch_all<T: Record>(&self, q: Query) -> StoreResult<Vec<T>> {
        let Query { text, args } = q;
        self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(match &self.pools {
            Pools::Sqlite { read, .. } => bind_sqlite_as::<T>(text, args).fetch_all(read).await?,
            Pools::Postgres(pool) => bind_pg_as::<T>(text, args).fetch_all(pool).await?,
        })
    }

    /// Runs a read query expecting at most one row.
    pub async fn fetch_optional<T: Record>(&self, q: Query) -> StoreResult<Option<T>> {
        let Query { text, args } = q;
        self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(match &self.pools {
            Pools::Sqlite { read, .. } => bind_sqlite_as::<T>(text, args).fetch_optional(read).await?,
            Pools::Postgres(pool) => bind_pg_as::<T>(text, args).fetch_optional(pool).await?,
        })
    }

    /// Runs a read query expecting exactly one row.
    pub async fn fetch_one<T: Record>(&self, q: Query) -> StoreResult<T> {
        let Query { text, args } = q;
        self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(match &self.pools {
            Pools::Sqlite { read, .. } => bind_sqlite_as::<T>(text, args).fetch_one(read).await?,
            Pools::Postgres(pool) => bind_pg_as::<T>(text, args).fetch_one(pool).await?,
        })
    }

    /// Runs a statement outside a use-case transaction (maintenance only: tests, the
    /// demo seeder's bulk steps). Use cases write through [`Tx`].
    pub async fn execute_unaudited(&self, q: Query) -> StoreResult<u64> {
        let Query { text, args } = q;
        Ok(match &self.pools {
            Pools::Sqlite { write, .. } => bind_sqlite(text, args).execute(write).await?.rows_affected(),
            Pools::Postgres(pool) => bind_pg(text, args).execute(pool).await?.rows_affected(),
        })
    }
}

enum TxInner {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// The one write transaction of a use case. Audit entries queued with [`Tx::audit`] are
/// chained and written just before commit, inside the same transaction, so a change and
/// its audit row commit together or not at all — and the audit chain's lock is held only
/// for the last instant of the transaction.
pub struct Tx {
    inner: TxInner,
    pending_audit: Vec<NewAuditEntry>,
}

impl Tx {
    /// Which engine this transaction runs on (for the few backend-specific statements).
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs a statement; returns the number of rows affected.
    pub async fn execute(&mut self, q: Query) -> StoreResult<u64> {
        let Query { text, args } = q;
        Ok(match &mut self.inner {
            TxInner::Sqlite(c) => bind_sqlite(text, args).execute(&mut **c).await?.rows_affected(),
            TxInner::Postgres(c) => bind_pg(text, args).execute(&mut **c).await?.rows_affected(),
        })
    }

    /// Runs a query inside the transaction.
    pub async fn fetch_all<T: Record>(&mut self, q: Query) -> StoreResult<Vec<T>> {
        let Query { text, args } = q;
        Ok(match &mut self.inner {
            TxInner::Sqlite(c) => bind_sqlite_as::<T>(text, args).fetch_all(&mut **c).await?,
            TxInner::Postgres(c) => bind_pg_as::<T>(text, args).fetch_all(&mut **c).await?,
        })
    }

    /// Runs a query expecting at most one row.
    pub async fn fetch_optional<T: Record>(&mut self, q: Query) -> StoreResult<Option<T>> {
        let Query { text, args } = q;
        Ok(match &mut self.inner {
            TxInner::Sqlite(c) => bind_sqlite_as::<T>(text, args).fetch_optional(&mut **c).await?,
            TxInner::Postgres(c) => bind_pg_as::<T>(text, args).fetch_optional(&mut **c).await?,
        })
    }

    /// Runs a query expecting exactly one row.
    pub async fn fetch_one<T: Record>(&mut self, q: Query) -> StoreResult<T> {
        let Query { text, args } = q;
        Ok(match &mut self.inner {
            TxInner::Sqlite(c) => bind_sqlite_as::<T>(text, args).fetch_one(&mut **c).await?,
            TxInner::Postgres(c) => bind_pg_as::<T>(text, args).fetch_one(&mut **c).await?,
        })
    }

    /// Queues an audit entry; it is written (hash-chained) at commit.
    pub fn audit(&mut self, entry: NewAuditEntry) {
        self.pending_audit.push(entry);
    }

    /// Writes the queued audit entries and commits.
    pub async fn commit(mut self) -> StoreResult<()> {
        let entries = std::mem::take(&mut self.pending_audit);
        if !entries.is_empty() {
            audit::append(&mut self, entries).await?;
        }
        match self.inner {
            TxInner::Sqlite(c) => c.commit().await?,
            TxInner::Postgres(c) => c.commit().await?,
        }
        Ok(())
    }

    /// Abandons every change (also what happens when a `Tx` is dropped).
    pub async fn rollback(self) -> StoreResult<()> {
        match self.inner {
            TxInner::Sqlite(c) => c.rollback().await?,
            TxInner::Postgres(c) => c.rollback().await?,
        }
        Ok(())
    }
}

/// A row type readable from both backends (derive `sqlx::FromRow`; use [`DbTime`] and
/// [`DbDate`] for instants and dates, `i64` for every integer).
pub trait Record: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static {}
impl<T> Record for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static {}

/// A bind value that both backends understand. `None` binds a typed NULL.
#[derive(Clone, Debug)]
pub enum Arg {
    /// BOOLEAN (SQLite: 0/1).
    Bool(Option<bool>),
    /// BIGINT.
    I64(Option<i64>),
    /// TEXT.
    Text(Option<String>),
    /// UUID (SQLite: 16-byte BLOB).
    Uuid(Option<Uuid>),
    /// TIMESTAMPTZ (SQLite: integer microseconds).
    Time(Option<Timestamp>),
    /// DATE (SQLite: `YYYY-MM-DD`).
    Date(Option<Date>),
    /// BYTEA / BLOB.
    Bytes(Option<Vec<u8>>),
}

macro_rules! arg_from {
    ($($t:ty => $v:ident $(via $conv:expr)?),+ $(,)?) => {$(
        impl From<$t> for Arg {
            fn from(x: $t) -> Arg { Arg::$v(Some(arg_from!(@conv x $(, $conv)?))) }
        }
        impl From<Option<$t>> for Arg {
            fn from(x: Option<$t>) -> Arg { Arg::$v(x.map(|x| arg_from!(@conv x $(, $conv)?))) }
        }
    )+};
    (@conv $x:ident) => { $x };
    (@conv $x:ident, $conv:expr) => { ($conv)($x) };
}

arg_from!(
    bool => Bool,
    i64 => I64,
    i32 => I64 via i64::from,
    u32 => I64 via i64::from,
    String => Text,
    &str => Text via str::to_string,
    &String => Text via String::clone,
    Uuid => Uuid,
    Timestamp => Time,
    Date => Date,
    Vec<u8> => Bytes,
);

macro_rules! arg_from_id {
    ($($t:ident),+ $(,)?) => {$(
        impl From<praxis_domain::$t> for Arg {
            fn from(x: praxis_domain::$t) -> Arg { Arg::Uuid(Some(x.0)) }
        }
        impl From<Option<praxis_domain::$t>> for Arg {
            fn from(x: Option<praxis_domain::$t>) -> Arg { Arg::Uuid(x.map(|x| x.0)) }
        }
    )+};
}
arg_from_id!(
    UserId,
    SessionId,
    ClinicId,
    ProviderId,
    ServiceId,
    SpecialtyId,
    AppointmentId,
    SeriesId,
    WaitlistEntryId,
    AvailabilityWindowId,
    ExceptionId,
    ClosureId,
    PatientId,
    WaitlistOfferId,
    AppointmentChangeId,
    InvoiceId,
    InvoiceLineId,
    PaymentId,
    RefundId,
    ClaimId,
    ReferralId,
    OnlinePaymentId,
);

/// A SQL statement with its bind values, runnable on either backend.
#[derive(Debug)]
pub struct Query {
    text: Cow<'static, str>,
    args: Vec<Arg>,
}

/// A statement from a literal: the normal case. Use `$1, $2, …` placeholders.
pub fn sql(text: &'static str) -> Query {
    Query { text: Cow::Borrowed(text), args: Vec::new() }
}

/// A statement assembled at run time from literal fragments (optional filters, ORDER BY
/// chosen from a fixed list). Never splice user input into `text`: bind it.
pub fn dynamic_sql(text: String) -> Query {
    Query { text: Cow::Owned(text), args: Vec::new() }
}

impl Query {
    /// Adds the next positional bind value (`$1`, then `$2`, …).
    pub fn bind(mut self, a: impl Into<Arg>) -> Self {
        self.args.push(a.into());
        self
    }

    /// Adds a bind value and returns its placeholder (`$n`), for dynamic statements.
    pub fn push_arg(&mut self, a: impl Into<Arg>) -> String {
        self.args.push(a.into());
        format!("${}", self.args.len())
    }

    /// Appends text to a dynamic statement.
    pub fn push_sql(&mut self, text: &str) {
        self.text.to_mut().push_str(text);
    }
}

/// A WHERE clause assembled from optional filters, with its bind values; the same
/// clause can produce several statements (a page and its total count).
#[derive(Clone, Debug, Default)]
pub struct Where {
    text: String,
    args: Vec<Arg>,
}

impl Where {
    /// An empty clause (matches everything).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `AND <condition>`; `condition` receives the placeholder (`$n`) for `arg`.
    pub fn and(&mut self, condition: impl FnOnce(&str) -> String, arg: impl Into<Arg>) {
        self.args.push(arg.into());
        let placeholder = format!("${}", self.args.len());
        self.text.push_str(if self.text.is_empty() { " WHERE " } else { " AND " });
        self.text.push_str(&condition(&placeholder));
    }

    /// Adds `AND <condition>` where the condition reuses one bind value several times
    /// (`name LIKE $3 OR email LIKE $3`).
    pub fn and_many(&mut self, condition: impl FnOnce(&str) -> String, arg: impl Into<Arg>) {
        self.and(|p| format!("({})", condition(p)), arg);
    }

    /// Adds a bind value used outside the clause (in the select list of the statement the
    /// clause is rendered into) and returns its placeholder.
    pub fn arg(&mut self, a: impl Into<Arg>) -> String {
        self.args.push(a.into());
        format!("${}", self.args.len())
    }

    /// Adds a condition with no bind value (a literal fragment such as `active = TRUE`).
    pub fn and_literal(&mut self, condition: &'static str) {
        self.text.push_str(if self.text.is_empty() { " WHERE " } else { " AND " });
        self.text.push_str(condition);
    }

    /// Adds `AND <column> IN (…)` with one bind value per item (an empty list matches
    /// nothing).
    pub fn and_in<A: Into<Arg>>(&mut self, column: &str, values: impl IntoIterator<Item = A>) {
        let mut placeholders = Vec::new();
        for v in values {
            self.args.push(v.into());
            placeholders.push(format!("${}", self.args.len()));
        }
        self.text.push_str(if self.text.is_empty() { " WHERE " } else { " AND " });
        if placeholders.is_empty() {
            self.text.push_str("FALSE");
        } else {
            self.text.push_str(&format!("{column} IN ({})", placeholders.join(", ")));
        }
    }

    /// `head` + this clause + `tail` as a runnable statement.
    pub fn query(&self, head: &str, tail: &str) -> Query {
        Query { text: Cow::Owned(format!("{head}{}{tail}", self.text)), args: self.args.clone() }
    }
}

/// A LIKE pattern matching values that start with `prefix` literally (`%` and `_` in the
/// prefix are escaped; use with `ESCAPE '\'`).
pub fn like_prefix(prefix: &str) -> String {
    format!("{}%", like_escape(prefix))
}

/// A LIKE pattern matching values containing `needle` literally.
pub fn like_contains(needle: &str) -> String {
    format!("%{}%", like_escape(needle))
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Bool(v) => q.bind(v),
                Arg::I64(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Uuid(v) => q.bind(v),
                Arg::Time(v) => q.bind(v.map(DbTime)),
                Arg::Date(v) => q.bind(v.map(DbDate)),
                Arg::Bytes(v) => q.bind(v),
            };
        }
        q
    }};
}

fn bind_sqlite(
    text: Cow<'static, str>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'static, Sqlite, sqlx::sqlite::SqliteArguments> {
    bind_all!(sqlx::query::<Sqlite>(AssertSqlSafe(text)), args)
}

fn bind_pg(
    text: Cow<'static, str>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'static, Postgres, sqlx::postgres::PgArguments> {
    bind_all!(sqlx::query::<Postgres>(AssertSqlSafe(text)), args)
}

fn bind_sqlite_as<T: Record>(
    text: Cow<'static, str>,
    args: Vec<Arg>,
) -> sqlx::query::QueryAs<'static, Sqlite, T, sqlx::sqlite::SqliteArguments> {
    bind_all!(sqlx::query_as::<Sqlite, T>(AssertSqlSafe(text)), args)
}

fn bind_pg_as<T: Record>(
    text: Cow<'static, str>,
    args: Vec<Arg>,
) -> sqlx::query::QueryAs<'static, Postgres, T, sqlx::postgres::PgArguments> {
    bind_all!(sqlx::query_as::<Postgres, T>(AssertSqlSafe(text)), args)
}
