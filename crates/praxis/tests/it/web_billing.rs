//! The staff billing pages as a receptionist, an administrator and a provider use them:
//! drafting from a completed visit, issuing, taking and refunding payments, voiding and
//! reissuing, claims, reports with their CSV, the billing settings — each refusal shown
//! beside its field with nothing written — and who may open which page.

use crate::billing::{call, completed_visit, sys, tue};
use crate::*;
use praxis_domain::Role;
use praxis_services::billing::settings::ServiceBillingInput;
use praxis_testkit::Browser;
use serde_json::{Value, json};

/// The id in a Location such as `/billing/invoices/<id>?msg=saved`.
fn invoice_in(location: &str) -> String {
    let rest = location.strip_prefix("/billing/invoices/").unwrap_or_else(|| panic!("{location}"));
    rest.split(['/', '?']).next().unwrap().to_string()
}

/// The text of a PDF as poppler's `pdftotext` reads it; `None` (the check skipped, loudly)
/// on a machine without poppler, so the README's test command needs nothing but Rust.
/// CI (PRAXIS_REQUIRE_PYTHON_CHECKS) installs poppler and insists on it.
fn pdf_text(bytes: &[u8]) -> Option<String> {
    use std::io::Write;
    let spawned = std::process::Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = spawned else {
        assert!(
            std::env::var("PRAXIS_REQUIRE_PYTHON_CHECKS").is_err(),
            "pdftotext (poppler-utils) is required here (apt-get install poppler-utils)"
        );
        eprintln!("SKIPPED reading the PDF back: install poppler-utils to run it (.ci/run does)");
        return None;
    };
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "pdftotext could not read the PDF");
    Some(String::from_utf8(out.stdout).unwrap())
}

async fn download(b: &Browser, path: &str) -> (u16, String, Vec<u8>) {
    let res = b.client.get(format!("{}{path}", b.base)).send().await.unwrap();
    let status = res.status().as_u16();
    let kind = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, kind, res.bytes().await.unwrap().to_vec())
}

