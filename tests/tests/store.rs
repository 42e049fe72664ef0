//! The SQLite store: atomic, durable appends; checked reads; refusals that
//! change nothing; tampering reported, not trusted.

use cbm_log::agreement::Agreement;
use cbm_log::merkle::TreeHead;
use cbm_log::merkle::{verify_consistency, verify_inclusion};
use cbm_log::store::{AppendError, MAX_EVIDENCE_PER_LOG_AND_KIND, Store, StoreError};
use cbm_tests::logs::LogWriter;
use cbm_wire::{Digest, EquivocationEvidence, RootHash, SignedCheckpoint, Wire};

fn store(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("store.sqlite")).expect("open store")
}

#[test]
fn appends_survive_reopening_and_prove_correctly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut writer = LogWriter::new("AT", 1);
    let mut heads = Vec::new();
    {
        let mut store = store(&dir);
        for count in [1, 7, 100, 3] {
            let (entries, checkpoint) = writer.batch(count);
            store.append(&writer.log, &entries, &checkpoint).expect("append");
            heads.push(TreeHead { size: checkpoint.body.size, root: checkpoint.body.root });
        }
    }
    let store = store(&dir);
    assert_eq!(store.size(&writer.log).expect("size"), 111);
    assert_eq!(store.entry(&writer.log, 50).expect("entry"), writer.entry(50));
    assert_eq!(store.entries(&writer.log, 105, 10).expect("entries").len(), 6);
    let latest = store.latest_checkpoint(&writer.log).expect("read").expect("some");
    assert_eq!(latest.body.size, 111);
    for head in &heads {
        for index in [0, head.size / 2, head.size - 1] {
            let proof = store.inclusion_proof(&writer.log, index, head.size).expect("proof");
            let leaf = writer.entry(index).hash();
            assert_eq!(verify_inclusion(&leaf, &proof, head), Ok(()));
        }
        let proof = store.consistency_proof(&writer.log, head.size, 111).expect("consistency");
        assert_eq!(verify_consistency(&proof, head, heads.last().expect("last")), Ok(()));
    }
    assert!(matches!(store.inclusion_proof(&writer.log, 0, 50), Err(StoreError::NotFound(_))));
    let report = store.fsck(|_| {}).expect("fsck");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.logs[0].checkpoints, 4);
}

