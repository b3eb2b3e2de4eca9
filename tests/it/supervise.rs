//! Integration tests of supervise (owned by the supervise work; see tests/it/main.rs).
//!
//! Each test builds service directories in a temporary directory and runs a
//! supervisor on them, unprivileged. Most scenarios run twice, side by side:
//! once under Debian's `s6-supervise` (the oracle) and once under
//! `rs6-supervise`, and compare what s6's tools and rs6's tools print (stdout
//! and exit codes, with pids and second counts masked; never stderr), the
//! status bytes, the death tally and the events a raw `ftrig1:@…` fifo
//! receives. Numbers refer to the conformance checklist of
//! ../shared/spec/s6-compat.md §13.

use crate::common::{TempDir, rs6, run, s6, script, wait_until};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SEC: Duration = Duration::from_secs(1);
/// How long a test waits for a state before failing.
const PATIENCE: Duration = Duration::from_secs(5);
/// O_NONBLOCK on Linux (the tests crate has no libc).
const O_NONBLOCK: i32 = 0o4000;

// ------------------------------------------------------------------ helpers

/// Which supervision suite plays a part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Imp {
    S6,
    Rs6,
}

const BOTH: [Imp; 2] = [Imp::S6, Imp::Rs6];

impl Imp {
    fn tool(self, name: &str) -> PathBuf {
        match self {
            Imp::S6 => s6(&format!("s6-{name}")),
            Imp::Rs6 => rs6(&format!("rs6-{name}")),
        }
    }
}

/// The 35-byte status file, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct St {
    raw: [u8; 35],
    sec: u64,
    pid: u64,
    wstat: u16,
    flags: u8,
}

impl St {
    fn up(&self) -> bool {
        self.pid != 0 && self.flags & 2 == 0
    }
    fn ready(&self) -> bool {
        self.flags & 8 != 0
    }
    fn want_up(&self) -> bool {
        self.flags & 4 != 0
    }
    fn down_ready(&self) -> bool {
        self.pid == 0 && self.ready()
    }
}

fn read_status(sv: &Path) -> Option<St> {
    let b = fs::read(sv.join("supervise/status")).ok()?;
    let raw: [u8; 35] = b.try_into().ok()?;
    let be = |r: std::ops::Range<usize>| raw[r].iter().fold(0u64, |a, &x| a << 8 | u64::from(x));
    Some(St {
        raw,
        sec: be(0..8),
        pid: be(24..32),
        wstat: be(32..34) as u16,
        flags: raw[34],
    })
}

fn sh(cmd: &str) {
    let _ = Command::new("sh")
        .args(["-c", cmd])
        .stderr(Stdio::null())
        .status();
}

/// Kills `pid` and, when it leads its own process group, the whole group.
fn kill_tree(pid: u64) {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let pgrp = stat
        .rsplit(')')
        .next()
        .and_then(|r| r.split_whitespace().nth(2))
        .unwrap_or("");
    if pgrp == pid.to_string() {
        sh(&format!("kill -KILL -- -{pid}"));
    }
    sh(&format!("kill -KILL {pid}"));
}

/// A service directory `NAME` in its own temporary directory, and maybe its supervisor.
struct Sv {
    tmp: TempDir,
    name: String,
    imp: Imp,
    sup: Option<Child>,
}

