//! The start page: what this user can do, by role.

use super::{Layout, PageResult};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use praxis_domain::Permission;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

struct Card {
    title: &'static str,
    href: &'static str,
    text: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    greeting: &'static str,
    name: String,
    roles: String,
    cards: Vec<Card>,
}

async fn home(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
) -> PageResult {
    let hour = st.svc.now().to_zoned(st.svc.settings().display_zone.clone()).hour();
    let greeting = match hour {
        5..=11 => "Good morning",
        12..=17 => "Good afternoon",
        _ => "Good evening",
    };
    let mut cards = Vec::new();
    if actor.roles.has(praxis_domain::Role::Patient) {
        cards.push(Card {
            title: "Book an appointment",
            href: "/book",
            text: "Choose a service, a clinician and a time that suits you.",
        });
        cards.push(Card {
            title: "My appointments",
            href: "/my/appointments",
            text: "See, change or cancel your appointments, and add them to your calendar.",
        });
        cards.push(Card {
            title: "Waiting list",
            href: "/my/waitlist",
            text: "Wait for an earlier time and take offers when one frees up.",
        });
    }
    if !actor.roles.is_patient_only() {
        cards.push(Card {
            title: "Dashboard",
            href: "/dashboard",
            text: "Today's appointments, the coming week, no-shows and utilisation.",
        });
    }
    if actor.can(Permission::RunAppointmentWorkflow) {
        cards.push(Card {
            title: "Calendar",
            href: "/calendar",
            text: "The day and week at a clinic: check patients in, start, complete, reschedule.",
        });
        cards.push(Card {
            title: "New appointment",
            href: "/appointments/new",
            text: "Book for a patient, including a recurring series.",
        });
    }
    if !actor.roles.is_patient_only() && actor.can(Permission::ManageWaitlist) {
        cards.push(Card {
            title: "Waiting list",
            href: "/waitlist",
            text: "Patients waiting for a time, and the offers made to them.",
        });
    }
    if actor.can(Permission::ManageCatalog) || actor.can(Permission::ManageAvailability) {
        cards.push(Card {
            title: "Setup",
            href: "/setup",
            text: "Clinics, providers, services, availability, exceptions and closures.",
        });
    }
    if actor.can(Permission::ManageUsers) {
        cards.push(Card {
            title: "Users",
            href: "/admin/users",
            text: "Create accounts for staff, providers and patients; reset passwords; deactivate leavers.",
        });
    }
    if actor.can(Permission::ViewAuditLog) {
        cards.push(Card {
            title: "Audit log",
            href: "/admin/audit",
            text: "Who did what, when and from where — tamper-evident.",
        });
    }
    cards.push(Card {
        title: "Your profile",
        href: "/profile",
        text: "Your account details, password and two-factor login.",
    });
    let roles = actor.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ");
    let first = actor.name.split_whitespace().next().unwrap_or(&actor.name).to_string();
    let mut layout = Layout::new(&actor, &csrf, "Home", "/");
    layout.crumbs.clear();
    Ok(HomePage { layout, greeting, name: first, roles, cards }.into_response())
}
