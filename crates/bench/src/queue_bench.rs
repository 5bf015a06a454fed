//! `praxis-queue-bench`: how fast one worker empties the durable job queue.
//!
//! Enqueues `--jobs` email notices into a fresh database (SQLite file or a fresh
//! PostgreSQL database), then times one in-process worker (`--concurrency` jobs at a time)
//! until the queue is empty. `--sender noop` measures the queue itself (claim, render,
//! record the outcome); `--sender smtp` sends every message to a real SMTP server on
//! 127.0.0.1 (the test sink) through lettre's pooled SMTP transport.
#![forbid(unsafe_code)]

use anyhow::{Result, bail};
use clap::{Parser, ValueEnum};
use futures::future::BoxFuture;
use praxis_services::notifications::Notice;
use praxis_services::notifications::transport::{
    LogSms, Mailer, OutgoingEmail, SendError, SmtpConfig, SmtpMailer, SmtpTls, Transports,
};
use praxis_services::{Actor, Services, Settings, SystemClock};
use praxis_worker::{Worker, WorkerConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Sender {
    /// Accepts every message at once (measures the queue).
    Noop,
    /// A real SMTP server on 127.0.0.1 (end-to-end email throughput).
    Smtp,
}

/// Job-queue throughput of one worker.
#[derive(Parser, Debug)]
#[command(name = "praxis-queue-bench", version, about)]
struct Cli {
    /// Database engine.
    #[arg(long, value_enum)]
    db: Engine,
    /// PostgreSQL: an admin URL (a fresh database is created and dropped through it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    url: String,
    /// Jobs to enqueue and run.
    #[arg(long, default_value_t = 5000)]
    jobs: usize,
    /// Jobs the worker runs at the same time.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// What sends the messages.
    #[arg(long, value_enum, default_value = "noop")]
    sender: Sender,
}

struct NoopMailer;

impl Mailer for NoopMailer {
    fn send<'a>(&'a self, email: &'a OutgoingEmail) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move { Ok(format!("<{}>", email.message_id)) })
    }
    fn describe(&self) -> String {
        "no-op".into()
    }
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
    let started = Instant::now();
    let notices: Vec<Notice> = (0..cli.jobs)
        .map(|i| Notice { to: format!("p{i}@bench.test"), subject: format!("Bench {i}"), body: "Hello.".into() })
        .collect();
    for chunk in notices.chunks(500) {
        svc.enqueue_notices(&Actor::system("bench"), chunk).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let enqueue = started.elapsed();
    let sink = praxis_testkit::sinks::SmtpSink::start().await;
    let mailer: Arc<dyn Mailer> = match cli.sender {
        Sender::Noop => Arc::new(NoopMailer),
        Sender::Smtp => Arc::new(
            SmtpMailer::new(&SmtpConfig {
                host: "127.0.0.1".into(),
                port: sink.port(),
                tls: SmtpTls::None,
                username: None,
                password: None,
                from: "Bench <bench@praxis.test>".into(),
                pool_size: cli.concurrency as u32,
                timeout: Duration::from_secs(30),
            })
            .map_err(|e| anyhow::anyhow!(e))?,
        ),
    };
    let worker = Worker::new(
        svc.clone(),
        Transports { mailer, sms: Arc::new(LogSms) },
        WorkerConfig { name: "bench".into(), concurrency: cli.concurrency, ..WorkerConfig::default() },
    );
    let t0 = Instant::now();
    let tally = worker.run_until_idle().await;
    let secs = t0.elapsed().as_secs_f64();
    if tally.done as usize != cli.jobs {
        bail!("only {} of {} jobs were done: {tally:?}", tally.done, cli.jobs);
    }
    if cli.sender == Sender::Smtp && sink.count() != cli.jobs {
        bail!("the SMTP sink received {} of {}", sink.count(), cli.jobs);
    }
    let stats = svc.queue_stats().await.map_err(|e| anyhow::anyhow!("queue stats: {e}"))?;
    println!(
        "| {:?} | {:?} | {} | {} | {:.2} s | {:.0} jobs/s | enqueue {:.2} s | left waiting {} |",
        cli.db,
        cli.sender,
        cli.concurrency,
        cli.jobs,
        secs,
        cli.jobs as f64 / secs,
        enqueue.as_secs_f64(),
        stats.waiting
    );
    svc.db().close().await;
    drop(test_db);
    Ok(())
}
