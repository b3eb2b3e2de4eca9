//! The fuzz harnesses of rs6 (issue 9): one function per parser of untrusted
//! bytes, each called by the libFuzzer target of the same name
//! (`fuzz_targets/NAME.rs`) and by `cargo test` over the corpus
//! (`corpus/NAME/`). Every harness checks properties, not only "no panic":
//! round trips, bounds, and, for the supervisor's control bytes, a model of
//! the processes the state machine believes in.
//!
//! | target | parser | reads bytes from |
//! |---|---|---|
//! | `control` | `supervise::control::Command::from_byte` → `supervise::dfa` (and `init::scan::control`) | `supervise/control`, `.s6-svscan/control` |
//! | `status` | `supervise::status::Status::parse`, `svstat::View`, `supervise::svlisten::State` | `supervise/status` |
//! | `servicedir` | `supervise::servicedir::parse_*`, `rt::sig::parse` | `notification-fd`, `timeout-*`, `max-death-tally`, `lock-fd`, `down-signal`, `nosetsid` |
//! | `death_tally` | `supervise::dtally` | `supervise/death_tally` |
//! | `svstat_fields` | `supervise::svstat::parse_list` | `rs6-svstat -o LIST` |
//! | `getopt` | `rt::getopt` with the option strings and value parsers of rs6-svc, rs6-svwait, rs6-svstat, rs6-svscan, rs6-svlisten1 | argv |
//! | `log_script` | `logger::script::Script::parse` and `select` | rs6-log's argv |
//! | `log_lines` | `logger::next_line`, `logger::line::{alert_cut, status_plan}` | rs6-log's stdin |
//! | `cmdline` | `init::cmdline::Config::parse` | `/proc/cmdline` |
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char};
use supervise::control::Command;
use supervise::dfa::{Action, Event, Machine, State};

// ---------------------------------------------------------------- helpers

/// NUL-separated words (argv can hold any byte but NUL).
fn words(data: &[u8]) -> Vec<CString> {
    data.split(|&b| b == 0)
        .map(|w| CString::new(w).expect("no NUL inside a split word"))
        .collect()
}

/// Calls `f` with an `rt::Args` over `argv` (argv\[0\] included).
fn with_args<T>(argv: &[CString], f: impl FnOnce(rt::Args) -> T) -> T {
    let mut ptrs: Vec<*const c_char> = argv.iter().map(|w| w.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let env: [*const c_char; 1] = [std::ptr::null()];
    let argc = i32::try_from(argv.len()).expect("argc fits an int");
    // SAFETY: `ptrs` holds argc valid C strings and a null; `env` is a
    // null-terminated array. `Args` claims 'static for them: they live until
    // this function returns, and `f` must not keep the Args or what it hands
    // out (the harnesses below only compare and count).
    // SAFETY: (as above) valid, null-terminated, outlived by their use.
    let args = unsafe { rt::Args::from_raw(argc, ptrs.as_ptr(), env.as_ptr()) };
    f(args)
}

/// `w` as a 'static C string, for parsers that take argv words.
///
/// # Safety
/// The result must not be used after `w` is dropped.
// SAFETY: an unsafe fn: callers uphold the contract under `# Safety`.
unsafe fn forever(w: &CStr) -> &'static CStr {
    // SAFETY: the caller keeps `w` alive as long as the result is used.
    unsafe { &*std::ptr::from_ref::<CStr>(w) }
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    for (i, d) in b.iter_mut().enumerate() {
        *d = data.get(at + i).copied().unwrap_or(0);
    }
    u64::from_le_bytes(b)
}

// ------------------------------------------------------------ control

/// The non-command events, by a byte that is no command letter.
fn non_command(b: u8) -> Event {
    match b % 7 {
        0 => Event::Timeout,
        1 => Event::Child,
        2 => Event::Ready,
        3 => Event::SigTerm,
        4 => Event::SigHup,
        5 => Event::SigQuit,
        _ => Event::SigInt,
    }
}

/// The processes a supervisor has, as its actions create and end them.
#[derive(Default, Debug)]
struct Procs {
    run: bool,
    finish: bool,
}

