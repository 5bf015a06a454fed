//! Connecting other software: API keys that let an integration call the API and FHIR
//! with a narrow grant ([`api_keys`]), and signed webhooks that tell other systems what
//! happened without polling ([`webhooks`], sent by [`delivery`]).
//!
//! Only administrators manage either, and never with an API key.

pub mod api_keys;
pub mod delivery;
pub mod webhooks;

pub use api_keys::{ApiKey, ApiKeyInput, CreatedApiKey, KeyAccess};
pub use delivery::WEBHOOK_JOB;
pub use webhooks::{CreatedEndpoint, EndpointInput, WebhookDelivery, WebhookEndpoint};
