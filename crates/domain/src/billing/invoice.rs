//! Invoice arithmetic: one line at a time, then the invoice as the sum of its lines.
//!
//! A line is `quantity × unit price`, less its discount, plus tax on what is left:
//!
//! ```text
//! gross    = quantity × unit_price
//! discount = amount, or round(gross × percent)         (never more than gross)
//! net      = gross − discount
//! tax      = round(net × rate)                          (GST-free: rate 0)
//! total    = net + tax
//! patient  = total − rebate                             (rebate: e.g. Medicare's benefit)
//! ```
//!
//! Each rounding happens once, on the line, half away from zero; the invoice's figures
//! are plain sums of the lines' figures. So the printed lines always add up to the printed
//! total — there is no second rounding of a subtotal that could disagree by a cent.
//! Prices are before tax (tax is added), which is how GST-registered clinics quote
//! taxable items; most health services are GST-free and carry a rate of 0.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The largest amount on one line, in minor units (1,000,000.00 in a two-decimal
/// currency). Larger values are almost certainly typing mistakes, and the bound keeps
/// every product inside `i64`.
pub const MAX_LINE_AMOUNT: i64 = 100_000_000;
/// The largest quantity on one line.
pub const MAX_QUANTITY: i64 = 1000;
/// The most lines one invoice may have.
pub const MAX_LINES: usize = 200;

/// A tax rate in basis points: 1000 = 10 % (GST), 1800 = 18 % (India's GST on some
/// services), 0 = tax-free. From 0 to 10000 (100 %).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(try_from = "i64", into = "i64")]
#[schema(value_type = i64, minimum = 0, maximum = 10000, example = 1000)]
pub struct TaxRate(i64);

impl TaxRate {
    /// No tax (a GST-free service).
    pub const ZERO: TaxRate = TaxRate(0);
    /// Australia's GST: 10 %.
    pub const GST_AU: TaxRate = TaxRate(1000);

    /// A rate in basis points, if it is between 0 and 10000.
    pub fn from_bp(bp: i64) -> Result<TaxRate, String> {
        if (0..=10_000).contains(&bp) {
            Ok(TaxRate(bp))
        } else {
            Err("A tax rate is between 0 % and 100 % (0 to 10000 basis points).".into())
        }
    }

    /// Basis points.
    pub fn bp(self) -> i64 {
        self.0
    }

    /// "10 %", "0 %", "12.5 %".
    pub fn percent_label(self) -> String {
        let whole = self.0 / 100;
        let frac = self.0 % 100;
        if frac == 0 {
            format!("{whole} %")
        } else if frac % 10 == 0 {
            format!("{whole}.{} %", frac / 10)
        } else {
            format!("{whole}.{frac:02} %")
        }
    }

    /// Parses what a person types: "10", "10 %", "12.5%", "0". At most two decimals.
    pub fn parse_percent(text: &str) -> Result<TaxRate, String> {
        let t = text.trim().trim_end_matches('%').trim();
        let msg = || "Give the tax rate as a percentage, for example 10 or 12.5 (0 for tax-free).".to_string();
        if t.is_empty() || t.starts_with('-') {
            return Err(msg());
        }
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
            || frac.len() > 2
            || whole.len() > 3
        {
            return Err(msg());
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| msg())? };
        let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| msg())?;
        TaxRate::from_bp(whole * 100 + frac)
    }
}

impl TryFrom<i64> for TaxRate {
    type Error = String;
    fn try_from(bp: i64) -> Result<Self, Self::Error> {
        TaxRate::from_bp(bp)
    }
}

impl From<TaxRate> for i64 {
    fn from(t: TaxRate) -> i64 {
        t.0
    }
}

impl fmt::Display for TaxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.percent_label())
    }
}

/// `value × bp / 10000`, rounded half away from zero (so a credit line is the exact
/// negative of the charge it reverses). Exact in `i128`: no overflow for any `i64` value.
pub fn round_half_away(value: i64, bp: i64) -> i64 {
    let product = i128::from(value) * i128::from(bp);
    let q = product / 10_000;
    let r = product % 10_000;
    let rounded = if r.abs() * 2 >= 10_000 { q + product.signum() } else { q };
    i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX })
}

/// A discount on one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Discount {
    /// No discount.
    None,
    /// A fixed amount off, in minor units.
    Amount(i64),
    /// A percentage off, in basis points (1500 = 15 %).
    Percent(i64),
}

/// Where a line comes from; only the system writes credit lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A service or item charged (from an appointment, or typed by staff).
    #[default]
    Charge,
    /// A late-cancellation or no-show fee.
    Fee,
    /// A deposit asked for at booking.
    Deposit,
    /// The deposit already paid, taken off the appointment's invoice (a negative line).
    DepositCredit,
}

