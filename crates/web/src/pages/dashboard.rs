//! The dashboard: today's numbers and list, the coming week, the last thirty days, and —
//! for those who may see the billing reports — revenue this month and what is owing.

use super::charts::{Series, percent_bars, stacked_bars};
use super::{Layout, PageResult};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use jiff::tz::TimeZone;
use praxis_domain::{AppointmentStatus, ClinicId};
use praxis_services::dashboard::{DayCounts, ProviderFigures};
use praxis_services::scheduling::{Appointment, AppointmentFilter};
use praxis_services::users::PageRequest;
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/dashboard", get(dashboard))
}

#[derive(Deserialize)]
struct DashQuery {
    clinic: Option<String>,
}

struct Headline {
    label: &'static str,
    value: i64,
}

struct TodayRow {
    id: String,
    time: String,
    patients: String,
    provider: String,
    service: String,
    status: String,
    chip: &'static str,
}

struct WeekDay {
    label: String,
    total: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    clinics: Vec<(String, String)>,
    clinic: String,
    headlines: Vec<Headline>,
    today: Vec<TodayRow>,
    week: Vec<WeekDay>,
    no_show: String,
    cancellation: String,
    late: i64,
    chart_days: String,
    chart_no_show: String,
    chart_utilisation: String,
    last30: Vec<DayCounts>,
    providers: Vec<ProviderFigures>,
    money: Option<MoneyView>,
}

/// The money part of the dashboard, formatted.
struct MoneyView {
    /// "1 March – 3 March 2026".
    period: String,
    currencies: Vec<CurrencyView>,
    providers: Vec<ProviderMoneyView>,
}

struct CurrencyView {
    currency: String,
    invoiced: String,
    received: String,
    owing: String,
    overdue: String,
    open_invoices: i64,
}

struct ProviderMoneyView {
    name: String,
    invoiced: String,
    owing: String,
}

fn money_view(m: praxis_services::dashboard::MoneyFigures) -> MoneyView {
    let fmt = super::billing::money_for(m.currencies.iter().map(|c| c.currency.as_str()));
    let period = if m.from == m.until {
        m.from.strftime("%-d %B %Y").to_string()
    } else {
        format!("{} – {}", m.from.strftime("%-d %B"), m.until.strftime("%-d %B %Y"))
    };
    MoneyView {
        period,
        currencies: m
            .currencies
            .iter()
            .map(|c| CurrencyView {
                currency: c.currency.clone(),
                invoiced: fmt(c.invoiced_minor, &c.currency),
                received: fmt(c.received_minor, &c.currency),
                owing: fmt(c.owing_minor, &c.currency),
                overdue: fmt(c.overdue_minor, &c.currency),
                open_invoices: c.open_invoices,
            })
            .collect(),
        providers: m
            .providers
            .iter()
            .map(|p| ProviderMoneyView {
                name: p.name.clone(),
                invoiced: fmt(p.invoiced_minor, &p.currency),
                owing: fmt(p.owing_minor, &p.currency),
            })
            .collect(),
    }
}

impl DashboardPage {
    fn pct(&self, permille: &i64) -> String {
        pct(*permille)
    }
}

fn pct(permille: i64) -> String {
    format!("{}.{} %", permille / 10, permille % 10)
}

/// The chip class for a status (the chip also says the status in words).
pub(super) fn chip(s: AppointmentStatus) -> &'static str {
    match s {
        AppointmentStatus::Confirmed | AppointmentStatus::CheckedIn | AppointmentStatus::InProgress => "ok",
        AppointmentStatus::Completed => "off",
        AppointmentStatus::NoShow | AppointmentStatus::Cancelled => "bad",
        _ => "warn",
    }
}

