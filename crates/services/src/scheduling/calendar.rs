//! The reception and provider side of scheduling: the staff calendar of one clinic (its
//! providers, their appointments, available time, closures and exceptions), the panel of
//! one appointment with its history and free times to move it to, booking by a local date
//! and time in the clinic's zone, and the waiting-list board.
//!
//! The calendar reads everything in a constant number of queries whatever the number of
//! providers or days (clinics, providers, their clinic links, windows, exceptions,
//! closures, appointments, participants), then expands each provider's availability per
//! local date with the same slot engine a booking uses.
//!
//! Who sees what: staff and administrators see every appointment in full; a provider sees
//! the whole clinic calendar but the patients and services of their own appointments
//! only — everyone else's time is just "busy".

use super::{
    Appointment, AppointmentChange, BookingRequest, ChangeScope, EntryFilter, RescheduleRequest, SeriesMode,
    SeriesReport, SeriesRequest, SlotQuery, SlotView, WaitlistEntry, zone_named,
};
use crate::Services;
use crate::actor::Actor;
use crate::catalog::{Clinic, Service};
use crate::error::{ServiceError, ServiceResult};
use crate::patients::Patient;
use crate::users::PageRequest;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use praxis_domain::permissions::Scope;
use praxis_domain::slots::expand_windows;
use praxis_domain::{
    AppointmentAction, AppointmentId, AppointmentStatus, ClinicId, PatientId, Permission, ProviderId, ServiceId,
    ServiceRules, SlotInput, Validation,
};
use praxis_store::availability::ExceptionRow;
use praxis_store::{appointments, availability, catalog, waitlist};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Which days a calendar shows around its date.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CalendarSpan {
    /// One day, one column per provider.
    #[default]
    Day,
    /// Monday to Sunday of the date's week, for one provider.
    Week,
}

impl CalendarSpan {
    /// `day` or `week` (also the page's `view` parameter).
    pub fn as_str(self) -> &'static str {
        match self {
            CalendarSpan::Day => "day",
            CalendarSpan::Week => "week",
        }
    }

    /// `week` is a week; anything else a day.
    pub fn parse(s: &str) -> Self {
        if s == "week" { CalendarSpan::Week } else { CalendarSpan::Day }
    }

    /// The first and last local date shown around `date`.
    pub fn dates(self, date: Date) -> (Date, Date) {
        match self {
            CalendarSpan::Day => (date, date),
            CalendarSpan::Week => {
                let back = i64::from(date.weekday().to_monday_zero_offset());
                let monday = date.checked_sub(SignedDuration::from_hours(24 * back)).unwrap_or(date);
                (monday, monday.checked_add(SignedDuration::from_hours(24 * 6)).unwrap_or(monday))
            }
        }
    }

    /// The date one span earlier (`forward` false) or later.
    pub fn step(self, date: Date, forward: bool) -> Date {
        let days = match self {
            CalendarSpan::Day => 1,
            CalendarSpan::Week => 7,
        };
        let d = SignedDuration::from_hours(24 * days);
        if forward { date.checked_add(d).unwrap_or(date) } else { date.checked_sub(d).unwrap_or(date) }
    }
}

/// What calendar to show.
#[derive(Clone, Debug, Default)]
pub struct CalendarQuery {
    /// The clinic (default: the first active one, for a provider the first they work at).
    pub clinic_id: Option<ClinicId>,
    /// A local date in the clinic's zone (default: today there).
    pub date: Option<Date>,
    /// A day or a week.
    pub span: CalendarSpan,
    /// Only this provider (a week always shows one: by default the acting provider, or
    /// the first).
    pub provider_id: Option<ProviderId>,
}

/// A provider working at the clinic.
#[derive(Clone, Debug)]
pub struct CalendarProvider {
    /// Id.
    pub id: ProviderId,
    /// Name.
    pub name: String,
    /// Title ("Clinical Psychologist").
    pub title: String,
    /// Calendar colour `#rrggbb`.
    pub colour: String,
    /// The acting user is this provider.
    pub is_me: bool,
}

/// What may be shown of an appointment to the acting user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryDetails {
    /// Number (`A-2026-000123`).
    pub number: String,
    /// Service name.
    pub service_name: String,
    /// Booked patients' names.
    pub patients: Vec<String>,
    /// Status.
    pub status: AppointmentStatus,
    /// Places in the session (1 = individual).
    pub capacity: i64,
}

/// An appointment on the calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarEntry {
    /// Id.
    pub id: AppointmentId,
    /// Whose time.
    pub provider_id: ProviderId,
    /// Where.
    pub clinic_id: ClinicId,
    /// The other clinic's name when it is not at the calendar's clinic.
    pub elsewhere: Option<String>,
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
    /// `None`: someone else's appointment, shown only as busy time.
    pub details: Option<EntryDetails>,
}

/// A provider's available time on one local date (closures and exceptions applied).
#[derive(Clone, Debug)]
pub struct ProviderDay {
    /// Whose.
    pub provider_id: ProviderId,
    /// The local date.
    pub date: Date,
    /// Merged stretches of available time, sorted.
    pub available: Vec<(Timestamp, Timestamp)>,
}

/// What a labelled band on the calendar stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandKind {
    /// The whole clinic is closed.
    ClinicClosed,
    /// The provider is away (a `closed` exception).
    Away,
    /// The provider works other hours than usual (an `hours` exception).
    ChangedHours,
}

