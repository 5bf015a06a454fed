//! The setup area: clinics and their closures, specialties, services, provider profiles
//! and each provider's availability, with a preview of the free times it gives.
//!
//! Every page asks the services; they decide who may do what and write the audit rows.
//! What a page shows or hides (a "New clinic" button, the hub's cards) is presentation
//! only. Forms keep what was typed, show each error beside its field and focus the first.

mod availability;
mod clinics;
mod forms;
mod money;
mod providers;
mod services;
mod specialties;

use super::{FormErrors, Layout, PageError, PageResult, error_page};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use jiff::civil::Date;
use praxis_domain::permissions::Scope;
use praxis_domain::{FieldError, Permission};
use praxis_services::{Actor, ServiceError, ServiceResult};
use std::str::FromStr;

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

/// A form's field errors, and which field gets the focus (the first invalid one in the
/// order the form shows them).
#[derive(Default)]
struct Fields {
    errors: FormErrors,
    first: String,
}

impl Fields {
    /// Errors of a form whose fields appear in `order`.
    fn new(errors: Vec<FieldError>, order: &[&str]) -> Self {
        let first = order
            .iter()
            .find(|name| errors.iter().any(|e| e.field == **name))
            .map(|s| s.to_string())
            .or_else(|| errors.first().map(|e| e.field.clone()))
            .unwrap_or_default();
        Fields { errors: FormErrors(errors), first }
    }

    /// The message for `field`, if it has one.
    fn get(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }

    /// True for the field that should take the focus.
    fn autofocus(&self, field: &str) -> bool {
        !self.first.is_empty() && self.first == field
    }
}

/// One choice of a select or a list of checkboxes.
struct Opt {
    value: String,
    label: String,
    selected: bool,
}

impl Opt {
    fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Self {
        Opt { value: value.into(), label: label.into(), selected }
    }
}

/// A refused form: its status, the errors beside the fields and a sentence for the top.
struct Refusal {
    status: StatusCode,
    errors: Vec<FieldError>,
    message: String,
}

impl Refusal {
    /// Reads a service's refusal of a form: 422 for invalid fields, 409 for a conflict
    /// (its message beside the field it names). Anything else becomes the error page.
    fn of(e: ServiceError) -> Result<Refusal, PageError> {
        match e {
            ServiceError::Validation(errors) => Ok(Refusal {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                message: "Nothing was saved. Please correct the fields marked below.".into(),
            }),
            ServiceError::Conflict { message, fields, .. } => {
                Ok(Refusal { status: StatusCode::CONFLICT, errors: fields, message })
            }
            other => Err(other.into()),
        }
    }

    /// Moves errors the service reports under `from` to the form's field `to`.
    fn rename(mut self, from: &str, to: &str) -> Self {
        for e in &mut self.errors {
            if e.field == from {
                e.field = to.to_string();
            }
        }
        self
    }

    /// Puts a field-less conflict beside `field`, so it shows where the user looks.
    fn beside(mut self, field: &str) -> Self {
        if self.errors.is_empty() {
            self.errors.push(FieldError {
                field: field.into(),
                code: "conflict".into(),
                message: self.message.clone(),
            });
        }
        self
    }
}

/// Parses an id from the address; an unparsable one is simply not found.
fn path_id<T: FromStr>(s: &str, what: &'static str) -> Result<T, PageError> {
    s.parse().map_err(|_| PageError(ServiceError::NotFound { what }))
}

/// Reads the typed values of a form that the services take as values rather than text,
/// collecting a message for each that cannot be read.
#[derive(Default)]
struct Reader {
    errors: Vec<FieldError>,
}

impl Reader {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError { field: field.into(), code: "invalid".into(), message: message.into() });
    }

    /// An optional date from `<input type=date>` (empty = none).
    fn date(&mut self, field: &str, text: &str) -> Option<Date> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        match t.parse::<Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                self.add(field, "Give a date like 2026-03-02, or use the date picker.");
                None
            }
        }
    }

    /// An optional whole number (empty = none, so the service's default applies).
    fn number(&mut self, field: &str, text: &str) -> Option<i64> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        match t.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.add(field, "Use a whole number, for example 30.");
                None
            }
        }
    }

    /// An optional id chosen from a list (empty = none).
    fn id<T: FromStr>(&mut self, field: &str, text: &str) -> Option<T> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        match t.parse::<T>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.add(field, "Choose one of the options.");
                None
            }
        }
    }

    /// Ids of ticked checkboxes.
    fn ids<T: FromStr>(&mut self, field: &str, texts: &[String]) -> Vec<T> {
        texts.iter().filter_map(|t| self.id(field, t)).collect()
    }

    /// The collected problems as a service-style refusal, or `Ok` when there are none.
    fn finish(self) -> ServiceResult<()> {
        if self.errors.is_empty() { Ok(()) } else { Err(ServiceError::Validation(self.errors)) }
    }
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

/// A redirect after a successful form (303, so reloading does not resend it).
fn done(to: String) -> Response {
    Redirect::to(&to).into_response()
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
    let everyone = actor.roles.scope(Permission::ManageAvailability) == Some(Scope::All);
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
    if actor.roles.scope(Permission::ManageAvailability) == Some(Scope::Own)
        || actor.roles.has(praxis_domain::Role::Provider)
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

    fn err(field: &str) -> FieldError {
        FieldError { field: field.into(), code: "invalid".into(), message: format!("{field} is wrong") }
    }

    #[test]
    fn the_first_invalid_field_in_page_order_takes_the_focus() {
        let f = Fields::new(vec![err("email"), err("name")], &["name", "address", "email"]);
        assert!(f.autofocus("name") && !f.autofocus("email"));
        assert_eq!(f.get("email"), Some("email is wrong"));
        let f = Fields::new(vec![err("elsewhere")], &["name"]);
        assert!(f.autofocus("elsewhere"), "a field the page does not list still gets the focus");
        assert!(!Fields::default().autofocus(""), "nothing is focused on a fresh form");
    }

    #[test]
    fn refusals_keep_their_status_and_put_messages_beside_fields() {
        let r = Refusal::of(ServiceError::conflict("provider_exists", "Already has one."))
            .ok()
            .map(|r| r.beside("user_id"));
        let r = r.as_ref().map(|r| (r.status, r.errors[0].field.as_str(), r.errors[0].message.as_str()));
        assert_eq!(r, Some((StatusCode::CONFLICT, "user_id", "Already has one.")));
        let r = Refusal::of(ServiceError::Validation(vec![err("price_minor")]))
            .ok()
            .map(|r| r.rename("price_minor", "price"));
        assert_eq!(
            r.map(|r| (r.status, r.errors[0].field.clone())),
            Some((StatusCode::UNPROCESSABLE_ENTITY, "price".into()))
        );
        assert!(Refusal::of(ServiceError::Forbidden).is_err(), "a refusal of permission is the 403 page");
    }

    #[test]
    fn dates_read_like_a_diary() {
        let d = |s: &str| s.parse::<Date>().unwrap_or(Date::MIN);
        assert_eq!(fmt_range(d("2026-03-04"), d("2026-03-04")), "Wed 4 Mar 2026");
        assert_eq!(fmt_range(d("2026-03-04"), d("2026-03-05")), "Wed 4 Mar – Thu 5 Mar 2026");
        assert_eq!(fmt_range(d("2026-12-31"), d("2027-01-01")), "Thu 31 Dec 2026 – Fri 1 Jan 2027");
    }
}
