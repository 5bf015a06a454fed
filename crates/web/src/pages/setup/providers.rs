//! Providers: the list, a new profile for an account with the provider role, and the
//! profile form (where they work, their specialties and the services they offer).

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
use praxis_domain::permissions::Scope;
use praxis_domain::{ClinicId, Currency, Permission, ProviderId, Role, ServiceId, SpecialtyId, UserId};
use praxis_services::catalog::{Provider, ProviderInput};
use praxis_services::users::{PageRequest, UserFilter};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/setup/providers", get(list).post(create))
        .route("/setup/providers/new", get(new))
        .route("/setup/providers/{id}", get(edit).post(update))
}

/// The order fields appear in on the form (the first invalid one takes the focus).
const FIELDS: &[&str] = &[
    "user_id",
    "title",
    "bio",
    "qualifications",
    "fee",
    "fee_currency",
    "calendar_colour",
    "accepting_new_patients",
    "active",
    "clinic_ids",
    "specialty_ids",
    "service_ids",
];

#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

struct ProviderRow {
    id: String,
    name: String,
    title: String,
    clinics: String,
    services: String,
    accepting: bool,
    active: bool,
    colour: String,
    /// Whether this viewer may open the availability editor (presentation only).
    availability: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_providers.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ProviderRow>,
    can_edit: bool,
}

fn names<I: PartialEq>(ids: &[I], all: &[(I, String)]) -> String {
    let list: Vec<&str> = all.iter().filter(|(id, _)| ids.contains(id)).map(|(_, n)| n.as_str()).collect();
    if list.is_empty() { "—".into() } else { list.join(", ") }
}

async fn list(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<MsgQuery>,
) -> PageResult {
    let providers = st.svc.list_providers(&actor).await?;
    let clinics: Vec<(ClinicId, String)> =
        st.svc.list_clinics(&actor).await?.into_iter().map(|c| (c.id, c.name)).collect();
    let services: Vec<(ServiceId, String)> =
        st.svc.list_services(&actor).await?.into_iter().map(|s| (s.id, s.name)).collect();
    let everyone = actor.scope(Permission::ManageAvailability) == Some(Scope::All);
    let mut rows: Vec<ProviderRow> = providers
        .iter()
        .map(|p| ProviderRow {
            id: p.id.to_string(),
            name: p.name.clone(),
            title: p.title.clone(),
            clinics: names(&p.clinic_ids, &clinics),
            services: names(&p.service_ids, &services),
            accepting: p.accepting_new_patients,
            active: p.active,
            colour: p.calendar_colour.clone(),
            availability: everyone || Some(p.user_id) == actor.user_id,
        })
        .collect();
    rows.sort_by_key(|r| r.name.to_lowercase());
    let mut layout = layout(&actor, &csrf, "Providers", &[]);
    if q.msg.as_deref() == Some("saved") {
        layout = layout.notice("ok", "The profile was saved.");
    }
    Ok(ListPage { layout, rows, can_edit: actor.can(Permission::ManageCatalog) }.into_response())
}

/// What the profile form holds, as typed.
#[derive(Default, Deserialize)]
struct ProviderForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    bio: String,
    #[serde(default)]
    qualifications: String,
    #[serde(default)]
    fee: String,
    #[serde(default)]
    fee_currency: String,
    #[serde(default)]
    calendar_colour: String,
    accepting_new_patients: Option<String>,
    active: Option<String>,
    #[serde(default)]
    clinic_ids: Vec<String>,
    #[serde(default)]
    specialty_ids: Vec<String>,
    #[serde(default)]
    service_ids: Vec<String>,
}

impl ProviderForm {
    fn fresh() -> Self {
        ProviderForm {
            fee_currency: "AUD".into(),
            calendar_colour: "#1f5fbf".into(),
            accepting_new_patients: Some("on".into()),
            active: Some("on".into()),
            ..ProviderForm::default()
        }
    }

    fn of(p: &Provider) -> Self {
        ProviderForm {
            user_id: p.user_id.to_string(),
            title: p.title.clone(),
            bio: p.bio.clone(),
            qualifications: p.qualifications.clone(),
            fee: p.consultation_fee.map(|m| format_major(m.amount_minor, m.currency)).unwrap_or_default(),
            fee_currency: p.consultation_fee.map(|m| m.currency.to_string()).unwrap_or_else(|| "AUD".into()),
            calendar_colour: p.calendar_colour.clone(),
            accepting_new_patients: p.accepting_new_patients.then(|| "on".into()),
            active: p.active.then(|| "on".into()),
            clinic_ids: p.clinic_ids.iter().map(ToString::to_string).collect(),
            specialty_ids: p.specialty_ids.iter().map(ToString::to_string).collect(),
            service_ids: p.service_ids.iter().map(ToString::to_string).collect(),
        }
    }

