//! rs6-svlisten1: subscribes to a service's events, spawns a program, then
//! waits for the service to reach a state (s6-svlisten1). Manual:
//! doc/rs6-svlisten1.md.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use core::ffi::CStr;
use rt::err::{EXIT_TEMP, Msg, die_unable, die_usage};
use rt::getopt::{Getopt, Opt};
use rustix::fd::AsFd;
use rustix::io::Errno;
use supervise::svlisten::{self, ListenError, Mode, Service, WaitError};

rt::entry!(main);

const PROG: &[u8] = b"rs6-svlisten1";
const USAGE: &[u8] = b"[ -U | -u | -d | -D | -r | -R ] [ -t timeout ] servicedir prog...";
/// s6-svlisten1's exit code on timeout.
const EXIT_TIMEOUT: u8 = 99;
/// s6-svlisten1's exit code when the service failed permanently or its
/// supervisor exited.
const EXIT_FAILED: u8 = 1;

fn main(args: rt::Args) -> u8 {
    let mut mode = Mode::Up;
    let mut ms = 0;
    let mut g = Getopt::new(args, b"uUdDrRt:");
    while let Some(o) = g.next_opt() {
        match o {
            Opt::Flag(b't', Some(v)) => match ftrig::parse_ms(v) {
                Some(n) => ms = n,
                None => die_usage(PROG, USAGE),
            },
            Opt::Flag(c, None) => match Mode::from_letter(c) {
                Some(m) => mode = m,
                None => die_usage(PROG, USAGE),
            },
            _ => die_usage(PROG, USAGE),
        }
    }
    let (Some(dir), Some(_)) = (args.get(g.ind), args.get(g.ind + 1)) else {
        die_usage(PROG, USAGE)
    };
    let dir = dir.to_bytes();
    let deadline = ftrig::deadline(ms);
    let sfd = rt::sig::catch(&[rt::sig::SIGCHLD])
        .unwrap_or_else(|e| die_unable(PROG, EXIT_TEMP, b"catch", b"SIGCHLD", e));
    let mut svc = match Service::listen(dir) {
        Ok(s) => s,
        Err(ListenError::Subscribe(e)) => {
            die_unable(PROG, EXIT_TEMP, b"subscribe to events for", dir, e)
        }
        Err(ListenError::Status(e)) => Msg::fatal(PROG)
            .s(b"unable to s6_svstatus_read")
            .errno(e)
            .die(EXIT_TEMP),
    };
    let mut argv: heapless::Vec<&CStr, { rt::sys::ARGV_MAX }> = heapless::Vec::new();
    for i in g.ind + 1..args.len() {
        if let Some(a) = args.get(i)
            && argv.push(a).is_err()
        {
            drop(svc);
            die_unable(PROG, EXIT_TEMP, b"spawn", a.to_bytes(), Errno::TOOBIG)
        }
    }
    let prog = argv.first().map_or(&b""[..], |a| a.to_bytes());
    if let Err(e) = ftrig::spawn::spawn(&argv) {
        drop(svc);
        die_unable(PROG, EXIT_TEMP, b"spawn", prog, e)
    }
    let mut on_signal = || {
        while rt::sig::read(&sfd).is_some() {}
        ftrig::spawn::reap();
    };
    let r = svlisten::listen1(&mut svc, mode, deadline, Some(sfd.as_fd()), &mut on_signal);
    drop(svc);
    match r {
        Ok(false) => 0,
        Ok(true) => Msg::fatal(PROG)
            .s(prog)
            .s(b" failed permanently or its supervisor died")
            .die(EXIT_FAILED),
        Err(WaitError::Timeout) => Msg::fatal(PROG).s(b"timed out").die(EXIT_TIMEOUT),
        Err(WaitError::Sys(e)) => Msg::fatal(PROG)
            .s(b"unable to wait for events")
            .errno(e)
            .die(EXIT_TEMP),
    }
}
