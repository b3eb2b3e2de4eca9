//! The scanner's model: the service table, what a control byte or a signal
//! asks for, and the order in which the scan loop acts on it. Decisions only;
//! `src/bin/rs6-svscan.rs` does the system calls.
//!
//! A service is a subdirectory of the scan directory, identified by its
//! (device, inode) as s6-svscan does; `NAME/log`, when it is a directory,
//! makes it a *logged* service: the scanner creates a pipe and keeps **both
//! ends** for as long as the service exists, so the daemon, the logger and
//! both supervisors can die and be restarted without losing what is in the
//! pipe. See ../shared/spec/s6-compat.md §8.5.

use core::ffi::c_int;
use rt::Buf;
use rustix::fd::OwnedFd;

/// Services the table can hold, fixed at build time (about 330 bytes each,
/// touched only when used). `-c` lowers the limit at run time.
pub const CAPACITY: usize = 10_000;
/// s6-svscan's default for `-c` (2.11).
pub const MAX_DEFAULT: usize = 500;
/// s6-svscan's lower bound for `-c`.
pub const MAX_MIN: usize = 2;
/// Delay before a dead supervisor of an active service is started again (s6: 1 s).
pub const RESPAWN_MS: u64 = 1000;
/// Longest service name (a directory entry name).
pub const NAME_MAX: usize = 255;
/// The name of the catch-all logger's service directory: never logged itself.
pub const CATCHALL_LOGGER: &[u8] = b"s6-svscan-log";

/// One supervisor process slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    /// Running supervisor's pid, 0 when none.
    pub pid: i32,
    /// Monotonic ms at which to start it again, 0 when not scheduled.
    pub respawn_at: u64,
}

/// One service directory of the scan directory.
pub struct Service {
    /// Device of the directory (identity, with `ino`).
    pub dev: u64,
    /// Inode of the directory.
    pub ino: u64,
    /// Entry name in the scan directory.
    pub name: Buf<NAME_MAX>,
    /// Seen by the last scan.
    pub active: bool,
    /// The supervisor of the service.
    pub main: Slot,
    /// The supervisor of `NAME/log`, for a logged service.
    pub log: Slot,
    /// Read end of the service→logger pipe (logger's stdin), held by the scanner.
    pub pipe_r: Option<OwnedFd>,
    /// Write end of the service→logger pipe (service's stdout), held by the scanner.
    pub pipe_w: Option<OwnedFd>,
    /// `NAME/log` existed when the service was found.
    pub logged: bool,
    /// Its directory was found again while it was dying (see
    /// [`Service::dying`]): scan again once it is forgotten, to start it afresh.
    pub rescan_when_gone: bool,
}

impl Service {
    /// True when no supervisor of this service runs.
    pub fn idle(&self) -> bool {
        self.main.pid == 0 && self.log.pid == 0
    }

    /// A logged service whose write end the scanner has closed: its
    /// service's supervisor died while it was inactive, and it only waits
    /// for its logger to drain the pipe. A scan does not make it active
    /// again (s6-svscan: "we can't reuse the same service even if it gets
    /// reactivated"); it is found as a new service once forgotten.
    pub fn dying(&self) -> bool {
        self.logged && self.pipe_w.is_none()
    }

    /// Found by a scan: active. A supervisor that died while the service was
    /// inactive (dead, no restart scheduled) is due at `now_ms`.
    pub fn reactivate(&mut self, now_ms: u64) {
        self.active = true;
        let due = now_ms.max(1);
        if self.main.pid == 0 && self.main.respawn_at == 0 {
            self.main.respawn_at = due;
        }
        if self.logged && self.log.pid == 0 && self.log.respawn_at == 0 {
            self.log.respawn_at = due;
        }
    }
}

impl<const N: usize> Default for Table<N> {
    fn default() -> Table<N> {
        Table::new()
    }
}

/// Which supervisor of a service a pid was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The service's supervisor.
    Main,
    /// The logger's supervisor.
    Log,
}

