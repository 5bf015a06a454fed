//! Invoice and receipt PDFs (rendered in Rust by `praxis-pdf`, with an embedded open
//! font), and the UPI payment request (link and QR code, drawn locally: no third party
//! sees the payment data).

use super::settings::ClinicBilling;
use super::{Invoice, Payment, money};
use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use praxis_domain::billing::upi::payment_link;
use praxis_domain::billing::{InvoiceStatus, LineKind, TaxRate};
use praxis_domain::{Currency, InvoiceId, Money, PaymentId};
use praxis_pdf::{Document, Line, Party, QrBlock, Total};
use serde::Serialize;

/// A PDF to download or attach.
#[derive(Clone, Debug)]
pub struct PdfFile {
    /// `INV-2027-000123.pdf`.
    pub filename: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A UPI payment request for what is owing on an invoice.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct UpiRequest {
    /// `upi://pay?pa=…&pn=…&am=…&cu=INR&tn=INV-…`.
    pub link: String,
    /// The payee's VPA.
    pub vpa: String,
    /// The payee's name.
    pub payee_name: String,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// The link as an inline SVG QR code (scan with any UPI app).
    pub qr_svg: String,
}

fn date_text(d: Option<jiff::civil::Date>) -> String {
    d.map(|d| d.strftime("%-d %B %Y").to_string()).unwrap_or_default()
}

impl Services {
    /// The UPI request for an invoice's balance, when the clinic takes UPI and money is owing.
    pub(crate) fn upi_for(&self, billing: &ClinicBilling, inv: &Invoice) -> Option<UpiRequest> {
        let vpa = billing.upi()?;
        let owing = inv.patient_owes_minor;
        if owing <= 0 || !inv.summary.status.accepts_payment() {
            return None;
        }
        let currency = Currency::parse(&inv.summary.currency).ok()?;
        let payee =
            billing.upi_payee_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or(billing.clinic_name.clone());
        let reference = inv.summary.number.clone()?;
        let link = payment_link(&vpa, &payee, Money::new(owing, currency), &reference).ok()?;
        let qr = praxis_pdf::qr::QrMatrix::encode(&link).ok()?;
        let qr_svg = qr.to_svg(&format!("UPI QR code to pay {} to {payee}", money(owing, &inv.summary.currency)));
        Some(UpiRequest { link, vpa: vpa.as_str().to_string(), payee_name: payee, amount_minor: owing, qr_svg })
    }

    /// The UPI request for an invoice the actor may see (none when UPI is not set up).
    pub async fn invoice_upi(&self, actor: &Actor, id: InvoiceId) -> ServiceResult<Option<UpiRequest>> {
        let inv = self.get_invoice(actor, id).await?;
        let billing = self.clinic_billing(inv.summary.clinic_id).await?;
        Ok(self.upi_for(&billing, &inv))
    }

    /// The invoice as a PDF, for whoever may see the invoice.
    pub async fn invoice_pdf(&self, actor: &Actor, id: InvoiceId) -> ServiceResult<PdfFile> {
        let inv = self.get_invoice(actor, id).await?;
        let bytes = self.render_invoice_pdf(&inv).await?;
        let name = inv.summary.number.clone().unwrap_or_else(|| format!("draft-{}", inv.summary.id));
        Ok(PdfFile { filename: format!("{name}.pdf"), bytes })
    }

    /// A payment's receipt as a PDF, for whoever may see its invoice.
    pub async fn receipt_pdf(&self, actor: &Actor, id: PaymentId) -> ServiceResult<PdfFile> {
        let p = praxis_store::billing::payments::get(self.db(), id)
            .await?
            .ok_or(ServiceError::NotFound { what: "Payment" })?;
        // A payment on an invoice one may not see answers like a payment that does not exist.
        let inv = self.get_invoice(actor, InvoiceId(p.invoice_id)).await.map_err(|e| match e {
            ServiceError::NotFound { .. } => ServiceError::NotFound { what: "Payment" },
            e => e,
        })?;
        let payment =
            inv.payments.iter().find(|x| x.id == id).cloned().ok_or(ServiceError::NotFound { what: "Payment" })?;
        let bytes = self.render_receipt_pdf(&inv, &payment).await?;
        Ok(PdfFile { filename: format!("{}.pdf", payment.receipt_number), bytes })
    }

