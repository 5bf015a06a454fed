//! The edges we do not own: sending email and SMS. Ports as traits, with the real
//! implementations (SMTP through lettre, a file outbox, a log-only mode; a
//! Twilio-compatible HTTP API) and capturing fakes for tests.
//!
//! Every message carries a stable id derived from its job's idempotency key (the email's
//! `Message-ID` and `X-Idempotency-Key`; the SMS request's `I-Twilio-Idempotency-Token`
//! and `Idempotency-Key`), so a retry after a crash is recognisable as the same message.

use futures::future::BoxFuture;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a send did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later (connection refused, timeout, SMTP 4xx, HTTP 429/5xx).
    #[error("{0}")]
    Transient(String),
    /// Will never work as it stands (SMTP 5xx, HTTP 4xx): the message goes to `dead`.
    #[error("{0}")]
    Permanent(String),
}

/// An email ready to send.
#[derive(Clone, Debug)]
pub struct OutgoingEmail {
    /// Recipient address.
    pub to: String,
    /// Recipient's name.
    pub to_name: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// A calendar attachment (`.ics`) with its iTIP method, if any.
    pub calendar: Option<CalendarAttachment>,
    /// Files attached (an invoice's or a receipt's PDF).
    pub files: Vec<FileAttachment>,
    /// Globally unique, stable across retries: `<message_id>` becomes the `Message-ID`.
    pub message_id: String,
    /// The job's idempotency key (sent as `X-Idempotency-Key`).
    pub idempotency_key: String,
}

/// A file attached to an email.
#[derive(Clone, Debug)]
pub struct FileAttachment {
    /// File name (`INV-2027-000123.pdf`).
    pub filename: String,
    /// MIME type (`application/pdf`).
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// An `.ics` attachment.
#[derive(Clone, Debug)]
pub struct CalendarAttachment {
    /// File name (`appointment.ics`).
    pub filename: String,
    /// The iTIP method (`REQUEST`, `CANCEL`, `PUBLISH`).
    pub method: String,
    /// The RFC 5545 document.
    pub body: String,
}

/// An SMS ready to send.
#[derive(Clone, Debug)]
pub struct OutgoingSms {
    /// E.164 number.
    pub to: String,
    /// The text.
    pub body: String,
    /// The job's idempotency key.
    pub idempotency_key: String,
}

/// Sends email. Returns the provider's id for the message (here: the `Message-ID`).
pub trait Mailer: Send + Sync + 'static {
    /// Sends one email.
    fn send<'a>(&'a self, email: &'a OutgoingEmail) -> BoxFuture<'a, Result<String, SendError>>;
    /// A short description for logs (never contains secrets).
    fn describe(&self) -> String;
}

/// Sends SMS. Returns the provider's id for the message.
pub trait SmsSender: Send + Sync + 'static {
    /// Sends one SMS.
    fn send<'a>(&'a self, sms: &'a OutgoingSms) -> BoxFuture<'a, Result<String, SendError>>;
    /// A short description for logs.
    fn describe(&self) -> String;
}

/// How an SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (only for a relay on the same machine or network).
    None,
    /// Plain text, then STARTTLS, required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl std::str::FromStr for SmtpTls {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "plain" => Ok(SmtpTls::None),
            "starttls" => Ok(SmtpTls::StartTls),
            "tls" | "smtps" | "wrapper" => Ok(SmtpTls::Tls),
            other => Err(format!("unknown SMTP TLS mode {other:?}; use none, starttls or tls")),
        }
    }
}

/// SMTP settings.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// Server host name.
    pub host: String,
    /// Port (587 for STARTTLS, 465 for TLS, 25 for a local relay).
    pub port: u16,
    /// Connection security.
    pub tls: SmtpTls,
    /// User name, if the server wants one.
    pub username: Option<String>,
    /// Password (never logged).
    pub password: Option<SecretString>,
    /// The sender (`Clinic <no-reply@clinic.example>`).
    pub from: String,
    /// Pooled connections.
    pub pool_size: u32,
    /// Give up on one command after this long.
    pub timeout: Duration,
}

