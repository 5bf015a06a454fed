//! A clinic's billing details (tax registration, payment terms, invoice prefix, UPI,
//! bank details) and a service's billing terms (tax rate, Medicare item and rebate,
//! deposit, late-cancellation and no-show fees, draft on completion).

use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use praxis_domain::billing::TaxRate;
use praxis_domain::billing::upi::Vpa;
use praxis_domain::{ClinicId, Currency, Permission, ServiceId, Validation};
use praxis_store::DbTime;
use praxis_store::billing::settings::{self as store, ClinicBillingRow, ServiceTerms, ServiceTermsRow};
use serde::{Deserialize, Serialize};

/// A clinic's billing details as shown and used.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ClinicBilling {
    /// Clinic.
    pub clinic_id: ClinicId,
    /// The clinic's name.
    pub clinic_name: String,
    /// The business name on invoices.
    pub legal_name: String,
    /// "ABN", "GSTIN".
    pub tax_label: String,
    /// The registration number.
    pub tax_number: String,
    /// The tax's name on invoices ("GST").
    pub tax_name: String,
    /// Default tax rate, basis points (1000 = 10 %).
    pub default_tax_bp: i64,
    /// Invoice currency.
    pub currency: String,
    /// Days from issue to due.
    pub payment_terms_days: i64,
    /// Invoice number prefix.
    pub invoice_prefix: String,
    /// UPI payee address (UPI is offered when set and the currency is INR).
    pub upi_vpa: Option<String>,
    /// UPI payee name.
    pub upi_payee_name: Option<String>,
    /// Bank details printed on invoices.
    pub bank_details: String,
    /// A note printed on every invoice.
    pub invoice_note: String,
    /// Offer online card payment (when Stripe is configured).
    pub online_payments: bool,
    /// False until an administrator saves the details (defaults are shown meanwhile).
    pub saved: bool,
}

/// Changing a clinic's billing details.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ClinicBillingInput {
    /// Business name (default: the clinic's name).
    #[serde(default)]
    pub legal_name: String,
    /// "ABN", "GSTIN", "VAT".
    #[serde(default)]
    pub tax_label: String,
    /// Registration number.
    #[serde(default)]
    pub tax_number: String,
    /// Tax name ("GST").
    #[serde(default)]
    pub tax_name: String,
    /// Default tax rate in basis points (0–10000).
    pub default_tax_bp: Option<i64>,
    /// ISO currency.
    #[serde(default)]
    pub currency: String,
    /// Days until due (0–365).
    pub payment_terms_days: Option<i64>,
    /// Number prefix: 1–10 capital letters or digits.
    #[serde(default)]
    pub invoice_prefix: String,
    /// UPI ID (`clinic@okaxis`), or empty for none.
    #[serde(default)]
    pub upi_vpa: String,
    /// UPI payee name.
    #[serde(default)]
    pub upi_payee_name: String,
    /// Bank details.
    #[serde(default)]
    pub bank_details: String,
    /// Note on every invoice.
    #[serde(default)]
    pub invoice_note: String,
    /// Offer online card payment.
    #[serde(default = "yes")]
    pub online_payments: bool,
}

fn yes() -> bool {
    true
}

impl ClinicBilling {
    /// The default tax rate.
    pub fn default_tax(&self) -> TaxRate {
        TaxRate::from_bp(self.default_tax_bp).unwrap_or(TaxRate::ZERO)
    }
    /// The UPI payee, when UPI is set up and the clinic bills in rupees.
    pub fn upi(&self) -> Option<Vpa> {
        (self.currency == "INR").then_some(())?;
        Vpa::parse(self.upi_vpa.as_deref()?).ok()
    }
}

/// A service's billing terms as shown.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceBilling {
    /// Service.
    pub service_id: ServiceId,
    /// Name.
    pub name: String,
    /// Price before tax, minor units (set in the catalogue).
    pub price_minor: i64,
    /// Currency.
    pub currency: String,
    /// Own tax rate, basis points; `null` uses the clinic's default; 0 is tax-free.
    pub tax_bp: Option<i64>,
    /// Medicare (or insurer) item number.
    pub item_number: Option<String>,
    /// The rebate usually paid, minor units.
    pub rebate_minor: i64,
    /// Draft an invoice when an appointment is completed.
    pub auto_invoice: bool,
    /// Deposit asked for at booking (0: none).
    pub deposit_minor: i64,
    /// Fee for cancelling inside the late-cancellation window (0: none).
    pub late_cancel_fee_minor: i64,
    /// Fee for not coming (0: none).
    pub no_show_fee_minor: i64,
}

