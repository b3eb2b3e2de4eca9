//! rs6-svscan: the scanner. One rs6-supervise per service directory (and one
//! per `NAME/log`), the service→logger pipes held for the services' lifetime,
//! `.s6-svscan/control` commands, signal diversion scripts, and — as process
//! 1 — the reaping of every orphan. Model: `init::scan`; manual: doc/rs6-svscan.md.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use core::ffi::CStr;
use core::sync::atomic::{AtomicI32, Ordering};
use init::scan::{self, Pending, Service, Slot, Table, Which};
use rt::Buf;
use rt::err::{EXIT_TEMP, EXIT_USAGE, Msg, die_unable, warn_unable};
use rt::getopt::{Getopt, Opt};
use rt::sig::{
    self, SIGABRT, SIGALRM, SIGCHLD, SIGHUP, SIGINT, SIGPWR, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
    SIGWINCH,
};
use rt::sys::{self, Fork};
use rt::time;
use rustix::event::{PollFd, PollFlags, poll};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::WaitOptions;

rt::entry!(main);

const PROG: &[u8] = b"rs6-svscan";
const USAGE: &[u8] = b"[ -c max ] [ -t rescan ] [ -d notif ] [ -X consoleholder ] [ scandir ]";
/// The supervisor program, found through PATH.
const SUPERVISE: &CStr = c"rs6-supervise";
/// Bytes read from the control fifo at once.
const CONTROL_BUF: usize = 64;

/// `-X`: an fd on the console, given as stderr to the catch-all logger's
/// supervisor (`s6-svscan-log`), and taken back as stdout and stderr when the
/// scanner exits, so that the catch-all logger sees end of file. -1 if none.
static CONSOLE_HOLDER: AtomicI32 = AtomicI32::new(-1);

/// The service table: in .bss, untouched pages cost nothing.
static TABLE: sys::Exclusive<Table> = sys::Exclusive::new(Table::new());

struct Scanner {
    table: &'static mut Table,
    pending: Pending,
    /// `-t`: rescan period in ms, 0 for none.
    rescan_ms: u64,
    next_rescan: u64,
    /// The exit phase has started (kills sent); finish runs once no supervisor is left.
    exiting: bool,
}

fn main(args: rt::Args) -> u8 {
    let mut max = scan::MAX_DEFAULT;
    let mut rescan_ms = 0u64;
    let mut notif: Option<i32> = None;
    let mut g = Getopt::new(args, b"c:t:d:X:");
    while let Some(o) = g.next_opt() {
        match o {
            Opt::Flag(b'c', Some(v)) => max = num(v) as usize,
            Opt::Flag(b't', Some(v)) => rescan_ms = num(v),
            Opt::Flag(b'd', Some(v)) => notif = Some(fdnum(v)),
            Opt::Flag(b'X', Some(v)) => {
                let fd = fdnum(v);
                // Kept open for the catch-all logger, but not leaked to others.
                let _ = rustix::io::fcntl_setfd(sys::borrow_fd(fd), rustix::io::FdFlags::CLOEXEC);
                CONSOLE_HOLDER.store(fd, Ordering::Relaxed);
            }
            _ => rt::err::die_usage(PROG, USAGE),
        }
    }
    if let Some(dir) = g.operands().next()
        && let Err(e) = rustix::process::chdir(dir)
    {
        die_unable(PROG, EXIT_TEMP, b"chdir to", dir, e);
    }
    raise_fd_limit(max);
    let (control, _control_w) = setup();
    let sfd = match sig::catch(&[
        SIGCHLD, SIGALRM, SIGABRT, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2, SIGPWR,
        SIGWINCH,
    ]) {
        Ok(fd) => fd,
        Err(e) => die_unable(PROG, EXIT_TEMP, b"create", b"signalfd", e),
    };
    if let Some(fd) = notif {
        let fd = sys::own_fd(fd);
        let _ = rustix::io::write(&fd, b"\n");
    }
    let Some(table) = TABLE.take() else {
        sys::exit(EXIT_TEMP)
    };
    table.set_max(max);
    let mut s = Scanner {
        table,
        pending: Pending(Pending::SCAN),
        rescan_ms,
        next_rescan: 0,
        exiting: false,
    };
    loop {
        s.run_phases();
        if s.exiting && s.table.n_running() == 0 {
            finish(b"finish");
        }
        let deadline = [
            s.table.next_deadline(),
            (s.rescan_ms > 0 && !s.exiting).then_some(s.next_rescan),
        ]
        .into_iter()
        .flatten()
        .min();
        let timeout = deadline.map(time::until);
        let mut fds = [
            PollFd::new(&sfd, PollFlags::IN),
            PollFd::new(&control, PollFlags::IN),
        ];
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => crash(b"poll", e),
        }
        while let Some(si) = sig::read(&sfd) {
            s.on_signal(si.signo);
        }
        s.read_control(&control);
        if s.rescan_ms > 0 && time::now_ms() >= s.next_rescan {
            s.pending.set(Pending::SCAN);
        }
    }
}

