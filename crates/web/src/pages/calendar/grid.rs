//! The calendar grid, as pure layout: rows of 15 minutes of local wall-clock time, one
//! column per provider (a day) or per date (a week), appointments as blocks spanning the
//! rows they touch (overlapping ones share one block), a marker row at the current time,
//! and a column with no available time and nothing booked drawn as one labelled band.
//!
//! It is an HTML table built with `rowspan`, because the Content-Security-Policy forbids
//! inline styles.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use praxis_services::scheduling::CalendarEntry;

/// Minutes per row.
pub const STEP: i32 = 15;

/// The axis shows at least this (08:00–18:00).
const MIN_AXIS: (i32, i32) = (8 * 60, 18 * 60);

/// One column's content.
pub struct ColumnIn<'a> {
    /// The local date of the column.
    pub date: Date,
    /// Available stretches that date.
    pub available: &'a [(Timestamp, Timestamp)],
    /// Appointments overlapping that date.
    pub entries: Vec<&'a CalendarEntry>,
    /// What to call the column when it has no available time and nothing booked.
    pub closed_label: String,
}

/// What one cell shows.
#[derive(Debug, PartialEq)]
pub enum CellKind<'a> {
    /// Available and in the future: a link to book at this instant.
    Free(Timestamp),
    /// Available, but already past.
    Open,
    /// Not available.
    Closed,
    /// One or more appointments.
    Block(Vec<&'a CalendarEntry>),
    /// The whole column: nothing available, nothing booked.
    Band(String),
    /// The current-time marker row; `true` in the column of today.
    Now(bool),
}

/// One cell (cells covered by a block or band above are left out).
#[derive(Debug, PartialEq)]
pub struct Cell<'a> {
    /// What it shows.
    pub kind: CellKind<'a>,
    /// How many rows it spans.
    pub rowspan: usize,
}

/// One table row.
#[derive(Debug)]
pub struct Row<'a> {
    /// Minutes after local midnight of the row's start (the marker row: the current time).
    pub minute: i32,
    /// This is the current-time marker row.
    pub now: bool,
    /// Cells, in column order.
    pub cells: Vec<Cell<'a>>,
}

/// The grid: its rows.
#[derive(Debug)]
pub struct Grid<'a> {
    /// Rows, the marker row included.
    pub rows: Vec<Row<'a>>,
}

/// Minutes after local midnight of `t` on `date`: 0 before the date, 1440 after it;
/// seconds round up when `round_up`.
pub fn minute_on(t: Timestamp, zone: &TimeZone, date: Date, round_up: bool) -> i32 {
    let z = t.to_zoned(zone.clone());
    match z.date().cmp(&date) {
        std::cmp::Ordering::Less => 0,
        std::cmp::Ordering::Greater => 24 * 60,
        std::cmp::Ordering::Equal => {
            let m = i32::from(z.hour()) * 60 + i32::from(z.minute());
            let extra = round_up && (z.second() > 0 || z.subsec_nanosecond() > 0);
            m + i32::from(extra)
        }
    }
}

