//! The slot engine: which appointment start times are free for one provider, one service,
//! at one clinic — a pure function of availability, existing bookings, the service's rules
//! and "now".
//!
//! How it decides, in order:
//!
//! 1. **Which hours apply on a local date.** None if a [`ClinicClosure`] or a `Closed`
//!    [`AvailabilityException`] covers the date; otherwise the hours of the `Hours`
//!    exceptions covering it (combined, replacing the weekly pattern); otherwise the
//!    [`WeeklyWindow`]s for that weekday whose validity includes the date.
//! 2. **Local → instant.** Each window's start and end become instants in the clinic's
//!    zone with [`to_instant`](crate::schedule::local::to_instant): a time in a
//!    spring-forward gap becomes the transition instant, a time in a fall-back fold the
//!    earlier instant. So a 01:00–03:00 window on a fall-back night lasts three real hours
//!    and a 02:00–04:00 window on a spring-forward night starts at 03:00.
//! 3. **Merge.** Overlapping or touching windows of the same date are merged into one
//!    stretch of available time; the slot grid is anchored at the start of each stretch.
//! 4. **Candidates.** Starts are `stretch_start + k × step`. A slot `[s, s + duration)` must
//!    lie inside the stretch. Its *occupied* range `[s − buffer_before, s + duration +
//!    buffer_after)` must not overlap any [`Busy`] interval (half-open: touching is fine);
//!    buffers may reach outside the stretch (the provider's preparation time before
//!    opening is their own business). And `now + min_notice ≤ s ≤ now + booking_horizon`.
//!
//! Busy intervals are sorted and merged once; dates are then expanded one at a time and
//! each stretch is swept with a forward cursor (found by binary search), jumping straight
//! past a clash to the first grid point after it. A search costs O(days × windows +
//! busy·log busy + slots), and [`first_free_slot`] / [`dates_with_slots`] stop early.
//!
//! Degenerate rules never panic or loop: a non-positive `duration` or `step` yields no
//! slots (and [`SlotRejection::InvalidRules`]); negative buffers and a negative minimum
//! notice count as zero. Use [`ServiceRules::validate`] when an admin edits a service.

use crate::schedule::availability::{
    AvailabilityException, ClinicClosure, ExceptionKind, WeeklyWindow, hours_to_instants,
};
use crate::schedule::local::local_date;
use crate::validation::{FieldError, Validation};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Time already taken in a provider's diary: the *occupied* range of an existing
/// appointment (its own buffers included, as stored by booking via [`occupied_range`]),
/// or any other block. Half-open `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Busy {
    /// Start of the occupied time (inclusive).
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// End of the occupied time (exclusive).
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

/// A bookable appointment time: the appointment itself, `[start, end)`, without buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Slot {
    /// When the appointment starts.
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// When the appointment ends (`start + duration`).
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

/// The timing rules of a service at a clinic, as the slot engine needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceRules {
    /// Length of the appointment itself. Must be positive.
    pub duration: SignedDuration,
    /// Time kept free before the appointment (room preparation). Not shown to patients.
    pub buffer_before: SignedDuration,
    /// Time kept free after the appointment (notes, cleaning). Not shown to patients.
    pub buffer_after: SignedDuration,
    /// How long before its start an appointment may still be booked.
    pub min_notice: SignedDuration,
    /// How far ahead of now an appointment may start at the latest.
    pub booking_horizon: SignedDuration,
    /// Granularity of offered start times (e.g. 15 minutes). Must be positive.
    pub step: SignedDuration,
}

impl ServiceRules {
    /// Rules with no buffers, no minimum notice, a 365-day horizon and a step equal to
    /// the duration — a starting point for builders and tests.
    pub fn simple(duration: SignedDuration) -> Self {
        Self {
            duration,
            buffer_before: SignedDuration::ZERO,
            buffer_after: SignedDuration::ZERO,
            min_notice: SignedDuration::ZERO,
            booking_horizon: SignedDuration::from_hours(24 * 365),
            step: duration,
        }
    }

