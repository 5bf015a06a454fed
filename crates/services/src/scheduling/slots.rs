//! Slot search: free times for a service by provider and/or clinic over a date range,
//! and "first available". A search reads everything it needs — availability of the
//! providers it can show (every provider offering the service, or the one provider or
//! clinic asked for) and their busy intervals in the range — in a constant number of
//! queries, then runs the pure slot engine per provider and clinic.

use super::{busy_of, local_label, zone_named};
use crate::Services;
use crate::actor::Actor;
use crate::catalog::Service;
use crate::error::{ServiceError, ServiceResult};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use praxis_domain::slots::{dates_with_slots, first_free_slot, free_slots};
use praxis_domain::{AppointmentId, ClinicId, Permission, ProviderId, ServiceId, SlotInput, Validation};
use praxis_store::{appointments, availability, catalog};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest range one search may cover.
pub const MAX_SEARCH_DAYS: i64 = 90;

/// What to search.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotQuery {
    /// The service to book.
    pub service_id: ServiceId,
    /// Only this provider.
    pub provider_id: Option<ProviderId>,
    /// Only this clinic.
    pub clinic_id: Option<ClinicId>,
    /// First local date (default today).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<Date>,
    /// Last local date, inclusive (default `from` + 13 days; at most 90 days after `from`).
    #[param(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
}

/// A bookable time.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SlotView {
    /// With whom.
    pub provider_id: ProviderId,
    /// Their name.
    pub provider_name: String,
    /// Where.
    pub clinic_id: ClinicId,
    /// Clinic name.
    pub clinic_name: String,
    /// The clinic's IANA zone.
    pub time_zone: String,
    /// Start (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// End (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
    /// Start in the clinic's zone.
    pub local_start: String,
    /// Places left (group sessions); 1 for an individual slot.
    pub remaining: i64,
    /// For a group session that already exists: booking joins it.
    pub session_id: Option<AppointmentId>,
}

/// The answer of a slot search, lean enough for a month of a whole clinic: free times
/// grouped per provider (at a clinic) and local day, names once, instants only. A time's
/// end is its start plus `minutes`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SlotTable {
    /// The service searched.
    pub service_id: ServiceId,
    /// Length of every appointment offered, in minutes: each start's end is start + this.
    pub minutes: i64,
    /// Places in a new appointment at one of the `starts` (1, or the group size of a group
    /// service).
    pub places: i64,
    /// Providers with at least one free time or open session, by name.
    pub providers: Vec<ProviderSlots>,
}

/// One provider's free times at one clinic.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderSlots {
    /// With whom.
    pub provider_id: ProviderId,
    /// Their name.
    pub provider_name: String,
    /// Where.
    pub clinic_id: ClinicId,
    /// Clinic name.
    pub clinic_name: String,
    /// The clinic's IANA zone, in which `days` are dated.
    pub time_zone: String,
    /// Days with something free, in order.
    pub days: Vec<SlotDay>,
}

/// One local day of a provider's free times.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SlotDay {
    /// The day in the clinic's zone.
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    /// Starts of free times (UTC), in order.
    #[schema(value_type = Vec<String>)]
    pub starts: Vec<Timestamp>,
    /// Existing group sessions with places left: booking one joins it.
    pub sessions: Vec<OpenSession>,
}

/// An existing group session with room.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OpenSession {
    /// The session (book with this start to join it).
    pub session_id: AppointmentId,
    /// Start (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// End (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
    /// Places left.
    pub remaining: i64,
}

/// One provider at one clinic, ready for the engine.
struct Candidate {
    provider_id: Uuid,
    provider_name: String,
    clinic_id: Uuid,
    clinic_name: String,
    time_zone: String,
    input: SlotInput,
    /// Existing group sessions with room: (start, end, places left, id).
    joinable: Vec<(Timestamp, Timestamp, i64, Uuid)>,
    /// Where the appointment being moved starts now, when it is this provider's: not a
    /// time to move it to.
    moving_from: Option<Timestamp>,
}

