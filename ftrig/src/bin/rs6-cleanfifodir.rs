//! rs6-cleanfifodir: removes the fifos of dead listeners from a fifodir
//! (s6-cleanfifodir). Manual: doc/rs6-cleanfifodir.md.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use rt::err::{EXIT_TEMP, die_unable, die_usage};

rt::entry!(main);

const PROG: &[u8] = b"rs6-cleanfifodir";
const USAGE: &[u8] = b"fifodir";

fn main(args: rt::Args) -> u8 {
    let Some(dir) = args.get(1) else {
        die_usage(PROG, USAGE)
    };
    if let Err(e) = ftrig::fifodir::clean(dir.to_bytes()) {
        die_unable(PROG, EXIT_TEMP, b"clean up fifodir at", dir.to_bytes(), e)
    }
    0
}
