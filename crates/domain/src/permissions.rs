//! Who may do what: the Role → Permission matrix.
//!
//! Every service call asks [`Roles::scope`] before touching data; the web layer never
//! decides access by itself. A grant is either [`Scope::All`] (any record) or
//! [`Scope::Own`] (only records that belong to the acting user: a patient's own
//! appointments, a provider's own schedule). What "own" means for a record is decided in
//! the services layer, which has the data.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A role a user can hold. A user may hold several (a practice owner is often `admin`
/// and `provider`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Practice owner or IT: settings, users, audit log, backups — everything.
    Admin,
    /// Reception and billing: scheduling, registration, billing; never clinical notes.
    Staff,
    /// Doctor, psychologist, therapist, nurse: their own schedule and their patients.
    Provider,
    /// A patient (or a guardian acting for one) using the portal.
    Patient,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Staff, Role::Provider, Role::Patient];

    /// The stable lower-case name used in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Provider => "provider",
            Role::Patient => "patient",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Staff => "Staff",
            Role::Provider => "Provider",
            Role::Patient => "Patient",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "staff" => Ok(Role::Staff),
            "provider" => Ok(Role::Provider),
            "patient" => Ok(Role::Patient),
            other => Err(format!("Unknown role {other:?}; use admin, staff, provider or patient.")),
        }
    }
}

/// A non-empty set of roles, stored as a comma-separated list (`admin,provider`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Roles(u8);

impl Roles {
    fn bit(r: Role) -> u8 {
        1 << (r as u8)
    }

    /// A set holding exactly `roles`.
    pub fn of(roles: &[Role]) -> Self {
        Self(roles.iter().fold(0, |acc, r| acc | Self::bit(*r)))
    }

    /// True when the set holds `r`.
    pub fn has(self, r: Role) -> bool {
        self.0 & Self::bit(r) != 0
    }

    /// True for the empty set (which a user must never have).
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The roles in display order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.has(*r))
    }

    /// True when the user is only a patient (the portal experience).
    pub fn is_patient_only(self) -> bool {
        self == Roles::of(&[Role::Patient])
    }

    /// The widest grant any of the roles has for `p`, or `None` when none may.
    pub fn scope(self, p: Permission) -> Option<Scope> {
        self.iter().filter_map(|r| grant(r, p)).max()
    }

    /// Parses `admin,provider`; rejects unknown names and the empty set.
    pub fn parse(s: &str) -> Result<Self, String> {
        let list: Result<Vec<Role>, String> =
            s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(Role::from_str).collect();
        let roles = Roles::of(&list?);
        if roles.is_empty() { Err("Give at least one role.".into()) } else { Ok(roles) }
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Role::as_str).collect();
        f.write_str(&names.join(","))
    }
}

impl Serialize for Roles {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Roles {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<Role>::deserialize(d)?;
        Ok(Roles::of(&v))
    }
}

/// How far a grant reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Only records that belong to the acting user.
    Own,
    /// Any record.
    All,
}

/// Something a user may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See one's own account and change one's own password.
    ManageOwnAccount,
    /// Create, edit, deactivate users and reset their passwords.
    ManageUsers,
    /// Page and filter the audit log.
    ViewAuditLog,
    /// See clinics, specialties, providers and services (the public directory).
    ViewDirectory,
    /// Create and edit clinics, specialties, providers and services.
    ManageCatalog,
    /// Edit weekly availability, exceptions and closures (own: a provider's own).
    ManageAvailability,
    /// Search free slots.
    SearchSlots,
    /// Book appointments (own: for oneself as a patient).
    BookAppointment,
    /// See appointments (own: a patient's own, a provider's own schedule).
    ViewAppointments,
    /// Cancel, reschedule or confirm a hold (own: one's own appointments).
    ChangeAppointment,
    /// Check in, start, complete, mark no-show, confirm requests (own: a provider's own).
    RunAppointmentWorkflow,
    /// Join and manage the waiting list (own: a patient's own entries).
    ManageWaitlist,
    /// Register patients and look up their contact details (own: one's own record).
    ManagePatients,
    /// Issue the secret calendar-feed address of a provider (own: one's own).
    ManageCalendarFeed,
    /// Read clinical notes, assessments, intake answers and clinical documents (own: a
    /// provider's own patients — those they see or are assigned to).
    ReadClinicalRecords,
    /// Write and sign clinical notes and assessments (own: a provider's own patients).
    WriteClinicalNotes,
    /// Export data in bulk (patient lists as CSV).
    ExportData,
    /// See the messages sent to patients and staff (email, SMS) with their status.
    ViewMessages,
    /// Send a failed message again or cancel a waiting one.
    ManageMessages,
    /// Choose email/SMS and quiet hours for a patient (own: one's own).
    ManageMessagePreferences,
    /// Build and publish intake questionnaires.
    ManageForms,
    /// See invoices, payments and receipts (own: a patient's own invoices; a provider's
    /// invoices for their own appointments).
    ViewInvoices,
    /// Draft, issue and void invoices; take payments and give refunds; manage claims.
    ManageBilling,
    /// Read the money reports (own: a provider's own revenue).
    ViewBillingReports,
    /// Set a clinic's billing details: tax number, payment terms, UPI, invoice prefix.
    ManageBillingSettings,
    /// Record and change referrals and funded plans.
    ManageReferrals,
    /// Back up, verify, download and schedule backups; see operational alerts and the
    /// system's health.
    ManageBackups,
    /// Create and revoke API keys and register webhook endpoints (never open to a key).
    ManageIntegrations,
}

