//! `/api/v1`: the JSON API. Every route is registered through `utoipa-axum`, so the
//! OpenAPI document at `/api/v1/openapi.json` describes exactly what is served.

pub mod audit;
pub mod auth;
pub mod backups;
pub mod billing;
pub mod catalog;
pub mod contract;
pub mod documents;
pub mod forms;
pub mod integrations;
pub mod messages;
pub mod patients;
pub mod scheduling;
pub mod sms;
pub mod system;
pub mod two_factor;
pub mod users;

use crate::problem::Problem;
use crate::state::AppState;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Praxis API",
        description = "Practice management for outpatient clinics. Authenticate with `POST /api/v1/auth/login` \
                       and send the returned token as `Authorization: Bearer <token>`. Errors are RFC 9457 \
                       problem details (`application/problem+json`).",
        license(name = "AGPL-3.0-or-later")
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, praxis_services::billing::reports::ReportKind)),
    tags(
        (name = "auth", description = "Logging in and out, the current account"),
        (name = "users", description = "Account administration (administrators)"),
        (name = "audit", description = "The audit log (administrators)"),
        (name = "catalog", description = "Clinics, specialties, providers and services"),
        (name = "availability", description = "Weekly availability, exceptions and closures"),
        (name = "patients", description = "Patient records"),
        (name = "clinical", description = "Clinical notes and assessments (providers treating the patient)"),
        (name = "scheduling", description = "Slot search, booking and the appointment workflow"),
        (name = "waitlist", description = "The waiting list and offers of freed times"),
        (name = "documents", description = "Patient documents: upload, details, download (who sees what depends on the access level)"),
        (name = "forms", description = "Intake questionnaires, their assignment to patients and the answers"),
        (name = "messages", description = "Email and SMS sent to patients: status, retry, cancel, preferences"),
        (name = "operations", description = "Backups, their schedule and verification, and operational alerts (administrators)"),
        (name = "integrations", description = "API keys for other software and signed outgoing webhooks (administrators)"),
        (name = "billing", description = "Invoices, payments, refunds, claims, referrals, reports and Stripe's webhook (money in minor units)"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("opaque").build()),
        );
    }
}

/// Every API route with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(users::router())
        .merge(audit::router())
        .merge(catalog::router())
        .merge(scheduling::router())
        .merge(patients::router())
        .merge(messages::router())
        .merge(documents::router())
        .merge(forms::router())
        .merge(billing::router())
        .merge(backups::router())
        .merge(integrations::router())
        .merge(two_factor::router())
        .merge(sms::router())
}

/// The OpenAPI document, with the answers every operation can give because of its shape.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = router().into_openapi();
    contract::document_common_answers(&mut doc);
    contract::document_links(&mut doc);
    doc
}
