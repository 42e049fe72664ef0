#![no_main]
//! Fuzz target `decode_opening`: runs `cbm_tests::fuzz::TARGETS[2]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[2];
    debug_assert_eq!(target.name, "decode_opening");
    (target.check)(data);
});
