//! The clinical access check.

use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use praxis_domain::permissions::Scope;
use praxis_domain::{PatientId, Permission, ProviderId};
use praxis_store::{catalog, patients};

impl Services {
    /// Whether `actor` may read `patient`'s clinical record (see the module rules).
    pub async fn may_read_clinical(&self, actor: &Actor, patient: PatientId) -> ServiceResult<bool> {
        match actor.scope(Permission::ReadClinicalRecords) {
            Some(Scope::All) => Ok(true),
            Some(Scope::Own) => match self.actor_provider(actor).await? {
                Some(p) => Ok(patients::treats(self.db(), p, patient).await?),
                None => Ok(false),
            },
            None => Ok(false),
        }
    }

    /// Whether `actor` may write notes for `patient` (a provider who treats them).
    pub async fn may_write_clinical(&self, actor: &Actor, patient: PatientId) -> ServiceResult<bool> {
        if !actor.can(Permission::WriteClinicalNotes) {
            return Ok(false);
        }
        match self.actor_provider(actor).await? {
            Some(p) => Ok(patients::treats(self.db(), p, patient).await?),
            None => Ok(false),
        }
    }

    /// Whether `actor` may know that `patient` exists: whoever manages all patients, and
    /// a patient or guardian for the records they act for.
    pub(crate) async fn sees_patient(&self, actor: &Actor, patient: PatientId) -> ServiceResult<bool> {
        Ok(match actor.scope(Permission::ManagePatients) {
            Some(Scope::All) => true,
            Some(Scope::Own) => self.patients_i_act_for(actor).await?.contains(&patient),
            None => false,
        })
    }

    /// The refusal for `patient`'s record: 403 to someone who may know the patient exists,
    /// else the 404 a made-up id gets (no existence oracle).
    async fn refusal_for(&self, actor: &Actor, patient: PatientId) -> ServiceResult<ServiceError> {
        Ok(if self.sees_patient(actor, patient).await? {
            ServiceError::Forbidden
        } else {
            ServiceError::NotFound { what: "Patient" }
        })
    }

    /// 403 unless `actor` may read `patient`'s clinical record (404 to those who may not
    /// know the patient exists); an unknown patient is 404.
    pub(crate) async fn require_clinical_read(&self, actor: &Actor, patient: PatientId) -> ServiceResult<()> {
        patients::get(self.db(), patient).await?.ok_or(ServiceError::NotFound { what: "Patient" })?;
        if self.may_read_clinical(actor, patient).await? {
            Ok(())
        } else {
            let refusal = self.refusal_for(actor, patient).await?;
            Err(self
                .denied(
                    actor,
                    "clinical.read_denied",
                    "patient",
                    Some(patient.to_string()),
                    "clinical record refused",
                    refusal,
                )
                .await)
        }
    }

    /// The provider writing for `patient`: the actor, who must treat them.
    pub(crate) async fn require_clinical_write(&self, actor: &Actor, patient: PatientId) -> ServiceResult<ProviderId> {
        actor.require(Permission::WriteClinicalNotes)?;
        patients::get(self.db(), patient).await?.ok_or(ServiceError::NotFound { what: "Patient" })?;
        let provider = self.actor_provider(actor).await?.ok_or(ServiceError::Forbidden)?;
        if patients::treats(self.db(), provider, patient).await? {
            Ok(provider)
        } else {
            let refusal = self.refusal_for(actor, patient).await?;
            Err(self
                .denied(
                    actor,
                    "clinical.write_denied",
                    "patient",
                    Some(patient.to_string()),
                    "not treating this patient",
                    refusal,
                )
                .await)
        }
    }

    /// Checks, before a request's body is read, that `actor` may write notes for `patient`
    /// (so a malformed body on someone else's record answers like a missing one).
    pub async fn check_clinical_write(&self, actor: &Actor, patient: PatientId) -> ServiceResult<()> {
        self.require_clinical_write(actor, patient).await.map(|_| ())
    }

    /// The acting user's provider profile, if they are a provider (pages use it to offer
    /// the author's actions).
    pub async fn my_provider_id(&self, actor: &Actor) -> ServiceResult<Option<ProviderId>> {
        self.actor_provider(actor).await
    }

    /// The acting user's provider profile.
    pub(crate) async fn actor_provider(&self, actor: &Actor) -> ServiceResult<Option<ProviderId>> {
        match actor.user_id {
            Some(u) => Ok(catalog::provider_of_user(self.db(), u).await?.map(|p| ProviderId(p.id))),
            None => Ok(None),
        }
    }
}
