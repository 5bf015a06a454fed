//! UPI payment links (India): `upi://pay?pa=…&pn=…&am=…&cu=INR&tn=…&tr=…`, the form every
//! UPI app opens when the link is tapped or its QR code scanned. Built here, drawn into a
//! QR code locally: no third-party service sees who pays what.

use crate::uri::percent_encode;
use crate::values::{Currency, Money};

/// A payee's virtual payment address (`clinic@okaxis`), checked for shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vpa(String);

impl Vpa {
    /// Parses `name@handle`: 2–256 letters, digits, dots, dashes or underscores, `@`, and a
    /// handle of 2–64 letters or digits.
    pub fn parse(raw: &str) -> Result<Vpa, String> {
        let s = raw.trim();
        let msg = || "A UPI ID looks like clinic@okaxis (letters, digits, dots, dashes; one @).".to_string();
        let (name, handle) = s.split_once('@').ok_or_else(msg)?;
        let name_ok = (2..=256).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        let handle_ok = (2..=64).contains(&handle.len()) && handle.chars().all(|c| c.is_ascii_alphanumeric());
        if !name_ok || !handle_ok {
            return Err(msg());
        }
        Ok(Vpa(s.to_ascii_lowercase()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The link for paying `amount` (rupees only) to `payee` named `payee_name`, with the
/// invoice number as both the transaction reference and the note.
pub fn payment_link(payee: &Vpa, payee_name: &str, amount: Money, reference: &str) -> Result<String, String> {
    if amount.currency != Currency::parse("INR").map_err(|e| e.0)? {
        return Err("UPI payments are in Indian rupees (INR) only.".into());
    }
    if amount.amount_minor <= 0 {
        return Err("Nothing is owing, so there is nothing to pay by UPI.".into());
    }
    let name: String = payee_name.chars().filter(|c| !c.is_control()).take(99).collect();
    let am = format!("{}.{:02}", amount.amount_minor / 100, amount.amount_minor % 100);
    Ok(format!(
        "upi://pay?pa={}&pn={}&am={am}&cu=INR&tn={}&tr={}",
        percent_encode(payee.as_str()),
        percent_encode(name.trim()),
        percent_encode(&format!("Invoice {reference}")),
        percent_encode(reference)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inr(n: i64) -> Money {
        Money::new(n, Currency::parse("INR").unwrap())
    }

    #[test]
    fn the_link_carries_payee_amount_and_reference() {
        let vpa = Vpa::parse("Demo.Clinic@okaxis").unwrap();
        let link = payment_link(&vpa, "Demo Clinic & Co", inr(200050), "INV-2027-000123").unwrap();
        assert_eq!(
            link,
            "upi://pay?pa=demo.clinic%40okaxis&pn=Demo%20Clinic%20%26%20Co&am=2000.50&cu=INR\
             &tn=Invoice%20INV-2027-000123&tr=INV-2027-000123"
        );
    }

    #[test]
    fn only_rupees_and_positive_amounts() {
        let vpa = Vpa::parse("clinic@upi").unwrap();
        assert!(payment_link(&vpa, "C", Money::new(100, Currency::parse("AUD").unwrap()), "X").is_err());
        assert!(payment_link(&vpa, "C", inr(0), "X").is_err());
    }

    #[test]
    fn addresses_are_checked() {
        for bad in ["", "clinic", "@okaxis", "c@", "a b@okaxis", "clinic@ok axis", "x@okaxis", "clinic@a.b"] {
            assert!(Vpa::parse(bad).is_err(), "{bad}");
        }
        assert!(Vpa::parse("dr_chen-1.clinic@ybl").is_ok());
    }
}
