//! Equivocation evidence: both forms are built from real forked logs and
//! verify offline with only the roster; fabricated evidence is rejected.

use cbm_log::evidence::{EvidenceError, inconsistent, out_of_time_order, same_size, verify_evidence};
use cbm_log::merkle::{consistency_proof, subtree_hash};
use cbm_tests::logs::LogWriter;
use cbm_wire::{
    EquivocationEvidence, KeyId, PublicKey, QuorumPolicy, RootHash, Roster, RosterLimits, Signatory, SignatoryId,
    SigningKey, SigningKeyInfo, Text, Timestamp,
};

fn roster() -> Roster {
    let signatory = |name: &str, seed: u8| Signatory {
        id: SignatoryId::new(name).expect("id"),
        name: Text::default(),
        signing_keys: vec![SigningKeyInfo {
            id: KeyId(0),
            key: PublicKey::of(&SigningKey::from_bytes(&[seed; 32])),
            valid_from: Timestamp(0),
            valid_until: None,
        }],
        transport_key: PublicKey::of(&SigningKey::from_bytes(&[seed + 100; 32])),
        addresses: vec![],
    };
    Roster {
        agreement: cbm_wire::AgreementId::new("evidence-test").expect("id"),
        version: 1,
        title: Text::default(),
        signatories: vec![signatory("AT", 1), signatory("DE", 2)],
        schedules: vec![],
        quorum: QuorumPolicy { threshold: 1 },
        limits: RosterLimits::default(),
        previous: None,
        notices: vec![],
    }
}

/// AT's honest log and a fork of it signed with the same key.
fn logs(roster: &Roster) -> (LogWriter, LogWriter) {
    let agreement = roster.agreement_hash();
    (LogWriter::with_agreement("AT", 1, agreement, "honest"), LogWriter::with_agreement("AT", 1, agreement, "forked"))
}

#[test]
fn same_size_evidence_from_a_fork_verifies() {
    let roster = roster();
    let (mut honest, mut forked) = logs(&roster);
    let (_, a) = honest.batch(10);
    let (_, b) = forked.batch(10);
    let evidence = same_size(&a, &b).expect("conflict");
    assert_eq!(verify_evidence(&roster, &evidence), Ok(SignatoryId::new("AT").expect("id")));
    assert!(same_size(&a, &a).is_none());
}

#[test]
fn inconsistency_evidence_from_a_fork_verifies_for_every_older_size() {
    let roster = roster();
    for old_size in 1..=12 {
        let (mut honest, mut forked) = logs(&roster);
        let (_, older) = honest.batch(old_size);
        let (_, newer) = forked.batch(13);
        let proof = consistency_proof(forked.tree(), old_size, 13).expect("proof");
        let old_subtree = subtree_hash(forked.tree(), 0, old_size).expect("hash");
        let evidence = inconsistent(&older, &newer, &proof, Some(old_subtree)).expect("conflict");
        assert_eq!(verify_evidence(&roster, &evidence), Ok(SignatoryId::new("AT").expect("id")), "old size {old_size}");

        // An honest pair is no evidence: the proof shows consistency.
        let (_, honest_newer) = honest.batch(13 - old_size);
        let proof = consistency_proof(honest.tree(), old_size, 13).expect("proof");
        let old_subtree = subtree_hash(honest.tree(), 0, old_size).expect("hash");
        assert!(inconsistent(&older, &honest_newer, &proof, Some(old_subtree)).is_none());
    }
}

