//! Two-factor login (TOTP): enrolment and recovery codes, the second step of API and
//! web logins, single use, throttling, the per-role requirement and an administrator's
//! reset. Codes are computed at the test clock's time, and cross-checked with pyotp.

use crate::*;
use jiff::SignedDuration;
use praxis_domain::Role;
use praxis_domain::two_factor::{base32_decode, code_at, format_code, step_at};
use serde_json::{Value, json};

async fn call(app: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.client().request(method.parse().unwrap(), app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn api_login(app: &TestApp, user: &TestUser, code: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "email": user.email, "password": user.password });
    if let Some(c) = code {
        body["code"] = json!(c);
    }
    let res = app.client().post(app.url("/api/v1/auth/login")).json(&body).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The app's code for `secret` at the test clock's time, `steps` steps from now.
fn code(app: &TestApp, secret: &[u8], steps: i64) -> String {
    format_code(code_at(secret, step_at(app.svc.now().as_second()) + steps))
}

/// Sets up two-factor login for the token's account; returns the secret and the
/// recovery codes.
async fn enrol(app: &TestApp, token: &str) -> (Vec<u8>, Vec<String>) {
    let (s, e) = call(app, token, "POST", "/api/v1/me/two-factor", None).await;
    assert_eq!(s, 200, "{e}");
    let secret = base32_decode(e["secret"].as_str().unwrap()).unwrap();
    let (s, codes) =
        call(app, token, "POST", "/api/v1/me/two-factor/confirm", Some(json!({"code": code(app, &secret, 0)}))).await;
    assert_eq!(s, 200, "{codes}");
    let codes = codes["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    (secret, codes)
}

/// The problem type's code (`urn:praxis:problem:<code>`).
fn problem(body: &Value) -> Option<&str> {
    body["type"].as_str().and_then(|t| t.strip_prefix("urn:praxis:problem:"))
}

#[tokio::test]
async fn an_authenticator_app_is_set_up_and_each_code_works_once() {
    let app = TestApp::spawn().await;
    let (user, token) = app.user_with_token(Role::Staff).await;
    let (s, status) = call(&app, &token, "GET", "/api/v1/me/two-factor", None).await;
    assert_eq!((s, status["enabled"].as_bool()), (200, Some(false)), "{status}");

    // The same key until it is confirmed; what an authenticator app reads from it
    // (checked by pyotp) gives the codes Praxis expects.
    let (_, first) = call(&app, &token, "POST", "/api/v1/me/two-factor", None).await;
    let (_, again) = call(&app, &token, "POST", "/api/v1/me/two-factor", None).await;
    assert_eq!(first["secret"], again["secret"]);
    let uri = first["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Praxis:"), "{uri}");
    let secret = base32_decode(first["secret"].as_str().unwrap()).unwrap();
    assert_eq!(secret.len(), 20);
    let now = app.svc.now().as_second();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/check_totp.py");
    let input = json!({"uri": uri, "account": user.email, "times": [now, now + 30, now + 90]}).to_string();
    if let Some(out) = praxis_testkit::python_check("pyotp", script, &[], input.as_bytes()) {
        let theirs: Vec<String> = serde_json::from_slice(&out).unwrap();
        assert_eq!(theirs, vec![code(&app, &secret, 0), code(&app, &secret, 1), code(&app, &secret, 3)]);
    }

    // A wrong code confirms nothing; the right one turns it on with ten recovery codes.
    let (s, body) =
        call(&app, &token, "POST", "/api/v1/me/two-factor/confirm", Some(json!({"code": code(&app, &secret, 5)})))
            .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "code");
    let (_, status) = call(&app, &token, "GET", "/api/v1/me/two-factor", None).await;
    assert_eq!(status["enabled"], false);
    let confirm_code = code(&app, &secret, 0);
    let (s, codes) =
        call(&app, &token, "POST", "/api/v1/me/two-factor/confirm", Some(json!({"code": confirm_code}))).await;
    assert_eq!(s, 200, "{codes}");
    let codes: Vec<String> = codes["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().into()).collect();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.len() == 19 && c.matches('-').count() == 3), "{codes:?}");
    let (_, status) = call(&app, &token, "GET", "/api/v1/me/two-factor", None).await;
    assert_eq!((status["enabled"].as_bool(), status["recovery_codes_left"].as_i64()), (Some(true), Some(10)));
    let (s, body) = call(&app, &token, "POST", "/api/v1/me/two-factor", None).await;
    assert_eq!((s, problem(&body)), (409, Some("second_factor_on")), "{body}");

    // Nothing readable is stored: the secret is sealed, the recovery codes hashed.
    let (sealed,): (String,) = app
        .db
        .fetch_one(praxis_store::sql("SELECT secret_sealed FROM user_second_factors WHERE user_id = $1").bind(user.id))
        .await
        .unwrap();
    assert!(!sealed.contains(&first["secret"].as_str().unwrap().replace(' ', "")[..8]));
    let hashes: Vec<(String,)> = app
        .db
        .fetch_all(praxis_store::sql("SELECT code_hash FROM recovery_codes WHERE user_id = $1").bind(user.id))
        .await
        .unwrap();
    assert_eq!(hashes.len(), 10);
    assert!(hashes.iter().all(|(h,)| codes.iter().all(|c| !h.contains(&c.replace('-', "")))));

    // Login now asks for a code; the one used to confirm does not work again.
    let (s, body) = api_login(&app, &user, None).await;
    assert_eq!((s, problem(&body)), (401, Some("second_factor_required")), "{body}");
    let (s, body) = api_login(&app, &user, Some(&confirm_code)).await;
    assert_eq!(s, 422, "a used code is refused: {body}");
    app.clock.advance(SignedDuration::from_secs(30));
    let fresh = code(&app, &secret, 0);
    let (s, body) = api_login(&app, &user, Some(&fresh)).await;
    assert_eq!(s, 200, "{body}");
    assert!(body["token"].as_str().unwrap().starts_with("pxs_"));
    let (s, _) = api_login(&app, &user, Some(&fresh)).await;
    assert_eq!(s, 422, "the same code twice");
    // A code from the step before still works (a slow typist), but not one from two before.
    app.clock.advance(SignedDuration::from_secs(30));
    let (s, _) = api_login(&app, &user, Some(&code(&app, &secret, -2))).await;
    assert_eq!(s, 422, "a stale code");
    app.clock.advance(SignedDuration::from_secs(30));
    let (s, body) = api_login(&app, &user, Some(&code(&app, &secret, -1))).await;
    assert_eq!(s, 200, "one step late is fine: {body}");

    // A recovery code works once, typed however.
    let typed = codes[3].to_lowercase().replace('-', " ");
    let (s, body) = api_login(&app, &user, Some(&typed)).await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = api_login(&app, &user, Some(&codes[3])).await;
    assert_eq!(s, 422, "a used recovery code");
    let (_, status) = call(&app, &token, "GET", "/api/v1/me/two-factor", None).await;
    assert_eq!(status["recovery_codes_left"], 9);
    assert_eq!(app.audit_count("user.second_factor_enrolled").await, 1);
    assert!(app.audit_count("auth.second_factor_failed").await >= 4);

    // New recovery codes need a current code; the old ones then stop working.
    let (s, _) =
        call(&app, &token, "POST", "/api/v1/me/two-factor/recovery-codes", Some(json!({"code": "12345"}))).await;
    assert_eq!(s, 422);
    app.clock.advance(SignedDuration::from_secs(30));
    let (s, renewed) = call(
        &app,
        &token,
        "POST",
        "/api/v1/me/two-factor/recovery-codes",
        Some(json!({"code": code(&app, &secret, 0)})),
    )
    .await;
    assert_eq!(s, 200, "{renewed}");
    assert_eq!(renewed["codes"].as_array().unwrap().len(), 10);
    let (s, _) = api_login(&app, &user, Some(&codes[4])).await;
    assert_eq!(s, 422, "an old recovery code after renewal");
    let (s, _) = api_login(&app, &user, Some(renewed["codes"][0].as_str().unwrap())).await;
    assert_eq!(s, 200);

    // Turning it off needs the password; then login needs only the password again.
    let (s, _) = call(&app, &token, "POST", "/api/v1/me/two-factor/disable", Some(json!({"password": "wrong"}))).await;
    assert_eq!(s, 422);
    let (s, _) =
        call(&app, &token, "POST", "/api/v1/me/two-factor/disable", Some(json!({"password": user.password}))).await;
    assert_eq!(s, 204);
    let (s, _) = api_login(&app, &user, None).await;
    assert_eq!(s, 200);
    assert_eq!(app.audit_count("user.second_factor_removed").await, 1);
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_passwords() {
    let app = TestApp::spawn().await;
    let (user, token) = app.user_with_token(Role::Provider).await;
    let (secret, _) = enrol(&app, &token).await;
    app.clock.advance(SignedDuration::from_secs(60));
    for bad in ["000000", "12 34 56", "999999", "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "111111"] {
        let (s, body) = api_login(&app, &user, Some(bad)).await;
        assert_eq!(s, 422, "{bad}: {body}");
    }
    // Locked out: even the right code waits.
    let res = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": user.email, "password": user.password, "code": code(&app, &secret, 0)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    let (s, _) = call(
        &app,
        &token,
        "POST",
        "/api/v1/me/two-factor/recovery-codes",
        Some(json!({"code": code(&app, &secret, 0)})),
    )
    .await;
    assert_eq!(s, 429, "the lock-out covers every place a code is typed");
    app.clock.advance(SignedDuration::from_mins(16));
    let (s, body) = api_login(&app, &user, Some(&code(&app, &secret, 0))).await;
    assert_eq!(s, 200, "after the lock-out: {body}");
    assert_eq!(app.audit_count("auth.second_factor_failed").await, 5);
    // Malformed or oversized input is a plain refusal, never a 500.
    for bad in ["", "x".repeat(5000).as_str(), "١٢٣٤٥٦", "DROP TABLE users"] {
        let (s, _) = api_login(&app, &user, Some(bad)).await;
        assert!(s == 401 || s == 422 || s == 429, "{s} for {bad:.20}");
    }
}

#[tokio::test]
async fn a_role_that_requires_it_is_led_through_set_up_at_the_next_login() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let provider = app.create_user(&[Role::Provider]).await;
    let staff = app.create_user(&[Role::Staff]).await;
    let (_, patient_token) = app.user_with_token(Role::Patient).await;

    let (s, _) =
        call(&app, &patient_token, "PUT", "/api/v1/two-factor-policy", Some(json!({"required_roles": []}))).await;
    assert_eq!(s, 403);
    let (s, body) =
        call(&app, &admin, "PUT", "/api/v1/two-factor-policy", Some(json!({"required_roles": ["provider", "nurse"]})))
            .await;
    assert_eq!(s, 422, "an unknown role: {body}");
    let (s, body) =
        call(&app, &admin, "PUT", "/api/v1/two-factor-policy", Some(json!({"required_roles": ["provider"]}))).await;
    assert_eq!((s, body["required_roles"].clone()), (200, json!(["provider"])), "{body}");
    assert_eq!(app.audit_count("settings.second_factor_policy").await, 1);

    // Over the API the provider is told to set it up on the web; staff are not affected.
    let (s, body) = api_login(&app, &provider, None).await;
    assert_eq!((s, problem(&body)), (403, Some("second_factor_setup_required")), "{body}");
    let (s, _) = api_login(&app, &staff, None).await;
    assert_eq!(s, 200);

    // On the web: password → set-up page (QR code drawn here, key shown) → code → recovery codes.
    let b = Browser::anonymous(&app);
    let (s, location, _) = b
        .post_form(
            "/login",
            "/login",
            &[("email", &provider.email), ("password", &provider.password), ("next", "/calendar")],
        )
        .await;
    assert_eq!((s, location.as_deref()), (303, Some("/login/setup?next=%2Fcalendar")));
    let (s, _) = b.get("/").await;
    assert_eq!(s, 303, "not logged in yet");
    let (s, page) = b.get("/login/setup?next=%2Fcalendar").await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("<svg") && page.contains("<path fill=\"#000\""), "a QR code is drawn");
    let key = page.split("id=\"secret-key\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let secret = base32_decode(&key).unwrap();
    assert_eq!(secret.len(), 20);
    let (s, _, page) = b.post_form("/login/setup", "/login/setup", &[("code", "000000"), ("next", "/calendar")]).await;
    assert_eq!(s, 422);
    assert!(page.contains("not correct") && page.contains(&key), "the same key is shown again");
    let (s, _, page) =
        b.post_form("/login/setup", "/login/setup", &[("code", &code(&app, &secret, 0)), ("next", "/calendar")]).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page.matches("<li><code>").count(), 10, "ten recovery codes");
    assert!(page.contains("href=\"/calendar\""));
    let (s, _) = b.get("/profile").await;
    assert_eq!(s, 200, "logged in after the set-up");
    let (s, _) = b.get("/login/setup").await;
    assert_eq!(s, 303, "the pending login is used up");

    // It cannot be turned off while required; next time the web asks for a code.
    let (s, _, page) =
        b.post_form("/profile", "/profile/two-factor/disable", &[("password", &provider.password)]).await;
    assert_eq!(s, 409);
    assert!(page.contains("requires two-factor login"));
    app.clock.advance(SignedDuration::from_secs(30));
    let b2 = Browser::anonymous(&app);
    let (s, location, _) =
        b2.post_form("/login", "/login", &[("email", &provider.email), ("password", &provider.password)]).await;
    assert_eq!((s, location.as_deref()), (303, Some("/login/code?next=%2F")));
    let (s, _, page) = b2.post_form("/login/code?next=%2F", "/login/code", &[("code", "123456"), ("next", "/")]).await;
    assert_eq!(s, 422);
    assert!(page.contains("not correct"));
    let (s, location, _) =
        b2.post_form("/login/code?next=%2F", "/login/code", &[("code", &code(&app, &secret, 0)), ("next", "/")]).await;
    assert_eq!((s, location.as_deref()), (303, Some("/")));
    let (s, _) = b2.get("/profile").await;
    assert_eq!(s, 200);
    let (s, body) = api_login(&app, &provider, Some(&code(&app, &secret, 1))).await;
    assert_eq!(s, 200, "the API takes the code in the login: {body}");
}

