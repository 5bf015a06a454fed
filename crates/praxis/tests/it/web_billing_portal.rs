//! Billing as patients and the clinic's people meet it outside the billing area: the
//! patient's invoices in the portal (list, one invoice, PDFs, paying online through
//! Stripe's payment element, UPI), the chart's balance and referrals, the appointment
//! panel's invoices, the booking page's funding warnings and the dashboard's money.

use crate::billing::{call, completed_visit, sys, tue};
use crate::*;
use praxis_domain::Role;
use praxis_services::billing::ReferralRequest;
use praxis_services::billing::settings::ClinicBillingInput;
use praxis_services::billing::stripe::StripeGateway;
use praxis_testkit::scheduling::Fixture;
use praxis_testkit::stripe::FakeStripe;
use serde_json::{Value, json};
use std::sync::Arc;

/// Drafts an invoice from `body` and issues it; returns the issued invoice.
async fn issue(app: &TestApp, token: &str, body: Value) -> Value {
    let (s, draft) = call(app, token, "POST", "/api/v1/invoices", Some(body)).await;
    assert_eq!(s, 201, "{draft}");
    let id = draft["id"].as_str().unwrap().to_string();
    let (s, inv) =
        call(app, token, "POST", &format!("/api/v1/invoices/{id}/issue"), Some(json!({"send": false}))).await;
    assert_eq!(s, 200, "{inv}");
    inv
}

/// A completed visit on Tuesday at 10:00, invoiced and issued ($132.00 with GST).
async fn visit_invoice(app: &TestApp, f: &Fixture, token: &str) -> (praxis_domain::AppointmentId, Value) {
    app.clock.set(tue("08:00").parse().unwrap());
    let appt = completed_visit(app, f, "10:00").await;
    let inv = issue(app, token, json!({"patient_id": f.patient.id, "appointment_ids": [appt]})).await;
    assert_eq!(inv["total_minor"], 13200);
    (appt, inv)
}

