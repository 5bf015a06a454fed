use super::*;
use jiff::civil::date;
use jiff::tz::offset;
use std::collections::HashMap;

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// The instant of a wall-clock time in a zone (the earlier one in a fold).
fn at(zone: &str, dt: DateTime) -> Timestamp {
    tz(zone).to_ambiguous_timestamp(dt).earlier().unwrap()
}

fn event(uid: &str, zone: TimeZone, start: Timestamp, minutes: i64) -> CalendarEvent {
    CalendarEvent {
        uid: uid.to_string(),
        sequence: 0,
        start,
        end: start + SignedDuration::from_mins(minutes),
        time_zone: zone,
        summary: "Consultation".to_string(),
        description: String::new(),
        location: String::new(),
        url: None,
        status: EventStatus::Confirmed,
        last_modified: ts("2026-01-01T00:00:00Z"),
    }
}

fn feed(events: Vec<CalendarEvent>) -> Calendar {
    Calendar { name: "Dr Example".to_string(), method: None, events }
}

const NOW: &str = "2026-02-03T04:05:06.789Z";

fn render_now(cal: &Calendar) -> String {
    render(cal, ts(NOW))
}

/// Logical content lines (unfolded, CRLF removed).
fn unfold(doc: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for physical in doc.split("\r\n") {
        if let Some(rest) = physical.strip_prefix(' ') {
            lines.last_mut().unwrap().push_str(rest);
        } else if !physical.is_empty() {
            lines.push(physical.to_string());
        }
    }
    lines
}

/// The logical lines between `BEGIN:{name}` and the matching `END:{name}`, for each such block.
fn blocks(lines: &[String], name: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in lines {
        if *line == format!("BEGIN:{name}") {
            current = Some(Vec::new());
        } else if *line == format!("END:{name}") {
            out.push(current.take().unwrap());
        } else if let Some(c) = current.as_mut() {
            c.push(line.clone());
        }
    }
    out
}

fn value<'a>(lines: &'a [String], prefix: &str) -> Option<&'a str> {
    lines.iter().find_map(|l| l.strip_prefix(prefix))
}

fn assert_well_formed(doc: &str) {
    assert!(doc.starts_with("BEGIN:VCALENDAR\r\n"), "{doc}");
    assert!(doc.ends_with("END:VCALENDAR\r\n"), "{doc}");
    let bytes = doc.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at {i}");
        }
        if *b == b'\r' {
            assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
    }
    for line in bytes.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        assert!(line.len() <= 75, "line over 75 octets: {:?}", String::from_utf8_lossy(line));
        // Folding never splits a character, so every physical line is valid UTF-8.
        std::str::from_utf8(line).unwrap();
    }
    let lines = unfold(doc);
    for required in ["VERSION:2.0", "PRODID:-//Praxis//Praxis Clinic Scheduling//EN", "CALSCALE:GREGORIAN"] {
        assert_eq!(lines.iter().filter(|l| *l == required).count(), 1, "{required}");
    }
    for name in ["VCALENDAR", "VEVENT", "VTIMEZONE", "STANDARD", "DAYLIGHT"] {
        let begins = lines.iter().filter(|l| **l == format!("BEGIN:{name}")).count();
        let ends = lines.iter().filter(|l| **l == format!("END:{name}")).count();
        assert_eq!(begins, ends, "{name}");
    }
    // Every TZID used has exactly one VTIMEZONE.
    let defined: Vec<String> =
        blocks(&lines, "VTIMEZONE").iter().map(|b| value(b, "TZID:").unwrap().to_string()).collect();
    for line in &lines {
        if let Some(rest) = line.split_once(";TZID=").map(|(_, r)| r) {
            let tzid = rest.split(':').next().unwrap();
            assert_eq!(defined.iter().filter(|d| **d == tzid).count(), 1, "{tzid}");
        }
    }
}

// ---- escaping and folding ----

#[test]
fn text_escaping() {
    assert_eq!(escape_text(r"a\b;c,d"), r"a\\b\;c\,d");
    assert_eq!(escape_text("one\ntwo\r\nthree\rfour"), r"one\ntwo\nthree\nfour");
    assert_eq!(escape_text("tab\there\u{7}bell\u{0}"), "tab\therebell");
    assert_eq!(escape_text("Zoë: 10:00 – Praxis"), "Zoë: 10:00 – Praxis");
    assert_eq!(escape_text(""), "");
}

