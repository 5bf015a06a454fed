//! The patient's own invoices in the portal: the list, one invoice with its payments,
//! the PDF, paying online through Stripe's payment element and paying by UPI.

use crate::state::AppState;
use axum::Router;

pub(super) fn router() -> Router<AppState> {
    Router::new()
}
