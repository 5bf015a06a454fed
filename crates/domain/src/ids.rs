//! Typed identifiers. Every aggregate has its own UUIDv7 newtype so an appointment id can
//! never be passed where a patient id is expected; v7 ids sort by creation time.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! define_id {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// The underlying UUID.
            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    )+};
}

define_id!(
    /// A login account (staff, provider, admin or patient portal user).
    UserId,
    /// A browser or API session.
    SessionId,
    /// A clinic location (its own address and IANA time zone).
    ClinicId,
    /// A provider: the person who sees patients (doctor, nurse, therapist, psychologist…).
    ProviderId,
    /// A service, i.e. an appointment type with its duration, buffers and price.
    ServiceId,
    /// A specialty such as physiotherapy or psychology.
    SpecialtyId,
    /// One appointment (a booked, held or past visit).
    AppointmentId,
    /// A recurring series of appointments booked together.
    SeriesId,
    /// A patient's place on the waiting list for a provider or service.
    WaitlistEntryId,
    /// One weekly availability window of a provider at a clinic.
    AvailabilityWindowId,
    /// A dated exception to a provider's weekly availability (leave, changed hours).
    ExceptionId,
    /// A clinic-wide closure (public holiday, building works).
    ClosureId,
    /// A patient record (demographics; optionally linked to a portal account).
    PatientId,
    /// An offer of a freed slot to someone on the waiting list.
    WaitlistOfferId,
    /// One entry in an appointment's history (created, moved, status changed).
    AppointmentChangeId,
    /// An invoice (draft, issued, paid or void).
    InvoiceId,
    /// One line of an invoice.
    InvoiceLineId,
    /// A payment received against an invoice (each has a numbered receipt).
    PaymentId,
    /// Money given back from a payment.
    RefundId,
    /// An insurance or Medicare claim for one invoice line.
    ClaimId,
    /// A referral or funded plan (referring practitioner, dates, session cap).
    ReferralId,
    /// An online payment attempt (a Stripe PaymentIntent).
    OnlinePaymentId,
);
