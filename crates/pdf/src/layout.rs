//! Page layout (a display list per page) and drawing it with krilla.
//!
//! Layout runs first so the page count is known before anything is drawn,
//! which is what "Page n of m" needs. Coordinates are PDF points with the
//! origin at the top left of the page and y growing downwards; text `y` is
//! the baseline.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Transform};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;

use crate::qr::{QUIET_ZONE, QrMatrix};
use crate::text::{Fonts, clean};
use crate::{Document, Line, PdfError};

const MM: f32 = 72.0 / 25.4;
const PAGE_W: f32 = 210.0 * MM;
const PAGE_H: f32 = 297.0 * MM;
const MARGIN: f32 = 18.0 * MM;
const X0: f32 = MARGIN;
const X1: f32 = PAGE_W - MARGIN;
const CONTENT_W: f32 = X1 - X0;
const QR_SIDE: f32 = 35.0 * MM;
const CELL_PAD: f32 = 4.0;
/// Rotation of the stamp, in degrees (negative: rising to the right).
const STAMP_ANGLE: f32 = -12.0;
const TABLE_HEAD_SIZE: f32 = 7.5;
const ROW_SIZE: f32 = 9.0;

#[derive(Clone, Copy, Debug)]
struct Rgb(u8, u8, u8);

const INK: Rgb = Rgb(33, 37, 41);
const MUTED: Rgb = Rgb(108, 117, 125);
const RULE: Rgb = Rgb(206, 212, 218);
const BAND: Rgb = Rgb(236, 239, 242);

#[derive(Clone, Copy, Debug)]
enum Align {
    Left,
    Right,
    Center,
}

/// One drawing operation.
#[derive(Clone, Debug)]
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        color: Rgb,
        align: Align,
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Rgb,
    },
    /// The document's QR code with its top-left corner (quiet zone
    /// included) at `x`, `y`.
    Qr {
        x: f32,
        y: f32,
        module: f32,
    },
    /// A boxed word rotated about its centre.
    Stamp {
        cx: f32,
        cy: f32,
        w: f32,
        h: f32,
        size: f32,
        color: Rgb,
        text: String,
    },
    /// "Page n of m", right-aligned at `x`.
    PageOf {
        x: f32,
        y: f32,
        size: f32,
    },
}

/// The laid-out pages, and the QR matrix if there is one.
pub(crate) struct Pages {
    pages: Vec<Vec<Op>>,
    qr: Option<QrMatrix>,
}

/// A column of the line table: header text, width, alignment.
struct Column {
    x: f32,
    w: f32,
    right: bool,
}

/// A line of text in a cell or block, before it is placed.
struct Run {
    text: String,
    size: f32,
    lead: f32,
    bold: bool,
    color: Rgb,
}

struct Layout<'a> {
    doc: &'a Document,
    fonts: &'a Fonts,
    pages: Vec<Vec<Op>>,
    /// Top of the next thing to place.
    y: f32,
    /// Lowest y content may reach on a page (above the footer).
    bottom: f32,
    footer: Vec<String>,
    footer_top: f32,
    columns: Vec<Column>,
    /// Rows of the table placed on the current page.
    rows_on_page: usize,
}

const FOOTER_SIZE: f32 = 7.5;
const FOOTER_LEAD: f32 = 9.5;
const PAGE_LABEL_W: f32 = 80.0;

/// Lays out `doc` into pages.
pub(crate) fn layout(doc: &Document, fonts: &Fonts) -> Result<Pages, PdfError> {
    let qr = match &doc.qr {
        Some(block) => Some(QrMatrix::encode(&block.payload)?),
        None => None,
    };
    let footer = fonts.face(false).wrap(&clean(&doc.footer), FOOTER_SIZE, CONTENT_W - PAGE_LABEL_W);
    let footer_lines = footer.len().max(1) as f32;
    // The footer sits in the bottom margin when it fits there, and pushes
    // the content area up when it does not.
    let footer_top = (PAGE_H - MARGIN + 6.0).min(PAGE_H - 12.0 * MM - footer_lines * FOOTER_LEAD);
    let bottom = (footer_top - 10.0).max(PAGE_H / 2.0);
    let mut l = Layout {
        doc,
        fonts,
        pages: Vec::new(),
        y: MARGIN,
        bottom,
        footer,
        footer_top,
        columns: columns(doc, fonts),
        rows_on_page: 0,
    };
    l.new_page();
    l.header();
    l.recipient();
    l.table_header();
    if doc.lines.is_empty() {
        l.empty_row();
    } else {
        for line in &doc.lines {
            l.row(line);
        }
    }
    l.totals_and_stamp();
    l.notes();
    if let (Some(block), Some(matrix)) = (&doc.qr, &qr) {
        l.qr_block(&block.caption, matrix);
    }
    Ok(Pages { pages: l.pages, qr })
}

