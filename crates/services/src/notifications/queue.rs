//! Running jobs: claim with a lease, do the work outside any transaction, record the
//! outcome while the lease is still ours.
//!
//! - A failure that may pass (connection refused, SMTP 4xx, HTTP 429/5xx) is retried with
//!   exponential back-off and jitter (`retry_base · 2^(attempt−1)`, at most `retry_cap`,
//!   ±25 %), up to the job's limit; then the job is `dead` with its last error kept.
//! - A failure that will not pass (SMTP 5xx, HTTP 4xx, a message that cannot be rendered,
//!   a patient without the address) goes to `dead` at once. Either way the queue moves on
//!   and every administrator gets a failure alert by email.
//! - A message that no longer makes sense (a reminder for an appointment that was
//!   cancelled or moved, a channel the patient turned off) is `cancelled`, not sent.
//! - An SMS due in the patient's quiet hours is given back, due at their end, without
//!   counting an attempt.

use super::templates::{AppointmentFacts, MessageData, RenderInput, Template, render_message};
use super::transport::{OutgoingEmail, OutgoingSms, SendError, Transports};
use super::{Channel, EnqueueMessage, MESSAGE_JOB, MessagePayload, after_quiet_hours, in_quiet_hours, message_id_for};
use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use jiff::{SignedDuration, Timestamp};
use praxis_domain::AppointmentId;
use praxis_store::jobs::{self, JobRow, QueueStats};
use praxis_store::messages::{self, MessageRow};

/// A claimed job and the claim that holds its lease.
#[derive(Clone, Debug)]
pub struct Claimed {
    /// The job as claimed (attempts already counts this one).
    pub job: JobRow,
    /// The unique claim token (`locked_by`).
    pub claim: String,
}

/// How a job ended this time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done (sent), with the provider's id.
    Done(String),
    /// Failed; due again at the given time.
    Retry(String, Timestamp),
    /// Failed for good.
    Dead(String),
    /// No longer needed.
    Cancelled(String),
    /// Given back untried, due again at the given time (quiet hours, shutdown).
    Released(Timestamp),
    /// The lease was lost before the outcome could be recorded (another worker has it now).
    LeaseLost,
}

/// Exponential back-off with ±25 % jitter for the `attempt`-th failure (from 1).
pub fn backoff(base: SignedDuration, cap: SignedDuration, attempt: i64) -> SignedDuration {
    let exp = attempt.clamp(1, 30) - 1;
    let raw = base.as_secs_f64() * 2f64.powi(exp as i32);
    let capped = raw.min(cap.as_secs_f64()).max(0.0);
    let jitter = 0.75 + rand::random::<f64>() * 0.5;
    SignedDuration::from_secs_f64(capped * jitter)
}

/// What happened to one message before the outcome is recorded.
enum Attempt {
    Send(Result<String, SendError>),
    Unrenderable(String),
    Stale(String),
    Wait(Timestamp),
}

impl Services {
    /// Claims up to `limit` due jobs for this worker (a short transaction of its own, then
    /// commit). `worker` names the process in `locked_by`; each claim adds a unique suffix.
    pub async fn claim_jobs(&self, worker: &str, limit: i64) -> ServiceResult<Vec<Claimed>> {
        let now = self.now();
        let lease_until = now.saturating_add(self.settings().job_lease).unwrap_or(now);
        let claim = format!("{worker}/{}", uuid::Uuid::now_v7().simple());
        let rows = jobs::claim(self.db(), now, lease_until, &claim, limit).await?;
        for r in &rows {
            if r.attempts > 1 {
                tracing::info!(job = %r.id, kind = %r.kind, attempt = r.attempts, key = %r.idempotency_key,
                    "retrying job (attempt {} of {})", r.attempts, r.max_attempts);
            }
        }
        Ok(rows.into_iter().map(|job| Claimed { job, claim: claim.clone() }).collect())
    }

    /// Runs one claimed job and records the outcome. Never fails for the job's own
    /// reasons (those become the outcome); only a database error is returned, in which
    /// case the lease simply expires and the job is claimed again.
    pub async fn process_job(&self, c: &Claimed, transports: &Transports) -> ServiceResult<Outcome> {
        match c.job.kind.as_str() {
            MESSAGE_JOB => self.process_message(c, transports).await,
            crate::billing::online::REFUND_JOB | crate::billing::online::CANCEL_JOB => {
                self.process_payment_job(c).await
            }
            crate::billing::automatic::BILLING_JOB => self.process_billing_job(c).await,
            crate::backups::BACKUP_JOB => self.process_backup_job(c).await,
            crate::integrations::WEBHOOK_JOB => self.process_webhook_job(c).await,
            other => self.record_dead_job(c, &format!("unknown job kind {other:?}")).await,
        }
    }

