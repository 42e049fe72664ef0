//! Deterministic sample objects: the content of the spec test vectors and the
//! seeds of the fuzz corpus. Keys come from fixed seeds, so every byte is
//! reproducible.

use cbm_wire::{
    Address, AgreementHash, AgreementId, BUNDLE_FORMAT_VERSION, BundleEnd, BundleHeader, BundleRecord, Bytes, Cadence,
    Checkpoint, Commitment, ConsistencyProof, CosignBody, Cosignature, Digest, Entry, EntryHash, EntryKind, EntryProof,
    EntryRef, EquivocationEvidence, ErrorCode, Field, FieldPosition, InclusionProof, KeyId, Label, LogId, MediaType,
    Opening, PublicKey, QuorumPolicy, Request, Response, RootHash, Roster, RosterLimits, Salt, Schedule, Signatory,
    SignatoryId, Signed, SignedCheckpoint, SignedEntry, SignedRoster, SigningKey, SigningKeyInfo, StatusChange, Text,
    TimeSpan, Timestamp, Topic, TreeHash,
};

/// The sample signatories, in roster order.
pub const SIGNATORIES: [&str; 3] = ["AT", "DE", "FI"];

/// 2026-01-01T00:00:00Z, the start of every sample schedule.
pub const EPOCH: Timestamp = Timestamp(1_767_225_600_000);

/// The seed of signatory `i`'s signing key (`i + 1` repeated 32 times).
pub fn signing_seed(i: usize) -> [u8; 32] {
    [u8::try_from(i + 1).unwrap_or(u8::MAX); 32]
}

/// Signatory `i`'s signing key, key id 0.
pub fn signing_key(i: usize) -> SigningKey {
    SigningKey::from_bytes(&signing_seed(i))
}

fn transport_key(i: usize) -> SigningKey {
    SigningKey::from_bytes(&[u8::try_from(0x80 + i).unwrap_or(u8::MAX); 32])
}

fn id(s: &str) -> SignatoryId {
    SignatoryId::new(s).expect("sample id")
}

fn topic(s: &str) -> Topic {
    Topic::new(s).expect("sample topic")
}

fn text(s: &str) -> Text {
    Text::new(s).expect("sample text")
}

/// The sample agreement: three signatories, a monthly and a 30-day schedule.
pub fn roster() -> Roster {
    let names = ["Republic of Austria", "Federal Republic of Germany", "Republic of Finland"];
    let signatories = SIGNATORIES
        .iter()
        .zip(names)
        .enumerate()
        .map(|(i, (sid, name))| Signatory {
            id: id(sid),
            name: text(name),
            signing_keys: vec![SigningKeyInfo {
                id: KeyId(0),
                key: PublicKey::of(&signing_key(i)),
                valid_from: EPOCH,
                valid_until: None,
            }],
            transport_key: PublicKey::of(&transport_key(i)),
            addresses: vec![Address::new(format!("127.0.0.1:{}", 7400 + i)).expect("sample address")],
        })
        .collect();
    Roster {
        agreement: AgreementId::new("sample-cbm").expect("sample id"),
        version: 1,
        title: text("Sample confidence-building measures"),
        signatories,
        schedules: vec![
            Schedule {
                topic: topic("points-of-contact"),
                cadence: Cadence::Months { months: 1 },
                start: EPOCH,
                due_offset: TimeSpan::from_days(7),
                ack_window: TimeSpan::from_hours(48),
                applies_to: None,
            },
            Schedule {
                topic: topic("national-policy"),
                cadence: Cadence::Every { span: TimeSpan::from_days(30) },
                start: EPOCH,
                due_offset: TimeSpan::from_days(14),
                ack_window: TimeSpan::from_hours(24),
                applies_to: Some(vec![id("AT"), id("DE")]),
            },
        ],
        quorum: QuorumPolicy { threshold: 2 },
        limits: RosterLimits::default(),
        previous: None,
        notices: vec![],
    }
}

/// The sample roster with a hotline: notifications on `incident` are to be
/// acknowledged within an hour.
pub fn roster_with_notices() -> Roster {
    Roster {
        notices: vec![cbm_wire::Notice { topic: topic("incident"), ack_window: TimeSpan::from_hours(1) }],
        ..roster()
    }
}

/// The sample roster adopted by all three signatories.
pub fn signed_roster() -> SignedRoster {
    adopted(roster())
}

