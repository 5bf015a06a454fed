//! Scheduling over the API: catalogue, availability, slot search, booking, workflow,
//! cancellations, rescheduling, group sessions and video rooms.

use crate::*;
use praxis_domain::Role;
use serde_json::{Value, json};

pub async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let res = app.client().post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

pub async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let res = app.client().get(app.url(path)).bearer_auth(token).send().await.unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

/// `GET /api/v1/slots`, its grouped answer checked and flattened into one list sorted by
/// start (then provider name), each item with `provider_id`, `clinic_id`, `start`, `end`,
/// `local_start` (the clinic's wall clock, "2026-03-03T09:00 AEDT"), `remaining` and
/// `session_id`, so tests read times plainly. Other answers come back as they are.
pub async fn get_slots(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let (s, table) = get(app, token, path).await;
    if s != 200 {
        return (s, table);
    }
    (s, flatten_slots(&table))
}

/// The flat list of [`get_slots`], after checking the grouping: every day is the local
/// date of its times in the provider's clinic zone, days and starts ascend, and each
/// provider at a clinic appears once.
pub fn flatten_slots(table: &Value) -> Value {
    let minutes = table["minutes"].as_i64().expect("minutes");
    let places = table["places"].as_i64().expect("places");
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in table["providers"].as_array().expect("providers") {
        assert!(seen.insert((p["provider_id"].clone(), p["clinic_id"].clone())), "one entry per provider and clinic");
        let zone = jiff::tz::TimeZone::get(p["time_zone"].as_str().unwrap()).unwrap();
        let mut last_day = None;
        for d in p["days"].as_array().unwrap() {
            let date: jiff::civil::Date = d["date"].as_str().unwrap().parse().unwrap();
            assert!(last_day < Some(date), "days ascend");
            last_day = Some(date);
            let label = |t: jiff::Timestamp| {
                let z = t.to_zoned(zone.clone());
                assert_eq!(z.date(), date, "{t} belongs to the local day {date}");
                z.strftime("%Y-%m-%dT%H:%M %Z").to_string()
            };
            let mut last = None;
            for start in d["starts"].as_array().unwrap() {
                let t: jiff::Timestamp = start.as_str().unwrap().parse().unwrap();
                assert!(last < Some(t), "starts ascend");
                last = Some(t);
                let end = t + jiff::SignedDuration::from_mins(minutes);
                out.push(json!({"provider_id": p["provider_id"], "provider_name": p["provider_name"], "clinic_id": p["clinic_id"],
                    "start": start, "end": end.to_string(), "local_start": label(t), "remaining": places, "session_id": null}));
            }
            for g in d["sessions"].as_array().unwrap() {
                let t: jiff::Timestamp = g["start"].as_str().unwrap().parse().unwrap();
                out.push(json!({"provider_id": p["provider_id"], "provider_name": p["provider_name"], "clinic_id": p["clinic_id"],
                    "start": g["start"], "end": g["end"], "local_start": label(t), "remaining": g["remaining"], "session_id": g["session_id"]}));
            }
        }
    }
    out.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                v["start"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap(),
                v["provider_name"].as_str().unwrap().to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
    Value::Array(out)
}

/// Tuesday 3 March 2026 at `hh:mm` Sydney time (AEDT, UTC+11), as an RFC 3339 instant.
pub fn tue(hhmm: &str) -> String {
    let (h, m): (i64, i64) = (hhmm[..2].parse().unwrap(), hhmm[3..].parse().unwrap());
    let minutes = h * 60 + m - 11 * 60;
    let (day, minutes) = if minutes < 0 { (2, minutes + 1440) } else { (3, minutes) };
    format!("2026-03-{day:02}T{:02}:{:02}:00Z", minutes / 60, minutes % 60)
}

pub fn booking(f: &praxis_testkit::scheduling::Fixture, start: &str) -> Value {
    json!({ "service_id": f.service.id, "provider_id": f.provider.id, "clinic_id": f.clinic.id, "start": start })
}

#[tokio::test]
async fn admins_build_the_catalogue_and_bad_values_are_refused() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (s, body) = post(&app, &admin, "/api/v1/clinics", json!({"name": "North", "time_zone": "Mars/Olympus"})).await;
    assert_eq!(s, 422);
    assert_eq!(body["errors"][0]["field"], "time_zone");
    let (s, clinic) = post(
        &app,
        &admin,
        "/api/v1/clinics",
        json!({"name": "North", "time_zone": "Asia/Kolkata", "email": "north@clinic.example"}),
    )
    .await;
    assert_eq!(s, 201, "{clinic}");
    let (s, spec) = post(&app, &admin, "/api/v1/specialties", json!({"name": "Speech therapy"})).await;
    assert_eq!(s, 201);
    let (s, _) = post(&app, &admin, "/api/v1/specialties", json!({"name": "SPEECH THERAPY"})).await;
    assert_eq!(s, 409, "names are unique regardless of case");
    let (s, body) = post(
        &app,
        &admin,
        "/api/v1/services",
        json!({"name": "Assessment", "duration_minutes": 0, "capacity": 0, "currency": "dollars"}),
    )
    .await;
    assert_eq!(s, 422);
    let mut fields: Vec<&str> =
        body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["capacity", "currency", "duration_minutes"]);
    let (s, service) = post(
        &app,
        &admin,
        "/api/v1/services",
        json!({
            "name": "Assessment", "duration_minutes": 90, "price_minor": 25000, "currency": "inr",
            "specialty_id": spec["id"], "buffer_before_minutes": 15, "capacity": 1, "mode": "in_person",
            "min_notice_minutes": 120, "booking_horizon_days": 60, "late_cancellation_minutes": 1440
        }),
    )
    .await;
    assert_eq!(s, 201, "{service}");
    assert_eq!(service["price"], json!({"amount_minor": 25000, "currency": "INR"}));
    let u = app.create_user(&[Role::Staff]).await;
    let (s, body) =
        post(&app, &admin, "/api/v1/providers", json!({"user_id": u.id, "clinic_ids": [clinic["id"]]})).await;
    assert_eq!(s, 422, "only accounts with the provider role: {body}");
    let p = app.create_user(&[Role::Provider]).await;
    let (s, body) = post(&app, &admin, "/api/v1/providers", json!({"user_id": p.id, "calendar_colour": "red"})).await;
    assert_eq!(s, 422);
    assert_eq!(body["errors"][0]["field"], "calendar_colour");
    let (s, provider) = post(
        &app,
        &admin,
        "/api/v1/providers",
        json!({
            "user_id": p.id, "title": "Speech pathologist", "clinic_ids": [clinic["id"]], "specialty_ids": [spec["id"]],
            "service_ids": [service["id"]], "fee_minor": 25000, "fee_currency": "INR", "calendar_colour": "#2a7f62"
        }),
    )
    .await;
    assert_eq!(s, 201, "{provider}");
    assert_eq!(provider["clinic_ids"], json!([clinic["id"]]));
    let (s, _) = post(&app, &admin, "/api/v1/providers", json!({"user_id": p.id})).await;
    assert_eq!(s, 409, "one profile per account");
    // Staff can read the catalogue but not change it.
    let (_, staff) = app.user_with_token(Role::Staff).await;
    assert_eq!(get(&app, &staff, "/api/v1/providers").await.0, 200);
    assert_eq!(post(&app, &staff, "/api/v1/clinics", json!({"name": "X", "time_zone": "UTC"})).await.0, 403);
}

