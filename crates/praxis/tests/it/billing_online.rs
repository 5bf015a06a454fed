//! Online payment against a local server speaking Stripe's request and response shapes:
//! the patient pays through a PaymentIntent (no card data reaches Praxis), Stripe's
//! signed webhooks record the payment once, forged, stale and replayed deliveries change
//! nothing, and a refund of an online payment goes back through Stripe.

use crate::billing::{call, completed_visit, sys, tue, worker};
use crate::*;
use praxis_domain::Role;
use praxis_services::billing::stripe::StripeGateway;
use praxis_testkit::stripe::FakeStripe;
use serde_json::{Value, json};
use std::sync::Arc;

async fn app_with_stripe() -> (TestApp, FakeStripe) {
    let fake = FakeStripe::start().await;
    let mut settings = test_settings();
    settings.payment_gateway = Some(Arc::new(StripeGateway::new(fake.config(), None).unwrap()));
    let app = TestApp::spawn_on(Arc::new(TestDb::new().await), settings).await;
    (app, fake)
}

async fn deliver(app: &TestApp, body: &str, signature: &str) -> (u16, Value) {
    let res = app
        .client()
        .post(app.url("/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_patient_pays_online_and_stripes_signed_webhooks_record_it_exactly_once() {
    let (app, fake) = app_with_stripe().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let appt = completed_visit(&app, &f, "10:00").await;
    let (_, d) = call(
        &app,
        &staff,
        "POST",
        "/api/v1/invoices",
        Some(json!({"patient_id": f.patient.id, "appointment_ids": [appt]})),
    )
    .await;
    let id = d["id"].as_str().unwrap().to_string();
    call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/issue"), Some(json!({}))).await;

    let patient = app.api_login(&f.patient_user).await;
    let (s, checkout) = call(&app, &patient, "POST", &format!("/api/v1/invoices/{id}/pay-online"), None).await;
    assert_eq!(s, 200, "{checkout}");
    assert_eq!(checkout["amount_minor"], 13200);
    assert_eq!(checkout["publishable_key"], fake.publishable_key());
    assert!(checkout["client_secret"].as_str().unwrap().contains("_secret_"));
    let pi = checkout["intent_id"].as_str().unwrap().to_string();
    // A second click resumes the same PaymentIntent.
    let (_, again) = call(&app, &patient, "POST", &format!("/api/v1/invoices/{id}/pay-online"), None).await;
    assert_eq!(again["intent_id"], pi.as_str());
    assert_eq!(fake.intents().len(), 1);
    let created = &fake.intents()[0];
    assert_eq!((created.amount, created.currency.as_str()), (13200, "aud"));
    assert_eq!(created.metadata.get("invoice_id").map(String::as_str), Some(id.as_str()));
    for r in fake.requests() {
        assert!(!r.looks_like_card_data(), "no card data ever goes through Praxis: {r:?}");
        if r.method == "POST" {
            assert!(r.idempotency_key().is_some(), "every POST carries an Idempotency-Key");
        }
    }

    // Forged, stale and unsigned deliveries are refused with 400 and record nothing.
    let now = app.clock.now().as_second();
    let delivery = fake.succeed(&pi);
    let good = fake.signed_at(&delivery.body, now);
    let tampered = delivery.body.replace("13200", "1");
    assert_eq!(deliver(&app, &tampered, &good).await.0, 400);
    assert_eq!(deliver(&app, &delivery.body, &fake.signed_at(&delivery.body, now - 301)).await.0, 400);
    assert_eq!(deliver(&app, &delivery.body, &fake.signed_at(&delivery.body, now + 400)).await.0, 400);
    assert_eq!(deliver(&app, &delivery.body, "t=1,v1=00").await.0, 400);
    let res = app.client().post(app.url("/webhooks/stripe")).body(delivery.body.clone()).send().await.unwrap();
    assert_eq!(res.status(), 400, "no signature header");
    let (_, inv) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!((inv["status"].as_str(), inv["payments"].as_array().unwrap().len()), (Some("issued"), 0));

    // The genuine one records the payment; its replay changes nothing.
    let (s, out) = deliver(&app, &delivery.body, &good).await;
    assert_eq!(
        (s, out["outcome"].as_str(), out["first_delivery"].as_bool()),
        (200, Some("payment_recorded"), Some(true)),
        "{out}"
    );
    let (s, out) = deliver(&app, &delivery.body, &fake.signed_at(&delivery.body, now + 5)).await;
    assert_eq!((s, out["first_delivery"].as_bool()), (200, Some(false)), "{out}");
    let (_, inv) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!(inv["status"], "paid");
    let payments = inv["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1, "processed once");
    assert_eq!(
        (payments[0]["method"].as_str(), payments[0]["reference"].as_str()),
        (Some("online"), Some(pi.as_str()))
    );

    // A refund of an online payment goes back through Stripe (a job), then is confirmed.
    let pid = payments[0]["id"].as_str().unwrap();
    let (s, r) = call(
        &app,
        &staff,
        "POST",
        &format!("/api/v1/payments/{pid}/refunds"),
        Some(json!({"amount_minor": 2000, "reason": "Gap covered by fund"})),
    )
    .await;
    assert_eq!((s, r["status"].as_str()), (201, Some("pending")), "{r}");
    let (w, _) = worker(&app);
    w.run_until_idle().await;
    let refunds = fake.refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!((refunds[0].amount, refunds[0].payment_intent.as_deref()), (2000, Some(pi.as_str())));
    let (_, inv) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!(inv["refunds"][0]["status"], "succeeded");
    assert_eq!((inv["status"].as_str(), inv["balance_minor"].as_i64()), (Some("partially_paid"), Some(2000)));
    // Stripe's charge.refunded for it confirms, without a second refund row.
    let ev = fake.refunded_event(&pi);
    let (s, out) = deliver(&app, &ev.body, &fake.signed_at(&ev.body, now)).await;
    assert_eq!(s, 200, "{out}");
    let (_, inv) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!(inv["refunds"].as_array().unwrap().len(), 1, "{inv}");
}

#[tokio::test]
async fn unknown_intents_currency_mismatches_and_failures_record_no_money() {
    let (app, fake) = app_with_stripe().await;
    let f = app.fixture().await;
    app.clock.set(tue("08:00").parse().unwrap());
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let now = app.clock.now().as_second();

    // An intent Praxis did not create (made straight in Stripe) changes nothing.
    let client = praxis_stripe::StripeClient::new(fake.config()).unwrap();
    let foreign = client
        .create_payment_intent(
            &praxis_stripe::CreatePaymentIntent {
                amount: 500,
                currency: "aud".into(),
                description: "Elsewhere".into(),
                metadata: vec![],
                receipt_email: None,
            },
            "foreign-1",
        )
        .await
        .unwrap();
    let d = fake.succeed(&foreign.id);
    let (s, out) = deliver(&app, &d.body, &fake.signed_at(&d.body, now)).await;
    assert_eq!((s, out["outcome"].as_str()), (200, Some("unknown_payment_intent")), "{out}");

    let appt = completed_visit(&app, &f, "10:00").await;
    let (_, inv) = call(
        &app,
        &staff,
        "POST",
        "/api/v1/invoices",
        Some(json!({"patient_id": f.patient.id, "appointment_ids": [appt]})),
    )
    .await;
    let id = inv["id"].as_str().unwrap().to_string();
    call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/issue"), Some(json!({}))).await;
    let checkout = app.svc.start_online_payment(&sys(), praxis_domain::InvoiceId(id.parse().unwrap())).await.unwrap();
    let now = app.clock.now().as_second();

    // A failed attempt records no money and leaves the invoice payable.
    let failed = fake.fail(&checkout.intent_id, "Your card was declined.");
    let (s, out) = deliver(&app, &failed.body, &fake.signed_at(&failed.body, now)).await;
    assert_eq!(s, 200, "{out}");
    // A success reported in another currency than the invoice's is not recorded.
    let ok = fake.succeed(&checkout.intent_id);
    let body = ok.body.replace("\"currency\":\"aud\"", "\"currency\":\"usd\"");
    assert_ne!(body, ok.body, "the event names its currency");
    let (s, out) = deliver(&app, &body, &fake.signed_at(&body, now)).await;
    assert_eq!((s, out["outcome"].as_str()), (200, Some("currency_mismatch")), "{out}");
    let (_, now_inv) = call(&app, &staff, "GET", &format!("/api/v1/invoices/{id}"), None).await;
    assert_eq!((now_inv["status"].as_str(), now_inv["paid_minor"].as_i64()), (Some("issued"), Some(0)));

    // The secret key is never shown.
    let shown = format!("{:?}", app.svc.settings().payment_gateway);
    assert!(!shown.contains(&fake.secret_key()), "{shown}");
}

#[tokio::test]
async fn without_stripe_online_payment_is_refused_clearly_and_the_webhook_is_not_there() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let (_, d) = call(
        &app,
        &staff,
        "POST",
        "/api/v1/invoices",
        Some(json!({"patient_id": f.patient.id, "clinic_id": f.clinic.id,
        "lines": [{"description": "Report", "unit_price_minor": 5000}]})),
    )
    .await;
    let id = d["id"].as_str().unwrap();
    call(&app, &staff, "POST", &format!("/api/v1/invoices/{id}/issue"), Some(json!({}))).await;
    let patient = app.api_login(&f.patient_user).await;
    let (s, p) = call(&app, &patient, "POST", &format!("/api/v1/invoices/{id}/pay-online"), None).await;
    assert_eq!((s, p["type"].as_str()), (409, Some("urn:praxis:problem:online_payments_off")), "{p}");
    assert_eq!(deliver(&app, "{}", "t=1,v1=00").await.0, 404);
}
