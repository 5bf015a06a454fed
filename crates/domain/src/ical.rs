//! RFC 5545 iCalendar rendering: a provider's subscribable calendar feed and the single
//! appointment `.ics` attached to confirmation emails.
//!
//! The renderer is pure: it takes the events and "now" (written as `DTSTAMP`) and returns
//! the document as a `String`, byte-for-byte the same for the same input. Times are written
//! as wall-clock time in the clinic's IANA zone (`DTSTART;TZID=Australia/Sydney:...`), so
//! a client shows "09:00" even across a daylight-saving change, and every zone used gets a
//! `VTIMEZONE` generated from jiff's bundled tz database, so a client that does not know
//! the zone (or knows an older version of it) still computes the right instants.
//!
//! Decisions worth knowing:
//! - Instants are written to whole seconds (sub-second parts are floored); iCalendar has
//!   no finer resolution, nor years outside 0001-9999 (such instants are not meaningful
//!   for appointments and are not checked).
//! - A zone without an IANA name (a fixed offset, a POSIX rule) and a zone that is UTC in
//!   all but name (`UTC`, `Etc/UTC`, ...) is written in UTC (`...Z`) with no `VTIMEZONE`.
//! - RFC 5545 (3.3.5) says a local time that occurs twice refers to its first occurrence.
//!   An event starting or ending in the *second* pass through a fall-back hour therefore
//!   cannot be written as local time; that one property is written in UTC instead, which is
//!   always exact.
//! - Each `VTIMEZONE` covers the events' span widened by a year on each side. Its first
//!   sub-component is the observance already in effect at the start of that range, written
//!   with `TZOFFSETFROM` = `TZOFFSETTO` (nothing before the range is described) and, as its
//!   `DTSTART`, the onset of that observance (or 1970-01-01 for a zone that never changed).
//!   Every later transition in the range follows with `DTSTART` in the offset before it.
//!   The transitions are listed explicitly (no `RRULE`), so the data is exactly jiff's.
//! - `DTEND` before `DTSTART` is written as `DTSTART` (RFC 5545 forbids an end before the
//!   start, and a client would drop the event).
//! - Empty `LOCATION`, `DESCRIPTION`, `URL` and calendar name are omitted. ASCII control
//!   characters other than tab and line breaks are dropped from text, since RFC 5545 does
//!   not allow them in content lines.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};
use std::collections::BTreeMap;

/// The `PRODID` written into every document, so a client (or a support engineer reading
/// one) can tell which software produced it.
pub const PRODID: &str = "-//Praxis//Praxis Clinic Scheduling//EN";

/// Longest content line, in octets without the CRLF (RFC 5545 3.1). Longer lines are folded.
const MAX_LINE_OCTETS: usize = 75;

/// Whether an event is going ahead, pencilled in, or called off; written as `STATUS` so a
/// client can show a cancelled appointment struck through rather than silently dropping it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventStatus {
    /// The appointment is booked and will happen (`STATUS:CONFIRMED`).
    Confirmed,
    /// The appointment is requested but not yet confirmed (`STATUS:TENTATIVE`).
    Tentative,
    /// The appointment was cancelled (`STATUS:CANCELLED`).
    Cancelled,
}

impl EventStatus {
    /// The RFC 5545 `STATUS` value, for callers that need the same spelling elsewhere.
    pub fn as_ical(self) -> &'static str {
        match self {
            EventStatus::Confirmed => "CONFIRMED",
            EventStatus::Tentative => "TENTATIVE",
            EventStatus::Cancelled => "CANCELLED",
        }
    }
}

/// The iTIP (RFC 5546) `METHOD` of a document sent by email, telling the recipient's mail
/// client whether it is an announcement, an invitation or a cancellation. Feeds have none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CalendarMethod {
    /// `METHOD:PUBLISH`: informational, "add this to your calendar".
    Publish,
    /// `METHOD:REQUEST`: an invitation (clients offer accept/decline; strictly, iTIP also
    /// expects `ORGANIZER`/`ATTENDEE`, which this renderer does not write).
    Request,
    /// `METHOD:CANCEL`: the event with this `UID` is cancelled.
    Cancel,
}

