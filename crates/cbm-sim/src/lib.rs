//! # cbm-sim
//!
//! A deterministic simulator for cbm's signatory node, in the manner of
//! FoundationDB's simulation testing and TigerBeetle's VOPR: N nodes of
//! the real protocol core (`cbm_core::Core`), each over the real store
//! (`cbm_log::store::Store`, on an in-memory SQLite database), on a
//! simulated network, with simulated clocks, and with faults:
//!
//! - the network: a latency drawn per message (so messages reorder), loss,
//!   duplication, and partitions that come and go;
//! - clocks: each node's clock is off by its own skew;
//! - crashes: a node dies between two events, or inside one at its k-th
//!   store write (a power loss: that write and everything after it is
//!   lost, what was committed before survives), and comes back later from
//!   its store;
//! - adversarial signatories: an equivocator running two cores under one
//!   set of keys that shows each half of its partners another log; a
//!   witness that withholds its cosignatures; and a Byzantine peer that
//!   pushes forged and conflicting checkpoints, answers with entries and
//!   proofs that do not fit, and replays what it saw, stale.
//!
//! Everything random comes from one seed: the same seed runs the same
//! simulation, event for event, and [`Outcome::digest`] — a hash of every
//! message sent that the network delivers, with when it was sent and its
//! endpoints — says so. After every event the
//! [`invariants`] are checked; the first that fails ends the run with the
//! seed that replays it.
//!
//! What is not simulated: QUIC, TLS and framing (tested with real nodes in
//! `tests/`), and the reader pool (reads are answered by the core on its
//! own connection, the same code).
#![forbid(unsafe_code)]

mod adversary;
mod agreement;
pub mod invariants;
mod network;
mod node;
mod world;

pub use invariants::Violation;
pub use world::{Config, Faults, Outcome, Scale, run};
