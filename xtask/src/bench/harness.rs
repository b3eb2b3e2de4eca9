//! The bench's hands: a temporary directory, the helper programs (compiled from
//! `bench/helpers/*.rs` into it), scanners started on fresh scan directories below a
//! `reaper`, `strace` and logger processes. Every process the bench starts is owned by a
//! guard whose `Drop` ends it by pid, so an error anywhere still leaves nothing running: a
//! reaper kills its whole tree (and only it) when its stdin is closed, which also happens
//! when xtask itself dies. Nothing is ever killed by name.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use super::procfs;
use super::suite::Suite;
use crate::setup::MUSL_TARGET;
use crate::util::{Context, Result, display_cmd, echo_cmd, err, progress, project_root};

/// The helper programs (`xtask/src/bench/helpers/NAME.rs`).
const HELPERS: &[&str] = &["reaper", "sleeper", "probe", "floor", "downwatch"];

/// `O_NONBLOCK` on Linux (std has the flag only through `custom_flags`).
const O_NONBLOCK: i32 = 0o4000;

/// The state of one bench run.
pub(crate) struct Bench {
    /// The run's temporary directory (removed at the end).
    pub(crate) tmp: PathBuf,
    /// The suites, in column order.
    pub(crate) suites: Vec<Suite>,
    keep: bool,
    seq: Cell<u32>,
    echoed: RefCell<HashSet<String>>,
}

impl Bench {
    /// Creates the temporary directory and compiles the helpers into it.
    pub(crate) fn new(suites: Vec<Suite>, keep: bool) -> Result<Bench> {
        remove_stale(&temp_root());
        let tmp = temp_root().join(format!("rs6-bench.{}", std::process::id()));
        std::fs::create_dir(&tmp).ctx(|| format!("creating {}", tmp.display()))?;
        let b = Bench {
            tmp,
            suites,
            keep,
            seq: Cell::new(0),
            echoed: RefCell::new(HashSet::new()),
        };
        b.compile_helpers()?;
        Ok(b)
    }

    /// Path of helper NAME.
    pub(crate) fn helper(&self, name: &str) -> PathBuf {
        self.tmp.join("bin").join(name)
    }

    /// Compiles every helper with rustc (static musl, as the rs6 binaries), in parallel.
    fn compile_helpers(&self) -> Result<()> {
        let src = project_root().join("xtask/src/bench/helpers");
        let out = self.tmp.join("bin");
        std::fs::create_dir(&out)?;
        let mut jobs = Vec::new();
        for name in HELPERS {
            let mut c = Command::new("rustc");
            c.current_dir(project_root())
                .args(["--edition", "2024", "-O", "-C", "panic=abort"])
                .args(["-C", "strip=symbols", "--target", MUSL_TARGET])
                .arg(src.join(format!("{name}.rs")))
                .arg("-o")
                .arg(out.join(name));
            echo_cmd(&c);
            let child = c.spawn().ctx(|| "cannot run rustc")?;
            jobs.push((c, child));
        }
        for (c, mut child) in jobs {
            let st = child.wait()?;
            if !st.success() {
                return Err(err(format!("`{}` failed: {st}", display_cmd(&c))));
            }
        }
        Ok(())
    }

    /// A fresh directory `tmp/LABEL-N`.
    pub(crate) fn fresh_dir(&self, label: &str) -> Result<PathBuf> {
        self.seq.set(self.seq.get() + 1);
        let d = self.tmp.join(format!("{label}-{}", self.seq.get()));
        std::fs::create_dir_all(&d).ctx(|| format!("creating {}", d.display()))?;
        Ok(d)
    }

    /// Prints `$ cmd` the first time KEY is seen: commands repeated in a timed loop are
    /// shown once, not hundreds of times.
    pub(crate) fn echo_once(&self, key: &str, cmd: &Command) {
        if self.echoed.borrow_mut().insert(key.to_string()) {
            echo_cmd(cmd);
        }
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        if self.keep {
            println!("bench: kept {}", self.tmp.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Where the bench's temporary directory goes: `$TMPDIR` if set; else /dev/shm when it is
/// a tmpfs that allows exec (scan directories live on a tmpfs on real systems, /run/service,
/// and the figures then do not depend on a disk); else the system's temporary directory.
pub(crate) fn temp_root() -> PathBuf {
    if std::env::var_os("TMPDIR").is_some() {
        return std::env::temp_dir();
    }
    let shm = std::fs::read_to_string("/proc/mounts").is_ok_and(|m| {
        m.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3
                && f[1] == "/dev/shm"
                && f[2] == "tmpfs"
                && !f[3].split(',').any(|o| o == "noexec")
        })
    });
    if shm {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    }
}

/// Removes `rs6-bench.PID` directories left in ROOT by runs that were interrupted (their
/// process is gone), so that an interrupted run does not keep a tmpfs full.
fn remove_stale(root: &Path) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("rs6-bench."))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            progress(format!(
                "bench: removing {} (left by an interrupted run)",
                e.path().display()
            ));
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The file system type of the mount holding PATH (longest mount point prefix).
pub(crate) fn fs_type(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && path.starts_with(f[1])).then(|| (f[1].len(), f[2].to_string()))
        })
        .max_by_key(|x| x.0)
        .map_or("?".into(), |x| x.1)
}

