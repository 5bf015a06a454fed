//! The reception and provider pages as people use them: the calendar (day and week), the
//! appointment panel and its actions, the new-appointment form (with series), the waiting
//! list, who sees what, and how heavy a busy week is.

use crate::scheduling_api::tue;
use crate::*;
use praxis_domain::{AppointmentId, ClinicId, PatientId, ProviderId, Role, ServiceId};
use praxis_services::Actor;
use praxis_services::catalog::ServiceInput;
use praxis_services::patients::NewPatient;
use praxis_services::scheduling::{AppointmentFilter, BookingRequest};
use praxis_services::users::PageRequest;
use praxis_testkit::scheduling::Fixture;

fn system() -> Actor {
    Actor::system("test")
}

/// Books directly through the services (no page involved).
async fn book(
    app: &TestApp,
    service: ServiceId,
    provider: ProviderId,
    clinic: ClinicId,
    patient: PatientId,
    start: &str,
) -> AppointmentId {
    let req = BookingRequest {
        service_id: Some(service),
        provider_id: Some(provider),
        clinic_id: Some(clinic),
        start: Some(start.parse().unwrap()),
        patient_id: Some(patient),
        ..BookingRequest::default()
    };
    app.svc.book(&system(), req, None).await.unwrap().appointment.id
}

async fn book_fixture(app: &TestApp, f: &Fixture, hhmm: &str) -> AppointmentId {
    book(app, f.service.id, f.provider.id, f.clinic.id, f.patient.id, &tue(hhmm)).await
}

async fn appointment_count(app: &TestApp) -> i64 {
    app.svc
        .list_appointments(&system(), AppointmentFilter::default(), PageRequest::new(None, None))
        .await
        .unwrap()
        .total
}

async fn staff(app: &TestApp) -> Browser {
    let u = app.create_user(&[Role::Staff]).await;
    app.browser_login(&u).await
}

async fn patient(app: &TestApp, given: &str, family: &str) -> PatientId {
    let p = NewPatient { given_name: given.into(), family_name: family.into(), ..NewPatient::default() };
    app.svc.create_patient(&system(), p).await.unwrap().id
}

fn day_url(f: &Fixture, date: &str) -> String {
    format!("/calendar?clinic={}&date={date}&view=day", f.clinic.id)
}

#[tokio::test]
async fn reception_sees_the_day_and_week_with_the_patient_and_a_status_chip() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    book_fixture(&app, &f, "10:00").await;
    let b = staff(&app).await;

    let (status, body) = b.get(&day_url(&f, "2026-03-03")).await;
    assert_eq!(status, 200);
    assert!(body.contains("Harbour Clinic · Tuesday 3 March 2026"), "the page says where and when");
    assert!(body.contains("Times in Australia/Sydney (AEDT)"), "the zone is stated");
    assert!(body.contains("Test Patient"), "the patient's name is on the block");
    assert!(body.contains("Consultation"), "and the service");
    assert!(body.contains("<span class=\"chip cal-info\">Confirmed</span>"), "a status chip in words");
    assert!(body.contains("10:00–10:50"));
    assert!(body.contains("rowspan=\"4\""), "50 minutes span four 15-minute rows");
    // Free time links to the new-appointment form, prefilled.
    let free =
        format!("href=\"/appointments/new?c={}&#38;p={}&#38;at=2026-03-03T11%3A00\"", f.clinic.id, f.provider.id);
    assert!(body.contains(&free), "free 11:00 cell links to the form");
    assert!(!body.contains("at=2026-03-03T10%3A15"), "no link inside the booked block");
    assert!(body.contains("<th scope=\"row\">08:00</th>") && body.contains("<th scope=\"row\">17:45</th>"));
    assert!(!body.contains(" style="), "no inline styles (CSP)");

    // Today (Monday 2 March, 09:00) by default, with the current-time marker.
    let (_, today) = b.get("/calendar").await;
    assert!(today.contains("Monday 2 March 2026"));
    assert!(today.contains("<tr class=\"now\"><th scope=\"row\">Now 09:00</th>"), "the marker row");

    // The week of one provider: a column per day, the appointment on Tuesday.
    let (status, week) = b.get(&format!("/calendar?date=2026-03-03&view=week&provider={}", f.provider.id)).await;
    assert_eq!(status, 200);
    assert!(week.contains("week of Mon 2 Mar 2026"));
    for d in ["Mon 2 Mar", "Tue 3 Mar", "Sun 8 Mar"] {
        assert!(week.contains(d), "{d}");
    }
    assert!(week.contains("Test Patient") && week.contains(">Confirmed</span>"));
    assert!(week.contains("Not working"), "the weekend is one labelled band");
    assert!(week.contains("view=week") && week.contains("date=2026-03-10"), "next week link");
    // The stylesheet and script the pages use are served.
    assert!(b.get("/static/app.css").await.1.contains(".cal td.f"));
    assert!(b.get("/static/staff.js").await.1.contains("/api/v1/patients"));
}

