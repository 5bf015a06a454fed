//! Who sees which document and which intake answers: every document and form route ×
//! every role × the role's own patient and another patient. Lists must not leak what a
//! reader may not see, and every refused read is in the audit log.

use crate::documents::{audit_actions, pdf, upload};
use crate::scheduling_api::{booking, post, tue};
use crate::*;
use praxis_domain::Role;
use praxis_domain::documents::{AccessLevel, Standing, may_upload};
use serde_json::{Value, json};

const LEVELS: [(&str, &str, bool); 4] = [
    ("pv", "patient_visible", false),
    ("co", "clinicians_only", false),
    ("ao", "admin_only", false),
    ("conf", "clinicians_only", true),
];

/// Which of the four documents each reader sees: (role, own patient?, visible tags).
fn visible(role: Role, own: bool) -> &'static [&'static str] {
    match (role, own) {
        (Role::Admin, _) => &["pv", "co", "ao", "conf"],
        (Role::Staff, _) => &["pv", "ao"],
        (Role::Provider, true) => &["pv", "co", "conf"],
        (Role::Provider, false) => &[],
        (Role::Patient, true) => &["pv"],
        (Role::Patient, false) => &[],
    }
}

/// The status a refused reader gets: patients never learn another record exists.
fn refused(role: Role) -> u16 {
    if role == Role::Patient { 404 } else { 403 }
}

fn standing(role: Role, own: bool) -> Standing {
    match (role, own) {
        (Role::Admin, _) => Standing::Admin,
        (Role::Staff, _) => Standing::Staff,
        (Role::Provider, true) => Standing::TreatingProvider,
        (Role::Provider, false) => Standing::OtherProvider,
        (Role::Patient, true) => Standing::OwnPatient,
        (Role::Patient, false) => Standing::OtherPatient,
    }
}

