//! The reception and provider pages: the staff calendar (day and week), an appointment's
//! detail panel with its actions, the new-appointment form and the waiting list. Plain
//! HTML forms and links; `/static/staff.js` only adds live patient search and slot
//! refresh.

mod appointment;
mod grid;
mod waitlist;

use super::{Layout, PageResult, query_string, zone_label};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use grid::{CellKind, ColumnIn, hhmm};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use praxis_domain::{AppointmentStatus, ClinicId, ProviderId};
use praxis_services::scheduling::{CalendarEntry, CalendarQuery, CalendarSpan, CalendarView, dates_between};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/calendar", get(calendar)).merge(appointment::router()).merge(waitlist::router())
}

/// The CSS class of a status chip (the chip always carries the status in words).
pub(crate) fn chip_class(s: AppointmentStatus) -> &'static str {
    match s {
        AppointmentStatus::Held | AppointmentStatus::Requested => "warn",
        AppointmentStatus::Confirmed => "cal-info",
        AppointmentStatus::CheckedIn | AppointmentStatus::InProgress => "ok",
        AppointmentStatus::Completed | AppointmentStatus::Expired => "off",
        AppointmentStatus::Cancelled | AppointmentStatus::NoShow => "bad",
    }
}

/// Where the calendar was, so actions can return there: view, date, provider.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct Back {
    /// `day` or `week`.
    #[serde(default)]
    pub v: String,
    /// The calendar's date.
    #[serde(default)]
    pub d: String,
    /// The provider of a week view.
    #[serde(default)]
    pub p: String,
}

impl Back {
    /// The calendar address at `clinic` with a message code and the appointment's anchor.
    pub fn calendar_href(&self, clinic: ClinicId, msg: &str, anchor: Option<&str>) -> String {
        let view = CalendarSpan::parse(&self.v);
        let date = self.d.parse::<Date>().map(|d| d.to_string()).unwrap_or_default();
        let provider = if view == CalendarSpan::Week { self.p.parse::<ProviderId>().ok() } else { None };
        let q = query_string(&[
            ("clinic", &clinic.to_string()),
            ("date", &date),
            ("view", view.as_str()),
            ("provider", &provider.map(|p| p.to_string()).unwrap_or_default()),
            ("msg", msg),
            // The day view opens the group of provider columns holding this appointment.
            ("focus", anchor.unwrap_or_default()),
        ]);
        match anchor {
            Some(a) => format!("/calendar{q}#a-{a}"),
            None => format!("/calendar{q}"),
        }
    }

    /// The same place at another date (after a move).
    pub fn at(&self, date: Date) -> Back {
        Back { d: date.to_string(), ..self.clone() }
    }

    /// `?v=…&d=…&p=…` for links to the detail page.
    pub fn query(&self) -> String {
        query_string(&[("v", &self.v), ("d", &self.d), ("p", &self.p)])
    }
}

#[derive(Default, Deserialize)]
struct CalendarParams {
    #[serde(default)]
    clinic: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    view: String,
    #[serde(default)]
    provider: String,
    /// Which group of provider columns the day view shows (from 1).
    #[serde(default)]
    cols: String,
    /// An appointment whose provider's group of columns to show (after an action on it).
    #[serde(default)]
    focus: String,
    #[serde(default)]
    msg: String,
}

/// Provider columns per day-view page: a busy clinic's day stays readable and under the
/// 100 KB page budget (every free cell carries its own booking link).
const DAY_COLUMNS: usize = 10;

/// The day view's provider columns in groups of [`DAY_COLUMNS`].
struct ColumnPages {
    /// The group shown, from 1.
    page: usize,
    /// Providers in all.
    total: usize,
    /// Links to the groups before and after (empty when there is none).
    prev_href: String,
    next_href: String,
}

impl ColumnPages {
    /// "Providers 11–20 of 30".
    fn summary(&self) -> String {
        let first = (self.page - 1) * DAY_COLUMNS + 1;
        let last = (self.page * DAY_COLUMNS).min(self.total);
        format!("Providers {first}–{last} of {}", self.total)
    }
}

/// A column header.
struct ColumnView {
    title: String,
    sub: String,
    href: String,
    colour: String,
    today: bool,
    bands: Vec<String>,
}

/// One appointment inside a block.
struct EntryView {
    anchor: String,
    href: String,
    title: String,
    time: String,
    service: String,
    chip_class: &'static str,
    chip: String,
    note: String,
}

/// One table cell.
struct CellView {
    class: &'static str,
    rowspan: usize,
    href: String,
    text: String,
    entries: Vec<EntryView>,
}

/// One table row.
struct RowView {
    label: String,
    class: &'static str,
    cells: Vec<CellView>,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// A cancelled appointment listed under the grid.
struct CancelledView {
    href: String,
    time: String,
    who: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "calendar_view.html")]
