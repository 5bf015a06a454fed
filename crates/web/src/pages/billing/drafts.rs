//! Drafting an invoice: choose the patient, tick the appointments to bill (each at its
//! service's price), add lines by hand (a service's price, tax, item number and rebate
//! apply where a field is left empty), and change a draft until it is issued.
//!
//! Lines are rows of repeated fields; a row left empty is ignored and a row whose
//! description is cleared is removed. The services compute every figure.

use super::views::long_date;
use super::{layout, percent, percent_bp};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::form::{Fields, Opt, Reader, Refusal, done, path_id};
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
use jiff::SignedDuration;
use jiff::civil::Date;
use praxis_domain::billing::{Discount, InvoiceStatus, LineKind};
use praxis_domain::{AppointmentId, ClinicId, Currency, InvoiceId, PatientId, Permission, ProviderId, ServiceId};
use praxis_services::billing::{DraftRequest, Invoice, InvoiceQuery, LineRequest};
use praxis_services::scheduling::AppointmentFilter;
use praxis_services::users::PageRequest;
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/billing/invoices/new", get(new_page).post(create))
        .route("/billing/invoices/{id}/edit", get(edit_page).post(update))
}

/// Blank rows offered for lines typed by hand.
const BLANK_ROWS: usize = 3;

/// How far back completed appointments are offered for billing.
const BILLABLE_DAYS: i64 = 180;

/// The editor's fields as typed; line fields repeat once per row, in row order.
#[derive(Default, Deserialize)]
struct DraftForm {
    #[serde(default)]
    patient_id: String,
    #[serde(default)]
    clinic_id: String,
    #[serde(default)]
    appointment_ids: Vec<String>,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    line_kind: Vec<String>,
    #[serde(default)]
    line_appointment: Vec<String>,
    #[serde(default)]
    line_provider: Vec<String>,
    #[serde(default)]
    line_date: Vec<String>,
    #[serde(default)]
    line_service: Vec<String>,
    #[serde(default)]
    line_description: Vec<String>,
    #[serde(default)]
    line_quantity: Vec<String>,
    #[serde(default)]
    line_price: Vec<String>,
    #[serde(default)]
    line_discount: Vec<String>,
    #[serde(default)]
    line_tax: Vec<String>,
    #[serde(default)]
    line_item: Vec<String>,
    #[serde(default)]
    line_rebate: Vec<String>,
}

/// One line row as typed, with its errors.
#[derive(Clone, Default)]
struct Row {
    kind: String,
    appointment: String,
    provider: String,
    date: String,
    service: String,
    description: String,
    quantity: String,
    price: String,
    discount: String,
    tax: String,
    item: String,
    rebate: String,
    /// (field suffix such as `unit_price`, message).
    errors: Vec<(String, String)>,
}

impl Row {
    /// The message for a column (`description`, `unit_price`, …), if it has one.
    fn err(&self, column: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == column).map(|(_, m)| m.as_str())
    }

    /// Messages for fields the row shows no column for.
    fn other_errors(&self) -> Vec<&str> {
        const SHOWN: [&str; 8] =
            ["description", "service_id", "quantity", "unit_price", "discount", "tax_rate", "item_number", "rebate"];
        self.errors.iter().filter(|(f, _)| !SHOWN.contains(&f.as_str())).map(|(_, m)| m.as_str()).collect()
    }

    fn is_blank(&self) -> bool {
        [&self.service, &self.description, &self.price, &self.discount, &self.item, &self.rebate]
            .iter()
            .all(|s| s.trim().is_empty())
            && self.appointment.is_empty()
    }

    /// A draft's stored line as a row.
    fn of(l: &praxis_services::billing::InvoiceLine, currency: Currency) -> Row {
        Row {
            kind: l.kind.as_str().into(),
            appointment: l.appointment_id.map(|a| a.to_string()).unwrap_or_default(),
            provider: l.provider_id.map(|p| p.to_string()).unwrap_or_default(),
            date: l.service_date.map(|d| d.to_string()).unwrap_or_default(),
            service: l.service_id.map(|s| s.to_string()).unwrap_or_default(),
            description: l.description.clone(),
            quantity: l.quantity.to_string(),
            price: format_major(l.unit_price_minor, currency),
            discount: match l.discount {
                Discount::None => String::new(),
                Discount::Amount(a) => format_major(a, currency),
                Discount::Percent(p) => percent(p).replace(' ', ""),
            },
            tax: percent(l.tax_rate_bp).trim_end_matches(" %").to_string(),
            item: l.item_number.clone().unwrap_or_default(),
            rebate: if l.amounts.rebate_minor == 0 {
                String::new()
            } else {
                format_major(l.amounts.rebate_minor, currency)
            },
            errors: Vec::new(),
        }
    }
}

