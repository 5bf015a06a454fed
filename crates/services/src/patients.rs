//! Patient records: the core demographics scheduling needs. (Full registration, search
//! and clinical records build on this.)

use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use crate::users::{Page, PageRequest};
use jiff::civil::Date;
use praxis_domain::permissions::Scope;
use praxis_domain::{Email, PatientId, Permission, Phone, UserId, Validation};
use praxis_store::patients::{self, PatientRow};
use praxis_store::{DbDate, DbTime, Tx};
use serde::{Deserialize, Serialize};

/// A patient as scheduling shows them.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Patient {
    /// Id.
    pub id: PatientId,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Date of birth.
    #[schema(value_type = Option<String>, format = Date)]
    pub date_of_birth: Option<Date>,
    /// Their portal account, if any.
    pub user_id: Option<UserId>,
    /// Not archived.
    pub active: bool,
}

impl Patient {
    pub(crate) fn from_row(r: PatientRow) -> Self {
        Patient {
            id: PatientId(r.id),
            given_name: r.given_name,
            family_name: r.family_name,
            email: r.email,
            phone: r.phone,
            date_of_birth: r.date_of_birth.map(|d| d.0),
            user_id: r.user_id.map(UserId),
            active: r.active,
        }
    }

    /// "Given Family".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// A patient to register.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct NewPatient {
    /// Given name.
    #[serde(default)]
    pub given_name: String,
    /// Family name.
    #[serde(default)]
    pub family_name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Date of birth.
    #[schema(value_type = Option<String>, format = Date)]
    pub date_of_birth: Option<Date>,
}

/// Splits a full name into (given, family): the last word is the family name.
pub fn split_name(full: &str) -> (String, String) {
    let full = full.trim();
    match full.rsplit_once(char::is_whitespace) {
        Some((given, family)) => (given.trim().to_string(), family.to_string()),
        None => (full.to_string(), String::new()),
    }
}

impl Services {
    /// Inserts a patient row inside `tx` (registration, and the record of a new portal account).
    pub(crate) async fn insert_patient(
        &self,
        tx: &mut Tx,
        input: &NewPatient,
        user: Option<UserId>,
    ) -> ServiceResult<Patient> {
        let mut v = Validation::new();
        let given = v.required("given_name", &input.given_name, 100);
        let family = input.family_name.trim().to_string();
        if family.chars().count() > 100 {
            v.add("family_name", "too_long", "Use at most 100 characters.");
        }
        let email = match input.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => v.check("email", Email::parse(e)).map(|e| e.as_str().to_string()),
            None => None,
        };
        let phone = match input.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => v.check("phone", Phone::parse(p)).map(|p| p.as_str().to_string()),
            None => None,
        };
        let now = self.now();
        if let Some(dob) = input.date_of_birth {
            let today = now.to_zoned(self.settings().display_zone.clone()).date();
            if dob > today {
                v.add("date_of_birth", "future", "A date of birth cannot be in the future.");
            } else if dob.year() < 1880 {
                v.add("date_of_birth", "invalid", "Check the year of birth.");
            }
        }
        v.finish()?;
        let row = PatientRow {
            id: PatientId::new().0,
            user_id: user.map(|u| u.0),
            given_name: given.unwrap_or_default(),
            family_name: family,
            email,
            phone,
            date_of_birth: input.date_of_birth.map(DbDate),
            active: true,
            created_at: DbTime(now),
            updated_at: DbTime(now),
        };
        patients::insert(tx, &row).await?;
        Ok(Patient::from_row(row))
    }

    /// Registers a patient (staff, providers, administrators).
    pub async fn create_patient(&self, actor: &Actor, input: NewPatient) -> ServiceResult<Patient> {
        if actor.require(Permission::ManagePatients)? != Scope::All {
            return Err(ServiceError::Forbidden);
        }
        let mut tx = self.db().begin().await?;
        let p = self.insert_patient(&mut tx, &input, None).await?;
        tx.audit(self.audit_entry(actor, "patient.create", "patient", Some(p.id.to_string()), "registered a patient"));
        tx.commit().await?;
        Ok(p)
    }

    /// One patient: anyone with the permission for all, or the patient themself.
    pub async fn get_patient(&self, actor: &Actor, id: PatientId) -> ServiceResult<Patient> {
        let scope = actor.require(Permission::ManagePatients)?;
        let row = patients::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Patient" })?;
        if scope == Scope::Own && row.user_id != actor.user_id.map(|u| u.0) {
            return Err(ServiceError::NotFound { what: "Patient" });
        }
        Ok(Patient::from_row(row))
    }

    /// Patients matching part of a name, email or phone (staff, providers, administrators).
    pub async fn search_patients(
        &self,
        actor: &Actor,
        text: Option<&str>,
        page: PageRequest,
    ) -> ServiceResult<Page<Patient>> {
        if actor.require(Permission::ManagePatients)? != Scope::All {
            return Err(ServiceError::Forbidden);
        }
        let (rows, total) = patients::search(self.db(), text, page.per_page, page.offset()).await?;
        Ok(Page {
            items: rows.into_iter().map(Patient::from_row).collect(),
            total,
            page: page.page,
            per_page: page.per_page,
        })
    }

    /// The patient record of the acting user, if they have one.
    pub async fn my_patient(&self, actor: &Actor) -> ServiceResult<Option<Patient>> {
        let Some(user) = actor.user_id else { return Ok(None) };
        Ok(patients::of_user(self.db(), user).await?.map(Patient::from_row))
    }
}

