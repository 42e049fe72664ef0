//! # cbm-log
//!
//! The append-only commitment log of cbm: what makes a declaration impossible
//! to deny, to revise in silence, or to show differently to different parties.
//!
//! So far it holds:
//!
//! - [`merkle`]: the Merkle tree of spec/log.md §2 — RFC 9162 §2.1 tree shape
//!   with BLAKE3, roots, inclusion and consistency proofs, generated from
//!   stored subtree hashes through [`merkle::HashReader`] and verified with
//!   nothing but the proof. Pure: no I/O, no clock.
//! - [`store`]: the durable SQLite store of logs, tree hashes and
//!   checkpoints, with appends that commit atomically and an `fsck`.
//!
//! - [`evidence`]: equivocation evidence, built from conflicting checkpoints
//!   and verified offline with nothing but the roster.
//!
//! - [`agreement`] and [`rules`]: roster adoption and the log-owner rules an
//!   entry must meet; [`witness`]: when a peer checkpoint may be cosigned;
//!   [`calendar`]: schedule periods and due dates.
//!
//! Schedule evaluation on receipts, bundles and the audit are still to come. The crate
//! has no network code and never reads a clock.
#![forbid(unsafe_code)]

pub mod agreement;
pub mod audit;
pub mod bundle;
pub mod calendar;
pub mod entry_proof;
pub mod evidence;
pub mod merkle;
pub mod rules;
pub mod schedule;
pub mod store;
pub mod witness;
