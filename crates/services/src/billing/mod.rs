//! Billing: invoices, payments, refunds, claims, referrals, online payments and the
//! money reports.
//!
//! - Who: billing staff and administrators manage money ([`Permission::ManageBilling`]);
//!   providers see invoices and revenue of their own work; patients (and guardians) only
//!   their own invoices. Every change is one transaction with its audit row; a refused
//!   change is audited too.
//! - Arithmetic is the domain's ([`praxis_domain::billing`]): figures are computed once
//!   when a draft is saved and stored with each line; an issued invoice's figures never
//!   change (the database refuses it).
//! - Numbers (`INV-2027-000123`, `RCT-…`, `RFD-…`) come from per-clinic, per-year counter
//!   rows incremented in the issuing transaction, so they are gap-free under concurrency
//!   on both databases: a transaction that rolls back gives its number back.
//! - Overpayment is refused, consistently (see [`praxis_domain::billing::status`]).

pub mod automatic;
pub mod claims;
pub mod documents;
mod drafts;
mod issue;
mod notices;
pub mod online;
mod overdue;
pub mod payments;
pub mod referrals;
pub mod reports;
pub mod settings;
pub mod stripe;

pub use automatic::BillingEvent;
pub use claims::{ClaimQuery, ClaimStep};
pub use documents::{PdfFile, UpiRequest};
pub use drafts::{DraftRequest, LineRequest};
pub use issue::{IssueRequest, VoidRequest};
pub use notices::BillingMessage;
pub use online::{GatewayError, PaymentGateway};
pub use payments::{PaymentRequest, RefundRequest};
pub use referrals::{Referral, ReferralRequest};

use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use crate::users::{Page, PageRequest};
use jiff::Timestamp;
use jiff::civil::Date;
use praxis_domain::billing::{
    ClaimStatus, Discount, InvoiceStatus, InvoiceTotals, LineAmounts, LineKind, MoneyStyle, PaymentMethod, format_money,
};
use praxis_domain::permissions::Scope;
use praxis_domain::{
    AppointmentId, ClaimId, ClinicId, Currency, InvoiceId, InvoiceLineId, Money, PatientId, PaymentId, Permission,
    ProviderId, RefundId, ServiceId,
};
use praxis_store::billing::claims::ClaimRow;
use praxis_store::billing::invoices::{self, InvoiceFilter, InvoiceRow, LineRow};
use praxis_store::billing::payments::{PaymentRow, RefundRow};
use serde::{Deserialize, Serialize};

/// "$85.00" for `minor` in `currency` (an unknown code shows as written).
pub fn money(minor: i64, currency: &str) -> String {
    money_in(minor, currency, MoneyStyle::Local)
}

/// `minor` in `currency` in a chosen style: "A$85.00" where dollar currencies mix.
pub fn money_in(minor: i64, currency: &str, style: MoneyStyle) -> String {
    match Currency::parse(currency) {
        Ok(c) => format_money(Money::new(minor, c), style),
        Err(_) => format!("{currency} {minor}"),
    }
}

/// One invoice line as shown.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InvoiceLine {
    /// Id.
    pub id: InvoiceLineId,
    /// Order, from 1.
    pub position: i64,
    /// What kind of line.
    pub kind: LineKind,
    /// Text.
    pub description: String,
    /// Date of service.
    #[schema(value_type = Option<String>, format = Date)]
    pub service_date: Option<Date>,
    /// Medicare or insurer item number.
    pub item_number: Option<String>,
    /// Quantity.
    pub quantity: i64,
    /// Price of one, before tax, minor units.
    pub unit_price_minor: i64,
    /// The discount as entered.
    pub discount: Discount,
    /// Tax rate, basis points.
    pub tax_rate_bp: i64,
    /// Figures.
    pub amounts: LineAmounts,
    /// The appointment it bills.
    pub appointment_id: Option<AppointmentId>,
    /// The service.
    pub service_id: Option<ServiceId>,
    /// Who provided it.
    pub provider_id: Option<ProviderId>,
}

/// A payment as shown.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Payment {
    /// Id.
    pub id: PaymentId,
    /// Invoice.
    pub invoice_id: InvoiceId,
    /// The invoice's number.
    pub invoice_number: Option<String>,
    /// Receipt number.
    pub receipt_number: String,
    /// How it was paid.
    pub method: PaymentMethod,
    /// For people.
    pub method_label: String,
    /// Amount received.
    pub amount_minor: i64,
    /// Given back (or being given back) so far.
    pub refunded_minor: i64,
    /// What can still be refunded.
    pub refundable_minor: i64,
    /// Currency.
    pub currency: String,
    /// When received.
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Timestamp,
    /// UPI transaction reference, bank or insurer reference.
    pub reference: String,
    /// Note.
    pub note: String,
}

