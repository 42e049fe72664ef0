//! The table of hand-made invalid inputs: at least one per rule of the
//! canonical profile and of the schema (spec/wire.md §2 and §7), each with
//! the one error kind it must produce. `tests/tests/invalid_inputs.rs`
//! checks the table against the decoder, and the spec's
//! `vectors/wire/invalid.json` is this table written out.

use cbm_wire::limits::{Limits, MAX_FIELDS};
use cbm_wire::{
    AgreementHash, Bytes, CanonicalRule, DecodeError, Entry, EntryKind, Field, KeyId, Label, MediaType, SignatoryId,
    Signature, Signed, Timestamp, Topic, Wire,
};

use crate::cbor_writer::Cbor;

/// One invalid input and the error kind it must be rejected with.
pub struct InvalidInput {
    /// Short name, unique in the table.
    pub name: &'static str,
    /// The top-level type it is decoded as.
    pub object: &'static str,
    /// The input.
    pub bytes: Vec<u8>,
    /// The expected [`error_kind`].
    pub error: &'static str,
}

/// A stable name for the kind of a decode error: `"Canonical/UnsortedKeys"`,
/// `"UnknownField"`, ... (the detail fields are left out).
pub fn error_kind(error: &DecodeError) -> String {
    let debug = match error {
        DecodeError::Canonical { source, .. } => format!("Canonical/{:?}", source.rule),
        other => format!("{other:?}"),
    };
    debug.split([' ', '(', '{']).next().unwrap_or_default().to_owned()
}

const LOG: [u8; 32] = [0x11; 32];
const ROOT: [u8; 32] = [0x22; 32];
const SIG: [u8; 64] = [0x33; 64];

/// A checkpoint body {0: log, 1: 5, 2: root, 3: 1000}.
fn body() -> Cbor {
    Cbor::default().map(4).uint(0).bytes(&LOG).uint(1).uint(5).uint(2).bytes(&ROOT).uint(3).uint(1000)
}

/// A SignedCheckpoint {0: body, 1: key, 2: signature} with the given body.
fn signed(body: Cbor) -> Vec<u8> {
    Cbor::default().map(3).uint(0).raw(&body.0).uint(1).uint(0).uint(2).bytes(&SIG).0
}

/// The valid SignedCheckpoint every row of the table departs from.
pub fn valid_base() -> Vec<u8> {
    signed(body())
}

fn row(name: &'static str, bytes: Vec<u8>, error: &'static str) -> InvalidInput {
    InvalidInput { name, object: "SignedCheckpoint", bytes, error }
}

fn prefix_then(prefix: Cbor, rest: &[u8]) -> Vec<u8> {
    let mut bytes = prefix.0;
    bytes.extend_from_slice(rest);
    bytes
}

