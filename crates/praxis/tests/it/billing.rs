//! Billing through the real server on both databases: invoices from visits with GST,
//! payments and receipts, refunds, the bad-input list (each refused with a clear problem,
//! nothing written, the attempt audited), gap-free numbers under concurrent issuing,
//! overdue sweep, automatic drafts, deposits and fees, claims, referrals and reports.

use crate::*;
use praxis_domain::{AppointmentAction, AppointmentId, Role};
use praxis_services::Actor;
use praxis_services::notifications::transport::{CapturingMailer, CapturingSms, Transports};
use praxis_services::scheduling::{BookingRequest, CancelRequest};
use praxis_testkit::scheduling::Fixture;
use praxis_worker::{Worker, WorkerConfig};
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) fn sys() -> Actor {
    Actor::system("test")
}

/// Tuesday 3 March 2026 at `hhmm` Sydney time (AEDT, UTC+11).
pub(crate) fn tue(hhmm: &str) -> String {
    let (h, m) = hhmm.split_once(':').unwrap();
    let t: jiff::civil::DateTime = format!("2026-03-03T{h}:{m}:00").parse().unwrap();
    t.to_zoned(jiff::tz::TimeZone::get("Australia/Sydney").unwrap()).unwrap().timestamp().to_string()
}

pub(crate) async fn book_at(app: &TestApp, f: &Fixture, start: &str) -> AppointmentId {
    let req = BookingRequest {
        service_id: Some(f.service.id),
        provider_id: Some(f.provider.id),
        clinic_id: Some(f.clinic.id),
        start: Some(start.parse().unwrap()),
        patient_id: Some(f.patient.id),
        ..Default::default()
    };
    app.svc.book(&sys(), req, None).await.unwrap().appointment.id
}

/// Books, then checks in, starts and completes (the clock moves to the start).
pub(crate) async fn completed_visit(app: &TestApp, f: &Fixture, hhmm: &str) -> AppointmentId {
    let start = tue(hhmm);
    let id = book_at(app, f, &start).await;
    app.clock.set(start.parse().unwrap());
    for a in [AppointmentAction::CheckIn, AppointmentAction::Start, AppointmentAction::Complete] {
        app.svc.transition(&sys(), id, a).await.unwrap();
    }
    id
}