fn num(v: &[u8]) -> u64 {
    rt::buf::parse_u64(v).unwrap_or_else(|| rt::err::die_usage(PROG, USAGE))
}

fn fdnum(v: &[u8]) -> i32 {
    match i32::try_from(num(v)) {
        Ok(n) if n >= 3 => n,
        _ => rt::err::die_usage(PROG, USAGE),
    }
}

/// Each logged service costs two fds held here: raise the soft limit (and,
/// as root, the hard one) so that `max` logged services fit.
fn raise_fd_limit(max: usize) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let want = (max as u64).saturating_mul(2).saturating_add(64);
    let cur = getrlimit(Resource::Nofile);
    if cur.current.is_none_or(|c| c >= want) {
        return;
    }
    let hard = cur.maximum.map_or(want, |h| h.max(want));
    if setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(want),
            maximum: Some(hard),
        },
    )
    .is_err()
    {
        let capped = cur.maximum.map(|h| h.min(want));
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: capped,
                maximum: cur.maximum,
            },
        );
    }
}

/// `.s6-svscan/`, its lock and its control fifo (read end, and a write end
/// kept so the reader never sees end of file).
fn setup() -> (OwnedFd, OwnedFd) {
    let old = rustix::process::umask(Mode::empty());
    match rustix::fs::mkdir(".s6-svscan", Mode::from_raw_mode(0o700)) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => die_unable(PROG, EXIT_TEMP, b"mkdir", b".s6-svscan", e),
    }
    match rustix::fs::stat(".s6-svscan") {
        Ok(st) if rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir() => {}
        Ok(_) => Msg::fatal(PROG)
            .s(b".s6-svscan exists and is not a directory")
            .die(EXIT_USAGE),
        Err(e) => die_unable(PROG, EXIT_TEMP, b"stat", b".s6-svscan", e),
    }
    let lock = match rustix::fs::open(
        ".s6-svscan/lock",
        OFlags::WRONLY | OFlags::CREATE | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    ) {
        Ok(fd) => fd,
        Err(e) => die_unable(PROG, EXIT_TEMP, b"open", b".s6-svscan/lock", e),
    };
    match sys::lock_whole(lock.as_fd(), true) {
        Ok(true) => {}
        Ok(false) => Msg::fatal(PROG)
            .s(b"another instance of rs6-svscan is already running on the same directory")
            .die(EXIT_USAGE),
        Err(e) => die_unable(PROG, EXIT_TEMP, b"lock", b".s6-svscan/lock", e),
    }
    // The lock lives as long as the process.
    core::mem::forget(lock);
    match rustix::fs::mkfifoat(
        rustix::fs::CWD,
        ".s6-svscan/control",
        Mode::from_raw_mode(0o600),
    ) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => die_unable(PROG, EXIT_TEMP, b"mkfifo", b".s6-svscan/control", e),
    }
    rustix::process::umask(old);
    let r = match rustix::fs::open(
        ".s6-svscan/control",
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => die_unable(PROG, EXIT_TEMP, b"open", b".s6-svscan/control", e),
    };
    match rustix::fs::fstat(&r) {
        Ok(st) if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Fifo => {
        }
        _ => Msg::fatal(PROG)
            .s(b".s6-svscan/control exists and is not a fifo")
            .die(EXIT_USAGE),
    }
    let w = match rustix::fs::open(
        ".s6-svscan/control",
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => die_unable(
            PROG,
            EXIT_TEMP,
            b"open",
            b".s6-svscan/control for writing",
            e,
        ),
    };
    (r, w)
}

