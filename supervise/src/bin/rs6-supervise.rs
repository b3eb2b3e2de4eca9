//! `rs6-supervise DIR`: supervises the service in DIR, as s6-supervise 2.11.
//!
//! Setup (s6's order): chdir, `event/` and `supervise/` (symlinks followed
//! by mkdir of their target), the lock, the control fifo, signals, an empty
//! death tally, the initial status and event `s`. Then one loop around one
//! `poll` (signalfd, control fifo, readiness pipe; timeout = the one pending
//! deadline, or none): each wake-up becomes [`Event`]s, [`Machine::step`]
//! picks the transition and [`Sup::exec`] performs its action. While the
//! service is simply up, nothing is pending and the process makes no system
//! call at all.
//!
//! # References
//! doc/rs6-supervise.md; s6: s6-supervise.html; ../shared/spec/s6-compat.md §1–6.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use core::ffi::{CStr, c_int};
use rt::Buf;
use rt::err::{EXIT_TEMP, Msg};
use rt::sig::{SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGQUIT, SIGSTOP, SIGTERM};
use rt::sys::{Envp, Fork};
use rt::time::{Tain, now_ms};
use rustix::event::{PollFd, PollFlags};
use rustix::fd::OwnedFd;
use rustix::fs::Access;
use rustix::io::Errno;
use rustix::process::WaitOptions;
use supervise::control::Command;
use supervise::dfa::{Action, Event, Machine, State};
use supervise::dtally;
use supervise::servicedir::{self as sd, Setting};
use supervise::setup;
use supervise::spawn;
use supervise::status::{self, Death, Status, death};

rt::entry!(main);

const PROG: &[u8] = b"rs6-supervise";
/// Room for "rs6-supervise DIR (child)" in messages (longer names are cut).
const PROG_MAX: usize = 256;
/// Bytes of `supervise/control` read per system call.
const CONTROL_CHUNK: usize = 64;
/// Bytes of the readiness pipe read per system call (only a newline matters).
const READY_CHUNK: usize = 64;

/// Everything the actions work on, except the DFA's state.
struct Sup {
    /// "rs6-supervise DIR": the prefix of every message.
    prog: Buf<PROG_MAX>,
    /// DIR as given: `run`'s and `finish`'s last argument.
    name: &'static CStr,
    envp: Envp,
    status: Status,
    /// When the loop next wakes up on its own (CLOCK_MONOTONIC ms).
    deadline: Option<u64>,
    /// Earliest restart after a run that became ready (0: none).
    next_start: u64,
    /// `timeout-kill` is armed.
    dying: bool,
    /// Read end of the readiness pipe while `run` may still notify.
    notify: Option<OwnedFd>,
    /// Wait status of the child whose death is being handled.
    wstat: u16,
}

fn main(args: rt::Args) -> u8 {
    let Some(dir) = args.get(1) else {
        rt::err::die_usage(PROG, b"dir")
    };
    if let Err(e) = rustix::process::chdir(dir) {
        rt::err::die_unable(PROG, EXIT_TEMP, b"chdir to", dir.to_bytes(), e)
    }
    let mut sup = Sup {
        prog: Buf::new(),
        name: dir,
        envp: args.envp(),
        status: Status::default(),
        deadline: None,
        next_start: 0,
        dying: false,
        notify: None,
        wstat: 0,
    };
    sup.prog.push(PROG).push(b" ").push(dir.to_bytes());
    setup::sanitize_stdio();
    let ctl = match setup::create() {
        Ok(c) => c,
        Err(e) => sup.die_setup(e),
    };
    let sigfd = match rt::sig::catch(&[SIGCHLD, SIGTERM, SIGHUP, SIGQUIT, SIGINT]) {
        Ok(fd) => fd,
        Err(e) => sup.die(EXIT_TEMP, b"trap", b"signals", e),
    };
    clean_event_dir();
    if let Err(e) = dtally::clear() {
        sup.die(EXIT_TEMP, b"truncate", dtally::FILE.to_bytes(), e)
    }
    match rustix::fs::access(sd::DOWN, Access::EXISTS) {
        Ok(()) => sup.status.want_up = false,
        Err(Errno::NOENT) => sup.status.want_up = true,
        Err(e) => sup.die(EXIT_TEMP, b"access", b"./down", e),
    }
    sup.status.stamp = Tain::now();
    sup.status.ready_stamp = sup.status.stamp;
    sup.status.ready = true;
    sup.announce();
    event(b"s");
    sup.deadline = Some(now_ms());
    let mut machine = Machine::new();
    while machine.state() != State::Exit {
        sup.wait_and_step(&mut machine, &sigfd, &ctl.reader);
    }
    event(b"x");
    0
}

