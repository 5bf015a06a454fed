//! Administration → Integrations: API keys for other software (created, shown once,
//! revoked, with their last use) and webhook endpoints (registered, paused, removed),
//! each with its delivery log and a resend button.

use super::form::Opt;
use axum::Router;
use praxis_domain::integrations::{KeyArea, WebhookEvent};

use crate::state::AppState;

mod keys;
mod webhooks;

pub(super) fn router() -> Router<AppState> {
    Router::new().merge(keys::router()).merge(webhooks::router())
}

/// The event checkboxes, ticking those in `chosen`.
fn event_options(chosen: &[String]) -> Vec<Opt> {
    WebhookEvent::ALL
        .iter()
        .map(|e| {
            Opt::new(e.as_str(), format!("{} ({})", e.label(), e.as_str()), chosen.iter().any(|c| c == e.as_str()))
        })
        .collect()
}

/// The area checkboxes, ticking those in `chosen`.
fn area_options(chosen: &[String]) -> Vec<Opt> {
    KeyArea::ALL.iter().map(|a| Opt::new(a.as_str(), a.label(), chosen.iter().any(|c| c == a.as_str()))).collect()
}
