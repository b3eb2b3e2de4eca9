//! rs6-log: reads lines on stdin and acts on them per an s6-log script.
//!
//! Setup (options, script, logdirs, signals, readiness), then one poll loop
//! over the signalfd, stdin and stdout, with one deadline: the earliest
//! logdir retry. See doc/rs6-log.md and the `logger` crate manual.
#![no_std]
#![no_main]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::ffi::CStr;
use heapless::Vec;
use logger::line::{ALERT_HEAD, ISO_MAX, Stamps, TAI_LEN, alert_cut, status_plan};
use logger::logdir::Logdir;
use logger::musl::{Regex, localtime};
use logger::queue::Queue;
use logger::script::{Error, MAX_LOGDIRS, Script, Target};
use logger::{
    ALERT_CAP, DEFAULT_LINE_LIMIT, IN_CAP, LINE_CAP, LINE_LIMIT_MIN, OUT_CAP, PATH_CAP, PROG,
};
use rt::Buf;
use rt::err::{EXIT_TEMP, EXIT_USAGE, Msg};
use rt::getopt::{Getopt, Opt};
use rt::sig;
use rt::time::{Tain, now_ms, until};
use rustix::event::{PollFd, PollFlags, poll};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

rt::entry!(main);

const USAGE: &[u8] =
    b"[ -d notif ] [ -q | -v ] [ -b ] [ -p ] [ -l linelimit ] [ -- ] logging_script";

/// How much of stdin rs6-log still reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Everything, until EOF or a signal.
    All,
    /// After SIGTERM/SIGHUP with half a line held: byte by byte until its `\n`.
    LastLine,
    /// Nothing more; exit once everything held is written.
    Done,
}

/// Everything a line can go to.
struct Sinks {
    logdirs: Vec<Logdir<OUT_CAP>, MAX_LOGDIRS>,
    stdout: Queue<OUT_CAP>,
    stdout_ok: bool,
    quiet: bool,
    scratch: Buf<ALERT_CAP>,
}

struct Logger {
    script: Script<Regex>,
    has_regex: bool,
    sinks: Sinks,
    input: Queue<IN_CAP>,
    limit: usize,
    block: bool,
    protect: bool,
    reading: Reading,
}

fn main(args: rt::Args) -> u8 {
    let mut g = Getopt::new(args, b"d:qvbpl:");
    let (mut notif, mut verbosity, mut block, mut protect) = (None, 1u32, false, false);
    let mut limit = DEFAULT_LINE_LIMIT;
    while let Some(opt) = g.next_opt() {
        match opt {
            Opt::Flag(b'd', Some(a)) => match rt::buf::parse_u64(a) {
                Some(n) => notif = Some(n),
                None => rt::err::die_usage(PROG, USAGE),
            },
            Opt::Flag(b'q', _) => verbosity = verbosity.saturating_sub(1),
            Opt::Flag(b'v', _) => verbosity = verbosity.saturating_add(1),
            Opt::Flag(b'b', _) => block = true,
            Opt::Flag(b'p', _) => protect = true,
            Opt::Flag(b'l', Some(a)) => match rt::buf::parse_u64(a) {
                Some(n) => limit = usize::try_from(n).unwrap_or(LINE_CAP),
                None => rt::err::die_usage(PROG, USAGE),
            },
            _ => rt::err::die_usage(PROG, USAGE),
        }
    }
    if g.ind >= args.len() {
        rt::err::die_usage(PROG, USAGE);
    }
    let quiet = verbosity == 0;
    limit = match limit {
        0 => LINE_CAP,
        n => n.clamp(LINE_LIMIT_MIN, LINE_CAP),
    };
    let notif = notif.map(check_notif);

    let words = (g.ind..args.len()).filter_map(move |i| args.get(i));
    let script = match Script::parse(words, |re: &'static CStr| Regex::new(re)) {
        Ok(s) => s,
        Err(e) => die_script(e),
    };
    if script.extraneous && !quiet {
        Msg::warn(PROG)
            .s(b"ignoring extraneous non-action directives")
            .emit();
    }
    set_nonblocking(0, b"stdin");
    let stdout_ok = script.has_stdout();
    if stdout_ok {
        set_nonblocking(1, b"stdout");
    }
    let mut logger = Logger {
        has_regex: !script
            .selections
            .iter()
            .all(|s| matches!(s, logger::script::Selection::Fresh)),
        sinks: Sinks {
            logdirs: Vec::new(),
            stdout: Queue::new(),
            stdout_ok,
            quiet,
            scratch: Buf::new(),
        },
        input: Queue::new(),
        limit,
        block,
        protect,
        reading: Reading::All,
        script,
    };
    for cfg in logger.script.logdirs.iter() {
        match Logdir::open(*cfg, quiet) {
            Ok(ld) => {
                if logger.sinks.logdirs.push(ld).is_err() {
                    Msg::fatal(PROG).s(b"too many logdirs").die(EXIT_USAGE);
                }
            }
            Err(e) => {
                let mut m = Msg::fatal(PROG)
                    .s(b"unable to ")
                    .s(e.verb)
                    .s(b" ")
                    .s(cfg.dir.to_bytes());
                if !e.file.is_empty() {
                    m = m.s(b"/").s(e.file);
                }
                m.errno(e.errno).die(EXIT_TEMP)
            }
        }
    }
    let sigfd = match sig::catch(&[sig::SIGTERM, sig::SIGHUP, sig::SIGALRM, sig::SIGCHLD]) {
        Ok(fd) => fd,
        Err(e) => rt::err::die_unable(PROG, EXIT_TEMP, b"create", b"signalfd", e),
    };
    if let Some(fd) = notif {
        // Readiness: one newline, then the fd is closed (s6's notification-fd).
        let _ = rustix::io::write(&fd, b"\n");
        drop(fd);
    }
    logger.run(&sigfd)
}

