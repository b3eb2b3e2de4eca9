//! What `rs6-svstat` prints: s6-svstat 2.11's human line and its `-o` fields,
//! as plain functions of a [`Status`], the presence of `./down` and the time.
//!
//! # References
//! doc/rs6-svstat.md; s6: s6-svstat.html, src/supervision/s6-svstat.c (2.11);
//! ../shared/spec/s6-compat.md §7.

use crate::status::{Death, Status, death};
use rt::Buf;
use rt::time::Tain;

/// Most fields one command line may ask for (s6's MAXFIELDS).
pub const MAX_FIELDS: usize = 16;
/// Capacity of the printed line.
pub const LINE_MAX: usize = 512;

/// One `-o` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `up` (`-u`): `true` iff `run` runs (a pid, not finishing).
    Up,
    /// `wantedup` (`-w`): the want-up flag.
    WantedUp,
    /// `normallyup` (`-N`): no `./down` file.
    NormallyUp,
    /// `ready` (`-r`): a pid and the ready flag.
    Ready,
    /// `paused`: the paused flag.
    Paused,
    /// `pid` (`-p`): the pid when up, else -1.
    Pid,
    /// `exitcode` (`-e`): the exit code when down after an exit, else -1.
    ExitCode,
    /// `signal` (`-s`): `SIGNAME` when down after a signal, else `NA`.
    Signal,
    /// `signum`: the signal number, else -1.
    Signum,
    /// `updownsince`: `@` and the TAI64N label of the last transition.
    UpDownSince,
    /// `readysince`: `@` and the TAI64N label of the last readiness.
    ReadySince,
    /// `updownfor` (`-t`): seconds since the last transition.
    UpDownFor,
    /// `readyfor`: seconds since the last readiness.
    ReadyFor,
}

/// The field names in s6 2.11's lookup order (first prefix match wins).
pub const NAMES: [(&str, Field); 13] = [
    ("up", Field::Up),
    ("wantedup", Field::WantedUp),
    ("normallyup", Field::NormallyUp),
    ("ready", Field::Ready),
    ("paused", Field::Paused),
    ("pid", Field::Pid),
    ("exitcode", Field::ExitCode),
    ("signal", Field::Signal),
    ("signum", Field::Signum),
    ("updownsince", Field::UpDownSince),
    ("readysince", Field::ReadySince),
    ("updownfor", Field::UpDownFor),
    ("readyfor", Field::ReadyFor),
];

/// The field a name means: 2.11 accepts any prefix of a name, the first
/// name in [`NAMES`] order winning (`re` is `ready`, `u` is `up`).
pub fn lookup(name: &[u8]) -> Option<Field> {
    NAMES
        .iter()
        .find(|(n, _)| n.as_bytes().starts_with(name))
        .map(|(_, f)| *f)
}

/// The fields asked for so far.
pub type Fields = heapless::Vec<Field, MAX_FIELDS>;

/// Why a field list was refused (rs6-svstat exits 100).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListError<'a> {
    /// An empty name (`,up` or `up,,pid`).
    Null,
    /// A name that is no prefix of a field.
    Unknown(&'a [u8]),
    /// More than [`MAX_FIELDS`].
    TooMany,
}

/// Adds one field.
pub fn add(fields: &mut Fields, f: Field) -> Result<(), ListError<'static>> {
    fields.push(f).map_err(|_| ListError::TooMany)
}

/// Adds the fields of a comma-separated `-o` list; one trailing comma is
/// allowed, as in s6.
pub fn parse_list<'a>(list: &'a [u8], fields: &mut Fields) -> Result<(), ListError<'a>> {
    let mut rest = list;
    while !rest.is_empty() {
        let end = rest.iter().position(|&c| c == b',').unwrap_or(rest.len());
        let name = rest.get(..end).unwrap_or(&[]);
        if name.is_empty() {
            return Err(ListError::Null);
        }
        let f = lookup(name).ok_or(ListError::Unknown(name))?;
        add(fields, f).map_err(|_| ListError::TooMany)?;
        rest = rest.get(end + 1..).unwrap_or(&[]);
    }
    Ok(())
}

/// Whole seconds from `then` to `now`, as skalibs' `tain_sub` computes them
/// (wrapping if `then` is in the future; s6-svstat clamps `stamp` first).
pub fn seconds(now: &Tain, then: &Tain) -> u64 {
    now.sec
        .wrapping_sub(then.sec)
        .wrapping_sub(u64::from(now.nano < then.nano))
}

fn bool_word(b: bool) -> &'static [u8] {
    if b { b"true" } else { b"false" }
}

