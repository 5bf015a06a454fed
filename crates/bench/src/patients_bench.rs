//! `praxis-patients-bench`: patient search and the clinical chart at clinic-group size.
//!
//! 1. Registers `--patients` patients (default 100,000: names with accents, phones,
//!    emails, record numbers) through the import service, timing it.
//! 2. Serves Praxis on a loopback port (in this process, the same router as
//!    `praxis serve`) and times patient searches over HTTP by kind: part of a family
//!    name, given and family name, phone digits, record number, part of an email.
//! 3. Writes `--notes` signed notes (default 500) for one patient, then times opening
//!    that chart: the notes API, the notes tab and the summary page.
//! 4. Times sealing and opening one note's content against serialising it alone (the
//!    encryption overhead per note).
//!
//! ```sh
//! cargo build --release -p praxis-bench --bin praxis-patients-bench
//! target/release/praxis-patients-bench --db sqlite
//! target/release/praxis-patients-bench --db postgres --url postgres://postgres@127.0.0.1:5432/postgres
//! ```

#[path = "stats.rs"]
#[allow(dead_code)]
mod stats;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use praxis_domain::Role;
use praxis_services::clinical::{NewNote, NoteContent, NoteKind, Score};
use praxis_services::crypto::{KeyRing, aad};
use praxis_services::patients::NewPatient;
use praxis_services::{Actor, Services};
use praxis_testkit::{Browser, TestApp, TestDb, test_settings};
use stats::{Summary, ms, thousands};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Patient search and chart benchmark.
#[derive(Parser, Debug)]
struct Args {
    /// Database: a fresh SQLite file, or a fresh PostgreSQL database made through --url.
    #[arg(long, value_enum, default_value = "sqlite")]
    db: Backend,
    /// PostgreSQL administrative URL (a database is created and dropped through it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    url: String,
    /// Patients to register.
    #[arg(long, default_value_t = 100_000)]
    patients: usize,
    /// Signed notes in the measured chart.
    #[arg(long, default_value_t = 500)]
    notes: usize,
    /// Timed requests per search kind.
    #[arg(long, default_value_t = 300)]
    requests: usize,
}

const GIVEN: &[&str] = &[
    "José", "Zoë", "Amélie", "Søren", "Priya", "Mei", "Liam", "Olivia", "Noah", "Aarav", "Fatima", "Chloé", "Mateo",
    "Ananya", "Jack", "Isla", "Kai", "Leilani", "Tomás", "Ingrid", "Yusuf", "Hana", "Ravi", "Siobhán", "Björn",
];
const FAMILY: &[&str] = &[
    "Núñez",
    "Nguyen",
    "Smith",
    "O'Brien",
    "Raghunathan",
    "Müller",
    "Kowalski",
    "Tanaka",
    "Okafor",
    "García",
    "Fernández",
    "Chen",
    "Patel",
    "Williams",
    "Brown",
    "Jones",
    "Singh",
    "Kim",
    "Dubois",
    "Rossi",
    "Papadopoulos",
    "Ivanova",
    "Haddad",
    "Lindqvist",
    "MacDonald",
    "Ó Briain",
    "Zhang",
    "Kaur",
    "Wilson",
    "Taylor",
];

