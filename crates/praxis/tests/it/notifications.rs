//! Notifications against real parts: email to a real SMTP server started by the test and
//! read back, SMS to a local Twilio-compatible HTTP server that checks the request shape
//! and basic auth; reminders that follow moves and cancellations; preferences and quiet
//! hours; dead messages that alert admins without blocking the queue; staff visibility.

use crate::*;
use praxis_domain::Role;
use praxis_services::Actor;
use praxis_services::notifications::transport::{
    CapturingMailer, CapturingSms, SendError, SmtpConfig, SmtpMailer, SmtpTls, Transports, TwilioConfig, TwilioSms,
};
use praxis_services::patients::NewPatient;
use praxis_services::scheduling::{BookingRequest, CancelRequest, RescheduleRequest};
use praxis_testkit::scheduling::Fixture;
use praxis_testkit::sinks::{SmsSink, SmtpSink};
use praxis_worker::{Worker, WorkerConfig};
use serde_json::{Value, json};
use std::sync::Arc;

fn sys() -> Actor {
    Actor::system("test")
}

async fn transports(smtp: &SmtpSink, sms: &SmsSink) -> Transports {
    let mailer = SmtpMailer::new(&SmtpConfig {
        host: "127.0.0.1".into(),
        port: smtp.port(),
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "Harbour Clinic <no-reply@clinic.test>".into(),
        pool_size: 2,
        timeout: std::time::Duration::from_secs(10),
    })
    .unwrap();
    let sms = TwilioSms::new(TwilioConfig {
        base_url: sms.base_url.clone(),
        account_sid: sms.account_sid.clone(),
        auth_token: sms.auth_token.clone().into(),
        from: "+61400000000".into(),
        timeout: std::time::Duration::from_secs(10),
    })
    .unwrap();
    Transports { mailer: Arc::new(mailer), sms: Arc::new(sms) }
}

fn worker(app: &TestApp, t: Transports) -> Worker {
    Worker::new(app.svc.clone(), t, WorkerConfig { name: "test-worker".into(), concurrency: 4, ..Default::default() })
}

