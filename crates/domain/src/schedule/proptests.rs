//! Property tests for the slot engine and local-time resolution, concentrated around the
//! 2026 DST transitions of Sydney, New York and London, with Kolkata (no DST) as control.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::schedule::availability::{AvailabilityException, ClinicClosure, ExceptionKind, WeeklyWindow};
use crate::schedule::local::{local_date, to_instant};
use crate::schedule::slots::*;
use jiff::civil::{Date, Time, Weekday, date, time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};
use proptest::prelude::*;

/// Zones under test, each with the local dates of its 2026 transitions.
const ZONES: [(&str, [Date; 2]); 4] = [
    ("Australia/Sydney", [date(2026, 4, 5), date(2026, 10, 4)]),
    ("America/New_York", [date(2026, 3, 8), date(2026, 11, 1)]),
    ("Europe/London", [date(2026, 3, 29), date(2026, 10, 25)]),
    ("Asia/Kolkata", [date(2026, 3, 8), date(2026, 10, 25)]), // control: nothing happens
];

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

fn quarter_hour(q: u16) -> Time {
    // q in 0..96: 00:00, 00:15, … 23:45; 96 → 23:59:59 (end of day).
    if q >= 96 {
        return time(23, 59, 59, 0);
    }
    let h = i8::try_from(q / 4).unwrap_or(0);
    let m = i8::try_from((q % 4) * 15).unwrap_or(0);
    time(h, m, 0, 0)
}

prop_compose! {
    fn weekly_window()(day in 0usize..7, start in prop_oneof![0u16..95, 0u16..16], len in 1u16..40, valid in proptest::option::weighted(0.25, (-20i32..20, 0i32..30)))
        -> (usize, u16, u16, Option<(i32, i32)>) {
        (day, start, len, valid)
    }
}

#[derive(Clone, Debug)]
struct Case {
    input: SlotInput,
}

/// Turns the raw generated numbers into a case; one argument per generated part.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn build_case(
    zone_ix: usize,
    transition_ix: usize,
    range_offset: i32,
    range_len: i32,
    windows: Vec<(usize, u16, u16, Option<(i32, i32)>)>,
    exceptions: Vec<(i32, i32, Option<Vec<(u16, u16)>>)>,
    closures: Vec<(i32, i32)>,
    busy: Vec<(i64, i64)>,
    rules: (i64, i64, i64, i64, i64, i64),
    now_offset_mins: i64,
) -> Case {
    let (zone, transitions) = ZONES[zone_ix];
    let tz = TimeZone::get(zone).unwrap();
    let anchor = transitions[transition_ix];
    let day = |n: i32| anchor.checked_add(n.days()).unwrap();
    let from = day(range_offset);
    let until = day(range_offset + range_len);
    let weekly = windows
        .into_iter()
        .map(|(d, s, len, valid)| WeeklyWindow {
            weekday: WEEKDAYS[d],
            start: quarter_hour(s),
            end: quarter_hour((s + len).min(96)),
            valid_from: valid.map(|(f, _)| day(f)),
            valid_until: valid.map(|(f, l)| day(f + l)),
        })
        .collect();
    let exceptions = exceptions
        .into_iter()
        .map(|(f, l, hours)| AvailabilityException {
            from: day(f),
            until: day(f + l),
            kind: match hours {
                None => ExceptionKind::Closed,
                Some(h) => ExceptionKind::Hours(
                    h.into_iter().map(|(s, len)| (quarter_hour(s), quarter_hour((s + len).min(96)))).collect(),
                ),
            },
        })
        .collect();
    let closures = closures.into_iter().map(|(f, l)| ClinicClosure { from: day(f), until: day(f + l) }).collect();
    let base = anchor.to_datetime(Time::midnight()).to_zoned(tz.clone()).unwrap().timestamp();
    let busy = busy
        .into_iter()
        .map(|(start, len)| {
            let s = base.checked_add(SignedDuration::from_mins(start)).unwrap();
            Busy { start: s, end: s.checked_add(SignedDuration::from_mins(len)).unwrap() }
        })
        .collect();
    let (duration, step, before, after, notice, horizon) = rules;
    let rules = ServiceRules {
        duration: SignedDuration::from_mins(duration),
        step: SignedDuration::from_mins(step),
        buffer_before: SignedDuration::from_mins(before),
        buffer_after: SignedDuration::from_mins(after),
        min_notice: SignedDuration::from_mins(notice),
        booking_horizon: SignedDuration::from_mins(horizon),
    };
    let now = base.checked_add(SignedDuration::from_mins(now_offset_mins)).unwrap();
    Case { input: SlotInput { time_zone: tz, weekly, exceptions, closures, busy, rules, from, until, now } }
}

