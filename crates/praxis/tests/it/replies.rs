//! Confirm or cancel from the reminder: the signed link in reminder emails and SMS (once,
//! expiring, nothing else reachable through it), cancellation under the policy, and SMS
//! replies `C` / `X` through the provider's signed inbound webhook (signed in the test by
//! the official twilio package where it is installed).

use crate::*;
use jiff::SignedDuration;
use praxis_domain::{AppointmentId, PatientId};
use praxis_services::Actor;
use praxis_services::notifications::transport::{CapturingMailer, CapturingSms, Transports, twilio_signature};
use praxis_services::patients::NewPatient;
use praxis_services::scheduling::BookingRequest;
use praxis_testkit::scheduling::Fixture;
use praxis_worker::{Worker, WorkerConfig};
use serde_json::json;
use std::sync::Arc;

struct Rig {
    app: TestApp,
    f: Fixture,
    mail: CapturingMailer,
    sms: CapturingSms,
}

const SMS_TOKEN: &str = "twilio-auth-token-for-tests";

async fn rig(reminder_lead_hours: i64) -> Rig {
    let mut settings = test_settings();
    settings.reminder_leads = vec![SignedDuration::from_hours(reminder_lead_hours)];
    settings.sms_reply_secret = Some(SMS_TOKEN.into());
    let db = Arc::new(TestDb::new().await);
    let app = TestApp::spawn_on(db, settings).await;
    let f = app.fixture().await;
    Rig { app, f, mail: CapturingMailer::default(), sms: CapturingSms::default() }
}

impl Rig {
    async fn patient(&self, email: &str, phone: &str) -> PatientId {
        let p = NewPatient {
            given_name: "Ana".into(),
            family_name: "Silva".into(),
            email: Some(email.into()),
            phone: Some(phone.into()),
            ..Default::default()
        };
        self.app.svc.create_patient(&Actor::system("test"), p).await.unwrap().id
    }

    async fn book(&self, patient: PatientId, start: &str) -> AppointmentId {
        let req = BookingRequest {
            service_id: Some(self.f.service.id),
            provider_id: Some(self.f.provider.id),
            clinic_id: Some(self.f.clinic.id),
            start: Some(start.parse().unwrap()),
            patient_id: Some(patient),
            ..Default::default()
        };
        self.app.svc.book(&Actor::system("test"), req, None).await.unwrap().appointment.id
    }

    /// Sends what is due at `at`.
    async fn send_due(&self, at: &str) {
        self.app.clock.set(at.parse().unwrap());
        let t = Transports { mailer: Arc::new(self.mail.clone()), sms: Arc::new(self.sms.clone()) };
        Worker::new(
            self.app.svc.clone(),
            t,
            WorkerConfig { name: "test".into(), concurrency: 2, ..Default::default() },
        )
        .run_until_idle()
        .await;
    }

    /// The reply link path (`/r/…`) in the reminder email to `to`.
    fn reminder_link(&self, to: &str) -> String {
        let sent = self.mail.sent.lock().unwrap();
        let email = sent.iter().find(|e| e.to == to && e.subject.starts_with("Reminder")).expect("a reminder email");
        let at = email.text.find("/r/").expect("a reply link in the reminder");
        let link: String = email.text[at..].chars().take_while(|c| !c.is_whitespace() && *c != '>').collect();
        assert!(email.html.contains(&link), "the HTML part has the same link");
        link
    }

