//! The background worker: claims due jobs from the durable queue with a lease and runs
//! them, several at a time, until told to stop.
//!
//! Any number of workers may run — in `praxis serve` (one by default), as `praxis worker`
//! processes, on several machines against one PostgreSQL. Each claim is a short
//! transaction of its own (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so workers never wait
//! for each other and no transaction is held across network I/O. A worker that dies
//! leaves its jobs leased; when the lease runs out the next worker claims them again.
//!
//! Shutdown is graceful: no new claims; jobs in flight get `shutdown_grace` to finish;
//! any still running then are given back to the queue (pending, attempt not counted).
#![forbid(unsafe_code)]

use praxis_services::Services;
use praxis_services::notifications::queue::{Claimed, Outcome};
use praxis_services::notifications::transport::Transports;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Names this worker in job leases and logs (host and process id by default).
    pub name: String,
    /// Jobs run at the same time.
    pub concurrency: usize,
    /// How long to wait before looking again when nothing is due.
    pub poll_interval: Duration,
    /// On shutdown, how long jobs in flight may take to finish before they are given back.
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            name: default_name(),
            concurrency: 8,
            poll_interval: Duration::from_millis(1000),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// `host:pid`, for leases and logs.
pub fn default_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let host = if host.is_empty() { "praxis".to_string() } else { host };
    format!("{host}:{}", std::process::id())
}

/// Counts of what a worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Jobs done.
    pub done: u64,
    /// Failed attempts that will be retried.
    pub retried: u64,
    /// Jobs that gave up.
    pub dead: u64,
    /// Jobs cancelled (no longer needed).
    pub cancelled: u64,
    /// Jobs given back untried (quiet hours, shutdown).
    pub released: u64,
    /// Jobs whose lease was lost before the outcome was recorded.
    pub lease_lost: u64,
}

impl Tally {
    fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Done(_) => self.done += 1,
            Outcome::Retry(..) => self.retried += 1,
            Outcome::Dead(_) => self.dead += 1,
            Outcome::Cancelled(_) => self.cancelled += 1,
            Outcome::Released(_) => self.released += 1,
            Outcome::LeaseLost => self.lease_lost += 1,
        }
    }

    /// Jobs that reached an outcome.
    pub fn total(&self) -> u64 {
        self.done + self.retried + self.dead + self.cancelled + self.released + self.lease_lost
    }
}

/// One worker.
#[derive(Clone)]
pub struct Worker {
    svc: Services,
    transports: Transports,
    cfg: WorkerConfig,
}

async fn run_one(svc: Services, transports: Transports, c: Claimed) -> Option<Outcome> {
    match svc.process_job(&c, &transports).await {
        Ok(o) => Some(o),
        Err(e) => {
            // A database error: the lease runs out and the job is claimed again.
            tracing::warn!(job = %c.job.id, error = %e, "could not record a job's outcome; it will be retried");
            None
        }
    }
}

impl Worker {
    /// A worker sending through `transports`.
    pub fn new(svc: Services, transports: Transports, cfg: WorkerConfig) -> Self {
        Worker { svc, transports, cfg }
    }

    /// Runs every job that is due now (and any that become due while doing so), then
    /// returns what happened. For tests and benchmarks; [`Worker::run`] is the loop.
    pub async fn run_until_idle(&self) -> Tally {
        let mut tally = Tally::default();
        loop {
            let claimed = match self.svc.claim_jobs(&self.cfg.name, self.cfg.concurrency.max(1) as i64).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim jobs");
                    return tally;
                }
            };
            if claimed.is_empty() {
                return tally;
            }
            let outcomes = futures::future::join_all(
                claimed.into_iter().map(|c| run_one(self.svc.clone(), self.transports.clone(), c)),
            )
            .await;
            for o in outcomes.iter().flatten() {
                tally.add(o);
            }
        }
    }

    /// Claims and runs due jobs until `shutdown` turns true, then stops gracefully.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Tally {
        tracing::info!(worker = %self.cfg.name, concurrency = self.cfg.concurrency,
            email = %self.transports.mailer.describe(), sms = %self.transports.sms.describe(), "worker started");
        let permits = Arc::new(Semaphore::new(self.cfg.concurrency.max(1)));
        let mut tasks: JoinSet<Option<Outcome>> = JoinSet::new();
        let mut in_flight: HashMap<tokio::task::Id, Claimed> = HashMap::new();
        let mut tally = Tally::default();
        loop {
            while let Some(done) = tasks.try_join_next_with_id() {
                reap(done, &mut in_flight, &mut tally);
            }
            if *shutdown.borrow() {
                break;
            }
            let free = permits.available_permits();
            if free == 0 {
                tokio::select! {
                    Some(done) = tasks.join_next_with_id() => reap(done, &mut in_flight, &mut tally),
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let claimed = match self.svc.claim_jobs(&self.cfg.name, free as i64).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim jobs; trying again shortly");
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(self.cfg.poll_interval) => {}
                    Some(done) = tasks.join_next_with_id() => reap(done, &mut in_flight, &mut tally),
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            for c in claimed {
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    // Cannot happen (we claimed at most `free`); give it back rather than run it unbounded.
                    let _ = self.svc.release_job(&c).await;
                    continue;
                };
                let (svc, transports, claim) = (self.svc.clone(), self.transports.clone(), c.clone());
                let handle = tasks.spawn(async move {
                    let out = run_one(svc, transports, claim).await;
                    drop(permit);
                    out
                });
                in_flight.insert(handle.id(), c);
            }
        }
        // Graceful shutdown: let jobs in flight finish, then give back what is left.
        tracing::info!(worker = %self.cfg.name, in_flight = in_flight.len(), "worker stopping");
        let deadline = tokio::time::Instant::now() + self.cfg.shutdown_grace;
        while !tasks.is_empty() {
            match tokio::time::timeout_at(deadline, tasks.join_next_with_id()).await {
                Ok(Some(done)) => reap(done, &mut in_flight, &mut tally),
                Ok(None) => break,
                Err(_) => {
                    tasks.abort_all();
                    while let Some(done) = tasks.join_next_with_id().await {
                        reap(done, &mut in_flight, &mut tally);
                    }
                }
            }
        }
        for (_, c) in in_flight.drain() {
            match self.svc.release_job(&c).await {
                Ok(()) => tally.released += 1,
                Err(e) => {
                    tracing::warn!(job = %c.job.id, error = %e, "could not give a job back; its lease will expire")
                }
            }
        }
        tracing::info!(worker = %self.cfg.name, done = tally.done, retried = tally.retried, dead = tally.dead, "worker stopped");
        tally
    }
}

fn reap(
    done: Result<(tokio::task::Id, Option<Outcome>), tokio::task::JoinError>,
    in_flight: &mut HashMap<tokio::task::Id, Claimed>,
    tally: &mut Tally,
) {
    match done {
        Ok((id, outcome)) => {
            in_flight.remove(&id);
            if let Some(o) = outcome {
                tally.add(&o);
            }
        }
        // Aborted at shutdown: stays in `in_flight` to be given back.
        Err(e) if e.is_cancelled() => {}
        Err(e) => {
            in_flight.remove(&e.id());
            tracing::error!(error = %e, "a job task panicked; its lease will expire and it will be retried");
        }
    }
}
