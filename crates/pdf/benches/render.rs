//! Render timings: `CARGO_BUILD_JOBS=1 cargo bench -p praxis-pdf`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use praxis_pdf::qr::QrMatrix;
use praxis_pdf::{Document, Line, Party, QrBlock, Total, render};

const UPI: &str = "upi://pay?pa=clinic@okaxis&pn=Clinic&am=2000.00&cu=INR&tn=INV-2027-000001";

fn invoice(lines: usize, qr: bool) -> Document {
    Document {
        title: "Tax invoice".into(),
        number: "INV-2027-000123".into(),
        issuer: Party {
            heading: String::new(),
            name: "Sahyadri Dental Clinic".into(),
            lines: vec![
                "12 FC Road, Shivajinagar, Pune 411005".into(),
                "GSTIN 27AAPFU0939F1ZV".into(),
                "+91 20 5555 0101 · accounts@sahyadri.example".into(),
            ],
        },
        recipient: Party {
            heading: "Bill to".into(),
            name: "Ananya Deshpande".into(),
            lines: vec!["Kothrud, Pune 411038".into()],
        },
        facts: vec![
            ("Issued".into(), "1 April 2027".into()),
            ("Due".into(), "15 April 2027".into()),
            ("Provider".into(), "Dr Meera Kulkarni".into()),
        ],
        tax_label: "GST".into(),
        lines: (1..=lines)
            .map(|i| Line {
                description: format!(
                    "Treatment session {i}: scaling and polishing, full mouth, with oral hygiene instruction"
                ),
                detail: (i % 4 == 0).then(|| "SAC 999312".to_string()),
                quantity: "1".into(),
                unit_price: "₹2,500.00".into(),
                discount: "₹0.00".into(),
                tax: "₹450.00".into(),
                amount: "₹2,950.00".into(),
            })
            .collect(),
        totals: vec![
            Total { label: "Taxable value".into(), amount: "₹25,000.00".into(), strong: false },
            Total { label: "GST".into(), amount: "₹4,500.00".into(), strong: false },
            Total { label: "Amount due".into(), amount: "₹29,500.00".into(), strong: true },
        ],
        notes: vec!["Payment due within 14 days. Scan the code with any UPI app.".into()],
        qr: qr.then(|| QrBlock { payload: UPI.into(), caption: "Pay by UPI to clinic@okaxis".into() }),
        stamp: None,
        footer: "Sahyadri Dental Clinic · GSTIN 27AAPFU0939F1ZV".into(),
    }
}

fn bench(c: &mut Criterion) {
    let small = invoice(10, true);
    let large = invoice(200, false);
    c.bench_function("render 10 lines + QR", |b| b.iter(|| render(black_box(&small)).unwrap()));
    c.bench_function("render 200 lines", |b| b.iter(|| render(black_box(&large)).unwrap()));
    c.bench_function("QR encode + SVG", |b| b.iter(|| QrMatrix::encode(black_box(UPI)).unwrap().to_svg("Pay by UPI")));

    // Percentiles, which criterion does not print: 200 timed renders each.
    for (name, doc) in [("10 lines + QR", &small), ("200 lines", &large)] {
        let mut times: Vec<_> = (0..200)
            .map(|_| {
                let t = std::time::Instant::now();
                black_box(render(doc).unwrap());
                t.elapsed()
            })
            .collect();
        times.sort();
        let bytes = render(doc).unwrap().len();
        println!("{name}: 200 renders p50 {:?} p95 {:?} max {:?} ({bytes} bytes)", times[100], times[190], times[199]);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
