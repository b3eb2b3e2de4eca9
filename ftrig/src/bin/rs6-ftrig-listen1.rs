//! rs6-ftrig-listen1: subscribes to a fifodir, spawns a program, then waits
//! for events matching a regular expression — no race between the program's
//! action and the event (s6-ftrig-listen1). Manual: doc/rs6-ftrig-listen1.md.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use core::ffi::CStr;
use ftrig::listener::Listener;
use ftrig::pattern::Matcher;
use rt::err::{EXIT_TEMP, Msg, die_unable, die_usage};
use rt::getopt::{Getopt, Opt};
use rustix::fd::AsFd;
use rustix::io::Errno;

rt::entry!(main);

const PROG: &[u8] = b"rs6-ftrig-listen1";
const USAGE: &[u8] = b"[ -t timeout ] fifodir regexp prog...";
/// s6-ftrig-listen1's exit code on timeout.
const EXIT_TIMEOUT: u8 = 1;

fn main(args: rt::Args) -> u8 {
    let mut ms = 0;
    let mut g = Getopt::new(args, b"t:");
    while let Some(o) = g.next_opt() {
        match o {
            Opt::Flag(b't', Some(v)) => match ftrig::parse_ms(v) {
                Some(n) => ms = n,
                None => die_usage(PROG, USAGE),
            },
            _ => die_usage(PROG, USAGE),
        }
    }
    let (Some(dir), Some(re), Some(_)) =
        (args.get(g.ind), args.get(g.ind + 1), args.get(g.ind + 2))
    else {
        die_usage(PROG, USAGE)
    };
    let deadline = ftrig::deadline(ms);
    let fail = |e: Errno| -> ! {
        Msg::fatal(PROG)
            .unable(b"subscribe to", dir.to_bytes())
            .s(b" with regexp ")
            .s(re.to_bytes())
            .errno(e)
            .die(EXIT_TEMP)
    };
    let mut m = Matcher::new(re).unwrap_or_else(|e| fail(e));
    let l = Listener::subscribe(dir.to_bytes()).unwrap_or_else(|e| fail(e));
    let sfd = rt::sig::catch(&[rt::sig::SIGCHLD])
        .unwrap_or_else(|e| die_unable(PROG, EXIT_TEMP, b"catch", b"SIGCHLD", e));
    let mut argv: heapless::Vec<&CStr, { rt::sys::ARGV_MAX }> = heapless::Vec::new();
    for i in g.ind + 2..args.len() {
        if let Some(a) = args.get(i)
            && argv.push(a).is_err()
        {
            drop(l);
            die_unable(PROG, EXIT_TEMP, b"spawn", a.to_bytes(), Errno::TOOBIG)
        }
    }
    let prog = argv.first().map_or(&b""[..], |a| a.to_bytes());
    if let Err(e) = ftrig::spawn::spawn(&argv) {
        drop(l);
        die_unable(PROG, EXIT_TEMP, b"spawn", prog, e)
    }
    let mut on_signal = || {
        while rt::sig::read(&sfd).is_some() {}
        ftrig::spawn::reap();
    };
    match l.wait_match(&mut m, deadline, Some(sfd.as_fd()), &mut on_signal) {
        Ok(c) => {
            if !rt::err::out(&[c, b'\n']) {
                Msg::fatal(PROG)
                    .s(b"unable to write to stdout")
                    .die(EXIT_TEMP)
            }
            0
        }
        Err(Errno::TIMEDOUT) => {
            drop(l);
            Msg::fatal(PROG)
                .s(b"unable to get expected event")
                .errno(Errno::TIMEDOUT)
                .die(EXIT_TIMEOUT)
        }
        Err(e) => {
            drop(l);
            die_unable(PROG, EXIT_TEMP, b"read", dir.to_bytes(), e)
        }
    }
}
