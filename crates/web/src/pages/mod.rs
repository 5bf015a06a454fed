//! The server-rendered web pages. They call the same services as the API; what a page
//! shows or hides in its navigation is presentation only — every action is checked again
//! by the service it calls.

mod admin;
mod auth;
mod backups;
mod billing;
mod calendar;
pub(crate) mod charts;
mod dashboard;
pub(crate) mod form;
mod home;
mod integrations;
pub(crate) mod messages;
pub(crate) mod money;
pub(crate) mod patients;
mod portal;
mod portal_forms;
mod profile;
mod reply;
mod setup;
mod two_factor;

use crate::csrf::CsrfToken;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use praxis_domain::{FieldError, Permission};
use praxis_services::{Actor, ServiceError};

/// All page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/app.css", get(stylesheet))
        .route("/static/staff.js", get(|| script(include_str!("../../static/staff.js"))))
        .route("/static/portal.js", get(|| script(include_str!("../../static/portal.js"))))
        .merge(auth::router())
        .merge(home::router())
        .merge(profile::router())
        .merge(two_factor::router())
        .merge(reply::router())
        .merge(admin::router())
        .merge(backups::router())
        .merge(integrations::router())
        .merge(calendar::router())
        .merge(setup::router())
        .merge(billing::router())
        .merge(portal::router())
        .merge(dashboard::router())
        .merge(messages::router())
        .merge(patients::router())
        .merge(portal_forms::router())
}

/// The one stylesheet: the base plus each area's part, concatenated at compile time.
const STYLESHEET: &str = concat!(
    include_str!("../../static/app.css"),
    include_str!("../../static/calendar.css"),
    include_str!("../../static/setup.css"),
    include_str!("../../static/portal.css"),
    include_str!("../../static/patients.css"),
    include_str!("../../static/documents_forms.css"),
    include_str!("../../static/billing.css"),
);

async fn stylesheet() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

