//! Host integration tests: rs6's binaries run unprivileged in temporary
//! directories, with Debian's s6 as the oracle. `cargo xtask test` builds the
//! release binaries first and points `RS6_BIN` at them. Each module is owned
//! by one feature; `common` holds what they share.

mod binaries;
mod common;
mod faults;
mod ftrig;
mod log;
mod perms;
mod supervise;
mod svscan;