impl Scanner {
    /// The phases, in a fixed order: reap, exit kills, scan, inactive kills, respawns.
    fn run_phases(&mut self) {
        if self.pending.has(Pending::REAP) {
            self.reap();
        }
        if self.pending.has(Pending::ABORT) {
            finish(b"finish");
        }
        if self.pending.has(Pending::EXIT | Pending::EXIT_HARD) && !self.exiting {
            self.exiting = true;
            let holder = CONSOLE_HOLDER.load(Ordering::Relaxed);
            if holder >= 0 {
                let _ = rustix::stdio::dup2_stdout(sys::borrow_fd(holder));
                let _ = rustix::stdio::dup2_stderr(sys::borrow_fd(holder));
            }
            let hard = self.pending.has(Pending::EXIT_HARD);
            for svc in self.table.services.iter_mut() {
                svc.active = false;
                svc.main.respawn_at = 0;
                svc.log.respawn_at = 0;
                kill(&svc.main, SIGTERM);
                kill(&svc.log, if hard { SIGTERM } else { SIGHUP });
            }
            self.sweep();
        }
        if !self.exiting {
            if self.pending.has(Pending::SCAN) {
                self.scan();
                self.next_rescan = time::now_ms().saturating_add(self.rescan_ms);
            }
            if self
                .pending
                .has(Pending::KILL_INACTIVE | Pending::KILL_INACTIVE_HARD)
            {
                let hard = self.pending.has(Pending::KILL_INACTIVE_HARD);
                for svc in self.table.services.iter().filter(|s| !s.active) {
                    kill(&svc.main, SIGTERM);
                    kill(&svc.log, if hard { SIGTERM } else { SIGHUP });
                }
            }
            self.respawn_due();
        }
        self.pending = Pending::default();
    }

    fn on_signal(&mut self, signo: i32) {
        match signo {
            SIGCHLD => self.pending.set(Pending::REAP),
            SIGALRM => self.pending.set(Pending::SCAN),
            SIGABRT => self.pending.set(Pending::ABORT),
            _ => {
                if let Some((script, default)) = scan::signal(signo) {
                    let mut path: Buf<32> = Buf::new();
                    path.push(b".s6-svscan/").push(script);
                    if spawn_script(&mut path).is_none() {
                        self.pending.set(default);
                    }
                }
            }
        }
    }

    fn read_control(&mut self, control: &OwnedFd) {
        let mut buf = [0u8; CONTROL_BUF];
        loop {
            match rustix::io::read(control, &mut buf) {
                Ok(0) | Err(Errno::AGAIN) => return,
                Ok(n) => {
                    for &b in buf.get(..n).unwrap_or(&[]) {
                        match scan::control(b) {
                            Some(bits) => self.pending.set(bits),
                            None => Msg::warn(PROG)
                                .s(b"received unknown control command: ")
                                .s(&[b])
                                .emit(),
                        }
                    }
                }
                Err(Errno::INTR) => {}
                Err(e) => {
                    warn_unable(PROG, b"read", b".s6-svscan/control", e);
                    return;
                }
            }
        }
    }

    /// Reaps every dead child; orphans (as process 1) are simply collected.
    fn reap(&mut self) {
        loop {
            match rustix::process::wait(WaitOptions::NOHANG) {
                Ok(Some((pid, _))) => {
                    let Some((i, which)) = self.table.by_pid(pid.as_raw_nonzero().get()) else {
                        continue;
                    };
                    let Some(svc) = self.table.services.get_mut(i) else {
                        continue;
                    };
                    let slot = match which {
                        Which::Main => &mut svc.main,
                        Which::Log => &mut svc.log,
                    };
                    slot.pid = 0;
                    if svc.active {
                        slot.respawn_at = time::now_ms().saturating_add(scan::RESPAWN_MS);
                    }
                }
                Ok(None) | Err(Errno::CHILD) => break,
                Err(Errno::INTR) => {}
                Err(e) => {
                    warn_unable(PROG, b"wait", b"for children", e);
                    break;
                }
            }
        }
        self.sweep();
    }

