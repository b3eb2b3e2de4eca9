//! s6-log scripts: the argv words after the options, parsed into a
//! fixed-size program (blocks of selections followed by actions), and the
//! selection logic that decides which actions a line goes to.
//!
//! Parsing follows s6-log 2.11's two passes (s6: src/daemontools-extras/s6-log.c,
//! `script_firstpass` / `script_secondpass`), so a bad script fails with the
//! same message and exit code: the first pass checks every word's kind and
//! shape (`tx` is a syntax error, `e` is unknown, a script needs an action),
//! the second pass reads the numbers, compiles the regexes and checks `l`
//! against `s`.

use core::ffi::CStr;
use core::ops::Range;
use heapless::Vec;

/// Most selection directives (`+RE`, `-RE`, `f`) in one script.
pub const MAX_SELECTIONS: usize = 32;
/// Most action directives in one script (a line's actions fit a `u32` mask).
pub const MAX_ACTIONS: usize = 32;
/// Most logdirs in one script (each holds an output queue of
/// [`crate::OUT_CAP`] bytes).
pub const MAX_LOGDIRS: usize = 8;
/// Longest `p` prefix, in bytes.
pub const MAX_PREFIX: usize = 256;

/// `n`: archives kept (s6-log default).
pub const DEFAULT_COUNT: u32 = 10;
/// `s`: rotation size in bytes (s6-log default), and its clamp.
pub const DEFAULT_SIZE: u32 = 99_999;
/// Smallest `s` (smaller values are raised to it, as s6-log does).
pub const SIZE_MIN: u32 = 4096;
/// Largest `s` (larger values are lowered to it, as s6-log does).
pub const SIZE_MAX: u32 = 268_435_455;
/// `l`: rotation tolerance in bytes (s6-log default); at most `s / 2`.
pub const DEFAULT_TOLERANCE: u32 = 2000;
/// `r`: retry cooldown in milliseconds after a logdir error (s6-log default).
pub const DEFAULT_RETRY_MS: u32 = 2000;
/// `E`: bytes of a line shown in an alert (s6-log default; 0 = all).
pub const DEFAULT_ALERT_LEN: u32 = 200;
/// `^`: size of a status file (s6-log default; 0 = unpadded).
pub const DEFAULT_STATUS_LEN: u32 = 1001;

/// A selection directive; `R` is the compiled regex.
#[derive(Debug, PartialEq, Eq)]
pub enum Selection<R> {
    /// `+RE`: select the line if it is not selected and RE matches.
    Plus(R),
    /// `-RE`: deselect the line if it is selected and RE matches.
    Minus(R),
    /// `f`: select exactly the lines no action has taken yet.
    Fresh,
}

/// How a processor command is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interp {
    /// `!CMD`: `execlineb -Pc CMD`, execlineb found in PATH.
    Execline,
    /// `?CMD`: `/bin/sh -c CMD`.
    Shell,
}

/// A logdir's processor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Processor {
    /// The interpreter.
    pub interp: Interp,
    /// The command string.
    pub cmd: &'static CStr,
}

/// The control settings a logdir action was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogdirConfig {
    /// The directory, as written in the script (starts with `.` or `/`).
    pub dir: &'static CStr,
    /// `n`: archives kept.
    pub count: u32,
    /// `s`: rotation size.
    pub size: u32,
    /// `l`: rotate when `current` is within this many bytes of `size`.
    pub tolerance: u32,
    /// `S`: most bytes of archives (0 = no limit).
    pub max_total: u64,
    /// `r`: retry cooldown after an error, milliseconds.
    pub retry_ms: u32,
    /// `!` / `?`: processor run on each rotation.
    pub processor: Option<Processor>,
}

/// Where an action sends a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `1`: standard output.
    Stdout,
    /// `2`: an alert on standard error, showing the first `len` bytes (0 = all).
    Alert {
        /// `E` at the time of the directive.
        len: u32,
    },
    /// `=FILE`: FILE replaced by the line, padded to `len` bytes (0 = unpadded).
    Status {
        /// The file, as written after `=`.
        file: &'static CStr,
        /// `^` at the time of the directive.
        len: u32,
    },
    /// A logdir: index into [`Script::logdirs`].
    Logdir(usize),
}

/// An action directive with the per-line decorations it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Action {
    /// Where the line goes.
    pub target: Target,
    /// `t`: prepend a TAI64N stamp `@<24 hex> `.
    pub tai: bool,
    /// `T`: prepend a local ISO 8601 stamp `YYYY-MM-DD HH:MM:SS.nnnnnnnnn  `.
    pub iso: bool,
    /// `p`: prepend `PREFIX ` (empty = none).
    pub prefix: &'static [u8],
}