    /// Field errors for rules an admin typed in: positive duration and step, and no
    /// negative buffers, notice or horizon.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validation::new();
        if self.duration <= SignedDuration::ZERO {
            v.add("duration", "invalid", "The duration must be longer than zero.");
        }
        if self.step <= SignedDuration::ZERO {
            v.add("step", "invalid", "The slot interval must be longer than zero.");
        }
        for (field, d) in [
            ("buffer_before", self.buffer_before),
            ("buffer_after", self.buffer_after),
            ("min_notice", self.min_notice),
            ("booking_horizon", self.booking_horizon),
        ] {
            if d.is_negative() {
                v.add(field, "invalid", "This must not be negative.");
            }
        }
        v.finish()
    }

    fn normalized(&self) -> Option<Rules> {
        let dur = self.duration.as_nanos();
        let step = self.step.as_nanos();
        (dur > 0 && step > 0).then(|| Rules {
            dur,
            step,
            before: self.buffer_before.as_nanos().max(0),
            after: self.buffer_after.as_nanos().max(0),
            notice: self.min_notice.as_nanos().max(0),
            horizon: self.booking_horizon.as_nanos(),
        })
    }
}

/// Everything the slot engine needs for one provider offering one service at one clinic.
#[derive(Clone, Debug)]
pub struct SlotInput {
    /// The clinic's time zone; all windows, exceptions, closures and dates are local to it.
    pub time_zone: TimeZone,
    /// The provider's weekly pattern at this clinic.
    pub weekly: Vec<WeeklyWindow>,
    /// The provider's dated exceptions at this clinic.
    pub exceptions: Vec<AvailabilityException>,
    /// The clinic's closures.
    pub closures: Vec<ClinicClosure>,
    /// The provider's occupied time — at *every* clinic, in any order, overlaps allowed.
    /// When rescheduling, leave out the appointment being moved.
    pub busy: Vec<Busy>,
    /// The service's timing rules.
    pub rules: ServiceRules,
    /// First local date to search (inclusive).
    pub from: Date,
    /// Last local date to search (inclusive).
    pub until: Date,
    /// The current instant (from the injected clock).
    pub now: Timestamp,
}

/// Why a requested start time cannot be booked; see [`slot_is_bookable`]. Checked in the
/// order of the variants, so the reason given is the most basic one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum SlotRejection {
    /// The service's rules cannot produce a slot (non-positive duration or step).
    #[error("This service's scheduling rules are incomplete, so it cannot be booked.")]
    InvalidRules,
    /// The start is before now.
    #[error("That time has already passed.")]
    InPast,
    /// The start is inside the minimum booking notice.
    #[error("That time is too soon to book; please choose a later time.")]
    TooSoon {
        /// The earliest start that satisfies the notice period.
        earliest: Timestamp,
    },
    /// The start is beyond the booking horizon.
    #[error("That time is too far ahead to book yet.")]
    TooFarAhead {
        /// The latest start allowed now.
        latest: Timestamp,
    },
    /// The appointment would not lie wholly inside the provider's available hours.
    #[error("The provider is not available at that time.")]
    OutsideAvailability,
    /// The appointment (with its buffers) overlaps time that is already taken.
    #[error("That time overlaps another appointment.")]
    Conflict {
        /// The earliest busy interval it collides with.
        busy: Busy,
    },
}

impl SlotRejection {
    /// A stable machine code for API problem types and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRules => "invalid_rules",
            Self::InPast => "in_past",
            Self::TooSoon { .. } => "too_soon",
            Self::TooFarAhead { .. } => "too_far_ahead",
            Self::OutsideAvailability => "outside_availability",
            Self::Conflict { .. } => "conflict",
        }
    }

    /// True for a clash with existing bookings (HTTP 409); every other rejection is a
    /// problem with the requested time itself (HTTP 422).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }
}

/// The range an appointment `[start, end)` occupies in the provider's diary once the
/// service's buffers are added: `[start − buffer_before, end + buffer_after)`. Booking
/// stores this range (it is what the no-double-booking constraint compares), and it is
/// what later searches receive as [`Busy`]. Negative buffers count as zero; the result
/// saturates at jiff's representable range.
pub fn occupied_range(start: Timestamp, end: Timestamp, rules: &ServiceRules) -> (Timestamp, Timestamp) {
    let before = rules.buffer_before.max(SignedDuration::ZERO);
    let after = rules.buffer_after.max(SignedDuration::ZERO);
    (start.checked_sub(before).unwrap_or(Timestamp::MIN), end.checked_add(after).unwrap_or(Timestamp::MAX))
}