#[test]
fn escaped_values_in_the_document() {
    let mut e = event("a@praxis", tz("Europe/London"), ts("2026-06-01T08:00:00Z"), 30);
    e.summary = "Check-up; Smith, J.".to_string();
    e.description = "Line one\nLine two\\end".to_string();
    e.location = "Room 3, 1st floor".to_string();
    e.url = Some("https://video.example/room?a=1;b=2,c".to_string());
    let mut cal = feed(vec![e]);
    cal.name = "Dr A, Clinic; Main".to_string();
    let doc = render_now(&cal);
    assert_well_formed(&doc);
    let lines = unfold(&doc);
    assert!(lines.contains(&r"SUMMARY:Check-up\; Smith\, J.".to_string()));
    assert!(lines.contains(&r"DESCRIPTION:Line one\nLine two\\end".to_string()));
    assert!(lines.contains(&r"LOCATION:Room 3\, 1st floor".to_string()));
    assert!(lines.contains(&r"X-WR-CALNAME:Dr A\, Clinic\; Main".to_string()));
    // URI values are not TEXT: written as is.
    assert!(lines.contains(&"URL:https://video.example/room?a=1;b=2,c".to_string()));
}

fn folded(line: &str) -> String {
    let mut w = Writer::default();
    w.line(line);
    w.buf
}

#[test]
fn folding_at_75_octets() {
    let exactly = "X".repeat(75);
    assert_eq!(folded(&exactly), format!("{exactly}\r\n"));

    let over = "Y".repeat(76);
    assert_eq!(folded(&over), format!("{}\r\n Y\r\n", "Y".repeat(75)));

    // Continuation lines hold 74 octets after the leading space.
    let long = "Z".repeat(75 + 74 + 1);
    assert_eq!(folded(&long), format!("{}\r\n {}\r\n Z\r\n", "Z".repeat(75), "Z".repeat(74)));

    assert_eq!(folded(""), "\r\n");
}

#[test]
fn folding_never_splits_a_character() {
    // "é" is 2 octets, "€" 3, "😀" 4. Put each so that it would straddle octet 75.
    for (ch, len) in [("é", 2), ("€", 3), ("😀", 4)] {
        for pad in 70..76 {
            let line = format!("{}{}{}", "a".repeat(pad), ch, "b".repeat(10));
            let out = folded(&line);
            let physical: Vec<&str> = out.trim_end_matches("\r\n").split("\r\n").collect();
            for p in &physical {
                assert!(p.len() <= 75, "{pad} {ch}: {p:?}");
            }
            if pad + len <= 75 {
                assert!(physical[0].ends_with(ch) || physical[0].contains(ch), "{pad} {ch}");
            } else {
                assert_eq!(physical[0], "a".repeat(pad.min(75)), "{pad} {ch}");
            }
            // Unfolding restores the line.
            assert_eq!(unfold(&out), vec![line.clone()]);
        }
    }
    // A line of exactly 75 octets ending in a multi-byte character is not folded.
    let line = format!("{}€", "a".repeat(72));
    assert_eq!(line.len(), 75);
    assert_eq!(folded(&line), format!("{line}\r\n"));
    // One octet more and the whole character moves to the continuation line.
    let line = format!("{}€", "a".repeat(73));
    assert_eq!(folded(&line), format!("{}\r\n €\r\n", "a".repeat(73)));
}

#[test]
fn long_multibyte_description_is_folded_and_round_trips() {
    let mut e = event("long@praxis", tz("Australia/Sydney"), ts("2026-04-05T23:00:00Z"), 45);
    e.description = "Bitte nüchtern erscheinen; Überweisung mitbringen, 🩺 ".repeat(20) + "\nEnde";
    e.summary = "ü".repeat(100);
    let doc = render_now(&feed(vec![e.clone()]));
    assert_well_formed(&doc);
    let lines = unfold(&doc);
    assert_eq!(value(&lines, "DESCRIPTION:").unwrap(), escape_text(&e.description));
    assert_eq!(value(&lines, "SUMMARY:").unwrap(), e.summary);
}

