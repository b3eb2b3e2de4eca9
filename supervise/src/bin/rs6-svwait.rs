//! rs6-svwait: waits until services are up, ready, down or finished
//! (s6-svwait). Manual: doc/rs6-svwait.md.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use rt::err::{EXIT_TEMP, EXIT_USAGE, Msg, die_unable, die_usage};
use rt::getopt::{Getopt, Opt};
use supervise::svlisten::{self, ListenError, MAX_SERVICES, Mode, Service, WaitError};

rt::entry!(main);

const PROG: &[u8] = b"rs6-svwait";
const USAGE: &[u8] = b"[ -U | -u | -d | -D | -r | -R ] [ -a | -o ] [ -t timeout ] servicedir...";
/// s6-svwait's exit code on timeout.
const EXIT_TIMEOUT: u8 = 99;

fn main(args: rt::Args) -> u8 {
    let mut mode = Mode::Up;
    let mut or = false;
    let mut ms = 0;
    let mut g = Getopt::new(args, b"UudDrRaot:");
    while let Some(o) = g.next_opt() {
        match o {
            Opt::Flag(b'a', _) => or = false,
            Opt::Flag(b'o', _) => or = true,
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
    if g.operands().next().is_none() {
        die_usage(PROG, USAGE)
    }
    let deadline = ftrig::deadline(ms);
    let mut services: heapless::Vec<Service, MAX_SERVICES> = heapless::Vec::new();
    for dir in g.operands() {
        let s = match Service::listen(dir) {
            Ok(s) => s,
            Err(ListenError::Subscribe(e)) => {
                drop(services);
                die_unable(PROG, EXIT_TEMP, b"subscribe to events for", dir, e)
            }
            Err(ListenError::Status(e)) => {
                drop(services);
                Msg::fatal(PROG)
                    .s(b"unable to s6_svstatus_read")
                    .errno(e)
                    .die(EXIT_TEMP)
            }
        };
        if services.push(s).is_err() {
            drop(services);
            Msg::fatal(PROG)
                .s(b"too many services (max ")
                .u(MAX_SERVICES as u64)
                .s(b")")
                .die(EXIT_USAGE)
        }
    }
    let r = svlisten::svwait(&mut services, mode, or, deadline);
    drop(services);
    match r {
        Ok(0) => 0,
        // s6 exits with the number of failures (mod 256), not 102.
        Ok(n) => Msg::fatal(PROG)
            .s(b"some services reported permanent failure or their supervisor died")
            .die((n & 0xff) as u8),
        Err(WaitError::Timeout) => Msg::fatal(PROG).s(b"timed out").die(EXIT_TIMEOUT),
        Err(WaitError::Sys(e)) => Msg::fatal(PROG)
            .s(b"unable to wait for events")
            .errno(e)
            .die(EXIT_TEMP),
    }
}