    async fn sms_reply(&self, from: &str, body: &str, signature: Option<String>) -> (u16, String) {
        let url = format!("{}/webhooks/sms", self.app.svc.settings().public_base_url.trim_end_matches('/'));
        let fields = vec![
            ("From".to_string(), from.to_string()),
            ("Body".to_string(), body.to_string()),
            ("MessageSid".to_string(), format!("SM{}", uuid::Uuid::now_v7().simple())),
        ];
        let signature = signature.unwrap_or_else(|| signed_by_twilio(&url, &fields));
        let res = self
            .app
            .client()
            .post(self.app.url("/webhooks/sms"))
            .header("x-twilio-signature", signature)
            .form(&fields)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    async fn participant_reply(&self, id: AppointmentId) -> Option<String> {
        let (r,): (Option<String>,) = self
            .app
            .db
            .fetch_one(
                praxis_store::sql("SELECT reply FROM appointment_participants WHERE appointment_id = $1").bind(id),
            )
            .await
            .unwrap();
        r
    }
}

/// The signature Twilio would send: from the official twilio package where it is
/// installed (it must agree with ours), else from ours.
fn signed_by_twilio(url: &str, fields: &[(String, String)]) -> String {
    let ours = twilio_signature(SMS_TOKEN, url, fields);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/check_twilio.py");
    let map: serde_json::Map<String, serde_json::Value> = fields.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let input = json!({"token": SMS_TOKEN, "url": url, "fields": map}).to_string();
    if let Some(out) = praxis_testkit::python_check("twilio", script, &[], input.as_bytes()) {
        let theirs = String::from_utf8(out).unwrap().trim().to_string();
        assert_eq!(theirs, ours, "our signature scheme is Twilio's");
        return theirs;
    }
    ours
}

async fn status_of(app: &TestApp, id: AppointmentId) -> (String, bool) {
    let (s, late): (String, bool) = app
        .db
        .fetch_one(praxis_store::sql("SELECT status, late_cancellation FROM appointments WHERE id = $1").bind(id))
        .await
        .unwrap();
    (s, late)
}

#[tokio::test]
async fn the_reminder_link_confirms_once_and_shows_nothing_else() {
    let r = rig(24).await;
    let p = r.patient("ana@example.com", "+61 412 345 678").await;
    // Thursday 5 March 10:00 Sydney; the 24-hour reminder goes out on Wednesday.
    let id = r.book(p, "2026-03-04T23:00:00Z").await;
    r.send_due("2026-03-03T23:05:00Z").await;
    let link = r.reminder_link("ana@example.com");
    let sms =
        r.sms.sent.lock().unwrap().iter().find(|s| s.body.contains("reminder")).cloned().expect("an SMS reminder");
    assert!(sms.body.contains("Reply C to confirm or X to cancel") && sms.body.contains(&link), "{}", sms.body);

    let b = Browser::anonymous(&r.app);
    let (s, page) = b.get(&link).await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("Will you come") && page.contains("Consultation") && page.contains("5 Mar 2026, 10:00"));
    assert!(!page.contains("Silva") && !page.contains("ana@example.com"), "nothing of the record is shown");
    let (s, _, page) = b.post_form("/login", &format!("{link}/confirm"), &[]).await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("your appointment is confirmed"));
    assert_eq!(r.participant_reply(id).await.as_deref(), Some("confirmed"));
    assert_eq!(status_of(&r.app, id).await.0, "confirmed");
    assert_eq!(r.app.audit_count("appointment.patient_confirmed").await, 1);
    let (history,): (i64,) = r
        .app
        .db
        .fetch_one(
            praxis_store::sql(
                "SELECT COUNT(*) FROM appointment_changes WHERE appointment_id = $1 AND kind = 'patient_confirmed'",
            )
            .bind(id),
        )
        .await
        .unwrap();
    assert_eq!(history, 1, "staff see it in the appointment's history");

    // Used: it says so, and cannot cancel any more.
    let (s, page) = b.get(&link).await;
    assert_eq!(s, 200);
    assert!(page.contains("This link has been used"));
    let (s, _, page) = b.post_form("/login", &format!("{link}/cancel"), &[]).await;
    assert_eq!(s, 409);
    assert!(page.contains("already been answered"));
    assert_eq!(status_of(&r.app, id).await.0, "confirmed");

    // Altered or made-up links are a plain 404; so is the link's token on another path.
    let mut tampered = link.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [tampered.as_str(), "/r/k1.AAAA.BBBB", "/r/nonsense", &format!("/r/{}", "x".repeat(500))] {
        let (s, page) = b.get(bad).await;
        assert_eq!(s, 404, "{bad}");
        assert!(page.contains("This link is not valid"));
        let (s, _, _) = b.post_form("/login", &format!("{bad}/confirm"), &[]).await;
        assert_eq!(s, 404, "POST {bad}");
    }
    let (s, _) = b.get("/my/appointments").await;
    assert_eq!(s, 303, "the link logs no one in");
}