/// A closure or exception, for a labelled band.
#[derive(Clone, Debug)]
pub struct CalendarBand {
    /// The provider it concerns (`None`: the clinic).
    pub provider_id: Option<ProviderId>,
    /// First local date.
    pub from: Date,
    /// Last local date (inclusive).
    pub until: Date,
    /// What it is.
    pub kind: BandKind,
    /// "Clinic closed: Public holiday", "Away: Conference".
    pub label: String,
}

impl CalendarBand {
    /// Whether it covers local `date` for `provider` (clinic bands cover everyone).
    pub fn applies(&self, provider: ProviderId, date: Date) -> bool {
        self.from <= date && date <= self.until && self.provider_id.is_none_or(|p| p == provider)
    }
}

/// One clinic's calendar over a day or a week.
#[derive(Clone, Debug)]
pub struct CalendarView {
    /// The clinic shown (`None` when no clinic is set up yet).
    pub clinic: Option<Clinic>,
    /// Active clinics to choose from.
    pub clinics: Vec<Clinic>,
    /// The clinic's zone; every date and time here is local to it.
    pub zone: TimeZone,
    /// Day or week.
    pub span: CalendarSpan,
    /// The date asked for.
    pub date: Date,
    /// First date shown.
    pub from: Date,
    /// Last date shown (inclusive).
    pub until: Date,
    /// Today in the clinic's zone.
    pub today: Date,
    /// Now.
    pub now: Timestamp,
    /// Every active provider working at the clinic, by name.
    pub providers: Vec<CalendarProvider>,
    /// The providers shown, in column order.
    pub shown: Vec<ProviderId>,
    /// Available time per shown provider and date.
    pub availability: Vec<ProviderDay>,
    /// Appointments of the shown providers (cancelled ones are in `cancelled`).
    pub appointments: Vec<CalendarEntry>,
    /// Cancelled appointments the actor may see in full.
    pub cancelled: Vec<CalendarEntry>,
    /// Closures and exceptions in the range.
    pub bands: Vec<CalendarBand>,
    /// The actor may book new appointments from the calendar.
    pub can_book: bool,
}

impl CalendarView {
    /// A shown provider.
    pub fn provider(&self, id: ProviderId) -> Option<&CalendarProvider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// The available stretches of `provider` on `date`.
    pub fn available(&self, provider: ProviderId, date: Date) -> &[(Timestamp, Timestamp)] {
        self.availability
            .iter()
            .find(|d| d.provider_id == provider && d.date == date)
            .map(|d| d.available.as_slice())
            .unwrap_or(&[])
    }
}

/// Every local date from `from` to `until` inclusive.
pub fn dates_between(from: Date, until: Date) -> Vec<Date> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= until && out.len() < 400 {
        out.push(d);
        match d.tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    out
}

/// The band label of an exception: "Away: Conference", "Changed hours 10:00–14:00".
fn exception_band(e: &ExceptionRow) -> (BandKind, String) {
    let reason = e.reason.trim();
    if e.kind == "hours" {
        let pairs: Vec<(i64, i64)> = serde_json::from_str(&e.hours).unwrap_or_default();
        let hours: Vec<String> = pairs
            .iter()
            .map(|(a, b)| format!("{}–{}", crate::availability::hhmm(*a), crate::availability::hhmm(*b)))
            .collect();
        let mut label = format!("Changed hours {}", hours.join(", "));
        if !reason.is_empty() {
            label.push_str(&format!(": {reason}"));
        }
        (BandKind::ChangedHours, label)
    } else if reason.is_empty() {
        (BandKind::Away, "Away".into())
    } else {
        (BandKind::Away, format!("Away: {reason}"))
    }
}

/// The label of a clinic closure.
fn closure_band(reason: &str) -> String {
    let reason = reason.trim();
    if reason.is_empty() { "Clinic closed".into() } else { format!("Clinic closed: {reason}") }
}

/// A time for people in `zone`: "3 Mar 2026, 10:00".
pub fn when(t: Timestamp, zone: &TimeZone) -> String {
    t.to_zoned(zone.clone()).strftime("%-d %b %Y, %H:%M").to_string()
}

fn status_label(code: Option<&str>) -> String {
    code.and_then(|c| c.parse::<AppointmentStatus>().ok()).map(|s| s.label().to_string()).unwrap_or_default()
}

/// One line of an appointment's history, in words.
pub fn describe_change(c: &AppointmentChange, zone: &TimeZone, providers: &HashMap<Uuid, String>) -> String {
    let provider = |p: Option<ProviderId>| p.and_then(|p| providers.get(&p.0)).cloned();
    match c.kind.as_str() {
        "created" => {
            let mut s = format!("Booked as {}", status_label(c.to_status.as_deref()).to_lowercase());
            if let Some(t) = c.to_start {
                s.push_str(&format!(" for {}", when(t, zone)));
            }
            s
        }
        "status" => {
            let mut s =
                format!("{} → {}", status_label(c.from_status.as_deref()), status_label(c.to_status.as_deref()));
            if !c.note.trim().is_empty() {
                s.push_str(&format!(" ({})", c.note.trim()));
            }
            s
        }
        "rescheduled" => {
            let mut s = match (c.from_start, c.to_start) {
                (Some(a), Some(b)) => format!("Moved from {} to {}", when(a, zone), when(b, zone)),
                _ => "Moved".to_string(),
            };
            if c.from_provider_id != c.to_provider_id
                && let (Some(a), Some(b)) = (provider(c.from_provider_id), provider(c.to_provider_id))
            {
                s.push_str(&format!(", from {a} to {b}"));
            }
            s
        }
        "participant_added" => "A patient joined".into(),
        "patient_confirmed" => "The patient confirmed they will come (answering the reminder)".into(),
        "participant_cancelled" => {
            if c.note.trim().is_empty() || c.note.starts_with("patient ") {
                "A patient's place was cancelled".into()
            } else {
                format!("A patient's place was cancelled ({})", c.note.trim())
            }
        }
        other => other.replace('_', " "),
    }
}

