//! The invoice and claim life cycles, and the rules for payments and refunds.
//!
//! ```text
//! draft ─issue─▶ issued ─pay part─▶ partially_paid ─pay rest─▶ paid
//!   │              └──── due date passes with money owing ──▶ overdue ─pay─▶ …
//!   └─void─▶ void ◀─void (nothing paid, or everything refunded)── issued | overdue
//! ```
//!
//! Once issued, an invoice's status follows its money ([`settle`]): what was paid (net of
//! refunds) against its total and due date. An issued invoice is never edited or deleted;
//! it is voided with a reason and, if needed, reissued as a new invoice with a new number.
//!
//! **Overpayment is refused**, always: a payment may be at most what is still owing.
//! Praxis keeps no patient credit balance; an online payment that arrives for more than is
//! owing (a race with a payment at the desk) is recorded and the excess refunded.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Where an invoice is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Being prepared; can be edited or voided; has no number yet.
    Draft,
    /// Sent to the patient with a number; nothing paid yet.
    Issued,
    /// Some paid, some still owing, not yet due.
    PartiallyPaid,
    /// Nothing owing.
    Paid,
    /// Past its due date with money still owing.
    Overdue,
    /// Cancelled with a reason; kept for the record.
    Void,
}

impl InvoiceStatus {
    /// Every status.
    pub const ALL: [InvoiceStatus; 6] = [
        InvoiceStatus::Draft,
        InvoiceStatus::Issued,
        InvoiceStatus::PartiallyPaid,
        InvoiceStatus::Paid,
        InvoiceStatus::Overdue,
        InvoiceStatus::Void,
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "draft",
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::PartiallyPaid => "partially_paid",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Overdue => "overdue",
            InvoiceStatus::Void => "void",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "Draft",
            InvoiceStatus::Issued => "Issued",
            InvoiceStatus::PartiallyPaid => "Partly paid",
            InvoiceStatus::Paid => "Paid",
            InvoiceStatus::Overdue => "Overdue",
            InvoiceStatus::Void => "Void",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<InvoiceStatus> {
        InvoiceStatus::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }

    /// True once issued and not void: the invoice counts as revenue and can take money.
    pub fn is_open_or_paid(self) -> bool {
        matches!(
            self,
            InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid | InvoiceStatus::Paid | InvoiceStatus::Overdue
        )
    }

    /// True when money may be paid against it.
    pub fn accepts_payment(self) -> bool {
        matches!(self, InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid | InvoiceStatus::Overdue)
    }
}

impl fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an issued invoice's money says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// The status it should have.
    pub status: InvoiceStatus,
    /// total − paid (never negative: overpayment is refused).
    pub balance_minor: i64,
}

/// The status of an issued invoice from its total, what was paid net of refunds, its due
/// date and today's date in the clinic: paid when nothing is owing, overdue when money is
/// owing after the due date, partly paid when something was paid, else issued.
pub fn settle(total_minor: i64, paid_minor: i64, due: jiff::civil::Date, today: jiff::civil::Date) -> Settlement {
    let balance = (total_minor - paid_minor).max(0);
    let status = if balance == 0 {
        InvoiceStatus::Paid
    } else if today > due {
        InvoiceStatus::Overdue
    } else if paid_minor > 0 {
        InvoiceStatus::PartiallyPaid
    } else {
        InvoiceStatus::Issued
    };
    Settlement { status, balance_minor: balance }
}

/// How a payment was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Cash at the desk.
    Cash,
    /// Card at the desk (EFTPOS terminal); Praxis never sees the card.
    Card,
    /// Bank transfer.
    BankTransfer,
    /// UPI (India), with the transaction reference.
    Upi,
    /// Online through Stripe (recorded by Stripe's webhook, not by hand).
    Online,
    /// Paid by an insurer or Medicare (a claim's benefit).
    Insurer,
}

