#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::scenario::scenario_parse` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::scenario::scenario_parse(data));
