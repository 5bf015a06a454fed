//! The overdue sweep: run with the rest of housekeeping (every 15 s in `praxis serve`), it
//! marks each clinic's issued invoices past their due date (in the clinic's own zone) as
//! overdue and emails each patient a reminder once.

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceResult;
use praxis_domain::{ClinicId, InvoiceId};
use praxis_store::billing::invoices;

impl Services {
    /// Marks invoices due before today as overdue and queues one reminder per invoice.
    /// Safe to run on every instance at any time (the update only moves invoices that are
    /// still open and past due; the reminder's key makes a second one a no-op). Returns
    /// how many invoices became overdue.
    pub async fn sweep_overdue_invoices(&self) -> ServiceResult<usize> {
        let now = self.now();
        let mut total = 0;
        for clinic in praxis_store::catalog::clinics(self.db()).await? {
            let today = now.to_zoned(crate::scheduling::zone_named(&clinic.time_zone)).date();
            let mut tx = self.db().begin().await?;
            let moved = invoices::mark_overdue(&mut tx, ClinicId(clinic.id), today, now).await?;
            if moved.is_empty() {
                tx.rollback().await?;
                continue;
            }
            for id in &moved {
                if let Some(row) = invoices::get_for_update(&mut tx, InvoiceId(*id)).await? {
                    self.queue_invoice_email(&mut tx, &row, super::notices::InvoiceNotice::Overdue, now).await?;
                }
            }
            tx.audit(self.audit_entry(
                &Actor::system("system"),
                "invoice.overdue",
                "clinic",
                Some(clinic.id.to_string()),
                format!("{} invoice(s) at {} became overdue", moved.len(), clinic.name),
            ));
            tx.commit().await?;
            total += moved.len();
        }
        Ok(total)
    }
}
