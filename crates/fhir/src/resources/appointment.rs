//! `Slot` (a free time from the slot engine) and `Appointment`, and reading a client's
//! `Appointment` that books a slot.

use super::{compact, instant, reference, service_type, text};
use crate::Outcome;
use crate::ids::{parse_slot_id, role_id, slot_id};
use praxis_domain::{AppointmentStatus, PatientId};
use praxis_services::fhir::{FreeSlot, FreeSlots, SlotRef};
use praxis_services::scheduling::Appointment;
use serde::Serialize;
use serde_json::{Value, json};

/// The free times of a search as `Slot` resources, ready to serialize without building a
/// JSON tree per slot (a month of a provider is hundreds of them): what every slot of one
/// schedule shares is formatted once.
pub struct SlotResources<'a> {
    found: &'a FreeSlots,
    service_type: [ServiceType<'a>; 1],
    schedules: Vec<(String, String)>,
}

/// One `Slot`, borrowing what it shares with the others.
#[derive(Serialize)]
pub struct SlotResource<'a> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    id: String,
    #[serde(rename = "serviceType")]
    service_type: &'a [ServiceType<'a>; 1],
    schedule: RefTo<'a>,
    status: &'static str,
    start: String,
    end: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

/// A service as a coded concept.
#[derive(Serialize)]
pub struct ServiceType<'a> {
    coding: [Coding<'a>; 1],
    text: &'a str,
}

#[derive(Serialize)]
struct Coding<'a> {
    system: &'static str,
    code: String,
    display: &'a str,
}

#[derive(Serialize)]
struct RefTo<'a> {
    reference: &'a str,
    display: &'a str,
}

impl SlotResource<'_> {
    /// The slot's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl<'a> SlotResources<'a> {
    /// Prepares the shared parts of a search's slots.
    pub fn new(found: &'a FreeSlots) -> Self {
        let service = &found.service;
        let service_type = [ServiceType {
            coding: [Coding { system: crate::SERVICE_SYSTEM, code: service.id.to_string(), display: &service.name }],
            text: &service.name,
        }];
        let schedules = found
            .schedules
            .iter()
            .map(|s| {
                (
                    format!("Schedule/{}", role_id(s.provider_id, s.clinic_id)),
                    format!("{} at {}", s.provider_name, s.clinic_name),
                )
            })
            .collect();
        SlotResources { found, service_type, schedules }
    }

    /// The `Slot` of one free time (always `free`; its id books it).
    pub fn slot(&'a self, s: &FreeSlot) -> SlotResource<'a> {
        let service = &self.found.service;
        let comment = (service.capacity > 1).then(|| {
            let joining = if s.in_session { " in this group" } else { "" };
            format!("{} of {} places left{joining}", s.remaining, service.capacity)
        });
        let (reference, display) = &self.schedules[s.schedule];
        SlotResource {
            resource_type: "Slot",
            id: slot_id(&SlotRef::of(self.found, s)),
            service_type: &self.service_type,
            schedule: RefTo { reference, display },
            status: "free",
            start: instant(s.start),
            end: instant(s.end),
            comment,
        }
    }

    /// Every slot found, in order.
    pub fn all(&'a self) -> impl Iterator<Item = SlotResource<'a>> + 'a {
        self.found.slots.iter().map(move |s| self.slot(s))
    }
}

/// The first free time of a search as a `Slot` JSON value (a read by id).
pub fn slot(found: &FreeSlots) -> Option<Value> {
    let resources = SlotResources::new(found);
    let first = found.slots.first()?;
    serde_json::to_value(resources.slot(first)).ok()
}

/// FHIR's status for a Praxis status. A lapsed hold is `cancelled` (with the reason).
fn fhir_status(s: AppointmentStatus) -> &'static str {
    match s {
        AppointmentStatus::Held => "proposed",
        AppointmentStatus::Requested => "pending",
        AppointmentStatus::Confirmed => "booked",
        AppointmentStatus::CheckedIn => "checked-in",
        AppointmentStatus::InProgress => "arrived",
        AppointmentStatus::Completed => "fulfilled",
        AppointmentStatus::Cancelled | AppointmentStatus::Expired => "cancelled",
        AppointmentStatus::NoShow => "noshow",
    }
}