/// A refund as shown.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Refund {
    /// Id.
    pub id: RefundId,
    /// The payment refunded.
    pub payment_id: PaymentId,
    /// Number.
    pub number: String,
    /// Amount.
    pub amount_minor: i64,
    /// Why.
    pub reason: String,
    /// `pending` (waiting for Stripe), `succeeded` or `failed`.
    pub status: String,
    /// Why Stripe refused it.
    pub failure: Option<String>,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// An insurance or Medicare claim as shown.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Claim {
    /// Id.
    pub id: ClaimId,
    /// Invoice.
    pub invoice_id: InvoiceId,
    /// The invoice's number.
    pub invoice_number: Option<String>,
    /// Patient.
    pub patient_id: PatientId,
    /// Patient's name.
    pub patient_name: String,
    /// The line claimed.
    pub line_id: InvoiceLineId,
    /// The line's text.
    pub description: String,
    /// Who pays.
    pub payer: String,
    /// Item number.
    pub item_number: String,
    /// Claimed.
    pub claimed_minor: i64,
    /// Approved.
    pub approved_minor: Option<i64>,
    /// Where it is.
    pub status: ClaimStatus,
    /// For people.
    pub status_label: String,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The payer's reference.
    pub reference: String,
    /// Currency.
    pub currency: String,
    /// Sent.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub submitted_at: Option<Timestamp>,
    /// Decided.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Timestamp>,
}

/// An invoice in a list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InvoiceSummary {
    /// Id.
    pub id: InvoiceId,
    /// Number, once issued.
    pub number: Option<String>,
    /// Status.
    pub status: InvoiceStatus,
    /// For people.
    pub status_label: String,
    /// Clinic.
    pub clinic_id: ClinicId,
    /// Clinic name.
    pub clinic_name: String,
    /// Patient.
    pub patient_id: PatientId,
    /// Patient's name.
    pub patient_name: String,
    /// Provider.
    pub provider_id: Option<ProviderId>,
    /// Provider's name.
    pub provider_name: Option<String>,
    /// Currency.
    pub currency: String,
    /// Issued on.
    #[schema(value_type = Option<String>, format = Date)]
    pub issue_date: Option<Date>,
    /// Due on.
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<Date>,
    /// Total.
    pub total_minor: i64,
    /// Paid, net of refunds.
    pub paid_minor: i64,
    /// Still owing.
    pub balance_minor: i64,
    /// Created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// An invoice in full.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Invoice {
    /// The list fields.
    #[serde(flatten)]
    pub summary: InvoiceSummary,
    /// How it came about.
    pub source: String,
    /// The appointment of an automatic invoice.
    pub appointment_id: Option<AppointmentId>,
    /// Patient's record number.
    pub patient_mrn: Option<String>,
    /// Lines.
    pub lines: Vec<InvoiceLine>,
    /// Figures (sums of the lines).
    pub totals: InvoiceTotals,
    /// What insurers or Medicare are still expected to pay (follows the claims).
    pub insurer_owes_minor: i64,
    /// What the patient still owes (the balance less what insurers are expected to pay).
    pub patient_owes_minor: i64,
    /// Payments.
    pub payments: Vec<Payment>,
    /// Refunds.
    pub refunds: Vec<Refund>,
    /// Claims.
    pub claims: Vec<Claim>,
    /// Notes printed on it.
    pub notes: String,
    /// Why it was voided.
    pub void_reason: Option<String>,
    /// When voided.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub voided_at: Option<Timestamp>,
    /// The void invoice it replaces.
    pub reissue_of: Option<InvoiceId>,
    /// When issued.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub issued_at: Option<Timestamp>,
    /// Funded-plan and referral warnings for its sessions.
    pub warnings: Vec<String>,
    /// +1 per change (send it back when saving a draft).
    pub version: i64,
}

fn status_of(s: &str) -> ServiceResult<InvoiceStatus> {
    InvoiceStatus::parse(s).ok_or_else(|| ServiceError::Internal(format!("unknown invoice status {s:?}")))
}

