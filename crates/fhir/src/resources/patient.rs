//! `Patient`: demographics only (no insurance number, no clinical content).

use super::{compact, text};
use praxis_services::patients::Patient;
use serde_json::{Value, json};

/// A patient record as `Patient`.
pub fn patient(p: &Patient) -> Value {
    let mut names = vec![json!({
        "use": "official",
        "text": p.full_name(),
        "family": p.family_name,
        "given": [p.given_name],
    })];
    if let Some(preferred) = p.preferred_name.as_deref().filter(|n| !n.trim().is_empty()) {
        names.push(json!({"use": "usual", "given": [preferred], "family": p.family_name}));
    }
    let gender = p.sex.as_deref().map(|s| match s {
        "female" => "female",
        "male" => "male",
        "intersex" => "other",
        _ => "unknown",
    });
    let contact = p.emergency_contact.as_ref().map(|c| {
        json!({
            "relationship": [text(&c.relationship)],
            "name": {"text": c.name},
            "telecom": [{"system": "phone", "value": c.phone}],
        })
    });
    compact(json!({
        "resourceType": "Patient",
        "id": p.id.to_string(),
        "identifier": [{"use": "usual", "system": crate::MRN_SYSTEM, "value": p.mrn}],
        "active": p.active,
        "name": names,
        "telecom": [
            p.phone.as_ref().map(|v| json!({"system": "phone", "value": v})),
            p.email.as_ref().map(|v| json!({"system": "email", "value": v})),
        ],
        "gender": gender,
        "birthDate": p.date_of_birth.map(|d| d.to_string()),
        "address": [{"text": p.address}],
        "contact": [contact],
    }))
}
