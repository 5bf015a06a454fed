//! The pages of documents and intake forms, used as a person would: the chart's
//! documents tab (multipart upload, refusal on the form, download), the form builder,
//! the portal's form-filling page, the answers beside the appointment, and who may open
//! which page.

use crate::documents::pdf;
use crate::scheduling_api::{booking, post, tue};
use crate::*;
use praxis_domain::Role;
use serde_json::json;

/// Posts a multipart form (one file field last) with the CSRF token in the address.
async fn upload_page(
    b: &Browser,
    patient: &str,
    fields: &[(&str, &str)],
    file_name: &str,
    bytes: &[u8],
) -> (u16, Option<String>, String) {
    let csrf = b.csrf_of(&format!("/patients/{patient}/documents")).await;
    let boundary = "----praxis-test-boundary-7";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
    }
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = b
        .client
        .post(format!("{}/patients/{patient}/documents?_csrf={csrf}", b.base))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    let loc = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
    (s, loc, res.text().await.unwrap())
}

#[tokio::test]
async fn the_documents_tab_uploads_refuses_on_the_form_and_downloads() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let mut b = booking(&f, &tue("10:00"));
    b["patient_id"] = json!(f.patient.id);
    let (s, _) = post(&app, &admin, "/api/v1/appointments", b).await;
    assert_eq!(s, 201);
    let provider = app.browser_login(&f.provider_user).await;
    let patient = f.patient.id.to_string();

    let (s, page) = provider.get(&format!("/patients/{patient}/documents")).await;
    assert_eq!(s, 200);
    assert!(page.contains("Upload a document") && page.contains("enctype=\"multipart/form-data\""));
    assert!(
        page.contains("Clinicians only") && !page.contains("value=\"admin_only\""),
        "providers file clinical or shared documents"
    );

    // A program named .pdf: refused on the form, what was typed kept, nothing stored.
    let (s, _, page) = upload_page(
        &provider,
        &patient,
        &[("title", "Discharge letter"), ("access_level", "clinicians_only")],
        "letter.pdf",
        b"MZ\x90\x00this is a program",
    )
    .await;
    assert_eq!(s, 422);
    assert!(page.contains("looks like a program"), "{page}");
    assert!(page.contains("value=\"Discharge letter\""), "the title is kept");
    let (n,): (i64,) = app.db.fetch_one(praxis_store::sql("SELECT COUNT(*) FROM documents")).await.unwrap();
    assert_eq!(n, 0);

    // A real PDF goes in and comes back out.
    let content = pdf("Discharge summary for the chart");
    let (s, loc, _) = upload_page(
        &provider,
        &patient,
        &[
            ("title", "Discharge letter"),
            ("category", "letter"),
            ("access_level", "clinicians_only"),
            ("tags", "hospital"),
        ],
        "letter.pdf",
        &content,
    )
    .await;
    assert_eq!((s, loc.as_deref()), (303, Some(format!("/patients/{patient}/documents?msg=uploaded").as_str())));
    let (_, page) = provider.get(&format!("/patients/{patient}/documents?msg=uploaded")).await;
    assert!(page.contains("Discharge letter") && page.contains("Clinicians only") && page.contains("hospital"));
    let id = page.split("/documents/").nth(1).unwrap().split('/').next().unwrap().to_string();
    let res = provider.client.get(format!("{}/documents/{id}/download", provider.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.bytes().await.unwrap().to_vec(), content);

    // Staff see the tab without the clinical document, and cannot download it.
    let staff_user = app.create_user(&[Role::Staff]).await;
    let staff = app.browser_login(&staff_user).await;
    let (s, page) = staff.get(&format!("/patients/{patient}/documents")).await;
    assert_eq!(s, 200);
    assert!(!page.contains("Discharge letter"), "no clinical document in the staff list");
    assert!(page.contains("value=\"admin_only\""), "staff file paperwork");
    let (s, _) = staff.get(&format!("/documents/{id}/download")).await;
    assert_eq!(s, 404, "a document one may not see is not there");
    // The patient reaches neither the chart nor the clinical document.
    let patient_browser = app.browser_login(&f.patient_user).await;
    let (s, _) = patient_browser.get(&format!("/documents/{id}/download")).await;
    assert_eq!(s, 404);
    let (s, page) = patient_browser.get("/my/documents").await;
    assert_eq!(s, 200);
    assert!(!page.contains("Discharge letter"));
}