pub(crate) fn summary(r: &InvoiceRow) -> ServiceResult<InvoiceSummary> {
    let status = status_of(&r.status)?;
    Ok(InvoiceSummary {
        id: InvoiceId(r.id),
        number: r.number.clone(),
        status,
        status_label: status.label().into(),
        clinic_id: ClinicId(r.clinic_id),
        clinic_name: r.clinic_name.clone(),
        patient_id: PatientId(r.patient_id),
        patient_name: r.patient_name.trim().to_string(),
        provider_id: r.provider_id.map(ProviderId),
        provider_name: r.provider_name.clone(),
        currency: r.currency.clone(),
        issue_date: r.issue_date.map(|d| d.0),
        due_date: r.due_date.map(|d| d.0),
        total_minor: r.total_minor,
        paid_minor: r.paid_minor,
        balance_minor: if status.is_open_or_paid() { (r.total_minor - r.paid_minor).max(0) } else { 0 },
        created_at: r.created_at.0,
    })
}

pub(crate) fn line_view(l: &LineRow) -> ServiceResult<InvoiceLine> {
    let discount = match l.discount_kind.as_str() {
        "amount" => Discount::Amount(l.discount_value),
        "percent" => Discount::Percent(l.discount_value),
        _ => Discount::None,
    };
    Ok(InvoiceLine {
        id: InvoiceLineId(l.id),
        position: l.position,
        kind: LineKind::parse(&l.kind).ok_or_else(|| ServiceError::Internal(format!("line kind {:?}", l.kind)))?,
        description: l.description.clone(),
        service_date: l.service_date.map(|d| d.0),
        item_number: l.item_number.clone(),
        quantity: l.quantity,
        unit_price_minor: l.unit_price_minor,
        discount,
        tax_rate_bp: l.tax_bp,
        amounts: LineAmounts {
            gross_minor: l.gross_minor,
            discount_minor: l.discount_minor,
            net_minor: l.net_minor,
            tax_minor: l.tax_minor,
            total_minor: l.total_minor,
            rebate_minor: l.rebate_minor,
            patient_minor: l.total_minor - l.rebate_minor,
        },
        appointment_id: l.appointment_id.map(AppointmentId),
        service_id: l.service_id.map(ServiceId),
        provider_id: l.provider_id.map(ProviderId),
    })
}

pub(crate) fn payment_view(p: &PaymentRow) -> ServiceResult<Payment> {
    let method = PaymentMethod::parse(&p.method)
        .ok_or_else(|| ServiceError::Internal(format!("payment method {:?}", p.method)))?;
    Ok(Payment {
        id: PaymentId(p.id),
        invoice_id: InvoiceId(p.invoice_id),
        invoice_number: p.invoice_number.clone(),
        receipt_number: p.receipt_number.clone(),
        method,
        method_label: method.label().into(),
        amount_minor: p.amount_minor,
        refunded_minor: p.refunded_minor,
        refundable_minor: p.amount_minor - p.refunded_minor,
        currency: p.currency.clone(),
        received_at: p.received_at.0,
        reference: p.reference.clone(),
        note: p.note.clone(),
    })
}

pub(crate) fn refund_view(r: &RefundRow) -> Refund {
    Refund {
        id: RefundId(r.id),
        payment_id: PaymentId(r.payment_id),
        number: r.number.clone(),
        amount_minor: r.amount_minor,
        reason: r.reason.clone(),
        status: r.status.clone(),
        failure: r.failure.clone(),
        created_at: r.created_at.0,
    }
}

pub(crate) fn claim_view(c: &ClaimRow) -> ServiceResult<Claim> {
    let status =
        ClaimStatus::parse(&c.status).ok_or_else(|| ServiceError::Internal(format!("claim {:?}", c.status)))?;
    Ok(Claim {
        id: ClaimId(c.id),
        invoice_id: InvoiceId(c.invoice_id),
        invoice_number: c.invoice_number.clone(),
        patient_id: PatientId(c.patient_id),
        patient_name: c.patient_name.trim().to_string(),
        line_id: InvoiceLineId(c.line_id),
        description: c.description.clone(),
        payer: c.payer.clone(),
        item_number: c.item_number.clone(),
        claimed_minor: c.claimed_minor,
        approved_minor: c.approved_minor,
        status,
        status_label: status.label().into(),
        reason: c.reason.clone(),
        reference: c.reference.clone(),
        currency: c.currency.clone(),
        submitted_at: c.submitted_at.map(|t| t.0),
        decided_at: c.decided_at.map(|t| t.0),
    })
}

