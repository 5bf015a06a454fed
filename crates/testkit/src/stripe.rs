//! A fake Stripe API: a real HTTP server on 127.0.0.1 that speaks Stripe's shapes for
//! the calls Praxis makes (PaymentIntents create / retrieve / cancel, refunds), keeps
//! every request it receives, and makes signed webhook deliveries for what "happened"
//! to a payment (succeeded, failed, refunded).
//!
//! Behaviour worth knowing:
//! - `Authorization: Bearer <secret_key>` is required (401 otherwise).
//! - `Idempotency-Key` on a POST: the same key with the same parameters replays the first
//!   answer (header `Idempotent-Replayed: true`, no new object); with other parameters it
//!   is a 400 `idempotency_error`. 5xx answers are not remembered.
//! - Unknown parameters are refused (400 `parameter_unknown`), as Stripe does.
//! - `set_outage(true)` answers every request 503 with an `api_error` body;
//!   `set_delay` holds every answer.

use praxis_stripe::{PaymentIntent, Refund, StripeConfig, webhook};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One request as the fake received it (also those it refused).
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The form body (POST) or query string (GET), decoded, in order.
    pub params: Vec<(String, String)>,
    /// Every header; names lower-case.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first value of parameter `k` (e.g. `metadata[invoice_id]`).
    pub fn param(&self, k: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    /// A header's value, case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The `Idempotency-Key` header.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.header("idempotency-key")
    }

    /// True if any parameter looks like card data: a key or value mentioning
    /// `card[number]` (or `…[card][number]`), `cvc` or `exp_month`, or a run of 13 or more digits (spaces and
    /// dashes between digits allowed) — the shape of a card number.
    pub fn looks_like_card_data(&self) -> bool {
        self.params.iter().any(|(k, v)| {
            [k, v].iter().any(|s| {
                // An id (our invoice and payment ids in the metadata) is not a card number,
                // however its hex digits happen to fall between the hyphens.
                if uuid::Uuid::parse_str(s).is_ok() {
                    return false;
                }
                let l = s.to_ascii_lowercase();
                l.contains("card[number]")
                    || (l.contains("card") && l.contains("[number]"))
                    || l.contains("cvc")
                    || l.contains("exp_month")
                    || longest_digit_run(s) >= 13
            })
        })
    }
}

fn longest_digit_run(s: &str) -> usize {
    let (mut best, mut run, mut prev_digit) = (0, 0, false);
    for c in s.chars() {
        if c.is_ascii_digit() {
            run += 1;
            best = best.max(run);
            prev_digit = true;
        } else if (c == ' ' || c == '-') && prev_digit {
            prev_digit = false;
        } else {
            run = 0;
            prev_digit = false;
        }
    }
    best
}

/// A signed webhook delivery, ready to POST to Praxis.
#[derive(Clone, Debug)]
pub struct WebhookDelivery {
    /// The exact JSON body.
    pub body: String,
    /// The `Stripe-Signature` header value.
    pub signature: String,
    /// The event's id (`evt_…`).
    pub event_id: String,
}

impl WebhookDelivery {
    /// POSTs the delivery to `url` as Stripe does: `Content-Type: application/json` and
    /// the `Stripe-Signature` header.
    pub async fn post_to(&self, url: &str) -> reqwest::Response {
        crate::http_client()
            .post(url)
            .header("Content-Type", "application/json; charset=utf-8")
            .header(webhook::SIGNATURE_HEADER, &self.signature)
            .body(self.body.clone())
            .send()
            .await
            .expect("POST the webhook delivery")
    }
}

struct IntentRec {
    id: String,
    amount: i64,
    amount_received: i64,
    currency: String,
    description: Option<String>,
    status: String,
    client_secret: String,
    metadata: BTreeMap<String, String>,
    receipt_email: Option<String>,
    latest_charge: Option<String>,
    last_error: Option<String>,
    created: i64,
    canceled_at: Option<i64>,
}

struct ChargeRec {
    id: String,
    payment_intent: String,
    amount: i64,
    amount_refunded: i64,
    currency: String,
    succeeded: bool,
    refunds: Vec<String>,
    created: i64,
}

struct RefundRec {
    id: String,
    amount: i64,
    currency: String,
    charge: String,
    payment_intent: String,
    reason: Option<String>,
    metadata: BTreeMap<String, String>,
    created: i64,
}

#[derive(Default)]
struct Inner {
    intents: Vec<IntentRec>,
    charges: Vec<ChargeRec>,
    refunds: Vec<RefundRec>,
    requests: Vec<RecordedRequest>,
    /// Idempotency key → (request fingerprint, status, body).
    idempotency: HashMap<String, (String, u16, String)>,
}

struct State {
    inner: Mutex<Inner>,
    outage: AtomicBool,
    delay_ms: AtomicU64,
    secret_key: String,
    publishable_key: String,
    webhook_secret: String,
}