#[tokio::test]
async fn an_admin_builds_a_form_the_patient_fills_it_in_and_the_provider_reads_it() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let admin_user = app.create_user(&[Role::Admin]).await;
    let admin = app.browser_login(&admin_user).await;

    // The builder: a bad form is refused beside its fields, a good one saved.
    let (s, page) = admin.get("/setup/forms/new").await;
    assert_eq!(s, 200);
    assert!(page.contains("Question 3") && page.contains("Consultation"), "blank questions and the services");
    let (s, _, page) = admin
        .post_form(
            "/setup/forms/new",
            "/setup/forms",
            &[("name", ""), ("q0.label", "Favourite colour"), ("q0.kind", "choice"), ("q0.options", "Red")],
        )
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("Give the form a name") && page.contains("at least two options"), "{page}");
    assert!(page.contains("value=\"Favourite colour\""), "kept");
    let service = f.service.id.to_string();
    let (s, loc, _) = admin
        .post_form(
            "/setup/forms/new",
            "/setup/forms",
            &[
                ("name", "New patient questionnaire"),
                ("active", "1"),
                ("service_ids", &service),
                ("q0.label", "What brings you in?"),
                ("q0.kind", "text"),
                ("q0.required", "1"),
                ("q1.label", "Pain today"),
                ("q1.kind", "scale"),
                ("q1.required", "1"),
                ("q2.label", "Do you smoke?"),
                ("q2.kind", "yes_no"),
                ("q3.label", ""),
            ],
        )
        .await;
    assert_eq!(s, 303, "{loc:?}");
    let (_, list) = admin.get("/setup/forms").await;
    assert!(list.contains("New patient questionnaire") && list.contains("Consultation"));

    // The patient books the service, then fills the form in the portal.
    let patient = app.browser_login(&f.patient_user).await;
    let token = app.api_login(&f.patient_user).await;
    let (s, appt) = post(&app, &token, "/api/v1/appointments", booking(&f, &tue("09:00"))).await;
    assert_eq!(s, 201);
    let (_, forms) = patient.get("/my/forms").await;
    assert!(forms.contains("New patient questionnaire") && forms.contains("To fill in"));
    let id = forms.split("/my/forms/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let fill = format!("/my/forms/{id}");
    let (s, page) = patient.get(&fill).await;
    assert_eq!(s, 200);
    // Questions get keys q1, q2, … in order.
    assert!(page.contains("Pain today") && page.contains("name=\"a.q2\" value=\"10\""));
    let version = page.split("name=\"version_id\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let (s, _, page) = patient.post_form(&fill, &fill, &[("version_id", &version), ("a.q2", "4")]).await;
    assert_eq!(s, 422);
    assert!(page.contains("Please answer this question"), "the missing answer is named");
    assert!(page.contains("value=\"4\" checked"), "the scale answer is kept");
    let (s, loc, _) = patient
        .post_form(
            &fill,
            &fill,
            &[("version_id", &version), ("a.q1", "Stiff neck since Monday"), ("a.q2", "4"), ("a.q3", "no")],
        )
        .await;
    assert_eq!((s, loc.as_deref()), (303, Some("/my/forms?msg=sent")));

    // The provider sees the answers on the appointment and on the chart; staff only the status.
    let provider = app.browser_login(&f.provider_user).await;
    let (s, page) = provider.get(&format!("/appointments/{}", appt["id"].as_str().unwrap())).await;
    assert_eq!(s, 200);
    assert!(
        page.contains("Intake forms") && page.contains("Stiff neck since Monday"),
        "answers beside the appointment"
    );
    let (_, page) = provider.get(&format!("/patients/{}/forms", f.patient.id)).await;
    assert!(page.contains("Stiff neck since Monday") && page.contains("Answered"));
    let staff_user = app.create_user(&[Role::Staff]).await;
    let staff = app.browser_login(&staff_user).await;
    let (s, page) = staff.get(&format!("/appointments/{}", appt["id"].as_str().unwrap())).await;
    assert_eq!(s, 200);
    assert!(page.contains("Intake forms") && page.contains("Answered") && !page.contains("Stiff neck"));
    let (_, page) = staff.get(&format!("/patients/{}/forms", f.patient.id)).await;
    assert!(page.contains("Answered") && !page.contains("Stiff neck"));
    // Another patient cannot open this form.
    let (other, _) = app.patient_user().await;
    let other = app.browser_login(&other).await;
    let (s, _) = other.get(&fill).await;
    assert_eq!(s, 404);
    // Only administrators build forms.
    let (s, _) = staff.get("/setup/forms").await;
    assert_eq!(s, 403);
}