fn case() -> impl Strategy<Value = Case> {
    (
        0usize..4,
        0usize..2,
        -6i32..3,
        0i32..8,
        proptest::collection::vec(weekly_window(), 0..12),
        proptest::collection::vec(
            (-6i32..6, 0i32..3, proptest::option::of(proptest::collection::vec((0u16..95, 1u16..24), 0..3))),
            0..3,
        ),
        proptest::collection::vec((-6i32..6, 0i32..2), 0..2),
        proptest::collection::vec((-8 * 1440i64..10 * 1440, 0i64..240), 0..40),
        (
            prop_oneof![Just(15i64), Just(30), Just(45), Just(50), Just(60), 1i64..180],
            prop_oneof![Just(5i64), Just(10), Just(15), Just(30), 1i64..90],
            0i64..45,
            0i64..45,
            0i64..(3 * 1440),
            0i64..(20 * 1440),
        ),
        -10 * 1440i64..2 * 1440,
    )
        .prop_map(|(z, t, ro, rl, w, e, c, b, r, n)| build_case(z, t, ro, rl, w, e, c, b, r, n))
}

/// A deliberately naive reference: every date in the requested range, every grid point of
/// every expanded stretch, every busy interval checked linearly.
fn reference(input: &SlotInput) -> Vec<Slot> {
    let r = input.rules;
    let mut out = Vec::new();
    if r.duration <= SignedDuration::ZERO || r.step <= SignedDuration::ZERO || input.until < input.from {
        return out;
    }
    let earliest = input.now.checked_add(r.min_notice.max(SignedDuration::ZERO)).unwrap();
    let latest = input.now.checked_add(r.booking_horizon).unwrap();
    let mut d = input.from;
    while d <= input.until {
        for (ws, we) in expand_windows(input, d) {
            let mut s = ws;
            while s.checked_add(r.duration).unwrap() <= we {
                let (os, oe) = occupied_range(s, s.checked_add(r.duration).unwrap(), &r);
                let free = input.busy.iter().all(|b| !(b.start < b.end && b.start < oe && os < b.end));
                if free && earliest <= s && s <= latest {
                    out.push(Slot { start: s, end: s.checked_add(r.duration).unwrap() });
                }
                s = s.checked_add(r.step).unwrap();
            }
        }
        d = d.tomorrow().unwrap();
    }
    out
}