#[test]
fn crlf_everywhere() {
    let mut e = event("crlf@praxis", tz("America/New_York"), ts("2026-03-09T14:00:00Z"), 30);
    e.description = "a\nb\r\nc\rd".to_string();
    let doc = render_now(&feed(vec![e]));
    assert_well_formed(&doc);
    assert!(!doc.replace("\r\n", "").contains(['\r', '\n']));
}

// ---- offsets and values ----

#[test]
fn offset_values() {
    assert_eq!(offset_value(offset(10)), "+1000");
    assert_eq!(offset_value(offset(-5)), "-0500");
    assert_eq!(offset_value(Offset::UTC), "+0000");
    assert_eq!(offset_value(Offset::from_seconds(5 * 3600 + 30 * 60).unwrap()), "+0530");
    assert_eq!(offset_value(Offset::from_seconds(-(44 * 60 + 30)).unwrap()), "-004430");
    assert_eq!(offset_value(Offset::from_seconds(-(30 * 60)).unwrap()), "-0030");
    assert_eq!(offset_value(Offset::from_seconds(3600 + 7).unwrap()), "+010007");
}

#[test]
fn utc_values_floor_subseconds() {
    assert_eq!(utc_value(ts("2026-02-03T04:05:06.999Z")), "20260203T040506Z");
    assert_eq!(utc_value(ts("1969-12-31T23:59:59.5Z")), "19691231T235959Z");
}

// ---- document structure ----

#[test]
fn empty_calendar_is_valid() {
    let doc = render_now(&feed(vec![]));
    assert_well_formed(&doc);
    assert_eq!(
        doc,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Praxis//Praxis Clinic Scheduling//EN\r\n\
         CALSCALE:GREGORIAN\r\nX-WR-CALNAME:Dr Example\r\nEND:VCALENDAR\r\n"
    );
    let doc = render_now(&Calendar { name: String::new(), method: Some(CalendarMethod::Publish), events: vec![] });
    assert_well_formed(&doc);
    assert!(doc.contains("\r\nMETHOD:PUBLISH\r\n"));
    assert!(!doc.contains("VTIMEZONE"));
    assert!(!doc.contains("X-WR-CALNAME"));
}

#[test]
fn full_event_layout() {
    let mut e =
        event("0b9f@praxis", tz("Australia/Sydney"), at("Australia/Sydney", date(2026, 4, 6).at(9, 0, 0, 0)), 30);
    e.sequence = 3;
    e.description = "Bring referral".to_string();
    e.location = "Room 2".to_string();
    e.url = Some("https://meet.example/r/1".to_string());
    e.last_modified = ts("2026-03-01T10:11:12Z");
    let cal = Calendar { name: "Praxis".to_string(), method: Some(CalendarMethod::Request), events: vec![e] };
    let doc = render_now(&cal);
    assert_well_formed(&doc);
    let lines = unfold(&doc);
    let ev = &blocks(&lines, "VEVENT")[0];
    assert_eq!(
        ev,
        &[
            "UID:0b9f@praxis",
            "SEQUENCE:3",
            "DTSTAMP:20260203T040506Z",
            "DTSTART;TZID=Australia/Sydney:20260406T090000",
            "DTEND;TZID=Australia/Sydney:20260406T093000",
            "SUMMARY:Consultation",
            "DESCRIPTION:Bring referral",
            "LOCATION:Room 2",
            "URL:https://meet.example/r/1",
            "STATUS:CONFIRMED",
            "LAST-MODIFIED:20260301T101112Z",
        ]
    );
    assert_eq!(value(&lines, "METHOD:"), Some("REQUEST"));
    // Calendar properties come before the first component.
    let first_begin = lines.iter().position(|l| l.starts_with("BEGIN:V") && l != "BEGIN:VCALENDAR").unwrap();
    let method = lines.iter().position(|l| l.starts_with("METHOD:")).unwrap();
    assert!(method < first_begin);
}

#[test]
fn optional_properties_are_omitted() {
    let mut e = event("bare@praxis", tz("Europe/London"), ts("2026-06-01T08:00:00Z"), 30);
    e.url = Some(String::new());
    let doc = render_now(&feed(vec![e]));
    for absent in ["LOCATION", "DESCRIPTION", "URL"] {
        assert!(!doc.contains(&format!("\r\n{absent}")), "{absent}");
    }
    assert!(!doc.contains("METHOD"));
}

