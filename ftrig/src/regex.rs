//! POSIX extended regular expressions, through musl's `regcomp`/`regexec`
//! (what s6-ftrigrd uses, so the semantics are s6's).
//!
//! # Safety
//! The only `unsafe` of the ftrig crate. The invariant: a [`Regex`] holds a
//! `regex_t` that `regcomp` initialised successfully and that is freed once,
//! by `Drop`; every string handed to musl is NUL-terminated and outlives the
//! call. musl's `regex_t` is not self-referential (it points to heap memory),
//! so moving it is sound. `regcomp` allocates with malloc: only the programs
//! that compile a regular expression (rs6-ftrig-wait, rs6-ftrig-listen1) link
//! an allocator.
#![allow(unsafe_code)]

use core::ffi::CStr;
use core::mem::MaybeUninit;
use rustix::io::Errno;

/// A compiled POSIX extended regular expression.
pub struct Regex(libc::regex_t);

impl Regex {
    /// Compiles `pattern` with `REG_EXTENDED`, as s6-ftrigrd does. A bad
    /// pattern gives EINVAL, lack of memory ENOMEM (s6's mapping).
    pub fn new(pattern: &CStr) -> Result<Regex, Errno> {
        let mut re = MaybeUninit::<libc::regex_t>::uninit();
        // SAFETY: re points to writable memory for one regex_t; pattern is
        // NUL-terminated and lives for the call.
        let r = unsafe { libc::regcomp(re.as_mut_ptr(), pattern.as_ptr(), libc::REG_EXTENDED) };
        if r != 0 {
            return Err(if r == libc::REG_ESPACE {
                Errno::NOMEM
            } else {
                Errno::INVAL
            });
        }
        // SAFETY: regcomp returned 0, so it initialised *re.
        Ok(Regex(unsafe { re.assume_init() }))
    }

    /// The end offset of the leftmost(-longest) match in `s`, searched with
    /// `REG_NOTBOL | REG_NOTEOL` (so `^` and `$` never match: s6's quirk).
    pub fn match_end(&self, s: &CStr) -> Option<usize> {
        let mut m = [libc::regmatch_t { rm_so: 0, rm_eo: 0 }];
        // SAFETY: self.0 was initialised by regcomp; s is NUL-terminated; m
        // has room for the one match asked for.
        let r = unsafe {
            libc::regexec(
                &self.0,
                s.as_ptr(),
                1,
                m.as_mut_ptr(),
                libc::REG_NOTBOL | libc::REG_NOTEOL,
            )
        };
        if r != 0 {
            return None;
        }
        usize::try_from(m[0].rm_eo).ok()
    }
}

impl Drop for Regex {
    fn drop(&mut self) {
        // SAFETY: self.0 was initialised by regcomp and is freed only here.
        unsafe { libc::regfree(&mut self.0) };
    }
}
