//! rs6-test-writer: the daemon of the pipe-persistence tests (tests/it/svscan.rs),
//! exec'd by a service's `./run`. It writes fixed-width records `%015u\n`
//! (16 bytes, one write(2) each: below PIPE_BUF, so a record is never split
//! in a pipe) to stdout, numbered across restarts: the next number lives in
//! `./seq`, which the writer holds with flock(2) while it runs and rewrites
//! when it stops. A record counts as written once write(2) has returned 16.
//!
//! It dies with its supervisor: PR_SET_PDEATHSIG delivers SIGTERM when the
//! supervisor is killed, and SIGTERM (like SIGINT) makes it stop writing,
//! save its number and exit 0. So killing a supervisor with -9 loses nothing
//! that the writer counted, and whatever is still in the pipe survives only
//! if someone else (the scanner) holds the pipe.
//!
//! Environment:
//! - `RS6_TEST_PARENT`: the supervisor's pid (`$PPID` in `./run`); if the
//!   parent is already another process once the death signal is armed, the
//!   supervisor died first and the writer exits at once.
//! - `RS6_TEST_COUNT`: write that many records in all, create `./done`, then
//!   wait for SIGTERM (default: write until stopped).
//! - `RS6_TEST_BATCH` records between naps of `RS6_TEST_NAP_US` µs
//!   (defaults 10 and 2000: about 5,000 records a second).
#![allow(
    unsafe_code,
    reason = "test helper: signals, prctl and flock through libc"
)]

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
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

/// Installs `on_term` for TERM and INT without SA_RESTART (a blocked write or
/// flock returns EINTR), ignores SIGPIPE, and arms the parent-death signal.
/// Returns false when the parent named by RS6_TEST_PARENT is already gone.
fn setup() -> bool {
    // SAFETY: sigaction is plain data, zeroed then filled; the handler only
    // stores to an atomic (async-signal-safe).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_term as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
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
    let limit = env_u64("RS6_TEST_COUNT");
    let batch = env_u64("RS6_TEST_BATCH").unwrap_or(10).max(1);
    let nap = Duration::from_micros(env_u64("RS6_TEST_NAP_US").unwrap_or(2000));
    let mut seq_file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open("seq")
    {
        Ok(f) => f,
        Err(e) => {
            eprintln!("rs6-test-writer: fatal: unable to open seq: {e}");
            std::process::exit(111);
        }
    };
    // The previous writer may still be saving its number.
    // SAFETY: valid fd; flock has no memory preconditions.
    while unsafe { libc::flock(seq_file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        if STOP.load(Ordering::SeqCst) {
            return;
        }
    }
    let mut text = String::new();
    let _ = seq_file.read_to_string(&mut text);
    let mut seq: u64 = text.trim().parse().unwrap_or(0);
    while !STOP.load(Ordering::SeqCst) {
        if limit.is_some_and(|n| seq >= n) {
            if !std::path::Path::new("done").exists() {
                let _ = std::fs::write("done", b"");
            }
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        let rec = format!("{seq:015}\n");
        // SAFETY: writes 16 bytes from a live buffer to fd 1.
        let w = unsafe { libc::write(1, rec.as_ptr().cast(), rec.len()) };
        if w == 16 {
            seq += 1;
            if seq.is_multiple_of(batch) && !nap.is_zero() {
                std::thread::sleep(nap);
            }
        } else if w < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {
            continue;
        } else {
            break; // EPIPE: nobody can read any more
        }
    }
    let saved = seq_file.set_len(0).and_then(|()| {
        seq_file.seek(SeekFrom::Start(0))?;
        seq_file.write_all(format!("{seq}\n").as_bytes())
    });
    if let Err(e) = saved {
        eprintln!("rs6-test-writer: fatal: unable to save seq: {e}");
        std::process::exit(111);
    }
    // Exiting releases the lock.
}
