//! A small Stripe client for Praxis: create, read and cancel PaymentIntents, create
//! refunds, and verify and parse signed webhook events.
//!
//! Requests are form-encoded (`metadata[key]=value`), authenticated with the secret key
//! as a bearer token and carry an `Idempotency-Key` on every write. Answers are sorted
//! into [`StripeError::Transient`] (try again later), [`StripeError::Rejected`] (Stripe
//! said no; retrying the same request will not help) and [`StripeError::Invalid`].
//!
//! Secrets never appear in `Debug` output, error messages or logs.

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

pub mod webhook;

/// Stripe's API, where requests go unless configured otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";

/// The API version every request asks for (`Stripe-Version`), so the shapes parsed here
/// do not change when the account's default version moves.
pub const API_VERSION: &str = "2024-06-20";

/// How to reach Stripe and the keys to use.
#[derive(Clone)]
pub struct StripeConfig {
    /// The API's base URL, without a trailing path (default `https://api.stripe.com`).
    pub base_url: String,
    /// The secret API key (`sk_live_…` / `sk_test_…` or a restricted `rk_…` key).
    pub secret_key: SecretString,
    /// The publishable key (`pk_…`) handed to the browser.
    pub publishable_key: String,
    /// The webhook endpoint's signing secret (`whsec_…`).
    pub webhook_secret: SecretString,
    /// Give up on a request after this long (default 10 s).
    pub timeout: Duration,
}

impl StripeConfig {
    /// A configuration for the real API with the default timeout.
    pub fn new(
        secret_key: impl Into<String>,
        publishable_key: impl Into<String>,
        webhook_secret: impl Into<String>,
    ) -> Self {
        StripeConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            secret_key: SecretString::from(secret_key.into()),
            publishable_key: publishable_key.into(),
            webhook_secret: SecretString::from(webhook_secret.into()),
            timeout: Duration::from_secs(10),
        }
    }
}

impl fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeConfig")
            .field("base_url", &self.base_url)
            .field("secret_key", &"[redacted]")
            .field("publishable_key", &self.publishable_key)
            .field("webhook_secret", &"[redacted]")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What can go wrong talking to Stripe. Messages never contain a key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StripeError {
    /// The network failed, the request timed out, or Stripe answered 409, 429 or 5xx (or
    /// asked for a retry with `Stripe-Should-Retry: true`): try again later with the same
    /// idempotency key.
    #[error("Stripe is unavailable for now: {0}")]
    Transient(String),
    /// Stripe refused the request (4xx); sending it again will not help.
    #[error("Stripe refused the request ({status} {kind}{}): {message}", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Stripe's error `type` (`invalid_request_error`, `card_error`, `idempotency_error`, …).
        kind: String,
        /// Stripe's error `code` (`resource_missing`, `amount_too_large`, …) when it gave one.
        code: Option<String>,
        /// Stripe's human-readable message.
        message: String,
    },
    /// The answer could not be understood, or the request or configuration is unusable.
    #[error("Stripe request or answer unusable: {0}")]
    Invalid(String),
}

impl StripeError {
    /// True when the same request may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(self, StripeError::Transient(_))
    }
}

/// What to charge: the parameters of `POST /v1/payment_intents`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatePaymentIntent {
    /// In the currency's smallest unit (cents), at least 1.
    pub amount: i64,
    /// ISO currency code; sent lower-case.
    pub currency: String,
    /// Shown in the Stripe dashboard and on receipts.
    pub description: String,
    /// Sent as `metadata[key]=value`.
    pub metadata: Vec<(String, String)>,
    /// Where Stripe sends its receipt, if anywhere.
    pub receipt_email: Option<String>,
}

/// What to refund: the parameters of `POST /v1/refunds`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRefund {
    /// The PaymentIntent whose charge is refunded.
    pub payment_intent: String,
    /// In the currency's smallest unit.
    pub amount: i64,
    /// `duplicate`, `fraudulent` or `requested_by_customer`.
    pub reason: Option<String>,
    /// Sent as `metadata[key]=value`.
    pub metadata: Vec<(String, String)>,
}

