//! The web shell as a person uses it: forms, CSRF, navigation by role, friendly errors.

use crate::*;
use praxis_domain::Role;

#[tokio::test]
async fn logging_in_through_the_form_returns_to_the_page_asked_for() {
    let app = TestApp::spawn().await;
    let u = app.create_user(&[Role::Admin]).await;
    let b = Browser::anonymous(&app);
    let res = b.client.get(app.url("/admin/audit?action=user.")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let login_url = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(login_url, "/login?next=/admin/audit%3Faction%3Duser.");
    let csrf = b.csrf_of(&login_url).await;
    let res = b
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", u.email.as_str()),
            ("password", &u.password),
            ("next", "/admin/audit?action=user."),
            ("_csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin/audit?action=user.");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let (status, body) = b.get("/admin/audit?action=user.").await;
    assert_eq!(status, 200);
    assert!(body.contains("user.create"), "the audit page lists events");
    assert!(body.contains("Times in Australia/Sydney"), "times say which zone they are in");
}

#[tokio::test]
async fn a_wrong_password_on_the_form_keeps_the_email_and_says_so() {
    let app = TestApp::spawn().await;
    let u = app.create_user(&[Role::Staff]).await;
    let b = Browser::anonymous(&app);
    let (status, _, body) =
        b.post_form("/login", "/login", &[("email", &u.email), ("password", "not it at all")]).await;
    assert_eq!(status, 401);
    assert!(body.contains("The email or password is not correct."));
    assert!(body.contains(&format!("value=\"{}\"", u.email)), "the email typed is kept");
    let (status, _, body) = b.post_form("/login", "/login", &[("email", ""), ("password", "")]).await;
    assert_eq!(status, 422);
    assert!(body.contains("Enter your email address.") && body.contains("aria-invalid=\"true\""));
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    let u = app.create_user(&[Role::Staff]).await;
    let b = Browser::anonymous(&app);
    b.get("/login").await;
    let res = b
        .client
        .post(app.url("/login"))
        .form(&[("email", u.email.as_str()), ("password", &u.password)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "no token");
    let res = b
        .client
        .post(app.url("/login"))
        .form(&[("email", u.email.as_str()), ("password", &u.password), ("_csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "forged token");
    assert!(res.text().await.unwrap().contains("This form has expired"));

    // Logged in: a token from another session does not work either.
    let staff = app.browser_login(&u).await;
    let other = app.browser_login(&app.create_user(&[Role::Staff]).await).await;
    let foreign = other.csrf_of("/profile").await;
    let res = staff
        .client
        .post(app.url("/profile/password"))
        .form(&[
            ("current_password", u.password.as_str()),
            ("new_password", "another fine password"),
            ("confirm_password", "another fine password"),
            ("_csrf", &foreign),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // …and nothing changed.
    assert_eq!(
        app.client()
            .post(app.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": u.email, "password": u.password}))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // A cookie-authenticated API write needs the header too.
    let res = staff.client.post(app.url("/api/v1/auth/logout")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    // Every refusal is on the audit record, with where it came from.
    let rows: Vec<(String, Option<String>)> = app
        .db
        .fetch_all(praxis_store::sql(
            "SELECT summary, client_ip FROM audit_log WHERE action = 'security.csrf_rejected' ORDER BY seq",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows[0].0.contains("POST /login") && rows[0].1.as_deref() == Some("127.0.0.1"));
}

#[tokio::test]
async fn navigation_shows_what_the_role_may_use() {
    let app = TestApp::spawn().await;
    let admin = app.browser_login(&app.create_user(&[Role::Admin]).await).await;
    let (_, body) = admin.get("/").await;
    assert!(body.contains("href=\"/admin/users\"") && body.contains("href=\"/admin/audit\""));
    let patient = app.browser_login(&app.create_user(&[Role::Patient]).await).await;
    let (_, body) = patient.get("/").await;
    assert!(!body.contains("href=\"/admin/users\"") && body.contains("href=\"/profile\""));
    let (status, body) = patient.get("/admin/users").await;
    assert_eq!(status, 403);
    assert!(body.contains("You do not have permission"), "a friendly page, not a bare status");
}

#[tokio::test]
async fn changing_the_password_on_the_profile_page() {
    let app = TestApp::spawn().await;
    let u = app.create_user(&[Role::Provider]).await;
    let b = app.browser_login(&u).await;
    let (status, _, body) = b
        .post_form(
            "/profile",
            "/profile/password",
            &[("current_password", "wrong"), ("new_password", "short"), ("confirm_password", "short")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("Use at least 10 characters."), "field error shown beside the field");
    let (status, location, _) = b
        .post_form(
            "/profile",
            "/profile/password",
            &[
                ("current_password", &u.password),
                ("new_password", "a much better one"),
                ("confirm_password", "a much better one"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, body) = b.get(location.as_deref().unwrap()).await;
    assert!(body.contains("Your password was changed"));
}

#[tokio::test]
async fn admins_create_accounts_on_the_users_page() {
    let app = TestApp::spawn().await;
    let b = app.browser_login(&app.create_user(&[Role::Admin]).await).await;
    let (status, _, body) = b
        .post_form(
            "/admin/users/new",
            "/admin/users",
            &[("email", "not-an-email"), ("full_name", "Dana Doctor"), ("phone", ""), ("roles", "provider")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("value=\"Dana Doctor\""), "what was typed is kept");
    assert!(body.contains("aria-invalid=\"true\""));
    let (status, _, body) = b
        .post_form(
            "/admin/users/new",
            "/admin/users",
            &[
                ("email", "dana@clinic.example"),
                ("full_name", "Dana Doctor"),
                ("roles", "provider"),
                ("roles", "admin"),
            ],
        )
        .await;
    assert_eq!(status, 201);
    assert!(body.contains("Temporary password for dana@clinic.example"));
    let (_, list) = b.get("/admin/users?q=dana").await;
    assert!(list.contains("Dana Doctor") && list.contains("1–1 of 1"));
    assert!(list.contains("Administrator, Provider"));
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let u = app.create_user(&[Role::Staff]).await;
    let b = app.browser_login(&u).await;
    let (status, location, _) = b.post_form("/profile", "/logout", &[]).await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/login?msg=logged_out"));
    let res = b.client.get(app.url("/profile")).send().await.unwrap();
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn pages_work_without_javascript_and_fit_a_phone() {
    let app = TestApp::spawn().await;
    let b = app.browser_login(&app.create_user(&[Role::Admin]).await).await;
    for page in ["/", "/profile", "/admin/users", "/admin/users/new", "/admin/audit"] {
        let (status, body) = b.get(page).await;
        assert_eq!(status, 200, "{page}");
        assert!(body.contains("name=\"viewport\" content=\"width=device-width"), "{page}");
        assert!(!body.contains("<script"), "{page} needs no JavaScript");
        assert!(body.len() < 100 * 1024, "{page} is small");
        // Every input has a label.
        for id in body.match_indices("<input id=\"").map(|(i, _)| &body[i + 11..]).map(|r| &r[..r.find('"').unwrap()]) {
            assert!(body.contains(&format!("for=\"{id}\"")), "{page}: input {id} has no label");
        }
    }
}
