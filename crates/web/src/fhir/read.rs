//! Reading one resource by id.

use super::FhirError;
use crate::state::AppState;
use praxis_fhir::ids::{parse_role_id, parse_slot_id};
use praxis_fhir::resources as r;
use praxis_fhir::{Outcome, ResourceType};
use praxis_services::{Actor, ServiceError};
use serde_json::Value;

/// The resource `t/id`, if the actor may see it (404 otherwise, as for an unknown id).
pub(super) async fn run(st: &AppState, a: &Actor, t: ResourceType, id: &str) -> Result<Value, FhirError> {
    let missing = || FhirError(Outcome::not_found(t.as_str(), id));
    let found = |e: ServiceError| match e {
        ServiceError::NotFound { .. } => missing(),
        other => FhirError::from(other),
    };
    let svc = &st.svc;
    Ok(match t {
        ResourceType::Patient => {
            r::patient(&svc.fhir_patient(a, id.parse().map_err(|_| missing())?).await.map_err(found)?)
        }
        ResourceType::Appointment => {
            r::appointment(&svc.fhir_appointment(a, id.parse().map_err(|_| missing())?).await.map_err(found)?)
        }
        ResourceType::Practitioner => {
            r::practitioner(&svc.get_provider(a, id.parse().map_err(|_| missing())?).await.map_err(found)?)
        }
        ResourceType::Location => {
            r::location(&svc.get_clinic(a, id.parse().map_err(|_| missing())?).await.map_err(found)?)
        }
        ResourceType::HealthcareService => {
            let d = svc.fhir_directory(a).await?;
            let s = d.services.iter().find(|s| s.id.to_string() == id).ok_or_else(missing)?;
            r::healthcare_service(&d, s)
        }
        ResourceType::PractitionerRole | ResourceType::Schedule => {
            let (provider, clinic) = parse_role_id(id).ok_or_else(missing)?;
            let d = svc.fhir_directory(a).await?;
            let p = d.provider(provider).filter(|p| p.clinic_ids.contains(&clinic)).ok_or_else(missing)?;
            let c = d.clinic(clinic).ok_or_else(missing)?;
            if t == ResourceType::Schedule { r::schedule(&d, p, c) } else { r::practitioner_role(&d, p, c) }
        }
        ResourceType::Slot => {
            let slot = parse_slot_id(id).ok_or_else(missing)?;
            r::slot(&svc.fhir_slot(a, &slot).await.map_err(found)?).ok_or_else(missing)?
        }
    })
}
