//! spec/cbm.cddl describes what the code writes: every spec vector and a
//! property-test sample of every top-level type validate against the rule
//! for their type (with the `cddl` crate), and schema-breaking invalid
//! inputs do not.

use cbm_tests::invalid::table;
use cbm_tests::with_wire_type;
use proptest::prelude::*;

const SPEC: &str = include_str!("../../spec/cbm.cddl");

/// The CDDL rule for each top-level type.
const RULES: [(&str, &str); 10] = [
    ("SignedRoster", "signed-roster"),
    ("SignedEntry", "signed-entry"),
    ("Opening", "opening"),
    ("SignedCheckpoint", "signed-checkpoint"),
    ("Cosignature", "cosignature"),
    ("EntryProof", "entry-proof"),
    ("EquivocationEvidence", "equivocation-evidence"),
    ("BundleRecord", "bundle-record"),
    ("Request", "request"),
    ("Response", "response"),
];

fn rule(object: &str) -> &'static str {
    RULES.iter().find(|(o, _)| *o == object).map(|(_, r)| *r).unwrap_or_else(|| panic!("no rule for {object}"))
}

/// Validates `bytes` against `rule`. The validator checks the first rule of
/// a document, so a one-line root rule is put in front of the spec.
fn validate(rule: &str, bytes: &[u8]) -> Result<(), String> {
    let document = format!("cbm-root = {rule}\n{SPEC}");
    cddl::validate_cbor_from_slice(&document, bytes, None).map_err(|e| e.to_string())
}

#[test]
fn every_vector_validates_against_its_rule() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/wire");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("vectors") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|n| n == "invalid.json") {
            continue;
        }
        let vector: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let bytes = hex::decode(vector["cbor"].as_str().expect("cbor")).expect("hex");
        let object = vector["type"].as_str().expect("type");
        if let Err(e) = validate(rule(object), &bytes) {
            panic!("{}: {e}", path.display());
        }
        checked += 1;
    }
    assert!(checked > 20);
}

#[test]
fn schema_breaking_inputs_do_not_validate() {
    for name in ["signature-as-array", "hash-of-wrong-length", "missing-field", "integer-out-of-range"] {
        let input = table().into_iter().find(|i| i.name == name).expect("row");
        assert!(validate(rule(input.object), &input.bytes).is_err(), "{name} validates against the CDDL");
    }
    // A valid object of one type is not a valid object of another.
    let checkpoint = cbm_wire::Wire::encode(&cbm_tests::samples::checkpoint(0xaa));
    assert_eq!(validate("signed-checkpoint", &checkpoint), Ok(()));
    for other in ["signed-entry", "cosignature", "opening", "signed-roster"] {
        assert!(validate(other, &checkpoint).is_err(), "a checkpoint validates as {other}");
    }
}

fn arbitrary_encoding(object: &str, data: &[u8]) -> Option<Vec<u8>> {
    use arbitrary::{Arbitrary, Unstructured};
    with_wire_type!(object, |T| {
        let value = T::arbitrary_take_rest(Unstructured::new(data)).ok()?;
        value.check_limits(T::NAME).ok()?;
        Some(value.encode())
    })
    .flatten()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn samples_of_every_type_validate(which in 0..RULES.len(), data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (object, rule) = RULES[which];
        if let Some(bytes) = arbitrary_encoding(object, &data)
            && let Err(e) = validate(rule, &bytes)
        {
            return Err(TestCaseError::fail(format!("{object}: {e}\n{}", hex::encode(&bytes))));
        }
    }
}
