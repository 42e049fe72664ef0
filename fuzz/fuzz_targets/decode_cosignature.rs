#![no_main]
//! Fuzz target `decode_cosignature`: runs `cbm_tests::fuzz::TARGETS[4]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[4];
    debug_assert_eq!(target.name, "decode_cosignature");
    (target.check)(data);
});
