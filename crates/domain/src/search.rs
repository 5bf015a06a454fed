//! The one text normaliser behind patient search on both databases: lower case, accents
//! removed, punctuation turned into spaces, whitespace collapsed. "José  O'Brien" and
//! "jose obrien" meet at "jose o brien"; the trigram indexes (SQLite FTS5 `trigram`,
//! PostgreSQL `pg_trgm`) then match any part of it.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Folds text for searching.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        let c = match c {
            'ß' => 's',
            'æ' | 'Æ' => 'a',
            'ø' | 'Ø' => 'o',
            'đ' | 'Đ' => 'd',
            'ł' | 'Ł' => 'l',
            c => c,
        };
        if c.is_alphanumeric() || c == '@' {
            for l in c.to_lowercase() {
                out.push(l);
            }
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Just the digits (phone numbers are searched by their digits).
pub fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accents_case_and_punctuation_fold_away() {
        assert_eq!(normalise("José  O'Brien"), "jose o brien");
        assert_eq!(normalise("MÜLLER-Lüdenscheidt"), "muller ludenscheidt");
        assert_eq!(normalise("Ærøskøbing Straße"), "aroskobing strase");
        assert_eq!(normalise("  ada@example.org "), "ada@example org");
        assert_eq!(normalise("Ṣaṅkara"), "sankara");
        assert_eq!(digits("+61 (412) 345-678"), "61412345678");
    }

    proptest! {
        #[test]
        fn normalising_twice_changes_nothing(s in "\\PC{0,40}") {
            let once = normalise(&s);
            prop_assert_eq!(normalise(&once), once.clone());
            prop_assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
        }
    }
}
