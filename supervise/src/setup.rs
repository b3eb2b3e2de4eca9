//! What a supervisor creates in its service directory before its loop, in
//! s6-supervise 2.11's order: `event/` (a fifodir, 3730, our egid, only when
//! newly made), `supervise/` (0700), `supervise/lock` (0644, an fcntl write
//! lock: one supervisor per directory, s6's or rs6's), `supervise/control`
//! (a fifo, 0600, opened for reading and for writing so it never reports
//! EOF). All with umask 0. A symlink in place of `event` or `supervise` has
//! its target created; an existing target is an error, as in s6.
//!
//! # References
//! doc/rs6-supervise.md; s6: src/supervision/s6-supervise.c (`control_init`,
//! `trymkdir`); ../shared/spec/s6-compat.md §1.1, §1.2.

use core::ffi::CStr;
use rt::err::{EXIT_TEMP, EXIT_USAGE};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

/// Longest symlink target followed (s6: 512).
pub const LINK_MAX: usize = 512;

/// Why the setup failed; each maps to s6's message and exit code.
pub enum SetupError {
    /// `unable to VERB OBJ: errno` (exit 111).
    Unable {
        /// What was attempted.
        verb: &'static [u8],
        /// On what.
        obj: &'static [u8],
        /// Why it failed.
        errno: Errno,
    },
    /// `OBJ WHAT`, e.g. `supervise exists and is not a directory` (exit 100).
    Not {
        /// The offending entry.
        obj: &'static CStr,
        /// What is wrong with it.
        what: &'static [u8],
    },
    /// Another supervisor holds `supervise/lock` (exit 100).
    Locked,
}

impl SetupError {
    /// The exit code s6-supervise uses for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            SetupError::Unable { .. } => EXIT_TEMP,
            SetupError::Not { .. } | SetupError::Locked => EXIT_USAGE,
        }
    }
}

impl SetupError {
    /// Appends s6's words for the failure to `m`.
    pub fn describe(&self, m: rt::err::Msg) -> rt::err::Msg {
        match *self {
            SetupError::Unable { verb, obj, errno } => m.unable(verb, obj).errno(errno),
            SetupError::Not { obj, what } => m.s(obj.to_bytes()).s(what),
            SetupError::Locked => {
                m.s(b"another instance of s6-supervise or rs6-supervise is already running")
            }
        }
    }
}

fn unable(verb: &'static [u8], obj: &'static [u8], errno: Errno) -> SetupError {
    SetupError::Unable { verb, obj, errno }
}

/// The descriptors a supervisor keeps for its whole life.
pub struct Control {
    /// `supervise/control`, read end, non-blocking: what the loop polls.
    pub reader: OwnedFd,
    /// `supervise/control`, write end: held so the reader never sees EOF.
    pub writer: OwnedFd,
    /// `supervise/lock`, write-locked.
    pub lock: OwnedFd,
}

/// Makes sure fds 0, 1, 2 are open (on /dev/null), so that no file the
/// supervisor opens lands on them (skalibs' `fd_sanitize`).
pub fn sanitize_stdio() {
    for fd in 0..3 {
        if rustix::io::fcntl_getfd(rt::sys::borrow_fd(fd)) == Err(Errno::BADF) {
            let flags = if fd == 0 {
                OFlags::RDONLY
            } else {
                OFlags::WRONLY
            };
            if let Ok(f) = rustix::fs::open(c"/dev/null", flags, Mode::empty()) {
                core::mem::forget(f);
            }
        }
    }
}

/// Replaces stdin and stdout with /dev/null (a supervisor that will exit
/// once its service is down lets go of its pipes, as s6's `closethem`).
/// On failure, which side (`reading`/`writing`) and why.
pub fn stdio_to_dev_null() -> Result<(), (&'static [u8], Errno)> {
    let open = |flags| rustix::fs::open(c"/dev/null", flags | OFlags::CLOEXEC, Mode::empty());
    open(OFlags::RDONLY)
        .and_then(rustix::stdio::dup2_stdin)
        .map_err(|e| (&b"reading"[..], e))?;
    open(OFlags::WRONLY)
        .and_then(rustix::stdio::dup2_stdout)
        .map_err(|e| (&b"writing"[..], e))
}

