//! Error lines and exit codes, in skalibs' strerr format.
//!
//! One line per message, one `write(2)` per line (lines stay whole when several
//! processes share a console): `PROG: fatal: unable to VERB OBJECT: strerror`.
//! Messages have no trailing period. Exit codes follow s6:
//! [`EXIT_USAGE`] 100, [`EXIT_BUG`] 101, [`EXIT_TEMP`] 111, [`EXIT_NOEXEC`] 126,
//! [`EXIT_NOTFOUND`] 127.

use crate::buf::Buf;
use rustix::io::Errno;

/// Bad usage, or a permanent failure the user must fix (s6: 100).
pub const EXIT_USAGE: u8 = 100;
/// A bug in rs6: a panic (s6 never has them; rs6 reports them with this code).
pub const EXIT_BUG: u8 = 101;
/// A temporary (system) failure: retrying may work (s6: 111).
pub const EXIT_TEMP: u8 = 111;
/// A program was found but could not be executed (shell convention).
pub const EXIT_NOEXEC: u8 = 126;
/// A program was not found (shell convention).
pub const EXIT_NOTFOUND: u8 = 127;

/// Capacity of one message line; longer messages are cut.
pub const LINE_MAX: usize = 1024;

/// One message line under construction.
pub struct Msg(Buf<LINE_MAX>);

impl Msg {
    /// Starts `PROG: fatal: `.
    pub fn fatal(prog: &[u8]) -> Msg {
        Msg::with(prog, b"fatal")
    }
    /// Starts `PROG: warning: `.
    pub fn warn(prog: &[u8]) -> Msg {
        Msg::with(prog, b"warning")
    }
    /// Starts `PROG: info: `.
    pub fn info(prog: &[u8]) -> Msg {
        Msg::with(prog, b"info")
    }
    /// Starts `PROG: usage: `.
    pub fn usage(prog: &[u8]) -> Msg {
        Msg::with(prog, b"usage")
    }
    /// Starts `PROG: KIND: ` for any kind word.
    pub fn with(prog: &[u8], kind: &[u8]) -> Msg {
        let mut b = Buf::new();
        b.push(prog).push(b": ").push(kind).push(b": ");
        Msg(b)
    }
    /// Starts a line with no prefix at all.
    pub fn bare() -> Msg {
        Msg(Buf::new())
    }
    /// Appends bytes.
    pub fn s(mut self, bytes: &[u8]) -> Msg {
        self.0.push(bytes);
        self
    }
    /// Appends a decimal number.
    pub fn u(mut self, n: u64) -> Msg {
        self.0.push_u64(n);
        self
    }
    /// Appends a signed decimal number.
    pub fn i(mut self, n: i64) -> Msg {
        self.0.push_i64(n);
        self
    }
    /// Appends `unable to VERB OBJ`.
    pub fn unable(self, verb: &[u8], obj: &[u8]) -> Msg {
        self.s(b"unable to ").s(verb).s(b" ").s(obj)
    }
    /// Appends `: strerror(e)`.
    pub fn errno(self, e: Errno) -> Msg {
        self.s(b": ").s(crate::sys::strerror(e))
    }
    /// Writes the line (with `\n`) to stderr in one write.
    pub fn emit(mut self) {
        self.0.push(b"\n");
        // A message that cannot be written has nowhere else to go.
        let _ = write_all(2, self.0.as_bytes());
    }
    /// Writes the line and exits with `code`.
    pub fn die(self, code: u8) -> ! {
        self.emit();
        crate::sys::exit(code)
    }
}

/// `PROG: warning: unable to VERB OBJ: strerror`.
pub fn warn_unable(prog: &[u8], verb: &[u8], obj: &[u8], e: Errno) {
    Msg::warn(prog).unable(verb, obj).errno(e).emit()
}

/// `PROG: fatal: unable to VERB OBJ: strerror`, then exit `code`.
pub fn die_unable(prog: &[u8], code: u8, verb: &[u8], obj: &[u8], e: Errno) -> ! {
    Msg::fatal(prog).unable(verb, obj).errno(e).die(code)
}

/// `PROG: usage: USAGE`, then exit 100.
pub fn die_usage(prog: &[u8], usage: &[u8]) -> ! {
    Msg::usage(prog).s(prog).s(b" ").s(usage).die(EXIT_USAGE)
}

/// Writes all of `bytes` to the raw fd `fd`, retrying on EINTR and short writes.
pub fn write_all(fd: i32, mut bytes: &[u8]) -> Result<(), Errno> {
    let fd = crate::sys::borrow_fd(fd);
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return Err(Errno::IO),
            Ok(n) => bytes = bytes.get(n..).unwrap_or(&[]),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes `bytes` to stdout; returns false on failure.
pub fn out(bytes: &[u8]) -> bool {
    write_all(1, bytes).is_ok()
}