#[test]
fn refused_appends_store_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store(&dir);
    let mut writer = LogWriter::new("AT", 1);
    let (entries, checkpoint) = writer.batch(5);
    store.append(&writer.log, &entries, &checkpoint).expect("append");

    let (entries, checkpoint) = writer.batch(3);
    let refuse = |store: &mut Store, entries: &[cbm_wire::SignedEntry], checkpoint: &SignedCheckpoint| match store
        .append(&writer.log, entries, checkpoint)
    {
        Err(StoreError::Refused(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(matches!(
        refuse(&mut store, &entries[1..], &checkpoint),
        AppendError::NotContiguous { expected: 5, found: 6 }
    ));
    let mut wrong_root = checkpoint.clone();
    wrong_root.body.root = RootHash([0; 32]);
    assert!(matches!(refuse(&mut store, &entries, &wrong_root), AppendError::RootMismatch { .. }));
    assert!(matches!(refuse(&mut store, &entries[..2], &checkpoint), AppendError::SizeMismatch { .. }));
    let other = LogWriter::new("DE", 2);
    let mut foreign = entries.clone();
    foreign[0] = other.entry(5);
    assert!(matches!(refuse(&mut store, &foreign, &checkpoint), AppendError::WrongLog("entry")));
    let mut old = checkpoint.clone();
    old.body.timestamp.0 = 0;
    assert!(matches!(refuse(&mut store, &entries, &old), AppendError::OutOfTimeOrder { .. }));

    assert_eq!(store.size(&writer.log).expect("size"), 5);
    assert!(store.fsck(|_| {}).expect("fsck").is_ok());
    store.append(&writer.log, &entries, &checkpoint).expect("the valid append still goes through");
    assert_eq!(store.size(&writer.log).expect("size"), 8);

    // Re-storing the same checkpoint is idempotent; a different one of the same size and time is refused.
    store.append(&writer.log, &[], &checkpoint).expect("idempotent");
    let mut other_key = checkpoint.clone();
    other_key.key = cbm_wire::KeyId(1);
    assert!(matches!(refuse(&mut store, &[], &other_key), AppendError::DuplicateCheckpoint));
}

fn tamper(dir: &tempfile::TempDir, sql: &str) {
    let conn = rusqlite::Connection::open(dir.path().join("store.sqlite")).expect("open raw");
    conn.execute_batch(sql).expect("tamper");
}

fn populated() -> (tempfile::TempDir, LogWriter) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut writer = LogWriter::new("AT", 1);
    let mut store = store(&dir);
    let (entries, checkpoint) = writer.batch(20);
    store.append(&writer.log, &entries, &checkpoint).expect("append");
    (dir, writer)
}

#[test]
fn a_tampered_entry_is_reported() {
    let (dir, writer) = populated();
    let replacement = writer.entry(3).encode();
    let mut changed = replacement.clone();
    let last = changed.len() - 1;
    changed[last] ^= 1;
    tamper(&dir, &format!("UPDATE entries SET bytes = x'{}' WHERE idx = 3", hex::encode(&changed)));
    let store = store(&dir);
    assert!(matches!(store.entry(&writer.log, 3), Err(StoreError::Corrupt(_))));
    let report = store.fsck(|_| {}).expect("fsck");
    assert!(!report.is_ok());
}

#[test]
fn a_tampered_tree_hash_is_reported_on_open() {
    let (dir, _) = populated();
    // Level 2 index 4 (leaves 16..20) is part of the frontier of a 20-leaf tree.
    tamper(&dir, "UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 4");
    assert!(matches!(Store::open(&dir.path().join("store.sqlite")), Err(StoreError::Corrupt(_))));
}

#[test]
fn a_tampered_inner_hash_is_reported_by_proofs_and_fsck() {
    let (dir, writer) = populated();
    // Level 1 index 0 (leaves 0..2) is inside the level-4 subtree, not on the frontier.
    tamper(&dir, "UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 0");
    let store = store(&dir);
    assert!(matches!(store.inclusion_proof(&writer.log, 3, 20), Err(StoreError::Corrupt(_))));
    assert!(!store.fsck(|_| {}).expect("fsck").is_ok());
}

#[test]
fn a_store_from_a_newer_cbm_is_refused() {
    let (dir, _) = populated();
    tamper(&dir, "PRAGMA user_version = 99");
    assert!(matches!(Store::open(&dir.path().join("store.sqlite")), Err(StoreError::TooNew { found: 99, .. })));
}

fn cosignature_of(checkpoint: &SignedCheckpoint, witness: &str, seed: u8) -> cbm_wire::Cosignature {
    let body = cbm_wire::CosignBody {
        witness: cbm_wire::SignatoryId::new(witness).expect("id"),
        checkpoint: checkpoint.body.clone(),
        cosigned_at: cbm_wire::Timestamp(checkpoint.body.timestamp.0 + 5),
    };
    cbm_wire::Signed::sign(
        body,
        &cbm_wire::AgreementHash([0x42; 32]),
        cbm_wire::KeyId(0),
        &cbm_wire::SigningKey::from_bytes(&[seed; 32]),
    )
}

#[test]
fn a_witness_append_stores_its_cosignature_in_the_same_transaction_and_keeps_the_first_receipt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store(&dir);
    let mut writer = LogWriter::new("AT", 1);
    let (entries, checkpoint) = writer.batch(5);
    let mut other = checkpoint.clone();
    other.body.size = 4;
    let wrong = cosignature_of(&other, "BE", 2);
    assert!(matches!(
        store.append_cosigned(&writer.log, &entries, &checkpoint, &wrong),
        Err(StoreError::Refused(AppendError::CosignatureOfAnotherCheckpoint))
    ));
    assert_eq!(store.size(&writer.log).expect("size"), 0, "a refused append stores nothing");
    let first = cosignature_of(&checkpoint, "BE", 2);
    store.append_cosigned(&writer.log, &entries, &checkpoint, &first).expect("append");
    assert_eq!(store.cosignatures(&writer.log).expect("read"), vec![first.clone()]);
    // A later cosignature of the same size by the same witness is not a new receipt.
    let mut later = first.clone();
    later.body.cosigned_at.0 += 1000;
    assert!(!store.add_cosignature(&later).expect("add"));
    let third = cosignature_of(&checkpoint, "CH", 3);
    assert!(store.add_cosignature(&third).expect("add"));
    assert_eq!(store.cosignatures_of(&checkpoint.body).expect("read"), vec![first, third]);
    assert_eq!(store.cosignature_count(&writer.log).expect("count"), 2);
    // In a group, one cosignature that cannot be stored does not fail the others.
    let mut huge = checkpoint.clone();
    huge.body.size = u64::MAX;
    let group = [cosignature_of(&checkpoint, "DE", 4), cosignature_of(&huge, "FR", 5)];
    assert_eq!(store.add_cosignatures(&group).expect("group"), vec![Some(true), None]);
    // A cosignature of a checkpoint the store does not hold is refused.
    let (_, unknown) = writer.batch(1);
    assert!(matches!(store.add_cosignature(&cosignature_of(&unknown, "BE", 2)), Err(StoreError::NotFound(_))));
}

