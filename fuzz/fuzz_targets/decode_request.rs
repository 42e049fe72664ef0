#![no_main]
//! Fuzz target `decode_request`: runs `cbm_tests::fuzz::TARGETS[8]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[8];
    debug_assert_eq!(target.name, "decode_request");
    (target.check)(data);
});
