//! `rs6-svok DIR`: exits 0 if a supervisor (rs6's or s6's) runs on DIR, 1 if
//! not, as s6-svok 2.11: the test is an `F_GETLK` on `DIR/supervise/lock`.
//! Like s6-svok it takes no options: the first argument is the directory.
//!
//! # References
//! doc/rs6-svok.md; s6: s6-svok.html; ../shared/spec/s6-compat.md §2.4.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use rt::err::{EXIT_TEMP, Msg};

rt::entry!(main);

const PROG: &[u8] = b"rs6-svok";

fn main(args: rt::Args) -> u8 {
    let Some(dir) = args.get(1) else {
        rt::err::die_usage(PROG, b"servicedir")
    };
    match supervise::control::is_supervised(dir.to_bytes()) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => Msg::fatal(PROG)
            .unable(b"check", dir.to_bytes())
            .errno(e)
            .die(EXIT_TEMP),
    }
}