impl LineKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Charge => "charge",
            LineKind::Fee => "fee",
            LineKind::Deposit => "deposit",
            LineKind::DepositCredit => "deposit_credit",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<LineKind> {
        [LineKind::Charge, LineKind::Fee, LineKind::Deposit, LineKind::DepositCredit]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One line as entered (or drafted from an appointment), before arithmetic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInput {
    /// What the line is for.
    pub kind: LineKind,
    /// How many (whole units).
    pub quantity: i64,
    /// Price of one, before tax, in minor units (negative only on a deposit credit).
    pub unit_price_minor: i64,
    /// The discount.
    pub discount: Discount,
    /// Tax on what is left after the discount.
    pub tax_rate: TaxRate,
    /// The part a payer such as Medicare is expected to pay, in minor units (0 for none).
    pub rebate_minor: i64,
}

/// A line's figures, each rounded once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LineAmounts {
    /// quantity × unit price.
    pub gross_minor: i64,
    /// The discount, as an amount.
    pub discount_minor: i64,
    /// gross − discount.
    pub net_minor: i64,
    /// Tax on net.
    pub tax_minor: i64,
    /// net + tax.
    pub total_minor: i64,
    /// The expected rebate.
    pub rebate_minor: i64,
    /// total − rebate: what the patient pays for this line.
    pub patient_minor: i64,
}

/// A problem with one field of a line: (field, code, message).
pub type LineProblem = (&'static str, &'static str, String);

