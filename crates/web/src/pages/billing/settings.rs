//! Billing settings: each clinic's business details on its invoices (legal name, tax
//! number, default tax rate, currency, payment terms, number prefix, UPI and bank
//! details, online payment) and each service's billing terms (own tax rate or GST-free,
//! item number and rebate, automatic drafts, deposit and fees). Staff may read them;
//! administrators change them.

use super::{BillingNav, layout, money, percent, percent_bp};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::form::{Fields, Reader, Refusal, done, path_id};
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
use praxis_domain::{ClinicId, Currency, Permission, ServiceId};
use praxis_services::billing::settings::{ClinicBilling, ClinicBillingInput, ServiceBilling, ServiceBillingInput};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/billing/settings", get(overview))
        .route("/billing/settings/clinics/{id}", get(clinic_page).post(save_clinic))
        .route("/billing/settings/services/{id}", get(service_page).post(save_service))
}

struct ClinicRow {
    id: String,
    name: String,
    legal: String,
    tax: String,
    currency: String,
    terms: String,
    prefix: String,
    upi: String,
    online: bool,
    saved: bool,
}

struct ServiceRow {
    id: String,
    name: String,
    price: String,
    tax: String,
    item: String,
    rebate: String,
    auto: bool,
    fees: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "billing_settings.html")]
struct Overview {
    layout: Layout,
    tabs: BillingNav,
    clinics: Vec<ClinicRow>,
    services: Vec<ServiceRow>,
    can_edit: bool,
    online_configured: bool,
}

#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

fn clinic_row(b: &ClinicBilling) -> ClinicRow {
    ClinicRow {
        id: b.clinic_id.to_string(),
        name: b.clinic_name.clone(),
        legal: b.legal_name.clone(),
        tax: format!(
            "{} {} · {}{}",
            b.tax_name,
            percent(b.default_tax_bp),
            b.tax_label,
            if b.tax_number.is_empty() { " not set".to_string() } else { format!(" {}", b.tax_number) }
        ),
        currency: b.currency.clone(),
        terms: format!("{} days", b.payment_terms_days),
        prefix: b.invoice_prefix.clone(),
        upi: b.upi_vpa.clone().unwrap_or_default(),
        online: b.online_payments,
        saved: b.saved,
    }
}

async fn overview(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<MsgQuery>,
) -> PageResult {
    let mut clinics = Vec::new();
    for c in st.svc.list_clinics(&actor).await? {
        clinics.push(clinic_row(&st.svc.get_clinic_billing(&actor, c.id).await?));
    }
    let services = st
        .svc
        .list_service_billing(&actor)
        .await?
        .iter()
        .map(|s| {
            let m = |v: i64| money(v, &s.currency);
            let mut fees = Vec::new();
            if s.deposit_minor > 0 {
                fees.push(format!("Deposit {}", m(s.deposit_minor)));
            }
            if s.late_cancel_fee_minor > 0 {
                fees.push(format!("Late cancellation {}", m(s.late_cancel_fee_minor)));
            }
            if s.no_show_fee_minor > 0 {
                fees.push(format!("No-show {}", m(s.no_show_fee_minor)));
            }
            ServiceRow {
                id: s.service_id.to_string(),
                name: s.name.clone(),
                price: m(s.price_minor),
                tax: match s.tax_bp {
                    None => "Clinic’s rate".into(),
                    Some(0) => "Tax-free".into(),
                    Some(bp) => percent(bp),
                },
                item: s.item_number.clone().unwrap_or_default(),
                rebate: if s.rebate_minor > 0 { m(s.rebate_minor) } else { String::new() },
                auto: s.auto_invoice,
                fees: fees.join(" · "),
            }
        })
        .collect();
    let mut layout = layout(&actor, &csrf, "Billing settings", &[]);
    if q.msg.as_deref() == Some("saved") {
        layout = layout.notice("ok", "The billing settings were saved.");
    }
    Ok(Overview {
        layout,
        tabs: BillingNav::new(&actor, "settings"),
        clinics,
        services,
        can_edit: actor.can(Permission::ManageBillingSettings),
        online_configured: st.svc.settings().payment_gateway.is_some(),
    }
    .into_response())
}

// ---------------------------------------------------------------------------------------
// A clinic's details

