#![no_main]
//! Fuzz target `report_json`: runs `cbm_tests::fuzz::TARGETS[15]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[15];
    debug_assert_eq!(target.name, "report_json");
    (target.check)(data);
});