#[tokio::test]
async fn check_in_start_and_complete_from_the_detail_page() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let id = book_fixture(&app, &f, "10:00").await;
    let b = staff(&app).await;
    let detail = format!("/appointments/{id}?v=day&d=2026-03-03");
    let (status, body) = b.get(&detail).await;
    assert_eq!(status, 200);
    assert!(body.contains("Tuesday 3 March 2026, 10:00–10:50"));
    assert!(body.contains("Check in") && body.contains("Records that the patient has arrived."));
    assert!(body.contains("Mark as no-show") && body.contains("Cancel this appointment"));
    assert!(body.contains("Booked as confirmed"), "history");
    let back = [("v", "day"), ("d", "2026-03-03"), ("p", "")];
    for (action, shown) in [("check_in", "Checked in"), ("start", "In progress"), ("complete", "Completed")] {
        let mut fields = vec![("action", action)];
        fields.extend(back);
        let (status, location, _) = b.post_form(&detail, &format!("/appointments/{id}/status"), &fields).await;
        assert_eq!(status, 303, "{action}");
        let location = location.unwrap();
        assert!(location.starts_with(&format!("/calendar?clinic={}&date=2026-03-03&view=day&msg=", f.clinic.id)));
        assert!(location.ends_with(&format!("#a-{id}")), "back to the block: {location}");
        let (_, cal) = b.get(&location).await;
        assert!(cal.contains(&format!(">{shown}</span>")), "the calendar shows {shown}");
        assert!(cal.contains(&format!("id=\"a-{id}\"")));
    }
    let (_, body) = b.get(&detail).await;
    assert!(body.contains("Checked in → In progress") && body.contains("In progress → Completed"));
    assert!(!body.contains("Check in</button>"), "no more actions on a completed appointment");
    // An action no longer allowed is a friendly message on the panel, not an error page.
    let mut fields = vec![("action", "check_in")];
    fields.extend(back);
    let (status, _, body) = b.post_form(&detail, &format!("/appointments/{id}/status"), &fields).await;
    assert_eq!(status, 409);
    assert!(body.contains("A completed appointment cannot be checked in."));
    assert!(body.contains("<h2>History</h2>"), "the panel itself");
}

#[tokio::test]
async fn cancelling_without_a_reason_shows_the_error_beside_the_field() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let id = book_fixture(&app, &f, "10:00").await;
    let b = staff(&app).await;
    let detail = format!("/appointments/{id}?v=day&d=2026-03-03");
    let path = format!("/appointments/{id}/cancel");
    let (status, _, body) = b.post_form(&detail, &path, &[("reason", "  "), ("v", "day"), ("d", "2026-03-03")]).await;
    assert_eq!(status, 422);
    assert!(body.contains("<span class=\"error\" id=\"e-reason\">Give a reason for the cancellation.</span>"));
    assert!(body.contains("id=\"f-reason\" name=\"reason\" type=\"text\" value=\"  \" aria-invalid=\"true\""));
    assert_eq!(app.svc.get_appointment(&system(), id).await.unwrap().status.as_str(), "confirmed");
    let (status, location, _) =
        b.post_form(&detail, &path, &[("reason", "Patient unwell"), ("v", "day"), ("d", "2026-03-03")]).await;
    assert_eq!(status, 303);
    let (_, cal) = b.get(&location.unwrap()).await;
    assert!(cal.contains("The appointment was cancelled."));
    assert!(cal.contains("<h2>Cancelled</h2>") && cal.contains("<span class=\"chip bad\">Cancelled</span>"));
    assert!(!cal.contains(&format!("id=\"a-{id}\"")), "no longer a block on the grid");
    assert!(cal.contains("at=2026-03-03T10%3A00"), "its time is free again");
}

