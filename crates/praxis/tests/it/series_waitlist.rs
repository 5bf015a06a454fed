//! Recurring series, the waiting list, and the provider's calendar feed.

use crate::scheduling_api::{get, post, tue};
use crate::*;
use praxis_domain::Role;
use serde_json::{Value, json};

fn series_body(f: &praxis_testkit::scheduling::Fixture, first: &str, extra: Value) -> Value {
    let mut b = json!({"service_id": f.service.id, "provider_id": f.provider.id, "clinic_id": f.clinic.id, "first_start": first, "patient_id": f.patient.id});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

/// A consultation service with a one-year booking horizon (series reach far ahead).
async fn long_fixture(app: &TestApp) -> praxis_testkit::scheduling::Fixture {
    let mut f = app.fixture().await;
    let admin = praxis_services::Actor::system("test");
    f.service = app
        .svc
        .update_service(
            &admin,
            f.service.id,
            praxis_services::catalog::ServiceInput {
                name: "Consultation".into(),
                duration_minutes: Some(50),
                buffer_after_minutes: Some(10),
                booking_horizon_days: Some(365),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    f
}

#[tokio::test]
async fn a_weekly_series_keeps_local_time_and_reports_each_conflict() {
    let app = TestApp::spawn().await;
    let f = long_fixture(&app).await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    // Someone already has Tuesday 17 March 10:00.
    let (_, other) = app.patient_user().await;
    let (s, _) = post(&app, &staff, "/api/v1/appointments", json!({"service_id": f.service.id, "provider_id": f.provider.id, "clinic_id": f.clinic.id, "start": "2026-03-16T23:00:00Z", "patient_id": other.id})).await;
    assert_eq!(s, 201);
    let (s, problem) = post(&app, &staff, "/api/v1/series", series_body(&f, &tue("10:00"), json!({"count": 6}))).await;
    assert_eq!(s, 409, "{problem}");
    assert_eq!(problem["type"], "urn:praxis:problem:series_conflict");
    let occ = problem["occurrences"].as_array().unwrap();
    assert_eq!(occ.len(), 6);
    assert_eq!(occ[2]["outcome"], "conflict");
    assert_eq!(occ[2]["reason_code"], "conflict");
    assert!(occ.iter().enumerate().all(|(i, o)| i == 2 || o["outcome"] == "free"));
    let (n,): (i64,) = app
        .db
        .fetch_one(praxis_store::sql("SELECT COUNT(*) FROM appointments WHERE series_id IS NOT NULL"))
        .await
        .unwrap();
    assert_eq!(n, 0, "all or nothing: nothing was booked");

    let (s, report) = post(
        &app,
        &staff,
        "/api/v1/series",
        series_body(&f, &tue("10:00"), json!({"count": 6, "mode": "book_what_is_free"})),
    )
    .await;
    assert_eq!(s, 201, "{report}");
    assert_eq!((report["booked"].as_i64(), report["conflicts"].as_i64()), (Some(5), Some(1)));
    let locals: Vec<&str> =
        report["occurrences"].as_array().unwrap().iter().map(|o| o["local_start"].as_str().unwrap()).collect();
    // Daylight saving ends on 5 April: 10:00 stays 10:00, the offset changes.
    assert_eq!(
        locals,
        [
            "2026-03-03T10:00 AEDT",
            "2026-03-10T10:00 AEDT",
            "2026-03-17T10:00 AEDT",
            "2026-03-24T10:00 AEDT",
            "2026-03-31T10:00 AEDT",
            "2026-04-07T10:00 AEST"
        ]
    );
    assert_eq!(report["occurrences"][5]["start"], "2026-04-07T00:00:00Z");
    let series = report["series_id"].as_str().unwrap().to_string();
    let (_, list) = get(&app, &staff, &format!("/api/v1/appointments?series_id={series}")).await;
    assert_eq!(list["total"], 5);
}

#[tokio::test]
async fn series_rules_are_validated() {
    let app = TestApp::spawn().await;
    let f = long_fixture(&app).await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    for (extra, field) in [
        (json!({}), "count"),
        (json!({"count": 3, "until": "2026-05-01"}), "count"),
        (json!({"count": 0}), "count"),
        (json!({"count": 500}), "count"),
        (json!({"count": 3, "every_weeks": 0}), "every_weeks"),
        (json!({"until": "2030-01-01"}), "until"),
        (json!({"until": "2026-01-01"}), "until"),
    ] {
        let (s, body) = post(&app, &staff, "/api/v1/series", series_body(&f, &tue("10:00"), extra.clone())).await;
        assert_eq!(s, 422, "{extra}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{extra}: {body}");
    }
    // Every two weeks until a date.
    let (s, report) = post(
        &app,
        &staff,
        "/api/v1/series",
        series_body(&f, &tue("15:00"), json!({"every_weeks": 2, "until": "2026-04-14"})),
    )
    .await;
    assert_eq!(s, 201, "{report}");
    assert_eq!(report["booked"], 4, "3, 17, 31 March and 14 April");
}

#[tokio::test]
async fn cancel_or_move_this_following_or_all_occurrences() {
    let app = TestApp::spawn().await;
    let f = long_fixture(&app).await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (_, report) = post(&app, &staff, "/api/v1/series", series_body(&f, &tue("10:00"), json!({"count": 6}))).await;
    let ids: Vec<String> = report["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["appointment_id"].as_str().unwrap().to_string())
        .collect();
    // Move one occurrence only.
    let (s, moved) = post(
        &app,
        &staff,
        &format!("/api/v1/appointments/{}/reschedule", ids[1]),
        json!({"start": "2026-03-10T01:00:00Z"}),
    )
    .await;
    assert_eq!(s, 200, "{moved}");
    assert_eq!(moved.as_array().unwrap().len(), 1);
    assert_eq!(moved[0]["local_start"], "2026-03-10T12:00 AEDT");
    // Cancel this and following from the fourth.
    let (s, cancelled) = post(
        &app,
        &staff,
        &format!("/api/v1/appointments/{}/cancel", ids[3]),
        json!({"reason": "Course ends early", "scope": "following"}),
    )
    .await;
    assert_eq!(s, 200, "{cancelled}");
    assert_eq!(cancelled.as_array().unwrap().len(), 3);
    assert!(cancelled.as_array().unwrap().iter().all(|a| a["status"] == "cancelled"));
    // Move all remaining to Wednesdays at 14:00 (each shifted one day, new time of day).
    let (s, moved) = post(
        &app,
        &staff,
        &format!("/api/v1/appointments/{}/reschedule", ids[0]),
        json!({"start": "2026-03-04T03:00:00Z", "scope": "all"}),
    )
    .await;
    assert_eq!(s, 200, "{moved}");
    let locals: Vec<&str> = moved.as_array().unwrap().iter().map(|a| a["local_start"].as_str().unwrap()).collect();
    assert_eq!(locals, ["2026-03-04T14:00 AEDT", "2026-03-11T14:00 AEDT", "2026-03-18T14:00 AEDT"]);
    // A move that does not fit anywhere changes nothing.
    let (_, other) = app.patient_user().await;
    post(&app, &staff, "/api/v1/appointments", json!({"service_id": f.service.id, "provider_id": f.provider.id, "clinic_id": f.clinic.id, "start": "2026-03-19T05:00:00Z", "patient_id": other.id})).await;
    let (s, problem) = post(
        &app,
        &staff,
        &format!("/api/v1/appointments/{}/reschedule", ids[0]),
        json!({"start": "2026-03-05T05:00:00Z", "scope": "all"}),
    )
    .await;
    assert_eq!(s, 409, "{problem}");
    assert_eq!(problem["type"], "urn:praxis:problem:series_conflict");
    let (_, a) = get(&app, &staff, &format!("/api/v1/appointments/{}", ids[0])).await;
    assert_eq!(a["local_start"], "2026-03-04T14:00 AEDT", "all or nothing");
}

async fn join(app: &TestApp, token: &str, f: &praxis_testkit::scheduling::Fixture, preferred: Value) -> Value {
    let (s, e) =
        post(app, token, "/api/v1/waitlist", json!({"service_id": f.service.id, "preferred": preferred})).await;
    assert_eq!(s, 201, "{e}");
    e
}

#[tokio::test]
async fn freed_time_is_offered_to_the_first_matching_patient_who_can_accept_it() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let owner = app.api_login(&f.patient_user).await;
    let (_, booked) =
        post(&app, &owner, "/api/v1/appointments", crate::scheduling_api::booking(&f, &tue("10:00"))).await;
    let (wed_user, _) = app.patient_user().await;
    let wed = app.api_login(&wed_user).await;
    join(&app, &wed, &f, json!([{"weekday": "wednesday", "start": "09:00", "end": "17:00"}])).await;
    let (tue_user, tue_patient) = app.patient_user().await;
    let tuesday = app.api_login(&tue_user).await;
    let entry = join(&app, &tuesday, &f, json!([{"weekday": "tuesday", "start": "09:00", "end": "12:00"}])).await;
    assert_eq!(entry["status"], "waiting");
    let (_, later_user) = app.patient_user().await;
    let _ = later_user;

    let (s, _) =
        post(&app, &owner, &format!("/api/v1/appointments/{}/cancel", booked["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(get(&app, &wed, "/api/v1/waitlist/offers").await.1, json!([]), "Wednesday-only does not match");
    let (_, offers) = get(&app, &tuesday, "/api/v1/waitlist/offers").await;
    let offer = &offers[0];
    assert_eq!(offer["status"], "pending");
    assert_eq!(offer["appointment"]["status"], "held");
    assert_eq!(offer["appointment"]["start"], tue("10:00"));
    assert_eq!(offer["appointment"]["participants"][0]["patient_id"], json!(tue_patient.id));
    assert_eq!(offer["expires_at"], "2026-03-02T02:00:00Z", "four hours to answer");
    // While offered, nobody else can take the time.
    let (s, _) = post(&app, &owner, "/api/v1/appointments", crate::scheduling_api::booking(&f, &tue("10:00"))).await;
    assert_eq!(s, 409);
    let (s, accepted) =
        post(&app, &tuesday, &format!("/api/v1/waitlist/offers/{}/accept", offer["id"].as_str().unwrap()), json!({}))
            .await;
    assert_eq!(s, 200, "{accepted}");
    assert_eq!(accepted["status"], "confirmed");
    let (_, entries) = get(&app, &tuesday, "/api/v1/waitlist").await;
    assert_eq!(entries["items"][0]["status"], "booked");
    let (s, _) =
        post(&app, &tuesday, &format!("/api/v1/waitlist/offers/{}/accept", offer["id"].as_str().unwrap()), json!({}))
            .await;
    assert_eq!(s, 409, "an offer is answered once");
}

#[tokio::test]
async fn an_offer_not_taken_in_time_passes_to_the_next_patient() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let owner = app.api_login(&f.patient_user).await;
    let (_, booked) =
        post(&app, &owner, "/api/v1/appointments", crate::scheduling_api::booking(&f, "2026-03-09T23:00:00Z")).await;
    let (first_user, _) = app.patient_user().await;
    let first = app.api_login(&first_user).await;
    join(&app, &first, &f, json!([])).await;
    let (second_user, second_patient) = app.patient_user().await;
    let second = app.api_login(&second_user).await;
    join(&app, &second, &f, json!([])).await;
    let (third_user, _) = app.patient_user().await;
    let third = app.api_login(&third_user).await;
    join(&app, &third, &f, json!([])).await;
    post(&app, &owner, &format!("/api/v1/appointments/{}/cancel", booked["id"].as_str().unwrap()), json!({})).await;
    let (_, offers) = get(&app, &first, "/api/v1/waitlist/offers").await;
    assert_eq!(offers[0]["status"], "pending");
    // Four hours pass without an answer.
    app.clock.advance(jiff::SignedDuration::from_hours(4) + jiff::SignedDuration::from_mins(1));
    app.svc.run_housekeeping().await.unwrap();
    let first = app.api_login(&first_user).await;
    let second = app.api_login(&second_user).await;
    let third = app.api_login(&third_user).await;
    let (_, offers) = get(&app, &first, "/api/v1/waitlist/offers").await;
    assert_eq!(offers[0]["status"], "expired");
    let (_, entries) = get(&app, &first, "/api/v1/waitlist").await;
    assert_eq!(entries["items"][0]["status"], "waiting", "still on the list for the next opening");
    let (_, offers) = get(&app, &second, "/api/v1/waitlist/offers").await;
    assert_eq!(offers[0]["status"], "pending", "{offers}");
    assert_eq!(offers[0]["appointment"]["participants"][0]["patient_id"], json!(second_patient.id));
    // Declining passes it on too.
    let (s, declined) = post(
        &app,
        &second,
        &format!("/api/v1/waitlist/offers/{}/decline", offers[0]["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{declined}");
    assert_eq!(declined["status"], "declined");
    let (_, offers) = get(&app, &third, "/api/v1/waitlist/offers").await;
    assert_eq!(offers[0]["status"], "pending");
    // Leaving the list withdraws a pending offer.
    let (_, entries) = get(&app, &third, "/api/v1/waitlist").await;
    let (s, left) = app
        .client()
        .delete(app.url(&format!("/api/v1/waitlist/{}", entries["items"][0]["id"].as_str().unwrap())))
        .bearer_auth(&third)
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(s, 200);
    let _ = left;
    let (_, offers) = get(&app, &third, "/api/v1/waitlist/offers").await;
    assert_eq!(offers[0]["status"], "declined");
}

#[tokio::test]
async fn waitlist_input_is_validated_and_private() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let token = app.api_login(&f.patient_user).await;
    let (s, body) = post(&app, &token, "/api/v1/waitlist", json!({"service_id": f.service.id, "preferred": [{"weekday": "someday", "start": "25:00", "end": "09:00"}], "from": "2026-05-01", "until": "2026-04-01"})).await;
    assert_eq!(s, 422, "{body}");
    let (_, other) = app.patient_user().await;
    let (s, _) =
        post(&app, &token, "/api/v1/waitlist", json!({"service_id": f.service.id, "patient_id": other.id})).await;
    assert_eq!(s, 403, "patients join only for themselves");
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (s, e) =
        post(&app, &staff, "/api/v1/waitlist", json!({"service_id": f.service.id, "patient_id": other.id})).await;
    assert_eq!(s, 201);
    let del = app
        .client()
        .delete(app.url(&format!("/api/v1/waitlist/{}", e["id"].as_str().unwrap())))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 404, "someone else's entry is invisible");
    let (_, mine) = get(&app, &token, "/api/v1/waitlist").await;
    assert_eq!(mine["total"], 0);
    let (_, all) = get(&app, &staff, "/api/v1/waitlist").await;
    assert_eq!(all["total"], 1);
}

/// Runs the independent Python check (the `icalendar` package) on an .ics document.
fn python_check(ics: &str) -> Option<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/check_ics.py");
    let out = praxis_testkit::python_check("icalendar", script, &["--strict"], ics.as_bytes())?;
    Some(serde_json::from_slice(&out).unwrap())
}

#[tokio::test]
async fn providers_subscribe_to_a_secret_calendar_feed() {
    let app = TestApp::spawn().await;
    let f = long_fixture(&app).await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let mut ids = Vec::new();
    for start in ["2026-03-02T23:00:00Z", "2026-04-06T23:00:00Z", "2026-04-07T00:00:00Z"] {
        let (s, a) = post(&app, &staff, "/api/v1/appointments", json!({"service_id": f.service.id, "provider_id": f.provider.id, "clinic_id": f.clinic.id, "start": start, "patient_id": f.patient.id})).await;
        assert_eq!(s, 201, "{a}");
        ids.push(a["id"].as_str().unwrap().to_string());
    }
    post(&app, &staff, &format!("/api/v1/appointments/{}/cancel", ids[1]), json!({"reason": "Unwell"})).await;
    assert_eq!(
        post(&app, &staff, &format!("/api/v1/providers/{}/calendar-feed", f.provider.id), json!({})).await.0,
        403,
        "staff cannot issue a provider's feed"
    );
    let provider = app.api_login(&f.provider_user).await;
    let (s, link) =
        post(&app, &provider, &format!("/api/v1/providers/{}/calendar-feed", f.provider.id), json!({})).await;
    assert_eq!(s, 200);
    let url = link["url"].as_str().unwrap();
    let path = &url[url.find("/ical/").unwrap()..];
    let res = app.client().get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
    let ics = res.text().await.unwrap();
    assert!(ics.contains("BEGIN:VTIMEZONE\r\nTZID:Australia/Sydney"));
    assert!(!ics.contains(&f.patient.family_name), "patients appear by first name and initial only");
    if let Some(events) = python_check(&ics) {
        let events = events.as_array().unwrap();
        assert_eq!(events.len(), 3);
        let by_uid = |id: &str| events.iter().find(|e| e["uid"] == format!("{id}@praxis")).unwrap().clone();
        assert_eq!(by_uid(&ids[0])["start_utc"], "2026-03-02T23:00:00Z");
        assert_eq!(by_uid(&ids[0])["tzid"], "Australia/Sydney");
        assert_eq!(by_uid(&ids[1])["status"], "CANCELLED");
        assert_eq!(
            by_uid(&ids[2])["start_utc"],
            "2026-04-07T00:00:00Z",
            "after the DST change, via the embedded VTIMEZONE"
        );
    }
    // A new address replaces the old; a wrong one is simply not found.
    post(&app, &provider, &format!("/api/v1/providers/{}/calendar-feed", f.provider.id), json!({})).await;
    assert_eq!(app.client().get(app.url(path)).send().await.unwrap().status(), 404);
    assert_eq!(app.client().get(app.url("/ical/pxf_guess.ics")).send().await.unwrap().status(), 404);
}
