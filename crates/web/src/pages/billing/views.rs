//! An invoice's lines, payments and refunds as the staff page and the patient's portal
//! page both show them: every amount formatted once, in the invoice's currency.

use super::{money, percent};
use crate::pages::fmt_time;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use praxis_services::billing::Invoice;

/// "2 Mar 2027".
pub(crate) fn long_date(d: Date) -> String {
    d.strftime("%-d %b %Y").to_string()
}

/// One line as shown.
pub(crate) struct LineView {
    pub description: String,
    pub date: String,
    pub item_number: String,
    pub quantity: i64,
    pub unit_price: String,
    /// "−$5.00", or empty.
    pub discount: String,
    /// "10 %".
    pub tax_rate: String,
    /// The line's tax.
    pub tax: String,
    /// The line's total with tax.
    pub amount: String,
    /// The expected rebate, or empty.
    pub rebate: String,
}

/// One payment as shown.
pub(crate) struct PaymentView {
    pub id: String,
    pub receipt: String,
    pub method: String,
    pub received: String,
    pub amount: String,
    /// Given back so far, or empty.
    pub refunded: String,
    pub reference: String,
    /// Something of it can still be refunded.
    pub refundable: bool,
}

/// One refund as shown.
pub(crate) struct RefundView {
    pub number: String,
    pub created: String,
    pub amount: String,
    pub reason: String,
    pub status: String,
}

/// Who reads a refund's status: the clinic's people or the patient.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reader {
    Staff,
    Patient,
}

/// The invoice's lines.
pub(crate) fn lines(inv: &Invoice) -> Vec<LineView> {
    let m = |minor: i64| money(minor, &inv.summary.currency);
    let unless_zero = |minor: i64, text: String| if minor == 0 { String::new() } else { text };
    inv.lines
        .iter()
        .map(|l| LineView {
            description: l.description.clone(),
            date: l.service_date.map(long_date).unwrap_or_default(),
            item_number: l.item_number.clone().unwrap_or_default(),
            quantity: l.quantity,
            unit_price: m(l.unit_price_minor),
            discount: unless_zero(l.amounts.discount_minor, format!("−{}", m(l.amounts.discount_minor))),
            tax_rate: percent(l.tax_rate_bp),
            tax: m(l.amounts.tax_minor),
            amount: m(l.amounts.total_minor),
            rebate: unless_zero(l.amounts.rebate_minor, m(l.amounts.rebate_minor)),
        })
        .collect()
}

/// The invoice's payments, times in `zone`.
pub(crate) fn payments(inv: &Invoice, zone: &TimeZone) -> Vec<PaymentView> {
    let m = |minor: i64| money(minor, &inv.summary.currency);
    inv.payments
        .iter()
        .map(|p| PaymentView {
            id: p.id.to_string(),
            receipt: p.receipt_number.clone(),
            method: p.method_label.clone(),
            received: fmt_time(p.received_at, zone),
            amount: m(p.amount_minor),
            refunded: if p.refunded_minor == 0 { String::new() } else { m(p.refunded_minor) },
            reference: p.reference.clone(),
            refundable: p.refundable_minor > 0,
        })
        .collect()
}

/// The invoice's refunds, times in `zone`, their status in words for `reader`.
pub(crate) fn refunds(inv: &Invoice, zone: &TimeZone, reader: Reader) -> Vec<RefundView> {
    inv.refunds
        .iter()
        .map(|r| RefundView {
            number: r.number.clone(),
            created: fmt_time(r.created_at, zone),
            amount: money(r.amount_minor, &inv.summary.currency),
            reason: r.reason.clone(),
            status: match (r.status.as_str(), reader) {
                ("pending", Reader::Staff) => "Waiting for the card processor".into(),
                ("pending", Reader::Patient) => "On its way back to your card".into(),
                ("failed", Reader::Staff) => format!("Failed: {}", r.failure.clone().unwrap_or_default()),
                ("failed", Reader::Patient) => "Could not be refunded — the clinic will contact you".into(),
                _ => "Refunded".into(),
            },
        })
        .collect()
}
