//! Request extractors: who is asking (API bearer token or browser cookie), from where,
//! and bodies/queries/paths whose rejections become problem+json instead of plain text.

use crate::csrf::SESSION_COOKIE;
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use praxis_services::{Actor, RequestContext};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

/// The request's origin: id, client address, user agent.
#[derive(Clone, Debug)]
pub struct Ctx(pub RequestContext);

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Ctx(request_context(parts, state)))
    }
}

/// Builds the audit context of a request.
pub fn request_context(parts: &Parts, state: &AppState) -> RequestContext {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let forwarded = if state.config.trust_proxy {
        header("x-forwarded-for").and_then(|v| v.split(',').next().map(|s| s.trim().to_string()))
    } else {
        None
    };
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    RequestContext {
        request_id: header("x-request-id"),
        client_ip: forwarded.or(peer),
        user_agent: header("user-agent").map(|u| u.chars().take(300).collect()),
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// The session token a request carries: the bearer token, else the session cookie.
pub fn session_token(parts: &Parts) -> Option<String> {
    bearer(parts).or_else(|| CookieJar::from_headers(&parts.headers).get(SESSION_COOKIE).map(|c| c.value().to_string()))
}

/// The authenticated caller of an API route; 401 problem when there is none.
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        caller(parts, state).await.map(ApiActor).map_err(Problem::from)
    }
}

/// What [`identify_api_key`] found for a request made with an API key: the integration,
/// or `None` when the key was refused (401, already audited).
#[derive(Clone)]
struct KeyCaller(Option<Actor>);

/// The caller of an API or FHIR route: the session's user, or the integration behind an
/// API key. A read-only key is refused (403) on every method that may change something,
/// whatever the route — on top of the permission checks of the services.
pub async fn caller(parts: &Parts, state: &AppState) -> Result<Actor, praxis_services::ServiceError> {
    use praxis_services::ServiceError;
    let actor = match parts.extensions.get::<KeyCaller>() {
        Some(KeyCaller(found)) => found.clone().ok_or(ServiceError::Unauthenticated)?,
        None => {
            let token = session_token(parts).ok_or(ServiceError::Unauthenticated)?;
            state.svc.authenticate(&token, request_context(parts, state)).await?
        }
    };
    if actor.key.is_some_and(|k| k.grant.read_only) && !parts.method.is_safe() {
        return Err(ServiceError::Forbidden);
    }
    Ok(actor)
}

/// Middleware: resolves an API key once per request (so its use is recorded once), and
/// audits every 403 a key's request gets, naming the key and the request.
pub async fn identify_api_key(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let token = bearer(&parts).filter(|t| praxis_services::integrations::api_keys::is_api_key(t));
    let Some(token) = token else { return next.run(Request::from_parts(parts, body)).await };
    let ctx = request_context(&parts, &state);
    let actor = state.svc.authenticate(&token, ctx).await.ok();
    let request = format!("{} {}", parts.method, parts.uri.path());
    parts.extensions.insert(KeyCaller(actor.clone()));
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.status() == StatusCode::FORBIDDEN
        && let Some(a) = actor
    {
        state.svc.record_key_refusal(&a, &request).await;
    }
    response
}

/// The logged-in user of a web page; anyone else is sent to the login page and brought
/// back afterwards.
pub struct PageActor(pub Actor);

impl FromRequestParts<AppState> for PageActor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ctx = request_context(parts, state);
        let token = CookieJar::from_headers(&parts.headers).get(SESSION_COOKIE).map(|c| c.value().to_string());
        let to_login = || {
            let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let next = if parts.method == axum::http::Method::GET { next } else { "/" };
            Redirect::to(&format!("/login?next={}", urlencode(next))).into_response()
        };
        let Some(token) = token else { return Err(to_login()) };
        match state.svc.authenticate(&token, ctx).await {
            // API keys are for programs, not for the web pages.
            Ok(a) if a.key.is_some() => Err(to_login()),
            Ok(mut a) => {
                a.attention = state.svc.alert_banner(&a).await.unwrap_or_default();
                Ok(PageActor(a))
            }
            Err(praxis_services::ServiceError::Unauthenticated) => Err(to_login()),
            Err(e) => Err(crate::pages::error_page(Problem::from(e).status(), None)),
        }
    }
}

/// Percent-encodes a query-string value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A JSON body whose rejections are problems: 415 without a JSON content type, 400 for
/// malformed JSON, 422 (with the offending field) for wrong types, 413 when too large.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(json_problem(rej)),
        }
    }
}

fn json_problem(rej: JsonRejection) -> Problem {
    match rej {
        JsonRejection::MissingJsonContentType(_) => Problem::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        JsonRejection::JsonSyntaxError(e) => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("The body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => {
            let text = e.body_text();
            // axum reports "Failed to deserialize the JSON body into the target type: <path>: <reason>".
            let detail = text.split_once("target type: ").map(|(_, r)| r.to_string()).unwrap_or(text);
            let field = detail
                .split_once(": ")
                .map(|(f, _)| f.to_string())
                .filter(|f| !f.contains(' '))
                .unwrap_or_else(|| "body".into());
            Problem {
                errors: vec![praxis_domain::FieldError { field, code: "invalid".into(), message: detail.clone() }],
                ..Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    format!("The body has a wrong value: {detail}"),
                )
            }
        }
        JsonRejection::BytesRejection(e) => {
            let status = e.status();
            Problem::for_status(if status.is_client_error() { status } else { StatusCode::BAD_REQUEST })
        }
        other => Problem::new(other.status(), "bad_request", other.body_text()),
    }
}

/// A query string whose rejection is the usual 422 validation problem, naming the
/// parameter in `errors[]` where the parser says which one it was.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| query_problem(&e.body_text()))
    }
}

/// "Failed to deserialize query string: missing field `service_id`" → a 422 whose
/// `errors[]` says `service_id` is required.
fn query_problem(text: &str) -> Problem {
    let reason = text.split_once("query string: ").map(|(_, r)| r).unwrap_or(text).trim().to_string();
    let missing = reason.strip_prefix("missing field `").and_then(|r| r.split_once('`')).map(|(f, _)| f.to_string());
    let (field, code, message) = match missing {
        Some(f) => (f, "required", "This query parameter is required.".to_string()),
        None => ("query".to_string(), "invalid", format!("A query parameter is malformed: {reason}")),
    };
    Problem {
        errors: vec![praxis_domain::FieldError { field, code: code.into(), message: message.clone() }],
        ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", message)
    }
}

/// A path parameter; an id that cannot be parsed cannot exist, so it answers 404.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| ApiPath(p.0)).map_err(
            |_: PathRejection| Problem::new(StatusCode::NOT_FOUND, "not_found", "There is nothing at this address."),
        )
    }
}
