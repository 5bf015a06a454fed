//! Two-factor login: time-based one-time passwords (TOTP, RFC 6238 over HOTP, RFC 4226)
//! as authenticator apps compute them — HMAC-SHA1, 6 digits, 30-second steps — the
//! `otpauth://` address their QR code carries, and one-time recovery codes.
//!
//! Pure: the caller draws the random bytes and reads the clock.

use crate::uri::percent_encode;
use crate::{Role, Roles};
use hmac::{KeyInit, Mac};

type HmacSha1 = hmac::Hmac<sha1::Sha1>;

/// Seconds per time step (what every authenticator app uses).
pub const STEP_SECS: i64 = 30;

/// Digits per code.
pub const DIGITS: u32 = 6;

/// Bytes of a secret: 160 bits, the length RFC 4226 recommends for HMAC-SHA1.
pub const SECRET_BYTES: usize = 20;

/// Recovery codes given at enrolment (and each time they are made anew).
pub const RECOVERY_CODES: usize = 10;

/// Characters of a recovery code (without its dashes): 16 from a 32-letter alphabet is
/// 80 random bits, so a fast hash of it is safe to store.
pub const RECOVERY_CODE_LEN: usize = 16;

/// The RFC 4648 base32 alphabet, which authenticator apps expect for the manual key.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Recovery codes use Crockford's alphabet: no I, L, O or U, so nothing is misread.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// RFC 4648 base32 without padding (the form authenticator apps take).
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32, ignoring case, spaces, dashes and `=` padding; `None` for any other
/// character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !matches!(c, ' ' | '-' | '=')) {
        let c = c.to_ascii_uppercase() as u8;
        let v = BASE32.iter().position(|&a| a == c)? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The manual-entry form of a secret: base32 in groups of four, easier to type.
pub fn grouped_key(secret: &[u8]) -> String {
    let b32 = base32_encode(secret);
    b32.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

/// The time step an instant (Unix seconds) falls in.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The HOTP value (RFC 4226) of `secret` for counter `step`, as `DIGITS` digits.
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    let mut mac = HmacSha1::new_from_slice(secret).unwrap_or_else(|_| <HmacSha1 as KeyInit>::new(&Default::default()));
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary =
        u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    binary % 10u32.pow(DIGITS)
}

/// A code as people see it: zero-padded to `DIGITS` digits.
pub fn format_code(code: u32) -> String {
    format!("{code:0width$}", width = DIGITS as usize)
}

/// The digits of what someone typed as a code (spaces allowed: apps show `123 456`);
/// `None` unless it is exactly `DIGITS` digits.
pub fn parse_code(input: &str) -> Option<u32> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS as usize || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Checks a typed code against the current step and the one before and after (so a
/// clock 30 s off, or a code typed as it changes, still works). Returns the step it
/// matched, which must be later than `last_used_step`: each code works once, and no
/// code older than one already used works.
pub fn verify(secret: &[u8], code: u32, now_step: i64, last_used_step: i64) -> Option<i64> {
    let mut matched = None;
    // Every candidate is computed and compared, whichever matches, so the time taken
    // does not tell which step it was.
    for step in [now_step - 1, now_step, now_step + 1] {
        let same = code_at(secret, step) == code;
        if same && step > last_used_step && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// The `otpauth://totp/…` address an authenticator app reads from the QR code
/// (Google's key-URI format: issuer and account in the label and as a parameter).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        percent_encode(issuer),
        percent_encode(account),
        base32_encode(secret),
        percent_encode(issuer),
    )
}

/// A recovery code from `RECOVERY_CODE_LEN` random bytes (each picks one letter), shown
/// as `XXXX-XXXX-XXXX-XXXX`.
pub fn recovery_code(random: &[u8; RECOVERY_CODE_LEN]) -> String {
    let letters: Vec<u8> = random.iter().map(|b| RECOVERY_ALPHABET[usize::from(b & 31)]).collect();
    letters.chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

/// The canonical form of a typed recovery code (what is hashed): upper case, without
/// dashes or spaces, with the look-alikes Crockford allows read as what they mean
/// (`O` → 0, `I`/`L` → 1). `None` when it cannot be one.
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    let mut out = String::with_capacity(RECOVERY_CODE_LEN);
    for c in input.chars().filter(|c| !c.is_whitespace() && *c != '-') {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !RECOVERY_ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == RECOVERY_CODE_LEN).then_some(out)
}

/// What a typed second factor is: a code from the app, or a recovery code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecondFactorInput {
    /// Six digits from the authenticator app.
    Code(u32),
    /// A recovery code, in canonical form.
    Recovery(String),
}

/// Reads what someone typed in the one field that takes either.
pub fn parse_second_factor(input: &str) -> Option<SecondFactorInput> {
    parse_code(input)
        .map(SecondFactorInput::Code)
        .or_else(|| normalize_recovery_code(input).map(SecondFactorInput::Recovery))
}

/// Which roles must log in with a second factor (set by an administrator). A user
/// holding any of them must enrol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecondFactorPolicy {
    /// The roles that must.
    pub required: Roles,
}

