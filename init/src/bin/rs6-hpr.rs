//! rs6-hpr: `halt`, `poweroff` and `reboot`. Without `-f` it asks process 1
//! for an orderly shutdown (SIGUSR1 halt, SIGUSR2 poweroff, SIGTERM reboot:
//! busybox's signals, which rs6's process 1 understands); with `-f` it syncs
//! and calls reboot(2) at once. The action comes from the name it is called
//! by, or from `-h`, `-p`, `-r`. Manual: doc/rs6-hpr.md.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use init::shutdown::Action;
use rt::err::{EXIT_TEMP, Msg, die_usage};
use rt::getopt::{Getopt, Opt};
use rustix::process::Pid;

rt::entry!(main);

const PROG: &[u8] = b"rs6-hpr";
const USAGE: &[u8] = b"[ -h | -p | -r ] [ -f ] [ -n ] [ -d ] [ -w ] [ -W ]";

fn main(args: rt::Args) -> u8 {
    let name = args.get(0).map(|a| a.to_bytes()).unwrap_or(b"");
    let base = name.rsplit(|&c| c == b'/').next().unwrap_or(name);
    let mut action = Action::from_word(base);
    let mut force = false;
    let mut sync = true;
    let mut g = Getopt::new(args, b"hprfndwWt:");
    while let Some(o) = g.next_opt() {
        match o {
            Opt::Flag(b'h', None) => action = Some(Action::Halt),
            Opt::Flag(b'p', None) => action = Some(Action::Poweroff),
            Opt::Flag(b'r', None) => action = Some(Action::Reboot),
            Opt::Flag(b'f', None) => force = true,
            Opt::Flag(b'n', None) => sync = false,
            // -d (no wtmp), -w (wtmp only), -W (no wall), -t (busybox delay):
            // accepted, nothing to do on an rs6 image.
            Opt::Flag(b'd' | b'w' | b'W' | b't', _) => {}
            _ => die_usage(PROG, USAGE),
        }
    }
    let Some(action) = action else {
        die_usage(PROG, USAGE)
    };
    if force {
        if sync {
            rustix::fs::sync();
        }
        match rustix::system::reboot(action.command()) {
            Ok(()) => return 0,
            Err(e) => Msg::fatal(PROG)
                .unable(action.word(), b"the system")
                .errno(e)
                .die(EXIT_TEMP),
        }
    }
    let sig = match action {
        Action::Halt => rt::sig::SIGUSR1,
        Action::Poweroff => rt::sig::SIGUSR2,
        Action::Reboot => rt::sig::SIGTERM,
    };
    match rt::sig::send(Pid::INIT, sig) {
        Ok(()) => 0,
        Err(e) => Msg::fatal(PROG)
            .unable(b"signal", b"process 1")
            .errno(e)
            .die(EXIT_TEMP),
    }
}
