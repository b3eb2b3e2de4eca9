//! rs6-init: process 1. Stage 1 (mounts, console, the scan directory), then
//! `exec rs6-svscan`, which stays process 1; a stage-2 child runs the image's
//! `rc.init` and the console program once the scanner listens. Installed as
//! `.s6-svscan/finish` and `.s6-svscan/crash`, it is stage 3 (TERM, grace,
//! KILL, sync, unmount, reboot). Without rs6-svscan it supervises rc.init and
//! the console program itself. Settings: `init::cmdline`; manual: doc/rs6-init.md.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use core::ffi::CStr;
use init::cmdline::Config;
use init::scan;
use init::shutdown::{Action, STAGE3, Step};
use init::stage1::{ENV, MOUNTS};
use rt::Buf;
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

fn main(args: rt::Args) -> u8 {
    if rustix::process::getpid() != Pid::INIT {
        Msg::fatal(PROG)
            .s(b"must run as process 1")
            .die(rt::err::EXIT_USAGE);
    }
    let name = args.get(0).map(CStr::to_bytes).unwrap_or(b"");
    let base = name.rsplit(|&c| c == b'/').next().unwrap_or(name);
    if base == b"finish" || base == b"crash" {
        // rs6-svscan exec'd us as .s6-svscan/finish or crash: stage 3.
        let cfg = read_config();
        let action = stage3_action(base);
        Msg::info(PROG).s(b"stage 3: ").s(action.word()).emit();
        let sfd = sig::catch(&[SIGCHLD]).ok();
        let _ = sig::send_all(SIGTERM);
        let _ = sig::send_all(SIGCONT);
        let _ = wait_children(
            sfd.as_ref(),
            time::now_ms().saturating_add(u64::from(cfg.grace_ms)),
        );
        stage3(action, &cfg, sfd.as_ref());
    }
    rustix::process::umask(Mode::from_raw_mode(0o022));
    mount_all();
    console_on_stdio();
    let cfg = read_config();
    if cfg.rw {
        remount_root_rw();
    }
    // Ctrl-Alt-Del: the kernel sends SIGINT to process 1 instead of rebooting.
    if let Err(e) = rustix::system::reboot(rustix::system::RebootCommand::CadOff) {
        warn_unable(PROG, b"disable", b"ctrl-alt-del reboot", e);
    }
    if let Some((mut svscan, catchall)) = prepare_scandir(&cfg) {
        let child = stage2_child(&cfg);
        let mut dir = cfg.scandir.clone();
        let mut holder: Buf<16> = Buf::new();
        if catchall && let Some(fd) = catchall_on_stdio(&cfg) {
            holder.push(b"-X").push_u64(u64::try_from(fd).unwrap_or(0));
        }
        if let (Some(d), Some(p)) = (dir.c_str(), svscan.c_str()) {
            let e = match holder.c_str() {
                Some(x) if !x.is_empty() => {
                    sys::execve_env(p, &[c"rs6-svscan", x, c"-c10000", d], &ENV)
                }
                _ => sys::execve_env(p, &[c"rs6-svscan", c"-c10000", d], &ENV),
            };
            warn_unable(PROG, b"exec", p.to_bytes(), e);
        }
        if let Some(pid) = child {
            let _ = sig::send(pid, SIGKILL);
        }
        Msg::warn(PROG).s(b"running without a scanner").emit();
    }
    // No scanner: process 1 runs rc.init and the console program itself.
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
            Step::Unmount => {
                // rs6-svscan left process 1 in the scan directory, on /run.
                let _ = rustix::process::chdir("/");
                unmount_all()
            }
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
    if !wait_children(sfd, time::now_ms().saturating_add(KILL_REAP_MS)) {
        Msg::warn(PROG)
            .s(b"processes left after KILL: going on")
            .emit();
    }
}

fn mount_all() {
    for m in MOUNTS {
        match rustix::fs::mkdir(m.target, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => warn_unable(PROG, b"mkdir", m.target, e),
        }
        if is_mount_point(m.target) {
            continue;
        }
        match rustix::mount::mount(m.source, m.target, m.fstype, m.flags, m.data) {
            Ok(()) | Err(Errno::BUSY) => {}
            Err(e) => warn_unable(PROG, b"mount", m.target, e),
        }
    }
}

