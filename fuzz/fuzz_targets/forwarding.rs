#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::forwarding::forwarding` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::forwarding::forwarding(data));
