//! Search parameters: which each resource type supports, and reading their values —
//! dates with FHIR's comparison prefixes, tokens, references and paging. Anything this
//! server does not support is refused with a 400 naming what is, never silently
//! ignored, so a client never mistakes an unfiltered answer for a filtered one.

use crate::{Outcome, ResourceType};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// A supported search parameter.
#[derive(Clone, Copy, Debug)]
pub struct SearchParam {
    /// Its name.
    pub name: &'static str,
    /// FHIR's parameter type (`token`, `date`, `reference`, `string`).
    pub kind: &'static str,
    /// What it matches.
    pub doc: &'static str,
}

const fn p(name: &'static str, kind: &'static str, doc: &'static str) -> SearchParam {
    SearchParam { name, kind, doc }
}

const ID: SearchParam = p("_id", "token", "The resource id.");

/// The parameters each type supports.
pub fn params_of(t: ResourceType) -> &'static [SearchParam] {
    const PATIENT: &[SearchParam] = &[
        ID,
        p("identifier", "token", "The record number (P000123), exactly."),
        p("name", "string", "Part of a name, accents and case ignored."),
        p("active", "token", "true for current records, false for archived ones."),
        p("birthdate", "date", "The date of birth, exactly (YYYY-MM-DD)."),
    ];
    const PRACTITIONER: &[SearchParam] =
        &[ID, p("name", "string", "Part of the name."), p("active", "token", "Bookable or not.")];
    const ROLE: &[SearchParam] = &[
        ID,
        p("practitioner", "reference", "The provider."),
        p("location", "reference", "The clinic."),
        p("service", "reference", "A HealthcareService the provider offers."),
        p("active", "token", "Bookable or not."),
    ];
    const LOCATION: &[SearchParam] =
        &[ID, p("name", "string", "Part of the name."), p("status", "token", "active or inactive.")];
    const SERVICE: &[SearchParam] =
        &[ID, p("name", "string", "Part of the name."), p("active", "token", "Bookable or not.")];
    const SCHEDULE: &[SearchParam] = &[
        ID,
        p("actor", "reference", "The provider (Practitioner/…) or the clinic (Location/…)."),
        p("active", "token", "Bookable or not."),
    ];
    const SLOT: &[SearchParam] = &[
        p("service-type", "token", "Required: the HealthcareService id (system urn:praxis:service)."),
        p("schedule", "reference", "One or more schedules (a provider at a clinic), comma-separated."),
        p(
            "start",
            "date",
            "Start range, with prefixes ge, gt, le, lt or eq (default: the next 14 days; at most 88 days).",
        ),
        p("end", "date", "End range, with the same prefixes (a Praxis parameter: slots ending inside it)."),
        p("status", "token", "free (the only status offered)."),
    ];
    const APPOINTMENT: &[SearchParam] = &[
        ID,
        p("patient", "reference", "A participating patient."),
        p("practitioner", "reference", "The provider."),
        p("location", "reference", "The clinic."),
        p("date", "date", "Start range, with prefixes ge, gt, le, lt or eq."),
        p("status", "token", "One or more statuses, comma-separated."),
    ];
    match t {
        ResourceType::Patient => PATIENT,
        ResourceType::Practitioner => PRACTITIONER,
        ResourceType::PractitionerRole => ROLE,
        ResourceType::Location => LOCATION,
        ResourceType::HealthcareService => SERVICE,
        ResourceType::Schedule => SCHEDULE,
        ResourceType::Slot => SLOT,
        ResourceType::Appointment => APPOINTMENT,
    }
}

/// The default and the largest page size of a type: slots are computed and cheap to
/// page through in memory; patients and appointments are paged by the database.
pub fn page_limits(t: ResourceType) -> (i64, i64) {
    match t {
        ResourceType::Slot => (100, 1000),
        _ => (50, 200),
    }
}

/// A page of results: 1-based page number and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    /// From 1.
    pub page: i64,
    /// Entries per page.
    pub count: i64,
}

impl Paging {
    /// Entries to skip.
    pub fn offset(&self) -> usize {
        usize::try_from((self.page - 1).saturating_mul(self.count)).unwrap_or(usize::MAX)
    }

    /// This page of an in-memory list.
    pub fn slice<T>(&self, items: Vec<T>) -> Vec<T> {
        items.into_iter().skip(self.offset()).take(usize::try_from(self.count).unwrap_or(0)).collect()
    }
}

/// A half-open range of instants; either end may be open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub until: Option<Timestamp>,
}

