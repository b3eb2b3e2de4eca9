//! rs6-mkfifodir: creates a fifodir, public or for one group (s6-mkfifodir).
//! Manual: doc/rs6-mkfifodir.md.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use rt::err::{EXIT_TEMP, die_unable, die_usage};
use rt::getopt::{Getopt, Opt};

rt::entry!(main);

const PROG: &[u8] = b"rs6-mkfifodir";
const USAGE: &[u8] = b"[ -f ] [ -g gid ] fifodir";

fn main(args: rt::Args) -> u8 {
    let mut force = false;
    let mut gid = None;
    let mut g = Getopt::new(args, b"fg:");
    while let Some(o) = g.next_opt() {
        match o {
            Opt::Flag(b'f', _) => force = true,
            Opt::Flag(b'g', Some(v)) => match ftrig::parse_ms(v) {
                // (-1 means "no group" to s6, as no -g.)
                Some(u32::MAX) => gid = None,
                Some(n) => gid = Some(rustix::fs::Gid::from_raw(n)),
                None => die_usage(PROG, USAGE),
            },
            _ => die_usage(PROG, USAGE),
        }
    }
    let Some(dir) = g.operands().next() else {
        die_usage(PROG, USAGE)
    };
    if let Err(e) = ftrig::fifodir::create(dir, gid, force) {
        die_unable(PROG, EXIT_TEMP, b"create fifodir at", dir, e)
    }
    0
}