#[derive(Default, Deserialize)]
struct ClinicForm {
    #[serde(default)]
    legal_name: String,
    #[serde(default)]
    tax_label: String,
    #[serde(default)]
    tax_number: String,
    #[serde(default)]
    tax_name: String,
    #[serde(default)]
    default_tax: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    payment_terms_days: String,
    #[serde(default)]
    invoice_prefix: String,
    #[serde(default)]
    upi_vpa: String,
    #[serde(default)]
    upi_payee_name: String,
    #[serde(default)]
    bank_details: String,
    #[serde(default)]
    invoice_note: String,
    online_payments: Option<String>,
}

const CLINIC_FIELDS: &[&str] = &[
    "legal_name",
    "tax_label",
    "tax_number",
    "tax_name",
    "default_tax",
    "currency",
    "payment_terms_days",
    "invoice_prefix",
    "upi_vpa",
    "upi_payee_name",
    "bank_details",
    "invoice_note",
];

impl ClinicForm {
    fn of(b: &ClinicBilling) -> Self {
        ClinicForm {
            legal_name: b.legal_name.clone(),
            tax_label: b.tax_label.clone(),
            tax_number: b.tax_number.clone(),
            tax_name: b.tax_name.clone(),
            default_tax: percent(b.default_tax_bp).trim_end_matches(" %").to_string(),
            currency: b.currency.clone(),
            payment_terms_days: b.payment_terms_days.to_string(),
            invoice_prefix: b.invoice_prefix.clone(),
            upi_vpa: b.upi_vpa.clone().unwrap_or_default(),
            upi_payee_name: b.upi_payee_name.clone().unwrap_or_default(),
            bank_details: b.bank_details.clone(),
            invoice_note: b.invoice_note.clone(),
            online_payments: b.online_payments.then(|| "on".into()),
        }
    }

