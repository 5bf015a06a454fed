//! Sending webhook deliveries: a queue job per delivery, run by any worker.
//!
//! Each attempt POSTs the stored body with
//! - `Praxis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with
//!   the endpoint's secret — the scheme Stripe uses, so any Stripe-style verifier checks it;
//! - `Praxis-Event` (the event name), `Praxis-Event-Id` and `Praxis-Delivery`.
//!
//! A 2xx answer within the timeout is delivered. Anything else (no answer, a refused
//! connection, a 3xx, 4xx or 5xx) is retried with the queue's back-off until the
//! attempts run out; then the delivery is dead, its last error kept, and the
//! administrators see an alert. Nothing is held in a transaction while waiting for the
//! endpoint, and a worker that dies mid-attempt leaves the job to be claimed again.

use crate::Services;
use crate::crypto::aad;
use crate::error::{ServiceError, ServiceResult};
use crate::notifications::queue::{Claimed, Outcome, backoff};
use jiff::Timestamp;
use praxis_store::integrations::webhooks::{self, AttemptRecord, DeliveryRow};
use praxis_store::jobs;
use serde::Deserialize;
use uuid::Uuid;

/// The queue job kind that sends one webhook delivery.
pub const WEBHOOK_JOB: &str = "webhook";

#[derive(Deserialize)]
struct DeliveryJob {
    delivery_id: Uuid,
}

/// The signature header value for `body` signed with `secret` at `unix` seconds.
pub fn signature(body: &[u8], secret: &str, unix: i64) -> String {
    praxis_stripe::webhook::sign(body, secret, unix)
}

/// What one attempt came to.
enum Sent {
    Delivered { status: u16 },
    Failed { status: Option<u16>, error: String },
}