/// Whether `path` is already a mount point (its device is not its parent's):
/// an initramfs may have moved /dev, /proc and /sys onto the new root, and a
/// second proc or tmpfs would stack on the first instead of failing (EBUSY).
fn is_mount_point(path: &[u8]) -> bool {
    let cut = path.iter().rposition(|&c| c == b'/').unwrap_or(0);
    let parent = match path.get(..cut) {
        Some(p) if !p.is_empty() => p,
        _ => b"/",
    };
    match (rustix::fs::stat(path), rustix::fs::stat(parent)) {
        (Ok(a), Ok(b)) => a.st_dev != b.st_dev,
        _ => false,
    }
}

/// `rs6.rw=1`: the root was mounted read-only (the kernel's `ro`, or an
/// initramfs); make it writable before any service starts.
fn remount_root_rw() {
    if let Err(e) = rustix::mount::mount_remount(c"/", rustix::mount::MountFlags::empty(), c"") {
        warn_unable(PROG, b"remount read-write", b"/", e);
    }
}

/// Unmounts every file system but the kernel's and the root, newest first
/// (a busy one is remounted read-only instead), then remounts the root
/// read-only, so that a disk is left clean. An initramfs root refuses, which
/// is fine.
fn unmount_all() {
    let mut text = [0u8; 8192];
    let n = match rustix::fs::open(
        c"/proc/self/mounts",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => read_all(&fd, &mut text),
        Err(e) => {
            warn_unable(PROG, b"open", b"/proc/self/mounts", e);
            0
        }
    };
    let points = init::stage1::mount_points(text.get(..n).unwrap_or(&[]));
    for p in points.iter().rev() {
        let p = p.as_bytes();
        if init::stage1::KEEP_MOUNTED.contains(&p) {
            continue;
        }
        match rustix::mount::unmount(p, rustix::mount::UnmountFlags::empty()) {
            Ok(()) | Err(Errno::INVAL) | Err(Errno::NOENT) => {}
            Err(Errno::BUSY) => {
                if let Err(e) =
                    rustix::mount::mount_remount(p, rustix::mount::MountFlags::RDONLY, c"")
                {
                    warn_unable(PROG, b"remount read-only", p, e);
                }
            }
            Err(e) => warn_unable(PROG, b"unmount", p, e),
        }
    }
    let _ = rustix::mount::mount_remount(c"/", rustix::mount::MountFlags::RDONLY, c"");
}

/// Reads until end of file or `buf` is full.
fn read_all(fd: &OwnedFd, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..) {
        match rustix::io::read(fd, rest) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(Errno::INTR) => {}
            Err(_) => break,
        }
    }
    n
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
    let (cfg, report, err) = init::cmdline::load();
    if let Some(e) = err {
        warn_unable(PROG, b"read", b"/proc/cmdline", e);
    }
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

/// Where stage 1 looks for rs6's programs (the PATH it gives everyone).
const BIN_DIRS: [&[u8]; 4] = [b"/bin", b"/sbin", b"/usr/bin", b"/usr/sbin"];
/// Deepest directory nesting copied from the service definitions.
const COPY_DEPTH: u32 = 8;

type PathBuf = Buf<{ init::cmdline::PATH_MAX }>;

/// The path of an executable `name` in [`BIN_DIRS`].
fn find_prog(name: &[u8]) -> Option<PathBuf> {
    BIN_DIRS.iter().find_map(|dir| {
        let mut p = PathBuf::new();
        (p.try_push(dir) && p.try_push(b"/") && p.try_push(name)).then_some(())?;
        rustix::fs::access(p.as_bytes(), rustix::fs::Access::EXEC_OK).ok()?;
        Some(p)
    })
}

fn join(dir: &[u8], name: &[u8]) -> Option<PathBuf> {
    let mut p = PathBuf::new();
    (p.try_push(dir) && p.try_push(b"/") && p.try_push(name)).then_some(p)
}

