//! The billing area: invoices (list, drafting, issuing, voiding), payments and refunds,
//! claims, the money reports and the billing settings — and, for patients, their own
//! invoices in the portal with online and UPI payment.
//!
//! Every page asks the billing services; they decide who may do what and write the
//! audit rows. Amounts are typed in major units ("120.50") and read into minor units
//! by [`crate::pages::money`]; every amount shown goes through one formatter
//! ([`praxis_services::billing::money`]).

mod portal;

use crate::csrf::CsrfToken;
use crate::pages::Layout;
use crate::state::AppState;
use axum::Router;
use praxis_services::Actor;

pub(super) fn router() -> Router<AppState> {
    Router::new().merge(portal::router())
}

/// A frame for a staff billing page: "Home › Billing › … › title".
#[allow(dead_code)]
fn layout(actor: &Actor, csrf: &CsrfToken, title: impl Into<String>, trail: &[(&str, &str)]) -> Layout {
    let mut crumbs = vec![("Home", "/"), ("Billing", "/billing")];
    crumbs.extend_from_slice(trail);
    Layout::new(actor, csrf, title, "/billing").crumbs(&crumbs)
}

/// "$85.00" for minor units in a currency: the one money formatter of the pages.
pub(crate) fn money(minor: i64, currency: &str) -> String {
    praxis_services::billing::money(minor, currency)
}

/// The CSS class of an invoice status chip (the label is always written beside it,
/// so colour is never the only carrier of the status).
pub(crate) fn status_chip(status: praxis_domain::billing::InvoiceStatus) -> &'static str {
    use praxis_domain::billing::InvoiceStatus as S;
    match status {
        S::Draft => "off",
        S::Issued | S::PartiallyPaid => "warn",
        S::Paid => "ok",
        S::Overdue => "bad",
        S::Void => "off",
    }
}
