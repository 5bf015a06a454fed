#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use jiff::civil::{Weekday, date, time};

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

fn win(weekday: Weekday, s: (i8, i8), e: (i8, i8)) -> WeeklyWindow {
    WeeklyWindow::new(weekday, time(s.0, s.1, 0, 0), time(e.0, e.1, 0, 0), None, None).unwrap()
}

fn every_day(s: (i8, i8), e: (i8, i8)) -> Vec<WeeklyWindow> {
    [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ]
    .into_iter()
    .map(|d| win(d, s, e))
    .collect()
}

fn rules(duration: i64, step: i64) -> ServiceRules {
    ServiceRules { step: mins(step), ..ServiceRules::simple(mins(duration)) }
}

fn input(zone: &str, weekly: Vec<WeeklyWindow>, from: Date, until: Date, now: &str, rules: ServiceRules) -> SlotInput {
    SlotInput {
        time_zone: tz(zone),
        weekly,
        exceptions: vec![],
        closures: vec![],
        busy: vec![],
        rules,
        from,
        until,
        now: t(now),
    }
}

fn starts(slots: &[Slot]) -> Vec<String> {
    slots.iter().map(|s| s.start.to_string()).collect()
}

/// A Monday in Kolkata (UTC+05:30, no DST).
const MON: Date = date(2026, 5, 4);

fn kolkata_morning() -> SlotInput {
    input("Asia/Kolkata", vec![win(Weekday::Monday, (9, 0), (12, 0))], MON, MON, "2026-05-01T00:00:00Z", rules(30, 30))
}

#[test]
fn plain_day_in_a_zone_without_dst() {
    let slots = free_slots(&kolkata_morning());
    assert_eq!(
        starts(&slots),
        [
            "2026-05-04T03:30:00Z",
            "2026-05-04T04:00:00Z",
            "2026-05-04T04:30:00Z",
            "2026-05-04T05:00:00Z",
            "2026-05-04T05:30:00Z",
            "2026-05-04T06:00:00Z"
        ]
    );
    assert!(slots.iter().all(|s| s.end.duration_since(s.start) == mins(30)));
    // Step finer than duration.
    let mut i = kolkata_morning();
    i.rules.step = mins(15);
    assert_eq!(free_slots(&i).len(), 11);
    // Other weekdays have no windows.
    i.from = date(2026, 5, 5);
    i.until = date(2026, 5, 10);
    assert!(free_slots(&i).is_empty());
}

#[test]
fn busy_time_and_buffers() {
    let mut i = kolkata_morning();
    // Existing appointment 10:00–10:30 local (04:30–05:00Z), already including its buffers.
    i.busy = vec![Busy { start: t("2026-05-04T04:30:00Z"), end: t("2026-05-04T05:00:00Z") }];
    assert_eq!(
        starts(&free_slots(&i)),
        [
            "2026-05-04T03:30:00Z",
            "2026-05-04T04:00:00Z", // ends exactly when the busy time starts: fine
            "2026-05-04T05:00:00Z", // starts exactly when it ends: fine
            "2026-05-04T05:30:00Z",
            "2026-05-04T06:00:00Z"
        ]
    );
    // A 10-minute buffer after the new appointment pushes 09:30 out; a 10-minute buffer
    // before pushes 10:30 out; the engine then jumps to the next grid point that fits.
    i.rules.buffer_after = mins(10);
    i.rules.buffer_before = mins(10);
    i.rules.step = mins(15);
    assert_eq!(
        starts(&free_slots(&i)),
        [
            "2026-05-04T03:30:00Z",
            "2026-05-04T03:45:00Z",
            "2026-05-04T05:15:00Z",
            "2026-05-04T05:30:00Z",
            "2026-05-04T05:45:00Z",
            "2026-05-04T06:00:00Z"
        ]
    );
    // The occupied range booking would store for the first slot.
    let s = free_slots(&i)[0];
    assert_eq!(occupied_range(s.start, s.end, &i.rules), (t("2026-05-04T03:20:00Z"), t("2026-05-04T04:10:00Z")));
}