/// Stage 1's scan directory: the service definitions copied in, and
/// `.s6-svscan/` with its control fifo (made here so that the stage-2 child
/// can wait for the scanner by opening it), the diversion scripts (links to
/// rs6-shutdown) and `finish`/`crash` (links to this program), and the
/// catch-all logger's service when rs6-log is installed. Returns the
/// scanner's path and whether there is a catch-all logger, or None when there
/// is no scanner to run.
fn prepare_scandir(cfg: &Config) -> Option<(PathBuf, bool)> {
    let svscan = find_prog(b"rs6-svscan")?;
    let scandir = cfg.scandir.as_bytes();
    mkdir_p(scandir);
    mkdir_p(init::shutdown::STATE_DIR);
    mkdir_p(CATCHALL_LOGDIR);
    copy_tree(cfg.sv.as_bytes(), scandir, 0);
    let catchall = find_prog(b"rs6-log").is_some() && make_catchall(scandir);
    let ctl = join(scandir, b".s6-svscan")?;
    match rustix::fs::mkdir(ctl.as_bytes(), Mode::from_raw_mode(0o700)) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => warn_unable(PROG, b"mkdir", ctl.as_bytes(), e),
    }
    let fifo = join(ctl.as_bytes(), b"control")?;
    match rustix::fs::mkfifoat(rustix::fs::CWD, fifo.as_bytes(), Mode::from_raw_mode(0o600)) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => warn_unable(PROG, b"mkfifo", fifo.as_bytes(), e),
    }
    let shutdown = find_prog(b"rs6-shutdown");
    for script in init::shutdown::SCRIPTS {
        if let (Some(target), Some(link)) = (shutdown.as_ref(), join(ctl.as_bytes(), script)) {
            link_once(target.as_bytes(), link.as_bytes());
        }
    }
    let mut exe = [0u8; 256];
    if let Ok(n) = read_link(b"/proc/self/exe", &mut exe) {
        let me = exe.get(..n).unwrap_or(&[]);
        for name in [&b"finish"[..], b"crash"] {
            if let Some(link) = join(ctl.as_bytes(), name) {
                link_once(me, link.as_bytes());
            }
        }
    }
    Some((svscan, catchall))
}

/// Where the catch-all logger writes.
const CATCHALL_LOGDIR: &[u8] = b"/run/log/rs6";
/// The catch-all logger's `run`: it reads the fifo that process 1's stdout
/// and stderr point to, stamps every line into /run/log/rs6 and copies it to
/// the console (its stderr is rs6-svscan's `-X` console holder).
const CATCHALL_RUN: &[u8] = b"#!/bin/sh\n\
# rs6's catch-all logger, made by rs6-init: what process 1, the supervisors\n\
# and unlogged services print goes to /run/log/rs6 and to the console.\n\
# -p: TERM at shutdown does not stop it; it drains the fifo until end of file.\n\
exec <fifo 1>&2\n\
exec rs6-log -p -- t n10 s1000000 /run/log/rs6 1\n";

/// Makes `SCANDIR/s6-svscan-log` (run script and fifo) unless the image
/// brought its own. True when the catch-all logger is there.
fn make_catchall(scandir: &[u8]) -> bool {
    let Some(dir) = join(scandir, scan::CATCHALL_LOGGER) else {
        return false;
    };
    match rustix::fs::mkdir(dir.as_bytes(), Mode::from_raw_mode(0o755)) {
        Ok(()) => {}
        // The image's own catch-all logger: it must read ./fifo.
        Err(Errno::EXIST) => {
            return join(dir.as_bytes(), b"fifo")
                .is_some_and(|f| rustix::fs::stat(f.as_bytes()).is_ok());
        }
        Err(e) => {
            warn_unable(PROG, b"mkdir", dir.as_bytes(), e);
            return false;
        }
    }
    let (Some(run), Some(fifo)) = (join(dir.as_bytes(), b"run"), join(dir.as_bytes(), b"fifo"))
    else {
        return false;
    };
    let written = rustix::fs::open(
        run.as_bytes(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o755),
    )
    .and_then(|fd| rt::err::write_all(rustix::fd::AsRawFd::as_raw_fd(&fd), CATCHALL_RUN));
    if let Err(e) = written {
        warn_unable(PROG, b"write", run.as_bytes(), e);
        return false;
    }
    match rustix::fs::mkfifoat(rustix::fs::CWD, fifo.as_bytes(), Mode::from_raw_mode(0o600)) {
        Ok(()) | Err(Errno::EXIST) => true,
        Err(e) => {
            warn_unable(PROG, b"mkfifo", fifo.as_bytes(), e);
            false
        }
    }
}

