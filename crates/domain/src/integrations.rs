//! Connecting other software: what an API key may do, and which events a webhook
//! endpoint hears about.
//!
//! An API key acts with one role's grants (administrator or staff), narrowed to the
//! areas it was given and, for a read-only key, to permissions that only read. Managing
//! accounts, backups and the integrations themselves is never open to a key: a leaked
//! key must not be able to mint more keys or lock the clinic out.

use crate::permissions::{Permission, Role, Scope, grant};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A part of Praxis an API key can be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyArea {
    /// Clinics, providers, services, availability and free slots.
    Directory,
    /// Appointments, the waiting list and calendar feeds.
    Scheduling,
    /// Patient registration and contact details.
    Patients,
    /// Clinical notes, documents and questionnaires.
    Clinical,
    /// Invoices, payments, claims, referrals and the money reports.
    Billing,
    /// Messages sent to patients and staff.
    Messages,
    /// The audit log.
    Audit,
}

impl KeyArea {
    /// Every area, in display order.
    pub const ALL: [KeyArea; 7] = [
        KeyArea::Directory,
        KeyArea::Scheduling,
        KeyArea::Patients,
        KeyArea::Clinical,
        KeyArea::Billing,
        KeyArea::Messages,
        KeyArea::Audit,
    ];

    /// The stable name used in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyArea::Directory => "directory",
            KeyArea::Scheduling => "scheduling",
            KeyArea::Patients => "patients",
            KeyArea::Clinical => "clinical",
            KeyArea::Billing => "billing",
            KeyArea::Messages => "messages",
            KeyArea::Audit => "audit",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            KeyArea::Directory => "Directory and free slots",
            KeyArea::Scheduling => "Appointments",
            KeyArea::Patients => "Patients",
            KeyArea::Clinical => "Clinical records",
            KeyArea::Billing => "Billing",
            KeyArea::Messages => "Messages",
            KeyArea::Audit => "Audit log",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl FromStr for KeyArea {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyArea::ALL.into_iter().find(|a| a.as_str() == s.trim()).ok_or_else(|| {
            format!(
                "Unknown area {:?}; use {}.",
                s.trim(),
                KeyArea::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// What a permission does to data, for read-only keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Only reads.
    Read,
    /// Only changes.
    Write,
    /// Covers both reading and changing (looking patients up and registering them); a
    /// read-only key holds it for reading, and the web layer refuses its unsafe methods.
    Both,
}

/// The area a permission belongs to, or `None` for what no key may ever do.
pub fn area_of(p: Permission) -> Option<KeyArea> {
    use Permission::*;
    match p {
        ManageOwnAccount | ManageUsers | ManageBackups | ManageIntegrations => None,
        ViewDirectory | SearchSlots | ManageCatalog | ManageAvailability => Some(KeyArea::Directory),
        BookAppointment
        | ViewAppointments
        | ChangeAppointment
        | RunAppointmentWorkflow
        | ManageWaitlist
        | ManageCalendarFeed => Some(KeyArea::Scheduling),
        ManagePatients | ManageMessagePreferences | ExportData => Some(KeyArea::Patients),
        ReadClinicalRecords | WriteClinicalNotes | ManageForms => Some(KeyArea::Clinical),
        ViewInvoices | ManageBilling | ViewBillingReports | ManageBillingSettings | ManageReferrals => {
            Some(KeyArea::Billing)
        }
        ViewMessages | ManageMessages => Some(KeyArea::Messages),
        ViewAuditLog => Some(KeyArea::Audit),
    }
}

/// Whether a permission reads, writes or both.
pub fn effect_of(p: Permission) -> Effect {
    use Permission::*;
    match p {
        ViewDirectory | SearchSlots | ViewAppointments | ReadClinicalRecords | ViewInvoices | ViewBillingReports
        | ViewMessages | ViewAuditLog | ExportData => Effect::Read,
        ManagePatients | ManageWaitlist | ManageMessagePreferences => Effect::Both,
        _ => Effect::Write,
    }
}

/// What an API key may do: a role's grants within some areas, read-only or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyGrant {
    /// The role whose grants the key uses (administrator or staff).
    pub role: Role,
    /// True when the key may change nothing.
    pub read_only: bool,
    areas: u8,
}

impl KeyGrant {
    /// A grant for `role` over `areas`. Keys act for the clinic, never as one person, so
    /// only the administrator and staff roles are possible.
    pub fn new(role: Role, read_only: bool, areas: &[KeyArea]) -> Result<Self, String> {
        if !matches!(role, Role::Admin | Role::Staff) {
            return Err("An API key acts for the clinic: choose the administrator or the staff role.".into());
        }
        if areas.is_empty() {
            return Err("Choose at least one area the key may use.".into());
        }
        Ok(KeyGrant { role, read_only, areas: areas.iter().fold(0, |acc, a| acc | a.bit()) })
    }

    /// The areas, in display order.
    pub fn areas(self) -> Vec<KeyArea> {
        KeyArea::ALL.into_iter().filter(|a| self.areas & a.bit() != 0).collect()
    }

    /// True when the key holds `area`.
    pub fn has_area(self, area: KeyArea) -> bool {
        self.areas & area.bit() != 0
    }

    /// The key's scope for `p`: the role's grant, if `p` is in one of its areas and, for a
    /// read-only key, does not only write.
    pub fn scope(self, p: Permission) -> Option<Scope> {
        let area = area_of(p)?;
        if !self.has_area(area) || (self.read_only && effect_of(p) == Effect::Write) {
            return None;
        }
        grant(self.role, p)
    }

    /// The areas as stored: `directory,scheduling`.
    pub fn areas_text(self) -> String {
        self.areas().iter().map(|a| a.as_str()).collect::<Vec<_>>().join(",")
    }

    /// Parses stored or submitted area names.
    pub fn parse_areas(text: &str) -> Result<Vec<KeyArea>, String> {
        text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(KeyArea::from_str).collect()
    }
}

/// Something that happened that a webhook endpoint can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
pub enum WebhookEvent {
    /// An appointment was booked (confirmed or requested).
    #[serde(rename = "appointment.booked")]
    AppointmentBooked,
    /// An appointment changed: moved, confirmed, checked in, completed, missed.
    #[serde(rename = "appointment.changed")]
    AppointmentChanged,
    /// An appointment was cancelled.
    #[serde(rename = "appointment.cancelled")]
    AppointmentCancelled,
    /// A patient was registered.
    #[serde(rename = "patient.created")]
    PatientCreated,
    /// An invoice was issued.
    #[serde(rename = "invoice.issued")]
    InvoiceIssued,
    /// An invoice was paid in full.
    #[serde(rename = "invoice.paid")]
    InvoicePaid,
}

impl WebhookEvent {
    /// Every event, in display order.
    pub const ALL: [WebhookEvent; 6] = [
        WebhookEvent::AppointmentBooked,
        WebhookEvent::AppointmentChanged,
        WebhookEvent::AppointmentCancelled,
        WebhookEvent::PatientCreated,
        WebhookEvent::InvoiceIssued,
        WebhookEvent::InvoicePaid,
    ];

    /// The stable name (`appointment.booked`), sent in the `Praxis-Event` header.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::AppointmentBooked => "appointment.booked",
            WebhookEvent::AppointmentChanged => "appointment.changed",
            WebhookEvent::AppointmentCancelled => "appointment.cancelled",
            WebhookEvent::PatientCreated => "patient.created",
            WebhookEvent::InvoiceIssued => "invoice.issued",
            WebhookEvent::InvoicePaid => "invoice.paid",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            WebhookEvent::AppointmentBooked => "Appointment booked",
            WebhookEvent::AppointmentChanged => "Appointment changed",
            WebhookEvent::AppointmentCancelled => "Appointment cancelled",
            WebhookEvent::PatientCreated => "Patient registered",
            WebhookEvent::InvoiceIssued => "Invoice issued",
            WebhookEvent::InvoicePaid => "Invoice paid",
        }
    }

    /// Parses a list such as `appointment.booked,invoice.paid`; duplicates collapse.
    pub fn parse_list(text: &str) -> Result<Vec<WebhookEvent>, String> {
        let mut out: Vec<WebhookEvent> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(WebhookEvent::from_str)
            .collect::<Result<_, _>>()?;
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// A list as stored.
    pub fn list_text(events: &[WebhookEvent]) -> String {
        events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(",")
    }
}

impl fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WebhookEvent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WebhookEvent::ALL.into_iter().find(|e| e.as_str() == s.trim()).ok_or_else(|| {
            format!(
                "Unknown event {:?}; use {}.",
                s.trim(),
                WebhookEvent::ALL.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// Checks a webhook endpoint address: an absolute `https://` (or `http://`) URL with a
/// host, no credentials in it, at most 500 characters. Returns it trimmed.
pub fn check_webhook_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("Enter the address that should receive the events.".into());
    }
    if url.len() > 500 {
        return Err("The address is too long (at most 500 characters).".into());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("The address must start with https:// (or http:// inside the clinic's network).")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err("The address has no host name.".into());
    }
    if authority.contains('@') {
        return Err("Do not put a user name or password in the address; Praxis signs every delivery instead.".into());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("The address must not contain spaces.".into());
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_key_never_manages_accounts_backups_or_integrations() {
        for role in [Role::Admin, Role::Staff] {
            let g = KeyGrant::new(role, false, &KeyArea::ALL).unwrap();
            for p in [
                Permission::ManageOwnAccount,
                Permission::ManageUsers,
                Permission::ManageBackups,
                Permission::ManageIntegrations,
            ] {
                assert_eq!(g.scope(p), None, "{role} key must not hold {p:?}");
            }
        }
        assert!(KeyGrant::new(Role::Patient, true, &[KeyArea::Directory]).is_err());
        assert!(KeyGrant::new(Role::Provider, true, &[KeyArea::Directory]).is_err());
        assert!(KeyGrant::new(Role::Admin, true, &[]).is_err());
    }

    #[test]
    fn a_read_only_scheduling_key_reads_appointments_and_books_nothing() {
        let g = KeyGrant::new(Role::Staff, true, &[KeyArea::Scheduling]).unwrap();
        assert_eq!(g.scope(Permission::ViewAppointments), Some(Scope::All));
        assert_eq!(g.scope(Permission::BookAppointment), None);
        assert_eq!(g.scope(Permission::ChangeAppointment), None);
        assert_eq!(g.scope(Permission::ManagePatients), None, "patients is another area");
        let rw = KeyGrant::new(Role::Staff, false, &[KeyArea::Scheduling]).unwrap();
        assert_eq!(rw.scope(Permission::BookAppointment), Some(Scope::All));
        // Staff never read clinical records, whatever the key's areas.
        let staff = KeyGrant::new(Role::Staff, false, &KeyArea::ALL).unwrap();
        assert_eq!(staff.scope(Permission::ReadClinicalRecords), None);
    }

    #[test]
    fn every_permission_has_an_area_or_is_closed_to_keys() {
        for p in Permission::ALL {
            let open = area_of(*p).is_some();
            let closed = matches!(
                p,
                Permission::ManageOwnAccount
                    | Permission::ManageUsers
                    | Permission::ManageBackups
                    | Permission::ManageIntegrations
            );
            assert_ne!(open, closed, "{p:?}");
        }
    }

    #[test]
    fn events_and_areas_round_trip_through_text() {
        for e in WebhookEvent::ALL {
            assert_eq!(e.as_str().parse::<WebhookEvent>().unwrap(), e);
            assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
        }
        assert_eq!(
            WebhookEvent::parse_list("invoice.paid, appointment.booked,invoice.paid").unwrap(),
            vec![WebhookEvent::AppointmentBooked, WebhookEvent::InvoicePaid]
        );
        assert!(WebhookEvent::parse_list("appointment.deleted").is_err());
        assert!(KeyGrant::parse_areas("billing,everything").is_err());
    }

    #[test]
    fn webhook_addresses_are_checked() {
        assert_eq!(check_webhook_url(" https://crm.example.org/hooks ").unwrap(), "https://crm.example.org/hooks");
        assert!(check_webhook_url("http://127.0.0.1:9000/in").is_ok());
        for bad in ["", "ftp://x.org", "https://", "https://user:pw@x.org/", "https://x.org/a b", "crm.example.org"] {
            assert!(check_webhook_url(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        /// A key never reaches further than its role, its areas and its access allow.
        #[test]
        fn a_key_is_never_wider_than_its_role(admin in any::<bool>(), read_only in any::<bool>(), mask in 1u8..128) {
            let role = if admin { Role::Admin } else { Role::Staff };
            let areas: Vec<KeyArea> = KeyArea::ALL.into_iter().filter(|a| mask & a.bit() != 0).collect();
            let g = KeyGrant::new(role, read_only, &areas).unwrap();
            prop_assert_eq!(KeyGrant::parse_areas(&g.areas_text()).unwrap(), areas.clone());
            for p in Permission::ALL {
                if let Some(s) = g.scope(*p) {
                    prop_assert!(grant(role, *p).is_some_and(|r| s <= r));
                    prop_assert!(area_of(*p).is_some_and(|a| areas.contains(&a)));
                    prop_assert!(!(read_only && effect_of(*p) == Effect::Write));
                }
            }
        }

        /// Arbitrary text never panics the address check, and what passes starts with a scheme.
        #[test]
        fn address_check_never_panics(s in ".{0,80}") {
            if let Ok(u) = check_webhook_url(&s) {
                prop_assert!(u.starts_with("https://") || u.starts_with("http://"));
            }
        }
    }
}
