//! Taking payments (each with a numbered receipt) and giving refunds.

use super::{Payment, Refund, money, payment_view, refund_view};
use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use jiff::{SignedDuration, Timestamp};
use praxis_domain::billing::{BillingError, InvoiceStatus, PaymentMethod, check_payment, check_refund, settle};
use praxis_domain::{ClaimId, InvoiceId, PaymentId, Permission, RefundId};
use praxis_store::Tx;
use praxis_store::billing::invoices::{self, InvoiceRow};
use praxis_store::billing::payments::{self, NewPayment, NewRefund, PaymentRow};
use serde::Deserialize;
use uuid::Uuid;

/// A payment taken by staff.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PaymentRequest {
    /// cash, card, bank_transfer, upi or insurer (online payments come from Stripe).
    pub method: Option<PaymentMethod>,
    /// Amount, minor units (at most what is owing: overpayment is refused).
    pub amount_minor: Option<i64>,
    /// If given, must be the invoice's currency.
    pub currency: Option<String>,
    /// When it was received (default now; never in the future).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub received_at: Option<Timestamp>,
    /// The UPI transaction reference (required for UPI), or a bank or insurer reference.
    #[serde(default)]
    pub reference: String,
    /// A note.
    #[serde(default)]
    pub note: String,
    /// For an insurer's payment: the claim it pays.
    pub claim_id: Option<ClaimId>,
    /// A one-time key of the form (or an `Idempotency-Key`): sending it again records nothing new.
    pub request_key: Option<String>,
}

/// A refund.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RefundRequest {
    /// Amount, minor units (default: everything that can still be refunded).
    pub amount_minor: Option<i64>,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// A one-time key of the form: sending it again refunds nothing more.
    pub request_key: Option<String>,
}

pub(crate) fn billing_error(field: &str, e: BillingError) -> ServiceError {
    match e {
        BillingError::NotPositive => ServiceError::invalid(field, "not_positive", e.to_string()),
        BillingError::Overpayment { .. } => ServiceError::invalid(field, "overpayment", e.to_string()),
        BillingError::OverRefund { .. } => ServiceError::invalid(field, "over_refund", e.to_string()),
        BillingError::NotPayable(m) => ServiceError::conflict("not_payable", m),
        BillingError::Illegal(m) => ServiceError::conflict("illegal_transition", m),
    }
}

fn check_key(key: &Option<String>) -> ServiceResult<Option<String>> {
    match key.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(k) if k.len() > 200 => {
            Err(ServiceError::invalid("request_key", "invalid", "A request key has at most 200 characters."))
        }
        Some(k) => Ok(Some(k.to_string())),
    }
}

/// Numbers such as `RCT-2027-000012` from the clinic's counter for the year.
pub(crate) async fn next_number(
    tx: &mut Tx,
    kind: &str,
    prefix: &str,
    clinic: Uuid,
    at: Timestamp,
    zone: &str,
) -> ServiceResult<String> {
    let year = at.to_zoned(crate::scheduling::zone_named(zone)).year();
    let n = praxis_store::appointments::next_counter(tx, &format!("{kind}:{clinic}:{year}")).await?;
    Ok(format!("{prefix}-{year}-{n:06}"))
}

impl Services {
    /// Records a payment against an issued invoice (billing staff and administrators):
    /// a numbered receipt, the invoice's status following its money, and the receipt
    /// emailed to the patient. More than is owing is refused. A refusal is audited.
    #[tracing::instrument(skip_all)]
    pub async fn record_payment(
        &self,
        actor: &Actor,
        invoice: InvoiceId,
        req: PaymentRequest,
    ) -> ServiceResult<Payment> {
        let result = self.record_payment_checked(actor, invoice, req).await;
        self.audit_money_refusal(actor, "payment.refused", Some(invoice), result).await
    }

