//! Services (appointment types): the list and the new/edit form with every rule a
//! service has. Prices are typed in major units ("120.50") and stored in minor units.

use super::{Fields, Opt, Reader, Refusal, done, layout, path_id};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::money::{format_major, parse_major};
use crate::pages::{Layout, PageError, PageResult};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_domain::{Currency, Permission, ServiceId, SpecialtyId};
use praxis_services::catalog::{Service, ServiceInput, ServiceMode};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/setup/services", get(list).post(create))
        .route("/setup/services/new", get(new))
        .route("/setup/services/{id}", get(edit).post(update))
}

/// The order fields appear in on the form (the first invalid one takes the focus).
const FIELDS: &[&str] = &[
    "name",
    "description",
    "specialty_id",
    "duration_minutes",
    "price",
    "currency",
    "mode",
    "capacity",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "slot_step_minutes",
    "min_notice_minutes",
    "booking_horizon_days",
    "late_cancellation_minutes",
    "requires_approval",
    "active",
];

#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

/// "50 min", "1 h 30 min".
fn minutes(n: i64) -> String {
    match (n / 60, n % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

struct ServiceRow {
    id: String,
    name: String,
    specialty: String,
    duration: String,
    price: String,
    mode: &'static str,
    size: String,
    active: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_services.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ServiceRow>,
    can_edit: bool,
}

fn mode_label(m: ServiceMode) -> &'static str {
    match m {
        ServiceMode::InPerson => "In person",
        ServiceMode::Video => "Video",
    }
}

async fn list(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<MsgQuery>,
) -> PageResult {
    let services = st.svc.list_services(&actor).await?;
    let specialties = st.svc.list_specialties(&actor).await?;
    let money = crate::pages::billing::money_for(services.iter().map(|s| s.price.currency.as_str()));
    let mut rows: Vec<ServiceRow> = services
        .iter()
        .map(|s| ServiceRow {
            id: s.id.to_string(),
            name: s.name.clone(),
            specialty: s
                .specialty_id
                .and_then(|id| specialties.iter().find(|x| x.id == id))
                .map(|x| x.name.clone())
                .unwrap_or_default(),
            duration: minutes(s.duration_minutes),
            price: money(s.price.amount_minor, s.price.currency.as_str()),
            mode: mode_label(s.mode),
            size: if s.is_group() { format!("Group, up to {}", s.capacity) } else { "Individual".into() },
            active: s.active,
        })
        .collect();
    rows.sort_by_key(|r| r.name.to_lowercase());
    let mut layout = layout(&actor, &csrf, "Services", &[]);
    if q.msg.as_deref() == Some("saved") {
        layout = layout.notice("ok", "The service was saved.");
    }
    Ok(ListPage { layout, rows, can_edit: actor.can(Permission::ManageCatalog) }.into_response())
}

/// What the service form holds, as typed (numbers stay text until they are read).
#[derive(Deserialize)]
struct ServiceForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    specialty_id: String,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    buffer_before_minutes: String,
    #[serde(default)]
    buffer_after_minutes: String,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    min_notice_minutes: String,
    #[serde(default)]
    booking_horizon_days: String,
    #[serde(default)]
    late_cancellation_minutes: String,
    #[serde(default)]
    slot_step_minutes: String,
    requires_approval: Option<String>,
    active: Option<String>,
}

impl Default for ServiceForm {
    /// A new service: the services' defaults, written out so people see them.
    fn default() -> Self {
        ServiceForm {
            name: String::new(),
            description: String::new(),
            specialty_id: String::new(),
            duration_minutes: "30".into(),
            price: "0.00".into(),
            currency: "AUD".into(),
            buffer_before_minutes: "0".into(),
            buffer_after_minutes: "0".into(),
            capacity: "1".into(),
            mode: "in_person".into(),
            min_notice_minutes: "0".into(),
            booking_horizon_days: "90".into(),
            late_cancellation_minutes: "0".into(),
            slot_step_minutes: "15".into(),
            requires_approval: None,
            active: Some("on".into()),
        }
    }
}

impl ServiceForm {
    fn of(s: &Service) -> Self {
        ServiceForm {
            name: s.name.clone(),
            description: s.description.clone(),
            specialty_id: s.specialty_id.map(|x| x.to_string()).unwrap_or_default(),
            duration_minutes: s.duration_minutes.to_string(),
            price: format_major(s.price.amount_minor, s.price.currency),
            currency: s.price.currency.to_string(),
            buffer_before_minutes: s.buffer_before_minutes.to_string(),
            buffer_after_minutes: s.buffer_after_minutes.to_string(),
            capacity: s.capacity.to_string(),
            mode: s.mode.as_str().into(),
            min_notice_minutes: s.min_notice_minutes.to_string(),
            booking_horizon_days: s.booking_horizon_days.to_string(),
            late_cancellation_minutes: s.late_cancellation_minutes.to_string(),
            slot_step_minutes: s.slot_step_minutes.to_string(),
            requires_approval: s.requires_approval.then(|| "on".into()),
            active: s.active.then(|| "on".into()),
        }
    }

