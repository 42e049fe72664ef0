//! # cbm-log
//!
//! The append-only commitment log of cbm: what makes a declaration impossible
//! to deny, to revise in silence, or to show differently to different parties.
//!
//! This crate is pure protocol logic over `cbm-wire` types. So far it holds
//! the Merkle tree of spec/log.md §2 ([`merkle`]): RFC 9162 §2.1 tree shape
//! with BLAKE3, root computation, and inclusion and consistency proofs,
//! generated from stored subtree hashes through the [`merkle::HashReader`]
//! trait and verified with nothing but the proof. It does no I/O of its own
//! and never reads a clock.
#![forbid(unsafe_code)]

pub mod merkle;
