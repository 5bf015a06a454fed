//! Patient documents as pure rules: who may see and upload which document, and what a
//! file is, judged by its content (never by its name).
//!
//! ## Who sees which document
//!
//! Every document has an access level and may be flagged confidential.
//!
//! | viewer                                   | patient-visible | clinicians only | admin only |
//! |------------------------------------------|-----------------|-----------------|------------|
//! | administrator                            | yes             | yes             | yes        |
//! | staff (reception, billing)               | yes             | no              | yes        |
//! | provider treating the patient            | yes             | yes             | no         |
//! | provider not treating the patient        | no              | no              | no         |
//! | the patient (or a guardian acting for them) | yes          | no              | no         |
//! | any other patient                        | no              | no              | no         |
//!
//! *Confidential* narrows this further: a confidential document is seen only by
//! administrators and the providers treating the patient — never by staff and never by
//! the patient, whatever its level (so it can never be patient-visible).
//!
//! "Clinicians only" documents and every confidential document are clinical content;
//! "admin only" holds the clinic's paperwork (insurance cards, signed consent forms,
//! referral letters for the front desk); "patient-visible" are documents shared with
//! the patient (a letter, a care plan, an exercise sheet).
//!
//! ## Who uploads what
//!
//! Administrators upload at any level. Staff upload patient-visible and admin-only
//! documents, never confidential ones. Providers treating the patient upload
//! patient-visible and clinicians-only documents (confidential or not). Patients do not
//! upload in this version.

use serde::{Deserialize, Serialize};

/// Who may see a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    /// Shared with the patient (and seen by staff and the treating providers).
    PatientVisible,
    /// Clinical: administrators and the treating providers.
    CliniciansOnly,
    /// The clinic's paperwork: administrators and staff.
    AdminOnly,
}

impl AccessLevel {
    /// Every level, in the order pages offer them.
    pub const ALL: [AccessLevel; 3] =
        [AccessLevel::CliniciansOnly, AccessLevel::PatientVisible, AccessLevel::AdminOnly];

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::PatientVisible => "patient_visible",
            AccessLevel::CliniciansOnly => "clinicians_only",
            AccessLevel::AdminOnly => "admin_only",
        }
    }

    /// The level in words.
    pub fn label(self) -> &'static str {
        match self {
            AccessLevel::PatientVisible => "Shared with the patient",
            AccessLevel::CliniciansOnly => "Clinicians only",
            AccessLevel::AdminOnly => "Administration only",
        }
    }

    /// From the stored code.
    pub fn parse(s: &str) -> Option<Self> {
        AccessLevel::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// How the acting person stands towards the patient whose document it is. A person with
/// several roles holds several standings; a document is visible when any one allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Standing {
    /// An administrator.
    Admin,
    /// Reception or billing staff.
    Staff,
    /// A provider who treats this patient.
    TreatingProvider,
    /// A provider who does not treat this patient.
    OtherProvider,
    /// The patient, or a guardian acting for them.
    OwnPatient,
    /// Someone else's patient account.
    OtherPatient,
}

/// Whether someone of `standing` may see a document of `level`.
pub fn may_see(standing: Standing, level: AccessLevel, confidential: bool) -> bool {
    use AccessLevel::*;
    use Standing::*;
    if confidential {
        return matches!(standing, Admin | TreatingProvider);
    }
    match (standing, level) {
        (Admin, _) => true,
        (Staff, PatientVisible | AdminOnly) => true,
        (TreatingProvider, PatientVisible | CliniciansOnly) => true,
        (OwnPatient, PatientVisible) => true,
        _ => false,
    }
}

/// Whether someone of `standing` may upload (or re-file) a document at `level`.
pub fn may_upload(standing: Standing, level: AccessLevel, confidential: bool) -> bool {
    use AccessLevel::*;
    use Standing::*;
    if confidential && level == PatientVisible {
        return false;
    }
    match standing {
        Admin => true,
        Staff => !confidential && matches!(level, PatientVisible | AdminOnly),
        TreatingProvider => matches!(level, PatientVisible | CliniciansOnly),
        OtherProvider | OwnPatient | OtherPatient => false,
    }
}

/// Whether a document of `level` is clinical content (its reads are audited as such
/// and staff never see it).
pub fn is_clinical(level: AccessLevel, confidential: bool) -> bool {
    confidential || level == AccessLevel::CliniciansOnly
}

