//! decode(encode(x)) == x for every type, and encode(decode(b)) == b for
//! every accepted b.

use proptest::prelude::*;

use super::arb;
use crate::codec::{Wire, check_canonical, to_canonical};
use crate::*;

/// Properties of one top-level type.
fn roundtrip<T: Wire + PartialEq + std::fmt::Debug>(value: &T) -> Result<(), TestCaseError> {
    let bytes = value.encode();
    if let Err(e) = check_canonical(&bytes, &T::LIMITS) {
        return Err(TestCaseError::fail(format!("our encoder wrote non-canonical bytes: {e}")));
    }
    match value.check_limits(T::NAME) {
        Ok(()) => {
            let decoded = T::decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&decoded, value);
        }
        Err(expected) => prop_assert_eq!(T::decode(&bytes).err(), Some(expected)),
    }
    Ok(())
}

/// Any mutation of a valid encoding is either rejected, or accepted only
/// as the canonical encoding of the value it decodes to.
fn mutation<T: Wire + PartialEq + std::fmt::Debug>(
    value: &T,
    position: prop::sample::Index,
    kind: u8,
    byte: u8,
) -> Result<(), TestCaseError> {
    let mut bytes = value.encode();
    let at = position.index(bytes.len() + 1);
    match kind % 4 {
        0 if at < bytes.len() => bytes[at] ^= byte.max(1),
        1 => bytes.insert(at, byte),
        2 if at < bytes.len() => {
            bytes.remove(at);
        }
        _ => bytes.truncate(at),
    }
    if let Ok(decoded) = T::decode(&bytes) {
        prop_assert_eq!(decoded.encode(), bytes);
    }
    Ok(())
}

macro_rules! properties {
    ($($name:ident: $ty:ty),* $(,)?) => {
        $(
            mod $name {
                use super::*;
                proptest! {
                    #![proptest_config(ProptestConfig::with_cases(96))]
                    #[test]
                    fn decode_encode_is_identity(value in arb::<$ty>()) {
                        roundtrip(&value)?;
                    }

                    #[test]
                    fn accepted_mutations_are_canonical(
                        value in arb::<$ty>(),
                        position in any::<prop::sample::Index>(),
                        kind in any::<u8>(),
                        byte in any::<u8>(),
                    ) {
                        mutation(&value, position, kind, byte)?;
                    }

                    #[test]
                    fn random_bytes_accepted_only_if_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                        if let Ok(decoded) = <$ty>::decode(&bytes) {
                            prop_assert_eq!(decoded.encode(), bytes);
                        }
                    }
                }
            }
        )*
    };
}

properties! {
    signed_roster: SignedRoster,
    signed_entry: SignedEntry,
    opening: Opening,
    signed_checkpoint: SignedCheckpoint,
    cosignature: Cosignature,
    entry_proof: EntryProof,
    evidence: EquivocationEvidence,
    bundle_record: BundleRecord,
    request: Request,
    response: Response,
}

proptest! {
    #[test]
    fn human_forms_parse_back(hash in arb::<EntryHash>(), at in any::<u64>(), signatory in arb::<SignatoryId>()) {
        prop_assert_eq!(hash.to_string().parse::<EntryHash>().ok(), Some(hash));
        prop_assert_eq!(signatory.to_string().parse::<SignatoryId>().ok(), Some(signatory));
        // RFC 3339 is shown to the millisecond and up to year 9999.
        let at = Timestamp(at % 253_402_300_800_000);
        prop_assert_eq!(at.to_string().parse::<Timestamp>().ok(), Some(at));
    }

    #[test]
    fn json_form_roundtrips(value in arb::<SignedEntry>()) {
        let json = serde_json::to_string(&value).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: SignedEntry = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, value);
    }
}

proptest! {
    /// Reading a member in place (the reference: encoding it on its own)
    /// gives the same bytes, and an entry record yields its entry's.
    #[test]
    fn a_member_read_in_place_is_the_member_encoded(entry in arb::<SignedEntry>(), other in arb::<SignedCheckpoint>()) {
        let encoded = entry.encode();
        let (body, signature) = (to_canonical(&entry.body), to_canonical(&entry.signature));
        prop_assert_eq!(map_member(&encoded, 0, &Limits::FRAME), Some(body.as_slice()));
        prop_assert_eq!(map_member(&encoded, 2, &Limits::FRAME), Some(signature.as_slice()));
        prop_assert_eq!(map_member(&encoded, 3, &Limits::FRAME), None);
        let record = BundleRecord::Entry { entry: entry.clone() }.encode();
        prop_assert_eq!(BundleRecord::entry_encoding(&record), Some(encoded.as_slice()));
        let record = BundleRecord::Checkpoint { checkpoint: other }.encode();
        prop_assert_eq!(BundleRecord::entry_encoding(&record), None);
    }
}
