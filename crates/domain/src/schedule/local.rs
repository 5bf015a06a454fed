//! Turning a clinic's wall-clock time into an instant, with one fixed rule for the two
//! hours a year when that is ambiguous.
//!
//! Availability and recurring appointments are written in local time ("Tuesdays 09:00"),
//! but bookings are stored as instants. On the day the clocks spring forward some local
//! times do not exist (a *gap*); on the day they fall back some exist twice (a *fold*).
//! Praxis resolves them the same way everywhere:
//!
//! * **gap**: the first instant that exists after the gap, i.e. the transition instant
//!   itself. A window written as 02:30 in New York on 2026-03-08 opens at 03:00 EDT. This
//!   is deliberately *not* jiff's "compatible" strategy, which would shift 02:30 by the
//!   gap's length to 03:30 and silently lose half an hour of availability.
//! * **fold**: the earlier of the two instants (the first time the wall clock shows it).

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};

/// The instant at which the wall clock in `tz` shows `dt`, resolving gaps to the
/// transition instant and folds to the earlier instant (see the module docs for why).
///
/// Fails only for datetimes at the very edge of jiff's supported range.
pub fn to_instant(tz: &TimeZone, dt: DateTime) -> Result<Timestamp, jiff::Error> {
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt),
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt),
        AmbiguousOffset::Gap { before, after } => {
            // Read with the offset in force *after* the gap, `dt` names an instant just
            // before the transition; the next transition from there is the first instant
            // that exists after the gap.
            let just_before = after.to_timestamp(dt)?;
            match tz.following(just_before).next() {
                Some(transition) => Ok(transition.timestamp()),
                // Unreachable with real tz data; fall back to the pre-gap reading.
                None => before.to_timestamp(dt),
            }
        }
    }
}

/// [`to_instant`] for a local date and time of day.
pub fn date_time_to_instant(tz: &TimeZone, date: Date, time: Time) -> Result<Timestamp, jiff::Error> {
    to_instant(tz, date.to_datetime(time))
}

/// The local calendar date in `tz` at instant `ts` (for grouping slots by day).
pub fn local_date(tz: &TimeZone, ts: Timestamp) -> Date {
    tz.to_datetime(ts).date()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn gap_resolves_to_transition_instant_new_york() {
        let ny = tz("America/New_York");
        for (h, m) in [(2, 0), (2, 30), (2, 59)] {
            let got = to_instant(&ny, date(2026, 3, 8).at(h, m, 0, 0)).unwrap();
            assert_eq!(got, ts("2026-03-08T07:00:00Z"), "{h}:{m}");
        }
        // Just outside the gap on both sides.
        assert_eq!(to_instant(&ny, date(2026, 3, 8).at(1, 59, 0, 0)).unwrap(), ts("2026-03-08T06:59:00Z"));
        assert_eq!(to_instant(&ny, date(2026, 3, 8).at(3, 0, 0, 0)).unwrap(), ts("2026-03-08T07:00:00Z"));
    }

    #[test]
    fn fold_resolves_to_earlier_instant_new_york() {
        let ny = tz("America/New_York");
        assert_eq!(to_instant(&ny, date(2026, 11, 1).at(1, 0, 0, 0)).unwrap(), ts("2026-11-01T05:00:00Z"));
        assert_eq!(to_instant(&ny, date(2026, 11, 1).at(1, 30, 0, 0)).unwrap(), ts("2026-11-01T05:30:00Z"));
        assert_eq!(to_instant(&ny, date(2026, 11, 1).at(2, 0, 0, 0)).unwrap(), ts("2026-11-01T07:00:00Z"));
    }

    #[test]
    fn gap_and_fold_sydney_and_london() {
        let syd = tz("Australia/Sydney");
        // Spring forward 2026-10-04 02:00 AEST -> 03:00 AEDT (16:00Z on the 3rd).
        assert_eq!(to_instant(&syd, date(2026, 10, 4).at(2, 15, 0, 0)).unwrap(), ts("2026-10-03T16:00:00Z"));
        // Fall back 2026-04-05 03:00 AEDT -> 02:00 AEST; 02:30 happens twice, earlier is AEDT.
        assert_eq!(to_instant(&syd, date(2026, 4, 5).at(2, 30, 0, 0)).unwrap(), ts("2026-04-04T15:30:00Z"));

        let lon = tz("Europe/London");
        assert_eq!(to_instant(&lon, date(2026, 3, 29).at(1, 30, 0, 0)).unwrap(), ts("2026-03-29T01:00:00Z"));
        assert_eq!(to_instant(&lon, date(2026, 10, 25).at(1, 30, 0, 0)).unwrap(), ts("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn no_dst_zone_is_plain_offset() {
        let kol = tz("Asia/Kolkata");
        assert_eq!(to_instant(&kol, date(2026, 3, 8).at(9, 0, 0, 0)).unwrap(), ts("2026-03-08T03:30:00Z"));
        assert_eq!(local_date(&kol, ts("2026-03-08T20:00:00Z")), date(2026, 3, 9));
    }
}
