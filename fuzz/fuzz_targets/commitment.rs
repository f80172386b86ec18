#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::commitment::commitment` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::commitment::commitment(data));