/// A run of selections followed by a run of actions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Indices into [`Script::selections`].
    pub selections: Range<usize>,
    /// Indices into [`Script::actions`].
    pub actions: Range<usize>,
}

/// A parsed script.
pub struct Script<R> {
    /// Every selection, in order.
    pub selections: Vec<Selection<R>, MAX_SELECTIONS>,
    /// Every action, in order.
    pub actions: Vec<Action, MAX_ACTIONS>,
    /// The blocks, in order.
    pub blocks: Vec<Block, MAX_ACTIONS>,
    /// One entry per logdir action, in order.
    pub logdirs: Vec<LogdirConfig, MAX_LOGDIRS>,
    /// Selections after the last action (ignored; s6-log warns).
    pub extraneous: bool,
}

/// Why a script was refused. Every case exits 100 except [`Error::NoMemory`] (111).
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// `unrecognized directive: W`.
    Unrecognized(&'static [u8]),
    /// `syntax error at directive: W`.
    Syntax(&'static [u8]),
    /// `no action directive specified`.
    NoAction,
    /// `directive W conflicts with previous s directive`.
    Conflict(&'static [u8]),
    /// More directives of a kind than rs6-log has room for (rs6 only).
    TooMany(&'static [u8]),
    /// The regex library ran out of memory.
    NoMemory,
}

/// Why a regex did not compile.
#[derive(Debug, PartialEq, Eq)]
pub enum RegexError {
    /// Not a valid POSIX ERE.
    Invalid,
    /// Out of memory.
    NoMemory,
}

/// Parses a decimal number the way skalibs' `uint320_scan` does: digits only,
/// the whole word, no overflow.
fn number(s: &[u8]) -> Option<u64> {
    rt::buf::parse_u64(s)
}

fn number32(s: &[u8]) -> Option<u32> {
    number(s).and_then(|n| u32::try_from(n).ok())
}

/// `word` without its first byte, as a C string.
fn rest(word: &'static CStr) -> &'static CStr {
    word.to_bytes_with_nul()
        .get(1..)
        .and_then(|b| CStr::from_bytes_with_nul(b).ok())
        .unwrap_or(c"")
}

/// The first pass: every word's kind and shape; whether the script acts.
/// Returns whether selections trail the last action.
fn first_pass(words: impl Iterator<Item = &'static CStr>) -> Result<bool, Error> {
    let mut acted = false;
    let mut blocks = 0u32;
    for w in words {
        let w = w.to_bytes();
        let first = w.first().copied().unwrap_or(0);
        let long = w.len() > 1;
        match first {
            b'f' if long => return Err(Error::Syntax(w)),
            b'f' | b'+' | b'-' => {
                if acted {
                    blocks += 1;
                    acted = false;
                }
            }
            b'n' | b's' | b'S' | b'l' | b'r' | b'E' | b'^' | b'!' | b'?' | b'p' => {}
            b't' | b'T' | b'1' | b'2' if long => return Err(Error::Syntax(w)),
            b't' | b'T' => {}
            b'1' | b'2' | b'.' | b'/' => acted = true,
            b'=' if !long => return Err(Error::Syntax(w)),
            b'=' => acted = true,
            _ => return Err(Error::Unrecognized(w)),
        }
    }
    if acted {
        Ok(false)
    } else if blocks > 0 {
        Ok(true)
    } else {
        Err(Error::NoAction)
    }
}

impl<R> Script<R> {
    /// Parses `words` (the script: argv after the options), compiling each
    /// regex with `compile`.
    ///
    /// # References
    /// doc/rs6-log.md; s6: s6-log.html "Logging script syntax".
    pub fn parse(
        words: impl Iterator<Item = &'static CStr> + Clone,
        mut compile: impl FnMut(&'static CStr) -> Result<R, RegexError>,
    ) -> Result<Script<R>, Error> {
        let extraneous = first_pass(words.clone())?;
        let mut sc = Script {
            selections: Vec::new(),
            actions: Vec::new(),
            blocks: Vec::new(),
            logdirs: Vec::new(),
            extraneous,
        };
        let mut count = DEFAULT_COUNT;
        let mut size = DEFAULT_SIZE;
        let mut tolerance = DEFAULT_TOLERANCE;
        let mut max_total = 0u64;
        let mut retry_ms = DEFAULT_RETRY_MS;
        let mut alert_len = DEFAULT_ALERT_LEN;
        let mut status_len = DEFAULT_STATUS_LEN;
        let mut processor = None;
        let mut prefix: &'static [u8] = b"";
        let (mut tai, mut iso) = (false, false);
        let mut block = Block {
            selections: 0..0,
            actions: 0..0,
        };
        let mut acted = false;
        for word in words {
            let w = word.to_bytes();
            let arg = w.get(1..).unwrap_or(&[]);
            let bad = Error::Unrecognized(w);
            let action = match w.first().copied().unwrap_or(0) {
                c @ (b'f' | b'+' | b'-') => {
                    let sel = match c {
                        b'f' => Selection::Fresh,
                        _ => {
                            let re = compile(rest(word)).map_err(|e| match e {
                                RegexError::Invalid => Error::Unrecognized(w),
                                RegexError::NoMemory => Error::NoMemory,
                            })?;
                            if c == b'+' {
                                Selection::Plus(re)
                            } else {
                                Selection::Minus(re)
                            }
                        }
                    };
                    if acted {
                        acted = false;
                        let next = Block {
                            selections: block.selections.end..block.selections.end,
                            actions: block.actions.end..block.actions.end,
                        };
                        let done = core::mem::replace(&mut block, next);
                        sc.blocks.push(done).map_err(|_| Error::TooMany(w))?;
                    }
                    sc.selections.push(sel).map_err(|_| Error::TooMany(w))?;
                    block.selections.end = sc.selections.len();
                    None
                }
                b'n' => {
                    count = number32(arg).ok_or(bad)?;
                    None
                }
                b's' => {
                    size = number32(arg).ok_or(bad)?.clamp(SIZE_MIN, SIZE_MAX);
                    None
                }
                b'S' => {
                    max_total = number(arg).ok_or(bad)?;
                    None
                }
                b'l' => {
                    tolerance = number32(arg).ok_or(bad)?;
                    if tolerance > size >> 1 {
                        return Err(Error::Conflict(w));
                    }
                    None
                }
                b'r' => {
                    retry_ms = number32(arg).ok_or(bad)?;
                    None
                }
                b'E' => {
                    alert_len = number32(arg).ok_or(bad)?;
                    None
                }
                b'^' => {
                    status_len = number32(arg).ok_or(bad)?;
                    None
                }
                c @ (b'!' | b'?') => {
                    processor = (!arg.is_empty()).then(|| Processor {
                        interp: if c == b'!' {
                            Interp::Execline
                        } else {
                            Interp::Shell
                        },
                        cmd: rest(word),
                    });
                    None
                }
                b'p' => {
                    if arg.len() > MAX_PREFIX {
                        return Err(Error::TooMany(w));
                    }
                    prefix = arg;
                    None
                }
                b't' => {
                    tai = true;
                    None
                }
                b'T' => {
                    iso = true;
                    None
                }
                b'1' => Some(Target::Stdout),
                b'2' => Some(Target::Alert { len: alert_len }),
                b'=' => Some(Target::Status {
                    file: rest(word),
                    len: status_len,
                }),
                b'.' | b'/' => {
                    let cfg = LogdirConfig {
                        dir: word,
                        count,
                        size,
                        tolerance,
                        max_total,
                        retry_ms,
                        processor,
                    };
                    sc.logdirs.push(cfg).map_err(|_| Error::TooMany(w))?;
                    Some(Target::Logdir(sc.logdirs.len() - 1))
                }
                _ => return Err(bad),
            };
            if let Some(target) = action {
                let act = Action {
                    target,
                    tai,
                    iso,
                    prefix,
                };
                sc.actions.push(act).map_err(|_| Error::TooMany(w))?;
                block.actions.end = sc.actions.len();
                acted = true;
                tai = false;
                iso = false;
            }
        }
        if acted {
            sc.blocks.push(block).map_err(|_| Error::NoAction)?;
        }
        Ok(sc)
    }

    /// The actions a line goes to, as a bit mask over [`Script::actions`]:
    /// s6-log's `script_run` selection logic. `matches` runs a regex on the
    /// line; it is only called when the result can change the selection.
    ///
    /// # References
    /// doc/rs6-log.md; s6: s6-log.html "Selection directives".
    pub fn select(&self, mut matches: impl FnMut(&R) -> bool) -> u32 {
        let mut selected = true;
        let mut acted = false;
        let mut mask = 0u32;
        for b in &self.blocks {
            for sel in self.selections.get(b.selections.clone()).unwrap_or(&[]) {
                match sel {
                    Selection::Fresh => selected = !acted,
                    Selection::Plus(re) => {
                        if !selected && matches(re) {
                            selected = true;
                        }
                    }
                    Selection::Minus(re) => {
                        if selected && matches(re) {
                            selected = false;
                        }
                    }
                }
            }
            if selected {
                acted = true;
                for i in b.actions.clone() {
                    mask |= 1u32
                        .checked_shl(u32::try_from(i).unwrap_or(32))
                        .unwrap_or(0);
                }
            }
        }
        mask
    }

    /// Whether some action writes to standard output.
    pub fn has_stdout(&self) -> bool {
        self.actions.iter().any(|a| a.target == Target::Stdout)
    }
}

#[cfg(test)]
mod tests;
