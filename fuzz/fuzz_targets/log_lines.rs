//! Fuzz target `log_lines`: see `rs6_fuzz::log_lines`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rs6_fuzz::log_lines(data));
