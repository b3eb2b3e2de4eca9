//! musl's POSIX regex and local time, the two libc services rs6-log needs
//! that rustix does not give.
//!
//! # Safety
//! The only `unsafe` of this crate. Invariant: every pointer handed to musl
//! points to live memory for the duration of the call, every string is
//! NUL-terminated, and a `regex_t` is only used after `regcomp` succeeded on it.
//!
//! # Allocation
//! musl's `regcomp` builds its automaton with `malloc`, and `regexec`
//! allocates (and frees) its work space on every call, so a script with
//! `+RE`/`-RE` directives makes rs6-log call the allocator per line examined
//! by a regex. Scripts without regexes never call it. s6-log does the same.
#![allow(unsafe_code)]

use crate::script::RegexError;
use core::ffi::CStr;

/// A compiled POSIX extended regex (`REG_EXTENDED | REG_NOSUB | REG_NEWLINE`,
/// as s6-log compiles selections).
pub struct Regex(libc::regex_t);

impl Regex {
    /// Compiles `pattern` with regcomp(3).
    ///
    /// # References
    /// s6: s6-log.html "Selection directives"; POSIX regcomp.
    pub fn new(pattern: &CStr) -> Result<Regex, RegexError> {
        // SAFETY: regex_t is plain data; regcomp initialises it before use.
        let mut re: libc::regex_t = unsafe { core::mem::zeroed() };
        let flags = libc::REG_EXTENDED | libc::REG_NOSUB | libc::REG_NEWLINE;
        // SAFETY: `re` is a valid regex_t to fill, `pattern` is NUL-terminated.
        let r = unsafe { libc::regcomp(&mut re, pattern.as_ptr(), flags) };
        match r {
            0 => Ok(Regex(re)),
            libc::REG_ESPACE => Err(RegexError::NoMemory),
            _ => Err(RegexError::Invalid),
        }
    }

    /// Whether the regex matches somewhere in `line` (regexec(3)). A failure
    /// of regexec (out of memory) counts as no match, as in s6-log.
    pub fn is_match(&self, line: &CStr) -> bool {
        // SAFETY: self.0 was compiled by regcomp; `line` is NUL-terminated;
        // with nmatch 0 the match array is not touched.
        let r = unsafe { libc::regexec(&self.0, line.as_ptr(), 0, core::ptr::null_mut(), 0) };
        r == 0
    }
}

/// Broken-down local time, as localtime(3) gives it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalTime {
    /// Year (e.g. 2026).
    pub year: i64,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of the month, 1..=31.
    pub day: u8,
    /// Hour, 0..=23.
    pub hour: u8,
    /// Minute, 0..=59.
    pub minute: u8,
    /// Second, 0..=60.
    pub second: u8,
}

/// UNIX seconds to local time per `TZ` / `/etc/localtime` (musl's
/// localtime_r; UTC when neither says otherwise).
pub fn localtime(unix: i64) -> Option<LocalTime> {
    // musl 1.2's time_t is 64 bits on every target (the libc crate's alias
    // is deprecated only because of that pending change).
    #[allow(deprecated)]
    let t: libc::time_t = unix;
    // SAFETY: tm is plain data, filled by localtime_r on success.
    let mut tm: libc::tm = unsafe { core::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    let p = unsafe { libc::localtime_r(&t, &mut tm) };
    if p.is_null() {
        return None;
    }
    let b = |v: libc::c_int| u8::try_from(v).unwrap_or(0);
    Some(LocalTime {
        year: i64::from(tm.tm_year) + 1900,
        month: b(tm.tm_mon + 1),
        day: b(tm.tm_mday),
        hour: b(tm.tm_hour),
        minute: b(tm.tm_min),
        second: b(tm.tm_sec),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ere_with_s6_log_flags() {
        let re = Regex::new(c"^STAT").unwrap();
        assert!(re.is_match(c"STAT ok"));
        assert!(!re.is_match(c"x STAT"));
        let re = Regex::new(c"fa(t|x)al:+ [0-9]{2}$").unwrap();
        assert!(re.is_match(c"a fatal: 12"));
        assert!(!re.is_match(c"a fatal: 123x"));
        assert!(Regex::new(c"(").is_err());
        assert!(Regex::new(c"a[").is_err());
        // `-` alone (an empty regex) matches every line, as in s6-log's manual
        let re = Regex::new(c"").unwrap();
        assert!(re.is_match(c"anything"));
    }

    #[test]
    fn epoch_in_utc() {
        // the test process has no TZ override beyond the host's; only the date
        // part is stable across zones for noon UTC
        let t = localtime(1_700_000_000 - 1_700_000_000 % 86400 + 43200).unwrap();
        assert_eq!((t.year, t.month, t.day), (2023, 11, 14));
    }
}
