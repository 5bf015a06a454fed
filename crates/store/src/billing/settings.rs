//! Each clinic's billing details, and each service's billing terms.

use crate::codec::DbTime;
use crate::db::{Db, Tx, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::{ClinicId, ServiceId};
use uuid::Uuid;

/// A clinic's billing details.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClinicBillingRow {
    /// Clinic.
    pub clinic_id: Uuid,
    /// The business name on invoices (default: the clinic's name).
    pub legal_name: String,
    /// "ABN", "GSTIN", "VAT number".
    pub tax_label: String,
    /// The registration number.
    pub tax_number: String,
    /// The tax's name on invoices ("GST").
    pub tax_name: String,
    /// Tax rate for services without their own, basis points.
    pub default_tax_bp: i64,
    /// Currency of the clinic's invoices.
    pub currency: String,
    /// Days from issue to due date.
    pub payment_terms_days: i64,
    /// Invoice number prefix ("INV").
    pub invoice_prefix: String,
    /// UPI payee address, when the clinic takes UPI.
    pub upi_vpa: Option<String>,
    /// UPI payee name.
    pub upi_payee_name: Option<String>,
    /// Bank details printed on invoices.
    pub bank_details: String,
    /// A note printed on every invoice.
    pub invoice_note: String,
    /// Offer online card payment (when Stripe is configured).
    pub online_payments: bool,
    /// Changed.
    pub updated_at: DbTime,
    /// By.
    pub updated_by: Option<Uuid>,
}

const CLINIC_SELECT: &str = "SELECT clinic_id, legal_name, tax_label, tax_number, tax_name, default_tax_bp, currency, \
    payment_terms_days, invoice_prefix, upi_vpa, upi_payee_name, bank_details, invoice_note, online_payments, \
    updated_at, updated_by FROM clinic_billing";

/// A clinic's billing details, if set.
pub async fn clinic(db: &Db, clinic: ClinicId) -> StoreResult<Option<ClinicBillingRow>> {
    db.fetch_optional(crate::db::dynamic_sql(format!("{CLINIC_SELECT} WHERE clinic_id = $1")).bind(clinic)).await
}

/// A clinic's billing details inside a transaction.
pub async fn clinic_tx(tx: &mut Tx, clinic: ClinicId) -> StoreResult<Option<ClinicBillingRow>> {
    tx.fetch_optional(crate::db::dynamic_sql(format!("{CLINIC_SELECT} WHERE clinic_id = $1")).bind(clinic)).await
}

/// Every clinic's billing details.
pub async fn all_clinics(db: &Db) -> StoreResult<Vec<ClinicBillingRow>> {
    db.fetch_all(sql("SELECT clinic_id, legal_name, tax_label, tax_number, tax_name, default_tax_bp, currency, \
         payment_terms_days, invoice_prefix, upi_vpa, upi_payee_name, bank_details, invoice_note, online_payments, \
         updated_at, updated_by FROM clinic_billing"))
        .await
}

/// Inserts or replaces a clinic's billing details.
pub async fn save_clinic(tx: &mut Tx, r: &ClinicBillingRow) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO clinic_billing (clinic_id, legal_name, tax_label, tax_number, tax_name, default_tax_bp, \
             currency, payment_terms_days, invoice_prefix, upi_vpa, upi_payee_name, bank_details, invoice_note, \
             online_payments, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15, $16) ON CONFLICT (clinic_id) DO UPDATE SET legal_name = excluded.legal_name, \
             tax_label = excluded.tax_label, tax_number = excluded.tax_number, tax_name = excluded.tax_name, \
             default_tax_bp = excluded.default_tax_bp, currency = excluded.currency, \
             payment_terms_days = excluded.payment_terms_days, invoice_prefix = excluded.invoice_prefix, \
             upi_vpa = excluded.upi_vpa, upi_payee_name = excluded.upi_payee_name, \
             bank_details = excluded.bank_details, invoice_note = excluded.invoice_note, \
             online_payments = excluded.online_payments, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by")
        .bind(r.clinic_id)
        .bind(&r.legal_name)
        .bind(&r.tax_label)
        .bind(&r.tax_number)
        .bind(&r.tax_name)
        .bind(r.default_tax_bp)
        .bind(&r.currency)
        .bind(r.payment_terms_days)
        .bind(&r.invoice_prefix)
        .bind(r.upi_vpa.clone())
        .bind(r.upi_payee_name.clone())
        .bind(&r.bank_details)
        .bind(&r.invoice_note)
        .bind(r.online_payments)
        .bind(r.updated_at.0)
        .bind(r.updated_by),
    )
    .await?;
    Ok(())
}