impl Candidate {
    /// Its existing group sessions that may be joined now and fall in the range.
    fn open_sessions(&self, service: &Service) -> Vec<(Timestamp, Timestamp, i64, Uuid)> {
        let rules = service.rules();
        let now = self.input.now;
        let earliest = now.saturating_add(rules.min_notice).unwrap_or(now);
        let latest = now.saturating_add(rules.booking_horizon).unwrap_or(now);
        self.joinable
            .iter()
            .filter(|(start, ..)| {
                let date = self.input.time_zone.to_datetime(*start).date();
                *start >= earliest && *start <= latest && date >= self.input.from && date <= self.input.until
            })
            .copied()
            .collect()
    }
}

impl Services {
    /// Validates a search and loads everything for it: 6 queries, whatever the number of
    /// providers, clinics or days, each reading only the providers (and clinic) the search
    /// is narrowed to.
    async fn prepare_search(
        &self,
        actor: &Actor,
        q: &SlotQuery,
        moving: Option<AppointmentId>,
    ) -> ServiceResult<(Service, Vec<Candidate>)> {
        actor.require(Permission::SearchSlots)?;
        let now = self.now();
        let today = now.to_zoned(self.settings().display_zone.clone()).date();
        let from = q.from.unwrap_or(today);
        let until = q.until.unwrap_or_else(|| from.checked_add(SignedDuration::from_hours(24 * 13)).unwrap_or(from));
        let mut v = Validation::new();
        if until < from {
            v.add("until", "before_from", "The end of the range must not be before its start.");
        } else if (until - from).get_days() > MAX_SEARCH_DAYS as i32 {
            v.add("until", "range_too_long", format!("Search at most {MAX_SEARCH_DAYS} days at a time."));
        }
        v.finish()?;
        let scope = catalog::SearchScope { service: q.service_id, provider: q.provider_id, clinic: q.clinic_id };
        let day = SignedDuration::from_hours(24);
        let wide_from = from.checked_sub(day).unwrap_or(from);
        let wide_until = until.checked_add(day).unwrap_or(until);
        let busy_from = wide_from.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp()).unwrap_or(now);
        let busy_until = wide_until
            .checked_add(day)
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
            .unwrap_or(now);
        // The six reads are independent: run them at once on separate connections, so a
        // search waits for one round trip, not six.
        let db = self.db();
        let (service, offerings, windows, exceptions, closures, mut busy) = futures::try_join!(
            catalog::service(db, q.service_id),
            catalog::search_offerings(db, &scope),
            availability::windows_for_service(db, &scope),
            availability::exceptions_for_service(db, &scope, wide_from, wide_until),
            availability::closures(db, q.clinic_id, Some(wide_from), Some(wide_until)),
            appointments::busy_for_service(db, &scope, busy_from, busy_until, now),
        )?;
        let service = match service {
            Some(s) if s.active => Service::from_row(s)?,
            _ => return Err(ServiceError::invalid("service_id", "unknown", "There is no such service.")),
        };
        if offerings.is_empty() {
            return Ok((service, Vec::new()));
        }
        // An appointment being moved does not stand in its own way.
        let moving_from =
            moving.and_then(|m| busy.iter().find(|b| b.appointment_id == m.0)).map(|b| (b.provider_id, b.starts_at.0));
        if let Some(m) = moving {
            busy.retain(|b| b.appointment_id != m.0);
        }

