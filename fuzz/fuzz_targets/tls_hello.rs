#![no_main]
//! Fuzz target `tls_hello`: runs `cbm_tests::fuzz::TARGETS[14]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[14];
    debug_assert_eq!(target.name, "tls_hello");
    (target.check)(data);
});