/// A small deterministic generator (SplitMix64), so every run seeds the same patients.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The `i`-th seeded patient: its name, phone and email are unique enough that searches
/// find a handful, as in a real register.
fn patient(i: usize, dice: &mut Dice) -> NewPatient {
    let given = dice.pick(GIVEN);
    let family = dice.pick(FAMILY);
    let year = 1940 + dice.below(80) as i16;
    let month = 1 + dice.below(12) as i8;
    let day = 1 + dice.below(28) as i8;
    NewPatient {
        given_name: given.to_string(),
        family_name: format!("{family}{}", if i.is_multiple_of(7) { "-Lee" } else { "" }),
        email: Some(format!("p{i}.{}@example.org", family.to_lowercase().replace([' ', '\''], ""))),
        phone: Some(format!("+61 4{:02} {:03} {:03}", i / 1_000_000 % 100, i / 1000 % 1000, i % 1000)),
        date_of_birth: jiff::civil::Date::new(year, month, day).ok(),
        address: format!("{} {} Street, Sydney NSW 2000", 1 + dice.below(300), dice.pick(FAMILY)),
        ..NewPatient::default()
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let test_db = Arc::new(match args.db {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => TestDb::postgres(&args.url).await,
    });
    let app = TestApp::spawn_on(test_db.clone(), test_settings()).await;
    let sys = Actor::system("bench");
    println!(
        "database: {:?}; patients: {}; notes in the chart: {}",
        args.db,
        thousands(args.patients as u64),
        args.notes
    );

    // 1. The register.
    let mut dice = Dice(42);
    let started = Instant::now();
    let mut done = 0;
    while done < args.patients {
        let n = (args.patients - done).min(5000);
        let rows: Vec<NewPatient> = (done..done + n).map(|i| patient(i, &mut dice)).collect();
        let report = app.svc.import_patients(&sys, rows).await.map_err(|e| anyhow::anyhow!("import: {e}"))?;
        if !report.refused.is_empty() {
            bail!("the generator made invalid patients: {:?}", &report.refused[..1]);
        }
        done += n;
    }
    let took = started.elapsed();
    println!(
        "registered {} patients in {:.1} s ({:.0} per second, a transaction per 500)",
        thousands(done as u64),
        took.as_secs_f64(),
        done as f64 / took.as_secs_f64()
    );

    // 2. Search over HTTP.
    let (_, token) = app.user_with_token(Role::Staff).await;
    let http = app.client();
    let samples = (0..args.requests).map(|k| (k * 7919) % args.patients.max(1)).collect::<Vec<_>>();
    let mut dice = Dice(42);
    let seeded: Vec<NewPatient> = (0..args.patients).map(|i| patient(i, &mut dice)).collect();
    let kinds: Vec<(&str, Box<dyn Fn(usize) -> String>)> = vec![
        ("part of a family name", Box::new(|i: usize| seeded[i].family_name.chars().take(4).collect())),
        ("given and family name", Box::new(|i: usize| format!("{} {}", seeded[i].given_name, seeded[i].family_name))),
        (
            "phone digits",
            Box::new(|i: usize| seeded[i].phone.clone().unwrap_or_default().replace(' ', "")[5..].to_string()),
        ),
        ("record number", Box::new(|i: usize| format!("P{:06}", i + 1))),
        (
            "email before the @",
            Box::new(|i: usize| {
                let email = seeded[i].email.clone().unwrap_or_default();
                email.split('@').next().unwrap_or_default().to_string()
            }),
        ),
    ];
    println!();
    println!("| search | requests | p50 ms | p95 ms | p99 ms | mean matches |");
    println!("|---|---|---|---|---|---|");
    for (label, query) in &kinds {
        for &i in samples.iter().take(20) {
            search(&http, &app.base, &token, &query(i)).await?;
        }
        let mut times = Vec::with_capacity(samples.len());
        let mut matches = 0u64;
        for &i in &samples {
            let t = Instant::now();
            matches += search(&http, &app.base, &token, &query(i)).await?;
            times.push(t.elapsed());
        }
        let s = Summary::of(times);
        println!(
            "| {label} | {} | {} | {} | {} | {:.1} |",
            s.n,
            ms(s.p50),
            ms(s.p95),
            ms(s.p99),
            matches as f64 / s.n as f64
        );
    }

    // 3. A chart with many notes.
    let f = app.fixture().await;
    let booking = praxis_services::scheduling::BookingRequest {
        service_id: Some(f.service.id),
        provider_id: Some(f.provider.id),
        clinic_id: Some(f.clinic.id),
        start: Some("2026-03-02T23:00:00Z".parse()?),
        patient_id: Some(f.patient.id),
        ..Default::default()
    };
    app.svc.book(&sys, booking, None).await.map_err(|e| anyhow::anyhow!("book: {e}"))?;
    let author = Actor {
        user_id: Some(f.provider.user_id),
        roles: praxis_domain::Roles::of(&[Role::Provider]),
        name: "Dr Bench".into(),
        ..sys.clone()
    };
    let started = Instant::now();
    for i in 0..args.notes {
        let n = app.svc.create_note(&author, f.patient.id, note(i)).await.map_err(|e| anyhow::anyhow!("note: {e}"))?;
        app.svc.sign_note(&author, n.id).await.map_err(|e| anyhow::anyhow!("sign: {e}"))?;
    }
    let per_note = started.elapsed() / args.notes.max(1) as u32;
    println!();
    println!(
        "wrote and signed {} notes: {} ms per note (two transactions, sealing, two audit rows)",
        args.notes,
        ms(per_note)
    );
    let provider_token = app.api_login(&f.provider_user).await;
    let browser = app.browser_login(&f.provider_user).await;
    println!();
    println!("| chart with {} notes | requests | p50 ms | p95 ms | p99 ms | bytes |", args.notes);
    println!("|---|---|---|---|---|---|");
    for (label, query) in [
        ("notes API, first page (50 notes opened and checked)", "per_page=50"),
        ("notes API, largest page (200 notes)", "per_page=200"),
    ] {
        let api = format!("{}/api/v1/patients/{}/notes?{query}", app.base, f.patient.id);
        let summary = timed(30, || {
            let http = http.clone();
            let api = api.clone();
            let token = provider_token.clone();
            async move {
                let res = http.get(&api).bearer_auth(&token).send().await?;
                if !res.status().is_success() {
                    bail!("{api}: {}", res.status());
                }
                Ok(res.bytes().await?.len())
            }
        })
        .await?;
        print_row(label, summary);
    }
    let last_page = args.notes.div_ceil(20).max(1);
    for (label, path) in [
        ("notes tab (HTML, first page of 20)", format!("/patients/{}/notes", f.patient.id)),
        ("notes tab (HTML, last page)", format!("/patients/{}/notes?page={last_page}", f.patient.id)),
        ("summary tab (HTML, latest five notes)", format!("/patients/{}", f.patient.id)),
    ] {
        let s = timed(30, || page(&browser, path.clone())).await?;
        print_row(label, s);
    }

    // 4. Encryption overhead per note.
    println!();
    encryption_overhead(&app.svc)?;
    Ok(())
}

fn print_row(label: &str, (s, bytes): (Summary, usize)) {
    println!("| {label} | {} | {} | {} | {} | {} |", s.n, ms(s.p50), ms(s.p95), ms(s.p99), thousands(bytes as u64));
}

/// Runs `f` a few times untimed, then `n` times timed.
async fn timed<F, Fut>(n: usize, f: F) -> Result<(Summary, usize)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<usize>>,
{
    for _ in 0..3 {
        f().await?;
    }
    let mut times = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let t = Instant::now();
        bytes = f().await?;
        times.push(t.elapsed());
    }
    Ok((Summary::of(times), bytes))
}

