//! Intake forms over the API: an administrator builds a versioned form, booking sends it
//! once, the patient answers it, providers read the answers beside the appointment, and
//! answers stay with the version they answered.

use crate::documents::audit_actions;
use crate::scheduling_api::{booking, get, post, tue};
use crate::*;
use praxis_domain::Role;
use serde_json::{Value, json};

pub fn questions() -> Value {
    json!([
        {"id": "reason", "label": "What brings you in?", "kind": "text", "required": true},
        {"id": "pain", "label": "How bad is the pain today?", "kind": "scale", "required": true, "min": 0, "max": 10},
        {"id": "area", "label": "Where does it hurt?", "kind": "multi_choice", "options": ["Neck", "Back", "Knee"]},
        {"id": "started", "label": "When did it start?", "kind": "date"},
        {"id": "weight", "label": "Weight (kg)", "kind": "number", "min": 2, "max": 400},
        {"id": "smoker", "label": "Do you smoke?", "kind": "yes_no", "required": true},
        {"id": "referral", "label": "How did you hear of us?", "kind": "choice", "options": ["Doctor", "Friend", "Online"]}
    ])
}

pub async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let res = app.client().put(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn booking_sends_the_form_once_the_patient_answers_and_the_provider_reads_it() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (s, form) = post(
        &app,
        &admin,
        "/api/v1/forms",
        json!({"name": "New patient questionnaire", "questions": questions(), "service_ids": [f.service.id]}),
    )
    .await;
    assert_eq!(s, 201, "{form}");
    assert_eq!(form["version"], 1);
    // Staff and providers may not build forms.
    let (s, _) = post(&app, &staff, "/api/v1/forms", json!({"name": "Mine", "questions": questions()})).await;
    assert_eq!(s, 403);

    // The patient books twice; the form is sent once.
    let patient = app.api_login(&f.patient_user).await;
    let (s, appt) = post(&app, &patient, "/api/v1/appointments", booking(&f, &tue("10:00"))).await;
    assert_eq!(s, 201, "{appt}");
    let (s, _) = post(&app, &patient, "/api/v1/appointments", booking(&f, &tue("14:00"))).await;
    assert_eq!(s, 201);
    let (s, mine) = get(&app, &patient, &format!("/api/v1/patients/{}/forms", f.patient.id)).await;
    assert_eq!(s, 200, "{mine}");
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 1, "one assignment per patient and form: {mine:?}");
    assert_eq!((mine[0]["status"].as_str(), mine[0]["automatic"].as_bool()), (Some("pending"), Some(true)));
    assert_eq!(mine[0]["appointment_id"], appt["id"]);
    let assignment = mine[0]["id"].as_str().unwrap().to_string();
    let version_id = mine[0]["version_id"].clone();

    // Wrong answers are named question by question.
    let (s, body) = post(
        &app,
        &patient,
        &format!("/api/v1/form-assignments/{assignment}/answers"),
        json!({"version_id": version_id, "answers": {"pain": 14, "area": ["Elbow"], "weight": "heavy"}}),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for q in ["reason", "pain", "area", "weight", "smoker"] {
        assert!(fields.contains(&q), "{q} missing from {fields:?}");
    }
    let (s, done) = post(
        &app,
        &patient,
        &format!("/api/v1/form-assignments/{assignment}/answers"),
        json!({"version_id": version_id, "answers": {"reason": "Sore lower back after gardening", "pain": 6, "area": ["Back", "Neck"], "started": "2026-02-20", "weight": "81.5", "smoker": false}}),
    )
    .await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["answers"]["area"], json!({"kind": "multi_choice", "value": ["Neck", "Back"]}));
    // Answered forms are not answered again.
    let (s, _) =
        post(&app, &patient, &format!("/api/v1/form-assignments/{assignment}/answers"), json!({"answers": {}})).await;
    assert_eq!(s, 409);

    // Sealed at rest.
    let (sealed,): (Option<String>,) =
        app.db.fetch_one(praxis_store::sql("SELECT answers_enc FROM intake_assignments")).await.unwrap();
    assert!(sealed.as_deref().is_some_and(|s| s.starts_with("pxe1.") && !s.contains("gardening")));

    // The treating provider reads them beside the appointment; staff see only the status.
    let provider = app.api_login(&f.provider_user).await;
    let (s, list) = get(&app, &provider, &format!("/api/v1/appointments/{}/forms", appt["id"].as_str().unwrap())).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list[0]["answers"]["reason"]["value"], "Sore lower back after gardening");
    let (s, list) = get(&app, &staff, &format!("/api/v1/appointments/{}/forms", appt["id"].as_str().unwrap())).await;
    assert_eq!(s, 200);
    assert_eq!((list[0]["status"].as_str(), list[0]["answers"].is_null()), (Some("completed"), true));
    assert!(!list.to_string().contains("gardening"));
    let reads = audit_actions(&app).await.into_iter().filter(|(a, _)| a == "form.answers_read").count();
    assert!(reads >= 2, "the patient's and the provider's reads");
    let actions: Vec<String> = audit_actions(&app).await.into_iter().map(|(a, _)| a).collect();
    for a in ["form.create", "form.assign", "form.answer"] {
        assert!(actions.contains(&a.to_string()), "{a}");
    }
}

