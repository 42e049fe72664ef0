//! Equivocation evidence and openings of committed fields, as a node keeps
//! them (spec/log.md §9). The caller verifies both before storing them.

use cbm_wire::{Digest, EquivocationEvidence, LogId, Opening, SignatoryId, Wire};
use rusqlite::{Connection, OptionalExtension, params};

use super::{AppendError, Store, StoreError, corrupt, to_i64};

/// Stores an opening addressed to `recipient`; returns whether it was new.
pub(super) fn insert_opening(
    conn: &Connection,
    log: &LogId,
    recipient: &SignatoryId,
    opening: &Opening,
) -> Result<bool, StoreError> {
    opening.check_own_limits().map_err(|error| AppendError::BeyondLimits { object: "opening", error })?;
    let inserted = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO openings (log_id, idx, field, recipient, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            log.as_bytes(),
            to_i64(opening.entry.index)?,
            opening.field,
            recipient.as_str(),
            opening.encode()
        ])?;
    Ok(inserted == 1)
}

/// Most items of evidence of one kind kept per log. One item proves the
/// fault; a few more show other forks. An equivocating owner can sign any
/// number of conflicting checkpoints, and a peer relay them all: beyond
/// this, evidence of a log already proven is not stored (spec/log.md §9).
pub const MAX_EVIDENCE_PER_LOG_AND_KIND: u64 = 4;

/// A page of the evidence held (see [`Store::evidence_page`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvidencePage {
    /// The items read, in the order of their digests.
    pub evidence: Vec<EquivocationEvidence>,
    /// Rows left out because they do not decode or match their digest.
    pub unreadable: u64,
    /// Whether the byte budget ended the page before the last row.
    pub more: bool,
}

/// A page of a log's openings (see [`Store::openings`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpeningsPage {
    /// The openings read, with their recipients.
    pub openings: Vec<(SignatoryId, Opening)>,
    /// Rows left out because they do not decode (damage, or an opening
    /// beyond its limits stored by an older cbm); `fsck` finds them.
    pub unreadable: u64,
    /// Whether the byte budget ended the page before the last row.
    pub more: bool,
}

