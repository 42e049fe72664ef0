#![no_main]
//! Fuzz target `decode_signed_roster`: runs `cbm_tests::fuzz::TARGETS[0]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[0];
    debug_assert_eq!(target.name, "decode_signed_roster");
    (target.check)(data);
});