/// The service table, of capacity `N` ([`CAPACITY`] in rs6-svscan, where it
/// lives in a `static`: 3 MB would not be welcome on the stack).
pub struct Table<const N: usize = CAPACITY> {
    /// The services, in discovery order.
    pub services: heapless::Vec<Service, N>,
    /// The run-time limit (`-c`).
    pub max: usize,
}

impl<const N: usize> Table<N> {
    /// An empty table with a limit of 0: call [`Table::set_max`]. (All zero
    /// bytes, so that a `static` of it lands in .bss, not in the binary.)
    pub const fn new() -> Table<N> {
        Table {
            services: heapless::Vec::new(),
            max: 0,
        }
    }

    /// Sets the run-time limit (clamped to [MAX_MIN, N]).
    pub fn set_max(&mut self, max: usize) {
        self.max = max.clamp(MAX_MIN, N);
    }

    /// The index of the service with this identity.
    pub fn find(&self, dev: u64, ino: u64) -> Option<usize> {
        self.services
            .iter()
            .position(|s| s.dev == dev && s.ino == ino)
    }

    /// The service and supervisor that `pid` was.
    pub fn by_pid(&self, pid: i32) -> Option<(usize, Which)> {
        if pid <= 0 {
            return None;
        }
        self.services.iter().enumerate().find_map(|(i, s)| {
            if s.main.pid == pid {
                Some((i, Which::Main))
            } else if s.log.pid == pid {
                Some((i, Which::Log))
            } else {
                None
            }
        })
    }

    /// The earliest respawn deadline, if any.
    pub fn next_deadline(&self) -> Option<u64> {
        self.services
            .iter()
            .flat_map(|s| [s.main.respawn_at, s.log.respawn_at])
            .filter(|&t| t != 0)
            .min()
    }

    /// Number of running supervisors.
    pub fn n_running(&self) -> usize {
        self.services
            .iter()
            .map(|s| usize::from(s.main.pid != 0) + usize::from(s.log.pid != 0))
            .sum()
    }

    /// Whether one more service fits.
    pub fn has_room(&self) -> bool {
        self.services.len() < self.max
    }
}

/// What the loop has been asked to do (several requests may be pending; the
/// loop runs its phases in the order of the constants).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pending(pub u16);

impl Pending {
    /// Reap dead children (`z`, SIGCHLD).
    pub const REAP: u16 = 1;
    /// Scan the directory (`a`, SIGALRM, `-t` timer, `h`).
    pub const SCAN: u16 = 1 << 1;
    /// Kill inactive services: TERM to service supervisors, HUP to logger supervisors (`h`, `n`).
    pub const KILL_INACTIVE: u16 = 1 << 2;
    /// Kill inactive services: TERM to both supervisors (`N`).
    pub const KILL_INACTIVE_HARD: u16 = 1 << 3;
    /// Exit: TERM to service supervisors, HUP to logger supervisors, wait, finish (`t`, `i`).
    pub const EXIT: u16 = 1 << 4;
    /// Exit: TERM to every supervisor, wait, finish (`q`).
    pub const EXIT_HARD: u16 = 1 << 5;
    /// Exit now without touching the supervisors (`b`).
    pub const ABORT: u16 = 1 << 6;

    /// Adds a request.
    pub fn set(&mut self, bits: u16) {
        self.0 |= bits;
    }
    /// Whether a request is pending.
    pub fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
}

/// What a byte on `.s6-svscan/control` asks for; None for an unknown byte.
pub fn control(byte: u8) -> Option<u16> {
    match byte {
        b'z' => Some(Pending::REAP),
        b'a' => Some(Pending::SCAN),
        b'b' => Some(Pending::ABORT),
        b'h' => Some(Pending::SCAN | Pending::KILL_INACTIVE),
        b'n' => Some(Pending::KILL_INACTIVE),
        b'N' => Some(Pending::KILL_INACTIVE_HARD),
        b't' | b'i' => Some(Pending::EXIT),
        b'q' => Some(Pending::EXIT_HARD),
        _ => None,
    }
}