/// Email through an SMTP server (lettre, pooled connections).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    label: String,
}

impl SmtpMailer {
    /// A mailer for `cfg`; fails when the sender address or TLS settings are unusable.
    pub fn new(cfg: &SmtpConfig) -> Result<Self, String> {
        let from: Mailbox = cfg.from.parse().map_err(|e| format!("sender address {:?}: {e}", cfg.from))?;
        let tls = match cfg.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => {
                Tls::Required(TlsParameters::new(cfg.host.clone()).map_err(|e| format!("TLS settings: {e}"))?)
            }
            SmtpTls::Tls => {
                Tls::Wrapper(TlsParameters::new(cfg.host.clone()).map_err(|e| format!("TLS settings: {e}"))?)
            }
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.clone())
            .port(cfg.port)
            .tls(tls)
            .timeout(Some(cfg.timeout))
            .pool_config(PoolConfig::new().max_size(cfg.pool_size.max(1)));
        if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
            b = b.credentials(Credentials::new(u.clone(), p.expose_secret().to_string()));
        }
        let label = format!("SMTP {}:{} ({:?})", cfg.host, cfg.port, cfg.tls);
        Ok(SmtpMailer { transport: b.build(), from, label })
    }
}

/// Builds the MIME message: plain text and HTML alternatives, an optional calendar part,
/// the stable `Message-ID` and the idempotency header.
pub fn build_message(from: &Mailbox, email: &OutgoingEmail) -> Result<Message, SendError> {
    let to_addr = email.to.parse().map_err(|e| SendError::Permanent(format!("recipient address: {e}")))?;
    let to = Mailbox::new((!email.to_name.is_empty()).then(|| email.to_name.clone()), to_addr);
    let body = MultiPart::alternative_plain_html(email.text.clone(), email.html.clone());
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(format!("<{}>", email.message_id)));
    let mut msg = if email.calendar.is_none() && email.files.is_empty() {
        builder.multipart(body)
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        if let Some(cal) = &email.calendar {
            let ct = ContentType::parse(&format!("text/calendar; charset=utf-8; method={}", cal.method))
                .map_err(|e| SendError::Permanent(format!("calendar content type: {e}")))?;
            mixed = mixed.singlepart(Attachment::new(cal.filename.clone()).body(cal.body.clone(), ct));
        }
        for f in &email.files {
            let ct = ContentType::parse(&f.content_type)
                .map_err(|e| SendError::Permanent(format!("attachment content type: {e}")))?;
            mixed = mixed.singlepart(Attachment::new(f.filename.clone()).body(f.bytes.clone(), ct));
        }
        builder.multipart(mixed)
    }
    .map_err(|e| SendError::Permanent(format!("cannot build the email: {e}")))?;
    if let Ok(name) = HeaderName::new_from_ascii("X-Idempotency-Key".into()) {
        msg.headers_mut().insert_raw(HeaderValue::new(name, email.idempotency_key.clone()));
    }
    Ok(msg)
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, email: &'a OutgoingEmail) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let msg = build_message(&self.from, email)?;
            match self.transport.send(msg).await {
                Ok(_) => Ok(format!("<{}>", email.message_id)),
                Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("SMTP refused the message: {e}"))),
                Err(e) => Err(SendError::Transient(format!("SMTP: {e}"))),
            }
        })
    }
    fn describe(&self) -> String {
        self.label.clone()
    }
}

/// Email written as `.eml` files into a directory (the zero-configuration default:
/// `<data dir>/outbox`). The file is named after the message id, so a retry rewrites the
/// same file instead of adding a second one.
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    /// A mailer writing into `dir` (created when missing).
    pub fn new(dir: PathBuf, from: &str) -> Result<Self, String> {
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let from = from.parse().map_err(|e| format!("sender address {from:?}: {e}"))?;
        Ok(FileMailer { dir, from })
    }
}

