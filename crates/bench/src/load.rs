//! The HTTP phases: logging in, slot-search latency (sequential requests on one
//! keep-alive connection) and booking throughput (concurrent clients).

use crate::calendar::BookingJob;
use crate::probe::Probe;
use crate::seed::Seeded;
use crate::stats::Summary;
use anyhow::{Context, Result, bail};
use jiff::civil::Date;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A plain-HTTP client with keep-alive, no proxy and no redirects.
pub fn http_client() -> Result<reqwest::Client> {
    // reqwest is built without a default TLS provider; we only speak plain HTTP, but
    // building a client needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(60))
        .build()
        .context("build the HTTP client")
}

/// Logs in through the API; returns the bearer token.
pub async fn login(http: &reqwest::Client, base: &str, email: &str, password: &str) -> Result<String> {
    let res = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await?;
    let status = res.status();
    let body: serde_json::Value = res.json().await?;
    if status != reqwest::StatusCode::OK {
        bail!("login answered {status}: {body}");
    }
    Ok(body["token"].as_str().context("login answer without a token")?.to_string())
}

/// One request shape whose latency is measured.
#[derive(Clone, Debug)]
pub struct SearchShape {
    /// Label for the report.
    pub label: String,
    /// Paths with query strings to cycle through (one per request, round robin).
    pub paths: Vec<String>,
    /// The p95 goal (`None` for a reference measurement).
    pub goal_p95: Option<Duration>,
    /// Whether the answer is a slot table whose times are counted.
    pub counts_slots: bool,
}

impl SearchShape {
    /// Every seeded provider searched one at a time (rotating through them), `from..=until`.
    pub fn per_provider(label: &str, goal_p95: Duration, seeded: &Seeded, from: Date, until: Date) -> SearchShape {
        let paths = seeded
            .providers
            .iter()
            .map(|p| {
                format!("/api/v1/slots?service_id={}&provider_id={}&from={from}&until={until}", seeded.service, p.id)
            })
            .collect();
        SearchShape { label: label.into(), paths, goal_p95: Some(goal_p95), counts_slots: true }
    }

    /// [`SearchShape::per_provider`] through FHIR: `GET /fhir/r4/Slot` for each provider's
    /// schedule, the same days as one page of up to 1000 slots.
    pub fn fhir_per_provider(
        label: &str,
        goal_p95: Option<Duration>,
        seeded: &Seeded,
        from: Date,
        until: Date,
    ) -> Self {
        let until = until.tomorrow().unwrap_or(until);
        let paths = seeded
            .providers
            .iter()
            .map(|p| {
                format!(
                    "/fhir/r4/Slot?service-type={}&schedule=Schedule/{}&start=ge{from}&start=lt{until}&_count=1000",
                    seeded.service,
                    praxis_fhir::ids::role_id(p.id, p.clinic)
                )
            })
            .collect();
        SearchShape { label: label.into(), paths, goal_p95, counts_slots: true }
    }

    /// Every provider of one clinic, `from..=until`.
    pub fn clinic(
        label: &str,
        goal_p95: Duration,
        seeded: &Seeded,
        clinic: praxis_domain::ClinicId,
        from: Date,
        until: Date,
    ) -> Self {
        let paths =
            vec![format!("/api/v1/slots?service_id={}&clinic_id={clinic}&from={from}&until={until}", seeded.service)];
        SearchShape { label: label.into(), paths, goal_p95: Some(goal_p95), counts_slots: true }
    }

    /// A reference: the cheapest authenticated API read there is (`GET /api/v1/services/{id}`:
    /// the session lookup and one row), showing the fixed cost of any API request.
    pub fn reference(seeded: &Seeded) -> Self {
        SearchShape {
            label: "reference: `GET /api/v1/services/{id}`".into(),
            paths: vec![format!("/api/v1/services/{}", seeded.service)],
            goal_p95: None,
            counts_slots: false,
        }
    }
}

/// Latency of one request shape.
#[derive(Clone, Debug)]
pub struct SearchResult {
    /// The shape's label.
    pub label: String,
    /// Paths the shape rotated through.
    pub distinct_paths: usize,
    /// The p95 goal.
    pub goal_p95: Option<Duration>,
    /// Latency from sending the request to having read the whole body.
    pub latency: Summary,
    /// Fewest slots in one answer, most, and the mean (when the answers are slot lists).
    pub slots: Option<(usize, usize, f64)>,
    /// Mean body size in bytes.
    pub bytes_mean: f64,
    /// CPU the server process used per request (from /proc), when readable.
    pub server_cpu_per_request: Option<Duration>,
    /// CPU the PostgreSQL backends of the benchmark database used per request.
    pub postgres_cpu_per_request: Option<Duration>,
    /// Share of the machine other processes used meanwhile.
    pub other_load: Option<f64>,
}

