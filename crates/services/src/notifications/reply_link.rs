//! The link in a reminder that lets a patient confirm or cancel without logging in:
//! `<key id>.<claim>.<tag>`, where the claim names one appointment, one patient and when
//! the link stops working, and the tag is a 128-bit HMAC-SHA256 under a key derived from
//! the key ring (so every instance can check it, and nothing is stored per link). The
//! link does one thing — answer that reminder — and reaches nothing else.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{KeyInit, Mac};
use uuid::Uuid;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Bytes of the tag kept in the link.
const TAG_BYTES: usize = 16;

/// What a reply link allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyClaim {
    /// The appointment.
    pub appointment: Uuid,
    /// The patient the reminder went to.
    pub patient: Uuid,
    /// Unix seconds after which the link no longer works (the appointment's start).
    pub expires: i64,
}

/// The key for reply links, derived from a key-ring key (never the key itself, so a
/// leaked link key opens no sealed data).
fn link_key(master: &[u8; 32]) -> HmacSha256 {
    let mut derive =
        HmacSha256::new_from_slice(master).unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
    derive.update(b"praxis reply link v1");
    let key = derive.finalize().into_bytes();
    HmacSha256::new_from_slice(&key).unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()))
}

fn encode_claim(c: &ReplyClaim) -> String {
    let mut bytes = Vec::with_capacity(40);
    bytes.extend_from_slice(c.appointment.as_bytes());
    bytes.extend_from_slice(c.patient.as_bytes());
    bytes.extend_from_slice(&c.expires.to_be_bytes());
    B64.encode(bytes)
}

/// The link token for `claim`, under key `kid`.
pub fn sign(kid: &str, master: &[u8; 32], claim: &ReplyClaim) -> String {
    let signed = format!("{kid}.{}", encode_claim(claim));
    let mut mac = link_key(master);
    mac.update(signed.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("{signed}.{}", B64.encode(&tag[..TAG_BYTES]))
}

/// The key id a token names, if it has the shape of one.
pub fn key_id(token: &str) -> Option<&str> {
    let kid = token.split('.').next()?;
    (!kid.is_empty() && kid.len() <= 40 && kid.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(kid)
}

/// The claim of `token` if its tag is right under `master` (constant-time check);
/// `None` for anything altered, truncated or made up. Expiry is the caller's to check.
pub fn verify(token: &str, master: &[u8; 32]) -> Option<ReplyClaim> {
    if token.len() > 200 {
        return None;
    }
    let (signed, tag) = token.rsplit_once('.')?;
    let (_, claim) = signed.split_once('.')?;
    let tag = B64.decode(tag).ok()?;
    if tag.len() != TAG_BYTES {
        return None;
    }
    let mut mac = link_key(master);
    mac.update(signed.as_bytes());
    mac.verify_truncated_left(&tag).ok()?;
    let bytes = B64.decode(claim).ok()?;
    if bytes.len() != 40 {
        return None;
    }
    let appointment = Uuid::from_slice(&bytes[..16]).ok()?;
    let patient = Uuid::from_slice(&bytes[16..32]).ok()?;
    let expires = i64::from_be_bytes(bytes[32..40].try_into().ok()?);
    Some(ReplyClaim { appointment, patient, expires })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn claim() -> ReplyClaim {
        ReplyClaim { appointment: Uuid::now_v7(), patient: Uuid::now_v7(), expires: 1_800_000_000 }
    }

    #[test]
    fn a_link_reads_back_only_under_its_own_key() {
        let c = claim();
        let token = sign("k1a2b3c", &[7; 32], &c);
        assert_eq!(key_id(&token), Some("k1a2b3c"));
        assert_eq!(verify(&token, &[7; 32]), Some(c));
        assert_eq!(verify(&token, &[8; 32]), None, "another key");
        assert!(token.len() < 90, "short enough for an SMS: {}", token.len());
    }

    #[test]
    fn a_link_made_for_another_appointment_or_patient_does_not_pass() {
        let c = claim();
        let token = sign("k1", &[7; 32], &c);
        let other = sign("k1", &[7; 32], &ReplyClaim { patient: Uuid::now_v7(), ..c });
        // The other link's claim with this link's tag.
        let (_, other_claim, _) = {
            let mut p = other.split('.');
            (p.next().unwrap(), p.next().unwrap(), p.next().unwrap())
        };
        let tag = token.rsplit('.').next().unwrap();
        assert_eq!(verify(&format!("k1.{other_claim}.{tag}"), &[7; 32]), None);
        for bad in ["", "k1", "k1..", "k1.AAAA.BBBB", &token[..token.len() - 2], &format!("{token}x")] {
            assert_eq!(verify(bad, &[7; 32]), None, "{bad}");
        }
        assert_eq!(key_id("../etc.x.y"), None);
    }

    proptest! {
        #[test]
        fn any_changed_character_breaks_the_link(pos in 0usize..80, with in proptest::char::range('-', 'z')) {
            let token = sign("k1abc", &[3; 32], &claim());
            let pos = pos % token.len();
            let mut chars: Vec<char> = token.chars().collect();
            prop_assume!(chars[pos] != with);
            chars[pos] = with;
            let changed: String = chars.into_iter().collect();
            // Base64 without padding can hold a changed last character's unused bits;
            // whatever decodes must still be the same claim, never another one.
            if let Some(c) = verify(&changed, &[3; 32]) {
                prop_assert_eq!(Some(c), verify(&token, &[3; 32]));
            }
        }
    }
}
