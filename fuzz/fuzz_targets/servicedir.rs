//! Fuzz target `servicedir`: see `rs6_fuzz::servicedir`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rs6_fuzz::servicedir(data));