/// Sends a JSON request with a bearer token; (status, body or null).
pub(crate) async fn call(app: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.client().request(method.parse().unwrap(), app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(crate) fn worker(app: &TestApp) -> (Worker, CapturingMailer) {
    let mailer = CapturingMailer::default();
    let t = Transports { mailer: Arc::new(mailer.clone()), sms: Arc::new(CapturingSms::default()) };
    let cfg = WorkerConfig { name: "billing-test".into(), concurrency: 2, ..Default::default() };
    (Worker::new(app.svc.clone(), t, cfg), mailer)
}

async fn audit_count(app: &TestApp, action: &str) -> usize {
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (_, body) = call(app, &admin, "GET", &format!("/api/v1/audit?action={action}&per_page=200"), None).await;
    body["items"].as_array().map(|a| a.iter().filter(|e| e["action"] == action).count()).unwrap_or(0)
}

async fn invoice_count(app: &TestApp, token: &str) -> i64 {
    call(app, token, "GET", "/api/v1/invoices?per_page=200", None).await.1["total"].as_i64().unwrap()
}

/// A draft for the visit, issued; returns the invoice.
async fn issued_for(app: &TestApp, token: &str, f: &Fixture, appt: AppointmentId) -> Value {
    let (s, draft) = call(
        app,
        token,
        "POST",
        "/api/v1/invoices",
        Some(json!({"patient_id": f.patient.id, "appointment_ids": [appt]})),
    )
    .await;
    assert_eq!(s, 201, "{draft}");
    let id = draft["id"].as_str().unwrap().to_string();
    let (s, inv) = call(app, token, "POST", &format!("/api/v1/invoices/{id}/issue"), Some(json!({}))).await;
    assert_eq!(s, 200, "{inv}");
    inv
}

#[tokio::test]
async fn a_visit_is_invoiced_with_gst_paid_in_parts_with_receipts_and_refunded_within_limits() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let appt = completed_visit(&app, &f, "10:00").await;

    let (s, draft) =
        call(&app, &staff, "POST", "/api/v1/invoices", Some(json!({"patient_id": f.patient.id, "appointment_ids": [appt],
            "lines": [{"description": "Report", "unit_price_minor": 3333, "discount_percent_bp": 1000, "tax_rate_bp": 0}]}))).await;
    assert_eq!(s, 201, "{draft}");
    assert_eq!(draft["status"], "draft");
    assert!(draft["number"].is_null(), "a draft has no number yet");
    // Lines typed by staff come first, then the appointments'.
    let visit = &draft["lines"][1];
    assert_eq!(visit["unit_price_minor"], 12000, "the service's price by default");
    assert_eq!(visit["amounts"]["tax_minor"], 1200, "GST 10 % by default");
    // 3333 less 10 % (333.3 → 333) is 3000, GST-free.
    assert_eq!(draft["lines"][0]["amounts"]["total_minor"], 3000);
    assert_eq!(draft["total_minor"], 16200);
    assert_eq!(draft["totals"]["tax_minor"], 1200);

    // The same visit cannot be billed twice.
    let (s, again) = call(
        &app,
        &staff,
        "POST",
        "/api/v1/invoices",
        Some(json!({"patient_id": f.patient.id, "appointment_ids": [appt]})),
    )
    .await;
    assert_eq!(s, 409, "{again}");

    let id = draft["id"].as_str().unwrap();
    let (s, inv) = call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/issue"), Some(json!({}))).await;
    assert_eq!(s, 200, "{inv}");
    assert_eq!(inv["number"], "INV-2026-000001");
    assert_eq!(inv["status"], "issued");
    assert_eq!(inv["due_date"], "2026-03-17", "14 days' terms by default");

    // An issued invoice is never edited or deleted.
    let (s, p) = call(&app, &staff, "PUT", &format!("/api/v1/invoices/{id}"), Some(json!({"lines": []}))).await;
    assert_eq!((s, p["type"].as_str()), (409, Some("urn:praxis:problem:invoice_issued")));
    let (s, _) = call(&app, &staff, "DELETE", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!(s, 409);

    let pay = |amount: i64, method: &str| json!({"method": method, "amount_minor": amount});
    let (s, p1) = call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/payments"), Some(pay(5000, "cash"))).await;
    assert_eq!(s, 201, "{p1}");
    assert_eq!(p1["receipt_number"], "RCT-2026-000001");
    let (_, inv) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!((inv["status"].as_str(), inv["balance_minor"].as_i64()), (Some("partially_paid"), Some(11200)));

    // Overpaying is refused, consistently, and nothing is written.
    let (s, over) =
        call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/payments"), Some(pay(11201, "card"))).await;
    assert_eq!(s, 422, "{over}");
    assert_eq!(over["errors"][0]["code"], "overpayment");
    assert!(over["errors"][0]["message"].as_str().unwrap().contains("$112.00"), "{over}");
    assert_eq!(audit_count(&app, "payment.refused").await, 1);

    let (s, p2) =
        call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/payments"), Some(pay(11200, "card"))).await;
    assert_eq!(s, 201, "{p2}");
    assert_eq!(p2["receipt_number"], "RCT-2026-000002");
    let (_, inv) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!((inv["status"].as_str(), inv["payments"].as_array().unwrap().len()), (Some("paid"), 2));
    let (s, paid_again) =
        call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/payments"), Some(pay(100, "cash"))).await;
    assert_eq!((s, paid_again["type"].as_str()), (409, Some("urn:praxis:problem:not_payable")));

    // Refunds: partial with a reason, never more than is left of that payment.
    let p2id = p2["id"].as_str().unwrap();
    let (s, r) = call(
        &app,
        &staff,
        "POST",
        &format!("/api/v1/payments/{p2id}/refunds"),
        Some(json!({"amount_minor": 3000, "reason": "Overcharged"})),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!((r["number"].as_str(), r["status"].as_str()), (Some("RFD-2026-000001"), Some("succeeded")));
    let (s, r) = call(
        &app,
        &staff,
        "POST",
        &format!("/api/v1/payments/{p2id}/refunds"),
        Some(json!({"amount_minor": 8201, "reason": "x"})),
    )
    .await;
    assert_eq!((s, r["errors"][0]["code"].as_str()), (422, Some("over_refund")), "{r}");
    let (s, r) =
        call(&app, &staff, "POST", &format!("/api/v1/payments/{p2id}/refunds"), Some(json!({"amount_minor": 100})))
            .await;
    assert_eq!((s, r["errors"][0]["field"].as_str()), (422, Some("reason")), "a refund needs a reason");
    let (_, inv) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!((inv["status"].as_str(), inv["paid_minor"].as_i64()), (Some("partially_paid"), Some(13200)));
    assert_eq!(inv["refunds"].as_array().unwrap().len(), 1);

    // Voiding needs the money given back first.
    let (s, v) =
        call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/void"), Some(json!({"reason": "Wrong patient"})))
            .await;
    assert_eq!((s, v["type"].as_str()), (409, Some("urn:praxis:problem:has_payments")));
    assert!(audit_count(&app, "invoice.issue").await == 1 && audit_count(&app, "payment.refund").await == 1);
}

#[tokio::test]
async fn bad_money_input_is_refused_clearly_nothing_is_written_and_the_attempt_is_audited() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let manual = |line: Value| json!({"patient_id": f.patient.id, "clinic_id": f.clinic.id, "lines": [line]});
    let cases = [
        (json!({"description": "X", "unit_price_minor": -500}), "lines[0].unit_price"),
        (json!({"description": "X", "unit_price_minor": 1000, "tax_rate_bp": 10001}), "lines[0].tax_rate"),
        (json!({"description": "X", "unit_price_minor": 1000, "tax_rate_bp": -1}), "lines[0].tax_rate"),
        (json!({"description": "X", "unit_price_minor": 1000, "quantity": 0}), "lines[0].quantity"),
        (json!({"description": "X", "unit_price_minor": 1000, "discount_minor": 2000}), "lines[0].discount"),
        (json!({"description": "", "unit_price_minor": 1000}), "lines[0].description"),
        (json!({"description": "X", "unit_price_minor": 1000, "rebate_minor": 500}), "lines[0].item_number"),
    ];
    for (line, field) in cases {
        let (s, p) = call(&app, &staff, "POST", "/api/v1/invoices", Some(manual(line.clone()))).await;
        assert_eq!(s, 422, "{line} → {p}");
        assert!(p["errors"].as_array().unwrap().iter().any(|e| e["field"] == field), "{line}: {p}");
    }
    // Fractional cents are not minor units: the body is refused before anything runs.
    let (s, p) = call(
        &app,
        &staff,
        "POST",
        "/api/v1/invoices",
        Some(manual(json!({"description": "X", "unit_price_minor": 12.5}))),
    )
    .await;
    assert_eq!(s, 422, "{p}");
    assert_eq!(invoice_count(&app, &staff).await, 0, "nothing was written");
    assert_eq!(audit_count(&app, "invoice.create_refused").await, 7);

    // A valid draft, then payments that cannot be taken.
    let (_, d) = call(
        &app,
        &staff,
        "POST",
        "/api/v1/invoices",
        Some(manual(json!({"description": "Report", "unit_price_minor": 5000}))),
    )
    .await;
    let id = d["id"].as_str().unwrap().to_string();
    let (s, p) = call(
        &app,
        &staff,
        "POST",
        &format!("/api/v1/invoices/{id}/payments"),
        Some(json!({"method": "cash", "amount_minor": 100})),
    )
    .await;
    assert_eq!((s, p["type"].as_str()), (409, Some("urn:praxis:problem:not_payable")), "a draft is not payable: {p}");
    call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/issue"), Some(json!({}))).await;
    let bad_payments = [
        (json!({"method": "cash", "amount_minor": -5}), "amount"),
        (json!({"method": "cash", "amount_minor": 0}), "amount"),
        (json!({"method": "cash", "amount_minor": 100, "currency": "INR"}), "currency"),
        (json!({"method": "upi", "amount_minor": 100}), "reference"),
        (json!({"method": "online", "amount_minor": 100}), "method"),
        (json!({"amount_minor": 100}), "method"),
    ];
    for (body, field) in bad_payments {
        let (s, p) = call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/payments"), Some(body.clone())).await;
        assert_eq!(s, 422, "{body} → {p}");
        assert_eq!(p["errors"][0]["field"], field, "{body}: {p}");
    }
    let (s, p) = call(
        &app,
        &staff,
        "POST",
        &format!("/api/v1/invoices/{id}/payments"),
        Some(json!({"method": "cash", "amount_minor": 1.5})),
    )
    .await;
    assert_eq!(s, 422, "{p}");
    let (_, inv) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!((inv["paid_minor"].as_i64(), inv["payments"].as_array().unwrap().len()), (Some(0), 0));
    assert!(audit_count(&app, "payment.refused").await >= 5);

    // A void invoice takes no money; a void needs a reason.
    let (s, _) = call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/void"), Some(json!({"reason": " "}))).await;
    assert_eq!(s, 422);
    let (s, v) =
        call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/void"), Some(json!({"reason": "Issued twice"})))
            .await;
    assert_eq!((s, v["status"].as_str(), v["void_reason"].as_str()), (200, Some("void"), Some("Issued twice")));
    let (s, p) = call(
        &app,
        &staff,
        "POST",
        &format!("/api/v1/invoices/{id}/payments"),
        Some(json!({"method": "cash", "amount_minor": 100})),
    )
    .await;
    assert_eq!((s, p["type"].as_str()), (409, Some("urn:praxis:problem:not_payable")));
    // Void + reissue: a new draft with the same lines, to issue under a new number.
    let (s, re) = call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/reissue"), None).await;
    assert_eq!((s, re["status"].as_str(), re["reissue_of"].as_str()), (201, Some("draft"), Some(id.as_str())));
    assert_eq!(re["total_minor"], 5500);

    // Patients and providers manage no money.
    let token = app.api_login(&f.patient_user).await;
    let (s, _) = call(
        &app,
        &token,
        "POST",
        "/api/v1/invoices",
        Some(manual(json!({"description": "X", "unit_price_minor": 1}))),
    )
    .await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn concurrent_issuing_gives_gap_free_numbers_even_across_two_instances() {
    let app = TestApp::spawn().await;
    let second = TestApp::spawn_on(app.test_db.clone(), test_settings()).await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let mut ids = Vec::new();
    for i in 0..16 {
        let body = json!({"patient_id": f.patient.id, "clinic_id": f.clinic.id,
            "lines": [{"description": format!("Item {i}"), "unit_price_minor": 1000 + i}]});
        let (s, d) = call(&app, &staff, "POST", "/api/v1/invoices", Some(body)).await;
        assert_eq!(s, 201);
        ids.push(d["id"].as_str().unwrap().to_string());
    }
    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let target = if i % 2 == 0 { app.url("") } else { second.url("") };
            let (client, token, id) = (app.client(), staff.clone(), id.clone());
            tokio::spawn(async move {
                let res = client
                    .post(format!("{target}/api/v1/invoices/{id}/issue"))
                    .bearer_auth(token)
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                res.json::<Value>().await.unwrap()["number"].as_str().unwrap().to_string()
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort();
    let expected: Vec<String> = (1..=16).map(|n| format!("INV-2026-{n:06}")).collect();
    assert_eq!(numbers, expected, "one number each, no gaps, no repeats");
}

#[tokio::test]
async fn overdue_invoices_are_marked_by_the_sweep_and_the_patient_reminded_once() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let appt = completed_visit(&app, &f, "10:00").await;
    let inv = issued_for(&app, &staff, &f, appt).await;
    let id = inv["id"].as_str().unwrap();
    app.svc.run_housekeeping().await.unwrap();
    let (_, now) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!(now["status"], "issued", "not due yet");
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 15));
    app.svc.run_housekeeping().await.unwrap();
    app.svc.run_housekeeping().await.unwrap();
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (_, now) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}?x=1"), None).await;
    assert_eq!(now["status"], "overdue");
    let (_, list) = call(&app, &staff, "GET", "/api/v1/invoices?overdue=true", None).await;
    assert_eq!(list["total"], 1);
    let (_, msgs) = call(&app, &staff, "GET", "/api/v1/messages?per_page=200", None).await;
    let reminders = msgs["items"].as_array().unwrap().iter().filter(|m| m["template"] == "overdue_reminder").count();
    assert_eq!(reminders, 1, "one reminder per overdue invoice");
    // Paying it clears the overdue status.
    let (s, _) = call(
        &app,
        &staff,
        "POST",
        &format!("/api/v1/invoices/{id}/payments"),
        Some(json!({"method": "card", "amount_minor": 13200})),
    )
    .await;
    assert_eq!(s, 201);
    let (_, now) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!(now["status"], "paid");
}

#[tokio::test]
async fn claims_follow_the_payers_answer_and_the_patients_share_follows_the_claim() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (s, terms) = call(
        &app,
        &admin,
        "PUT",
        &format!("/api/v1/services/{}/billing", f.service.id),
        Some(json!({"tax_bp": 0, "item_number": "80110", "rebate_minor": 9000})),
    )
    .await;
    assert_eq!(s, 200, "{terms}");
    let appt = completed_visit(&app, &f, "10:00").await;
    let inv = issued_for(&app, &staff, &f, appt).await;
    assert_eq!((inv["total_minor"].as_i64(), inv["patient_owes_minor"].as_i64()), (Some(12000), Some(3000)));
    let claim = &inv["claims"][0];
    assert_eq!(
        (claim["status"].as_str(), claim["item_number"].as_str(), claim["claimed_minor"].as_i64()),
        (Some("pending"), Some("80110"), Some(9000))
    );
    let cid = claim["id"].as_str().unwrap();
    let claim_path = format!("/api/v1/claims/{cid}/actions");
    let step = |b: Value| call(&app, &staff, "POST", &claim_path, Some(b));
    let (s, p) = step(json!({"action": "approve"})).await;
    assert_eq!((s, p["type"].as_str()), (409, Some("urn:praxis:problem:illegal_transition")), "submit first");
    assert_eq!(step(json!({"action": "submit", "reference": "MC-1"})).await.0, 200);
    let (s, p) = step(json!({"action": "reject"})).await;
    assert_eq!((s, p["errors"][0]["field"].as_str()), (422, Some("reason")));
    let (s, p) = step(json!({"action": "approve", "approved_minor": 9001})).await;
    assert_eq!(s, 422, "{p}");
    let (s, c) = step(json!({"action": "approve", "approved_minor": 8000})).await;
    assert_eq!((s, c["status"].as_str()), (200, Some("approved")));
    let id = inv["id"].as_str().unwrap();
    let (_, now) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!((now["insurer_owes_minor"].as_i64(), now["patient_owes_minor"].as_i64()), (Some(8000), Some(4000)));
    // The insurer pays its part against the claim.
    let (s, _) = call(
        &app,
        &staff,
        "POST",
        &format!("/api/v1/invoices/{id}/payments"),
        Some(json!({"method": "insurer", "amount_minor": 8000, "claim_id": cid, "reference": "REMIT-7"})),
    )
    .await;
    assert_eq!(s, 201);
    let (_, now) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!(
        (now["insurer_owes_minor"].as_i64(), now["patient_owes_minor"].as_i64(), now["status"].as_str()),
        (Some(0), Some(4000), Some("partially_paid"))
    );

    // A rejected claim leaves the whole line to the patient.
    let appt2 = completed_visit(&app, &f, "13:00").await;
    let inv2 = issued_for(&app, &staff, &f, appt2).await;
    let c2 = inv2["claims"][0]["id"].as_str().unwrap();
    call(&app, &staff, "POST", &format!("/api/v1/claims/{c2}/actions"), Some(json!({"action": "submit"}))).await;
    let (s, _) = call(
        &app,
        &staff,
        "POST",
        &format!("/api/v1/claims/{c2}/actions"),
        Some(json!({"action": "reject", "reason": "Item not claimable on the same day"})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, now) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{}", inv2["id"].as_str().unwrap()), None).await;
    assert_eq!(now["patient_owes_minor"], 12000);
    let (_, claims) = call(&app, &staff, "GET", "/api/v1/claims?status=rejected", None).await;
    assert_eq!(claims["total"], 1);
}

#[tokio::test]
async fn automatic_drafts_deposits_and_fees_follow_each_services_terms_and_fees_can_be_waived() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (s, _) = call(&app, &admin, "PUT", &format!("/api/v1/services/{}/billing", f.service.id),
        Some(json!({"auto_invoice": true, "deposit_minor": 3000, "late_cancel_fee_minor": 4000, "no_show_fee_minor": 5000}))).await;
    assert_eq!(s, 200);
    let (w, _mail) = worker(&app);

    // A deposit is issued at booking; paid, it comes off the visit's automatic invoice.
    let start = tue("10:00");
    let appt = book_at(&app, &f, &start).await;
    w.run_until_idle().await;
    let (_, list) = call(&app, &staff, "GET", &format!("/api/v1/invoices?appointment_id={appt}"), None).await;
    assert_eq!(list["total"], 1, "{list}");
    let deposit = &list["items"][0];
    assert_eq!((deposit["status"].as_str(), deposit["total_minor"].as_i64()), (Some("issued"), Some(3000)));
    let dep_id = deposit["id"].as_str().unwrap();
    call(
        &app,
        &staff,
        "POST",
        &format!("/api/v1/invoices/{dep_id}/payments"),
        Some(json!({"method": "card", "amount_minor": 3000})),
    )
    .await;
    app.clock.set(start.parse().unwrap());
    for a in [AppointmentAction::CheckIn, AppointmentAction::Start, AppointmentAction::Complete] {
        app.svc.transition(&sys(), appt, a).await.unwrap();
    }
    w.run_until_idle().await;
    w.run_until_idle().await;
    let (_, list) =
        call(&app, &staff, "GET", &format!("/api/v1/invoices?appointment_id={appt}&status=draft"), None).await;
    assert_eq!(list["total"], 1, "one automatic draft, however often the job runs: {list}");
    let (_, visit) =
        call(&app, &staff, "GET", &format!("/api/v1/invoices/{}", list["items"][0]["id"].as_str().unwrap()), None)
            .await;
    assert_eq!(visit["source"], "auto");
    assert_eq!(visit["total_minor"], 13200 - 3000, "the paid deposit is credited: {visit}");
    assert!(visit["lines"].as_array().unwrap().iter().any(|l| l["kind"] == "deposit_credit"));

    // A no-show drafts its fee; staff waive it with a reason, and it is not drafted again.
    let missed = book_at(&app, &f, &tue("14:00")).await;
    app.clock.set(tue("14:30").parse().unwrap());
    app.svc.transition(&sys(), missed, AppointmentAction::MarkNoShow).await.unwrap();
    w.run_until_idle().await;
    let (_, fees) =
        call(&app, &staff, "GET", &format!("/api/v1/invoices?appointment_id={missed}&status=draft"), None).await;
    assert_eq!(fees["total"], 1, "{fees}");
    let fee = fees["items"][0]["id"].as_str().unwrap();
    let (_, fee_inv) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{fee}"), None).await;
    assert_eq!(
        (fee_inv["source"].as_str(), fee_inv["lines"][0]["kind"].as_str(), fee_inv["total_minor"].as_i64()),
        (Some("no_show"), Some("fee"), Some(5500))
    );
    let (s, waived) = call(
        &app,
        &staff,
        "POST",
        &format!("/api/v1/invoices/{fee}/void"),
        Some(json!({"reason": "Waived: hospital emergency"})),
    )
    .await;
    assert_eq!((s, waived["status"].as_str()), (200, Some("void")));

    // A late cancellation drafts the late fee and withdraws the unpaid deposit.
    let late = book_at(&app, &f, &tue("16:00")).await;
    w.run_until_idle().await;
    app.clock.set(tue("15:00").parse().unwrap());
    app.svc
        .cancel_appointment(&sys(), late, CancelRequest { reason: "Sick".into(), ..Default::default() })
        .await
        .unwrap();
    w.run_until_idle().await;
    let (_, all) = call(&app, &staff, "GET", &format!("/api/v1/invoices?appointment_id={late}"), None).await;
    let items = all["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["status"] == "draft" && i["total_minor"] == 4400), "{all}");
    assert!(
        items.iter().any(|i| i["status"] == "void" && i["total_minor"] == 3000),
        "the unpaid deposit is withdrawn: {all}"
    );
}

#[tokio::test]
async fn referral_caps_and_expiry_warn_at_booking_on_the_invoice_and_show_remaining_sessions() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (s, r) = call(
        &app,
        &staff,
        "POST",
        &format!("/api/v1/patients/{}/referrals", f.patient.id),
        Some(
            json!({"label": "Mental Health Treatment Plan", "referrer_name": "Dr Gupta", "referrer_number": "2345678A",
                    "referral_date": "2026-01-10", "expiry_date": "2026-03-20", "session_cap": 2}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["standing"]["remaining"], 2);
    let (s, bad) = call(&app, &staff, "POST", &format!("/api/v1/patients/{}/referrals", f.patient.id),
        Some(json!({"label": "X", "referrer_name": "Y", "referral_date": "2026-02-01", "expiry_date": "2026-01-01", "session_cap": 0}))).await;
    assert_eq!(s, 422);
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"expiry_date") && fields.contains(&"session_cap"), "{bad}");

    let first = completed_visit(&app, &f, "10:00").await;
    let second = completed_visit(&app, &f, "13:00").await;
    let (_, list) = call(&app, &staff, "GET", &format!("/api/v1/patients/{}/referrals", f.patient.id), None).await;
    assert_eq!((list[0]["standing"]["used"].as_i64(), list[0]["standing"]["remaining"].as_i64()), (Some(2), Some(0)));
    let (_, w) = call(
        &app,
        &staff,
        "GET",
        &format!("/api/v1/patients/{}/plan-warnings?service_id={}&date=2026-03-05", f.patient.id, f.service.id),
        None,
    )
    .await;
    let text = w.to_string();
    assert!(text.contains("all 2 funded sessions") && text.contains("expires in 15 days"), "{text}");
    let inv = issued_for(&app, &staff, &f, second).await;
    assert!(inv["warnings"].to_string().contains("last funded session"), "{inv}");
    let _ = first;
    let patient_token = app.api_login(&f.patient_user).await;
    let (s, _) = call(&app, &patient_token, "GET", &format!("/api/v1/patients/{}/referrals", f.patient.id), None).await;
    assert_eq!(s, 403, "funding notes are the clinic's");
}