fn push_signal_name(out: &mut Buf<LINE_MAX>, sig: u8) {
    match rt::sig::name(i32::from(sig)) {
        Some(n) => out.push(b"SIG").push(n),
        None => out.push_u64(u64::from(sig)),
    };
}

/// What the status says, with `stamp` clamped to `now` as s6-svstat does.
pub struct View {
    /// The status record.
    pub status: Status,
    /// No `./down` file.
    pub normally_up: bool,
    /// The time of the query.
    pub now: Tain,
}

impl View {
    /// Builds a view, clamping a future `stamp` to `now`.
    pub fn new(mut status: Status, normally_up: bool, now: Tain) -> View {
        if status.stamp > now {
            status.stamp = now;
        }
        View {
            status,
            normally_up,
            now,
        }
    }

    /// Appends the value of `f`.
    pub fn field(&self, f: Field, out: &mut Buf<LINE_MAX>) {
        let st = &self.status;
        let up = st.is_up();
        let (code, sig) = match death(st.wstat) {
            _ if up => (-1, -1),
            Death::Exit(c) => (i64::from(c), -1),
            Death::Signal(s) => (-1, i64::from(s)),
            Death::Other => (-1, -1),
        };
        match f {
            Field::Up => out.push(bool_word(up)),
            Field::WantedUp => out.push(bool_word(st.want_up)),
            Field::NormallyUp => out.push(bool_word(self.normally_up)),
            Field::Ready => out.push(bool_word(st.pid != 0 && st.ready)),
            Field::Paused => out.push(bool_word(st.paused)),
            Field::Pid if up => out.push_u64(st.pid),
            Field::Pid => out.push(b"-1"),
            Field::ExitCode => out.push_i64(code),
            Field::Signal => {
                match u8::try_from(sig) {
                    Ok(s) => push_signal_name(out, s),
                    Err(_) => {
                        out.push(b"NA");
                    }
                }
                out
            }
            Field::Signum => out.push_i64(sig),
            Field::UpDownSince => out.push(b"@").push_hex(&st.stamp.pack()),
            Field::ReadySince => out.push(b"@").push_hex(&st.ready_stamp.pack()),
            Field::UpDownFor => out.push_u64(seconds(&self.now, &st.stamp)),
            Field::ReadyFor => out.push_u64(seconds(&self.now, &st.ready_stamp)),
        };
    }