#[tokio::test]
async fn a_pending_login_expires_and_cannot_be_forged() {
    let app = TestApp::spawn().await;
    let (user, token) = app.user_with_token(Role::Admin).await;
    let (secret, _) = enrol(&app, &token).await;
    app.clock.advance(SignedDuration::from_secs(30));
    let b = Browser::anonymous(&app);
    let (s, _, _) = b.post_form("/login", "/login", &[("email", &user.email), ("password", &user.password)]).await;
    assert_eq!(s, 303);
    app.clock.advance(SignedDuration::from_mins(11));
    let (s, location, _) = b.post_form("/login", "/login/code", &[("code", &code(&app, &secret, 0))]).await;
    assert_eq!((s, location.as_deref()), (303, Some("/login?msg=login_expired")), "too late");
    let (_, page) = b.get("/login?msg=login_expired").await;
    assert!(page.contains("Please log in again"));

    // Without the cookie, or with a made-up one, nothing is reachable.
    let stranger = Browser::anonymous(&app);
    let (s, location, _) = stranger.post_form("/login", "/login/code", &[("code", &code(&app, &secret, 0))]).await;
    assert_eq!((s, location.as_deref()), (303, Some("/login?msg=login_expired")));
    let csrf = stranger.csrf_of("/login").await;
    let res = stranger
        .client
        .post(app.url("/login/code"))
        .header("cookie", "praxis_login=pxc_madeup")
        .form(&[("code", code(&app, &secret, 0).as_str()), ("_csrf", &csrf)])
        .send()
        .await
        .unwrap();
    // Refused by the CSRF check (the cookie is not the one the form was made for) or sent
    // back to the password; either way no session.
    assert!(matches!(res.status().as_u16(), 303 | 403), "{}", res.status());
    let (s, _) = stranger.get("/login/setup").await;
    assert_eq!(s, 303);
    let (s, _) = stranger.get("/admin/users").await;
    assert_eq!(s, 303, "no session was opened");
}

