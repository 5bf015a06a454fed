//! `metadata`: the CapabilityStatement, generated from the same table of resource types
//! and search parameters the server checks requests against.

use crate::{FHIR_JSON, FHIR_VERSION, ResourceType};
use serde_json::{Value, json};

/// The server's CapabilityStatement. `base` is its FHIR base URL; `date` when it started.
pub fn capability_statement(base: &str, date: jiff::Timestamp) -> Value {
    let resources: Vec<Value> = ResourceType::ALL
        .into_iter()
        .map(|t| {
            let mut interaction = vec![json!({"code": "read"}), json!({"code": "search-type"})];
            if t.creatable() {
                interaction.push(json!({"code": "create", "documentation": "Books a free Slot: send slot [{reference: Slot/…}] and, for staff, the Patient participant."}));
            }
            let mut params: Vec<Value> = t
                .search_params()
                .iter()
                .map(|p| json!({"name": p.name, "type": p.kind, "documentation": p.doc}))
                .collect();
            let (default, max) = crate::search::page_limits(t);
            params.push(json!({"name": "_count", "type": "number", "documentation": format!("Entries per page (default {default}, at most {max}).")}));
            params.push(json!({"name": "_page", "type": "number", "documentation": "The page, from 1 (follow the Bundle's links)."}));
            json!({"type": t.as_str(), "interaction": interaction, "searchParam": params})
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "publisher": "Praxis",
        "kind": "instance",
        "software": {"name": "Praxis", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Praxis practice management", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Read and search; book an Appointment from a free Slot. Patients see only their own records.",
            "security": {"description": "Send Authorization: Bearer <token> from POST /api/v1/auth/login. Errors are OperationOutcome resources."},
            "resource": resources,
        }],
    })
}
