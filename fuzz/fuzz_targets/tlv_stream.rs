#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::wire::tlv_stream` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::wire::tlv_stream(data));
