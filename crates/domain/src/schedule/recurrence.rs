//! Recurring appointments ("weekly therapy for 10 weeks"): the start instants of a series.
//!
//! Occurrences keep the **wall-clock** time in the clinic's zone: a 10:00 weekly session
//! stays at 10:00 local after the clocks change, so its UTC instant moves by an hour. A
//! local time that falls into a spring-forward gap or a fall-back fold on some date is
//! resolved like availability (gap → transition instant, fold → earlier instant; see
//! [`crate::schedule::local`]).
//!
//! Series are bounded — at most [`MAX_OCCURRENCES`] occurrences and an end date at most
//! [`MAX_SERIES_YEARS`] years after the first — so a mistyped rule cannot create
//! thousands of appointments.

use crate::schedule::local::to_instant;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The most occurrences one series may have (two years of weekly sessions).
pub const MAX_OCCURRENCES: u16 = 104;
/// The largest allowed interval between occurrences, in weeks.
pub const MAX_EVERY_WEEKS: u8 = 12;
/// How far after the first occurrence an `Until` end date may be, in years.
pub const MAX_SERIES_YEARS: i16 = 2;

/// How often a series repeats and when it stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecurrenceRule {
    /// Weeks between occurrences: 1 = weekly, 2 = fortnightly … up to 12.
    pub every_weeks: u8,
    /// When the series ends.
    pub end: RecurrenceEnd,
}

/// When a series ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecurrenceEnd {
    /// After this many occurrences, the first included (1..=104).
    Count(u16),
    /// On this local date (inclusive): no occurrence after it. At most two years after
    /// the first occurrence.
    #[schema(value_type = String, format = Date)]
    Until(Date),
}

/// Why a recurrence rule cannot produce a series. Each message is for the person who
/// filled in the form; [`RecurrenceError::field`] says which field to attach it to.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RecurrenceError {
    /// `every_weeks` outside 1..=12.
    #[error("Repeat every 1 to 12 weeks.")]
    EveryWeeks,
    /// `Count` outside 1..=104.
    #[error("A series has between 1 and 104 appointments.")]
    Count,
    /// The end date is before the first appointment.
    #[error("The end date must not be before the first appointment.")]
    UntilBeforeStart,
    /// The end date is more than two years after the first appointment.
    #[error("A series can run for at most two years.")]
    UntilTooFar,
    /// The end date allows more than 104 occurrences.
    #[error("A series has at most 104 appointments; choose an earlier end date.")]
    TooManyOccurrences,
    /// A date or time could not be represented (only at the far edges of the calendar).
    #[error("The series' dates are out of range.")]
    OutOfRange,
}

impl RecurrenceError {
    /// The form field the error belongs to.
    pub fn field(&self) -> &'static str {
        match self {
            Self::EveryWeeks => "every_weeks",
            Self::Count => "count",
            Self::UntilBeforeStart | Self::UntilTooFar | Self::TooManyOccurrences => "until",
            Self::OutOfRange => "starts_at",
        }
    }
}

impl RecurrenceRule {
    /// The local dates of the series starting on `first`, after checking the rule's
    /// bounds. Does not depend on a time zone.
    pub fn dates(&self, first: Date) -> Result<Vec<Date>, RecurrenceError> {
        if !(1..=MAX_EVERY_WEEKS).contains(&self.every_weeks) {
            return Err(RecurrenceError::EveryWeeks);
        }
        let (count, until) = match self.end {
            RecurrenceEnd::Count(n) => {
                if !(1..=MAX_OCCURRENCES).contains(&n) {
                    return Err(RecurrenceError::Count);
                }
                (usize::from(n), None)
            }
            RecurrenceEnd::Until(until) => {
                if until < first {
                    return Err(RecurrenceError::UntilBeforeStart);
                }
                let limit = first.checked_add(MAX_SERIES_YEARS.years()).map_err(|_| RecurrenceError::OutOfRange)?;
                if until > limit {
                    return Err(RecurrenceError::UntilTooFar);
                }
                (usize::from(MAX_OCCURRENCES) + 1, Some(until))
            }
        };
        let step = i32::from(self.every_weeks) * 7;
        let mut dates = Vec::with_capacity(count.min(usize::from(MAX_OCCURRENCES)));
        for k in 0..count {
            let offset = i32::try_from(k).map_err(|_| RecurrenceError::OutOfRange)? * step;
            let d = first.checked_add(offset.days()).map_err(|_| RecurrenceError::OutOfRange)?;
            if until.is_some_and(|u| d > u) {
                break;
            }
            dates.push(d);
        }
        if dates.len() > usize::from(MAX_OCCURRENCES) {
            return Err(RecurrenceError::TooManyOccurrences);
        }
        Ok(dates)
    }
}

