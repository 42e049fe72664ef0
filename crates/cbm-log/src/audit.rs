//! The offline audit of a bundle (spec/log.md §7): every signature, every
//! tree, every checkpoint and cosignature checked in one streaming pass, and
//! each signatory's record judged against the schedules on receipts.
//!
//! Memory grows with the number of signatories, checkpoints, cosignatures,
//! citations, committed fields and entries kept for judging, and by 32
//! bytes per entry (the entry hashes citations are checked against): see
//! spec/log.md §7.4.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;

use cbm_wire::{
    BUNDLE_FORMAT_VERSION, BundleEnd, BundleRecord, Checkpoint, Cosignature, EntryHash, EntryKind, EntryRef,
    EquivocationEvidence, Field, LogId, Opening, SignatoryId, SignedCheckpoint, SignedEntry, SigningKeyInfo,
    StatusChange, Timestamp, Topic, TreeHash,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::agreement::Agreement;
use crate::answers::{Answer, AnswerSummary, Responses, Tally, judge_answers};
use crate::bundle::{BundleError, BundleReader, EndDigest, decode_record};
use crate::evidence::verify_evidence;
use crate::findings::{self, Finding};
use crate::merkle::Frontier;
use crate::rules::{LogView, Precheck, check_prechecked};
use crate::schedule::{AckProblem, AckSummary, PeriodReport, Receipts, judge_record, kept_for_judging};

/// The version of the report's JSON form (spec/log.md §7.2).
pub const REPORT_VERSION: u32 = 2;

/// Reads a report version, refusing one this build does not know.
fn known_report_version<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let version = u32::deserialize(deserializer)?;
    if version == REPORT_VERSION {
        Ok(version)
    } else {
        Err(serde::de::Error::custom(format!("report version {version} (this cbm reads {REPORT_VERSION})")))
    }
}

/// The overall verdict, and the CLI's exit code for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Everything verifies and every obligation was met.
    Ok,
    /// Everything verifies, but there are findings: equivocation, late or
    /// missing declarations or acknowledgements.
    Findings,
    /// Something does not verify: the bundle cannot be trusted.
    Invalid,
}

/// An objection to one of a signatory's entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objected {
    /// The index of the entry objected to.
    pub entry: u64,
    /// Who objected.
    pub by: SignatoryId,
}

/// What the audit found about one signatory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatoryReport {
    /// The signatory.
    pub signatory: Option<SignatoryId>,
    /// Entries in its log.
    pub entries: u64,
    /// Checkpoints of its log.
    pub checkpoints: u64,
    /// Largest checkpoint size cosigned by the roster's quorum.
    pub settled_size: u64,
    /// Amendments it made.
    pub amendments: u64,
    /// Objections it raised.
    pub objections: u64,
    /// Its entries others objected to, in bundle order: each entry and who
    /// objected.
    pub objected: Vec<Objected>,
    /// Status changes (suspend, resume, withdraw) it declared.
    pub status_changes: u64,
    /// Every accepted checkpoint of its log and the cosignatures it gathered.
    pub checkpoint_quorums: Vec<CheckpointQuorum>,
    /// How it kept its obligations. Empty when the verdict is
    /// [`Verdict::Invalid`]: they are then in [`AuditReport::unestablished`].
    #[serde(flatten)]
    pub judged: Judgements,
}

/// How one signatory kept its obligations, judged on receipts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgements {
    /// Every scheduled period, judged on receipts.
    pub periods: Vec<PeriodReport>,
    /// Acknowledgements of its scheduled entries that were late or missing.
    pub ack_problems: Vec<AckProblem>,
    /// Acknowledgements of its scheduled entries per recipient, with their delays.
    pub acknowledgements: Vec<AckSummary>,
    /// Answers to its requests that were late or are missing (§5.5).
    #[serde(default)]
    pub answer_problems: Vec<Answer>,
    /// Per party its requests asked, in the bytewise order of their ids:
    /// how it answered them.
    #[serde(default)]
    pub answers: Vec<AnswerSummary>,
    /// Whether it was caught equivocating.
    pub equivocated: bool,
    /// Each split view the evidence shows, in bundle order, a pair of
    /// checkpoints once whatever its order, with who was shown which side
    /// as far as the bundle tells (at most [`MAX_SPLIT_VIEWS`]).
    #[serde(default)]
    pub split_views: Vec<SplitView>,
    /// Whether it signed checkpoints whose times run against their sizes
    /// (a larger one timed before a smaller one), in the bundle's
    /// checkpoints or in evidence.
    pub out_of_time_order: bool,
}

