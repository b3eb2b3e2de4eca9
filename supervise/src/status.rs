//! STATUS-FILE FORMAT: `supervise/status`, the 35-byte record s6-supervise
//! writes and s6-svstat, s6-svwait and s6-svc `-w` read.
//!
//! | bytes | field | encoding |
//! |---|---|---|
//! | 0..12 | `stamp` | TAI64N of the last up/down transition |
//! | 12..24 | `ready_stamp` | TAI64N of the last readiness (up-ready or down-ready) |
//! | 24..32 | `pid` | u64 big-endian: `run` while up, `finish` while finishing, else 0 |
//! | 32..34 | `wstat` | u16 big-endian: raw wait status of the last death of `run` |
//! | 34 | flags | bit 0 paused, 1 finishing, 2 want up, 3 ready |
//!
//! Writers replace the file atomically: `supervise/status.new`, one write, rename.
//!
//! # References
//! doc/status-file.md; s6: src/libs6/s6_svstatus_pack.c; ../shared/spec/s6-compat.md §2.1.

use core::ffi::CStr;
use core::ops::Range;
use rt::time::Tain;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// Length of the record.
pub const LEN: usize = 35;

/// Byte ranges of the fields.
pub mod field {
    use core::ops::Range;
    /// TAI64N of the last up/down transition.
    pub const STAMP: Range<usize> = 0..12;
    /// TAI64N of the last readiness.
    pub const READY_STAMP: Range<usize> = 12..24;
    /// Pid, u64 big-endian.
    pub const PID: Range<usize> = 24..32;
    /// Wait status, u16 big-endian.
    pub const WSTAT: Range<usize> = 32..34;
    /// Flag byte.
    pub const FLAGS: usize = 34;
}
static_assertions::const_assert_eq!(field::FLAGS + 1, LEN);
static_assertions::const_assert_eq!(field::WSTAT.end, field::FLAGS);

/// Bits of the flag byte.
pub mod flag {
    /// The service was stopped with SIGSTOP (`s6-svc -p`).
    pub const PAUSED: u8 = 1;
    /// `finish` is running.
    pub const FINISHING: u8 = 2;
    /// The supervisor wants the service up.
    pub const WANT_UP: u8 = 4;
    /// The service is ready (or, while down, its finish is over).
    pub const READY: u8 = 8;
}

/// File name, relative to the service directory.
pub const FILE: &CStr = c"supervise/status";
/// Temporary file renamed onto [`FILE`].
pub const FILE_NEW: &CStr = c"supervise/status.new";

/// The decoded record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// Time of the last up/down transition.
    pub stamp: Tain,
    /// Time of the last readiness.
    pub ready_stamp: Tain,
    /// Pid of `run` (up) or `finish` (finishing); 0 when down.
    pub pid: u64,
    /// Raw wait status of the last death of `run`.
    pub wstat: u16,
    /// Stopped by `s6-svc -p`.
    pub paused: bool,
    /// `finish` is running.
    pub finishing: bool,
    /// The supervisor wants the service up.
    pub want_up: bool,
    /// Ready (up and notified, or down with finish over).
    pub ready: bool,
}

fn tain_at(b: &[u8; LEN], r: Range<usize>) -> Tain {
    let mut t = [0u8; 12];
    if let Some(s) = b.get(r) {
        t.copy_from_slice(s);
    }
    Tain::unpack(&t)
}

impl Status {
    /// Decodes a record (every 35-byte string is a valid record).
    pub fn parse(b: &[u8; LEN]) -> Status {
        let mut pid = [0u8; 8];
        if let Some(s) = b.get(field::PID) {
            pid.copy_from_slice(s);
        }
        let mut wstat = [0u8; 2];
        if let Some(s) = b.get(field::WSTAT) {
            wstat.copy_from_slice(s);
        }
        let flags = b.get(field::FLAGS).copied().unwrap_or(0);
        Status {
            stamp: tain_at(b, field::STAMP),
            ready_stamp: tain_at(b, field::READY_STAMP),
            pid: u64::from_be_bytes(pid),
            wstat: u16::from_be_bytes(wstat),
            paused: flags & flag::PAUSED != 0,
            finishing: flags & flag::FINISHING != 0,
            want_up: flags & flag::WANT_UP != 0,
            ready: flags & flag::READY != 0,
        }
    }

    /// Encodes the record.
    pub fn emit(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        let parts: [(Range<usize>, &[u8]); 4] = [
            (field::STAMP, &self.stamp.pack()),
            (field::READY_STAMP, &self.ready_stamp.pack()),
            (field::PID, &self.pid.to_be_bytes()),
            (field::WSTAT, &self.wstat.to_be_bytes()),
        ];
        for (r, bytes) in parts {
            if let Some(d) = b.get_mut(r) {
                d.copy_from_slice(bytes);
            }
        }
        if let Some(f) = b.get_mut(field::FLAGS) {
            *f = self.flags();
        }
        b
    }