#[tokio::test]
async fn cancelling_from_the_link_follows_the_cancellation_policy_and_the_link_expires() {
    // Reminders 48 hours before: outside the service's 24-hour late-cancellation window.
    let r = rig(48).await;
    let early = r.patient("early@example.com", "+61 412 000 001").await;
    let late = r.patient("late@example.com", "+61 412 000 002").await;
    let gone = r.patient("gone@example.com", "+61 412 000 003").await;
    let a = r.book(early, "2026-03-05T23:00:00Z").await;
    let b_id = r.book(late, "2026-03-06T01:00:00Z").await;
    let c = r.book(gone, "2026-03-06T03:00:00Z").await;
    r.send_due("2026-03-04T03:05:00Z").await;
    let (link_a, link_b, link_c) = (
        r.reminder_link("early@example.com"),
        r.reminder_link("late@example.com"),
        r.reminder_link("gone@example.com"),
    );
    let browser = Browser::anonymous(&r.app);

    let (_, page) = browser.get(&link_a).await;
    assert!(!page.contains("late-cancellation fee"), "not late yet");
    let (s, _, page) = browser.post_form("/login", &format!("{link_a}/cancel"), &[]).await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("Your appointment is cancelled"));
    assert_eq!(status_of(&r.app, a).await, ("cancelled".to_string(), false));

    // A day later the second one is inside the window: allowed, flagged late, and said so first.
    r.app.clock.set("2026-03-05T03:00:00Z".parse().unwrap());
    let (_, page) = browser.get(&link_b).await;
    assert!(page.contains("late-cancellation fee may apply"), "{page}");
    let (s, _, _) = browser.post_form("/login", &format!("{link_b}/cancel"), &[]).await;
    assert_eq!(s, 200);
    assert_eq!(status_of(&r.app, b_id).await, ("cancelled".to_string(), true));
    let (reason,): (Option<String>,) = r
        .app
        .db
        .fetch_one(praxis_store::sql("SELECT cancel_reason FROM appointments WHERE id = $1").bind(b_id))
        .await
        .unwrap();
    assert_eq!(reason.as_deref(), Some("Cancelled by the patient (reminder link)"));
    let (s, page) = browser.get(&link_a).await;
    assert_eq!(s, 200);
    assert!(page.contains("You cancelled this appointment"));

    // Once the appointment has started, the link has expired.
    r.app.clock.set("2026-03-06T03:10:00Z".parse().unwrap());
    let (_, page) = browser.get(&link_c).await;
    assert!(page.contains("This link has expired"), "{page}");
    let (s, _, page) = browser.post_form("/login", &format!("{link_c}/cancel"), &[]).await;
    assert_eq!(s, 409);
    assert!(page.contains("expired"));
    assert_eq!(status_of(&r.app, c).await.0, "confirmed");
}

