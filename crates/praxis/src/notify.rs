//! Notification settings (email and SMS transports, reminder lead times, the queue's
//! retry policy) and running the background worker, in `praxis serve` or alone as
//! `praxis worker`.

use crate::config::Global;
use anyhow::{Context, Result, bail};
use clap::Args;
use jiff::SignedDuration;
use praxis_services::notifications::transport::{
    FileMailer, LogMailer, LogSms, Mailer, SmsSender, SmtpConfig, SmtpMailer, SmtpTls, Transports, TwilioConfig,
    TwilioSms,
};
use praxis_services::{Services, Settings};
use praxis_worker::{Worker, WorkerConfig};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

/// How email leaves Praxis.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailTransport {
    /// `.eml` files in `<data-dir>/outbox` (the zero-configuration default).
    File,
    /// An SMTP server (`--smtp-*`).
    Smtp,
    /// Only logged (recipient and subject).
    Log,
}

/// How SMS leave Praxis.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsTransport {
    /// Only logged (the default until a provider is configured).
    Log,
    /// A Twilio-compatible HTTP API (`--sms-*`).
    Twilio,
}

/// Notification and worker settings (global: every command that runs a worker uses them).
#[derive(Args, Debug, Clone)]
pub struct NotifyArgs {
    /// Email transport: file (default, `<data-dir>/outbox`), smtp or log.
    #[arg(long, global = true, env = "PRAXIS_EMAIL_TRANSPORT", default_value = "file")]
    pub email_transport: EmailTransport,
    /// The sender of every email.
    #[arg(long, global = true, env = "PRAXIS_EMAIL_FROM", default_value = "Praxis <no-reply@praxis.invalid>")]
    pub email_from: String,
    /// SMTP server host.
    #[arg(long, global = true, env = "PRAXIS_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port (587 with starttls, 465 with tls, 25 for a local relay).
    #[arg(long, global = true, env = "PRAXIS_SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    /// SMTP connection security: none, starttls or tls.
    #[arg(long, global = true, env = "PRAXIS_SMTP_TLS", default_value = "starttls")]
    pub smtp_tls: String,
    /// SMTP user name.
    #[arg(long, global = true, env = "PRAXIS_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// SMTP password. Never printed or logged.
    #[arg(long, global = true, env = "PRAXIS_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<SecretString>,
    /// SMS transport: log (default) or twilio.
    #[arg(long, global = true, env = "PRAXIS_SMS_TRANSPORT", default_value = "log")]
    pub sms_transport: SmsTransport,
    /// Base URL of the Twilio-compatible API.
    #[arg(long, global = true, env = "PRAXIS_SMS_BASE_URL", default_value = "https://api.twilio.com")]
    pub sms_base_url: String,
    /// Account SID.
    #[arg(long, global = true, env = "PRAXIS_SMS_ACCOUNT_SID")]
    pub sms_account_sid: Option<String>,
    /// Auth token. Never printed or logged.
    #[arg(long, global = true, env = "PRAXIS_SMS_AUTH_TOKEN", hide_env_values = true)]
    pub sms_auth_token: Option<SecretString>,
    /// Sender number (E.164) or sender id.
    #[arg(long, global = true, env = "PRAXIS_SMS_FROM")]
    pub sms_from: Option<String>,
    /// Reminder lead times before an appointment, e.g. `24h,2h` or `2d,30m`.
    #[arg(long, global = true, env = "PRAXIS_REMINDER_LEADS", default_value = "24h,2h")]
    pub reminder_leads: String,
    /// Jobs one worker runs at the same time.
    #[arg(long, global = true, env = "PRAXIS_WORKER_CONCURRENCY", default_value_t = 8)]
    pub worker_concurrency: usize,
    /// How often an idle worker looks for due jobs, in milliseconds.
    #[arg(long, global = true, env = "PRAXIS_WORKER_POLL_MS", default_value_t = 1000)]
    pub worker_poll_ms: u64,
    /// Seconds a worker's claim on a job lasts; a job whose worker died is retried after it.
    #[arg(long, global = true, env = "PRAXIS_JOB_LEASE_SECONDS", default_value_t = 120)]
    pub job_lease_seconds: u64,
    /// Back-off after a job's first failure in seconds (doubles each time, with jitter).
    #[arg(long, global = true, env = "PRAXIS_RETRY_BASE_SECONDS", default_value_t = 30.0)]
    pub retry_base_seconds: f64,
    /// Longest back-off between attempts in seconds.
    #[arg(long, global = true, env = "PRAXIS_RETRY_CAP_SECONDS", default_value_t = 3600.0)]
    pub retry_cap_seconds: f64,
}

