#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::transport::cipher` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::transport::cipher(data));
