//! Listening on a fifodir: subscribe (create our fifo), read events,
//! unsubscribe (remove it).
//!
//! The fifo is made as s6's `ftrig1_make` makes it, so s6's notifiers feed
//! rs6 listeners and the other way round: with umask 0, `mkfifo
//! DIR/.ftrig1:@<24 hex TAI64N>:<6 random chars>` mode 0600, open it for
//! reading (non-blocking) and for writing (kept open, so the reader never sees
//! end-of-file), then rename it to `DIR/ftrig1:@…`, which makes it visible to
//! notifiers. Anything written to it after the rename is queued in the pipe
//! until read: an event sent between [`Listener::subscribe`] and the first
//! read is never lost.

use crate::fifodir::{NAME_LEN, PREFIX};
use crate::pattern::{CHUNK, Matcher};
use rustix::event::{PollFd, PollFlags, poll};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{self, AtFlags, Mode, OFlags};
use rustix::io::Errno;

/// Symbols of the random part of a fifo name (skalibs'
/// `random_name_from`): `A-Z a-z 0-9 - _`.
const SYMBOLS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// Number of random characters at the end of a fifo name.
const RANDOM_LEN: usize = 6;
/// Attempts at a fresh random name before giving up (mkptemp's EEXIST loop).
const NAME_TRIES: u32 = 16;

/// A subscription to a fifodir: our fifo in it, open for reading.
/// Dropping it unsubscribes (removes the fifo).
pub struct Listener {
    dir: OwnedFd,
    name: [u8; NAME_LEN],
    read: OwnedFd,
    _write: OwnedFd,
    live: bool,
}

