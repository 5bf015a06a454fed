//! Parse-don't-validate value types. Once you hold an [`Email`] or a [`Phone`], it is
//! well-formed and normalised, so nothing downstream checks again.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Why a value was rejected. The message is shown to the person who typed it.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct InvalidValue(pub String);

fn invalid(msg: &str) -> InvalidValue {
    InvalidValue(msg.to_string())
}

/// An email address, trimmed and lower-cased so uniqueness is case-insensitive.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address. The check is deliberately modest (one `@`, a
    /// dotted domain, no spaces or control characters): the real test is whether mail
    /// arrives.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(invalid("Enter an email address."));
        }
        if s.len() > 254 {
            return Err(invalid("An email address has at most 254 characters."));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(invalid("An email address looks like name@example.org."));
        };
        let bad_char = |c: char| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '<' | '>' | ',' | ';' | '"' | '(' | ')' | '[' | ']' | '\\')
        };
        if local.is_empty()
            || local.len() > 64
            || local.contains('@')
            || s.chars().any(bad_char)
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            return Err(invalid("An email address looks like name@example.org."));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
        {
            return Err(invalid("The part after @ must be a domain such as example.org."));
        }
        Ok(Self(s))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}
impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number normalised to digits with an optional leading `+` (E.164 style),
/// so "(02) 9876 5432" and "02 9876-5432" are the same number.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Accepts digits, spaces, dots, dashes and brackets, with an optional leading `+`;
    /// between 6 and 15 digits (the E.164 maximum).
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(invalid("Enter a phone number."));
        }
        let (plus, rest) = match s.strip_prefix('+') {
            Some(r) => (true, r),
            None => (false, s),
        };
        if !rest.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')')) {
            return Err(invalid("A phone number has digits, spaces, dashes and an optional leading +."));
        }
        let digits: String = rest.chars().filter(|c| c.is_ascii_digit()).collect();
        if digits.len() < 6 || digits.len() > 15 {
            return Err(invalid("A phone number has between 6 and 15 digits."));
        }
        Ok(Self(if plus { format!("+{digits}") } else { digits }))
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Phone {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}
impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the policy: 10 to 128 characters, not only one repeated
/// character. Length beats complexity rules (NIST SP 800-63B); we do not require
/// symbol soup.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    /// Minimum length in characters.
    pub const MIN: usize = 10;
    /// Maximum length in characters (bounds the hashing cost).
    pub const MAX: usize = 128;

    /// Checks the policy.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let n = raw.chars().count();
        if n < Self::MIN {
            return Err(InvalidValue(format!("Use at least {} characters.", Self::MIN)));
        }
        if n > Self::MAX {
            return Err(InvalidValue(format!("Use at most {} characters.", Self::MAX)));
        }
        let mut chars = raw.chars();
        if let Some(first) = chars.next()
            && chars.all(|c| c == first)
        {
            return Err(invalid("Use more than one repeated character."));
        }
        Ok(Self(raw.to_string()))
    }

    /// The password text (to be hashed, never stored or logged).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn email_normalises_case_and_space() {
        assert_eq!(Email::parse("  Ada@Example.ORG ").unwrap().as_str(), "ada@example.org");
    }

    #[test]
    fn email_rejects_malformed() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a b@example.org",
            "ada@@example.org",
            "ada@exa_mple.org",
            "ada.@example.org",
            "ada@-x.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn phone_normalises() {
        assert_eq!(Phone::parse("(02) 9876-5432").unwrap().as_str(), "0298765432");
        assert_eq!(Phone::parse("+61 412 345 678").unwrap().as_str(), "+61412345678");
        assert!(Phone::parse("12345").is_err());
        assert!(Phone::parse("call me").is_err());
        assert!(Phone::parse("+1 2345 6789 0123 4567").is_err());
    }

    #[test]
    fn password_policy() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("aaaaaaaaaaaa").is_err());
        assert!(NewPassword::parse("correct horse").is_ok());
        assert!(NewPassword::parse(&"x1".repeat(65)).is_err());
    }

    proptest! {
        #[test]
        fn email_parse_is_idempotent(s in "[a-zA-Z0-9._%+-]{1,20}@[a-zA-Z0-9-]{1,10}\\.[a-zA-Z]{2,6}") {
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e);
            }
        }

        #[test]
        fn phone_parse_never_panics_and_is_idempotent(s in "\\PC{0,30}") {
            if let Ok(p) = Phone::parse(&s) {
                prop_assert_eq!(Phone::parse(p.as_str()).unwrap(), p);
            }
        }
    }
}

/// An ISO 4217 currency code such as `AUD` or `INR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses three ASCII letters (any case) into an upper-case code.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim();
        let b = s.as_bytes();
        if b.len() != 3 || !b.iter().all(u8::is_ascii_alphabetic) {
            return Err(invalid("A currency is a three-letter ISO code such as AUD or INR."));
        }
        Ok(Self([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase(), b[2].to_ascii_uppercase()]))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point in this currency (ISO 4217 minor units).
    pub fn exponent(&self) -> u32 {
        match self.as_str() {
            "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" | "PYG" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount of money in minor units (cents, paise) with its currency. Never a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    /// Amount in the currency's minor unit (e.g. 12050 = 120.50 AUD).
    pub amount_minor: i64,
    /// ISO 4217 code.
    #[schema(value_type = String, example = "AUD")]
    pub currency: Currency,
}

impl Money {
    /// An amount.
    pub fn new(amount_minor: i64, currency: Currency) -> Self {
        Self { amount_minor, currency }
    }
}

impl fmt::Display for Money {
    /// "AUD 120.50".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let abs = self.amount_minor.unsigned_abs();
        if exp == 0 {
            return write!(f, "{} {sign}{abs}", self.currency);
        }
        let div = 10u64.pow(exp);
        write!(f, "{} {sign}{}.{:0width$}", self.currency, abs / div, abs % div, width = exp as usize)
    }
}

#[cfg(test)]
mod money_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::parse("aud").unwrap().as_str(), "AUD");
        assert!(Currency::parse("AU").is_err());
        assert!(Currency::parse("A1D").is_err());
        assert!(Currency::parse("€€€").is_err());
    }

    #[test]
    fn money_displays_in_major_units() {
        let aud = Currency::parse("AUD").unwrap();
        assert_eq!(Money::new(12050, aud).to_string(), "AUD 120.50");
        assert_eq!(Money::new(-5, aud).to_string(), "AUD -0.05");
        assert_eq!(Money::new(1500, Currency::parse("JPY").unwrap()).to_string(), "JPY 1500");
        assert_eq!(Money::new(1234, Currency::parse("KWD").unwrap()).to_string(), "KWD 1.234");
    }

    proptest! {
        #[test]
        fn money_text_round_trips_to_the_same_minor_units(n in -10_000_000i64..10_000_000) {
            let aud = Currency::parse("AUD").unwrap();
            let text = Money::new(n, aud).to_string();
            let number = text.trim_start_matches("AUD ");
            let (neg, digits) = number.strip_prefix('-').map(|d| (true, d)).unwrap_or((false, number));
            let (major, minor) = digits.split_once('.').unwrap();
            let back = major.parse::<i64>().unwrap() * 100 + minor.parse::<i64>().unwrap();
            prop_assert_eq!(if neg { -back } else { back }, n);
        }
    }
}