impl Sv {
    /// A service whose `run` script is `body`.
    fn new(tag: &str, imp: Imp, body: &str) -> Sv {
        let tmp = TempDir::new(&format!("sv-{tag}-{imp:?}"));
        let sv = Sv {
            tmp,
            name: "sv".into(),
            imp,
            sup: None,
        };
        fs::create_dir_all(sv.dir()).unwrap();
        if !body.is_empty() {
            script(&sv.file("run"), body);
        }
        sv
    }
    fn dir(&self) -> PathBuf {
        self.tmp.join(&self.name)
    }
    fn file(&self, f: &str) -> PathBuf {
        self.dir().join(f)
    }
    fn write(&self, f: &str, content: &str) -> &Sv {
        fs::write(self.file(f), content).unwrap();
        self
    }
    fn finish(&self, body: &str) -> &Sv {
        script(&self.file("finish"), body);
        self
    }
    fn err_path(&self) -> PathBuf {
        self.tmp.join("stderr")
    }
    fn stderr(&self) -> String {
        fs::read_to_string(self.err_path()).unwrap_or_default()
    }
    /// Starts the supervisor (cwd = the temporary directory, argument NAME).
    fn start(&mut self) -> &mut Sv {
        let err = File::create(self.err_path()).unwrap();
        let child = Command::new(self.imp.tool("supervise"))
            .arg(&self.name)
            .current_dir(self.tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn supervisor");
        self.sup = Some(child);
        let dir = self.dir();
        assert!(
            wait_until(PATIENCE, || read_status(&dir).is_some()),
            "{:?}: no status file; stderr: {}",
            self.imp,
            self.stderr()
        );
        self
    }
    fn status(&self) -> St {
        read_status(&self.dir()).expect("status file")
    }
    /// Waits until the status satisfies `f`.
    fn wait(&self, what: &str, f: impl Fn(&St) -> bool) -> St {
        let dir = self.dir();
        let ok = wait_until(PATIENCE, || read_status(&dir).is_some_and(|s| f(&s)));
        let st = read_status(&dir);
        assert!(
            ok,
            "{:?}: timed out waiting for {what}: {st:?}; stderr: {}",
            self.imp,
            self.stderr()
        );
        st.unwrap()
    }
    fn wait_up(&self) -> St {
        self.wait("up", St::up)
    }
    /// Runs a tool of `imp` with `args` then the service directory.
    fn tool(&self, imp: Imp, name: &str, args: &[&str]) -> (i32, String) {
        let (c, out, _) = run(Command::new(imp.tool(name)).args(args).arg(self.dir()));
        (c, out)
    }
    /// Sends commands with s6-svc (any implementation would do; see the svc tests).
    fn svc(&self, args: &str) {
        let (c, _) = self.tool(Imp::S6, "svc", &[args]);
        assert_eq!(c, 0, "s6-svc {args}: {}", self.stderr());
    }
    /// Waits for the supervisor to exit and returns its exit code.
    fn exit_code(&mut self) -> i32 {
        let mut child = self.sup.take().expect("running supervisor");
        let start = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < PATIENCE,
                "{:?}: supervisor did not exit",
                self.imp
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
    fn alive(&mut self) -> bool {
        self.sup
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }
    fn signal(&self, sig: &str) {
        let pid = self.sup.as_ref().expect("supervisor").id();
        sh(&format!("kill -{sig} {pid}"));
    }
}

impl Drop for Sv {
    /// Stops the supervisor (so it spawns nothing more), kills its children
    /// (run or finish, with their process groups), then the supervisor.
    fn drop(&mut self) {
        if let Some(mut c) = self.sup.take() {
            let pid = c.id();
            sh(&format!("kill -STOP {pid}"));
            let children =
                fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|p| p.parse().ok()) {
                kill_tree(child);
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(st) = read_status(&self.dir())
            && st.pid != 0
        {
            kill_tree(st.pid);
        }
    }
}

/// A raw listener: a `ftrig1:@…` fifo in a fifodir, as any s6 listener makes.
struct Events {
    r: File,
    _w: File,
    got: Vec<(Instant, u8)>,
}

impl Events {
    fn subscribe(fifodir: &Path) -> Events {
        static N: AtomicU32 = AtomicU32::new(0);
        fs::create_dir_all(fifodir).unwrap();
        let n = N.fetch_add(1, Ordering::SeqCst);
        let name = format!(
            "ftrig1:@{:024x}:{:06}",
            u128::from(std::process::id()) << 32 | u128::from(n),
            n % 1_000_000
        );
        assert_eq!(name.len(), 39);
        let path = fifodir.join(name);
        assert!(
            Command::new("mkfifo")
                .args(["-m", "0600"])
                .arg(&path)
                .status()
                .unwrap()
                .success()
        );
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
                Ok(n) => {
                    let now = Instant::now();
                    self.got.extend(buf[..n].iter().map(|&b| (now, b)));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => panic!("read events: {e}"),
            }
        }
    }
    fn text(&self) -> String {
        self.got.iter().map(|&(_, b)| b as char).collect()
    }
    /// Waits until the events received so far end with... contain `pat`.
    fn wait_for(&mut self, pat: &str, timeout: Duration) -> bool {
        let start = Instant::now();
        loop {
            self.pump();
            if self.text().contains(pat) {
                return true;
            }
            if start.elapsed() > timeout {
                return false;
            }
            thread::sleep(Duration::from_millis(2));
        }
    }
    fn expect(&mut self, pat: &str) {
        assert!(
            self.wait_for(pat, PATIENCE),
            "expected events {pat:?}, got {:?}",
            self.text()
        );
    }
    /// Time of the `n`-th occurrence (0-based) of event `c`.
    fn at(&self, c: u8, n: usize) -> Instant {
        self.got
            .iter()
            .filter(|&&(_, b)| b == c)
            .nth(n)
            .map(|&(t, _)| t)
            .expect("event")
    }
    /// Collects events for `d`, then returns everything received.
    fn settle(&mut self, d: Duration) -> String {
        let start = Instant::now();
        while start.elapsed() < d {
            self.pump();
            thread::sleep(Duration::from_millis(5));
        }
        self.pump();
        self.text()
    }
}

/// Runs `f` for s6 and rs6 at the same time; returns (s6's result, rs6's).
fn side_by_side<T: Send>(f: impl Fn(Imp) -> T + Sync) -> (T, T) {
    thread::scope(|s| {
        let a = s.spawn(|| f(Imp::S6));
        let b = s.spawn(|| f(Imp::Rs6));
        (a.join().expect("s6 side"), b.join().expect("rs6 side"))
    })
}

/// Replaces `pid` by `PID` and every count before "seconds" by `N`.
fn mask(out: &str, pid: u64) -> String {
    let out = if pid != 0 {
        out.replace(&pid.to_string(), "PID")
    } else {
        out.to_string()
    };
    let words: Vec<&str> = out.split(' ').collect();
    let mut v = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().unwrap_or("");
        if next.starts_with("seconds") && w.chars().all(|c| c.is_ascii_digit()) {
            v.push("N");
        } else {
            v.push(w);
        }
    }
    v.join(" ")
}

const FIELDS: &str = "up,wantedup,normallyup,ready,paused,pid,exitcode,signal,signum";

/// What both svstat tools print for a service, masked; asserts they agree.
fn svstat_views(sv: &Sv) -> Vec<(i32, String)> {
    let pid = sv.status().pid;
    let queries: [&[&str]; 6] = [
        &[],
        &["-n"],
        &["-o", FIELDS],
        &["-uwNrpes"],
        &["-o", "re,u,p,e,s,n,w,sig"],
        &["-o", "up,"],
    ];
    let mut views = Vec::new();
    for q in queries {
        let (c6, o6) = sv.tool(Imp::S6, "svstat", q);
        let (cr, or) = sv.tool(Imp::Rs6, "svstat", q);
        let (m6, mr) = (mask(&o6, pid), mask(&or, pid));
        assert_eq!(
            (cr, &mr),
            (c6, &m6),
            "{:?} supervisor, svstat {q:?}: rs6 vs s6",
            sv.imp
        );
        views.push((c6, m6));
    }
    views
}

fn wait_file(p: &Path) -> String {
    assert!(
        wait_until(PATIENCE, || fs::metadata(p).is_ok_and(|m| m.len() > 0)),
        "no {}",
        p.display()
    );
    thread::sleep(Duration::from_millis(20));
    fs::read_to_string(p).unwrap()
}

// ------------------------------------------------------------ layout, lock

/// §13.1, 2, 4: what a fresh supervisor creates, and s6-svok seeing its lock.
#[test]
fn fresh_directory_layout_as_s6() {
    let (a, b) = side_by_side(|imp| {
        let mut sv = Sv::new("layout", imp, "exec sleep 30");
        sv.start().wait_up();
        let meta = |p: &str| fs::symlink_metadata(sv.file(p)).unwrap();
        let layout: Vec<(String, u32, bool)> = [
            "supervise",
            "supervise/control",
            "supervise/lock",
            "supervise/status",
            "supervise/death_tally",
            "event",
        ]
        .iter()
        .map(|p| {
            (
                p.to_string(),
                meta(p).mode() & 0o7777,
                meta(p).file_type().is_fifo(),
            )
        })
        .collect();
        assert_eq!(meta("supervise/status").len(), 35);
        assert_eq!(meta("supervise/death_tally").len(), 0);
        assert_eq!(
            meta("event").gid(),
            fs::metadata(sv.tmp.path()).unwrap().gid()
        );
        assert!(!sv.file("supervise/status.new").exists());
        let oks: Vec<i32> = BOTH.iter().map(|&i| sv.tool(i, "svok", &[]).0).collect();
        sv.svc("-dx");
        assert_eq!(sv.exit_code(), 0);
        let gone: Vec<i32> = BOTH.iter().map(|&i| sv.tool(i, "svok", &[]).0).collect();
        (layout, oks, gone)
    });
    assert_eq!(a, b);
    assert_eq!(b.0[0].1, 0o700);
    assert_eq!(b.0[1], ("supervise/control".into(), 0o600, true));
    assert_eq!(b.0[2].1, 0o644);
    assert_eq!(b.0[5].1, 0o3730);
    assert_eq!(b.1, vec![0, 0], "s6-svok and rs6-svok while supervised");
    assert_eq!(b.2, vec![1, 1], "after the supervisor exited");
}

/// §13.2, 31: svok on non-service paths, and usage.
#[test]
fn svok_codes_as_s6() {
    let t = TempDir::new("svok");
    fs::create_dir_all(t.join("plain/supervise")).unwrap();
    for imp in BOTH {
        let ok = imp.tool("svok");
        assert_eq!(run(Command::new(&ok).arg(t.join("plain"))).0, 1);
        assert_eq!(run(Command::new(&ok).arg(t.join("none"))).0, 1);
        assert_eq!(run(&mut Command::new(&ok)).0, 100);
    }
}

/// §13.3: one supervisor per directory, whichever suite runs first.
#[test]
fn second_supervisor_exits_100() {
    for (first, second) in [
        (Imp::Rs6, Imp::Rs6),
        (Imp::S6, Imp::Rs6),
        (Imp::Rs6, Imp::S6),
    ] {
        let mut sv = Sv::new("lock", first, "exec sleep 30");
        sv.start().wait_up();
        let (c, _, err) = run(Command::new(second.tool("supervise"))
            .arg("sv")
            .current_dir(sv.tmp.path()));
        assert_eq!(c, 100, "{second:?} after {first:?}: {err}");
        assert!(sv.alive());
    }
}

/// §13.44: `supervise` as a symlink — to an existing directory: exit 111 (as
/// s6); dangling: its target is created and used.
#[test]
fn supervise_symlink_as_s6() {
    for imp in BOTH {
        let mut sv = Sv::new("symlink", imp, "exec sleep 30");
        fs::create_dir(sv.tmp.join("elsewhere")).unwrap();
        symlink("../elsewhere", sv.file("supervise")).unwrap();
        let (c, _, _) = run(Command::new(imp.tool("supervise"))
            .arg("sv")
            .current_dir(sv.tmp.path()));
        assert_eq!(c, 111, "{imp:?}");
        fs::remove_file(sv.file("supervise")).unwrap();
        symlink("../dangling", sv.file("supervise")).unwrap();
        sv.start().wait_up();
        assert!(sv.tmp.join("dangling/status").exists());
        // A plain file where a directory should be: 100.
        let other = Sv::new("symlink-file", imp, "exec sleep 30");
        fs::write(other.file("supervise"), "").unwrap();
        let (c, _, _) = run(Command::new(imp.tool("supervise"))
            .arg("sv")
            .current_dir(other.tmp.path()));
        assert_eq!(c, 100, "{imp:?}");
    }
    let (c, _, _) = run(&mut Command::new(rs6("rs6-supervise")));
    assert_eq!(c, 100);
    let (c, _, _) = run(Command::new(rs6("rs6-supervise")).arg("/nonexistent/sv"));
    assert_eq!(c, 111);
}

// ----------------------------------------------------------- status file

/// §13.5: stamps are TAI64N, 2^62 + UNIX time + 37 s.
#[test]
fn status_stamp_is_tai64n() {
    let mut sv = Sv::new("tai", Imp::Rs6, "exec sleep 30");
    sv.start();
    let st = sv.wait_up();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let label = st.sec - (1u64 << 62);
    assert!(label.abs_diff(now + 37) <= 1, "label {label} vs unix {now}");
}

/// §13.6, 7, 33: every state gives the same lines from s6-svstat and
/// rs6-svstat, on s6-supervise's status file and on rs6-supervise's.
#[test]
fn svstat_same_lines_in_every_state() {
    type Drive = fn(&mut Sv);
    let scenarios: Vec<(&str, &str, Drive)> = vec![
        ("up", "exec sleep 30", |sv| {
            sv.start().wait_up();
        }),
        ("up-ready", "echo >&3; exec sleep 30", |sv| {
            sv.write("notification-fd", "3\n");
            sv.start().wait("ready", |s| s.up() && s.ready());
        }),
        ("want-down", "exec sleep 30", |sv| {
            sv.start().wait_up();
            sv.svc("-O");
            sv.wait("want down", |s| !s.want_up());
        }),
        ("paused", "exec sleep 30", |sv| {
            sv.start().wait_up();
            sv.svc("-p");
            sv.wait("paused", |s| s.flags & 1 != 0);
        }),
        ("finishing", "exec sleep 30", |sv| {
            sv.finish("exec sleep 30").write("timeout-finish", "0");
            sv.start().wait_up();
            sv.svc("-k");
            sv.wait("finishing", |s| s.flags & 2 != 0);
        }),
        ("down-term", "exec sleep 30", |sv| {
            sv.start().wait_up();
            sv.svc("-d");
            sv.wait("down", St::down_ready);
        }),
        ("exit-3", "exit 3", |sv| {
            sv.write("down", "");
            sv.start();
            sv.svc("-o");
            sv.wait("exit 3", |s| s.down_ready() && s.wstat == 0x300);
        }),
        ("finish-125", "exit 3", |sv| {
            sv.finish("exit 125");
            sv.start().wait("permanent failure", |s| {
                s.down_ready() && !s.want_up() && s.wstat == 0x300
            });
        }),
        ("killed", "exec sleep 30", |sv| {
            sv.start().wait_up();
            sv.svc("-k");
            sv.wait("killed", |s| s.down_ready() && s.wstat == 9);
        }),
        ("never-started", "", |sv| {
            fs::write(sv.file("run"), "#!/bin/sh\n").unwrap();
            sv.start();
        }),
        ("normally-down", "exec sleep 30", |sv| {
            sv.write("down", "");
            sv.start();
        }),
    ];
    thread::scope(|s| {
        for (name, body, drive) in &scenarios {
            s.spawn(move || {
                let (a, b) = side_by_side(|imp| {
                    let mut sv = Sv::new(&format!("svstat-{name}"), imp, body);
                    drive(&mut sv);
                    svstat_views(&sv)
                });
                assert_eq!(b, a, "scenario {name}: rs6-supervise vs s6-supervise");
            });
        }
    });
}

/// §13.33: svstat's errors: unsupervised (1), bad field lists (100), usage.
#[test]
fn svstat_errors_as_s6() {
    let mut sv = Sv::new("svstat-err", Imp::Rs6, "exec sleep 30");
    let args: [&[&str]; 9] = [
        &[],
        &["-o", "upx"],
        &["-o", ",up"],
        &["-o", "up,,pid"],
        &["-o", &"up,".repeat(17)],
        &["-z"],
        &["-o"],
        &["-uuuuuuuuuuuuuuuu"],
        &["-uuuuuuuuuuuuuuuuu"],
    ];
    for a in args {
        let (c6, o6) = sv.tool(Imp::S6, "svstat", a);
        let (cr, or) = sv.tool(Imp::Rs6, "svstat", a);
        assert_eq!((cr, or), (c6, o6), "unsupervised, svstat {a:?}");
    }
    assert_eq!(sv.tool(Imp::Rs6, "svstat", &[]).0, 1);
    sv.start().wait_up();
    for a in args {
        let (c6, o6) = sv.tool(Imp::S6, "svstat", a);
        let (cr, or) = sv.tool(Imp::Rs6, "svstat", a);
        let pid = sv.status().pid;
        assert_eq!(
            (cr, mask(&or, pid)),
            (c6, mask(&o6, pid)),
            "supervised, svstat {a:?}"
        );
    }
    for a in [&[][..], &["-o", "up"]] {
        let (c, _, _) = run(Command::new(rs6("rs6-svstat")).args(a));
        assert_eq!(c, 100);
    }
}

/// §13.8, 9: the status bytes and the death tally after `-d`, and while finish runs.
#[test]
fn status_bytes_and_death_tally_as_s6() {
    let (a, b) = side_by_side(|imp| {
        let mut sv = Sv::new("bytes", imp, "exec sleep 30");
        sv.start().wait_up();
        sv.svc("-d");
        let st = sv.wait("down", St::down_ready);
        let tally = fs::read(sv.file("supervise/death_tally")).unwrap();
        assert_eq!(tally.len(), 14);
        assert_eq!(tally[..12], st.raw[..12], "tally stamp = status stamp");
        // Now with a finish script that reports its pid.
        sv.finish("echo $$ > finish.pid; exec sleep 30");
        sv.svc("-u");
        sv.wait_up();
        sv.svc("-d");
        let fin = sv.wait("finishing", |s| s.flags & 2 != 0);
        let fpid: u64 = wait_file(&sv.file("finish.pid")).trim().parse().unwrap();
        assert_eq!(fin.pid, fpid, "status pid is finish's");
        sv.svc("-u");
        let fin_up = sv.wait("want up while finishing", |s| s.want_up());
        kill_tree(fpid);
        sv.wait("restarted", St::up);
        (
            st.pid,
            st.wstat,
            st.flags,
            tally[12..].to_vec(),
            fin.flags,
            fin.wstat,
            fin_up.flags,
        )
    });
    assert_eq!(a, b);
    assert_eq!(b, (0, 0x000f, 0x08, vec![0x8f, 0x0f], 0x02, 0x000f, 0x06));
}

/// §13.10: readers never see a partial status file.
#[test]
fn status_replaced_atomically() {
    let mut sv = Sv::new("atomic", Imp::Rs6, "exec sleep 30");
    sv.start().wait_up();
    let dir = sv.dir();
    let stop = std::sync::atomic::AtomicBool::new(false);
    thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let b = fs::read(dir.join("supervise/status")).unwrap();
                assert_eq!(b.len(), 35);
                n += 1;
            }
            n
        });
        for _ in 0..50 {
            sv.svc("-pc");
        }
        // The fifo keeps order: once this `O` shows, every write before it is done.
        sv.svc("-O");
        sv.wait("want down", |s| !s.want_up());
        stop.store(true, Ordering::SeqCst);
        assert!(reader.join().unwrap() > 10);
    });
    assert!(!sv.file("supervise/status.new").exists());
}

