//! Charts drawn on the server as inline SVG: no script, no third-party code, readable by
//! screen readers (a title and description) and always next to a table of the same
//! numbers, so colour is never the only way to read them.

use std::fmt::Write;

/// Escapes text for SVG/XML content and attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An id for a chart's title and description, from its title, so several charts on one
/// page keep their ids apart ("Revenue per month (AUD)" → "ch-revenue-per-month-aud").
fn chart_id(title: &str) -> String {
    let mut id = String::from("ch");
    for word in title.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        id.push('-');
        id.push_str(&word.to_ascii_lowercase());
    }
    id
}

/// One series of a stacked bar chart: a name, a fill colour and a pattern class (so the
/// series differ by more than colour) and one value per bar.
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// Fill colour.
    pub fill: &'a str,
    /// Values, one per bar.
    pub values: Vec<i64>,
}

/// A vertical stacked bar chart, one bar per label.
pub fn stacked_bars(title: &str, desc: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let n = labels.len().max(1);
    let (w, h, left, bottom, top) = (720.0_f64, 240.0_f64, 36.0, 34.0, 12.0);
    let plot_h = h - bottom - top;
    let totals: Vec<i64> = (0..n).map(|i| series.iter().map(|s| s.values.get(i).copied().unwrap_or(0)).sum()).collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let step = (w - left) / n as f64;
    let bar = (step * 0.7).max(2.0);
    let key = chart_id(title);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{key}-t {key}-d" xmlns="http://www.w3.org/2000/svg"><title id="{key}-t">{}</title><desc id="{key}-d">{}</desc>"#,
        esc(title),
        esc(desc)
    );
    // Gridlines at 0, half and max.
    for frac in [0.0, 0.5, 1.0] {
        let y = top + plot_h * (1.0 - frac);
        let v = (max as f64 * frac).round() as i64;
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{y:.1}" x2="{w}" y2="{y:.1}" stroke="#d5dae1" stroke-width="1"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#566173">{v}</text>"##,
            left - 4.0,
            y + 4.0
        );
    }
    for (i, label) in labels.iter().enumerate() {
        let x = left + step * i as f64 + (step - bar) / 2.0;
        let mut y = top + plot_h;
        for s in series {
            let v = s.values.get(i).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let bh = plot_h * v as f64 / max as f64;
            y -= bh;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{bh:.1}" fill="{}"><title>{}: {} {v}</title></rect>"#,
                esc(s.fill),
                esc(label),
                esc(s.name)
            );
        }
        // Label every fifth bar (and the last) to keep the axis readable.
        if i % 5 == 0 || i + 1 == n {
            let anchor = if i + 1 == n { "end" } else { "middle" };
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="{anchor}" fill="#566173">{}</text>"##,
                if i + 1 == n { x + bar } else { x + bar / 2.0 },
                h - bottom + 16.0,
                esc(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A horizontal bar chart of per-mille values (0–1000), one row per label, with the
/// value written beside each bar.
pub fn percent_bars(title: &str, desc: &str, rows: &[(String, i64, String)]) -> String {
    let row_h = 30.0_f64;
    let (w, left, right) = (480.0_f64, 140.0, 64.0);
    let h = (rows.len().max(1) as f64) * row_h + 8.0;
    let plot_w = w - left - right;
    let key = chart_id(title);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{key}-t {key}-d" xmlns="http://www.w3.org/2000/svg"><title id="{key}-t">{}</title><desc id="{key}-d">{}</desc>"#,
        esc(title),
        esc(desc)
    );
    for (i, (label, permille, fill)) in rows.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let bw = plot_w * (*permille).clamp(0, 1000) as f64 / 1000.0;
        let text: String = label.chars().take(18).collect();
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="14" text-anchor="end" fill="#1c2430">{}</text><rect x="{left}" y="{:.1}" width="{plot_w:.1}" height="{:.1}" fill="#eef0f3"/><rect x="{left}" y="{:.1}" width="{bw:.1}" height="{:.1}" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="14" fill="#1c2430">{}.{} %</text>"##,
            left - 8.0,
            y + 17.0,
            esc(&text),
            y + 4.0,
            row_h - 10.0,
            y + 4.0,
            row_h - 10.0,
            esc(fill),
            left + plot_w + 8.0,
            y + 17.0,
            permille / 10,
            permille % 10
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_charts_have_different_ids() {
        assert_eq!(chart_id("Revenue per month (AUD)"), "ch-revenue-per-month-aud");
        let a = percent_bars("Owing by age", "d", &[]);
        let b = percent_bars("Payments by method", "d", &[]);
        assert!(a.contains("id=\"ch-owing-by-age-t\"") && b.contains("id=\"ch-payments-by-method-t\""));
    }

    #[test]
    fn names_are_escaped() {
        let svg = percent_bars("t", "d", &[("<script>alert(1)</script> & Co".into(), 500, "#123456".into())]);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("50.0 %"));
    }

    #[test]
    fn stacked_bars_scale_to_the_tallest_and_skip_zeros() {
        let labels: Vec<String> = (1..=3).map(|d| format!("{d}")).collect();
        let svg = stacked_bars(
            "t",
            "d",
            &labels,
            &[
                Series { name: "A", fill: "#111", values: vec![1, 0, 4] },
                Series { name: "B", fill: "#222", values: vec![1, 0, 0] },
            ],
        );
        assert_eq!(svg.matches("<rect").count(), 3, "zero segments are not drawn");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img""#));
    }
}
