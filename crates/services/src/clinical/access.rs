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
        match actor.roles.scope(Permission::ReadClinicalRecords) {
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

    /// 403 unless `actor` may read `patient`'s clinical record; an unknown patient is 404.
    pub(crate) async fn require_clinical_read(&self, actor: &Actor, patient: PatientId) -> ServiceResult<()> {
        patients::get(self.db(), patient).await?.ok_or(ServiceError::NotFound { what: "Patient" })?;
        if self.may_read_clinical(actor, patient).await? {
            Ok(())
        } else {
            Err(self
                .denied(
                    actor,
                    "clinical.read_denied",
                    "patient",
                    Some(patient.to_string()),
                    "clinical record refused",
                    ServiceError::Forbidden,
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
            Err(self
                .denied(
                    actor,
                    "clinical.write_denied",
                    "patient",
                    Some(patient.to_string()),
                    "not treating this patient",
                    ServiceError::Forbidden,
                )
                .await)
        }
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