/// Split views reported per signatory, at most: each is one item of
/// evidence, and a hostile bundle may carry any number of them.
pub const MAX_SPLIT_VIEWS: usize = 16;

/// Two checkpoints of one log that cannot both be honest, from `SameSize`
/// or `Inconsistent` evidence: the two views the owner showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitView {
    /// The two sides, in the evidence's order (`first`, `second`; or
    /// `older`, `newer`).
    pub views: [View; 2],
}

/// One side of a split view, and who the bundle shows was shown it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct View {
    /// The checkpoint's size.
    pub size: u64,
    /// Its root.
    pub root: cbm_wire::RootHash,
    /// The time the owner signed it at.
    pub timestamp: Timestamp,
    /// Whether it is an accepted checkpoint of the bundle's log: the view
    /// the exporter held.
    pub in_bundle: bool,
    /// Witnesses (bytewise order) with an accepted cosignature of it or,
    /// when it is in the bundle, of a larger accepted checkpoint of the
    /// log, which extends it: the parties the bundle shows were shown it.
    pub cosigned_by: Vec<SignatoryId>,
}

/// What the records read of an invalid bundle would say about one
/// signatory's obligations. Not established: the bundle cannot be trusted
/// (a truncated bundle lacks the entries that would have met a deadline),
/// so no one is accused on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unestablished {
    /// The signatory.
    pub signatory: SignatoryId,
    /// What its record read so far would show.
    #[serde(flatten)]
    pub judged: Judgements,
}

/// One checkpoint of a log and its cosignatures, as the audit accepted them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointQuorum {
    /// Its size.
    pub size: u64,
    /// Its time.
    pub timestamp: Timestamp,
    /// Distinct witnesses whose cosignature of it verifies.
    pub cosigners: u64,
    /// Whether they reach the roster's quorum.
    pub settled: bool,
}

/// The audit's result. Its JSON form is normative (spec/log.md §7.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditReport {
    /// The version of this form: [`REPORT_VERSION`]; a report of another
    /// version is refused when read.
    #[serde(deserialize_with = "known_report_version")]
    pub report_version: u32,
    /// The verdict.
    pub verdict: Verdict,
    /// Agreement name, if the roster was read.
    pub agreement: Option<String>,
    /// The agreement hash of the bundle's roster, if it was read — also
    /// when the roster is refused: it is the hash the audit checked. A
    /// bundle carries its own roster: only an agreement hash obtained
    /// through a trusted channel tells a verifier it is the agreement it
    /// expects (pass it to [`audit`] as `expected`; see `pinned`).
    pub agreement_hash: Option<cbm_wire::AgreementHash>,
    /// Whether the audit was given the agreement hash to expect. Without
    /// it the report is *unpinned*: it shows only that some roster,
    /// adopted by its own keys, says so.
    pub pinned: bool,
    /// The instant the obligations were judged as of.
    pub now: Timestamp,
    /// Records read.
    pub records: u64,
    /// Per signatory, in roster order.
    pub signatories: Vec<SignatoryReport>,
    /// Problems that make the bundle invalid.
    pub problems: Vec<String>,
    /// The findings of the signatory reports, in words and as data; none
    /// when the verdict is [`Verdict::Invalid`].
    pub findings: Vec<Finding>,
    /// How each state answered the communication checks of all the others
    /// (spec/log.md §5.6), one summary per state asked, in the bytewise
    /// order of their ids; none when the verdict is [`Verdict::Invalid`].
    #[serde(default)]
    pub checks: Vec<AnswerSummary>,
    /// When the verdict is [`Verdict::Invalid`]: per signatory, the
    /// judgements the records read would give, kept apart from
    /// `signatories` because they are not established. Empty otherwise.
    pub unestablished: Vec<Unestablished>,
}

/// Per-log state during the pass.
struct LogState {
    owner: SignatoryId,
    frontier: Frontier,
    /// Entry hash of every accepted entry, for citations (32 bytes each).
    hashes: Vec<EntryHash>,
    /// The latest status change per scheduled topic, for the status rules.
    status: BTreeMap<Topic, StatusChange>,
    checkpoints: Vec<SignedCheckpoint>,
    /// The bodies of `checkpoints`, for the cosignatures that follow.
    checkpoint_bodies: HashSet<Checkpoint>,
    /// The latest time of the accepted checkpoints smaller than the last.
    latest_smaller: Option<Timestamp>,
    cosignatures: Vec<Cosignature>,
    kept: Vec<SignedEntry>,
    rotated: Vec<SigningKeyInfo>,
    /// The two checkpoints of each item of valid equivocation evidence
    /// naming the owner, at most [`MAX_SPLIT_VIEWS`]; a pair already held,
    /// in either order, is not held twice.
    forks: Vec<[Checkpoint; 2]>,
    /// The committed fields of accepted entries, by (entry index, field
    /// number), to check openings against (their values are not kept).
    committed: BTreeMap<(u64, u32), Field>,
    report: SignatoryReport,
}

