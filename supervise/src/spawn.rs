//! The child side of a spawn: what a freshly forked child of the supervisor
//! does before it becomes `./run NAME` or `./finish CODE SIG NAME`.
//!
//! Signals go back to their defaults, the readiness pipe and the lock file
//! move to the descriptors named by `notification-fd` and `lock-fd`, the
//! child leaves the supervisor's session (unless `nosetsid`), then execs.
//! When `run` cannot be executed the child writes one byte to the
//! close-on-exec report pipe, so the parent knows at once (s6 2.11 does the
//! same), prints why and exits 127 (not found) or 126.
//!
//! # References
//! doc/rs6-supervise.md; s6: src/supervision/s6-supervise.c (`trystart`,
//! `uplastup_z`); ../shared/spec/s6-compat.md §1, §3.4.

use crate::servicedir::{self as sd, Session};
use core::ffi::CStr;
use rt::err::{EXIT_NOEXEC, EXIT_NOTFOUND, Msg};
use rt::sys::Envp;
use rustix::fd::OwnedFd;
use rustix::io::Errno;

/// Who the child is.
pub struct Child<'a> {
    /// The supervisor's message prefix (`rs6-supervise DIR`).
    pub prog: &'a [u8],
    /// The service name, last argument of `run` and `finish`.
    pub name: &'a CStr,
    /// The environment to pass on.
    pub envp: Envp,
}

impl Child<'_> {
    /// Prints `PROG (child): fatal: unable to WHAT: errno` and exits.
    fn die(&self, what: &[u8], e: Errno, code: u8) -> ! {
        let mut prog = rt::Buf::<{ rt::err::LINE_MAX }>::new();
        prog.push(self.prog).push(b" (child)");
        Msg::fatal(prog.as_bytes())
            .s(b"unable to ")
            .s(what)
            .errno(e)
            .die(code)
    }

    /// Reports a failure to the parent, then dies.
    fn fail(&self, report: Option<&OwnedFd>, what: &[u8], e: Errno) -> ! {
        if let Some(r) = report {
            let _ = rustix::io::write(r, b"\x01");
        }
        self.die(what, e, EXIT_NOTFOUND)
    }

    /// Becomes `./run NAME`, with the readiness pipe's write end on fd
    /// `notif.0` and the service lock on fd `lock.0` (blocking until
    /// another instance releases it). Never returns.
    pub fn run(
        &self,
        report: OwnedFd,
        notif: Option<(u32, OwnedFd)>,
        lock: Option<(u32, OwnedFd)>,
    ) -> ! {
        rt::sig::reset_for_child();
        // Lift every source above every target first, so that no dup2
        // clobbers a descriptor still needed.
        let top = notif
            .iter()
            .chain(lock.iter())
            .map(|(n, _)| *n)
            .max()
            .unwrap_or(0);
        let high = i32::try_from(top).unwrap_or(i32::MAX).saturating_add(1);
        let report = match rustix::io::fcntl_dupfd_cloexec(&report, high) {
            Ok(r) => r,
            Err(e) => self.fail(Some(&report), b"move report descriptor", e),
        };
        let lock_fd = lock.as_ref().and_then(|(n, _)| i32::try_from(*n).ok());
        let moves = [
            (&b"move notification descriptor"[..], notif),
            (b"move lock descriptor", lock),
        ];
        for (what, item) in moves {
            let Some((n, fd)) = item else { continue };
            let Ok(target) = i32::try_from(n) else {
                self.fail(Some(&report), what, Errno::BADF)
            };
            let moved = rustix::io::fcntl_dupfd_cloexec(&fd, high).and_then(|src| {
                let mut t = rt::sys::own_fd(target);
                let r = rustix::io::dup2(&src, &mut t);
                core::mem::forget(t);
                r
            });
            if let Err(e) = moved {
                self.fail(Some(&report), what, e)
            }
        }
        let argv = [c"run", self.name];
        if let Some(fd) = lock_fd {
            let fd = rt::sys::borrow_fd(fd);
            if rt::sys::lock_whole(fd, true) != Ok(true) {
                // Another instance runs: block until it ends. The supervisor
                // must not wait for that, so the exec report goes first.
                drop(report);
                if let Err(e) = rt::sys::lock_whole_wait(fd, true) {
                    self.die(b"lock supervise/service-lock", e, EXIT_NOTFOUND)
                }
                self.exec(sd::RUN, &argv, None)
            }
        }
        self.exec(sd::RUN, &argv, Some(&report))
    }

    /// Becomes `./finish CODE SIG NAME` (CODE = exit code or 256, SIG =
    /// signal or 0). Exits 127 silently when that fails, as s6 does.
    pub fn finish(&self, code: u64, sig: u64) -> ! {
        rt::sig::reset_for_child();
        let (mut a1, mut a2) = (rt::Buf::<24>::new(), rt::Buf::<24>::new());
        a1.push_u64(code);
        a2.push_u64(sig);
        match (a1.c_str(), a2.c_str()) {
            (Some(c1), Some(c2)) => {
                set_session();
                let _ = rt::sys::execve(sd::FINISH, &[c"finish", c1, c2, self.name], self.envp);
                rt::sys::exit(EXIT_NOTFOUND)
            }
            _ => rt::sys::exit(EXIT_NOTFOUND),
        }
    }

    fn exec(&self, path: &CStr, argv: &[&CStr], report: Option<&OwnedFd>) -> ! {
        set_session();
        let e = rt::sys::execve(path, argv, self.envp);
        if let Some(r) = report {
            let _ = rustix::io::write(r, b"\x01");
        }
        let code = if e == Errno::NOENT {
            EXIT_NOTFOUND
        } else {
            EXIT_NOEXEC
        };
        self.die(b"exec run", e, code)
    }
}

