//! Online card payments through a payment gateway (Stripe PaymentIntents).
//!
//! - The patient's "Pay now" creates a PaymentIntent for the balance (an idempotency key
//!   per invoice, version and amount, so a double click makes one) and hands the page its
//!   client secret; the card goes from the patient's browser to Stripe, never to Praxis.
//! - Stripe's webhook says what happened. Its signature is checked first (a forged or
//!   stale one is refused with 400 and nothing recorded); each event id is processed once
//!   (`payment_webhook_events`), in the same transaction as the payment or refund it
//!   records. An event for a PaymentIntent Praxis did not create changes nothing.
//! - Refunds of online payments are jobs on the durable queue: recorded as pending in the
//!   refunding transaction, sent to Stripe by a worker (retried with back-off), settled
//!   when Stripe answers (or by its `charge.refunded` event). A refund Stripe refuses is
//!   marked failed, the money is counted as paid again and administrators are alerted.
//! - An online payment that arrives when less is owing (a payment at the desk won the
//!   race) is recorded and the excess refunded at once: overpayment is never kept.

use super::{Invoice, money};
use crate::Services;
use crate::actor::{Actor, RequestContext};
use crate::error::{ServiceError, ServiceResult};
use crate::notifications::queue::{Claimed, Outcome, backoff};
use futures::future::BoxFuture;
use jiff::Timestamp;
use praxis_domain::billing::{InvoiceStatus, PaymentMethod};
use praxis_domain::{InvoiceId, OnlinePaymentId, PaymentId, Permission, RefundId};
use praxis_store::Tx;
use praxis_store::billing::invoices;
use praxis_store::billing::online::{self, NewOnlinePayment};
use praxis_store::billing::payments;
use praxis_store::jobs::{self, NewJob};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The job that sends a refund to the gateway.
pub const REFUND_JOB: &str = "payment_refund";
/// The job that cancels a PaymentIntent no longer wanted (its invoice was voided).
pub const CANCEL_JOB: &str = "payment_cancel";

/// Why a gateway call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// May pass (network, 429, 5xx): try again later.
    #[error("{0}")]
    Transient(String),
    /// Will not pass (4xx): the gateway refused.
    #[error("{0}")]
    Rejected(String),
    /// A webhook whose signature is missing, wrong or too old.
    #[error("{0}")]
    Signature(String),
    /// A webhook body that cannot be read.
    #[error("{0}")]
    Malformed(String),
}

/// A PaymentIntent to create.
#[derive(Clone, Debug)]
pub struct IntentRequest {
    /// Minor units.
    pub amount_minor: i64,
    /// ISO code.
    pub currency: String,
    /// Shown in Stripe's dashboard and on the patient's statement.
    pub description: String,
    /// `invoice_id`, `invoice_number`, `online_payment_id`.
    pub metadata: Vec<(String, String)>,
    /// Where Stripe sends its own receipt, if anywhere.
    pub receipt_email: Option<String>,
    /// Makes a retry return the same intent.
    pub idempotency_key: String,
}

/// A PaymentIntent as the gateway reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    /// `pi_…`.
    pub id: String,
    /// Asked for.
    pub amount_minor: i64,
    /// Received.
    pub amount_received_minor: i64,
    /// ISO code (any case).
    pub currency: String,
    /// `requires_payment_method`, `processing`, `succeeded`, `canceled`, …
    pub status: String,
    /// What the payment page needs (only on creation and retrieval with the secret key).
    pub client_secret: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Metadata sent at creation.
    pub metadata: BTreeMap<String, String>,
}

/// A refund to make.
#[derive(Clone, Debug)]
pub struct RefundCall {
    /// The PaymentIntent refunded.
    pub intent_id: String,
    /// Minor units.
    pub amount_minor: i64,
    /// `requested_by_customer` and the like.
    pub reason: Option<String>,
    /// `refund_id` and `receipt` metadata.
    pub metadata: Vec<(String, String)>,
    /// Makes a retry refund once.
    pub idempotency_key: String,
}

