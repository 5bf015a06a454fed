//! Concurrency: many booking requests at once never double-book, on SQLite and
//! PostgreSQL, with one server instance or two sharing the database.

use crate::scheduling_api::tue;
use crate::*;
use praxis_domain::Role;
use serde_json::{Value, json};
use std::sync::Arc;

struct Race {
    fixture: praxis_testkit::scheduling::Fixture,
    token: String,
    patients: Vec<praxis_domain::PatientId>,
}

async fn prepare(app: &TestApp, n: usize) -> Race {
    let fixture = app.fixture().await;
    let (_, token) = app.user_with_token(Role::Staff).await;
    let mut patients = Vec::with_capacity(n);
    let admin = praxis_services::Actor::system("test");
    for i in 0..n {
        let p = app
            .svc
            .create_patient(
                &admin,
                praxis_services::patients::NewPatient {
                    given_name: format!("Racer{i}"),
                    family_name: "Test".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        patients.push(p.id);
    }
    Race { fixture, token, patients }
}

/// Fires all bookings at once against the given servers (round robin); returns statuses.
async fn fire(servers: &[&TestApp], race: &Race, starts: &[String]) -> Vec<u16> {
    let f = &race.fixture;
    let mut handles = Vec::new();
    let barrier = Arc::new(tokio::sync::Barrier::new(starts.len()));
    for (i, start) in starts.iter().enumerate() {
        let app = servers[i % servers.len()];
        let client = app.client();
        let url = app.url("/api/v1/appointments");
        let body = json!({"service_id": f.service.id, "provider_id": f.provider.id, "clinic_id": f.clinic.id, "start": start, "patient_id": race.patients[i]});
        let token = race.token.clone();
        let barrier = barrier.clone();
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let res = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
            let status = res.status().as_u16();
            if status != 201 {
                let body: Value = res.json().await.unwrap();
                assert!(status == 409 || status == 422, "unexpected {status}: {body}");
                if status == 409 {
                    assert_eq!(body["type"], "urn:praxis:problem:slot_taken", "{body}");
                }
            }
            status
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// Occupied ranges of every time-occupying appointment of the provider.
async fn occupied(app: &TestApp, race: &Race) -> Vec<(i64, i64)> {
    let rows: Vec<(praxis_store::DbTime, praxis_store::DbTime)> = app
        .db
        .fetch_all(
            praxis_store::sql(
                "SELECT occupied_from, occupied_until FROM appointments WHERE provider_id = $1 \
                 AND status IN ('held', 'requested', 'confirmed', 'checked_in', 'in_progress') ORDER BY occupied_from",
            )
            .bind(race.fixture.provider.id),
        )
        .await
        .unwrap();
    rows.into_iter().map(|(a, b)| (a.0.as_microsecond(), b.0.as_microsecond())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_requests_for_one_slot_book_exactly_one() {
    let app = TestApp::spawn().await;
    let race = prepare(&app, 100).await;
    let starts = vec![tue("10:00"); 100];
    let statuses = fire(&[&app], &race, &starts).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 99, "{statuses:?}");
    assert_eq!(occupied(&app, &race).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_requests_never_produce_overlapping_appointments() {
    let app = TestApp::spawn().await;
    let race = prepare(&app, 100).await;
    // Starts every 5 minutes from 09:00: each 50-minute appointment (+10 buffer) overlaps
    // the next eleven.
    let starts: Vec<String> = (0..100)
        .map(|i| {
            let m = 9 * 60 + i * 5;
            tue(&format!("{:02}:{:02}", m / 60, m % 60))
        })
        .collect();
    let statuses = fire(&[&app], &race, &starts).await;
    let booked = statuses.iter().filter(|s| **s == 201).count();
    // Each accepted start blocks at most the 11 before and 11 after it; 87 starts fit the day.
    assert!(booked >= 4, "the day cannot stay this empty: {statuses:?}");
    let ranges = occupied(&app, &race).await;
    assert_eq!(ranges.len(), booked);
    for w in ranges.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlap: {w:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_server_instances_on_one_database_still_book_exactly_one() {
    let app = TestApp::spawn().await;
    let second = TestApp::spawn_on(app.test_db.clone(), test_settings()).await;
    second.clock.set(app.clock.now());
    let race = prepare(&app, 100).await;
    let starts = vec![tue("14:00"); 100];
    let statuses = fire(&[&app, &second], &race, &starts).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 99);
    assert_eq!(occupied(&app, &race).await.len(), 1);
}

/// Retries of one booking racing each other on two instances (the same Idempotency-Key
/// and body): every answer is that one booking — 201 for the request that made it, 200
/// for the replays — never "just taken" by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_key_all_get_the_one_booking() {
    let app = TestApp::spawn().await;
    let second = TestApp::spawn_on(app.test_db.clone(), test_settings()).await;
    second.clock.set(app.clock.now());
    let race = prepare(&app, 1).await;
    let f = &race.fixture;
    let body = json!({"service_id": f.service.id, "provider_id": f.provider.id, "clinic_id": f.clinic.id,
                      "start": tue("15:00"), "patient_id": race.patients[0]});
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let mut handles = Vec::new();
    for i in 0..100 {
        let server = if i % 2 == 0 { &app } else { &second };
        let (client, url) = (server.client(), server.url("/api/v1/appointments"));
        let (token, body, barrier) = (race.token.clone(), body.clone(), barrier.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let res = client
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", "retry-of-one-booking")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (status, body)
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut statuses = Vec::new();
    for h in handles {
        let (status, body) = h.await.unwrap();
        assert!(status == 201 || status == 200, "a retry was answered {status}: {body}");
        ids.insert(body["id"].as_str().unwrap().to_string());
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(ids.len(), 1, "every answer is the same booking: {ids:?}");
    assert_eq!(occupied(&app, &race).await.len(), 1);
}
