#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::node::node` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::node::node(data));
