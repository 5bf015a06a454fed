//! Real local servers for the edges Praxis talks to: an SMTP server (EHLO/HELO, MAIL,
//! RCPT, DATA, RSET, NOOP, QUIT) that keeps what it receives, with an outage mode and a
//! configurable delay before it answers DATA; a Twilio-compatible SMS API that checks
//! the request shape and basic auth; and a webhook receiver that answers from a plan.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One email as the SMTP server received it.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// `MAIL FROM` address.
    pub from: String,
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message (headers and body, dot-unstuffed, CRLF line ends).
    pub data: String,
}

impl ReceivedMail {
    /// The raw header block.
    pub fn headers(&self) -> &str {
        self.data.split("\r\n\r\n").next().unwrap_or("")
    }

    /// A header's value (unfolded), case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut out: Option<String> = None;
        let mut current = false;
        for line in self.headers().split("\r\n") {
            if line.starts_with(' ') || line.starts_with('\t') {
                if current && let Some(v) = out.as_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if out.is_some() && current {
                break;
            }
            current = false;
            if let Some((n, v)) = line.split_once(':')
                && n.trim().eq_ignore_ascii_case(name)
            {
                out = Some(v.trim().to_string());
                current = true;
            }
        }
        out
    }

    /// The `Message-ID` header.
    pub fn message_id(&self) -> String {
        self.header("Message-ID").unwrap_or_default()
    }

    /// The MIME parts decoded to text (quoted-printable and base64 bodies decoded), for
    /// checking what a person would read: `(content type, text)`.
    pub fn parts(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let data = &self.data;
        let mut rest = data.as_str();
        // Split on every boundary marker line ("--xyz"); each part has headers and a body.
        while let Some(i) = rest.find("\r\n--") {
            rest = &rest[i + 4..];
            let Some(eol) = rest.find("\r\n") else { break };
            let after = &rest[eol + 2..];
            let Some(hdr_end) = after.find("\r\n\r\n") else { break };
            let headers = &after[..hdr_end];
            let body_start = &after[hdr_end + 4..];
            let body_end = body_start.find("\r\n--").unwrap_or(body_start.len());
            let body = &body_start[..body_end];
            let lower = headers.to_ascii_lowercase();
            let ctype = lower
                .split("\r\n")
                .find(|l| l.starts_with("content-type:"))
                .map(|l| l["content-type:".len()..].trim().to_string())
                .unwrap_or_default();
            if ctype.starts_with("multipart/") {
                continue;
            }
            let decoded = if lower.contains("content-transfer-encoding: base64") {
                use base64::Engine;
                let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map(|b| String::from_utf8_lossy(&b).to_string())
                    .unwrap_or_default()
            } else if lower.contains("content-transfer-encoding: quoted-printable") {
                decode_qp(body)
            } else {
                body.to_string()
            };
            out.push((ctype, decoded));
        }
        out
    }

    /// The decoded text of the first part whose content type starts with `ctype`.
    pub fn part(&self, ctype: &str) -> Option<String> {
        self.parts().into_iter().find(|(t, _)| t.starts_with(ctype)).map(|(_, b)| b)
    }
}

fn decode_qp(s: &str) -> String {
    let mut bytes = Vec::new();
    let raw = s.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'=' {
            if i + 2 < raw.len() + 1 && raw.get(i + 1) == Some(&b'\r') && raw.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if let (Some(a), Some(b)) = (raw.get(i + 1), raw.get(i + 2))
                && let Ok(v) = u8::from_str_radix(&format!("{}{}", *a as char, *b as char), 16)
            {
                bytes.push(v);
                i += 3;
                continue;
            }
        }
        bytes.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&bytes).to_string()
}

#[derive(Default)]
struct SmtpState {
    mail: Mutex<Vec<ReceivedMail>>,
    outage: AtomicBool,
    data_delay_ms: AtomicU64,
    connections: AtomicU64,
    refused: AtomicU64,
}

/// A real SMTP server on 127.0.0.1 that keeps every message it accepts.
///
/// - Recipients whose address starts with `bounce` are refused permanently (`550`).
/// - In outage mode every new connection and every command is answered `421` (a
///   temporary failure) and the connection is closed.
/// - `set_data_delay` holds the answer to `DATA` (the message is already stored), which
///   lets a test kill a sender in the middle of a send.
#[derive(Clone)]
pub struct SmtpSink {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<SmtpState>,
}

