//! Every hand-made invalid input is rejected with its own error kind, and the
//! error says what was being decoded.

use cbm_tests::decode_named;
use cbm_tests::invalid::{error_kind, table, valid_base};
use cbm_wire::{CanonicalRule, SignedCheckpoint, Wire};

#[test]
fn the_base_input_is_valid() {
    let bytes = valid_base();
    let decoded = SignedCheckpoint::decode(&bytes).expect("valid base");
    assert_eq!(decoded.encode(), bytes);
}

#[test]
fn every_invalid_input_fails_with_its_own_error() {
    for input in table() {
        let result = decode_named(input.object, &input.bytes).expect("known type");
        let error = result.expect_err(input.name);
        assert_eq!(error_kind(&error), input.error, "{}: {error}", input.name);
        assert!(error.to_string().starts_with(input.object), "{}: {error}", input.name);
    }
}

#[test]
fn the_table_covers_every_rule() {
    let kinds: std::collections::BTreeSet<String> = table().iter().map(|i| i.error.to_owned()).collect();
    for kind in [
        "Canonical/NonMinimalHead",
        "Canonical/IndefiniteLength",
        "Canonical/DuplicateKey",
        "Canonical/UnsortedKeys",
        "Canonical/MapKeyNotUnsigned",
        "Canonical/TrailingBytes",
        "Canonical/Truncated",
        "Canonical/Float",
        "Canonical/Tag",
        "Canonical/SimpleValue",
        "Canonical/ReservedAdditionalInfo",
        "Canonical/InvalidUtf8",
        "Canonical/TooDeep",
        "Canonical/TooLarge",
        "Canonical/LengthOverLimit",
        "UnknownField",
        "MissingField",
        "WrongType",
        "InvalidValue",
        "NotCanonicalValue",
        "OverLimit",
    ] {
        assert!(kinds.contains(kind), "no invalid input for {kind}");
    }
}

#[test]
fn errors_name_the_place() {
    let by_name = |name: &str| table().into_iter().find(|i| i.name == name).expect("row").bytes;
    let message = |name: &str| SignedCheckpoint::decode(&by_name(name)).expect_err(name).to_string();
    assert_eq!(message("unsorted-keys"), "SignedCheckpoint: not canonical CBOR at byte 3: map key 0 after key 1");
    assert!(message("signature-as-array").contains("field 2"), "{}", message("signature-as-array"));
    assert!(message("signature-as-array").contains("Ed25519 signature"));
    assert!(message("hash-of-wrong-length").contains("field 0.2"));
    assert!(message("missing-field").contains("signature"));
    let rule =
        cbm_tests::invalid::rule_of(&SignedCheckpoint::decode(&by_name("length-over-limit")).expect_err("over limit"))
            .cloned();
    assert_eq!(rule, Some(CanonicalRule::LengthOverLimit { len: 1 << 32, limit: 1024 }));
}

#[test]
fn an_entry_nested_in_a_bundle_record_is_held_to_the_entry_size_limit() {
    use cbm_wire::{BundleRecord, Bytes, DecodeError, Field, Label, MediaType};
    let mut entry = cbm_tests::samples::declaration();
    let big = Field::Plain {
        label: Label::new("blob").expect("label"),
        media_type: MediaType::new("application/octet-stream").expect("media type"),
        value: Bytes(vec![0; 400_000]),
    };
    entry.body.fields = vec![big.clone(), big.clone(), big];
    let record = BundleRecord::Entry { entry };
    let error = BundleRecord::decode(&record.encode()).expect_err("over 1 MiB");
    assert!(matches!(error, DecodeError::OverLimit { field: "SignedEntry (encoded bytes)", .. }), "{error}");
}
