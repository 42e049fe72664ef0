#![no_main]
//! Fuzz target `decode_response`: runs `cbm_tests::fuzz::TARGETS[9]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[9];
    debug_assert_eq!(target.name, "decode_response");
    (target.check)(data);
});