impl PaymentMethod {
    /// Every method.
    pub const ALL: [PaymentMethod; 6] = [
        PaymentMethod::Cash,
        PaymentMethod::Card,
        PaymentMethod::BankTransfer,
        PaymentMethod::Upi,
        PaymentMethod::Online,
        PaymentMethod::Insurer,
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Card => "card",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Upi => "upi",
            PaymentMethod::Online => "online",
            PaymentMethod::Insurer => "insurer",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "Cash",
            PaymentMethod::Card => "Card",
            PaymentMethod::BankTransfer => "Bank transfer",
            PaymentMethod::Upi => "UPI",
            PaymentMethod::Online => "Online (card)",
            PaymentMethod::Insurer => "Insurer / Medicare",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<PaymentMethod> {
        PaymentMethod::ALL.into_iter().find(|m| m.as_str() == s.trim())
    }

    /// True when staff record it by hand (online payments come only from Stripe).
    pub fn recorded_by_staff(self) -> bool {
        self != PaymentMethod::Online
    }

    /// True when the method needs a reference (a UPI transaction id, a bank reference).
    pub fn needs_reference(self) -> bool {
        matches!(self, PaymentMethod::Upi)
    }
}

/// Why a money change was refused. Messages are for the person at the desk.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum BillingError {
    /// The amount is zero or negative.
    #[error("Give an amount greater than zero.")]
    NotPositive,
    /// The invoice cannot take a payment in its status.
    #[error("{0}")]
    NotPayable(String),
    /// More than is owing.
    #[error("That is more than is owing ({owing}); payments larger than the balance are refused.")]
    Overpayment {
        /// What is owing, formatted.
        owing: String,
    },
    /// More than is left of the payment to refund.
    #[error("At most {left} of this payment can still be refunded.")]
    OverRefund {
        /// What can still be refunded, formatted.
        left: String,
    },
    /// An illegal life-cycle step.
    #[error("{0}")]
    Illegal(String),
}

/// Checks a payment of `amount` against an invoice in `status` owing `balance`.
/// `fmt` formats an amount for the message.
pub fn check_payment(
    status: InvoiceStatus,
    balance_minor: i64,
    amount_minor: i64,
    fmt: impl Fn(i64) -> String,
) -> Result<(), BillingError> {
    if amount_minor <= 0 {
        return Err(BillingError::NotPositive);
    }
    match status {
        InvoiceStatus::Draft => {
            return Err(BillingError::NotPayable("Issue the invoice before taking a payment.".into()));
        }
        InvoiceStatus::Void => return Err(BillingError::NotPayable("This invoice is void; it cannot be paid.".into())),
        InvoiceStatus::Paid => {
            return Err(BillingError::NotPayable("This invoice is already paid in full.".into()));
        }
        _ => {}
    }
    if amount_minor > balance_minor {
        return Err(BillingError::Overpayment { owing: fmt(balance_minor) });
    }
    Ok(())
}

/// Checks a refund of `amount` from a payment of `paid` of which `refunded` went back already.
pub fn check_refund(
    paid_minor: i64,
    refunded_minor: i64,
    amount_minor: i64,
    fmt: impl Fn(i64) -> String,
) -> Result<(), BillingError> {
    if amount_minor <= 0 {
        return Err(BillingError::NotPositive);
    }
    let left = (paid_minor - refunded_minor).max(0);
    if amount_minor > left {
        return Err(BillingError::OverRefund { left: fmt(left) });
    }
    Ok(())
}

/// Where an insurance or Medicare claim for one invoice line is.
///
/// ```text
/// pending ─submit─▶ submitted ─approve─▶ approved
///                       └────reject────▶ rejected ─submit─▶ submitted (corrected and sent again)
/// pending | submitted | rejected ─withdraw─▶ withdrawn   (the invoice was voided)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Made when the invoice was issued; not yet sent.
    Pending,
    /// Sent to the payer.
    Submitted,
    /// The payer accepted it (perhaps for less than claimed).
    Approved,
    /// The payer refused it; the patient owes that part unless it is sent again.
    Rejected,
    /// No longer claimed (the invoice was voided).
    Withdrawn,
}

/// A step in a claim's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimAction {
    /// Sent to the payer.
    Submit,
    /// Accepted by the payer.
    Approve,
    /// Refused by the payer (with a reason).
    Reject,
    /// No longer claimed.
    Withdraw,
}

