//! The FHIR R4 interface as a FHIR client uses it: every resource kind it serves passes
//! the independent `fhir.resources` validator, a Slot found by a search books through
//! `POST Appointment` under the REST rules, patients see only their own records, reads of
//! patients' records are audited, and bad requests get an OperationOutcome.

use crate::scheduling_api::{get, post, tue};
use crate::*;
use praxis_domain::Role;
use serde_json::{Value, json};

const FHIR: &str = "application/fhir+json";

/// A FHIR request: (status, content type, body).
async fn fhir(
    app: &TestApp,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, String, Value) {
    let url = app.url(path);
    let mut req = app.client().request(method.parse().unwrap(), url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.header("content-type", FHIR).body(b.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, res.json().await.unwrap_or(Value::Null))
}

async fn read(app: &TestApp, token: &str, path: &str) -> Value {
    let (s, ct, body) = fhir(app, Some(token), "GET", path, None).await;
    assert_eq!(s, 200, "{path}: {body}");
    assert_eq!(ct, FHIR, "{path}");
    body
}

/// The resources of a searchset Bundle.
fn entries(bundle: &Value) -> Vec<Value> {
    assert_eq!(bundle["resourceType"], "Bundle", "{bundle}");
    assert_eq!(bundle["type"], "searchset");
    bundle["entry"].as_array().map(|e| e.iter().map(|x| x["resource"].clone()).collect()).unwrap_or_default()
}

/// The path and query of a Bundle link (the server's public base differs in tests).
fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"].as_array().unwrap().iter().find(|l| l["relation"] == relation).map(|l| {
        let url = l["url"].as_str().unwrap();
        url[url.find("/fhir/r4").unwrap()..].to_string()
    })
}

/// Validates resources with the Python `fhir.resources` package (R4B models); returns its
/// summary, or `None` where the package is missing and CI does not insist on it.
fn validate(resources: &[Value]) -> Option<Vec<Value>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/check_fhir.py");
    let input = Value::Array(resources.to_vec()).to_string();
    let out = python_check("fhir.resources", script, &[], input.as_bytes())?;
    Some(serde_json::from_slice(&out).unwrap())
}

fn slot_search(f: &praxis_testkit::scheduling::Fixture, extra: &str) -> String {
    format!(
        "/fhir/r4/Slot?service-type=urn:praxis:service|{}&start=ge2026-03-03&start=lt2026-03-04{extra}",
        f.service.id
    )
}