struct CalendarPage {
    layout: Layout,
    zone: String,
    heading: String,
    week: bool,
    date: String,
    clinics: Vec<Choice>,
    providers: Vec<Choice>,
    prev_href: String,
    next_href: String,
    today_href: String,
    day_href: String,
    week_href: String,
    new_href: String,
    banners: Vec<String>,
    columns: Vec<ColumnView>,
    /// Set when the day view's providers are shown a group at a time.
    column_pages: Option<ColumnPages>,
    rows: Vec<RowView>,
    cancelled: Vec<CancelledView>,
    has_clinic: bool,
    empty_note: String,
}

fn valid_colour(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit())
}

fn time_range(e: &CalendarEntry, zone: &TimeZone) -> String {
    let s = e.start.to_zoned(zone.clone());
    let en = e.end.to_zoned(zone.clone());
    if s.date() == en.date() {
        format!("{}–{}", s.strftime("%H:%M"), en.strftime("%H:%M"))
    } else {
        format!("{}–{}", s.strftime("%-d %b %H:%M"), en.strftime("%-d %b %H:%M"))
    }
}

fn entry_view(e: &CalendarEntry, zone: &TimeZone, back: &str) -> EntryView {
    match &e.details {
        Some(d) => {
            let title = if d.patients.is_empty() {
                "No patients booked".to_string()
            } else if d.capacity > 1 {
                format!("{} ({} of {})", d.patients.join(", "), d.patients.len(), d.capacity)
            } else {
                d.patients.join(", ")
            };
            EntryView {
                anchor: e.id.to_string(),
                href: format!("/appointments/{}{back}", e.id),
                title,
                time: time_range(e, zone),
                service: d.service_name.clone(),
                chip_class: chip_class(d.status),
                chip: d.status.label().to_string(),
                note: e.elsewhere.as_ref().map(|c| format!("At {c}")).unwrap_or_default(),
            }
        }
        None => EntryView {
            anchor: e.id.to_string(),
            href: String::new(),
            title: match &e.elsewhere {
                Some(c) => format!("Busy at {c}"),
                None => "Busy".into(),
            },
            time: time_range(e, zone),
            service: String::new(),
            chip_class: "",
            chip: String::new(),
            note: String::new(),
        },
    }
}

/// Whether an entry overlaps local `date`.
fn on_date(e: &CalendarEntry, zone: &TimeZone, date: Date) -> bool {
    let start = date.to_zoned(zone.clone()).map(|z| z.timestamp()).ok();
    let end = date.tomorrow().ok().and_then(|d| d.to_zoned(zone.clone()).ok()).map(|z| z.timestamp());
    match (start, end) {
        (Some(s), Some(en)) => e.start < en && e.end > s,
        _ => false,
    }
}

fn calendar_href(view: &CalendarView, span: CalendarSpan, date: Date, provider: Option<ProviderId>) -> String {
    columns_href(view, span, date, provider, 1)
}

/// [`calendar_href`] for a group of the day view's provider columns (1: the first, left out).
fn columns_href(
    view: &CalendarView,
    span: CalendarSpan,
    date: Date,
    provider: Option<ProviderId>,
    cols: usize,
) -> String {
    let clinic = view.clinic.as_ref().map(|c| c.id.to_string()).unwrap_or_default();
    let provider = provider.map(|p| p.to_string()).unwrap_or_default();
    let cols = if cols > 1 && span == CalendarSpan::Day { cols.to_string() } else { String::new() };
    format!(
        "/calendar{}",
        query_string(&[
            ("clinic", &clinic),
            ("date", &date.to_string()),
            ("view", span.as_str()),
            ("provider", &provider),
            ("cols", &cols)
        ])
    )
}

fn notice_for(msg: &str) -> Option<&'static str> {
    Some(match msg {
        "booked" => "The appointment was booked.",
        "moved" => "The appointment was moved.",
        "cancelled" => "The appointment was cancelled.",
        "checked_in" => "Checked in.",
        "in_progress" => "The appointment has started.",
        "completed" => "The appointment was completed.",
        "no_show" => "Marked as a no-show.",
        "confirmed" => "The appointment was confirmed.",
        _ => return None,
    })
}

