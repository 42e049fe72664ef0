//! Shared support for cbm's cross-crate tests.
//!
//! [`fuzz`] holds the checks every fuzz target runs. They live here, not in
//! `fuzz/`, so that `cargo test` on stable replays the committed fuzz corpus
//! through exactly the code the fuzzer ran (tests/tests/fuzz_corpus.rs).
#![forbid(unsafe_code)]

pub mod cbor_writer;
pub mod fuzz;
pub mod invalid;
#[cfg(feature = "log")]
pub mod logs;
#[cfg(feature = "log")]
pub mod net;
pub mod python;
pub mod samples;
#[cfg(feature = "log")]
pub mod view;

/// Runs `$body` with `T` bound to the top-level wire type named `$name`
/// (its `Wire::NAME`); evaluates to `None` for an unknown name.
#[macro_export]
macro_rules! with_wire_type {
    ($name:expr, |$t:ident| $body:expr) => {{
        use cbm_wire::*;
        match $name {
            "SignedRoster" => {
                type $t = SignedRoster;
                Some($body)
            }
            "SignedEntry" => {
                type $t = SignedEntry;
                Some($body)
            }
            "Opening" => {
                type $t = Opening;
                Some($body)
            }
            "SignedCheckpoint" => {
                type $t = SignedCheckpoint;
                Some($body)
            }
            "Cosignature" => {
                type $t = Cosignature;
                Some($body)
            }
            "EntryProof" => {
                type $t = EntryProof;
                Some($body)
            }
            "EquivocationEvidence" => {
                type $t = EquivocationEvidence;
                Some($body)
            }
            "BundleRecord" => {
                type $t = BundleRecord;
                Some($body)
            }
            "Request" => {
                type $t = Request;
                Some($body)
            }
            "Response" => {
                type $t = Response;
                Some($body)
            }
            _ => None,
        }
    }};
}

/// Decodes `bytes` as the top-level type named `object`, keeping only the error.
pub fn decode_named(object: &str, bytes: &[u8]) -> Option<Result<(), cbm_wire::DecodeError>> {
    with_wire_type!(object, |T| <T as Wire>::decode(bytes).map(drop))
}