impl CalendarMethod {
    /// The RFC 5546 `METHOD` value.
    pub fn as_ical(self) -> &'static str {
        match self {
            CalendarMethod::Publish => "PUBLISH",
            CalendarMethod::Request => "REQUEST",
            CalendarMethod::Cancel => "CANCEL",
        }
    }
}

/// One appointment as a calendar client should see it. Built by the services layer from
/// an appointment; nothing here is looked up.
#[derive(Clone, Debug, PartialEq)]
pub struct CalendarEvent {
    /// Globally unique and stable across renders (e.g. `"<appointment uuid>@praxis"`), so
    /// a client updates the event it already has instead of adding a duplicate.
    pub uid: String,
    /// Incremented every time the event changes (reschedule, cancellation), so a client
    /// knows which copy is newer.
    pub sequence: u32,
    /// When the appointment starts.
    pub start: Timestamp,
    /// When the appointment ends (not before `start`).
    pub end: Timestamp,
    /// The clinic's IANA zone; `DTSTART`/`DTEND` are written as local time with `TZID`.
    pub time_zone: TimeZone,
    /// The one-line title (`SUMMARY`).
    pub summary: String,
    /// Free text (`DESCRIPTION`); may contain newlines. Omitted when empty.
    pub description: String,
    /// Where it happens (`LOCATION`); omitted when empty.
    pub location: String,
    /// A link, e.g. the video room (`URL`); omitted when `None` or empty.
    pub url: Option<String>,
    /// Confirmed, tentative or cancelled (`STATUS`).
    pub status: EventStatus,
    /// When the appointment last changed (`LAST-MODIFIED`, written in UTC).
    pub last_modified: Timestamp,
}

/// A whole iCalendar document: a feed (no method) or an email attachment (with a method).
#[derive(Clone, Debug, PartialEq)]
pub struct Calendar {
    /// Display name for a subscribed calendar (`X-WR-CALNAME`); omitted when empty.
    pub name: String,
    /// `METHOD` for email attachments; `None` for subscription feeds, which must not have one.
    pub method: Option<CalendarMethod>,
    /// The events, in any order (they are written sorted by start, then uid).
    pub events: Vec<CalendarEvent>,
}

/// Renders `cal` as an RFC 5545 document with CRLF line endings and lines folded at 75
/// octets. `now` becomes every event's `DTSTAMP` (when this copy was produced); it is a
/// parameter because this crate never reads the clock. The same input always yields the
/// same bytes.
pub fn render(cal: &Calendar, now: Timestamp) -> String {
    let mut out = Writer::default();
    out.line("BEGIN:VCALENDAR");
    out.line("VERSION:2.0");
    out.prop("PRODID", PRODID);
    out.line("CALSCALE:GREGORIAN");
    if let Some(method) = cal.method {
        out.prop("METHOD", method.as_ical());
    }
    if !cal.name.is_empty() {
        out.prop("X-WR-CALNAME", &escape_text(&cal.name));
    }

    let mut events: Vec<&CalendarEvent> = cal.events.iter().collect();
    events.sort_by(|a, b| {
        (a.start, &a.uid, a.sequence, a.end, a.last_modified).cmp(&(
            b.start,
            &b.uid,
            b.sequence,
            b.end,
            b.last_modified,
        ))
    });

    // One VTIMEZONE per distinct TZID, each covering its own events (sorted by TZID).
    let mut zones: BTreeMap<String, ZoneUse<'_>> = BTreeMap::new();
    for event in &events {
        if let Some(tzid) = tzid_of(&event.time_zone) {
            let end = event_end(event);
            zones
                .entry(clean_param(tzid))
                .and_modify(|z| {
                    z.first = z.first.min(event.start);
                    z.last = z.last.max(end);
                })
                .or_insert(ZoneUse { tz: &event.time_zone, first: event.start, last: end });
        }
    }
    for (tzid, zone) in &zones {
        write_vtimezone(&mut out, tzid, zone);
    }

    let dtstamp = utc_value(now);
    for event in events {
        write_event(&mut out, event, &dtstamp);
    }
    out.line("END:VCALENDAR");
    out.buf
}

