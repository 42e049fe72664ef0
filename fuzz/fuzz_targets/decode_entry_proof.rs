#![no_main]
//! Fuzz target `decode_entry_proof`: runs `cbm_tests::fuzz::TARGETS[5]` (see fuzz/README.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = &cbm_tests::fuzz::TARGETS[5];
    debug_assert_eq!(target.name, "decode_entry_proof");
    (target.check)(data);
});
