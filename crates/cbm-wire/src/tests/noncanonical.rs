//! One hand-made input per rule of spec/wire.md §2 and §7, each rejected with
//! its own error.

use super::Cbor;
use crate::codec::Wire;
use crate::error::{CanonicalRule, DecodeError};
use crate::limits::MAX_FIELDS;
use crate::*;

const LOG: [u8; 32] = [0x11; 32];
const ROOT: [u8; 32] = [0x22; 32];
const SIG: [u8; 64] = [0x33; 64];

/// The body of a checkpoint {0: log, 1: 5, 2: root, 3: 1000}, as a writer.
fn checkpoint_body() -> Cbor {
    Cbor::default()
        .map(4)
        .uint(0)
        .bytes(&LOG)
        .uint(1)
        .uint(5)
        .uint(2)
        .bytes(&ROOT)
        .uint(3)
        .uint(1000)
}

/// A valid SignedCheckpoint {0: body, 1: 0, 2: sig}.
fn valid() -> Vec<u8> {
    Cbor::default()
        .map(3)
        .uint(0)
        .raw(&checkpoint_body().0)
        .uint(1)
        .uint(0)
        .uint(2)
        .bytes(&SIG)
        .0
}

fn canonical_rule(bytes: &[u8]) -> CanonicalRule {
    match SignedCheckpoint::decode(bytes) {
        Err(DecodeError::Canonical { source, .. }) => source.rule,
        other => panic!("expected a canonical-form error, got {other:?}"),
    }
}

#[test]
fn the_valid_base_input_decodes() {
    let decoded = SignedCheckpoint::decode(&valid()).expect("valid");
    assert_eq!(decoded.body.size, 5);
    assert_eq!(decoded.encode(), valid());
}

#[test]
fn non_minimal_integer() {
    let body = Cbor::default()
        .map(4)
        .uint(0)
        .bytes(&LOG)
        .uint(1)
        .raw(&[0x18, 5])
        .uint(2)
        .bytes(&ROOT)
        .uint(3)
        .uint(1000);
    let input = Cbor::default()
        .map(3)
        .uint(0)
        .raw(&body.0)
        .uint(1)
        .uint(0)
        .uint(2)
        .bytes(&SIG)
        .0;
    assert_eq!(canonical_rule(&input), CanonicalRule::NonMinimalHead);
}

#[test]
fn non_minimal_length() {
    let mut input = Cbor::default()
        .map(3)
        .uint(0)
        .raw(&checkpoint_body().0)
        .uint(1)
        .uint(0)
        .uint(2)
        .0;
    input.extend([0x59, 0x00, 0x40]);
    input.extend(SIG);
    assert_eq!(canonical_rule(&input), CanonicalRule::NonMinimalHead);
}

#[test]
fn indefinite_length_map() {
    let mut input = vec![0xbf];
    input.extend(&valid()[1..]);
    input.push(0xff);
    assert_eq!(canonical_rule(&input), CanonicalRule::IndefiniteLength);
}

#[test]
fn indefinite_length_byte_string() {
    let mut input = Cbor::default()
        .map(3)
        .uint(0)
        .raw(&checkpoint_body().0)
        .uint(1)
        .uint(0)
        .uint(2)
        .0;
    input.push(0x5f);
    input.extend(Cbor::default().bytes(&SIG[..32]).bytes(&SIG[32..]).0);
    input.push(0xff);
    assert_eq!(canonical_rule(&input), CanonicalRule::IndefiniteLength);
}

#[test]
fn duplicate_key() {
    let input = Cbor::default()
        .map(3)
        .uint(0)
        .raw(&checkpoint_body().0)
        .uint(1)
        .uint(0)
        .uint(1)
        .uint(0)
        .0;
    assert_eq!(canonical_rule(&input), CanonicalRule::DuplicateKey { key: 1 });
}

#[test]
fn unsorted_keys() {
    let input = Cbor::default()
        .map(3)
        .uint(1)
        .uint(0)
        .uint(0)
        .raw(&checkpoint_body().0)
        .uint(2)
        .bytes(&SIG)
        .0;
    assert_eq!(canonical_rule(&input), CanonicalRule::UnsortedKeys { key: 0, after: 1 });
}

#[test]
fn text_map_key() {
    let input = Cbor::default()
        .map(3)
        .text("body")
        .raw(&checkpoint_body().0)
        .uint(1)
        .uint(0)
        .uint(2)
        .bytes(&SIG)
        .0;
    assert_eq!(canonical_rule(&input), CanonicalRule::MapKeyNotUnsigned);
}

#[test]
fn trailing_bytes() {
    let mut input = valid();
    input.push(0x00);
    assert_eq!(canonical_rule(&input), CanonicalRule::TrailingBytes);
}

