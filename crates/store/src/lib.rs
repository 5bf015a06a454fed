//! Praxis store: every line of SQL in the project lives here.
//!
//! One binary talks to SQLite (the zero-configuration default) or PostgreSQL (for
//! production and several app instances). Queries are runtime sqlx queries with `$n`
//! placeholders, written once where the dialects agree and as one `const` per backend
//! side by side where they do not. Repositories are plain functions per aggregate that
//! take a [`Db`] (reads) or a [`Tx`] (the single write transaction of a use case).
#![forbid(unsafe_code)]

mod codec;
mod db;
mod error;

pub mod appointments;
pub mod audit;
pub mod availability;
pub mod backups;
pub mod billing;
pub mod catalog;
pub mod clinical;
pub mod dashboard;
pub mod documents;
pub mod forms;
pub mod integrations;
pub mod jobs;
pub mod messages;
pub mod patients;
pub mod replies;
pub mod sealed;
pub mod sessions;
pub mod throttle;
pub mod two_factor;
pub mod users;
pub mod waitlist;

pub use codec::{DbDate, DbTime};
pub use db::latest_schema_version;
pub use db::{
    Arg, Backend, Db, DbOptions, Query, Record, Tx, Where, dynamic_sql, is_postgres_url, like_contains, like_prefix,
    sql,
};
pub use error::{StoreError, StoreResult};
