//! When a provider can be booked: weekly wall-clock windows, dated exceptions and
//! clinic-wide closures.
//!
//! All times here are local to the clinic's IANA time zone; the slot engine
//! ([`crate::schedule::slots`]) expands them into instants date by date, so a window
//! written as "Mondays 09:00–17:00" stays 09:00 local all year round.

use crate::schedule::local::{date_time_to_instant, local_date};
use crate::validation::{FieldError, Validation};
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// How far ahead [`conflicting_windows_across_zones`] compares two weekly patterns: 53
/// weeks, enough to meet every combination of the two zones' DST rules once.
pub const CONFLICT_CHECK_DAYS: i32 = 371;

/// One recurring weekly window in which a provider works at a clinic, in the clinic's
/// local wall-clock time. Several windows per day are allowed (e.g. a lunch break is two
/// windows); overlapping or touching windows on the same date are merged by the slot
/// engine.
///
/// Construct with [`WeeklyWindow::new`] to get field errors for a form. The fields are
/// public so the store can map rows; the slot engine ignores a window whose end is not
/// after its start rather than failing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WeeklyWindow {
    /// Day of the week, serialised as its lower-case English name (`"monday"`).
    #[serde(with = "weekday_name")]
    #[schema(value_type = String, example = "monday")]
    pub weekday: Weekday,
    /// Local start time (inclusive).
    #[schema(value_type = String, example = "09:00:00")]
    pub start: Time,
    /// Local end time (exclusive); strictly after `start`, on the same day.
    #[schema(value_type = String, example = "17:00:00")]
    pub end: Time,
    /// First local date on which the window applies; `None` means "since always".
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_from: Option<Date>,
    /// Last local date (inclusive) on which the window applies; `None` means "until
    /// further notice".
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_until: Option<Date>,
}

impl WeeklyWindow {
    /// A validated window: `end` must be after `start`, and `valid_until` must not be
    /// before `valid_from`. All problems are reported at once.
    pub fn new(
        weekday: Weekday,
        start: Time,
        end: Time,
        valid_from: Option<Date>,
        valid_until: Option<Date>,
    ) -> Result<Self, Vec<FieldError>> {
        let w = Self { weekday, start, end, valid_from, valid_until };
        w.validate()?;
        Ok(w)
    }

    /// Re-checks the invariants of [`WeeklyWindow::new`] (for values that arrived by
    /// deserialisation or from the database).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validation::new();
        if self.end <= self.start {
            v.add("end", "invalid", "The end time must be after the start time.");
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until)
            && until < from
        {
            v.add("valid_until", "invalid", "The last day must not be before the first day.");
        }
        v.finish()
    }

    /// True when the window applies on local `date` (right weekday, within validity).
    pub fn applies_on(&self, date: Date) -> bool {
        date.weekday() == self.weekday && self.valid_on(date)
    }

    /// True when `date` lies within the window's validity period (weekday ignored).
    pub fn valid_on(&self, date: Date) -> bool {
        self.valid_from.is_none_or(|f| f <= date) && self.valid_until.is_none_or(|u| date <= u)
    }

    /// The window's instants on local `date` in `tz` (gap → transition instant, fold →
    /// earlier instant), or `None` when it is empty there (e.g. it lies wholly inside a
    /// spring-forward gap). The weekday and validity are *not* checked.
    pub fn instants_on(&self, tz: &TimeZone, date: Date) -> Option<(Timestamp, Timestamp)> {
        hours_to_instants(tz, date, self.start, self.end)
    }
}

/// Local hours `start..end` on `date` as instants in `tz`, or `None` if empty or
/// unrepresentable. Shared by weekly windows and exception hours.
pub(crate) fn hours_to_instants(tz: &TimeZone, date: Date, start: Time, end: Time) -> Option<(Timestamp, Timestamp)> {
    if end <= start {
        return None;
    }
    let s = date_time_to_instant(tz, date, start).ok()?;
    let e = date_time_to_instant(tz, date, end).ok()?;
    (s < e).then_some((s, e))
}