/// The Praxis statuses a FHIR status code stands for (none for `entered-in-error` and
/// `waitlist`, which Praxis never uses); `None` for a code FHIR does not define.
pub fn praxis_statuses(code: &str) -> Option<Vec<&'static str>> {
    const FHIR_CODES: [&str; 10] = [
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    ];
    FHIR_CODES
        .contains(&code)
        .then(|| AppointmentStatus::ALL.into_iter().filter(|s| fhir_status(*s) == code).map(|s| s.as_str()).collect())
}

/// An appointment as `Appointment`: its patients, provider and clinic as participants.
pub fn appointment(a: &Appointment) -> Value {
    let cancel_reason = match a.status {
        AppointmentStatus::Expired => Some("The hold lapsed before the booking was completed.".to_string()),
        AppointmentStatus::Cancelled => Some(a.cancel_reason.clone().unwrap_or_else(|| "Cancelled".into())),
        _ => None,
    };
    let mut participant: Vec<Value> = a
        .participants
        .iter()
        .map(|p| {
            json!({
                "actor": reference("Patient", p.patient_id, &p.name),
                "required": "required",
                "status": if p.status == "cancelled" { "declined" } else { "accepted" },
            })
        })
        .collect();
    participant.push(json!({"actor": reference("Practitioner", a.provider_id, &a.provider_name), "required": "required", "status": "accepted"}));
    participant.push(json!({"actor": reference("Location", a.clinic_id, &a.clinic_name), "required": "required", "status": "accepted"}));
    let minutes = a.end.duration_since(a.start).as_mins();
    compact(json!({
        "resourceType": "Appointment",
        "id": a.id.to_string(),
        "meta": {"versionId": a.version.to_string()},
        "identifier": [{"system": crate::APPOINTMENT_SYSTEM, "value": a.number}],
        "status": fhir_status(a.status),
        "cancelationReason": cancel_reason.as_deref().map(text),
        "serviceType": [service_type(a.service_id, &a.service_name)],
        "start": instant(a.start),
        "end": instant(a.end),
        "minutesDuration": (minutes > 0).then_some(minutes),
        "created": instant(a.created_at),
        "comment": a.note,
        "participant": participant,
    }))
}

/// What a client's `Appointment` asks to book.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookingAsk {
    /// The free slot to book.
    pub slot: SlotRef,
    /// The patient (staff and providers must name one; patients may leave it out).
    pub patient: Option<PatientId>,
    /// `comment`: a note for the clinic.
    pub note: String,
}

/// Reads a posted `Appointment`: exactly one `slot` this server gave out, at most one
/// patient participant, and nothing that contradicts the slot (its start, end or
/// practitioner). Everything else about the booking comes from the slot.
pub fn booking_ask(body: &Value) -> Result<BookingAsk, Outcome> {
    if body.get("resourceType").and_then(Value::as_str) != Some("Appointment") {
        return Err(Outcome::invalid("resourceType", "Send an Appointment resource (resourceType \"Appointment\")."));
    }
    let slots = body.get("slot").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let [only] = slots else {
        return Err(Outcome::unprocessable(
            "Appointment.slot",
            "Name exactly one free slot to book: slot [{\"reference\": \"Slot/…\"}] from a Slot search.",
        ));
    };
    let slot_ref = only.get("reference").and_then(Value::as_str).unwrap_or("");
    let slot = slot_ref.rsplit_once("Slot/").and_then(|(_, id)| parse_slot_id(id)).ok_or_else(|| {
        Outcome::unprocessable(
            "Appointment.slot",
            format!("{slot_ref:?} is not a slot from this server; search Slot first."),
        )
    })?;
    if let Some(status) = body.get("status")
        && !matches!(status.as_str(), Some("booked" | "proposed" | "pending"))
    {
        return Err(Outcome::unprocessable(
            "Appointment.status",
            "A new appointment's status is booked, pending or proposed.",
        ));
    }
    for (field, at) in [("start", slot.start), ("end", slot.start)] {
        let Some(v) = body.get(field) else { continue };
        let t = v.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok());
        let fits = match field {
            "start" => t == Some(at),
            _ => t.is_some_and(|t| t > at),
        };
        if !fits {
            return Err(Outcome::unprocessable(
                &format!("Appointment.{field}"),
                format!("{field} does not match the slot; leave it out or copy it from the slot."),
            ));
        }
    }
    let mut patient = None;
    let participants = match body.get("participant") {
        None => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(Outcome::invalid("Appointment.participant", "participant is a list.")),
    };
    for p in participants {
        let r = p.pointer("/actor/reference").and_then(Value::as_str).unwrap_or("");
        if let Some(id) = r.strip_prefix("Patient/") {
            let id: PatientId = id.parse().map_err(|_| {
                Outcome::unprocessable("Appointment.participant", format!("{r:?} is not a patient of this server."))
            })?;
            if patient.replace(id).is_some_and(|earlier| earlier != id) {
                return Err(Outcome::unprocessable("Appointment.participant", "Book one patient per appointment."));
            }
        } else if let Some(id) = r.strip_prefix("Practitioner/") {
            if id != slot.provider_id.to_string() {
                return Err(Outcome::unprocessable(
                    "Appointment.participant",
                    "The practitioner is not the slot's; leave them out or search their slots.",
                ));
            }
        } else if !r.starts_with("Location/") {
            return Err(Outcome::unprocessable(
                "Appointment.participant",
                format!("Participants are a Patient, the Practitioner and the Location, not {r:?}."),
            ));
        }
    }
    let note = match body.get("comment") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(Outcome::invalid("Appointment.comment", "comment is text.")),
    };
    Ok(BookingAsk { slot, patient, note })
}

