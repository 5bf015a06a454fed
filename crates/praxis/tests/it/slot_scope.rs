//! Slot search narrowed to a provider or clinic reads only their rows, and busy-time and
//! hold-expiry reads use bounded index ranges: these tests pin the behaviour that must not
//! change with that (a provider busy at another clinic is busy; an appointment that began
//! before the range and still runs blocks it; a lapsed hold that began earlier expires).

use crate::scheduling_api::{get, get_slots, post, tue};
use crate::*;
use praxis_domain::Role;
use praxis_services::Actor;
use praxis_services::availability::WindowInput;
use praxis_services::catalog::ServiceInput;
use serde_json::{Value, json};

fn starts_of(slots: &Value, provider: praxis_domain::ProviderId) -> Vec<String> {
    slots
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["provider_id"] == json!(provider))
        .map(|s| s["start"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_narrowed_search_still_sees_the_providers_time_at_other_clinics() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let north = app.clinic("North", "Australia/Sydney").await;
    let south = app.clinic("South", "Australia/Sydney").await;
    let service = app.consultation().await;
    let (_, p) = app.provider(&[north.id, south.id], &[service.id]).await;
    let (_, colleague) = app.provider(&[north.id], &[service.id]).await;
    app.weekly(&colleague, north.id, "tuesday", "09:00", "12:00").await;
    let (_, patient) = app.patient_user().await;
    // The provider worked Tuesdays at South and has a booking there at 10:00; then their
    // Tuesdays moved to North. The South appointment still occupies them.
    let admin = Actor::system("test");
    let window = app
        .svc
        .add_window(
            &admin,
            p.id,
            WindowInput {
                clinic_id: Some(south.id),
                weekday: "tuesday".into(),
                start: "09:00".into(),
                end: "12:00".into(),
                valid_from: None,
                valid_until: None,
            },
        )
        .await
        .unwrap();
    let (s, body) = post(
        &app,
        &staff,
        "/api/v1/appointments",
        json!({"service_id": service.id, "provider_id": p.id, "clinic_id": south.id, "start": tue("10:00"), "patient_id": patient.id}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    app.svc.delete_window(&admin, p.id, window.id).await.unwrap();
    app.weekly(&p, north.id, "tuesday", "09:00", "12:00").await;

    let base = format!("/api/v1/slots?service_id={}&from=2026-03-03&until=2026-03-03", service.id);
    for filter in [
        format!("&provider_id={}", p.id),
        format!("&provider_id={}&clinic_id={}", p.id, north.id),
        format!("&clinic_id={}", north.id),
        String::new(),
    ] {
        let (s, slots) = get_slots(&app, &staff, &format!("{base}{filter}")).await;
        assert_eq!(s, 200, "{slots}");
        let starts = starts_of(&slots, p.id);
        assert!(starts.contains(&tue("09:00")), "{filter}: 09:00 ends with the buffer as the appointment starts");
        assert!(starts.contains(&tue("11:00")), "{filter}: {starts:?}");
        for t in ["09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45"] {
            assert!(!starts.contains(&tue(t)), "{filter}: {t} overlaps the appointment at the other clinic");
        }
        for s in slots.as_array().unwrap().iter().filter(|s| s["provider_id"] == json!(p.id)) {
            assert_eq!(s["clinic_id"], json!(north.id), "{filter}: the provider works only at North on Tuesdays");
        }
        if !filter.contains("provider_id") {
            assert!(!starts_of(&slots, colleague.id).is_empty(), "{filter}: the colleague at North is listed");
        }
    }
    // Narrowed to South, the provider has no hours there any more; the colleague is not
    // listed for a clinic they do not work at.
    let (_, slots) = get_slots(&app, &staff, &format!("{base}&clinic_id={}", south.id)).await;
    assert_eq!(slots, json!([]));
    // A provider search names only that provider; a clinic search only that clinic.
    let (_, slots) = get_slots(&app, &staff, &format!("{base}&provider_id={}", colleague.id)).await;
    assert!(slots.as_array().unwrap().iter().all(|s| s["provider_id"] == json!(colleague.id)));
    assert_eq!(starts_of(&slots, colleague.id).len(), 9, "09:00 … 11:00 every 15 minutes");
}

#[tokio::test]
async fn an_appointment_that_began_earlier_and_still_runs_blocks_the_time() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let clinic = app.clinic("Harbour", "Australia/Sydney").await;
    let consultation = app.consultation().await;
    let assessment = app
        .service(ServiceInput {
            name: "Full-day assessment".into(),
            duration_minutes: Some(600),
            slot_step_minutes: Some(15),
            ..ServiceInput::default()
        })
        .await;
    let (_, p) = app.provider(&[clinic.id], &[consultation.id, assessment.id]).await;
    let (_, q) = app.provider(&[clinic.id], &[consultation.id, assessment.id]).await;
    for provider in [&p, &q] {
        app.weekly(provider, clinic.id, "tuesday", "07:00", "22:00").await;
    }
    let (patient_user, patient) = app.patient_user().await;
    let book = |provider: praxis_domain::ProviderId, service: praxis_domain::ServiceId, at: &str| json!({"service_id": service, "provider_id": provider, "clinic_id": clinic.id, "start": tue(at), "patient_id": patient.id});
    // 07:00–17:00.
    let (s, body) = post(&app, &staff, "/api/v1/appointments", book(p.id, assessment.id, "07:00")).await;
    assert_eq!(s, 201, "{body}");
    for at in ["08:00", "15:00", "16:00", "16:15"] {
        let (s, body) = post(&app, &staff, "/api/v1/appointments", book(p.id, consultation.id, at)).await;
        assert_eq!(s, 409, "{at}: {body}");
        assert_eq!(body["type"], "urn:praxis:problem:slot_taken");
    }
    let base = format!("/api/v1/slots?service_id={}&from=2026-03-03&until=2026-03-03", consultation.id);
    for filter in [format!("&provider_id={}", p.id), format!("&clinic_id={}", clinic.id)] {
        let (_, slots) = get_slots(&app, &staff, &format!("{base}{filter}")).await;
        let starts = starts_of(&slots, p.id);
        assert_eq!(starts.first(), Some(&tue("17:00")), "{filter}: nothing before the long appointment ends");
    }
    let (s, body) = post(&app, &staff, "/api/v1/appointments", book(p.id, consultation.id, "17:00")).await;
    assert_eq!(s, 201, "{body}");

    // A hold on q's whole day that lapses: a booking in its afternoon expires it, although
    // the hold began hours before the time booked.
    let own = app.api_login(&patient_user).await;
    let mut hold = book(q.id, assessment.id, "07:00");
    hold["hold"] = json!(true);
    let (s, held) = post(&app, &own, "/api/v1/appointments", hold).await;
    assert_eq!(s, 201, "{held}");
    assert_eq!(held["status"], "held");
    let (s, _) = post(&app, &staff, "/api/v1/appointments", book(q.id, consultation.id, "15:00")).await;
    assert_eq!(s, 409, "a live hold blocks");
    app.clock.advance(jiff::SignedDuration::from_mins(11));
    let (s, body) = post(&app, &staff, "/api/v1/appointments", book(q.id, consultation.id, "15:00")).await;
    assert_eq!(s, 201, "{body}");
    let (_, h) = get(&app, &staff, &format!("/api/v1/appointments/{}", held["id"].as_str().unwrap())).await;
    assert_eq!(h["status"], "expired");
}

#[tokio::test]
async fn hold_expiry_and_busy_time_read_bounded_index_ranges_on_sqlite() {
    let app = TestApp::spawn().await;
    if app.test_db.is_postgres() {
        // PostgreSQL plans by statistics; its plans are recorded in BENCHMARKS.md.
        return;
    }
    let plan = |text: String, args: usize| {
        let app = &app;
        async move {
            let mut q = praxis_store::dynamic_sql(format!("EXPLAIN QUERY PLAN {text}"));
            for i in 0..args {
                q = q.bind(i64::try_from(i).unwrap());
            }
            let rows: Vec<(i64, i64, i64, String)> = app.db.fetch_all(q).await.unwrap();
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        }
    };
    let p = plan(praxis_store::appointments::EXPIRE_HOLDS_OF_PROVIDER_SQL.to_string(), 4).await;
    assert!(p.contains("USING INDEX appointments_held_idx (provider_id=? AND held_until<?)"), "{p}");
    let p = plan(praxis_store::appointments::EXPIRE_ALL_HOLDS_SQL.to_string(), 1).await;
    assert!(p.contains("appointments_held_idx") && !p.contains("SCAN appointments\n"), "{p}");
    assert!(!p.trim_end().ends_with("SCAN appointments"), "{p}");
    // The shape of every busy-time read (booking check, slot search, calendar).
    let p = plan(
        format!(
            "SELECT a.id FROM appointments a WHERE a.provider_id = $1 AND a.status IN {} \
             AND (a.status <> 'held' OR a.held_until > $2) AND a.occupied_until > $3 AND a.occupied_from < $4",
            praxis_store::appointments::OCCUPYING_SQL
        ),
        4,
    )
    .await;
    assert!(p.contains("appointments_provider_until_idx (provider_id=? AND occupied_until>?)"), "{p}");
    // The calendar's read walks a bounded range in both its halves, not each
    // provider's or the clinic's whole history.
    for one_provider in [false, true] {
        let sql = praxis_store::appointments::calendar_where_sql(one_provider);
        let p = plan(format!("SELECT a.id FROM appointments a WHERE {sql}"), 6).await;
        assert!(p.contains("appointments_clinic_time_idx (clinic_id=? AND starts_at>? AND starts_at<?)"), "{p}");
        assert!(p.contains("appointments_provider_until_idx (provider_id=? AND occupied_until>?)"), "{p}");
        assert!(!p.contains("SCAN ca") && !p.contains("SCAN pa"), "{p}");
        assert!(!p.contains("SCAN a\n") && !p.trim_end().ends_with("SCAN a"), "{p}");
    }
}

#[tokio::test]
async fn the_api_answers_the_same_times_grouped_per_provider_and_local_day_with_names_once() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let sydney = app.clinic("Sydney", "Australia/Sydney").await;
    let kolkata = app.clinic("Kolkata", "Asia/Kolkata").await;
    let service = app.consultation().await;
    let (_, early) = app.provider(&[sydney.id], &[service.id]).await;
    let (_, late) = app.provider(&[kolkata.id], &[service.id]).await;
    // Sydney's mornings are the previous UTC day; Kolkata's evenings run past UTC midnight
    // only on the local side, so a UTC date would group both wrongly.
    app.weekdays(&early, sydney.id, "07:00", "12:00").await;
    app.weekdays(&late, kolkata.id, "14:00", "23:00").await;
    let (_, patient) = app.patient_user().await;
    let (s, body) = post(&app, &staff, "/api/v1/appointments", json!({"service_id": service.id, "provider_id": early.id, "clinic_id": sydney.id, "start": tue("08:00"), "patient_id": patient.id})).await;
    assert_eq!(s, 201, "{body}");

    let path = format!("/api/v1/slots?service_id={}&from=2026-03-02&until=2026-03-06", service.id);
    let (s, table) = get(&app, &staff, &path).await;
    assert_eq!(s, 200, "{table}");
    assert_eq!(table["minutes"], 50);
    assert_eq!(table["places"], 1);
    // The same times as the service's flat search, which the pages use.
    let q = praxis_services::scheduling::SlotQuery {
        service_id: service.id,
        provider_id: None,
        clinic_id: None,
        from: Some("2026-03-02".parse().unwrap()),
        until: Some("2026-03-06".parse().unwrap()),
    };
    let flat = app.svc.search_slots(&Actor::system("test"), &q).await.unwrap();
    let want: Vec<(String, String, String)> =
        flat.iter().map(|s| (s.provider_id.to_string(), s.start.to_string(), s.local_start.clone())).collect();
    let got: Vec<(String, String, String)> = scheduling_api::flatten_slots(&table)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let id = s["provider_id"].as_str().unwrap().to_string();
            (id, s["start"].as_str().unwrap().to_string(), s["local_start"].as_str().unwrap().to_string())
        })
        .collect();
    assert!(want.len() > 100, "{} times", want.len());
    assert_eq!(got, want);
    assert!(!got.iter().any(|(_, start, _)| *start == tue("08:00")), "the booked time is not offered");
    // Names once per provider, five local days each, each day's first time its local opening.
    let text = table.to_string();
    assert_eq!(text.matches("\"provider_name\"").count(), 2, "{text}");
    assert_eq!(text.matches("\"Australia/Sydney\"").count(), 1, "{text}");
    let providers = table["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 2);
    for p in providers {
        let days: Vec<&str> = p["days"].as_array().unwrap().iter().map(|d| d["date"].as_str().unwrap()).collect();
        assert_eq!(days, ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"], "{p}");
    }
    let first_of = |name: &str, day: usize| {
        let p = providers.iter().find(|p| p["time_zone"] == name).unwrap();
        p["days"][day]["starts"][0].as_str().unwrap().to_string()
    };
    assert_eq!(first_of("Australia/Sydney", 1), "2026-03-02T20:00:00Z", "07:00 AEDT on Tuesday");
    assert_eq!(first_of("Asia/Kolkata", 1), "2026-03-03T08:30:00Z", "14:00 IST on Tuesday");
}