impl Store {
    /// Stores verified evidence; returns whether it was stored: false if it
    /// was held already, or if its log holds
    /// [`MAX_EVIDENCE_PER_LOG_AND_KIND`] items of its kind.
    ///
    /// # Errors
    /// On a database failure.
    pub fn add_evidence(&mut self, evidence: &EquivocationEvidence) -> Result<bool, StoreError> {
        if !self.wants_evidence(evidence)? {
            return Ok(false);
        }
        let bytes = evidence.encode();
        let (log, kind) = crate::evidence::log_and_kind(evidence);
        let inserted = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO evidence (digest, log_id, kind, bytes) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![blake3::hash(&bytes).as_bytes(), log.as_bytes(), kind, bytes])?;
        Ok(inserted == 1)
    }

    /// Whether [`Store::add_evidence`] would store `evidence`: it is not held,
    /// and its log holds fewer than [`MAX_EVIDENCE_PER_LOG_AND_KIND`] items
    /// of its kind. Ask before verifying what a peer sends.
    ///
    /// # Errors
    /// On a database failure.
    pub fn wants_evidence(&self, evidence: &EquivocationEvidence) -> Result<bool, StoreError> {
        let digest = blake3::hash(&evidence.encode());
        let (log, kind) = crate::evidence::log_and_kind(evidence);
        let (held, of_kind): (bool, i64) = self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM evidence WHERE digest = ?1),
                    (SELECT count(*) FROM evidence WHERE log_id = ?2 AND kind = ?3)",
            )?
            .query_row(params![digest.as_bytes(), log.as_bytes(), kind], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(!held && u64::try_from(of_kind).unwrap_or(0) < MAX_EVIDENCE_PER_LOG_AND_KIND)
    }

    /// Whether `evidence` is stored.
    ///
    /// # Errors
    /// On a database failure.
    pub fn holds_evidence(&self, evidence: &EquivocationEvidence) -> Result<bool, StoreError> {
        let digest = blake3::hash(&evidence.encode());
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM evidence WHERE digest = ?1")?
            .query_row([digest.as_bytes()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The evidence held whose digests (BLAKE3 of the encoding) follow
    /// `after`, in digest order: at most `MAX_PAGE_ITEMS` items. Rows are
    /// read one at a time and the page ends before the row that would take
    /// it past `max_bytes` encoded (it holds at least one row), so a page
    /// never loads a whole table; a row that does not decode or match its
    /// digest is counted and left out.
    ///
    /// # Errors
    /// On a database failure.
    pub fn evidence_page(&self, after: Option<&Digest>, max_bytes: usize) -> Result<EvidencePage, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT digest, bytes FROM evidence WHERE ?1 IS NULL OR digest > ?1 ORDER BY digest")?;
        let mut rows = statement.query(params![after.map(Digest::as_bytes)])?;
        let mut page = EvidencePage::default();
        let mut bytes_read = 0usize;
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(1)?;
            let full = page.evidence.len() >= cbm_wire::limits::MAX_PAGE_ITEMS;
            if full || (bytes_read > 0 && bytes_read.saturating_add(bytes.len()) > max_bytes) {
                page.more = true;
                break;
            }
            bytes_read = bytes_read.saturating_add(bytes.len());
            let digest: Vec<u8> = row.get(0)?;
            match EquivocationEvidence::decode(&bytes) {
                Ok(item) if blake3::hash(&bytes).as_bytes().as_slice() == digest.as_slice() => page.evidence.push(item),
                _ => page.unreadable += 1,
            }
        }
        Ok(page)
    }

    /// Every item of evidence stored, in a fixed order: at most
    /// [`MAX_EVIDENCE_PER_LOG_AND_KIND`] per log and kind.
    ///
    /// # Errors
    /// On a database failure or a corrupt row.
    pub fn evidence(&self) -> Result<Vec<EquivocationEvidence>, StoreError> {
        let mut statement = self.conn.prepare_cached("SELECT digest, bytes FROM evidence ORDER BY log_id, digest")?;
        let rows = statement.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        rows.map(|row| {
            let (digest, bytes) = row?;
            if blake3::hash(&bytes).as_bytes().as_slice() != digest.as_slice() {
                return Err(corrupt("stored evidence does not match its digest"));
            }
            EquivocationEvidence::decode(&bytes).map_err(|e| corrupt(format!("stored evidence: {e}")))
        })
        .collect()
    }

    /// Stores the opening of a committed field in `log`, a log the store
    /// holds, addressed to `recipient`; returns whether it was new.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the log is not held; a database failure.
    pub fn add_opening(&mut self, log: &LogId, recipient: &SignatoryId, opening: &Opening) -> Result<bool, StoreError> {
        if self.log_row(log)?.is_none() {
            return Err(StoreError::NotFound(format!("log {log}")));
        }
        insert_opening(&self.conn, log, recipient, opening)
    }

    /// Number of openings stored for `log`.
    ///
    /// # Errors
    /// On a database failure.
    pub fn opening_count(&self, log: &LogId) -> Result<u64, StoreError> {
        self.log_count(log, super::Counted::Openings)
    }

    /// Openings in `log` from entry `start` on, in (entry, field,
    /// recipient) order, with their recipients; only those addressed to
    /// `recipient` if one is given. Rows are read one at a time and the
    /// page ends before the row that would take it past `max_bytes` of
    /// encoded openings (it holds at least one row), so a page never loads
    /// a whole table. A row that does not decode is counted and left out:
    /// one bad row never fails the read.
    ///
    /// # Errors
    /// On a database failure.
    pub fn openings(
        &self,
        log: &LogId,
        start: u64,
        recipient: Option<&SignatoryId>,
        max_bytes: usize,
    ) -> Result<OpeningsPage, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT recipient, bytes FROM openings WHERE log_id = ?1 AND idx >= ?2 AND (?3 IS NULL OR recipient = ?3)
             ORDER BY idx, field, recipient",
        )?;
        let mut rows = statement.query(params![log.as_bytes(), to_i64(start)?, recipient.map(|r| r.as_str())])?;
        let mut page = OpeningsPage::default();
        let mut bytes_read = 0usize;
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(1)?;
            if bytes_read > 0 && bytes_read.saturating_add(bytes.len()) > max_bytes {
                page.more = true;
                break;
            }
            bytes_read = bytes_read.saturating_add(bytes.len());
            let to = row.get::<_, String>(0)?.parse::<SignatoryId>();
            match (to, Opening::decode(&bytes)) {
                (Ok(to), Ok(opening)) => page.openings.push((to, opening)),
                _ => page.unreadable += 1,
            }
        }
        Ok(page)
    }
}