/// One line of an appointment's history.
#[derive(Clone, Debug)]
pub struct HistoryLine {
    /// When.
    pub at: Timestamp,
    /// Who ("System" for the system).
    pub who: String,
    /// What happened, in words.
    pub text: String,
}

/// Everything the detail panel of one appointment shows.
#[derive(Clone, Debug)]
pub struct AppointmentPanel {
    /// The appointment.
    pub appointment: Appointment,
    /// The clinic's zone.
    pub zone: TimeZone,
    /// Its history, oldest first.
    pub history: Vec<HistoryLine>,
    /// Workflow actions the actor may take now (check in, start, complete, no-show,
    /// confirm), in workflow order.
    pub workflow: Vec<AppointmentAction>,
    /// It can be cancelled.
    pub can_cancel: bool,
    /// It can be moved.
    pub can_reschedule: bool,
    /// The day whose free times are listed for a move.
    pub reschedule_date: Date,
    /// Free times that day with the same provider, clinic and service.
    pub free_slots: Vec<SlotView>,
}

/// Repeating a new appointment weekly.
#[derive(Clone, Debug, Default)]
pub struct Repeat {
    /// Every N weeks (default 1).
    pub every_weeks: Option<u8>,
    /// For this many occurrences…
    pub count: Option<u16>,
    /// …or until this local date.
    pub until: Option<Date>,
    /// All or nothing, or book what is free.
    pub mode: SeriesMode,
}

/// A booking by local date and time in the clinic's zone (the reception form).
#[derive(Clone, Debug, Default)]
pub struct LocalBooking {
    /// The patient.
    pub patient_id: Option<PatientId>,
    /// The service.
    pub service_id: Option<ServiceId>,
    /// The provider.
    pub provider_id: Option<ProviderId>,
    /// The clinic.
    pub clinic_id: Option<ClinicId>,
    /// Local date.
    pub date: Option<Date>,
    /// Local time.
    pub time: Option<Time>,
    /// Repeat weekly.
    pub repeat: Option<Repeat>,
    /// A note.
    pub note: String,
    /// Makes a resubmitted form (a double click) return the first booking.
    pub idempotency_key: Option<String>,
}

/// What a reception booking made.
#[derive(Clone, Debug)]
pub enum LocalBooked {
    /// One appointment.
    One(Box<Appointment>),
    /// A series, with a report per occurrence.
    Series(SeriesReport),
}

/// A draft of the reception booking form, for its choices.
#[derive(Clone, Debug, Default)]
pub struct BookingDraft {
    /// Search text for the patient.
    pub q: String,
    /// The patient chosen.
    pub patient_id: Option<PatientId>,
    /// The service chosen.
    pub service_id: Option<ServiceId>,
    /// The provider chosen.
    pub provider_id: Option<ProviderId>,
    /// The clinic chosen.
    pub clinic_id: Option<ClinicId>,
    /// The date chosen.
    pub date: Option<Date>,
}

/// A provider as a choice on a form.
#[derive(Clone, Debug)]
pub struct ProviderChoice {
    /// Id.
    pub id: ProviderId,
    /// Name.
    pub name: String,
    /// Clinics they work at.
    pub clinic_ids: Vec<ClinicId>,
    /// Services they offer.
    pub service_ids: Vec<ServiceId>,
}

/// The choices of the reception booking form.
#[derive(Clone, Debug)]
pub struct BookingOptions {
    /// Active clinics.
    pub clinics: Vec<Clinic>,
    /// Active providers.
    pub providers: Vec<ProviderChoice>,
    /// Active services.
    pub services: Vec<Service>,
    /// The chosen patient, if they exist.
    pub patient: Option<Patient>,
    /// Patients matching the search text.
    pub matches: Vec<Patient>,
    /// How many match in all.
    pub matches_total: i64,
    /// The clinic chosen (or the first).
    pub clinic_id: Option<ClinicId>,
    /// The provider chosen.
    pub provider_id: Option<ProviderId>,
    /// The service chosen (or the provider's first).
    pub service_id: Option<ServiceId>,
    /// The chosen clinic's zone.
    pub zone: TimeZone,
    /// The date (default today in the zone).
    pub date: Date,
    /// Today in the zone.
    pub today: Date,
    /// Free times that day for the chosen service, provider and clinic.
    pub slots: Vec<SlotView>,
}

/// An offer made from the waiting list, for the board.
#[derive(Clone, Debug)]
pub struct OfferLine {
    /// `pending`, `accepted`, `declined` or `expired`.
    pub status: String,
    /// When it lapses.
    pub expires_at: Timestamp,
    /// The offered time.
    pub start: Timestamp,
    /// With whom.
    pub provider_name: String,
    /// The clinic's zone.
    pub zone: TimeZone,
}

/// One entry of the waiting-list board.
#[derive(Clone, Debug)]
pub struct WaitlistRow {
    /// The entry.
    pub entry: WaitlistEntry,
    /// The provider wanted, by name.
    pub provider_name: Option<String>,
    /// The clinic wanted, by name.
    pub clinic_name: Option<String>,
    /// Offers made for it, newest first.
    pub offers: Vec<OfferLine>,
}

