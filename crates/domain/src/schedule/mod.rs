//! The pure scheduling core: availability, the slot engine, the appointment state machine
//! and recurring series.
//!
//! Everything here is a function of its inputs — the clinic's time zone, the rules, the
//! busy time and `now` are all parameters — so the services layer can run the same
//! decisions inside a database transaction and the tests can pin every DST edge case.
//! Wall-clock times are resolved to instants by one rule everywhere (see [`local`]).

pub mod appointment;
pub mod availability;
pub mod local;
pub mod recurrence;
pub mod slots;

#[cfg(test)]
mod proptests;

pub use appointment::{
    AppointmentAction, AppointmentStatus, IllegalTransition, UnknownAction, UnknownStatus, is_late_cancellation, next,
};
pub use availability::{
    AvailabilityException, ClinicClosure, ExceptionKind, WeeklyWindow, WindowConflict,
    conflicting_windows_across_zones, overlapping_windows,
};
pub use local::{local_date, to_instant};
pub use recurrence::{RecurrenceEnd, RecurrenceError, RecurrenceRule, occurrences};
pub use slots::{
    Busy, ServiceRules, Slot, SlotInput, SlotRejection, dates_with_slots, expand_windows, first_free_slot, free_slots,
    occupied_range, on_step_grid, slot_is_bookable,
};
