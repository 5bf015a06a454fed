//! Drafting invoices: lines from appointments (the service's price by default), from a
//! service, or typed by hand; saved as a draft that can be changed until it is issued.

use super::settings::ClinicBilling;
use super::{Invoice, money};
use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use jiff::civil::Date;
use praxis_domain::billing::{
    Discount, InvoiceTotals, LineAmounts, LineInput, LineKind, MAX_LINES, TaxRate, compute_line, compute_totals,
};
use praxis_domain::{
    AppointmentId, ClinicId, InvoiceId, InvoiceLineId, PatientId, Permission, ProviderId, ServiceId, Validation,
};
use praxis_store::DbDate;
use praxis_store::Tx;
use praxis_store::billing::invoices::{self, DraftFigures, LineRow, NewInvoice};
use praxis_store::billing::settings as terms_store;
use serde::Deserialize;

/// One line of a draft as sent by staff.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct LineRequest {
    /// `charge` (default), `fee` or `deposit`. Deposit credits are added by Praxis itself.
    pub kind: Option<LineKind>,
    /// Text (default: the service's name and date).
    #[serde(default)]
    pub description: String,
    /// How many (default 1).
    pub quantity: Option<i64>,
    /// Price of one before tax, minor units (default: the service's price).
    pub unit_price_minor: Option<i64>,
    /// A fixed discount, minor units.
    pub discount_minor: Option<i64>,
    /// A percentage discount, basis points (1500 = 15 %).
    pub discount_percent_bp: Option<i64>,
    /// Tax rate, basis points (default: the service's, else the clinic's).
    pub tax_rate_bp: Option<i64>,
    /// Medicare or insurer item number (default: the service's).
    pub item_number: Option<String>,
    /// Rebate expected, minor units (default: the service's).
    pub rebate_minor: Option<i64>,
    /// The service billed.
    pub service_id: Option<ServiceId>,
    /// The appointment billed.
    pub appointment_id: Option<AppointmentId>,
    /// Who provided it.
    pub provider_id: Option<ProviderId>,
    /// Date of service.
    #[schema(value_type = Option<String>, format = Date)]
    pub service_date: Option<Date>,
}

/// A draft invoice as sent by staff (creating, or replacing a draft's contents).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DraftRequest {
    /// The patient billed (required when creating).
    pub patient_id: Option<PatientId>,
    /// The clinic (default: the first appointment's).
    pub clinic_id: Option<ClinicId>,
    /// The provider (default: the first appointment's).
    pub provider_id: Option<ProviderId>,
    /// If given, must be the clinic's invoice currency.
    pub currency: Option<String>,
    /// Appointments to bill: each adds its service's line at the service's price.
    #[serde(default)]
    pub appointment_ids: Vec<AppointmentId>,
    /// Lines.
    #[serde(default)]
    pub lines: Vec<LineRequest>,
    /// Notes printed on the invoice.
    #[serde(default)]
    pub notes: String,
    /// When replacing a draft: the version read (a newer one is a 409).
    pub version: Option<i64>,
}

/// What a line needs from its service.
struct ServiceDefaults {
    name: String,
    price_minor: i64,
    currency: String,
    tax: Option<i64>,
    item_number: Option<String>,
    rebate_minor: i64,
}

/// Lines checked and computed, ready to store.
pub(crate) struct Drafted {
    pub lines: Vec<LineRow>,
    pub totals: InvoiceTotals,
    pub provider: Option<ProviderId>,
    pub appointments: Vec<AppointmentId>,
}

fn discount_of(v: &mut Validation, field: &str, l: &LineRequest) -> Discount {
    match (l.discount_minor, l.discount_percent_bp) {
        (Some(_), Some(_)) => {
            v.add(field, "invalid", "Give a discount as an amount or as a percentage, not both.");
            Discount::None
        }
        (Some(0), None) | (None, Some(0)) | (None, None) => Discount::None,
        (Some(a), None) => Discount::Amount(a),
        (None, Some(p)) => Discount::Percent(p),
    }
}

fn discount_columns(d: Discount) -> (&'static str, i64) {
    match d {
        Discount::None => ("none", 0),
        Discount::Amount(a) => ("amount", a),
        Discount::Percent(p) => ("percent", p),
    }
}