        let rules = service.rules();
        let mut candidates = Vec::new();
        for o in offerings {
            let zone = zone_named(&o.time_zone);
            let provider_busy: Vec<_> = busy.iter().filter(|b| b.provider_id == o.provider_id).cloned().collect();
            let joinable = if service.is_group() {
                provider_busy
                    .iter()
                    .filter(|b| {
                        b.service_id == service.id.0
                            && b.clinic_id == o.clinic_id
                            && b.booked < service.capacity
                            && matches!(b.status.as_str(), "requested" | "confirmed")
                    })
                    .map(|b| (b.starts_at.0, b.ends_at.0, service.capacity - b.booked, b.appointment_id))
                    .collect()
            } else {
                Vec::new()
            };
            let input = SlotInput {
                time_zone: zone,
                weekly: windows
                    .iter()
                    .filter(|w| w.provider_id == o.provider_id && w.clinic_id == o.clinic_id)
                    .map(crate::availability::window_of)
                    .collect(),
                exceptions: exceptions
                    .iter()
                    .filter(|e| e.provider_id == o.provider_id && e.clinic_id.is_none_or(|c| c == o.clinic_id))
                    .map(crate::availability::exception_of)
                    .collect(),
                closures: closures
                    .iter()
                    .filter(|c| c.clinic_id == o.clinic_id)
                    .map(crate::availability::closure_of)
                    .collect(),
                busy: busy_of(&provider_busy),
                rules,
                from,
                until,
                now,
            };
            candidates.push(Candidate {
                provider_id: o.provider_id,
                provider_name: o.provider_name,
                clinic_id: o.clinic_id,
                clinic_name: o.clinic_name,
                time_zone: o.time_zone,
                input,
                joinable,
                moving_from: moving_from.filter(|(p, _)| *p == o.provider_id).map(|(_, start)| start),
            });
        }
        Ok((service, candidates))
    }

    /// Free times for a service over a date range (at most 90 days), by provider and/or
    /// clinic, sorted by start. Group services also list existing sessions with room.
    #[tracing::instrument(skip_all)]
    pub async fn search_slots(&self, actor: &Actor, q: &SlotQuery) -> ServiceResult<Vec<SlotView>> {
        self.search_slots_moving(actor, q, None).await
    }

    /// [`Services::search_slots`] for moving an appointment: its own time counts as free,
    /// so it can move by less than its length.
    pub async fn search_slots_moving(
        &self,
        actor: &Actor,
        q: &SlotQuery,
        moving: Option<AppointmentId>,
    ) -> ServiceResult<Vec<SlotView>> {
        let (service, candidates) = self.prepare_search(actor, q, moving).await?;
        let mut out = Vec::new();
        for c in &candidates {
            for s in free_slots(&c.input).into_iter().filter(|s| c.moving_from != Some(s.start)) {
                out.push(self.slot_view(c, s.start, s.end, service.capacity, None));
            }
            out.extend(self.joinable_views(c, &service));
        }
        out.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.provider_name.cmp(&b.provider_name)));
        Ok(out)
    }

    /// [`Services::search_slots`] in the lean shape of the API: grouped per provider and
    /// local day, names once, no per-slot labels.
    #[tracing::instrument(skip_all)]
    pub async fn slot_table(&self, actor: &Actor, q: &SlotQuery) -> ServiceResult<SlotTable> {
        Ok(self.service_slot_table(actor, q).await?.1)
    }

    /// [`Services::slot_table`] with the service it searched (read once, for callers
    /// that show its name).
    pub(crate) async fn service_slot_table(&self, actor: &Actor, q: &SlotQuery) -> ServiceResult<(Service, SlotTable)> {
        let (service, candidates) = self.prepare_search(actor, q, None).await?;
        let mut providers = Vec::with_capacity(candidates.len());
        for c in candidates {
            let zone = &c.input.time_zone;
            let mut days: Vec<SlotDay> = Vec::new();
            let day_of = |days: &mut Vec<SlotDay>, t: Timestamp| -> usize {
                let date = zone.to_datetime(t).date();
                match days.iter().rposition(|d| d.date == date) {
                    Some(i) => i,
                    None => {
                        days.push(SlotDay { date, starts: Vec::new(), sessions: Vec::new() });
                        days.len() - 1
                    }
                }
            };
            for s in free_slots(&c.input) {
                let i = day_of(&mut days, s.start);
                days[i].starts.push(s.start);
            }
            for (start, end, remaining, id) in c.open_sessions(&service) {
                let i = day_of(&mut days, start);
                days[i].sessions.push(OpenSession { session_id: AppointmentId(id), start, end, remaining });
            }
            if days.is_empty() {
                continue;
            }
            days.sort_by_key(|d| d.date);
            for d in &mut days {
                d.sessions.sort_by_key(|s| s.start);
            }
            providers.push(ProviderSlots {
                provider_id: ProviderId(c.provider_id),
                provider_name: c.provider_name,
                clinic_id: ClinicId(c.clinic_id),
                clinic_name: c.clinic_name,
                time_zone: c.time_zone,
                days,
            });
        }
        providers.sort_by(|a, b| a.provider_name.cmp(&b.provider_name).then_with(|| a.clinic_name.cmp(&b.clinic_name)));
        let table = SlotTable {
            service_id: service.id,
            minutes: service.duration_minutes,
            places: service.capacity,
            providers,
        };
        Ok((service, table))
    }

    fn joinable_views(&self, c: &Candidate, service: &Service) -> Vec<SlotView> {
        c.open_sessions(service)
            .into_iter()
            .map(|(start, end, left, id)| self.slot_view(c, start, end, left, Some(AppointmentId(id))))
            .collect()
    }

    fn slot_view(
        &self,
        c: &Candidate,
        start: Timestamp,
        end: Timestamp,
        remaining: i64,
        session: Option<AppointmentId>,
    ) -> SlotView {
        SlotView {
            provider_id: ProviderId(c.provider_id),
            provider_name: c.provider_name.clone(),
            clinic_id: ClinicId(c.clinic_id),
            clinic_name: c.clinic_name.clone(),
            time_zone: c.time_zone.clone(),
            start,
            end,
            local_start: local_label(start, &c.input.time_zone),
            remaining,
            session_id: session,
        }
    }

    /// The earliest free time for a service across every provider (optionally at one
    /// clinic), searching up to 90 days from `from`.
    #[tracing::instrument(skip_all)]
    pub async fn first_available(
        &self,
        actor: &Actor,
        service: ServiceId,
        clinic: Option<ClinicId>,
        from: Option<Date>,
    ) -> ServiceResult<Option<SlotView>> {
        let from_date = from.unwrap_or_else(|| self.now().to_zoned(self.settings().display_zone.clone()).date());
        let until = from_date.checked_add(SignedDuration::from_hours(24 * MAX_SEARCH_DAYS)).unwrap_or(from_date);
        let q = SlotQuery {
            service_id: service,
            provider_id: None,
            clinic_id: clinic,
            from: Some(from_date),
            until: Some(until),
        };
        let (service, candidates) = self.prepare_search(actor, &q, None).await?;
        let mut best: Option<SlotView> = None;
        for c in &candidates {
            let mut options: Vec<SlotView> = first_free_slot(&c.input)
                .map(|s| self.slot_view(c, s.start, s.end, service.capacity, None))
                .into_iter()
                .collect();
            options.extend(self.joinable_views(c, &service));
            for o in options {
                if best.as_ref().is_none_or(|b| o.start < b.start) {
                    best = Some(o);
                }
            }
        }
        Ok(best)
    }

    /// The local dates in a range that have at least one free time (a month view's
    /// highlighted days).
    pub async fn days_with_slots(&self, actor: &Actor, q: &SlotQuery) -> ServiceResult<Vec<Date>> {
        self.days_with_slots_moving(actor, q, None).await
    }

    /// [`Services::days_with_slots`] for moving an appointment (its own time counts as free).
    pub async fn days_with_slots_moving(
        &self,
        actor: &Actor,
        q: &SlotQuery,
        moving: Option<AppointmentId>,
    ) -> ServiceResult<Vec<Date>> {
        let (service, candidates) = self.prepare_search(actor, q, moving).await?;
        let mut days: Vec<Date> = Vec::new();
        for c in &candidates {
            days.extend(dates_with_slots(&c.input));
            days.extend(
                self.joinable_views(c, &service).iter().map(|s| s.start.to_zoned(c.input.time_zone.clone()).date()),
            );
        }
        days.sort();
        days.dedup();
        Ok(days)
    }
}
