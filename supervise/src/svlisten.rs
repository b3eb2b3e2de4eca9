//! Waiting for services to go up, become ready, or go down — race-free and
//! without polling (s6: src/supervision/s6_svlisten_loop.c, used by
//! s6-svwait, s6-svlisten1 and `s6-svc -w`).
//!
//! For each service: make sure `DIR/event` exists (a fifodir 3730 owned by
//! our egid, as s6 does; errors ignored), **subscribe first**, then read
//! `DIR/supervise/status` for the initial state. s6-supervise (and
//! rs6-supervise) write the status before they notify, so no transition can
//! fall between the two. Then apply the events as they come: `d` ⇒ down,
//! `D` ⇒ down and finished (the "ready" bit of a down service), `u` ⇒ up, `U`
//! ⇒ up and ready; `O` (finish exited 125: permanent failure) while waiting
//! for up counts a failure and makes the service count as done; `x`
//! (supervisor exiting) counts a failure unless the service was already in
//! the wanted state, and makes it count as done.
//!
//! Callers: `rs6-svwait` ([`svwait`]), `rs6-svlisten1` and `rs6-svc -w`
//! ([`Service::listen`] before acting, [`listen1`] after).

use crate::status::{self, field, flag};
use ftrig::listener::Listener;
use rustix::event::{PollFd, PollFlags};
use rustix::fd::BorrowedFd;
use rustix::fs::OFlags;
use rustix::io::Errno;

/// Most services one call waits for (s6 has no limit).
pub const MAX_SERVICES: usize = 128;

/// Size of `supervise/status` (s6 2.11 layout; see doc/status-file.md).
pub const STATUS_LEN: usize = status::LEN;

/// The two bits s6-svwait tracks per service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    /// Up: a `run` process exists and `finish` is not running.
    pub up: bool,
    /// Up: readiness was notified. Down: `finish` completed.
    pub ready: bool,
}

impl State {
    /// The state a 35-byte `supervise/status` record says: up = pid ≠ 0 and
    /// not finishing, ready = the ready flag.
    pub fn from_status(rec: &[u8; STATUS_LEN]) -> State {
        let pid = rec
            .get(field::PID)
            .is_some_and(|p| p.iter().any(|&b| b != 0));
        let flags = rec.get(field::FLAGS).copied().unwrap_or(0);
        State {
            up: pid && flags & flag::FINISHING == 0,
            ready: flags & flag::READY != 0,
        }
    }

    /// True when this state satisfies `want`.
    pub fn is(&self, want: State) -> bool {
        self.up == want.up && (!want.ready || self.ready)
    }
}

/// What a wait is for: the options `-u -U -d -D -r -R` of s6-svwait,
/// s6-svlisten1 and `s6-svc -w`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `-u`: up.
    Up,
    /// `-U`: up and ready.
    Ready,
    /// `-d`: down.
    Down,
    /// `-D`: down and finished.
    Finished,
    /// `-r`: restarted (down first, then up).
    Restart,
    /// `-R`: restarted and ready.
    RestartReady,
}

impl Mode {
    /// The mode of option letter `c`.
    pub fn from_letter(c: u8) -> Option<Mode> {
        match c {
            b'u' => Some(Mode::Up),
            b'U' => Some(Mode::Ready),
            b'd' => Some(Mode::Down),
            b'D' => Some(Mode::Finished),
            b'r' => Some(Mode::Restart),
            b'R' => Some(Mode::RestartReady),
            _ => None,
        }
    }

    /// The state finally waited for.
    pub fn want(self) -> State {
        match self {
            Mode::Up | Mode::Restart => State {
                up: true,
                ready: false,
            },
            Mode::Ready | Mode::RestartReady => State {
                up: true,
                ready: true,
            },
            Mode::Down => State {
                up: false,
                ready: false,
            },
            Mode::Finished => State {
                up: false,
                ready: true,
            },
        }
    }

    /// True for `-r`/`-R`, which first wait for the service to go down.
    pub fn restarts(self) -> bool {
        matches!(self, Mode::Restart | Mode::RestartReady)
    }
}

/// Why a wait failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The deadline passed (s6 exit code 99).
    Timeout,
    /// A system call failed (poll, or reading a fifo): exit 111.
    Sys(Errno),
}