/// A refund as the gateway reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayRefund {
    /// `re_…`.
    pub id: String,
    /// Minor units.
    pub amount_minor: i64,
    /// `pending`, `succeeded`, `failed`, `canceled`.
    pub status: String,
    /// Metadata (our `refund_id` when we made it).
    pub metadata: BTreeMap<String, String>,
}

/// A verified webhook event.
#[derive(Clone, Debug)]
pub struct WebhookEvent {
    /// `evt_…` (each is processed once).
    pub id: String,
    /// `payment_intent.succeeded`, …
    pub kind: String,
    /// What it is about.
    pub object: WebhookObject,
}

/// What an event carries.
#[derive(Clone, Debug)]
pub enum WebhookObject {
    /// A PaymentIntent.
    Intent(Intent),
    /// A charge with its refunds.
    Charge {
        /// The PaymentIntent charged.
        intent_id: Option<String>,
        /// ISO code.
        currency: String,
        /// Refunded so far in all.
        amount_refunded_minor: i64,
        /// The refunds.
        refunds: Vec<GatewayRefund>,
    },
    /// Anything else (ignored).
    Other,
}

/// The port to an online payment provider (Stripe; a fake in tests).
pub trait PaymentGateway: Send + Sync + std::fmt::Debug {
    /// The key the payment page loads the provider's script with.
    fn publishable_key(&self) -> String;
    /// Where the payment page loads the provider's script from.
    fn script_url(&self) -> String;
    /// Creates a PaymentIntent.
    fn create_intent<'a>(&'a self, req: &'a IntentRequest) -> BoxFuture<'a, Result<Intent, GatewayError>>;
    /// Cancels a PaymentIntent.
    fn cancel_intent<'a>(&'a self, id: &'a str, key: &'a str) -> BoxFuture<'a, Result<Intent, GatewayError>>;
    /// Refunds part of a PaymentIntent.
    fn refund<'a>(&'a self, req: &'a RefundCall) -> BoxFuture<'a, Result<GatewayRefund, GatewayError>>;
    /// Verifies a webhook's signature (against the endpoint secret, at `now`) and reads it.
    fn verify_webhook(&self, payload: &[u8], signature: &str, now_unix: i64) -> Result<WebhookEvent, GatewayError>;
}

/// What the payment page needs.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OnlineCheckout {
    /// The invoice.
    pub invoice_id: InvoiceId,
    /// Its number.
    pub invoice_number: Option<String>,
    /// Amount to pay, minor units.
    pub amount_minor: i64,
    /// Currency.
    pub currency: String,
    /// The provider's publishable key.
    pub publishable_key: String,
    /// The provider's script.
    pub script_url: String,
    /// The PaymentIntent's client secret (for the payment element; not a card number).
    pub client_secret: String,
    /// The PaymentIntent.
    pub intent_id: String,
}

/// What a webhook delivery came to (for the answer and the log).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WebhookOutcome {
    /// The event.
    pub event_id: String,
    /// False when the event had been processed before (a repeat changes nothing).
    pub first_delivery: bool,
    /// `payment_recorded`, `refund_recorded`, `payment_failed`, `unknown_payment_intent`,
    /// `currency_mismatch`, `ignored`, …
    pub outcome: String,
}

#[derive(Serialize, Deserialize)]
struct RefundJob {
    refund_id: uuid::Uuid,
}

#[derive(Serialize, Deserialize)]
struct CancelJob {
    intent_id: String,
}

impl Services {
    fn gateway(&self) -> ServiceResult<std::sync::Arc<dyn PaymentGateway>> {
        self.settings().payment_gateway.clone().ok_or_else(|| {
            ServiceError::conflict(
                "online_payments_off",
                "Online payment is not set up at this clinic. Please pay at the clinic or by bank transfer.",
            )
        })
    }

    /// True when online card payment can be offered for invoices of this clinic.
    pub async fn online_payments_available(&self, clinic: praxis_domain::ClinicId) -> ServiceResult<bool> {
        Ok(self.settings().payment_gateway.is_some() && self.clinic_billing(clinic).await?.online_payments)
    }

