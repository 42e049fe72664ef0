//! The spec's test vectors (spec/vectors/wire/), checked both ways:
//!
//! - generated from the code, they must equal the committed files byte for
//!   byte (so a behaviour change cannot land without its vectors);
//! - read from the files alone, every value decodes, re-encodes, hashes and
//!   verifies as the file says, and every single-bit flip of a signed vector
//!   fails decoding or verification.
//!
//! Regenerate after an intended change with
//! `CBM_REGENERATE_VECTORS=1 cargo test -p cbm-tests --test vectors`.

use std::path::{Path, PathBuf};

use cbm_tests::invalid::{error_kind, table};
use cbm_tests::{decode_named, samples, with_wire_type};
use cbm_wire::{
    AgreementHash, KeyId, PublicKey, Signable, Signature, Signed, SignedRoster, SigningKey, Wire, context,
    signing_message, verify_message,
};
use serde::{Deserialize, Serialize};

/// One valid vector file.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    name: String,
    #[serde(rename = "type")]
    object: String,
    value: serde_json::Value,
    cbor: String,
    blake3: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    signatures: Vec<SigningRecord>,
}

/// How one signature in a vector was made.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SigningRecord {
    seed: String,
    public_key: PublicKey,
    context: String,
    agreement: AgreementHash,
    key_id: u32,
    message: String,
    signature: Signature,
}

/// One row of invalid.json.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvalidVector {
    name: String,
    #[serde(rename = "type")]
    object: String,
    cbor: String,
    error: String,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/wire")
}

fn record(seed: [u8; 32], context: &str, agreement: AgreementHash, key_id: KeyId, message: Vec<u8>) -> SigningRecord {
    let key = SigningKey::from_bytes(&seed);
    SigningRecord {
        seed: hex::encode(seed),
        public_key: PublicKey::of(&key),
        context: context.to_owned(),
        agreement,
        key_id: key_id.0,
        signature: cbm_wire::sign_message(&key, &message),
        message: hex::encode(message),
    }
}

fn signed_record<T: Signable>(signed: &Signed<T>, seed: [u8; 32]) -> SigningRecord {
    let agreement = samples::agreement();
    let message = signing_message(T::CONTEXT, &agreement, signed.key, &signed.body);
    record(seed, T::CONTEXT, agreement, signed.key, message)
}

fn vector<T: Wire>(name: &str, value: &T, signatures: Vec<SigningRecord>) -> Vector {
    let bytes = value.encode();
    Vector {
        name: name.to_owned(),
        object: T::NAME.to_owned(),
        value: serde_json::to_value(value).expect("JSON form"),
        cbor: hex::encode(&bytes),
        blake3: blake3::hash(&bytes).to_hex().to_string(),
        signatures,
    }
}

/// Every vector, generated from the code.
fn generate() -> Vec<Vector> {
    let agreement = samples::agreement();
    let roster_vector = |name: &str, roster: &SignedRoster| {
        let hash = roster.roster.agreement_hash();
        let records = roster
            .signatures
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let message = signing_message(context::ROSTER, &hash, s.key, &roster.roster);
                record(samples::signing_seed(i), context::ROSTER, hash, s.key, message)
            })
            .collect();
        vector(name, roster, records)
    };
    let mut out = vec![
        roster_vector("signed-roster", &samples::signed_roster()),
        roster_vector("signed-roster-notices", &samples::adopted(samples::roster_with_notices())),
    ];
    for (name, entry) in samples::entries() {
        let mut records = vec![signed_record(&entry, samples::signing_seed(0))];
        if let cbm_wire::EntryKind::KeyRotation { new_key, .. } = &entry.body.kind {
            let message = new_key.possession_message(&agreement, &entry.body.signatory);
            records.push(record([0x11; 32], context::KEY_POSSESSION, agreement, new_key.id, message));
        }
        out.push(vector(&format!("signed-entry-{name}"), &entry, records));
    }
    out.push(vector("opening", &samples::opening(), vec![]));
    let checkpoint = samples::checkpoint(0xaa);
    out.push(vector("signed-checkpoint", &checkpoint, vec![signed_record(&checkpoint, samples::signing_seed(0))]));
    let cosignature = samples::cosignature();
    out.push(vector("cosignature", &cosignature, vec![signed_record(&cosignature, samples::signing_seed(1))]));
    out.push(vector("entry-proof", &samples::entry_proof(), vec![]));
    for (name, evidence) in samples::evidence() {
        out.push(vector(&format!("evidence-{name}"), &evidence, vec![]));
    }
    for (name, record) in samples::bundle_records() {
        out.push(vector(&format!("bundle-record-{name}"), &record, vec![]));
    }
    for (name, request) in samples::requests() {
        out.push(vector(&format!("request-{name}"), &request, vec![]));
    }
    for (name, response) in samples::responses() {
        out.push(vector(&format!("response-{name}"), &response, vec![]));
    }
    out
}