#[test]
fn statuses() {
    for (status, text) in [
        (EventStatus::Confirmed, "CONFIRMED"),
        (EventStatus::Tentative, "TENTATIVE"),
        (EventStatus::Cancelled, "CANCELLED"),
    ] {
        let mut e = event("s@praxis", tz("Europe/London"), ts("2026-06-01T08:00:00Z"), 30);
        e.status = status;
        e.sequence = 2;
        let cal = Calendar { name: String::new(), method: Some(CalendarMethod::Cancel), events: vec![e] };
        let doc = render_now(&cal);
        assert_well_formed(&doc);
        assert!(doc.contains(&format!("\r\nSTATUS:{text}\r\n")));
        assert!(doc.contains("\r\nMETHOD:CANCEL\r\n"));
        assert!(doc.contains("\r\nSEQUENCE:2\r\n"));
    }
}

#[test]
fn deterministic_and_sorted() {
    let sydney = tz("Australia/Sydney");
    let ny = tz("America/New_York");
    let events = vec![
        event("c@praxis", ny.clone(), ts("2026-05-01T14:00:00Z"), 30),
        event("b@praxis", sydney.clone(), ts("2026-05-01T00:00:00Z"), 30),
        event("a@praxis", sydney.clone(), ts("2026-05-01T14:00:00Z"), 30),
        event("d@praxis", TimeZone::UTC, ts("2025-01-01T00:00:00Z"), 30),
    ];
    let doc = render_now(&feed(events.clone()));
    assert_eq!(doc, render_now(&feed(events.clone())));
    let mut reversed = events;
    reversed.reverse();
    assert_eq!(doc, render_now(&feed(reversed)));

    let lines = unfold(&doc);
    let uids: Vec<String> = blocks(&lines, "VEVENT").iter().map(|b| value(b, "UID:").unwrap().to_string()).collect();
    assert_eq!(uids, ["d@praxis", "b@praxis", "a@praxis", "c@praxis"]);
    let tzids: Vec<String> =
        blocks(&lines, "VTIMEZONE").iter().map(|b| value(b, "TZID:").unwrap().to_string()).collect();
    assert_eq!(tzids, ["America/New_York", "Australia/Sydney"]);
    // All VTIMEZONEs precede all VEVENTs.
    let last_tz = lines.iter().rposition(|l| l == "END:VTIMEZONE").unwrap();
    let first_ev = lines.iter().position(|l| l == "BEGIN:VEVENT").unwrap();
    assert!(last_tz < first_ev);
}

// ---- time zones ----

/// One STANDARD/DAYLIGHT sub-component as written.
#[derive(Debug, Clone, PartialEq)]
struct Obs {
    kind: String,
    dtstart: String,
    from: String,
    to: String,
    name: String,
}

fn observances(doc: &str, tzid: &str) -> Vec<Obs> {
    let lines = unfold(doc);
    let vtz = blocks(&lines, "VTIMEZONE").into_iter().find(|b| value(b, "TZID:") == Some(tzid)).unwrap();
    let mut out = Vec::new();
    let mut cur: Option<Obs> = None;
    for line in vtz {
        match line.as_str() {
            "BEGIN:STANDARD" | "BEGIN:DAYLIGHT" => {
                cur = Some(Obs {
                    kind: line[6..].to_string(),
                    dtstart: String::new(),
                    from: String::new(),
                    to: String::new(),
                    name: String::new(),
                })
            }
            "END:STANDARD" | "END:DAYLIGHT" => out.push(cur.take().unwrap()),
            _ => {
                if let Some(c) = cur.as_mut() {
                    let (k, v) = line.split_once(':').unwrap();
                    let v = v.to_string();
                    match k {
                        "DTSTART" => c.dtstart = v,
                        "TZOFFSETFROM" => c.from = v,
                        "TZOFFSETTO" => c.to = v,
                        "TZNAME" => c.name = v,
                        other => panic!("unexpected {other}"),
                    }
                }
            }
        }
    }
    out
}

fn obs(kind: &str, dtstart: &str, from: &str, to: &str, name: &str) -> Obs {
    Obs { kind: kind.into(), dtstart: dtstart.into(), from: from.into(), to: to.into(), name: name.into() }
}

