//! # cbm-log
//!
//! The append-only commitment log of cbm: what makes a declaration impossible
//! to deny, to revise in silence, or to show differently to different parties.
//!
//! It holds, each module implementing one part of spec/log.md:
//!
//! - [`merkle`] (§2): RFC 9162 tree shape with BLAKE3, roots, inclusion and
//!   consistency proofs from stored subtree hashes ([`merkle::HashReader`]);
//! - [`agreement`] and [`rules`] (§3.1–3.2): roster adoption and the rules
//!   every entry must meet; [`witness`] (§3.3): when a peer checkpoint may
//!   be cosigned;
//! - [`evidence`] (§4): equivocation evidence, built and verified offline;
//! - [`calendar`] and [`schedule`] (§5): periods, due dates, and judging a
//!   log on quorum receipts;
//! - [`entry_proof`] and [`bundle`] (§6): single-entry proofs and streaming
//!   bundles; [`audit`] (§7): the offline audit and its verdict;
//! - [`store`] (§9): the durable SQLite store with checked reads and `fsck`,
//!   and [`held`]: the logs a store holds as the entry rules see them;
//! - [`author`]: drafts become signed entries and openings.
//!
//! Everything but [`store`] and [`bundle`] is pure: no I/O, and no clock —
//! every "now" is passed in. The crate has no network code.
#![forbid(unsafe_code)]

pub mod agreement;
pub mod answers;
pub mod audit;
pub mod author;
pub mod bundle;
pub mod calendar;
pub mod entry_proof;
pub mod evidence;
pub mod findings;
pub mod held;
pub mod merkle;
pub mod rules;
pub mod schedule;
pub mod span_json;
pub mod store;
pub mod witness;
pub mod words;