fn generate_invalid() -> Vec<InvalidVector> {
    table()
        .into_iter()
        // The over-size inputs are megabytes of zeros; the table test covers them.
        .filter(|i| i.bytes.len() <= 4096)
        .map(|i| InvalidVector {
            name: i.name.into(),
            object: i.object.into(),
            cbor: hex::encode(&i.bytes),
            error: i.error.into(),
        })
        .collect()
}

/// Writes every vector file (atomically, so tests reading them meanwhile see
/// whole files) and removes files no vector produces.
fn regenerate(vectors: &[Vector], invalid: &[InvalidVector]) {
    let dir = dir();
    std::fs::create_dir_all(&dir).expect("create vectors dir");
    let mut wanted = vec![("invalid.json".to_owned(), to_json(&invalid))];
    wanted.extend(vectors.iter().map(|v| (format!("{}.json", v.name), to_json(v))));
    for (name, text) in &wanted {
        let temporary = dir.join(format!(".{name}.tmp"));
        std::fs::write(&temporary, text).expect("write vector");
        std::fs::rename(&temporary, dir.join(name)).expect("replace vector");
    }
    for entry in std::fs::read_dir(&dir).expect("vectors dir") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if !wanted.iter().any(|(w, _)| *w == name) {
            std::fs::remove_file(&path).expect("remove stray vector");
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("JSON") + "\n"
}

#[test]
fn committed_vectors_match_the_code() {
    let vectors = generate();
    let invalid = generate_invalid();
    if std::env::var_os("CBM_REGENERATE_VECTORS").is_some() {
        regenerate(&vectors, &invalid);
    }
    for v in &vectors {
        let path = dir().join(format!("{}.json", v.name));
        let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(on_disk, to_json(v), "{} differs from the code; regenerate (see module docs)", path.display());
    }
    let on_disk = std::fs::read_to_string(dir().join("invalid.json")).expect("invalid.json");
    assert_eq!(on_disk, to_json(&invalid), "invalid.json differs from the code");
    let files = std::fs::read_dir(dir()).expect("vectors dir").count();
    assert_eq!(files, vectors.len() + 1, "stray files in spec/vectors/wire");
}

/// Reads every vector file and checks it using nothing but its own content.
fn read_vectors() -> Vec<Vector> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir()).expect("vectors dir") {
        let path = entry.expect("dir entry").path();
        if path.file_name().is_some_and(|n| n != "invalid.json") {
            let text = std::fs::read_to_string(&path).expect("read vector");
            out.push(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
        }
    }
    assert!(out.len() > 20, "too few vectors");
    out
}