/// Points stdout and stderr at the catch-all logger's fifo (opened
/// read-write: it never blocks, and the fifo never sees end of file while
/// process 1 holds it). Returns an fd on the console for rs6-svscan's `-X`.
fn catchall_on_stdio(cfg: &Config) -> Option<i32> {
    let fifo = join(cfg.scandir.as_bytes(), b"s6-svscan-log/fifo")?;
    let console = rustix::io::dup(sys::borrow_fd(1)).ok()?;
    let w = match rustix::fs::open(
        fifo.as_bytes(),
        OFlags::RDWR | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => {
            warn_unable(PROG, b"open", fifo.as_bytes(), e);
            return None;
        }
    };
    let _ = rustix::stdio::dup2_stdout(&w);
    let _ = rustix::stdio::dup2_stderr(&w);
    let fd = rustix::fd::AsRawFd::as_raw_fd(&console);
    core::mem::forget(console);
    Some(fd)
}

fn read_link(path: &[u8], buf: &mut [u8]) -> Result<usize, Errno> {
    let n = rustix::fs::readlinkat_raw(rustix::fs::CWD, path, &mut *buf)?;
    if n == 0 || n >= buf.len() {
        Err(Errno::NAMETOOLONG)
    } else {
        Ok(n)
    }
}

/// Makes `link` a symlink to `target` unless something is there already
/// (an image may ship its own script).
fn link_once(target: &[u8], link: &[u8]) {
    match rustix::fs::symlink(target, link) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => warn_unable(PROG, b"symlink", link, e),
    }
}

/// `mkdir -p` for the directories stage 1 needs (mode 0755).
fn mkdir_p(path: &[u8]) {
    let mut p = PathBuf::new();
    for part in path.split(|&c| c == b'/').filter(|c| !c.is_empty()) {
        p.push(b"/").push(part);
        match rustix::fs::mkdir(p.as_bytes(), Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                warn_unable(PROG, b"mkdir", p.as_bytes(), e);
                return;
            }
        }
    }
}

/// Copies the tree `src` into `dst` (files with their modes, directories,
/// symlinks as links). Failures are warnings: a service that could not be
/// copied is a service that does not start, not a machine that does not boot.
fn copy_tree(src: &[u8], dst: &[u8], depth: u32) {
    if depth > COPY_DEPTH {
        Msg::warn(PROG)
            .s(b"not copying ")
            .s(src)
            .s(b": too deep")
            .emit();
        return;
    }
    let dir = match rustix::fs::open(
        src,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        // An image without services: an empty scan directory.
        Err(Errno::NOENT) if depth == 0 => return,
        Err(e) => {
            warn_unable(PROG, b"open", src, e);
            return;
        }
    };
    let mut space = [core::mem::MaybeUninit::<u8>::uninit(); 2048];
    let mut entries = rustix::fs::RawDir::new(&dir, &mut space);
    while let Some(Ok(entry)) = entries.next() {
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let (Some(from), Some(to)) = (join(src, name), join(dst, name)) else {
            Msg::warn(PROG)
                .s(b"not copying ")
                .s(name)
                .s(b": path too long")
                .emit();
            continue;
        };
        let st = match rustix::fs::lstat(from.as_bytes()) {
            Ok(st) => st,
            Err(e) => {
                warn_unable(PROG, b"stat", from.as_bytes(), e);
                continue;
            }
        };
        let mode = Mode::from_raw_mode(st.st_mode & 0o7777);
        match rustix::fs::FileType::from_raw_mode(st.st_mode) {
            rustix::fs::FileType::Directory => match rustix::fs::mkdir(to.as_bytes(), mode) {
                Ok(()) | Err(Errno::EXIST) => copy_tree(from.as_bytes(), to.as_bytes(), depth + 1),
                Err(e) => warn_unable(PROG, b"mkdir", to.as_bytes(), e),
            },
            rustix::fs::FileType::Symlink => {
                let mut target = [0u8; 256];
                if let Ok(n) = read_link(from.as_bytes(), &mut target) {
                    link_once(target.get(..n).unwrap_or(&[]), to.as_bytes());
                }
            }
            rustix::fs::FileType::RegularFile => copy_file(from.as_bytes(), to.as_bytes(), mode),
            // Fifos and devices have no place in a service definition.
            _ => {}
        }
    }
}