/// §2.2: `max-death-tally` caps the file; a fresh supervisor empties it.
#[test]
fn death_tally_capped_as_s6() {
    let (a, b) = side_by_side(|imp| {
        let mut sv = Sv::new("tally", imp, "exec sleep 30");
        sv.write("max-death-tally", "3\n");
        sv.start().wait_up();
        for i in 0..5u64 {
            sv.svc("-k");
            sv.wait("killed", |s| s.down_ready());
            sv.svc("-u");
            sv.wait("up again", St::up);
            let len = fs::read(sv.file("supervise/death_tally")).unwrap().len();
            assert_eq!(len as u64, 14 * (i + 1).min(3));
        }
        let tally = fs::read(sv.file("supervise/death_tally")).unwrap();
        let codes: Vec<u8> = tally.chunks(14).flat_map(|r| r[12..].to_vec()).collect();
        sv.write("max-death-tally", "0");
        sv.svc("-k");
        sv.wait("killed", |s| s.down_ready());
        let unchanged = fs::read(sv.file("supervise/death_tally")).unwrap() == tally;
        (codes, unchanged)
    });
    assert_eq!(a, b);
    assert_eq!(b.0, vec![0x89, 9, 0x89, 9, 0x89, 9]);
    assert!(b.1, "max-death-tally 0 leaves the file alone");
}

