#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::wire::bigsize` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::wire::bigsize(data));
