//! The witness rules (spec/log.md §3.3): cosign only checked extensions of
//! what was cosigned; turn conflicts into evidence; refuse everything else.

use cbm_log::agreement::Agreement;
use cbm_log::evidence::{inconsistent, verify_evidence};
use cbm_log::merkle::{Frontier, consistency_proof, subtree_hash};
use cbm_log::rules::{EntryError, Prechecked};
use cbm_log::witness::{Decision, WitnessError, check_segment, review};
use cbm_tests::logs::LogWriter;
use cbm_tests::samples;
use cbm_tests::view::MemoryView;
use cbm_wire::{SignatoryId, Signature, Timestamp};

fn id(s: &str) -> SignatoryId {
    SignatoryId::new(s).expect("id")
}

/// `entries`, prechecked as a witness has them before the rules.
fn pre(agreement: &Agreement, entries: &[cbm_wire::SignedEntry]) -> Prechecked {
    Prechecked::new(agreement, entries.to_vec())
}

fn setup() -> (Agreement, LogWriter, LogWriter) {
    let agreement = Agreement::adopt(&samples::signed_roster()).expect("adopt");
    let honest = LogWriter::with_agreement("AT", 1, *agreement.hash(), "honest");
    let forked = LogWriter::with_agreement("AT", 1, *agreement.hash(), "forked");
    (agreement, honest, forked)
}

const NOW: Timestamp = Timestamp(1_767_225_600_000 + 86_400_000);

#[test]
fn a_witness_cosigns_checked_extensions_only() {
    let (agreement, mut honest, mut forked) = setup();
    let mut view = MemoryView::default();
    let de = id("DE");

    let (first_entries, first) = honest.batch(5);
    let decision =
        review(&agreement, &de, None, &Frontier::empty(), &first, &pre(&agreement, &first_entries), &view, NOW);
    let Ok(Decision::Cosign(body)) = decision else { panic!("{decision:?}") };
    assert_eq!(
        (body.witness.clone(), body.checkpoint.clone(), body.cosigned_at),
        (de.clone(), first.body.clone(), NOW)
    );
    first_entries.iter().for_each(|e| view.apply(e));

    let held = Frontier::read(honest.tree(), 5).expect("frontier");
    let (entries, second) = honest.batch(3);
    let decision = review(&agreement, &de, Some(&first), &held, &second, &pre(&agreement, &entries), &view, NOW);
    assert!(matches!(decision, Ok(Decision::Cosign(_))), "{decision:?}");
    entries.iter().for_each(|e| view.apply(e));
    let held = Frontier::read(honest.tree(), 8).expect("frontier");
    assert_eq!(
        review(&agreement, &de, Some(&second), &held, &second, &pre(&agreement, &[]), &view, NOW),
        Ok(Decision::AlreadyCosigned)
    );

    // The same size with another root: equivocation, with evidence anyone can check.
    let (_, fork) = forked.batch(8);
    let Ok(Decision::Equivocation(evidence)) =
        review(&agreement, &de, Some(&second), &held, &fork, &pre(&agreement, &[]), &view, NOW)
    else {
        panic!("expected equivocation")
    };
    assert_eq!(verify_evidence(agreement.roster(), &evidence), Ok(id("AT")));

    // Older than what was cosigned.
    assert_eq!(
        review(&agreement, &de, Some(&second), &held, &first, &pre(&agreement, &[]), &view, NOW),
        Err(WitnessError::Stale { size: 5, cosigned: 8 })
    );

    // Entries missing, or one tampered with.
    let (more, third) = honest.batch(4);
    assert_eq!(
        review(&agreement, &de, Some(&second), &held, &third, &pre(&agreement, &more[1..]), &view, NOW),
        Err(WitnessError::MissingEntries { from: 8, to: 12 })
    );
    let mut tampered = more.clone();
    tampered[2].signature = Signature([0; 64]);
    assert!(matches!(
        review(&agreement, &de, Some(&second), &held, &third, &pre(&agreement, &tampered), &view, NOW),
        Err(WitnessError::BadEntry { index: 10, .. })
    ));

    // A witness does not cosign its own log.
    assert_eq!(
        review(&agreement, &id("AT"), Some(&second), &held, &third, &pre(&agreement, &more), &view, NOW),
        Err(WitnessError::NotAPeerLog)
    );
}