#[tokio::test]
async fn reports_count_issued_money_by_period_age_method_and_tax_with_csv_and_each_role_sees_its_part() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let a1 = completed_visit(&app, &f, "10:00").await;
    let inv = issued_for(&app, &staff, &f, a1).await;
    let id = inv["id"].as_str().unwrap();
    call(
        &app,
        &staff,
        "POST",
        &format!("/api/v1/invoices/{id}/payments"),
        Some(json!({"method": "cash", "amount_minor": 2000})),
    )
    .await;
    let a2 = completed_visit(&app, &f, "13:00").await;
    issued_for(&app, &staff, &f, a2).await;
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 40));
    let (_, staff) = app.user_with_token(Role::Staff).await;

    let q = "from=2026-03-01&until=2026-04-30";
    let (s, rev) = call(&app, &staff, "GET", &format!("/api/v1/reports/revenue?{q}&group_by=provider"), None).await;
    assert_eq!(s, 200, "{rev}");
    assert_eq!(
        (rev["rows"][0]["total_minor"].as_i64(), rev["rows"][0]["tax_minor"].as_i64()),
        (Some(26400), Some(2400))
    );
    let (_, aged) = call(&app, &staff, "GET", &format!("/api/v1/reports/aged-receivables?{q}"), None).await;
    assert_eq!(aged["lines"][0]["buckets"][1]["owing_minor"], 24400, "31–60 days: {aged}");
    let (_, tax) = call(&app, &staff, "GET", &format!("/api/v1/reports/tax?{q}"), None).await;
    assert_eq!(tax["totals"][0]["amount_minor"], 2400);
    let (_, pm) = call(&app, &staff, "GET", &format!("/api/v1/reports/payments?{q}"), None).await;
    assert_eq!((pm["rows"][0]["method"].as_str(), pm["rows"][0]["net_minor"].as_i64()), (Some("cash"), Some(2000)));
    let res =
        app.client().get(app.url(&format!("/api/v1/reports/aged/csv?{q}"))).bearer_auth(&staff).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = res.text().await.unwrap();
    assert!(
        csv.starts_with("currency,0–30 days,31–60 days,61–90 days,90+ days,total\r\nAUD,0.00,244.00,0.00,0.00,244.00"),
        "{csv}"
    );
    let (s, _) = call(&app, &staff, "GET", "/api/v1/reports/revenue?from=2026-05-01&until=2026-04-01", None).await;
    assert_eq!(s, 422);
    let (s, _) = call(&app, &staff, "GET", "/api/v1/reports/revenue?group_by=colour", None).await;
    assert_eq!(s, 422);

    // The provider sees their own revenue; another provider sees none of it; patients none.
    let mine = app.api_login(&f.provider_user).await;
    let (_, rev) = call(&app, &mine, "GET", &format!("/api/v1/reports/revenue?{q}"), None).await;
    assert_eq!(rev["totals"][0]["amount_minor"], 26400);
    let (other, _) = app.provider(&[f.clinic.id], &[f.service.id]).await;
    let theirs = app.api_login(&other).await;
    let (_, rev) = call(&app, &theirs, "GET", &format!("/api/v1/reports/revenue?{q}"), None).await;
    assert_eq!(rev["rows"].as_array().unwrap().len(), 0);
    let (s, _) =
        call(&app, &theirs, "GET", &format!("/api/v1/reports/revenue?{q}&provider_id={}", f.provider.id), None).await;
    assert_eq!(s, 403);
    let patient = app.api_login(&f.patient_user).await;
    assert_eq!(call(&app, &patient, "GET", "/api/v1/reports/revenue", None).await.0, 403);
    // The patient sees their own issued invoices, never drafts or someone else's.
    let (_, mine) = call(&app, &patient, "GET", "/api/v1/invoices", None).await;
    assert_eq!(mine["total"], 2);
    let (_, other_patient) = app.patient_user().await;
    let d = call(
        &app,
        &staff,
        "POST",
        "/api/v1/invoices",
        Some(json!({"patient_id": other_patient.id, "clinic_id": f.clinic.id,
        "lines": [{"description": "X", "unit_price_minor": 100}]})),
    )
    .await
    .1;
    let oid = d["id"].as_str().unwrap();
    call(&app, &staff, "POST", &format!("/api/v1/invoices/{oid}/issue"), Some(json!({}))).await;
    assert_eq!(call(&app, &patient, "GET", &format!("/api/v1/invoices/{oid}"), None).await.0, 404);
    assert_eq!(call(&app, &patient, "GET", &format!("/api/v1/invoices/{oid}/pdf"), None).await.0, 404);
}

