//! One webhook endpoint: its settings (address, events, paused or not), removing it, and
//! its delivery log with a resend button per delivery. Registering is on the overview.

use super::event_options;
use super::keys::{ENDPOINT_FIELDS, EndpointForm, OverviewState, render as render_overview};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::form::{Fields, Opt, Refusal, done, path_id};
use crate::pages::{Layout, PageResult, Pager, fmt_time};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_services::Actor;
use praxis_services::integrations::{WebhookDelivery, WebhookEndpoint};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/integrations/webhooks/{id}", get(detail).post(update))
        .route("/admin/integrations/webhooks/{id}/remove", post(remove))
        .route("/admin/integrations/deliveries/{id}/resend", post(resend))
}

struct DeliveryRow {
    id: String,
    created: String,
    event: &'static str,
    status: String,
    status_class: &'static str,
    attempts: i64,
    answer: String,
    error: String,
    resent: bool,
    body: String,
}

fn delivery_row(d: &WebhookDelivery, zone: &jiff::tz::TimeZone) -> DeliveryRow {
    DeliveryRow {
        id: d.id.to_string(),
        created: fmt_time(d.created_at, zone),
        event: d.event.as_str(),
        status: match d.status.as_str() {
            "pending" => "Waiting to be sent".into(),
            "retrying" => "Failed; will retry".into(),
            "delivered" => "Delivered".into(),
            "dead" => "Gave up".into(),
            other => other.to_string(),
        },
        status_class: match d.status.as_str() {
            "delivered" => "ok",
            "dead" => "bad",
            _ => "warn",
        },
        attempts: d.attempts,
        answer: match (d.last_status, d.last_duration_ms, d.last_attempt_at) {
            (Some(s), Some(ms), Some(t)) => format!("HTTP {s} in {ms} ms, {}", fmt_time(t, zone)),
            (None, _, Some(t)) => format!("no answer, {}", fmt_time(t, zone)),
            _ => String::new(),
        },
        error: d.last_error.clone().unwrap_or_default(),
        resent: d.resend_of.is_some(),
        body: serde_json::to_string_pretty(&d.body).unwrap_or_default(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_webhook.html")]
struct Detail {
    layout: Layout,
    id: String,
    form: EndpointForm,
    events: Vec<Opt>,
    f: Fields,
    deliveries: Vec<DeliveryRow>,
    pager: Pager,
}

#[derive(Deserialize)]
struct DetailQuery {
    msg: Option<String>,
    page: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
async fn render(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    e: &WebhookEndpoint,
    form: Option<EndpointForm>,
    f: Fields,
    page: i64,
    notice: Option<(&'static str, String)>,
) -> PageResult {
    let zone = st.svc.settings().display_zone.clone();
    let log = st.svc.list_webhook_deliveries(actor, e.id, page, 50).await?;
    let mut layout = Layout::new(actor, csrf, format!("Webhook: {}", e.url), "/admin/integrations").zone(&zone);
    if let Some((kind, text)) = notice {
        layout = layout.notice(kind, text);
    }
    let form = form.unwrap_or_else(|| EndpointForm {
        url: e.url.clone(),
        description: e.description.clone(),
        events: e.events.iter().map(|e| e.as_str().to_string()).collect(),
        active: e.active.then(|| "on".into()),
    });
    Ok(Detail {
        layout,
        id: e.id.to_string(),
        events: event_options(&form.events),
        form,
        f,
        deliveries: log.items.iter().map(|d| delivery_row(d, &zone)).collect(),
        pager: Pager {
            page: log.page,
            per_page: log.per_page,
            total: log.total,
            base: format!("/admin/integrations/webhooks/{}", e.id),
        },
    }
    .into_response())
}

async fn detail(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> PageResult {
    let id: Uuid = path_id(&id, "Webhook endpoint")?;
    let e = st.svc.get_webhook(&actor, id).await?;
    let notice = match q.msg.as_deref() {
        Some("saved") => Some(("ok", "The endpoint was saved.".to_string())),
        Some("resent") => Some(("ok", "The event is being sent again; reload to see the outcome.".to_string())),
        _ => None,
    };
    render(&st, &actor, &csrf, &e, None, Fields::default(), q.page.unwrap_or(1), notice).await
}

/// Registers an endpoint (the form is on the overview, which shows the secret once).
pub(super) async fn create(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(form): Form<EndpointForm>,
) -> PageResult {
    match st.svc.create_webhook(&actor, &form.input(Some(true))).await {
        Ok(created) => {
            let s = OverviewState {
                reveal: Some(("signing secret", created.secret)),
                notice: Some((
                    "ok",
                    format!(
                        "The endpoint {} was registered. Copy its signing secret now: it is shown only this once.",
                        created.endpoint.url
                    ),
                )),
                ..Default::default()
            };
            render_overview(&st, &actor, &csrf, s).await
        }
        Err(e) => {
            let r = Refusal::of(e)?;
            let s = OverviewState {
                ef: Fields::new(r.errors, ENDPOINT_FIELDS),
                endpoint_form: Some(form),
                notice: Some(("error", r.message)),
                ..Default::default()
            };
            let mut res = render_overview(&st, &actor, &csrf, s).await?;
            *res.status_mut() = r.status;
            Ok(res)
        }
    }
}

async fn update(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<EndpointForm>,
) -> PageResult {
    let id: Uuid = path_id(&id, "Webhook endpoint")?;
    let e = st.svc.get_webhook(&actor, id).await?;
    match st.svc.update_webhook(&actor, id, &form.input(Some(form.active.is_some()))).await {
        Ok(_) => Ok(done(format!("/admin/integrations/webhooks/{id}?msg=saved"))),
        Err(err) => {
            let r = Refusal::of(err)?;
            let f = Fields::new(r.errors, ENDPOINT_FIELDS);
            let mut res = render(&st, &actor, &csrf, &e, Some(form), f, 1, Some(("error", r.message))).await?;
            *res.status_mut() = r.status;
            Ok(res)
        }
    }
}

async fn remove(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<String>) -> PageResult {
    let id: Uuid = path_id(&id, "Webhook endpoint")?;
    st.svc.remove_webhook(&actor, id).await?;
    Ok(done("/admin/integrations?msg=removed".into()))
}

async fn resend(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<String>) -> PageResult {
    let id: Uuid = path_id(&id, "Delivery")?;
    let d = st.svc.resend_webhook_delivery(&actor, id).await?;
    Ok(done(format!("/admin/integrations/webhooks/{}?msg=resent", d.endpoint_id)))
}
