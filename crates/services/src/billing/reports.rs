//! The money reports: revenue by clinic, provider, service or month; aged receivables;
//! payments by method; tax (GST) collected — each as rows for a page and its chart, and as
//! CSV. Billing staff and administrators see everything; a provider only their own work.

use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use crate::patients::csv_cell;
use jiff::civil::Date;
use praxis_domain::Currency;
use praxis_domain::billing::{AgeBucket, TaxRate, format_money_plain};
use praxis_domain::permissions::Scope;
use praxis_domain::{ClinicId, Permission, ProviderId};
use praxis_store::billing::reports::{self as store, ReportScope, RevenueGroup};
use serde::{Deserialize, Serialize};

/// Filters shared by the reports.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// From (YYYY-MM-DD, inclusive; default: the first of this month a year ago).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<Date>,
    /// Until (YYYY-MM-DD, inclusive; default: today).
    #[param(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    /// One clinic.
    pub clinic_id: Option<ClinicId>,
    /// One provider (providers always see only their own).
    pub provider_id: Option<ProviderId>,
    /// Revenue grouped by `clinic`, `provider`, `service` or `month` (default).
    pub group_by: Option<String>,
}

/// One row of the revenue report.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RevenueLine {
    /// The group's key (an id, or `YYYY-MM`).
    pub key: String,
    /// The group's name.
    pub label: String,
    /// Currency.
    pub currency: String,
    /// Before tax.
    pub net_minor: i64,
    /// Tax.
    pub tax_minor: i64,
    /// Total invoiced.
    pub total_minor: i64,
    /// Lines counted.
    pub lines: i64,
}

/// Revenue of issued invoices in the period.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RevenueReport {
    /// `clinic`, `provider`, `service` or `month`.
    pub group_by: String,
    /// The period.
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// The period's end.
    #[schema(value_type = String, format = Date)]
    pub until: Date,
    /// Rows.
    pub rows: Vec<RevenueLine>,
    /// Σ total per currency.
    pub totals: Vec<CurrencyTotal>,
}

/// A sum in one currency.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CurrencyTotal {
    /// Currency.
    pub currency: String,
    /// Amount.
    pub amount_minor: i64,
}

/// One age band of one currency.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AgedCell {
    /// The band.
    pub bucket: AgeBucket,
    /// For people.
    pub label: String,
    /// Owing.
    pub owing_minor: i64,
    /// Invoices.
    pub invoices: i64,
}

/// Money owing in one currency, by age.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AgedLine {
    /// Currency.
    pub currency: String,
    /// The four bands, youngest first.
    pub buckets: Vec<AgedCell>,
    /// Σ owing.
    pub total_minor: i64,
}

/// Aged receivables as of a date.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AgedReport {
    /// As of.
    #[schema(value_type = String, format = Date)]
    pub as_of: Date,
    /// One line per currency.
    pub lines: Vec<AgedLine>,
}

/// Payments of one method.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MethodLine {
    /// Method code.
    pub method: String,
    /// For people.
    pub label: String,
    /// Currency.
    pub currency: String,
    /// Received.
    pub received_minor: i64,
    /// Refunded of it.
    pub refunded_minor: i64,
    /// Kept.
    pub net_minor: i64,
    /// Payments.
    pub payments: i64,
}

/// Payments by method in the period.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MethodReport {
    /// The period.
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// The period's end.
    #[schema(value_type = String, format = Date)]
    pub until: Date,
    /// Rows.
    pub rows: Vec<MethodLine>,
}

/// Tax charged at one rate in one month.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TaxLine {
    /// `YYYY-MM`.
    pub month: String,
    /// Rate, basis points.
    pub tax_rate_bp: i64,
    /// "10 %".
    pub rate_label: String,
    /// Currency.
    pub currency: String,
    /// What it was charged on.
    pub net_minor: i64,
    /// Tax.
    pub tax_minor: i64,
}

/// Tax collected in the period (GST).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TaxReport {
    /// The period.
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// The period's end.
    #[schema(value_type = String, format = Date)]
    pub until: Date,
    /// Rows.
    pub rows: Vec<TaxLine>,
    /// Σ tax per currency.
    pub totals: Vec<CurrencyTotal>,
}

/// Which report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Revenue.
    Revenue,
    /// Aged receivables.
    Aged,
    /// Payments by method.
    Payments,
    /// Tax collected.
    Tax,
}

