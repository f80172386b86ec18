#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::wire::wire_message` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::wire::wire_message(data));
