//! What the owner published under which key: a publication that is retried
//! (its outcome unknown to the one who asked, say because the node went
//! away before it answered) finds the entries already stored instead of
//! storing them twice in a log that can never be edited.

use cbm_wire::{Digest, Timestamp};
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Store, StoreError, corrupt, to_i64};

/// Entries the owner published under one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Publication {
    /// Index of the first entry published.
    pub index: u64,
    /// The log's size once they were.
    pub size: u64,
    /// The time of the checkpoint they were published with.
    pub at: Timestamp,
    /// The digest of the draft they were written from, to tell a retry
    /// from another publication reusing the key.
    pub draft: Digest,
}

/// Records `publication` under `key`, replacing what an earlier one left.
pub(super) fn record(tx: &Transaction<'_>, key: &str, publication: &Publication) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT OR REPLACE INTO published (key, idx, size, at, draft) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![
            key,
            to_i64(publication.index)?,
            to_i64(publication.size)?,
            to_i64(publication.at.0)?,
            publication.draft.as_bytes()
        ])?;
    Ok(())
}

impl Store {
    /// What the owner last published under `key` (see
    /// [`Store::append_authored`]), if anything.
    ///
    /// # Errors
    /// On a database failure or a corrupt row.
    pub fn published_under(&self, key: &str) -> Result<Option<Publication>, StoreError> {
        let row: Option<(i64, i64, i64, Vec<u8>)> = self
            .conn
            .prepare_cached("SELECT idx, size, at, draft FROM published WHERE key = ?1")?
            .query_row([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        row.map(|(index, size, at, draft)| {
            let number = |n: i64| u64::try_from(n).map_err(|_| corrupt("a negative number in a publication"));
            let draft = <[u8; 32]>::try_from(draft).map_err(|_| corrupt("a publication's draft digest"))?;
            Ok(Publication {
                index: number(index)?,
                size: number(size)?,
                at: Timestamp(number(at)?),
                draft: Digest(draft),
            })
        })
        .transpose()
    }
}