    /// Starts (or resumes) paying an invoice's balance online: the patient it is for, or
    /// billing staff on their behalf.
    #[tracing::instrument(skip_all)]
    pub async fn start_online_payment(&self, actor: &Actor, id: InvoiceId) -> ServiceResult<OnlineCheckout> {
        let row = invoices::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Invoice" })?;
        self.require_invoice_read(actor, &row).await?;
        if !actor.roles.has(praxis_domain::Role::Patient) && !actor.can(Permission::ManageBilling) {
            return Err(ServiceError::Forbidden);
        }
        let status = InvoiceStatus::parse(&row.status).unwrap_or(InvoiceStatus::Void);
        if !status.accepts_payment() {
            return Err(ServiceError::conflict(
                "not_payable",
                match status {
                    InvoiceStatus::Paid => "This invoice is already paid. Thank you!",
                    InvoiceStatus::Void => "This invoice is void; there is nothing to pay.",
                    _ => "This invoice is not issued yet.",
                },
            ));
        }
        if !self.online_payments_available(praxis_domain::ClinicId(row.clinic_id)).await? {
            return Err(self.gateway().err().unwrap_or_else(|| {
                ServiceError::conflict("online_payments_off", "This clinic does not take payments online.")
            }));
        }
        let gateway = self.gateway()?;
        let balance = row.total_minor - row.paid_minor;
        let sealing = |online: OnlinePaymentId| crate::crypto::aad("online_payments", "client_secret", online);
        if let Some(open) = online::open_for_invoice(self.db(), id).await?
            && open.amount_minor == balance
            && let Some(sealed) = &open.client_secret_enc
        {
            let secret = self
                .keys()
                .open_str(&sealing(OnlinePaymentId(open.id)), sealed)
                .map_err(|e| self.damaged("The online payment", "online_payment", open.id, e))?;
            return Ok(OnlineCheckout {
                invoice_id: id,
                invoice_number: row.number,
                amount_minor: balance,
                currency: row.currency,
                publishable_key: gateway.publishable_key(),
                script_url: gateway.script_url(),
                client_secret: secret,
                intent_id: open.intent_id,
            });
        }
        let online_id = OnlinePaymentId::new();
        let number = row.number.clone().unwrap_or_default();
        let req = IntentRequest {
            amount_minor: balance,
            currency: row.currency.to_lowercase(),
            description: format!("Invoice {number} — {}", row.clinic_name),
            metadata: vec![
                ("invoice_id".into(), row.id.to_string()),
                ("invoice_number".into(), number.clone()),
                ("online_payment_id".into(), online_id.to_string()),
            ],
            receipt_email: None,
            idempotency_key: format!("praxis-pi:{}:{}:{balance}", row.id, row.version),
        };
        let intent = gateway.create_intent(&req).await.map_err(|e| match e {
            GatewayError::Transient(m) => {
                tracing::warn!(error = %m, "the payment provider did not answer");
                ServiceError::Unavailable("The payment provider is not answering; please try again in a minute.".into())
            }
            other => {
                tracing::error!(error = %other, "the payment provider refused to create a payment");
                ServiceError::conflict(
                    "gateway_refused",
                    "The payment provider refused this payment. Please pay at the clinic.",
                )
            }
        })?;
        let Some(secret) = intent.client_secret.clone() else {
            return Err(ServiceError::Internal("the payment provider sent no client secret".into()));
        };
        let now = self.now();
        let mut tx = self.db().begin().await?;
        // The same idempotency key returns the same intent: it may be recorded already.
        let recorded = match online::by_intent(&mut tx, &intent.id).await? {
            Some(r) => OnlinePaymentId(r.id),
            None => {
                let sealed = self
                    .keys()
                    .seal_str(&sealing(online_id), &secret)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
                online::insert(
                    &mut tx,
                    &NewOnlinePayment {
                        id: online_id,
                        invoice_id: id,
                        intent_id: intent.id.clone(),
                        amount_minor: intent.amount_minor,
                        currency: row.currency.clone(),
                        status: intent.status.clone(),
                        client_secret_enc: Some(sealed),
                        created_at: now,
                        created_by: actor.user_id,
                    },
                )
                .await?;
                tx.audit(self.audit_entry(
                    actor,
                    "payment.online_started",
                    "invoice",
                    Some(row.id.to_string()),
                    format!("{number}: online payment of {} started ({})", money(balance, &row.currency), intent.id),
                ));
                online_id
            }
        };
        tx.commit().await?;
        let _ = recorded;
        Ok(OnlineCheckout {
            invoice_id: id,
            invoice_number: row.number,
            amount_minor: intent.amount_minor,
            currency: row.currency,
            publishable_key: gateway.publishable_key(),
            script_url: gateway.script_url(),
            client_secret: secret,
            intent_id: intent.id,
        })
    }

