//! Answering a reminder without logging in: the reminder's link ([`super::reply_link`])
//! opens a page that confirms or cancels that one appointment — under the cancellation
//! policy, once — and an SMS reply of `C` or `X` does the same for the latest reminder
//! sent to that phone. Nothing else of the patient's record is reachable this way.

use super::reply_link::{self, ReplyClaim};
use crate::Services;
use crate::actor::{Actor, RequestContext};
use crate::error::{ServiceError, ServiceResult};
use crate::scheduling::booking::{CancelBy, change};
use crate::scheduling::{ChangeScope, zone_named};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use praxis_domain::appointment::is_late_cancellation;
use praxis_domain::integrations::WebhookEvent;
use praxis_domain::permissions::Scope;
use praxis_domain::{AppointmentId, PatientId};
use praxis_store::appointments::{self, AppointmentRow};
use praxis_store::replies;

/// What the patient may still do with the link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyState {
    /// Confirm or cancel.
    Open,
    /// Already answered (this is what they said, and when).
    Answered {
        /// `confirmed` or `cancelled`.
        reply: String,
        /// When.
        at: Timestamp,
    },
    /// The clinic cancelled it, or the patient's place was cancelled another way.
    Cancelled,
    /// The appointment has started, or the link's time is over.
    Expired,
    /// It is in a state the link cannot change (e.g. checked in): call the clinic.
    Closed,
}

/// The one appointment a reply link is about, as its page shows it.
#[derive(Clone, Debug)]
pub struct ReplyView {
    /// The appointment's number (`A-2027-000123`).
    pub number: String,
    /// Its start.
    pub start: Timestamp,
    /// The clinic's zone (times are shown in it).
    pub zone: TimeZone,
    /// The service.
    pub service_name: String,
    /// The provider.
    pub provider_name: String,
    /// The clinic.
    pub clinic_name: String,
    /// What can be done.
    pub state: ReplyState,
    /// True when cancelling now falls inside the service's late-cancellation window.
    pub late_if_cancelled: bool,
    /// That window, in hours (0: no policy).
    pub late_window_hours: i64,
}

/// What the patient answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyAction {
    /// They will come.
    Confirm,
    /// They will not.
    Cancel,
}

/// The refusal of a link that is not one of ours (or was altered): the same 404 as a
/// missing page, so it tells nothing.
fn invalid_link() -> ServiceError {
    ServiceError::NotFound { what: "This link" }
}

/// Who acts when a patient answers through a link: the system, on their behalf, named
/// in the audit log. It may do only what the link allows — this code checks the link
/// names this appointment and patient before doing anything.
fn link_actor(patient: PatientId, ctx: &RequestContext, via: &str) -> Actor {
    let mut a = Actor::system(&format!("patient {patient} ({via})"));
    a.ctx = ctx.clone();
    a
}

impl Services {
    /// The address of the reply page for a reminder to `patient` about `appointment`;
    /// it works until `expires` (the appointment's start).
    pub(crate) fn reply_url(
        &self,
        appointment: AppointmentId,
        patient: PatientId,
        expires: Timestamp,
    ) -> ServiceResult<String> {
        let (kid, key) =
            self.keys().current_key().map_err(|e| ServiceError::Internal(format!("reply link key: {e}")))?;
        let claim = ReplyClaim { appointment: appointment.0, patient: patient.0, expires: expires.as_second() };
        let base = self.settings().public_base_url.trim_end_matches('/');
        Ok(format!("{base}/r/{}", reply_link::sign(&kid, &key, &claim)))
    }

    fn read_reply_link(&self, token: &str) -> ServiceResult<ReplyClaim> {
        let kid = reply_link::key_id(token).ok_or_else(invalid_link)?;
        let key = self.keys().key_by_id(kid).map_err(|_| invalid_link())?;
        reply_link::verify(token, &key).ok_or_else(invalid_link)
    }

