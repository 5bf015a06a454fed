//! Clinical notes and assessments: drafts, signing, amendments, the kinds and their
//! fields, encryption at rest, and key rotation from the command line while the server
//! keeps reading.

use crate::patients::{audited, count, put};
use crate::scheduling_api::{booking, get, post, tue};
use crate::*;
use praxis_domain::Role;
use serde_json::json;

/// A provider treating the fixture's patient (one booked appointment), with their token.
async fn treating(app: &TestApp) -> (praxis_testkit::scheduling::Fixture, String, String) {
    let f = app.fixture().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let mut body = booking(&f, &tue("10:00"));
    body["patient_id"] = json!(f.patient.id);
    let (s, a) = post(app, &staff, "/api/v1/appointments", body).await;
    assert_eq!(s, 201, "{a}");
    let token = app.api_login(&f.provider_user).await;
    (f, token, a["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn a_note_is_drafted_signed_locked_and_amended_beside_the_original() {
    let app = TestApp::spawn().await;
    let (f, provider, appt) = treating(&app).await;
    let notes = format!("/api/v1/patients/{}/notes", f.patient.id);
    let (s, body) = post(&app, &provider, &notes, json!({"kind": "progress", "content": {}})).await;
    assert_eq!(s, 422, "an empty note is refused: {body}");
    assert_eq!(body["errors"][0]["field"], "text");
    let (s, draft) = post(
        &app,
        &provider,
        &notes,
        json!({"kind": "progress", "appointment_id": appt, "content": {"text": "Knee pain 6/10, improving with exercises."}}),
    )
    .await;
    assert_eq!(s, 201, "{draft}");
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["appointment_id"], appt.as_str());
    let note = format!("/api/v1/notes/{}", draft["id"].as_str().unwrap());
    // The author edits the draft.
    let (s, edited) = put(&app, &provider, &note, json!({"content": {"text": "Knee pain 4/10, improving."}})).await;
    assert_eq!(s, 200, "{edited}");
    assert_eq!(edited["content"]["text"], "Knee pain 4/10, improving.");
    // Another provider treating the same patient neither sees nor edits someone else's draft.
    let (other_user, other_provider) = app.provider(&[f.clinic.id], &[f.service.id]).await;
    app.weekdays(&other_provider, f.clinic.id, "09:00", "17:00").await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let mut b = booking(&f, &tue("14:00"));
    b["patient_id"] = json!(f.patient.id);
    b["provider_id"] = json!(other_provider.id);
    assert_eq!(post(&app, &staff, "/api/v1/appointments", b).await.0, 201);
    let other = app.api_login(&other_user).await;
    assert_eq!(get(&app, &other, &note).await.0, 404, "a draft is its author's");
    assert_eq!(put(&app, &other, &note, json!({"content": {"text": "Mine now"}})).await.0, 404, "nor to edit");
    let (_, list) = get(&app, &other, &notes).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "drafts are not in others' lists");
    assert_eq!(list["total"], 0, "nor in their counts");
    let (_, mine) = get(&app, &provider, &notes).await;
    assert_eq!(
        (mine["items"].as_array().unwrap().len(), mine["total"].as_i64()),
        (1, Some(1)),
        "the author's draft is"
    );
    assert_eq!(post(&app, &other, &format!("{note}/sign"), json!({})).await.0, 404, "nor to sign");

    // Signing locks it for good.
    let (s, signed) = post(&app, &provider, &format!("{note}/sign"), json!({})).await;
    assert_eq!(s, 200, "{signed}");
    assert_eq!(signed["status"], "signed");
    assert!(signed["signed_at"].is_string());
    let (s, body) = put(&app, &provider, &note, json!({"content": {"text": "Changed after signing"}})).await;
    assert_eq!(s, 409, "{body}");
    assert!(body["type"].as_str().unwrap().ends_with(":note_signed"), "{body}");
    assert_eq!(post(&app, &provider, &format!("{note}/sign"), json!({})).await.0, 409);
    let (_, still) = get(&app, &provider, &note).await;
    assert_eq!(still["content"]["text"], "Knee pain 4/10, improving.");
    assert_eq!(audited(&app, "clinical.note_edit_denied").await.len(), 2, "both refused edits are on the record");
    // The database refuses too, whatever the application does: a signed note keeps its
    // status and content hash, and is never deleted.
    let id = draft["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap();
    for statement in [
        "UPDATE clinical_notes SET status = 'draft' WHERE id = $1",
        "UPDATE clinical_notes SET content_hash = 'forged' WHERE id = $1",
        "DELETE FROM clinical_notes WHERE id = $1",
    ] {
        let mut tx = app.db.begin().await.unwrap();
        assert!(tx.execute(praxis_store::sql(statement).bind(id)).await.is_err(), "{statement}");
        drop(tx);
    }

    // Amendments: required fields, then shown beside the original (which stays).
    let (s, body) = post(&app, &provider, &format!("{note}/amendments"), json!({"reason": "", "text": ""})).await;
    assert_eq!(s, 422, "{body}");
    let (s, amended) = post(
        &app,
        &other,
        &format!("{note}/amendments"),
        json!({"reason": "Late entry", "text": "Also reported poor sleep."}),
    )
    .await;
    assert_eq!(s, 200, "another treating provider may amend: {amended}");
    assert_eq!(amended["content"]["text"], "Knee pain 4/10, improving.");
    assert_eq!(amended["amendments"][0]["reason"], "Late entry");
    assert_eq!(amended["amendments"][0]["text"], "Also reported poor sleep.");
    let (_, list) = get(&app, &other, &notes).await;
    assert_eq!(list["items"][0]["amendments"].as_array().unwrap().len(), 1);
    for action in ["clinical.note_create", "clinical.note_update", "clinical.note_sign", "clinical.note_amend"] {
        assert_eq!(audited(&app, action).await.len(), 1, "{action}");
    }
    assert!(!audited(&app, "clinical.note_read").await.is_empty(), "reads are audited");
    assert!(!audited(&app, "clinical.notes_read").await.is_empty(), "list reads are audited");
}

#[tokio::test]
async fn a_long_record_comes_a_page_at_a_time_and_by_kind() {
    let app = TestApp::spawn().await;
    let (f, provider, _) = treating(&app).await;
    let notes = format!("/api/v1/patients/{}/notes", f.patient.id);
    for i in 0..23 {
        let body = if i % 10 == 0 {
            json!({"kind": "therapy_session", "content": {"observations": format!("Session {i}")}})
        } else {
            json!({"kind": "progress", "content": {"text": format!("Note {i}")}})
        };
        let (s, n) = post(&app, &provider, &notes, body).await;
        assert_eq!(s, 201, "{n}");
        if i != 22 {
            post(&app, &provider, &format!("/api/v1/notes/{}/sign", n["id"].as_str().unwrap()), json!({})).await;
        }
    }
    // Newest first, a page at a time, with the total.
    let (s, p1) = get(&app, &provider, &format!("{notes}?per_page=10")).await;
    assert_eq!(s, 200, "{p1}");
    assert_eq!((p1["total"].as_i64(), p1["items"].as_array().unwrap().len()), (Some(23), 10));
    assert_eq!(p1["items"][0]["content"]["text"], "Note 22", "the author's own draft is first");
    let (_, p3) = get(&app, &provider, &format!("{notes}?per_page=10&page=3")).await;
    assert_eq!(p3["items"].as_array().unwrap().len(), 3);
    assert_eq!(p3["items"][2]["content"]["observations"], "Session 0");
    // By kind.
    let (_, sessions) = get(&app, &provider, &format!("{notes}?kind=therapy_session")).await;
    assert_eq!(sessions["total"], 3);
    let (s, body) = get(&app, &provider, &format!("{notes}?kind=letters")).await;
    assert_eq!(s, 422, "{body}");
    // An administrator sees the signed notes only: the draft is not counted.
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (_, all) = get(&app, &admin, &notes).await;
    assert_eq!(all["total"], 22);

    // The notes tab pages too, and stays light.
    let b = app.browser_login(&f.provider_user).await;
    let tab = format!("/patients/{}/notes", f.patient.id);
    let (s, page) = b.get(&tab).await;
    assert_eq!(s, 200);
    assert!(page.contains("1–20 of 23") && page.contains("Note 22") && !page.contains("Session 0"), "{page}");
    assert!(page.contains(&format!("href=\"{tab}?page=2\"")), "{page}");
    let (_, page) = b.get(&format!("{tab}?page=2")).await;
    assert!(page.contains("21–23 of 23") && page.contains("Session 0") && !page.contains("Note 22"));
    let (_, page) = b.get(&format!("{tab}?kind=therapy_session")).await;
    assert!(page.contains("1–3 of 3") && page.contains("Session 10") && !page.contains("Note 21"));
}

#[tokio::test]
async fn therapy_session_notes_and_assessments_keep_their_structure() {
    let app = TestApp::spawn().await;
    let (f, provider, appt) = treating(&app).await;
    let notes = format!("/api/v1/patients/{}/notes", f.patient.id);
    let session = json!({
        "kind": "therapy_session", "appointment_id": appt,
        "content": {"objectives": "Reduce avoidance", "activities": "Graded exposure, step 3", "observations": "Anxious at start",
                    "progress": "Completed step 3", "homework": "Practise daily", "plan": "Step 4 next week",
                    "attendance": "partial", "patient_response": "Engaged"}
    });
    let (s, n) = post(&app, &provider, &notes, session.clone()).await;
    assert_eq!(s, 201, "{n}");
    assert_eq!(n["content"]["attendance"], "partial");
    assert_eq!(n["content"]["homework"], "Practise daily");
    assert_eq!(n["kind"], "therapy_session");

    let (s, body) = post(&app, &provider, &notes, json!({"kind": "assessment", "content": {"findings": "x"}})).await;
    assert_eq!(s, 422, "an assessment says which: {body}");
    assert_eq!(body["errors"][0]["field"], "assessment_kind");
    let (s, a) = post(
        &app,
        &provider,
        &notes,
        json!({"kind": "assessment", "assessment_kind": "initial", "next_review_date": "2026-06-01",
               "content": {"findings": "Moderate depression", "recommendations": "CBT weekly",
                           "goals": ["Sleep 7 hours", "Return to work"],
                           "scores": [{"measure": "PHQ-9", "value": "14", "interpretation": "moderate"}]}}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["assessment_kind"], "initial");
    assert_eq!(a["next_review_date"], "2026-06-01");
    assert_eq!(a["content"]["scores"][0]["value"], "14");
    assert_eq!(a["content"]["goals"][1], "Return to work");
    // Linking to another patient's appointment is refused.
    let (other_user, other_patient) = app.patient_user().await;
    let _ = other_user;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let mut b = booking(&f, &tue("15:00"));
    b["patient_id"] = json!(other_patient.id);
    let (_, theirs) = post(&app, &staff, "/api/v1/appointments", b).await;
    let mut wrong = session;
    wrong["appointment_id"] = theirs["id"].clone();
    let (s, body) = post(&app, &provider, &notes, wrong).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "appointment_id");
}

#[tokio::test]
async fn note_text_is_encrypted_at_rest_and_never_in_the_audit_log() {
    let app = TestApp::spawn().await;
    let (f, provider, _) = treating(&app).await;
    let secret = "Discloses childhood trauma; safety plan agreed";
    let (s, n) = post(
        &app,
        &provider,
        &format!("/api/v1/patients/{}/notes", f.patient.id),
        json!({"content": {"text": secret}}),
    )
    .await;
    assert_eq!(s, 201);
    post(&app, &provider, &format!("/api/v1/notes/{}/sign", n["id"].as_str().unwrap()), json!({})).await;
    post(
        &app,
        &provider,
        &format!("/api/v1/notes/{}/amendments", n["id"].as_str().unwrap()),
        json!({"reason": "Addendum", "text": "Crisis line number given"}),
    )
    .await;
    let rows: Vec<(String,)> =
        app.db.fetch_all(praxis_store::sql("SELECT content_enc FROM clinical_notes")).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].0.starts_with("pxe1.") && !rows[0].0.contains("trauma"), "{}", rows[0].0);
    let rows: Vec<(String,)> =
        app.db.fetch_all(praxis_store::sql("SELECT content_enc FROM clinical_amendments")).await.unwrap();
    assert!(!rows[0].0.contains("Crisis"));
    let audit: Vec<(String,)> = app.db.fetch_all(praxis_store::sql("SELECT summary FROM audit_log")).await.unwrap();
    assert!(
        audit.iter().all(|(s,)| !s.contains("trauma") && !s.contains("Crisis")),
        "no clinical text in the audit log"
    );
    // On SQLite, not a byte of it anywhere in the database file.
    if !app.test_db.is_postgres() {
        let path = app.test_db.url.trim_start_matches("sqlite://").to_string();
        for file in [path.clone(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            let needle = b"childhood trauma";
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "plaintext found in {file}");
        }
    }
}

