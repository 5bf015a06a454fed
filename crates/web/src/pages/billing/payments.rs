//! Refunding a payment: how much (at most what is left of it) and why. A card payment
//! taken online is refunded through the card processor; the page says so.

use super::{layout, money};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::form::{Fields, Reader, Refusal, done, path_id};
use crate::pages::money::{format_major, parse_major};
use crate::pages::{Layout, PageError, PageResult};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_domain::billing::PaymentMethod;
use praxis_domain::{Currency, InvoiceId, PaymentId, Permission};
use praxis_services::billing::{Invoice, Payment, RefundRequest};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/billing/invoices/{id}/payments/{payment}/refund", get(refund_page).post(refund))
}

/// The refund form as typed.
#[derive(Default, Deserialize)]
struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    request_key: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "billing_refund.html")]
struct RefundPage {
    layout: Layout,
    invoice_href: String,
    receipt: String,
    method: String,
    paid: String,
    refundable: String,
    online: bool,
    form: RefundForm,
    f: Fields,
    action: String,
}

/// The invoice and the payment on it named in the address (a payment of another
/// invoice is not found).
async fn payment_of(st: &AppState, actor: &Actor, id: &str, payment: &str) -> Result<(Invoice, Payment), PageError> {
    let id: InvoiceId = path_id(id, "Invoice")?;
    let pid: PaymentId = path_id(payment, "Payment")?;
    st.svc.authorize(actor, Permission::ManageBilling)?;
    let inv = st.svc.get_invoice(actor, id).await?;
    let p = inv
        .payments
        .iter()
        .find(|p| p.id == pid)
        .cloned()
        .ok_or(PageError(ServiceError::NotFound { what: "Payment" }))?;
    Ok((inv, p))
}

fn page(actor: &Actor, csrf: &CsrfToken, inv: &Invoice, p: &Payment, form: RefundForm, f: Fields) -> RefundPage {
    let number = inv.summary.number.clone().unwrap_or_default();
    let invoice_href = format!("/billing/invoices/{}", inv.summary.id);
    RefundPage {
        layout: layout(
            actor,
            csrf,
            format!("Refund {}", p.receipt_number),
            &[(&format!("Invoice {number}"), &invoice_href)],
        ),
        action: format!("{invoice_href}/payments/{}/refund", p.id),
        invoice_href,
        receipt: p.receipt_number.clone(),
        method: p.method_label.clone(),
        paid: money(p.amount_minor, &p.currency),
        refundable: money(p.refundable_minor, &p.currency),
        online: p.method == PaymentMethod::Online,
        form,
        f,
    }
}

async fn refund_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path((id, payment)): Path<(String, String)>,
) -> PageResult {
    let (inv, p) = payment_of(&st, &actor, &id, &payment).await?;
    let amount = Currency::parse(&p.currency).map(|c| format_major(p.refundable_minor, c)).unwrap_or_default();
    let form = RefundForm { amount, reason: String::new(), request_key: uuid::Uuid::new_v4().to_string() };
    Ok(page(&actor, &csrf, &inv, &p, form, Fields::default()).into_response())
}

async fn refund(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path((id, payment)): Path<(String, String)>,
    Form(form): Form<RefundForm>,
) -> PageResult {
    let (inv, p) = payment_of(&st, &actor, &id, &payment).await?;
    let mut read = Reader::default();
    let amount_minor = match Currency::parse(&p.currency) {
        Ok(c) => match parse_major(&form.amount, c) {
            Ok(0) => {
                read.add("amount", "Give the amount to refund, more than 0.");
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
    let outcome = match read.finish() {
        Ok(()) => {
            let req = RefundRequest {
                amount_minor,
                reason: form.reason.clone(),
                request_key: Some(form.request_key.clone()).filter(|k| !k.trim().is_empty()),
            };
            st.svc.refund_payment(&actor, p.id, req).await.map(|_| ())
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(done(format!("/billing/invoices/{}?msg=refunded", inv.summary.id))),
        Err(e) => {
            let r = Refusal::of(e)?.rename("amount_minor", "amount").beside("amount");
            let f = Fields::new(r.errors, &["amount", "reason"]);
            let mut pg = page(&actor, &csrf, &inv, &p, form, f);
            pg.layout = pg.layout.notice("error", r.message);
            Ok((r.status, pg).into_response())
        }
    }
}
