//! An adopted agreement (spec/log.md §3.1): a signed roster that passed every
//! check, with the lookups the other rules need.

use std::collections::{BTreeMap, BTreeSet};

use cbm_wire::limits::{MAX_ENTRY_BYTES, MAX_FRAME_BYTES, MAX_PAGE_ITEMS};
use cbm_wire::{
    AgreementHash, Cadence, Cosignature, KeyId, LogId, PublicKey, Roster, Signable, Signatory, SignatoryId, Signed,
    SignedCheckpoint, SignedRoster, SigningKeyInfo, TimeSpan, Timestamp, Verifier, VerifyError,
};

/// The shortest fixed cadence a schedule may have. CBM obligations run in
/// days to years; the floor also bounds how many periods an audit judges.
pub const MIN_CADENCE: TimeSpan = TimeSpan::from_hours(1);

/// Why a signed roster cannot be adopted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RosterError {
    /// Fewer than two signatories.
    #[error("an agreement needs at least two signatories")]
    TooFewSignatories,
    /// Two signatories share an id.
    #[error("signatory {0} is listed twice")]
    DuplicateSignatory(SignatoryId),
    /// A signatory lists no signing key.
    #[error("signatory {0} has no signing key")]
    NoSigningKey(SignatoryId),
    /// A signatory lists a key id twice.
    #[error("signatory {0} lists a key id twice")]
    DuplicateKeyId(SignatoryId),
    /// One public key is listed for two signatories, or as a signing and a transport key.
    #[error("a public key of {0} is also listed elsewhere in the roster")]
    SharedKey(SignatoryId),
    /// Two schedules or notices govern one topic.
    #[error("topic {0} has two schedules or notices")]
    DuplicateTopic(String),
    /// A notice gives its topic no time to acknowledge.
    #[error("notice for {topic}: {reason}")]
    BadNotice {
        /// The notice's topic.
        topic: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A schedule has a zero cadence or names an unknown signatory.
    #[error("schedule for {topic}: {reason}")]
    BadSchedule {
        /// The schedule's topic.
        topic: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The quorum is not between 1 and the number of other signatories.
    #[error("quorum threshold {threshold} is not between 1 and {others}")]
    BadQuorum {
        /// The threshold.
        threshold: u32,
        /// Signatories other than a log owner.
        others: usize,
    },
    /// A roster limit is zero or looser than the wire limits.
    #[error("roster limit {0} is zero or looser than the wire limit")]
    BadLimit(&'static str),
    /// A signatory has not signed, or signed twice, or a non-signatory signed.
    #[error("adoption signatures: {0}")]
    Adoption(String),
    /// An adoption signature does not verify.
    #[error("adoption signature of {signatory}: {source}")]
    BadAdoption {
        /// The signer.
        signatory: SignatoryId,
        /// Why.
        source: VerifyError,
    },
}

/// A roster every signatory has adopted, checked and indexed.
#[derive(Clone, Debug)]
pub struct Agreement {
    roster: Roster,
    hash: AgreementHash,
    logs: BTreeMap<LogId, usize>,
    /// Each signatory's log id, derived once (a BLAKE3 hash each time otherwise).
    log_ids: BTreeMap<SignatoryId, LogId>,
    /// Every valid roster signing key, decompressed once.
    verifiers: BTreeMap<PublicKey, Verifier>,
}

impl Agreement {
    /// Checks `signed` (spec/log.md §3.1) and adopts it.
    ///
    /// # Errors
    /// The first problem found.
    pub fn adopt(signed: &SignedRoster) -> Result<Self, RosterError> {
        let roster = &signed.roster;
        check_roster(roster)?;
        let signers: Vec<&SignatoryId> = signed.signatures.iter().map(|s| &s.signatory).collect();
        let expected: Vec<&SignatoryId> = roster.signatories.iter().map(|s| &s.id).collect();
        if signers != expected {
            return Err(RosterError::Adoption("every signatory must sign exactly once, in roster order".into()));
        }
        for signature in &signed.signatures {
            roster
                .verify_adoption(signature)
                .map_err(|source| RosterError::BadAdoption { signatory: signature.signatory.clone(), source })?;
        }
        let hash = roster.agreement_hash();
        let log_ids: BTreeMap<_, _> =
            roster.signatories.iter().map(|s| (s.id.clone(), LogId::derive(&hash, &s.id))).collect();
        let logs = roster.signatories.iter().enumerate().filter_map(|(i, s)| Some((*log_ids.get(&s.id)?, i))).collect();
        let verifiers = roster
            .signatories
            .iter()
            .flat_map(|s| &s.signing_keys)
            .filter_map(|k| Some((k.key, Verifier::new("roster key", &k.key).ok()?)))
            .collect();
        Ok(Self { roster: roster.clone(), hash, logs, log_ids, verifiers })
    }

    /// The roster.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The agreement hash every signature is bound to.
    pub fn hash(&self) -> &AgreementHash {
        &self.hash
    }

    /// The signatory whose log is `log`.
    pub fn owner_of(&self, log: &LogId) -> Option<&Signatory> {
        self.logs.get(log).map(|&i| &self.roster.signatories[i])
    }

    /// The key `signatory` signs with as number `key` at `at`: a roster key, or
    /// one of `rotated` (keys its own key-rotation entries added), valid then.
    pub fn signing_key_at<'a>(
        &'a self,
        signatory: &SignatoryId,
        rotated: &'a [SigningKeyInfo],
        key: KeyId,
        at: Timestamp,
    ) -> Option<&'a SigningKeyInfo> {
        let listed = self.roster.signatory(signatory).map_or(&[][..], |s| s.signing_keys.as_slice());
        listed.iter().chain(rotated).find(|k| k.id == key && k.is_valid_at(at))
    }

    /// Verifies `signed` under this agreement with `key`; a roster key's
    /// decompressed form is reused, any other key is checked first.
    ///
    /// # Errors
    /// As [`Signed::verify`].
    pub fn verify_signed<T: Signable>(&self, signed: &Signed<T>, key: &PublicKey) -> Result<(), VerifyError> {
        match self.verifiers.get(key) {
            Some(verifier) => signed.verify_with(&self.hash, verifier),
            None => signed.verify(&self.hash, key),
        }
    }

    /// [`Agreement::verify_signed`] of an object decoded from `encoded`,
    /// its canonical encoding (see [`Signed::verify_decoded_with`]).
    ///
    /// # Errors
    /// As [`Agreement::verify_signed`].
    pub fn verify_signed_decoded<T: Signable>(
        &self,
        signed: &Signed<T>,
        encoded: &[u8],
        key: &PublicKey,
    ) -> Result<(), VerifyError> {
        match self.verifiers.get(key) {
            Some(verifier) => signed.verify_decoded_with(encoded, &self.hash, verifier),
            None => signed.verify(&self.hash, key),
        }
    }

    /// The log of `signatory`.
    pub fn log_of(&self, signatory: &SignatoryId) -> LogId {
        self.log_ids.get(signatory).copied().unwrap_or_else(|| LogId::derive(&self.hash, signatory))
    }

    /// Checks that `checkpoint` is signed by its log's owner with a roster
    /// key valid at its timestamp (spec/log.md §3.3 step 1); returns the owner.
    ///
    /// # Errors
    /// [`VerifyError::UnknownKey`] for a log of no signatory or an unlisted
    /// key, or the signature's failure.
    pub fn verify_checkpoint(&self, checkpoint: &SignedCheckpoint) -> Result<&Signatory, VerifyError> {
        let unknown = VerifyError::UnknownKey { what: "checkpoint" };
        let owner = self.owner_of(&checkpoint.body.log).ok_or(unknown.clone())?;
        let key = self.roster.signing_key(&owner.id, checkpoint.key, checkpoint.body.timestamp).ok_or(unknown)?;
        self.verify_signed(checkpoint, key)?;
        Ok(owner)
    }

    /// Checks that `cosignature` is signed by a signatory other than the
    /// log's owner, with a roster key valid when it cosigned.
    ///
    /// # Errors
    /// [`VerifyError::UnknownKey`] for an unknown log, a witness that is not
    /// a signatory or is the owner, or an unlisted key; or the signature's failure.
    pub fn verify_cosignature(&self, cosignature: &Cosignature) -> Result<(), VerifyError> {
        let body = &cosignature.body;
        let unknown = VerifyError::UnknownKey { what: "cosignature" };
        let owner = self.owner_of(&body.checkpoint.log).ok_or(unknown.clone())?;
        if owner.id == body.witness {
            return Err(unknown);
        }
        let key = self.roster.signing_key(&body.witness, cosignature.key, body.cosigned_at).ok_or(unknown)?;
        self.verify_signed(cosignature, key)
    }
}

