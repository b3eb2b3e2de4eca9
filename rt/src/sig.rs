//! Signals as data: block them, read them from a signalfd, hand them to the
//! program's one loop as events. Nothing runs in signal context.
//!
//! SIGPIPE is blocked rather than ignored: a write to a dead pipe then fails
//! with EPIPE, and children start with an empty mask and default dispositions
//! (an ignored signal would stay ignored across exec).

use crate::sys::{self, SIGINFO_LEN, SigSet};
use core::ffi::c_int;
use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;

pub use libc::{
    SIGABRT, SIGALRM, SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGPIPE, SIGPWR, SIGQUIT, SIGSTOP,
    SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH,
};

/// One signal read from a signalfd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Siginfo {
    /// Signal number.
    pub signo: c_int,
    /// Sender's pid (0 from the kernel).
    pub pid: u32,
}

/// Blocks `signals` plus SIGPIPE and returns a signalfd that reports `signals`.
pub fn catch(signals: &[c_int]) -> Result<OwnedFd, Errno> {
    let set = SigSet::of(signals);
    sys::sig_block(&set);
    sys::sig_block(&SigSet::of(&[SIGPIPE]));
    sys::signalfd(&set)
}

/// Reads the next pending signal from `fd`, or None when there is none.
pub fn read<Fd: AsFd>(fd: Fd) -> Option<Siginfo> {
    let mut rec = [0u8; SIGINFO_LEN];
    match rustix::io::read(fd, &mut rec) {
        Ok(n) if n == SIGINFO_LEN => {
            let word = |at: usize| -> u32 {
                let mut b = [0u8; 4];
                if let Some(s) = rec.get(at..at + 4) {
                    b.copy_from_slice(s);
                }
                u32::from_ne_bytes(b)
            };
            Some(Siginfo {
                signo: c_int::try_from(word(0)).unwrap_or(0),
                pid: word(12),
            })
        }
        _ => None,
    }
}

/// In a freshly forked child: empty mask and default dispositions, so the
/// program it execs starts as from a shell.
pub fn reset_for_child() {
    sys::sig_default(SIGPIPE);
    sys::sig_unblock_all();
}

/// Sends `sig` to process `pid` (kill(2) with a positive pid).
pub fn send(pid: rustix::process::Pid, sig: c_int) -> Result<(), Errno> {
    let s = rustix::process::Signal::from_named_raw(sig).ok_or(Errno::INVAL)?;
    rustix::process::kill_process(pid, s)
}

/// Sends `sig` to process group `pgid` (kill(2) with `-pgid`).
pub fn send_group(pgid: rustix::process::Pid, sig: c_int) -> Result<(), Errno> {
    let s = rustix::process::Signal::from_named_raw(sig).ok_or(Errno::INVAL)?;
    rustix::process::kill_process_group(pgid, s)
}

/// Sends `sig` to every process but the caller and PID 1 (kill(-1, sig)).
pub fn send_all(sig: c_int) -> Result<(), Errno> {
    send_group(rustix::process::Pid::INIT, sig)
}

/// s6's name for a signal number (`SIGTERM` → `TERM`), as s6-svstat prints it.
pub fn name(sig: c_int) -> Option<&'static [u8]> {
    SIGNALS.iter().find(|(n, _)| *n == sig).map(|(_, s)| *s)
}

/// The signal named `s`, case-insensitive, with or without `SIG`, or a
/// decimal number (the syntax of a service directory's `down-signal`).
pub fn parse(s: &[u8]) -> Option<c_int> {
    if let Some(n) = crate::buf::parse_u64(s) {
        return c_int::try_from(n).ok().filter(|n| (1..65).contains(n));
    }
    let s = if s.len() > 3 && s[..3].eq_ignore_ascii_case(b"sig") {
        &s[3..]
    } else {
        s
    };
    SIGNALS
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(s))
        .map(|(n, _)| *n)
}

const SIGNALS: [(c_int, &[u8]); 31] = [
    (libc::SIGHUP, b"HUP"),
    (libc::SIGINT, b"INT"),
    (libc::SIGQUIT, b"QUIT"),
    (libc::SIGILL, b"ILL"),
    (libc::SIGTRAP, b"TRAP"),
    (libc::SIGABRT, b"ABRT"),
    (libc::SIGBUS, b"BUS"),
    (libc::SIGFPE, b"FPE"),
    (libc::SIGKILL, b"KILL"),
    (libc::SIGUSR1, b"USR1"),
    (libc::SIGSEGV, b"SEGV"),
    (libc::SIGUSR2, b"USR2"),
    (libc::SIGPIPE, b"PIPE"),
    (libc::SIGALRM, b"ALRM"),
    (libc::SIGTERM, b"TERM"),
    (libc::SIGSTKFLT, b"STKFLT"),
    (libc::SIGCHLD, b"CHLD"),
    (libc::SIGCONT, b"CONT"),
    (libc::SIGSTOP, b"STOP"),
    (libc::SIGTSTP, b"TSTP"),
    (libc::SIGTTIN, b"TTIN"),
    (libc::SIGTTOU, b"TTOU"),
    (libc::SIGURG, b"URG"),
    (libc::SIGXCPU, b"XCPU"),
    (libc::SIGXFSZ, b"XFSZ"),
    (libc::SIGVTALRM, b"VTALRM"),
    (libc::SIGPROF, b"PROF"),
    (libc::SIGWINCH, b"WINCH"),
    (libc::SIGIO, b"IO"),
    (libc::SIGPWR, b"PWR"),
    (libc::SIGSYS, b"SYS"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(name(SIGTERM), Some(&b"TERM"[..]));
        assert_eq!(parse(b"HUP"), Some(SIGHUP));
        assert_eq!(parse(b"SIGUSR1"), Some(SIGUSR1));
        assert_eq!(parse(b"sigusr1"), Some(SIGUSR1));
        assert_eq!(parse(b"12"), Some(12));
        assert_eq!(parse(b"NOPE"), None);
        assert_eq!(parse(b"0"), None);
    }
}
