//! CONTROL FIFO: the command bytes of `supervise/control` (what `s6-svc`
//! writes and s6-supervise reads). The writer side is `rt::ctl::send`.
//!
//! Each byte is one command; the mapping is an exhaustive `match`, never a
//! position in a string (s6 2.15.1 lost `Q` that way). Unknown bytes are
//! ignored by the supervisor, as s6 2.11 does.
//!
//! # References
//! doc/rs6-svc.md; s6: s6-svc.html, src/libs6/s6_svc_write.c,
//! src/libs6/s6_svc_writectl.c; ../shared/spec/s6-compat.md §2.3, §3.

use core::ffi::CStr;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// A command understood by the supervisor (s6 2.11's `abqhkti12pcyroduDUxOQ`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Command {
    /// `a`: send SIGALRM.
    Alrm,
    /// `b`: send SIGABRT.
    Abrt,
    /// `q`: send SIGQUIT.
    Quit,
    /// `h`: send SIGHUP.
    Hup,
    /// `k`: send SIGKILL.
    Kill,
    /// `t`: send SIGTERM.
    Term,
    /// `i`: send SIGINT.
    Int,
    /// `1`: send SIGUSR1.
    Usr1,
    /// `2`: send SIGUSR2.
    Usr2,
    /// `p`: send SIGSTOP and mark the service paused.
    Pause,
    /// `c`: send SIGCONT and clear the paused mark.
    Cont,
    /// `y`: send SIGWINCH.
    Winch,
    /// `r`: send the down signal (restart: want-up unchanged).
    Restart,
    /// `o`: want down; start the service once if it is down.
    Once,
    /// `d`: want down; send the down signal then SIGCONT.
    Down,
    /// `u`: want up; start the service if it is down.
    Up,
    /// `D`: as `d`, and create `./down`.
    DownPermanent,
    /// `U`: as `u`, and remove `./down`.
    UpPermanent,
    /// `x`: exit once the service is down.
    Exit,
    /// `O`: want down, no signal (the service is not restarted when it dies).
    OnceAtMost,
    /// `Q`: as `O`, and create `./down`.
    Quiet,
}

impl Command {
    /// Number of commands.
    pub const COUNT: usize = Command::Quiet as usize + 1;

    /// Every command, in s6's order.
    pub const ALL: [Command; Command::COUNT] = [
        Command::Alrm,
        Command::Abrt,
        Command::Quit,
        Command::Hup,
        Command::Kill,
        Command::Term,
        Command::Int,
        Command::Usr1,
        Command::Usr2,
        Command::Pause,
        Command::Cont,
        Command::Winch,
        Command::Restart,
        Command::Once,
        Command::Down,
        Command::Up,
        Command::DownPermanent,
        Command::UpPermanent,
        Command::Exit,
        Command::OnceAtMost,
        Command::Quiet,
    ];

    /// The command a control byte means, or None for an unknown byte.
    pub fn from_byte(b: u8) -> Option<Command> {
        Some(match b {
            b'a' => Command::Alrm,
            b'b' => Command::Abrt,
            b'q' => Command::Quit,
            b'h' => Command::Hup,
            b'k' => Command::Kill,
            b't' => Command::Term,
            b'i' => Command::Int,
            b'1' => Command::Usr1,
            b'2' => Command::Usr2,
            b'p' => Command::Pause,
            b'c' => Command::Cont,
            b'y' => Command::Winch,
            b'r' => Command::Restart,
            b'o' => Command::Once,
            b'd' => Command::Down,
            b'u' => Command::Up,
            b'D' => Command::DownPermanent,
            b'U' => Command::UpPermanent,
            b'x' => Command::Exit,
            b'O' => Command::OnceAtMost,
            b'Q' => Command::Quiet,
            _ => return None,
        })
    }

    /// The control byte of the command (also the `s6-svc` option letter).
    pub fn letter(self) -> u8 {
        match self {
            Command::Alrm => b'a',
            Command::Abrt => b'b',
            Command::Quit => b'q',
            Command::Hup => b'h',
            Command::Kill => b'k',
            Command::Term => b't',
            Command::Int => b'i',
            Command::Usr1 => b'1',
            Command::Usr2 => b'2',
            Command::Pause => b'p',
            Command::Cont => b'c',
            Command::Winch => b'y',
            Command::Restart => b'r',
            Command::Once => b'o',
            Command::Down => b'd',
            Command::Up => b'u',
            Command::DownPermanent => b'D',
            Command::UpPermanent => b'U',
            Command::Exit => b'x',
            Command::OnceAtMost => b'O',
            Command::Quiet => b'Q',
        }
    }
}

/// Most bytes of a path the tools build under a service directory.
pub const PATH_MAX: usize = rt::ctl::PATH_MAX;

/// True when a supervisor holds `DIR/supervise/lock` (s6-svok's test:
/// `F_GETLK` sees a conflicting lock). A missing lock file means "no".
///
/// # References
/// doc/rs6-svok.md; s6: src/libs6/s6_svc_ok.c (2.11).
pub fn is_supervised(dir: &[u8]) -> Result<bool, Errno> {
    let mut path = rt::Buf::<PATH_MAX>::new();
    if !path.try_push(dir) || !path.try_push(b"/supervise/lock") {
        return Err(Errno::NAMETOOLONG);
    }
    let cpath: &CStr = path.c_str().ok_or(Errno::NAMETOOLONG)?;
    let fd = match rustix::fs::open(
        cpath,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(rt::sys::lock_holder(rustix::fd::AsFd::as_fd(&fd), false)?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_letter_round_trips() {
        for c in Command::ALL {
            assert_eq!(Command::from_byte(c.letter()), Some(c));
        }
        let letters: Vec<u8> = Command::ALL.iter().map(|c| c.letter()).collect();
        assert_eq!(letters, b"abqhkti12pcyroduDUxOQ");
    }

    #[test]
    fn only_the_21_letters_are_commands() {
        let known = (0..=255u8)
            .filter(|&b| Command::from_byte(b).is_some())
            .count();
        assert_eq!(known, Command::COUNT);
        assert_eq!(Command::COUNT, 21);
        for b in [
            b'X', b'P', b'C', b'K', b'l', b's', b'f', b'F', 0, b'\n', 0xff,
        ] {
            assert_eq!(Command::from_byte(b), None, "byte {b:#x}");
        }
    }

    #[test]
    fn all_is_in_discriminant_order() {
        for (i, c) in Command::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
    }
}
