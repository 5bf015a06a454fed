//! Referrals and funded plans: who referred the patient, from when until when, and how
//! many sessions the plan funds. Staff see where each stands on the chart; booking and
//! invoicing warn before the cap or the expiry is reached.

use super::InvoiceLine;
use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use crate::scheduling::zone_named;
use jiff::Timestamp;
use jiff::civil::Date;
use praxis_domain::billing::{CapPeriod, PlanStanding, PlanTerms, PlanWarning, plan_standing};
use praxis_domain::{PatientId, Permission, ReferralId, ServiceId, SpecialtyId, Validation};
use praxis_store::billing::referrals::{self as store, ReferralInput, ReferralRow, SessionRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest referral text fields.
const MAX_TEXT: usize = 200;
/// The most sessions a plan may fund (a typo guard).
const MAX_CAP: i64 = 1000;

/// A referral or funded plan as staff send it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ReferralRequest {
    /// What it is ("Mental Health Treatment Plan", "GP referral").
    #[serde(default)]
    pub label: String,
    /// The referring practitioner.
    #[serde(default)]
    pub referrer_name: String,
    /// Their provider number.
    #[serde(default)]
    pub referrer_number: String,
    /// Valid from (YYYY-MM-DD).
    #[schema(value_type = Option<String>, format = Date)]
    pub referral_date: Option<Date>,
    /// Valid until, inclusive.
    #[schema(value_type = Option<String>, format = Date)]
    pub expiry_date: Option<Date>,
    /// Sessions funded per period (none: not capped).
    pub session_cap: Option<i64>,
    /// Over which span the cap counts (default `calendar_year`).
    pub cap_period: Option<CapPeriod>,
    /// Only sessions of this specialty count (none: every session).
    pub specialty_id: Option<SpecialtyId>,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// Still in use (default true).
    pub active: Option<bool>,
}

/// A referral with where it stands today.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Referral {
    /// Id.
    pub id: ReferralId,
    /// Patient.
    pub patient_id: PatientId,
    /// What it is.
    pub label: String,
    /// The referring practitioner.
    pub referrer_name: String,
    /// Their provider number.
    pub referrer_number: String,
    /// Valid from.
    #[schema(value_type = String, format = Date)]
    pub referral_date: Date,
    /// Valid until.
    #[schema(value_type = Option<String>, format = Date)]
    pub expiry_date: Option<Date>,
    /// Sessions funded per period.
    pub session_cap: Option<i64>,
    /// Over which span the cap counts.
    pub cap_period: CapPeriod,
    /// Only sessions of this specialty count.
    pub specialty_id: Option<SpecialtyId>,
    /// That specialty's name.
    pub specialty_name: Option<String>,
    /// Notes.
    pub notes: String,
    /// Still in use.
    pub active: bool,
    /// Where it stands today.
    pub standing: PlanStanding,
    /// The standing's warnings as sentences.
    pub warnings: Vec<String>,
    /// Created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// A session's local date, specialty and whether it is done.
struct Session {
    appointment: Uuid,
    date: Date,
    specialty: Option<Uuid>,
    completed: bool,
}

fn sessions_of(rows: Vec<SessionRow>) -> Vec<Session> {
    rows.into_iter()
        .map(|r| Session {
            appointment: r.appointment_id,
            date: r.starts_at.0.to_zoned(zone_named(&r.time_zone)).date(),
            specialty: r.specialty_id,
            completed: r.status == "completed",
        })
        .collect()
}

fn terms_of(r: &ReferralRow) -> PlanTerms {
    PlanTerms {
        referral_date: r.referral_date.0,
        expiry_date: r.expiry_date.map(|d| d.0),
        session_cap: r.session_cap,
        period: CapPeriod::parse(&r.cap_period).unwrap_or(CapPeriod::CalendarYear),
    }
}

/// The referral's standing on `on`, counting the sessions that fall under it; `leave_out`
/// is a session not to count (the one being booked or billed is judged against the rest).
fn standing_on(r: &ReferralRow, sessions: &[Session], on: Date, leave_out: Option<Uuid>) -> PlanStanding {
    let applies =
        |s: &&Session| r.specialty_id.is_none_or(|sp| s.specialty == Some(sp)) && Some(s.appointment) != leave_out;
    let completed: Vec<Date> = sessions.iter().filter(applies).filter(|s| s.completed).map(|s| s.date).collect();
    let booked: Vec<Date> = sessions.iter().filter(applies).filter(|s| !s.completed).map(|s| s.date).collect();
    plan_standing(&terms_of(r), &completed, &booked, on)
}

