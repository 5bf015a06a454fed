//! Backups as an administrator relies on them: written while Praxis keeps serving,
//! verified by a real test restore, restored elsewhere with every row accounted for,
//! refused when damaged, kept by retention (never the last good one), run by the job
//! queue on a schedule, and alerting once per incident.

use crate::billing::{book_at, call, sys, tue, worker};
use crate::*;
use praxis_domain::Role;
use praxis_services::backups::restore::{RestoreTarget, restore_backup};
use praxis_services::backups::verify::check_backup;
use praxis_services::backups::{BackupKind, BackupStatus, Manifest};
use praxis_services::crypto::KeyRing;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A stored document file, as the documents area leaves them on disk.
fn put_document(app: &TestApp, name: &str, bytes: &[u8]) {
    let dir = app.svc.settings().data_dir.join("documents").join(&name[..2]);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

async fn admin(app: &TestApp) -> String {
    app.user_with_token(Role::Admin).await.1
}

/// Runs queued jobs (backups, then the alert emails they queue).
async fn run_jobs(app: &TestApp) {
    let (w, _) = worker(app);
    w.run_until_idle().await;
}

async fn alerts(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, body) = call(app, token, "GET", "/api/v1/alerts", None).await;
    assert_eq!(s, 200, "{body}");
    body.as_array().unwrap().clone()
}

async fn alert_emails(app: &TestApp) -> i64 {
    let jobs = praxis_store::jobs::list(&app.db, None, Some("message"), 1000).await.unwrap();
    let mut n = 0;
    for j in jobs {
        if j.idempotency_key.starts_with("message:ops-alert:") || j.idempotency_key.contains("ops-alert:") {
            n += 1;
        }
    }
    n
}

fn flip_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

fn database_part(m: &Manifest, dir: &Path) -> PathBuf {
    dir.join(&m.database_part().unwrap().name)
}