fn booking_fields<'a>(ids: &'a [String; 4], time: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("patient_id", ids[0].as_str()),
        ("service_id", ids[1].as_str()),
        ("provider_id", ids[2].as_str()),
        ("clinic_id", ids[3].as_str()),
        ("date", "2026-03-03"),
        ("time", time),
        ("do", "book"),
        ("note", ""),
        ("q", ""),
        ("mode", "all_or_nothing"),
    ]
}

fn ids(f: &Fixture, patient: PatientId) -> [String; 4] {
    [patient.to_string(), f.service.id.to_string(), f.provider.id.to_string(), f.clinic.id.to_string()]
}

#[tokio::test]
async fn booking_through_the_form_and_the_same_time_again_is_just_taken() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let other = patient(&app, "Alex", "Second").await;
    let b = staff(&app).await;

    // The link from a free cell prefills provider, clinic, date and time.
    let form = format!("/appointments/new?c={}&p={}&at=2026-03-03T11%3A00", f.clinic.id, f.provider.id);
    let (status, body) = b.get(&form).await;
    assert_eq!(status, 200);
    assert!(body.contains("value=\"2026-03-03\"") && body.contains("value=\"11:00\""));
    assert!(body.contains(&format!("<option value=\"{}\" selected>Test Provider</option>", f.provider.id)));
    assert!(body.contains("Consultation (50 min)</option>"), "the provider's service is chosen");
    assert!(body.contains("name=\"pick\" value=\"11:00\""), "the day's free times");
    assert!(body.contains("<script src=\"/static/staff.js\" defer></script>"));

    // Patient search reloads the form with matches to pick from, keeping what was chosen.
    let (status, _, body) = b
        .post_form(
            &form,
            "/appointments/new",
            &[
                ("q", "second"),
                ("do", "search"),
                ("provider_id", &f.provider.id.to_string()),
                ("clinic_id", &f.clinic.id.to_string()),
                ("date", "2026-03-03"),
                ("time", "11:00"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(body.contains(&format!("value=\"{other}\" checked> <span><b>Alex Second</b>")));
    assert!(body.contains("value=\"11:00\""), "the time typed is kept");
    // The same search as staff.js makes it, with the session cookie.
    let (status, json) = b.get("/api/v1/patients?q=second").await;
    assert_eq!(status, 200);
    assert!(json.contains("Second"));

    let before = appointment_count(&app).await;
    let first = ids(&f, f.patient.id);
    let (status, location, _) = b.post_form(&form, "/appointments/new", &booking_fields(&first, "11:00")).await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    let focus = location.split("&focus=").nth(1).and_then(|rest| rest.split_once("#a-")).unwrap();
    assert!(location.contains("date=2026-03-03&view=day&msg=booked&focus="), "{location}");
    assert_eq!(focus.0, focus.1, "the day view opens at the new appointment: {location}");
    assert_eq!(appointment_count(&app).await, before + 1);
    let (_, cal) = b.get(&location).await;
    assert!(cal.contains("The appointment was booked.") && cal.contains("11:00–11:50"));

    // Someone else already has 11:00: a friendly 409 with the refreshed free times.
    let second = ids(&f, other);
    let (status, _, body) = b.post_form(&form, "/appointments/new", &booking_fields(&second, "11:00")).await;
    assert_eq!(status, 409);
    assert!(body.contains("This time was just taken."), "plain words");
    assert!(body.contains("id=\"new-appointment\""), "the form, not an error page");
    assert!(!body.contains("name=\"pick\" value=\"11:00\""), "11:00 is no longer offered");
    assert!(!body.contains("name=\"pick\" value=\"11:15\""), "nor anything overlapping it");
    assert!(body.contains("name=\"pick\" value=\"12:00\""), "the next free time is");
    assert!(body.contains(&format!("value=\"{other}\" checked")), "the patient chosen is kept");
    assert_eq!(appointment_count(&app).await, before + 1);
}

#[tokio::test]
async fn tampered_forms_get_a_clear_message_or_403_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let b = staff(&app).await;
    let not_offered = app
        .service(ServiceInput { name: "Assessment".into(), duration_minutes: Some(30), ..ServiceInput::default() })
        .await;
    let form = format!("/appointments/new?c={}", f.clinic.id);
    let before = appointment_count(&app).await;

    let mut wrong_service = ids(&f, f.patient.id);
    wrong_service[1] = not_offered.id.to_string();
    let (status, _, body) = b.post_form(&form, "/appointments/new", &booking_fields(&wrong_service, "11:00")).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"e-service_id\">This provider does not offer this service at this clinic."));

    let good = ids(&f, f.patient.id);
    let mut past = booking_fields(&good, "10:00");
    past.retain(|(k, _)| *k != "date");
    past.push(("date", "2026-02-27"));
    let (status, _, body) = b.post_form(&form, "/appointments/new", &past).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"e-time\">That time has already passed."), "beside the time field");

    let mut ghost = ids(&f, f.patient.id);
    ghost[0] = uuid::Uuid::new_v4().to_string();
    let (status, _, body) = b.post_form(&form, "/appointments/new", &booking_fields(&ghost, "11:00")).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"e-patient_id\">There is no such patient."));

    let mut garbage = ids(&f, f.patient.id);
    garbage[0] = "1; DROP TABLE patients".into();
    let (status, _, body) = b.post_form(&form, "/appointments/new", &booking_fields(&garbage, "11:00")).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"e-patient_id\">Choose the patient from the list."));

    let mut fields = booking_fields(&good, "11:00");
    fields.push(("_csrf", "forged"));
    let res = b.client.post(app.url("/appointments/new")).form(&fields).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("This form has expired"));

    assert_eq!(appointment_count(&app).await, before, "nothing was written");
}

