//! The patient portal as a patient uses it: register, book through the steps, see,
//! cancel and move appointments, and the waiting list. Also the dashboard.

use crate::scheduling_api::tue;
use crate::*;
use praxis_domain::Role;

/// Pulls `name="start" value="…"` values out of a time page.
fn slot_starts(html: &str) -> Vec<String> {
    html.match_indices("name=\"start\" value=\"")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_new_patient_registers_and_books_in_a_few_steps() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let b = Browser::anonymous(&app);
    let (s, _, body) = b
        .post_form(
            "/register",
            "/register",
            &[
                ("given_name", "Ada"),
                ("family_name", "Lovelace"),
                ("email", "ada@example.org"),
                ("date_of_birth", "2030-01-01"),
                ("password", "analytical engine"),
                ("confirm_password", "analytical engine"),
            ],
        )
        .await;
    assert_eq!(s, 422, "a birth date in the future is refused");
    assert!(body.contains("A date of birth cannot be in the future.") && body.contains("value=\"Lovelace\""));
    let (s, location, _) = b
        .post_form(
            "/register",
            "/register",
            &[
                ("given_name", "Ada"),
                ("family_name", "Lovelace"),
                ("email", "ada@example.org"),
                ("phone", "0412 345 678"),
                ("date_of_birth", "1990-12-10"),
                ("password", "analytical engine"),
                ("confirm_password", "analytical engine"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    assert_eq!(location.as_deref(), Some("/book?msg=welcome"));
    // Step 1: the service.
    let (_, page) = b.get("/book?msg=welcome").await;
    assert!(page.contains("Welcome!") && page.contains(&format!("/book/s/{}", f.service.id)));
    // Step 2: the clinician ("any" or a named one).
    let (_, page) = b.get(&format!("/book/s/{}", f.service.id)).await;
    assert!(page.contains("Any available clinician"));
    // Step 3: the time — days with free times are highlighted; the chosen day lists times.
    let (s, page) =
        b.get(&format!("/book/s/{}/time?clinic={}&provider=any&day=2026-03-03", f.service.id, f.clinic.id)).await;
    assert_eq!(s, 200);
    assert!(page.contains("Times in Australia/Sydney"));
    assert!(page.contains("Morning") && page.contains("Afternoon"));
    assert!(page.contains("aria-label=\"2026-03-03, times available\""));
    assert!(page.contains("aria-label=\"2026-03-07, nothing free\""), "Saturday is muted");
    let starts = slot_starts(&page);
    assert_eq!(starts.first().map(String::as_str), Some(tue("09:00").as_str()));
    // Choosing a time holds it.
    let time_page = format!("/book/s/{}/time?clinic={}&provider=any&day=2026-03-03", f.service.id, f.clinic.id);
    let (s, location, _) = b
        .post_form(
            &time_page,
            "/book/hold",
            &[
                ("service", &f.service.id.to_string()),
                ("clinic", &f.clinic.id.to_string()),
                ("provider", &f.provider.id.to_string()),
                ("start", &tue("10:00")),
                ("chosen", "any"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let confirm = location.unwrap();
    // Step 4: details, with the hold's end.
    let (_, page) = b.get(&confirm).await;
    assert!(page.contains("We are holding this time for you until <strong>09:10</strong>"), "{page}");
    assert!(page.contains("Tuesday 3 March 2026, 10:00–10:50"));
    let (s, location, _) = b.post_form(&confirm, &confirm, &[]).await;
    assert_eq!(s, 303);
    // Step 5: done — time in the clinic's zone, where, how to cancel, add to calendar.
    let (_, page) = b.get(location.as_deref().unwrap()).await;
    assert!(page.contains("You are booked in") && page.contains("Confirmed"));
    assert!(page.contains("Harbour Clinic") && page.contains("calendar.ics"));
    assert!(page.contains("Please cancel or change at least 24 hours ahead"));
    let id = location.unwrap().split('/').nth(3).unwrap().split('?').next().unwrap().to_string();
    let ics = b.client.get(app.url(&format!("/my/appointments/{id}/calendar.ics"))).send().await.unwrap();
    assert_eq!(ics.status(), 200);
    let ics = ics.text().await.unwrap();
    assert!(ics.contains("METHOD:PUBLISH") && ics.contains("DTSTART;TZID=Australia/Sydney:20260303T100000"));
    let (_, page) = b.get("/my/appointments").await;
    assert!(page.contains("Upcoming") && page.contains("Tuesday 3 March 2026, 10:00–10:50"));
}

#[tokio::test]
async fn a_time_taken_meanwhile_gets_a_friendly_message_and_fresh_times() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let first = app.browser_login(&f.patient_user).await;
    let (other, _) = app.patient_user().await;
    let second = app.browser_login(&other).await;
    let time_page =
        format!("/book/s/{}/time?clinic={}&provider={}&day=2026-03-03", f.service.id, f.clinic.id, f.provider.id);
    let fields = |start: &str| {
        vec![
            ("service", f.service.id.to_string()),
            ("clinic", f.clinic.id.to_string()),
            ("provider", f.provider.id.to_string()),
            ("start", start.to_string()),
            ("chosen", f.provider.id.to_string()),
        ]
    };
    let owned: Vec<(String, String)> = fields(&tue("11:00")).into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let as_refs: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (s, _, _) = first.post_form(&time_page, "/book/hold", &as_refs).await;
    assert_eq!(s, 303);
    let (s, _, page) = second.post_form(&time_page, "/book/hold", &as_refs).await;
    assert_eq!(s, 409);
    assert!(page.contains("this time was just taken"), "{page}");
    assert!(!page.contains("Something went wrong"));
    let starts = slot_starts(&page);
    assert!(!starts.contains(&tue("11:00")), "the refreshed list no longer offers it");
    assert!(starts.contains(&tue("12:00")));
}

#[tokio::test]
async fn patients_cancel_with_a_late_warning_and_move_appointments() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let token = app.api_login(&f.patient_user).await;
    // Today 10:00, an hour from now: inside the 24-hour window.
    let (_, soon) = crate::scheduling_api::post(
        &app,
        &token,
        "/api/v1/appointments",
        crate::scheduling_api::booking(&f, "2026-03-01T23:00:00Z"),
    )
    .await;
    let (_, later) = crate::scheduling_api::post(
        &app,
        &token,
        "/api/v1/appointments",
        crate::scheduling_api::booking(&f, "2026-03-12T00:00:00Z"),
    )
    .await;
    let b = app.browser_login(&f.patient_user).await;
    let soon_id = soon["id"].as_str().unwrap();
    let (_, page) = b.get(&format!("/my/appointments/{soon_id}/cancel")).await;
    assert!(page.contains("This is a late cancellation."), "less than 24 hours ahead");
    let later_id = later["id"].as_str().unwrap();
    let (_, page) = b.get(&format!("/my/appointments/{later_id}/cancel")).await;
    assert!(!page.contains("This is a late cancellation."));
    let (s, location, _) = b
        .post_form(
            &format!("/my/appointments/{soon_id}/cancel"),
            &format!("/my/appointments/{soon_id}/cancel"),
            &[("reason", "Feeling better")],
        )
        .await;
    assert_eq!((s, location.as_deref()), (303, Some("/my/appointments?msg=cancelled")));
    let (_, page) = b.get("/my/appointments").await;
    assert!(page.contains("Late cancellation"));
    // Move the later one to another free time.
    let (_, page) = b.get(&format!("/my/appointments/{later_id}/reschedule?month=2026-03&day=2026-03-13")).await;
    let starts = slot_starts(&page);
    assert!(!starts.is_empty());
    let (s, location, _) = b
        .post_form(
            &format!("/my/appointments/{later_id}/reschedule"),
            &format!("/my/appointments/{later_id}/reschedule"),
            &[("start", &starts[2])],
        )
        .await;
    assert_eq!((s, location.as_deref()), (303, Some("/my/appointments?msg=moved")));
    let (_, a) = crate::scheduling_api::get(&app, &token, &format!("/api/v1/appointments/{later_id}")).await;
    assert_eq!(a["start"], starts[2].as_str());
}

#[tokio::test]
async fn tampered_portal_forms_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let b = app.browser_login(&f.patient_user).await;
    let (other_user, other) = app.patient_user().await;
    let other_token = app.api_login(&other_user).await;
    let (_, theirs) = crate::scheduling_api::post(
        &app,
        &other_token,
        "/api/v1/appointments",
        crate::scheduling_api::booking(&f, &tue("13:00")),
    )
    .await;
    let theirs = theirs["id"].as_str().unwrap().to_string();
    let (before,): (i64,) = app.db.fetch_one(praxis_store::sql("SELECT COUNT(*) FROM appointments")).await.unwrap();
    // Someone else's appointment: not found, not cancelled.
    let (s, _, _) = b.post_form("/my/appointments", &format!("/my/appointments/{theirs}/cancel"), &[]).await;
    assert_eq!(s, 404);
    let (s, _) = b.get(&format!("/my/appointments/{theirs}")).await;
    assert_eq!(s, 404);
    // A past time, and a service the provider does not offer.
    let time_page = format!("/book/s/{}/time?clinic={}&provider=any", f.service.id, f.clinic.id);
    let (s, _, page) = b
        .post_form(
            &time_page,
            "/book/hold",
            &[
                ("service", &f.service.id.to_string()),
                ("clinic", &f.clinic.id.to_string()),
                ("provider", &f.provider.id.to_string()),
                ("start", "2026-03-01T20:00:00Z"),
            ],
        )
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("That time has already passed."));
    let video = app.video_service().await;
    let (s, _, _) = b
        .post_form(
            &time_page,
            "/book/hold",
            &[
                ("service", &video.id.to_string()),
                ("clinic", &f.clinic.id.to_string()),
                ("provider", &f.provider.id.to_string()),
                ("start", &tue("10:00")),
            ],
        )
        .await;
    assert_eq!(s, 422);
    // A forged CSRF token.
    let res = b
        .client
        .post(app.url("/book/hold"))
        .form(&[
            ("service", f.service.id.to_string()),
            ("clinic", f.clinic.id.to_string()),
            ("provider", f.provider.id.to_string()),
            ("start", tue("10:00")),
            ("_csrf", "forged".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let (after,): (i64,) = app.db.fetch_one(praxis_store::sql("SELECT COUNT(*) FROM appointments")).await.unwrap();
    assert_eq!(before, after);
    // Each attempt is on the audit record.
    let refused: Vec<(String,)> = app
        .db
        .fetch_all(praxis_store::sql("SELECT summary FROM audit_log WHERE action IN ('appointment.book_refused', 'security.csrf_rejected') ORDER BY seq"))
        .await
        .unwrap();
    let refused: Vec<&str> = refused.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused[0].contains("start in_past"), "{refused:?}");
    assert!(refused[1].contains("service_id not_offered"), "{refused:?}");
    assert!(refused[2].contains("CSRF"), "{refused:?}");
    let _ = other;
}

#[tokio::test]
async fn patients_join_the_waiting_list_and_take_an_offer() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (waiting_user, _) = app.patient_user().await;
    let b = app.browser_login(&waiting_user).await;
    let (s, _, page) = b
        .post_form(
            "/my/waitlist/join",
            "/my/waitlist",
            &[("service", &f.service.id.to_string()), ("from", "2026-04-10"), ("until", "2026-04-01")],
        )
        .await;
    assert_eq!(s, 422, "{page}");
    let (s, location, _) = b
        .post_form(
            "/my/waitlist/join",
            "/my/waitlist",
            &[("service", &f.service.id.to_string()), ("days", "tuesday"), ("times", "morning")],
        )
        .await;
    assert_eq!((s, location.as_deref()), (303, Some("/my/waitlist?msg=joined")));
    let token = app.api_login(&f.patient_user).await;
    let (_, a) = crate::scheduling_api::post(
        &app,
        &token,
        "/api/v1/appointments",
        crate::scheduling_api::booking(&f, &tue("10:00")),
    )
    .await;
    crate::scheduling_api::post(
        &app,
        &token,
        &format!("/api/v1/appointments/{}/cancel", a["id"].as_str().unwrap()),
        serde_json::json!({}),
    )
    .await;
    let (_, page) = b.get("/my/waitlist").await;
    assert!(page.contains("Take this time") && page.contains("Tuesday 3 March 2026, 10:00–10:50"), "{page}");
    let offer = page.split("/my/offers/").nth(1).unwrap().split('/').next().unwrap().to_string();
    let (s, location, _) = b.post_form("/my/waitlist", &format!("/my/offers/{offer}/accept"), &[]).await;
    assert_eq!(s, 303);
    let (_, page) = b.get(location.as_deref().unwrap()).await;
    assert!(page.contains("You are booked in"));
}

#[tokio::test]
async fn the_dashboard_shows_today_rates_and_charts_for_staff_only() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, staff_token) = app.user_with_token(Role::Staff).await;
    let admin = praxis_services::Actor::system("test");
    // Yesterday's history: one attended, one no-show (booked while it was still ahead).
    app.clock.set("2026-02-25T21:00:00Z".parse().unwrap());
    let mut ids = Vec::new();
    for start in ["2026-02-26T22:00:00Z", "2026-02-26T23:00:00Z"] {
        let req = praxis_services::scheduling::BookingRequest {
            service_id: Some(f.service.id),
            provider_id: Some(f.provider.id),
            clinic_id: Some(f.clinic.id),
            start: Some(start.parse().unwrap()),
            patient_id: Some(f.patient.id),
            ..Default::default()
        };
        ids.push(app.svc.book(&admin, req, None).await.unwrap().appointment.id);
    }
    app.clock.set("2026-02-27T01:00:00Z".parse().unwrap());
    use praxis_domain::AppointmentAction as A;
    for action in [A::CheckIn, A::Start, A::Complete] {
        app.svc.transition(&admin, ids[0], action).await.unwrap();
    }
    app.svc.transition(&admin, ids[1], A::MarkNoShow).await.unwrap();
    app.clock.set(default_start());
    crate::scheduling_api::post(&app, &staff_token, "/api/v1/appointments", serde_json::json!({"service_id": f.service.id, "provider_id": f.provider.id, "clinic_id": f.clinic.id, "start": "2026-03-02T00:00:00Z", "patient_id": f.patient.id})).await;
    let staff = app.browser_login(&app.create_user(&[Role::Staff]).await).await;
    let (s, page) = staff.get(&format!("/dashboard?clinic={}", f.clinic.id)).await;
    assert_eq!(s, 200);
    assert_eq!(page.matches("<svg class=\"chart\"").count(), 3, "three charts");
    assert!(page.contains("No appointments today") || page.contains(&f.patient.given_name));
    assert!(page.contains("50.0 %"), "one of two due appointments was a no-show");
    assert!(page.contains("Appointments today"));
    assert!(page.len() < 100 * 1024);
    let patient = app.browser_login(&f.patient_user).await;
    assert_eq!(patient.get("/dashboard").await.0, 403);
}

#[tokio::test]
async fn one_address_cannot_register_patients_without_end() {
    let app = TestApp::spawn().await;
    let b = Browser::anonymous(&app);
    let before = crate::patients::count(&app, "SELECT COUNT(*) FROM patients").await;
    // Every attempt counts, accepted or not: twenty are answered as usual…
    for _ in 0..20 {
        let (s, _, _) = b.post_form("/register", "/register", &[("given_name", "Bot")]).await;
        assert_eq!(s, 422);
    }
    // …then the address waits, told so on the form, and nothing is written.
    let (s, _, page) = b
        .post_form(
            "/register",
            "/register",
            &[
                ("given_name", "Real"),
                ("family_name", "Person"),
                ("email", "real.person@example.org"),
                ("password", "a long enough password"),
                ("confirm_password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(s, 429, "{page}");
    assert!(page.contains("Too many registrations came from your network") && page.contains("value=\"Person\""));
    assert_eq!(crate::patients::count(&app, "SELECT COUNT(*) FROM patients").await, before);
    assert_eq!(crate::patients::audited(&app, "patient.register_throttled").await.len(), 1);
}

#[tokio::test]
async fn booking_starts_at_one_clinic_with_its_own_services_and_prices() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await; // Harbour Clinic, Sydney: Consultation, AUD 120.00
    let lotus = app.clinic("Lotus Clinic", "Asia/Kolkata").await;
    let physio = app
        .service(praxis_services::catalog::ServiceInput {
            name: "Physiotherapy".into(),
            duration_minutes: Some(45),
            price_minor: Some(200_000),
            currency: Some("INR".into()),
            ..Default::default()
        })
        .await;
    let (_, therapist) = app.provider(&[lotus.id], &[physio.id]).await;
    app.weekdays(&therapist, lotus.id, "09:00", "17:00").await;
    let b = app.browser_login(&f.patient_user).await;

    // Never booked anywhere: the first step asks which clinic, and lists no service yet.
    let (s, page) = b.get("/book").await;
    assert_eq!(s, 200);
    assert!(page.contains("Which clinic would you like to visit?"), "{page}");
    assert!(
        page.contains(&format!("/book?clinic={}", f.clinic.id))
            && page.contains(&format!("/book?clinic={lotus}", lotus = lotus.id))
    );
    assert!(!page.contains("/book/s/"), "no service before a clinic is chosen");
    // An unknown or malformed clinic is as if none was named.
    for bad in ["nonsense", "00000000-0000-0000-0000-000000000000"] {
        let (s, page) = b.get(&format!("/book?clinic={bad}")).await;
        assert_eq!(s, 200);
        assert!(page.contains("Which clinic would you like to visit?"));
    }

    // At Lotus: only its service, in rupees as people write them.
    let (_, page) = b.get(&format!("/book?clinic={}", lotus.id)).await;
    assert!(page.contains("Physiotherapy") && page.contains("₹2,000.00"), "{page}");
    assert!(!page.contains("Consultation") && !page.contains("INR"), "{page}");
    assert!(page.contains(&format!("/book/s/{}?clinic={}", physio.id, lotus.id)));
    assert!(
        page.contains(&format!("/book?clinic={}\">Harbour Clinic", f.clinic.id)),
        "the other clinic is one click away"
    );
    // Step 2 keeps the clinic and leads back to it.
    let (_, page) = b.get(&format!("/book/s/{}?clinic={}", physio.id, lotus.id)).await;
    assert!(page.contains("Lotus Clinic") && !page.contains("Harbour Clinic"));
    assert!(page.contains(&format!("href=\"/book?clinic={}\"", lotus.id)));

    // Once booked at Harbour, booking starts there.
    crate::billing::book_at(&app, &f, &tue("10:00")).await;
    let (_, page) = b.get("/book").await;
    assert!(page.contains("At <strong>Harbour Clinic</strong>"), "{page}");
    assert!(page.contains("Consultation") && page.contains("$120.00") && !page.contains("Physiotherapy"));
    assert!(!page.contains("A$"), "one currency on the page: the everyday symbol");
}

#[tokio::test]
async fn prices_say_which_dollar_only_where_dollars_meet() {
    let app = TestApp::spawn().await;
    let _f = app.fixture().await; // Consultation, AUD 120.00
    let admin = app.browser_login(&app.create_user(&[Role::Admin]).await).await;
    let (_, page) = admin.get("/setup/services").await;
    assert!(page.contains("$120.00") && !page.contains("A$120.00") && !page.contains("AUD 120"), "{page}");
    let rupees = praxis_services::catalog::ServiceInput {
        name: "Yoga".into(),
        duration_minutes: Some(60),
        price_minor: Some(10_000_000),
        currency: Some("INR".into()),
        ..Default::default()
    };
    app.service(rupees).await;
    let (_, page) = admin.get("/setup/services").await;
    assert!(page.contains("₹1,00,000.00") && page.contains("$120.00") && !page.contains("A$"), "₹ and $ differ");
    let dollars = praxis_services::catalog::ServiceInput {
        name: "Telehealth (US)".into(),
        duration_minutes: Some(30),
        price_minor: Some(8_500),
        currency: Some("USD".into()),
        ..Default::default()
    };
    app.service(dollars).await;
    let (_, page) = admin.get("/setup/services").await;
    assert!(page.contains("A$120.00") && page.contains("US$85.00") && page.contains("₹1,00,000.00"), "{page}");
}
