//! The second step of a login: the code after the password, or — when the account's
//! role requires two-factor login and it has none yet — setting it up there and then.
//! Each step holds a [`PendingLogin`](crate::auth::PendingLogin) token that is good
//! for one account, for ten minutes, once.

use super::{Enrolment, RecoveryCodes, wrong_code};
use crate::Services;
use crate::actor::{Actor, RequestContext};
use crate::auth::{LoginSuccess, SessionKind, token_hash};
use crate::error::{ServiceError, ServiceResult};
use crate::users::User;
use praxis_domain::UserId;
use praxis_store::two_factor::challenges::{self, LiveChallenge};

/// What the second step is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Verify,
    Enrol,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Enrol => "enrol",
        }
    }
}

impl Services {
    /// Finishes a login with the code from the authenticator app or a recovery code.
    /// A wrong, stale or reused code answers 422 and counts towards the lock-out (429);
    /// an unknown, expired or used token answers 401 (log in again).
    #[tracing::instrument(skip_all)]
    pub async fn complete_login(&self, ctx: &RequestContext, pending: &str, code: &str) -> ServiceResult<LoginSuccess> {
        let challenge = self.challenge(pending, Purpose::Verify).await?;
        let account = self.account(UserId(challenge.user_id)).await?;
        let (mut tx, used) = self.check_code(ctx, &account, code, false).await?;
        if !challenges::finish(&mut tx, challenge.id, self.now()).await? {
            return Err(ServiceError::Unauthenticated);
        }
        let kind = SessionKind::from_stored(&challenge.session_kind);
        let success = self.open_session(&mut tx, account, kind, ctx, &used.describe()).await?;
        tx.commit().await?;
        Ok(success)
    }

    /// The authenticator key for an account that must set up two-factor login before
    /// its login can finish (the same key each time until it is confirmed).
    pub async fn login_enrolment(&self, pending: &str) -> ServiceResult<Enrolment> {
        let challenge = self.challenge(pending, Purpose::Enrol).await?;
        let account = self.account(UserId(challenge.user_id)).await?;
        self.enrolment_for(account.id, &account.email).await
    }

    /// Confirms the set-up with a first code from the app and finishes the login: the
    /// second factor is on, and ten recovery codes are returned to show once.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_login_enrolment(
        &self,
        ctx: &RequestContext,
        pending: &str,
        code: &str,
    ) -> ServiceResult<(LoginSuccess, RecoveryCodes)> {
        let challenge = self.challenge(pending, Purpose::Enrol).await?;
        let account = self.account(UserId(challenge.user_id)).await?;
        let user = account.id;
        let (mut tx, _) = self.check_code(ctx, &account, code, true).await?;
        if !challenges::finish(&mut tx, challenge.id, self.now()).await? {
            return Err(ServiceError::Unauthenticated);
        }
        let codes = self.issue_recovery_codes(&mut tx, user).await?;
        tx.audit(self.audit_entry(
            &Actor::anonymous(&account.email, ctx.clone()),
            "user.second_factor_enrolled",
            "user",
            Some(user.to_string()),
            "two-factor login set up at login (required by the account's role); 10 recovery codes issued",
        ));
        let kind = SessionKind::from_stored(&challenge.session_kind);
        let success = self.open_session(&mut tx, account, kind, ctx, " after setting up two-factor login").await?;
        tx.commit().await?;
        Ok((success, codes))
    }

    /// The live challenge behind `pending`, for `purpose`; 401 otherwise.
    async fn challenge(&self, pending: &str, purpose: Purpose) -> ServiceResult<LiveChallenge> {
        if pending.len() > 200 {
            return Err(ServiceError::Unauthenticated);
        }
        let c = challenges::find_live(self.db(), &token_hash(pending), self.now())
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        if c.purpose != purpose.as_str() {
            return Err(ServiceError::Unauthenticated);
        }
        Ok(c)
    }

    async fn account(&self, user: UserId) -> ServiceResult<User> {
        let row = praxis_store::users::by_id(self.db(), user).await?.ok_or(ServiceError::Unauthenticated)?;
        User::from_row(row)
    }

    /// Counts a wrong code against the account and the address (audited) and returns
    /// the error to answer.
    pub(crate) async fn count_wrong_code(
        &self,
        ctx: &RequestContext,
        account: &User,
        keys: [&str; 2],
    ) -> ServiceResult<ServiceError> {
        let limits = self.settings().login_limits;
        let mut tx = self.db().begin().await?;
        self.count_failure(&mut tx, [(keys[0], limits.account_failures), (keys[1], limits.ip_failures)], self.now())
            .await?;
        tx.audit(self.audit_entry(
            &Actor::anonymous(&account.email, ctx.clone()),
            "auth.second_factor_failed",
            "user",
            Some(account.id.to_string()),
            "wrong, stale or reused two-factor code",
        ));
        tx.commit().await?;
        Ok(wrong_code())
    }
}