struct Auditor {
    expected: Option<cbm_wire::AgreementHash>,
    /// The agreement hash of the bundle's roster record, adopted or not.
    roster_hash: Option<cbm_wire::AgreementHash>,
    agreement: Option<Agreement>,
    ended: bool,
    logs: BTreeMap<LogId, LogState>,
    problems: Problems,
    /// Records that could not be checked for want of an adopted roster.
    unchecked: u64,
    records: u64,
    /// What the end record must state about the records so far.
    digest: EndDigest,
    /// Whether the header says the bundle is public (it then carries no openings).
    public: bool,
    /// Citations of other logs' entries, checked once every log is read:
    /// (record position, citing signatory, citation).
    citations: Vec<(u64, SignatoryId, EntryRef)>,
}

/// The logs read so far, as the entry rules see them (spec/log.md §7.1
/// step 7.2). A citation of another log's entry is assumed to hold here and
/// checked at the end (step 14.0), since the cited log may come later.
struct AuditView<'a> {
    agreement: &'a Agreement,
    logs: &'a BTreeMap<LogId, LogState>,
    cited: Option<&'a EntryRef>,
    owner: &'a SignatoryId,
}

impl LogView for AuditView<'_> {
    fn size(&self, signatory: &SignatoryId) -> u64 {
        self.logs.get(&self.agreement.log_of(signatory)).map_or(0, |l| l.frontier.size())
    }

    fn entry_hash(&self, signatory: &SignatoryId, index: u64) -> Option<EntryHash> {
        match self.cited {
            Some(cited) if signatory != self.owner && cited.signatory == *signatory && cited.index == index => {
                Some(cited.hash)
            }
            _ => self.logs.get(&self.agreement.log_of(signatory)).and_then(|l| l.hashes.get(index as usize).copied()),
        }
    }

    fn rotated_keys(&self, signatory: &SignatoryId) -> Vec<SigningKeyInfo> {
        self.logs.get(&self.agreement.log_of(signatory)).map_or_else(Vec::new, |l| l.rotated.clone())
    }

    fn status(&self, signatory: &SignatoryId, topic: &Topic) -> Option<StatusChange> {
        self.logs.get(&self.agreement.log_of(signatory)).and_then(|l| l.status.get(topic).copied())
    }
}

/// Problems listed in a report; past this many only their number is kept,
/// so a hostile bundle cannot make the report grow with its length.
const MAX_PROBLEMS: usize = 1000;

/// The problems found, the first [`MAX_PROBLEMS`] in full.
#[derive(Default)]
struct Problems {
    list: Vec<String>,
    more: u64,
}

impl Problems {
    fn push(&mut self, problem: String) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(problem);
        } else {
            self.more += 1;
        }
    }
}

/// What is checked of a record on every core before the sequential pass.
enum Prechecked {
    /// An entry's hash, size and signature.
    Entry(Precheck),
    /// Whether a checkpoint's or cosignature's signature verifies.
    Signature(bool),
    /// Nothing (other records).
    Nothing,
}

impl Prechecked {
    /// Prechecks `record`, decoded from `bytes`.
    fn of(agreement: &Agreement, record: &BundleRecord, bytes: &[u8]) -> Self {
        match record {
            BundleRecord::Entry { entry } => Self::Entry(match BundleRecord::entry_encoding(bytes) {
                Some(encoded) => Precheck::of_decoded(agreement, entry, encoded),
                None => Precheck::of(agreement, entry),
            }),
            BundleRecord::Checkpoint { checkpoint } => Self::Signature(agreement.verify_checkpoint(checkpoint).is_ok()),
            BundleRecord::Cosignature { cosignature } => {
                Self::Signature(agreement.verify_cosignature(cosignature).is_ok())
            }
            _ => Self::Nothing,
        }
    }
}

impl Auditor {
    /// Applies the sequential rules to a batch decoded and prechecked by
    /// [`decode_batch`], in order. Returns `false` at a record that does not
    /// decode: the audit stops there.
    fn batch(&mut self, batch: DecodedBatch) -> bool {
        for (bytes, decoded) in batch {
            let (record, precheck) = match decoded {
                Ok(decoded) => decoded,
                Err(e) => {
                    self.problems.push(bundle_problem(&e));
                    return false;
                }
            };
            let expected_end = match record {
                BundleRecord::End { .. } => Some(self.digest.end()),
                _ => {
                    self.digest.add(&bytes);
                    None
                }
            };
            self.record(record, expected_end, precheck);
        }
        true
    }

