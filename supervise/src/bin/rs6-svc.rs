//! `rs6-svc [ -wu|-wU|-wd|-wD|-wr|-wR ] [ -T ms ] [ -abqhkti12pcyroduDUxOQ ] DIR`:
//! sends commands to the supervisor of DIR, as s6-svc 2.11; with `-w`, waits
//! for the resulting state (s6 execs s6-svlisten1/s6-svwait for that; rs6
//! does the same wait in-process, with ftrig's listener).
//!
//! # References
//! doc/rs6-svc.md; s6: s6-svc.html; ../shared/spec/s6-compat.md §2.3, §8.1.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use rt::ctl::{self, CtlError};
use rt::err::{EXIT_TEMP, EXIT_USAGE, Msg};
use rt::getopt::{Getopt, Opt};
use rustix::fs::Access;
use rustix::io::Errno;
use supervise::control::Command;
use supervise::svlisten::{self, ListenError, Mode, Service, WaitError};

rt::entry!(main);

const PROG: &[u8] = b"rs6-svc";
const USAGE: &[u8] =
    b"[ -wu | -wU | -wd | -wD | -wr | -wR ] [ -T timeout ] [ -abqhkti12pcyroduDUxOQ ] servicedir";
/// Most command letters in one call (s6-svc's 63-byte buffer, one byte taken).
const MAX_COMMANDS: usize = 62;
/// Exit code of a `-w` wait that timed out (s6-svlisten1/s6-svwait: 99).
const EXIT_TIMEOUT: u8 = 99;

fn main(args: rt::Args) -> u8 {
    let mut cmds = rt::Buf::<MAX_COMMANDS>::new();
    let mut timeout = 0u32;
    let mut wait: Option<u8> = None;
    let mut g = Getopt::new(args, b"abqhkti12pcyroduDUxOQT:w:");
    while let Some(opt) = g.next_opt() {
        match opt {
            Opt::Flag(b'T', Some(v)) => {
                match rt::buf::parse_u64(v).and_then(|n| u32::try_from(n).ok()) {
                    Some(n) => timeout = n,
                    None => rt::err::die_usage(PROG, USAGE),
                }
            }
            Opt::Flag(b'w', Some(v)) => match v.first() {
                Some(&c) if b"dDuUrR".contains(&c) => wait = Some(c),
                _ => rt::err::die_usage(PROG, USAGE),
            },
            Opt::Flag(c, None) if Command::from_byte(c).is_some() => {
                if !cmds.try_push(&[c]) {
                    Msg::fatal(PROG).s(b"too many commands").die(EXIT_USAGE)
                }
            }
            _ => rt::err::die_usage(PROG, USAGE),
        }
    }
    let mut operands = g.operands();
    let Some(dir) = operands.next() else {
        rt::err::die_usage(PROG, USAGE)
    };
    if operands.next().is_some() {
        Msg::warn(PROG).s(b"ignoring extra arguments").emit();
    }
    if dir.is_empty() {
        Msg::fatal(PROG).s(b"invalid service path").die(EXIT_USAGE)
    }
    let Some(letter) = wait else {
        return send(dir, cmds.as_bytes());
    };
    let mode = match Mode::from_letter(readiness_or_not(dir, letter)) {
        Some(m) => m,
        None => rt::err::die_usage(PROG, USAGE),
    };
    let deadline = (timeout != 0).then(|| rt::time::now_ms().saturating_add(u64::from(timeout)));
    let mut svc = match Service::listen(dir) {
        Ok(s) => s,
        Err(ListenError::Subscribe(e)) => Msg::fatal(PROG)
            .unable(b"subscribe to events for", dir)
            .errno(e)
            .die(EXIT_TEMP),
        Err(ListenError::Status(e)) => Msg::fatal(PROG)
            .unable(b"read status for", dir)
            .errno(e)
            .die(EXIT_TEMP),
    };
    let r = if cmds.is_empty() {
        svlisten::svwait(core::slice::from_mut(&mut svc), mode, false, deadline)
            .map(|failures| u8::try_from(failures).unwrap_or(u8::MAX))
    } else {
        let sent = send(dir, cmds.as_bytes());
        if sent != 0 {
            drop(svc);
            return sent;
        }
        svlisten::listen1(&mut svc, mode, deadline, None, &mut || {}).map(u8::from)
    };
    drop(svc);
    match r {
        Ok(code) => code,
        Err(WaitError::Timeout) => Msg::fatal(PROG).s(b"timed out").die(EXIT_TIMEOUT),
        Err(WaitError::Sys(e)) => Msg::fatal(PROG)
            .unable(b"wait for", dir)
            .errno(e)
            .die(EXIT_TEMP),
    }
}

/// `-wU`/`-wR` need `DIR/notification-fd`; without it s6-svc warns and waits
/// for `u`/`r` instead.
fn readiness_or_not(dir: &[u8], letter: u8) -> u8 {
    if letter != b'U' && letter != b'R' {
        return letter;
    }
    let mut path = rt::Buf::<{ ctl::PATH_MAX }>::new();
    path.push(dir).push(b"/notification-fd");
    match path.c_str().map(|p| rustix::fs::access(p, Access::EXISTS)) {
        Some(Ok(())) => letter,
        Some(Err(Errno::NOENT)) => {
            Msg::warn(PROG)
                .s(dir)
                .s(b"/notification-fd not present - ignoring request for readiness notification")
                .emit();
            letter.to_ascii_lowercase()
        }
        Some(Err(e)) => Msg::fatal(PROG)
            .unable(b"access", dir)
            .s(b"/notification-fd")
            .errno(e)
            .die(EXIT_TEMP),
        None => Msg::fatal(PROG)
            .unable(b"access", dir)
            .errno(Errno::NAMETOOLONG)
            .die(EXIT_TEMP),
    }
}

/// Writes the command bytes; returns the exit code (0 delivered, 100 no
/// supervisor or a broken `supervise/`, 111 system error), printing why.
fn send(dir: &[u8], cmds: &[u8]) -> u8 {
    match ctl::send(dir, b"supervise", cmds) {
        Ok(()) => 0,
        Err(CtlError::NotListening) => {
            Msg::fatal(PROG)
                .unable(b"control", dir)
                .s(b": supervisor not listening")
                .emit();
            EXIT_USAGE
        }
        Err(CtlError::Broken(e)) => {
            Msg::fatal(PROG)
                .s(b"something is wrong with the ")
                .s(dir)
                .s(b"/supervise directory")
                .errno(e)
                .emit();
            EXIT_USAGE
        }
        Err(CtlError::Sys(e)) => {
            Msg::fatal(PROG).unable(b"control", dir).errno(e).emit();
            EXIT_TEMP
        }
    }
}
