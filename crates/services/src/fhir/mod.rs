//! What the FHIR R4 interface (`/fhir/r4`) needs beyond the REST use cases: the whole
//! directory in one read, patient and appointment reads that are audited as reads of a
//! patient's record, and slots named by a compact reference that can be looked up and
//! booked again. Permissions are the REST ones: every function here calls the same
//! checked use case the REST API calls.

mod slots;

pub use slots::{FreeSlot, FreeSlots, MAX_WINDOW_DAYS, ScheduleNames, SlotRef, SlotWindow, clinic_tail};

use crate::Services;
use crate::actor::Actor;
use crate::catalog::{Clinic, Provider, Service, Specialty};
use crate::error::{ServiceError, ServiceResult};
use crate::patients::{Patient, PatientQuery};
use crate::scheduling::{Appointment, AppointmentFilter};
use crate::users::{Page, PageRequest};
use praxis_domain::permissions::Scope;
use praxis_domain::{AppointmentId, ClinicId, PatientId, Permission, ProviderId};

/// Everything a FHIR client may browse about the practice: clinics (`Location`),
/// providers (`Practitioner`, and `PractitionerRole`/`Schedule` per clinic they work at),
/// services (`HealthcareService`) and specialties. Small enough to read whole.
#[derive(Clone, Debug)]
pub struct Directory {
    /// Every clinic.
    pub clinics: Vec<Clinic>,
    /// Every provider with their clinics, specialties and services.
    pub providers: Vec<Provider>,
    /// Every service.
    pub services: Vec<Service>,
    /// Every specialty.
    pub specialties: Vec<Specialty>,
}

impl Directory {
    /// A clinic by id.
    pub fn clinic(&self, id: ClinicId) -> Option<&Clinic> {
        self.clinics.iter().find(|c| c.id == id)
    }

    /// A provider by id.
    pub fn provider(&self, id: ProviderId) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// Every (provider, clinic) pair where the provider works: one `PractitionerRole` and
    /// one `Schedule` each.
    pub fn roles(&self) -> Vec<(&Provider, &Clinic)> {
        let mut out = Vec::new();
        for p in &self.providers {
            for c in &p.clinic_ids {
                if let Some(clinic) = self.clinic(*c) {
                    out.push((p, clinic));
                }
            }
        }
        out
    }
}

/// A FHIR `Patient` search.
#[derive(Clone, Debug, Default)]
pub struct PatientSearch {
    /// `_id`.
    pub id: Option<PatientId>,
    /// `identifier`: the record number, exactly.
    pub mrn: Option<String>,
    /// `name`: part of a name (as the patient list's search box).
    pub name: Option<String>,
    /// `active`.
    pub active: Option<bool>,
    /// `birthdate`: born on this day.
    pub birth_date: Option<jiff::civil::Date>,
}

impl Services {
    /// The directory, read at once (everyone who may see the directory).
    pub async fn fhir_directory(&self, actor: &Actor) -> ServiceResult<Directory> {
        let (clinics, providers, services, specialties) = futures::try_join!(
            self.list_clinics(actor),
            self.list_providers(actor),
            self.list_services(actor),
            self.list_specialties(actor)
        )?;
        Ok(Directory { clinics, providers, services, specialties })
    }

    /// One patient's demographics as a FHIR client reads them; the read is audited.
    pub async fn fhir_patient(&self, actor: &Actor, id: PatientId) -> ServiceResult<Patient> {
        let mut p = self.get_patient(actor, id).await?;
        // The insurance number stays out of the interface: FHIR carries it as Coverage,
        // which Praxis does not offer.
        p.insurance_number = None;
        self.audit_read(actor, "fhir.read", "patient", &id.to_string(), format!("FHIR read of {}", p.mrn)).await?;
        Ok(p)
    }