    /// The roster record: adopted, and checked against the expected
    /// agreement hash if one was given.
    fn roster(&mut self, roster: &cbm_wire::SignedRoster) {
        self.roster_hash = Some(roster.roster.agreement_hash());
        match Agreement::adopt(roster) {
            Ok(agreement) if self.expected.is_some_and(|h| h != *agreement.hash()) => {
                let expected = self.expected.map(|h| h.to_string()).unwrap_or_default();
                self.problems
                    .push(format!("roster: agreement hash {} is not the expected {expected}", agreement.hash()));
            }
            Ok(agreement) => {
                self.logs = agreement
                    .roster()
                    .signatories
                    .iter()
                    .map(|s| {
                        let report = SignatoryReport { signatory: Some(s.id.clone()), ..SignatoryReport::default() };
                        let state = LogState {
                            owner: s.id.clone(),
                            frontier: Frontier::empty(),
                            hashes: Vec::new(),
                            status: BTreeMap::new(),
                            checkpoints: Vec::new(),
                            checkpoint_bodies: HashSet::new(),
                            latest_smaller: None,
                            cosignatures: Vec::new(),
                            kept: Vec::new(),
                            rotated: Vec::new(),
                            forks: Vec::new(),
                            committed: BTreeMap::new(),
                            report,
                        };
                        (agreement.log_of(&s.id), state)
                    })
                    .collect();
                self.agreement = Some(agreement);
            }
            Err(e) => self.problems.push(format!("roster: {e}")),
        }
    }

    fn record(&mut self, record: BundleRecord, expected_end: Option<BundleEnd>, precheck: Option<Prechecked>) {
        self.records += 1;
        let position = self.records;
        if self.ended {
            self.problems.push(format!("record {position}: records after the end record"));
            return;
        }
        match (record, &self.agreement) {
            (BundleRecord::End { end }, _) => {
                self.ended = true;
                if Some(end) != expected_end {
                    self.problems.push(
                        "the end record does not match the bundle: records were changed, added or removed".into(),
                    );
                }
            }
            (BundleRecord::Header { header }, _) if position == 1 => {
                if header.format_version != BUNDLE_FORMAT_VERSION {
                    self.problems.push(format!("bundle format version {} is not supported", header.format_version));
                }
                self.public = header.public;
            }
            (BundleRecord::Roster { roster }, _) if position == 2 => self.roster(&roster),
            (BundleRecord::Header { .. } | BundleRecord::Roster { .. }, _) => {
                self.problems.push(format!("record {position}: header and roster must be the first two records"));
            }
            (_, None) if self.unchecked == 0 => {
                self.unchecked += 1;
                self.problems.push(format!("record {position} and later: no adopted roster before them; not checked"));
            }
            (_, None) => self.unchecked += 1,
            (BundleRecord::Entry { entry }, Some(agreement)) => {
                let precheck = match precheck {
                    Some(Prechecked::Entry(precheck)) => precheck,
                    _ => Precheck::of(agreement, &entry),
                };
                self.entry(position, entry, &precheck);
            }
            (BundleRecord::Checkpoint { checkpoint }, Some(agreement)) => {
                let verified = match precheck {
                    Some(Prechecked::Signature(verified)) => verified,
                    _ => agreement.verify_checkpoint(&checkpoint).is_ok(),
                };
                self.checkpoint(position, checkpoint, verified);
            }
            (BundleRecord::Cosignature { cosignature }, Some(agreement)) => {
                let verified = match precheck {
                    Some(Prechecked::Signature(verified)) => verified,
                    _ => agreement.verify_cosignature(&cosignature).is_ok(),
                };
                self.cosignature(position, cosignature, verified);
            }
            (BundleRecord::Evidence { evidence }, Some(agreement)) => {
                match verify_evidence(agreement.roster(), &evidence) {
                    Ok(owner) => {
                        let log = agreement.log_of(&owner);
                        if let Some(state) = self.logs.get_mut(&log) {
                            let judged = &mut state.report.judged;
                            let fork = match evidence {
                                EquivocationEvidence::OutOfTimeOrder { .. } => {
                                    judged.out_of_time_order = true;
                                    None
                                }
                                EquivocationEvidence::SameSize { first: a, second: b }
                                | EquivocationEvidence::Inconsistent { older: a, newer: b, .. } => {
                                    judged.equivocated = true;
                                    Some([a.body, b.body])
                                }
                            };
                            let known = |[a, b]: &[Checkpoint; 2]| {
                                state.forks.iter().any(|f| (f[0] == *a && f[1] == *b) || (f[0] == *b && f[1] == *a))
                            };
                            if let Some(fork) = fork
                                && state.forks.len() < MAX_SPLIT_VIEWS
                                && !known(&fork)
                            {
                                state.forks.push(fork);
                            }
                        }
                    }
                    Err(e) => self.problems.push(format!("record {position}: evidence does not verify: {e}")),
                }
            }
            (BundleRecord::Opening { opening }, Some(_)) => self.opening(position, &opening),
        }
    }