/// Sends `warmup` untimed and then `n` timed sequential GET requests for `shape`.
/// Each answer must be 200; slot lists are counted outside the timed part.
pub async fn search_latency(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    shape: &SearchShape,
    warmup: usize,
    n: usize,
    probe: &Probe,
) -> Result<SearchResult> {
    let urls: Vec<String> = shape.paths.iter().map(|p| format!("{base}{p}")).collect();
    for i in 0..warmup {
        let (_, body) = get(http, &urls[i % urls.len()], token).await?;
        drop(body);
    }
    let before = probe.snapshot().await;
    let mut lat = Vec::with_capacity(n);
    let mut slots = Vec::with_capacity(n);
    let mut bytes = 0usize;
    for i in 0..n {
        let (took, body) = get(http, &urls[i % urls.len()], token).await?;
        lat.push(took);
        bytes += body.len();
        if shape.counts_slots {
            slots.push(count_slots(&body).with_context(|| format!("{}: the answer is not a slot table", shape.label))?);
        }
    }
    let usage = probe.usage_since(&before).await;
    let count = n.max(1);
    let slots = match (slots.iter().min(), slots.iter().max()) {
        (Some(&lo), Some(&hi)) => Some((lo, hi, slots.iter().sum::<usize>() as f64 / count as f64)),
        _ => None,
    };
    Ok(SearchResult {
        label: shape.label.clone(),
        distinct_paths: shape.paths.len(),
        goal_p95: shape.goal_p95,
        latency: Summary::of(lat),
        slots,
        bytes_mean: bytes as f64 / count as f64,
        server_cpu_per_request: usage.server.map(|c| c / count as u32),
        postgres_cpu_per_request: usage.postgres.map(|c| c / count as u32),
        other_load: usage.other_share,
    })
}