#[tokio::test]
async fn availability_windows_are_validated_and_a_provider_cannot_be_in_two_clinics_at_once() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let sydney = app.clinic("Sydney", "Australia/Sydney").await;
    let brisbane = app.clinic("Brisbane", "Australia/Brisbane").await;
    let service = app.consultation().await;
    let (puser, provider) = app.provider(&[sydney.id, brisbane.id], &[service.id]).await;
    let path = format!("/api/v1/providers/{}/availability/windows", provider.id);
    let (s, body) = post(
        &app,
        &admin,
        &path,
        json!({"clinic_id": sydney.id, "weekday": "monday", "start": "17:00", "end": "09:00"}),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(body["errors"][0]["field"], "end");
    let (s, _) = post(
        &app,
        &admin,
        &path,
        json!({"clinic_id": sydney.id, "weekday": "caturday", "start": "9am", "end": "25:00"}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = post(
        &app,
        &admin,
        &path,
        json!({"clinic_id": sydney.id, "weekday": "monday", "start": "09:00", "end": "12:00"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, body) = post(
        &app,
        &admin,
        &path,
        json!({"clinic_id": sydney.id, "weekday": "monday", "start": "11:00", "end": "13:00"}),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["type"], "urn:praxis:problem:window_overlap");
    // Brisbane has no daylight saving: in March, 10:00 Brisbane is 11:00 Sydney.
    let (s, body) = post(
        &app,
        &admin,
        &path,
        json!({"clinic_id": brisbane.id, "weekday": "monday", "start": "10:00", "end": "11:00"}),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["type"], "urn:praxis:problem:two_clinics_at_once");
    // 11:00 Brisbane is 12:00 Sydney in summer but 11:00 in winter (Sydney on AEST): a clash
    // half the year is a clash.
    let (s, _) = post(
        &app,
        &admin,
        &path,
        json!({"clinic_id": brisbane.id, "weekday": "monday", "start": "11:00", "end": "15:00"}),
    )
    .await;
    assert_eq!(s, 409);
    let (s, _) = post(
        &app,
        &admin,
        &path,
        json!({"clinic_id": brisbane.id, "weekday": "monday", "start": "12:00", "end": "15:00"}),
    )
    .await;
    assert_eq!(s, 201, "12:00 Brisbane is 13:00 or 12:00 Sydney: after the Sydney window all year");
    // A provider edits only their own availability.
    let own = app.api_login(&puser).await;
    assert_eq!(
        post(&app, &own, &path, json!({"clinic_id": sydney.id, "weekday": "friday", "start": "09:00", "end": "12:00"}))
            .await
            .0,
        201
    );
    let (other_user, other) = app.provider(&[sydney.id], &[service.id]).await;
    let _ = other_user;
    let other_path = format!("/api/v1/providers/{}/availability/windows", other.id);
    assert_eq!(
        post(
            &app,
            &own,
            &other_path,
            json!({"clinic_id": sydney.id, "weekday": "friday", "start": "09:00", "end": "12:00"})
        )
        .await
        .0,
        403
    );
    let (_, patient) = app.user_with_token(Role::Patient).await;
    assert_eq!(
        post(
            &app,
            &patient,
            &path,
            json!({"clinic_id": sydney.id, "weekday": "friday", "start": "13:00", "end": "14:00"})
        )
        .await
        .0,
        403
    );
    let (s, av) = get(&app, &patient, &format!("/api/v1/providers/{}/availability", provider.id)).await;
    assert_eq!(s, 200);
    assert_eq!(av["windows"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn slot_search_honours_windows_buffers_notice_exceptions_and_closures() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, token) = app.user_with_token(Role::Staff).await;
    let q = format!(
        "/api/v1/slots?service_id={}&provider_id={}&from=2026-03-03&until=2026-03-03",
        f.service.id, f.provider.id
    );
    let (s, slots) = get_slots(&app, &token, &q).await;
    assert_eq!(s, 200, "{slots}");
    let slots = slots.as_array().unwrap();
    // 09:00 … 16:00 every 15 minutes (50-minute appointments must end by 17:00).
    assert_eq!(slots.len(), 29);
    assert_eq!(slots[0]["start"], tue("09:00"));
    assert_eq!(slots[0]["local_start"], "2026-03-03T09:00 AEDT");
    assert_eq!(slots.last().unwrap()["start"], tue("16:00"));
    // A booking at 10:00 (plus its 10-minute buffer) removes 09:15 … 10:45.
    let (s, _) = post(&app, &token, "/api/v1/appointments", json!({"service_id": f.service.id, "provider_id": f.provider.id, "clinic_id": f.clinic.id, "start": tue("10:00"), "patient_id": f.patient.id})).await;
    assert_eq!(s, 201);
    let (_, slots) = get_slots(&app, &token, &q).await;
    let starts: Vec<&str> = slots.as_array().unwrap().iter().map(|s| s["start"].as_str().unwrap()).collect();
    assert!(starts.contains(&tue("09:00").as_str()), "09:00 ends at 09:50 and its buffer at 10:00: touching is fine");
    for t in ["09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45"] {
        assert!(!starts.contains(&tue(t).as_str()), "{t} overlaps the 10:00 appointment or its buffer");
    }
    assert!(starts.contains(&tue("11:00").as_str()));
    // A closure and an exception remove whole days.
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (s, _) = post(
        &app,
        &admin,
        &format!("/api/v1/providers/{}/availability/exceptions", f.provider.id),
        json!({"from": "2026-03-03", "kind": "closed", "reason": "Conference"}),
    )
    .await;
    assert_eq!(s, 201);
    let (_, slots) = get_slots(&app, &token, &q).await;
    assert_eq!(slots.as_array().unwrap().len(), 0);
    let q2 = format!("/api/v1/slots?service_id={}&from=2026-03-04&until=2026-03-04", f.service.id);
    assert_eq!(get_slots(&app, &token, &q2).await.1.as_array().unwrap().len(), 29);
    let (s, _) = post(
        &app,
        &admin,
        &format!("/api/v1/clinics/{}/closures", f.clinic.id),
        json!({"from": "2026-03-04", "reason": "Public holiday"}),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(get_slots(&app, &token, &q2).await.1.as_array().unwrap().len(), 0);
    // Replacement hours.
    let (s, _) = post(&app, &admin, &format!("/api/v1/providers/{}/availability/exceptions", f.provider.id), json!({"from": "2026-03-05", "kind": "hours", "clinic_id": f.clinic.id, "hours": [{"start": "13:00", "end": "15:00"}]})).await;
    assert_eq!(s, 201);
    let q3 = format!("/api/v1/slots?service_id={}&from=2026-03-05&until=2026-03-05", f.service.id);
    let (_, slots) = get_slots(&app, &token, &q3).await;
    let locals: Vec<&str> = slots.as_array().unwrap().iter().map(|s| s["local_start"].as_str().unwrap()).collect();
    assert_eq!(
        locals,
        [
            "2026-03-05T13:00 AEDT",
            "2026-03-05T13:15 AEDT",
            "2026-03-05T13:30 AEDT",
            "2026-03-05T13:45 AEDT",
            "2026-03-05T14:00 AEDT"
        ]
    );
    // The days view.
    let (_, days) =
        get(&app, &token, &format!("/api/v1/slots/days?service_id={}&from=2026-03-02&until=2026-03-08", f.service.id))
            .await;
    assert_eq!(days, json!(["2026-03-02", "2026-03-05", "2026-03-06"]));
}

#[tokio::test]
async fn slot_search_ranges_are_checked() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, token) = app.user_with_token(Role::Patient).await;
    let base = format!("/api/v1/slots?service_id={}", f.service.id);
    let (s, body) = get(&app, &token, &format!("{base}&from=2026-03-10&until=2026-03-01")).await;
    assert_eq!((s, body["errors"][0]["code"].as_str()), (422, Some("before_from")));
    let (s, body) = get(&app, &token, &format!("{base}&from=2026-03-01&until=2026-06-30")).await;
    assert_eq!((s, body["errors"][0]["code"].as_str()), (422, Some("range_too_long")));
    assert_eq!(get(&app, &token, &format!("{base}&from=2026-02-30")).await.0, 422, "no such date");
    assert_eq!(get(&app, &token, "/api/v1/slots?service_id=not-a-uuid").await.0, 422);
    // A missing parameter is named, like a missing field of a body.
    let (s, body) = get(&app, &token, "/api/v1/slots").await;
    assert_eq!((s, body["errors"][0]["field"].as_str()), (422, Some("service_id")), "{body}");
    assert_eq!(body["errors"][0]["code"], "required");
    assert_eq!(get(&app, &token, &format!("/api/v1/slots?service_id={}", uuid::Uuid::now_v7())).await.0, 422);
    let (s, _) = get(&app, &token, &format!("{base}&from=2026-03-01&until=2026-05-30")).await;
    assert_eq!(s, 200, "90 days is allowed");
}

#[tokio::test]
async fn slot_search_runs_a_constant_number_of_queries() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, token) = app.user_with_token(Role::Staff).await;
    // Four more providers with bookings, at a second clinic too.
    let other = app.clinic("Second", "Asia/Kolkata").await;
    for _ in 0..4 {
        let (_, p) = app.provider(&[f.clinic.id, other.id], &[f.service.id]).await;
        app.weekdays(&p, f.clinic.id, "09:00", "12:00").await;
        app.weekdays(&p, other.id, "09:00", "17:00").await;
        post(&app, &token, "/api/v1/appointments", json!({"service_id": f.service.id, "provider_id": p.id, "clinic_id": f.clinic.id, "start": tue("09:00"), "patient_id": f.patient.id})).await;
    }
    let count = |q: String| {
        let app = &app;
        let token = token.clone();
        async move {
            let before = app.db.read_count();
            let (s, body) = get_slots(app, &token, &q).await;
            assert_eq!(s, 200, "{body}");
            (app.db.read_count() - before, body.as_array().unwrap().len())
        }
    };
    let (one_day, n1) = count(format!(
        "/api/v1/slots?service_id={}&provider_id={}&from=2026-03-03&until=2026-03-03",
        f.service.id, f.provider.id
    ))
    .await;
    let (all_month, n2) =
        count(format!("/api/v1/slots?service_id={}&from=2026-03-02&until=2026-04-30", f.service.id)).await;
    assert!(n2 > 20 * n1, "the wide search finds many more slots ({n1} vs {n2})");
    assert_eq!(one_day, all_month, "the number of queries does not grow with providers or days");
    assert!(all_month <= 12, "{all_month} queries (session check included)");
}

#[tokio::test]
async fn first_available_searches_across_providers() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, token) = app.user_with_token(Role::Patient).await;
    let (_, early) = app.provider(&[f.clinic.id], &[f.service.id]).await;
    app.weekly(&early, f.clinic.id, "monday", "07:00", "08:00").await;
    // Now is Monday 09:00: today's early window is over, so next Monday 07:00 wins?
    // No: the fixture provider is free today from 09:00.
    let (s, slot) = get(&app, &token, &format!("/api/v1/slots/first-available?service_id={}", f.service.id)).await;
    assert_eq!(s, 200);
    assert_eq!(slot["provider_id"], json!(f.provider.id));
    assert_eq!(slot["local_start"], "2026-03-02T09:00 AEDT");
    let (_, slot) =
        get(&app, &token, &format!("/api/v1/slots/first-available?service_id={}&from=2026-03-09", f.service.id)).await;
    assert_eq!(slot["provider_id"], json!(early.id), "07:00 next Monday beats 09:00");
    assert_eq!(slot["local_start"], "2026-03-09T07:00 AEDT");
}

