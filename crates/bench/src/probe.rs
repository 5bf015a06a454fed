//! CPU accounting for one phase: the server process, the PostgreSQL backends serving the
//! benchmark database, this load generator, and everything else on the (shared) machine.

use crate::stats;
use sqlx::{Connection, PgConnection};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Knows which processes belong to the benchmark.
#[derive(Clone, Debug)]
pub struct Probe {
    server_pid: u32,
    pg_url: Option<String>,
}

/// Counters read at the start of a phase.
#[derive(Clone, Debug)]
pub struct Snapshot {
    at: Instant,
    server: Option<Duration>,
    own: Option<Duration>,
    machine: Option<Duration>,
    backends: HashMap<u32, Duration>,
}

/// CPU used during a phase.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// The `praxis serve` process.
    pub server: Option<Duration>,
    /// This load generator.
    pub own: Option<Duration>,
    /// PostgreSQL backends connected to the benchmark database (`None` on SQLite).
    pub postgres: Option<Duration>,
    /// Share (0–1) of the machine's CPU capacity used by every other process: other
    /// people's work on this shared machine, and PostgreSQL's background processes.
    pub other_share: Option<f64>,
}

impl Probe {
    /// A probe for `server_pid`, and on PostgreSQL for the backends of the database at
    /// `pg_url`.
    pub fn new(server_pid: u32, pg_url: Option<String>) -> Probe {
        Probe { server_pid, pg_url }
    }

    /// CPU time of every backend connected to the benchmark database except the one
    /// asking. Unreadable → empty.
    async fn backends(&self) -> HashMap<u32, Duration> {
        let Some(url) = &self.pg_url else { return HashMap::new() };
        let pids: Vec<(i32,)> = match PgConnection::connect(url).await {
            Ok(mut conn) => {
                let rows = sqlx::query_as(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap_or_default();
                let _ = conn.close().await;
                rows
            }
            Err(_) => Vec::new(),
        };
        pids.into_iter()
            .filter_map(|(pid,)| {
                let pid = u32::try_from(pid).ok()?;
                Some((pid, stats::cpu_time(pid)?))
            })
            .collect()
    }

    /// Reads the counters (PostgreSQL first, so the probe's own query falls outside).
    pub async fn snapshot(&self) -> Snapshot {
        let backends = self.backends().await;
        Snapshot {
            at: Instant::now(),
            server: stats::cpu_time(self.server_pid),
            own: stats::own_cpu_time(),
            machine: stats::machine_busy_time(),
            backends,
        }
    }

    /// CPU used since `before`. Backends that connected meanwhile count from zero.
    pub async fn usage_since(&self, before: &Snapshot) -> Usage {
        let wall = before.at.elapsed();
        let server = stats::cpu_between(before.server, stats::cpu_time(self.server_pid));
        let own = stats::cpu_between(before.own, stats::own_cpu_time());
        let machine = stats::cpu_between(before.machine, stats::machine_busy_time());
        let postgres = if self.pg_url.is_some() {
            let after = self.backends().await;
            Some(
                after
                    .iter()
                    .map(|(pid, t)| t.saturating_sub(before.backends.get(pid).copied().unwrap_or_default()))
                    .sum(),
            )
        } else {
            None
        };
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
        let other_share = match (machine, server, own) {
            (Some(m), Some(s), Some(o)) => {
                let ours = s + o + postgres.unwrap_or_default();
                Some((m.saturating_sub(ours).as_secs_f64() / (wall.as_secs_f64() * cores).max(1e-9)).clamp(0.0, 1.0))
            }
            _ => None,
        };
        Usage { server, own, postgres, other_share }
    }
}
