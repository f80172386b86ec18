#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::transport::peer_manager` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::transport::peer_manager(data));
