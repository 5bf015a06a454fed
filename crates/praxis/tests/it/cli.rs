//! The command line: help, migrate and user administration.

use crate::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn praxis(db: &TestDb, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_praxis"))
        .args(args)
        .env("PRAXIS_DATABASE_URL", &db.url)
        .env("PRAXIS_ENCRYPTION_KEYS", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .env("PRAXIS_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn help_lists_the_commands() {
    let db = TestDb::sqlite();
    let (ok, out, _) = praxis(&db, &["--help"], None);
    assert!(ok);
    for cmd in ["serve", "migrate", "demo", "user", "audit"] {
        assert!(out.contains(cmd), "{cmd} missing from:\n{out}");
    }
    let (ok, out, _) = praxis(&db, &["user", "--help"], None);
    assert!(ok);
    for cmd in ["create", "list", "deactivate", "reset-password"] {
        assert!(out.contains(cmd), "{cmd} missing from:\n{out}");
    }
}

#[tokio::test]
async fn user_administration_from_the_command_line() {
    let db = TestDb::new().await;
    let (ok, out, err) = praxis(&db, &["migrate"], None);
    assert!(ok, "{err}");
    assert!(out.contains("Migrations applied"));
    assert!(!out.contains("postgres://"), "the database URL is never printed");

    let (ok, out, err) = praxis(
        &db,
        &[
            "user",
            "create",
            "--email",
            "Owner@Clinic.Example",
            "--name",
            "Olive Owner",
            "--role",
            "admin",
            "--role",
            "provider",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("owner@clinic.example") && out.contains("admin,provider"), "{out}");
    let temp = out.lines().find_map(|l| l.strip_prefix("Temporary password (shown once): ")).unwrap().to_string();

    let (ok, _, err) =
        praxis(&db, &["user", "create", "--email", "owner@clinic.example", "--name", "Again", "--role", "staff"], None);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");

    let (ok, _, err) =
        praxis(&db, &["user", "create", "--email", "x@clinic.example", "--name", "X", "--role", "wizard"], None);
    assert!(!ok);
    assert!(err.contains("roles"), "{err}");

    let (ok, _, err) = praxis(
        &db,
        &[
            "user",
            "create",
            "--email",
            "frontdesk@clinic.example",
            "--name",
            "Front Desk",
            "--role",
            "staff",
            "--password-stdin",
        ],
        Some("desk password 2026\n"),
    );
    assert!(ok, "{err}");

    let (ok, out, _) = praxis(&db, &["user", "list"], None);
    assert!(ok);
    assert!(out.contains("owner@clinic.example") && out.contains("frontdesk@clinic.example"), "{out}");

    let (ok, out, err) = praxis(&db, &["user", "reset-password", "frontdesk@clinic.example"], None);
    assert!(ok, "{err}");
    assert!(out.contains("Temporary password (shown once): "));

    let (ok, out, _) = praxis(&db, &["user", "deactivate", "frontdesk@clinic.example"], None);
    assert!(ok);
    assert!(out.contains("Deactivated"));
    let (_, out, _) = praxis(&db, &["user", "list"], None);
    assert!(!out.contains("frontdesk@clinic.example"));
    let (_, out, _) = praxis(&db, &["user", "list", "--all"], None);
    assert!(out.contains("frontdesk@clinic.example\tFront Desk\tstaff\tdeactivated"), "{out}");

    let (ok, _, err) = praxis(&db, &["user", "deactivate", "nobody@clinic.example"], None);
    assert!(!ok);
    assert!(err.contains("not found"), "{err}");

    // The account made on the command line can log in over HTTP.
    let app = TestApp::spawn_on(std::sync::Arc::new(db), test_settings()).await;
    let res = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "owner@clinic.example", "password": temp}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn serve_runs_the_real_binary_and_shuts_down_gracefully_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_praxis"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("PRAXIS_DATABASE_URL", &db.url)
        .env("PRAXIS_ENCRYPTION_KEYS", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .env("PRAXIS_DATA_DIR", dir.path())
        .env("PRAXIS_LOG", "info")
        .env("PRAXIS_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("praxis exited before listening").unwrap();
        assert!(!line.contains("postgres://"), "the database URL is never logged: {line}");
        if let Some(i) = line.find("listening on http://") {
            let rest = &line[i + "listening on http://".len()..];
            break rest[..rest.find('"').unwrap()].to_string();
        }
    };
    let res = http_client().get(format!("http://{addr}/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}; log: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("closing the database")), "{rest:?}");
}