    /// What a reminder's link shows: the appointment, and whether it can still be
    /// confirmed or cancelled. An altered or made-up link answers 404.
    pub async fn reply_link_view(&self, token: &str) -> ServiceResult<ReplyView> {
        let claim = self.read_reply_link(token)?;
        let row = appointments::get(self.db(), AppointmentId(claim.appointment)).await?.ok_or_else(invalid_link)?;
        self.reply_view(&row, &claim).await
    }

    async fn reply_view(&self, row: &AppointmentRow, claim: &ReplyClaim) -> ServiceResult<ReplyView> {
        let now = self.now();
        let target = replies::target(self.db(), AppointmentId(row.id), PatientId(claim.patient))
            .await?
            .ok_or_else(invalid_link)?;
        let state = match (&target.reply, target.replied_at) {
            (Some(reply), Some(at)) => ReplyState::Answered { reply: reply.clone(), at: at.0 },
            _ if row.status == "cancelled" || target.participant_status == "cancelled" => ReplyState::Cancelled,
            _ if now.as_second() >= claim.expires || now >= row.starts_at.0 => ReplyState::Expired,
            _ if row.status != "confirmed" => ReplyState::Closed,
            _ => ReplyState::Open,
        };
        let window = jiff::SignedDuration::from_mins(row.late_cancel_min);
        Ok(ReplyView {
            number: row.number.clone(),
            start: row.starts_at.0,
            zone: zone_named(&row.time_zone),
            service_name: row.service_name.clone(),
            provider_name: row.provider_name.clone(),
            clinic_name: row.clinic_name.clone(),
            state,
            late_if_cancelled: is_late_cancellation(row.starts_at.0, now, window),
            late_window_hours: row.late_cancel_min.div_euclid(60),
        })
    }

    /// Confirms or cancels through a reminder's link. Works once: a second answer (or
    /// an expired link) is a 409 with what happened; a late cancellation is allowed and
    /// flagged like any other (the fee rules apply). Audited under the patient.
    pub async fn answer_reply_link(
        &self,
        ctx: &RequestContext,
        token: &str,
        action: ReplyAction,
    ) -> ServiceResult<ReplyView> {
        let claim = self.read_reply_link(token)?;
        self.answer(ctx, &claim, action, "reminder link").await
    }

    async fn answer(
        &self,
        ctx: &RequestContext,
        claim: &ReplyClaim,
        action: ReplyAction,
        via: &str,
    ) -> ServiceResult<ReplyView> {
        let id = AppointmentId(claim.appointment);
        let patient = PatientId(claim.patient);
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let row = appointments::get_for_update(&mut tx, id).await?.ok_or_else(invalid_link)?;
        let before = self.reply_view(&row, claim).await?;
        match &before.state {
            ReplyState::Open => {}
            ReplyState::Answered { .. } => {
                return Err(ServiceError::conflict("link_used", "This reminder has already been answered."));
            }
            ReplyState::Cancelled => {
                return Err(ServiceError::conflict("appointment_cancelled", "This appointment is already cancelled."));
            }
            ReplyState::Expired => {
                return Err(ServiceError::conflict(
                    "link_expired",
                    "This link has expired: the appointment has started or passed. Please call the clinic.",
                ));
            }
            ReplyState::Closed => {
                return Err(ServiceError::conflict(
                    "appointment_closed",
                    "This appointment can no longer be changed here. Please call the clinic.",
                ));
            }
        }
        let reply = if action == ReplyAction::Confirm { "confirmed" } else { "cancelled" };
        if !replies::record(&mut tx, id, patient, reply, now).await? {
            return Err(ServiceError::conflict("link_used", "This reminder has already been answered."));
        }
        let actor = link_actor(patient, ctx, via);
        match action {
            ReplyAction::Confirm => {
                let mut c = change(id, now, &actor, "patient_confirmed");
                c.note = format!("patient {patient} ({via})");
                appointments::insert_change(&mut tx, &c).await?;
                self.emit_appointment_event(&mut tx, WebhookEvent::AppointmentChanged, id, now).await?;
                tx.audit(self.audit_entry(
                    &actor,
                    "appointment.patient_confirmed",
                    "appointment",
                    Some(id.to_string()),
                    format!("{}: the patient confirmed they will come ({via})", row.number),
                ));
            }
            ReplyAction::Cancel => {
                let reason = format!("Cancelled by the patient ({via})");
                let how = CancelBy {
                    actor: &actor,
                    scope: Scope::All,
                    reason: &reason,
                    me: Some(patient),
                    patient_only: true,
                };
                self.cancel_in(&mut tx, &how, id, ChangeScope::This, now).await?;
            }
        }
        tx.commit().await?;
        if action == ReplyAction::Cancel {
            self.process_releases().await?;
        }
        let row = appointments::get(self.db(), id).await?.ok_or_else(invalid_link)?;
        self.reply_view(&row, claim).await
    }

