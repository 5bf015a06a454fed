//! The money reports: revenue, aged receivables, payments by method and tax collected.
//! Revenue and tax count issued invoices (not drafts or void ones) by their issue date.

use crate::db::{Backend, Db, Where};
use crate::error::StoreResult;
use jiff::Timestamp;
use jiff::civil::Date;
use praxis_domain::{ClinicId, ProviderId};

/// What revenue is grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevenueGroup {
    /// Per clinic.
    Clinic,
    /// Per provider (the line's, else the invoice's).
    Provider,
    /// Per service (lines without one: "Other items").
    Service,
    /// Per calendar month of issue.
    Month,
}

/// One row of the revenue report.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RevenueRow {
    /// The group's key (an id, or `YYYY-MM`); empty for lines without one.
    pub key: String,
    /// The group's name.
    pub label: String,
    /// Currency.
    pub currency: String,
    /// Σ net (before tax).
    pub net_minor: i64,
    /// Σ tax.
    pub tax_minor: i64,
    /// Σ total.
    pub total_minor: i64,
    /// Lines counted.
    pub lines: i64,
}

/// Filters shared by the reports.
#[derive(Clone, Debug, Default)]
pub struct ReportScope {
    /// From (inclusive).
    pub from: Option<Date>,
    /// Until (inclusive).
    pub until: Option<Date>,
    /// One clinic.
    pub clinic_id: Option<ClinicId>,
    /// One provider (a provider sees only their own).
    pub provider_id: Option<ProviderId>,
}

fn month_expr(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => format!("substr({column}, 1, 7)"),
        Backend::Postgres => format!("to_char({column}, 'YYYY-MM')"),
    }
}

fn uuid_text(backend: Backend, column: &str) -> String {
    match backend {
        // SQLite keeps ids as 16-byte blobs; hex is enough for a grouping key.
        Backend::Sqlite => format!("COALESCE(lower(hex({column})), '')"),
        Backend::Postgres => format!("COALESCE(CAST({column} AS TEXT), '')"),
    }
}

fn issued_lines_where(s: &ReportScope) -> Where {
    let mut w = Where::new();
    w.and_literal("i.status IN ('issued', 'partially_paid', 'paid', 'overdue')");
    if let Some(d) = s.from {
        w.and(|p| format!("i.issue_date >= {p}"), d);
    }
    if let Some(d) = s.until {
        w.and(|p| format!("i.issue_date <= {p}"), d);
    }
    if let Some(c) = s.clinic_id {
        w.and(|p| format!("i.clinic_id = {p}"), c);
    }
    if let Some(pr) = s.provider_id {
        w.and(|p| format!("COALESCE(l.provider_id, i.provider_id) = {p}"), pr);
    }
    w
}

/// Revenue of issued invoices in the scope, grouped.
pub async fn revenue(db: &Db, s: &ReportScope, by: RevenueGroup) -> StoreResult<Vec<RevenueRow>> {
    let b = db.backend();
    let (key, label, joins) = match by {
        RevenueGroup::Clinic => {
            (uuid_text(b, "i.clinic_id"), "MIN(c.name)".to_string(), "JOIN clinics c ON c.id = i.clinic_id")
        }
        RevenueGroup::Provider => (
            uuid_text(b, "COALESCE(l.provider_id, i.provider_id)"),
            "COALESCE(MIN(u.full_name), 'No provider')".to_string(),
            "LEFT JOIN providers pr ON pr.id = COALESCE(l.provider_id, i.provider_id) \
             LEFT JOIN users u ON u.id = pr.user_id",
        ),
        RevenueGroup::Service => (
            uuid_text(b, "l.service_id"),
            "COALESCE(MIN(s.name), 'Other items')".to_string(),
            "LEFT JOIN services s ON s.id = l.service_id",
        ),
        RevenueGroup::Month => (month_expr(b, "i.issue_date"), month_expr(b, "MIN(i.issue_date)"), ""),
    };
    let head = format!(
        "SELECT {key} AS key, {label} AS label, i.currency, CAST(SUM(l.net_minor) AS BIGINT) AS net_minor, \
         CAST(SUM(l.tax_minor) AS BIGINT) AS tax_minor, CAST(SUM(l.total_minor) AS BIGINT) AS total_minor, \
         CAST(COUNT(*) AS BIGINT) AS lines FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id {joins}"
    );
    let w = issued_lines_where(s);
    let order = if by == RevenueGroup::Month { "key" } else { "total_minor DESC, label" };
    db.fetch_all(w.query(&head, &format!(" GROUP BY {key}, i.currency ORDER BY {order}"))).await
}

/// One cell of the aged-receivables table.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AgedRow {
    /// Currency.
    pub currency: String,
    /// 0: 0–30 days since issue, 1: 31–60, 2: 61–90, 3: more.
    pub bucket: i64,
    /// Σ owing.
    pub owing_minor: i64,
    /// Invoices.
    pub invoices: i64,
}