/// Puts the notification settings into the services' settings.
pub fn apply_settings(n: &NotifyArgs, s: &mut Settings) -> Result<()> {
    s.reminder_leads = praxis_services::notifications::parse_leads(&n.reminder_leads)
        .map_err(|e| anyhow::anyhow!("PRAXIS_REMINDER_LEADS: {e}"))?;
    s.job_lease = SignedDuration::from_secs(n.job_lease_seconds.clamp(5, 24 * 3600) as i64);
    if !(n.retry_base_seconds > 0.0 && n.retry_cap_seconds >= n.retry_base_seconds) {
        bail!("PRAXIS_RETRY_BASE_SECONDS must be positive and at most PRAXIS_RETRY_CAP_SECONDS");
    }
    s.retry_base = SignedDuration::from_secs_f64(n.retry_base_seconds);
    s.retry_cap = SignedDuration::from_secs_f64(n.retry_cap_seconds);
    // The SMS provider signs its inbound webhook (patients' C/X replies) with the same
    // auth token Praxis sends with.
    if n.sms_transport == SmsTransport::Twilio {
        s.sms_reply_secret = n.sms_auth_token.as_ref().map(|t| secrecy::ExposeSecret::expose_secret(t).to_string());
    }
    Ok(())
}

/// The email and SMS transports from the configuration.
pub fn transports(g: &Global) -> Result<Transports> {
    let n = &g.notify;
    let mailer: Arc<dyn Mailer> = match n.email_transport {
        EmailTransport::File => Arc::new(
            FileMailer::new(g.data_dir.join("outbox"), &n.email_from).map_err(|e| anyhow::anyhow!("email: {e}"))?,
        ),
        EmailTransport::Log => Arc::new(LogMailer),
        EmailTransport::Smtp => {
            let host = n.smtp_host.clone().filter(|h| !h.trim().is_empty()).context(
                "PRAXIS_EMAIL_TRANSPORT=smtp needs PRAXIS_SMTP_HOST (and usually PRAXIS_SMTP_USERNAME/PASSWORD)",
            )?;
            let tls: SmtpTls = n.smtp_tls.parse().map_err(|e: String| anyhow::anyhow!("PRAXIS_SMTP_TLS: {e}"))?;
            Arc::new(
                SmtpMailer::new(&SmtpConfig {
                    host,
                    port: n.smtp_port,
                    tls,
                    username: n.smtp_username.clone(),
                    password: n.smtp_password.clone(),
                    from: n.email_from.clone(),
                    pool_size: n.worker_concurrency.clamp(1, 64) as u32,
                    timeout: Duration::from_secs(30),
                })
                .map_err(|e| anyhow::anyhow!("SMTP: {e}"))?,
            )
        }
    };
    let sms: Arc<dyn SmsSender> = match n.sms_transport {
        SmsTransport::Log => Arc::new(LogSms),
        SmsTransport::Twilio => {
            let (Some(sid), Some(token), Some(from)) =
                (n.sms_account_sid.clone(), n.sms_auth_token.clone(), n.sms_from.clone())
            else {
                bail!(
                    "PRAXIS_SMS_TRANSPORT=twilio needs PRAXIS_SMS_ACCOUNT_SID, PRAXIS_SMS_AUTH_TOKEN and PRAXIS_SMS_FROM"
                );
            };
            Arc::new(
                TwilioSms::new(TwilioConfig {
                    base_url: n.sms_base_url.clone(),
                    account_sid: sid,
                    auth_token: token,
                    from,
                    timeout: Duration::from_secs(20),
                })
                .map_err(|e| anyhow::anyhow!("SMS: {e}"))?,
            )
        }
    };
    Ok(Transports { mailer, sms })
}

/// A worker as configured.
pub fn worker(g: &Global, svc: &Services) -> Result<Worker> {
    let cfg = WorkerConfig {
        concurrency: g.notify.worker_concurrency.clamp(1, 256),
        poll_interval: Duration::from_millis(g.notify.worker_poll_ms.clamp(10, 60_000)),
        ..WorkerConfig::default()
    };
    Ok(Worker::new(svc.clone(), transports(g)?, cfg))
}

/// `praxis worker`: runs a worker until SIGINT/SIGTERM, then finishes (or gives back) the
/// jobs in flight and exits.
pub async fn run_worker(g: &Global, svc: Services) -> Result<()> {
    let w = worker(g, &svc)?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(w.run(rx));
    crate::server::shutdown_signal().await;
    let _ = tx.send(true);
    let _ = handle.await;
    svc.db().close().await;
    Ok(())
}
