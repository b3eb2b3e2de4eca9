//! rs6-svscanctl: sends commands to a running rs6-svscan (or s6-svscan)
//! through `SCANDIR/.s6-svscan/control`. Manual: doc/rs6-svscanctl.md.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use rt::Buf;
use rt::ctl::{self, CtlError};
use rt::err::{EXIT_TEMP, EXIT_USAGE, Msg, die_usage};
use rt::getopt::{Getopt, Opt};

rt::entry!(main);

const PROG: &[u8] = b"rs6-svscanctl";
const USAGE: &[u8] = b"[ -zabhitqnN ] scandir";
/// s6-svscanctl's limit on command letters.
const MAX_COMMANDS: usize = 64;

fn main(args: rt::Args) -> u8 {
    let mut cmds: Buf<MAX_COMMANDS> = Buf::new();
    // p r s 0 6 7 8 are in s6-svscanctl 2.11's option string but lead to a
    // usage exit: kept that way (../shared/spec/s6-compat.md §12.8).
    let mut g = Getopt::new(args, b"zabhitqnNprs0678");
    while let Some(o) = g.next_opt() {
        match o {
            Opt::Flag(c @ (b'z' | b'a' | b'b' | b'h' | b'i' | b't' | b'q' | b'n' | b'N'), None) => {
                if !cmds.try_push(&[c]) {
                    Msg::fatal(PROG).s(b"too many commands").die(EXIT_USAGE);
                }
            }
            _ => die_usage(PROG, USAGE),
        }
    }
    let Some(dir) = g.operands().next() else {
        die_usage(PROG, USAGE)
    };
    match ctl::send(dir, b".s6-svscan", cmds.as_bytes()) {
        Ok(()) => 0,
        Err(CtlError::NotListening) => Msg::fatal(PROG)
            .s(b"unable to control ")
            .s(dir)
            .s(b": supervisor not listening")
            .die(EXIT_USAGE),
        Err(CtlError::Broken(e)) => Msg::fatal(PROG)
            .s(b"something is wrong with the ")
            .s(dir)
            .s(b"/.s6-svscan directory")
            .errno(e)
            .die(EXIT_USAGE),
        Err(CtlError::Sys(e)) => Msg::fatal(PROG)
            .unable(b"control", dir)
            .errno(e)
            .die(EXIT_TEMP),
    }
}
