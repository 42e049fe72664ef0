#![no_main]
//! Fuzz target `differential`: runs `cbm_tests::fuzz::TARGETS[11]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[11];
    debug_assert_eq!(target.name, "differential");
    (target.check)(data);
});