impl Services {
    /// Drafts an invoice (billing staff and administrators). A refusal is audited.
    #[tracing::instrument(skip_all)]
    pub async fn create_invoice(&self, actor: &Actor, req: DraftRequest) -> ServiceResult<Invoice> {
        let result = self.create_invoice_checked(actor, req).await;
        self.audit_money_refusal(actor, "invoice.create_refused", None, result).await
    }

    /// Replaces a draft's lines and notes; an issued invoice is never edited (409).
    #[tracing::instrument(skip_all)]
    pub async fn update_invoice(&self, actor: &Actor, id: InvoiceId, req: DraftRequest) -> ServiceResult<Invoice> {
        let result = self.update_invoice_checked(actor, id, req).await;
        self.audit_money_refusal(actor, "invoice.update_refused", Some(id), result).await
    }

    /// Audits a refused money change (which fields and why, never the amounts typed).
    pub(crate) async fn audit_money_refusal<T>(
        &self,
        actor: &Actor,
        action: &str,
        id: Option<InvoiceId>,
        result: ServiceResult<T>,
    ) -> ServiceResult<T> {
        let Err(e) = result else { return result };
        let Some(why) = e.refusal_reason() else { return Err(e) };
        Err(self.denied(actor, action, "invoice", id.map(|i| i.to_string()), &format!("refused: {why}"), e).await)
    }

    async fn create_invoice_checked(&self, actor: &Actor, req: DraftRequest) -> ServiceResult<Invoice> {
        self.authorize_all(actor, Permission::ManageBilling)?;
        let patient = req
            .patient_id
            .ok_or_else(|| ServiceError::invalid("patient_id", "required", "Choose the patient to bill."))?;
        if praxis_store::patients::get(self.db(), patient).await?.is_none() {
            return Err(ServiceError::invalid("patient_id", "unknown", "There is no such patient."));
        }
        let clinic = match req.clinic_id {
            Some(c) => c,
            None => match req.appointment_ids.first() {
                Some(a) => ClinicId(
                    praxis_store::appointments::get(self.db(), *a)
                        .await?
                        .ok_or_else(|| {
                            ServiceError::invalid("appointment_ids", "unknown", "There is no such appointment.")
                        })?
                        .clinic_id,
                ),
                None => return Err(ServiceError::invalid("clinic_id", "required", "Choose the clinic billing.")),
            },
        };
        let billing = self.clinic_billing(clinic).await.map_err(|e| match e {
            ServiceError::NotFound { .. } => ServiceError::invalid("clinic_id", "unknown", "There is no such clinic."),
            e => e,
        })?;
        let drafted = self.draft_lines(&billing, patient, &req, &[]).await?;
        let now = self.now();
        let id = InvoiceId::new();
        let mut tx = self.db().begin().await?;
        self.refuse_billed_twice(&mut tx, patient, &drafted.appointments, None).await?;
        invoices::insert(
            &mut tx,
            &NewInvoice {
                id,
                clinic_id: clinic,
                patient_id: patient,
                provider_id: drafted.provider,
                appointment_id: None,
                source: if drafted.appointments.is_empty() { "manual" } else { "appointment" },
                currency: billing.currency.clone(),
                notes: String::new(),
                reissue_of: None,
                created_at: now,
                created_by: actor.user_id,
            },
        )
        .await?;
        self.save_draft(&mut tx, id, &drafted, req.notes.trim(), now).await?;
        tx.audit(self.audit_entry(
            actor,
            "invoice.draft",
            "invoice",
            Some(id.to_string()),
            format!(
                "draft for patient {patient}: {} line(s), total {}",
                drafted.lines.len(),
                money(drafted.totals.total_minor, &billing.currency)
            ),
        ));
        tx.commit().await?;
        self.get_invoice(actor, id).await
    }

