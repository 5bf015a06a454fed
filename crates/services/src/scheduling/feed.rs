//! A provider's subscribable calendar feed (RFC 5545) at a secret address.

use super::zone_named;
use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use base64::Engine;
use jiff::SignedDuration;
use praxis_domain::ical::{Calendar, CalendarEvent, EventStatus, render};
use praxis_domain::permissions::Scope;
use praxis_domain::{Permission, ProviderId};
use praxis_store::appointments::{self, AppointmentFilter};
use praxis_store::catalog;
use sha2::{Digest, Sha256};

fn feed_hash(token: &str) -> String {
    hex::encode(Sha256::digest(format!("praxis-feed:{token}").as_bytes()))
}

impl Services {
    /// Issues a new secret feed address for a provider (the provider themself or an
    /// administrator); the previous address stops working.
    pub async fn issue_feed_token(&self, actor: &Actor, provider: ProviderId) -> ServiceResult<String> {
        let scope = actor.require(Permission::ManageCalendarFeed)?;
        let row = catalog::provider(self.db(), provider).await?.ok_or(ServiceError::NotFound { what: "Provider" })?;
        if scope == Scope::Own && actor.user_id.map(|u| u.0) != Some(row.user_id) {
            return Err(ServiceError::Forbidden);
        }
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let token = format!("pxf_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        let mut tx = self.db().begin().await?;
        catalog::set_feed_token(&mut tx, provider, Some(&feed_hash(&token))).await?;
        tx.audit(self.audit_entry(
            actor,
            "provider.feed_issued",
            "provider",
            Some(provider.to_string()),
            "calendar feed address issued",
        ));
        tx.commit().await?;
        Ok(format!("{}/ical/{token}.ics", self.settings().public_base_url))
    }

    /// The iCalendar document behind a feed token: the provider's appointments from 30
    /// days ago to a year ahead, cancelled ones marked cancelled. Patients appear by
    /// first name and initial only.
    pub async fn provider_feed(&self, token: &str) -> ServiceResult<String> {
        if !token.starts_with("pxf_") || token.len() > 100 {
            return Err(ServiceError::NotFound { what: "Calendar" });
        }
        let provider = catalog::provider_by_feed_token(self.db(), &feed_hash(token))
            .await?
            .ok_or(ServiceError::NotFound { what: "Calendar" })?;
        let now = self.now();
        let filter = AppointmentFilter {
            from: now.checked_sub(SignedDuration::from_hours(24 * 30)).ok(),
            until: now.checked_add(SignedDuration::from_hours(24 * 366)).ok(),
            provider_id: Some(ProviderId(provider.id)),
            statuses: ["requested", "confirmed", "checked_in", "in_progress", "completed", "no_show", "cancelled"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ..AppointmentFilter::default()
        };
        let (rows, _) = appointments::list(self.db(), &filter, 2000, 0).await?;
        let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
        let parts = appointments::participants(self.db(), &ids).await?;
        let events = rows
            .into_iter()
            .map(|r| {
                let booked: Vec<String> = parts
                    .iter()
                    .filter(|p| p.appointment_id == r.id && p.status == "booked")
                    .map(|p| {
                        let initial = p.family_name.chars().next().map(|c| format!(" {c}.")).unwrap_or_default();
                        format!("{}{initial}", p.given_name)
                    })
                    .collect();
                let who = match booked.len() {
                    0 => String::new(),
                    1 => booked[0].clone(),
                    n => format!("{n} patients"),
                };
                let status = match r.status.as_str() {
                    "cancelled" => EventStatus::Cancelled,
                    "requested" => EventStatus::Tentative,
                    _ => EventStatus::Confirmed,
                };
                let location = match &r.video_url {
                    Some(url) => format!("Video: {url}"),
                    None if r.clinic_address.is_empty() => r.clinic_name.clone(),
                    None => format!("{}, {}", r.clinic_name, r.clinic_address.replace('\n', ", ")),
                };
                let mut description = format!("Appointment {} ({})", r.number, r.status.replace('_', " "));
                if booked.len() > 1 {
                    description.push_str(&format!("\nPatients: {}", booked.join(", ")));
                }
                if !r.note.is_empty() {
                    description.push_str(&format!("\nNote: {}", r.note));
                }
                CalendarEvent {
                    uid: format!("{}@praxis", r.id),
                    sequence: u32::try_from(r.version.saturating_sub(1)).unwrap_or(0),
                    start: r.starts_at.0,
                    end: r.ends_at.0,
                    time_zone: zone_named(&r.time_zone),
                    summary: if who.is_empty() {
                        r.service_name.clone()
                    } else {
                        format!("{} – {who}", r.service_name)
                    },
                    description,
                    location,
                    url: r.video_url.clone(),
                    status,
                    last_modified: r.updated_at.0,
                }
            })
            .collect();
        Ok(render(&Calendar { name: format!("Praxis – {}", provider.full_name), method: None, events }, now))
    }
}

impl Services {
    /// One appointment as an .ics document ("add to calendar"), for whoever may see it.
    pub async fn appointment_ics(&self, actor: &Actor, id: praxis_domain::AppointmentId) -> ServiceResult<String> {
        let a = self.get_appointment(actor, id).await?;
        let status = match a.status.as_str() {
            "cancelled" | "expired" => EventStatus::Cancelled,
            "requested" | "held" => EventStatus::Tentative,
            _ => EventStatus::Confirmed,
        };
        let location = match &a.video_url {
            Some(url) => format!("Video: {url}"),
            None if a.clinic_address.is_empty() => a.clinic_name.clone(),
            None => format!("{}, {}", a.clinic_name, a.clinic_address.replace('\n', ", ")),
        };
        let event = CalendarEvent {
            uid: format!("{}@praxis", a.id),
            sequence: u32::try_from(a.version.saturating_sub(1)).unwrap_or(0),
            start: a.start,
            end: a.end,
            time_zone: zone_named(&a.time_zone),
            summary: format!("{} with {}", a.service_name, a.provider_name),
            description: format!(
                "Appointment {} at {}.\nTo cancel or change it, log in to Praxis or call the clinic.",
                a.number, a.clinic_name
            ),
            location,
            url: a.video_url.clone(),
            status,
            last_modified: a.created_at,
        };
        let cal = Calendar {
            name: String::new(),
            method: Some(praxis_domain::ical::CalendarMethod::Publish),
            events: vec![event],
        };
        Ok(render(&cal, self.now()))
    }
}
