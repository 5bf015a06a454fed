//! Accounts and sessions over the API.

use crate::*;
use jiff::SignedDuration;
use praxis_domain::Role;
use serde_json::{Value, json};

async fn login_status(app: &TestApp, email: &str, password: &str) -> (u16, Value, Option<String>) {
    let res = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    (status, res.json().await.unwrap_or(Value::Null), retry)
}

async fn me(app: &TestApp, token: &str) -> u16 {
    app.client().get(app.url("/api/v1/me")).bearer_auth(token).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn login_returns_a_token_that_works_until_logout() {
    let app = TestApp::spawn().await;
    let u = app.create_user(&[Role::Staff]).await;
    let (status, body, _) = login_status(&app, &u.email.to_uppercase(), &u.password).await;
    assert_eq!(status, 200, "email is case-insensitive: {body}");
    let token = body["token"].as_str().unwrap().to_string();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["user"]["email"], u.email.as_str());
    assert!(body["user"].get("password_hash").is_none());

    let res = app.client().get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let me_body: Value = res.json().await.unwrap();
    assert_eq!(me_body["roles"], json!(["staff"]));

    let res = app.client().post(app.url("/api/v1/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(me(&app, &token).await, 401);
}

#[tokio::test]
async fn only_the_hash_of_a_token_is_stored() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token(Role::Staff).await;
    let stored: Vec<(String,)> = app.db.fetch_all(praxis_store::sql("SELECT token_hash FROM sessions")).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].0, token);
    assert!(!stored[0].0.contains(&token[4..20]));
    assert_eq!(stored[0].0, praxis_services::auth::token_hash(&token));
}

#[tokio::test]
async fn wrong_credentials_answer_401_without_saying_which_part() {
    let app = TestApp::spawn().await;
    let u = app.create_user(&[Role::Staff]).await;
    let (s1, b1, _) = login_status(&app, &u.email, "wrong password!").await;
    let (s2, b2, _) = login_status(&app, "nobody@test.praxis.example", &u.password).await;
    let (s3, b3, _) = login_status(&app, "not an email", "whatever12345").await;
    assert_eq!((s1, s2, s3), (401, 401, 401));
    assert_eq!(b1["detail"], b2["detail"]);
    assert_eq!(b2["detail"], b3["detail"]);
    assert_eq!(b1["type"], "urn:praxis:problem:invalid_credentials");
    // Failures are audited.
    let (n,): (i64,) = app
        .db
        .fetch_one(praxis_store::sql("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login_failed'"))
        .await
        .unwrap();
    assert_eq!(n, 3);
}

#[tokio::test]
async fn missing_fields_answer_422_with_field_errors() {
    let app = TestApp::spawn().await;
    let (status, body, _) = login_status(&app, "", "").await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "password"]);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_retry_after() {
    let app = TestApp::spawn().await;
    let u = app.create_user(&[Role::Staff]).await;
    for _ in 0..5 {
        assert_eq!(login_status(&app, &u.email, "not the password").await.0, 401);
    }
    // Even the right password is refused while locked, and the answer says when to retry.
    let (status, body, retry) = login_status(&app, &u.email, &u.password).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["type"], "urn:praxis:problem:rate_limited");
    let retry: i64 = retry.expect("Retry-After").parse().unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    // The lock lives in the database: another server instance on the same database sees it.
    let other = TestApp::spawn_on(app.test_db.clone(), test_settings()).await;
    other.clock.set(app.clock.now());
    assert_eq!(login_status(&other, &u.email, &u.password).await.0, 429);
    // When the lock-out ends, the right password works again.
    app.clock.advance(SignedDuration::from_mins(16));
    assert_eq!(login_status(&app, &u.email, &u.password).await.0, 200);
}

#[tokio::test]
async fn failures_from_one_address_are_limited_across_accounts() {
    let app = TestApp::spawn().await;
    let u = app.create_user(&[Role::Staff]).await;
    for i in 0..50 {
        assert_eq!(login_status(&app, &format!("guess{i}@test.praxis.example"), "xxxxxxxxxxxx").await.0, 401);
    }
    assert_eq!(login_status(&app, &u.email, &u.password).await.0, 429);
}

#[tokio::test]
async fn deactivated_users_cannot_log_in_and_their_sessions_end() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let (victim, token) = app.user_with_token(Role::Provider).await;
    assert_eq!(me(&app, &token).await, 200);
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/users/{}/deactivate", victim.id)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(me(&app, &token).await, 401);
    let (status, body, _) = login_status(&app, &victim.email, &victim.password).await;
    assert_eq!(status, 401);
    assert_eq!(body["type"], "urn:praxis:problem:invalid_credentials");
}

#[tokio::test]
async fn sessions_expire_when_idle() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token(Role::Staff).await;
    app.clock.advance(SignedDuration::from_hours(11));
    assert_eq!(me(&app, &token).await, 200, "use slides the expiry");
    app.clock.advance(SignedDuration::from_hours(11));
    assert_eq!(me(&app, &token).await, 200);
    app.clock.advance(SignedDuration::from_hours(13));
    assert_eq!(me(&app, &token).await, 401, "12 hours idle ends the session");
}

