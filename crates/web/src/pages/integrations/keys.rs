//! The integrations overview: API keys (list, create — the key shown once —, revoke)
//! and the list of webhook endpoints with the form to register one.

use super::{area_options, event_options};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::form::{Fields, Opt, Refusal, done, path_id};
use crate::pages::{Layout, PageResult, fmt_time};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_services::Actor;
use praxis_services::integrations::{ApiKey, ApiKeyInput, EndpointInput, KeyAccess};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/integrations", get(overview))
        .route("/admin/integrations/keys", post(create_key))
        .route("/admin/integrations/keys/{id}/revoke", post(revoke_key))
        .route("/admin/integrations/webhooks", post(super::webhooks::create))
}

pub(super) struct KeyRow {
    id: String,
    name: String,
    prefix: String,
    grant: String,
    areas: String,
    created: String,
    last_used: String,
    revoked: String,
}

fn key_row(k: &ApiKey, zone: &jiff::tz::TimeZone) -> KeyRow {
    KeyRow {
        id: k.id.to_string(),
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        grant: format!(
            "{} · {}",
            k.role.label(),
            if k.access == KeyAccess::Read { "read only" } else { "read and write" }
        ),
        areas: k.areas.iter().map(|a| a.label()).collect::<Vec<_>>().join(", "),
        created: format!(
            "{}{}",
            fmt_time(k.created_at, zone),
            k.created_by.as_deref().map(|n| format!(" by {n}")).unwrap_or_default()
        ),
        last_used: match (&k.last_used_at, &k.last_used_ip) {
            (Some(t), Some(ip)) => format!("{} from {ip}", fmt_time(*t, zone)),
            (Some(t), None) => fmt_time(*t, zone),
            _ => "never".into(),
        },
        revoked: k.revoked_at.map(|t| fmt_time(t, zone)).unwrap_or_default(),
    }
}

pub(super) struct EndpointRow {
    id: String,
    url: String,
    description: String,
    events: String,
    active: bool,
}

/// The key form as typed.
#[derive(Default, Deserialize)]
pub(super) struct KeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    access: String,
    #[serde(default)]
    areas: Vec<String>,
}

/// The endpoint form as typed.
#[derive(Default, Deserialize)]
pub(super) struct EndpointForm {
    #[serde(default)]
    pub(super) url: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) events: Vec<String>,
    pub(super) active: Option<String>,
}

impl EndpointForm {
    pub(super) fn input(&self, active: Option<bool>) -> EndpointInput {
        EndpointInput {
            url: self.url.clone(),
            description: self.description.clone(),
            events: self.events.clone(),
            active,
        }
    }
}

const KEY_FIELDS: &[&str] = &["name", "role", "access", "areas"];
pub(super) const ENDPOINT_FIELDS: &[&str] = &["url", "description", "events"];

#[derive(Template, WebTemplate)]
#[template(path = "admin_integrations.html")]
struct Overview {
    layout: Layout,
    keys: Vec<KeyRow>,
    endpoints: Vec<EndpointRow>,
    key_form: KeyForm,
    roles: Vec<Opt>,
    accesses: Vec<Opt>,
    areas: Vec<Opt>,
    kf: Fields,
    endpoint_form: EndpointForm,
    events: Vec<Opt>,
    ef: Fields,
    /// A key or secret just created, shown this once: (what, value).
    reveal: Option<(&'static str, String)>,
}

/// What the overview shows besides the lists.
#[derive(Default)]
pub(super) struct OverviewState {
    pub(super) key_form: Option<KeyForm>,
    pub(super) kf: Fields,
    pub(super) endpoint_form: Option<EndpointForm>,
    pub(super) ef: Fields,
    pub(super) reveal: Option<(&'static str, String)>,
    pub(super) notice: Option<(&'static str, String)>,
}

pub(super) async fn render(st: &AppState, actor: &Actor, csrf: &CsrfToken, s: OverviewState) -> PageResult {
    let zone = st.svc.settings().display_zone.clone();
    let keys = st.svc.list_api_keys(actor).await?;
    let endpoints = st.svc.list_webhooks(actor).await?;
    let mut layout = Layout::new(actor, csrf, "Integrations", "/admin/integrations").zone(&zone);
    if let Some((kind, text)) = s.notice {
        layout = layout.notice(kind, text);
    }
    let key_form =
        s.key_form.unwrap_or_else(|| KeyForm { access: "read".into(), role: "staff".into(), ..Default::default() });
    let endpoint_form = s.endpoint_form.unwrap_or_default();
    Ok(Overview {
        layout,
        keys: keys.iter().map(|k| key_row(k, &zone)).collect(),
        endpoints: endpoints
            .iter()
            .map(|e| EndpointRow {
                id: e.id.to_string(),
                url: e.url.clone(),
                description: e.description.clone(),
                events: e.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "),
                active: e.active,
            })
            .collect(),
        roles: [
            ("staff", "Staff: scheduling, registration and billing"),
            ("admin", "Administrator: everything in its areas"),
        ]
        .iter()
        .map(|(v, l)| Opt::new(*v, *l, key_form.role == *v))
        .collect(),
        accesses: [("read", "Read only"), ("read_write", "Read and write")]
            .iter()
            .map(|(v, l)| Opt::new(*v, *l, key_form.access == *v))
            .collect(),
        areas: area_options(&key_form.areas),
        events: event_options(&endpoint_form.events),
        key_form,
        kf: s.kf,
        endpoint_form,
        ef: s.ef,
        reveal: s.reveal,
    }
    .into_response())
}

#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

async fn overview(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<MsgQuery>,
) -> PageResult {
    let notice = match q.msg.as_deref() {
        Some("revoked") => Some(("ok", "The key was revoked. Requests made with it are now refused.".to_string())),
        Some("removed") => Some(("ok", "The endpoint was removed. Nothing more is sent to it.".to_string())),
        _ => None,
    };
    render(&st, &actor, &csrf, OverviewState { notice, ..Default::default() }).await
}

async fn create_key(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(form): Form<KeyForm>,
) -> PageResult {
    let input = ApiKeyInput {
        name: form.name.clone(),
        role: form.role.clone(),
        access: form.access.clone(),
        areas: form.areas.clone(),
    };
    match st.svc.create_api_key(&actor, &input).await {
        Ok(created) => {
            let s = OverviewState {
                reveal: Some(("API key", created.token)),
                notice: Some((
                    "ok",
                    format!("The key “{}” was created. Copy it now: it is shown only this once.", created.key.name),
                )),
                ..Default::default()
            };
            render(&st, &actor, &csrf, s).await
        }
        Err(e) => {
            let r = Refusal::of(e)?;
            let s = OverviewState {
                kf: Fields::new(r.errors, KEY_FIELDS),
                key_form: Some(form),
                notice: Some(("error", r.message)),
                ..Default::default()
            };
            let mut res = render(&st, &actor, &csrf, s).await?;
            *res.status_mut() = r.status;
            Ok(res)
        }
    }
}

async fn revoke_key(PageActor(actor): PageActor, State(st): State<AppState>, Path(id): Path<String>) -> PageResult {
    let id: Uuid = path_id(&id, "API key")?;
    st.svc.revoke_api_key(&actor, id).await?;
    Ok(done("/admin/integrations?msg=revoked".into()))
}