    /// Closes the pipes and forgets the inactive services whose supervisors
    /// are gone. The write end goes first, when the service's supervisor is
    /// gone, so that the logger reads what is left, then end of file; the
    /// read end goes when the logger's supervisor is gone too.
    fn sweep(&mut self) {
        let mut rescan = false;
        for svc in self.table.services.iter_mut().filter(|s| !s.active) {
            if svc.main.pid == 0 {
                svc.pipe_w = None;
            }
            if svc.idle() {
                svc.pipe_r = None;
                rescan |= svc.rescan_when_gone;
            }
        }
        self.table.services.retain(|s| s.active || !s.idle());
        if rescan {
            self.pending.set(Pending::SCAN);
        }
    }

    fn scan(&mut self) {
        for svc in self.table.services.iter_mut() {
            svc.active = false;
        }
        let dir = match rustix::fs::open(
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(e) => {
                warn_unable(PROG, b"open", b"the scan directory", e);
                self.keep_all_active();
                return;
            }
        };
        let mut space = [core::mem::MaybeUninit::<u8>::uninit(); 4096];
        let mut entries = rustix::fs::RawDir::new(&dir, &mut space);
        while let Some(entry) = entries.next() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    warn_unable(PROG, b"read", b"the scan directory", e);
                    self.keep_all_active();
                    break;
                }
            };
            let name = entry.file_name().to_bytes();
            if !scan::is_candidate(name) {
                continue;
            }
            let st = match rustix::fs::statat(&dir, name, rustix::fs::AtFlags::empty()) {
                Ok(st) => st,
                Err(Errno::NOENT) | Err(Errno::LOOP) => continue,
                Err(e) => {
                    warn_unable(PROG, b"stat", name, e);
                    continue;
                }
            };
            if !rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir() {
                continue;
            }
            let (dev, ino) = (st.st_dev, st.st_ino);
            if let Some(i) = self.table.find(dev, ino) {
                if let Some(svc) = self.table.services.get_mut(i) {
                    if svc.dying() {
                        svc.rescan_when_gone = true;
                    } else {
                        svc.reactivate(time::now_ms());
                    }
                }
                continue;
            }
            self.add(name, dev, ino, &dir);
        }
    }

    /// A directory that cannot be read does not make every service inactive.
    fn keep_all_active(&mut self) {
        for svc in self.table.services.iter_mut() {
            svc.active = true;
        }
    }

    fn add(&mut self, name: &[u8], dev: u64, ino: u64, dir: &OwnedFd) {
        if !self.table.has_room() {
            Msg::warn(PROG)
                .s(b"unable to start supervisor for ")
                .s(name)
                .s(b": too many services")
                .emit();
            return;
        }
        let Some(name_buf) = Buf::from(name) else {
            return;
        };
        let mut logged = false;
        if name != scan::CATCHALL_LOGGER {
            let mut log: Buf<{ scan::NAME_MAX + 8 }> = Buf::new();
            log.push(name).push(b"/log");
            if let Ok(st) = rustix::fs::statat(dir, log.as_bytes(), rustix::fs::AtFlags::empty()) {
                logged = rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir();
            }
        }
        let (pipe_r, pipe_w) = if logged {
            match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
                Ok((r, w)) => (Some(r), Some(w)),
                Err(e) => {
                    warn_unable(PROG, b"create a pipe for", name, e);
                    return;
                }
            }
        } else {
            (None, None)
        };
        let svc = Service {
            dev,
            ino,
            name: name_buf,
            active: true,
            main: Slot::default(),
            log: Slot::default(),
            pipe_r,
            pipe_w,
            logged,
            rescan_when_gone: false,
        };
        if self.table.services.push(svc).is_err() {
            return;
        }
        if let Some(svc) = self.table.services.last_mut() {
            // The logger first, so that the service's output has a reader.
            if svc.logged {
                start(svc, Which::Log);
            }
            start(svc, Which::Main);
        }
    }

    fn respawn_due(&mut self) {
        let now = time::now_ms();
        for svc in self.table.services.iter_mut().filter(|s| s.active) {
            if svc.logged
                && svc.log.pid == 0
                && svc.log.respawn_at != 0
                && svc.log.respawn_at <= now
            {
                start(svc, Which::Log);
            }
            if svc.main.pid == 0 && svc.main.respawn_at != 0 && svc.main.respawn_at <= now {
                start(svc, Which::Main);
            }
        }
    }
}

