//! The system calls rustix does not expose, through the `libc` crate (musl).
//!
//! # Safety
//! This is the only module of rs6 with `unsafe` code (besides the expansion of
//! `rt::entry!`). The invariant it keeps: every raw pointer handed to musl
//! points to memory that outlives the call, every string is NUL-terminated,
//! and every array of pointers ends with a null pointer. rs6 programs are
//! single-threaded, so fork() has no other thread's locks to worry about.
//!
//! Why libc and not rustix: rustix 1.x has no public fork, execve, sigprocmask
//! or signalfd (see ../shared/notes/feasibility.md, section 1).
#![allow(unsafe_code)]

use core::ffi::{CStr, c_char, c_int};
use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::io::Errno;

/// Most arguments a program can pass to `exec` (the vector lives on the stack).
pub const ARGV_MAX: usize = 256;

/// The command line and environment the kernel gave the process.
#[derive(Clone, Copy)]
pub struct Args {
    argc: usize,
    argv: *const *const c_char,
    envp: *const *const c_char,
}

impl Args {
    /// Wraps what `main` received.
    ///
    /// # Safety
    /// `argv` must point to `argc` valid C strings followed by a null pointer,
    /// and `envp` to a null-terminated array of C strings, all living until the
    /// process exits (true for the arguments of C `main`).
    // SAFETY: an unsafe fn: callers uphold the contract under `# Safety`.
    pub unsafe fn from_raw(
        argc: c_int,
        argv: *const *const c_char,
        envp: *const *const c_char,
    ) -> Args {
        Args {
            argc: usize::try_from(argc).unwrap_or(0),
            argv,
            envp,
        }
    }

    /// Number of arguments, `argv[0]` included.
    pub fn len(&self) -> usize {
        self.argc
    }

    /// True when there is not even `argv[0]`.
    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// Argument `i`, if it exists.
    pub fn get(&self, i: usize) -> Option<&'static CStr> {
        if i >= self.argc || self.argv.is_null() {
            return None;
        }
        // SAFETY: i < argc, and argv holds argc valid pointers (from_raw's contract).
        let p = unsafe { *self.argv.add(i) };
        if p.is_null() {
            return None;
        }
        // SAFETY: argv entries are NUL-terminated strings that live forever.
        Some(unsafe { CStr::from_ptr(p) })
    }

    /// Arguments from `start` on, as bytes.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = &'static [u8]> + '_ {
        (start..self.argc).filter_map(|i| self.get(i).map(CStr::to_bytes))
    }

    /// The value of environment variable `name`, if set.
    pub fn env(&self, name: &[u8]) -> Option<&'static [u8]> {
        let mut i = 0;
        loop {
            let e = self.env_at(i)?.to_bytes();
            if let Some(v) = e.strip_prefix(name).and_then(|r| r.strip_prefix(b"=")) {
                return Some(v);
            }
            i += 1;
        }
    }

    fn env_at(&self, i: usize) -> Option<&'static CStr> {
        if self.envp.is_null() {
            return None;
        }
        // SAFETY: envp is null-terminated; we stop at the first null, so index i
        // is only read when all entries before it were non-null.
        let p = unsafe { *self.envp.add(i) };
        if p.is_null() {
            return None;
        }
        // SAFETY: environment strings are NUL-terminated and live forever.
        Some(unsafe { CStr::from_ptr(p) })
    }

    /// The raw environment, to pass on to `exec`.
    pub fn envp(&self) -> Envp {
        Envp(self.envp)
    }
}

/// A null-terminated environment array, as `execve` takes it.
#[derive(Clone, Copy)]
pub struct Envp(*const *const c_char);

/// Borrows a raw fd number that the caller knows is open for the duration of
/// the borrow (0, 1, 2 in practice).
pub fn borrow_fd(fd: c_int) -> BorrowedFd<'static> {
    // SAFETY: rs6 only borrows fds it keeps open for the process lifetime
    // (stdio, and fds it owns as OwnedFd elsewhere while using them); a closed
    // fd makes the syscall fail with EBADF, which callers handle.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Takes ownership of a raw fd number (for fds a program inherited, such as a
/// `notification-fd`).
pub fn own_fd(fd: c_int) -> OwnedFd {
    // SAFETY: the caller hands over an fd number it will not use otherwise;
    // closing it on drop is then correct (or harmlessly fails with EBADF).
    unsafe { rustix::fd::FromRawFd::from_raw_fd(fd) }
}

/// Ends the process now with `code` (`_exit`: no atexit, no stdio flush).
pub fn exit(code: u8) -> ! {
    // SAFETY: _exit has no preconditions.
    unsafe { libc::_exit(c_int::from(code)) }
}

/// The text of an errno, as musl's strerror gives it.
pub fn strerror(e: Errno) -> &'static [u8] {
    // SAFETY: musl's strerror returns a pointer to a static NUL-terminated
    // string for every input (unknown numbers give "No error information").
    let p = unsafe { libc::strerror(e.raw_os_error()) };
    if p.is_null() {
        return b"unknown error";
    }
    // SAFETY: see above: static and NUL-terminated.
    unsafe { CStr::from_ptr(p) }.to_bytes()
}

