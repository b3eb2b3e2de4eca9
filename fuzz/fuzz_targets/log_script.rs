//! Fuzz target `log_script`: see `rs6_fuzz::log_script`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rs6_fuzz::log_script(data));
