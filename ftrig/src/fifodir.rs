//! Fifodirs: creating them, and notifying their listeners.
//!
//! A fifodir is a directory in which each listener keeps one named pipe
//! called `ftrig1:@<24 hex TAI64N>:<6 random chars>` (39 bytes). A writer
//! sends an event by writing its bytes to every such fifo, never blocking and
//! never failing because of one listener (s6: src/libs6/ftrigw_notifyb_nosig.c).

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{self, AtFlags, Gid, Mode, OFlags, RawDir};
use rustix::io::Errno;

/// Prefix of a listener fifo's name.
pub const PREFIX: &[u8] = b"ftrig1:@";
/// Length of a listener fifo's name: `ftrig1:@` + 24 hex + `:` + 6 chars.
pub const NAME_LEN: usize = 39;

/// True when `name` is a listener fifo's name (what notify writes to).
pub fn is_listener_name(name: &[u8]) -> bool {
    name.len() == NAME_LEN && name.starts_with(PREFIX)
}

fn open_dir(fifodir: &[u8]) -> Result<OwnedFd, Errno> {
    fs::open(
        fifodir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Calls `f(dirfd, name)` for each listener fifo name in the open directory `dir`.
fn for_each_listener(
    dir: &OwnedFd,
    mut f: impl FnMut(&OwnedFd, &core::ffi::CStr),
) -> Result<(), Errno> {
    // Room for about eight 39-byte listener names per getdents64 call: a
    // supervisor notifies from this frame, and a smaller one keeps its idle
    // stack within one page.
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); 512];
    let mut it = RawDir::new(dir, &mut buf);
    while let Some(entry) = it.next() {
        let entry = entry?;
        let name = entry.file_name();
        if is_listener_name(name.to_bytes()) {
            f(dir, name);
        }
    }
    Ok(())
}

/// Sends `events` to every listener of `fifodir`, as s6's
/// `ftrigw_notifyb_nosig` does: each `ftrig1:@…` fifo is opened write-only and
/// non-blocking; ENXIO (no reader: the listener died) ⇒ the fifo is unlinked;
/// the bytes go in one `write`; EPIPE ⇒ unlinked; EAGAIN (a full fifo: a
/// listener that does not read) ⇒ dropped for that listener. Never blocks.
///
/// Fails only when the directory cannot be opened or read. The caller must
/// ignore or block SIGPIPE (a listener may close between open and write).
pub fn notify(fifodir: &[u8], events: &[u8]) -> Result<(), Errno> {
    notify_count(fifodir, events).map(|_| ())
}

/// Like [`notify`], returning how many listeners got the whole of `events`.
pub fn notify_count(fifodir: &[u8], events: &[u8]) -> Result<u32, Errno> {
    let dir = open_dir(fifodir)?;
    let mut n = 0u32;
    for_each_listener(&dir, |dir, name| {
        match fs::openat(
            dir.as_fd(),
            name,
            OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => match rustix::io::write(&fd, events) {
                Ok(w) if w == events.len() => n = n.saturating_add(1),
                Err(Errno::PIPE) => {
                    let _ = fs::unlinkat(dir.as_fd(), name, AtFlags::empty());
                }
                // EAGAIN / short write: the listener does not read; its loss.
                _ => {}
            },
            Err(Errno::NXIO) => {
                let _ = fs::unlinkat(dir.as_fd(), name, AtFlags::empty());
            }
            Err(_) => {}
        }
    })?;
    Ok(n)
}

/// Removes the stale listener fifos of `fifodir` (those nobody reads: opening
/// them for writing fails with ENXIO). Returns how many were removed; fails
/// when the directory cannot be read or a stale fifo cannot be removed (the
/// other stale fifos are removed all the same).
///
/// s6 2.11's `ftrigw_clean` looks for 49-byte names and so never removes
/// anything (spec §12.3); rs6 does what was meant.
pub fn clean(fifodir: &[u8]) -> Result<u32, Errno> {
    let dir = open_dir(fifodir)?;
    let mut n = 0u32;
    let mut err = None;
    for_each_listener(&dir, |dir, name| {
        if let Err(Errno::NXIO) = fs::openat(
            dir.as_fd(),
            name,
            OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            match fs::unlinkat(dir.as_fd(), name, AtFlags::empty()) {
                Ok(()) => n = n.saturating_add(1),
                Err(e) => err = Some(e),
            }
        }
    })?;
    match err {
        Some(e) => Err(e),
        None => Ok(n),
    }
}

/// Mode of a public fifodir: anyone may subscribe (sticky, `rwx-wx-wx`).
pub const MODE_PUBLIC: u32 = 0o1733;
/// Mode of a restricted fifodir: only group members may subscribe
/// (setgid + sticky, `rwx-wx---`).
pub const MODE_GROUP: u32 = 0o3730;

/// Creates fifodir `path`, as s6's `ftrigw_fifodir_make` (and
/// `s6-mkfifodir`): mkdir 0700, then with `gid` chown to that group and chmod
/// 3730, without it chmod 1733. If `path` exists and is a directory owned by
/// the caller's real uid, it is left alone unless `force`, which re-applies
/// the group and mode. An existing non-directory ⇒ ENOTDIR, another owner ⇒
/// EACCES.
pub fn create(path: &[u8], gid: Option<Gid>, force: bool) -> Result<(), Errno> {
    match fs::mkdir(path, Mode::from_raw_mode(0o700)) {
        Ok(()) => {}
        Err(Errno::EXIST) => {
            let st = fs::stat(path)?;
            if st.st_uid != rustix::process::getuid().as_raw() {
                return Err(Errno::ACCESS);
            }
            if fs::FileType::from_raw_mode(st.st_mode) != fs::FileType::Directory {
                return Err(Errno::NOTDIR);
            }
            if !force {
                return Ok(());
            }
        }
        Err(e) => return Err(e),
    }
    match gid {
        Some(g) => {
            fs::chown(path, None, Some(g))?;
            fs::chmod(path, Mode::from_raw_mode(MODE_GROUP))
        }
        None => fs::chmod(path, Mode::from_raw_mode(MODE_PUBLIC)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_listener_name(b"ftrig1:@400000006b09a82e224d141d:_iQZxZ"));
        assert!(!is_listener_name(
            b".ftrig1:@400000006b09a82e224d141d:_iQZx"
        ));
        assert!(!is_listener_name(
            b"ftrig1:@400000006b09a82e224d141d:_iQZxZZ"
        ));
    }
}
