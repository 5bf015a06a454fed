//! The waiting list: patients wait for a service (optionally a provider, clinic, dates and
//! preferred times); when matching time frees up, the first in line is offered a hold they
//! can accept; an offer that lapses passes to the next.

use super::booking::change;
use super::{Appointment, busy_of};
use crate::Services;
use crate::actor::Actor;
use crate::availability::{hhmm, parse_hhmm, parse_weekday, weekday_name, weekday_number};
use crate::error::{ServiceError, ServiceResult};
use crate::users::{Page, PageRequest};
use jiff::Timestamp;
use jiff::civil::Date;
use praxis_domain::permissions::Scope;
use praxis_domain::slots::{occupied_range, slot_is_bookable};
use praxis_domain::{
    AppointmentAction, AppointmentId, AppointmentStatus, ClinicId, PatientId, Permission, ProviderId, ServiceId,
    Validation, WaitlistEntryId, WaitlistOfferId,
};
use praxis_store::appointments::{self, NewAppointment};
use praxis_store::waitlist::{self, EntryFilter, EntryRow, NewEntry, OfferRow};
use serde::{Deserialize, Serialize};

/// A preferred time: a local time range, optionally on one weekday.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct PreferredTime {
    /// `monday` … `sunday`; omit for any day.
    pub weekday: Option<String>,
    /// Local `HH:MM`.
    pub start: String,
    /// Local `HH:MM`.
    pub end: String,
}

/// Joining the waiting list.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct WaitlistInput {
    /// The service wanted.
    pub service_id: Option<ServiceId>,
    /// Only with this provider.
    pub provider_id: Option<ProviderId>,
    /// Only at this clinic.
    pub clinic_id: Option<ClinicId>,
    /// Who waits (staff; patients join for themselves).
    pub patient_id: Option<PatientId>,
    /// Not before this date.
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<Date>,
    /// Not after this date.
    #[schema(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    /// Acceptable times (empty = any time).
    #[serde(default)]
    pub preferred: Vec<PreferredTime>,
    /// A note for the clinic.
    #[serde(default)]
    pub note: String,
}

/// A place on the waiting list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WaitlistEntry {
    /// Id.
    pub id: WaitlistEntryId,
    /// Who waits.
    pub patient_id: PatientId,
    /// Their name.
    pub patient_name: String,
    /// For which service.
    pub service_id: ServiceId,
    /// Service name.
    pub service_name: String,
    /// Only with this provider.
    pub provider_id: Option<ProviderId>,
    /// Only at this clinic.
    pub clinic_id: Option<ClinicId>,
    /// Not before.
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<Date>,
    /// Not after.
    #[schema(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    /// Acceptable times.
    pub preferred: Vec<PreferredTime>,
    /// Note.
    pub note: String,
    /// `waiting`, `offered`, `booked` or `cancelled`.
    pub status: String,
    /// Joined at.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// An offer of a freed time.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WaitlistOffer {
    /// Id.
    pub id: WaitlistOfferId,
    /// The entry it answers.
    pub entry_id: WaitlistEntryId,
    /// The held appointment; accept to book it.
    pub appointment: Appointment,
    /// The offer lapses then and passes to the next patient.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// `pending`, `accepted`, `declined` or `expired`.
    pub status: String,
}

/// Preferred times as stored: (ISO weekday or 0, start minute, end minute).
type Stored = Vec<(i64, i64, i64)>;

fn entry_view(r: EntryRow) -> WaitlistEntry {
    let stored: Stored = serde_json::from_str(&r.preferred).unwrap_or_default();
    WaitlistEntry {
        id: WaitlistEntryId(r.id),
        patient_id: PatientId(r.patient_id),
        patient_name: format!("{} {}", r.given_name, r.family_name).trim().to_string(),
        service_id: ServiceId(r.service_id),
        service_name: r.service_name,
        provider_id: r.provider_id.map(ProviderId),
        clinic_id: r.clinic_id.map(ClinicId),
        from: r.from_date.map(|d| d.0),
        until: r.until_date.map(|d| d.0),
        preferred: stored
            .into_iter()
            .map(|(wd, s, e)| PreferredTime {
                weekday: (wd > 0)
                    .then(|| jiff::civil::Weekday::from_monday_one_offset(wd as i8).ok().map(weekday_name))
                    .flatten()
                    .map(str::to_string),
                start: hhmm(s),
                end: hhmm(e),
            })
            .collect(),
        note: r.note,
        status: r.status,
        created_at: r.created_at.0,
    }
}