/// The waiting list as reception sees it.
#[derive(Clone, Debug)]
pub struct WaitlistBoard {
    /// Entries in the order they joined.
    pub rows: Vec<WaitlistRow>,
    /// How many entries match.
    pub total: i64,
    /// Page number.
    pub page: i64,
    /// Page size.
    pub per_page: i64,
    /// Active services (for adding an entry).
    pub services: Vec<Service>,
    /// Active providers.
    pub providers: Vec<ProviderChoice>,
    /// Active clinics.
    pub clinics: Vec<Clinic>,
    /// Patients matching the search text of the add form.
    pub matches: Vec<Patient>,
}

/// Whether a booked participant status is shown.
fn booked_names(a: &Appointment) -> Vec<String> {
    a.participants.iter().filter(|p| p.status == "booked").map(|p| p.name.clone()).collect()
}

impl Services {
    /// One clinic's calendar over a day or a week: its providers, their appointments
    /// (someone else's shown only as busy to a provider), available time per date and
    /// labelled closures and exceptions — in a constant number of queries.
    #[tracing::instrument(skip_all)]
    pub async fn calendar(&self, actor: &Actor, q: CalendarQuery) -> ServiceResult<CalendarView> {
        let scope = actor.require(Permission::RunAppointmentWorkflow)?;
        let now = self.now();
        let all_clinics: Vec<Clinic> =
            catalog::clinics(self.db()).await?.into_iter().map(Clinic::from_row).collect::<Vec<_>>();
        let provider_rows = catalog::providers(self.db()).await?;
        let links = catalog::links(self.db(), catalog::Link::Clinics).await?;
        let me = actor.user_id.and_then(|u| provider_rows.iter().find(|p| p.user_id == u.0).map(|p| p.id));
        let clinics: Vec<Clinic> = all_clinics.iter().filter(|c| c.active).cloned().collect();
        let clinic = match q.clinic_id {
            Some(id) => Some(
                all_clinics.iter().find(|c| c.id == id).cloned().ok_or(ServiceError::NotFound { what: "Clinic" })?,
            ),
            None => {
                let mine = me.and_then(|m| {
                    clinics.iter().find(|c| links.iter().any(|l| l.provider_id == m && l.other_id == c.id.0))
                });
                mine.or(clinics.first()).cloned()
            }
        };
        let zone = clinic.as_ref().map(Clinic::zone).unwrap_or_else(|| self.settings().display_zone.clone());
        let today = now.to_zoned(zone.clone()).date();
        let date = q.date.unwrap_or(today);
        let (from, until) = q.span.dates(date);
        let mut view = CalendarView {
            clinic: clinic.clone(),
            clinics,
            zone: zone.clone(),
            span: q.span,
            date,
            from,
            until,
            today,
            now,
            providers: Vec::new(),
            shown: Vec::new(),
            availability: Vec::new(),
            appointments: Vec::new(),
            cancelled: Vec::new(),
            bands: Vec::new(),
            can_book: actor.scope(Permission::BookAppointment) == Some(Scope::All),
        };
        let Some(clinic) = clinic else { return Ok(view) };
        let working: HashSet<Uuid> =
            links.iter().filter(|l| l.other_id == clinic.id.0).map(|l| l.provider_id).collect();
        view.providers = provider_rows
            .iter()
            .filter(|p| p.active && working.contains(&p.id))
            .map(|p| CalendarProvider {
                id: ProviderId(p.id),
                name: p.full_name.clone(),
                title: p.title.clone(),
                colour: p.calendar_colour.clone(),
                is_me: me == Some(p.id),
            })
            .collect();
        let chosen = q.provider_id.filter(|p| view.providers.iter().any(|x| x.id == *p));
        view.shown = match (chosen, q.span) {
            (Some(p), _) => vec![p],
            (None, CalendarSpan::Day) => view.providers.iter().map(|p| p.id).collect(),
            (None, CalendarSpan::Week) => view
                .providers
                .iter()
                .find(|p| p.is_me)
                .or(view.providers.first())
                .map(|p| vec![p.id])
                .unwrap_or_default(),
        };
        let filter = (view.shown.len() == 1).then(|| view.shown[0]);

        // Availability, read once for every provider of the clinic.
        let windows = appointments::calendar_windows(self.db(), clinic.id).await?;
        let exceptions = appointments::calendar_exceptions(self.db(), clinic.id, from, until).await?;
        let closures = availability::closures(self.db(), Some(clinic.id), Some(from), Some(until)).await?;
        let dates = dates_between(from, until);
        for p in &view.shown {
            let input = SlotInput {
                time_zone: zone.clone(),
                weekly: windows.iter().filter(|w| w.provider_id == p.0).map(crate::availability::window_of).collect(),
                exceptions: exceptions
                    .iter()
                    .filter(|e| e.provider_id == p.0)
                    .map(crate::availability::exception_of)
                    .collect(),
                closures: closures.iter().map(crate::availability::closure_of).collect(),
                busy: Vec::new(),
                rules: ServiceRules::simple(SignedDuration::from_mins(15)),
                from,
                until,
                now,
            };
            for d in &dates {
                view.availability.push(ProviderDay {
                    provider_id: *p,
                    date: *d,
                    available: expand_windows(&input, *d),
                });
            }
        }
        view.bands = closures
            .iter()
            .map(|c| CalendarBand {
                provider_id: None,
                from: c.from_date.0,
                until: c.until_date.0,
                kind: BandKind::ClinicClosed,
                label: closure_band(&c.reason),
            })
            .chain(exceptions.iter().filter(|e| view.shown.contains(&ProviderId(e.provider_id))).map(|e| {
                let (kind, label) = exception_band(e);
                CalendarBand {
                    provider_id: Some(ProviderId(e.provider_id)),
                    from: e.from_date.0,
                    until: e.until_date.0,
                    kind,
                    label,
                }
            }))
            .collect();

        // Appointments of the shown providers, at this clinic and elsewhere.
        let start_of = |d: Date| d.to_zoned(zone.clone()).map(|z| z.timestamp()).unwrap_or(now);
        let range_from = start_of(from);
        let range_until = until.tomorrow().map(start_of).unwrap_or(now);
        let rows =
            appointments::calendar_appointments(self.db(), clinic.id, filter, range_from, range_until, now).await?;
        let rows: Vec<_> = rows.into_iter().filter(|r| view.shown.contains(&ProviderId(r.provider_id))).collect();
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let parts = appointments::participants(self.db(), &ids).await?;
        for r in rows {
            let sees = scope == Scope::All || actor.user_id.is_some_and(|u| u.0 == r.provider_user_id);
            let mine: Vec<_> = parts.iter().filter(|p| p.appointment_id == r.id).collect();
            let elsewhere = (r.clinic_id != clinic.id.0).then(|| r.clinic_name.clone());
            let a = Appointment::from_rows(r, mine)?;
            let cancelled = a.status == AppointmentStatus::Cancelled;
            if cancelled && !sees {
                continue;
            }
            let entry = CalendarEntry {
                id: a.id,
                provider_id: a.provider_id,
                clinic_id: a.clinic_id,
                elsewhere,
                start: a.start,
                end: a.end,
                details: sees.then(|| EntryDetails {
                    number: a.number.clone(),
                    service_name: a.service_name.clone(),
                    patients: booked_names(&a),
                    status: a.status,
                    capacity: a.capacity,
                }),
            };
            if cancelled { view.cancelled.push(entry) } else { view.appointments.push(entry) }
        }
        Ok(view)
    }

