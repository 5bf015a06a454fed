//! Ids of resources that are not rows. A `PractitionerRole` and its `Schedule` are a
//! provider at a clinic; a `Slot` is a provider's free time for a service at a clinic.
//! Their ids pack those record ids in base 64 over the 64 characters a FHIR id may use
//! (`A–Z a–z 0–9 - .`), so they decode without any lookup and stay within FHIR's 64
//! characters.

use base64::Engine;
use base64::alphabet::Alphabet;
use base64::engine::general_purpose::NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jiff::Timestamp;
use praxis_domain::{ClinicId, ProviderId, ServiceId};
use praxis_services::fhir::SlotRef;
use uuid::Uuid;

const ALPHABET: Alphabet = match Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.") {
    Ok(a) => a,
    Err(_) => panic!("the FHIR id alphabet has 64 distinct characters"),
};

const CONFIG: GeneralPurposeConfig = NO_PAD.with_decode_padding_mode(DecodePaddingMode::RequireNone);
const ENGINE: GeneralPurpose = GeneralPurpose::new(&ALPHABET, CONFIG);

/// The longest id FHIR allows.
pub const MAX_ID_LEN: usize = 64;

/// Whether `s` is a well-formed FHIR id.
pub fn is_fhir_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The id of the `PractitionerRole` and `Schedule` of a provider at a clinic.
pub fn role_id(provider: ProviderId, clinic: ClinicId) -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(provider.0.as_bytes());
    bytes[16..].copy_from_slice(clinic.0.as_bytes());
    ENGINE.encode(bytes)
}

/// The provider and clinic a role or schedule id names.
pub fn parse_role_id(id: &str) -> Option<(ProviderId, ClinicId)> {
    let bytes = ENGINE.decode(id).ok()?;
    if bytes.len() != 32 {
        return None;
    }
    Some((ProviderId(uuid_at(&bytes, 0)?), ClinicId(uuid_at(&bytes, 16)?)))
}

/// The id of a slot.
pub fn slot_id(r: &SlotRef) -> String {
    let mut bytes = [0u8; 43];
    bytes[..16].copy_from_slice(r.provider_id.0.as_bytes());
    bytes[16..32].copy_from_slice(r.service_id.0.as_bytes());
    bytes[32..38].copy_from_slice(&r.clinic_tail);
    let secs = u64::try_from(r.start.as_second()).unwrap_or(0).min((1 << 40) - 1);
    bytes[38..].copy_from_slice(&secs.to_be_bytes()[3..]);
    ENGINE.encode(bytes)
}

/// What a slot id names; `None` for anything this server did not give out.
pub fn parse_slot_id(id: &str) -> Option<SlotRef> {
    let bytes = ENGINE.decode(id).ok()?;
    if bytes.len() != 43 {
        return None;
    }
    let mut secs = [0u8; 8];
    secs[3..].copy_from_slice(&bytes[38..43]);
    let start = Timestamp::from_second(i64::try_from(u64::from_be_bytes(secs)).ok()?).ok()?;
    let mut clinic_tail = [0u8; 6];
    clinic_tail.copy_from_slice(&bytes[32..38]);
    Some(SlotRef {
        provider_id: ProviderId(uuid_at(&bytes, 0)?),
        service_id: ServiceId(uuid_at(&bytes, 16)?),
        clinic_tail,
        start,
    })
}

fn uuid_at(bytes: &[u8], at: usize) -> Option<Uuid> {
    Uuid::from_slice(bytes.get(at..at + 16)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn role_ids_are_fhir_ids_and_decode_to_what_they_encode(p in any::<u128>(), c in any::<u128>()) {
            let (p, c) = (ProviderId(Uuid::from_u128(p)), ClinicId(Uuid::from_u128(c)));
            let id = role_id(p, c);
            prop_assert!(is_fhir_id(&id), "{id}");
            prop_assert_eq!(parse_role_id(&id), Some((p, c)));
            prop_assert_eq!(parse_slot_id(&id), None);
        }

        #[test]
        fn slot_ids_are_fhir_ids_and_decode_to_what_they_encode(
            p in any::<u128>(), s in any::<u128>(), tail in any::<[u8; 6]>(), secs in 0i64..253_402_300_799,
        ) {
            let r = SlotRef {
                provider_id: ProviderId(Uuid::from_u128(p)),
                service_id: ServiceId(Uuid::from_u128(s)),
                clinic_tail: tail,
                start: Timestamp::from_second(secs).unwrap(),
            };
            let id = slot_id(&r);
            prop_assert!(is_fhir_id(&id), "{id}");
            prop_assert_eq!(parse_slot_id(&id), Some(r));
            prop_assert_eq!(parse_role_id(&id), None);
        }

        #[test]
        fn anything_else_decodes_to_nothing_without_panicking(s in "[A-Za-z0-9.\\-_/+=]{0,80}") {
            let _ = parse_slot_id(&s);
            let _ = parse_role_id(&s);
        }
    }

    #[test]
    fn a_changed_character_names_something_else_or_nothing() {
        let r = SlotRef {
            provider_id: ProviderId(Uuid::from_u128(7)),
            service_id: ServiceId(Uuid::from_u128(9)),
            clinic_tail: [1, 2, 3, 4, 5, 6],
            start: Timestamp::from_second(1_772_500_000).unwrap(),
        };
        let id = slot_id(&r);
        assert!(parse_slot_id(&format!("{id}A")).is_none(), "one character too many");
        assert!(parse_slot_id(&id[..id.len() - 1]).is_none(), "one character short");
        assert!(parse_slot_id(&id.replace('A', "_")).is_none(), "outside the alphabet");
    }
}