/// A store with one log of 5 entries, two receipts of its checkpoint and one opening.
fn with_receipts_and_an_opening() -> (tempfile::TempDir, LogWriter, SignedCheckpoint) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store(&dir);
    let mut writer = LogWriter::new("AT", 1);
    let (entries, checkpoint) = writer.batch(5);
    store.append_cosigned(&writer.log, &entries, &checkpoint, &cosignature_of(&checkpoint, "BE", 2)).expect("append");
    store.add_cosignature(&cosignature_of(&checkpoint, "CH", 3)).expect("add");
    let opening = cbm_wire::Opening {
        entry: cbm_wire::EntryRef { signatory: writer.entry(1).body.signatory, index: 1, hash: writer.entry(1).hash() },
        field: 0,
        salt: cbm_wire::Salt([1; 32]),
        value: cbm_wire::Bytes(b"secret".to_vec()),
    };
    store.add_opening(&writer.log, &cbm_wire::SignatoryId::new("BE").expect("id"), &opening).expect("add");
    (dir, writer, checkpoint)
}

#[test]
fn a_version_3_store_is_migrated_with_its_receipts_and_openings_counted() {
    let (dir, writer, checkpoint) = with_receipts_and_an_opening();
    // Back to the version 3 layout: cosignatures keyed by witness first, no
    // counts, no agreement.
    tamper(
        &dir,
        "DROP TABLE published; DROP INDEX evidence_by_kind; ALTER TABLE evidence DROP COLUMN kind;
         DROP TABLE agreement; DROP TRIGGER count_receipts; DROP TRIGGER count_openings; DROP INDEX checkpoints_by_time;
         ALTER TABLE logs DROP COLUMN receipts; ALTER TABLE logs DROP COLUMN openings;
         CREATE TABLE v3 (log INTEGER NOT NULL REFERENCES logs(id), witness TEXT NOT NULL, size INTEGER NOT NULL,
             bytes BLOB NOT NULL, PRIMARY KEY (log, witness, size)) WITHOUT ROWID;
         INSERT INTO v3 SELECT log, witness, size, bytes FROM cosignatures;
         DROP TABLE cosignatures; ALTER TABLE v3 RENAME TO cosignatures;
         CREATE INDEX cosignatures_by_size ON cosignatures (log, size, witness);
         INSERT INTO openings (log_id, idx, field, recipient, bytes)
             SELECT zeroblob(32), 0, 0, 'BE', bytes FROM openings LIMIT 1;
         PRAGMA user_version = 3;",
    );
    let mut store = store(&dir);
    assert_eq!(store.cosignature_count(&writer.log).expect("count"), 2);
    assert_eq!(store.opening_count(&writer.log).expect("count"), 1);
    // Version 3 kept openings of logs it did not hold: they get a row, and are counted.
    assert_eq!(store.opening_count(&cbm_wire::LogId([0; 32])).expect("count"), 1);
    assert_eq!(store.cosignatures_of(&checkpoint.body).expect("read").len(), 2);
    assert!(store.add_cosignature(&cosignature_of(&checkpoint, "DE", 4)).expect("add"));
    assert_eq!(store.cosignature_count(&writer.log).expect("count"), 3);
    assert!(store.fsck(|_| {}).expect("fsck").is_ok());
}

