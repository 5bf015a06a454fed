//! The invoice list with its filters, and one invoice with everything that can be done
//! to it: issue, void, reissue or discard, take a payment, refund one, the PDF and the
//! UPI code. A refused action shows the invoice again with the reason beside the form.

use super::views::{self, LineView, PaymentView, RefundView, long_date};
use super::{BillingNav, layout, money, status_chip};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::form::{Fields, Opt, Reader, Refusal, done, path_id};
use crate::pages::money::{format_major, parse_major};
use crate::pages::{Layout, PageError, PageResult, Pager, fmt_day, query_string};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_domain::billing::{InvoiceStatus, PaymentMethod};
use praxis_domain::{ClinicId, Currency, InvoiceId, PatientId, Permission, ProviderId};
use praxis_services::billing::{Invoice, InvoiceQuery, IssueRequest, PaymentRequest, UpiRequest, VoidRequest};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> axum::Router<AppState> {
    Router::new()
        .route("/billing", get(list))
        .route("/billing/invoices/{id}", get(view))
        .route("/billing/invoices/{id}/pdf", get(pdf))
        .route("/billing/invoices/{id}/issue", post(issue))
        .route("/billing/invoices/{id}/void", post(void))
        .route("/billing/invoices/{id}/reissue", post(reissue))
        .route("/billing/invoices/{id}/discard", post(discard))
        .route("/billing/invoices/{id}/payments", post(take_payment))
        .route("/billing/receipts/{id}/pdf", get(receipt_pdf))
}

// ---------------------------------------------------------------------------------------
// The list

/// The list's filters as typed (kept as text so a bad one can be shown back).
#[derive(Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    clinic_id: String,
    #[serde(default)]
    patient_id: String,
    #[serde(default)]
    provider_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    page: Option<i64>,
    msg: Option<String>,
}

/// The status filter's choices: (value, label). "open" is every status money is owed on.
const STATUS_CHOICES: &[(&str, &str)] = &[
    ("", "Any status"),
    ("open", "Owing (issued, partly paid, overdue)"),
    ("draft", "Draft"),
    ("issued", "Issued"),
    ("partially_paid", "Partly paid"),
    ("overdue", "Overdue"),
    ("paid", "Paid"),
    ("void", "Void"),
];

struct InvoiceRow {
    id: String,
    number: String,
    patient: String,
    clinic: String,
    issued: String,
    due: String,
    total: String,
    balance: String,
    status: String,
    chip: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "billing_list.html")]
struct ListPage {
    layout: Layout,
    tabs: BillingNav,
    f: ListQuery,
    statuses: Vec<Opt>,
    clinics: Vec<Opt>,
    providers: Vec<Opt>,
    patient_name: Option<String>,
    rows: Vec<InvoiceRow>,
    pager: Pager,
    errors: Fields,
    can_create: bool,
}