/// Control bytes as the supervisor reads them, driving its state machine.
///
/// Each pair of bytes is one event: the first is a control byte (a command
/// letter) or, for any other byte, one of the non-command events; the second
/// says whether a spawning action succeeds (fork can fail). A child event
/// is only delivered while a child exists, readiness only while `run`
/// runs — as in the supervisor. After every step the state must agree with
/// the processes: up states have `run` and no `finish`, finishing states
/// `finish` only, down neither. Every byte is also checked as an
/// `.s6-svscan/control` byte and as a command letter (round trip).
pub fn control(data: &[u8]) {
    for &b in data {
        if let Some(c) = Command::from_byte(b) {
            assert_eq!(c.letter(), b);
        }
        let _ = init::scan::control(b);
    }
    let mut m = Machine::new();
    let mut p = Procs::default();
    for pair in data.chunks(2) {
        let b = pair[0];
        let ok = pair.get(1).is_none_or(|&o| o & 1 == 0);
        let ev = match Command::from_byte(b) {
            Some(c) => Event::Cmd(c),
            None => non_command(b),
        };
        let up = matches!(m.state(), State::Up | State::LastUp);
        match ev {
            Event::Child if !p.run && !p.finish => continue,
            Event::Ready if !up => continue,
            _ => {}
        }
        let dying = ev == Event::Child;
        m.step(ev, |a| match a {
            Action::Start | Action::StartUp | Action::StartUpPermanent | Action::StartOnce => {
                assert!(!p.run && !p.finish, "{a:?} with {p:?}");
                p.run = ok;
                ok
            }
            Action::Died => {
                assert!(dying && p.run, "died without a death: {p:?}");
                p.run = false;
                p.finish = ok;
                ok
            }
            Action::FinishDone => {
                assert!(dying && p.finish, "finish done without its death: {p:?}");
                p.finish = false;
                true
            }
            _ => true,
        });
        match m.state() {
            State::Up | State::LastUp => assert!(p.run && !p.finish, "{:?}: {p:?}", m.state()),
            State::Finish | State::LastFinish => {
                assert!(p.finish && !p.run, "{:?}: {p:?}", m.state())
            }
            State::Down => assert!(!p.run && !p.finish, "down: {p:?}"),
            State::Exit => break,
        }
    }
}

// ------------------------------------------------------------- status

/// A `supervise/status` record (the first 35 bytes, zero-padded), then 12
/// bytes of "now" and a byte of options: the record must round-trip, every
/// reader must agree on up/ready, and what rs6-svstat prints must fit its
/// line.
pub fn status(data: &[u8]) {
    use supervise::status::{self, Death, LEN, Status};
    use supervise::svstat::{self, Field, NAMES, View};
    let mut rec = [0u8; LEN];
    for (d, s) in rec.iter_mut().zip(data) {
        *d = *s;
    }
    let st = Status::parse(&rec);
    let mut back = rec;
    back[LEN - 1] &= 0x0f;
    assert_eq!(st.emit(), back, "emit(parse(rec)) keeps every defined bit");
    assert_eq!(Status::parse(&st.emit()), st);
    match status::death(st.wstat) {
        Death::Exit(c) => assert_eq!((st.wstat & 0x7f, st.wstat >> 8), (0, u16::from(c))),
        Death::Signal(s) => assert!(s != 0 && s != 0x7f && u16::from(s) == st.wstat & 0x7f),
        Death::Other => assert_eq!(st.wstat & 0x7f, 0x7f),
    }
    let state = supervise::svlisten::State::from_status(&rec);
    assert_eq!((state.up, state.ready), (st.is_up(), st.ready));

    let mut now = [0u8; 12];
    for (d, s) in now.iter_mut().zip(data.iter().skip(LEN)) {
        *d = *s;
    }
    let now = rt::time::Tain::unpack(&now);
    let opts = data.get(LEN + 12).copied().unwrap_or(0);
    let view = View::new(st, opts & 1 != 0, now);
    assert!(view.status.stamp <= now, "stamp clamped to now");
    let _ = st.stamp.secs_until(&now);
    let _ = now.secs_until(&st.ready_stamp);
    let mut out = rt::Buf::<{ svstat::LINE_MAX }>::new();
    view.line(opts & 2 != 0, &mut out);
    assert!(out.len() < svstat::LINE_MAX, "human line cut");
    let line = out.as_bytes();
    assert!(line.starts_with(if st.is_up() { b"up (pid " } else { b"down (" }));
    let all: Vec<Field> = NAMES.iter().map(|(_, f)| *f).collect();
    for f in &all {
        out.clear();
        view.field(*f, &mut out);
        assert!(!out.is_empty());
    }
    out.clear();
    let widest = [Field::UpDownSince; svstat::MAX_FIELDS];
    view.fields(&widest, &mut out);
    assert!(out.len() < svstat::LINE_MAX, "-o line cut");
}