/// The parts of Stripe's PaymentIntent object Praxis uses.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct PaymentIntent {
    /// `pi_…`.
    pub id: String,
    /// Amount asked for, smallest currency unit.
    pub amount: i64,
    /// Amount collected so far.
    #[serde(default)]
    pub amount_received: i64,
    /// Lower-case ISO code.
    pub currency: String,
    /// `requires_payment_method`, `requires_confirmation`, `requires_action`,
    /// `processing`, `requires_capture`, `canceled` or `succeeded`.
    pub status: String,
    /// For the browser to confirm the payment; treat as a secret of that payment.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The id of the latest charge (`ch_…`), also when Stripe expanded it.
    #[serde(default, deserialize_with = "de::id_or_object")]
    pub latest_charge: Option<String>,
    /// The metadata sent at creation.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub metadata: BTreeMap<String, String>,
    /// The message of `last_payment_error`, when the last attempt failed.
    #[serde(default, deserialize_with = "de::error_message")]
    pub last_payment_error: Option<String>,
}

/// The parts of Stripe's Refund object Praxis uses.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Refund {
    /// `re_…`.
    pub id: String,
    /// Amount refunded, smallest currency unit.
    pub amount: i64,
    /// Lower-case ISO code.
    pub currency: String,
    /// `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    pub status: String,
    /// The PaymentIntent refunded.
    #[serde(default, deserialize_with = "de::id_or_object")]
    pub payment_intent: Option<String>,
    /// The charge refunded.
    #[serde(default, deserialize_with = "de::id_or_object")]
    pub charge: Option<String>,
    /// The metadata sent at creation.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub metadata: BTreeMap<String, String>,
}

/// A handle on the Stripe API. Cheap to clone (the HTTP client is shared).
#[derive(Clone)]
pub struct StripeClient {
    cfg: StripeConfig,
    http: reqwest::Client,
}

impl fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeClient").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

