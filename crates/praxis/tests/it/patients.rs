//! Patient records over the API: registration with record numbers and duplicate
//! warnings, bad input, search (accents, case, phone, record number) with filters and
//! paging, archive, guardians, consents, CSV export and encryption at rest.

use crate::scheduling_api::{booking, get, post, tue};
use crate::*;
use praxis_domain::Role;
use serde_json::{Value, json};

pub async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let res = app.client().put(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

pub async fn count(app: &TestApp, sql_text: &'static str) -> i64 {
    let (n,): (i64,) = app.db.fetch_one(praxis_store::sql(sql_text)).await.unwrap();
    n
}

pub async fn audited(app: &TestApp, action: &str) -> Vec<String> {
    let rows: Vec<(String,)> = app
        .db
        .fetch_all(
            praxis_store::sql("SELECT summary FROM audit_log WHERE action = $1 ORDER BY seq").bind(action.to_string()),
        )
        .await
        .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|p| p["mrn"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn staff_register_patients_with_record_numbers_and_duplicate_warnings() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let before = count(&app, "SELECT COUNT(*) FROM patients").await;
    let (s, p) = post(
        &app,
        &staff,
        "/api/v1/patients",
        json!({
            "given_name": "Amara", "family_name": "Okafor", "preferred_name": "Mara", "date_of_birth": "1988-07-14",
            "sex": "female", "gender_identity": "woman", "email": "Amara@Example.org", "phone": "+61 412 555 001",
            "address": "1 Harbour St\nSydney", "emergency_contact": {"name": "Chidi Okafor", "phone": "+61 412 555 002", "relationship": "brother"},
            "insurance_provider": "Medicare", "insurance_number": "2123 45670 1", "notes": "Prefers mornings"
        }),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let mrn = p["mrn"].as_str().unwrap().to_string();
    assert!(mrn.starts_with('P') && mrn.len() == 7, "{mrn}");
    assert_eq!(p["email"], "amara@example.org");
    assert_eq!(p["emergency_contact"]["relationship"], "brother");
    let (s, again) = get(&app, &staff, &format!("/api/v1/patients/{}", p["id"].as_str().unwrap())).await;
    assert_eq!(s, 200);
    assert_eq!(again["insurance_number"], "2123 45670 1", "opened on the single record");
    assert_eq!(again["preferred_name"], "Mara");

    // The next record number follows.
    let (_, q) = post(&app, &staff, "/api/v1/patients", json!({"given_name": "Ben", "family_name": "Ng"})).await;
    let n = |m: &str| m[1..].parse::<i64>().unwrap();
    assert_eq!(n(q["mrn"].as_str().unwrap()), n(&mrn) + 1);

    // Same name (any case, any accents) and date of birth: a warning, nothing written.
    let dup = json!({"given_name": "AMARA", "family_name": "okafor", "date_of_birth": "1988-07-14"});
    let (s, body) = post(&app, &staff, "/api/v1/patients", dup.clone()).await;
    assert_eq!(s, 409, "{body}");
    assert!(body["type"].as_str().unwrap().ends_with(":possible_duplicate"), "{body}");
    assert!(body["detail"].as_str().unwrap().contains(&mrn), "names the existing record: {body}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM patients").await, before + 2);
    // Confirmed as a different person: registered.
    let mut confirmed = dup;
    confirmed["confirm_duplicate"] = json!(true);
    let (s, _) = post(&app, &staff, "/api/v1/patients", confirmed).await;
    assert_eq!(s, 201);
    assert_eq!(audited(&app, "patient.create").await.len(), 3);
}

#[tokio::test]
async fn bad_patient_input_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let before = count(&app, "SELECT COUNT(*) FROM patients").await;
    let cases = [
        (json!({"given_name": "A", "date_of_birth": "2027-01-01"}), "date_of_birth"),
        (json!({"given_name": "A", "date_of_birth": "1850-01-01"}), "date_of_birth"),
        (json!({"given_name": "A", "email": "not-an-email"}), "email"),
        (json!({"given_name": "A", "phone": "call me"}), "phone"),
        (json!({"given_name": "A", "sex": "robot"}), "sex"),
        (json!({"given_name": "", "family_name": "B"}), "given_name"),
        (json!({"given_name": "A", "insurance_number": "<script>"}), "insurance_number"),
        (json!({"given_name": "A", "emergency_contact": {"name": "X", "phone": "nope"}}), "emergency_contact.phone"),
    ];
    for (body, field) in cases {
        let (s, problem) = post(&app, &staff, "/api/v1/patients", body.clone()).await;
        assert_eq!(s, 422, "{body} → {problem}");
        assert!(
            problem["errors"].as_array().unwrap().iter().any(|e| e["field"] == field),
            "{field} expected in {problem}"
        );
    }
    // An impossible date is not even a date: a clear 4xx problem, not a crash.
    let res = app
        .client()
        .post(app.url("/api/v1/patients"))
        .bearer_auth(&staff)
        .json(&json!({"given_name": "A", "date_of_birth": "2001-02-30"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM patients").await, before, "nothing written");
    // Each refusal is on the audit record: which field and why, never what was typed.
    let refused = audited(&app, "patient.create_refused").await;
    assert_eq!(refused.len(), 8, "{refused:?}");
    assert!(refused.iter().any(|r| r.contains("date_of_birth")), "{refused:?}");
    assert!(!refused.iter().any(|r| r.contains("not-an-email") || r.contains("<script>")), "{refused:?}");
    // Editing keeps the same rules.
    let (_, p) = post(&app, &staff, "/api/v1/patients", json!({"given_name": "Cleo", "family_name": "Diaz"})).await;
    let path = format!("/api/v1/patients/{}", p["id"].as_str().unwrap());
    let (s, _) = put(&app, &staff, &path, json!({"given_name": "Cleo", "family_name": "Diaz", "email": "x@"})).await;
    assert_eq!(s, 422);
    let (_, still) = get(&app, &staff, &path).await;
    assert_eq!(still["email"], Value::Null, "unchanged");
    assert_eq!(audited(&app, "patient.update_refused").await.len(), 1);
}

#[tokio::test]
async fn search_ignores_accents_and_case_and_finds_phone_email_and_record_number() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let mut mrns = Vec::new();
    for (given, family, email, phone) in [
        ("José", "Núñez", "jose.nunez@example.org", "+61 412 345 678"),
        ("Zoë", "Ó Briain", "zoe@example.org", "+61 400 000 111"),
        ("Priya", "Raghunathan", "priya.r@example.in", "+91 98765 43210"),
        ("Jos", "Smith", "jsmith@example.org", "+61 400 222 333"),
    ] {
        let (s, p) = post(
            &app,
            &staff,
            "/api/v1/patients",
            json!({"given_name": given, "family_name": family, "email": email, "phone": phone}),
        )
        .await;
        assert_eq!(s, 201, "{p}");
        mrns.push(p["mrn"].as_str().unwrap().to_string());
    }
    let search = |q: &str| {
        let app = &app;
        let staff = staff.clone();
        let q = q.to_string();
        async move {
            let (s, page) = get(app, &staff, &format!("/api/v1/patients?q={}", urlencoding(&q))).await;
            assert_eq!(s, 200, "{page}");
            ids(&page)
        }
    };
    assert_eq!(search("jose").await, vec![mrns[0].clone()], "accents ignored");
    assert_eq!(search("NÚÑEZ").await, vec![mrns[0].clone()], "case ignored");
    assert_eq!(search("nunez").await, vec![mrns[0].clone()]);
    assert_eq!(search("zoe o bri").await, vec![mrns[1].clone()], "across given and family names");
    assert_eq!(search("ghuna").await, vec![mrns[2].clone()], "any part of a name");
    assert_eq!(search("345 678").await, vec![mrns[0].clone()], "phone digits, however typed");
    assert_eq!(search("98765-43210").await, vec![mrns[2].clone()]);
    assert_eq!(search("example.in").await, vec![mrns[2].clone()], "email");
    assert_eq!(search(&mrns[3].to_lowercase()).await, vec![mrns[3].clone()], "record number");
    let mut jos = search("jos").await;
    jos.sort();
    assert_eq!(jos, vec![mrns[0].clone(), mrns[3].clone()]);
    assert!(search("nobody-like-this").await.is_empty());
    // Short queries (under three letters) still work.
    assert!(search("zo").await.contains(&mrns[1]));
    // Paging is on the server.
    let (_, page) = get(&app, &staff, "/api/v1/patients?per_page=2&page=2&sort=mrn").await;
    assert_eq!(page["total"], 4);
    assert_eq!(ids(&page), vec![mrns[2].clone(), mrns[3].clone()]);
    // Bad filters are a clear 400/422, not a crash.
    let (s, _) = get(&app, &staff, "/api/v1/patients?status=deleted").await;
    assert_eq!(s, 422);
    let (s, _) = get(&app, &staff, "/api/v1/patients?sort=age").await;
    assert_eq!(s, 422);
    let (s, _) = get(&app, &staff, "/api/v1/patients?last_visit_from=yesterday").await;
    assert_eq!(s, 422);
}

/// Percent-encodes a query value.
pub fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn lists_filter_by_clinic_provider_status_and_last_visit() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (_, seen) =
        post(&app, &staff, "/api/v1/patients", json!({"given_name": "Seen", "family_name": "Patient"})).await;
    let (_, unseen) =
        post(&app, &staff, "/api/v1/patients", json!({"given_name": "Unseen", "family_name": "Patient"})).await;
    let mut body = booking(&f, &tue("10:00"));
    body["patient_id"] = seen["id"].clone();
    let (s, a) = post(&app, &staff, "/api/v1/appointments", body).await;
    assert_eq!(s, 201, "{a}");
    let appt = a["id"].as_str().unwrap().to_string();
    let by_clinic = format!("/api/v1/patients?q=patient&clinic_id={}", f.clinic.id);
    assert_eq!(ids(&get(&app, &staff, &by_clinic).await.1), vec![seen["mrn"].as_str().unwrap()]);
    let by_provider = format!("/api/v1/patients?q=patient&provider_id={}", f.provider.id);
    assert_eq!(ids(&get(&app, &staff, &by_provider).await.1), vec![seen["mrn"].as_str().unwrap()]);

    // Completing the visit records it as the last visit.
    app.clock.set("2026-03-03T00:00:00Z".parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    for step in ["confirm", "check-in", "start", "complete"] {
        let (s, body) = post(&app, &staff, &format!("/api/v1/appointments/{appt}/{step}"), json!({})).await;
        assert!(s == 200 || (step == "confirm" && s == 409), "{step}: {s} {body}");
    }
    let (_, p) = get(&app, &staff, &format!("/api/v1/patients/{}", seen["id"].as_str().unwrap())).await;
    assert_eq!(p["last_visit_at"], tue("10:00"), "{p}");
    let visited = "/api/v1/patients?q=patient&last_visit_from=2026-03-03&last_visit_until=2026-03-03";
    assert_eq!(ids(&get(&app, &staff, visited).await.1), vec![seen["mrn"].as_str().unwrap()]);
    let before = "/api/v1/patients?q=patient&last_visit_until=2026-03-02";
    assert!(ids(&get(&app, &staff, before).await.1).is_empty());
    let (_, sorted) = get(&app, &staff, "/api/v1/patients?q=patient&sort=last_visit").await;
    assert_eq!(ids(&sorted)[0], seen["mrn"].as_str().unwrap(), "most recent visit first");

    // Archived patients leave the default list and search, and come back.
    let unseen_id = unseen["id"].as_str().unwrap();
    let (s, archived) = post(&app, &staff, &format!("/api/v1/patients/{unseen_id}/archive"), json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(archived["active"], false);
    assert!(
        !ids(&get(&app, &staff, "/api/v1/patients?q=unseen").await.1)
            .contains(&unseen["mrn"].as_str().unwrap().to_string())
    );
    assert_eq!(ids(&get(&app, &staff, "/api/v1/patients?q=unseen&status=archived").await.1).len(), 1);
    assert_eq!(ids(&get(&app, &staff, "/api/v1/patients?q=unseen&status=all").await.1).len(), 1);
    assert_eq!(get(&app, &staff, &format!("/api/v1/patients/{unseen_id}")).await.0, 200, "never deleted");
    post(&app, &staff, &format!("/api/v1/patients/{unseen_id}/restore"), json!({})).await;
    assert_eq!(ids(&get(&app, &staff, "/api/v1/patients?q=unseen").await.1).len(), 1);
    assert_eq!(audited(&app, "patient.archive").await.len(), 1);
    assert_eq!(audited(&app, "patient.restore").await.len(), 1);
}

#[tokio::test]
async fn the_csv_export_is_for_administrators_defuses_formulas_and_holds_no_secrets() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    post(
        &app,
        &staff,
        "/api/v1/patients",
        json!({"given_name": "=HYPERLINK(\"http://evil.example\",\"x\")", "family_name": "+SUM(A1)", "address": "@home, \"flat\" 2",
               "insurance_number": "9999 11111 1", "notes": "-private note"}),
    )
    .await;
    post(&app, &staff, "/api/v1/patients", json!({"given_name": "Plain", "family_name": "Person"})).await;
    let res = app.client().get(app.url("/api/v1/patients/export.csv")).bearer_auth(&staff).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = app.client().get(app.url("/api/v1/patients/export.csv")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("mrn,given_name,family_name"));
    assert_eq!(lines.len(), 3, "{csv}");
    let evil = lines.iter().find(|l| l.contains("HYPERLINK")).unwrap();
    assert!(evil.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""), "{evil}");
    assert!(evil.contains(",'+SUM(A1),"), "{evil}");
    assert!(evil.contains("\"'@home, \"\"flat\"\" 2\""), "{evil}");
    for cell in csv.lines().flat_map(|l| l.split(',')) {
        assert!(!matches!(cell.chars().next(), Some('=' | '+' | '-' | '@')), "live formula cell {cell:?} in {csv}");
    }
    assert!(!csv.contains("9999") && !csv.contains("private note"), "no insurance numbers or notes: {csv}");
    assert_eq!(audited(&app, "patient.export").await, vec!["exported 2 patients as CSV".to_string()]);
    // Filters apply to the export as to the list.
    let res =
        app.client().get(app.url("/api/v1/patients/export.csv?q=plain")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.text().await.unwrap().lines().count(), 2);
}

#[tokio::test]
async fn guardians_act_for_a_child_and_consents_keep_their_dates() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (_, child) = post(
        &app,
        &staff,
        "/api/v1/patients",
        json!({"given_name": "Mia", "family_name": "Child", "date_of_birth": "2019-05-01"}),
    )
    .await;
    let child_id = child["id"].as_str().unwrap().to_string();
    // The parent is a portal user with a record of their own (the fixture's patient).
    let parent = app.api_login(&f.patient_user).await;
    assert_eq!(get(&app, &parent, &format!("/api/v1/patients/{child_id}")).await.0, 404, "not yet theirs");
    let (s, body) =
        post(&app, &staff, &format!("/api/v1/patients/{child_id}/guardians"), json!({"user_id": f.patient_user.id}))
            .await;
    assert_eq!(s, 422, "a relationship is required: {body}");
    let (s, guardians) = post(
        &app,
        &staff,
        &format!("/api/v1/patients/{child_id}/guardians"),
        json!({"user_id": f.patient_user.id, "relationship": "Mother"}),
    )
    .await;
    assert_eq!(s, 200, "{guardians}");
    assert_eq!(guardians[0]["relationship"], "Mother");
    assert_eq!(get(&app, &parent, &format!("/api/v1/patients/{child_id}")).await.0, 200);
    // The parent books for the child, and sees the booking.
    let mut body = booking(&f, &tue("11:00"));
    body["patient_id"] = json!(child_id);
    let (s, appt) = post(&app, &parent, "/api/v1/appointments", body).await;
    assert_eq!(s, 201, "{appt}");
    let (_, mine) = get(&app, &parent, "/api/v1/appointments").await;
    assert_eq!(mine["total"], 1);
    assert_eq!(get(&app, &parent, &format!("/api/v1/appointments/{}", appt["id"].as_str().unwrap())).await.0, 200);
    // Another patient still cannot.
    let (_, stranger_user) = (0, app.create_user(&[Role::Patient]).await);
    let stranger = app.api_login(&stranger_user).await;
    assert_eq!(get(&app, &stranger, &format!("/api/v1/appointments/{}", appt["id"].as_str().unwrap())).await.0, 404);
    let mut body = booking(&f, &tue("12:00"));
    body["patient_id"] = json!(child_id);
    assert_eq!(post(&app, &stranger, "/api/v1/appointments", body).await.0, 403);

    // Consents: recorded with dates, withdrawn with a date; the future is refused.
    let consents = format!("/api/v1/patients/{child_id}/consents");
    let (s, _) = post(&app, &staff, &consents, json!({"kind": "telepathy"})).await;
    assert_eq!(s, 422);
    let (s, _) = post(&app, &staff, &consents, json!({"kind": "treatment", "given_at": "2030-01-01T00:00:00Z"})).await;
    assert_eq!(s, 422);
    let (s, c) = post(
        &app,
        &staff,
        &consents,
        json!({"kind": "treatment", "given_at": "2026-02-20T01:00:00Z", "note": "Signed form"}),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["given_at"], "2026-02-20T01:00:00Z");
    let (s, list) = post(&app, &parent, &format!("{consents}/{}/withdraw", c["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(s, 200, "a guardian may withdraw: {list}");
    assert_eq!(list[0]["withdrawn_at"], app.clock.now().to_string());
    let (s, _) = post(&app, &parent, &format!("{consents}/{}/withdraw", c["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(s, 404, "already withdrawn");
    // Removing the guardian ends their access.
    let res = app
        .client()
        .delete(app.url(&format!("/api/v1/patients/{child_id}/guardians/{}", f.patient_user.id)))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(get(&app, &parent, &format!("/api/v1/patients/{child_id}")).await.0, 404);
    assert_eq!(audited(&app, "patient.guardian_add").await.len(), 1);
    assert_eq!(audited(&app, "patient.consent_withdraw").await.len(), 1);
}

#[tokio::test]
async fn patients_keep_their_own_details_current_but_not_the_practices_notes() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let path = format!("/api/v1/patients/{}", f.patient.id);
    let (s, _) = put(
        &app,
        &staff,
        &path,
        json!({"given_name": "Pat", "family_name": "Ient", "notes": "Needs wheelchair access"}),
    )
    .await;
    assert_eq!(s, 200);
    let me = app.api_login(&f.patient_user).await;
    let (s, mine) = get(&app, &me, &path).await;
    assert_eq!(s, 200);
    assert_eq!(mine["notes"], "", "the practice's notes are not shown to the patient");
    let (s, updated) = put(
        &app,
        &me,
        &path,
        json!({"given_name": "Patricia", "family_name": "Ient", "date_of_birth": "1999-01-01", "phone": "+61 400 999 888", "notes": "I am lovely"}),
    )
    .await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(updated["phone"], "+61400999888");
    let (_, seen_by_staff) = get(&app, &staff, &path).await;
    assert_eq!(seen_by_staff["notes"], "Needs wheelchair access", "patients cannot change the practice's notes");
    assert_eq!(seen_by_staff["given_name"], "Pat", "nor who they are");
    assert_eq!(seen_by_staff["date_of_birth"], serde_json::Value::Null);
    // Another patient's record: 404 and the attempt audited.
    let (other_user, _) = app.patient_user().await;
    let other = app.api_login(&other_user).await;
    assert_eq!(get(&app, &other, &path).await.0, 404);
    assert_eq!(put(&app, &other, &path, json!({"given_name": "Hacked"})).await.0, 404);
    assert_eq!(audited(&app, "patient.read_denied").await.len(), 2);
    let (_, still) = get(&app, &staff, &path).await;
    assert_eq!(still["given_name"], "Pat");
}

#[tokio::test]
async fn insurance_numbers_are_encrypted_at_rest() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (_, p) = post(
        &app,
        &staff,
        "/api/v1/patients",
        json!({"given_name": "Enc", "family_name": "Rypted", "insurance_number": "4242 42424 2"}),
    )
    .await;
    let rows: Vec<(Option<String>,)> = app
        .db
        .fetch_all(praxis_store::sql(
            "SELECT insurance_number_enc FROM patients WHERE insurance_number_enc IS NOT NULL",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let stored = rows[0].0.clone().unwrap();
    assert!(stored.starts_with("pxe1.") && !stored.contains("4242"), "{stored}");
    // Lists never carry it; the single record opens it.
    let (_, list) = get(&app, &staff, "/api/v1/patients?q=rypted").await;
    assert_eq!(list["items"][0]["insurance_number"], Value::Null);
    let (_, one) = get(&app, &staff, &format!("/api/v1/patients/{}", p["id"].as_str().unwrap())).await;
    assert_eq!(one["insurance_number"], "4242 42424 2");
    // Moved to another row, the sealed value no longer opens (the AAD binds the row).
    let (_, q) = post(&app, &staff, "/api/v1/patients", json!({"given_name": "Other"})).await;
    let mut tx = app.db.begin().await.unwrap();
    tx.execute(
        praxis_store::sql("UPDATE patients SET insurance_number_enc = $1 WHERE id = $2")
            .bind(stored)
            .bind(q["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap()),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let moved = app
        .svc
        .get_patient(&praxis_services::Actor::system("test"), serde_json::from_value(q["id"].clone()).unwrap())
        .await;
    assert!(moved.is_err(), "a value moved between rows is detected, not shown");
}