#[test]
fn truncated() {
    let input = valid();
    assert_eq!(canonical_rule(&input[..input.len() - 1]), CanonicalRule::Truncated);
    assert_eq!(canonical_rule(&[]), CanonicalRule::Truncated);
}

#[test]
fn float() {
    let body = Cbor::default()
        .map(4)
        .uint(0)
        .bytes(&LOG)
        .uint(1)
        .raw(&[0xf9, 0x45, 0x00])
        .uint(2)
        .bytes(&ROOT)
        .uint(3)
        .uint(1000);
    let input = Cbor::default()
        .map(3)
        .uint(0)
        .raw(&body.0)
        .uint(1)
        .uint(0)
        .uint(2)
        .bytes(&SIG)
        .0;
    assert_eq!(canonical_rule(&input), CanonicalRule::Float);
}

#[test]
fn tag() {
    let body = Cbor::default()
        .map(4)
        .uint(0)
        .bytes(&LOG)
        .uint(1)
        .uint(5)
        .uint(2)
        .bytes(&ROOT)
        .uint(3)
        .raw(&[0xc1])
        .uint(1000);
    let input = Cbor::default()
        .map(3)
        .uint(0)
        .raw(&body.0)
        .uint(1)
        .uint(0)
        .uint(2)
        .bytes(&SIG)
        .0;
    assert_eq!(canonical_rule(&input), CanonicalRule::Tag);
}

#[test]
fn null() {
    let input = Cbor::default()
        .map(3)
        .uint(0)
        .raw(&checkpoint_body().0)
        .uint(1)
        .raw(&[0xf6])
        .uint(2)
        .bytes(&SIG)
        .0;
    assert_eq!(canonical_rule(&input), CanonicalRule::SimpleValue { value: 22 });
}

#[test]
fn reserved_additional_info() {
    assert_eq!(canonical_rule(&[0x1c]), CanonicalRule::ReservedAdditionalInfo);
}

#[test]
fn invalid_utf8() {
    // A signatory id inside a cosignature body.
    let mut input = Cbor::default().map(3).uint(0).map(3).uint(0).head(3, 2).0;
    input.extend([0xc3, 0x28]);
    assert_eq!(
        Cosignature::decode(&input).err().map(|e| match e {
            DecodeError::Canonical { source, .. } => source.rule,
            other => panic!("{other:?}"),
        }),
        Some(CanonicalRule::InvalidUtf8)
    );
}

#[test]
fn too_deep() {
    let mut input = vec![0x81; 40];
    input.push(0x00);
    assert_eq!(
        canonical_rule(&input),
        CanonicalRule::TooDeep {
            limit: Limits::ENTRY.max_depth as u64
        }
    );
}

#[test]
fn too_large() {
    let input = vec![0u8; Limits::ENTRY.max_bytes + 1];
    assert!(matches!(canonical_rule(&input), CanonicalRule::TooLarge { .. }));
}

#[test]
fn length_over_limit_is_caught_before_allocating() {
    // An array claiming 2^32 elements in a 9-byte input.
    let input = Cbor::default().array(1 << 32).0;
    assert_eq!(
        canonical_rule(&input),
        CanonicalRule::LengthOverLimit {
            len: 1 << 32,
            limit: Limits::ENTRY.max_collection_len as u64
        }
    );
    // A byte string claiming more bytes than the input holds.
    let input = Cbor::default().bytes(&[]).0;
    let mut claim = Cbor::default().head(2, 1000).0;
    claim.extend(&input);
    assert_eq!(canonical_rule(&claim), CanonicalRule::Truncated);
}

#[test]
fn unknown_field() {
    let input = Cbor::default()
        .map(4)
        .uint(0)
        .raw(&checkpoint_body().0)
        .uint(1)
        .uint(0)
        .uint(2)
        .bytes(&SIG)
        .uint(3)
        .uint(0)
        .0;
    let error = SignedCheckpoint::decode(&input).unwrap_err();
    assert!(matches!(error, DecodeError::UnknownField { .. }), "{error}");
}

#[test]
fn unknown_enum_variant() {
    let input = Cbor::default().uint(99).0;
    let error = Request::decode(&input).unwrap_err();
    assert!(matches!(error, DecodeError::UnknownField { .. }), "{error}");
}

#[test]
fn missing_field() {
    let input = Cbor::default()
        .map(2)
        .uint(0)
        .raw(&checkpoint_body().0)
        .uint(1)
        .uint(0)
        .0;
    let error = SignedCheckpoint::decode(&input).unwrap_err();
    assert!(
        matches!(&error, DecodeError::MissingField { detail, .. } if detail.contains("signature")),
        "{error}"
    );
}

