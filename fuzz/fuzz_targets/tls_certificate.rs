#![no_main]
//! Fuzz target `tls_certificate`: runs `cbm_tests::fuzz::TARGETS[13]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[13];
    debug_assert_eq!(target.name, "tls_certificate");
    (target.check)(data);
});
