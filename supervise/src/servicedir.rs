//! SERVICE DIRECTORY: the small files s6-supervise reads (`notification-fd`,
//! `timeout-kill`, `timeout-finish`, `max-death-tally`, `down-signal`,
//! `lock-fd`, `nosetsid`), their parsers, and the timing constants of the
//! supervisor. Parsers are plain functions over bytes; [`read`] is the one
//! place that opens such a file.
//!
//! Every file is read again each time it matters (at each start, death or
//! `d`), so editing a service directory takes effect without a restart, as
//! with s6.
//!
//! # References
//! doc/rs6-supervise.md; s6: servicedir.html, src/supervision/s6-supervise.c
//! (`read_uint`, `read_downsig`); ../shared/spec/s6-compat.md §1.

use core::ffi::{CStr, c_int};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// At least this long between two spawns of `run`, unless the service was
/// ready for that long (s6's respawn throttle).
pub const RESTART_DELAY_MS: u64 = 1000;
/// Retry delay after `./run` could not be executed (s6 2.11: 10 s).
pub const EXEC_RETRY_MS: u64 = 10_000;
/// Retry delay after fork/pipe/lock failures (s6: 60 s).
pub const SYSTEM_RETRY_MS: u64 = 60_000;
/// Repeat SIGKILL this often to a service (or finish) that outlives its timeout.
pub const KILL_REPEAT_MS: u64 = 5000;
/// `timeout-finish` when the file is absent or invalid (s6 default).
pub const TIMEOUT_FINISH_DEFAULT_MS: u32 = 5000;
/// `max-death-tally` when absent or invalid (s6 default).
pub const MAX_DEATH_TALLY_DEFAULT: u32 = 100;
/// Upper bound of `max-death-tally` (s6's S6_MAX_DEATH_TALLY).
pub const MAX_DEATH_TALLY: u32 = 4096;
/// Bytes read from a numeric file: s6's UINT_FMT (a u32 has at most 10 digits).
pub const UINT_LEN: usize = 10;
/// Bytes read from `down-signal` (s6 reads 15).
pub const SIGNAL_LEN: usize = 15;
/// The exit code of `finish` that means "do not restart" (s6).
pub const FINISH_PERMANENT_FAILURE: i32 = 125;

/// `notification-fd`: the fd on which `run` writes a newline when ready.
pub const NOTIFICATION_FD: &CStr = c"notification-fd";
/// `timeout-kill`: ms between the down signal and SIGKILL; 0/absent = never.
pub const TIMEOUT_KILL: &CStr = c"timeout-kill";
/// `timeout-finish`: ms `finish` may run; 0 = unlimited.
pub const TIMEOUT_FINISH: &CStr = c"timeout-finish";
/// `max-death-tally`: records kept in `supervise/death_tally`.
pub const MAX_DEATH_TALLY_FILE: &CStr = c"max-death-tally";
/// `down-signal`: the signal of `d`/`r` (default SIGTERM).
pub const DOWN_SIGNAL: &CStr = c"down-signal";
/// `lock-fd`: the fd on which `run` gets a locked `supervise/service-lock`.
pub const LOCK_FD: &CStr = c"lock-fd";
/// `nosetsid`: present ⇒ `run` and `finish` stay in the supervisor's session.
pub const NOSETSID: &CStr = c"nosetsid";
/// `down`: present ⇒ the service is normally down.
pub const DOWN: &CStr = c"down";
/// `run`, executed with argv `run NAME`.
pub const RUN: &CStr = c"./run";
/// `finish`, executed with argv `finish CODE SIGNAL NAME`.
pub const FINISH: &CStr = c"./finish";
/// The lock file of `lock-fd`.
pub const SERVICE_LOCK: &CStr = c"supervise/service-lock";

/// What reading one of these files gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting<T> {
    /// The file does not exist: the default applies, silently.
    Absent,
    /// A valid value.
    Value(T),
    /// The file exists but does not parse: warning `invalid NAME`, default.
    Invalid,
    /// The file exists but cannot be read: warning with errno, default.
    Unreadable(Errno),
}

impl<T: Copy> Setting<T> {
    /// The value, or `default` for every other case.
    pub fn or(self, default: T) -> T {
        match self {
            Setting::Value(v) => v,
            _ => default,
        }
    }
}