fn kill(slot: &Slot, signo: i32) {
    if let Some(pid) = rustix::process::Pid::from_raw(slot.pid) {
        let _ = sig::send(pid, signo);
    }
}

/// Starts the supervisor of `svc` (or of `svc/log`): cwd is the scan
/// directory, the pipe end is its stdout (service) or stdin (logger). On
/// failure it is tried again after the respawn delay.
fn start(svc: &mut Service, which: Which) {
    let mut arg: Buf<{ scan::NAME_MAX + 8 }> = Buf::new();
    arg.push(svc.name.as_bytes());
    if which == Which::Log {
        arg.push(b"/log");
    }
    let now = time::now_ms();
    let slot_pid = match sys::fork() {
        Ok(Fork::Parent(pid)) => pid.as_raw_nonzero().get(),
        Ok(Fork::Child) => {
            sig::reset_for_child();
            let fd = match which {
                Which::Main => svc.pipe_w.as_ref().map(rustix::stdio::dup2_stdout),
                Which::Log => svc.pipe_r.as_ref().map(rustix::stdio::dup2_stdin),
            };
            if let Some(Err(e)) = fd {
                die_unable(PROG, EXIT_TEMP, b"dup2 the log pipe for", arg.as_bytes(), e);
            }
            let holder = CONSOLE_HOLDER.load(Ordering::Relaxed);
            if holder >= 0 && which == Which::Main && svc.name.as_bytes() == scan::CATCHALL_LOGGER {
                // Not the fifo it reads: the catch-all logger must see end of
                // file once everything else has let go of it.
                let _ = rustix::stdio::dup2_stdout(sys::borrow_fd(holder));
                let _ = rustix::stdio::dup2_stderr(sys::borrow_fd(holder));
            }
            let Some(a) = arg.c_str() else {
                sys::exit(EXIT_USAGE)
            };
            let e = sys::execvp(SUPERVISE, &[SUPERVISE, a]);
            die_unable(PROG, EXIT_TEMP, b"exec", SUPERVISE.to_bytes(), e)
        }
        Err(e) => {
            warn_unable(PROG, b"spawn a supervisor for", arg.as_bytes(), e);
            0
        }
    };
    let slot = match which {
        Which::Main => &mut svc.main,
        Which::Log => &mut svc.log,
    };
    slot.pid = slot_pid;
    slot.respawn_at = if slot_pid == 0 {
        now.saturating_add(scan::RESPAWN_MS)
    } else {
        0
    };
}

/// Spawns a diversion script, not waited for (it is reaped like any child).
/// None when it could not be started (absent, not executable, fork failed).
fn spawn_script<const N: usize>(path: &mut Buf<N>) -> Option<()> {
    let p = path.c_str()?;
    rustix::fs::access(p, rustix::fs::Access::EXEC_OK).ok()?;
    match sys::fork() {
        Ok(Fork::Parent(_)) => Some(()),
        Ok(Fork::Child) => {
            sig::reset_for_child();
            let e = sys::execvp(p, &[p]);
            die_unable(PROG, EXIT_TEMP, b"exec", p.to_bytes(), e)
        }
        Err(_) => None,
    }
}

/// Execs `.s6-svscan/NAME` (finish or crash); exits 0 (finish) or 111
/// (crash) when it cannot.
fn finish(name: &[u8]) -> ! {
    let mut path: Buf<32> = Buf::new();
    path.push(b".s6-svscan/").push(name);
    if let Some(p) = path.c_str() {
        sig::reset_for_child();
        let e = sys::execvp(p, &[p]);
        if e != Errno::NOENT {
            warn_unable(PROG, b"exec", p.to_bytes(), e);
        }
    }
    sys::exit(if name == b"finish" { 0 } else { EXIT_TEMP })
}

/// A fatal error after setup: exec `.s6-svscan/crash` (s6-svscan "must not die").
fn crash(verb: &[u8], e: Errno) -> ! {
    warn_unable(PROG, verb, b"(crashing)", e);
    finish(b"crash")
}