#[tokio::test]
async fn an_administrator_resets_a_lost_second_factor() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (user, token) = app.user_with_token(Role::Staff).await;
    enrol(&app, &token).await;
    let (s, status) = call(&app, &admin, "GET", &format!("/api/v1/users/{}/two-factor", user.id), None).await;
    assert_eq!((s, status["enabled"].as_bool()), (200, Some(true)), "{status}");
    let (s, _) = call(&app, &token, "DELETE", &format!("/api/v1/users/{}/two-factor", user.id), None).await;
    assert_eq!(s, 403, "not for staff");
    let unknown = uuid::Uuid::now_v7();
    let (s, _) = call(&app, &admin, "DELETE", &format!("/api/v1/users/{unknown}/two-factor"), None).await;
    assert_eq!(s, 404);

    let (s, _) = call(&app, &admin, "DELETE", &format!("/api/v1/users/{}/two-factor", user.id), None).await;
    assert_eq!(s, 204);
    let (s, _) = call(&app, &token, "GET", "/api/v1/me", None).await;
    assert_eq!(s, 401, "their sessions ended");
    let (s, body) = api_login(&app, &user, None).await;
    assert_eq!(s, 200, "no second factor any more: {body}");
    assert_eq!(app.audit_count("user.second_factor_reset").await, 1);
    let (_, status) = call(&app, &admin, "GET", &format!("/api/v1/users/{}/two-factor", user.id), None).await;
    assert_eq!(status["enabled"], false);

    // The web page shows it and offers the reset.
    let (_, token2) = (0, api_login(&app, &user, None).await.1["token"].as_str().unwrap().to_string());
    enrol(&app, &token2).await;
    let admin_user = app.create_user(&[Role::Admin]).await;
    let b = app.browser_login(&admin_user).await;
    let (s, page) = b.get(&format!("/admin/users/{}", user.id)).await;
    assert_eq!(s, 200);
    assert!(page.contains("Two-factor login") && page.contains("Reset two-factor login"), "{page}");
    let path = format!("/admin/users/{}", user.id);
    let (s, _, page) = b.post_form(&path, &format!("{path}/reset-two-factor"), &[]).await;
    assert_eq!(s, 200);
    assert!(page.contains("Two-factor login was reset"));
    assert_eq!(app.audit_count("user.second_factor_reset").await, 2);
    // The policy form on the users page.
    let (s, location, _) =
        b.post_form("/admin/users", "/admin/two-factor-policy", &[("roles", "staff"), ("roles", "admin")]).await;
    assert_eq!((s, location.as_deref()), (303, Some("/admin/users?msg=two_factor_policy")));
    let (_, page) = b.get("/admin/users").await;
    assert!(page.contains("value=\"staff\" checked") && page.contains("value=\"admin\" checked"));
    assert!(!page.contains("value=\"provider\" checked"));
}