/// "09:15" for minutes after midnight.
pub fn hhmm(minute: i32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// The instant of `minute` after local midnight on `date` (a time in a spring-forward
/// gap is the transition instant).
pub fn instant_at(zone: &TimeZone, date: Date, minute: i32) -> Option<Timestamp> {
    let time = Time::new((minute / 60).clamp(0, 23) as i8, (minute % 60) as i8, 0, 0).ok()?;
    praxis_domain::schedule::local::date_time_to_instant(zone, date, time).ok()
}

/// The axis: from the earliest available time or appointment to the latest, whole
/// hours, and at least 08:00–18:00.
pub fn axis(zone: &TimeZone, columns: &[ColumnIn<'_>]) -> (i32, i32) {
    let (mut lo, mut hi) = MIN_AXIS;
    for c in columns {
        let spans = c.available.iter().map(|(s, e)| (*s, *e)).chain(c.entries.iter().map(|e| (e.start, e.end)));
        for (s, e) in spans {
            lo = lo.min(minute_on(s, zone, c.date, false));
            hi = hi.max(minute_on(e, zone, c.date, true));
        }
    }
    let lo = (lo / 60) * 60;
    let hi = ((hi + 59) / 60 * 60).min(24 * 60);
    (lo.clamp(0, 23 * 60), hi.max(lo + 60))
}

/// Appointments grouped into blocks of slot rows `[first, end)`: overlapping rows share
/// one block.
pub fn blocks<'a>(
    zone: &TimeZone,
    date: Date,
    start: i32,
    rows: usize,
    entries: &[&'a CalendarEntry],
) -> Vec<((usize, usize), Vec<&'a CalendarEntry>)> {
    if rows == 0 {
        return Vec::new();
    }
    let mut placed: Vec<((usize, usize), &'a CalendarEntry)> = entries
        .iter()
        .map(|e| {
            let s = minute_on(e.start, zone, date, false) - start;
            let en = minute_on(e.end, zone, date, true) - start;
            let first = (s.div_euclid(STEP)).clamp(0, rows as i32) as usize;
            let mut last = ((en + STEP - 1).div_euclid(STEP)).clamp(0, rows as i32) as usize;
            let mut first = first.min(rows - 1);
            if last <= first {
                last = first + 1;
            }
            if last > rows {
                last = rows;
                first = first.min(rows - 1);
            }
            ((first, last), *e)
        })
        .collect();
    placed.sort_by_key(|((f, l), e)| (*f, *l, e.start));
    let mut out: Vec<((usize, usize), Vec<&'a CalendarEntry>)> = Vec::new();
    for ((f, l), e) in placed {
        match out.last_mut() {
            Some(((_, end), list)) if *end > f => {
                *end = (*end).max(l);
                list.push(e);
            }
            _ => out.push(((f, l), vec![e])),
        }
    }
    out
}

/// Lays out the grid. `today` marks the column(s) of today for the marker row, which
/// appears when now falls inside the axis on one of the columns' dates.
pub fn build<'a>(zone: &TimeZone, now: Timestamp, columns: &[ColumnIn<'a>]) -> Grid<'a> {
    let (start, end) = axis(zone, columns);
    let slots = ((end - start) / STEP).max(1) as usize;
    let today = now.to_zoned(zone.clone()).date();
    let now_min = columns
        .iter()
        .any(|c| c.date == today)
        .then(|| minute_on(now, zone, today, false))
        .filter(|m| *m >= start && *m < end);
    // The marker sits at the nearest row boundary: before slot row `b`.
    let marker = now_min.map(|m| (((m - start) + STEP / 2) / STEP) as usize).map(|b| b.min(slots));
    let ext = |i: usize| i + usize::from(marker.is_some_and(|b| i >= b));
    let total = slots + usize::from(marker.is_some());

    let mut rows: Vec<Row<'a>> = (0..total)
        .map(|r| {
            let is_marker = marker == Some(r);
            let slot = if marker.is_some_and(|b| r > b) { r - 1 } else { r };
            Row {
                minute: if is_marker { now_min.unwrap_or(start) } else { start + slot as i32 * STEP },
                now: is_marker,
                cells: Vec::with_capacity(columns.len()),
            }
        })
        .collect();

    for c in columns {
        let groups = blocks(zone, c.date, start, slots, &c.entries);
        if groups.is_empty() && c.available.is_empty() {
            rows[0].cells.push(Cell { kind: CellKind::Band(c.closed_label.clone()), rowspan: total });
            continue;
        }
        // Which extended rows a block starts on (with its span) or covers.
        let mut starts: Vec<Option<(usize, Vec<&'a CalendarEntry>)>> = (0..total).map(|_| None).collect();
        let mut covered = vec![false; total];
        for ((f, l), list) in groups {
            let (a, b) = (ext(f), ext(l - 1));
            for row in covered.iter_mut().take(b + 1).skip(a + 1) {
                *row = true;
            }
            starts[a] = Some((b - a + 1, list));
        }
        for (r, row) in rows.iter_mut().enumerate() {
            if covered[r] {
                continue;
            }
            if let Some((span, list)) = starts[r].take() {
                row.cells.push(Cell { kind: CellKind::Block(list), rowspan: span });
                continue;
            }
            if row.now {
                row.cells.push(Cell { kind: CellKind::Now(c.date == today), rowspan: 1 });
                continue;
            }
            let at = instant_at(zone, c.date, row.minute);
            let open = at.is_some_and(|t| c.available.iter().any(|(s, e)| *s <= t && t < *e));
            let kind = match at {
                Some(t) if open && t >= now => CellKind::Free(t),
                _ if open => CellKind::Open,
                _ => CellKind::Closed,
            };
            row.cells.push(Cell { kind, rowspan: 1 });
        }
    }
    Grid { rows }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use praxis_domain::{AppointmentId, ClinicId, ProviderId};
    use uuid::Uuid;

    fn sydney() -> TimeZone {
        TimeZone::get("Australia/Sydney").unwrap()
    }

    /// 3 March 2026 at `hh:mm` in Sydney (UTC+11).
    fn at(hh: i8, mm: i8) -> Timestamp {
        date(2026, 3, 3).at(hh, mm, 0, 0).to_zoned(sydney()).unwrap().timestamp()
    }

    fn entry(n: u128, from: Timestamp, to: Timestamp) -> CalendarEntry {
        CalendarEntry {
            id: AppointmentId(Uuid::from_u128(n)),
            provider_id: ProviderId(Uuid::nil()),
            clinic_id: ClinicId(Uuid::nil()),
            elsewhere: None,
            start: from,
            end: to,
            details: None,
        }
    }

    #[test]
    fn the_axis_covers_availability_and_appointments_in_whole_hours() {
        let zone = sydney();
        let avail = [(at(7, 30), at(12, 0)), (at(13, 0), at(19, 15))];
        let col = ColumnIn { date: date(2026, 3, 3), available: &avail, entries: vec![], closed_label: String::new() };
        assert_eq!(axis(&zone, &[col]), (7 * 60, 20 * 60));
        let none = ColumnIn { date: date(2026, 3, 3), available: &[], entries: vec![], closed_label: String::new() };
        assert_eq!(axis(&zone, &[none]), (8 * 60, 18 * 60), "at least 08:00–18:00");
        let late = entry(1, at(20, 5), at(20, 55));
        let col =
            ColumnIn { date: date(2026, 3, 3), available: &[], entries: vec![&late], closed_label: String::new() };
        assert_eq!(axis(&zone, &[col]), (8 * 60, 21 * 60), "an appointment outside the hours still shows");
    }

    #[test]
    fn blocks_span_the_rows_they_touch_and_overlaps_share_one() {
        let zone = sydney();
        let d = date(2026, 3, 3);
        let a = entry(1, at(9, 0), at(9, 50)); // rows 4..8 from 08:00
        let b = entry(2, at(10, 0), at(10, 50)); // 8..12
        let c = entry(3, at(10, 5), at(10, 30)); // overlaps b (a no-show and a new booking)
        let got = blocks(&zone, d, 8 * 60, 40, &[&c, &a, &b]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, (4, 8));
        assert_eq!(got[1].0, (8, 12));
        assert_eq!(got[1].1.len(), 2);
        // Appointments that touch on a row boundary stay apart; sharing a row joins them.
        let f = entry(5, at(8, 0), at(9, 0));
        let got = blocks(&zone, d, 8 * 60, 40, &[&a, &f]);
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [(0, 4), (4, 8)]);
        let e = entry(4, at(9, 50), at(10, 0));
        let got = blocks(&zone, d, 8 * 60, 40, &[&a, &e]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, (4, 8));
    }

    #[test]
    fn free_cells_link_only_to_future_available_time() {
        let zone = sydney();
        let d = date(2026, 3, 3);
        let avail = [(at(9, 0), at(17, 0))];
        let booked = entry(1, at(10, 0), at(10, 50));
        let now = at(9, 20);
        let col = ColumnIn { date: d, available: &avail, entries: vec![&booked], closed_label: String::new() };
        assert_eq!(axis(&zone, std::slice::from_ref(&col)), (8 * 60, 18 * 60));
        let g = build(&zone, now, &[col]);
        // 40 rows plus the marker at 09:15 (nearest boundary to 09:20).
        assert_eq!(g.rows.len(), 41);
        let marker = g.rows.iter().position(|r| r.now).unwrap();
        assert_eq!(marker, 5, "before the 09:15 row");
        assert_eq!(g.rows[marker].cells[0].kind, CellKind::Now(true));
        let kind_at = |minute: i32| {
            let r = g.rows.iter().find(|r| !r.now && r.minute == minute).unwrap();
            r.cells.first().map(|c| &c.kind)
        };
        assert_eq!(kind_at(8 * 60), Some(&CellKind::Closed));
        assert_eq!(kind_at(9 * 60), Some(&CellKind::Open), "past");
        assert_eq!(kind_at(9 * 60 + 30), Some(&CellKind::Free(at(9, 30))));
        match kind_at(10 * 60) {
            Some(CellKind::Block(list)) => assert_eq!(list.len(), 1),
            other => panic!("{other:?}"),
        }
        assert_eq!(kind_at(10 * 60 + 15), None, "covered by the block");
        let block = g.rows.iter().find(|r| r.minute == 600 && !r.now).unwrap();
        assert_eq!(block.cells[0].rowspan, 4);
        assert_eq!(kind_at(17 * 60), Some(&CellKind::Closed));
    }

    #[test]
    fn a_block_across_the_marker_spans_it_and_an_empty_column_is_one_band() {
        let zone = sydney();
        let d = date(2026, 3, 3);
        let avail = [(at(9, 0), at(17, 0))];
        let booked = entry(1, at(10, 0), at(10, 50));
        let now = at(10, 20);
        let busy = ColumnIn { date: d, available: &avail, entries: vec![&booked], closed_label: String::new() };
        let away = ColumnIn { date: d, available: &[], entries: vec![], closed_label: "Away: Leave".into() };
        let g = build(&zone, now, &[busy, away]);
        assert_eq!(g.rows.len(), 41);
        let first = &g.rows[0];
        assert_eq!(first.cells.len(), 2);
        assert_eq!(first.cells[1], Cell { kind: CellKind::Band("Away: Leave".into()), rowspan: 41 });
        let ten = g.rows.iter().position(|r| r.minute == 600 && !r.now).unwrap();
        assert_eq!(g.rows[ten].cells[0].rowspan, 5, "four rows and the marker inside");
        let marker = g.rows.iter().find(|r| r.now).unwrap();
        assert!(marker.cells.is_empty(), "both columns are covered at the marker");
        // Every row has exactly as many cells as columns not covered from above.
        let cells: usize = g.rows.iter().map(|r| r.cells.iter().map(|c| c.rowspan).sum::<usize>()).sum();
        assert_eq!(cells, 41 * 2);
    }

    #[test]
    fn no_marker_on_other_days_or_outside_the_axis() {
        let zone = sydney();
        let avail = [(at(9, 0), at(17, 0))];
        let col = |d| ColumnIn { date: d, available: &avail, entries: vec![], closed_label: String::new() };
        let g = build(&zone, at(10, 0), &[col(date(2026, 3, 4))]);
        assert!(g.rows.iter().all(|r| !r.now));
        let g = build(&zone, at(22, 0), &[col(date(2026, 3, 3))]);
        assert!(g.rows.iter().all(|r| !r.now));
        assert_eq!(hhmm(9 * 60 + 5), "09:05");
    }
}
