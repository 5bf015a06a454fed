//! The directory: `Location` (a clinic), `Practitioner` (a provider), `PractitionerRole`
//! and `Schedule` (a provider at one clinic) and `HealthcareService` (a service).

use super::{compact, reference, service_type, text};
use crate::ids::role_id;
use praxis_services::catalog::{Clinic, Provider, Service, ServiceMode};
use praxis_services::fhir::Directory;
use serde_json::{Value, json};

/// The standard extension naming a location's IANA time zone.
const TIMEZONE_EXTENSION: &str = "http://hl7.org/fhir/StructureDefinition/timezone";

/// A clinic as `Location`.
pub fn location(c: &Clinic) -> Value {
    compact(json!({
        "resourceType": "Location",
        "id": c.id.to_string(),
        "extension": [{"url": TIMEZONE_EXTENSION, "valueCode": c.time_zone}],
        "status": if c.active { "active" } else { "inactive" },
        "name": c.name,
        "mode": "instance",
        "telecom": [
            c.phone.as_ref().map(|v| json!({"system": "phone", "value": v, "use": "work"})),
            c.email.as_ref().map(|v| json!({"system": "email", "value": v, "use": "work"})),
        ],
        "address": {"text": c.address},
    }))
}

/// A provider as `Practitioner`.
pub fn practitioner(p: &Provider) -> Value {
    let (given, family) = praxis_services::patients::split_name(&p.name);
    compact(json!({
        "resourceType": "Practitioner",
        "id": p.id.to_string(),
        "active": p.active,
        "name": [{"text": p.name, "family": family, "given": [given]}],
        "telecom": [{"system": "email", "value": p.email, "use": "work"}],
        "qualification": [{"code": text(&p.qualifications)}],
    }))
}

/// A provider at one clinic as `PractitionerRole`.
pub fn practitioner_role(d: &Directory, p: &Provider, c: &Clinic) -> Value {
    compact(json!({
        "resourceType": "PractitionerRole",
        "id": role_id(p.id, c.id),
        "active": p.active && c.active,
        "practitioner": reference("Practitioner", p.id, &p.name),
        "location": [reference("Location", c.id, &c.name)],
        "healthcareService": services_of(d, p).map(|s| reference("HealthcareService", s.id, &s.name)).collect::<Vec<_>>(),
        "code": [text(&p.title)],
        "specialty": specialties_of(d, p).into_iter().map(text).collect::<Vec<_>>(),
        "telecom": [{"system": "email", "value": p.email, "use": "work"}],
    }))
}

/// A provider's bookable time at one clinic as `Schedule`; its slots are searched with
/// `Slot?schedule=…&service-type=…`.
pub fn schedule(d: &Directory, p: &Provider, c: &Clinic) -> Value {
    compact(json!({
        "resourceType": "Schedule",
        "id": role_id(p.id, c.id),
        "active": p.active && c.active,
        "serviceType": services_of(d, p).map(|s| service_type(s.id, &s.name)).collect::<Vec<_>>(),
        "specialty": specialties_of(d, p).into_iter().map(text).collect::<Vec<_>>(),
        "actor": [reference("Practitioner", p.id, &p.name), reference("Location", c.id, &c.name)],
        "comment": format!("{} at {} ({})", p.name, c.name, c.time_zone),
    }))
}

/// A service as `HealthcareService`, with the clinics where someone offers it.
pub fn healthcare_service(d: &Directory, s: &Service) -> Value {
    let specialty = s.specialty_id.and_then(|id| d.specialties.iter().find(|x| x.id == id)).map(|x| text(&x.name));
    let mut clinics: Vec<&Clinic> = d
        .providers
        .iter()
        .filter(|p| p.service_ids.contains(&s.id))
        .flat_map(|p| p.clinic_ids.iter().filter_map(|c| d.clinic(*c)))
        .collect();
    clinics.sort_by_key(|c| c.id);
    clinics.dedup_by_key(|c| c.id);
    let mode = match s.mode {
        ServiceMode::InPerson => "in person",
        ServiceMode::Video => "by video",
    };
    let group = if s.capacity > 1 { format!(", groups of up to {}", s.capacity) } else { String::new() };
    compact(json!({
        "resourceType": "HealthcareService",
        "id": s.id.to_string(),
        "active": s.active,
        "type": [service_type(s.id, &s.name)],
        "specialty": [specialty],
        "location": clinics.iter().map(|c| reference("Location", c.id, &c.name)).collect::<Vec<_>>(),
        "name": s.name,
        "comment": s.description,
        "extraDetails": format!("{} minutes, {mode}{group}.", s.duration_minutes),
        "appointmentRequired": true,
    }))
}

fn services_of<'a>(d: &'a Directory, p: &'a Provider) -> impl Iterator<Item = &'a Service> + 'a {
    d.services.iter().filter(|s| p.service_ids.contains(&s.id))
}

fn specialties_of<'a>(d: &'a Directory, p: &Provider) -> Vec<&'a str> {
    d.specialties.iter().filter(|s| p.specialty_ids.contains(&s.id)).map(|s| s.name.as_str()).collect()
}
