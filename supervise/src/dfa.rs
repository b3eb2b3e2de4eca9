//! THE DFA of rs6-supervise: states, events, actions, and the one table that
//! maps (state, event) to (action, next state).
//!
//! This file does no I/O. The supervisor's loop turns what poll reported into
//! [`Event`]s and calls [`Machine::step`], which looks the pair up in [`TABLE`], lets
//! the caller execute the [`Action`] (that is where the system calls are) and
//! then assigns the next state — the only assignment of a state in rs6-supervise.
//! An action that may fail (spawning `run` or `finish`) reports success or
//! failure, and [`Next::Outcome`] names the state for each case.
//!
//! The table is s6-supervise 2.11's `actions[5][27]` (s6:
//! src/supervision/s6-supervise.c) with one row added for the terminal
//! [`State::Exit`], readiness as an event, and the state changes that s6's
//! actions make themselves written in the `next` column instead.
//!
//! # References
//! doc/rs6-supervise.md (the table in prose); ../shared/spec/s6-compat.md §3, §5, §6.

use crate::control::Command;

/// Where the supervisor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// `run` is not running (nor `finish`).
    Down,
    /// `run` is running.
    Up,
    /// `run` died; `finish` is running.
    Finish,
    /// Up, and the supervisor exits once the service is down (`x`, SIGHUP, SIGTERM).
    LastUp,
    /// Finishing, and the supervisor exits when `finish` ends.
    LastFinish,
    /// The loop ends; the supervisor sends `x` and exits 0.
    Exit,
}

impl State {
    /// Number of states.
    pub const COUNT: usize = State::Exit as usize + 1;
    /// Every state, in table order.
    pub const ALL: [State; State::COUNT] = [
        State::Down,
        State::Up,
        State::Finish,
        State::LastUp,
        State::LastFinish,
        State::Exit,
    ];

    /// s6's word for the state.
    pub fn name(self) -> &'static str {
        match self {
            State::Down => "down",
            State::Up => "up",
            State::Finish => "finish",
            State::LastUp => "lastup",
            State::LastFinish => "lastfinish",
            State::Exit => "exit",
        }
    }
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The pending deadline passed.
    Timeout,
    /// The child the supervisor waits for (`run`, or `finish`) died.
    Child,
    /// The readiness pipe (`notification-fd`) is readable.
    Ready,
    /// SIGTERM.
    SigTerm,
    /// SIGHUP.
    SigHup,
    /// SIGQUIT.
    SigQuit,
    /// SIGINT.
    SigInt,
    /// A byte from `supervise/control`.
    Cmd(Command),
}

/// Events that are not control commands, in table order.
const NON_COMMANDS: usize = 7;

impl Event {
    /// Number of events (columns of the table).
    pub const COUNT: usize = NON_COMMANDS + Command::COUNT;

    /// The column of the event.
    pub fn index(self) -> usize {
        match self {
            Event::Timeout => 0,
            Event::Child => 1,
            Event::Ready => 2,
            Event::SigTerm => 3,
            Event::SigHup => 4,
            Event::SigQuit => 5,
            Event::SigInt => 6,
            Event::Cmd(c) => NON_COMMANDS + c as usize,
        }
    }

    /// The event a signal of the supervisor's is (SIGCHLD: [`Event::Child`],
    /// to be confirmed by reaping the right pid).
    pub fn from_signal(sig: core::ffi::c_int) -> Option<Event> {
        use rt::sig::*;
        match sig {
            SIGCHLD => Some(Event::Child),
            SIGTERM => Some(Event::SigTerm),
            SIGHUP => Some(Event::SigHup),
            SIGQUIT => Some(Event::SigQuit),
            SIGINT => Some(Event::SigInt),
            _ => None,
        }
    }

    /// Every event, in column order.
    pub fn all() -> impl Iterator<Item = Event> {
        [
            Event::Timeout,
            Event::Child,
            Event::Ready,
            Event::SigTerm,
            Event::SigHup,
            Event::SigQuit,
            Event::SigInt,
        ]
        .into_iter()
        .chain(Command::ALL.into_iter().map(Event::Cmd))
    }
}

