//! Integrations as another system meets them: API keys shown once, kept to their areas
//! and access, audited under their name, refused (and audited) once revoked; webhooks
//! delivered to a real HTTP receiver, signed so that Stripe's own verifier and Python's
//! hmac accept them, retried when the receiver fails or hangs, dead with the error kept,
//! and sent again on request with the same event id.

use crate::billing::{book_at, call, tue, worker};
use crate::*;
use praxis_domain::Role;
use praxis_services::Settings;
use praxis_testkit::sinks::{WebhookReply as Reply, WebhookSink};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Verifies signatures with the official stripe package and Python's hmac, or `None`
/// where Python with stripe is missing (skipped with a note unless CI requires it).
fn independently_verified(cases: &[(String, String, String)]) -> Option<Vec<bool>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/check_webhook.py");
    let input: String = cases
        .iter()
        .map(|(body, header, secret)| json!({ "body": body, "header": header, "secret": secret }).to_string() + "\n")
        .collect();
    let out = praxis_testkit::python_check("stripe", script, &[], input.as_bytes())?;
    Some(serde_json::from_slice(&out).unwrap())
}

async fn audit(app: &TestApp, admin: &str, action: &str) -> Vec<Value> {
    let (s, body) = call(app, admin, "GET", &format!("/api/v1/audit?action={action}&per_page=200"), None).await;
    assert_eq!(s, 200, "{body}");
    body["items"].as_array().unwrap().iter().filter(|e| e["action"] == action).cloned().collect()
}

async fn create_key(app: &TestApp, admin: &str, body: Value) -> (String, Value) {
    let (s, key) = call(app, admin, "POST", "/api/v1/api-keys", Some(body)).await;
    assert_eq!(s, 201, "{key}");
    (key["token"].as_str().unwrap().to_string(), key)
}

#[tokio::test]
async fn api_keys_are_shown_once_kept_to_their_grant_and_revocable() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    book_at(&app, &f, &tue("10:00")).await;

    let (token, key) = create_key(
        &app,
        &admin,
        json!({ "name": "Reception display", "role": "staff", "access": "read", "areas": ["scheduling", "directory"] }),
    )
    .await;
    assert!(token.starts_with("pxk_") && token.len() > 40);
    assert_eq!(key["access"], "read");
    assert_eq!(key["areas"], json!(["directory", "scheduling"]));
    assert!(key["last_used_at"].is_null());
    // Shown once: the list never carries the key, only its prefix.
    let (_, list) = call(&app, &admin, "GET", "/api/v1/api-keys", None).await;
    assert!(!list.to_string().contains(&token));
    assert!(token.starts_with(list[0]["prefix"].as_str().unwrap()));
    let stored: Vec<(String,)> =
        app.db.fetch_all(praxis_store::dynamic_sql("SELECT token_hash FROM api_keys".into())).await.unwrap();
    assert_ne!(stored[0].0, token, "only a hash is stored");

    // Within its grant: appointments, slots, the FHIR directory.
    let (s, appts) = call(&app, &token, "GET", "/api/v1/appointments", None).await;
    assert_eq!(s, 200, "{appts}");
    assert_eq!(appts["total"], 1);
    let (s, _) = call(&app, &token, "GET", "/fhir/r4/Practitioner", None).await;
    assert_eq!(s, 200);
    // Outside it: another area, any change, and managing keys or webhooks.
    for (method, path, body) in [
        ("GET", "/api/v1/patients".to_string(), None),
        ("GET", "/api/v1/api-keys".to_string(), None),
        ("GET", "/api/v1/webhooks".to_string(), None),
        (
            "POST",
            "/api/v1/appointments".to_string(),
            Some(json!({ "service_id": f.service.id, "provider_id": f.provider.id, "clinic_id": f.clinic.id,
                         "start": tue("11:00"), "patient_id": f.patient.id })),
        ),
    ] {
        let (s, body) = call(&app, &token, method, &path, body).await;
        assert_eq!(s, 403, "{method} {path}: {body}");
    }
    let refused = audit(&app, &admin, "api_key.refused").await;
    assert_eq!(refused.len(), 4, "every refusal is audited: {refused:?}");
    assert!(refused.iter().all(|e| e["actor"].as_str().unwrap().contains("Reception display")));
    assert!(refused.iter().any(|e| e["summary"].as_str().unwrap().starts_with("POST /api/v1/appointments")));
    // A key is for programs: the web pages do not take it.
    let res = app.client().get(app.url("/admin/integrations")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303, "pages send a key to the login page");

    // Its use is recorded.
    let (_, list) = call(&app, &admin, "GET", "/api/v1/api-keys", None).await;
    assert!(list[0]["last_used_at"].is_string(), "{list}");
    assert_eq!(list[0]["last_used_ip"], "127.0.0.1");

    // A read-write key's changes are audited under the key.
    let (rw, _) = create_key(
        &app,
        &admin,
        json!({ "name": "Lab import", "role": "staff", "access": "read_write", "areas": ["patients"] }),
    )
    .await;
    let (s, p) =
        call(&app, &rw, "POST", "/api/v1/patients", Some(json!({ "given_name": "Ana", "family_name": "Silva" }))).await;
    assert_eq!(s, 201, "{p}");
    let created = audit(&app, &admin, "patient.create").await;
    assert!(created[0]["actor"].as_str().unwrap().contains("Lab import"), "{created:?}");
    assert!(created[0]["actor_id"].is_null());

    // Revoked: refused with 401 from then on, and audited.
    let id = key["id"].as_str().unwrap();
    let (s, revoked) = call(&app, &admin, "DELETE", &format!("/api/v1/api-keys/{id}"), None).await;
    assert_eq!(s, 200);
    assert!(revoked["revoked_at"].is_string());
    let (s, body) = call(&app, &token, "GET", "/api/v1/appointments", None).await;
    assert_eq!(s, 401, "{body}");
    let (s, _) = call(&app, &token, "GET", "/fhir/r4/Practitioner", None).await;
    assert_eq!(s, 401);
    let (s, _) = call(&app, "pxk_made-up", "GET", "/api/v1/appointments", None).await;
    assert_eq!(s, 401);
    let rejected = audit(&app, &admin, "api_key.rejected").await;
    assert_eq!(rejected.len(), 3, "{rejected:?}");
    assert!(rejected.iter().any(|e| e["summary"].as_str().unwrap().contains("revoked key")));
    assert!(rejected.iter().any(|e| e["summary"] == "unknown key"));
}

