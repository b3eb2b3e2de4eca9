//! What the bench helpers share: the few C functions they call (from musl; declared here
//! because the helpers are single files compiled by `rustc`, without crates), a monotonic
//! clock in nanoseconds, and small wrappers. Each helper is a tiny static program so that its
//! own start-up cost is small and the same for every suite.
#![allow(dead_code, reason = "each helper uses part of this module")]

use std::ffi::{CStr, CString, c_char, c_int, c_long};
use std::io::Write;

pub const SIGHUP: c_int = 1;
pub const SIGINT: c_int = 2;
pub const SIGKILL: c_int = 9;
pub const SIGUSR1: c_int = 10;
pub const SIGPIPE: c_int = 13;
pub const SIGTERM: c_int = 15;
pub const SIGCHLD: c_int = 17;
pub const SIGSTOP: c_int = 19;
const SIG_BLOCK: c_int = 0;
const SIG_SETMASK: c_int = 2;
const PR_SET_PDEATHSIG: c_int = 1;
const PR_SET_NAME: c_int = 15;
const PR_SET_CHILD_SUBREAPER: c_int = 36;
const CLOCK_MONOTONIC: c_int = 1;
pub const WNOHANG: c_int = 1;
const SYS_PIDFD_OPEN: c_long = 434;
const RLIMIT_NOFILE: c_int = 7;
const EPOLL_CTL_ADD: c_int = 1;
const EPOLLIN: u32 = 1;
const EPOLL_CLOEXEC: c_int = 0o2000000;

/// musl's `sigset_t`: 128 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SigSet([u64; 16]);

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

#[repr(C)]
struct Rlimit {
    cur: u64,
    max: u64,
}

/// `struct epoll_event` (packed on x86_64).
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct EpollEvent {
    pub events: u32,
    pub data: u64,
}

unsafe extern "C" {
    fn clock_gettime(clk: c_int, ts: *mut Timespec) -> c_int;
    fn prctl(op: c_int, ...) -> c_int;
    fn sigemptyset(set: *mut SigSet) -> c_int;
    fn sigaddset(set: *mut SigSet, sig: c_int) -> c_int;
    fn sigprocmask(how: c_int, set: *const SigSet, old: *mut SigSet) -> c_int;
    fn sigwait(set: *const SigSet, sig: *mut c_int) -> c_int;
    fn signal(sig: c_int, handler: usize) -> usize;
    fn fork() -> c_int;
    fn execv(path: *const c_char, argv: *const *const c_char) -> c_int;
    fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn kill(pid: c_int, sig: c_int) -> c_int;
    fn setsid() -> c_int;
    fn getpid() -> c_int;
    fn pause() -> c_int;
    fn _exit(code: c_int) -> !;
    fn syscall(n: c_long, ...) -> c_long;
    fn getrlimit(res: c_int, rl: *mut Rlimit) -> c_int;
    fn setrlimit(res: c_int, rl: *const Rlimit) -> c_int;
    fn epoll_create1(flags: c_int) -> c_int;
    fn epoll_ctl(ep: c_int, op: c_int, fd: c_int, ev: *mut EpollEvent) -> c_int;
    fn epoll_wait(ep: c_int, evs: *mut EpollEvent, max: c_int, timeout: c_int) -> c_int;
    fn close(fd: c_int) -> c_int;
    fn open(path: *const c_char, flags: c_int, ...) -> c_int;
    fn dup2(old: c_int, new: c_int) -> c_int;
    fn write(fd: c_int, buf: *const u8, len: usize) -> isize;
}

/// CLOCK_MONOTONIC in nanoseconds (the clock of every stamp the bench compares).
pub fn now_ns() -> u64 {
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: clock_gettime writes into a live Timespec.
    unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) };
    ts.sec as u64 * 1_000_000_000 + ts.nsec as u64
}

/// Sets the process name (comm), so the bench can tell its helpers apart in /proc.
pub fn set_name(name: &CStr) {
    // SAFETY: PR_SET_NAME reads a NUL-terminated string that outlives the call.
    unsafe { prctl(PR_SET_NAME, name.as_ptr() as usize, 0usize, 0usize, 0usize) };
}