#[test]
fn overlapping_and_unsorted_busy_intervals() {
    let mut i = kolkata_morning();
    i.busy = vec![
        Busy { start: t("2026-05-04T05:10:00Z"), end: t("2026-05-04T05:20:00Z") },
        Busy { start: t("2026-05-04T04:10:00Z"), end: t("2026-05-04T04:40:00Z") },
        Busy { start: t("2026-05-04T04:30:00Z"), end: t("2026-05-04T05:15:00Z") },
        Busy { start: t("2026-05-04T06:00:00Z"), end: t("2026-05-04T06:00:00Z") }, // empty: ignored
    ];
    assert_eq!(starts(&free_slots(&i)), ["2026-05-04T03:30:00Z", "2026-05-04T05:30:00Z", "2026-05-04T06:00:00Z"]);
}

#[test]
fn minimum_notice_and_horizon() {
    let mut i = kolkata_morning();
    i.now = t("2026-05-04T03:40:00Z"); // 09:10 local
    i.rules.min_notice = mins(60); // earliest 10:10 local = 04:40Z
    i.rules.booking_horizon = mins(90); // latest 10:40 local = 05:10Z
    assert_eq!(starts(&free_slots(&i)), ["2026-05-04T05:00:00Z"]);
    assert_eq!(slot_is_bookable(&i, t("2026-05-04T03:30:00Z")), Err(SlotRejection::InPast));
    assert_eq!(
        slot_is_bookable(&i, t("2026-05-04T04:30:00Z")),
        Err(SlotRejection::TooSoon { earliest: t("2026-05-04T04:40:00Z") })
    );
    assert_eq!(
        slot_is_bookable(&i, t("2026-05-04T05:30:00Z")),
        Err(SlotRejection::TooFarAhead { latest: t("2026-05-04T05:10:00Z") })
    );
    // A start exactly at now + notice and exactly at now + horizon is allowed.
    i.rules.step = mins(10);
    let got = starts(&free_slots(&i));
    assert_eq!(got.first().map(String::as_str), Some("2026-05-04T04:40:00Z"));
    assert_eq!(got.last().map(String::as_str), Some("2026-05-04T05:10:00Z"));
}

#[test]
fn closures_and_exceptions() {
    let week_from = date(2026, 5, 4);
    let week_until = date(2026, 5, 10);
    let mut i =
        input("Asia/Kolkata", every_day((9, 0), (10, 0)), week_from, week_until, "2026-05-01T00:00:00Z", rules(60, 60));
    assert_eq!(dates_with_slots(&i).len(), 7);
    i.closures = vec![ClinicClosure::new(date(2026, 5, 5), date(2026, 5, 6)).unwrap()];
    i.exceptions = vec![
        AvailabilityException::new(date(2026, 5, 8), date(2026, 5, 8), ExceptionKind::Closed).unwrap(),
        // Replacement hours on Thursday (and Friday, but Friday's Closed wins).
        AvailabilityException::new(
            date(2026, 5, 7),
            date(2026, 5, 8),
            ExceptionKind::Hours(vec![(time(14, 0, 0, 0), time(15, 0, 0, 0)), (time(16, 0, 0, 0), time(17, 0, 0, 0))]),
        )
        .unwrap(),
        // A closure on a day already closed by the clinic changes nothing.
        AvailabilityException::new(date(2026, 5, 6), date(2026, 5, 6), ExceptionKind::Closed).unwrap(),
    ];
    assert_eq!(dates_with_slots(&i), [date(2026, 5, 4), date(2026, 5, 7), date(2026, 5, 9), date(2026, 5, 10)]);
    let thursday: Vec<Slot> =
        free_slots(&i).into_iter().filter(|s| local_date(&i.time_zone, s.start) == date(2026, 5, 7)).collect();
    assert_eq!(starts(&thursday), ["2026-05-07T08:30:00Z", "2026-05-07T10:30:00Z"]);
    assert_eq!(
        expand_windows(&i, date(2026, 5, 7)),
        [
            (t("2026-05-07T08:30:00Z"), t("2026-05-07T09:30:00Z")),
            (t("2026-05-07T10:30:00Z"), t("2026-05-07T11:30:00Z"))
        ]
    );
    assert!(expand_windows(&i, date(2026, 5, 5)).is_empty());
    assert_eq!(slot_is_bookable(&i, t("2026-05-05T03:30:00Z")), Err(SlotRejection::OutsideAvailability));
}

#[test]
fn window_validity_dates() {
    let mut w = win(Weekday::Monday, (9, 0), (10, 0));
    w.valid_from = Some(date(2026, 5, 11));
    w.valid_until = Some(date(2026, 5, 18));
    let i = input("Asia/Kolkata", vec![w], date(2026, 5, 1), date(2026, 5, 31), "2026-05-01T00:00:00Z", rules(60, 60));
    assert_eq!(dates_with_slots(&i), [date(2026, 5, 11), date(2026, 5, 18)]);
}