async fn list(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(f): Query<ListQuery>,
) -> PageResult {
    if actor.roles.is_patient_only() {
        // Patients have their own invoice pages in the portal.
        return Ok(done("/my/invoices".into()));
    }
    let mut read = Reader::default();
    let from = read.date("from", &f.from);
    let until = read.date("until", &f.until);
    let clinic_id = read.id::<ClinicId>("clinic_id", &f.clinic_id);
    let patient_id = read.id::<PatientId>("patient_id", &f.patient_id);
    let provider_id = read.id::<ProviderId>("provider_id", &f.provider_id);
    let status = match f.status.as_str() {
        "open" => "issued,partially_paid,overdue".to_string(),
        s if STATUS_CHOICES.iter().any(|(v, _)| *v == s) => s.to_string(),
        _ => {
            read.add("status", "Choose one of the statuses.");
            String::new()
        }
    };
    let q = InvoiceQuery {
        status: Some(status),
        clinic_id,
        patient_id,
        provider_id,
        from,
        until,
        q: Some(f.q.trim().to_string()).filter(|s| !s.is_empty()),
        page: f.page,
        per_page: Some(50),
        ..InvoiceQuery::default()
    };
    let outcome = match read.finish() {
        Ok(()) => st.svc.list_invoices(&actor, &q).await,
        Err(e) => Err(e),
    };
    let (page, errors, status_code) = match outcome {
        Ok(p) => (Some(p), Fields::default(), StatusCode::OK),
        Err(e) => {
            let r = Refusal::of(e)?;
            (None, Fields::new(r.errors, &["q", "status", "clinic_id", "provider_id", "from", "until"]), r.status)
        }
    };
    let zone = st.svc.settings().display_zone.clone();
    let (rows, total, page_no) = match &page {
        Some(p) => {
            let money = super::money_for(p.items.iter().map(|i| i.currency.as_str()));
            (
                p.items
                    .iter()
                    .map(|i| InvoiceRow {
                        id: i.id.to_string(),
                        number: i.number.clone().unwrap_or_else(|| "Draft".into()),
                        patient: i.patient_name.clone(),
                        clinic: i.clinic_name.clone(),
                        issued: i.issue_date.map(long_date).unwrap_or_else(|| fmt_day(i.created_at, &zone)),
                        due: i.due_date.map(long_date).unwrap_or_default(),
                        total: money(i.total_minor, &i.currency),
                        balance: money(i.balance_minor, &i.currency),
                        status: i.status_label.clone(),
                        chip: status_chip(i.status),
                    })
                    .collect(),
                p.total,
                p.page,
            )
        }
        None => (Vec::new(), 0, 1),
    };
    let clinics_list = st.svc.list_clinics(&actor).await?;
    let mut clinics = vec![Opt::new("", "Any clinic", f.clinic_id.is_empty())];
    clinics.extend(
        clinics_list.iter().map(|c| Opt::new(c.id.to_string(), c.name.clone(), c.id.to_string() == f.clinic_id)),
    );
    // Providers see only their own work, so only the clinic's people get this filter.
    let providers = if actor.can(Permission::ManageBilling) {
        let mut opts = vec![Opt::new("", "Any provider", f.provider_id.is_empty())];
        opts.extend(st.svc.list_providers(&actor).await?.into_iter().map(|p| {
            let selected = p.id.to_string() == f.provider_id;
            Opt::new(p.id.to_string(), p.name, selected)
        }));
        opts
    } else {
        Vec::new()
    };
    let statuses = STATUS_CHOICES.iter().map(|(v, l)| Opt::new(*v, *l, f.status == *v)).collect();
    let patient_name = match patient_id {
        Some(p) if actor.can(Permission::ManagePatients) => {
            st.svc.get_patient(&actor, p).await.ok().map(|p| p.full_name())
        }
        _ => None,
    };
    let base = format!(
        "/billing{}",
        query_string(&[
            ("q", &f.q),
            ("status", &f.status),
            ("clinic_id", &f.clinic_id),
            ("patient_id", &f.patient_id),
            ("provider_id", &f.provider_id),
            ("from", &f.from),
            ("until", &f.until)
        ])
    );
    let mut layout = Layout::new(&actor, &csrf, "Invoices", "/billing");
    layout = match f.msg.as_deref() {
        Some("discarded") => layout.notice("ok", "The draft was discarded. It had no number, so no gap is left."),
        _ if status_code != StatusCode::OK => layout.notice("error", "Fix the filters marked below to search."),
        _ => layout,
    };
    let page = ListPage {
        layout,
        tabs: BillingNav::new(&actor, "invoices"),
        statuses,
        clinics,
        providers,
        patient_name,
        rows,
        pager: Pager { page: page_no, per_page: 50, total, base },
        errors,
        can_create: actor.can(Permission::ManageBilling),
        f,
    };
    Ok((status_code, page).into_response())
}

// ---------------------------------------------------------------------------------------
// One invoice

/// The payment form as typed.
#[derive(Default, Deserialize)]
struct PayForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    received_on: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    request_key: String,
}

/// The void form as typed.
#[derive(Default, Deserialize)]
struct VoidForm {
    #[serde(default)]
    reason: String,
}

/// The issue form as typed.
#[derive(Default, Deserialize)]
struct IssueForm {
    #[serde(default)]
    issue_date: String,
    send: Option<String>,
}

struct ClaimView {
    payer: String,
    item_number: String,
    claimed: String,
    approved: String,
    status: String,
    reason: String,
}

