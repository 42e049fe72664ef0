//! Hard limits of the wire format (spec/wire.md §6).
//!
//! These bound what any decoder accepts before it allocates. A roster may set
//! tighter limits for its agreement; it can never loosen these.

/// Bounds enforced while scanning an encoded object, before any value is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest encoded object, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of arrays and maps; the top-level item is depth 1.
    pub max_depth: usize,
    /// Most elements in one array or entries in one map.
    pub max_collection_len: usize,
    /// Longest byte or text string, in bytes.
    pub max_string_len: usize,
}

/// Largest encoded signed entry (1 MiB).
pub const MAX_ENTRY_BYTES: usize = 1 << 20;
/// Largest network frame or bundle record (16 MiB).
pub const MAX_FRAME_BYTES: usize = 16 << 20;
/// Most fields in one entry body.
pub const MAX_FIELDS: usize = 256;
/// Most signatories in one roster.
pub const MAX_SIGNATORIES: usize = 1024;
/// Most signing keys listed for one signatory.
pub const MAX_KEYS_PER_SIGNATORY: usize = 16;
/// Most network addresses listed for one signatory.
pub const MAX_ADDRESSES: usize = 16;
/// Most schedules in one roster.
pub const MAX_SCHEDULES: usize = 256;
/// Most notices (notification topics on a clock) in one roster.
pub const MAX_NOTICES: usize = 256;
/// Most recipients named by one request entry.
pub const MAX_RECIPIENTS: usize = MAX_SIGNATORIES;
/// Most hashes in a Merkle proof: trees hold at most 2^64 leaves.
pub const MAX_PROOF_HASHES: usize = 64;
/// Most entries, cosignatures or other items in one network response page.
pub const MAX_PAGE_ITEMS: usize = 4096;
/// Longest free-text string (titles, names, reasons, error messages), in bytes.
pub const MAX_TEXT_BYTES: usize = 4096;
/// Largest clock skew a roster may allow, in milliseconds (one day).
pub const MAX_CLOCK_SKEW_MILLIS: u64 = 86_400_000;

impl Limits {
    /// Limits for one signed entry and everything no larger (checkpoints,
    /// cosignatures, proofs, openings).
    pub const ENTRY: Limits = Limits {
        max_bytes: MAX_ENTRY_BYTES,
        max_depth: 8,
        max_collection_len: MAX_SIGNATORIES,
        max_string_len: MAX_ENTRY_BYTES,
    };

    /// Limits for a roster, a network frame, a bundle record or an entry proof.
    pub const FRAME: Limits = Limits {
        max_bytes: MAX_FRAME_BYTES,
        max_depth: 12,
        max_collection_len: MAX_PAGE_ITEMS,
        max_string_len: MAX_ENTRY_BYTES,
    };
}
