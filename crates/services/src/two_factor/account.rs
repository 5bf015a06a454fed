//! A person's own two-factor login: set it up with an authenticator app, make new
//! recovery codes, turn it off (unless their role requires it).

use super::{Enrolment, RecoveryCodes, SecondFactorStatus};
use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use crate::users::User;
use praxis_domain::Permission;
use praxis_store::two_factor as store;

impl Services {
    /// Whether the actor's own account uses a second factor.
    pub async fn my_second_factor(&self, actor: &Actor) -> ServiceResult<SecondFactorStatus> {
        actor.require(Permission::ManageOwnAccount)?;
        self.status_of(actor.user()?, actor.roles).await
    }

    /// Starts (or shows again) setting up an authenticator app for the actor's own
    /// account; nothing changes at login until a code confirms it.
    pub async fn start_my_second_factor(&self, actor: &Actor) -> ServiceResult<Enrolment> {
        actor.require(Permission::ManageOwnAccount)?;
        self.enrolment_for(actor.user()?, &actor.label).await
    }

    /// Confirms the set-up with a first code from the app: from now on login asks for
    /// a code. Returns ten recovery codes to show once (audited).
    pub async fn confirm_my_second_factor(&self, actor: &Actor, code: &str) -> ServiceResult<RecoveryCodes> {
        actor.require(Permission::ManageOwnAccount)?;
        let me = actor.user()?;
        if store::of_user(self.db(), me).await?.is_none() {
            return Err(ServiceError::conflict(
                "no_enrolment",
                "Start setting up two-factor login first: open the set-up page and scan the QR code.",
            ));
        }
        let (mut tx, _) = self.check_code(&actor.ctx, &self.me(actor).await?, code, true).await?;
        let codes = self.issue_recovery_codes(&mut tx, me).await?;
        tx.audit(self.audit_entry(
            actor,
            "user.second_factor_enrolled",
            "user",
            Some(me.to_string()),
            "two-factor login set up by its owner; 10 recovery codes issued",
        ));
        tx.commit().await?;
        Ok(codes)
    }

    /// Replaces the actor's recovery codes (the old ones stop working); needs a current
    /// code from the app, or an unused recovery code.
    pub async fn renew_my_recovery_codes(&self, actor: &Actor, code: &str) -> ServiceResult<RecoveryCodes> {
        actor.require(Permission::ManageOwnAccount)?;
        let me = actor.user()?;
        let (mut tx, _) = self.check_code(&actor.ctx, &self.me(actor).await?, code, false).await?;
        let codes = self.issue_recovery_codes(&mut tx, me).await?;
        tx.audit(self.audit_entry(
            actor,
            "user.recovery_codes_renewed",
            "user",
            Some(me.to_string()),
            "10 new recovery codes issued; the old ones no longer work",
        ));
        tx.commit().await?;
        Ok(codes)
    }

    /// Turns two-factor login off for the actor's own account after checking the
    /// password. Refused while the account's role requires it.
    pub async fn turn_off_my_second_factor(&self, actor: &Actor, password: &str) -> ServiceResult<()> {
        actor.require(Permission::ManageOwnAccount)?;
        let me = actor.user()?;
        if password.is_empty() {
            return Err(ServiceError::invalid("password", "required", "Enter your password."));
        }
        if self.second_factor_policy_in_force().await?.requires(actor.roles) {
            return Err(ServiceError::conflict(
                "second_factor_required",
                "Your role requires two-factor login, so it cannot be turned off. If you lost your phone, use a \
                 recovery code, or ask an administrator to reset it.",
            ));
        }
        let row = praxis_store::users::by_id(self.db(), me).await?.ok_or(ServiceError::Unauthenticated)?;
        if !self.passwords().verify(password, Some(&row.password_hash)).await? {
            return Err(ServiceError::invalid("password", "incorrect", "Your password is not correct."));
        }
        let user = User::from_row(row)?;
        let mut tx = self.db().begin().await?;
        let had = store::remove(&mut tx, me).await?;
        if had {
            tx.audit(self.audit_entry(
                actor,
                "user.second_factor_removed",
                "user",
                Some(me.to_string()),
                format!("two-factor login turned off by its owner ({})", user.email),
            ));
        }
        tx.commit().await?;
        Ok(())
    }
}