/// What the invoice page shows: the invoice, and the state of each of its forms.
#[derive(Template, WebTemplate)]
#[template(path = "billing_invoice.html")]
struct InvoicePage {
    layout: Layout,
    tabs: BillingNav,
    inv: Invoice,
    status_chip: &'static str,
    is_draft: bool,
    is_void: bool,
    lines: Vec<LineView>,
    payments: Vec<PaymentView>,
    refunds: Vec<RefundView>,
    claims: Vec<ClaimView>,
    figures: Vec<(String, String)>,
    owes: Vec<(String, String)>,
    upi: Option<UpiRequest>,
    issued_on: String,
    due_on: String,
    can_manage: bool,
    can_pay: bool,
    methods: Vec<Opt>,
    pay: PayForm,
    pay_f: Fields,
    void: VoidForm,
    void_f: Fields,
    issue: IssueForm,
    issue_f: Fields,
    patient_href: Option<String>,
}

/// The forms of the page with what was typed and what was refused (all empty on a
/// fresh view).
#[derive(Default)]
struct FormsState {
    pay: Option<(PayForm, Fields)>,
    void: Option<(VoidForm, Fields)>,
    issue: Option<(IssueForm, Fields)>,
}

async fn invoice_page(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    id: InvoiceId,
    forms: FormsState,
) -> Result<InvoicePage, PageError> {
    let inv = st.svc.get_invoice(actor, id).await?;
    let upi = st.svc.invoice_upi(actor, id).await?;
    let zone = st.svc.settings().display_zone.clone();
    let cur = inv.summary.currency.clone();
    let m = |minor: i64| money(minor, &cur);
    let lines = views::lines(&inv);
    let can_manage = actor.can(Permission::ManageBilling);
    let mut payments = views::payments(&inv, &zone);
    for p in &mut payments {
        p.refundable &= can_manage;
    }
    let refunds = views::refunds(&inv, &zone, views::Reader::Staff);
    let claims = inv
        .claims
        .iter()
        .map(|c| ClaimView {
            payer: c.payer.clone(),
            item_number: c.item_number.clone(),
            claimed: m(c.claimed_minor),
            approved: c.approved_minor.map(m).unwrap_or_default(),
            status: c.status_label.clone(),
            reason: c.reason.clone().unwrap_or_default(),
        })
        .collect();
    let t = &inv.totals;
    let mut figures = vec![("Subtotal".to_string(), m(t.subtotal_minor))];
    if t.discount_minor != 0 {
        figures.push(("Discounts".into(), format!("−{}", m(t.discount_minor))));
    }
    figures.push(("Tax".into(), m(t.tax_minor)));
    figures.push(("Total".into(), m(t.total_minor)));
    if t.rebate_minor != 0 {
        figures.push(("Expected rebates".into(), m(t.rebate_minor)));
    }
    let mut owes = Vec::new();
    if inv.summary.status.is_open_or_paid() {
        owes.push(("Paid".to_string(), m(inv.summary.paid_minor)));
        owes.push(("Balance".into(), m(inv.summary.balance_minor)));
        if inv.insurer_owes_minor > 0 {
            owes.push(("Expected from insurers".into(), m(inv.insurer_owes_minor)));
        }
        owes.push(("Patient owes".into(), m(inv.patient_owes_minor)));
    }
    let can_pay = can_manage && inv.summary.status.accepts_payment() && inv.summary.balance_minor > 0;
    let (pay, pay_f) = forms.pay.unwrap_or_else(|| {
        let currency = Currency::parse(&cur).ok();
        let amount = currency.map(|c| format_major(inv.summary.balance_minor, c)).unwrap_or_default();
        (PayForm { amount, request_key: uuid::Uuid::new_v4().to_string(), ..PayForm::default() }, Fields::default())
    });
    let methods = [
        PaymentMethod::Cash,
        PaymentMethod::Card,
        PaymentMethod::BankTransfer,
        PaymentMethod::Upi,
        PaymentMethod::Insurer,
    ]
    .iter()
    .filter(|m| **m != PaymentMethod::Upi || upi.is_some() || pay.method == "upi")
    .map(|m| Opt::new(m.as_str(), m.label(), pay.method == m.as_str()))
    .collect();
    let (void, void_f) = forms.void.unwrap_or_default();
    let (issue, issue_f) = forms
        .issue
        .unwrap_or_else(|| (IssueForm { issue_date: String::new(), send: Some("on".into()) }, Fields::default()));
    let title = match &inv.summary.number {
        Some(n) => format!("Invoice {n}"),
        None => "Draft invoice".to_string(),
    };
    let mut layout = layout(actor, csrf, title, &[]).zone(&zone);
    if !inv.warnings.is_empty() {
        layout = layout.notice("warn", inv.warnings.join(" "));
    }
    Ok(InvoicePage {
        layout,
        tabs: BillingNav::new(actor, "invoices"),
        status_chip: status_chip(inv.summary.status),
        is_draft: inv.summary.status == InvoiceStatus::Draft,
        is_void: inv.summary.status == InvoiceStatus::Void,
        issued_on: inv.summary.issue_date.map(long_date).unwrap_or_default(),
        due_on: inv.summary.due_date.map(long_date).unwrap_or_default(),
        patient_href: actor.can(Permission::ManagePatients).then(|| format!("/patients/{}", inv.summary.patient_id)),
        lines,
        payments,
        refunds,
        claims,
        figures,
        owes,
        upi,
        can_manage,
        can_pay,
        methods,
        pay,
        pay_f,
        void,
        void_f,
        issue,
        issue_f,
        inv,
    })
}