#[tokio::test]
async fn a_backup_is_written_while_serving_verified_by_a_test_restore_and_restored_with_every_row() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    book_at(&app, &f, &tue("10:00")).await;
    put_document(&app, "ab12", &vec![7u8; 150_000]);
    put_document(&app, "cd34", b"a small sealed file");
    let token = admin(&app).await;

    // Bookings keep being answered while the backup is written.
    let booking = {
        let (app_base, f2) = (app.base.clone(), (f.service.id, f.provider.id, f.clinic.id, f.patient.id));
        let (_, staff) = app.user_with_token(Role::Staff).await;
        tokio::spawn(async move {
            let client = http_client();
            let mut ok = 0;
            for (i, hhmm) in ["11:00", "12:00", "13:00", "14:00"].iter().enumerate() {
                let body = json!({"service_id": f2.0, "provider_id": f2.1, "clinic_id": f2.2, "patient_id": f2.3,
                                  "start": tue(hhmm)});
                let res = client
                    .post(format!("{app_base}/api/v1/appointments"))
                    .bearer_auth(&staff)
                    .header("Idempotency-Key", format!("bk-{i}"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                if res.status().is_success() {
                    ok += 1;
                }
            }
            ok
        })
    };
    let (s, body) = call(&app, &token, "POST", "/api/v1/backups", Some(json!({"kind": "full"}))).await;
    assert_eq!(s, 202, "{body}");
    run_jobs(&app).await;
    assert_eq!(booking.await.unwrap(), 4, "every booking made during the backup succeeded");

    let (s, page) = call(&app, &token, "GET", "/api/v1/backups", None).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["total"], 1);
    let b = &page["items"][0];
    assert_eq!(b["status"], "good", "{b}");
    assert_eq!(b["kind"], "full");
    assert!(b["verified_at"].is_string());
    let m: Manifest = serde_json::from_value(b["manifest"].clone()).unwrap();
    assert_eq!(m.documents.as_ref().map(|d| (d.files, d.bytes)), Some((2, 150_019)));
    assert!(m.tables["appointments"] >= 1 && m.tables["patients"] >= 1 && m.tables["audit_log"] > 0, "{:?}", m.tables);
    assert_eq!(m.schema_version, praxis_store::latest_schema_version());
    assert!(m.parts.iter().all(|p| p.sha256.len() == 64 && p.bytes > 0));
    let dir = PathBuf::from(b["location"].as_str().unwrap());
    assert!(dir.join("manifest.json").is_file());
    assert!(!PathBuf::from(format!("{}.partial", dir.display())).exists());
    // The parts are sealed: no patient's name is readable in them.
    for p in &m.parts {
        let bytes = std::fs::read(dir.join(&p.name)).unwrap();
        assert!(!bytes.windows(f.patient.family_name.len()).any(|w| w == f.patient.family_name.as_bytes()));
    }

    // Restore elsewhere: every table's rows come back, and the documents.
    let into = tempdir();
    let target = RestoreTarget {
        dir: into.path().to_path_buf(),
        postgres_url: if app.test_db.is_postgres() { Some(empty_postgres().await.url.clone()) } else { None },
        force: false,
    };
    let pg_target = target.postgres_url.clone();
    let restored = restore_backup(app.svc.settings().keys.clone(), &dir, &target, None).await.unwrap();
    assert_eq!(restored.rows, m.total_rows());
    assert_eq!(restored.files, 2);
    assert_eq!(std::fs::read(into.path().join("documents/cd/cd34")).unwrap(), b"a small sealed file");
    let url = pg_target.clone().unwrap_or_else(|| format!("sqlite:{}", into.path().join("praxis.db").display()));
    let db = praxis_store::Db::connect(&praxis_store::DbOptions::new(url)).await.unwrap();
    let counts = praxis_store::backups::snapshot::row_counts(&db).await.unwrap();
    assert_eq!(counts, m.tables);
    db.close().await;

    // A second restore onto the same target is refused, and nothing changes.
    let err = restore_backup(app.svc.settings().keys.clone(), &dir, &target, None).await.unwrap_err();
    assert!(err.contains("already exists") || err.contains("not empty"), "{err}");
    // Told explicitly, it replaces what is there.
    let forced = RestoreTarget { force: true, ..target };
    assert_eq!(
        restore_backup(app.svc.settings().keys.clone(), &dir, &forced, None).await.unwrap().rows,
        m.total_rows()
    );

    // The audit log records who backed up, and the download is audited too.
    let id = b["id"].as_str().unwrap();
    let res = app
        .client()
        .get(app.url(&format!("/api/v1/backups/{id}/files/manifest.json")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let on_disk: Manifest = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(on_disk, m);
    let (_, audit) = call(&app, &token, "GET", "/api/v1/audit?action=backup.&per_page=50", None).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["backup.request", "backup.start", "backup.create", "backup.verify", "backup.download"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

/// A fresh, empty PostgreSQL database on the test server.
async fn empty_postgres() -> &'static TestDb {
    let admin = std::env::var(PG_ENV).unwrap();
    Box::leak(Box::new(TestDb::postgres(&admin).await))
}

#[tokio::test]
async fn a_damaged_backup_never_passes_verification_and_alerts_the_administrators_once() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    book_at(&app, &f, &tue("10:00")).await;
    let token = admin(&app).await;
    let cli = sys();

    // One flipped byte.
    let b = app.svc.create_backup(&cli, BackupKind::Database, "manual").await.unwrap();
    assert_eq!(b.status, BackupStatus::Unverified);
    let m = b.manifest.clone().unwrap();
    let dir = PathBuf::from(&b.location);
    flip_byte(&database_part(&m, &dir));
    let v = app.svc.verify_backup(&cli, b.id).await.unwrap();
    assert_eq!(v.status, BackupStatus::Failed);
    assert!(v.error.as_deref().unwrap().contains("checksum"), "{:?}", v.error);
    assert!(app.svc.last_good_backup().await.unwrap().is_none(), "a damaged backup is never good");
    let open = alerts(&app, &token).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["kind"], "backup_failed");
    let mailed = alert_emails(&app).await;
    assert!(mailed >= 1, "the administrators were emailed");
    // Verifying it again does not raise (or mail) the same incident twice.
    app.svc.verify_backup(&cli, b.id).await.unwrap();
    assert_eq!(alerts(&app, &token).await.len(), 1);
    assert_eq!(alert_emails(&app).await, mailed);

    // Even with the checksum "fixed" in the manifest, the sealed chunks refuse the change.
    let ring = app.svc.settings().keys.clone();
    let mut forged = m.clone();
    forged.parts[0].sha256 = praxis_services::backups::archive::file_sha256(&database_part(&m, &dir), None).unwrap().0;
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec(&forged).unwrap()).unwrap();
    let err = check_backup(ring.clone(), &dir, None, &app.svc.backup_dir(), Some(&app.db), None).await.unwrap_err();
    assert!(err.contains("does not open") || err.contains("damaged"), "{err}");
    // And the recorded manifest no longer matches the file on disk.
    let err = check_backup(ring.clone(), &dir, Some(&m), &app.svc.backup_dir(), Some(&app.db), None).await.unwrap_err();
    assert!(err.contains("manifest"), "{err}");

    // Cut short.
    let b = app.svc.create_backup(&cli, BackupKind::Database, "manual").await.unwrap();
    let m = b.manifest.clone().unwrap();
    let part = database_part(&m, Path::new(&b.location));
    let len = std::fs::metadata(&part).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&part).unwrap().set_len(len / 2).unwrap();
    let v = app.svc.verify_backup(&cli, b.id).await.unwrap();
    assert_eq!(v.status, BackupStatus::Failed);
    assert!(v.error.as_deref().unwrap().contains("cut short"), "{:?}", v.error);

    // A good backup, opened with another installation's key.
    let b = app.svc.create_backup(&cli, BackupKind::Full, "manual").await.unwrap();
    let good = app.svc.verify_backup(&cli, b.id).await.unwrap();
    assert_eq!(good.status, BackupStatus::Good, "{:?}", good.error);
    assert!(alerts(&app, &token).await.is_empty(), "a good backup resolves the failure alerts");
    let other = Arc::new(KeyRing::ephemeral());
    let err = check_backup(other.clone(), Path::new(&b.location), None, &app.svc.backup_dir(), Some(&app.db), None)
        .await
        .unwrap_err();
    assert!(err.contains("key"), "{err}");
    let into = tempdir();
    let target = RestoreTarget { dir: into.path().to_path_buf(), postgres_url: None, force: false };
    if !app.test_db.is_postgres() {
        let err = restore_backup(other, Path::new(&b.location), &target, None).await.unwrap_err();
        assert!(err.contains("key") || err.contains("does not open"), "{err}");
        assert!(!into.path().join("praxis.db").exists(), "nothing is left behind");
    }

    // A backup from a newer Praxis is refused before anything is written.
    let copy = tempdir();
    for entry in std::fs::read_dir(&b.location).unwrap() {
        let e = entry.unwrap();
        std::fs::copy(e.path(), copy.path().join(e.file_name())).unwrap();
    }
    let mut newer = good.manifest.clone().unwrap();
    newer.schema_version += 100;
    std::fs::write(copy.path().join("manifest.json"), serde_json::to_vec(&newer).unwrap()).unwrap();
    let err = restore_backup(ring, copy.path(), &target, None).await.unwrap_err();
    assert!(err.contains("newer"), "{err}");
    assert!(std::fs::read_dir(into.path()).unwrap().next().is_none(), "the target was not touched");

    // The live database was only ever read.
    assert_eq!(
        praxis_store::backups::snapshot::integrity(&app.db, false).await.unwrap(),
        Ok(()),
        "the live database is intact"
    );
}

