//! The demo clinic's money: each clinic's billing details (an Australian ABN with GST,
//! an Indian GSTIN with UPI), Medicare item numbers on the psychology services, and
//! invoices for the visits that took place — most paid, some in part, some overdue —
//! so the billing pages, the reports and the dashboard show a working practice.

use super::{Dice, SeedClock};
use anyhow::Result;
use jiff::{SignedDuration, Timestamp};
use praxis_domain::ClinicId;
use praxis_domain::billing::PaymentMethod;
use praxis_services::billing::settings::{ClinicBillingInput, ServiceBillingInput};
use praxis_services::billing::{DraftRequest, IssueRequest, PaymentRequest};
use praxis_services::scheduling::AppointmentFilter;
use praxis_services::users::PageRequest;
use praxis_services::{Actor, Clock, Services};

/// How many of the completed visits are invoiced (the newest first).
const INVOICED_VISITS: usize = 60;

/// Seeds billing for the clinics `sydney` (AUD) and `bengaluru` (INR).
pub(super) async fn seed_billing(
    s: &Services,
    clock: &SeedClock,
    now: Timestamp,
    sydney: ClinicId,
    bengaluru: ClinicId,
) -> Result<()> {
    let sys = Actor::system("demo-seed");
    let e = |what: &'static str| move |err: praxis_services::ServiceError| anyhow::anyhow!("seeding {what}: {err}");
    let sydney_billing = ClinicBillingInput {
        legal_name: "Harbour Health Pty Ltd".into(),
        tax_label: "ABN".into(),
        tax_number: "51 824 753 556".into(),
        tax_name: "GST".into(),
        default_tax_bp: Some(1000),
        currency: "AUD".into(),
        payment_terms_days: Some(14),
        invoice_prefix: "HHS".into(),
        bank_details: "BSB 062-000 · Account 1234 5678 · Harbour Health Pty Ltd".into(),
        invoice_note: "Thank you for choosing Harbour Health.".into(),
        online_payments: true,
        ..ClinicBillingInput::default()
    };
    s.set_clinic_billing(&sys, sydney, sydney_billing).await.map_err(e("clinic billing"))?;
    let bengaluru_billing = ClinicBillingInput {
        legal_name: "Lotus Wellness Pvt Ltd".into(),
        tax_label: "GSTIN".into(),
        tax_number: "29AAFCL1234M1Z5".into(),
        tax_name: "GST".into(),
        default_tax_bp: Some(1800),
        currency: "INR".into(),
        payment_terms_days: Some(7),
        invoice_prefix: "LWB".into(),
        upi_vpa: "lotuswellness@okaxis".into(),
        upi_payee_name: "Lotus Wellness".into(),
        online_payments: true,
        ..ClinicBillingInput::default()
    };
    s.set_clinic_billing(&sys, bengaluru, bengaluru_billing).await.map_err(e("clinic billing"))?;

    // Health services are GST-free in Australia; psychology carries Medicare item 80110.
    for svc in s.list_service_billing(&sys).await.map_err(e("service billing"))? {
        let input = match (svc.currency.as_str(), svc.name.as_str()) {
            ("AUD", n) if n.contains("Psychology") => ServiceBillingInput {
                tax_bp: Some(0),
                item_number: "80110".into(),
                rebate_minor: 9_895,
                auto_invoice: true,
                ..ServiceBillingInput::default()
            },
            ("AUD", _) => ServiceBillingInput { tax_bp: Some(0), auto_invoice: true, ..ServiceBillingInput::default() },
            _ => ServiceBillingInput { late_cancel_fee_minor: 50_000, ..ServiceBillingInput::default() },
        };
        s.set_service_billing(&sys, svc.service_id, input).await.map_err(e("service billing"))?;
    }

    let done = s
        .list_appointments(
            &sys,
            AppointmentFilter { statuses: vec!["completed".into()], ..Default::default() },
            PageRequest::new(Some(1), Some(2000)),
        )
        .await
        .map_err(e("appointments"))?;
    let mut dice = Dice(11);
    let mut visits: Vec<_> = done.items.iter().collect();
    visits.sort_by_key(|a| std::cmp::Reverse(a.start));
    let mut issued = 0;
    for a in visits.into_iter().take(INVOICED_VISITS) {
        let Some(patient) = a.participants.iter().find(|p| p.status == "booked") else { continue };
        // Invoiced an hour after the visit; automatic drafts may already exist.
        clock.set(a.end.saturating_add(SignedDuration::from_hours(1)).unwrap_or(a.end).min(now));
        let existing = s
            .list_invoices(
                &sys,
                &praxis_services::billing::InvoiceQuery { appointment_id: Some(a.id), ..Default::default() },
            )
            .await
            .map_err(e("invoices"))?;
        let draft = match existing.items.first() {
            Some(d) if d.number.is_none() => d.id,
            Some(_) => continue,
            None => {
                let req = DraftRequest {
                    patient_id: Some(patient.patient_id),
                    appointment_ids: vec![a.id],
                    ..DraftRequest::default()
                };
                s.create_invoice(&sys, req).await.map_err(e("invoices"))?.summary.id
            }
        };
        let inv = s
            .issue_invoice(&sys, draft, IssueRequest { issue_date: None, send: Some(false) })
            .await
            .map_err(e("issuing"))?;
        issued += 1;
        let owing = inv.patient_owes_minor;
        let rupees = inv.summary.currency == "INR";
        let (method, reference) = match (rupees, dice.below(3)) {
            (true, 0) => (PaymentMethod::Upi, format!("UPI-{}", 400_000_000_000 + dice.below(99_999_999))),
            (_, 1) => (PaymentMethod::Cash, String::new()),
            _ => (PaymentMethod::Card, String::new()),
        };
        let share = match dice.below(10) {
            0..=5 => owing,
            6 | 7 => owing / 2,
            _ => 0,
        };
        if share > 0 {
            clock.set(clock.now().saturating_add(SignedDuration::from_mins(5)).unwrap_or(now).min(now));
            let req = PaymentRequest {
                method: Some(method),
                amount_minor: Some(share),
                reference,
                ..PaymentRequest::default()
            };
            s.record_payment(&sys, inv.summary.id, req).await.map_err(e("payments"))?;
        }
    }
    clock.set(now);
    s.sweep_overdue_invoices().await.map_err(e("overdue invoices"))?;
    tracing::info!(invoices = issued, "demo invoices issued");
    Ok(())
}