/// Changing a service's billing terms.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ServiceBillingInput {
    /// Own tax rate (0–10000 basis points) or `null` for the clinic's default.
    pub tax_bp: Option<i64>,
    /// Item number (letters and digits, up to 20), or empty.
    #[serde(default)]
    pub item_number: String,
    /// Usual rebate, minor units.
    #[serde(default)]
    pub rebate_minor: i64,
    /// Draft on completion.
    #[serde(default)]
    pub auto_invoice: bool,
    /// Deposit, minor units.
    #[serde(default)]
    pub deposit_minor: i64,
    /// Late-cancellation fee, minor units.
    #[serde(default)]
    pub late_cancel_fee_minor: i64,
    /// No-show fee, minor units.
    #[serde(default)]
    pub no_show_fee_minor: i64,
}

pub(crate) fn service_billing(r: ServiceTermsRow) -> ServiceBilling {
    ServiceBilling {
        service_id: ServiceId(r.id),
        name: r.name,
        price_minor: r.price_minor,
        currency: r.currency,
        tax_bp: r.tax_bp,
        item_number: r.item_number,
        rebate_minor: r.rebate_minor,
        auto_invoice: r.auto_invoice,
        deposit_minor: r.deposit_minor,
        late_cancel_fee_minor: r.late_cancel_fee_minor,
        no_show_fee_minor: r.no_show_fee_minor,
    }
}

/// The largest fee, deposit or rebate, in minor units.
const MAX_AMOUNT: i64 = praxis_domain::billing::MAX_LINE_AMOUNT;

fn check_amount(v: &mut Validation, field: &str, n: i64) {
    if !(0..=MAX_AMOUNT).contains(&n) {
        v.add(field, "invalid", "Give an amount from 0 upwards (in minor units, e.g. cents).");
    }
}

impl Services {
    /// A clinic's billing details (defaults until saved), read by anyone who bills or pays.
    pub(crate) async fn clinic_billing(&self, clinic: ClinicId) -> ServiceResult<ClinicBilling> {
        let contact =
            store::clinic_contact(self.db(), clinic).await?.ok_or(ServiceError::NotFound { what: "Clinic" })?;
        Ok(match store::clinic(self.db(), clinic).await? {
            Some(r) => clinic_billing_view(r, contact.name, true),
            None => {
                let currency = store::clinic_currency(self.db(), clinic).await?.unwrap_or_else(|| "AUD".into());
                default_billing(clinic, contact.name, currency)
            }
        })
    }

    /// A clinic's billing details (staff and administrators).
    pub async fn get_clinic_billing(&self, actor: &Actor, clinic: ClinicId) -> ServiceResult<ClinicBilling> {
        if !actor.can(Permission::ManageBilling) && !actor.can(Permission::ManageBillingSettings) {
            return Err(ServiceError::Forbidden);
        }
        self.clinic_billing(clinic).await
    }

