//! Replays the committed fuzz corpus (fuzz/corpus/<target>/) and every
//! committed crash input (fuzz/regressions/<target>/) through the same checks
//! the fuzz targets run, on stable, under plain `cargo test`.
//!
//! `CBM_SEED_FUZZ_CORPUS=1 cargo test -p cbm-tests --test fuzz_corpus` adds
//! the spec vectors and the invalid-input table to the corpus as seeds.

use std::path::{Path, PathBuf};

use cbm_tests::fuzz::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn inputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read corpus file");
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_target_has_a_fuzz_binary_and_the_reverse() {
    let mut binaries: Vec<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .expect("fuzz_targets")
        .map(|e| e.expect("entry").path().file_stem().expect("stem").to_string_lossy().into_owned())
        .collect();
    binaries.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|t| t.name.to_owned()).collect();
    names.sort();
    assert_eq!(binaries, names);
}

#[test]
fn corpus_and_regressions_replay_cleanly() {
    if std::env::var_os("CBM_SEED_FUZZ_CORPUS").is_some() {
        seed();
    }
    let mut replayed = 0;
    for target in TARGETS {
        let corpus = inputs(&fuzz_dir().join("corpus").join(target.name));
        assert!(!corpus.is_empty(), "no corpus for {}", target.name);
        for (path, bytes) in corpus.iter().chain(&inputs(&fuzz_dir().join("regressions").join(target.name))) {
            let outcome = std::panic::catch_unwind(|| (target.check)(bytes));
            assert!(outcome.is_ok(), "{} fails on {}", target.name, path.display());
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} fuzz inputs");
}

/// Writes seeds: each vector's bytes to its type's decode target, and with a
/// selector byte to the differential and roundtrip targets.
fn seed() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/wire");
    let types = [
        "SignedRoster",
        "SignedEntry",
        "Opening",
        "SignedCheckpoint",
        "Cosignature",
        "EntryProof",
        "EquivocationEvidence",
        "BundleRecord",
        "Request",
        "Response",
    ];
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in std::fs::read_dir(&vectors).expect("vectors") {
        let path = entry.expect("entry").path();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let rows = match json {
            serde_json::Value::Array(rows) => rows,
            one => vec![one],
        };
        for row in rows {
            let object = row["type"].as_str().expect("type").to_owned();
            seeds.push((object, hex::decode(row["cbor"].as_str().expect("cbor")).expect("hex")));
        }
    }
    write_seed("audit_bundle", &sample_bundle());
    for (object, bytes) in seeds {
        let Some(index) = types.iter().position(|t| *t == object) else {
            continue;
        };
        let target = TARGETS[index].name;
        write_seed(target, &bytes);
        let mut selected = vec![u8::try_from(index).expect("few types")];
        selected.extend(&bytes);
        write_seed("differential", &selected);
        write_seed("roundtrip", &selected);
    }
}

/// A small valid bundle of the sample agreement: AT's log of three
/// entries under a checkpoint, cosigned by DE, and the sample opening.
fn sample_bundle() -> Vec<u8> {
    use cbm_wire::{BUNDLE_FORMAT_VERSION, BundleHeader, BundleRecord};
    let header =
        BundleHeader { format_version: BUNDLE_FORMAT_VERSION, created_at: cbm_tests::samples::EPOCH, public: false };
    let mut writer =
        cbm_log::bundle::BundleWriter::new(Vec::new(), header, cbm_tests::samples::signed_roster()).expect("write");
    let mut log = cbm_tests::logs::LogWriter::with_agreement("AT", 1, cbm_tests::samples::agreement(), "seed");
    let (entries, checkpoint) = log.batch(3);
    for entry in entries {
        writer.write(&BundleRecord::Entry { entry }).expect("write");
    }
    writer.write(&BundleRecord::Checkpoint { checkpoint }).expect("write");
    writer.finish().expect("finish")
}

fn write_seed(target: &str, bytes: &[u8]) {
    let dir = fuzz_dir().join("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("corpus dir");
    let name = blake3::hash(bytes).to_hex()[..16].to_owned();
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
}