#[tokio::test]
async fn every_resource_kind_served_is_valid_fhir_r4() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let group = app.group_service(6).await;
    let (_, coach) = app.provider(&[f.clinic.id], &[group.id]).await;
    app.weekdays(&coach, f.clinic.id, "09:00", "12:00").await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (s, p) = post(
        &app,
        &staff,
        "/api/v1/patients",
        json!({"given_name": "Aroha", "family_name": "Ngata", "preferred_name": "Ro", "sex": "intersex",
               "email": "aroha@example.org", "phone": "+61 2 9999 0000", "date_of_birth": "1990-04-01",
               "address": "2 Wharf Road, Sydney", "insurance_number": "2951 12345 1",
               "emergency_contact": {"name": "Mere Ngata", "phone": "+61 400 000 000", "relationship": "sister"}}),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let (s, kept) = post(&app, &staff, "/api/v1/appointments", json!({"service_id": f.service.id, "provider_id": f.provider.id, "clinic_id": f.clinic.id, "start": tue("09:00"), "patient_id": p["id"], "note": "Bring the referral"})).await;
    assert_eq!(s, 201, "{kept}");
    let (s, gone) = post(&app, &staff, "/api/v1/appointments", json!({"service_id": f.service.id, "provider_id": f.provider.id, "clinic_id": f.clinic.id, "start": tue("11:00"), "patient_id": f.patient.id})).await;
    assert_eq!(s, 201, "{gone}");
    let (s, c) = post(
        &app,
        &staff,
        &format!("/api/v1/appointments/{}/cancel", gone["id"].as_str().unwrap()),
        json!({"reason": "Unwell"}),
    )
    .await;
    assert_eq!(s, 200, "{c}");

    let mut served = vec![read(&app, &staff, "/fhir/r4/metadata").await];
    let searches = [
        "/fhir/r4/Patient".to_string(),
        "/fhir/r4/Practitioner".to_string(),
        "/fhir/r4/PractitionerRole".to_string(),
        "/fhir/r4/Location".to_string(),
        "/fhir/r4/HealthcareService".to_string(),
        "/fhir/r4/Schedule".to_string(),
        slot_search(&f, "&_count=5"),
        format!("/fhir/r4/Slot?service-type={}&start=ge2026-03-03&start=lt2026-03-04", group.id),
        "/fhir/r4/Appointment?date=ge2026-03-01".to_string(),
    ];
    for path in &searches {
        let bundle = read(&app, &staff, path).await;
        let found = entries(&bundle);
        assert!(!found.is_empty(), "{path} found nothing: {bundle}");
        // Every resource of the bundle reads back by its id as the same resource.
        for r in &found {
            let id = r["id"].as_str().unwrap();
            let again = read(&app, &staff, &format!("/fhir/r4/{}/{id}", r["resourceType"].as_str().unwrap())).await;
            assert_eq!(&again, r, "{path}: the read differs from the search entry");
            served.push(again);
        }
        served.push(bundle);
    }
    // Errors are resources too.
    let (_, _, outcome) = fhir(&app, Some(&staff), "GET", "/fhir/r4/Slot?start=soon", None).await;
    served.push(outcome);

    let kinds: std::collections::BTreeSet<String> =
        served.iter().map(|r| r["resourceType"].as_str().unwrap().to_string()).collect();
    for k in [
        "CapabilityStatement",
        "Bundle",
        "OperationOutcome",
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Location",
        "HealthcareService",
        "Schedule",
        "Slot",
        "Appointment",
    ] {
        assert!(kinds.contains(k), "no {k} was served");
    }
    if let Some(summary) = validate(&served) {
        assert_eq!(summary.len(), served.len());
    }

    // What the resources say, beyond being well-formed.
    let patient = read(&app, &staff, &format!("/fhir/r4/Patient/{}", p["id"].as_str().unwrap())).await;
    assert_eq!(patient["identifier"][0]["value"], p["mrn"]);
    assert_eq!(patient["gender"], "other");
    assert_eq!(patient["birthDate"], "1990-04-01");
    assert!(!patient.to_string().contains("2951"), "the insurance number stays out: {patient}");
    // Matching a patient by name and date of birth, as other systems do.
    let mrn = format!("identifier={}", p["mrn"].as_str().unwrap());
    for (query, total) in
        [("name=aroha&birthdate=1990-04-01", 1), ("name=aroha&birthdate=1990-04-02", 0), (mrn.as_str(), 1)]
    {
        let found = read(&app, &staff, &format!("/fhir/r4/Patient?{query}")).await;
        assert_eq!(found["total"], total, "{query}: {found}");
    }
    let appts = entries(&read(&app, &staff, "/fhir/r4/Appointment?date=ge2026-03-01").await);
    let booked = appts.iter().find(|a| a["id"] == kept["id"]).unwrap();
    assert_eq!(booked["status"], "booked");
    assert_eq!(booked["start"], tue("09:00"));
    assert_eq!(booked["minutesDuration"], 50);
    assert_eq!(booked["comment"], "Bring the referral");
    assert_eq!(booked["identifier"][0]["value"], kept["number"]);
    let cancelled = appts.iter().find(|a| a["id"] == gone["id"]).unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancelationReason"]["text"], "Unwell");
    let location = read(&app, &staff, &format!("/fhir/r4/Location/{}", f.clinic.id)).await;
    assert_eq!(location["extension"][0]["valueCode"], "Australia/Sydney");
    let group_slots = entries(
        &read(&app, &staff, &format!("/fhir/r4/Slot?service-type={}&start=ge2026-03-03&start=lt2026-03-04", group.id))
            .await,
    );
    assert!(group_slots.iter().all(|s| s["comment"] == "6 of 6 places left"), "{group_slots:?}");
}