async fn invoice_json(app: &TestApp, token: &str, id: &str) -> Value {
    let (s, inv) = call(app, token, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!(s, 200, "{inv}");
    inv
}

#[tokio::test]
async fn a_receptionist_drafts_issues_takes_payment_refunds_and_voids_through_the_pages() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (staff_user, token) = app.user_with_token(Role::Staff).await;
    let staff = app.browser_login(&staff_user).await;
    let appt = completed_visit(&app, &f, "10:00").await;

    // From the appointment: the patient is known and the visit is ticked.
    let new = format!("/billing/invoices/new?appointment_id={appt}");
    let (status, page) = staff.get(&new).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&f.patient.full_name()), "the patient is named");
    assert!(page.contains(&format!("value=\"{appt}\" checked")), "the visit is ticked");

    let clinic = f.clinic.id.to_string();
    let patient = f.patient.id.to_string();
    let appt_s = appt.to_string();
    let draft_fields = |price: &'static str| {
        vec![
            ("patient_id", patient.clone()),
            ("clinic_id", clinic.clone()),
            ("appointment_ids", appt_s.clone()),
            ("notes", "Thank you".to_string()),
            ("line_kind", String::new()),
            ("line_appointment", String::new()),
            ("line_provider", String::new()),
            ("line_date", String::new()),
            ("line_service", String::new()),
            ("line_description", "Report".to_string()),
            ("line_quantity", "1".to_string()),
            ("line_price", price.to_string()),
            ("line_discount", "10%".to_string()),
            ("line_tax", "0".to_string()),
            ("line_item", String::new()),
            ("line_rebate", String::new()),
            // An empty row is ignored.
            ("line_kind", String::new()),
            ("line_appointment", String::new()),
            ("line_provider", String::new()),
            ("line_date", String::new()),
            ("line_service", String::new()),
            ("line_description", String::new()),
            ("line_quantity", String::new()),
            ("line_price", String::new()),
            ("line_discount", String::new()),
            ("line_tax", String::new()),
            ("line_item", String::new()),
            ("line_rebate", String::new()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let post = |fields: Vec<(&'static str, String)>| {
        let staff = &staff;
        let new = new.clone();
        async move {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            staff.post_form(&new, "/billing/invoices/new", &refs).await
        }
    };

    // Too many decimal places: refused beside the line's price, nothing drafted.
    let (status, _, body) = post(as_refs(&draft_fields("33.333"))).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("at most 2 digits"), "the message is beside the price");
    assert!(body.contains("value=\"33.333\""), "what was typed is kept");
    let count = call(&app, &token, "GET", "/api/v1/invoices", None).await.1["total"].as_i64().unwrap();
    assert_eq!(count, 0, "nothing was written");

    let (status, location, body) = post(as_refs(&draft_fields("33.33"))).await;
    assert_eq!(status, 303, "{body}");
    let location = location.unwrap();
    let id = invoice_in(&location);
    let (_, view) = staff.get(&location).await;
    assert!(view.contains("Draft invoice") && view.contains("The draft was saved."));
    // 120.00 + 10 % GST, and the report 33.33 less 10 % = 30.00 GST-free.
    assert!(view.contains("$162.00"), "the total is shown in dollars");
    assert!(view.contains("$12.00"), "GST on the visit");

    // The draft can be edited: its lines come back as rows.
    let (status, edit) = staff.get(&format!("/billing/invoices/{id}/edit")).await;
    assert_eq!(status, 200);
    assert!(edit.contains("value=\"Report\"") && edit.contains("value=\"10%\""), "lines are editable as typed");

    // Issue it: numbered from the clinic's counter.
    let (status, location, body) = staff
        .post_form(&location, &format!("/billing/invoices/{id}/issue"), &[("issue_date", ""), ("send", "on")])
        .await;
    assert_eq!(status, 303, "{body}");
    let (_, view) = staff.get(&location.unwrap()).await;
    assert!(view.contains("Invoice INV-2026-000001"), "numbered");
    assert!(view.contains("Take a payment"), "an issued invoice takes payments");
    let (status, _) = staff.get(&format!("/billing/invoices/{id}/edit")).await;
    assert_eq!(status, 303, "an issued invoice's edit address leads back to the invoice");

    // Payments: overpaying and no method are refused beside the field.
    let page = format!("/billing/invoices/{id}");
    let pay = |method: &'static str, amount: &'static str, reference: &'static str| {
        let staff = &staff;
        let page = page.clone();
        let id = id.clone();
        async move {
            staff
                .post_form(
                    &page,
                    &format!("/billing/invoices/{id}/payments"),
                    &[
                        ("method", method),
                        ("amount", amount),
                        ("received_on", ""),
                        ("reference", reference),
                        ("note", ""),
                        ("request_key", ""),
                    ],
                )
                .await
        }
    };
    let (status, _, body) = pay("cash", "200.00", "").await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("value=\"200.00\""), "the amount typed is kept");
    assert!(body.contains("class=\"error\""), "the reason is beside the field");
    let (status, _, body) = pay("", "10.00", "").await;
    assert_eq!(status, 422);
    assert!(body.contains("Choose how the money was paid."));
    assert_eq!(invoice_json(&app, &token, &id).await["payments"].as_array().unwrap().len(), 0, "nothing was recorded");
    let (status, _, body) = pay("card", "100.00", "").await;
    assert_eq!(status, 303, "{body}");
    let (_, view) = staff.get(&format!("{page}?msg=paid")).await;
    assert!(view.contains("Partly paid") && view.contains("$62.00"), "the balance follows");

    // Refunds: never more than was paid on that payment.
    let inv = invoice_json(&app, &token, &id).await;
    let payment = inv["payments"][0]["id"].as_str().unwrap().to_string();
    let receipt = inv["payments"][0]["receipt_number"].as_str().unwrap().to_string();
    let refund_page = format!("/billing/invoices/{id}/payments/{payment}/refund");
    let (status, form) = staff.get(&refund_page).await;
    assert_eq!(status, 200);
    assert!(form.contains("value=\"100.00\""), "the refundable amount is offered");
    let (status, _, body) = staff
        .post_form(&refund_page, &refund_page, &[("amount", "150.00"), ("reason", "Too much"), ("request_key", "")])
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, location, _) = staff
        .post_form(&refund_page, &refund_page, &[("amount", "40.00"), ("reason", "Overcharged"), ("request_key", "")])
        .await;
    assert_eq!(status, 303);
    let (_, view) = staff.get(&location.unwrap()).await;
    assert!(view.contains("The refund was recorded.") && view.contains("Overcharged") && view.contains("RFD-2026-"));

    // The PDFs read back with poppler: the numbers and amounts are there.
    let (status, kind, bytes) = download(&staff, &format!("/billing/invoices/{id}/pdf")).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    if let Some(text) = pdf_text(&bytes) {
        assert!(text.contains("INV-2026-000001") && text.contains("$162.00"), "{text}");
    }
    let (status, _, bytes) = download(&staff, &format!("/billing/receipts/{payment}/pdf")).await;
    assert_eq!(status, 200);
    if let Some(text) = pdf_text(&bytes) {
        assert!(text.contains(&receipt) && text.contains("$100.00"), "{text}");
    }

    // Void needs a reason; then it can be reissued as a new draft.
    let (status, _, body) = staff.post_form(&page, &format!("/billing/invoices/{id}/void"), &[("reason", " ")]).await;
    assert!([409, 422].contains(&status), "{status} {body}");
    assert_ne!(invoice_json(&app, &token, &id).await["status"], "void");
    let void = format!("/billing/invoices/{id}/void");
    let (status, _, body) = staff.post_form(&page, &void, &[("reason", "Wrong patient")]).await;
    assert_eq!(status, 409, "money was taken: refund it first");
    assert!(body.contains("Refund the payments first"), "{body}");
    let (status, _, _) = staff
        .post_form(&refund_page, &refund_page, &[("amount", "60.00"), ("reason", "Wrong patient"), ("request_key", "")])
        .await;
    assert_eq!(status, 303);
    let (status, _, body) = staff.post_form(&page, &void, &[("reason", "Wrong patient")]).await;
    assert_eq!(status, 303, "{body}");
    let (_, view) = staff.get(&page).await;
    assert!(view.contains("Void: Wrong patient") && view.contains("Reissue as a new draft"));
    assert!(!view.contains("Take a payment"), "a void invoice takes no payment");
    let (status, location, _) = staff.post_form(&page, &format!("/billing/invoices/{id}/reissue"), &[]).await;
    assert_eq!(status, 303);
    let reissued = invoice_in(&location.unwrap());
    assert_ne!(reissued, id, "a new draft");
    let (_, view) = staff.get(&format!("/billing/invoices/{reissued}")).await;
    assert!(view.contains("Draft invoice") && view.contains("Report"), "with the void invoice's lines");

    // The list: filters, and a bad one refused with a message.
    let (status, list) = staff.get("/billing?status=open").await;
    assert_eq!(status, 200);
    assert!(!list.contains("INV-2026-000001"), "the void invoice owes nothing");
    let (_, list) = staff.get("/billing?status=void").await;
    assert!(list.contains("INV-2026-000001"), "{list}");
    let (_, list) = staff.get(&format!("/billing?status=void&provider_id={}", f.provider.id)).await;
    assert!(list.contains("INV-2026-000001"), "filtered by the visit's provider");
    assert!(list.contains("<option value=\"\">Any provider</option>") || list.contains("Any provider"));
    let (other_provider, _) = app.provider(&[f.clinic.id], &[f.service.id]).await;
    let as_other = praxis_services::Actor {
        user_id: Some(other_provider.id),
        roles: praxis_domain::Roles::of(&[Role::Provider]),
        ..sys()
    };
    let other = app.svc.my_provider(&as_other).await.unwrap().unwrap();
    let (_, list) = staff.get(&format!("/billing?status=void&provider_id={}", other.id)).await;
    assert!(!list.contains("INV-2026-000001"), "another provider's filter leaves it out");
    let (status, list) = staff.get("/billing?from=yesterday").await;
    assert_eq!(status, 422);
    assert!(list.contains("Give a date like"));
    let (status, _) = staff.get("/billing?status=lost").await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn claims_reports_and_settings_pages_follow_the_payer_and_refuse_bad_input_beside_the_field() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (staff_user, token) = app.user_with_token(Role::Staff).await;
    let staff = app.browser_login(&staff_user).await;
    let admin_user = app.create_user(&[Role::Admin]).await;
    let admin = app.browser_login(&admin_user).await;

    // The service's terms: a bad rebate is refused beside it; then item 80110 with a rebate.
    let terms = format!("/billing/settings/services/{}", f.service.id);
    let (status, form) = admin.get(&terms).await;
    assert_eq!(status, 200, "{form}");
    let (status, _, body) = admin
        .post_form(
            &terms,
            &terms,
            &[
                ("tax", ""),
                ("item_number", "80110"),
                ("rebate", "lots"),
                ("deposit", "0"),
                ("late_cancel_fee", "0"),
                ("no_show_fee", "0"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("value=\"lots\""));
    let (status, _, body) = admin
        .post_form(
            &terms,
            &terms,
            &[
                ("tax", "0"),
                ("item_number", "80110"),
                ("rebate", "50.00"),
                ("deposit", "0"),
                ("late_cancel_fee", "0"),
                ("no_show_fee", "0"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let b = app.svc.get_service_billing(&sys(), f.service.id).await.unwrap();
    assert_eq!((b.tax_bp, b.item_number.as_deref(), b.rebate_minor), (Some(0), Some("80110"), 5000));
    assert_eq!(staff.get(&terms).await.0, 403, "staff read the terms but do not change them");

    // The clinic's details: a tax rate over 100 % is refused beside the field.
    let clinic = format!("/billing/settings/clinics/{}", f.clinic.id);
    let clinic_fields = |tax: &'static str| {
        vec![
            ("legal_name", "Harbour Allied Health Pty Ltd"),
            ("tax_label", "ABN"),
            ("tax_number", "51 824 753 556"),
            ("tax_name", "GST"),
            ("default_tax", tax),
            ("currency", "AUD"),
            ("payment_terms_days", "14"),
            ("invoice_prefix", "INV"),
            ("upi_vpa", ""),
            ("upi_payee_name", ""),
            ("bank_details", ""),
            ("invoice_note", ""),
        ]
    };
    let (status, _, body) = admin.post_form(&clinic, &clinic, &clinic_fields("150")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("value=\"150\""));
    let (status, _, _) = admin.post_form(&clinic, &clinic, &clinic_fields("10")).await;
    assert_eq!(status, 303);
    let (_, overview) = staff.get("/billing/settings").await;
    assert!(overview.contains("51 824 753 556") && overview.contains("80110"), "staff see the settings");
    assert_eq!(staff.get(&clinic).await.0, 403);

    // A visit billed with the rebate makes a claim; the claims page moves it on.
    let appt = completed_visit(&app, &f, "10:00").await;
    let (s, draft) = call(
        &app,
        &token,
        "POST",
        "/api/v1/invoices",
        Some(json!({"patient_id": f.patient.id, "appointment_ids": [appt]})),
    )
    .await;
    assert_eq!(s, 201, "{draft}");
    let id = draft["id"].as_str().unwrap();
    let (s, _) =
        call(&app, &token, "POST", &format!("/api/v1/invoices/{id}/issue"), Some(json!({"send": false}))).await;
    assert_eq!(s, 200);
    let (status, claims) = staff.get("/billing/claims").await;
    assert_eq!(status, 200);
    assert!(claims.contains("80110") && claims.contains("Not yet sent") && claims.contains("$50.00"), "{claims}");
    let claim =
        call(&app, &token, "GET", "/api/v1/claims", None).await.1["items"][0]["id"].as_str().unwrap().to_string();
    let step = format!("/billing/claims/{claim}");
    let (status, _, body) =
        staff.post_form("/billing/claims", &step, &[("action", "submit"), ("reference", "MC-1")]).await;
    assert_eq!(status, 303, "{body}");
    let (status, _, body) =
        staff.post_form("/billing/claims", &step, &[("action", "approve"), ("approved", "fifty")]).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("value=\"fifty\""), "the amount typed is kept on its claim");
    let (status, _, _) =
        staff.post_form("/billing/claims", &step, &[("action", "approve"), ("approved", "45.00")]).await;
    assert_eq!(status, 303);
    let (_, claims) = staff.get("/billing/claims?status=approved").await;
    assert!(claims.contains("approved $45.00"), "{claims}");
    let (status, _) = staff.get("/billing/claims?status=lost").await;
    assert_eq!(status, 422);

    // Reports: the chart (with its text alternative) and the table, and the CSVs.
    let (status, reports) = staff.get("/billing/reports?from=2026-03-01&until=2026-03-31").await;
    assert_eq!(status, 200, "{reports}");
    assert!(reports.matches("<svg").count() >= 3, "revenue, payments and tax charts: {reports}");
    assert!(reports.contains("<title id=\"ch-revenue-per-month-aud-t\""), "each chart has its own title id");
    assert!(reports.contains("$120.00"), "the visit's revenue before tax (GST-free now)");
    let (status, kind, body) = download(&staff, "/billing/reports/revenue.csv?from=2026-03-01&until=2026-03-31").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/csv"));
    assert!(String::from_utf8(body).unwrap().lines().count() >= 2, "a header and a row");
    let (status, _) = staff.get("/billing/reports?from=2026-04-01&until=2026-03-01").await;
    assert_eq!(status, 422, "a period that ends before it starts");
    assert_eq!(staff.get("/billing/reports/secret.csv").await.0, 404);
}

#[tokio::test]
async fn every_billing_page_for_every_role() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, token) = app.user_with_token(Role::Staff).await;
    app.svc
        .set_service_billing(
            &sys(),
            f.service.id,
            ServiceBillingInput { item_number: "80110".into(), rebate_minor: 5000, ..ServiceBillingInput::default() },
        )
        .await
        .unwrap();
    let appt = completed_visit(&app, &f, "10:00").await;
    let (_, draft) = call(
        &app,
        &token,
        "POST",
        "/api/v1/invoices",
        Some(json!({"patient_id": f.patient.id, "appointment_ids": [appt]})),
    )
    .await;
    let issued = draft["id"].as_str().unwrap().to_string();
    call(&app, &token, "POST", &format!("/api/v1/invoices/{issued}/issue"), Some(json!({"send": false}))).await;
    let (s, pay) = call(
        &app,
        &token,
        "POST",
        &format!("/api/v1/invoices/{issued}/payments"),
        Some(json!({"method": "cash", "amount_minor": 1000})),
    )
    .await;
    assert_eq!(s, 201, "{pay}");
    let payment = pay["id"].as_str().unwrap().to_string();
    let (_, draft) = call(
        &app,
        &token,
        "POST",
        "/api/v1/invoices",
        Some(json!({"patient_id": f.patient.id, "clinic_id": f.clinic.id, "lines": [{"description": "Letter", "unit_price_minor": 2000}]})),
    )
    .await;
    let draft = draft["id"].as_str().unwrap().to_string();
    let clinic = f.clinic.id.to_string();
    let service = f.service.id.to_string();

    const ADMIN_STAFF: &[Role] = &[Role::Admin, Role::Staff];
    const MONEY_READERS: &[Role] = &[Role::Admin, Role::Staff, Role::Provider];
    let pages: Vec<(String, &[Role])> = vec![
        ("/billing".into(), MONEY_READERS),
        ("/billing?status=open".into(), MONEY_READERS),
        (format!("/billing/invoices/{issued}"), MONEY_READERS),
        (format!("/billing/invoices/{issued}/pdf"), &[Role::Admin, Role::Staff, Role::Provider, Role::Patient]),
        (format!("/billing/receipts/{payment}/pdf"), &[Role::Admin, Role::Staff, Role::Provider, Role::Patient]),
        ("/billing/invoices/new".into(), ADMIN_STAFF),
        (format!("/billing/invoices/new?patient_id={}", f.patient.id), ADMIN_STAFF),
        (format!("/billing/invoices/new?appointment_id={appt}"), ADMIN_STAFF),
        (format!("/billing/invoices/{draft}/edit"), ADMIN_STAFF),
        (format!("/billing/invoices/{issued}/payments/{payment}/refund"), ADMIN_STAFF),
        ("/billing/claims".into(), ADMIN_STAFF),
        ("/billing/reports".into(), MONEY_READERS),
        ("/billing/reports/aged.csv".into(), MONEY_READERS),
        ("/billing/settings".into(), ADMIN_STAFF),
        (format!("/billing/settings/clinics/{clinic}"), &[Role::Admin]),
        (format!("/billing/settings/services/{service}"), &[Role::Admin]),
    ];
    for role in [Role::Admin, Role::Staff, Role::Provider, Role::Patient] {
        let browser = match role {
            Role::Provider => app.browser_login(&f.provider_user).await,
            Role::Patient => app.browser_login(&f.patient_user).await,
            r => app.browser_login(&app.create_user(&[r]).await).await,
        };
        for (path, allowed) in &pages {
            let res = browser.client.get(app.url(path)).send().await.unwrap();
            let status = res.status().as_u16();
            if allowed.contains(&role) {
                assert_eq!(status, 200, "{path} {role:?}");
            } else if role == Role::Patient
                && (path.starts_with("/billing?")
                    || path == "/billing"
                    || path == &format!("/billing/invoices/{issued}"))
            {
                // Patients are sent to their own invoice pages in the portal.
                assert_eq!(status, 303, "{path} patient");
                assert!(res.headers()["location"].to_str().unwrap().starts_with("/my/invoices"));
            } else {
                assert!([403, 404].contains(&status), "{path} {role:?} → {status}");
            }
        }
    }
    // Another provider and another patient see nothing of this invoice.
    let (other_provider, _) = app.provider(&[f.clinic.id], &[f.service.id]).await;
    let other = app.browser_login(&other_provider).await;
    assert_eq!(other.get(&format!("/billing/invoices/{issued}")).await.0, 404);
    assert_eq!(other.get(&format!("/billing/invoices/{issued}/pdf")).await.0, 404);
    let (other_patient, _) = app.patient_user().await;
    let other = app.browser_login(&other_patient).await;
    assert_eq!(other.get(&format!("/billing/receipts/{payment}/pdf")).await.0, 404);
    // The nav offers Billing to the clinic's people, not to patients.
    let (_, home) = app.browser_login(&f.provider_user).await.get("/").await;
    assert!(home.contains("href=\"/billing\""));
    let (_, home) = app.browser_login(&f.patient_user).await.get("/").await;
    assert!(!home.contains("href=\"/billing\"") && home.contains("href=\"/my/invoices\""));
}