/// What a service costs and how it is billed.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ServiceTermsRow {
    /// Service.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Specialty (referrals count sessions by specialty).
    pub specialty_id: Option<Uuid>,
    /// Price, minor units, before tax.
    pub price_minor: i64,
    /// Currency.
    pub currency: String,
    /// Its own tax rate (basis points), or the clinic's default when `None`; 0 = tax-free.
    pub tax_bp: Option<i64>,
    /// Medicare (or insurer) item number.
    pub item_number: Option<String>,
    /// The rebate usually paid for it.
    pub rebate_minor: i64,
    /// Draft an invoice when an appointment is completed.
    pub auto_invoice: bool,
    /// Deposit asked for at booking (0 = none).
    pub deposit_minor: i64,
    /// Fee for a late cancellation (0 = none).
    pub late_cancel_fee_minor: i64,
    /// Fee for not coming (0 = none).
    pub no_show_fee_minor: i64,
}

const TERMS_SELECT: &str = "SELECT id, name, specialty_id, price_minor, currency, tax_bp, item_number, rebate_minor, \
    auto_invoice, deposit_minor, late_cancel_fee_minor, no_show_fee_minor FROM services";

/// A service's billing terms.
pub async fn service_terms(db: &Db, id: ServiceId) -> StoreResult<Option<ServiceTermsRow>> {
    db.fetch_optional(crate::db::dynamic_sql(format!("{TERMS_SELECT} WHERE id = $1")).bind(id)).await
}

/// A service's billing terms inside a transaction.
pub async fn service_terms_tx(tx: &mut Tx, id: ServiceId) -> StoreResult<Option<ServiceTermsRow>> {
    tx.fetch_optional(crate::db::dynamic_sql(format!("{TERMS_SELECT} WHERE id = $1")).bind(id)).await
}

/// Every service's billing terms, by name.
pub async fn all_service_terms(db: &Db) -> StoreResult<Vec<ServiceTermsRow>> {
    db.fetch_all(crate::db::dynamic_sql(format!("{TERMS_SELECT} ORDER BY lower(name)"))).await
}

/// Billing terms to save on a service (price and currency stay with the catalogue).
#[derive(Clone, Debug)]
pub struct ServiceTerms {
    /// Own tax rate or `None` for the clinic's.
    pub tax_bp: Option<i64>,
    /// Item number.
    pub item_number: Option<String>,
    /// Usual rebate.
    pub rebate_minor: i64,
    /// Draft on completion.
    pub auto_invoice: bool,
    /// Deposit.
    pub deposit_minor: i64,
    /// Late-cancellation fee.
    pub late_cancel_fee_minor: i64,
    /// No-show fee.
    pub no_show_fee_minor: i64,
}

/// Saves a service's billing terms; false when there is no such service.
pub async fn save_service_terms(tx: &mut Tx, id: ServiceId, t: &ServiceTerms, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE services SET tax_bp = $2, item_number = $3, rebate_minor = $4, auto_invoice = $5, \
                 deposit_minor = $6, late_cancel_fee_minor = $7, no_show_fee_minor = $8, updated_at = $9 WHERE id = $1")
            .bind(id)
            .bind(t.tax_bp)
            .bind(t.item_number.clone())
            .bind(t.rebate_minor)
            .bind(t.auto_invoice)
            .bind(t.deposit_minor)
            .bind(t.late_cancel_fee_minor)
            .bind(t.no_show_fee_minor)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// The clinic's own name and address (for invoices), read with its billing details.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClinicContactRow {
    /// Name.
    pub name: String,
    /// Address (may have line breaks).
    pub address: String,
    /// Phone.
    pub phone: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// IANA zone.
    pub time_zone: String,
}

/// A clinic's name, address and zone.
pub async fn clinic_contact(db: &Db, clinic: ClinicId) -> StoreResult<Option<ClinicContactRow>> {
    db.fetch_optional(sql("SELECT name, address, phone, email, time_zone FROM clinics WHERE id = $1").bind(clinic))
        .await
}

/// A clinic's name, address and zone inside a transaction.
pub async fn clinic_contact_tx(tx: &mut Tx, clinic: ClinicId) -> StoreResult<Option<ClinicContactRow>> {
    tx.fetch_optional(sql("SELECT name, address, phone, email, time_zone FROM clinics WHERE id = $1").bind(clinic))
        .await
}

/// The currency most of the services offered at a clinic are priced in (the default for
/// its invoices before its billing details are saved).
pub async fn clinic_currency(db: &Db, clinic: ClinicId) -> StoreResult<Option<String>> {
    let row: Option<(String,)> = db
        .fetch_optional(
            sql("SELECT s.currency FROM services s JOIN provider_services ps ON ps.service_id = s.id \
                 JOIN provider_clinics pc ON pc.provider_id = ps.provider_id WHERE pc.clinic_id = $1 \
                 GROUP BY s.currency ORDER BY COUNT(*) DESC, s.currency LIMIT 1")
            .bind(clinic),
        )
        .await?;
    Ok(row.map(|r| r.0))
}
