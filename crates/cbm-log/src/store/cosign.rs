//! Checkpoints beyond the appended ones, and cosignatures: what a node
//! collects about the logs it holds (spec/log.md §9).

use cbm_wire::{Checkpoint, Cosignature, LogId, RootHash, SignedCheckpoint, Wire};
use rusqlite::{Connection, OptionalExtension, params};

use super::{AppendError, Store, StoreError, corrupt, decode_checkpoint, to_i64};
use crate::merkle::Frontier;

/// Stores `cosignature` under the log row `log` unless the witness already
/// has one of that size: the first cosignature is the receipt and is kept.
/// Returns whether it was new.
pub(super) fn insert_cosignature(conn: &Connection, log: i64, cosignature: &Cosignature) -> Result<bool, StoreError> {
    let body = &cosignature.body;
    let inserted = conn
        .prepare_cached("INSERT OR IGNORE INTO cosignatures (log, witness, size, bytes) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![log, body.witness.as_str(), to_i64(body.checkpoint.size)?, cosignature.encode()])?;
    Ok(inserted == 1)
}

impl Store {
    /// The root of the first `size` entries of `log`, from the stored tree.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the store holds fewer than `size` entries.
    pub fn root_at(&self, log: &LogId, size: u64) -> Result<RootHash, StoreError> {
        let (id, held) = self.log_row(log)?.unwrap_or((0, 0));
        if size > held {
            return Err(StoreError::NotFound(format!("entries up to {size} of log {log} (holds {held})")));
        }
        Ok(RootHash(Frontier::read(&self.nodes(id), size)?.root().0))
    }

    /// The frontier of `log`'s stored tree: what appending continues from.
    ///
    /// # Errors
    /// On a database failure or a missing tree hash.
    pub fn frontier(&self, log: &LogId) -> Result<Frontier, StoreError> {
        let (id, size) = self.log_row(log)?.unwrap_or((0, 0));
        Frontier::read(&self.nodes(id), size)
    }

    /// Stores a checkpoint of a size the store already holds, if its root is
    /// the stored tree's root at that size: an older or re-signed checkpoint
    /// learnt from gossip, kept so that its cosignatures can be stored.
    /// The caller checks the signature first. Returns whether it was new.
    ///
    /// # Errors
    /// [`AppendError::SizeMismatch`] for a size past the stored log,
    /// [`AppendError::RootMismatch`] for a root that conflicts with the
    /// stored tree, [`AppendError::OutOfTimeOrder`] for a time that runs
    /// against a stored checkpoint's (the caller builds evidence from the
    /// two).
    pub fn add_checkpoint(&mut self, checkpoint: &SignedCheckpoint) -> Result<bool, StoreError> {
        let body = &checkpoint.body;
        let held = self.size(&body.log)?;
        if body.size > held {
            return Err(AppendError::SizeMismatch { checkpoint: body.size, log: held }.into());
        }
        let computed = self.root_at(&body.log, body.size)?;
        if computed != body.root {
            return Err(AppendError::RootMismatch { checkpoint: body.root, computed }.into());
        }
        let (id, _) = self.log_row(&body.log)?.ok_or_else(|| corrupt("log row vanished"))?;
        super::refuse_out_of_time_order(&self.conn, id, &body.log, checkpoint)?;
        let bytes = checkpoint.encode();
        let time = to_i64(body.timestamp.0)?;
        let existing: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT bytes FROM checkpoints WHERE log = ?1 AND size = ?2 AND timestamp = ?3")?
            .query_row(params![id, to_i64(body.size)?, time], |r| r.get(0))
            .optional()?;
        match existing {
            Some(stored) if stored == bytes => Ok(false),
            Some(_) => Err(AppendError::DuplicateCheckpoint.into()),
            None => {
                self.conn
                    .prepare_cached("INSERT INTO checkpoints (log, size, timestamp, bytes) VALUES (?1, ?2, ?3, ?4)")?
                    .execute(params![id, to_i64(body.size)?, time, bytes])?;
                Ok(true)
            }
        }
    }

    /// Every stored checkpoint of `log`, by size then time.
    ///
    /// # Errors
    /// On a database failure or a corrupt row.
    pub fn checkpoints(&self, log: &LogId) -> Result<Vec<SignedCheckpoint>, StoreError> {
        let Some((id, _)) = self.log_row(log)? else { return Ok(Vec::new()) };
        let mut statement =
            self.conn.prepare_cached("SELECT bytes FROM checkpoints WHERE log = ?1 ORDER BY size, timestamp")?;
        let rows = statement.query_map([id], |r| r.get::<_, Vec<u8>>(0))?;
        rows.map(|bytes| decode_checkpoint(&bytes?, log)).collect()
    }

    /// The `count` newest stored checkpoints of `log` (by size, then time), newest first.
    ///
    /// # Errors
    /// On a database failure or a corrupt row.
    pub fn recent_checkpoints(&self, log: &LogId, count: usize) -> Result<Vec<SignedCheckpoint>, StoreError> {
        let Some((id, _)) = self.log_row(log)? else { return Ok(Vec::new()) };
        let mut statement = self.conn.prepare_cached(
            "SELECT bytes FROM checkpoints WHERE log = ?1 ORDER BY size DESC, timestamp DESC LIMIT ?2",
        )?;
        let rows =
            statement.query_map(params![id, i64::try_from(count).unwrap_or(i64::MAX)], |r| r.get::<_, Vec<u8>>(0))?;
        rows.map(|bytes| decode_checkpoint(&bytes?, log)).collect()
    }

    /// Stores a cosignature of a checkpoint the store holds. The caller
    /// checks the signature first. Returns whether it was new (a witness's
    /// first cosignature of a size is kept: it is the receipt).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the cosigned checkpoint is not stored.
    pub fn add_cosignature(&mut self, cosignature: &Cosignature) -> Result<bool, StoreError> {
        let checkpoint = &cosignature.body.checkpoint;
        let (id, _) = self.find_checkpoint(checkpoint)?;
        insert_cosignature(&self.conn, id, cosignature)
    }

    /// Whether `checkpoint` itself (body and signature) is stored.
    ///
    /// # Errors
    /// On a database failure or a corrupt row.
    pub fn holds_checkpoint(&self, checkpoint: &SignedCheckpoint) -> Result<bool, StoreError> {
        match self.find_checkpoint(&checkpoint.body) {
            Ok((_, stored)) => Ok(stored == *checkpoint),
            Err(StoreError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether a checkpoint with exactly this body is stored.
    ///
    /// # Errors
    /// On a database failure or a corrupt row.
    pub fn holds_checkpoint_body(&self, body: &Checkpoint) -> Result<bool, StoreError> {
        match self.find_checkpoint(body) {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound(_) | StoreError::TooLargeToStore(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether a cosignature by `cosignature`'s witness of a checkpoint of
    /// its size is stored: then storing `cosignature` would change nothing
    /// (the first is kept).
    ///
    /// # Errors
    /// On a database failure.
    pub fn holds_receipt(&self, cosignature: &Cosignature) -> Result<bool, StoreError> {
        let body = &cosignature.body;
        let Some((id, _)) = self.log_row(&body.checkpoint.log)? else { return Ok(false) };
        let found: Option<i64> = self
            .conn
            .prepare_cached("SELECT 1 FROM cosignatures WHERE log = ?1 AND witness = ?2 AND size = ?3")?
            .query_row(params![id, body.witness.as_str(), to_i64(body.checkpoint.size)?], |r| r.get(0))
            .optional()?;
        Ok(found.is_some())
    }

    /// Stores each of `cosignatures` whose checkpoint the store holds, in
    /// one transaction, skipping the others; as [`Store::add_cosignature`]
    /// otherwise. Returns, for each in order, whether it was new, or `None`
    /// if its checkpoint is not stored (one whose size or time is too large
    /// to store cannot be): one cosignature never fails the others.
    ///
    /// # Errors
    /// On a database failure; nothing is stored then.
    pub fn add_cosignatures(&mut self, cosignatures: &[Cosignature]) -> Result<Vec<Option<bool>>, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let mut outcomes = Vec::with_capacity(cosignatures.len());
        for cosignature in cosignatures {
            outcomes.push(match self.find_checkpoint(&cosignature.body.checkpoint) {
                Ok((id, _)) => Some(insert_cosignature(&self.conn, id, cosignature)?),
                Err(StoreError::NotFound(_) | StoreError::TooLargeToStore(_)) => None,
                Err(e) => return Err(e),
            });
        }
        tx.commit()?;
        Ok(outcomes)
    }

    /// The log row and stored checkpoint whose body is `body`.
    fn find_checkpoint(&self, body: &Checkpoint) -> Result<(i64, SignedCheckpoint), StoreError> {
        let missing = || StoreError::NotFound(format!("checkpoint of size {} of log {}", body.size, body.log));
        let (id, _) = self.log_row(&body.log)?.ok_or_else(missing)?;
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT bytes FROM checkpoints WHERE log = ?1 AND size = ?2 AND timestamp = ?3")?
            .query_row(params![id, to_i64(body.size)?, to_i64(body.timestamp.0)?], |r| r.get(0))
            .optional()?;
        let stored = decode_checkpoint(&bytes.ok_or_else(missing)?, &body.log)?;
        if stored.body != *body {
            return Err(missing());
        }
        Ok((id, stored))
    }

    /// Every stored cosignature of checkpoints of `log`, by size then witness.
    ///
    /// # Errors
    /// On a database failure or a corrupt row.
    pub fn cosignatures(&self, log: &LogId) -> Result<Vec<Cosignature>, StoreError> {
        let Some((id, _)) = self.log_row(log)? else { return Ok(Vec::new()) };
        let mut statement =
            self.conn.prepare_cached("SELECT bytes FROM cosignatures WHERE log = ?1 ORDER BY size, witness")?;
        let rows = statement.query_map([id], |r| r.get::<_, Vec<u8>>(0))?;
        rows.map(|bytes| decode_cosignature(&bytes?, log)).collect()
    }

    /// How many cosignatures of checkpoints of `log` are stored: the
    /// receipts held.
    ///
    /// # Errors
    /// On a database failure.
    pub fn cosignature_count(&self, log: &LogId) -> Result<u64, StoreError> {
        self.log_count(log, super::Counted::Receipts)
    }

    /// The largest checkpoint size of `log` that at least `threshold`
    /// distinct witnesses cosigned (0 if none): how far the log is settled.
    ///
    /// # Errors
    /// On a database failure.
    pub fn settled_size(&self, log: &LogId, threshold: u32) -> Result<u64, StoreError> {
        let Some((id, _)) = self.log_row(log)? else { return Ok(0) };
        // Groups stream from the (log, size, witness) index, newest first;
        // the first settled one ends the walk, so the usual cost is a few rows.
        let mut statement = self.conn.prepare_cached(
            "SELECT size, count(DISTINCT witness) FROM cosignatures WHERE log = ?1 GROUP BY size ORDER BY size DESC",
        )?;
        let mut rows = statement.query([id])?;
        while let Some(row) = rows.next()? {
            let witnesses: i64 = row.get(1)?;
            if witnesses >= i64::from(threshold) {
                return super::to_u64(row.get(0)?, "cosigned size");
            }
        }
        Ok(0)
    }

    /// The stored cosignatures of exactly the checkpoint `body`.
    ///
    /// # Errors
    /// On a database failure or a corrupt row.
    pub fn cosignatures_of(&self, body: &Checkpoint) -> Result<Vec<Cosignature>, StoreError> {
        let mut found = self.cosignatures_at(&body.log, body.size)?;
        found.retain(|c| c.body.checkpoint == *body);
        Ok(found)
    }

    /// The stored cosignatures of checkpoints of `log` of `size` entries,
    /// by witness (several checkpoints of a size exist only if the owner
    /// equivocated or signed one tree twice).
    ///
    /// # Errors
    /// On a database failure or a corrupt row.
    pub fn cosignatures_at(&self, log: &LogId, size: u64) -> Result<Vec<Cosignature>, StoreError> {
        let Some((id, _)) = self.log_row(log)? else { return Ok(Vec::new()) };
        let mut statement =
            self.conn.prepare_cached("SELECT bytes FROM cosignatures WHERE log = ?1 AND size = ?2 ORDER BY witness")?;
        let rows = statement.query_map(params![id, to_i64(size)?], |r| r.get::<_, Vec<u8>>(0))?;
        rows.map(|bytes| decode_cosignature(&bytes?, log)).collect()
    }
}

fn decode_cosignature(bytes: &[u8], log: &LogId) -> Result<Cosignature, StoreError> {
    let cosignature = Cosignature::decode(bytes).map_err(|e| corrupt(format!("cosignature in log {log}: {e}")))?;
    if cosignature.body.checkpoint.log != *log {
        return Err(corrupt(format!("cosignature stored under log {log} names another log")));
    }
    Ok(cosignature)
}
