//! Full recomputation of a store: every entry decoded and hashed, every tree
//! hash and every checkpoint root recomputed and compared.

use cbm_wire::{EntryHash, LogId, SignedEntry, TreeHash, Wire};
use rusqlite::params;

use super::{Store, StoreError, decode_checkpoint, to_i64, to_u64};
use crate::merkle::Frontier;

/// What `fsck` found, per log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsckReport {
    /// One report per log, in store order.
    pub logs: Vec<LogReport>,
}

/// What `fsck` found in one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogReport {
    /// The log.
    pub log: LogId,
    /// Entries it holds.
    pub size: u64,
    /// Checkpoints it holds.
    pub checkpoints: u64,
    /// Every inconsistency found; empty if the log is sound.
    pub problems: Vec<String>,
}

impl FsckReport {
    /// Whether no log has a problem.
    pub fn is_ok(&self) -> bool {
        self.logs.iter().all(|l| l.problems.is_empty())
    }
}

impl Store {
    /// Recomputes every log from its entries and compares every stored tree
    /// hash and checkpoint root. Entries are streamed, so memory grows with
    /// the number of checkpoints, not entries; `progress` is called with the
    /// number of entries checked so far.
    ///
    /// # Errors
    /// A database failure, or a stored value no log can hold (a negative
    /// size or index); every other inconsistency goes in the report.
    pub fn fsck(&self, mut progress: impl FnMut(u64)) -> Result<FsckReport, StoreError> {
        let mut logs = Vec::new();
        let mut checked = 0;
        for log in self.logs()? {
            logs.push(self.fsck_log(&log, &mut checked, &mut progress)?);
        }
        Ok(FsckReport { logs })
    }

    fn fsck_log(
        &self,
        log: &LogId,
        checked: &mut u64,
        progress: &mut impl FnMut(u64),
    ) -> Result<LogReport, StoreError> {
        let (id, size) = self.log_row(log)?.ok_or_else(|| StoreError::NotFound(format!("log {log}")))?;
        let mut problems = Vec::new();

        // Checkpoints, smallest first, to compare as the recomputation passes their size.
        let mut checkpoints = Vec::new();
        {
            let mut statement = self
                .conn
                .prepare_cached("SELECT size, bytes FROM checkpoints WHERE log = ?1 ORDER BY size, timestamp")?;
            let mut rows = statement.query([id])?;
            while let Some(row) = rows.next()? {
                let stored_size = to_u64(row.get(0)?, "checkpoint size")?;
                match decode_checkpoint(&row.get::<_, Vec<u8>>(1)?, log) {
                    Ok(c) if c.body.size == stored_size => checkpoints.push(c),
                    Ok(_) => problems.push(format!("checkpoint row of size {stored_size} holds another size")),
                    Err(e) => problems.push(e.to_string()),
                }
            }
        }
        let checkpoint_count = checkpoints.len() as u64;
        let staged_toward = self.staged(log)?.map(|t| t.body.size);
        let checkpointed = checkpoints.last().map(|c| c.body.size);
        if staged_toward.is_some_and(|t| t <= size) {
            problems
                .push(format!("entries are staged toward a checkpoint of size {staged_toward:?}, but {size} are held"));
        } else if staged_toward.is_none() && checkpointed.is_some_and(|c| c != size) {
            problems.push(format!("latest checkpoint does not cover all {size} entries"));
        }
        let mut pending = checkpoints.into_iter().peekable();

        let mut frontier = Frontier::empty();
        let mut created = Vec::new();
        let mut node =
            self.conn.prepare_cached("SELECT hash FROM tree_nodes WHERE log = ?1 AND level = ?2 AND idx = ?3")?;
        let mut statement = self.conn.prepare_cached("SELECT idx, bytes FROM entries WHERE log = ?1 ORDER BY idx")?;
        let mut rows = statement.query([id])?;
        loop {
            while let Some(c) = pending.next_if(|c| c.body.size == frontier.size()) {
                if c.body.root.0 != frontier.root().0 {
                    problems.push(format!("checkpoint of size {} has a root the entries do not produce", c.body.size));
                }
            }
            let Some(row) = rows.next()? else { break };
            let index = to_u64(row.get(0)?, "entry index")?;
            let bytes: Vec<u8> = row.get(1)?;
            if index != frontier.size() {
                problems.push(format!("entry {} is missing", frontier.size()));
                break;
            }
            match SignedEntry::decode(&bytes) {
                Ok(entry) if entry.body.index == index => {}
                Ok(entry) => problems.push(format!("entry row {index} holds entry {}", entry.body.index)),
                Err(e) => problems.push(format!("entry {index}: {e}")),
            }
            created.clear();
            frontier.push(TreeHash(EntryHash::of_leaf(&bytes).0), &mut created);
            for (at, hash) in &created {
                let stored: Option<Vec<u8>> = node
                    .query_row(params![id, at.level, to_i64(at.index)?], |r| r.get(0))
                    .map(Some)
                    .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })?;
                if stored.as_deref() != Some(hash.as_bytes().as_slice()) {
                    problems.push(format!("tree hash at level {} index {} is wrong or missing", at.level, at.index));
                }
            }
            *checked += 1;
            if checked.is_multiple_of(4096) {
                progress(*checked);
            }
        }
        if frontier.size() != size {
            problems.push(format!("log claims {size} entries, {} are stored in order", frontier.size()));
        }
        if pending.next().is_some() {
            problems.push("a checkpoint is larger than the log".to_owned());
        }
        let stored_nodes: i64 =
            self.conn.query_row("SELECT count(*) FROM tree_nodes WHERE log = ?1", [id], |r| r.get(0))?;
        let expected_nodes = 2 * size - u64::from(size.count_ones());
        if to_u64(stored_nodes, "node count")? != expected_nodes {
            problems.push(format!("{stored_nodes} tree hashes stored, {expected_nodes} expected"));
        }
        let kept: [i64; 2] = self
            .conn
            .query_row("SELECT receipts, openings FROM logs WHERE id = ?1", [id], |r| Ok([r.get(0)?, r.get(1)?]))?;
        for ((counted, sql), kept) in [
            ("receipts", "SELECT count(*) FROM cosignatures WHERE log = ?1"),
            ("openings", "SELECT count(*) FROM openings WHERE log_id = (SELECT log_id FROM logs WHERE id = ?1)"),
        ]
        .into_iter()
        .zip(kept)
        {
            let stored: i64 = self.conn.query_row(sql, [id], |r| r.get(0))?;
            if stored != kept {
                problems.push(format!("the log counts {kept} {counted}, {stored} are stored"));
            }
        }
        let unreadable = self.openings(log, 0, None, usize::MAX)?.unreadable;
        if unreadable > 0 {
            problems.push(format!("{unreadable} stored openings do not decode"));
        }
        progress(*checked);
        Ok(LogReport { log: *log, size, checkpoints: checkpoint_count, problems })
    }
}
