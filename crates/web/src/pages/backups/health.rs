//! Administration → System health: the database, the data and backup folders, the job
//! queue, backups over time, open alerts (with "dismiss"), the version and uptime.

use super::size;
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::charts::{Series, stacked_bars};
use crate::pages::form::done;
use crate::pages::{Layout, PageResult, fmt_time, thousands};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_services::backups::BackupStatus;
use praxis_services::backups::health::Storage;
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/admin/health", get(page)).route("/admin/health/alerts/dismiss", post(dismiss))
}

/// One tile of the overview.
struct Tile {
    label: &'static str,
    value: String,
    detail: String,
    state: &'static str,
}

struct AlertRow {
    key: String,
    message: String,
    opened: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_health.html")]
struct HealthPage {
    layout: Layout,
    tiles: Vec<Tile>,
    alerts: Vec<AlertRow>,
    chart: String,
    version: String,
    uptime: String,
}

fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        s if s < 120 => format!("{s} seconds"),
        s if s < 7200 => format!("{} minutes", s / 60),
        s if s < 2 * 86400 => format!("{} hours", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

fn storage_tile(label: &'static str, s: &Storage) -> Tile {
    let free = s.free_bytes.map(|b| size(b as i64)).unwrap_or_else(|| "unknown".into());
    let total = s.total_bytes.map(|b| format!(" of {}", size(b as i64))).unwrap_or_default();
    Tile {
        label,
        value: format!("{free} free{total}"),
        detail: s.problem.clone().unwrap_or_else(|| format!("{} — writable", s.path)),
        state: match (&s.problem, s.writable) {
            (_, false) => "bad",
            (Some(_), true) => "warn",
            (None, true) => "ok",
        },
    }
}

#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

async fn page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<MsgQuery>,
) -> PageResult {
    let h = st.svc.system_health(&actor).await?;
    let zone = st.svc.settings().display_zone.clone();
    let backup_tile = match (&h.last_good_backup, h.last_good_age_seconds) {
        (Some(b), Some(age)) => Tile {
            label: "Last good backup",
            value: format!("{} ago", duration(age)),
            detail: format!("{} · {}", fmt_time(b.started_at, &zone), size(b.size_bytes)),
            state: if age > 26 * 3600 { "bad" } else { "ok" },
        },
        _ => Tile {
            label: "Last good backup",
            value: "none yet".into(),
            detail: "Start one under Backups.".into(),
            state: "bad",
        },
    };
    let tiles = vec![
        Tile {
            label: "Database",
            value: if h.database_ok { "answering".into() } else { "not answering".into() },
            detail: format!(
                "{} · {}",
                if h.engine == "postgres" { "PostgreSQL" } else { "SQLite" },
                h.database_bytes.map(size).unwrap_or_else(|| "size unknown".into())
            ),
            state: if h.database_ok { "ok" } else { "bad" },
        },
        storage_tile("Data folder", &h.storage),
        storage_tile("Backup folder", &h.backup_storage),
        Tile {
            label: "Job queue",
            value: if h.queue_abandoned > 0 {
                format!(
                    "{} due, {} running, {} left by a stopped worker (taken over automatically)",
                    thousands(h.queue_due),
                    thousands(h.queue_running),
                    thousands(h.queue_abandoned)
                )
            } else {
                format!("{} due, {} running", thousands(h.queue_due), thousands(h.queue_running))
            },
            detail: format!(
                "{} waiting in all · oldest due {} · {} gave up",
                thousands(h.queue_waiting),
                if h.queue_due > 0 { format!("{} ago", duration(h.oldest_due_seconds)) } else { "—".into() },
                thousands(h.queue_dead)
            ),
            state: if h.oldest_due_seconds > 600 || h.queue_dead > 0 { "warn" } else { "ok" },
        },
        backup_tile,
        Tile {
            label: "Next scheduled backup",
            value: h.schedule.next_run.map(|t| fmt_time(t, &zone)).unwrap_or_else(|| "off".into()),
            detail: format!("{} at {} {}", h.schedule.kind.label(), h.schedule.run_at, h.schedule.time_zone),
            state: if h.schedule.enabled { "ok" } else { "warn" },
        },
    ];
    let labels: Vec<String> =
        h.recent_backups.iter().map(|b| b.started_at.to_zoned(zone.clone()).strftime("%-d %b").to_string()).collect();
    let kb = |good: bool| -> Vec<i64> {
        h.recent_backups
            .iter()
            .map(|b| if (b.status == BackupStatus::Good) == good { (b.size_bytes + 1023) / 1024 } else { 0 })
            .collect()
    };
    let chart = if h.recent_backups.is_empty() {
        String::new()
    } else {
        stacked_bars(
            "Backup size over time (KB)",
            "The size of each of the latest backups in kilobytes, oldest first; good backups and the others apart.",
            &labels,
            &[
                Series { name: "Good", fill: "#2f7d4f", values: kb(true) },
                Series { name: "Not good", fill: "#b3261e", values: kb(false) },
            ],
        )
    };
    let alerts = st
        .svc
        .open_alerts(&actor)
        .await?
        .into_iter()
        .map(|a| AlertRow { key: a.key, message: a.message, opened: fmt_time(a.opened_at, &zone) })
        .collect();
    let mut layout = Layout::new(&actor, &csrf, "System health", "/admin/health").zone(&zone);
    if q.msg.as_deref() == Some("dismissed") {
        layout = layout.notice("ok", "The alert was dismissed.");
    }
    Ok(HealthPage { layout, tiles, alerts, chart, version: h.version, uptime: duration(h.uptime_seconds as i64) }
        .into_response())
}

#[derive(Deserialize)]
struct DismissForm {
    #[serde(default)]
    key: String,
}

async fn dismiss(State(st): State<AppState>, PageActor(actor): PageActor, Form(f): Form<DismissForm>) -> PageResult {
    st.svc.dismiss_alert(&actor, &f.key).await?;
    Ok(done("/admin/health?msg=dismissed".into()))
}