/// Fills `out` with `RANDOM_LEN` characters from [`SYMBOLS`].
fn random_suffix(out: &mut [u8; RANDOM_LEN]) -> Result<(), Errno> {
    let mut raw = [0u8; RANDOM_LEN];
    let mut got = 0;
    while got < RANDOM_LEN {
        let rest = raw.get_mut(got..).unwrap_or(&mut []);
        match rustix::rand::getrandom(rest, rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => got += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    for (o, r) in out.iter_mut().zip(raw) {
        *o = SYMBOLS[usize::from(r & 63)];
    }
    Ok(())
}

/// `ftrig1:@<24 hex now>:<6 random>`.
fn fresh_name() -> Result<[u8; NAME_LEN], Errno> {
    let mut name = [0u8; NAME_LEN];
    let (prefix, rest) = name.split_at_mut(PREFIX.len());
    prefix.copy_from_slice(PREFIX);
    let (stamp, rest) = rest.split_at_mut(24);
    stamp.copy_from_slice(&rt::time::Tain::now().hex());
    let (colon, rand) = rest.split_at_mut(1);
    colon.copy_from_slice(b":");
    let mut r = [0u8; RANDOM_LEN];
    random_suffix(&mut r)?;
    rand.copy_from_slice(&r);
    Ok(name)
}

/// `name` as a C string, with a leading `.` when `hidden`.
fn c_name(name: &[u8; NAME_LEN], hidden: bool) -> rt::Buf<{ NAME_LEN + 2 }> {
    let mut b = rt::Buf::new();
    if hidden {
        b.push(b".");
    }
    b.push(name);
    b
}

impl Listener {
    /// Subscribes to `fifodir` as s6's `ftrig1_make` does (see the module
    /// docs). Needs write and search permission on the directory, not read:
    /// the directory is opened `O_PATH`. Events notified from the moment this
    /// returns are kept for [`Listener::read`].
    pub fn subscribe(fifodir: &[u8]) -> Result<Listener, Errno> {
        let mut path: rt::Buf<{ crate::PATH_MAX }> = rt::Buf::new();
        if !path.try_push(fifodir) {
            return Err(Errno::NAMETOOLONG);
        }
        let cpath = path.c_str().ok_or(Errno::INVAL)?;
        let dir = fs::open(
            cpath,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let mut tries = 0;
        let name = loop {
            let name = fresh_name()?;
            let mut tmp = c_name(&name, true);
            let ctmp = tmp.c_str().ok_or(Errno::INVAL)?;
            let old = rustix::process::umask(Mode::empty());
            let made = fs::mkfifoat(&dir, ctmp, Mode::from_raw_mode(0o600));
            rustix::process::umask(old);
            match made {
                Ok(()) => break name,
                Err(Errno::EXIST) if tries < NAME_TRIES => tries += 1,
                Err(e) => return Err(e),
            }
        };
        let mut tmp = c_name(&name, true);
        let ctmp = tmp.c_str().ok_or(Errno::INVAL)?;
        let opened = fs::openat(
            &dir,
            ctmp,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .and_then(|r| {
            let w = fs::openat(
                &dir,
                ctmp,
                OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            Ok((r, w))
        });
        let mut fin = c_name(&name, false);
        let (read, write) = match opened.and_then(|fds| {
            let cfin = fin.c_str().ok_or(Errno::INVAL)?;
            fs::renameat(&dir, ctmp, &dir, cfin)?;
            Ok(fds)
        }) {
            Ok(fds) => fds,
            Err(e) => {
                let _ = fs::unlinkat(&dir, ctmp, AtFlags::empty());
                return Err(e);
            }
        };
        Ok(Listener {
            dir,
            name,
            read,
            _write: write,
            live: true,
        })
    }

    /// The fifo's name in the fifodir (`ftrig1:@…`, 39 bytes).
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The descriptor to poll for `POLLIN`.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// Reads pending event bytes into `buf` without blocking; `Ok(0)` when
    /// there are none.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        loop {
            match rustix::io::read(&self.read, &mut *buf) {
                Ok(n) => return Ok(n),
                Err(Errno::AGAIN) => return Ok(0),
                Err(Errno::INTR) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads events until `m` matches and returns the last character of the
    /// match (s6-ftrigrd without the repeat option); ETIMEDOUT when
    /// `deadline_ms` (on [`rt::time::now_ms`]'s clock) passes first. Reads
    /// [`CHUNK`] bytes at a time and matches after each read, as s6 does.
    /// When `extra` is given, it is polled too and `on_extra` called
    /// whenever it is readable (how `-listen1` tools reap their child).
    pub fn wait_match(
        &self,
        m: &mut Matcher,
        deadline_ms: Option<u64>,
        extra: Option<BorrowedFd<'_>>,
        on_extra: &mut dyn FnMut(),
    ) -> Result<u8, Errno> {
        loop {
            let mut chunk = [0u8; CHUNK];
            loop {
                let n = self.read(&mut chunk)?;
                if n == 0 {
                    break;
                }
                if let Some(c) = m.feed(chunk.get(..n).unwrap_or(&[])) {
                    return Ok(c);
                }
            }
            let timeout = deadline_ms.map(rt::time::until);
            let fd = self.fd();
            let mut fds = [
                PollFd::new(&fd, PollFlags::IN),
                PollFd::from_borrowed_fd(extra.unwrap_or(fd), PollFlags::IN),
            ];
            let n_fds = if extra.is_some() { 2 } else { 1 };
            match poll(fds.get_mut(..n_fds).unwrap_or(&mut []), timeout.as_ref()) {
                Ok(0) if deadline_ms.is_some_and(|d| rt::time::now_ms() >= d) => {
                    return Err(Errno::TIMEDOUT);
                }
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => return Err(e),
            }
            if extra.is_some() && fds.get(1).is_some_and(|p| !p.revents().is_empty()) {
                on_extra();
            }
        }
    }

    /// Unsubscribes: removes the fifo (dropping the listener does the same,
    /// ignoring errors).
    pub fn unsubscribe(mut self) -> Result<(), Errno> {
        self.live = false;
        self.unlink()
    }

    fn unlink(&self) -> Result<(), Errno> {
        let mut n = c_name(&self.name, false);
        let c = n.c_str().ok_or(Errno::INVAL)?;
        fs::unlinkat(&self.dir, c, AtFlags::empty())
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if self.live {
            let _ = self.unlink();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fifodir;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    struct Dir(std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn tempdir(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("ftrig-unit-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir(&p).unwrap();
        Dir(p)
    }
    fn bytes(p: &std::path::Path) -> &[u8] {
        p.as_os_str().as_encoded_bytes()
    }

    /// An event notified between subscribe and the first read is never lost.
    #[test]
    fn race_free_1000_times() {
        let d = tempdir("race");
        let fd = d.0.join("fd");
        fifodir::create(bytes(&fd), None, false).unwrap();
        for i in 0..1000u32 {
            let l = Listener::subscribe(bytes(&fd)).unwrap();
            let ev = [b'a' + (i % 26) as u8];
            assert_eq!(fifodir::notify_count(bytes(&fd), &ev).unwrap(), 1);
            let mut m = Matcher::new(c"[a-z]").unwrap();
            assert_eq!(
                l.wait_match(&mut m, Some(rt::time::now_ms() + 5000), None, &mut || {}),
                Ok(ev[0])
            );
            l.unsubscribe().unwrap();
        }
        assert_eq!(std::fs::read_dir(&fd).unwrap().count(), 0);
    }

    #[test]
    fn fifo_as_s6_makes_it() {
        let d = tempdir("fifo");
        let fd = d.0.join("fd");
        fifodir::create(bytes(&fd), None, false).unwrap();
        let l = Listener::subscribe(bytes(&fd)).unwrap();
        let name = core::str::from_utf8(l.name()).unwrap().to_string();
        assert!(fifodir::is_listener_name(l.name()));
        let m = std::fs::symlink_metadata(fd.join(&name)).unwrap();
        assert!(m.file_type().is_fifo());
        assert_eq!(m.permissions().mode() & 0o7777, 0o600);
        let mut buf = [0u8; 8];
        assert_eq!(l.read(&mut buf), Ok(0));
        fifodir::notify(bytes(&fd), b"su").unwrap();
        fifodir::notify(bytes(&fd), b"U").unwrap();
        assert_eq!(l.read(&mut buf), Ok(3));
        assert_eq!(&buf[..3], b"suU");
        let mut m = Matcher::new(c"x").unwrap();
        let t0 = rt::time::now_ms();
        assert_eq!(
            l.wait_match(&mut m, Some(t0 + 50), None, &mut || {}),
            Err(Errno::TIMEDOUT)
        );
        assert!(rt::time::now_ms() >= t0 + 50);
        drop(l);
        assert!(!fd.join(&name).exists());
        assert_eq!(fifodir::notify_count(bytes(&fd), b"x"), Ok(0));
        assert!(fifodir::notify(bytes(&d.0.join("none")), b"x").is_err());
    }
}