#[test]
fn overlapping_windows_are_merged() {
    let i = input(
        "Asia/Kolkata",
        vec![
            win(Weekday::Monday, (11, 0), (13, 0)),
            win(Weekday::Monday, (9, 0), (12, 0)),
            win(Weekday::Monday, (13, 0), (14, 0)),
        ],
        MON,
        MON,
        "2026-05-01T00:00:00Z",
        rules(60, 60),
    );
    assert_eq!(expand_windows(&i, MON), [(t("2026-05-04T03:30:00Z"), t("2026-05-04T08:30:00Z"))]);
    assert_eq!(free_slots(&i).len(), 5);
}

#[test]
fn empty_or_inverted_inputs_yield_nothing() {
    let mut i = kolkata_morning();
    i.until = date(2026, 5, 3);
    assert!(free_slots(&i).is_empty());
    let mut i = kolkata_morning();
    i.rules.duration = SignedDuration::ZERO;
    assert!(free_slots(&i).is_empty());
    assert_eq!(slot_is_bookable(&i, t("2026-05-04T03:30:00Z")), Err(SlotRejection::InvalidRules));
    assert!(!on_step_grid(&i, t("2026-05-04T03:30:00Z")));
    let mut i = kolkata_morning();
    i.rules.step = mins(-5);
    assert!(free_slots(&i).is_empty());
    let mut i = kolkata_morning();
    i.rules.duration = mins(181);
    assert!(free_slots(&i).is_empty());
    // A window whose end is not after its start (bypassing the constructor) is ignored.
    let mut i = kolkata_morning();
    i.weekly[0].end = i.weekly[0].start;
    assert!(free_slots(&i).is_empty());
    // Negative buffers and notice count as zero.
    let mut i = kolkata_morning();
    i.rules.buffer_before = mins(-30);
    i.rules.min_notice = mins(-30);
    assert_eq!(free_slots(&i).len(), 6);
}

#[test]
fn service_rules_validation() {
    assert!(rules(30, 15).validate().is_ok());
    let bad = ServiceRules {
        duration: SignedDuration::ZERO,
        buffer_before: mins(-1),
        buffer_after: mins(0),
        min_notice: mins(-1),
        booking_horizon: mins(-1),
        step: SignedDuration::ZERO,
    };
    let fields: Vec<String> = bad.validate().unwrap_err().into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["duration", "step", "buffer_before", "min_notice", "booking_horizon"]);
}

#[test]
fn bookability_reasons_and_off_grid_starts() {
    let mut i = kolkata_morning();
    i.busy = vec![
        Busy { start: t("2026-05-04T05:00:00Z"), end: t("2026-05-04T05:30:00Z") },
        Busy { start: t("2026-05-04T04:50:00Z"), end: t("2026-05-04T05:10:00Z") },
    ];
    // Off-grid but inside the window and free: allowed, and not on the grid.
    let off = t("2026-05-04T03:35:00Z");
    assert_eq!(slot_is_bookable(&i, off), Ok(Slot { start: off, end: t("2026-05-04T04:05:00Z") }));
    assert!(!on_step_grid(&i, off));
    assert!(on_step_grid(&i, t("2026-05-04T04:00:00Z")));
    // Before the window opens / running past its end.
    assert_eq!(slot_is_bookable(&i, t("2026-05-04T03:29:00Z")), Err(SlotRejection::OutsideAvailability));
    assert_eq!(slot_is_bookable(&i, t("2026-05-04T06:01:00Z")), Err(SlotRejection::OutsideAvailability));
    assert!(slot_is_bookable(&i, t("2026-05-04T06:00:00Z")).is_ok());
    // Conflicts report the earliest overlapping busy interval, whatever the input order.
    let err = slot_is_bookable(&i, t("2026-05-04T04:45:00Z")).unwrap_err();
    assert_eq!(err, SlotRejection::Conflict { busy: i.busy[1] });
    assert!(err.is_conflict());
    assert_eq!(err.code(), "conflict");
    assert_eq!(err.to_string(), "That time overlaps another appointment.");
    // Buffers count: with 10 minutes after, 04:15–04:45 would occupy until 04:55.
    assert!(slot_is_bookable(&i, t("2026-05-04T04:15:00Z")).is_ok());
    i.rules.buffer_after = mins(10);
    assert!(slot_is_bookable(&i, t("2026-05-04T04:15:00Z")).unwrap_err().is_conflict());
    // Every offered slot is bookable.
    for s in free_slots(&i) {
        assert_eq!(slot_is_bookable(&i, s.start), Ok(s));
        assert!(on_step_grid(&i, s.start));
    }
}