/// Reads at most `buf.len()` bytes of `name` (non-blocking, as s6's
/// `openreadnclose_nb`), returning how many; Err(ENOENT) when absent.
pub fn read(name: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    let fd = rustix::fs::open(
        name,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut got = 0;
    while got < buf.len() {
        let rest = buf.get_mut(got..).unwrap_or(&mut []);
        match rustix::io::read(&fd, rest) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Parses the text of a numeric file: the bytes before the first newline
/// must be a decimal u32 (s6's `uint0_scan`).
pub fn parse_uint(content: &[u8]) -> Option<u32> {
    let n = rt::buf::parse_u64(rt::buf::first_line(content))?;
    u32::try_from(n).ok()
}

/// Parses the text of `down-signal`: a signal name with or without `SIG`,
/// any case, or a number, before the first newline.
pub fn parse_signal(content: &[u8]) -> Option<c_int> {
    rt::sig::parse(rt::buf::first_line(content))
}

/// How `run` and `finish` are placed in sessions (the `nosetsid` file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Session {
    /// No `nosetsid` file: a new session (s6's default).
    NewSession,
    /// `nosetsid` present: stay in the supervisor's session and group.
    Keep,
    /// `nosetsid` contains `setpgrp`: a new process group, same session.
    NewGroup,
}

/// Parses the content of `nosetsid` (present: [`Session::Keep`], or
/// [`Session::NewGroup`] for `setpgrp`, any case, optional newline).
pub fn parse_nosetsid(content: &[u8]) -> Session {
    if rt::buf::first_line(content).eq_ignore_ascii_case(b"setpgrp") {
        Session::NewGroup
    } else {
        Session::Keep
    }
}

fn setting<T>(name: &CStr, len: usize, parse: impl Fn(&[u8]) -> Option<T>) -> Setting<T> {
    let mut buf = [0u8; SIGNAL_LEN];
    let buf = buf.get_mut(..len).unwrap_or(&mut []);
    match read(name, buf) {
        Err(Errno::NOENT) => Setting::Absent,
        Err(e) => Setting::Unreadable(e),
        Ok(n) => match parse(buf.get(..n).unwrap_or(&[])) {
            Some(v) => Setting::Value(v),
            None => Setting::Invalid,
        },
    }
}

/// Reads a numeric file (`notification-fd`, `timeout-*`, `max-death-tally`, `lock-fd`).
pub fn read_uint(name: &CStr) -> Setting<u32> {
    setting(name, UINT_LEN, parse_uint)
}

/// Reads `down-signal`.
pub fn read_down_signal() -> Setting<c_int> {
    setting(DOWN_SIGNAL, SIGNAL_LEN, parse_signal)
}

/// Reads `nosetsid` (in the child, before exec).
pub fn read_session() -> Session {
    let mut buf = [0u8; 8];
    match read(NOSETSID, &mut buf) {
        Err(_) => Session::NewSession,
        Ok(n) => parse_nosetsid(buf.get(..n).unwrap_or(&[])),
    }
}

/// Creates `./down` (empty, mode 0666 & ~umask), as `D` and `Q` do.
pub fn create_down() -> Result<(), Errno> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC;
    rustix::fs::open(DOWN, flags, Mode::from_raw_mode(0o666)).map(drop)
}

/// Removes `./down` (a missing one is fine), as `U` does.
pub fn unlink_down() -> Result<(), Errno> {
    match rustix::fs::unlink(DOWN) {
        Err(Errno::NOENT) => Ok(()),
        r => r,
    }
}

/// `max-death-tally` clamped as s6 does: default 100, at most 4096, 0 = off.
pub fn death_tally_max(s: Setting<u32>) -> u32 {
    s.or(MAX_DEATH_TALLY_DEFAULT).min(MAX_DEATH_TALLY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uint_files() {
        assert_eq!(parse_uint(b"3"), Some(3));
        assert_eq!(parse_uint(b"3\n"), Some(3));
        assert_eq!(parse_uint(b"700\nanything"), Some(700));
        assert_eq!(parse_uint(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_uint(b"4294967296"), None);
        assert_eq!(parse_uint(b""), None);
        assert_eq!(parse_uint(b"\n"), None);
        assert_eq!(parse_uint(b" 3"), None);
        assert_eq!(parse_uint(b"3 "), None);
        assert_eq!(parse_uint(b"-1"), None);
        assert_eq!(parse_uint(b"abc"), None);
        assert_eq!(parse_uint(b"0x10"), None);
    }

    #[test]
    fn signal_files() {
        assert_eq!(parse_signal(b"HUP"), Some(libc::SIGHUP));
        assert_eq!(parse_signal(b"SIGUSR1\n"), Some(libc::SIGUSR1));
        assert_eq!(parse_signal(b"sigusr2"), Some(libc::SIGUSR2));
        assert_eq!(parse_signal(b"12"), Some(12));
        assert_eq!(parse_signal(b"term\n"), Some(libc::SIGTERM));
        assert_eq!(parse_signal(b""), None);
        assert_eq!(parse_signal(b"SIGNOPE"), None);
        assert_eq!(parse_signal(b"HUP "), None);
    }

    #[test]
    fn nosetsid_files() {
        assert_eq!(parse_nosetsid(b""), Session::Keep);
        assert_eq!(parse_nosetsid(b"yes\n"), Session::Keep);
        assert_eq!(parse_nosetsid(b"setpgrp"), Session::NewGroup);
        assert_eq!(parse_nosetsid(b"SETPGRP\n"), Session::NewGroup);
    }

    #[test]
    fn death_tally_bounds() {
        assert_eq!(death_tally_max(Setting::Absent), 100);
        assert_eq!(death_tally_max(Setting::Invalid), 100);
        assert_eq!(death_tally_max(Setting::Value(3)), 3);
        assert_eq!(death_tally_max(Setting::Value(0)), 0);
        assert_eq!(death_tally_max(Setting::Value(100_000)), 4096);
        assert_eq!(Setting::Unreadable(Errno::ACCESS).or(7u32), 7);
    }
}
