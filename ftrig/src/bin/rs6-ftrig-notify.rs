//! rs6-ftrig-notify: sends an event to every listener of a fifodir (s6-ftrig-notify).
//! Manual: doc/rs6-ftrig-notify.md.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use rt::err::{EXIT_TEMP, die_unable, die_usage};

rt::entry!(main);

const PROG: &[u8] = b"rs6-ftrig-notify";
const USAGE: &[u8] = b"fifodir message";

fn main(args: rt::Args) -> u8 {
    // No option parsing: s6-ftrig-notify takes its two words as they are.
    let (Some(dir), Some(msg)) = (args.get(1), args.get(2)) else {
        die_usage(PROG, USAGE)
    };
    rt::sys::sig_ignore(rt::sig::SIGPIPE);
    if let Err(e) = ftrig::fifodir::notify(dir.to_bytes(), msg.to_bytes()) {
        die_unable(PROG, EXIT_TEMP, b"notify", dir.to_bytes(), e)
    }
    0
}
