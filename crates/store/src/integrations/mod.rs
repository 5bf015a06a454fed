//! Integrations: API keys ([`api_keys`]) and outgoing webhooks ([`webhooks`]).

pub mod api_keys;
pub mod webhooks;
