//! Administration → Backups: the history with each backup's status, size and contents;
//! "back up now" and "verify now" (run by a worker, so a large backup outlasts no
//! request); downloading a backup's files; the schedule and retention; and how to
//! restore.

use super::form::{Fields, Opt, Refusal, done, path_id};
use super::{Layout, PageResult, fmt_time, thousands};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_services::Actor;
use praxis_services::backups::{Backup, BackupKind, BackupSchedule, BackupStatus, ScheduleInput};
use serde::Deserialize;
use uuid::Uuid;

mod health;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .route("/admin/backups", get(dashboard).post(start))
        .route("/admin/backups/schedule", post(save_schedule))
        .route("/admin/backups/{id}/verify", post(verify))
        .route("/admin/backups/{id}/files/{name}", get(download))
}

/// Bytes for people: "1.4 MB".
pub(crate) fn size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    match bytes {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KB", b / 1024.0),
        n if n < 1024 * 1024 * 1024 => format!("{:.1} MB", b / (1024.0 * 1024.0)),
        _ => format!("{:.2} GB", b / (1024.0 * 1024.0 * 1024.0)),
    }
}

struct Row {
    id: String,
    started: String,
    kind: &'static str,
    origin: String,
    status: &'static str,
    status_class: &'static str,
    size: String,
    contents: String,
    error: String,
    verified: String,
    files: Vec<String>,
    can_verify: bool,
    pruned: bool,
}

fn row(b: &Backup, zone: &jiff::tz::TimeZone) -> Row {
    let m = b.manifest.as_ref();
    let mut contents = Vec::new();
    if let Some(m) = m {
        if !m.tables.is_empty() {
            contents.push(format!("{} rows in {} tables", thousands(m.total_rows()), m.tables.len()));
        }
        if let Some(d) = &m.documents {
            contents.push(format!("{} documents", thousands(d.files as i64)));
        }
    }
    Row {
        id: b.id.to_string(),
        started: fmt_time(b.started_at, zone),
        kind: b.kind.label(),
        origin: if b.origin == "scheduled" { "Scheduled".into() } else { "Started by hand".into() },
        status: if b.pruned_at.is_some() { "Removed by retention" } else { b.status.label() },
        status_class: match b.status {
            BackupStatus::Good => "ok",
            BackupStatus::Failed => "bad",
            _ => "warn",
        },
        size: size(b.size_bytes),
        contents: contents.join(" · "),
        error: b.error.clone().unwrap_or_default(),
        verified: b.verified_at.map(|t| fmt_time(t, zone)).unwrap_or_default(),
        files: if b.pruned_at.is_none() {
            m.map(|m| m.parts.iter().map(|p| p.name.clone()).collect()).unwrap_or_default()
        } else {
            Vec::new()
        },
        can_verify: b.pruned_at.is_none() && m.is_some(),
        pruned: b.pruned_at.is_some(),
    }
}

#[derive(Default, Deserialize)]
struct ScheduleForm {
    enabled: Option<String>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    run_at: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    keep_daily: String,
    #[serde(default)]
    keep_weekly: String,
    #[serde(default)]
    keep_monthly: String,
    #[serde(default)]
    copy_dir: String,
}

const SCHEDULE_FIELDS: &[&str] =
    &["kind", "run_at", "time_zone", "keep_daily", "keep_weekly", "keep_monthly", "copy_dir"];

impl ScheduleForm {
    fn of(s: &BackupSchedule) -> Self {
        ScheduleForm {
            enabled: s.enabled.then(|| "on".into()),
            kind: s.kind.as_str().into(),
            run_at: s.run_at.clone(),
            time_zone: s.time_zone.clone(),
            keep_daily: s.retention.daily.to_string(),
            keep_weekly: s.retention.weekly.to_string(),
            keep_monthly: s.retention.monthly.to_string(),
            copy_dir: s.copy_dir.clone().unwrap_or_default(),
        }
    }

    /// The form as the service takes it. A count that is not a number is passed on as
    /// out of range, so the service reports it beside its field with every other problem.
    fn input(&self) -> ScheduleInput {
        let n = |text: &str| text.trim().parse::<i64>().unwrap_or(-1);
        ScheduleInput {
            enabled: self.enabled.is_some(),
            kind: self.kind.clone(),
            run_at: self.run_at.clone(),
            time_zone: self.time_zone.clone(),
            keep_daily: n(&self.keep_daily),
            keep_weekly: n(&self.keep_weekly),
            keep_monthly: n(&self.keep_monthly),
            copy_dir: Some(self.copy_dir.clone()),
        }
    }

