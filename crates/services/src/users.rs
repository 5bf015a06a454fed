//! Account administration: create, edit, deactivate, reset passwords.

use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use crate::passwords::generate_password;
use jiff::Timestamp;
use praxis_domain::values::NewPassword;
use praxis_domain::{Email, FieldError, Permission, Phone, Role, Roles, UserId, Validation};
pub use praxis_store::users::UserFilter;
use praxis_store::users::{self, UserRow};
use praxis_store::{DbTime, sessions};
use serde::{Deserialize, Serialize};

/// An account as shown to administrators and to its owner. Never includes the hash.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Email (lower-case).
    pub email: String,
    /// Full name.
    pub full_name: String,
    /// Phone number, normalised.
    pub phone: Option<String>,
    /// Roles held.
    #[schema(value_type = Vec<Role>)]
    pub roles: Roles,
    /// Whether the account may log in.
    pub active: bool,
    /// When the account was created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Last successful login.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<Timestamp>,
}

impl User {
    pub(crate) fn from_row(r: UserRow) -> ServiceResult<User> {
        let roles = Roles::parse(&r.roles).map_err(|e| ServiceError::Internal(format!("roles of {}: {e}", r.id)))?;
        Ok(User {
            id: UserId(r.id),
            email: r.email,
            full_name: r.full_name,
            phone: r.phone,
            roles,
            active: r.active,
            created_at: r.created_at.0,
            last_login_at: r.last_login_at.map(|t| t.0),
        })
    }
}

/// Input for a new account.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    /// Email address (becomes the login; unique, case-insensitive).
    #[serde(default)]
    pub email: String,
    /// Full name.
    #[serde(default)]
    pub full_name: String,
    /// Phone number (optional).
    #[serde(default)]
    pub phone: Option<String>,
    /// Roles: any of admin, staff, provider, patient.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Initial password; when omitted a temporary one is generated and returned once.
    #[serde(default)]
    pub password: Option<String>,
}

/// Changes to an account. Omitted fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct UserChanges {
    /// New full name.
    pub full_name: Option<String>,
    /// New phone (empty text clears it).
    pub phone: Option<String>,
    /// New set of roles.
    pub roles: Option<Vec<String>>,
}

/// A created account and, when Praxis chose it, the temporary password (shown once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    /// The account.
    pub user: User,
    /// The generated temporary password, if one was generated.
    pub temporary_password: Option<String>,
}

/// One page of a list, with the total for "1–50 of 1,204".
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// How many match in all.
    pub total: i64,
    /// Page number, from 1.
    pub page: i64,
    /// Items per page.
    pub per_page: i64,
}

/// Page number and size, clamped to sane bounds.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    /// From 1.
    pub page: i64,
    /// 1 to 200.
    pub per_page: i64,
}

impl PageRequest {
    /// Clamps page ≥ 1 and per_page to 1..=200 (default 50).
    pub fn new(page: Option<i64>, per_page: Option<i64>) -> Self {
        Self { page: page.unwrap_or(1).clamp(1, 1_000_000), per_page: per_page.unwrap_or(50).clamp(1, 200) }
    }
    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }
}

fn parse_roles(v: &mut Validation, roles: &[String]) -> Option<Roles> {
    let mut parsed = Vec::new();
    for r in roles {
        match r.parse::<Role>() {
            Ok(role) => parsed.push(role),
            Err(e) => {
                v.add("roles", "invalid", e);
                return None;
            }
        }
    }
    let set = Roles::of(&parsed);
    if set.is_empty() {
        v.add("roles", "required", "Give the account at least one role.");
        return None;
    }
    Some(set)
}

fn parse_phone(v: &mut Validation, phone: Option<&str>) -> Option<Option<String>> {
    match phone.map(str::trim).filter(|p| !p.is_empty()) {
        None => Some(None),
        Some(p) => v.check("phone", Phone::parse(p)).map(|p| Some(p.as_str().to_string())),
    }
}

fn email_taken() -> ServiceError {
    ServiceError::Conflict {
        code: "email_taken",
        message: "An account with this email already exists.".into(),
        fields: vec![FieldError {
            field: "email".into(),
            code: "taken".into(),
            message: "An account with this email already exists.".into(),
        }],
    }
}

