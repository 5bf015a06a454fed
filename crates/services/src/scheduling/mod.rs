//! Scheduling: slot search, booking, the appointment workflow, recurring series, the
//! waiting list and housekeeping of holds.
//!
//! Every booking-like write follows the same steps inside one transaction: let lapsed
//! holds of the provider in that time expire, load the provider's busy time, ask the
//! domain's slot engine whether the start is bookable, write, record history and audit.
//! The database is the final guard against double booking (PostgreSQL's exclusion
//! constraint; SQLite's single serialised writer), and a race it catches is a friendly
//! 409 like any other conflict.

pub(crate) mod booking;
mod calendar;
mod feed;
mod series;
mod slots;
mod waitlist;

pub use booking::{Booked, BookingRequest, CancelRequest, ChangeScope, RescheduleRequest};
pub use calendar::{
    AppointmentPanel, BandKind, BookingDraft, BookingOptions, CalendarBand, CalendarEntry, CalendarProvider,
    CalendarQuery, CalendarSpan, CalendarView, EntryDetails, HistoryLine, LocalBooked, LocalBooking, OfferLine,
    ProviderChoice, ProviderDay, Repeat, WaitlistBoard, WaitlistRow, dates_between, describe_change, when,
};
pub use praxis_store::appointments::AppointmentFilter;
pub use praxis_store::waitlist::EntryFilter;
pub use series::{OccurrenceOutcome, OccurrenceReport, SeriesMode, SeriesReport, SeriesRequest};
pub use slots::{OpenSession, ProviderSlots, SlotDay, SlotQuery, SlotTable, SlotView};
pub use waitlist::{PreferredTime, WaitlistEntry, WaitlistInput, WaitlistOffer};

use crate::Services;
use crate::actor::Actor;
use crate::catalog::{Clinic, Service};
use crate::error::{ServiceError, ServiceResult};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use praxis_domain::permissions::Scope;
use praxis_domain::{
    AppointmentId, AppointmentStatus, AvailabilityException, Busy, ClinicClosure, ClinicId, PatientId, Permission,
    ProviderId, SeriesId, ServiceId, SlotInput, SlotRejection, UserId, WeeklyWindow,
};
use praxis_store::appointments::{AppointmentRow, BusyRow, ParticipantRow};
use praxis_store::catalog::{self, ProviderRow};
use praxis_store::{StoreError, availability};
use serde::Serialize;
use uuid::Uuid;

/// An appointment as shown to people and API clients.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Appointment {
    /// Id.
    pub id: AppointmentId,
    /// Human-readable number (`A-2026-000123`).
    pub number: String,
    /// Where it is in its life.
    pub status: AppointmentStatus,
    /// The status for people ("Checked in").
    pub status_label: String,
    /// Clinic.
    pub clinic_id: ClinicId,
    /// Clinic name.
    pub clinic_name: String,
    /// Clinic address.
    pub clinic_address: String,
    /// The clinic's IANA time zone; `local_start`/`local_end` are in it.
    pub time_zone: String,
    /// Provider.
    pub provider_id: ProviderId,
    /// Provider's name.
    pub provider_name: String,
    /// Provider's calendar colour.
    pub calendar_colour: String,
    /// Service.
    pub service_id: ServiceId,
    /// Service name.
    pub service_name: String,
    /// Places in the session (1 = individual).
    pub capacity: i64,
    /// Start (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// End (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
    /// Start in the clinic's zone, `YYYY-MM-DDTHH:MM` with the zone's abbreviation.
    pub local_start: String,
    /// End in the clinic's zone.
    pub local_end: String,
    /// When a hold lapses.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub held_until: Option<Timestamp>,
    /// Recurring series.
    pub series_id: Option<SeriesId>,
    /// Position in the series, from 1.
    pub series_index: Option<i64>,
    /// Video room link (video services).
    pub video_url: Option<String>,
    /// Booking note.
    pub note: String,
    /// Patients booked (one for an individual appointment).
    pub participants: Vec<Participant>,
    /// When it was cancelled.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub cancelled_at: Option<Timestamp>,
    /// Why.
    pub cancel_reason: Option<String>,
    /// Cancelled inside the service's late-cancellation window.
    pub late_cancellation: bool,
    /// Booked at.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Increases with every change.
    pub version: i64,
}

/// A patient in an appointment.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Participant {
    /// Patient.
    pub patient_id: PatientId,
    /// Name.
    pub name: String,
    /// `booked` or `cancelled`.
    pub status: String,
}