/// What a document is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A report (clinical, discharge, school).
    Report,
    /// A prescription.
    Prescription,
    /// A referral letter.
    Referral,
    /// Insurance card or claim.
    Insurance,
    /// A laboratory or test result.
    LabResult,
    /// A photo or scan.
    Image,
    /// A recording.
    Recording,
    /// A letter.
    Letter,
    /// A signed consent.
    Consent,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in the order pages offer them.
    pub const ALL: [Category; 10] = [
        Category::Report,
        Category::Prescription,
        Category::Referral,
        Category::LabResult,
        Category::Image,
        Category::Recording,
        Category::Letter,
        Category::Insurance,
        Category::Consent,
        Category::Other,
    ];

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Report => "report",
            Category::Prescription => "prescription",
            Category::Referral => "referral",
            Category::Insurance => "insurance",
            Category::LabResult => "lab_result",
            Category::Image => "image",
            Category::Recording => "recording",
            Category::Letter => "letter",
            Category::Consent => "consent",
            Category::Other => "other",
        }
    }

    /// The category in words.
    pub fn label(self) -> &'static str {
        match self {
            Category::Report => "Report",
            Category::Prescription => "Prescription",
            Category::Referral => "Referral",
            Category::Insurance => "Insurance",
            Category::LabResult => "Test result",
            Category::Image => "Image",
            Category::Recording => "Recording",
            Category::Letter => "Letter",
            Category::Consent => "Consent",
            Category::Other => "Other",
        }
    }

    /// From the stored code.
    pub fn parse(s: &str) -> Option<Self> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A file type Praxis accepts, recognised from the first bytes of the content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// PDF.
    Pdf,
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// GIF image.
    Gif,
    /// WebP image.
    Webp,
    /// Word document (Office Open XML).
    Docx,
    /// MP3 audio.
    Mp3,
    /// WAV audio.
    Wav,
    /// MP4 video or M4A audio.
    Mp4,
    /// Plain UTF-8 text.
    Text,
}

impl FileKind {
    /// The media type sent with the file.
    pub fn media_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Gif => "image/gif",
            FileKind::Webp => "image/webp",
            FileKind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            FileKind::Mp3 => "audio/mpeg",
            FileKind::Wav => "audio/wav",
            FileKind::Mp4 => "video/mp4",
            FileKind::Text => "text/plain; charset=utf-8",
        }
    }

    /// The usual file-name extension.
    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Pdf => "pdf",
            FileKind::Png => "png",
            FileKind::Jpeg => "jpg",
            FileKind::Gif => "gif",
            FileKind::Webp => "webp",
            FileKind::Docx => "docx",
            FileKind::Mp3 => "mp3",
            FileKind::Wav => "wav",
            FileKind::Mp4 => "mp4",
            FileKind::Text => "txt",
        }
    }

    /// The kind in words.
    pub fn label(self) -> &'static str {
        match self {
            FileKind::Pdf => "PDF",
            FileKind::Png => "PNG image",
            FileKind::Jpeg => "JPEG image",
            FileKind::Gif => "GIF image",
            FileKind::Webp => "WebP image",
            FileKind::Docx => "Word document",
            FileKind::Mp3 => "MP3 audio",
            FileKind::Wav => "WAV audio",
            FileKind::Mp4 => "MP4 video",
            FileKind::Text => "text",
        }
    }

    /// The kind a file-name extension claims, if it is one we know.
    pub fn of_extension(name: &str) -> Option<FileKind> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "pdf" => FileKind::Pdf,
            "png" => FileKind::Png,
            "jpg" | "jpeg" => FileKind::Jpeg,
            "gif" => FileKind::Gif,
            "webp" => FileKind::Webp,
            "docx" => FileKind::Docx,
            "mp3" => FileKind::Mp3,
            "wav" => FileKind::Wav,
            "mp4" | "m4a" => FileKind::Mp4,
            "txt" | "text" | "md" | "csv" => FileKind::Text,
            _ => return None,
        })
    }
}

/// The list of accepted kinds, for messages.
pub const ACCEPTED: &str = "PDF, PNG, JPEG, GIF, WebP, Word (.docx), MP3, WAV, MP4 or plain text";

/// What the first bytes of a file say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    /// An accepted kind.
    Accepted(FileKind),
    /// A kind refused because it can run or render active content; the words say what.
    Dangerous(&'static str),
    /// Nothing we accept.
    Unknown,
}

/// Recognises a file from its first bytes (`head`, ideally the first 64 KiB; `complete`
/// when `head` is the whole file). Pure magic numbers: the name plays no part.
pub fn sniff(head: &[u8], complete: bool) -> Sniffed {
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(b"%PDF-") {
        return Sniffed::Accepted(FileKind::Pdf);
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Sniffed::Accepted(FileKind::Png);
    }
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Accepted(FileKind::Jpeg);
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Sniffed::Accepted(FileKind::Gif);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Sniffed::Accepted(FileKind::Webp);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WAVE" {
        return Sniffed::Accepted(FileKind::Wav);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return Sniffed::Accepted(FileKind::Mp4);
    }
    if starts(b"ID3") || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0) {
        return Sniffed::Accepted(FileKind::Mp3);
    }
    if starts(b"MZ")
        || starts(b"\x7fELF")
        || starts(&[0xCF, 0xFA, 0xED, 0xFE])
        || starts(&[0xCA, 0xFE, 0xBA, 0xBE])
        || starts(b"#!")
    {
        return Sniffed::Dangerous("a program");
    }
    if starts(b"PK\x03\x04") {
        return if zip_is_docx(head) { Sniffed::Accepted(FileKind::Docx) } else { Sniffed::Unknown };
    }
    if looks_like_markup(head) {
        return Sniffed::Dangerous("a web page or script");
    }
    if is_plain_text(head, complete) {
        return Sniffed::Accepted(FileKind::Text);
    }
    Sniffed::Unknown
}

