//! Invoices and their lines.

use crate::codec::{DbDate, DbTime};
use crate::db::{Backend, Db, Tx, Where, dynamic_sql, like_contains, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use jiff::civil::Date;
use praxis_domain::{AppointmentId, ClinicId, InvoiceId, PatientId, ProviderId, UserId};
use uuid::Uuid;

/// An invoice with the names needed to show it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct InvoiceRow {
    /// Id.
    pub id: Uuid,
    /// Clinic.
    pub clinic_id: Uuid,
    /// Clinic name.
    pub clinic_name: String,
    /// Clinic zone.
    pub time_zone: String,
    /// Patient.
    pub patient_id: Uuid,
    /// Patient's name.
    pub patient_name: String,
    /// Patient's record number.
    pub patient_mrn: Option<String>,
    /// Patient's email.
    pub patient_email: Option<String>,
    /// Patient's address.
    pub patient_address: String,
    /// Provider (for revenue per provider).
    pub provider_id: Option<Uuid>,
    /// Provider's name.
    pub provider_name: Option<String>,
    /// The appointment it was drafted for (automatic invoices).
    pub appointment_id: Option<Uuid>,
    /// Number (`INV-2027-000123`), once issued.
    pub number: Option<String>,
    /// Status code.
    pub status: String,
    /// How it came about (`manual`, `appointment`, `auto`, `deposit`, `late_cancel`, `no_show`, `reissue`).
    pub source: String,
    /// ISO currency.
    pub currency: String,
    /// Issued on (clinic-local date).
    pub issue_date: Option<DbDate>,
    /// Due on.
    pub due_date: Option<DbDate>,
    /// Σ gross.
    pub subtotal_minor: i64,
    /// Σ discount.
    pub discount_minor: i64,
    /// Σ tax.
    pub tax_minor: i64,
    /// Σ total.
    pub total_minor: i64,
    /// Σ rebate.
    pub rebate_minor: i64,
    /// Paid, net of refunds.
    pub paid_minor: i64,
    /// Notes printed on the invoice.
    pub notes: String,
    /// Why it was voided.
    pub void_reason: Option<String>,
    /// When voided.
    pub voided_at: Option<DbTime>,
    /// Who voided it.
    pub voided_by: Option<Uuid>,
    /// The void invoice this one replaces.
    pub reissue_of: Option<Uuid>,
    /// When issued.
    pub issued_at: Option<DbTime>,
    /// Who issued it.
    pub issued_by: Option<Uuid>,
    /// When it was found overdue.
    pub overdue_at: Option<DbTime>,
    /// Created.
    pub created_at: DbTime,
    /// By.
    pub created_by: Option<Uuid>,
    /// Changed.
    pub updated_at: DbTime,
    /// +1 per change.
    pub version: i64,
}

const SELECT: &str = "SELECT i.id, i.clinic_id, c.name AS clinic_name, c.time_zone, i.patient_id, \
    p.given_name || ' ' || p.family_name AS patient_name, p.mrn AS patient_mrn, p.email AS patient_email, \
    p.address AS patient_address, i.provider_id, u.full_name AS provider_name, i.appointment_id, i.number, i.status, \
    i.source, i.currency, i.issue_date, i.due_date, i.subtotal_minor, i.discount_minor, i.tax_minor, i.total_minor, \
    i.rebate_minor, i.paid_minor, i.notes, i.void_reason, i.voided_at, i.voided_by, i.reissue_of, i.issued_at, \
    i.issued_by, i.overdue_at, i.created_at, i.created_by, i.updated_at, i.version \
    FROM invoices i JOIN clinics c ON c.id = i.clinic_id JOIN patients p ON p.id = i.patient_id \
    LEFT JOIN providers pr ON pr.id = i.provider_id LEFT JOIN users u ON u.id = pr.user_id";

/// One invoice.
pub async fn get(db: &Db, id: InvoiceId) -> StoreResult<Option<InvoiceRow>> {
    db.fetch_optional(dynamic_sql(format!("{SELECT} WHERE i.id = $1")).bind(id)).await
}