fn parse_local(v: &str) -> DateTime {
    let n = |r: std::ops::Range<usize>| v[r].parse::<i16>().unwrap();
    date(n(0..4), n(4..6) as i8, n(6..8) as i8).at(n(9..11) as i8, n(11..13) as i8, n(13..15) as i8, 0)
}

fn parse_offset(v: &str) -> i64 {
    let sign = if v.starts_with('-') { -1 } else { 1 };
    let n = |r: std::ops::Range<usize>| v[r].parse::<i64>().unwrap();
    let secs = if v.len() == 7 { n(5..7) } else { 0 };
    sign * (n(1..3) * 3600 + n(3..5) * 60 + secs)
}

/// A minimal RFC 5545 client for one VTIMEZONE of a document: resolves local times using
/// only what the document says (never jiff's data), taking the first occurrence of an
/// ambiguous time.
struct Resolver {
    /// (onset instant, TZOFFSETTO in seconds), sorted by onset.
    onsets: Vec<(Timestamp, i64)>,
}

impl Resolver {
    fn new(doc: &str, tzid: &str) -> Resolver {
        let mut onsets: Vec<(Timestamp, i64)> = observances(doc, tzid)
            .iter()
            .map(|o| {
                let local = parse_local(&o.dtstart);
                let from = parse_offset(&o.from);
                let onset = local.to_zoned(TimeZone::UTC).unwrap().timestamp() - SignedDuration::from_secs(from);
                (onset, parse_offset(&o.to))
            })
            .collect();
        onsets.sort();
        Resolver { onsets }
    }

    fn offset_at(&self, t: Timestamp) -> i64 {
        self.onsets.iter().rev().find(|(on, _)| *on <= t).unwrap_or(&self.onsets[0]).1
    }

    fn resolve(&self, local: DateTime) -> Option<Timestamp> {
        let local_as_utc = local.to_zoned(TimeZone::UTC).unwrap().timestamp();
        let mut candidates: Vec<Timestamp> = self
            .onsets
            .iter()
            .map(|(_, to)| local_as_utc - SignedDuration::from_secs(*to))
            .filter(|t| local_as_utc - SignedDuration::from_secs(self.offset_at(*t)) == *t)
            .collect();
        candidates.sort();
        candidates.first().copied()
    }
}

/// What the document says each event's DTSTART/DTEND instants are, by UID.
fn instants(doc: &str) -> HashMap<String, (Timestamp, Timestamp)> {
    let lines = unfold(doc);
    let mut resolvers: HashMap<String, Resolver> = HashMap::new();
    let mut when = |b: &[String], prop: &str| -> Timestamp {
        let line = b.iter().find(|l| l.starts_with(&format!("{prop}:")) || l.starts_with(&format!("{prop};"))).unwrap();
        let (head, v) = line.split_once(':').unwrap();
        if let Some(tzid) = head.strip_prefix(&format!("{prop};TZID=")) {
            assert!(!v.ends_with('Z'));
            let resolver = resolvers.entry(tzid.to_string()).or_insert_with(|| Resolver::new(doc, tzid));
            resolver.resolve(parse_local(v)).unwrap()
        } else {
            let v = v.strip_suffix('Z').unwrap();
            parse_local(v).to_zoned(TimeZone::UTC).unwrap().timestamp()
        }
    };
    let mut out = HashMap::new();
    for b in blocks(&lines, "VEVENT") {
        let span = (when(&b, "DTSTART"), when(&b, "DTEND"));
        out.insert(value(&b, "UID:").unwrap().to_string(), span);
    }
    out
}

#[test]
fn sydney_after_fall_back() {
    let start = at("Australia/Sydney", date(2026, 4, 6).at(9, 0, 0, 0));
    assert_eq!(start, ts("2026-04-05T23:00:00Z"));
    let doc = render_now(&feed(vec![event("syd@praxis", tz("Australia/Sydney"), start, 60)]));
    assert_well_formed(&doc);
    assert!(doc.contains("\r\nDTSTART;TZID=Australia/Sydney:20260406T090000\r\n"));
    assert!(doc.contains("\r\nDTEND;TZID=Australia/Sydney:20260406T100000\r\n"));
    assert_eq!(
        observances(&doc, "Australia/Sydney"),
        [
            // In effect a year before the event: AEST since the 2025 fall-back.
            obs("STANDARD", "20250406T020000", "+1000", "+1000", "AEST"),
            obs("DAYLIGHT", "20251005T020000", "+1000", "+1100", "AEDT"),
            obs("STANDARD", "20260405T030000", "+1100", "+1000", "AEST"),
            obs("DAYLIGHT", "20261004T020000", "+1000", "+1100", "AEDT"),
            obs("STANDARD", "20270404T030000", "+1100", "+1000", "AEST"),
        ]
    );
    assert_eq!(instants(&doc)["syd@praxis"], (start, ts("2026-04-06T00:00:00Z")));
}

