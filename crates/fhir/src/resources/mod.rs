//! The resources, built from the services' records. FHIR forbids empty strings, arrays
//! and objects, so every resource passes through [`compact`] before it is served.

mod appointment;
mod directory;
mod patient;

pub use appointment::{BookingAsk, SlotResource, SlotResources, appointment, booking_ask, praxis_statuses, slot};
pub use directory::{healthcare_service, location, practitioner, practitioner_role, schedule};
pub use patient::patient;

use serde_json::{Value, json};

/// Drops nulls, empty strings, empty arrays and empty objects, at every depth.
pub fn compact(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, compact(v))).filter(|(_, v)| !is_empty(v)).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(compact).filter(|v| !is_empty(v)).collect()),
        Value::String(s) => Value::String(s.trim().to_string()),
        other => other,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// A reference with a display text.
fn reference(resource_type: &str, id: impl std::fmt::Display, display: &str) -> Value {
    json!({"reference": format!("{resource_type}/{id}"), "display": display})
}

/// A concept known only by its text.
fn text(t: &str) -> Value {
    json!({"text": t})
}

/// A service as a `serviceType` concept: coded with its id, named for people.
fn service_type(id: praxis_domain::ServiceId, name: &str) -> Value {
    json!({"coding": [{"system": crate::SERVICE_SYSTEM, "code": id.to_string(), "display": name}], "text": name})
}

/// An instant as FHIR's `instant`/`dateTime` (UTC, whole seconds).
fn instant(t: jiff::Timestamp) -> String {
    if t.subsec_nanosecond() == 0 {
        // Display is RFC 3339 in UTC, and without a fraction at whole seconds.
        t.to_string()
    } else {
        t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_leaves_no_empty_element_at_any_depth() {
        let v = compact(json!({"a": "", "b": [], "c": {"d": null, "e": [{"f": " "}]}, "g": 0, "h": false, "i": " x "}));
        assert_eq!(v, json!({"g": 0, "h": false, "i": "x"}));
    }
}
