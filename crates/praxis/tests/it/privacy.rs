//! Privacy of the patient record, table-driven: every patient and clinical route (API and
//! pages) × every kind of user × their own or another patient. Allowed calls succeed;
//! refused ones answer 403/404 and are audited; and no response to someone who may not
//! read clinical content carries any of it — not in lists, search results, exports or
//! pages.

use crate::scheduling_api::{booking, post, tue};
use crate::*;
use praxis_domain::Role;
use serde_json::{Value, json};

/// Who is calling, relative to the patient the table is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Admin,
    Staff,
    /// A provider with an appointment with the patient.
    Treating,
    /// A provider who has never seen the patient.
    OtherProvider,
    /// The patient themselves.
    Own,
    /// Another patient.
    OtherPatient,
}

use Who::*;

const ALL: &[Who] = &[Admin, Staff, Treating, OtherProvider, Own, OtherPatient];
const PRACTICE: &[Who] = &[Admin, Staff, Treating, OtherProvider];
const RECORD: &[Who] = &[Admin, Staff, Treating, OtherProvider, Own];
const CLINICAL_READERS: &[Who] = &[Admin, Treating];
const AUTHOR: &[Who] = &[Treating];

/// The unique words in the record that must not leak.
const NOTE_SECRET: &str = "Zanzibar-flashback-episodes";
const AMENDMENT_SECRET: &str = "Quixotic-dosage-correction";
const FAMILY_NAME: &str = "Vantongeren";

/// (method, path with `{patient}`, `{note}`, `{appointment}`, JSON body, who may).
fn api_rows() -> Vec<(&'static str, &'static str, Value, &'static [Who])> {
    vec![
        ("GET", "/api/v1/patients?q=vantong", json!(null), PRACTICE),
        ("GET", "/api/v1/patients?q=zanzibar", json!(null), PRACTICE),
        ("GET", "/api/v1/patients/export.csv", json!(null), &[Admin]),
        ("GET", "/api/v1/patients/{patient}", json!(null), RECORD),
        ("GET", "/api/v1/patients/{patient}/guardians", json!(null), RECORD),
        ("GET", "/api/v1/patients/{patient}/consents", json!(null), RECORD),
        ("GET", "/api/v1/patients/{patient}/notes", json!(null), CLINICAL_READERS),
        ("GET", "/api/v1/notes/{note}", json!(null), CLINICAL_READERS),
        ("POST", "/api/v1/patients/{patient}/notes", json!({"content": {"text": "Follow-up"}}), AUTHOR),
        ("POST", "/api/v1/notes/{note}/amendments", json!({"reason": "More", "text": "Extra"}), AUTHOR),
        ("GET", "/api/v1/appointments/{appointment}", json!(null), &[Admin, Staff, Treating, Own]),
        ("GET", "/api/v1/appointments?per_page=200", json!(null), ALL),
    ]
}

/// Pages: (path, who may see it). Everyone else gets 403/404.
fn page_rows() -> Vec<(&'static str, &'static [Who])> {
    vec![
        ("/patients?q=vantong", PRACTICE),
        ("/patients/{patient}", PRACTICE),
        ("/patients/{patient}/edit", PRACTICE),
        ("/patients/{patient}/notes", CLINICAL_READERS),
        ("/patients/{patient}/notes/new?kind=assessment", AUTHOR),
        ("/notes/{note}", CLINICAL_READERS),
        ("/patients/export.csv", &[Admin]),
        ("/my/details/{patient}", &[Own]),
    ]
}

