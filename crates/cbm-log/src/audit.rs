//! The offline audit of a bundle (spec/log.md §7): every signature, every
//! tree, every checkpoint and cosignature checked in one streaming pass, and
//! each signatory's record judged against the schedules on receipts.
//!
//! Memory grows with the number of signatories, checkpoints and
//! schedule-relevant entries, not with the number of entries.

use std::collections::BTreeMap;
use std::io::Read;

use cbm_wire::{
    BUNDLE_FORMAT_VERSION, BundleEnd, BundleRecord, Cosignature, EntryHash, EntryKind, EntryRef, LogId, PublicKey,
    SignatoryId, SignedCheckpoint, SignedEntry, SigningKeyInfo, StatusChange, Timestamp, Topic, TreeHash,
};
use rayon::prelude::*;
use serde::Serialize;

use crate::agreement::Agreement;
use crate::bundle::{BundleError, BundleReader};
use crate::evidence::verify_evidence;
use crate::merkle::Frontier;
use crate::rules::{LogView, check_entry_verified};
use crate::schedule::{AckStatus, PeriodReport, Receipts, judge_record, schedule_relevant};

/// The overall verdict, and the CLI's exit code for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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

/// What the audit found about one signatory.
#[derive(Clone, Debug, Default, Serialize)]
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
    /// Status changes (suspend, resume, withdraw) it declared.
    pub status_changes: u64,
    /// Every scheduled period, judged on receipts.
    pub periods: Vec<PeriodReport>,
    /// Acknowledgements of its scheduled entries that were late or missing,
    /// as (entry index, recipient, status).
    pub ack_problems: Vec<(u64, SignatoryId, AckStatus)>,
    /// Whether it was caught equivocating.
    pub equivocated: bool,
}

/// The audit's result.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// The verdict.
    pub verdict: Verdict,
    /// Agreement name, if the roster was read.
    pub agreement: Option<String>,
    /// The agreement hash of the bundle's roster, if it was read. A bundle
    /// carries its own roster: only an agreement hash obtained through a
    /// trusted channel tells a verifier it is the agreement it expects
    /// (pass it to [`audit`] as `expected`).
    pub agreement_hash: Option<cbm_wire::AgreementHash>,
    /// Records read.
    pub records: u64,
    /// Per signatory, in roster order.
    pub signatories: Vec<SignatoryReport>,
    /// Problems that make the bundle invalid.
    pub problems: Vec<String>,
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
    cosignatures: Vec<Cosignature>,
    kept: Vec<SignedEntry>,
    rotated: Vec<SigningKeyInfo>,
    report: SignatoryReport,
}

struct Auditor {
    expected: Option<cbm_wire::AgreementHash>,
    agreement: Option<Agreement>,
    ended: bool,
    logs: BTreeMap<LogId, LogState>,
    problems: Problems,
    /// Records that could not be checked for want of an adopted roster.
    unchecked: u64,
    records: u64,
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

impl Auditor {
    /// Audits a batch of records in order. The signatures of its entries
    /// are verified first, on every core, under the roster keys; the
    /// sequential rules then skip those that verified (spec/log.md §7.4).
    fn batch(&mut self, batch: Vec<(BundleRecord, Option<BundleEnd>)>) {
        let verified = match &self.agreement {
            Some(agreement) => verify_entries_in_parallel(agreement, &batch),
            None => vec![None; batch.len()],
        };
        for ((record, end), verified) in batch.into_iter().zip(verified) {
            self.record(record, end, verified);
        }
    }

