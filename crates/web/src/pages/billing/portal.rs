//! The patient's own invoices in the portal: the list, one invoice with its payments,
//! the PDF, paying online through Stripe's payment element and paying by UPI.
//!
//! The services decide what a patient may see: their own invoices and their dependants',
//! never drafts; anyone else's invoice is simply not found (404), so it is not revealed.
//! The clinic's people have their own billing pages and are sent there.

use super::views::{self, LineView, PaymentView, RefundView};
use super::{money, status_chip};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::form::{done, path_id};
use crate::pages::{Layout, PageResult, Pager};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use praxis_domain::{ClinicId, InvoiceId, PaymentId};
use praxis_services::billing::online::OnlineCheckout;
use praxis_services::billing::{Invoice, InvoiceQuery, UpiRequest};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/my/invoices", get(list))
        .route("/my/invoices/{id}", get(view))
        .route("/my/invoices/{id}/pdf", get(pdf))
        .route("/my/invoices/{id}/pay", get(pay))
        .route("/my/receipts/{id}/pdf", get(receipt_pdf))
}

/// How many invoices one page of the list shows.
const PER_PAGE: i64 = 20;

/// "3 March 2026".
fn long_date(d: Date) -> String {
    d.strftime("%-d %B %Y").to_string()
}

/// The zone of an invoice's clinic (the server's display zone if it cannot be read).
async fn clinic_zone(st: &AppState, actor: &Actor, clinic: ClinicId) -> TimeZone {
    match st.svc.get_clinic(actor, clinic).await {
        Ok(c) => c.zone(),
        Err(_) => st.svc.settings().display_zone.clone(),
    }
}

/// A frame for a portal invoice page: "Home › Invoices › … › title".
fn layout(actor: &Actor, csrf: &CsrfToken, title: impl Into<String>, trail: &[(&str, &str)]) -> Layout {
    let mut crumbs = vec![("Home", "/"), ("Invoices", "/my/invoices")];
    crumbs.extend_from_slice(trail);
    Layout::new(actor, csrf, title, "/my/invoices").crumbs(&crumbs)
}

// ---------------------------------------------------------------------------------------
// The list

#[derive(Deserialize)]
struct ListQuery {
    page: Option<i64>,
}

struct ListRow {
    id: String,
    number: String,
    patient: String,
    issued: String,
    clinic: String,
    total: String,
    balance: String,
    owing: bool,
    status: String,
    chip: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_invoices.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ListRow>,
    pager: Pager,
    /// More than one person's invoices are listed (a guardian's dependants).
    several_patients: bool,
}

async fn list(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<ListQuery>,
) -> PageResult {
    if !actor.roles.is_patient_only() {
        // The clinic's people have the billing pages.
        return Ok(done("/billing".into()));
    }
    let page = q.page.unwrap_or(1).max(1);
    let found = st
        .svc
        .list_invoices(&actor, &InvoiceQuery { page: Some(page), per_page: Some(PER_PAGE), ..InvoiceQuery::default() })
        .await?;
    let first = found.items.first().map(|i| i.patient_id);
    let several_patients = found.items.iter().any(|i| Some(i.patient_id) != first);
    let money = super::money_for(found.items.iter().map(|i| i.currency.as_str()));
    let rows = found
        .items
        .into_iter()
        .map(|i| ListRow {
            id: i.id.to_string(),
            number: i.number.clone().unwrap_or_default(),
            patient: i.patient_name.clone(),
            issued: i.issue_date.map(long_date).unwrap_or_default(),
            clinic: i.clinic_name.clone(),
            total: money(i.total_minor, &i.currency),
            balance: money(i.balance_minor, &i.currency),
            owing: i.balance_minor > 0,
            chip: status_chip(i.status),
            status: i.status_label,
        })
        .collect();
    let pager = Pager { page: found.page, per_page: found.per_page, total: found.total, base: "/my/invoices".into() };
    let layout = Layout::new(&actor, &csrf, "My invoices", "/my/invoices");
    Ok(ListPage { layout, rows, pager, several_patients }.into_response())
}

