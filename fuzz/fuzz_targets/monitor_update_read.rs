#![no_main]
//! libFuzzer entry point for `lnfuzz::targets::persist::monitor_update_read` (see that function).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lnfuzz::targets::persist::monitor_update_read(data));
