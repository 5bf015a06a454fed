//! Store errors, classified so services can turn constraint violations into friendly
//! answers (a taken email is a 409, not a 500).

use thiserror::Error;

/// What went wrong talking to the database.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A unique constraint rejected the write; carries the constraint name when known.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// A PostgreSQL exclusion constraint rejected the write (the double-booking guard).
    #[error("exclusion constraint violated: {0}")]
    Exclusion(String),
    /// A foreign key did not match.
    #[error("foreign key violated: {0}")]
    ForeignKey(String),
    /// A value read from the database could not be understood (a bug or a hand-edited row).
    #[error("corrupt data in {what}: {detail}")]
    Corrupt {
        /// Which value.
        what: &'static str,
        /// Why it was rejected.
        detail: String,
    },
    /// Anything else from the driver: connection lost, pool timeout, syntax error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A program Praxis drives (pg_dump, pg_restore) or an engine-level copy failed.
    #[error("{detail}")]
    External {
        /// Which program or step.
        tool: &'static str,
        /// What it said.
        detail: String,
    },
    /// Running migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Result alias for the store.
pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            let name = db.constraint().unwrap_or_default().to_string();
            match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => {
                    return StoreError::Unique(name_or_message(name, db.message()));
                }
                sqlx::error::ErrorKind::ExclusionViolation => return StoreError::Exclusion(name),
                sqlx::error::ErrorKind::ForeignKeyViolation => {
                    return StoreError::ForeignKey(name_or_message(name, db.message()));
                }
                _ => {}
            }
        }
        StoreError::Database(e)
    }
}

/// SQLite reports no constraint name, only a message such as
/// "UNIQUE constraint failed: users.email"; keep that so callers can tell which.
fn name_or_message(name: String, message: &str) -> String {
    if name.is_empty() { message.to_string() } else { name }
}

impl StoreError {
    /// True when a unique constraint on `what` (a constraint name or `table.column`)
    /// rejected the write.
    pub fn is_unique(&self, what: &str) -> bool {
        matches!(self, StoreError::Unique(n) if n.contains(what))
    }

    /// A corrupt-data error for `what`.
    pub fn corrupt(what: &'static str, detail: impl ToString) -> Self {
        StoreError::Corrupt { what, detail: detail.to_string() }
    }
}