async fn pay(app: &TestApp, token: &str, invoice: &str, amount: i64) -> Value {
    let (s, p) = call(
        app,
        token,
        "POST",
        &format!("/api/v1/invoices/{invoice}/payments"),
        Some(json!({"method": "cash", "amount_minor": amount})),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    p
}

/// GETs `path`: status, content type and bytes.
async fn download(b: &Browser, path: &str) -> (u16, String, Vec<u8>) {
    let res = b.client.get(format!("{}{path}", b.base)).send().await.unwrap();
    let status = res.status().as_u16();
    let ctype = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    (status, ctype, res.bytes().await.unwrap().to_vec())
}

async fn app_with_stripe() -> (TestApp, FakeStripe, String) {
    let fake = FakeStripe::start().await;
    let script = format!("{}/v3/", fake.base_url());
    let mut settings = test_settings();
    settings.payment_gateway = Some(Arc::new(StripeGateway::new(fake.config(), Some(script.clone())).unwrap()));
    let app = TestApp::spawn_on(Arc::new(TestDb::new().await), settings).await;
    (app, fake, script)
}

#[tokio::test]
async fn a_patient_sees_their_own_invoices_payments_and_pdfs_and_nothing_of_anyone_else() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (_, inv) = visit_invoice(&app, &f, &staff).await;
    let id = inv["id"].as_str().unwrap().to_string();
    let payment = pay(&app, &staff, &id, 5000).await;
    let pid = payment["id"].as_str().unwrap().to_string();
    // A draft the clinic is still preparing: never the patient's to see.
    let (s, draft) = call(
        &app,
        &staff,
        "POST",
        "/api/v1/invoices",
        Some(json!({"patient_id": f.patient.id, "clinic_id": f.clinic.id,
            "lines": [{"description": "Report for the school", "unit_price_minor": 4400}]})),
    )
    .await;
    assert_eq!(s, 201, "{draft}");
    let draft = draft["id"].as_str().unwrap().to_string();

    let patient = app.browser_login(&f.patient_user).await;
    let (s, list) = patient.get("/my/invoices").await;
    assert_eq!(s, 200);
    assert!(list.contains(&format!("href=\"/my/invoices/{id}\"")) && list.contains("INV-2026-000001"), "{list}");
    assert!(list.contains("$132.00") && list.contains("$82.00"), "total and balance formatted: {list}");
    assert!(list.contains("Partly paid") && list.contains("Harbour Clinic"));
    assert!(list.contains("1–1 of 1"), "the list pages and counts");
    assert!(!list.contains(&draft) && !list.contains("Report for the school") && !list.contains("$48.40"));
    assert!(list.contains("aria-current=\"page\">Invoices"), "the nav says where the patient is");

    let (s, page) = patient.get(&format!("/my/invoices/{id}")).await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("Invoice INV-2026-000001"));
    assert!(page.contains("$120.00") && page.contains("$12.00") && page.contains("$132.00"), "price, GST, total");
    assert!(page.contains("10 %"), "the GST rate");
    assert!(page.contains("You owe <strong>$82.00</strong>"), "{page}");
    assert!(page.contains("RCT-2026-000001") && page.contains(&format!("/my/receipts/{pid}/pdf")));
    assert!(page.contains("$50.00") && page.contains("Cash"));
    assert!(page.contains(&format!("/my/invoices/{id}/pdf")) && page.contains("Download PDF"));
    assert!(!page.contains("Pay online"), "no online payment without a gateway");
    assert!(!page.contains("Pay by UPI"), "no UPI for an Australian clinic");

    // Drafts answer 404 even to their patient.
    assert_eq!(patient.get(&format!("/my/invoices/{draft}")).await.0, 404);
    assert_eq!(download(&patient, &format!("/my/invoices/{draft}/pdf")).await.0, 404);

    // The PDFs download as PDFs.
    let (s, ctype, bytes) = download(&patient, &format!("/my/invoices/{id}/pdf")).await;
    assert_eq!((s, ctype.as_str()), (200, "application/pdf"));
    assert!(bytes.starts_with(b"%PDF"));
    let (s, ctype, bytes) = download(&patient, &format!("/my/receipts/{pid}/pdf")).await;
    assert_eq!((s, ctype.as_str()), (200, "application/pdf"));
    assert!(bytes.starts_with(b"%PDF"));

    // Another patient: an empty list that says what it means, and 404 for all of it.
    let (other_user, _) = app.patient_user().await;
    let other = app.browser_login(&other_user).await;
    let (s, empty) = other.get("/my/invoices").await;
    assert_eq!(s, 200);
    assert!(empty.contains("No invoices yet") && !empty.contains("INV-2026-000001"), "{empty}");
    for path in [
        format!("/my/invoices/{id}"),
        format!("/my/invoices/{id}/pdf"),
        format!("/my/invoices/{id}/pay"),
        format!("/my/receipts/{pid}/pdf"),
    ] {
        let (s, _, body) = download(&other, &path).await;
        assert_eq!(s, 404, "{path}");
        let body = String::from_utf8_lossy(&body);
        assert!(!body.contains("INV-2026-000001") && !body.contains("$132.00"), "{path} reveals nothing");
    }
    assert_eq!(other.get("/my/invoices/not-an-id").await.0, 404);

    // Without online payment the pay page says so kindly, with the way back.
    let (s, page) = patient.get(&format!("/my/invoices/{id}/pay")).await;
    assert_eq!(s, 409, "{page}");
    assert!(page.contains("Online payment is not set up at this clinic"), "{page}");
    assert!(page.contains(&format!("href=\"/my/invoices/{id}\"")) && !page.contains("Something went wrong"));
    assert!(!page.contains("payment-element"));

    // The clinic's people are sent to their own pages.
    let desk = app.browser_login(&app.create_user(&[Role::Staff]).await).await;
    let res = desk.client.get(app.url("/my/invoices")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.headers()["location"].to_str().unwrap()), (303, "/billing"));
}