    async fn update_invoice_checked(&self, actor: &Actor, id: InvoiceId, req: DraftRequest) -> ServiceResult<Invoice> {
        self.authorize_all(actor, Permission::ManageBilling)?;
        let current = invoices::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Invoice" })?;
        refuse_unless_draft(&current.status)?;
        if req.patient_id.is_some_and(|p| p.0 != current.patient_id)
            || req.clinic_id.is_some_and(|c| c.0 != current.clinic_id)
        {
            return Err(ServiceError::invalid(
                "patient_id",
                "fixed",
                "A draft's patient and clinic stay; discard it and draft a new invoice instead.",
            ));
        }
        let billing = self.clinic_billing(ClinicId(current.clinic_id)).await?;
        if billing.currency != current.currency {
            return Err(ServiceError::conflict(
                "currency_mismatch",
                "The clinic now bills in another currency; discard this draft and draft a new invoice.",
            ));
        }
        // Deposit credits are Praxis's own lines: they stay whatever the request says.
        let kept: Vec<LineRow> = invoices::lines(self.db(), &[current.id])
            .await?
            .into_iter()
            .filter(|l| l.kind == LineKind::DepositCredit.as_str())
            .collect();
        let patient = PatientId(current.patient_id);
        let mut req = req;
        if req.provider_id.is_none() {
            req.provider_id = current.provider_id.map(ProviderId);
        }
        let drafted = self.draft_lines(&billing, patient, &req, &kept).await?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let row = invoices::get_for_update(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "Invoice" })?;
        refuse_unless_draft(&row.status)?;
        if req.version.is_some_and(|v| v != row.version) {
            return Err(ServiceError::conflict(
                "changed",
                "This draft was just changed by someone else. Reload it and make your change again.",
            ));
        }
        self.refuse_billed_twice(&mut tx, patient, &drafted.appointments, Some(id)).await?;
        self.save_draft(&mut tx, id, &drafted, req.notes.trim(), now).await?;
        tx.audit(self.audit_entry(
            actor,
            "invoice.draft_update",
            "invoice",
            Some(id.to_string()),
            format!("{} line(s), total {}", drafted.lines.len(), money(drafted.totals.total_minor, &billing.currency)),
        ));
        tx.commit().await?;
        self.get_invoice(actor, id).await
    }

    /// Deletes a draft (it has no number, so no gap is left). Issued invoices are voided instead.
    pub async fn discard_invoice(&self, actor: &Actor, id: InvoiceId) -> ServiceResult<()> {
        self.authorize_all(actor, Permission::ManageBilling)?;
        let mut tx = self.db().begin().await?;
        let row = invoices::get_for_update(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "Invoice" })?;
        if row.status != "draft" {
            drop(tx);
            let e = ServiceError::conflict(
                "invoice_issued",
                "An issued invoice is never deleted. Void it with a reason instead.",
            );
            return Err(self
                .denied(actor, "invoice.discard_refused", "invoice", Some(id.to_string()), "refused: invoice_issued", e)
                .await);
        }
        invoices::delete_draft(&mut tx, id).await?;
        tx.audit(self.audit_entry(
            actor,
            "invoice.discard",
            "invoice",
            Some(id.to_string()),
            format!("draft for patient {} discarded", row.patient_id),
        ));
        tx.commit().await?;
        Ok(())
    }

    /// Stores drafted lines and figures on a draft (inside the caller's transaction).
    pub(crate) async fn save_draft(
        &self,
        tx: &mut Tx,
        id: InvoiceId,
        d: &Drafted,
        notes: &str,
        now: jiff::Timestamp,
    ) -> ServiceResult<()> {
        let mut lines = d.lines.clone();
        for l in &mut lines {
            l.invoice_id = id.0;
        }
        invoices::replace_lines(tx, id, &lines).await?;
        let figures = DraftFigures {
            provider_id: d.provider,
            notes: notes.to_string(),
            subtotal_minor: d.totals.subtotal_minor,
            discount_minor: d.totals.discount_minor,
            tax_minor: d.totals.tax_minor,
            total_minor: d.totals.total_minor,
            rebate_minor: d.totals.rebate_minor,
        };
        if !invoices::set_draft(tx, id, &figures, now).await? {
            return Err(issued_conflict());
        }
        Ok(())
    }

    /// An appointment is billed once per patient: a second invoice for it is a 409 naming the first.
    async fn refuse_billed_twice(
        &self,
        tx: &mut Tx,
        patient: PatientId,
        appointments: &[AppointmentId],
        this: Option<InvoiceId>,
    ) -> ServiceResult<()> {
        for a in appointments {
            let others = self.billed_on(tx, *a, patient).await?;
            if let Some(number) = others.into_iter().find(|(id, _)| Some(*id) != this.map(|t| t.0)).map(|(_, n)| n) {
                return Err(ServiceError::Conflict {
                    code: "already_invoiced",
                    message: format!(
                        "This appointment is already on invoice {}. Void that invoice first to bill it again.",
                        number.unwrap_or_else(|| "(a draft)".into())
                    ),
                    fields: vec![praxis_domain::FieldError {
                        field: "appointment_ids".into(),
                        code: "already_invoiced".into(),
                        message: "Already invoiced.".into(),
                    }],
                });
            }
        }
        Ok(())
    }

    async fn billed_on(
        &self,
        tx: &mut Tx,
        appointment: AppointmentId,
        patient: PatientId,
    ) -> ServiceResult<Vec<(uuid::Uuid, Option<String>)>> {
        Ok(praxis_store::billing::invoices::billing_invoices_of(tx, appointment, patient).await?)
    }

    /// Checks every line and works out the figures (reads only; no transaction).
    pub(crate) async fn draft_lines(
        &self,
        billing: &ClinicBilling,
        patient: PatientId,
        req: &DraftRequest,
        kept: &[LineRow],
    ) -> ServiceResult<Drafted> {
        let mut v = Validation::new();
        if let Some(c) = req.currency.as_deref().map(str::trim).filter(|c| !c.is_empty())
            && !c.eq_ignore_ascii_case(&billing.currency)
        {
            v.add(
                "currency",
                "currency_mismatch",
                format!("{} bills in {}; an invoice there cannot be in {c}.", billing.clinic_name, billing.currency),
            );
        }
        if req.notes.chars().count() > 1000 {
            v.add("notes", "too_long", "Use at most 1000 characters.");
        }
        if req.lines.len() + req.appointment_ids.len() + kept.len() > MAX_LINES {
            v.add("lines", "too_many", format!("An invoice has at most {MAX_LINES} lines."));
        }
        let mut requests: Vec<(String, LineRequest)> =
            req.lines.iter().enumerate().map(|(i, l)| (format!("lines[{i}]"), l.clone())).collect();
        // A typed line may name the appointment it bills (the pages keep it on a draft's
        // lines): it must be this patient's, at this clinic, like a ticked appointment.
        for (field, l) in &requests {
            if let Some(a) = l.appointment_id {
                self.check_line_appointment(&mut v, &format!("{field}.appointment_id"), billing, patient, a).await?;
            }
        }
        let mut provider = req.provider_id;
        let mut appointments = Vec::new();
        for (i, a) in req.appointment_ids.iter().enumerate() {
            let field = format!("appointment_ids[{i}]");
            match self.appointment_line(&mut v, &field, billing, patient, *a).await? {
                Some((line, prov)) => {
                    provider = provider.or(Some(prov));
                    requests.push((field, line));
                }
                None => continue,
            }
        }
        let mut rows = Vec::new();
        let mut amounts: Vec<LineAmounts> = Vec::new();
        for (field, l) in &requests {
            if let Some(a) = l.appointment_id
                && !appointments.contains(&a)
            {
                appointments.push(a);
            }
            if let Some((row, a)) = self.line_row(&mut v, field, billing, l, provider).await? {
                rows.push(row);
                amounts.push(a);
            }
        }
        for k in kept {
            amounts.push(LineAmounts {
                gross_minor: k.gross_minor,
                discount_minor: k.discount_minor,
                net_minor: k.net_minor,
                tax_minor: k.tax_minor,
                total_minor: k.total_minor,
                rebate_minor: k.rebate_minor,
                patient_minor: k.total_minor - k.rebate_minor,
            });
            rows.push(k.clone());
        }
        if let Some(p) = req.provider_id
            && praxis_store::catalog::provider(self.db(), p).await?.is_none()
        {
            v.add("provider_id", "unknown", "There is no such provider.");
        }
        let totals = match compute_totals(&amounts) {
            Ok(t) => t,
            Err(e) => {
                v.add("lines", "negative_total", e);
                InvoiceTotals::default()
            }
        };
        v.finish()?;
        for (i, r) in rows.iter_mut().enumerate() {
            r.position = i as i64 + 1;
        }
        Ok(Drafted { lines: rows, totals, provider, appointments })
    }

    /// Records why a typed line may not name appointment `id`: it must be this patient's
    /// and at this clinic (any status: a fee bills a cancelled or missed appointment).
    async fn check_line_appointment(
        &self,
        v: &mut Validation,
        field: &str,
        billing: &ClinicBilling,
        patient: PatientId,
        id: AppointmentId,
    ) -> ServiceResult<()> {
        let Some(a) = praxis_store::appointments::get(self.db(), id).await? else {
            v.add(field, "unknown", "There is no such appointment.");
            return Ok(());
        };
        let parts = praxis_store::appointments::participants(self.db(), &[a.id]).await?;
        if !parts.iter().any(|p| p.patient_id == patient.0) {
            v.add(field, "other_patient", format!("Appointment {} is not this patient's.", a.number));
        } else if a.clinic_id != billing.clinic_id.0 {
            v.add(field, "other_clinic", format!("Appointment {} was at another clinic.", a.number));
        }
        Ok(())
    }

    /// The line an appointment adds (its service at the service's price), or `None` after
    /// recording why it cannot be billed.
    async fn appointment_line(
        &self,
        v: &mut Validation,
        field: &str,
        billing: &ClinicBilling,
        patient: PatientId,
        id: AppointmentId,
    ) -> ServiceResult<Option<(LineRequest, ProviderId)>> {
        let Some(a) = praxis_store::appointments::get(self.db(), id).await? else {
            v.add(field, "unknown", "There is no such appointment.");
            return Ok(None);
        };
        let parts = praxis_store::appointments::participants(self.db(), &[a.id]).await?;
        if !parts.iter().any(|p| p.patient_id == patient.0 && p.status == "booked") {
            v.add(field, "other_patient", format!("Appointment {} is not this patient's.", a.number));
            return Ok(None);
        }
        if a.clinic_id != billing.clinic_id.0 {
            v.add(field, "other_clinic", format!("Appointment {} was at another clinic.", a.number));
            return Ok(None);
        }
        if matches!(a.status.as_str(), "cancelled" | "expired" | "held") {
            v.add(
                field,
                "not_billable",
                format!("Appointment {} is {}; bill a fee for it instead.", a.number, a.status.replace('_', " ")),
            );
            return Ok(None);
        }
        let zone = crate::scheduling::zone_named(&a.time_zone);
        let date = a.starts_at.0.to_zoned(zone).date();
        let line = LineRequest {
            kind: Some(LineKind::Charge),
            description: format!("{} ({})", a.service_name, a.number),
            service_id: Some(ServiceId(a.service_id)),
            appointment_id: Some(id),
            provider_id: Some(ProviderId(a.provider_id)),
            service_date: Some(date),
            ..LineRequest::default()
        };
        Ok(Some((line, ProviderId(a.provider_id))))
    }

    async fn service_defaults(&self, id: ServiceId) -> ServiceResult<Option<ServiceDefaults>> {
        Ok(terms_store::service_terms(self.db(), id).await?.map(|t| ServiceDefaults {
            name: t.name,
            price_minor: t.price_minor,
            currency: t.currency,
            tax: t.tax_bp,
            item_number: t.item_number,
            rebate_minor: t.rebate_minor,
        }))
    }

    /// Checks one line request and computes it, or records why not.
    async fn line_row(
        &self,
        v: &mut Validation,
        field: &str,
        billing: &ClinicBilling,
        l: &LineRequest,
        provider: Option<ProviderId>,
    ) -> ServiceResult<Option<(LineRow, LineAmounts)>> {
        let before = v.errors().len();
        let kind = l.kind.unwrap_or_default();
        if kind == LineKind::DepositCredit {
            v.add(&format!("{field}.kind"), "invalid", "Deposit credits are added by Praxis itself.");
        }
        let service = match l.service_id {
            Some(s) => match self.service_defaults(s).await? {
                Some(d) => Some(d),
                None => {
                    v.add(&format!("{field}.service_id"), "unknown", "There is no such service.");
                    None
                }
            },
            None => None,
        };
        if let Some(s) = &service
            && !s.currency.eq_ignore_ascii_case(&billing.currency)
        {
            v.add(
                &format!("{field}.service_id"),
                "currency_mismatch",
                format!("{} is priced in {}, but this clinic bills in {}.", s.name, s.currency, billing.currency),
            );
        }
        let description = match (l.description.trim(), &service) {
            ("", Some(s)) => s.name.clone(),
            ("", None) => {
                v.add(&format!("{field}.description"), "required", "Describe what the line is for.");
                String::new()
            }
            (d, _) => d.to_string(),
        };
        if description.chars().count() > 300 {
            v.add(&format!("{field}.description"), "too_long", "Use at most 300 characters.");
        }
        let unit_price = match (l.unit_price_minor, &service) {
            (Some(p), _) => p,
            (None, Some(s)) => s.price_minor,
            (None, None) => {
                v.add(&format!("{field}.unit_price"), "required", "Give the price (in minor units, e.g. cents).");
                0
            }
        };
        let tax_bp = l.tax_rate_bp.or(service.as_ref().and_then(|s| s.tax)).unwrap_or(billing.default_tax_bp);
        let tax = match TaxRate::from_bp(tax_bp) {
            Ok(t) => t,
            Err(e) => {
                v.add(&format!("{field}.tax_rate"), "invalid", e);
                TaxRate::ZERO
            }
        };
        let item_number = l
            .item_number
            .clone()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .or(service.as_ref().and_then(|s| s.item_number.clone()));
        if item_number
            .as_ref()
            .is_some_and(|n| n.len() > 20 || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            v.add(&format!("{field}.item_number"), "invalid", "An item number has up to 20 letters or digits.");
        }
        let rebate = l.rebate_minor.unwrap_or(service.as_ref().map(|s| s.rebate_minor).unwrap_or(0));
        if rebate > 0 && item_number.is_none() {
            v.add(&format!("{field}.item_number"), "required", "A rebate is claimed under an item number; give one.");
        }
        let discount = discount_of(v, &format!("{field}.discount"), l);
        let input = LineInput {
            kind,
            quantity: l.quantity.unwrap_or(1),
            unit_price_minor: unit_price,
            discount,
            tax_rate: tax,
            rebate_minor: rebate,
        };
        let amounts = match compute_line(&input) {
            Ok(a) => Some(a),
            Err(problems) => {
                for (f, code, msg) in problems {
                    v.add(&format!("{field}.{f}"), code, msg);
                }
                None
            }
        };
        if v.errors().len() > before {
            return Ok(None);
        }
        let Some(a) = amounts else { return Ok(None) };
        let (dk, dv) = discount_columns(discount);
        let row = LineRow {
            id: InvoiceLineId::new().0,
            invoice_id: uuid::Uuid::nil(),
            position: 0,
            kind: kind.as_str().into(),
            appointment_id: l.appointment_id.map(|a| a.0),
            service_id: l.service_id.map(|s| s.0),
            provider_id: l.provider_id.or(provider).map(|p| p.0),
            credit_of: None,
            description,
            service_date: l.service_date.map(DbDate),
            item_number,
            quantity: input.quantity,
            unit_price_minor: unit_price,
            discount_kind: dk.into(),
            discount_value: dv,
            tax_bp: tax.bp(),
            gross_minor: a.gross_minor,
            discount_minor: a.discount_minor,
            net_minor: a.net_minor,
            tax_minor: a.tax_minor,
            total_minor: a.total_minor,
            rebate_minor: a.rebate_minor,
        };
        Ok(Some((row, a)))
    }
}

fn issued_conflict() -> ServiceError {
    ServiceError::conflict(
        "invoice_issued",
        "An issued invoice is never edited. Void it with a reason and reissue it, or add a new invoice.",
    )
}

fn refuse_unless_draft(status: &str) -> ServiceResult<()> {
    if status == "draft" { Ok(()) } else { Err(issued_conflict()) }
}