impl Window {
    fn narrow(&mut self, from: Option<Timestamp>, until: Option<Timestamp>) {
        if let Some(f) = from {
            self.from = Some(self.from.map_or(f, |c| c.max(f)));
        }
        if let Some(u) = until {
            self.until = Some(self.until.map_or(u, |c| c.min(u)));
        }
    }
}

/// The parameters of one search request.
#[derive(Clone, Debug)]
pub struct Params {
    resource: ResourceType,
    pairs: Vec<(String, String)>,
    paging: Paging,
}

impl Params {
    /// Reads a query string for `resource`, refusing unknown parameters, modifiers and
    /// page sizes beyond the type's limit.
    pub fn parse(resource: ResourceType, query: &str) -> Result<Params, Outcome> {
        let supported = resource.search_params();
        let mut pairs = Vec::new();
        let (default_count, max_count) = page_limits(resource);
        let mut paging = Paging { page: 1, count: default_count };
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let (k, v) = (k.into_owned(), v.trim().to_string());
            match k.as_str() {
                "_format" => {
                    if !matches!(v.as_str(), "json" | "application/json" | "application/fhir+json" | "") {
                        return Err(Outcome::new(406, "not-supported", "Only JSON is served: use _format=json."));
                    }
                }
                "_pretty" => {}
                "_count" => paging.count = number(&k, &v, 1, max_count)?,
                "_page" => paging.page = number(&k, &v, 1, 1_000_000)?,
                _ if supported.iter().any(|s| s.name == k) => {
                    if !v.is_empty() {
                        pairs.push((k, v));
                    }
                }
                _ => {
                    let names: Vec<&str> = supported.iter().map(|s| s.name).collect();
                    let hint = if k.contains(':') { " Modifiers are not supported." } else { "" };
                    return Err(Outcome::invalid(
                        &k,
                        format!(
                            "{} does not support the search parameter {k:?}.{hint} Use {}, _count or _page.",
                            resource.as_str(),
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(Params { resource, pairs, paging })
    }

    /// The page asked for.
    pub fn paging(&self) -> Paging {
        self.paging
    }

    /// The query string of the same search at another page (for Bundle links).
    pub fn query_for_page(&self, page: i64) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            q.append_pair(k, v);
        }
        q.append_pair("_count", &self.paging.count.to_string());
        q.append_pair("_page", &page.to_string());
        q.finish()
    }

    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The value of a parameter that may appear once.
    pub fn one<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, Outcome> {
        let mut it = self.values(name);
        let first = it.next();
        if it.next().is_some() {
            return Err(Outcome::invalid(name, format!("Give {name} once (separate alternatives with commas).")));
        }
        Ok(first)
    }

    /// A text parameter (FHIR `string`), at most 200 characters.
    pub fn text(&self, name: &str) -> Result<Option<String>, Outcome> {
        match self.one(name)? {
            Some(v) if v.chars().count() > 200 => Err(Outcome::invalid(name, format!("{name} is too long."))),
            other => Ok(other.map(str::to_string)),
        }
    }

    /// A `true`/`false` token.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, Outcome> {
        match self.one(name)? {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(Outcome::invalid(name, format!("{name} is true or false, not {v:?}."))),
        }
    }

    /// The comma-separated codes of a token parameter (systems stripped after checking
    /// they are `system`, when one is given).
    pub fn codes(&self, name: &str, system: Option<&str>) -> Result<Vec<String>, Outcome> {
        let mut out = Vec::new();
        for v in self.values(name) {
            for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let code = match part.split_once('|') {
                    Some((sys, code)) if sys.is_empty() || Some(sys) == system => code,
                    Some((sys, _)) => {
                        return Err(Outcome::invalid(
                            name,
                            format!(
                                "{name} uses the system {}, not {sys:?}.",
                                system.unwrap_or("(none: give the code alone)")
                            ),
                        ));
                    }
                    None => part,
                };
                out.push(code.to_string());
            }
        }
        Ok(out)
    }

    /// The ids of a reference parameter: `Type/id`, a full URL ending in it, or a bare id;
    /// comma-separated alternatives. A reference to another type is refused.
    pub fn references(&self, name: &str, of: &[ResourceType]) -> Result<Vec<(ResourceType, String)>, Outcome> {
        let mut out = Vec::new();
        for v in self.values(name) {
            for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let segments: Vec<&str> = part.trim_end_matches('/').rsplitn(3, '/').collect();
                let (ty, id) = match segments.as_slice() {
                    [id] if of.len() == 1 => (of[0], *id),
                    [id, ty, ..] => match ResourceType::parse(ty).filter(|t| of.contains(t)) {
                        Some(t) => (t, *id),
                        None => return Err(wrong_reference(name, part, of)),
                    },
                    _ => return Err(wrong_reference(name, part, of)),
                };
                if !crate::ids::is_fhir_id(id) {
                    return Err(Outcome::invalid(name, format!("{part:?} is not a valid reference.")));
                }
                out.push((ty, id.to_string()));
            }
        }
        Ok(out)
    }