async fn calendar(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<CalendarParams>,
) -> PageResult {
    let bad_date = !q.date.is_empty() && q.date.parse::<Date>().is_err();
    let query = CalendarQuery {
        clinic_id: q.clinic.parse().ok(),
        date: q.date.parse().ok(),
        span: CalendarSpan::parse(&q.view),
        provider_id: q.provider.parse().ok(),
    };
    let view = st.svc.calendar(&actor, query).await?;
    let mut layout = Layout::new(&actor, &csrf, "Calendar", "/calendar").zone(&view.zone);
    if bad_date {
        layout = layout.notice("warn", "That date was not understood, so today is shown. Use the date picker.");
    } else if let Some(text) = notice_for(&q.msg) {
        layout = layout.notice("ok", text);
    }
    let focused = q
        .focus
        .parse::<uuid::Uuid>()
        .ok()
        .and_then(|id| view.appointments.iter().find(|e| e.id.0 == id))
        .and_then(|e| view.shown.iter().position(|p| *p == e.provider_id));
    let cols = match (q.cols.parse::<usize>(), focused) {
        (Ok(c), _) => c,
        (Err(_), Some(i)) => i / DAY_COLUMNS + 1,
        (Err(_), None) => 1,
    };
    Ok(render(layout, &view, cols).into_response())
}

