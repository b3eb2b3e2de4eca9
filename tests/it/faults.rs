//! The fault suite (issue 9): supervisors and the scanner under conditions
//! a supervision tree must live through — fork failing (RLIMIT_NPROC), no file
//! descriptor left (RLIMIT_NOFILE), a read-only scan directory, a full disk
//! under a logger, a supervisor stopped with SIGSTOP while its service dies
//! and commands arrive, and status stamps in the future (the clock set
//! backwards; the real clock jump is the QEMU scenario
//! tests/scenarios/1180-clock-jump). Each test shows that the supervisors
//! stay responsive (commands work during the fault and after it), never spin
//! (their utime+stime stays under 1 % of the test's wall time: [`Cpu`]) and
//! lose nothing they can keep: commands, deaths, events, log records (with
//! no descriptor left, a status file or an event cannot be written at all;
//! s6 loses them the same way, and the next transition after the fault is
//! right again: see [`fd_exhaustion`]).
//!
//! Where Debian's s6 can play the same part, the test runs it side by side
//! and compares what the two report (events, status), as tests/it/supervise.rs
//! does; rs6 is then held to s6's behaviour, not to a guess.
//!
//! These tests run as root (they mount file systems, change resource limits
//! of other processes and run supervisors as `nobody` with setpriv), as
//! `cargo xtask test` does. Every process tree runs under rs6-test-reaper and
//! is killed by pid when the test ends; every mount is unmounted.

use crate::common::{TempDir, rs6, run, s6, script, wait_until};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

pub(crate) const REAPER: &str = env!("CARGO_BIN_EXE_rs6-test-reaper");
const WRITER: &str = env!("CARGO_BIN_EXE_rs6-test-writer");

/// How long a test waits for a state before failing.
pub(crate) const PATIENCE: Duration = Duration::from_secs(5);
/// The unprivileged user of these tests.
pub(crate) const NOBODY: u32 = 65534;
/// Linux reports utime and stime in USER_HZ ticks, 100 a second.
const TICKS_PER_SEC: f64 = 100.0;
/// O_NONBLOCK on Linux.
const O_NONBLOCK: i32 = 0o4000;

// ------------------------------------------------------------------ processes

/// `setpriv` running what follows as `uid`:`gid` with `groups` as
/// supplementary groups (none when empty).
pub(crate) fn as_user(uid: u32, gid: u32, groups: &[u32]) -> Command {
    let mut c = Command::new("setpriv");
    c.arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"));
    if groups.is_empty() {
        c.arg("--clear-groups");
    } else {
        let g: Vec<String> = groups.iter().map(u32::to_string).collect();
        c.arg(format!("--groups={}", g.join(",")));
    }
    c
}

/// Runs `sh -c cmd`; whether it succeeded.
pub(crate) fn sh(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Sends `sig` to `pid`; false when there is no such process.
#[allow(unsafe_code, reason = "kill(2) through libc: std has no signal API")]
pub(crate) fn kill(pid: i32, sig: i32) -> bool {
    assert!(pid > 0, "kill({pid}): not a single process");
    // SAFETY: kill takes two integers and touches no memory of ours.
    unsafe { libc::kill(pid, sig) == 0 }
}

fn children(pid: i32) -> Vec<i32> {
    let mut v = Vec::new();
    if let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = fs::read_to_string(t.path().join("children")) {
                v.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    v
}

fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = children(pid);
    while let Some(p) = todo.pop() {
        out.push(p);
        todo.extend(children(p));
    }
    out
}

/// The fields of /proc/PID/stat after the command name (field 3 is index 0).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = s.rsplit_once(") ")?.1;
    Some(rest.split_whitespace().map(String::from).collect())
}

/// State letter of `pid` (R, S, T, Z…).
pub(crate) fn state(pid: i32) -> Option<char> {
    stat_fields(pid)?.first()?.chars().next()
}