// --------------------------------------------------------- servicedir

/// The bytes of a service directory's small files, as the supervisor reads
/// them (at most 10 bytes of a number, 15 of a signal, 8 of `nosetsid`).
pub fn servicedir(data: &[u8]) {
    use supervise::servicedir::{self as sd, Setting};
    for content in [data, &data[..data.len().min(sd::UINT_LEN)]] {
        if let Some(n) = sd::parse_uint(content) {
            let line = rt::buf::first_line(content);
            assert!(!line.is_empty() && line.iter().all(u8::is_ascii_digit));
            let mut tmp = [0u8; 20];
            let canonical = rt::buf::fmt_u64(u64::from(n), &mut tmp);
            assert_eq!(sd::parse_uint(canonical), Some(n));
            let max = sd::death_tally_max(Setting::Value(n));
            assert!(max <= sd::MAX_DEATH_TALLY && (max == n || n > sd::MAX_DEATH_TALLY));
        }
    }
    for content in [data, &data[..data.len().min(sd::SIGNAL_LEN)]] {
        if let Some(s) = sd::parse_signal(content) {
            assert!((1..65).contains(&s), "signal {s}");
            if let Some(name) = rt::sig::name(s) {
                assert_eq!(rt::sig::parse(name), Some(s));
            }
        }
    }
    let _ = sd::parse_nosetsid(&data[..data.len().min(8)]);
    let mut out = [0u8; 6];
    if rt::buf::parse_hex(data, &mut out).is_some() {
        assert_eq!(data.len(), 12);
    }
    if let Some(n) = rt::buf::parse_u64(data) {
        let mut tmp = [0u8; 20];
        assert_eq!(rt::buf::parse_u64(rt::buf::fmt_u64(n, &mut tmp)), Some(n));
    }
}

// -------------------------------------------------------- death tally

/// `supervise/death_tally` records (14 bytes each) round-trip; the copy
/// plan for a file of any size and any `max-death-tally` stays in the file.
pub fn death_tally(data: &[u8]) {
    use supervise::dtally::{LEN, Record, plan};
    for chunk in data.chunks_exact(LEN) {
        let rec: [u8; LEN] = chunk.try_into().expect("14 bytes");
        let r = Record::parse(&rec);
        assert_eq!(r.emit(), rec);
        let wstat = u16::from_le_bytes([chunk[12], chunk[13]]);
        let n = Record::new(r.stamp, wstat);
        match supervise::status::death(wstat) {
            supervise::status::Death::Signal(s) => {
                assert_eq!((n.signal, n.exit_code), (s, s.wrapping_add(128)))
            }
            _ => assert_eq!(n.signal, 0),
        }
    }
    let size = u64_at(data, 0);
    let max = u32::try_from(u64_at(data, 8) & 0xffff_ffff).unwrap_or(0);
    let (keep, from) = plan(size, max);
    if max == 0 || !size.is_multiple_of(LEN as u64) {
        assert_eq!((keep, from), (0, 0));
    } else {
        assert!(keep < u64::from(max));
        assert_eq!(
            from + keep * LEN as u64,
            size,
            "the kept records end the file"
        );
    }
}

// ------------------------------------------------------ svstat fields

/// `rs6-svstat -o LIST`: an accepted list names at most 16 fields, each a
/// prefix of a field name.
pub fn svstat_fields(data: &[u8]) {
    use supervise::svstat::{Fields, ListError, MAX_FIELDS, NAMES, lookup, parse_list};
    let mut fields = Fields::new();
    match parse_list(data, &mut fields) {
        Ok(()) => {
            assert!(fields.len() <= MAX_FIELDS);
            let names = data.strip_suffix(b",").unwrap_or(data);
            let n = if names.is_empty() {
                0
            } else {
                names.split(|&c| c == b',').count()
            };
            assert_eq!(n, fields.len());
            for (name, f) in names.split(|&c| c == b',').zip(fields.iter()) {
                assert_eq!(lookup(name), Some(*f));
                assert!(
                    NAMES
                        .iter()
                        .any(|(n, g)| g == f && n.as_bytes().starts_with(name))
                );
            }
        }
        Err(ListError::Unknown(name)) => assert!(lookup(name).is_none()),
        Err(ListError::Null | ListError::TooMany) => {}
    }
}

