//! Durable storage of logs in SQLite (spec/log.md §9): the owner's log and
//! every mirrored log, their stored tree hashes and checkpoints.
//!
//! The store keeps only what is consistent: [`Store::append`] recomputes the
//! tree over the new entries and commits them with their checkpoint in one
//! transaction only if the checkpoint's size and root match. It returns only
//! once the transaction is durable (WAL, `synchronous = FULL`). Reads are
//! checked: an entry must hash to its stored leaf, a proof must verify
//! against the stored checkpoint, and [`Store::fsck`] recomputes everything.
//!
//! This is the only module of cbm that uses `rusqlite`.

mod cosign;
mod export;
mod fsck;
mod published;
mod read;
mod records;
mod schema;

use std::path::Path;

use cbm_wire::{
    ConsistencyProof, Cosignature, Digest, EntryHash, InclusionProof, LogId, Opening, RootHash, SignatoryId,
    SignedCheckpoint, SignedEntry, TreeHash, Wire,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::merkle::{
    Frontier, HashReader, NodeIndex, ProveError, TreeHead, consistency_proof, inclusion_proof, verify_consistency,
    verify_inclusion,
};

pub use export::{ExportError, ExportSummary};
pub use fsck::{FsckReport, LogReport};
pub use published::Publication;
pub use read::ReadStore;
pub use records::{EvidencePage, MAX_EVIDENCE_PER_LOG_AND_KIND, OpeningsPage};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed (I/O, a locked or unreadable file).
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The store was written by a newer cbm.
    #[error("store schema version {found} is newer than this cbm supports ({supported})")]
    TooNew {
        /// Version in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// Stored data does not check out: the file was damaged or tampered with.
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    /// The caller asked for something the store does not hold.
    #[error("not found: {0}")]
    NotFound(String),
    /// A size, index or time of 2^63 or more, which SQLite integers cannot hold.
    #[error("{0} is too large to store (the limit is 2^63 - 1)")]
    TooLargeToStore(u64),
    /// An append was refused; nothing was stored.
    #[error("append refused: {0}")]
    Refused(#[from] AppendError),
    /// The store belongs to another agreement than the one it is opened for.
    #[error(
        "the store belongs to agreement {stored}, not {expected}: a data directory serves one agreement \
         (use another data directory for this one)"
    )]
    OtherAgreement {
        /// The agreement the store was bound to.
        stored: cbm_wire::AgreementHash,
        /// The agreement it was opened for.
        expected: cbm_wire::AgreementHash,
    },
    /// The store was made before stores recorded their agreement, and
    /// holds logs of none of this agreement's signatories.
    #[error("the store holds logs of another agreement than {expected}: a data directory serves one agreement")]
    LogsOfAnotherAgreement {
        /// The agreement it was opened for.
        expected: cbm_wire::AgreementHash,
    },
    /// Code working on the store panicked: a bug in cbm, not damage to the
    /// file. What that call wrote is rolled back; later calls go on.
    #[error("a store task panicked: {0}")]
    Panicked(String),
}

impl StoreError {
    /// The error for a task that panicked with `payload`, naming the
    /// panic's message where it has one.
    #[must_use]
    pub fn panicked(payload: &(dyn std::any::Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "without a message".to_string());
        Self::Panicked(message)
    }
}

/// Why an append was refused. The store is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// An entry's index is not the next leaf index.
    #[error("entry has index {found}, the next index is {expected}")]
    NotContiguous {
        /// The next leaf index.
        expected: u64,
        /// The entry's index.
        found: u64,
    },
    /// An entry or the checkpoint belongs to another log.
    #[error("{0} belongs to another log")]
    WrongLog(&'static str),
    /// The cosignature is of another checkpoint than the one appended.
    #[error("the cosignature is of another checkpoint")]
    CosignatureOfAnotherCheckpoint,
    /// An object is beyond its own limits as a top-level object (an
    /// opening of over 1 MiB, say): stored, no read of it could succeed.
    #[error("{object} is beyond its limits: {error}")]
    BeyondLimits {
        /// Which object.
        object: &'static str,
        /// Why its encoding would not decode.
        error: cbm_wire::DecodeError,
    },
    /// The checkpoint's size is not the size after the append.
    #[error("checkpoint size {checkpoint} differs from the log size after the append, {log}")]
    SizeMismatch {
        /// Size in the checkpoint.
        checkpoint: u64,
        /// Size after the append.
        log: u64,
    },
    /// The checkpoint's root is not the root of the log after the append.
    #[error("checkpoint root {checkpoint} differs from the recomputed root {computed}")]
    RootMismatch {
        /// Root in the checkpoint.
        checkpoint: RootHash,
        /// Recomputed root.
        computed: RootHash,
    },
    /// Another checkpoint of the same size and time is stored (signed with
    /// another key or otherwise different).
    #[error("a different checkpoint of the same size and time is already stored")]
    DuplicateCheckpoint,
    /// The checkpoint's time runs against a stored checkpoint of the log:
    /// it is larger but timed before it, or smaller but timed after it.
    /// Both are the owner's signatures: together they are evidence.
    #[error(
        "checkpoint of size {} at {} is out of time order with the stored one of size {} at {}",
        .checkpoint.size, .checkpoint.timestamp, .stored.body.size, .stored.body.timestamp
    )]
    OutOfTimeOrder {
        /// The checkpoint refused.
        checkpoint: Box<cbm_wire::Checkpoint>,
        /// The stored checkpoint it conflicts with.
        stored: Box<SignedCheckpoint>,
    },
}

