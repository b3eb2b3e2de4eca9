//! Fuzz target `status`: see `rs6_fuzz::status`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rs6_fuzz::status(data));
