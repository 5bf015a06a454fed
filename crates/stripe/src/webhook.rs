//! Stripe webhook deliveries: the `Stripe-Signature` scheme and the event envelope.
//!
//! The header is `t=<unix seconds>,v1=<hex>[,v1=<hex>…]` where each `v1` is
//! HMAC-SHA256, keyed with the endpoint's whole signing secret (`whsec_…` included),
//! over `"<t>.<raw body>"`. Several `v1` entries appear while a secret is being rolled;
//! any one matching is enough. Other schemes (`v0`) are ignored.

use crate::{PaymentIntent, Refund, de};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// How far (seconds, either way) a signature's timestamp may be from now.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// The header a delivery's signature arrives in.
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";

/// Why a signature was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=<unix seconds>,v1=<hex>…` (or has no usable timestamp).
    #[error("the Stripe-Signature header is malformed (expected t=<unix seconds>,v1=<hex>)")]
    Malformed,
    /// The header has a timestamp but no `v1` signature.
    #[error("the Stripe-Signature header has no v1 signature")]
    NoSignatures,
    /// The signature is valid but its timestamp is too far from now (a replay or a
    /// badly wrong clock).
    #[error("the Stripe-Signature timestamp is outside the allowed tolerance")]
    Expired,
    /// No `v1` signature matches the body with this endpoint's secret.
    #[error("no Stripe-Signature v1 signature matches the payload and the webhook secret")]
    Mismatch,
}

/// Why a webhook delivery was not turned into an [`Event`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The signature did not check out.
    #[error("webhook signature refused: {0}")]
    Signature(#[from] SignatureError),
    /// The body is not a Stripe event this crate can read.
    #[error("webhook payload unreadable: {0}")]
    Payload(String),
}

/// A Stripe event (a "snapshot" event: the object as it was when the event happened).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// `evt_…`; unique per event, repeated when Stripe redelivers it.
    pub id: String,
    /// The event's `type`, e.g. `payment_intent.succeeded`.
    pub kind: String,
    /// Unix seconds when the event happened.
    pub created: i64,
    /// False for test-mode events.
    pub livemode: bool,
    /// `data.object`, by its `object` field.
    pub object: EventObject,
}

/// The object an event is about.
#[derive(Clone, Debug, PartialEq)]
pub enum EventObject {
    /// `"object": "payment_intent"`.
    PaymentIntent(PaymentIntent),
    /// `"object": "charge"`.
    Charge(Charge),
    /// `"object": "refund"`.
    Refund(Refund),
    /// Anything else, as sent.
    Other(serde_json::Value),
}

/// The parts of Stripe's Charge object Praxis uses.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Charge {
    /// `ch_…`.
    pub id: String,
    /// Amount charged, smallest currency unit.
    pub amount: i64,
    /// Amount refunded so far.
    #[serde(default)]
    pub amount_refunded: i64,
    /// Lower-case ISO code.
    pub currency: String,
    /// The PaymentIntent the charge belongs to.
    #[serde(default, deserialize_with = "de::id_or_object")]
    pub payment_intent: Option<String>,
    /// The refunds in `refunds.data`, when Stripe included them (empty otherwise).
    #[serde(default, deserialize_with = "refund_list")]
    pub refunds: Vec<Refund>,
}

/// `refunds` is a list object (`{"object":"list","data":[…]}`), absent or `null` in newer
/// API versions; a plain array (as this crate serializes it) is read too.
fn refund_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Refund>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrVec {
        Vec(Vec<Refund>),
        List {
            #[serde(default)]
            data: Vec<Refund>,
        },
    }
    Ok(match Option::<ListOrVec>::deserialize(d)? {
        None => Vec::new(),
        Some(ListOrVec::Vec(v)) | Some(ListOrVec::List { data: v }) => v,
    })
}

fn mac_for(secret: &str, timestamp: i64, payload: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail; fall back to an empty-key MAC
    // (which will never match a real signature) rather than panic.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// The `Stripe-Signature` header value for `payload` signed with `secret` at
/// `timestamp`: `t=<timestamp>,v1=<hex>`.
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let tag = mac_for(secret, timestamp, payload).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag.as_slice()))
}