/// Creates `event/` and `supervise/`, takes the lock, makes and opens the
/// control fifo (in the current directory, the service directory).
pub fn create() -> Result<Control, SetupError> {
    let old = rustix::process::umask(Mode::empty());
    let r = create_with_umask_0();
    rustix::process::umask(old);
    r
}

fn create_with_umask_0() -> Result<Control, SetupError> {
    if trymkdir(c"event")? {
        let gid = rustix::process::getegid();
        rustix::fs::chown(c"event", None, Some(gid)).map_err(|e| unable(b"chown", b"event", e))?;
        rustix::fs::chmod(c"event", Mode::from_raw_mode(0o3730))
            .map_err(|e| unable(b"chmod", b"event", e))?;
    }
    trymkdir(c"supervise")?;
    let lock = rustix::fs::open(
        c"supervise/lock",
        OFlags::WRONLY | OFlags::CREATE | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .map_err(|e| unable(b"open", b"supervise/lock", e))?;
    match rt::sys::lock_whole(lock.as_fd(), true) {
        Ok(true) => {}
        Ok(false) => return Err(SetupError::Locked),
        Err(e) => return Err(unable(b"lock", b"supervise/lock", e)),
    }
    let ctl = c"supervise/control";
    match rustix::fs::mkfifoat(rustix::fs::CWD, ctl, Mode::from_raw_mode(0o600)) {
        Ok(()) => {}
        Err(Errno::EXIST) => {
            let st = rustix::fs::stat(ctl).map_err(|e| unable(b"stat", ctl.to_bytes(), e))?;
            if FileType::from_raw_mode(st.st_mode) != FileType::Fifo {
                return Err(SetupError::Not {
                    obj: ctl,
                    what: b" is not a FIFO",
                });
            }
        }
        Err(e) => return Err(unable(b"mkfifo", ctl.to_bytes(), e)),
    }
    let open = |flags: OFlags, what: &'static [u8]| {
        rustix::fs::open(
            ctl,
            flags | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| unable(b"open", what, e))
    };
    let reader = open(OFlags::RDONLY, b"supervise/control for reading")?;
    let writer = open(OFlags::WRONLY, b"supervise/control for writing")?;
    Ok(Control {
        reader,
        writer,
        lock,
    })
}

/// mkdir NAME 0700, or, when NAME is a symlink, mkdir its target (s6's
/// `trymkdir`); Ok(true) when a directory was created, Ok(false) when NAME
/// already is a directory.
pub fn trymkdir(name: &'static CStr) -> Result<bool, SetupError> {
    let mode = Mode::from_raw_mode(0o700);
    match rustix::fs::mkdir(name, mode) {
        Ok(()) => return Ok(true),
        Err(Errno::EXIST) => {}
        Err(e) => return Err(unable(b"mkdir", name.to_bytes(), e)),
    }
    let mut buf = [0u8; LINK_MAX];
    match rustix::fs::readlinkat_raw(rustix::fs::CWD, name, &mut buf[..]) {
        Err(Errno::INVAL) => {
            let st = rustix::fs::stat(name).map_err(|e| unable(b"stat", name.to_bytes(), e))?;
            if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                Ok(false)
            } else {
                Err(SetupError::Not {
                    obj: name,
                    what: b" exists and is not a directory",
                })
            }
        }
        Err(_) => Err(unable(b"mkdir", name.to_bytes(), Errno::EXIST)),
        Ok(n) if n >= LINK_MAX => Err(unable(b"readlink", name.to_bytes(), Errno::NAMETOOLONG)),
        Ok(n) => {
            let mut target = rt::Buf::<{ LINK_MAX + 1 }>::new();
            target.push(buf.get(..n).unwrap_or(&[]));
            let t = target
                .c_str()
                .ok_or_else(|| unable(b"readlink", name.to_bytes(), Errno::INVAL))?;
            rustix::fs::mkdir(t, mode)
                .map_err(|e| unable(b"mkdir the target of", name.to_bytes(), e))?;
            Ok(true)
        }
    }
}