/// A fake Stripe API on 127.0.0.1 (see the module docs). Clones share one server.
#[derive(Clone)]
pub struct FakeStripe {
    base_url: String,
    state: Arc<State>,
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A Stripe-looking id: `pi_3…`, 24 characters after the prefix.
fn new_id(prefix: &str) -> String {
    let u = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_3{}", &u[..23])
}

impl FakeStripe {
    /// Starts the server on 127.0.0.1 with a free port and fresh keys.
    pub async fn start() -> FakeStripe {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let state = Arc::new(State {
            inner: Mutex::new(Inner::default()),
            outage: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            secret_key: format!("sk_test_fake_{}", &tag[..24]),
            publishable_key: format!("pk_test_fake_{}", &tag[8..32]),
            webhook_secret: format!("whsec_fake{}", &tag),
        });
        let st = state.clone();
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method, uri: axum::http::Uri, headers: axum::http::HeaderMap, body: String| {
                let st = st.clone();
                async move { handle(st, method, uri, headers, body).await }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake Stripe");
        let addr = listener.local_addr().expect("fake Stripe address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeStripe { base_url: format!("http://{addr}"), state }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The secret key it accepts (`sk_test_fake_…`).
    pub fn secret_key(&self) -> String {
        self.state.secret_key.clone()
    }

    /// A publishable key (`pk_test_fake_…`).
    pub fn publishable_key(&self) -> String {
        self.state.publishable_key.clone()
    }

    /// The secret its webhook deliveries are signed with (`whsec_…`).
    pub fn webhook_secret(&self) -> String {
        self.state.webhook_secret.clone()
    }

    /// A client configuration pointing at this server (timeout 5 s).
    pub fn config(&self) -> StripeConfig {
        let mut cfg = StripeConfig::new(self.secret_key(), self.publishable_key(), self.webhook_secret());
        cfg.base_url = self.base_url();
        cfg.timeout = Duration::from_secs(5);
        cfg
    }

    /// Starts or ends an outage (every request answered 503).
    pub fn set_outage(&self, on: bool) {
        self.state.outage.store(on, Ordering::SeqCst);
    }

    /// Holds every answer this long.
    pub fn set_delay(&self, d: Duration) {
        self.state.delay_ms.store(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Every PaymentIntent created so far, as the API would show it now.
    pub fn intents(&self) -> Vec<PaymentIntent> {
        let inner = self.lock();
        inner.intents.iter().map(|i| serde_json::from_value(intent_json(i)).expect("intent shape")).collect()
    }

    /// Every refund made so far.
    pub fn refunds(&self) -> Vec<Refund> {
        let inner = self.lock();
        inner.refunds.iter().map(|r| serde_json::from_value(refund_json(r)).expect("refund shape")).collect()
    }

    /// The customer paid: the intent becomes `succeeded` (`amount_received = amount`, a new
    /// `ch_…` as `latest_charge`). Returns the signed `payment_intent.succeeded` event.
    pub fn succeed(&self, pi: &str) -> WebhookDelivery {
        let object = {
            let mut inner = self.lock();
            let now = now_unix();
            let i = inner.intents.iter().position(|i| i.id == pi).unwrap_or_else(|| panic!("no intent {pi}"));
            let (amount, currency) = (inner.intents[i].amount, inner.intents[i].currency.clone());
            let charge = ChargeRec {
                id: new_id("ch"),
                payment_intent: pi.to_string(),
                amount,
                amount_refunded: 0,
                currency,
                succeeded: true,
                refunds: Vec::new(),
                created: now,
            };
            let intent = &mut inner.intents[i];
            intent.status = "succeeded".into();
            intent.amount_received = intent.amount;
            intent.latest_charge = Some(charge.id.clone());
            intent.last_error = None;
            let object = intent_json(intent);
            inner.charges.push(charge);
            object
        };
        self.event("payment_intent.succeeded", object)
    }

    /// The attempt failed with `message` (a declined card): the intent goes back to
    /// `requires_payment_method` with `last_payment_error`. Returns the signed
    /// `payment_intent.payment_failed` event.
    pub fn fail(&self, pi: &str, message: &str) -> WebhookDelivery {
        let object = {
            let mut inner = self.lock();
            let now = now_unix();
            let i = inner.intents.iter().position(|i| i.id == pi).unwrap_or_else(|| panic!("no intent {pi}"));
            let (amount, currency) = (inner.intents[i].amount, inner.intents[i].currency.clone());
            let charge = ChargeRec {
                id: new_id("ch"),
                payment_intent: pi.to_string(),
                amount,
                amount_refunded: 0,
                currency,
                succeeded: false,
                refunds: Vec::new(),
                created: now,
            };
            let intent = &mut inner.intents[i];
            intent.status = "requires_payment_method".into();
            intent.latest_charge = Some(charge.id.clone());
            intent.last_error = Some(message.to_string());
            let object = intent_json(intent);
            inner.charges.push(charge);
            object
        };
        self.event("payment_intent.payment_failed", object)
    }

    /// The signed `charge.refunded` event for the intent's charge, with its refunds and
    /// `amount_refunded` as they stand.
    pub fn refunded_event(&self, pi: &str) -> WebhookDelivery {
        let object = {
            let inner = self.lock();
            let intent = inner.intents.iter().find(|i| i.id == pi).unwrap_or_else(|| panic!("no intent {pi}"));
            let ch = intent.latest_charge.as_deref().unwrap_or_else(|| panic!("intent {pi} has no charge"));
            let charge = inner.charges.iter().find(|c| c.id == ch).expect("charge");
            charge_json(charge, &inner.refunds)
        };
        self.event("charge.refunded", object)
    }

    /// A `Stripe-Signature` value for `body` signed with the webhook secret at `unix`.
    pub fn signed_at(&self, body: &str, unix: i64) -> String {
        webhook::sign(body.as_bytes(), &self.state.webhook_secret, unix)
    }

    fn event(&self, kind: &str, object: Value) -> WebhookDelivery {
        let now = now_unix();
        let event_id = new_id("evt");
        let body = json!({
            "id": event_id,
            "object": "event",
            "api_version": praxis_stripe::API_VERSION,
            "created": now,
            "data": { "object": object },
            "livemode": false,
            "pending_webhooks": 1,
            "request": { "id": null, "idempotency_key": null },
            "type": kind,
        })
        .to_string();
        let signature = self.signed_at(&body, now);
        WebhookDelivery { body, signature, event_id }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.state.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn intent_json(i: &IntentRec) -> Value {
    let last_error = i.last_error.as_ref().map(|m| {
        json!({
            "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
            "message": m, "charge": i.latest_charge,
            "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        })
    });
    json!({
        "id": i.id,
        "object": "payment_intent",
        "amount": i.amount,
        "amount_capturable": 0,
        "amount_received": i.amount_received,
        "automatic_payment_methods": { "allow_redirects": "always", "enabled": true },
        "canceled_at": i.canceled_at,
        "cancellation_reason": if i.canceled_at.is_some() { json!("requested_by_customer") } else { Value::Null },
        "capture_method": "automatic_async",
        "client_secret": i.client_secret,
        "confirmation_method": "automatic",
        "created": i.created,
        "currency": i.currency,
        "description": i.description,
        "last_payment_error": last_error,
        "latest_charge": i.latest_charge,
        "livemode": false,
        "metadata": i.metadata,
        "payment_method": null,
        "receipt_email": i.receipt_email,
        "status": i.status,
    })
}

fn refund_json(r: &RefundRec) -> Value {
    json!({
        "id": r.id,
        "object": "refund",
        "amount": r.amount,
        "balance_transaction": null,
        "charge": r.charge,
        "created": r.created,
        "currency": r.currency,
        "metadata": r.metadata,
        "payment_intent": r.payment_intent,
        "reason": r.reason,
        "status": "succeeded",
    })
}

fn charge_json(c: &ChargeRec, refunds: &[RefundRec]) -> Value {
    let data: Vec<Value> =
        c.refunds.iter().filter_map(|id| refunds.iter().find(|r| &r.id == id)).map(refund_json).collect();
    json!({
        "id": c.id,
        "object": "charge",
        "amount": c.amount,
        "amount_captured": if c.succeeded { c.amount } else { 0 },
        "amount_refunded": c.amount_refunded,
        "captured": c.succeeded,
        "created": c.created,
        "currency": c.currency,
        "livemode": false,
        "paid": c.succeeded,
        "payment_intent": c.payment_intent,
        "refunded": c.succeeded && c.amount_refunded >= c.amount,
        "refunds": {
            "object": "list",
            "data": data,
            "has_more": false,
            "total_count": c.refunds.len(),
            "url": format!("/v1/charges/{}/refunds", c.id),
        },
        "status": if c.succeeded { "succeeded" } else { "failed" },
    })
}

type Answer = (u16, Value);

fn error(status: u16, kind: &str, code: Option<&str>, message: &str, param: Option<&str>) -> Answer {
    let mut e = json!({ "type": kind, "message": message });
    if let Some(c) = code {
        e["code"] = json!(c);
        e["doc_url"] = json!(format!("https://stripe.com/docs/error-codes/{}", c.replace('_', "-")));
    }
    if let Some(p) = param {
        e["param"] = json!(p);
    }
    (status, json!({ "error": e }))
}

fn invalid(code: Option<&str>, message: &str, param: Option<&str>) -> Answer {
    error(400, "invalid_request_error", code, message, param)
}

async fn handle(
    st: Arc<State>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let source = if method == axum::http::Method::GET { uri.query().unwrap_or("").to_string() } else { body };
    let params: Vec<(String, String)> = form_urlencoded::parse(source.as_bytes()).into_owned().collect();
    let header_list: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).to_string()))
        .collect();
    let req =
        RecordedRequest { method: method.to_string(), path: uri.path().to_string(), params, headers: header_list };
    st.inner.lock().unwrap_or_else(|e| e.into_inner()).requests.push(req.clone());

    let delay = st.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let (status, body, replayed) = answer(&st, &req);
    let mut res = (
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&new_id("req")) {
        res.headers_mut().insert("request-id", v);
    }
    if replayed {
        res.headers_mut().insert("idempotent-replayed", axum::http::HeaderValue::from_static("true"));
    }
    res
}

/// Status, body and whether it was an idempotent replay.
fn answer(st: &State, req: &RecordedRequest) -> (u16, String, bool) {
    if st.outage.load(Ordering::SeqCst) {
        let (s, b) = error(503, "api_error", None, "The fake Stripe API is in an outage; try again later.", None);
        return (s, b.to_string(), false);
    }
    let expected = format!("Bearer {}", st.secret_key);
    if req.header("authorization") != Some(expected.as_str()) {
        let (s, b) = error(
            401,
            "invalid_request_error",
            None,
            "Invalid API Key provided. You can find your API keys in the Dashboard.",
            None,
        );
        return (s, b.to_string(), false);
    }
    let mut inner = st.inner.lock().unwrap_or_else(|e| e.into_inner());
    let idem = if req.method == "POST" { req.idempotency_key().map(str::to_string) } else { None };
    let fingerprint = {
        let mut p = req.params.clone();
        p.sort();
        format!("{} {} {:?}", req.method, req.path, p)
    };
    if let Some(key) = &idem
        && let Some((fp, status, body)) = inner.idempotency.get(key)
    {
        if *fp == fingerprint {
            return (*status, body.clone(), true);
        }
        let msg = format!(
            "Keys for idempotent requests can only be used with the same parameters they were first used with. \
             Try using a key other than '{key}' if you meant to execute a different request."
        );
        let (s, b) = error(400, "idempotency_error", None, &msg, None);
        return (s, b.to_string(), false);
    }
    let (status, body) = route(&mut inner, req);
    let body = body.to_string();
    if let Some(key) = idem
        && status < 500
    {
        inner.idempotency.insert(key, (fingerprint, status, body.clone()));
    }
    (status, body, false)
}

fn route(inner: &mut Inner, req: &RecordedRequest) -> Answer {
    let segs: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("POST", ["v1", "payment_intents"]) => create_intent(inner, req),
        ("GET", ["v1", "payment_intents", id]) => match inner.intents.iter().find(|i| i.id == *id) {
            Some(i) => (200, intent_json(i)),
            None => missing("payment_intent", id, "intent"),
        },
        ("POST", ["v1", "payment_intents", id, "cancel"]) => cancel_intent(inner, id, req),
        ("POST", ["v1", "refunds"]) => create_refund(inner, req),
        ("GET", ["v1", "refunds", id]) => match inner.refunds.iter().find(|r| r.id == *id) {
            Some(r) => (200, refund_json(r)),
            None => missing("refund", id, "refund"),
        },
        _ => error(
            404,
            "invalid_request_error",
            None,
            &format!("Unrecognized request URL ({}: {}).", req.method, req.path),
            None,
        ),
    }
}

fn missing(kind: &str, id: &str, param: &str) -> Answer {
    error(404, "invalid_request_error", Some("resource_missing"), &format!("No such {kind}: '{id}'"), Some(param))
}

/// Checks every parameter is known; collects `metadata[…]` (Stripe's limits: 50 keys,
/// keys up to 40 characters, values up to 500).
fn metadata_and_unknown(req: &RecordedRequest, known: &[&str]) -> Result<BTreeMap<String, String>, Answer> {
    let mut metadata = BTreeMap::new();
    for (k, v) in &req.params {
        if let Some(name) = k.strip_prefix("metadata[").and_then(|r| r.strip_suffix(']')) {
            if name.is_empty() || name.chars().count() > 40 || v.chars().count() > 500 {
                return Err(invalid(
                    None,
                    "Metadata keys must be 1–40 characters and values at most 500 characters.",
                    Some(k),
                ));
            }
            metadata.insert(name.to_string(), v.clone());
        } else if !known.contains(&k.as_str()) {
            return Err(invalid(Some("parameter_unknown"), &format!("Received unknown parameter: {k}"), Some(k)));
        }
    }
    if metadata.len() > 50 {
        return Err(invalid(None, "You can specify up to 50 metadata keys.", Some("metadata")));
    }
    Ok(metadata)
}

fn positive_amount(req: &RecordedRequest, required: bool) -> Result<Option<i64>, Answer> {
    match req.param("amount") {
        None if required => Err(invalid(Some("parameter_missing"), "Missing required param: amount.", Some("amount"))),
        None => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            Ok(_) => Err(invalid(
                Some("parameter_invalid_integer"),
                "This value must be greater than or equal to 1.",
                Some("amount"),
            )),
            Err(_) => Err(invalid(Some("parameter_invalid_integer"), &format!("Invalid integer: {v}"), Some("amount"))),
        },
    }
}

fn create_intent(inner: &mut Inner, req: &RecordedRequest) -> Answer {
    let metadata = match metadata_and_unknown(
        req,
        &["amount", "currency", "description", "receipt_email", "automatic_payment_methods[enabled]"],
    ) {
        Ok(m) => m,
        Err(e) => return e,
    };
    let amount = match positive_amount(req, true) {
        Ok(Some(a)) => a,
        Ok(None) => return invalid(Some("parameter_missing"), "Missing required param: amount.", Some("amount")),
        Err(e) => return e,
    };
    let currency = match req.param("currency") {
        None => return invalid(Some("parameter_missing"), "Missing required param: currency.", Some("currency")),
        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_lowercase()) => c.to_string(),
        Some(c) => {
            return invalid(
                None,
                &format!("Invalid currency: {c}. Currencies are three-letter lower-case ISO codes."),
                Some("currency"),
            );
        }
    };
    if let Some(v) = req.param("automatic_payment_methods[enabled]")
        && v != "true"
        && v != "false"
    {
        return invalid(
            Some("parameter_invalid_boolean"),
            &format!("Invalid boolean: {v}"),
            Some("automatic_payment_methods[enabled]"),
        );
    }
    let id = new_id("pi");
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let intent = IntentRec {
        client_secret: format!("{id}_secret_{}", &secret[..25]),
        id,
        amount,
        amount_received: 0,
        currency,
        description: req.param("description").map(str::to_string),
        status: "requires_payment_method".into(),
        metadata,
        receipt_email: req.param("receipt_email").filter(|s| !s.is_empty()).map(str::to_string),
        latest_charge: None,
        last_error: None,
        created: now_unix(),
        canceled_at: None,
    };
    let out = intent_json(&intent);
    inner.intents.push(intent);
    (200, out)
}

fn cancel_intent(inner: &mut Inner, id: &str, req: &RecordedRequest) -> Answer {
    if let Some((k, _)) = req.params.iter().find(|(k, _)| k != "cancellation_reason") {
        return invalid(Some("parameter_unknown"), &format!("Received unknown parameter: {k}"), Some(k));
    }
    let Some(intent) = inner.intents.iter_mut().find(|i| i.id == id) else {
        return missing("payment_intent", id, "intent");
    };
    if intent.status == "succeeded" || intent.status == "canceled" {
        return invalid(
            Some("payment_intent_unexpected_state"),
            &format!(
                "You cannot cancel this PaymentIntent because it has a status of {}. Only a PaymentIntent with one \
                 of the following statuses may be canceled: requires_payment_method, requires_capture, \
                 requires_confirmation, requires_action, processing.",
                intent.status
            ),
            None,
        );
    }
    intent.status = "canceled".into();
    intent.canceled_at = Some(now_unix());
    (200, intent_json(intent))
}

fn create_refund(inner: &mut Inner, req: &RecordedRequest) -> Answer {
    let metadata = match metadata_and_unknown(req, &["payment_intent", "charge", "amount", "reason"]) {
        Ok(m) => m,
        Err(e) => return e,
    };
    let amount = match positive_amount(req, false) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let reason = req.param("reason").filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(r) = &reason
        && !["duplicate", "fraudulent", "requested_by_customer"].contains(&r.as_str())
    {
        return invalid(
            None,
            &format!("Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer (got {r})"),
            Some("reason"),
        );
    }
    let charge_id = match (req.param("payment_intent"), req.param("charge")) {
        (Some(pi), None) => {
            let Some(intent) = inner.intents.iter().find(|i| i.id == pi) else {
                return missing("payment_intent", pi, "payment_intent");
            };
            match (&intent.latest_charge, intent.status.as_str()) {
                (Some(ch), "succeeded") => ch.clone(),
                _ => {
                    return invalid(
                        Some("payment_intent_unexpected_state"),
                        &format!("This PaymentIntent ({pi}) does not have a successful charge to refund."),
                        Some("payment_intent"),
                    );
                }
            }
        }
        (None, Some(ch)) => ch.to_string(),
        _ => {
            return invalid(
                Some("parameter_missing"),
                "Provide exactly one of payment_intent or charge.",
                Some("payment_intent"),
            );
        }
    };
    let Some(charge) = inner.charges.iter_mut().find(|c| c.id == charge_id) else {
        return missing("charge", &charge_id, "charge");
    };
    if !charge.succeeded {
        return invalid(Some("charge_not_refundable"), &format!("Charge {charge_id} did not succeed."), Some("charge"));
    }
    let remaining = charge.amount - charge.amount_refunded;
    if remaining <= 0 {
        return invalid(
            Some("charge_already_refunded"),
            &format!("Charge {charge_id} has already been refunded."),
            Some("charge"),
        );
    }
    let amount = amount.unwrap_or(remaining);
    if amount > remaining {
        return invalid(
            Some("amount_too_large"),
            &format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})"),
            Some("amount"),
        );
    }
    let refund = RefundRec {
        id: new_id("re"),
        amount,
        currency: charge.currency.clone(),
        charge: charge.id.clone(),
        payment_intent: charge.payment_intent.clone(),
        reason,
        metadata,
        created: now_unix(),
    };
    charge.amount_refunded += amount;
    charge.refunds.push(refund.id.clone());
    let out = refund_json(&refund);
    inner.refunds.push(refund);
    (200, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use praxis_stripe::webhook::{EventObject, SignatureError, WebhookError};
    use praxis_stripe::{CreatePaymentIntent, CreateRefund, StripeClient, StripeError};

    fn consult(amount: i64) -> CreatePaymentIntent {
        CreatePaymentIntent {
            amount,
            currency: "AUD".into(),
            description: "Invoice INV-0042".into(),
            metadata: vec![("invoice_id".into(), "inv-42".into()), ("clinic".into(), "north".into())],
            receipt_email: Some("pat@example.com".into()),
        }
    }

    fn refund(pi: &str, amount: i64, note: &str) -> CreateRefund {
        CreateRefund {
            payment_intent: pi.into(),
            amount,
            reason: Some("requested_by_customer".into()),
            metadata: vec![("note".into(), note.into())],
        }
    }

    fn rejected_code(e: &StripeError) -> (u16, String, Option<String>) {
        match e {
            StripeError::Rejected { status, kind, code, .. } => (*status, kind.clone(), code.clone()),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn pay_then_refund_in_parts() {
        let fake = FakeStripe::start().await;
        let client = StripeClient::new(fake.config()).unwrap();
        assert_eq!(client.publishable_key(), fake.publishable_key());

        let pi = client.create_payment_intent(&consult(12050), "inv-42-a1").await.unwrap();
        assert!(pi.id.starts_with("pi_"));
        assert_eq!(pi.status, "requires_payment_method");
        assert_eq!(pi.currency, "aud");
        assert!(pi.client_secret.as_deref().unwrap().starts_with(&format!("{}_secret_", pi.id)));
        assert_eq!(pi.metadata.get("invoice_id").map(String::as_str), Some("inv-42"));

        let sent = &fake.requests()[0];
        assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", "/v1/payment_intents"));
        assert_eq!(sent.param("amount"), Some("12050"));
        assert_eq!(sent.param("currency"), Some("aud"));
        assert_eq!(sent.param("metadata[clinic]"), Some("north"));
        assert_eq!(sent.param("automatic_payment_methods[enabled]"), Some("true"));
        assert_eq!(sent.param("receipt_email"), Some("pat@example.com"));
        assert_eq!(sent.idempotency_key(), Some("inv-42-a1"));
        assert_eq!(sent.header("authorization"), Some(format!("Bearer {}", fake.secret_key()).as_str()));
        assert_eq!(sent.header("stripe-version"), Some(praxis_stripe::API_VERSION));
        assert!(!sent.looks_like_card_data());

        let again = client.retrieve_payment_intent(&pi.id).await.unwrap();
        assert_eq!(again.id, pi.id);

        let delivery = fake.succeed(&pi.id);
        let ev = client.construct_event(delivery.body.as_bytes(), &delivery.signature, now_unix()).unwrap();
        assert_eq!(ev.id, delivery.event_id);
        assert_eq!(ev.kind, "payment_intent.succeeded");
        let EventObject::PaymentIntent(paid) = ev.object else { panic!("{:?}", ev.object) };
        assert_eq!((paid.status.as_str(), paid.amount_received), ("succeeded", 12050));
        let charge = paid.latest_charge.clone().unwrap();
        assert!(charge.starts_with("ch_"));
        assert_eq!(client.retrieve_payment_intent(&pi.id).await.unwrap().status, "succeeded");

        let r1 = client.create_refund(&refund(&pi.id, 1000, "first"), "refund-1").await.unwrap();
        let r2 = client.create_refund(&refund(&pi.id, 2000, "second"), "refund-2").await.unwrap();
        assert_eq!((r1.status.as_str(), r1.charge.as_deref()), ("succeeded", Some(charge.as_str())));
        assert_eq!(r2.payment_intent.as_deref(), Some(pi.id.as_str()));
        assert_eq!(r1.metadata.get("note").map(String::as_str), Some("first"));
        let over = client.create_refund(&refund(&pi.id, 9051, "too much"), "refund-3").await.unwrap_err();
        assert_eq!(rejected_code(&over), (400, "invalid_request_error".into(), Some("amount_too_large".into())));
        assert_eq!(fake.refunds().len(), 2);

        let d = fake.refunded_event(&pi.id);
        let ev = client.construct_event(d.body.as_bytes(), &d.signature, now_unix()).unwrap();
        assert_eq!(ev.kind, "charge.refunded");
        let EventObject::Charge(ch) = ev.object else { panic!() };
        assert_eq!((ch.id.as_str(), ch.amount, ch.amount_refunded), (charge.as_str(), 12050, 3000));
        assert_eq!(ch.refunds.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), vec![r1.id.clone(), r2.id]);
        assert_ne!(d.event_id, delivery.event_id);

        // The rest, then nothing more.
        client.create_refund(&refund(&pi.id, 9050, "rest"), "refund-4").await.unwrap();
        let done = client.create_refund(&refund(&pi.id, 1, "more"), "refund-5").await.unwrap_err();
        assert_eq!(rejected_code(&done).2.as_deref(), Some("charge_already_refunded"));
    }

    #[tokio::test]
    async fn idempotent_create() {
        let fake = FakeStripe::start().await;
        let client = StripeClient::new(fake.config()).unwrap();
        let a = client.create_payment_intent(&consult(5000), "same-key").await.unwrap();
        let b = client.create_payment_intent(&consult(5000), "same-key").await.unwrap();
        assert_eq!(a.id, b.id);
        assert_eq!(a.client_secret, b.client_secret);
        assert_eq!(fake.intents().len(), 1);
        let e = client.create_payment_intent(&consult(5001), "same-key").await.unwrap_err();
        assert_eq!(rejected_code(&e), (400, "idempotency_error".into(), None));
        let c = client.create_payment_intent(&consult(5000), "other-key").await.unwrap();
        assert_ne!(c.id, a.id);
        assert_eq!(fake.intents().len(), 2);
    }

    #[tokio::test]
    async fn outage_delay_and_wrong_key() {
        let fake = FakeStripe::start().await;
        let client = StripeClient::new(fake.config()).unwrap();
        fake.set_outage(true);
        let e = client.create_payment_intent(&consult(100), "k1").await.unwrap_err();
        assert!(e.is_transient(), "{e:?}");
        fake.set_outage(false);
        // The outage was not remembered against the key.
        client.create_payment_intent(&consult(100), "k1").await.unwrap();

        fake.set_delay(Duration::from_millis(1500));
        let mut cfg = fake.config();
        cfg.timeout = Duration::from_millis(300);
        let e = StripeClient::new(cfg).unwrap().retrieve_payment_intent("pi_x").await.unwrap_err();
        assert!(e.is_transient(), "{e:?}");
        fake.set_delay(Duration::ZERO);

        let mut cfg = fake.config();
        cfg.secret_key = "sk_test_wrong_key_1234".to_string().into();
        let e = StripeClient::new(cfg).unwrap().create_payment_intent(&consult(100), "k2").await.unwrap_err();
        assert_eq!(rejected_code(&e).0, 401);
        assert!(!e.to_string().contains("sk_test_wrong_key_1234"), "{e}");
        assert!(!e.to_string().contains(&fake.secret_key()));
    }

    #[tokio::test]
    async fn refusals_in_stripe_shapes() {
        let fake = FakeStripe::start().await;
        let client = StripeClient::new(fake.config()).unwrap();
        let e = client.retrieve_payment_intent("pi_nope").await.unwrap_err();
        assert_eq!(rejected_code(&e), (404, "invalid_request_error".into(), Some("resource_missing".into())));
        let e = client.create_payment_intent(&consult(0), "zero").await.unwrap_err();
        assert_eq!(rejected_code(&e).2.as_deref(), Some("parameter_invalid_integer"));

        // Not through the client: upper-case currency, a fractional amount, card data.
        let http = crate::http_client();
        let post = |form: Vec<(&'static str, &'static str)>| {
            http.post(format!("{}/v1/payment_intents", fake.base_url()))
                .bearer_auth(fake.secret_key())
                .form(&form)
                .send()
        };
        let res = post(vec![("amount", "100"), ("currency", "AUD")]).await.unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], "currency");
        let res = post(vec![("amount", "10.5"), ("currency", "aud")]).await.unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "parameter_invalid_integer");
        let res =
            post(vec![("amount", "100"), ("currency", "aud"), ("card[number]", "4242 4242 4242 4242")]).await.unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "parameter_unknown");
        assert!(fake.requests().last().unwrap().looks_like_card_data());