/// Warnings for one more session on `on` under referral `r`: past the cap, outside the
/// validity, or close to either.
fn warnings_for_session(r: &ReferralRow, sessions: &[Session], on: Date, this: Option<Uuid>) -> Vec<String> {
    let s = standing_on(r, sessions, on, this);
    s.warnings
        .iter()
        .map(|w| match w {
            PlanWarning::CapReached { cap } => format!(
                "{}: all {cap} funded sessions of this period are already used or booked, so this session is not funded.",
                r.label
            ),
            PlanWarning::FewLeft { remaining } => {
                let after = remaining - 1;
                if after == 0 {
                    format!("{}: this is the last funded session of this period.", r.label)
                } else {
                    format!("{}: {after} funded session(s) left in this period after this one.", r.label)
                }
            }
            w => format!("{}: {}", r.label, w.message()),
        })
        .collect()
}

impl Services {
    fn referral_view(&self, r: ReferralRow, sessions: &[Session], today: Date) -> Referral {
        let standing = standing_on(&r, sessions, today, None);
        let warnings = standing.warnings.iter().map(PlanWarning::message).collect();
        Referral {
            id: ReferralId(r.id),
            patient_id: PatientId(r.patient_id),
            cap_period: CapPeriod::parse(&r.cap_period).unwrap_or(CapPeriod::CalendarYear),
            label: r.label,
            referrer_name: r.referrer_name,
            referrer_number: r.referrer_number,
            referral_date: r.referral_date.0,
            expiry_date: r.expiry_date.map(|d| d.0),
            session_cap: r.session_cap,
            specialty_id: r.specialty_id.map(SpecialtyId),
            specialty_name: r.specialty_name,
            notes: r.notes,
            active: r.active,
            standing,
            warnings,
            created_at: r.created_at.0,
        }
    }

    /// Today in the first clinic's zone (referral dates are local dates).
    async fn billing_today(&self) -> ServiceResult<Date> {
        let zone = praxis_store::catalog::clinics(self.db())
            .await?
            .first()
            .map(|c| zone_named(&c.time_zone))
            .unwrap_or(jiff::tz::TimeZone::UTC);
        Ok(self.now().to_zoned(zone).date())
    }

    /// A patient's referrals with remaining sessions (staff, providers, administrators).
    pub async fn list_referrals(&self, actor: &Actor, patient: PatientId) -> ServiceResult<Vec<Referral>> {
        self.authorize_all(actor, Permission::ManageReferrals)?;
        self.require_patient(actor, patient).await?;
        let rows = store::for_patient(self.db(), patient).await?;
        let sessions = sessions_of(store::sessions(self.db(), patient).await?);
        let today = self.billing_today().await?;
        Ok(rows.into_iter().map(|r| self.referral_view(r, &sessions, today)).collect())
    }

    fn check_referral(&self, req: &ReferralRequest) -> ServiceResult<ReferralInput> {
        let mut v = Validation::new();
        let label = v.required("label", &req.label, MAX_TEXT);
        let referrer = v.required("referrer_name", &req.referrer_name, MAX_TEXT);
        if req.referrer_number.trim().chars().count() > 40 {
            v.add("referrer_number", "too_long", "Keep the provider number to 40 characters.");
        }
        if req.notes.chars().count() > 2000 {
            v.add("notes", "too_long", "Keep notes to 2,000 characters.");
        }
        if req.referral_date.is_none() {
            v.add("referral_date", "required", "Give the referral's date.");
        }
        if let (Some(from), Some(until)) = (req.referral_date, req.expiry_date)
            && until < from
        {
            v.add("expiry_date", "before_start", "The expiry is before the referral date.");
        }
        if let Some(cap) = req.session_cap
            && !(1..=MAX_CAP).contains(&cap)
        {
            v.add("session_cap", "out_of_range", "Give the number of funded sessions (1 to 1,000), or leave it empty.");
        }
        v.finish()?;
        Ok(ReferralInput {
            label: label.unwrap_or_default(),
            referrer_name: referrer.unwrap_or_default(),
            referrer_number: req.referrer_number.trim().to_string(),
            referral_date: req.referral_date.unwrap_or(Date::ZERO),
            expiry_date: req.expiry_date,
            session_cap: req.session_cap,
            cap_period: req.cap_period.unwrap_or(CapPeriod::CalendarYear).as_str(),
            specialty_id: req.specialty_id.map(|s| s.0),
            notes: req.notes.trim().to_string(),
            active: req.active.unwrap_or(true),
        })
    }