/// Checks `header` against `payload` and `secret`: some `v1` entry must match (compared
/// in constant time) and the timestamp must be within `tolerance` seconds of `now_unix`,
/// in the past or the future.
pub fn verify(payload: &[u8], header: &str, secret: &str, now_unix: i64, tolerance: i64) -> Result<(), SignatureError> {
    let mut timestamp: Option<i64> = None;
    let mut signatures: Vec<&str> = Vec::new();
    for item in header.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (key, value) = item.split_once('=').ok_or(SignatureError::Malformed)?;
        match key.trim() {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed);
                }
                timestamp = Some(value.trim().parse::<i64>().map_err(|_| SignatureError::Malformed)?);
            }
            "v1" => signatures.push(value.trim()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::NoSignatures);
    }
    if secret.is_empty() {
        return Err(SignatureError::Mismatch);
    }
    let mac = mac_for(secret, timestamp, payload);
    let matched =
        signatures.iter().filter_map(|s| hex::decode(s).ok()).any(|tag| mac.clone().verify_slice(&tag).is_ok());
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if now_unix.abs_diff(timestamp) > tolerance.max(0).unsigned_abs() {
        return Err(SignatureError::Expired);
    }
    Ok(())
}

#[derive(Deserialize)]
struct RawEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    #[serde(default)]
    livemode: bool,
    data: RawData,
}

#[derive(Deserialize)]
struct RawData {
    object: serde_json::Value,
}

/// Parses an event body (without checking any signature).
pub fn parse_event(payload: &[u8]) -> Result<Event, WebhookError> {
    let raw: RawEvent =
        serde_json::from_slice(payload).map_err(|e| WebhookError::Payload(format!("not a Stripe event: {e}")))?;
    let kind_of_object = raw.data.object.get("object").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let bad =
        |e: serde_json::Error| WebhookError::Payload(format!("event {}: unreadable {kind_of_object}: {e}", raw.id));
    let object = match kind_of_object.as_str() {
        "payment_intent" => EventObject::PaymentIntent(serde_json::from_value(raw.data.object).map_err(bad)?),
        "charge" => EventObject::Charge(serde_json::from_value(raw.data.object).map_err(bad)?),
        "refund" => EventObject::Refund(serde_json::from_value(raw.data.object).map_err(bad)?),
        _ => EventObject::Other(raw.data.object),
    };
    Ok(Event { id: raw.id, kind: raw.kind, created: raw.created, livemode: raw.livemode, object })
}

