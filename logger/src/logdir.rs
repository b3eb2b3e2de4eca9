//! Logdirs: `lock`, `current`, rotation to `@<tai64n>.s` archives, the
//! processor protocol, trimming by count and total size, and the repair of a
//! logdir left by a logger that died — all as s6-log 2.11 does them
//! (s6: src/daemontools-extras/s6-log.c, `logdir_init`, `rotator`, `finish`,
//! `logdir_trim`, `logdir_finalize`).
//!
//! **Invariant:** a byte leaves a logdir's queue only once `write(2)` took it
//! into `current`; `current` is fsync'd before it is renamed, and an archive
//! exists (as a hard link) before the old name goes. Whatever fails is retried
//! after the logdir's cooldown (`r`), never dropped.

use crate::queue::Queue;
use crate::script::{Interp, LogdirConfig, Processor};
use core::ffi::CStr;
use rt::err::Msg;
use rt::time::Tain;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{self, AtFlags, Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Pid, WaitStatus};

/// Mode of `current` while a logger writes it (s6-log: 0644, u+x clear).
const MODE_ACTIVE: u32 = 0o644;
/// Mode of a finished file: u+x marks `current` as cleanly finalized, and
/// archives keep it (s6-log: 0744).
const MODE_DONE: u32 = 0o744;
/// Mode a new logdir is created with (s6-log: 02700; Linux drops the setgid
/// bit for non-members, which is what the oracle shows).
const MODE_DIR: u32 = 0o2700;
/// Bytes of directory entries read per getdents call while trimming.
const DIRENT_BUF: usize = 2048;
/// fds of a processor child are moved above this before being put in place.
const CHILD_FD_FLOOR: i32 = 10;

/// Where a rotation stands: s6-log's `rotstate_t`, one state per step that
/// can fail, so that a retry resumes at the failed step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rot {
    /// No rotation: `current` takes writes.
    Writable,
    /// fsync `current`.
    Start,
    /// `current` → `previous`.
    Rename,
    /// Open a new `current`.
    NewCurrent,
    /// `previous` gets u+x.
    ChmodPrevious,
    /// Archive `previous` as `@….s` (no processor).
    FinishPrevious,
    /// Fork the processor.
    RunProcessor,
    /// The processor runs; SIGCHLD moves on.
    WaitProcessor,
    /// fsync `processed`, give it u+x.
    SyncProcessed,
    /// fsync `newstate`.
    SyncNewstate,
    /// Remove `previous`.
    UnlinkPrevious,
    /// `newstate` → `state`.
    RenameState,
    /// Archive `processed` as `@….s`.
    FinishProcessed,
    /// Finalized at exit: `current` fsync'd and given u+x.
    Finalized,
}

/// A failed start-up step: `unable to VERB DIR[/FILE]: errno`, exit 111.
#[derive(Debug, PartialEq, Eq)]
pub struct InitError {
    /// What could not be done.
    pub verb: &'static [u8],
    /// The file in the logdir, or empty for the logdir itself.
    pub file: &'static [u8],
    /// Why.
    pub errno: Errno,
}

fn init_err(verb: &'static [u8], file: &'static [u8]) -> impl FnOnce(Errno) -> InitError {
    move |errno| InitError { verb, file, errno }
}

/// One logdir and the bytes waiting to go into it.
pub struct Logdir<const N: usize> {
    /// Its settings from the script.
    pub cfg: LogdirConfig,
    /// Formatted lines not yet written to `current`; only whole lines enter.
    pub out: Queue<N>,
    dir: OwnedFd,
    _lock: OwnedFd,
    current: OwnedFd,
    size: u64,
    rot: Rot,
    retry_at: u64,
    pid: Option<Pid>,
    quiet: bool,
}

/// The name of an archive made now: `@<24 hex>.<suffix>`, NUL-terminated.
fn archive_name(suffix: u8) -> [u8; 28] {
    let mut name = [0u8; 28];
    let hex = Tain::now().hex();
    for (i, slot) in name.iter_mut().enumerate() {
        *slot = match i {
            0 => b'@',
            1..=24 => hex.get(i - 1).copied().unwrap_or(b'0'),
            25 => b'.',
            26 => suffix,
            _ => 0,
        };
    }
    name
}