#[tokio::test]
async fn key_rotation_reseals_two_factor_and_webhook_secrets_and_they_still_work() {
    let dir = std::env::temp_dir().join(format!("praxis-rotate-2fa-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let ring = praxis_services::crypto::KeyRing::from_file(dir.join("keys.json")).unwrap();
    let first = ring.current_id();
    let settings = praxis_services::Settings { keys: std::sync::Arc::new(ring), ..test_settings() };
    let app = TestApp::spawn_on(std::sync::Arc::new(TestDb::new().await), settings).await;
    let (user, token) = app.user_with_token(Role::Staff).await;
    let (secret, _) = enrol(&app, &token).await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (s, hook) = call(
        &app,
        &admin,
        "POST",
        "/api/v1/webhooks",
        Some(json!({"url": "http://127.0.0.1:9/in", "events": ["patient.created"]})),
    )
    .await;
    assert_eq!(s, 201, "{hook}");
    let second = app.svc.keys().add_current_key().unwrap();
    let report = app.svc.reseal_all(&praxis_services::Actor::system("test")).await.unwrap();
    assert_eq!(report.resealed.get("user_second_factors"), Some(&1), "{report:?}");
    assert_eq!(report.resealed.get("webhook_endpoints"), Some(&1), "{report:?}");
    for table in ["user_second_factors", "webhook_endpoints"] {
        let (sealed,): (String,) =
            app.db.fetch_one(praxis_store::dynamic_sql(format!("SELECT secret_sealed FROM {table}"))).await.unwrap();
        assert!(sealed.contains(&second) && !sealed.contains(&first), "{table} is under the new key");
    }
    app.clock.advance(SignedDuration::from_secs(30));
    let (s, body) = api_login(&app, &user, Some(&code(&app, &secret, 0))).await;
    assert_eq!(s, 200, "the re-sealed secret still gives the same codes: {body}");
    let report = app.svc.reseal_all(&praxis_services::Actor::system("test")).await.unwrap();
    assert_eq!(report.already_current.get("user_second_factors"), Some(&1));
    std::fs::remove_dir_all(dir).ok();
}
