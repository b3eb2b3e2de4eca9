//! Fuzz target `getopt`: see `rs6_fuzz::getopt`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rs6_fuzz::getopt(data));