    fn entry(&mut self, position: u64, entry: SignedEntry, precheck: &Precheck) {
        let Some(agreement) = &self.agreement else { return };
        let log = agreement.log_of(&entry.body.signatory);
        if !self.logs.contains_key(&log) {
            self.problems.push(format!("record {position}: entry by non-signatory {}", entry.body.signatory));
            return;
        }
        let cited = match &entry.body.kind {
            EntryKind::Objection { cites, .. } | EntryKind::Response { cites } => Some(cites),
            _ => None,
        };
        let view = AuditView { agreement, logs: &self.logs, cited, owner: &entry.body.signatory };
        if let Err(problem) = check_prechecked(agreement, &view, &entry, precheck) {
            let (index, who) = (entry.body.index, &entry.body.signatory);
            self.problems.push(format!("record {position}: entry {index} of {who}: {problem}"));
            return;
        }
        if let Some(cited) = cited {
            self.citations.push((position, entry.body.signatory.clone(), cited.clone()));
        }
        if let EntryKind::Objection { cites, .. } = &entry.body.kind
            && let Some(cited) = self.logs.get_mut(&agreement.log_of(&cites.signatory))
        {
            cited.report.objected.push(Objected { entry: cites.index, by: entry.body.signatory.clone() });
        }
        let Some(state) = self.logs.get_mut(&log) else { return };
        let hash = precheck.hash;
        let mut created = Vec::new();
        state.frontier.push(TreeHash(hash.0), &mut created);
        state.hashes.push(hash);
        if let EntryKind::Status { topic, change, .. } = &entry.body.kind {
            state.status.insert(topic.clone(), *change);
        }
        state.report.entries += 1;
        match &entry.body.kind {
            EntryKind::Amendment { .. } => state.report.amendments += 1,
            EntryKind::Objection { .. } => state.report.objections += 1,
            EntryKind::Status { .. } => state.report.status_changes += 1,
            EntryKind::KeyRotation { new_key, .. } => state.rotated.push(new_key.clone()),
            _ => {}
        }
        for (number, field) in (0u32..).zip(&entry.body.fields) {
            if matches!(field, Field::Committed { .. }) {
                state.committed.insert((entry.body.index, number), field.clone());
            }
        }
        state.kept.extend(kept_for_judging(agreement.roster(), entry));
    }

    /// An opening must not be in a public bundle, and must open a committed
    /// field of an accepted entry with the hash it names.
    fn opening(&mut self, position: u64, opening: &Opening) {
        let Some(agreement) = &self.agreement else { return };
        let cited = &opening.entry;
        let what = format!(
            "record {position}: opening of field {} of entry {} of {}",
            opening.field, cited.index, cited.signatory
        );
        if self.public {
            self.problems.push(format!("{what}: a public bundle carries no openings"));
            return;
        }
        let state = self.logs.get(&agreement.log_of(&cited.signatory));
        let held = state.and_then(|s| s.hashes.get(usize::try_from(cited.index).ok()?));
        if held != Some(&cited.hash) {
            self.problems.push(format!("{what}: the bundle holds no such entry before it"));
            return;
        }
        let field = state.and_then(|s| s.committed.get(&(cited.index, opening.field)));
        if let Err(e) = opening.verify_field(agreement.hash(), field) {
            self.problems.push(format!("{what}: {e}"));
        }
    }