async fn script(body: &'static str) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// One entry of the main navigation.
pub struct NavItem {
    /// Text.
    pub label: &'static str,
    /// Target.
    pub href: &'static str,
    /// Whether this is the current section.
    pub current: bool,
}

/// A message at the top of a page.
pub struct Notice {
    /// `ok`, `warn` or `error` (also the CSS class).
    pub kind: &'static str,
    /// The text.
    pub text: String,
}

/// What every page's frame needs.
pub struct Layout {
    /// Page title (also the `<h1>`).
    pub title: String,
    /// Breadcrumb trail: (label, href); the last is the current page.
    pub crumbs: Vec<(String, String)>,
    /// Main navigation for the user's roles.
    pub nav: Vec<NavItem>,
    /// Logged-in user's name.
    pub user_name: Option<String>,
    /// The CSRF token for forms.
    pub csrf: String,
    /// A message to show.
    pub notice: Option<Notice>,
    /// Which zone times on the page are in, when it shows times.
    pub zone_label: Option<String>,
    /// An operational alert for administrators (shown on every page until resolved).
    pub attention: Option<String>,
}

/// The sections of the navigation and who sees them (mirrors the permission matrix).
/// Each section: (label, href, who sees it). Patients get the portal; the clinic's people
/// get the clinic's tools.
const SECTIONS: &[(&str, &str, fn(&Actor) -> bool)] = &[
    ("Home", "/", |_| true),
    ("Dashboard", "/dashboard", |a| !a.roles.is_patient_only()),
    ("Calendar", "/calendar", |a| a.can(Permission::RunAppointmentWorkflow)),
    ("Patients", "/patients", |a| !a.roles.is_patient_only() && a.can(Permission::ManagePatients)),
    ("Billing", "/billing", |a| !a.roles.is_patient_only() && a.can(Permission::ViewInvoices)),
    ("Waiting list", "/waitlist", |a| !a.roles.is_patient_only() && a.can(Permission::ManageWaitlist)),
    ("Book", "/book", |a| a.roles.has(praxis_domain::Role::Patient)),
    ("My appointments", "/my/appointments", |a| a.roles.has(praxis_domain::Role::Patient)),
    ("Forms", "/my/forms", |a| a.roles.has(praxis_domain::Role::Patient)),
    ("Documents", "/my/documents", |a| a.roles.has(praxis_domain::Role::Patient)),
    ("Invoices", "/my/invoices", |a| a.roles.has(praxis_domain::Role::Patient)),
    ("Messages", "/messages", |a| a.can(Permission::ViewMessages)),
    ("My details", "/my/details", |a| a.roles.is_patient_only()),
    ("Message settings", "/my/message-preferences", |a| a.roles.is_patient_only()),
    ("Setup", "/setup", |a| a.can(Permission::ManageCatalog) || a.can(Permission::ManageAvailability)),
    ("Users", "/admin/users", |a| a.can(Permission::ManageUsers)),
    ("Audit log", "/admin/audit", |a| a.can(Permission::ViewAuditLog)),
    ("Backups", "/admin/backups", |a| a.can(Permission::ManageBackups)),
    ("System health", "/admin/health", |a| a.can(Permission::ManageBackups)),
    ("Integrations", "/admin/integrations", |a| a.can(Permission::ManageIntegrations)),
    ("Profile", "/profile", |a| a.can(Permission::ManageOwnAccount)),
];

impl Layout {
    /// A frame for a logged-in page in `section` (an href from the navigation).
    pub fn new(actor: &Actor, csrf: &CsrfToken, title: impl Into<String>, section: &str) -> Self {
        let nav = SECTIONS
            .iter()
            .filter(|(_, _, visible)| visible(actor))
            .map(|(label, href, _)| NavItem { label, href, current: *href == section })
            .collect();
        let title = title.into();
        Layout {
            crumbs: vec![("Home".into(), "/".into()), (title.clone(), String::new())],
            title,
            nav,
            user_name: Some(actor.name.clone()),
            csrf: csrf.0.clone(),
            notice: None,
            zone_label: None,
            attention: actor.attention.clone(),
        }
    }

    /// A frame for a page seen without logging in.
    pub fn public(csrf: Option<&CsrfToken>, title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            crumbs: Vec::new(),
            nav: Vec::new(),
            user_name: None,
            csrf: csrf.map(|c| c.0.clone()).unwrap_or_default(),
            notice: None,
            zone_label: None,
            attention: None,
        }
    }

    /// Replaces the breadcrumb trail (the page itself is appended).
    pub fn crumbs(mut self, trail: &[(&str, &str)]) -> Self {
        let mut c: Vec<(String, String)> = trail.iter().map(|(l, h)| (l.to_string(), h.to_string())).collect();
        c.push((self.title.clone(), String::new()));
        self.crumbs = c;
        self
    }

    /// Adds a notice.
    pub fn notice(mut self, kind: &'static str, text: impl Into<String>) -> Self {
        self.notice = Some(Notice { kind, text: text.into() });
        self
    }

    /// Labels the time zone of times on the page.
    pub fn zone(mut self, zone: &TimeZone) -> Self {
        self.zone_label = Some(zone_label(zone));
        self
    }
}

/// "Australia/Sydney (AEDT)" style label for a zone, at the current instant.
pub fn zone_label(zone: &TimeZone) -> String {
    let name = zone.iana_name().unwrap_or("UTC");
    let abbr = zone.to_offset_info(Timestamp::now()).abbreviation().to_string();
    if abbr.is_empty() || abbr == name { name.to_string() } else { format!("{name} ({abbr})") }
}

/// A timestamp for people: "21 Nov 2026, 14:05".
pub fn fmt_time(t: Timestamp, zone: &TimeZone) -> String {
    t.to_zoned(zone.clone()).strftime("%-d %b %Y, %H:%M").to_string()
}

