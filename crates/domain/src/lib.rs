//! Praxis domain: the clinic's vocabulary and rules as pure Rust.
//!
//! Nothing in this crate performs I/O or reads the clock; everything that depends on
//! "now" takes it as an argument. That keeps the rules property-testable and lets the
//! same decisions run inside a database transaction in the services layer.
#![forbid(unsafe_code)]

pub mod backups;
pub mod billing;
pub mod documents;
pub mod forms;
pub mod ical;
pub mod ids;
pub mod integrations;
pub mod permissions;
pub mod schedule;
pub mod search;
pub mod two_factor;
pub mod uri;
pub mod validation;
pub mod values;

pub use ids::*;
pub use permissions::{Permission, Role, Roles};
pub use schedule::{
    AppointmentAction, AppointmentStatus, AvailabilityException, Busy, ClinicClosure, ExceptionKind, IllegalTransition,
    RecurrenceEnd, RecurrenceRule, ServiceRules, Slot, SlotInput, SlotRejection, WeeklyWindow,
};
pub use schedule::{appointment, availability, recurrence, slots};
pub use validation::{FieldError, Validation};
pub use values::{Currency, Email, Money, Phone};