#[tokio::test]
async fn a_slot_from_a_search_books_through_fhir_and_is_then_taken() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let patient = app.api_login(&f.patient_user).await;
    let schedules =
        entries(&read(&app, &patient, &format!("/fhir/r4/Schedule?actor=Practitioner/{}", f.provider.id)).await);
    assert_eq!(schedules.len(), 1);
    let schedule = schedules[0]["id"].as_str().unwrap();
    let search = slot_search(&f, &format!("&schedule=Schedule/{schedule}&status=free"));
    let slots = entries(&read(&app, &patient, &search).await);
    // Tuesday 09:00–17:00 in 60-minute blocks (50 + 10 buffer) on a 15-minute grid.
    assert_eq!(slots.first().unwrap()["start"], tue("09:00"));
    assert_eq!(slots.first().unwrap()["end"], tue("09:50"));
    assert_eq!(slots.last().unwrap()["start"], tue("16:00"));
    assert!(slots.iter().all(|s| s["schedule"]["reference"] == format!("Schedule/{schedule}")));
    // `end` narrows by the end: slots ending by 11:00 start by 10:10, on the grid 10:00.
    let by_eleven = entries(&read(&app, &patient, &format!("{search}&end=le{}", tue("11:00"))).await);
    assert_eq!(by_eleven.last().unwrap()["start"], tue("10:00"), "{by_eleven:?}");
    assert_eq!(by_eleven.len(), 5, "09:00, 09:15, 09:30, 09:45 and 10:00");
    let slot = slots.iter().find(|s| s["start"] == tue("10:30")).unwrap().clone();
    let slot_id = slot["id"].as_str().unwrap();
    assert_eq!(read(&app, &patient, &format!("/fhir/r4/Slot/{slot_id}")).await, slot);

    let ask = json!({"resourceType": "Appointment", "status": "booked", "slot": [{"reference": format!("Slot/{slot_id}")}],
                     "participant": [{"actor": {"reference": format!("Patient/{}", f.patient.id)}, "status": "accepted"}],
                     "comment": "Booked from the FHIR app"});
    let res = app
        .client()
        .post(app.url("/fhir/r4/Appointment"))
        .bearer_auth(&patient)
        .header("content-type", FHIR)
        .body(ask.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let made: Value = res.json().await.unwrap();
    assert!(
        location.ends_with(&format!(
            "/fhir/r4/Appointment/{}/_history/{}",
            made["id"].as_str().unwrap(),
            made["meta"]["versionId"].as_str().unwrap()
        )),
        "{location}"
    );
    assert_eq!(made["status"], "booked");
    assert_eq!(made["start"], tue("10:30"));
    assert_eq!(made["participant"][0]["actor"]["reference"], format!("Patient/{}", f.patient.id));
    assert_eq!(made["participant"][1]["actor"]["reference"], format!("Practitioner/{}", f.provider.id));
    if let Some(summary) = validate(std::slice::from_ref(&made)) {
        assert_eq!(summary[0]["resourceType"], "Appointment");
    }

    // The REST API sees the same appointment.
    let (s, rest) = get(&app, &patient, &format!("/api/v1/appointments/{}", made["id"].as_str().unwrap())).await;
    assert_eq!(s, 200, "{rest}");
    assert_eq!(rest["start"], tue("10:30"));
    assert_eq!(rest["clinic_id"], json!(f.clinic.id));
    assert_eq!(rest["note"], "Booked from the FHIR app");

    // The time is gone: from the search, by id, and for a second booking (409 outcome).
    let after = entries(&read(&app, &patient, &search).await);
    assert!(!after.iter().any(|s| s["id"] == slot["id"]), "a booked slot is not offered again");
    assert!(!after.iter().any(|s| s["start"] == tue("10:00")), "nor one that overlaps it");
    let (s, ct, body) = fhir(&app, Some(&patient), "GET", &format!("/fhir/r4/Slot/{slot_id}"), None).await;
    assert_eq!((s, ct.as_str(), body["resourceType"].as_str()), (404, FHIR, Some("OperationOutcome")));
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (_, other) = app.patient_user().await;
    let again = json!({"resourceType": "Appointment", "slot": [{"reference": format!("Slot/{slot_id}")}],
                       "participant": [{"actor": {"reference": format!("Patient/{}", other.id)}}]});
    let (s, _, body) = fhir(&app, Some(&staff), "POST", "/fhir/r4/Appointment", Some(again)).await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["issue"][0]["code"], "conflict");

    // Staff book another slot for a patient; without a patient it is refused.
    let free = after[0]["id"].as_str().unwrap();
    let nobody = json!({"resourceType": "Appointment", "slot": [{"reference": format!("Slot/{free}")}]});
    let (s, _, body) = fhir(&app, Some(&staff), "POST", "/fhir/r4/Appointment", Some(nobody)).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["resourceType"], "OperationOutcome");
    let for_other = json!({"resourceType": "Appointment", "slot": [{"reference": format!("Slot/{free}")}],
                           "participant": [{"actor": {"reference": format!("Patient/{}", other.id)}}]});
    let (s, _, body) = fhir(&app, Some(&staff), "POST", "/fhir/r4/Appointment", Some(for_other)).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["participant"][0]["actor"]["reference"], format!("Patient/{}", other.id));
}