/// A day for people: "21 Nov 2026" (the local date of `t` in `zone`).
pub fn fmt_day(t: Timestamp, zone: &TimeZone) -> String {
    t.to_zoned(zone.clone()).strftime("%-d %b %Y").to_string()
}

/// Field errors for re-rendering a form.
#[derive(Default)]
pub struct FormErrors(pub Vec<FieldError>);

impl FormErrors {
    /// The message for `field`, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Paging links and the "1–50 of 1,204" summary.
pub struct Pager {
    /// Current page from 1.
    pub page: i64,
    /// Page size.
    pub per_page: i64,
    /// Total rows.
    pub total: i64,
    /// The list's address with its filters, without `page`.
    pub base: String,
}

/// Formats 1204 as "1,204".
pub fn thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

impl Pager {
    /// "1–50 of 1,204", or "None" when empty.
    pub fn summary(&self) -> String {
        if self.total == 0 {
            return "None found".into();
        }
        let first = (self.page - 1) * self.per_page + 1;
        let last = (self.page * self.per_page).min(self.total);
        if first > self.total {
            return format!("Past the end of {} results", thousands(self.total));
        }
        format!("{}–{} of {}", thousands(first), thousands(last), thousands(self.total))
    }
    fn href(&self, page: i64) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}page={page}", self.base)
    }
    /// Link to the previous page.
    pub fn prev_href(&self) -> Option<String> {
        (self.page > 1).then(|| self.href(self.page - 1))
    }
    /// Link to the next page.
    pub fn next_href(&self) -> Option<String> {
        (self.page * self.per_page < self.total).then(|| self.href(self.page + 1))
    }
}

/// Builds a query string from non-empty pairs.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::extract::urlencode(v)))
        .collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    message: String,
    request_id: Option<String>,
}

/// A friendly error page for `status`.
pub fn error_page(status: StatusCode, request_id: Option<String>) -> Response {
    let message = match status {
        StatusCode::NOT_FOUND => "We could not find that page. It may have moved, or the address may be mistyped.",
        StatusCode::FORBIDDEN => {
            "You do not have permission to see this page. If you think you should, ask your administrator."
        }
        StatusCode::METHOD_NOT_ALLOWED => "That action is not available here.",
        StatusCode::PAYLOAD_TOO_LARGE => "What you sent is too large.",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts. Please wait a few minutes and try again.",
        s if s.is_server_error() => "Something went wrong on our side. Please try again in a moment.",
        _ => "That request could not be handled. Go back and try again.",
    };
    error_page_with(status, message, request_id)
}

/// A friendly error page with a specific message.
pub fn error_page_with(status: StatusCode, message: &str, request_id: Option<String>) -> Response {
    let title = match status {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::FORBIDDEN => "Not allowed",
        s if s.is_server_error() => "Something went wrong",
        _ => "Cannot do that",
    };
    let page = ErrorPage { layout: Layout::public(None, title), message: message.into(), request_id };
    (status, page).into_response()
}

/// A service error on a page: the matching friendly error page.
pub struct PageError(pub ServiceError);

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let ServiceError::Damaged { .. } = self.0 {
            // Say what could not be shown and that the administrators know.
            return error_page_with(StatusCode::CONFLICT, &self.0.to_string(), None);
        }
        let status = crate::problem::Problem::from(self.0).status();
        error_page(status, None)
    }
}

/// Page handlers return this.
pub type PageResult = Result<Response, PageError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1204), "1,204");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn pager_summary_and_links() {
        let p = Pager { page: 1, per_page: 50, total: 1204, base: "/admin/users?q=a".into() };
        assert_eq!(p.summary(), "1–50 of 1,204");
        assert_eq!(p.prev_href(), None);
        assert_eq!(p.next_href().as_deref(), Some("/admin/users?q=a&page=2"));
        let last = Pager { page: 25, ..p };
        assert_eq!(last.summary(), "1,201–1,204 of 1,204");
        assert_eq!(last.next_href(), None);
    }
}
