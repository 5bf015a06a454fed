//! `POST /webhooks/sms`: patients' SMS replies to reminders, as a Twilio-compatible
//! provider posts them (form fields, `X-Twilio-Signature`). The answer is TwiML: the
//! text the patient gets back.

use crate::extract::Ctx;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use praxis_services::ServiceError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const PJ: &str = "application/problem+json";

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sms_webhook))
}

/// Escapes text for an XML element.
fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// An SMS reply from a patient: `C` confirms and `X` cancels the appointment of the latest
/// reminder sent to that number (under the cancellation policy). The signature is checked
/// before anything is read; a missing or wrong one is a 400 and changes nothing.
#[utoipa::path(post, path = "/webhooks/sms", tag = "messages",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "The provider's fields: `From`, `Body`, …"),
    params(("X-Twilio-Signature" = String, Header, description = "Base64 HMAC-SHA1 of the address and the sorted fields, keyed with the auth token")),
    responses((status = 200, description = "TwiML with the answer sent back to the patient", body = String, content_type = "text/xml"),
              (status = 400, body = Problem, content_type = PJ, description = "Missing or wrong signature"),
              (status = 404, body = Problem, content_type = PJ, description = "SMS replies are not configured")))]
async fn sms_webhook(
    State(st): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    // Read as sent (any content type): what is not form-encoded simply has no fields,
    // and its signature cannot match.
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let signature = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok());
    match st.svc.handle_sms_webhook(&ctx, &fields, signature).await {
        Ok(text) => Ok((
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
                xml_text(&text)
            ),
        )
            .into_response()),
        Err(ServiceError::Validation(errors)) => Err(Problem {
            errors,
            ..Problem::new(StatusCode::BAD_REQUEST, "bad_signature", "The webhook's signature is missing or wrong.")
        }),
        Err(e) => Err(e.into()),
    }
}