#[tokio::test]
async fn a_rupee_invoice_shows_its_upi_code_on_the_page_and_the_pdf_and_is_emailed_with_the_pdf_attached() {
    use praxis_services::billing::settings::ClinicBillingInput;
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let input = ClinicBillingInput {
        legal_name: "Harbour Clinic Pvt Ltd".into(),
        tax_label: "GSTIN".into(),
        tax_number: "27AAPFU0939F1ZV".into(),
        tax_name: "GST".into(),
        default_tax_bp: Some(1800),
        currency: "INR".into(),
        payment_terms_days: Some(7),
        invoice_prefix: "HC".into(),
        upi_vpa: "harbour@okaxis".into(),
        upi_payee_name: "Harbour Clinic".into(),
        online_payments: false,
        ..ClinicBillingInput::default()
    };
    app.svc.set_clinic_billing(&sys(), f.clinic.id, input).await.unwrap();
    let (staff_user, token) = app.user_with_token(Role::Staff).await;
    let staff = app.browser_login(&staff_user).await;
    let (s, draft) = call(
        &app,
        &token,
        "POST",
        "/api/v1/invoices",
        Some(json!({"patient_id": f.patient.id, "clinic_id": f.clinic.id,
            "lines": [{"description": "Physiotherapy session", "unit_price_minor": 200000}]})),
    )
    .await;
    assert_eq!(s, 201, "{draft}");
    let id = draft["id"].as_str().unwrap().to_string();
    let page = format!("/billing/invoices/{id}");
    let (status, _, body) =
        staff.post_form(&page, &format!("{page}/issue"), &[("issue_date", ""), ("send", "on")]).await;
    assert_eq!(status, 303, "{body}");

    // 2,000 + 18 % GST = 2,360 rupees, payable by UPI with the invoice number as reference.
    let (_, view) = staff.get(&page).await;
    assert!(view.contains("₹2,360.00"), "rupees with Indian grouping and symbol");
    assert!(view.contains("upi://pay?pa=harbour%40okaxis") && view.contains("tr=HC-2026-000001"), "{view}");
    assert!(view.contains("<svg") && view.contains("UPI QR code to pay"), "the QR code with a text alternative");
    assert!(view.contains("<option value=\"upi\""), "UPI is offered as a payment method");
    let (_, _, bytes) = download(&staff, &format!("{page}/pdf")).await;
    if let Some(text) = pdf_text(&bytes) {
        assert!(text.contains("HC-2026-000001") && text.contains("27AAPFU0939F1ZV"), "{text}");
        assert!(text.contains("UPI") && text.contains("harbour@okaxis"), "the PDF carries the UPI request: {text}");
    }

    // The email goes out through the queue with the invoice's PDF attached.
    let (w, mailer) = crate::billing::worker(&app);
    w.run_until_idle().await;
    let sent = mailer.sent.lock().unwrap().clone();
    let mail = sent.iter().find(|m| m.subject.contains("HC-2026-000001")).expect("the invoice was emailed");
    assert_eq!(mail.to, f.patient.email.clone().unwrap());
    let pdf = mail.files.iter().find(|a| a.content_type == "application/pdf").expect("a PDF is attached");
    assert_eq!(pdf.filename, "HC-2026-000001.pdf");
    if let Some(attached) = pdf_text(&pdf.bytes) {
        assert!(attached.contains("HC-2026-000001") && attached.contains("2,360.00"), "{attached}");
    }

    // UPI needs the transaction reference; with it, the payment settles the invoice.
    let pay = |reference: &'static str| {
        let staff = &staff;
        let page = page.clone();
        async move {
            staff
                .post_form(
                    &page,
                    &format!("{page}/payments"),
                    &[
                        ("method", "upi"),
                        ("amount", "2,360.00"),
                        ("received_on", ""),
                        ("reference", reference),
                        ("note", ""),
                        ("request_key", ""),
                    ],
                )
                .await
        }
    };
    let (status, _, body) = pay("").await;
    assert_eq!(status, 422, "{body}");
    let (status, _, _) = pay("UPI-412233445566").await;
    assert_eq!(status, 303);
    let (_, view) = staff.get(&page).await;
    assert!(view.contains("UPI-412233445566") && view.contains(">Paid<"), "paid with the reference kept");
    assert!(!view.contains("upi://pay"), "nothing is owed, so no UPI code");
}
