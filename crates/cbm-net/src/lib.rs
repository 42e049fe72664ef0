//! # cbm-net
//!
//! The network layer of cbm (spec/transport.md): QUIC with quinn and rustls,
//! peers authenticated by the Ed25519 transport keys pinned in the roster
//! ([`tls`]), length-prefixed canonical CBOR frames ([`frame`]), one request
//! per stream ([`client`]), and the signatory [`node`].
//!
//! Every protocol decision — may this entry stand, may this checkpoint be
//! cosigned, is this evidence, what to fetch and whom to tell — is made by
//! the node's core, `cbm_core::Core` (on `cbm-log`'s rules); this crate
//! only keeps connections, moves bytes and times, and serves reads.
#![forbid(unsafe_code)]

pub mod client;
pub mod clock;
pub mod endpoint;
pub mod files;
pub mod frame;
pub mod local;
pub mod node;
pub mod tls;

pub use clock::{Clock, ManualClock, SystemClock};
pub use node::{
    Event, EventCursor, EventKind, IdempotencyKey, Listen, LogStatus, Node, NodeConfig, NodeError, NodeLimits,
    NodeStatus, Obligations, Published,
};