impl DraftForm {
    /// The rows as typed (the repeated fields zipped by position).
    fn rows(&self) -> Vec<Row> {
        let at = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
        let n = self.line_description.len().max(self.line_price.len()).max(self.line_service.len());
        (0..n)
            .map(|i| Row {
                kind: at(&self.line_kind, i),
                appointment: at(&self.line_appointment, i),
                provider: at(&self.line_provider, i),
                date: at(&self.line_date, i),
                service: at(&self.line_service, i),
                description: at(&self.line_description, i),
                quantity: at(&self.line_quantity, i),
                price: at(&self.line_price, i),
                discount: at(&self.line_discount, i),
                tax: at(&self.line_tax, i),
                item: at(&self.line_item, i),
                rebate: at(&self.line_rebate, i),
                errors: Vec::new(),
            })
            .collect()
    }

    /// Reads the form into a draft request in `currency`, with, for each line sent, the
    /// row it came from (so every message about `lines[k]` lands on its row).
    fn request(&self, currency: Currency, rows: &[Row]) -> (Result<DraftRequest, ServiceError>, Vec<usize>) {
        let mut read = Reader::default();
        let mut lines = Vec::new();
        let mut from_row = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            // A stored line whose description was cleared is removed; an empty new row is ignored.
            if row.is_blank() || (row.description.trim().is_empty() && !row.appointment.is_empty()) {
                continue;
            }
            let mut errs = Vec::new();
            let mut amount = |text: &str, column: &str| -> Option<i64> {
                if text.trim().is_empty() {
                    return None;
                }
                match parse_major(text, currency) {
                    Ok(v) => Some(v),
                    Err(m) => {
                        errs.push((column.to_string(), m));
                        None
                    }
                }
            };
            let unit_price_minor = amount(&row.price, "unit_price");
            let rebate_minor = amount(&row.rebate, "rebate");
            let (discount_minor, discount_percent_bp) = match row.discount.trim() {
                "" => (None, None),
                t if t.ends_with('%') => match percent_bp(t.trim_end_matches('%')) {
                    Some(bp) => (None, Some(bp)),
                    None => {
                        errs.push(("discount".into(), "Write a percentage like 10%, or an amount like 5.00.".into()));
                        (None, None)
                    }
                },
                t => (amount(t, "discount"), None),
            };
            let tax_rate_bp = match row.tax.trim().trim_end_matches('%').trim() {
                "" => None,
                t => match percent_bp(t) {
                    Some(bp) => Some(bp),
                    None => {
                        errs.push(("tax_rate".into(), "Write the tax rate in percent, for example 10 or 0.".into()));
                        None
                    }
                },
            };
            let quantity = match row.quantity.trim() {
                "" => None,
                t => match t.parse::<i64>() {
                    Ok(q) => Some(q),
                    Err(_) => {
                        errs.push(("quantity".into(), "Use a whole number, for example 1.".into()));
                        None
                    }
                },
            };
            let service_id = match row.service.trim() {
                "" => None,
                t => match t.parse::<ServiceId>() {
                    Ok(s) => Some(s),
                    Err(_) => {
                        errs.push(("service_id".into(), "Choose one of the services.".into()));
                        None
                    }
                },
            };
            for (column, message) in &errs {
                read.add(&format!("lines[{}].{column}", lines.len()), message.clone());
            }
            lines.push(LineRequest {
                kind: LineKind::parse(&row.kind).filter(|k| *k != LineKind::DepositCredit),
                description: row.description.trim().to_string(),
                quantity,
                unit_price_minor,
                discount_minor,
                discount_percent_bp,
                tax_rate_bp,
                item_number: Some(row.item.trim().to_string()).filter(|s| !s.is_empty()),
                rebate_minor,
                service_id,
                appointment_id: row.appointment.parse::<AppointmentId>().ok(),
                provider_id: row.provider.parse::<ProviderId>().ok(),
                service_date: row.date.parse::<Date>().ok(),
            });
            from_row.push(i);
        }
        let appointment_ids = read.ids::<AppointmentId>("appointment_ids", &self.appointment_ids);
        let patient_id = read.id::<PatientId>("patient_id", &self.patient_id);
        let clinic_id = read.id::<ClinicId>("clinic_id", &self.clinic_id);
        let version = self.version.trim().parse::<i64>().ok();
        if let Err(e) = read.finish() {
            return (Err(e), from_row);
        }
        let req = DraftRequest {
            patient_id,
            clinic_id,
            provider_id: None,
            currency: None,
            appointment_ids,
            lines,
            notes: self.notes.clone(),
            version,
        };
        (Ok(req), from_row)
    }
}