/// Which step of [`Service::listen`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenError {
    /// Subscribing to `DIR/event` (s6: "unable to subscribe to events for DIR").
    Subscribe(Errno),
    /// Reading `DIR/supervise/status` (s6: "unable to s6_svstatus_read").
    Status(Errno),
}

/// Reads `DIR/supervise/status` (the 35 bytes s6-svstat reads); EPIPE when
/// the file is shorter.
pub fn read_status(servicedir: &[u8]) -> Result<[u8; STATUS_LEN], Errno> {
    let mut path: rt::Buf<{ ftrig::PATH_MAX }> = rt::Buf::new();
    if !(path.try_push(servicedir) && path.try_push(b"/supervise/status")) {
        return Err(Errno::NAMETOOLONG);
    }
    let c = path.c_str().ok_or(Errno::NAMETOOLONG)?;
    let fd = rustix::fs::open(
        c,
        OFlags::RDONLY | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    let mut rec = [0u8; STATUS_LEN];
    let mut got = 0;
    while got < STATUS_LEN {
        match rustix::io::read(&fd, rec.get_mut(got..).unwrap_or(&mut [])) {
            Ok(0) => return Err(Errno::PIPE),
            Ok(n) => got += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(rec)
}

/// One service being listened to: its subscription and what we know of it.
pub struct Service {
    listener: Listener,
    state: State,
}

impl Service {
    /// Starts listening to `servicedir` (s6's `s6_svlisten_init` for one
    /// directory): create `DIR/event` if missing (3730, our egid), subscribe
    /// to it, then read the initial state from `DIR/supervise/status`.
    pub fn listen(servicedir: &[u8]) -> Result<Service, ListenError> {
        let mut path: rt::Buf<{ ftrig::PATH_MAX }> = rt::Buf::new();
        if !(path.try_push(servicedir) && path.try_push(b"/event")) {
            return Err(ListenError::Subscribe(Errno::NAMETOOLONG));
        }
        let gid = rustix::process::getegid();
        let _ = ftrig::fifodir::create(path.as_bytes(), Some(gid), false);
        let listener = Listener::subscribe(path.as_bytes()).map_err(ListenError::Subscribe)?;
        let rec = read_status(servicedir).map_err(ListenError::Status)?;
        Ok(Service {
            listener,
            state: State::from_status(&rec),
        })
    }

    /// What is known of the service now.
    pub fn state(&self) -> State {
        self.state
    }

    /// Applies one event byte; returns true when it counts as a failure.
    pub fn apply(&mut self, event: u8, want: State) -> bool {
        match event {
            b'x' => {
                let failed = self.state != want;
                self.state = want;
                failed
            }
            b'O' => {
                if want.up {
                    self.state = want;
                }
                want.up
            }
            b'd' | b'D' | b'u' | b'U' => {
                self.state = State {
                    up: matches!(event, b'u' | b'U'),
                    ready: matches!(event, b'D' | b'U'),
                };
                false
            }
            _ => false,
        }
    }
}

/// True when `services` are in state `want`: any of them if `or`, else all.
fn reached(services: &[Service], want: State, or: bool) -> bool {
    if or {
        services.iter().any(|s| s.state.is(want))
    } else {
        services.iter().all(|s| s.state.is(want))
    }
}

/// Waits until `services` reach `want` (any of them if `or`, all otherwise),
/// as s6's `s6_svlisten_loop`: returns the number of failures counted
/// (`O`, `x`); 0 means the state was reached normally. `deadline_ms` is on
/// [`rt::time::now_ms`]'s clock, None for no limit. When `extra` is given, it
/// is polled too and `on_extra` called whenever it is readable (how
/// rs6-svlisten1 reaps its child).
pub fn wait(
    services: &mut [Service],
    want: State,
    or: bool,
    deadline_ms: Option<u64>,
    extra: Option<BorrowedFd<'_>>,
    on_extra: &mut dyn FnMut(),
) -> Result<u32, WaitError> {
    if reached(services, want, or) {
        return Ok(0);
    }
    let mut failures = 0u32;
    loop {
        let mut fds: heapless::Vec<PollFd<'_>, { MAX_SERVICES + 1 }> = heapless::Vec::new();
        for s in services.iter() {
            fds.push(PollFd::from_borrowed_fd(s.listener.fd(), PollFlags::IN))
                .map_err(|_| WaitError::Sys(Errno::TOOBIG))?;
        }
        if let Some(fd) = extra {
            fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN))
                .map_err(|_| WaitError::Sys(Errno::TOOBIG))?;
        }
        let timeout = deadline_ms.map(rt::time::until);
        let n = match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(WaitError::Sys(e)),
        };
        if n == 0 {
            if deadline_ms.is_some_and(|d| rt::time::now_ms() >= d) {
                return Err(WaitError::Timeout);
            }
            continue;
        }
        let mut ready = [false; MAX_SERVICES + 1];
        for (r, fd) in ready.iter_mut().zip(fds.iter()) {
            *r = !fd.revents().is_empty();
        }
        drop(fds);
        if extra.is_some() && ready.get(services.len()).copied().unwrap_or(false) {
            on_extra();
        }
        for i in 0..services.len() {
            if !ready.get(i).copied().unwrap_or(false) {
                continue;
            }
            let mut buf = [0u8; 64];
            loop {
                let got = services
                    .get(i)
                    .map(|s| s.listener.read(&mut buf))
                    .unwrap_or(Ok(0))
                    .map_err(WaitError::Sys)?;
                if got == 0 {
                    break;
                }
                for &c in buf.get(..got).unwrap_or(&[]) {
                    if let Some(s) = services.get_mut(i)
                        && s.apply(c, want)
                    {
                        failures = failures.saturating_add(1);
                    }
                    if b"DuUdOx".contains(&c) && reached(services, want, or) {
                        return Ok(failures);
                    }
                }
            }
        }
    }
}