async fn page(browser: &Browser, path: String) -> Result<usize> {
    let (status, body) = browser.get(&path).await;
    if status != 200 {
        bail!("{path}: {status}");
    }
    Ok(body.len())
}

async fn search(http: &reqwest::Client, base: &str, token: &str, q: &str) -> Result<u64> {
    let q: String = q
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let res = http.get(format!("{base}/api/v1/patients?q={q}")).bearer_auth(token).send().await?;
    if !res.status().is_success() {
        bail!("search {q:?}: {}", res.status());
    }
    let page: serde_json::Value = res.json().await?;
    page["total"].as_u64().context("a page has a total")
}

/// The `i`-th note: alternately a progress note, a therapy session and an assessment,
/// each a few hundred words as clinicians write them.
fn note(i: usize) -> NewNote {
    let para = "Reports better sleep this week and fewer intrusive thoughts; practised the breathing exercise most days. \
                Mood 6/10. Discussed returning to work part-time and the supports needed. ";
    match i % 3 {
        0 => NewNote { content: NoteContent { text: para.repeat(4), ..Default::default() }, ..Default::default() },
        1 => NewNote {
            kind: Some(NoteKind::TherapySession),
            content: NoteContent {
                objectives: "Reduce avoidance of public transport.".into(),
                activities: "Graded exposure step 4; thought record review.".into(),
                observations: para.repeat(2),
                progress: "Completed step 4 with moderate anxiety.".into(),
                homework: "Two bus trips before next session.".into(),
                plan: "Step 5 next session.".into(),
                patient_response: "Engaged; pleased with progress.".into(),
                ..Default::default()
            },
            ..Default::default()
        },
        _ => NewNote {
            kind: Some(NoteKind::Assessment),
            assessment_kind: Some(praxis_services::clinical::AssessmentKind::Progress),
            content: NoteContent {
                findings: para.repeat(2),
                recommendations: "Continue weekly CBT for six sessions.".into(),
                goals: vec!["Return to work three days a week".into(), "Use public transport alone".into()],
                scores: vec![Score { measure: "PHQ-9".into(), value: "11".into(), interpretation: "moderate".into() }],
                ..Default::default()
            },
            ..Default::default()
        },
    }
}

/// Sealing and opening one note's content, against serialising and parsing it alone.
fn encryption_overhead(svc: &Services) -> Result<()> {
    let keys: &KeyRing = svc.keys();
    let content = note(0).content;
    let rounds = 20_000;
    let place = aad("clinical_notes", "content", uuid_like());
    let t = Instant::now();
    let mut json = String::new();
    for _ in 0..rounds {
        json = serde_json::to_string(&content)?;
        let back: NoteContent = serde_json::from_str(&json)?;
        std::hint::black_box(back);
    }
    let plain = t.elapsed() / rounds;
    let t = Instant::now();
    for _ in 0..rounds {
        let sealed = keys.seal_str(&place, &json).map_err(|e| anyhow::anyhow!("{e}"))?;
        let opened = keys.open_str(&place, &sealed).map_err(|e| anyhow::anyhow!("{e}"))?;
        std::hint::black_box(opened);
    }
    let crypto = t.elapsed() / rounds;
    println!(
        "note content of {} bytes: serialise + parse {:.1} µs; seal + open {:.1} µs more per note ({} rounds)",
        json.len(),
        micros(plain),
        micros(crypto),
        thousands(u64::from(rounds))
    );
    Ok(())
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn uuid_like() -> &'static str {
    "01936f5e-0000-7000-8000-000000000001"
}
