//! The audit log: written with each change, hash-chained, verifiable, browsable by admins.

use crate::*;
use praxis_domain::Role;
use praxis_store::sql;
use serde_json::{Value, json};
use std::process::Command;

fn verify_cli(app: &TestApp) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_praxis"))
        .args(["audit", "verify"])
        .env("PRAXIS_DATABASE_URL", &app.test_db.url)
        .env("PRAXIS_ENCRYPTION_KEYS", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .env("PRAXIS_LOG", "error")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn some_history(app: &TestApp) -> String {
    let (_, admin) = app.user_with_token(Role::Admin).await;
    for i in 0..3 {
        let res = app
            .client()
            .post(app.url("/api/v1/users"))
            .bearer_auth(&admin)
            .json(&json!({ "email": format!("p{i}@clinic.example"), "full_name": format!("Person {i}"), "roles": ["staff"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    admin
}

/// Drops the append-only guard, as someone with direct database access could.
async fn drop_guard(app: &TestApp) {
    let stmt = if app.test_db.is_postgres() {
        "DROP TRIGGER audit_log_no_update ON audit_log"
    } else {
        "DROP TRIGGER audit_log_no_update"
    };
    app.db.execute_unaudited(sql(stmt)).await.unwrap();
    if !app.test_db.is_postgres() {
        app.db.execute_unaudited(sql("DROP TRIGGER audit_log_no_delete")).await.unwrap();
    }
}

#[tokio::test]
async fn every_change_is_audited_with_who_what_and_where() {
    let app = TestApp::spawn().await;
    let admin = some_history(&app).await;
    let res = app.client().get(app.url("/api/v1/audit?action=user.create")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    // 1 admin created by the test harness + 3 over the API.
    assert_eq!(body["total"], 4);
    let newest = &body["items"][0];
    assert_eq!(newest["action"], "user.create");
    assert_eq!(newest["entity_type"], "user");
    assert!(newest["actor"].as_str().unwrap().starts_with("admin-"));
    assert_eq!(newest["client_ip"], "127.0.0.1");
    assert!(newest["request_id"].as_str().unwrap().len() >= 32);
    assert!(newest["summary"].as_str().unwrap().contains("p2@clinic.example"));
    assert_eq!(newest["at"], "2026-03-01T22:00:00Z", "time comes from the injected clock");
    // Paging and filtering.
    let res = app.client().get(app.url("/api/v1/audit?per_page=2&page=2")).bearer_auth(&admin).send().await.unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    assert_eq!(body["page"], 2);
    let res =
        app.client().get(app.url("/api/v1/audit?from=2026-03-02T00:00:00Z")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["total"], 0);
    let res = app
        .client()
        .get(app.url("/api/v1/audit?from=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = app.client().get(app.url("/api/v1/audit?from=yesterday")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 422, "a malformed query is the usual validation problem");
}

#[tokio::test]
async fn a_failed_change_leaves_no_audit_row() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (before,): (i64,) = app.db.fetch_one(sql("SELECT COUNT(*) FROM audit_log")).await.unwrap();
    let res = app
        .client()
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({ "email": "x@clinic.example", "full_name": "", "roles": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let (after,): (i64,) = app.db.fetch_one(sql("SELECT COUNT(*) FROM audit_log")).await.unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn the_application_cannot_rewrite_history() {
    let app = TestApp::spawn().await;
    some_history(&app).await;
    let err = app.db.execute_unaudited(sql("UPDATE audit_log SET summary = 'x' WHERE seq = 1")).await;
    assert!(err.is_err(), "updates are refused");
    let err = app.db.execute_unaudited(sql("DELETE FROM audit_log WHERE seq = 1")).await;
    assert!(err.is_err(), "deletes are refused");
}

#[tokio::test]
async fn verify_passes_on_an_intact_log() {
    let app = TestApp::spawn().await;
    some_history(&app).await;
    let (ok, out) = verify_cli(&app);
    assert!(ok, "{out}");
    assert!(out.contains("intact"), "{out}");
}

#[tokio::test]
async fn verify_finds_an_edited_row() {
    let app = TestApp::spawn().await;
    some_history(&app).await;
    drop_guard(&app).await;
    app.db.execute_unaudited(sql("UPDATE audit_log SET summary = 'nothing happened' WHERE seq = 3")).await.unwrap();
    let (ok, out) = verify_cli(&app);
    assert!(!ok, "{out}");
    assert!(out.contains("row 3"), "{out}");
    assert!(out.contains("edited"), "{out}");
}

#[tokio::test]
async fn verify_finds_a_missing_row_and_a_truncated_end() {
    let app = TestApp::spawn().await;
    some_history(&app).await;
    drop_guard(&app).await;
    let (last,): (i64,) = app.db.fetch_one(sql("SELECT MAX(seq) FROM audit_log")).await.unwrap();
    app.db.execute_unaudited(sql("DELETE FROM audit_log WHERE seq = $1").bind(last)).await.unwrap();
    let (ok, out) = verify_cli(&app);
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("row {last}")), "{out}");

    app.db.execute_unaudited(sql("DELETE FROM audit_log WHERE seq = 2")).await.unwrap();
    let (ok, out) = verify_cli(&app);
    assert!(!ok, "{out}");
    assert!(out.contains("row 2 is missing"), "{out}");
}
