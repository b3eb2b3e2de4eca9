//! Fuzz target `cmdline`: see `rs6_fuzz::cmdline`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rs6_fuzz::cmdline(data));
