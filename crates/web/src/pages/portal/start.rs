//! The first two booking steps: which clinic and service, then which clinician.
//!
//! Where a practice has several clinics, a patient books at one of them: the first step
//! asks which (starting at the clinic the patient was last seen or booked at) and lists
//! only the services that clinic's clinicians offer, priced in that clinic's currency.

use super::{Steps, parse_id};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::billing::money_for;
use crate::pages::{Layout, PageResult};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use praxis_domain::{AppointmentStatus, ClinicId, ServiceId};
use praxis_services::catalog::{Clinic, Provider, Service, ServiceMode};
use praxis_services::scheduling::AppointmentFilter;
use praxis_services::users::PageRequest;
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

#[derive(Template, WebTemplate)]
#[template(path = "portal_book_service.html")]
struct ServicePage {
    layout: Layout,
    steps: Steps,
    /// The clinic whose services are listed; `None` while the patient has still to choose.
    clinic: Option<Clinic>,
    /// The other clinics one can book at (empty where there is only one).
    other_clinics: Vec<Clinic>,
    services: Vec<ServiceCard>,
}

struct ServiceCard {
    href: String,
    name: String,
    description: String,
    minutes: i64,
    price: String,
    video: bool,
    group: bool,
}

/// `?clinic=` on the first two steps (and the welcome message after registering).
#[derive(Default, Deserialize)]
pub(super) struct ClinicQuery {
    clinic: Option<String>,
    msg: Option<String>,
}

/// A clinic open for bookings with the active services its active clinicians offer there.
struct Bookable {
    clinic: Clinic,
    services: Vec<Service>,
}

/// Every clinic a patient can book at, with what can be booked there, in the catalogue's order.
async fn bookable(st: &AppState, actor: &Actor) -> Result<Vec<Bookable>, ServiceError> {
    let providers: Vec<Provider> = st.svc.list_providers(actor).await?.into_iter().filter(|p| p.active).collect();
    let services: Vec<Service> = st.svc.list_services(actor).await?.into_iter().filter(|s| s.active).collect();
    let clinics = st.svc.list_clinics(actor).await?;
    Ok(clinics
        .into_iter()
        .filter(|c| c.active)
        .filter_map(|clinic| {
            let here: Vec<&Provider> = providers.iter().filter(|p| p.clinic_ids.contains(&clinic.id)).collect();
            let services: Vec<Service> =
                services.iter().filter(|s| here.iter().any(|p| p.service_ids.contains(&s.id))).cloned().collect();
            (!services.is_empty()).then_some(Bookable { clinic, services })
        })
        .collect())
}

/// The clinic of the patient's latest real appointment (booked, attended or cancelled —
/// not an abandoned hold), where they would most likely book again.
async fn own_clinic(st: &AppState, actor: &Actor) -> Result<Option<ClinicId>, ServiceError> {
    let page =
        st.svc.list_appointments(actor, AppointmentFilter::default(), PageRequest::new(Some(1), Some(200))).await?;
    Ok(page
        .items
        .iter()
        .filter(|a| !matches!(a.status, AppointmentStatus::Held | AppointmentStatus::Expired))
        .max_by_key(|a| a.start)
        .map(|a| a.clinic_id))
}

/// Step 1: the clinic (where there is a choice) and its services.
pub(super) async fn choose_service(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<ClinicQuery>,
) -> PageResult {
    let mut all = bookable(&st, &actor).await?;
    // A clinic named in the address wins; an unknown or closed one is as if none was named.
    let asked: Option<ClinicId> = q.clinic.as_deref().and_then(|c| c.parse().ok());
    let chosen = match asked.filter(|id| all.iter().any(|b| b.clinic.id == *id)) {
        Some(id) => Some(id),
        None if all.len() == 1 => all.first().map(|b| b.clinic.id),
        None => own_clinic(&st, &actor).await?.filter(|id| all.iter().any(|b| b.clinic.id == *id)),
    };
    let (clinic, services) = match chosen.and_then(|id| all.iter().position(|b| b.clinic.id == id)) {
        Some(i) => {
            let b = all.remove(i);
            (Some(b.clinic), b.services)
        }
        None => (None, Vec::new()),
    };
    let money = money_for(services.iter().map(|s| s.price.currency.as_str()));
    let services = match &clinic {
        Some(c) => services
            .into_iter()
            .map(|s| ServiceCard {
                href: format!("/book/s/{}?clinic={}", s.id, c.id),
                price: if s.price.amount_minor == 0 {
                    "No charge".into()
                } else {
                    money(s.price.amount_minor, s.price.currency.as_str())
                },
                video: s.mode == ServiceMode::Video,
                group: s.is_group(),
                minutes: s.duration_minutes,
                description: s.description,
                name: s.name,
            })
            .collect(),
        None => Vec::new(),
    };
    let title = if clinic.is_none() && !all.is_empty() {
        "Which clinic would you like to visit?"
    } else {
        "Book an appointment"
    };
    let mut layout = Layout::new(&actor, &csrf, title, "/book");
    if q.msg.as_deref() == Some("welcome") {
        layout = layout.notice("ok", "Welcome! Your account is ready. Choose what you would like to book.");
    }
    let other_clinics = all.into_iter().map(|b| b.clinic).collect();
    Ok(ServicePage { layout, steps: Steps(1), clinic, other_clinics, services }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_book_provider.html")]
struct ProviderPage {
    layout: Layout,
    steps: Steps,
    service: Service,
    clinics: Vec<ClinicChoice>,
    /// Back to step 1 at the same clinic.
    back: String,
}

struct ClinicChoice {
    clinic: Clinic,
    providers: Vec<Provider>,
}

/// Step 2: who, at the clinic chosen in step 1 (or, without one, at every clinic offering it).
pub(super) async fn choose_provider(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(service): Path<String>,
    Query(q): Query<ClinicQuery>,
) -> PageResult {
    let service_id: ServiceId = parse_id(&service, "Service")?;
    let service = st.svc.get_service(&actor, service_id).await?;
    let providers = st.svc.list_providers(&actor).await?;
    let asked: Option<ClinicId> = q.clinic.as_deref().and_then(|c| c.parse().ok());
    let mut clinics: Vec<ClinicChoice> = st
        .svc
        .list_clinics(&actor)
        .await?
        .into_iter()
        .filter(|c| c.active)
        .filter_map(|c| {
            let here: Vec<Provider> = providers
                .iter()
                .filter(|p| p.active && p.service_ids.contains(&service_id) && p.clinic_ids.contains(&c.id))
                .cloned()
                .collect();
            (!here.is_empty()).then_some(ClinicChoice { clinic: c, providers: here })
        })
        .collect();
    if let Some(id) = asked.filter(|id| clinics.iter().any(|c| c.clinic.id == *id)) {
        clinics.retain(|c| c.clinic.id == id);
    }
    let back = match (asked, clinics.as_slice()) {
        (Some(_), [only]) => format!("/book?clinic={}", only.clinic.id),
        _ => "/book".to_string(),
    };
    let layout = Layout::new(&actor, &csrf, format!("Who would you like to see for {}?", service.name), "/book")
        .crumbs(&[("Home", "/"), ("Book", &back)]);
    Ok(ProviderPage { layout, steps: Steps(2), service, clinics, back }.into_response())
}
