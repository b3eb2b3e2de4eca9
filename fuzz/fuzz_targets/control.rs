//! Fuzz target `control`: see `rs6_fuzz::control`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rs6_fuzz::control(data));
