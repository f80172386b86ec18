#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::onion::hop_payload` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::onion::hop_payload(data));