    /// Gives a claimed job back untouched (graceful shutdown).
    pub async fn release_job(&self, c: &Claimed) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.db().begin().await?;
        jobs::release(&mut tx, c.job.id, &c.claim, now, now).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn record_dead_job(&self, c: &Claimed, reason: &str) -> ServiceResult<Outcome> {
        let now = self.now();
        let admins = messages::admin_emails(self.db()).await?;
        let mut tx = self.db().begin().await?;
        if !jobs::fail(&mut tx, c.job.id, &c.claim, reason, None, now).await? {
            return Ok(Outcome::LeaseLost);
        }
        self.alert_admins(&mut tx, &admins, c, None, reason, now).await?;
        tx.audit(self.audit_entry(
            &Actor::system("worker"),
            "job.dead",
            "job",
            Some(c.job.id.to_string()),
            format!("{} job gave up: {reason}", c.job.kind),
        ));
        tx.commit().await?;
        tracing::error!(job = %c.job.id, kind = %c.job.kind, error = %reason, "job is dead");
        Ok(Outcome::Dead(reason.to_string()))
    }

    async fn process_message(&self, c: &Claimed, transports: &Transports) -> ServiceResult<Outcome> {
        let payload: Option<MessagePayload> = serde_json::from_str(&c.job.payload).ok();
        let msg = match payload {
            Some(p) => messages::get(self.db(), p.message_id).await?,
            None => None,
        };
        let Some(msg) = msg else {
            return self.record_dead_job(c, "the job names no message that exists").await;
        };
        let attempt = if c.job.attempts > c.job.max_attempts {
            Attempt::Unrenderable(format!("gave up after {} attempts", c.job.max_attempts))
        } else {
            self.attempt_message(c, &msg, transports).await?
        };
        self.record_message_outcome(c, &msg, attempt).await
    }