impl Permission {
    /// Every permission, for exhaustive tests and the documentation table.
    pub const ALL: &'static [Permission] = &[
        Permission::ManageOwnAccount,
        Permission::ManageUsers,
        Permission::ViewAuditLog,
        Permission::ViewDirectory,
        Permission::ManageCatalog,
        Permission::ManageAvailability,
        Permission::SearchSlots,
        Permission::BookAppointment,
        Permission::ViewAppointments,
        Permission::ChangeAppointment,
        Permission::RunAppointmentWorkflow,
        Permission::ManageWaitlist,
        Permission::ManagePatients,
        Permission::ManageCalendarFeed,
        Permission::ReadClinicalRecords,
        Permission::WriteClinicalNotes,
        Permission::ExportData,
        Permission::ViewMessages,
        Permission::ManageMessages,
        Permission::ManageMessagePreferences,
        Permission::ManageForms,
        Permission::ViewInvoices,
        Permission::ManageBilling,
        Permission::ViewBillingReports,
        Permission::ManageBillingSettings,
        Permission::ManageReferrals,
        Permission::ManageBackups,
        Permission::ManageIntegrations,
    ];
}

/// The matrix itself: what one role may do.
pub fn grant(role: Role, p: Permission) -> Option<Scope> {
    use Permission::*;
    use Role::*;
    use Scope::*;
    match (p, role) {
        (ManageOwnAccount, _) => Some(Own),
        (ViewDirectory | SearchSlots, _) => Some(All),
        (ManageUsers | ViewAuditLog | ManageCatalog, Admin) => Some(All),
        (ManageUsers | ViewAuditLog | ManageCatalog, _) => None,
        (ManageAvailability, Admin | Staff) => Some(All),
        (ManageAvailability, Provider) => Some(Own),
        (ManageAvailability, Patient) => None,
        (BookAppointment | ManageWaitlist | ManagePatients, Admin | Staff | Provider) => Some(All),
        (BookAppointment | ManageWaitlist | ManagePatients, Patient) => Some(Own),
        (ViewAppointments | ChangeAppointment, Admin | Staff) => Some(All),
        (ViewAppointments | ChangeAppointment, Provider | Patient) => Some(Own),
        (RunAppointmentWorkflow, Admin | Staff) => Some(All),
        (RunAppointmentWorkflow, Provider) => Some(Own),
        (RunAppointmentWorkflow, Patient) => None,
        (ManageCalendarFeed, Admin) => Some(All),
        (ManageCalendarFeed, Provider) => Some(Own),
        (ManageCalendarFeed, Staff | Patient) => None,
        (ViewMessages | ManageMessages, Admin | Staff) => Some(All),
        (ViewMessages | ManageMessages, Provider | Patient) => None,
        (ManageMessagePreferences, Admin | Staff | Provider) => Some(All),
        (ManageMessagePreferences, Patient) => Some(Own),
        (ReadClinicalRecords, Admin) => Some(All),
        (ReadClinicalRecords | WriteClinicalNotes, Provider) => Some(Own),
        (ReadClinicalRecords, Staff | Patient) => None,
        (WriteClinicalNotes, Admin | Staff | Patient) => None,
        (ExportData, Admin) => Some(All),
        (ExportData, _) => None,
        (ManageForms, Admin) => Some(All),
        (ManageForms, _) => None,
        (ViewInvoices | ViewBillingReports, Admin | Staff) => Some(All),
        (ViewInvoices | ViewBillingReports, Provider) => Some(Own),
        (ViewInvoices, Patient) => Some(Own),
        (ViewBillingReports, Patient) => None,
        (ManageBilling, Admin | Staff) => Some(All),
        (ManageBilling, Provider | Patient) => None,
        (ManageBillingSettings, Admin) => Some(All),
        (ManageBillingSettings, _) => None,
        (ManageReferrals, Admin | Staff | Provider) => Some(All),
        (ManageReferrals, Patient) => None,
        (ManageBackups, Admin) => Some(All),
        (ManageBackups, _) => None,
        (ManageIntegrations, Admin) => Some(All),
        (ManageIntegrations, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_text() {
        let r = Roles::parse("provider, admin").unwrap();
        assert_eq!(r.to_string(), "admin,provider");
        assert_eq!(Roles::parse(&r.to_string()).unwrap(), r);
        assert!(Roles::parse("").is_err());
        assert!(Roles::parse("admin,doctor").is_err());
    }

    #[test]
    fn only_admins_manage_users_and_read_the_audit_log() {
        for role in Role::ALL {
            let admin = role == Role::Admin;
            assert_eq!(Roles::of(&[role]).scope(Permission::ManageUsers).is_some(), admin);
            assert_eq!(Roles::of(&[role]).scope(Permission::ViewAuditLog).is_some(), admin);
            assert_eq!(Roles::of(&[role]).scope(Permission::ManageOwnAccount), Some(Scope::Own));
        }
    }

    #[test]
    fn patients_only_ever_act_on_their_own_records() {
        let patient = Roles::of(&[Role::Patient]);
        for p in Permission::ALL {
            match patient.scope(*p) {
                None | Some(Scope::Own) => {}
                Some(Scope::All) => assert!(
                    matches!(p, Permission::ViewDirectory | Permission::SearchSlots),
                    "patients must not hold {p:?} for all records"
                ),
            }
        }
        assert_eq!(patient.scope(Permission::RunAppointmentWorkflow), None);
        assert_eq!(Roles::of(&[Role::Provider]).scope(Permission::RunAppointmentWorkflow), Some(Scope::Own));
        assert_eq!(Roles::of(&[Role::Staff]).scope(Permission::ManageCatalog), None);
        // Staff never read clinical notes; providers only their own patients'.
        assert_eq!(Roles::of(&[Role::Staff]).scope(Permission::ReadClinicalRecords), None);
        assert_eq!(Roles::of(&[Role::Provider]).scope(Permission::ReadClinicalRecords), Some(Scope::Own));
        assert_eq!(Roles::of(&[Role::Admin]).scope(Permission::WriteClinicalNotes), None);
    }

    #[test]
    fn money_is_managed_by_billing_staff_and_administrators_only() {
        for role in Role::ALL {
            let r = Roles::of(&[role]);
            let money = matches!(role, Role::Admin | Role::Staff);
            assert_eq!(r.scope(Permission::ManageBilling).is_some(), money, "{role}");
            // Providers see only their own revenue; patients only their own invoices.
            match role {
                Role::Provider => assert_eq!(r.scope(Permission::ViewBillingReports), Some(Scope::Own)),
                Role::Patient => {
                    assert_eq!(r.scope(Permission::ViewInvoices), Some(Scope::Own));
                    assert_eq!(r.scope(Permission::ViewBillingReports), None);
                }
                _ => assert_eq!(r.scope(Permission::ViewBillingReports), Some(Scope::All)),
            }
        }
        assert_eq!(Roles::of(&[Role::Staff]).scope(Permission::ManageBillingSettings), None);
    }

    #[test]
    fn the_widest_grant_wins() {
        let both = Roles::of(&[Role::Patient, Role::Admin]);
        assert_eq!(both.scope(Permission::ManageUsers), Some(Scope::All));
        assert_eq!(Roles::default().scope(Permission::ManageOwnAccount), None);
    }
}