#[test]
fn a_tampered_receipt_count_is_reported_by_fsck() {
    let (dir, _, _) = with_receipts_and_an_opening();
    assert!(store(&dir).fsck(|_| {}).expect("fsck").is_ok());
    tamper(&dir, "UPDATE logs SET receipts = 7");
    let report = store(&dir).fsck(|_| {}).expect("fsck");
    assert!(report.logs[0].problems.iter().any(|p| p.contains("counts 7 receipts, 2 are stored")), "{report:?}");
}

#[test]
fn gossiped_checkpoints_are_stored_only_if_they_agree_with_the_stored_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store(&dir);
    let mut writer = LogWriter::new("AT", 1);
    let (entries, _) = writer.batch(3);
    let older = writer.checkpoint();
    let (more, latest) = writer.batch(4);
    store.append(&writer.log, &[entries, more].concat(), &latest).expect("append");
    assert!(store.add_checkpoint(&older).expect("consistent older checkpoint"));
    assert!(!store.add_checkpoint(&older).expect("again"), "storing twice is a no-op");
    let mut forged = older.clone();
    forged.body.root = RootHash([9; 32]);
    assert!(matches!(store.add_checkpoint(&forged), Err(StoreError::Refused(AppendError::RootMismatch { .. }))));
    let mut ahead = latest.clone();
    ahead.body.size = 8;
    assert!(matches!(store.add_checkpoint(&ahead), Err(StoreError::Refused(AppendError::SizeMismatch { .. }))));
    assert_eq!(store.checkpoints(&writer.log).expect("read"), vec![older.clone(), latest]);
    assert_eq!(store.root_at(&writer.log, 3).expect("root"), older.body.root);
}

#[test]
fn evidence_and_openings_are_kept_once_and_openings_go_only_to_their_recipient() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store(&dir);
    let mut writer = LogWriter::new("AT", 1);
    let (entries, first) = writer.batch(2);
    let mut second = first.clone();
    second.body.root = RootHash([7; 32]);
    let evidence = cbm_log::evidence::same_size(&first, &second).expect("conflict");
    assert!(!store.holds_evidence(&evidence).expect("read"));
    assert!(store.add_evidence(&evidence).expect("add"));
    assert!(!store.add_evidence(&evidence).expect("again"));
    assert!(store.holds_evidence(&evidence).expect("read"));
    assert_eq!(store.evidence().expect("read"), vec![evidence]);

    let opening = cbm_wire::Opening {
        entry: cbm_wire::EntryRef {
            signatory: cbm_wire::SignatoryId::new("AT").expect("id"),
            index: 1,
            hash: writer.entry(1).hash(),
        },
        field: 0,
        salt: cbm_wire::Salt([1; 32]),
        value: cbm_wire::Bytes(b"secret".to_vec()),
    };
    let (be, ch) = (cbm_wire::SignatoryId::new("BE").expect("id"), cbm_wire::SignatoryId::new("CH").expect("id"));
    // Openings are kept only for a log the store holds.
    assert!(matches!(store.add_opening(&writer.log, &be, &opening), Err(StoreError::NotFound(_))));
    store.append(&writer.log, &entries, &first).expect("append");
    assert!(store.add_opening(&writer.log, &be, &opening).expect("add"));
    assert!(!store.add_opening(&writer.log, &be, &opening).expect("again"));
    assert_eq!(store.opening_count(&writer.log).expect("count"), 1);
    let read = |start, who| store.openings(&writer.log, start, Some(who), usize::MAX).expect("read").openings;
    assert_eq!(read(0, &be), vec![(be.clone(), opening.clone())]);
    assert!(read(0, &ch).is_empty());
    assert!(read(2, &be).is_empty());
}