    fn input(&self) -> Result<ClinicBillingInput, ServiceError> {
        let mut read = Reader::default();
        let default_tax_bp = match self.default_tax.trim().trim_end_matches('%').trim() {
            "" => None,
            t => match percent_bp(t) {
                Some(bp) => Some(bp),
                None => {
                    read.add("default_tax", "Write the rate in percent from 0 to 100, for example 10.");
                    None
                }
            },
        };
        let payment_terms_days = read.number("payment_terms_days", &self.payment_terms_days);
        read.finish()?;
        Ok(ClinicBillingInput {
            legal_name: self.legal_name.clone(),
            tax_label: self.tax_label.clone(),
            tax_number: self.tax_number.clone(),
            tax_name: self.tax_name.clone(),
            default_tax_bp,
            currency: self.currency.clone(),
            payment_terms_days,
            invoice_prefix: self.invoice_prefix.clone(),
            upi_vpa: self.upi_vpa.clone(),
            upi_payee_name: self.upi_payee_name.clone(),
            bank_details: self.bank_details.clone(),
            invoice_note: self.invoice_note.clone(),
            online_payments: self.online_payments.is_some(),
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "billing_clinic_form.html")]
struct ClinicPage {
    layout: Layout,
    action: String,
    form: ClinicForm,
    f: Fields,
}

fn clinic_form_page(actor: &Actor, csrf: &CsrfToken, b: &ClinicBilling, form: ClinicForm, f: Fields) -> ClinicPage {
    ClinicPage {
        layout: layout(
            actor,
            csrf,
            format!("Billing details of {}", b.clinic_name),
            &[("Settings", "/billing/settings")],
        ),
        action: format!("/billing/settings/clinics/{}", b.clinic_id),
        form,
        f,
    }
}

async fn clinic_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: ClinicId = path_id(&id, "Clinic")?;
    st.svc.authorize(&actor, Permission::ManageBillingSettings)?;
    let b = st.svc.get_clinic_billing(&actor, id).await?;
    Ok(clinic_form_page(&actor, &csrf, &b, ClinicForm::of(&b), Fields::default()).into_response())
}

async fn save_clinic(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<ClinicForm>,
) -> PageResult {
    let id: ClinicId = path_id(&id, "Clinic")?;
    let outcome = match form.input() {
        Ok(input) => st.svc.set_clinic_billing(&actor, id, input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(done("/billing/settings?msg=saved".into())),
        Err(e) => {
            let r = Refusal::of(e)?.rename("default_tax_bp", "default_tax");
            let b = st.svc.get_clinic_billing(&actor, id).await?;
            let mut page = clinic_form_page(&actor, &csrf, &b, form, Fields::new(r.errors, CLINIC_FIELDS));
            page.layout = page.layout.notice("error", r.message);
            Ok((r.status, page).into_response())
        }
    }
}

// ---------------------------------------------------------------------------------------
// A service's terms

#[derive(Default, Deserialize)]
struct ServiceForm {
    #[serde(default)]
    tax: String,
    #[serde(default)]
    item_number: String,
    #[serde(default)]
    rebate: String,
    auto_invoice: Option<String>,
    #[serde(default)]
    deposit: String,
    #[serde(default)]
    late_cancel_fee: String,
    #[serde(default)]
    no_show_fee: String,
}

const SERVICE_FIELDS: &[&str] =
    &["tax", "item_number", "rebate", "auto_invoice", "deposit", "late_cancel_fee", "no_show_fee"];

impl ServiceForm {
    fn of(s: &ServiceBilling, c: Currency) -> Self {
        ServiceForm {
            tax: s.tax_bp.map(|bp| percent(bp).trim_end_matches(" %").to_string()).unwrap_or_default(),
            item_number: s.item_number.clone().unwrap_or_default(),
            rebate: format_major(s.rebate_minor, c),
            auto_invoice: s.auto_invoice.then(|| "on".into()),
            deposit: format_major(s.deposit_minor, c),
            late_cancel_fee: format_major(s.late_cancel_fee_minor, c),
            no_show_fee: format_major(s.no_show_fee_minor, c),
        }
    }

    fn input(&self, c: Currency) -> Result<ServiceBillingInput, ServiceError> {
        let mut read = Reader::default();
        let tax_bp = match self.tax.trim().trim_end_matches('%').trim() {
            "" => None,
            t => match percent_bp(t) {
                Some(bp) => Some(bp),
                None => {
                    read.add("tax", "Write the rate in percent from 0 to 100 (0 for tax-free), or leave it empty.");
                    None
                }
            },
        };
        let mut amount = |field: &str, text: &str| -> i64 {
            if text.trim().is_empty() {
                return 0;
            }
            parse_major(text, c).unwrap_or_else(|m| {
                read.add(field, m);
                0
            })
        };
        let rebate_minor = amount("rebate", &self.rebate);
        let deposit_minor = amount("deposit", &self.deposit);
        let late_cancel_fee_minor = amount("late_cancel_fee", &self.late_cancel_fee);
        let no_show_fee_minor = amount("no_show_fee", &self.no_show_fee);
        read.finish()?;
        Ok(ServiceBillingInput {
            tax_bp,
            item_number: self.item_number.clone(),
            rebate_minor,
            auto_invoice: self.auto_invoice.is_some(),
            deposit_minor,
            late_cancel_fee_minor,
            no_show_fee_minor,
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "billing_service_form.html")]
struct ServicePage {
    layout: Layout,
    action: String,
    price: String,
    currency: String,
    form: ServiceForm,
    f: Fields,
}

fn service_form_page(actor: &Actor, csrf: &CsrfToken, s: &ServiceBilling, form: ServiceForm, f: Fields) -> ServicePage {
    ServicePage {
        layout: layout(actor, csrf, format!("Billing terms of {}", s.name), &[("Settings", "/billing/settings")]),
        action: format!("/billing/settings/services/{}", s.service_id),
        price: money(s.price_minor, &s.currency),
        currency: s.currency.clone(),
        form,
        f,
    }
}

fn currency_of(s: &ServiceBilling) -> Result<Currency, PageError> {
    Currency::parse(&s.currency).map_err(|_| PageError(ServiceError::Internal(format!("currency {:?}", s.currency))))
}

async fn service_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: ServiceId = path_id(&id, "Service")?;
    st.svc.authorize(&actor, Permission::ManageBillingSettings)?;
    let s = st.svc.get_service_billing(&actor, id).await?;
    let form = ServiceForm::of(&s, currency_of(&s)?);
    Ok(service_form_page(&actor, &csrf, &s, form, Fields::default()).into_response())
}

async fn save_service(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<ServiceForm>,
) -> PageResult {
    let id: ServiceId = path_id(&id, "Service")?;
    let s = st.svc.get_service_billing(&actor, id).await?;
    let outcome = match form.input(currency_of(&s)?) {
        Ok(input) => st.svc.set_service_billing(&actor, id, input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(done("/billing/settings?msg=saved".into())),
        Err(e) => {
            let r = Refusal::of(e)?
                .rename("tax_bp", "tax")
                .rename("rebate_minor", "rebate")
                .rename("deposit_minor", "deposit")
                .rename("late_cancel_fee_minor", "late_cancel_fee")
                .rename("no_show_fee_minor", "no_show_fee");
            let mut page = service_form_page(&actor, &csrf, &s, form, Fields::new(r.errors, SERVICE_FIELDS));
            page.layout = page.layout.notice("error", r.message);
            Ok((r.status, page).into_response())
        }
    }
}
