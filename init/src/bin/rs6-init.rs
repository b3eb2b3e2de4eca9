//! rs6-init: process 1. Stage 1 (mounts, console), the image's `rc.init`, the
//! console program, orphan reaping, and stage 3 (TERM, grace, KILL, sync,
//! unmount, reboot). Settings: `init::cmdline`; manual: doc/rs6-init.md.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use core::ffi::CStr;
use init::cmdline::Config;
use init::shutdown::{Action, STAGE3, Step};
use init::stage1::{ENV, MOUNTS};
use rt::err::{Msg, warn_unable};
use rt::sig::{
    self, SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGPWR, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
};
use rt::sys::{self, Fork};
use rt::time;
use rustix::event::{PollFd, PollFlags, poll};
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Pid, WaitOptions};

rt::entry!(main, pid1);

const PROG: &[u8] = b"rs6-init";

/// After KILL, how long to keep reaping before going on (processes stuck in
/// uninterruptible sleep must not hold the shutdown forever).
const KILL_REAP_MS: u64 = 1000;

/// Where process 1 is in its life.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// `rc.init` is running (its pid).
    Rc(Pid),
    /// The console program is running (its pid).
    Console(Pid),
    /// Stage 3 has begun: TERM was sent; KILL at the deadline (monotonic ms).
    Stopping(Action, u64),
}

fn main(_args: rt::Args) -> u8 {
    if rustix::process::getpid() != Pid::INIT {
        Msg::fatal(PROG)
            .s(b"must run as process 1")
            .die(rt::err::EXIT_USAGE);
    }
    rustix::process::umask(Mode::from_raw_mode(0o022));
    mount_all();
    console_on_stdio();
    let cfg = read_config();
    // Ctrl-Alt-Del: the kernel sends SIGINT to process 1 instead of rebooting.
    if let Err(e) = rustix::system::reboot(rustix::system::RebootCommand::CadOff) {
        warn_unable(PROG, b"disable", b"ctrl-alt-del reboot", e);
    }
    let sigs = [
        SIGCHLD, SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGPWR, SIGHUP, SIGQUIT,
    ];
    let sfd = match sig::catch(&sigs) {
        Ok(fd) => fd,
        Err(e) => {
            warn_unable(PROG, b"create", b"signalfd", e);
            stage3(cfg.on_exit, &cfg, None)
        }
    };
    let mut phase = match spawn(cfg.rc.clone().c_str(), false) {
        Some(pid) => Phase::Rc(pid),
        None => start_console(&cfg, &sfd),
    };
    loop {
        let timeout = match phase {
            Phase::Stopping(_, deadline) => Some(time::until(deadline)),
            _ => None,
        };
        let mut fds = [PollFd::new(&sfd, PollFlags::IN)];
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => {
                warn_unable(PROG, b"poll", b"signalfd", e);
                stage3(cfg.on_exit, &cfg, Some(&sfd));
            }
        }
        while let Some(si) = sig::read(&sfd) {
            if si.signo == SIGCHLD {
                phase = reap(phase, &cfg, &sfd);
            } else if let Some(action) = Action::for_signal(si.signo) {
                phase = begin_stop(phase, action, &cfg);
            }
        }
        if let Phase::Stopping(action, deadline) = phase
            && time::now_ms() >= deadline
        {
            stage3(action, &cfg, Some(&sfd));
        }
    }
}

/// Reaps every dead child (orphans included: wait4(-1), not wait4(0)) and
/// moves the phase on when `rc.init` or the console program ended.
fn reap(mut phase: Phase, cfg: &Config, sfd: &OwnedFd) -> Phase {
    loop {
        match rustix::process::wait(WaitOptions::NOHANG) {
            Ok(Some((pid, _status))) => match phase {
                Phase::Rc(rc) if rc == pid => phase = start_console(cfg, sfd),
                Phase::Console(c) if c == pid => {
                    phase = begin_stop(phase, cfg.on_exit, cfg);
                }
                _ => {}
            },
            Ok(None) => return phase,
            Err(Errno::CHILD) => {
                // Nothing left to wait for: stage 3 need not wait out the grace time.
                if let Phase::Stopping(action, _) = phase {
                    stage3(action, cfg, Some(sfd));
                }
                return phase;
            }
            Err(Errno::INTR) => {}
            Err(e) => {
                warn_unable(PROG, b"wait", b"for children", e);
                return phase;
            }
        }
    }
}

fn start_console(cfg: &Config, sfd: &OwnedFd) -> Phase {
    match spawn(cfg.script.clone().c_str(), true) {
        Some(pid) => Phase::Console(pid),
        None => {
            Msg::warn(PROG)
                .s(b"no console program: going to ")
                .s(cfg.on_exit.word())
                .emit();
            stage3(cfg.on_exit, cfg, Some(sfd))
        }
    }
}

/// Starts stage 3: TERM (and CONT) to every process, then wait for the grace time.
fn begin_stop(phase: Phase, action: Action, cfg: &Config) -> Phase {
    if let Phase::Stopping(..) = phase {
        return phase;
    }
    Msg::info(PROG)
        .s(action.word())
        .s(b": sending TERM to every process")
        .emit();
    for step in STAGE3 {
        if step == Step::TermAll {
            let _ = sig::send_all(SIGTERM);
            let _ = sig::send_all(SIGCONT);
        }
    }
    Phase::Stopping(
        action,
        time::now_ms().saturating_add(u64::from(cfg.grace_ms)),
    )
}