/// What an [`AvailabilityException`] does on the dates it covers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "hours", rename_all = "snake_case")]
pub enum ExceptionKind {
    /// Not available at all (leave, training, sick day).
    Closed,
    /// Available only during these local `(start, end)` hours, which *replace* the weekly
    /// windows on those dates. To add extra hours to a normal day, list the normal hours
    /// too.
    #[schema(value_type = Vec<Vec<String>>)]
    Hours(Vec<(Time, Time)>),
}

/// A dated override of a provider's weekly pattern, covering `from..=until` (local dates,
/// inclusive). When exceptions overlap, `Closed` wins over `Hours`, and the hours of
/// several `Hours` exceptions on the same date are combined.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AvailabilityException {
    /// First local date covered.
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// Last local date covered (inclusive).
    #[schema(value_type = String, format = Date)]
    pub until: Date,
    /// Closed, or replacement hours.
    pub kind: ExceptionKind,
}

impl AvailabilityException {
    /// A validated exception: `until ≥ from`, and replacement hours (if any) are
    /// non-empty with every end after its start.
    pub fn new(from: Date, until: Date, kind: ExceptionKind) -> Result<Self, Vec<FieldError>> {
        let e = Self { from, until, kind };
        e.validate()?;
        Ok(e)
    }

    /// Re-checks the invariants of [`AvailabilityException::new`].
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validation::new();
        if self.until < self.from {
            v.add("until", "invalid", "The last day must not be before the first day.");
        }
        if let ExceptionKind::Hours(hours) = &self.kind {
            if hours.is_empty() {
                v.add("hours", "required", "Give at least one period, or mark the days as closed.");
            }
            if hours.iter().any(|(s, e)| e <= s) {
                v.add("hours", "invalid", "Each period's end time must be after its start time.");
            }
        }
        v.finish()
    }

    /// True when local `date` is within `from..=until`.
    pub fn covers(&self, date: Date) -> bool {
        self.from <= date && date <= self.until
    }
}

/// A clinic-wide closure of whole local days `from..=until` (inclusive), e.g. a public
/// holiday. Nobody at the clinic can be booked on those days, whatever their own
/// pattern says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClinicClosure {
    /// First closed local date.
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// Last closed local date (inclusive).
    #[schema(value_type = String, format = Date)]
    pub until: Date,
}

impl ClinicClosure {
    /// A validated closure: `until ≥ from`.
    pub fn new(from: Date, until: Date) -> Result<Self, Vec<FieldError>> {
        let c = Self { from, until };
        c.validate()?;
        Ok(c)
    }

    /// Re-checks the invariant of [`ClinicClosure::new`].
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validation::new();
        if self.until < self.from {
            v.add("until", "invalid", "The last day must not be before the first day.");
        }
        v.finish()
    }

    /// True when local `date` is within `from..=until`.
    pub fn covers(&self, date: Date) -> bool {
        self.from <= date && date <= self.until
    }
}

/// The first pair `(i, j)` of windows `a[i]`, `b[j]` that fall on the same weekday, whose
/// wall-clock times overlap (half-open: 09:00–12:00 and 12:00–13:00 do not) and whose
/// validity periods share a date.
///
/// This compares wall-clock times, so it is only right when both lists are in the **same
/// time zone** (e.g. one provider's windows at one clinic, or at two clinics in the same
/// zone). For clinics in different zones use [`conflicting_windows_across_zones`].
/// Passing the same list twice reports each window as overlapping itself; to check a
/// single list, ignore pairs with `i == j`, or just rely on the slot engine merging
/// overlapping windows.
pub fn overlapping_windows(a: &[WeeklyWindow], b: &[WeeklyWindow]) -> Option<(usize, usize)> {
    for (i, wa) in a.iter().enumerate() {
        for (j, wb) in b.iter().enumerate() {
            if wa.weekday == wb.weekday && wa.start < wb.end && wb.start < wa.end && validity_overlaps(wa, wb) {
                return Some((i, j));
            }
        }
    }
    None
}