/// The start instants of a series whose first appointment is at local `first_local` in
/// `tz`, repeating by `rule` at the same wall-clock time. The first element is always
/// `first_local` itself. Checking that each occurrence is bookable is the caller's job
/// (the services layer books what it can and reports the rest).
pub fn occurrences(
    first_local: DateTime,
    tz: &TimeZone,
    rule: RecurrenceRule,
) -> Result<Vec<Timestamp>, RecurrenceError> {
    let time = first_local.time();
    rule.dates(first_local.date())?
        .into_iter()
        .map(|d| to_instant(tz, d.to_datetime(time)).map_err(|_| RecurrenceError::OutOfRange))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn weekly(n: u16) -> RecurrenceRule {
        RecurrenceRule { every_weeks: 1, end: RecurrenceEnd::Count(n) }
    }

    #[test]
    fn keeps_wall_clock_across_new_york_spring_forward() {
        let ny = tz("America/New_York");
        let got = occurrences(date(2026, 3, 1).at(10, 0, 0, 0), &ny, weekly(3)).unwrap();
        let want: Vec<Timestamp> = ["2026-03-01T15:00:00Z", "2026-03-08T14:00:00Z", "2026-03-15T14:00:00Z"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(got, want);
        for t in &got {
            assert_eq!(t.to_zoned(ny.clone()).time(), jiff::civil::time(10, 0, 0, 0));
        }
    }

    #[test]
    fn keeps_wall_clock_across_sydney_and_london_changes() {
        let syd = tz("Australia/Sydney");
        let got = occurrences(date(2026, 3, 29).at(10, 0, 0, 0), &syd, weekly(2)).unwrap();
        // AEDT (+11) then AEST (+10) after 2026-04-05.
        assert_eq!(got[0], "2026-03-28T23:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(got[1], "2026-04-05T00:00:00Z".parse::<Timestamp>().unwrap());

        let lon = tz("Europe/London");
        let got = occurrences(date(2026, 10, 18).at(10, 0, 0, 0), &lon, weekly(2)).unwrap();
        assert_eq!(got[0], "2026-10-18T09:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(got[1], "2026-10-25T10:00:00Z".parse::<Timestamp>().unwrap());

        let kol = tz("Asia/Kolkata");
        let got = occurrences(date(2026, 3, 1).at(10, 0, 0, 0), &kol, weekly(52)).unwrap();
        assert!(got.windows(2).all(|w| w[1].duration_since(w[0]) == jiff::SignedDuration::from_hours(24 * 7)));
    }

    #[test]
    fn gap_and_fold_occurrences() {
        let ny = tz("America/New_York");
        // A 02:30 series hits the spring-forward gap on 2026-03-08: transition instant.
        let got = occurrences(date(2026, 3, 1).at(2, 30, 0, 0), &ny, weekly(2)).unwrap();
        assert_eq!(got[1], "2026-03-08T07:00:00Z".parse::<Timestamp>().unwrap());
        // A 01:30 series hits the fold on 2026-11-01: earlier (EDT) instant.
        let got = occurrences(date(2026, 10, 25).at(1, 30, 0, 0), &ny, weekly(2)).unwrap();
        assert_eq!(got[1], "2026-11-01T05:30:00Z".parse::<Timestamp>().unwrap());
    }

    #[test]
    fn every_n_weeks_and_until() {
        let first = date(2026, 1, 5);
        let r = RecurrenceRule { every_weeks: 2, end: RecurrenceEnd::Until(date(2026, 2, 16)) };
        assert_eq!(r.dates(first).unwrap(), [date(2026, 1, 5), date(2026, 1, 19), date(2026, 2, 2), date(2026, 2, 16)]);
        let r = RecurrenceRule { every_weeks: 2, end: RecurrenceEnd::Until(date(2026, 2, 15)) };
        assert_eq!(r.dates(first).unwrap().len(), 3);
        let r = RecurrenceRule { every_weeks: 1, end: RecurrenceEnd::Until(first) };
        assert_eq!(r.dates(first).unwrap(), [first]);
        assert_eq!(weekly(10).dates(first).unwrap().len(), 10);
        assert_eq!(weekly(104).dates(first).unwrap().len(), 104);
    }

    #[test]
    fn bounds_are_enforced() {
        let first = date(2026, 1, 5);
        let e = |r: RecurrenceRule| r.dates(first).unwrap_err();
        assert_eq!(e(RecurrenceRule { every_weeks: 0, end: RecurrenceEnd::Count(3) }), RecurrenceError::EveryWeeks);
        assert_eq!(e(RecurrenceRule { every_weeks: 13, end: RecurrenceEnd::Count(3) }), RecurrenceError::EveryWeeks);
        assert_eq!(e(weekly(0)), RecurrenceError::Count);
        assert_eq!(e(weekly(105)), RecurrenceError::Count);
        let until = |d| RecurrenceRule { every_weeks: 1, end: RecurrenceEnd::Until(d) };
        assert_eq!(e(until(date(2026, 1, 4))), RecurrenceError::UntilBeforeStart);
        assert_eq!(e(until(date(2028, 1, 6))), RecurrenceError::UntilTooFar);
        // Exactly two years weekly would be 105 occurrences.
        assert_eq!(e(until(date(2028, 1, 5))), RecurrenceError::TooManyOccurrences);
        assert_eq!(until(date(2027, 12, 31)).dates(first).unwrap().len(), 104);
        let fortnightly = RecurrenceRule { every_weeks: 2, end: RecurrenceEnd::Until(date(2028, 1, 5)) };
        assert_eq!(fortnightly.dates(first).unwrap().len(), 53);
        assert_eq!(RecurrenceError::UntilTooFar.field(), "until");
    }

    #[test]
    fn rule_json_shape() {
        let r = RecurrenceRule { every_weeks: 1, end: RecurrenceEnd::Count(10) };
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"every_weeks":1,"end":{"count":10}}"#);
        let r = RecurrenceRule { every_weeks: 2, end: RecurrenceEnd::Until(date(2026, 6, 30)) };
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"every_weeks":2,"end":{"until":"2026-06-30"}}"#);
    }
}
