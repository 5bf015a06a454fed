//! Recurring series: weekly or every N weeks, for K occurrences or until a date, each
//! occurrence a real appointment; booked all-or-nothing or "what is free", with a report
//! per occurrence.

use super::{busy_of, local_label};
use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use jiff::Timestamp;
use jiff::civil::Date;
use praxis_domain::recurrence::{RecurrenceEnd, RecurrenceRule, occurrences};
use praxis_domain::slots::{occupied_range, slot_is_bookable};
use praxis_domain::{
    AppointmentId, AppointmentStatus, Busy, ClinicId, PatientId, Permission, ProviderId, SeriesId, ServiceId,
    Validation,
};
use praxis_store::appointments::{self, NewAppointment, NewSeries};
use serde::{Deserialize, Serialize};

/// How to book a series when some occurrences are taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeriesMode {
    /// Book nothing unless every occurrence is free.
    #[default]
    AllOrNothing,
    /// Book the free occurrences and report the others.
    BookWhatIsFree,
}

/// A series to book.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SeriesRequest {
    /// Service.
    pub service_id: Option<ServiceId>,
    /// Provider.
    pub provider_id: Option<ProviderId>,
    /// Clinic.
    pub clinic_id: Option<ClinicId>,
    /// Patient (patients book for themselves).
    pub patient_id: Option<PatientId>,
    /// The first appointment's start; later ones keep its local time of day.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_start: Option<Timestamp>,
    /// Every N weeks (1–12, default 1).
    pub every_weeks: Option<u8>,
    /// For this many occurrences (1–104)…
    pub count: Option<u16>,
    /// …or until this local date (inclusive, at most two years ahead).
    #[schema(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    /// `all_or_nothing` (default) or `book_what_is_free`.
    #[serde(default)]
    pub mode: SeriesMode,
    /// A note for every occurrence.
    #[serde(default)]
    pub note: String,
}

/// What happened to one occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OccurrenceOutcome {
    /// Booked.
    Booked,
    /// Free, but not booked because another occurrence was not (all or nothing).
    Free,
    /// Not bookable.
    Conflict,
}

/// One occurrence of a series.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OccurrenceReport {
    /// Position from 1.
    pub index: i64,
    /// Start (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// Start in the clinic's zone.
    pub local_start: String,
    /// Booked, free or conflict.
    pub outcome: OccurrenceOutcome,
    /// Why not (for conflicts).
    pub reason: Option<String>,
    /// Stable code of the reason (`conflict`, `outside_availability`, …).
    pub reason_code: Option<String>,
    /// The appointment, when booked.
    pub appointment_id: Option<AppointmentId>,
}

/// The outcome of booking a series.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SeriesReport {
    /// The series, when anything was booked.
    pub series_id: Option<SeriesId>,
    /// How many were booked.
    pub booked: usize,
    /// How many could not be.
    pub conflicts: usize,
    /// Each occurrence in order.
    pub occurrences: Vec<OccurrenceReport>,
}