/// The table.
pub fn table() -> Vec<InvalidInput> {
    let head = || Cbor::default().map(3).uint(0).raw(&body().0).uint(1).uint(0).uint(2);
    let mut sig_array = head().array(64);
    for b in SIG {
        sig_array = sig_array.uint(u64::from(b));
    }
    let mut truncated = valid_base();
    truncated.pop();
    let mut trailing = valid_base();
    trailing.push(0);
    let mut deep = vec![0x81; 40];
    deep.push(0);
    let mut indefinite = vec![0xbf];
    indefinite.extend(&valid_base()[1..]);
    indefinite.push(0xff);
    let mut indefinite_bytes = head().0;
    indefinite_bytes.push(0x5f);
    indefinite_bytes.extend(Cbor::default().bytes(&SIG[..32]).bytes(&SIG[32..]).0);
    indefinite_bytes.push(0xff);
    let cosignature_utf8 = prefix_then(Cbor::default().map(3).uint(0).map(3).uint(0).head(3, 2), &[0xc3, 0x28]);
    let bad_id = Cbor::default().map(3).uint(0).text("not valid!").uint(1).raw(&body().0).uint(2).uint(7);

    vec![
        row(
            "non-minimal-integer",
            signed(
                Cbor::default()
                    .map(4)
                    .uint(0)
                    .bytes(&LOG)
                    .uint(1)
                    .raw(&[0x18, 5])
                    .uint(2)
                    .bytes(&ROOT)
                    .uint(3)
                    .uint(1000),
            ),
            "Canonical/NonMinimalHead",
        ),
        row("non-minimal-length", prefix_then(head().raw(&[0x59, 0x00, 0x40]), &SIG), "Canonical/NonMinimalHead"),
        row("indefinite-length-map", indefinite, "Canonical/IndefiniteLength"),
        row("indefinite-length-bytes", indefinite_bytes, "Canonical/IndefiniteLength"),
        row(
            "duplicate-key",
            Cbor::default().map(3).uint(0).raw(&body().0).uint(1).uint(0).uint(1).uint(0).0,
            "Canonical/DuplicateKey",
        ),
        row(
            "unsorted-keys",
            Cbor::default().map(3).uint(1).uint(0).uint(0).raw(&body().0).uint(2).bytes(&SIG).0,
            "Canonical/UnsortedKeys",
        ),
        row(
            "text-map-key",
            Cbor::default().map(3).text("body").raw(&body().0).uint(1).uint(0).uint(2).bytes(&SIG).0,
            "Canonical/MapKeyNotUnsigned",
        ),
        row("trailing-bytes", trailing, "Canonical/TrailingBytes"),
        row("truncated", truncated, "Canonical/Truncated"),
        row("empty", vec![], "Canonical/Truncated"),
        row(
            "float",
            signed(
                Cbor::default()
                    .map(4)
                    .uint(0)
                    .bytes(&LOG)
                    .uint(1)
                    .raw(&[0xf9, 0x45, 0x00])
                    .uint(2)
                    .bytes(&ROOT)
                    .uint(3)
                    .uint(1000),
            ),
            "Canonical/Float",
        ),
        row(
            "tag",
            signed(
                Cbor::default()
                    .map(4)
                    .uint(0)
                    .bytes(&LOG)
                    .uint(1)
                    .uint(5)
                    .uint(2)
                    .bytes(&ROOT)
                    .uint(3)
                    .raw(&[0xc1])
                    .uint(1000),
            ),
            "Canonical/Tag",
        ),
        row(
            "null",
            Cbor::default().map(3).uint(0).raw(&body().0).uint(1).raw(&[0xf6]).uint(2).bytes(&SIG).0,
            "Canonical/SimpleValue",
        ),
        row("two-byte-simple-value", vec![0xf8, 0x15], "Canonical/SimpleValue"),
        row("reserved-additional-info", vec![0x1c], "Canonical/ReservedAdditionalInfo"),
        InvalidInput {
            name: "invalid-utf8",
            object: "Cosignature",
            bytes: cosignature_utf8,
            error: "Canonical/InvalidUtf8",
        },
        row("too-deep", deep, "Canonical/TooDeep"),
        row("too-large", vec![0; Limits::ENTRY.max_bytes + 1], "Canonical/TooLarge"),
        row("length-over-limit", Cbor::default().array(1 << 32).0, "Canonical/LengthOverLimit"),
        row("length-past-end", prefix_then(Cbor::default().head(2, 1000), &[0x40]), "Canonical/Truncated"),
        row(
            "unknown-field",
            Cbor::default().map(4).uint(0).raw(&body().0).uint(1).uint(0).uint(2).bytes(&SIG).uint(3).uint(0).0,
            "UnknownField",
        ),
        InvalidInput {
            name: "unknown-variant",
            object: "Request",
            bytes: Cbor::default().uint(99).0,
            error: "UnknownField",
        },
        InvalidInput {
            name: "unknown-field-in-variant",
            object: "Request",
            bytes: Cbor::default().map(1).uint(0).map(2).uint(0).bytes(&LOG).uint(1).uint(0).0,
            error: "UnknownField",
        },
        row("missing-field", Cbor::default().map(2).uint(0).raw(&body().0).uint(1).uint(0).0, "MissingField"),
        row("signature-as-array", sig_array.0, "WrongType"),
        row(
            "hash-of-wrong-length",
            signed(
                Cbor::default()
                    .map(4)
                    .uint(0)
                    .bytes(&LOG)
                    .uint(1)
                    .uint(5)
                    .uint(2)
                    .bytes(&ROOT[..31])
                    .uint(3)
                    .uint(1000),
            ),
            "InvalidValue",
        ),
        row(
            "integer-out-of-range",
            Cbor::default().map(3).uint(0).raw(&body().0).uint(1).uint(1 << 40).uint(2).bytes(&SIG).0,
            "InvalidValue",
        ),
        InvalidInput { name: "identifier-syntax", object: "Cosignature", bytes: signed(bad_id), error: "InvalidValue" },
        row("struct-as-array", Cbor::default().array(3).raw(&body().0).uint(0).bytes(&SIG).0, "NotCanonicalValue"),
        InvalidInput { name: "too-many-fields", object: "SignedEntry", bytes: too_many_fields(), error: "OverLimit" },
    ]
}

fn too_many_fields() -> Vec<u8> {
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
        kind: EntryKind::Notification { topic: Topic::new("incident").expect("topic") },
        fields: vec![field; MAX_FIELDS + 1],
    };
    Signed { body: entry, key: KeyId(0), signature: Signature([0; 64]) }.encode()
}

/// The canonical rule named by an error kind, for the detailed checks.
pub fn rule_of(error: &DecodeError) -> Option<&CanonicalRule> {
    match error {
        DecodeError::Canonical { source, .. } => Some(&source.rule),
        _ => None,
    }
}
