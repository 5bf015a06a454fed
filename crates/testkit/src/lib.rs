//! Test support (dev only). Every test gets its own database — a temporary SQLite file,
//! or a fresh PostgreSQL database when `PRAXIS_TEST_DATABASE_URL` is set — and the real
//! HTTP server on 127.0.0.1:0 with a fake clock it can move.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::Timestamp;
use praxis_domain::{Role, UserId};
pub use praxis_services::Clock;
use praxis_services::users::NewUser;
use praxis_services::{Actor, PasswordParams, Services, Settings};
use praxis_store::{Db, DbOptions};
use praxis_web::{AppState, WebConfig};
use std::sync::{Arc, Mutex, Once};

pub mod scheduling;
pub mod sinks;
pub mod stripe;

/// The environment variable that switches the suite to PostgreSQL.
pub const PG_ENV: &str = "PRAXIS_TEST_DATABASE_URL";

/// A database used by one test and dropped afterwards.
pub struct TestDb {
    /// The URL the app should use.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// A fresh, empty database of the configured kind.
    pub async fn new() -> TestDb {
        match std::env::var(PG_ENV).ok().filter(|s| !s.is_empty()) {
            Some(admin) => Self::postgres(&admin).await,
            None => Self::sqlite(),
        }
    }

    /// A fresh SQLite file in a temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("praxis.db").display());
        TestDb { url, _dir: Some(dir), pg: None }
    }

    /// A fresh PostgreSQL database created through `admin_url`.
    pub async fn postgres(admin_url: &str) -> TestDb {
        use sqlx::Connection;
        let name = format!("praxis_t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url).await.expect("connect to PostgreSQL for tests");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
        let url = format!("{base}/{name}");
        TestDb { url, _dir: None, pg: Some((admin_url.to_string(), name)) }
    }

    /// True on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// Opens and migrates the database.
    pub async fn open(&self) -> Db {
        let mut opts = DbOptions::new(self.url.clone());
        opts.max_connections = 8;
        let db = Db::connect(&opts).await.expect("open test database");
        db.migrate().await.expect("migrate test database");
        db
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Drop needs async work; do it on a short-lived runtime in its own thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        use sqlx::Connection;
                        if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .execute(&mut c)
                            .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// A clock tests can set and move.
#[derive(Debug)]
pub struct FakeClock(Mutex<Timestamp>);

impl FakeClock {
    /// A clock stopped at `t`.
    pub fn at(t: Timestamp) -> Arc<FakeClock> {
        Arc::new(FakeClock(Mutex::new(t)))
    }
    /// Moves the clock forward.
    pub fn advance(&self, d: jiff::SignedDuration) {
        let mut t = self.0.lock().unwrap();
        *t = t.checked_add(d).unwrap();
    }
    /// Sets the clock.
    pub fn set(&self, t: Timestamp) {
        *self.0.lock().unwrap() = t;
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// The instant test clocks start at: Monday 2 March 2026, 09:00 Sydney time.
pub fn default_start() -> Timestamp {
    "2026-03-01T22:00:00Z".parse().unwrap()
}

/// Settings for tests: cheap (but real) Argon2id so suites stay fast.
pub fn test_settings() -> Settings {
    Settings {
        password_params: PasswordParams { memory_kib: 1024, iterations: 1 },
        display_zone: jiff::tz::TimeZone::get("Australia/Sydney").unwrap(),
        // Uploaded documents of this test only.
        data_dir: std::env::temp_dir().join(format!("praxis-test-{}", uuid::Uuid::new_v4().simple())),
        ..Settings::default()
    }
}

fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Server-side errors show in a failing test's output (PRAXIS_TEST_LOG to change).
        let filter = std::env::var("PRAXIS_TEST_LOG").unwrap_or_else(|_| "error".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    });
}

/// A plain HTTP client (for servers the test started itself).
pub fn http_client() -> reqwest::Client {
    install_crypto();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A running server for one test.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The services the server uses (for setting up data directly).
    pub svc: Services,
    /// The database handle.
    pub db: Db,
    /// The clock the server reads.
    pub clock: Arc<FakeClock>,
    /// The database (kept alive for the test; dropped after the server).
    pub test_db: Arc<TestDb>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// An account created for a test.
#[derive(Clone, Debug)]
pub struct TestUser {
    /// Id.
    pub id: UserId,
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

impl TestApp {
    /// A fresh database and a server on it.
    pub async fn spawn() -> TestApp {
        let db = Arc::new(TestDb::new().await);
        Self::spawn_on(db, test_settings()).await
    }

    /// A server on an existing test database (several servers may share one).
    pub async fn spawn_on(test_db: Arc<TestDb>, settings: Settings) -> TestApp {
        install_crypto();
        let db = test_db.open().await;
        let clock = FakeClock::at(default_start());
        let svc = Services::new(db.clone(), clock.clone(), settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = AppState { svc: svc.clone(), config: WebConfig::default() };
        tokio::spawn(async move {
            let _ = praxis_web::serve(listener, state, async {
                let _ = rx.await;
            })
            .await;
        });
        TestApp { base, svc, db, clock, test_db, shutdown: Some(tx) }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// An HTTP client that does not follow redirects and keeps cookies.
    pub fn client(&self) -> reqwest::Client {
        install_crypto();
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap()
    }

    /// Creates an account with `roles` directly through the services.
    pub async fn create_user(&self, roles: &[Role]) -> TestUser {
        let n = uuid::Uuid::new_v4().simple().to_string();
        let email = format!("{}-{}@test.praxis.example", roles.first().map(|r| r.as_str()).unwrap_or("user"), &n[..10]);
        let password = format!("pw-{n}");
        let created = self
            .svc
            .create_user(
                &Actor::system("test"),
                NewUser {
                    email: email.clone(),
                    full_name: format!("Test {}", roles.first().map(|r| r.label()).unwrap_or("User")),
                    phone: None,
                    roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
                    password: Some(password.clone()),
                },
            )
            .await
            .unwrap();
        TestUser { id: created.user.id, email, password }
    }

    /// Logs in through the API and returns the bearer token.
    pub async fn api_login(&self, user: &TestUser) -> String {
        let res = self
            .client()
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "email": user.email, "password": user.password }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login failed for {}", user.email);
        let body: serde_json::Value = res.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }

    /// How many audit rows have `action`.
    pub async fn audit_count(&self, action: &str) -> i64 {
        let (n,): (i64,) = self
            .db
            .fetch_one(praxis_store::sql("SELECT COUNT(*) FROM audit_log WHERE action = $1").bind(action))
            .await
            .unwrap();
        n
    }

    /// A new user with one role and their bearer token.
    pub async fn user_with_token(&self, role: Role) -> (TestUser, String) {
        let u = self.create_user(&[role]).await;
        let t = self.api_login(&u).await;
        (u, t)
    }

    /// A browser-like client logged in through the login form (cookies kept).
    pub async fn browser_login(&self, user: &TestUser) -> Browser {
        let b = Browser { client: self.client(), base: self.base.clone() };
        let csrf = b.csrf_of("/login").await;
        let res = b
            .client
            .post(self.url("/login"))
            .form(&[("email", user.email.as_str()), ("password", user.password.as_str()), ("_csrf", &csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "form login failed for {}", user.email);
        b
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A cookie-keeping client that behaves like a browser on our pages.
pub struct Browser {
    /// The underlying client.
    pub client: reqwest::Client,
    /// The server's base URL.
    pub base: String,
}

impl Browser {
    /// A browser with no session.
    pub fn anonymous(app: &TestApp) -> Browser {
        Browser { client: app.client(), base: app.base.clone() }
    }

    /// GETs a page; returns status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let res = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.text().await.unwrap())
    }

    /// The CSRF token from the first form on `path`.
    pub async fn csrf_of(&self, path: &str) -> String {
        let (_, body) = self.get(path).await;
        extract_csrf(&body).unwrap_or_else(|| panic!("no CSRF token on {path}"))
    }

    /// Posts a form with the CSRF token taken from `form_page`; returns status, Location
    /// and body.
    pub async fn post_form(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> (u16, Option<String>, String) {
        let csrf = self.csrf_of(form_page).await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("_csrf", &csrf));
        let res = self.client.post(format!("{}{action}", self.base)).form(&all).send().await.unwrap();
        let status = res.status().as_u16();
        let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        (status, location, res.text().await.unwrap())
    }
}

/// Finds `name="_csrf" value="…"` in a page.
pub fn extract_csrf(html: &str) -> Option<String> {
    let i = html.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    let rest = &html[i..];
    Some(rest[..rest.find('"')?].to_string())
}

/// Runs a third-party checker written in Python: `script` (with `args`) reads `input` on
/// stdin and must exit 0; its stdout is returned. Where `python3` cannot import `module`
/// the check is skipped (`None`) with a note — unless `PRAXIS_REQUIRE_PYTHON_CHECKS` is
/// set, as `.ci/run` does after installing every package it uses.
pub fn python_check(module: &str, script: &str, args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let available =
        Command::new("python3").args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success());
    if !available {
        assert!(
            std::env::var("PRAXIS_REQUIRE_PYTHON_CHECKS").is_err(),
            "python3 with {module} is required here (pip install {module})"
        );
        eprintln!("SKIPPED the Python {module} check: python3 -m pip install {module} to run it (.ci/run does)");
        return None;
    }
    let mut child = Command::new("python3")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    child.stdin.take().expect("stdin is piped").write_all(input).expect("the checker reads its input");
    let out = child.wait_with_output().expect("the checker finishes");
    assert!(out.status.success(), "{script} refused the input: {}", String::from_utf8_lossy(&out.stderr));
    Some(out.stdout)
}