/// Every free slot for `input`, sorted by start, without duplicates. Deterministic, and
/// independent of the order of the windows, exceptions, closures and busy intervals
/// given. See the module docs for the rules.
pub fn free_slots(input: &SlotInput) -> Vec<Slot> {
    let mut out = Vec::new();
    search(input, &mut out, usize::MAX, usize::MAX);
    out
}

/// The earliest free slot for `input`, or `None`; stops at the first one found, so it is
/// the cheap way to answer "first available" across many providers.
pub fn first_free_slot(input: &SlotInput) -> Option<Slot> {
    let mut out = Vec::with_capacity(1);
    search(input, &mut out, 1, 1);
    out.into_iter().next()
}

/// The local dates (in the clinic's zone) with at least one free slot, ascending — for a
/// month view's day picker: the dates of [`free_slots`]' results, found more cheaply by
/// stopping each day's search at its first free slot.
pub fn dates_with_slots(input: &SlotInput) -> Vec<Date> {
    let mut firsts = Vec::new();
    search(input, &mut firsts, usize::MAX, 1);
    let mut dates: Vec<Date> = firsts.iter().map(|s| local_date(&input.time_zone, s.start)).collect();
    dates.dedup();
    dates
}

/// The available stretches of real time on local `date` as `(start, end)` instants,
/// sorted and merged — for shading a calendar. Closures and exceptions are applied;
/// busy time, notice, horizon and `input.from`/`until` are not.
pub fn expand_windows(input: &SlotInput, date: Date) -> Vec<(Timestamp, Timestamp)> {
    let cal = Calendar::new(input, date, date);
    let mut raw = Vec::new();
    cal.stretches(date, &mut raw);
    raw.into_iter().filter_map(|(s, e)| Some((ts(s)?, ts(e)?))).collect()
}

/// Whether an appointment may start at `start`, and the [`Slot`] it would occupy, or the
/// first reason it may not (checked in this order: rules, past, minimum notice, horizon,
/// availability, busy time).
///
/// Decisions:
/// * A start **off the step grid** is allowed as long as the whole appointment lies inside
///   available hours and its occupied range is free: the grid only decides which times
///   are *offered*, and staff may book e.g. 10:05 by hand. Services that want patients
///   to stick to offered times can additionally require [`on_step_grid`].
/// * `input.from`/`until` are ignored: the local dates around `start` are examined, so a
///   caller cannot accidentally reject a valid time with a too-narrow range.
/// * For a reschedule, leave the appointment being moved out of `input.busy`.
pub fn slot_is_bookable(input: &SlotInput, start: Timestamp) -> Result<Slot, SlotRejection> {
    let r = input.rules.normalized().ok_or(SlotRejection::InvalidRules)?;
    let s = ns(start);
    let e = s + r.dur;
    let now = ns(input.now);
    if s < now {
        return Err(SlotRejection::InPast);
    }
    let earliest = now + r.notice;
    if s < earliest {
        return Err(SlotRejection::TooSoon { earliest: ts(earliest).unwrap_or(Timestamp::MAX) });
    }
    let latest = now + r.horizon;
    if s > latest {
        return Err(SlotRejection::TooFarAhead { latest: ts(latest).unwrap_or(Timestamp::MIN) });
    }
    let end = ts(e).ok_or(SlotRejection::OutsideAvailability)?;
    containing_window(input, start).filter(|&(_, we)| e <= we).ok_or(SlotRejection::OutsideAvailability)?;
    let (os, oe) = (s - r.before, e + r.after);
    let clash = input.busy.iter().filter(|b| ns(b.start) < oe && os < ns(b.end) && b.start < b.end).min();
    if let Some(&busy) = clash {
        return Err(SlotRejection::Conflict { busy });
    }
    Ok(Slot { start, end })
}

/// True when `start` lies on the step grid of the available stretch containing it (i.e.
/// it is a time [`free_slots`] would offer if it were free). False outside availability
/// or with invalid rules.
pub fn on_step_grid(input: &SlotInput, start: Timestamp) -> bool {
    let Some(r) = input.rules.normalized() else { return false };
    containing_window(input, start).is_some_and(|(ws, _)| (ns(start) - ws) % r.step == 0)
}