    /// Renders (from the data as it is now) and sends one message.
    async fn attempt_message(&self, c: &Claimed, msg: &MessageRow, transports: &Transports) -> ServiceResult<Attempt> {
        let now = self.now();
        let Ok(template) = msg.template.parse::<Template>() else {
            return Ok(Attempt::Unrenderable(format!("unknown message template {:?}", msg.template)));
        };
        let Ok(channel) = msg.channel.parse::<Channel>() else {
            return Ok(Attempt::Unrenderable(format!("unknown channel {:?}", msg.channel)));
        };
        let data: MessageData = match serde_json::from_str(&msg.data) {
            Ok(d) => d,
            Err(e) => return Ok(Attempt::Unrenderable(format!("the message data is unreadable: {e}"))),
        };
        let appointment = match msg.appointment_id {
            Some(id) => match praxis_store::appointments::get(self.db(), AppointmentId(id)).await? {
                Some(r) => Some(AppointmentFacts {
                    id: r.id,
                    number: r.number,
                    status: r.status,
                    clinic_name: r.clinic_name,
                    clinic_address: r.clinic_address,
                    zone: crate::scheduling::zone_named(&r.time_zone),
                    provider_name: r.provider_name,
                    service_name: r.service_name,
                    start: r.starts_at.0,
                    end: r.ends_at.0,
                    video_url: r.video_url,
                    cancel_reason: r.cancel_reason,
                    version: r.version,
                    updated_at: r.updated_at.0,
                }),
                None => return Ok(Attempt::Unrenderable("the appointment no longer exists".into())),
            },
            None => None,
        };
        let (invoice, files) = if template.is_billing() {
            match self.billing_message(template, &data).await? {
                crate::billing::BillingMessage::Ready(facts, files) => (Some(facts), files),
                crate::billing::BillingMessage::Stale(why) => return Ok(Attempt::Stale(why)),
                crate::billing::BillingMessage::Unrenderable(why) => return Ok(Attempt::Unrenderable(why)),
            }
        } else {
            (None, Vec::new())
        };
        // Is it still worth sending?
        if let Some(a) = &appointment {
            match template {
                Template::Reminder => {
                    if a.status != "confirmed" {
                        return Ok(Attempt::Stale(format!("the appointment is {}; no reminder", a.status)));
                    }
                    if data.expected_start.is_some_and(|s| s != a.start) {
                        return Ok(Attempt::Stale("the appointment moved; this reminder was for the old time".into()));
                    }
                    if a.start <= now {
                        return Ok(Attempt::Stale("the appointment has already started".into()));
                    }
                }
                Template::Confirmation if matches!(a.status.as_str(), "cancelled" | "expired") => {
                    return Ok(Attempt::Stale(format!("the appointment is {}", a.status)));
                }
                Template::WaitlistOffer if a.status != "held" || data.offer_expires.is_some_and(|e| e <= now) => {
                    return Ok(Attempt::Stale("the offer is closed".into()));
                }
                _ => {}
            }
        }
        let (given_name, recipient, to_name) = match msg.patient_id {
            Some(p) => {
                let Some(contact) = messages::contact(self.db(), p).await? else {
                    return Ok(Attempt::Unrenderable("the patient no longer exists".into()));
                };
                let (enabled, address) = match channel {
                    Channel::Email => (contact.email_enabled, contact.email.clone()),
                    Channel::Sms => (contact.sms_enabled, contact.phone.clone()),
                };
                if !enabled {
                    return Ok(Attempt::Stale(format!("the patient turned {} messages off", channel.as_str())));
                }
                let Some(address) = address else {
                    return Ok(Attempt::Unrenderable(format!(
                        "the patient has no {} on record",
                        if channel == Channel::Email { "email address" } else { "phone number" }
                    )));
                };
                if channel == Channel::Sms {
                    let zone = appointment
                        .as_ref()
                        .map(|a| a.zone.clone())
                        .unwrap_or_else(|| self.settings().display_zone.clone());
                    let z = now.to_zoned(zone.clone());
                    let minute = i64::from(z.hour()) * 60 + i64::from(z.minute());
                    if in_quiet_hours(minute, contact.quiet_start_min, contact.quiet_end_min) {
                        let morning = after_quiet_hours(now, &zone, contact.quiet_start_min, contact.quiet_end_min);
                        if template == Template::Reminder && appointment.as_ref().is_some_and(|a| morning >= a.start) {
                            return Ok(Attempt::Stale("quiet hours last until the appointment".into()));
                        }
                        return Ok(Attempt::Wait(morning));
                    }
                }
                let name = format!("{} {}", contact.given_name, contact.family_name).trim().to_string();
                (contact.given_name, address, name)
            }
            None => (String::new(), msg.recipient.clone(), String::new()),
        };
        let reply_url = match (template, &appointment, msg.patient_id) {
            (Template::Reminder, Some(a), Some(p)) => {
                Some(self.reply_url(praxis_domain::AppointmentId(a.id), praxis_domain::PatientId(p), a.start)?)
            }
            _ => None,
        };
        let rendered = match render_message(&RenderInput {
            template,
            given_name: &given_name,
            appointment: appointment.as_ref(),
            invoice: invoice.as_ref(),
            data: &data,
            base_url: &self.settings().public_base_url,
            reply_url: reply_url.as_deref(),
            now,
        }) {
            Ok(r) => r,
            Err(e) => return Ok(Attempt::Unrenderable(e.to_string())),
        };
        let key = &c.job.idempotency_key;
        let result = match channel {
            Channel::Email => {
                let email = OutgoingEmail {
                    to: recipient,
                    to_name,
                    subject: rendered.subject,
                    text: rendered.text,
                    html: rendered.html,
                    calendar: rendered.calendar,
                    files,
                    message_id: message_id_for(key, &self.settings().public_base_url),
                    idempotency_key: key.clone(),
                };
                transports.mailer.send(&email).await
            }
            Channel::Sms => {
                let sms = OutgoingSms { to: recipient, body: rendered.sms, idempotency_key: key.clone() };
                transports.sms.send(&sms).await
            }
        };
        Ok(Attempt::Send(result))
    }