#[tokio::test]
async fn a_provider_sees_other_providers_appointments_only_as_busy() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let id = book_fixture(&app, &f, "10:00").await;
    let (other_user, other) = app.provider(&[f.clinic.id], &[f.service.id]).await;
    app.weekdays(&other, f.clinic.id, "09:00", "17:00").await;
    let mine = book(&app, f.service.id, other.id, f.clinic.id, f.patient.id, &tue("14:00")).await;

    let colleague = app.browser_login(&other_user).await;
    let (status, body) = colleague.get(&day_url(&f, "2026-03-03")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("<b>Busy</b> <span class=\"cal-s\"><span class=\"cal-t\">10:00–10:50</span>"),
        "someone else's time is busy"
    );
    assert!(!body.contains(&format!("/appointments/{id}")), "no link to it");
    assert!(body.contains(&format!("/appointments/{mine}")), "their own is shown in full");
    assert_eq!(body.matches("Test Patient").count(), 1, "the patient's name only on their own appointment");
    let (status, _) = colleague.get(&format!("/appointments/{id}")).await;
    assert_eq!(status, 404, "nor the detail page");

    // Staff see both in full.
    let (_, body) = staff(&app).await.get(&day_url(&f, "2026-03-03")).await;
    assert_eq!(body.matches("Test Patient").count(), 2);
    assert!(!body.contains("<b>Busy</b>"));
}

