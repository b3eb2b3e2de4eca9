//! Integration tests of ftrig (owned by the ftrig work; see tests/it/main.rs):
//! fifodirs, listeners and the wait tools, with Debian's s6 as the oracle.
//! Every comparison runs s6's tool and rs6's side by side on the same
//! fifodir or service, and compares exit codes and stdout (never stderr).

use crate::common::{TempDir, rs6, run, s6, script, wait_until};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_secs(1);

/// Names of the listener fifos in `dir` (`ftrig1:@…`, 39 bytes).
fn listeners(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("ftrig1:@") || n.starts_with(".ftrig1:@"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Waits until `dir` holds `n` listener fifos.
fn wait_listeners(dir: &Path, n: usize) {
    assert!(
        wait_until(5 * SECOND, || listeners(dir).len() == n),
        "expected {n} listeners in {}, found {:?}",
        dir.display(),
        listeners(dir)
    );
}

fn is_s6_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 39
        && name.starts_with("ftrig1:@")
        && b[8..32]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        && b[32] == b':'
        && b[33..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

fn finish(child: Child) -> (i32, String) {
    let out: Output = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn code(cmd: &mut Command) -> i32 {
    run(cmd).0
}

/// The two implementations of one tool: s6's then rs6's.
fn both(tool: &str) -> [PathBuf; 2] {
    [s6(&format!("s6-{tool}")), rs6(&format!("rs6-{tool}"))]
}

// ------------------------------------------------------------------ fifodirs

#[test]
fn mkfifodir_modes_and_codes_as_s6() {
    let t = TempDir::new("ftrig-mk");
    for (i, mk) in both("mkfifodir").iter().enumerate() {
        let public = t.join(&format!("pub{i}"));
        let group = t.join(&format!("grp{i}"));
        assert_eq!(code(Command::new(mk).arg(&public)), 0);
        assert_eq!(code(Command::new(mk).args(["-g", "4242"]).arg(&group)), 0);
        let m = fs::metadata(&public).unwrap();
        assert!(m.is_dir());
        assert_eq!(m.mode() & 0o7777, 0o1733, "{}", mk.display());
        let m = fs::metadata(&group).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o3730, "{}", mk.display());
        assert_eq!(m.gid(), 4242);
        // Existing directory: left alone without -f, re-applied with -f.
        fs::set_permissions(&public, fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(code(Command::new(mk).arg(&public)), 0);
        assert_eq!(fs::metadata(&public).unwrap().mode() & 0o7777, 0o700);
        assert_eq!(code(Command::new(mk).arg("-f").arg(&public)), 0);
        assert_eq!(fs::metadata(&public).unwrap().mode() & 0o7777, 0o1733);
        assert_eq!(
            code(Command::new(mk).args(["-f", "-g", "4243"]).arg(&public)),
            0
        );
        assert_eq!(fs::metadata(&public).unwrap().mode() & 0o7777, 0o3730);
        assert_eq!(fs::metadata(&public).unwrap().gid(), 4243);
        // Errors.
        let file = t.join(&format!("file{i}"));
        fs::write(&file, "").unwrap();
        assert_eq!(code(Command::new(mk).arg(&file)), 111);
        assert_eq!(code(Command::new(mk).arg(t.join("no/such/dir"))), 111);
        assert_eq!(code(&mut Command::new(mk)), 100);
        assert_eq!(code(Command::new(mk).args(["-g", "x", "d"])), 100);
        assert_eq!(code(Command::new(mk).args(["-z", "d"])), 100);
    }
}

#[test]
fn notify_and_clean_codes_as_s6() {
    let t = TempDir::new("ftrig-codes");
    let dir = t.join("fd");
    fs::create_dir(&dir).unwrap();
    for tool in both("ftrig-notify") {
        assert_eq!(
            code(Command::new(&tool).arg(&dir).arg("abc")),
            0,
            "no listener"
        );
        assert_eq!(code(Command::new(&tool).arg(&dir).arg("")), 0);
        assert_eq!(code(Command::new(&tool).arg(t.join("nope")).arg("a")), 111);
        assert_eq!(code(Command::new(&tool).arg(&dir)), 100);
    }
    for tool in both("cleanfifodir") {
        assert_eq!(code(Command::new(&tool).arg(&dir)), 0);
        assert_eq!(code(Command::new(&tool).arg(t.join("nope"))), 111);
        assert_eq!(code(&mut Command::new(&tool)), 100);
    }
}

// ----------------------------------------------------------------- listeners

/// Listener fifos: same name shape, type and mode as s6's; none left behind.
#[test]
fn listener_fifos_as_s6() {
    let t = TempDir::new("ftrig-names");
    for (i, wait) in both("ftrig-wait").iter().enumerate() {
        let dir = t.join(&format!("fd{i}"));
        assert_eq!(code(Command::new(rs6("rs6-mkfifodir")).arg(&dir)), 0);
        let child = spawn(Command::new(wait).args(["-t", "5000"]).arg(&dir).arg("z"));
        wait_listeners(&dir, 1);
        let names = listeners(&dir);
        let name = &names[0];
        assert!(
            is_s6_name(name),
            "{}: bad listener name {name}",
            wait.display()
        );
        let m = fs::symlink_metadata(dir.join(name)).unwrap();
        assert!(m.file_type().is_fifo());
        assert_eq!(m.mode() & 0o7777, 0o600, "{name}");
        assert_eq!(m.uid(), my_uid());
        assert_eq!(
            code(Command::new(rs6("rs6-ftrig-notify")).arg(&dir).arg("z")),
            0
        );
        assert_eq!(finish(child), (0, "z\n".to_string()));
        // The listener removes its fifo when done, and after a timeout too.
        assert!(listeners(&dir).is_empty(), "{:?}", listeners(&dir));
        let (c, out, _) = run(Command::new(wait).args(["-t", "50"]).arg(&dir).arg("z"));
        assert_eq!((c, out.as_str()), (1, ""));
        assert!(listeners(&dir).is_empty(), "{:?}", listeners(&dir));
    }
}

/// Our uid, without libc: the owner of a file we just made.
fn my_uid() -> u32 {
    let t = TempDir::new("ftrig-uid");
    let p = t.join("f");
    fs::write(&p, "").unwrap();
    fs::metadata(&p).unwrap().uid()
}

/// s6-ftrig-wait and rs6-ftrig-wait listen on the same fifodir to the same
/// events, sent by s6-ftrig-notify for half the cases and rs6-ftrig-notify
/// for the other: same stdout, same exit code, as expected.
#[test]
fn ftrig_wait_cross_compat() {
    // (regexp, notifications, expected exit code, expected stdout)
    let cases: &[(&str, &[&str], i32, &str)] = &[
        ("cd", &["abc", "d"], 0, "d\n"),
        ("x.*", &["xyz"], 0, "z\n"),
        // s6-ftrigrd reads 16 bytes at a time and matches after each read.
        ("x.*", &["0123456789abcdefx0123456789abcdefghij"], 0, "e\n"),
        ("b|ab", &["cab"], 0, "b\n"),
        ("[DuU]", &["sdD"], 0, "D\n"),
        ("u+U", &["su", "uuU"], 0, "U\n"),
        ("a.c", &["a", "b", "c"], 0, "c\n"),
        // Anchors never match (REG_NOTBOL|REG_NOTEOL).
        ("^a", &["a"], 1, ""),
        ("a$", &["a"], 1, ""),
        ("q", &["abc"], 1, ""),
    ];
    let t = TempDir::new("ftrig-cross");
    let notifiers = both("ftrig-notify");
    let mut running = Vec::new();
    for (i, (re, _, _, _)) in cases.iter().enumerate() {
        let dir = t.join(&format!("fd{i}"));
        fs::create_dir(&dir).unwrap();
        let pair: Vec<Child> = both("ftrig-wait")
            .iter()
            .map(|w| spawn(Command::new(w).args(["-t", "600"]).arg(&dir).arg(re)))
            .collect();
        running.push((dir, pair));
    }
    for (i, (dir, _)) in running.iter().enumerate() {
        wait_listeners(dir, 2);
        for msg in cases[i].1 {
            let n = &notifiers[i % 2];
            assert_eq!(code(Command::new(n).arg(dir).arg(msg)), 0);
        }
    }
    for (i, (_, pair)) in running.into_iter().enumerate() {
        let (re, _, want_code, want_out) = cases[i];
        for (child, who) in pair.into_iter().zip(["s6", "rs6"]) {
            let got = finish(child);
            assert_eq!(
                got,
                (want_code, want_out.to_string()),
                "{who}-ftrig-wait {re:?}"
            );
        }
    }
}

#[test]
fn wait_and_listen1_codes_as_s6() {
    let t = TempDir::new("ftrig-wcodes");
    let dir = t.join("fd");
    fs::create_dir(&dir).unwrap();
    for w in both("ftrig-wait") {
        assert_eq!(
            code(Command::new(&w).args(["-t", "30"]).arg(&dir).arg("a")),
            1
        );
        assert_eq!(
            code(Command::new(&w).args(["-t", "30"]).arg(&dir).arg("a(")),
            111
        );
        assert_eq!(
            code(
                Command::new(&w)
                    .args(["-t", "30"])
                    .arg(t.join("no"))
                    .arg("a")
            ),
            111
        );
        assert_eq!(
            code(Command::new(&w).args(["-t", "x"]).arg(&dir).arg("a")),
            100
        );
        assert_eq!(code(Command::new(&w).arg(&dir)), 100);
    }
    for l in both("ftrig-listen1") {
        assert_eq!(
            code(
                Command::new(&l)
                    .args(["-t", "30"])
                    .arg(&dir)
                    .args(["a", "true"])
            ),
            1
        );
        let (c, out, _) = run(Command::new(&l)
            .args(["-t", "5000"])
            .arg(&dir)
            .arg("b")
            .arg(rs6("rs6-ftrig-notify"))
            .arg(&dir)
            .arg("abc"));
        assert_eq!((c, out.as_str()), (0, "b\n"), "{}", l.display());
        assert_eq!(
            code(
                Command::new(&l)
                    .args(["-t", "30"])
                    .arg(&dir)
                    .args(["a", "/no/such"])
            ),
            111
        );
        assert_eq!(
            code(
                Command::new(&l)
                    .args(["-t", "30"])
                    .arg(&dir)
                    .args(["a(", "true"])
            ),
            111
        );
        assert_eq!(code(Command::new(&l).arg(&dir).arg("a")), 100);
        assert!(listeners(&dir).is_empty(), "{:?}", listeners(&dir));
    }
}

/// An event sent between subscribing and waiting is never missed:
/// rs6-ftrig-listen1 subscribes, then spawns the notifier, then waits.
#[test]
fn race_free_1000_times() {
    let t = TempDir::new("ftrig-race");
    let start = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|k| {
            let dir = t.join(&format!("fd{k}"));
            fs::create_dir(&dir).unwrap();
            std::thread::spawn(move || {
                for i in 0..250 {
                    let (c, out, err) = run(Command::new(rs6("rs6-ftrig-listen1"))
                        .args(["-t", "5000"])
                        .arg(&dir)
                        .arg("a")
                        .arg(rs6("rs6-ftrig-notify"))
                        .arg(&dir)
                        .arg("a"));
                    assert_eq!((c, out.as_str()), (0, "a\n"), "round {i}: {err}");
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    // Across implementations too (s6's listener is slower: fewer rounds).
    let dir = t.join("x");
    fs::create_dir(&dir).unwrap();
    for i in 0..20 {
        let (c, out, err) = run(Command::new(s6("s6-ftrig-listen1"))
            .args(["-t", "5000"])
            .arg(&dir)
            .arg("a")
            .arg(rs6("rs6-ftrig-notify"))
            .arg(&dir)
            .arg("a"));
        assert_eq!((c, out.as_str()), (0, "a\n"), "s6 round {i}: {err}");
        let (c, out, err) = run(Command::new(rs6("rs6-ftrig-listen1"))
            .args(["-t", "5000"])
            .arg(&dir)
            .arg("a")
            .arg(s6("s6-ftrig-notify"))
            .arg(&dir)
            .arg("a"));
        assert_eq!((c, out.as_str()), (0, "a\n"), "rs6 round {i}: {err}");
    }
    assert!(listeners(&dir).is_empty());
    assert!(
        start.elapsed() < 30 * SECOND,
        "too slow: {:?}",
        start.elapsed()
    );
}

/// A listener killed -9 leaves its fifo; the next notify skips it (without
/// blocking or failing) and removes it; cleanfifodir removes such fifos too.
#[test]
fn killed_listener_skipped_and_removed() {
    let t = TempDir::new("ftrig-kill");
    let dir = t.join("fd");
    assert_eq!(code(Command::new(rs6("rs6-mkfifodir")).arg(&dir)), 0);
    for w in both("ftrig-wait") {
        let mut dead = spawn(Command::new(&w).arg(&dir).arg("never"));
        wait_listeners(&dir, 1);
        // s6-ftrig-wait's fifo is held by its s6-ftrigrd helper, which
        // cleans up when its parent dies: kill the helper first.
        let pid = dead.id();
        let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
        for c in children.split_whitespace() {
            assert_eq!(code(Command::new("kill").args(["-9", c])), 0);
        }
        dead.kill().unwrap();
        dead.wait().unwrap();
        let stale = listeners(&dir);
        assert_eq!(stale.len(), 1, "a killed listener leaves its fifo");
        let live = spawn(
            Command::new(rs6("rs6-ftrig-wait"))
                .args(["-t", "5000"])
                .arg(&dir)
                .arg("b"),
        );
        wait_listeners(&dir, 2);
        let t0 = Instant::now();
        assert_eq!(
            code(Command::new(rs6("rs6-ftrig-notify")).arg(&dir).arg("ab")),
            0
        );
        assert!(t0.elapsed() < SECOND);
        assert_eq!(finish(live), (0, "b\n".to_string()));
        assert!(
            wait_until(SECOND, || listeners(&dir).is_empty()),
            "stale fifo left: {:?}",
            listeners(&dir)
        );
    }
    // rs6-cleanfifodir removes a stale fifo (s6 2.11's never does: §12.3).
    let mut dead = spawn(Command::new(rs6("rs6-ftrig-wait")).arg(&dir).arg("never"));
    wait_listeners(&dir, 1);
    dead.kill().unwrap();
    dead.wait().unwrap();
    assert_eq!(listeners(&dir).len(), 1);
    assert_eq!(code(Command::new(rs6("rs6-cleanfifodir")).arg(&dir)), 0);
    assert!(listeners(&dir).is_empty(), "{:?}", listeners(&dir));
}

/// A listener that never reads cannot block a notifier: its fifo fills up,
/// the notifier drops what does not fit and exits 0 at once.
#[test]
fn full_listener_never_blocks_notify() {
    let t = TempDir::new("ftrig-full");
    let dir = t.join("fd");
    fs::create_dir(&dir).unwrap();
    let fifo = dir.join("ftrig1:@400000006b09a82e224d141d:_iQZxZ");
    assert_eq!(code(Command::new("mkfifo").arg(&fifo)), 0);
    // A shell holds the fifo open read-write and never reads it.
    let mut holder = Command::new("sh")
        .arg("-c")
        .arg("exec 3<>\"$1\"; exec sleep 30")
        .arg("sh")
        .arg(&fifo)
        .spawn()
        .unwrap();
    let big = "x".repeat(100_000);
    let t0 = Instant::now();
    for n in both("ftrig-notify") {
        for _ in 0..3 {
            assert_eq!(code(Command::new(&n).arg(&dir).arg(&big)), 0);
            assert_eq!(code(Command::new(&n).arg(&dir).arg("y")), 0);
        }
    }
    assert!(t0.elapsed() < 5 * SECOND);
    assert!(fifo.exists(), "a live listener's fifo is kept");
    holder.kill().unwrap();
    holder.wait().unwrap();
}

/// Who may subscribe: anyone on a public fifodir (1733); on a restricted one
/// (3730), members of its group only — as with s6-ftrig-wait.
#[test]
fn subscribe_permissions_as_s6() {
    let t = TempDir::new("ftrig-perm");
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let public = t.join("public");
    let nobody_grp = t.join("nobody");
    let root_grp = t.join("root");
    let mk = rs6("rs6-mkfifodir");
    assert_eq!(code(Command::new(&mk).arg(&public)), 0);
    assert_eq!(
        code(Command::new(&mk).args(["-g", "65534"]).arg(&nobody_grp)),
        0
    );
    assert_eq!(code(Command::new(&mk).args(["-g", "0"]).arg(&root_grp)), 0);
    let as_nobody = |tool: &Path, dir: &Path| {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(tool)
            .args(["-t", "10000"])
            .arg(dir)
            .arg("a");
        spawn(&mut c)
    };
    for w in both("ftrig-wait") {
        for (dir, allowed) in [(&public, true), (&nobody_grp, true), (&root_grp, false)] {
            let child = as_nobody(&w, dir);
            if allowed {
                wait_listeners(dir, 1);
                assert_eq!(
                    code(Command::new(rs6("rs6-ftrig-notify")).arg(dir).arg("a")),
                    0
                );
                assert_eq!(
                    finish(child),
                    (0, "a\n".to_string()),
                    "{} {}",
                    w.display(),
                    dir.display()
                );
            } else {
                assert_eq!(finish(child).0, 111, "{} {}", w.display(), dir.display());
            }
            assert!(listeners(dir).is_empty());
        }
    }
}

// ----------------------------------------------------------- svwait, svlisten1

/// A service directory supervised by Debian's s6-supervise (or rs6's),
/// stopped on drop.
struct Supervised {
    dir: PathBuf,
    child: Child,
}

impl Supervised {
    fn start(supervise: &Path, dir: PathBuf) -> Supervised {
        let child = Command::new(supervise)
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn supervise");
        let status = dir.join("supervise/status");
        assert!(
            wait_until(5 * SECOND, || fs::metadata(&status)
                .map(|m| m.len() == 35)
                .unwrap_or(false)),
            "{} did not start on {}",
            supervise.display(),
            dir.display()
        );
        Supervised { dir, child }
    }

    /// Status flags byte and whether the pid is non-zero.
    fn status(&self) -> (u8, bool) {
        let s = fs::read(self.dir.join("supervise/status")).unwrap_or_default();
        if s.len() != 35 {
            return (0, false);
        }
        (s[34], s[24..32].iter().any(|&b| b != 0))
    }

    fn svc(&self, cmd: &str) {
        assert_eq!(code(Command::new(s6("s6-svc")).arg(cmd).arg(&self.dir)), 0);
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        let _ = Command::new(s6("s6-svc"))
            .arg("-xd")
            .arg(&self.dir)
            .status();
        let deadline = Instant::now() + 2 * SECOND;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A service: `run` sleeps (after notifying readiness on fd 3 if `ready`);
/// `finish` runs `finish` if given; `down` present if `down`.
fn service(t: &TempDir, name: &str, ready: bool, down: bool, finish: Option<&str>) -> PathBuf {
    let dir = t.join(name);
    fs::create_dir_all(&dir).unwrap();
    if ready {
        fs::write(dir.join("notification-fd"), "3\n").unwrap();
        script(&dir.join("run"), "echo >&3\nexec sleep 100");
    } else {
        script(&dir.join("run"), "exec sleep 100");
    }
    if let Some(body) = finish {
        script(&dir.join("finish"), body);
    }
    if down {
        fs::write(dir.join("down"), "").unwrap();
    }
    dir
}

/// The supervisors to test against: Debian's, plus rs6's when built.
fn supervisors() -> Vec<PathBuf> {
    let mut v = vec![s6("s6-supervise")];
    let dir = std::env::var_os("RS6_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::common::root().join("target/x86_64-unknown-linux-musl/release"));
    if dir.join("rs6-supervise").exists() {
        v.push(dir.join("rs6-supervise"));
    }
    eprintln!("supervisors under test: {v:?}");
    v
}

/// Starts s6-svwait and rs6-svwait with `args` on `dirs`, waits until both
/// listen, runs `act`, and checks that both exit with `want`.
fn svwait_both(args: &[&str], dirs: &[&Path], act: impl FnOnce(), want: i32, what: &str) {
    let children: Vec<Child> = both("svwait")
        .iter()
        .map(|w| spawn(Command::new(w).args(args).args(dirs)))
        .collect();
    for d in dirs {
        wait_listeners(&d.join("event"), 2);
    }
    act();
    for (child, who) in children.into_iter().zip(["s6", "rs6"]) {
        let (c, _) = finish(child);
        assert_eq!(c, want, "{who}-svwait {args:?}: {what}");
    }
}

#[test]
fn svwait_as_s6() {
    let t = TempDir::new("ftrig-svwait");
    for (k, sup) in supervisors().iter().enumerate() {
        let what = sup.display().to_string();
        let up = Supervised::start(sup, service(&t, &format!("up{k}"), true, false, None));
        let down = Supervised::start(sup, service(&t, &format!("down{k}"), false, true, None));
        assert!(
            wait_until(5 * SECOND, || up.status() == (0x0c, true)),
            "{what}: not up+ready"
        );
        let (u, d) = (up.dir.as_path(), down.dir.as_path());
        // States already reached: no event needed.
        for (args, dirs, want) in [
            (&["-u", "-t", "5000"][..], &[u][..], 0),
            (&["-U", "-t", "5000"], &[u], 0),
            (&["-d", "-t", "5000"], &[d], 0),
            (&["-o", "-u", "-t", "5000"], &[u, d], 0),
            (&["-o", "-d", "-t", "5000"], &[u, d], 0),
            (&["-a", "-d", "-t", "150"], &[u, d], 99),
            (&["-d", "-t", "150"], &[u], 99),
            (&["-u", "-t", "150"], &[d], 99),
        ] {
            for (i, w) in both("svwait").iter().enumerate() {
                let c = code(Command::new(w).args(args).args(dirs));
                assert_eq!(c, want, "{}-svwait {args:?} on {what}", ["s6", "rs6"][i]);
            }
        }
        for w in both("svwait") {
            assert_eq!(
                code(Command::new(&w).args(["-t", "100"]).arg(t.join("nothere"))),
                111
            );
            assert_eq!(code(Command::new(&w).arg("-z").arg(u)), 100);
            assert_eq!(code(&mut Command::new(&w)), 100);
        }
        // Transitions.
        svwait_both(&["-u", "-t", "6000"], &[d], || down.svc("-u"), 0, &what);
        svwait_both(&["-D", "-t", "6000"], &[d], || down.svc("-d"), 0, &what);
        svwait_both(&["-d", "-t", "6000"], &[u], || up.svc("-d"), 0, &what);
        svwait_both(&["-U", "-t", "6000"], &[u], || up.svc("-u"), 0, &what);
        svwait_both(
            &["-a", "-u", "-t", "3000"],
            &[u, d],
            || down.svc("-u"),
            0,
            &what,
        );
        svwait_both(
            &["-a", "-D", "-t", "3000"],
            &[u, d],
            || {
                up.svc("-d");
                down.svc("-d");
            },
            0,
            &what,
        );
        // A slow finish: down (d) at once, finished (D) 0.5 s later.
        let slow = Supervised::start(
            sup,
            service(
                &t,
                &format!("slow{k}"),
                false,
                false,
                Some("exec sleep 0.5"),
            ),
        );
        let sd = slow.dir.as_path();
        assert!(wait_until(5 * SECOND, || slow.status().1), "{what}: not up");
        svwait_both(&["-d", "-t", "300"], &[sd], || slow.svc("-d"), 0, &what);
        svwait_both(&["-D", "-t", "2000"], &[sd], || {}, 0, &what);
        svwait_both(&["-u", "-t", "300"], &[sd], || slow.svc("-u"), 0, &what);
        assert!(wait_until(5 * SECOND, || slow.status().1), "{what}: not up");
        svwait_both(&["-D", "-t", "200"], &[sd], || slow.svc("-d"), 99, &what);
        // The supervisor exits while we wait for up: one failure, exit 1.
        svwait_both(&["-u", "-t", "6000"], &[d], || down.svc("-x"), 1, &what);
    }
}

#[test]
fn svwait_restart_as_s6() {
    let t = TempDir::new("ftrig-svwait-r");
    for (k, sup) in supervisors().iter().enumerate() {
        let what = sup.display().to_string();
        let s = Supervised::start(sup, service(&t, &format!("r{k}"), true, false, None));
        assert!(
            wait_until(5 * SECOND, || s.status() == (0x0c, true)),
            "{what}: not up+ready"
        );
        // Up for more than a second: the restart after -k is immediate.
        std::thread::sleep(Duration::from_millis(1100));
        svwait_both(&["-R", "-t", "4000"], &[&s.dir], || s.svc("-k"), 0, &what);
        assert_eq!(s.status(), (0x0c, true));
        // -r on an up service that nobody restarts: times out.
        svwait_both(&["-r", "-t", "150"], &[&s.dir], || {}, 99, &what);
    }
}

/// s6-svlisten1 and rs6-svlisten1: subscribe, run the action, wait — the
/// action's event is never missed, and the exit codes are s6's.
#[test]
fn svlisten1_as_s6() {
    let t = TempDir::new("ftrig-svl");
    for (k, sup) in supervisors().iter().enumerate() {
        let what = sup.display().to_string();
        let s = Supervised::start(sup, service(&t, &format!("s{k}"), true, true, None));
        let svc = s6("s6-svc");
        for round in 0..10 {
            for l in both("svlisten1") {
                let (c, _, e) = run(Command::new(&l)
                    .args(["-U", "-t", "3000"])
                    .arg(&s.dir)
                    .arg(&svc)
                    .arg("-u")
                    .arg(&s.dir));
                assert_eq!(c, 0, "{} -U round {round} on {what}: {e}", l.display());
                let (c, _, e) = run(Command::new(&l)
                    .args(["-D", "-t", "3000"])
                    .arg(&s.dir)
                    .arg(&svc)
                    .arg("-d")
                    .arg(&s.dir));
                assert_eq!(c, 0, "{} -D round {round} on {what}: {e}", l.display());
            }
        }
        for l in both("svlisten1") {
            // Nothing happens: timeout.
            assert_eq!(
                code(
                    Command::new(&l)
                        .args(["-u", "-t", "150"])
                        .arg(&s.dir)
                        .arg("true")
                ),
                99
            );
            assert_eq!(
                code(
                    Command::new(&l)
                        .args(["-u", "-t", "150"])
                        .arg(t.join("no"))
                        .arg("true")
                ),
                111
            );
            assert_eq!(code(Command::new(&l).arg(&s.dir)), 100);
        }
        // finish exits 125: permanent failure, exit 1.
        let f = Supervised::start(
            sup,
            service(&t, &format!("f{k}"), false, true, Some("exit 125")),
        );
        fs::write(f.dir.join("run"), "#!/bin/sh\nexit 3\n").unwrap();
        for l in both("svlisten1") {
            let (c, _, e) = run(Command::new(&l)
                .args(["-U", "-t", "3000"])
                .arg(&f.dir)
                .arg(&svc)
                .arg("-u")
                .arg(&f.dir));
            assert_eq!(c, 1, "{} on finish 125 on {what}: {e}", l.display());
            assert!(wait_until(3 * SECOND, || !f.status().1));
        }
    }
}

/// Listener fifos that rs6-svwait makes in `event/` have s6's names and
/// modes, and real s6-supervise feeds them (checklist 29).
#[test]
fn svwait_listener_fifos_as_s6() {
    let t = TempDir::new("ftrig-svfifo");
    let s = Supervised::start(&s6("s6-supervise"), service(&t, "a", false, true, None));
    let child = spawn(
        Command::new(rs6("rs6-svwait"))
            .args(["-u", "-t", "3000"])
            .arg(&s.dir),
    );
    let ev = s.dir.join("event");
    wait_listeners(&ev, 1);
    let name = listeners(&ev).remove(0);
    assert!(is_s6_name(&name), "{name}");
    let m = fs::symlink_metadata(ev.join(&name)).unwrap();
    assert!(m.file_type().is_fifo());
    assert_eq!(m.mode() & 0o7777, 0o600);
    s.svc("-u");
    assert_eq!(finish(child).0, 0);
    assert!(listeners(&ev).is_empty());
    // rs6-svwait makes a missing event/ fifodir as s6-svwait does (3730).
    for (i, w) in both("svwait").iter().enumerate() {
        let d = t.join(&format!("bare{i}"));
        fs::create_dir_all(d.join("supervise")).unwrap();
        assert_eq!(code(Command::new(w).args(["-t", "50"]).arg(&d)), 111);
        let m = fs::metadata(d.join("event")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o3730, "{}", w.display());
    }
}