    /// Reads the form into the services' input; the price is converted to minor units
    /// of the chosen currency, refusing more decimal places than it has.
    fn input(&self) -> Result<ServiceInput, ServiceError> {
        let mut read = Reader::default();
        let currency_text = Some(self.currency.trim()).filter(|c| !c.is_empty()).unwrap_or("AUD");
        let price_minor = match Currency::parse(currency_text) {
            Ok(currency) => match parse_major(&self.price, currency) {
                Ok(minor) => Some(minor),
                Err(message) => {
                    read.add("price", message);
                    None
                }
            },
            // The services explain the currency; the price cannot be read without it.
            Err(_) => Some(0),
        };
        let mode = match self.mode.as_str() {
            "video" => Some(ServiceMode::Video),
            "in_person" | "" => Some(ServiceMode::InPerson),
            _ => {
                read.add("mode", "Choose in person or video.");
                None
            }
        };
        let input = ServiceInput {
            name: self.name.clone(),
            description: self.description.clone(),
            specialty_id: read.id::<SpecialtyId>("specialty_id", &self.specialty_id),
            duration_minutes: read.number("duration_minutes", &self.duration_minutes),
            price_minor,
            currency: Some(currency_text.to_string()),
            buffer_before_minutes: read.number("buffer_before_minutes", &self.buffer_before_minutes),
            buffer_after_minutes: read.number("buffer_after_minutes", &self.buffer_after_minutes),
            capacity: read.number("capacity", &self.capacity),
            mode,
            min_notice_minutes: read.number("min_notice_minutes", &self.min_notice_minutes),
            booking_horizon_days: read.number("booking_horizon_days", &self.booking_horizon_days),
            late_cancellation_minutes: read.number("late_cancellation_minutes", &self.late_cancellation_minutes),
            slot_step_minutes: read.number("slot_step_minutes", &self.slot_step_minutes),
            requires_approval: Some(self.requires_approval.is_some()),
            active: Some(self.active.is_some()),
        };
        read.finish()?;
        Ok(input)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_service_form.html")]
struct FormPage {
    layout: Layout,
    service: Option<Service>,
    form: ServiceForm,
    f: Fields,
    specialties: Vec<Opt>,
    modes: Vec<Opt>,
    action: String,
}

async fn form_page(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    service: Option<Service>,
    form: ServiceForm,
    f: Fields,
) -> Result<FormPage, PageError> {
    let mut specialties = vec![Opt::new("", "None", form.specialty_id.is_empty())];
    specialties.extend(
        st.svc
            .list_specialties(actor)
            .await?
            .into_iter()
            .map(|s| Opt::new(s.id.to_string(), s.name, s.id.to_string() == form.specialty_id)),
    );
    let modes = vec![
        Opt::new("in_person", "In person at the clinic", form.mode != "video"),
        Opt::new("video", "By video", form.mode == "video"),
    ];
    let (title, action) = match &service {
        Some(s) => (s.name.clone(), format!("/setup/services/{}", s.id)),
        None => ("New service".to_string(), "/setup/services".to_string()),
    };
    Ok(FormPage {
        layout: layout(actor, csrf, title, &[("Services", "/setup/services")]),
        service,
        form,
        f,
        specialties,
        modes,
        action,
    })
}

/// The form again with what went wrong: 422 or 409, every value as typed.
async fn refused(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    service: Option<Service>,
    form: ServiceForm,
    e: ServiceError,
) -> PageResult {
    let r = Refusal::of(e)?.rename("price_minor", "price");
    let mut page = form_page(st, actor, csrf, service, form, Fields::new(r.errors, FIELDS)).await?;
    page.layout = page.layout.notice("error", r.message);
    Ok((r.status, page).into_response())
}

async fn new(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
) -> PageResult {
    st.svc.authorize(&actor, Permission::ManageCatalog)?;
    Ok(form_page(&st, &actor, &csrf, None, ServiceForm::default(), Fields::default()).await?.into_response())
}

async fn create(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(form): Form<ServiceForm>,
) -> PageResult {
    let outcome = match form.input() {
        Ok(input) => st.svc.create_service(&actor, input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(done("/setup/services?msg=saved".into())),
        Err(e) => refused(&st, &actor, &csrf, None, form, e).await,
    }
}

async fn edit(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: ServiceId = path_id(&id, "Service")?;
    st.svc.authorize(&actor, Permission::ManageCatalog)?;
    let service = st.svc.get_service(&actor, id).await?;
    let form = ServiceForm::of(&service);
    Ok(form_page(&st, &actor, &csrf, Some(service), form, Fields::default()).await?.into_response())
}

async fn update(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<ServiceForm>,
) -> PageResult {
    let id: ServiceId = path_id(&id, "Service")?;
    let outcome = match form.input() {
        Ok(input) => st.svc.update_service(&actor, id, input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(done("/setup/services?msg=saved".into())),
        Err(e) => {
            let service = st.svc.get_service(&actor, id).await?;
            refused(&st, &actor, &csrf, Some(service), form, e).await
        }
    }
}