fn validity_overlaps(a: &WeeklyWindow, b: &WeeklyWindow) -> bool {
    let a_before_b = matches!((a.valid_until, b.valid_from), (Some(u), Some(f)) if u < f);
    let b_before_a = matches!((b.valid_until, a.valid_from), (Some(u), Some(f)) if u < f);
    !a_before_b && !b_before_a
}

/// Where two weekly patterns in (possibly) different time zones put one provider in two
/// places at the same real time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowConflict {
    /// Index into the first list.
    pub a_index: usize,
    /// Index into the second list.
    pub b_index: usize,
    /// The local date (in the first list's zone) of the first clash.
    pub a_date: Date,
    /// Start of the overlapping real time.
    pub start: Timestamp,
    /// End of the overlapping real time.
    pub end: Timestamp,
}

/// The first real-time clash between weekly windows `a` (in zone `a_tz`) and `b` (in
/// `b_tz`), looking from `now` forward; `None` when they never overlap.
///
/// Used to stop a provider working at two clinics at once. Wall-clock comparison is not
/// enough across zones (09:00 in Sydney and 09:00 in Auckland are different instants, and
/// the difference changes when either side changes its clocks), so each pair of windows
/// is expanded into instants over its shared validity period — starting no earlier than
/// today and bounded to [`CONFLICT_CHECK_DAYS`] days, which covers a full year of both
/// zones' DST rules — and compared instant by instant. Past dates are ignored.
/// Results are deterministic: the lowest `(a_index, b_index)`, then the earliest date.
pub fn conflicting_windows_across_zones(
    a: &[WeeklyWindow],
    a_tz: &TimeZone,
    b: &[WeeklyWindow],
    b_tz: &TimeZone,
    now: Timestamp,
) -> Option<WindowConflict> {
    let today_a = local_date(a_tz, now);
    for (i, wa) in a.iter().enumerate() {
        if wa.end <= wa.start {
            continue;
        }
        for (j, wb) in b.iter().enumerate() {
            if wb.end <= wb.start {
                continue;
            }
            if let Some(c) = pair_conflict(wa, a_tz, wb, b_tz, today_a) {
                return Some(WindowConflict { a_index: i, b_index: j, ..c });
            }
        }
    }
    None
}

fn add_days(d: Date, n: i32) -> Date {
    d.checked_add(n.days()).unwrap_or(if n < 0 { Date::MIN } else { Date::MAX })
}

fn pair_conflict(
    wa: &WeeklyWindow,
    a_tz: &TimeZone,
    wb: &WeeklyWindow,
    b_tz: &TimeZone,
    today_a: Date,
) -> Option<WindowConflict> {
    // Local dates in the two zones differ by at most a day, so widen b's validity by one
    // day when translating it into a's calendar; the exact check happens per date below.
    let mut first = add_days(today_a, -1);
    if let Some(f) = wa.valid_from {
        first = first.max(f);
    }
    if let Some(f) = wb.valid_from {
        first = first.max(add_days(f, -1));
    }
    let mut last = add_days(first, CONFLICT_CHECK_DAYS);
    if let Some(u) = wa.valid_until {
        last = last.min(u);
    }
    if let Some(u) = wb.valid_until {
        last = last.min(add_days(u, 1));
    }
    if last < first {
        return None;
    }
    let shift = (wa.weekday.to_monday_zero_offset() - first.weekday().to_monday_zero_offset()).rem_euclid(7);
    let mut d = add_days(first, i32::from(shift));
    while d <= last {
        if let Some((sa, ea)) = wa.instants_on(a_tz, d) {
            // Every local date in b's zone that [sa, ea) touches.
            let last_b = local_date(b_tz, ea.checked_sub(jiff::SignedDuration::from_nanos(1)).unwrap_or(ea));
            let mut db = local_date(b_tz, sa);
            while db <= last_b {
                if wb.applies_on(db)
                    && let Some((sb, eb)) = wb.instants_on(b_tz, db)
                    && sa < eb
                    && sb < ea
                {
                    return Some(WindowConflict {
                        a_index: 0,
                        b_index: 0,
                        a_date: d,
                        start: sa.max(sb),
                        end: ea.min(eb),
                    });
                }
                let next = add_days(db, 1);
                if next == db {
                    break;
                }
                db = next;
            }
        }
        let next = add_days(d, 7);
        if next == d {
            break;
        }
        d = next;
    }
    None
}