fn group_of(s: Option<&str>) -> ServiceResult<(RevenueGroup, &'static str)> {
    match s.map(str::trim).unwrap_or("month") {
        "" | "month" => Ok((RevenueGroup::Month, "month")),
        "clinic" => Ok((RevenueGroup::Clinic, "clinic")),
        "provider" => Ok((RevenueGroup::Provider, "provider")),
        "service" => Ok((RevenueGroup::Service, "service")),
        _ => Err(ServiceError::invalid("group_by", "invalid", "Group by clinic, provider, service or month.")),
    }
}

fn sum_by_currency<'a>(items: impl Iterator<Item = (&'a str, i64)>) -> Vec<CurrencyTotal> {
    let mut out: Vec<CurrencyTotal> = Vec::new();
    for (c, n) in items {
        match out.iter_mut().find(|t| t.currency == c) {
            Some(t) => t.amount_minor += n,
            None => out.push(CurrencyTotal { currency: c.to_string(), amount_minor: n }),
        }
    }
    out
}

/// "85.00" for CSV (a number a spreadsheet reads; no symbol).
fn plain(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(c) => format_money_plain(minor, c).replace(',', ""),
        Err(_) => minor.to_string(),
    }
}

impl Services {
    /// The scope of a report for `actor`: dates checked and defaulted, a provider held to
    /// their own work.
    async fn report_scope(&self, actor: &Actor, q: &ReportQuery) -> ServiceResult<(ReportScope, Date, Date)> {
        let scope = actor.require(Permission::ViewBillingReports)?;
        let today = self.now().to_zoned(self.settings().display_zone.clone()).date();
        let until = q.until.unwrap_or(today);
        let from = match q.from {
            Some(f) => f,
            None => until.first_of_month().checked_sub(jiff::Span::new().years(1)).unwrap_or(until),
        };
        if from > until {
            return Err(ServiceError::invalid("until", "before_from", "The end of the period is before its start."));
        }
        if until.since(from).map(|s| s.get_days()).unwrap_or(0) > 366 * 10 {
            return Err(ServiceError::invalid("from", "too_long", "Choose a period of at most ten years."));
        }
        let mut provider = q.provider_id;
        if scope == Scope::Own {
            let Some(mine) = self.actor_provider_id(actor).await? else { return Err(ServiceError::Forbidden) };
            if provider.is_some_and(|p| p.0 != mine) {
                return Err(ServiceError::Forbidden);
            }
            provider = Some(ProviderId(mine));
        }
        Ok((
            ReportScope { from: Some(from), until: Some(until), clinic_id: q.clinic_id, provider_id: provider },
            from,
            until,
        ))
    }

    /// Revenue of issued invoices, grouped.
    pub async fn revenue_report(&self, actor: &Actor, q: &ReportQuery) -> ServiceResult<RevenueReport> {
        let (group, name) = group_of(q.group_by.as_deref())?;
        let (scope, from, until) = self.report_scope(actor, q).await?;
        let rows: Vec<RevenueLine> = store::revenue(self.db(), &scope, group)
            .await?
            .into_iter()
            .map(|r| RevenueLine {
                key: r.key,
                label: r.label,
                currency: r.currency,
                net_minor: r.net_minor,
                tax_minor: r.tax_minor,
                total_minor: r.total_minor,
                lines: r.lines,
            })
            .collect();
        let totals = sum_by_currency(rows.iter().map(|r| (r.currency.as_str(), r.total_minor)));
        Ok(RevenueReport { group_by: name.into(), from, until, rows, totals })
    }

    /// Money owing on open invoices by age since issue, as of `until` (default today).
    pub async fn aged_receivables(&self, actor: &Actor, q: &ReportQuery) -> ServiceResult<AgedReport> {
        let (scope, _, until) = self.report_scope(actor, q).await?;
        let cells = store::aged(self.db(), until, scope.clinic_id, scope.provider_id).await?;
        let mut lines: Vec<AgedLine> = Vec::new();
        for c in cells {
            let line = match lines.iter_mut().position(|l| l.currency == c.currency) {
                Some(i) => &mut lines[i],
                None => {
                    lines.push(AgedLine {
                        currency: c.currency.clone(),
                        buckets: AgeBucket::ALL
                            .iter()
                            .map(|b| AgedCell { bucket: *b, label: b.label().into(), owing_minor: 0, invoices: 0 })
                            .collect(),
                        total_minor: 0,
                    });
                    let last = lines.len() - 1;
                    &mut lines[last]
                }
            };
            let i = c.bucket.clamp(0, 3) as usize;
            line.buckets[i].owing_minor += c.owing_minor;
            line.buckets[i].invoices += c.invoices;
            line.total_minor += c.owing_minor;
        }
        Ok(AgedReport { as_of: until, lines })
    }

