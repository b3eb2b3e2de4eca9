//! Writing command bytes to a control fifo, as s6's `s6_svc_write` does:
//! open `DIR/SUB/control` write-only and non-blocking (ENXIO: nobody reads
//! it), then one blocking `write()` of all the bytes, so a reader sees them
//! in one piece and in order. Used by rs6-svscanctl (`.s6-svscan`); the
//! outcomes map to s6's exit codes (../shared/spec/s6-compat.md §2.3).

use crate::Buf;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// Why the bytes were not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtlError {
    /// No process reads the fifo (or it is missing): exit 100 in s6.
    NotListening,
    /// The control directory exists but something in it is wrong: exit 100.
    Broken,
    /// A system error on DIR itself or while writing: exit 111.
    Sys(Errno),
}

/// Longest `DIR/SUB/control` path.
pub const PATH_MAX: usize = 1024;

/// Sends `bytes` to `dir/sub/control`.
pub fn send(dir: &[u8], sub: &[u8], bytes: &[u8]) -> Result<(), CtlError> {
    let mut path: Buf<PATH_MAX> = Buf::new();
    if !(path.try_push(dir)
        && path.try_push(b"/")
        && path.try_push(sub)
        && path.try_push(b"/control"))
    {
        return Err(CtlError::Sys(Errno::NAMETOOLONG));
    }
    let fd = match rustix::fs::open(
        path.as_bytes(),
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NXIO) => return Err(CtlError::NotListening),
        Err(Errno::NOENT) | Err(Errno::NOTDIR) | Err(Errno::ISDIR) => {
            return Err(investigate(dir, &mut path));
        }
        Err(e) => return Err(CtlError::Sys(e)),
    };
    let flags = rustix::fs::fcntl_getfl(&fd).map_err(CtlError::Sys)?;
    rustix::fs::fcntl_setfl(&fd, flags - OFlags::NONBLOCK).map_err(CtlError::Sys)?;
    if bytes.is_empty() {
        return Ok(());
    }
    crate::err::write_all(rustix::fd::AsRawFd::as_raw_fd(&fd), bytes).map_err(CtlError::Sys)
}

/// After ENOENT/ENOTDIR/EISDIR: an unopenable DIR is a system error; a
/// missing control directory means no supervisor; a present one is broken.
fn investigate(dir: &[u8], path: &mut Buf<PATH_MAX>) -> CtlError {
    if let Err(e) = rustix::fs::stat(dir) {
        return CtlError::Sys(e);
    }
    let len = path.len().saturating_sub(b"/control".len());
    path.truncate(len);
    match rustix::fs::stat(path.as_bytes()) {
        Ok(_) => CtlError::Broken,
        Err(_) => CtlError::NotListening,
    }
}