    async fn issuer_and_recipient(&self, inv: &Invoice) -> ServiceResult<(ClinicBilling, Party, Party, String)> {
        let billing = self.clinic_billing(inv.summary.clinic_id).await?;
        let contact = praxis_store::billing::settings::clinic_contact(self.db(), inv.summary.clinic_id)
            .await?
            .ok_or(ServiceError::NotFound { what: "Clinic" })?;
        let mut lines: Vec<String> =
            contact.address.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
        if !billing.legal_name.trim().is_empty() && billing.legal_name != contact.name {
            lines.insert(0, billing.legal_name.clone());
        }
        if !billing.tax_number.trim().is_empty() {
            lines.push(format!("{} {}", billing.tax_label, billing.tax_number));
        }
        if let Some(p) = contact.phone.filter(|p| !p.trim().is_empty()) {
            lines.push(format!("Phone {p}"));
        }
        if let Some(e) = contact.email.filter(|e| !e.trim().is_empty()) {
            lines.push(e);
        }
        let issuer = Party { heading: String::new(), name: contact.name.clone(), lines };
        let mut rlines = Vec::new();
        if let Some(mrn) = &inv.patient_mrn {
            rlines.push(format!("Record {mrn}"));
        }
        let recipient = Party { heading: "Bill to".into(), name: inv.summary.patient_name.clone(), lines: rlines };
        let footer = format!("{} · {}", contact.name, contact.address.replace('\n', ", "));
        Ok((billing, issuer, recipient, footer))
    }

    /// Renders an invoice's PDF from its view.
    pub(crate) async fn render_invoice_pdf(&self, inv: &Invoice) -> ServiceResult<Vec<u8>> {
        let (billing, issuer, recipient, footer) = self.issuer_and_recipient(inv).await?;
        let cur = inv.summary.currency.as_str();
        let s = &inv.summary;
        let title = if billing.tax_number.trim().is_empty() { "Invoice" } else { "Tax invoice" };
        let mut facts = Vec::new();
        if let Some(d) = s.issue_date {
            facts.push(("Issued".to_string(), date_text(Some(d))));
        }
        if let Some(d) = s.due_date {
            facts.push(("Due".to_string(), date_text(Some(d))));
        }
        facts.push(("Status".to_string(), s.status_label.clone()));
        if let Some(p) = &s.provider_name {
            facts.push(("Provider".to_string(), p.clone()));
        }
        let lines = inv
            .lines
            .iter()
            .map(|l| {
                let mut detail = Vec::new();
                if let Some(d) = l.service_date {
                    detail.push(format!("Date of service {}", date_text(Some(d))));
                }
                if let Some(item) = &l.item_number {
                    detail.push(format!("Item {item}"));
                }
                if l.amounts.rebate_minor > 0 {
                    detail.push(format!(
                        "Rebate {} · you pay {}",
                        money(l.amounts.rebate_minor, cur),
                        money(l.amounts.patient_minor, cur)
                    ));
                }
                if l.kind == LineKind::DepositCredit {
                    detail.push("Deposit already paid".into());
                }
                let tax = if l.tax_rate_bp == 0 {
                    format!("{} free", billing.tax_label)
                } else {
                    format!(
                        "{} ({})",
                        money(l.amounts.tax_minor, cur),
                        TaxRate::from_bp(l.tax_rate_bp).map(|t| t.percent_label()).unwrap_or_default()
                    )
                };
                Line {
                    description: l.description.clone(),
                    detail: (!detail.is_empty()).then(|| detail.join(" · ")),
                    quantity: l.quantity.to_string(),
                    unit_price: money(l.unit_price_minor, cur),
                    discount: if l.amounts.discount_minor == 0 {
                        String::new()
                    } else {
                        money(-l.amounts.discount_minor, cur)
                    },
                    tax,
                    amount: money(l.amounts.total_minor, cur),
                }
            })
            .collect();
        let t = &inv.totals;
        let mut totals = vec![Total { label: "Subtotal".into(), amount: money(t.subtotal_minor, cur), strong: false }];
        if t.discount_minor != 0 {
            totals.push(Total { label: "Discount".into(), amount: money(-t.discount_minor, cur), strong: false });
        }
        totals.push(Total {
            label: format!("{} total", billing.tax_label),
            amount: money(t.tax_minor, cur),
            strong: false,
        });
        totals.push(Total { label: "Total".into(), amount: money(t.total_minor, cur), strong: true });
        if t.rebate_minor > 0 {
            totals.push(Total { label: "Expected rebates".into(), amount: money(-t.rebate_minor, cur), strong: false });
        }
        if s.paid_minor > 0 {
            totals.push(Total { label: "Paid".into(), amount: money(-s.paid_minor, cur), strong: false });
        }
        if s.status.is_open_or_paid() {
            totals.push(Total { label: "Amount due".into(), amount: money(inv.patient_owes_minor, cur), strong: true });
        }
        let mut notes = Vec::new();
        if !inv.notes.trim().is_empty() {
            notes.push(inv.notes.clone());
        }
        if s.status.accepts_payment() {
            if !billing.bank_details.trim().is_empty() {
                notes.push(format!(
                    "Pay by bank transfer to: {}. Please quote {}.",
                    billing.bank_details.replace('\n', ", "),
                    s.number.as_deref().unwrap_or("the invoice number")
                ));
            }
            if billing.payment_terms_days > 0 {
                notes.push(format!("Payment terms: {} days.", billing.payment_terms_days));
            }
        }
        if !billing.invoice_note.trim().is_empty() {
            notes.push(billing.invoice_note.clone());
        }
        if let Some(r) = &inv.void_reason {
            notes.push(format!("Void: {r}"));
        }
        let qr = self.upi_for(&billing, inv).map(|u| QrBlock {
            payload: u.link,
            caption: format!("Pay {} by UPI to {}", money(u.amount_minor, cur), u.vpa),
        });
        let stamp = match s.status {
            InvoiceStatus::Paid => Some("PAID".to_string()),
            InvoiceStatus::Void => Some("VOID".to_string()),
            InvoiceStatus::Draft => Some("DRAFT".to_string()),
            _ => None,
        };
        let doc = Document {
            title: title.into(),
            number: s.number.clone().unwrap_or_else(|| "Draft".into()),
            issuer,
            recipient,
            facts,
            tax_label: billing.tax_label.clone(),
            lines,
            totals,
            notes,
            qr,
            stamp,
            footer,
        };
        praxis_pdf::render(&doc).map_err(|e| ServiceError::Internal(format!("invoice PDF: {e}")))
    }