/// An issued invoice of `patient` by `provider` with a rebated line (so it has a claim):
/// (invoice id, claim id). For the permission table.
pub(crate) async fn fresh_invoice(
    app: &TestApp,
    clinic: &praxis_services::catalog::Clinic,
    provider: &praxis_services::catalog::Provider,
    patient: praxis_domain::PatientId,
) -> (String, String) {
    use praxis_services::billing::{DraftRequest, IssueRequest, LineRequest};
    let req = DraftRequest {
        patient_id: Some(patient),
        clinic_id: Some(clinic.id),
        provider_id: Some(provider.id),
        lines: vec![LineRequest {
            description: "Assessment".into(),
            unit_price_minor: Some(10000),
            item_number: Some("10960".into()),
            rebate_minor: Some(5000),
            ..Default::default()
        }],
        ..Default::default()
    };
    let d = app.svc.create_invoice(&sys(), req).await.unwrap();
    let inv = app.svc.issue_invoice(&sys(), d.summary.id, IssueRequest::default()).await.unwrap();
    (inv.summary.id.to_string(), inv.claims[0].id.to_string())
}

/// A cash payment on an invoice (for the permission table).
pub(crate) async fn fresh_payment(app: &TestApp, invoice: &str) -> String {
    let req = praxis_services::billing::PaymentRequest {
        method: Some(praxis_domain::billing::PaymentMethod::Cash),
        amount_minor: Some(1000),
        ..Default::default()
    };
    app.svc
        .record_payment(&sys(), praxis_domain::InvoiceId(invoice.parse().unwrap()), req)
        .await
        .unwrap()
        .id
        .to_string()
}

