#![no_main]
//! Fuzz target `decode_evidence`: runs `cbm_tests::fuzz::TARGETS[6]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[6];
    debug_assert_eq!(target.name, "decode_evidence");
    (target.check)(data);
});
