//! Logging in and out, sessions, password changes and login throttling.

use crate::Services;
use crate::actor::{Actor, RequestContext};
use crate::error::{ServiceError, ServiceResult};
use crate::users::User;
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use praxis_domain::values::NewPassword;
use praxis_domain::{Email, Permission, Roles, SessionId, UserId, Validation};
use praxis_store::two_factor::{self, challenges};
use praxis_store::{Tx, sessions, throttle, users};
use sha2::{Digest, Sha256};

/// How a session is carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// An HttpOnly cookie in a browser.
    Browser,
    /// A bearer token for API clients.
    Api,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Browser => "browser",
            SessionKind::Api => "api",
        }
    }

    pub(crate) fn from_stored(s: &str) -> Self {
        if s == "api" { SessionKind::Api } else { SessionKind::Browser }
    }
}

/// A successful login. `token` is shown to the client once and never stored.
#[derive(Debug)]
pub struct LoginSuccess {
    /// The opaque session token (cookie value or bearer token).
    pub token: String,
    /// The session's id.
    pub session_id: SessionId,
    /// When the session ends unless used again.
    pub expires_at: Timestamp,
    /// Who logged in.
    pub user: User,
}

/// What a correct password leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in.
    Session(LoginSuccess),
    /// The account has a second factor, or its role requires one it has not set up:
    /// the login continues with [`Services::complete_login`] or the enrolment in
    /// [`crate::two_factor`].
    SecondFactor(PendingLogin),
}

/// A login waiting for its second factor. `token` is shown to the client once (the web
/// keeps it in a short-lived cookie) and lets it type a code for this one account.
#[derive(Debug)]
pub struct PendingLogin {
    /// The opaque token.
    pub token: String,
    /// True when the account must first set up two-factor login (its role requires it).
    pub enrol: bool,
    /// When the password must be typed again.
    pub expires_at: Timestamp,
}

/// How long the step between password and code may take.
const CHALLENGE_TTL: SignedDuration = SignedDuration::from_mins(10);

/// How often an in-use session records that it was used (and slides its expiry).
const TOUCH_EVERY: SignedDuration = SignedDuration::from_mins(5);

/// A fresh 256-bit random token, URL-safe base64 with a recognisable prefix (so secret
/// scanners can spot a leaked one).
fn new_token() -> String {
    random_token("pxs_")
}

/// 256 random bits, URL-safe base64 after `prefix`.
pub(crate) fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Pure throttling rule: given the failures counted in the window (this one included),
/// when does the lock-out end, if one starts now?
pub fn lockout_after(failures: i64, limit: i64, now: Timestamp, lockout: SignedDuration) -> Option<Timestamp> {
    (failures >= limit).then(|| now.saturating_add(lockout).unwrap_or(now))
}

/// The throttling key of the client's address.
pub(crate) fn ip_throttle_key(ctx: &RequestContext) -> String {
    format!("ip:{}", ctx.client_ip.as_deref().unwrap_or("unknown"))
}

pub(crate) fn retry_after(until: Timestamp, now: Timestamp) -> u64 {
    let secs = until.duration_since(now).as_secs();
    u64::try_from(secs).unwrap_or(0).max(1)
}

