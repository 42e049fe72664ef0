//! Single-entry proofs verify offline from their own bytes, and every
//! forgery of their parts is caught.

use cbm_log::entry_proof::{EntryProofError, verify_entry_proof, verify_pinned_entry_proof};
use cbm_log::merkle::inclusion_proof;
use cbm_tests::logs::LogWriter;
use cbm_tests::samples;
use cbm_wire::{CosignBody, Cosignature, EntryProof, KeyId, SignatoryId, Signed, Timestamp, Wire};

fn id(s: &str) -> SignatoryId {
    SignatoryId::new(s).expect("id")
}

fn cosign(witness: usize, proof_checkpoint: &cbm_wire::Checkpoint, at: u64) -> Cosignature {
    let body = CosignBody {
        witness: id(samples::SIGNATORIES[witness]),
        checkpoint: proof_checkpoint.clone(),
        cosigned_at: Timestamp(at),
    };
    Signed::sign(body, &samples::agreement(), KeyId(0), &samples::signing_key(witness))
}

fn proof() -> EntryProof {
    let mut writer = LogWriter::with_agreement("AT", 1, samples::agreement(), "declaration");
    let (entries, checkpoint) = writer.batch(9);
    let inclusion = inclusion_proof(writer.tree(), 4, 9).expect("proof");
    let t = checkpoint.body.timestamp.0;
    EntryProof {
        roster: samples::signed_roster(),
        entry: entries[4].clone(),
        inclusion,
        cosignatures: vec![cosign(1, &checkpoint.body, t + 500), cosign(2, &checkpoint.body, t + 900)],
        checkpoint,
    }
}

#[test]
fn a_proof_verifies_from_its_own_bytes() {
    let proof = EntryProof::decode(&proof().encode()).expect("decodes");
    let proven = verify_entry_proof(&proof).expect("verifies");
    assert_eq!((proven.signatory, proven.index), (id("AT"), 4));
    assert_eq!(proven.delivered, Timestamp(proof.checkpoint.body.timestamp.0 + 900));
    assert_eq!(proven.witnesses, vec![id("DE"), id("FI")]);
    assert!(proof.encode().len() < 8 * 1024, "a proof is a few KiB");
}

#[test]
fn forgeries_are_caught() {
    let mut p = proof();
    p.cosignatures.pop();
    assert_eq!(verify_entry_proof(&p), Err(EntryProofError::NoQuorum { have: 1, need: 2 }));

    let mut p = proof();
    p.cosignatures[1] = p.cosignatures[0].clone();
    assert_eq!(verify_entry_proof(&p), Err(EntryProofError::BadCosignature(1)));

    let mut p = proof();
    let mut other = p.checkpoint.body.clone();
    other.size = 8;
    p.cosignatures[0] = cosign(1, &other, 1);
    assert_eq!(verify_entry_proof(&p), Err(EntryProofError::BadCosignature(0)));

    let mut p = proof();
    p.cosignatures[0] = cosign(0, &p.checkpoint.body, 1);
    assert_eq!(verify_entry_proof(&p), Err(EntryProofError::BadCosignature(0)), "the owner cannot cosign");

    let mut p = proof();
    p.cosignatures[0].signature.0[0] ^= 1;
    assert!(matches!(verify_entry_proof(&p), Err(EntryProofError::BadSignature { what: "cosignature", .. })));

    let mut p = proof();
    p.entry.body.issued_at.0 += 1;
    assert!(matches!(verify_entry_proof(&p), Err(EntryProofError::BadSignature { what: "entry", .. })));

    let mut p = proof();
    p.inclusion.path[0].0[0] ^= 1;
    assert!(matches!(verify_entry_proof(&p), Err(EntryProofError::Inclusion(_))));

    let mut p = proof();
    p.roster.signatures.pop();
    assert!(matches!(verify_entry_proof(&p), Err(EntryProofError::Roster(_))));

    let mut p = proof();
    p.checkpoint.body.root.0[0] ^= 1;
    assert!(matches!(verify_entry_proof(&p), Err(EntryProofError::BadSignature { what: "checkpoint", .. })));
}

#[test]
fn an_inclusion_proof_for_another_leaf_is_reported_as_an_index_mismatch_not_out_of_range() {
    let mut writer = LogWriter::with_agreement("AT", 1, samples::agreement(), "declaration");
    let (_, _) = writer.batch(9);
    let mut p = proof();
    p.inclusion = inclusion_proof(writer.tree(), 5, 9).expect("proof");
    assert_eq!(verify_entry_proof(&p), Err(EntryProofError::IndexMismatch { entry: 4, proof: 5 }));
}

#[test]
fn a_proof_under_another_roster_than_the_pinned_one_is_refused_however_well_it_verifies() {
    let p = proof();
    let real = samples::agreement();
    assert!(verify_pinned_entry_proof(&p, &real).is_ok(), "pinned to its own agreement, it verifies");
    let other = cbm_wire::AgreementHash([9; 32]);
    assert_eq!(
        verify_pinned_entry_proof(&p, &other),
        Err(EntryProofError::NotExpectedAgreement { found: real, expected: other })
    );
}