#[tokio::test]
async fn patients_are_refused_the_staff_pages() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let id = book_fixture(&app, &f, "10:00").await;
    let b = app.browser_login(&f.patient_user).await;
    for path in ["/calendar".to_string(), "/appointments/new".into(), "/waitlist".into(), format!("/appointments/{id}")]
    {
        let (status, body) = b.get(&path).await;
        assert_eq!(status, 403, "{path}");
        assert!(body.contains("You do not have permission to see this page."), "{path}: the friendly page");
    }
    let (status, _) = Browser::anonymous(&app).get("/calendar").await;
    assert_eq!(status, 303, "anonymous visitors are sent to log in");
}

#[tokio::test]
async fn moving_an_appointment_from_its_panel_and_a_taken_time_is_friendly() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let id = book_fixture(&app, &f, "10:00").await;
    let other = patient(&app, "Robin", "Other").await;
    // Wednesday 15:00 is taken by someone else.
    book(&app, f.service.id, f.provider.id, f.clinic.id, other, "2026-03-04T04:00:00Z").await;
    let b = staff(&app).await;
    let detail = format!("/appointments/{id}?v=day&d=2026-03-03&day=2026-03-04");
    let (status, body) = b.get(&detail).await;
    assert_eq!(status, 200);
    assert!(body.contains("Free times on Wednesday 4 March with Test Provider"));
    assert!(body.contains("name=\"slot\" value=\"14:00\"") && !body.contains("name=\"slot\" value=\"15:00\""));

    // On its own day, its own time does not stand in its way: it can move by less than
    // its length (10:00–10:50 to a time inside it), though not to where it already is.
    let (_, same_day) = b.get(&format!("/appointments/{id}?v=day&d=2026-03-03&day=2026-03-03")).await;
    let offered: Vec<&str> = same_day.split("name=\"slot\" value=\"").skip(1).filter_map(|s| s.get(..5)).collect();
    assert!(offered.iter().any(|t| ("10:01".."10:50").contains(t)), "{offered:?}");
    assert!(!offered.contains(&"10:00"), "{offered:?}");

    let path = format!("/appointments/{id}/reschedule");
    let (status, _, body) = b
        .post_form(&detail, &path, &[("date", "2026-03-04"), ("time", "15:00"), ("v", "day"), ("d", "2026-03-03")])
        .await;
    assert_eq!(status, 409);
    assert!(body.contains("This time was just taken. Choose one of the free times below."));
    assert!(body.contains("name=\"slot\" value=\"13:00\""), "refreshed free times for that day");
    let (status, _, body) = b
        .post_form(&detail, &path, &[("date", "2026-03-04"), ("time", "25:99"), ("v", "day"), ("d", "2026-03-03")])
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"e-time\">Enter the time as HH:MM"));

    let (status, location, _) = b
        .post_form(&detail, &path, &[("date", "2026-03-04"), ("slot", "13:00"), ("v", "day"), ("d", "2026-03-03")])
        .await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert!(location.contains("date=2026-03-04") && location.contains("msg=moved"), "to the new day: {location}");
    let (_, cal) = b.get(&location).await;
    assert!(cal.contains("The appointment was moved.") && cal.contains("13:00–13:50"));
    let (_, body) = b.get(&format!("/appointments/{id}")).await;
    assert!(body.contains("Moved from 3 Mar 2026, 10:00 to 4 Mar 2026, 13:00"), "history keeps the old time");
}