/// Makes this process a child subreaper: orphans below it are reparented to it.
pub fn set_subreaper() {
    // SAFETY: integer arguments only.
    unsafe { prctl(PR_SET_CHILD_SUBREAPER, 1usize, 0usize, 0usize, 0usize) };
}

/// Asks for SIG when the parent dies.
pub fn die_with_parent(sig: c_int) {
    // SAFETY: integer arguments only.
    unsafe { prctl(PR_SET_PDEATHSIG, sig as usize, 0usize, 0usize, 0usize) };
}

/// The set of SIGS.
pub fn sigset(sigs: &[c_int]) -> SigSet {
    let mut s = SigSet([0; 16]);
    // SAFETY: both write into a live SigSet.
    unsafe {
        sigemptyset(&mut s);
        for &n in sigs {
            sigaddset(&mut s, n);
        }
    }
    s
}

/// Blocks SET; returns the previous mask.
pub fn block(set: &SigSet) -> SigSet {
    let mut old = SigSet([0; 16]);
    // SAFETY: valid pointers to live SigSets.
    unsafe { sigprocmask(SIG_BLOCK, set, &mut old) };
    old
}

/// Sets the signal mask to SET.
pub fn set_mask(set: &SigSet) {
    // SAFETY: valid pointer to a live SigSet; old mask not wanted.
    unsafe { sigprocmask(SIG_SETMASK, set, std::ptr::null_mut()) };
}

/// Waits for one signal of SET (which must be blocked).
pub fn wait_signal(set: &SigSet) -> c_int {
    let mut sig = 0;
    // SAFETY: valid pointers.
    unsafe { sigwait(set, &mut sig) };
    sig
}

/// Restores SIGPIPE's default disposition (Rust's runtime ignores it, and children would
/// inherit that through exec).
pub fn default_sigpipe() {
    // SAFETY: SIG_DFL (0) is a valid disposition.
    unsafe { signal(SIGPIPE, 0) };
}

/// Sleeps until a signal ends the process.
pub fn pause_forever() -> ! {
    loop {
        // SAFETY: no arguments.
        unsafe { pause() };
    }
}

/// `fork()`: Some(0) in the child, Some(pid) in the parent, None on failure.
pub fn fork_now() -> Option<c_int> {
    // SAFETY: the helpers fork before starting threads, or exec/exit right after in the child.
    let p = unsafe { fork() };
    (p >= 0).then_some(p)
}

/// Builds a NULL-terminated argv; the CStrings must outlive its use.
fn argv_ptrs(args: &[CString]) -> Vec<*const c_char> {
    let mut v: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
    v.push(std::ptr::null());
    v
}

/// In a forked child: exec ARGS (searching PATH unless ARGS[0] has a slash); on failure
/// writes a line and `_exit(127)`.
pub fn exec_or_die(args: &[CString]) -> ! {
    let v = argv_ptrs(args);
    // SAFETY: v is a NULL-terminated array of pointers to live C strings.
    unsafe { execvp(v[0], v.as_ptr()) };
    let _ = writeln!(
        std::io::stderr(),
        "bench helper: exec {}: {}",
        args[0].to_string_lossy(),
        std::io::Error::last_os_error()
    );
    exit_now(127)
}

/// Like [`exec_or_die`] with an exact path.
pub fn execv_or_die(args: &[CString]) -> ! {
    let v = argv_ptrs(args);
    // SAFETY: as above.
    unsafe { execv(v[0], v.as_ptr()) };
    exit_now(127)
}

/// `_exit(code)`: no destructors, no atexit.
pub fn exit_now(code: c_int) -> ! {
    // SAFETY: always safe to call.
    unsafe { _exit(code) }
}

/// Blocking `waitpid(pid)`, retried on EINTR; the raw status or None (ECHILD).
pub fn wait_for(pid: c_int) -> Option<c_int> {
    loop {
        let mut st = 0;
        // SAFETY: writes into a live c_int.
        let r = unsafe { waitpid(pid, &mut st, 0) };
        if r >= 0 {
            return Some(st);
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return None;
        }
    }
}

