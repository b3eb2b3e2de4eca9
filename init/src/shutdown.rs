//! What brings an rs6 machine down, and in which order.
//!
//! Signals to process 1 follow busybox's `halt`/`poweroff`/`reboot` applets
//! (SIGUSR1 = halt, SIGUSR2 = poweroff, SIGTERM = reboot), plus SIGPWR =
//! poweroff and SIGINT (Ctrl-Alt-Del, once the kernel is told to signal
//! instead of rebooting) = reboot. See ../shared/spec/s6-compat.md §11,
//! "rs6 decision".
//!
//! Stage 3 is a fixed sequence of [`Step`]s; the program executes them in
//! order and every step's failure is only a warning: the last step always runs.

use core::ffi::c_int;

/// How the machine ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// reboot(RB_HALT_SYSTEM).
    Halt,
    /// reboot(RB_POWER_OFF).
    Poweroff,
    /// reboot(RB_AUTOBOOT).
    Reboot,
}

impl Action {
    /// The action a signal to process 1 asks for, if any.
    pub fn for_signal(sig: c_int) -> Option<Action> {
        match sig {
            rt::sig::SIGUSR1 => Some(Action::Halt),
            rt::sig::SIGUSR2 | rt::sig::SIGPWR => Some(Action::Poweroff),
            rt::sig::SIGTERM | rt::sig::SIGINT => Some(Action::Reboot),
            _ => None,
        }
    }

    /// Parses `halt`, `poweroff` or `reboot`.
    pub fn from_word(w: &[u8]) -> Option<Action> {
        match w {
            b"halt" => Some(Action::Halt),
            b"poweroff" => Some(Action::Poweroff),
            b"reboot" => Some(Action::Reboot),
            _ => None,
        }
    }

    /// The action of a `.s6-svscan/SIG<NAME>` diversion script named `name`
    /// (rs6-shutdown is installed under these names); None for the signals
    /// that do nothing on an rs6 image.
    pub fn for_script(name: &[u8]) -> Option<Action> {
        match name {
            b"SIGUSR1" => Some(Action::Halt),
            b"SIGUSR2" | b"SIGPWR" => Some(Action::Poweroff),
            b"SIGTERM" | b"SIGINT" => Some(Action::Reboot),
            _ => None,
        }
    }

    /// The word for messages.
    pub fn word(self) -> &'static [u8] {
        match self {
            Action::Halt => b"halt",
            Action::Poweroff => b"poweroff",
            Action::Reboot => b"reboot",
        }
    }

    /// The reboot(2) command.
    pub fn command(self) -> rustix::system::RebootCommand {
        match self {
            Action::Halt => rustix::system::RebootCommand::Halt,
            Action::Poweroff => rustix::system::RebootCommand::PowerOff,
            Action::Reboot => rustix::system::RebootCommand::Restart,
        }
    }
}

/// Where rs6-shutdown records the action it started, for stage 3 (and to
/// refuse a second concurrent shutdown).
pub const ACTION_FILE: &[u8] = b"/run/rs6/action";
/// The directory of [`ACTION_FILE`].
pub const STATE_DIR: &[u8] = b"/run/rs6";
/// Diversion scripts rs6-init installs in `.s6-svscan/`, as links to rs6-shutdown.
pub const SCRIPTS: [&[u8]; 7] = [
    b"SIGUSR1",
    b"SIGUSR2",
    b"SIGPWR",
    b"SIGTERM",
    b"SIGINT",
    b"SIGQUIT",
    b"SIGWINCH",
];

/// One step of stage 3, in the order of [`STAGE3`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// kill(-1, SIGTERM) then kill(-1, SIGCONT).
    TermAll,
    /// Reap until no process is left or the grace time has passed.
    Grace,
    /// kill(-1, SIGKILL), then reap what is left.
    KillAll,
    /// sync(2).
    Sync,
    /// Unmount what stage 1 mounted, in reverse order (read-only remount if busy).
    Unmount,
    /// reboot(2) with the action.
    Reboot,
}

/// Stage 3, in order.
pub const STAGE3: [Step; 6] = [
    Step::TermAll,
    Step::Grace,
    Step::KillAll,
    Step::Sync,
    Step::Unmount,
    Step::Reboot,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busybox_signals() {
        assert_eq!(Action::for_signal(rt::sig::SIGUSR1), Some(Action::Halt));
        assert_eq!(Action::for_signal(rt::sig::SIGUSR2), Some(Action::Poweroff));
        assert_eq!(Action::for_signal(rt::sig::SIGPWR), Some(Action::Poweroff));
        assert_eq!(Action::for_signal(rt::sig::SIGTERM), Some(Action::Reboot));
        assert_eq!(Action::for_signal(rt::sig::SIGINT), Some(Action::Reboot));
        assert_eq!(Action::for_signal(rt::sig::SIGHUP), None);
    }

    #[test]
    fn scripts() {
        assert_eq!(Action::for_script(b"SIGUSR2"), Some(Action::Poweroff));
        assert_eq!(Action::for_script(b"SIGINT"), Some(Action::Reboot));
        assert_eq!(Action::for_script(b"SIGQUIT"), None);
        for s in SCRIPTS {
            assert_eq!(Action::for_script(s), Action::for_signal(signo(s)));
        }
    }

    fn signo(name: &[u8]) -> i32 {
        rt::sig::parse(name).unwrap_or(0)
    }

    #[test]
    fn stage3_ends_with_reboot() {
        assert_eq!(STAGE3.last(), Some(&Step::Reboot));
        assert_eq!(STAGE3.first(), Some(&Step::TermAll));
    }
}
