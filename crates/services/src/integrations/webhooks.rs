//! Webhook endpoints: administrators register an address and the events it wants; each
//! endpoint gets its own signing secret (shown once, kept sealed). When an event
//! happens, [`Services::emit_webhook`] writes one delivery per subscribed endpoint, and
//! the queue job that sends it, in the transaction of the change itself.
//!
//! Events are thin: ids, numbers, statuses and times, never names, contact details or
//! clinical content. A receiver that needs more asks the API with its own key, so what
//! leaves the clinic is governed by that key's grant and audited.

use super::delivery::WEBHOOK_JOB;
use crate::Services;
use crate::actor::Actor;
use crate::crypto::aad;
use crate::error::{ServiceError, ServiceResult};
use crate::users::Page;
use base64::Engine;
use jiff::Timestamp;
use praxis_domain::integrations::{WebhookEvent, check_webhook_url};
use praxis_domain::{Permission, Validation};
use praxis_store::Tx;
use praxis_store::integrations::webhooks::{self, DeliveryRow, EndpointRow, NewDelivery, NewEndpoint};
use praxis_store::jobs::{self, NewJob};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A registered endpoint (never its secret).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookEndpoint {
    /// Id.
    pub id: Uuid,
    /// Where events are posted.
    pub url: String,
    /// What it is.
    pub description: String,
    /// The events it receives.
    pub events: Vec<WebhookEvent>,
    /// Whether events are sent to it now.
    pub active: bool,
    /// Registered.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Last change.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl WebhookEndpoint {
    fn from_row(r: &EndpointRow) -> ServiceResult<Self> {
        Ok(WebhookEndpoint {
            id: r.id,
            url: r.url.clone(),
            description: r.description.clone(),
            events: WebhookEvent::parse_list(&r.events).map_err(ServiceError::Internal)?,
            active: r.active,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

/// What an administrator fills in to register or change an endpoint.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct EndpointInput {
    /// The address (https://, or http:// inside the clinic's network).
    #[serde(default)]
    pub url: String,
    /// What it is ("Clinic CRM"); at most 200 characters.
    #[serde(default)]
    pub description: String,
    /// The events to send: appointment.booked, appointment.changed,
    /// appointment.cancelled, patient.created, invoice.issued, invoice.paid.
    #[serde(default)]
    pub events: Vec<String>,
    /// Whether to send events now (default true).
    #[serde(default)]
    pub active: Option<bool>,
}

/// A new endpoint: its signing secret is in `secret`, shown this once.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedEndpoint {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// The secret that signs every delivery (see the `Praxis-Signature` header).
    pub secret: String,
}

/// One delivery of an event to an endpoint.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookDelivery {
    /// Id (sent as `Praxis-Delivery`).
    pub id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// The event's id (sent as `Praxis-Event-Id`; the same for a resend, so receivers
    /// can ignore what they already have).
    pub event_id: Uuid,
    /// The event.
    pub event: WebhookEvent,
    /// `pending`, `retrying`, `delivered` or `dead`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// The HTTP status of the last answer.
    pub last_status: Option<i64>,
    /// What went wrong last time.
    pub last_error: Option<String>,
    /// When the last attempt was made.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_attempt_at: Option<Timestamp>,
    /// How long it took, in milliseconds.
    pub last_duration_ms: Option<i64>,
    /// When the endpoint accepted it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    /// The delivery this one sent again.
    pub resend_of: Option<Uuid>,
    /// When it was queued.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The body that is sent and signed.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
}

impl WebhookDelivery {
    fn from_row(r: DeliveryRow) -> ServiceResult<Self> {
        Ok(WebhookDelivery {
            id: r.id,
            endpoint_id: r.endpoint_id,
            event_id: r.event_id,
            event: r.event_type.parse().map_err(ServiceError::Internal)?,
            status: r.status,
            attempts: r.attempts,
            last_status: r.last_status,
            last_error: r.last_error,
            last_attempt_at: r.last_attempt_at.map(|t| t.0),
            last_duration_ms: r.last_duration_ms,
            delivered_at: r.delivered_at.map(|t| t.0),
            resend_of: r.resend_of,
            created_at: r.created_at.0,
            body: serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null),
        })
    }
}