#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

/// What a `?msg=` after a redirect says.
fn message(msg: Option<&str>) -> Option<(&'static str, &'static str)> {
    Some(match msg? {
        "saved" => ("ok", "The draft was saved."),
        "issued" => ("ok", "The invoice was issued and numbered."),
        "paid" => ("ok", "The payment was recorded and its receipt numbered."),
        "refunded" => ("ok", "The refund was recorded."),
        "voided" => ("ok", "The invoice is void. It stays on record with its number."),
        "reissued" => ("ok", "A new draft replaces the void invoice. Check it and issue it."),
        _ => return None,
    })
}

async fn view(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<MsgQuery>,
) -> PageResult {
    let id: InvoiceId = path_id(&id, "Invoice")?;
    if actor.roles.is_patient_only() {
        return Ok(done(format!("/my/invoices/{id}")));
    }
    let mut page = invoice_page(&st, &actor, &csrf, id, FormsState::default()).await?;
    if let Some((kind, text)) = message(q.msg.as_deref()) {
        page.layout = page.layout.notice(kind, text);
    }
    Ok(page.into_response())
}

/// The invoice again with a refused form: its status and the reason at the top.
async fn refused(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    id: InvoiceId,
    r: Refusal,
    forms: FormsState,
) -> PageResult {
    let mut page = invoice_page(st, actor, csrf, id, forms).await?;
    page.layout = page.layout.notice("error", r.message);
    Ok((r.status, page).into_response())
}

async fn pdf(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<String>) -> PageResult {
    let id: InvoiceId = path_id(&id, "Invoice")?;
    Ok(crate::api::billing::pdf_response(st.svc.invoice_pdf(&actor, id).await?))
}

async fn receipt_pdf(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<String>) -> PageResult {
    let id = path_id(&id, "Payment")?;
    Ok(crate::api::billing::pdf_response(st.svc.receipt_pdf(&actor, id).await?))
}

async fn issue(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<IssueForm>,
) -> PageResult {
    let id: InvoiceId = path_id(&id, "Invoice")?;
    let mut read = Reader::default();
    let issue_date = read.date("issue_date", &form.issue_date);
    let outcome = match read.finish() {
        Ok(()) => st
            .svc
            .issue_invoice(&actor, id, IssueRequest { issue_date, send: Some(form.send.is_some()) })
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(done(format!("/billing/invoices/{id}?msg=issued"))),
        Err(e) => {
            let r = Refusal::of(e)?.beside("issue_date");
            let f = Fields::new(r.errors.clone(), &["issue_date"]);
            refused(&st, &actor, &csrf, id, r, FormsState { issue: Some((form, f)), ..FormsState::default() }).await
        }
    }
}

