//! What every handler can reach.

use praxis_services::Services;

/// HTTP-level settings.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Mark cookies `Secure` (set when Praxis is served over HTTPS).
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_proxy: bool,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 503.
    pub request_timeout: std::time::Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            trust_proxy: false,
            max_body_bytes: 1024 * 1024,
            request_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// Shared state of the router.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub svc: Services,
    /// HTTP settings.
    pub config: WebConfig,
}