/// The body of every delivery.
#[derive(Serialize)]
struct Envelope<'a> {
    id: Uuid,
    #[serde(rename = "type")]
    kind: &'a str,
    created: String,
    data: &'a serde_json::Value,
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("whsec_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The checked form of an [`EndpointInput`].
struct CheckedEndpoint {
    url: String,
    description: String,
    events: Vec<WebhookEvent>,
}

fn check(input: &EndpointInput) -> ServiceResult<CheckedEndpoint> {
    let mut v = Validation::new();
    let url = v.check("url", check_webhook_url(&input.url));
    let description = input.description.trim().to_string();
    if description.chars().count() > 200 {
        v.add("description", "too_long", "Use at most 200 characters.");
    }
    let events = v.check("events", WebhookEvent::parse_list(&input.events.join(",")));
    if events.as_ref().is_some_and(|e| e.is_empty()) {
        v.add("events", "required", "Choose at least one event to send.");
    }
    v.finish()?;
    match (url, events) {
        (Some(url), Some(events)) => Ok(CheckedEndpoint { url, description, events }),
        _ => Err(ServiceError::Internal("validated endpoint input incomplete".into())),
    }
}

impl Services {
    /// Every registered endpoint. Administrators only.
    pub async fn list_webhooks(&self, actor: &Actor) -> ServiceResult<Vec<WebhookEndpoint>> {
        self.authorize_all(actor, Permission::ManageIntegrations)?;
        webhooks::list_endpoints(self.db()).await?.iter().map(WebhookEndpoint::from_row).collect()
    }

    /// One endpoint.
    pub async fn get_webhook(&self, actor: &Actor, id: Uuid) -> ServiceResult<WebhookEndpoint> {
        self.authorize_all(actor, Permission::ManageIntegrations)?;
        let row =
            webhooks::endpoint(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Webhook endpoint" })?;
        WebhookEndpoint::from_row(&row)
    }

    /// Registers an endpoint with a fresh signing secret, returned this once.
    pub async fn create_webhook(&self, actor: &Actor, input: &EndpointInput) -> ServiceResult<CreatedEndpoint> {
        self.authorize_all(actor, Permission::ManageIntegrations)?;
        let c = check(input)?;
        let id = Uuid::now_v7();
        let secret = new_secret();
        let sealed = self
            .keys()
            .seal_str(&aad("webhook_endpoints", "secret", id), &secret)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        webhooks::insert_endpoint(
            &mut tx,
            &NewEndpoint {
                id,
                url: c.url.clone(),
                description: c.description,
                events: WebhookEvent::list_text(&c.events),
                secret_sealed: sealed,
                active: input.active.unwrap_or(true),
                created_by: actor.user_id,
            },
            now,
        )
        .await?;
        tx.audit(self.audit_entry(
            actor,
            "webhook.create",
            "webhook_endpoint",
            Some(id.to_string()),
            format!("{} for {}", c.url, WebhookEvent::list_text(&c.events)),
        ));
        tx.commit().await?;
        Ok(CreatedEndpoint { endpoint: self.get_webhook(actor, id).await?, secret })
    }

    /// Changes an endpoint's address, description, events or whether it is active.
    pub async fn update_webhook(
        &self,
        actor: &Actor,
        id: Uuid,
        input: &EndpointInput,
    ) -> ServiceResult<WebhookEndpoint> {
        self.authorize_all(actor, Permission::ManageIntegrations)?;
        let current = self.get_webhook(actor, id).await?;
        let c = check(input)?;
        let active = input.active.unwrap_or(current.active);
        let mut tx = self.db().begin().await?;
        let events = WebhookEvent::list_text(&c.events);
        if !webhooks::update_endpoint(&mut tx, id, &c.url, &c.description, &events, active, self.now()).await? {
            return Err(ServiceError::NotFound { what: "Webhook endpoint" });
        }
        tx.audit(self.audit_entry(
            actor,
            "webhook.update",
            "webhook_endpoint",
            Some(id.to_string()),
            format!("{} for {events}{}", c.url, if active { "" } else { " (paused)" }),
        ));
        tx.commit().await?;
        self.get_webhook(actor, id).await
    }

    /// Removes an endpoint: nothing more is sent to it; its delivery log stays.
    pub async fn remove_webhook(&self, actor: &Actor, id: Uuid) -> ServiceResult<()> {
        self.authorize_all(actor, Permission::ManageIntegrations)?;
        let mut tx = self.db().begin().await?;
        if !webhooks::remove_endpoint(&mut tx, id, self.now()).await? {
            return Err(ServiceError::NotFound { what: "Webhook endpoint" });
        }
        tx.audit(self.audit_entry(actor, "webhook.remove", "webhook_endpoint", Some(id.to_string()), "removed"));
        tx.commit().await?;
        Ok(())
    }

    /// An endpoint's deliveries, newest first.
    pub async fn list_webhook_deliveries(
        &self,
        actor: &Actor,
        endpoint: Uuid,
        page: i64,
        per_page: i64,
    ) -> ServiceResult<Page<WebhookDelivery>> {
        self.get_webhook(actor, endpoint).await?;
        let (page, per_page) = (page.max(1), per_page.clamp(1, 200));
        let (rows, total) = webhooks::deliveries(self.db(), endpoint, per_page, (page - 1) * per_page).await?;
        let items = rows.into_iter().map(WebhookDelivery::from_row).collect::<ServiceResult<Vec<_>>>()?;
        Ok(Page { items, total, page, per_page })
    }

    /// One delivery.
    pub async fn get_webhook_delivery(&self, actor: &Actor, id: Uuid) -> ServiceResult<WebhookDelivery> {
        self.authorize_all(actor, Permission::ManageIntegrations)?;
        let row = webhooks::delivery(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Delivery" })?;
        WebhookDelivery::from_row(row)
    }

    /// Sends a delivery again: a new delivery of the same event (same id, same body) to
    /// the same endpoint, through the queue like the first.
    pub async fn resend_webhook_delivery(&self, actor: &Actor, id: Uuid) -> ServiceResult<WebhookDelivery> {
        self.authorize_all(actor, Permission::ManageIntegrations)?;
        let old = webhooks::delivery(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Delivery" })?;
        webhooks::endpoint(self.db(), old.endpoint_id).await?.ok_or_else(|| {
            ServiceError::conflict("endpoint_removed", "The endpoint was removed; register it again to send to it.")
        })?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let new_id = self
            .queue_delivery(&mut tx, old.endpoint_id, old.event_id, &old.event_type, &old.payload, Some(old.id), now)
            .await?;
        tx.audit(self.audit_entry(
            actor,
            "webhook.resend",
            "webhook_delivery",
            Some(new_id.to_string()),
            format!("{} event {} sent again (delivery {})", old.event_type, old.event_id, old.id),
        ));
        tx.commit().await?;
        self.get_webhook_delivery(actor, new_id).await
    }

    /// Writes one delivery and its queue job.
    #[allow(clippy::too_many_arguments)]
    async fn queue_delivery(
        &self,
        tx: &mut Tx,
        endpoint: Uuid,
        event_id: Uuid,
        event_type: &str,
        payload: &str,
        resend_of: Option<Uuid>,
        now: Timestamp,
    ) -> ServiceResult<Uuid> {
        let id = Uuid::now_v7();
        let d = NewDelivery {
            id,
            endpoint_id: endpoint,
            event_id,
            event_type: event_type.into(),
            payload: payload.into(),
            resend_of,
        };
        webhooks::insert_delivery(tx, &d, now).await?;
        jobs::enqueue(
            tx,
            &NewJob {
                id: Uuid::now_v7(),
                kind: WEBHOOK_JOB.into(),
                payload: serde_json::json!({ "delivery_id": id }).to_string(),
                run_at: now,
                max_attempts: self.settings().webhook_max_attempts.max(1),
                idempotency_key: format!("webhook:{id}"),
            },
            now,
        )
        .await?;
        Ok(id)
    }

    /// Announces an event to every active endpoint subscribed to it, inside the
    /// transaction of the change (so the event exists exactly when the change does).
    /// Costs one small read when no endpoint wants it.
    pub(crate) async fn emit_webhook(
        &self,
        tx: &mut Tx,
        event: WebhookEvent,
        data: serde_json::Value,
        now: Timestamp,
    ) -> ServiceResult<()> {
        let subscribers = self.webhook_subscribers(tx, event).await?;
        self.queue_event(tx, &subscribers, event, &data, now).await
    }

    /// The active endpoints subscribed to `event` (empty: nothing to build or send).
    pub(crate) async fn webhook_subscribers(&self, tx: &mut Tx, event: WebhookEvent) -> ServiceResult<Vec<Uuid>> {
        Ok(webhooks::active_endpoints_tx(tx)
            .await?
            .into_iter()
            .filter(|e| WebhookEvent::parse_list(&e.events).is_ok_and(|list| list.contains(&event)))
            .map(|e| e.id)
            .collect())
    }

    /// Queues one delivery of a new event to each of `subscribers`.
    pub(crate) async fn queue_event(
        &self,
        tx: &mut Tx,
        subscribers: &[Uuid],
        event: WebhookEvent,
        data: &serde_json::Value,
        now: Timestamp,
    ) -> ServiceResult<()> {
        if subscribers.is_empty() {
            return Ok(());
        }
        let event_id = Uuid::now_v7();
        let body =
            serde_json::to_string(&Envelope { id: event_id, kind: event.as_str(), created: now.to_string(), data })
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
        for endpoint in subscribers {
            self.queue_delivery(tx, *endpoint, event_id, event.as_str(), &body, None, now).await?;
        }
        Ok(())
    }

    /// Announces an appointment event: its id, number, status, times, clinic, provider,
    /// service and the patients booked on it (ids only).
    pub(crate) async fn emit_appointment_event(
        &self,
        tx: &mut Tx,
        event: WebhookEvent,
        id: praxis_domain::AppointmentId,
        now: Timestamp,
    ) -> ServiceResult<()> {
        let subscribers = self.webhook_subscribers(tx, event).await?;
        if subscribers.is_empty() {
            return Ok(());
        }
        let Some(a) = praxis_store::appointments::get_for_update(tx, id).await? else { return Ok(()) };
        let patients: Vec<Uuid> = praxis_store::appointments::participants_tx(tx, id)
            .await?
            .into_iter()
            .filter(|p| p.status == "booked")
            .map(|p| p.patient_id)
            .collect();
        let data = serde_json::json!({ "appointment": {
            "id": a.id,
            "number": a.number,
            "status": a.status,
            "start": a.starts_at.0.to_string(),
            "end": a.ends_at.0.to_string(),
            "clinic_id": a.clinic_id,
            "provider_id": a.provider_id,
            "service_id": a.service_id,
            "patient_ids": patients,
        }});
        self.queue_event(tx, &subscribers, event, &data, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_input_is_checked_field_by_field() {
        let bad = EndpointInput {
            url: "ftp://x".into(),
            description: "x".repeat(201),
            events: vec!["appointment.deleted".into()],
            active: None,
        };
        let Err(ServiceError::Validation(errors)) = check(&bad) else { panic!("expected a validation error") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["url", "description", "events"]);
        let none = EndpointInput { url: "https://x.org/h".into(), ..Default::default() };
        assert!(matches!(check(&none), Err(ServiceError::Validation(e)) if e[0].field == "events"));
        let ok = EndpointInput {
            url: "https://x.org/h".into(),
            events: vec!["invoice.paid".into(), "appointment.booked".into()],
            ..Default::default()
        };
        assert_eq!(check(&ok).unwrap().events, vec![WebhookEvent::AppointmentBooked, WebhookEvent::InvoicePaid]);
    }

    #[test]
    fn secrets_are_random() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with("whsec_") && a.len() == 6 + 43);
    }
}