struct Side {
    patient: String,
    docs: Vec<(&'static str, String)>,
    answered: String,
    pending: String,
    appointment: String,
    secret: String,
}

async fn request(app: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
    let mut req = app.client().request(method.parse().unwrap(), app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let s = res.status().as_u16();
    (s, res.text().await.unwrap_or_default())
}

#[tokio::test]
async fn every_document_and_form_route_for_every_role_and_patient() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let provider = app.api_login(&f.provider_user).await;
    let patient_a = app.api_login(&f.patient_user).await;
    let (user_b, patient_b_rec) = app.patient_user().await;
    let patient_b = app.api_login(&user_b).await;
    // Patient B sees another provider, so the fixture's provider does not treat them.
    let (_, other_provider) = app.provider(&[f.clinic.id], &[f.service.id]).await;
    app.weekdays(&other_provider, f.clinic.id, "09:00", "17:00").await;

    let (_, form) = post(&app, &admin, "/api/v1/forms", json!({"name": "Intake", "questions": [{"id": "story", "label": "Your story", "kind": "text", "required": true}]})).await;
    let (_, form2) = post(&app, &admin, "/api/v1/forms", json!({"name": "Follow-up", "questions": [{"id": "better", "label": "Better?", "kind": "yes_no", "required": true}]})).await;
    let mut sides = Vec::new();
    for (i, (pid, token, with)) in
        [(f.patient.id, &patient_a, f.provider.id), (patient_b_rec.id, &patient_b, other_provider.id)]
            .into_iter()
            .enumerate()
    {
        let patient = pid.to_string();
        let mut b = booking(&f, &tue(if i == 0 { "10:00" } else { "11:00" }));
        b["patient_id"] = json!(pid);
        b["provider_id"] = json!(with);
        let (s, appt) = post(&app, &admin, "/api/v1/appointments", b).await;
        assert_eq!(s, 201, "{appt}");
        let mut docs = Vec::new();
        for (tag, level, conf) in LEVELS {
            let title = format!("{tag}-doc-of-{patient}");
            let q = format!("file_name={tag}.pdf&title={title}&access_level={level}&confidential={conf}");
            let (s, d) = upload(&app, &admin, &patient, &q, pdf(&title)).await;
            assert_eq!(s, 201, "{d}");
            docs.push((tag, d["id"].as_str().unwrap().to_string()));
        }
        let (_, a) = post(
            &app,
            &admin,
            &format!("/api/v1/patients/{patient}/forms"),
            json!({"form_id": form["id"], "appointment_id": appt["id"]}),
        )
        .await;
        let secret = format!("secret-story-{i}-{}", uuid::Uuid::new_v4().simple());
        let (s, _) = post(
            &app,
            token,
            &format!("/api/v1/form-assignments/{}/answers", a["id"].as_str().unwrap()),
            json!({"answers": {"story": secret}}),
        )
        .await;
        assert_eq!(s, 200);
        let (_, p) =
            post(&app, &admin, &format!("/api/v1/patients/{patient}/forms"), json!({"form_id": form2["id"]})).await;
        sides.push(Side {
            patient,
            docs,
            answered: a["id"].as_str().unwrap().into(),
            pending: p["id"].as_str().unwrap().into(),
            appointment: appt["id"].as_str().unwrap().into(),
            secret,
        });
    }

    let readers =
        [(Role::Admin, &admin), (Role::Staff, &staff), (Role::Provider, &provider), (Role::Patient, &patient_a)];
    let mut refused_doc_reads = 0;
    for (role, token) in readers {
        for (own, side) in [(true, &sides[0]), (false, &sides[1])] {
            let other = if own { &sides[1] } else { &sides[0] };
            let who = format!("{role:?} {}", if own { "own" } else { "other" });
            let seen = visible(role, own);

            // The list: exactly what may be seen, nothing of the rest.
            let (s, body) =
                request(&app, token, "GET", &format!("/api/v1/patients/{}/documents", side.patient), None).await;
            if seen.is_empty() {
                assert_eq!(s, refused(role), "{who} list: {body}");
            } else {
                assert_eq!(s, 200, "{who} list: {body}");
                let list: Value = serde_json::from_str(&body).unwrap();
                let mut tags: Vec<&str> = list
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["title"].as_str().unwrap().split('-').next().unwrap())
                    .collect();
                tags.sort();
                let mut want = seen.to_vec();
                want.sort();
                assert_eq!(tags, want, "{who} list");
            }
            for (_, id) in &other.docs {
                assert!(!body.contains(id.as_str()), "{who}: another patient's document in the list");
            }

            // Details and content of each document.
            for (tag, id) in &side.docs {
                let ok = seen.contains(tag);
                for path in [format!("/api/v1/documents/{id}"), format!("/api/v1/documents/{id}/content")] {
                    let (s, body) = request(&app, token, "GET", &path, None).await;
                    if ok {
                        assert_eq!(s, 200, "{who} {path}");
                    } else {
                        // A document one may not see answers like a made-up id.
                        assert_eq!(s, 404, "{who} {tag} {path}: {body}");
                        assert!(!body.contains("doc-of"), "{who}: refusal leaks the title");
                        refused_doc_reads += 1;
                    }
                }
                // Changing details: only at a level one may file at.
                let (_, level, conf) = LEVELS.iter().find(|(t, _, _)| t == tag).copied().unwrap();
                let level = AccessLevel::parse(level).unwrap();
                let (s, _) = request(
                    &app,
                    token,
                    "PUT",
                    &format!("/api/v1/documents/{id}"),
                    Some(json!({"description": "checked"})),
                )
                .await;
                let expected = if !ok {
                    404
                } else if may_upload(standing(role, own), level, conf) {
                    200
                } else {
                    403
                };
                assert_eq!(s, expected, "{who} PUT {tag}");
            }

            // Uploads at each level.
            for (tag, level, conf) in LEVELS {
                let q = format!("file_name=new.pdf&title=new-{tag}&access_level={level}&confidential={conf}");
                let (s, body) = upload(&app, token, &side.patient, &q, pdf("new")).await;
                let allowed = may_upload(standing(role, own), AccessLevel::parse(level).unwrap(), conf);
                let expected = if allowed {
                    201
                } else if role == Role::Patient && !own {
                    404
                } else {
                    403
                };
                assert_eq!(s, expected, "{who} upload {tag}: {body}");
                if s == 201 {
                    // Clean up so the list assertions above stay exact for the next reader.
                    let id = body["id"].as_str().unwrap().to_string();
                    let (s, _) = request(&app, &admin, "DELETE", &format!("/api/v1/documents/{id}"), None).await;
                    assert_eq!(s, 204);
                }
            }

            // Intake forms: lists, one form, the appointment's forms. Answers only for
            // administrators, the treating provider and the patient.
            let reads_answers =
                matches!((role, own), (Role::Admin, _) | (Role::Provider, true) | (Role::Patient, true));
            let lists = matches!(
                (role, own),
                (Role::Admin, _) | (Role::Staff, _) | (Role::Provider, true) | (Role::Patient, true)
            );
            for path in [
                format!("/api/v1/patients/{}/forms", side.patient),
                format!("/api/v1/form-assignments/{}", side.answered),
            ] {
                let (s, body) = request(&app, token, "GET", &path, None).await;
                // The patient's list is refused as usual; one form by id answers like a
                // made-up id.
                let refusal = if path.contains("/form-assignments/") { 404 } else { refused(role) };
                assert_eq!(s, if lists { 200 } else { refusal }, "{who} {path}: {body}");
                assert_eq!(body.contains(&side.secret), reads_answers, "{who} {path}: answers shown or hidden");
                assert!(!body.contains(&other.secret), "{who} {path}: another patient's answers");
            }
            let (s, body) =
                request(&app, token, "GET", &format!("/api/v1/appointments/{}/forms", side.appointment), None).await;
            let sees_appt = matches!(
                (role, own),
                (Role::Admin, _) | (Role::Staff, _) | (Role::Provider, true) | (Role::Patient, true)
            );
            assert_eq!(s, if sees_appt { 200 } else { 404 }, "{who} appointment forms: {body}");
            assert_eq!(body.contains(&side.secret), reads_answers && role != Role::Patient, "{who} appointment forms");

            // Answering: the patient only, their own.
            let (s, _) = request(
                &app,
                token,
                "POST",
                &format!("/api/v1/form-assignments/{}/answers", side.pending),
                Some(json!({"answers": {"better": "no"}})),
            )
            .await;
            // 403 to those who see the form; 404 (as for a made-up id) to the rest.
            let expected = if role == Role::Patient && own {
                200
            } else if lists {
                403
            } else {
                404
            };
            assert_eq!(s, expected, "{who} answer");

            // Assigning and withdrawing: the clinic's people, providers for their patients.
            let may_assign = matches!((role, own), (Role::Admin, _) | (Role::Staff, _) | (Role::Provider, true));
            let (s, body) = request(
                &app,
                token,
                "POST",
                &format!("/api/v1/patients/{}/forms", side.patient),
                Some(json!({"form_id": form["id"]})),
            )
            .await;
            assert_eq!(s, if may_assign { 201 } else { 403 }, "{who} assign: {body}");
            if s == 201 {
                let id = serde_json::from_str::<Value>(&body).unwrap()["id"].as_str().unwrap().to_string();
                let (s, _) =
                    request(&app, token, "POST", &format!("/api/v1/form-assignments/{id}/cancel"), Some(json!({})))
                        .await;
                assert_eq!(s, 200, "{who} withdraw");
            } else {
                let (s, _) = request(
                    &app,
                    token,
                    "POST",
                    &format!("/api/v1/form-assignments/{}/cancel", side.pending),
                    Some(json!({})),
                )
                .await;
                // A provider who does not treat the patient does not see the form at all.
                let expected = if role == Role::Provider && !own { 404 } else { 403 };
                assert_eq!(s, expected, "{who} withdraw another's");
            }
        }
    }