async fn dashboard(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<DashQuery>,
) -> PageResult {
    let clinic_id: Option<ClinicId> = q.clinic.as_deref().and_then(|c| c.parse().ok());
    let d = st.svc.dashboard(&actor, clinic_id).await?;
    let zone = TimeZone::get(&d.time_zone).unwrap_or(TimeZone::UTC);
    let clinics = st.svc.list_clinics(&actor).await?.into_iter().map(|c| (c.id.to_string(), c.name)).collect();
    let count = |s: AppointmentStatus| d.today_by_status.iter().find(|c| c.status == s).map(|c| c.count).unwrap_or(0);
    let total_today: i64 =
        d.today_by_status.iter().filter(|c| c.status != AppointmentStatus::Cancelled).map(|c| c.count).sum();
    let headlines = vec![
        Headline { label: "Appointments today", value: total_today },
        Headline { label: "Waiting (checked in)", value: count(AppointmentStatus::CheckedIn) },
        Headline { label: "With the provider", value: count(AppointmentStatus::InProgress) },
        Headline { label: "Completed", value: count(AppointmentStatus::Completed) },
        Headline { label: "No-shows", value: count(AppointmentStatus::NoShow) },
    ];
    let start = d.today.to_zoned(zone.clone()).map(|z| z.timestamp()).ok();
    let end = d.today.tomorrow().ok().and_then(|t| t.to_zoned(zone.clone()).ok()).map(|z| z.timestamp());
    let filter = AppointmentFilter { from: start, until: end, clinic_id, ..AppointmentFilter::default() };
    let list = st.svc.list_appointments(&actor, filter, PageRequest::new(Some(1), Some(200))).await?;
    let today = list
        .items
        .into_iter()
        .filter(|a| !matches!(a.status, AppointmentStatus::Held | AppointmentStatus::Expired))
        .map(|a: Appointment| TodayRow {
            id: a.id.to_string(),
            time: a.start.to_zoned(TimeZone::get(&a.time_zone).unwrap_or(TimeZone::UTC)).strftime("%H:%M").to_string(),
            patients: a
                .participants
                .iter()
                .filter(|p| p.status == "booked")
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            provider: a.provider_name,
            service: a.service_name,
            status: a.status_label,
            chip: chip(a.status),
        })
        .collect();
    let week = d
        .next_7_days
        .iter()
        .map(|c| WeekDay {
            label: c.date.map(|x| x.strftime("%a %-d %b").to_string()).unwrap_or_default(),
            total: c.total() - c.cancelled,
        })
        .collect();
    let labels: Vec<String> =
        d.last_30_days.iter().map(|c| c.date.map(|x| x.strftime("%-d %b").to_string()).unwrap_or_default()).collect();
    let pick = |f: fn(&DayCounts) -> i64| d.last_30_days.iter().map(f).collect::<Vec<_>>();
    let chart_days = stacked_bars(
        "Appointments per day, last 30 days",
        "Stacked bars per day: attended, still booked, no-show and cancelled. The same numbers are in the table below.",
        &labels,
        &[
            Series { name: "Attended", fill: "#1e6b3a", values: pick(|c| c.attended) },
            Series { name: "Booked", fill: "#1f5fbf", values: pick(|c| c.booked) },
            Series { name: "No-show", fill: "#b3261e", values: pick(|c| c.no_show) },
            Series { name: "Cancelled", fill: "#9aa3af", values: pick(|c| c.cancelled) },
        ],
    );
    let chart_no_show = percent_bars(
        "No-show rate per provider, last 30 days",
        "One bar per provider; the rate is written beside each bar.",
        &d.providers.iter().map(|p| (p.name.clone(), p.no_show_permille, "#b3261e".to_string())).collect::<Vec<_>>(),
    );
    let chart_utilisation = percent_bars(
        "Utilisation per provider, next 7 days",
        "Booked time as a share of available time, one bar per provider; the rate is written beside each bar.",
        &d.providers.iter().map(|p| (p.name.clone(), p.utilisation_permille, p.colour.clone())).collect::<Vec<_>>(),
    );
    let title = match &d.clinic {
        Some(c) => format!("Dashboard · {}", c.name),
        None => "Dashboard".into(),
    };
    Ok(DashboardPage {
        layout: Layout::new(&actor, &csrf, title, "/dashboard").zone(&zone),
        clinics,
        clinic: clinic_id.map(|c| c.to_string()).unwrap_or_default(),
        headlines,
        today,
        week,
        no_show: pct(d.no_show_permille_30),
        cancellation: pct(d.cancellation_permille_30),
        late: d.late_cancellations_30,
        chart_days,
        chart_no_show,
        chart_utilisation,
        last30: d.last_30_days,
        providers: d.providers,
        money: d.money.map(money_view),
    }
    .into_response())
}