#[tokio::test]
async fn retention_keeps_what_the_schedule_says_and_never_the_last_good_backup() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let (s, body) = call(
        &app,
        &token,
        "PUT",
        "/api/v1/backups/schedule",
        Some(json!({"enabled": true, "kind": "database", "run_at": "02:00", "time_zone": "Australia/Sydney",
                    "keep_daily": 2, "keep_weekly": 0, "keep_monthly": 0})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let cli = sys();
    let mut ids = Vec::new();
    for _ in 0..4 {
        let b = app.svc.create_backup(&cli, BackupKind::Database, "manual").await.unwrap();
        let b = app.svc.verify_backup(&cli, b.id).await.unwrap();
        assert_eq!(b.status, BackupStatus::Good);
        ids.push(b);
        app.clock.advance(jiff::SignedDuration::from_hours(24));
    }
    assert_eq!(app.svc.prune_backups(&cli).await.unwrap(), 2);
    let page = app.svc.list_backups(&cli, 50, 0).await.unwrap();
    assert_eq!(page.total, 4, "history rows stay");
    let kept: Vec<_> = page.items.iter().filter(|b| b.pruned_at.is_none()).map(|b| b.id).collect();
    assert_eq!(kept, vec![ids[3].id, ids[2].id]);
    for b in &ids[..2] {
        assert!(!Path::new(&b.location).exists(), "a pruned backup's files are gone");
    }
    // Newer backups that fail do not push out the last good one.
    for _ in 0..3 {
        let b = app.svc.create_backup(&cli, BackupKind::Database, "manual").await.unwrap();
        flip_byte(&database_part(b.manifest.as_ref().unwrap(), Path::new(&b.location)));
        assert_eq!(app.svc.verify_backup(&cli, b.id).await.unwrap().status, BackupStatus::Failed);
        app.clock.advance(jiff::SignedDuration::from_hours(24));
    }
    app.svc.prune_backups(&cli).await.unwrap();
    let last = app.svc.last_good_backup().await.unwrap().unwrap();
    assert_eq!(last.id, ids[3].id);
    assert!(Path::new(&last.location).join("manifest.json").is_file());
    // A pruned backup cannot be verified again (a new login: days have passed).
    let token = admin(&app).await;
    let (s, body) = call(&app, &token, "POST", &format!("/api/v1/backups/{}/verify", ids[0].id), None).await;
    assert_eq!(s, 409, "{body}");
}

#[tokio::test]
async fn the_schedule_runs_nightly_through_the_job_queue_and_a_stale_backup_alerts_once() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let (_, before) = call(&app, &token, "GET", "/api/v1/backups/schedule", None).await;
    assert_eq!(before["saved"], false);

    // Bad input: every problem beside its field, nothing saved, the attempt audited.
    let (s, body) = call(
        &app,
        &token,
        "PUT",
        "/api/v1/backups/schedule",
        Some(json!({"enabled": true, "kind": "everything", "run_at": "25:61", "time_zone": "Mars/Olympus",
                    "keep_daily": -1, "keep_weekly": 4, "keep_monthly": 12, "copy_dir": "relative/dir"})),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for want in ["kind", "run_at", "time_zone", "keep_daily", "copy_dir"] {
        assert!(fields.contains(&want), "{want} missing from {fields:?}");
    }
    let (_, after) = call(&app, &token, "GET", "/api/v1/backups/schedule", None).await;
    assert_eq!(after["saved"], false, "nothing was saved");
    let (s, _) = call(&app, &token, "PUT", "/api/v1/backups/schedule", Some(json!({"enabled": "yes"}))).await;
    assert_eq!(s, 422);
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (s, _) = call(&app, &staff, "GET", "/api/v1/backups", None).await;
    assert_eq!(s, 403, "only administrators manage backups");

    let copies = tempdir();
    let (s, body) = call(
        &app,
        &token,
        "PUT",
        "/api/v1/backups/schedule",
        Some(json!({"enabled": true, "kind": "full", "run_at": "02:30", "time_zone": "Australia/Sydney",
                    "keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12,
                    "copy_dir": copies.path().display().to_string()})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    // The clock reads Monday 09:00 Sydney; the next run is Tuesday 02:30 Sydney.
    assert_eq!(body["next_run"], "2026-03-02T15:30:00Z");

    // Every instance's housekeeping queues the same one job.
    app.svc.backup_housekeeping().await.unwrap();
    app.svc.backup_housekeeping().await.unwrap();
    let pending = praxis_store::jobs::list(&app.db, Some("pending"), Some("backup"), 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    run_jobs(&app).await;
    assert_eq!(app.svc.list_backups(&sys(), 10, 0).await.unwrap().total, 0, "not due yet");

    app.clock.set("2026-03-02T15:31:00Z".parse().unwrap());
    run_jobs(&app).await;
    let page = app.svc.list_backups(&sys(), 10, 0).await.unwrap();
    assert_eq!(page.total, 1);
    let b = &page.items[0];
    assert_eq!((b.origin.as_str(), b.status), ("scheduled", BackupStatus::Good), "{:?}", b.error);
    let copy = PathBuf::from(b.copy_location.clone().expect("copied to the second folder"));
    assert!(copy.starts_with(copies.path()) && copy.join("manifest.json").is_file());
    // The copy verifies on its own.
    check_backup(
        app.svc.settings().keys.clone(),
        &copy,
        b.manifest.as_ref(),
        &app.svc.backup_dir(),
        Some(&app.db),
        None,
    )
    .await
    .unwrap();
    // The next night's run is queued.
    app.svc.backup_housekeeping().await.unwrap();
    let pending = praxis_store::jobs::list(&app.db, Some("pending"), Some("backup"), 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].run_at.0, "2026-03-03T15:30:00Z".parse().unwrap());

    // Turn the schedule off and let 27 hours pass: one stale alert, however often checked.
    let token = admin(&app).await;
    let (s, _) = call(
        &app,
        &token,
        "PUT",
        "/api/v1/backups/schedule",
        Some(json!({"enabled": false, "kind": "full", "run_at": "02:30", "time_zone": "Australia/Sydney",
                    "keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12})),
    )
    .await;
    assert_eq!(s, 200);
    app.clock.advance(jiff::SignedDuration::from_hours(27));
    let token = admin(&app).await;
    let mailed = alert_emails(&app).await;
    app.svc.backup_housekeeping().await.unwrap();
    let after_first = alert_emails(&app).await;
    assert!(after_first > mailed, "the administrators were emailed");
    for _ in 0..3 {
        app.svc.backup_housekeeping().await.unwrap();
    }
    let open = alerts(&app, &token).await;
    assert_eq!(open.iter().filter(|a| a["kind"] == "backup_stale").count(), 1, "{open:?}");
    assert_eq!(alert_emails(&app).await, after_first, "once per incident, not once per check");
    // The administrator sees it as a banner on every page.
    let (admin_user, _) = app.user_with_token(Role::Admin).await;
    let browser = app.browser_login(&admin_user).await;
    let (_, home) = browser.get("/").await;
    assert!(home.contains("Needs attention") && home.contains("no good backup"), "the banner names the incident");
    let (u, _) = app.user_with_token(Role::Staff).await;
    let (_, staff_home) = app.browser_login(&u).await.get("/").await;
    assert!(!staff_home.contains("Needs attention"), "only administrators see it");
}

#[tokio::test]
async fn the_backup_page_starts_verifies_and_refuses_a_bad_schedule_beside_its_fields() {
    let app = TestApp::spawn().await;
    let (admin_user, _) = app.user_with_token(Role::Admin).await;
    let b = app.browser_login(&admin_user).await;
    let (s, page) = b.get("/admin/backups").await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("No backups yet") && page.contains("Back up now"));
    let (s, loc, _) = b.post_form("/admin/backups", "/admin/backups", &[("kind", "full")]).await;
    assert_eq!((s, loc.as_deref()), (303, Some("/admin/backups?msg=started")));
    run_jobs(&app).await;
    let (_, page) = b.get("/admin/backups").await;
    assert!(page.contains(">Good<"), "{page}");
    assert!(page.contains("database.") && page.contains("documents.tar.zst.pxf"));

    let (s, _, page) = b
        .post_form(
            "/admin/backups",
            "/admin/backups/schedule",
            &[
                ("enabled", "on"),
                ("kind", "full"),
                ("run_at", "later"),
                ("time_zone", "Nowhere/City"),
                ("keep_daily", "x"),
                ("keep_weekly", "4"),
                ("keep_monthly", "12"),
            ],
        )
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("Give a time of day as HH:MM") && page.contains("Give a time zone"), "{page}");
    assert!(page.contains("value=\"Nowhere/City\""), "what was typed is kept");

    // Staff and providers may not open it.
    for role in [Role::Staff, Role::Provider, Role::Patient] {
        let (u, _) = app.user_with_token(role).await;
        let (s, _) = app.browser_login(&u).await.get("/admin/backups").await;
        assert_eq!(s, 403, "{role:?}");
    }
}

#[tokio::test]
async fn a_full_disk_fails_the_backup_cleanly_and_leaves_the_live_data_alone() {
    let mount = std::env::temp_dir().join(format!("praxis-full-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&mount).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=96k", "tmpfs"])
        .arg(&mount)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        assert!(std::env::var("PRAXIS_REQUIRE_FULL_DISK_TEST").is_err(), "cannot mount a small tmpfs");
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let mut settings = test_settings();
    settings.backup_dir = Some(mount.clone());
    let app = TestApp::spawn_on(Arc::new(TestDb::new().await), settings).await;
    let f = app.fixture().await;
    book_at(&app, &f, &tue("10:00")).await;
    // More than fits: incompressible documents.
    let noise: Vec<u8> = (0..400_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    put_document(&app, "ee99", &noise);
    let token = admin(&app).await;
    let b = app.svc.create_backup(&sys(), BackupKind::Full, "manual").await.unwrap();
    let _ = std::process::Command::new("umount").arg(&mount).status();
    assert_eq!(b.status, BackupStatus::Failed);
    assert!(b.error.as_deref().unwrap().contains("disk is full"), "{:?}", b.error);
    assert!(!PathBuf::from(format!("{}.partial", b.location)).exists(), "the partial backup was removed");
    assert_eq!(alerts(&app, &token).await.len(), 1);
    assert_eq!(praxis_store::backups::snapshot::integrity(&app.db, false).await.unwrap(), Ok(()));
    let (s, _) = call(&app, &token, "GET", "/api/v1/patients", None).await;
    assert_eq!(s, 200, "the server keeps serving");
}

#[tokio::test]
async fn health_shows_database_storage_queue_and_backups_to_admins_and_to_monitoring() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let cli = sys();
    let b = app.svc.create_backup(&cli, BackupKind::Database, "manual").await.unwrap();
    app.svc.verify_backup(&cli, b.id).await.unwrap();
    let bad = app.svc.create_backup(&cli, BackupKind::Database, "manual").await.unwrap();
    flip_byte(&database_part(bad.manifest.as_ref().unwrap(), Path::new(&bad.location)));
    app.svc.verify_backup(&cli, bad.id).await.unwrap();

    let ready: Value = app.client().get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["storage"]["writable"], true);
    assert!(ready["storage"]["free_bytes"].as_u64().unwrap() > 0);
    assert!(ready["backup"]["last_good_age_seconds"].as_i64().is_some(), "{ready}");
    let metrics = app.client().get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for name in [
        "praxis_backup_last_success_timestamp_seconds",
        "praxis_backup_last_success_size_bytes",
        "praxis_alerts_open",
        "praxis_database_size_bytes",
        "praxis_disk_free_bytes",
        "praxis_db_pool_connections",
        "praxis_job_queue_depth",
        "http_request_duration_seconds",
    ] {
        assert!(metrics.contains(name), "{name} missing from the metrics");
    }

    let (admin_user, _) = app.user_with_token(Role::Admin).await;
    let browser = app.browser_login(&admin_user).await;
    let (s, page) = browser.get("/admin/health").await;
    assert_eq!(s, 200, "{page}");
    for want in
        ["Database", "answering", "Data folder", "Job queue", "Last good backup", "<svg", "Backup size over time"]
    {
        assert!(page.contains(want), "{want} missing from the health page");
    }
    assert!(page.contains("did not pass verification"), "the failed backup's alert is listed");
    let key = format!("backup_failed:{}", bad.id);
    let (s, loc, _) = browser.post_form("/admin/health", "/admin/health/alerts/dismiss", &[("key", &key)]).await;
    assert_eq!((s, loc.as_deref()), (303, Some("/admin/health?msg=dismissed")));
    assert!(alerts(&app, &token).await.is_empty());
    let (s, _) = call(&app, &token, "DELETE", &format!("/api/v1/alerts/{key}"), None).await;
    assert_eq!(s, 404, "already dismissed");

    // A data folder Praxis cannot write to takes the instance out of service.
    let blocked = tempdir();
    let file = blocked.path().join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let mut settings = test_settings();
    settings.data_dir = file;
    let stuck = TestApp::spawn_on(app.test_db.clone(), settings).await;
    let res = stuck.client().get(stuck.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("not writable"), "{body}");
}

/// Every file under `dir`, relative path → bytes.
fn files_under(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[tokio::test]
async fn a_full_export_loads_into_an_empty_database_of_either_kind_and_exports_the_same_bytes_again() {
    use praxis_services::backups::export::{export_database, import_database};
    // Always from SQLite; into PostgreSQL when the suite runs there, else into SQLite.
    let app = TestApp::spawn_on(Arc::new(TestDb::sqlite()), test_settings()).await;
    let f = app.fixture().await;
    book_at(&app, &f, &tue("10:00")).await;
    crate::billing::fresh_invoice(&app, &f.clinic, &f.provider, f.patient.id).await;
    put_document(&app, "ab77", b"sealed document bytes");
    let mut quiet = |_: &str, _: u64| {};

    let first = tempdir();
    let docs = app.svc.settings().data_dir.join("documents");
    let m = export_database(&app.db, &docs, first.path(), app.svc.now(), &mut quiet).await.unwrap();
    assert!(m.tables["invoice_lines"].rows >= 1 && m.tables["audit_log"].rows > 0, "{:?}", m.tables.keys());
    assert!(!m.tables.contains_key("_sqlx_migrations"));
    let line = std::fs::read_to_string(first.path().join("tables/patients.jsonl")).unwrap();
    let row: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(row["id"].as_str().unwrap().len(), 32, "ids are hex: {row}");
    assert!(row["created_at"].is_i64(), "instants are microseconds: {row}");

    let target = match std::env::var(PG_ENV).ok().filter(|s| !s.is_empty()) {
        Some(admin_url) => Arc::new(TestDb::postgres(&admin_url).await),
        None => Arc::new(TestDb::sqlite()),
    };
    let mut settings = test_settings();
    settings.keys = app.svc.settings().keys.clone();
    let moved = TestApp::spawn_on(target.clone(), settings).await;
    let target_docs = moved.svc.settings().data_dir.join("documents");
    let loaded = import_database(&moved.db, first.path(), &target_docs, &mut quiet).await.unwrap();
    assert_eq!(loaded, m.tables.values().map(|t| t.rows).sum::<u64>());
    // The moved practice works: patients are found by name, the audit chain holds.
    let found = moved
        .svc
        .search_patients(&sys(), Some(&f.patient.family_name), praxis_services::users::PageRequest::new(None, None))
        .await
        .unwrap();
    assert_eq!(found.total, 1, "search works after the import");
    assert!(matches!(moved.svc.verify_audit(&sys()).await.unwrap(), praxis_store::audit::VerifyOutcome::Intact { .. }));

    // Exported again from the new database: the very same files.
    let second = tempdir();
    export_database(&moved.db, &target_docs, second.path(), app.svc.now(), &mut quiet).await.unwrap();
    let (a, b) = (files_under(first.path()), files_under(second.path()));
    let names = |m: &std::collections::BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    for (name, bytes) in &a {
        if name != "manifest.json" {
            assert!(bytes == &b[name], "{name} differs after the round trip");
        }
    }

    // An import never lands on a database that holds data, nor from a changed file.
    let err = import_database(&moved.db, first.path(), &tempdir().path().join("d"), &mut quiet).await.unwrap_err();
    assert!(err.contains("already holds data"), "{err}");
    let fresh = Arc::new(TestDb::sqlite());
    let fresh_db = fresh.open().await;
    let path = first.path().join("tables/appointments.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"id\":\"00\"}\n");
    std::fs::write(&path, text).unwrap();
    let err = import_database(&fresh_db, first.path(), &tempdir().path().join("d"), &mut quiet).await.unwrap_err();
    assert!(err.contains("checksum"), "{err}");
    let counts = praxis_store::backups::snapshot::row_counts(&fresh_db).await.unwrap();
    assert_eq!(counts.get("users").copied(), Some(0), "nothing was written");
}