/// A Word document is a zip whose entries include `[Content_Types].xml` and `word/…`
/// (the entry names sit in the local headers near the start of the file).
fn zip_is_docx(head: &[u8]) -> bool {
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    has(b"[Content_Types].xml") && has(b"word/")
}

fn looks_like_markup(head: &[u8]) -> bool {
    let text: String = String::from_utf8_lossy(&head[..head.len().min(1024)])
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    [
        "<!doctype",
        "<html",
        "<head",
        "<body",
        "<script",
        "<svg",
        "<?xml",
        "<iframe",
        "<object",
        "<!--",
        "<a ",
        "<img",
        "<div",
        "<meta",
        "<style",
    ]
    .iter()
    .any(|m| text.starts_with(m))
        || text.contains("<script")
}

fn is_plain_text(head: &[u8], complete: bool) -> bool {
    if head.is_empty() {
        return complete;
    }
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let valid = match std::str::from_utf8(body) {
        Ok(s) => s,
        // A multi-byte character cut at the end of the head is fine if more follows.
        Err(e) if !complete && e.error_len().is_none() => match std::str::from_utf8(&body[..e.valid_up_to()]) {
            Ok(s) => s,
            Err(_) => return false,
        },
        Err(_) => return false,
    };
    valid.chars().all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_matrix_as_documented() {
        use AccessLevel::*;
        use Standing::*;
        let table = [
            (Admin, [true, true, true]),
            (Staff, [true, false, true]),
            (TreatingProvider, [true, true, false]),
            (OtherProvider, [false, false, false]),
            (OwnPatient, [true, false, false]),
            (OtherPatient, [false, false, false]),
        ];
        for (who, row) in table {
            for (level, expected) in [PatientVisible, CliniciansOnly, AdminOnly].into_iter().zip(row) {
                assert_eq!(may_see(who, level, false), expected, "{who:?} {level:?}");
                let confidential = matches!(who, Admin | TreatingProvider);
                assert_eq!(may_see(who, level, true), confidential, "{who:?} {level:?} confidential");
            }
        }
    }

    #[test]
    fn uploads_follow_what_one_may_see() {
        for who in [
            Standing::Admin,
            Standing::Staff,
            Standing::TreatingProvider,
            Standing::OtherProvider,
            Standing::OwnPatient,
        ] {
            for level in AccessLevel::ALL {
                for confidential in [false, true] {
                    if may_upload(who, level, confidential) {
                        assert!(may_see(who, level, confidential), "{who:?} could upload what they cannot see");
                    }
                }
            }
        }
        assert!(!may_upload(Standing::Admin, AccessLevel::PatientVisible, true), "confidential is never shared");
        assert!(!may_upload(Standing::Staff, AccessLevel::CliniciansOnly, false));
    }

    #[test]
    fn files_are_known_by_their_content() {
        assert_eq!(sniff(b"%PDF-1.7\n...", false), Sniffed::Accepted(FileKind::Pdf));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0", false), Sniffed::Accepted(FileKind::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0], false), Sniffed::Accepted(FileKind::Jpeg));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ", false), Sniffed::Accepted(FileKind::Webp));
        assert_eq!(sniff(b"MZ\x90\0\x03", false), Sniffed::Dangerous("a program"));
        assert_eq!(sniff(b"  <!DOCTYPE html><html>", true), Sniffed::Dangerous("a web page or script"));
        assert_eq!(
            sniff(b"Dear colleague,\n<script>alert(1)</script>", true),
            Sniffed::Dangerous("a web page or script")
        );
        assert_eq!(sniff("Blood pressure 120/80 — fine.\n".as_bytes(), true), Sniffed::Accepted(FileKind::Text));
        assert_eq!(
            sniff(b"PK\x03\x04....[Content_Types].xml....word/document.xml", false),
            Sniffed::Accepted(FileKind::Docx)
        );
        assert_eq!(sniff(b"PK\x03\x04....evil.exe", false), Sniffed::Unknown);
        assert_eq!(sniff(b"\0\x01\x02binary", true), Sniffed::Unknown);
        // A multi-byte character cut by the end of the head.
        let mut cut = "é".repeat(10).into_bytes();
        cut.pop();
        assert_eq!(sniff(&cut, false), Sniffed::Accepted(FileKind::Text));
        assert_eq!(sniff(&cut, true), Sniffed::Unknown);
        assert_eq!(FileKind::of_extension("scan.PDF"), Some(FileKind::Pdf));
        assert_eq!(FileKind::of_extension("noext"), None);
    }

    proptest! {
        /// Nothing a client sends makes sniffing panic, and no accepted text starts
        /// like markup.
        #[test]
        fn sniffing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), complete: bool) {
            if let Sniffed::Accepted(FileKind::Text) = sniff(&bytes, complete) {
                prop_assert!(!String::from_utf8_lossy(&bytes).to_ascii_lowercase().contains("<script"));
            }
        }
    }
}