/// A completed (or otherwise billable) appointment offered for billing.
struct Billable {
    id: String,
    label: String,
    ticked: bool,
    billed: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "billing_draft.html")]
struct DraftPage {
    layout: Layout,
    action: String,
    patient_id: String,
    patient_name: String,
    clinics: Vec<Opt>,
    fixed_clinic: Option<String>,
    billables: Vec<Billable>,
    rows: Vec<Row>,
    services: Vec<Opt>,
    notes: String,
    version: String,
    currency: String,
    f: Fields,
    cancel_href: String,
}

/// Patients found by the search on the first step.
struct Found {
    id: String,
    name: String,
    mrn: String,
    born: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "billing_choose_patient.html")]
struct ChoosePage {
    layout: Layout,
    q: String,
    found: Vec<Found>,
    searched: bool,
}

#[derive(Default, Deserialize)]
struct NewQuery {
    #[serde(default)]
    patient_id: String,
    #[serde(default)]
    appointment_id: String,
    #[serde(default)]
    q: String,
}

/// The patient's appointments of the last months that can be billed, each marked when an
/// invoice already bills it.
async fn billables(
    st: &AppState,
    actor: &Actor,
    patient: PatientId,
    clinic: Option<ClinicId>,
    ticked: &[String],
) -> Result<Vec<Billable>, PageError> {
    let now = st.svc.now();
    let filter = AppointmentFilter {
        patient_id: Some(patient),
        clinic_id: clinic,
        from: now.checked_sub(SignedDuration::from_hours(24 * BILLABLE_DAYS)).ok(),
        until: now.checked_add(SignedDuration::from_hours(24)).ok(),
        statuses: ["completed", "checked_in", "in_progress", "confirmed", "no_show"].map(String::from).to_vec(),
        ..AppointmentFilter::default()
    };
    let page = st.svc.list_appointments(actor, filter, PageRequest::new(Some(1), Some(50))).await?;
    let mut out = Vec::new();
    for a in page.items.iter().rev() {
        let q = InvoiceQuery { appointment_id: Some(a.id), per_page: Some(1), ..InvoiceQuery::default() };
        let billed = st.svc.list_invoices(actor, &q).await?.items.iter().any(|i| i.status != InvoiceStatus::Void);
        out.push(Billable {
            id: a.id.to_string(),
            label: format!(
                "{} · {} with {} · {} ({})",
                a.local_start, a.service_name, a.provider_name, a.number, a.status_label
            ),
            ticked: ticked.contains(&a.id.to_string()),
            billed,
        });
    }
    Ok(out)
}

/// The service choices for a line (those priced in the clinic's currency).
async fn service_options(st: &AppState, actor: &Actor, currency: &str) -> Result<Vec<Opt>, PageError> {
    let mut opts = vec![Opt::new("", "— none (typed by hand) —", false)];
    let mut list = st.svc.list_services(actor).await?;
    list.sort_by_key(|s| s.name.to_lowercase());
    opts.extend(list.into_iter().filter(|s| s.price.currency.as_str().eq_ignore_ascii_case(currency)).map(|s| {
        Opt::new(
            s.id.to_string(),
            format!("{} · {}", s.name, super::money(s.price.amount_minor, s.price.currency.as_str())),
            false,
        )
    }));
    Ok(opts)
}

/// Blank rows for new lines, after `rows`.
fn with_blanks(mut rows: Vec<Row>) -> Vec<Row> {
    let blanks = rows.iter().rev().take_while(|r| r.is_blank()).count();
    rows.extend(std::iter::repeat_n(Row::default(), BLANK_ROWS.saturating_sub(blanks)));
    rows
}