/// Result of [`fork`].
pub enum Fork {
    /// In the parent: the child's pid.
    Parent(rustix::process::Pid),
    /// In the child.
    Child,
}

/// fork(2), through musl (which does not allocate in fork).
pub fn fork() -> Result<Fork, Errno> {
    // SAFETY: rs6 programs are single-threaded; the child only calls
    // async-signal-safe functions (syscalls) before exec or _exit.
    let pid = unsafe { libc::fork() };
    match pid {
        0 => Ok(Fork::Child),
        p if p > 0 => rustix::process::Pid::from_raw(p)
            .map(Fork::Parent)
            .ok_or(Errno::INVAL),
        _ => Err(errno()),
    }
}

fn errno() -> Errno {
    // SAFETY: __errno_location returns the thread's errno slot, always valid.
    Errno::from_raw_os_error(unsafe { *libc::__errno_location() })
}

/// Builds a null-terminated pointer vector from `args`; fails with E2BIG past
/// [`ARGV_MAX`].
fn argv_vec(args: &[&CStr]) -> Result<[*const c_char; ARGV_MAX + 1], Errno> {
    if args.len() > ARGV_MAX {
        return Err(Errno::TOOBIG);
    }
    let mut v = [core::ptr::null(); ARGV_MAX + 1];
    for (slot, a) in v.iter_mut().zip(args) {
        *slot = a.as_ptr();
    }
    Ok(v)
}

/// execve(2): replaces the process image; returns only on failure.
pub fn execve(path: &CStr, argv: &[&CStr], envp: Envp) -> Errno {
    let v = match argv_vec(argv) {
        Ok(v) => v,
        Err(e) => return e,
    };
    // SAFETY: path is NUL-terminated, v is null-terminated and points to
    // NUL-terminated strings borrowed for this call, envp comes from main.
    unsafe { libc::execve(path.as_ptr(), v.as_ptr(), envp.0) };
    errno()
}

/// execve(2) with an environment given as strings (`NAME=value`).
pub fn execve_env(path: &CStr, argv: &[&CStr], env: &[&CStr]) -> Errno {
    match argv_vec(env) {
        Ok(e) => execve(path, argv, Envp(e.as_ptr())),
        Err(e) => e,
    }
}

/// execvp(3): like [`execve`] with the environment of the process, searching
/// `PATH` when `file` has no slash. musl's execvp does not allocate.
pub fn execvp(file: &CStr, argv: &[&CStr]) -> Errno {
    let v = match argv_vec(argv) {
        Ok(v) => v,
        Err(e) => return e,
    };
    // SAFETY: as in execve; musl's execvp uses `environ`, set up at start.
    unsafe { libc::execvp(file.as_ptr(), v.as_ptr()) };
    errno()
}

/// A set of signals, as sigprocmask and signalfd take it.
#[derive(Clone, Copy)]
pub struct SigSet(libc::sigset_t);

impl SigSet {
    /// The empty set.
    pub fn empty() -> SigSet {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it fully.
        let mut s: libc::sigset_t = unsafe { core::mem::zeroed() };
        // SAFETY: s is a valid sigset_t.
        unsafe { libc::sigemptyset(&mut s) };
        SigSet(s)
    }
    /// The set of `signals`.
    pub fn of(signals: &[c_int]) -> SigSet {
        let mut s = SigSet::empty();
        for &sig in signals {
            // SAFETY: s.0 is a valid sigset_t; invalid numbers give EINVAL, ignored.
            unsafe { libc::sigaddset(&mut s.0, sig) };
        }
        s
    }
}

/// Blocks `set` (adds it to the signal mask).
pub fn sig_block(set: &SigSet) {
    // SAFETY: valid set pointer, null old-set pointer is allowed.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set.0, core::ptr::null_mut()) };
}

/// Empties the signal mask (for a child about to exec).
pub fn sig_unblock_all() {
    let s = SigSet::empty();
    // SAFETY: valid set pointer.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &s.0, core::ptr::null_mut()) };
}