/// A patient with email and phone.
async fn patient(app: &TestApp, email: &str, phone: Option<&str>) -> praxis_services::patients::Patient {
    app.svc
        .create_patient(
            &sys(),
            NewPatient {
                given_name: "Ana".into(),
                family_name: "Silva".into(),
                email: Some(email.into()),
                phone: phone.map(str::to_string),
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

async fn book(
    app: &TestApp,
    f: &Fixture,
    patient: praxis_domain::PatientId,
    start: &str,
) -> praxis_domain::AppointmentId {
    let req = BookingRequest {
        service_id: Some(f.service.id),
        provider_id: Some(f.provider.id),
        clinic_id: Some(f.clinic.id),
        start: Some(start.parse().unwrap()),
        patient_id: Some(patient),
        ..Default::default()
    };
    app.svc.book(&sys(), req, None).await.unwrap().appointment.id
}

async fn messages(app: &TestApp, query: &str) -> Vec<Value> {
    let (_, token) = app.user_with_token(Role::Staff).await;
    let res = app
        .client()
        .get(app.url(&format!("/api/v1/messages?per_page=200{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_booking_confirmation_reaches_a_real_smtp_server_with_both_bodies_and_an_ics() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (smtp, sms) = (SmtpSink::start().await, SmsSink::start().await);
    let p = patient(&app, "ana.silva@example.com", None).await;
    // Tuesday 3 March 2026, 10:00 in Sydney.
    let id = book(&app, &f, p.id, "2026-03-02T23:00:00Z").await;
    let tally = worker(&app, transports(&smtp, &sms).await).run_until_idle().await;
    assert_eq!(tally.done, 1, "{tally:?}");
    let mail = smtp.messages();
    assert_eq!(mail.len(), 1);
    let m = &mail[0];
    assert_eq!(m.to, vec!["ana.silva@example.com".to_string()]);
    assert_eq!(m.from, "no-reply@clinic.test");
    let subject = m.header("Subject").unwrap();
    assert!(subject.contains("Tuesday 3 March 2026 at 10:00 AEDT"), "{subject}");
    assert!(m.header("To").unwrap().contains("ana.silva@example.com"));
    let key = m.header("X-Idempotency-Key").unwrap();
    assert!(key.starts_with(&format!("confirmation:{}", id.0)), "{key}");
    let mid = m.message_id();
    assert_eq!(
        mid,
        format!("<{}>", praxis_services::notifications::message_id_for(&key, &app.svc.settings().public_base_url))
    );
    let text = m.part("text/plain").expect("a plain-text part");
    assert!(text.contains("Dear Ana,") && text.contains("Harbour Clinic") && text.contains("1 Test Street"), "{text}");
    assert!(text.contains(&format!("http://127.0.0.1:8080/my/appointments/{id}")), "{text}");
    let html = m.part("text/html").expect("an HTML part");
    assert!(html.contains("<table") && html.contains("Consultation"), "{html}");
    let ics = m.part("text/calendar").expect("an .ics attachment");
    assert!(ics.contains("METHOD:PUBLISH") && ics.contains("DTSTART;TZID=Australia/Sydney:20260303T100000"), "{ics}");
    assert!(ics.contains(&format!("UID:{id}@praxis")));
    // Staff see it as sent with the Message-ID.
    let list = messages(&app, "").await;
    assert_eq!(list.len(), 3, "a confirmation and two reminders (24 h and 2 h before): {list:?}");
    let sent: Vec<&Value> = list.iter().filter(|m| m["status"] == "sent").collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["template"], "confirmation");
    assert_eq!(sent[0]["provider_message_id"], mid.as_str());
    assert_eq!(sent[0]["attempts"], 1);
}

#[tokio::test]
async fn sms_goes_to_a_twilio_compatible_api_and_a_refused_number_goes_dead_and_alerts_admins() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let admin = app.create_user(&[Role::Admin]).await;
    let (smtp, sms) = (SmtpSink::start().await, SmsSink::start().await);
    let good = patient(&app, "good@example.com", Some("+61 412 345 678")).await;
    let bad = patient(&app, "bad@example.com", Some("+1 500 555 0001")).await;
    book(&app, &f, good.id, "2026-03-02T23:00:00Z").await;
    book(&app, &f, bad.id, "2026-03-03T01:00:00Z").await;
    let w = worker(&app, transports(&smtp, &sms).await);
    let tally = w.run_until_idle().await;
    assert_eq!(tally.dead, 1, "{tally:?}");
    let got = sms.messages();
    assert_eq!(got.len(), 1, "rejected: {:?}", sms.rejected());
    let s = &got[0];
    assert_eq!(s.to, good.phone.clone().unwrap());
    assert_eq!(s.from, "+61400000000");
    assert!(s.body.starts_with("Harbour Clinic: booked Consultation") && s.body.contains("AEDT"), "{}", s.body);
    assert!(s.idempotency_token.as_deref().unwrap_or("").starts_with("confirmation:"));
    assert!(sms.rejected().iter().any(|r| r.contains("not a valid phone number")));
    // The refused SMS is dead with the provider's reason; the queue went on.
    let dead = messages(&app, "&status=dead").await;
    assert_eq!(dead.len(), 1);
    assert!(dead[0]["last_error"].as_str().unwrap().contains("400"), "{dead:?}");
    // …and the administrator was told by email.
    let alert = smtp.messages().into_iter().find(|m| m.to.contains(&admin.email)).expect("an alert to the admin");
    assert!(alert.header("Subject").unwrap().contains("could not be sent"));
    assert!(alert.part("text/plain").unwrap().contains("not a valid phone number"));
    // Both emails went out too.
    assert_eq!(smtp.messages().iter().filter(|m| m.to[0].ends_with("@example.com")).count(), 2);
}

#[tokio::test]
async fn a_permanent_smtp_refusal_and_an_unrenderable_message_go_dead_without_blocking_the_queue() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let admin = app.create_user(&[Role::Admin]).await;
    let (smtp, sms) = (SmtpSink::start().await, SmsSink::start().await);
    let bouncing = patient(&app, "bounce.me@example.com", None).await;
    let fine = patient(&app, "fine@example.com", None).await;
    book(&app, &f, bouncing.id, "2026-03-02T23:00:00Z").await;
    book(&app, &f, fine.id, "2026-03-03T01:00:00Z").await;
    // A confirmation that names no appointment cannot be rendered.
    {
        let mut tx = app.db.begin().await.unwrap();
        let job = uuid::Uuid::now_v7();
        let now = app.clock.now();
        praxis_store::jobs::enqueue(
            &mut tx,
            &praxis_store::jobs::NewJob {
                id: job,
                kind: "message".into(),
                payload: json!({ "message_id": job }).to_string(),
                run_at: now,
                max_attempts: 5,
                idempotency_key: "broken-offer".into(),
            },
            now,
        )
        .await
        .unwrap();
        praxis_store::messages::insert(
            &mut tx,
            &praxis_store::messages::NewMessage {
                id: job,
                job_id: job,
                template: "confirmation".into(),
                channel: "email".into(),
                recipient: "someone@example.com".into(),
                patient_id: None,
                appointment_id: None,
                subject: "notice".into(),
                data: "{}".into(),
            },
            now,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let tally = worker(&app, transports(&smtp, &sms).await).run_until_idle().await;
    assert_eq!(tally.dead, 2, "{tally:?}");
    let dead = messages(&app, "&status=dead").await;
    let reasons: Vec<&str> = dead.iter().map(|m| m["last_error"].as_str().unwrap()).collect();
    assert!(reasons.iter().any(|r| r.contains("550")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("the appointment is missing")), "{reasons:?}");
    assert!(smtp.messages().iter().any(|m| m.to == vec!["fine@example.com".to_string()]), "the queue moved on");
    let alerts: Vec<_> = smtp.messages().into_iter().filter(|m| m.to.contains(&admin.email)).collect();
    assert_eq!(alerts.len(), 2, "one alert per dead message");
    // Audited.
    let audit = app
        .svc
        .list_audit(&sys(), &Default::default(), praxis_services::users::PageRequest::new(Some(1), Some(200)))
        .await
        .unwrap();
    assert_eq!(audit.items.iter().filter(|e| e.action == "message.dead").count(), 2);
}

#[tokio::test]
async fn reminders_follow_moves_and_cancellations_and_no_stale_reminder_is_ever_sent() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (smtp, sms) = (SmtpSink::start().await, SmsSink::start().await);
    let p = patient(&app, "ana@example.com", None).await;
    // Thursday 5 March 10:00 Sydney; moved to Friday 6 March 14:00.
    let id = book(&app, &f, p.id, "2026-03-04T23:00:00Z").await;
    let w = worker(&app, transports(&smtp, &sms).await);
    w.run_until_idle().await;
    let reminders = messages(&app, "&template=reminder").await;
    assert_eq!(reminders.len(), 2);
    let due: Vec<&str> = reminders.iter().map(|m| m["due_at"].as_str().unwrap()).collect();
    assert!(due.contains(&"2026-03-03T23:00:00Z") && due.contains(&"2026-03-04T21:00:00Z"), "{due:?}");
    app.svc
        .reschedule(
            &sys(),
            id,
            RescheduleRequest { start: Some("2026-03-06T03:00:00Z".parse().unwrap()), ..Default::default() },
        )
        .await
        .unwrap();
    let reminders = messages(&app, "&template=reminder").await;
    let pending: Vec<&str> =
        reminders.iter().filter(|m| m["status"] == "pending").map(|m| m["due_at"].as_str().unwrap()).collect();
    assert_eq!(pending.len(), 2, "{reminders:?}");
    assert!(pending.contains(&"2026-03-05T03:00:00Z") && pending.contains(&"2026-03-06T01:00:00Z"), "{pending:?}");
    assert_eq!(reminders.iter().filter(|m| m["status"] == "cancelled").count(), 2, "old reminders cancelled");
    // Walk the clock past every old and new reminder time.
    for t in ["2026-03-03T23:05:00Z", "2026-03-04T21:05:00Z", "2026-03-05T03:05:00Z"] {
        app.clock.set(t.parse().unwrap());
        w.run_until_idle().await;
    }
    let sent: Vec<_> =
        smtp.messages().into_iter().filter(|m| m.header("Subject").unwrap().starts_with("Reminder")).collect();
    assert_eq!(sent.len(), 1, "only the 24-hour reminder for the new time so far");
    assert!(sent[0].header("Subject").unwrap().contains("Friday 6 March 2026 at 14:00 AEDT"));
    assert!(sent[0].part("text/plain").unwrap().contains("tomorrow"));
    // Cancelled before the 2-hour reminder: it is cancelled in the same transaction.
    app.svc
        .cancel_appointment(&sys(), id, CancelRequest { reason: "Unwell".into(), ..Default::default() })
        .await
        .unwrap();
    assert!(messages(&app, "&template=reminder&status=pending").await.is_empty());
    app.clock.set("2026-03-06T01:05:00Z".parse().unwrap());
    w.run_until_idle().await;
    let subjects: Vec<String> = smtp.messages().iter().map(|m| m.header("Subject").unwrap()).collect();
    assert_eq!(subjects.iter().filter(|s| s.starts_with("Reminder")).count(), 1, "{subjects:?}");
    let cancel = smtp
        .messages()
        .into_iter()
        .find(|m| m.header("Subject").unwrap().starts_with("Appointment cancelled"))
        .unwrap();
    assert!(cancel.part("text/plain").unwrap().contains("Reason: Unwell"));
    assert!(cancel.part("text/calendar").unwrap().contains("METHOD:CANCEL"));
    let moved =
        smtp.messages().into_iter().find(|m| m.header("Subject").unwrap().starts_with("Appointment moved")).unwrap();
    assert!(
        moved
            .part("text/plain")
            .unwrap()
            .contains("from Thursday 5 March 2026 at 10:00 AEDT to Friday 6 March 2026 at 14:00 AEDT")
    );
}

#[tokio::test]
async fn a_reminder_claimed_after_a_move_is_not_sent() {
    // Belt and braces: even a reminder job that escaped cancellation (e.g. it was running
    // when the appointment moved) checks the appointment before sending.
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mailer = CapturingMailer::default();
    let t = Transports { mailer: Arc::new(mailer.clone()), sms: Arc::new(CapturingSms::default()) };
    let p = patient(&app, "ana@example.com", None).await;
    let id = book(&app, &f, p.id, "2026-03-04T23:00:00Z").await;
    app.clock.set("2026-03-03T23:01:00Z".parse().unwrap());
    let claimed = app.svc.claim_jobs("w1", 10).await.unwrap();
    // Move the appointment directly in the database (as if by a concurrent change).
    app.db
        .execute_unaudited(
            praxis_store::sql(
                "UPDATE appointments SET starts_at = $1, occupied_from = $1, ends_at = $2, occupied_until = $3 WHERE id = $4",
            )
            .bind("2026-03-05T01:00:00Z".parse::<jiff::Timestamp>().unwrap())
            .bind("2026-03-05T01:50:00Z".parse::<jiff::Timestamp>().unwrap())
            .bind("2026-03-05T02:00:00Z".parse::<jiff::Timestamp>().unwrap())
            .bind(id),
        )
        .await
        .unwrap();
    for c in &claimed {
        app.svc.process_job(c, &t).await.unwrap();
    }
    let sent = mailer.sent.lock().unwrap().clone();
    assert!(
        sent.iter().all(|m| !m.subject.starts_with("Reminder")),
        "{:?}",
        sent.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let rem = messages(&app, "&template=reminder&status=cancelled").await;
    assert!(rem.iter().any(|m| m["last_error"].as_str().unwrap().contains("moved")), "{rem:?}");
}

#[tokio::test]
async fn preferences_and_quiet_hours_are_honoured() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mailer = CapturingMailer::default();
    let sms = CapturingSms::default();
    let t = Transports { mailer: Arc::new(mailer.clone()), sms: Arc::new(sms.clone()) };
    // The fixture's patient edits their own preferences through the API.
    let token = app.api_login(&f.patient_user).await;
    let url = app.url(&format!("/api/v1/patients/{}/message-preferences", f.patient.id));
    let res = app.client().get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let prefs: Value = res.json().await.unwrap();
    assert_eq!(prefs["quiet_start"], "21:00");
    assert_eq!(prefs["quiet_end"], "08:00");
    let res = app.client().put(&url).bearer_auth(&token).json(&json!({"quiet_start": "25:00"})).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let res = app
        .client()
        .put(&url)
        .bearer_auth(&token)
        .json(&json!({"email_enabled": false, "quiet_start": "20:30"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Another patient's preferences are not theirs to see.
    let other = patient(&app, "other@example.com", Some("+61 412 000 111")).await;
    let res = app
        .client()
        .get(app.url(&format!("/api/v1/patients/{}/message-preferences", other.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // Staff book for the other patient at 23:00 Sydney: the email goes now, the SMS waits for 08:00.
    app.clock.set("2026-03-02T12:00:00Z".parse().unwrap());
    book(&app, &f, other.id, "2026-03-04T23:00:00Z").await;
    let w = worker(&app, t.clone());
    w.run_until_idle().await;
    assert_eq!(mailer.sent.lock().unwrap().len(), 1);
    assert!(sms.sent.lock().unwrap().is_empty(), "no SMS at night");
    let pending = messages(&app, "&channel=sms&template=confirmation").await;
    assert_eq!(pending[0]["status"], "pending");
    assert_eq!(pending[0]["due_at"], "2026-03-02T21:00:00Z", "08:00 Sydney the next morning");
    app.clock.set("2026-03-02T21:00:30Z".parse().unwrap());
    w.run_until_idle().await;
    assert_eq!(sms.sent.lock().unwrap().len(), 1);
    // The fixture patient turned email off: their booking sends no email.
    mailer.sent.lock().unwrap().clear();
    book(&app, &f, f.patient.id, "2026-03-05T01:00:00Z").await;
    w.run_until_idle().await;
    assert!(mailer.sent.lock().unwrap().iter().all(|m| m.to != f.patient.email.clone().unwrap_or_default()));
    // Staff may edit preferences too; the page renders for the patient.
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let res = app
        .client()
        .put(app.url(&format!("/api/v1/patients/{}/message-preferences", other.id)))
        .bearer_auth(&staff)
        .json(&json!({"sms_enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let b = app.browser_login(&f.patient_user).await;
    let (status, body) = b.get("/my/message-preferences").await;
    assert_eq!(status, 200);
    assert!(body.contains("Quiet hours") && body.contains("20:30"), "{body}");
    let (status, _, body) = b
        .post_form(
            "/my/message-preferences",
            "/my/message-preferences",
            &[("sms_enabled", "on"), ("quiet_start", "22:00"), ("quiet_end", "07:00")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("saved"));
}

#[tokio::test]
async fn transient_failures_back_off_then_die_with_the_last_error() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mailer = CapturingMailer::default();
    *mailer.fail_with.lock().unwrap() = Some(SendError::Transient("connection refused".into()));
    let t = Transports { mailer: Arc::new(mailer.clone()), sms: Arc::new(CapturingSms::default()) };
    let p = patient(&app, "ana@example.com", None).await;
    book(&app, &f, p.id, "2026-03-04T23:00:00Z").await;
    let w = worker(&app, t);
    let mut previous = app.clock.now();
    for attempt in 1..=10 {
        w.run_until_idle().await;
        let m = messages(&app, "&template=confirmation").await.remove(0);
        assert_eq!(m["attempts"], attempt);
        if attempt < 10 {
            assert_eq!(m["status"], "failed");
            let due: jiff::Timestamp = m["due_at"].as_str().unwrap().parse().unwrap();
            let wait = due.duration_since(app.clock.now()).as_secs_f64();
            let ideal = (30.0 * 2f64.powi(attempt - 1)).min(3600.0);
            assert!(wait >= ideal * 0.75 - 1.0 && wait <= ideal * 1.25 + 1.0, "attempt {attempt}: {wait}s vs {ideal}s");
            assert!(due > previous);
            previous = due;
            app.clock.set(due);
        } else {
            assert_eq!(m["status"], "dead");
            assert!(m["last_error"].as_str().unwrap().contains("connection refused"));
        }
    }
}

#[tokio::test]
async fn one_idempotency_key_makes_one_job_and_an_expired_lease_is_claimed_again() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let job = |key: &str| praxis_store::jobs::NewJob {
        id: uuid::Uuid::now_v7(),
        kind: "noop".into(),
        payload: "{}".into(),
        run_at: now,
        max_attempts: 3,
        idempotency_key: key.into(),
    };
    let mut tx = app.db.begin().await.unwrap();
    assert!(praxis_store::jobs::enqueue(&mut tx, &job("k1"), now).await.unwrap());
    assert!(!praxis_store::jobs::enqueue(&mut tx, &job("k1"), now).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = app.db.begin().await.unwrap();
    assert!(!praxis_store::jobs::enqueue(&mut tx, &job("k1"), now).await.unwrap(), "also across transactions");
    tx.commit().await.unwrap();
    assert_eq!(praxis_store::jobs::list(&app.db, None, None, 10).await.unwrap().len(), 1);
    let first = app.svc.claim_jobs("w1", 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(app.svc.claim_jobs("w2", 10).await.unwrap().is_empty(), "leased");
    app.clock.advance(jiff::SignedDuration::from_secs(121));
    let again = app.svc.claim_jobs("w2", 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].job.attempts, 2);
    // The first worker's outcome no longer counts.
    let mut tx = app.db.begin().await.unwrap();
    assert!(!praxis_store::jobs::complete(&mut tx, first[0].job.id, &first[0].claim, now).await.unwrap());
    tx.commit().await.unwrap();
    // An unknown kind dies with the reason.
    let t = Transports::log_only();
    let out = app.svc.process_job(&again[0], &t).await.unwrap();
    assert!(
        matches!(out, praxis_services::notifications::queue::Outcome::Dead(ref e) if e.contains("unknown job kind")),
        "{out:?}"
    );
}

#[tokio::test]
async fn staff_see_retry_and_cancel_messages_patients_do_not() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let p = patient(&app, "bounce@example.com", None).await;
    let (smtp, sms) = (SmtpSink::start().await, SmsSink::start().await);
    let id = book(&app, &f, p.id, "2026-03-04T23:00:00Z").await;
    worker(&app, transports(&smtp, &sms).await).run_until_idle().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let dead = messages(&app, "&status=dead").await;
    assert_eq!(dead.len(), 1);
    let dead_id = dead[0]["id"].as_str().unwrap();
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/messages/{dead_id}/retry")))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    assert_eq!(body["attempts"], 0);
    let reminder = messages(&app, "&template=reminder").await.remove(0);
    let rid = reminder["id"].as_str().unwrap();
    let res =
        app.client().post(app.url(&format!("/api/v1/messages/{rid}/cancel"))).bearer_auth(&staff).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res =
        app.client().post(app.url(&format!("/api/v1/messages/{rid}/cancel"))).bearer_auth(&staff).send().await.unwrap();
    assert_eq!(res.status(), 409);
    let res = app
        .client()
        .get(app.url(&format!("/api/v1/appointments/{id}/messages")))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Vec<Value>>().await.unwrap().len(), 3);
    let patient_token = app.api_login(&f.patient_user).await;
    let res = app.client().get(app.url("/api/v1/messages")).bearer_auth(&patient_token).send().await.unwrap();
    assert_eq!(res.status(), 403);
    // Pages: the list with its actions, and the appointment's message history.
    let staff_user = app.create_user(&[Role::Staff]).await;
    let b = app.browser_login(&staff_user).await;
    let (status, body) = b.get("/messages?status=cancelled").await;
    assert_eq!(status, 200);
    assert!(body.contains("Reminder") && body.contains("Send again"), "{body}");
    let (status, body) = b.get(&format!("/appointments/{id}")).await;
    assert_eq!(status, 200);
    assert!(body.contains("id=\"messages\"") && body.contains("bounce@example.com"), "{body}");
    let (status, location, _) =
        b.post_form("/messages", &format!("/messages/{rid}/retry"), &[("back", "/messages?status=cancelled")]).await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/messages?status=cancelled&msg=retried"));
    let patient_browser = app.browser_login(&f.patient_user).await;
    assert_eq!(patient_browser.get("/messages").await.0, 403);
    // Readiness reports the queue; metrics show depth, age and counts per channel.
    let ready: Value = app.client().get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert!(ready["queue"]["waiting"].as_i64().unwrap() >= 1, "{ready}");
    let metrics = app.client().get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("praxis_job_queue_depth") && metrics.contains("praxis_job_oldest_due_age_seconds"));
    assert!(
        metrics.contains("praxis_messages{channel=\"email\",status=\"dead\"}")
            || metrics.contains("praxis_messages{status=\"dead\",channel=\"email\"}")
            || metrics.contains("praxis_messages"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_waiting_list_offer_is_sent_with_its_accept_link_and_expiry() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mailer = CapturingMailer::default();
    let t = Transports { mailer: Arc::new(mailer.clone()), sms: Arc::new(CapturingSms::default()) };
    let waiting = patient(&app, "waiting@example.com", None).await;
    app.svc
        .join_waitlist(
            &sys(),
            praxis_services::scheduling::WaitlistInput {
                service_id: Some(f.service.id),
                patient_id: Some(waiting.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let other = patient(&app, "other@example.com", None).await;
    let id = book(&app, &f, other.id, "2026-03-04T23:00:00Z").await;
    app.svc
        .cancel_appointment(&sys(), id, CancelRequest { reason: "Unwell".into(), ..Default::default() })
        .await
        .unwrap();
    worker(&app, t).run_until_idle().await;
    let sent = mailer.sent.lock().unwrap().clone();
    let offer = sent.iter().find(|m| m.to == "waiting@example.com").expect("an offer email");
    assert!(offer.subject.starts_with("A time is free for you"), "{}", offer.subject);
    assert!(offer.text.contains("/my/waitlist#offer-") && offer.text.contains("held for you until"), "{}", offer.text);
}

/// A worker killed while it held jobs: once its lease runs out, the jobs are shown as left
/// by a stopped worker (and taken over), not as still running — on /readyz, in the
/// metrics, on the health page and on the messages page.
#[tokio::test]
async fn jobs_a_killed_worker_held_are_shown_as_taken_over_not_running() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let p = patient(&app, "ana@example.org", None).await;
    book(&app, &f, p.id, &crate::scheduling_api::tue("10:00")).await;
    // A worker claims everything due with a one-minute lease, then dies without a word.
    let now = app.clock.now();
    let lease = now.checked_add(jiff::SignedDuration::from_secs(60)).unwrap();
    let held = praxis_store::jobs::claim(&app.db, now, lease, "dead-worker", 100).await.unwrap();
    assert!(!held.is_empty(), "the booking queued its confirmation");
    let readyz = |app: &TestApp| {
        let res = app.client().get(app.url("/readyz")).send();
        async move { res.await.unwrap().json::<Value>().await.unwrap() }
    };
    let during = readyz(&app).await;
    assert_eq!(during["queue"]["running"], held.len(), "{during}");
    assert_eq!(during["queue"]["abandoned"], 0, "{during}");
    // The lease runs out.
    app.clock.set(lease.checked_add(jiff::SignedDuration::from_secs(1)).unwrap());
    let after = readyz(&app).await;
    assert_eq!(after["queue"]["running"], 0, "no longer shown as running: {after}");
    assert_eq!(after["queue"]["abandoned"], held.len(), "{after}");
    let metrics = app.client().get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(&format!("praxis_job_queue_abandoned {}", held.len())), "{metrics}");
    let staff = app.browser_login(&app.create_user(&[Role::Staff]).await).await;
    let (_, page) = staff.get("/messages").await;
    assert!(page.contains("by a worker that stopped before finishing"), "{page}");
    let admin = app.browser_login(&app.create_user(&[Role::Admin]).await).await;
    let (_, health) = admin.get("/admin/health").await;
    assert!(health.contains("left by a stopped worker (taken over automatically)"), "{health}");
}