/// utime + stime of `pid`, in ticks.
pub(crate) fn cpu_ticks(pid: i32) -> u64 {
    let f = stat_fields(pid).unwrap_or_else(|| panic!("no /proc/{pid}/stat"));
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Open descriptors of `pid`.
pub(crate) fn fd_count(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The lowest descriptor number `pid` does not use: with RLIMIT_NOFILE set
/// to it, the process can open nothing more.
fn lowest_free_fd(pid: i32) -> usize {
    let used: Vec<usize> = fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    (0..).find(|n| !used.contains(n)).unwrap()
}

/// The real uid and gid of `pid`.
fn ids(pid: i32) -> (u32, u32) {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let first = |key: &str| -> u32 {
        s.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    };
    (first("Uid:"), first("Gid:"))
}

/// Runs `prlimit --pid PID ARG` as the owner of PID: root here lacks
/// CAP_SYS_RESOURCE, so only the soft limit moves (`--nofile=8:`), down and
/// back up to the hard limit, which needs no privilege.
fn prlimit(pid: i32, arg: &str) {
    let (uid, gid) = ids(pid);
    let (c, _, err) = run(as_user(uid, gid, &[])
        .arg("prlimit")
        .arg("--pid")
        .arg(pid.to_string())
        .arg(arg));
    assert_eq!(c, 0, "prlimit {arg} on {pid}: {err}");
}

/// The hard limit NAME (`Max processes`, `Max open files`) of `pid`, as
/// prlimit writes it.
fn hard_limit(pid: i32, name: &str) -> String {
    let s = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let l = s.lines().find(|l| l.starts_with(name)).unwrap();
    l[name.len()..]
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

/// CPU use of processes over a stretch of a test: never spinning means less
/// than 1 % of the wall time, each.
pub(crate) struct Cpu {
    start: Instant,
    base: Vec<(String, i32, u64)>,
}

impl Cpu {
    pub(crate) fn watch(procs: &[(&str, i32)]) -> Cpu {
        Cpu {
            start: Instant::now(),
            base: procs
                .iter()
                .map(|&(n, p)| (n.to_string(), p, cpu_ticks(p)))
                .collect(),
        }
    }

    /// Asserts that each process used less than 1 % of the time since
    /// [`Cpu::watch`] (alive or not: a dead process fails the test).
    pub(crate) fn assert_idle(&self, what: &str) {
        let wall = self.start.elapsed().as_secs_f64();
        for (name, pid, t0) in &self.base {
            let used = cpu_ticks(*pid) - t0;
            let share = used as f64 / TICKS_PER_SEC / wall;
            assert!(
                share < 0.01,
                "{what}: {name} (pid {pid}) used {used} ticks in {wall:.1} s ({:.2} %)",
                share * 100.0
            );
        }
    }
}

/// A process tree under rs6-test-reaper: `dir` holds the reaper's `pid` and
/// `status` and the program's `stdout` and `stderr`. Dropping it kills every
/// process below the reaper, by pid, and waits for the reaper.
pub(crate) struct Tree {
    pub(crate) dir: PathBuf,
    reaper: Child,
    /// The program's pid (setpriv execs it: then the pid of what it runs).
    pub(crate) pid: i32,
}

impl Tree {
    /// Starts `argv` in `cwd`, its output in `dir`.
    pub(crate) fn start(dir: &Path, cwd: &Path, argv: &[OsString]) -> Tree {
        Tree::start_env(dir, cwd, argv, &[])
    }

    pub(crate) fn start_env(
        dir: &Path,
        cwd: &Path,
        argv: &[OsString],
        env: &[(&str, String)],
    ) -> Tree {
        fs::create_dir_all(dir).unwrap();
        let _ = fs::remove_file(dir.join("pid"));
        let _ = fs::remove_file(dir.join("status"));
        let mut c = Command::new(REAPER);
        c.arg(dir)
            .args(argv)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(File::create(dir.join("stdout")).unwrap())
            .stderr(File::create(dir.join("stderr")).unwrap());
        for (k, v) in env {
            c.env(k, v);
        }
        let reaper = c.spawn().expect("spawn rs6-test-reaper");
        let pidfile = dir.join("pid");
        assert!(
            wait_until(PATIENCE, || pidfile.exists()),
            "{argv:?} not started"
        );
        let pid = fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        Tree {
            dir: dir.into(),
            reaper,
            pid,
        }
    }

    /// The program's stderr (lossy).
    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&fs::read(self.dir.join("stderr")).unwrap_or_default()).into()
    }

    /// `exit N` / `signal N` once the program ended.
    pub(crate) fn status(&self) -> Option<String> {
        fs::read_to_string(self.dir.join("status")).ok()
    }

    pub(crate) fn wait_exit(&self, limit: Duration) -> String {
        wait_until(limit, || self.status().is_some());
        self.status()
            .unwrap_or_else(|| format!("still running after {limit:?}"))
    }

    pub(crate) fn alive(&self) -> bool {
        self.status().is_none() && matches!(state(self.pid), Some(c) if c != 'Z')
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let reaper = self.reaper.id() as i32;
        for _ in 0..1000 {
            let left = descendants(reaper);
            if left.is_empty() {
                break;
            }
            for p in left {
                kill(p, libc::SIGKILL);
            }
            thread::sleep(Duration::from_millis(5));
        }
        let start = Instant::now();
        while matches!(self.reaper.try_wait(), Ok(None)) {
            if start.elapsed() > PATIENCE {
                let _ = self.reaper.kill();
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
        let _ = self.reaper.wait();
    }
}

/// argv of `cmd` (a setpriv prefix) followed by `rest`.
pub(crate) fn argv_of(cmd: &Command, rest: &[OsString]) -> Vec<OsString> {
    let mut v = vec![cmd.get_program().to_owned()];
    v.extend(cmd.get_args().map(ToOwned::to_owned));
    v.extend(rest.iter().cloned());
    v
}

// ------------------------------------------------------------------- services

/// Which supervision suite plays a part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Imp {
    S6,
    Rs6,
}

impl Imp {
    pub(crate) fn tool(self, name: &str) -> PathBuf {
        match self {
            Imp::S6 => s6(&format!("s6-{name}")),
            Imp::Rs6 => rs6(&format!("rs6-{name}")),
        }
    }
}

/// Runs `f` for s6 and rs6 at the same time; (s6's result, rs6's).
pub(crate) fn side_by_side<T: Send>(f: impl Fn(Imp) -> T + Sync) -> (T, T) {
    thread::scope(|s| {
        let a = s.spawn(|| f(Imp::S6));
        let b = s.spawn(|| f(Imp::Rs6));
        (a.join().expect("s6 side"), b.join().expect("rs6 side"))
    })
}

/// The parts of `supervise/status` the tests look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct St {
    pub(crate) pid: u64,
    pub(crate) wstat: u16,
    pub(crate) flags: u8,
}

impl St {
    pub(crate) fn up(&self) -> bool {
        self.pid != 0 && self.flags & 2 == 0
    }
    pub(crate) fn want_up(&self) -> bool {
        self.flags & 4 != 0
    }
    pub(crate) fn paused(&self) -> bool {
        self.flags & 1 != 0
    }
}

pub(crate) fn read_status(sv: &Path) -> Option<St> {
    let b = fs::read(sv.join("supervise/status")).ok()?;
    let raw: [u8; 35] = b.try_into().ok()?;
    let be = |r: std::ops::Range<usize>| raw[r].iter().fold(0u64, |a, &x| a << 8 | u64::from(x));
    Some(St {
        pid: be(24..32),
        wstat: be(32..34) as u16,
        flags: raw[34],
    })
}

/// Waits until the status of `sv` satisfies `f`; returns it.
pub(crate) fn wait_status(sv: &Path, what: &str, f: impl Fn(&St) -> bool) -> St {
    let ok = wait_until(PATIENCE, || read_status(sv).is_some_and(|s| f(&s)));
    let st = read_status(sv);
    assert!(ok, "{}: timed out waiting for {what}: {st:?}", sv.display());
    st.unwrap()
}

/// Runs a tool of `imp` with `args` then `dir`: (exit code, stdout).
pub(crate) fn tool(imp: Imp, name: &str, args: &[&str], dir: &Path) -> (i32, String) {
    let (c, out, _) = run(Command::new(imp.tool(name)).args(args).arg(dir));
    (c, out)
}

/// `rs6-svc ARGS DIR`, which must succeed (rs6's tool drives both supervisors).
pub(crate) fn svc(dir: &Path, args: &str) {
    let (c, _, err) = run(Command::new(rs6("rs6-svc")).arg(args).arg(dir));
    assert_eq!(c, 0, "rs6-svc {args} {}: {err}", dir.display());
}

/// A raw listener on a fifodir: a `ftrig1:@…` fifo, world-writable so that
/// a supervisor running as another user can write to it.
pub(crate) struct Events {
    r: File,
    _w: File,
    got: Vec<u8>,
}

impl Events {
    pub(crate) fn subscribe(fifodir: &Path) -> Events {
        static N: AtomicU32 = AtomicU32::new(0);
        fs::create_dir_all(fifodir).unwrap();
        let n = N.fetch_add(1, Ordering::SeqCst);
        let name = format!(
            "ftrig1:@{:024x}:{:06}",
            u128::from(std::process::id()) << 40 | 0xfa << 32 | u128::from(n),
            n % 1_000_000
        );
        let path = fifodir.join(name);
        assert!(sh(&format!("mkfifo -m 0622 '{}'", path.display())));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o622)).unwrap();
        let r = OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open(&path)
            .unwrap();
        let w = OpenOptions::new().write(true).open(&path).unwrap();
        Events {
            r,
            _w: w,
            got: Vec::new(),
        }
    }

    fn pump(&mut self) {
        let mut buf = [0u8; 256];
        loop {
            match self.r.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => self.got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => panic!("read events: {e}"),
            }
        }
    }

    pub(crate) fn text(&mut self) -> String {
        self.pump();
        String::from_utf8_lossy(&self.got).into()
    }

    /// Waits until the events received end with `tail`.
    pub(crate) fn expect(&mut self, tail: &str) {
        let ok = wait_until(PATIENCE, || self.text().ends_with(tail));
        assert!(ok, "expected events ending {tail:?}, got {:?}", self.text());
    }
}

