#![no_main]
//! Fuzz target `roundtrip`: runs `cbm_tests::fuzz::TARGETS[10]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[10];
    debug_assert_eq!(target.name, "roundtrip");
    (target.check)(data);
});