#[test]
fn a_larger_forked_checkpoint_is_refused_and_then_proven_with_a_consistency_proof() {
    let (agreement, mut honest, mut forked) = setup();
    let mut view = MemoryView::default();
    let de = id("DE");
    let (entries, cosigned) = honest.batch(8);
    assert!(matches!(
        review(&agreement, &de, None, &Frontier::empty(), &cosigned, &pre(&agreement, &entries), &view, NOW),
        Ok(Decision::Cosign(_))
    ));
    entries.iter().for_each(|e| view.apply(e));
    let held = Frontier::read(honest.tree(), 8).expect("frontier");

    // The owner forks: a 10-entry checkpoint whose tree does not extend the cosigned one.
    let (_, fork) = forked.batch(10);
    let (honest_next, _) = honest.batch(2);
    assert_eq!(
        review(&agreement, &de, Some(&cosigned), &held, &fork, &pre(&agreement, &honest_next), &view, NOW),
        Err(WitnessError::RootMismatch)
    );
    // The witness asks for a consistency proof 8 -> 10; the owner can only
    // serve one for the forked tree, and that proof convicts it.
    let proof = consistency_proof(forked.tree(), 8, 10).expect("proof");
    let old_subtree = subtree_hash(forked.tree(), 0, 8).expect("hash");
    let evidence = inconsistent(&cosigned, &fork, &proof, Some(old_subtree)).expect("evidence");
    assert_eq!(verify_evidence(agreement.roster(), &evidence), Ok(id("AT")));
}

#[test]
fn a_checkpoint_signed_with_another_key_is_refused() {
    let (agreement, _, _) = setup();
    let mut impostor = LogWriter::with_agreement("AT", 2, *agreement.hash(), "impostor");
    let (entries, checkpoint) = impostor.batch(2);
    let decision = review(
        &agreement,
        &id("DE"),
        None,
        &Frontier::empty(),
        &checkpoint,
        &pre(&agreement, &entries),
        &MemoryView::default(),
        NOW,
    );
    assert!(matches!(decision, Err(WitnessError::BadSignature(_))), "{decision:?}");
}

#[test]
fn a_held_tree_that_is_not_the_cosigned_one_is_refused() {
    let (agreement, mut honest, mut forked) = setup();
    let view = MemoryView::default();
    let (_, cosigned) = honest.batch(5);
    forked.batch(5);
    let wrong_tree = Frontier::read(forked.tree(), 5).expect("frontier");
    let (entries, next) = honest.batch(2);
    assert_eq!(
        review(&agreement, &id("DE"), Some(&cosigned), &wrong_tree, &next, &pre(&agreement, &entries), &view, NOW),
        Err(WitnessError::HeldTreeMismatch)
    );
    // A cosigned checkpoint of another log is refused the same way.
    let mut other_log = LogWriter::with_agreement("FI", 3, *agreement.hash(), "other");
    let (_, foreign) = other_log.batch(9);
    let held = Frontier::read(honest.tree(), 5).expect("frontier");
    assert_eq!(
        review(&agreement, &id("DE"), Some(&foreign), &held, &next, &pre(&agreement, &entries), &view, NOW),
        Err(WitnessError::HeldTreeMismatch)
    );
}

#[test]
fn a_far_checkpoint_is_mirrored_segment_by_segment_each_proven_a_prefix_of_it() {
    let (agreement, mut honest, _) = setup();
    let mut view = MemoryView::default();
    let de = id("DE");
    let (entries, target) = honest.batch(10);

    // Entries 0..4, then 4..7, each with a proof from its end to the target.
    let mut held = Frontier::empty();
    for (from, to) in [(0_u64, 4_u64), (4, 7)] {
        let proof = consistency_proof(honest.tree(), to, 10).expect("proof");
        let segment = &entries[from as usize..to as usize];
        held = check_segment(&agreement, &de, &target, &held, &pre(&agreement, segment), &proof, &view, NOW)
            .expect("segment");
        assert_eq!(held.root(), Frontier::read(honest.tree(), to).expect("frontier").root());
        segment.iter().for_each(|e| view.apply(e));
    }
    // The rest is reviewed as usual, and the checkpoint cosigned.
    let decision = review(&agreement, &de, None, &held, &target, &pre(&agreement, &entries[7..]), &view, NOW);
    assert!(matches!(decision, Ok(Decision::Cosign(_))), "{decision:?}");

    // A segment that reaches the target is not a segment; an empty one neither.
    let proof = consistency_proof(honest.tree(), 7, 10).expect("proof");
    assert_eq!(
        check_segment(&agreement, &de, &target, &held, &pre(&agreement, &entries[7..]), &proof, &view, NOW),
        Err(WitnessError::MissingEntries { from: 7, to: 10 })
    );
    assert!(check_segment(&agreement, &de, &target, &held, &pre(&agreement, &[]), &proof, &view, NOW).is_err());
}