/// One invoice in a transaction, locked against concurrent changes on PostgreSQL.
pub async fn get_for_update(tx: &mut Tx, id: InvoiceId) -> StoreResult<Option<InvoiceRow>> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE OF i",
        Backend::Sqlite => "",
    };
    tx.fetch_optional(dynamic_sql(format!("{SELECT} WHERE i.id = $1{lock}")).bind(id)).await
}

/// A new invoice (always a draft; figures from its lines).
#[derive(Clone, Debug)]
pub struct NewInvoice {
    /// Id.
    pub id: InvoiceId,
    /// Clinic.
    pub clinic_id: ClinicId,
    /// Patient.
    pub patient_id: PatientId,
    /// Provider.
    pub provider_id: Option<ProviderId>,
    /// The appointment of an automatic invoice.
    pub appointment_id: Option<AppointmentId>,
    /// Source code.
    pub source: &'static str,
    /// Currency.
    pub currency: String,
    /// Notes.
    pub notes: String,
    /// What it replaces.
    pub reissue_of: Option<InvoiceId>,
    /// Now.
    pub created_at: Timestamp,
    /// By.
    pub created_by: Option<UserId>,
}

/// Inserts a draft invoice with zero figures (set them with [`set_draft`]).
pub async fn insert(tx: &mut Tx, n: &NewInvoice) -> StoreResult<()> {
    tx.execute(
        sql("INSERT INTO invoices (id, clinic_id, patient_id, provider_id, appointment_id, status, source, currency, \
             notes, reissue_of, created_at, created_by, updated_at, version) VALUES ($1, $2, $3, $4, $5, 'draft', $6, \
             $7, $8, $9, $10, $11, $10, 1)")
        .bind(n.id)
        .bind(n.clinic_id)
        .bind(n.patient_id)
        .bind(n.provider_id)
        .bind(n.appointment_id)
        .bind(n.source)
        .bind(&n.currency)
        .bind(&n.notes)
        .bind(n.reissue_of)
        .bind(n.created_at)
        .bind(n.created_by),
    )
    .await?;
    Ok(())
}

/// A draft's figures and header.
#[derive(Clone, Debug)]
pub struct DraftFigures {
    /// Provider.
    pub provider_id: Option<ProviderId>,
    /// Notes.
    pub notes: String,
    /// Σ gross.
    pub subtotal_minor: i64,
    /// Σ discount.
    pub discount_minor: i64,
    /// Σ tax.
    pub tax_minor: i64,
    /// Σ total.
    pub total_minor: i64,
    /// Σ rebate.
    pub rebate_minor: i64,
}

/// Rewrites a draft's header and figures; false when it is no longer a draft.
pub async fn set_draft(tx: &mut Tx, id: InvoiceId, f: &DraftFigures, now: Timestamp) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE invoices SET provider_id = $2, notes = $3, subtotal_minor = $4, discount_minor = $5, \
                 tax_minor = $6, total_minor = $7, rebate_minor = $8, updated_at = $9, version = version + 1 \
                 WHERE id = $1 AND status = 'draft'")
            .bind(id)
            .bind(f.provider_id)
            .bind(&f.notes)
            .bind(f.subtotal_minor)
            .bind(f.discount_minor)
            .bind(f.tax_minor)
            .bind(f.total_minor)
            .bind(f.rebate_minor)
            .bind(now),
        )
        .await?;
    Ok(n == 1)
}

/// Issues a draft: number, dates and first status. False when it is no longer a draft.
#[allow(clippy::too_many_arguments)]
pub async fn issue(
    tx: &mut Tx,
    id: InvoiceId,
    number: &str,
    issue_date: Date,
    due_date: Date,
    status: &str,
    now: Timestamp,
    by: Option<UserId>,
) -> StoreResult<bool> {
    let n = tx
        .execute(
            sql("UPDATE invoices SET number = $2, issue_date = $3, due_date = $4, status = $5, issued_at = $6, \
                 issued_by = $7, updated_at = $6, version = version + 1 WHERE id = $1 AND status = 'draft'")
            .bind(id)
            .bind(number)
            .bind(issue_date)
            .bind(due_date)
            .bind(status)
            .bind(now)
            .bind(by),
        )
        .await?;
    Ok(n == 1)
}

