//! rs6-shutdown: the orderly way down. rs6-init installs it as the
//! `.s6-svscan/SIG<NAME>` diversion scripts, so a signal to process 1
//! (`poweroff` sends SIGUSR2) runs it: it records the action, runs
//! `rc.shutdown`, tells rs6-svscan to bring every service down and exit
//! (`t`: supervisors stop their services, `finish` scripts run, loggers drain
//! their pipes), and after the grace time sends TERM then KILL to whatever
//! still runs. rs6-svscan then execs `.s6-svscan/finish` (rs6-init), which
//! syncs, unmounts and reboots. Manual: doc/rs6-shutdown.md.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use core::ffi::CStr;
use init::shutdown::{ACTION_FILE, Action};
use rt::err::{EXIT_TEMP, Msg, die_usage, warn_unable};
use rt::sys::{self, Fork};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::WaitOptions;

rt::entry!(main);

const PROG: &[u8] = b"rs6-shutdown";
const USAGE: &[u8] = b"halt|poweroff|reboot";
/// After TERM, how long the stragglers have before KILL.
const TERM_TO_KILL_MS: u64 = 1000;

fn main(args: rt::Args) -> u8 {
    let name = args.get(0).map(CStr::to_bytes).unwrap_or(b"");
    let base = name.rsplit(|&c| c == b'/').next().unwrap_or(name);
    let action = match args.get(1) {
        Some(word) => match Action::from_word(word.to_bytes()) {
            Some(a) => a,
            None => die_usage(PROG, USAGE),
        },
        None if base.starts_with(b"SIG") => match Action::for_script(base) {
            Some(a) => a,
            // SIGQUIT, SIGWINCH: nothing to do on an rs6 image.
            None => return 0,
        },
        None => die_usage(PROG, USAGE),
    };
    let (cfg, _, _) = init::cmdline::load();
    if !claim(action) {
        Msg::info(PROG)
            .s(b"a shutdown is already in progress")
            .emit();
        return 0;
    }
    Msg::info(PROG)
        .s(action.word())
        .s(b": stopping services")
        .emit();
    run_and_wait(&cfg.rc_shutdown);
    if let Err(e) = rt::ctl::send(cfg.scandir.as_bytes(), b".s6-svscan", b"t") {
        Msg::warn(PROG)
            .s(b"unable to tell rs6-svscan to stop: ")
            .s(match e {
                rt::ctl::CtlError::NotListening => b"not listening",
                rt::ctl::CtlError::Broken(_) => b"bad .s6-svscan directory",
                rt::ctl::CtlError::Sys(e) => sys::strerror(e),
            })
            .emit();
    }
    // The supervision tree goes down, the catch-all logger with it: what
    // follows goes to the console itself (else it could be lost, and this
    // process would keep the logger's fifo open, so it never saw end of file).
    if let Ok(fd) = rustix::fs::open(
        c"/dev/console",
        OFlags::WRONLY | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        let _ = rustix::stdio::dup2_stdout(&fd);
        let _ = rustix::stdio::dup2_stderr(&fd);
    }
    // If every service stops within the grace time, stage 3 ends this
    // process with everything else; otherwise it ends the stragglers.
    sleep_ms(u64::from(cfg.grace_ms));
    Msg::info(PROG)
        .s(b"grace time over: sending TERM to every process")
        .emit();
    let _ = rt::sig::send_all(rt::sig::SIGTERM);
    let _ = rt::sig::send_all(rt::sig::SIGCONT);
    sleep_ms(TERM_TO_KILL_MS);
    Msg::info(PROG).s(b"sending KILL to every process").emit();
    let _ = rt::sig::send_all(rt::sig::SIGKILL);
    0
}

/// Records the action for stage 3; false if another shutdown already did.
fn claim(action: Action) -> bool {
    match rustix::fs::open(
        ACTION_FILE,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    ) {
        Ok(fd) => {
            let mut line: rt::Buf<16> = rt::Buf::new();
            line.push(action.word()).push(b"\n");
            if let Err(e) = rt::err::write_all(rustix::fd::AsRawFd::as_raw_fd(&fd), line.as_bytes())
            {
                warn_unable(PROG, b"write", ACTION_FILE, e);
            }
            true
        }
        Err(Errno::EXIST) => false,
        Err(e) => {
            // Going down matters more than the record: stage 3 then reboots.
            warn_unable(PROG, b"create", ACTION_FILE, e);
            true
        }
    }
}

fn run_and_wait(path: &rt::Buf<{ init::cmdline::PATH_MAX }>) {
    let mut p = path.clone();
    let Some(p) = p.c_str() else { return };
    if rustix::fs::access(p, rustix::fs::Access::EXEC_OK).is_err() {
        return;
    }
    match sys::fork() {
        Ok(Fork::Parent(pid)) => {
            let _ = rustix::process::waitpid(Some(pid), WaitOptions::empty());
        }
        Ok(Fork::Child) => {
            rt::sig::reset_for_child();
            let e = sys::execve_env(p, &[p], &init::stage1::ENV);
            Msg::fatal(PROG)
                .unable(b"exec", p.to_bytes())
                .errno(e)
                .die(EXIT_TEMP)
        }
        Err(e) => warn_unable(PROG, b"fork", p.to_bytes(), e),
    }
}

fn sleep_ms(ms: u64) {
    let t = rustix::time::Timespec {
        tv_sec: i64::try_from(ms / 1000).unwrap_or(0),
        tv_nsec: i64::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    };
    let _ = rustix::thread::nanosleep(&t);
}