/// One entry of an appointment's history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AppointmentChange {
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Who (user id).
    pub actor_id: Option<UserId>,
    /// `created`, `status`, `rescheduled`, `participant_added`, `participant_cancelled`.
    pub kind: String,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: Option<String>,
    /// Start before.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub from_start: Option<Timestamp>,
    /// Start after.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub to_start: Option<Timestamp>,
    /// Provider before.
    pub from_provider_id: Option<ProviderId>,
    /// Provider after.
    pub to_provider_id: Option<ProviderId>,
    /// Reason or detail.
    pub note: String,
}

/// The clinic's zone from its stored name.
pub(crate) fn zone_named(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// "2026-03-02T09:00 AEDT".
pub fn local_label(t: Timestamp, zone: &TimeZone) -> String {
    let z = t.to_zoned(zone.clone());
    format!("{} {}", z.strftime("%Y-%m-%dT%H:%M"), z.offset_info_abbreviation())
}

trait AbbrevExt {
    fn offset_info_abbreviation(&self) -> String;
}

impl AbbrevExt for jiff::Zoned {
    fn offset_info_abbreviation(&self) -> String {
        self.time_zone().to_offset_info(self.timestamp()).abbreviation().to_string()
    }
}

impl Appointment {
    pub(crate) fn from_rows(r: AppointmentRow, participants: Vec<&ParticipantRow>) -> ServiceResult<Self> {
        let status: AppointmentStatus =
            r.status.parse().map_err(|e| ServiceError::Internal(format!("appointment {}: {e}", r.id)))?;
        let zone = zone_named(&r.time_zone);
        Ok(Appointment {
            id: AppointmentId(r.id),
            number: r.number,
            status,
            status_label: status.label().into(),
            clinic_id: ClinicId(r.clinic_id),
            clinic_name: r.clinic_name,
            clinic_address: r.clinic_address,
            local_start: local_label(r.starts_at.0, &zone),
            local_end: local_label(r.ends_at.0, &zone),
            time_zone: r.time_zone,
            provider_id: ProviderId(r.provider_id),
            provider_name: r.provider_name,
            calendar_colour: r.calendar_colour,
            service_id: ServiceId(r.service_id),
            service_name: r.service_name,
            capacity: r.capacity,
            start: r.starts_at.0,
            end: r.ends_at.0,
            held_until: r.held_until.map(|t| t.0),
            series_id: r.series_id.map(SeriesId),
            series_index: r.series_index,
            video_url: r.video_url,
            note: r.note,
            participants: participants
                .into_iter()
                .map(|p| Participant {
                    patient_id: PatientId(p.patient_id),
                    name: format!("{} {}", p.given_name, p.family_name).trim().to_string(),
                    status: p.status.clone(),
                })
                .collect(),
            cancelled_at: r.cancelled_at.map(|t| t.0),
            cancel_reason: r.cancel_reason,
            late_cancellation: r.late_cancellation,
            created_at: r.created_at.0,
            version: r.version,
        })
    }
}

/// What a booking needs to know about the service, clinic and provider.
#[derive(Clone, Debug)]
pub(crate) struct BookingContext {
    pub service: Service,
    pub clinic: Clinic,
    pub zone: TimeZone,
    pub provider: ProviderRow,
}

/// A slot rejection as a service error (409 for conflicts, 422 for the rest).
pub(crate) fn rejection(r: SlotRejection, zone: &TimeZone) -> ServiceError {
    match r {
        SlotRejection::Conflict { .. } => {
            ServiceError::conflict("slot_taken", "This time was just taken. Please choose another time.")
        }
        SlotRejection::TooSoon { earliest } => ServiceError::invalid(
            "start",
            "too_soon",
            format!("That is too soon to book; the earliest possible time is {}.", local_label(earliest, zone)),
        ),
        SlotRejection::TooFarAhead { latest } => ServiceError::invalid(
            "start",
            "too_far_ahead",
            format!("That is too far ahead; bookings open up to {}.", local_label(latest, zone)),
        ),
        SlotRejection::InPast => ServiceError::invalid("start", "in_past", "That time has already passed."),
        SlotRejection::OutsideAvailability => ServiceError::invalid(
            "start",
            "outside_availability",
            "The provider is not available at that time at this clinic. Choose one of the offered times.",
        ),
        SlotRejection::InvalidRules => ServiceError::conflict(
            "service_misconfigured",
            "This service's scheduling rules are incomplete; ask the clinic to check it.",
        ),
    }
}

/// A store error from a booking write: the exclusion constraint's verdict is a 409.
pub(crate) fn booking_store_error(e: StoreError) -> ServiceError {
    match e {
        StoreError::Exclusion(_) => {
            ServiceError::conflict("slot_taken", "This time was just taken. Please choose another time.")
        }
        other => other.into(),
    }
}

/// Busy rows as the slot engine's intervals.
pub(crate) fn busy_of(rows: &[BusyRow]) -> Vec<Busy> {
    rows.iter().map(|b| Busy { start: b.occupied_from.0, end: b.occupied_until.0 }).collect()
}

impl Services {
    /// Loads and checks the service, clinic and provider of a booking: all active, and
    /// the provider offers the service at that clinic.
    pub(crate) async fn booking_context(
        &self,
        service: ServiceId,
        provider: ProviderId,
        clinic: ClinicId,
    ) -> ServiceResult<BookingContext> {
        let service_row = catalog::service(self.db(), service).await?;
        let clinic_row = catalog::clinic(self.db(), clinic).await?;
        let provider_row = catalog::provider(self.db(), provider).await?;
        let mut v = praxis_domain::Validation::new();
        let service = match service_row {
            Some(s) if s.active => Some(Service::from_row(s)?),
            Some(_) => {
                v.add("service_id", "inactive", "This service is not offered any more.");
                None
            }
            None => {
                v.add("service_id", "unknown", "There is no such service.");
                None
            }
        };
        let clinic = match clinic_row {
            Some(c) if c.active => Some(Clinic::from_row(c)),
            Some(_) => {
                v.add("clinic_id", "inactive", "This clinic is not taking bookings.");
                None
            }
            None => {
                v.add("clinic_id", "unknown", "There is no such clinic.");
                None
            }
        };
        let provider = match provider_row {
            Some(p) if p.active => Some(p),
            Some(_) => {
                v.add("provider_id", "inactive", "This provider is not taking bookings.");
                None
            }
            None => {
                v.add("provider_id", "unknown", "There is no such provider.");
                None
            }
        };
        v.finish()?;
        let (Some(service), Some(clinic), Some(provider)) = (service, clinic, provider) else {
            return Err(ServiceError::Internal("validated context without values".into()));
        };
        let offers = catalog::offerings(self.db(), service.id, Some(ProviderId(provider.id)), Some(clinic.id)).await?;
        if offers.is_empty() {
            return Err(ServiceError::invalid(
                "service_id",
                "not_offered",
                "This provider does not offer this service at this clinic.",
            ));
        }
        let zone = clinic.zone();
        Ok(BookingContext { service, clinic, zone, provider })
    }

    /// The slot-engine input for one provider at one clinic around `start` (the local day
    /// before to the day after), without busy time. Read it *before* opening the write
    /// transaction (a transaction must never wait for a second pooled connection), then
    /// fill in `busy` from inside the transaction.
    pub(crate) async fn availability_around(&self, ctx: &BookingContext, start: Timestamp) -> ServiceResult<SlotInput> {
        let date = start.to_zoned(ctx.zone.clone()).date();
        let from = date.yesterday().unwrap_or(date);
        let until = date.tomorrow().unwrap_or(date);
        self.availability(ctx, from, until).await
    }

    /// The slot-engine input for one provider at one clinic over local dates
    /// `from..=until`, without busy time (see [`Services::availability_around`]).
    pub(crate) async fn availability(&self, ctx: &BookingContext, from: Date, until: Date) -> ServiceResult<SlotInput> {
        let provider = ProviderId(ctx.provider.id);
        let weekly: Vec<WeeklyWindow> = availability::windows_of(self.db(), provider)
            .await?
            .iter()
            .filter(|w| w.clinic_id == ctx.clinic.id.0)
            .map(crate::availability::window_of)
            .collect();
        let exceptions: Vec<AvailabilityException> =
            availability::exceptions_of(self.db(), provider, Some(from), Some(until))
                .await?
                .iter()
                .filter(|e| e.clinic_id.is_none_or(|c| c == ctx.clinic.id.0))
                .map(crate::availability::exception_of)
                .collect();
        let closures: Vec<ClinicClosure> =
            availability::closures(self.db(), Some(ctx.clinic.id), Some(from), Some(until))
                .await?
                .iter()
                .map(crate::availability::closure_of)
                .collect();
        Ok(SlotInput {
            time_zone: ctx.zone.clone(),
            weekly,
            exceptions,
            closures,
            busy: Vec::new(),
            rules: ctx.service.rules(),
            from,
            until,
            now: self.now(),
        })
    }

    /// The acting user's provider row, if they are one.
    pub(crate) async fn actor_provider_id(&self, actor: &Actor) -> ServiceResult<Option<Uuid>> {
        match actor.user_id {
            Some(u) => Ok(catalog::provider_of_user(self.db(), u).await?.map(|p| p.id)),
            None => Ok(None),
        }
    }

    /// Whether the actor's "own" scope covers `appt`: they are its provider, or one of
    /// its booked patients.
    pub(crate) async fn owns_appointment(
        &self,
        actor: &Actor,
        appt: &AppointmentRow,
        participants: &[ParticipantRow],
    ) -> ServiceResult<bool> {
        let Some(me) = actor.user_id else { return Ok(false) };
        if appt.provider_user_id == me.0 && actor.roles.has(praxis_domain::Role::Provider) {
            return Ok(true);
        }
        if !actor.roles.has(praxis_domain::Role::Patient) {
            return Ok(false);
        }
        if participants.iter().any(|p| p.user_id == Some(me.0) && p.status == "booked") {
            return Ok(true);
        }
        // A guardian acts for the children they are linked to.
        let booked: Vec<_> = participants.iter().filter(|p| p.status == "booked").collect();
        if booked.is_empty() {
            return Ok(false);
        }
        let mine = self.patients_i_act_for(actor).await?;
        Ok(booked.iter().any(|p| mine.contains(&praxis_domain::PatientId(p.patient_id))))
    }

    /// Checks `scope` against an appointment: `All` passes; `Own` needs ownership. A
    /// denial answers 404 so the appointment's existence is not revealed.
    pub(crate) async fn check_scope(
        &self,
        actor: &Actor,
        scope: Scope,
        appt: &AppointmentRow,
        participants: &[ParticipantRow],
    ) -> ServiceResult<()> {
        if scope == Scope::All || self.owns_appointment(actor, appt, participants).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound { what: "Appointment" })
        }
    }

    /// 404, exactly as for a missing id, unless `actor` may see the appointment at all:
    /// staff and administrators every one, providers their own schedule, patients their
    /// own bookings. Checked before the permission for the action, so a patient trying to
    /// check in someone else's real appointment learns nothing a made-up id would not tell.
    pub(crate) async fn require_visible(
        &self,
        actor: &Actor,
        appt: &AppointmentRow,
        participants: &[ParticipantRow],
    ) -> ServiceResult<()> {
        let visible = match actor.scope(Permission::ViewAppointments) {
            Some(Scope::All) => true,
            Some(Scope::Own) => self.owns_appointment(actor, appt, participants).await?,
            None => false,
        };
        if visible { Ok(()) } else { Err(ServiceError::NotFound { what: "Appointment" }) }
    }

    /// Records a refused attempt in the audit log (its own transaction), then returns
    /// the error to answer with.
    pub(crate) async fn denied(
        &self,
        actor: &Actor,
        action: &str,
        entity_type: &str,
        entity_id: Option<String>,
        summary: &str,
        err: ServiceError,
    ) -> ServiceError {
        let write = async {
            let mut tx = self.db().begin().await?;
            tx.audit(self.audit_entry(actor, action, entity_type, entity_id, summary));
            tx.commit().await
        };
        if let Err(e) = write.await {
            tracing::error!(error = %e, "could not audit a denied attempt");
        }
        err
    }

    /// Housekeeping, safe to run on every instance at any time: lapsed holds expire,
    /// lapsed waiting-list offers pass to the next patient, freed time is offered.
    pub async fn run_housekeeping(&self) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let expired = praxis_store::appointments::expire_lapsed_holds(&mut tx, None, now).await?;
        if !expired.is_empty() {
            tx.audit(self.audit_entry(
                &Actor::system("system"),
                "appointment.holds_expired",
                "appointment",
                None,
                format!("{} lapsed hold(s) expired", expired.len()),
            ));
        }
        tx.commit().await?;
        self.expire_offers().await?;
        self.process_releases().await?;
        let mut tx = self.db().begin().await?;
        let week_ago = now.saturating_sub(SignedDuration::from_hours(24 * 7)).unwrap_or(now);
        praxis_store::sessions::purge_ended(&mut tx, week_ago).await?;
        praxis_store::throttle::purge(&mut tx, week_ago).await?;
        praxis_store::two_factor::challenges::purge(&mut tx, week_ago).await?;
        tx.commit().await?;
        self.sweep_overdue_invoices().await?;
        Ok(())
    }
}