// ---------------------------------------------------------------- events

/// §13.11, 16: `su` at start; `x` on `-x` while down, exit 0.
#[test]
fn start_and_exit_events_as_s6() {
    let (a, b) = side_by_side(|imp| {
        let mut sv = Sv::new("ev-start", imp, "exec sleep 30");
        let mut ev = Events::subscribe(&sv.file("event"));
        sv.start();
        ev.expect("su");
        sv.svc("-d");
        ev.expect("sudD");
        sv.svc("-x");
        let code = sv.exit_code();
        ev.expect("sudDx");
        let mut down = Sv::new("ev-down", imp, "exec sleep 30");
        down.write("down", "");
        let mut ev2 = Events::subscribe(&down.file("event"));
        down.start();
        ev2.expect("s");
        down.svc("-x");
        (
            code,
            ev.settle(Duration::from_millis(50)),
            down.exit_code(),
            ev2.settle(Duration::from_millis(50)),
        )
    });
    assert_eq!(a, b);
    assert_eq!(b, (0, "sudDx".into(), 0, "sx".into()));
}

/// §13.12, 13, 25: the 1-second respawn throttle — after an unready run,
/// `u` comes ≥ 1 s after `D`; after a run ready for more than 1 s, at once;
/// and `-u` on a down service bypasses it.
#[test]
fn respawn_throttle_as_s6() {
    let (a, b) = side_by_side(|imp| {
        thread::scope(|s| {
            let unready = s.spawn(move || {
                let mut sv = Sv::new("throttle", imp, "exec sleep 30");
                let mut ev = Events::subscribe(&sv.file("event"));
                sv.start();
                ev.expect("su");
                sv.svc("-k");
                ev.expect("sudDu");
                let gap = ev.at(b'u', 1) - ev.at(b'D', 0);
                assert!(
                    gap >= Duration::from_millis(950),
                    "{imp:?}: restart after {gap:?}"
                );
                assert!(
                    gap < Duration::from_millis(1500),
                    "{imp:?}: restart after {gap:?}"
                );
                ev.text()
            });
            let ready = s.spawn(move || {
                let mut sv = Sv::new("throttle-ready", imp, "echo >&3; exec sleep 30");
                sv.write("notification-fd", "3");
                let mut ev = Events::subscribe(&sv.file("event"));
                sv.start();
                ev.expect("suU");
                thread::sleep(Duration::from_millis(1100));
                sv.svc("-k");
                ev.expect("suUdDuU");
                let gap = ev.at(b'u', 1) - ev.at(b'd', 0);
                assert!(
                    gap < Duration::from_millis(300),
                    "{imp:?}: ready service restarted after {gap:?}"
                );
                ev.text()
            });
            let bypass = s.spawn(move || {
                let mut sv = Sv::new("throttle-u", imp, "exec sleep 30");
                let mut ev = Events::subscribe(&sv.file("event"));
                sv.start();
                ev.expect("su");
                sv.svc("-d");
                ev.expect("sudD");
                sv.svc("-u");
                ev.expect("sudDu");
                let gap = ev.at(b'u', 1) - ev.at(b'D', 0);
                assert!(
                    gap < Duration::from_millis(500),
                    "{imp:?}: -u waited {gap:?}"
                );
                ev.text()
            });
            (
                unready.join().unwrap(),
                ready.join().unwrap(),
                bypass.join().unwrap(),
            )
        })
    });
    assert_eq!(a, b);
}

