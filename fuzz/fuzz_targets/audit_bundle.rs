#![no_main]
//! Fuzz target `audit_bundle`: runs `cbm_tests::fuzz::TARGETS[12]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[12];
    debug_assert_eq!(target.name, "audit_bundle");
    (target.check)(data);
});