#[test]
fn an_opening_beyond_its_own_limits_is_refused_before_it_is_stored_and_one_bad_row_never_fails_a_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut writer = LogWriter::new("AT", 1);
    let mut store = store(&dir);
    let (entries, checkpoint) = writer.batch(3);
    store.append(&writer.log, &entries, &checkpoint).expect("append");
    let opening = |index: u64, value: Vec<u8>| cbm_wire::Opening {
        entry: cbm_wire::EntryRef {
            signatory: cbm_wire::SignatoryId::new("AT").expect("id"),
            index,
            hash: writer.entry(index).hash(),
        },
        field: 0,
        salt: cbm_wire::Salt([1; 32]),
        value: cbm_wire::Bytes(value),
    };
    let be = cbm_wire::SignatoryId::new("BE").expect("id");
    // About 1 MiB passes in a 16 MiB response frame, but not on its own.
    let huge = opening(0, vec![7; cbm_wire::limits::MAX_ENTRY_BYTES]);
    assert!(matches!(
        store.add_opening(&writer.log, &be, &huge),
        Err(StoreError::Refused(AppendError::BeyondLimits { object: "opening", .. }))
    ));
    assert_eq!(store.opening_count(&writer.log).expect("count"), 0, "nothing was stored");
    for index in 0..3 {
        store.add_opening(&writer.log, &be, &opening(index, b"value".to_vec())).expect("add");
    }
    drop(store);
    // A row an older cbm stored beyond the limits, or damage: left out and
    // counted, never failing the read of the others.
    tamper(&dir, "UPDATE openings SET bytes = x'ff00' WHERE idx = 1");
    let store = self::store(&dir);
    let page = store.openings(&writer.log, 0, None, usize::MAX).expect("one bad row does not fail the read");
    assert_eq!(page.openings.iter().map(|(_, o)| o.entry.index).collect::<Vec<_>>(), [0, 2]);
    assert_eq!(page.unreadable, 1);
    let report = store.fsck(|_| {}).expect("fsck");
    assert!(report.logs.iter().any(|l| l.problems.iter().any(|p| p.contains("openings do not decode"))));
    // A byte budget ends a page after whole rows, keeping at least one.
    let first = store.openings(&writer.log, 0, None, 1).expect("read");
    assert_eq!((first.openings.len(), first.more), (1, true));
}

#[test]
fn staged_entries_survive_reopening_and_the_append_that_reaches_their_checkpoint_clears_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut writer = LogWriter::new("AT", 1);
    let (first, cosigned) = writer.batch(3);
    let (rest, target) = writer.batch(7);
    {
        let mut store = store(&dir);
        store.append(&writer.log, &first, &cosigned).expect("append");
        // A segment that would reach the target is refused, and stores nothing.
        assert!(matches!(
            store.stage(&writer.log, &rest, &target),
            Err(StoreError::Refused(AppendError::SizeMismatch { .. }))
        ));
        assert_eq!(store.size(&writer.log).expect("size"), 3);
        store.stage(&writer.log, &rest[..2], &target).expect("stage");
        store.stage(&writer.log, &rest[2..5], &target).expect("stage");
    }
    // Reopening checks the cosigned tree and accepts the staged entries past it.
    let mut store = store(&dir);
    assert_eq!(store.size(&writer.log).expect("size"), 8);
    assert_eq!(store.staged(&writer.log).expect("staged"), Some(target.clone()));
    assert_eq!(store.latest_checkpoint(&writer.log).expect("latest"), Some(cosigned));
    assert_eq!(store.entry(&writer.log, 6).expect("entry"), writer.entry(6));
    assert!(store.fsck(|_| {}).expect("fsck").is_ok());
    // The last piece comes with the checkpoint; nothing stays staged.
    store.append(&writer.log, &rest[5..], &target).expect("append");
    assert_eq!(store.staged(&writer.log).expect("staged"), None);
    assert!(store.fsck(|_| {}).expect("fsck").is_ok());
    drop(store);
    assert_eq!(self::store(&dir).size(&writer.log).expect("size"), 10);
}