/// Column widths: each numeric column as wide as its widest value (and
/// the longest word of its heading), between `MIN_NUMERIC_W` and
/// `MAX_NUMERIC_W`; together at
/// most `MAX_NUMERIC_SHARE` of the width (beyond that they shrink in
/// proportion and values wrap). The description takes the rest.
fn columns(doc: &Document, fonts: &Fonts) -> Vec<Column> {
    const MIN_NUMERIC_W: f32 = 34.0;
    const MAX_NUMERIC_SHARE: f32 = 0.62;
    // One absurdly long value wraps rather than squeezing the other columns.
    const MAX_NUMERIC_W: f32 = 96.0;
    let regular = fonts.face(false);
    let bold = fonts.face(true);
    let headings = ["Qty", "Unit price", "Discount", doc.tax_label.as_str(), "Amount"];
    let mut widths: Vec<f32> = headings
        .iter()
        .enumerate()
        .map(|(i, heading)| {
            // The whole heading on one line when it is short; a long one
            // may wrap, but never inside a word.
            let heading = clean(heading);
            let longest_word =
                heading.split_whitespace().map(|w| bold.measure(w) * TABLE_HEAD_SIZE).fold(0.0_f32, f32::max);
            let heading_w = (bold.measure(heading.trim()) * TABLE_HEAD_SIZE).min(longest_word.max(60.0));
            let value_w = doc
                .lines
                .iter()
                .map(|l| {
                    let v = match i {
                        0 => &l.quantity,
                        1 => &l.unit_price,
                        2 => &l.discount,
                        3 => &l.tax,
                        _ => &l.amount,
                    };
                    regular.measure(&clean(v)) * ROW_SIZE
                })
                .fold(0.0_f32, f32::max);
            (heading_w.max(value_w) + 2.0 * CELL_PAD + 1.0).clamp(MIN_NUMERIC_W, MAX_NUMERIC_W)
        })
        .collect();
    let total: f32 = widths.iter().sum();
    let max_total = CONTENT_W * MAX_NUMERIC_SHARE;
    if total > max_total {
        for w in &mut widths {
            *w *= max_total / total;
        }
    }
    let numeric: f32 = widths.iter().sum();
    let mut cols = vec![Column { x: X0, w: CONTENT_W - numeric, right: false }];
    let mut x = X0 + CONTENT_W - numeric;
    for w in widths {
        cols.push(Column { x, w, right: true });
        x += w;
    }
    cols
}

