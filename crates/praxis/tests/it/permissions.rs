//! Every route × every role: allowed or forbidden, exactly as the permission matrix says.
//! The API half of the table must list every operation in the OpenAPI document, so a new
//! route cannot be added without deciding who may call it.

use crate::*;
use praxis_domain::Role;
use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    As(Role),
}

const EVERYONE: &[Role] = &[Role::Admin, Role::Staff, Role::Provider, Role::Patient];
const ADMIN: &[Role] = &[Role::Admin];

/// (method, path, body, roles allowed). `{id}` is replaced with a fresh target user.
fn api_table() -> Vec<(&'static str, &'static str, serde_json::Value, &'static [Role])> {
    vec![
        ("GET", "/api/v1/me", json!(null), EVERYONE),
        (
            "POST",
            "/api/v1/me/password",
            json!({"current_password": "x", "new_password": "y", "confirm_password": "y"}),
            EVERYONE,
        ),
        ("GET", "/api/v1/users", json!(null), ADMIN),
        ("POST", "/api/v1/users", json!({"email": "new@clinic.example", "full_name": "N", "roles": ["staff"]}), ADMIN),
        ("GET", "/api/v1/users/{id}", json!(null), ADMIN),
        ("PATCH", "/api/v1/users/{id}", json!({"full_name": "Changed"}), ADMIN),
        ("POST", "/api/v1/users/{id}/deactivate", json!({}), ADMIN),
        ("POST", "/api/v1/users/{id}/activate", json!({}), ADMIN),
        ("POST", "/api/v1/users/{id}/reset-password", json!({}), ADMIN),
        ("GET", "/api/v1/audit", json!(null), ADMIN),
        // Last: it ends the session the other rows use.
        ("POST", "/api/v1/auth/logout", json!({}), EVERYONE),
    ]
}

/// Routes anyone may call, logged in or not.
const PUBLIC_API: &[(&str, &str)] = &[("POST", "/api/v1/auth/login")];

/// (method, path, form fields, roles allowed) for the web pages.
type PageRow = (&'static str, &'static str, Vec<(&'static str, &'static str)>, &'static [Role]);

fn page_table() -> Vec<PageRow> {
    vec![
        ("GET", "/", vec![], EVERYONE),
        ("GET", "/profile", vec![], EVERYONE),
        ("POST", "/profile/password", vec![("current_password", "x")], EVERYONE),
        ("GET", "/admin/users", vec![], ADMIN),
        ("GET", "/admin/users/new", vec![], ADMIN),
        ("POST", "/admin/users", vec![("email", "page@clinic.example"), ("full_name", "P"), ("roles", "staff")], ADMIN),
        ("GET", "/admin/users/{id}", vec![], ADMIN),
        ("POST", "/admin/users/{id}", vec![("full_name", "Changed"), ("roles", "staff")], ADMIN),
        ("POST", "/admin/users/{id}/deactivate", vec![], ADMIN),
        ("POST", "/admin/users/{id}/activate", vec![], ADMIN),
        ("POST", "/admin/users/{id}/reset-password", vec![], ADMIN),
        ("GET", "/admin/audit", vec![], ADMIN),
    ]
}

fn everyone() -> Vec<Who> {
    let mut v = vec![Who::Anonymous];
    v.extend(EVERYONE.iter().map(|r| Who::As(*r)));
    v
}

#[tokio::test]
async fn the_api_table_covers_every_documented_operation() {
    let app = TestApp::spawn().await;
    let documented = crate::http::openapi_operations(&app).await;
    let mut listed: Vec<(String, String)> = api_table()
        .iter()
        .map(|(m, p, _, _)| (m.to_string(), p.to_string()))
        .chain(PUBLIC_API.iter().map(|(m, p)| (m.to_string(), p.to_string())))
        .collect();
    listed.sort();
    assert_eq!(listed, documented, "add the new route to the permission table");
}

#[tokio::test]
async fn every_api_route_for_every_role() {
    let app = TestApp::spawn().await;
    let mut tokens = Vec::new();
    for who in everyone() {
        let token = match who {
            Who::Anonymous => None,
            // Two admins, so an admin may change the other one's roles.
            Who::As(role) => Some(app.user_with_token(role).await.1),
        };
        tokens.push((who, token));
    }
    app.create_user(&[Role::Admin]).await;
    for (method, path, body, allowed) in api_table() {
        for (who, token) in &tokens {
            let target = app.create_user(&[Role::Staff]).await;
            let path = path.replace("{id}", &target.id.to_string());
            let mut req = app.client().request(method.parse().unwrap(), app.url(&path));
            if !body.is_null() {
                req = req.json(&body);
            }
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let status = req.send().await.unwrap().status().as_u16();
            let expected_ok = matches!(who, Who::As(r) if allowed.contains(r));
            match who {
                Who::Anonymous => assert_eq!(status, 401, "{method} {path} anonymous"),
                Who::As(r) if expected_ok => {
                    assert!(![401, 403].contains(&status) && status < 500, "{method} {path} {r:?} → {status}")
                }
                Who::As(r) => assert_eq!(status, 403, "{method} {path} {r:?}"),
            }
        }
    }
}

#[tokio::test]
async fn every_page_for_every_role() {
    let app = TestApp::spawn().await;
    app.create_user(&[Role::Admin]).await;
    for who in everyone() {
        let browser = match who {
            Who::Anonymous => Browser::anonymous(&app),
            Who::As(role) => {
                let u = app.create_user(&[role]).await;
                app.browser_login(&u).await
            }
        };
        for (method, path, fields, allowed) in page_table() {
            let target = app.create_user(&[Role::Staff]).await;
            let path = path.replace("{id}", &target.id.to_string());
            let (status, location) = if method == "GET" {
                let res = browser.client.get(app.url(&path)).send().await.unwrap();
                (res.status().as_u16(), res.headers().get("location").map(|l| l.to_str().unwrap().to_string()))
            } else {
                let form_page = if who == Who::Anonymous { "/login" } else { "/profile" };
                let (s, l, _) = browser.post_form(form_page, &path, &fields).await;
                (s, l)
            };
            match who {
                Who::Anonymous => {
                    assert_eq!(status, 303, "{method} {path} anonymous");
                    assert!(location.unwrap().starts_with("/login"), "{method} {path}");
                }
                Who::As(r) if allowed.contains(&r) => {
                    assert!(![401, 403].contains(&status) && status < 500, "{method} {path} {r:?} → {status}");
                    if let Some(l) = &location {
                        assert!(!l.starts_with("/login"), "{method} {path} {r:?} sent to login");
                    }
                }
                Who::As(r) => assert_eq!(status, 403, "{method} {path} {r:?}"),
            }
        }
    }
}
