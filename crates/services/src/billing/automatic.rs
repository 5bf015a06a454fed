//! Invoices Praxis drafts by itself, per service: the visit's invoice when an appointment
//! is completed (`auto_invoice`), a deposit asked for at booking (`deposit_minor`, issued
//! at once so the patient can pay it), and late-cancellation and no-show fees (drafted
//! for staff to issue or waive with a reason — waiving is voiding with that reason).
//!
//! Scheduling never waits for billing: the appointment's change enqueues a durable
//! `billing_event` job in its own transaction, and the worker drafts the invoice. The job
//! is idempotent (an invoice per appointment, patient and kind, enforced by a unique
//! index), so a retry or a second worker never drafts twice.

use super::drafts::DraftRequest;
use super::issue::IssueRequest;
use super::money;
use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use crate::notifications::queue::{Claimed, Outcome, backoff};
use jiff::Timestamp;
use praxis_domain::billing::{InvoiceStatus, LineKind};
use praxis_domain::{AppointmentId, ClinicId, InvoiceId, InvoiceLineId, PatientId, ProviderId, ServiceId};
use praxis_store::Tx;
use praxis_store::billing::invoices::{self, LineRow, NewInvoice};
use praxis_store::billing::settings as terms_store;
use praxis_store::jobs::{self, NewJob};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The job kind the worker dispatches to [`Services::process_billing_job`].
pub const BILLING_JOB: &str = "billing_event";

/// What happened to an appointment that billing may act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingEvent {
    /// Booked (a deposit may be due).
    Booked,
    /// Completed (the visit may be invoiced).
    Completed,
    /// Cancelled inside the late-cancellation window (a fee may be due).
    LateCancelled,
    /// Cancelled in time (an unpaid deposit is withdrawn).
    Cancelled,
    /// The patient did not come (a fee may be due).
    NoShow,
}

