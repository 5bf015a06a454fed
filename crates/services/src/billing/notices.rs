//! The emails billing sends through the job queue: the invoice when issued, a receipt for
//! each payment, a reminder when an invoice becomes overdue. Each is queued in the
//! transaction of the change with an idempotency key, and rendered (with its PDF) when it
//! is sent, from the invoice as it is then.

use crate::Services;
use crate::error::{ServiceError, ServiceResult};
use crate::notifications::{Channel, EnqueueMessage, MessageData, Template};
use jiff::Timestamp;
use praxis_store::Tx;
use praxis_store::billing::invoices::InvoiceRow;
use uuid::Uuid;

/// Which billing email.
#[derive(Clone, Copy, Debug)]
pub(crate) enum InvoiceNotice {
    /// The invoice was issued.
    Issued,
    /// A payment was received (the payment's id).
    Receipt(Uuid),
    /// The invoice is overdue.
    Overdue,
}

impl Services {
    /// Queues a billing email to the patient, if they have an address and want email.
    pub(crate) async fn queue_invoice_email(
        &self,
        tx: &mut Tx,
        row: &InvoiceRow,
        notice: InvoiceNotice,
        now: Timestamp,
    ) -> ServiceResult<()> {
        let contacts = praxis_store::messages::contacts_tx(tx, &[row.patient_id]).await?;
        let Some(c) = contacts.first() else { return Ok(()) };
        let Some(email) = c.email.clone().filter(|_| c.email_enabled) else { return Ok(()) };
        let (template, key, payment) = match notice {
            InvoiceNotice::Issued => (Template::Invoice, format!("invoice:{}", row.id), None),
            InvoiceNotice::Receipt(p) => (Template::Receipt, format!("receipt:{p}"), Some(p)),
            InvoiceNotice::Overdue => (Template::OverdueReminder, format!("overdue:{}", row.id), None),
        };
        let data = MessageData { invoice_id: Some(row.id), payment_id: payment, ..Default::default() };
        let data = serde_json::to_string(&data).map_err(|e| ServiceError::Internal(e.to_string()))?;
        self.enqueue_message(
            tx,
            EnqueueMessage {
                template,
                channel: Channel::Email,
                recipient: email,
                patient_id: Some(row.patient_id),
                appointment_id: None,
                data,
                key: format!("{key}:email"),
                run_at: now,
            },
            now,
        )
        .await?;
        Ok(())
    }
}

/// A billing email ready to render, or why it is no longer sent.
pub enum BillingMessage {
    /// What it shows and the PDF to attach.
    Ready(crate::notifications::templates::InvoiceFacts, Vec<crate::notifications::transport::FileAttachment>),
    /// No longer worth sending (the invoice was voided, or paid before the reminder).
    Stale(String),
    /// Cannot be sent (the invoice or payment is gone).
    Unrenderable(String),
}

impl Services {
    /// Reads the invoice (and payment) a billing email is about, as they are now, and
    /// renders its PDF.
    pub(crate) async fn billing_message(
        &self,
        template: Template,
        data: &MessageData,
    ) -> ServiceResult<BillingMessage> {
        use crate::notifications::templates::InvoiceFacts;
        use crate::notifications::transport::FileAttachment;
        let Some(id) = data.invoice_id else {
            return Ok(BillingMessage::Unrenderable("the message names no invoice".into()));
        };
        let Some(row) = praxis_store::billing::invoices::get(self.db(), praxis_domain::InvoiceId(id)).await? else {
            return Ok(BillingMessage::Unrenderable("the invoice no longer exists".into()));
        };
        let inv = self.invoice_view(row).await?;
        let status = inv.summary.status;
        use praxis_domain::billing::InvoiceStatus as S;
        if status == S::Void && template != Template::Receipt {
            return Ok(BillingMessage::Stale("the invoice was voided".into()));
        }
        if template == Template::OverdueReminder && (status != S::Overdue || inv.patient_owes_minor <= 0) {
            return Ok(BillingMessage::Stale("the invoice is no longer overdue".into()));
        }
        let cur = inv.summary.currency.clone();
        let contact = praxis_store::billing::settings::clinic_contact(self.db(), inv.summary.clinic_id).await?;
        let base = self.settings().public_base_url.trim_end_matches('/').to_string();
        let date = |d: Option<jiff::civil::Date>| d.map(|d| d.strftime("%-d %B %Y").to_string()).unwrap_or_default();
        let mut facts = InvoiceFacts {
            number: inv.summary.number.clone().unwrap_or_default(),
            clinic_name: inv.summary.clinic_name.clone(),
            clinic_address: contact.map(|c| c.address).unwrap_or_default(),
            total: super::money(inv.summary.total_minor, &cur),
            balance: super::money(inv.summary.balance_minor, &cur),
            patient_owes: super::money(inv.patient_owes_minor, &cur),
            issued: date(inv.summary.issue_date),
            due: date(inv.summary.due_date),
            receipt: None,
            url: format!("{base}/my/invoices/{id}"),
            pay_online: self.online_payments_available(inv.summary.clinic_id).await?,
        };
        let (filename, bytes) = if template == Template::Receipt {
            let Some(pid) = data.payment_id else {
                return Ok(BillingMessage::Unrenderable("the receipt names no payment".into()));
            };
            let Some(p) = inv.payments.iter().find(|p| p.id.0 == pid).cloned() else {
                return Ok(BillingMessage::Unrenderable("the payment no longer exists".into()));
            };
            facts.receipt =
                Some((p.receipt_number.clone(), super::money(p.amount_minor, &cur), p.method_label.clone()));
            (format!("{}.pdf", p.receipt_number), self.render_receipt_pdf(&inv, &p).await?)
        } else {
            (format!("{}.pdf", facts.number), self.render_invoice_pdf(&inv).await?)
        };
        let file = FileAttachment { filename, content_type: "application/pdf".into(), bytes };
        Ok(BillingMessage::Ready(facts, vec![file]))
    }
}
