#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::onion::onion_error` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::onion::onion_error(data));
