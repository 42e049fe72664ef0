#![no_main]
//! Fuzz target `decode_bundle_record`: runs `cbm_tests::fuzz::TARGETS[7]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[7];
    debug_assert_eq!(target.name, "decode_bundle_record");
    (target.check)(data);
});
