//! `rs6-svstat [ -uwNrpest | -o fields ] [ -n ] DIR`: prints the state of a
//! supervised service, byte for byte as s6-svstat 2.11 does.
//!
//! # References
//! doc/rs6-svstat.md; s6: s6-svstat.html; ../shared/spec/s6-compat.md §7.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use rt::err::{EXIT_TEMP, EXIT_USAGE, Msg};
use rt::getopt::{Getopt, Opt};
use rustix::fs::Access;
use rustix::io::Errno;
use supervise::svstat::{self, Field, Fields, ListError, View};

rt::entry!(main);

const PROG: &[u8] = b"rs6-svstat";
const USAGE: &[u8] = b"[ -uwNrpest | -o up,wantedup,normallyup,ready,paused,pid,exitcode,signal,signum,updownsince,readysince,updownfor,readyfor ] [ -n ] servicedir";

fn list_error(e: ListError<'_>) -> ! {
    let m = Msg::fatal(PROG);
    match e {
        ListError::Null => m.s(b"invalid null option field"),
        ListError::Unknown(name) => m.s(b"invalid option field: ").s(name),
        ListError::TooMany => m.s(b"too many option fields"),
    }
    .die(EXIT_USAGE)
}

fn main(args: rt::Args) -> u8 {
    let mut numeric = false;
    let mut fields = Fields::new();
    let mut g = Getopt::new(args, b"no:uwNrpest");
    while let Some(opt) = g.next_opt() {
        let f = match opt {
            Opt::Flag(b'n', _) => {
                numeric = true;
                continue;
            }
            Opt::Flag(b'o', Some(list)) => {
                if let Err(e) = svstat::parse_list(list, &mut fields) {
                    list_error(e)
                }
                continue;
            }
            Opt::Flag(b'u', _) => Field::Up,
            Opt::Flag(b'w', _) => Field::WantedUp,
            Opt::Flag(b'N', _) => Field::NormallyUp,
            Opt::Flag(b'r', _) => Field::Ready,
            Opt::Flag(b'p', _) => Field::Pid,
            Opt::Flag(b'e', _) => Field::ExitCode,
            Opt::Flag(b's', _) => Field::Signal,
            Opt::Flag(b't', _) => Field::UpDownFor,
            _ => rt::err::die_usage(PROG, USAGE),
        };
        if let Err(e) = svstat::add(&mut fields, f) {
            list_error(e)
        }
    }
    let Some(dir) = g.operands().next() else {
        rt::err::die_usage(PROG, USAGE)
    };
    match supervise::control::is_supervised(dir) {
        Ok(true) => {}
        Ok(false) => Msg::fatal(PROG)
            .unable(b"read status for", dir)
            .s(b": s6-supervise not running")
            .die(1),
        Err(e) => Msg::fatal(PROG)
            .unable(b"check", dir)
            .errno(e)
            .die(EXIT_TEMP),
    }
    let mut path = rt::Buf::<{ supervise::control::PATH_MAX }>::new();
    path.push(dir).push(b"/supervise/status");
    let status = match path
        .c_str()
        .ok_or(Errno::NAMETOOLONG)
        .and_then(supervise::status::read)
    {
        Ok(st) => st,
        Err(e) => Msg::fatal(PROG)
            .unable(b"read status for", dir)
            .errno(e)
            .die(EXIT_TEMP),
    };
    let now = rt::time::Tain::now();
    path.clear();
    path.push(dir).push(b"/down");
    let normally_up = match path.c_str().map(|p| rustix::fs::access(p, Access::EXISTS)) {
        Some(Ok(())) => false,
        Some(Err(Errno::NOENT)) => true,
        Some(Err(e)) => Msg::fatal(PROG)
            .unable(b"access", dir)
            .s(b"/down")
            .errno(e)
            .die(EXIT_TEMP),
        None => Msg::fatal(PROG)
            .unable(b"access", dir)
            .errno(Errno::NAMETOOLONG)
            .die(EXIT_TEMP),
    };
    let view = View::new(status, normally_up, now);
    let mut out = rt::Buf::<{ svstat::LINE_MAX }>::new();
    if fields.is_empty() {
        view.line(numeric, &mut out);
    } else {
        view.fields(&fields, &mut out);
    }
    out.push(b"\n");
    if !rt::err::out(out.as_bytes()) {
        Msg::fatal(PROG)
            .s(b"unable to write to stdout")
            .die(EXIT_TEMP)
    }
    0
}