/// Whether `name` is an archive: `@` + 24 hex digits + `.s` or `.u`.
pub fn is_archive(name: &[u8]) -> bool {
    name.len() == 27
        && name.first() == Some(&b'@')
        && name
            .get(1..25)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        && name.get(25) == Some(&b'.')
        && matches!(name.get(26), Some(b's' | b'u'))
}

fn mode(m: u32) -> Mode {
    Mode::from_raw_mode(m)
}

fn has_user_x(st: &fs::Stat) -> bool {
    st.st_mode & 0o100 != 0
}

/// Archives `name` as `@now.<suffix>` (hard link, then unlink; a file
/// already linked elsewhere is only unlinked), then trims the logdir.
fn finish(
    dir: &OwnedFd,
    cfg: &LogdirConfig,
    name: &CStr,
    suffix: u8,
    quiet: bool,
) -> Result<(), Errno> {
    let st = match fs::statat(dir, name, AtFlags::empty()) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    if st.st_nlink == 1 {
        let archive = archive_name(suffix);
        let archive = CStr::from_bytes_with_nul(&archive).map_err(|_| Errno::INVAL)?;
        fs::linkat(dir, name, dir, archive, AtFlags::empty())?;
    }
    fs::unlinkat(dir, name, AtFlags::empty())?;
    trim(dir, cfg, quiet)
}

/// One pass over the archives of `dir`: how many, their total size when
/// `sizes` is set, and the oldest name (NUL-terminated).
fn scan(dir: &OwnedFd, sizes: bool) -> Result<(u64, u64, Option<[u8; 28]>), Errno> {
    let fd = fs::openat(
        dir,
        c".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); DIRENT_BUF];
    let mut entries = fs::RawDir::new(&fd, &mut buf);
    let (mut count, mut total) = (0u64, 0u64);
    let mut oldest: Option<[u8; 28]> = None;
    while let Some(entry) = entries.next() {
        let entry = entry?;
        let name = entry.file_name();
        let bytes = name.to_bytes_with_nul();
        if !is_archive(name.to_bytes()) {
            continue;
        }
        count += 1;
        if sizes {
            match fs::statat(dir, name, AtFlags::empty()) {
                Ok(st) => total = total.saturating_add(u64::try_from(st.st_size).unwrap_or(0)),
                Err(_) => continue,
            }
        }
        let older = match &oldest {
            None => true,
            Some(o) => bytes.get(1..25) < o.get(1..25),
        };
        if older {
            let mut n = [0u8; 28];
            n.copy_from_slice(bytes.get(..28).unwrap_or(&[0; 28]));
            oldest = Some(n);
        }
    }
    Ok((count, total, oldest))
}

/// Deletes the oldest archives while there are more than `n`, or (with
/// `S`) while they take more than `S` bytes.
///
/// # References
/// s6: s6-log.html "Rotation", `logdir_trim`.
fn trim(dir: &OwnedFd, cfg: &LogdirConfig, quiet: bool) -> Result<(), Errno> {
    let (mut count, mut total, _) = scan(dir, cfg.max_total != 0)?;
    while count > u64::from(cfg.count) || (cfg.max_total != 0 && total > cfg.max_total) {
        let (_, _, oldest) = scan(dir, false)?;
        let Some(name) = oldest else { break };
        let Ok(name) = CStr::from_bytes_with_nul(&name) else {
            break;
        };
        let size = fs::statat(dir, name, AtFlags::empty())
            .map(|st| u64::try_from(st.st_size).unwrap_or(0))
            .unwrap_or(0);
        if let Err(e) = fs::unlinkat(dir, name, AtFlags::empty()) {
            if !quiet {
                Msg::warn(crate::PROG)
                    .s(b"unable to unlink ")
                    .s(cfg.dir.to_bytes())
                    .s(b"/")
                    .s(name.to_bytes())
                    .errno(e)
                    .emit();
            }
            break;
        }
        count -= 1;
        total = total.saturating_sub(size);
    }
    Ok(())
}

fn open_append(dir: &OwnedFd, name: &CStr) -> Result<OwnedFd, Errno> {
    fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::NONBLOCK | OFlags::CLOEXEC,
        mode(0o666),
    )
}