/// A file name made only of safe characters.
fn safe_file_name(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect()
}

impl Mailer for FileMailer {
    fn send<'a>(&'a self, email: &'a OutgoingEmail) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let msg = build_message(&self.from, email)?;
            let name = safe_file_name(&email.message_id);
            let tmp = self.dir.join(format!(".{name}.tmp"));
            let path = self.dir.join(format!("{name}.eml"));
            tokio::fs::write(&tmp, msg.formatted())
                .await
                .map_err(|e| SendError::Transient(format!("cannot write {}: {e}", tmp.display())))?;
            tokio::fs::rename(&tmp, &path)
                .await
                .map_err(|e| SendError::Transient(format!("cannot write {}: {e}", path.display())))?;
            Ok(format!("<{}>", email.message_id))
        })
    }
    fn describe(&self) -> String {
        format!("files in {}", self.dir.display())
    }
}

/// Email only logged (recipient and subject; never the body): for development.
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send<'a>(&'a self, email: &'a OutgoingEmail) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            tracing::info!(to = %email.to, subject = %email.subject, message_id = %email.message_id, "email (log only)");
            Ok(format!("<{}>", email.message_id))
        })
    }
    fn describe(&self) -> String {
        "log only".into()
    }
}

/// SMS only logged: for development (the default until an SMS provider is configured).
pub struct LogSms;

impl SmsSender for LogSms {
    fn send<'a>(&'a self, sms: &'a OutgoingSms) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            tracing::info!(to = %sms.to, chars = sms.body.chars().count(), "SMS (log only)");
            Ok(format!("log-{}", safe_file_name(&sms.idempotency_key)))
        })
    }
    fn describe(&self) -> String {
        "log only".into()
    }
}

/// Settings of a Twilio-compatible SMS API.
#[derive(Clone, Debug)]
pub struct TwilioConfig {
    /// `https://api.twilio.com` or a compatible provider's base URL.
    pub base_url: String,
    /// Account SID (the user name of basic auth).
    pub account_sid: String,
    /// Auth token (never logged).
    pub auth_token: SecretString,
    /// Sender number or id.
    pub from: String,
    /// Give up on a request after this long.
    pub timeout: Duration,
}

/// SMS through a Twilio-compatible HTTP API: a form-encoded `POST` to
/// `/2010-04-01/Accounts/{sid}/Messages.json` with basic auth.
pub struct TwilioSms {
    cfg: TwilioConfig,
    client: reqwest::Client,
}

impl TwilioSms {
    /// A sender for `cfg`.
    pub fn new(cfg: TwilioConfig) -> Result<Self, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(TwilioSms { cfg, client })
    }
}

#[derive(serde::Deserialize)]
struct TwilioReply {
    sid: Option<String>,
    message: Option<String>,
}

impl SmsSender for TwilioSms {
    fn send<'a>(&'a self, sms: &'a OutgoingSms) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.cfg.base_url.trim_end_matches('/'),
                self.cfg.account_sid
            );
            let res = self
                .client
                .post(&url)
                .basic_auth(&self.cfg.account_sid, Some(self.cfg.auth_token.expose_secret()))
                .header("I-Twilio-Idempotency-Token", &sms.idempotency_key)
                .header("Idempotency-Key", &sms.idempotency_key)
                .form(&[("To", sms.to.as_str()), ("From", self.cfg.from.as_str()), ("Body", sms.body.as_str())])
                .send()
                .await
                .map_err(|e| SendError::Transient(format!("SMS provider unreachable: {e}")))?;
            let status = res.status();
            let text = res.text().await.unwrap_or_default();
            let reply: Option<TwilioReply> = serde_json::from_str(&text).ok();
            if status.is_success() {
                return reply
                    .and_then(|r| r.sid)
                    .ok_or_else(|| SendError::Transient("SMS provider answered without a message sid".into()));
            }
            let detail = reply.and_then(|r| r.message).unwrap_or_else(|| text.chars().take(200).collect());
            let msg = format!("SMS provider answered {}: {detail}", status.as_u16());
            if status.as_u16() == 429 || status.is_server_error() {
                Err(SendError::Transient(msg))
            } else {
                Err(SendError::Permanent(msg))
            }
        })
    }
    fn describe(&self) -> String {
        format!("Twilio-compatible API at {}", self.cfg.base_url)
    }
}