impl Services {
    /// Books a recurring series in one transaction and reports every occurrence.
    /// All-or-nothing books nothing when any occurrence is taken (the report says which).
    #[tracing::instrument(skip_all)]
    pub async fn book_series(&self, actor: &Actor, req: SeriesRequest) -> ServiceResult<SeriesReport> {
        let scope = actor.require(Permission::BookAppointment)?;
        let mut v = Validation::new();
        for (field, missing) in [
            ("service_id", req.service_id.is_none()),
            ("provider_id", req.provider_id.is_none()),
            ("clinic_id", req.clinic_id.is_none()),
            ("first_start", req.first_start.is_none()),
        ] {
            if missing {
                v.add(field, "required", "This field is required.");
            }
        }
        let end = match (req.count, req.until) {
            (Some(c), None) => Some(RecurrenceEnd::Count(c)),
            (None, Some(u)) => Some(RecurrenceEnd::Until(u)),
            (Some(_), Some(_)) => {
                v.add("count", "ambiguous", "Give either a number of occurrences or an end date, not both.");
                None
            }
            (None, None) => {
                v.add("count", "required", "Give a number of occurrences or an end date.");
                None
            }
        };
        if req.note.chars().count() > 1000 {
            v.add("note", "too_long", "Use at most 1000 characters.");
        }
        v.finish()?;
        let (Some(service_id), Some(provider_id), Some(clinic_id), Some(first), Some(end)) =
            (req.service_id, req.provider_id, req.clinic_id, req.first_start, end)
        else {
            return Err(ServiceError::Internal("validated series without values".into()));
        };
        let patient = self.booking_patient(actor, scope, req.patient_id).await?;
        let ctx = self.booking_context(service_id, provider_id, clinic_id).await?;
        let rule = RecurrenceRule { every_weeks: req.every_weeks.unwrap_or(1), end };
        let first_local = first.to_zoned(ctx.zone.clone()).datetime();
        let starts = occurrences(first_local, &ctx.zone, rule)
            .map_err(|e| ServiceError::invalid(e.field(), "invalid", e.to_string()))?;
        let rules = ctx.service.rules();
        let now = self.now();
        let provider = ProviderId(ctx.provider.id);
        let (Some(first_start), Some(last_start)) = (starts.first().copied(), starts.last().copied()) else {
            return Err(ServiceError::invalid("count", "invalid", "The series has no occurrences."));
        };
        let span_end = last_start.saturating_add(rules.duration).unwrap_or(last_start);
        let (span_from, span_until) = occupied_range(first_start, span_end, &rules);

        let from_date = first_start.to_zoned(ctx.zone.clone()).date();
        let until_date = last_start.to_zoned(ctx.zone.clone()).date();
        let mut input = self
            .availability(&ctx, from_date.yesterday().unwrap_or(from_date), until_date.tomorrow().unwrap_or(until_date))
            .await?;
        let mut tx = self.db().begin().await?;
        appointments::expire_lapsed_holds(&mut tx, Some((provider, span_from, span_until)), now).await?;
        let busy_rows = appointments::busy_for_provider_tx(&mut tx, provider, span_from, span_until, now, &[]).await?;
        input.busy = busy_of(&busy_rows);
        let mut report = Vec::new();
        let mut free = Vec::new();
        for (i, start) in starts.iter().copied().enumerate() {
            let index = i as i64 + 1;
            match slot_is_bookable(&input, start) {
                Ok(slot) => {
                    let (f, u) = occupied_range(slot.start, slot.end, &rules);
                    input.busy.push(Busy { start: f, end: u });
                    free.push((index, slot));
                    report.push(OccurrenceReport {
                        index,
                        start,
                        local_start: local_label(start, &ctx.zone),
                        outcome: OccurrenceOutcome::Free,
                        reason: None,
                        reason_code: None,
                        appointment_id: None,
                    });
                }
                Err(r) => report.push(OccurrenceReport {
                    index,
                    start,
                    local_start: local_label(start, &ctx.zone),
                    outcome: OccurrenceOutcome::Conflict,
                    reason: Some(r.to_string()),
                    reason_code: Some(r.code().to_string()),
                    appointment_id: None,
                }),
            }
        }
        let conflicts = report.iter().filter(|o| o.outcome == OccurrenceOutcome::Conflict).count();
        if free.is_empty() || (conflicts > 0 && req.mode == SeriesMode::AllOrNothing) {
            tx.rollback().await?;
            return Ok(SeriesReport { series_id: None, booked: 0, conflicts, occurrences: report });
        }
        let series_id = SeriesId::new();
        appointments::insert_series(
            &mut tx,
            &NewSeries {
                id: series_id,
                provider_id: provider,
                clinic_id: ctx.clinic.id,
                service_id: ctx.service.id,
                patient_id: patient,
                every_weeks: i64::from(rule.every_weeks),
                occurrences: req.count.map(i64::from),
                until_date: req.until,
                first_start,
                created_at: now,
                created_by: actor.user_id,
            },
        )
        .await?;
        let status = if actor.roles.is_patient_only() && ctx.service.requires_approval {
            AppointmentStatus::Requested
        } else {
            AppointmentStatus::Confirmed
        };
        for (index, slot) in &free {
            let year = slot.start.to_zoned(ctx.zone.clone()).year();
            let n = appointments::next_counter(&mut tx, &format!("appointment:{year}")).await?;
            let id = AppointmentId::new();
            let (f, u) = occupied_range(slot.start, slot.end, &rules);
            let row = NewAppointment {
                id,
                number: format!("A-{year}-{n:06}"),
                clinic_id: ctx.clinic.id,
                provider_id: provider,
                service_id: ctx.service.id,
                starts_at: slot.start,
                ends_at: slot.end,
                occupied_from: f,
                occupied_until: u,
                status: status.as_str(),
                held_until: None,
                series_id: Some(series_id),
                series_index: Some(*index),
                video_url: (ctx.service.mode == crate::catalog::ServiceMode::Video)
                    .then(|| super::booking::video_room(&self.settings().video_base_url)),
                note: req.note.trim().to_string(),
                created_at: now,
                created_by: actor.user_id,
            };
            self.insert_appointment(&mut tx, actor, &row, patient, &[]).await?;
            if let Some(o) = report.iter_mut().find(|o| o.index == *index) {
                o.outcome = OccurrenceOutcome::Booked;
                o.appointment_id = Some(id);
            }
        }
        if status == AppointmentStatus::Confirmed {
            let booked: Vec<crate::notifications::Appt> = free
                .iter()
                .map(|(index, slot)| {
                    let id = report.iter().find(|o| o.index == *index).and_then(|o| o.appointment_id);
                    (id, slot.start)
                })
                .filter_map(|(id, start)| {
                    id.map(|id| crate::notifications::Appt { id: id.0, start, zone: ctx.zone.clone() })
                })
                .collect();
            self.notify(&mut tx, crate::notifications::Event::Booked, &booked, Some(&[patient.0]), now).await?;
        }
        tx.audit(self.audit_entry(
            actor,
            "series.book",
            "series",
            Some(series_id.to_string()),
            format!("{} of {} occurrences booked ({} conflicts)", free.len(), report.len(), conflicts),
        ));
        tx.commit().await.map_err(super::booking_store_error)?;
        Ok(SeriesReport { series_id: Some(series_id), booked: free.len(), conflicts, occurrences: report })
    }
}
