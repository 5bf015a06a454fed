#!/usr/bin/env python3
"""Independent check of an iCalendar (.ics) document produced by Praxis.

Reads one RFC 5545 document from stdin, parses it with the `icalendar` package and prints
a JSON array with one object per VEVENT:

    {"uid", "status", "summary", "start_utc", "end_utc", "tzid"}

start_utc/end_utc are ISO-8601 UTC instants ("2026-04-05T23:00:00Z") computed by the
Python library, not copied from the document: a DTSTART/DTEND with TZID is resolved
through the document's *own* VTIMEZONE (icalendar's `Timezone.to_tz(lookup_tzid=False)`,
i.e. dateutil's tzical), never through the system tz database, so a wrong VTIMEZONE shows
up as a wrong instant. An ambiguous local time resolves to its first occurrence, as RFC
5545 (3.3.5) requires. `tzid` is DTSTART's TZID parameter, or null for a UTC time.
Events are listed in document order; "status" is null when absent.

Exits 1 with a message on stderr if the document does not parse, a VEVENT lacks UID,
DTSTART or DTEND, a TZID has no VTIMEZONE, or a time is floating or a bare date.

Options:
  --strict             also check the framing: CRLF line endings only, no physical line
                       over 75 octets, valid UTF-8, every line unfoldable.
  --compare-system-tz  also resolve each TZID time through the system tz database (what
                       icalendar does by default for known zone names) and fail if the two
                       instants differ, i.e. if the embedded VTIMEZONE disagrees with it.

Usage: python3 crates/praxis/tests/it/check_ics.py [--strict] [--compare-system-tz] < cal.ics
Needs: pip install icalendar
"""

import json
import sys
from datetime import date, datetime, timezone


def fail(message):
    print(f"check_ics: {message}", file=sys.stderr)
    sys.exit(1)


def check_framing(raw):
    """RFC 5545 3.1: CRLF line breaks, lines of at most 75 octets."""
    if not raw:
        fail("empty document")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"not UTF-8: {e}")
    if not raw.endswith(b"\r\n"):
        fail("the document does not end with CRLF")
    lines = raw[:-2].split(b"\r\n")
    for number, line in enumerate(lines, 1):
        if b"\n" in line or b"\r" in line:
            fail(f"line {number}: bare CR or LF (lines must end with CRLF)")
        if len(line) > 75:
            fail(f"line {number}: {len(line)} octets, more than 75: {line[:40]!r}...")
        if not line:
            fail(f"line {number}: empty line")
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            fail(f"line {number}: folded inside a UTF-8 character")


def iso_utc(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(argv):
    unknown = [a for a in argv if a not in ("--strict", "--compare-system-tz")]
    if unknown:
        fail(f"unknown arguments {unknown}; usage: check_ics.py [--strict] [--compare-system-tz] < cal.ics")
    strict = "--strict" in argv
    compare_system = "--compare-system-tz" in argv

    try:
        import icalendar
    except ImportError:
        fail("the Python package 'icalendar' is not installed (pip install icalendar)")

    raw = sys.stdin.buffer.read()
    if strict:
        check_framing(raw)
    if not raw.strip():
        fail("empty document")

    try:
        cal = icalendar.Calendar.from_ical(raw)
    except Exception as e:  # the library raises ValueError and friends
        fail(f"cannot parse the document: {e}")
    if getattr(cal, "name", None) != "VCALENDAR":
        fail(f"top-level component is {getattr(cal, 'name', None)!r}, not VCALENDAR")
    for component in cal.walk():
        if component.errors:
            fail(f"{component.name}: {component.errors}")

    # TZID -> tzinfo built from the embedded VTIMEZONE only.
    zones = {}
    for vtz in cal.walk("VTIMEZONE"):
        if "TZID" not in vtz:
            fail("a VTIMEZONE has no TZID")
        tzid = str(vtz["TZID"])
        if tzid in zones:
            fail(f"two VTIMEZONEs with TZID {tzid}")
        try:
            zones[tzid] = vtz.to_tz(lookup_tzid=False)
        except Exception as e:
            fail(f"VTIMEZONE {tzid} is unusable: {e}")

    def instant(event, name, uid):
        prop = event[name]
        tzid = prop.params.get("TZID")
        try:
            decoded = event.decoded(name)
        except Exception as e:
            fail(f"VEVENT {uid}: {name} does not parse: {e}")
        if not isinstance(decoded, datetime):
            fail(f"VEVENT {uid}: {name} is a date, not a date-time")
        if tzid is None:
            if decoded.tzinfo is None:
                fail(f"VEVENT {uid}: {name} is a floating time (no TZID, no Z)")
            return decoded.astimezone(timezone.utc), None
        tzid = str(tzid)
        if tzid not in zones:
            fail(f"VEVENT {uid}: {name} uses TZID {tzid} but there is no VTIMEZONE for it")
        # The wall-clock time as written, placed in the embedded zone (fold=0: the first
        # occurrence of an ambiguous time).
        local = decoded.replace(tzinfo=None, fold=0)
        resolved = local.replace(tzinfo=zones[tzid]).astimezone(timezone.utc)
        if compare_system and decoded.tzinfo is not None:
            system = decoded.replace(fold=0).astimezone(timezone.utc)
            if system != resolved:
                fail(
                    f"VEVENT {uid}: {name} {local.isoformat()} {tzid} is {iso_utc(resolved)} by the "
                    f"embedded VTIMEZONE but {iso_utc(system)} by the system tz database"
                )
        return resolved, tzid

    out = []
    for event in cal.walk("VEVENT"):
        missing = [p for p in ("UID", "DTSTART", "DTEND") if p not in event]
        if missing:
            uid = str(event.get("UID", "?"))
            fail(f"VEVENT {uid} lacks {', '.join(missing)}")
        uid = str(event["UID"])
        start, tzid = instant(event, "DTSTART", uid)
        end, _ = instant(event, "DTEND", uid)
        if end < start:
            fail(f"VEVENT {uid}: DTEND is before DTSTART")
        status = event.get("STATUS")
        out.append(
            {
                "uid": uid,
                "status": None if status is None else str(status),
                "summary": str(event.get("SUMMARY", "")),
                "start_utc": iso_utc(start),
                "end_utc": iso_utc(end),
                "tzid": tzid,
            }
        )
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
