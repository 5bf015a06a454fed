//! Tunables of the use cases, with defaults a clinic can run on.

use crate::passwords::PasswordParams;
use jiff::SignedDuration;

/// Login throttling: after `account_failures` wrong passwords for one account (or
/// `ip_failures` from one address) within `window`, further attempts are refused for
/// `lockout`.
#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    /// Failures per account before lock-out.
    pub account_failures: i64,
    /// Failures per client address before lock-out.
    pub ip_failures: i64,
    /// Counting window.
    pub window: SignedDuration,
    /// Length of a lock-out.
    pub lockout: SignedDuration,
    /// Portal self-registrations accepted from one client address per
    /// `registration_window` (attempts count, accepted or not), so a script cannot fill
    /// the patient list; a front-desk tablet behind one address still fits.
    pub registrations_per_address: i64,
    /// The window for `registrations_per_address` (also how long the address then waits).
    pub registration_window: SignedDuration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            account_failures: 5,
            ip_failures: 50,
            window: SignedDuration::from_mins(15),
            lockout: SignedDuration::from_mins(15),
            registrations_per_address: 20,
            registration_window: SignedDuration::from_hours(1),
        }
    }
}

/// Settings shared by all use cases.
#[derive(Clone, Debug)]
pub struct Settings {
    /// A session ends after this long without use.
    pub session_idle: SignedDuration,
    /// A session ends this long after login, used or not.
    pub session_max: SignedDuration,
    /// Login throttling.
    pub login_limits: LoginLimits,
    /// Argon2id cost.
    pub password_params: PasswordParams,
    /// The address patients and staff reach Praxis at (links in messages).
    pub public_base_url: String,
    /// The zone for times not tied to a clinic (audit log, account pages).
    pub display_zone: jiff::tz::TimeZone,
    /// How long a hold keeps a slot while someone finishes booking.
    pub hold_ttl: SignedDuration,
    /// How long a waiting-list offer stays open before passing to the next patient.
    pub waitlist_offer_ttl: SignedDuration,
    /// Video rooms are this address followed by an unguessable room name.
    pub video_base_url: String,
    /// The keys that seal clinical content (a file in the data directory, or the
    /// environment; tests use a key of their own).
    pub keys: std::sync::Arc<crate::crypto::KeyRing>,
    /// Reminders go out this long before an appointment (default 24 h and 2 h).
    pub reminder_leads: Vec<SignedDuration>,
    /// How long a worker's claim on a job lasts before another worker may take it over.
    pub job_lease: SignedDuration,
    /// Back-off after a job's first failure; doubles with each further one (with jitter).
    pub retry_base: SignedDuration,
    /// The longest back-off between two attempts.
    pub retry_cap: SignedDuration,
    /// Where Praxis keeps its files; uploaded documents go, encrypted, to
    /// `<data_dir>/documents`.
    pub data_dir: std::path::PathBuf,
    /// The largest document accepted, in bytes (default 20 MiB).
    pub max_upload_bytes: u64,
    /// The card-payment provider (Stripe), when configured; none: no online payment.
    pub payment_gateway: Option<std::sync::Arc<dyn crate::billing::PaymentGateway>>,
    /// Where backups are written (default: `<data dir>/backups`).
    pub backup_dir: Option<std::path::PathBuf>,
    /// How long a webhook endpoint has to answer a delivery (default 10 s).
    pub webhook_timeout: SignedDuration,
    /// Attempts before a webhook delivery is given up (default 12: about a day with the
    /// default back-off).
    pub webhook_max_attempts: i64,
    /// The SMS provider's auth token, which signs its inbound webhook (patients replying
    /// `C` or `X` to a reminder); none: SMS replies are not accepted.
    pub sms_reply_secret: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            session_idle: SignedDuration::from_hours(12),
            session_max: SignedDuration::from_hours(24 * 14),
            login_limits: LoginLimits::default(),
            password_params: PasswordParams::default(),
            public_base_url: "http://127.0.0.1:8080".into(),
            display_zone: jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC),
            hold_ttl: SignedDuration::from_mins(10),
            waitlist_offer_ttl: SignedDuration::from_hours(4),
            video_base_url: "https://meet.jit.si/".into(),
            keys: std::sync::Arc::new(crate::crypto::KeyRing::ephemeral()),
            reminder_leads: crate::notifications::default_reminder_leads(),
            job_lease: SignedDuration::from_secs(120),
            retry_base: SignedDuration::from_secs(30),
            retry_cap: SignedDuration::from_hours(1),
            data_dir: std::path::PathBuf::from("./data"),
            max_upload_bytes: 20 * 1024 * 1024,
            payment_gateway: None,
            backup_dir: None,
            webhook_timeout: SignedDuration::from_secs(10),
            webhook_max_attempts: 12,
            sms_reply_secret: None,
        }
    }
}