    /// Records a referral for a patient. A refusal is audited.
    pub async fn create_referral(
        &self,
        actor: &Actor,
        patient: PatientId,
        req: ReferralRequest,
    ) -> ServiceResult<Referral> {
        self.authorize_all(actor, Permission::ManageReferrals)?;
        self.require_patient(actor, patient).await?;
        let input = match self.check_referral(&req) {
            Ok(i) => i,
            Err(e) => return Err(self.referral_refused(actor, None, e).await),
        };
        let id = ReferralId::new();
        let mut tx = self.db().begin().await?;
        store::insert(&mut tx, id, patient, &input, self.now(), actor.user_id).await?;
        tx.audit(self.audit_entry(
            actor,
            "referral.create",
            "referral",
            Some(id.to_string()),
            format!("{} for patient {patient} from {}", input.label, input.referral_date),
        ));
        tx.commit().await?;
        self.get_referral(actor, id).await
    }

    /// Replaces a referral's details. A refusal is audited.
    pub async fn update_referral(
        &self,
        actor: &Actor,
        id: ReferralId,
        req: ReferralRequest,
    ) -> ServiceResult<Referral> {
        self.authorize_all(actor, Permission::ManageReferrals)?;
        let current = store::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Referral" })?;
        let input = match self.check_referral(&req) {
            Ok(i) => i,
            Err(e) => return Err(self.referral_refused(actor, Some(id), e).await),
        };
        let mut tx = self.db().begin().await?;
        if !store::update(&mut tx, id, PatientId(current.patient_id), &input, self.now()).await? {
            return Err(ServiceError::NotFound { what: "Referral" });
        }
        tx.audit(self.audit_entry(
            actor,
            "referral.update",
            "referral",
            Some(id.to_string()),
            format!("{} for patient {}{}", input.label, current.patient_id, if input.active { "" } else { " (ended)" }),
        ));
        tx.commit().await?;
        self.get_referral(actor, id).await
    }

    async fn referral_refused(&self, actor: &Actor, id: Option<ReferralId>, e: ServiceError) -> ServiceError {
        match e.refusal_reason() {
            Some(why) => {
                self.denied(
                    actor,
                    "referral.save_refused",
                    "referral",
                    id.map(|i| i.to_string()),
                    &format!("refused: {why}"),
                    e,
                )
                .await
            }
            None => e,
        }
    }

    /// One referral with its standing.
    pub async fn get_referral(&self, actor: &Actor, id: ReferralId) -> ServiceResult<Referral> {
        self.authorize_all(actor, Permission::ManageReferrals)?;
        let row = store::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Referral" })?;
        let sessions = sessions_of(store::sessions(self.db(), PatientId(row.patient_id)).await?);
        let today = self.billing_today().await?;
        Ok(self.referral_view(row, &sessions, today))
    }

    /// What staff should be told before booking `service` for `patient` on `date`: for
    /// each active referral that covers the service's specialty, the cap or expiry reached
    /// or near. Empty when nothing applies. Staff only (patients never see funding notes).
    pub async fn booking_plan_warnings(
        &self,
        actor: &Actor,
        patient: PatientId,
        service: ServiceId,
        date: Date,
    ) -> ServiceResult<Vec<String>> {
        self.authorize_all(actor, Permission::ManageReferrals)?;
        let specialty = praxis_store::catalog::service(self.db(), service).await?.and_then(|s| s.specialty_id);
        let rows = store::for_patient(self.db(), patient).await?;
        let sessions = sessions_of(store::sessions(self.db(), patient).await?);
        Ok(rows
            .iter()
            .filter(|r| r.active && r.specialty_id.is_none_or(|sp| Some(sp) == specialty))
            .flat_map(|r| warnings_for_session(r, &sessions, date, None))
            .collect())
    }

    /// Funding warnings for an invoice's lines: each appointment line judged against the
    /// patient's active referrals, leaving that session itself out of the count.
    pub(crate) async fn invoice_plan_warnings(
        &self,
        patient: PatientId,
        lines: &[InvoiceLine],
    ) -> ServiceResult<Vec<String>> {
        let billed: Vec<Uuid> = lines.iter().filter_map(|l| l.appointment_id.map(|a| a.0)).collect();
        if billed.is_empty() {
            return Ok(Vec::new());
        }
        let rows = store::for_patient(self.db(), patient).await?;
        if !rows.iter().any(|r| r.active) {
            return Ok(Vec::new());
        }
        let sessions = sessions_of(store::sessions(self.db(), patient).await?);
        let mut out: Vec<String> = Vec::new();
        for s in sessions.iter().filter(|s| billed.contains(&s.appointment)) {
            for r in rows.iter().filter(|r| r.active && r.specialty_id.is_none_or(|sp| s.specialty == Some(sp))) {
                for w in warnings_for_session(r, &sessions, s.date, Some(s.appointment)) {
                    if !out.contains(&w) {
                        out.push(w);
                    }
                }
            }
        }
        Ok(out)
    }
}