#[tokio::test]
async fn slot_search_is_correct_across_daylight_saving_changes() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token(Role::Staff).await;
    let service = app
        .service(praxis_services::catalog::ServiceInput {
            name: "Long horizon".into(),
            duration_minutes: Some(50),
            booking_horizon_days: Some(365),
            ..Default::default()
        })
        .await;
    let sydney = app.clinic("Sydney", "Australia/Sydney").await;
    let kolkata = app.clinic("Kolkata", "Asia/Kolkata").await;
    let (_, p) = app.provider(&[sydney.id], &[service.id]).await;
    app.weekly(&p, sydney.id, "sunday", "09:00", "10:00").await;
    let (_, k) = app.provider(&[kolkata.id], &[service.id]).await;
    app.weekly(&k, kolkata.id, "sunday", "09:00", "10:00").await;
    let first = |date: &str, provider: praxis_domain::ProviderId| {
        let q = format!("/api/v1/slots?service_id={}&provider_id={provider}&from={date}&until={date}", service.id);
        let app = &app;
        let token = token.clone();
        async move { get_slots(app, &token, &q).await.1[0]["start"].as_str().unwrap().to_string() }
    };
    // Sydney: daylight saving ends at 03:00 on 5 April 2026 (AEDT +11 → AEST +10).
    assert_eq!(first("2026-03-29", p.id).await, "2026-03-28T22:00:00Z");
    assert_eq!(first("2026-04-05", p.id).await, "2026-04-04T23:00:00Z", "09:00 stays 09:00 local after the change");
    // It starts again at 02:00 on 4 October 2026.
    assert_eq!(first("2026-10-04", p.id).await, "2026-10-03T22:00:00Z");
    // Kolkata has no daylight saving: always 03:30Z.
    for d in ["2026-03-29", "2026-04-05", "2026-10-04"] {
        assert_eq!(first(d, k.id).await, format!("{d}T03:30:00Z"));
    }
}