// ---------------------------------------------------------------------------------------
// One invoice

#[derive(Template, WebTemplate)]
#[template(path = "portal_invoice.html")]
struct InvoicePage {
    layout: Layout,
    inv: Invoice,
    status_chip: &'static str,
    issued_on: String,
    due_on: String,
    lines: Vec<LineView>,
    figures: Vec<(String, String)>,
    owes: Vec<(String, String)>,
    /// What the patient owes, formatted ("$132.00"); empty when nothing is.
    you_owe: String,
    insurer_note: String,
    payments: Vec<PaymentView>,
    refunds: Vec<RefundView>,
    upi: Option<UpiRequest>,
    upi_amount: String,
    can_pay_online: bool,
}

#[derive(Deserialize)]
struct ViewQuery {
    paid: Option<String>,
}

async fn view(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<ViewQuery>,
) -> PageResult {
    let id: InvoiceId = path_id(&id, "Invoice")?;
    if !actor.roles.is_patient_only() {
        return Ok(done(format!("/billing/invoices/{id}")));
    }
    let inv = st.svc.get_invoice(&actor, id).await?;
    let upi = st.svc.invoice_upi(&actor, id).await?;
    let zone = clinic_zone(&st, &actor, inv.summary.clinic_id).await;
    let cur = inv.summary.currency.clone();
    let m = |minor: i64| money(minor, &cur);
    let lines = views::lines(&inv);
    let payments = views::payments(&inv, &zone);
    let refunds = views::refunds(&inv, &zone, views::Reader::Patient);
    let t = &inv.totals;
    let mut figures = vec![("Subtotal".to_string(), m(t.subtotal_minor))];
    if t.discount_minor != 0 {
        figures.push(("Discounts".into(), format!("−{}", m(t.discount_minor))));
    }
    figures.push(("GST".into(), m(t.tax_minor)));
    figures.push(("Total".into(), m(t.total_minor)));
    let s = &inv.summary;
    let open = s.status.is_open_or_paid();
    let mut owes = Vec::new();
    if open {
        owes.push(("Paid so far".to_string(), m(s.paid_minor)));
        if inv.insurer_owes_minor > 0 {
            owes.push(("Expected from Medicare or your insurer".into(), m(inv.insurer_owes_minor)));
        }
        owes.push(("You owe".into(), m(inv.patient_owes_minor)));
    }
    let insurer_note = if open && inv.insurer_owes_minor > 0 {
        format!(
            "{} of this invoice is expected from Medicare or your insurer; you do not need to pay that part.",
            m(inv.insurer_owes_minor)
        )
    } else {
        String::new()
    };
    let payable = s.status.accepts_payment() && inv.patient_owes_minor > 0;
    let can_pay_online = payable && st.svc.online_payments_available(s.clinic_id).await?;
    let title = match &s.number {
        Some(n) => format!("Invoice {n}"),
        None => "Invoice".to_string(),
    };
    let mut layout = layout(&actor, &csrf, title, &[]).zone(&zone);
    if q.paid.is_some() {
        layout = layout.notice("ok", "Thank you — your payment is being confirmed; the receipt will arrive by email.");
    } else if s.status == praxis_domain::billing::InvoiceStatus::Overdue && payable {
        layout = layout.notice("warn", "This invoice is overdue. Please pay what you owe, or contact the clinic.");
    }
    let upi_amount = upi.as_ref().map(|u| m(u.amount_minor)).unwrap_or_default();
    Ok(InvoicePage {
        layout,
        status_chip: status_chip(s.status),
        issued_on: s.issue_date.map(long_date).unwrap_or_default(),
        due_on: if s.status.accepts_payment() { s.due_date.map(long_date).unwrap_or_default() } else { String::new() },
        you_owe: if payable { m(inv.patient_owes_minor) } else { String::new() },
        lines,
        figures,
        owes,
        insurer_note,
        payments,
        refunds,
        upi,
        upi_amount,
        can_pay_online,
        inv,
    }
    .into_response())
}

async fn pdf(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<String>) -> PageResult {
    let id: InvoiceId = path_id(&id, "Invoice")?;
    Ok(crate::api::billing::pdf_response(st.svc.invoice_pdf(&actor, id).await?))
}