    fn record(&mut self, record: BundleRecord, expected_end: Option<BundleEnd>, verified: Option<PublicKey>) {
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
            }
            (BundleRecord::Roster { roster }, _) if position == 2 => match Agreement::adopt(&roster) {
                Ok(agreement) if self.expected.is_some_and(|h| h != *agreement.hash()) => {
                    self.problems.push(format!("roster: agreement hash {} is not the expected one", agreement.hash()));
                }
                Ok(agreement) => {
                    self.logs = agreement
                        .roster()
                        .signatories
                        .iter()
                        .map(|s| {
                            let report =
                                SignatoryReport { signatory: Some(s.id.clone()), ..SignatoryReport::default() };
                            let state = LogState {
                                owner: s.id.clone(),
                                frontier: Frontier::empty(),
                                hashes: Vec::new(),
                                status: BTreeMap::new(),
                                checkpoints: Vec::new(),
                                cosignatures: Vec::new(),
                                kept: Vec::new(),
                                rotated: Vec::new(),
                                report,
                            };
                            (agreement.log_of(&s.id), state)
                        })
                        .collect();
                    self.agreement = Some(agreement);
                }
                Err(e) => self.problems.push(format!("roster: {e}")),
            },
            (BundleRecord::Header { .. } | BundleRecord::Roster { .. }, _) => {
                self.problems.push(format!("record {position}: header and roster must be the first two records"));
            }
            (_, None) if self.unchecked == 0 => {
                self.unchecked += 1;
                self.problems.push(format!("record {position} and later: no adopted roster before them; not checked"));
            }
            (_, None) => self.unchecked += 1,
            (BundleRecord::Entry { entry }, Some(_)) => self.entry(position, entry, verified.as_ref()),
            (BundleRecord::Checkpoint { checkpoint }, Some(_)) => self.checkpoint(position, checkpoint),
            (BundleRecord::Cosignature { cosignature }, Some(_)) => self.cosignature(position, cosignature),
            (BundleRecord::Evidence { evidence }, Some(agreement)) => {
                match verify_evidence(agreement.roster(), &evidence) {
                    Ok(owner) => {
                        let log = agreement.log_of(&owner);
                        if let Some(state) = self.logs.get_mut(&log) {
                            state.report.equivocated = true;
                        }
                    }
                    Err(e) => self.problems.push(format!("record {position}: evidence does not verify: {e}")),
                }
            }
            // Openings are private; their check needs the entry and is left to `verify-opening`.
            (BundleRecord::Opening { .. }, Some(_)) => {}
        }
    }

    fn entry(&mut self, position: u64, entry: SignedEntry, verified: Option<&PublicKey>) {
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
        if let Err(problem) = check_entry_verified(agreement, &view, &entry, verified) {
            let (index, who) = (entry.body.index, &entry.body.signatory);
            self.problems.push(format!("record {position}: entry {index} of {who}: {problem}"));
            return;
        }
        if let Some(cited) = cited {
            self.citations.push((position, entry.body.signatory.clone(), cited.clone()));
        }
        let Some(state) = self.logs.get_mut(&log) else { return };
        let hash = entry.hash();
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
        if schedule_relevant(&entry) {
            state.kept.push(entry);
        }
    }

    fn checkpoint(&mut self, position: u64, checkpoint: SignedCheckpoint) {
        let Some(agreement) = &self.agreement else { return };
        let Some(state) = self.logs.get_mut(&checkpoint.body.log) else {
            self.problems.push(format!("record {position}: checkpoint of an unknown log"));
            return;
        };
        let body = &checkpoint.body;
        let verified = agreement.verify_checkpoint(&checkpoint).is_ok();
        if !verified {
            self.problems.push(format!("record {position}: checkpoint of {} does not verify", state.owner));
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
            state.report.checkpoints += 1;
            state.checkpoints.push(checkpoint);
        }
    }

    fn cosignature(&mut self, position: u64, cosignature: Cosignature) {
        let Some(agreement) = &self.agreement else { return };
        let body = &cosignature.body;
        let Some(state) = self.logs.get_mut(&body.checkpoint.log) else {
            self.problems.push(format!("record {position}: cosignature of an unknown log"));
            return;
        };
        let known = state.checkpoints.iter().any(|c| c.body == body.checkpoint);
        let verified = agreement.verify_cosignature(&cosignature).is_ok();
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
                verdict: Verdict::Invalid,
                agreement: None,
                agreement_hash: None,
                records: self.records,
                signatories: vec![],
                problems,
            };
        };
        let quorum = agreement.roster().quorum.threshold as usize;
        let mut signatories = Vec::new();
        let mut findings = false;
        for signatory in &agreement.roster().signatories {
            let Some(mut state) = logs.remove(&agreement.log_of(&signatory.id)) else { continue };
            let receipts = Receipts::new(&state.cosignatures);
            let settled = state
                .checkpoints
                .iter()
                .filter(|c| {
                    let witnesses: std::collections::BTreeSet<_> = state
                        .cosignatures
                        .iter()
                        .filter(|s| s.body.checkpoint == c.body)
                        .map(|s| &s.body.witness)
                        .collect();
                    witnesses.len() >= quorum
                })
                .map(|c| c.body.size)
                .max()
                .unwrap_or(0);
            state.report.settled_size = settled;
            let record = judge_record(&agreement, &signatory.id, &state.kept, &state.checkpoints, &receipts, now);
            findings |= state.report.equivocated || record.has_findings();
            state.report.periods = record.periods;
            state.report.ack_problems = record.ack_problems;
            signatories.push(state.report);
        }
        let verdict = if !problems.is_empty() {
            Verdict::Invalid
        } else if findings {
            Verdict::Findings
        } else {
            Verdict::Ok
        };
        AuditReport {
            verdict,
            agreement: Some(agreement.roster().agreement.to_string()),
            agreement_hash: Some(*agreement.hash()),
            records: self.records,
            signatories,
            problems,
        }
    }
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
pub fn audit<R: Read>(
    input: R,
    expected: Option<&cbm_wire::AgreementHash>,
    now: Timestamp,
    mut progress: impl FnMut(u64),
) -> AuditReport {
    let mut reader = BundleReader::new(input);
    let mut auditor = Auditor {
        expected: expected.copied(),
        agreement: None,
        ended: false,
        logs: BTreeMap::new(),
        problems: Problems::default(),
        unchecked: 0,
        records: 0,
        citations: Vec::new(),
    };
    let mut batch = Vec::with_capacity(BATCH_RECORDS);
    let mut batch_start = 0;
    let mut failure = None;
    loop {
        let done = match reader.next() {
            None => true,
            Some(Ok(record)) => {
                let end = matches!(record, BundleRecord::End { .. }).then(|| reader.expected_end());
                batch.push((record, end));
                false
            }
            Some(Err(e)) => {
                failure = Some(bundle_problem(&e));
                true
            }
        };
        if done || batch.len() == BATCH_RECORDS || reader.offset() - batch_start >= BATCH_BYTES {
            auditor.batch(std::mem::take(&mut batch));
            batch_start = reader.offset();
            progress(reader.offset());
        }
        if done {
            break;
        }
    }
    if let Some(failure) = failure {
        auditor.problems.push(failure);
    }
    auditor.finish(now)
}

fn bundle_problem(error: &BundleError) -> String {
    format!("unreadable bundle: {error}")
}

/// Records audited together: their entries' signatures are verified in parallel.
const BATCH_RECORDS: usize = 1024;
/// A batch is cut earlier once it holds this many bytes, bounding memory.
const BATCH_BYTES: u64 = 8 << 20;

/// For each record of `batch`, the roster key its entry's signature
/// verifies under, if it is an entry signed with a roster key valid at its
/// time and the signature verifies; `None` otherwise (the sequential rules
/// then verify it themselves, with rotated keys too). Spread over every core.
fn verify_entries_in_parallel(
    agreement: &Agreement,
    batch: &[(BundleRecord, Option<BundleEnd>)],
) -> Vec<Option<PublicKey>> {
    let verify = |(record, _): &(BundleRecord, Option<BundleEnd>)| {
        let BundleRecord::Entry { entry } = record else { return None };
        let key = agreement.signing_key_at(&entry.body.signatory, &[], entry.key, entry.body.issued_at)?;
        entry.verify(agreement.hash(), &key.key).ok().map(|()| key.key)
    };
    batch.par_iter().map(verify).collect()
}