    async fn record_message_outcome(&self, c: &Claimed, msg: &MessageRow, attempt: Attempt) -> ServiceResult<Outcome> {
        let now = self.now();
        let attempts = c.job.attempts;
        let channel = msg.channel.clone();
        let (outcome, alert) = match attempt {
            Attempt::Send(Ok(id)) => (Outcome::Done(id), false),
            Attempt::Send(Err(SendError::Permanent(e))) | Attempt::Unrenderable(e) => (Outcome::Dead(e), true),
            Attempt::Send(Err(SendError::Transient(e))) if attempts >= c.job.max_attempts => {
                (Outcome::Dead(format!("{e} (gave up after {attempts} attempts)")), true)
            }
            Attempt::Send(Err(SendError::Transient(e))) => {
                let delay = backoff(self.settings().retry_base, self.settings().retry_cap, attempts);
                (Outcome::Retry(e, now.saturating_add(delay).unwrap_or(now)), false)
            }
            Attempt::Stale(why) => (Outcome::Cancelled(why), false),
            Attempt::Wait(at) => (Outcome::Released(at), false),
        };
        let is_alert = msg.template == Template::Alert.as_str();
        let admins = if alert && !is_alert { messages::admin_emails(self.db()).await? } else { Vec::new() };
        let mut tx = self.db().begin().await?;
        let held = match &outcome {
            Outcome::Done(id) => {
                let ok = jobs::complete(&mut tx, c.job.id, &c.claim, now).await?;
                if ok {
                    messages::set_status(&mut tx, msg.id, "sent", Some(attempts), None, Some(id), None, now).await?;
                }
                ok
            }
            Outcome::Retry(e, at) => {
                let ok = jobs::fail(&mut tx, c.job.id, &c.claim, e, Some(*at), now).await?;
                if ok {
                    messages::set_status(&mut tx, msg.id, "failed", Some(attempts), Some(e), None, None, now).await?;
                }
                ok
            }
            Outcome::Dead(e) => {
                let ok = jobs::fail(&mut tx, c.job.id, &c.claim, e, None, now).await?;
                if ok {
                    messages::set_status(&mut tx, msg.id, "dead", Some(attempts), Some(e), None, None, now).await?;
                    if !is_alert {
                        self.alert_admins(&mut tx, &admins, c, Some(msg), e, now).await?;
                    }
                    tx.audit(self.audit_entry(
                        &Actor::system("worker"),
                        "message.dead",
                        "message",
                        Some(msg.id.to_string()),
                        format!("{} {} to {} gave up: {e}", msg.template, msg.channel, msg.recipient),
                    ));
                }
                ok
            }
            Outcome::Cancelled(why) => {
                let ok = jobs::cancel_claimed(&mut tx, c.job.id, &c.claim, why, now).await?;
                if ok {
                    messages::set_status(&mut tx, msg.id, "cancelled", None, Some(why), None, None, now).await?;
                }
                ok
            }
            Outcome::Released(at) => {
                let ok = jobs::release(&mut tx, c.job.id, &c.claim, *at, now).await?;
                if ok {
                    messages::set_status(&mut tx, msg.id, "pending", None, None, None, None, now).await?;
                }
                ok
            }
            Outcome::LeaseLost => false,
        };
        if !held {
            drop(tx);
            tracing::warn!(job = %c.job.id, "the job's lease expired before its outcome was recorded; \
                another worker owns it now");
            return Ok(Outcome::LeaseLost);
        }
        tx.commit().await?;
        match &outcome {
            Outcome::Done(_) => metrics::counter!("praxis_messages_sent_total", "channel" => channel).increment(1),
            Outcome::Retry(e, at) => {
                metrics::counter!("praxis_messages_failed_total", "channel" => channel, "outcome" => "retry")
                    .increment(1);
                tracing::warn!(job = %c.job.id, attempt = attempts, error = %e, retry_at = %at,
                    "message not sent; will retry");
            }
            Outcome::Dead(e) => {
                metrics::counter!("praxis_messages_failed_total", "channel" => channel, "outcome" => "dead")
                    .increment(1);
                tracing::error!(job = %c.job.id, message = %msg.id, error = %e, "message is dead; administrators alerted");
            }
            _ => {}
        }
        Ok(outcome)
    }