/// Waits until `f` holds or fails with `what`.
fn must(what: &str, f: impl FnMut() -> bool) {
    assert!(wait_until(PATIENCE, f), "timed out: {what}");
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

fn chown_r(path: &Path, uid: u32) {
    assert!(sh(&format!("chown -R {uid}:{uid} '{}'", path.display())));
}

// ------------------------------------------------------------- fork failure

/// What a supervisor reported through a fork-failure episode.
#[derive(Debug, PartialEq, Eq)]
struct ForkRun {
    /// Events while fork failed, then after it worked again.
    during: String,
    after: String,
    /// (want up, up, wstat) after each command while fork failed.
    states: Vec<(bool, bool, u16)>,
    /// `rs6-svc -wu` while fork failed: 99 (timed out, nothing started).
    wait_code: i32,
    exit: String,
}

/// The supervisor runs as `nobody`; its RLIMIT_NPROC is set to 1 while the
/// service is up, so every fork fails. The service dies (finish cannot be
/// forked: `dD`), the 1-second restart fails, and `-u`, `-d`, `-o`, `-u`
/// commands each change the status at once; fork is retried once per
/// spawning command and after 60 s, never in a loop; no descriptor leaks.
/// Once the limit is lifted, `-u` starts the service at once (`u`, a new
/// pid); with fork failing again, `-dx` still stops it (`dD`) and ends the
/// supervisor (`x`, exit 0). s6-supervise, run the same way, reports the
/// same events and states.
fn fork_failure(imp: Imp) -> ForkRun {
    let t = TempDir::new(&format!("fault-nproc-{imp:?}"));
    let sv = t.join("sv");
    script(
        &sv.join("run"),
        "echo $$ >> starts\n[ -e stay ] && exec sleep 100\nsleep 0.3\nexit 3",
    );
    script(&sv.join("finish"), "echo \"$1\" >> finishes");
    fs::create_dir_all(sv.join("event")).unwrap();
    let mut ev = Events::subscribe(&sv.join("event"));
    chown_r(&sv, NOBODY);
    let nobody = as_user(NOBODY, NOBODY, &[]);
    let tree = Tree::start(
        &t.join("tree"),
        t.path(),
        &argv_of(&nobody, &[imp.tool("supervise").into(), "sv".into()]),
    );
    let pid = tree.pid;
    wait_status(&sv, "up", St::up);
    ev.expect("su");
    let hard = hard_limit(pid, "Max processes");
    prlimit(pid, "--nproc=1:");
    let fds = fd_count(pid);
    let cpu = Cpu::watch(&[("supervisor", pid)]);
    // run exits 3 after 0.3 s; finish cannot be forked; 1 s later the
    // restart cannot be forked either.
    ev.expect("sudD");
    let died = wait_status(&sv, "down after exit 3", |s| !s.up() && s.wstat == 0x300);
    assert!(died.want_up());
    // The 1-second restart comes and fails (s6 and rs6 say the same).
    let fork_fails = || count(&tree.stderr(), "unable to fork (waiting 60 seconds)");
    must("the restart failed", || fork_fails() == 1);
    let mut states = Vec::new();
    for cmd in ["-u", "-d", "-o", "-u"] {
        svc(&sv, cmd);
        let want = cmd == "-u";
        let st = wait_status(&sv, cmd, |s| s.want_up() == want);
        thread::sleep(Duration::from_millis(100));
        states.push((st.want_up(), st.up(), st.wstat));
    }
    let (wait_code, _, _) = run(Command::new(rs6("rs6-svc"))
        .args(["-wu", "-T", "400", "-u"])
        .arg(&sv));
    let during = ev.text();
    assert!(tree.alive(), "{imp:?}: supervisor died: {}", tree.stderr());
    assert_eq!(fd_count(pid), fds, "{imp:?}: descriptors leaked");
    cpu.assert_idle(&format!("{imp:?} while fork fails"));
    let err = tree.stderr();
    assert_eq!(
        count(&err, "unable to fork for ./finish"),
        1,
        "{imp:?}: {err}"
    );
    // The throttled restart, then -u, -o, -u and -wu's -u: 5 attempts.
    assert_eq!(fork_fails(), 5, "{imp:?}: {err}");
    let starts = fs::read_to_string(sv.join("starts"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(starts, 1, "{imp:?}: a run started while fork failed?");

    fs::write(sv.join("stay"), "").unwrap();
    prlimit(pid, &format!("--nproc={hard}:"));
    svc(&sv, "-u");
    let up = wait_status(&sv, "up again", St::up);
    assert_ne!(up.pid, died.pid);
    ev.expect("u");
    // Fork fails again: `-dx` still stops the service and ends the supervisor.
    prlimit(pid, "--nproc=1:");
    svc(&sv, "-dx");
    let exit = tree.wait_exit(PATIENCE);
    let err = tree.stderr();
    assert_eq!(
        count(&err, "unable to fork for ./finish"),
        2,
        "{imp:?}: {err}"
    );
    assert!(!sv.join("finishes").exists(), "{imp:?}: finish ran?");
    let all = ev.text();
    ForkRun {
        during: during[2..].to_string(),
        after: all[during.len()..].to_string(),
        states,
        wait_code,
        exit,
    }
}

#[test]
fn fork_failure_nproc_as_s6() {
    let (a, b) = side_by_side(fork_failure);
    assert_eq!(b, a, "rs6-supervise vs s6-supervise");
    assert_eq!(b.during, "dD", "events while fork failed");
    assert_eq!(
        b.states,
        vec![
            (true, false, 0x300),
            (false, false, 0x300),
            (false, false, 0x300),
            (true, false, 0x300)
        ]
    );
    assert_eq!(b.wait_code, 99);
    assert_eq!(b.exit, "exit 0");
    assert_eq!(b.after, "udDx", "events once fork works again");
}

// ---------------------------------------------------------- fd exhaustion

/// A supervisor's RLIMIT_NOFILE lowered to the descriptors it holds (the
/// start-up case is tests/it/supervise.rs's `out_of_descriptors_retries_later`).
/// With no descriptor to spare it cannot write the status file, the death
/// tally or events (s6 loses them the same way), nor make the pipes of a
/// spawn; it warns, keeps reading its control fifo, and retries spawning
/// only when told or after 60 s. Once descriptors are back, `-u` starts the
/// service; exhausted again, `-dx` still stops it and ends the supervisor.
/// s6-supervise run the same way gives the same events and status files.
fn fd_exhaustion(imp: Imp) -> (String, bool, String, String) {
    let t = TempDir::new(&format!("fault-nofile-{imp:?}"));
    let sv = t.join("sv");
    script(&sv.join("run"), "echo $$ >> starts\nexec sleep 100");
    let mut ev = Events::subscribe(&sv.join("event"));
    let tree = Tree::start(
        &t.join("tree"),
        t.path(),
        &[imp.tool("supervise").into(), "sv".into()],
    );
    let pid = tree.pid;
    let first = wait_status(&sv, "up", St::up);
    ev.expect("su");
    let hard = hard_limit(pid, "Max open files");
    let exhaust = || prlimit(pid, &format!("--nofile={}:", lowest_free_fd(pid)));
    exhaust();
    let cpu = Cpu::watch(&[("supervisor", pid)]);
    svc(&sv, "-k");
    must("service killed", || {
        state(i32::try_from(first.pid).unwrap()).is_none_or(|c| c == 'Z')
    });
    // The 1-second restart comes and fails (s6 and rs6 say the same).
    let pipe_fails = || count(&tree.stderr(), "unable to pipe (waiting 60 seconds)");
    must("the restart failed", || pipe_fails() == 1);
    svc(&sv, "-u");
    must("-u tried once", || pipe_fails() == 2);
    assert!(tree.alive(), "{imp:?}: {}", tree.stderr());
    let stale = read_status(&sv) == Some(first);
    let during = ev.text()[2..].to_string();
    let err = tree.stderr();
    assert!(
        err.contains("unable to write status file"),
        "{imp:?}: {err}"
    );
    cpu.assert_idle(&format!("{imp:?} without descriptors"));
    prlimit(pid, &format!("--nofile={hard}:"));
    svc(&sv, "-u");
    wait_status(&sv, "up again", |s| s.up() && s.pid != first.pid);
    ev.expect("suu");
    exhaust();
    svc(&sv, "-dx");
    let exit = tree.wait_exit(PATIENCE);
    let starts = fs::read_to_string(sv.join("starts"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(starts, 2, "{imp:?}");
    (during, stale, ev.text()[2..].to_string(), exit)
}

/// The scanner's RLIMIT_NOFILE lowered to what it holds: a rescan cannot
/// open the scan directory (a warning, every supervisor kept); a new logged
/// service waits; once descriptors are back, the next rescan starts it and
/// its logger.
fn scanner_fd_exhaustion(imp: Imp) {
    let t = TempDir::new(&format!("fault-nofile-scan-{imp:?}"));
    let sd = t.join("sd");
    script(&sd.join("a/run"), "exec sleep 100");
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        rs6("rs6-supervise").parent().unwrap().display()
    );
    let tree = Tree::start_env(
        &t.join("tree"),
        t.path(),
        &[imp.tool("svscan").into(), sd.clone().into()],
        &[("PATH", path)],
    );
    let pid = tree.pid;
    let a = wait_status(&sd.join("a"), "a up", St::up);
    let sup_a = children(pid);
    let hard = hard_limit(pid, "Max open files");
    prlimit(pid, &format!("--nofile={}:", lowest_free_fd(pid)));
    let cpu = Cpu::watch(&[("scanner", pid)]);
    script(&sd.join("b/run"), "exec sleep 100");
    script(&sd.join("b/log/run"), "exec cat > /dev/null");
    let ctl = |arg: &str| run(Command::new(imp.tool("svscanctl")).arg(arg).arg(&sd)).0;
    assert_eq!(ctl("-a"), 0);
    thread::sleep(Duration::from_millis(1200));
    assert!(tree.alive(), "{imp:?}: {}", tree.stderr());
    assert!(
        !sd.join("b/supervise").exists() && !sd.join("b/log/supervise").exists(),
        "{imp:?}: b started without descriptors"
    );
    assert_eq!(children(pid), sup_a, "{imp:?}: supervisors changed");
    if imp == Imp::Rs6 {
        let err = tree.stderr();
        assert!(err.contains("unable to open the scan directory"), "{err}");
    }
    cpu.assert_idle(&format!("{imp:?}-svscan without descriptors"));
    prlimit(pid, &format!("--nofile={hard}:"));
    assert_eq!(ctl("-a"), 0);
    wait_status(&sd.join("b"), "b up", St::up);
    wait_status(&sd.join("b/log"), "b/log up", St::up);
    assert_eq!(read_status(&sd.join("a")), Some(a), "{imp:?}: a disturbed");
}

#[test]
fn fd_exhaustion_as_s6() {
    thread::scope(|s| {
        let scanners = s.spawn(|| side_by_side(scanner_fd_exhaustion));
        let (a, b) = side_by_side(fd_exhaustion);
        assert_eq!(b, a, "rs6-supervise vs s6-supervise");
        let (during, stale, all, exit) = b;
        assert_eq!(during, "", "no event can be sent without a descriptor");
        assert!(
            stale,
            "the status file cannot be rewritten without a descriptor"
        );
        assert_eq!(all, "u", "after: the start; `dx` could not be announced");
        assert_eq!(exit, "exit 0");
        scanners.join().expect("scanners");
    });
}

// ------------------------------------------------------ read-only scan dir

/// A tmpfs mounted for a test, unmounted (lazily if busy) on drop.
pub(crate) struct Mount(pub(crate) PathBuf);

impl Mount {
    pub(crate) fn tmpfs(dir: PathBuf, size: &str) -> Mount {
        fs::create_dir_all(&dir).unwrap();
        let (c, _, err) = run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755")])
            .arg("rs6-fault-test")
            .arg(&dir));
        assert_eq!(c, 0, "mount tmpfs on {} (needs root): {err}", dir.display());
        Mount(dir)
    }

    pub(crate) fn remount(&self, opt: &str) {
        let (c, _, err) = run(Command::new("mount")
            .args(["-o", &format!("remount,{opt}")])
            .arg(&self.0));
        assert_eq!(c, 0, "remount {opt} {}: {err}", self.0.display());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if !sh(&format!("umount '{}'", self.0.display())) {
            sh(&format!("umount -l '{}'", self.0.display()));
        }
    }
}

/// What a scanner did on a read-only scan directory.
#[derive(Debug, PartialEq, Eq)]
struct RoRun {
    /// `-k` restarted a; `-D` took b down though `./down` could not be made;
    /// `-U` brought it back.
    a_restarted: bool,
    b_down: (bool, bool),
    b_up: bool,
    /// Supervisors of c started and failed while read-only (about 1 a second).
    c_tries: usize,
    /// c up once the directory is writable.
    c_up: bool,
}

/// The scan directory is a read-only tmpfs: services a and b have
/// `supervise` and `event` symlinked to a writable place (s6's advice for a
/// read-only root), c has not, and `.s6-svscan` is a symlink too. a and b
/// run and obey; c's supervisor cannot create `event/` and exits 111, and
/// the scanner starts it again once a second — no faster; `-D`/`-U` on b
/// warn about `./down` but act. Remounted read-write, c comes up.
fn ro_scan_directory(imp: Imp) -> RoRun {
    let t = TempDir::new(&format!("fault-ro-{imp:?}"));
    let rw = t.join("rw");
    fs::create_dir_all(rw.join("scan-ctl")).unwrap();
    let sd = t.join("sd");
    let mount = Mount::tmpfs(sd.clone(), "1m");
    symlink(rw.join("scan-ctl"), sd.join(".s6-svscan")).unwrap();
    for n in ["a", "b", "c"] {
        script(&sd.join(n).join("run"), "exec sleep 100");
        if n != "c" {
            symlink(
                rw.join(format!("{n}-supervise")),
                sd.join(n).join("supervise"),
            )
            .unwrap();
            symlink(rw.join(format!("{n}-event")), sd.join(n).join("event")).unwrap();
        }
    }
    mount.remount("ro");
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        rs6("rs6-supervise").parent().unwrap().display()
    );
    let tree = Tree::start_env(
        &t.join("tree"),
        t.path(),
        &[imp.tool("svscan").into(), sd.clone().into()],
        &[("PATH", path)],
    );
    let (a, b, c) = (sd.join("a"), sd.join("b"), sd.join("c"));
    let a1 = wait_status(&a, "a up", St::up);
    wait_status(&b, "b up", St::up);
    let sup_of = |name: &str| {
        children(tree.pid)
            .into_iter()
            .find(|&p| fs::read_link(format!("/proc/{p}/cwd")).is_ok_and(|d| d.ends_with(name)))
    };
    let (pa, pb) = (sup_of("a").unwrap(), sup_of("b").unwrap());
    let cpu = Cpu::watch(&[("scanner", tree.pid), ("a", pa), ("b", pb)]);
    let tries = || {
        tree.stderr()
            .lines()
            .filter(|l| l.contains("supervise c:") && l.contains("Read-only file system"))
            .count()
    };
    let t0 = tries();
    let w0 = Instant::now();
    svc(&a, "-k");
    let a2 = wait_status(&a, "a restarted", |s| s.up() && s.pid != a1.pid);
    svc(&b, "-D");
    let bd = wait_status(&b, "b down", |s| !s.up() && !s.want_up());
    svc(&b, "-U");
    let bu = wait_status(&b, "b up again", St::up);
    assert_eq!(
        run(Command::new(imp.tool("svscanctl")).arg("-a").arg(&sd)).0,
        0
    );
    thread::sleep(Duration::from_millis(3000).saturating_sub(w0.elapsed()));
    let c_tries = tries() - t0;
    let secs = w0.elapsed().as_secs_f64();
    assert!(
        (c_tries as f64) <= secs + 1.0,
        "{imp:?}: c's supervisor started {c_tries} times in {secs:.1} s: {}",
        tree.stderr()
    );
    assert!(!c.join("supervise").exists() && read_status(&c).is_none());
    cpu.assert_idle(&format!("{imp:?} on a read-only scan directory"));
    assert!(tree.alive());
    mount.remount("rw");
    let c_up = wait_until(PATIENCE, || read_status(&c).is_some_and(|s| s.up()));
    drop(tree);
    drop(mount);
    RoRun {
        a_restarted: a2.pid != a1.pid,
        b_down: (bd.up(), bd.want_up()),
        b_up: bu.up() && !b.join("down").exists(),
        c_tries: c_tries.min(1),
        c_up,
    }
}

#[test]
fn read_only_scan_directory_as_s6() {
    let (a, b) = side_by_side(ro_scan_directory);
    assert_eq!(b, a, "rs6 vs s6");
    assert_eq!(
        b,
        RoRun {
            a_restarted: true,
            b_down: (false, false),
            b_up: true,
            c_tries: 1,
            c_up: true
        }
    );
}

/// rs6-svscan (and s6-svscan) on a read-only directory without
/// `.s6-svscan`: exit 111 at once, nothing left behind.
#[test]
fn read_only_scan_directory_without_control_exits_111() {
    let t = TempDir::new("fault-ro-bare");
    let sd = t.join("sd");
    let mount = Mount::tmpfs(sd.clone(), "64k");
    script(&sd.join("a/run"), "exec sleep 100");
    mount.remount("ro");
    for imp in [Imp::S6, Imp::Rs6] {
        let (c, _, err) = run(Command::new(imp.tool("svscan")).arg(&sd));
        assert_eq!(c, 111, "{imp:?}: {err}");
        assert!(err.contains("Read-only file system"), "{imp:?}: {err}");
    }
    drop(mount);
}

// ------------------------------------------------------- full disk, logger

/// The records `0..n` of rs6-test-writer found in a logdir (archives in
/// name order, then `current`), as numbers.
fn logged_records(logdir: &Path) -> Vec<u64> {
    let mut names: Vec<String> = fs::read_dir(logdir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('@'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.push("current".into());
    let mut out = Vec::new();
    for n in names {
        let text = fs::read_to_string(logdir.join(n)).unwrap_or_default();
        out.extend(text.lines().map(|l| l.parse::<u64>().unwrap_or(u64::MAX)));
    }
    out
}

/// A logged service (rs6-test-writer, numbered records) under rs6-svscan,
/// its logger rs6-log writing to a nearly full tmpfs. When the disk fills,
/// rs6-log stops reading, the pipe fills and the writer blocks: the scanner,
/// both supervisors and the logger sit idle (under 1 % CPU), `rs6-svc -d`
/// and `-u` still stop and restart the blocked writer, and svstat answers.
/// Once space is freed every record arrives, once, in order. (rs6-log's own
/// ENOSPC behaviour — backpressure, no line dropped — is tests/it/log.rs's
/// `full_disk_blocks_then_resumes_losing_nothing`; this is the tree around it.)
#[test]
fn full_disk_under_a_logger_loses_nothing() {
    const N: u64 = 40_000; // 640 kB of records
    let t = TempDir::new("fault-enospc");
    let fsdir = t.join("fs");
    let mount = Mount::tmpfs(fsdir.clone(), "2m");
    let filler = fsdir.join("filler");
    let avail = || {
        let (_, out, _) = run(Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(&fsdir));
        out.lines().nth(1).unwrap().trim().parse::<u64>().unwrap()
    };
    fs::write(&filler, vec![0u8; (avail() - 64 * 1024) as usize]).unwrap();
    let sd = t.join("sd");
    let w = sd.join("w");
    script(
        &w.join("run"),
        &format!(
            "export RS6_TEST_PARENT=$PPID RS6_TEST_COUNT={N} RS6_TEST_BATCH=50\nexec {WRITER}"
        ),
    );
    script(
        &w.join("log/run"),
        &format!(
            "exec rs6-log r300 n1000 s16384 {}",
            fsdir.join("d").display()
        ),
    );
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        rs6("rs6-supervise").parent().unwrap().display()
    );
    let tree = Tree::start_env(
        &t.join("tree"),
        t.path(),
        &[rs6("rs6-svscan").into(), sd.clone().into()],
        &[("PATH", path)],
    );
    let writer = wait_status(&w, "writer up", St::up);
    let logger = wait_status(&w.join("log"), "logger up", St::up);
    must("ENOSPC reported", || {
        tree.stderr().contains("No space left on device")
    });
    // The pipe fills and the writer blocks in write(2).
    let wchan = |pid: u64| fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    must("writer blocked on the pipe", || {
        wchan(writer.pid).contains("pipe")
    });
    assert!(!w.join("done").exists());
    let sups: Vec<i32> = children(tree.pid);
    assert_eq!(sups.len(), 2, "two supervisors");
    let mut watched: Vec<(&str, i32)> = vec![("scanner", tree.pid), ("rs6-log", logger.pid as i32)];
    watched.extend(sups.iter().map(|&p| ("supervisor", p)));
    let cpu = Cpu::watch(&watched);
    thread::sleep(Duration::from_millis(1500));
    let (c, out) = tool(Imp::Rs6, "svstat", &[], &w);
    assert!(c == 0 && out.starts_with("up "), "{out}");
    svc(&w, "-d");
    wait_status(&w, "writer stopped", |s| !s.up());
    svc(&w, "-u");
    let writer2 = wait_status(&w, "writer back", St::up);
    must("new writer blocked", || wchan(writer2.pid).contains("pipe"));
    thread::sleep(Duration::from_millis(500));
    cpu.assert_idle("disk full");
    assert_eq!(read_status(&w.join("log")).map(|s| s.pid), Some(logger.pid));
    fs::remove_file(&filler).unwrap();
    let logdir = fsdir.join("d");
    let ok = wait_until(4 * PATIENCE, || {
        w.join("done").exists() && logged_records(&logdir).len() as u64 >= N
    });
    let got = logged_records(&logdir);
    assert!(
        ok,
        "only {} records logged, done={}",
        got.len(),
        w.join("done").exists()
    );
    assert!(
        got.iter().copied().eq(0..N),
        "records out of order, lost or doubled: {} records, first bad at {:?}",
        got.len(),
        got.iter().enumerate().find(|(i, v)| *i as u64 != **v)
    );
    drop(tree);
    drop(mount);
}

// ------------------------------------------------------------ SIGSTOP/CONT

/// A supervisor stopped with SIGSTOP while its service is killed and four
/// commands arrive (each a separate rs6-svc, which returns at once: the fifo
/// holds the bytes), and a waiter subscribes: nothing happens until SIGCONT,
/// then everything does — the death (`dD`), `-O`, `-u` (`u`), `-p`, `-c` —
/// and the waiter returns. Whether the death or the commands come first
/// after SIGCONT is not specified (s6-supervise reads its self-pipe and its
/// fifo as poll reports them), so the commands are ones whose end state is
/// the same either way: up, wanted up, not paused. Stopped again, a SIGTERM
/// waits too, and after SIGCONT the supervisor stops the service and
/// exits. s6-supervise does the same.
fn stop_cont(imp: Imp) -> (String, String, String, (bool, bool, bool), String) {
    let t = TempDir::new(&format!("fault-stop-{imp:?}"));
    let sv = t.join("sv");
    script(&sv.join("run"), "exec sleep 100");
    let mut ev = Events::subscribe(&sv.join("event"));
    let tree = Tree::start(
        &t.join("tree"),
        t.path(),
        &[imp.tool("supervise").into(), "sv".into()],
    );
    let pid = tree.pid;
    let first = wait_status(&sv, "up", St::up);
    ev.expect("su");
    let cpu = Cpu::watch(&[("supervisor", pid)]);
    assert!(kill(pid, libc::SIGSTOP));
    must("stopped", || state(pid) == Some('T'));
    assert!(kill(i32::try_from(first.pid).unwrap(), libc::SIGKILL));
    let waiter = Command::new(rs6("rs6-svwait"))
        .args(["-D", "-t", "8000"])
        .arg(&sv)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for cmd in ["-O", "-u", "-p", "-c"] {
        svc(&sv, cmd);
    }
    thread::sleep(Duration::from_millis(500));
    let mut waiter = waiter;
    let waiting = waiter.try_wait().unwrap().is_none();
    let while_stopped = ev.text()[2..].to_string();
    assert_eq!(
        read_status(&sv),
        Some(first),
        "{imp:?}: status changed while stopped"
    );
    assert!(kill(pid, libc::SIGCONT));
    let st = wait_status(&sv, "up again", |s| {
        s.up() && s.want_up() && !s.paused() && s.pid != first.pid
    });
    ev.expect("dDu");
    let code = waiter.wait().unwrap().code();
    assert_eq!(code, Some(0), "{imp:?}: svwait -D");
    thread::sleep(Duration::from_millis(200));
    let after = ev.text()[2..].to_string();
    let st = read_status(&sv).unwrap_or(st);
    assert!(kill(pid, libc::SIGSTOP));
    must("stopped again", || state(pid) == Some('T'));
    assert!(kill(pid, libc::SIGTERM));
    thread::sleep(Duration::from_millis(300));
    assert!(tree.alive(), "{imp:?}: SIGTERM acted while stopped");
    cpu.assert_idle(&format!("{imp:?} stopped and continued"));
    assert!(kill(pid, libc::SIGCONT));
    let exit = tree.wait_exit(PATIENCE);
    let last = ev.text()[2 + after.len()..].to_string();
    (
        while_stopped,
        after,
        last,
        (st.up(), st.want_up(), st.paused()),
        format!("{exit}, waiter {waiting}"),
    )
}

/// The scanner stopped while one of its supervisors is killed, a service
/// is added and `svscanctl -a` is sent: after SIGCONT the supervisor is
/// started again and the new service too. Both scanners.
fn scanner_stop_cont(imp: Imp) -> (bool, bool) {
    let t = TempDir::new(&format!("fault-stop-scan-{imp:?}"));
    let sd = t.join("sd");
    script(&sd.join("a/run"), "exec sleep 100");
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        rs6("rs6-supervise").parent().unwrap().display()
    );
    let tree = Tree::start_env(
        &t.join("tree"),
        t.path(),
        &[imp.tool("svscan").into(), sd.clone().into()],
        &[("PATH", path)],
    );
    let pid = tree.pid;
    wait_status(&sd.join("a"), "a up", St::up);
    let sup_a = children(pid);
    assert_eq!(sup_a.len(), 1);
    assert!(kill(pid, libc::SIGSTOP));
    must("scanner stopped", || state(pid) == Some('T'));
    assert!(kill(sup_a[0], libc::SIGKILL));
    script(&sd.join("b/run"), "exec sleep 100");
    let (c, _, _) = run(Command::new(imp.tool("svscanctl")).arg("-a").arg(&sd));
    assert_eq!(c, 0);
    thread::sleep(Duration::from_millis(1500));
    let quiet = read_status(&sd.join("b")).is_none() && children(pid).len() == 1;
    assert!(kill(pid, libc::SIGCONT));
    wait_status(&sd.join("b"), "b up", St::up);
    let back = wait_until(PATIENCE, || {
        let c = children(pid);
        c.len() == 2 && !c.contains(&sup_a[0])
    });
    (quiet, back)
}

#[test]
fn sigstop_sigcont_loses_nothing_as_s6() {
    thread::scope(|s| {
        let scanners = s.spawn(|| side_by_side(scanner_stop_cont));
        let (a, b) = side_by_side(stop_cont);
        assert_eq!(b, a, "rs6-supervise vs s6-supervise");
        assert_eq!(b.0, "", "events while stopped");
        assert_eq!(b.1, "dDu", "events after SIGCONT");
        assert_eq!(b.2, "dDx", "SIGTERM held while stopped, then obeyed");
        assert_eq!(b.3, (true, true, false), "up, want up, not paused");
        assert_eq!(b.4, "exit 0, waiter true");
        let (a, b) = scanners.join().expect("scanners");
        assert_eq!(b, a, "rs6-svscan vs s6-svscan");
        assert_eq!(b, (true, true));
    });
}

// ------------------------------------------------------ stamps in the future

/// Two svstat outputs are the same but for what the clock moved between the
/// two runs: a count of seconds off by one, or a TAI64N label (a clamped
/// "now") off by at most a second.
fn same_but_the_clock(a: &str, b: &str) -> bool {
    let (wa, wb): (Vec<&str>, Vec<&str>) = (a.split(' ').collect(), b.split(' ').collect());
    let label = |w: &str| {
        let h = w.trim_end().strip_prefix('@')?;
        (h.len() == 24).then(|| u64::from_str_radix(&h[..16], 16).ok())?
    };
    wa.len() == wb.len()
        && wa.iter().zip(&wb).all(|(x, y)| {
            if x == y {
                return true;
            }
            let (nx, ny) = (x.trim_end().parse::<u64>(), y.trim_end().parse::<u64>());
            if let (Ok(nx), Ok(ny)) = (nx, ny) {
                return nx.abs_diff(ny) <= 1;
            }
            matches!((label(x), label(y)), (Some(lx), Some(ly)) if lx.abs_diff(ly) <= 1)
        })
}

/// The clock set backwards leaves status stamps in the future; set forwards,
/// far in the past. rs6-svstat prints what s6-svstat prints for each (s6
/// clamps a future up/down stamp to now), in every format.
#[test]
fn svstat_with_stamps_from_another_clock_as_s6() {
    let t = TempDir::new("fault-stamps");
    let sv = t.join("sv");
    script(&sv.join("run"), "exec sleep 100");
    fs::write(sv.join("down"), "").unwrap();
    let tree = Tree::start(
        &t.join("tree"),
        t.path(),
        &[rs6("rs6-supervise").into(), "sv".into()],
    );
    wait_status(&sv, "started", |s| !s.up());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tai = |unix: u64, nano: u32| {
        let mut b = ((1u64 << 62) + unix + 37).to_be_bytes().to_vec();
        b.extend(nano.to_be_bytes());
        b
    };
    let day = 86_400;
    // (stamp, ready stamp, pid, wstat, flags)
    let cases: [(u64, u64, u64, u16, u8); 6] = [
        (now + day, now + day, 4242, 0, 0x0c),
        (now + day, now - 5, 4242, 0, 0x0c),
        (now - 5, now + day, 0, 0x300, 0x0c),
        (now - 30 * 365 * day, now - 30 * 365 * day, 4242, 0, 0x04),
        (now + 30 * 365 * day, now - 1, 0, 9, 0x08),
        (0, 0, 0, 0, 0),
    ];
    let queries: [&[&str]; 4] = [
        &[],
        &["-n"],
        &["-o", "up,ready,pid,exitcode,signal,updownfor,readyfor"],
        &["-o", "updownsince,readysince"],
    ];
    for (stamp, ready, pid, wstat, flags) in cases {
        let mut rec = tai(stamp, 500_000_000);
        rec.extend(tai(ready, 0));
        rec.extend(pid.to_be_bytes());
        rec.extend(wstat.to_be_bytes());
        rec.push(flags);
        let tmp = sv.join("supervise/status.test");
        fs::write(&tmp, &rec).unwrap();
        fs::rename(&tmp, sv.join("supervise/status")).unwrap();
        for q in queries {
            let (c6, o6) = tool(Imp::S6, "svstat", q, &sv);
            let (cr, or) = tool(Imp::Rs6, "svstat", q, &sv);
            assert!(
                cr == c6 && same_but_the_clock(&or, &o6),
                "svstat {q:?} on {rec:02x?}:\n rs6: {cr} {or} s6: {c6} {o6}"
            );
        }
    }
    drop(tree);
}
