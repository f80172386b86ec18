#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::transport::handshake` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::transport::handshake(data));
