//! # ftrig — fifodir event notification
//!
//! A **fifodir** is a directory where listeners keep named pipes, one each
//! (`ftrig1:@<24 hex TAI64N>:<6 random chars>`). A notifier — rs6-supervise,
//! s6-supervise, `rs6-ftrig-notify` — sends an event, a few bytes, by writing
//! it to every pipe in the directory. The layout and names are s6's (2.11),
//! so s6's tools and rs6's hear each other. The protocol is in
//! doc/fifodir.md (s6: fifodir.html, ftrig.html).
//!
//! - [`fifodir`]: create a fifodir (modes 1733 / 3730), notify, clean.
//! - [`listener`]: subscribe (make our fifo), read, unsubscribe.
//! - [`pattern`] and [`regex`]: the POSIX ERE matching of `s6-ftrig-wait`.
//! - Waiting for a service state (`rs6-svwait`, `rs6-svlisten1`,
//!   `rs6-svc -w`) builds on these in `supervise::svlisten`, next to the
//!   status file format it reads.
//! - [`spawn`]: the program `-listen1` tools start between subscribing and
//!   waiting.
//!
//! ## Contract
//! - No heap: nothing here allocates. (musl's `regcomp` does, inside
//!   [`regex`]; only the two tools that take a regular expression link it.)
//! - No panics, no `unwrap`: every fallible step returns a `Result`/`Option`.
//! - A notifier never blocks and never fails because of one listener; a
//!   listener never misses an event sent after [`listener::Listener::subscribe`]
//!   returned.
//! - The only `unsafe` is in [`regex`] (FFI to musl).
#![cfg_attr(not(test), no_std)]

pub mod fifodir;
pub mod listener;
pub mod pattern;
pub mod regex;
pub mod spawn;

/// Longest path rs6's ftrig accepts (Linux's PATH_MAX, NUL included).
pub const PATH_MAX: usize = 4096;

/// Parses a `-t` timeout in milliseconds as skalibs' `uint0_scan` does: the
/// whole word must be a decimal number that fits an `unsigned int`.
pub fn parse_ms(s: &[u8]) -> Option<u32> {
    rt::buf::parse_u64(s).and_then(|n| u32::try_from(n).ok())
}

/// The deadline (on [`rt::time::now_ms`]'s clock) `ms` from now; None for 0,
/// which means no timeout.
pub fn deadline(ms: u32) -> Option<u64> {
    (ms != 0).then(|| rt::time::now_ms().saturating_add(u64::from(ms)))
}