async fn receipt_pdf(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<String>) -> PageResult {
    let id: PaymentId = path_id(&id, "Payment")?;
    Ok(crate::api::billing::pdf_response(st.svc.receipt_pdf(&actor, id).await?))
}

// ---------------------------------------------------------------------------------------
// Paying online

#[derive(Template, WebTemplate)]
#[template(path = "portal_pay.html")]
struct PayPage {
    layout: Layout,
    invoice_id: String,
    /// "INV-2026-000001".
    number: String,
    /// Set when the payment element can be shown.
    checkout: Option<OnlineCheckout>,
    /// "$132.00".
    amount: String,
    clinic: String,
    /// Why the patient cannot pay online now (a conflict the service reported).
    problem: String,
}

/// The origin (`https://js.stripe.com`) of the payment provider's script, if its address
/// is a plain http(s) URL whose host can go into a header as it is.
fn script_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    let ok = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    ok.then(|| format!("{scheme}://{host}"))
}

/// The pay page's Content-Security-Policy: the site's own, plus the provider's script
/// origin and the frames and calls its payment element makes — on this page only.
fn pay_csp(script_url: &str) -> Option<HeaderValue> {
    let origin = script_origin(script_url)?;
    let policy = format!(
        "default-src 'self'; script-src 'self' {origin}; style-src 'self'; img-src 'self' data: https://*.stripe.com; \
         font-src 'self'; connect-src 'self' {origin} https://api.stripe.com; \
         frame-src {origin} https://*.js.stripe.com https://hooks.stripe.com; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    );
    HeaderValue::from_str(&policy).ok()
}

async fn pay(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: InvoiceId = path_id(&id, "Invoice")?;
    if !actor.roles.is_patient_only() {
        return Ok(done(format!("/billing/invoices/{id}")));
    }
    // Reading the invoice first answers 404 for anyone else's, before any payment starts.
    let inv = st.svc.get_invoice(&actor, id).await?;
    let number = inv.summary.number.clone().unwrap_or_default();
    let back = format!("/my/invoices/{id}");
    let page = |layout: Layout, checkout: Option<OnlineCheckout>, amount: String, problem: String| PayPage {
        layout,
        invoice_id: id.to_string(),
        number: number.clone(),
        checkout,
        amount,
        clinic: inv.summary.clinic_name.clone(),
        problem,
    };
    let title = format!("Pay invoice {number}");
    let frame = || layout(&actor, &csrf, title.clone(), &[(number.as_str(), back.as_str())]);
    match st.svc.start_online_payment(&actor, id).await {
        Ok(c) => {
            let csp = pay_csp(&c.script_url);
            let amount = money(c.amount_minor, &c.currency);
            let mut res: Response = page(frame(), Some(c), amount, String::new()).into_response();
            if let Some(v) = csp {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            Ok(res)
        }
        Err(ServiceError::Conflict { message, .. }) => {
            Ok((StatusCode::CONFLICT, page(frame(), None, String::new(), message)).into_response())
        }
        Err(ServiceError::Unavailable(message)) => {
            Ok((StatusCode::SERVICE_UNAVAILABLE, page(frame(), None, String::new(), message)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_origins_go_into_the_policy() {
        assert_eq!(script_origin("https://js.stripe.com/v3/").as_deref(), Some("https://js.stripe.com"));
        assert_eq!(script_origin("http://127.0.0.1:4242/v3").as_deref(), Some("http://127.0.0.1:4242"));
        assert_eq!(script_origin("javascript:alert(1)"), None);
        assert_eq!(script_origin("https://evil.example; script-src *"), None);
        assert_eq!(script_origin("https:///v3"), None);
        let csp = pay_csp("https://js.stripe.com/v3/").map(|v| v.to_str().map(str::to_string).unwrap_or_default());
        let csp = csp.unwrap_or_default();
        assert!(csp.contains("script-src 'self' https://js.stripe.com;"), "{csp}");
        assert!(csp.contains("frame-src https://js.stripe.com"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
}
