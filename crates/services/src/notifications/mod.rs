//! Notifications: a durable outbox of email and SMS on top of the job queue.
//!
//! - Scheduling enqueues messages inside the transaction of the change that causes them
//!   (booking, confirmation, cancellation, move, waiting-list offer), one job per
//!   recipient and channel, each with an idempotency key; a cancellation or move cancels
//!   the appointment's waiting reminders in that same transaction and, for a move, queues
//!   new ones at the new time.
//! - Workers ([`Services::claim_jobs`], [`Services::process_job`]) send them; see
//!   [`queue`] for leases, retries and what happens when a message cannot be sent.
//! - Patients choose email and/or SMS and quiet hours ([`Services::set_preferences`]);
//!   staff see every message with its status and can retry or cancel it.

pub mod queue;
pub mod replies;
pub mod reply_link;
pub mod templates;
pub mod transport;

use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use crate::users::{Page, PageRequest};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use praxis_domain::permissions::Scope;
use praxis_domain::{AppointmentId, PatientId, Permission, Validation};
use praxis_store::Tx;
use praxis_store::jobs::{self, NewJob};
use praxis_store::messages::{self, ContactRow, MessageFilter, MessageRow, NewMessage};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
pub use templates::{MessageData, Template};
use uuid::Uuid;

/// The job kind that sends one message.
pub const MESSAGE_JOB: &str = "message";

/// A delivery channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email.
    Email,
    /// SMS.
    Sms,
}

impl Channel {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
    /// Attempts before a message on this channel is dead.
    pub fn max_attempts(self) -> i64 {
        match self {
            Channel::Email => 10,
            Channel::Sms => 8,
        }
    }
}

impl std::str::FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "email" => Ok(Channel::Email),
            "sms" => Ok(Channel::Sms),
            other => Err(format!("unknown channel {other:?}")),
        }
    }
}

/// What the job payload of a message holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MessagePayload {
    /// The message row.
    pub message_id: Uuid,
}

/// The stable, globally unique id of a message derived from its idempotency key: the
/// same job always produces the same `Message-ID`, so a retry is recognisable.
pub fn message_id_for(idempotency_key: &str, base_url: &str) -> String {
    let digest = hex::encode(Sha256::digest(idempotency_key.as_bytes()));
    let host = base_url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(base_url)
        .split(['/', ':'])
        .next()
        .filter(|h| !h.is_empty())
        .unwrap_or("praxis.local");
    format!("{}.praxis@{host}", &digest[..32])
}

/// Whether a local minute of the day falls in quiet hours `[start, end)` (which may wrap
/// past midnight).
pub fn in_quiet_hours(minute: i64, start: i64, end: i64) -> bool {
    if start == end {
        false
    } else if start < end {
        minute >= start && minute < end
    } else {
        minute >= start || minute < end
    }
}

/// The first instant at or after `t` outside the quiet hours in `zone`.
pub fn after_quiet_hours(t: Timestamp, zone: &TimeZone, start: i64, end: i64) -> Timestamp {
    let z = t.to_zoned(zone.clone());
    let minute = i64::from(z.hour()) * 60 + i64::from(z.minute());
    if !in_quiet_hours(minute, start, end) {
        return t;
    }
    let end_time = jiff::civil::Time::new((end / 60) as i8, (end % 60) as i8, 0, 0).unwrap_or_default();
    let date = if minute >= end { z.date().tomorrow().unwrap_or(z.date()) } else { z.date() };
    praxis_domain::schedule::local::date_time_to_instant(zone, date, end_time).unwrap_or(t)
}

/// An appointment a message is about, as the enqueueing code knows it.
#[derive(Clone, Debug)]
pub(crate) struct Appt {
    pub id: Uuid,
    pub start: Timestamp,
    pub zone: TimeZone,
}

impl Appt {
    pub(crate) fn of_row(r: &praxis_store::appointments::AppointmentRow) -> Self {
        Appt { id: r.id, start: r.starts_at.0, zone: crate::scheduling::zone_named(&r.time_zone) }
    }
}