    /// Queues a failure alert to every administrator (in the transaction that records the
    /// death).
    async fn alert_admins(
        &self,
        tx: &mut praxis_store::Tx,
        admins: &[String],
        c: &Claimed,
        msg: Option<&MessageRow>,
        reason: &str,
        now: Timestamp,
    ) -> ServiceResult<()> {
        let (subject, body) = match msg {
            Some(m) => (
                format!("A {} {} could not be sent", Template::label_of(&m.template), m.channel),
                format!(
                    "The {} {} to {}{}{} could not be sent and will not be retried.\n\nReason: {reason}\n\n\
                     It is listed under Messages with status \"dead\"; after fixing the cause (for example the \
                     patient's address) you can send it again from there.",
                    Template::label_of(&m.template).to_lowercase(),
                    m.channel,
                    m.recipient,
                    m.patient_name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default(),
                    m.appointment_number.as_deref().map(|n| format!(" about appointment {n}")).unwrap_or_default(),
                ),
            ),
            None => (
                format!("A background job ({}) failed", c.job.kind),
                format!("The {} job {} failed and will not be retried.\n\nReason: {reason}", c.job.kind, c.job.id),
            ),
        };
        let key = format!("message_dead:{}", c.job.id);
        praxis_store::backups::alerts::open(tx, &key, "message_dead", &subject, now).await?;
        metrics::counter!("praxis_alerts_total", "kind" => "message_dead").increment(1);
        self.email_admins(tx, admins, &format!("alert:{}", c.job.id), &subject, &body, now).await
    }

    /// Queues one alert email to each administrator (in the caller's transaction); the
    /// key makes a second call for the same incident a no-op.
    pub(crate) async fn email_admins(
        &self,
        tx: &mut praxis_store::Tx,
        admins: &[String],
        key: &str,
        subject: &str,
        body: &str,
        now: Timestamp,
    ) -> ServiceResult<()> {
        let data = MessageData { subject: Some(subject.into()), body: Some(body.into()), ..Default::default() };
        let data = serde_json::to_string(&data).map_err(|e| ServiceError::Internal(e.to_string()))?;
        if admins.is_empty() {
            tracing::error!(%key, "no active administrator to alert");
        }
        for admin in admins {
            self.enqueue_message(
                tx,
                EnqueueMessage {
                    template: Template::Alert,
                    channel: Channel::Email,
                    recipient: admin.clone(),
                    patient_id: None,
                    appointment_id: None,
                    data: data.clone(),
                    key: format!("{key}:{admin}"),
                    run_at: now,
                },
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// The queue at a glance (for `/readyz` and metrics).
    pub async fn queue_stats(&self) -> ServiceResult<QueueStats> {
        Ok(jobs::stats(self.db(), self.now()).await?)
    }

    /// Updates the queue gauges (depth, age of the oldest due job, running, dead) and the
    /// per-channel message counts from the database, so every instance reports the
    /// cluster-wide figures whichever worker sent the messages.
    pub async fn refresh_queue_metrics(&self) -> ServiceResult<QueueStats> {
        let s = self.queue_stats().await?;
        let now = self.now();
        metrics::gauge!("praxis_job_queue_depth").set(s.due as f64);
        metrics::gauge!("praxis_job_queue_waiting").set(s.waiting as f64);
        metrics::gauge!("praxis_job_queue_running").set(s.running as f64);
        metrics::gauge!("praxis_job_queue_abandoned").set(s.abandoned as f64);
        metrics::gauge!("praxis_job_queue_dead").set(s.dead as f64);
        let age = s.oldest_due.map(|t| now.duration_since(t).as_secs_f64().max(0.0)).unwrap_or(0.0);
        metrics::gauge!("praxis_job_oldest_due_age_seconds").set(age);
        for (channel, status, n) in messages::counts(self.db()).await? {
            metrics::gauge!("praxis_messages", "channel" => channel, "status" => status).set(n as f64);
        }
        Ok(s)
    }
}

impl Template {
    /// The label of a stored template name (the name itself when unknown).
    pub fn label_of(name: &str) -> String {
        name.parse::<Template>().map(|t| t.label().to_string()).unwrap_or_else(|_| name.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_up_to_the_cap() {
        let base = SignedDuration::from_secs(30);
        let cap = SignedDuration::from_secs(3600);
        for attempt in 1..=12 {
            let d = backoff(base, cap, attempt).as_secs_f64();
            let ideal = (30.0 * 2f64.powi(attempt as i32 - 1)).min(3600.0);
            assert!(d >= ideal * 0.75 - 1e-6 && d <= ideal * 1.25 + 1e-6, "attempt {attempt}: {d} vs {ideal}");
        }
    }
}