#[tokio::test]
async fn api_key_and_webhook_input_is_checked() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let bad_keys = [
        (json!({ "role": "staff", "access": "read", "areas": ["billing"] }), "name"),
        (json!({ "name": "x", "role": "patient", "access": "read", "areas": ["billing"] }), "role"),
        (json!({ "name": "x", "role": "staff", "access": "everything", "areas": ["billing"] }), "access"),
        (json!({ "name": "x", "role": "staff", "access": "read", "areas": [] }), "areas"),
        (json!({ "name": "x", "role": "staff", "access": "read", "areas": ["users"] }), "areas"),
        (json!({ "name": "x".repeat(101), "role": "staff", "access": "read", "areas": ["billing"] }), "name"),
    ];
    for (body, field) in bad_keys {
        let (s, p) = call(&app, &admin, "POST", "/api/v1/api-keys", Some(body.clone())).await;
        assert_eq!(s, 422, "{body}: {p}");
        assert_eq!(p["errors"][0]["field"], field, "{body}: {p}");
    }
    let bad_hooks = [
        (json!({ "url": "ftp://crm.example.org", "events": ["patient.created"] }), "url"),
        (json!({ "url": "https://user:pw@crm.example.org/", "events": ["patient.created"] }), "url"),
        (json!({ "url": "https://crm.example.org/in", "events": [] }), "events"),
        (json!({ "url": "https://crm.example.org/in", "events": ["patient.deleted"] }), "events"),
    ];
    for (body, field) in bad_hooks {
        let (s, p) = call(&app, &admin, "POST", "/api/v1/webhooks", Some(body.clone())).await;
        assert_eq!(s, 422, "{body}: {p}");
        assert_eq!(p["errors"][0]["field"], field, "{body}: {p}");
    }
    let (s, _) = call(&app, &admin, "POST", "/api/v1/webhooks", Some(json!({ "url": 5 }))).await;
    assert_eq!(s, 422);
    // Nothing was half-written by the refusals.
    let (_, keys) = call(&app, &admin, "GET", "/api/v1/api-keys", None).await;
    let (_, hooks) = call(&app, &admin, "GET", "/api/v1/webhooks", None).await;
    assert_eq!((keys.as_array().unwrap().len(), hooks.as_array().unwrap().len()), (0, 0));
    // Only administrators manage integrations; unknown ids are 404.
    for (method, path) in [("GET", "/api/v1/api-keys"), ("POST", "/api/v1/api-keys"), ("GET", "/api/v1/webhooks")] {
        let (s, _) = call(&app, &staff, method, path, Some(json!({}))).await;
        assert_eq!(s, 403, "{method} {path}");
    }
    let missing = uuid::Uuid::now_v7();
    for (method, path) in [
        ("DELETE", format!("/api/v1/api-keys/{missing}")),
        ("GET", format!("/api/v1/webhooks/{missing}")),
        ("GET", format!("/api/v1/webhooks/{missing}/deliveries")),
        ("POST", format!("/api/v1/webhook-deliveries/{missing}/resend")),
        ("GET", "/api/v1/webhooks/not-an-id".to_string()),
    ] {
        let (s, _) = call(&app, &admin, method, &path, None).await;
        assert_eq!(s, 404, "{method} {path}");
    }
}