impl Services {
    /// Checks email and password and opens a session — or, when the account has a
    /// second factor (or its role requires one), a short step that asks for it. Wrong
    /// email, wrong password and an inactive account all answer the same 401, in the
    /// same time. Too many failures for the account or the client address answer 429
    /// until the lock-out ends.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        ctx: &RequestContext,
        email: &str,
        password: &str,
        kind: SessionKind,
    ) -> ServiceResult<LoginOutcome> {
        let mut v = Validation::new();
        if email.trim().is_empty() {
            v.add("email", "required", "Enter your email address.");
        }
        if password.is_empty() {
            v.add("password", "required", "Enter your password.");
        }
        v.finish()?;
        let now = self.now();
        let limits = self.settings().login_limits;
        let attempted = email.trim().to_lowercase().chars().take(254).collect::<String>();
        let account_key = format!("account:{attempted}");
        let ip_key = ip_throttle_key(ctx);
        self.refuse_if_locked([&account_key, &ip_key], now).await?;

        let row = match Email::parse(email) {
            Ok(e) => users::by_email(self.db(), e.as_str()).await?,
            Err(_) => None,
        };
        let matches = self.passwords().verify(password, row.as_ref().map(|r| r.password_hash.as_str())).await?;
        let mut tx = self.db().begin().await?;
        let row = match row {
            Some(r) if matches && r.active => r,
            other => {
                self.count_failure(
                    &mut tx,
                    [(&account_key, limits.account_failures), (&ip_key, limits.ip_failures)],
                    now,
                )
                .await?;
                let reason = match &other {
                    None => "unknown email",
                    Some(r) if !r.active => "account inactive",
                    Some(_) => "wrong password",
                };
                tx.audit(self.audit_entry(
                    &Actor::anonymous(&attempted, ctx.clone()),
                    "auth.login_failed",
                    "user",
                    other.as_ref().map(|r| r.id.to_string()),
                    format!("login failed ({reason})"),
                ));
                tx.commit().await?;
                return Err(ServiceError::InvalidCredentials);
            }
        };
        let user = User::from_row(row)?;
        throttle::clear(&mut tx, &account_key).await?;
        let has_factor = two_factor::of_user_tx(&mut tx, user.id).await?.is_some_and(|f| f.confirmed_at.is_some());
        // The policy is read only for an account without a second factor (the read pool,
        // not the write transaction).
        let purpose = if has_factor {
            Some("verify")
        } else if self.second_factor_policy_in_force().await?.requires(user.roles) {
            Some("enrol")
        } else {
            None
        };
        if let Some(purpose) = purpose {
            let token = random_token("pxc_");
            let expires_at = now.saturating_add(CHALLENGE_TTL).unwrap_or(now);
            let challenge = challenges::NewChallenge {
                id: uuid::Uuid::now_v7(),
                token_hash: token_hash(&token),
                user_id: user.id,
                purpose,
                session_kind: kind.as_str(),
                created_at: now,
                expires_at,
            };
            challenges::insert(&mut tx, &challenge).await?;
            let summary = if has_factor {
                "password correct; second factor asked"
            } else {
                "password correct; two-factor set-up required by the account's role"
            };
            tx.audit(self.audit_entry(
                &Actor::anonymous(&user.email, ctx.clone()),
                "auth.second_factor_asked",
                "user",
                Some(user.id.to_string()),
                summary,
            ));
            tx.commit().await?;
            return Ok(LoginOutcome::SecondFactor(PendingLogin { token, enrol: !has_factor, expires_at }));
        }
        let success = self.open_session(&mut tx, user, kind, ctx, "").await?;
        tx.commit().await?;
        Ok(LoginOutcome::Session(success))
    }

    /// 429 while any of `keys` is locked out.
    pub(crate) async fn refuse_if_locked(&self, keys: [&str; 2], now: Timestamp) -> ServiceResult<()> {
        if let Some(until) = throttle::locked_until(self.db(), keys, now).await? {
            tracing::warn!(key = keys[0], "refused: locked out");
            return Err(ServiceError::RateLimited { retry_after_secs: retry_after(until, now) });
        }
        Ok(())
    }

    /// Counts one failed attempt against each key, locking a key out once it reaches
    /// its limit within the window.
    pub(crate) async fn count_failure(&self, tx: &mut Tx, keys: [(&str, i64); 2], now: Timestamp) -> ServiceResult<()> {
        let limits = self.settings().login_limits;
        let floor = now.saturating_sub(limits.window).unwrap_or(now);
        for (key, limit) in keys {
            let failures = throttle::record_failure(tx, key, now, floor).await?;
            if let Some(until) = lockout_after(failures, limit, now, limits.lockout) {
                throttle::lock(tx, key, until).await?;
            }
        }
        Ok(())
    }

    /// Opens a session for `user` inside `tx` (audited; `how` is added to the audit
    /// summary, e.g. "with an authenticator code").
    pub(crate) async fn open_session(
        &self,
        tx: &mut Tx,
        user: User,
        kind: SessionKind,
        ctx: &RequestContext,
        how: &str,
    ) -> ServiceResult<LoginSuccess> {
        let now = self.now();
        let token = new_token();
        let session_id = SessionId::new();
        let expires_at = self.session_expiry(now, now);
        sessions::insert(
            tx,
            &sessions::NewSession {
                id: session_id,
                token_hash: token_hash(&token),
                user_id: user.id,
                kind: kind.as_str(),
                created_at: now,
                expires_at,
                ip: ctx.client_ip.clone(),
                user_agent: ctx.user_agent.as_ref().map(|u| u.chars().take(300).collect()),
            },
        )
        .await?;
        users::touch_login(tx, user.id, now).await?;
        let actor = Actor {
            user_id: Some(user.id),
            label: user.email.clone(),
            name: user.full_name.clone(),
            roles: user.roles,
            session_id: Some(session_id),
            ctx: ctx.clone(),
            attention: None,
            key: None,
        };
        tx.audit(self.audit_entry(
            &actor,
            "auth.login",
            "session",
            Some(session_id.to_string()),
            format!("{} session opened{how}", kind.as_str()),
        ));
        Ok(LoginSuccess { token, session_id, expires_at, user })
    }

    /// Sliding expiry, capped at the absolute session lifetime.
    fn session_expiry(&self, created: Timestamp, now: Timestamp) -> Timestamp {
        let s = self.settings();
        let idle = now.saturating_add(s.session_idle).unwrap_or(now);
        let cap = created.saturating_add(s.session_max).unwrap_or(created);
        idle.min(cap)
    }

    /// Resolves a session token to the acting user; 401 when the token is unknown,
    /// expired, revoked, or its user was deactivated. An API key (`pxk_…`) resolves to
    /// the integration acting with it.
    pub async fn authenticate(&self, token: &str, ctx: RequestContext) -> ServiceResult<Actor> {
        if token.len() > 200 {
            return Err(ServiceError::Unauthenticated);
        }
        if crate::integrations::api_keys::is_api_key(token) {
            return self.authenticate_key(token, ctx).await;
        }
        let now = self.now();
        let s = sessions::find_live(self.db(), &token_hash(token), now).await?.ok_or(ServiceError::Unauthenticated)?;
        let roles = Roles::parse(&s.roles).map_err(|e| ServiceError::Internal(format!("user roles: {e}")))?;
        let session_id = SessionId(s.id);
        if now.duration_since(s.last_seen_at.0) >= TOUCH_EVERY {
            let mut tx = self.db().begin().await?;
            sessions::touch(&mut tx, session_id, now, self.session_expiry(s.created_at.0, now)).await?;
            tx.commit().await?;
        }
        Ok(Actor {
            user_id: Some(UserId(s.user_id)),
            label: s.email,
            name: s.full_name,
            roles,
            session_id: Some(session_id),
            ctx,
            attention: None,
            key: None,
        })
    }

    /// Ends the actor's current session.
    pub async fn logout(&self, actor: &Actor) -> ServiceResult<()> {
        let Some(sid) = actor.session_id else { return Ok(()) };
        let mut tx = self.db().begin().await?;
        if sessions::revoke(&mut tx, sid, self.now()).await? {
            tx.audit(self.audit_entry(actor, "auth.logout", "session", Some(sid.to_string()), "session ended"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Changes the actor's own password after checking the current one, and ends every
    /// other session of the account.
    #[tracing::instrument(skip_all)]
    pub async fn change_password(&self, actor: &Actor, current: &str, new: &str, confirm: &str) -> ServiceResult<()> {
        actor.require(Permission::ManageOwnAccount)?;
        let me = actor.user()?;
        let mut v = Validation::new();
        if current.is_empty() {
            v.add("current_password", "required", "Enter your current password.");
        }
        let new_pw = v.check("new_password", NewPassword::parse(new));
        if new_pw.is_some() && new != confirm {
            v.add("confirm_password", "mismatch", "The two new passwords are not the same.");
        }
        if new_pw.is_some() && new == current {
            v.add("new_password", "unchanged", "Choose a password different from the current one.");
        }
        v.finish()?;
        let row = users::by_id(self.db(), me).await?.ok_or(ServiceError::Unauthenticated)?;
        if !self.passwords().verify(current, Some(&row.password_hash)).await? {
            return Err(ServiceError::invalid(
                "current_password",
                "incorrect",
                "Your current password is not correct.",
            ));
        }
        let hash = self.passwords().hash(new).await?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        users::set_password(&mut tx, me, &hash, now).await?;
        let ended = sessions::revoke_all_for_user(&mut tx, me, now, actor.session_id).await?;
        tx.audit(self.audit_entry(
            actor,
            "user.password_changed",
            "user",
            Some(me.to_string()),
            format!("password changed by its owner; {ended} other session(s) ended"),
        ));
        tx.commit().await?;
        Ok(())
    }

    /// The actor's own account.
    pub async fn me(&self, actor: &Actor) -> ServiceResult<User> {
        actor.require(Permission::ManageOwnAccount)?;
        let row = users::by_id(self.db(), actor.user()?).await?.ok_or(ServiceError::Unauthenticated)?;
        User::from_row(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_starts_at_the_limit() {
        let now = Timestamp::UNIX_EPOCH;
        let l = SignedDuration::from_mins(15);
        assert_eq!(lockout_after(4, 5, now, l), None);
        assert_eq!(lockout_after(5, 5, now, l), Some(now + l));
        assert_eq!(lockout_after(9, 5, now, l), Some(now + l));
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with("pxs_") && a.len() == 4 + 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn retry_after_is_at_least_one_second() {
        let now = Timestamp::UNIX_EPOCH;
        assert_eq!(retry_after(now, now), 1);
        assert_eq!(retry_after(now + SignedDuration::from_secs(90), now), 90);
    }
}
