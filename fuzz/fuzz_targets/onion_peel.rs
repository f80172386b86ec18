#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::onion::onion_peel` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::onion::onion_peel(data));
