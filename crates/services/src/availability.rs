//! Editing availability: weekly windows, dated exceptions and clinic closures.

use crate::Services;
use crate::actor::Actor;
use crate::catalog::Clinic;
use crate::error::{ServiceError, ServiceResult};
use jiff::civil::{Date, Time, Weekday};
use praxis_domain::availability::conflicting_windows_across_zones;
use praxis_domain::permissions::Scope;
use praxis_domain::{
    AvailabilityException, AvailabilityWindowId, ClinicClosure, ClinicId, ClosureId, ExceptionId, ExceptionKind,
    Permission, ProviderId, Validation, WeeklyWindow,
};
use praxis_store::availability::{self, ClosureRow, ExceptionRow, WindowRow};
use praxis_store::catalog::{self, Link};
use praxis_store::{DbDate, DbTime};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One weekly window.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AvailabilityWindow {
    /// Id.
    pub id: AvailabilityWindowId,
    /// Where.
    pub clinic_id: ClinicId,
    /// `monday` … `sunday`.
    pub weekday: String,
    /// Local start `HH:MM`.
    pub start: String,
    /// Local end `HH:MM`.
    pub end: String,
    /// First date it applies.
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_from: Option<Date>,
    /// Last date it applies.
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_until: Option<Date>,
}

/// A window to add.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct WindowInput {
    /// Where (a clinic the provider works at).
    pub clinic_id: Option<ClinicId>,
    /// `monday` … `sunday` (or `mon` … `sun`).
    #[serde(default)]
    pub weekday: String,
    /// Local start `HH:MM`.
    #[serde(default)]
    pub start: String,
    /// Local end `HH:MM` (`24:00` for midnight).
    #[serde(default)]
    pub end: String,
    /// First date (optional).
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_from: Option<Date>,
    /// Last date (optional).
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_until: Option<Date>,
}

/// One exception.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AvailabilityExceptionView {
    /// Id.
    pub id: ExceptionId,
    /// At one clinic, or everywhere.
    pub clinic_id: Option<ClinicId>,
    /// First date.
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// Last date (inclusive).
    #[schema(value_type = String, format = Date)]
    pub until: Date,
    /// `closed` or `hours`.
    pub kind: String,
    /// Replacement hours (`hours` only).
    pub hours: Vec<HoursRange>,
    /// Why.
    pub reason: String,
}