/// Serde for [`Weekday`] as a lower-case English name, which jiff does not provide.
mod weekday_name {
    use jiff::civil::Weekday;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    const NAMES: [(&str, Weekday); 7] = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];

    pub fn serialize<S: Serializer>(w: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        let name = NAMES.iter().find(|(_, d)| d == w).map_or("monday", |(n, _)| n);
        s.serialize_str(name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let raw = String::deserialize(d)?;
        let lower = raw.trim().to_ascii_lowercase();
        NAMES
            .iter()
            .find(|(n, _)| *n == lower || n[..3] == *lower)
            .map(|(_, w)| *w)
            .ok_or_else(|| D::Error::custom(format!("unknown weekday {raw:?}; use e.g. \"monday\"")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn ww(weekday: Weekday, s: (i8, i8), e: (i8, i8)) -> WeeklyWindow {
        WeeklyWindow::new(weekday, time(s.0, s.1, 0, 0), time(e.0, e.1, 0, 0), None, None).unwrap()
    }

    #[test]
    fn weekly_window_validation_reports_all_fields() {
        let errs = WeeklyWindow::new(
            Weekday::Monday,
            time(10, 0, 0, 0),
            time(10, 0, 0, 0),
            Some(date(2026, 5, 2)),
            Some(date(2026, 5, 1)),
        )
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["end", "valid_until"]);
        assert!(
            WeeklyWindow::new(
                Weekday::Monday,
                time(9, 0, 0, 0),
                time(9, 1, 0, 0),
                Some(date(2026, 5, 1)),
                Some(date(2026, 5, 1))
            )
            .is_ok()
        );
    }

    #[test]
    fn exception_and_closure_validation() {
        let d = date(2026, 5, 1);
        assert!(AvailabilityException::new(d, d, ExceptionKind::Closed).is_ok());
        let errs = AvailabilityException::new(d, date(2026, 4, 30), ExceptionKind::Hours(vec![])).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["until", "hours"]);
        let errs = AvailabilityException::new(d, d, ExceptionKind::Hours(vec![(time(12, 0, 0, 0), time(9, 0, 0, 0))]))
            .unwrap_err();
        assert_eq!(errs[0].field, "hours");
        assert!(ClinicClosure::new(d, date(2026, 4, 1)).is_err());
        assert!(ClinicClosure::new(d, d).unwrap().covers(d));
    }

    #[test]
    fn same_zone_overlap_detection() {
        let a = vec![ww(Weekday::Monday, (9, 0), (12, 0)), ww(Weekday::Tuesday, (9, 0), (12, 0))];
        let b = vec![ww(Weekday::Monday, (12, 0), (13, 0)), ww(Weekday::Tuesday, (11, 59), (13, 0))];
        assert_eq!(overlapping_windows(&a, &b), Some((1, 1)));
        assert_eq!(overlapping_windows(&a[..1], &b), None);

        // Same times, disjoint validity: no clash.
        let mut early = ww(Weekday::Monday, (9, 0), (12, 0));
        early.valid_until = Some(date(2026, 6, 30));
        let mut late = early.clone();
        late.valid_from = Some(date(2026, 7, 1));
        late.valid_until = None;
        assert_eq!(overlapping_windows(&[early.clone()], &[late.clone()]), None);
        late.valid_from = Some(date(2026, 6, 30));
        assert_eq!(overlapping_windows(&[early], &[late]), Some((0, 0)));
    }

    #[test]
    fn cross_zone_conflict_uses_real_instants() {
        let syd = TimeZone::get("Australia/Sydney").unwrap();
        let bne = TimeZone::get("Australia/Brisbane").unwrap(); // UTC+10, no DST
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        // Sydney 09:00-10:00 Mon vs Brisbane 08:00-09:00 Mon: in winter (both +10) they
        // don't overlap; in Sydney's summer (+11) Sydney 09:00 = Brisbane 08:00 → clash.
        let a = vec![ww(Weekday::Monday, (9, 0), (10, 0))];
        let b = vec![ww(Weekday::Monday, (8, 0), (9, 0))];
        assert_eq!(overlapping_windows(&a, &b), None, "wall clock says fine");
        let c = conflicting_windows_across_zones(&a, &syd, &b, &bne, now).unwrap();
        assert_eq!((c.a_index, c.b_index), (0, 0));
        // First Monday after Sydney springs forward on 2026-10-04.
        assert_eq!(c.a_date, date(2026, 10, 5));
        assert_eq!(c.start, "2026-10-04T22:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(c.end, "2026-10-04T23:00:00Z".parse::<Timestamp>().unwrap());

        // Restrict Sydney's window to winter only: no clash any more.
        let mut winter = a[0].clone();
        winter.valid_until = Some(date(2026, 9, 30));
        assert_eq!(conflicting_windows_across_zones(&[winter], &syd, &b, &bne, now), None);

        // Same zone behaves like the wall-clock check.
        let c = conflicting_windows_across_zones(&a, &syd, &a, &syd, now).unwrap();
        assert_eq!(c.a_date, date(2026, 6, 1));
    }

    #[test]
    fn cross_zone_conflict_across_date_line_of_local_dates() {
        // Kolkata Tuesday 00:30-02:00 (= Monday 19:00-20:30Z) vs London Monday 19:30-21:00
        // (BST = 18:30-20:00Z): different local weekdays, real clash.
        let kol = TimeZone::get("Asia/Kolkata").unwrap();
        let lon = TimeZone::get("Europe/London").unwrap();
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let a = vec![ww(Weekday::Tuesday, (0, 30), (2, 0))];
        let b = vec![ww(Weekday::Monday, (19, 30), (21, 0))];
        let c = conflicting_windows_across_zones(&a, &kol, &b, &lon, now).unwrap();
        assert_eq!(c.a_date, date(2026, 6, 2));
        assert_eq!(c.start, "2026-06-01T19:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(c.end, "2026-06-01T20:00:00Z".parse::<Timestamp>().unwrap());
        // Symmetric.
        assert!(conflicting_windows_across_zones(&b, &lon, &a, &kol, now).is_some());
    }

    #[test]
    fn future_validity_beyond_a_year_is_still_checked() {
        let tz = TimeZone::get("Europe/London").unwrap();
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut a = ww(Weekday::Friday, (9, 0), (10, 0));
        a.valid_from = Some(date(2028, 6, 1));
        let b = ww(Weekday::Friday, (9, 30), (11, 0));
        let c = conflicting_windows_across_zones(&[a], &tz, &[b], &tz, now).unwrap();
        assert_eq!(c.a_date, date(2028, 6, 2));
    }

    #[test]
    fn weekly_window_json_round_trip() {
        let w = ww(Weekday::Thursday, (9, 0), (17, 30));
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(json["weekday"], "thursday");
        assert_eq!(json["start"], "09:00:00");
        let back: WeeklyWindow = serde_json::from_value(json).unwrap();
        assert_eq!(back, w);
        let short: WeeklyWindow = serde_json::from_str(
            r#"{"weekday":"Thu","start":"09:00","end":"17:30","valid_from":null,"valid_until":null}"#,
        )
        .unwrap();
        assert_eq!(short, w);
        assert!(serde_json::from_str::<WeeklyWindow>(r#"{"weekday":"funday","start":"09:00","end":"10:00"}"#).is_err());

        let e = AvailabilityException::new(
            date(2026, 12, 24),
            date(2026, 12, 24),
            ExceptionKind::Hours(vec![(time(9, 0, 0, 0), time(12, 0, 0, 0))]),
        )
        .unwrap();
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"]["kind"], "hours");
        assert_eq!(json["kind"]["hours"][0][1], "12:00:00");
        assert_eq!(serde_json::from_value::<AvailabilityException>(json).unwrap(), e);
    }
}