/// Records what has been paid (net of refunds) and the status that follows.
pub async fn set_paid(tx: &mut Tx, id: InvoiceId, paid_minor: i64, status: &str, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE invoices SET paid_minor = $2, status = $3, updated_at = $4, version = version + 1 WHERE id = $1")
            .bind(id)
            .bind(paid_minor)
            .bind(status)
            .bind(now),
    )
    .await?;
    Ok(())
}

/// Voids an invoice with a reason.
pub async fn void(tx: &mut Tx, id: InvoiceId, reason: &str, now: Timestamp, by: Option<UserId>) -> StoreResult<()> {
    tx.execute(
        sql("UPDATE invoices SET status = 'void', void_reason = $2, voided_at = $3, voided_by = $4, updated_at = $3, \
             version = version + 1 WHERE id = $1")
        .bind(id)
        .bind(reason)
        .bind(now)
        .bind(by),
    )
    .await?;
    Ok(())
}

/// Deletes a draft and its lines (drafts have no number, so nothing leaves a gap).
pub async fn delete_draft(tx: &mut Tx, id: InvoiceId) -> StoreResult<bool> {
    tx.execute(sql("DELETE FROM invoice_lines WHERE invoice_id = $1").bind(id)).await?;
    let n = tx.execute(sql("DELETE FROM invoices WHERE id = $1 AND status = 'draft'").bind(id)).await?;
    Ok(n == 1)
}