fn render(layout: Layout, view: &CalendarView, cols: usize) -> CalendarPage {
    let zone = &view.zone;
    let week = view.span == CalendarSpan::Week;
    let week_provider = if week { view.shown.first().copied() } else { None };
    let back = Back {
        v: view.span.as_str().into(),
        d: view.date.to_string(),
        p: week_provider.map(|p| p.to_string()).unwrap_or_default(),
    }
    .query();
    let clinic_id = view.clinic.as_ref().map(|c| c.id.to_string()).unwrap_or_default();

    // Columns: providers for a day (a group at a time), dates for a week.
    let pages = view.shown.len().div_ceil(DAY_COLUMNS).max(1);
    let cols = if week { 1 } else { cols.clamp(1, pages) };
    let columns_in: Vec<(ProviderId, Date)> = if week {
        week_provider
            .map(|p| dates_between(view.from, view.until).into_iter().map(|d| (p, d)).collect())
            .unwrap_or_default()
    } else {
        view.shown.iter().skip((cols - 1) * DAY_COLUMNS).take(DAY_COLUMNS).map(|p| (*p, view.date)).collect()
    };
    let column_pages = (!week && pages > 1).then(|| ColumnPages {
        page: cols,
        total: view.shown.len(),
        prev_href: if cols > 1 {
            columns_href(view, CalendarSpan::Day, view.date, None, cols - 1)
        } else {
            String::new()
        },
        next_href: if cols < pages {
            columns_href(view, CalendarSpan::Day, view.date, None, cols + 1)
        } else {
            String::new()
        },
    });
    let mut columns = Vec::new();
    let mut inputs = Vec::new();
    for (p, d) in &columns_in {
        let provider = view.provider(*p);
        let bands: Vec<String> = view.bands.iter().filter(|b| b.applies(*p, *d)).map(|b| b.label.clone()).collect();
        let entries: Vec<&CalendarEntry> =
            view.appointments.iter().filter(|e| e.provider_id == *p && on_date(e, zone, *d)).collect();
        let closed_label = bands.first().cloned().unwrap_or_else(|| "Not working".into());
        columns.push(if week {
            ColumnView {
                title: d.strftime("%a %-d %b").to_string(),
                sub: String::new(),
                href: calendar_href(view, CalendarSpan::Day, *d, None),
                colour: String::new(),
                today: *d == view.today,
                bands,
            }
        } else {
            ColumnView {
                title: provider.map(|x| x.name.clone()).unwrap_or_default(),
                sub: provider.map(|x| x.title.clone()).unwrap_or_default(),
                href: calendar_href(view, CalendarSpan::Week, *d, Some(*p)),
                colour: provider.map(|x| x.colour.clone()).filter(|c| valid_colour(c)).unwrap_or_default(),
                today: false,
                bands,
            }
        });
        inputs.push(ColumnIn { date: *d, available: view.available(*p, *d), entries, closed_label });
    }
    let grid = grid::build(zone, view.now, &inputs);
    let rows = grid
        .rows
        .iter()
        .map(|r| RowView {
            label: if r.now { format!("Now {}", hhmm(r.minute)) } else { hhmm(r.minute) },
            class: if r.now {
                "now"
            } else if r.minute % 60 == 0 {
                "h"
            } else {
                ""
            },
            cells: r
                .cells
                .iter()
                .map(|c| {
                    let mut cell = CellView {
                        class: "",
                        rowspan: c.rowspan,
                        href: String::new(),
                        text: String::new(),
                        entries: vec![],
                    };
                    match &c.kind {
                        CellKind::Free(_) if view.can_book => {
                            // The link is added by `link_free_cells`, which knows the column.
                            cell.class = "f";
                            cell.text = hhmm(r.minute);
                        }
                        CellKind::Free(_) | CellKind::Open => cell.class = "a",
                        CellKind::Closed => {}
                        CellKind::Block(list) => {
                            // Short blocks get a compact one- or two-line layout so the
                            // time axis keeps its scale.
                            cell.class = match c.rowspan {
                                1 => "b b1",
                                2 => "b b2",
                                _ => "b",
                            };
                            cell.entries = list.iter().map(|e| entry_view(e, zone, &back)).collect();
                        }
                        CellKind::Band(label) => {
                            cell.class = "band";
                            cell.text = label.clone();
                        }
                        CellKind::Now(today) => cell.class = if *today { "nowc" } else { "" },
                    }
                    cell
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    let rows = link_free_cells(rows, &grid, &columns_in, &clinic_id, zone, view.can_book);

    let provider_choices = view
        .providers
        .iter()
        .map(|p| Choice { value: p.id.to_string(), label: p.name.clone(), selected: week_provider == Some(p.id) })
        .collect();
    let clinics = view
        .clinics
        .iter()
        .map(|c| Choice {
            value: c.id.to_string(),
            label: c.name.clone(),
            selected: view.clinic.as_ref().is_some_and(|x| x.id == c.id),
        })
        .collect();
    let banners = view
        .bands
        .iter()
        .filter(|b| b.provider_id.is_none() && b.from <= view.until && view.from <= b.until)
        .map(|b| {
            if b.from == b.until {
                format!("{} ({})", b.label, b.from.strftime("%a %-d %b"))
            } else {
                format!("{} ({} to {})", b.label, b.from.strftime("%a %-d %b"), b.until.strftime("%a %-d %b"))
            }
        })
        .collect();
    let cancelled = view
        .cancelled
        .iter()
        .filter_map(|e| {
            let d = e.details.as_ref()?;
            Some(CancelledView {
                href: format!("/appointments/{}{back}", e.id),
                time: e.start.to_zoned(zone.clone()).strftime("%a %-d %b, %H:%M").to_string(),
                who: format!("{} · {}", d.patients.join(", "), d.service_name),
            })
        })
        .collect();
    let heading = match (&view.clinic, week) {
        (Some(c), true) => format!(
            "{} · {} · week of {}",
            c.name,
            week_provider.and_then(|p| view.provider(p)).map(|p| p.name.as_str()).unwrap_or("No provider"),
            view.from.strftime("%a %-d %b %Y")
        ),
        (Some(c), false) => format!("{} · {}", c.name, view.date.strftime("%A %-d %B %Y")),
        (None, _) => String::new(),
    };
    let empty_note = if view.clinic.is_none() {
        "No clinic is set up yet. An administrator can add one under Setup.".to_string()
    } else if view.providers.is_empty() {
        "No providers work at this clinic yet.".to_string()
    } else {
        String::new()
    };
    let new_href = format!("/appointments/new{}", query_string(&[("c", &clinic_id), ("d", &view.date.to_string())]));
    CalendarPage {
        layout: layout.crumbs(&[("Home", "/")]),
        zone: zone_label(zone),
        heading,
        week,
        date: view.date.to_string(),
        clinics,
        providers: provider_choices,
        prev_href: columns_href(view, view.span, view.span.step(view.date, false), week_provider, cols),
        next_href: columns_href(view, view.span, view.span.step(view.date, true), week_provider, cols),
        today_href: columns_href(view, view.span, view.today, week_provider, cols),
        day_href: calendar_href(view, CalendarSpan::Day, view.date, None),
        week_href: calendar_href(view, CalendarSpan::Week, view.date, week_provider),
        new_href: if view.can_book { new_href } else { String::new() },
        banners,
        columns,
        column_pages,
        rows,
        cancelled,
        has_clinic: view.clinic.is_some() && !view.providers.is_empty(),
        empty_note,
    }
}

/// Gives each free cell its "new appointment" link: provider, clinic and start time.
fn link_free_cells(
    mut rows: Vec<RowView>,
    grid: &grid::Grid<'_>,
    columns: &[(ProviderId, Date)],
    clinic: &str,
    zone: &TimeZone,
    can_book: bool,
) -> Vec<RowView> {
    if !can_book {
        return rows;
    }
    // Cells of a row are in column order, but covered columns are missing: walk the grid
    // again tracking which columns are covered.
    let mut covered_until = vec![0usize; columns.len()];
    for (r, row) in grid.rows.iter().enumerate() {
        let mut cell_index = 0;
        for (col, until) in covered_until.iter_mut().enumerate() {
            if *until > r {
                continue;
            }
            let Some(cell) = row.cells.get(cell_index) else { break };
            *until = r + cell.rowspan;
            if let CellKind::Free(t) = &cell.kind
                && let Some((provider, _)) = columns.get(col)
                && let Some(view) = rows.get_mut(r).and_then(|v| v.cells.get_mut(cell_index))
            {
                let at = t.to_zoned(zone.clone()).strftime("%Y-%m-%dT%H:%M").to_string();
                view.href = appointment::new_href(clinic, &provider.to_string(), &at);
            }
            cell_index += 1;
        }
    }
    rows
}