#[tokio::test]
async fn a_weekly_series_reports_each_occurrence() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let other = patient(&app, "Sam", "Taken").await;
    // The second Tuesday at 10:00 is taken.
    book(&app, f.service.id, f.provider.id, f.clinic.id, other, "2026-03-09T23:00:00Z").await;
    let b = staff(&app).await;
    let form = format!("/appointments/new?c={}&p={}", f.clinic.id, f.provider.id);
    let good = ids(&f, f.patient.id);
    let series = |mode: &'static str| {
        let mut v = booking_fields(&good, "10:00");
        v.retain(|(k, _)| *k != "mode");
        v.extend([("repeat", "weekly"), ("every_weeks", "1"), ("count", "3"), ("mode", mode)]);
        v
    };
    let before = appointment_count(&app).await;
    let (status, _, body) = b.post_form(&form, "/appointments/new", &series("all_or_nothing")).await;
    assert_eq!(status, 409);
    assert!(body.contains("Nothing was booked: 1 of 3 times are not free"));
    assert!(body.contains("<span class=\"chip bad\">Not free</span>"));
    assert!(body.contains("That time overlaps another appointment."), "and why");
    assert_eq!(appointment_count(&app).await, before);

    let (status, _, body) = b.post_form(&form, "/appointments/new", &series("book_what_is_free")).await;
    assert_eq!(status, 201);
    assert!(body.contains("2 of 3 appointments were booked"));
    assert_eq!(body.matches("<span class=\"chip ok\">Booked</span>").count(), 2);
    assert_eq!(appointment_count(&app).await, before + 2);
}

#[tokio::test]
async fn reception_adds_and_removes_waiting_list_entries() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let waiting = patient(&app, "Wendy", "Waiting").await;
    let b = staff(&app).await;
    let (status, body) = b.get("/waitlist").await;
    assert_eq!(status, 200);
    assert!(body.contains("Nobody is waiting."));
    let (status, _, body) = b.post_form("/waitlist", "/waitlist", &[("q", "wendy"), ("do", "search")]).await;
    assert_eq!(status, 200);
    assert!(body.contains(&format!("value=\"{waiting}\" checked")));
    let (status, _, body) = b
        .post_form("/waitlist", "/waitlist", &[("patient_id", &waiting.to_string()), ("do", "add"), ("from", "soon")])
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"e-from\">Enter the date as YYYY-MM-DD"));
    let (status, location, _) = b
        .post_form(
            "/waitlist",
            "/waitlist",
            &[
                ("patient_id", &waiting.to_string()),
                ("service_id", &f.service.id.to_string()),
                ("provider_id", &f.provider.id.to_string()),
                ("do", "add"),
                ("note", "Mornings please"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, body) = b.get(&location.unwrap()).await;
    assert!(body.contains("Wendy Waiting") && body.contains("Mornings please"));
    assert!(body.contains("Test Provider, any clinic") && body.contains(">Waiting</span>"));
    let entry = app.svc.list_waitlist(&system(), Default::default(), PageRequest::new(None, None)).await.unwrap();
    let id = entry.items[0].id;
    let (status, location, _) = b.post_form("/waitlist", &format!("/waitlist/{id}/remove"), &[]).await;
    assert_eq!(status, 303);
    let (_, body) = b.get(&location.unwrap()).await;
    assert!(body.contains("The entry was removed") && body.contains("Nobody is waiting."));
    let (_, all) = b.get("/waitlist?all=1").await;
    assert!(all.contains("Wendy Waiting") && all.contains(">Removed</span>"));
}

#[tokio::test]
async fn a_busy_week_stays_small_and_reads_a_constant_number_of_times() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mut providers = vec![f.provider.clone()];
    for _ in 0..5 {
        let (_, p) = app.provider(&[f.clinic.id], &[f.service.id]).await;
        app.weekdays(&p, f.clinic.id, "09:00", "17:00").await;
        providers.push(p);
    }
    let mut patients = Vec::new();
    for (given, family) in [
        ("Alexandra", "Montgomery-Smythe"),
        ("Bartholomew", "Fitzgerald"),
        ("Cassandra", "Vandenberghe"),
        ("Dimitrios", "Papadopoulos"),
        ("Evangeline", "Worthington"),
        ("Frederick", "Oyelaran-Adeyemi"),
    ] {
        patients.push(patient(&app, given, family).await);
    }
    // Monday 9 to Friday 13 March, 09:00–16:00 on the hour: 8 a day, 40 a week each.
    let mut n = 0;
    for p in &providers {
        for day in 9..=13 {
            for hour in 9..=16 {
                let utc = hour - 11;
                let start = if utc < 0 {
                    format!("2026-03-{:02}T{:02}:00:00Z", day - 1, utc + 24)
                } else {
                    format!("2026-03-{day:02}T{utc:02}:00:00Z")
                };
                book(&app, f.service.id, p.id, f.clinic.id, patients[n % patients.len()], &start).await;
                n += 1;
            }
        }
    }
    assert_eq!(n, 240);
    let b = staff(&app).await;
    let reads = |path: String| {
        let b = &b;
        let app = &app;
        async move {
            let before = app.db.read_count();
            let (status, body) = b.get(&path).await;
            assert_eq!(status, 200, "{path}");
            (app.db.read_count() - before, body)
        }
    };
    let (day_reads, day) = reads(day_url(&f, "2026-03-10")).await;
    assert_eq!(day.matches("class=\"cal-e\"").count(), 48, "six providers, eight each");
    assert!(day.len() < 100_000, "day view is {} bytes", day.len());
    for p in &providers {
        let (week_reads, week) = reads(format!("/calendar?date=2026-03-10&view=week&provider={}", p.id)).await;
        assert_eq!(week.matches("class=\"cal-e\"").count(), 40);
        assert!(week.len() < 100_000, "week view is {} bytes", week.len());
        assert_eq!(week_reads, day_reads, "the same number of queries for a week of one and a day of six");
    }
    // An empty week (all free links) is small too.
    let (_, empty) = reads(format!("/calendar?date=2026-03-17&view=week&provider={}", f.provider.id)).await;
    assert!(empty.len() < 100_000, "empty week view is {} bytes", empty.len());
}