impl Layout<'_> {
    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, color: Rgb, align: Align, text: String) {
        if !text.trim().is_empty() {
            self.push(Op::Text { x, y, size, bold, color, align, text });
        }
    }

    fn rule(&mut self, x: f32, y: f32, w: f32, thickness: f32, color: Rgb) {
        self.push(Op::Rect { x, y, w, h: thickness, color });
    }

    fn wrap(&self, text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
        self.fonts.face(bold).wrap(&clean(text), size, width)
    }

    fn runs(&self, text: &str, size: f32, lead: f32, bold: bool, color: Rgb, width: f32) -> Vec<Run> {
        self.wrap(text, size, bold, width).into_iter().map(|text| Run { text, size, lead, bold, color }).collect()
    }

    /// Places `runs` as a column starting at `top`; returns the y under them.
    fn place(&mut self, runs: Vec<Run>, x: f32, top: f32, align: Align) -> f32 {
        let mut y = top;
        for run in runs {
            let baseline = y + run.lead - 0.25 * run.size;
            self.text(x, baseline, run.size, run.bold, run.color, align, run.text);
            y += run.lead;
        }
        y
    }

    /// Places `runs` one by one at the cursor, breaking pages as needed.
    fn flow(&mut self, runs: Vec<Run>, x: f32) {
        for run in runs {
            self.ensure(run.lead);
            let y = self.y;
            self.y = self.place(vec![run], x, y, Align::Left);
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.rows_on_page = 0;
        let mut y = self.footer_top;
        self.rule(X0, y, CONTENT_W, 0.5, RULE);
        y += 2.0;
        self.push(Op::PageOf { x: X1, y: y + FOOTER_LEAD - 0.25 * FOOTER_SIZE, size: FOOTER_SIZE });
        let footer = std::mem::take(&mut self.footer);
        let runs = footer
            .iter()
            .map(|t| Run { text: t.clone(), size: FOOTER_SIZE, lead: FOOTER_LEAD, bold: false, color: MUTED })
            .collect();
        self.place(runs, X0, y, Align::Left);
        self.footer = footer;
        self.y = MARGIN;
        if self.pages.len() > 1 {
            // A short running head on continuation pages.
            let head = format!("{} {}", clean(&self.doc.title), clean(&self.doc.number));
            let head = self.wrap(&head, 9.0, true, CONTENT_W - 90.0).into_iter().next().unwrap_or_default();
            self.text(X0, MARGIN + 9.0, 9.0, true, INK, Align::Left, head);
            self.text(X1, MARGIN + 9.0, 8.0, false, MUTED, Align::Right, "continued".into());
            self.rule(X0, MARGIN + 14.0, CONTENT_W, 0.5, RULE);
            self.y = MARGIN + 24.0;
        }
    }

    /// Starts a new page unless `height` fits under the cursor. Returns
    /// whether a page was started.
    fn ensure(&mut self, height: f32) -> bool {
        if self.y + height > self.bottom {
            self.new_page();
            true
        } else {
            false
        }
    }

    fn header(&mut self) {
        let doc = self.doc;
        let left_w = CONTENT_W * 0.55;
        let right_x = X0 + left_w + 12.0;
        let right_w = X1 - right_x;
        let top = self.y;

        // Issuer at the left.
        let mut runs = Vec::new();
        if !doc.issuer.heading.trim().is_empty() {
            runs.extend(self.runs(&doc.issuer.heading, 7.5, 10.0, true, MUTED, left_w));
        }
        runs.extend(self.runs(&doc.issuer.name, 15.0, 18.0, true, INK, left_w));
        for line in &doc.issuer.lines {
            runs.extend(self.runs(line, 8.5, 11.0, false, INK, left_w));
        }
        let left_bottom = self.place(runs, X0, top, Align::Left);

        // Title, number and facts at the right.
        let mut runs = self.runs(&doc.title, 19.0, 23.0, true, INK, right_w);
        runs.extend(self.runs(&doc.number, 10.5, 14.0, false, INK, right_w));
        let mut y = self.place(runs, X1, top, Align::Right) + 6.0;
        let face = self.fonts.face(false);
        let label_w = doc
            .facts
            .iter()
            .map(|(label, _)| face.measure(&clean(label)) * 8.0)
            .fold(0.0_f32, f32::max)
            .min(right_w * 0.45);
        let value_w = right_w - label_w - 8.0;
        for (label, value) in &doc.facts {
            let labels = self.runs(label, 8.0, 11.0, false, MUTED, label_w.max(1.0));
            let values = self.runs(value, 8.5, 11.0, false, INK, value_w);
            let a = self.place(labels, right_x, y, Align::Left);
            let b = self.place(values, X1, y, Align::Right);
            y = a.max(b);
        }
        self.y = left_bottom.max(y) + 16.0;
    }

    fn recipient(&mut self) {
        let party = &self.doc.recipient;
        let width = CONTENT_W * 0.55;
        let mut runs = Vec::new();
        if !party.heading.trim().is_empty() {
            runs.extend(self.runs(&party.heading, 7.5, 10.0, true, MUTED, width));
        }
        runs.extend(self.runs(&party.name, 11.0, 14.0, true, INK, width));
        for line in &party.lines {
            runs.extend(self.runs(line, 8.5, 11.0, false, INK, width));
        }
        self.flow(runs, X0);
        self.y += 14.0;
    }

    fn table_header(&mut self) {
        let doc = self.doc;
        let labels = ["Description", "Qty", "Unit price", "Discount", doc.tax_label.as_str(), "Amount"];
        let cells: Vec<Vec<Run>> = labels
            .iter()
            .zip(&self.columns)
            .map(|(label, col)| self.runs(label, TABLE_HEAD_SIZE, 9.5, true, INK, col.w - 2.0 * CELL_PAD))
            .collect();
        let h = cells.iter().map(|c| c.len()).max().unwrap_or(1).max(1) as f32 * 9.5 + 2.0 * CELL_PAD;
        // Keep the header with at least one ordinary row.
        self.ensure(h + 24.0);
        let top = self.y;
        self.push(Op::Rect { x: X0, y: top, w: CONTENT_W, h, color: BAND });
        for (i, runs) in cells.into_iter().enumerate() {
            let (x, align) = self.cell_anchor(i);
            self.place(runs, x, top + CELL_PAD, align);
        }
        self.y = top + h;
        self.rows_on_page = 0;
    }

    fn cell_anchor(&self, i: usize) -> (f32, Align) {
        match self.columns.get(i) {
            Some(col) if col.right => (col.x + col.w - CELL_PAD, Align::Right),
            Some(col) => (col.x + CELL_PAD, Align::Left),
            None => (X0, Align::Left),
        }
    }

    fn empty_row(&mut self) {
        let h = 11.5 + 2.0 * CELL_PAD;
        self.ensure(h);
        let y = self.y;
        self.text(X0 + CELL_PAD, y + CELL_PAD + 11.5 - 0.25 * 9.0, 9.0, false, MUTED, Align::Left, "No lines".into());
        self.y += h;
        self.rule(X0, self.y, CONTENT_W, 0.5, RULE);
    }

    fn row(&mut self, line: &Line) {
        let desc_w = self.columns.first().map_or(100.0, |c| c.w) - 2.0 * CELL_PAD;
        let mut desc = self.runs(&line.description, 9.0, 11.5, false, INK, desc_w);
        if let Some(detail) = &line.detail {
            desc.extend(self.runs(detail, 7.5, 9.5, false, MUTED, desc_w));
        }
        let values = [&line.quantity, &line.unit_price, &line.discount, &line.tax, &line.amount];
        let mut numbers: Vec<Vec<Run>> = values
            .iter()
            .zip(self.columns.iter().skip(1))
            .map(|(v, col)| self.runs(v, ROW_SIZE, 11.5, false, INK, col.w - 2.0 * CELL_PAD))
            .collect();
        let numbers_h = numbers.iter().map(|c| c.iter().map(|r| r.lead).sum::<f32>()).fold(0.0_f32, f32::max);
        let mut first = true;
        loop {
            let desc_h: f32 = desc.iter().map(|r| r.lead).sum();
            let num_h = if first { numbers_h } else { 0.0 };
            let h = desc_h.max(num_h).max(11.5) + 2.0 * CELL_PAD;
            if self.y + h <= self.bottom {
                self.place_row(std::mem::take(&mut desc), std::mem::take(&mut numbers), h);
                return;
            }
            if self.rows_on_page > 0 || !first && desc.is_empty() {
                self.new_page();
                self.table_header();
                continue;
            }
            // A row taller than a whole page: split its description.
            let avail = self.bottom - self.y - 2.0 * CELL_PAD;
            let mut used = 0.0;
            let mut take = 0;
            for r in &desc {
                if used + r.lead > avail && take > 0 {
                    break;
                }
                used += r.lead;
                take += 1;
            }
            let rest = desc.split_off(take.min(desc.len()));
            let chunk = std::mem::replace(&mut desc, rest);
            let nums = if first { std::mem::take(&mut numbers) } else { Vec::new() };
            let h = (self.bottom - self.y).max(0.0);
            self.place_row(chunk, nums, h);
            first = false;
            if desc.is_empty() {
                return;
            }
            self.new_page();
            self.table_header();
        }
    }

    fn place_row(&mut self, desc: Vec<Run>, numbers: Vec<Vec<Run>>, h: f32) {
        let top = self.y;
        let (x, align) = self.cell_anchor(0);
        self.place(desc, x, top + CELL_PAD, align);
        for (i, runs) in numbers.into_iter().enumerate() {
            let (x, align) = self.cell_anchor(i + 1);
            self.place(runs, x, top + CELL_PAD, align);
        }
        self.y = top + h;
        self.rule(X0, self.y, CONTENT_W, 0.5, RULE);
        self.rows_on_page += 1;
    }

    fn totals_and_stamp(&mut self) {
        let doc = self.doc;
        let block_w = CONTENT_W * 0.45;
        let block_x = X1 - block_w;
        // Lay the totals out first to know their height.
        let mut rows = Vec::new();
        for total in &doc.totals {
            let (size, lead) = if total.strong { (10.5, 15.0) } else { (9.0, 13.0) };
            let amount = self.runs(&total.amount, size, lead, total.strong, INK, block_w * 0.6);
            let amount_w =
                amount.iter().map(|r| self.fonts.face(r.bold).measure(&r.text) * size).fold(0.0_f32, f32::max);
            let label_w = (block_w - amount_w - 8.0).max(block_w * 0.3);
            let label = self.runs(&total.label, size, lead, total.strong, INK, label_w);
            rows.push((total.strong, label, amount));
        }
        let totals_h: f32 = rows
            .iter()
            .map(|(strong, l, a)| {
                let n = l.len().max(a.len()).max(1) as f32;
                let lead = if *strong { 15.0 } else { 13.0 };
                n * lead + if *strong { 4.0 } else { 0.0 }
            })
            .sum();

        let stamp = doc
            .stamp
            .as_deref()
            .map(clean)
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty());
        let stamp_room = block_x - X0 - 24.0;
        let (sin, cos) = STAMP_ANGLE.to_radians().abs().sin_cos();
        let stamp_layout = stamp.map(|text| {
            let em = self.fonts.face(true).measure(&text).max(0.1);
            // The rotated box must fit beside the totals:
            // (em * size + 24) * cos + (size + 16) * sin <= room.
            let fit = (stamp_room - 24.0 * cos - 16.0 * sin) / (em * cos + sin);
            let size = fit.clamp(6.0, 26.0);
            let w = em * size + 24.0;
            let h = size + 16.0;
            // Height of the rotated box's bounding box.
            let bound_h = w * sin + h * cos;
            (text, size, w, h, bound_h)
        });
        let stamp_h = stamp_layout.as_ref().map_or(0.0, |s| s.4 + 8.0);

        let needed = totals_h.max(stamp_h) + 12.0;
        self.ensure(needed);
        let top = self.y + 12.0;
        let mut y = top;
        for (strong, label, amount) in rows {
            if strong {
                self.rule(block_x, y + 1.0, block_w, 0.8, INK);
                y += 4.0;
            }
            let a = self.place(label, block_x, y, Align::Left);
            let b = self.place(amount, X1, y, Align::Right);
            y = a.max(b);
        }
        if let Some((text, size, w, h, bound_h)) = stamp_layout {
            let color = stamp_color(&text);
            let bound_w = w * cos + h * sin;
            let cx = X0 + 12.0 + bound_w / 2.0;
            let cy = top + 4.0 + bound_h / 2.0;
            self.push(Op::Stamp { cx, cy, w, h, size, color, text });
        }
        self.y = top + totals_h.max(stamp_h);
    }

    fn notes(&mut self) {
        let notes = &self.doc.notes;
        if notes.iter().all(|n| n.trim().is_empty()) {
            return;
        }
        self.y += 14.0;
        for note in notes {
            let runs = self.runs(note, 8.5, 11.0, false, INK, CONTENT_W);
            self.flow(runs, X0);
            self.y += 5.0;
        }
    }

    fn qr_block(&mut self, caption: &str, matrix: &QrMatrix) {
        let caption_w = 70.0 * MM;
        let caption = self.runs(caption, 8.0, 10.0, false, INK, caption_w);
        let caption_h: f32 = caption.iter().map(|r| r.lead).sum();
        self.y += 12.0;
        if self.ensure(QR_SIDE + 4.0 + caption_h.min(self.bottom / 2.0)) {
            self.y += 4.0;
        }
        let module = QR_SIDE / (matrix.size() + 2 * QUIET_ZONE) as f32;
        let top = self.y;
        self.push(Op::Qr { x: X0, y: top, module });
        self.y = top + QR_SIDE + 2.0;
        self.flow(caption, X0);
    }
}