#[test]
fn a_segment_that_does_not_lead_to_the_checkpoint_is_refused() {
    let (agreement, mut honest, mut forked) = setup();
    let view = MemoryView::default();
    let de = id("DE");
    let (entries, target) = honest.batch(10);
    let (forked_entries, fork) = forked.batch(10);

    // Honest entries with a proof for another size, or toward the forked tree.
    let proof = consistency_proof(honest.tree(), 5, 10).expect("proof");
    assert_eq!(
        check_segment(
            &agreement,
            &de,
            &target,
            &Frontier::empty(),
            &pre(&agreement, &entries[..4]),
            &proof,
            &view,
            NOW
        ),
        Err(WitnessError::RootMismatch)
    );
    let proof = consistency_proof(honest.tree(), 4, 10).expect("proof");
    assert_eq!(
        check_segment(&agreement, &de, &fork, &Frontier::empty(), &pre(&agreement, &entries[..4]), &proof, &view, NOW),
        Err(WitnessError::RootMismatch)
    );
    // A tampered entry breaks the rules before any proof is looked at.
    let mut tampered = forked_entries[..4].to_vec();
    tampered[1].signature = Signature([0; 64]);
    let proof = consistency_proof(forked.tree(), 4, 10).expect("proof");
    assert!(matches!(
        check_segment(&agreement, &de, &fork, &Frontier::empty(), &pre(&agreement, &tampered), &proof, &view, NOW),
        Err(WitnessError::BadEntry { index: 1, .. })
    ));
    // A witness does not stage its own log.
    assert_eq!(
        check_segment(
            &agreement,
            &id("AT"),
            &target,
            &Frontier::empty(),
            &pre(&agreement, &entries[..4]),
            &proof,
            &view,
            NOW
        ),
        Err(WitnessError::NotAPeerLog)
    );
}

#[test]
fn an_entry_of_another_log_in_a_batch_is_reported_as_of_another_log_not_as_an_unknown_signatory() {
    let (agreement, mut honest, _) = setup();
    let mut other = LogWriter::with_agreement("FI", 1, *agreement.hash(), "other");
    let (_, checkpoint) = honest.batch(1);
    let (foreign, _) = other.batch(1);
    let decision = review(
        &agreement,
        &id("DE"),
        None,
        &Frontier::empty(),
        &checkpoint,
        &pre(&agreement, &foreign),
        &MemoryView::default(),
        NOW,
    );
    assert_eq!(
        decision,
        Err(WitnessError::BadEntry { index: 0, error: EntryError::OtherLog { owner: id("AT"), author: id("FI") } })
    );
}

#[test]
fn a_larger_checkpoint_timed_before_the_cosigned_one_is_evidence_not_a_cosignature() {
    let (agreement, mut honest, _) = setup();
    let de = id("DE");
    let mut view = MemoryView::default();
    let (first_entries, _) = honest.batch(5);
    let first = honest.checkpoint_at(5, Timestamp(NOW.0 - 1000));
    first_entries.iter().for_each(|e| view.apply(e));
    let held = Frontier::read(honest.tree(), 5).expect("frontier");
    let (entries, _) = honest.batch(3);
    let backdated = honest.checkpoint_at(8, Timestamp(NOW.0 - 5000));
    let decision = review(&agreement, &de, Some(&first), &held, &backdated, &pre(&agreement, &entries), &view, NOW);
    let Ok(Decision::Equivocation(evidence)) = decision else { panic!("{decision:?}") };
    assert_eq!(*evidence, cbm_wire::EquivocationEvidence::OutOfTimeOrder { smaller: first, larger: backdated });
    assert!(verify_evidence(agreement.roster(), &evidence).is_ok());
}

#[test]
fn a_checkpoint_or_entry_timed_beyond_the_witness_clock_plus_the_allowed_skew_is_refused() {
    let (agreement, mut honest, _) = setup();
    let de = id("DE");
    let view = MemoryView::default();
    let skew = agreement.roster().limits.max_clock_skew;
    let (entries, _) = honest.batch(5);
    let review_at = |checkpoint: &cbm_wire::SignedCheckpoint, now: Timestamp| {
        review(&agreement, &de, None, &Frontier::empty(), checkpoint, &pre(&agreement, &entries), &view, now)
    };
    let limit = NOW.saturating_add(skew);
    let ahead = honest.checkpoint_at(5, Timestamp(limit.0 + 1));
    assert_eq!(
        review_at(&ahead, NOW),
        Err(WitnessError::CheckpointFromTheFuture { claimed: ahead.body.timestamp, limit })
    );
    let within = honest.checkpoint_at(5, limit);
    assert!(matches!(review_at(&within, NOW), Ok(Decision::Cosign(_))), "within the skew it is cosigned");

    // Under a roster that allows no skew, a witness whose clock reads just
    // after entry 2 was issued refuses entry 3.
    let mut roster = samples::roster();
    roster.limits.max_clock_skew = cbm_wire::TimeSpan(0);
    let signatures = (0..3)
        .map(|i| roster.sign_adoption(&id(samples::SIGNATORIES[i]), cbm_wire::KeyId(0), &samples::signing_key(i)))
        .collect();
    let strict = Agreement::adopt(&cbm_wire::SignedRoster { roster, signatures }).expect("adopt");
    let mut writer = LogWriter::with_agreement("AT", 1, *strict.hash(), "honest");
    let (entries, _) = writer.batch(5);
    let clock = entries[2].body.issued_at;
    let checkpoint = writer.checkpoint_at(5, clock);
    let decision = review(&strict, &de, None, &Frontier::empty(), &checkpoint, &pre(&strict, &entries), &view, clock);
    assert_eq!(
        decision,
        Err(WitnessError::EntryFromTheFuture { index: 3, claimed: entries[3].body.issued_at, limit: clock })
    );
}