#[test]
fn entries_past_the_latest_checkpoint_that_are_not_staged_are_reported_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut writer = LogWriter::new("AT", 1);
    let (first, cosigned) = writer.batch(3);
    let (rest, target) = writer.batch(4);
    {
        let mut store = store(&dir);
        store.append(&writer.log, &first, &cosigned).expect("append");
        store.stage(&writer.log, &rest[..2], &target).expect("stage");
    }
    tamper(&dir, "DELETE FROM staged");
    let opened = Store::open(&dir.path().join("store.sqlite"));
    assert!(matches!(opened, Err(StoreError::Corrupt(_))), "{opened:?}");
}

#[test]
fn a_read_transaction_ends_however_its_reads_end() {
    let (dir, mut writer) = populated();
    let reader = Store::open_reader(&dir.path().join("store.sqlite")).expect("reader");
    let failed: Result<(), StoreError> = reader.read(|_| Err(StoreError::NotFound("on purpose".into())));
    assert!(matches!(failed, Err(StoreError::NotFound(_))));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        reader.read(|_| -> Result<(), StoreError> { panic!("on purpose") })
    }));
    assert!(panicked.is_err());
    // Each ended its snapshot: a later read begins its own and sees a later append.
    let (entries, checkpoint) = writer.batch(1);
    store(&dir).append(&writer.log, &entries, &checkpoint).expect("append");
    assert_eq!(reader.read(|r| r.size(&writer.log)).expect("read"), 21);
}

#[test]
fn a_checkpoint_out_of_time_order_with_the_stored_ones_is_refused_on_arrival_naming_the_one_it_conflicts_with() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store(&dir);
    let mut writer = LogWriter::new("AT", 1);
    let (entries, five) = writer.batch(5);
    store.append(&writer.log, &entries, &five).expect("append");
    let (entries, eight) = writer.batch(3);
    store.append(&writer.log, &entries, &eight).expect("append");
    let future = cbm_wire::Timestamp(eight.body.timestamp.0 + 365 * 86_400_000);

    // An old size re-signed with a far-future time: refused, naming the
    // larger stored checkpoint timed before it; nothing is stored.
    let poison = writer.checkpoint_at(5, future);
    match store.add_checkpoint(&poison) {
        Err(StoreError::Refused(AppendError::OutOfTimeOrder { checkpoint, stored })) => {
            assert_eq!((*checkpoint, *stored), (poison.body.clone(), eight.clone()));
        }
        other => panic!("expected the poison to be refused, got {other:?}"),
    }
    assert_eq!(store.checkpoints(&writer.log).expect("read"), vec![five.clone(), eight.clone()]);
    // A smaller size timed between its neighbours, or the head re-signed
    // later, is in time order and is kept.
    let between = writer.checkpoint_at(5, cbm_wire::Timestamp(five.body.timestamp.0));
    assert!(!store.add_checkpoint(&between).expect("in order"), "the same checkpoint is already held");
    let later_head = writer.checkpoint_at(8, cbm_wire::Timestamp(eight.body.timestamp.0 + 10));
    assert!(store.add_checkpoint(&later_head).expect("in order"));
    // The next append must not be timed before the re-signed head.
    let (entries, mut eleven) = writer.batch(3);
    assert!(store.append(&writer.log, &entries, &eleven).is_err(), "timed before the head re-signed at +10");
    eleven = writer.checkpoint_at(11, later_head.body.timestamp);
    store.append(&writer.log, &entries, &eleven).expect("an equal time is in order");
}