#[cfg(test)]
mod tests {
    use super::*;
    use praxis_domain::{ProviderId, ServiceId};
    use uuid::Uuid;

    fn a_slot() -> SlotRef {
        SlotRef {
            provider_id: ProviderId(Uuid::from_u128(1)),
            service_id: ServiceId(Uuid::from_u128(2)),
            clinic_tail: [0, 0, 0, 0, 0, 3],
            start: "2026-03-03T09:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn every_praxis_status_maps_to_a_fhir_code_that_finds_it_again() {
        for s in AppointmentStatus::ALL {
            let back = praxis_statuses(fhir_status(s)).unwrap();
            assert!(back.contains(&s.as_str()), "{s:?}");
        }
        assert_eq!(praxis_statuses("waitlist"), Some(vec![]));
        assert_eq!(praxis_statuses("done"), None);
    }

    #[test]
    fn a_booking_names_one_slot_and_at_most_one_patient() {
        let slot = format!("Slot/{}", slot_id(&a_slot()));
        let patient = Uuid::from_u128(9);
        let ok = booking_ask(&json!({
            "resourceType": "Appointment", "status": "booked", "slot": [{"reference": slot}],
            "start": "2026-03-03T09:00:00Z",
            "participant": [{"actor": {"reference": format!("Patient/{patient}")}, "status": "accepted"},
                            {"actor": {"reference": "Practitioner/00000000-0000-0000-0000-000000000001"}, "status": "accepted"}],
            "comment": "first visit"
        }))
        .unwrap();
        assert_eq!(ok, BookingAsk { slot: a_slot(), patient: Some(PatientId(patient)), note: "first visit".into() });

        let refused = [
            json!({"resourceType": "Patient"}),
            json!({"resourceType": "Appointment"}),
            json!({"resourceType": "Appointment", "slot": [{"reference": "Slot/nonsense"}]}),
            json!({"resourceType": "Appointment", "slot": [{"reference": slot}, {"reference": slot}]}),
            json!({"resourceType": "Appointment", "slot": [{"reference": slot}], "status": "fulfilled"}),
            json!({"resourceType": "Appointment", "slot": [{"reference": slot}], "start": "2026-03-03T10:00:00Z"}),
            json!({"resourceType": "Appointment", "slot": [{"reference": slot}], "participant": [{"actor": {"reference": "Patient/x"}}]}),
            json!({"resourceType": "Appointment", "slot": [{"reference": slot}], "participant": [{"actor": {"reference": "Practitioner/00000000-0000-0000-0000-000000000002"}}]}),
            json!({"resourceType": "Appointment", "slot": [{"reference": slot}], "participant": [{"actor": {"reference": "Device/1"}}]}),
            json!({"resourceType": "Appointment", "slot": [{"reference": slot}], "comment": 5}),
        ];
        for body in refused {
            let e = booking_ask(&body).unwrap_err();
            assert!(e.status == 400 || e.status == 422, "{body}");
        }
    }
}
