//! The log-owner rules (spec/log.md §3.2) on the sample agreement: every
//! sample entry kind is accepted in order, and each rule has an entry that
//! breaks it.

use cbm_log::agreement::{Agreement, RosterError};
use cbm_log::rules::{EntryError, check_entry};
use cbm_tests::samples;
use cbm_tests::view::MemoryView as View;
use cbm_wire::{
    Bytes, Entry, EntryHash, EntryKind, EntryRef, Field, KeyId, Label, MediaType, RosterSignature, SignatoryId,
    Signature, SigningKeyInfo, StatusChange, Text, Timestamp, Topic,
};

fn id(s: &str) -> SignatoryId {
    SignatoryId::new(s).expect("id")
}

/// The sample agreement, with DE's entry 3 (cited by the samples) held.
fn setup() -> (Agreement, View) {
    let agreement = Agreement::adopt(&samples::signed_roster()).expect("sample roster adopts");
    let mut view = View::default();
    view.hold(&id("DE"), 4, 3, EntryHash([0xde; 32]));
    (agreement, view)
}

#[test]
fn every_sample_entry_is_accepted_in_order() {
    let (agreement, mut view) = setup();
    for (name, entry) in samples::entries() {
        assert_eq!(check_entry(&agreement, &view, &entry), Ok(()), "{name}");
        view.apply(&entry);
    }
}

/// The next AT entry (index 9, after all samples) of `kind`, signed.
fn next(kind: EntryKind, issued_day: u64) -> Entry {
    Entry {
        agreement: samples::agreement(),
        signatory: id("AT"),
        index: 9,
        issued_at: Timestamp(samples::EPOCH.0 + 86_400_000 * issued_day),
        kind,
        fields: vec![],
    }
}

fn after_samples() -> (Agreement, View) {
    let (agreement, mut view) = setup();
    for (_, entry) in samples::entries() {
        view.apply(&entry);
    }
    (agreement, view)
}

fn verdict(entry: Entry) -> Result<(), EntryError> {
    let (agreement, view) = after_samples();
    check_entry(&agreement, &view, &samples::sign_entry(entry))
}

fn topic(s: &str) -> Topic {
    Topic::new(s).expect("topic")
}

#[test]
fn each_rule_rejects_an_entry_that_breaks_it() {
    let note = || EntryKind::Notification { topic: topic("incident") };
    assert_eq!(verdict(next(note(), 12)), Ok(()));

    let mut other = next(note(), 12);
    other.agreement = cbm_wire::AgreementHash([1; 32]);
    assert_eq!(verdict(other), Err(EntryError::WrongAgreement));

    let mut stranger = next(note(), 12);
    stranger.signatory = id("XX");
    assert_eq!(verdict(stranger), Err(EntryError::UnknownSignatory(id("XX"))));

    let mut skipped = next(note(), 12);
    skipped.index = 10;
    assert_eq!(verdict(skipped), Err(EntryError::WrongIndex { expected: 9, found: 10 }));

    // Before the key's validity window.
    let mut early = next(note(), 0);
    early.issued_at = Timestamp(samples::EPOCH.0 - 1);
    assert_eq!(verdict(early), Err(EntryError::NoValidKey(KeyId(0))));

    let (agreement, view) = after_samples();
    let mut forged = samples::sign_entry(next(note(), 12));
    forged.signature = Signature([0; 64]);
    assert!(matches!(check_entry(&agreement, &view, &forged), Err(EntryError::BadSignature(_))));

    let mut large = next(note(), 12);
    large.fields = vec![Field::Plain {
        label: Label::new("blob").expect("label"),
        media_type: MediaType::new("application/octet-stream").expect("media type"),
        value: Bytes(vec![0; 70_000]),
    }];
    assert!(matches!(verdict(large), Err(EntryError::TooLarge { .. })));

    let unscheduled = EntryKind::Declaration { topic: topic("incident"), period: 0 };
    assert_eq!(verdict(next(unscheduled, 12)), Err(EntryError::NotScheduled(topic("incident"))));
    // FI is not bound by the national-policy schedule; AT declaring period 5 in period 0 is too early.
    let future = EntryKind::Declaration { topic: topic("points-of-contact"), period: 5 };
    assert!(matches!(verdict(next(future, 12)), Err(EntryError::FuturePeriod { period: 5, current: Some(0) })));

    let wrong_hash = EntryRef { signatory: id("AT"), index: 0, hash: EntryHash([0; 32]) };
    let amendment = EntryKind::Amendment { amends: wrong_hash, reason: Text::default() };
    assert!(matches!(verdict(next(amendment, 12)), Err(EntryError::BadCitation(_))));
    let own = EntryRef { signatory: id("AT"), index: 0, hash: samples::declaration().hash() };
    let self_objection = EntryKind::Objection { cites: own, reason: Text::default() };
    assert!(matches!(verdict(next(self_objection, 12)), Err(EntryError::BadCitation(_))));

    let late_reply = EntryKind::Request { to: vec![id("DE")], reply_by: Timestamp(samples::EPOCH.0) };
    assert!(matches!(verdict(next(late_reply, 12)), Err(EntryError::BadRequest(_))));
    let to_self = EntryKind::Request { to: vec![id("AT")], reply_by: Timestamp(samples::EPOCH.0 + 86_400_000 * 99) };
    assert!(matches!(verdict(next(to_self, 12)), Err(EntryError::BadRequest(_))));

    // The samples suspended national-policy; suspending again is refused, resuming is fine.
    let change = |change| EntryKind::Status { topic: topic("national-policy"), change, effective_from: Timestamp(0) };
    assert!(matches!(verdict(next(change(StatusChange::Suspend), 12)), Err(EntryError::BadStatus(_))));
    assert_eq!(verdict(next(change(StatusChange::Resume), 12)), Ok(()));

    let new_key = SigningKeyInfo {
        id: KeyId(2),
        key: cbm_wire::PublicKey::of(&cbm_wire::SigningKey::from_bytes(&[0x22; 32])),
        valid_from: Timestamp(samples::EPOCH.0 + 86_400_000 * 50),
        valid_until: None,
    };
    let unproven = EntryKind::KeyRotation { new_key, possession: Signature([0; 64]) };
    assert!(matches!(verdict(next(unproven, 12)), Err(EntryError::BadKeyRotation(_))));
}