/// A SQLite file holding logs.
pub struct Store {
    conn: Connection,
    /// Tree hashes of the upper levels, read once: they never change (the
    /// tree only grows) and every proof needs some of them.
    upper: UpperCache,
}

/// Stored tree hashes at level [`CACHED_LEVEL`] and above, by (log row, level, index):
/// at most one per 2^CACHED_LEVEL entries of each log.
type UpperCache = std::cell::RefCell<std::collections::HashMap<(i64, u8, u64), TreeHash>>;

/// Lowest level whose hashes are cached (subtrees of 64 entries).
const CACHED_LEVEL: u8 = 6;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.conn.path()).finish()
    }
}

/// Ends a read transaction. Nothing was written in it: ending it only
/// releases the snapshot.
fn end_snapshot(conn: &Connection) -> rusqlite::Result<usize> {
    conn.prepare_cached("ROLLBACK")?.execute([])
}

/// An open read transaction: ended by [`Snapshot::end`], which reports a
/// failure, or when dropped if `Store::read`'s reads panic.
struct Snapshot<'a>(Option<&'a Connection>);

impl Snapshot<'_> {
    fn end(mut self) -> rusqlite::Result<()> {
        self.0.take().map_or(Ok(()), |conn| end_snapshot(conn).map(|_| ()))
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            let _ = end_snapshot(conn);
        }
    }
}

/// A connection of its own that checkpoints a store's write-ahead log
/// beside the writer, for a writer that
/// [deferred](Store::defer_wal_checkpoints) its checkpoints.
pub struct WalCheckpointer {
    conn: Connection,
}

impl std::fmt::Debug for WalCheckpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalCheckpointer").field("path", &self.conn.path()).finish()
    }
}

impl WalCheckpointer {
    /// Opens the store at `path`, which a `Store` has opened (and migrated).
    ///
    /// # Errors
    /// If the file cannot be opened or is from a newer cbm.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        schema::refuse_newer(&conn)?;
        // The database file is synced before the write-ahead log restarts.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Self { conn })
    }

    /// Copies what it can of the write-ahead log into the database file
    /// now, without waiting for readers or the writer (SQLite's `PASSIVE`
    /// mode); the next commit then starts the log afresh if all of it was
    /// copied.
    ///
    /// # Errors
    /// On a database failure.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// What a log's row counts (see `Store::log_count`).
#[derive(Clone, Copy)]
enum Counted {
    /// Its rows in `cosignatures`.
    Receipts,
    /// Its rows in `openings`.
    Openings,
}

/// Refuses `checkpoint` if its time runs against a stored checkpoint of the
/// log with row id `id` (spec/log.md §9.3 step 6): a smaller one timed
/// after it, or a larger one timed before it. Checkpoints of equal size
/// never conflict. The stored checkpoints are in time order, so the
/// neighbours by size are the only ones to look at.
fn refuse_out_of_time_order(
    conn: &Connection,
    id: i64,
    log: &LogId,
    checkpoint: &SignedCheckpoint,
) -> Result<(), StoreError> {
    let body = &checkpoint.body;
    let size = to_i64(body.size)?;
    let neighbour = |sql: &str| -> Result<Option<SignedCheckpoint>, StoreError> {
        let bytes: Option<Vec<u8>> = conn.prepare_cached(sql)?.query_row(params![id, size], |r| r.get(0)).optional()?;
        bytes.map(|b| decode_checkpoint(&b, log)).transpose()
    };
    let below = neighbour(
        "SELECT bytes FROM checkpoints WHERE log = ?1 AND size < ?2 ORDER BY size DESC, timestamp DESC LIMIT 1",
    )?
    .filter(|c| c.body.timestamp > body.timestamp);
    let conflict = match below {
        Some(c) => Some(c),
        None => neighbour(
            "SELECT bytes FROM checkpoints WHERE log = ?1 AND size > ?2 ORDER BY size ASC, timestamp ASC LIMIT 1",
        )?
        .filter(|c| c.body.timestamp < body.timestamp),
    };
    match conflict {
        Some(stored) => {
            Err(AppendError::OutOfTimeOrder { checkpoint: Box::new(body.clone()), stored: Box::new(stored) }.into())
        }
        None => Ok(()),
    }
}