#[tokio::test]
async fn patients_book_for_themselves_with_a_hold_then_confirm() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let token = app.api_login(&f.patient_user).await;
    let mut body = booking(&f, &tue("11:00"));
    body["hold"] = json!(true);
    let (s, held) = post(&app, &token, "/api/v1/appointments", body).await;
    assert_eq!(s, 201, "{held}");
    assert_eq!(held["status"], "held");
    assert_eq!(held["participants"][0]["patient_id"], json!(f.patient.id));
    assert_eq!(held["held_until"], "2026-03-01T22:10:00Z", "held for ten minutes");
    assert!(held["number"].as_str().unwrap().starts_with("A-2026-"));
    // Someone else cannot take the held time.
    let (other, _) = app.patient_user().await;
    let other_token = app.api_login(&other).await;
    let (s, body) = post(&app, &other_token, "/api/v1/appointments", booking(&f, &tue("11:00"))).await;
    assert_eq!(s, 409);
    assert_eq!(body["type"], "urn:praxis:problem:slot_taken");
    assert_eq!(body["detail"], "This time was just taken. Please choose another time.");
    // Confirming the hold.
    let (s, done) =
        post(&app, &token, &format!("/api/v1/appointments/{}/confirm", held["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["status"], "confirmed");
    assert_eq!(done["local_start"], "2026-03-03T11:00 AEDT");
    // The patient sees it in their list; the other patient does not, nor by id.
    let (_, mine) = get(&app, &token, "/api/v1/appointments").await;
    assert_eq!(mine["total"], 1);
    let (_, theirs) = get(&app, &other_token, "/api/v1/appointments").await;
    assert_eq!(theirs["total"], 0);
    assert_eq!(get(&app, &other_token, &format!("/api/v1/appointments/{}", held["id"].as_str().unwrap())).await.0, 404);
}

#[tokio::test]
async fn a_lapsed_hold_frees_the_time() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let token = app.api_login(&f.patient_user).await;
    let mut body = booking(&f, &tue("11:00"));
    body["hold"] = json!(true);
    let (_, held) = post(&app, &token, "/api/v1/appointments", body).await;
    app.clock.advance(jiff::SignedDuration::from_mins(11));
    let (other, _) = app.patient_user().await;
    let other_token = app.api_login(&other).await;
    let (s, _) = post(&app, &other_token, "/api/v1/appointments", booking(&f, &tue("11:00"))).await;
    assert_eq!(s, 201, "the lapsed hold no longer blocks the time");
    let (s, body) =
        post(&app, &token, &format!("/api/v1/appointments/{}/confirm", held["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(s, 409);
    assert!(
        ["urn:praxis:problem:hold_expired", "urn:praxis:problem:illegal_transition"]
            .contains(&body["type"].as_str().unwrap()),
        "{body}"
    );
    let (_, h) = get(&app, &token, &format!("/api/v1/appointments/{}", held["id"].as_str().unwrap())).await;
    assert_eq!(h["status"], "expired");
}

#[tokio::test]
async fn bad_bookings_are_refused_with_a_reason_and_nothing_written() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let patient = app.api_login(&f.patient_user).await;
    let (before,): (i64,) = app.db.fetch_one(praxis_store::sql("SELECT COUNT(*) FROM appointments")).await.unwrap();
    let with = |start: &str| {
        let mut b = booking(&f, start);
        b["patient_id"] = json!(f.patient.id);
        b
    };
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("in the past", with("2026-03-01T21:00:00Z"), 422, "in_past"),
        ("outside hours", with(&tue("18:00")), 422, "outside_availability"),
        ("not on a working day", with("2026-03-07T23:00:00Z"), 422, "outside_availability"),
        ("overrunning the window", with(&tue("16:30")), 422, "outside_availability"),
        ("beyond the horizon", with("2026-07-07T00:00:00Z"), 422, "too_far_ahead"),
        ("no patient", booking(&f, &tue("11:00")), 422, "required"),
        (
            "unknown patient",
            {
                let mut b = booking(&f, &tue("11:00"));
                b["patient_id"] = json!(uuid::Uuid::now_v7());
                b
            },
            422,
            "unknown",
        ),
        ("missing fields", json!({"patient_id": f.patient.id}), 422, "required"),
    ];
    for (what, body, status, code) in cases {
        let (s, res) = post(&app, &staff, "/api/v1/appointments", body).await;
        assert_eq!(s, status, "{what}: {res}");
        assert_eq!(res["errors"][0]["code"], code, "{what}: {res}");
    }
    // A service the provider does not offer.
    let other = app.video_service().await;
    let mut b = with(&tue("11:00"));
    b["service_id"] = json!(other.id);
    let (s, res) = post(&app, &staff, "/api/v1/appointments", b).await;
    assert_eq!((s, res["errors"][0]["code"].as_str()), (422, Some("not_offered")));
    // Minimum notice.
    let noticed = app
        .service(praxis_services::catalog::ServiceInput {
            name: "Noticed".into(),
            duration_minutes: Some(30),
            min_notice_minutes: Some(24 * 60),
            ..Default::default()
        })
        .await;
    let admin = praxis_services::Actor::system("test");
    let mut input = praxis_services::catalog::ProviderInput {
        clinic_ids: vec![f.clinic.id],
        service_ids: vec![f.service.id, noticed.id],
        ..Default::default()
    };
    input.title = "x".into();
    app.svc.update_provider(&admin, f.provider.id, input).await.unwrap();
    let mut b = with("2026-03-02T03:00:00Z");
    b["service_id"] = json!(noticed.id);
    let (s, res) = post(&app, &staff, "/api/v1/appointments", b).await;
    assert_eq!((s, res["errors"][0]["code"].as_str()), (422, Some("too_soon")), "{res}");
    // A patient booking for someone else: 403, audited.
    let (_, someone) = app.patient_user().await;
    let mut b = booking(&f, &tue("11:00"));
    b["patient_id"] = json!(someone.id);
    assert_eq!(post(&app, &patient, "/api/v1/appointments", b).await.0, 403);
    let (denied,): (i64,) = app
        .db
        .fetch_one(praxis_store::sql("SELECT COUNT(*) FROM audit_log WHERE action = 'appointment.book_denied'"))
        .await
        .unwrap();
    assert_eq!(denied, 1);
    let (after,): (i64,) = app.db.fetch_one(praxis_store::sql("SELECT COUNT(*) FROM appointments")).await.unwrap();
    assert_eq!(before, after, "nothing was written");
}

#[tokio::test]
async fn idempotency_keys_make_retries_safe() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let token = app.api_login(&f.patient_user).await;
    let send = |body: Value, key: &str| {
        app.client()
            .post(app.url("/api/v1/appointments"))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let r1 = send(booking(&f, &tue("11:00")), "key-1").await.unwrap();
    assert_eq!(r1.status(), 201);
    let a1: Value = r1.json().await.unwrap();
    let r2 = send(booking(&f, &tue("11:00")), "key-1").await.unwrap();
    assert_eq!(r2.status(), 200);
    assert_eq!(r2.headers()["idempotent-replayed"], "true");
    let a2: Value = r2.json().await.unwrap();
    assert_eq!(a1["id"], a2["id"]);
    let r3 = send(booking(&f, &tue("12:00")), "key-1").await.unwrap();
    assert_eq!(r3.status(), 409);
    assert_eq!(r3.json::<Value>().await.unwrap()["type"], "urn:praxis:problem:idempotency_key_reused");
    let (n,): (i64,) = app.db.fetch_one(praxis_store::sql("SELECT COUNT(*) FROM appointments")).await.unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn the_workflow_allows_only_legal_steps_and_keeps_history() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let mut b = booking(&f, &tue("11:00"));
    b["patient_id"] = json!(f.patient.id);
    let (_, a) = post(&app, &staff, "/api/v1/appointments", b).await;
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(a["status"], "confirmed");
    let patient = app.api_login(&f.patient_user).await;
    assert_eq!(
        post(&app, &patient, &format!("/api/v1/appointments/{id}/check-in"), json!({})).await.0,
        403,
        "patients do not check themselves in"
    );
    let (s, body) = post(&app, &staff, &format!("/api/v1/appointments/{id}/complete"), json!({})).await;
    assert_eq!(s, 409);
    assert_eq!(body["detail"], "A confirmed appointment cannot be completed.");
    for (step, status) in [("check-in", "checked_in"), ("start", "in_progress"), ("complete", "completed")] {
        let (s, body) = post(&app, &staff, &format!("/api/v1/appointments/{id}/{step}"), json!({})).await;
        assert_eq!(s, 200, "{step}: {body}");
        assert_eq!(body["status"], status);
    }
    let (s, _) = post(&app, &staff, &format!("/api/v1/appointments/{id}/cancel"), json!({"reason": "x"})).await;
    assert_eq!(s, 409);
    let (_, history) = get(&app, &staff, &format!("/api/v1/appointments/{id}/history")).await;
    let kinds: Vec<String> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| format!("{}:{}", h["kind"].as_str().unwrap(), h["to_status"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(kinds, ["created:confirmed", "status:checked_in", "status:in_progress", "status:completed"]);
    // Providers run the workflow for their own appointments only.
    let (_, other) = app.provider(&[f.clinic.id], &[f.service.id]).await;
    app.weekdays(&other, f.clinic.id, "09:00", "17:00").await;
    let b2 = json!({"service_id": f.service.id, "provider_id": other.id, "clinic_id": f.clinic.id, "start": tue("11:00"), "patient_id": f.patient.id});
    let (_, a2) = post(&app, &staff, "/api/v1/appointments", b2).await;
    let mine = app.api_login(&f.provider_user).await;
    assert_eq!(
        post(&app, &mine, &format!("/api/v1/appointments/{}/check-in", a2["id"].as_str().unwrap()), json!({})).await.0,
        404
    );
    let audit: Vec<(String,)> = app
        .db
        .fetch_all(praxis_store::sql("SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY seq").bind(id.clone()))
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(actions, ["appointment.book", "appointment.check_in", "appointment.start", "appointment.complete"]);
}

#[tokio::test]
async fn cancellations_are_flagged_late_inside_the_window_and_free_the_time() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let patient = app.api_login(&f.patient_user).await;
    let (_, early) = post(&app, &patient, "/api/v1/appointments", booking(&f, &tue("09:00"))).await;
    let (_, later) = post(&app, &patient, "/api/v1/appointments", booking(&f, "2026-03-10T00:00:00Z")).await;
    // 24 hours' notice is required: tomorrow 09:00 is exactly 24 hours away; advance a bit.
    app.clock.advance(jiff::SignedDuration::from_mins(30));
    let (s, body) =
        post(&app, &patient, &format!("/api/v1/appointments/{}/cancel", early["id"].as_str().unwrap()), json!({}))
            .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body[0]["status"], "cancelled");
    assert_eq!(body[0]["late_cancellation"], true);
    assert_eq!(body[0]["cancel_reason"], "Cancelled by the patient");
    let (_, body) =
        post(&app, &patient, &format!("/api/v1/appointments/{}/cancel", later["id"].as_str().unwrap()), json!({}))
            .await;
    assert_eq!(body[0]["late_cancellation"], false);
    // The time is free again.
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let mut b = booking(&f, &tue("09:00"));
    b["patient_id"] = json!(f.patient.id);
    assert_eq!(post(&app, &staff, "/api/v1/appointments", b).await.0, 201);
    // Staff must give a reason.
    let (_, a) = post(&app, &patient, "/api/v1/appointments", booking(&f, &tue("13:00"))).await;
    let (s, body) = post(
        &app,
        &staff,
        &format!("/api/v1/appointments/{}/cancel", a["id"].as_str().unwrap()),
        json!({"reason": "  "}),
    )
    .await;
    assert_eq!((s, body["errors"][0]["field"].as_str()), (422, Some("reason")));
    // Patients cannot cancel once it has started.
    app.clock.set("2026-03-03T02:05:00Z".parse().unwrap());
    let patient = app.api_login(&f.patient_user).await;
    let (s, body) =
        post(&app, &patient, &format!("/api/v1/appointments/{}/cancel", a["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(s, 409, "{body}");
}

#[tokio::test]
async fn rescheduling_checks_the_new_time_and_keeps_the_old_one() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let patient = app.api_login(&f.patient_user).await;
    let (_, a) = post(&app, &patient, "/api/v1/appointments", booking(&f, &tue("11:00"))).await;
    let id = a["id"].as_str().unwrap().to_string();
    let (other, _) = app.patient_user().await;
    let other_token = app.api_login(&other).await;
    post(&app, &other_token, "/api/v1/appointments", booking(&f, &tue("14:00"))).await;
    let path = format!("/api/v1/appointments/{id}/reschedule");
    let (s, body) = post(&app, &patient, &path, json!({"start": tue("14:30")})).await;
    assert_eq!((s, body["type"].as_str()), (409, Some("urn:praxis:problem:slot_taken")), "{body}");
    let (s, _) = post(&app, &patient, &path, json!({"start": tue("19:00")})).await;
    assert_eq!(s, 422);
    let (s, _) = post(&app, &patient, &path, json!({})).await;
    assert_eq!(s, 422);
    let (s, body) = post(&app, &patient, &path, json!({"start": tue("11:30")})).await;
    assert_eq!(s, 200, "overlapping its own old time is fine: {body}");
    assert_eq!(body[0]["local_start"], "2026-03-03T11:30 AEDT");
    assert_eq!(body[0]["id"], json!(id));
    let (_, history) = get(&app, &patient, &format!("/api/v1/appointments/{id}/history")).await;
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "rescheduled");
    assert_eq!(last["from_start"], tue("11:00"));
    assert_eq!(last["to_start"], tue("11:30"));
    // The old time is free.
    let (_, slots) = get_slots(
        &app,
        &patient,
        &format!("/api/v1/slots?service_id={}&from=2026-03-03&until=2026-03-03", f.service.id),
    )
    .await;
    let starts: Vec<&str> = slots.as_array().unwrap().iter().map(|s| s["start"].as_str().unwrap()).collect();
    assert!(starts.contains(&tue("10:30").as_str()));
    assert!(!starts.contains(&tue("11:30").as_str()));
}

#[tokio::test]
async fn group_sessions_fill_up_to_capacity() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("Group room", "Australia/Sydney").await;
    let group = app.group_service(3).await;
    let (_, p) = app.provider(&[clinic.id], &[group.id]).await;
    app.weekly(&p, clinic.id, "tuesday", "18:00", "19:00").await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let body = |patient: &praxis_domain::PatientId| json!({"service_id": group.id, "provider_id": p.id, "clinic_id": clinic.id, "start": "2026-03-03T07:00:00Z", "patient_id": patient});
    let mut patients = Vec::new();
    for _ in 0..4 {
        patients.push(app.patient_user().await.1.id);
    }
    let (s, first) = post(&app, &staff, "/api/v1/appointments", body(&patients[0])).await;
    assert_eq!(s, 201);
    let (_, slots) =
        get_slots(&app, &staff, &format!("/api/v1/slots?service_id={}&from=2026-03-03&until=2026-03-03", group.id))
            .await;
    assert_eq!(slots[0]["remaining"], 2, "{slots}");
    assert_eq!(slots[0]["session_id"], first["id"]);
    let (s, dup) = post(&app, &staff, "/api/v1/appointments", body(&patients[0])).await;
    assert_eq!((s, dup["type"].as_str()), (409, Some("urn:praxis:problem:already_booked")));
    for p in &patients[1..3] {
        let (s, a) = post(&app, &staff, "/api/v1/appointments", body(p)).await;
        assert_eq!(s, 201);
        assert_eq!(a["id"], first["id"], "joins the same session");
    }
    let (s, full) = post(&app, &staff, "/api/v1/appointments", body(&patients[3])).await;
    assert_eq!((s, full["type"].as_str()), (409, Some("urn:praxis:problem:session_full")));
    let (_, a) = get(&app, &staff, &format!("/api/v1/appointments/{}", first["id"].as_str().unwrap())).await;
    assert_eq!(a["participants"].as_array().unwrap().len(), 3);
    let (_, slots) =
        get_slots(&app, &staff, &format!("/api/v1/slots?service_id={}&from=2026-03-03&until=2026-03-03", group.id))
            .await;
    assert_eq!(slots, json!([]), "a full session is not offered");
}

#[tokio::test]
async fn video_appointments_get_an_unguessable_room() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("Telehealth", "Australia/Sydney").await;
    let video = app.video_service().await;
    let (_, p) = app.provider(&[clinic.id], &[video.id]).await;
    app.weekdays(&p, clinic.id, "09:00", "17:00").await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let patient = app.patient_user().await.1;
    let mut urls = Vec::new();
    for t in ["09:00", "10:00"] {
        let (s, a) = post(&app, &staff, "/api/v1/appointments", json!({"service_id": video.id, "provider_id": p.id, "clinic_id": clinic.id, "start": tue(t), "patient_id": patient.id})).await;
        assert_eq!(s, 201);
        urls.push(a["video_url"].as_str().unwrap().to_string());
    }
    assert_ne!(urls[0], urls[1]);
    for u in &urls {
        let room = u.strip_prefix("https://meet.jit.si/praxis-").unwrap();
        assert_eq!(room.len(), 32, "128 random bits");
        assert!(room.chars().all(|c| c.is_ascii_hexdigit()));
    }
}

#[tokio::test]
async fn patients_do_not_see_why_a_provider_is_away() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    post(
        &app,
        &admin,
        &format!("/api/v1/providers/{}/availability/exceptions", f.provider.id),
        json!({"from": "2026-03-10", "kind": "closed", "reason": "Sick leave"}),
    )
    .await;
    let path = format!("/api/v1/providers/{}/availability", f.provider.id);
    let (_, staff_view) = get(&app, &admin, &path).await;
    assert_eq!(staff_view["exceptions"][0]["reason"], "Sick leave");
    let patient = app.api_login(&f.patient_user).await;
    let (_, patient_view) = get(&app, &patient, &path).await;
    assert_eq!(patient_view["exceptions"][0]["reason"], "");
}