/// Registers an endpoint for `events` and returns (id, secret).
async fn register(app: &TestApp, admin: &str, url: &str, events: &[&str]) -> (String, String) {
    let (s, e) = call(
        app,
        admin,
        "POST",
        "/api/v1/webhooks",
        Some(json!({ "url": url, "events": events, "description": "CRM" })),
    )
    .await;
    assert_eq!(s, 201, "{e}");
    assert!(e["secret"].as_str().unwrap().starts_with("whsec_"));
    (e["id"].as_str().unwrap().to_string(), e["secret"].as_str().unwrap().to_string())
}

async fn deliveries(app: &TestApp, admin: &str, endpoint: &str) -> Vec<Value> {
    let (s, page) = call(app, admin, "GET", &format!("/api/v1/webhooks/{endpoint}/deliveries"), None).await;
    assert_eq!(s, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_sent_again() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let receiver = WebhookSink::start(vec![Reply::Status(500)]).await;
    let (endpoint, secret) =
        register(&app, &admin, &receiver.url, &["appointment.booked", "appointment.cancelled"]).await;
    // The secret is never shown again.
    let (_, listed) = call(&app, &admin, "GET", &format!("/api/v1/webhooks/{endpoint}"), None).await;
    assert!(!listed.to_string().contains(&secret));

    let appt = book_at(&app, &f, &tue("10:00")).await;
    let (w, _) = worker(&app);
    w.run_until_idle().await;
    // The receiver failed the first attempt: kept, retrying, with its answer.
    let d = deliveries(&app, &admin, &endpoint).await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["status"], "retrying", "{:?}", d[0]);
    assert_eq!(d[0]["last_status"], 500);
    assert!(d[0]["last_error"].as_str().unwrap().contains("HTTP 500"), "{:?}", d[0]);
    // After the back-off it is delivered.
    app.clock.advance(jiff::SignedDuration::from_hours(2));
    w.run_until_idle().await;
    let d = deliveries(&app, &admin, &endpoint).await;
    assert_eq!((d[0]["status"].as_str(), d[0]["attempts"].as_i64()), (Some("delivered"), Some(2)), "{:?}", d[0]);

    let got = receiver.received();
    assert_eq!(got.len(), 2, "one failed and one good attempt");
    let last = &got[1];
    assert_eq!(last.headers["praxis-event"], "appointment.booked");
    assert_eq!(last.headers["praxis-delivery"], d[0]["id"].as_str().unwrap());
    assert_eq!(last.headers["content-type"], "application/json");
    let body: Value = serde_json::from_str(&last.body).unwrap();
    assert_eq!(body["type"], "appointment.booked");
    assert_eq!(body["id"].as_str(), Some(last.headers["praxis-event-id"].as_str()));
    assert_eq!(body["data"]["appointment"]["id"], appt.to_string());
    assert_eq!(body["data"]["appointment"]["patient_ids"], json!([f.patient.id]));
    assert!(!last.body.contains(&f.patient.given_name), "events carry ids, never names");
    assert_eq!(got[0].body, got[1].body, "a retry sends the same body");

    // Cancelling sends the next event; then the delivery is sent again on request.
    app.svc
        .cancel_appointment(
            &crate::billing::sys(),
            appt,
            praxis_services::scheduling::CancelRequest { reason: "ill".into(), ..Default::default() },
        )
        .await
        .unwrap();
    w.run_until_idle().await;
    let first = deliveries(&app, &admin, &endpoint).await.last().unwrap().clone();
    let (s, again) = call(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/webhook-deliveries/{}/resend", first["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(s, 202, "{again}");
    assert_eq!(again["event_id"], first["event_id"]);
    assert_eq!(again["resend_of"], first["id"]);
    w.run_until_idle().await;
    let got = receiver.received();
    assert_eq!(got.len(), 4);
    assert_eq!(serde_json::from_str::<Value>(&got[2].body).unwrap()["type"], "appointment.cancelled");
    assert_eq!(got[3].headers["praxis-event-id"], got[1].headers["praxis-event-id"]);
    assert_ne!(got[3].headers["praxis-delivery"], got[1].headers["praxis-delivery"]);

    // Every signature checks out with Stripe's verifier and Python's hmac; a tampered
    // body or another secret does not.
    let mut cases: Vec<(String, String, String)> =
        got.iter().map(|r| (r.body.clone(), r.headers["praxis-signature"].clone(), secret.clone())).collect();
    cases.push((got[1].body.replace("booked", "changed"), got[1].headers["praxis-signature"].clone(), secret.clone()));
    cases.push((got[1].body.clone(), got[1].headers["praxis-signature"].clone(), "whsec_other".into()));
    if let Some(ok) = independently_verified(&cases) {
        assert_eq!(ok, [true, true, true, true, false, false]);
    }
    assert_eq!(audit(&app, &admin, "webhook.resend").await.len(), 1);
}

#[tokio::test]
async fn a_receiver_that_hangs_is_retried_then_given_up_with_the_error_kept() {
    let settings = Settings {
        webhook_timeout: jiff::SignedDuration::from_millis(300),
        webhook_max_attempts: 3,
        ..test_settings()
    };
    let app = TestApp::spawn_on(Arc::new(TestDb::new().await), settings).await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let hang = Reply::Hang(Duration::from_secs(3));
    let receiver = WebhookSink::start(vec![hang, Reply::Status(503), hang]).await;
    let (endpoint, _) = register(&app, &admin, &receiver.url, &["patient.created"]).await;
    // Paused and removed endpoints get nothing.
    let quiet = WebhookSink::start(vec![]).await;
    let (paused, _) = register(&app, &admin, &quiet.url, &["patient.created"]).await;
    let (s, p) = call(
        &app,
        &admin,
        "PUT",
        &format!("/api/v1/webhooks/{paused}"),
        Some(json!({ "url": quiet.url, "events": ["patient.created"], "active": false })),
    )
    .await;
    assert_eq!((s, &p["active"]), (200, &json!(false)), "{p}");

    let (s, patient) =
        call(&app, &admin, "POST", "/api/v1/patients", Some(json!({ "given_name": "Mia", "family_name": "Chen" })))
            .await;
    assert_eq!(s, 201, "{patient}");
    let (w, _) = worker(&app);
    for _ in 0..3 {
        w.run_until_idle().await;
        app.clock.advance(jiff::SignedDuration::from_hours(3));
    }
    let d = deliveries(&app, &admin, &endpoint).await;
    assert_eq!(d.len(), 1);
    assert_eq!((d[0]["status"].as_str(), d[0]["attempts"].as_i64()), (Some("dead"), Some(3)), "{:?}", d[0]);
    assert!(d[0]["last_error"].as_str().unwrap().contains("no answer within"), "{:?}", d[0]);
    assert!(d[0]["last_status"].is_null());
    assert_eq!(receiver.received().len(), 3);
    assert_eq!(
        serde_json::from_str::<Value>(&receiver.received()[0].body).unwrap()["data"]["patient"]["id"],
        patient["id"]
    );
    assert!(quiet.received().is_empty(), "a paused endpoint gets nothing");
    assert!(deliveries(&app, &admin, &paused).await.is_empty());
    // The administrators see it.
    let (_, alerts) = call(&app, &admin, "GET", "/api/v1/alerts", None).await;
    assert!(alerts.to_string().contains("webhook delivery"), "{alerts}");

    // Once the receiver works, the dead delivery is sent again from the log.
    let (s, _) = call(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/webhook-deliveries/{}/resend", d[0]["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(s, 202);
    w.run_until_idle().await;
    let d = deliveries(&app, &admin, &endpoint).await;
    assert_eq!(d[0]["status"], "delivered", "{:?}", d[0]);
    assert_eq!(d[1]["status"], "dead", "the old delivery keeps its history");

    // A removed endpoint gets nothing more (its log stays in the database).
    let (s, _) = call(&app, &admin, "DELETE", &format!("/api/v1/webhooks/{endpoint}"), None).await;
    assert_eq!(s, 204);
    let (s, _) =
        call(&app, &admin, "POST", "/api/v1/patients", Some(json!({ "given_name": "Leo", "family_name": "Park" })))
            .await;
    assert_eq!(s, 201);
    w.run_until_idle().await;
    assert_eq!(receiver.received().len(), 4);
    let (s, _) = call(&app, &admin, "GET", &format!("/api/v1/webhooks/{endpoint}"), None).await;
    assert_eq!(s, 404);
}
