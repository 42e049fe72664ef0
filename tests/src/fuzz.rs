//! The checks behind every fuzz target (fuzz/README.md lists the targets).
//!
//! Each check panics when it finds a bug; returning normally means the input
//! was handled correctly, whether it was accepted or rejected.

use arbitrary::{Arbitrary, Unstructured};
use cbm_wire::{
    BundleRecord, CanonicalRule, Cosignature, DecodeError, EntryProof, EquivocationEvidence, Opening, Request,
    Response, SignedCheckpoint, SignedEntry, SignedRoster, Wire, check_canonical,
};

/// A fuzz target: its name (as under fuzz/fuzz_targets/) and its check.
pub struct Target {
    /// Target name, which is also its corpus directory name.
    pub name: &'static str,
    /// The check run on each input.
    pub check: fn(&[u8]),
}

/// Every fuzz target, in the order fuzz/README.md lists them.
pub const TARGETS: &[Target] = &[
    Target { name: "decode_signed_roster", check: decode::<SignedRoster> },
    Target { name: "decode_signed_entry", check: decode::<SignedEntry> },
    Target { name: "decode_opening", check: decode::<Opening> },
    Target { name: "decode_signed_checkpoint", check: decode::<SignedCheckpoint> },
    Target { name: "decode_cosignature", check: decode::<Cosignature> },
    Target { name: "decode_entry_proof", check: decode::<EntryProof> },
    Target { name: "decode_evidence", check: decode::<EquivocationEvidence> },
    Target { name: "decode_bundle_record", check: decode_bundle_record },
    Target { name: "decode_request", check: decode::<Request> },
    Target { name: "decode_response", check: decode::<Response> },
    Target { name: "roundtrip", check: roundtrip },
    Target { name: "differential", check: differential },
    #[cfg(feature = "audit")]
    Target { name: "audit_bundle", check: audit_bundle },
    #[cfg(feature = "tls")]
    Target { name: "tls_certificate", check: tls_certificate },
    #[cfg(feature = "tls")]
    Target { name: "tls_hello", check: tls_hello },
    #[cfg(feature = "audit")]
    Target { name: "report_json", check: report_json },
];

/// Reading any bytes as an audit's JSON report (spec/log.md §7.2, what
/// `cbm audit --json` writes and a verifier's tooling reads back) never
/// panics, and a report that reads writes back as itself.
#[cfg(feature = "audit")]
pub fn report_json(data: &[u8]) {
    use cbm_log::audit::AuditReport;
    if let Ok(report) = serde_json::from_slice::<AuditReport>(data) {
        let written = serde_json::to_vec(&report).expect("a report writes");
        let read: AuditReport = serde_json::from_slice(&written).expect("what a report writes reads");
        assert_eq!(read, report);
    }
}

/// Reading any bytes as a peer's certificate (spec/transport.md §2.3.2)
/// never panics, and a certificate that proves a key proves the same key
/// every time.
#[cfg(feature = "tls")]
pub fn tls_certificate(data: &[u8]) {
    let agreement = cbm_wire::AgreementHash([0x5a; 32]);
    let first = cbm_net::tls::bound_key(data, &agreement);
    assert_eq!(first, cbm_net::tls::bound_key(data, &agreement));
}

/// Choosing a form from any first bytes of a handshake (spec/transport.md
/// §2.3.3) never panics, waits only for a hello that can still complete
/// within its cap, and a choice made stays made as more bytes arrive.
#[cfg(feature = "tls")]
pub fn tls_hello(data: &[u8]) {
    let asked = cbm_net::tls::form_asked(data);
    if data.len() > 64 << 10 {
        assert!(asked.is_some(), "a hello over the cap is not waited for");
    }
    if let Some(form) = asked {
        let mut more = data.to_vec();
        more.extend_from_slice(&[0; 16]);
        assert_eq!(cbm_net::tls::form_asked(&more), Some(form));
    }
}

/// Auditing any bytes as a bundle never panics, and its report is
/// consistent: `ok` and `findings` only without problems, and a bounded
/// list of problems however long the input.
#[cfg(feature = "audit")]
pub fn audit_bundle(data: &[u8]) {
    use cbm_log::audit::{Verdict, audit};
    let report = audit(data, None, cbm_wire::Timestamp(1_767_225_600_000 + 400 * 86_400_000), |_| {});
    assert_eq!(report.verdict == Verdict::Invalid, !report.problems.is_empty(), "{report:?}");
    assert!(report.problems.len() <= 1010, "{} problems listed", report.problems.len());
}

