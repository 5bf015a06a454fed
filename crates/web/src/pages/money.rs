//! Amounts typed by people ("120.50") to minor units (12050) and back, in whole numbers
//! only: no floating point anywhere, and never more decimal places than the currency has.

use praxis_domain::billing::{MoneyStyle, currency_symbols, format_money};
use praxis_domain::{Currency, Money};

/// The largest amount the catalogue accepts, in minor units (mirrors the services' limit).
const MAX_MINOR: i64 = 100_000_000;

/// Reads an amount in major units ("120.50", "1,200", "80") of `currency` as minor units.
/// The message, when it fails, is written for the person who typed it.
pub fn parse_major(text: &str, currency: Currency) -> Result<i64, String> {
    let exp = currency.exponent();
    let code = currency.as_str();
    let t = text.trim();
    let t = strip_symbol(t, currency);
    if t.is_empty() {
        return Err("Give an amount, for example 120.50 (0 for no charge).".into());
    }
    if t.starts_with('-') {
        return Err("Use an amount from 0 upwards.".into());
    }
    let (whole, fraction) = match t.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (t, None),
    };
    let example = if exp == 0 { "120".to_string() } else { format!("120.{}", "5".repeat(exp as usize)) };
    let whole = strip_grouping(whole, code == "INR")
        .ok_or_else(|| format!("Write the amount with digits, for example {example}."))?;
    if whole.is_empty() && fraction.is_none_or(str::is_empty) {
        return Err(format!("Write the amount with digits, for example {example}."));
    }
    let fraction = fraction.unwrap_or("");
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("Write the amount with digits, for example {example}."));
    }
    if fraction.len() > exp as usize {
        return Err(match exp {
            0 => format!("{code} has no cents; give a whole amount such as {example}."),
            1 => format!("{code} amounts have at most 1 digit after the point."),
            n => format!("{code} amounts have at most {n} digits after the point, for example {example}."),
        });
    }
    let too_large = || {
        format!(
            "That amount is too large; the most is {}.",
            format_money(Money::new(MAX_MINOR, currency), MoneyStyle::Local)
        )
    };
    let mut minor: i64 = 0;
    let padded = format!("{whole}{fraction:0<width$}", width = exp as usize);
    for d in padded.bytes() {
        minor = minor.checked_mul(10).and_then(|m| m.checked_add(i64::from(d - b'0'))).ok_or_else(too_large)?;
    }
    if minor > MAX_MINOR {
        return Err(too_large());
    }
    Ok(minor)
}

/// The amount without the currency written before it: its code ("AUD 85", "inr 2000")
/// or one of its symbols ("$85", "A$85", "₹2,000").
fn strip_symbol(text: &str, currency: Currency) -> &str {
    let code = currency.as_str();
    if text.len() >= 3 && text.is_char_boundary(3) && text[..3].eq_ignore_ascii_case(code) {
        return text[3..].trim();
    }
    if let Some((local, distinct)) = currency_symbols(currency) {
        // The longer one first, so "A$85" does not leave "A" behind.
        for symbol in [distinct, local] {
            if let Some(rest) = text.strip_prefix(symbol) {
                return rest.trim();
            }
        }
    }
    text
}

/// The digits of a whole part, allowing separators in the right places: thousands
/// ("1,200,000"), and for rupees the Indian lakh grouping too ("12,00,000").
fn strip_grouping(whole: &str, indian: bool) -> Option<String> {
    if !whole.chars().all(|c| c.is_ascii_digit() || c == ',') {
        return None;
    }
    if whole.contains(',') {
        let groups: Vec<&str> = whole.split(',').collect();
        let (first, rest) = groups.split_first()?;
        let (last, middle) = rest.split_last()?;
        let first_ok = !first.is_empty() && first.len() <= 3;
        let western = first_ok && rest.iter().all(|g| g.len() == 3);
        let lakh =
            indian && !first.is_empty() && first.len() <= 2 && last.len() == 3 && middle.iter().all(|g| g.len() == 2);
        if !(western || lakh) {
            return None;
        }
    }
    Some(whole.replace(',', ""))
}

/// Minor units as the amount a person would type ("120.50"), without the currency.
pub fn format_major(minor: i64, currency: Currency) -> String {
    let text = Money::new(minor, currency).to_string();
    text.split_once(' ').map(|(_, amount)| amount.to_string()).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn major_units_become_minor_units_exactly() {
        let aud = cur("AUD");
        assert_eq!(parse_major("120.50", aud), Ok(12050));
        assert_eq!(parse_major("120.5", aud), Ok(12050));
        assert_eq!(parse_major("120", aud), Ok(12000));
        assert_eq!(parse_major(" $1,200.05 ", aud), Ok(120005));
        assert_eq!(parse_major("0.01", aud), Ok(1));
        assert_eq!(parse_major(".5", aud), Ok(50));
        assert_eq!(parse_major("0", aud), Ok(0));
        assert_eq!(parse_major("1500", cur("JPY")), Ok(1500));
        assert_eq!(parse_major("1.234", cur("KWD")), Ok(1234));
        // 0.1 + 0.2 style float traps do not exist here.
        assert_eq!(parse_major("0.29", aud), Ok(29));
        assert_eq!(parse_major("1000000.00", aud), Ok(100_000_000));
        // As the pages write it: the currency's symbol or code, and its digit grouping.
        assert_eq!(parse_major("A$85.00", aud), Ok(8500));
        assert_eq!(parse_major("aud 85", aud), Ok(8500));
        assert_eq!(parse_major("₹2,000.00", cur("INR")), Ok(200_000));
        assert_eq!(parse_major("₹1,00,000", cur("INR")), Ok(10_000_000));
        assert_eq!(parse_major("100,000", cur("INR")), Ok(10_000_000));
        assert_eq!(parse_major("€12.50", cur("EUR")), Ok(1250));
    }

    #[test]
    fn impossible_amounts_are_refused_with_a_reason() {
        let aud = cur("AUD");
        assert!(parse_major("12.345", aud).unwrap_err().contains("at most 2 digits"));
        assert!(parse_major("12.5", cur("JPY")).unwrap_err().contains("no cents"));
        assert!(parse_major("-5", aud).unwrap_err().contains("0 upwards"));
        assert!(parse_major("abc", aud).is_err());
        assert!(parse_major("1.2.3", aud).is_err());
        assert!(parse_major("1,20", aud).is_err());
        assert!(parse_major("1,00,000", aud).is_err(), "lakh grouping is for rupees only");
        assert!(parse_major("1,0,000", cur("INR")).is_err());
        assert!(parse_major("₹85", aud).is_err(), "another currency's symbol is not stripped");
        assert!(parse_major("", aud).is_err());
        assert!(parse_major(".", aud).is_err());
        assert!(parse_major("1e3", aud).is_err());
        assert!(parse_major("1000000.01", aud).unwrap_err().contains("too large"));
        assert!(parse_major("99999999999999999999999", aud).unwrap_err().contains("too large"));
    }

    #[test]
    fn minor_units_read_back_as_typed() {
        assert_eq!(format_major(12050, cur("AUD")), "120.50");
        assert_eq!(format_major(1500, cur("JPY")), "1500");
        assert_eq!(format_major(5, cur("AUD")), "0.05");
        for n in [0, 1, 99, 100, 12050, 99_999_999] {
            assert_eq!(parse_major(&format_major(n, cur("AUD")), cur("AUD")), Ok(n));
        }
    }
}