fn stamp_color(text: &str) -> Rgb {
    let upper = text.to_uppercase();
    if upper.contains("PAID") && !upper.contains("UNPAID") {
        Rgb(56, 132, 82)
    } else if ["VOID", "CANCEL", "REFUND", "OVERDUE", "UNPAID"].iter().any(|w| upper.contains(w)) {
        Rgb(184, 74, 74)
    } else {
        Rgb(110, 120, 140)
    }
}

fn fill(color: Rgb) -> Fill {
    Fill {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// Draws the laid-out pages into a PDF.
pub(crate) fn draw(doc: &Document, fonts: &Fonts, pages: &Pages) -> Result<Vec<u8>, PdfError> {
    let mut document = krilla::Document::new();
    let title = format!("{} {}", clean(&doc.title), clean(&doc.number));
    document.set_metadata(Metadata::new().title(title.trim().to_string()).creator("Praxis".to_string()));
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError::Render("invalid page size".into()))?;
    let count = pages.pages.len();
    for (index, ops) in pages.pages.iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            draw_op(&mut surface, fonts, pages.qr.as_ref(), op, index + 1, count);
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| PdfError::Render(format!("{e:?}")))
}

#[allow(clippy::too_many_arguments)]
fn draw_text(
    surface: &mut Surface<'_>,
    fonts: &Fonts,
    x: f32,
    y: f32,
    size: f32,
    bold: bool,
    color: Rgb,
    align: Align,
    text: &str,
) {
    let face = fonts.face(bold);
    let (glyphs, em) = face.shape(text);
    let width = em * size;
    let x = match align {
        Align::Left => x,
        Align::Right => x - width,
        Align::Center => x - width / 2.0,
    };
    surface.set_fill(Some(fill(color)));
    surface.draw_glyphs(Point::from_xy(x, y), &glyphs, face.font.clone(), text, size, false);
}