#[tokio::test]
async fn a_changed_form_is_a_new_version_and_answers_keep_theirs() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (_, form) = post(&app, &admin, "/api/v1/forms", json!({"name": "History", "questions": [{"id": "meds", "label": "Medicines you take", "kind": "text", "required": true}]})).await;
    let form_id = form["id"].as_str().unwrap();
    let (_, other) = app.patient_user().await;
    // Two patients get it; one answers.
    let (s, a1) =
        post(&app, &admin, &format!("/api/v1/patients/{}/forms", f.patient.id), json!({"form_id": form_id})).await;
    assert_eq!(s, 201, "{a1}");
    let (s, _) =
        post(&app, &admin, &format!("/api/v1/patients/{}/forms", f.patient.id), json!({"form_id": form_id})).await;
    assert_eq!(s, 409, "already waiting");
    let (s, a2) =
        post(&app, &admin, &format!("/api/v1/patients/{}/forms", other.id), json!({"form_id": form_id})).await;
    assert_eq!(s, 201);
    let patient = app.api_login(&f.patient_user).await;
    let v1 = a1["version_id"].clone();
    let (s, _) = post(
        &app,
        &patient,
        &format!("/api/v1/form-assignments/{}/answers", a1["id"].as_str().unwrap()),
        json!({"version_id": v1, "answers": {"meds": "Ibuprofen"}}),
    )
    .await;
    assert_eq!(s, 200);

    // Only a change of the questions makes a new version.
    let (s, same) = put(
        &app,
        &admin,
        &format!("/api/v1/forms/{form_id}"),
        json!({"name": "Medical history", "questions": form["questions"]}),
    )
    .await;
    assert_eq!((s, same["version"].as_i64()), (200, Some(1)), "{same}");
    let (s, changed) = put(
        &app,
        &admin,
        &format!("/api/v1/forms/{form_id}"),
        json!({"name": "Medical history", "questions": [{"id": "meds", "label": "Medicines you take", "kind": "text", "required": true}, {"id": "allergies", "label": "Allergies", "kind": "text"}]}),
    )
    .await;
    assert_eq!((s, changed["version"].as_i64()), (200, Some(2)), "{changed}");

    // The answered one keeps version 1 and its questions; the pending one moved on.
    let (_, answered) = get(&app, &admin, &format!("/api/v1/form-assignments/{}", a1["id"].as_str().unwrap())).await;
    assert_eq!((answered["version"].as_i64(), answered["questions"].as_array().unwrap().len()), (Some(1), 1));
    assert_eq!(answered["answers"]["meds"]["value"], "Ibuprofen");
    let (_, pending) = get(&app, &admin, &format!("/api/v1/form-assignments/{}", a2["id"].as_str().unwrap())).await;
    assert_eq!((pending["version"].as_i64(), pending["questions"].as_array().unwrap().len()), (Some(2), 2));
    // Another patient's form, even with a real id, is not revealed.
    let (s, body) = post(
        &app,
        &patient,
        &format!("/api/v1/form-assignments/{}/answers", a2["id"].as_str().unwrap()),
        json!({"version_id": v1, "answers": {"meds": "x"}}),
    )
    .await;
    assert_eq!(s, 404, "another patient's form is not revealed: {body}");
}

#[tokio::test]
async fn a_form_changed_while_filling_in_answers_409_and_bad_definitions_422() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (s, body) = post(
        &app,
        &admin,
        "/api/v1/forms",
        json!({"name": "", "questions": [{"label": "Colour?", "kind": "choice", "options": ["Red"]}]}),
    )
    .await;
    assert_eq!(s, 422);
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"name") && fields.contains(&"questions[0].options"), "{fields:?}");
    let (_, form) = post(
        &app,
        &admin,
        "/api/v1/forms",
        json!({"name": "Check-in", "questions": [{"label": "Feeling well?", "kind": "yes_no", "required": true}]}),
    )
    .await;
    let form_id = form["id"].as_str().unwrap();
    let (_, a) =
        post(&app, &admin, &format!("/api/v1/patients/{}/forms", f.patient.id), json!({"form_id": form_id})).await;
    let shown = a["version_id"].clone();
    let (s, _) = put(&app, &admin, &format!("/api/v1/forms/{form_id}"), json!({"name": "Check-in", "questions": [{"label": "Feeling well today?", "kind": "yes_no", "required": true}]})).await;
    assert_eq!(s, 200);
    let patient = app.api_login(&f.patient_user).await;
    let (s, body) = post(
        &app,
        &patient,
        &format!("/api/v1/form-assignments/{}/answers", a["id"].as_str().unwrap()),
        json!({"version_id": shown, "answers": {"q1": "yes"}}),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["type"], "urn:praxis:problem:form_changed");
    // Withdrawn forms cannot be answered.
    let (s, _) =
        post(&app, &admin, &format!("/api/v1/form-assignments/{}/cancel", a["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(s, 200);
    let (s, _) = post(
        &app,
        &patient,
        &format!("/api/v1/form-assignments/{}/answers", a["id"].as_str().unwrap()),
        json!({"answers": {"q1": "yes"}}),
    )
    .await;
    assert_eq!(s, 409);
}