    fn checkpoint(&mut self, position: u64, checkpoint: SignedCheckpoint, verified: bool) {
        let Some(state) = self.logs.get_mut(&checkpoint.body.log) else {
            self.problems.push(format!("record {position}: checkpoint of an unknown log"));
            return;
        };
        let body = &checkpoint.body;
        let previous = state.checkpoints.last().map(|c| (c.body.size, c.body.timestamp));
        if !verified {
            self.problems.push(format!("record {position}: checkpoint of {} does not verify", state.owner));
        } else if previous.is_some_and(|(size, time)| size == body.size && time > body.timestamp) {
            self.problems.push(format!(
                "record {position}: checkpoint of size {} of {} is timed before the one of the same size before it",
                body.size, state.owner
            ));
        } else if body.size != state.frontier.size() {
            self.problems.push(format!(
                "record {position}: checkpoint of size {} of {} does not follow its last entry ({})",
                body.size,
                state.owner,
                state.frontier.size()
            ));
        } else if body.root.0 != state.frontier.root().0 {
            self.problems.push(format!(
                "record {position}: checkpoint of {} has a root its entries do not produce",
                state.owner
            ));
        } else {
            // Sizes only grow in a bundle: the latest time of the smaller
            // checkpoints is the one to compare with.
            if let Some((_, time)) = previous.filter(|(size, _)| *size < body.size) {
                state.latest_smaller = state.latest_smaller.max(Some(time));
            }
            if state.latest_smaller.is_some_and(|t| t > body.timestamp) {
                state.report.judged.out_of_time_order = true;
            }
            state.report.checkpoints += 1;
            state.checkpoint_bodies.insert(checkpoint.body.clone());
            state.checkpoints.push(checkpoint);
        }
    }

    fn cosignature(&mut self, position: u64, cosignature: Cosignature, verified: bool) {
        let body = &cosignature.body;
        let Some(state) = self.logs.get_mut(&body.checkpoint.log) else {
            self.problems.push(format!("record {position}: cosignature of an unknown log"));
            return;
        };
        let known = state.checkpoint_bodies.contains(&body.checkpoint);
        if !known || !verified {
            self.problems.push(format!(
                "record {position}: cosignature by {} of {}'s checkpoint {}",
                body.witness,
                state.owner,
                if known { "does not verify" } else { "of a checkpoint not in the bundle before it" }
            ));
            return;
        }
        state.cosignatures.push(cosignature);
    }

    fn finish(self, now: Timestamp) -> AuditReport {
        let mut problems = self.problems.list;
        if self.problems.more > 0 {
            problems.push(format!("and {} more problems", self.problems.more));
        }
        if !self.ended {
            problems.push("the bundle has no end record: it was truncated".to_owned());
        }
        let mut logs = self.logs;
        if let Some(agreement) = &self.agreement {
            for (position, citing, cited) in &self.citations {
                let held =
                    logs.get(&agreement.log_of(&cited.signatory)).and_then(|l| l.hashes.get(cited.index as usize));
                if held != Some(&cited.hash) {
                    problems.push(format!(
                        "record {position}: {citing} cites entry {} of {}, which the bundle does not hold with that hash",
                        cited.index, cited.signatory
                    ));
                }
            }
        }
        let Some(agreement) = self.agreement else {
            problems.push("the bundle has no adopted roster".to_owned());
            return AuditReport {
                report_version: REPORT_VERSION,
                verdict: Verdict::Invalid,
                agreement: None,
                agreement_hash: self.roster_hash,
                pinned: self.expected.is_some(),
                now,
                records: self.records,
                signatories: vec![],
                problems,
                findings: vec![],
                checks: vec![],
                unestablished: vec![],
            };
        };
        let quorum = agreement.roster().quorum.threshold as usize;
        // Requests are answered in other logs: every log's receipts and
        // responses first.
        let receipts: BTreeMap<SignatoryId, Receipts> =
            logs.values().map(|state| (state.owner.clone(), Receipts::new(&state.cosignatures))).collect();
        let responses = Responses::new(logs.values().flat_map(|state| &state.kept));
        let mut signatories = Vec::new();
        let mut findings = false;
        let mut checks = Tally::default();
        for signatory in &agreement.roster().signatories {
            let Some(mut state) = logs.remove(&agreement.log_of(&signatory.id)) else { continue };
            let no_receipts = Receipts::default();
            let own_receipts = receipts.get(&signatory.id).unwrap_or(&no_receipts);
            let mut witnesses: HashMap<&Checkpoint, BTreeSet<&SignatoryId>> = HashMap::new();
            for cosignature in &state.cosignatures {
                witnesses.entry(&cosignature.body.checkpoint).or_default().insert(&cosignature.body.witness);
            }
            let quorums: Vec<CheckpointQuorum> = state
                .checkpoints
                .iter()
                .map(|c| {
                    let cosigners = witnesses.get(&c.body).map_or(0, BTreeSet::len);
                    CheckpointQuorum {
                        size: c.body.size,
                        timestamp: c.body.timestamp,
                        cosigners: cosigners as u64,
                        settled: cosigners >= quorum,
                    }
                })
                .collect();
            state.report.settled_size = quorums.iter().filter(|q| q.settled).map(|q| q.size).max().unwrap_or(0);
            state.report.judged.split_views = split_views(&state.forks, &state.checkpoints, &witnesses);
            state.report.checkpoint_quorums = quorums;
            let record = judge_record(&agreement, &signatory.id, &state.kept, &state.checkpoints, own_receipts, now);
            let answered =
                judge_answers(&agreement, &signatory.id, &state.kept, &state.checkpoints, &responses, &receipts, now);
            let judged = &state.report.judged;
            findings |= judged.equivocated
                || judged.out_of_time_order
                || record.has_findings()
                || !answered.problems.is_empty();
            state.report.judged.periods = record.periods;
            state.report.judged.ack_problems = record.ack_problems;
            state.report.judged.acknowledgements = record.acknowledgements;
            checks.merge(answered.checks);
            state.report.judged.answer_problems = answered.problems;
            state.report.judged.answers = answered.answers;
            signatories.push(state.report);
        }
        let mut unestablished = Vec::new();
        let verdict = if !problems.is_empty() {
            for report in &mut signatories {
                let judged = std::mem::take(&mut report.judged);
                unestablished.extend(report.signatory.clone().map(|signatory| Unestablished { signatory, judged }));
            }
            Verdict::Invalid
        } else if findings {
            Verdict::Findings
        } else {
            Verdict::Ok
        };
        let checks = if verdict == Verdict::Invalid { Vec::new() } else { checks.summaries() };
        AuditReport {
            report_version: REPORT_VERSION,
            findings: findings::findings(&signatories, &agreement.roster().schedules),
            checks,
            verdict,
            agreement: Some(agreement.roster().agreement.to_string()),
            agreement_hash: Some(*agreement.hash()),
            pinned: self.expected.is_some(),
            now,
            records: self.records,
            signatories,
            problems,
            unestablished,
        }
    }
}