/// A referral of `patient` (for the permission table).
pub(crate) async fn fresh_referral(app: &TestApp, patient: praxis_domain::PatientId) -> String {
    let req = praxis_services::billing::ReferralRequest {
        label: "GP referral".into(),
        referrer_name: "Dr Gupta".into(),
        referral_date: Some(jiff::civil::date(2026, 1, 5)),
        ..Default::default()
    };
    app.svc.create_referral(&sys(), patient, req).await.unwrap().id.to_string()
}

#[tokio::test]
async fn a_typed_line_cannot_bill_another_patients_appointment() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let appt = completed_visit(&app, &f, "10:00").await;
    let (_, other) = app.patient_user().await;
    let other_id = other.id;
    let (s, body) = call(
        &app,
        &staff,
        "POST",
        "/api/v1/invoices",
        Some(json!({"patient_id": other_id, "clinic_id": f.clinic.id,
            "lines": [{"description": "Visit", "unit_price_minor": 1000, "appointment_id": appt}]})),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert!(body.to_string().contains("lines[0].appointment_id"), "{body}");
    assert_eq!(invoice_count(&app, &staff).await, 0, "nothing was drafted");
}

#[tokio::test]
async fn refunds_at_two_clinics_get_distinct_numbers() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let second = app.clinic("Second Clinic", "Australia/Sydney").await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let mut numbers = Vec::new();
    for clinic in [f.clinic.id, second.id] {
        let (s, draft) = call(
            &app,
            &staff,
            "POST",
            "/api/v1/invoices",
            Some(json!({"patient_id": f.patient.id, "clinic_id": clinic,
                "lines": [{"description": "Letter", "unit_price_minor": 5000}]})),
        )
        .await;
        assert_eq!(s, 201, "{draft}");
        let id = draft["id"].as_str().unwrap();
        call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/issue"), Some(json!({"send": false}))).await;
        let (s, pay) = call(
            &app,
            &staff,
            "POST",
            &format!("/api/v1/invoices/{id}/payments"),
            Some(json!({"method": "cash", "amount_minor": 1000})),
        )
        .await;
        assert_eq!(s, 201, "{pay}");
        let pid = pay["id"].as_str().unwrap();
        let (s, refund) = call(
            &app,
            &staff,
            "POST",
            &format!("/api/v1/payments/{pid}/refunds"),
            Some(json!({"amount_minor": 500, "reason": "Goodwill"})),
        )
        .await;
        assert_eq!(s, 201, "{refund}");
        numbers.push(refund["number"].as_str().unwrap().to_string());
    }
    assert_ne!(numbers[0], numbers[1], "each refund has its own number");
    assert_eq!(numbers, ["RFD-2026-000001", "RFD-2026-000002"], "numbered across the practice, without gaps");
}