#[tokio::test]
async fn an_inr_clinic_with_a_upi_id_shows_the_upi_link_and_an_inline_qr_code() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let clinic = app.clinic("Bandra Clinic", "Asia/Kolkata").await;
    app.svc
        .set_clinic_billing(
            &sys(),
            clinic.id,
            ClinicBillingInput {
                currency: "INR".into(),
                upi_vpa: "bandraclinic@okaxis".into(),
                upi_payee_name: "Bandra Clinic".into(),
                online_payments: true,
                ..ClinicBillingInput::default()
            },
        )
        .await
        .unwrap();
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let inv = issue(
        &app,
        &staff,
        json!({"patient_id": f.patient.id, "clinic_id": clinic.id,
            "lines": [{"description": "Physiotherapy session", "unit_price_minor": 200000, "tax_rate_bp": 0}]}),
    )
    .await;
    let id = inv["id"].as_str().unwrap();
    assert_eq!(inv["currency"], "INR");

    let patient = app.browser_login(&f.patient_user).await;
    let (_, list) = patient.get("/my/invoices").await;
    assert!(list.contains("₹2,000.00"), "{list}");
    let (s, page) = patient.get(&format!("/my/invoices/{id}")).await;
    assert_eq!(s, 200);
    assert!(page.contains("Pay by UPI"), "{page}");
    assert!(
        page.contains("href=\"upi://pay?pa=bandraclinic%40okaxis&#38;pn=Bandra%20Clinic&#38;am=2000.00"),
        "the link as a button: {page}"
    );
    assert!(page.contains("Open in UPI app") && page.contains("bandraclinic@okaxis"));
    assert!(page.contains("<strong>₹2,000.00</strong>"), "the amount beside the code");
    let svg = &page[page.find("<svg xmlns").expect("an inline SVG QR code")..];
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\""), "not escaped");
    assert!(svg.contains("<title>UPI QR code to pay ₹2,000.00 to Bandra Clinic</title>"), "the SVG has a title");

    // Once paid there is nothing to scan.
    pay(&app, &staff, id, 200000).await;
    let (_, page) = patient.get(&format!("/my/invoices/{id}")).await;
    assert!(!page.contains("upi://") && !page.contains("<svg xmlns") && page.contains("Paid"));
}