/// What the supervisor does. One byte (checked below), so the table is plain data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing.
    Nop,
    /// Deadline while down: spawn `run` if want-up, else no deadline. Fails
    /// when nothing was spawned.
    Start,
    /// `u` while down: want up, spawn `run` now (no throttle).
    StartUp,
    /// `U` while down: remove `./down`, want up, spawn `run` now.
    StartUpPermanent,
    /// `o` while down: want down, spawn `run` now (once).
    StartOnce,
    /// Want up.
    WantUp,
    /// Remove `./down`, want up.
    WantUpPermanent,
    /// Want down.
    WantDown,
    /// Create `./down`, want down.
    WantDownPermanent,
    /// Want down, send the down signal then SIGCONT, arm `timeout-kill`.
    Stop,
    /// Create `./down`, then [`Action::Stop`].
    StopPermanent,
    /// Send a signal to the service (`run`, never `finish`).
    Send(Sig),
    /// Send SIGSTOP, set paused.
    Pause,
    /// Send SIGCONT, clear paused.
    Resume,
    /// Read the readiness pipe; a newline makes the service ready (event `U`).
    ReadReadiness,
    /// `run` died: record it, spawn `finish` (event `d`). Fails when there is
    /// no finish to wait for: then down at once (events `dD`).
    Died,
    /// `finish` ended: down and ready (event `D`, or `OD` after exit 125).
    FinishDone,
    /// Deadline while up: SIGKILL if stopping (`timeout-kill`), else nothing.
    UpTimeout,
    /// Deadline while finishing: SIGKILL `finish` (`timeout-finish`).
    FinishTimeout,
    /// Replace stdin and stdout with /dev/null (the supervisor is leaving).
    CloseStdio,
    /// SIGINT to the service's process group (the supervisor then exits).
    Interrupt,
}

impl Action {
    /// The action's name in doc/rs6-supervise.md's table.
    pub fn name(self) -> &'static str {
        match self {
            Send(_) => "send",
            Nop => "-",
            Start => "start",
            StartUp => "start-up",
            StartUpPermanent => "start-up-permanent",
            StartOnce => "start-once",
            WantUp => "want-up",
            WantUpPermanent => "want-up-permanent",
            WantDown => "want-down",
            WantDownPermanent => "want-down-permanent",
            Stop => "stop",
            StopPermanent => "stop-permanent",
            Pause => "pause",
            Resume => "resume",
            ReadReadiness => "read-readiness",
            Died => "died",
            FinishDone => "finish-done",
            UpTimeout => "up-timeout",
            FinishTimeout => "finish-timeout",
            CloseStdio => "close-stdio",
            Interrupt => "interrupt",
        }
    }
}

/// The signals of the signal-sending commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Sig {
    /// SIGALRM (`a`).
    Alrm,
    /// SIGABRT (`b`).
    Abrt,
    /// SIGQUIT (`q`).
    Quit,
    /// SIGHUP (`h`).
    Hup,
    /// SIGKILL (`k`).
    Kill,
    /// SIGTERM (`t`).
    Term,
    /// SIGINT (`i`).
    Int,
    /// SIGUSR1 (`1`).
    Usr1,
    /// SIGUSR2 (`2`).
    Usr2,
    /// SIGWINCH (`y`).
    Winch,
    /// The service's `down-signal` (`r`), SIGTERM by default.
    Down,
}

impl Sig {
    /// The signal number; None for [`Sig::Down`], which the service
    /// directory defines.
    pub fn number(self) -> Option<core::ffi::c_int> {
        use rt::sig::*;
        Some(match self {
            Sig::Alrm => SIGALRM,
            Sig::Abrt => SIGABRT,
            Sig::Quit => SIGQUIT,
            Sig::Hup => SIGHUP,
            Sig::Kill => SIGKILL,
            Sig::Term => SIGTERM,
            Sig::Int => SIGINT,
            Sig::Usr1 => SIGUSR1,
            Sig::Usr2 => SIGUSR2,
            Sig::Winch => SIGWINCH,
            Sig::Down => return None,
        })
    }

    /// The name in the doc's table.
    pub fn name(self) -> &'static str {
        match self {
            Sig::Alrm => "ALRM",
            Sig::Abrt => "ABRT",
            Sig::Quit => "QUIT",
            Sig::Hup => "HUP",
            Sig::Kill => "KILL",
            Sig::Term => "TERM",
            Sig::Int => "INT",
            Sig::Usr1 => "USR1",
            Sig::Usr2 => "USR2",
            Sig::Winch => "WINCH",
            Sig::Down => "down-signal",
        }
    }
}

static_assertions::const_assert_eq!(core::mem::size_of::<Action>(), 1);