#[tokio::test]
async fn keys_rotate_from_the_command_line_while_the_server_keeps_reading() {
    use praxis_services::crypto::KeyRing;
    let test_db = std::sync::Arc::new(TestDb::new().await);
    let dir = tempfile::tempdir().unwrap();
    let k1 = base64_key(1);
    let k2 = base64_key(2);
    // SQLite: a key file the command adds a key to. PostgreSQL: keys in the environment
    // of every instance — the operator adds k2 everywhere, then makes it current.
    let ring = if test_db.is_postgres() {
        KeyRing::from_env(&format!("k1:{k1},k2:{k2}"), Some("k1")).unwrap()
    } else {
        KeyRing::from_file(dir.path().join("keys.json")).unwrap()
    };
    let old_key = ring.current_id();
    let settings = praxis_services::Settings { keys: std::sync::Arc::new(ring), ..test_settings() };
    let app = TestApp::spawn_on(test_db.clone(), settings).await;
    let (f, provider, _) = treating(&app).await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let mut note_ids = Vec::new();
    for i in 0..30 {
        let (s, n) = post(
            &app,
            &provider,
            &format!("/api/v1/patients/{}/notes", f.patient.id),
            json!({"content": {"text": format!("Note {i}")}}),
        )
        .await;
        assert_eq!(s, 201);
        if i % 2 == 0 {
            post(&app, &provider, &format!("/api/v1/notes/{}/sign", n["id"].as_str().unwrap()), json!({})).await;
        }
        note_ids.push(n["id"].as_str().unwrap().to_string());
    }
    put(
        &app,
        &staff,
        &format!("/api/v1/patients/{}", f.patient.id),
        json!({"given_name": "Ins", "insurance_number": "1234 56789 0"}),
    )
    .await;

    // Read continuously while the command runs.
    let reading = {
        let client = app.client();
        let base = app.base.clone();
        let token = provider.clone();
        let ids = note_ids.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut reads = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                for id in &ids {
                    let res = client.get(format!("{base}/api/v1/notes/{id}")).bearer_auth(&token).send().await.unwrap();
                    assert_eq!(res.status(), 200, "a read failed during rotation");
                    reads += 1;
                }
            }
            reads
        });
        (stop, task)
    };
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_praxis"));
    cmd.args(["keys", "rotate"])
        .env("PRAXIS_DATABASE_URL", &test_db.url)
        .env("PRAXIS_DATA_DIR", dir.path())
        .env("PRAXIS_LOG", "error");
    if test_db.is_postgres() {
        cmd.env("PRAXIS_ENCRYPTION_KEYS", format!("k1:{k1},k2:{k2}")).env("PRAXIS_ENCRYPTION_KEY_CURRENT", "k2");
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("clinical_notes: 30 re-sealed"), "{stdout}");
    assert!(stdout.contains("patients: 1 re-sealed"), "{stdout}");
    let (stop, task) = reading;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(task.await.unwrap() >= 30);

    // Everything is under the new key, and still reads the same.
    let sealed: Vec<(String,)> =
        app.db.fetch_all(praxis_store::sql("SELECT content_enc FROM clinical_notes")).await.unwrap();
    let new_key = KeyRing::key_id_of(&sealed[0].0).unwrap().to_string();
    assert_ne!(new_key, old_key);
    assert!(sealed.iter().all(|(s,)| KeyRing::key_id_of(s) == Some(new_key.as_str())));
    let (_, n) = get(&app, &provider, &format!("/api/v1/notes/{}", note_ids[7])).await;
    assert_eq!(n["content"]["text"], "Note 7");
    let (_, p) = get(&app, &staff, &format!("/api/v1/patients/{}", f.patient.id)).await;
    assert_eq!(p["insurance_number"], "1234 56789 0");
    // On the key file, the running server now seals new notes with the new key too.
    if !test_db.is_postgres() {
        let (_, n) = post(
            &app,
            &provider,
            &format!("/api/v1/patients/{}/notes", f.patient.id),
            json!({"content": {"text": "After"}}),
        )
        .await;
        let (row,): (String,) = app
            .db
            .fetch_one(
                praxis_store::sql("SELECT content_enc FROM clinical_notes WHERE id = $1")
                    .bind(n["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap()),
            )
            .await
            .unwrap();
        assert_eq!(KeyRing::key_id_of(&row), Some(new_key.as_str()));
    }
    assert_eq!(audited(&app, "keys.reseal").await.len(), 1);
    // Nothing was left behind or duplicated.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM clinical_notes").await, if test_db.is_postgres() { 30 } else { 31 });
}

/// A 32-byte key of `byte`s, base64 (standard alphabet) as the environment takes it.
fn base64_key(byte: u8) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = [byte; 32];
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Flips one character in the middle of a sealed value.
fn tamper(sealed: &str) -> String {
    let mut chars: Vec<char> = sealed.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[tokio::test]
async fn tampered_ciphertext_answers_a_clear_error_is_audited_and_alerts_the_administrators() {
    let app = TestApp::spawn().await;
    let (f, provider, _) = treating(&app).await;
    let notes = format!("/api/v1/patients/{}/notes", f.patient.id);
    let (s, draft) =
        post(&app, &provider, &notes, json!({"kind": "progress", "content": {"text": "Confidential"}})).await;
    assert_eq!(s, 201, "{draft}");
    let id = draft["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap();
    let (sealed,): (String,) = app
        .db
        .fetch_one(praxis_store::sql("SELECT content_enc FROM clinical_notes WHERE id = $1").bind(id))
        .await
        .unwrap();
    app.db
        .execute_unaudited(
            praxis_store::sql("UPDATE clinical_notes SET content_enc = $1 WHERE id = $2")
                .bind(tamper(&sealed))
                .bind(id),
        )
        .await
        .unwrap();

    // The note and the chart's list answer 409 with what could not be shown, never a 500.
    for path in [format!("/api/v1/notes/{id}"), notes.clone()] {
        let (s, body) = get(&app, &provider, &path).await;
        assert_eq!(s, 409, "{path}: {body}");
        assert_eq!(body["type"], "urn:praxis:problem:record_damaged", "{body}");
        assert!(body["detail"].as_str().unwrap().starts_with("The note could not be shown"), "{body}");
        assert!(!body.to_string().contains(&sealed[..16]), "nothing of the ciphertext is shown");
    }
    // The page says so too.
    let page = app.browser_login(&f.provider_user).await;
    let (s, html) = page.get(&format!("/notes/{id}")).await;
    assert_eq!(s, 409);
    assert!(html.contains("The administrators have been alerted"), "{html}");

    // Audited, alerted once, counted.
    let mut audit = Vec::new();
    for _ in 0..100 {
        audit = audited(&app, "record.damaged").await;
        if !audit.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(audit.iter().any(|a| a.contains(&id.to_string())), "{audit:?}");
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (s, alerts) = get(&app, &admin, "/api/v1/alerts").await;
    assert_eq!(s, 200);
    let damaged: Vec<_> = alerts.as_array().unwrap().iter().filter(|a| a["kind"] == "record_damaged").collect();
    assert_eq!(damaged.len(), 1, "one alert per record, however often it is read: {alerts}");
    let metrics = app.client().get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("praxis_damaged_records_total{entity=\"clinical_note\"}"), "{metrics}");
    assert!(metrics.contains("praxis_alerts_open 1"), "{metrics}");
}
