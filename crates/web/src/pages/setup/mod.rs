//! The setup area: clinics and their closures, specialties, services, provider profiles
//! and each provider's availability, with a preview of the free times it gives.
//!
//! Every page asks the services; they decide who may do what and write the audit rows.
//! What a page shows or hides (a "New clinic" button, the hub's cards) is presentation
//! only. Forms keep what was typed, show each error beside its field and focus the first.

mod availability;
mod clinics;
mod forms;
mod providers;
mod services;
mod specialties;

pub(super) use super::form::{Fields, Opt, Reader, Refusal, done, path_id};
use super::{Layout, PageResult, error_page};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use jiff::civil::Date;
use praxis_domain::Permission;
use praxis_domain::permissions::Scope;
use praxis_services::Actor;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/setup", get(hub))
        .merge(clinics::router())
        .merge(specialties::router())
        .merge(services::router())
        .merge(providers::router())
        .merge(availability::router())
        .merge(forms::router())
}

/// A frame for a setup page: "Home › Setup › … › title".
fn layout(actor: &Actor, csrf: &CsrfToken, title: impl Into<String>, trail: &[(&str, &str)]) -> Layout {
    let mut crumbs = vec![("Home", "/"), ("Setup", "/setup")];
    crumbs.extend_from_slice(trail);
    Layout::new(actor, csrf, title, "/setup").crumbs(&crumbs)
}

/// "Mon 2 Mar 2026".
fn fmt_date(d: Date) -> String {
    d.strftime("%a %-d %b %Y").to_string()
}

/// "Mon 2 Mar 2026" or "Mon 2 Mar – Fri 6 Mar 2026".
fn fmt_range(from: Date, until: Date) -> String {
    if from == until {
        fmt_date(from)
    } else if from.year() == until.year() {
        format!("{} – {}", from.strftime("%a %-d %b"), fmt_date(until))
    } else {
        format!("{} – {}", fmt_date(from), fmt_date(until))
    }
}

struct HubCard {
    title: String,
    href: String,
    count: Option<usize>,
    text: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_hub.html")]
struct HubPage {
    layout: Layout,
    cards: Vec<HubCard>,
    note: Option<&'static str>,
}

async fn hub(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
) -> PageResult {
    let catalogue = actor.can(Permission::ManageCatalog);
    let everyone = actor.scope(Permission::ManageAvailability) == Some(Scope::All);
    let mut cards = Vec::new();
    if catalogue || everyone {
        let clinics = st.svc.list_clinics(&actor).await?.len();
        let providers = st.svc.list_providers(&actor).await?.len();
        let services = st.svc.list_services(&actor).await?.len();
        let specialties = st.svc.list_specialties(&actor).await?.len();
        let card = |title: &str, href: &str, count, text| HubCard {
            title: title.into(),
            href: href.into(),
            count: Some(count),
            text,
        };
        cards.push(card(
            "Clinics",
            "/setup/clinics",
            clinics,
            if catalogue {
                "Locations, addresses, time zones — and the days each is closed."
            } else {
                "The days each clinic is closed (public holidays, building works)."
            },
        ));
        cards.push(card(
            "Providers",
            "/setup/providers",
            providers,
            if catalogue {
                "Profiles, where each works, what they offer — and their weekly hours."
            } else {
                "Each provider's weekly hours, leave and changed hours."
            },
        ));
        cards.push(card(
            "Services",
            "/setup/services",
            services,
            "Appointment types: length, price, buffers, group size and booking rules.",
        ));
        cards.push(card("Specialties", "/setup/specialties", specialties, "How services and providers are grouped."));
    }
    if actor.can(Permission::ManageForms) {
        let forms = st.svc.list_forms(&actor).await?.len();
        cards.push(HubCard {
            title: "Intake forms".into(),
            href: "/setup/forms".into(),
            count: Some(forms),
            text: "Questionnaires patients fill in before their first visit.",
        });
    }
    let mut note = None;
    if actor.scope(Permission::ManageAvailability) == Some(Scope::Own) || actor.roles.has(praxis_domain::Role::Provider)
    {
        match st.svc.my_provider(&actor).await? {
            Some(p) => cards.insert(
                0,
                HubCard {
                    title: "Your availability".into(),
                    href: format!("/setup/providers/{}/availability", p.id),
                    count: None,
                    text: "Your weekly hours, leave and changed hours, and the free times they give.",
                },
            ),
            None => note = Some("You have no provider profile yet. Ask an administrator to create one."),
        }
    }
    if cards.is_empty() && note.is_none() {
        return Ok(error_page(StatusCode::FORBIDDEN, None));
    }
    Ok(HubPage { layout: Layout::new(&actor, &csrf, "Setup", "/setup"), cards, note }.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_like_a_diary() {
        let d = |s: &str| s.parse::<Date>().unwrap_or(Date::MIN);
        assert_eq!(fmt_range(d("2026-03-04"), d("2026-03-04")), "Wed 4 Mar 2026");
        assert_eq!(fmt_range(d("2026-03-04"), d("2026-03-05")), "Wed 4 Mar – Thu 5 Mar 2026");
        assert_eq!(fmt_range(d("2026-12-31"), d("2027-01-01")), "Thu 31 Dec 2026 – Fri 1 Jan 2027");
    }
}
