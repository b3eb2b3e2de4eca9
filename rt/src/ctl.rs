//! Writing command bytes to a control fifo, as s6's `s6_svc_write` does:
//! open `DIR/SUB/control` write-only and non-blocking (ENXIO: nobody reads
//! it), then one blocking `write()` of all the bytes, so a reader sees them
//! in one piece and in order. Used by rs6-svc (`supervise`), rs6-svscanctl
//! and rs6-shutdown (`.s6-svscan`); the outcomes map to s6's exit codes
//! (../shared/spec/s6-compat.md §2.3). An empty byte string only checks that
//! someone listens.

use crate::Buf;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// Why the bytes were not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtlError {
    /// No process reads the fifo (or it is missing): exit 100 in s6.
    NotListening,
    /// The control directory exists but its fifo cannot be opened: exit 100.
    Broken(Errno),
    /// A system error on DIR itself or while writing: exit 111.
    Sys(Errno),
}

/// Longest `DIR/SUB/control` path.
pub const PATH_MAX: usize = 4096;

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
    // A C string: rustix copies a byte path into a 256-byte stack buffer,
    // and longer ones would need the allocator rs6 does not link.
    let Some(cpath) = path.c_str() else {
        return Err(CtlError::Sys(Errno::NAMETOOLONG));
    };
    let fd = match rustix::fs::open(
        cpath,
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NXIO) => return Err(CtlError::NotListening),
        Err(e @ (Errno::NOENT | Errno::NOTDIR | Errno::ISDIR)) => {
            return Err(investigate(dir, sub, e));
        }
        Err(e) => return Err(CtlError::Sys(e)),
    };
    rustix::fs::fcntl_setfl(&fd, OFlags::WRONLY).map_err(CtlError::Sys)?;
    if !bytes.is_empty() {
        // One write: a fifo write of up to PIPE_BUF bytes is atomic.
        rustix::io::write(&fd, bytes).map_err(CtlError::Sys)?;
    }
    Ok(())
}

/// After ENOENT/ENOTDIR/EISDIR: an unopenable DIR is a system error; a
/// missing control directory means no supervisor; a present one is broken.
fn investigate(dir: &[u8], sub: &[u8], first: Errno) -> CtlError {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut path: Buf<PATH_MAX> = Buf::new();
    path.push(dir);
    let Some(cdir) = path.c_str() else {
        return CtlError::Sys(Errno::NAMETOOLONG);
    };
    let dirfd = match rustix::fs::open(cdir, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) => return CtlError::Sys(e),
    };
    match rustix::fs::openat(&dirfd, sub, flags, Mode::empty()) {
        Err(Errno::NOENT) => CtlError::NotListening,
        Err(e) => CtlError::Broken(e),
        Ok(_) => CtlError::Broken(first),
    }
}
