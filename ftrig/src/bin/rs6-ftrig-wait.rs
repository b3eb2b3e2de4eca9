//! rs6-ftrig-wait: waits on a fifodir for events matching a regular
//! expression (s6-ftrig-wait). Manual: doc/rs6-ftrig-wait.md.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use ftrig::listener::Listener;
use ftrig::pattern::Matcher;
use rt::err::{EXIT_TEMP, Msg, die_usage};
use rt::getopt::{Getopt, Opt};
use rustix::io::Errno;

rt::entry!(main);

const PROG: &[u8] = b"rs6-ftrig-wait";
const USAGE: &[u8] = b"[ -t timeout ] fifodir regexp";
/// s6-ftrig-wait's exit code on timeout.
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
    let (Some(dir), Some(re)) = (args.get(g.ind), args.get(g.ind + 1)) else {
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
    match l.wait_match(&mut m, deadline, None, &mut || {}) {
        Ok(c) => {
            if !rt::err::out(&[c, b'\n']) {
                Msg::fatal(PROG)
                    .s(b"unable to write to stdout")
                    .die(EXIT_TEMP)
            }
            0
        }
        Err(e) => {
            let code = if e == Errno::TIMEDOUT {
                EXIT_TIMEOUT
            } else {
                EXIT_TEMP
            };
            drop(l);
            Msg::fatal(PROG)
                .unable(b"match regexp on", re.to_bytes())
                .errno(e)
                .die(code)
        }
    }
}