    /// Renders a payment's receipt.
    pub(crate) async fn render_receipt_pdf(&self, inv: &Invoice, p: &Payment) -> ServiceResult<Vec<u8>> {
        let (billing, issuer, recipient, footer) = self.issuer_and_recipient(inv).await?;
        let cur = p.currency.as_str();
        let zone = crate::scheduling::zone_named(
            &praxis_store::billing::settings::clinic_contact(self.db(), inv.summary.clinic_id)
                .await?
                .map(|c| c.time_zone)
                .unwrap_or_else(|| "UTC".into()),
        );
        let received = p.received_at.to_zoned(zone).strftime("%-d %B %Y %H:%M").to_string();
        let mut facts = vec![
            ("Received".to_string(), received),
            ("Paid by".to_string(), p.method_label.clone()),
            ("Invoice".to_string(), inv.summary.number.clone().unwrap_or_default()),
        ];
        if !p.reference.trim().is_empty() {
            facts.push(("Reference".to_string(), p.reference.clone()));
        }
        let lines = vec![Line {
            description: format!("Payment towards invoice {}", inv.summary.number.as_deref().unwrap_or("-")),
            detail: (!p.note.trim().is_empty()).then(|| p.note.clone()),
            quantity: "1".into(),
            unit_price: money(p.amount_minor, cur),
            discount: String::new(),
            tax: String::new(),
            amount: money(p.amount_minor, cur),
        }];
        let mut totals = vec![Total { label: "Received".into(), amount: money(p.amount_minor, cur), strong: true }];
        if p.refunded_minor > 0 {
            totals.push(Total { label: "Refunded".into(), amount: money(-p.refunded_minor, cur), strong: false });
        }
        totals.push(Total {
            label: "Invoice balance".into(),
            amount: money(inv.summary.balance_minor, cur),
            strong: false,
        });
        let doc = Document {
            title: "Receipt".into(),
            number: p.receipt_number.clone(),
            issuer,
            recipient,
            facts,
            tax_label: billing.tax_label.clone(),
            lines,
            totals,
            notes: vec!["Thank you for your payment.".into()],
            qr: None,
            stamp: None,
            footer,
        };
        praxis_pdf::render(&doc).map_err(|e| ServiceError::Internal(format!("receipt PDF: {e}")))
    }
}
