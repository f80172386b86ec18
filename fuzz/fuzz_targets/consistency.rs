#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::consistency::consistency` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::consistency::consistency(data));