        // Cancel, then neither cancel nor refund again.
        let pi = client.create_payment_intent(&consult(700), "c1").await.unwrap();
        let e = client.create_refund(&refund(&pi.id, 100, "x"), "r0").await.unwrap_err();
        assert_eq!(rejected_code(&e).2.as_deref(), Some("payment_intent_unexpected_state"));
        let canceled = client.cancel_payment_intent(&pi.id, "cancel-1").await.unwrap();
        assert_eq!(canceled.status, "canceled");
        // A retried cancel with the same key replays; a new one is refused.
        assert_eq!(client.cancel_payment_intent(&pi.id, "cancel-1").await.unwrap().status, "canceled");
        let e = client.cancel_payment_intent(&pi.id, "cancel-2").await.unwrap_err();
        assert_eq!(rejected_code(&e).2.as_deref(), Some("payment_intent_unexpected_state"));
    }

    #[tokio::test]
    async fn failed_payment_and_signatures() {
        let fake = FakeStripe::start().await;
        let client = StripeClient::new(fake.config()).unwrap();
        let pi = client.create_payment_intent(&consult(900), "f1").await.unwrap();
        let d = fake.fail(&pi.id, "Your card was declined.");
        let ev = client.construct_event(d.body.as_bytes(), &d.signature, now_unix()).unwrap();
        assert_eq!(ev.kind, "payment_intent.payment_failed");
        let EventObject::PaymentIntent(failed) = ev.object else { panic!() };
        assert_eq!(failed.status, "requires_payment_method");
        assert_eq!(failed.last_payment_error.as_deref(), Some("Your card was declined."));
        assert_eq!(fake.intents()[0].last_payment_error.as_deref(), Some("Your card was declined."));

        // Old and future signatures, a tampered body.
        let now = now_unix();
        let stale = fake.signed_at(&d.body, now - 600);
        assert_eq!(
            client.construct_event(d.body.as_bytes(), &stale, now),
            Err(WebhookError::Signature(SignatureError::Expired))
        );
        let future = fake.signed_at(&d.body, now + 600);
        assert_eq!(
            client.construct_event(d.body.as_bytes(), &future, now),
            Err(WebhookError::Signature(SignatureError::Expired))
        );
        let tampered = d.body.replace("900", "9");
        assert_eq!(
            client.construct_event(tampered.as_bytes(), &d.signature, now),
            Err(WebhookError::Signature(SignatureError::Mismatch))
        );
    }

