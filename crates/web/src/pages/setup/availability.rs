//! A provider's availability: weekly hours per clinic and weekday, dated exceptions
//! (leave or changed hours), and a preview of the free times they give over the coming
//! week for one service — so whoever edits the hours sees at once what patients will see.

use super::{Fields, Opt, Reader, Refusal, done, fmt_date, fmt_range, layout, path_id};
use crate::csrf::CsrfToken;
use crate::extract::{PageActor, urlencode};
use crate::pages::{Layout, PageError, PageResult, zone_label};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use jiff::SignedDuration;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use praxis_domain::{AvailabilityWindowId, ClinicId, ExceptionId, Permission, ProviderId};
use praxis_services::availability::{
    AvailabilityExceptionView, AvailabilityWindow, Closure, ExceptionInput, HoursRange, WindowInput, weekday_name,
};
use praxis_services::catalog::{Clinic, Provider, Service};
use praxis_services::scheduling::{SlotQuery, SlotView};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/setup/providers/{id}/availability", get(page))
        .route("/setup/providers/{id}/availability/windows", post(add_window))
        .route("/setup/providers/{id}/availability/windows/{window}/remove", post(remove_window))
        .route("/setup/providers/{id}/availability/exceptions", post(add_exception))
        .route("/setup/providers/{id}/availability/exceptions/{exception}/remove", post(remove_exception))
}

const WINDOW_FIELDS: &[&str] = &["clinic_id", "weekday", "start", "end", "valid_from", "valid_until"];
const EXCEPTION_FIELDS: &[&str] = &["from", "until", "kind", "clinic_id", "hours", "reason"];
const WEEK: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];
/// Days the preview covers, today included.
const PREVIEW_DAYS: i64 = 7;