impl SmtpSink {
    /// Starts the server on 127.0.0.1 with a free port.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP sink");
        let addr = listener.local_addr().expect("sink address");
        let state = Arc::new(SmtpState::default());
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { continue };
                let st = st.clone();
                tokio::spawn(async move {
                    let _ = session(sock, st).await;
                });
            }
        });
        SmtpSink { addr, state }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.state.mail.lock().unwrap().clone()
    }

    /// Number of messages accepted so far.
    pub fn count(&self) -> usize {
        self.state.mail.lock().unwrap().len()
    }

    /// Starts or ends an outage.
    pub fn set_outage(&self, on: bool) {
        self.state.outage.store(on, Ordering::SeqCst);
    }

    /// Holds each answer to DATA this long (after storing the message).
    pub fn set_data_delay(&self, d: Duration) {
        self.state.data_delay_ms.store(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Commands refused because of an outage.
    pub fn refused(&self) -> u64 {
        self.state.refused.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` messages arrived, or `timeout` passes; returns the count.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let c = self.count();
            if c >= n || tokio::time::Instant::now() >= deadline {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn session(sock: tokio::net::TcpStream, st: Arc<SmtpState>) -> std::io::Result<()> {
    st.connections.fetch_add(1, Ordering::SeqCst);
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    if st.outage.load(Ordering::SeqCst) {
        st.refused.fetch_add(1, Ordering::SeqCst);
        w.write_all(b"421 4.3.2 sink: service not available, try again later\r\n").await?;
        return Ok(());
    }
    w.write_all(b"220 sink.test ESMTP Praxis test sink\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if st.outage.load(Ordering::SeqCst) && !upper.starts_with("QUIT") {
            st.refused.fetch_add(1, Ordering::SeqCst);
            w.write_all(b"421 4.3.2 sink: service not available, closing\r\n").await?;
            return Ok(());
        }
        if upper.starts_with("EHLO") {
            w.write_all(b"250-sink.test greets you\r\n250-8BITMIME\r\n250 SIZE 20000000\r\n").await?;
        } else if upper.starts_with("HELO") {
            w.write_all(b"250 sink.test\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&cmd[10..]);
            to.clear();
            w.write_all(b"250 2.1.0 ok\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            let addr = address(&cmd[8..]);
            if addr.to_ascii_lowercase().starts_with("bounce") {
                w.write_all(b"550 5.1.1 sink: no such mailbox here\r\n").await?;
            } else {
                to.push(addr);
                w.write_all(b"250 2.1.5 ok\r\n").await?;
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                w.write_all(b"554 5.5.1 no valid recipients\r\n").await?;
                continue;
            }
            w.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l.trim_end_matches(['\r', '\n']));
                data.push_str("\r\n");
            }
            st.mail.lock().unwrap().push(ReceivedMail { from: from.clone(), to: std::mem::take(&mut to), data });
            let delay = st.data_delay_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            w.write_all(b"250 2.0.0 queued\r\n").await?;
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            w.write_all(b"250 2.0.0 ok\r\n").await?;
        } else if upper.starts_with("NOOP") {
            w.write_all(b"250 2.0.0 ok\r\n").await?;
        } else if upper.starts_with("QUIT") {
            w.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"502 5.5.2 command not implemented\r\n").await?;
        }
    }
}

/// `<a@b> SIZE=1` → `a@b`.
fn address(s: &str) -> String {
    let s = s.trim();
    match (s.find('<'), s.find('>')) {
        (Some(a), Some(b)) if b > a => s[a + 1..b].to_string(),
        _ => s.split_whitespace().next().unwrap_or("").to_string(),
    }
}

/// One SMS as the fake provider received it.
#[derive(Clone, Debug)]
pub struct ReceivedSms {
    /// Account in the path.
    pub account: String,
    /// `To`.
    pub to: String,
    /// `From`.
    pub from: String,
    /// `Body`.
    pub body: String,
    /// `I-Twilio-Idempotency-Token` header.
    pub idempotency_token: Option<String>,
    /// The sid it was given.
    pub sid: String,
}

#[derive(Default)]
struct SmsState {
    sms: Mutex<Vec<ReceivedSms>>,
    rejected: Mutex<Vec<String>>,
    counter: AtomicU64,
}

/// A Twilio-compatible SMS API on 127.0.0.1: `POST /2010-04-01/Accounts/{sid}/Messages.json`
/// with basic auth `sid:token` and a form body (`To`, `From`, `Body`). Wrong auth is 401,
/// a wrong shape 400, the number `+15005550001` is refused as invalid (400, like Twilio's
/// magic test number).
#[derive(Clone)]
pub struct SmsSink {
    /// Base URL (`http://127.0.0.1:port`).
    pub base_url: String,
    /// Account SID it expects.
    pub account_sid: String,
    /// Auth token it expects.
    pub auth_token: String,
    state: Arc<SmsState>,
}

impl SmsSink {
    /// Starts the server.
    pub async fn start() -> SmsSink {
        use axum::routing::post;
        let account_sid = "AC0123456789abcdef0123456789abcdef".to_string();
        let auth_token = "test-token-secret".to_string();
        let state = Arc::new(SmsState::default());
        let (sid, token, st) = (account_sid.clone(), auth_token.clone(), state.clone());
        let app = axum::Router::new().route(
            "/2010-04-01/Accounts/{sid}/Messages.json",
            post(move |path: axum::extract::Path<String>, headers: axum::http::HeaderMap, body: String| {
                let (sid, token, st) = (sid.clone(), token.clone(), st.clone());
                async move { sms_handler(path.0, headers, body, &sid, &token, &st) }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMS sink");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SmsSink { base_url: format!("http://{addr}"), account_sid, auth_token, state }
    }

    /// Every SMS accepted.
    pub fn messages(&self) -> Vec<ReceivedSms> {
        self.state.sms.lock().unwrap().clone()
    }

    /// Why requests were rejected.
    pub fn rejected(&self) -> Vec<String> {
        self.state.rejected.lock().unwrap().clone()
    }
}

fn sms_handler(
    path_sid: String,
    headers: axum::http::HeaderMap,
    body: String,
    sid: &str,
    token: &str,
    st: &SmsState,
) -> (axum::http::StatusCode, String) {
    use axum::http::StatusCode;
    use base64::Engine;
    let reject = |status: StatusCode, why: &str| {
        st.rejected.lock().unwrap().push(why.to_string());
        (status, serde_json::json!({ "code": 20001, "message": why, "status": status.as_u16() }).to_string())
    };
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}")));
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if auth != expected || path_sid != sid {
        return reject(StatusCode::UNAUTHORIZED, "authentication failed");
    }
    let ctype = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ctype.starts_with("application/x-www-form-urlencoded") {
        return reject(StatusCode::BAD_REQUEST, "expected a form-encoded body");
    }
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let (Some(to), Some(from), Some(text)) = (form.get("To"), form.get("From"), form.get("Body")) else {
        return reject(StatusCode::BAD_REQUEST, "To, From and Body are required");
    };
    if !to.starts_with('+') || text.is_empty() {
        return reject(StatusCode::BAD_REQUEST, "To must be E.164 and Body non-empty");
    }
    if to == "+15005550001" {
        return reject(StatusCode::BAD_REQUEST, "The 'To' number +15005550001 is not a valid phone number.");
    }
    let n = st.counter.fetch_add(1, Ordering::SeqCst) + 1;
    let msid = format!("SM{n:032}");
    st.sms.lock().unwrap().push(ReceivedSms {
        account: path_sid,
        to: to.clone(),
        from: from.clone(),
        body: text.clone(),
        idempotency_token: headers.get("i-twilio-idempotency-token").and_then(|v| v.to_str().ok()).map(str::to_string),
        sid: msid.clone(),
    });
    (StatusCode::CREATED, serde_json::json!({ "sid": msid, "status": "queued", "to": to }).to_string())
}

/// How the webhook sink answers one delivery.
#[derive(Clone, Copy, Debug)]
pub enum WebhookReply {
    /// Answer at once with this status.
    Status(u16),
    /// Wait this long, then answer 200 (a receiver that hangs).
    Hang(Duration),
}

/// A delivery the webhook sink received.
#[derive(Clone, Debug)]
pub struct ReceivedWebhook {
    /// Headers, names in lower case.
    pub headers: std::collections::HashMap<String, String>,
    /// The exact body.
    pub body: String,
}

#[derive(Default)]
struct WebhookState {
    got: Mutex<Vec<ReceivedWebhook>>,
    plan: Mutex<std::collections::VecDeque<WebhookReply>>,
    count: AtomicU64,
}

/// A real HTTP server receiving webhook deliveries at `/hooks`: keeps every request and
/// answers from a plan of replies, then 200.
#[derive(Clone)]
pub struct WebhookSink {
    /// The address to register (`http://127.0.0.1:port/hooks`).
    pub url: String,
    state: Arc<WebhookState>,
}

impl WebhookSink {
    /// Starts the server with a plan of replies.
    pub async fn start(plan: Vec<WebhookReply>) -> WebhookSink {
        use axum::routing::post;
        let state = Arc::new(WebhookState { plan: Mutex::new(plan.into()), ..Default::default() });
        let st = state.clone();
        let app = axum::Router::new().route(
            "/hooks",
            post(move |headers: axum::http::HeaderMap, body: String| {
                let st = st.clone();
                async move {
                    let headers = headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                        .collect();
                    st.got.lock().unwrap().push(ReceivedWebhook { headers, body });
                    st.count.fetch_add(1, Ordering::SeqCst);
                    let reply = st.plan.lock().unwrap().pop_front().unwrap_or(WebhookReply::Status(200));
                    let status = match reply {
                        WebhookReply::Status(s) => s,
                        WebhookReply::Hang(d) => {
                            tokio::time::sleep(d).await;
                            200
                        }
                    };
                    let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK);
                    (status, if status.is_success() { "ok" } else { "receiver is down" })
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind webhook sink");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookSink { url: format!("http://{addr}/hooks"), state }
    }

    /// Every delivery received, in order.
    pub fn received(&self) -> Vec<ReceivedWebhook> {
        self.state.got.lock().unwrap().clone()
    }

    /// How many deliveries arrived.
    pub fn count(&self) -> u64 {
        self.state.count.load(Ordering::SeqCst)
    }
}