fn check_signatures(records: &[SigningRecord]) {
    for r in records {
        let seed: [u8; 32] = hex::decode(&r.seed).expect("hex").try_into().expect("32 bytes");
        assert_eq!(PublicKey::of(&SigningKey::from_bytes(&seed)), r.public_key);
        let message = hex::decode(&r.message).expect("hex");
        let mut prefix = r.context.as_bytes().to_vec();
        prefix.push(0);
        prefix.extend(r.agreement.as_bytes());
        prefix.extend(r.key_id.to_be_bytes());
        assert!(message.starts_with(&prefix), "message does not start with context, agreement and key id");
        assert_eq!(verify_message("vector", &r.public_key, &message, &r.signature), Ok(()));
    }
}

/// Whether every signature inside `bytes` (decoded as `object`) verifies
/// under the keys of the vector's signing records.
fn signatures_verify(object: &str, bytes: &[u8], records: &[SigningRecord]) -> bool {
    let agreement = records[0].agreement;
    let public = records[0].public_key;
    match object {
        "SignedRoster" => SignedRoster::decode(bytes).is_ok_and(|r| {
            r.roster.agreement_hash() == agreement
                && r.signatures.len() == records.len()
                && r.signatures.iter().all(|s| r.roster.verify_adoption(s).is_ok())
                && r.roster.signatories.iter().zip(records).all(|(s, rec)| s.signing_keys[0].key == rec.public_key)
        }),
        "SignedEntry" => cbm_wire::SignedEntry::decode(bytes).is_ok_and(|e| {
            e.verify(&agreement, &public).is_ok()
                && match &e.body.kind {
                    cbm_wire::EntryKind::KeyRotation { new_key, possession } => verify_message(
                        "possession",
                        &new_key.key,
                        &new_key.possession_message(&agreement, &e.body.signatory),
                        possession,
                    )
                    .is_ok(),
                    _ => true,
                }
        }),
        "SignedCheckpoint" => {
            cbm_wire::SignedCheckpoint::decode(bytes).is_ok_and(|c| c.verify(&agreement, &public).is_ok())
        }
        "Cosignature" => cbm_wire::Cosignature::decode(bytes).is_ok_and(|c| c.verify(&agreement, &public).is_ok()),
        other => panic!("no signature check for {other}"),
    }
}

#[test]
fn every_vector_decodes_hashes_and_verifies_from_the_file_alone() {
    for v in read_vectors() {
        let bytes = hex::decode(&v.cbor).expect("hex");
        assert_eq!(blake3::hash(&bytes).to_hex().to_string(), v.blake3, "{}", v.name);
        let checked = with_wire_type!(v.object.as_str(), |T| {
            let decoded = T::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", v.name));
            let from_json: T = serde_json::from_value(v.value.clone()).unwrap_or_else(|e| panic!("{}: {e}", v.name));
            assert_eq!(decoded, from_json, "{}: CBOR and JSON forms differ", v.name);
            assert_eq!(decoded.encode(), bytes, "{}", v.name);
        });
        assert!(checked.is_some(), "{}: unknown type {}", v.name, v.object);
        if !v.signatures.is_empty() {
            check_signatures(&v.signatures);
            assert!(signatures_verify(&v.object, &bytes, &v.signatures), "{}", v.name);
        }
    }
}

#[test]
fn every_single_bit_flip_of_a_signed_vector_fails() {
    for v in read_vectors().into_iter().filter(|v| !v.signatures.is_empty()) {
        let bytes = hex::decode(&v.cbor).expect("hex");
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                !signatures_verify(&v.object, &flipped, &v.signatures),
                "{}: flipping bit {bit} still verifies",
                v.name
            );
        }
    }
}

#[test]
fn every_invalid_vector_is_rejected_with_its_error() {
    let text = std::fs::read_to_string(dir().join("invalid.json")).expect("invalid.json");
    let rows: Vec<InvalidVector> = serde_json::from_str(&text).expect("invalid.json parses");
    assert!(rows.len() >= 20);
    for row in rows {
        let bytes = hex::decode(&row.cbor).expect("hex");
        let error = decode_named(&row.object, &bytes).expect("known type").expect_err(&row.name);
        assert_eq!(error_kind(&error), row.error, "{}", row.name);
    }
}