#[test]
fn first_free_slot_matches_the_full_search() {
    let mut i = kolkata_morning();
    i.from = date(2026, 5, 1);
    i.until = date(2026, 5, 31);
    i.busy = vec![Busy { start: t("2026-05-04T00:00:00Z"), end: t("2026-05-04T05:00:00Z") }];
    assert_eq!(first_free_slot(&i), free_slots(&i).first().copied());
    assert_eq!(first_free_slot(&i).map(|s| s.start), Some(t("2026-05-04T05:00:00Z")));
    i.weekly.clear();
    assert_eq!(first_free_slot(&i), None);
}

#[test]
fn search_range_is_bounded_by_the_horizon() {
    // A century-long request range still only expands dates up to the horizon.
    let mut i = kolkata_morning();
    i.from = date(2000, 1, 1);
    i.until = date(2100, 1, 1);
    i.rules.booking_horizon = SignedDuration::from_hours(24 * 14);
    let dates = dates_with_slots(&i);
    assert_eq!(dates, [date(2026, 5, 4), date(2026, 5, 11)]);
}

// ---- DST: New York -------------------------------------------------------------------

#[test]
fn new_york_spring_forward_window_starts_at_the_transition() {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z). A 02:00–04:00 window opens at
    // 03:00 EDT and lasts one real hour.
    let d = date(2026, 3, 8);
    let i = input(
        "America/New_York",
        vec![win(Weekday::Sunday, (2, 0), (4, 0))],
        d,
        d,
        "2026-03-01T00:00:00Z",
        rules(30, 30),
    );
    assert_eq!(expand_windows(&i, d), [(t("2026-03-08T07:00:00Z"), t("2026-03-08T08:00:00Z"))]);
    assert_eq!(starts(&free_slots(&i)), ["2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"]);
    // A window entirely inside the gap is empty.
    let i = input(
        "America/New_York",
        vec![win(Weekday::Sunday, (2, 0), (2, 45))],
        d,
        d,
        "2026-03-01T00:00:00Z",
        rules(15, 15),
    );
    assert!(expand_windows(&i, d).is_empty());
    assert!(free_slots(&i).is_empty());
}

#[test]
fn new_york_fall_back_window_starts_at_the_earlier_instant() {
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST. A 01:00–03:00 window opens at the
    // first 01:00 (EDT, 05:00Z), ends at 03:00 EST (08:00Z): three real hours.
    let d = date(2026, 11, 1);
    let i = input(
        "America/New_York",
        vec![win(Weekday::Sunday, (1, 0), (3, 0))],
        d,
        d,
        "2026-10-01T00:00:00Z",
        rules(60, 60),
    );
    assert_eq!(expand_windows(&i, d), [(t("2026-11-01T05:00:00Z"), t("2026-11-01T08:00:00Z"))]);
    assert_eq!(starts(&free_slots(&i)), ["2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"]);
}

#[test]
fn new_york_business_hours_shift_in_utc_across_dst() {
    let i = input(
        "America/New_York",
        every_day((9, 0), (17, 0)),
        date(2026, 3, 7),
        date(2026, 3, 9),
        "2026-03-01T00:00:00Z",
        rules(60, 60),
    );
    assert_eq!(expand_windows(&i, date(2026, 3, 7))[0].0, t("2026-03-07T14:00:00Z"));
    assert_eq!(expand_windows(&i, date(2026, 3, 8))[0].0, t("2026-03-08T13:00:00Z"));
    assert_eq!(free_slots(&i).len(), 24);
}

// ---- DST: Sydney ---------------------------------------------------------------------