impl SecondFactorPolicy {
    /// Parses the stored list (`admin,staff`); empty means nobody must.
    pub fn parse(stored: &str) -> Result<Self, String> {
        let roles: Result<Vec<Role>, String> =
            stored.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::parse::<Role>).collect();
        Ok(Self { required: Roles::of(&roles?) })
    }

    /// True when a user with `roles` must use a second factor.
    pub fn requires(self, roles: Roles) -> bool {
        roles.iter().any(|r| self.required.has(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6238 appendix B, SHA-1 column: the 8-digit values, of which a 6-digit code
    /// is the last six digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (t, eight) in [
            (59, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(code_at(secret, step_at(t)), eight % 1_000_000, "T = {t}");
        }
    }

    #[test]
    fn rfc_4648_base32_vectors() {
        for (plain, encoded) in
            [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB")]
        {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(base32_decode("mzxw 6ytb-oi======").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(base32_decode("MZ1W"), None);
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_only_once() {
        let secret = [7u8; SECRET_BYTES];
        let now = 1_000_000;
        let code = code_at(&secret, now);
        assert_eq!(verify(&secret, code, now, 0), Some(now));
        assert_eq!(verify(&secret, code, now + 1, 0), Some(now), "30 s late");
        assert_eq!(verify(&secret, code, now - 1, 0), Some(now), "30 s early");
        assert_eq!(verify(&secret, code, now + 2, 0), None, "a minute late is too late");
        assert_eq!(verify(&secret, code, now, now), None, "the same code twice");
        let previous = code_at(&secret, now - 1);
        assert_eq!(verify(&secret, previous, now, now), None, "an older code after a newer one");
    }

    #[test]
    fn codes_are_read_with_spaces_and_refused_otherwise() {
        assert_eq!(parse_code("012 345"), Some(12345));
        assert_eq!(format_code(12345), "012345");
        for bad in ["12345", "1234567", "12a456", "", "１２３４５６"] {
            assert_eq!(parse_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_otpauth_address_names_issuer_account_and_secret() {
        let uri = otpauth_uri("Praxis Clinic", "anna@example.org", b"foobar");
        assert_eq!(
            uri,
            "otpauth://totp/Praxis%20Clinic:anna%40example.org?secret=MZXW6YTBOI&issuer=Praxis%20Clinic\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_read_back_however_they_are_typed() {
        let code = recovery_code(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 31]);
        assert_eq!(code, "0123-4567-89AB-CDEZ");
        assert_eq!(normalize_recovery_code("0123 4567 89ab cdez").as_deref(), Some("0123456789ABCDEZ"));
        assert_eq!(normalize_recovery_code("O123-4567-89AB-CDEZ").as_deref(), Some("0123456789ABCDEZ"));
        assert_eq!(normalize_recovery_code("0123-4567-89AB-CDE"), None);
        assert_eq!(normalize_recovery_code("0123-4567-89AB-CDEU"), None, "U is not in the alphabet");
        assert_eq!(parse_second_factor("123456"), Some(SecondFactorInput::Code(123456)));
        assert!(matches!(parse_second_factor(&code), Some(SecondFactorInput::Recovery(_))));
        assert_eq!(parse_second_factor("nonsense"), None);
    }

    #[test]
    fn the_policy_requires_users_holding_any_listed_role() {
        let p = SecondFactorPolicy::parse("admin,provider").unwrap();
        assert!(p.requires(Roles::of(&[Role::Provider])));
        assert!(p.requires(Roles::of(&[Role::Staff, Role::Admin])));
        assert!(!p.requires(Roles::of(&[Role::Staff])));
        assert!(!SecondFactorPolicy::parse("").unwrap().requires(Roles::of(&[Role::Admin])));
        assert!(SecondFactorPolicy::parse("admin,nurse").is_err());
    }

    proptest! {
        #[test]
        fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(base32_decode(&base32_encode(&bytes)), Some(bytes.clone()));
            prop_assert_eq!(base32_decode(&grouped_key(&bytes)), Some(bytes));
        }

        #[test]
        fn every_code_has_six_digits_and_verifies_at_its_step(
            secret in proptest::array::uniform20(any::<u8>()),
            step in 0i64..10_000_000_000,
        ) {
            let code = code_at(&secret, step);
            prop_assert!(code < 1_000_000);
            prop_assert_eq!(parse_code(&format_code(code)), Some(code));
            prop_assert_eq!(verify(&secret, code, step, step - 1), Some(step));
            prop_assert_eq!(verify(&secret, code, step, step), None);
        }

        #[test]
        fn recovery_codes_normalize_to_their_letters(random in proptest::array::uniform16(any::<u8>())) {
            let shown = recovery_code(&random);
            prop_assert_eq!(shown.len(), RECOVERY_CODE_LEN + 3);
            let canonical = normalize_recovery_code(&shown).unwrap();
            prop_assert_eq!(normalize_recovery_code(&shown.to_lowercase()), Some(canonical.clone()));
            prop_assert_eq!(canonical, shown.replace('-', ""));
        }
    }
}
