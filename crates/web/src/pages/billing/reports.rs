//! The money reports: revenue by month, clinic, provider or service (with a chart),
//! aged receivables, payments by method and tax collected — each also as CSV with the
//! same filters. Providers see only their own work; the services decide.

use super::{BillingNav, layout, money_for, percent};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::charts::{Series, percent_bars, stacked_bars};
use crate::pages::form::{Fields, Opt, Reader, Refusal};
use crate::pages::{Layout, PageResult, query_string};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use praxis_domain::{ClinicId, Currency};
use praxis_services::billing::reports::{ReportKind, ReportQuery};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/billing/reports", get(page)).route("/billing/reports/{kind}", get(csv))
}

/// The filters as typed.
#[derive(Default, Deserialize)]
struct Filters {
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    clinic_id: String,
    #[serde(default)]
    group_by: String,
}

impl Filters {
    fn query(&self) -> Result<ReportQuery, ServiceError> {
        let mut read = Reader::default();
        let q = ReportQuery {
            from: read.date("from", &self.from),
            until: read.date("until", &self.until),
            clinic_id: read.id::<ClinicId>("clinic_id", &self.clinic_id),
            provider_id: None,
            group_by: Some(self.group_by.clone()).filter(|g| !g.is_empty()),
        };
        read.finish()?;
        Ok(q)
    }

    fn query_string(&self) -> String {
        query_string(&[
            ("from", &self.from),
            ("until", &self.until),
            ("clinic_id", &self.clinic_id),
            ("group_by", &self.group_by),
        ])
    }
}

/// A table: its heading row and body rows of text cells (amounts already formatted).
struct Table {
    head: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    /// Index of the first numeric column (right-aligned from there).
    numbers_from: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "billing_reports.html")]
struct ReportsPage {
    layout: Layout,
    tabs: BillingNav,
    f: Filters,
    errors: Fields,
    clinics: Vec<Opt>,
    groups: Vec<Opt>,
    period: String,
    revenue_chart: String,
    revenue: Table,
    revenue_totals: Vec<String>,
    aged_chart: String,
    aged: Table,
    aged_as_of: String,
    payments_chart: String,
    payments: Table,
    tax_chart: String,
    tax: Table,
    csv: String,
}

/// Minor units as whole major units, for a chart's scale.
fn major(minor: i64, currency: &str) -> i64 {
    let exp = Currency::parse(currency).map(|c| c.exponent()).unwrap_or(2);
    minor / 10_i64.pow(exp)
}

async fn page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(f): Query<Filters>,
) -> PageResult {
    let clinic_list = st.svc.list_clinics(&actor).await?;
    let mut clinics = vec![Opt::new("", "Every clinic", f.clinic_id.is_empty())];
    clinics.extend(
        clinic_list.iter().map(|c| Opt::new(c.id.to_string(), c.name.clone(), c.id.to_string() == f.clinic_id)),
    );
    let groups = [("month", "Month"), ("clinic", "Clinic"), ("provider", "Provider"), ("service", "Service")]
        .iter()
        .map(|(v, l)| Opt::new(*v, *l, f.group_by == *v || (f.group_by.is_empty() && *v == "month")))
        .collect();
    let mut out = ReportsPage {
        layout: layout(&actor, &csrf, "Reports", &[]),
        tabs: BillingNav::new(&actor, "reports"),
        errors: Fields::default(),
        clinics,
        groups,
        period: String::new(),
        revenue_chart: String::new(),
        revenue: Table { head: vec![], rows: vec![], numbers_from: 0 },
        revenue_totals: Vec::new(),
        aged_chart: String::new(),
        aged: Table { head: vec![], rows: vec![], numbers_from: 0 },
        aged_as_of: String::new(),
        payments_chart: String::new(),
        payments: Table { head: vec![], rows: vec![], numbers_from: 0 },
        tax_chart: String::new(),
        tax: Table { head: vec![], rows: vec![], numbers_from: 0 },
        csv: f.query_string(),
        f,
    };
    let filled = match out.f.query() {
        Ok(q) => fill(&st, &actor, &q, &mut out).await,
        Err(e) => Err(e),
    };
    if let Err(e) = filled {
        let r = Refusal::of(e)?;
        out.errors = Fields::new(r.errors, &["from", "until", "clinic_id", "group_by"]);
        out.layout = out.layout.notice("error", "Fix the filters marked below to see the reports.");
        return Ok((r.status, out).into_response());
    }
    Ok((StatusCode::OK, out).into_response())
}