fn rect_path(x: f32, y: f32, w: f32, h: f32) -> Option<krilla::geom::Path> {
    let mut pb = PathBuilder::new();
    pb.push_rect(Rect::from_xywh(x, y, w, h)?);
    pb.finish()
}

fn draw_op(surface: &mut Surface<'_>, fonts: &Fonts, qr: Option<&QrMatrix>, op: &Op, page: usize, count: usize) {
    match op {
        Op::Text { x, y, size, bold, color, align, text } => {
            draw_text(surface, fonts, *x, *y, *size, *bold, *color, *align, text);
        }
        Op::PageOf { x, y, size } => {
            let label = format!("Page {page} of {count}");
            draw_text(surface, fonts, *x, *y, *size, false, MUTED, Align::Right, &label);
        }
        Op::Rect { x, y, w, h, color } => {
            if let Some(path) = rect_path(*x, *y, *w, *h) {
                surface.set_fill(Some(fill(*color)));
                surface.draw_path(&path);
            }
        }
        Op::Qr { x, y, module } => {
            let Some(matrix) = qr else { return };
            let full = (matrix.size() + 2 * QUIET_ZONE) as f32 * module;
            if let Some(bg) = rect_path(*x, *y, full, full) {
                surface.set_fill(Some(fill(Rgb(255, 255, 255))));
                surface.draw_path(&bg);
            }
            let mut pb = PathBuilder::new();
            for (mx, my, len) in matrix.dark_runs() {
                let rx = x + (mx + QUIET_ZONE) as f32 * module;
                let ry = y + (my + QUIET_ZONE) as f32 * module;
                if let Some(r) = Rect::from_xywh(rx, ry, len as f32 * module, *module) {
                    pb.push_rect(r);
                }
            }
            if let Some(path) = pb.finish() {
                surface.set_fill(Some(fill(Rgb(0, 0, 0))));
                surface.draw_path(&path);
            }
        }
        Op::Stamp { cx, cy, w, h, size, color, text } => {
            surface.push_transform(&Transform::from_rotate_at(STAMP_ANGLE, *cx, *cy));
            if let Some(path) = rect_path(cx - w / 2.0, cy - h / 2.0, *w, *h) {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: rgb::Color::new(color.0, color.1, color.2).into(),
                    width: 2.0,
                    ..Default::default()
                }));
                surface.draw_path(&path);
                surface.set_stroke(None);
            }
            draw_text(surface, fonts, *cx, cy + size * 0.36, *size, true, *color, Align::Center, text);
            surface.pop();
        }
    }
}
