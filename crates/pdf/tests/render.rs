//! Renders realistic documents and reads them back with poppler's
//! `pdftotext` / `pdfinfo` when they are installed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use praxis_pdf::qr::QrMatrix;
use praxis_pdf::{Document, Line, Party, QrBlock, Total, render};

const UPI: &str = "upi://pay?pa=clinic@okaxis&pn=Clinic&am=2000.00&cu=INR&tn=INV-2027-000001";

fn aud_invoice() -> Document {
    Document {
        title: "Tax invoice".into(),
        number: "INV-2027-000123".into(),
        issuer: Party {
            heading: String::new(),
            name: "Harbourside Physiotherapy".into(),
            lines: vec![
                "Level 2, 14 Quay Street, Sydney NSW 2000".into(),
                "ABN 51 824 753 556".into(),
                "(02) 9555 0100 · accounts@harbourside.example".into(),
            ],
        },
        recipient: Party {
            heading: "Bill to".into(),
            name: "Chloé Martin-Nguyễn".into(),
            lines: vec!["7 Ocean Parade, Bondi NSW 2026".into()],
        },
        facts: vec![
            ("Issued".into(), "3 March 2027".into()),
            ("Due".into(), "17 March 2027".into()),
            ("Status".into(), "Paid".into()),
            ("Provider".into(), "Dr Sam O'Reilly (2426591T)".into()),
        ],
        tax_label: "GST".into(),
        lines: vec![
            Line {
                description: "Initial physiotherapy consultation – 45 minutes".into(),
                detail: Some("Medicare item 10960 · rebate $58.30 claimed".into()),
                quantity: "1".into(),
                unit_price: "$120.00".into(),
                discount: "$0.00".into(),
                tax: "$0.00".into(),
                amount: "$120.00".into(),
            },
            Line {
                description: "Theraband resistance kit".into(),
                detail: None,
                quantity: "2".into(),
                unit_price: "$18.50".into(),
                discount: "$2.00".into(),
                tax: "$3.50".into(),
                amount: "$38.50".into(),
            },
            Line {
                description: "Home exercise programme, printed and explained".into(),
                detail: None,
                quantity: "1".into(),
                unit_price: "$25.00".into(),
                discount: "$0.00".into(),
                tax: "$2.27".into(),
                amount: "$25.00".into(),
            },
        ],
        totals: vec![
            Total { label: "Subtotal".into(), amount: "$183.50".into(), strong: false },
            Total { label: "GST included".into(), amount: "$5.77".into(), strong: false },
            Total { label: "Total".into(), amount: "$183.50".into(), strong: true },
            Total { label: "Paid".into(), amount: "$183.50".into(), strong: false },
            Total { label: "Amount due".into(), amount: "$0.00".into(), strong: true },
        ],
        notes: vec![
            "Payment terms: 14 days. Pay by card at reception or bank transfer to BSB 062-000, account 1234 5678, quoting the invoice number.".into(),
            "Medicare rebates are paid to you directly by Services Australia.".into(),
        ],
        qr: None,
        stamp: Some("PAID".into()),
        footer: "Harbourside Physiotherapy Pty Ltd · ABN 51 824 753 556 · Thank you".into(),
    }
}

