//! Money for people: "$85.00", "₹2,000.00", "€12.50", "£7.00" — the currency's symbol
//! and digit grouping (Indian grouping for rupees: ₹1,00,000.00). Where amounts in
//! several dollar currencies appear together, [`MoneyStyle::Distinct`] says which dollar
//! ("A$85.00", "US$12.00"). One formatter for pages, emails and invoices; the API keeps
//! integer minor units.

use crate::values::{Currency, Money};

/// How much a symbol must say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MoneyStyle {
    /// The everyday symbol ("$85.00"): one currency on the page.
    #[default]
    Local,
    /// A symbol no other currency shares ("A$85.00"): currencies mix.
    Distinct,
}

impl MoneyStyle {
    /// The style for a page showing amounts in `currencies`: [`MoneyStyle::Distinct`] when
    /// two different currencies on it would otherwise share a symbol (AUD and USD both "$"),
    /// else [`MoneyStyle::Local`] — rupees beside Australian dollars stay "₹" and "$".
    pub fn for_currencies(currencies: impl IntoIterator<Item = Currency>) -> MoneyStyle {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for c in currencies {
            let Some(&(code, local, _)) = SYMBOLS.iter().find(|(k, _, _)| *k == c.as_str()) else { continue };
            if seen.iter().any(|&(k, l)| l == local && k != code) {
                return MoneyStyle::Distinct;
            }
            seen.push((code, local));
        }
        MoneyStyle::Local
    }
}

/// (code, everyday symbol, distinct symbol). Anything else shows its code ("CHF 85.00").
const SYMBOLS: &[(&str, &str, &str)] = &[
    ("AUD", "$", "A$"),
    ("USD", "$", "US$"),
    ("NZD", "$", "NZ$"),
    ("CAD", "$", "CA$"),
    ("SGD", "$", "S$"),
    ("HKD", "$", "HK$"),
    ("INR", "₹", "₹"),
    ("EUR", "€", "€"),
    ("GBP", "£", "£"),
    ("JPY", "¥", "JP¥"),
    ("CNY", "¥", "CN¥"),
];

/// The symbols a currency is written with (everyday, distinct), if it has any: what a
/// person may type before an amount ("₹2,000", "A$85").
pub fn currency_symbols(currency: Currency) -> Option<(&'static str, &'static str)> {
    SYMBOLS.iter().find(|(c, _, _)| *c == currency.as_str()).map(|&(_, l, d)| (l, d))
}

/// Groups the digits of a whole number: threes ("1,234,567"), or for rupees the Indian
/// way — the last three, then twos ("12,34,567").
fn group(whole: u64, indian: bool) -> String {
    let digits = whole.to_string();
    let n = digits.len();
    let mut out = String::with_capacity(n + n / 2);
    for (i, ch) in digits.chars().enumerate() {
        let left = n - i; // digits from here to the end, this one included
        if i > 0 {
            let comma = if indian { left == 3 || (left > 3 && (left - 3) % 2 == 0) } else { left % 3 == 0 };
            if comma {
                out.push(',');
            }
        }
        out.push(ch);
    }
    out
}

/// The amount without a symbol, grouped: "2,000.00", "-5.00", "1,500" (yen).
pub fn format_money_plain(minor: i64, currency: Currency) -> String {
    let exp = currency.exponent();
    let indian = currency.as_str() == "INR";
    let abs = minor.unsigned_abs();
    let div = 10u64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    if exp == 0 {
        return format!("{sign}{}", group(abs, indian));
    }
    format!("{sign}{}.{:0width$}", group(abs / div, indian), abs % div, width = exp as usize)
}

/// The amount with its currency's symbol: "$85.00", "-$5.00", "₹2,000.00", "CHF 85.00".
pub fn format_money(m: Money, style: MoneyStyle) -> String {
    let code = m.currency.as_str();
    let plain = format_money_plain(m.amount_minor.abs(), m.currency);
    let sign = if m.amount_minor < 0 { "-" } else { "" };
    match SYMBOLS.iter().find(|(c, _, _)| *c == code) {
        Some((_, local, distinct)) => {
            let symbol = if style == MoneyStyle::Distinct { distinct } else { local };
            format!("{sign}{symbol}{plain}")
        }
        None => format!("{sign}{code} {plain}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(n: i64, c: &str) -> Money {
        Money::new(n, Currency::parse(c).unwrap())
    }

    #[test]
    fn symbols_and_grouping_as_people_expect() {
        assert_eq!(format_money(m(200000, "INR"), MoneyStyle::Local), "₹2,000.00");
        assert_eq!(format_money(m(8500, "AUD"), MoneyStyle::Local), "$85.00");
        assert_eq!(format_money(m(8500, "AUD"), MoneyStyle::Distinct), "A$85.00");
        assert_eq!(format_money(m(1250, "EUR"), MoneyStyle::Local), "€12.50");
        assert_eq!(format_money(m(700, "GBP"), MoneyStyle::Local), "£7.00");
        assert_eq!(format_money(m(-500, "AUD"), MoneyStyle::Local), "-$5.00");
        assert_eq!(format_money(m(1500, "JPY"), MoneyStyle::Local), "¥1,500");
        assert_eq!(format_money(m(8500, "CHF"), MoneyStyle::Local), "CHF 85.00");
        assert_eq!(format_money(m(123456789, "AUD"), MoneyStyle::Local), "$1,234,567.89");
        assert_eq!(format_money(m(10000000, "INR"), MoneyStyle::Local), "₹1,00,000.00");
        assert_eq!(format_money(m(123456789, "INR"), MoneyStyle::Local), "₹12,34,567.89");
        assert_eq!(format_money(m(5, "AUD"), MoneyStyle::Local), "$0.05");
        assert_eq!(format_money(m(1234, "KWD"), MoneyStyle::Local), "KWD 1.234");
    }

    #[test]
    fn currencies_sharing_a_symbol_make_every_symbol_distinct() {
        let c = |s: &str| Currency::parse(s).unwrap();
        assert_eq!(MoneyStyle::for_currencies([c("INR"), c("AUD")]), MoneyStyle::Local);
        assert_eq!(MoneyStyle::for_currencies([c("AUD"), c("AUD"), c("AUD")]), MoneyStyle::Local);
        assert_eq!(MoneyStyle::for_currencies([c("AUD"), c("INR"), c("USD")]), MoneyStyle::Distinct);
        assert_eq!(MoneyStyle::for_currencies([c("JPY"), c("CNY")]), MoneyStyle::Distinct);
        assert_eq!(MoneyStyle::for_currencies([c("CHF"), c("SEK"), c("EUR")]), MoneyStyle::Local);
        assert_eq!(MoneyStyle::for_currencies([]), MoneyStyle::Local);
        assert_eq!(format_money_plain(0, Currency::parse("AUD").unwrap()), "0.00");
    }

    #[test]
    fn grouping_keeps_every_digit() {
        for n in [0u64, 7, 12, 123, 1234, 12345, 123456, 1234567, 12345678, 123456789, 9876543210] {
            for indian in [false, true] {
                let g = group(n, indian);
                assert_eq!(g.replace(',', ""), n.to_string());
                assert!(!g.starts_with(','));
            }
        }
        assert_eq!(group(1234567, false), "1,234,567");
        assert_eq!(group(1234567, true), "12,34,567");
        assert_eq!(group(100, true), "100");
        assert_eq!(group(1000, true), "1,000");
    }
}
