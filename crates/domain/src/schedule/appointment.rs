//! The appointment workflow as a state machine: which status changes are legal, and a
//! sentence for each one that is not.
//!
//! ```text
//! held ─request─▶ requested ─confirm─▶ confirmed ─check_in─▶ checked_in ─start─▶ in_progress ─complete─▶ completed
//!  └──────────confirm─────────────────▶    └─mark_no_show─▶ no_show
//! held | requested | confirmed | checked_in ─cancel─▶ cancelled
//! held ─expire─▶ expired
//! ```
//!
//! Decisions:
//! * **held** is a short reservation while someone completes a booking form. It becomes
//!   `requested` (clinic reviews bookings) or directly `confirmed` (clinic auto-confirms);
//!   the services layer picks the action by clinic policy. An abandoned hold is
//!   cancelled, or `expired` by the system once its time is up (kept for the record, but
//!   not counted as a cancellation).
//! * **no_show** only from `confirmed`: a request the clinic never confirmed was no
//!   promise the patient broke, so it is cancelled instead; a checked-in patient did show.
//! * **cancel** up to and including `checked_in` (the patient left before being seen), not
//!   once the appointment is in progress.
//! * `start` needs a check-in first, also for video appointments (the UI may do both in
//!   one click); there is no shortcut from `confirmed`.
//! * `completed`, `cancelled`, `no_show` and `expired` are final. Repeating an action on the status it
//!   leads to (confirming a confirmed appointment) is an [`IllegalTransition`] too; the
//!   services layer may treat it as a no-op for idempotent retries.

/// The longest an appointment may last (a service's length is validated against it). The
/// calendar relies on it to bound its index walk: an appointment still running at `t`
/// started after `t` minus this.
pub const LONGEST_APPOINTMENT_MINUTES: i64 = 720;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Where an appointment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    /// Temporarily reserved while a booking is being completed.
    Held,
    /// Booked, awaiting the clinic's confirmation.
    Requested,
    /// Booked and confirmed.
    Confirmed,
    /// The patient has arrived.
    CheckedIn,
    /// The provider is seeing the patient.
    InProgress,
    /// The appointment took place.
    Completed,
    /// Called off (by the patient, staff or provider) before it took place.
    Cancelled,
    /// The patient did not come.
    NoShow,
    /// A hold that lapsed before the booking was completed.
    Expired,
}

impl AppointmentStatus {
    /// Every status, in workflow order.
    pub const ALL: [Self; 9] = [
        Self::Held,
        Self::Requested,
        Self::Confirmed,
        Self::CheckedIn,
        Self::InProgress,
        Self::Completed,
        Self::Cancelled,
        Self::NoShow,
        Self::Expired,
    ];

    /// The statuses that block the provider's time — the set the database's
    /// no-double-booking constraint covers and slot searches load as busy.
    pub const OCCUPYING: [Self; 5] = [Self::Held, Self::Requested, Self::Confirmed, Self::CheckedIn, Self::InProgress];

    /// The stable snake_case code stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Requested => "requested",
            Self::Confirmed => "confirmed",
            Self::CheckedIn => "checked_in",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no_show",
            Self::Expired => "expired",
        }
    }

    /// A label for people ("Checked in").
    pub fn label(self) -> &'static str {
        match self {
            Self::Held => "On hold",
            Self::Requested => "Requested",
            Self::Confirmed => "Confirmed",
            Self::CheckedIn => "Checked in",
            Self::InProgress => "In progress",
            Self::Completed => "Completed",
            Self::Cancelled => "Cancelled",
            Self::NoShow => "No-show",
            Self::Expired => "Hold expired",
        }
    }

    /// True when an appointment in this status blocks the provider's time.
    pub fn occupies_time(self) -> bool {
        Self::OCCUPYING.contains(&self)
    }

    /// True when no further transition is possible.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled | Self::NoShow | Self::Expired)
    }

    /// The actions legal from this status, in workflow order — for showing buttons.
    pub fn allowed_actions(self) -> Vec<AppointmentAction> {
        AppointmentAction::ALL.into_iter().filter(|&a| next(self, a).is_ok()).collect()
    }

    /// The status as the subject of a sentence ("A completed appointment").
    fn subject(self) -> &'static str {
        match self {
            Self::Held => "An appointment on hold",
            Self::Requested => "A requested appointment",
            Self::Confirmed => "A confirmed appointment",
            Self::CheckedIn => "A checked-in appointment",
            Self::InProgress => "An appointment in progress",
            Self::Completed => "A completed appointment",
            Self::Cancelled => "A cancelled appointment",
            Self::NoShow => "An appointment marked as a no-show",
            Self::Expired => "An expired hold",
        }
    }
}