impl StripeClient {
    /// A client for `cfg`. Installs rustls's ring crypto provider as the process default
    /// if no provider is installed yet (the workspace builds reqwest without one).
    pub fn new(cfg: StripeConfig) -> Result<StripeClient, StripeError> {
        if cfg.base_url.trim().is_empty() {
            return Err(StripeError::Invalid("the Stripe base URL is empty".into()));
        }
        if cfg.secret_key.expose_secret().trim().is_empty() {
            return Err(StripeError::Invalid("the Stripe secret key is empty".into()));
        }
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race with another installer is fine: some provider is then installed.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("praxis-stripe/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| StripeError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(StripeClient { cfg, http })
    }

    /// The publishable key, for the payment page.
    pub fn publishable_key(&self) -> &str {
        &self.cfg.publishable_key
    }

    /// Verifies a webhook delivery against the configured webhook secret (tolerance
    /// [`webhook::DEFAULT_TOLERANCE_SECS`]) and parses it.
    pub fn construct_event(
        &self,
        payload: &[u8],
        signature_header: &str,
        now_unix: i64,
    ) -> Result<webhook::Event, webhook::WebhookError> {
        webhook::verify(
            payload,
            signature_header,
            self.cfg.webhook_secret.expose_secret(),
            now_unix,
            webhook::DEFAULT_TOLERANCE_SECS,
        )?;
        webhook::parse_event(payload)
    }

    /// `POST /v1/payment_intents` with automatic payment methods enabled.
    pub async fn create_payment_intent(
        &self,
        req: &CreatePaymentIntent,
        idempotency_key: &str,
    ) -> Result<PaymentIntent, StripeError> {
        let mut form = vec![
            ("amount".to_string(), req.amount.to_string()),
            ("currency".to_string(), req.currency.to_ascii_lowercase()),
            ("description".to_string(), req.description.clone()),
            ("automatic_payment_methods[enabled]".to_string(), "true".to_string()),
        ];
        if let Some(email) = &req.receipt_email {
            form.push(("receipt_email".to_string(), email.clone()));
        }
        push_metadata(&mut form, &req.metadata);
        self.send(reqwest::Method::POST, "/v1/payment_intents".to_string(), Some(form), Some(idempotency_key)).await
    }

    /// `GET /v1/payment_intents/{id}`.
    pub async fn retrieve_payment_intent(&self, id: &str) -> Result<PaymentIntent, StripeError> {
        check_id(id)?;
        self.send(reqwest::Method::GET, format!("/v1/payment_intents/{id}"), None, None).await
    }

    /// `POST /v1/payment_intents/{id}/cancel`.
    pub async fn cancel_payment_intent(&self, id: &str, idempotency_key: &str) -> Result<PaymentIntent, StripeError> {
        check_id(id)?;
        self.send(
            reqwest::Method::POST,
            format!("/v1/payment_intents/{id}/cancel"),
            Some(Vec::new()),
            Some(idempotency_key),
        )
        .await
    }

    /// `POST /v1/refunds` against the PaymentIntent's charge.
    pub async fn create_refund(&self, req: &CreateRefund, idempotency_key: &str) -> Result<Refund, StripeError> {
        check_id(&req.payment_intent)?;
        let mut form = vec![
            ("payment_intent".to_string(), req.payment_intent.clone()),
            ("amount".to_string(), req.amount.to_string()),
        ];
        if let Some(reason) = &req.reason {
            form.push(("reason".to_string(), reason.clone()));
        }
        push_metadata(&mut form, &req.metadata);
        self.send(reqwest::Method::POST, "/v1/refunds".to_string(), Some(form), Some(idempotency_key)).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: String,
        form: Option<Vec<(String, String)>>,
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeError> {
        let url = format!("{}{}", self.cfg.base_url.trim_end_matches('/'), path);
        let mut rb = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(self.cfg.secret_key.expose_secret())
            .header("Stripe-Version", API_VERSION)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(key) = idempotency_key {
            if key.trim().is_empty() {
                return Err(StripeError::Invalid(format!("{method} {path}: empty idempotency key")));
            }
            rb = rb.header("Idempotency-Key", key);
        }
        if let Some(form) = &form {
            rb = rb.form(form);
        }
        let res = match rb.send().await {
            Ok(res) => res,
            Err(e) => {
                tracing::debug!(%method, %path, "Stripe request failed before an answer");
                return Err(if e.is_builder() {
                    StripeError::Invalid(format!("{method} {path}: cannot build the request: {}", e.without_url()))
                } else {
                    StripeError::Transient(format!("{method} {path}: {}", describe(&e)))
                });
            }
        };
        let status = res.status();
        tracing::debug!(%method, %path, status = status.as_u16(), "Stripe answered");
        let should_retry = res
            .headers()
            .get("stripe-should-retry")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.eq_ignore_ascii_case("true"));
        let body = match res.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Err(StripeError::Transient(format!("{method} {path}: reading the answer: {}", describe(&e))));
            }
        };
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| StripeError::Invalid(format!("{method} {path}: unexpected answer ({status}): {e}")));
        }
        let err = serde_json::from_slice::<ErrorEnvelope>(&body).ok().map(|e| e.error);
        let (kind, code, message) = match err {
            Some(e) => (
                e.kind.unwrap_or_else(|| "api_error".into()),
                e.code,
                e.message.unwrap_or_else(|| status.canonical_reason().unwrap_or("no message").to_string()),
            ),
            None => ("api_error".to_string(), None, format!("HTTP {status} without a Stripe error body")),
        };
        let code_u16 = status.as_u16();
        let transient = match should_retry {
            Some(flag) => flag,
            None => code_u16 == 409 || code_u16 == 429 || status.is_server_error(),
        };
        if transient {
            Err(StripeError::Transient(format!("{method} {path}: {code_u16} {kind}: {message}")))
        } else if status.is_client_error() {
            Err(StripeError::Rejected { status: code_u16, kind, code, message })
        } else {
            Err(StripeError::Invalid(format!("{method} {path}: unexpected status {code_u16}: {message}")))
        }
    }
}

/// A reqwest error without the URL (which has no secret, but is noise) and with its kind.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "network error"
    };
    let mut out = kind.to_string();
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

fn push_metadata(form: &mut Vec<(String, String)>, metadata: &[(String, String)]) {
    for (k, v) in metadata {
        form.push((format!("metadata[{k}]"), v.clone()));
    }
}

/// Object ids go into URL paths: only Stripe's id alphabet is let through.
fn check_id(id: &str) -> Result<(), StripeError> {
    if !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(StripeError::Invalid(format!("not a Stripe object id: {id:?}")))
    }
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    message: Option<String>,
}