/// Structural checks of a roster, before its signatures.
fn check_roster(roster: &Roster) -> Result<(), RosterError> {
    if roster.signatories.len() < 2 {
        return Err(RosterError::TooFewSignatories);
    }
    let mut ids = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for signatory in &roster.signatories {
        if !ids.insert(&signatory.id) {
            return Err(RosterError::DuplicateSignatory(signatory.id.clone()));
        }
        if signatory.signing_keys.is_empty() {
            return Err(RosterError::NoSigningKey(signatory.id.clone()));
        }
        let key_ids: BTreeSet<_> = signatory.signing_keys.iter().map(|k| k.id).collect();
        if key_ids.len() != signatory.signing_keys.len() {
            return Err(RosterError::DuplicateKeyId(signatory.id.clone()));
        }
        let own: BTreeSet<_> = signatory.signing_keys.iter().map(|k| k.key).chain([signatory.transport_key]).collect();
        if own.len() != signatory.signing_keys.len() + 1 || own.iter().any(|k| !keys.insert(*k)) {
            return Err(RosterError::SharedKey(signatory.id.clone()));
        }
    }
    let mut topics = BTreeSet::new();
    for schedule in &roster.schedules {
        let topic = schedule.topic.to_string();
        if !topics.insert(&schedule.topic) {
            return Err(RosterError::DuplicateTopic(topic));
        }
        let too_short = match schedule.cadence {
            Cadence::Every { span } => span < MIN_CADENCE,
            Cadence::Months { months } => months == 0,
        };
        if too_short {
            return Err(RosterError::BadSchedule { topic, reason: "cadence shorter than one hour" });
        }
        if schedule.applies_to.iter().flatten().any(|s| !ids.contains(s)) {
            return Err(RosterError::BadSchedule { topic, reason: "applies to an unknown signatory" });
        }
    }
    // A topic is scheduled (declarations) or noticed (notifications), once.
    for notice in &roster.notices {
        if !topics.insert(&notice.topic) {
            return Err(RosterError::DuplicateTopic(notice.topic.to_string()));
        }
        if notice.ack_window == TimeSpan(0) {
            return Err(RosterError::BadNotice { topic: notice.topic.to_string(), reason: "a zero window" });
        }
    }
    let others = roster.signatories.len() - 1;
    let threshold = roster.quorum.threshold;
    if threshold == 0 || threshold as usize > others {
        return Err(RosterError::BadQuorum { threshold, others });
    }
    let limits = &roster.limits;
    for (name, value, wire) in [
        ("max_entry_bytes", limits.max_entry_bytes, MAX_ENTRY_BYTES),
        ("max_frame_bytes", limits.max_frame_bytes, MAX_FRAME_BYTES),
        ("max_page_entries", limits.max_page_entries, MAX_PAGE_ITEMS),
    ] {
        if value == 0 || value as usize > wire {
            return Err(RosterError::BadLimit(name));
        }
    }
    if limits.max_clock_skew.0 > cbm_wire::limits::MAX_CLOCK_SKEW_MILLIS {
        return Err(RosterError::BadLimit("max_clock_skew"));
    }
    Ok(())
}