#[tokio::test]
async fn patients_see_only_their_own_records_and_reads_of_them_are_audited() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (other_user, other) = app.patient_user().await;
    for (who, start) in [(f.patient.id, tue("09:00")), (other.id, tue("11:00"))] {
        let (s, b) = post(&app, &staff, "/api/v1/appointments", json!({"service_id": f.service.id, "provider_id": f.provider.id, "clinic_id": f.clinic.id, "start": start, "patient_id": who})).await;
        assert_eq!(s, 201, "{b}");
    }
    let me = app.api_login(&f.patient_user).await;
    let mine = read(&app, &me, &format!("/fhir/r4/Patient/{}", f.patient.id)).await;
    assert_eq!(mine["id"], json!(f.patient.id));
    let (s, ct, body) = fhir(&app, Some(&me), "GET", &format!("/fhir/r4/Patient/{}", other.id), None).await;
    assert_eq!((s, ct.as_str()), (404, FHIR), "another patient's record is as missing as a made-up one: {body}");
    let (made_up, _, _) =
        fhir(&app, Some(&me), "GET", &format!("/fhir/r4/Patient/{}", uuid::Uuid::now_v7()), None).await;
    assert_eq!(made_up, 404);

    let found = read(&app, &me, "/fhir/r4/Patient").await;
    assert_eq!(found["total"], 1);
    assert_eq!(entries(&found)[0]["id"], json!(f.patient.id));
    let appts = read(&app, &me, "/fhir/r4/Appointment").await;
    assert_eq!(appts["total"], 1, "{appts}");
    assert_eq!(entries(&appts)[0]["start"], tue("09:00"));
    let (s, _, body) =
        fhir(&app, Some(&me), "GET", &format!("/fhir/r4/Appointment?patient=Patient/{}", other.id), None).await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["issue"][0]["code"], "forbidden");
    let theirs = entries(&read(&app, &staff, &format!("/fhir/r4/Appointment?patient={}", other.id)).await);
    let (s, _, _) =
        fhir(&app, Some(&me), "GET", &format!("/fhir/r4/Appointment/{}", theirs[0]["id"].as_str().unwrap()), None)
            .await;
    assert_eq!(s, 404);
    // A patient cannot book a slot for someone else.
    let slot = entries(&read(&app, &me, &slot_search(&f, "")).await)[0]["id"].as_str().unwrap().to_string();
    let ask = json!({"resourceType": "Appointment", "slot": [{"reference": format!("Slot/{slot}")}],
                     "participant": [{"actor": {"reference": format!("Patient/{}", other.id)}}]});
    let (s, _, body) = fhir(&app, Some(&me), "POST", "/fhir/r4/Appointment", Some(ask)).await;
    assert!(s == 403 || s == 404, "{s} {body}");

    // Reads and searches of patients' records are on the audit log, with whose.
    let (_, log) = get(&app, &admin, &format!("/api/v1/audit?action=fhir.read&entity_id={}", f.patient.id)).await;
    assert_eq!(log["total"], 1, "{log}");
    assert_eq!(log["items"][0]["actor_id"], json!(f.patient_user.id));
    let (_, log) = get(&app, &admin, "/api/v1/audit?action=fhir.search&entity_type=patient").await;
    assert!(log["items"][0]["summary"].as_str().unwrap().contains(&f.patient.mrn), "{log}");
    let (_, log) = get(&app, &admin, "/api/v1/audit?action=fhir.search&entity_type=appointment").await;
    assert_eq!(log["total"], 2, "the patient's own search and the staff search: {log}");
    let _ = other_user;
}

#[tokio::test]
async fn slot_search_pages_follow_their_links() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let all = entries(&read(&app, &staff, &slot_search(&f, "")).await);
    let mut seen = Vec::new();
    let mut next = Some(slot_search(&f, "&_count=10"));
    let mut pages = 0;
    while let Some(path) = next {
        let bundle = read(&app, &staff, &path).await;
        assert_eq!(bundle["total"], all.len());
        let page = entries(&bundle);
        assert!(page.len() <= 10);
        seen.extend(page);
        next = link(&bundle, "next");
        pages += 1;
        assert!(pages < 10, "the links end");
    }
    assert_eq!(pages, all.len().div_ceil(10));
    assert_eq!(seen, all, "the pages together are the whole search, in order");
}