    /// Saves a clinic's billing details (administrators).
    pub async fn set_clinic_billing(
        &self,
        actor: &Actor,
        clinic: ClinicId,
        input: ClinicBillingInput,
    ) -> ServiceResult<ClinicBilling> {
        self.authorize_all(actor, Permission::ManageBillingSettings)?;
        let current = self.clinic_billing(clinic).await?;
        let mut v = Validation::new();
        let text = |v: &mut Validation, field: &str, s: &str, max: usize| -> String {
            let t = s.trim();
            if t.chars().count() > max {
                v.add(field, "too_long", format!("Use at most {max} characters."));
            }
            t.to_string()
        };
        let legal_name = text(&mut v, "legal_name", &input.legal_name, 200);
        let tax_label = text(&mut v, "tax_label", &input.tax_label, 20);
        let tax_number = text(&mut v, "tax_number", &input.tax_number, 40);
        let tax_name = text(&mut v, "tax_name", &input.tax_name, 20);
        let bank_details = text(&mut v, "bank_details", &input.bank_details, 500);
        let invoice_note = text(&mut v, "invoice_note", &input.invoice_note, 500);
        let upi_payee_name = text(&mut v, "upi_payee_name", &input.upi_payee_name, 99);
        let default_tax_bp = input.default_tax_bp.unwrap_or(current.default_tax_bp);
        if TaxRate::from_bp(default_tax_bp).is_err() {
            v.add("default_tax_bp", "invalid", "A tax rate is between 0 % and 100 % (0 to 10000 basis points).");
        }
        let currency = if input.currency.trim().is_empty() {
            current.currency.clone()
        } else {
            match Currency::parse(&input.currency) {
                Ok(c) => c.as_str().to_string(),
                Err(e) => {
                    v.add("currency", "invalid", e.0);
                    current.currency.clone()
                }
            }
        };
        let terms = input.payment_terms_days.unwrap_or(current.payment_terms_days);
        if !(0..=365).contains(&terms) {
            v.add("payment_terms_days", "invalid", "Payment terms are 0 to 365 days.");
        }
        let prefix = if input.invoice_prefix.trim().is_empty() {
            current.invoice_prefix.clone()
        } else {
            input.invoice_prefix.trim().to_ascii_uppercase()
        };
        if prefix.is_empty() || prefix.len() > 10 || !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
            v.add("invoice_prefix", "invalid", "A prefix is 1 to 10 letters or digits, such as INV.");
        }
        let upi_vpa = match input.upi_vpa.trim() {
            "" => None,
            raw => match Vpa::parse(raw) {
                Ok(vpa) => Some(vpa.as_str().to_string()),
                Err(e) => {
                    v.add("upi_vpa", "invalid", e);
                    None
                }
            },
        };
        if upi_vpa.is_some() && currency != "INR" {
            v.add("upi_vpa", "not_inr", "UPI takes payments in rupees; set the currency to INR to use it.");
        }
        v.finish()?;
        // The currency of a clinic that has issued invoices stays: they would mix.
        if currency != current.currency && self.clinic_has_invoices(clinic).await? {
            return Err(ServiceError::invalid(
                "currency",
                "in_use",
                "This clinic has invoices in its current currency; the currency cannot change now.",
            ));
        }
        let now = self.now();
        let row = ClinicBillingRow {
            clinic_id: clinic.0,
            legal_name,
            tax_label: if tax_label.is_empty() { "ABN".into() } else { tax_label },
            tax_number,
            tax_name: if tax_name.is_empty() { "GST".into() } else { tax_name },
            default_tax_bp,
            currency,
            payment_terms_days: terms,
            invoice_prefix: prefix,
            upi_payee_name: upi_vpa.as_ref().map(|_| upi_payee_name).filter(|n| !n.is_empty()),
            upi_vpa,
            bank_details,
            invoice_note,
            online_payments: input.online_payments,
            updated_at: DbTime(now),
            updated_by: actor.user_id.map(|u| u.0),
        };
        let mut tx = self.db().begin().await?;
        store::save_clinic(&mut tx, &row).await?;
        tx.audit(self.audit_entry(
            actor,
            "billing.clinic_settings",
            "clinic",
            Some(clinic.to_string()),
            format!(
                "billing details: {} {}, tax {} bp, {} days, prefix {}, UPI {}",
                row.tax_label,
                if row.tax_number.is_empty() { "(none)" } else { &row.tax_number },
                row.default_tax_bp,
                row.payment_terms_days,
                row.invoice_prefix,
                if row.upi_vpa.is_some() { "on" } else { "off" }
            ),
        ));
        tx.commit().await?;
        self.clinic_billing(clinic).await
    }

    async fn clinic_has_invoices(&self, clinic: ClinicId) -> ServiceResult<bool> {
        let f = praxis_store::billing::invoices::InvoiceFilter { clinic_id: Some(clinic), ..Default::default() };
        Ok(praxis_store::billing::invoices::list(self.db(), &f, 1, 0).await?.1 > 0)
    }

    /// Every service's billing terms (staff and administrators).
    pub async fn list_service_billing(&self, actor: &Actor) -> ServiceResult<Vec<ServiceBilling>> {
        if !actor.can(Permission::ManageBilling) && !actor.can(Permission::ManageBillingSettings) {
            return Err(ServiceError::Forbidden);
        }
        Ok(store::all_service_terms(self.db()).await?.into_iter().map(service_billing).collect())
    }

    /// One service's billing terms.
    pub async fn get_service_billing(&self, actor: &Actor, service: ServiceId) -> ServiceResult<ServiceBilling> {
        if !actor.can(Permission::ManageBilling) && !actor.can(Permission::ManageBillingSettings) {
            return Err(ServiceError::Forbidden);
        }
        store::service_terms(self.db(), service)
            .await?
            .map(service_billing)
            .ok_or(ServiceError::NotFound { what: "Service" })
    }

    /// Saves a service's billing terms (administrators).
    pub async fn set_service_billing(
        &self,
        actor: &Actor,
        service: ServiceId,
        input: ServiceBillingInput,
    ) -> ServiceResult<ServiceBilling> {
        self.authorize_all(actor, Permission::ManageBillingSettings)?;
        let current =
            store::service_terms(self.db(), service).await?.ok_or(ServiceError::NotFound { what: "Service" })?;
        let mut v = Validation::new();
        if let Some(bp) = input.tax_bp
            && TaxRate::from_bp(bp).is_err()
        {
            v.add("tax_bp", "invalid", "A tax rate is between 0 % and 100 % (0 to 10000 basis points).");
        }
        let item = input.item_number.trim().to_string();
        if item.len() > 20 || !item.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            v.add("item_number", "invalid", "An item number has up to 20 letters or digits, such as 80110.");
        }
        for (field, n) in [
            ("rebate_minor", input.rebate_minor),
            ("deposit_minor", input.deposit_minor),
            ("late_cancel_fee_minor", input.late_cancel_fee_minor),
            ("no_show_fee_minor", input.no_show_fee_minor),
        ] {
            check_amount(&mut v, field, n);
        }
        if input.rebate_minor > 0 && item.is_empty() {
            v.add("item_number", "required", "A rebate is claimed under an item number; give one.");
        }
        if input.rebate_minor > current.price_minor {
            v.add("rebate_minor", "too_large", "The rebate cannot be more than the service's price.");
        }
        if input.deposit_minor > current.price_minor {
            v.add("deposit_minor", "too_large", "A deposit cannot be more than the service's price.");
        }
        v.finish()?;
        let terms = ServiceTerms {
            tax_bp: input.tax_bp,
            item_number: (!item.is_empty()).then_some(item),
            rebate_minor: input.rebate_minor,
            auto_invoice: input.auto_invoice,
            deposit_minor: input.deposit_minor,
            late_cancel_fee_minor: input.late_cancel_fee_minor,
            no_show_fee_minor: input.no_show_fee_minor,
        };
        let now = self.now();
        let mut tx = self.db().begin().await?;
        if !store::save_service_terms(&mut tx, service, &terms, now).await? {
            return Err(ServiceError::NotFound { what: "Service" });
        }
        tx.audit(self.audit_entry(
            actor,
            "billing.service_terms",
            "service",
            Some(service.to_string()),
            format!(
                "{}: tax {}, item {}, rebate {}, deposit {}, late fee {}, no-show fee {}, draft on completion {}",
                current.name,
                terms.tax_bp.map(|b| format!("{b} bp")).unwrap_or_else(|| "clinic default".into()),
                terms.item_number.as_deref().unwrap_or("-"),
                terms.rebate_minor,
                terms.deposit_minor,
                terms.late_cancel_fee_minor,
                terms.no_show_fee_minor,
                if terms.auto_invoice { "on" } else { "off" }
            ),
        ));
        tx.commit().await?;
        self.get_service_billing(actor, service).await
    }
}

