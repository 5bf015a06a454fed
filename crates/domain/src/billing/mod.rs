//! Billing rules: invoice arithmetic, the invoice and claim life cycles, payments and
//! refunds, funded plans (referrals with a session cap), aged receivables and UPI links.
//!
//! Money is always integer minor units with a [`Currency`](crate::Currency); tax rates
//! are basis points (1000 = 10 %); every rounding is explicit — half away from zero, once
//! per line — and totals are sums of line amounts, so an invoice's total can never drift
//! from its lines by a cent (property-tested in `proptests`).

pub mod aging;
pub mod format;
pub mod invoice;
pub mod plans;
pub mod status;
pub mod upi;

#[cfg(test)]
mod proptests;

pub use aging::{AgeBucket, age_bucket};
pub use format::{MoneyStyle, currency_symbols, format_money, format_money_plain};
pub use invoice::{
    Discount, InvoiceTotals, LineAmounts, LineInput, LineKind, MAX_LINE_AMOUNT, MAX_LINES, MAX_QUANTITY, TaxRate,
    compute_line, compute_totals, round_half_away,
};
pub use plans::{CapPeriod, PlanStanding, PlanTerms, PlanWarning, plan_standing};
pub use status::{
    BillingError, ClaimAction, ClaimStatus, InvoiceStatus, PaymentMethod, Settlement, check_payment, check_refund,
    settle,
};