#[test]
fn a_store_serves_one_agreement_and_refuses_another_naming_the_one_it_belongs_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = Agreement::adopt(&cbm_tests::samples::signed_roster()).expect("adopt");
    let mut roster = cbm_tests::samples::roster();
    roster.title = cbm_wire::Text::new("Another agreement").expect("title");
    let signatures = (0..3)
        .map(|i| {
            let id = cbm_wire::SignatoryId::new(cbm_tests::samples::SIGNATORIES[i]).expect("id");
            roster.sign_adoption(&id, cbm_wire::KeyId(0), &cbm_tests::samples::signing_key(i))
        })
        .collect();
    let other = Agreement::adopt(&cbm_wire::SignedRoster { roster, signatures }).expect("adopt");
    let mut store = store(&dir);
    store.bind_agreement(&sample).expect("bound on first use");
    store.bind_agreement(&sample).expect("the same agreement again");
    match store.bind_agreement(&other) {
        Err(StoreError::OtherAgreement { stored, expected }) => {
            assert_eq!((stored, expected), (*sample.hash(), *other.hash()));
        }
        other => panic!("expected another agreement to be refused, got {other:?}"),
    }
    // An unbound store (made by an older cbm) holding another agreement's logs.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = self::store(&dir);
    let mut writer = LogWriter::with_agreement("AT", 1, *sample.hash(), "n");
    let (entries, checkpoint) = writer.batch(1);
    store.append(&writer.log, &entries, &checkpoint).expect("append");
    assert!(matches!(store.bind_agreement(&other), Err(StoreError::LogsOfAnotherAgreement { .. })));
    store.bind_agreement(&sample).expect("its own agreement binds");
}

/// `count` items of evidence against `writer`'s log of the kind `make`
/// builds from its checkpoint and a forged one with root `k`.
fn forged_evidence(
    writer: &mut LogWriter,
    count: u8,
    make: fn(SignedCheckpoint, SignedCheckpoint) -> EquivocationEvidence,
) -> Vec<EquivocationEvidence> {
    let checkpoint = writer.checkpoint();
    (1..=count)
        .map(|k| {
            let mut forged = checkpoint.clone();
            forged.body.root = RootHash([k; 32]);
            make(checkpoint.clone(), forged)
        })
        .collect()
}

fn same_size(first: SignedCheckpoint, second: SignedCheckpoint) -> EquivocationEvidence {
    EquivocationEvidence::SameSize { first, second }
}

fn out_of_time_order(smaller: SignedCheckpoint, larger: SignedCheckpoint) -> EquivocationEvidence {
    EquivocationEvidence::OutOfTimeOrder { smaller, larger }
}

fn digest_of(evidence: &EquivocationEvidence) -> Digest {
    Digest(*blake3::hash(&evidence.encode()).as_bytes())
}

#[test]
fn evidence_a_peer_invents_beyond_the_cap_is_neither_stored_nor_wanted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store(&dir);
    let mut at = LogWriter::new("AT", 1);
    at.batch(2);
    let forks = forged_evidence(&mut at, 7, same_size);
    for (n, item) in (1u64..).zip(&forks) {
        let kept = n <= MAX_EVIDENCE_PER_LOG_AND_KIND;
        assert_eq!(store.wants_evidence(item).expect("read"), kept, "item {n}");
        assert_eq!(store.add_evidence(item).expect("add"), kept, "item {n}");
    }
    // Another kind of fault of the same log, and the same kind of another
    // log, are still kept.
    let late = forged_evidence(&mut at, 1, out_of_time_order);
    let mut be = LogWriter::new("BE", 2);
    be.batch(1);
    let other = forged_evidence(&mut be, 1, same_size);
    for item in late.iter().chain(&other) {
        assert!(store.wants_evidence(item).expect("read") && store.add_evidence(item).expect("add"));
    }
    assert_eq!(store.evidence().expect("read").len() as u64, MAX_EVIDENCE_PER_LOG_AND_KIND + 2);
}