    async fn record_payment_checked(
        &self,
        actor: &Actor,
        invoice: InvoiceId,
        req: PaymentRequest,
    ) -> ServiceResult<Payment> {
        self.authorize_all(actor, Permission::ManageBilling)?;
        let key = check_key(&req.request_key)?;
        let Some(method) = req.method else {
            return Err(ServiceError::invalid("method", "required", "Choose how it was paid."));
        };
        if !method.recorded_by_staff() {
            return Err(ServiceError::invalid(
                "method",
                "online_only",
                "Online payments are recorded by the payment provider, not by hand.",
            ));
        }
        let Some(amount) = req.amount_minor else {
            return Err(ServiceError::invalid("amount", "required", "Give the amount received."));
        };
        let reference = req.reference.trim().to_string();
        let note = req.note.trim().to_string();
        if method.needs_reference()
            && (reference.len() < 6
                || reference.len() > 35
                || !reference.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(ServiceError::invalid(
                "reference",
                "required",
                "Give the UPI transaction reference (the 12-digit UTR or the app's transaction id).",
            ));
        }
        if reference.chars().count() > 100 || note.chars().count() > 500 {
            return Err(ServiceError::invalid("note", "too_long", "Keep the reference and note short."));
        }
        let now = self.now();
        let received_at = req.received_at.unwrap_or(now);
        if received_at > now.saturating_add(SignedDuration::from_mins(5)).unwrap_or(now) {
            return Err(ServiceError::invalid("received_at", "future", "A payment cannot be received in the future."));
        }
        let mut tx = self.db().begin().await?;
        if let Some(k) = &key
            && let Some(prev) = payments::by_request_key(&mut tx, k).await?
        {
            tx.rollback().await?;
            if prev.invoice_id != invoice.0 || prev.amount_minor != amount || prev.method != method.as_str() {
                return Err(ServiceError::conflict(
                    "request_key_reused",
                    "This form was already used for a different payment. Reload the page to take another.",
                ));
            }
            return payment_view(&prev);
        }
        let row =
            invoices::get_for_update(&mut tx, invoice).await?.ok_or(ServiceError::NotFound { what: "Invoice" })?;
        if let Some(c) = req.currency.as_deref().map(str::trim).filter(|c| !c.is_empty())
            && !c.eq_ignore_ascii_case(&row.currency)
        {
            return Err(ServiceError::invalid(
                "currency",
                "currency_mismatch",
                format!("This invoice is in {}; a payment in {c} cannot be recorded against it.", row.currency),
            ));
        }
        let claim = match req.claim_id {
            Some(c) => {
                let claim = praxis_store::billing::claims::get_for_update(&mut tx, c)
                    .await?
                    .filter(|cl| cl.invoice_id == invoice.0)
                    .ok_or_else(|| {
                        ServiceError::invalid("claim_id", "unknown", "That claim is not on this invoice.")
                    })?;
                if method != PaymentMethod::Insurer {
                    return Err(ServiceError::invalid("method", "invalid", "A claim is paid by the insurer."));
                }
                Some(claim.id)
            }
            None => None,
        };
        let id = self
            .insert_payment(&mut tx, actor, &row, method, amount, received_at, &reference, &note, claim, None, key, now)
            .await?;
        tx.commit().await.map_err(|e| {
            if e.is_unique("request_key") {
                ServiceError::conflict("request_key_reused", "This payment was already recorded.")
            } else {
                ServiceError::from(e)
            }
        })?;
        let p = payments::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Payment" })?;
        payment_view(&p)
    }

