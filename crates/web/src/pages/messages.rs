//! Messages: the staff list of everything sent (and what failed) with retry and cancel,
//! and the message-preference form for a patient (in the portal, and for staff).

use super::{FormErrors, Layout, PageResult, Pager, fmt_time, query_string};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_domain::PatientId;
use praxis_services::notifications::{
    MessageQuery, MessageView, Preferences, PreferencesInput, STATUSES, Template as Kind,
};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/messages", get(list))
        .route("/messages/{id}/retry", post(retry))
        .route("/messages/{id}/cancel", post(cancel))
        .route("/messages/preferences/{patient}", get(staff_preferences).post(save_staff_preferences))
        .route("/my/message-preferences", get(my_preferences).post(save_my_preferences))
}

/// One message as a table row (also used on the appointment page).
pub struct MessageLine {
    /// Id.
    pub id: String,
    /// When queued.
    pub created: String,
    /// Type.
    pub kind: String,
    /// Email or SMS.
    pub channel: &'static str,
    /// Address or number.
    pub recipient: String,
    /// Patient's name.
    pub patient: String,
    /// Appointment id and number.
    pub appointment: Option<(String, String)>,
    /// Status for people.
    pub status: String,
    /// Chip class.
    pub chip: &'static str,
    /// Attempts.
    pub attempts: i64,
    /// Last error.
    pub error: String,
    /// Sent at, or next attempt.
    pub when: String,
    /// Can be sent again.
    pub can_retry: bool,
    /// Can be cancelled.
    pub can_cancel: bool,
}

/// Rows for a list of messages, times in `zone`.
pub fn lines(items: &[MessageView], zone: &jiff::tz::TimeZone) -> Vec<MessageLine> {
    items
        .iter()
        .map(|m| {
            let (status, chip) = match m.status.as_str() {
                "sent" => ("Sent", "ok"),
                "pending" => ("Pending", "off"),
                "failed" => ("Failed, will retry", "warn"),
                "dead" => ("Dead (gave up)", "bad"),
                "cancelled" => ("Cancelled", "off"),
                _ => ("Unknown", "off"),
            };
            let when = match (m.sent_at, m.status.as_str()) {
                (Some(t), _) => format!("sent {}", fmt_time(t, zone)),
                (None, "pending" | "failed") => format!("due {}", fmt_time(m.due_at, zone)),
                _ => String::new(),
            };
            MessageLine {
                id: m.id.to_string(),
                created: fmt_time(m.created_at, zone),
                kind: m.template_label.clone(),
                channel: if m.channel.as_str() == "sms" { "SMS" } else { "Email" },
                recipient: m.recipient.clone(),
                patient: m.patient_name.clone().unwrap_or_default(),
                appointment: m
                    .appointment_id
                    .map(|a| (a.to_string(), m.appointment_number.clone().unwrap_or_else(|| a.to_string()))),
                status: status.into(),
                chip,
                attempts: m.attempts,
                error: m.last_error.clone().unwrap_or_default(),
                when,
                can_retry: matches!(m.status.as_str(), "dead" | "failed" | "cancelled"),
                can_cancel: matches!(m.status.as_str(), "pending" | "failed"),
            }
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "messages.html")]
struct ListPage {
    layout: Layout,
    f: ListQuery,
    statuses: Vec<(&'static str, &'static str)>,
    kinds: Vec<(&'static str, &'static str)>,
    rows: Vec<MessageLine>,
    pager: Pager,
    message_back: String,
}

#[derive(Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    recipient: String,
    page: Option<i64>,
    msg: Option<String>,
}

fn status_label(s: &str) -> &'static str {
    match s {
        "pending" => "Pending",
        "sent" => "Sent",
        "failed" => "Failed (will retry)",
        "dead" => "Dead (gave up)",
        _ => "Cancelled",
    }
}