    /// Queues the gateway call for a pending refund (in the refunding transaction).
    pub(crate) async fn queue_stripe_refund(&self, tx: &mut Tx, refund: RefundId, now: Timestamp) -> ServiceResult<()> {
        let payload = serde_json::to_string(&RefundJob { refund_id: refund.0 })
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        jobs::enqueue(
            tx,
            &NewJob {
                id: uuid::Uuid::now_v7(),
                kind: REFUND_JOB.into(),
                payload,
                run_at: now,
                max_attempts: 12,
                idempotency_key: format!("refund:{refund}"),
            },
            now,
        )
        .await?;
        Ok(())
    }

    /// Marks an invoice's open online payments cancelled and queues their cancellation at
    /// the gateway; returns how many.
    pub(crate) async fn cancel_open_online_payments(
        &self,
        tx: &mut Tx,
        invoice: InvoiceId,
        now: Timestamp,
    ) -> ServiceResult<usize> {
        let open = online::open_for_invoice_tx(tx, invoice).await?;
        for o in &open {
            online::set_status(tx, OnlinePaymentId(o.id), "canceled", Some("the invoice was voided"), now).await?;
            let payload = serde_json::to_string(&CancelJob { intent_id: o.intent_id.clone() })
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            jobs::enqueue(
                tx,
                &NewJob {
                    id: uuid::Uuid::now_v7(),
                    kind: CANCEL_JOB.into(),
                    payload,
                    run_at: now,
                    max_attempts: 8,
                    idempotency_key: format!("cancel:{}", o.intent_id),
                },
                now,
            )
            .await?;
        }
        Ok(open.len())
    }