#[tokio::test]
async fn the_pay_page_loads_the_processors_script_with_the_client_secret_or_says_why_it_cannot() {
    let (app, fake, script) = app_with_stripe().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (_, inv) = visit_invoice(&app, &f, &staff).await;
    let id = inv["id"].as_str().unwrap().to_string();
    let patient = app.browser_login(&f.patient_user).await;

    let (_, page) = patient.get(&format!("/my/invoices/{id}")).await;
    assert!(page.contains(&format!("href=\"/my/invoices/{id}/pay\"")) && page.contains("Pay online $132.00"));

    let res = patient.client.get(app.url(&format!("/my/invoices/{id}/pay"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    let page = res.text().await.unwrap();
    let origin = fake.base_url();
    assert!(csp.contains(&format!("script-src 'self' {origin};")), "{csp}");
    assert!(csp.contains(&format!("frame-src {origin}")) && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(page.contains(&format!("<script src=\"{script}\" defer></script>")), "{page}");
    assert!(page.contains("<script src=\"/static/portal.js\" defer></script>"));
    assert!(page.contains("You are paying <strong>$132.00</strong> for invoice"), "{page}");
    assert!(page.contains("INV-2026-000001"));
    let intents = fake.intents();
    assert_eq!(intents.len(), 1, "the page started one payment");
    let secret = intents[0].client_secret.clone().unwrap();
    assert!(secret.contains("_secret_"));
    assert!(page.contains(&format!("data-client-secret=\"{secret}\"")), "{page}");
    assert!(page.contains(&format!("data-publishable-key=\"{}\"", fake.publishable_key())));
    assert!(page.contains(&format!("data-return-url=\"/my/invoices/{id}?paid=1\"")));
    // Reloading resumes the same payment.
    assert_eq!(patient.get(&format!("/my/invoices/{id}/pay")).await.0, 200);
    assert_eq!(fake.intents().len(), 1);
    // Other pages keep the site's own policy.
    let res = patient.client.get(app.url(&format!("/my/invoices/{id}"))).send().await.unwrap();
    assert!(!res.headers()["content-security-policy"].to_str().unwrap().contains(&origin));
    // The script mounts the payment element from those attributes.
    let js = patient.get("/static/portal.js").await.1;
    assert!(js.contains("dataset.clientSecret") && js.contains("confirmPayment"));

    // Back from Stripe: a thank-you while the webhook records it.
    let (_, page) = patient.get(&format!("/my/invoices/{id}?paid=1")).await;
    assert!(page.contains("Thank you — your payment is being confirmed; the receipt will arrive by email."));

    // The clinic turns online payment off: no button, and the pay page explains.
    app.svc
        .set_clinic_billing(
            &sys(),
            f.clinic.id,
            ClinicBillingInput { online_payments: false, ..ClinicBillingInput::default() },
        )
        .await
        .unwrap();
    let (_, page) = patient.get(&format!("/my/invoices/{id}")).await;
    assert!(!page.contains("Pay online"));
    let (s, page) = patient.get(&format!("/my/invoices/{id}/pay")).await;
    assert_eq!(s, 409, "{page}");
    assert!(page.contains("Online payment is not available") && page.contains("does not take payments online"));
    assert!(!page.contains(&script) && !page.contains("Something went wrong"));

    // Nothing owing: a friendly conflict too.
    app.svc
        .set_clinic_billing(&sys(), f.clinic.id, ClinicBillingInput { online_payments: true, ..Default::default() })
        .await
        .unwrap();
    pay(&app, &staff, &id, 13200).await;
    let (s, page) = patient.get(&format!("/my/invoices/{id}/pay")).await;
    assert_eq!(s, 409);
    assert!(page.contains("already paid"), "{page}");
}

#[tokio::test]
async fn the_chart_shows_the_balance_to_the_office_and_the_remaining_funded_sessions() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    visit_invoice(&app, &f, &staff).await;
    app.svc
        .create_referral(
            &sys(),
            f.patient.id,
            ReferralRequest {
                label: "Mental Health Treatment Plan".into(),
                referrer_name: "Dr Grace Hopper".into(),
                referrer_number: "2446812T".into(),
                referral_date: Some("2026-01-10".parse().unwrap()),
                expiry_date: Some("2026-12-31".parse().unwrap()),
                session_cap: Some(10),
                ..ReferralRequest::default()
            },
        )
        .await
        .unwrap();
    let chart = format!("/patients/{}", f.patient.id);
    let desk = app.browser_login(&app.create_user(&[Role::Staff]).await).await;
    let (s, page) = desk.get(&chart).await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("Owes <strong>$132.00</strong> on 1 open invoice"), "{page}");
    assert!(page.contains(&format!("href=\"/billing?patient_id={}\"", f.patient.id)));
    assert!(page.contains("Mental Health Treatment Plan") && page.contains("Dr Grace Hopper (2446812T)"));
    assert!(page.contains("9 of 10 funded sessions left per calendar year"), "the visit used one: {page}");
    assert!(page.contains("1 used, 0 booked") && page.contains("10 Jan 2026 to 31 Dec 2026"));

    // A provider sees the referrals but not the money.
    let provider = app.browser_login(&f.provider_user).await;
    let (s, page) = provider.get(&chart).await;
    assert_eq!(s, 200);
    assert!(page.contains("9 of 10 funded sessions left") && !page.contains("Owes") && !page.contains("h-balance"));

    // A refused referral comes back beside its fields with what was typed (422).
    let form = |label: &'static str, expiry: &'static str| {
        vec![
            ("label", label),
            ("referrer_name", "Dr Who"),
            ("referrer_number", ""),
            ("referral_date", "2026-03-01"),
            ("expiry_date", expiry),
            ("session_cap", "5"),
            ("cap_period", "referral"),
            ("specialty_id", ""),
            ("notes", "Faxed in"),
        ]
    };
    let action = format!("{chart}/referrals");
    let (s, _, page) = desk.post_form(&chart, &action, &form("", "2026-02-01")).await;
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("id=\"rf-label-e\"") && page.contains("id=\"rf-expiry_date-e\""), "{page}");
    assert!(page.contains("The expiry is before the referral date."));
    assert!(page.contains("value=\"Dr Who\"") && page.contains("Faxed in") && page.contains("autofocus"));
    let (s, _, page) = desk.post_form(&chart, &action, &form("GP referral", "2026-06-30")).await;
    assert_eq!(s, 303, "{page}");
    let (_, page) = desk.get(&chart).await;
    assert!(page.contains("GP referral") && page.contains("4 of 5 funded sessions left for the whole referral"));
    // A number that is not one is refused beside the field too.
    let mut bad = form("Plan", "");
    bad[5] = ("session_cap", "ten");
    let (s, _, page) = desk.post_form(&chart, &action, &bad).await;
    assert_eq!(s, 422);
    assert!(page.contains("id=\"rf-session_cap-e\""));
}

#[tokio::test]
async fn the_appointment_panel_links_its_invoice_and_booking_warns_about_funding() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    app.clock.set(tue("08:00").parse().unwrap());
    let appt = completed_visit(&app, &f, "10:00").await;
    let desk = app.browser_login(&app.create_user(&[Role::Staff]).await).await;
    let panel = format!("/appointments/{appt}");
    let (s, page) = desk.get(&panel).await;
    assert_eq!(s, 200);
    assert!(page.contains(&format!("href=\"/billing/invoices/new?appointment_id={appt}\"")), "{page}");
    assert!(page.contains("Create invoice") && page.contains("No invoice for this appointment"));

    let inv = issue(&app, &staff, json!({"patient_id": f.patient.id, "appointment_ids": [appt]})).await;
    let id = inv["id"].as_str().unwrap();
    let (_, page) = desk.get(&panel).await;
    assert!(page.contains(&format!("href=\"/billing/invoices/{id}\">INV-2026-000001</a>")), "{page}");
    assert!(page.contains("owes $132.00 on 1 open invoice") && !page.contains("Create invoice"));
    // The provider sees the invoice of their work, not the patient's balance.
    let provider = app.browser_login(&f.provider_user).await;
    let (_, page) = provider.get(&panel).await;
    assert!(page.contains(&format!("/billing/invoices/{id}")) && !page.contains("owes $"));
    assert!(!page.contains("Create invoice"));

    // Booking again while the plan's only funded session is used: a warning, not a block.
    app.svc
        .create_referral(
            &sys(),
            f.patient.id,
            ReferralRequest {
                label: "Chronic Disease Plan".into(),
                referrer_name: "Dr Hopper".into(),
                referral_date: Some("2026-01-01".parse().unwrap()),
                session_cap: Some(1),
                ..ReferralRequest::default()
            },
        )
        .await
        .unwrap();
    let new = format!(
        "/appointments/new?patient={}&s={}&p={}&c={}&d=2026-03-10",
        f.patient.id, f.service.id, f.provider.id, f.clinic.id
    );
    let (s, page) = desk.get(&new).await;
    assert_eq!(s, 200);
    assert!(page.contains("Funding for this patient") && page.contains("Chronic Disease Plan"), "{page}");
    assert!(page.contains("Book appointment"), "still bookable");
    let (_, page) = desk.get("/appointments/new").await;
    assert!(!page.contains("Funding for this patient"), "nothing before a patient is chosen");
}