#[cfg(test)]
mod tests {
    use super::split_name;

    #[test]
    fn names_split_on_the_last_word() {
        assert_eq!(split_name("Sam Patient"), ("Sam".into(), "Patient".into()));
        assert_eq!(split_name("Mary Jane  van Dyke"), ("Mary Jane  van".into(), "Dyke".into()));
        assert_eq!(split_name("Cher"), ("Cher".into(), "".into()));
    }
}

/// A patient registering themselves in the portal.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct Registration {
    /// Given name.
    #[serde(default)]
    pub given_name: String,
    /// Family name.
    #[serde(default)]
    pub family_name: String,
    /// Email (becomes the login).
    #[serde(default)]
    pub email: String,
    /// Phone.
    pub phone: Option<String>,
    /// Date of birth.
    #[schema(value_type = Option<String>, format = Date)]
    pub date_of_birth: Option<Date>,
    /// Password (10–128 characters).
    #[serde(default)]
    pub password: String,
    /// The password again.
    #[serde(default)]
    pub confirm_password: String,
}

impl Services {
    /// Self-registration: creates a portal account with the patient role and the patient's
    /// record in one transaction. A taken email answers 409.
    #[tracing::instrument(skip_all)]
    pub async fn register_patient(&self, ctx: &crate::RequestContext, input: Registration) -> ServiceResult<Patient> {
        let mut v = Validation::new();
        let email = v.check("email", Email::parse(&input.email));
        let password = v.check("password", praxis_domain::values::NewPassword::parse(&input.password));
        if password.is_some() && input.password != input.confirm_password {
            v.add("confirm_password", "mismatch", "The two passwords are not the same.");
        }
        if input.given_name.trim().is_empty() {
            v.add("given_name", "required", "Enter your given name.");
        }
        if input.family_name.trim().is_empty() {
            v.add("family_name", "required", "Enter your family name.");
        }
        v.finish()?;
        let (Some(email), Some(password)) = (email, password) else {
            return Err(ServiceError::Internal("validated registration without values".into()));
        };
        let taken = || ServiceError::Conflict {
            code: "email_taken",
            message:
                "An account with this email already exists. Log in instead, or ask the clinic to reset your password."
                    .into(),
            fields: vec![praxis_domain::FieldError {
                field: "email".into(),
                code: "taken".into(),
                message: "An account with this email already exists.".into(),
            }],
        };
        if praxis_store::users::by_email(self.db(), email.as_str()).await?.is_some() {
            return Err(taken());
        }
        let hash = self.passwords().hash(password.expose()).await?;
        let now = self.now();
        let full_name = format!("{} {}", input.given_name.trim(), input.family_name.trim());
        let user = praxis_store::users::UserRow {
            id: UserId::new().0,
            email: email.as_str().to_string(),
            full_name: full_name.chars().take(200).collect(),
            phone: None,
            roles: praxis_domain::Role::Patient.as_str().into(),
            password_hash: hash,
            active: true,
            created_at: DbTime(now),
            updated_at: DbTime(now),
            password_changed_at: DbTime(now),
            last_login_at: None,
        };
        let mut tx = self.db().begin().await?;
        match praxis_store::users::insert(&mut tx, &user).await {
            Err(e) if e.is_unique("email") => return Err(taken()),
            other => other?,
        }
        let record = NewPatient {
            given_name: input.given_name,
            family_name: input.family_name,
            email: Some(email.as_str().to_string()),
            phone: input.phone,
            date_of_birth: input.date_of_birth,
        };
        let patient = self.insert_patient(&mut tx, &record, Some(UserId(user.id))).await?;
        let actor = Actor { user_id: Some(UserId(user.id)), ..Actor::anonymous(email.as_str(), ctx.clone()) };
        tx.audit(self.audit_entry(
            &actor,
            "patient.register",
            "patient",
            Some(patient.id.to_string()),
            "registered in the portal",
        ));
        tx.commit().await?;
        Ok(patient)
    }
}
