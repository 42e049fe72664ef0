//! Shared support for cbm's cross-crate tests.
//!
//! [`fuzz`] holds the checks every fuzz target runs. They live here, not in
//! `fuzz/`, so that `cargo test` on stable replays the committed fuzz corpus
//! through exactly the code the fuzzer ran (tests/tests/fuzz_corpus.rs).
#![forbid(unsafe_code)]

pub mod fuzz;