/// `roster` (the sample roster, changed) adopted by the three sample
/// signatories with their sample keys.
pub fn adopted(roster: Roster) -> SignedRoster {
    let signatures = SIGNATORIES
        .iter()
        .enumerate()
        .map(|(i, sid)| roster.sign_adoption(&id(sid), KeyId(0), &signing_key(i)))
        .collect();
    SignedRoster { roster, signatures }
}

/// The sample agreement hash.
pub fn agreement() -> AgreementHash {
    roster().agreement_hash()
}

/// The salt of the committed field in [`declaration`] (fixed for vectors;
/// real salts are 32 random bytes).
pub const SALT: Salt = Salt([0x5a; 32]);

/// The secret value behind the committed field of [`declaration`].
pub const COMMITTED_VALUE: &[u8] = b"+43 1 000 000 (24/7 duty officer)";

fn plain(label: &str, value: &str) -> Field {
    Field::Plain {
        label: Label::new(label).expect("sample label"),
        media_type: MediaType::new("text/plain").expect("sample media type"),
        value: Bytes::from(value.as_bytes()),
    }
}

fn entry(index: u64, kind: EntryKind, fields: Vec<Field>) -> Entry {
    Entry {
        agreement: agreement(),
        signatory: id("AT"),
        index,
        issued_at: Timestamp(EPOCH.0 + 86_400_000 * (index + 1)),
        kind,
        fields,
    }
}

/// AT's entry 0: the points-of-contact declaration for period 0, with one
/// plain and one committed field.
pub fn declaration() -> SignedEntry {
    let label = Label::new("contact.phone").expect("sample label");
    let media_type = MediaType::new("text/plain").expect("sample media type");
    let agreement = agreement();
    let signatory = id("AT");
    let position = FieldPosition {
        agreement: &agreement,
        signatory: &signatory,
        index: 0,
        field: 1,
        label: &label,
        media_type: &media_type,
    };
    let commitment = Commitment::compute(&SALT, &position, COMMITTED_VALUE);
    let fields = vec![plain("contact.email", "cert@example.at"), Field::Committed { label, media_type, commitment }];
    sign_entry(entry(0, EntryKind::Declaration { topic: topic("points-of-contact"), period: 0 }, fields))
}

/// Signs `entry` as AT (signatory 0) with key 0.
pub fn sign_entry(entry: Entry) -> SignedEntry {
    Signed::sign(entry, &agreement(), KeyId(0), &signing_key(0))
}

fn reference(entry: &SignedEntry) -> EntryRef {
    EntryRef { signatory: entry.body.signatory.clone(), index: entry.body.index, hash: entry.hash() }
}

/// One signed entry of every kind, named, all in AT's log.
pub fn entries() -> Vec<(&'static str, SignedEntry)> {
    let declaration = declaration();
    let cited = EntryRef { signatory: id("DE"), index: 3, hash: EntryHash([0xde; 32]) };
    let new_key = SigningKeyInfo {
        id: KeyId(1),
        key: PublicKey::of(&SigningKey::from_bytes(&[0x11; 32])),
        valid_from: Timestamp(EPOCH.0 + 86_400_000 * 30),
        valid_until: None,
    };
    let possession = cbm_wire::sign_message(
        &SigningKey::from_bytes(&[0x11; 32]),
        &new_key.possession_message(&agreement(), &id("AT")),
    );
    let kinds = vec![
        ("no-change", EntryKind::NoChange { topic: topic("national-policy"), period: 0 }, vec![]),
        (
            "notification",
            EntryKind::Notification { topic: topic("incident") },
            vec![plain("summary", "DDoS on ministry portal, mitigated")],
        ),
        (
            "amendment",
            EntryKind::Amendment { amends: reference(&declaration), reason: text("e-mail address changed") },
            vec![plain("contact.email", "duty@example.at")],
        ),
        (
            "objection",
            EntryKind::Objection { cites: cited.clone(), reason: text("cannot confirm the declared contact") },
            vec![],
        ),
        ("response", EntryKind::Response { cites: cited }, vec![plain("answer", "contact verified by phone")]),
        ("request", EntryKind::Request { to: vec![id("FI")], reply_by: Timestamp(EPOCH.0 + 86_400_000 * 20) }, vec![]),
        (
            "status",
            EntryKind::Status {
                topic: topic("national-policy"),
                change: StatusChange::Suspend,
                effective_from: Timestamp(EPOCH.0 + 86_400_000 * 40),
            },
            vec![],
        ),
        ("key-rotation", EntryKind::KeyRotation { new_key, possession }, vec![]),
    ];
    let mut out = vec![("declaration", declaration)];
    for (i, (name, kind, fields)) in kinds.into_iter().enumerate() {
        out.push((name, sign_entry(entry(i as u64 + 1, kind, fields))));
    }
    out
}

