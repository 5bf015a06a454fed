//! Invoice and receipt PDFs for Praxis.
//!
//! [`render`] lays out a [`Document`] (everything arrives as preformatted
//! strings; this crate does no money arithmetic) on A4 pages with an
//! embedded, subset DejaVu Sans, so the text stays extractable. The
//! [`qr`] module encodes payment links as QR codes for the PDF and as
//! inline SVG for HTML pages.

mod layout;
pub mod qr;
mod text;

/// A document to render: an invoice, a receipt, a statement.
#[derive(Clone, Debug, Default)]
pub struct Document {
    /// Heading at the top right, e.g. "Tax invoice" or "Receipt".
    pub title: String,
    /// The document number, e.g. "INV-2027-000123".
    pub number: String,
    /// Who issues it: the clinic (name, address, ABN/GSTIN, phone, email).
    pub issuer: Party,
    /// Who it is for: the patient.
    pub recipient: Party,
    /// Label/value pairs shown at the top right (Issued, Due, Status...).
    pub facts: Vec<(String, String)>,
    /// Heading of the tax column, e.g. "GST".
    pub tax_label: String,
    /// The table rows; an empty list renders a "No lines" row.
    pub lines: Vec<Line>,
    /// Totals shown right-aligned under the table.
    pub totals: Vec<Total>,
    /// Paragraphs under the totals (payment terms, bank details...).
    pub notes: Vec<String>,
    /// An optional QR code block (e.g. a UPI payment link).
    pub qr: Option<QrBlock>,
    /// An optional stamped word such as "PAID" or "VOID".
    pub stamp: Option<String>,
    /// Text at the bottom of every page.
    pub footer: String,
}

/// A party to the document: a heading (e.g. "Bill to"), a name and
/// free-form lines under it.
#[derive(Clone, Debug, Default)]
pub struct Party {
    /// Small heading above the name; may be empty.
    pub heading: String,
    /// The name, shown in bold.
    pub name: String,
    /// Lines under the name (address, tax number, phone, email).
    pub lines: Vec<String>,
}

/// One table row. All numeric fields are preformatted strings.
#[derive(Clone, Debug, Default)]
pub struct Line {
    /// What was supplied; wraps within its column.
    pub description: String,
    /// Optional smaller grey text under the description (item numbers,
    /// rebate notes).
    pub detail: Option<String>,
    /// Quantity.
    pub quantity: String,
    /// Unit price.
    pub unit_price: String,
    /// Discount.
    pub discount: String,
    /// Tax amount.
    pub tax: String,
    /// Line amount.
    pub amount: String,
}

/// One row of the totals block.
#[derive(Clone, Debug, Default)]
pub struct Total {
    /// Label, e.g. "Subtotal", "GST", "Amount due".
    pub label: String,
    /// Preformatted amount.
    pub amount: String,
    /// Whether the row is emphasised (bold, with a rule above).
    pub strong: bool,
}

/// A QR code with a caption under it.
#[derive(Clone, Debug, Default)]
pub struct QrBlock {
    /// What the code encodes, e.g. a `upi://pay?...` link.
    pub payload: String,
    /// Text under the code.
    pub caption: String,
}

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The QR payload could not be encoded (too long for any QR version).
    #[error("QR code: {0}")]
    Qr(String),
    /// The PDF could not be produced (font or writer failure).
    #[error("PDF rendering: {0}")]
    Render(String),
}

/// Renders `doc` as a PDF (A4 portrait), returning the file's bytes.
pub fn render(doc: &Document) -> Result<Vec<u8>, PdfError> {
    let fonts = text::Fonts::get()?;
    let pages = layout::layout(doc, fonts)?;
    layout::draw(doc, fonts, &pages)
}
