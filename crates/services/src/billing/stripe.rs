//! The [`PaymentGateway`] over Stripe's HTTP API (`praxis-stripe`). The secret key stays
//! inside the client (never printed, logged or put in an error).

use super::online::{
    GatewayError, GatewayRefund, Intent, IntentRequest, PaymentGateway, RefundCall, WebhookEvent, WebhookObject,
};
use futures::future::BoxFuture;
use praxis_stripe::webhook::{EventObject, WebhookError};
use praxis_stripe::{
    CreatePaymentIntent, CreateRefund, PaymentIntent, Refund, StripeClient, StripeConfig, StripeError,
};

/// Stripe's script for the payment element.
pub const STRIPE_JS: &str = "https://js.stripe.com/v3/";

/// Stripe as Praxis's payment gateway.
#[derive(Clone)]
pub struct StripeGateway {
    client: StripeClient,
    script_url: String,
}

impl std::fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeGateway").field("script_url", &self.script_url).finish_non_exhaustive()
    }
}

impl StripeGateway {
    /// A gateway for `cfg`; `script_url` is where pages load Stripe.js from (its default
    /// is [`STRIPE_JS`]).
    pub fn new(cfg: StripeConfig, script_url: Option<String>) -> Result<StripeGateway, String> {
        let client = StripeClient::new(cfg).map_err(|e| e.to_string())?;
        Ok(StripeGateway { client, script_url: script_url.unwrap_or_else(|| STRIPE_JS.into()) })
    }
}

fn gateway_error(e: StripeError) -> GatewayError {
    match e {
        StripeError::Transient(m) => GatewayError::Transient(m),
        e @ StripeError::Rejected { .. } => GatewayError::Rejected(e.to_string()),
        StripeError::Invalid(m) => GatewayError::Transient(format!("unusable answer from Stripe: {m}")),
    }
}

fn intent(p: PaymentIntent) -> Intent {
    Intent {
        id: p.id,
        amount_minor: p.amount,
        amount_received_minor: p.amount_received,
        currency: p.currency,
        status: p.status,
        client_secret: p.client_secret,
        last_error: p.last_payment_error,
        metadata: p.metadata,
    }
}

fn refund(r: Refund) -> GatewayRefund {
    GatewayRefund { id: r.id, amount_minor: r.amount, status: r.status, metadata: r.metadata }
}

impl PaymentGateway for StripeGateway {
    fn publishable_key(&self) -> String {
        self.client.publishable_key().to_string()
    }

    fn script_url(&self) -> String {
        self.script_url.clone()
    }

    fn create_intent<'a>(&'a self, req: &'a IntentRequest) -> BoxFuture<'a, Result<Intent, GatewayError>> {
        Box::pin(async move {
            let create = CreatePaymentIntent {
                amount: req.amount_minor,
                currency: req.currency.to_lowercase(),
                description: req.description.clone(),
                metadata: req.metadata.clone(),
                receipt_email: req.receipt_email.clone(),
            };
            self.client.create_payment_intent(&create, &req.idempotency_key).await.map(intent).map_err(gateway_error)
        })
    }

    fn cancel_intent<'a>(&'a self, id: &'a str, key: &'a str) -> BoxFuture<'a, Result<Intent, GatewayError>> {
        Box::pin(async move { self.client.cancel_payment_intent(id, key).await.map(intent).map_err(gateway_error) })
    }

    fn refund<'a>(&'a self, req: &'a RefundCall) -> BoxFuture<'a, Result<GatewayRefund, GatewayError>> {
        Box::pin(async move {
            let create = CreateRefund {
                payment_intent: req.intent_id.clone(),
                amount: req.amount_minor,
                reason: req.reason.clone(),
                metadata: req.metadata.clone(),
            };
            self.client.create_refund(&create, &req.idempotency_key).await.map(refund).map_err(gateway_error)
        })
    }

    fn verify_webhook(&self, payload: &[u8], signature: &str, now_unix: i64) -> Result<WebhookEvent, GatewayError> {
        let event = self.client.construct_event(payload, signature, now_unix).map_err(|e| match e {
            WebhookError::Signature(s) => GatewayError::Signature(s.to_string()),
            WebhookError::Payload(m) => GatewayError::Malformed(m),
        })?;
        let object = match event.object {
            EventObject::PaymentIntent(p) => WebhookObject::Intent(intent(p)),
            EventObject::Charge(c) => WebhookObject::Charge {
                intent_id: c.payment_intent,
                currency: c.currency,
                amount_refunded_minor: c.amount_refunded,
                refunds: c.refunds.into_iter().map(refund).collect(),
            },
            _ => WebhookObject::Other,
        };
        Ok(WebhookEvent { id: event.id, kind: event.kind, object })
    }
}