    fn kinds(&self) -> Vec<Opt> {
        BackupKind::ALL.iter().map(|k| Opt::new(k.as_str(), k.label(), k.as_str() == self.kind)).collect()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_backups.html")]
struct Dashboard {
    layout: Layout,
    rows: Vec<Row>,
    total: i64,
    last_good: String,
    next_run: String,
    backup_dir: String,
    kinds: Vec<Opt>,
    form: ScheduleForm,
    f: Fields,
    engine_is_postgres: bool,
}

#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

async fn render(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    form: Option<ScheduleForm>,
    f: Fields,
    notice: Option<(&'static str, String)>,
) -> PageResult {
    let zone = st.svc.settings().display_zone.clone();
    let page = st.svc.list_backups(actor, 100, 0).await?;
    let schedule = st.svc.backup_schedule(actor).await?;
    let last_good =
        st.svc.last_good_backup().await?.map(|b| fmt_time(b.started_at, &zone)).unwrap_or_else(|| "none yet".into());
    let next_run = match schedule.next_run {
        Some(t) => fmt_time(t, &zone),
        None => "scheduled backups are off".into(),
    };
    let mut layout = Layout::new(actor, csrf, "Backups", "/admin/backups").zone(&zone);
    if let Some((kind, text)) = notice {
        layout = layout.notice(kind, text);
    }
    let form = form.unwrap_or_else(|| ScheduleForm::of(&schedule));
    Ok(Dashboard {
        layout,
        rows: page.items.iter().map(|b| row(b, &zone)).collect(),
        total: page.total,
        last_good,
        next_run,
        backup_dir: st.svc.backup_dir().display().to_string(),
        kinds: form.kinds(),
        form,
        f,
        engine_is_postgres: st.svc.database_engine() == "postgres",
    }
    .into_response())
}

async fn dashboard(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<MsgQuery>,
) -> PageResult {
    let notice = match q.msg.as_deref() {
        Some("started") => Some((
            "ok",
            "The backup was started. It is written and then verified by a test restore; reload this page to follow it."
                .to_string(),
        )),
        Some("verifying") => Some((
            "ok",
            "The backup is being verified by a test restore; reload this page to see the outcome.".to_string(),
        )),
        Some("saved") => Some(("ok", "The schedule was saved.".to_string())),
        _ => None,
    };
    render(&st, &actor, &csrf, None, Fields::default(), notice).await
}

#[derive(Deserialize)]
struct StartForm {
    #[serde(default)]
    kind: String,
}

async fn start(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(form): Form<StartForm>,
) -> PageResult {
    let Ok(kind) = form.kind.parse::<BackupKind>() else {
        let notice = Some(("error", "Choose what to back up: the database, the documents, or both.".to_string()));
        return render(&st, &actor, &csrf, None, Fields::default(), notice).await;
    };
    st.svc.request_backup(&actor, kind).await?;
    Ok(done("/admin/backups?msg=started".into()))
}

async fn verify(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: Uuid = path_id(&id, "Backup")?;
    match st.svc.request_verification(&actor, id).await {
        Ok(()) => Ok(done("/admin/backups?msg=verifying".into())),
        Err(e) => {
            let r = Refusal::of(e)?;
            render(&st, &actor, &csrf, None, Fields::default(), Some(("error", r.message))).await
        }
    }
}

async fn save_schedule(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(form): Form<ScheduleForm>,
) -> PageResult {
    match st.svc.set_backup_schedule(&actor, &form.input()).await {
        Ok(_) => Ok(done("/admin/backups?msg=saved".into())),
        Err(e) => {
            let r = Refusal::of(e)?;
            let f = Fields::new(r.errors, SCHEDULE_FIELDS);
            let mut res = render(&st, &actor, &csrf, Some(form), f, Some(("error", r.message))).await?;
            *res.status_mut() = r.status;
            Ok(res)
        }
    }
}

async fn download(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Path((id, name)): Path<(String, String)>,
) -> PageResult {
    let id: Uuid = path_id(&id, "Backup")?;
    let path = st.svc.backup_part_for_download(&actor, id, &name).await?;
    Ok(crate::api::backups::file_response(&path, &name).await)
}