#[test]
fn a_roster_not_adopted_by_all_is_refused() {
    let mut signed = samples::signed_roster();
    signed.signatures.pop();
    assert!(matches!(Agreement::adopt(&signed), Err(RosterError::Adoption(_))));
    let mut signed = samples::signed_roster();
    signed.signatures[1] = RosterSignature { signature: Signature([0; 64]), ..signed.signatures[1].clone() };
    assert!(matches!(Agreement::adopt(&signed), Err(RosterError::BadAdoption { .. })));
    let mut signed = samples::signed_roster();
    signed.roster.quorum.threshold = 3;
    assert!(matches!(Agreement::adopt(&signed), Err(RosterError::BadQuorum { threshold: 3, others: 2 })));
}

/// DE's next entry (index 4, after the entry the samples cite) of `kind`, signed by DE.
fn de_entry(kind: EntryKind) -> cbm_wire::SignedEntry {
    let entry = Entry {
        agreement: samples::agreement(),
        signatory: id("DE"),
        index: 4,
        issued_at: Timestamp(samples::EPOCH.0 + 86_400_000 * 12),
        kind,
        fields: vec![],
    };
    cbm_wire::Signed::sign(entry, &samples::agreement(), KeyId(0), &samples::signing_key(1))
}

#[test]
fn a_key_rotation_copied_from_another_signatorys_log_is_refused() {
    let (agreement, before) = setup();
    let (_, rotation) = samples::entries().into_iter().find(|(name, _)| *name == "key-rotation").expect("sample");
    // DE copies AT's rotation, possession proof and all, into its own log,
    // before the witness has seen AT's: the proof names AT.
    let copied = de_entry(rotation.body.kind.clone());
    assert_eq!(
        check_entry(&agreement, &before, &copied),
        Err(EntryError::BadKeyRotation("the proof of possession does not verify"))
    );
    let (_, view) = after_samples();
    // Even with a proof of its own (DE knows the secret too), a key AT
    // rotated in is not DE's to list.
    let EntryKind::KeyRotation { new_key, .. } = rotation.body.kind else { panic!("a key rotation") };
    let mut new_key = new_key;
    new_key.id = KeyId(7);
    let message = new_key.possession_message(&samples::agreement(), &id("DE"));
    let possession = cbm_wire::sign_message(&cbm_wire::SigningKey::from_bytes(&[0x11; 32]), &message);
    let own_proof = de_entry(EntryKind::KeyRotation { new_key, possession });
    assert_eq!(
        check_entry(&agreement, &view, &own_proof),
        Err(EntryError::BadKeyRotation("the key is one another signatory holds or held"))
    );
}