/// Sends signal SIG (a name: `INT`, `KILL`...) to PID, a process the bench started.
pub(crate) fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A process tree below a reaper. Dropping it ends the tree.
pub(crate) struct Tree {
    reaper: Child,
    stdin: Option<ChildStdin>,
    /// The pid of the reaper's child (the scanner, or the floor loop).
    pub(crate) pid: u32,
    /// CLOCK_MONOTONIC ns, read by the reaper just before it forked the child.
    pub(crate) t0_ns: u64,
}

impl Tree {
    /// Starts ARGV below a reaper, in CWD, with ENV added, output to LOG.
    pub(crate) fn start(
        b: &Bench,
        key: &str,
        argv: &[OsString],
        cwd: &Path,
        env: &[(&str, OsString)],
        log: &Path,
    ) -> Result<Tree> {
        let pidfile = log.with_extension("pid");
        let out = File::create(log)?;
        let mut c = Command::new(b.helper("reaper"));
        c.arg(&pidfile)
            .args(argv)
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(out.try_clone()?)
            .stderr(out);
        for (k, v) in env {
            c.env(k, v);
        }
        b.echo_once(key, &c);
        let mut reaper = c.spawn().ctx(|| "cannot start the reaper")?;
        let stdin = reaper.stdin.take();
        let mut tree = Tree {
            reaper,
            stdin,
            pid: 0,
            t0_ns: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(s) = std::fs::read_to_string(&pidfile) {
                let mut w = s.split_whitespace();
                if let (Some(Ok(p)), Some(Ok(t))) =
                    (w.next().map(str::parse), w.next().map(str::parse))
                {
                    tree.pid = p;
                    tree.t0_ns = t;
                    return Ok(tree);
                }
            }
            if Instant::now() > deadline || tree.reaper.try_wait()?.is_some() {
                return Err(err(format!(
                    "the reaper did not start {} (see {})",
                    argv[0].to_string_lossy(),
                    log.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The reaper's pid.
    pub(crate) fn reaper_pid(&self) -> u32 {
        self.reaper.id()
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        drop(self.stdin.take()); // end of file: the reaper kills its tree, then exits
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if !matches!(self.reaper.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // The reaper is stuck: kill what is below it, by pid, then the reaper.
        for p in procfs::descendants(self.reaper.id()) {
            signal(p, "KILL");
        }
        let _ = self.reaper.kill();
        let _ = self.reaper.wait();
    }
}

/// Makes service directory SCANDIR/NAME whose `run` is a symlink to RUN.
pub(crate) fn service(scandir: &Path, name: &str, run: &Path) -> Result<PathBuf> {
    let d = scandir.join(name);
    std::fs::create_dir(&d).ctx(|| format!("creating {}", d.display()))?;
    std::os::unix::fs::symlink(run, d.join("run"))?;
    Ok(d)
}

/// One scanner of one suite on a fresh scan directory of N services, below a reaper.
pub(crate) struct Instance<'a> {
    pub(crate) suite: &'a Suite,
    pub(crate) scandir: PathBuf,
    pub(crate) services: Vec<PathBuf>,
    /// The fifo the sleepers write their start stamps to.
    up: Option<File>,
    upbuf: Vec<u8>,
    pub(crate) tree: Tree,
}

impl<'a> Instance<'a> {
    /// Starts SUITE's scanner on N services whose `./run` is helper RUN. With UPFIFO the
    /// daemons find `$BENCH_UPFIFO` (read by [`Instance::wait_up`]).
    pub(crate) fn start(
        b: &Bench,
        suite: &'a Suite,
        label: &str,
        n: usize,
        run: &str,
        upfifo: bool,
    ) -> Result<Instance<'a>> {
        Self::start_with(b, suite, label, n, run, upfifo, |_| Ok(()))
    }

    /// [`Instance::start`], with SETUP run on the service directories before the scanner.
    pub(crate) fn start_with(
        b: &Bench,
        suite: &'a Suite,
        label: &str,
        n: usize,
        run: &str,
        upfifo: bool,
        setup: impl FnOnce(&[PathBuf]) -> Result<()>,
    ) -> Result<Instance<'a>> {
        let base = b.fresh_dir(&format!("{}-{label}", suite.name()))?;
        let scandir = base.join("scan");
        std::fs::create_dir(&scandir)?;
        let run = b.helper(run);
        let width = if n > 9999 { 5 } else { 4 };
        let services = (0..n)
            .map(|i| service(&scandir, &format!("s{i:0width$}"), &run))
            .collect::<Result<Vec<_>>>()?;
        setup(&services)?;
        let mut env = Vec::new();
        let mut up = None;
        if upfifo {
            let fifo = base.join("up.fifo");
            let mut c = Command::new("mkfifo");
            c.arg(&fifo);
            b.echo_once("mkfifo", &c);
            if !c.status()?.success() {
                return Err(err(format!("`{}` failed", display_cmd(&c))));
            }
            // Read and write: opening does not block, and reads never see end of file.
            up = Some(
                std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .custom_flags(O_NONBLOCK)
                    .open(&fifo)?,
            );
            env.push(("BENCH_UPFIFO", fifo.into_os_string()));
        }
        env.push(("PATH", suite.path_env.clone()));
        // As at boot, the scan directory is not brand new: runsvdir waits a second before
        // scanning a directory modified within the current second.
        File::open(&scandir)?.set_modified(SystemTime::now() - Duration::from_secs(10))?;
        let argv = suite.scanner_argv(&scandir, n);
        let tree = Tree::start(
            b,
            &format!("scanner {} {}", suite.name(), n > 500),
            &argv,
            &base,
            &env,
            &base.join("scanner.log"),
        )?;
        Ok(Instance {
            suite,
            scandir,
            services,
            up,
            upbuf: Vec::new(),
            tree,
        })
    }

    /// Reads daemon start stamps (CLOCK_MONOTONIC ns) until N arrived, TIMEOUT passed, or
    /// (when some arrived) none came for STALL.
    pub(crate) fn wait_up(&mut self, n: usize, timeout: Duration, stall: Duration) -> Vec<u64> {
        let mut stamps = Vec::new();
        let Some(f) = self.up.as_mut() else {
            return stamps;
        };
        let start = Instant::now();
        let mut last = start;
        let mut buf = vec![0u8; 65536];
        while stamps.len() < n && start.elapsed() < timeout {
            match f.read(&mut buf) {
                Ok(k) if k > 0 => {
                    self.upbuf.extend_from_slice(&buf[..k]);
                    let whole = self.upbuf.len() / 20 * 20;
                    for rec in self.upbuf[..whole].chunks(20) {
                        if let Some(t) = std::str::from_utf8(&rec[..19])
                            .ok()
                            .and_then(|s| s.parse().ok())
                        {
                            stamps.push(t);
                        }
                    }
                    self.upbuf.drain(..whole);
                    last = Instant::now();
                }
                _ => {
                    if !stamps.is_empty() && last.elapsed() > stall {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        stamps
    }

    /// The scanner's pid.
    pub(crate) fn scanner(&self) -> u32 {
        self.tree.pid
    }

    /// The supervisors: the scanner's children with the suite's supervisor name.
    pub(crate) fn supervisors(&self) -> Vec<u32> {
        let name = self.suite.supervisor_comm();
        procfs::children(self.scanner())
            .into_iter()
            .filter(|&p| procfs::comm(p).as_deref() == Some(name))
            .collect()
    }

    /// Every process below the reaper named NAME.
    pub(crate) fn named(&self, name: &str) -> Vec<u32> {
        procfs::descendants(self.tree.reaper_pid())
            .into_iter()
            .filter(|&p| procfs::comm(p).as_deref() == Some(name))
            .collect()
    }
}

/// An `strace -c -p PID` run; dropping it stops it.
pub(crate) struct Strace {
    child: Child,
    out: PathBuf,
    err: PathBuf,
    stopped: bool,
}

impl Strace {
    /// Attaches to PID, writing the summary to OUT.
    pub(crate) fn attach(b: &Bench, pid: u32, out: PathBuf) -> Result<Strace> {
        let errf = out.with_extension("err");
        let mut c = Command::new("strace");
        c.args(["-c", "-o"])
            .arg(&out)
            .args(["-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&errf)?);
        b.echo_once("strace", &c);
        Ok(Strace {
            child: c.spawn().ctx(|| "cannot run strace")?,
            out,
            err: errf,
            stopped: false,
        })
    }

    /// True if strace said it attached and is still running.
    pub(crate) fn attached(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
            && std::fs::read_to_string(&self.err).is_ok_and(|s| s.contains("attached"))
    }

    /// Detaches (SIGINT makes strace write its summary) and returns the summary.
    pub(crate) fn finish(&mut self) -> String {
        self.stop();
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        signal(self.child.id(), "INT");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Strace {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A child that is killed (SIGKILL, by pid) and reaped if still running when dropped.
pub(crate) struct Guard(pub(crate) Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}