#[test]
fn new_york() {
    let ny = tz("America/New_York");
    let start = at("America/New_York", date(2026, 3, 9).at(9, 0, 0, 0));
    let doc = render_now(&feed(vec![event("ny@praxis", ny, start, 30)]));
    assert_well_formed(&doc);
    assert!(doc.contains("\r\nDTSTART;TZID=America/New_York:20260309T090000\r\n"));
    assert_eq!(
        observances(&doc, "America/New_York"),
        [
            obs("DAYLIGHT", "20250309T030000", "-0400", "-0400", "EDT"),
            obs("STANDARD", "20251102T020000", "-0400", "-0500", "EST"),
            obs("DAYLIGHT", "20260308T020000", "-0500", "-0400", "EDT"),
            obs("STANDARD", "20261101T020000", "-0400", "-0500", "EST"),
            // 2027-03-14 is after the event plus one year (2027-03-09): not needed.
        ]
    );
    assert_eq!(instants(&doc)["ny@praxis"].0, ts("2026-03-09T13:00:00Z"));
}

#[test]
fn london() {
    let start = at("Europe/London", date(2026, 10, 26).at(9, 0, 0, 0));
    let doc = render_now(&feed(vec![event("ldn@praxis", tz("Europe/London"), start, 30)]));
    assert_well_formed(&doc);
    assert!(doc.contains("\r\nDTSTART;TZID=Europe/London:20261026T090000\r\n"));
    assert_eq!(
        observances(&doc, "Europe/London"),
        [
            obs("STANDARD", "20251026T010000", "+0000", "+0000", "GMT"),
            obs("DAYLIGHT", "20260329T010000", "+0000", "+0100", "BST"),
            obs("STANDARD", "20261025T020000", "+0100", "+0000", "GMT"),
            obs("DAYLIGHT", "20270328T010000", "+0000", "+0100", "BST"),
            // 2027-10-31 is after the event plus one year (2027-10-26): not needed.
        ]
    );
    assert_eq!(instants(&doc)["ldn@praxis"].0, ts("2026-10-26T09:00:00Z"));
}

#[test]
fn kolkata_has_a_single_standard() {
    let start = at("Asia/Kolkata", date(2026, 4, 6).at(9, 0, 0, 0));
    let doc = render_now(&feed(vec![event("del@praxis", tz("Asia/Kolkata"), start, 30)]));
    assert_well_formed(&doc);
    assert!(doc.contains("\r\nDTSTART;TZID=Asia/Kolkata:20260406T090000\r\n"));
    let o = observances(&doc, "Asia/Kolkata");
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(
        (o[0].kind.as_str(), o[0].from.as_str(), o[0].to.as_str(), o[0].name.as_str()),
        ("STANDARD", "+0530", "+0530", "IST")
    );
    assert!(!doc.contains("DAYLIGHT"));
    assert_eq!(instants(&doc)["del@praxis"].0, ts("2026-04-06T03:30:00Z"));
}

#[test]
fn offsets_with_seconds_in_vtimezone() {
    // Liberia moved from -0:44:30 to UTC on 1972-01-07.
    let start = ts("1971-06-01T12:00:00Z");
    let doc = render_now(&feed(vec![event("mon@praxis", tz("Africa/Monrovia"), start, 30)]));
    assert_well_formed(&doc);
    let o = observances(&doc, "Africa/Monrovia");
    assert_eq!(o.first().map(|o| o.to.as_str()), Some("-004430"));
    assert!(o.iter().any(|o| o.from == "-004430" && o.to == "+0000"), "{o:?}");
    assert_eq!(instants(&doc)["mon@praxis"].0, start);
}