/// The diversion script name of a signal (`.s6-svscan/SIGTERM`) for the
/// signals s6-svscan diverts, and what the signal does when there is no script.
pub fn signal(sig: c_int) -> Option<(&'static [u8], u16)> {
    use rt::sig::*;
    match sig {
        SIGHUP => Some((b"SIGHUP", Pending::SCAN | Pending::KILL_INACTIVE)),
        SIGINT => Some((b"SIGINT", Pending::EXIT)),
        SIGTERM => Some((b"SIGTERM", Pending::EXIT)),
        SIGQUIT => Some((b"SIGQUIT", Pending::EXIT_HARD)),
        SIGUSR1 => Some((b"SIGUSR1", 0)),
        SIGUSR2 => Some((b"SIGUSR2", 0)),
        SIGPWR => Some((b"SIGPWR", 0)),
        SIGWINCH => Some((b"SIGWINCH", 0)),
        _ => None,
    }
}

/// Whether a directory entry name is a candidate service (not a dot-name).
pub fn is_candidate(name: &[u8]) -> bool {
    !name.is_empty() && name.first() != Some(&b'.') && name.len() <= NAME_MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(dev: u64, ino: u64, main: i32, log: i32) -> Service {
        Service {
            dev,
            ino,
            name: Buf::from(b"x").unwrap_or_default(),
            active: true,
            main: Slot {
                pid: main,
                respawn_at: 0,
            },
            log: Slot {
                pid: log,
                respawn_at: 0,
            },
            pipe_r: None,
            pipe_w: None,
            logged: log != 0,
            rescan_when_gone: false,
        }
    }

    #[test]
    fn reactivation() {
        let mut s = svc(1, 10, 0, 101);
        s.active = false;
        s.reactivate(7);
        assert!(s.active);
        assert_eq!((s.main.respawn_at, s.log.respawn_at), (7, 0));
        let mut u = svc(1, 11, 0, 0);
        u.reactivate(7);
        assert_eq!(u.log.respawn_at, 0, "no logger to start");
        assert!(!u.dying(), "unlogged");
        assert!(s.dying(), "logged, write end closed");
    }

    #[test]
    fn control_bytes() {
        assert_eq!(control(b'h'), Some(Pending::SCAN | Pending::KILL_INACTIVE));
        assert_eq!(control(b'q'), Some(Pending::EXIT_HARD));
        for b in *b"prs0678Xx\n" {
            assert_eq!(control(b), None, "byte {b}");
        }
    }

    #[test]
    fn signals_divert_first() {
        assert_eq!(
            signal(rt::sig::SIGTERM),
            Some((&b"SIGTERM"[..], Pending::EXIT))
        );
        assert_eq!(signal(rt::sig::SIGUSR1), Some((&b"SIGUSR1"[..], 0)));
        assert_eq!(signal(rt::sig::SIGCHLD), None);
    }

    #[test]
    fn table_lookups() {
        let mut t: Table<4> = Table::new();
        t.set_max(1);
        assert_eq!(t.max, MAX_MIN);
        assert!(t.services.push(svc(1, 10, 100, 101)).is_ok());
        assert!(t.services.push(svc(1, 11, 102, 0)).is_ok());
        assert!(!t.has_room());
        assert_eq!(t.find(1, 11), Some(1));
        assert_eq!(t.by_pid(101), Some((0, Which::Log)));
        assert_eq!(t.by_pid(102), Some((1, Which::Main)));
        assert_eq!(t.by_pid(0), None);
        assert_eq!(t.n_running(), 3);
        assert_eq!(t.next_deadline(), None);
        if let Some(s) = t.services.get_mut(1) {
            s.main.respawn_at = 5;
        }
        assert_eq!(t.next_deadline(), Some(5));
    }

    #[test]
    fn candidates() {
        assert!(is_candidate(b"sshd"));
        assert!(!is_candidate(b".s6-svscan"));
        assert!(!is_candidate(b""));
    }
}
