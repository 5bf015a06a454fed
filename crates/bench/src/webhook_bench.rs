//! `praxis-webhook-bench`: webhook deliveries per second.
//!
//! Registers one endpoint (a real HTTP receiver on 127.0.0.1, the test sink) for
//! `patient.created`, registers `--events` patients in one import (each writes its event
//! and delivery job in the patient's transaction), then times `--workers` in-process
//! workers, each running `--concurrency` jobs at a time, until every delivery is
//! delivered: claim, sign, POST, record the outcome.
#![forbid(unsafe_code)]

use anyhow::{Result, anyhow, bail};
use clap::{Parser, ValueEnum};
use praxis_services::integrations::EndpointInput;
use praxis_services::notifications::transport::Transports;
use praxis_services::patients::NewPatient;
use praxis_services::{Actor, Services, Settings, SystemClock};
use praxis_worker::{Worker, WorkerConfig};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Engine {
    Sqlite,
    Postgres,
}

/// Webhook delivery throughput.
#[derive(Parser, Debug)]
#[command(name = "praxis-webhook-bench", version, about)]
struct Cli {
    /// Database engine.
    #[arg(long, value_enum)]
    db: Engine,
    /// PostgreSQL: an admin URL (a fresh database is created and dropped through it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    url: String,
    /// Events (deliveries) to send.
    #[arg(long, default_value_t = 3000)]
    events: usize,
    /// Workers running side by side.
    #[arg(long, default_value_t = 3)]
    workers: usize,
    /// Jobs each worker runs at the same time.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let test_db = match cli.db {
        Engine::Sqlite => praxis_testkit::TestDb::sqlite(),
        Engine::Postgres => praxis_testkit::TestDb::postgres(&cli.url).await,
    };
    let db = test_db.open().await;
    let svc = Services::new(db, Arc::new(SystemClock), Settings::default());
    let admin = Actor::system("bench");
    let sink = praxis_testkit::sinks::WebhookSink::start(Vec::new()).await;
    let input = EndpointInput { url: sink.url.clone(), events: vec!["patient.created".into()], ..Default::default() };
    svc.create_webhook(&admin, &input).await.map_err(|e| anyhow!("{e}"))?;
    let started = Instant::now();
    let patients: Vec<NewPatient> = (0..cli.events)
        .map(|i| NewPatient { given_name: format!("Bench{i}"), family_name: "Webhook".into(), ..Default::default() })
        .collect();
    let report = svc.import_patients(&admin, patients).await.map_err(|e| anyhow!("{e}"))?;
    if !report.refused.is_empty() {
        bail!("{} patients were refused", report.refused.len());
    }
    let enqueue = started.elapsed();
    let t0 = Instant::now();
    let runs = (0..cli.workers).map(|n| {
        let cfg = WorkerConfig { name: format!("bench-{n}"), concurrency: cli.concurrency, ..WorkerConfig::default() };
        let w = Worker::new(svc.clone(), Transports::log_only(), cfg);
        async move { w.run_until_idle().await }
    });
    let tallies = futures::future::join_all(runs).await;
    let secs = t0.elapsed().as_secs_f64();
    let done: u64 = tallies.iter().map(|t| t.done).sum();
    if done as usize != cli.events || sink.count() as usize != cli.events {
        bail!("{done} jobs done and {} deliveries received of {}: {tallies:?}", sink.count(), cli.events);
    }
    println!(
        "| {:?} | {} × {} | {} | {:.2} s | {:.0} deliveries/s | events written {:.2} s |",
        cli.db,
        cli.workers,
        cli.concurrency,
        cli.events,
        secs,
        cli.events as f64 / secs,
        enqueue.as_secs_f64(),
    );
    svc.db().close().await;
    drop(test_db);
    Ok(())
}
