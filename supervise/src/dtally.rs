//! DEATH TALLY: `supervise/death_tally`, one 14-byte record per death of
//! `run`, oldest first: TAI64N of the death, exit code (128 + signal when
//! killed), signal number (0 when it exited).
//!
//! The supervisor empties the file at start and, at each death, keeps the
//! newest `max-death-tally` records plus the new one, written through
//! `death_tally.new` and a rename. The copy is streamed through a small
//! buffer, so the 4096-record maximum costs no memory.
//!
//! # References
//! doc/status-file.md; s6: src/libs6/s6_dtally_*.c; ../shared/spec/s6-compat.md §2.2.

use crate::status::{Death, death};
use core::ffi::CStr;
use rt::time::Tain;
use rustix::fs::{Mode, OFlags, SeekFrom};
use rustix::io::Errno;

/// Length of one record.
pub const LEN: usize = 14;
/// The file, relative to the service directory.
pub const FILE: &CStr = c"supervise/death_tally";
/// Its temporary twin.
pub const FILE_NEW: &CStr = c"supervise/death_tally.new";

/// One death.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// When `run` died (the status file's `stamp` at that death).
    pub stamp: Tain,
    /// Exit code, or 128 + signal.
    pub exit_code: u8,
    /// Signal number, 0 for an exit.
    pub signal: u8,
}

impl Record {
    /// The record of a death with wait status `wstat` at `stamp`.
    pub fn new(stamp: Tain, wstat: u16) -> Record {
        let (exit_code, signal) = match death(wstat) {
            Death::Exit(c) => (c, 0),
            Death::Signal(s) => (s.wrapping_add(128), s),
            Death::Other => (0, 0),
        };
        Record {
            stamp,
            exit_code,
            signal,
        }
    }

    /// Encodes the record.
    pub fn emit(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        let t = self.stamp.pack();
        for (d, s) in b
            .iter_mut()
            .zip(t.iter().chain([self.exit_code, self.signal].iter()))
        {
            *d = *s;
        }
        b
    }

    /// Decodes a record.
    pub fn parse(b: &[u8; LEN]) -> Record {
        let mut t = [0u8; 12];
        for (d, s) in t.iter_mut().zip(b.iter()) {
            *d = *s;
        }
        Record {
            stamp: Tain::unpack(&t),
            exit_code: b.get(12).copied().unwrap_or(0),
            signal: b.get(13).copied().unwrap_or(0),
        }
    }
}

/// How many old records to copy, and from which byte, for a file of `size`
/// bytes and a cap of `max` records, before appending the new one. A size
/// that is not a whole number of records counts as an empty file (s6).
pub fn plan(size: u64, max: u32) -> (u64, u64) {
    if !size.is_multiple_of(LEN as u64) || max == 0 {
        return (0, 0);
    }
    let have = size / LEN as u64;
    let keep = have.min(u64::from(max) - 1);
    (keep, (have - keep) * LEN as u64)
}

/// Truncates the tally to empty (at supervisor start).
pub fn clear() -> Result<(), Errno> {
    rustix::fs::open(
        FILE,
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    )
    .map(drop)
}

/// Appends `rec`, keeping at most `max` records (`max` ≥ 1). Not inlined:
/// its copy buffer belongs on the stack only while a death is recorded.
#[inline(never)]
pub fn append(rec: &Record, max: u32) -> Result<(), Errno> {
    let new = rustix::fs::open(
        FILE_NEW,
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    )?;
    match rustix::fs::open(FILE, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(old) => {
            let size = rustix::fs::fstat(&old)?.st_size;
            let (keep, from) = plan(u64::try_from(size).unwrap_or(1), max);
            if keep > 0 {
                rustix::fs::seek(&old, SeekFrom::Start(from))?;
                copy(&old, &new, keep * LEN as u64)?;
            }
        }
        Err(Errno::NOENT) => {}
        Err(e) => return Err(e),
    }
    rt::err::write_all(rustix::fd::AsRawFd::as_raw_fd(&new), &rec.emit())?;
    drop(new);
    rustix::fs::rename(FILE_NEW, FILE)
}

fn copy(from: &rustix::fd::OwnedFd, to: &rustix::fd::OwnedFd, mut left: u64) -> Result<(), Errno> {
    let mut buf = [0u8; 36 * LEN];
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(buf.len()).min(buf.len());
        let chunk = buf.get_mut(..want).unwrap_or(&mut []);
        let n = match rustix::io::read(from, &mut *chunk) {
            Ok(0) => return Err(Errno::PIPE),
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        };
        rt::err::write_all(
            rustix::fd::AsRawFd::as_raw_fd(to),
            chunk.get(..n).unwrap_or(&[]),
        )?;
        left -= n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_as_s6_writes_them() {
        let t = Tain {
            sec: 0x4000_0000_6b09_b42f,
            nano: 0x2759_6839,
        };
        let term = Record::new(t, 15);
        assert_eq!(&term.emit()[12..], &[0x8f, 0x0f]);
        assert_eq!(&term.emit()[..12], &t.pack());
        assert_eq!(&Record::new(t, 9).emit()[12..], &[0x89, 0x09]);
        assert_eq!(&Record::new(t, 14).emit()[12..], &[0x8e, 0x0e]);
        assert_eq!(&Record::new(t, 3 << 8).emit()[12..], &[3, 0]);
        assert_eq!(Record::parse(&term.emit()), term);
    }

    #[test]
    fn keeps_the_newest() {
        assert_eq!(plan(0, 100), (0, 0));
        assert_eq!(plan(14, 100), (1, 0));
        assert_eq!(plan(42, 3), (2, 14));
        assert_eq!(plan(28, 3), (2, 0));
        assert_eq!(plan(42, 1), (0, 42));
        assert_eq!(plan(43, 3), (0, 0));
        assert_eq!(plan(42, 0), (0, 0));
    }
}