/// The opening of the committed field of [`declaration`].
pub fn opening() -> Opening {
    Opening { entry: reference(&declaration()), field: 1, salt: SALT, value: Bytes::from(COMMITTED_VALUE) }
}

/// AT's checkpoint of a 9-entry log (root is a fixed sample, not computed).
pub fn checkpoint(root: u8) -> SignedCheckpoint {
    let body = Checkpoint {
        log: LogId::derive(&agreement(), &id("AT")),
        size: 9,
        root: RootHash([root; 32]),
        timestamp: Timestamp(EPOCH.0 + 86_400_000 * 10),
    };
    Signed::sign(body, &agreement(), KeyId(0), &signing_key(0))
}

/// DE's cosignature of [`checkpoint`].
pub fn cosignature() -> Cosignature {
    let body = CosignBody {
        witness: id("DE"),
        checkpoint: checkpoint(0xaa).body,
        cosigned_at: Timestamp(EPOCH.0 + 86_400_000 * 10 + 1500),
    };
    Signed::sign(body, &agreement(), KeyId(0), &signing_key(1))
}

fn path(n: u8) -> Vec<TreeHash> {
    (0..n).map(|i| TreeHash([0x40 + i; 32])).collect()
}

/// A single-entry proof (its Merkle path is a fixed sample).
pub fn entry_proof() -> EntryProof {
    EntryProof {
        roster: signed_roster(),
        entry: declaration(),
        inclusion: InclusionProof { index: 0, size: 9, path: path(4) },
        checkpoint: checkpoint(0xaa),
        cosignatures: vec![cosignature()],
    }
}

/// The three forms of evidence (structurally; see cbm-log for real ones).
pub fn evidence() -> Vec<(&'static str, EquivocationEvidence)> {
    let mut older = checkpoint(0xbb).body;
    older.size = 5;
    let older = Signed::sign(older, &agreement(), KeyId(0), &signing_key(0));
    // Size 5 re-signed a year after the 9-entry checkpoint.
    let mut late = older.body.clone();
    late.timestamp = Timestamp(late.timestamp.0 + 86_400_000 * 365);
    let late = Signed::sign(late, &agreement(), KeyId(0), &signing_key(0));
    vec![
        ("same-size", EquivocationEvidence::SameSize { first: checkpoint(0xaa), second: checkpoint(0xcc) }),
        (
            "inconsistent",
            EquivocationEvidence::Inconsistent {
                older,
                newer: checkpoint(0xaa),
                proof: ConsistencyProof { old_size: 5, new_size: 9, path: path(3) },
            },
        ),
        ("out-of-time-order", EquivocationEvidence::OutOfTimeOrder { smaller: late, larger: checkpoint(0xaa) }),
    ]
}

/// A bundle's first records.
pub fn bundle_records() -> Vec<(&'static str, BundleRecord)> {
    vec![
        (
            "header",
            BundleRecord::Header {
                header: BundleHeader {
                    format_version: BUNDLE_FORMAT_VERSION,
                    created_at: Timestamp(EPOCH.0 + 86_400_000 * 60),
                    public: true,
                },
            },
        ),
        ("entry", BundleRecord::Entry { entry: declaration() }),
        ("end", BundleRecord::End { end: BundleEnd { records: 2, digest: Digest([0x3c; 32]) } }),
    ]
}

/// Sample requests.
pub fn requests() -> Vec<(&'static str, Request)> {
    let log = LogId::derive(&agreement(), &id("AT"));
    vec![
        ("latest-checkpoint", Request::LatestCheckpoint { log }),
        ("entries", Request::Entries { log, start: 0, count: 100 }),
        ("push-checkpoint", Request::PushCheckpoint { checkpoint: checkpoint(0xaa) }),
        ("evidence", Request::Evidence { after: None }),
        ("evidence-after", Request::Evidence { after: Some(Digest([0x5e; 32])) }),
    ]
}

/// Sample responses.
pub fn responses() -> Vec<(&'static str, Response)> {
    vec![
        ("checkpoint-none", Response::Checkpoint { checkpoint: None }),
        ("entries", Response::Entries { entries: vec![declaration()] }),
        ("accepted", Response::Accepted),
        ("error", Response::Error { code: ErrorCode::OutOfRange, message: text("index 12 is past size 9") }),
    ]
}