struct World {
    app: TestApp,
    tokens: Vec<(Who, String)>,
    browsers: Vec<(Who, Browser)>,
    patient: String,
    note: String,
    appointment: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, staff_token) = app.user_with_token(Role::Staff).await;
    let staff_user = app.create_user(&[Role::Staff]).await;
    let admin_user = app.create_user(&[Role::Admin]).await;
    // The patient's record carries a unique family name; another patient and another
    // provider exist beside them.
    let path = format!("/api/v1/patients/{}", f.patient.id);
    let res = app
        .client()
        .put(app.url(&path))
        .bearer_auth(&staff_token)
        .json(&json!({"given_name": "Private", "family_name": FAMILY_NAME, "insurance_number": "5555 66666 7"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut body = booking(&f, &tue("10:00"));
    body["patient_id"] = json!(f.patient.id);
    let (s, appt) = post(&app, &staff_token, "/api/v1/appointments", body).await;
    assert_eq!(s, 201, "{appt}");
    let (other_provider_user, _) = app.provider(&[f.clinic.id], &[f.service.id]).await;
    let (other_patient_user, _) = app.patient_user().await;
    let treating = app.api_login(&f.provider_user).await;
    let (s, note) = post(
        &app,
        &treating,
        &format!("/api/v1/patients/{}/notes", f.patient.id),
        json!({"content": {"text": NOTE_SECRET}}),
    )
    .await;
    assert_eq!(s, 201);
    let note_id = note["id"].as_str().unwrap().to_string();
    post(&app, &treating, &format!("/api/v1/notes/{note_id}/sign"), json!({})).await;
    post(
        &app,
        &treating,
        &format!("/api/v1/notes/{note_id}/amendments"),
        json!({"reason": "Add", "text": AMENDMENT_SECRET}),
    )
    .await;

    let users = [
        (Admin, admin_user),
        (Staff, staff_user),
        (Treating, f.provider_user.clone()),
        (OtherProvider, other_provider_user),
        (Own, f.patient_user.clone()),
        (OtherPatient, other_patient_user),
    ];
    let mut tokens = Vec::new();
    let mut browsers = Vec::new();
    for (who, user) in users {
        tokens.push((who, app.api_login(&user).await));
        browsers.push((who, app.browser_login(&user).await));
    }
    World {
        tokens,
        browsers,
        patient: f.patient.id.to_string(),
        note: note_id,
        appointment: appt["id"].as_str().unwrap().to_string(),
        app,
    }
}

impl World {
    fn fill(&self, path: &str) -> String {
        path.replace("{patient}", &self.patient)
            .replace("{note}", &self.note)
            .replace("{appointment}", &self.appointment)
    }
}

/// Nothing clinical in a response to someone who may not read it, and nothing about the
/// patient at all in a response to another patient.
fn assert_no_leak(who: Who, what: &str, body: &str) {
    if !CLINICAL_READERS.contains(&who) {
        assert!(
            !body.contains(NOTE_SECRET) && !body.contains(AMENDMENT_SECRET),
            "{who:?} {what}: clinical text leaked"
        );
        assert!(!body.contains("Zanzibar"), "{who:?} {what}: part of a note leaked");
    }
    if who == OtherPatient {
        assert!(!body.contains(FAMILY_NAME), "{who:?} {what}: another patient's name leaked");
        assert!(!body.contains("5555 66666"), "{who:?} {what}: insurance number leaked");
    }
}

#[tokio::test]
async fn every_patient_and_clinical_api_route_for_every_user_and_patient() {
    let w = world().await;
    let app = &w.app;
    let denied_before = denied_count(app).await;
    let mut refusals = 0;
    for (method, template, body, allowed) in api_rows() {
        for (who, token) in &w.tokens {
            let path = w.fill(template);
            let mut req = app.client().request(method.parse().unwrap(), app.url(&path)).bearer_auth(token);
            if !body.is_null() {
                req = req.json(&body);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            if allowed.contains(who) {
                assert!((200..300).contains(&status), "{method} {path} as {who:?} → {status} {text}");
            } else {
                assert!([403, 404].contains(&status), "{method} {path} as {who:?} → {status} {text}");
                refusals += 1;
            }
            assert_no_leak(*who, &format!("{method} {path}"), &text);
        }
    }
    // Search by a word from a note finds nothing: notes are not searchable.
    let staff = &w.tokens.iter().find(|(w, _)| *w == Staff).unwrap().1;
    let res = app.client().get(app.url("/api/v1/patients?q=zanzibar")).bearer_auth(staff).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["total"], 0);
    // Refusals of a record or clinical content are on the audit record.
    let denied = denied_count(app).await - denied_before;
    assert!(denied >= 8, "{denied} of {refusals} refusals audited");
}

async fn denied_count(app: &TestApp) -> i64 {
    let (n,): (i64,) = app
        .db
        .fetch_one(praxis_store::sql(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('patient.read_denied', 'clinical.read_denied', 'clinical.write_denied')",
        ))
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn every_patient_page_for_every_user_and_patient() {
    let w = world().await;
    for (template, allowed) in page_rows() {
        for (who, browser) in &w.browsers {
            let path = w.fill(template);
            let res = browser.client.get(w.app.url(&path)).send().await.unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            if allowed.contains(who) {
                assert_eq!(status, 200, "GET {path} as {who:?}: {text}");
            } else {
                assert!([403, 404].contains(&status), "GET {path} as {who:?} → {status}");
            }
            assert_no_leak(*who, &format!("GET {path}"), &text);
        }
    }
    // The chart shows notes to those who may read them, and not even the tab to others.
    for (who, browser) in &w.browsers {
        let (status, page) = browser.get(&format!("/patients/{}", w.patient)).await;
        if status != 200 {
            continue;
        }
        let shows_notes = page.contains(&format!("href=\"/patients/{}/notes\"", w.patient));
        assert_eq!(shows_notes, CLINICAL_READERS.contains(who), "{who:?}: notes tab");
        assert_eq!(page.contains("Latest notes"), CLINICAL_READERS.contains(who), "{who:?}");
    }
}
