//! Issuing, voiding and reissuing invoices.

use super::{Invoice, money};
use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use jiff::civil::Date;
use praxis_domain::billing::{InvoiceStatus, settle};
use praxis_domain::{ClaimId, ClinicId, InvoiceId, InvoiceLineId, PatientId, Permission, ProviderId};
use praxis_store::billing::claims::{self, NewClaim};
use praxis_store::billing::invoices::{self, NewInvoice};
use serde::Deserialize;

/// Issuing a draft.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct IssueRequest {
    /// The issue date (default: today in the clinic); at most a year back, never ahead.
    #[schema(value_type = Option<String>, format = Date)]
    pub issue_date: Option<Date>,
    /// Email the invoice to the patient (default true).
    pub send: Option<bool>,
}

/// Voiding an invoice.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct VoidRequest {
    /// Why (kept on the invoice and in the audit log).
    #[serde(default)]
    pub reason: String,
}

impl Services {
    /// Issues a draft: the next number of the clinic's year (gap-free), the issue and due
    /// dates, claims for lines with a rebate, and the invoice emailed to the patient.
    #[tracing::instrument(skip_all)]
    pub async fn issue_invoice(&self, actor: &Actor, id: InvoiceId, req: IssueRequest) -> ServiceResult<Invoice> {
        let result = self.issue_checked(actor, id, req).await;
        self.audit_money_refusal(actor, "invoice.issue_refused", Some(id), result).await
    }

