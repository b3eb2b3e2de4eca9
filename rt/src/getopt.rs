//! POSIX-style option parsing for s6-compatible command lines (what skalibs'
//! `subgetopt` does): options come first, `--` ends them, `-abc` groups flags,
//! an option taking an argument takes the rest of its word or the next word.

use crate::sys::Args;

/// What [`Getopt::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Opt {
    /// An option letter and, if the letter takes one, its argument.
    Flag(u8, Option<&'static [u8]>),
    /// A letter not in the option string, or missing its argument.
    Bad(u8),
}

/// An iterator over the options of `args`.
pub struct Getopt {
    args: Args,
    /// Index of the first operand once options are done.
    pub ind: usize,
    pos: usize,
    /// The word being read (`args[ind]`) while `pos > 0`: measured once, not
    /// once per letter (a 128 KiB cluster of flags would take seconds).
    word: &'static [u8],
    spec: &'static [u8],
}

impl Getopt {
    /// Parses `args` (from index 1) with `spec`, where a letter followed by
    /// `:` takes an argument (`b"t:wuUdD"`).
    pub fn new(args: Args, spec: &'static [u8]) -> Getopt {
        Getopt {
            args,
            ind: 1,
            pos: 0,
            word: &[],
            spec,
        }
    }

    fn takes_arg(&self, c: u8) -> Option<bool> {
        let i = self.spec.iter().position(|&s| s == c && s != b':')?;
        Some(self.spec.get(i + 1) == Some(&b':'))
    }

    /// The next option, or None when the operands start.
    pub fn next_opt(&mut self) -> Option<Opt> {
        if self.pos == 0 {
            let word = self.args.get(self.ind)?.to_bytes();
            if word == b"--" {
                self.ind += 1;
                return None;
            }
            if word.len() < 2 || word.first() != Some(&b'-') {
                return None;
            }
            self.word = word;
            self.pos = 1;
        }
        let word = self.word;
        let c = *word.get(self.pos)?;
        self.pos += 1;
        let at_end = self.pos >= word.len();
        match self.takes_arg(c) {
            None => {
                if at_end {
                    self.ind += 1;
                    self.pos = 0;
                }
                Some(Opt::Bad(c))
            }
            Some(false) => {
                if at_end {
                    self.ind += 1;
                    self.pos = 0;
                }
                Some(Opt::Flag(c, None))
            }
            Some(true) => {
                let rest = self.pos;
                self.pos = 0;
                self.ind += 1;
                if !at_end {
                    return Some(Opt::Flag(c, word.get(rest..)));
                }
                match self.args.get(self.ind) {
                    Some(a) => {
                        self.ind += 1;
                        Some(Opt::Flag(c, Some(a.to_bytes())))
                    }
                    None => Some(Opt::Bad(c)),
                }
            }
        }
    }

    /// The operands (arguments after the options).
    pub fn operands(&self) -> impl Iterator<Item = &'static [u8]> + '_ {
        self.args.iter_from(self.ind)
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;
    use core::ffi::c_char;

    fn parse(
        words: &[&'static core::ffi::CStr],
        spec: &'static [u8],
    ) -> (Vec<Opt>, Vec<&'static [u8]>) {
        let mut ptrs: Vec<*const c_char> = words.iter().map(|w| w.as_ptr()).collect();
        ptrs.push(core::ptr::null());
        let ptrs: &'static [*const c_char] = Box::leak(ptrs.into_boxed_slice());
        let env: &'static [*const c_char] = &[core::ptr::null()];
        // SAFETY: null-terminated arrays of static C strings, leaked for 'static.
        let args = unsafe { Args::from_raw(words.len() as i32, ptrs.as_ptr(), env.as_ptr()) };
        let mut g = Getopt::new(args, spec);
        let mut opts = Vec::new();
        while let Some(o) = g.next_opt() {
            opts.push(o);
        }
        (opts, g.operands().collect())
    }

    #[test]
    fn clusters_args_and_operands() {
        let (o, rest) = parse(&[c"svc", c"-wu", c"-T3000", c"-t", c"5", c"dir"], b"wuT:t:");
        assert_eq!(
            o,
            vec![
                Opt::Flag(b'w', None),
                Opt::Flag(b'u', None),
                Opt::Flag(b'T', Some(&b"3000"[..])),
                Opt::Flag(b't', Some(&b"5"[..]))
            ]
        );
        assert_eq!(rest, vec![&b"dir"[..]]);
    }

    /// Found by fuzzing (fuzz/, target `getopt`): each letter of a cluster
    /// measured the whole word again, so a 128 KiB `-uuu…` took seconds.
    #[test]
    fn long_cluster_reads_each_letter_once() {
        let word = format!("-{}", "u".repeat(131_071));
        let w: &'static core::ffi::CStr =
            Box::leak(std::ffi::CString::new(word).unwrap().into_boxed_c_str());
        let (o, rest) = parse(&[c"x", w, c"-t5", c"dir"], b"ut:");
        assert_eq!(o.len(), 131_072);
        assert_eq!(o.last(), Some(&Opt::Flag(b't', Some(&b"5"[..]))));
        assert_eq!(rest, vec![&b"dir"[..]]);
    }

    #[test]
    fn double_dash_and_bad() {
        let (o, rest) = parse(&[c"x", c"-z", c"--", c"-u"], b"u");
        assert_eq!(o, vec![Opt::Bad(b'z')]);
        assert_eq!(rest, vec![&b"-u"[..]]);
        let (o, _) = parse(&[c"x", c"-t"], b"t:");
        assert_eq!(o, vec![Opt::Bad(b't')]);
    }
}