impl fmt::Display for AppointmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not an appointment status code.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("unknown appointment status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for AppointmentStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// Something a person does to an appointment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentAction {
    /// Turn a hold into a booking request awaiting confirmation.
    Request,
    /// Confirm a hold or a request.
    Confirm,
    /// Record the patient's arrival.
    CheckIn,
    /// Begin the consultation.
    Start,
    /// Finish the consultation.
    Complete,
    /// Call the appointment off.
    Cancel,
    /// Record that the patient did not come.
    MarkNoShow,
    /// Let a hold lapse (the system does this when its time is up).
    Expire,
}

impl AppointmentAction {
    /// Every action, in workflow order.
    pub const ALL: [Self; 8] = [
        Self::Request,
        Self::Confirm,
        Self::CheckIn,
        Self::Start,
        Self::Complete,
        Self::Cancel,
        Self::MarkNoShow,
        Self::Expire,
    ];

    /// The stable snake_case code used in the API and audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Confirm => "confirm",
            Self::CheckIn => "check_in",
            Self::Start => "start",
            Self::Complete => "complete",
            Self::Cancel => "cancel",
            Self::MarkNoShow => "mark_no_show",
            Self::Expire => "expire",
        }
    }

    /// A label for a button ("Check in").
    pub fn label(self) -> &'static str {
        match self {
            Self::Request => "Request",
            Self::Confirm => "Confirm",
            Self::CheckIn => "Check in",
            Self::Start => "Start",
            Self::Complete => "Complete",
            Self::Cancel => "Cancel",
            Self::MarkNoShow => "Mark as no-show",
            Self::Expire => "Let the hold expire",
        }
    }

    /// The action as a past participle ("checked in"), for messages.
    fn participle(self) -> &'static str {
        match self {
            Self::Request => "requested",
            Self::Confirm => "confirmed",
            Self::CheckIn => "checked in",
            Self::Start => "started",
            Self::Complete => "completed",
            Self::Cancel => "cancelled",
            Self::MarkNoShow => "marked as a no-show",
            Self::Expire => "expired",
        }
    }

    /// The status this action leads to when it is legal.
    pub fn target(self) -> AppointmentStatus {
        match self {
            Self::Request => AppointmentStatus::Requested,
            Self::Confirm => AppointmentStatus::Confirmed,
            Self::CheckIn => AppointmentStatus::CheckedIn,
            Self::Start => AppointmentStatus::InProgress,
            Self::Complete => AppointmentStatus::Completed,
            Self::Cancel => AppointmentStatus::Cancelled,
            Self::MarkNoShow => AppointmentStatus::NoShow,
            Self::Expire => AppointmentStatus::Expired,
        }
    }
}

impl fmt::Display for AppointmentAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not an appointment action code.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("unknown appointment action {0:?}")]
pub struct UnknownAction(pub String);

impl FromStr for AppointmentAction {
    type Err = UnknownAction;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| UnknownAction(s.to_string()))
    }
}

/// An action that is not allowed from the appointment's current status. Its message is a
/// sentence for the person who tried ("A completed appointment cannot be checked in.").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("{}", self.message())]
pub struct IllegalTransition {
    /// The status the appointment is in.
    pub from: AppointmentStatus,
    /// The action that was attempted.
    pub action: AppointmentAction,
}

impl IllegalTransition {
    /// The human explanation.
    pub fn message(&self) -> String {
        if self.action.target() == self.from {
            format!("This appointment is already {}.", self.action.participle())
        } else {
            format!("{} cannot be {}.", self.from.subject(), self.action.participle())
        }
    }
}

/// The status after applying `action` to an appointment in `status`, or why not. The
/// complete transition table (see the module docs):
///
/// | from \ action | request   | confirm   | check_in   | start       | complete  | cancel    | mark_no_show | expire  |
/// |---------------|-----------|-----------|------------|-------------|-----------|-----------|--------------|---------|
/// | held          | requested | confirmed |            |             |           | cancelled |              | expired |
/// | requested     |           | confirmed |            |             |           | cancelled |              |         |
/// | confirmed     |           |           | checked_in |             |           | cancelled | no_show      |         |
/// | checked_in    |           |           |            | in_progress |           | cancelled |              |         |
/// | in_progress   |           |           |            |             | completed |           |              |         |
/// | completed, cancelled, no_show, expired: nothing |
pub fn next(status: AppointmentStatus, action: AppointmentAction) -> Result<AppointmentStatus, IllegalTransition> {
    use AppointmentAction as A;
    use AppointmentStatus as S;
    let to = match (status, action) {
        (S::Held, A::Request) => S::Requested,
        (S::Held | S::Requested, A::Confirm) => S::Confirmed,
        (S::Confirmed, A::CheckIn) => S::CheckedIn,
        (S::CheckedIn, A::Start) => S::InProgress,
        (S::InProgress, A::Complete) => S::Completed,
        (S::Held | S::Requested | S::Confirmed | S::CheckedIn, A::Cancel) => S::Cancelled,
        (S::Confirmed, A::MarkNoShow) => S::NoShow,
        (S::Held, A::Expire) => S::Expired,
        _ => return Err(IllegalTransition { from: status, action }),
    };
    Ok(to)
}