// ---------------------------------------------------------------------------------------
// Internals. Instants are handled as i128 nanoseconds: exact, cheap, no overflow.

type Ns = i128;

#[derive(Clone, Copy, Debug)]
struct Rules {
    dur: Ns,
    step: Ns,
    before: Ns,
    after: Ns,
    notice: Ns,
    horizon: Ns,
}

fn ns(t: Timestamp) -> Ns {
    t.as_nanosecond()
}

fn ts(n: Ns) -> Option<Timestamp> {
    Timestamp::from_nanosecond(n).ok()
}

fn add_days(d: Date, n: i32) -> Date {
    d.checked_add(n.days()).unwrap_or(if n < 0 { Date::MIN } else { Date::MAX })
}

/// The merged stretch (as nanoseconds) containing instant `start`, if any.
fn containing_window(input: &SlotInput, start: Timestamp) -> Option<(Ns, Ns)> {
    let day = local_date(&input.time_zone, start);
    // A window belongs to its local date, but gap resolution can move an instant across
    // midnight; looking one day either side is always enough.
    let days = [add_days(day, -1), day, add_days(day, 1)];
    let cal = Calendar::new(input, days[0], days[2]);
    let s = ns(start);
    let mut raw = Vec::new();
    days.into_iter().find_map(|d| {
        cal.stretches(d, &mut raw);
        raw.iter().copied().find(|&(ws, we)| ws <= s && s < we)
    })
}

/// The rules that apply to a date range, pre-filtered so the per-date work is small.
struct Calendar<'a> {
    tz: &'a TimeZone,
    /// Weekly windows per weekday (Monday = 0), only those valid somewhere in the range.
    weekly: [Vec<&'a WeeklyWindow>; 7],
    closed: Vec<(Date, Date)>,
    hours: Vec<&'a AvailabilityException>,
}

impl<'a> Calendar<'a> {
    fn new(input: &'a SlotInput, first: Date, last: Date) -> Self {
        let mut weekly: [Vec<&WeeklyWindow>; 7] = Default::default();
        for w in &input.weekly {
            let valid_in_range = w.valid_from.is_none_or(|f| f <= last) && w.valid_until.is_none_or(|u| first <= u);
            if w.start < w.end && valid_in_range {
                weekly[weekday_index(w.weekday)].push(w);
            }
        }
        let intersects = |from: Date, until: Date| from <= last && first <= until;
        let mut closed: Vec<(Date, Date)> =
            input.closures.iter().filter(|c| intersects(c.from, c.until)).map(|c| (c.from, c.until)).collect();
        let mut hours = Vec::new();
        for e in input.exceptions.iter().filter(|e| intersects(e.from, e.until)) {
            match e.kind {
                ExceptionKind::Closed => closed.push((e.from, e.until)),
                ExceptionKind::Hours(_) => hours.push(e),
            }
        }
        Self { tz: &input.time_zone, weekly, closed, hours }
    }

    /// Replaces `out` with the merged, sorted stretches of local `date`.
    fn stretches(&self, date: Date, out: &mut Vec<(Ns, Ns)>) {
        out.clear();
        self.push_windows(date, out);
        merge(out);
    }

    /// Appends the (unmerged) windows of local `date` as nanosecond pairs.
    fn push_windows(&self, date: Date, out: &mut Vec<(Ns, Ns)>) {
        if self.closed.iter().any(|&(f, u)| f <= date && date <= u) {
            return;
        }
        let mut replaced = false;
        for e in self.hours.iter().filter(|e| e.covers(date)) {
            replaced = true;
            if let ExceptionKind::Hours(hours) = &e.kind {
                for &(s, en) in hours {
                    if let Some((a, b)) = hours_to_instants(self.tz, date, s, en) {
                        out.push((ns(a), ns(b)));
                    }
                }
            }
        }
        if replaced {
            return;
        }
        for w in &self.weekly[weekday_index(date.weekday())] {
            if w.valid_on(date)
                && let Some((a, b)) = w.instants_on(self.tz, date)
            {
                out.push((ns(a), ns(b)));
            }
        }
    }
}

fn weekday_index(w: jiff::civil::Weekday) -> usize {
    usize::from(w.to_monday_zero_offset().unsigned_abs())
}