    /// Payments received in the period, by method.
    pub async fn payments_report(&self, actor: &Actor, q: &ReportQuery) -> ServiceResult<MethodReport> {
        let (scope, from, until) = self.report_scope(actor, q).await?;
        let zone = self.settings().display_zone.clone();
        let start = from.to_zoned(zone.clone()).map(|z| z.timestamp()).ok();
        let end = until.tomorrow().ok().and_then(|d| d.to_zoned(zone).ok()).map(|z| z.timestamp());
        let rows = store::payments_by_method(self.db(), start, end, scope.clinic_id, scope.provider_id)
            .await?
            .into_iter()
            .map(|r| MethodLine {
                label: praxis_domain::billing::PaymentMethod::parse(&r.method)
                    .map(|m| m.label().to_string())
                    .unwrap_or_else(|| r.method.clone()),
                method: r.method,
                currency: r.currency,
                net_minor: r.received_minor - r.refunded_minor,
                received_minor: r.received_minor,
                refunded_minor: r.refunded_minor,
                payments: r.payments,
            })
            .collect();
        Ok(MethodReport { from, until, rows })
    }

    /// Tax charged on issued invoices in the period, by month and rate.
    pub async fn tax_report(&self, actor: &Actor, q: &ReportQuery) -> ServiceResult<TaxReport> {
        let (scope, from, until) = self.report_scope(actor, q).await?;
        let rows: Vec<TaxLine> = store::tax_collected(self.db(), &scope)
            .await?
            .into_iter()
            .map(|r| TaxLine {
                rate_label: TaxRate::from_bp(r.tax_bp)
                    .map(|t| t.percent_label())
                    .unwrap_or_else(|_| format!("{} bp", r.tax_bp)),
                month: r.month,
                tax_rate_bp: r.tax_bp,
                currency: r.currency,
                net_minor: r.net_minor,
                tax_minor: r.tax_minor,
            })
            .collect();
        let totals = sum_by_currency(rows.iter().map(|r| (r.currency.as_str(), r.tax_minor)));
        Ok(TaxReport { from, until, rows, totals })
    }

    /// A report as CSV (amounts as plain decimals; text cells defused against formulas).
    /// Downloading it is audited.
    pub async fn report_csv(&self, actor: &Actor, kind: ReportKind, q: &ReportQuery) -> ServiceResult<String> {
        let mut out = String::new();
        let mut row = |cells: Vec<String>| {
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        };
        match kind {
            ReportKind::Revenue => {
                let r = self.revenue_report(actor, q).await?;
                row(vec![
                    r.group_by.clone(),
                    "currency".into(),
                    "net".into(),
                    "tax".into(),
                    "total".into(),
                    "lines".into(),
                ]);
                for l in &r.rows {
                    row(vec![
                        csv_cell(&l.label),
                        l.currency.clone(),
                        plain(l.net_minor, &l.currency),
                        plain(l.tax_minor, &l.currency),
                        plain(l.total_minor, &l.currency),
                        l.lines.to_string(),
                    ]);
                }
            }
            ReportKind::Aged => {
                let r = self.aged_receivables(actor, q).await?;
                let mut head = vec!["currency".to_string()];
                head.extend(AgeBucket::ALL.iter().map(|b| b.label().to_string()));
                head.push("total".into());
                row(head);
                for l in &r.lines {
                    let mut cells = vec![l.currency.clone()];
                    cells.extend(l.buckets.iter().map(|b| plain(b.owing_minor, &l.currency)));
                    cells.push(plain(l.total_minor, &l.currency));
                    row(cells);
                }
            }
            ReportKind::Payments => {
                let r = self.payments_report(actor, q).await?;
                row(["method", "currency", "received", "refunded", "net", "payments"].map(String::from).to_vec());
                for l in &r.rows {
                    row(vec![
                        csv_cell(&l.label),
                        l.currency.clone(),
                        plain(l.received_minor, &l.currency),
                        plain(l.refunded_minor, &l.currency),
                        plain(l.net_minor, &l.currency),
                        l.payments.to_string(),
                    ]);
                }
            }
            ReportKind::Tax => {
                let r = self.tax_report(actor, q).await?;
                row(["month", "rate", "currency", "net", "tax"].map(String::from).to_vec());
                for l in &r.rows {
                    row(vec![
                        l.month.clone(),
                        csv_cell(&l.rate_label),
                        l.currency.clone(),
                        plain(l.net_minor, &l.currency),
                        plain(l.tax_minor, &l.currency),
                    ]);
                }
            }
        }
        self.audit_read(
            actor,
            "report.export",
            "report",
            &format!("{kind:?}").to_lowercase(),
            "billing report downloaded as CSV".into(),
        )
        .await?;
        Ok(out)
    }
}
