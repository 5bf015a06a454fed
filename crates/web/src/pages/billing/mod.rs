//! The billing area: invoices (list, drafting, issuing, voiding), payments and refunds,
//! claims, the money reports and the billing settings — and, for patients, their own
//! invoices in the portal with online and UPI payment.
//!
//! Every page asks the billing services; they decide who may do what and write the
//! audit rows. Amounts are typed in major units ("120.50") and read into minor units
//! by [`crate::pages::money`]; every amount shown goes through one formatter
//! ([`praxis_services::billing::money`]).

mod claims;
mod drafts;
mod invoices;
mod payments;
mod portal;
mod reports;
mod settings;
mod views;

use crate::csrf::CsrfToken;
use crate::pages::Layout;
use crate::state::AppState;
use axum::Router;
use praxis_domain::Permission;
use praxis_services::Actor;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .merge(invoices::router())
        .merge(drafts::router())
        .merge(payments::router())
        .merge(claims::router())
        .merge(reports::router())
        .merge(settings::router())
        .merge(portal::router())
}

/// The billing area's own tabs (Invoices, Claims, Reports, Settings), each shown only to
/// those who may use it.
pub(crate) struct BillingNav {
    /// (label, href, current).
    pub tabs: Vec<(&'static str, &'static str, bool)>,
}

impl BillingNav {
    fn new(actor: &Actor, current: &str) -> Self {
        let all: [(&str, &str, &str, bool); 4] = [
            ("invoices", "Invoices", "/billing", actor.can(Permission::ViewInvoices)),
            ("claims", "Claims", "/billing/claims", actor.can(Permission::ManageBilling)),
            ("reports", "Reports", "/billing/reports", actor.can(Permission::ViewBillingReports)),
            (
                "settings",
                "Settings",
                "/billing/settings",
                actor.can(Permission::ManageBillingSettings) || actor.can(Permission::ManageBilling),
            ),
        ];
        BillingNav {
            tabs: all.iter().filter(|t| t.3).map(|(key, label, href, _)| (*label, *href, *key == current)).collect(),
        }
    }
}

/// A frame for a staff billing page: "Home › Billing › … › title".
fn layout(actor: &Actor, csrf: &CsrfToken, title: impl Into<String>, trail: &[(&str, &str)]) -> Layout {
    let mut crumbs = vec![("Home", "/"), ("Billing", "/billing")];
    crumbs.extend_from_slice(trail);
    Layout::new(actor, csrf, title, "/billing").crumbs(&crumbs)
}

/// "$85.00" for minor units in a currency: the one money formatter of the pages.
pub(crate) fn money(minor: i64, currency: &str) -> String {
    praxis_services::billing::money(minor, currency)
}

/// Formats minor units of a currency for one page (see [`money_for`]).
pub(crate) type MoneyFmt = Box<dyn Fn(i64, &str) -> String + Send + Sync>;

/// The money formatter for a page that shows amounts in `currencies` (one entry per
/// amount or per currency, repeats allowed): "$85.00" while each symbol is unambiguous,
/// "A$85.00" and "US$85.00" once two currencies on the page would share "$".
pub(crate) fn money_for<'a>(currencies: impl IntoIterator<Item = &'a str>) -> MoneyFmt {
    let parsed = currencies.into_iter().filter_map(|c| praxis_domain::Currency::parse(c).ok());
    let style = praxis_domain::billing::MoneyStyle::for_currencies(parsed);
    // Boxed so that it borrows nothing from `currencies`: the rows can move on.
    Box::new(move |minor, currency| praxis_services::billing::money_in(minor, currency, style))
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

/// "10 %", "0 %", "12.5 %" from basis points.
pub(crate) fn percent(bp: i64) -> String {
    let (whole, frac) = (bp / 100, bp % 100);
    if frac == 0 {
        return format!("{whole} %");
    }
    let digits = format!("{frac:02}");
    format!("{whole}.{} %", digits.trim_end_matches('0'))
}

/// "10" or "12.5" percent as basis points (at most two decimals, 0 to 100).
pub(crate) fn percent_bp(text: &str) -> Option<i64> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let bp = whole.parse::<i64>().ok()?.checked_mul(100)? + format!("{frac:0<2}").parse::<i64>().ok()?;
    (bp <= 10_000).then_some(bp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_rates_read_as_percentages() {
        assert_eq!(percent(1000), "10 %");
        assert_eq!(percent(0), "0 %");
        assert_eq!(percent(1250), "12.5 %");
        assert_eq!(percent(1825), "18.25 %");
        assert_eq!(percent(5), "0.05 %");
    }

    #[test]
    fn percentages_become_basis_points_exactly() {
        assert_eq!(percent_bp("10"), Some(1000));
        assert_eq!(percent_bp("12.5"), Some(1250));
        assert_eq!(percent_bp("0.05"), Some(5));
        assert_eq!(percent_bp("100"), Some(10_000));
        assert_eq!(percent_bp("100.01"), None);
        assert_eq!(percent_bp("1.234"), None);
        assert_eq!(percent_bp("-5"), None);
        assert_eq!(percent_bp("ten"), None);
        assert_eq!(percent_bp(""), None);
    }
}
