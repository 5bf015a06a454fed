//! Booking, holds, the workflow, cancelling and rescheduling.

use super::{Appointment, AppointmentChange, BookingContext, booking_store_error, busy_of, local_label, rejection};
use crate::Services;
use crate::actor::Actor;
use crate::billing::BillingEvent;
use crate::error::{ServiceError, ServiceResult};
use crate::users::{Page, PageRequest};
use jiff::Timestamp;
use praxis_domain::appointment::{is_late_cancellation, next};
use praxis_domain::integrations::WebhookEvent;
use praxis_domain::permissions::Scope;
use praxis_domain::slots::{occupied_range, slot_is_bookable};
use praxis_domain::{
    AppointmentAction, AppointmentChangeId, AppointmentId, AppointmentStatus, ClinicId, PatientId, Permission,
    ProviderId, Role, ServiceId, UserId, Validation,
};
use praxis_store::appointments::{self, AppointmentFilter, AppointmentRow, ChangeRow, NewAppointment, ParticipantRow};
use praxis_store::{DbTime, Tx, patients, waitlist};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A booking.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct BookingRequest {
    /// The service.
    pub service_id: Option<ServiceId>,
    /// The provider.
    pub provider_id: Option<ProviderId>,
    /// The clinic.
    pub clinic_id: Option<ClinicId>,
    /// Start (RFC 3339 instant, e.g. from a slot search).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub start: Option<Timestamp>,
    /// The patient (staff and providers; patients book for themselves and may omit it).
    pub patient_id: Option<PatientId>,
    /// Only hold the time (status `held`) for a few minutes while the booking is
    /// completed; confirm it with `POST /appointments/{id}/confirm`.
    #[serde(default)]
    pub hold: bool,
    /// A note for the clinic.
    #[serde(default)]
    pub note: String,
}

/// The result of a booking.
#[derive(Clone, Debug)]
pub struct Booked {
    /// The appointment.
    pub appointment: Appointment,
    /// True when an earlier request with the same Idempotency-Key already made it.
    pub replayed: bool,
}

/// How far a change to one appointment of a series reaches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeScope {
    /// Only this appointment.
    #[default]
    This,
    /// This and every later one of its series.
    Following,
    /// The whole series.
    All,
}

/// A cancellation.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CancelRequest {
    /// Why (required from staff and providers).
    #[serde(default)]
    pub reason: String,
    /// For a series: this one, this and following, or all.
    #[serde(default)]
    pub scope: ChangeScope,
}

/// Who cancels, and how their cancellation is treated.
pub(crate) struct CancelBy<'a> {
    /// Recorded as the one who cancelled.
    pub actor: &'a Actor,
    /// How far their permission reaches.
    pub scope: Scope,
    /// Why (kept with the appointment and in the audit log).
    pub reason: &'a str,
    /// A patient cancelling their own place: in a group session they only leave it.
    pub me: Option<PatientId>,
    /// The patient themselves (not staff): an appointment that started cannot be cancelled.
    pub patient_only: bool,
}

/// A move.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RescheduleRequest {
    /// New start.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub start: Option<Timestamp>,
    /// New provider (staff only; default the same).
    pub provider_id: Option<ProviderId>,
    /// New clinic (staff only; default the same).
    pub clinic_id: Option<ClinicId>,
    /// For a series: this one, this and following, or all (same shift for each).
    #[serde(default)]
    pub scope: ChangeScope,
}

