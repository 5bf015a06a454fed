//! Property tests: over random invoices, the rounded figures never drift from the lines
//! by a cent, each line's tax is within half a minor unit of the exact tax, and payments
//! checked by the rules can never overpay an invoice.

use super::*;
use crate::values::Currency;
use jiff::civil::date;
use proptest::prelude::*;

fn arb_line() -> impl Strategy<Value = LineInput> {
    (1i64..=20, 0i64..=500_000, 0i64..=3, 0i64..=10_000, prop::sample::select(vec![0i64, 500, 1000, 1250, 1800, 2800]))
        .prop_map(|(q, price, dk, dv, rate)| {
            let discount = match dk {
                0 => Discount::None,
                1 => Discount::Amount((dv * price / 10_000).min(q * price)),
                _ => Discount::Percent(dv),
            };
            LineInput {
                kind: LineKind::Charge,
                quantity: q,
                unit_price_minor: price,
                discount,
                tax_rate: TaxRate::from_bp(rate).unwrap(),
                rebate_minor: 0,
            }
        })
}

/// Reads "1,234.56" back into minor units (two decimals), as a person adding up a printout would.
fn read_back(text: &str) -> i64 {
    let (neg, t) = text.strip_prefix('-').map(|t| (true, t)).unwrap_or((false, text));
    let (w, f) = t.split_once('.').unwrap();
    let v = w.replace(',', "").parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap();
    if neg { -v } else { v }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn totals_are_the_sums_of_the_printed_lines(lines in prop::collection::vec(arb_line(), 0..40)) {
        let aud = Currency::parse("AUD").unwrap();
        let amounts: Vec<LineAmounts> = lines.iter().map(|l| compute_line(l).unwrap()).collect();
        let t = compute_totals(&amounts).unwrap();
        // What is printed per line adds up to what is printed as the total, to the cent.
        let printed_sum: i64 = amounts.iter().map(|a| read_back(&format_money_plain(a.total_minor, aud))).sum();
        prop_assert_eq!(read_back(&format_money_plain(t.total_minor, aud)), printed_sum);
        let printed_tax: i64 = amounts.iter().map(|a| read_back(&format_money_plain(a.tax_minor, aud))).sum();
        prop_assert_eq!(read_back(&format_money_plain(t.tax_minor, aud)), printed_tax);
        prop_assert_eq!(t.subtotal_minor - t.discount_minor, t.net_minor);
        prop_assert_eq!(t.net_minor + t.tax_minor, t.total_minor);
        prop_assert_eq!(t.total_minor - t.rebate_minor, t.patient_minor);
    }

    #[test]
    fn each_line_is_rounded_once_within_half_a_cent(l in arb_line()) {
        let a = compute_line(&l).unwrap();
        prop_assert_eq!(a.gross_minor, l.quantity * l.unit_price_minor);
        prop_assert!(a.discount_minor >= 0 && a.discount_minor <= a.gross_minor);
        // |tax − net × rate| ≤ ½ minor unit, compared exactly in integers.
        let exact = i128::from(a.net_minor) * i128::from(l.tax_rate.bp());
        let err = (i128::from(a.tax_minor) * 10_000 - exact).abs();
        prop_assert!(err <= 5_000, "tax {} for net {} at {}", a.tax_minor, a.net_minor, l.tax_rate);
        // The total's error against exact arithmetic is that one rounding, no more.
        let exact_total = i128::from(a.net_minor) * (10_000 + i128::from(l.tax_rate.bp()));
        prop_assert!((i128::from(a.total_minor) * 10_000 - exact_total).abs() <= 5_000);
    }

    #[test]
    fn an_invoice_is_off_from_exact_arithmetic_by_at_most_half_a_cent_per_line(
        lines in prop::collection::vec(arb_line(), 1..40)
    ) {
        let amounts: Vec<LineAmounts> = lines.iter().map(|l| compute_line(l).unwrap()).collect();
        let t = compute_totals(&amounts).unwrap();
        let exact: i128 = amounts
            .iter()
            .zip(&lines)
            .map(|(a, l)| i128::from(a.net_minor) * (10_000 + i128::from(l.tax_rate.bp())))
            .sum();
        prop_assert!((i128::from(t.total_minor) * 10_000 - exact).abs() <= 5_000 * lines.len() as i128);
    }

    #[test]
    fn a_credit_reverses_its_charge_exactly(price in 0i64..=1_000_000, rate in 0i64..=10_000) {
        let rate = TaxRate::from_bp(rate).unwrap();
        let dep = LineInput { kind: LineKind::Deposit, quantity: 1, unit_price_minor: price, discount: Discount::None, tax_rate: rate, rebate_minor: 0 };
        let credit = LineInput { kind: LineKind::DepositCredit, unit_price_minor: -price, ..dep.clone() };
        let (a, b) = (compute_line(&dep).unwrap(), compute_line(&credit).unwrap());
        prop_assert_eq!(a.total_minor + b.total_minor, 0);
        prop_assert_eq!(a.tax_minor + b.tax_minor, 0);
    }

    #[test]
    fn payments_that_pass_the_rules_never_overpay(total in 1i64..1_000_000, tries in prop::collection::vec(1i64..600_000, 1..12)) {
        let due = date(2027, 3, 1);
        let today = date(2027, 2, 1);
        let mut paid = 0;
        for amount in tries {
            let s = settle(total, paid, due, today);
            if check_payment(s.status, s.balance_minor, amount, |n| n.to_string()).is_ok() {
                paid += amount;
            }
            prop_assert!(paid <= total);
        }
        let s = settle(total, paid, due, today);
        prop_assert_eq!(s.status == InvoiceStatus::Paid, paid == total);
        prop_assert_eq!(s.balance_minor, total - paid);
    }

    #[test]
    fn refunds_that_pass_the_rules_never_exceed_the_payment(paid in 1i64..1_000_000, tries in prop::collection::vec(1i64..600_000, 1..12)) {
        let mut refunded = 0;
        for amount in tries {
            if check_refund(paid, refunded, amount, |n| n.to_string()).is_ok() {
                refunded += amount;
            }
            prop_assert!(refunded <= paid);
        }
    }

    #[test]
    fn formatted_money_reads_back_to_the_same_minor_units(n in -10_000_000_000i64..10_000_000_000) {
        for code in ["AUD", "INR", "EUR"] {
            let c = Currency::parse(code).unwrap();
            prop_assert_eq!(read_back(&format_money_plain(n, c)), n);
        }
    }
}