/// The free times and open sessions in a `GET /api/v1/slots` answer (its lean shape:
/// providers → days → starts and sessions; or the flat list of earlier servers).
fn count_slots(body: &[u8]) -> Result<usize> {
    #[derive(serde::Deserialize)]
    struct Table {
        providers: Vec<Provider>,
    }
    #[derive(serde::Deserialize)]
    struct Provider {
        days: Vec<Day>,
    }
    #[derive(serde::Deserialize)]
    struct Day {
        starts: Vec<serde::de::IgnoredAny>,
        sessions: Vec<serde::de::IgnoredAny>,
    }
    #[derive(serde::Deserialize)]
    struct Bundle {
        #[serde(rename = "resourceType")]
        _resource_type: String,
        #[serde(default)]
        entry: Vec<serde::de::IgnoredAny>,
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Answer {
        Table(Table),
        // A FHIR searchset Bundle of Slots.
        Bundle(Bundle),
        // The flat list servers before the lean shape answered (for before/after runs).
        List(Vec<serde::de::IgnoredAny>),
    }
    Ok(match serde_json::from_slice(body)? {
        Answer::Table(t) => t.providers.iter().flat_map(|p| &p.days).map(|d| d.starts.len() + d.sessions.len()).sum(),
        Answer::Bundle(b) => b.entry.len(),
        Answer::List(l) => l.len(),
    })
}

/// One timed GET: the time until the whole body has arrived, and the body.
async fn get(http: &reqwest::Client, url: &str, token: &str) -> Result<(Duration, Vec<u8>)> {
    let t0 = Instant::now();
    let res = http.get(url).bearer_auth(token).send().await.with_context(|| format!("GET {url}"))?;
    let status = res.status();
    let body = res.bytes().await?;
    let took = t0.elapsed();
    if status != reqwest::StatusCode::OK {
        bail!("GET {url} answered {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok((took, body.to_vec()))
}

/// What the booking phase gave.
#[derive(Clone, Debug, Default)]
pub struct BookingResult {
    /// Concurrent clients.
    pub clients: usize,
    /// 201 Created answers.
    pub created: u64,
    /// Every other outcome: `"409 urn:praxis:problem:slot_taken"`, `"transport: …"` → count.
    pub other: BTreeMap<String, u64>,
    /// From the first request sent to the last answer read.
    pub elapsed: Duration,
    /// Latency of every request.
    pub latency: Summary,
    /// Clients that ran out of planned slots before the time was up.
    pub exhausted_clients: usize,
    /// CPU the server used per created booking, when readable.
    pub server_cpu_per_booking: Option<Duration>,
    /// CPU this load generator used per created booking.
    pub client_cpu_per_booking: Option<Duration>,
    /// CPU the PostgreSQL backends of the benchmark database used per created booking.
    pub postgres_cpu_per_booking: Option<Duration>,
    /// Created bookings in each whole second of the phase (a falling series means each
    /// booking gets dearer as the table grows).
    pub per_second: Vec<u64>,
    /// Share of the machine other processes used meanwhile.
    pub other_load: Option<f64>,
}

impl BookingResult {
    /// Created bookings per second.
    pub fn per_second(&self) -> f64 {
        self.created as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

#[derive(Default)]
struct ClientOutcome {
    created: u64,
    other: BTreeMap<String, u64>,
    latency: Vec<Duration>,
    created_at: Vec<Instant>,
    exhausted: bool,
    started: Option<Instant>,
    finished: Option<Instant>,
}

/// `plans.len()` clients, each with its own keep-alive connection, book their planned
/// slots with `POST /api/v1/appointments` one after another until `duration` is up.
pub async fn booking_throughput(
    base: &str,
    token: &str,
    seeded: &Seeded,
    plans: Vec<Vec<BookingJob>>,
    duration: Duration,
    probe: &Probe,
) -> Result<BookingResult> {
    let clients = plans.len();
    let barrier = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let url = Arc::new(format!("{base}/api/v1/appointments"));
    let mut tasks = Vec::with_capacity(clients);
    for (c, plan) in plans.into_iter().enumerate() {
        let http = http_client()?;
        let barrier = barrier.clone();
        let url = url.clone();
        let token = token.to_string();
        let base = base.to_string();
        let service = seeded.service;
        let providers = seeded.providers.clone();
        let patients = seeded.patients.clone();
        tasks.push(tokio::spawn(async move {
            // Open this client's connection before the clock starts.
            let warm = http.get(format!("{base}/healthz")).send().await;
            let mut out = ClientOutcome::default();
            barrier.wait().await;
            let started = Instant::now();
            let deadline = started + duration;
            out.started = Some(started);
            out.exhausted = true;
            for (i, job) in plan.iter().enumerate() {
                if Instant::now() >= deadline {
                    out.exhausted = false;
                    break;
                }
                let p = &providers[job.provider];
                let body = serde_json::json!({
                    "service_id": service,
                    "provider_id": p.id,
                    "clinic_id": p.clinic,
                    "start": job.start.to_string(),
                    "patient_id": patients[(c * 7919 + i) % patients.len()],
                });
                let t0 = Instant::now();
                let res = http.post(url.as_str()).bearer_auth(&token).json(&body).send().await;
                let outcome = match res {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let text = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                        if status == 201 {
                            None
                        } else {
                            let kind = serde_json::from_slice::<serde_json::Value>(&text)
                                .ok()
                                .and_then(|v| v["type"].as_str().map(str::to_string))
                                .unwrap_or_default();
                            Some(format!("{status} {kind}"))
                        }
                    }
                    Err(e) => Some(format!("transport error: {e}")),
                };
                let done = Instant::now();
                out.latency.push(done.duration_since(t0));
                match outcome {
                    None => {
                        out.created += 1;
                        out.created_at.push(done);
                    }
                    Some(k) => *out.other.entry(k).or_default() += 1,
                }
            }
            out.finished = Some(Instant::now());
            if let Err(e) = warm {
                *out.other.entry(format!("warm-up error: {e}")).or_default() += 1;
            }
            out
        }));
    }
    let before = probe.snapshot().await;
    barrier.wait().await;
    let mut result = BookingResult { clients, ..BookingResult::default() };
    let mut first: Option<Instant> = None;
    let mut last: Option<Instant> = None;
    let mut lat = Vec::new();
    let mut created_at = Vec::new();
    for t in tasks {
        let o = t.await.context("booking client task")?;
        result.created += o.created;
        for (k, v) in o.other {
            *result.other.entry(k).or_default() += v;
        }
        result.exhausted_clients += usize::from(o.exhausted);
        lat.extend(o.latency);
        created_at.extend(o.created_at);
        first = match (first, o.started) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        last = match (last, o.finished) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    let usage = probe.usage_since(&before).await;
    result.other_load = usage.other_share;
    if let (Some(a), Some(b)) = (first, last) {
        result.elapsed = b.duration_since(a);
        let seconds = duration.as_secs() as usize;
        result.per_second = vec![0; seconds.max(1)];
        for t in created_at {
            let i = t.duration_since(a).as_secs() as usize;
            if let Some(n) = result.per_second.get_mut(i) {
                *n += 1;
            }
        }
    }
    result.latency = Summary::of(lat);
    let per = |c: Option<Duration>| c.map(|c| c / (result.created.max(1) as u32));
    result.server_cpu_per_booking = per(usage.server);
    result.client_cpu_per_booking = per(usage.own);
    result.postgres_cpu_per_booking = per(usage.postgres);
    Ok(result)
}

/// A cookie-keeping client logged in through the web login form, as a browser would be:
/// `GET /login` (the pre-session cookie and the form's CSRF token), then `POST /login`
/// with the form (303 and the session cookie). At most one idle connection is kept, so
/// sequential requests share one keep-alive connection.
pub async fn browser_login(base: &str, email: &str, password: &str) -> Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(60))
        .build()
        .context("build the browser client")?;
    let page = client.get(format!("{base}/login")).send().await?.text().await?;
    let marker = "name=\"_csrf\" value=\"";
    let start = page.find(marker).context("no CSRF token on /login")? + marker.len();
    let csrf = page[start..].split('"').next().context("unterminated CSRF token on /login")?.to_string();
    let res = client
        .post(format!("{base}/login"))
        .form(&[("email", email), ("password", password), ("_csrf", csrf.as_str())])
        .send()
        .await?;
    let status = res.status();
    if status != reqwest::StatusCode::SEE_OTHER {
        let body = res.text().await.unwrap_or_default();
        bail!("form login answered {status} (expected 303): {}", body.chars().take(300).collect::<String>());
    }
    Ok(client)
}

/// One HTML page whose server-side render time is measured.
#[derive(Clone, Debug)]
pub struct PageShape {
    /// Label for the report.
    pub label: String,
    /// What the paths rotate over ("30 providers", "5 days").
    pub rotation: String,
    /// Paths with query strings to cycle through (one per request, round robin).
    pub paths: Vec<String>,
    /// The p95 goal.
    pub goal_p95: Duration,
}

/// Latency and size of one page shape.
#[derive(Clone, Debug)]
pub struct PageResult {
    /// The shape's label.
    pub label: String,
    /// What the paths rotated over.
    pub rotation: String,
    /// The p95 goal.
    pub goal_p95: Duration,
    /// Latency from sending the request to having read the whole body.
    pub latency: Summary,
    /// Smallest, largest and mean body in bytes (HTML, uncompressed: no compression asked for).
    pub bytes: (usize, usize, f64),
    /// Appointment links per page: fewest, most, mean.
    pub entries: (usize, usize, f64),
    /// CPU the server process used per request (from /proc), when readable.
    pub server_cpu_per_request: Option<Duration>,
    /// CPU the PostgreSQL backends of the benchmark database used per request.
    pub postgres_cpu_per_request: Option<Duration>,
    /// Share of the machine other processes used meanwhile.
    pub other_load: Option<f64>,
}

/// Sends `warmup` untimed and then `n` timed sequential GETs for `shape` with the
/// browser's cookies, on one keep-alive connection. Every answer must be 200 HTML.
pub async fn page_latency(
    browser: &reqwest::Client,
    base: &str,
    shape: &PageShape,
    warmup: usize,
    n: usize,
    probe: &Probe,
) -> Result<PageResult> {
    let urls: Vec<String> = shape.paths.iter().map(|p| format!("{base}{p}")).collect();
    for i in 0..warmup {
        page_get(browser, &urls[i % urls.len()]).await?;
    }
    let before = probe.snapshot().await;
    let mut lat = Vec::with_capacity(n);
    let mut sizes = Vec::with_capacity(n);
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        let (took, body) = page_get(browser, &urls[i % urls.len()]).await?;
        lat.push(took);
        sizes.push(body.len());
        entries.push(String::from_utf8_lossy(&body).matches("href=\"/appointments/0").count());
    }
    let usage = probe.usage_since(&before).await;
    let count = n.max(1);
    let spread = |v: &[usize]| {
        (
            v.iter().copied().min().unwrap_or(0),
            v.iter().copied().max().unwrap_or(0),
            v.iter().sum::<usize>() as f64 / count as f64,
        )
    };
    Ok(PageResult {
        label: shape.label.clone(),
        rotation: shape.rotation.clone(),
        goal_p95: shape.goal_p95,
        latency: Summary::of(lat),
        bytes: spread(&sizes),
        entries: spread(&entries),
        server_cpu_per_request: usage.server.map(|c| c / count as u32),
        postgres_cpu_per_request: usage.postgres.map(|c| c / count as u32),
        other_load: usage.other_share,
    })
}

/// One timed page GET: the time until the whole body has arrived, and the body.
async fn page_get(browser: &reqwest::Client, url: &str) -> Result<(Duration, Vec<u8>)> {
    let t0 = Instant::now();
    let res = browser.get(url).send().await.with_context(|| format!("GET {url}"))?;
    let status = res.status();
    let body = res.bytes().await?;
    let took = t0.elapsed();
    if status != reqwest::StatusCode::OK {
        bail!("GET {url} answered {status}: {}", String::from_utf8_lossy(&body).chars().take(300).collect::<String>());
    }
    Ok((took, body.to_vec()))
}