#[test]
fn evidence_is_served_in_pages_by_digest_within_a_byte_budget_and_a_bad_row_is_left_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store(&dir);
    let mut all = Vec::new();
    for (name, seed) in [("AT", 1), ("BE", 2), ("CH", 3)] {
        let mut writer = LogWriter::new(name, seed);
        writer.batch(1);
        all.extend(forged_evidence(&mut writer, 4, same_size));
    }
    for item in &all {
        assert!(store.add_evidence(item).expect("add"));
    }
    all.sort_by_key(digest_of);
    // A budget of two and a half items: pages of two.
    let budget = all[0].encode().len() * 5 / 2;
    let (mut after, mut read) = (None, Vec::new());
    loop {
        let page = store.evidence_page(after.as_ref(), budget).expect("page");
        if page.evidence.is_empty() {
            assert!(!page.more);
            break;
        }
        assert!(page.evidence.len() <= 2 && page.unreadable == 0, "{page:?}");
        after = page.evidence.last().map(digest_of);
        read.extend(page.evidence);
    }
    assert_eq!(read, all);
    drop(store);
    tamper(&dir, "UPDATE evidence SET bytes = x'a100' WHERE digest = (SELECT min(digest) FROM evidence)");
    let page = self::store(&dir).evidence_page(None, usize::MAX).expect("page");
    assert_eq!((page.unreadable, page.evidence.as_slice()), (1, &all[1..]));
}

#[test]
fn a_version_5_store_is_migrated_with_the_kind_of_each_item_of_evidence_it_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store(&dir);
    let mut at = LogWriter::new("AT", 1);
    at.batch(1);
    let late = forged_evidence(&mut at, 5, out_of_time_order);
    let forks = forged_evidence(&mut at, 2, same_size);
    for item in late[..4].iter().chain(&forks[..1]) {
        assert!(store.add_evidence(item).expect("add"));
    }
    drop(store);
    tamper(
        &dir,
        "DROP TABLE published; DROP INDEX evidence_by_kind; ALTER TABLE evidence DROP COLUMN kind;
         PRAGMA user_version = 5;",
    );
    let store = self::store(&dir);
    assert!(!store.wants_evidence(&late[4]).expect("read"), "four items out of time order are held");
    assert!(store.wants_evidence(&forks[1]).expect("read"), "one item of same-size evidence is held");
}

#[test]
fn a_publication_key_is_stored_with_its_entries_or_not_at_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store(&dir);
    let mut writer = LogWriter::new("AT", 1);
    let (entries, checkpoint) = writer.batch(2);
    // Refused (the checkpoint does not match): neither entries nor key.
    let mut wrong = checkpoint.clone();
    wrong.body.size = 3;
    let draft = Digest([9; 32]);
    assert!(store.append_authored(&writer.log, &entries, &wrong, &[], Some(("draft:1", &draft))).is_err());
    assert_eq!(store.published_under("draft:1").expect("read"), None);
    store.append_authored(&writer.log, &entries, &checkpoint, &[], Some(("draft:1", &draft))).expect("append");
    let (more, later) = writer.batch(1);
    store.append_authored(&writer.log, &more, &later, &[], Some(("key:mine", &draft))).expect("append");
    drop(store);
    let store = self::store(&dir);
    let first = cbm_log::store::Publication { index: 0, size: 2, at: checkpoint.body.timestamp, draft };
    assert_eq!(store.published_under("draft:1").expect("read"), Some(first));
    assert_eq!(store.published_under("key:mine").expect("read").map(|p| (p.index, p.size)), Some((2, 3)));
    assert_eq!(store.published_under("key:other").expect("read"), None);
}

#[test]
fn a_version_7_store_is_migrated_and_publishes_under_keys_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(store(&dir));
    tamper(
        &dir,
        "DROP TABLE published;
         CREATE TABLE published (key TEXT PRIMARY KEY, idx INTEGER NOT NULL, size INTEGER NOT NULL, at INTEGER NOT NULL);
         INSERT INTO published VALUES ('key:old', 0, 1, 5);
         PRAGMA user_version = 7;",
    );
    let mut store = store(&dir);
    // Version 7 kept no draft digests: what it recorded is dropped.
    assert_eq!(store.published_under("key:old").expect("read"), None);
    let mut writer = LogWriter::new("AT", 1);
    let (entries, checkpoint) = writer.batch(1);
    let draft = Digest([3; 32]);
    store.append_authored(&writer.log, &entries, &checkpoint, &[], Some(("key:new", &draft))).expect("append");
    assert_eq!(store.published_under("key:new").expect("read").map(|p| p.draft), Some(draft));
}
