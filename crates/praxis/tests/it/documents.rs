//! Documents over the API: upload (type from the content, size limit), encrypted and
//! content-addressed storage, streamed download, details, removal, and refusals that
//! leave nothing behind but an audit row.

use crate::scheduling_api::{get, post, tue};
use crate::*;
use praxis_domain::Role;
use serde_json::{Value, json};
use std::sync::Arc;

/// A small but real PDF with a recognisable sentence in it.
pub fn pdf(text: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj \
         3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R>>endobj \
         4 0 obj<</Length 44>>stream\nBT /F1 12 Tf 20 100 Td ({text}) Tj ET\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
    .into_bytes()
}

pub async fn upload(app: &TestApp, token: &str, patient: &str, query: &str, bytes: Vec<u8>) -> (u16, Value) {
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/patients/{patient}/documents?{query}")))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

pub async fn download(app: &TestApp, token: &str, id: &str) -> (u16, Vec<u8>, reqwest::header::HeaderMap) {
    let res =
        app.client().get(app.url(&format!("/api/v1/documents/{id}/content"))).bearer_auth(token).send().await.unwrap();
    let s = res.status().as_u16();
    let h = res.headers().clone();
    (s, res.bytes().await.unwrap_or_default().to_vec(), h)
}

pub async fn audit_actions(app: &TestApp) -> Vec<(String, String)> {
    let rows: Vec<(String, String)> =
        app.db.fetch_all(praxis_store::sql("SELECT action, summary FROM audit_log ORDER BY seq")).await.unwrap();
    rows
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A provider who treats the fixture's patient (an appointment booked), with a token.
async fn treating_provider(app: &TestApp) -> (praxis_testkit::scheduling::Fixture, String) {
    let f = app.fixture().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let mut b = crate::scheduling_api::booking(&f, &tue("10:00"));
    b["patient_id"] = json!(f.patient.id);
    let (s, body) = post(app, &admin, "/api/v1/appointments", b).await;
    assert_eq!(s, 201, "{body}");
    let token = app.api_login(&f.provider_user).await;
    (f, token)
}

#[tokio::test]
async fn a_document_is_stored_encrypted_once_and_downloads_intact() {
    let app = TestApp::spawn().await;
    let (f, provider) = treating_provider(&app).await;
    let patient = f.patient.id.to_string();
    let content = pdf("Lumbar MRI shows a small disc bulge at L4-L5");
    let (s, doc) = upload(
        &app,
        &provider,
        &patient,
        "file_name=mri-report.pdf&title=MRI%20report&category=report&tags=spine,%20MRI&access_level=clinicians_only",
        content.clone(),
    )
    .await;
    assert_eq!(s, 201, "{doc}");
    assert_eq!(doc["media_type"], "application/pdf");
    assert_eq!(doc["title"], "MRI report");
    assert_eq!(doc["tags"], json!(["spine", "mri"]));
    assert_eq!(doc["size_bytes"], content.len());
    assert_eq!(doc["access_level"], "clinicians_only");
    let id = doc["id"].as_str().unwrap().to_string();

    // On disk: one file named by the content hash, holding no plaintext.
    let row = praxis_store::documents::get(&app.db, id.parse().unwrap()).await.unwrap().unwrap();
    let path = app.svc.document_file_path(&row.file_sha256);
    let stored = std::fs::read(&path).unwrap();
    assert!(stored.starts_with(b"PXF1"), "our sealed format");
    assert!(!stored.windows(10).any(|w| w == b"disc bulge"), "no plaintext on disk");
    assert!(!stored.windows(5).any(|w| w == b"%PDF-"), "not even the magic number");

    // Download: the same bytes, the type from the content, an attachment.
    let (s, bytes, headers) = download(&app, &provider, &id).await;
    assert_eq!(s, 200);
    assert_eq!(bytes, content);
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"mri-report.pdf\""));

    // The same content again is a second document but the same stored file.
    let (s, again) =
        upload(&app, &provider, &patient, "file_name=copy.pdf&access_level=patient_visible", content.clone()).await;
    assert_eq!(s, 201, "{again}");
    let files: Vec<_> = files_under(&app.svc.documents_path())
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("documents/tmp/"))
        .collect();
    assert_eq!(files, vec![path.clone()], "stored once");
    let (s, list) = get(&app, &provider, &format!("/api/v1/patients/{patient}/documents")).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (s, bytes, _) = download(&app, &provider, again["id"].as_str().unwrap()).await;
    assert_eq!((s, bytes == content), (200, true));

    // Every upload, list and download is on record.
    let actions: Vec<String> = audit_actions(&app).await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(actions.iter().filter(|a| *a == "document.upload").count(), 2);
    assert_eq!(actions.iter().filter(|a| *a == "document.download").count(), 2);
    assert!(actions.contains(&"document.list".to_string()));

    // A tampered file never reaches the reader as content.
    let mut broken = stored.clone();
    let at = broken.len() - 20;
    broken[at] ^= 0x55;
    std::fs::write(&path, &broken).unwrap();
    let served =
        match app.client().get(app.url(&format!("/api/v1/documents/{id}/content"))).bearer_auth(&provider).send().await
        {
            Ok(res) => res.bytes().await.ok().map(|b| b.to_vec()),
            Err(_) => None,
        };
    assert!(served.is_none_or(|b| b != content), "a broken file is never served as good");
}

