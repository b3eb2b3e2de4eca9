//! rs6-test-logger: the logger of the pipe-persistence tests (tests/it/svscan.rs),
//! exec'd by a service's `log/run`. It copies stdin to `./out` (or to the
//! file named by its first argument), up to 4096 bytes a read: a multiple of
//! rs6-test-writer's 16-byte records, which enter the pipe whole, so a read
//! never splits a record. It holds `out` with flock(2), so two loggers never
//! interleave.
//!
//! It dies with its supervisor (PR_SET_PDEATHSIG delivers SIGTERM). On SIGTERM
//! or SIGINT it finishes writing what it has read, then exits 0; at end of
//! file it exits 0.
//!
//! Environment:
//! - `RS6_TEST_PARENT`: the supervisor's pid (`$PPID` in `log/run`), as for
//!   rs6-test-writer.
//! - `RS6_TEST_GO`: a path; the logger reads nothing until it exists (so a
//!   test can leave records in the pipe).
//! - `RS6_TEST_NAP_US`: µs to sleep after each read (default 2000), like a
//!   logger that syncs its file: records wait in the pipe, as in real life.
#![allow(
    unsafe_code,
    reason = "test helper: signals, prctl and flock through libc"
)]

use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_term(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn setup() -> bool {
    // SAFETY: sigaction is plain data, zeroed then filled; the handler only
    // stores to an atomic (async-signal-safe).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_term as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGTERM as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    match env_u64("RS6_TEST_PARENT") {
        // SAFETY: getppid has no preconditions.
        Some(p) => i64::from(unsafe { libc::getppid() }) == p as i64,
        None => true,
    }
}

fn main() {
    if !setup() {
        return;
    }
    let nap = Duration::from_micros(env_u64("RS6_TEST_NAP_US").unwrap_or(2000));
    let path = std::env::args().nth(1).unwrap_or_else(|| "out".into());
    let mut out = match OpenOptions::new().append(true).create(true).open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("rs6-test-logger: fatal: unable to open {path}: {e}");
            std::process::exit(111);
        }
    };
    // SAFETY: valid fd; flock has no memory preconditions.
    while unsafe { libc::flock(out.as_raw_fd(), libc::LOCK_EX) } != 0 {
        if STOP.load(Ordering::SeqCst) {
            return;
        }
    }
    if let Ok(go) = std::env::var("RS6_TEST_GO") {
        while !std::path::Path::new(&go).exists() {
            if STOP.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let mut buf = [0u8; 4096];
    while !STOP.load(Ordering::SeqCst) {
        // SAFETY: reads into a live buffer of the given length.
        let r = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if r == 0 {
            break;
        }
        if r < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        // write_all retries EINTR: what was read is always written.
        if let Err(e) = out.write_all(&buf[..r as usize]) {
            eprintln!("rs6-test-logger: fatal: unable to write {path}: {e}");
            std::process::exit(111);
        }
        if !nap.is_zero() {
            std::thread::sleep(nap);
        }
    }
}