    /// The payment itself, inside `tx` (shared with online payments): checks it against
    /// the invoice's balance, numbers the receipt, updates the invoice's money and status,
    /// queues the receipt and the audit row.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_payment(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        row: &InvoiceRow,
        method: PaymentMethod,
        amount: i64,
        received_at: Timestamp,
        reference: &str,
        note: &str,
        claim: Option<Uuid>,
        online: Option<Uuid>,
        key: Option<String>,
        now: Timestamp,
    ) -> ServiceResult<PaymentId> {
        let status = InvoiceStatus::parse(&row.status).unwrap_or(InvoiceStatus::Void);
        let balance = (row.total_minor - row.paid_minor).max(0);
        check_payment(status, balance, amount, |n| money(n, &row.currency)).map_err(|e| billing_error("amount", e))?;
        let receipt = next_number(tx, "receipt", "RCT", row.clinic_id, now, &row.time_zone).await?;
        let id = PaymentId::new();
        payments::insert(
            tx,
            &NewPayment {
                id,
                invoice_id: InvoiceId(row.id),
                clinic_id: row.clinic_id,
                patient_id: row.patient_id,
                receipt_number: receipt.clone(),
                method: method.as_str(),
                amount_minor: amount,
                currency: row.currency.clone(),
                received_at,
                reference: reference.to_string(),
                note: note.to_string(),
                claim_id: claim,
                online_payment_id: online,
                request_key: key,
                created_at: now,
                created_by: actor.user_id,
            },
        )
        .await
        .map_err(|e| {
            if e.is_unique("payments_upi_reference") || e.is_unique("payments.clinic_id, payments.reference") {
                ServiceError::invalid(
                    "reference",
                    "duplicate_reference",
                    "A UPI payment with this transaction reference is already recorded.",
                )
            } else if e.is_unique("request_key") {
                ServiceError::conflict("request_key_reused", "This payment was already recorded.")
            } else {
                ServiceError::from(e)
            }
        })?;
        self.settle_invoice(tx, row, row.paid_minor + amount, now).await?;
        self.queue_invoice_email(tx, row, super::notices::InvoiceNotice::Receipt(id.0), now).await?;
        tx.audit(self.audit_entry(
            actor,
            "payment.record",
            "invoice",
            Some(row.id.to_string()),
            format!(
                "{receipt}: {} by {} on {}{}",
                money(amount, &row.currency),
                method.label(),
                row.number.as_deref().unwrap_or("-"),
                if reference.is_empty() { String::new() } else { format!(" (ref {reference})") }
            ),
        ));
        Ok(id)
    }

    /// Writes what has been paid on an issued invoice and the status that follows.
    pub(crate) async fn settle_invoice(
        &self,
        tx: &mut Tx,
        row: &InvoiceRow,
        paid: i64,
        now: Timestamp,
    ) -> ServiceResult<()> {
        let zone = crate::scheduling::zone_named(&row.time_zone);
        let today = now.to_zoned(zone).date();
        let due = row.due_date.map(|d| d.0).unwrap_or(today);
        let status =
            if row.status == "void" { InvoiceStatus::Void } else { settle(row.total_minor, paid, due, today).status };
        invoices::set_paid(tx, InvoiceId(row.id), paid, status.as_str(), now).await?;
        if status == InvoiceStatus::Paid && row.status != "paid" {
            let data = invoice_event(row, row.number.as_deref(), status.as_str(), paid);
            self.emit_webhook(tx, praxis_domain::integrations::WebhookEvent::InvoicePaid, data, now).await?;
        }
        Ok(())
    }

    /// Refunds part or all of a payment, with a reason (billing staff and administrators).
    /// Never more than is left of that payment. A card payment made online goes back
    /// through Stripe (a durable job; the refund is pending until Stripe confirms).
    #[tracing::instrument(skip_all)]
    pub async fn refund_payment(&self, actor: &Actor, payment: PaymentId, req: RefundRequest) -> ServiceResult<Refund> {
        let result = self.refund_checked(actor, payment, req).await;
        let Err(e) = result else { return result };
        let Some(why) = e.refusal_reason() else { return Err(e) };
        Err(self
            .denied(
                actor,
                "payment.refund_refused",
                "payment",
                Some(payment.to_string()),
                &format!("refused: {why}"),
                e,
            )
            .await)
    }

    async fn refund_checked(&self, actor: &Actor, payment: PaymentId, req: RefundRequest) -> ServiceResult<Refund> {
        self.authorize_all(actor, Permission::ManageBilling)?;
        let key = check_key(&req.request_key)?;
        let reason = req.reason.trim().to_string();
        if reason.is_empty() {
            return Err(ServiceError::invalid("reason", "required", "Say why the money is refunded."));
        }
        if reason.chars().count() > 500 {
            return Err(ServiceError::invalid("reason", "too_long", "Use at most 500 characters."));
        }
        let now = self.now();
        let mut tx = self.db().begin().await?;
        if let Some(k) = &key
            && let Some(prev) = payments::refund_by_request_key(&mut tx, k).await?
        {
            tx.rollback().await?;
            if prev.payment_id != payment.0 {
                return Err(ServiceError::conflict(
                    "request_key_reused",
                    "This form was already used for another refund.",
                ));
            }
            return Ok(refund_view(&prev));
        }
        let p = payments::get_for_update(&mut tx, payment).await?.ok_or(ServiceError::NotFound { what: "Payment" })?;
        let inv = invoices::get_for_update(&mut tx, InvoiceId(p.invoice_id))
            .await?
            .ok_or(ServiceError::NotFound { what: "Invoice" })?;
        let amount = req.amount_minor.unwrap_or(p.amount_minor - p.refunded_minor);
        let id = self.insert_refund(&mut tx, actor, &p, &inv, amount, &reason, key, None, true, now).await?;
        tx.commit().await?;
        let mut tx = self.db().begin().await?;
        let r = payments::refund(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "Refund" })?;
        tx.rollback().await?;
        Ok(refund_view(&r))
    }

    /// The refund itself, inside `tx`: checked against what is left of the payment,
    /// numbered, the payment's and invoice's money updated; an online payment's refund is
    /// queued for Stripe unless it came from Stripe (`stripe_id`). `counted` is false for
    /// money that was never counted as paid on the invoice (an online payment that arrived
    /// when nothing was owing): then the invoice's figures stay as they are.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_refund(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        p: &PaymentRow,
        inv: &InvoiceRow,
        amount: i64,
        reason: &str,
        key: Option<String>,
        stripe_id: Option<String>,
        counted: bool,
        now: Timestamp,
    ) -> ServiceResult<RefundId> {
        check_refund(p.amount_minor, p.refunded_minor, amount, |n| money(n, &p.currency))
            .map_err(|e| billing_error("amount", e))?;
        let online = p.method == PaymentMethod::Online.as_str();
        let status = if online && stripe_id.is_none() { "pending" } else { "succeeded" };
        // Refund numbers are unique across the practice (the table's unique key is the
        // number alone), so their counter is the practice's, not the clinic's.
        let number = next_number(tx, "refund", "RFD", Uuid::nil(), now, &inv.time_zone).await?;
        let id = RefundId::new();
        payments::insert_refund(
            tx,
            &NewRefund {
                id,
                payment_id: PaymentId(p.id),
                invoice_id: InvoiceId(inv.id),
                number: number.clone(),
                amount_minor: amount,
                reason: reason.to_string(),
                status,
                stripe_refund_id: stripe_id,
                request_key: key,
                created_at: now,
                created_by: actor.user_id,
            },
        )
        .await?;
        payments::add_refunded(tx, PaymentId(p.id), amount).await?;
        if counted {
            self.settle_invoice(tx, inv, inv.paid_minor - amount, now).await?;
        }
        if status == "pending" {
            self.queue_stripe_refund(tx, id, now).await?;
        }
        tx.audit(self.audit_entry(
            actor,
            "payment.refund",
            "payment",
            Some(p.id.to_string()),
            format!(
                "{number}: {} of {} ({}) refunded{}: {reason}",
                money(amount, &p.currency),
                p.receipt_number,
                inv.number.as_deref().unwrap_or("-"),
                if status == "pending" { " through Stripe" } else { "" }
            ),
        ));
        Ok(id)
    }
}

/// What an invoice event carries: ids, number, status and amounts in minor units.
pub(crate) fn invoice_event(
    row: &InvoiceRow,
    number: Option<&str>,
    status: &str,
    paid_minor: i64,
) -> serde_json::Value {
    serde_json::json!({ "invoice": {
        "id": row.id,
        "number": number,
        "status": status,
        "clinic_id": row.clinic_id,
        "patient_id": row.patient_id,
        "appointment_id": row.appointment_id,
        "total_minor": row.total_minor,
        "paid_minor": paid_minor,
        "currency": row.currency,
    }})
}