/// The instants a zone must be described for.
struct ZoneUse<'a> {
    tz: &'a TimeZone,
    first: Timestamp,
    last: Timestamp,
}

fn write_event(out: &mut Writer, event: &CalendarEvent, dtstamp: &str) {
    out.line("BEGIN:VEVENT");
    out.prop("UID", &escape_text(&event.uid));
    out.prop("SEQUENCE", &event.sequence.to_string());
    out.prop("DTSTAMP", dtstamp);
    out.time_prop("DTSTART", event.start, &event.time_zone);
    out.time_prop("DTEND", event_end(event), &event.time_zone);
    out.prop("SUMMARY", &escape_text(&event.summary));
    if !event.description.is_empty() {
        out.prop("DESCRIPTION", &escape_text(&event.description));
    }
    if !event.location.is_empty() {
        out.prop("LOCATION", &escape_text(&event.location));
    }
    if let Some(url) = event.url.as_deref().map(strip_controls).filter(|u| !u.is_empty()) {
        out.prop("URL", &url);
    }
    out.prop("STATUS", event.status.as_ical());
    out.prop("LAST-MODIFIED", &utc_value(event.last_modified));
    out.line("END:VEVENT");
}

/// The end actually written: never before the start.
fn event_end(event: &CalendarEvent) -> Timestamp {
    event.end.max(event.start)
}

/// The TZID to write for a zone, or `None` when times in it are written in UTC.
fn tzid_of(tz: &TimeZone) -> Option<&str> {
    let name = tz.iana_name()?;
    let utc_equivalent = tz.to_offset_info(Timestamp::UNIX_EPOCH).offset() == Offset::UTC
        && tz.following(Timestamp::MIN).next().is_none();
    if utc_equivalent { None } else { Some(name) }
}

fn write_vtimezone(out: &mut Writer, tzid: &str, zone: &ZoneUse<'_>) {
    let tz = zone.tz;
    let from = year_before(zone.first);
    let until = year_after(zone.last);

    out.line("BEGIN:VTIMEZONE");
    out.prop("TZID", tzid);

    // The observance in effect at `from`, and when it began. A transition exactly at
    // `from` counts as this onset, hence looking before `from + 1ns`.
    let info = tz.to_offset_info(from);
    let mut offset = info.offset();
    let onset_instant =
        tz.preceding(from.checked_add(SignedDuration::from_nanos(1)).unwrap_or(from)).next().map(|t| t.timestamp());
    let onset = match onset_instant {
        // Never before year 1: iCalendar years have four digits.
        Some(at) => offset.to_datetime(at).max(jiff::civil::date(1, 1, 1).at(0, 0, 0, 0)),
        None => jiff::civil::date(1970, 1, 1).at(0, 0, 0, 0).min(offset.to_datetime(floor_second(from))),
    };
    out.observance(info.dst().is_dst(), onset, offset, offset, info.abbreviation());

    for transition in tz.following(from).take_while(|t| t.timestamp() <= until) {
        let before = offset;
        offset = transition.offset();
        out.observance(
            transition.dst().is_dst(),
            before.to_datetime(transition.timestamp()),
            before,
            offset,
            transition.abbreviation(),
        );
    }
    out.line("END:VTIMEZONE");
}

/// `at` minus one calendar year (in UTC), saturating at jiff's range.
fn year_before(at: Timestamp) -> Timestamp {
    at.to_zoned(TimeZone::UTC).checked_sub(1.year()).map(|z| z.timestamp()).unwrap_or(Timestamp::MIN)
}

/// `at` plus one calendar year (in UTC), saturating at jiff's range.
fn year_after(at: Timestamp) -> Timestamp {
    at.to_zoned(TimeZone::UTC).checked_add(1.year()).map(|z| z.timestamp()).unwrap_or(Timestamp::MAX)
}

/// Drops the sub-second part, rounding towards the past.
fn floor_second(at: Timestamp) -> Timestamp {
    let secs = if at.subsec_nanosecond() < 0 { at.as_second() - 1 } else { at.as_second() };
    Timestamp::from_second(secs).unwrap_or(at)
}