/// How much of an invoice's balance insurers are still expected to pay, and how much the
/// patient owes: the claims' expected benefits less what insurers paid, never more than
/// the balance; the patient owes the rest of the balance.
pub(crate) fn owing_split(
    status: InvoiceStatus,
    balance: i64,
    lines: &[InvoiceLine],
    claims: &[Claim],
    payments: &[Payment],
) -> (i64, i64) {
    if !status.is_open_or_paid() {
        return (0, 0);
    }
    let expected: i64 = if claims.is_empty() {
        lines.iter().map(|l| l.amounts.rebate_minor).sum()
    } else {
        claims.iter().map(|c| c.status.expected_benefit(c.claimed_minor, c.approved_minor)).sum()
    };
    let insurer_paid: i64 =
        payments.iter().filter(|p| p.method == PaymentMethod::Insurer).map(|p| p.amount_minor - p.refunded_minor).sum();
    let insurer = (expected - insurer_paid).clamp(0, balance);
    (insurer, balance - insurer)
}

/// Filters for the invoice list.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceQuery {
    /// Comma-separated statuses (`draft,issued,partially_paid,paid,overdue,void`).
    pub status: Option<String>,
    /// At this clinic.
    pub clinic_id: Option<ClinicId>,
    /// Provided by.
    pub provider_id: Option<ProviderId>,
    /// For this patient.
    pub patient_id: Option<PatientId>,
    /// Billing this appointment.
    pub appointment_id: Option<AppointmentId>,
    /// Issued on or after (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<Date>,
    /// Issued on or before (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    /// Number or patient name contains.
    pub q: Option<String>,
    /// Only overdue invoices (same as `status=overdue`).
    pub overdue: Option<bool>,
    /// Page from 1.
    pub page: Option<i64>,
    /// Page size (default 50, at most 200).
    pub per_page: Option<i64>,
}