/// Marks a clinic's issued invoices due before `today` as overdue; returns their ids.
pub async fn mark_overdue(tx: &mut Tx, clinic: ClinicId, today: Date, now: Timestamp) -> StoreResult<Vec<Uuid>> {
    let rows: Vec<(Uuid,)> = tx
        .fetch_all(
            sql("UPDATE invoices SET status = 'overdue', overdue_at = $3, updated_at = $3, version = version + 1 \
                 WHERE clinic_id = $1 AND status IN ('issued', 'partially_paid') AND due_date < $2 \
                 AND paid_minor < total_minor RETURNING id")
            .bind(clinic)
            .bind(today)
            .bind(now),
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// One line as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LineRow {
    /// Id.
    pub id: Uuid,
    /// Invoice.
    pub invoice_id: Uuid,
    /// Order on the invoice, from 1.
    pub position: i64,
    /// `charge`, `fee`, `deposit`, `deposit_credit`.
    pub kind: String,
    /// The appointment it bills.
    pub appointment_id: Option<Uuid>,
    /// The service.
    pub service_id: Option<Uuid>,
    /// Who provided it.
    pub provider_id: Option<Uuid>,
    /// For a deposit credit: the deposit's invoice.
    pub credit_of: Option<Uuid>,
    /// Text.
    pub description: String,
    /// Date of service.
    pub service_date: Option<DbDate>,
    /// Medicare/insurer item number.
    pub item_number: Option<String>,
    /// Quantity.
    pub quantity: i64,
    /// Unit price before tax.
    pub unit_price_minor: i64,
    /// `none`, `amount`, `percent`.
    pub discount_kind: String,
    /// Amount (minor) or basis points.
    pub discount_value: i64,
    /// Tax rate.
    pub tax_bp: i64,
    /// Figures as computed by the domain.
    pub gross_minor: i64,
    /// Discount amount.
    pub discount_minor: i64,
    /// Net.
    pub net_minor: i64,
    /// Tax.
    pub tax_minor: i64,
    /// Total.
    pub total_minor: i64,
    /// Rebate.
    pub rebate_minor: i64,
}

const LINE_SELECT: &str = "SELECT id, invoice_id, position, kind, appointment_id, service_id, provider_id, credit_of, \
    description, service_date, item_number, quantity, unit_price_minor, discount_kind, discount_value, tax_bp, \
    gross_minor, discount_minor, net_minor, tax_minor, total_minor, rebate_minor FROM invoice_lines";

/// The lines of invoices, in order.
pub async fn lines(db: &Db, invoices: &[Uuid]) -> StoreResult<Vec<LineRow>> {
    let mut w = Where::new();
    w.and_in("invoice_id", invoices.iter().copied());
    db.fetch_all(w.query(LINE_SELECT, " ORDER BY invoice_id, position")).await
}

/// The lines of one invoice inside a transaction.
pub async fn lines_tx(tx: &mut Tx, invoice: InvoiceId) -> StoreResult<Vec<LineRow>> {
    tx.fetch_all(dynamic_sql(format!("{LINE_SELECT} WHERE invoice_id = $1 ORDER BY position")).bind(invoice)).await
}

/// Replaces a draft's lines.
pub async fn replace_lines(tx: &mut Tx, invoice: InvoiceId, lines: &[LineRow]) -> StoreResult<()> {
    tx.execute(sql("DELETE FROM invoice_lines WHERE invoice_id = $1").bind(invoice)).await?;
    for l in lines {
        tx.execute(
            sql("INSERT INTO invoice_lines (id, invoice_id, position, kind, appointment_id, service_id, provider_id, \
                 credit_of, description, service_date, item_number, quantity, unit_price_minor, discount_kind, \
                 discount_value, tax_bp, gross_minor, discount_minor, net_minor, tax_minor, total_minor, rebate_minor) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
                 $21, $22)")
            .bind(l.id)
            .bind(invoice)
            .bind(l.position)
            .bind(&l.kind)
            .bind(l.appointment_id)
            .bind(l.service_id)
            .bind(l.provider_id)
            .bind(l.credit_of)
            .bind(&l.description)
            .bind(l.service_date.map(|d| d.0))
            .bind(l.item_number.clone())
            .bind(l.quantity)
            .bind(l.unit_price_minor)
            .bind(&l.discount_kind)
            .bind(l.discount_value)
            .bind(l.tax_bp)
            .bind(l.gross_minor)
            .bind(l.discount_minor)
            .bind(l.net_minor)
            .bind(l.tax_minor)
            .bind(l.total_minor)
            .bind(l.rebate_minor),
        )
        .await?;
    }
    Ok(())
}

/// Filters for the invoice list.
#[derive(Clone, Debug, Default)]
pub struct InvoiceFilter {
    /// In one of these statuses.
    pub statuses: Vec<String>,
    /// At this clinic.
    pub clinic_id: Option<ClinicId>,
    /// Provided by (the invoice's provider, or any of its lines').
    pub provider_id: Option<ProviderId>,
    /// For this patient.
    pub patient_id: Option<PatientId>,
    /// For patients this account acts for (own record or a guardian's children).
    pub patients_of_user: Option<UserId>,
    /// Issued on or after.
    pub issued_from: Option<Date>,
    /// Issued on or before.
    pub issued_until: Option<Date>,
    /// Number or patient name contains.
    pub text: Option<String>,
    /// Billing this appointment (on any line).
    pub appointment_id: Option<AppointmentId>,
}

fn filter_where(f: &InvoiceFilter) -> Where {
    let mut w = Where::new();
    if !f.statuses.is_empty() {
        w.and_in("i.status", f.statuses.iter());
    }
    if let Some(c) = f.clinic_id {
        w.and(|p| format!("i.clinic_id = {p}"), c);
    }
    if let Some(pr) = f.provider_id {
        w.and_many(
            |p| {
                format!(
                    "i.provider_id = {p} OR EXISTS (SELECT 1 FROM invoice_lines l WHERE l.invoice_id = i.id \
                     AND l.provider_id = {p})"
                )
            },
            pr,
        );
    }
    if let Some(pt) = f.patient_id {
        w.and(|p| format!("i.patient_id = {p}"), pt);
    }
    if let Some(u) = f.patients_of_user {
        w.and_many(
            |p| {
                format!(
                    "i.patient_id IN (SELECT pt.id FROM patients pt WHERE pt.user_id = {p}) OR i.patient_id IN \
                     (SELECT g.patient_id FROM patient_guardians g WHERE g.user_id = {p})"
                )
            },
            u,
        );
    }
    if let Some(d) = f.issued_from {
        w.and(|p| format!("i.issue_date >= {p}"), d);
    }
    if let Some(d) = f.issued_until {
        w.and(|p| format!("i.issue_date <= {p}"), d);
    }
    if let Some(a) = f.appointment_id {
        w.and_many(
            |p| {
                format!(
                    "i.appointment_id = {p} OR EXISTS (SELECT 1 FROM invoice_lines l WHERE l.invoice_id = i.id \
                     AND l.appointment_id = {p})"
                )
            },
            a,
        );
    }
    if let Some(t) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        w.and_many(
            |p| {
                format!(
                    "lower(COALESCE(i.number, '')) LIKE {p} ESCAPE '\\' OR \
                     lower(p.given_name || ' ' || p.family_name) LIKE {p} ESCAPE '\\'"
                )
            },
            like_contains(&t.to_lowercase()),
        );
    }
    w
}