/// The pipes of a spawn of `run`: the close-on-exec exec report, and the
/// readiness pipe when `notification-fd` is set (read end non-blocking, for
/// the supervisor's loop; write end to become fd N in the child).
pub struct Pipes {
    /// Exec report: read end (parent), write end (child).
    pub report: (OwnedFd, OwnedFd),
    /// Readiness: read end (parent), fd number N, write end (child).
    pub notify: Option<(OwnedFd, u32, OwnedFd)>,
}

/// Creates the pipes of a spawn of `run`.
pub fn pipes(notification_fd: Option<u32>) -> Result<Pipes, Errno> {
    use rustix::pipe::{PipeFlags, pipe_with};
    let notify = match notification_fd {
        Some(n) => {
            let (r, w) = pipe_with(PipeFlags::CLOEXEC)?;
            rustix::fs::fcntl_setfl(&r, rustix::fs::OFlags::NONBLOCK)?;
            Some((r, n, w))
        }
        None => None,
    };
    Ok(Pipes {
        report: pipe_with(PipeFlags::CLOEXEC)?,
        notify,
    })
}

/// Opens `supervise/service-lock` for `lock-fd`, creating it (s6 2.11
/// forgot O_CREAT, so there it must exist); the flag says another instance
/// of the service holds it (the child will then wait for it).
pub fn service_lock() -> Result<(OwnedFd, bool), Errno> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = rustix::fs::open(sd::SERVICE_LOCK, flags, Mode::from_raw_mode(0o644))?;
    let held = matches!(
        rt::sys::lock_holder(rustix::fd::AsFd::as_fd(&fd), true),
        Ok(Some(_))
    );
    Ok((fd, held))
}

/// A new session, unless `nosetsid` says otherwise.
fn set_session() {
    match sd::read_session() {
        Session::NewSession => {
            let _ = rustix::process::setsid();
        }
        Session::NewGroup => {
            let _ = rustix::process::setpgid(None, None);
        }
        Session::Keep => {}
    }
}