    /// The SMS provider's inbound webhook (`POST /webhooks/sms`, form fields as sent):
    /// checks the `X-Twilio-Signature` over the public address and the fields, then
    /// answers the reply. 404 when SMS replies are not configured; a missing or wrong
    /// signature is refused (422 on field `signature`) and nothing is read.
    pub async fn handle_sms_webhook(
        &self,
        ctx: &RequestContext,
        fields: &[(String, String)],
        signature: Option<&str>,
    ) -> ServiceResult<String> {
        let Some(secret) = self.settings().sms_reply_secret.as_deref() else {
            return Err(ServiceError::NotFound { what: "SMS replies" });
        };
        let url = format!("{}/webhooks/sms", self.settings().public_base_url.trim_end_matches('/'));
        if !super::transport::twilio_signature_matches(secret, &url, fields, signature.unwrap_or_default()) {
            tracing::warn!("SMS webhook refused: missing or wrong signature");
            return Err(ServiceError::invalid(
                "signature",
                "invalid",
                "The X-Twilio-Signature header is missing or does not match this request.",
            ));
        }
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
        self.answer_sms_reply(ctx, field("From"), field("Body")).await
    }

    /// An SMS reply from `from` (the provider's inbound webhook, signature already
    /// checked): `C` confirms and `X` cancels the appointment of the latest reminder sent
    /// to that number. Returns the text to answer with.
    async fn answer_sms_reply(&self, ctx: &RequestContext, from: &str, body: &str) -> ServiceResult<String> {
        let action = match body.trim().to_ascii_uppercase().as_str() {
            "C" | "YES" | "Y" | "CONFIRM" => ReplyAction::Confirm,
            "X" | "NO" | "N" | "CANCEL" => ReplyAction::Cancel,
            _ => return Ok("Sorry, we did not understand. Reply C to confirm or X to cancel your appointment.".into()),
        };
        let Ok(phone) = praxis_domain::Phone::parse(from) else {
            return Ok("Sorry, we could not find your appointment. Please call the clinic.".into());
        };
        let Some((appointment, patient)) = replies::reminded_by_sms(self.db(), phone.as_str(), self.now()).await?
        else {
            return Ok(
                "Sorry, we could not find an upcoming appointment for this number. Please call the clinic.".into()
            );
        };
        let row = appointments::get(self.db(), AppointmentId(appointment)).await?.ok_or_else(invalid_link)?;
        let claim = ReplyClaim { appointment, patient, expires: row.starts_at.0.as_second() };
        let when = crate::notifications::templates::short_time(row.starts_at.0, &zone_named(&row.time_zone));
        Ok(match self.answer(ctx, &claim, action, "SMS reply").await {
            Ok(_) if action == ReplyAction::Confirm => format!("Thank you: your appointment {when} is confirmed."),
            Ok(v) if v.late_if_cancelled => format!(
                "Your appointment {when} is cancelled. It was inside the {}-hour cancellation window, so a fee may apply.",
                v.late_window_hours
            ),
            Ok(_) => format!(
                "Your appointment {when} is cancelled. To book again, visit {}/book",
                self.settings().public_base_url.trim_end_matches('/')
            ),
            Err(ServiceError::Conflict { message, .. }) => message,
            Err(e) => return Err(e),
        })
    }
}