#[tokio::test]
async fn a_large_file_streams_through_in_chunks() {
    let app = TestApp::spawn().await;
    let (f, provider) = treating_provider(&app).await;
    // 3 MiB of text that is not a multiple of the chunk size.
    let line = "Session 12: gait training, 20 minutes on the treadmill, balance exercises.\n";
    let mut content = line.repeat(3 * 1024 * 1024 / line.len() + 7).into_bytes();
    content.truncate(3 * 1024 * 1024 + 123);
    let (s, doc) = upload(
        &app,
        &provider,
        &f.patient.id.to_string(),
        "file_name=log.txt&access_level=clinicians_only",
        content.clone(),
    )
    .await;
    assert_eq!(s, 201, "{doc}");
    assert_eq!(doc["media_type"], "text/plain; charset=utf-8");
    let (s, bytes, headers) = download(&app, &provider, doc["id"].as_str().unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(headers["content-length"], content.len().to_string().as_str());
    assert!(bytes == content, "the whole file, byte for byte");
}

#[tokio::test]
async fn disguised_unknown_and_oversized_uploads_are_refused_and_nothing_is_kept() {
    let test_db = Arc::new(TestDb::new().await);
    let settings = praxis_services::Settings { max_upload_bytes: 200 * 1024, ..test_settings() };
    let app = TestApp::spawn_on(test_db, settings).await;
    let (f, provider) = treating_provider(&app).await;
    let patient = f.patient.id.to_string();
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00".to_vec();
    exe.extend(std::iter::repeat_n(0u8, 5000));
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("file_name=report.pdf&access_level=clinicians_only", exe, 422, "type_not_allowed"),
        (
            "file_name=report.pdf&access_level=clinicians_only",
            b"<!DOCTYPE html><html><script>steal()</script>".to_vec(),
            422,
            "type_not_allowed",
        ),
        (
            "file_name=scan.pdf&access_level=clinicians_only",
            b"just some words, not a PDF".to_vec(),
            422,
            "type_mismatch",
        ),
        (
            "file_name=data.bin&access_level=clinicians_only",
            vec![0u8, 1, 2, 3, 255, 254, 0, 9],
            422,
            "type_not_allowed",
        ),
        (
            "file_name=big.pdf&access_level=clinicians_only",
            {
                let mut p = pdf("big");
                p.extend(std::iter::repeat_n(b' ', 300 * 1024));
                p
            },
            413,
            "too_large",
        ),
        ("file_name=empty.txt&access_level=clinicians_only", Vec::new(), 422, "empty"),
    ];
    for (query, bytes, status, code) in cases {
        let (s, body) = upload(&app, &provider, &patient, query, bytes).await;
        assert_eq!(s, status, "{query}: {body}");
        assert_eq!(body["errors"][0]["field"], "file", "{body}");
        assert_eq!(body["errors"][0]["code"], code, "{body}");
        assert!(!body["detail"].as_str().unwrap_or_default().is_empty());
    }
    // Bad details are refused before any byte is read.
    let (s, body) = upload(&app, &provider, &patient, "file_name=a.pdf&access_level=everyone", pdf("x")).await;
    assert_eq!((s, body["errors"][0]["field"].as_str()), (422, Some("access_level")));
    let (s, body) =
        upload(&app, &provider, &patient, "file_name=a.pdf&access_level=patient_visible&confidential=true", pdf("x"))
            .await;
    assert_eq!((s, body["errors"][0]["field"].as_str()), (422, Some("confidential")));

    // Nothing stored: no rows, no files (not even leftovers in tmp).
    let (n,): (i64,) = app.db.fetch_one(praxis_store::sql("SELECT COUNT(*) FROM documents")).await.unwrap();
    let (m,): (i64,) = app.db.fetch_one(praxis_store::sql("SELECT COUNT(*) FROM document_files")).await.unwrap();
    assert_eq!((n, m), (0, 0));
    assert!(files_under(&app.svc.documents_path()).is_empty(), "{:?}", files_under(&app.svc.documents_path()));
    // Every refusal of a file is on record with who tried.
    let refused: Vec<(String, String)> =
        audit_actions(&app).await.into_iter().filter(|(a, _)| a == "document.upload_refused").collect();
    assert_eq!(refused.len(), 6, "{refused:?}");
    assert!(refused[0].1.contains("report.pdf") && refused[0].1.contains("a program"), "{refused:?}");
}