/// Lenient field readers for Stripe's shapes.
pub(crate) mod de {
    use super::*;

    /// `null` reads as the default value.
    pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Default + Deserialize<'de>,
    {
        Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
    }

    /// An id, whether Stripe sent the id itself or the expanded object.
    pub fn id_or_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum IdOrObject {
            Id(String),
            Object { id: String },
        }
        Ok(Option::<IdOrObject>::deserialize(d)?.map(|v| match v {
            IdOrObject::Id(s) | IdOrObject::Object { id: s } => s,
        }))
    }

    /// An error object's message (or the message itself, as this crate serializes it).
    pub fn error_message<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum MessageOrObject {
            Message(String),
            Object { message: Option<String>, code: Option<String>, decline_code: Option<String> },
        }
        Ok(Option::<MessageOrObject>::deserialize(d)?.map(|v| match v {
            MessageOrObject::Message(m) => m,
            MessageOrObject::Object { message, code, decline_code } => {
                message.or(decline_code).or(code).unwrap_or_else(|| "the payment failed".to_string())
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let cfg = StripeConfig::new("sk_test_verysecret123", "pk_test_public", "whsec_alsosecret456");
        let c = format!("{cfg:?}");
        assert!(!c.contains("verysecret123") && !c.contains("alsosecret456"), "{c}");
        assert!(c.contains("pk_test_public"));
        let client = StripeClient::new(cfg).unwrap();
        let d = format!("{client:?}");
        assert!(!d.contains("verysecret123") && !d.contains("alsosecret456"), "{d}");
        assert_eq!(client.publishable_key(), "pk_test_public");
    }

    #[test]
    fn empty_secret_key_is_invalid() {
        let e = StripeClient::new(StripeConfig::new("", "pk", "whsec")).unwrap_err();
        assert!(matches!(e, StripeError::Invalid(_)));
    }

    #[test]
    fn payment_intent_shapes() {
        let pi: PaymentIntent = serde_json::from_str(
            r#"{"id":"pi_1","object":"payment_intent","amount":1500,"amount_received":0,"currency":"aud",
            "status":"requires_payment_method","client_secret":"pi_1_secret_x","latest_charge":{"id":"ch_9","object":"charge"},
            "metadata":null,"last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}"#,
        )
        .unwrap();
        assert_eq!(pi.latest_charge.as_deref(), Some("ch_9"));
        assert!(pi.metadata.is_empty());
        assert_eq!(pi.last_payment_error.as_deref(), Some("Your card has insufficient funds."));
        // Our own serialization reads back.
        let again: PaymentIntent = serde_json::from_str(&serde_json::to_string(&pi).unwrap()).unwrap();
        assert_eq!(again, pi);
        let bare: PaymentIntent =
            serde_json::from_str(r#"{"id":"pi_2","amount":1,"currency":"usd","status":"succeeded"}"#).unwrap();
        assert_eq!(bare.latest_charge, None);
        assert_eq!(bare.last_payment_error, None);
    }

    #[test]
    fn rejected_display_has_code() {
        let e = StripeError::Rejected {
            status: 404,
            kind: "invalid_request_error".into(),
            code: Some("resource_missing".into()),
            message: "No such payment_intent: 'pi_x'".into(),
        };
        assert_eq!(
            e.to_string(),
            "Stripe refused the request (404 invalid_request_error, resource_missing): No such payment_intent: 'pi_x'"
        );
        assert!(!e.is_transient());
        assert!(StripeError::Transient("x".into()).is_transient());
    }

    #[test]
    fn ids_are_checked() {
        assert!(check_id("pi_3Abc").is_ok());
        assert!(check_id("../v1/refunds").is_err());
        assert!(check_id("").is_err());
    }

    #[tokio::test]
    async fn unreachable_server_is_transient() {
        // A port nobody listens on.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut cfg = StripeConfig::new("sk_test_hidden_key", "pk", "whsec");
        cfg.base_url = format!("http://127.0.0.1:{port}");
        cfg.timeout = Duration::from_secs(2);
        let e = StripeClient::new(cfg).unwrap().retrieve_payment_intent("pi_1").await.unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert!(!e.to_string().contains("sk_test_hidden_key"));
    }
}
