//! Fuzz target `death_tally`: see `rs6_fuzz::death_tally`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rs6_fuzz::death_tally(data));