/// [`verify`] with [`DEFAULT_TOLERANCE_SECS`], then [`parse_event`].
pub fn construct_event(payload: &[u8], header: &str, secret: &str, now_unix: i64) -> Result<Event, WebhookError> {
    verify(payload, header, secret, now_unix, DEFAULT_TOLERANCE_SECS)?;
    parse_event(payload)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const SECRET: &str = "whsec_test_secret_0123456789";
    const NOW: i64 = 1_772_400_000;

    #[test]
    fn sign_then_verify() {
        let body = br#"{"id":"evt_1"}"#;
        let h = sign(body, SECRET, NOW);
        assert!(h.starts_with(&format!("t={NOW},v1=")));
        assert_eq!(h.len(), format!("t={NOW},v1=").len() + 64);
        assert_eq!(verify(body, &h, SECRET, NOW, 300), Ok(()));
        assert_eq!(verify(body, &h, SECRET, NOW + 300, 300), Ok(()));
        assert_eq!(verify(body, &h, SECRET, NOW - 300, 300), Ok(()));
    }

    #[test]
    fn known_vector() {
        // HMAC-SHA256(key = "whsec_test_secret_0123456789", "1772400000.{}"), computed with
        // Python's hmac module.
        let h = sign(b"{}", SECRET, NOW);
        assert_eq!(h, "t=1772400000,v1=ff6d6a07ac7978e7a993e7ea4557193093fa91d9ee80bbb7c7c3fd2bcd5871a9");
        assert_eq!(verify(b"{}", &h, SECRET, NOW, 0), Ok(()));
    }

    #[test]
    fn tampered_body_wrong_secret() {
        let body = br#"{"id":"evt_1","amount":100}"#;
        let h = sign(body, SECRET, NOW);
        assert_eq!(verify(br#"{"id":"evt_1","amount":900}"#, &h, SECRET, NOW, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify(body, &h, "whsec_other", NOW, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify(body, &h, "", NOW, 300), Err(SignatureError::Mismatch));
        // The timestamp is part of what is signed.
        let moved = h.replace(&format!("t={NOW}"), &format!("t={}", NOW + 1));
        assert_eq!(verify(body, &moved, SECRET, NOW, 300), Err(SignatureError::Mismatch));
    }

    #[test]
    fn expired_and_future() {
        let body = b"{}";
        let h = sign(body, SECRET, NOW);
        assert_eq!(verify(body, &h, SECRET, NOW + 301, 300), Err(SignatureError::Expired));
        assert_eq!(verify(body, &h, SECRET, NOW - 301, 300), Err(SignatureError::Expired));
        // A forged signature is a mismatch, whatever its age.
        let forged = format!("t={NOW},v1={}", "ab".repeat(32));
        assert_eq!(verify(body, &forged, SECRET, NOW + 10_000, 300), Err(SignatureError::Mismatch));
    }

    #[test]
    fn several_v1_entries() {
        let body = b"{\"a\":1}";
        let good = sign(body, SECRET, NOW);
        let good_v1 = good.split_once(",v1=").unwrap().1;
        let old = sign(body, "whsec_old", NOW);
        let old_v1 = old.split_once(",v1=").unwrap().1;
        let h = format!("t={NOW},v1={old_v1},v1={good_v1},v0=deadbeef");
        assert_eq!(verify(body, &h, SECRET, NOW, 300), Ok(()));
        let h = format!("t={NOW}, v1=nothex, v1={good_v1}");
        assert_eq!(verify(body, &h, SECRET, NOW, 300), Ok(()));
        let h = format!("t={NOW},v1={old_v1}");
        assert_eq!(verify(body, &h, SECRET, NOW, 300), Err(SignatureError::Mismatch));
    }

    #[test]
    fn malformed_headers() {
        let body = b"{}";
        let v1 = sign(body, SECRET, NOW).split_once(",v1=").unwrap().1.to_string();
        for h in [
            String::new(),
            "garbage".to_string(),
            format!("v1={v1}"),
            format!("t=abc,v1={v1}"),
            format!("t={NOW},t={NOW},v1={v1}"),
            format!("t={NOW};v1={v1}"),
        ] {
            assert_eq!(verify(body, &h, SECRET, NOW, 300), Err(SignatureError::Malformed), "{h:?}");
        }
        assert_eq!(verify(body, &format!("t={NOW}"), SECRET, NOW, 300), Err(SignatureError::NoSignatures));
        assert_eq!(verify(body, &format!("t={NOW},v0={v1}"), SECRET, NOW, 300), Err(SignatureError::NoSignatures));
    }

    const SUCCEEDED: &str = r#"{
      "id": "evt_3PqZ1bK9xyzSucc",
      "object": "event",
      "api_version": "2024-06-20",
      "created": 1772400000,
      "data": {
        "object": {
          "id": "pi_3PqZ1bK9xyzAbc",
          "object": "payment_intent",
          "amount": 12050,
          "amount_capturable": 0,
          "amount_received": 12050,
          "automatic_payment_methods": {"allow_redirects": "always", "enabled": true},
          "capture_method": "automatic",
          "client_secret": "pi_3PqZ1bK9xyzAbc_secret_Qw3rTy",
          "created": 1772399900,
          "currency": "aud",
          "description": "Invoice INV-2026-0042",
          "last_payment_error": null,
          "latest_charge": "ch_3PqZ1bK9xyzChg",
          "livemode": false,
          "metadata": {"invoice_id": "0195f0c2-aaaa-7bbb-8ccc-1234567890ab", "clinic": "north"},
          "payment_method": "pm_1PqZ1aK9xyzPm",
          "receipt_email": "pat@example.com",
          "status": "succeeded"
        }
      },
      "livemode": false,
      "pending_webhooks": 1,
      "request": {"id": "req_abc123", "idempotency_key": "inv-42-attempt-1"},
      "type": "payment_intent.succeeded"
    }"#;

    #[test]
    fn parse_payment_intent_succeeded() {
        let ev = parse_event(SUCCEEDED.as_bytes()).unwrap();
        assert_eq!(ev.id, "evt_3PqZ1bK9xyzSucc");
        assert_eq!(ev.kind, "payment_intent.succeeded");
        assert_eq!(ev.created, 1_772_400_000);
        assert!(!ev.livemode);
        let EventObject::PaymentIntent(pi) = ev.object else { panic!("not a payment intent: {:?}", ev.object) };
        assert_eq!(pi.id, "pi_3PqZ1bK9xyzAbc");
        assert_eq!((pi.amount, pi.amount_received), (12050, 12050));
        assert_eq!(pi.status, "succeeded");
        assert_eq!(pi.latest_charge.as_deref(), Some("ch_3PqZ1bK9xyzChg"));
        assert_eq!(pi.metadata.get("clinic").map(String::as_str), Some("north"));
        assert_eq!(pi.last_payment_error, None);
        // And through the signature check.
        let h = sign(SUCCEEDED.as_bytes(), SECRET, NOW);
        assert_eq!(construct_event(SUCCEEDED.as_bytes(), &h, SECRET, NOW).unwrap().id, "evt_3PqZ1bK9xyzSucc");
        assert_eq!(
            construct_event(SUCCEEDED.as_bytes(), &h, SECRET, NOW + 3600),
            Err(WebhookError::Signature(SignatureError::Expired))
        );
    }

    #[test]
    fn parse_payment_failed() {
        let body = r#"{"id":"evt_fail1","object":"event","api_version":"2024-06-20","created":1772400100,
          "data":{"object":{"id":"pi_fail","object":"payment_intent","amount":5000,"amount_received":0,
            "client_secret":"pi_fail_secret_z","currency":"usd","latest_charge":"ch_fail",
            "last_payment_error":{"charge":"ch_fail","code":"card_declined","decline_code":"generic_decline",
              "doc_url":"https://stripe.com/docs/error-codes/card-declined","message":"Your card was declined.",
              "payment_method":{"id":"pm_x","object":"payment_method","type":"card"},"type":"card_error"},
            "livemode":false,"metadata":{},"status":"requires_payment_method"}},
          "livemode":false,"pending_webhooks":2,"request":{"id":null,"idempotency_key":null},
          "type":"payment_intent.payment_failed"}"#;
        let ev = parse_event(body.as_bytes()).unwrap();
        assert_eq!(ev.kind, "payment_intent.payment_failed");
        let EventObject::PaymentIntent(pi) = ev.object else { panic!() };
        assert_eq!(pi.status, "requires_payment_method");
        assert_eq!(pi.last_payment_error.as_deref(), Some("Your card was declined."));
    }

    #[test]
    fn parse_charge_refunded() {
        let body = r#"{"id":"evt_ref1","object":"event","api_version":"2024-06-20","created":1772400200,
          "data":{"object":{"id":"ch_3PqZ1bK9xyzChg","object":"charge","amount":12050,"amount_captured":12050,
            "amount_refunded":3000,"captured":true,"currency":"aud","paid":true,
            "payment_intent":"pi_3PqZ1bK9xyzAbc","refunded":false,
            "refunds":{"object":"list","data":[
              {"id":"re_1","object":"refund","amount":1000,"charge":"ch_3PqZ1bK9xyzChg","created":1772400150,
               "currency":"aud","metadata":{"refund_id":"r-1"},"payment_intent":"pi_3PqZ1bK9xyzAbc",
               "reason":"requested_by_customer","status":"succeeded"},
              {"id":"re_2","object":"refund","amount":2000,"charge":"ch_3PqZ1bK9xyzChg","created":1772400199,
               "currency":"aud","metadata":{},"payment_intent":"pi_3PqZ1bK9xyzAbc","reason":null,"status":"succeeded"}],
              "has_more":false,"total_count":2,"url":"/v1/charges/ch_3PqZ1bK9xyzChg/refunds"},
            "status":"succeeded"},
            "previous_attributes":{"amount_refunded":1000}},
          "livemode":true,"pending_webhooks":1,"request":{"id":"req_r","idempotency_key":"refund-2"},
          "type":"charge.refunded"}"#;
        let ev = parse_event(body.as_bytes()).unwrap();
        assert!(ev.livemode);
        let EventObject::Charge(ch) = ev.object else { panic!() };
        assert_eq!(ch.amount_refunded, 3000);
        assert_eq!(ch.payment_intent.as_deref(), Some("pi_3PqZ1bK9xyzAbc"));
        assert_eq!(ch.refunds.iter().map(|r| r.amount).sum::<i64>(), 3000);
        assert_eq!(ch.refunds[0].metadata.get("refund_id").map(String::as_str), Some("r-1"));
        // Newer API versions leave `refunds` out of the charge.
        let bare = r#"{"id":"evt_x","type":"charge.refunded","created":1,"livemode":false,
          "data":{"object":{"id":"ch_1","object":"charge","amount":10,"amount_refunded":10,"currency":"usd","payment_intent":null}}}"#;
        let EventObject::Charge(ch) = parse_event(bare.as_bytes()).unwrap().object else { panic!() };
        assert!(ch.refunds.is_empty());
    }

    #[test]
    fn other_objects_and_bad_payloads() {
        let body = r#"{"id":"evt_o","type":"customer.created","created":1,"livemode":false,
          "data":{"object":{"id":"cus_1","object":"customer"}}}"#;
        let ev = parse_event(body.as_bytes()).unwrap();
        assert!(matches!(ev.object, EventObject::Other(ref v) if v["id"] == "cus_1"));
        assert!(matches!(parse_event(b"not json"), Err(WebhookError::Payload(_))));
        assert!(matches!(parse_event(br#"{"id":"evt","type":"x","created":1}"#), Err(WebhookError::Payload(_))));
        let broken = r#"{"id":"evt_b","type":"payment_intent.succeeded","created":1,
          "data":{"object":{"object":"payment_intent","amount":"lots"}}}"#;
        assert!(matches!(parse_event(broken.as_bytes()), Err(WebhookError::Payload(_))));
    }
}
