//! The store's schema and its migrations (spec/log.md §9, informative).
//!
//! `PRAGMA user_version` holds the schema version. Migrations run in order,
//! each in its own transaction, so a store is always at one whole version.

use rusqlite::Connection;

use super::StoreError;

/// The schema version this build writes.
pub(crate) const CURRENT_VERSION: u32 = 8;

/// Migration `i` takes a store from version `i` to `i + 1`.
const MIGRATIONS: [&str; CURRENT_VERSION as usize] = [
    // Version 1: logs, their entries, stored tree hashes and checkpoints.
    "CREATE TABLE logs (
        id INTEGER PRIMARY KEY,
        log_id BLOB NOT NULL UNIQUE CHECK (length(log_id) = 32),
        size INTEGER NOT NULL CHECK (size >= 0)
    );
    CREATE TABLE entries (
        log INTEGER NOT NULL REFERENCES logs(id),
        idx INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (log, idx)
    ) WITHOUT ROWID;
    CREATE TABLE tree_nodes (
        log INTEGER NOT NULL REFERENCES logs(id),
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (log, level, idx)
    ) WITHOUT ROWID;
    CREATE TABLE checkpoints (
        log INTEGER NOT NULL REFERENCES logs(id),
        size INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (log, size, timestamp)
    ) WITHOUT ROWID;",
    // Version 2: the witness state and what a node collects from its peers —
    // cosignatures (the first per witness and size is the receipt),
    // equivocation evidence, and openings of committed fields per recipient.
    "CREATE TABLE cosignatures (
        log INTEGER NOT NULL REFERENCES logs(id),
        witness TEXT NOT NULL,
        size INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (log, witness, size)
    ) WITHOUT ROWID;
    CREATE INDEX cosignatures_by_size ON cosignatures (log, size, witness);
    CREATE TABLE evidence (
        digest BLOB PRIMARY KEY CHECK (length(digest) = 32),
        log_id BLOB NOT NULL CHECK (length(log_id) = 32),
        bytes BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE openings (
        log_id BLOB NOT NULL CHECK (length(log_id) = 32),
        idx INTEGER NOT NULL,
        field INTEGER NOT NULL,
        recipient TEXT NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (log_id, idx, field, recipient)
    ) WITHOUT ROWID;",
    // Version 3: the checkpoint a mirrored log's staged entries lead to.
    "CREATE TABLE staged (
        log INTEGER PRIMARY KEY REFERENCES logs(id),
        bytes BLOB NOT NULL
    );",
    // Version 4: lookups that stay fast as logs grow. Cosignatures are kept
    // by checkpoint size (the lookups are by size: settlement, a checkpoint's
    // receipts), checkpoints are indexed by time (the time-order check of an
    // append), and each log counts its receipts and openings as they are
    // inserted, for status reports that do not scan.
    "CREATE TABLE cosignatures_by_checkpoint (
        log INTEGER NOT NULL REFERENCES logs(id),
        size INTEGER NOT NULL,
        witness TEXT NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (log, size, witness)
    ) WITHOUT ROWID;
    INSERT INTO cosignatures_by_checkpoint (log, size, witness, bytes)
        SELECT log, size, witness, bytes FROM cosignatures;
    DROP TABLE cosignatures;
    ALTER TABLE cosignatures_by_checkpoint RENAME TO cosignatures;
    CREATE INDEX checkpoints_by_time ON checkpoints (log, timestamp);
    ALTER TABLE logs ADD COLUMN receipts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE logs ADD COLUMN openings INTEGER NOT NULL DEFAULT 0;
    INSERT OR IGNORE INTO logs (log_id, size) SELECT DISTINCT log_id, 0 FROM openings;
    UPDATE logs SET
        receipts = (SELECT count(*) FROM cosignatures WHERE cosignatures.log = logs.id),
        openings = (SELECT count(*) FROM openings WHERE openings.log_id = logs.log_id);
    CREATE TRIGGER count_receipts AFTER INSERT ON cosignatures BEGIN
        UPDATE logs SET receipts = receipts + 1 WHERE id = NEW.log;
    END;
    CREATE TRIGGER count_openings AFTER INSERT ON openings BEGIN
        UPDATE logs SET openings = openings + 1 WHERE log_id = NEW.log_id;
    END;",
    // Version 5: the agreement the store belongs to, bound on first use.
    "CREATE TABLE agreement (
        only INTEGER PRIMARY KEY CHECK (only = 0),
        hash BLOB NOT NULL CHECK (length(hash) = 32)
    );",
    // Version 6: evidence by kind, so that what is kept per log and kind is
    // capped (at 4, the first by digest kept of what was held beyond). The
    // kind is the evidence's wire variant: in its canonical encoding, a
    // one-member map, the second byte (spec/wire.md §4.8).
    "ALTER TABLE evidence ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
    UPDATE evidence SET kind = CASE hex(substr(bytes, 2, 1)) WHEN '01' THEN 1 WHEN '02' THEN 2 ELSE 0 END;
    DELETE FROM evidence WHERE digest IN (
        SELECT digest FROM (
            SELECT digest, row_number() OVER (PARTITION BY log_id, kind ORDER BY digest) AS n FROM evidence
        ) WHERE n > 4
    );
    CREATE INDEX evidence_by_kind ON evidence (log_id, kind);",
    // Version 7: what the owner published under which key, written in the
    // append's transaction, so that a retried publication is found.
    "CREATE TABLE published (
        key TEXT PRIMARY KEY,
        idx INTEGER NOT NULL CHECK (idx >= 0),
        size INTEGER NOT NULL CHECK (size >= 0),
        at INTEGER NOT NULL CHECK (at >= 0)
    );",
    // Version 8: each publication with the digest of its draft, to tell a
    // retry from another draft under the same key. Publications recorded
    // by version 7 have none and are dropped: a retry of one of those is
    // published again.
    "DROP TABLE published;
    CREATE TABLE published (
        key TEXT PRIMARY KEY,
        idx INTEGER NOT NULL CHECK (idx >= 0),
        size INTEGER NOT NULL CHECK (size >= 0),
        at INTEGER NOT NULL CHECK (at >= 0),
        draft BLOB NOT NULL CHECK (length(draft) = 32)
    );",
];

/// Fails, changing nothing, if the store was written by a newer cbm.
pub(crate) fn refuse_newer(conn: &Connection) -> Result<u32, StoreError> {
    let found: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > CURRENT_VERSION {
        return Err(StoreError::TooNew { found, supported: CURRENT_VERSION });
    }
    Ok(found)
}

/// Brings the store at `conn` to [`CURRENT_VERSION`].
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found = refuse_newer(conn)?;
    for version in found..CURRENT_VERSION {
        let tx = conn.transaction()?;
        tx.execute_batch(MIGRATIONS[version as usize])?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
    Ok(())
}
