#![no_main]
//! Fuzz target `decode_signed_checkpoint`: runs `cbm_tests::fuzz::TARGETS[3]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[3];
    debug_assert_eq!(target.name, "decode_signed_checkpoint");
    (target.check)(data);
});