    /// The flag byte.
    pub fn flags(&self) -> u8 {
        let mut f = 0;
        for (on, bit) in [
            (self.paused, flag::PAUSED),
            (self.finishing, flag::FINISHING),
            (self.want_up, flag::WANT_UP),
            (self.ready, flag::READY),
        ] {
            if on {
                f |= bit;
            }
        }
        f
    }

    /// True when `run` is running: a pid and not finishing (s6-svstat's "up").
    pub fn is_up(&self) -> bool {
        self.pid != 0 && !self.finishing
    }
}

/// What a wait status says about a death.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Death {
    /// Exited with this code.
    Exit(u8),
    /// Killed by this signal.
    Signal(u8),
    /// Neither (stopped/continued statuses never reach the file; kept total).
    Other,
}

/// Decodes a wait status as `WIFEXITED`/`WIFSIGNALED` do.
pub fn death(wstat: u16) -> Death {
    let low = (wstat & 0x7f) as u8;
    match low {
        0 => Death::Exit((wstat >> 8) as u8),
        0x7f => Death::Other,
        sig => Death::Signal(sig),
    }
}

/// Writes `status` to `supervise/status.new` and renames it onto
/// `supervise/status` (relative to the current directory, the service
/// directory of a supervisor).
///
/// # References
/// s6: src/libs6/s6_svstatus_write.c.
pub fn write(status: &Status) -> Result<(), Errno> {
    let fd = rustix::fs::open(
        FILE_NEW,
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    )?;
    let bytes = status.emit();
    let n = rustix::io::write(&fd, &bytes)?;
    drop(fd);
    if n != LEN {
        return Err(Errno::NOSPC);
    }
    rustix::fs::rename(FILE_NEW, FILE)
}

/// Reads the status file at `path` (`DIR/supervise/status`); a file shorter
/// than [`LEN`] bytes is an error (`EPIPE`, as a truncated read).
///
/// # References
/// s6: src/libs6/s6_svstatus_read.c.
pub fn read(path: &CStr) -> Result<Status, Errno> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut b = [0u8; LEN];
    let mut got = 0;
    while got < LEN {
        let rest = b.get_mut(got..).unwrap_or(&mut []);
        match rustix::io::read(&fd, rest) {
            Ok(0) => return Err(Errno::PIPE),
            Ok(n) => got += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Status::parse(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn fixture(s: &str) -> [u8; LEN] {
        hex(s).try_into().unwrap()
    }

    /// Written by Debian's s6-supervise 2.11.3.2: up, not ready (spec §2.1).
    const UP: &str = "4000 0000 6b09 a761 28a6 daf4 4000 0000 6b09 a761 289c 2fb4 \
                      0000 0000 0000 1702 0000 04";
    /// Same service after `s6-svc -d` (SIGTERM, no finish): captured with xxd.
    const DOWN_TERM: &str = "4000 0000 6b09 b42f 2759 6839 4000 0000 6b09 b42f 277d 292c \
                             0000 0000 0000 0000 000f 08";

    #[test]
    fn parse_up_fixture() {
        let st = Status::parse(&fixture(UP));
        assert_eq!(st.pid, 0x1702);
        assert_eq!(st.wstat, 0);
        assert!(st.want_up && !st.ready && !st.paused && !st.finishing);
        assert!(st.is_up());
        assert_eq!(st.stamp.sec, 0x4000_0000_6b09_a761);
        assert_eq!(st.stamp.nano, 0x28a6_daf4);
        assert_eq!(st.ready_stamp.nano, 0x289c_2fb4);
        assert_eq!(st.emit(), fixture(UP));
    }

    #[test]
    fn parse_down_fixture() {
        let st = Status::parse(&fixture(DOWN_TERM));
        assert_eq!(st.pid, 0);
        assert_eq!(death(st.wstat), Death::Signal(15));
        assert!(st.ready && !st.want_up && !st.is_up());
        assert_eq!(st.flags(), 0x08);
        assert_eq!(st.emit(), fixture(DOWN_TERM));
    }

    #[test]
    fn flags_and_wstat() {
        let st = Status {
            pid: 42,
            finishing: true,
            want_up: true,
            wstat: 3 << 8,
            ..Status::default()
        };
        assert_eq!(st.flags(), 0x06);
        assert!(!st.is_up());
        assert_eq!(death(st.wstat), Death::Exit(3));
        assert_eq!(death(0x89), Death::Signal(9));
        assert_eq!(death(0x137f), Death::Other);
        let all = Status {
            paused: true,
            finishing: true,
            want_up: true,
            ready: true,
            ..Status::default()
        };
        assert_eq!(all.flags(), 0x0f);
        assert_eq!(Status::parse(&all.emit()), all);
    }

    #[test]
    fn field_ranges_cover_the_record() {
        assert_eq!(field::STAMP.end, field::READY_STAMP.start);
        assert_eq!(field::READY_STAMP.end, field::PID.start);
        assert_eq!(field::PID.end, field::WSTAT.start);
        assert_eq!(field::WSTAT.end, field::FLAGS);
    }
}