impl<const N: usize> Logdir<N> {
    /// Takes the logdir: creates it, locks `lock`, repairs what a dead
    /// logger left, opens `current`.
    ///
    /// Repair (when `current` lacks u+x): `state` and `newstate` go; a
    /// finished `processed` is archived as `.s` (and `previous` dropped),
    /// otherwise `previous` is archived as `.u`; `current` is archived as
    /// `.u`; a new empty `state` is made.
    ///
    /// # References
    /// doc/rs6-log.md "Files"; s6: s6-log.html "Logdirs".
    pub fn open(cfg: LogdirConfig, quiet: bool) -> Result<Self, InitError> {
        match fs::mkdir(cfg.dir, mode(MODE_DIR)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(init_err(b"mkdir", b"")(e)),
        }
        let dir = fs::open(
            cfg.dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(init_err(b"open", b""))?;
        let lock = fs::openat(
            &dir,
            c"lock",
            OFlags::WRONLY | OFlags::CREATE | OFlags::NONBLOCK | OFlags::CLOEXEC,
            mode(0o666),
        )
        .map_err(init_err(b"open", b"lock"))?;
        match rt::sys::lock_whole(lock.as_fd(), true) {
            Ok(true) => {}
            Ok(false) => return Err(init_err(b"lock", b"lock")(Errno::BUSY)),
            Err(e) => return Err(init_err(b"lock", b"lock")(e)),
        }
        let size = match fs::statat(&dir, c"current", AtFlags::empty()) {
            Ok(st) if has_user_x(&st) => u64::try_from(st.st_size).unwrap_or(0),
            Ok(_) | Err(Errno::NOENT) => {
                recover(&dir, &cfg, quiet)?;
                0
            }
            Err(e) => return Err(init_err(b"stat", b"current")(e)),
        };
        let current = open_append(&dir, c"current").map_err(init_err(b"open", b"current"))?;
        fs::fchmod(&current, mode(MODE_ACTIVE)).map_err(init_err(b"fchmod", b"current"))?;
        Ok(Logdir {
            cfg,
            out: Queue::new(),
            dir,
            _lock: lock,
            current,
            size,
            rot: Rot::Writable,
            retry_at: 0,
            pid: None,
            quiet,
        })
    }

    /// Where the rotation stands.
    pub fn rot(&self) -> Rot {
        self.rot
    }

    /// When a failed step may be tried again (monotonic ms).
    pub fn retry_at(&self) -> u64 {
        self.retry_at
    }

    /// Bytes in `current`.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the logdir has work left: bytes queued or a rotation under way.
    pub fn busy(&self) -> bool {
        !self.out.is_empty() || !matches!(self.rot, Rot::Writable | Rot::Finalized)
    }

    /// When [`Logdir::service`] should run again (monotonic ms), if the
    /// logdir is busy and not waiting for its processor.
    pub fn wake_at(&self) -> Option<u64> {
        (self.busy() && self.rot != Rot::WaitProcessor).then_some(self.retry_at)
    }

    fn warn(&self, verb: &[u8], file: &[u8], e: Option<Errno>) {
        if self.quiet {
            return;
        }
        let mut m = Msg::warn(crate::PROG)
            .s(verb)
            .s(b" ")
            .s(self.cfg.dir.to_bytes());
        if !file.is_empty() {
            m = m.s(b"/").s(file);
        }
        if let Some(e) = e {
            m = m.errno(e);
        }
        m.emit();
    }

    fn fail(&mut self, now: u64, verb: &[u8], file: &[u8], e: Errno) -> bool {
        self.warn(verb, file, Some(e));
        self.retry_at = now.saturating_add(u64::from(self.cfg.retry_ms));
        false
    }

    /// The part of `data` to write now: whole lines that keep `current`
    /// within `s` bytes, or at least one line.
    fn chunk<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        let room = u64::from(self.cfg.size).saturating_sub(self.size);
        let room = usize::try_from(room).unwrap_or(usize::MAX);
        if data.len() <= room {
            return data;
        }
        let head = data.get(..room).unwrap_or(data);
        let end = match head.iter().rposition(|&c| c == b'\n') {
            Some(i) => i + 1,
            None => data
                .iter()
                .position(|&c| c == b'\n')
                .map_or(data.len(), |i| i + 1),
        };
        data.get(..end).unwrap_or(data)
    }