/// s6-svwait's wait: for `-r`/`-R` first until **all** services are down,
/// then until `mode`'s state is reached (any service if `or`, else all).
/// Returns the failures counted (s6-svwait exits with that number).
pub fn svwait(
    services: &mut [Service],
    mode: Mode,
    or: bool,
    deadline_ms: Option<u64>,
) -> Result<u32, WaitError> {
    if mode.restarts() {
        let down = State {
            up: false,
            ready: false,
        };
        let f = wait(services, down, false, deadline_ms, None, &mut || {})?;
        if f != 0 {
            return Ok(f);
        }
    }
    wait(services, mode.want(), or, deadline_ms, None, &mut || {})
}

/// s6-svlisten1's wait, after its action (a spawned program, or the control
/// bytes `rs6-svc -w` writes): for `-r`/`-R` first until the service is down
/// and finished, then until `mode`'s state. Returns true when the service
/// failed permanently or its supervisor exited (s6-svlisten1 and `s6-svc -w`
/// then exit 1).
pub fn listen1(
    service: &mut Service,
    mode: Mode,
    deadline_ms: Option<u64>,
    extra: Option<BorrowedFd<'_>>,
    on_extra: &mut dyn FnMut(),
) -> Result<bool, WaitError> {
    let services = core::slice::from_mut(service);
    if mode.restarts() {
        let finished = State {
            up: false,
            ready: true,
        };
        if wait(services, finished, true, deadline_ms, extra, on_extra)? != 0 {
            return Ok(true);
        }
    }
    Ok(wait(services, mode.want(), true, deadline_ms, extra, on_extra)? != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bits() {
        let mut rec = [0u8; STATUS_LEN];
        assert_eq!(
            State::from_status(&rec),
            State {
                up: false,
                ready: false
            }
        );
        rec[31] = 7;
        rec[34] = 0x0c;
        assert_eq!(
            State::from_status(&rec),
            State {
                up: true,
                ready: true
            }
        );
        rec[34] = 0x06;
        assert_eq!(
            State::from_status(&rec),
            State {
                up: false,
                ready: false
            }
        );
    }

    #[test]
    fn wanted() {
        let up_ready = State {
            up: true,
            ready: true,
        };
        assert!(up_ready.is(Mode::Up.want()));
        assert!(up_ready.is(Mode::Ready.want()));
        assert!(!up_ready.is(Mode::Down.want()));
        let finished = Mode::Finished.want();
        assert!(finished.is(Mode::Down.want()));
        assert!(!Mode::Down.want().is(finished));
    }
}
