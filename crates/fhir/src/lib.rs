//! Praxis as FHIR R4 (`/fhir/r4`): the resources a FHIR client reads — `Patient`,
//! `Practitioner`, `PractitionerRole`, `Location`, `HealthcareService`, `Schedule`, `Slot`
//! and `Appointment` — built from the records the services return, the search parameters
//! each supports, searchset Bundles with paging links, and errors as `OperationOutcome`.
//!
//! Everything here is pure: the web layer finds the actor and calls the services, this
//! crate only translates between their shapes and FHIR's. JSON only
//! (`application/fhir+json`).
#![forbid(unsafe_code)]

pub mod bundle;
pub mod capability;
pub mod ids;
pub mod outcome;
pub mod resources;
pub mod search;

pub use outcome::Outcome;

/// The media type of every FHIR answer.
pub const FHIR_JSON: &str = "application/fhir+json";

/// The FHIR version served.
pub const FHIR_VERSION: &str = "4.0.1";

/// The identifier system of patients' record numbers (`P000123`).
pub const MRN_SYSTEM: &str = "urn:praxis:patient-record-number";

/// The identifier system of appointment numbers (`A-2026-000123`).
pub const APPOINTMENT_SYSTEM: &str = "urn:praxis:appointment-number";

/// The code system of Praxis services (codes are `HealthcareService` ids), used in
/// `serviceType` of schedules, slots and appointments.
pub const SERVICE_SYSTEM: &str = "urn:praxis:service";

/// The resource types served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceType {
    /// A patient's demographics.
    Patient,
    /// A provider.
    Practitioner,
    /// A provider at one clinic.
    PractitionerRole,
    /// A clinic.
    Location,
    /// A service (appointment type).
    HealthcareService,
    /// A provider's bookable time at one clinic.
    Schedule,
    /// A free time, computed by the slot engine.
    Slot,
    /// An appointment.
    Appointment,
}

impl ResourceType {
    /// Every type, in the order the CapabilityStatement lists them.
    pub const ALL: [ResourceType; 8] = [
        ResourceType::Patient,
        ResourceType::Practitioner,
        ResourceType::PractitionerRole,
        ResourceType::Location,
        ResourceType::HealthcareService,
        ResourceType::Schedule,
        ResourceType::Slot,
        ResourceType::Appointment,
    ];

    /// The type a path segment names (case-sensitive, as FHIR's are).
    pub fn parse(s: &str) -> Option<ResourceType> {
        ResourceType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// FHIR's name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Patient => "Patient",
            ResourceType::Practitioner => "Practitioner",
            ResourceType::PractitionerRole => "PractitionerRole",
            ResourceType::Location => "Location",
            ResourceType::HealthcareService => "HealthcareService",
            ResourceType::Schedule => "Schedule",
            ResourceType::Slot => "Slot",
            ResourceType::Appointment => "Appointment",
        }
    }

    /// The search parameters supported (besides `_count`, `_page` and `_format`).
    pub fn search_params(self) -> &'static [search::SearchParam] {
        search::params_of(self)
    }

    /// Whether clients may create it (only appointments, by booking a free slot).
    pub fn creatable(self) -> bool {
        self == ResourceType::Appointment
    }
}