    /// The detail panel of an appointment for reception and providers: the appointment,
    /// its history in words, what may be done from its status, and free times on
    /// `reschedule_day` (default its own day) to move it to.
    #[tracing::instrument(skip_all)]
    pub async fn appointment_panel(
        &self,
        actor: &Actor,
        id: AppointmentId,
        reschedule_day: Option<Date>,
    ) -> ServiceResult<AppointmentPanel> {
        let workflow_scope = actor.require(Permission::RunAppointmentWorkflow)?;
        let appointment = self.get_appointment(actor, id).await?;
        let zone = zone_named(&appointment.time_zone);
        let changes = self.appointment_history(actor, id).await?;
        let providers: HashMap<Uuid, String> =
            catalog::providers(self.db()).await?.into_iter().map(|p| (p.id, p.full_name)).collect();
        let mut names: HashMap<Uuid, String> = HashMap::new();
        for who in changes.iter().filter_map(|c| c.actor_id) {
            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(who.0) {
                let name = praxis_store::users::by_id(self.db(), who).await?.map(|u| u.full_name);
                slot.insert(name.unwrap_or_else(|| "A former user".into()));
            }
        }
        let history = changes
            .iter()
            .map(|c| HistoryLine {
                at: c.at,
                who: c.actor_id.and_then(|u| names.get(&u.0).cloned()).unwrap_or_else(|| "System".into()),
                text: describe_change(c, &zone, &providers),
            })
            .collect();
        let allowed = appointment.status.allowed_actions();
        let workflow = if workflow_scope == Scope::All || actor.roles.has(praxis_domain::Role::Provider) {
            allowed
                .iter()
                .copied()
                .filter(|a| {
                    matches!(
                        a,
                        AppointmentAction::CheckIn
                            | AppointmentAction::Start
                            | AppointmentAction::Complete
                            | AppointmentAction::MarkNoShow
                    ) || (*a == AppointmentAction::Confirm && appointment.status == AppointmentStatus::Requested)
                })
                .collect()
        } else {
            Vec::new()
        };
        let can_change = actor.can(Permission::ChangeAppointment);
        let can_cancel = can_change && allowed.contains(&AppointmentAction::Cancel);
        let can_reschedule = can_change
            && matches!(appointment.status, AppointmentStatus::Requested | AppointmentStatus::Confirmed)
            && appointment.participants.iter().filter(|p| p.status == "booked").count() <= 1;
        let today = self.now().to_zoned(zone.clone()).date();
        let own_day = appointment.start.to_zoned(zone.clone()).date();
        let reschedule_date = reschedule_day.unwrap_or(if own_day < today { today } else { own_day });
        let free_slots = if can_reschedule {
            self.free_times(
                actor,
                Some(appointment.id),
                appointment.service_id,
                appointment.provider_id,
                appointment.clinic_id,
                reschedule_date,
            )
            .await?
        } else {
            Vec::new()
        };
        Ok(AppointmentPanel {
            appointment,
            zone,
            history,
            workflow,
            can_cancel,
            can_reschedule,
            reschedule_date,
            free_slots,
        })
    }

