//! Cross-site request forgery protection for every state-changing request that carries
//! ambient credentials (cookies).
//!
//! The token is derived, not stored: `SHA-256("praxis-csrf:" + secret)`, where the secret
//! is the HttpOnly session cookie (logged in) or a random pre-session cookie (the login
//! form). An attacker's page can neither read those cookies nor compute the token, while
//! every Praxis instance can check it without a database lookup. Forms send it in the
//! `_csrf` field; scripts send the `x-csrf-token` header. Requests that authenticate
//! with a bearer token, or carry no cookies at all, are not at risk and not checked.

use crate::pages::error_page_with;
use crate::state::AppState;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;
use sha2::{Digest, Sha256};

/// The session cookie.
pub const SESSION_COOKIE: &str = "praxis_session";
/// The pre-session cookie that anchors the login form's token.
pub const ANON_COOKIE: &str = "praxis_csrf";

/// The CSRF token for the current request, for templates to put in forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// Derives the token from a cookie secret.
pub fn derive(secret: &str) -> String {
    let digest = Sha256::digest(format!("praxis-csrf:{secret}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The middleware: puts [`CsrfToken`] in the request, sets the pre-session cookie when
/// missing, and refuses unsafe requests whose token does not match.
pub async fn protect(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(req.headers());
    let session = jar.get(SESSION_COOKIE).map(|c| c.value().to_string());
    let anon = jar.get(ANON_COOKIE).map(|c| c.value().to_string());
    // Webhooks are server-to-server and signed: no ambient credentials to forge.
    let is_api = req.uri().path().starts_with("/api/")
        || req.uri().path().starts_with("/webhooks/")
        || crate::fhir::is_fhir_path(req.uri().path());
    let (secret, new_anon) = match (&session, &anon) {
        (Some(s), _) => (s.clone(), None),
        (None, Some(a)) => (a.clone(), None),
        (None, None) => {
            let mut bytes = [0u8; 32];
            rand::fill(&mut bytes);
            let v = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            (v.clone(), if is_api { None } else { Some(v) })
        }
    };
    let expected = derive(&secret);
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let has_bearer = req.headers().contains_key(header::AUTHORIZATION);
    // API clients without a session cookie carry no ambient credentials: nothing to forge.
    let must_check = unsafe_method && !has_bearer && (!is_api || session.is_some());

    let mut req = req;
    if must_check {
        let from_header = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_string);
        let from_query = req.uri().query().and_then(|q| form_field(q.as_bytes(), "_csrf"));
        let mut presented = from_header.or(from_query);
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if presented.is_none() && is_form {
            let (parts, body) = req.into_parts();
            let bytes = match to_bytes(body, state.config.max_body_bytes).await {
                Ok(b) => b,
                Err(_) => {
                    return error_page_with(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large to send.", None);
                }
            };
            presented = form_field(&bytes, "_csrf");
            req = Request::from_parts(parts, Body::from(bytes));
        }
        let ok = presented.is_some_and(|p| constant_time_eq(p.as_bytes(), expected.as_bytes()));
        if !ok {
            tracing::warn!(path = %req.uri().path(), "CSRF token missing or wrong");
            let (parts, _) = req.into_parts();
            let ctx = crate::extract::request_context(&parts, &state);
            let summary = format!("{} {} refused: CSRF token missing or wrong", parts.method, parts.uri.path());
            state.svc.record_security_event(&ctx, "security.csrf_rejected", &summary).await;
            if is_api {
                return axum::response::IntoResponse::into_response(crate::problem::Problem::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "Send the x-csrf-token header with cookie-authenticated requests, or use a bearer token.",
                ));
            }
            return error_page_with(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from Praxis. Go back, reload the page and try again.",
                None,
            );
        }
    }
    req.extensions_mut().insert(CsrfToken(expected));
    let mut res = next.run(req).await;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if let Some(v) = new_anon.filter(|_| is_html) {
        let cookie = Cookie::build((ANON_COOKIE, v))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(state.config.secure_cookies)
            .build();
        if let Ok(h) = HeaderValue::from_str(&cookie.to_string()) {
            res.headers_mut().append(header::SET_COOKIE, h);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token_in_a_form() {
        assert_eq!(form_field(b"a=1&_csrf=x%2By+z&empty", "_csrf").as_deref(), Some("x+y z"));
        assert_eq!(form_field(b"a=1", "_csrf"), None);
    }

    #[test]
    fn tokens_differ_per_secret_and_compare_in_constant_time() {
        assert_ne!(derive("a"), derive("b"));
        assert!(constant_time_eq(derive("a").as_bytes(), derive("a").as_bytes()));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
