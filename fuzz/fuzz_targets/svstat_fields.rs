//! Fuzz target `svstat_fields`: see `rs6_fuzz::svstat_fields`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rs6_fuzz::svstat_fields(data));