/// Runs the four reports into the page.
async fn fill(st: &AppState, actor: &Actor, q: &ReportQuery, out: &mut ReportsPage) -> Result<(), ServiceError> {
    let revenue = st.svc.revenue_report(actor, q).await?;
    let aged = st.svc.aged_receivables(actor, q).await?;
    let payments = st.svc.payments_report(actor, q).await?;
    let tax = st.svc.tax_report(actor, q).await?;
    // One style for the whole page: "A$" and "US$" as soon as two dollars meet anywhere on it.
    let money = money_for(
        (revenue.totals.iter().map(|t| t.currency.as_str()))
            .chain(aged.lines.iter().map(|l| l.currency.as_str()))
            .chain(payments.rows.iter().map(|r| r.currency.as_str()))
            .chain(tax.totals.iter().map(|t| t.currency.as_str())),
    );
    out.period = format!("{} – {}", revenue.from.strftime("%-d %b %Y"), revenue.until.strftime("%-d %b %Y"));
    out.revenue = Table {
        head: vec!["Group", "Lines", "Before tax", "Tax", "Total"],
        rows: revenue
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.label.clone(),
                    r.lines.to_string(),
                    money(r.net_minor, &r.currency),
                    money(r.tax_minor, &r.currency),
                    money(r.total_minor, &r.currency),
                ]
            })
            .collect(),
        numbers_from: 1,
    };
    out.revenue_totals = revenue.totals.iter().map(|t| money(t.amount_minor, &t.currency)).collect();
    // The chart is always by month, in the currency with the most revenue.
    let by_month = ReportQuery { group_by: Some("month".into()), ..q.clone() };
    let monthly = st.svc.revenue_report(actor, &by_month).await?;
    if let Some(main) = monthly.totals.iter().max_by_key(|t| t.amount_minor).map(|t| t.currency.clone()) {
        let rows: Vec<_> = monthly.rows.iter().filter(|r| r.currency == main).collect();
        let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
        let series = [
            Series {
                name: "Before tax",
                fill: "#2f6fb3",
                values: rows.iter().map(|r| major(r.net_minor, &main)).collect(),
            },
            Series { name: "Tax", fill: "#9ab8dc", values: rows.iter().map(|r| major(r.tax_minor, &main)).collect() },
        ];
        let desc = format!("Invoiced per month in {main}, before tax and tax; the table below has the same figures.");
        out.revenue_chart = stacked_bars(&format!("Revenue per month ({main})"), &desc, &labels, &series);
    }
    out.aged_as_of = aged.as_of.strftime("%-d %b %Y").to_string();
    out.aged = Table {
        head: vec!["Currency", "0–30 days", "31–60 days", "61–90 days", "90+ days", "Total"],
        rows: aged
            .lines
            .iter()
            .map(|l| {
                let mut row = vec![l.currency.clone()];
                row.extend(l.buckets.iter().map(|b| format!("{} ({})", money(b.owing_minor, &l.currency), b.invoices)));
                row.push(money(l.total_minor, &l.currency));
                row
            })
            .collect(),
        numbers_from: 1,
    };
    if let Some(l) = aged.lines.iter().max_by_key(|l| l.total_minor).filter(|l| l.total_minor > 0) {
        let bars: Vec<(String, i64, String)> = l
            .buckets
            .iter()
            .zip(["#2e7d4f", "#b7791f", "#c05621", "#b42318"])
            .map(|(b, fill)| (b.label.clone(), b.owing_minor * 1000 / l.total_minor, fill.to_string()))
            .collect();
        let desc =
            format!("Share of what is owing in {} by how long it is overdue; the table has the amounts.", l.currency);
        out.aged_chart = percent_bars(&format!("Owing by age ({})", l.currency), &desc, &bars);
    }
    out.payments = Table {
        head: vec!["Method", "Payments", "Received", "Refunded", "Net"],
        rows: payments
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.label.clone(),
                    r.payments.to_string(),
                    money(r.received_minor, &r.currency),
                    money(r.refunded_minor, &r.currency),
                    money(r.net_minor, &r.currency),
                ]
            })
            .collect(),
        numbers_from: 1,
    };
    // The share of each method in the main currency's net takings.
    if let Some(main) = payments.rows.iter().max_by_key(|r| r.net_minor).map(|r| r.currency.clone()) {
        let rows: Vec<_> = payments.rows.iter().filter(|r| r.currency == main).collect();
        let all: i64 = rows.iter().map(|r| r.net_minor.max(0)).sum();
        if all > 0 {
            let fills = ["#2f6fb3", "#2e7d4f", "#b7791f", "#6b46c1", "#c05621", "#566173"];
            let bars: Vec<(String, i64, String)> = rows
                .iter()
                .zip(fills.iter().cycle())
                .map(|(r, fill)| (r.label.clone(), r.net_minor.max(0) * 1000 / all, fill.to_string()))
                .collect();
            let desc = format!("Share of net takings in {main} by payment method; the table has the amounts.");
            out.payments_chart = percent_bars(&format!("Payments by method ({main})"), &desc, &bars);
        }
    }
    out.tax = Table {
        head: vec!["Month", "Rate", "Before tax", "Tax"],
        rows: tax
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.month.clone(),
                    if r.rate_label.is_empty() { percent(r.tax_rate_bp) } else { r.rate_label.clone() },
                    money(r.net_minor, &r.currency),
                    money(r.tax_minor, &r.currency),
                ]
            })
            .collect(),
        numbers_from: 2,
    };
    if let Some(main) = tax.totals.iter().max_by_key(|t| t.amount_minor).map(|t| t.currency.clone()) {
        let mut months: Vec<String> = tax.rows.iter().filter(|r| r.currency == main).map(|r| r.month.clone()).collect();
        months.dedup();
        let per_month = |m: &String| {
            tax.rows.iter().filter(|r| r.currency == main && &r.month == m).map(|r| r.tax_minor).sum::<i64>()
        };
        let series = [Series {
            name: "Tax",
            fill: "#2f6fb3",
            values: months.iter().map(|m| major(per_month(m), &main)).collect(),
        }];
        let desc = format!("Tax collected per month in {main}; the table has the figures by rate.");
        out.tax_chart = stacked_bars(&format!("Tax collected per month ({main})"), &desc, &months, &series);
    }
    Ok(())
}

/// A report as CSV with the page's filters: `revenue.csv`, `aged.csv`, `payments.csv`
/// or `tax.csv`.
async fn csv(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Path(kind): Path<String>,
    Query(f): Query<Filters>,
) -> PageResult {
    let kind = match kind.as_str() {
        "revenue.csv" => ReportKind::Revenue,
        "aged.csv" => ReportKind::Aged,
        "payments.csv" => ReportKind::Payments,
        "tax.csv" => ReportKind::Tax,
        _ => return Err(ServiceError::NotFound { what: "Report" }.into()),
    };
    let q = f.query()?;
    let body = st.svc.report_csv(&actor, kind, &q).await?;
    let name = format!("{}-report.csv", format!("{kind:?}").to_lowercase());
    Ok(crate::api::billing::csv_response(&name, body))
}