/// Decoding never panics, and whatever it accepts is the canonical encoding
/// of the value it returns.
pub fn decode<T: Wire + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(value) = T::decode(data) {
        assert_eq!(value.encode(), data, "{} accepted a non-canonical encoding", T::NAME);
        assert!(check_canonical(data, &T::LIMITS).is_ok());
    }
}

/// As [`decode`], and an entry read in place from an accepted record (as
/// the audit reads it) is the entry's own encoding; any bytes at all are
/// read in place without a panic.
pub fn decode_bundle_record(data: &[u8]) {
    decode::<BundleRecord>(data);
    let in_place = BundleRecord::entry_encoding(data);
    if let Ok(record) = BundleRecord::decode(data) {
        let entry = match &record {
            BundleRecord::Entry { entry } => Some(entry.encode()),
            _ => None,
        };
        assert_eq!(in_place, entry.as_deref(), "an entry read in place differs from the entry encoded");
    }
}

/// Runs `f` with the decoder the selector byte picks (one per top-level type).
macro_rules! for_selected_type {
    ($selector:expr, $f:ident, $($arg:expr),*) => {
        match $selector % 10 {
            0 => $f::<SignedRoster>($($arg),*),
            1 => $f::<SignedEntry>($($arg),*),
            2 => $f::<Opening>($($arg),*),
            3 => $f::<SignedCheckpoint>($($arg),*),
            4 => $f::<Cosignature>($($arg),*),
            5 => $f::<EntryProof>($($arg),*),
            6 => $f::<EquivocationEvidence>($($arg),*),
            7 => $f::<BundleRecord>($($arg),*),
            8 => $f::<Request>($($arg),*),
            _ => $f::<Response>($($arg),*),
        }
    };
}

/// Structure-aware: an arbitrary value of the selected type encodes to
/// canonical bytes that decode back to it (or, over the item-count limits,
/// are refused with exactly that error), and that ciborium also reads.
pub fn roundtrip(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    for_selected_type!(selector, roundtrip_one, rest)
}

fn roundtrip_one<T>(data: &[u8])
where
    T: Wire + PartialEq + std::fmt::Debug + for<'a> Arbitrary<'a>,
{
    let Ok(value) = T::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let bytes = value.encode();
    if let Err(error) = check_canonical(&bytes, &T::LIMITS) {
        // A value over the scan limits (size, depth, collection length)
        // cannot be sent: the decoder must refuse it with that very rule.
        // Any other failure means the encoder wrote non-canonical bytes.
        let over_limit = matches!(
            error.rule,
            CanonicalRule::TooLarge { .. } | CanonicalRule::TooDeep { .. } | CanonicalRule::LengthOverLimit { .. }
        );
        assert!(over_limit, "{}: encoder wrote non-canonical bytes: {error}", T::NAME);
        assert!(matches!(T::decode(&bytes), Err(DecodeError::Canonical { source, .. }) if source == error));
        return;
    }
    match value.check_limits(T::NAME) {
        Ok(()) => assert_eq!(T::decode(&bytes).as_ref(), Ok(&value), "{} did not round-trip", T::NAME),
        Err(expected) => assert_eq!(T::decode(&bytes).err(), Some(expected)),
    }
    assert_independent_decoder_agrees::<T>(&bytes, &value);
}

/// Differential: whatever our strict decoder accepts, ciborium (an
/// independent CBOR implementation) accepts too, and reads as the same CBOR
/// data item: written back out by ciborium, it reproduces the input byte for
/// byte, which is also exactly our encoding of the value we decoded.
pub fn differential(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    for_selected_type!(selector, differential_one, rest)
}

fn differential_one<T: Wire + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(value) = T::decode(data) {
        assert_independent_decoder_agrees::<T>(data, &value);
    }
}

fn assert_independent_decoder_agrees<T: Wire + PartialEq + std::fmt::Debug>(bytes: &[u8], value: &T) {
    let generic: ciborium::Value = match ciborium::from_reader(bytes) {
        Ok(generic) => generic,
        Err(error) => panic!("{}: ciborium rejects what we accept: {error}", T::NAME),
    };
    // ciborium writes shortest-form heads and keeps map order, so canonical
    // input must come back byte for byte.
    let mut rewritten = Vec::new();
    ciborium::into_writer(&generic, &mut rewritten).expect("writing to a Vec");
    assert_eq!(rewritten, bytes, "{}: ciborium reads a different CBOR value", T::NAME);
    assert_eq!(value.encode(), bytes, "{}: our value re-encodes differently", T::NAME);
}