#[test]
fn fabricated_evidence_is_rejected() {
    let roster = roster();
    let (mut honest, mut forked) = logs(&roster);
    let (_, a) = honest.batch(10);
    let (_, b) = forked.batch(10);

    // Same checkpoint twice.
    let same = EquivocationEvidence::SameSize { first: a.clone(), second: a.clone() };
    assert_eq!(verify_evidence(&roster, &same), Err(EvidenceError::NoConflict("roots are equal")));

    // A root changed after signing: the signature no longer verifies.
    let mut altered = a.clone();
    altered.body.root = RootHash([9; 32]);
    let forged = EquivocationEvidence::SameSize { first: a.clone(), second: altered };
    assert!(matches!(verify_evidence(&roster, &forged), Err(EvidenceError::BadSignature { which: "second", .. })));

    // Checkpoints signed by someone else's key (DE's key for AT's log).
    let agreement = roster.agreement_hash();
    let mut impostor = LogWriter::with_agreement("AT", 2, agreement, "forked");
    let (_, c) = impostor.batch(10);
    let framed = EquivocationEvidence::SameSize { first: a.clone(), second: c };
    assert!(matches!(verify_evidence(&roster, &framed), Err(EvidenceError::BadSignature { .. })));

    // Different logs.
    let mut de = LogWriter::with_agreement("DE", 2, agreement, "honest");
    let (_, d) = de.batch(10);
    let mixed = EquivocationEvidence::SameSize { first: a.clone(), second: d };
    assert_eq!(verify_evidence(&roster, &mixed), Err(EvidenceError::DifferentLogs));

    // A log of no signatory (another agreement).
    let mut stranger = LogWriter::new("AT", 1);
    let (_, e1) = stranger.batch(3);
    let mut stranger2 = LogWriter::with_agreement("AT", 1, cbm_wire::AgreementHash([0x42; 32]), "other");
    let (_, e2) = stranger2.batch(3);
    let foreign = EquivocationEvidence::SameSize { first: e1, second: e2 };
    assert!(matches!(verify_evidence(&roster, &foreign), Err(EvidenceError::UnknownLog(_))));

    // Inconsistency evidence whose proof was tampered with.
    let (_, newer) = forked.batch(3);
    let proof = consistency_proof(forked.tree(), 10, 13).expect("proof");
    let evidence = inconsistent(&a, &newer, &proof, None).expect("conflict");
    let EquivocationEvidence::Inconsistent { older, newer, mut proof } = evidence else { unreachable!() };
    proof.path[0].0[0] ^= 1;
    let tampered = EquivocationEvidence::Inconsistent { older, newer, proof };
    assert!(verify_evidence(&roster, &tampered).is_err());
    let _ = b;
}

#[test]
fn checkpoints_signed_out_of_time_order_are_evidence_against_the_owner_and_forgeries_of_it_are_rejected() {
    let roster = roster();
    let (mut honest, _) = logs(&roster);
    let (_, five) = honest.batch(5);
    let (_, eight) = honest.batch(3);
    let poison = honest.checkpoint_at(5, Timestamp(eight.body.timestamp.0 + 1_000_000));
    let evidence = out_of_time_order(&eight, &poison).expect("out of time order, whichever comes first");
    assert_eq!(evidence, EquivocationEvidence::OutOfTimeOrder { smaller: poison.clone(), larger: eight.clone() });
    assert_eq!(verify_evidence(&roster, &evidence), Ok(SignatoryId::new("AT").expect("id")));
    assert_eq!(out_of_time_order(&five, &eight), None, "times that follow the sizes are no evidence");

    let in_order = EquivocationEvidence::OutOfTimeOrder { smaller: five.clone(), larger: eight.clone() };
    assert_eq!(verify_evidence(&roster, &in_order), Err(EvidenceError::NoConflict("the times follow the sizes")));
    let swapped = EquivocationEvidence::OutOfTimeOrder { smaller: eight.clone(), larger: poison.clone() };
    assert_eq!(
        verify_evidence(&roster, &swapped),
        Err(EvidenceError::NoConflict("the smaller checkpoint is not smaller"))
    );
    let mut retimed = poison.clone();
    retimed.body.timestamp.0 += 1;
    let forged = EquivocationEvidence::OutOfTimeOrder { smaller: retimed, larger: eight };
    assert!(matches!(verify_evidence(&roster, &forged), Err(EvidenceError::BadSignature { which: "smaller", .. })));
}