#[tokio::test]
async fn sessions_end_after_fourteen_days_even_when_used() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token(Role::Staff).await;
    // Used every 11 hours, so it never idles out; it still ends at 14 days (336 h).
    for k in 1..=30 {
        app.clock.advance(SignedDuration::from_hours(11));
        assert_eq!(me(&app, &token).await, 200, "at {} h", 11 * k);
    }
    app.clock.advance(SignedDuration::from_hours(11));
    assert_eq!(me(&app, &token).await, 401, "at 341 h");
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let u = app.create_user(&[Role::Staff]).await;
    let t1 = app.api_login(&u).await;
    let t2 = app.api_login(&u).await;
    let change = |current: &str, new: &str, confirm: &str| {
        app.client()
            .post(app.url("/api/v1/me/password"))
            .bearer_auth(&t1)
            .json(&json!({ "current_password": current, "new_password": new, "confirm_password": confirm }))
            .send()
    };
    let res = change("wrong current", "a brand new secret", "a brand new secret").await.unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "current_password");

    let res = change(&u.password, "short", "short").await.unwrap();
    assert_eq!(res.status(), 422);
    let res = change(&u.password, "a brand new secret", "a different one!").await.unwrap();
    assert_eq!(res.status(), 422);

    let res = change(&u.password, "a brand new secret", "a brand new secret").await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(me(&app, &t1).await, 200, "the session that changed it stays");
    assert_eq!(me(&app, &t2).await, 401, "other sessions end");
    assert_eq!(login_status(&app, &u.email, &u.password).await.0, 401);
    assert_eq!(login_status(&app, &u.email, "a brand new secret").await.0, 200);
}

#[tokio::test]
async fn admins_manage_accounts_and_duplicate_emails_conflict() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let c = app.client();
    let res = c
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({ "email": "New.Person@Clinic.Example", "full_name": "New Person", "roles": ["staff"], "phone": "(02) 9876 5432" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["user"]["email"], "new.person@clinic.example");
    assert_eq!(created["user"]["phone"], "0298765432");
    let temp = created["temporary_password"].as_str().unwrap().to_string();
    assert_eq!(temp.len(), 16);
    let id = created["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(login_status(&app, "new.person@clinic.example", &temp).await.0, 200);

    let res = c
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({ "email": "NEW.PERSON@clinic.example", "full_name": "Twin", "roles": ["staff"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "urn:praxis:problem:email_taken");
    assert_eq!(body["errors"][0]["field"], "email");

    let res = c
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({ "email": "bad", "full_name": "", "roles": ["wizard"], "phone": "call me", "password": "short" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let mut fields: Vec<&str> =
        body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["email", "full_name", "password", "phone", "roles"]);

    let res = c
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(&admin)
        .json(&json!({ "roles": ["staff", "provider"], "full_name": "Renamed Person" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["roles"], json!(["staff", "provider"]));

    let res = c
        .post(app.url(&format!("/api/v1/users/{id}/reset-password")))
        .bearer_auth(&admin)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let new_temp = body["temporary_password"].as_str().unwrap();
    assert_eq!(login_status(&app, "new.person@clinic.example", &temp).await.0, 401);
    assert_eq!(login_status(&app, "new.person@clinic.example", new_temp).await.0, 200);

    let res = c.get(app.url("/api/v1/users?q=renamed&role=provider")).bearer_auth(&admin).send().await.unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["total"], 1);
    assert_eq!(body["items"][0]["full_name"], "Renamed Person");
}

#[tokio::test]
async fn the_last_administrator_cannot_be_removed() {
    let app = TestApp::spawn().await;
    let (me_admin, admin) = app.user_with_token(Role::Admin).await;
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/users/{}/deactivate", me_admin.id)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let res = app
        .client()
        .patch(app.url(&format!("/api/v1/users/{}", me_admin.id)))
        .bearer_auth(&admin)
        .json(&json!({ "roles": ["staff"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "urn:praxis:problem:last_admin");
    // With a second administrator it is allowed.
    app.create_user(&[Role::Admin]).await;
    let res = app
        .client()
        .patch(app.url(&format!("/api/v1/users/{}", me_admin.id)))
        .bearer_auth(&admin)
        .json(&json!({ "roles": ["staff"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// Two administrators demoting each other at the same moment (on PostgreSQL too, where
/// the two transactions really overlap): one succeeds, the other is refused — never both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_administrators_demoting_each_other_leave_one() {
    let app = TestApp::spawn().await;
    for round in 0..30 {
        let (a, a_token) = app.user_with_token(Role::Admin).await;
        let (b, b_token) = app.user_with_token(Role::Admin).await;
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let demote = |who: praxis_testkit::TestUser, token: String| {
            let (client, url) = (app.client(), app.url(&format!("/api/v1/users/{}", who.id)));
            let start = start.clone();
            tokio::spawn(async move {
                let req = client.patch(url).bearer_auth(token).json(&json!({ "roles": ["staff"] }));
                start.wait().await;
                req.send().await.unwrap().status()
            })
        };
        let (x, y) = (demote(b, a_token), demote(a, b_token));
        let mut statuses = [x.await.unwrap().as_u16(), y.await.unwrap().as_u16()];
        statuses.sort();
        // The loser is either no administrator any more (403) or would remove the last one (409).
        assert!(statuses == [200, 403] || statuses == [200, 409], "round {round}: {statuses:?}");
        let (admins,): (i64,) = app
            .db
            .fetch_one(praxis_store::sql(
                "SELECT COUNT(*) FROM users WHERE active = TRUE AND (',' || roles || ',') LIKE '%,admin,%'",
            ))
            .await
            .unwrap();
        assert_eq!(admins, 1, "round {round}");
        // The survivor steps down to staff by hand for the next round (through the store).
        app.db
            .execute_unaudited(praxis_store::sql(
                "UPDATE users SET roles = 'staff' WHERE (',' || roles || ',') LIKE '%,admin,%'",
            ))
            .await
            .unwrap();
    }
}