async fn void(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<VoidForm>,
) -> PageResult {
    let id: InvoiceId = path_id(&id, "Invoice")?;
    match st.svc.void_invoice(&actor, id, VoidRequest { reason: form.reason.clone() }).await {
        Ok(_) => Ok(done(format!("/billing/invoices/{id}?msg=voided"))),
        Err(e) => {
            let r = Refusal::of(e)?.beside("reason");
            let f = Fields::new(r.errors.clone(), &["reason"]);
            refused(&st, &actor, &csrf, id, r, FormsState { void: Some((form, f)), ..FormsState::default() }).await
        }
    }
}

async fn reissue(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: InvoiceId = path_id(&id, "Invoice")?;
    match st.svc.reissue_invoice(&actor, id).await {
        Ok(new) => Ok(done(format!("/billing/invoices/{}?msg=reissued", new.summary.id))),
        Err(e) => refused(&st, &actor, &csrf, id, Refusal::of(e)?, FormsState::default()).await,
    }
}

async fn discard(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: InvoiceId = path_id(&id, "Invoice")?;
    match st.svc.discard_invoice(&actor, id).await {
        Ok(()) => Ok(done("/billing?msg=discarded".into())),
        Err(e) => refused(&st, &actor, &csrf, id, Refusal::of(e)?, FormsState::default()).await,
    }
}

/// The order of the payment form's fields.
const PAY_FIELDS: &[&str] = &["method", "amount", "received_on", "reference", "note"];

async fn take_payment(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<PayForm>,
) -> PageResult {
    let id: InvoiceId = path_id(&id, "Invoice")?;
    let outcome = match payment_request(&st, &actor, id, &form).await {
        Ok(req) => st.svc.record_payment(&actor, id, req).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(done(format!("/billing/invoices/{id}?msg=paid"))),
        Err(e) => {
            let r =
                Refusal::of(e)?.rename("amount_minor", "amount").rename("received_at", "received_on").beside("amount");
            let f = Fields::new(r.errors.clone(), PAY_FIELDS);
            refused(&st, &actor, &csrf, id, r, FormsState { pay: Some((form, f)), ..FormsState::default() }).await
        }
    }
}

/// Reads the payment form: the amount in the invoice's currency, the day received (at
/// noon in the clinic's display zone, or now when it is today or empty).
async fn payment_request(
    st: &AppState,
    actor: &Actor,
    id: InvoiceId,
    form: &PayForm,
) -> Result<PaymentRequest, ServiceError> {
    let inv = st.svc.get_invoice(actor, id).await?;
    let mut read = Reader::default();
    let method = match PaymentMethod::parse(form.method.trim()) {
        Some(m) if m != PaymentMethod::Online => Some(m),
        _ => {
            read.add("method", "Choose how the money was paid.");
            None
        }
    };
    let amount_minor = match Currency::parse(&inv.summary.currency) {
        Ok(c) => match parse_major(&form.amount, c) {
            Ok(0) => {
                read.add("amount", "Give the amount received, more than 0.");
                None
            }
            Ok(v) => Some(v),
            Err(m) => {
                read.add("amount", m);
                None
            }
        },
        Err(_) => None,
    };
    let day = read.date("received_on", &form.received_on);
    read.finish()?;
    let zone = st.svc.settings().display_zone.clone();
    let today = st.svc.now().to_zoned(zone.clone()).date();
    let received_at = match day {
        Some(d) if d != today => Some(
            d.at(12, 0, 0, 0)
                .to_zoned(zone)
                .map_err(|_| ServiceError::invalid("received_on", "invalid", "Give a real date."))?
                .timestamp(),
        ),
        _ => None,
    };
    Ok(PaymentRequest {
        method,
        amount_minor,
        currency: None,
        received_at,
        reference: form.reference.clone(),
        note: form.note.clone(),
        claim_id: None,
        request_key: Some(form.request_key.clone()).filter(|k| !k.trim().is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_messages_are_shown() {
        assert!(message(Some("paid")).is_some());
        assert!(message(Some("<script>")).is_none());
        assert!(message(None).is_none());
    }
}
