//! spec/cbm.cddl describes what the code writes: every spec vector and a
//! property-test sample of every top-level type validate against the rule
//! for their type (with the `cddl` crate), and schema-breaking invalid
//! inputs do not. Every vector also validates with a second CDDL tool,
//! zcbor (from which C implementers generate decoders), pinned, in a
//! Python virtual environment the test makes on first use.

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

/// Every valid vector: its file, its type's rule and its bytes.
fn vectors() -> Vec<(std::path::PathBuf, &'static str, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/wire");
    let mut vectors = Vec::new();
    for entry in std::fs::read_dir(dir).expect("vectors") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|n| n == "invalid.json") {
            continue;
        }
        let vector: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let bytes = hex::decode(vector["cbor"].as_str().expect("cbor")).expect("hex");
        vectors.push((path, rule(vector["type"].as_str().expect("type")), bytes));
    }
    assert!(vectors.len() > 20);
    vectors
}

#[test]
fn every_vector_validates_against_its_rule() {
    for (path, rule, bytes) in vectors() {
        if let Err(e) = validate(rule, &bytes) {
            panic!("{}: {e}", path.display());
        }
    }
}

/// zcbor and what it needs, each at the version the spec is checked with.
const ZCBOR: [&str; 4] = ["zcbor==0.9.1", "cbor2==5.6.5", "PyYAML==6.0.2", "regex==2024.11.6"];

/// The zcbor command: `CBM_ZCBOR` if set, otherwise the one in a virtual
/// environment under the target directory, made on first use. Fails
/// loudly, saying what is missing, if it cannot be made.
fn zcbor() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("CBM_ZCBOR") {
        return path.into();
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    cbm_tests::python::venv(dir, "zcbor-0.9.1", &ZCBOR).join("bin").join("zcbor")
}

/// Validates `bytes` against `rule` with zcbor.
fn validate_with_zcbor(zcbor: &std::path::Path, rule: &str, bytes: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.cborhex");
    std::fs::write(&input, hex::encode(bytes)).expect("write");
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/cbm.cddl");
    let output = std::process::Command::new(zcbor)
        .arg("validate")
        .arg("-c")
        .arg(spec)
        .arg("-i")
        .arg(&input)
        .args(["-t", rule])
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", zcbor.display()));
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or_default().to_string())
    }
}

#[test]
fn every_vector_validates_with_zcbor_and_schema_breaking_inputs_do_not() {
    let zcbor = zcbor();
    for (path, rule, bytes) in vectors() {
        if let Err(e) = validate_with_zcbor(&zcbor, rule, &bytes) {
            panic!("{} does not validate with zcbor: {e}", path.display());
        }
    }
    for name in ["signature-as-array", "hash-of-wrong-length", "missing-field", "integer-out-of-range"] {
        let input = table().into_iter().find(|i| i.name == name).expect("row");
        let validated = validate_with_zcbor(&zcbor, rule(input.object), &input.bytes);
        assert!(validated.is_err(), "{name} validates with zcbor");
    }
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
