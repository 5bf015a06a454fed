//! Slot engine benchmarks on a realistic clinic: 50 providers in Australia/Sydney with
//! split weekday hours (some also Saturday mornings), one day of leave each, the Easter
//! public holidays as clinic closures, about 2,000 existing appointments over 30 days, and
//! a 30-day window that crosses the end of daylight saving (2026-04-05).
//!
//! Inputs are built once outside the measurement: the figures are the engine's own cost
//! per request (a slot search for one provider, or for 20 providers over 30 days).
//!
//! Run: `cargo bench -p praxis-domain --bench slots`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::civil::{Date, Time, Weekday, date, time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, ToSpan};
use praxis_domain::schedule::{
    AvailabilityException, Busy, ClinicClosure, ExceptionKind, ServiceRules, SlotInput, WeeklyWindow, dates_with_slots,
    first_free_slot, free_slots, occupied_range, slot_is_bookable, to_instant,
};
use std::hint::black_box;

const PROVIDERS: usize = 50;
const APPOINTMENTS: usize = 2_000;
const FIRST_DAY: Date = date(2026, 3, 23);
const DAYS: i32 = 30;

/// A tiny deterministic generator, so every run benchmarks the same diary.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

fn window(weekday: Weekday, start: Time, end: Time) -> WeeklyWindow {
    WeeklyWindow::new(weekday, start, end, None, None).unwrap()
}

fn weekly_pattern(provider: usize) -> Vec<WeeklyWindow> {
    let mut w = Vec::new();
    for day in [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday] {
        w.push(window(day, time(8, 30, 0, 0), time(12, 30, 0, 0)));
        w.push(window(day, time(13, 30, 0, 0), time(17, 30, 0, 0)));
    }
    if provider.is_multiple_of(3) {
        w.push(window(Weekday::Saturday, time(9, 0, 0, 0), time(13, 0, 0, 0)));
    }
    w
}

fn service() -> ServiceRules {
    ServiceRules {
        duration: SignedDuration::from_mins(45),
        buffer_before: SignedDuration::from_mins(5),
        buffer_after: SignedDuration::from_mins(5),
        min_notice: SignedDuration::from_hours(2),
        booking_horizon: SignedDuration::from_hours(24 * 90),
        step: SignedDuration::from_mins(15),
    }
}

/// One [`SlotInput`] per provider over the 30 days.
fn clinic() -> Vec<SlotInput> {
    let tz = TimeZone::get("Australia/Sydney").unwrap();
    let last_day = FIRST_DAY.checked_add((DAYS - 1).days()).unwrap();
    let now = to_instant(&tz, FIRST_DAY.to_datetime(time(7, 0, 0, 0))).unwrap();
    let closures = vec![
        ClinicClosure::new(date(2026, 4, 3), date(2026, 4, 3)).unwrap(), // Good Friday
        ClinicClosure::new(date(2026, 4, 6), date(2026, 4, 6)).unwrap(), // Easter Monday
    ];
    let mut rng = Lcg(0x5eed);
    let mut busy: Vec<Vec<Busy>> = vec![Vec::new(); PROVIDERS];
    let mut placed = 0;
    while placed < APPOINTMENTS {
        let p = usize::try_from(rng.next(PROVIDERS as u64)).unwrap();
        let day = FIRST_DAY.checked_add(i32::try_from(rng.next(DAYS as u64)).unwrap().days()).unwrap();
        let Some(w) = weekly_pattern(p).into_iter().filter(|w| w.weekday == day.weekday()).nth(rng.next(2) as usize)
        else {
            continue; // no hours that day; draw again
        };
        let minutes = [30i64, 45, 60][rng.next(3) as usize];
        let quarter_hours = i64::try_from(rng.next(14)).unwrap();
        let start_local = day.to_datetime(w.start).checked_add((quarter_hours * 15).minutes()).unwrap();
        let start = to_instant(&tz, start_local).unwrap();
        let end = start.checked_add(SignedDuration::from_mins(minutes)).unwrap();
        let (os, oe) = occupied_range(start, end, &service());
        busy[p].push(Busy { start: os, end: oe });
        placed += 1;
    }
    busy.into_iter()
        .enumerate()
        .map(|(p, busy)| {
            let leave = FIRST_DAY.checked_add(i32::try_from(p % 20 + 2).unwrap().days()).unwrap();
            SlotInput {
                time_zone: tz.clone(),
                weekly: weekly_pattern(p),
                exceptions: vec![AvailabilityException::new(leave, leave, ExceptionKind::Closed).unwrap()],
                closures: closures.clone(),
                busy,
                rules: service(),
                from: FIRST_DAY,
                until: last_day,
                now,
            }
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let inputs = clinic();
    let twenty = &inputs[..20];
    let one_day = SlotInput { until: date(2026, 3, 25), from: date(2026, 3, 25), ..inputs[1].clone() };
    let month = &inputs[1];

    let total: usize = twenty.iter().map(|i| free_slots(i).len()).sum();
    let busy: usize = inputs.iter().map(|i| i.busy.len()).sum();
    eprintln!(
        "data: {} providers, {busy} appointments; 1 day = {} slots, 30 days = {} slots, 20 providers × 30 days = {total} slots",
        inputs.len(),
        free_slots(&one_day).len(),
        free_slots(month).len(),
    );
    let probe = free_slots(month)[40].start;

    let mut g = c.benchmark_group("free_slots");
    g.bench_function("1_provider_1_day", |b| b.iter(|| free_slots(black_box(&one_day))));
    g.bench_function("1_provider_30_days", |b| b.iter(|| free_slots(black_box(month))));
    g.bench_function("20_providers_30_days", |b| {
        b.iter(|| twenty.iter().map(|i| free_slots(black_box(i)).len()).sum::<usize>())
    });
    g.finish();

    let mut g = c.benchmark_group("helpers");
    g.bench_function("first_free_slot_20_providers_30_days", |b| {
        b.iter(|| twenty.iter().filter_map(|i| first_free_slot(black_box(i))).min())
    });
    g.bench_function("dates_with_slots_20_providers_30_days", |b| {
        b.iter(|| twenty.iter().map(|i| dates_with_slots(black_box(i)).len()).sum::<usize>())
    });
    g.bench_function("slot_is_bookable", |b| b.iter(|| slot_is_bookable(black_box(month), black_box(probe))));
    g.finish();
}

criterion_group!(slots, benches);
criterion_main!(slots);