/// Removes stale listener fifos (their readers died). Not inlined: its
/// directory buffer must not stay in `main`'s frame.
#[inline(never)]
fn clean_event_dir() {
    let _ = ftrig::fifodir::clean(b"event");
}

/// Sends `events` to the listeners of `event/` (never blocks; errors ignored, as s6).
fn event(events: &[u8]) {
    let _ = ftrig::fifodir::notify(b"event", events);
}

fn pid_of(pid: u64) -> Option<i32> {
    i32::try_from(pid).ok().filter(|&p| p > 0)
}

impl Sup {
    fn msg(&self, fatal: bool) -> Msg {
        if fatal {
            Msg::fatal(self.prog.as_bytes())
        } else {
            Msg::warn(self.prog.as_bytes())
        }
    }

    fn child(&self) -> spawn::Child<'_> {
        spawn::Child {
            prog: self.prog.as_bytes(),
            name: self.name,
            envp: self.envp,
        }
    }

    // Messages are built in cold functions of their own, so that their
    // 1 KiB line buffers never sit in the frames of the normal path (each
    // stack page touched once stays in the supervisor's memory for good).

    #[cold]
    #[inline(never)]
    fn die(&self, code: u8, verb: &[u8], obj: &[u8], e: Errno) -> ! {
        self.msg(true).unable(verb, obj).errno(e).die(code)
    }

    #[cold]
    #[inline(never)]
    fn warn(&self, verb: &[u8], obj: &[u8], e: Errno) {
        self.msg(false).unable(verb, obj).errno(e).emit()
    }

    #[cold]
    #[inline(never)]
    fn die_setup(&self, e: setup::SetupError) -> ! {
        e.describe(self.msg(true)).die(e.exit_code())
    }

    /// `PROG: warning: ` and `parts`.
    #[cold]
    #[inline(never)]
    fn warn_text(&self, parts: &[&[u8]]) {
        let mut m = self.msg(false);
        for p in parts {
            m = m.s(p);
        }
        m.emit()
    }

    /// The one blocking call, then every event it revealed, in s6's order:
    /// readiness, signals, control bytes.
    fn wait_and_step(&mut self, m: &mut Machine, sigfd: &OwnedFd, control: &OwnedFd) {
        let timeout = self.deadline.map(rt::time::until);
        let (n, ready_in, sig_in, ctl_in) = {
            let mut fds = [
                PollFd::new(sigfd, PollFlags::IN),
                PollFd::new(control, PollFlags::IN),
                PollFd::new(control, PollFlags::empty()),
            ];
            let count = match &self.notify {
                Some(fd) => {
                    if let Some(slot) = fds.get_mut(2) {
                        *slot = PollFd::new(fd, PollFlags::IN);
                    }
                    3
                }
                None => 2,
            };
            let r = rustix::event::poll(fds.get_mut(..count).unwrap_or(&mut []), timeout.as_ref());
            let rev = |i: usize| fds.get(i).is_some_and(|f| !f.revents().is_empty());
            (r, count == 3 && rev(2), rev(0), rev(1))
        };
        match n {
            Ok(0) => {
                self.deadline = None;
                self.step(m, Event::Timeout);
                return;
            }
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => self.die(EXIT_TEMP, b"poll", b"", e),
        }
        if ready_in {
            self.step(m, Event::Ready);
        }
        if sig_in {
            while let Some(si) = rt::sig::read(sigfd) {
                match Event::from_signal(si.signo) {
                    Some(Event::Child) => self.reap(m),
                    Some(ev) => self.step(m, ev),
                    None => {}
                }
            }
        }
        if ctl_in {
            self.read_control(m, control);
        }
    }

    fn step(&mut self, m: &mut Machine, ev: Event) {
        if m.state() != State::Exit {
            m.step(ev, |a| self.exec(a));
        }
    }

    /// Reaps every dead child; the death of the one we wait for (`run` or
    /// `finish`, whose pid is in the status) is the Child event.
    fn reap(&mut self, m: &mut Machine) {
        loop {
            match rustix::process::wait(WaitOptions::NOHANG) {
                Ok(Some((pid, ws))) => {
                    if u64::try_from(pid.as_raw_nonzero().get()).ok() == Some(self.status.pid) {
                        self.wstat = ws.as_raw() as u16;
                        self.step(m, Event::Child);
                    }
                }
                Ok(None) | Err(Errno::CHILD) => return,
                Err(Errno::INTR) => {}
                Err(e) => self.die(EXIT_TEMP, b"wait", b"for children", e),
            }
        }
    }

    fn read_control(&mut self, m: &mut Machine, control: &OwnedFd) {
        let mut buf = [0u8; CONTROL_CHUNK];
        loop {
            let n = match rustix::io::read(control, &mut buf) {
                Ok(0) | Err(Errno::AGAIN) => return,
                Ok(n) => n,
                Err(Errno::INTR) => continue,
                Err(e) => self.die(EXIT_TEMP, b"read", b"supervise/control", e),
            };
            let mut unknown = 0u64;
            for &b in buf.get(..n).unwrap_or(&[]) {
                match Command::from_byte(b) {
                    Some(c) => self.step(m, Event::Cmd(c)),
                    None => unknown += 1,
                }
            }
            if unknown > 0 {
                let mut count = Buf::<20>::new();
                count.push_u64(unknown);
                let what = b" unknown byte(s) read from supervise/control";
                self.warn_text(&[b"ignoring ", count.as_bytes(), what]);
            }
        }
    }

    /// Performs `a`; the result matters for spawning actions only.
    fn exec(&mut self, a: Action) -> bool {
        match a {
            Action::Nop => {}
            Action::Start => {
                if self.status.want_up {
                    return self.spawn_run();
                }
                return false;
            }
            Action::StartUp | Action::StartUpPermanent | Action::StartOnce => {
                if a == Action::StartUpPermanent {
                    self.unlink_down();
                }
                self.status.want_up = a != Action::StartOnce;
                self.announce();
                return self.spawn_run();
            }
            Action::WantUp | Action::WantUpPermanent => {
                if a == Action::WantUpPermanent {
                    self.unlink_down();
                }
                self.status.want_up = true;
                self.announce();
            }
            Action::WantDown | Action::WantDownPermanent => {
                if a == Action::WantDownPermanent {
                    self.create_down();
                }
                self.status.want_up = false;
                self.announce();
            }
            Action::Stop | Action::StopPermanent => {
                if a == Action::StopPermanent {
                    self.create_down();
                }
                self.stop();
            }
            Action::Send(s) => self.kill(s.number().unwrap_or_else(|| self.down_signal())),
            Action::Pause => self.pause(true),
            Action::Resume => self.pause(false),
            Action::ReadReadiness => self.read_readiness(),
            Action::Died => return self.died(),
            Action::FinishDone => {
                if death(self.wstat) == Death::Exit(sd::FINISH_PERMANENT_FAILURE as u8) {
                    self.status.want_up = false;
                    self.down_and_ready(b"OD");
                } else {
                    self.down_and_ready(b"D");
                }
            }
            Action::UpTimeout => {
                if self.dying {
                    self.kill(SIGKILL);
                    self.deadline = Some(now_ms() + sd::KILL_REPEAT_MS);
                } else {
                    self.warn_text(&[b"can't happen: timeout while the service is up!"]);
                }
            }
            Action::FinishTimeout => {
                self.warn_text(&[
                    b"finish script lifetime reached maximum value - sending it a SIGKILL",
                ]);
                self.pause(false);
                self.kill(SIGKILL);
                self.deadline = Some(now_ms() + sd::KILL_REPEAT_MS);
            }
            Action::CloseStdio => self.close_stdio(),
            Action::Interrupt => {
                if let Some(p) = pid_of(self.status.pid).and_then(rustix::process::Pid::from_raw) {
                    match rustix::process::getpgid(Some(p)) {
                        Ok(g) => {
                            let _ = rt::sys::kill(-g.as_raw_nonzero().get(), SIGINT);
                        }
                        Err(e) => self.warn(b"getpgid", b"", e),
                    }
                }
            }
        }
        true
    }

    fn announce(&self) {
        if let Err(e) = status::write(&self.status) {
            self.warn(b"write", b"status file", e)
        }
    }

    fn kill(&self, sig: c_int) {
        if let Some(pid) = pid_of(self.status.pid) {
            let _ = rt::sys::kill(pid, sig);
        }
    }

    fn pause(&mut self, on: bool) {
        self.kill(if on { SIGSTOP } else { SIGCONT });
        self.status.paused = on;
        self.announce();
    }

    /// A setting's value; s6's warnings for a bad file.
    fn check<T>(&self, s: Setting<T>, name: &[u8]) -> Option<T> {
        match s {
            Setting::Value(v) => return Some(v),
            Setting::Absent => {}
            Setting::Invalid => self.warn_text(&[b"invalid ", name]),
            Setting::Unreadable(e) => self.warn(b"open", name, e),
        }
        None
    }

    fn setting(&self, name: &CStr) -> Option<u32> {
        self.check(sd::read_uint(name), name.to_bytes())
    }

    fn down_signal(&self) -> c_int {
        self.check(sd::read_down_signal(), b"down-signal")
            .unwrap_or(SIGTERM)
    }

    fn create_down(&self) {
        if let Err(e) = sd::create_down() {
            self.warn(b"create", b"./down file", e)
        }
    }

    fn unlink_down(&self) {
        if let Err(e) = sd::unlink_down() {
            self.warn(b"unlink", b"./down file", e)
        }
    }

    /// `d`: want down, the down signal then SIGCONT, arm `timeout-kill`.
    fn stop(&mut self) {
        self.status.want_up = false;
        self.kill(self.down_signal());
        self.pause(false);
        match self.setting(sd::TIMEOUT_KILL) {
            Some(ms) if ms > 0 => {
                self.deadline = Some(now_ms() + u64::from(ms));
                self.dying = true;
            }
            _ => self.deadline = None,
        }
    }

    fn read_readiness(&mut self) {
        let mut buf = [0u8; READY_CHUNK];
        let Some(fd) = &self.notify else { return };
        let ready = loop {
            match rustix::io::read(fd, &mut buf) {
                Ok(0) => break false,
                Ok(n) if buf.get(..n).unwrap_or(&[]).contains(&b'\n') => break true,
                Ok(_) | Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return,
                Err(_) => break false,
            }
        };
        self.notify = None;
        if ready {
            self.next_start = now_ms() + sd::RESTART_DELAY_MS;
            self.status.ready_stamp = Tain::now();
            self.status.ready = true;
            self.announce();
            event(b"U");
        }
    }

    fn close_stdio(&self) {
        if let Err((how, e)) = setup::stdio_to_dev_null() {
            self.warn(b"open /dev/null for", how, e)
        }
    }

    /// Down and ready after a death (events `D`, `OD` or `dD`); the next
    /// start waits until 1 s after readiness, or 1 s from now.
    fn down_and_ready(&mut self, events: &[u8]) {
        self.status.pid = 0;
        self.status.finishing = false;
        self.status.ready = true;
        let now = now_ms();
        self.deadline = Some(if self.next_start != 0 {
            self.next_start
        } else {
            now + sd::RESTART_DELAY_MS
        });
        self.status.ready_stamp = Tain::now();
        self.announce();
        event(events);
    }

    /// Spawns `./run NAME`; false (with a deadline to retry) on failure.
    fn spawn_run(&mut self) -> bool {
        let lock = match self
            .setting(sd::LOCK_FD)
            .map(|n| (n, spawn::service_lock()))
        {
            Some((_, Err(e))) => {
                return self.retry_later(b"open supervise/service-lock for writing", e);
            }
            Some((n, Ok((fd, held)))) => {
                if held {
                    self.warn_text(&[
                        b"another instance of the service is already running, child will block",
                    ]);
                }
                Some((n, fd))
            }
            None => None,
        };
        let notif = self.setting(sd::NOTIFICATION_FD);
        if let (Some(n), Some((l, _))) = (notif, &lock)
            && n == *l
        {
            self.warn_text(&[b"unable to start service: notification-fd and lock-fd are the same"]);
            self.deadline = None;
            return false;
        }
        let (np, (report_r, report_w)) = match spawn::pipes(notif) {
            Ok(p) => (p.notify, p.report),
            Err(e) => return self.retry_later(b"pipe", e),
        };
        let pid = match rt::sys::fork() {
            Err(e) => return self.retry_later(b"fork", e),
            Ok(Fork::Child) => {
                let n = np.map(|(_, n, w)| (n, w));
                self.child().run(report_w, n, lock)
            }
            Ok(Fork::Parent(pid)) => pid,
        };
        drop(report_w);
        drop(lock);
        let notify = np.map(|(r, _, _)| r);
        let mut c = [0u8; 1];
        match rustix::io::read(&report_r, &mut c) {
            Ok(0) => {}
            Ok(_) => {
                self.warn_text(&[b"unable to spawn ./run - waiting 10 seconds"]);
                self.deadline = Some(now_ms() + sd::EXEC_RETRY_MS);
                return false;
            }
            Err(e) => {
                let _ = rt::sys::kill(pid.as_raw_nonzero().get(), SIGKILL);
                return self.retry_later(b"read", e);
            }
        }
        self.notify = notify;
        self.deadline = None;
        self.next_start = 0;
        self.status.pid = u64::try_from(pid.as_raw_nonzero().get()).unwrap_or(0);
        self.status.ready = false;
        self.status.stamp = Tain::now();
        self.announce();
        event(b"u");
        true
    }

    /// `unable to VERB (waiting 60 seconds)`; retry at the deadline.
    #[cold]
    #[inline(never)]
    fn retry_later(&mut self, verb: &[u8], e: Errno) -> bool {
        self.msg(false)
            .s(b"unable to ")
            .s(verb)
            .s(b" (waiting 60 seconds)")
            .errno(e)
            .emit();
        self.deadline = Some(now_ms() + sd::SYSTEM_RETRY_MS);
        false
    }

    /// `run` died: record it, then spawn `./finish CODE SIG NAME` (false:
    /// no finish to wait for, the service is down and ready now).
    fn died(&mut self) -> bool {
        let now = Tain::now();
        self.status.wstat = self.wstat;
        self.status.paused = false;
        self.status.ready = false;
        self.dying = false;
        self.status.stamp = now;
        self.notify = None;
        let max = sd::death_tally_max(match self.setting(sd::MAX_DEATH_TALLY_FILE) {
            Some(v) => Setting::Value(v),
            None => Setting::Absent,
        });
        if max > 0
            && let Err(e) = dtally::append(&dtally::Record::new(now, self.wstat), max)
        {
            self.warn(b"write", dtally::FILE.to_bytes(), e)
        }
        if rustix::fs::access(c"finish", Access::EXISTS) == Err(Errno::NOENT) {
            self.down_and_ready(b"dD");
            return false;
        }
        let (code, sig): (u64, u64) = match death(self.wstat) {
            Death::Signal(s) => (256, u64::from(s)),
            Death::Exit(c) => (u64::from(c), 0),
            Death::Other => (0, 0),
        };
        match rt::sys::fork() {
            Err(e) => {
                self.warn(b"fork for", b"./finish", e);
                self.down_and_ready(b"dD");
                false
            }
            Ok(Fork::Child) => self.child().finish(code, sig),
            Ok(Fork::Parent(pid)) => {
                self.status.pid = u64::try_from(pid.as_raw_nonzero().get()).unwrap_or(0);
                self.status.finishing = true;
                let ms = self
                    .setting(sd::TIMEOUT_FINISH)
                    .unwrap_or(sd::TIMEOUT_FINISH_DEFAULT_MS);
                self.deadline = (ms > 0).then(|| now_ms() + u64::from(ms));
                self.announce();
                event(b"d");
                true
            }
        }
    }
}
