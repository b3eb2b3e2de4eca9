//! Integration tests of rs6-log (owned by the log work; see tests/it/main.rs),
//! with Debian's s6-log 2.11.3.2 as the oracle: the same input and script give
//! the same logdir files and lines (stamps masked), rotation under a fast
//! stream loses and duplicates nothing, SIGTERM mid-stream loses nothing (a
//! line is in `current` or still in the pipe), a full disk blocks the writer
//! instead of dropping lines, and bad scripts exit as s6-log does.

use crate::common::{TempDir, rs6, s6, wait_until};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

// ---- helpers ---------------------------------------------------------------

/// Both loggers, rs6's first.
fn loggers() -> [PathBuf; 2] {
    [rs6("rs6-log"), s6("s6-log")]
}

/// Replaces TAI64N stamps (`@` + 24 hex) by `@TAI` and local ISO stamps
/// (`YYYY-MM-DD HH:MM:SS.nnnnnnnnn`) by `ISO`.
fn mask(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'@' && b.len() >= i + 25 && b[i + 1..i + 25].iter().all(u8::is_ascii_hexdigit) {
            out.push_str("@TAI");
            i += 25;
            continue;
        }
        let iso = b"dddd-dd-dd dd:dd:dd.ddddddddd";
        if b.len() >= i + iso.len()
            && iso.iter().zip(&b[i..]).all(|(p, c)| {
                if *p == b'd' {
                    c.is_ascii_digit()
                } else {
                    p == c
                }
            })
        {
            out.push_str("ISO");
            i += iso.len();
            continue;
        }
        let ch = s[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn is_archive(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 27
        && b[0] == b'@'
        && b[1..25]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        && (name.ends_with(".s") || name.ends_with(".u"))
}

/// The file names of a logdir with archives shown as `@TAI.s` / `@TAI.u`,
/// sorted, and its archives' contents (oldest first) followed by `current`.
fn logdir(dir: &Path) -> (Vec<String>, String) {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut text = String::new();
    for n in names
        .iter()
        .filter(|n| is_archive(n))
        .chain(std::iter::once(&"current".to_string()))
    {
        text.push_str(&fs::read_to_string(dir.join(n)).unwrap_or_default());
    }
    let shown = names
        .iter()
        .map(|n| if is_archive(n) { mask(n) } else { n.clone() })
        .collect();
    (shown, text)
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Runs `prog script...` in `cwd` with `input` on stdin; returns (code,
/// stdout, stderr).
fn run_log(prog: &Path, cwd: &Path, args: &[&str], input: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(prog)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn logger");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait logger");
    feeder.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn kill(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(ok.success(), "kill -{sig} {}", child.id());
}

/// Numbered lines `from..to`, each `line NNNNNNNN padding\n`.
fn numbered(from: u64, to: u64) -> Vec<u8> {
    let mut v = Vec::new();
    for i in from..to {
        writeln!(v, "line {i:08} {}", "x".repeat((i % 37) as usize)).unwrap();
    }
    v
}

/// The numbers of numbered lines in `text`, in order.
fn numbers(text: &str) -> Vec<u64> {
    text.lines()
        .map(|l| {
            let l = l.strip_prefix("@").map_or(l, |r| &r[25..]);
            l.strip_prefix("line ")
                .and_then(|r| r.get(..8))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("bad line {l:?}"))
        })
        .collect()
}

// ---- same script, same input: rs6-log vs s6-log ----------------------------

/// Asserts `a == b`, showing the first differing line rather than both texts.
#[track_caller]
fn same_text(a: &str, b: &str, what: &str) {
    if a != b {
        let (la, lb): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
        let i = la.iter().zip(&lb).take_while(|(x, y)| x == y).count();
        let cut = |l: Option<&&str>| l.map(|l| l.chars().take(120).collect::<String>());
        panic!(
            "{what}: {} vs {} lines, first difference at line {i}: {:?} vs {:?}",
            la.len(),
            lb.len(),
            cut(la.get(i)),
            cut(lb.get(i))
        );
    }
}

#[test]
fn same_files_and_lines_as_s6_log() {
    let mut input = Vec::new();
    for i in 0..300 {
        writeln!(
            input,
            "msg {i} {}",
            if i % 7 == 0 { "fatal: boom" } else { "ok" }
        )
        .unwrap();
        if i % 50 == 0 {
            writeln!(input, "STAT {i}").unwrap();
            input.extend_from_slice(b"\n");
            input.extend_from_slice(&[b'L'; 9000]); // split at -l's default 8192
            input.push(b'\n');
        }
    }
    input.extend_from_slice(b"unterminated last line"); // s6-log 2.11 drops it
    let script = [
        "n100", "s4096", "t", "./plain", "-", "+fatal:", "E20", "2", "1", "-", "+^STAT", "=status",
        "f", "T", "pPFX", "./iso", "p", "t", "./iso2",
    ];
    let mut seen = Vec::new();
    for prog in loggers() {
        let tmp = TempDir::new("log-same");
        let (code, out, err) = run_log(&prog, tmp.path(), &script, &input);
        assert_eq!(code, 0, "{}: {err}", prog.display());
        let alerts: Vec<String> = err
            .lines()
            .filter(|l| l.contains(": alert: "))
            .map(mask)
            .collect();
        let mut dirs = Vec::new();
        for d in ["plain", "iso", "iso2"] {
            let (names, text) = logdir(&tmp.join(d));
            assert_eq!(
                mode(&tmp.join(d).join("current")),
                0o744,
                "{d}/current finalized"
            );
            assert_eq!(mode(&tmp.join(d)) & 0o777, 0o700);
            dirs.push((names, mask(&text)));
        }
        let status = fs::read(tmp.join("status")).unwrap();
        seen.push((mask(&out), alerts, dirs, status));
    }
    let (rs, s6) = (&seen[0], &seen[1]);
    assert_eq!(rs.0, s6.0, "stdout (`1`)");
    assert_eq!(rs.1, s6.1, "alerts (`2`)");
    assert_eq!(rs.3.len(), 1001);
    assert_eq!(rs.3, s6.3, "status file (`=`)");
    for (i, (a, b)) in rs.2.iter().zip(&s6.2).enumerate() {
        // Archive boundaries depend on how input is chunked; the names'
        // pattern and the concatenated lines must not.
        let pattern = |names: &Vec<String>| {
            let mut v: Vec<String> = names.clone();
            v.dedup();
            v
        };
        assert_eq!(pattern(&a.0), pattern(&b.0), "logdir {i} names");
        same_text(&a.1, &b.1, &format!("logdir {i}"));
    }
    // checklist 40: `t ./d` lines are `@<24hex> text`
    assert!(
        rs.2[0].1.lines().all(|l| l.starts_with("@TAI ")),
        "t stamps"
    );
    assert!(
        rs.2[1].1.lines().all(|l| l.starts_with("ISO  PFX ")),
        "T stamps and prefix"
    );
}

// ---- rotation --------------------------------------------------------------

#[test]
fn rotation_under_fast_stream_loses_and_duplicates_nothing() {
    const N: u64 = 150_000; // ~4.5 MB, some 1100 rotations per logdir
    let tmp = TempDir::new("log-rot");
    let input = numbered(0, N);
    let started = std::time::Instant::now();
    let (code, _, err) = run_log(
        &rs6("rs6-log"),
        tmp.path(),
        &["n3", "s4096", "./small", "n100000", "./all"],
        &input,
    );
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    // ./all keeps every archive: the concatenation is the whole stream.
    let (names, text) = logdir(&tmp.join("all"));
    assert!(
        names.iter().filter(|n| n.starts_with('@')).count() > 500,
        "rotated: {}",
        names.len()
    );
    assert_eq!(
        numbers(&text),
        (0..N).collect::<Vec<_>>(),
        "./all holds every line once, in order"
    );
    for n in fs::read_dir(tmp.join("all")).unwrap() {
        let n = n.unwrap();
        let name = n.file_name().to_string_lossy().into_owned();
        if is_archive(&name) {
            assert!(n.metadata().unwrap().len() <= 4096, "{name} over s");
            assert_eq!(mode(&n.path()), 0o744, "{name} mode");
        }
    }
    // ./small keeps 3 archives: a contiguous tail of the stream.
    let (names, text) = logdir(&tmp.join("small"));
    assert_eq!(
        names.iter().filter(|n| n.starts_with('@')).count(),
        3,
        "{names:?}"
    );
    let got = numbers(&text);
    let first = got[0];
    assert_eq!(
        got,
        (first..N).collect::<Vec<_>>(),
        "./small is the stream's tail"
    );
    eprintln!("rotation test: {} bytes in {secs:.2} s", input.len());
}

#[test]
fn alarm_rotates_and_restart_repairs_like_s6_log() {
    let mut seen = Vec::new();
    for prog in loggers() {
        let tmp = TempDir::new("log-alrm");
        // SIGALRM rotates a non-empty current to @….s (checklist 41)
        let mut child = Command::new(&prog)
            .args(["n2", "./d"])
            .current_dir(tmp.path())
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let current = tmp.join("d/current");
        for round in 0..3 {
            writeln!(stdin, "round {round}").unwrap();
            assert!(wait_until(5 * SECOND, || fs::metadata(&current)
                .map(|m| m.len() > 0)
                .unwrap_or(false)));
            kill(&child, "ALRM");
            assert!(wait_until(5 * SECOND, || fs::metadata(&current)
                .map(|m| m.len() == 0)
                .unwrap_or(false)));
        }
        // killed without finalizing: current keeps mode 0644
        writeln!(stdin, "unfinished").unwrap();
        assert!(wait_until(5 * SECOND, || fs::metadata(&current)
            .map(|m| m.len() > 0)
            .unwrap_or(false)));
        child.kill().unwrap();
        child.wait().unwrap();
        drop(stdin);
        assert_eq!(mode(&current), 0o644);
        let after_alarm = logdir(&tmp.join("d"));
        // a restart archives the unfinalized current as @….u
        let (code, _, err) = run_log(&prog, tmp.path(), &["n2", "./d"], b"again\n");
        assert_eq!(code, 0, "{err}");
        let after_restart = logdir(&tmp.join("d"));
        let u: Vec<_> = fs::read_dir(tmp.join("d"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".u"))
            .collect();
        assert_eq!(u.len(), 1);
        assert_eq!(fs::read_to_string(&u[0]).unwrap(), "unfinished\n");
        assert_eq!(mode(&u[0]), 0o644, ".u keeps the unfinalized mode");
        seen.push((after_alarm, after_restart));
    }
    assert_eq!(seen[0], seen[1], "rs6-log vs s6-log");
    assert_eq!(
        seen[0].0.0,
        ["@TAI.s", "@TAI.s", "current", "lock", "state"],
        "n2 keeps two archives"
    );
}

// ---- SIGTERM ---------------------------------------------------------------

/// Feeds numbered lines into a pipe until told to stop; counts lines written.
/// Once `term` is set, it writes half a line, sends SIGTERM to `pid`, waits,
/// then writes the rest of the line and goes on: rs6-log then holds half a
/// line when the signal comes.
struct Feeder {
    stop: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    /// The number of the line split around the signal.
    split: Arc<AtomicU64>,
    handle: std::thread::JoinHandle<()>,
}

fn feeder(mut w: std::io::PipeWriter, pid: u32) -> Feeder {
    let stop = Arc::new(AtomicBool::new(false));
    let term = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let split = Arc::new(AtomicU64::new(0));
    let (s, t, n, sp) = (stop.clone(), term.clone(), written.clone(), split.clone());
    let handle = std::thread::spawn(move || {
        const CHUNK: u64 = 7;
        let mut i = 0;
        let mut signalled = false;
        while !s.load(Ordering::SeqCst) {
            let data = numbered(i, i + CHUNK);
            let r = if t.load(Ordering::SeqCst) && !signalled {
                signalled = true;
                sp.store(i + CHUNK - 1, Ordering::SeqCst);
                let (a, b) = data.split_at(data.len() - 5);
                w.write_all(a).unwrap();
                std::thread::sleep(Duration::from_millis(20));
                let st = Command::new("kill")
                    .arg("-TERM")
                    .arg(pid.to_string())
                    .status()
                    .unwrap();
                assert!(st.success());
                std::thread::sleep(Duration::from_millis(100));
                w.write_all(b)
            } else {
                w.write_all(&data)
            };
            if r.is_err() {
                break;
            }
            i += CHUNK;
            n.store(i, Ordering::SeqCst);
            std::thread::sleep(Duration::from_micros(200));
        }
    });
    Feeder {
        stop,
        term,
        written,
        split,
        handle,
    }
}

#[test]
fn sigterm_mid_stream_loses_nothing() {
    let tmp = TempDir::new("log-term");
    let (reader, writer) = std::io::pipe().unwrap();
    let mut ours = reader.try_clone().unwrap();
    let mut child = Command::new(rs6("rs6-log"))
        .args(["n100000", "s8192", "./d"])
        .current_dir(tmp.path())
        .stdin(reader)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let feed = feeder(writer, child.id());
    assert!(wait_until(5 * SECOND, || feed
        .written
        .load(Ordering::SeqCst)
        > 20_000));
    feed.term.store(true, Ordering::SeqCst);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    feed.stop.store(true, Ordering::SeqCst);
    // what rs6-log did not read is still in the pipe: read it ourselves
    let mut rest = Vec::new();
    // rs6-log left the pipe non-blocking: poll until EOF (the feeder's end)
    let drain = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        loop {
            match ours.read(&mut buf) {
                Ok(0) => break rest,
                Ok(n) => rest.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(e) => panic!("read pipe: {e}"),
            }
        }
    });
    feed.handle.join().unwrap();
    let written = feed.written.load(Ordering::SeqCst);
    let feed_split = feed.split.load(Ordering::SeqCst);
    let rest = drain.join().unwrap();
    let (_, text) = logdir(&tmp.join("d"));
    assert_eq!(mode(&tmp.join("d/current")), 0o744, "finalized");
    let mut all = numbers(&text);
    let logged = all.len();
    // the half line held at SIGTERM was completed from the pipe and logged
    assert_eq!(all.last(), Some(&feed_split), "last logged line");
    all.extend(numbers(&String::from_utf8(rest).unwrap()));
    assert!(logged > 1000, "logged {logged}");
    assert_eq!(
        all,
        (0..written).collect::<Vec<_>>(),
        "logdir + pipe = everything written"
    );
}

// ---- ENOSPC ----------------------------------------------------------------

/// A small tmpfs mounted for the test, unmounted on drop (needs root).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: PathBuf, size: &str) -> Tmpfs {
        fs::create_dir_all(&dir).unwrap();
        let st = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "rs6-log-test",
                dir.to_str().unwrap(),
            ])
            .status()
            .expect("run mount");
        assert!(
            st.success(),
            "mount tmpfs on {} (the ENOSPC test needs root)",
            dir.display()
        );
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_blocks_then_resumes_losing_nothing() {
    let tmp = TempDir::new("log-nospc");
    let fsdir = Tmpfs::mount(tmp.join("fs"), "1m");
    let filler = fsdir.0.join("filler");
    // leave ~24 KB free
    let free = || {
        let out = Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(&fsdir.0)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    fs::write(&filler, vec![0u8; (free() - 24 * 1024) as usize]).unwrap();
    const N: u64 = 10_000; // ~450 KB
    let (reader, writer) = std::io::pipe().unwrap();
    let mut child = Command::new(rs6("rs6-log"))
        .args(["r100", "n1000", "s50000", "./fs/d"])
        .current_dir(tmp.path())
        .stdin(reader)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let warned = Arc::new(AtomicBool::new(false));
    let w2 = warned.clone();
    let errs = std::thread::spawn(move || {
        let mut all = String::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.push_str(&String::from_utf8_lossy(&buf[..n]));
            if all.contains("No space left on device") {
                w2.store(true, Ordering::SeqCst);
            }
        }
        all
    });
    let done = Arc::new(AtomicBool::new(false));
    let d2 = done.clone();
    let mut w = writer;
    let feed = std::thread::spawn(move || {
        w.write_all(&numbered(0, N)).unwrap();
        d2.store(true, Ordering::SeqCst);
    });
    assert!(
        wait_until(10 * SECOND, || warned.load(Ordering::SeqCst)),
        "no ENOSPC warning"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "rs6-log must keep running on ENOSPC"
    );
    assert!(
        !done.load(Ordering::SeqCst),
        "the writer must be blocked (backpressure), not drained"
    );
    fs::remove_file(&filler).unwrap();
    feed.join().unwrap();
    let status = child.wait().unwrap();
    let err = errs.join().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    let (_, text) = logdir(&tmp.join("fs/d"));
    assert_eq!(
        numbers(&text),
        (0..N).collect::<Vec<_>>(),
        "every line once, in order"
    );
}