#[tokio::test]
async fn details_change_within_what_one_may_file_and_removal_keeps_the_record() {
    let app = TestApp::spawn().await;
    let (f, provider) = treating_provider(&app).await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let patient = f.patient.id.to_string();
    let (s, doc) = upload(
        &app,
        &staff,
        &patient,
        "file_name=card.png&category=insurance&access_level=admin_only",
        b"\x89PNG\r\n\x1a\n0000IHDR".to_vec(),
    )
    .await;
    assert_eq!(s, 201, "{doc}");
    let id = doc["id"].as_str().unwrap();
    // Staff may not make it clinical, nor confidential.
    let res = app
        .client()
        .put(app.url(&format!("/api/v1/documents/{id}")))
        .bearer_auth(&staff)
        .json(&json!({"access_level": "clinicians_only"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .client()
        .put(app.url(&format!("/api/v1/documents/{id}")))
        .bearer_auth(&staff)
        .json(&json!({"title": "Insurance card (front)", "tags": "card"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["title"].as_str(), body["access_level"].as_str()),
        (Some("Insurance card (front)"), Some("admin_only"))
    );
    assert_eq!(body["tags"], json!(["card"]));
    // Tags are written in the shape they are read in: a list.
    let res = app
        .client()
        .put(app.url(&format!("/api/v1/documents/{id}")))
        .bearer_auth(&staff)
        .json(&json!({"tags": ["Card", "front"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["tags"], json!(["card", "front"]), "{body}");
    let res = app
        .client()
        .put(app.url(&format!("/api/v1/documents/{id}")))
        .bearer_auth(&staff)
        .json(&json!({"tags": [1, 2]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "tags are text");
    // The provider cannot see it at all (admin only), so cannot remove it: for them it
    // does not exist.
    let res =
        app.client().delete(app.url(&format!("/api/v1/documents/{id}"))).bearer_auth(&provider).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res =
        app.client().delete(app.url(&format!("/api/v1/documents/{id}"))).bearer_auth(&staff).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let (s, _) = get(&app, &staff, &format!("/api/v1/documents/{id}")).await;
    assert_eq!(s, 404, "removed from the record");
    let (n,): (i64,) = app
        .db
        .fetch_one(praxis_store::sql("SELECT COUNT(*) FROM documents WHERE removed_at IS NOT NULL"))
        .await
        .unwrap();
    assert_eq!(n, 1, "the row stays for the audit trail");
}

#[tokio::test]
async fn key_rotation_reseals_files_and_they_still_open() {
    let dir = std::env::temp_dir().join(format!("praxis-rotate-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let ring = praxis_services::crypto::KeyRing::from_file(dir.join("keys.json")).unwrap();
    let first = ring.current_id();
    let settings = praxis_services::Settings { keys: Arc::new(ring), ..test_settings() };
    let app = TestApp::spawn_on(Arc::new(TestDb::new().await), settings).await;
    let (f, provider) = treating_provider(&app).await;
    let content = pdf("Rotation keeps this readable");
    let (_, doc) = upload(
        &app,
        &provider,
        &f.patient.id.to_string(),
        "file_name=r.pdf&access_level=clinicians_only",
        content.clone(),
    )
    .await;
    let row =
        praxis_store::documents::get(&app.db, doc["id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
    let path = app.svc.document_file_path(&row.file_sha256);
    assert!(std::fs::read(&path).unwrap().windows(first.len()).any(|w| w == first.as_bytes()));
    let second = app.svc.keys().add_current_key().unwrap();
    let report = app.svc.reseal_all(&praxis_services::Actor::system("test")).await.unwrap();
    assert_eq!(report.resealed.get("document_files"), Some(&1), "{report:?}");
    let after = std::fs::read(&path).unwrap();
    assert!(after.windows(second.len()).any(|w| w == second.as_bytes()), "sealed under the new key");
    let (key,): (String,) = app.db.fetch_one(praxis_store::sql("SELECT key_id FROM document_files")).await.unwrap();
    assert_eq!(key, second);
    let (s, bytes, _) = download(&app, &provider, doc["id"].as_str().unwrap()).await;
    assert_eq!((s, bytes == content), (200, true));
    // Running it again finds nothing to do.
    let report = app.svc.reseal_all(&praxis_services::Actor::system("test")).await.unwrap();
    assert_eq!(report.already_current.get("document_files"), Some(&1));
    std::fs::remove_dir_all(dir).ok();
}