async fn list(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(f): Query<ListQuery>,
) -> PageResult {
    let q = MessageQuery {
        status: Some(f.status.clone()),
        channel: Some(f.channel.clone()),
        template: Some(f.template.clone()),
        recipient: Some(f.recipient.clone()),
        page: f.page,
        per_page: Some(50),
        ..MessageQuery::default()
    };
    let zone = st.svc.settings().display_zone.clone();
    let mut layout = Layout::new(&actor, &csrf, "Messages", "/messages").zone(&zone);
    let page = match st.svc.list_messages(&actor, &q).await {
        Ok(p) => p,
        Err(ServiceError::Validation(_)) => {
            layout = layout.notice("error", "Choose the filters from the lists shown.");
            st.svc.list_messages(&actor, &MessageQuery { per_page: Some(50), ..MessageQuery::default() }).await?
        }
        Err(e) => return Err(e.into()),
    };
    // Messages a stopped (or killed) worker was sending are said to be in hand, not "running".
    let abandoned = st.svc.queue_stats().await.map(|q| q.abandoned).unwrap_or(0);
    if abandoned > 0 {
        let jobs = if abandoned == 1 { "1 job was".to_string() } else { format!("{abandoned} jobs were") };
        layout = layout.notice(
            "warn",
            format!(
                "{jobs} being sent by a worker that stopped before finishing. Another worker takes them over \
                 automatically once their lease runs out; nothing is lost."
            ),
        );
    }
    if let Some(msg) = f.msg.as_deref() {
        layout = match msg {
            "retried" => layout.notice("ok", "The message is queued to be sent again."),
            "cancelled" => layout.notice("ok", "The message was cancelled; it will not be sent."),
            "not_retryable" => layout.notice("error", "Only a failed, dead or cancelled message can be sent again."),
            "not_cancellable" => layout.notice("error", "Only a message waiting to be sent can be cancelled."),
            _ => layout,
        };
    }
    let filters = [
        ("status", f.status.as_str()),
        ("channel", f.channel.as_str()),
        ("template", f.template.as_str()),
        ("recipient", f.recipient.as_str()),
    ];
    let base = format!("/messages{}", query_string(&filters));
    let back = match f.page {
        Some(p) if p > 1 => format!("{base}{}page={p}", if base.contains('?') { '&' } else { '?' }),
        _ => base.clone(),
    };
    Ok(ListPage {
        layout,
        statuses: STATUSES.iter().map(|s| (*s, status_label(s))).collect(),
        kinds: Kind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        rows: lines(&page.items, &zone),
        pager: Pager { page: page.page, per_page: page.per_page, total: page.total, base },
        f,
        message_back: back,
    }
    .into_response())
}

#[derive(Default, Deserialize)]
struct ActionForm {
    #[serde(default)]
    back: String,
}

/// Only our own list pages as return targets (never an open redirect).
fn back_to(back: &str, msg: &str) -> String {
    let back = if back.starts_with("/messages") || back.starts_with("/appointments/") { back } else { "/messages" };
    let (path, _) = back.split_once('#').unwrap_or((back, ""));
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}msg={msg}")
}

async fn act(st: &AppState, actor: &Actor, id: &str, retry: bool, back: &str) -> PageResult {
    let Ok(id) = id.parse::<Uuid>() else {
        return Err(ServiceError::NotFound { what: "Message" }.into());
    };
    let result = if retry { st.svc.retry_message(actor, id).await } else { st.svc.cancel_message(actor, id).await };
    match result {
        Ok(_) => Ok(Redirect::to(&back_to(back, if retry { "retried" } else { "cancelled" })).into_response()),
        Err(ServiceError::Conflict { code, .. }) => Ok(Redirect::to(&back_to(back, code)).into_response()),
        Err(e) => Err(e.into()),
    }
}