#[tokio::test]
async fn sms_replies_c_and_x_answer_the_latest_reminder_when_the_signature_is_right() {
    let r = rig(24).await;
    let ana = r.patient("ana@example.com", "+61 412 345 678").await;
    let ben = r.patient("ben@example.com", "+61 412 345 679").await;
    let a = r.book(ana, "2026-03-04T23:00:00Z").await;
    let b = r.book(ben, "2026-03-05T00:00:00Z").await;
    r.send_due("2026-03-04T00:05:00Z").await;

    // A forged or missing signature changes nothing.
    let (s, body) = r.sms_reply("+61412345678", "C", Some("bm9wZQ==".into())).await;
    assert_eq!(s, 400, "{body}");
    let res = r
        .app
        .client()
        .post(r.app.url("/webhooks/sms"))
        .form(&[("From", "+61412345678"), ("Body", "X")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(r.participant_reply(a).await, None);

    let (s, body) = r.sms_reply("+61412345678", " c ", None).await;
    assert_eq!(s, 200, "{body}");
    assert!(
        body.starts_with("<?xml") && body.contains("<Response><Message>") && body.contains("is confirmed"),
        "{body}"
    );
    assert_eq!(r.participant_reply(a).await.as_deref(), Some("confirmed"));
    let (_, body) = r.sms_reply("+61412345678", "X", None).await;
    assert!(body.contains("already been answered"), "{body}");
    assert_eq!(status_of(&r.app, a).await.0, "confirmed");

    let (_, body) = r.sms_reply("+61412345679", "x", None).await;
    assert!(body.contains("is cancelled") && body.contains("fee may apply"), "inside the window: {body}");
    assert_eq!(status_of(&r.app, b).await, ("cancelled".to_string(), true));
    assert_eq!(r.participant_reply(b).await.as_deref(), Some("cancelled"));

    let (_, body) = r.sms_reply("+61499999999", "C", None).await;
    assert!(body.contains("could not find"), "{body}");
    let (_, body) = r.sms_reply("+61412345678", "maybe <b>", None).await;
    assert!(body.contains("Reply C to confirm or X to cancel") && !body.contains("<b>"), "{body}");
}

#[tokio::test]
async fn without_an_sms_provider_replies_are_not_accepted() {
    let app = TestApp::spawn().await;
    let res = app
        .client()
        .post(app.url("/webhooks/sms"))
        .header("x-twilio-signature", "x")
        .form(&[("From", "+61412345678"), ("Body", "C")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn a_video_appointment_carries_its_room_link_in_the_confirmation_and_reminder() {
    let r = rig(24).await;
    let video = r.app.video_service().await;
    let (_, provider) = r.app.provider(&[r.f.clinic.id], &[video.id]).await;
    r.app.weekdays(&provider, r.f.clinic.id, "09:00", "17:00").await;
    let ana = r.patient("ana@example.com", "+61 412 345 678").await;
    let ben = r.patient("ben@example.com", "+61 412 345 679").await;
    let req = BookingRequest {
        service_id: Some(video.id),
        provider_id: Some(provider.id),
        clinic_id: Some(r.f.clinic.id),
        start: Some("2026-03-04T23:00:00Z".parse().unwrap()),
        patient_id: Some(ana),
        ..Default::default()
    };
    let booked = r.app.svc.book(&Actor::system("test"), req, None).await.unwrap().appointment;
    let room = booked.video_url.clone().expect("a video room");
    r.book(ben, "2026-03-04T23:00:00Z").await; // an in-person appointment for someone else
    r.send_due("2026-03-03T23:05:00Z").await;
    let mail = r.mail.sent.lock().unwrap().clone();
    let to_ana: Vec<_> = mail.iter().filter(|e| e.to == "ana@example.com").collect();
    for subject in ["Appointment booked", "Reminder"] {
        let e = to_ana.iter().find(|e| e.subject.starts_with(subject)).unwrap_or_else(|| panic!("{subject}"));
        assert!(e.text.contains(&room) && e.html.contains(&room), "{subject} carries the room link");
    }
    assert!(mail.iter().filter(|e| e.to != "ana@example.com").all(|e| !e.text.contains(&room)), "only to its patient");
    let sms = r.sms.sent.lock().unwrap().clone();
    assert!(sms.iter().filter(|s| s.to == "+61412345678").all(|s| s.body.contains(&room)), "{sms:?}");
    assert!(sms.iter().filter(|s| s.to != "+61412345678").all(|s| !s.body.contains(&room)));
}