    /// Does what is due: resumes a rotation, rotates a full `current`,
    /// writes the queue. Errors are warned about and retried `r` ms later.
    ///
    /// # References
    /// s6: `rotate_or_flush`, `logdir_write`.
    pub fn service(&mut self, now: u64) {
        if now < self.retry_at || self.rot == Rot::Finalized {
            return;
        }
        if self.rot != Rot::Writable && !self.rotate(now) {
            return;
        }
        loop {
            if self.size >= u64::from(self.cfg.size) {
                self.rot = Rot::Start;
                if !self.rotate(now) {
                    return;
                }
            }
            let chunk = self.chunk(self.out.data());
            if chunk.is_empty() {
                return;
            }
            match rustix::io::write(&self.current, chunk) {
                Ok(0) => {
                    self.fail(now, b"unable to write to", b"current", Errno::IO);
                    return;
                }
                Ok(n) => {
                    let line_end = chunk.get(n - 1) == Some(&b'\n');
                    self.out.consume(n);
                    self.size = self.size.saturating_add(n as u64);
                    let tol = u64::from(self.cfg.tolerance);
                    if line_end && self.size.saturating_add(tol) >= u64::from(self.cfg.size) {
                        self.rot = Rot::Start;
                        if !self.rotate(now) {
                            return;
                        }
                    }
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return,
                Err(e) => {
                    self.fail(now, b"unable to write to", b"current", e);
                    return;
                }
            }
        }
    }

    /// SIGALRM: rotates now if `current` is not empty.
    pub fn alarm(&mut self, now: u64) {
        if self.rot == Rot::Writable && self.size > 0 {
            self.rot = Rot::Start;
            self.rotate(now);
        }
    }

    /// Runs rotation steps from the current state until the logdir is
    /// writable again (true), a step fails (false, retried after `r`), or the
    /// processor runs (false, SIGCHLD resumes).
    ///
    /// # References
    /// s6: `rotator`; doc/rs6-log.md "Files".
    fn rotate(&mut self, now: u64) -> bool {
        loop {
            match self.rot {
                Rot::Writable | Rot::Finalized => return true,
                Rot::Start => {
                    if let Err(e) = fs::fsync(&self.current) {
                        return self.fail(now, b"unable to fsync", b"current", e);
                    }
                    self.rot = Rot::Rename;
                }
                Rot::Rename => {
                    if let Err(e) = fs::renameat(&self.dir, c"current", &self.dir, c"previous") {
                        return self.fail(now, b"unable to rename current to previous in", b"", e);
                    }
                    self.rot = Rot::NewCurrent;
                }
                Rot::NewCurrent => {
                    let fd = match open_append(&self.dir, c"current") {
                        Ok(fd) => fd,
                        Err(e) => return self.fail(now, b"unable to open", b"current", e),
                    };
                    if let Err(e) = fs::fchmod(&fd, mode(MODE_ACTIVE)) {
                        return self.fail(now, b"unable to fchmod", b"current", e);
                    }
                    self.current = fd;
                    self.size = 0;
                    self.rot = Rot::ChmodPrevious;
                }
                Rot::ChmodPrevious => {
                    if let Err(e) =
                        fs::chmodat(&self.dir, c"previous", mode(MODE_DONE), AtFlags::empty())
                    {
                        return self.fail(now, b"unable to chmod", b"previous", e);
                    }
                    self.rot = if self.cfg.processor.is_some() {
                        Rot::RunProcessor
                    } else {
                        Rot::FinishPrevious
                    };
                }
                Rot::FinishPrevious => {
                    if let Err(e) = finish(&self.dir, &self.cfg, c"previous", b's', self.quiet) {
                        return self.fail(now, b"unable to archive", b"previous", e);
                    }
                    self.rot = Rot::Writable;
                }
                Rot::RunProcessor => {
                    let Some(p) = self.cfg.processor else {
                        self.rot = Rot::FinishPrevious;
                        continue;
                    };
                    match self.spawn(&p) {
                        Ok(pid) => {
                            self.pid = Some(pid);
                            self.rot = Rot::WaitProcessor;
                        }
                        Err(e) => return self.fail(now, b"unable to fork processor for", b"", e),
                    }
                }
                Rot::WaitProcessor => return false,
                Rot::SyncProcessed => {
                    let r = open_append(&self.dir, c"processed").and_then(|fd| {
                        fs::fsync(&fd)?;
                        fs::fchmod(&fd, mode(MODE_DONE))
                    });
                    if let Err(e) = r {
                        return self.fail(now, b"unable to sync", b"processed", e);
                    }
                    self.rot = Rot::SyncNewstate;
                }
                Rot::SyncNewstate => {
                    if let Err(e) = open_append(&self.dir, c"newstate").and_then(fs::fsync) {
                        return self.fail(now, b"unable to sync", b"newstate", e);
                    }
                    self.rot = Rot::UnlinkPrevious;
                }
                Rot::UnlinkPrevious => {
                    match fs::unlinkat(&self.dir, c"previous", AtFlags::empty()) {
                        Ok(()) | Err(Errno::NOENT) => {}
                        Err(e) => return self.fail(now, b"unable to unlink", b"previous", e),
                    }
                    self.rot = Rot::RenameState;
                }
                Rot::RenameState => {
                    if let Err(e) = fs::renameat(&self.dir, c"newstate", &self.dir, c"state") {
                        return self.fail(now, b"unable to rename newstate to state in", b"", e);
                    }
                    self.rot = Rot::FinishProcessed;
                }
                Rot::FinishProcessed => {
                    if let Err(e) = finish(&self.dir, &self.cfg, c"processed", b's', self.quiet) {
                        return self.fail(now, b"unable to archive", b"processed", e);
                    }
                    self.rot = Rot::Writable;
                }
            }
        }
    }

    /// If `pid` is this logdir's processor, takes its end: success resumes
    /// the rotation, failure runs it again after `r`. Returns whether it was.
    pub fn reap(&mut self, pid: Pid, status: WaitStatus, now: u64) -> bool {
        if self.pid != Some(pid) {
            return false;
        }
        self.pid = None;
        if status.terminating_signal().is_some() {
            self.warn(b"processor crashed in", b"", None);
        } else if status.exit_status() != Some(0) {
            self.warn(b"processor failed in", b"", None);
        } else {
            self.rot = Rot::SyncProcessed;
            self.rotate(now);
            return true;
        }
        self.rot = Rot::RunProcessor;
        self.retry_at = now.saturating_add(u64::from(self.cfg.retry_ms));
        true
    }

    /// At exit, once nothing is queued and no rotation runs: fsync `current`
    /// and give it u+x (cleanly finalized). True when done.
    ///
    /// # References
    /// s6: `logdir_finalize`.
    pub fn finalize(&mut self, now: u64) -> bool {
        match self.rot {
            Rot::Finalized => true,
            Rot::Writable if self.out.is_empty() && now >= self.retry_at => {
                let r = fs::fsync(&self.current)
                    .and_then(|()| fs::fchmod(&self.current, mode(MODE_DONE)));
                match r {
                    Ok(()) => {
                        self.rot = Rot::Finalized;
                        true
                    }
                    Err(e) => self.fail(now, b"unable to finalize", b"current", e),
                }
            }
            _ => false,
        }
    }

    fn spawn(&self, p: &Processor) -> Result<Pid, Errno> {
        match rt::sys::fork()? {
            rt::sys::Fork::Parent(pid) => Ok(pid),
            rt::sys::Fork::Child => self.exec_processor(p),
        }
    }

    /// In the processor child: cwd = the logdir, stdin `previous`, stdout
    /// `processed`, fd 4 `state`, fd 5 `newstate`; then exec.
    fn exec_processor(&self, p: &Processor) -> ! {
        const CHILD: &[u8] = b"rs6-log (processor child)";
        rt::sig::reset_for_child();
        if let Err(e) = rustix::process::fchdir(&self.dir) {
            Msg::fatal(CHILD)
                .s(b"unable to chdir to ")
                .s(self.cfg.dir.to_bytes())
                .errno(e)
                .die(rt::err::EXIT_TEMP);
        }
        let wr = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC;
        let plan: [(&CStr, OFlags, i32); 4] = [
            (c"previous", OFlags::RDONLY, 0),
            (c"processed", wr, 1),
            (c"state", OFlags::RDONLY, 4),
            (c"newstate", wr, 5),
        ];
        let mut high: [Option<OwnedFd>; 4] = [None, None, None, None];
        for ((name, flags, _), slot) in plan.iter().zip(high.iter_mut()) {
            let r = fs::openat(&self.dir, *name, *flags | OFlags::CLOEXEC, mode(0o666))
                .and_then(|fd| rustix::io::fcntl_dupfd_cloexec(&fd, CHILD_FD_FLOOR));
            match r {
                Ok(fd) => *slot = Some(fd),
                Err(e) => Msg::fatal(CHILD)
                    .s(b"unable to open ")
                    .s(self.cfg.dir.to_bytes())
                    .s(b"/")
                    .s(name.to_bytes())
                    .errno(e)
                    .die(rt::err::EXIT_TEMP),
            }
        }
        for ((_, _, target), fd) in plan.iter().zip(high.iter()) {
            let Some(fd) = fd else { continue };
            let mut t = rt::sys::own_fd(*target);
            let r = rustix::io::dup2(fd, &mut t);
            core::mem::forget(t);
            if let Err(e) = r {
                Msg::fatal(CHILD)
                    .s(b"unable to dup2")
                    .errno(e)
                    .die(rt::err::EXIT_TEMP);
            }
        }
        let (file, argv): (&CStr, [&CStr; 3]) = match p.interp {
            Interp::Execline => (c"execlineb", [c"execlineb", c"-Pc", p.cmd]),
            Interp::Shell => (c"/bin/sh", [c"/bin/sh", c"-c", p.cmd]),
        };
        let e = rt::sys::execvp(file, &argv);
        let code = if e == Errno::NOENT {
            rt::err::EXIT_NOTFOUND
        } else {
            rt::err::EXIT_NOEXEC
        };
        Msg::fatal(CHILD)
            .s(b"unable to exec ")
            .s(file.to_bytes())
            .errno(e)
            .die(code)
    }
}

/// The start-up repair of a logdir whose `current` was not finalized.
fn recover(dir: &OwnedFd, cfg: &LogdirConfig, quiet: bool) -> Result<(), InitError> {
    let _ = fs::unlinkat(dir, c"state", AtFlags::empty());
    let _ = fs::unlinkat(dir, c"newstate", AtFlags::empty());
    let processed = match fs::statat(dir, c"processed", AtFlags::empty()) {
        Ok(st) => has_user_x(&st),
        Err(Errno::NOENT) => false,
        Err(e) => return Err(init_err(b"stat", b"processed")(e)),
    };
    if processed {
        let _ = fs::unlinkat(dir, c"previous", AtFlags::empty());
        finish(dir, cfg, c"processed", b's', quiet).map_err(init_err(b"archive", b"processed"))?;
    } else {
        let _ = fs::unlinkat(dir, c"processed", AtFlags::empty());
        finish(dir, cfg, c"previous", b'u', quiet).map_err(init_err(b"archive", b"previous"))?;
    }
    finish(dir, cfg, c"current", b'u', quiet).map_err(init_err(b"archive", b"current"))?;
    fs::openat(
        dir,
        c"state",
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC,
        mode(0o666),
    )
    .map_err(init_err(b"create", b"state"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names() {
        assert!(is_archive(b"@400000006b09b4481d38a16c.s"));
        assert!(is_archive(b"@400000006b09b4481d38a16c.u"));
        assert!(!is_archive(b"@400000006b09b4481d38a16c.x"));
        assert!(!is_archive(b"@400000006b09b4481d38a16.s"));
        assert!(!is_archive(b"current"));
        let n = archive_name(b's');
        assert!(is_archive(&n[..27]));
        assert_eq!(n[27], 0);
    }
}
