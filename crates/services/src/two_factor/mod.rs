//! Two-factor login with an authenticator app (TOTP, RFC 6238): enrolment and its
//! recovery codes ([`account`]), the second step of a login ([`login`]), and what
//! administrators decide — which roles must use it, and resetting someone's.
//!
//! The secret is sealed with the key ring; recovery codes are kept as SHA-256 (each is
//! 80 random bits); a code works once (the last accepted time step is stored and
//! compared in the same statement that records it); wrong codes are throttled like
//! passwords, per account and per address.

pub mod account;
pub mod login;

use crate::Services;
use crate::actor::{Actor, RequestContext};
use crate::auth::ip_throttle_key;
use crate::crypto::aad;
use crate::error::{ServiceError, ServiceResult};
use crate::users::User;
use jiff::Timestamp;
use praxis_domain::two_factor::{
    self as totp, RECOVERY_CODE_LEN, RECOVERY_CODES, SECRET_BYTES, SecondFactorInput, SecondFactorPolicy,
};
use praxis_domain::{Permission, Roles, UserId};
use praxis_store::Tx;
use praxis_store::two_factor as store;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The name authenticator apps show above the account.
pub const ISSUER: &str = "Praxis";

/// What an authenticator app needs to add the account: the QR code's address and the
/// same key for typing in by hand.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    /// The key in base32, in groups of four (for apps without a camera).
    pub secret: String,
    /// The `otpauth://totp/…` address the QR code holds.
    pub otpauth_uri: String,
    /// That address as a QR code, an inline `<svg>` drawn here (for the web page).
    #[serde(skip)]
    pub qr_svg: String,
}

/// Whether an account uses a second factor.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SecondFactorStatus {
    /// True once an authenticator app is set up and confirmed.
    pub enabled: bool,
    /// Since when.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    /// Recovery codes not yet used.
    pub recovery_codes_left: i64,
    /// True when the account's role requires it (it cannot then be turned off).
    pub required: bool,
}

/// Fresh recovery codes, shown once.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Ten codes (`XXXX-XXXX-XXXX-XXXX`); each works once in place of an app code.
    pub codes: Vec<String>,
}

/// How a second factor was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FactorUsed {
    /// A code from the app.
    AppCode,
    /// A recovery code; this many are left.
    RecoveryCode { left: i64 },
}

impl FactorUsed {
    /// For audit summaries.
    pub(crate) fn describe(self) -> String {
        match self {
            FactorUsed::AppCode => " with an authenticator code".into(),
            FactorUsed::RecoveryCode { left } => format!(" with a recovery code ({left} left)"),
        }
    }
}

/// The refusal of a wrong, stale or reused code.
pub(crate) fn wrong_code() -> ServiceError {
    ServiceError::invalid(
        "code",
        "incorrect",
        "That code is not correct, or it was already used. Type the code your authenticator app shows now, or \
         one of your recovery codes.",
    )
}

/// The throttling key for second-factor attempts on one account.
pub(crate) fn throttle_key(user: UserId) -> String {
    format!("second_factor:{user}")
}

/// What is stored of a recovery code.
fn recovery_hash(canonical: &str) -> String {
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Ten new recovery codes: what to show, and what to store.
fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut random = [0u8; RECOVERY_CODE_LEN];
            rand::fill(&mut random);
            let shown = totp::recovery_code(&random);
            let hash = recovery_hash(&shown.replace('-', ""));
            (shown, hash)
        })
        .unzip()
}

impl Services {
    /// The per-role requirement as stored (no permission needed: login reads it).
    pub(crate) async fn second_factor_policy_in_force(&self) -> ServiceResult<SecondFactorPolicy> {
        let stored = store::required_roles(self.db()).await?;
        SecondFactorPolicy::parse(&stored).map_err(|e| ServiceError::Internal(format!("second factor policy: {e}")))
    }

    /// Which roles must log in with a second factor (administrators).
    pub async fn second_factor_policy(&self, actor: &Actor) -> ServiceResult<SecondFactorPolicy> {
        actor.require(Permission::ManageUsers)?;
        self.second_factor_policy_in_force().await
    }