/// A page of invoices, newest first, and the total count.
pub async fn list(db: &Db, f: &InvoiceFilter, limit: i64, offset: i64) -> StoreResult<(Vec<InvoiceRow>, i64)> {
    let w = filter_where(f);
    let (total,): (i64,) =
        db.fetch_one(w.query("SELECT COUNT(*) FROM invoices i JOIN patients p ON p.id = i.patient_id", "")).await?;
    let rows = db
        .fetch_all(w.query(
            SELECT,
            &format!(" ORDER BY i.created_at DESC, i.id DESC LIMIT {} OFFSET {}", limit.clamp(1, 500), offset.max(0)),
        ))
        .await?;
    Ok((rows, total))
}

/// What a patient owes across their issued invoices, per currency: (currency, owing, open invoices).
pub async fn patient_balance(db: &Db, patient: PatientId) -> StoreResult<Vec<(String, i64, i64)>> {
    db.fetch_all(
        sql("SELECT currency, CAST(COALESCE(SUM(total_minor - paid_minor), 0) AS BIGINT), CAST(COUNT(*) AS BIGINT) \
             FROM invoices WHERE patient_id = $1 AND status IN ('issued', 'partially_paid', 'overdue') \
             GROUP BY currency ORDER BY currency")
        .bind(patient),
    )
    .await
}

/// The invoice of `source` drafted automatically for an appointment and patient, if any
/// (void ones only when `include_void`: a waived fee is not drafted again).
pub async fn automatic_for(
    tx: &mut Tx,
    appointment: AppointmentId,
    patient: PatientId,
    source: &str,
    include_void: bool,
) -> StoreResult<Option<Uuid>> {
    let row: Option<(Uuid,)> = tx
        .fetch_optional(
            sql("SELECT id FROM invoices WHERE appointment_id = $1 AND patient_id = $2 AND source = $3 \
                 AND ($4 OR status <> 'void') ORDER BY created_at DESC LIMIT 1")
            .bind(appointment)
            .bind(patient)
            .bind(source)
            .bind(include_void),
        )
        .await?;
    Ok(row.map(|r| r.0))
}

/// The invoices (not void) that bill `appointment` for `patient` on a charge line: (id, number).
pub async fn billing_invoices_of(
    tx: &mut Tx,
    appointment: AppointmentId,
    patient: PatientId,
) -> StoreResult<Vec<(Uuid, Option<String>)>> {
    tx.fetch_all(
        sql("SELECT DISTINCT i.id, i.number FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
             WHERE l.appointment_id = $1 AND i.patient_id = $2 AND i.status <> 'void' AND l.kind = 'charge'")
        .bind(appointment)
        .bind(patient),
    )
    .await
}