    /// Reads the form into the services' input (the fee in minor units of its currency;
    /// an empty fee means none).
    fn input(&self, with_user: bool) -> Result<ProviderInput, ServiceError> {
        let mut read = Reader::default();
        let currency_text = Some(self.fee_currency.trim()).filter(|c| !c.is_empty()).unwrap_or("AUD").to_string();
        let fee_minor = if self.fee.trim().is_empty() {
            None
        } else {
            match Currency::parse(&currency_text) {
                Ok(currency) => match parse_major(&self.fee, currency) {
                    Ok(minor) => Some(minor),
                    Err(message) => {
                        read.add("fee", message);
                        None
                    }
                },
                Err(_) => Some(0),
            }
        };
        let input = ProviderInput {
            user_id: if with_user { read.id::<UserId>("user_id", &self.user_id) } else { None },
            title: self.title.clone(),
            bio: self.bio.clone(),
            qualifications: self.qualifications.clone(),
            fee_minor,
            fee_currency: fee_minor.map(|_| currency_text),
            accepting_new_patients: Some(self.accepting_new_patients.is_some()),
            calendar_colour: Some(self.calendar_colour.clone()),
            active: Some(self.active.is_some()),
            clinic_ids: read.ids::<ClinicId>("clinic_ids", &self.clinic_ids),
            specialty_ids: read.ids::<SpecialtyId>("specialty_ids", &self.specialty_ids),
            service_ids: read.ids::<ServiceId>("service_ids", &self.service_ids),
        };
        read.finish()?;
        Ok(input)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_provider_form.html")]
struct FormPage {
    layout: Layout,
    provider: Option<Provider>,
    form: ProviderForm,
    f: Fields,
    accounts: Vec<Opt>,
    clinics: Vec<Opt>,
    specialties: Vec<Opt>,
    services: Vec<Opt>,
    action: String,
}

async fn form_page(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    provider: Option<Provider>,
    form: ProviderForm,
    f: Fields,
) -> Result<FormPage, PageError> {
    let chosen = |list: &[String], id: String| {
        let selected = list.contains(&id);
        (id, selected)
    };
    let clinics = st
        .svc
        .list_clinics(actor)
        .await?
        .into_iter()
        .map(|c| {
            let (id, on) = chosen(&form.clinic_ids, c.id.to_string());
            Opt::new(id, format!("{} ({})", c.name, c.time_zone), on)
        })
        .collect();
    let specialties = st
        .svc
        .list_specialties(actor)
        .await?
        .into_iter()
        .map(|s| {
            let (id, on) = chosen(&form.specialty_ids, s.id.to_string());
            Opt::new(id, s.name, on)
        })
        .collect();
    let services = st
        .svc
        .list_services(actor)
        .await?
        .into_iter()
        .map(|s| {
            let (id, on) = chosen(&form.service_ids, s.id.to_string());
            let label = if s.active { s.name } else { format!("{} (inactive)", s.name) };
            Opt::new(id, label, on)
        })
        .collect();
    let accounts = if provider.is_none() {
        // Accounts with the provider role that have no profile yet.
        let filter = UserFilter { text: None, role: Some(Role::Provider.as_str().to_string()), active: Some(true) };
        let users = st.svc.list_users(actor, &filter, PageRequest::new(Some(1), Some(200))).await?;
        let taken: Vec<UserId> = st.svc.list_providers(actor).await?.into_iter().map(|p| p.user_id).collect();
        let mut out = vec![Opt::new("", "Choose an account…", form.user_id.is_empty())];
        out.extend(users.items.into_iter().filter(|u| !taken.contains(&u.id)).map(|u| {
            let id = u.id.to_string();
            let selected = id == form.user_id;
            Opt::new(id, format!("{} <{}>", u.full_name, u.email), selected)
        }));
        out
    } else {
        Vec::new()
    };
    let (title, action) = match &provider {
        Some(p) => (p.name.clone(), format!("/setup/providers/{}", p.id)),
        None => ("New provider".to_string(), "/setup/providers".to_string()),
    };
    Ok(FormPage {
        layout: layout(actor, csrf, title, &[("Providers", "/setup/providers")]),
        provider,
        form,
        f,
        accounts,
        clinics,
        specialties,
        services,
        action,
    })
}

async fn refused(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    provider: Option<Provider>,
    form: ProviderForm,
    e: ServiceError,
) -> PageResult {
    let r = Refusal::of(e)?.rename("fee_minor", "fee").beside(if provider.is_some() { "title" } else { "user_id" });
    let mut page = form_page(st, actor, csrf, provider, form, Fields::new(r.errors, FIELDS)).await?;
    page.layout = page.layout.notice("error", r.message);
    Ok((r.status, page).into_response())
}

async fn new(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<NewQuery>,
) -> PageResult {
    st.svc.authorize(&actor, Permission::ManageCatalog)?;
    let form = ProviderForm { user_id: q.user.unwrap_or_default(), ..ProviderForm::fresh() };
    Ok(form_page(&st, &actor, &csrf, None, form, Fields::default()).await?.into_response())
}

#[derive(Deserialize)]
struct NewQuery {
    /// Preselects this account.
    user: Option<String>,
}

async fn create(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(form): Form<ProviderForm>,
) -> PageResult {
    let outcome = match form.input(true) {
        Ok(input) => st.svc.create_provider(&actor, input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(p) => Ok(done(format!("/setup/providers/{}/availability?msg=created", p.id))),
        Err(e) => refused(&st, &actor, &csrf, None, form, e).await,
    }
}

async fn edit(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: ProviderId = path_id(&id, "Provider")?;
    st.svc.authorize(&actor, Permission::ManageCatalog)?;
    let provider = st.svc.get_provider(&actor, id).await?;
    let form = ProviderForm::of(&provider);
    Ok(form_page(&st, &actor, &csrf, Some(provider), form, Fields::default()).await?.into_response())
}

async fn update(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<ProviderForm>,
) -> PageResult {
    let id: ProviderId = path_id(&id, "Provider")?;
    let outcome = match form.input(false) {
        Ok(input) => st.svc.update_provider(&actor, id, input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(done("/setup/providers?msg=saved".into())),
        Err(e) => {
            let provider = st.svc.get_provider(&actor, id).await?;
            refused(&st, &actor, &csrf, Some(provider), form, e).await
        }
    }
}
