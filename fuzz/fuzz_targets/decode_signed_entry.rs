#![no_main]
//! Fuzz target `decode_signed_entry`: runs `cbm_tests::fuzz::TARGETS[1]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[1];
    debug_assert_eq!(target.name, "decode_signed_entry");
    (target.check)(data);
});