/// The split views of `forks`, each side with who the bundle shows was
/// shown it: the witnesses of its exact checkpoint in `witnesses` and, for
/// a side among the log's accepted `checkpoints`, those of every larger
/// accepted checkpoint (the accepted checkpoints are one log, so a larger
/// one extends it).
fn split_views(
    forks: &[[Checkpoint; 2]],
    checkpoints: &[SignedCheckpoint],
    witnesses: &HashMap<&Checkpoint, BTreeSet<&SignatoryId>>,
) -> Vec<SplitView> {
    let view = |side: &Checkpoint| {
        let in_bundle = checkpoints.iter().any(|c| c.body == *side);
        let mut seen: BTreeSet<&SignatoryId> = witnesses.get(side).into_iter().flatten().copied().collect();
        if in_bundle {
            for later in checkpoints.iter().filter(|c| c.body.size > side.size) {
                seen.extend(witnesses.get(&later.body).into_iter().flatten().copied());
            }
        }
        View {
            size: side.size,
            root: side.root,
            timestamp: side.timestamp,
            in_bundle,
            cosigned_by: seen.into_iter().cloned().collect(),
        }
    };
    forks.iter().map(|[a, b]| SplitView { views: [view(a), view(b)] }).collect()
}

/// Audits a bundle read from `input` (spec/log.md §7), as of `now`. With
/// `expected`, a bundle whose roster has another agreement hash is invalid.
/// `progress` is called with the bytes read so far after every batch of
/// records (at most 1024 records or 8 MiB). The signatures of a batch's
/// entries are verified on every core with `verify_strict`, ahead of the
/// sequential rules; the verdict is the same as verifying one by one.
///
/// A bundle that cannot be read to its end (truncated, or a record that does
/// not decode) is reported [`Verdict::Invalid`], with the reason.
///
/// Called from a worker of rayon's global pool (audits run in parallel,
/// say), it decodes on its own pipeline thread instead of every core: the
/// calling worker waits for the pipeline, and the pool's other workers may
/// all be waiting likewise.
pub fn audit<R: Read + Send>(
    input: R,
    expected: Option<&cbm_wire::AgreementHash>,
    now: Timestamp,
    mut progress: impl FnMut(u64),
) -> AuditReport {
    let mut reader = BundleReader::new(input);
    let mut auditor = Auditor {
        expected: expected.copied(),
        roster_hash: None,
        agreement: None,
        ended: false,
        logs: BTreeMap::new(),
        problems: Problems::default(),
        unchecked: 0,
        records: 0,
        digest: EndDigest::default(),
        public: false,
        citations: Vec::new(),
    };
    // The header and roster are a batch of their own, so that every later
    // batch is prechecked under the adopted roster.
    let (first, failure) = read_batch(&mut reader, 2);
    let read_on = !first.is_empty() && failure.is_none();
    let decoded = auditor.batch(decode_batch(None, first, Cores::This));
    progress(reader.offset());
    // Reading stops at its first failure: a record that does not decode
    // comes before a failure of the reader after it.
    if let Some(failure) = failure.as_ref().filter(|_| decoded) {
        auditor.problems.push(bundle_problem(failure));
    }
    if read_on && decoded {
        // A pipeline: one thread reads batches, another decodes and
        // prechecks them on every core, while this one applies the rules
        // to the batch before: the reading and the sequential work overlap
        // the signatures. At most one batch waits between two stages,
        // which bounds memory.
        let agreement = auditor.agreement.clone();
        let cores = if rayon::current_thread_index().is_some() { Cores::This } else { Cores::Every };
        std::thread::scope(|scope| {
            let (send_read, read) = std::sync::mpsc::sync_channel(1);
            let (send, batches) = std::sync::mpsc::sync_channel(1);
            scope.spawn(move || {
                loop {
                    let (batch, failure) = read_batch(&mut reader, BATCH_RECORDS);
                    let last = batch.is_empty() || failure.is_some();
                    if send_read.send((batch, failure, reader.offset())).is_err() || last {
                        return;
                    }
                }
            });
            scope.spawn(move || {
                for (batch, failure, offset) in read {
                    let decoded = decode_batch(agreement.as_ref(), batch, cores);
                    if send.send((decoded, failure, offset)).is_err() {
                        return;
                    }
                }
            });
            for (batch, failure, offset) in batches {
                let ended = batch.is_empty() || failure.is_some();
                let decoded = auditor.batch(batch);
                progress(offset);
                if let Some(failure) = failure.as_ref().filter(|_| decoded) {
                    auditor.problems.push(bundle_problem(failure));
                }
                if ended || !decoded {
                    // Dropping the receiver stops the reader at its next batch.
                    break;
                }
            }
        });
    }
    auditor.finish(now)
}