    /// Patients matching a FHIR search: staff, providers and administrators search every
    /// patient; a patient (or guardian) finds only the records they act for. The search is
    /// audited with the record numbers it showed.
    pub async fn fhir_patients(
        &self,
        actor: &Actor,
        s: &PatientSearch,
        page: PageRequest,
    ) -> ServiceResult<Page<Patient>> {
        let scope = actor.require(Permission::ManagePatients)?;
        let found = if scope == Scope::Own || s.id.is_some() {
            // A handful of records at most: read each through the checked single read.
            let ids = match (s.id, scope) {
                (Some(id), Scope::All) => vec![id],
                (Some(id), Scope::Own) => {
                    self.patients_i_act_for(actor).await?.into_iter().filter(|p| *p == id).collect()
                }
                (None, _) => self.patients_i_act_for(actor).await?,
            };
            let mut items = Vec::new();
            for id in ids {
                match self.get_patient(actor, id).await {
                    Ok(p) => items.push(p),
                    Err(ServiceError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            items.retain(|p| s.matches(p));
            let total = items.len() as i64;
            let items = items.into_iter().skip(page.offset().max(0) as usize).take(page.per_page as usize).collect();
            Page { items, total, page: page.page, per_page: page.per_page }
        } else {
            let status = match s.active {
                Some(true) => "active",
                Some(false) => "archived",
                None => "all",
            };
            let q = PatientQuery {
                q: s.mrn.clone().or_else(|| s.name.clone()),
                status: Some(status.into()),
                date_of_birth: s.birth_date,
                ..PatientQuery::default()
            };
            let mut found = self.list_patients(actor, &q, page).await?;
            if s.mrn.is_some() {
                // The text search matches parts of record numbers; an identifier is exact.
                found.items.retain(|p| s.matches(p));
                found.total = found.items.len() as i64;
            }
            found
        };
        let mut found = found;
        for p in &mut found.items {
            p.insurance_number = None;
        }
        let shown: Vec<&str> = found.items.iter().map(|p| p.mrn.as_str()).collect();
        self.audit_read(
            actor,
            "fhir.search",
            "patient",
            "-",
            format!("FHIR Patient search showed {} of {}: {}", shown.len(), found.total, shown.join(" ")),
        )
        .await?;
        Ok(found)
    }

    /// One appointment as a FHIR client reads it (404 unless the actor may see it); the
    /// read is audited.
    pub async fn fhir_appointment(&self, actor: &Actor, id: AppointmentId) -> ServiceResult<Appointment> {
        let a = self.get_appointment(actor, id).await?;
        self.audit_read(actor, "fhir.read", "appointment", &id.to_string(), format!("FHIR read of {}", a.number))
            .await?;
        Ok(a)
    }

    /// Appointments matching a FHIR search, under the same rules as the REST list
    /// (patients: their own; providers: their schedule); audited with the numbers shown.
    pub async fn fhir_appointments(
        &self,
        actor: &Actor,
        filter: AppointmentFilter,
        page: PageRequest,
    ) -> ServiceResult<Page<Appointment>> {
        let found = self.list_appointments(actor, filter, page).await?;
        let shown: Vec<&str> = found.items.iter().map(|a| a.number.as_str()).collect();
        self.audit_read(
            actor,
            "fhir.search",
            "appointment",
            "-",
            format!("FHIR Appointment search showed {} of {}: {}", shown.len(), found.total, shown.join(" ")),
        )
        .await?;
        Ok(found)
    }
}

impl PatientSearch {
    fn matches(&self, p: &Patient) -> bool {
        let words = crate::patients::search_words(self.name.as_deref().unwrap_or(""));
        let haystack = praxis_domain::search::normalise(&format!(
            "{} {} {}",
            p.given_name,
            p.family_name,
            p.preferred_name.as_deref().unwrap_or("")
        ));
        self.mrn.as_ref().is_none_or(|m| m.eq_ignore_ascii_case(&p.mrn))
            && self.active.is_none_or(|a| a == p.active)
            && self.birth_date.is_none_or(|d| p.date_of_birth == Some(d))
            && words.iter().all(|w| haystack.contains(w.as_str()))
    }
}