/// What happened to appointments, for [`Services::notify`].
#[derive(Clone, Debug)]
pub(crate) enum Event {
    /// Booked (or confirmed): a confirmation, and reminders for each appointment.
    Booked,
    /// Cancelled: waiting reminders and confirmations are cancelled; a cancellation goes out.
    Cancelled,
    /// Moved (each appointment with its previous start): waiting reminders are cancelled and
    /// queued again at the new time; a message says where it moved.
    Moved(Vec<Timestamp>),
    /// Freed time offered from the waiting list.
    Offer { offer: Uuid, expires: Timestamp },
}

impl Services {
    /// A clinic's zone, read inside the transaction.
    pub(crate) async fn clinic_zone_tx(&self, tx: &mut Tx, clinic: praxis_domain::ClinicId) -> ServiceResult<TimeZone> {
        let name = messages::clinic_time_zone_tx(tx, clinic).await?.unwrap_or_else(|| "UTC".into());
        Ok(crate::scheduling::zone_named(&name))
    }

    /// Queues the messages an event causes, inside the caller's transaction. `appts[0]`
    /// is the appointment the message is about; the others (a series) are listed in it.
    /// `patients` are the recipients (by default everyone booked into `appts[0]`).
    pub(crate) async fn notify(
        &self,
        tx: &mut Tx,
        event: Event,
        appts: &[Appt],
        patients: Option<&[Uuid]>,
        now: Timestamp,
    ) -> ServiceResult<()> {
        let Some(main) = appts.first() else { return Ok(()) };
        let recipients = match patients {
            Some(p) => p.to_vec(),
            None => messages::booked_patients_tx(tx, main.id).await?,
        };
        if recipients.is_empty() {
            return Ok(());
        }
        let contacts = messages::contacts_tx(tx, &recipients).await?;
        let stamp = now.as_microsecond();
        for c in &contacts {
            let patient = Some(c.patient_id);
            match &event {
                Event::Booked => {
                    let data = MessageData { also: appts[1..].iter().map(|a| a.start).collect(), ..Default::default() };
                    let key = format!("confirmation:{}:{}", main.id, c.patient_id);
                    self.queue_to_patient(tx, c, Template::Confirmation, main, &key, &data, now, None).await?;
                    for a in appts {
                        self.queue_reminders(tx, c, a, now).await?;
                    }
                }
                Event::Cancelled => {
                    for a in appts {
                        messages::cancel_waiting_for_appointment(
                            tx,
                            a.id,
                            patient,
                            &["reminder", "confirmation", "reschedule"],
                            "appointment cancelled before this was sent",
                            now,
                        )
                        .await?;
                    }
                    let data = MessageData { also: appts[1..].iter().map(|a| a.start).collect(), ..Default::default() };
                    let key = format!("cancellation:{}:{}", main.id, c.patient_id);
                    self.queue_to_patient(tx, c, Template::Cancellation, main, &key, &data, now, None).await?;
                }
                Event::Moved(previous) => {
                    for a in appts {
                        messages::cancel_waiting_for_appointment(
                            tx,
                            a.id,
                            patient,
                            &["reminder"],
                            "appointment moved; reminders were queued again for the new time",
                            now,
                        )
                        .await?;
                        self.queue_reminders(tx, c, a, now).await?;
                    }
                    let data = MessageData {
                        previous_start: previous.first().copied(),
                        also: appts[1..].iter().map(|a| a.start).collect(),
                        ..Default::default()
                    };
                    let key = format!("reschedule:{}:{}:{stamp}", main.id, c.patient_id);
                    self.queue_to_patient(tx, c, Template::Reschedule, main, &key, &data, now, None).await?;
                }
                Event::Offer { offer, expires } => {
                    let data =
                        MessageData { offer_id: Some(*offer), offer_expires: Some(*expires), ..Default::default() };
                    let key = format!("offer:{offer}");
                    self.queue_to_patient(tx, c, Template::WaitlistOffer, main, &key, &data, now, Some(*expires))
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Reminders for one appointment at each configured lead time still in the future.
    async fn queue_reminders(&self, tx: &mut Tx, c: &ContactRow, a: &Appt, now: Timestamp) -> ServiceResult<()> {
        for lead in &self.settings().reminder_leads {
            let Ok(at) = a.start.checked_sub(*lead) else { continue };
            if at <= now {
                continue;
            }
            let minutes = lead.as_mins();
            let data = MessageData { expected_start: Some(a.start), lead_minutes: Some(minutes), ..Default::default() };
            let key = format!(
                "reminder:{}:{}:{minutes}m:{}:{}",
                a.id,
                c.patient_id,
                a.start.as_microsecond(),
                now.as_microsecond()
            );
            self.queue_to_patient_at(tx, c, Template::Reminder, a, &key, &data, at, now, Some(a.start)).await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn queue_to_patient(
        &self,
        tx: &mut Tx,
        c: &ContactRow,
        template: Template,
        a: &Appt,
        key: &str,
        data: &MessageData,
        now: Timestamp,
        deadline: Option<Timestamp>,
    ) -> ServiceResult<()> {
        self.queue_to_patient_at(tx, c, template, a, key, data, now, now, deadline).await
    }

    /// One message per channel the patient can and wants to receive. An SMS due in quiet
    /// hours waits for their end; if that is after `deadline` (the appointment, the offer's
    /// expiry), the SMS is not sent at all.
    #[allow(clippy::too_many_arguments)]
    async fn queue_to_patient_at(
        &self,
        tx: &mut Tx,
        c: &ContactRow,
        template: Template,
        a: &Appt,
        key: &str,
        data: &MessageData,
        at: Timestamp,
        now: Timestamp,
        deadline: Option<Timestamp>,
    ) -> ServiceResult<()> {
        let payload_data = serde_json::to_string(data).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let channels = [
            (Channel::Email, c.email.clone().filter(|_| c.email_enabled)),
            (Channel::Sms, c.phone.clone().filter(|_| c.sms_enabled)),
        ];
        for (channel, recipient) in channels {
            let Some(recipient) = recipient else { continue };
            let mut run_at = at;
            if channel == Channel::Sms {
                run_at = after_quiet_hours(at, &a.zone, c.quiet_start_min, c.quiet_end_min);
                if deadline.is_some_and(|d| run_at >= d) {
                    continue;
                }
            }
            let key = format!("{key}:{}", channel.as_str());
            self.enqueue_message(
                tx,
                EnqueueMessage {
                    template,
                    channel,
                    recipient,
                    patient_id: Some(c.patient_id),
                    appointment_id: Some(a.id),
                    data: payload_data.clone(),
                    key,
                    run_at,
                },
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// Enqueues one message and its job inside `tx`. The same idempotency key never makes
    /// a second message.
    pub(crate) async fn enqueue_message(&self, tx: &mut Tx, m: EnqueueMessage, now: Timestamp) -> ServiceResult<bool> {
        let job_id = Uuid::now_v7();
        let message_id = Uuid::now_v7();
        let payload =
            serde_json::to_string(&MessagePayload { message_id }).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let created = jobs::enqueue(
            tx,
            &NewJob {
                id: job_id,
                kind: MESSAGE_JOB.into(),
                payload,
                run_at: m.run_at,
                max_attempts: m.channel.max_attempts(),
                idempotency_key: m.key,
            },
            now,
        )
        .await?;
        if created {
            messages::insert(
                tx,
                &NewMessage {
                    id: message_id,
                    job_id,
                    template: m.template.as_str().into(),
                    channel: m.channel.as_str().into(),
                    recipient: m.recipient,
                    patient_id: m.patient_id,
                    appointment_id: m.appointment_id,
                    subject: m.template.label().into(),
                    data: m.data,
                },
                now,
            )
            .await?;
        }
        Ok(created)
    }
}

/// A message to enqueue.
#[derive(Clone, Debug)]
pub struct EnqueueMessage {
    /// Template.
    pub template: Template,
    /// Channel.
    pub channel: Channel,
    /// Address or number.
    pub recipient: String,
    /// About this patient.
    pub patient_id: Option<Uuid>,
    /// About this appointment.
    pub appointment_id: Option<Uuid>,
    /// Template data (JSON of [`MessageData`]).
    pub data: String,
    /// Idempotency key.
    pub key: String,
    /// Not before.
    pub run_at: Timestamp,
}

/// A free-text notice to send by email (to staff; also what the failure alerts are).
#[derive(Clone, Debug)]
pub struct Notice {
    /// Email address.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Text.
    pub body: String,
}

impl Services {
    /// Queues notices by email in one transaction (administrators; maintenance and load
    /// tests). Each gets its own job and message.
    pub async fn enqueue_notices(&self, actor: &Actor, notices: &[Notice]) -> ServiceResult<usize> {
        self.authorize_all(actor, Permission::ManageMessages)?;
        let mut v = Validation::new();
        for n in notices {
            if praxis_domain::Email::parse(&n.to).is_err() {
                v.add("to", "invalid", format!("{:?} is not an email address.", n.to));
            }
        }
        v.finish()?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let mut made = 0;
        for n in notices {
            let data =
                MessageData { subject: Some(n.subject.clone()), body: Some(n.body.clone()), ..Default::default() };
            let data = serde_json::to_string(&data).map_err(|e| ServiceError::Internal(e.to_string()))?;
            let m = EnqueueMessage {
                template: Template::Alert,
                channel: Channel::Email,
                recipient: n.to.clone(),
                patient_id: None,
                appointment_id: None,
                data,
                key: format!("notice:{}", Uuid::now_v7()),
                run_at: now,
            };
            if self.enqueue_message(&mut tx, m, now).await? {
                made += 1;
            }
        }
        tx.audit(self.audit_entry(actor, "message.notices", "message", None, format!("{made} notice(s) queued")));
        tx.commit().await?;
        Ok(made)
    }
}

// ------------------------------------------------------------------ visibility

/// A message as staff see it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    /// Id.
    pub id: Uuid,
    /// Type.
    pub template: Template,
    /// Type for people.
    pub template_label: String,
    /// Channel.
    pub channel: Channel,
    /// Address or number.
    pub recipient: String,
    /// Patient.
    pub patient_id: Option<PatientId>,
    /// Patient's name.
    pub patient_name: Option<String>,
    /// Appointment.
    pub appointment_id: Option<AppointmentId>,
    /// Appointment number.
    pub appointment_number: Option<String>,
    /// `pending`, `sent`, `failed` (will retry), `dead` (gave up) or `cancelled`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The last error (or why it was cancelled).
    pub last_error: Option<String>,
    /// The provider's id of the sent message (`Message-ID`, SMS sid).
    pub provider_message_id: Option<String>,
    /// Queued at.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Due at (the next attempt, while pending or failed).
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    /// Sent at.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
}

fn view(r: MessageRow) -> ServiceResult<MessageView> {
    let template: Template = r.template.parse().map_err(ServiceError::Internal)?;
    let channel: Channel = r.channel.parse().map_err(ServiceError::Internal)?;
    Ok(MessageView {
        id: r.id,
        template,
        template_label: template.label().into(),
        channel,
        recipient: r.recipient,
        patient_id: r.patient_id.map(PatientId),
        patient_name: r.patient_name,
        appointment_id: r.appointment_id.map(AppointmentId),
        appointment_number: r.appointment_number,
        status: r.status,
        attempts: r.attempts,
        last_error: r.last_error,
        provider_message_id: r.provider_message_id,
        created_at: r.created_at.0,
        due_at: r.run_at.0,
        sent_at: r.sent_at.map(|t| t.0),
    })
}

/// Filters for the message list.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// `pending`, `sent`, `failed`, `dead` or `cancelled`.
    pub status: Option<String>,
    /// `email` or `sms`.
    pub channel: Option<String>,
    /// Message type (`confirmation`, `reminder`, …).
    pub template: Option<String>,
    /// About this appointment.
    pub appointment_id: Option<Uuid>,
    /// About this patient.
    pub patient_id: Option<Uuid>,
    /// Recipient contains.
    pub recipient: Option<String>,
    /// Page from 1.
    pub page: Option<i64>,
    /// Page size (default 50).
    pub per_page: Option<i64>,
}

/// Message statuses.
pub const STATUSES: [&str; 5] = ["pending", "sent", "failed", "dead", "cancelled"];

impl Services {
    /// Messages, newest first (staff and administrators).
    pub async fn list_messages(&self, actor: &Actor, q: &MessageQuery) -> ServiceResult<Page<MessageView>> {
        self.authorize_all(actor, Permission::ViewMessages)?;
        let mut v = Validation::new();
        let nonempty = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let status = nonempty(&q.status);
        if status.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
            v.add("status", "invalid", "Use pending, sent, failed, dead or cancelled.");
        }
        let channel = nonempty(&q.channel);
        if channel.as_deref().is_some_and(|c| c.parse::<Channel>().is_err()) {
            v.add("channel", "invalid", "Use email or sms.");
        }
        let template = nonempty(&q.template);
        if template.as_deref().is_some_and(|t| t.parse::<Template>().is_err()) {
            v.add("template", "invalid", "Unknown message type.");
        }
        v.finish()?;
        let filter = MessageFilter {
            status,
            channel,
            template,
            appointment_id: q.appointment_id,
            patient_id: q.patient_id,
            recipient: nonempty(&q.recipient),
        };
        let page = PageRequest::new(q.page, q.per_page);
        let (rows, total) = messages::list(self.db(), &filter, page.per_page, page.offset()).await?;
        let items = rows.into_iter().map(view).collect::<ServiceResult<Vec<_>>>()?;
        Ok(Page { items, total, page: page.page, per_page: page.per_page })
    }

    /// The messages about one appointment, newest first (staff and administrators).
    pub async fn appointment_messages(&self, actor: &Actor, id: AppointmentId) -> ServiceResult<Vec<MessageView>> {
        let q = MessageQuery { appointment_id: Some(id.0), per_page: Some(200), ..Default::default() };
        Ok(self.list_messages(actor, &q).await?.items)
    }

    /// One message.
    pub async fn get_message(&self, actor: &Actor, id: Uuid) -> ServiceResult<MessageView> {
        self.authorize_all(actor, Permission::ViewMessages)?;
        view(messages::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Message" })?)
    }

    /// Sends a dead, failed or cancelled message again now, with a fresh set of attempts.
    pub async fn retry_message(&self, actor: &Actor, id: Uuid) -> ServiceResult<MessageView> {
        self.authorize_all(actor, Permission::ManageMessages)?;
        let m = messages::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Message" })?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        if !jobs::retry(&mut tx, m.job_id, now).await? {
            return Err(ServiceError::conflict(
                "not_retryable",
                "Only a failed, dead or cancelled message can be sent again.",
            ));
        }
        messages::set_status(&mut tx, m.id, "pending", Some(0), None, None, None, now).await?;
        tx.audit(self.audit_entry(
            actor,
            "message.retry",
            "message",
            Some(m.id.to_string()),
            format!("{} {} to {} queued again", m.template, m.channel, m.recipient),
        ));
        tx.commit().await?;
        self.get_message(actor, id).await
    }

    /// Cancels every message still waiting to be sent (the demo clinic's seeded history
    /// must not mail its made-up patients). Administrators only.
    pub async fn discard_waiting_messages(&self, actor: &Actor, reason: &str) -> ServiceResult<u64> {
        self.authorize_all(actor, Permission::ManageMessages)?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let n = messages::cancel_all_waiting(&mut tx, reason, now).await?;
        tx.audit(self.audit_entry(
            actor,
            "message.discard",
            "message",
            None,
            format!("{n} waiting message(s) cancelled: {reason}"),
        ));
        tx.commit().await?;
        Ok(n)
    }

    /// Cancels a message that has not been sent (pending, or failed and waiting to retry).
    pub async fn cancel_message(&self, actor: &Actor, id: Uuid) -> ServiceResult<MessageView> {
        self.authorize_all(actor, Permission::ManageMessages)?;
        let m = messages::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Message" })?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let reason = format!("cancelled by {}", actor.label);
        if !jobs::cancel_waiting(&mut tx, m.job_id, &reason, now).await? {
            return Err(ServiceError::conflict(
                "not_cancellable",
                "Only a message that is waiting to be sent can be cancelled.",
            ));
        }
        messages::set_status(&mut tx, m.id, "cancelled", None, Some(&reason), None, None, now).await?;
        tx.audit(self.audit_entry(
            actor,
            "message.cancel",
            "message",
            Some(m.id.to_string()),
            format!("{} {} to {} cancelled", m.template, m.channel, m.recipient),
        ));
        tx.commit().await?;
        self.get_message(actor, id).await
    }
}

// ------------------------------------------------------------------ preferences

/// A patient's contact preferences.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Preferences {
    /// Patient.
    pub patient_id: PatientId,
    /// The email messages go to (from the patient record).
    pub email: Option<String>,
    /// The number SMS go to (from the patient record).
    pub phone: Option<String>,
    /// Send email.
    pub email_enabled: bool,
    /// Send SMS.
    pub sms_enabled: bool,
    /// No SMS from this local time (`HH:MM`, the clinic's zone)…
    pub quiet_start: String,
    /// …until this one; an SMS due in between waits until then.
    pub quiet_end: String,
}

/// Changing preferences.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PreferencesInput {
    /// Send email.
    pub email_enabled: Option<bool>,
    /// Send SMS.
    pub sms_enabled: Option<bool>,
    /// `HH:MM`.
    pub quiet_start: Option<String>,
    /// `HH:MM`.
    pub quiet_end: Option<String>,
}

fn prefs_view(c: ContactRow) -> Preferences {
    Preferences {
        patient_id: PatientId(c.patient_id),
        email: c.email,
        phone: c.phone,
        email_enabled: c.email_enabled,
        sms_enabled: c.sms_enabled,
        quiet_start: crate::availability::hhmm(c.quiet_start_min),
        quiet_end: crate::availability::hhmm(c.quiet_end_min),
    }
}

impl Services {
    /// Which patient an actor may see preferences of (patients: only themselves).
    async fn preferences_patient(&self, actor: &Actor, patient: PatientId) -> ServiceResult<ContactRow> {
        let scope = actor.require(Permission::ManageMessagePreferences)?;
        if scope == Scope::Own {
            let me = self.my_patient(actor).await?.ok_or(ServiceError::NotFound { what: "Patient" })?;
            if me.id != patient {
                return Err(ServiceError::NotFound { what: "Patient" });
            }
        }
        messages::contact(self.db(), patient.0).await?.ok_or(ServiceError::NotFound { what: "Patient" })
    }

    /// A patient's contact preferences (defaults until changed: email and SMS on, quiet
    /// hours 21:00–08:00).
    pub async fn get_preferences(&self, actor: &Actor, patient: PatientId) -> ServiceResult<Preferences> {
        Ok(prefs_view(self.preferences_patient(actor, patient).await?))
    }

    /// Changes a patient's contact preferences (the patient themself, or staff). Fields
    /// left out keep their value.
    pub async fn set_preferences(
        &self,
        actor: &Actor,
        patient: PatientId,
        input: PreferencesInput,
    ) -> ServiceResult<Preferences> {
        let current = self.preferences_patient(actor, patient).await?;
        let mut v = Validation::new();
        let mut minute = |field: &str, value: &Option<String>, default: i64| -> i64 {
            match value.as_deref().map(str::trim) {
                None | Some("") => default,
                Some(s) => match crate::availability::parse_hhmm(s) {
                    Some(m) if (0..1440).contains(&m) => m,
                    _ => {
                        v.add(field, "invalid", "Give a time as HH:MM, for example 21:00.");
                        default
                    }
                },
            }
        };
        let quiet_start = minute("quiet_start", &input.quiet_start, current.quiet_start_min);
        let quiet_end = minute("quiet_end", &input.quiet_end, current.quiet_end_min);
        v.finish()?;
        let p = messages::Preferences {
            patient_id: patient.0,
            email_enabled: input.email_enabled.unwrap_or(current.email_enabled),
            sms_enabled: input.sms_enabled.unwrap_or(current.sms_enabled),
            quiet_start_min: quiet_start,
            quiet_end_min: quiet_end,
            updated_by: actor.user_id.map(|u| u.0),
        };
        let now = self.now();
        let mut tx = self.db().begin().await?;
        messages::save_preferences(&mut tx, &p, now).await?;
        tx.audit(self.audit_entry(
            actor,
            "patient.message_preferences",
            "patient",
            Some(patient.to_string()),
            format!(
                "email {}, SMS {}, quiet hours {}–{}",
                if p.email_enabled { "on" } else { "off" },
                if p.sms_enabled { "on" } else { "off" },
                crate::availability::hhmm(quiet_start),
                crate::availability::hhmm(quiet_end)
            ),
        ));
        tx.commit().await?;
        self.get_preferences(actor, patient).await
    }
}

/// Default reminder lead times: 24 hours and 2 hours before the start.
pub fn default_reminder_leads() -> Vec<SignedDuration> {
    vec![SignedDuration::from_hours(24), SignedDuration::from_hours(2)]
}

/// Parses lead times such as `24h,2h,30m`.
pub fn parse_leads(s: &str) -> Result<Vec<SignedDuration>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (num, unit) = part.split_at(part.find(|c: char| !c.is_ascii_digit()).unwrap_or(part.len()));
        let n: i64 = num.parse().map_err(|_| format!("{part:?}: give a number and a unit, such as 24h or 30m"))?;
        let d = match unit.trim() {
            "d" => SignedDuration::from_hours(n * 24),
            "h" => SignedDuration::from_hours(n),
            "m" | "min" => SignedDuration::from_mins(n),
            _ => return Err(format!("{part:?}: the unit must be d, h or m")),
        };
        if d <= SignedDuration::ZERO || d > SignedDuration::from_hours(24 * 30) {
            return Err(format!("{part:?}: a lead time is between 1 minute and 30 days"));
        }
        out.push(d);
    }
    out.sort();
    out.dedup();
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_wrap_midnight() {
        assert!(in_quiet_hours(22 * 60, 21 * 60, 8 * 60));
        assert!(in_quiet_hours(3 * 60, 21 * 60, 8 * 60));
        assert!(!in_quiet_hours(8 * 60, 21 * 60, 8 * 60));
        assert!(!in_quiet_hours(12 * 60, 21 * 60, 8 * 60));
        assert!(in_quiet_hours(13 * 60, 12 * 60, 14 * 60));
        assert!(!in_quiet_hours(13 * 60, 600, 600));
    }

    #[test]
    fn a_night_sms_waits_for_the_morning_in_the_clinic_zone() {
        let zone = TimeZone::get("Australia/Sydney").unwrap();
        // 23:30 Sydney (AEDT, UTC+11) → 08:00 the next morning.
        let night: Timestamp = "2026-03-02T12:30:00Z".parse().unwrap();
        let morning = after_quiet_hours(night, &zone, 21 * 60, 8 * 60);
        assert_eq!(morning.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M").to_string(), "2026-03-03 08:00");
        // 03:00 → 08:00 the same day.
        let early: Timestamp = "2026-03-02T16:00:00Z".parse().unwrap();
        let m2 = after_quiet_hours(early, &zone, 21 * 60, 8 * 60);
        assert_eq!(m2.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M").to_string(), "2026-03-03 08:00");
        // Noon is not quiet.
        let noon: Timestamp = "2026-03-02T01:00:00Z".parse().unwrap();
        assert_eq!(after_quiet_hours(noon, &zone, 21 * 60, 8 * 60), noon);
    }

    #[test]
    fn lead_times_parse() {
        assert_eq!(parse_leads("2h,24h").unwrap(), vec![SignedDuration::from_hours(24), SignedDuration::from_hours(2)]);
        assert_eq!(parse_leads("30m").unwrap(), vec![SignedDuration::from_mins(30)]);
        assert!(parse_leads("2x").is_err());
        assert!(parse_leads("0h").is_err());
    }

    #[test]
    fn message_ids_are_stable_and_unique() {
        let a = message_id_for("reminder:1", "https://clinic.example:8443/x");
        assert_eq!(a, message_id_for("reminder:1", "https://clinic.example:8443/x"));
        assert!(a.ends_with("@clinic.example"));
        assert_ne!(a, message_id_for("reminder:2", "https://clinic.example"));
    }
}