async fn new_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<NewQuery>,
) -> PageResult {
    st.svc.authorize(&actor, Permission::ManageBilling)?;
    let mut form = DraftForm { patient_id: q.patient_id.clone(), ..DraftForm::default() };
    if let Ok(a) = q.appointment_id.parse::<AppointmentId>() {
        let appt = st.svc.get_appointment(&actor, a).await?;
        if let Some(p) = appt.participants.iter().find(|p| p.status == "booked") {
            form.patient_id = p.patient_id.to_string();
        }
        form.clinic_id = appt.clinic_id.to_string();
        form.appointment_ids = vec![a.to_string()];
    }
    if form.patient_id.parse::<PatientId>().is_err() {
        return choose_patient(&st, &actor, &csrf, &q.q).await;
    }
    Ok(draft_page(&st, &actor, &csrf, None, form, None, Fields::default()).await?.into_response())
}

/// The first step: find the patient to bill.
async fn choose_patient(st: &AppState, actor: &Actor, csrf: &CsrfToken, q: &str) -> PageResult {
    let searched = !q.trim().is_empty();
    let found = if searched {
        st.svc
            .search_patients(actor, Some(q.trim()), PageRequest::new(Some(1), Some(20)))
            .await?
            .items
            .into_iter()
            .map(|p| Found {
                id: p.id.to_string(),
                name: p.full_name(),
                mrn: p.mrn.clone(),
                born: p.date_of_birth.map(long_date).unwrap_or_default(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let layout = layout(actor, csrf, "New invoice", &[]);
    Ok(ChoosePage { layout, q: q.to_string(), found, searched }.into_response())
}

/// The editor for a new invoice (`current` is None) or a draft.
async fn draft_page(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    current: Option<&Invoice>,
    form: DraftForm,
    rows: Option<Vec<Row>>,
    f: Fields,
) -> Result<DraftPage, PageError> {
    let patient: PatientId = path_id(&form.patient_id, "Patient")?;
    let patient_name = match current {
        Some(inv) => inv.summary.patient_name.clone(),
        None => st.svc.get_patient(actor, patient).await?.full_name(),
    };
    let clinic_list = st.svc.list_clinics(actor).await?;
    let chosen = form.clinic_id.parse::<ClinicId>().ok().or(clinic_list.first().map(|c| c.id));
    let (currency, fixed_clinic) = match current {
        Some(inv) => (inv.summary.currency.clone(), Some(inv.summary.clinic_name.clone())),
        None => match chosen {
            Some(c) => (st.svc.get_clinic_billing(actor, c).await?.currency, None),
            None => ("AUD".into(), None),
        },
    };
    let clinics =
        clinic_list.iter().map(|c| Opt::new(c.id.to_string(), c.name.clone(), Some(c.id) == chosen)).collect();
    let billables = match current {
        Some(_) => Vec::new(),
        None => billables(st, actor, patient, chosen, &form.appointment_ids).await?,
    };
    let rows = with_blanks(rows.unwrap_or_else(|| form.rows()));
    let (title, action, cancel_href) = match current {
        Some(inv) => (
            "Edit draft invoice".to_string(),
            format!("/billing/invoices/{}/edit", inv.summary.id),
            format!("/billing/invoices/{}", inv.summary.id),
        ),
        None => ("New invoice".to_string(), "/billing/invoices/new".to_string(), "/billing".to_string()),
    };
    Ok(DraftPage {
        layout: layout(actor, csrf, title, &[]),
        action,
        patient_id: form.patient_id.clone(),
        patient_name,
        clinics,
        fixed_clinic,
        billables,
        rows,
        services: service_options(st, actor, &currency).await?,
        notes: form.notes.clone(),
        version: form.version.clone(),
        currency,
        f,
        cancel_href,
    })
}

/// Puts the services' messages for `lines[k].x` on the row the line came from; the rest
/// stay for the form.
fn place_errors(
    errors: Vec<praxis_domain::FieldError>,
    rows: &mut [Row],
    from_row: &[usize],
) -> Vec<praxis_domain::FieldError> {
    let mut rest = Vec::new();
    for e in errors {
        let placed = e.field.strip_prefix("lines[").and_then(|t| t.split_once("].")).and_then(|(k, col)| {
            let row = from_row.get(k.parse::<usize>().ok()?)?;
            Some((*row, col.to_string()))
        });
        match placed {
            Some((row, col)) if row < rows.len() => rows[row].errors.push((col, e.message)),
            _ => rest.push(e),
        }
    }
    rest
}

/// Reads, sends and answers the editor's form (new or update).
async fn save(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    current: Option<Invoice>,
    mut form: DraftForm,
) -> PageResult {
    st.svc.authorize(actor, Permission::ManageBilling)?;
    let currency_code = match &current {
        Some(inv) => inv.summary.currency.clone(),
        None => match form.clinic_id.parse::<ClinicId>() {
            Ok(c) => st.svc.get_clinic_billing(actor, c).await?.currency,
            Err(_) => "AUD".into(),
        },
    };
    let currency =
        Currency::parse(&currency_code).map_err(|_| PageError(ServiceError::Internal("clinic currency".into())))?;
    if let Some(inv) = &current {
        form.patient_id = inv.summary.patient_id.to_string();
    }
    let mut rows = form.rows();
    let (req, from_row) = form.request(currency, &rows);
    let outcome = match req {
        Ok(req) => match &current {
            Some(inv) => st.svc.update_invoice(actor, inv.summary.id, req).await,
            None => st.svc.create_invoice(actor, req).await,
        },
        Err(e) => Err(e),
    };
    match outcome {
        Ok(inv) => Ok(done(format!("/billing/invoices/{}?msg=saved", inv.summary.id))),
        Err(e) => {
            let r = Refusal::of(e)?;
            let rest = place_errors(r.errors, &mut rows, &from_row);
            let f = Fields::new(rest, &["patient_id", "clinic_id", "appointment_ids", "lines", "notes"]);
            let mut page = draft_page(st, actor, csrf, current.as_ref(), form, Some(rows), f).await?;
            let mut message = r.message;
            if let Some(e) = page.f.get("lines") {
                message = format!("{message} {e}");
            }
            page.layout = page.layout.notice("error", message);
            Ok((r.status, page).into_response())
        }
    }
}

async fn create(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(form): Form<DraftForm>,
) -> PageResult {
    save(&st, &actor, &csrf, None, form).await
}

async fn edit_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: InvoiceId = path_id(&id, "Invoice")?;
    st.svc.authorize(&actor, Permission::ManageBilling)?;
    let inv = st.svc.get_invoice(&actor, id).await?;
    if inv.summary.number.is_some() {
        // An issued invoice is never edited: show it, where voiding and reissuing are offered.
        return Ok(done(format!("/billing/invoices/{id}")));
    }
    let currency =
        Currency::parse(&inv.summary.currency).map_err(|_| PageError(ServiceError::Internal("currency".into())))?;
    let rows = inv.lines.iter().filter(|l| l.kind != LineKind::DepositCredit).map(|l| Row::of(l, currency)).collect();
    let form = DraftForm {
        patient_id: inv.summary.patient_id.to_string(),
        clinic_id: inv.summary.clinic_id.to_string(),
        notes: inv.notes.clone(),
        version: inv.version.to_string(),
        ..DraftForm::default()
    };
    Ok(draft_page(&st, &actor, &csrf, Some(&inv), form, Some(rows), Fields::default()).await?.into_response())
}

async fn update(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<DraftForm>,
) -> PageResult {
    let id: InvoiceId = path_id(&id, "Invoice")?;
    st.svc.authorize(&actor, Permission::ManageBilling)?;
    let inv = st.svc.get_invoice(&actor, id).await?;
    save(&st, &actor, &csrf, Some(inv), form).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_messages_land_on_the_row_the_line_came_from() {
        let mut rows = vec![Row::default(), Row::default(), Row::default()];
        let err =
            |field: &str| praxis_domain::FieldError { field: field.into(), code: "x".into(), message: field.into() };
        let rest = place_errors(vec![err("lines[1].unit_price"), err("notes"), err("lines[9].x")], &mut rows, &[0, 2]);
        assert_eq!(rows[2].err("unit_price"), Some("lines[1].unit_price"));
        assert!(rows[0].errors.is_empty() && rows[1].errors.is_empty());
        assert_eq!(rest.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["notes", "lines[9].x"]);
    }

    #[test]
    fn three_blank_rows_follow_the_lines() {
        let filled = Row { description: "Report".into(), ..Row::default() };
        assert_eq!(with_blanks(vec![filled.clone()]).len(), 1 + BLANK_ROWS);
        assert_eq!(with_blanks(vec![filled, Row::default()]).len(), 1 + BLANK_ROWS);
    }
}