// ---- errors ----------------------------------------------------------------

#[test]
fn malformed_scripts_and_options_exit_like_s6_log() {
    let cases: &[&[&str]] = &[
        &["e", "./d"],
        &["t"],
        &["tx", "./d"],
        &["n", "./d"],
        &["nx", "./d"],
        &["s4096", "l3000", "./d"],
        &["l50000", "./d"],
        &["x"],
        &["+(", "./d"],
        &["fx", "./d"],
        &["="],
        &["1x"],
        &["pfoo"],
        &["E", "./d"],
        &["R", "./d"],
        &[],
        &["-Z", "1"],
        &["-l", "x", "1"],
        &["-d", "2", "1"],
        &["-d", "7", "1"],
        &["-d", "x", "1"],
        &["./f/x"],
        &["2", "./d", "+x"],
    ];
    for args in cases {
        let mut codes = Vec::new();
        for prog in loggers() {
            let tmp = TempDir::new("log-bad");
            fs::write(tmp.join("f"), "").unwrap();
            let (code, out, _) = run_log(&prog, tmp.path(), args, b"line\n");
            codes.push((code, out));
        }
        assert_eq!(codes[0], codes[1], "rs6-log vs s6-log on {args:?}");
    }
}

#[test]
fn locked_logdir_exits_111_both_ways() {
    for (holder, second) in [(0, 1), (1, 0), (0, 0)] {
        let progs = loggers();
        let tmp = TempDir::new("log-lock");
        let mut first = Command::new(&progs[holder])
            .arg("./d")
            .current_dir(tmp.path())
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        assert!(wait_until(5 * SECOND, || tmp.join("d/current").exists()));
        let (code, _, err) = run_log(&progs[second], tmp.path(), &["./d"], b"x\n");
        assert_eq!(code, 111, "{err}");
        assert!(err.contains("unable to lock ./d/lock"), "{err}");
        drop(first.stdin.take());
        assert_eq!(first.wait().unwrap().code(), Some(0));
    }
}

#[test]
fn readiness_on_notification_fd() {
    let tmp = TempDir::new("log-ready");
    let fifo = tmp.join("notif");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec {} -d 3 ./d 3>notif",
            rs6("rs6-log").display()
        ))
        .current_dir(tmp.path())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut got = Vec::new();
    // EOF once rs6-log has written its newline and closed fd 3
    fs::File::open(&fifo)
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, b"\n");
    assert!(tmp.join("d/lock").exists() && tmp.join("d/state").exists());
    assert!(
        child.try_wait().unwrap().is_none(),
        "still running after readiness"
    );
    drop(child.stdin.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