/// "Monday".
fn day_label(w: Weekday) -> String {
    let name = weekday_name(w);
    let mut chars = name.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// "from Mon 2 Mar 2026", "until …", "Mon 2 Mar – Tue 30 Jun 2026", or "" for always.
fn validity(from: Option<Date>, until: Option<Date>) -> String {
    match (from, until) {
        (Some(f), Some(u)) => fmt_range(f, u),
        (Some(f), None) => format!("from {}", fmt_date(f)),
        (None, Some(u)) => format!("until {}", fmt_date(u)),
        (None, None) => String::new(),
    }
}

#[derive(Deserialize)]
struct PageQuery {
    service: Option<String>,
    msg: Option<String>,
}

/// The add-window form, as typed.
#[derive(Default, Deserialize)]
struct WindowForm {
    #[serde(default)]
    clinic_id: String,
    #[serde(default)]
    weekday: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_until: String,
    /// The service the preview shows (kept across the post).
    #[serde(default)]
    service: String,
}

/// The add-exception form, as typed. Changed hours take up to two ranges (a split day).
#[derive(Default, Deserialize)]
struct ExceptionForm {
    #[serde(default)]
    clinic_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    start1: String,
    #[serde(default)]
    end1: String,
    #[serde(default)]
    start2: String,
    #[serde(default)]
    end2: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    service: String,
}

/// A remove button's form: only the preview's service to come back to.
#[derive(Default, Deserialize)]
struct BackForm {
    #[serde(default)]
    service: String,
}

struct WindowRow {
    id: String,
    hours: String,
    validity: String,
}

struct DayRow {
    day: String,
    windows: Vec<WindowRow>,
}

struct ClinicWeek {
    name: String,
    zone: String,
    linked: bool,
    days: Vec<DayRow>,
}

struct ExceptionRow {
    id: String,
    dates: String,
    place: String,
    what: String,
    reason: String,
}

struct PreviewDay {
    date: String,
    label: String,
    times: Vec<String>,
    note: String,
}

struct PreviewClinic {
    name: String,
    zone: String,
    days: Vec<PreviewDay>,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_availability.html")]
struct AvailabilityPage {
    layout: Layout,
    provider: Provider,
    can_edit_profile: bool,
    weeks: Vec<ClinicWeek>,
    exceptions: Vec<ExceptionRow>,
    window_form: WindowForm,
    wf: Fields,
    window_clinics: Vec<Opt>,
    weekdays: Vec<Opt>,
    exception_form: ExceptionForm,
    ef: Fields,
    exception_clinics: Vec<Opt>,
    kinds: Vec<Opt>,
    preview_services: Vec<Opt>,
    preview_service: String,
    preview_title: String,
    preview: Vec<PreviewClinic>,
    preview_note: Option<String>,
}

/// Everything the page shows besides the two forms.
struct Loaded {
    provider: Provider,
    clinics: Vec<Clinic>,
    windows: Vec<AvailabilityWindow>,
    exceptions: Vec<AvailabilityExceptionView>,
    offered: Vec<Service>,
}

async fn load(st: &AppState, actor: &Actor, id: ProviderId) -> Result<Loaded, PageError> {
    let provider = st.svc.get_provider(actor, id).await?;
    let availability = st.svc.provider_availability(actor, id).await?;
    let clinics = st.svc.list_clinics(actor).await?;
    let mut offered: Vec<Service> = st
        .svc
        .list_services(actor)
        .await?
        .into_iter()
        .filter(|s| s.active && provider.service_ids.contains(&s.id))
        .collect();
    offered.sort_by_key(|s| s.name.to_lowercase());
    Ok(Loaded { provider, clinics, windows: availability.windows, exceptions: availability.exceptions, offered })
}

/// Why a day of the preview has no times.
fn empty_day_note(
    date: Date,
    clinic: ClinicId,
    windows: &[AvailabilityWindow],
    exceptions: &[AvailabilityExceptionView],
    closures: &[Closure],
) -> String {
    if let Some(c) = closures.iter().find(|c| c.clinic_id == clinic && c.from <= date && date <= c.until) {
        return if c.reason.is_empty() { "Clinic closed.".into() } else { format!("Clinic closed: {}.", c.reason) };
    }
    let exception =
        exceptions.iter().find(|e| e.from <= date && date <= e.until && e.clinic_id.is_none_or(|c| c == clinic));
    if let Some(e) = exception {
        let why = if e.reason.is_empty() { String::new() } else { format!(": {}", e.reason) };
        return if e.kind == "closed" {
            format!("Not working (exception{why}).")
        } else {
            format!("Changed hours (exception{why}); none of them is free.")
        };
    }
    let day = weekday_name(date.weekday());
    let works = windows.iter().any(|w| {
        w.clinic_id == clinic
            && w.weekday == day
            && w.valid_from.is_none_or(|f| f <= date)
            && w.valid_until.is_none_or(|u| date <= u)
    });
    if works {
        "No free times: booked, or too soon to book.".into()
    } else {
        format!("No weekly hours on {}s.", day_label(date.weekday()))
    }
}

/// The preview: for each clinic the provider works at, the next seven days and their
/// free times for `service` in the clinic's zone.
async fn preview(
    st: &AppState,
    actor: &Actor,
    l: &Loaded,
    service: &Service,
) -> Result<(Vec<PreviewClinic>, Option<String>), PageError> {
    let today = st.svc.now().to_zoned(st.svc.settings().display_zone.clone()).date();
    let until = today.checked_add(SignedDuration::from_hours(24 * (PREVIEW_DAYS - 1))).unwrap_or(today);
    let q = SlotQuery {
        service_id: service.id,
        provider_id: Some(l.provider.id),
        clinic_id: None,
        from: Some(today),
        until: Some(until),
    };
    let slots: Vec<SlotView> = match st.svc.search_slots(actor, &q).await {
        Ok(s) => s,
        Err(ServiceError::Validation(errors)) => {
            let why = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ");
            return Ok((Vec::new(), Some(format!("No preview: {why}"))));
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for clinic in l.clinics.iter().filter(|c| l.provider.clinic_ids.contains(&c.id)) {
        let zone = clinic.zone();
        let closures = st.svc.list_closures(actor, clinic.id, Some(today)).await?;
        let mut days = Vec::new();
        let mut date = today;
        while date <= until {
            let times: Vec<String> = slots
                .iter()
                .filter(|s| s.clinic_id == clinic.id)
                .map(|s| s.start.to_zoned(zone.clone()))
                .filter(|z| z.date() == date)
                .map(|z| z.strftime("%H:%M").to_string())
                .collect();
            let note = if times.is_empty() {
                empty_day_note(date, clinic.id, &l.windows, &l.exceptions, &closures)
            } else {
                String::new()
            };
            days.push(PreviewDay {
                date: date.to_string(),
                label: date.strftime("%a %-d %b").to_string(),
                times,
                note,
            });
            date = match date.tomorrow() {
                Ok(d) => d,
                Err(_) => break,
            };
        }
        out.push(PreviewClinic { name: clinic.name.clone(), zone: zone_label(&zone), days });
    }
    let note = out.is_empty().then(|| "This provider works at no clinic yet, so there is nothing to preview.".into());
    Ok((out, note))
}

/// The page's two forms; either may hold a refused entry with its errors.
#[derive(Default)]
struct Forms {
    window: WindowForm,
    wf: Fields,
    exception: ExceptionForm,
    ef: Fields,
}

/// Builds the page around the two forms.
async fn render(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    id: ProviderId,
    service: &str,
    forms: Forms,
) -> Result<AvailabilityPage, PageError> {
    let Forms { window: window_form, wf, exception: exception_form, ef } = forms;
    let l = load(st, actor, id).await?;
    let clinic_name = |c: ClinicId| l.clinics.iter().find(|x| x.id == c).map(|x| x.name.clone()).unwrap_or_default();
    let zone_of = |c: ClinicId| l.clinics.iter().find(|x| x.id == c).map(Clinic::zone).unwrap_or(TimeZone::UTC);

    // Weekly hours: every clinic they work at, and any clinic a window still names.
    let mut week_clinics: Vec<ClinicId> = l.provider.clinic_ids.clone();
    for w in &l.windows {
        if !week_clinics.contains(&w.clinic_id) {
            week_clinics.push(w.clinic_id);
        }
    }
    let weeks = week_clinics
        .iter()
        .map(|c| {
            let days = WEEK
                .iter()
                .map(|d| {
                    let mut windows: Vec<&AvailabilityWindow> =
                        l.windows.iter().filter(|w| w.clinic_id == *c && w.weekday == weekday_name(*d)).collect();
                    windows.sort_by(|a, b| a.start.cmp(&b.start));
                    DayRow {
                        day: day_label(*d),
                        windows: windows
                            .into_iter()
                            .map(|w| WindowRow {
                                id: w.id.to_string(),
                                hours: format!("{}–{}", w.start, w.end),
                                validity: validity(w.valid_from, w.valid_until),
                            })
                            .collect(),
                    }
                })
                .collect();
            ClinicWeek {
                name: clinic_name(*c),
                zone: zone_label(&zone_of(*c)),
                linked: l.provider.clinic_ids.contains(c),
                days,
            }
        })
        .collect();

    let mut exceptions: Vec<&AvailabilityExceptionView> = l.exceptions.iter().collect();
    exceptions.sort_by_key(|e| (e.from, e.until));
    let exceptions = exceptions
        .into_iter()
        .map(|e| ExceptionRow {
            id: e.id.to_string(),
            dates: fmt_range(e.from, e.until),
            place: e
                .clinic_id
                .map(|c| format!("{} ({})", clinic_name(c), zone_label(&zone_of(c))))
                .unwrap_or_else(|| "Every clinic".into()),
            what: if e.kind == "closed" {
                "Not working".into()
            } else {
                let ranges: Vec<String> = e.hours.iter().map(|h| format!("{}–{}", h.start, h.end)).collect();
                format!("Hours {}", ranges.join(", "))
            },
            reason: e.reason.clone(),
        })
        .collect();

    let linked: Vec<&Clinic> = l.clinics.iter().filter(|c| l.provider.clinic_ids.contains(&c.id)).collect();
    let one = linked.len() == 1;
    let window_clinics = linked
        .iter()
        .map(|c| {
            let v = c.id.to_string();
            let selected = v == window_form.clinic_id || (one && window_form.clinic_id.is_empty());
            Opt::new(v, format!("{} ({})", c.name, c.time_zone), selected)
        })
        .collect();
    let weekdays = WEEK
        .iter()
        .map(|d| Opt::new(weekday_name(*d), day_label(*d), weekday_name(*d) == window_form.weekday))
        .collect();
    let mut exception_clinics = vec![Opt::new("", "Every clinic", exception_form.clinic_id.is_empty())];
    exception_clinics.extend(linked.iter().map(|c| {
        let v = c.id.to_string();
        let selected = v == exception_form.clinic_id;
        Opt::new(v, format!("{} ({})", c.name, c.time_zone), selected)
    }));
    let kinds = vec![
        Opt::new("closed", "Not working (leave, training…)", exception_form.kind != "hours"),
        Opt::new("hours", "Different hours (at one clinic)", exception_form.kind == "hours"),
    ];

    // The preview's service: the one asked for if they offer it, else their first.
    let chosen = l.offered.iter().find(|s| s.id.to_string() == service).or_else(|| l.offered.first());
    let preview_services = l
        .offered
        .iter()
        .map(|s| Opt::new(s.id.to_string(), s.name.clone(), chosen.is_some_and(|c| c.id == s.id)))
        .collect();
    let (preview_days, preview_note, preview_title, preview_service) = match chosen {
        Some(s) => {
            let (days, note) = preview(st, actor, &l, s).await?;
            (days, note, format!("Free times for {} ({} min)", s.name, s.duration_minutes), s.id.to_string())
        }
        None => (
            Vec::new(),
            Some(
                "This provider offers no bookable service yet; choose services on their profile to see a preview."
                    .into(),
            ),
            "Free times".to_string(),
            String::new(),
        ),
    };

    let mut layout =
        layout(actor, csrf, format!("Availability of {}", l.provider.name), &[("Providers", "/setup/providers")]);
    if let [c] = linked.as_slice() {
        layout = layout.zone(&c.zone());
    }
    Ok(AvailabilityPage {
        layout,
        can_edit_profile: actor.can(Permission::ManageCatalog),
        provider: l.provider.clone(),
        weeks,
        exceptions,
        window_form: WindowForm { service: preview_service.clone(), ..window_form },
        wf,
        window_clinics,
        weekdays,
        exception_form: ExceptionForm { service: preview_service.clone(), ..exception_form },
        ef,
        exception_clinics,
        kinds,
        preview_services,
        preview_service,
        preview_title,
        preview: preview_days,
        preview_note,
    })
}

/// Back to the page after a change, keeping the preview's service.
fn back(id: ProviderId, msg: &str, service: &str) -> Response {
    let service = if service.is_empty() { String::new() } else { format!("&service={}", urlencode(service)) };
    done(format!("/setup/providers/{id}/availability?msg={msg}{service}"))
}

async fn page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let id: ProviderId = path_id(&id, "Provider")?;
    st.svc.require_availability(&actor, id).await?;
    let service = q.service.unwrap_or_default();
    let mut p = render(&st, &actor, &csrf, id, &service, Forms::default()).await?;
    let notice = match q.msg.as_deref() {
        Some("created") => Some("The profile was created. Add their weekly hours below."),
        Some("window_added") => Some("The weekly hours were added."),
        Some("window_removed") => Some("The weekly hours were removed."),
        Some("exception_added") => Some("The exception was added."),
        Some("exception_removed") => Some("The exception was removed."),
        _ => None,
    };
    if let Some(n) = notice {
        p.layout = p.layout.notice("ok", n);
    }
    Ok(p.into_response())
}

async fn add_window(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<WindowForm>,
) -> PageResult {
    let id: ProviderId = path_id(&id, "Provider")?;
    let mut read = Reader::default();
    let input = WindowInput {
        clinic_id: read.id::<ClinicId>("clinic_id", &form.clinic_id),
        weekday: form.weekday.clone(),
        start: form.start.clone(),
        end: form.end.clone(),
        valid_from: read.date("valid_from", &form.valid_from),
        valid_until: read.date("valid_until", &form.valid_until),
    };
    let outcome = match read.finish() {
        Ok(()) => st.svc.add_window(&actor, id, input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(back(id, "window_added", &form.service)),
        Err(e) => {
            let r = Refusal::of(e)?.beside("start");
            let service = form.service.clone();
            let wf = Fields::new(r.errors, WINDOW_FIELDS);
            let forms = Forms { window: form, wf, ..Forms::default() };
            let mut p = render(&st, &actor, &csrf, id, &service, forms).await?;
            p.layout = p.layout.notice("error", format!("The weekly hours were not added. {}", r.message));
            Ok((r.status, p).into_response())
        }
    }
}

async fn remove_window(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Path((id, window)): Path<(String, String)>,
    Form(form): Form<BackForm>,
) -> PageResult {
    let id: ProviderId = path_id(&id, "Provider")?;
    let window: AvailabilityWindowId = path_id(&window, "Availability window")?;
    st.svc.delete_window(&actor, id, window).await?;
    Ok(back(id, "window_removed", &form.service))
}

impl ExceptionForm {
    fn input(&self) -> Result<ExceptionInput, ServiceError> {
        let mut read = Reader::default();
        let mut hours = Vec::new();
        if self.kind == "hours" {
            for (start, end) in [(&self.start1, &self.end1), (&self.start2, &self.end2)] {
                match (start.trim(), end.trim()) {
                    ("", "") => {}
                    ("", _) | (_, "") => read.add("hours", "Give both the start and the end of each range."),
                    (s, e) => hours.push(HoursRange { start: s.to_string(), end: e.to_string() }),
                }
            }
        }
        let input = ExceptionInput {
            clinic_id: read.id::<ClinicId>("clinic_id", &self.clinic_id),
            from: read.date("from", &self.from),
            until: read.date("until", &self.until),
            kind: self.kind.clone(),
            hours,
            reason: self.reason.clone(),
        };
        read.finish()?;
        Ok(input)
    }
}

async fn add_exception(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<ExceptionForm>,
) -> PageResult {
    let id: ProviderId = path_id(&id, "Provider")?;
    let outcome = match form.input() {
        Ok(input) => st.svc.add_exception(&actor, id, input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(back(id, "exception_added", &form.service)),
        Err(e) => {
            let r = Refusal::of(e)?.beside("from");
            let service = form.service.clone();
            let ef = Fields::new(r.errors, EXCEPTION_FIELDS);
            let forms = Forms { exception: form, ef, ..Forms::default() };
            let mut p = render(&st, &actor, &csrf, id, &service, forms).await?;
            p.layout = p.layout.notice("error", format!("The exception was not added. {}", r.message));
            Ok((r.status, p).into_response())
        }
    }
}

async fn remove_exception(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Path((id, exception)): Path<(String, String)>,
    Form(form): Form<BackForm>,
) -> PageResult {
    let id: ProviderId = path_id(&id, "Provider")?;
    let exception: ExceptionId = path_id(&exception, "Exception")?;
    st.svc.delete_exception(&actor, id, exception).await?;
    Ok(back(id, "exception_removed", &form.service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_like_a_clinic_speaks() {
        assert_eq!(day_label(Weekday::Tuesday), "Tuesday");
        let d = |s: &str| s.parse::<Date>().ok();
        assert_eq!(validity(None, None), "");
        assert_eq!(validity(d("2026-03-02"), None), "from Mon 2 Mar 2026");
        assert_eq!(validity(d("2026-03-02"), d("2026-06-30")), "Mon 2 Mar – Tue 30 Jun 2026");
    }
}