/// Sorts half-open intervals and merges overlapping or touching ones, in place.
fn merge(v: &mut Vec<(Ns, Ns)>) {
    v.retain(|&(s, e)| s < e);
    v.sort_unstable();
    let mut w = 0;
    for i in 0..v.len() {
        if w > 0 && v[i].0 <= v[w - 1].1 {
            v[w - 1].1 = v[w - 1].1.max(v[i].1);
        } else {
            v[w] = v[i];
            w += 1;
        }
    }
    v.truncate(w);
}

fn ceil_div(a: Ns, b: Ns) -> Ns {
    // b > 0 always; a may be negative.
    a.div_euclid(b) + Ns::from(a.rem_euclid(b) != 0)
}

/// Runs the search date by date, keeping at most `per_day` slots of each date and
/// stopping once `out` holds `limit` slots.
fn search(input: &SlotInput, out: &mut Vec<Slot>, limit: usize, per_day: usize) {
    let Some(r) = input.rules.normalized() else { return };
    let now = ns(input.now);
    let earliest = now + r.notice;
    let latest = now + r.horizon;
    if latest < earliest || input.until < input.from {
        return;
    }
    let tz = &input.time_zone;
    // No slot can start on a local date outside [date(earliest), date(latest)]; a day's
    // margin covers gap resolution across midnight. This also bounds the work for an
    // over-wide requested range.
    let Some(earliest_ts) = ts(earliest) else { return };
    let first = input.from.max(add_days(local_date(tz, earliest_ts), -1));
    let last = match ts(latest) {
        Some(l) => input.until.min(add_days(local_date(tz, l), 1)),
        None => input.until,
    };
    if last < first {
        return;
    }

    let cal = Calendar::new(input, first, last);
    let mut busy: Vec<(Ns, Ns)> = input.busy.iter().map(|b| (ns(b.start), ns(b.end))).collect();
    merge(&mut busy);

    // Dates are processed in order and local → instant resolution is monotone, so each
    // day's slots come after the previous day's: the output is sorted as it is built.
    let mut stretches = Vec::new();
    let mut d = first;
    loop {
        cal.stretches(d, &mut stretches);
        let day_limit = limit.min(out.len().saturating_add(per_day));
        for &(ws, we) in &stretches {
            sweep(ws, we, &busy, &r, earliest, latest, out, day_limit);
            if out.len() >= day_limit {
                break;
            }
        }
        if out.len() >= limit || d >= last {
            break;
        }
        let next = add_days(d, 1);
        if next == d {
            break;
        }
        d = next;
    }
    debug_assert!(out.windows(2).all(|w| w[0].start < w[1].start), "slots must be strictly increasing");
}

/// Emits the free grid slots of one merged stretch `[ws, we)`.
#[allow(clippy::too_many_arguments)]
fn sweep(ws: Ns, we: Ns, busy: &[(Ns, Ns)], r: &Rules, earliest: Ns, latest: Ns, out: &mut Vec<Slot>, limit: usize) {
    let last_start = (we - r.dur).min(latest);
    if last_start < ws {
        return;
    }
    let mut k = if earliest > ws { ceil_div(earliest - ws, r.step) } else { 0 };
    let mut s = ws + k * r.step;
    // Busy intervals are disjoint and sorted, so "ends after the occupied start" is a
    // monotone predicate: find the first candidate by binary search, then walk forward.
    let mut i = busy.partition_point(|&(_, be)| be <= s - r.before);
    while s <= last_start {
        let (os, oe) = (s - r.before, s + r.dur + r.after);
        while i < busy.len() && busy[i].1 <= os {
            i += 1;
        }
        if let Some(&(bs, be)) = busy.get(i)
            && bs < oe
        {
            // Jump to the first grid point whose occupied range starts at or after `be`
            // (always forward: `be > os`, so this is past the current candidate).
            k = ceil_div(be + r.before - ws, r.step).max(k + 1);
            s = ws + k * r.step;
            continue;
        }
        if let (Some(start), Some(end)) = (ts(s), ts(s + r.dur)) {
            out.push(Slot { start, end });
            if out.len() >= limit {
                return;
            }
        }
        k += 1;
        s = ws + k * r.step;
    }
}

#[cfg(test)]
mod tests;