#[tokio::test]
async fn the_dashboard_money_equals_what_was_issued_paid_and_is_owing() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (_, visit) = visit_invoice(&app, &f, &staff).await;
    pay(&app, &staff, visit["id"].as_str().unwrap(), 5000).await;
    let letter = json!({"patient_id": f.patient.id, "clinic_id": f.clinic.id,
        "lines": [{"description": "Letter", "unit_price_minor": 2000, "tax_rate_bp": 0}]});
    issue(&app, &staff, letter.clone()).await;
    // A draft counts for nothing.
    let (s, _) = call(&app, &staff, "POST", "/api/v1/invoices", Some(letter)).await;
    assert_eq!(s, 201);

    let d = app.svc.dashboard(&sys(), Some(f.clinic.id)).await.unwrap();
    let m = d.money.expect("money for the clinic's people");
    assert_eq!(m.currencies.len(), 1);
    let c = &m.currencies[0];
    assert_eq!(
        (c.currency.as_str(), c.invoiced_minor, c.received_minor, c.owing_minor, c.open_invoices),
        ("AUD", 15200, 5000, 10200, 2)
    );

    let desk = app.browser_login(&app.create_user(&[Role::Staff]).await).await;
    let (s, page) = desk.get(&format!("/dashboard?clinic={}", f.clinic.id)).await;
    assert_eq!(s, 200);
    let money = &page[page.find("id=\"money\"").expect("the money section")..];
    assert!(money.contains("<span class=\"value\">$152.00</span><span class=\"label\">Invoiced this month"), "{money}");
    assert!(money.contains("<span class=\"value\">$50.00</span><span class=\"label\">Received this month"));
    assert!(
        money.contains("<span class=\"value\">$102.00</span><span class=\"label\">Outstanding now (2 open invoices)")
    );
    assert!(money.contains("1 March – 3 March 2026"));
    assert_eq!(page.matches("<svg class=\"chart\"").count(), 3, "the charts are unchanged");
    // The provider sees the money of their own work only.
    let provider = app.browser_login(&f.provider_user).await;
    let (_, page) = provider.get("/dashboard").await;
    let money = &page[page.find("id=\"money\"").expect("the provider's money")..];
    assert!(money.contains("<span class=\"value\">$132.00</span><span class=\"label\">Invoiced this month"), "{money}");
    assert!(
        money.contains("<span class=\"value\">$82.00</span><span class=\"label\">Outstanding now (1 open invoice)")
    );
}