/// A fake mailer that keeps what it was given (tests).
#[derive(Clone, Default)]
pub struct CapturingMailer {
    /// Every email sent, in order.
    pub sent: Arc<Mutex<Vec<OutgoingEmail>>>,
    /// When set, every send fails with this error.
    pub fail_with: Arc<Mutex<Option<SendError>>>,
}

impl Mailer for CapturingMailer {
    fn send<'a>(&'a self, email: &'a OutgoingEmail) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            if let Some(e) = self.fail_with.lock().map(|g| g.clone()).unwrap_or(None) {
                return Err(e);
            }
            if let Ok(mut v) = self.sent.lock() {
                v.push(email.clone());
            }
            Ok(format!("<{}>", email.message_id))
        })
    }
    fn describe(&self) -> String {
        "capturing fake".into()
    }
}

/// A fake SMS sender that keeps what it was given (tests).
#[derive(Clone, Default)]
pub struct CapturingSms {
    /// Every SMS sent, in order.
    pub sent: Arc<Mutex<Vec<OutgoingSms>>>,
}

impl SmsSender for CapturingSms {
    fn send<'a>(&'a self, sms: &'a OutgoingSms) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            if let Ok(mut v) = self.sent.lock() {
                v.push(sms.clone());
            }
            Ok(format!("fake-{}", safe_file_name(&sms.idempotency_key)))
        })
    }
    fn describe(&self) -> String {
        "capturing fake".into()
    }
}

/// The transports a worker sends through.
#[derive(Clone)]
pub struct Transports {
    /// Email.
    pub mailer: Arc<dyn Mailer>,
    /// SMS.
    pub sms: Arc<dyn SmsSender>,
}

impl Transports {
    /// Log-only email and SMS.
    pub fn log_only() -> Self {
        Transports { mailer: Arc::new(LogMailer), sms: Arc::new(LogSms) }
    }
}

type HmacSha1 = hmac::Hmac<sha1::Sha1>;

/// The MAC a Twilio-compatible provider signs its webhooks with: HMAC-SHA1 keyed with the
/// account's auth token, over the full address it called followed by every form field's
/// name and value, sorted by name.
fn twilio_mac(auth_token: &str, url: &str, fields: &[(String, String)]) -> HmacSha1 {
    use hmac::{KeyInit, Mac};
    let mut sorted: Vec<&(String, String)> = fields.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let mut mac = HmacSha1::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| <HmacSha1 as KeyInit>::new(&Default::default()));
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    mac
}

/// The `X-Twilio-Signature` for a webhook (base64 of [`twilio_mac`]).
pub fn twilio_signature(auth_token: &str, url: &str, fields: &[(String, String)]) -> String {
    use base64::Engine;
    use hmac::Mac;
    base64::engine::general_purpose::STANDARD.encode(twilio_mac(auth_token, url, fields).finalize().into_bytes())
}

/// True when `given` is the right `X-Twilio-Signature` (compared in constant time).
pub fn twilio_signature_matches(auth_token: &str, url: &str, fields: &[(String, String)], given: &str) -> bool {
    use base64::Engine;
    use hmac::Mac;
    let Ok(tag) = base64::engine::general_purpose::STANDARD.decode(given.trim()) else { return false };
    twilio_mac(auth_token, url, fields).verify_slice(&tag).is_ok()
}