/// A batch of records, each with its bytes and what decoding and
/// prechecking it gave.
type DecodedBatch = Vec<(Vec<u8>, Result<(BundleRecord, Option<Prechecked>), BundleError>)>;

/// Decodes `batch` and prechecks its records under `agreement` (if it is
/// adopted yet: a batch that holds the roster is checked sequentially), on
/// every core (spec/log.md §7.4).
fn decode_batch(agreement: Option<&Agreement>, batch: Vec<(u64, Vec<u8>)>, cores: Cores) -> DecodedBatch {
    let decode = |(offset, bytes): (u64, Vec<u8>)| {
        let decoded = decode_record(offset, &bytes).map(|record| {
            let precheck = agreement.map(|agreement| Prechecked::of(agreement, &record, &bytes));
            (record, precheck)
        });
        (bytes, decoded)
    };
    match cores {
        Cores::Every => batch.into_par_iter().map(decode).collect(),
        Cores::This => batch.into_iter().map(decode).collect(),
    }
}

/// Where a batch is decoded and prechecked.
#[derive(Clone, Copy)]
enum Cores {
    /// On every core, by rayon's global pool.
    Every,
    /// On the pipeline's own thread: the audit was called from a worker of
    /// rayon's global pool, which waits for the pipeline while it runs, so
    /// asking that pool for more work could leave every worker waiting.
    This,
}

/// Up to `limit` records' bytes (fewer once they hold [`BATCH_BYTES`]),
/// and the error that ended reading, if any.
fn read_batch<R: Read>(reader: &mut BundleReader<R>, limit: usize) -> (Vec<(u64, Vec<u8>)>, Option<BundleError>) {
    let mut batch = Vec::with_capacity(limit);
    let mut bytes = 0;
    while batch.len() < limit && bytes < BATCH_BYTES {
        match reader.next_raw() {
            None => break,
            Some(Ok(raw)) => {
                bytes += raw.1.len();
                batch.push(raw);
            }
            Some(Err(e)) => return (batch, Some(e)),
        }
    }
    (batch, None)
}

fn bundle_problem(error: &BundleError) -> String {
    format!("unreadable bundle: {error}")
}

/// Records audited together: they are decoded and prechecked in parallel.
const BATCH_RECORDS: usize = 1024;
/// A batch is cut earlier once it holds this many bytes, bounding memory.
const BATCH_BYTES: usize = 8 << 20;