fn shuffled(input: &SlotInput, rot: usize) -> SlotInput {
    let mut i = input.clone();
    i.busy.reverse();
    i.weekly.reverse();
    i.exceptions.reverse();
    i.closures.reverse();
    if !i.busy.is_empty() {
        let k = rot % i.busy.len();
        i.busy.rotate_left(k);
    }
    if !i.weekly.is_empty() {
        let k = rot % i.weekly.len();
        i.weekly.rotate_left(k);
    }
    i
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn slots_respect_every_rule(case in case(), rot in 0usize..50) {
        let input = &case.input;
        let r = input.rules;
        let slots = free_slots(input);

        // Sorted, strictly increasing, no duplicates, correct length.
        prop_assert!(slots.windows(2).all(|w| w[0].start < w[1].start));
        for s in &slots {
            prop_assert_eq!(s.end.duration_since(s.start), r.duration);
        }

        let earliest = input.now.checked_add(r.min_notice).unwrap();
        let latest = input.now.checked_add(r.booking_horizon).unwrap();
        for s in &slots {
            // Notice and horizon.
            prop_assert!(s.start >= earliest && s.start >= input.now, "{s:?} before {earliest}");
            prop_assert!(s.start <= latest, "{s:?} after {latest}");
            // Occupied range never overlaps busy time (half-open; empty busy intervals
            // occupy nothing).
            let (os, oe) = occupied_range(s.start, s.end, &r);
            for b in &input.busy {
                prop_assert!(!(b.start < b.end && b.start < oe && os < b.end), "{s:?} overlaps {b:?}");
            }
            // Inside an expanded window of its local date, which is in the requested range.
            let d = local_date(&input.time_zone, s.start);
            prop_assert!(input.from <= d && d <= input.until);
            let inside = expand_windows(input, d).iter().any(|&(ws, we)| ws <= s.start && s.end <= we);
            prop_assert!(inside, "{s:?} outside the windows of {d}");
            // What is offered is bookable, on the grid.
            prop_assert_eq!(slot_is_bookable(input, s.start), Ok(*s));
            prop_assert!(on_step_grid(input, s.start));
        }

        // Exactly the naive reference: nothing missing, nothing extra.
        prop_assert_eq!(&slots, &reference(input));

        // Deterministic and independent of input order.
        prop_assert_eq!(&slots, &free_slots(input));
        prop_assert_eq!(&slots, &free_slots(&shuffled(input, rot)));

        // Helpers agree with the full search.
        prop_assert_eq!(first_free_slot(input), slots.first().copied());
        let mut dates: Vec<Date> = slots.iter().map(|s| local_date(&input.time_zone, s.start)).collect();
        dates.dedup();
        prop_assert_eq!(dates_with_slots(input), dates);
    }

    #[test]
    fn bookability_agrees_with_the_rules(case in case(), probe_mins in -2i64 * 1440..8 * 1440) {
        let input = &case.input;
        let r = input.rules;
        let base = input.from.to_datetime(Time::midnight()).to_zoned(input.time_zone.clone()).unwrap().timestamp();
        let start = base.checked_add(SignedDuration::from_mins(probe_mins)).unwrap();
        match slot_is_bookable(input, start) {
            Ok(slot) => {
                prop_assert_eq!(slot.start, start);
                prop_assert!(start >= input.now.checked_add(r.min_notice).unwrap());
                prop_assert!(start <= input.now.checked_add(r.booking_horizon).unwrap());
                let (os, oe) = occupied_range(slot.start, slot.end, &r);
                prop_assert!(input.busy.iter().all(|b| !(b.start < b.end && b.start < oe && os < b.end)));
                let d = local_date(&input.time_zone, start);
                let inside = [d.yesterday().unwrap(), d, d.tomorrow().unwrap()]
                    .into_iter()
                    .flat_map(|d| expand_windows(input, d))
                    .any(|(ws, we)| ws <= slot.start && slot.end <= we);
                prop_assert!(inside);
                // An on-grid bookable start inside the searched dates is offered.
                if on_step_grid(input, start) && input.from <= d && d <= input.until {
                    prop_assert!(free_slots(input).contains(&slot));
                }
            }
            Err(SlotRejection::Conflict { busy }) => {
                let end = start.checked_add(r.duration).unwrap();
                let (os, oe) = occupied_range(start, end, &r);
                prop_assert!(input.busy.contains(&busy));
                prop_assert!(busy.start < oe && os < busy.end);
            }
            Err(_) => {
                prop_assert!(!free_slots(input).iter().any(|s| s.start == start));
            }
        }
    }

    #[test]
    fn local_times_resolve_by_the_gap_and_fold_rules(
        zone_ix in 0usize..4,
        transition_ix in 0usize..2,
        day_offset in prop_oneof![Just(0i32), -1i32..2],
        // Biased to 01:00–04:00, where all four zones' transitions happen.
        minute in prop_oneof![0i32..1440, 60i32..240],
    ) {
        let (zone, transitions) = ZONES[zone_ix];
        let tz = TimeZone::get(zone).unwrap();
        let d = transitions[transition_ix].checked_add(day_offset.days()).unwrap();
        let dt = d.to_datetime(Time::midnight()).checked_add(i64::from(minute).minutes()).unwrap();
        let got = to_instant(&tz, dt).unwrap();
        match tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { .. } => {
                prop_assert_eq!(tz.to_datetime(got), dt);
            }
            AmbiguousOffset::Fold { .. } => {
                // The earlier of the two: the wall clock showed dt, and an hour earlier it
                // did not show dt yet.
                prop_assert_eq!(tz.to_datetime(got), dt);
                let later = tz.to_ambiguous_timestamp(dt).later().unwrap();
                prop_assert!(got < later);
            }
            AmbiguousOffset::Gap { .. } => {
                // The first existing instant after the gap: the local clock jumps over dt
                // exactly at `got`.
                let just_before = got.checked_sub(SignedDuration::from_nanos(1)).unwrap();
                prop_assert!(tz.to_datetime(got) > dt);
                prop_assert!(tz.to_datetime(just_before) < dt);
            }
        }
    }

    #[test]
    fn to_instant_is_monotone(
        zone_ix in 0usize..4,
        transition_ix in 0usize..2,
        a in prop_oneof![0i32..1440, 60i32..240],
        b in prop_oneof![0i32..1440, 60i32..240],
    ) {
        let (zone, transitions) = ZONES[zone_ix];
        let tz = TimeZone::get(zone).unwrap();
        let d = transitions[transition_ix].to_datetime(Time::midnight());
        let (lo, hi) = (a.min(b), a.max(b));
        let x = to_instant(&tz, d.checked_add(i64::from(lo).minutes()).unwrap()).unwrap();
        let y = to_instant(&tz, d.checked_add(i64::from(hi).minutes()).unwrap()).unwrap();
        prop_assert!(x <= y);
    }
}

#[test]
fn busy_heavy_day_matches_reference() {
    // Deterministic stress: a busy day with many small overlapping blocks.
    let mut c =
        build_case(1, 0, 0, 0, vec![(6, 32, 40, None)], vec![], vec![], vec![], (20, 5, 5, 5, 0, 20_000), -1440);
    let base: Timestamp = "2026-03-08T05:00:00Z".parse().unwrap();
    c.input.busy = (0..60)
        .map(|k| {
            let s = base.checked_add(SignedDuration::from_mins(k * 7)).unwrap();
            Busy { start: s, end: s.checked_add(SignedDuration::from_mins(3 + k % 5)).unwrap() }
        })
        .collect();
    assert_eq!(free_slots(&c.input), reference(&c.input));
}
