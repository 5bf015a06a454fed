//! QR codes for payment links (UPI), as a module matrix that can be drawn
//! into the PDF or written out as a standalone inline SVG.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

use crate::PdfError;

/// Light modules drawn around the code on every side, as the QR
/// specification asks for (four modules).
pub const QUIET_ZONE: usize = 4;

/// A square matrix of QR modules (dark or light), without the quiet zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrMatrix {
    size: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `payload` as a QR code at error-correction level M.
    ///
    /// Fails with [`PdfError::Qr`] when the payload is too long for any
    /// QR version.
    pub fn encode(payload: &str) -> Result<QrMatrix, PdfError> {
        let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
            .map_err(|e| PdfError::Qr(e.to_string()))?;
        let size = code.width();
        let dark: Vec<bool> = code.to_colors().into_iter().map(|c| c == Color::Dark).collect();
        if dark.len() != size * size {
            return Err(PdfError::Qr(format!("unexpected module count {} for width {size}", dark.len())));
        }
        Ok(QrMatrix { size, dark })
    }

    /// Modules per side, without the quiet zone.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether the module at column `x`, row `y` is dark. Positions outside
    /// the matrix (the quiet zone and beyond) are light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.size && y < self.size && self.dark[y * self.size + x]
    }

    /// Horizontal runs of dark modules, as `(x, y, length)` in module units
    /// without the quiet zone; one entry per maximal run in each row.
    pub(crate) fn dark_runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for y in 0..self.size {
            let mut x = 0;
            while x < self.size {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.size && self.is_dark(x, y) {
                        x += 1;
                    }
                    runs.push((start, y, x - start));
                } else {
                    x += 1;
                }
            }
        }
        runs
    }

    /// A standalone `<svg>` element for inline use in HTML: `role="img"`
    /// with a `<title>` (escaped `title`), a `viewBox` that includes the
    /// quiet zone, a white background and one `<path>` of the dark modules
    /// (one sub-path per horizontal run). It carries no width or height, so
    /// CSS sizes it.
    pub fn to_svg(&self, title: &str) -> String {
        let full = self.size + 2 * QUIET_ZONE;
        let mut d = String::with_capacity(self.size * self.size * 3);
        for (x, y, len) in self.dark_runs() {
            // Infallible: writing into a String.
            let _ = write!(d, "M{} {}h{}v1h-{}z", x + QUIET_ZONE, y + QUIET_ZONE, len, len);
        }
        format!(
            concat!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" ",
                "viewBox=\"0 0 {full} {full}\" shape-rendering=\"crispEdges\">",
                "<title>{title}</title>",
                "<rect width=\"{full}\" height=\"{full}\" fill=\"#fff\"/>",
                "<path fill=\"#000\" d=\"{d}\"/></svg>"
            ),
            full = full,
            title = escape_xml(title),
            d = d
        )
    }
}

fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\t' && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_title() {
        let m = QrMatrix::encode("x").unwrap();
        let svg = m.to_svg("a<b & \"c\"");
        assert!(svg.contains("<title>a&lt;b &amp; &quot;c&quot;</title>"));
    }

    #[test]
    fn outside_is_light() {
        let m = QrMatrix::encode("x").unwrap();
        assert!(!m.is_dark(m.size(), 0));
        assert!(!m.is_dark(0, m.size() + 10));
        // Finder pattern corner is dark.
        assert!(m.is_dark(0, 0));
    }
}