/// Checks a line and works out its figures. Every problem is reported, not just the first.
pub fn compute_line(l: &LineInput) -> Result<LineAmounts, Vec<LineProblem>> {
    let mut problems: Vec<LineProblem> = Vec::new();
    if !(1..=MAX_QUANTITY).contains(&l.quantity) {
        problems.push(("quantity", "invalid", format!("The quantity is a whole number from 1 to {MAX_QUANTITY}.")));
    }
    let credit = l.kind == LineKind::DepositCredit;
    let price_ok = if credit {
        (-MAX_LINE_AMOUNT..=0).contains(&l.unit_price_minor)
    } else {
        (0..=MAX_LINE_AMOUNT).contains(&l.unit_price_minor)
    };
    if !price_ok {
        problems.push((
            "unit_price",
            "invalid",
            if l.unit_price_minor < 0 {
                "A price cannot be negative; to take money off, use a discount.".into()
            } else {
                "That price is too large for one line.".into()
            },
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let gross = l.quantity * l.unit_price_minor;
    if gross.abs() > MAX_LINE_AMOUNT {
        return Err(vec![("quantity", "too_large", "Quantity × price is too large for one line; split it.".into())]);
    }
    let discount = match l.discount {
        Discount::None => 0,
        Discount::Amount(a) if a < 0 => {
            problems.push(("discount", "invalid", "A discount cannot be negative.".into()));
            0
        }
        Discount::Amount(a) if a > gross.abs() => {
            problems.push(("discount", "too_large", "A discount cannot be more than the line's price.".into()));
            0
        }
        Discount::Amount(a) => a * gross.signum(),
        Discount::Percent(bp) if !(0..=10_000).contains(&bp) => {
            problems.push(("discount", "invalid", "A discount is between 0 % and 100 %.".into()));
            0
        }
        Discount::Percent(bp) => round_half_away(gross, bp),
    };
    if !(0..=MAX_LINE_AMOUNT).contains(&l.rebate_minor) {
        problems.push(("rebate", "invalid", "A rebate is an amount from 0 upwards.".into()));
    }
    if credit && l.rebate_minor != 0 {
        problems.push(("rebate", "invalid", "A deposit credit carries no rebate.".into()));
    }
    let net = gross - discount;
    let tax = round_half_away(net, l.tax_rate.bp());
    let total = net + tax;
    if l.rebate_minor > total.max(0) {
        problems.push(("rebate", "too_large", "The rebate cannot be more than the line's total.".into()));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(LineAmounts {
        gross_minor: gross,
        discount_minor: discount,
        net_minor: net,
        tax_minor: tax,
        total_minor: total,
        rebate_minor: l.rebate_minor,
        patient_minor: total - l.rebate_minor,
    })
}

/// An invoice's figures: sums of its lines' figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InvoiceTotals {
    /// Σ gross.
    pub subtotal_minor: i64,
    /// Σ discount.
    pub discount_minor: i64,
    /// Σ net.
    pub net_minor: i64,
    /// Σ tax.
    pub tax_minor: i64,
    /// Σ total: what the invoice is for.
    pub total_minor: i64,
    /// Σ rebate: what payers such as Medicare are expected to pay.
    pub rebate_minor: i64,
    /// Σ patient share: total − rebate.
    pub patient_minor: i64,
}

/// Adds up the lines. An invoice's total cannot be negative (a credit larger than the
/// charges is refused: issue a refund instead).
pub fn compute_totals(lines: &[LineAmounts]) -> Result<InvoiceTotals, String> {
    let mut t = InvoiceTotals::default();
    for l in lines {
        t.subtotal_minor += l.gross_minor;
        t.discount_minor += l.discount_minor;
        t.net_minor += l.net_minor;
        t.tax_minor += l.tax_minor;
        t.total_minor += l.total_minor;
        t.rebate_minor += l.rebate_minor;
        t.patient_minor += l.patient_minor;
    }
    if t.total_minor < 0 {
        return Err("The credits are larger than the charges; an invoice total cannot be negative.".into());
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(q: i64, price: i64, rate: i64) -> LineInput {
        LineInput {
            kind: LineKind::Charge,
            quantity: q,
            unit_price_minor: price,
            discount: Discount::None,
            tax_rate: TaxRate::from_bp(rate).unwrap(),
            rebate_minor: 0,
        }
    }

    #[test]
    fn gst_is_added_and_rounded_once_per_line() {
        // $85.00 + 10 % = $93.50
        let a = compute_line(&line(1, 8500, 1000)).unwrap();
        assert_eq!((a.net_minor, a.tax_minor, a.total_minor), (8500, 850, 9350));
        // 3 × $0.15 at 10 %: net 45, tax 4.5 → 5 (half away from zero)
        let b = compute_line(&line(3, 15, 1000)).unwrap();
        assert_eq!((b.net_minor, b.tax_minor, b.total_minor), (45, 5, 50));
        // GST-free.
        let c = compute_line(&line(1, 12000, 0)).unwrap();
        assert_eq!(c.tax_minor, 0);
        let t = compute_totals(&[a, b, c]).unwrap();
        assert_eq!(t.total_minor, 9350 + 50 + 12000);
        assert_eq!(t.tax_minor, 855);
    }

    #[test]
    fn discounts_and_rebates() {
        let mut l = line(1, 10000, 1000);
        l.discount = Discount::Percent(1500);
        l.rebate_minor = 5000;
        let a = compute_line(&l).unwrap();
        assert_eq!(a.discount_minor, 1500);
        assert_eq!(a.net_minor, 8500);
        assert_eq!(a.tax_minor, 850);
        assert_eq!(a.patient_minor, 9350 - 5000);
        l.discount = Discount::Amount(10001);
        assert_eq!(compute_line(&l).unwrap_err()[0].1, "too_large");
        l.discount = Discount::Amount(-1);
        assert!(compute_line(&l).is_err());
    }

    #[test]
    fn bad_lines_are_refused_with_every_reason() {
        let e = compute_line(&line(0, -5, 0)).unwrap_err();
        let fields: Vec<&str> = e.iter().map(|p| p.0).collect();
        assert_eq!(fields, ["quantity", "unit_price"]);
        assert!(compute_line(&line(1, MAX_LINE_AMOUNT + 1, 0)).is_err());
        assert!(compute_line(&line(MAX_QUANTITY, MAX_LINE_AMOUNT, 0)).is_err());
        let mut r = line(1, 1000, 0);
        r.rebate_minor = 1001;
        assert_eq!(compute_line(&r).unwrap_err()[0].0, "rebate");
    }

    #[test]
    fn a_deposit_credit_exactly_reverses_its_deposit() {
        let mut dep = line(1, 2345, 1000);
        dep.kind = LineKind::Deposit;
        let mut credit = line(1, -2345, 1000);
        credit.kind = LineKind::DepositCredit;
        let a = compute_line(&dep).unwrap();
        let b = compute_line(&credit).unwrap();
        assert_eq!(a.total_minor, -b.total_minor);
        assert_eq!(a.tax_minor, -b.tax_minor);
        // A negative price on an ordinary line is refused.
        assert!(compute_line(&line(1, -1, 0)).is_err());
        // Credits larger than the charges are refused at the invoice level.
        assert!(compute_totals(&[b]).is_err());
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_half_away(5, 1000), 1); // 0.5 → 1
        assert_eq!(round_half_away(-5, 1000), -1);
        assert_eq!(round_half_away(4, 1000), 0); // 0.4 → 0
        assert_eq!(round_half_away(14, 1000), 1); // 1.4 → 1
        assert_eq!(round_half_away(15, 1000), 2); // 1.5 → 2
        assert_eq!(round_half_away(i64::MAX, 10_000), i64::MAX);
    }

    #[test]
    fn tax_rates_read_as_people_write_them() {
        assert_eq!(TaxRate::parse_percent("10").unwrap().bp(), 1000);
        assert_eq!(TaxRate::parse_percent("12.5 %").unwrap().bp(), 1250);
        assert_eq!(TaxRate::parse_percent("0").unwrap().bp(), 0);
        assert_eq!(TaxRate::parse_percent("18%").unwrap().bp(), 1800);
        assert_eq!(TaxRate::parse_percent(".5").unwrap().bp(), 50);
        for bad in ["", "-10", "101", "10.555", "ten", "1e2", "%"] {
            assert!(TaxRate::parse_percent(bad).is_err(), "{bad}");
        }
        assert_eq!(TaxRate::from_bp(1250).unwrap().percent_label(), "12.5 %");
        assert_eq!(TaxRate::from_bp(1000).unwrap().percent_label(), "10 %");
        assert_eq!(TaxRate::from_bp(1275).unwrap().percent_label(), "12.75 %");
        assert!(TaxRate::from_bp(10_001).is_err());
        assert!(serde_json::from_str::<TaxRate>("-1").is_err());
    }
}