fn clinic_billing_view(r: ClinicBillingRow, clinic_name: String, saved: bool) -> ClinicBilling {
    ClinicBilling {
        clinic_id: ClinicId(r.clinic_id),
        legal_name: if r.legal_name.is_empty() { clinic_name.clone() } else { r.legal_name },
        clinic_name,
        tax_label: r.tax_label,
        tax_number: r.tax_number,
        tax_name: r.tax_name,
        default_tax_bp: r.default_tax_bp,
        currency: r.currency,
        payment_terms_days: r.payment_terms_days,
        invoice_prefix: r.invoice_prefix,
        upi_vpa: r.upi_vpa,
        upi_payee_name: r.upi_payee_name,
        bank_details: r.bank_details,
        invoice_note: r.invoice_note,
        online_payments: r.online_payments,
        saved,
    }
}

fn default_billing(clinic: ClinicId, clinic_name: String, currency: String) -> ClinicBilling {
    ClinicBilling {
        clinic_id: clinic,
        legal_name: clinic_name.clone(),
        clinic_name,
        tax_label: if currency == "INR" { "GSTIN".into() } else { "ABN".into() },
        tax_number: String::new(),
        tax_name: "GST".into(),
        // Health care is GST-exempt in India; Australia's GST is 10 %.
        default_tax_bp: if currency == "INR" { 0 } else { 1000 },
        currency,
        payment_terms_days: 14,
        invoice_prefix: "INV".into(),
        upi_vpa: None,
        upi_payee_name: None,
        bank_details: String::new(),
        invoice_note: String::new(),
        online_payments: true,
        saved: false,
    }
}