impl Services {
    /// The HTTP client deliveries are sent with (built once; no redirects are followed:
    /// a receiver that moved must be registered at its new address).
    fn webhook_client(&self) -> ServiceResult<reqwest::Client> {
        static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
        if let Some(c) = CLIENT.get() {
            return Ok(c.clone());
        }
        let c = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Praxis-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ServiceError::Internal(format!("webhook client: {e}")))?;
        Ok(CLIENT.get_or_init(|| c).clone())
    }

    /// Runs one webhook job: one attempt, and its outcome recorded on the delivery and
    /// the job together.
    pub(crate) async fn process_webhook_job(&self, c: &Claimed) -> ServiceResult<Outcome> {
        let delivery = match serde_json::from_str::<DeliveryJob>(&c.job.payload) {
            Ok(j) => webhooks::delivery(self.db(), j.delivery_id).await?,
            Err(_) => None,
        };
        let Some(d) = delivery else {
            return self.record_dead_job(c, "the job names no webhook delivery that exists").await;
        };
        let now = self.now();
        if d.status == "delivered" {
            let mut tx = self.db().begin().await?;
            let held = jobs::complete(&mut tx, c.job.id, &c.claim, now).await?;
            tx.commit().await?;
            return Ok(if held { Outcome::Done("already delivered".into()) } else { Outcome::LeaseLost });
        }
        let endpoint = webhooks::endpoint(self.db(), d.endpoint_id).await?;
        let Some(endpoint) = endpoint.filter(|e| e.active) else {
            return self.cancel_delivery(c, &d, "the endpoint was removed or paused", now).await;
        };
        let secret =
            match self.keys().open_str(&aad("webhook_endpoints", "secret", endpoint.id), &endpoint.secret_sealed) {
                Ok(s) => s,
                Err(e) => {
                    let err = self.damaged("The webhook endpoint's signing secret", "webhook_endpoint", endpoint.id, e);
                    return self
                        .finish_delivery(c, &d, Sent::Failed { status: None, error: err.to_string() }, 0, true)
                        .await;
                }
            };
        let started = std::time::Instant::now();
        let sent = self.send_delivery(&endpoint.url, &d, &secret, now).await?;
        let elapsed = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.finish_delivery(c, &d, sent, elapsed, false).await
    }

    async fn send_delivery(&self, url: &str, d: &DeliveryRow, secret: &str, now: Timestamp) -> ServiceResult<Sent> {
        let client = self.webhook_client()?;
        let timeout = self.settings().webhook_timeout.unsigned_abs();
        let result = client
            .post(url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Praxis-Event", &d.event_type)
            .header("Praxis-Event-Id", d.event_id.to_string())
            .header("Praxis-Delivery", d.id.to_string())
            .header("Praxis-Signature", signature(d.payload.as_bytes(), secret, now.as_second()))
            .body(d.payload.clone())
            .send()
            .await;
        Ok(match result {
            Ok(resp) if resp.status().is_success() => Sent::Delivered { status: resp.status().as_u16() },
            Ok(resp) => {
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                let excerpt: String = text.chars().take(200).collect();
                let error = if excerpt.trim().is_empty() {
                    format!("the endpoint answered HTTP {status}")
                } else {
                    format!("the endpoint answered HTTP {status}: {}", excerpt.trim())
                };
                Sent::Failed { status: Some(status), error }
            }
            Err(e) if e.is_timeout() => {
                Sent::Failed { status: None, error: format!("no answer within {} s", timeout.as_secs_f64()) }
            }
            Err(e) if e.is_connect() => Sent::Failed { status: None, error: format!("could not connect: {e}") },
            Err(e) => Sent::Failed { status: None, error: format!("the request failed: {e}") },
        })
    }

    /// Records an attempt's outcome on the delivery and its job in one transaction.
    async fn finish_delivery(
        &self,
        c: &Claimed,
        d: &DeliveryRow,
        sent: Sent,
        duration_ms: i64,
        give_up: bool,
    ) -> ServiceResult<Outcome> {
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let (record, outcome) = match sent {
            Sent::Delivered { status } => {
                if !jobs::complete(&mut tx, c.job.id, &c.claim, now).await? {
                    return Ok(Outcome::LeaseLost);
                }
                let r = AttemptRecord {
                    status: "delivered",
                    http_status: Some(i64::from(status)),
                    error: None,
                    duration_ms,
                };
                (r, Outcome::Done(format!("HTTP {status}")))
            }
            Sent::Failed { status, error } if !give_up && c.job.attempts < c.job.max_attempts => {
                let at = now
                    .saturating_add(backoff(self.settings().retry_base, self.settings().retry_cap, c.job.attempts))
                    .unwrap_or(now);
                if !jobs::fail(&mut tx, c.job.id, &c.claim, &error, Some(at), now).await? {
                    return Ok(Outcome::LeaseLost);
                }
                let r = AttemptRecord {
                    status: "retrying",
                    http_status: status.map(i64::from),
                    error: Some(error.clone()),
                    duration_ms,
                };
                (r, Outcome::Retry(error, at))
            }
            Sent::Failed { status, error } => {
                if !jobs::fail(&mut tx, c.job.id, &c.claim, &error, None, now).await? {
                    return Ok(Outcome::LeaseLost);
                }
                let message = format!(
                    "A webhook delivery ({}) could not be delivered after {} attempts: {error}. \
                     Resend it from Administration → Integrations once the receiver works.",
                    d.event_type, c.job.attempts
                );
                praxis_store::backups::alerts::open(
                    &mut tx,
                    &format!("webhook_dead:{}", d.endpoint_id),
                    "webhook_dead",
                    &message,
                    now,
                )
                .await?;
                let r = AttemptRecord {
                    status: "dead",
                    http_status: status.map(i64::from),
                    error: Some(error.clone()),
                    duration_ms,
                };
                (r, Outcome::Dead(error))
            }
        };
        webhooks::record_attempt(&mut tx, d.id, &record, now).await?;
        tx.commit().await?;
        metrics::counter!("praxis_webhook_deliveries_total", "outcome" => record.status).increment(1);
        Ok(outcome)
    }

    /// A delivery whose endpoint is gone or paused: nothing is sent, and it says why.
    async fn cancel_delivery(&self, c: &Claimed, d: &DeliveryRow, why: &str, now: Timestamp) -> ServiceResult<Outcome> {
        let mut tx = self.db().begin().await?;
        if !jobs::cancel_claimed(&mut tx, c.job.id, &c.claim, why, now).await? {
            return Ok(Outcome::LeaseLost);
        }
        let r = AttemptRecord { status: "dead", http_status: None, error: Some(why.into()), duration_ms: 0 };
        webhooks::record_attempt(&mut tx, d.id, &r, now).await?;
        tx.commit().await?;
        Ok(Outcome::Cancelled(why.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_stripes_scheme_and_checks_out() {
        let body = br#"{"id":"1","type":"patient.created"}"#;
        let h = signature(body, "whsec_test", 1_700_000_000);
        assert!(h.starts_with("t=1700000000,v1="));
        assert!(praxis_stripe::webhook::verify(body, &h, "whsec_test", 1_700_000_010, 300).is_ok());
        assert!(praxis_stripe::webhook::verify(b"{}", &h, "whsec_test", 1_700_000_010, 300).is_err());
        assert!(praxis_stripe::webhook::verify(body, &h, "whsec_other", 1_700_000_010, 300).is_err());
    }
}