/// Validates `-d`: at least 3 and open (s6-log: exit 100 otherwise).
fn check_notif(n: u64) -> OwnedFd {
    let fd = match i32::try_from(n) {
        Ok(fd) if fd >= 3 => fd,
        _ => Msg::fatal(PROG)
            .s(b"notification fd must be 3 or more")
            .die(EXIT_USAGE),
    };
    if let Err(e) = rustix::io::fcntl_getfd(rt::sys::borrow_fd(fd)) {
        Msg::fatal(PROG)
            .s(b"invalid notification fd")
            .errno(e)
            .die(EXIT_USAGE);
    }
    rt::sys::own_fd(fd)
}

fn die_script(e: Error) -> ! {
    let m = Msg::fatal(PROG);
    match e {
        Error::Unrecognized(w) => m.s(b"unrecognized directive: ").s(w).die(EXIT_USAGE),
        Error::Syntax(w) => m.s(b"syntax error at directive: ").s(w).die(EXIT_USAGE),
        Error::NoAction => m.s(b"no action directive specified").die(EXIT_USAGE),
        Error::Conflict(w) => m
            .s(b"directive ")
            .s(w)
            .s(b" conflicts with previous s directive")
            .die(EXIT_USAGE),
        Error::TooMany(w) => m
            .s(b"script too large for rs6-log at directive: ")
            .s(w)
            .die(EXIT_USAGE),
        Error::NoMemory => m
            .s(b"unable to initialize script")
            .errno(Errno::NOMEM)
            .die(EXIT_TEMP),
    }
}

fn set_nonblocking(fd: i32, name: &[u8]) {
    let fd = rt::sys::borrow_fd(fd);
    let r = rustix::fs::fcntl_getfl(fd)
        .and_then(|fl| rustix::fs::fcntl_setfl(fd, fl | OFlags::NONBLOCK));
    if let Err(e) = r {
        rt::err::die_unable(PROG, EXIT_TEMP, b"set non-blocking", name, e);
    }
}

impl Logger {
    /// The loop: process, write, exit when done, else wait for the next event.
    fn run(&mut self, sigfd: &OwnedFd) -> u8 {
        loop {
            let now = now_ms();
            let stuck = self.process(now);
            self.sinks.flush(now);
            if self.reading == Reading::Done && !stuck && !self.sinks.busy() {
                let mut done = true;
                for ld in self.sinks.logdirs.iter_mut() {
                    done &= ld.finalize(now);
                }
                if done {
                    return 0;
                }
            }
            let read = self.reading != Reading::Done
                && !stuck
                && !(self.block && self.sinks.busy())
                && self.input.room() > 0;
            let write = self.sinks.stdout_ok && !self.sinks.stdout.is_empty();
            let deadline = self.sinks.wake_at(self.reading == Reading::Done);
            let timeout = deadline.map(until);
            let (sig_ev, in_ev) = {
                let stdin = rt::sys::borrow_fd(0);
                let stdout = rt::sys::borrow_fd(1);
                let mut fds: Vec<PollFd<'_>, 3> = Vec::new();
                let _ = fds.push(PollFd::new(sigfd, PollFlags::IN));
                if read {
                    let _ = fds.push(PollFd::new(&stdin, PollFlags::IN));
                }
                if write {
                    let _ = fds.push(PollFd::new(&stdout, PollFlags::OUT));
                }
                match poll(&mut fds, timeout.as_ref()) {
                    Ok(_) | Err(Errno::INTR) => {}
                    Err(e) => rt::err::die_unable(PROG, EXIT_TEMP, b"poll", b"", e),
                }
                let ev = |i: usize| fds.get(i).is_some_and(|f| !f.revents().is_empty());
                (ev(0), read && ev(1))
            };
            if sig_ev {
                self.signals(sigfd);
            }
            if in_ev {
                self.read_stdin();
            }
        }
    }

