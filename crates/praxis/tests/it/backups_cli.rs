//! Backups from the command line, as the real binary runs them: create, list, verify,
//! restore (refusing to overwrite), and `kill -9` in the middle of a backup.

use crate::*;
use praxis_domain::Role;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

const KEYS: &str = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

fn praxis(db_url: &str, data: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_praxis"));
    c.args(args)
        .env("PRAXIS_DATABASE_URL", db_url)
        .env("PRAXIS_DATA_DIR", data)
        .env("PRAXIS_ENCRYPTION_KEYS", KEYS)
        .env("PRAXIS_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run(db_url: &str, data: &Path, args: &[&str]) -> (bool, String, String) {
    let out = praxis(db_url, data, args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Services on the test database with the command line's key and data folder.
async fn services(db: Arc<TestDb>, data: &Path) -> TestApp {
    let mut settings = test_settings();
    settings.data_dir = data.to_path_buf();
    settings.keys = Arc::new(praxis_services::crypto::KeyRing::from_env(KEYS, None).unwrap());
    TestApp::spawn_on(db, settings).await
}

#[tokio::test]
async fn the_command_line_backs_up_lists_verifies_and_restores_without_overwriting() {
    let db = Arc::new(TestDb::new().await);
    let data = tempfile::tempdir().unwrap();
    let app = services(db.clone(), data.path()).await;
    let f = app.fixture().await;
    app.create_user(&[Role::Staff]).await;
    let _ = f;

    let (ok, out, err) = run(&db.url, data.path(), &["backup", "create", "--kind", "full"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("Good"), "{out}");
    let id = out.split_whitespace().next().unwrap().to_string();
    let (ok, list, _) = run(&db.url, data.path(), &["backup", "list"]);
    assert!(ok && list.contains(&id) && list.contains("Good"), "{list}");
    let (ok, out, err) = run(&db.url, data.path(), &["backup", "verify", &id]);
    assert!(ok, "{out}{err}");
    let (ok, _, err) = run(&db.url, data.path(), &["backup", "create", "--kind", "everything"]);
    assert!(!ok && err.contains("Unknown backup kind"), "{err}");

    let into = tempfile::tempdir().unwrap();
    let into_s = into.path().display().to_string();
    let mut args = vec!["restore", id.as_str(), "--into", into_s.as_str()];
    let target_db = if db.is_postgres() { Some(TestDb::postgres(&std::env::var(PG_ENV).unwrap()).await) } else { None };
    if let Some(t) = &target_db {
        args.extend(["--to-database-url", t.url.as_str()]);
    }
    let (ok, out, err) = run(&db.url, data.path(), &args);
    assert!(ok, "{out}{err}");
    assert!(out.contains("rows match the backup"), "{out}");
    // Again onto the same target: refused, and it says how to go on.
    let (ok, _, err) = run(&db.url, data.path(), &args);
    assert!(!ok, "a second restore onto the same target must be refused");
    assert!(err.contains("--force"), "{err}");
    // A backup folder given by path works too.
    let b = app.svc.get_backup(&praxis_services::Actor::system("t"), id.parse().unwrap()).await.unwrap();
    let (ok, out, err) = run(&db.url, data.path(), &["backup", "verify", &b.location]);
    assert!(ok && out.contains("Good"), "{out}{err}");
    // A full export, loaded into a new SQLite database by `praxis import`.
    let export = tempfile::tempdir().unwrap();
    let out_dir = export.path().join("out");
    let (ok, out, err) = run(&db.url, data.path(), &["export", "--out", &out_dir.display().to_string()]);
    assert!(ok && out.contains("Exported"), "{out}{err}");
    let new_data = tempfile::tempdir().unwrap();
    let new_url = format!("sqlite://{}", new_data.path().join("praxis.db").display());
    let (ok, out, err) = run(&new_url, new_data.path(), &["import", &out_dir.display().to_string()]);
    assert!(ok && out.contains("every table's rows match"), "{out}{err}");
    let (ok, _, err) = run(&new_url, new_data.path(), &["import", &out_dir.display().to_string()]);
    assert!(!ok && err.contains("already holds data"), "{err}");
    let (ok, _, err) = run(&db.url, data.path(), &["export", "--out", &out_dir.display().to_string()]);
    assert!(!ok && err.contains("not empty"), "{err}");
    // Onto the live database itself: refused even though it "exists" only as the live one.
    if !db.is_postgres() {
        let live_dir = Path::new(db.url.trim_start_matches("sqlite://")).parent().unwrap().display().to_string();
        let (ok, _, err) = run(&db.url, Path::new(&live_dir), &["restore", &id, "--into", &live_dir]);
        assert!(!ok && (err.contains("live database") || err.contains("already exists")), "{err}");
    }
}

#[tokio::test]
async fn kill_9_during_a_backup_leaves_the_live_database_intact_and_nothing_marked_good() {
    let db = Arc::new(TestDb::new().await);
    let data = tempfile::tempdir().unwrap();
    let app = services(db.clone(), data.path()).await;
    app.fixture().await;
    // Enough data that the backup takes a moment.
    let ballast = if db.is_postgres() {
        "INSERT INTO ballast SELECT (SELECT string_agg(md5(random()::text || g::text || r::text), '') \
         FROM generate_series(1, 40000) g)::bytea FROM generate_series(1, 24) r"
    } else {
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 24) \
         INSERT INTO ballast SELECT randomblob(1048576) FROM c"
    };
    let kind = if db.is_postgres() { "BYTEA" } else { "BLOB" };
    app.db.execute_unaudited(praxis_store::dynamic_sql(format!("CREATE TABLE ballast (b {kind})"))).await.unwrap();
    app.db.execute_unaudited(praxis_store::dynamic_sql(ballast.to_string())).await.unwrap();

    let mut child = praxis(&db.url, data.path(), &["backup", "create", "--kind", "database"]).spawn().unwrap();
    let sys = praxis_services::Actor::system("t");
    let mut seen_running = false;
    for _ in 0..2000 {
        let page = app.svc.list_backups(&sys, 5, 0).await.unwrap();
        if page.items.iter().any(|b| b.status == praxis_services::backups::BackupStatus::Running) {
            seen_running = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap();
    let _ = child.wait();
    assert!(seen_running, "the backup was never seen running");

    // The live database is intact and serves.
    assert_eq!(praxis_store::backups::snapshot::integrity(&app.db, false).await.unwrap(), Ok(()));
    let page = app.svc.list_backups(&sys, 5, 0).await.unwrap();
    let b = &page.items[0];
    assert!(
        matches!(b.status, praxis_services::backups::BackupStatus::Running)
            || (b.status == praxis_services::backups::BackupStatus::Good && b.verified_at.is_some()),
        "a killed backup is never left looking written: {:?}",
        b.status
    );
    if b.status == praxis_services::backups::BackupStatus::Running {
        // Housekeeping later marks it interrupted and removes its partial files.
        app.clock.set(jiff::Timestamp::now().saturating_add(jiff::SignedDuration::from_hours(7)).unwrap());
        app.svc.backup_housekeeping().await.unwrap();
        let b = app.svc.get_backup(&sys, b.id).await.unwrap();
        assert_eq!(b.status, praxis_services::backups::BackupStatus::Failed);
        assert!(b.error.as_deref().unwrap().contains("interrupted"));
        assert!(!Path::new(&format!("{}.partial", b.location)).exists(), "partial files removed");
        assert!(app.svc.last_good_backup().await.unwrap().is_none());
    }
    // And a new backup works afterwards (no stale "running" lock).
    let (ok, out, err) = run(&db.url, data.path(), &["backup", "create", "--kind", "database"]);
    assert!(ok && out.contains("Good"), "{out}{err}");
}