impl Services {
    /// The store filter for what `actor` may list, with `q` applied: patients only their
    /// own (and their children's), providers their own work.
    async fn invoice_filter(&self, actor: &Actor, q: &InvoiceQuery) -> ServiceResult<InvoiceFilter> {
        let scope = actor.require(Permission::ViewInvoices)?;
        let mut statuses = Vec::new();
        for s in q.status.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let st = InvoiceStatus::parse(s).ok_or_else(|| {
                ServiceError::invalid(
                    "status",
                    "invalid",
                    "Use draft, issued, partially_paid, paid, overdue or void (comma-separated).",
                )
            })?;
            statuses.push(st.as_str().to_string());
        }
        if q.overdue == Some(true) {
            statuses = vec!["overdue".into()];
        }
        if let (Some(f), Some(u)) = (q.from, q.until)
            && f > u
        {
            return Err(ServiceError::invalid("until", "before_from", "The end of the period is before its start."));
        }
        let mut f = InvoiceFilter {
            statuses,
            clinic_id: q.clinic_id,
            provider_id: q.provider_id,
            patient_id: q.patient_id,
            patients_of_user: None,
            issued_from: q.from,
            issued_until: q.until,
            text: q.q.clone(),
            appointment_id: q.appointment_id,
        };
        if scope == Scope::Own {
            if actor.roles.has(praxis_domain::Role::Provider)
                && let Some(p) = self.actor_provider_id(actor).await?
            {
                if f.provider_id.is_some_and(|x| x.0 != p) {
                    return Err(ServiceError::Forbidden);
                }
                f.provider_id = Some(ProviderId(p));
            } else {
                if let Some(pt) = f.patient_id
                    && !self.patients_i_act_for(actor).await?.contains(&pt)
                {
                    return Err(ServiceError::Forbidden);
                }
                f.patients_of_user = Some(actor.user()?);
                // Patients never see drafts: they are not theirs to pay yet.
                if f.statuses.is_empty() {
                    f.statuses = ["issued", "partially_paid", "paid", "overdue", "void"].map(String::from).to_vec();
                } else {
                    f.statuses.retain(|s| s != "draft");
                    if f.statuses.is_empty() {
                        f.statuses = vec!["none".into()];
                    }
                }
            }
        }
        Ok(f)
    }

    /// Invoices the actor may see, newest first.
    pub async fn list_invoices(&self, actor: &Actor, q: &InvoiceQuery) -> ServiceResult<Page<InvoiceSummary>> {
        let f = self.invoice_filter(actor, q).await?;
        let page = PageRequest::new(q.page, q.per_page);
        let (rows, total) = invoices::list(self.db(), &f, page.per_page, page.offset()).await?;
        let items = rows.iter().map(summary).collect::<ServiceResult<Vec<_>>>()?;
        Ok(Page { items, total, page: page.page, per_page: page.per_page })
    }

    /// Whether `actor` may see this invoice: billing staff and administrators any;
    /// patients their own (not drafts); providers those of their own work. A refusal is
    /// audited and answers 404, so another patient's invoice is not revealed.
    pub(crate) async fn require_invoice_read(&self, actor: &Actor, row: &InvoiceRow) -> ServiceResult<()> {
        let scope = actor.require(Permission::ViewInvoices)?;
        if scope == Scope::All {
            return Ok(());
        }
        let mut ok = false;
        if actor.roles.has(praxis_domain::Role::Provider)
            && let Some(p) = self.actor_provider_id(actor).await?
        {
            ok = row.provider_id == Some(p)
                || invoices::lines(self.db(), &[row.id]).await?.iter().any(|l| l.provider_id == Some(p));
        }
        if !ok && actor.roles.has(praxis_domain::Role::Patient) && row.status != "draft" {
            ok = self.patients_i_act_for(actor).await?.contains(&PatientId(row.patient_id));
        }
        if ok {
            return Ok(());
        }
        let err = ServiceError::NotFound { what: "Invoice" };
        Err(self.denied(actor, "invoice.read_denied", "invoice", Some(row.id.to_string()), "not theirs", err).await)
    }

    /// One invoice in full, if the actor may see it.
    pub async fn get_invoice(&self, actor: &Actor, id: InvoiceId) -> ServiceResult<Invoice> {
        let row = invoices::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Invoice" })?;
        self.require_invoice_read(actor, &row).await?;
        self.invoice_view(row).await
    }

    /// An invoice in full from its row (no permission check; internal).
    pub(crate) async fn invoice_view(&self, row: InvoiceRow) -> ServiceResult<Invoice> {
        let ids = [row.id];
        let lines = invoices::lines(self.db(), &ids).await?.iter().map(line_view).collect::<ServiceResult<Vec<_>>>()?;
        let payments = praxis_store::billing::payments::for_invoices(self.db(), &ids)
            .await?
            .iter()
            .map(payment_view)
            .collect::<ServiceResult<Vec<_>>>()?;
        let refunds = praxis_store::billing::payments::refunds_for_invoices(self.db(), &ids)
            .await?
            .iter()
            .map(refund_view)
            .collect();
        let claims = praxis_store::billing::claims::for_invoices(self.db(), &ids)
            .await?
            .iter()
            .map(claim_view)
            .collect::<ServiceResult<Vec<_>>>()?;
        let s = summary(&row)?;
        let totals = InvoiceTotals {
            subtotal_minor: row.subtotal_minor,
            discount_minor: row.discount_minor,
            net_minor: row.subtotal_minor - row.discount_minor,
            tax_minor: row.tax_minor,
            total_minor: row.total_minor,
            rebate_minor: row.rebate_minor,
            patient_minor: row.total_minor - row.rebate_minor,
        };
        let (insurer, patient) = owing_split(s.status, s.balance_minor, &lines, &claims, &payments);
        let warnings = if matches!(s.status, InvoiceStatus::Draft | InvoiceStatus::Issued | InvoiceStatus::Overdue) {
            self.invoice_plan_warnings(PatientId(row.patient_id), &lines).await?
        } else {
            Vec::new()
        };
        Ok(Invoice {
            summary: s,
            source: row.source,
            appointment_id: row.appointment_id.map(AppointmentId),
            patient_mrn: row.patient_mrn,
            lines,
            totals,
            insurer_owes_minor: insurer,
            patient_owes_minor: patient,
            payments,
            refunds,
            claims,
            notes: row.notes,
            void_reason: row.void_reason,
            voided_at: row.voided_at.map(|t| t.0),
            reissue_of: row.reissue_of.map(InvoiceId),
            issued_at: row.issued_at.map(|t| t.0),
            warnings,
            version: row.version,
        })
    }

    /// What a patient owes on issued invoices, per currency (for the chart and the
    /// appointment panel): (currency, owing, open invoices).
    pub async fn patient_balance(&self, actor: &Actor, patient: PatientId) -> ServiceResult<Vec<Balance>> {
        let scope = actor.require(Permission::ViewInvoices)?;
        if scope == Scope::Own
            && !(actor.roles.has(praxis_domain::Role::Patient)
                && self.patients_i_act_for(actor).await?.contains(&patient))
        {
            return Err(ServiceError::Forbidden);
        }
        Ok(invoices::patient_balance(self.db(), patient)
            .await?
            .into_iter()
            .map(|(currency, owing_minor, open_invoices)| Balance { currency, owing_minor, open_invoices })
            .collect())
    }
}

/// What a patient owes in one currency.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Balance {
    /// Currency.
    pub currency: String,
    /// Owing across issued invoices.
    pub owing_minor: i64,
    /// Invoices with money owing.
    pub open_invoices: i64,
}