fn copy_file(from: &[u8], to: &[u8], mode: Mode) {
    let r = match rustix::fs::open(from, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) => return warn_unable(PROG, b"open", from, e),
    };
    let w = match rustix::fs::open(
        to,
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC,
        mode,
    ) {
        Ok(fd) => fd,
        Err(e) => return warn_unable(PROG, b"create", to, e),
    };
    let mut buf = [0u8; 4096];
    loop {
        match rustix::io::read(&r, &mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if let Err(e) = rt::err::write_all(
                    rustix::fd::AsRawFd::as_raw_fd(&w),
                    buf.get(..n).unwrap_or(&[]),
                ) {
                    return warn_unable(PROG, b"write", to, e);
                }
            }
            Err(Errno::INTR) => {}
            Err(e) => return warn_unable(PROG, b"read", from, e),
        }
    }
    // The umask may have cut the mode: the image's modes are what counts.
    let _ = rustix::fs::fchmod(&w, mode);
}

/// Stage 2, in a child of process 1: wait until the scanner listens on its
/// control fifo (opening a fifo for writing blocks until it has a reader),
/// run `rc.init`, then the console program; when that ends, ask process 1 for
/// the configured action, as `poweroff` would.
fn stage2_child(cfg: &Config) -> Option<Pid> {
    match sys::fork() {
        Ok(Fork::Parent(pid)) => Some(pid),
        Ok(Fork::Child) => {
            sig::reset_for_child();
            if let Some(fifo) = join(cfg.scandir.as_bytes(), b".s6-svscan/control") {
                let _ = rustix::fs::open(
                    fifo.as_bytes(),
                    OFlags::WRONLY | OFlags::CLOEXEC,
                    Mode::empty(),
                );
            }
            if let Some(pid) = spawn(cfg.rc.clone().c_str(), false) {
                let _ = rustix::process::waitpid(Some(pid), WaitOptions::empty());
            }
            if let Some(pid) = spawn(cfg.script.clone().c_str(), true) {
                let _ = rustix::process::waitpid(Some(pid), WaitOptions::empty());
            }
            let sig = match cfg.on_exit {
                Action::Halt => rt::sig::SIGUSR1,
                Action::Poweroff => rt::sig::SIGUSR2,
                Action::Reboot => rt::sig::SIGTERM,
            };
            let _ = sig::send(Pid::INIT, sig);
            sys::exit(0)
        }
        Err(e) => {
            warn_unable(PROG, b"fork", b"stage 2", e);
            None
        }
    }
}

/// The action rs6-shutdown recorded; without one, rs6-svscan ended on its
/// own (or crashed): reboot, the safe choice for an unattended device.
fn stage3_action(base: &[u8]) -> Action {
    let mut buf = [0u8; 16];
    let word = rustix::fs::open(
        init::shutdown::ACTION_FILE,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()
    .and_then(|fd| rustix::io::read(&fd, &mut buf).ok())
    .map(|n| rt::buf::first_line(buf.get(..n).unwrap_or(&[])));
    match word.and_then(Action::from_word) {
        Some(a) => a,
        None => {
            Msg::warn(PROG)
                .s(b"rs6-svscan ran ")
                .s(base)
                .s(b" without a shutdown request: rebooting")
                .emit();
            Action::Reboot
        }
    }
}

/// Reaps children until none is left (true) or `deadline` (monotonic ms)
/// passes (false).
fn wait_children(sfd: Option<&OwnedFd>, deadline: u64) -> bool {
    loop {
        match rustix::process::wait(WaitOptions::NOHANG) {
            Ok(Some(_)) | Err(Errno::INTR) => continue,
            Err(_) => return true,
            Ok(None) => {}
        }
        if time::now_ms() >= deadline {
            return false;
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
