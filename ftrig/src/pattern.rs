//! Matching received events against a regular expression, as s6-ftrigrd
//! does for `s6-ftrig-wait` and `s6-ftrig-listen1`.
//!
//! s6-ftrigrd reads a listener's fifo **16 bytes at a time** (its buffer is 17
//! bytes), appends what it read to everything received since the
//! subscription, and after each read runs the regular expression over the
//! whole text with `REG_NOTBOL | REG_NOTEOL`. On a match, the result is the
//! **last character of the match** (a NUL for an empty match at the start,
//! which is what s6 prints in practice). Reading in 16-byte steps is
//! observable: with `x.*`, the event string `0123456789abcdefx0123456789abcdefghij`
//! gives `e`, the end of the second read, not `j`; rs6 does the same.
//!
//! The text is kept in a fixed buffer of [`TEXT_MAX`] bytes; when a read
//! would overflow it the oldest bytes are dropped (s6 keeps everything, in
//! memory that only grows). The text is handed to `regexec` as a C string,
//! so, as in s6, bytes after a NUL event byte are invisible to the match.

use crate::regex::Regex;
use core::ffi::CStr;
use rustix::io::Errno;

/// Size of one read from the fifo (s6-ftrigrd's `FTRIGRD_BUFSIZE` − 1).
pub const CHUNK: usize = 16;
/// Most bytes of received text kept for matching.
pub const TEXT_MAX: usize = 4096;

/// The text received so far and the expression to match it against.
pub struct Matcher {
    re: Regex,
    text: [u8; TEXT_MAX + 1],
    len: usize,
}

impl Matcher {
    /// Compiles `pattern` (POSIX extended); EINVAL when it is not valid.
    pub fn new(pattern: &CStr) -> Result<Matcher, Errno> {
        Ok(Matcher {
            re: Regex::new(pattern)?,
            text: [0; TEXT_MAX + 1],
            len: 0,
        })
    }

    /// Appends one read's worth of bytes (at most [`CHUNK`]; the caller reads
    /// in steps of [`CHUNK`]) and matches: the last character of the match,
    /// if any.
    pub fn feed(&mut self, bytes: &[u8]) -> Option<u8> {
        let bytes = bytes.get(bytes.len().saturating_sub(TEXT_MAX)..)?;
        if self.len + bytes.len() > TEXT_MAX {
            let drop = self.len + bytes.len() - TEXT_MAX;
            self.text.copy_within(drop..self.len, 0);
            self.len -= drop;
        }
        self.text
            .get_mut(self.len..self.len + bytes.len())?
            .copy_from_slice(bytes);
        self.len += bytes.len();
        *self.text.get_mut(self.len)? = 0;
        let s = CStr::from_bytes_until_nul(self.text.get(..=self.len)?).ok()?;
        let end = self.re.match_end(s)?;
        Some(match end.checked_sub(1) {
            Some(i) => self.text.get(i).copied().unwrap_or(0),
            None => 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pattern: &CStr, events: &[u8]) -> Option<u8> {
        let mut m = Matcher::new(pattern).unwrap();
        events.chunks(CHUNK).find_map(|c| m.feed(c))
    }

    #[test]
    fn s6_examples() {
        assert_eq!(run(c"cd", b"abc"), None);
        let mut m = Matcher::new(c"cd").unwrap();
        assert_eq!(m.feed(b"abc"), None);
        assert_eq!(m.feed(b"d"), Some(b'd'));
        assert_eq!(run(c"x.*", b"xyz"), Some(b'z'));
        assert_eq!(run(c"^a", b"aaa"), None);
        assert_eq!(run(c"a$", b"a"), None);
        assert_eq!(run(c"b|ab", b"cab"), Some(b'b'));
        assert_eq!(
            run(c"x.*", b"0123456789abcdefx0123456789abcdefghij"),
            Some(b'e')
        );
        assert_eq!(run(c"a*", b"b"), Some(0));
        assert!(Matcher::new(c"a(").is_err());
    }

    #[test]
    fn long_text_keeps_the_end() {
        let mut m = Matcher::new(c"zz").unwrap();
        for _ in 0..1000 {
            assert_eq!(m.feed(b"0123456789abcdef"), None);
        }
        assert_eq!(m.feed(b"z"), None);
        assert_eq!(m.feed(b"z"), Some(b'z'));
    }
}