impl ClaimStatus {
    /// Every status.
    pub const ALL: [ClaimStatus; 5] = [
        ClaimStatus::Pending,
        ClaimStatus::Submitted,
        ClaimStatus::Approved,
        ClaimStatus::Rejected,
        ClaimStatus::Withdrawn,
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Pending => "pending",
            ClaimStatus::Submitted => "submitted",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Rejected => "rejected",
            ClaimStatus::Withdrawn => "withdrawn",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            ClaimStatus::Pending => "Not yet sent",
            ClaimStatus::Submitted => "Submitted",
            ClaimStatus::Approved => "Approved",
            ClaimStatus::Rejected => "Rejected",
            ClaimStatus::Withdrawn => "Withdrawn",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<ClaimStatus> {
        ClaimStatus::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }

    /// Where `action` leads, or why it cannot be taken.
    pub fn next(self, action: ClaimAction) -> Result<ClaimStatus, BillingError> {
        use ClaimAction as A;
        use ClaimStatus as S;
        match (self, action) {
            (S::Pending | S::Rejected, A::Submit) => Ok(S::Submitted),
            (S::Submitted, A::Approve) => Ok(S::Approved),
            (S::Submitted, A::Reject) => Ok(S::Rejected),
            (S::Pending | S::Submitted | S::Rejected, A::Withdraw) => Ok(S::Withdrawn),
            (s, a) => Err(BillingError::Illegal(format!(
                "A claim that is {} cannot be {}.",
                s.label().to_lowercase(),
                match a {
                    A::Submit => "submitted",
                    A::Approve => "approved (submit it first)",
                    A::Reject => "rejected (submit it first)",
                    A::Withdraw => "withdrawn",
                }
            ))),
        }
    }

    /// The part of `claimed` the patient need not pay while the claim is in this status:
    /// all of it while pending or submitted, what was approved once approved, nothing once
    /// rejected or withdrawn (the patient's out-of-pocket share follows the outcome).
    pub fn expected_benefit(self, claimed_minor: i64, approved_minor: Option<i64>) -> i64 {
        match self {
            ClaimStatus::Pending | ClaimStatus::Submitted => claimed_minor,
            ClaimStatus::Approved => approved_minor.unwrap_or(claimed_minor),
            ClaimStatus::Rejected | ClaimStatus::Withdrawn => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn status_follows_the_money_and_the_due_date() {
        let due = date(2027, 1, 15);
        let before = date(2027, 1, 10);
        let after = date(2027, 1, 16);
        assert_eq!(settle(10000, 0, due, before).status, InvoiceStatus::Issued);
        assert_eq!(settle(10000, 4000, due, before).status, InvoiceStatus::PartiallyPaid);
        assert_eq!(settle(10000, 4000, due, before).balance_minor, 6000);
        assert_eq!(settle(10000, 10000, due, after).status, InvoiceStatus::Paid);
        assert_eq!(settle(10000, 0, due, after).status, InvoiceStatus::Overdue);
        assert_eq!(settle(10000, 4000, due, after).status, InvoiceStatus::Overdue);
        // Due today is not yet overdue.
        assert_eq!(settle(10000, 0, due, due).status, InvoiceStatus::Issued);
        // A zero invoice is paid when issued.
        assert_eq!(settle(0, 0, due, before).status, InvoiceStatus::Paid);
    }

    #[test]
    fn payments_never_exceed_the_balance_and_need_an_open_invoice() {
        let f = |n: i64| n.to_string();
        assert!(check_payment(InvoiceStatus::Issued, 5000, 5000, f).is_ok());
        assert!(check_payment(InvoiceStatus::Overdue, 5000, 1, f).is_ok());
        assert_eq!(
            check_payment(InvoiceStatus::Issued, 5000, 5001, f),
            Err(BillingError::Overpayment { owing: "5000".into() })
        );
        assert_eq!(check_payment(InvoiceStatus::Issued, 5000, 0, f), Err(BillingError::NotPositive));
        assert_eq!(check_payment(InvoiceStatus::Issued, 5000, -1, f), Err(BillingError::NotPositive));
        for s in [InvoiceStatus::Draft, InvoiceStatus::Void, InvoiceStatus::Paid] {
            assert!(matches!(check_payment(s, 5000, 100, f), Err(BillingError::NotPayable(_))), "{s}");
        }
    }

    #[test]
    fn refunds_never_exceed_what_is_left_of_the_payment() {
        let f = |n: i64| n.to_string();
        assert!(check_refund(5000, 0, 5000, f).is_ok());
        assert!(check_refund(5000, 3000, 2000, f).is_ok());
        assert_eq!(check_refund(5000, 3000, 2001, f), Err(BillingError::OverRefund { left: "2000".into() }));
        assert_eq!(check_refund(5000, 0, 0, f), Err(BillingError::NotPositive));
    }

    #[test]
    fn claims_move_only_along_their_life_cycle() {
        use ClaimAction::*;
        use ClaimStatus::*;
        assert_eq!(Pending.next(Submit), Ok(Submitted));
        assert_eq!(Submitted.next(Approve), Ok(Approved));
        assert_eq!(Submitted.next(Reject), Ok(Rejected));
        assert_eq!(Rejected.next(Submit), Ok(Submitted));
        assert!(Pending.next(Approve).is_err());
        assert!(Approved.next(Reject).is_err());
        assert!(Approved.next(Withdraw).is_err());
        assert!(Withdrawn.next(Submit).is_err());
        assert_eq!(Approved.expected_benefit(9560, Some(9000)), 9000);
        assert_eq!(Rejected.expected_benefit(9560, None), 0);
        assert_eq!(Submitted.expected_benefit(9560, None), 9560);
    }

    #[test]
    fn names_round_trip() {
        for s in InvoiceStatus::ALL {
            assert_eq!(InvoiceStatus::parse(s.as_str()), Some(s));
        }
        for m in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(m.as_str()), Some(m));
        }
        for c in ClaimStatus::ALL {
            assert_eq!(ClaimStatus::parse(c.as_str()), Some(c));
        }
    }
}