// ------------------------------------------------------------- getopt

/// Option strings of rs6's tools (and the value parsing their `main`s do).
const SPECS: [&[u8]; 6] = [
    b"abqhkti12pcyroduDUxOQT:w:", // rs6-svc
    b"UudDrRaot:",                // rs6-svwait
    b"no:uwNrpest",               // rs6-svstat
    b"c:t:d:X:",                  // rs6-svscan
    b"uUdDrRt:",                  // rs6-svlisten1
    b"d:qvbpl:",                  // rs6-log
];

/// An argv (NUL-separated words; the first byte picks the tool) through
/// `rt::getopt` and the option values through the parsers the tools use.
/// The parse must end, consume words in order and leave the operands.
pub fn getopt(data: &[u8]) {
    use rt::getopt::{Getopt, Opt};
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let spec = SPECS[usize::from(which) % SPECS.len()];
    let mut argv = vec![CString::new("prog").expect("no NUL")];
    argv.extend(words(rest));
    let total: usize = argv.iter().map(|w| w.as_bytes().len() + 1).sum();
    with_args(&argv, |args| {
        let mut g = Getopt::new(args, spec);
        let mut steps = 0usize;
        let mut fields = supervise::svstat::Fields::new();
        let mut last_ind = g.ind;
        while let Some(o) = g.next_opt() {
            steps += 1;
            assert!(steps <= total, "getopt does not end");
            assert!(g.ind >= last_ind && g.ind <= argv.len());
            last_ind = g.ind;
            match o {
                Opt::Flag(c, v) => {
                    let pos = spec.iter().position(|&s| s == c && s != b':');
                    let takes = pos.is_some_and(|i| spec.get(i + 1) == Some(&b':'));
                    assert!(pos.is_some(), "flag {c} not in the spec");
                    assert_eq!(takes, v.is_some(), "argument of {c}");
                    if let Some(v) = v {
                        let _ = ftrig::parse_ms(v);
                        let _ = rt::buf::parse_u64(v).map(u32::try_from);
                        let _ = v
                            .first()
                            .map(|&c| supervise::svlisten::Mode::from_letter(c));
                        if c == b'o' {
                            let _ = supervise::svstat::parse_list(v, &mut fields);
                        }
                    } else {
                        let _ = Command::from_byte(c);
                        let _ = supervise::svlisten::Mode::from_letter(c);
                    }
                }
                Opt::Bad(c) => {
                    let pos = spec.iter().position(|&s| s == c && s != b':');
                    let takes = pos.is_some_and(|i| spec.get(i + 1) == Some(&b':'));
                    assert!(pos.is_none() || takes, "good flag {c} reported bad");
                }
            }
        }
        assert!(g.ind <= argv.len());
        let operands = g.operands().count();
        assert_eq!(operands, argv.len() - g.ind);
    });
}

// ---------------------------------------------------------- log script

/// A stand-in regex for the script parser: the pattern's bytes.
type Fake = &'static [u8];

/// rs6-log's script (NUL-separated words) through `Script::parse` with a
/// fake regex compiler (a pattern starting with `(` is invalid, one
/// starting with `)` runs out of memory), then `select` with matches
/// decided by the pattern's length. Accepted scripts must be well formed:
/// blocks cover the selections and actions in order, logdir indices exist,
/// sizes are clamped, and a line only goes to existing actions.
pub fn log_script(data: &[u8]) {
    use logger::script::{Error, RegexError, SIZE_MAX, SIZE_MIN, Script, Target};
    let ws = words(data);
    // SAFETY: `ws` outlives `script`, the only holder of these references.
    let refs: Vec<&'static CStr> = ws.iter().map(|w| unsafe { forever(w) }).collect();
    let parsed: Result<Script<Fake>, Error> =
        Script::parse(refs.iter().copied(), |re| match re.to_bytes().first() {
            Some(b'(') => Err(RegexError::Invalid),
            Some(b')') => Err(RegexError::NoMemory),
            _ => Ok(re.to_bytes()),
        });
    let Ok(script) = parsed else {
        return;
    };
    let mut sel_end = 0;
    let mut act_end = 0;
    for b in &script.blocks {
        assert_eq!(b.selections.start, sel_end, "selections in order");
        assert_eq!(b.actions.start, act_end, "actions in order");
        assert!(b.selections.end >= b.selections.start);
        assert!(b.actions.end > b.actions.start, "a block acts");
        sel_end = b.selections.end;
        act_end = b.actions.end;
    }
    assert_eq!(act_end, script.actions.len(), "every action in a block");
    assert!(sel_end <= script.selections.len());
    assert_eq!(script.extraneous, sel_end < script.selections.len());
    for a in &script.actions {
        if let Target::Logdir(i) = a.target {
            assert!(i < script.logdirs.len());
        }
    }
    for l in &script.logdirs {
        assert!((SIZE_MIN..=SIZE_MAX).contains(&l.size));
        // `l` is checked against the `s` before it only: a later `s` may
        // lower the size below 2·l, as s6-log accepts (found by this target).
        assert!(matches!(l.dir.to_bytes().first(), Some(b'.' | b'/')));
    }
    for salt in 0..3usize {
        let mask = script.select(|re| (re.len() + salt) % 3 == 0);
        let n = script.actions.len();
        assert!(n == 32 || mask >> n == 0, "mask {mask:#x} for {n} actions");
    }
    let _ = script.has_stdout();
    drop(script);
    drop(ws);
}