/// Storage errors seen through [`HashReader`].
fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt(format!("negative {what}")))
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::TooLargeToStore(value))
}

impl Store {
    /// Opens (creating if needed) the store at `path`, migrating its schema
    /// and checking that every log's stored tree matches its latest checkpoint.
    ///
    /// # Errors
    /// If the file cannot be opened, is from a newer cbm, or is corrupt.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path)?;
        schema::refuse_newer(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        let store = Self { conn, upper: UpperCache::default() };
        for log in store.logs()? {
            store.check_latest(&log)?;
        }
        Ok(store)
    }

    /// Opens a second, read-only connection to the store at `path`, which
    /// another `Store` has opened (and migrated) for writing. In WAL mode
    /// readers run alongside the writer and each other, and each query sees
    /// the latest committed state; every read is checked as usual.
    ///
    /// # Errors
    /// If the file cannot be opened or is from a newer cbm.
    pub fn open_reader(path: &Path) -> Result<Self, StoreError> {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        schema::refuse_newer(&conn)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Self { conn, upper: UpperCache::default() })
    }

    /// Stops commits on this connection from checkpointing the write-ahead
    /// log — copying its pages into the database file — whenever it has
    /// grown past SQLite's threshold (about 4 MiB): the commit that crosses
    /// it would take several syncs longer than the others. Whoever calls
    /// this must run a [`WalCheckpointer`] instead, or the write-ahead log
    /// grows without bound.
    ///
    /// # Errors
    /// On a database failure.
    pub fn defer_wal_checkpoints(&self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(())
    }

    /// Runs `read` in one read transaction: every query in it sees the same
    /// snapshot of the store, however writers go on meanwhile, and the
    /// database's locks are taken once rather than once per query.
    ///
    /// # Errors
    /// `read`'s error, or a database failure beginning the transaction.
    pub fn read<T, E: From<StoreError>>(&self, read: impl FnOnce(&Self) -> Result<T, E>) -> Result<T, E> {
        // Cached statements, not a `Transaction`: a request served is often
        // a few microseconds of queries, and parsing BEGIN each time shows.
        if !self.conn.is_autocommit() {
            // A snapshot an earlier read failed to end: end it now, or this
            // connection would never see a commit again.
            end_snapshot(&self.conn).map_err(StoreError::from)?;
        }
        self.conn.prepare_cached("BEGIN").and_then(|mut begin| begin.execute([])).map_err(StoreError::from)?;
        let snapshot = Snapshot(Some(&self.conn));
        let outcome = read(self);
        snapshot.end().map_err(StoreError::from)?;
        outcome
    }

    /// Binds the store to `agreement`, or checks that it is bound to it: a
    /// store serves one agreement (spec/log.md §9.2). A store not yet bound
    /// is bound now if every log it holds is one of `agreement`'s.
    ///
    /// # Errors
    /// [`StoreError::OtherAgreement`] if it is bound to another;
    /// [`StoreError::LogsOfAnotherAgreement`] if, unbound, it holds a log
    /// of no signatory of `agreement`; a database failure.
    pub fn bind_agreement(&mut self, agreement: &crate::agreement::Agreement) -> Result<(), StoreError> {
        let expected = *agreement.hash();
        let stored: Option<Vec<u8>> =
            self.conn.query_row("SELECT hash FROM agreement WHERE only = 0", [], |r| r.get(0)).optional()?;
        if let Some(stored) = stored {
            let stored = <[u8; 32]>::try_from(stored.as_slice())
                .map(cbm_wire::AgreementHash)
                .map_err(|_| corrupt("stored agreement hash is not 32 bytes"))?;
            return if stored == expected { Ok(()) } else { Err(StoreError::OtherAgreement { stored, expected }) };
        }
        let ours: std::collections::HashSet<LogId> =
            agreement.roster().signatories.iter().map(|s| agreement.log_of(&s.id)).collect();
        if self.logs()?.iter().any(|log| !ours.contains(log)) {
            return Err(StoreError::LogsOfAnotherAgreement { expected });
        }
        self.conn.execute("INSERT INTO agreement (only, hash) VALUES (0, ?1)", [expected.as_bytes()])?;
        Ok(())
    }

    /// Every log the store holds.
    ///
    /// # Errors
    /// On a database failure or a malformed log id.
    pub fn logs(&self) -> Result<Vec<LogId>, StoreError> {
        let mut statement = self.conn.prepare_cached("SELECT log_id FROM logs ORDER BY id")?;
        let rows = statement.query_map([], |row| row.get::<_, Vec<u8>>(0))?;
        rows.map(|bytes| {
            let bytes = bytes?;
            <[u8; 32]>::try_from(bytes.as_slice()).map(LogId).map_err(|_| corrupt("log id is not 32 bytes"))
        })
        .collect()
    }

    fn log_row(&self, log: &LogId) -> Result<Option<(i64, u64)>, StoreError> {
        let row = self
            .conn
            .prepare_cached("SELECT id, size FROM logs WHERE log_id = ?1")?
            .query_row([log.as_bytes()], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))
            .optional()?;
        row.map(|(id, size)| Ok((id, to_u64(size, "log size")?))).transpose()
    }

    /// A count `log`'s row keeps as rows are inserted (schema version 4);
    /// 0 for a log not held.
    fn log_count(&self, log: &LogId, counted: Counted) -> Result<u64, StoreError> {
        let (sql, what) = match counted {
            Counted::Receipts => ("SELECT receipts FROM logs WHERE log_id = ?1", "receipt count"),
            Counted::Openings => ("SELECT openings FROM logs WHERE log_id = ?1", "opening count"),
        };
        let count: Option<i64> =
            self.conn.prepare_cached(sql)?.query_row([log.as_bytes()], |row| row.get(0)).optional()?;
        to_u64(count.unwrap_or(0), what)
    }

    /// Number of entries stored for `log` (0 for an unknown log).
    ///
    /// # Errors
    /// On a database failure.
    pub fn size(&self, log: &LogId) -> Result<u64, StoreError> {
        Ok(self.log_row(log)?.map_or(0, |(_, size)| size))
    }

    /// Appends `entries` to `log` and stores `checkpoint` over the result, in
    /// one durable transaction. Entries must continue the log without gaps,
    /// and the checkpoint must state exactly the new size and root.
    ///
    /// Validity of the entries under the roster and of the checkpoint's
    /// signature is the caller's to check first (see the owner and witness
    /// rules); the store checks that the data is consistent with itself.
    ///
    /// # Errors
    /// [`StoreError::Refused`] (nothing stored) or a database failure.
    pub fn append(
        &mut self,
        log: &LogId,
        entries: &[SignedEntry],
        checkpoint: &SignedCheckpoint,
    ) -> Result<(), StoreError> {
        self.append_with(log, entries, checkpoint, Along::default())
    }

    /// The owner's append of entries it wrote: as [`Store::append`], with the
    /// openings of their committed fields (per recipient) in the same
    /// transaction, so no committed entry is ever stored without them; and,
    /// if a `key` is given, the publication recorded under it with the
    /// digest of its draft (see [`Store::published_under`]) in that
    /// transaction too, so that a retry of the same publication finds it
    /// whenever the entries are stored.
    ///
    /// # Errors
    /// As [`Store::append`].
    pub fn append_authored(
        &mut self,
        log: &LogId,
        entries: &[SignedEntry],
        checkpoint: &SignedCheckpoint,
        openings: &[(SignatoryId, Opening)],
        key: Option<(&str, &Digest)>,
    ) -> Result<(), StoreError> {
        self.append_with(log, entries, checkpoint, Along { openings, key, ..Along::default() })
    }

    /// A witness's append (spec/log.md §3.3): the mirrored entries, the
    /// owner's checkpoint and the witness's own cosignature of it commit in
    /// one transaction, so a crash never leaves the entries and checkpoint
    /// without the cosignature, or the cosignature without them. (Not every
    /// stored checkpoint of a peer log is cosigned by this witness:
    /// [`Store::add_checkpoint`] stores ones learnt from gossip.)
    ///
    /// # Errors
    /// As [`Store::append`]; also
    /// [`AppendError::CosignatureOfAnotherCheckpoint`] if the cosignature is
    /// not of `checkpoint`.
    pub fn append_cosigned(
        &mut self,
        log: &LogId,
        entries: &[SignedEntry],
        checkpoint: &SignedCheckpoint,
        cosignature: &Cosignature,
    ) -> Result<(), StoreError> {
        if cosignature.body.checkpoint != checkpoint.body {
            return Err(AppendError::CosignatureOfAnotherCheckpoint.into());
        }
        self.append_with(log, entries, checkpoint, Along { cosignature: Some(cosignature), ..Along::default() })
    }

    fn append_with(
        &mut self,
        log: &LogId,
        entries: &[SignedEntry],
        checkpoint: &SignedCheckpoint,
        along: Along<'_>,
    ) -> Result<(), StoreError> {
        if checkpoint.body.log != *log {
            return Err(AppendError::WrongLog("checkpoint").into());
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (id, size) = log_row_for_append(&tx, log)?;
        let frontier = insert_entries(&tx, log, id, size, entries)?;
        let new_size = frontier.size();
        let computed = RootHash(frontier.root().0);
        if checkpoint.body.size != new_size {
            return Err(AppendError::SizeMismatch { checkpoint: checkpoint.body.size, log: new_size }.into());
        }
        if checkpoint.body.root != computed {
            return Err(AppendError::RootMismatch { checkpoint: checkpoint.body.root, computed }.into());
        }
        refuse_out_of_time_order(&tx, id, log, checkpoint)?;
        {
            let bytes = checkpoint.encode();
            let time = to_i64(checkpoint.body.timestamp.0)?;
            let existing: Option<Vec<u8>> = tx
                .prepare_cached("SELECT bytes FROM checkpoints WHERE log = ?1 AND size = ?2 AND timestamp = ?3")?
                .query_row(params![id, to_i64(new_size)?, time], |r| r.get(0))
                .optional()?;
            match existing {
                Some(stored) if stored != bytes => return Err(AppendError::DuplicateCheckpoint.into()),
                Some(_) => {}
                None => {
                    tx.prepare_cached("INSERT INTO checkpoints (log, size, timestamp, bytes) VALUES (?1, ?2, ?3, ?4)")?
                        .execute(params![id, to_i64(new_size)?, time, bytes])?;
                }
            }
            tx.prepare_cached("DELETE FROM staged WHERE log = ?1")?.execute([id])?;
            if let Some(cosignature) = along.cosignature {
                cosign::insert_cosignature(&tx, id, cosignature)?;
            }
            for (recipient, opening) in along.openings {
                records::insert_opening(&tx, log, recipient, opening)?;
            }
            if let Some((key, draft)) = along.key {
                let first = Publication { index: size, size: new_size, at: checkpoint.body.timestamp, draft: *draft };
                published::record(&tx, key, &first)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// A witness's step toward a checkpoint too far ahead to check in one
    /// piece (spec/log.md §3.3.1): stores `entries`, which the caller has
    /// checked and proved to extend the held tree to a prefix of `target`'s,
    /// without a checkpoint of their own, and records `target` as the
    /// checkpoint they lead to. Such staged entries are served and built on
    /// like any other; the append that reaches a checkpoint clears the record.
    ///
    /// # Errors
    /// [`AppendError::SizeMismatch`] if the entries reach `target`'s size
    /// (that is an append, with the checkpoint), [`AppendError::WrongLog`]
    /// or [`AppendError::NotContiguous`] as for [`Store::append`]; nothing is
    /// stored then.
    pub fn stage(&mut self, log: &LogId, entries: &[SignedEntry], target: &SignedCheckpoint) -> Result<(), StoreError> {
        if target.body.log != *log {
            return Err(AppendError::WrongLog("checkpoint").into());
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (id, size) = log_row_for_append(&tx, log)?;
        let frontier = insert_entries(&tx, log, id, size, entries)?;
        if frontier.size() >= target.body.size {
            return Err(AppendError::SizeMismatch { checkpoint: target.body.size, log: frontier.size() }.into());
        }
        tx.prepare_cached("INSERT OR REPLACE INTO staged (log, bytes) VALUES (?1, ?2)")?
            .execute(params![id, target.encode()])?;
        tx.commit()?;
        Ok(())
    }

    /// The checkpoint `log`'s staged entries lead to (see [`Store::stage`]),
    /// if it holds any.
    ///
    /// # Errors
    /// On a database failure or a corrupt row.
    pub fn staged(&self, log: &LogId) -> Result<Option<SignedCheckpoint>, StoreError> {
        let Some((id, _)) = self.log_row(log)? else { return Ok(None) };
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT bytes FROM staged WHERE log = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        bytes.map(|b| decode_checkpoint(&b, log)).transpose()
    }

    /// The entry at `index` of `log`, checked against its stored leaf hash.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] past the end, [`StoreError::Corrupt`] if the
    /// stored bytes do not decode or do not match the tree.
    pub fn entry(&self, log: &LogId, index: u64) -> Result<SignedEntry, StoreError> {
        let (id, bytes) =
            self.stored_blob(log, "SELECT bytes FROM entries WHERE log = ?1 AND idx = ?2", index, || {
                format!("entry {index} of log {log}")
            })?;
        let leaf = self.nodes(id).read_hashes(&[NodeIndex { level: 0, index }])?;
        checked_entry(log, index, &bytes, leaf[0].as_bytes())
    }

    /// The stored leaf hash of entry `index` of `log`, if the store holds it.
    ///
    /// # Errors
    /// On a database failure or a corrupt row.
    pub fn leaf_hash(&self, log: &LogId, index: u64) -> Result<Option<EntryHash>, StoreError> {
        let Some((id, size)) = self.log_row(log)? else { return Ok(None) };
        if index >= size {
            return Ok(None);
        }
        let leaf = self.nodes(id).read_hashes(&[NodeIndex { level: 0, index }])?;
        Ok(Some(EntryHash(leaf[0].0)))
    }

    /// Writes a consistent copy of the whole store to `path` (SQLite's
    /// online backup), while the store stays in use.
    ///
    /// # Errors
    /// On a database or file failure.
    pub fn snapshot(&self, path: &Path) -> Result<(), StoreError> {
        self.conn.backup(rusqlite::MAIN_DB, path, None::<fn(rusqlite::backup::Progress)>)?;
        Ok(())
    }

    /// Entries `start..start + count` of `log` (fewer at the end of the log), checked.
    ///
    /// # Errors
    /// As [`Store::entry`].
    pub fn entries(&self, log: &LogId, start: u64, count: u64) -> Result<Vec<SignedEntry>, StoreError> {
        let Some((id, size)) = self.log_row(log)? else { return Ok(Vec::new()) };
        let end = size.min(start.saturating_add(count));
        if start >= end {
            return Ok(Vec::new());
        }
        // Two ranged reads, entries and their leaf hashes, walked in step.
        let range = params![id, to_i64(start)?, to_i64(end - 1)?];
        let mut leaves = self.conn.prepare_cached(
            "SELECT idx, hash FROM tree_nodes WHERE log = ?1 AND level = 0 AND idx BETWEEN ?2 AND ?3",
        )?;
        let mut leaves = leaves.query(range)?;
        let mut rows =
            self.conn.prepare_cached("SELECT idx, bytes FROM entries WHERE log = ?1 AND idx BETWEEN ?2 AND ?3")?;
        let mut rows = rows.query(range)?;
        let mut entries = Vec::with_capacity((end - start) as usize);
        for index in start..end {
            let missing = || corrupt(format!("entry {index} of log {log} or its leaf hash is missing"));
            let leaf = leaves.next()?.ok_or_else(missing)?;
            let row = rows.next()?.ok_or_else(missing)?;
            if to_u64(leaf.get(0)?, "leaf index")? != index || to_u64(row.get(0)?, "entry index")? != index {
                return Err(missing());
            }
            let bytes: Vec<u8> = row.get(1)?;
            let leaf: Vec<u8> = leaf.get(1)?;
            entries.push(checked_entry(log, index, &bytes, &leaf)?);
        }
        Ok(entries)
    }

    /// The newest stored checkpoint of `log`, if any.
    ///
    /// # Errors
    /// On a database failure or a corrupt row.
    pub fn latest_checkpoint(&self, log: &LogId) -> Result<Option<SignedCheckpoint>, StoreError> {
        let Some((id, _)) = self.log_row(log)? else {
            return Ok(None);
        };
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT bytes FROM checkpoints WHERE log = ?1 ORDER BY size DESC, timestamp DESC LIMIT 1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        bytes.map(|b| decode_checkpoint(&b, log)).transpose()
    }

    /// The tree head of `log` at its latest checkpoint, checked against the
    /// stored tree: a corrupt frontier is reported, not trusted. Entries
    /// past it must be staged toward a larger checkpoint.
    fn check_latest(&self, log: &LogId) -> Result<Option<TreeHead>, StoreError> {
        let (id, size) = self.log_row(log)?.ok_or_else(|| corrupt("log row vanished"))?;
        let latest = self.latest_checkpoint(log)?;
        let checkpointed = latest.as_ref().map_or(0, |c| c.body.size);
        let staged_toward = self.staged(log)?.map(|t| t.body.size);
        let covered = checkpointed == size || (checkpointed < size && staged_toward.is_some_and(|t| size < t));
        if !covered {
            return Err(corrupt(format!(
                "log {log} has {size} entries but its latest checkpoint says {checkpointed} and none are staged"
            )));
        }
        let Some(checkpoint) = latest else { return Ok(None) };
        let size = checkpoint.body.size;
        let computed = Frontier::read(&self.nodes(id), size)?.root();
        if computed.0 != checkpoint.body.root.0 {
            return Err(corrupt(format!("stored tree of log {log} does not match its latest checkpoint")));
        }
        Ok(Some(TreeHead { size, root: checkpoint.body.root }))
    }

    /// Runs `sql` (one blob column; parameters: the log's row id and `key`)
    /// for `log`, returning the row id and the blob, or `NotFound(missing())`.
    fn stored_blob(
        &self,
        log: &LogId,
        sql: &str,
        key: u64,
        missing: impl FnOnce() -> String,
    ) -> Result<(i64, Vec<u8>), StoreError> {
        let (id, _) = self.log_row(log)?.ok_or_else(|| StoreError::NotFound(format!("log {log}")))?;
        let blob = self.conn.prepare_cached(sql)?.query_row(params![id, to_i64(key)?], |r| r.get(0)).optional()?;
        blob.map(|b| (id, b)).ok_or_else(|| StoreError::NotFound(missing()))
    }

    /// The stored checkpoint of `log` of exactly `size` entries.
    fn head_at(&self, log: &LogId, size: u64) -> Result<(i64, TreeHead), StoreError> {
        let sql = "SELECT bytes FROM checkpoints WHERE log = ?1 AND size = ?2 LIMIT 1";
        let (id, bytes) = self.stored_blob(log, sql, size, || format!("checkpoint of size {size} of log {log}"))?;
        let checkpoint = decode_checkpoint(&bytes, log)?;
        Ok((id, TreeHead { size, root: checkpoint.body.root }))
    }

    /// The inclusion proof of entry `index` in the checkpointed tree of
    /// `size` entries, verified against that checkpoint before it is returned.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without such a checkpoint or entry,
    /// [`StoreError::Corrupt`] if stored hashes do not check out.
    pub fn inclusion_proof(&self, log: &LogId, index: u64, size: u64) -> Result<InclusionProof, StoreError> {
        let (id, head) = self.head_at(log, size)?;
        let proof = inclusion_proof(&self.nodes(id), index, size).map_err(prove_error)?;
        let leaf = self.nodes(id).read_hashes(&[NodeIndex { level: 0, index }])?;
        verify_inclusion(&EntryHash(leaf[0].0), &proof, &head)
            .map_err(|e| corrupt(format!("inclusion proof of entry {index} in log {log}: {e}")))?;
        Ok(proof)
    }

    /// The consistency proof from any size `old_size` of `log` to its
    /// checkpointed size `new_size`, verified against that checkpoint and the
    /// stored tree before it is returned.
    ///
    /// # Errors
    /// As [`Store::inclusion_proof`].
    pub fn consistency_proof(&self, log: &LogId, old_size: u64, new_size: u64) -> Result<ConsistencyProof, StoreError> {
        let (id, new) = self.head_at(log, new_size)?;
        let old = TreeHead { size: old_size, root: self.root_at(log, old_size)? };
        let proof = consistency_proof(&self.nodes(id), old_size, new_size).map_err(prove_error)?;
        verify_consistency(&proof, &old, &new)
            .map_err(|e| corrupt(format!("consistency proof {old_size}..{new_size} of log {log}: {e}")))?;
        Ok(proof)
    }
}

/// Entry `index` of `log` decoded from its stored `bytes`, checked against
/// its stored `leaf` hash and its position.
fn checked_entry(log: &LogId, index: u64, bytes: &[u8], leaf: &[u8]) -> Result<SignedEntry, StoreError> {
    if leaf != EntryHash::of_leaf(bytes).0.as_slice() {
        return Err(corrupt(format!("entry {index} of log {log} does not match its leaf hash")));
    }
    let entry = SignedEntry::decode(bytes).map_err(|e| corrupt(format!("entry {index} of log {log}: {e}")))?;
    if entry.body.index != index || LogId::derive(&entry.body.agreement, &entry.body.signatory) != *log {
        return Err(corrupt(format!("row {index} of log {log} holds another entry")));
    }
    Ok(entry)
}

/// The row id and size of `log` inside an append's transaction, creating the row.
fn log_row_for_append(tx: &Connection, log: &LogId) -> Result<(i64, u64), StoreError> {
    tx.prepare_cached("INSERT OR IGNORE INTO logs (log_id, size) VALUES (?1, 0)")?.execute([log.as_bytes()])?;
    let (id, size): (i64, i64) = tx
        .prepare_cached("SELECT id, size FROM logs WHERE log_id = ?1")?
        .query_row([log.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((id, to_u64(size, "log size")?))
}

/// Inserts `entries` after the `size` entries of `log` (row `id`), with
/// the tree hashes they complete, and updates the log's size, inside an
/// append's transaction. Returns the tree after them.
fn insert_entries(
    tx: &Connection,
    log: &LogId,
    id: i64,
    size: u64,
    entries: &[SignedEntry],
) -> Result<Frontier, StoreError> {
    let mut frontier = Frontier::read(&NodeReader { conn: tx, log: id, upper: None }, size)?;
    let mut created = Vec::with_capacity(2);
    let mut insert_entry = tx.prepare_cached("INSERT INTO entries (log, idx, bytes) VALUES (?1, ?2, ?3)")?;
    let mut insert_node =
        tx.prepare_cached("INSERT INTO tree_nodes (log, level, idx, hash) VALUES (?1, ?2, ?3, ?4)")?;
    for entry in entries {
        let index = frontier.size();
        if entry.body.index != index {
            return Err(AppendError::NotContiguous { expected: index, found: entry.body.index }.into());
        }
        if LogId::derive(&entry.body.agreement, &entry.body.signatory) != *log {
            return Err(AppendError::WrongLog("entry").into());
        }
        let bytes = entry.encode();
        created.clear();
        frontier.push(TreeHash(EntryHash::of_leaf(&bytes).0), &mut created);
        insert_entry.execute(params![id, to_i64(index)?, bytes])?;
        for (at, hash) in &created {
            insert_node.execute(params![id, at.level, to_i64(at.index)?, hash.as_bytes()])?;
        }
    }
    tx.prepare_cached("UPDATE logs SET size = ?1 WHERE id = ?2")?.execute(params![to_i64(frontier.size())?, id])?;
    Ok(frontier)
}

fn prove_error(error: ProveError<StoreError>) -> StoreError {
    match error {
        ProveError::Invalid(e) => StoreError::NotFound(e.to_string()),
        ProveError::Read(e) => e,
    }
}

fn decode_checkpoint(bytes: &[u8], log: &LogId) -> Result<SignedCheckpoint, StoreError> {
    let checkpoint = SignedCheckpoint::decode(bytes).map_err(|e| corrupt(format!("checkpoint of log {log}: {e}")))?;
    if checkpoint.body.log != *log {
        return Err(corrupt(format!("checkpoint stored under log {log} names another log")));
    }
    Ok(checkpoint)
}

/// Reads stored tree hashes of one log.
struct NodeReader<'a> {
    conn: &'a Connection,
    log: i64,
    /// Where upper-level hashes are cached, outside write transactions.
    upper: Option<&'a UpperCache>,
}

impl Store {
    /// The tree-hash reader of the log with row id `log`.
    fn nodes(&self, log: i64) -> NodeReader<'_> {
        NodeReader { conn: &self.conn, log, upper: Some(&self.upper) }
    }
}

impl HashReader for NodeReader<'_> {
    type Error = StoreError;

    fn read_hashes(&self, indexes: &[NodeIndex]) -> Result<Vec<TreeHash>, StoreError> {
        let mut statement =
            self.conn.prepare_cached("SELECT hash FROM tree_nodes WHERE log = ?1 AND level = ?2 AND idx = ?3")?;
        let cache = self.upper.filter(|_| indexes.iter().any(|i| i.level >= CACHED_LEVEL));
        indexes
            .iter()
            .map(|index| {
                let key = (self.log, index.level, index.index);
                let cached = cache.filter(|_| index.level >= CACHED_LEVEL);
                if let Some(hash) = cached.and_then(|c| c.borrow().get(&key).copied()) {
                    return Ok(hash);
                }
                let bytes: Vec<u8> = statement
                    .query_row(params![self.log, index.level, to_i64(index.index)?], |r| r.get(0))
                    .optional()?
                    .ok_or_else(|| corrupt(format!("missing tree hash {index:?}")))?;
                let hash = <[u8; 32]>::try_from(bytes.as_slice())
                    .map(TreeHash)
                    .map_err(|_| corrupt("tree hash is not 32 bytes"))?;
                if let Some(cache) = cached {
                    cache.borrow_mut().insert(key, hash);
                }
                Ok(hash)
            })
            .collect()
    }
}

/// What an append stores along with the entries and checkpoint, in the same
/// transaction.
#[derive(Default)]
struct Along<'a> {
    /// The witness's own cosignature of the checkpoint.
    cosignature: Option<&'a Cosignature>,
    /// The owner's openings of committed fields, per recipient.
    openings: &'a [(SignatoryId, Opening)],
    /// The key the owner published the entries under, and its draft's digest.
    key: Option<(&'a str, &'a Digest)>,
}