    /// Handles one webhook delivery from Stripe: verify, then process each event once.
    #[tracing::instrument(skip_all)]
    pub async fn handle_payment_webhook(
        &self,
        ctx: &RequestContext,
        payload: &[u8],
        signature: Option<&str>,
    ) -> ServiceResult<WebhookOutcome> {
        let gateway = self.gateway().map_err(|_| ServiceError::NotFound { what: "Webhook endpoint" })?;
        let now = self.now();
        let event = match signature {
            None => Err(GatewayError::Signature("The Stripe-Signature header is missing.".into())),
            Some(sig) => gateway.verify_webhook(payload, sig, now.as_second()),
        };
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                let why = e.to_string();
                self.record_security_event(ctx, "payment.webhook_rejected", &why).await;
                metrics::counter!("praxis_payment_webhooks_total", "outcome" => "rejected").increment(1);
                return Err(ServiceError::invalid("signature", "invalid", format!("Webhook refused: {why}")));
            }
        };
        let actor = Actor { ctx: ctx.clone(), ..Actor::system("stripe") };
        let mut tx = self.db().begin().await?;
        if !online::claim_event(&mut tx, "stripe", &event.id, &event.kind, "processing", now).await? {
            tx.rollback().await?;
            metrics::counter!("praxis_payment_webhooks_total", "outcome" => "repeat").increment(1);
            return Ok(WebhookOutcome {
                event_id: event.id,
                first_delivery: false,
                outcome: "already_processed".into(),
            });
        }
        let outcome = match (&event.kind[..], &event.object) {
            ("payment_intent.succeeded", WebhookObject::Intent(i)) => {
                self.intent_succeeded(&mut tx, &actor, i, now).await?
            }
            ("payment_intent.payment_failed", WebhookObject::Intent(i)) => {
                self.intent_failed(&mut tx, &actor, i, now).await?
            }
            ("payment_intent.canceled", WebhookObject::Intent(i)) => match online::by_intent(&mut tx, &i.id).await? {
                Some(o) => {
                    online::set_status(&mut tx, OnlinePaymentId(o.id), "canceled", None, now).await?;
                    "intent_canceled".to_string()
                }
                None => "unknown_payment_intent".to_string(),
            },
            ("charge.refunded", WebhookObject::Charge { intent_id, currency, refunds, .. }) => {
                self.charge_refunded(&mut tx, &actor, intent_id.as_deref(), currency, refunds, now).await?
            }
            _ => "ignored".to_string(),
        };
        online::set_event_outcome(&mut tx, "stripe", &event.id, &outcome).await?;
        if outcome != "ignored" {
            tx.audit(self.audit_entry(
                &actor,
                "payment.webhook",
                "payment_event",
                Some(event.id.clone()),
                format!("{}: {outcome}", event.kind),
            ));
        }
        tx.commit().await?;
        metrics::counter!("praxis_payment_webhooks_total", "outcome" => outcome.clone()).increment(1);
        Ok(WebhookOutcome { event_id: event.id, first_delivery: true, outcome })
    }

    async fn intent_succeeded(&self, tx: &mut Tx, actor: &Actor, i: &Intent, now: Timestamp) -> ServiceResult<String> {
        let Some(o) = online::by_intent(tx, &i.id).await? else {
            tracing::warn!(intent = %i.id, "a succeeded PaymentIntent Praxis did not create; nothing recorded");
            return Ok("unknown_payment_intent".into());
        };
        online::set_status(tx, OnlinePaymentId(o.id), "succeeded", None, now).await?;
        if payments::by_online_payment(tx, o.id).await?.is_some() {
            return Ok("already_recorded".into());
        }
        let inv = invoices::get_for_update(tx, InvoiceId(o.invoice_id))
            .await?
            .ok_or(ServiceError::NotFound { what: "Invoice" })?;
        if !i.currency.eq_ignore_ascii_case(&inv.currency) {
            tracing::error!(intent = %i.id, "a PaymentIntent paid in another currency than its invoice");
            self.alert_billing(
                tx,
                &format!(
                    "Online payment {} arrived in {} for invoice {} in {}; it was not recorded. Check it in Stripe.",
                    i.id,
                    i.currency.to_uppercase(),
                    inv.number.as_deref().unwrap_or("-"),
                    inv.currency
                ),
                now,
            )
            .await?;
            return Ok("currency_mismatch".into());
        }
        let amount = i.amount_received_minor;
        if amount <= 0 {
            return Ok("nothing_received".into());
        }
        // Money that arrived is always recorded; what is more than owing goes straight back.
        let status = InvoiceStatus::parse(&inv.status).unwrap_or(InvoiceStatus::Void);
        let owing = if status.accepts_payment() { (inv.total_minor - inv.paid_minor).max(0) } else { 0 };
        let kept = amount.min(owing);
        let excess = amount - kept;
        let payment_id = if kept > 0 {
            self.insert_payment(
                tx,
                actor,
                &inv,
                PaymentMethod::Online,
                kept,
                now,
                &i.id,
                "",
                None,
                Some(o.id),
                None,
                now,
            )
            .await?
        } else {
            self.insert_unowed_online_payment(tx, actor, &inv, amount, o.id, &i.id, now).await?
        };
        if excess > 0 && kept > 0 {
            // Record the excess as received and refunded: the receipt shows both; the
            // invoice counts only what was owing.
            payments::add_amount(tx, payment_id, excess).await?;
            let p =
                payments::get_for_update(tx, payment_id).await?.ok_or(ServiceError::NotFound { what: "Payment" })?;
            let inv_now = invoices::get_for_update(tx, InvoiceId(inv.id))
                .await?
                .ok_or(ServiceError::NotFound { what: "Invoice" })?;
            let why = "More than was owing (paid at the desk meanwhile); the excess is returned";
            self.insert_refund(tx, actor, &p, &inv_now, excess, why, None, None, false, now).await?;
            return Ok("payment_recorded_excess_refunded".into());
        }
        Ok(if kept > 0 { "payment_recorded" } else { "payment_refunded_nothing_owing" }.into())
    }

    /// A payment that arrived for an invoice owing nothing (paid or voided meanwhile): it
    /// is recorded and refunded in full.
    #[allow(clippy::too_many_arguments)]
    async fn insert_unowed_online_payment(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        inv: &praxis_store::billing::invoices::InvoiceRow,
        amount: i64,
        online: uuid::Uuid,
        intent: &str,
        now: Timestamp,
    ) -> ServiceResult<PaymentId> {
        let receipt = super::payments::next_number(tx, "receipt", "RCT", inv.clinic_id, now, &inv.time_zone).await?;
        let id = PaymentId::new();
        payments::insert(
            tx,
            &payments::NewPayment {
                id,
                invoice_id: InvoiceId(inv.id),
                clinic_id: inv.clinic_id,
                patient_id: inv.patient_id,
                receipt_number: receipt,
                method: PaymentMethod::Online.as_str(),
                amount_minor: amount,
                currency: inv.currency.clone(),
                received_at: now,
                reference: intent.to_string(),
                note: "Arrived when nothing was owing; refunded in full".into(),
                claim_id: None,
                online_payment_id: Some(online),
                request_key: None,
                created_at: now,
                created_by: None,
            },
        )
        .await?;
        // Never counted as paid on the invoice, and refunded in full through Stripe.
        let p = payments::get_for_update(tx, id).await?.ok_or(ServiceError::NotFound { what: "Payment" })?;
        self.insert_refund(
            tx,
            actor,
            &p,
            inv,
            amount,
            "Nothing was owing when this payment arrived",
            None,
            None,
            false,
            now,
        )
        .await?;
        Ok(id)
    }

    async fn intent_failed(&self, tx: &mut Tx, actor: &Actor, i: &Intent, now: Timestamp) -> ServiceResult<String> {
        let Some(o) = online::by_intent(tx, &i.id).await? else { return Ok("unknown_payment_intent".into()) };
        let why = i.last_error.clone().unwrap_or_else(|| "the payment was declined".into());
        online::set_status(tx, OnlinePaymentId(o.id), "requires_payment_method", Some(&why), now).await?;
        tx.audit(self.audit_entry(
            actor,
            "payment.online_failed",
            "invoice",
            Some(o.invoice_id.to_string()),
            format!("online payment {} failed: {why}", i.id),
        ));
        Ok("payment_failed".into())
    }

    async fn charge_refunded(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        intent: Option<&str>,
        currency: &str,
        refunds: &[GatewayRefund],
        now: Timestamp,
    ) -> ServiceResult<String> {
        let Some(intent) = intent else { return Ok("ignored".into()) };
        let Some(o) = online::by_intent(tx, intent).await? else { return Ok("unknown_payment_intent".into()) };
        let Some(p) = payments::by_online_payment(tx, o.id).await? else { return Ok("no_payment_recorded".into()) };
        if !currency.eq_ignore_ascii_case(&p.currency) {
            return Ok("currency_mismatch".into());
        }
        let mut settled = 0;
        let mut recorded = 0;
        for r in refunds.iter().filter(|r| r.status == "succeeded") {
            if let Some(known) = payments::refund_by_stripe_id(tx, &r.id).await? {
                if payments::finish_refund(tx, RefundId(known.id), "succeeded", Some(&r.id), None, now).await? {
                    settled += 1;
                }
                continue;
            }
            // Ours, but Stripe's answer to the job has not been recorded yet?
            let ours = r.metadata.get("refund_id").and_then(|s| s.parse::<uuid::Uuid>().ok());
            if let Some(ours) = ours
                && payments::refund(tx, RefundId(ours)).await?.is_some_and(|x| x.payment_id == p.id)
            {
                payments::finish_refund(tx, RefundId(ours), "succeeded", Some(&r.id), None, now).await?;
                settled += 1;
                continue;
            }
            // Made in Stripe's dashboard: record it, within what is left of the payment.
            let p_now = payments::get_for_update(tx, PaymentId(p.id))
                .await?
                .ok_or(ServiceError::NotFound { what: "Payment" })?;
            let inv = invoices::get_for_update(tx, InvoiceId(p.invoice_id))
                .await?
                .ok_or(ServiceError::NotFound { what: "Invoice" })?;
            if r.amount_minor > p_now.amount_minor - p_now.refunded_minor {
                self.alert_billing(tx, &format!("Stripe reports refund {} of {} on {}, more than Praxis has left on that payment; check it in Stripe.", r.id, money(r.amount_minor, &p.currency), p.receipt_number), now).await?;
                continue;
            }
            self.insert_refund(
                tx,
                actor,
                &p_now,
                &inv,
                r.amount_minor,
                "Refunded in Stripe",
                None,
                Some(r.id.clone()),
                true,
                now,
            )
            .await?;
            recorded += 1;
        }
        Ok(match (settled, recorded) {
            (0, 0) => "nothing_new".into(),
            (_, 0) => "refund_confirmed".into(),
            _ => "refund_recorded".into(),
        })
    }

    /// Emails administrators about a money problem a person must look at.
    async fn alert_billing(&self, tx: &mut Tx, text: &str, now: Timestamp) -> ServiceResult<()> {
        let admins = praxis_store::messages::admin_emails_tx(tx).await?;
        let data = crate::notifications::MessageData {
            subject: Some("A payment needs attention".into()),
            body: Some(text.to_string()),
            ..Default::default()
        };
        let data = serde_json::to_string(&data).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let stamp = uuid::Uuid::now_v7();
        for admin in admins {
            self.enqueue_message(
                tx,
                crate::notifications::EnqueueMessage {
                    template: crate::notifications::Template::Alert,
                    channel: crate::notifications::Channel::Email,
                    recipient: admin.clone(),
                    patient_id: None,
                    appointment_id: None,
                    data: data.clone(),
                    key: format!("billing-alert:{stamp}:{admin}"),
                    run_at: now,
                },
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// Runs a refund or cancellation job against the gateway and records the outcome.
    pub(crate) async fn process_payment_job(&self, c: &Claimed) -> ServiceResult<Outcome> {
        let Ok(gateway) = self.gateway() else {
            return self
                .finish_payment_job(c, Err(GatewayError::Transient("no payment gateway is configured".into())), None)
                .await;
        };
        if c.job.kind == CANCEL_JOB {
            let Ok(job) = serde_json::from_str::<CancelJob>(&c.job.payload) else {
                return self.finish_payment_job(c, Err(GatewayError::Rejected("unreadable job".into())), None).await;
            };
            let r =
                gateway.cancel_intent(&job.intent_id, &format!("praxis-cancel:{}", job.intent_id)).await.map(|_| ());
            // An intent that already succeeded or was cancelled cannot be cancelled: nothing to do.
            let r = match r {
                Err(GatewayError::Rejected(_)) => Ok(()),
                other => other,
            };
            return self.finish_payment_job(c, r.map(|_| "cancelled".to_string()), None).await;
        }
        let Ok(job) = serde_json::from_str::<RefundJob>(&c.job.payload) else {
            return self.finish_payment_job(c, Err(GatewayError::Rejected("unreadable job".into())), None).await;
        };
        let mut tx = self.db().begin().await?;
        let refund = payments::refund(&mut tx, RefundId(job.refund_id)).await?;
        let payment = match &refund {
            Some(r) => payments::get_for_update(&mut tx, PaymentId(r.payment_id)).await?,
            None => None,
        };
        tx.rollback().await?;
        let (Some(refund), Some(payment)) = (refund, payment) else {
            return self
                .finish_payment_job(c, Err(GatewayError::Rejected("the refund no longer exists".into())), None)
                .await;
        };
        if refund.status != "pending" {
            return self.finish_payment_job(c, Ok("already settled".into()), None).await;
        }
        let call = RefundCall {
            intent_id: payment.reference.clone(),
            amount_minor: refund.amount_minor,
            reason: Some("requested_by_customer".into()),
            metadata: vec![
                ("refund_id".into(), refund.id.to_string()),
                ("refund_number".into(), refund.number.clone()),
            ],
            idempotency_key: format!("praxis-refund:{}", refund.id),
        };
        let result = gateway.refund(&call).await;
        self.finish_payment_job(c, result.map(|r| format!("{}:{}", r.id, r.status)), Some(RefundId(refund.id))).await
    }

    async fn finish_payment_job(
        &self,
        c: &Claimed,
        result: Result<String, GatewayError>,
        refund: Option<RefundId>,
    ) -> ServiceResult<Outcome> {
        let now = self.now();
        let attempts = c.job.attempts;
        let mut tx = self.db().begin().await?;
        let outcome = match result {
            Ok(done) => {
                if let Some(r) = refund
                    && let Some((stripe_id, status)) = done.split_once(':')
                {
                    payments::set_refund_stripe_id(&mut tx, r, stripe_id).await?;
                    if status == "succeeded" {
                        payments::finish_refund(&mut tx, r, "succeeded", Some(stripe_id), None, now).await?;
                    } else if matches!(status, "failed" | "canceled") {
                        self.fail_refund(&mut tx, r, &format!("Stripe answered {status}"), now).await?;
                    }
                }
                if !jobs::complete(&mut tx, c.job.id, &c.claim, now).await? {
                    return Ok(Outcome::LeaseLost);
                }
                Outcome::Done(done)
            }
            Err(GatewayError::Transient(e)) if attempts < c.job.max_attempts => {
                let at = now
                    .saturating_add(backoff(self.settings().retry_base, self.settings().retry_cap, attempts))
                    .unwrap_or(now);
                if !jobs::fail(&mut tx, c.job.id, &c.claim, &e, Some(at), now).await? {
                    return Ok(Outcome::LeaseLost);
                }
                Outcome::Retry(e, at)
            }
            Err(e) => {
                let why = e.to_string();
                if let Some(r) = refund {
                    self.fail_refund(&mut tx, r, &why, now).await?;
                }
                if !jobs::fail(&mut tx, c.job.id, &c.claim, &why, None, now).await? {
                    return Ok(Outcome::LeaseLost);
                }
                Outcome::Dead(why)
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// A refund the gateway refused: marked failed, its money counted as paid again, and
    /// administrators told.
    async fn fail_refund(&self, tx: &mut Tx, id: RefundId, why: &str, now: Timestamp) -> ServiceResult<()> {
        let Some(r) = payments::refund(tx, id).await? else { return Ok(()) };
        if !payments::finish_refund(tx, id, "failed", None, Some(why), now).await? {
            return Ok(());
        }
        payments::add_refunded(tx, PaymentId(r.payment_id), -r.amount_minor).await?;
        let inv = invoices::get_for_update(tx, InvoiceId(r.invoice_id))
            .await?
            .ok_or(ServiceError::NotFound { what: "Invoice" })?;
        self.settle_invoice(tx, &inv, inv.paid_minor + r.amount_minor, now).await?;
        tx.audit(self.audit_entry(
            &Actor::system("worker"),
            "payment.refund_failed",
            "payment",
            Some(r.payment_id.to_string()),
            format!("{} of {} was not refunded by Stripe: {why}", r.number, money(r.amount_minor, &inv.currency)),
        ));
        self.alert_billing(
            tx,
            &format!(
                "Refund {} ({}) on invoice {} was refused by Stripe: {why}. The money is counted as paid again; refund it another way.",
                r.number,
                money(r.amount_minor, &inv.currency),
                inv.number.as_deref().unwrap_or("-")
            ),
            now,
        )
        .await
    }

    /// The online payment attempts of an invoice (staff).
    pub async fn invoice_online_payments(&self, actor: &Actor, id: InvoiceId) -> ServiceResult<Vec<OnlinePaymentView>> {
        let inv: Invoice = self.get_invoice(actor, id).await?;
        Ok(online::for_invoice(self.db(), inv.summary.id)
            .await?
            .into_iter()
            .map(|o| OnlinePaymentView {
                intent_id: o.intent_id,
                amount_minor: o.amount_minor,
                currency: o.currency,
                status: o.status,
                last_error: o.last_error,
                created_at: o.created_at.0,
            })
            .collect())
    }
}

/// An online payment attempt as shown to staff.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OnlinePaymentView {
    /// PaymentIntent.
    pub intent_id: String,
    /// Amount.
    pub amount_minor: i64,
    /// Currency.
    pub currency: String,
    /// Status at the gateway.
    pub status: String,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Started.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}