    /// Free individual times on one local date for a service with one provider at one
    /// clinic (existing group sessions left out).
    async fn free_times(
        &self,
        actor: &Actor,
        moving: Option<AppointmentId>,
        service: ServiceId,
        provider: ProviderId,
        clinic: ClinicId,
        date: Date,
    ) -> ServiceResult<Vec<SlotView>> {
        let q = SlotQuery {
            service_id: service,
            provider_id: Some(provider),
            clinic_id: Some(clinic),
            from: Some(date),
            until: Some(date),
        };
        match self.search_slots_moving(actor, &q, moving).await {
            Ok(slots) => Ok(slots.into_iter().filter(|s| s.session_id.is_none()).collect()),
            Err(ServiceError::Validation(_)) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Moves an appointment to a local date and time in its clinic's zone (this
    /// appointment only).
    #[tracing::instrument(skip_all)]
    pub async fn reschedule_at_local(
        &self,
        actor: &Actor,
        id: AppointmentId,
        date: Option<Date>,
        time: Option<Time>,
    ) -> ServiceResult<Appointment> {
        actor.require(Permission::RunAppointmentWorkflow)?;
        let current = self.get_appointment(actor, id).await?;
        let mut v = Validation::new();
        if date.is_none() {
            v.add("date", "required", "Choose the new date.");
        }
        if time.is_none() {
            v.add("time", "required", "Choose the new time, or pick one of the free times.");
        }
        v.finish()?;
        let (Some(date), Some(time)) = (date, time) else {
            return Err(ServiceError::Internal("validated move without values".into()));
        };
        let zone = zone_named(&current.time_zone);
        let start = praxis_domain::schedule::local::date_time_to_instant(&zone, date, time)
            .map_err(|_| ServiceError::invalid("time", "invalid", "That time does not exist on that day."))?;
        let moved = self
            .reschedule(
                actor,
                id,
                RescheduleRequest { start: Some(start), scope: ChangeScope::This, ..Default::default() },
            )
            .await?;
        moved.into_iter().next().ok_or(ServiceError::NotFound { what: "Appointment" })
    }

    /// The choices of the reception booking form: clinics, providers, services, the
    /// chosen patient, patients matching the search and the chosen day's free times.
    #[tracing::instrument(skip_all)]
    pub async fn booking_options(&self, actor: &Actor, draft: &BookingDraft) -> ServiceResult<BookingOptions> {
        if actor.require(Permission::BookAppointment)? != Scope::All {
            return Err(ServiceError::Forbidden);
        }
        let clinics: Vec<Clinic> =
            catalog::clinics(self.db()).await?.into_iter().filter(|c| c.active).map(Clinic::from_row).collect();
        let services: Vec<Service> = catalog::services(self.db())
            .await?
            .into_iter()
            .filter(|s| s.active)
            .map(Service::from_row)
            .collect::<ServiceResult<_>>()?;
        let providers = self.provider_choices().await?;
        let patient = match draft.patient_id {
            Some(id) => praxis_store::patients::get(self.db(), id).await?.map(Patient::from_row),
            None => None,
        };
        let (matches, matches_total) = if draft.q.trim().is_empty() {
            (Vec::new(), 0)
        } else {
            let page = self.search_patients(actor, Some(draft.q.trim()), PageRequest::new(Some(1), Some(20))).await?;
            (page.items, page.total)
        };
        let provider_id = draft.provider_id.filter(|p| providers.iter().any(|x| x.id == *p));
        let provider = provider_id.and_then(|p| providers.iter().find(|x| x.id == p));
        let clinic_id = draft
            .clinic_id
            .filter(|c| clinics.iter().any(|x| x.id == *c))
            .or_else(|| {
                provider.and_then(|p| p.clinic_ids.iter().find(|c| clinics.iter().any(|x| x.id == **c))).copied()
            })
            .or_else(|| clinics.first().map(|c| c.id));
        let service_id = draft
            .service_id
            .filter(|s| services.iter().any(|x| x.id == *s))
            .or_else(|| provider.and_then(|p| services.iter().find(|s| p.service_ids.contains(&s.id))).map(|s| s.id));
        let zone = clinics
            .iter()
            .find(|c| Some(c.id) == clinic_id)
            .map(Clinic::zone)
            .unwrap_or_else(|| self.settings().display_zone.clone());
        let today = self.now().to_zoned(zone.clone()).date();
        let date = draft.date.unwrap_or(today);
        let slots = match (service_id, provider_id, clinic_id) {
            (Some(s), Some(p), Some(c)) => self.free_times(actor, None, s, p, c, date).await?,
            _ => Vec::new(),
        };
        Ok(BookingOptions {
            clinics,
            providers,
            services,
            patient,
            matches,
            matches_total,
            clinic_id,
            provider_id,
            service_id,
            zone,
            date,
            today,
            slots,
        })
    }

    async fn provider_choices(&self) -> ServiceResult<Vec<ProviderChoice>> {
        let rows = catalog::providers(self.db()).await?;
        let clinic_links = catalog::links(self.db(), catalog::Link::Clinics).await?;
        let service_links = catalog::links(self.db(), catalog::Link::Services).await?;
        Ok(rows
            .into_iter()
            .filter(|p| p.active)
            .map(|p| ProviderChoice {
                id: ProviderId(p.id),
                name: p.full_name,
                clinic_ids: clinic_links
                    .iter()
                    .filter(|l| l.provider_id == p.id)
                    .map(|l| ClinicId(l.other_id))
                    .collect(),
                service_ids: service_links
                    .iter()
                    .filter(|l| l.provider_id == p.id)
                    .map(|l| ServiceId(l.other_id))
                    .collect(),
            })
            .collect())
    }

    /// Books for a patient at a local date and time in the clinic's zone (reception and
    /// providers), once or weekly as a series with a report per occurrence.
    #[tracing::instrument(skip_all)]
    pub async fn book_at_local(&self, actor: &Actor, req: LocalBooking) -> ServiceResult<LocalBooked> {
        if actor.require(Permission::BookAppointment)? != Scope::All {
            return Err(ServiceError::Forbidden);
        }
        let mut v = Validation::new();
        if req.patient_id.is_none() {
            v.add("patient_id", "required", "Choose the patient this appointment is for.");
        }
        for (field, missing, message) in [
            ("service_id", req.service_id.is_none(), "Choose the service."),
            ("provider_id", req.provider_id.is_none(), "Choose the provider."),
            ("clinic_id", req.clinic_id.is_none(), "Choose the clinic."),
            ("date", req.date.is_none(), "Choose the date."),
            ("time", req.time.is_none(), "Choose the time, or pick one of the free times."),
        ] {
            if missing {
                v.add(field, "required", message);
            }
        }
        v.finish()?;
        let (Some(clinic_id), Some(date), Some(time)) = (req.clinic_id, req.date, req.time) else {
            return Err(ServiceError::Internal("validated booking without values".into()));
        };
        let clinic = catalog::clinic(self.db(), clinic_id)
            .await?
            .ok_or_else(|| ServiceError::invalid("clinic_id", "unknown", "There is no such clinic."))?;
        let zone = zone_named(&clinic.time_zone);
        let start = praxis_domain::schedule::local::date_time_to_instant(&zone, date, time)
            .map_err(|_| ServiceError::invalid("time", "invalid", "That time does not exist on that day."))?;
        match req.repeat {
            None => {
                let booking = BookingRequest {
                    service_id: req.service_id,
                    provider_id: req.provider_id,
                    clinic_id: req.clinic_id,
                    start: Some(start),
                    patient_id: req.patient_id,
                    hold: false,
                    note: req.note,
                };
                let booked = self.book(actor, booking, req.idempotency_key.as_deref()).await?;
                Ok(LocalBooked::One(Box::new(booked.appointment)))
            }
            Some(r) => {
                let series = SeriesRequest {
                    service_id: req.service_id,
                    provider_id: req.provider_id,
                    clinic_id: req.clinic_id,
                    patient_id: req.patient_id,
                    first_start: Some(start),
                    every_weeks: r.every_weeks,
                    count: r.count,
                    until: r.until,
                    mode: r.mode,
                    note: req.note,
                };
                Ok(LocalBooked::Series(self.book_series(actor, series).await?))
            }
        }
    }

    /// The waiting list as reception sees it: entries in order with their preferences by
    /// name and the offers made for them; `open_only` leaves out booked and removed
    /// entries. `q` searches patients for the add form.
    #[tracing::instrument(skip_all)]
    pub async fn waitlist_board(
        &self,
        actor: &Actor,
        open_only: bool,
        q: &str,
        page: PageRequest,
    ) -> ServiceResult<WaitlistBoard> {
        if actor.require(Permission::ManageWaitlist)? != Scope::All || actor.roles.is_patient_only() {
            return Err(ServiceError::Forbidden);
        }
        let filter = EntryFilter {
            statuses: if open_only { vec!["waiting".into(), "offered".into()] } else { Vec::new() },
            ..EntryFilter::default()
        };
        let entries = self.list_waitlist(actor, filter, page).await?;
        let all_clinics = catalog::clinics(self.db()).await?;
        let clinic_names: HashMap<Uuid, (String, TimeZone)> =
            all_clinics.iter().map(|c| (c.id, (c.name.clone(), zone_named(&c.time_zone)))).collect();
        let provider_names: HashMap<Uuid, String> =
            catalog::providers(self.db()).await?.into_iter().map(|p| (p.id, p.full_name)).collect();
        let on_page: HashSet<Uuid> = entries.items.iter().map(|e| e.id.0).collect();
        let mut offers: HashMap<Uuid, Vec<OfferLine>> = HashMap::new();
        for o in waitlist::offers(self.db(), None, None).await? {
            if !on_page.contains(&o.entry_id) || offers.get(&o.entry_id).is_some_and(|v| v.len() >= 3) {
                continue;
            }
            let Some(a) = appointments::get(self.db(), AppointmentId(o.appointment_id)).await? else { continue };
            offers.entry(o.entry_id).or_default().push(OfferLine {
                status: o.status,
                expires_at: o.expires_at.0,
                start: a.starts_at.0,
                provider_name: a.provider_name,
                zone: zone_named(&a.time_zone),
            });
        }
        let rows = entries
            .items
            .into_iter()
            .map(|e| WaitlistRow {
                provider_name: e.provider_id.and_then(|p| provider_names.get(&p.0).cloned()),
                clinic_name: e.clinic_id.and_then(|c| clinic_names.get(&c.0).map(|c| c.0.clone())),
                offers: offers.remove(&e.id.0).unwrap_or_default(),
                entry: e,
            })
            .collect();
        let services: Vec<Service> = catalog::services(self.db())
            .await?
            .into_iter()
            .filter(|s| s.active)
            .map(Service::from_row)
            .collect::<ServiceResult<_>>()?;
        let matches = if q.trim().is_empty() {
            Vec::new()
        } else {
            self.search_patients(actor, Some(q.trim()), PageRequest::new(Some(1), Some(20))).await?.items
        };
        Ok(WaitlistBoard {
            rows,
            total: entries.total,
            page: entries.page,
            per_page: entries.per_page,
            services,
            providers: self.provider_choices().await?,
            clinics: all_clinics.into_iter().filter(|c| c.active).map(Clinic::from_row).collect(),
            matches,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn a_week_runs_monday_to_sunday() {
        // Tuesday 3 March 2026.
        assert_eq!(CalendarSpan::Week.dates(date(2026, 3, 3)), (date(2026, 3, 2), date(2026, 3, 8)));
        assert_eq!(CalendarSpan::Week.dates(date(2026, 3, 2)), (date(2026, 3, 2), date(2026, 3, 8)));
        assert_eq!(CalendarSpan::Week.dates(date(2026, 3, 8)), (date(2026, 3, 2), date(2026, 3, 8)));
        assert_eq!(CalendarSpan::Day.dates(date(2026, 3, 3)), (date(2026, 3, 3), date(2026, 3, 3)));
        assert_eq!(CalendarSpan::Week.step(date(2026, 3, 3), true), date(2026, 3, 10));
        assert_eq!(CalendarSpan::Day.step(date(2026, 3, 1), false), date(2026, 2, 28));
        assert_eq!(CalendarSpan::parse("week"), CalendarSpan::Week);
        assert_eq!(CalendarSpan::parse("nonsense"), CalendarSpan::Day);
    }

    #[test]
    fn dates_between_is_inclusive_and_bounded() {
        assert_eq!(dates_between(date(2026, 2, 27), date(2026, 3, 2)).len(), 4);
        assert!(dates_between(date(2026, 3, 2), date(2026, 3, 1)).is_empty());
        assert_eq!(dates_between(date(2000, 1, 1), date(2030, 1, 1)).len(), 400);
    }

    fn exception(kind: &str, hours: &str, reason: &str) -> ExceptionRow {
        ExceptionRow {
            id: Uuid::nil(),
            provider_id: Uuid::nil(),
            clinic_id: None,
            from_date: praxis_store::DbDate(date(2026, 3, 3)),
            until_date: praxis_store::DbDate(date(2026, 3, 3)),
            kind: kind.into(),
            hours: hours.into(),
            reason: reason.into(),
            created_at: praxis_store::DbTime(Timestamp::UNIX_EPOCH),
        }
    }

    #[test]
    fn bands_say_what_they_are() {
        assert_eq!(
            exception_band(&exception("closed", "[]", "Conference")),
            (BandKind::Away, "Away: Conference".into())
        );
        assert_eq!(exception_band(&exception("closed", "[]", " ")).1, "Away");
        assert_eq!(
            exception_band(&exception("hours", "[[600, 840]]", "Half day")),
            (BandKind::ChangedHours, "Changed hours 10:00–14:00: Half day".into())
        );
        assert_eq!(closure_band("Public holiday"), "Clinic closed: Public holiday");
        assert_eq!(closure_band(""), "Clinic closed");
        let band = CalendarBand {
            provider_id: None,
            from: date(2026, 3, 3),
            until: date(2026, 3, 4),
            kind: BandKind::ClinicClosed,
            label: String::new(),
        };
        let p = ProviderId(Uuid::nil());
        assert!(band.applies(p, date(2026, 3, 4)));
        assert!(!band.applies(p, date(2026, 3, 5)));
        let own = CalendarBand { provider_id: Some(ProviderId(Uuid::from_u128(1))), ..band };
        assert!(!own.applies(p, date(2026, 3, 3)), "a provider's exception is theirs only");
    }

    fn change(kind: &str) -> AppointmentChange {
        AppointmentChange {
            at: Timestamp::UNIX_EPOCH,
            actor_id: None,
            kind: kind.into(),
            from_status: None,
            to_status: None,
            from_start: None,
            to_start: None,
            from_provider_id: None,
            to_provider_id: None,
            note: String::new(),
        }
    }

    #[test]
    fn history_lines_read_as_sentences() {
        let zone = TimeZone::get("Australia/Sydney").unwrap();
        let ten: Timestamp = "2026-03-02T23:00:00Z".parse().unwrap();
        let eleven: Timestamp = "2026-03-03T00:00:00Z".parse().unwrap();
        let names = HashMap::from([(Uuid::from_u128(1), "Dr A".to_string()), (Uuid::from_u128(2), "Dr B".into())]);
        let created =
            AppointmentChange { to_status: Some("confirmed".into()), to_start: Some(ten), ..change("created") };
        assert_eq!(describe_change(&created, &zone, &names), "Booked as confirmed for 3 Mar 2026, 10:00");
        let status = AppointmentChange {
            from_status: Some("confirmed".into()),
            to_status: Some("cancelled".into()),
            note: "Unwell".into(),
            ..change("status")
        };
        assert_eq!(describe_change(&status, &zone, &names), "Confirmed → Cancelled (Unwell)");
        let moved = AppointmentChange {
            from_start: Some(ten),
            to_start: Some(eleven),
            from_provider_id: Some(ProviderId(Uuid::from_u128(1))),
            to_provider_id: Some(ProviderId(Uuid::from_u128(2))),
            ..change("rescheduled")
        };
        assert_eq!(
            describe_change(&moved, &zone, &names),
            "Moved from 3 Mar 2026, 10:00 to 3 Mar 2026, 11:00, from Dr A to Dr B"
        );
        assert_eq!(describe_change(&change("participant_added"), &zone, &names), "A patient joined");
        assert_eq!(describe_change(&change("something_new"), &zone, &names), "something new");
    }
}