impl Services {
    /// Creates an account (admins only). A taken email answers 409.
    #[tracing::instrument(skip_all)]
    pub async fn create_user(&self, actor: &Actor, input: NewUser) -> ServiceResult<CreatedUser> {
        actor.require(Permission::ManageUsers)?;
        let mut v = Validation::new();
        let email = v.check("email", Email::parse(&input.email));
        let full_name = v.required("full_name", &input.full_name, 200);
        let phone = parse_phone(&mut v, input.phone.as_deref());
        let roles = parse_roles(&mut v, &input.roles);
        let password = match input.password.as_deref() {
            Some(p) => v.check("password", NewPassword::parse(p)).map(|p| (p.expose().to_string(), false)),
            None => Some((generate_password(), true)),
        };
        v.finish()?;
        let (Some(email), Some(full_name), Some(phone), Some(roles), Some((password, generated))) =
            (email, full_name, phone, roles, password)
        else {
            return Err(ServiceError::Internal("validation passed without values".into()));
        };
        if users::by_email(self.db(), email.as_str()).await?.is_some() {
            return Err(email_taken());
        }
        let hash = self.passwords().hash(&password).await?;
        let now = self.now();
        let row = UserRow {
            id: UserId::new().0,
            email: email.as_str().to_string(),
            full_name,
            phone,
            roles: roles.to_string(),
            password_hash: hash,
            active: true,
            created_at: DbTime(now),
            updated_at: DbTime(now),
            password_changed_at: DbTime(now),
            last_login_at: None,
        };
        let mut tx = self.db().begin().await?;
        match users::insert(&mut tx, &row).await {
            Err(e) if e.is_unique("email") => return Err(email_taken()),
            other => other?,
        }
        if roles.has(Role::Patient) {
            let (given_name, family_name) = crate::patients::split_name(&row.full_name);
            let record = crate::patients::NewPatient {
                given_name,
                family_name,
                email: Some(row.email.clone()),
                phone: row.phone.clone(),
                confirm_duplicate: true,
                ..crate::patients::NewPatient::default()
            };
            self.insert_patient(&mut tx, &record, Some(UserId(row.id))).await?;
        }
        tx.audit(self.audit_entry(
            actor,
            "user.create",
            "user",
            Some(row.id.to_string()),
            format!("created {} with roles {}", row.email, row.roles),
        ));
        tx.commit().await?;
        Ok(CreatedUser { user: User::from_row(row)?, temporary_password: generated.then_some(password) })
    }

    /// Lists accounts (admins only), filtered and paged.
    pub async fn list_users(&self, actor: &Actor, filter: &UserFilter, page: PageRequest) -> ServiceResult<Page<User>> {
        actor.require(Permission::ManageUsers)?;
        let (rows, total) = users::list(self.db(), filter, page.per_page, page.offset()).await?;
        let items = rows.into_iter().map(User::from_row).collect::<ServiceResult<Vec<_>>>()?;
        Ok(Page { items, total, page: page.page, per_page: page.per_page })
    }

