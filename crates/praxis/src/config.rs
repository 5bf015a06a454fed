//! Configuration from flags and `PRAXIS_*` environment variables, with defaults that run
//! a clinic on one machine with nothing else installed.

use anyhow::{Context, Result};
use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Settings shared by every command.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Where Praxis keeps its data (the SQLite database, uploaded files, backups, keys).
    #[arg(long, global = true, env = "PRAXIS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Where backups are written. Default: <data-dir>/backups. Put it on another disk
    /// where you can; the schedule can also copy each good backup to a second folder.
    #[arg(long, global = true, env = "PRAXIS_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,

    /// Database URL. Unset: SQLite at <data-dir>/praxis.db. `postgres://user:pass@host/db`
    /// selects PostgreSQL. Never printed.
    #[arg(long, global = true, env = "PRAXIS_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,

    /// Most pooled PostgreSQL connections per process.
    #[arg(long, global = true, env = "PRAXIS_PG_MAX_CONNECTIONS", default_value_t = 16)]
    pub pg_max_connections: u32,

    /// Log filter (e.g. `info`, `praxis=debug,sqlx=warn`).
    #[arg(long, global = true, env = "PRAXIS_LOG", default_value = "info,sqlx=warn,tower_http=info")]
    pub log: String,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, global = true, env = "PRAXIS_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    /// The IANA time zone for times that belong to no clinic (audit log, accounts).
    /// Default: the machine's zone.
    #[arg(long, global = true, env = "PRAXIS_TIME_ZONE")]
    pub time_zone: Option<String>,

    /// Email and SMS transports, reminder lead times, the job queue's worker settings.
    #[command(flatten)]
    pub notify: crate::notify::NotifyArgs,

    /// Online payments through Stripe (off without a secret key).
    #[command(flatten)]
    pub payments: crate::payments::PaymentArgs,

    /// Keys that seal clinical content, `id:base64key,id:base64key` (32-byte keys).
    /// Required with PostgreSQL (every instance needs the same keys); with SQLite a key
    /// file `keys.json` in the data directory is created instead. Never printed.
    #[arg(long, global = true, env = "PRAXIS_ENCRYPTION_KEYS", hide_env_values = true)]
    pub encryption_keys: Option<SecretString>,

    /// Which of PRAXIS_ENCRYPTION_KEYS seals new values (default: the first).
    #[arg(long, global = true, env = "PRAXIS_ENCRYPTION_KEY_CURRENT")]
    pub encryption_key_current: Option<String>,
}

/// Log output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Settings of the HTTP server.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PRAXIS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// The address people use to reach Praxis (for links in messages). Default: http://<bind>.
    #[arg(long, env = "PRAXIS_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Mark cookies Secure and send HSTS (set when Praxis is behind HTTPS).
    #[arg(long, env = "PRAXIS_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// Trust X-Forwarded-For for client addresses (only behind your own reverse proxy).
    #[arg(long, env = "PRAXIS_TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,

    /// Do not run a job worker inside this server (run `praxis worker` processes instead).
    #[arg(long, env = "PRAXIS_NO_WORKER", default_value_t = false)]
    pub no_worker: bool,
}

/// Settings of `praxis worker`.
#[derive(Args, Debug, Clone)]
pub struct WorkerArgs {
    /// The address people use to reach Praxis (for links in messages).
    #[arg(long, env = "PRAXIS_PUBLIC_URL")]
    pub public_url: Option<String>,
}

impl Global {
    /// The database URL to use, creating the data directory for SQLite.
    pub fn database_url(&self) -> Result<String> {
        match &self.database_url {
            Some(url) if !url.expose_secret().trim().is_empty() => Ok(url.expose_secret().trim().to_string()),
            _ => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("cannot create the data directory {}", self.data_dir.display()))?;
                Ok(format!("sqlite://{}", self.data_dir.join("praxis.db").display()))
            }
        }
    }

    /// A description of the database that is safe to print (no credentials).
    pub fn database_label(&self) -> String {
        match &self.database_url {
            Some(url) if praxis_store::is_postgres_url(url.expose_secret()) => {
                let rest = url.expose_secret().split_once("://").map(|(_, r)| r).unwrap_or("");
                let host_db = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
                let host_db = host_db.split('?').next().unwrap_or(host_db);
                format!("PostgreSQL at {host_db}")
            }
            Some(url) if !url.expose_secret().trim().is_empty() => "SQLite (custom path)".to_string(),
            _ => format!("SQLite at {}", self.data_dir.join("praxis.db").display()),
        }
    }

    /// The key ring for clinical content: from the environment if given, else the key
    /// file in the data directory (SQLite only).
    pub fn key_ring(&self) -> Result<praxis_services::crypto::KeyRing> {
        use praxis_services::crypto::KeyRing;
        if let Some(keys) = &self.encryption_keys {
            return KeyRing::from_env(keys.expose_secret(), self.encryption_key_current.as_deref())
                .context("PRAXIS_ENCRYPTION_KEYS");
        }
        if self.database_url.as_ref().is_some_and(|u| praxis_store::is_postgres_url(u.expose_secret())) {
            anyhow::bail!(
                "with PostgreSQL, give the encryption keys to every instance: set PRAXIS_ENCRYPTION_KEYS=k1:<32 random bytes, base64> (for example from `openssl rand -base64 32`)"
            );
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create the data directory {}", self.data_dir.display()))?;
        KeyRing::from_file(self.data_dir.join("keys.json")).context("the encryption key file")
    }

    /// The display time zone.
    pub fn zone(&self) -> Result<jiff::tz::TimeZone> {
        match &self.time_zone {
            Some(name) => jiff::tz::TimeZone::get(name)
                .with_context(|| format!("unknown time zone {name:?}; use an IANA name such as Australia/Sydney")),
            None => Ok(jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC)),
        }
    }
}

/// Sets up logging once, from `--log` / `PRAXIS_LOG`.
pub fn init_tracing(g: &Global) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(&g.log).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match g.log_format {
        LogFormat::Text => builder.compact().try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        g: Global,
    }

    #[test]
    fn the_database_label_never_shows_credentials() {
        let t =
            T::parse_from(["x", "--database-url", "postgres://praxis:s3cret@db.internal:5432/clinic?sslmode=require"]);
        let label = t.g.database_label();
        assert_eq!(label, "PostgreSQL at db.internal:5432/clinic");
        assert!(!label.contains("s3cret"));
        assert!(!format!("{:?}", t.g).contains("s3cret"));
    }
}
