//! Slots for FHIR: a slot is computed by the slot engine, never stored, so it is named by
//! what makes it (provider, service, clinic, start) and found again by searching that
//! one time.

use crate::Services;
use crate::actor::Actor;
use crate::catalog::Service;
use crate::error::{ServiceError, ServiceResult};
use crate::scheduling::{Booked, BookingRequest, SlotQuery};
use jiff::{SignedDuration, Timestamp};
use praxis_domain::{ClinicId, PatientId, ProviderId, ServiceId};

/// The widest range of starts one FHIR slot search may ask for (the slot engine's 90 days,
/// less a day either side for the clinics' zones).
pub const MAX_WINDOW_DAYS: i64 = 88;

/// What a FHIR `Slot` id carries. Only the last six bytes of the clinic's id fit in the 64
/// characters a FHIR id may have; they pick one of the few clinics the provider works at,
/// and a reference that would fit two is refused rather than guessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotRef {
    /// With whom.
    pub provider_id: ProviderId,
    /// For which service.
    pub service_id: ServiceId,
    /// The last six bytes of the clinic's id.
    pub clinic_tail: [u8; 6],
    /// Start (whole seconds).
    pub start: Timestamp,
}

impl SlotRef {
    /// The reference of a free time in a search's answer.
    pub fn of(found: &FreeSlots, slot: &FreeSlot) -> SlotRef {
        let schedule = &found.schedules[slot.schedule];
        SlotRef {
            provider_id: schedule.provider_id,
            service_id: found.service.id,
            clinic_tail: clinic_tail(schedule.clinic_id),
            start: slot.start,
        }
    }
}

/// Free times found for FHIR, lean: each schedule's names once, then the times.
#[derive(Clone, Debug)]
pub struct FreeSlots {
    /// The service searched.
    pub service: Service,
    /// The providers at clinics with something free.
    pub schedules: Vec<ScheduleNames>,
    /// The free times, by start (then provider name).
    pub slots: Vec<FreeSlot>,
}

/// A provider at a clinic, named.
#[derive(Clone, Debug)]
pub struct ScheduleNames {
    /// With whom.
    pub provider_id: ProviderId,
    /// Their name.
    pub provider_name: String,
    /// Where.
    pub clinic_id: ClinicId,
    /// The clinic's name.
    pub clinic_name: String,
}

/// One free time.
#[derive(Clone, Copy, Debug)]
pub struct FreeSlot {
    /// Index into [`FreeSlots::schedules`].
    pub schedule: usize,
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
    /// Places left (1 for an individual appointment).
    pub remaining: i64,
    /// An existing group session with room (booking joins it).
    pub in_session: bool,
}

/// The part of a clinic's id a slot reference keeps.
pub fn clinic_tail(c: ClinicId) -> [u8; 6] {
    let b = c.0.as_bytes();
    [b[10], b[11], b[12], b[13], b[14], b[15]]
}

/// Starts from `from` (inclusive) to `until` (exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotWindow {
    /// Earliest start.
    pub from: Timestamp,
    /// Starts before this.
    pub until: Timestamp,
}