/// §13.14, 17, 21: finish's arguments, exit 125 = stay down (`OD`), and
/// `timeout-finish`.
#[test]
fn finish_script_as_s6() {
    let (a, b) = side_by_side(|imp| {
        thread::scope(|s| {
            let args = s.spawn(move || {
                let mut sv = Sv::new(
                    "finish-args",
                    imp,
                    "echo \"$0 $# $@\" > run.args; exec sleep 30",
                );
                sv.finish("echo \"$0 $# $@\" >> finish.args");
                sv.start().wait_up();
                let run_args = wait_file(&sv.file("run.args"));
                sv.svc("-k");
                sv.wait("down", St::down_ready);
                sv.svc("-d");
                let finish_args = wait_file(&sv.file("finish.args"));
                // Exit 3, not killed.
                fs::write(sv.file("run"), "#!/bin/sh\nexit 3\n").unwrap();
                fs::remove_file(sv.file("finish.args")).unwrap();
                sv.svc("-o");
                let exit_args = wait_file(&sv.file("finish.args"));
                (run_args, finish_args, exit_args)
            });
            let perm = s.spawn(move || {
                let mut sv = Sv::new("finish-125", imp, "exit 3");
                sv.finish("exit 125");
                let mut ev = Events::subscribe(&sv.file("event"));
                sv.start();
                ev.expect("sudOD");
                let text = ev.settle(Duration::from_millis(1300));
                (text, sv.status().want_up())
            });
            let timeout = s.spawn(move || {
                let mut sv = Sv::new("finish-timeout", imp, "exec sleep 30");
                sv.finish("exec sleep 30").write("timeout-finish", "400");
                let mut ev = Events::subscribe(&sv.file("event"));
                sv.start();
                ev.expect("su");
                sv.svc("-d");
                ev.expect("sudD");
                let gap = ev.at(b'D', 0) - ev.at(b'd', 0);
                assert!(
                    gap >= Duration::from_millis(350) && gap < Duration::from_millis(1200),
                    "{imp:?}: {gap:?}"
                );
                assert!(
                    sv.stderr()
                        .contains("finish script lifetime reached maximum value")
                );
                ev.text()
            });
            (
                args.join().unwrap(),
                perm.join().unwrap(),
                timeout.join().unwrap(),
            )
        })
    });
    assert_eq!(a, b);
    let (args, perm, _) = b;
    assert_eq!(
        args,
        (
            "./run 1 sv\n".into(),
            "./finish 3 256 9 sv\n".into(),
            "./finish 3 3 0 sv\n".into()
        )
    );
    assert_eq!(perm, ("sudOD".into(), false));
}

/// §13.15: SIGTERM while up ⇒ `dDx`, exit 0; SIGQUIT ⇒ `x`, the service
/// keeps running; SIGHUP while up ⇒ exit when the service dies.
#[test]
fn supervisor_signals_as_s6() {
    let (a, b) = side_by_side(|imp| {
        let mut sv = Sv::new("sigterm", imp, "exec sleep 30");
        let mut ev = Events::subscribe(&sv.file("event"));
        sv.start();
        ev.expect("su");
        sv.signal("TERM");
        let term = (sv.exit_code(), ev.settle(Duration::from_millis(50)));

        let mut sv = Sv::new("sigquit", imp, "exec sleep 30");
        let mut ev = Events::subscribe(&sv.file("event"));
        sv.start();
        let pid = sv.wait_up().pid;
        ev.expect("su");
        sv.signal("QUIT");
        let quit = (
            sv.exit_code(),
            ev.settle(Duration::from_millis(50)),
            Path::new(&format!("/proc/{pid}")).exists(),
        );
        kill_tree(pid);

        let mut sv = Sv::new("sighup", imp, "exec sleep 30");
        let mut ev = Events::subscribe(&sv.file("event"));
        sv.start();
        let pid = sv.wait_up().pid;
        ev.expect("su");
        sv.signal("HUP");
        thread::sleep(Duration::from_millis(100));
        let alive = sv.alive();
        sv.svc("-k");
        let hup = (alive, sv.exit_code(), ev.settle(Duration::from_millis(50)));
        let _ = pid;
        (term, quit, hup)
    });
    assert_eq!(a, b);
    assert_eq!(b.0, (0, "sudDx".into()));
    assert_eq!(b.1, (0, "sux".into(), true));
    assert_eq!(b.2, (true, 0, "sudDx".into()));
}

// ------------------------------------------------------ commands, signals

/// A run script that logs the signals it gets (one line each) to `log`.
const TRAPPER: &str = "for s in ALRM ABRT QUIT HUP TERM INT USR1 USR2 WINCH CONT; do trap \"echo $s >> log\" $s; done\n\
                       echo $$ > run.pid\nwhile :; do sleep 0.05; done";