    #[tokio::test]
    async fn deliveries_post_with_the_signature() {
        use axum::http::{HeaderMap, StatusCode};
        let fake = FakeStripe::start().await;
        let secret = fake.webhook_secret();
        let app = axum::Router::new().route(
            "/hooks/stripe",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let secret = secret.clone();
                async move {
                    let ctype = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
                    let sig = headers.get(webhook::SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                    match webhook::construct_event(&body, sig, &secret, now_unix()) {
                        Ok(ev) if ctype.starts_with("application/json") => (StatusCode::OK, ev.id),
                        Ok(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, String::new()),
                        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/stripe", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let client = StripeClient::new(fake.config()).unwrap();
        let pi = client.create_payment_intent(&consult(100), "w1").await.unwrap();
        let d = fake.succeed(&pi.id);
        let res = d.post_to(&url).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), d.event_id);
        let forged = WebhookDelivery { signature: fake.signed_at(&d.body, 1), ..d.clone() };
        assert_eq!(forged.post_to(&url).await.status(), 400);
    }

    #[test]
    fn card_data_detector() {
        let req = |params: &[(&str, &str)]| RecordedRequest {
            method: "POST".into(),
            path: "/v1/payment_intents".into(),
            params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            headers: Vec::new(),
        };
        assert!(
            !req(&[("amount", "12050"), ("metadata[invoice_id]", "0195f0c2-aaaa-7bbb-8ccc-1234567890ab")])
                .looks_like_card_data()
        );
        assert!(!req(&[("description", "Invoice 2026-03-01, patient +61 412 345 678")]).looks_like_card_data());
        // Digits that run on across an id's hyphens (seen in CI: "…-a451-7431-9289-60b4…").
        assert!(!req(&[("metadata[invoice_id]", "01a24e6e-a451-7431-9289-60b4c94a8af2")]).looks_like_card_data());
        assert!(req(&[("description", "4242-4242-4242-4242")]).looks_like_card_data());
        assert!(req(&[("payment_method_data[card][number]", "x")]).looks_like_card_data());
        assert!(req(&[("card[number]", "1")]).looks_like_card_data());
        assert!(req(&[("description", "card 4242424242424242")]).looks_like_card_data());
        assert!(req(&[("description", "4000-0566-5566-5556")]).looks_like_card_data());
        assert!(req(&[("payment_method_data[card][cvc]", "123")]).looks_like_card_data());
        assert!(req(&[("card[exp_month]", "12")]).looks_like_card_data());
    }
}