/// The rest of stage 3 after the grace time: never returns.
fn stage3(action: Action, _cfg: &Config, sfd: Option<&OwnedFd>) -> ! {
    for step in STAGE3 {
        match step {
            Step::TermAll | Step::Grace => {}
            Step::KillAll => kill_all(sfd),
            Step::Sync => rustix::fs::sync(),
            Step::Unmount => unmount_all(),
            Step::Reboot => {}
        }
    }
    Msg::info(PROG).s(action.word()).emit();
    if let Err(e) = rustix::system::reboot(action.command()) {
        warn_unable(PROG, b"reboot", action.word(), e);
    }
    // reboot(2) failed (or halted without power-off): process 1 must not exit.
    loop {
        let _ = rustix::thread::nanosleep(&rustix::time::Timespec {
            tv_sec: 3600,
            tv_nsec: 0,
        });
    }
}

fn kill_all(sfd: Option<&OwnedFd>) {
    let _ = sig::send_all(SIGKILL);
    let deadline = time::now_ms().saturating_add(KILL_REAP_MS);
    loop {
        match rustix::process::wait(WaitOptions::NOHANG) {
            Ok(Some(_)) | Err(Errno::INTR) => continue,
            Err(_) => return,
            Ok(None) => {}
        }
        if time::now_ms() >= deadline {
            Msg::warn(PROG)
                .s(b"processes left after KILL: going on")
                .emit();
            return;
        }
        let t = time::until(deadline);
        match sfd {
            Some(fd) => {
                let mut fds = [PollFd::new(fd, PollFlags::IN)];
                let _ = poll(&mut fds, Some(&t));
                while sig::read(fd).is_some() {}
            }
            None => {
                let _ = rustix::thread::nanosleep(&rustix::time::Timespec {
                    tv_sec: 0,
                    tv_nsec: 10_000_000,
                });
            }
        }
    }
}

fn mount_all() {
    for m in MOUNTS {
        match rustix::fs::mkdir(m.target, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => warn_unable(PROG, b"mkdir", m.target, e),
        }
        match rustix::mount::mount(m.source, m.target, m.fstype, m.flags, m.data) {
            Ok(()) | Err(Errno::BUSY) => {}
            Err(e) => warn_unable(PROG, b"mount", m.target, e),
        }
    }
}

fn unmount_all() {
    for m in MOUNTS.iter().rev() {
        // /proc, /sys and /dev stay: nothing on them holds data to lose.
        if m.fstype != b"tmpfs" {
            continue;
        }
        match rustix::mount::unmount(m.target, rustix::mount::UnmountFlags::empty()) {
            Ok(()) | Err(Errno::INVAL) => {}
            Err(e) => warn_unable(PROG, b"unmount", m.target, e),
        }
    }
    // The root file system: read-only, so that a disk is left clean. An
    // initramfs (rootfs) refuses, which is fine.
    let _ = rustix::mount::mount_remount(c"/", rustix::mount::MountFlags::RDONLY, c"");
}

/// Opens /dev/console and makes it stdin, stdout and stderr.
fn console_on_stdio() {
    match rustix::fs::open(
        c"/dev/console",
        OFlags::RDWR | OFlags::NOCTTY,
        Mode::empty(),
    ) {
        Ok(fd) => {
            let _ = rustix::stdio::dup2_stdin(&fd);
            let _ = rustix::stdio::dup2_stdout(&fd);
            let _ = rustix::stdio::dup2_stderr(&fd);
        }
        Err(e) => warn_unable(PROG, b"open", b"/dev/console", e),
    }
}

fn read_config() -> Config {
    let mut buf = [0u8; 4096];
    let n = match rustix::fs::open(
        c"/proc/cmdline",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => rustix::io::read(&fd, &mut buf).unwrap_or(0),
        Err(e) => {
            warn_unable(PROG, b"open", b"/proc/cmdline", e);
            0
        }
    };
    let (cfg, report) = Config::parse(buf.get(..n).unwrap_or(&[]));
    if report.bad_words > 0 {
        Msg::warn(PROG)
            .s(b"ignoring ")
            .u(u64::from(report.bad_words))
            .s(b" invalid rs6.* word(s) on the kernel command line")
            .emit();
    }
    cfg
}

/// Forks and execs `path` with the standard environment. With `on_console`,
/// the child gets a session of its own with the console as controlling
/// terminal (so an interactive shell has job control). Returns None if the
/// program does not exist or fork failed (reported).
fn spawn(path: Option<&CStr>, on_console: bool) -> Option<Pid> {
    let path = path?;
    if let Err(e) = rustix::fs::access(path, rustix::fs::Access::EXEC_OK) {
        if e != Errno::NOENT || on_console {
            warn_unable(PROG, b"run", path.to_bytes(), e);
        }
        return None;
    }
    match sys::fork() {
        Ok(Fork::Parent(pid)) => Some(pid),
        Ok(Fork::Child) => {
            sig::reset_for_child();
            if on_console {
                let _ = rustix::process::setsid();
                if let Ok(fd) = rustix::fs::open(c"/dev/console", OFlags::RDWR, Mode::empty()) {
                    let _ = rustix::process::ioctl_tiocsctty(&fd);
                    let _ = rustix::stdio::dup2_stdin(&fd);
                    let _ = rustix::stdio::dup2_stdout(&fd);
                    let _ = rustix::stdio::dup2_stderr(&fd);
                }
            }
            let e = sys::execve_env(path, &[path], &ENV);
            Msg::fatal(PROG)
                .s(b"(child): ")
                .unable(b"exec", path.to_bytes())
                .errno(e)
                .die(rt::err::EXIT_NOEXEC)
        }
        Err(e) => {
            warn_unable(PROG, b"fork", path.to_bytes(), e);
            None
        }
    }
}