/// True when cancelling now counts as late under a policy that asks for at least
/// `window` notice: the appointment starts less than `window` after `now` (cancelling
/// exactly `window` ahead is on time; cancelling after the start is late). A zero or
/// negative `window` means the clinic has no late-cancellation policy: never late.
pub fn is_late_cancellation(starts_at: jiff::Timestamp, now: jiff::Timestamp, window: jiff::SignedDuration) -> bool {
    if window <= jiff::SignedDuration::ZERO {
        return false;
    }
    starts_at.duration_since(now) < window
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use AppointmentAction as A;
    use AppointmentStatus as S;
    use jiff::{SignedDuration, Timestamp};

    #[test]
    fn exhaustive_transition_table() {
        // Every (status, action) pair, spelled out: None = illegal.
        let table: [(S, [Option<S>; 8]); 9] = [
            //             Request          Confirm             CheckIn            Start               Complete            Cancel              MarkNoShow   Expire
            (
                S::Held,
                [Some(S::Requested), Some(S::Confirmed), None, None, None, Some(S::Cancelled), None, Some(S::Expired)],
            ),
            (S::Requested, [None, Some(S::Confirmed), None, None, None, Some(S::Cancelled), None, None]),
            (S::Confirmed, [None, None, Some(S::CheckedIn), None, None, Some(S::Cancelled), Some(S::NoShow), None]),
            (S::CheckedIn, [None, None, None, Some(S::InProgress), None, Some(S::Cancelled), None, None]),
            (S::InProgress, [None, None, None, None, Some(S::Completed), None, None, None]),
            (S::Completed, [None; 8]),
            (S::Cancelled, [None; 8]),
            (S::NoShow, [None; 8]),
            (S::Expired, [None; 8]),
        ];
        assert_eq!(table.len(), S::ALL.len());
        let mut checked = 0;
        for (status, row) in table {
            for (action, expected) in A::ALL.into_iter().zip(row) {
                let got = next(status, action);
                match expected {
                    Some(to) => assert_eq!(got, Ok(to), "{status} + {action}"),
                    None => assert_eq!(got, Err(IllegalTransition { from: status, action }), "{status} + {action}"),
                }
                if let Ok(to) = got {
                    assert_eq!(to, action.target());
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 72);
    }

    #[test]
    fn illegal_transition_messages() {
        let m = |s, a| next(s, a).unwrap_err().to_string();
        assert_eq!(m(S::Completed, A::CheckIn), "A completed appointment cannot be checked in.");
        assert_eq!(m(S::InProgress, A::Cancel), "An appointment in progress cannot be cancelled.");
        assert_eq!(m(S::Requested, A::MarkNoShow), "A requested appointment cannot be marked as a no-show.");
        assert_eq!(m(S::Confirmed, A::Confirm), "This appointment is already confirmed.");
        assert_eq!(m(S::Cancelled, A::Cancel), "This appointment is already cancelled.");
        assert_eq!(m(S::NoShow, A::CheckIn), "An appointment marked as a no-show cannot be checked in.");
    }

    #[test]
    fn codes_labels_and_parsing() {
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(serde_json::from_value::<S>(s.as_str().into()).unwrap(), s);
            assert!(!s.label().is_empty());
            assert_eq!(s.is_final(), s.allowed_actions().is_empty());
        }
        for a in A::ALL {
            assert_eq!(a.as_str().parse::<A>(), Ok(a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        assert_eq!(S::CheckedIn.label(), "Checked in");
        assert_eq!(S::CheckedIn.as_str(), "checked_in");
        assert!("checked-in".parse::<S>().is_err());
        assert!("Confirmed".parse::<S>().is_err());
        assert_eq!(S::Confirmed.allowed_actions(), [A::CheckIn, A::Cancel, A::MarkNoShow]);
    }

    #[test]
    fn occupying_statuses() {
        let occupying: Vec<S> = S::ALL.into_iter().filter(|s| s.occupies_time()).collect();
        assert_eq!(occupying, [S::Held, S::Requested, S::Confirmed, S::CheckedIn, S::InProgress]);
        // Once time is released it never becomes occupied again.
        for s in S::ALL.into_iter().filter(|s| !s.occupies_time()) {
            for a in A::ALL {
                assert!(next(s, a).is_err());
            }
        }
    }

    #[test]
    fn late_cancellation_window() {
        let start: Timestamp = "2026-05-04T09:00:00Z".parse().unwrap();
        let day = SignedDuration::from_hours(24);
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert!(!is_late_cancellation(start, at("2026-05-03T08:59:59Z"), day));
        assert!(!is_late_cancellation(start, at("2026-05-03T09:00:00Z"), day), "exactly on the boundary is on time");
        assert!(is_late_cancellation(start, at("2026-05-03T09:00:01Z"), day));
        assert!(is_late_cancellation(start, at("2026-05-04T10:00:00Z"), day), "after the start is late");
        assert!(!is_late_cancellation(start, at("2026-05-04T08:59:00Z"), SignedDuration::ZERO), "no policy");
    }
}