#[tokio::test]
async fn a_large_clinic_day_shows_its_providers_ten_at_a_time() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mut providers = vec![f.provider.clone()];
    for _ in 0..29 {
        let (_, p) = app.provider(&[f.clinic.id], &[f.service.id]).await;
        app.weekdays(&p, f.clinic.id, "08:00", "18:00").await;
        providers.push(p);
    }
    let b = staff(&app).await;
    let (s, day) = b.get(&day_url(&f, "2026-03-10")).await;
    assert_eq!(s, 200);
    // Thirty provider columns of ten free hours each were ~190 KB; ten at a time stay light.
    assert!(day.contains("Providers 1–10 of 30") && day.contains("Next providers"), "{day}");
    assert_eq!(day.matches("<th scope=\"col\"").count(), 11, "time column and ten providers");
    assert!(day.len() < 100_000, "day view is {} bytes", day.len());
    let next = format!("{}&#38;cols=2", day_url(&f, "2026-03-10").replace('&', "&#38;"));
    assert!(day.contains(&next), "{day}");
    let (_, last) = b.get(&format!("{}&cols=3", day_url(&f, "2026-03-10"))).await;
    assert!(
        last.contains("Providers 21–30 of 30")
            && !last.contains("Next providers")
            && last.contains("Previous providers")
    );
    // The next day keeps the group; a group past the end shows the last.
    assert!(last.contains("date=2026-03-11&#38;view=day&#38;cols=3"), "{last}");
    let (_, past) = b.get(&format!("{}&cols=99", day_url(&f, "2026-03-10"))).await;
    assert!(past.contains("Providers 21–30 of 30"));
    // After an action, the day opens at the group with that appointment's provider.
    let tuesday = day_url(&f, "2026-03-03");
    let (_, third) = b.get(&format!("{tuesday}&cols=3")).await;
    let marker = "view=week&#38;provider=";
    let at = third.find(marker).unwrap() + marker.len();
    let provider: ProviderId = third[at..at + 36].parse().unwrap();
    let (_, pat) = app.patient_user().await;
    let appointment = book(&app, f.service.id, provider, f.clinic.id, pat.id, &tue("11:00")).await;
    let anchor = format!("id=\"a-{}\"", appointment.0);
    let (_, first) = b.get(&tuesday).await;
    assert!(!first.contains(&anchor), "not among the first ten");
    let (_, focused) = b.get(&format!("{tuesday}&focus={}", appointment.0)).await;
    assert!(focused.contains("Providers 21–30 of 30") && focused.contains(&anchor), "{focused}");
}