    /// The fields, separated by spaces.
    pub fn fields(&self, fields: &[Field], out: &mut Buf<LINE_MAX>) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(b" ");
            }
            self.field(*f, out);
        }
    }

    /// The human line (`-n`: signal numbers instead of names).
    pub fn line(&self, numeric: bool, out: &mut Buf<LINE_MAX>) {
        let st = &self.status;
        let up = st.is_up();
        if up {
            out.push(b"up (pid ").push_u64(st.pid).push(b") ");
        } else {
            out.push(b"down (");
            match death(st.wstat) {
                Death::Signal(s) => {
                    out.push(b"signal ");
                    if numeric {
                        out.push_u64(u64::from(s));
                    } else {
                        push_signal_name(out, s);
                    }
                }
                _ => {
                    out.push(b"exitcode ").push_u64(u64::from(st.wstat >> 8));
                }
            }
            out.push(b") ");
        }
        out.push_u64(seconds(&self.now, &st.stamp))
            .push(b" seconds");
        if up && !self.normally_up {
            out.push(b", normally down");
        }
        if !up && self.normally_up {
            out.push(b", normally up");
        }
        if up && st.paused {
            out.push(b", paused");
        }
        if !up && st.want_up {
            out.push(b", want up");
        }
        if up && !st.want_up {
            out.push(b", want down");
        }
        if st.ready {
            out.push(b", ready ")
                .push_u64(seconds(&self.now, &st.ready_stamp))
                .push(b" seconds");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(sec: u64) -> Tain {
        Tain {
            sec: rt::time::TAI_UNIX_OFFSET + sec,
            nano: 0,
        }
    }

    fn line(st: Status, normally_up: bool, numeric: bool) -> String {
        let mut b = Buf::new();
        View::new(st, normally_up, t(1000)).line(numeric, &mut b);
        String::from_utf8(b.as_bytes().to_vec()).unwrap()
    }

    fn fields(st: Status, normally_up: bool, list: &str) -> String {
        let mut fs = Fields::new();
        parse_list(list.as_bytes(), &mut fs).unwrap();
        let mut b = Buf::new();
        View::new(st, normally_up, t(1000)).fields(&fs, &mut b);
        String::from_utf8(b.as_bytes().to_vec()).unwrap()
    }

    const ALL: &str = "up,wantedup,normallyup,ready,paused,pid,exitcode,signal,signum";

    #[test]
    fn lines_captured_from_s6_svstat() {
        let up = Status {
            pid: 5890,
            want_up: true,
            stamp: t(993),
            ..Status::default()
        };
        assert_eq!(line(up, true, false), "up (pid 5890) 7 seconds");
        let ready = Status {
            ready: true,
            ready_stamp: t(1000),
            stamp: t(999),
            ..up
        };
        assert_eq!(
            line(ready, true, false),
            "up (pid 5890) 1 seconds, ready 0 seconds"
        );
        let want_down = Status {
            want_up: false,
            stamp: t(985),
            ..up
        };
        assert_eq!(
            line(want_down, false, false),
            "up (pid 5890) 15 seconds, normally down, want down"
        );
        let paused = Status { paused: true, ..up };
        assert_eq!(line(paused, true, false), "up (pid 5890) 7 seconds, paused");
        let killed = Status {
            wstat: 9,
            want_up: true,
            ready: true,
            stamp: t(1000),
            ready_stamp: t(1000),
            ..Status::default()
        };
        assert_eq!(
            line(killed, true, false),
            "down (signal SIGKILL) 0 seconds, normally up, want up, ready 0 seconds"
        );
        assert_eq!(
            line(killed, false, true),
            "down (signal 9) 0 seconds, want up, ready 0 seconds"
        );
        let finishing = Status {
            pid: 77,
            finishing: true,
            wstat: 3 << 8,
            want_up: true,
            stamp: t(1000),
            ..Status::default()
        };
        assert_eq!(
            line(finishing, true, false),
            "down (exitcode 3) 0 seconds, normally up, want up"
        );
        let future = Status {
            stamp: t(2000),
            ..up
        };
        assert_eq!(line(future, true, false), "up (pid 5890) 0 seconds");
    }

    #[test]
    fn fields_captured_from_s6_svstat() {
        let fresh_down = Status {
            ready: true,
            ..Status::default()
        };
        assert_eq!(
            fields(fresh_down, false, ALL),
            "false false false false false -1 0 NA -1"
        );
        let killed = Status {
            wstat: 9,
            want_up: true,
            ready: true,
            ..Status::default()
        };
        assert_eq!(
            fields(killed, false, ALL),
            "false true false false false -1 -1 SIGKILL 9"
        );
        let up = Status {
            pid: 5890,
            want_up: true,
            ..Status::default()
        };
        assert_eq!(
            fields(up, true, "up,pid,exitcode,signal,signum"),
            "true 5890 -1 NA -1"
        );
        let since = Status { stamp: t(0), ..up };
        assert_eq!(
            fields(since, true, "updownsince"),
            "@400000000000002500000000"
        );
    }

    #[test]
    fn prefix_matching_of_2_11() {
        assert_eq!(lookup(b"u"), Some(Field::Up));
        assert_eq!(lookup(b"re"), Some(Field::Ready));
        assert_eq!(lookup(b"r"), Some(Field::Ready));
        assert_eq!(lookup(b"p"), Some(Field::Paused));
        assert_eq!(lookup(b"e"), Some(Field::ExitCode));
        assert_eq!(lookup(b"s"), Some(Field::Signal));
        assert_eq!(lookup(b"n"), Some(Field::NormallyUp));
        assert_eq!(lookup(b"updown"), Some(Field::UpDownSince));
        assert_eq!(lookup(b"readyf"), Some(Field::ReadyFor));
        assert_eq!(lookup(b"upx"), None);
        assert_eq!(lookup(b"pidx"), None);
    }

    #[test]
    fn list_errors() {
        let mut fs = Fields::new();
        assert_eq!(parse_list(b"up,", &mut fs), Ok(()));
        assert_eq!(parse_list(b",up", &mut fs), Err(ListError::Null));
        assert_eq!(parse_list(b"up,,pid", &mut fs), Err(ListError::Null));
        assert_eq!(parse_list(b"upx", &mut fs), Err(ListError::Unknown(b"upx")));
        let mut fs = Fields::new();
        assert_eq!(parse_list(b"", &mut fs), Ok(()));
        assert!(fs.is_empty());
        let sixteen = vec!["up"; 16].join(",");
        assert_eq!(parse_list(sixteen.as_bytes(), &mut fs), Ok(()));
        assert_eq!(parse_list(b"up", &mut fs), Err(ListError::TooMany));
    }
}