    async fn issue_checked(&self, actor: &Actor, id: InvoiceId, req: IssueRequest) -> ServiceResult<Invoice> {
        self.authorize_all(actor, Permission::ManageBilling)?;
        let current = invoices::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Invoice" })?;
        let billing = self.clinic_billing(ClinicId(current.clinic_id)).await?;
        let zone = crate::scheduling::zone_named(&current.time_zone);
        let now = self.now();
        let today = now.to_zoned(zone).date();
        let issue_date = req.issue_date.unwrap_or(today);
        if issue_date > today {
            return Err(ServiceError::invalid("issue_date", "future", "An invoice cannot be dated in the future."));
        }
        if today.since(issue_date).map(|s| s.get_days()).unwrap_or(0) > 366 {
            return Err(ServiceError::invalid("issue_date", "too_old", "Date an invoice at most a year back."));
        }
        let due = issue_date
            .checked_add(jiff::Span::new().days(billing.payment_terms_days))
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let patient = praxis_store::patients::get(self.db(), PatientId(current.patient_id))
            .await?
            .ok_or(ServiceError::NotFound { what: "Patient" })?;
        let payer = patient.insurance_provider.clone().filter(|p| !p.trim().is_empty()).unwrap_or("Medicare".into());
        let mut tx = self.db().begin().await?;
        let row = invoices::get_for_update(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "Invoice" })?;
        if row.status != "draft" {
            return Err(ServiceError::conflict("invoice_issued", "This invoice is already issued."));
        }
        if row.currency != billing.currency {
            return Err(ServiceError::conflict(
                "currency_mismatch",
                format!("The clinic now bills in {}; discard this draft and draft a new invoice.", billing.currency),
            ));
        }
        let lines = invoices::lines_tx(&mut tx, id).await?;
        if lines.is_empty() {
            return Err(ServiceError::invalid("lines", "required", "Add at least one line before issuing."));
        }
        let year = issue_date.year();
        let n = praxis_store::appointments::next_counter(&mut tx, &format!("invoice:{}:{year}", row.clinic_id)).await?;
        let number = format!("{}-{year}-{n:06}", billing.invoice_prefix);
        let status = settle(row.total_minor, 0, due, today).status;
        if !invoices::issue(&mut tx, id, &number, issue_date, due, status.as_str(), now, actor.user_id).await? {
            return Err(ServiceError::conflict("invoice_issued", "This invoice is already issued."));
        }
        let event = super::payments::invoice_event(&row, Some(&number), status.as_str(), 0);
        self.emit_webhook(&mut tx, praxis_domain::integrations::WebhookEvent::InvoiceIssued, event, now).await?;
        let mut claimed = 0;
        for l in lines.iter().filter(|l| l.rebate_minor > 0) {
            let Some(item) = l.item_number.clone() else { continue };
            claims::insert(
                &mut tx,
                &NewClaim {
                    id: ClaimId::new(),
                    invoice_id: id,
                    line_id: l.id,
                    payer: payer.clone(),
                    item_number: item,
                    claimed_minor: l.rebate_minor,
                    created_at: now,
                },
            )
            .await?;
            claimed += 1;
        }
        if req.send.unwrap_or(true) && row.total_minor > 0 {
            self.queue_invoice_email(&mut tx, &row, super::notices::InvoiceNotice::Issued, now).await?;
        }
        tx.audit(self.audit_entry(
            actor,
            "invoice.issue",
            "invoice",
            Some(id.to_string()),
            format!(
                "{number} issued to patient {} for {} (due {due}){}",
                row.patient_id,
                money(row.total_minor, &row.currency),
                if claimed > 0 { format!(", {claimed} claim(s) pending") } else { String::new() }
            ),
        ));
        tx.commit().await?;
        self.get_invoice(actor, id).await
    }

    /// Voids an invoice with a reason. One with money paid on it is refused: refund the
    /// payments first. Its claims are withdrawn and its open online payments cancelled.
    #[tracing::instrument(skip_all)]
    pub async fn void_invoice(&self, actor: &Actor, id: InvoiceId, req: VoidRequest) -> ServiceResult<Invoice> {
        let result = self.void_checked(actor, id, req).await;
        self.audit_money_refusal(actor, "invoice.void_refused", Some(id), result).await
    }

    async fn void_checked(&self, actor: &Actor, id: InvoiceId, req: VoidRequest) -> ServiceResult<Invoice> {
        self.authorize_all(actor, Permission::ManageBilling)?;
        let reason = req.reason.trim().to_string();
        if reason.is_empty() {
            return Err(ServiceError::invalid("reason", "required", "Say why the invoice is voided."));
        }
        if reason.chars().count() > 500 {
            return Err(ServiceError::invalid("reason", "too_long", "Use at most 500 characters."));
        }
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let row = invoices::get_for_update(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "Invoice" })?;
        let status = InvoiceStatus::parse(&row.status).unwrap_or(InvoiceStatus::Void);
        if status == InvoiceStatus::Void {
            return Err(ServiceError::conflict("already_void", "This invoice is already void."));
        }
        if row.paid_minor > 0 {
            return Err(ServiceError::conflict(
                "has_payments",
                format!(
                    "{} has been paid on this invoice. Refund the payments first, then void it.",
                    money(row.paid_minor, &row.currency)
                ),
            ));
        }
        invoices::void(&mut tx, id, &reason, now, actor.user_id).await?;
        let withdrawn = claims::withdraw_all(&mut tx, id, now).await?;
        let cancelled = self.cancel_open_online_payments(&mut tx, id, now).await?;
        tx.audit(self.audit_entry(
            actor,
            "invoice.void",
            "invoice",
            Some(id.to_string()),
            format!(
                "{} voided: {reason}{}{}",
                row.number.as_deref().unwrap_or("draft"),
                if withdrawn > 0 { format!("; {withdrawn} claim(s) withdrawn") } else { String::new() },
                if cancelled > 0 { format!("; {cancelled} online payment(s) cancelled") } else { String::new() }
            ),
        ));
        tx.commit().await?;
        self.get_invoice(actor, id).await
    }

    /// A new draft with the lines of a void invoice, to correct and issue under a new number.
    #[tracing::instrument(skip_all)]
    pub async fn reissue_invoice(&self, actor: &Actor, id: InvoiceId) -> ServiceResult<Invoice> {
        self.authorize_all(actor, Permission::ManageBilling)?;
        let old = invoices::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Invoice" })?;
        if old.status != "void" {
            return Err(ServiceError::conflict(
                "not_void",
                "Only a void invoice is reissued. Void this one with a reason first.",
            ));
        }
        let billing = self.clinic_billing(ClinicId(old.clinic_id)).await?;
        if billing.currency != old.currency {
            return Err(ServiceError::conflict(
                "currency_mismatch",
                format!("The clinic now bills in {}; draft a new invoice instead.", billing.currency),
            ));
        }
        let mut lines = invoices::lines(self.db(), &[old.id]).await?;
        let now = self.now();
        let new_id = InvoiceId::new();
        for l in &mut lines {
            l.id = InvoiceLineId::new().0;
            l.invoice_id = new_id.0;
        }
        let mut tx = self.db().begin().await?;
        invoices::insert(
            &mut tx,
            &NewInvoice {
                id: new_id,
                clinic_id: ClinicId(old.clinic_id),
                patient_id: PatientId(old.patient_id),
                provider_id: old.provider_id.map(ProviderId),
                appointment_id: None,
                source: "reissue",
                currency: old.currency.clone(),
                notes: old.notes.clone(),
                reissue_of: Some(id),
                created_at: now,
                created_by: actor.user_id,
            },
        )
        .await?;
        invoices::replace_lines(&mut tx, new_id, &lines).await?;
        let figures = invoices::DraftFigures {
            provider_id: old.provider_id.map(ProviderId),
            notes: old.notes.clone(),
            subtotal_minor: old.subtotal_minor,
            discount_minor: old.discount_minor,
            tax_minor: old.tax_minor,
            total_minor: old.total_minor,
            rebate_minor: old.rebate_minor,
        };
        invoices::set_draft(&mut tx, new_id, &figures, now).await?;
        tx.audit(self.audit_entry(
            actor,
            "invoice.reissue",
            "invoice",
            Some(new_id.to_string()),
            format!("draft copied from void {}", old.number.as_deref().unwrap_or("draft")),
        ));
        tx.commit().await?;
        self.get_invoice(actor, new_id).await
    }
}