/// Whether a local start suits an entry's preferred times.
fn suits(preferred: &str, local: jiff::civil::DateTime) -> bool {
    let stored: Stored = serde_json::from_str(preferred).unwrap_or_default();
    if stored.is_empty() {
        return true;
    }
    let minute = i64::from(local.hour()) * 60 + i64::from(local.minute());
    let wd = weekday_number(local.weekday());
    stored.iter().any(|(d, s, e)| (*d == 0 || *d == wd) && minute >= *s && minute < *e)
}

impl Services {
    /// Joins the waiting list.
    pub async fn join_waitlist(&self, actor: &Actor, input: WaitlistInput) -> ServiceResult<WaitlistEntry> {
        let scope = actor.require_change(Permission::ManageWaitlist)?;
        let mut v = Validation::new();
        if input.service_id.is_none() {
            v.add("service_id", "required", "Choose the service.");
        }
        if let (Some(f), Some(u)) = (input.from, input.until)
            && u < f
        {
            v.add("until", "before_from", "The last date must not be before the first.");
        }
        let mut stored: Stored = Vec::new();
        for p in &input.preferred {
            let wd = match p.weekday.as_deref().filter(|w| !w.is_empty()) {
                None => Some(0),
                Some(w) => parse_weekday(w).map(weekday_number),
            };
            match (wd, parse_hhmm(&p.start), parse_hhmm(&p.end)) {
                (Some(wd), Some(s), Some(e)) if s < e => stored.push((wd, s, e)),
                _ => v.add(
                    "preferred",
                    "invalid",
                    "Each preferred time needs a day (or none), and HH:MM times with the end after the start.",
                ),
            }
        }
        if stored.len() > 20 {
            v.add("preferred", "too_many", "Give at most 20 preferred times.");
        }
        if input.note.chars().count() > 500 {
            v.add("note", "too_long", "Use at most 500 characters.");
        }
        v.finish()?;
        let Some(service) = input.service_id else { return Err(ServiceError::Internal("no service".into())) };
        if praxis_store::catalog::service(self.db(), service).await?.is_none_or(|s| !s.active) {
            return Err(ServiceError::invalid("service_id", "unknown", "There is no such service."));
        }
        let patient = self
            .booking_patient(actor, if scope == Scope::All { Scope::All } else { Scope::Own }, input.patient_id)
            .await?;
        let id = WaitlistEntryId::new();
        let now = self.now();
        let mut tx = self.db().begin().await?;
        waitlist::insert_entry(
            &mut tx,
            &NewEntry {
                id,
                patient_id: patient,
                service_id: service,
                provider_id: input.provider_id,
                clinic_id: input.clinic_id,
                from_date: input.from,
                until_date: input.until,
                preferred: serde_json::to_string(&stored).unwrap_or_else(|_| "[]".into()),
                note: input.note.trim().to_string(),
                now,
            },
        )
        .await
        .map_err(|e| match e {
            praxis_store::StoreError::ForeignKey(_) => {
                ServiceError::invalid("provider_id", "unknown", "The provider or clinic does not exist.")
            }
            other => other.into(),
        })?;
        tx.audit(self.audit_entry(
            actor,
            "waitlist.join",
            "waitlist_entry",
            Some(id.to_string()),
            format!("patient {patient} joined the waiting list for service {service}"),
        ));
        tx.commit().await?;
        let row = waitlist::entry(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Waiting list entry" })?;
        Ok(entry_view(row))
    }

    /// The waiting list (patients: their own entries).
    pub async fn list_waitlist(
        &self,
        actor: &Actor,
        mut filter: EntryFilter,
        page: PageRequest,
    ) -> ServiceResult<Page<WaitlistEntry>> {
        if actor.require(Permission::ManageWaitlist)? == Scope::Own {
            let me = self.my_patient(actor).await?.ok_or(ServiceError::Forbidden)?;
            filter.patient_id = Some(me.id);
        }
        let (rows, total) = waitlist::entries(self.db(), &filter, page.per_page, page.offset()).await?;
        Ok(Page { items: rows.into_iter().map(entry_view).collect(), total, page: page.page, per_page: page.per_page })
    }

    async fn entry_for(&self, actor: &Actor, id: WaitlistEntryId) -> ServiceResult<EntryRow> {
        let scope = actor.require(Permission::ManageWaitlist)?;
        let row = waitlist::entry(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Waiting list entry" })?;
        if scope == Scope::Own {
            let me = self.my_patient(actor).await?;
            if me.is_none_or(|m| m.id.0 != row.patient_id) {
                return Err(ServiceError::NotFound { what: "Waiting list entry" });
            }
        }
        Ok(row)
    }

    /// Leaves the waiting list (a pending offer is declined with it).
    pub async fn leave_waitlist(&self, actor: &Actor, id: WaitlistEntryId) -> ServiceResult<WaitlistEntry> {
        let row = self.entry_for(actor, id).await?;
        if matches!(row.status.as_str(), "booked" | "cancelled") {
            return Err(ServiceError::conflict("illegal_transition", "This entry is no longer on the waiting list."));
        }
        let now = self.now();
        let pending: Vec<OfferRow> =
            waitlist::offers(self.db(), None, Some(id)).await?.into_iter().filter(|o| o.status == "pending").collect();
        let mut tx = self.db().begin().await?;
        waitlist::set_entry_status(&mut tx, id, "cancelled", now).await?;
        for offer in pending {
            self.withdraw_offer(&mut tx, &offer, "declined", now).await?;
        }
        tx.audit(self.audit_entry(
            actor,
            "waitlist.leave",
            "waitlist_entry",
            Some(id.to_string()),
            "left the waiting list",
        ));
        tx.commit().await?;
        self.process_releases().await?;
        Ok(entry_view(
            waitlist::entry(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Waiting list entry" })?,
        ))
    }

    /// Offers made to the acting patient (or, for staff, to a given patient).
    pub async fn list_offers(&self, actor: &Actor, patient: Option<PatientId>) -> ServiceResult<Vec<WaitlistOffer>> {
        let scope = actor.require(Permission::ManageWaitlist)?;
        let patient = match scope {
            Scope::All => patient,
            Scope::Own => Some(self.my_patient(actor).await?.ok_or(ServiceError::Forbidden)?.id),
        };
        let mut out = Vec::new();
        for o in waitlist::offers(self.db(), patient, None).await? {
            out.push(self.offer_view(o).await?);
        }
        Ok(out)
    }

    async fn offer_view(&self, o: OfferRow) -> ServiceResult<WaitlistOffer> {
        Ok(WaitlistOffer {
            id: WaitlistOfferId(o.id),
            entry_id: WaitlistEntryId(o.entry_id),
            appointment: self.load_appointment(AppointmentId(o.appointment_id)).await?,
            expires_at: o.expires_at.0,
            status: o.status,
        })
    }

    async fn offer_for(&self, actor: &Actor, id: WaitlistOfferId) -> ServiceResult<OfferRow> {
        let scope = actor.require(Permission::ManageWaitlist)?;
        let mine = match scope {
            Scope::All => None,
            Scope::Own => Some(self.my_patient(actor).await?.ok_or(ServiceError::Forbidden)?.id),
        };
        let offer = waitlist::offers(self.db(), mine, None)
            .await?
            .into_iter()
            .find(|o| o.id == id.0)
            .ok_or(ServiceError::NotFound { what: "Offer" })?;
        Ok(offer)
    }

    /// Accepts an offer: the held time becomes a booking.
    pub async fn accept_offer(&self, actor: &Actor, id: WaitlistOfferId) -> ServiceResult<Appointment> {
        let offer = self.offer_for(actor, id).await?;
        if offer.status != "pending" {
            return Err(ServiceError::conflict("offer_closed", "This offer is no longer open."));
        }
        if offer.expires_at.0 <= self.now() {
            self.run_housekeeping().await?;
            return Err(ServiceError::conflict(
                "offer_expired",
                "This offer has expired and passed to the next person waiting.",
            ));
        }
        // The offer is theirs to see; a held time they may not book for is a 403, not "no
        // such appointment".
        self.transition(actor, AppointmentId(offer.appointment_id), AppointmentAction::Confirm).await.map_err(|e| {
            match e {
                ServiceError::NotFound { what: "Appointment" } => ServiceError::Forbidden,
                e => e,
            }
        })
    }

    /// Declines an offer: the time passes to the next person waiting; the entry stays on
    /// the list.
    pub async fn decline_offer(&self, actor: &Actor, id: WaitlistOfferId) -> ServiceResult<WaitlistOffer> {
        let offer = self.offer_for(actor, id).await?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let locked = waitlist::offer_for_update(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "Offer" })?;
        if locked.status != "pending" {
            return Err(ServiceError::conflict("offer_closed", "This offer is no longer open."));
        }
        self.withdraw_offer(&mut tx, &offer, "declined", now).await?;
        waitlist::set_entry_status(&mut tx, WaitlistEntryId(offer.entry_id), "waiting", now).await?;
        tx.audit(self.audit_entry(actor, "waitlist.decline", "waitlist_offer", Some(id.to_string()), "offer declined"));
        tx.commit().await?;
        self.process_releases().await?;
        let row = waitlist::offers(self.db(), None, Some(WaitlistEntryId(offer.entry_id)))
            .await?
            .into_iter()
            .find(|o| o.id == id.0)
            .ok_or(ServiceError::NotFound { what: "Offer" })?;
        self.offer_view(row).await
    }

    /// Closes an offer, lets its hold lapse and puts the time back up for the next in line.
    async fn withdraw_offer(
        &self,
        tx: &mut praxis_store::Tx,
        offer: &OfferRow,
        status: &str,
        now: Timestamp,
    ) -> ServiceResult<()> {
        waitlist::set_offer_status(tx, WaitlistOfferId(offer.id), status, now).await?;
        let appt = AppointmentId(offer.appointment_id);
        if let Some(a) = appointments::get_for_update(tx, appt).await? {
            if a.status == AppointmentStatus::Held.as_str() {
                appointments::set_status(tx, appt, AppointmentStatus::Expired.as_str(), None, now).await?;
                let mut c = change(appt, now, &Actor::system("system"), "status");
                c.from_status = Some("held".into());
                c.to_status = Some("expired".into());
                c.note = format!("waiting-list offer {status}");
                appointments::insert_change(tx, &c).await?;
            }
            if matches!(a.status.as_str(), "held" | "expired") {
                waitlist::insert_release(
                    tx,
                    ProviderId(a.provider_id),
                    ClinicId(a.clinic_id),
                    ServiceId(a.service_id),
                    a.starts_at.0,
                    now,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Lapsed offers pass on: the hold expires, the patient keeps their place in line,
    /// the time is offered to the next patient.
    pub(crate) async fn expire_offers(&self) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let lapsed = waitlist::lapsed_offers(&mut tx, now).await?;
        for offer in &lapsed {
            self.withdraw_offer(&mut tx, offer, "expired", now).await?;
            waitlist::set_entry_status(&mut tx, WaitlistEntryId(offer.entry_id), "waiting", now).await?;
            tx.audit(self.audit_entry(
                &Actor::system("system"),
                "waitlist.offer_expired",
                "waitlist_offer",
                Some(offer.id.to_string()),
                "offer expired and passed on",
            ));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Offers freed time to the first matching patient on the waiting list. Each release
    /// is claimed in its own transaction, so any number of instances can run this.
    pub(crate) async fn process_releases(&self) -> ServiceResult<()> {
        for release in waitlist::pending_releases(self.db(), 100).await? {
            let id = release.id;
            if let Err(e) = self.process_release(release).await {
                tracing::warn!(error = %e, release = %id, "could not offer freed time; will retry");
            }
        }
        Ok(())
    }

    async fn process_release(&self, release: waitlist::ReleaseRow) -> ServiceResult<()> {
        let now = self.now();
        let start = release.starts_at.0;
        let (service, provider, clinic) =
            (ServiceId(release.service_id), ProviderId(release.provider_id), ClinicId(release.clinic_id));
        // Everything read from the pool is read before the transaction opens.
        let prepared = match self.booking_context(service, provider, clinic).await {
            Ok(ctx) if start > now => {
                let input = self.availability_around(&ctx, start).await?;
                Some((ctx, input))
            }
            _ => None,
        };
        let mut tx = self.db().begin().await?;
        if waitlist::claim_release(&mut tx, release.id, now).await?.is_none() {
            return Ok(());
        }
        let Some((ctx, mut input)) = prepared else {
            tx.commit().await?;
            return Ok(());
        };
        let local = start.to_zoned(ctx.zone.clone()).datetime();
        let candidates = waitlist::candidates(&mut tx, service, provider, clinic, local.date(), start).await?;
        let Some(entry) = candidates.into_iter().find(|e| suits(&e.preferred, local)) else {
            tx.commit().await?;
            return Ok(());
        };
        let rules = ctx.service.rules();
        let end = start.saturating_add(rules.duration).unwrap_or(start);
        let (f, u) = occupied_range(start, end, &rules);
        appointments::expire_lapsed_holds(&mut tx, Some((provider, f, u)), now).await?;
        let busy = appointments::busy_for_provider_tx(&mut tx, provider, f, u, now, &[]).await?;
        input.busy = busy_of(&busy);
        if slot_is_bookable(&input, start).is_err() {
            tx.commit().await?;
            return Ok(());
        }
        let expires = now.saturating_add(self.settings().waitlist_offer_ttl).unwrap_or(now).min(start);
        let year = start.to_zoned(ctx.zone.clone()).year();
        let n = appointments::next_counter(&mut tx, &format!("appointment:{year}")).await?;
        let appt = AppointmentId::new();
        let system = Actor::system("waitlist");
        let row = NewAppointment {
            id: appt,
            number: format!("A-{year}-{n:06}"),
            clinic_id: clinic,
            provider_id: provider,
            service_id: service,
            starts_at: start,
            ends_at: end,
            occupied_from: f,
            occupied_until: u,
            status: AppointmentStatus::Held.as_str(),
            held_until: Some(expires),
            series_id: None,
            series_index: None,
            video_url: (ctx.service.mode == crate::catalog::ServiceMode::Video)
                .then(|| super::booking::video_room(&self.settings().video_base_url)),
            note: "Offered from the waiting list".into(),
            created_at: now,
            created_by: None,
        };
        self.insert_appointment(&mut tx, &system, &row, PatientId(entry.patient_id), &[]).await?;
        let offer = WaitlistOfferId::new();
        waitlist::insert_offer(&mut tx, offer, WaitlistEntryId(entry.id), appt, expires, now).await?;
        waitlist::set_entry_status(&mut tx, WaitlistEntryId(entry.id), "offered", now).await?;
        let held = crate::notifications::Appt { id: appt.0, start, zone: ctx.zone.clone() };
        let event = crate::notifications::Event::Offer { offer: offer.0, expires };
        self.notify(&mut tx, event, &[held], Some(&[entry.patient_id]), now).await?;
        tx.audit(self.audit_entry(
            &system,
            "waitlist.offer",
            "waitlist_offer",
            Some(offer.to_string()),
            format!("offered {} to patient {} until {expires}", row.number, entry.patient_id),
        ));
        tx.commit().await.map_err(super::booking_store_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::suits;

    #[test]
    fn preferred_times_match_local_start() {
        let tue_10: jiff::civil::DateTime = "2026-03-03T10:00".parse().unwrap();
        assert!(suits("[]", tue_10));
        assert!(suits("[[2, 540, 720]]", tue_10));
        assert!(suits("[[0, 600, 660]]", tue_10));
        assert!(!suits("[[3, 540, 720]]", tue_10));
        assert!(!suits("[[2, 660, 720]]", tue_10));
        assert!(!suits("[[2, 540, 600]]", tue_10), "the end is exclusive");
    }
}