#[test]
fn utc_fallback() {
    let zones = [
        TimeZone::UTC,
        tz("UTC"),
        tz("Etc/UTC"),
        TimeZone::fixed(offset(5)),
        TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap(),
    ];
    for zone in zones {
        let start = ts("2026-07-01T13:30:00Z");
        let doc = render_now(&feed(vec![event("u@praxis", zone.clone(), start, 45)]));
        assert_well_formed(&doc);
        assert!(!doc.contains("VTIMEZONE"), "{zone:?}");
        assert!(!doc.contains("TZID"), "{zone:?}");
        assert!(doc.contains("\r\nDTSTART:20260701T133000Z\r\n"), "{zone:?}");
        assert!(doc.contains("\r\nDTEND:20260701T141500Z\r\n"), "{zone:?}");
    }
}

#[test]
fn second_pass_through_a_fold_is_written_in_utc() {
    let ny = tz("America/New_York");
    // 2026-11-01 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST).
    let first = event("first@praxis", ny.clone(), ts("2026-11-01T05:30:00Z"), 15);
    let second = event("second@praxis", ny.clone(), ts("2026-11-01T06:30:00Z"), 15);
    let doc = render_now(&feed(vec![first, second]));
    assert_well_formed(&doc);
    let lines = unfold(&doc);
    let evs = blocks(&lines, "VEVENT");
    assert_eq!(value(&evs[0], "DTSTART;TZID=America/New_York:"), Some("20261101T013000"));
    assert_eq!(value(&evs[0], "DTEND;TZID=America/New_York:"), Some("20261101T014500"));
    assert_eq!(value(&evs[1], "DTSTART:"), Some("20261101T063000Z"));
    assert_eq!(value(&evs[1], "DTEND:"), Some("20261101T064500Z"));
    let got = instants(&doc);
    assert_eq!(got["first@praxis"].0, ts("2026-11-01T05:30:00Z"));
    assert_eq!(got["second@praxis"].0, ts("2026-11-01T06:30:00Z"));
}

#[test]
fn end_before_start_is_clamped() {
    let mut e = event("neg@praxis", tz("Europe/London"), ts("2026-06-01T08:00:00Z"), 30);
    e.end = ts("2026-06-01T07:00:00Z");
    let doc = render_now(&feed(vec![e]));
    assert!(doc.contains("\r\nDTEND;TZID=Europe/London:20260601T090000\r\n"));
}

#[test]
fn vtimezone_covers_all_events_of_the_zone() {
    let syd = tz("Australia/Sydney");
    let events = vec![
        event("early@praxis", syd.clone(), ts("2024-01-10T00:00:00Z"), 30),
        event("late@praxis", syd.clone(), ts("2028-01-10T00:00:00Z"), 30),
    ];
    let doc = render_now(&feed(events));
    let o = observances(&doc, "Australia/Sydney");
    // DST in effect on 2023-01-10 began 2022-10-02 02:00 AEST = 03:00 AEDT (written in its
    // own offset, since TZOFFSETFROM = TZOFFSETTO for the first observance).
    assert_eq!(o.first().unwrap().dtstart, "20221002T030000");
    assert_eq!((o[0].kind.as_str(), o[0].from.as_str(), o[0].to.as_str()), ("DAYLIGHT", "+1100", "+1100"));
    assert_eq!(o.last().unwrap().dtstart, "20281001T020000"); // last onset before 2029-01-10
    assert_eq!(o.len(), 1 + 2 * 6);
}

/// Every hour (and half hour) across two years round-trips through the document's own
/// VTIMEZONE, in zones with DST on either hemisphere, half-hour offsets, and none.
#[test]
fn every_instant_round_trips_through_the_vtimezone() {
    for zone in ["Australia/Sydney", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe"] {
        let z = tz(zone);
        let mut events = Vec::new();
        let mut t = ts("2025-12-31T00:00:00Z");
        let stop = ts("2027-01-02T00:00:00Z");
        let mut i = 0;
        while t < stop {
            events.push(event(&format!("{i:05}@praxis"), z.clone(), t, 30));
            t += SignedDuration::from_mins(30);
            i += 1;
        }
        let doc = render_now(&feed(events.clone()));
        assert_well_formed(&doc);
        let got = instants(&doc);
        for e in &events {
            assert_eq!(got[&e.uid], (e.start, e.end), "{zone} {}", e.start);
        }
    }
}