/// `waitpid(-1, options)`: the pid reaped (0 with WNOHANG and none ready), or None (ECHILD).
pub fn reap_any(options: c_int) -> Option<c_int> {
    let mut st = 0;
    // SAFETY: writes into a live c_int.
    let r = unsafe { waitpid(-1, &mut st, options) };
    (r >= 0).then_some(r)
}

/// Sends SIG to PID.
pub fn send(pid: c_int, sig: c_int) {
    // SAFETY: plain system call.
    unsafe { kill(pid, sig) };
}

/// Starts a new session.
pub fn new_session() {
    // SAFETY: plain system call.
    unsafe { setsid() };
}

/// Our pid.
pub fn pid() -> c_int {
    // SAFETY: plain system call.
    unsafe { getpid() }
}

/// Points fd 0 at /dev/null.
pub fn stdin_null() {
    // SAFETY: open and dup2 with a valid C string and fds.
    unsafe {
        let fd = open(c"/dev/null".as_ptr(), 0);
        if fd > 0 {
            dup2(fd, 0);
            close(fd);
        }
    }
}

/// Raises RLIMIT_NOFILE to at least WANT (as root, the hard limit too).
pub fn raise_nofile(want: u64) {
    let mut rl = Rlimit { cur: 0, max: 0 };
    // SAFETY: writes into a live Rlimit.
    if unsafe { getrlimit(RLIMIT_NOFILE, &mut rl) } != 0 || rl.cur >= want {
        return;
    }
    let try_set = |cur, max| {
        let r = Rlimit { cur, max };
        // SAFETY: reads a live Rlimit.
        unsafe { setrlimit(RLIMIT_NOFILE, &r) == 0 }
    };
    if !try_set(want, rl.max.max(want)) {
        try_set(rl.max.min(want), rl.max);
    }
}

/// `pidfd_open(pid)`: an fd that becomes readable when PID exits, or None if it is gone.
pub fn pidfd(pid: c_int) -> Option<c_int> {
    // SAFETY: plain system call with integer arguments.
    let fd = unsafe { syscall(SYS_PIDFD_OPEN, pid as c_long, 0 as c_long) };
    (fd >= 0).then_some(fd as c_int)
}

/// A minimal epoll set of fds, each tagged with a u64.
pub struct Epoll(c_int);

impl Epoll {
    pub fn new() -> Epoll {
        // SAFETY: plain system call.
        Epoll(unsafe { epoll_create1(EPOLL_CLOEXEC) })
    }

    pub fn add(&self, fd: c_int, tag: u64) {
        let mut ev = EpollEvent {
            events: EPOLLIN,
            data: tag,
        };
        // SAFETY: ev is live for the call.
        unsafe { epoll_ctl(self.0, EPOLL_CTL_ADD, fd, &mut ev) };
    }

    /// Waits up to TIMEOUT_MS; the tags of the ready fds.
    pub fn wait(&self, buf: &mut [EpollEvent], timeout_ms: c_int) -> Vec<u64> {
        // SAFETY: buf is a live array of buf.len() events.
        let n = unsafe { epoll_wait(self.0, buf.as_mut_ptr(), buf.len() as c_int, timeout_ms) };
        buf[..n.max(0) as usize].iter().map(|e| e.data).collect()
    }
}

/// Writes BYTES to FD (one write(2), result ignored).
pub fn write_fd(fd: c_int, bytes: &[u8]) {
    // SAFETY: bytes is a live slice of bytes.len() bytes.
    unsafe { write(fd, bytes.as_ptr(), bytes.len()) };
}

/// Closes FD.
pub fn close_fd(fd: c_int) {
    // SAFETY: the caller owns fd.
    unsafe { close(fd) };
}

/// Appends LINE to PATH with one write(2) (O_APPEND keeps lines whole).
pub fn append_line(path: &str, line: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// C strings of ARGS (the helpers' arguments never contain NUL).
pub fn cstrings<I: IntoIterator<Item = S>, S: Into<Vec<u8>>>(args: I) -> Vec<CString> {
    args.into_iter()
        .map(|a| CString::new(a).unwrap_or_default())
        .collect()
}
