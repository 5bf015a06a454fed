//! Calendar arithmetic for the benchmark: working days, local times, a small
//! deterministic random generator, and the list of free hour-aligned slots that the
//! booking clients work through.

use anyhow::{Context, Result};
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Providers work Monday to Friday from this local hour…
pub const OPEN_HOUR: i8 = 8;
/// …to this one (exclusive end of the window).
pub const CLOSE_HOUR: i8 = 18;
/// Appointment length of the benchmark service.
pub const DURATION_MIN: i64 = 50;
/// Buffer after each appointment.
pub const BUFFER_AFTER_MIN: i64 = 10;
/// Slot grid.
pub const STEP_MIN: i64 = 15;

/// Time an appointment occupies (duration plus buffer): exactly one hour, so slots
/// starting on the hour never overlap each other.
pub fn occupied_len() -> SignedDuration {
    SignedDuration::from_mins(DURATION_MIN + BUFFER_AFTER_MIN)
}

/// True for Monday to Friday.
pub fn is_working_day(d: Date) -> bool {
    !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The working days in `first..=last`.
pub fn working_days(first: Date, last: Date) -> Vec<Date> {
    let mut out = Vec::new();
    let mut d = first;
    while d <= last {
        if is_working_day(d) {
            out.push(d);
        }
        match d.tomorrow() {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    out
}

/// `d` plus `days` days.
pub fn add_days(d: Date, days: i64) -> Result<Date> {
    d.checked_add(SignedDuration::from_hours(24 * days)).with_context(|| format!("{d} + {days} days"))
}

/// The instant of local wall-clock time `minutes` after midnight on `d` in `zone`.
pub fn local_instant(zone: &TimeZone, d: Date, minutes: i64) -> Result<Timestamp> {
    let hour = i8::try_from(minutes / 60).context("hour out of range")?;
    let minute = i8::try_from(minutes % 60).context("minute out of range")?;
    Ok(d.at(hour, minute, 0, 0).to_zoned(zone.clone()).with_context(|| format!("{d} {hour}:{minute}"))?.timestamp())
}

/// The latest start (minutes after midnight) of an appointment that still ends, buffer
/// included, by the close of the window.
pub fn last_start_minute() -> i64 {
    i64::from(CLOSE_HOUR) * 60 - DURATION_MIN - BUFFER_AFTER_MIN
}

/// xorshift64*: a tiny deterministic generator, so a given `--seed` gives the same data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced, xorshift must not start at 0).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// One booking a load client will attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct BookingJob {
    /// Index into the seeded providers.
    pub provider: usize,
    /// Start instant.
    pub start: Timestamp,
}

/// Splits every free hour-aligned slot of every provider on `days` between `clients`
/// clients. Each provider belongs to exactly one client (provider index modulo
/// `clients`), so clients never compete for a provider. A client's list runs day by day,
/// and within a day provider by provider, so its bookings spread over its providers.
///
/// `taken[p]` lists the occupied ranges `[from, until)` of provider `p`'s existing
/// appointments; slots overlapping one of them are left out.
pub fn plan_bookings(
    zone: &TimeZone,
    days: &[Date],
    taken: &[Vec<(Timestamp, Timestamp)>],
    clients: usize,
) -> Result<Vec<Vec<BookingJob>>> {
    let clients = clients.max(1);
    let mut plans: Vec<Vec<BookingJob>> = vec![Vec::new(); clients];
    for &day in days {
        for (provider, busy) in taken.iter().enumerate() {
            for hour in OPEN_HOUR..CLOSE_HOUR {
                let start = local_instant(zone, day, i64::from(hour) * 60)?;
                let until = start.checked_add(occupied_len())?;
                if busy.iter().any(|(f, u)| *f < until && start < *u) {
                    continue;
                }
                plans[provider % clients].push(BookingJob { provider, start });
            }
        }
    }
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn sydney() -> TimeZone {
        TimeZone::get("Australia/Sydney").unwrap()
    }

    #[test]
    fn working_days_skip_weekends() {
        // Saturday 21 November 2026 to Sunday 29 November 2026: Monday–Friday only.
        let days = working_days(date(2026, 11, 21), date(2026, 11, 29));
        assert_eq!(days, (23..=27).map(|d| date(2026, 11, d)).collect::<Vec<_>>());
    }

    #[test]
    fn local_times_follow_the_zone() {
        // AEDT is UTC+11 in November.
        let t = local_instant(&sydney(), date(2026, 11, 23), 8 * 60 + 15).unwrap();
        assert_eq!(t.to_string(), "2026-11-22T21:15:00Z");
        assert_eq!(last_start_minute(), 17 * 60);
    }

    #[test]
    fn plans_skip_taken_time_and_give_each_provider_to_one_client() {
        let zone = sydney();
        let day = date(2026, 11, 23);
        // Provider 0 has an appointment 09:30–10:30 (occupied): the 09:00 and 10:00 slots go.
        let at = local_instant(&zone, day, 9 * 60 + 30).unwrap();
        let taken = vec![vec![(at, at.checked_add(occupied_len()).unwrap())], Vec::new(), Vec::new()];
        let plans = plan_bookings(&zone, &[day], &taken, 2).unwrap();
        assert_eq!(plans.len(), 2);
        // Client 0 has providers 0 and 2: 8 + 10 slots; client 1 has provider 1: 10.
        assert_eq!(plans[0].len(), 18);
        assert_eq!(plans[1].len(), 10);
        assert!(plans[1].iter().all(|j| j.provider == 1));
        let p0: Vec<_> = plans[0].iter().filter(|j| j.provider == 0).map(|j| j.start).collect();
        assert!(!p0.contains(&local_instant(&zone, day, 9 * 60).unwrap()));
        assert!(!p0.contains(&local_instant(&zone, day, 10 * 60).unwrap()));
        assert!(p0.contains(&local_instant(&zone, day, 11 * 60).unwrap()));
    }

    #[test]
    fn rng_is_deterministic_and_bounded() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            let x = a.below(37);
            assert_eq!(x, b.below(37));
            assert!(x < 37);
        }
        assert_ne!(Rng::new(0).next_u64(), 0);
    }
}