#[tokio::test]
async fn malformed_fhir_requests_get_an_operation_outcome_never_a_server_error() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let svc = f.service.id;
    let cases: Vec<(&str, String, Option<Value>, u16)> = vec![
        ("GET", "/fhir/r4/Observation".into(), None, 404),
        ("GET", "/fhir/r4/Observation/1".into(), None, 404),
        ("GET", "/fhir/r4/".into(), None, 404),
        ("GET", "/fhir/r4/Slot".into(), None, 400),
        ("GET", format!("/fhir/r4/Slot?service-type={svc}&start=tomorrow"), None, 400),
        ("GET", format!("/fhir/r4/Slot?service-type={svc}&start=sa2026-03-01"), None, 400),
        ("GET", format!("/fhir/r4/Slot?service-type={svc}&start=ge2026-03-01&start=lt2026-09-01"), None, 400),
        ("GET", format!("/fhir/r4/Slot?service-type={svc}&status=open"), None, 400),
        ("GET", format!("/fhir/r4/Slot?service-type=http://snomed.info/sct|{svc}"), None, 400),
        ("GET", "/fhir/r4/Patient?birthdate=1990".into(), None, 400),
        ("GET", "/fhir/r4/Patient?birthdate=ge1990-01-01".into(), None, 400),
        ("GET", "/fhir/r4/Patient?family=Ngata".into(), None, 400),
        ("GET", "/fhir/r4/Patient?name:exact=Ann".into(), None, 400),
        ("GET", "/fhir/r4/Patient?_count=lots".into(), None, 400),
        ("GET", "/fhir/r4/Patient?_count=100000".into(), None, 400),
        ("GET", "/fhir/r4/Patient?_format=xml".into(), None, 406),
        ("GET", "/fhir/r4/Appointment?status=done".into(), None, 400),
        ("GET", "/fhir/r4/Appointment?date=2026-02-30".into(), None, 400),
        ("GET", "/fhir/r4/Appointment?patient=Practitioner/1".into(), None, 400),
        ("GET", "/fhir/r4/Practitioner?active=yes".into(), None, 400),
        ("GET", "/fhir/r4/Slot/garbage".into(), None, 404),
        ("GET", "/fhir/r4/Schedule/garbage".into(), None, 404),
        ("GET", "/fhir/r4/Patient/not-a-uuid".into(), None, 404),
        ("DELETE", format!("/fhir/r4/Patient/{}", f.patient.id), None, 405),
        ("POST", "/fhir/r4/Patient".into(), Some(json!({"resourceType": "Patient"})), 405),
        ("POST", "/fhir/r4/Appointment".into(), Some(json!({"resourceType": "Patient"})), 400),
        ("POST", "/fhir/r4/Appointment".into(), Some(json!({"resourceType": "Appointment"})), 422),
        (
            "POST",
            "/fhir/r4/Appointment".into(),
            Some(json!({"resourceType": "Appointment", "slot": [{"reference": "Slot/AAAA"}]})),
            422,
        ),
        ("POST", "/fhir/r4/Appointment".into(), Some(json!([1, 2])), 400),
    ];
    for (method, path, body, want) in cases {
        let (s, ct, outcome) = fhir(&app, Some(&staff), method, &path, body).await;
        assert_eq!(s, want, "{method} {path}: {outcome}");
        assert_eq!(ct, FHIR, "{method} {path}");
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{method} {path}: {outcome}");
        assert!(!outcome["issue"][0]["diagnostics"].as_str().unwrap().is_empty());
    }
    // Not JSON at all, or not sent as JSON.
    let raw = |ct: &'static str, body: &'static str| {
        app.client()
            .post(app.url("/fhir/r4/Appointment"))
            .bearer_auth(&staff)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let res = raw(FHIR, "{\"resourceType\": ").await.unwrap();
    assert_eq!(res.status(), 400);
    let res = raw("text/plain", "hello").await.unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(res.headers()["content-type"], FHIR);
    // Without a login: 401, except the CapabilityStatement, which clients read first.
    let (s, _, body) = fhir(&app, None, "GET", "/fhir/r4/Patient", None).await;
    assert_eq!((s, body["issue"][0]["code"].as_str()), (401, Some("login")));
    let (s, _, body) =
        fhir(&app, Some("not-a-token"), "GET", &format!("/fhir/r4/Patient/{}", f.patient.id), None).await;
    assert_eq!((s, body["resourceType"].as_str()), (401, Some("OperationOutcome")));
    let (s, _, cap) = fhir(&app, None, "GET", "/fhir/r4/metadata", None).await;
    assert_eq!((s, cap["fhirVersion"].as_str()), (200, Some("4.0.1")));
}
