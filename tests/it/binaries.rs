//! Every rs6 binary runs: with a bad option it prints a usage line and exits
//! 100, as s6's tools do. (Static linking and the absence of an allocator are
//! checked by `cargo xtask test`'s binary checks on the ELF files.)
