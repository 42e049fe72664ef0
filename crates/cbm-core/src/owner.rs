//! The owner's append (spec/log.md §3.2, §3.4, §9.2): drafts become signed
//! entries, checked against the rules as one batch, committed with their
//! checkpoint (and the publication's key) in one transaction, then
//! announced to every partner. A retry under the same key publishes nothing.

use cbm_log::author::{Author, Draft, checkpoint_time};
use cbm_log::rules::{EntryError, Prechecked, check_batch};
use cbm_log::store::{Publication, ReadStore, StoreError};
use cbm_wire::{Checkpoint, Digest, Request, RootHash, SignedCheckpoint, TimeSpan, TreeHash};

use crate::Core;
use crate::io::{Note, Time};
use crate::store::NodeStore;

/// The key a publication is made under, so that it is safe to retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The key, at most [`IdempotencyKey::MAX_BYTES`].
    key: String,
    /// The digest of the draft published under it.
    draft: Digest,
    /// Derived from the draft rather than chosen.
    derived: bool,
}

impl IdempotencyKey {
    /// Most bytes of a chosen key.
    pub const MAX_BYTES: usize = 256;

    /// How long after a publication under a derived key the same draft is
    /// still taken as its retry.
    pub const DERIVED_WINDOW: TimeSpan = TimeSpan::from_hours(24);

    /// A key the operator chose, for the draft whose digest is `draft`: a
    /// publication under it is made once, whenever it is retried; the key
    /// used again for another draft is refused.
    ///
    /// # Errors
    /// If `key` is empty or longer than [`IdempotencyKey::MAX_BYTES`].
    pub fn chosen(key: &str, draft: Digest) -> Result<Self, String> {
        if key.is_empty() || key.len() > Self::MAX_BYTES {
            return Err(format!("an idempotency key has 1 to {} bytes, not {}", Self::MAX_BYTES, key.len()));
        }
        Ok(Self { key: format!("key:{key}"), draft, derived: false })
    }

    /// The key derived from the draft whose digest is `draft`: the same
    /// draft is taken as a retry of an earlier publication of it only
    /// within [`IdempotencyKey::DERIVED_WINDOW`] and if nothing was
    /// published since, so an identical declaration made again later, or
    /// after another entry (a suspension after a resumption), is published.
    pub fn derived(draft: Digest) -> Self {
        Self { key: format!("draft:{draft}"), draft, derived: true }
    }
}

/// What came of a publication under a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Published {
    /// The entries were published with this checkpoint.
    New(SignedCheckpoint),
    /// They had been, earlier: nothing was published now.
    Earlier(Publication),
}

/// Why nothing was published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// An entry breaks the rules.
    #[error("entry {index} refused: {error}")]
    Refused {
        /// Position of the draft in the batch.
        index: usize,
        /// The rule broken.
        error: EntryError,
    },
    /// A chosen idempotency key was used before for another draft.
    #[error("the idempotency {key} was used for another draft, published as entry {index}; nothing was published")]
    KeyReused {
        /// The key.
        key: String,
        /// The first entry published under it.
        index: u64,
    },
    /// The store failed.
    #[error("store")]
    Store(#[from] StoreError),
}

impl<S: NodeStore> Core<S> {
    /// Publishes `drafts` (under `key`), and on success announces the new
    /// checkpoint to every partner.
    pub(crate) fn publish(
        &mut self,
        drafts: Vec<Draft>,
        key: Option<IdempotencyKey>,
        time: Time,
    ) -> Result<Published, PublishError> {
        let log = self.agreement.log_of(&self.me);
        let now = time.clock;
        let size = self.store.reader().size(&log)?;
        if let Some(key) = &key
            && let Some(earlier) = self.store.reader().published_under(&key.key)?
        {
            if !key.derived && earlier.draft != key.draft {
                return Err(PublishError::KeyReused { key: key.key.clone(), index: earlier.index });
            }
            let window = earlier.at.0.saturating_add(IdempotencyKey::DERIVED_WINDOW.0);
            if !key.derived || (earlier.size == size && now.0 <= window) {
                return Ok(Published::Earlier(earlier));
            }
        }
        let author =
            Author { agreement: &self.agreement, signatory: &self.me, key_id: self.key_id, key: &self.signing_key };
        let authored = author.write_all(drafts, size, now, &mut self.rng);
        let entries: Vec<_> = authored.iter().map(|a| a.entry.clone()).collect();
        let batch = Prechecked::new(&self.agreement, entries.clone());
        let hashes = check_batch(&self.agreement, &self.view(), &self.me, &batch)
            .map_err(|(index, error)| PublishError::Refused { index, error })?;
        let mut frontier = self.store.reader().frontier(&log)?;
        let mut created = Vec::new();
        for hash in hashes {
            frontier.push(TreeHash(hash.0), &mut created);
        }
        let latest = self.store.reader().latest_checkpoint(&log)?.map(|c| c.body.timestamp);
        let body = Checkpoint {
            log,
            size: frontier.size(),
            root: RootHash(frontier.root().0),
            timestamp: checkpoint_time(now, latest),
        };
        let checkpoint = SignedCheckpoint::sign(body, self.agreement.hash(), self.key_id, &self.signing_key);
        let openings: Vec<_> = authored.iter().flat_map(|a| a.openings.iter().cloned()).collect();
        let stored_key = key.as_ref().map(|k| (k.key.as_str(), &k.draft));
        self.store.append_authored(&log, &entries, &checkpoint, &openings, stored_key)?;
        entries.iter().for_each(|e| self.facts.observe(e));
        self.note(Note::Published { size: checkpoint.body.size });
        self.note(Note::Changed);
        for peer in self.partners.keys().cloned().collect::<Vec<_>>() {
            self.call(peer, Request::PushCheckpoint { checkpoint: checkpoint.clone() }, crate::Purpose::Announce, time);
        }
        Ok(Published::New(checkpoint))
    }
}
