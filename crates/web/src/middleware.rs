//! The middleware stack every request passes through, outermost first: request id →
//! tracing span → error bodies normalised (problem+json for the API, a friendly page
//! for people) → security headers → timeout → panic catcher → metrics → body limit →
//! CSRF check → router.

use crate::problem::Problem;
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use std::time::Instant;
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};

/// The Content-Security-Policy: only our own scripts, styles and images; no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                       base-uri 'none'; object-src 'none'";

/// Wraps the router in the middleware stack.
pub fn stack(app: Router, state: &AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let mut app = app
        .layer(from_fn_with_state(state.clone(), crate::extract::identify_api_key))
        .layer(from_fn_with_state(state.clone(), crate::csrf::protect))
        // The outer limit lets document uploads through (they count their own bytes against
        // `max_upload_bytes`); every extractor stays bound by the default limit below.
        .layer(RequestBodyLimitLayer::new(upload_limit(state)))
        .layer(axum::extract::DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(from_fn(record_metrics))
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, state.config.request_timeout))
        .layer(
            ServiceBuilder::new()
                .layer(header(header::CONTENT_SECURITY_POLICY, CSP))
                .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .layer(header(header::X_FRAME_OPTIONS, "DENY"))
                .layer(header(header::REFERRER_POLICY, "same-origin"))
                .layer(header(
                    HeaderName::from_static("permissions-policy"),
                    "camera=(), microphone=(), geolocation=()",
                ))
                .layer(header(HeaderName::from_static("cross-origin-opener-policy"), "same-origin"))
                .layer(header(header::CACHE_CONTROL, "no-store")),
        );
    if state.config.secure_cookies {
        app = app.layer(header(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains"));
    }
    app.layer(from_fn(normalise_errors))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(x_request_id.clone(), MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO).latency_unit(LatencyUnit::Micros))
                .on_failure(DefaultOnFailure::new().level(tracing::Level::ERROR)))
                .layer(PropagateRequestIdLayer::new(x_request_id)),
        )
}

/// The largest body any route accepts: a document upload with a little room for the
/// multipart envelope.
pub fn upload_limit(state: &AppState) -> usize {
    let upload = usize::try_from(state.svc.settings().max_upload_bytes).unwrap_or(usize::MAX);
    state.config.max_body_bytes.max(upload.saturating_add(256 * 1024))
}

/// Gives every error a body people and programs can use: a problem+json document on the
/// API, a friendly page elsewhere. Bodies that handlers already shaped are left alone.
async fn normalise_errors(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let is_fhir = crate::fhir::is_fhir_path(req.uri().path());
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let shaped = content_type.starts_with("application/problem+json") || content_type.starts_with("text/html");
    if is_fhir {
        if content_type.starts_with(praxis_fhir::FHIR_JSON) {
            return res;
        }
        let mut out = crate::fhir::FhirError(praxis_fhir::Outcome::for_status(status.as_u16())).into_response();
        copy_header(&res, &mut out, header::RETRY_AFTER);
        copy_header(&res, &mut out, header::ALLOW);
        return out;
    }
    if is_api {
        if content_type.starts_with("application/problem+json") {
            return with_request_id_in_problem(res, request_id).await;
        }
        let mut p = Problem::for_status(status);
        p.request_id = request_id;
        let mut out = p.into_response();
        copy_header(&res, &mut out, header::RETRY_AFTER);
        copy_header(&res, &mut out, header::ALLOW);
        return out;
    }
    if shaped {
        return res;
    }
    crate::pages::error_page(status, request_id)
}

fn copy_header(from: &Response, to: &mut Response, name: HeaderName) {
    if let Some(v) = from.headers().get(&name) {
        to.headers_mut().insert(name, v.clone());
    }
}

/// Adds the request id to a problem body that lacks it.
async fn with_request_id_in_problem(res: Response, request_id: Option<String>) -> Response {
    let Some(id) = request_id else { return res };
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1024 * 1024).await else {
        return Problem::for_status(parts.status).into_response();
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut m)) => {
            m.entry("request_id").or_insert(serde_json::Value::String(id));
            serde_json::to_vec(&m).unwrap_or_else(|_| bytes.to_vec())
        }
        _ => bytes.to_vec(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// Counts requests and their durations per route and status.
async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}

/// The fallback for unknown addresses.
pub async fn not_found(uri: Uri) -> Response {
    if crate::fhir::is_fhir_path(uri.path()) {
        crate::fhir::FhirError(praxis_fhir::Outcome::for_status(404)).into_response()
    } else if uri.path().starts_with("/api/") {
        Problem::for_status(StatusCode::NOT_FOUND).into_response()
    } else {
        crate::pages::error_page(StatusCode::NOT_FOUND, None)
    }
}