impl BillingEvent {
    fn as_str(self) -> &'static str {
        match self {
            BillingEvent::Booked => "booked",
            BillingEvent::Completed => "completed",
            BillingEvent::LateCancelled => "late_cancelled",
            BillingEvent::Cancelled => "cancelled",
            BillingEvent::NoShow => "no_show",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct EventJob {
    appointment_id: Uuid,
    event: BillingEvent,
    /// Only this participant (a patient leaving a group session); none: every booked one.
    patient_id: Option<Uuid>,
}

impl Services {
    /// Enqueues billing's part of an appointment change inside the scheduling
    /// transaction — only when the service's terms make it matter, so a booking without a
    /// deposit writes nothing more.
    pub(crate) async fn enqueue_billing_event(
        &self,
        tx: &mut Tx,
        appointment: AppointmentId,
        service: ServiceId,
        event: BillingEvent,
        patient: Option<PatientId>,
        now: Timestamp,
    ) -> ServiceResult<()> {
        let Some(t) = terms_store::service_terms_tx(tx, service).await? else { return Ok(()) };
        let relevant = match event {
            BillingEvent::Booked | BillingEvent::Cancelled => t.deposit_minor > 0,
            BillingEvent::Completed => t.auto_invoice || t.deposit_minor > 0,
            BillingEvent::LateCancelled => t.late_cancel_fee_minor > 0 || t.deposit_minor > 0,
            BillingEvent::NoShow => t.no_show_fee_minor > 0,
        };
        if !relevant {
            return Ok(());
        }
        let job = EventJob { appointment_id: appointment.0, event, patient_id: patient.map(|p| p.0) };
        let payload = serde_json::to_string(&job).map_err(|e| ServiceError::Internal(e.to_string()))?;
        jobs::enqueue(
            tx,
            &NewJob {
                id: Uuid::now_v7(),
                kind: BILLING_JOB.into(),
                payload,
                run_at: now,
                max_attempts: 8,
                idempotency_key: format!(
                    "billing:{}:{}:{}:{}",
                    event.as_str(),
                    appointment.0,
                    patient.map(|p| p.0.to_string()).unwrap_or_default(),
                    now.as_microsecond()
                ),
            },
            now,
        )
        .await?;
        Ok(())
    }

    /// Runs one `billing_event` job: drafts what the service's terms ask for and records
    /// the outcome while the lease is ours.
    pub(crate) async fn process_billing_job(&self, c: &Claimed) -> ServiceResult<Outcome> {
        let result = match serde_json::from_str::<EventJob>(&c.job.payload) {
            Ok(job) => self.apply_billing_event(&job).await,
            Err(e) => Err(ServiceError::Internal(format!("unreadable billing job: {e}"))),
        };
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let outcome = match result {
            Ok(done) => {
                if !jobs::complete(&mut tx, c.job.id, &c.claim, now).await? {
                    return Ok(Outcome::LeaseLost);
                }
                Outcome::Done(done)
            }
            Err(e) if c.job.attempts < c.job.max_attempts => {
                let at = now
                    .saturating_add(backoff(self.settings().retry_base, self.settings().retry_cap, c.job.attempts))
                    .unwrap_or(now);
                if !jobs::fail(&mut tx, c.job.id, &c.claim, &e.to_string(), Some(at), now).await? {
                    return Ok(Outcome::LeaseLost);
                }
                Outcome::Retry(e.to_string(), at)
            }
            Err(e) => {
                if !jobs::fail(&mut tx, c.job.id, &c.claim, &e.to_string(), None, now).await? {
                    return Ok(Outcome::LeaseLost);
                }
                Outcome::Dead(e.to_string())
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn apply_billing_event(&self, job: &EventJob) -> ServiceResult<String> {
        let id = AppointmentId(job.appointment_id);
        let Some(appt) = praxis_store::appointments::get(self.db(), id).await? else {
            return Ok("appointment gone".into());
        };
        let Some(terms) = terms_store::service_terms(self.db(), ServiceId(appt.service_id)).await? else {
            return Ok("service gone".into());
        };
        let parts = praxis_store::appointments::participants(self.db(), &[appt.id]).await?;
        let patients: Vec<PatientId> = match job.patient_id {
            Some(p) => vec![PatientId(p)],
            None => parts
                .iter()
                .filter(|p| p.status == "booked" || job.event != BillingEvent::Completed)
                .map(|p| PatientId(p.patient_id))
                .collect(),
        };
        let mut done = Vec::new();
        for patient in patients {
            let what = match job.event {
                BillingEvent::Booked if terms.deposit_minor > 0 && appt.status != "cancelled" => {
                    self.draft_deposit(&appt, patient, &terms).await?
                }
                BillingEvent::Completed if terms.auto_invoice => self.draft_visit(&appt, patient).await?,
                BillingEvent::Completed => self.withdraw_unpaid_deposit(id, patient, "the visit took place").await?,
                BillingEvent::LateCancelled | BillingEvent::NoShow => {
                    let (source, fee) = if job.event == BillingEvent::NoShow {
                        ("no_show", terms.no_show_fee_minor)
                    } else {
                        ("late_cancel", terms.late_cancel_fee_minor)
                    };
                    let mut out = String::new();
                    if fee > 0 {
                        out = self.draft_fee(&appt, patient, &terms, source, fee).await?;
                    }
                    if job.event == BillingEvent::LateCancelled {
                        out.push_str(
                            &self.withdraw_unpaid_deposit(id, patient, "the appointment was cancelled").await?,
                        );
                    }
                    out
                }
                BillingEvent::Cancelled => {
                    self.withdraw_unpaid_deposit(id, patient, "the appointment was cancelled").await?
                }
                _ => String::new(),
            };
            if !what.is_empty() {
                done.push(what);
            }
        }
        Ok(if done.is_empty() { "nothing to bill".into() } else { done.join("; ") })
    }

    /// An existing automatic invoice of `source` for this appointment and patient
    /// (voided ones count for fees: a waived fee is not drafted again).
    async fn automatic_exists(
        &self,
        appointment: AppointmentId,
        patient: PatientId,
        source: &str,
        include_void: bool,
    ) -> ServiceResult<Option<Uuid>> {
        let mut tx = self.db().begin().await?;
        let found = invoices::automatic_for(&mut tx, appointment, patient, source, include_void).await?;
        tx.rollback().await?;
        Ok(found)
    }

    /// Inserts an automatic draft with `lines` (computed by the domain via `draft_lines`).
    async fn insert_automatic(
        &self,
        appt: &praxis_store::appointments::AppointmentRow,
        patient: PatientId,
        source: &'static str,
        req: DraftRequest,
        extra: Vec<LineRow>,
    ) -> ServiceResult<Option<InvoiceId>> {
        let clinic = ClinicId(appt.clinic_id);
        let billing = self.clinic_billing(clinic).await?;
        let drafted = self.draft_lines(&billing, patient, &req, &extra).await?;
        let now = self.now();
        let id = InvoiceId::new();
        let mut tx = self.db().begin().await?;
        if invoices::automatic_for(&mut tx, AppointmentId(appt.id), patient, source, source != "auto").await?.is_some()
        {
            return Ok(None);
        }
        if source == "auto"
            && !invoices::billing_invoices_of(&mut tx, AppointmentId(appt.id), patient).await?.is_empty()
        {
            return Ok(None); // staff invoiced it already
        }
        invoices::insert(
            &mut tx,
            &NewInvoice {
                id,
                clinic_id: clinic,
                patient_id: patient,
                provider_id: Some(ProviderId(appt.provider_id)),
                appointment_id: Some(AppointmentId(appt.id)),
                source,
                currency: billing.currency.clone(),
                notes: String::new(),
                reissue_of: None,
                created_at: now,
                created_by: None,
            },
        )
        .await?;
        self.save_draft(&mut tx, id, &drafted, "", now).await?;
        tx.audit(self.audit_entry(
            &Actor::system("billing"),
            "invoice.draft_automatic",
            "invoice",
            Some(id.to_string()),
            format!(
                "{source} draft for patient {patient} ({}): {}",
                appt.number,
                money(drafted.totals.total_minor, &billing.currency)
            ),
        ));
        match tx.commit().await {
            Ok(()) => Ok(Some(id)),
            // Another worker drafted it at the same moment: the unique index kept one.
            Err(e) if e.is_unique("invoices_automatic_key") || e.is_unique("invoices.appointment_id") => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn draft_visit(
        &self,
        appt: &praxis_store::appointments::AppointmentRow,
        patient: PatientId,
    ) -> ServiceResult<String> {
        if appt.status != "completed" {
            return Ok(String::new());
        }
        let id = AppointmentId(appt.id);
        // A deposit paid comes off the visit's invoice; an unpaid one is withdrawn.
        let mut extra = Vec::new();
        if let Some(dep) = self.automatic_exists(id, patient, "deposit", false).await?
            && let Some(d) = invoices::get(self.db(), InvoiceId(dep)).await?
        {
            if d.paid_minor > 0 {
                extra.push(deposit_credit(&d, appt));
            } else {
                self.withdraw_unpaid_deposit(id, patient, "included in the visit's invoice").await?;
            }
        }
        let req = DraftRequest {
            patient_id: Some(patient),
            clinic_id: Some(ClinicId(appt.clinic_id)),
            appointment_ids: vec![id],
            ..DraftRequest::default()
        };
        Ok(match self.insert_automatic(appt, patient, "auto", req, extra).await? {
            Some(inv) => format!("visit invoice {inv} drafted"),
            None => String::new(),
        })
    }

    async fn draft_fee(
        &self,
        appt: &praxis_store::appointments::AppointmentRow,
        patient: PatientId,
        terms: &terms_store::ServiceTermsRow,
        source: &'static str,
        fee: i64,
    ) -> ServiceResult<String> {
        if self.automatic_exists(AppointmentId(appt.id), patient, source, true).await?.is_some() {
            return Ok(String::new());
        }
        let zone = crate::scheduling::zone_named(&appt.time_zone);
        let date = appt.starts_at.0.to_zoned(zone).date();
        let what = if source == "no_show" { "Missed appointment fee" } else { "Late cancellation fee" };
        let line = super::LineRequest {
            kind: Some(LineKind::Fee),
            description: format!("{what}: {} on {date} ({})", terms.name, appt.number),
            unit_price_minor: Some(fee),
            tax_rate_bp: terms.tax_bp,
            rebate_minor: Some(0),
            appointment_id: Some(AppointmentId(appt.id)),
            provider_id: Some(ProviderId(appt.provider_id)),
            service_date: Some(date),
            ..super::LineRequest::default()
        };
        let req = DraftRequest {
            patient_id: Some(patient),
            clinic_id: Some(ClinicId(appt.clinic_id)),
            lines: vec![line],
            ..DraftRequest::default()
        };
        Ok(match self.insert_automatic(appt, patient, source, req, Vec::new()).await? {
            Some(inv) => format!("{source} fee {inv} drafted"),
            None => String::new(),
        })
    }

    /// Drafts and issues the deposit (the patient pays it from the portal or at the desk).
    async fn draft_deposit(
        &self,
        appt: &praxis_store::appointments::AppointmentRow,
        patient: PatientId,
        terms: &terms_store::ServiceTermsRow,
    ) -> ServiceResult<String> {
        let existing = self.automatic_exists(AppointmentId(appt.id), patient, "deposit", false).await?;
        let id = match existing {
            Some(id) => InvoiceId(id),
            None => {
                let zone = crate::scheduling::zone_named(&appt.time_zone);
                let date = appt.starts_at.0.to_zoned(zone).date();
                let line = super::LineRequest {
                    kind: Some(LineKind::Deposit),
                    description: format!("Deposit for {} on {date} ({})", terms.name, appt.number),
                    unit_price_minor: Some(terms.deposit_minor),
                    tax_rate_bp: Some(0),
                    rebate_minor: Some(0),
                    appointment_id: Some(AppointmentId(appt.id)),
                    provider_id: Some(ProviderId(appt.provider_id)),
                    service_date: Some(date),
                    ..super::LineRequest::default()
                };
                let req = DraftRequest {
                    patient_id: Some(patient),
                    clinic_id: Some(ClinicId(appt.clinic_id)),
                    lines: vec![line],
                    ..DraftRequest::default()
                };
                match self.insert_automatic(appt, patient, "deposit", req, Vec::new()).await? {
                    Some(id) => id,
                    None => return Ok(String::new()),
                }
            }
        };
        let row = invoices::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Invoice" })?;
        if row.status == "draft" {
            self.issue_invoice(&Actor::system("billing"), id, IssueRequest { issue_date: None, send: Some(true) })
                .await?;
            return Ok(format!("deposit {id} issued"));
        }
        Ok(String::new())
    }

    /// Voids an open deposit invoice with nothing paid on it (a paid one stays: staff
    /// refund or keep it under the clinic's policy).
    async fn withdraw_unpaid_deposit(
        &self,
        appt: AppointmentId,
        patient: PatientId,
        why: &str,
    ) -> ServiceResult<String> {
        let Some(dep) = self.automatic_exists(appt, patient, "deposit", false).await? else { return Ok(String::new()) };
        let Some(row) = invoices::get(self.db(), InvoiceId(dep)).await? else { return Ok(String::new()) };
        let status = InvoiceStatus::parse(&row.status).unwrap_or(InvoiceStatus::Void);
        if row.paid_minor > 0 || status == InvoiceStatus::Void {
            return Ok(String::new());
        }
        let req = super::issue::VoidRequest { reason: format!("Deposit withdrawn: {why}.") };
        self.void_invoice(&Actor::system("billing"), InvoiceId(dep), req).await?;
        Ok(format!("deposit {dep} withdrawn"))
    }
}

/// The deposit paid, as a negative line on the visit's invoice.
fn deposit_credit(d: &invoices::InvoiceRow, appt: &praxis_store::appointments::AppointmentRow) -> LineRow {
    let amount = -d.paid_minor;
    LineRow {
        id: InvoiceLineId::new().0,
        invoice_id: Uuid::nil(),
        position: 0,
        kind: LineKind::DepositCredit.as_str().into(),
        appointment_id: Some(appt.id),
        service_id: None,
        provider_id: Some(appt.provider_id),
        credit_of: Some(d.id),
        description: format!("Deposit paid ({})", d.number.as_deref().unwrap_or("deposit")),
        service_date: None,
        item_number: None,
        quantity: 1,
        unit_price_minor: amount,
        discount_kind: "none".into(),
        discount_value: 0,
        tax_bp: 0,
        gross_minor: amount,
        discount_minor: 0,
        net_minor: amount,
        tax_minor: 0,
        total_minor: amount,
        rebate_minor: 0,
    }
}