async fn retry(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> PageResult {
    act(&st, &actor, &id, true, &f.back).await
}

async fn cancel(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> PageResult {
    act(&st, &actor, &id, false, &f.back).await
}

// ------------------------------------------------------------------ preferences

#[derive(Template, WebTemplate)]
#[template(path = "messages_preferences.html")]
struct PreferencesPage {
    layout: Layout,
    action: String,
    prefs: Preferences,
    quiet_start: String,
    quiet_end: String,
    errors: FormErrors,
    own: bool,
}

#[derive(Default, Deserialize)]
struct PreferencesForm {
    #[serde(default)]
    email_enabled: String,
    #[serde(default)]
    sms_enabled: String,
    #[serde(default)]
    quiet_start: String,
    #[serde(default)]
    quiet_end: String,
}

fn preferences_page(
    actor: &Actor,
    csrf: &CsrfToken,
    prefs: Preferences,
    own: bool,
    notice: Option<(&'static str, &str)>,
) -> PreferencesPage {
    let (title, section, action) = if own {
        ("Message settings".to_string(), "/my/message-preferences", "/my/message-preferences".to_string())
    } else {
        ("Message settings".to_string(), "/messages", format!("/messages/preferences/{}", prefs.patient_id))
    };
    let mut layout = Layout::new(actor, csrf, title, section);
    if let Some((kind, text)) = notice {
        layout = layout.notice(kind, text);
    }
    PreferencesPage {
        layout,
        action,
        quiet_start: prefs.quiet_start.clone(),
        quiet_end: prefs.quiet_end.clone(),
        prefs,
        errors: FormErrors::default(),
        own,
    }
}

async fn show_preferences(st: &AppState, actor: &Actor, csrf: &CsrfToken, patient: PatientId, own: bool) -> PageResult {
    let prefs = st.svc.get_preferences(actor, patient).await?;
    Ok(preferences_page(actor, csrf, prefs, own, None).into_response())
}

async fn save_preferences(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    patient: PatientId,
    own: bool,
    f: PreferencesForm,
) -> PageResult {
    let input = PreferencesInput {
        email_enabled: Some(!f.email_enabled.is_empty()),
        sms_enabled: Some(!f.sms_enabled.is_empty()),
        quiet_start: Some(f.quiet_start.clone()),
        quiet_end: Some(f.quiet_end.clone()),
    };
    match st.svc.set_preferences(actor, patient, input).await {
        Ok(p) => Ok(preferences_page(actor, csrf, p, own, Some(("ok", "Your choices are saved."))).into_response()),
        Err(ServiceError::Validation(errors)) => {
            let prefs = st.svc.get_preferences(actor, patient).await?;
            let mut page = preferences_page(actor, csrf, prefs, own, Some(("error", "Some fields need attention.")));
            page.quiet_start = f.quiet_start;
            page.quiet_end = f.quiet_end;
            page.errors = FormErrors(errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn my_patient(st: &AppState, actor: &Actor) -> Result<PatientId, super::PageError> {
    Ok(st.svc.my_patient(actor).await?.ok_or(ServiceError::NotFound { what: "Patient" })?.id)
}

async fn my_preferences(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
) -> PageResult {
    let me = my_patient(&st, &actor).await?;
    show_preferences(&st, &actor, &csrf, me, true).await
}

async fn save_my_preferences(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(f): Form<PreferencesForm>,
) -> PageResult {
    let me = my_patient(&st, &actor).await?;
    save_preferences(&st, &actor, &csrf, me, true, f).await
}

fn parse_patient(s: &str) -> Result<PatientId, super::PageError> {
    s.parse().map_err(|_| super::PageError(ServiceError::NotFound { what: "Patient" }))
}

async fn staff_preferences(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(patient): Path<String>,
) -> PageResult {
    show_preferences(&st, &actor, &csrf, parse_patient(&patient)?, false).await
}

async fn save_staff_preferences(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(patient): Path<String>,
    Form(f): Form<PreferencesForm>,
) -> PageResult {
    save_preferences(&st, &actor, &csrf, parse_patient(&patient)?, false, f).await
}

#[cfg(test)]
mod tests {
    use super::back_to;

    #[test]
    fn actions_only_return_to_our_own_pages() {
        assert_eq!(back_to("/messages?status=dead", "retried"), "/messages?status=dead&msg=retried");
        assert_eq!(back_to("https://evil.example/", "retried"), "/messages?msg=retried");
        assert_eq!(back_to("/appointments/x#messages", "cancelled"), "/appointments/x?msg=cancelled");
    }
}