    /// The range a date parameter describes: every occurrence narrows it (so
    /// `start=ge2026-03-01&start=lt2026-04-01` is March). A date or a time without an
    /// offset is read in `zone`.
    pub fn window(&self, name: &str, zone: &TimeZone) -> Result<Window, Outcome> {
        let mut w = Window::default();
        for v in self.values(name) {
            let (prefix, rest) = match v.get(..2) {
                Some(pre) if pre.bytes().all(|b| b.is_ascii_lowercase()) => (pre, &v[2..]),
                _ => ("eq", v),
            };
            let (lo, hi) = instant_range(rest, zone).ok_or_else(|| {
                Outcome::invalid(
                    name,
                    format!(
                        "{name}={v:?} is not a FHIR date: use 2026-03-02 or 2026-03-02T09:00:00+11:00, \
                         optionally after ge, gt, le, lt or eq."
                    ),
                )
            })?;
            match prefix {
                "eq" => w.narrow(Some(lo), Some(hi)),
                "ge" => w.narrow(Some(lo), None),
                "gt" => w.narrow(Some(hi), None),
                "le" => w.narrow(None, Some(hi)),
                "lt" => w.narrow(None, Some(lo)),
                other => {
                    return Err(Outcome::invalid(
                        name,
                        format!("The prefix {other:?} is not supported for {name}; use ge, gt, le, lt or eq."),
                    ));
                }
            }
        }
        Ok(w)
    }

    /// The resource type searched.
    pub fn resource(&self) -> ResourceType {
        self.resource
    }
}

fn wrong_reference(name: &str, part: &str, of: &[ResourceType]) -> Outcome {
    let types: Vec<&str> = of.iter().map(|t| t.as_str()).collect();
    Outcome::invalid(name, format!("{name}={part:?} must refer to {} (Type/id).", types.join(" or ")))
}

fn number(name: &str, v: &str, min: i64, max: i64) -> Result<i64, Outcome> {
    v.parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| Outcome::invalid(name, format!("{name} is a whole number from {min} to {max}, not {v:?}.")))
}