#[test]
fn sydney_nine_am_in_summer_and_winter_time() {
    // 09:00 AEDT (+11) = 22:00Z the previous day; 09:00 AEST (+10) = 23:00Z.
    let i = input(
        "Australia/Sydney",
        every_day((9, 0), (10, 0)),
        date(2026, 4, 4),
        date(2026, 4, 6),
        "2026-03-01T00:00:00Z",
        rules(60, 60),
    );
    assert_eq!(
        starts(&free_slots(&i)),
        [
            "2026-04-03T22:00:00Z", // Sat 4 April, AEDT
            "2026-04-04T23:00:00Z", // Sun 5 April, clocks went back at 03:00: AEST
            "2026-04-05T23:00:00Z"  // Mon 6 April, AEST
        ]
    );
    let i = input(
        "Australia/Sydney",
        every_day((9, 0), (10, 0)),
        date(2026, 10, 3),
        date(2026, 10, 4),
        "2026-03-01T00:00:00Z",
        rules(60, 60),
    );
    assert_eq!(starts(&free_slots(&i)), ["2026-10-02T23:00:00Z", "2026-10-03T22:00:00Z"]);
}

#[test]
fn sydney_fall_back_and_spring_forward_nights() {
    // 2026-04-05 03:00 AEDT -> 02:00 AEST. 01:00–04:00 local: 01:00 AEDT (14:00Z) to
    // 04:00 AEST (18:00Z) = four real hours.
    let d = date(2026, 4, 5);
    let i = input("Australia/Sydney", every_day((1, 0), (4, 0)), d, d, "2026-03-01T00:00:00Z", rules(60, 60));
    assert_eq!(expand_windows(&i, d), [(t("2026-04-04T14:00:00Z"), t("2026-04-04T18:00:00Z"))]);
    assert_eq!(free_slots(&i).len(), 4);
    // 2026-10-04 02:00 AEST -> 03:00 AEDT. 02:30–04:00 local opens at 03:00 AEDT (16:00Z).
    let d = date(2026, 10, 4);
    let i = input("Australia/Sydney", every_day((2, 30), (4, 0)), d, d, "2026-03-01T00:00:00Z", rules(30, 30));
    assert_eq!(expand_windows(&i, d), [(t("2026-10-03T16:00:00Z"), t("2026-10-03T17:00:00Z"))]);
    assert_eq!(starts(&free_slots(&i)), ["2026-10-03T16:00:00Z", "2026-10-03T16:30:00Z"]);
}

// ---- DST: London ---------------------------------------------------------------------

#[test]
fn london_spring_forward_and_fall_back() {
    // 2026-03-29 01:00 GMT -> 02:00 BST (01:00Z). 00:30–03:00 local: 00:30Z to 02:00Z.
    let d = date(2026, 3, 29);
    let i = input("Europe/London", every_day((0, 30), (3, 0)), d, d, "2026-03-01T00:00:00Z", rules(30, 30));
    assert_eq!(expand_windows(&i, d), [(t("2026-03-29T00:30:00Z"), t("2026-03-29T02:00:00Z"))]);
    assert_eq!(free_slots(&i).len(), 3);
    // 2026-10-25 02:00 BST -> 01:00 GMT. 01:00–02:00 local: 00:00Z (BST) to 02:00Z (GMT).
    let d = date(2026, 10, 25);
    let i = input("Europe/London", every_day((1, 0), (2, 0)), d, d, "2026-03-01T00:00:00Z", rules(30, 30));
    assert_eq!(expand_windows(&i, d), [(t("2026-10-25T00:00:00Z"), t("2026-10-25T02:00:00Z"))]);
    assert_eq!(free_slots(&i).len(), 4);
    // An ordinary 09:00 window: 08:00Z in summer, 09:00Z in winter.
    let i = input(
        "Europe/London",
        every_day((9, 0), (10, 0)),
        date(2026, 10, 24),
        date(2026, 10, 25),
        "2026-03-01T00:00:00Z",
        rules(60, 60),
    );
    assert_eq!(starts(&free_slots(&i)), ["2026-10-24T08:00:00Z", "2026-10-25T09:00:00Z"]);
}

#[test]
fn kolkata_has_no_transitions() {
    let i = input(
        "Asia/Kolkata",
        every_day((1, 0), (3, 0)),
        date(2026, 3, 1),
        date(2026, 11, 30),
        "2026-02-01T00:00:00Z",
        rules(120, 120),
    );
    let slots = free_slots(&i);
    assert_eq!(slots.len(), 275);
    assert!(slots.iter().all(|s| s.start.to_string().ends_with("T19:30:00Z")));
}

#[test]
fn slots_serialise_as_rfc3339_instants() {
    let s = free_slots(&kolkata_morning())[0];
    assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"start":"2026-05-04T03:30:00Z","end":"2026-05-04T04:00:00Z"}"#);
}