fn log_lines(sv: &Sv) -> Vec<String> {
    fs::read_to_string(sv.file("log"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn wait_log(sv: &Sv, n: usize) -> Vec<String> {
    assert!(
        wait_until(PATIENCE, || log_lines(sv).len() >= n),
        "{:?}: log {:?}",
        sv.imp,
        log_lines(sv)
    );
    thread::sleep(Duration::from_millis(30));
    log_lines(sv)
}

/// §13.17, 18: each signal command reaches `run` (not its group), in order;
/// `run` leads its own session with argv `run NAME`.
#[test]
fn signal_commands_as_s6() {
    let (a, b) = side_by_side(|imp| {
        let mut sv = Sv::new("signals", imp, TRAPPER);
        sv.start();
        let pid = sv.wait_up().pid;
        wait_file(&sv.file("run.pid"));
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let f: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        let session = (f[2] == pid.to_string(), f[3] == pid.to_string());
        for (i, c) in ["-a", "-b", "-q", "-h", "-t", "-i", "-1", "-2", "-y"]
            .iter()
            .enumerate()
        {
            sv.svc(c);
            wait_log(&sv, i + 1);
        }
        sv.svc("-k");
        let st = sv.wait("killed", |s| s.wstat == 9);
        (log_lines(&sv), session, st.wstat)
    });
    assert_eq!(a, b);
    assert_eq!(
        b.0,
        [
            "ALRM", "ABRT", "QUIT", "HUP", "TERM", "INT", "USR1", "USR2", "WINCH"
        ]
    );
    assert_eq!(b.1, (true, true), "pgid and sid are run's pid");
}

/// §13.19, 22: `-r` sends only the down signal; `-d` the down signal then
/// SIGCONT; `down-signal` as a name, SIG-name or number; `-p`/`-c`.
#[test]
fn down_signal_pause_as_s6() {
    let (a, b) = side_by_side(|imp| {
        let mut out = Vec::new();
        for (ds, name) in [("HUP\n", "HUP"), ("SIGUSR1", "USR1"), ("12", "USR2")] {
            let mut sv = Sv::new("downsig", imp, TRAPPER);
            sv.write("down-signal", ds);
            sv.start().wait_up();
            wait_file(&sv.file("run.pid"));
            sv.svc("-r");
            let r = wait_log(&sv, 1);
            assert!(sv.status().want_up());
            sv.svc("-d");
            let d = wait_log(&sv, 3);
            assert_eq!(d[1], name);
            out.push((r, d));
        }
        let mut sv = Sv::new("pause", imp, "exec sleep 30");
        sv.start().wait_up();
        sv.svc("-p");
        let p = sv.wait("paused", |s| s.flags & 1 != 0).flags;
        let line = mask(&sv.tool(Imp::S6, "svstat", &[]).1, sv.status().pid);
        sv.svc("-c");
        let c = sv.wait("resumed", |s| s.flags & 1 == 0).flags;
        sv.svc("-d");
        let down = sv.wait("down", St::down_ready);
        sv.svc("-pc");
        thread::sleep(Duration::from_millis(50));
        let unchanged = sv.status() == down;
        (out, p, line, c, unchanged)
    });
    assert_eq!(a, b);
    assert_eq!(
        b.0[0],
        (
            vec!["HUP".to_string()],
            vec!["HUP".into(), "HUP".into(), "CONT".into()]
        )
    );
    assert_eq!(
        (b.1, b.2.as_str(), b.3, b.4),
        (0x05, "up (pid PID) N seconds, paused\n", 0x04, true)
    );
}

/// §13.20: `timeout-kill` SIGKILLs a service that ignores SIGTERM.
#[test]
fn timeout_kill_as_s6() {
    let (a, b) = side_by_side(|imp| {
        let mut sv = Sv::new("tkill", imp, "trap '' TERM; exec sleep 30");
        sv.write("timeout-kill", "700\n");
        let mut ev = Events::subscribe(&sv.file("event"));
        sv.start();
        ev.expect("su");
        let t0 = Instant::now();
        sv.svc("-d");
        ev.expect("sudD");
        let gap = ev.at(b'd', 0) - t0;
        assert!(
            gap >= Duration::from_millis(650) && gap < Duration::from_millis(1500),
            "{imp:?}: {gap:?}"
        );
        sv.status().wstat
    });
    assert_eq!((a, b), (9, 9));
}

/// §13.23, 24: `-O`, `-Q`, `-U`, `-D` on an up service; `-o` on a down one.
#[test]
fn once_and_permanent_commands_as_s6() {
    let (a, b) = side_by_side(|imp| {
        let mut sv = Sv::new("perm", imp, "exec sleep 30");
        let mut ev = Events::subscribe(&sv.file("event"));
        sv.start();
        let pid = sv.wait_up().pid;
        sv.svc("-O");
        let o = sv.wait("want down", |s| !s.want_up());
        let line_o = mask(&sv.tool(Imp::Rs6, "svstat", &[]).1, pid);
        sv.svc("-Q");
        assert!(wait_until(PATIENCE, || sv.file("down").exists()));
        let q = (sv.status().pid == pid, sv.status().want_up());
        sv.svc("-U");
        sv.wait("want up", St::want_up);
        let u = sv.file("down").exists();
        sv.svc("-D");
        sv.wait("down", St::down_ready);
        let d = sv.file("down").exists();
        let events = ev.settle(Duration::from_millis(1200));

        let mut once = Sv::new("once", imp, "sleep 0.1");
        once.write("down", "");
        let mut ev = Events::subscribe(&once.file("event"));
        once.start();
        ev.expect("s");
        once.svc("-o");
        ev.expect("sudD");
        let once_events = ev.settle(Duration::from_millis(1200));
        (o.pid == pid, line_o, q, u, d, events, once_events)
    });
    assert_eq!(a, b);
    assert_eq!(
        b,
        (
            true,
            "up (pid PID) N seconds, want down\n".into(),
            (true, false),
            false,
            true,
            "sudD".into(),
            "sudD".into()
        )
    );
}

/// §13.26, 27, 28: readiness through `notification-fd`, and s6-svwait on it.
#[test]
fn readiness_and_svwait_as_s6() {
    let (a, b) = side_by_side(|imp| {
        let mut sv = Sv::new("ready", imp, "sleep 0.3; echo >&3; exec sleep 30");
        sv.write("notification-fd", "3");
        let mut ev = Events::subscribe(&sv.file("event"));
        sv.start();
        let (c, _, _) = run(Command::new(s6("s6-svwait"))
            .args(["-U", "-t", "3000"])
            .arg(sv.dir()));
        ev.expect("suU");
        let flags = sv.status().flags;
        let (c99, _, _) = run(Command::new(s6("s6-svwait"))
            .args(["-t", "200", "-d"])
            .arg(sv.dir()));
        let mut down = Sv::new("ready-down", imp, "exec sleep 30");
        down.write("down", "");
        down.start();
        let (cor, _, _) = run(Command::new(s6("s6-svwait"))
            .args(["-o", "-u", "-t", "2000"])
            .arg(sv.dir())
            .arg(down.dir()));
        let waiter = Command::new(s6("s6-svwait"))
            .args(["-u", "-t", "3000"])
            .arg(down.dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        thread::sleep(Duration::from_millis(200));
        down.svc("-x");
        let out = waiter.wait_with_output().unwrap();
        (c, flags, c99, cor, out.status.code(), down.exit_code())
    });
    assert_eq!(a, b);
    assert_eq!(b, (0, 0x0c, 99, 0, Some(1), 0));
}

/// A line of data on the readiness fd is not readiness; EOF without a
/// newline never is.
#[test]
fn readiness_needs_a_newline() {
    let (a, b) = side_by_side(|imp| {
        let mut sv = Sv::new("ready-nl", imp, "printf abc >&3; exec 3>&-; exec sleep 30");
        sv.write("notification-fd", "3");
        let mut ev = Events::subscribe(&sv.file("event"));
        sv.start();
        ev.expect("su");
        (ev.settle(Duration::from_millis(300)), sv.status().ready())
    });
    assert_eq!(a, b);
    assert_eq!(b, ("su".into(), false));
}

// ------------------------------------------------------------ control tools

/// §13.31: s6-svc's and rs6-svc's exit codes on the same command lines.
#[test]
fn svc_codes_as_s6() {
    let mut sv = Sv::new("svc-codes", Imp::Rs6, "exec sleep 30");
    let t = TempDir::new("svc-codes-misc");
    fs::create_dir_all(t.join("nosup")).unwrap();
    fs::create_dir_all(t.join("emptysup/supervise")).unwrap();
    let too_many = format!("-{}", "a".repeat(63));
    let cases: Vec<Vec<String>> = vec![
        vec![],
        vec!["-z".into(), "x".into()],
        vec!["".into()],
        vec!["-T".into(), "abc".into(), "x".into()],
        vec!["-w".into(), "z".into(), "x".into()],
        vec!["-wu".into()],
        vec!["-X".into(), "x".into()],
        vec![too_many, "x".into()],
        vec![t.join("nosup").display().to_string()],
        vec![t.join("emptysup").display().to_string()],
        vec!["-u".into(), t.join("nonexistent").display().to_string()],
    ];
    for args in &cases {
        let (c6, o6, _) = run(Command::new(s6("s6-svc")).args(args));
        let (cr, or, _) = run(Command::new(rs6("rs6-svc")).args(args));
        assert_eq!((cr, or), (c6, o6), "svc {args:?}");
    }
    assert_eq!(
        run(Command::new(rs6("rs6-svc")).arg(t.join("nosup"))).0,
        100
    );
    assert_eq!(
        run(Command::new(rs6("rs6-svc")).arg(t.join("nonexistent"))).0,
        111
    );
    assert_eq!(run(Command::new(rs6("rs6-svc")).args(["-z", "x"])).0, 100);
    sv.start().wait_up();
    for args in [vec![], vec!["-T", "100"], vec!["-a", "-u"]] {
        let (cr, _) = sv.tool(Imp::Rs6, "svc", &args);
        let (c6, _) = sv.tool(Imp::S6, "svc", &args);
        assert_eq!((cr, c6), (0, 0), "{args:?}");
    }
    let (c, _, err) = run(Command::new(rs6("rs6-svc"))
        .arg("-u")
        .arg(sv.dir())
        .arg("extra"));
    assert_eq!(c, 0);
    assert!(err.contains("ignoring extra arguments"), "{err}");
}

/// §13.32: all command bytes in one write, in order.
#[test]
fn svc_writes_once_in_order() {
    let t = TempDir::new("svc-write");
    fs::create_dir_all(t.join("sv/supervise")).unwrap();
    let fifo = t.join("sv/supervise/control");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for imp in BOTH {
        let mut r = OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        let (c, _, _) = run(Command::new(imp.tool("svc"))
            .args(["-abqhkti12pcyroduDUxOQ"])
            .arg(t.join("sv")));
        assert_eq!(c, 0);
        let mut buf = [0u8; 64];
        let n = r.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"abqhkti12pcyroduDUxOQ", "{imp:?}");
    }
}

/// rs6-svc drives s6-supervise (and s6-svc rs6-supervise, everywhere above):
/// the same events and states for the same commands, `-w` included.
#[test]
fn rs6_svc_drives_both_supervisors() {
    let (a, b) = side_by_side(|imp| {
        let mut sv = Sv::new("rs6svc", imp, "echo >&3; exec sleep 30");
        sv.write("notification-fd", "3");
        let mut ev = Events::subscribe(&sv.file("event"));
        sv.start();
        let mut codes = Vec::new();
        let mut svc = |args: &[&str]| codes.push(sv.tool(Imp::Rs6, "svc", args).0);
        svc(&["-wU", "-T", "3000"]);
        svc(&["-wD", "-T", "3000", "-d"]);
        svc(&["-wU", "-T", "3000", "-u"]);
        svc(&["-wd", "-T", "200"]);
        svc(&["-wR", "-T", "3000", "-k"]);
        svc(&["-pc"]);
        svc(&["-wd", "-T", "3000", "-D"]);
        let normally = fs::metadata(sv.file("down")).is_ok();
        svc(&["-wu", "-T", "3000", "-U"]);
        svc(&["-O"]);
        let st = sv.wait("want down", |s| !s.want_up());
        ev.settle(Duration::from_millis(100));
        svc(&["-xd"]);
        let code = sv.exit_code();
        (
            codes,
            normally,
            st.want_up(),
            ev.settle(Duration::from_millis(50)),
            code,
        )
    });
    assert_eq!(a, b);
    assert_eq!(b.0, vec![0, 0, 0, 99, 0, 0, 0, 0, 0, 0]);
    assert_eq!(b.3, "suUdDuUdDuUdDuUdDx");
}

/// `-wu` on a service whose finish exits 125 fails with 1 (s6-svlisten1).
#[test]
fn svc_wait_permanent_failure_as_s6() {
    let (a, b) = side_by_side(|imp| {
        let mut sv = Sv::new("svc-125", imp, "exit 3");
        sv.write("down", "")
            .write("notification-fd", "3")
            .finish("exit 125");
        sv.start();
        let r = sv.tool(Imp::Rs6, "svc", &["-wU", "-T", "3000", "-u"]).0;
        let s = sv.tool(Imp::S6, "svc", &["-wU", "-T", "3000", "-u"]).0;
        (r, s)
    });
    assert_eq!(a, b);
    assert_eq!(b, (1, 1));
}

// ----------------------------------------------------------- bad input

/// Bytes that are no command are ignored (with a warning); the supervisor
/// keeps obeying.
#[test]
fn junk_on_the_control_fifo() {
    let mut sv = Sv::new("junk", Imp::Rs6, "exec sleep 30");
    sv.start().wait_up();
    let junk: Vec<u8> = (0..=255u8)
        .filter(|b| !b"abqhkti12pcyroduDUxOQ".contains(b))
        .cycle()
        .take(3000)
        .collect();
    let mut f = OpenOptions::new()
        .write(true)
        .open(sv.file("supervise/control"))
        .unwrap();
    std::io::Write::write_all(&mut f, &junk).unwrap();
    drop(f);
    thread::sleep(Duration::from_millis(50));
    assert!(sv.alive());
    assert!(sv.stderr().contains("unknown"), "{}", sv.stderr());
    assert!(sv.status().up());
    sv.svc("-d");
    sv.wait("down", St::down_ready);
    sv.svc("-x");
    assert_eq!(sv.exit_code(), 0);
}

/// Malformed settings: a warning, the default, the supervisor alive.
#[test]
fn malformed_settings_warn_and_default() {
    let (a, b) = side_by_side(|imp| {
        let mut sv = Sv::new("malformed", imp, "exec sleep 30");
        sv.write("notification-fd", "three\n")
            .write("timeout-kill", "-5")
            .write("timeout-finish", "soon")
            .write("max-death-tally", "x")
            .write("down-signal", "SIGNOPE");
        sv.start().wait_up();
        sv.svc("-d");
        let st = sv.wait("down", St::down_ready);
        let err = sv.stderr();
        for w in [
            "invalid notification-fd",
            "invalid down-signal",
            "invalid max-death-tally",
        ] {
            assert!(err.contains(w), "{imp:?}: no {w:?} in {err}");
        }
        let tally = fs::read(sv.file("supervise/death_tally")).unwrap().len();
        sv.svc("-u");
        sv.wait_up();
        (st.wstat, tally, sv.alive())
    });
    assert_eq!(a, b);
    assert_eq!(b, (15, 14, true));
}

/// A missing or non-executable `run`: a clear error, a retry 10 s later, and
/// the supervisor obeys commands meanwhile (`-u` retries at once).
#[test]
fn run_missing_or_not_executable() {
    for (tag, make) in [("missing", false), ("noexec", true)] {
        let mut sv = Sv::new(&format!("norun-{tag}"), Imp::Rs6, "");
        if make {
            fs::write(sv.file("run"), "#!/bin/sh\nexec sleep 30\n").unwrap();
        }
        sv.start();
        assert!(
            wait_until(PATIENCE, || sv.stderr().contains("waiting 10 seconds")),
            "{}",
            sv.stderr()
        );
        let err = sv.stderr();
        assert!(err.contains("unable to spawn ./run"), "{err}");
        assert!(err.contains("unable to exec run"), "{err}");
        assert_eq!(sv.tool(Imp::S6, "svok", &[]).0, 0);
        let line = sv.tool(Imp::Rs6, "svstat", &[]).1;
        assert_eq!(
            mask(&line, 0),
            "down (exitcode 0) N seconds, normally up, want up, ready N seconds\n"
        );
        script(&sv.file("run"), "exec sleep 30");
        sv.svc("-u");
        sv.wait_up();
        assert!(sv.alive());
    }
}

/// When pipe() fails (no descriptors left), the supervisor warns, waits
/// 60 s instead of spinning, and stays responsive.
#[test]
fn out_of_descriptors_retries_later() {
    let t = TempDir::new("nofd");
    fs::create_dir_all(t.join("sv")).unwrap();
    script(&t.join("sv/run"), "exec sleep 30");
    let err = File::create(t.join("stderr")).unwrap();
    let cmd = format!("ulimit -n 8; exec {} sv", rs6("rs6-supervise").display());
    let mut child = Command::new("sh")
        .args(["-c", &cmd])
        .current_dir(t.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap();
    let stderr = || fs::read_to_string(t.join("stderr")).unwrap_or_default();
    assert!(
        wait_until(PATIENCE, || stderr().contains("(waiting 60 seconds)")),
        "{}",
        stderr()
    );
    thread::sleep(Duration::from_millis(200));
    let cpu = fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
    let f: Vec<&str> = cpu.rsplit(')').next().unwrap().split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    assert!(ticks < 5, "supervisor busy: {ticks} ticks");
    let (c, out, _) = run(Command::new(rs6("rs6-svstat")).arg(t.join("sv")));
    assert_eq!(c, 0);
    assert!(out.starts_with("down (exitcode 0)"), "{out}");
    assert_eq!(
        run(Command::new(rs6("rs6-svc")).arg("-x").arg(t.join("sv"))).0,
        0
    );
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < PATIENCE, "supervisor ignored -x");
        thread::sleep(Duration::from_millis(5));
    }
}

// ------------------------------------------------------------ extensions

/// `lock-fd`: run gets `supervise/service-lock`, write-locked, on that fd
/// (rs6 creates the file; s6 2.11 needs it to exist already).
#[test]
fn lock_fd_gives_a_locked_file() {
    let mut sv = Sv::new(
        "lockfd",
        Imp::Rs6,
        "readlink /proc/$$/fd/5 > lock.path; exec sleep 30",
    );
    sv.write("lock-fd", "5");
    sv.start().wait_up();
    let path = wait_file(&sv.file("lock.path"));
    assert!(path.trim().ends_with("sv/supervise/service-lock"), "{path}");
    let locks = fs::read_to_string("/proc/locks").unwrap();
    let ino = fs::metadata(sv.file("supervise/service-lock"))
        .unwrap()
        .ino();
    assert!(
        locks
            .lines()
            .any(|l| l.contains("WRITE") && l.contains(&format!(":{ino} "))),
        "{locks}"
    );
}

/// `nosetsid`: run stays in the supervisor's session.
#[test]
fn nosetsid_keeps_the_session() {
    let mut sv = Sv::new("nosetsid", Imp::Rs6, "exec sleep 30");
    sv.write("nosetsid", "");
    sv.start();
    let pid = sv.wait_up().pid;
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_ne!(f[3], pid.to_string(), "not a session leader");
    // Not a group leader either: clean up by pid only.
    sh(&format!("kill -KILL {pid}"));
    sv.wait("restarted", |s| s.pid != pid && s.up());
    let pid2 = sv.status().pid;
    sv.svc("-dx");
    let _ = sv.exit_code();
    sh(&format!("kill -KILL {pid2}"));
}

/// The supervisor makes no system call while the service is simply up:
/// its CPU time and context switches do not move.
#[test]
fn idle_supervisor_sleeps() {
    let mut sv = Sv::new("idle", Imp::Rs6, "exec sleep 30");
    sv.start().wait_up();
    let pid = sv.sup.as_ref().unwrap().id();
    thread::sleep(Duration::from_millis(100));
    let switches = || {
        fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .map(|l| l.split_whitespace().last().unwrap().parse::<u64>().unwrap())
            .sum::<u64>()
    };
    let before = switches();
    thread::sleep(SEC / 2);
    assert_eq!(switches(), before, "the supervisor woke up while idle");
}