impl Services {
    /// Free times of a service starting inside `window`, for the given (provider, clinic)
    /// schedules or, when none is given, for every provider offering it. Everyone who may
    /// search slots may ask.
    pub async fn fhir_slots(
        &self,
        actor: &Actor,
        service_id: ServiceId,
        schedules: &[(ProviderId, ClinicId)],
        window: SlotWindow,
    ) -> ServiceResult<FreeSlots> {
        if window.until.duration_since(window.from) > SignedDuration::from_hours(24 * MAX_WINDOW_DAYS) {
            return Err(ServiceError::invalid(
                "start",
                "too_wide",
                format!("Search at most {MAX_WINDOW_DAYS} days of slots at once."),
            ));
        }
        if window.until <= window.from {
            let service = self.get_service(actor, service_id).await?;
            return Ok(FreeSlots { service, schedules: Vec::new(), slots: Vec::new() });
        }
        let day = SignedDuration::from_hours(24);
        let date = |t: Timestamp| t.to_zoned(jiff::tz::TimeZone::UTC).date();
        let from = date(window.from.saturating_sub(day).unwrap_or(window.from));
        let until = date(window.until.saturating_add(day).unwrap_or(window.until));
        let query = |provider_id, clinic_id| SlotQuery {
            service_id,
            provider_id,
            clinic_id,
            from: Some(from),
            until: Some(until),
        };
        let queries: Vec<SlotQuery> = if schedules.is_empty() {
            vec![query(None, None)]
        } else {
            schedules.iter().map(|(p, c)| query(Some(*p), Some(*c))).collect()
        };
        let mut service = None;
        let mut found = Vec::new();
        let mut slots = Vec::new();
        let inside = |t: Timestamp| t >= window.from && t < window.until;
        for q in &queries {
            let (s, table) = self.service_slot_table(actor, q).await?;
            let minutes = SignedDuration::from_mins(table.minutes);
            for p in table.providers {
                let at = found.len();
                let before = slots.len();
                for d in &p.days {
                    for start in d.starts.iter().copied().filter(|t| inside(*t)) {
                        let end = start.saturating_add(minutes).unwrap_or(start);
                        slots.push(FreeSlot { schedule: at, start, end, remaining: table.places, in_session: false });
                    }
                    for o in d.sessions.iter().filter(|o| inside(o.start)) {
                        slots.push(FreeSlot {
                            schedule: at,
                            start: o.start,
                            end: o.end,
                            remaining: o.remaining,
                            in_session: true,
                        });
                    }
                }
                if slots.len() > before {
                    found.push(ScheduleNames {
                        provider_id: p.provider_id,
                        provider_name: p.provider_name,
                        clinic_id: p.clinic_id,
                        clinic_name: p.clinic_name,
                    });
                }
            }
            service.get_or_insert(s);
        }
        let service = service.ok_or(ServiceError::NotFound { what: "Service" })?;
        slots.sort_by(|a, b| {
            a.start.cmp(&b.start).then_with(|| found[a.schedule].provider_name.cmp(&found[b.schedule].provider_name))
        });
        Ok(FreeSlots { service, schedules: found, slots })
    }

    /// The slot a reference names, if it is still free (404 otherwise): the search's
    /// answer holding just that time.
    pub async fn fhir_slot(&self, actor: &Actor, r: &SlotRef) -> ServiceResult<FreeSlots> {
        let clinic = self.slot_clinic(actor, r).await?;
        let window = SlotWindow {
            from: r.start,
            until: r.start.saturating_add(SignedDuration::from_secs(1)).unwrap_or(r.start),
        };
        let mut found = self.fhir_slots(actor, r.service_id, &[(r.provider_id, clinic)], window).await?;
        found.slots.retain(|s| s.start == r.start);
        if found.slots.is_empty() {
            return Err(ServiceError::NotFound { what: "Slot" });
        }
        Ok(found)
    }

    /// Books the time a slot reference names, under every rule of a REST booking (a time
    /// taken meanwhile is a 409; the same idempotency key gives the same appointment).
    pub async fn fhir_book(
        &self,
        actor: &Actor,
        r: &SlotRef,
        patient_id: Option<PatientId>,
        note: String,
        idempotency_key: Option<&str>,
    ) -> ServiceResult<Booked> {
        let clinic = self.slot_clinic(actor, r).await?;
        let req = BookingRequest {
            service_id: Some(r.service_id),
            provider_id: Some(r.provider_id),
            clinic_id: Some(clinic),
            start: Some(r.start),
            patient_id,
            hold: false,
            note,
        };
        self.book(actor, req, idempotency_key).await
    }

    /// The one clinic of the slot's provider whose id ends in the reference's bytes.
    async fn slot_clinic(&self, actor: &Actor, r: &SlotRef) -> ServiceResult<ClinicId> {
        let provider = match self.get_provider(actor, r.provider_id).await {
            Err(ServiceError::NotFound { .. }) => return Err(ServiceError::NotFound { what: "Slot" }),
            other => other?,
        };
        let mut fitting = provider.clinic_ids.iter().filter(|c| clinic_tail(**c) == r.clinic_tail);
        match (fitting.next(), fitting.next()) {
            (Some(c), None) => Ok(*c),
            _ => Err(ServiceError::NotFound { what: "Slot" }),
        }
    }
}