    fn signals(&mut self, sigfd: &OwnedFd) {
        while let Some(si) = sig::read(sigfd) {
            let now = now_ms();
            match si.signo {
                sig::SIGTERM if self.protect => {}
                sig::SIGTERM | sig::SIGHUP => self.stop_reading(),
                sig::SIGALRM => {
                    for ld in self.sinks.logdirs.iter_mut() {
                        ld.alarm(now);
                    }
                }
                sig::SIGCHLD => {
                    while let Ok(Some((pid, status))) =
                        rustix::process::wait(rustix::process::WaitOptions::NOHANG)
                    {
                        for ld in self.sinks.logdirs.iter_mut() {
                            if ld.reap(pid, status, now) {
                                break;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The unfinished line at the end of the input queue, in bytes.
    fn tail_len(&self) -> usize {
        let d = self.input.data();
        match d.iter().rposition(|&c| c == b'\n') {
            Some(i) => d.len() - i - 1,
            None => d.len(),
        }
    }

    /// SIGTERM/SIGHUP: finish the line being read, if any, then stop.
    fn stop_reading(&mut self) {
        if self.reading == Reading::All {
            self.reading = if self.tail_len() == 0 {
                Reading::Done
            } else {
                Reading::LastLine
            };
        }
    }

    fn read_stdin(&mut self) {
        let last = self.reading == Reading::LastLine;
        let spare = self.input.spare();
        let want = if last {
            spare.len().min(1)
        } else {
            spare.len()
        };
        let Some(buf) = spare.get_mut(..want) else {
            return;
        };
        match rustix::io::read(rt::sys::borrow_fd(0), &mut *buf) {
            Ok(0) => self.reading = Reading::Done,
            Ok(n) => {
                let newline = buf.get(n - 1) == Some(&b'\n');
                self.input.commit(n);
                if last {
                    if newline {
                        self.reading = Reading::Done;
                    } else if self.tail_len() >= self.limit {
                        // s6-log: "input line too long, stopping before the end"
                        let _ = self.input.push(&[b"\n"]);
                        self.reading = Reading::Done;
                    }
                }
            }
            Err(Errno::AGAIN | Errno::INTR) => {}
            Err(e) => {
                if e != Errno::PIPE && !self.sinks.quiet {
                    Msg::warn(PROG)
                        .unable(b"read", b"from stdin")
                        .errno(e)
                        .emit();
                }
                self.reading = Reading::Done;
            }
        }
    }

    /// Runs the script on each complete line held. True when a line is left
    /// because an output it goes to has no room (backpressure).
    fn process(&mut self, now: u64) -> bool {
        loop {
            let data = self.input.data();
            let Some((len, used)) = logger::next_line(data, self.limit) else {
                return false;
            };
            let line = data.get(..len).unwrap_or(&[]);
            if !self.sinks.emit(&self.script, self.has_regex, line, now) {
                return true;
            }
            self.input.consume(used);
        }
    }
}

impl Sinks {
    /// Whether something is queued or a rotation runs.
    fn busy(&self) -> bool {
        (self.stdout_ok && !self.stdout.is_empty()) || self.logdirs.iter().any(|l| l.busy())
    }

    /// The earliest logdir retry, if a logdir waits for one. At exit
    /// (`exiting`), a logdir whose finalization failed waits too.
    fn wake_at(&self, exiting: bool) -> Option<u64> {
        self.logdirs
            .iter()
            .filter_map(|l| {
                l.wake_at().or_else(|| {
                    (exiting && l.rot() != logger::logdir::Rot::Finalized).then_some(l.retry_at())
                })
            })
            .min()
    }

    fn flush(&mut self, now: u64) {
        for ld in self.logdirs.iter_mut() {
            ld.service(now);
        }
        self.flush_stdout();
    }

    fn flush_stdout(&mut self) {
        while self.stdout_ok && !self.stdout.is_empty() {
            match rustix::io::write(rt::sys::borrow_fd(1), self.stdout.data()) {
                Ok(n) => self.stdout.consume(n.max(1)),
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return,
                Err(e) => {
                    // s6-log: the `1` directive is ignored from then on.
                    Msg::warn(PROG)
                        .s(b"unable to write to stdout, closing the stream - error was")
                        .errno(e)
                        .emit();
                    self.stdout_ok = false;
                    self.stdout.consume(usize::MAX);
                }
            }
        }
    }

    /// Sends `line` to the actions the script selects for it, or to none
    /// (returning false) if one of their queues has no room even after a
    /// write attempt.
    fn emit(&mut self, script: &Script<Regex>, has_regex: bool, line: &[u8], now: u64) -> bool {
        let mask = {
            let cline = if has_regex {
                // regexec wants a C string; like s6-log, it sees the line up to a NUL.
                let upto = line.iter().position(|&c| c == 0).unwrap_or(line.len());
                self.scratch.clear();
                self.scratch.push(line.get(..upto).unwrap_or(&[]));
                self.scratch.c_str()
            } else {
                None
            };
            script.select(|re| cline.is_some_and(|c| re.is_match(c)))
        };
        let fired = || {
            script
                .actions
                .iter()
                .enumerate()
                .filter(move |(i, _)| mask & (1u32 << (*i as u32 & 31)) != 0)
                .map(|(_, a)| a)
        };
        let (mut tai, mut iso) = (false, false);
        for a in fired() {
            tai |= a.tai;
            iso |= a.iso;
            let need = TAI_LEN + ISO_MAX + a.prefix.len() + 1 + line.len() + 1;
            match a.target {
                Target::Stdout if self.stdout_ok && self.stdout.room() < need => {
                    self.flush_stdout();
                    if self.stdout_ok && self.stdout.room() < need {
                        return false;
                    }
                }
                Target::Logdir(k) => {
                    let Some(ld) = self.logdirs.get_mut(k) else {
                        continue;
                    };
                    if ld.out.room() < need {
                        ld.service(now);
                        if ld.out.room() < need {
                            return false;
                        }
                    }
                }
                _ => {}
            }
        }
        let stamp = if tai || iso {
            Tain::now()
        } else {
            Tain::default()
        };
        let local = if iso {
            localtime(stamp.unix_sec())
        } else {
            None
        };
        let st = Stamps::new(&stamp, local.as_ref());
        for a in fired() {
            let [h0, h1, h2, h3] = st.head(a);
            match a.target {
                Target::Stdout => {
                    if self.stdout_ok {
                        self.stdout.push(&[h0, h1, h2, h3, line, b"\n"]);
                    }
                }
                Target::Logdir(k) => {
                    if let Some(ld) = self.logdirs.get_mut(k) {
                        ld.out.push(&[h0, h1, h2, h3, line, b"\n"]);
                    }
                }
                Target::Alert { len } => {
                    let b = &mut self.scratch;
                    b.clear();
                    b.push(ALERT_HEAD).push(h0).push(h1).push(h2).push(h3);
                    match alert_cut(line.len(), len) {
                        Some(n) => b.push(line.get(..n).unwrap_or(line)).push(b"...\n"),
                        None => b.push(line).push(b"\n"),
                    };
                    // s6-log: "if it blocks, too bad".
                    let _ = rt::err::write_all(2, b.as_bytes());
                }
                Target::Status { file, len } => {
                    let r = write_status(file, &[h0, h1, h2, h3, line, b"\n"], len);
                    if let Err(e) = r
                        && !self.quiet
                    {
                        Msg::warn(PROG)
                            .s(b"unable to write status file ")
                            .s(file.to_bytes())
                            .errno(e)
                            .emit();
                    }
                }
            }
        }
        true
    }
}

/// `=FILE`: writes the record to `FILE.new`, cut or padded with newlines to
/// `size` bytes, and renames it to FILE (s6-log's `openwritevnclose_suffix`).
fn write_status(file: &CStr, parts: &[&[u8]], size: u32) -> Result<(), Errno> {
    let mut tmp: Buf<PATH_CAP> = Buf::new();
    if !tmp.try_push(file.to_bytes()) || !tmp.try_push(b".new") {
        return Err(Errno::NAMETOOLONG);
    }
    let tmp = tmp.c_str().ok_or(Errno::NAMETOOLONG)?;
    let fd = rustix::fs::open(
        tmp,
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    )?;
    let total = parts.iter().map(|p| p.len()).sum();
    let (mut keep, mut pad) = status_plan(total, size);
    for p in parts {
        let n = keep.min(p.len());
        write_all(&fd, p.get(..n).unwrap_or(&[]))?;
        keep -= n;
    }
    const NL: [u8; 256] = [b'\n'; 256];
    while pad > 0 {
        let n = pad.min(NL.len());
        write_all(&fd, NL.get(..n).unwrap_or(&[]))?;
        pad -= n;
    }
    drop(fd);
    rustix::fs::rename(tmp, file)
}

fn write_all(fd: &OwnedFd, mut b: &[u8]) -> Result<(), Errno> {
    while !b.is_empty() {
        match rustix::io::write(fd.as_fd(), b) {
            Ok(0) => return Err(Errno::IO),
            Ok(n) => b = b.get(n..).unwrap_or(&[]),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
