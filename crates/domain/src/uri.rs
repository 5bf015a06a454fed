//! Pieces of URIs that several payment and login links need.

/// Percent-encodes everything but RFC 3986's unreserved characters (for query values
/// and labels in `upi://` and `otpauth://` links).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_unreserved_characters_stay() {
        assert_eq!(super::percent_encode("Dr Ana & Co/ü~"), "Dr%20Ana%20%26%20Co%2F%C3%BC~");
    }
}