    /// Sets which roles must log in with a second factor. Users of those roles without
    /// one are led through setting it up at their next login (audited).
    pub async fn set_second_factor_policy(&self, actor: &Actor, required: Roles) -> ServiceResult<SecondFactorPolicy> {
        actor.require(Permission::ManageUsers)?;
        let policy = SecondFactorPolicy { required };
        let mut tx = self.db().begin().await?;
        store::set_required_roles(&mut tx, &required.to_string(), self.now(), actor.user_id).await?;
        let list = if required.is_empty() { "no role".to_string() } else { required.to_string() };
        tx.audit(self.audit_entry(
            actor,
            "settings.second_factor_policy",
            "settings",
            None,
            format!("two-factor login required for: {list}"),
        ));
        tx.commit().await?;
        Ok(policy)
    }

    /// Whether `user` uses a second factor (administrators, for the user page).
    pub async fn second_factor_of(&self, actor: &Actor, user: UserId) -> ServiceResult<SecondFactorStatus> {
        actor.require(Permission::ManageUsers)?;
        let target =
            praxis_store::users::by_id(self.db(), user).await?.ok_or(ServiceError::NotFound { what: "User" })?;
        let roles = Roles::parse(&target.roles).map_err(|e| ServiceError::Internal(format!("user roles: {e}")))?;
        self.status_of(user, roles).await
    }

    pub(crate) async fn status_of(&self, user: UserId, roles: Roles) -> ServiceResult<SecondFactorStatus> {
        let since = store::of_user(self.db(), user).await?.and_then(|f| f.confirmed_at).map(|t| t.0);
        let left = if since.is_some() { store::recovery_codes_left(self.db(), user).await? } else { 0 };
        let required = self.second_factor_policy_in_force().await?.requires(roles);
        Ok(SecondFactorStatus { enabled: since.is_some(), since, recovery_codes_left: left, required })
    }

    /// Removes a user's second factor (a lost phone): their app and recovery codes stop
    /// working, their sessions end, and if their role requires two-factor login they set
    /// it up again at the next login. Administrators only; audited.
    pub async fn reset_second_factor(&self, actor: &Actor, user: UserId) -> ServiceResult<()> {
        actor.require(Permission::ManageUsers)?;
        let target =
            praxis_store::users::by_id(self.db(), user).await?.ok_or(ServiceError::NotFound { what: "User" })?;
        let mut tx = self.db().begin().await?;
        let had = store::remove(&mut tx, user).await?;
        let ended = praxis_store::sessions::revoke_all_for_user(&mut tx, user, self.now(), actor.session_id).await?;
        tx.audit(self.audit_entry(
            actor,
            "user.second_factor_reset",
            "user",
            Some(user.to_string()),
            format!(
                "two-factor login of {} reset by an administrator ({}); {ended} session(s) ended",
                target.email,
                if had { "it was set up" } else { "none was set up" }
            ),
        ));
        tx.commit().await?;
        Ok(())
    }

    /// The account's enrolment in progress, or a new one (never for an account whose
    /// second factor is already confirmed).
    pub(crate) async fn enrolment_for(&self, user: UserId, account: &str) -> ServiceResult<Enrolment> {
        let existing = store::of_user(self.db(), user).await?;
        let secret = match existing {
            Some(f) if f.confirmed_at.is_some() => {
                return Err(ServiceError::conflict(
                    "second_factor_on",
                    "Two-factor login is already set up. To move it to a new phone, turn it off and set it up again.",
                ));
            }
            Some(f) => self.open_secret(user, &f.secret_sealed)?,
            None => {
                let mut secret = vec![0u8; SECRET_BYTES];
                rand::fill(&mut secret[..]);
                let sealed = self
                    .keys()
                    .seal(&aad("user_second_factors", "secret", user), &secret)
                    .map_err(|e| ServiceError::Internal(format!("sealing the secret: {e}")))?;
                let mut tx = self.db().begin().await?;
                if !store::start(&mut tx, user, &sealed, self.now()).await? {
                    return Err(ServiceError::conflict("second_factor_on", "Two-factor login is already set up."));
                }
                tx.commit().await?;
                secret
            }
        };
        let otpauth_uri = totp::otpauth_uri(ISSUER, account, &secret);
        let qr_svg = praxis_pdf::qr::QrMatrix::encode(&otpauth_uri)
            .map_err(|e| ServiceError::Internal(format!("drawing the QR code: {e}")))?
            .to_svg("QR code to scan with your authenticator app");
        Ok(Enrolment { secret: totp::grouped_key(&secret), otpauth_uri, qr_svg })
    }