/// The state after a transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Stay.
    Same,
    /// Go to this state.
    To(State),
    /// Go to `ok` if the action succeeded, else to `failed`.
    Outcome {
        /// After success.
        ok: State,
        /// After failure.
        failed: State,
    },
}

/// One cell of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// What to do.
    pub action: Action,
    /// Where to go.
    pub next: Next,
}

const fn t(action: Action, next: Next) -> Transition {
    Transition { action, next }
}

use Action::*;
use Next::{Outcome, Same, To};
use State::{Down, Exit, Finish, LastFinish, LastUp, Up};

const NOP: Transition = t(Nop, Same);
const SPAWN: Next = Outcome {
    ok: Up,
    failed: Down,
};

/// The supervisor: rows are states, columns events (`Event::index`).
/// Columns: timeout, child, ready, SIGTERM, SIGHUP, SIGQUIT, SIGINT, then the
/// control bytes `a b q h k t i 1 2 p c y r o d u D U x O Q`.
#[rustfmt::skip]
pub const TABLE: [[Transition; Event::COUNT]; State::COUNT] = [
    /* Down */ [
        /* timeout */ t(Start, SPAWN),
        /* child   */ NOP,
        /* ready   */ NOP,
        /* TERM    */ t(Nop, To(Exit)),
        /* HUP     */ t(Nop, To(Exit)),
        /* QUIT    */ t(Nop, To(Exit)),
        /* INT     */ t(Nop, To(Exit)),
        /* a */ NOP, /* b */ NOP, /* q */ NOP, /* h */ NOP, /* k */ NOP, /* t */ NOP,
        /* i */ NOP, /* 1 */ NOP, /* 2 */ NOP, /* p */ NOP, /* c */ NOP, /* y */ NOP,
        /* r */ NOP,
        /* o */ t(StartOnce, SPAWN),
        /* d */ t(WantDown, Same),
        /* u */ t(StartUp, SPAWN),
        /* D */ t(WantDownPermanent, Same),
        /* U */ t(StartUpPermanent, SPAWN),
        /* x */ t(Nop, To(Exit)),
        /* O */ t(WantDown, Same),
        /* Q */ t(WantDownPermanent, Same),
    ],
    /* Up */ [
        /* timeout */ t(UpTimeout, Same),
        /* child   */ t(Died, Outcome { ok: Finish, failed: Down }),
        /* ready   */ t(ReadReadiness, Same),
        /* TERM    */ t(Stop, To(LastUp)),
        /* HUP     */ t(CloseStdio, To(LastUp)),
        /* QUIT    */ t(Nop, To(Exit)),
        /* INT     */ t(Interrupt, To(Exit)),
        /* a */ t(Send(Sig::Alrm), Same),
        /* b */ t(Send(Sig::Abrt), Same),
        /* q */ t(Send(Sig::Quit), Same),
        /* h */ t(Send(Sig::Hup), Same),
        /* k */ t(Send(Sig::Kill), Same),
        /* t */ t(Send(Sig::Term), Same),
        /* i */ t(Send(Sig::Int), Same),
        /* 1 */ t(Send(Sig::Usr1), Same),
        /* 2 */ t(Send(Sig::Usr2), Same),
        /* p */ t(Pause, Same),
        /* c */ t(Resume, Same),
        /* y */ t(Send(Sig::Winch), Same),
        /* r */ t(Send(Sig::Down), Same),
        /* o */ t(WantDown, Same),
        /* d */ t(Stop, Same),
        /* u */ t(WantUp, Same),
        /* D */ t(StopPermanent, Same),
        /* U */ t(WantUpPermanent, Same),
        /* x */ t(CloseStdio, To(LastUp)),
        /* O */ t(WantDown, Same),
        /* Q */ t(WantDownPermanent, Same),
    ],
    /* Finish */ [
        /* timeout */ t(FinishTimeout, Same),
        /* child   */ t(FinishDone, To(Down)),
        /* ready   */ NOP,
        /* TERM    */ t(CloseStdio, To(LastFinish)),
        /* HUP     */ t(CloseStdio, To(LastFinish)),
        /* QUIT    */ t(Nop, To(Exit)),
        /* INT     */ t(Interrupt, To(Exit)),
        /* a */ NOP, /* b */ NOP, /* q */ NOP, /* h */ NOP, /* k */ NOP, /* t */ NOP,
        /* i */ NOP, /* 1 */ NOP, /* 2 */ NOP, /* p */ NOP, /* c */ NOP, /* y */ NOP,
        /* r */ NOP,
        /* o */ t(WantDown, Same),
        /* d */ t(WantDown, Same),
        /* u */ t(WantUp, Same),
        /* D */ t(WantDownPermanent, Same),
        /* U */ t(WantUpPermanent, Same),
        /* x */ t(CloseStdio, To(LastFinish)),
        /* O */ t(WantDown, Same),
        /* Q */ t(WantDownPermanent, Same),
    ],
    /* LastUp */ [
        /* timeout */ t(UpTimeout, Same),
        /* child   */ t(Died, Outcome { ok: LastFinish, failed: Exit }),
        /* ready   */ t(ReadReadiness, Same),
        /* TERM    */ t(Stop, Same),
        /* HUP     */ t(CloseStdio, Same),
        /* QUIT    */ t(Nop, To(Exit)),
        /* INT     */ t(Interrupt, To(Exit)),
        /* a */ t(Send(Sig::Alrm), Same),
        /* b */ t(Send(Sig::Abrt), Same),
        /* q */ t(Send(Sig::Quit), Same),
        /* h */ t(Send(Sig::Hup), Same),
        /* k */ t(Send(Sig::Kill), Same),
        /* t */ t(Send(Sig::Term), Same),
        /* i */ t(Send(Sig::Int), Same),
        /* 1 */ t(Send(Sig::Usr1), Same),
        /* 2 */ t(Send(Sig::Usr2), Same),
        /* p */ t(Pause, Same),
        /* c */ t(Resume, Same),
        /* y */ t(Send(Sig::Winch), Same),
        /* r */ t(Send(Sig::Down), Same),
        /* o */ t(WantDown, Same),
        /* d */ t(Stop, Same),
        /* u */ t(WantUp, Same),
        /* D */ t(StopPermanent, Same),
        /* U */ t(WantUpPermanent, Same),
        /* x */ t(CloseStdio, Same),
        /* O */ t(WantDown, Same),
        /* Q */ t(WantDownPermanent, Same),
    ],
    /* LastFinish */ [
        /* timeout */ t(FinishTimeout, Same),
        /* child   */ t(FinishDone, To(Exit)),
        /* ready   */ NOP,
        /* TERM    */ NOP,
        /* HUP     */ t(CloseStdio, Same),
        /* QUIT    */ t(Nop, To(Exit)),
        /* INT     */ t(Interrupt, To(Exit)),
        /* a */ NOP, /* b */ NOP, /* q */ NOP, /* h */ NOP, /* k */ NOP, /* t */ NOP,
        /* i */ NOP, /* 1 */ NOP, /* 2 */ NOP, /* p */ NOP, /* c */ NOP, /* y */ NOP,
        /* r */ NOP,
        /* o */ t(WantDown, Same),
        /* d */ t(WantDown, Same),
        /* u */ t(WantUp, Same),
        /* D */ t(WantDownPermanent, Same),
        /* U */ t(WantUpPermanent, Same),
        /* x */ t(CloseStdio, Same),
        /* O */ t(WantDown, Same),
        /* Q */ t(WantDownPermanent, Same),
    ],
    /* Exit: terminal, the loop has ended */ [NOP; Event::COUNT],
];

/// The cell for `state` and `event`.
pub fn transition(state: State, event: Event) -> Transition {
    TABLE
        .get(state as usize)
        .and_then(|row| row.get(event.index()))
        .copied()
        .unwrap_or(NOP)
}

/// A supervisor's state, changed only by [`Machine::step`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine {
    state: State,
}

impl Machine {
    /// A supervisor that has just started: down.
    pub const fn new() -> Machine {
        Machine { state: State::Down }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Runs one transition: looks up the cell, has `exec` perform its
    /// action (`exec` returns whether the action succeeded, which only
    /// matters for [`Next::Outcome`]), and assigns the next state. This is
    /// the only place where the supervisor's state changes.
    pub fn step(&mut self, event: Event, exec: impl FnOnce(Action) -> bool) -> Transition {
        let tr = transition(self.state, event);
        let ok = exec(tr.action);
        match tr.next {
            Next::Same => {}
            Next::To(s) => self.state = s,
            Next::Outcome { ok: o, failed: f } => self.state = if ok { o } else { f },
        }
        tr
    }
}

impl Default for Machine {
    fn default() -> Machine {
        Machine::new()
    }
}

#[cfg(test)]
mod tests;