fn inr_invoice() -> Document {
    Document {
        title: "Tax invoice".into(),
        number: "INV-2027-000001".into(),
        issuer: Party {
            heading: String::new(),
            name: "Sahyadri Dental Clinic".into(),
            lines: vec![
                "12 FC Road, Shivajinagar, Pune 411005".into(),
                "GSTIN 27AAPFU0939F1ZV".into(),
                "+91 20 5555 0101".into(),
            ],
        },
        recipient: Party {
            heading: "Bill to".into(),
            name: "Ananya Deshpande".into(),
            lines: vec!["Kothrud, Pune".into()],
        },
        facts: vec![("Issued".into(), "1 April 2027".into()), ("Due".into(), "15 April 2027".into())],
        tax_label: "GST 18%".into(),
        lines: vec![
            Line {
                description: "Root canal treatment, molar".into(),
                detail: Some("Tooth 36".into()),
                quantity: "1".into(),
                unit_price: "₹1,00,000.00".into(),
                discount: "₹2,000.00".into(),
                tax: "₹17,640.00".into(),
                amount: "₹1,15,640.00".into(),
            },
            Line {
                description: "Dental X-ray (IOPA)".into(),
                detail: None,
                quantity: "2".into(),
                unit_price: "₹250.00".into(),
                discount: "₹0.00".into(),
                tax: "₹90.00".into(),
                amount: "₹590.00".into(),
            },
        ],
        totals: vec![
            Total { label: "Taxable value".into(), amount: "₹98,500.00".into(), strong: false },
            Total { label: "CGST 9%".into(), amount: "₹8,865.00".into(), strong: false },
            Total { label: "SGST 9%".into(), amount: "₹8,865.00".into(), strong: false },
            Total { label: "Amount due".into(), amount: "₹1,16,230.00".into(), strong: true },
        ],
        notes: vec!["Scan the code with any UPI app to pay.".into()],
        qr: Some(QrBlock { payload: UPI.into(), caption: "Pay ₹1,16,230.00 by UPI to clinic@okaxis".into() }),
        stamp: None,
        footer: "Sahyadri Dental Clinic · GSTIN 27AAPFU0939F1ZV".into(),
    }
}

fn many_lines(n: usize) -> Document {
    let mut doc = aud_invoice();
    doc.lines = (1..=n)
        .map(|i| Line {
            description: format!(
                "Treatment session number {i} with a description long enough to wrap onto a second line in its column"
            ),
            detail: (i % 3 == 0).then(|| format!("Item {i}")),
            quantity: "1".into(),
            unit_price: format!("${i}.00"),
            discount: "$0.00".into(),
            tax: "$0.00".into(),
            amount: format!("${i}.00"),
        })
        .collect();
    doc.lines[n - 1].description = "Final closing line ZZTOP".into();
    doc.totals = vec![Total { label: "Grand total".into(), amount: "$20,100.00".into(), strong: true }];
    doc
}

fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("-v").output().is_ok();
    if !found {
        if std::env::var_os("PRAXIS_REQUIRE_PYTHON_CHECKS").is_some() {
            panic!("{name} is required (PRAXIS_REQUIRE_PYTHON_CHECKS is set) but missing");
        }
        eprintln!("note: {name} not installed (Debian poppler-utils); skipping the read-back");
    }
    found
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn pdftotext(path: &Path) -> String {
    let out = Command::new("pdftotext").arg("-layout").arg(path).arg("-").output().unwrap();
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn pdfinfo(path: &Path) -> String {
    let out = Command::new("pdfinfo").arg(path).output().unwrap();
    assert!(out.status.success(), "pdfinfo failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn pages(info: &str) -> usize {
    info.lines().find_map(|l| l.strip_prefix("Pages:")).and_then(|v| v.trim().parse().ok()).unwrap()
}

fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn aud_invoice_reads_back() {
    let doc = aud_invoice();
    let pdf = render(&doc).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if !tool("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "aud.pdf", &pdf);
    let text = pdftotext(&path);
    let mut needles = vec![
        "INV-2027-000123",
        "Tax invoice",
        "ABN 51 824 753 556",
        "Chloé Martin-Nguyễn",
        "Medicare item 10960",
        "Initial physiotherapy consultation – 45",
        "PAID",
        "Page 1 of 1",
        "GST",
    ];
    let amounts: Vec<&str> = doc
        .lines
        .iter()
        .flat_map(|l| [l.unit_price.as_str(), l.discount.as_str(), l.tax.as_str(), l.amount.as_str()])
        .chain(doc.totals.iter().map(|t| t.amount.as_str()))
        .collect();
    needles.extend(amounts);
    assert_contains(&text, &needles);
    let info = pdfinfo(&path);
    assert_eq!(pages(&info), 1);
    assert!(info.contains("Tax invoice INV-2027-000123"), "{info}");
}

#[test]
fn inr_invoice_with_upi_qr_reads_back() {
    let doc = inr_invoice();
    let pdf = render(&doc).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if !tool("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "inr.pdf", &pdf);
    let text = pdftotext(&path);
    let mut needles =
        vec!["INV-2027-000001", "GSTIN 27AAPFU0939F1ZV", "Ananya Deshpande", "₹", "clinic@okaxis", "GST 18%"];
    let amounts: Vec<&str> = doc
        .lines
        .iter()
        .flat_map(|l| [l.unit_price.as_str(), l.discount.as_str(), l.tax.as_str(), l.amount.as_str()])
        .chain(doc.totals.iter().map(|t| t.amount.as_str()))
        .collect();
    needles.extend(amounts);
    assert_contains(&text, &needles);
}

#[test]
fn two_hundred_lines_paginate() {
    let doc = many_lines(200);
    let pdf = render(&doc).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if !tool("pdftotext") || !tool("pdfinfo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "long.pdf", &pdf);
    let n = pages(&pdfinfo(&path));
    assert!(n > 1, "expected several pages, got {n}");
    let text = pdftotext(&path);
    assert_contains(
        &text,
        &["Final closing line ZZTOP", "$20,100.00", "Grand total", "Page 1 of", &format!("Page {n} of {n}")],
    );
    // The table header repeats on every page.
    assert_eq!(text.matches("Unit price").count(), n, "{text}");
    // Every row made it, exactly once.
    for i in 1..200 {
        assert_eq!(text.matches(&format!("session number {i} with")).count(), 1, "row {i}");
    }
}

#[test]
fn empty_document_and_no_lines() {
    let pdf = render(&Document::default()).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let mut doc = aud_invoice();
    doc.lines.clear();
    let pdf = render(&doc).unwrap();
    if !tool("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let text = pdftotext(&write(dir.path(), "empty.pdf", &pdf));
    assert_contains(&text, &["No lines"]);
}

#[test]
fn qr_matrix_matches_qrcode_and_svg_is_inline_ready() {
    let m = QrMatrix::encode(UPI).unwrap();
    let size = m.size();
    assert!(size >= 21 && (size - 21).is_multiple_of(4) && size <= 177, "size {size}");
    // Independent check against the qrcode crate itself.
    let code = qrcode::QrCode::with_error_correction_level(UPI.as_bytes(), qrcode::EcLevel::M).unwrap();
    assert_eq!(code.width(), size);
    let colors = code.to_colors();
    for y in 0..size {
        for x in 0..size {
            assert_eq!(m.is_dark(x, y), colors[y * size + x] == qrcode::Color::Dark, "({x},{y})");
        }
    }
    let svg = m.to_svg("Pay by UPI");
    assert!(svg.starts_with("<svg"));
    assert_contains(&svg, &["<title>Pay by UPI</title>", "role=\"img\"", "<rect", "fill=\"#fff\""]);
    let full = size + 2 * praxis_pdf::qr::QUIET_ZONE;
    assert!(svg.contains(&format!("viewBox=\"0 0 {full} {full}\"")));
    assert_eq!(svg.matches("<path").count(), 1);
    // The path's runs cover exactly the dark modules.
    let dark: usize = colors.iter().filter(|c| **c == qrcode::Color::Dark).count();
    let covered: usize = svg.split('h').skip(1).filter_map(|s| s.split('v').next()?.parse::<usize>().ok()).sum();
    assert_eq!(covered, dark);
}

#[test]
fn qr_too_long_is_an_error() {
    let err = QrMatrix::encode(&"x".repeat(5000)).unwrap_err();
    assert!(matches!(err, praxis_pdf::PdfError::Qr(_)));
    let mut doc = inr_invoice();
    doc.qr = Some(QrBlock { payload: "x".repeat(5000), caption: String::new() });
    assert!(render(&doc).is_err());
}

fn wrap_doc() -> Document {
    let mut doc = aud_invoice();
    doc.lines[0].description = "Supercalifragilisticexpialidocious".repeat(20);
    doc.lines[1].description = "word ".repeat(3000); // taller than a page
    doc.lines[2].unit_price = "$".to_string() + &"9".repeat(60);
    doc.issuer.name = "X".repeat(300);
    doc.footer = "footer ".repeat(80);
    doc.stamp = Some("CANCELLED AND REFUNDED IN FULL ON REQUEST".into());
    doc
}

#[test]
fn long_words_and_descriptions_wrap() {
    let doc = wrap_doc();
    let pdf = render(&doc).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if !tool("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let text = pdftotext(&write(dir.path(), "wrap.pdf", &pdf));
    let joined: String = text.split_whitespace().collect();
    assert!(joined.contains(&"Supercalifragilisticexpialidocious".repeat(2)));
    assert_contains(&text, &["Home exercise programme"]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    #[test]
    fn arbitrary_text_never_panics(
        a in "\\PC{0,200}",
        b in proptest::prelude::any::<String>(),
        c in "[ a-zé₹–\\n\\t]{0,400}",
        n in 0usize..40,
    ) {
        let mut doc = inr_invoice();
        doc.title = a.clone();
        doc.number = b.clone();
        doc.issuer.lines.push(c.clone());
        doc.recipient.name = b.clone();
        doc.facts.push((a.clone(), c.clone()));
        doc.tax_label = b.clone();
        doc.lines = (0..n).map(|i| Line {
            description: format!("{a}{i}"),
            detail: Some(c.clone()),
            quantity: b.chars().take(8).collect(),
            unit_price: a.chars().take(12).collect(),
            ..Line::default()
        }).collect();
        doc.totals.push(Total { label: c.clone(), amount: a.chars().take(20).collect(), strong: true });
        doc.notes.push(c.clone());
        doc.qr = Some(QrBlock { payload: a.chars().take(200).collect(), caption: c.clone() });
        doc.stamp = Some(b.chars().take(30).collect());
        doc.footer = c;
        let pdf = render(&doc);
        proptest::prop_assert!(pdf.is_ok(), "{:?}", pdf.err());
        proptest::prop_assert!(pdf.map(|p| p.starts_with(b"%PDF-")).unwrap_or(false));
    }
}

/// Times 200 renders of the 10-line invoice with a QR code and prints the
/// p50/p95. `cargo test --release -p praxis-pdf -- --ignored --nocapture`
#[test]
#[ignore]
fn render_latency_percentiles() {
    let mut doc = inr_invoice();
    doc.lines = many_lines(10).lines;
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = std::time::Instant::now();
        let pdf = render(&doc).unwrap();
        times.push(t.elapsed());
        assert!(!pdf.is_empty());
    }
    times.sort();
    println!("10 lines + QR, 200 renders: p50 {:?}, p95 {:?}, max {:?}", times[100], times[190], times[199]);
}

/// Writes the sample documents to `$PRAXIS_PDF_OUT` for eyeballing.
#[test]
#[ignore]
fn write_samples() {
    let Some(dir) = std::env::var_os("PRAXIS_PDF_OUT") else { return };
    let dir = Path::new(&dir);
    write(dir, "aud.pdf", &render(&aud_invoice()).unwrap());
    write(dir, "inr.pdf", &render(&inr_invoice()).unwrap());
    write(dir, "long.pdf", &render(&many_lines(200)).unwrap());
    write(dir, "wrap.pdf", &render(&wrap_doc()).unwrap());
}