/// Resets the disposition of `sig` to the default (for a child about to exec:
/// ignored signals stay ignored across exec).
pub fn sig_default(sig: c_int) {
    // SAFETY: SIG_DFL is a valid disposition for any catchable signal.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

/// Ignores `sig` (SIG_IGN).
pub fn sig_ignore(sig: c_int) {
    // SAFETY: SIG_IGN is a valid disposition for any catchable signal.
    unsafe { libc::signal(sig, libc::SIG_IGN) };
}

/// signalfd(2) for `set`, close-on-exec and non-blocking.
pub fn signalfd(set: &SigSet) -> Result<OwnedFd, Errno> {
    // SAFETY: valid set pointer; -1 asks for a new fd.
    let fd = unsafe { libc::signalfd(-1, &set.0, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    if fd < 0 {
        return Err(errno());
    }
    Ok(own_fd(fd))
}

/// Size of one signalfd record.
pub const SIGINFO_LEN: usize = core::mem::size_of::<libc::signalfd_siginfo>();
static_assertions::const_assert_eq!(SIGINFO_LEN, 128);
static_assertions::const_assert_eq!(core::mem::offset_of!(libc::signalfd_siginfo, ssi_signo), 0);
static_assertions::const_assert_eq!(core::mem::offset_of!(libc::signalfd_siginfo, ssi_pid), 12);

/// fcntl(F_SETLK / F_GETLK) record locks on a whole file, as s6 uses them for
/// `supervise/lock` (s6-svok tests them with F_GETLK). `write` selects F_WRLCK.
/// Returns Ok(true) when the lock was taken, Ok(false) when another process holds it.
pub fn lock_whole(fd: BorrowedFd<'_>, write: bool) -> Result<bool, Errno> {
    // SAFETY: flock is plain data; every field we rely on is set below.
    let mut fl: libc::flock = unsafe { core::mem::zeroed() };
    fl.l_type = if write { libc::F_WRLCK } else { libc::F_RDLCK } as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: valid fd number and a valid flock pointer for the call.
    let r = unsafe { libc::fcntl(rustix::fd::AsRawFd::as_raw_fd(&fd), libc::F_SETLK, &fl) };
    if r == 0 {
        return Ok(true);
    }
    match errno() {
        Errno::AGAIN | Errno::ACCESS => Ok(false),
        e => Err(e),
    }
}

/// fcntl(F_GETLK) for a whole-file lock of type `write`: Ok(Some(pid)) when
/// another process holds a conflicting lock.
pub fn lock_holder(fd: BorrowedFd<'_>, write: bool) -> Result<Option<i32>, Errno> {
    // SAFETY: flock is plain data; every field we rely on is set below.
    let mut fl: libc::flock = unsafe { core::mem::zeroed() };
    fl.l_type = if write { libc::F_WRLCK } else { libc::F_RDLCK } as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: valid fd number and a valid, writable flock for the call.
    let r = unsafe { libc::fcntl(rustix::fd::AsRawFd::as_raw_fd(&fd), libc::F_GETLK, &mut fl) };
    if r < 0 {
        return Err(errno());
    }
    if fl.l_type == libc::F_UNLCK as libc::c_short {
        Ok(None)
    } else {
        Ok(Some(fl.l_pid))
    }
}

/// kill(2) with a raw pid and signal number: `pid` > 0 is a process,
/// `pid` < -1 the process group `-pid`. Unlike rustix's `kill_process`, any
/// signal number works (a service's `down-signal` may be a real-time signal).
pub fn kill(pid: i32, sig: c_int) -> Result<(), Errno> {
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// fcntl(F_SETLKW): waits until a whole-file lock of type `write` is taken
/// (s6's `lock-fd` child blocks this way while another instance runs).
pub fn lock_whole_wait(fd: BorrowedFd<'_>, write: bool) -> Result<(), Errno> {
    // SAFETY: flock is plain data; every field we rely on is set below.
    let mut fl: libc::flock = unsafe { core::mem::zeroed() };
    fl.l_type = if write { libc::F_WRLCK } else { libc::F_RDLCK } as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    loop {
        // SAFETY: valid fd number and a valid flock pointer for the call.
        let r = unsafe { libc::fcntl(rustix::fd::AsRawFd::as_raw_fd(&fd), libc::F_SETLKW, &fl) };
        if r == 0 {
            return Ok(());
        }
        match errno() {
            Errno::INTR => {}
            e => return Err(e),
        }
    }
}

/// A value in a `static` that is handed out as `&'static mut` exactly once:
/// for tables too large for the stack (the scanner's service table), kept in
/// .bss where untouched pages cost no memory.
pub struct Exclusive<T> {
    cell: core::cell::UnsafeCell<T>,
    taken: core::sync::atomic::AtomicBool,
}

// SAFETY: the only access to `cell` is through `take`, which hands out one
// `&mut` for the whole program, guarded by an atomic swap; no `&T` is shared.
unsafe impl<T: Send> Sync for Exclusive<T> {}

impl<T> Exclusive<T> {
    /// Wraps `value` (usable in a `static` initialiser).
    pub const fn new(value: T) -> Exclusive<T> {
        Exclusive {
            cell: core::cell::UnsafeCell::new(value),
            taken: core::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The value, the first time; None ever after.
    #[allow(clippy::mut_from_ref)] // handed out once: see the SAFETY comment
    pub fn take(&'static self) -> Option<&'static mut T> {
        if self.taken.swap(true, core::sync::atomic::Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the swap above returns false exactly once, so this is the
        // only reference to the value ever created.
        Some(unsafe { &mut *self.cell.get() })
    }
}
