//! Fonts, shaping and greedy word-wrap.

use std::sync::OnceLock;

use krilla::text::{Font, GlyphId, KrillaGlyph};
use rustybuzz::{Direction, UnicodeBuffer};

use crate::PdfError;

/// One embedded face: the krilla font (for drawing and subsetting) and the
/// rustybuzz face over the same bytes (for shaping and measuring).
pub(crate) struct Face {
    pub(crate) font: Font,
    shaper: rustybuzz::Face<'static>,
    units_per_em: f32,
}

/// The two weights the layout uses.
pub(crate) struct Fonts {
    pub(crate) regular: Face,
    pub(crate) bold: Face,
}

impl Fonts {
    /// The process-wide fonts, parsed once.
    pub(crate) fn get() -> Result<&'static Fonts, PdfError> {
        static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
        FONTS
            .get_or_init(|| {
                Some(Fonts { regular: Face::new(dejavu::sans::regular())?, bold: Face::new(dejavu::sans::bold())? })
            })
            .as_ref()
            .ok_or_else(|| PdfError::Render("the embedded font could not be read".into()))
    }

    pub(crate) fn face(&self, bold: bool) -> &Face {
        if bold { &self.bold } else { &self.regular }
    }
}

impl Face {
    fn new(bytes: &'static [u8]) -> Option<Face> {
        let font = Font::new(bytes.into(), 0)?;
        let shaper = rustybuzz::Face::from_slice(bytes, 0)?;
        let units_per_em = f32::from(shaper.units_per_em().max(1) as u16);
        Some(Face { font, shaper, units_per_em })
    }

    /// Advance width of `text` at size 1 (in em), from the horizontal
    /// metrics alone (no kerning): cheap, and what the word-wrap uses.
    pub(crate) fn measure(&self, text: &str) -> f32 {
        let face: &rustybuzz::ttf_parser::Face<'_> = &self.shaper;
        let notdef = face.glyph_hor_advance(rustybuzz::ttf_parser::GlyphId(0)).unwrap_or(0);
        let units: u32 = text
            .chars()
            .map(|c| face.glyph_index(c).and_then(|g| face.glyph_hor_advance(g)).unwrap_or(notdef) as u32)
            .sum();
        units as f32 / self.units_per_em
    }

    /// Shapes `text` left to right. Returns the glyphs (advances in em)
    /// and the total advance in em. Each glyph's text range covers its
    /// cluster, so the PDF carries the original text for extraction.
    pub(crate) fn shape(&self, text: &str) -> (Vec<KrillaGlyph>, f32) {
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.set_direction(Direction::LeftToRight);
        let output = rustybuzz::shape(&self.shaper, &[], buffer);
        let infos = output.glyph_infos();
        let positions = output.glyph_positions();
        let upem = self.units_per_em;
        let mut glyphs = Vec::with_capacity(infos.len());
        let mut width = 0.0;
        for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
            let start = (info.cluster as usize).min(text.len());
            // The cluster ends where the next different cluster starts.
            let end = infos[i + 1..]
                .iter()
                .map(|next| next.cluster)
                .find(|&c| c != info.cluster)
                .map_or(text.len(), |c| c as usize)
                .clamp(start, text.len());
            let x_advance = pos.x_advance as f32 / upem;
            width += x_advance;
            glyphs.push(KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                x_advance,
                pos.x_offset as f32 / upem,
                pos.y_offset as f32 / upem,
                pos.y_advance as f32 / upem,
                start..end,
                None,
            ));
        }
        (glyphs, width)
    }

    /// Greedy word-wrap of `text` at `size` points into lines no wider than
    /// `max_width` points. Whitespace runs collapse to one space; explicit
    /// newlines start a new line; a word wider than the line is broken
    /// between characters. Empty input gives no lines.
    pub(crate) fn wrap(&self, text: &str, size: f32, max_width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let space = self.measure(" ") * size;
        for paragraph in text.split('\n') {
            let mut line = String::new();
            let mut line_width = 0.0;
            for word in paragraph.split_whitespace() {
                let word_width = self.measure(word) * size;
                if !line.is_empty() && line_width + space + word_width <= max_width {
                    line.push(' ');
                    line.push_str(word);
                    line_width += space + word_width;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                if word_width <= max_width {
                    line.push_str(word);
                    line_width = word_width;
                } else {
                    // Break the over-long word; at least one character per
                    // line so narrow columns still make progress.
                    line_width = 0.0;
                    for c in word.chars() {
                        let mut buf = [0u8; 4];
                        let w = self.measure(c.encode_utf8(&mut buf)) * size;
                        if !line.is_empty() && line_width + w > max_width {
                            lines.push(std::mem::take(&mut line));
                            line_width = 0.0;
                        }
                        line.push(c);
                        line_width += w;
                    }
                }
            }
            if !line.is_empty() {
                lines.push(line);
            }
        }
        lines
    }
}

/// Replaces control characters (other than newline) with spaces so they
/// neither reach the shaper as invisible glyphs nor break the layout.
pub(crate) fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() && c != '\n' { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_breaks_long_words() {
        let fonts = Fonts::get().unwrap();
        let face = fonts.face(false);
        let lines = face.wrap("aaaa bbbb cccc", 10.0, face.measure("aaaa bbbb") * 10.0 + 0.01);
        assert_eq!(lines, vec!["aaaa bbbb", "cccc"]);
        let long = "x".repeat(200);
        let lines = face.wrap(&long, 10.0, 50.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), long);
        for l in &lines {
            assert!(face.measure(l) * 10.0 <= 50.0 + 0.01);
        }
        assert!(face.wrap("   ", 10.0, 50.0).is_empty());
        assert_eq!(face.wrap("abc", 10.0, 0.0), vec!["a", "b", "c"]);
    }

    #[test]
    fn has_rupee_and_shapes_with_ranges() {
        let fonts = Fonts::get().unwrap();
        let face = fonts.face(false);
        let face_ref: &rustybuzz::ttf_parser::Face<'_> = &face.shaper;
        assert!(face_ref.glyph_index('₹').is_some());
        let text = "₹1,00,000.00 é–";
        let (glyphs, width) = face.shape(text);
        assert!(width > 0.0);
        assert_eq!(glyphs.first().map(|g| g.text_range.start), Some(0));
        assert_eq!(glyphs.last().map(|g| g.text_range.end), Some(text.len()));
    }
}
