//! # logger — rs6-log, a reliable logger for s6-log scripts
//!
//! `rs6-log [ -d notif ] [ -q | -v ] [ -b ] [ -p ] [ -l linelimit ] [ -- ] script...`
//! reads lines on stdin and does what an s6-log 2.11 script says with each:
//! select it with POSIX EREs (`+RE`, `-RE`, `f`), stamp it (`t` TAI64N, `T`
//! ISO 8601), prefix it (`p`), and send it to logdirs (`./dir`, `/dir`),
//! stdout (`1`), stderr as an alert (`2`) or a status file (`=FILE`). Logdirs
//! rotate (`n`, `s`, `S`, `l`), retry after errors (`r`) and can run a
//! processor (`!CMD`, `?CMD`) on each rotated file. The manual page is
//! doc/rs6-log.md; the upstream one is s6's `s6-log.html`.
//!
//! ## Code map
//! - [`script`]: the script, parsed into a fixed-size program; the selection logic.
//! - [`line`]: what an action writes for a line (stamps, prefix, alert and status shapes).
//! - [`logdir`]: `lock`, `current`, rotation, processor, trim, start-up repair.
//! - [`queue`]: the fixed byte queues between stdin and the outputs.
//! - [`musl`]: the only `unsafe`: musl's regcomp/regexec and localtime_r.
//! - `src/bin/rs6-log.rs`: options, the one poll loop, signals.
//!
//! ## Invariants
//! - **No line read is lost while the process lives.** A complete line leaves
//!   the input queue only once it has been copied into every output queue it
//!   goes to; a byte leaves a logdir queue only once `write(2)` took it. When
//!   a queue is full (disk full, unwritable logdir, slow stdout) rs6-log stops
//!   reading stdin — the writer blocks on the pipe — and retries the logdir
//!   after its cooldown. On SIGTERM, SIGHUP or EOF it writes, fsyncs and
//!   finalizes everything it holds before exiting 0.
//! - **Fixed memory.** Every buffer has a capacity fixed at build time (the
//!   constants below); nothing is allocated by rs6 code. musl's regex engine
//!   does allocate (see [`musl`]), so the binary links musl's malloc.
//! - **No panics** in non-test code: no `unwrap`, no `expect`, no indexing
//!   that can fail (the lints below deny them).
#![cfg_attr(not(test), no_std)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod line;
pub mod logdir;
pub mod musl;
pub mod queue;
pub mod script;

use static_assertions::const_assert;

/// The program name in error and warning lines.
pub const PROG: &[u8] = b"rs6-log";

/// Capacity of the input queue: bytes read from stdin and not yet processed.
pub const IN_CAP: usize = 65536;
/// Longest line: the cap of `-l` (and what `-l 0`, "no limit", means here,
/// since rs6-log does not allocate). Longer lines are split, as with `-l`.
pub const LINE_CAP: usize = 16384;
/// s6-log's default `-l`.
pub const DEFAULT_LINE_LIMIT: usize = 8192;
/// s6-log's smallest `-l` (smaller values are raised to it).
pub const LINE_LIMIT_MIN: usize = 48;
/// Capacity of each output queue (one per logdir, one for stdout): room for
/// at least one line with its stamps and prefix.
pub const OUT_CAP: usize = 32768;
/// Capacity of the alert line buffer.
pub const ALERT_CAP: usize = line::ALERT_HEAD.len() + line::HEAD_MAX + LINE_CAP + 4;
/// Longest status file path (`=FILE`), plus `.new`.
pub const PATH_CAP: usize = 4096;

const_assert!(LINE_CAP < IN_CAP);
const_assert!(line::HEAD_MAX + LINE_CAP < OUT_CAP);
const_assert!(DEFAULT_LINE_LIMIT <= LINE_CAP);
// an action mask is a u32
const_assert!(script::MAX_ACTIONS <= 32);

/// Finds the next line in `data` for a line limit `limit` (≥ 1): `Some((len,
/// used))` where the line is `data[..len]` and `used` bytes are consumed
/// (the `\n` included). A line longer than `limit` is cut after `limit`
/// bytes and the rest is the next line, as s6-log 2.11 does; an unfinished
/// line shorter than that is left for later (None).
pub fn next_line(data: &[u8], limit: usize) -> Option<(usize, usize)> {
    let window = data.get(..limit.saturating_add(1)).unwrap_or(data);
    match window.iter().position(|&c| c == b'\n') {
        Some(i) => Some((i, i + 1)),
        None if data.len() > limit => Some((limit, limit)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::next_line;

    #[test]
    fn lines_and_splits() {
        assert_eq!(next_line(b"abc\ndef", 48), Some((3, 4)));
        assert_eq!(next_line(b"abc", 48), None);
        assert_eq!(next_line(b"\n", 48), Some((0, 1)));
        // oracle: 100 bytes with -l 48 give 48, 48 and 4 bytes
        let a = [b'a'; 100];
        assert_eq!(next_line(&a, 48), Some((48, 48)));
        assert_eq!(next_line(&a[..48], 48), None);
        let mut b = [b'b'; 49];
        b[48] = b'\n';
        assert_eq!(next_line(&b, 48), Some((48, 49)));
    }
}
