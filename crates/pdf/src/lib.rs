//! TEMPORARY local scaffold (not committed): same API as the helper's crate.
#[derive(Clone, Debug, Default)] pub struct Document { pub title: String, pub number: String, pub issuer: Party, pub recipient: Party, pub facts: Vec<(String, String)>, pub tax_label: String, pub lines: Vec<Line>, pub totals: Vec<Total>, pub notes: Vec<String>, pub qr: Option<QrBlock>, pub stamp: Option<String>, pub footer: String }
#[derive(Clone, Debug, Default)] pub struct Party { pub heading: String, pub name: String, pub lines: Vec<String> }
#[derive(Clone, Debug, Default)] pub struct Line { pub description: String, pub detail: Option<String>, pub quantity: String, pub unit_price: String, pub discount: String, pub tax: String, pub amount: String }
#[derive(Clone, Debug, Default)] pub struct Total { pub label: String, pub amount: String, pub strong: bool }
#[derive(Clone, Debug, Default)] pub struct QrBlock { pub payload: String, pub caption: String }
#[derive(Debug, thiserror::Error)] pub enum PdfError { #[error("x")] Render(String) }
pub fn render(_d: &Document) -> Result<Vec<u8>, PdfError> { Err(PdfError::Render("scaffold".into())) }
pub mod qr { pub struct QrMatrix; impl QrMatrix { pub fn encode(_p: &str) -> Result<QrMatrix, crate::PdfError> { Err(crate::PdfError::Render("s".into())) } pub fn to_svg(&self, _t: &str) -> String { String::new() } } }