/// The instants a FHIR date or dateTime covers, at its precision: a year, a month, a day
/// or a second.
pub fn instant_range(v: &str, zone: &TimeZone) -> Option<(Timestamp, Timestamp)> {
    let start_of = |d: Date| d.to_zoned(zone.clone()).ok().map(|z| z.timestamp());
    let bytes = v.as_bytes();
    let digits = |r: std::ops::Range<usize>| bytes.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    match v.len() {
        4 if digits(0..4) => {
            let d = Date::new(v.parse().ok()?, 1, 1).ok()?;
            Some((start_of(d)?, start_of(d.checked_add(jiff::Span::new().years(1)).ok()?)?))
        }
        7 if digits(0..4) && bytes[4] == b'-' && digits(5..7) => {
            let d = Date::new(v[..4].parse().ok()?, v[5..].parse().ok()?, 1).ok()?;
            Some((start_of(d)?, start_of(d.checked_add(jiff::Span::new().months(1)).ok()?)?))
        }
        10 => {
            let d: Date = v.parse().ok()?;
            Some((start_of(d)?, start_of(d.tomorrow().ok()?)?))
        }
        _ if v.contains('T') && digits(0..4) => {
            let time = v.get(10..)?;
            let has_offset = v.ends_with('Z') || time.contains('+') || time.contains('-');
            let t = if has_offset {
                v.parse::<Timestamp>().ok()?
            } else {
                v.parse::<DateTime>().ok()?.to_zoned(zone.clone()).ok()?.timestamp()
            };
            Some((t, t.checked_add(jiff::SignedDuration::from_secs(1)).ok()?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes_narrow_a_window_and_dates_are_read_in_the_zone() {
        let zone = TimeZone::get("Australia/Sydney").unwrap();
        let p = Params::parse(ResourceType::Slot, "start=ge2026-03-02&start=lt2026-03-04").unwrap();
        let w = p.window("start", &zone).unwrap();
        assert_eq!(w.from, Some(ts("2026-03-01T13:00:00Z")), "midnight in Sydney, summer time");
        assert_eq!(w.until, Some(ts("2026-03-03T13:00:00Z")));
        let p = Params::parse(ResourceType::Slot, "start=2026-03-02T09:00:00%2B11:00").unwrap();
        let w = p.window("start", &zone).unwrap();
        assert_eq!((w.from, w.until), (Some(ts("2026-03-01T22:00:00Z")), Some(ts("2026-03-01T22:00:01Z"))));
        let p = Params::parse(ResourceType::Slot, "start=gt2026-03&start=le2026").unwrap();
        let w = p.window("start", &TimeZone::UTC).unwrap();
        assert_eq!((w.from, w.until), (Some(ts("2026-04-01T00:00:00Z")), Some(ts("2027-01-01T00:00:00Z"))));
    }

    #[test]
    fn malformed_parameters_are_refused_with_what_to_send() {
        let bad = |q: &str| Params::parse(ResourceType::Slot, q).and_then(|p| p.window("start", &TimeZone::UTC));
        for q in [
            "start=tomorrow",
            "start=2026-13-01",
            "start=sa2026-03-01",
            "start=ge2026-3-1",
            "start=2026-03-01T25:00:00Z",
        ] {
            let e = bad(q).unwrap_err();
            assert_eq!((e.status, e.code), (400, "invalid"), "{q}");
            assert_eq!(e.expression, vec!["start".to_string()]);
        }
        for q in
            ["_count=-1", "_count=0", "_count=many", "_page=0", "_count=1001", "start:missing=true", "practitioner=x"]
        {
            let e = Params::parse(ResourceType::Slot, q).unwrap_err();
            assert_eq!(e.status, 400, "{q}");
        }
        assert_eq!(Params::parse(ResourceType::Slot, "_format=xml").unwrap_err().status, 406);
        let p = Params::parse(ResourceType::Appointment, "patient=Practitioner/1").unwrap();
        assert_eq!(p.references("patient", &[ResourceType::Patient]).unwrap_err().status, 400);
        let p = Params::parse(ResourceType::Appointment, "status=booked&status=pending").unwrap();
        assert_eq!(p.one("status").unwrap_err().status, 400, "a single-valued parameter given twice");
    }

    #[test]
    fn references_and_tokens_read_every_spelling() {
        let p = Params::parse(
            ResourceType::Appointment,
            "patient=http://x/fhir/r4/Patient/abc,Patient/def,ghi&status=booked,pending",
        )
        .unwrap();
        let refs = p.references("patient", &[ResourceType::Patient]).unwrap();
        let ids: Vec<&str> = refs.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids, ["abc", "def", "ghi"]);
        assert_eq!(p.codes("status", None).unwrap(), ["booked", "pending"]);
        let p = Params::parse(ResourceType::Slot, "service-type=urn:praxis:service|x1").unwrap();
        assert_eq!(p.codes("service-type", Some("urn:praxis:service")).unwrap(), ["x1"]);
        assert!(p.codes("service-type", Some("http://snomed.info/sct")).is_err());
    }

    #[test]
    fn paging_links_keep_the_search_and_move_the_page() {
        let p = Params::parse(ResourceType::Slot, "status=free&_count=5&_page=2").unwrap();
        assert_eq!(p.paging(), Paging { page: 2, count: 5 });
        assert_eq!(p.query_for_page(3), "status=free&_count=5&_page=3");
        assert_eq!(p.paging().slice((0..20).collect()), vec![5, 6, 7, 8, 9]);
    }

    proptest! {
        #[test]
        fn any_query_string_parses_or_is_refused_without_panicking(q in "[ -~]{0,60}") {
            for t in ResourceType::ALL {
                if let Ok(p) = Params::parse(t, &q) {
                    for s in t.search_params() {
                        let _ = p.window(s.name, &TimeZone::UTC);
                        let _ = p.references(s.name, &ResourceType::ALL);
                        let _ = p.codes(s.name, None);
                        let _ = p.boolean(s.name);
                    }
                }
            }
        }

        #[test]
        fn a_day_covers_exactly_its_instants(y in 1970i16..2100, m in 1i8..=12, d in 1i8..=28) {
            let zone = TimeZone::get("America/New_York").unwrap();
            let date = Date::new(y, m, d).unwrap();
            let (lo, hi) = instant_range(&date.to_string(), &zone).unwrap();
            prop_assert_eq!(lo.to_zoned(zone.clone()).date(), date);
            prop_assert_eq!(hi.to_zoned(zone.clone()).date(), date.tomorrow().unwrap());
            prop_assert_eq!(hi.to_zoned(zone.clone()).time(), jiff::civil::time(0, 0, 0, 0));
        }
    }
}
