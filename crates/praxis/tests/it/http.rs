//! HTTP behaviour shared by every route: problem+json errors, limits, headers, health,
//! metrics and the OpenAPI document.

use crate::*;
use praxis_domain::Role;
use serde_json::Value;

/// Every API operation in the OpenAPI document, as (METHOD, path template).
pub async fn openapi_operations(app: &TestApp) -> Vec<(String, String)> {
    let doc: Value = app.client().get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops.sort();
    ops
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_describes_its_routes() {
    let app = TestApp::spawn().await;
    let res = app.client().get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let ops = openapi_operations(&app).await;
    assert!(ops.contains(&("POST".into(), "/api/v1/auth/login".into())));
    assert!(ops.contains(&("GET".into(), "/api/v1/audit".into())));
    // Every documented operation has at least one response, a tag and an operationId
    // of its own (links between operations name them; two alike break the links).
    let mut ids = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {path}");
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            if let Some(other) = ids.insert(id.to_string(), format!("{method} {path}")) {
                panic!("operationId {id} is used by {other} and {method} {path}");
            }
        }
    }
}

#[tokio::test]
async fn unknown_routes_are_404_problems_or_pages() {
    let app = TestApp::spawn().await;
    let res = app.client().get(app.url("/api/v1/no/such/thing")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "urn:praxis:problem:not_found");
    assert_eq!(body["status"], 404);
    assert!(body["title"].is_string() && body["detail"].is_string() && body["request_id"].is_string());

    let res = app.client().get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(res.text().await.unwrap().contains("Page not found"));

    let res = app.client().delete(app.url("/api/v1/auth/login")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn security_headers_and_request_ids_on_every_response() {
    let app = TestApp::spawn().await;
    for path in ["/login", "/api/v1/openapi.json", "/healthz", "/api/v1/nothing"] {
        let res = app.client().get(app.url(path)).send().await.unwrap();
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h["x-request-id"].to_str().unwrap().len() >= 32, "{path}");
    }
    // A request id given by a proxy is kept.
    let res = app.client().get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    let res = app.client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["database"], "ok");
    let res = app.client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("route=\"/readyz\""), "{text}");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.db.close().await;
    let res = app.client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.json::<Value>().await.unwrap()["type"], "urn:praxis:problem:not_ready");
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = TestApp::spawn().await;
    let big = format!("{{\"email\":\"{}\",\"password\":\"x\"}}", "a".repeat(2 * 1024 * 1024));
    let res = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

/// Bodies no route should ever answer with a 5xx.
fn malformed_bodies() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("application/json", b"".to_vec()),
        ("application/json", b"{".to_vec()),
        ("application/json", b"[]".to_vec()),
        ("application/json", b"null".to_vec()),
        ("application/json", b"\"text\"".to_vec()),
        ("application/json", b"{\"email\": 5, \"password\": []}".to_vec()),
        ("application/json", b"{\"roles\": \"admin\", \"full_name\": {\"a\": 1}}".to_vec()),
        ("application/json", b"{\"new_password\": 123456789012}".to_vec()),
        ("application/json", vec![0xff, 0xfe, 0x00, 0x7b]),
        ("application/json", format!("{{\"email\": \"{}\"}}", "\u{0}".repeat(10)).into_bytes()),
        ("text/plain", b"hello".to_vec()),
        ("application/x-www-form-urlencoded", b"email=a&password=b".to_vec()),
    ]
}

#[tokio::test]
async fn malformed_bodies_never_cause_a_server_error_on_any_route() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.user_with_token(Role::Admin).await;
    let target = app.create_user(&[Role::Staff]).await;
    let ops = openapi_operations(&app).await;
    assert!(ops.len() >= 12, "{ops:?}");
    for (method, path) in &ops {
        let path = path.replace("{id}", &target.id.to_string());
        for (ctype, body) in malformed_bodies() {
            for token in [None, Some(admin.as_str())] {
                let mut req = app
                    .client()
                    .request(method.parse().unwrap(), app.url(&path))
                    .header("content-type", ctype)
                    .body(body.clone());
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let res = req.send().await.unwrap();
                let status = res.status().as_u16();
                assert!(status < 500, "{method} {path} {ctype} {:?} → {status}", String::from_utf8_lossy(&body));
                if status >= 400 {
                    assert_eq!(res.headers()["content-type"], "application/problem+json", "{method} {path}");
                }
            }
        }
    }
    // Wrong ids in paths are 404, never 500. (The sweep above logged the admin out.)
    let (_, admin) = app.user_with_token(Role::Admin).await;
    for id in ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "%00", "..%2f..%2f"] {
        let res = app.client().get(app.url(&format!("/api/v1/users/{id}"))).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(res.status(), 404, "{id}");
    }
    // Wrong query values are the usual 422 validation problem.
    let res =
        app.client().get(app.url("/api/v1/users?page=abc&active=maybe")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["type"], "urn:praxis:problem:validation", "{body}");
    assert!(body["errors"].as_array().is_some_and(|e| !e.is_empty()), "{body}");
}

#[tokio::test]
async fn wrong_json_types_name_the_field() {
    let app = TestApp::spawn().await;
    let res = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(r#"{"email": 5, "password": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "email", "{body}");
    let res = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["type"], "urn:praxis:problem:malformed_json");
    let res = app.client().post(app.url("/api/v1/auth/login")).body("{}").send().await.unwrap();
    assert_eq!(res.status(), 415);
}
