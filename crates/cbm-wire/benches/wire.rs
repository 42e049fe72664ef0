//! Codec and signature benchmarks for a signed entry of about 300 bytes.
//!
//! Each cbm operation is measured next to its physical limit in the same
//! run: strict decoding next to plain `serde_cbor::from_slice` of the same
//! bytes (no canonical checks), signing and verification next to raw
//! ed25519-dalek on the same message. BENCHMARKS.md reports the ratios.
//! (The baseline is the one use of `serde_cbor` outside the codec module.)
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use cbm_wire::{
    AgreementHash, Bytes, Entry, EntryKind, Field, KeyId, Label, MediaType, PublicKey, SignatoryId, Signed,
    SignedEntry, SigningKey, Timestamp, Topic, Wire, signing_message,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::Signer as _;

fn sample() -> (SignedEntry, SigningKey) {
    let key = SigningKey::from_bytes(&[1; 32]);
    let plain = |label: &str, value: &str| Field::Plain {
        label: Label::new(label).expect("label"),
        media_type: MediaType::new("text/plain").expect("media type"),
        value: Bytes::from(value.as_bytes()),
    };
    let entry = Entry {
        agreement: AgreementHash([7; 32]),
        signatory: SignatoryId::new("AT").expect("id"),
        index: 1234,
        issued_at: Timestamp(1_767_225_600_000),
        kind: EntryKind::Declaration { topic: Topic::new("points-of-contact").expect("topic"), period: 11 },
        fields: vec![
            plain("contact.email", "cert@example.at"),
            plain("contact.phone", "+43 1 000 000"),
            plain("contact.hours", "24/7 duty officer, English and German"),
        ],
    };
    (Signed::sign(entry, &AgreementHash([7; 32]), KeyId(0), &key), key)
}

fn codec(c: &mut Criterion) {
    let (entry, _) = sample();
    let bytes = entry.encode();
    let mut group = c.benchmark_group("entry");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("encode", |b| b.iter(|| black_box(&entry).encode()));
    group.bench_function("decode_strict", |b| b.iter(|| SignedEntry::decode(black_box(&bytes)).expect("valid")));
    group.bench_function("limit_serde_cbor_from_slice", |b| {
        b.iter(|| serde_cbor::from_slice::<SignedEntry>(black_box(&bytes)).expect("valid"))
    });
    group.bench_function("part_scan", |b| {
        b.iter(|| cbm_wire::check_canonical(black_box(&bytes), &cbm_wire::Limits::ENTRY).expect("valid"))
    });
    group.bench_function("limit_blake3", |b| b.iter(|| blake3::hash(black_box(&bytes))));
    group.finish();
    println!("sample signed entry: {} bytes", bytes.len());
}

fn signatures(c: &mut Criterion) {
    let (entry, key) = sample();
    let agreement = AgreementHash([7; 32]);
    let public = PublicKey::of(&key);
    let message = signing_message("cbm/1 entry", &agreement, entry.key, &entry.body);
    let dalek_signature = key.sign(&message);
    let mut group = c.benchmark_group("signature");
    group
        .bench_function("sign", |b| b.iter(|| Signed::sign(black_box(entry.body.clone()), &agreement, KeyId(0), &key)));
    group.bench_function("limit_raw_sign", |b| b.iter(|| key.sign(black_box(&message))));
    group.bench_function("verify", |b| b.iter(|| black_box(&entry).verify(&agreement, &public).expect("valid")));
    group.bench_function("limit_raw_verify_strict", |b| {
        b.iter(|| key.verifying_key().verify_strict(black_box(&message), &dalek_signature).expect("valid"))
    });
    group.finish();
}

criterion_group!(benches, codec, signatures);
criterion_main!(benches);