// ----------------------------------------------------------- log lines

/// rs6-log's stdin cut into lines for a line limit (two first bytes): each
/// line is at most the limit, holds no newline, and the lines (with the
/// newlines consumed) are exactly the input. Then the alert cut and the
/// status-file plan for numbers from the input.
pub fn log_lines(data: &[u8]) {
    use logger::line::{alert_cut, status_plan};
    if data.len() < 2 {
        return;
    }
    let limit = usize::from(u16::from_le_bytes([data[0], data[1]])).max(1);
    let mut rest = &data[2..];
    let mut rebuilt = Vec::with_capacity(rest.len());
    while let Some((len, used)) = logger::next_line(rest, limit) {
        assert!(len <= limit && len <= used && used <= rest.len() && used > 0);
        assert!(!rest[..len].contains(&b'\n'));
        assert!(used == len || (used == len + 1 && rest[len] == b'\n'));
        rebuilt.extend_from_slice(&rest[..used]);
        rest = &rest[used..];
    }
    assert!(
        rest.len() <= limit && !rest.contains(&b'\n'),
        "a whole line was left"
    );
    rebuilt.extend_from_slice(rest);
    assert_eq!(rebuilt, &data[2..]);
    let n = u64_at(data, 2) as usize;
    let e = u32::try_from(u64_at(data, 10) & 0xffff_ffff).unwrap_or(0);
    if let Some(cut) = alert_cut(n, e) {
        assert!(cut + 3 < n && cut > 0);
    }
    let total = n % (1 << 20) + 1;
    let (keep, pad) = status_plan(total, e);
    assert!(keep <= total);
    if e != 0 && total <= e as usize {
        assert_eq!(keep + pad, e as usize);
    }
}

// ------------------------------------------------------------ cmdline

/// The kernel command line as rs6-init parses it: no panic, and every
/// unknown `rs6.` word counted.
pub fn cmdline(data: &[u8]) {
    let (c, r) = init::cmdline::Config::parse(data);
    let rs6_words = data
        .split(u8::is_ascii_whitespace)
        .filter(|w| w.starts_with(b"rs6."))
        .count();
    assert!(r.bad_words as usize <= rs6_words);
    assert!(c.grace_ms <= init::cmdline::GRACE_MS_MAX);
}

/// A harness: one input, checked (panics on a property violation).
pub type Harness = fn(&[u8]);

/// Every target, by name (what `cargo xtask fuzz` runs).
pub const TARGETS: &[(&str, Harness)] = &[
    ("control", control),
    ("status", status),
    ("servicedir", servicedir),
    ("death_tally", death_tally),
    ("svstat_fields", svstat_fields),
    ("getopt", getopt),
    ("log_script", log_script),
    ("log_lines", log_lines),
    ("cmdline", cmdline),
];

// -------------------------------------------------------------- tests

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Replays every file of `corpus/NAME/` through the harness.
    fn replay(name: &str, f: fn(&[u8])) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(name);
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.expect("entry").path();
            f(&std::fs::read(&p).expect("read corpus file"));
            n += 1;
        }
        assert!(n > 0, "empty corpus {}", dir.display());
    }

    #[test]
    fn corpus_replays() {
        for (name, f) in crate::TARGETS {
            replay(name, *f);
        }
    }
}