    fn open_secret(&self, user: UserId, sealed: &str) -> ServiceResult<Vec<u8>> {
        self.keys()
            .open(&aad("user_second_factors", "secret", user), sealed)
            .map_err(|e| self.damaged("The two-factor secret", "user_second_factor", user, e))
    }

    /// Checks what was typed against the account's second factor and, when it is
    /// right, uses it up inside `tx`. `enrolling` checks an unconfirmed secret (and
    /// confirms it) and accepts app codes only. `None`: wrong, stale, reused or absent.
    pub(crate) async fn use_second_factor(
        &self,
        tx: &mut Tx,
        user: UserId,
        typed: &str,
        now: Timestamp,
        enrolling: bool,
    ) -> ServiceResult<Option<FactorUsed>> {
        let Some(factor) = store::of_user_tx(tx, user).await? else { return Ok(None) };
        if factor.confirmed_at.is_some() == enrolling {
            return Ok(None);
        }
        match totp::parse_second_factor(typed) {
            Some(SecondFactorInput::Code(code)) => {
                let secret = self.open_secret(user, &factor.secret_sealed)?;
                let Some(step) = totp::verify(&secret, code, totp::step_at(now.as_second()), factor.last_used_step)
                else {
                    return Ok(None);
                };
                let used = store::use_step(tx, user, step, now, enrolling).await?;
                Ok(used.then_some(FactorUsed::AppCode))
            }
            Some(SecondFactorInput::Recovery(canonical)) if !enrolling => {
                if !store::use_recovery_code(tx, user, &recovery_hash(&canonical), now).await? {
                    return Ok(None);
                }
                let left = store::recovery_codes_left_tx(tx, user).await?;
                Ok(Some(FactorUsed::RecoveryCode { left }))
            }
            _ => Ok(None),
        }
    }

    /// Checks a typed code for `account` in a new transaction: 429 while the account or
    /// the address is locked out; a wrong, stale or reused code is counted towards the
    /// lock-out, audited and refused (422). When it is right the code is used up, the
    /// account's failure count cleared, and the open transaction returned for the caller
    /// to finish (nothing is kept unless it commits).
    pub(crate) async fn check_code(
        &self,
        ctx: &RequestContext,
        account: &User,
        code: &str,
        enrolling: bool,
    ) -> ServiceResult<(Tx, FactorUsed)> {
        let now = self.now();
        let (sf_key, ip_key) = (throttle_key(account.id), ip_throttle_key(ctx));
        self.refuse_if_locked([&sf_key, &ip_key], now).await?;
        let mut tx = self.db().begin().await?;
        let Some(used) = self.use_second_factor(&mut tx, account.id, code, now, enrolling).await? else {
            drop(tx);
            return Err(self.count_wrong_code(ctx, account, [&sf_key, &ip_key]).await?);
        };
        praxis_store::throttle::clear(&mut tx, &sf_key).await?;
        Ok((tx, used))
    }

    /// Replaces the account's recovery codes inside `tx`; returns the new ones to show.
    pub(crate) async fn issue_recovery_codes(&self, tx: &mut Tx, user: UserId) -> ServiceResult<RecoveryCodes> {
        let (codes, hashes) = new_recovery_codes();
        store::replace_recovery_codes(tx, user, &hashes, self.now()).await?;
        Ok(RecoveryCodes { codes })
    }
}