fn request_hash(r: &BookingRequest, patient: PatientId) -> String {
    let canonical = serde_json::json!({
        "service": r.service_id, "provider": r.provider_id, "clinic": r.clinic_id,
        "start": r.start.map(|t| t.to_string()), "patient": patient, "hold": r.hold, "note": r.note,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// An unguessable video room name: 128 random bits, hex.
pub(crate) fn video_room(base: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    format!("{base}praxis-{}", hex::encode(bytes))
}

pub(crate) fn change(appt: AppointmentId, now: Timestamp, actor: &Actor, kind: &str) -> ChangeRow {
    ChangeRow {
        id: AppointmentChangeId::new().0,
        appointment_id: appt.0,
        at: DbTime(now),
        actor_id: actor.user_id.map(|u| u.0),
        kind: kind.into(),
        from_status: None,
        to_status: None,
        from_starts_at: None,
        to_starts_at: None,
        from_provider_id: None,
        to_provider_id: None,
        note: String::new(),
    }
}

impl Services {
    /// Which patient a booking is for: patients book for themselves (a different patient
    /// id is refused and audited); everyone else must name one.
    pub(crate) async fn booking_patient(
        &self,
        actor: &Actor,
        scope: Scope,
        requested: Option<PatientId>,
    ) -> ServiceResult<PatientId> {
        match scope {
            Scope::All => {
                let id = requested.ok_or_else(|| {
                    ServiceError::invalid("patient_id", "required", "Choose the patient this appointment is for.")
                })?;
                if patients::get(self.db(), id).await?.is_none() {
                    return Err(ServiceError::invalid("patient_id", "unknown", "There is no such patient."));
                }
                Ok(id)
            }
            Scope::Own => {
                let mine = self.patients_i_act_for(actor).await?;
                let me = self.my_patient(actor).await?.map(|p| p.id);
                match requested {
                    // A guardian books for a child they act for.
                    Some(other) if mine.contains(&other) => Ok(other),
                    Some(other) => Err(self
                        .denied(
                            actor,
                            "appointment.book_denied",
                            "patient",
                            Some(other.to_string()),
                            "a patient tried to book for another patient",
                            ServiceError::Forbidden,
                        )
                        .await),
                    None => me.ok_or(ServiceError::Forbidden),
                }
            }
        }
    }

    /// Books an appointment (or holds it). Retrying with the same `idempotency_key`
    /// returns the same appointment; reusing the key for a different request is a 409.
    #[tracing::instrument(skip_all)]
    pub async fn book(
        &self,
        actor: &Actor,
        req: BookingRequest,
        idempotency_key: Option<&str>,
    ) -> ServiceResult<Booked> {
        // What was asked, kept for the audit line of a refusal (formatted only then).
        let asked = (req.service_id, req.provider_id, req.clinic_id, req.start, req.patient_id);
        let result = self.book_checked(actor, req, idempotency_key).await;
        // Every refused booking is on record: who tried which time and why it failed.
        let Err(e) = result else { return result };
        let Some(why) = e.refusal_reason() else { return Err(e) };
        let (service, provider, clinic, start, patient) = asked;
        let or = |v: Option<String>, none: &str| v.unwrap_or_else(|| none.into());
        let summary = format!(
            "refused ({why}): service {} provider {} clinic {} start {} patient {}",
            or(service.map(|x| x.to_string()), "-"),
            or(provider.map(|x| x.to_string()), "-"),
            or(clinic.map(|x| x.to_string()), "-"),
            or(start.map(|x| x.to_string()), "-"),
            or(patient.map(|x| x.to_string()), "self"),
        );
        Err(self.denied(actor, "appointment.book_refused", "appointment", None, &summary, e).await)
    }

    async fn book_checked(
        &self,
        actor: &Actor,
        req: BookingRequest,
        idempotency_key: Option<&str>,
    ) -> ServiceResult<Booked> {
        let scope = actor.require(Permission::BookAppointment)?;
        let mut v = Validation::new();
        for (field, missing) in [
            ("service_id", req.service_id.is_none()),
            ("provider_id", req.provider_id.is_none()),
            ("clinic_id", req.clinic_id.is_none()),
            ("start", req.start.is_none()),
        ] {
            if missing {
                v.add(field, "required", "This field is required.");
            }
        }
        if req.note.chars().count() > 1000 {
            v.add("note", "too_long", "Use at most 1000 characters.");
        }
        if let Some(k) = idempotency_key
            && (k.is_empty() || k.len() > 200)
        {
            v.add("idempotency_key", "invalid", "An Idempotency-Key has 1 to 200 characters.");
        }
        v.finish()?;
        let (Some(service_id), Some(provider_id), Some(clinic_id), Some(start)) =
            (req.service_id, req.provider_id, req.clinic_id, req.start)
        else {
            return Err(ServiceError::Internal("validated booking without values".into()));
        };
        let patient = self.booking_patient(actor, scope, req.patient_id).await?;
        let ctx = self.booking_context(service_id, provider_id, clinic_id).await?;
        let actor_key = actor.user_id.map(|u| u.to_string()).unwrap_or_else(|| actor.label.clone());
        let hash = request_hash(&req, patient);
        let now = self.now();

        let available = self.availability_around(&ctx, start).await?;
        let mut tx = self.db().begin().await?;
        if let Some(key) = idempotency_key
            && let Some(prev) = appointments::idempotency_get(&mut tx, &actor_key, key).await?
        {
            tx.rollback().await?;
            return self.replay(&prev, &hash).await;
        }
        let outcome = self.book_in_tx(&mut tx, actor, &ctx, available, &req, patient, start, now).await;
        let id = match outcome {
            Ok(id) => id,
            Err(e) => {
                drop(tx);
                // On PostgreSQL a retry racing the first request with the same key sees
                // the time taken — by that very request, which committed its key with
                // the booking. Answer what it booked, not "just taken".
                if let Some(key) = idempotency_key
                    && matches!(e, ServiceError::Conflict { .. })
                    && let Some(prev) = self.stored_idempotency(&actor_key, key).await?
                {
                    return self.replay(&prev, &hash).await;
                }
                return Err(e);
            }
        };
        if let Some(key) = idempotency_key
            && let Err(e) = appointments::idempotency_put(&mut tx, &actor_key, key, &hash, Some(id), now).await
        {
            drop(tx);
            if (e.is_unique("idempotency") || e.is_unique("actor_key"))
                && let Some(prev) = self.stored_idempotency(&actor_key, key).await?
            {
                // A concurrent retry with the same key won; answer what it booked.
                return self.replay(&prev, &hash).await;
            }
            return Err(booking_store_error(e));
        }
        tx.commit().await.map_err(booking_store_error)?;
        Ok(Booked { appointment: self.load_appointment(id).await?, replayed: false })
    }

    /// The committed answer for `(actor, key)`, read in a transaction of its own.
    async fn stored_idempotency(
        &self,
        actor_key: &str,
        key: &str,
    ) -> ServiceResult<Option<appointments::IdempotencyRow>> {
        let mut tx = self.db().begin().await?;
        let prev = appointments::idempotency_get(&mut tx, actor_key, key).await?;
        tx.rollback().await?;
        Ok(prev)
    }

    async fn replay(&self, prev: &appointments::IdempotencyRow, hash: &str) -> ServiceResult<Booked> {
        if prev.request_hash != hash {
            return Err(ServiceError::conflict(
                "idempotency_key_reused",
                "This Idempotency-Key was already used for a different booking. Use a new key for a new request.",
            ));
        }
        let id = prev.appointment_id.map(AppointmentId).ok_or(ServiceError::NotFound { what: "Appointment" })?;
        Ok(Booked { appointment: self.load_appointment(id).await?, replayed: true })
    }

    /// The booking itself, inside `tx`: join an existing group session, or check the time
    /// and insert a new appointment. Returns its id.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn book_in_tx(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        ctx: &BookingContext,
        mut input: praxis_domain::SlotInput,
        req: &BookingRequest,
        patient: PatientId,
        start: Timestamp,
        now: Timestamp,
    ) -> ServiceResult<AppointmentId> {
        let provider = ProviderId(ctx.provider.id);
        let rules = ctx.service.rules();
        if ctx.service.is_group()
            && !req.hold
            && let Some(session) = appointments::group_session_for_update(tx, provider, ctx.service.id, start).await?
        {
            return self.join_session(tx, actor, session, patient, now).await;
        }
        let end = start.saturating_add(rules.duration).unwrap_or(start);
        let (occ_from, occ_until) = occupied_range(start, end, &rules);
        let expired = appointments::expire_lapsed_holds(tx, Some((provider, occ_from, occ_until)), now).await?;
        let busy = appointments::busy_for_provider_tx(tx, provider, occ_from, occ_until, now, &[]).await?;
        input.busy = busy_of(&busy);
        slot_is_bookable(&input, start).map_err(|r| rejection(r, &ctx.zone))?;

        let patient_only = actor.roles.is_patient_only();
        let status = if req.hold {
            AppointmentStatus::Held
        } else if patient_only && ctx.service.requires_approval {
            AppointmentStatus::Requested
        } else {
            AppointmentStatus::Confirmed
        };
        let year = start.to_zoned(ctx.zone.clone()).year();
        let n = appointments::next_counter(tx, &format!("appointment:{year}")).await?;
        let id = AppointmentId::new();
        let video_url = (ctx.service.mode == crate::catalog::ServiceMode::Video)
            .then(|| video_room(&self.settings().video_base_url));
        let row = NewAppointment {
            id,
            number: format!("A-{year}-{n:06}"),
            clinic_id: ctx.clinic.id,
            provider_id: provider,
            service_id: ctx.service.id,
            starts_at: start,
            ends_at: end,
            occupied_from: occ_from,
            occupied_until: occ_until,
            status: status.as_str(),
            held_until: req.hold.then(|| now.saturating_add(self.settings().hold_ttl).unwrap_or(now)),
            series_id: None,
            series_index: None,
            video_url,
            note: req.note.trim().to_string(),
            created_at: now,
            created_by: actor.user_id,
        };
        self.insert_appointment(tx, actor, &row, patient, &expired).await?;
        Ok(id)
    }

    /// Inserts a checked appointment with its participant, history and audit rows.
    pub(crate) async fn insert_appointment(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        row: &NewAppointment,
        patient: PatientId,
        expired_holds: &[uuid::Uuid],
    ) -> ServiceResult<()> {
        appointments::insert(tx, row).await.map_err(booking_store_error)?;
        appointments::add_participant(tx, row.id, patient, row.created_at).await?;
        let mut c = change(row.id, row.created_at, actor, "created");
        c.to_status = Some(row.status.into());
        c.to_starts_at = Some(DbTime(row.starts_at));
        c.to_provider_id = Some(row.provider_id.0);
        appointments::insert_change(tx, &c).await?;
        if !expired_holds.is_empty() {
            tx.audit(self.audit_entry(
                &Actor::system("system"),
                "appointment.holds_expired",
                "appointment",
                None,
                format!("{} lapsed hold(s) expired", expired_holds.len()),
            ));
        }
        tx.audit(self.audit_entry(
            actor,
            if row.status == "held" { "appointment.hold" } else { "appointment.book" },
            "appointment",
            Some(row.id.to_string()),
            format!("{} {} for patient {patient} at {}", row.number, row.status, row.starts_at),
        ));
        if row.status != "held" {
            self.emit_appointment_event(tx, WebhookEvent::AppointmentBooked, row.id, row.created_at).await?;
            self.assign_intake_on_booking(tx, row.service_id, row.id, patient, row.created_at).await?;
            self.enqueue_billing_event(tx, row.id, row.service_id, BillingEvent::Booked, Some(patient), row.created_at)
                .await?;
        }
        // Series send one confirmation for all their appointments (see book_series).
        if row.status == "confirmed" && row.series_id.is_none() {
            let appt = crate::notifications::Appt {
                id: row.id.0,
                start: row.starts_at,
                zone: self.clinic_zone_tx(tx, row.clinic_id).await?,
            };
            self.notify(tx, crate::notifications::Event::Booked, &[appt], Some(&[patient.0]), row.created_at).await?;
        }
        Ok(())
    }

    async fn join_session(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        session: AppointmentRow,
        patient: PatientId,
        now: Timestamp,
    ) -> ServiceResult<AppointmentId> {
        let id = AppointmentId(session.id);
        let participants = appointments::participants_tx(tx, id).await?;
        let booked: Vec<&ParticipantRow> = participants.iter().filter(|p| p.status == "booked").collect();
        if booked.iter().any(|p| p.patient_id == patient.0) {
            return Err(ServiceError::conflict("already_booked", "This patient is already booked into this session."));
        }
        if booked.len() as i64 >= session.capacity {
            return Err(ServiceError::conflict("session_full", "This group session is full. Choose another time."));
        }
        if session.starts_at.0 <= now {
            return Err(ServiceError::invalid("start", "in_past", "That session has already started."));
        }
        appointments::add_participant(tx, id, patient, now).await?;
        let mut c = change(id, now, actor, "participant_added");
        c.note = format!("patient {patient}");
        appointments::insert_change(tx, &c).await?;
        tx.audit(self.audit_entry(
            actor,
            "appointment.join",
            "appointment",
            Some(id.to_string()),
            format!("patient {patient} joined {} ({} of {})", session.number, booked.len() + 1, session.capacity),
        ));
        self.assign_intake_on_booking(tx, ServiceId(session.service_id), id, patient, now).await?;
        self.enqueue_billing_event(tx, id, ServiceId(session.service_id), BillingEvent::Booked, Some(patient), now)
            .await?;
        self.emit_appointment_event(tx, WebhookEvent::AppointmentBooked, id, now).await?;
        let appt = crate::notifications::Appt::of_row(&session);
        self.notify(tx, crate::notifications::Event::Booked, &[appt], Some(&[patient.0]), now).await?;
        Ok(id)
    }

    /// One appointment with its participants (no permission check; internal).
    pub(crate) async fn load_appointment(&self, id: AppointmentId) -> ServiceResult<Appointment> {
        let row = appointments::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Appointment" })?;
        let parts = appointments::participants(self.db(), &[row.id]).await?;
        Appointment::from_rows(row, parts.iter().collect())
    }

    /// One appointment, if the actor may see it (404 otherwise).
    pub async fn get_appointment(&self, actor: &Actor, id: AppointmentId) -> ServiceResult<Appointment> {
        let scope = actor.require(Permission::ViewAppointments)?;
        let row = appointments::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Appointment" })?;
        let parts = appointments::participants(self.db(), &[row.id]).await?;
        self.check_scope(actor, scope, &row, &parts).await?;
        Appointment::from_rows(row, parts.iter().collect())
    }

    /// An appointment's history of times and statuses.
    pub async fn appointment_history(&self, actor: &Actor, id: AppointmentId) -> ServiceResult<Vec<AppointmentChange>> {
        self.get_appointment(actor, id).await?;
        Ok(appointments::changes(self.db(), id)
            .await?
            .into_iter()
            .map(|c| AppointmentChange {
                at: c.at.0,
                actor_id: c.actor_id.map(UserId),
                kind: c.kind,
                from_status: c.from_status,
                to_status: c.to_status,
                from_start: c.from_starts_at.map(|t| t.0),
                to_start: c.to_starts_at.map(|t| t.0),
                from_provider_id: c.from_provider_id.map(ProviderId),
                to_provider_id: c.to_provider_id.map(ProviderId),
                note: c.note,
            })
            .collect())
    }

    /// Appointments the actor may see, filtered and paged by start time. Patients see
    /// their own; providers their own schedule; staff and administrators everything.
    pub async fn list_appointments(
        &self,
        actor: &Actor,
        mut filter: AppointmentFilter,
        page: PageRequest,
    ) -> ServiceResult<Page<Appointment>> {
        let scope = actor.require(Permission::ViewAppointments)?;
        if scope == Scope::Own {
            if actor.roles.has(Role::Provider)
                && let Some(p) = self.actor_provider_id(actor).await?
            {
                if filter.provider_id.is_some_and(|f| f.0 != p) {
                    return Err(ServiceError::Forbidden);
                }
                filter.provider_id = Some(ProviderId(p));
            } else {
                let mine = self.patients_i_act_for(actor).await?;
                if mine.is_empty() {
                    return Err(ServiceError::Forbidden);
                }
                if filter.patient_id.is_some_and(|f| !mine.contains(&f)) {
                    return Err(ServiceError::Forbidden);
                }
                filter.patients_of_user = actor.user_id;
            }
        }
        let (rows, total) = appointments::list(self.db(), &filter, page.per_page, page.offset()).await?;
        let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
        let parts = appointments::participants(self.db(), &ids).await?;
        let items = rows
            .into_iter()
            .map(|r| {
                let mine: Vec<&ParticipantRow> = parts.iter().filter(|p| p.appointment_id == r.id).collect();
                Appointment::from_rows(r, mine)
            })
            .collect::<ServiceResult<Vec<_>>>()?;
        Ok(Page { items, total, page: page.page, per_page: page.per_page })
    }

    /// Applies a workflow action (confirm, check in, start, complete, no-show) with the
    /// permission it needs; illegal moves answer 409 with the reason.
    #[tracing::instrument(skip_all)]
    pub async fn transition(
        &self,
        actor: &Actor,
        id: AppointmentId,
        action: AppointmentAction,
    ) -> ServiceResult<Appointment> {
        if matches!(action, AppointmentAction::Cancel | AppointmentAction::Expire) {
            return Err(ServiceError::invalid("action", "invalid", "Use cancel for cancellations."));
        }
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let row =
            appointments::get_for_update(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "Appointment" })?;
        let parts = appointments::participants_tx(&mut tx, id).await?;
        self.require_visible(actor, &row, &parts).await?;
        let status: AppointmentStatus = row.status.parse().map_err(|e| ServiceError::Internal(format!("{e}")))?;
        // Confirming one's own hold is a booking step; everything else is clinic workflow.
        let confirming_hold = action == AppointmentAction::Confirm
            && matches!(status, AppointmentStatus::Held | AppointmentStatus::Expired);
        let permission =
            if confirming_hold { Permission::ChangeAppointment } else { Permission::RunAppointmentWorkflow };
        let scope = actor.require(permission)?;
        self.check_scope(actor, scope, &row, &parts).await?;
        let mut action = action;
        if confirming_hold {
            if status == AppointmentStatus::Expired || row.held_until.is_some_and(|h| h.0 <= now) {
                drop(tx);
                self.run_housekeeping().await?;
                return Err(ServiceError::conflict(
                    "hold_expired",
                    "The hold on this time has run out. Please choose a time again.",
                ));
            }
            let service = praxis_store::catalog::service_tx(&mut tx, praxis_domain::ServiceId(row.service_id))
                .await?
                .ok_or(ServiceError::NotFound { what: "Service" })?;
            if service.requires_approval && actor.roles.is_patient_only() {
                action = AppointmentAction::Request;
            }
        }
        let to = next(status, action).map_err(|e| ServiceError::conflict("illegal_transition", e.to_string()))?;
        appointments::set_status(&mut tx, id, to.as_str(), None, now).await?;
        let mut c = change(id, now, actor, "status");
        c.from_status = Some(status.as_str().into());
        c.to_status = Some(to.as_str().into());
        appointments::insert_change(&mut tx, &c).await?;
        if to == AppointmentStatus::NoShow {
            waitlist::insert_release(
                &mut tx,
                ProviderId(row.provider_id),
                ClinicId(row.clinic_id),
                ServiceId(row.service_id),
                row.starts_at.0,
                now,
            )
            .await?;
        }
        if to == AppointmentStatus::Completed {
            for p in appointments::participants_tx(&mut tx, id).await?.iter().filter(|p| p.status == "booked") {
                patients::set_last_visit(&mut tx, PatientId(p.patient_id), row.starts_at.0).await?;
            }
        }
        let billing = match to {
            AppointmentStatus::Completed => Some(BillingEvent::Completed),
            AppointmentStatus::NoShow => Some(BillingEvent::NoShow),
            _ => None,
        };
        if let Some(event) = billing {
            self.enqueue_billing_event(&mut tx, id, ServiceId(row.service_id), event, None, now).await?;
        }
        if let Some(offer) = waitlist::pending_offer_for_appointment(&mut tx, id).await?
            && matches!(to, AppointmentStatus::Confirmed | AppointmentStatus::Requested)
        {
            waitlist::set_offer_status(&mut tx, praxis_domain::WaitlistOfferId(offer.id), "accepted", now).await?;
            waitlist::set_entry_status(&mut tx, praxis_domain::WaitlistEntryId(offer.entry_id), "booked", now).await?;
        }
        if confirming_hold && matches!(to, AppointmentStatus::Confirmed | AppointmentStatus::Requested) {
            for p in parts.iter().filter(|p| p.status == "booked") {
                self.assign_intake_on_booking(&mut tx, ServiceId(row.service_id), id, PatientId(p.patient_id), now)
                    .await?;
                let (service, patient) = (ServiceId(row.service_id), Some(PatientId(p.patient_id)));
                self.enqueue_billing_event(&mut tx, id, service, BillingEvent::Booked, patient, now).await?;
            }
        }
        if to == AppointmentStatus::Confirmed {
            let appt = crate::notifications::Appt::of_row(&row);
            self.notify(&mut tx, crate::notifications::Event::Booked, &[appt], None, now).await?;
        }
        let booked = confirming_hold && matches!(to, AppointmentStatus::Confirmed | AppointmentStatus::Requested);
        let event = if booked { WebhookEvent::AppointmentBooked } else { WebhookEvent::AppointmentChanged };
        self.emit_appointment_event(&mut tx, event, id, now).await?;
        tx.audit(self.audit_entry(
            actor,
            &format!("appointment.{}", action.as_str()),
            "appointment",
            Some(id.to_string()),
            format!("{}: {} → {}", row.number, status.as_str(), to.as_str()),
        ));
        tx.commit().await?;
        self.process_releases().await?;
        self.load_appointment(id).await
    }

    /// Cancels an appointment (or, for a series, this and following or all). A patient
    /// cancelling a place in a group session gives up only their place. Cancelling inside
    /// the service's late-cancellation window is allowed and flagged.
    #[tracing::instrument(skip_all)]
    pub async fn cancel_appointment(
        &self,
        actor: &Actor,
        id: AppointmentId,
        req: CancelRequest,
    ) -> ServiceResult<Vec<Appointment>> {
        let scope = actor.require(Permission::ChangeAppointment)?;
        let patient_only = actor.roles.is_patient_only();
        let reason = req.reason.trim().to_string();
        let mut v = Validation::new();
        if reason.is_empty() && !patient_only {
            v.add("reason", "required", "Give a reason for the cancellation.");
        }
        if reason.chars().count() > 500 {
            v.add("reason", "too_long", "Use at most 500 characters.");
        }
        v.finish()?;
        let reason = if reason.is_empty() { "Cancelled by the patient".to_string() } else { reason };
        let me = if patient_only { self.my_patient(actor).await?.map(|p| p.id) } else { None };
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let how = CancelBy { actor, scope, reason: &reason, me, patient_only };
        let done = self.cancel_in(&mut tx, &how, id, req.scope, now).await?;
        tx.commit().await?;
        self.process_releases().await?;
        let mut out = Vec::new();
        for d in done {
            out.push(self.load_appointment(d).await?);
        }
        Ok(out)
    }

    /// The cancellation itself, inside `tx`: shared by the API and pages and by a
    /// patient's answer to a reminder. Returns the appointments it cancelled (or left).
    pub(crate) async fn cancel_in(
        &self,
        tx: &mut Tx,
        how: &CancelBy<'_>,
        id: AppointmentId,
        series: ChangeScope,
        now: Timestamp,
    ) -> ServiceResult<Vec<AppointmentId>> {
        let row = appointments::get_for_update(tx, id).await?.ok_or(ServiceError::NotFound { what: "Appointment" })?;
        let parts = appointments::participants_tx(tx, id).await?;
        self.check_scope(how.actor, how.scope, &row, &parts).await?;
        let targets = self.series_targets(tx, &row, series).await?;
        let mut done = Vec::new();
        let mut cancelled_notices = Vec::new();
        for target in targets {
            let tid = AppointmentId(target.id);
            let status: AppointmentStatus =
                target.status.parse().map_err(|e| ServiceError::Internal(format!("{e}")))?;
            if series != ChangeScope::This && (status.is_final() || target.starts_at.0 <= now) {
                continue; // past or already finished occurrences of a series stay as they are
            }
            if how.patient_only && target.starts_at.0 <= now {
                return Err(ServiceError::conflict(
                    "already_started",
                    "This appointment has already started; please call the clinic.",
                ));
            }
            let late =
                is_late_cancellation(target.starts_at.0, now, jiff::SignedDuration::from_mins(target.late_cancel_min));
            let booked = appointments::participants_tx(tx, tid).await?;
            let booked_count = booked.iter().filter(|p| p.status == "booked").count();
            if let Some(me) = how.me.filter(|_| target.capacity > 1 && booked_count > 1) {
                // A patient leaves a group session; the session goes on.
                if !appointments::cancel_participant(tx, tid, me, now).await? {
                    return Err(ServiceError::NotFound { what: "Appointment" });
                }
                let mut c = change(tid, now, how.actor, "participant_cancelled");
                c.note = how.reason.to_string();
                appointments::insert_change(tx, &c).await?;
                let appt = crate::notifications::Appt::of_row(&target);
                self.notify(tx, crate::notifications::Event::Cancelled, &[appt], Some(&[me.0]), now).await?;
                let event = if late { BillingEvent::LateCancelled } else { BillingEvent::Cancelled };
                self.enqueue_billing_event(tx, tid, ServiceId(target.service_id), event, Some(me), now).await?;
                self.emit_appointment_event(tx, WebhookEvent::AppointmentChanged, tid, now).await?;
                tx.audit(self.audit_entry(
                    how.actor,
                    "appointment.leave",
                    "appointment",
                    Some(tid.to_string()),
                    format!("patient {} left {}{}", me, target.number, if late { " (late)" } else { "" }),
                ));
                done.push(tid);
                continue;
            }
            next(status, AppointmentAction::Cancel)
                .map_err(|e| ServiceError::conflict("illegal_transition", e.to_string()))?;
            if status != AppointmentStatus::Held {
                cancelled_notices.push(crate::notifications::Appt::of_row(&target));
            }
            appointments::cancel(tx, tid, how.actor.user_id, how.reason, late, now).await?;
            if status != AppointmentStatus::Held {
                let event = if late { BillingEvent::LateCancelled } else { BillingEvent::Cancelled };
                self.enqueue_billing_event(tx, tid, ServiceId(target.service_id), event, None, now).await?;
                self.emit_appointment_event(tx, WebhookEvent::AppointmentCancelled, tid, now).await?;
            }
            let mut c = change(tid, now, how.actor, "status");
            c.from_status = Some(status.as_str().into());
            c.to_status = Some("cancelled".into());
            c.note = how.reason.to_string();
            appointments::insert_change(tx, &c).await?;
            if status.occupies_time() && status != AppointmentStatus::Held {
                waitlist::insert_release(
                    tx,
                    ProviderId(target.provider_id),
                    ClinicId(target.clinic_id),
                    ServiceId(target.service_id),
                    target.starts_at.0,
                    now,
                )
                .await?;
            }
            tx.audit(self.audit_entry(
                how.actor,
                "appointment.cancel",
                "appointment",
                Some(tid.to_string()),
                format!("{} cancelled{}: {}", target.number, if late { " late" } else { "" }, how.reason),
            ));
            done.push(tid);
        }
        if done.is_empty() {
            return Err(ServiceError::conflict("nothing_to_cancel", "There is nothing left to cancel in this series."));
        }
        // One cancellation per patient (listing the other appointments of a series); every
        // waiting reminder of each cancelled appointment is cancelled in this transaction.
        if !cancelled_notices.is_empty() {
            let patients = praxis_store::messages::booked_patients_tx(tx, cancelled_notices[0].id).await?;
            let patients = if patients.is_empty() {
                parts.iter().filter(|p| p.status == "booked").map(|p| p.patient_id).collect()
            } else {
                patients
            };
            self.notify(tx, crate::notifications::Event::Cancelled, &cancelled_notices, Some(&patients), now).await?;
        }
        Ok(done)
    }

    /// Moves an appointment (or a series from it, each occurrence shifted the same way in
    /// local time). The new time is checked exactly like a new booking; the history keeps
    /// the old one. All or nothing.
    #[tracing::instrument(skip_all)]
    pub async fn reschedule(
        &self,
        actor: &Actor,
        id: AppointmentId,
        req: RescheduleRequest,
    ) -> ServiceResult<Vec<Appointment>> {
        let scope = actor.require(Permission::ChangeAppointment)?;
        let Some(new_start) = req.start else {
            return Err(ServiceError::invalid("start", "required", "Choose the new time."));
        };
        let current = appointments::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Appointment" })?;
        let parts = appointments::participants(self.db(), &[current.id]).await?;
        self.check_scope(actor, scope, &current, &parts).await?;
        let patient_only = actor.roles.is_patient_only();
        if patient_only
            && (req.provider_id.is_some_and(|p| p.0 != current.provider_id)
                || req.clinic_id.is_some_and(|c| c.0 != current.clinic_id))
        {
            return Err(ServiceError::invalid(
                "provider_id",
                "not_allowed",
                "To change provider or clinic, cancel and book again.",
            ));
        }
        if patient_only && parts.iter().filter(|p| p.status == "booked").count() > 1 {
            return Err(ServiceError::conflict(
                "group_session",
                "A group session cannot be moved by one participant; cancel your place and book another session.",
            ));
        }
        let provider = req.provider_id.unwrap_or(ProviderId(current.provider_id));
        let clinic = req.clinic_id.unwrap_or(ClinicId(current.clinic_id));
        let ctx = self.booking_context(ServiceId(current.service_id), provider, clinic).await?;
        // Availability over every date the change can touch, read before the transaction.
        let span_dates = self.reschedule_span(&current, req.scope, new_start, &ctx).await?;
        let available = self.availability(&ctx, span_dates.0, span_dates.1).await?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let row =
            appointments::get_for_update(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "Appointment" })?;
        if row.version != current.version {
            return Err(ServiceError::conflict(
                "changed",
                "This appointment was just changed by someone else. Reload and try again.",
            ));
        }
        let targets = self.series_targets(&mut tx, &row, req.scope).await?;
        // The shift, in the clinic's local time: date offset and new time of day.
        let old_zone = super::zone_named(&row.time_zone);
        let old_local = row.starts_at.0.to_zoned(old_zone.clone()).datetime();
        let new_local = new_start.to_zoned(ctx.zone.clone()).datetime();
        let day_shift = new_local.date().since(old_local.date()).map(|s| s.get_days()).unwrap_or(0);
        let mut moved = Vec::new();
        let mut moved_notices = Vec::new();
        let mut previous_starts = Vec::new();
        let mut conflicts = Vec::new();
        for target in &targets {
            let status: AppointmentStatus =
                target.status.parse().map_err(|e| ServiceError::Internal(format!("{e}")))?;
            if !matches!(status, AppointmentStatus::Held | AppointmentStatus::Requested | AppointmentStatus::Confirmed)
            {
                if req.scope == ChangeScope::This {
                    return Err(ServiceError::conflict(
                        "illegal_transition",
                        format!("{} cannot be moved.", status_subject(status)),
                    ));
                }
                continue;
            }
            if target.starts_at.0 <= now && req.scope != ChangeScope::This {
                continue;
            }
            if patient_only && target.starts_at.0 <= now {
                return Err(ServiceError::conflict(
                    "already_started",
                    "This appointment has already started; please call the clinic.",
                ));
            }
            let start = if target.id == row.id {
                new_start
            } else {
                let local = target.starts_at.0.to_zoned(old_zone.clone()).date();
                let date = local.checked_add(jiff::Span::new().days(day_shift)).unwrap_or(local);
                praxis_domain::schedule::local::date_time_to_instant(&ctx.zone, date, new_local.time())
                    .map_err(|e| ServiceError::Internal(e.to_string()))?
            };
            let rules = ctx.service.rules();
            let end = start.saturating_add(rules.duration).unwrap_or(start);
            let (occ_from, occ_until) = occupied_range(start, end, &rules);
            let tid = AppointmentId(target.id);
            appointments::expire_lapsed_holds(&mut tx, Some((provider, occ_from, occ_until)), now).await?;
            // Occurrences still waiting to move do not block; those already moved (written
            // in this transaction) do, at their new times.
            let not_yet_moved: Vec<AppointmentId> =
                targets.iter().map(|t| AppointmentId(t.id)).filter(|t| !moved.contains(t)).collect();
            let busy =
                appointments::busy_for_provider_tx(&mut tx, provider, occ_from, occ_until, now, &not_yet_moved).await?;
            let mut input = available.clone();
            input.busy = busy_of(&busy);
            if let Err(r) = slot_is_bookable(&input, start) {
                if targets.len() == 1 {
                    return Err(rejection(r, &ctx.zone));
                }
                conflicts.push(format!("{} ({}): {}", target.number, local_label(start, &ctx.zone), r));
                continue;
            }
            let m = appointments::Move {
                provider_id: provider,
                clinic_id: clinic,
                starts_at: start,
                ends_at: end,
                occupied_from: occ_from,
                occupied_until: occ_until,
            };
            appointments::move_to(&mut tx, tid, &m, now).await.map_err(booking_store_error)?;
            if status == AppointmentStatus::Confirmed {
                moved_notices.push(crate::notifications::Appt { id: tid.0, start, zone: ctx.zone.clone() });
                previous_starts.push(target.starts_at.0);
            }
            let mut c = change(tid, now, actor, "rescheduled");
            c.from_starts_at = Some(target.starts_at);
            c.to_starts_at = Some(DbTime(start));
            c.from_provider_id = Some(target.provider_id);
            c.to_provider_id = Some(provider.0);
            appointments::insert_change(&mut tx, &c).await?;
            if status != AppointmentStatus::Held {
                waitlist::insert_release(
                    &mut tx,
                    ProviderId(target.provider_id),
                    ClinicId(target.clinic_id),
                    ServiceId(target.service_id),
                    target.starts_at.0,
                    now,
                )
                .await?;
            }
            tx.audit(self.audit_entry(
                actor,
                "appointment.reschedule",
                "appointment",
                Some(tid.to_string()),
                format!("{} moved from {} to {}", target.number, target.starts_at.0, start),
            ));
            if status != AppointmentStatus::Held {
                self.emit_appointment_event(&mut tx, WebhookEvent::AppointmentChanged, tid, now).await?;
            }
            moved.push(tid);
        }
        if !conflicts.is_empty() {
            return Err(ServiceError::conflict(
                "series_conflict",
                format!("Nothing was moved: these occurrences do not fit at the new time: {}.", conflicts.join("; ")),
            ));
        }
        if moved.is_empty() {
            return Err(ServiceError::conflict("nothing_to_move", "There is nothing left to move."));
        }
        // Waiting reminders are cancelled and queued again for the new times, in this
        // transaction, so no reminder for the old time can go out.
        if !moved_notices.is_empty() {
            self.notify(&mut tx, crate::notifications::Event::Moved(previous_starts), &moved_notices, None, now)
                .await?;
        }
        tx.commit().await.map_err(booking_store_error)?;
        self.process_releases().await?;
        let mut out = Vec::new();
        for m in moved {
            out.push(self.load_appointment(m).await?);
        }
        Ok(out)
    }

    /// The local dates a reschedule can touch: around the new start, and for a series the
    /// whole shifted span (read before the transaction from the series as it stands).
    async fn reschedule_span(
        &self,
        current: &AppointmentRow,
        scope: ChangeScope,
        new_start: Timestamp,
        ctx: &BookingContext,
    ) -> ServiceResult<(jiff::civil::Date, jiff::civil::Date)> {
        let new_date = new_start.to_zoned(ctx.zone.clone()).date();
        let (mut lo, mut hi) = (new_date, new_date);
        if let (Some(series), true) = (current.series_id, scope != ChangeScope::This) {
            let filter =
                AppointmentFilter { series_id: Some(praxis_domain::SeriesId(series)), ..AppointmentFilter::default() };
            let (members, _) = appointments::list(self.db(), &filter, 2000, 0).await?;
            let old_zone = super::zone_named(&current.time_zone);
            let old_date = current.starts_at.0.to_zoned(old_zone.clone()).date();
            let shift = new_date.since(old_date).map(|s| s.get_days()).unwrap_or(0);
            for m in members {
                let d = m.starts_at.0.to_zoned(old_zone.clone()).date();
                let d = d.checked_add(jiff::Span::new().days(shift)).unwrap_or(d);
                lo = lo.min(d);
                hi = hi.max(d);
            }
        }
        Ok((lo.yesterday().unwrap_or(lo), hi.tomorrow().unwrap_or(hi)))
    }

    /// The appointments a series-scoped change applies to, locked, starting with `row`.
    pub(crate) async fn series_targets(
        &self,
        tx: &mut Tx,
        row: &AppointmentRow,
        scope: ChangeScope,
    ) -> ServiceResult<Vec<AppointmentRow>> {
        match (scope, row.series_id) {
            (ChangeScope::This, _) | (_, None) => Ok(vec![row.clone()]),
            (ChangeScope::Following, Some(s)) => Ok(appointments::series_members_for_update(
                tx,
                praxis_domain::SeriesId(s),
                row.series_index.unwrap_or(0),
            )
            .await?),
            (ChangeScope::All, Some(s)) => {
                Ok(appointments::series_members_for_update(tx, praxis_domain::SeriesId(s), 0).await?)
            }
        }
    }

    /// Adds a patient to a group session (staff and providers).
    pub async fn add_participant(
        &self,
        actor: &Actor,
        id: AppointmentId,
        patient: PatientId,
    ) -> ServiceResult<Appointment> {
        let scope = actor.require(Permission::BookAppointment)?;
        if scope != Scope::All {
            return Err(ServiceError::Forbidden);
        }
        if patients::get(self.db(), patient).await?.is_none() {
            return Err(ServiceError::invalid("patient_id", "unknown", "There is no such patient."));
        }
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let row =
            appointments::get_for_update(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "Appointment" })?;
        let parts = appointments::participants_tx(&mut tx, id).await?;
        self.require_visible(actor, &row, &parts).await?;
        if row.capacity <= 1 {
            return Err(ServiceError::conflict("not_a_group", "Only group sessions take more than one patient."));
        }
        if !matches!(row.status.as_str(), "requested" | "confirmed") {
            return Err(ServiceError::conflict("illegal_transition", "Patients can join only a booked session."));
        }
        self.join_session(&mut tx, actor, row, patient, now).await?;
        tx.commit().await?;
        self.load_appointment(id).await
    }

    /// Removes a patient from a group session (staff and providers).
    pub async fn remove_participant(
        &self,
        actor: &Actor,
        id: AppointmentId,
        patient: PatientId,
    ) -> ServiceResult<Appointment> {
        let scope = actor.require(Permission::ChangeAppointment)?;
        if scope != Scope::All && !actor.roles.has(Role::Provider) {
            return Err(ServiceError::Forbidden);
        }
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let row =
            appointments::get_for_update(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "Appointment" })?;
        let parts = appointments::participants_tx(&mut tx, id).await?;
        self.check_scope(actor, scope, &row, &parts).await?;
        if !appointments::cancel_participant(&mut tx, id, patient, now).await? {
            return Err(ServiceError::NotFound { what: "Participant" });
        }
        let mut c = change(id, now, actor, "participant_cancelled");
        c.note = format!("patient {patient}");
        appointments::insert_change(&mut tx, &c).await?;
        let appt = crate::notifications::Appt::of_row(&row);
        self.notify(&mut tx, crate::notifications::Event::Cancelled, &[appt], Some(&[patient.0]), now).await?;
        self.emit_appointment_event(&mut tx, WebhookEvent::AppointmentChanged, id, now).await?;
        tx.audit(self.audit_entry(
            actor,
            "appointment.remove_participant",
            "appointment",
            Some(id.to_string()),
            format!("patient {patient} removed from {}", row.number),
        ));
        tx.commit().await?;
        self.load_appointment(id).await
    }
}

fn status_subject(s: AppointmentStatus) -> String {
    format!("A {} appointment", s.label().to_lowercase())
}