/// Money owing on open invoices as of `today`, by age since issue. Reads only the
/// open-invoices index.
pub async fn aged(
    db: &Db,
    today: Date,
    clinic: Option<ClinicId>,
    provider: Option<ProviderId>,
) -> StoreResult<Vec<AgedRow>> {
    let day = |n: i64| today.checked_sub(jiff::Span::new().days(n)).unwrap_or(today);
    let mut w = Where::new();
    // Bucket bounds are dates worked out here, so the SQL is the same on both backends.
    let (d30, d60, d90) = (w.arg(day(30)), w.arg(day(60)), w.arg(day(90)));
    w.and_literal("i.status IN ('issued', 'partially_paid', 'overdue')");
    if let Some(c) = clinic {
        w.and(|p| format!("i.clinic_id = {p}"), c);
    }
    if let Some(pr) = provider {
        w.and(|p| format!("i.provider_id = {p}"), pr);
    }
    let bucket = format!(
        "CASE WHEN i.issue_date >= {d30} THEN 0 WHEN i.issue_date >= {d60} THEN 1 WHEN i.issue_date >= {d90} THEN 2 \
         ELSE 3 END"
    );
    // Once ANALYZE has run, SQLite's planner prefers the (status, due_date) index and then
    // reads every open invoice's row — four times slower at 100,000 invoices than the
    // covering index (BENCHMARKS.md, billing). PostgreSQL picks the covering index itself.
    let hint = match db.backend() {
        Backend::Sqlite => " INDEXED BY invoices_open_idx",
        Backend::Postgres => "",
    };
    db.fetch_all(w.query(
        &format!(
            "SELECT i.currency, CAST({bucket} AS BIGINT) AS bucket, CAST(SUM(i.total_minor - i.paid_minor) AS BIGINT) \
             AS owing_minor, CAST(COUNT(*) AS BIGINT) AS invoices FROM invoices i{hint}"
        ),
        " GROUP BY 1, 2 ORDER BY 1, 2",
    ))
    .await
}

/// One row of payments by method.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MethodRow {
    /// Method code.
    pub method: String,
    /// Currency.
    pub currency: String,
    /// Σ received.
    pub received_minor: i64,
    /// Σ refunded of it.
    pub refunded_minor: i64,
    /// Payments.
    pub payments: i64,
}

/// Payments received in `[from, until)` by method.
pub async fn payments_by_method(
    db: &Db,
    from: Option<Timestamp>,
    until: Option<Timestamp>,
    clinic: Option<ClinicId>,
    provider: Option<ProviderId>,
) -> StoreResult<Vec<MethodRow>> {
    let mut w = Where::new();
    if let Some(t) = from {
        w.and(|p| format!("pm.received_at >= {p}"), t);
    }
    if let Some(t) = until {
        w.and(|p| format!("pm.received_at < {p}"), t);
    }
    if let Some(c) = clinic {
        w.and(|p| format!("pm.clinic_id = {p}"), c);
    }
    if let Some(pr) = provider {
        w.and(|p| format!("i.provider_id = {p}"), pr);
    }
    db.fetch_all(w.query(
        "SELECT pm.method, pm.currency, CAST(SUM(pm.amount_minor) AS BIGINT) AS received_minor, \
         CAST(SUM(pm.refunded_minor) AS BIGINT) AS refunded_minor, CAST(COUNT(*) AS BIGINT) AS payments \
         FROM payments pm JOIN invoices i ON i.id = pm.invoice_id",
        " GROUP BY pm.method, pm.currency ORDER BY received_minor DESC",
    ))
    .await
}

/// One row of tax collected.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TaxRow {
    /// `YYYY-MM` of issue.
    pub month: String,
    /// Rate, basis points.
    pub tax_bp: i64,
    /// Currency.
    pub currency: String,
    /// Σ net the tax was charged on.
    pub net_minor: i64,
    /// Σ tax.
    pub tax_minor: i64,
}

/// Tax charged on issued invoices, by month and rate.
pub async fn tax_collected(db: &Db, s: &ReportScope) -> StoreResult<Vec<TaxRow>> {
    let month = month_expr(db.backend(), "i.issue_date");
    let w = issued_lines_where(s);
    db.fetch_all(w.query(
        &format!(
            "SELECT {month} AS month, l.tax_bp, i.currency, CAST(SUM(l.net_minor) AS BIGINT) AS net_minor, \
             CAST(SUM(l.tax_minor) AS BIGINT) AS tax_minor FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
        ),
        &format!(" GROUP BY {month}, l.tax_bp, i.currency ORDER BY month, l.tax_bp"),
    ))
    .await
}