/// `YYYYMMDDTHHMMSS`, the DATE-TIME form without zone designator.
fn local_value(dt: DateTime) -> String {
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}", dt.year(), dt.month(), dt.day(), dt.hour(), dt.minute(), dt.second())
}

/// `YYYYMMDDTHHMMSSZ`, the UTC DATE-TIME form.
fn utc_value(at: Timestamp) -> String {
    let mut s = local_value(Offset::UTC.to_datetime(floor_second(at)));
    s.push('Z');
    s
}

/// A UTC-OFFSET value: `±hhmm`, or `±hhmmss` when the offset has seconds. Zero is `+0000`
/// because RFC 5545 forbids `-0000`.
fn offset_value(offset: Offset) -> String {
    let total = offset.seconds();
    let sign = if total < 0 { '-' } else { '+' };
    let abs = total.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    if s == 0 { format!("{sign}{h:02}{m:02}") } else { format!("{sign}{h:02}{m:02}{s:02}") }
}

/// Escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and line breaks
/// (LF, CRLF or a lone CR all become `\n`); other ASCII controls except tab are dropped.
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            c if c.is_ascii_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// Removes characters that cannot appear in a content line (for values that are not TEXT
/// and so have no escaping, such as URIs).
fn strip_controls(s: &str) -> String {
    s.chars().filter(|c| !c.is_ascii_control() || *c == '\t').collect()
}

/// A parameter value's content: controls and double quotes (which cannot be escaped in
/// a parameter) removed. Also used as the `TZID` property, which must match the parameter.
fn clean_param(s: &str) -> String {
    strip_controls(s).chars().filter(|c| *c != '"').collect()
}

/// A parameter value as written: quoted when it holds `:`, `;` or `,` (IANA zone names
/// never do).
fn param_value(s: &str) -> String {
    let clean = clean_param(s);
    if clean.contains([':', ';', ',']) { format!("\"{clean}\"") } else { clean }
}

/// Accumulates folded CRLF content lines.
#[derive(Default)]
struct Writer {
    buf: String,
}

impl Writer {
    /// Appends one content line, folded so that no physical line exceeds 75 octets
    /// (continuations start with a space, which counts), never splitting a UTF-8 character.
    fn line(&mut self, line: &str) {
        let mut width = 0;
        for c in line.chars() {
            let n = c.len_utf8();
            if width + n > MAX_LINE_OCTETS {
                self.buf.push_str("\r\n ");
                width = 1;
            }
            self.buf.push(c);
            width += n;
        }
        self.buf.push_str("\r\n");
    }

    /// `NAME:value`, with the value already escaped as its type requires.
    fn prop(&mut self, name: &str, value: &str) {
        self.line(&format!("{name}:{value}"));
    }

    /// A DATE-TIME property: local time with `TZID` when the zone has one and the local
    /// time maps back to exactly this instant, UTC otherwise.
    fn time_prop(&mut self, name: &str, at: Timestamp, tz: &TimeZone) {
        let at = floor_second(at);
        if let Some(tzid) = tzid_of(tz) {
            let local = tz.to_datetime(at);
            // RFC 5545 reads an ambiguous local time as its first occurrence.
            if tz.to_ambiguous_timestamp(local).earlier().ok() == Some(at) {
                self.line(&format!("{name};TZID={}:{}", param_value(tzid), local_value(local)));
                return;
            }
        }
        self.prop(name, &utc_value(at));
    }

    /// A STANDARD or DAYLIGHT sub-component starting at `onset` (local time in `from`).
    fn observance(&mut self, dst: bool, onset: DateTime, from: Offset, to: Offset, abbreviation: &str) {
        let kind = if dst { "DAYLIGHT" } else { "STANDARD" };
        self.line(&format!("BEGIN:{kind}"));
        self.prop("DTSTART", &local_value(onset));
        self.prop("TZOFFSETFROM", &offset_value(from));
        self.prop("TZOFFSETTO", &offset_value(to));
        if !abbreviation.is_empty() {
            self.prop("TZNAME", &escape_text(abbreviation));
        }
        self.line(&format!("END:{kind}"));
    }
}

#[cfg(test)]
mod tests;
