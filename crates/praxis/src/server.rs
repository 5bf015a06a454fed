//! Opening the database and running the server.

use crate::config::{Global, ServeArgs};
use anyhow::{Context, Result};
use praxis_services::{Services, Settings, SystemClock};
use praxis_store::{Db, DbOptions};
use praxis_web::{AppState, WebConfig};
use std::sync::Arc;
use std::time::Instant;

/// The public URL from flags, or one derived from the bind address.
pub fn public_url(args: &ServeArgs) -> Option<String> {
    Some(args.public_url.clone().unwrap_or_else(|| format!("http://{}", args.bind)))
}

/// Connects, migrates and wires the services.
pub async fn open(g: &Global, public_url: Option<String>) -> Result<Services> {
    let url = g.database_url()?;
    let mut opts = DbOptions::new(url);
    opts.max_connections = g.pg_max_connections;
    let db = Db::connect(&opts).await.with_context(|| format!("cannot open the database ({})", g.database_label()))?;
    db.migrate().await.with_context(|| format!("cannot migrate the database ({})", g.database_label()))?;
    let mut settings = Settings {
        display_zone: g.zone()?,
        keys: Arc::new(g.key_ring()?),
        data_dir: g.data_dir.clone(),
        backup_dir: g.backup_dir.clone(),
        ..Settings::default()
    };
    if let Some(u) = public_url {
        settings.public_base_url = u.trim_end_matches('/').to_string();
    }
    crate::notify::apply_settings(&g.notify, &mut settings)?;
    crate::payments::apply_settings(&g.payments, &mut settings)?;
    let svc = Services::new(db, Arc::new(SystemClock), settings);
    svc.reindex_patients().await.context("indexing patients for search")?;
    Ok(svc)
}

/// Serves until SIGINT or SIGTERM, then finishes requests in flight and closes the
/// database cleanly.
/// With `worker`, also runs a job worker in this process (stopped gracefully after the
/// last request).
pub async fn serve(svc: Services, args: &ServeArgs, worker: Option<praxis_worker::Worker>) -> Result<()> {
    let started = Instant::now();
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {} (is another program using it? set PRAXIS_BIND)", args.bind))?;
    let addr = listener.local_addr()?;
    let config =
        WebConfig { secure_cookies: args.secure_cookies, trust_proxy: args.trust_proxy, ..WebConfig::default() };
    let db = svc.db().clone();
    praxis_web::metrics::handle();
    svc.ensure_backup_schedule().await.context("saving the default backup schedule")?;
    let housekeeping = tokio::spawn(housekeeping(svc.clone()));
    tracing::info!(%addr, ms = started.elapsed().as_millis() as u64, "Praxis is listening on http://{addr}");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = worker.map(|w| tokio::spawn(w.run(stopped)));
    praxis_web::serve(listener, AppState { svc, config }, shutdown_signal()).await.context("server error")?;
    housekeeping.abort();
    if let Some(w) = worker {
        tracing::info!("shutting down: letting the job worker finish");
        let _ = stop.send(true);
        let _ = w.await;
    }
    tracing::info!("shutting down: closing the database");
    db.close().await;
    Ok(())
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("signal received: finishing requests in flight");
}

/// Lets lapsed holds expire, passes lapsed waiting-list offers on, offers freed time,
/// queues the next scheduled backup and watches backup age, every 15 seconds. Every step is idempotent and claims its rows, so any number of
/// instances may run it.
async fn housekeeping(svc: praxis_services::Services) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(15));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = svc.run_housekeeping().await {
            tracing::warn!(error = %e, "housekeeping failed; will retry");
        }
        if let Err(e) = svc.backup_housekeeping().await {
            tracing::warn!(error = %e, "backup housekeeping failed; will retry");
        }
    }
}