    // Every refused document read is on record.
    let denied = audit_actions(&app).await.into_iter().filter(|(a, _)| a == "document.read_denied").count();
    assert_eq!(denied, refused_doc_reads, "one audit row per refused read");
    assert!(audit_actions(&app).await.iter().any(|(a, _)| a == "form.read_denied"));
}

/// A fresh patient-visible document of `patient` (for the permission table).
pub async fn fresh_document(app: &TestApp, patient: praxis_domain::PatientId) -> String {
    let input = praxis_services::documents::DocumentInput {
        access_level: Some("patient_visible".into()),
        file_name: Some("letter.pdf".into()),
        ..Default::default()
    };
    let sys = praxis_services::Actor::system("test");
    app.svc.upload_document(&sys, patient, &input, &pdf("A letter")).await.unwrap().id.to_string()
}

/// A fresh form (for the permission table).
pub async fn fresh_form(app: &TestApp) -> String {
    let input = praxis_services::forms::FormInput {
        name: format!("Form {}", uuid::Uuid::new_v4().simple()),
        questions: serde_json::from_value(json!([{"id": "q1", "label": "Anything to tell us?", "kind": "text"}]))
            .unwrap(),
        ..Default::default()
    };
    app.svc.create_form(&praxis_services::Actor::system("test"), input).await.unwrap().id.to_string()
}

/// A fresh form waiting for `patient` to answer (for the permission table).
pub async fn fresh_assignment(app: &TestApp, patient: praxis_domain::PatientId) -> String {
    let form = fresh_form(app).await.parse().unwrap();
    let input = praxis_services::forms::AssignInput { form_id: Some(form), appointment_id: None };
    app.svc.assign_form(&praxis_services::Actor::system("test"), patient, input).await.unwrap().id.to_string()
}