/// A local time range.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HoursRange {
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM`.
    pub end: String,
}

/// An exception to add.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ExceptionInput {
    /// One clinic (required for `hours`); none = every clinic.
    pub clinic_id: Option<ClinicId>,
    /// First date.
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<Date>,
    /// Last date (inclusive; default = `from`).
    #[schema(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    /// `closed` (default) or `hours`.
    #[serde(default)]
    pub kind: String,
    /// Replacement hours for `hours`.
    #[serde(default)]
    pub hours: Vec<HoursRange>,
    /// Why (shown to staff).
    #[serde(default)]
    pub reason: String,
}

/// A clinic closure.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Closure {
    /// Id.
    pub id: ClosureId,
    /// Which clinic.
    pub clinic_id: ClinicId,
    /// First date.
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// Last date.
    #[schema(value_type = String, format = Date)]
    pub until: Date,
    /// Why.
    pub reason: String,
}

/// A closure to add.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ClosureInput {
    /// First date.
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<Date>,
    /// Last date (default = `from`).
    #[schema(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    /// Why (public holiday…).
    #[serde(default)]
    pub reason: String,
}

/// A provider's whole availability.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderAvailability {
    /// The provider.
    pub provider_id: ProviderId,
    /// Weekly windows at every clinic.
    pub windows: Vec<AvailabilityWindow>,
    /// Exceptions from today on.
    pub exceptions: Vec<AvailabilityExceptionView>,
}

/// Parses `HH:MM` (or `24:00`) into minutes after midnight.
pub fn parse_hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.get(..2)?.parse().ok()?);
    if (h == 24 && m == 0) || ((0..24).contains(&h) && (0..60).contains(&m)) { Some(h * 60 + m) } else { None }
}

/// Minutes after midnight as `HH:MM`.
pub fn hhmm(min: i64) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

/// Minutes after midnight as a civil time (1440 = the last representable instant of the day).
pub fn minutes_to_time(min: i64) -> Time {
    if min >= 1440 {
        return Time::MAX;
    }
    Time::new((min / 60) as i8, (min % 60) as i8, 0, 0).unwrap_or(Time::MIN)
}

/// ISO weekday number (Monday = 1).
pub fn weekday_number(w: Weekday) -> i64 {
    i64::from(w.to_monday_one_offset())
}

fn weekday_from_number(n: i64) -> Weekday {
    Weekday::from_monday_one_offset(i8::try_from(n).unwrap_or(1)).unwrap_or(Weekday::Monday)
}

/// Parses a weekday name (`monday`, `Mon`).
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    let s = s.trim().to_ascii_lowercase();
    let all = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];
    all.into_iter().find(|w| {
        let name = weekday_name(*w);
        s == name || (s.len() >= 3 && name.starts_with(&s))
    })
}

/// `monday` … `sunday`.
pub fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "monday",
        Weekday::Tuesday => "tuesday",
        Weekday::Wednesday => "wednesday",
        Weekday::Thursday => "thursday",
        Weekday::Friday => "friday",
        Weekday::Saturday => "saturday",
        Weekday::Sunday => "sunday",
    }
}

/// A stored window as the slot engine's type.
pub fn window_of(r: &WindowRow) -> WeeklyWindow {
    WeeklyWindow {
        weekday: weekday_from_number(r.weekday),
        start: minutes_to_time(r.start_min),
        end: minutes_to_time(r.end_min),
        valid_from: r.valid_from.map(|d| d.0),
        valid_until: r.valid_until.map(|d| d.0),
    }
}

/// A stored exception as the slot engine's type.
pub fn exception_of(r: &ExceptionRow) -> AvailabilityException {
    let kind = if r.kind == "hours" {
        let pairs: Vec<(i64, i64)> = serde_json::from_str(&r.hours).unwrap_or_default();
        ExceptionKind::Hours(pairs.into_iter().map(|(a, b)| (minutes_to_time(a), minutes_to_time(b))).collect())
    } else {
        ExceptionKind::Closed
    };
    AvailabilityException { from: r.from_date.0, until: r.until_date.0, kind }
}

/// A stored closure as the slot engine's type.
pub fn closure_of(r: &ClosureRow) -> ClinicClosure {
    ClinicClosure { from: r.from_date.0, until: r.until_date.0 }
}

fn window_view(r: &WindowRow) -> AvailabilityWindow {
    AvailabilityWindow {
        id: AvailabilityWindowId(r.id),
        clinic_id: ClinicId(r.clinic_id),
        weekday: weekday_name(weekday_from_number(r.weekday)).into(),
        start: hhmm(r.start_min),
        end: hhmm(r.end_min),
        valid_from: r.valid_from.map(|d| d.0),
        valid_until: r.valid_until.map(|d| d.0),
    }
}

fn exception_view(r: &ExceptionRow) -> AvailabilityExceptionView {
    let pairs: Vec<(i64, i64)> = serde_json::from_str(&r.hours).unwrap_or_default();
    AvailabilityExceptionView {
        id: ExceptionId(r.id),
        clinic_id: r.clinic_id.map(ClinicId),
        from: r.from_date.0,
        until: r.until_date.0,
        kind: r.kind.clone(),
        hours: pairs.into_iter().map(|(a, b)| HoursRange { start: hhmm(a), end: hhmm(b) }).collect(),
        reason: r.reason.clone(),
    }
}

impl Services {
    /// Checks the actor may edit `provider`'s availability: everyone's (admin, staff) or
    /// their own (provider).
    pub async fn require_availability(&self, actor: &Actor, provider: ProviderId) -> ServiceResult<()> {
        match actor.require(Permission::ManageAvailability)? {
            Scope::All => {
                catalog::provider(self.db(), provider).await?.ok_or(ServiceError::NotFound { what: "Provider" })?;
                Ok(())
            }
            Scope::Own => {
                let me = actor.user()?;
                match catalog::provider_of_user(self.db(), me).await? {
                    Some(p) if p.id == provider.0 => Ok(()),
                    _ => Err(ServiceError::Forbidden),
                }
            }
        }
    }

    /// A provider's weekly windows and current exceptions.
    pub async fn provider_availability(
        &self,
        actor: &Actor,
        provider: ProviderId,
    ) -> ServiceResult<ProviderAvailability> {
        actor.require(Permission::ViewDirectory)?;
        catalog::provider(self.db(), provider).await?.ok_or(ServiceError::NotFound { what: "Provider" })?;
        let windows = availability::windows_of(self.db(), provider).await?;
        let today = self.now().to_zoned(jiff::tz::TimeZone::UTC).date().yesterday().unwrap_or(Date::MIN);
        let exceptions = availability::exceptions_of(self.db(), provider, Some(today), None).await?;
        // Why someone is away (sick leave, a funeral) is for the clinic's people only.
        let private = !actor.can(Permission::ManageAvailability);
        Ok(ProviderAvailability {
            provider_id: provider,
            windows: windows.iter().map(window_view).collect(),
            exceptions: exceptions
                .iter()
                .map(exception_view)
                .map(|mut e| {
                    if private {
                        e.reason = String::new();
                    }
                    e
                })
                .collect(),
        })
    }

    /// Adds a weekly window. Refused when it overlaps another window of the provider at
    /// the same clinic, or puts them at two clinics at the same real time (compared as
    /// instants, so clinics in different time zones are handled across DST changes).
    pub async fn add_window(
        &self,
        actor: &Actor,
        provider: ProviderId,
        input: WindowInput,
    ) -> ServiceResult<AvailabilityWindow> {
        self.require_availability(actor, provider).await?;
        let mut v = Validation::new();
        let weekday = parse_weekday(&input.weekday);
        if weekday.is_none() {
            v.add("weekday", "invalid", "Choose a day of the week.");
        }
        let start = parse_hhmm(&input.start);
        if start.is_none() {
            v.add("start", "invalid", "Give the start as HH:MM, for example 09:00.");
        }
        let end = parse_hhmm(&input.end);
        if end.is_none() {
            v.add("end", "invalid", "Give the end as HH:MM, for example 17:00.");
        }
        if input.clinic_id.is_none() {
            v.add("clinic_id", "required", "Choose the clinic.");
        }
        v.finish()?;
        let (Some(weekday), Some(start), Some(end), Some(clinic_id)) = (weekday, start, end, input.clinic_id) else {
            return Err(ServiceError::Internal("validated window without values".into()));
        };
        let window = WeeklyWindow::new(
            weekday,
            minutes_to_time(start),
            minutes_to_time(end),
            input.valid_from,
            input.valid_until,
        )
        .map_err(ServiceError::Validation)?;
        let works_at = catalog::links(self.db(), Link::Clinics).await?;
        if !works_at.iter().any(|l| l.provider_id == provider.0 && l.other_id == clinic_id.0) {
            return Err(ServiceError::invalid("clinic_id", "not_linked", "The provider does not work at this clinic."));
        }
        let clinics: Vec<Clinic> =
            praxis_store::catalog::clinics(self.db()).await?.into_iter().map(Clinic::from_row).collect();
        let zone_of =
            |c: Uuid| clinics.iter().find(|x| x.id.0 == c).map(Clinic::zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let existing = availability::windows_of_tx(&mut tx, provider).await?;
        let new_zone = zone_of(clinic_id.0);
        for other in &existing {
            let ow = window_of(other);
            let conflict = conflicting_windows_across_zones(
                std::slice::from_ref(&window),
                &new_zone,
                std::slice::from_ref(&ow),
                &zone_of(other.clinic_id),
                now,
            );
            if let Some(c) = conflict {
                let same = other.clinic_id == clinic_id.0;
                let name =
                    clinics.iter().find(|x| x.id.0 == other.clinic_id).map(|x| x.name.clone()).unwrap_or_default();
                let message = if same {
                    format!(
                        "This overlaps the {} {}–{} window at this clinic.",
                        weekday_name(ow.weekday),
                        hhmm(other.start_min),
                        hhmm(other.end_min)
                    )
                } else {
                    format!(
                        "On {} this would put the provider at two clinics at once: they work at {name} then ({} {}–{} local time there).",
                        c.a_date,
                        weekday_name(ow.weekday),
                        hhmm(other.start_min),
                        hhmm(other.end_min)
                    )
                };
                return Err(ServiceError::Conflict {
                    code: if same { "window_overlap" } else { "two_clinics_at_once" },
                    message: message.clone(),
                    fields: vec![praxis_domain::FieldError { field: "start".into(), code: "overlap".into(), message }],
                });
            }
        }
        let row = WindowRow {
            id: AvailabilityWindowId::new().0,
            provider_id: provider.0,
            clinic_id: clinic_id.0,
            weekday: weekday_number(weekday),
            start_min: start,
            end_min: end,
            valid_from: input.valid_from.map(DbDate),
            valid_until: input.valid_until.map(DbDate),
            created_at: DbTime(now),
        };
        availability::insert_window(&mut tx, &row).await?;
        tx.audit(self.audit_entry(
            actor,
            "availability.window_add",
            "provider",
            Some(provider.to_string()),
            format!("added {} {}–{} at clinic {}", weekday_name(weekday), hhmm(start), hhmm(end), clinic_id),
        ));
        tx.commit().await?;
        Ok(window_view(&row))
    }

    /// Removes a weekly window.
    pub async fn delete_window(
        &self,
        actor: &Actor,
        provider: ProviderId,
        id: AvailabilityWindowId,
    ) -> ServiceResult<()> {
        self.require_availability(actor, provider).await?;
        let mut tx = self.db().begin().await?;
        if !availability::delete_window(&mut tx, provider, id).await? {
            return Err(ServiceError::NotFound { what: "Availability window" });
        }
        tx.audit(self.audit_entry(
            actor,
            "availability.window_remove",
            "provider",
            Some(provider.to_string()),
            format!("removed window {id}"),
        ));
        tx.commit().await?;
        Ok(())
    }

    /// Adds a dated exception: closed (leave) or replacement hours.
    pub async fn add_exception(
        &self,
        actor: &Actor,
        provider: ProviderId,
        input: ExceptionInput,
    ) -> ServiceResult<AvailabilityExceptionView> {
        self.require_availability(actor, provider).await?;
        let mut v = Validation::new();
        let from = input.from;
        if from.is_none() {
            v.add("from", "required", "Give the first date.");
        }
        let until = input.until.or(from);
        let kind = match input.kind.trim() {
            "" | "closed" => "closed",
            "hours" => "hours",
            _ => {
                v.add("kind", "invalid", "Use closed or hours.");
                "closed"
            }
        };
        let mut pairs = Vec::new();
        if kind == "hours" {
            if input.clinic_id.is_none() {
                v.add("clinic_id", "required", "Changed hours are at one clinic; choose it.");
            }
            if input.hours.is_empty() {
                v.add("hours", "required", "Give at least one start and end time.");
            }
            for h in &input.hours {
                match (parse_hhmm(&h.start), parse_hhmm(&h.end)) {
                    (Some(a), Some(b)) if a < b => pairs.push((a, b)),
                    _ => v.add("hours", "invalid", "Each range needs HH:MM times with the end after the start."),
                }
            }
        }
        if input.reason.chars().count() > 300 {
            v.add("reason", "too_long", "Use at most 300 characters.");
        }
        if let (Some(f), Some(u)) = (from, until) {
            if u < f {
                v.add("until", "invalid", "The last date must not be before the first.");
            } else if (u - f).get_days() > 366 {
                v.add("until", "too_long", "An exception covers at most a year; add another for longer.");
            }
        }
        v.finish()?;
        let (Some(from), Some(until)) = (from, until) else { return Err(ServiceError::Internal("no dates".into())) };
        if let Some(c) = input.clinic_id {
            let works_at = catalog::links(self.db(), Link::Clinics).await?;
            if !works_at.iter().any(|l| l.provider_id == provider.0 && l.other_id == c.0) {
                return Err(ServiceError::invalid(
                    "clinic_id",
                    "not_linked",
                    "The provider does not work at this clinic.",
                ));
            }
        }
        let row = ExceptionRow {
            id: ExceptionId::new().0,
            provider_id: provider.0,
            clinic_id: input.clinic_id.map(|c| c.0),
            from_date: DbDate(from),
            until_date: DbDate(until),
            kind: kind.into(),
            hours: serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".into()),
            reason: input.reason.trim().into(),
            created_at: DbTime(self.now()),
        };
        let mut tx = self.db().begin().await?;
        availability::insert_exception(&mut tx, &row).await?;
        tx.audit(self.audit_entry(
            actor,
            "availability.exception_add",
            "provider",
            Some(provider.to_string()),
            format!(
                "{kind} from {from} to {until}{}",
                if row.reason.is_empty() { String::new() } else { format!(" ({})", row.reason) }
            ),
        ));
        tx.commit().await?;
        Ok(exception_view(&row))
    }

    /// Removes an exception.
    pub async fn delete_exception(&self, actor: &Actor, provider: ProviderId, id: ExceptionId) -> ServiceResult<()> {
        self.require_availability(actor, provider).await?;
        let mut tx = self.db().begin().await?;
        if !availability::delete_exception(&mut tx, provider, id).await? {
            return Err(ServiceError::NotFound { what: "Exception" });
        }
        tx.audit(self.audit_entry(
            actor,
            "availability.exception_remove",
            "provider",
            Some(provider.to_string()),
            format!("removed exception {id}"),
        ));
        tx.commit().await?;
        Ok(())
    }

    /// Closes a clinic on a date or date range (administrators and staff).
    pub async fn add_closure(&self, actor: &Actor, clinic: ClinicId, input: ClosureInput) -> ServiceResult<Closure> {
        if actor.require(Permission::ManageAvailability)? != Scope::All {
            return Err(ServiceError::Forbidden);
        }
        catalog::clinic(self.db(), clinic).await?.ok_or(ServiceError::NotFound { what: "Clinic" })?;
        let mut v = Validation::new();
        if input.from.is_none() {
            v.add("from", "required", "Give the first date.");
        }
        let until = input.until.or(input.from);
        if let (Some(f), Some(u)) = (input.from, until) {
            if u < f {
                v.add("until", "invalid", "The last date must not be before the first.");
            } else if (u - f).get_days() > 366 {
                v.add("until", "too_long", "A closure covers at most a year.");
            }
        }
        if input.reason.chars().count() > 300 {
            v.add("reason", "too_long", "Use at most 300 characters.");
        }
        v.finish()?;
        let (Some(from), Some(until)) = (input.from, until) else {
            return Err(ServiceError::Internal("no dates".into()));
        };
        let row = ClosureRow {
            id: ClosureId::new().0,
            clinic_id: clinic.0,
            from_date: DbDate(from),
            until_date: DbDate(until),
            reason: input.reason.trim().into(),
            created_at: DbTime(self.now()),
        };
        let mut tx = self.db().begin().await?;
        availability::insert_closure(&mut tx, &row).await?;
        tx.audit(self.audit_entry(
            actor,
            "clinic.closure_add",
            "clinic",
            Some(clinic.to_string()),
            format!("closed from {from} to {until}"),
        ));
        tx.commit().await?;
        Ok(Closure { id: ClosureId(row.id), clinic_id: clinic, from, until, reason: row.reason })
    }

    /// Reopens a clinic (removes a closure).
    pub async fn delete_closure(&self, actor: &Actor, clinic: ClinicId, id: ClosureId) -> ServiceResult<()> {
        if actor.require(Permission::ManageAvailability)? != Scope::All {
            return Err(ServiceError::Forbidden);
        }
        let mut tx = self.db().begin().await?;
        if !availability::delete_closure(&mut tx, clinic, id).await? {
            return Err(ServiceError::NotFound { what: "Closure" });
        }
        tx.audit(self.audit_entry(
            actor,
            "clinic.closure_remove",
            "clinic",
            Some(clinic.to_string()),
            format!("removed closure {id}"),
        ));
        tx.commit().await?;
        Ok(())
    }

    /// A clinic's closures from `from` on.
    pub async fn list_closures(
        &self,
        actor: &Actor,
        clinic: ClinicId,
        from: Option<Date>,
    ) -> ServiceResult<Vec<Closure>> {
        actor.require(Permission::ViewDirectory)?;
        let rows = availability::closures(self.db(), Some(clinic), from, None).await?;
        Ok(rows
            .into_iter()
            .map(|r| Closure {
                id: ClosureId(r.id),
                clinic_id: ClinicId(r.clinic_id),
                from: r.from_date.0,
                until: r.until_date.0,
                reason: r.reason,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_weekdays_parse() {
        assert_eq!(parse_hhmm("09:00"), Some(540));
        assert_eq!(parse_hhmm("9:30"), Some(570));
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        assert_eq!(parse_hhmm("24:01"), None);
        assert_eq!(parse_hhmm("12:60"), None);
        assert_eq!(parse_hhmm("noon"), None);
        assert_eq!(parse_hhmm("09:00:00"), Some(540));
        assert_eq!(hhmm(570), "09:30");
        assert_eq!(parse_weekday("Mon"), Some(Weekday::Monday));
        assert_eq!(parse_weekday("sunday"), Some(Weekday::Sunday));
        assert_eq!(parse_weekday("mo"), None);
        assert_eq!(weekday_from_number(weekday_number(Weekday::Sunday)), Weekday::Sunday);
        assert_eq!(minutes_to_time(1440), Time::MAX);
    }
}