    /// One account (admins only).
    pub async fn get_user(&self, actor: &Actor, id: UserId) -> ServiceResult<User> {
        actor.require(Permission::ManageUsers)?;
        let row = users::by_id(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "User" })?;
        User::from_row(row)
    }

    /// Edits name, phone and roles (admins only). The last active administrator cannot
    /// lose the admin role.
    #[tracing::instrument(skip_all)]
    pub async fn update_user(&self, actor: &Actor, id: UserId, changes: UserChanges) -> ServiceResult<User> {
        actor.require(Permission::ManageUsers)?;
        let mut v = Validation::new();
        let full_name = changes.full_name.as_deref().map(|n| v.required("full_name", n, 200));
        let phone = changes.phone.as_deref().map(|p| parse_phone(&mut v, Some(p)));
        let roles = changes.roles.as_deref().map(|r| parse_roles(&mut v, r));
        v.finish()?;
        let mut tx = self.db().begin().await?;
        let current = users::by_id_tx(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "User" })?;
        let current = User::from_row(current)?;
        let new_name = full_name.flatten().unwrap_or_else(|| current.full_name.clone());
        let new_phone = match phone {
            Some(p) => p.flatten(),
            None => current.phone.clone(),
        };
        let new_roles = roles.flatten().unwrap_or(current.roles);
        if current.roles.has(Role::Admin) && !new_roles.has(Role::Admin) && current.active {
            self.ensure_other_admin(&mut tx, id).await?;
        }
        let now = self.now();
        users::update_profile(&mut tx, id, &new_name, new_phone.as_deref(), &new_roles.to_string(), now).await?;
        let mut changed = Vec::new();
        if new_name != current.full_name {
            changed.push("name".to_string());
        }
        if new_phone != current.phone {
            changed.push("phone".to_string());
        }
        if new_roles != current.roles {
            changed.push(format!("roles {} → {}", current.roles, new_roles));
        }
        tx.audit(self.audit_entry(
            actor,
            "user.update",
            "user",
            Some(id.to_string()),
            if changed.is_empty() { "no changes".into() } else { format!("changed {}", changed.join(", ")) },
        ));
        tx.commit().await?;
        Ok(User { full_name: new_name, phone: new_phone, roles: new_roles, ..current })
    }

    async fn ensure_other_admin(&self, tx: &mut praxis_store::Tx, except: UserId) -> ServiceResult<()> {
        if users::count_active_admins_except(tx, except).await? == 0 {
            return Err(ServiceError::conflict(
                "last_admin",
                "This is the last active administrator. Make another account an administrator first.",
            ));
        }
        Ok(())
    }

    /// Activates or deactivates an account (admins only). Deactivation ends all of its
    /// sessions at once; the last active administrator cannot be deactivated.
    #[tracing::instrument(skip_all)]
    pub async fn set_user_active(&self, actor: &Actor, id: UserId, active: bool) -> ServiceResult<User> {
        actor.require(Permission::ManageUsers)?;
        let mut tx = self.db().begin().await?;
        let current = users::by_id_tx(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "User" })?;
        let current = User::from_row(current)?;
        if current.active == active {
            return Ok(current);
        }
        if !active && current.roles.has(Role::Admin) {
            self.ensure_other_admin(&mut tx, id).await?;
        }
        let now = self.now();
        users::set_active(&mut tx, id, active, now).await?;
        let summary = if active {
            "account activated".to_string()
        } else {
            let ended = sessions::revoke_all_for_user(&mut tx, id, now, None).await?;
            format!("account deactivated; {ended} session(s) ended")
        };
        let action = if active { "user.activate" } else { "user.deactivate" };
        tx.audit(self.audit_entry(actor, action, "user", Some(id.to_string()), summary));
        tx.commit().await?;
        Ok(User { active, ..current })
    }

    /// Sets a new password for someone else (admins only) and ends their sessions.
    /// Without `new_password`, generates a temporary one and returns it (shown once).
    #[tracing::instrument(skip_all)]
    pub async fn reset_password(
        &self,
        actor: &Actor,
        id: UserId,
        new_password: Option<&str>,
    ) -> ServiceResult<Option<String>> {
        actor.require(Permission::ManageUsers)?;
        let (password, generated) = match new_password {
            Some(p) => {
                let mut v = Validation::new();
                v.check("new_password", NewPassword::parse(p));
                v.finish()?;
                (p.to_string(), false)
            }
            None => (generate_password(), true),
        };
        if users::by_id(self.db(), id).await?.is_none() {
            return Err(ServiceError::NotFound { what: "User" });
        }
        let hash = self.passwords().hash(&password).await?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        if !users::set_password(&mut tx, id, &hash, now).await? {
            return Err(ServiceError::NotFound { what: "User" });
        }
        let ended = sessions::revoke_all_for_user(&mut tx, id, now, None).await?;
        tx.audit(self.audit_entry(
            actor,
            "user.password_reset",
            "user",
            Some(id.to_string()),
            format!("password reset by an administrator; {ended} session(s) ended"),
        ));
        tx.commit().await?;
        Ok(generated.then_some(password))
    }

    /// Finds an account by email (command line).
    pub async fn find_user_by_email(&self, actor: &Actor, email: &str) -> ServiceResult<User> {
        actor.require(Permission::ManageUsers)?;
        let email = Email::parse(email).map_err(|e| ServiceError::invalid("email", "invalid", e.to_string()))?;
        let row = users::by_email(self.db(), email.as_str()).await?.ok_or(ServiceError::NotFound { what: "User" })?;
        User::from_row(row)
    }
}