// ---- cross-check with an independent implementation ----

/// Pipes rendered documents through `crates/praxis/tests/it/check_ics.py` (Python's
/// `icalendar`, resolving TZIDs through the embedded VTIMEZONEs). Skipped when python3 or
/// the package is missing; the integration suite is the gate that requires it.
#[test]
fn python_icalendar_agrees() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let has_icalendar =
        Command::new("python3").args(["-c", "import icalendar"]).output().map(|o| o.status.success()).unwrap_or(false);
    if !has_icalendar {
        println!("skipped: python3 with the icalendar package is not available");
        return;
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../praxis/tests/it/check_ics.py");

    let cases: Vec<(&str, &str, DateTime, i64)> = vec![
        ("syd-after-fallback", "Australia/Sydney", date(2026, 4, 6).at(9, 0, 0, 0), 60),
        ("syd-before-fallback", "Australia/Sydney", date(2026, 4, 4).at(9, 0, 0, 0), 60),
        ("syd-after-springforward", "Australia/Sydney", date(2026, 10, 5).at(9, 0, 0, 0), 30),
        ("ny-spring", "America/New_York", date(2026, 3, 8).at(3, 30, 0, 0), 30),
        ("ny-fall-first", "America/New_York", date(2026, 11, 1).at(1, 30, 0, 0), 15),
        ("ldn-summer", "Europe/London", date(2026, 7, 1).at(9, 0, 0, 0), 30),
        ("ldn-winter", "Europe/London", date(2026, 12, 1).at(9, 0, 0, 0), 30),
        ("del", "Asia/Kolkata", date(2026, 4, 6).at(9, 0, 0, 0), 30),
    ];
    let mut events: Vec<CalendarEvent> =
        cases.iter().map(|(uid, zone, local, mins)| event(uid, tz(zone), at(zone, *local), *mins)).collect();
    // Second pass through the New York fold, written in UTC.
    events.push(event("ny-fall-second", tz("America/New_York"), ts("2026-11-01T06:30:00Z"), 15));
    events.push(event("utc", TimeZone::UTC, ts("2026-05-05T05:05:05Z"), 10));
    events[0].status = EventStatus::Cancelled;
    events[0].summary = "Follow-up, Dr. Ng; room 1".to_string();
    events[0].description = "multi\nline".to_string();
    let cal = Calendar { name: "Check".to_string(), method: Some(CalendarMethod::Publish), events: events.clone() };
    let doc = render_now(&cal);

    let mut child = Command::new("python3")
        .arg(&script)
        .arg("--strict")
        .arg("--compare-system-tz")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(doc.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "check_ics.py failed: {}\n{doc}", String::from_utf8_lossy(&out.stderr));
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let parsed = parsed.as_array().unwrap();
    assert_eq!(parsed.len(), events.len());
    let by_uid: HashMap<&str, &serde_json::Value> = parsed.iter().map(|v| (v["uid"].as_str().unwrap(), v)).collect();
    for e in &events {
        let v = by_uid[e.uid.as_str()];
        let got_start: Timestamp = v["start_utc"].as_str().unwrap().parse().unwrap();
        let got_end: Timestamp = v["end_utc"].as_str().unwrap().parse().unwrap();
        assert_eq!((got_start, got_end), (e.start, e.end), "{}", e.uid);
        assert_eq!(v["summary"].as_str(), Some(e.summary.as_str()));
        assert_eq!(v["status"].as_str(), Some(e.status.as_ical()));
    }
    assert_eq!(by_uid["syd-after-fallback"]["start_utc"], "2026-04-05T23:00:00Z");
    assert_eq!(by_uid["syd-after-fallback"]["tzid"], "Australia/Sydney");
    assert_eq!(by_uid["ny-fall-first"]["start_utc"], "2026-11-01T05:30:00Z");
    assert_eq!(by_uid["ny-fall-second"]["start_utc"], "2026-11-01T06:30:00Z");
    assert_eq!(by_uid["ny-fall-second"]["tzid"], serde_json::Value::Null);
    assert_eq!(by_uid["utc"]["tzid"], serde_json::Value::Null);

    // And the script rejects a broken document.
    let broken = doc.replacen("UID:", "X-NOT-UID:", 1);
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(broken.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("UID"));
}
