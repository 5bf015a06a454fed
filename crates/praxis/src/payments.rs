//! Online payment settings (Stripe): keys from flags or the environment, never printed.

use anyhow::{Result, bail};
use clap::Args;
use praxis_services::Settings;
use praxis_services::billing::stripe::StripeGateway;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

/// How Praxis talks to Stripe. Without a secret key, online payment is off and patients
/// pay at the clinic, by bank transfer or by UPI.
#[derive(Args, Debug, Clone)]
pub struct PaymentArgs {
    /// Stripe's API address (a local fake in tests).
    #[arg(long, global = true, env = "PRAXIS_STRIPE_BASE_URL", default_value = praxis_stripe::DEFAULT_BASE_URL)]
    pub stripe_base_url: String,
    /// Stripe secret key (`sk_live_…` / `sk_test_…`). Never printed or logged.
    #[arg(long, global = true, env = "PRAXIS_STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<SecretString>,
    /// Stripe publishable key (`pk_…`), used by the payment page.
    #[arg(long, global = true, env = "PRAXIS_STRIPE_PUBLISHABLE_KEY")]
    pub stripe_publishable_key: Option<String>,
    /// The webhook endpoint's signing secret (`whsec_…`). Never printed or logged.
    #[arg(long, global = true, env = "PRAXIS_STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    pub stripe_webhook_secret: Option<SecretString>,
    /// Where the payment page loads Stripe.js from.
    #[arg(long, global = true, env = "PRAXIS_STRIPE_JS_URL", default_value = praxis_services::billing::stripe::STRIPE_JS)]
    pub stripe_js_url: String,
}

/// Puts the payment gateway into the services' settings when Stripe is configured.
pub fn apply_settings(p: &PaymentArgs, s: &mut Settings) -> Result<()> {
    let Some(secret) = &p.stripe_secret_key else { return Ok(()) };
    let (Some(public), Some(webhook)) = (&p.stripe_publishable_key, &p.stripe_webhook_secret) else {
        bail!("PRAXIS_STRIPE_SECRET_KEY needs PRAXIS_STRIPE_PUBLISHABLE_KEY and PRAXIS_STRIPE_WEBHOOK_SECRET too");
    };
    let mut cfg = praxis_stripe::StripeConfig::new(secret.expose_secret(), public.clone(), webhook.expose_secret());
    cfg.base_url = p.stripe_base_url.trim_end_matches('/').to_string();
    let gateway = StripeGateway::new(cfg, Some(p.stripe_js_url.clone())).map_err(anyhow::Error::msg)?;
    s.payment_gateway = Some(Arc::new(gateway));
    tracing::info!(base_url = %p.stripe_base_url, "online payments through Stripe are on");
    Ok(())
}