#[test]
fn signature_as_array_is_wrong_type() {
    let mut input = Cbor::default()
        .map(3)
        .uint(0)
        .raw(&checkpoint_body().0)
        .uint(1)
        .uint(0)
        .uint(2)
        .array(64);
    for b in SIG {
        input = input.uint(u64::from(b));
    }
    let error = SignedCheckpoint::decode(&input.0).unwrap_err();
    assert!(
        matches!(&error, DecodeError::WrongType { path, .. } if path == "field 2"),
        "{error}"
    );
    assert!(error.to_string().contains("Ed25519 signature"), "{error}");
}

#[test]
fn hash_of_wrong_length_is_invalid_value() {
    let body = Cbor::default()
        .map(4)
        .uint(0)
        .bytes(&LOG)
        .uint(1)
        .uint(5)
        .uint(2)
        .bytes(&ROOT[..31])
        .uint(3)
        .uint(1000);
    let input = Cbor::default()
        .map(3)
        .uint(0)
        .raw(&body.0)
        .uint(1)
        .uint(0)
        .uint(2)
        .bytes(&SIG)
        .0;
    let error = SignedCheckpoint::decode(&input).unwrap_err();
    assert!(
        matches!(&error, DecodeError::InvalidValue { path, .. } if path == "field 0.2"),
        "{error}"
    );
}

#[test]
fn integer_out_of_range_is_invalid_value() {
    let input = Cbor::default()
        .map(3)
        .uint(0)
        .raw(&checkpoint_body().0)
        .uint(1)
        .uint(1 << 40)
        .uint(2)
        .bytes(&SIG)
        .0;
    let error = SignedCheckpoint::decode(&input).unwrap_err();
    assert!(
        matches!(&error, DecodeError::InvalidValue { path, .. } if path == "field 1"),
        "{error}"
    );
}

#[test]
fn identifier_syntax_is_checked() {
    let body = Cbor::default()
        .map(3)
        .uint(0)
        .text("not valid!")
        .uint(1)
        .raw(&checkpoint_body().0)
        .uint(2)
        .uint(7);
    let input = Cbor::default()
        .map(3)
        .uint(0)
        .raw(&body.0)
        .uint(1)
        .uint(0)
        .uint(2)
        .bytes(&SIG)
        .0;
    let error = Cosignature::decode(&input).unwrap_err();
    assert!(
        matches!(&error, DecodeError::InvalidValue { path, .. } if path == "field 0.0"),
        "{error}"
    );
    assert!(error.to_string().contains("signatory id"), "{error}");
}

#[test]
fn struct_as_array_is_not_the_canonical_encoding() {
    let input = Cbor::default().array(3).raw(&checkpoint_body().0).uint(0).bytes(&SIG).0;
    assert_eq!(
        SignedCheckpoint::decode(&input).unwrap_err(),
        DecodeError::NotCanonicalValue {
            object: "SignedCheckpoint"
        }
    );
}

#[test]
fn too_many_fields_names_the_field() {
    let field = Field::Plain {
        label: Label::new("x").expect("label"),
        media_type: MediaType::new("text/plain").expect("media type"),
        value: Bytes::default(),
    };
    let entry = Entry {
        agreement: AgreementHash([0; 32]),
        signatory: SignatoryId::new("AT").expect("id"),
        index: 0,
        issued_at: Timestamp(0),
        kind: EntryKind::Notification {
            topic: Topic::new("incident").expect("topic"),
        },
        fields: vec![field; MAX_FIELDS + 1],
    };
    let signed = Signed {
        body: entry,
        key: KeyId(0),
        signature: Signature([0; 64]),
    };
    assert_eq!(
        SignedEntry::decode(&signed.encode()).unwrap_err(),
        DecodeError::OverLimit {
            object: "SignedEntry",
            field: "Entry.fields",
            len: MAX_FIELDS + 1,
            limit: MAX_FIELDS
        }
    );
}

#[test]
fn every_error_says_what_and_where() {
    let input = Cbor::default()
        .map(3)
        .uint(1)
        .uint(0)
        .uint(0)
        .raw(&checkpoint_body().0)
        .uint(2)
        .bytes(&SIG)
        .0;
    let message = SignedCheckpoint::decode(&input).unwrap_err().to_string();
    assert_eq!(
        message,
        "SignedCheckpoint: not canonical CBOR at byte 3: map key 0 after key 1"
    );
}

#[test]
fn two_byte_simple_value() {
    // 0xf8 0x15 is `true` in the two-byte form RFC 8949 makes not well-formed.
    assert_eq!(canonical_rule(&[0xf8, 0x15]), CanonicalRule::SimpleValue { value: 21 });
}

#[test]
fn unknown_field_inside_an_enum_variant() {
    // Request::LatestCheckpoint { log } with an extra key 1.
    let input = Cbor::default()
        .map(1)
        .uint(0)
        .map(2)
        .uint(0)
        .bytes(&LOG)
        .uint(1)
        .uint(0)
        .0;
    let error = Request::decode(&input).unwrap_err();
    assert!(matches!(error, DecodeError::UnknownField { .. }), "{error}");
}
