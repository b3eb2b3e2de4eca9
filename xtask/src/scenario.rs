//! QEMU scenarios: `tests/scenarios/NNNN-name/` holds `guest.sh` (run by busybox sh in the
//! guest as `rs6.script=/scenario/guest.sh`; rs6-init powers off when it exits), `expect`
//! (ordered lines, each a substring of a later console line: subsequence matching) and an
//! optional `scenario.conf` (`image`, `timeout`, `memory`, `cmdline`, `qemu_args`,
//! `on_console = TEXT => MONITOR COMMAND`, `disk = SIZE_MB ext4|raw|rootfs`,
//! `host_check = SCRIPT`, `end = poweroff|reboot|halt`, `exit_within = TEXT => SECONDS`,
//! `arch = x86_64 aarch64`, `timeout_aarch64`). Every other file in the directory goes into
//! the guest under `/scenario/`; tests/scenarios/README.md is the manual.
//!
//! `disk = SIZE_MB rootfs` makes the disk a whole root file system, built without root
//! privileges or loop mounts: a busybox tree, `cargo xtask install --init` into it, the
//! scenario files under `/scenario/` and the scenario's `rootfs/` directory over `/`, then
//! `mkfs.ext4 -d`. The scenario boots it through a small initramfs (`image = diskboot`).
//!
//! A scenario passes only if every expect line matched, a `rs6-test: PASS` line came, no
//! `rs6-test: FAIL` line came, the guest ended the `end` way before the timeout, QEMU ended
//! within each `exit_within` limit, and the `host_check` script (run on the host once QEMU
//! is gone, with the scenario's disk image) exited 0. Scenarios
//! run in parallel (one QEMU per core, the slow aarch64 ones first); each base image is
//! built once per run and architecture, and each scenario boots
//! `target/scenarios/<name>[-aarch64]/initrd.cpio.gz` = the base image's gzip members
//! followed by a small gzip'd cpio of the scenario files (the kernel unpacks concatenated
//! archives in order). The console is always saved to `target/scenarios/<name>/console.log`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::build::{ARCHES, Profile};
use crate::conf::Conf;
use crate::cpio::Archive;
use crate::image::{add_tree, gzip, write_file};
use crate::qemu::{Boot, End, KillOnDrop, Outcome, QemuConf, Trigger, captured};
use crate::setup::{BUSYBOX, Guest, Kernel};
use crate::util::{Context, Result, display_cmd, err, progress, project_root, tail, target_dir};

/// The guest's verdict lines.
pub(crate) const PASS: &str = "rs6-test: PASS";
/// See [`PASS`].
pub(crate) const FAIL: &str = "rs6-test: FAIL";
/// A guest line `rs6-test: metric NAME VALUE` is repeated in the scenario's result line.
pub(crate) const METRIC: &str = "rs6-test: metric ";
/// Files of a scenario directory that stay on the host.
const HOST_ONLY: &[&str] = &["expect", "scenario.conf"];
/// The directory of a `disk = N rootfs` scenario laid over the disk's `/`.
const ROOTFS_OVERLAY: &str = "rootfs";
/// Console lines printed when a scenario fails.
const TAIL: usize = 40;
/// Lines of a failed host check's output printed.
const CHECK_TAIL: usize = 30;
/// A host check is killed after this long.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest `disk` size in MiB.
const DISK_MAX_MB: u64 = 4096;

/// How a `disk` is prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DiskFormat {
    /// `mkfs.ext4` on the host.
    Ext4,
    /// Zeros (a sparse file).
    Raw,
    /// `mkfs.ext4 -d` of a busybox root file system with rs6 installed as the init.
    Rootfs,
}

/// `disk = SIZE_MB ext4|raw|rootfs`: a fresh `target/scenarios/<name>/disk.img` per run,
/// the guest's `/dev/vda`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Disk {
    /// Size in MiB.
    pub(crate) size_mb: u64,
    /// What is on it.
    pub(crate) format: DiskFormat,
}

impl Disk {
    /// Parses `SIZE_MB ext4` or `SIZE_MB raw`.
    pub(crate) fn parse(s: &str) -> Result<Disk> {
        let bad = || {
            err(format!(
                "`disk = {s}`: expected `SIZE_MB ext4`, `SIZE_MB raw` or `SIZE_MB rootfs`"
            ))
        };
        let w: Vec<&str> = s.split_whitespace().collect();
        let [size, format] = w.as_slice() else {
            return Err(bad());
        };
        let size_mb: u64 = size.parse().map_err(|_| bad())?;
        if size_mb == 0 || size_mb > DISK_MAX_MB {
            return Err(err(format!(
                "`disk = {s}`: size must be 1 to {DISK_MAX_MB} MiB"
            )));
        }
        let format = match *format {
            "ext4" => DiskFormat::Ext4,
            "raw" => DiskFormat::Raw,
            "rootfs" => DiskFormat::Rootfs,
            _ => return Err(bad()),
        };
        Ok(Disk { size_mb, format })
    }

    /// Makes `path` afresh: a sparse file of the size, then the file system (for a root
    /// file system disk, with the contents of the directory `tree`).
    fn create(&self, path: &Path, tree: Option<&Path>) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
        }
        let _ = std::fs::remove_file(path);
        let f = std::fs::File::create(path).ctx(|| format!("creating {}", path.display()))?;
        f.set_len(self.size_mb << 20)
            .ctx(|| format!("sizing {}", path.display()))?;
        drop(f);
        if self.format != DiskFormat::Raw {
            // Inode tables and journal written now, so the kernel's lazy-init thread does
            // not write to the disk behind the scenario's back.
            let mut cmd = Command::new(host_tool("mkfs.ext4"));
            cmd.args(["-F", "-q", "-L", "rs6-test", "-E"])
                .arg("lazy_itable_init=0,lazy_journal_init=0");
            if let Some(t) = tree {
                // -d: the tree's files, modes, symlinks (and owners: the caller's uid).
                cmd.arg("-d").arg(t);
            }
            cmd.arg(path).stdin(Stdio::null());
            let out = cmd
                .output()
                .ctx(|| "running mkfs.ext4 (run `cargo xtask setup`: e2fsprogs)")?;
            if !out.status.success() {
                return Err(err(format!(
                    "`{}` failed: {}\n{}",
                    display_cmd(&cmd),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim_end()
                )));
            }
        }
        Ok(())
    }
}

/// `exit_within = TEXT => SECONDS`: QEMU must end at most SECONDS after the first console
/// line containing TEXT.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExitWithin {
    /// The console text that starts the clock.
    pub(crate) text: String,
    /// The limit.
    pub(crate) limit: Duration,
}

impl ExitWithin {
    /// Parses `TEXT => SECONDS` (SECONDS may have a fraction).
    pub(crate) fn parse(s: &str) -> Result<ExitWithin> {
        let bad = || {
            err(format!(
                "`exit_within = {s}`: expected `CONSOLE TEXT => SECONDS`"
            ))
        };
        let (text, secs) = s.rsplit_once("=>").ok_or_else(bad)?;
        let (text, secs) = (text.trim(), secs.trim());
        let secs: f64 = secs.parse().map_err(|_| bad())?;
        if text.is_empty() || !secs.is_finite() || secs <= 0.0 || secs > 3600.0 {
            return Err(bad());
        }
        Ok(ExitWithin {
            text: text.to_string(),
            limit: Duration::from_secs_f64(secs),
        })
    }

    /// How long after the text QEMU ended, or why that is not within the limit.
    pub(crate) fn check(&self, o: &Outcome) -> Result<Duration, String> {
        let at = o
            .first(&self.text)
            .ok_or_else(|| format!("exit_within: `{}` never came", self.text))?;
        let took = o.elapsed.saturating_sub(at);
        if took > self.limit {
            return Err(format!(
                "QEMU ended {:.1}s after `{}` (limit {:.1}s)",
                took.as_secs_f64(),
                self.text,
                self.limit.as_secs_f64()
            ));
        }
        Ok(took)
    }
}

/// What a scenario expects beyond its `expect` lines.
#[derive(Debug, Clone)]
pub(crate) struct Expect {
    /// The `expect` file's lines.
    pub(crate) lines: Vec<String>,
    /// `end`.
    pub(crate) end: End,
    /// `exit_within` (repeatable).
    pub(crate) exit_within: Vec<ExitWithin>,
}

/// One scenario, loaded.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// Directory name, e.g. `1000-boot-poweroff`.
    pub(crate) name: String,
    dir: PathBuf,
    expect: Expect,
    image: String,
    timeout: Duration,
    memory: Option<u64>,
    cmdline: String,
    qemu_args: Vec<String>,
    triggers: Vec<Trigger>,
    disk: Option<Disk>,
    host_check: Option<String>,
    /// The architectures it runs on (`arch`, default x86_64 only).
    pub(crate) arches: Vec<String>,
    /// `timeout_aarch64`: the limit under aarch64 emulation (default 3 × `timeout`).
    timeout_aarch64: Duration,
}

/// One boot of a scenario: the scenario and the architecture.
#[derive(Debug, Clone)]
pub(crate) struct Job<'a> {
    /// The scenario.
    pub(crate) scenario: &'a Scenario,
    /// `x86_64` or `aarch64`.
    pub(crate) arch: String,
}

impl Job<'_> {
    /// `NAME` for the default architecture, `NAME (aarch64)` for others.
    pub(crate) fn label(&self) -> String {
        if self.arch == crate::DEFAULT_ARCH {
            self.scenario.name.clone()
        } else {
            format!("{} ({})", self.scenario.name, self.arch)
        }
    }

    /// `target/scenarios/<name>/` (default architecture), `target/scenarios/<name>-<arch>/`.
    fn out_dir(&self) -> PathBuf {
        let dir = if self.arch == crate::DEFAULT_ARCH {
            self.scenario.name.clone()
        } else {
            format!("{}-{}", self.scenario.name, self.arch)
        };
        target_dir().join("scenarios").join(dir)
    }

    fn timeout(&self) -> Duration {
        if self.arch == "aarch64" {
            self.scenario.timeout_aarch64
        } else {
            self.scenario.timeout
        }
    }
}

/// The boots of `scenarios` on the architectures in `arches`: the aarch64 ones (slowest
/// under emulation) first, so that with one QEMU per core they do not finish last.
pub(crate) fn jobs<'a>(scenarios: &'a [Scenario], arches: &[&str]) -> Vec<Job<'a>> {
    let mut v = Vec::new();
    for arch in arches.iter().rev() {
        for s in scenarios
            .iter()
            .filter(|s| s.arches.iter().any(|a| a == arch))
        {
            v.push(Job {
                scenario: s,
                arch: arch.to_string(),
            });
        }
    }
    v
}

impl Scenario {
    const KEYS: &[&str] = &[
        "image",
        "timeout",
        "memory",
        "cmdline",
        "qemu_args",
        "on_console",
        "disk",
        "host_check",
        "end",
        "exit_within",
        "arch",
        "timeout_aarch64",
    ];

    fn load(dir: PathBuf) -> Result<Scenario> {
        let name = dir
            .file_name()
            .expect("a directory entry")
            .to_string_lossy()
            .into_owned();
        let guest = std::fs::read(dir.join("guest.sh")).ctx(|| "reading guest.sh")?;
        if !guest.starts_with(b"#!") {
            return Err(err(
                "guest.sh must start with `#!/bin/sh` (rs6-init execs it)",
            ));
        }
        let expect = std::fs::read_to_string(dir.join("expect")).ctx(|| "reading expect")?;
        let c = Conf::load(&dir.join("scenario.conf"), Self::KEYS, true)?;
        let host_check = c.get("host_check").map(str::to_string);
        if let Some(h) = &host_check {
            check_host_script(&dir, h)?;
        }
        let arches = match c.words("arch") {
            w if w.is_empty() => vec![crate::DEFAULT_ARCH.to_string()],
            w => w,
        };
        for a in &arches {
            if !ARCHES.contains(&a.as_str()) {
                return Err(err(format!(
                    "`arch = {a}`: unknown (known: {})",
                    ARCHES.join(" ")
                )));
            }
        }
        let timeout = c.number("timeout", 60)?;
        Ok(Scenario {
            arches,
            timeout_aarch64: Duration::from_secs(c.number("timeout_aarch64", 3 * timeout)?),
            expect: Expect {
                lines: parse_expect(&expect),
                end: c
                    .get("end")
                    .map(End::parse)
                    .transpose()?
                    .unwrap_or(End::Poweroff),
                exit_within: c
                    .all("exit_within")
                    .map(ExitWithin::parse)
                    .collect::<Result<_>>()?,
            },
            image: c.get("image").unwrap_or("minimal").to_string(),
            timeout: Duration::from_secs(timeout),
            memory: c.get("memory").map(|_| c.number("memory", 0)).transpose()?,
            cmdline: c.all("cmdline").collect::<Vec<_>>().join(" "),
            qemu_args: c.words("qemu_args"),
            triggers: c
                .all("on_console")
                .map(Trigger::parse)
                .collect::<Result<_>>()?,
            disk: c.get("disk").map(Disk::parse).transpose()?,
            host_check,
            name,
            dir,
        })
    }

    /// Files of the scenario directory that do not go under the guest's `/scenario/`.
    fn host_only(&self) -> Vec<&str> {
        let mut v = HOST_ONLY.to_vec();
        if let Some(h) = &self.host_check {
            v.push(h.as_str());
        }
        if self.rootfs_disk() {
            v.push(ROOTFS_OVERLAY);
        }
        v
    }

    /// Whether the disk is a root file system (`disk = N rootfs`).
    fn rootfs_disk(&self) -> bool {
        self.disk.is_some_and(|d| d.format == DiskFormat::Rootfs)
    }

    /// The scenario files in an archive, under `scenario/`.
    fn files(&self) -> Result<Archive> {
        let mut a = Archive::new();
        add_tree(&mut a, &self.dir, "scenario", &self.host_only())?;
        a.file(
            "scenario/guest.sh",
            0o755,
            std::fs::read(self.dir.join("guest.sh")).ctx(|| "reading guest.sh")?,
        );
        Ok(a)
    }
}

/// Lays out, in the empty directory `tree`, the root file system of a `disk = N rootfs`
/// scenario for `arch`: the base directories, busybox-static and its applet links, rs6
/// installed as by `cargo xtask install --init`, the scenario's files under `/scenario/`,
/// then its `rootfs/` directory over `/`.
fn rootfs_tree(s: &Scenario, arch: &str, tree: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if tree.exists() {
        std::fs::remove_dir_all(tree).ctx(|| format!("removing {}", tree.display()))?;
    }
    let mode = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m))
            .ctx(|| format!("chmod {}", p.display()))
    };
    for (d, m) in [
        ("bin", 0o755),
        ("sbin", 0o755),
        ("dev", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("run", 0o755),
        ("etc", 0o755),
        ("lib", 0o755),
        ("mnt", 0o755),
        ("var/log", 0o755),
        ("tmp", 0o1777),
        ("root", 0o700),
    ] {
        let p = tree.join(d);
        std::fs::create_dir_all(&p).ctx(|| format!("creating {}", p.display()))?;
        mode(&p, m)?;
    }
    let bb = Guest::of(arch)?.busybox();
    std::fs::copy(&bb, tree.join("bin/busybox")).ctx(|| format!("copying {}", bb.display()))?;
    mode(&tree.join("bin/busybox"), 0o755)?;
    let list = crate::util::read(Command::new(BUSYBOX).arg("--list-full"))?;
    for applet in list.lines().map(str::trim) {
        if applet.is_empty() || applet == "bin/busybox" {
            continue;
        }
        let p = tree.join(applet);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
        }
        std::os::unix::fs::symlink(BUSYBOX, &p).ctx(|| format!("symlink {}", p.display()))?;
    }
    let items = crate::install::manifest(&Profile::Release.dir_for(arch), true)?;
    crate::install::apply(tree, &items)?;
    s.files()?.extract(tree)?;
    let overlay = s.dir.join(ROOTFS_OVERLAY);
    if overlay.is_dir() {
        let mut a = Archive::new();
        add_tree(&mut a, &overlay, "", &[])?;
        a.extract(tree)?;
    }
    Ok(())
}

/// Every scenario under `tests/scenarios/` whose name contains `filter`, sorted by name:
/// those that loaded, and a failed [`Report`] for each that did not (a broken scenario
/// fails, it does not stop the run).
pub(crate) fn load_all(filter: Option<&str>) -> Result<(Vec<Scenario>, Vec<Report>)> {
    let root = project_root().join("tests/scenarios");
    let mut dirs = Vec::new();
    for e in std::fs::read_dir(&root).ctx(|| format!("reading {}", root.display()))? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() && filter.is_none_or(|f| name.contains(f)) {
            dirs.push(e.path());
        }
    }
    dirs.sort();
    let (mut ok, mut broken) = (Vec::new(), Vec::new());
    for d in dirs {
        let name = d
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match Scenario::load(d) {
            Ok(s) => ok.push(s),
            Err(e) => broken.push(Report {
                name,
                result: Err(e.to_string()),
            }),
        }
    }
    Ok((ok, broken))
}

/// The non-empty lines of an `expect` file (trailing whitespace dropped).
fn parse_expect(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// A `host_check` must name an executable file directly in the scenario directory.
fn check_host_script(dir: &Path, name: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(err(format!(
            "`host_check = {name}`: name a file of the scenario directory"
        )));
    }
    let meta = std::fs::metadata(dir.join(name)).ctx(|| format!("host_check {name}"))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(err(format!(
            "host_check {name}: not an executable file (chmod +x)"
        )));
    }
    Ok(())
}

/// A host program in PATH, or in /usr/sbin or /sbin (not in a user's PATH on Debian).
fn host_tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/sbin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// Runs the `host_check` script: cwd the scenario directory, env `DISK` (the disk image,
/// empty without one) and `CONSOLE` (console.log), PATH extended with the sbin
/// directories (debugfs, e2fsck); stdout and stderr go to `out/host_check.log`. Ok with
/// its output when it exits 0; Err with why and the output's tail otherwise.
fn run_host_check(
    dir: &Path,
    script: &str,
    disk: Option<&Path>,
    console: &Path,
    log: &Path,
) -> Result<String, (String, String)> {
    let fail = |why: String| (why, String::new());
    let out = std::fs::File::create(log).map_err(|e| fail(format!("{}: {e}", log.display())))?;
    let out2 = out
        .try_clone()
        .map_err(|e| fail(format!("{}: {e}", log.display())))?;
    let path = std::env::var("PATH").unwrap_or_default();
    let mut cmd = Command::new(dir.join(script));
    cmd.current_dir(dir)
        .env("DISK", disk.map(Path::as_os_str).unwrap_or_default())
        .env("CONSOLE", console)
        .env("PATH", format!("{path}:/usr/sbin:/sbin"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(out2);
    let mut child = KillOnDrop(
        cmd.spawn()
            .map_err(|e| fail(format!("host check {script}: cannot run: {e}")))?,
    );
    let deadline = Instant::now() + CHECK_TIMEOUT;
    let status = loop {
        match child.0.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(fail(format!("host check {script}: {e}"))),
        }
    };
    drop(child);
    let text = std::fs::read_to_string(log).unwrap_or_default();
    match status {
        Some(s) if s.success() => Ok(text),
        Some(s) => {
            let last = text.lines().last().unwrap_or("").trim();
            Err((format!("host check {script} failed ({s}): {last}"), text))
        }
        None => Err((
            format!(
                "host check {script} killed after {}s",
                CHECK_TIMEOUT.as_secs()
            ),
            text,
        )),
    }
}

/// The `rs6-test: metric NAME VALUE` lines, as `NAME VALUE`.
pub(crate) fn metrics(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.split_once(METRIC).map(|(_, m)| m.trim().to_string()))
        .filter(|m| !m.is_empty())
        .collect()
}

/// Subsequence matching: each expect line must be a substring of a console line after the
/// one that matched the previous expect line. Err names the first expect line not found.
pub(crate) fn match_expect(lines: &[String], expect: &[String]) -> Result<(), String> {
    let mut at = 0;
    for (i, want) in expect.iter().enumerate() {
        match lines[at..].iter().position(|l| l.contains(want.as_str())) {
            Some(p) => at += p + 1,
            None => {
                return Err(format!(
                    "expect line {} `{want}` not found{}",
                    i + 1,
                    if i == 0 {
                        String::new()
                    } else {
                        format!(" after `{}`", expect[i - 1])
                    }
                ));
            }
        }
    }
    Ok(())
}

/// The harness's verdict on a finished boot: Ok with notes for the result line (how long
/// after each `exit_within` text QEMU ended), or every reason it failed.
pub(crate) fn verdict(o: &Outcome, expect: &Expect) -> Result<Vec<String>, String> {
    let mut why = Vec::new();
    let mut notes = Vec::new();
    if let Some(l) = o.lines.iter().find(|l| l.contains(FAIL)) {
        why.push(format!("guest said `{}`", l.trim()));
    }
    if let Err(e) = match_expect(&o.lines, &expect.lines) {
        why.push(e);
    }
    if !o.lines.iter().any(|l| l.contains(PASS)) {
        why.push(format!("no `{PASS}` line"));
    }
    if let Err(e) = o.ended(expect.end) {
        why.push(e);
    }
    for w in &expect.exit_within {
        match w.check(o) {
            Ok(t) => notes.push(format!(
                "ended {:.1}s after `{}` (limit {:.1}s)",
                t.as_secs_f64(),
                w.text,
                w.limit.as_secs_f64()
            )),
            Err(e) => why.push(e),
        }
    }
    if why.is_empty() {
        Ok(notes)
    } else {
        Err(why.join("; "))
    }
}

/// One scenario's result.
#[derive(Debug)]
pub(crate) struct Report {
    /// Scenario name.
    pub(crate) name: String,
    /// Ok or why it failed (the console tail was printed when it finished).
    pub(crate) result: Result<(), String>,
}

/// A built base image: its gzip'd bytes, or why it could not be built.
type Built = Arc<Result<Vec<u8>, String>>;

/// Base images, built once per (name, architecture) per run.
struct Images {
    kernels: Vec<Kernel>,
    built: Mutex<HashMap<(String, String), Built>>,
}

impl Images {
    fn kernel(&self, arch: &str) -> Result<&Kernel> {
        self.kernels
            .iter()
            .find(|k| k.arch == arch)
            .ok_or_else(|| err(format!("no {arch} kernel set up")))
    }

    fn get(&self, name: &str, arch: &str) -> Result<Built> {
        let kernel = self.kernel(arch)?;
        let mut built = self.built.lock().map_err(|_| err("image cache poisoned"))?;
        let key = (name.to_string(), arch.to_string());
        if let Some(b) = built.get(&key) {
            return Ok(b.clone());
        }
        let b = Arc::new(
            crate::image::image(name, kernel)
                .and_then(|(a, _)| gzip(&a))
                .map_err(|e| e.to_string()),
        );
        built.insert(key, b.clone());
        Ok(b)
    }
}

/// Builds the scenario's initramfs (and disk), boots it, judges it, saves the console.
fn run_one(j: &Job, images: &Images, qemu: &QemuConf, kvm: bool) -> Result<(), String> {
    let s = j.scenario;
    let base = images.get(&s.image, &j.arch).map_err(|e| e.to_string())?;
    let base = base
        .as_ref()
        .as_ref()
        .map_err(|e| format!("image {}: {e}", s.image))?;
    let out = j.out_dir();
    let mut initrd = base.clone();
    if !s.rootfs_disk() {
        // The scenario files go in the initramfs (a root file system disk has them).
        initrd.extend(gzip(&s.files().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?);
    }
    let initrd_path = out.join("initrd.cpio.gz");
    write_file(&initrd_path, &initrd).map_err(|e| e.to_string())?;
    let disk = out.join("disk.img");
    let _ = std::fs::remove_file(&disk);
    if let Some(d) = &s.disk {
        let tree = out.join("rootfs");
        let tree = if s.rootfs_disk() {
            rootfs_tree(s, &j.arch, &tree).map_err(|e| format!("disk tree: {e}"))?;
            Some(tree.as_path())
        } else {
            None
        };
        d.create(&disk, tree).map_err(|e| format!("disk: {e}"))?;
    }
    let boot = Boot {
        kernel: images.kernel(&j.arch).map_err(|e| e.to_string())?.clone(),
        initrd: initrd_path,
        cmdline: format!("rs6.script=/scenario/guest.sh {}", s.cmdline)
            .trim_end()
            .to_string(),
        memory: s.memory,
        kvm,
        extra_args: s.qemu_args.clone(),
        monitor: (!s.triggers.is_empty()).then(|| out.join("monitor.sock")),
        drives: s.disk.map(|_| disk.clone()).into_iter().collect(),
    };
    let o = captured(
        qemu,
        &boot,
        j.timeout(),
        false,
        &s.triggers,
        s.expect.end.stop_text(),
    )
    .map_err(|e| e.to_string())?;
    let log = out.join("console.log");
    let _ = write_file(&log, (o.lines.join("\n") + "\n").as_bytes());
    let secs = o.elapsed.as_secs_f64();
    let mut result = verdict(&o, &s.expect);
    let mut check_output = None;
    if let Some(h) = &s.host_check {
        let disk = s.disk.map(|_| disk.as_path());
        match run_host_check(&s.dir, h, disk, &log, &out.join("host_check.log")) {
            Ok(_) => {}
            Err((why, text)) => {
                result = Err(match result {
                    Ok(_) => why,
                    Err(before) => format!("{before}; {why}"),
                });
                check_output = Some(text);
            }
        }
    }
    let rel = |p: &Path| {
        p.strip_prefix(project_root())
            .unwrap_or(p)
            .display()
            .to_string()
    };
    let label = j.label();
    match result {
        Ok(notes) => {
            let mut extra: Vec<String> = notes;
            extra.extend(metrics(&o.lines).into_iter().map(|m| format!("metric {m}")));
            let extra = if extra.is_empty() {
                String::new()
            } else {
                format!("; {}", extra.join("; "))
            };
            progress(format!("scenario {label}: ok ({secs:.1}s{extra})"));
            Ok(())
        }
        Err(why) => {
            let mut report = format!(
                "scenario {label}: FAILED ({secs:.1}s): {why}\n--- last {TAIL} console lines ({}) ---\n{}\n---",
                rel(&log),
                tail(&o.lines, TAIL)
            );
            if let Some(text) = check_output {
                let lines: Vec<String> = text.lines().map(str::to_string).collect();
                report.push_str(&format!(
                    "\n--- host check output, last {CHECK_TAIL} lines ({}) ---\n{}\n---",
                    rel(&out.join("host_check.log")),
                    tail(&lines, CHECK_TAIL)
                ));
            }
            progress(report);
            Err(why)
        }
    }
}

/// Runs `jobs` in parallel, one QEMU per core, in the order given; reports in that order.
/// `kernels` has one kernel per architecture of the jobs.
pub(crate) fn run_all(jobs: &[Job], kernels: &[Kernel], kvm: bool) -> Vec<Report> {
    let images = Images {
        kernels: kernels.to_vec(),
        built: Mutex::new(HashMap::new()),
    };
    let mut confs: HashMap<String, Result<QemuConf, String>> = HashMap::new();
    for j in jobs {
        confs
            .entry(j.arch.clone())
            .or_insert_with(|| QemuConf::load(&j.arch).map_err(|e| e.to_string()));
    }
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(jobs.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<(), String>>>> =
        Mutex::new(jobs.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(j) = jobs.get(i) else { return };
                    let r = match &confs[&j.arch] {
                        Ok(q) => run_one(j, &images, q, kvm),
                        Err(e) => Err(e.clone()),
                    };
                    results.lock().expect("no panics while holding it")[i] = Some(r);
                }
            });
        }
    });
    let results = results.into_inner().expect("workers joined");
    jobs.iter()
        .zip(results)
        .map(|(j, r)| Report {
            name: j.label(),
            result: r.unwrap_or_else(|| Err("not run".into())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn expect_is_an_ordered_subsequence_of_substrings() {
        let console = lines(&["boot", "rs6: minimal image up", "6.1.0-48-amd64", "bye"]);
        assert!(match_expect(&console, &lines(&["minimal image", "bye"])).is_ok());
        assert!(match_expect(&console, &[]).is_ok());
        let e = match_expect(&console, &lines(&["bye", "minimal"])).unwrap_err();
        assert_eq!(e, "expect line 2 `minimal` not found after `bye`");
        let e = match_expect(&console, &lines(&["nope"])).unwrap_err();
        assert_eq!(e, "expect line 1 `nope` not found");
        // One console line satisfies one expect line only.
        assert!(match_expect(&console, &lines(&["bye", "bye"])).is_err());
    }

    #[test]
    fn expect_file_parsing() {
        assert_eq!(parse_expect("a b  \n\n# c\n"), ["a b", "# c"]);
    }

    fn outcome(l: &[&str], code: Option<i32>) -> Outcome {
        Outcome {
            lines: lines(l),
            times: (0..l.len() as u64).map(Duration::from_secs).collect(),
            status: code.map(|c| ExitStatus::from_raw(c << 8)),
            stopped: false,
            elapsed: Duration::from_secs(l.len() as u64),
        }
    }

    fn exp(l: &[&str]) -> Expect {
        Expect {
            lines: lines(l),
            end: End::Poweroff,
            exit_within: vec![],
        }
    }

    #[test]
    fn verdicts() {
        let ok = ["hello", "rs6-test: PASS x", "reboot: Power down"];
        assert!(verdict(&outcome(&ok, Some(0)), &exp(&["hello"])).is_ok());
        let e = verdict(&outcome(&ok, None), &exp(&[])).unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        let e = verdict(&outcome(&ok[1..], Some(0)), &exp(&["hello"])).unwrap_err();
        assert!(e.contains("`hello` not found"), "{e}");
        let e = verdict(
            &outcome(&["rs6-test: FAIL x: why", ok[1], ok[2]], Some(0)),
            &exp(&[]),
        )
        .unwrap_err();
        assert!(e.contains("guest said `rs6-test: FAIL x: why`"), "{e}");
        let e = verdict(&outcome(&["hello", ok[2]], Some(0)), &exp(&[])).unwrap_err();
        assert!(e.contains("no `rs6-test: PASS` line"), "{e}");
        let e = verdict(&outcome(&ok[..2], Some(0)), &exp(&[])).unwrap_err();
        assert!(e.contains("Power down"), "{e}");
    }

    #[test]
    fn verdicts_with_end_and_exit_within() {
        let reboot = [
            "rs6-test: PASS x",
            "going down",
            "reboot: Restarting system",
        ];
        let mut e = exp(&[]);
        e.end = End::Reboot;
        assert!(verdict(&outcome(&reboot, Some(0)), &e).is_ok());
        let why = verdict(&outcome(&reboot, Some(0)), &exp(&[])).unwrap_err();
        assert!(why.contains("without `reboot: Power down`"), "{why}");
        // Lines arrive at 0 s, 1 s, 2 s; QEMU ends at 3 s: 2 s after `going down`.
        e.exit_within = vec![ExitWithin::parse("going down => 2.5").unwrap()];
        let notes = verdict(&outcome(&reboot, Some(0)), &e).unwrap();
        assert_eq!(
            notes,
            ["ended 2.0s after `going down` (limit 2.5s)".to_string()]
        );
        e.exit_within = vec![ExitWithin::parse("going down => 1.5").unwrap()];
        let why = verdict(&outcome(&reboot, Some(0)), &e).unwrap_err();
        assert!(
            why.contains("QEMU ended 2.0s after `going down` (limit 1.5s)"),
            "{why}"
        );
        e.exit_within = vec![ExitWithin::parse("never => 9").unwrap()];
        let why = verdict(&outcome(&reboot, Some(0)), &e).unwrap_err();
        assert!(why.contains("`never` never came"), "{why}");
    }

    #[test]
    fn disk_settings() {
        assert_eq!(
            Disk::parse("32 ext4").unwrap(),
            Disk {
                size_mb: 32,
                format: DiskFormat::Ext4
            }
        );
        assert_eq!(Disk::parse(" 1   raw ").unwrap().format, DiskFormat::Raw);
        assert_eq!(Disk::parse("64 rootfs").unwrap().format, DiskFormat::Rootfs);
        for bad in [
            "",
            "32",
            "ext4 32",
            "32 xfs",
            "0 raw",
            "99999 raw",
            "32 ext4 x",
        ] {
            assert!(Disk::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exit_within_settings() {
        let w = ExitWithin::parse("rs6-shutdown: info: poweroff => 5").unwrap();
        assert_eq!(w.text, "rs6-shutdown: info: poweroff");
        assert_eq!(w.limit, Duration::from_secs(5));
        // The last `=>` separates: the text may contain one.
        let w = ExitWithin::parse("a => b => 0.5").unwrap();
        assert_eq!(w.text, "a => b");
        assert_eq!(w.limit, Duration::from_millis(500));
        for bad in [
            "no arrow",
            " => 5",
            "x => soon",
            "x => 0",
            "x => -1",
            "x => inf",
        ] {
            assert!(ExitWithin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metric_lines() {
        let l = lines(&[
            "rs6-test: metric boot_to_ready_ms 1234",
            "noise",
            "[ 1.0] rs6-test: metric x 1 ",
            "rs6-test: metric ",
        ]);
        assert_eq!(metrics(&l), ["boot_to_ready_ms 1234", "x 1"]);
    }

    /// A scenario directory under target/ for load tests (one root per test: they run in
    /// parallel and clean up after themselves).
    fn scratch(name: &str, conf: &str) -> PathBuf {
        let dir = target_dir().join("xtask-test-scenarios").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("guest.sh"), "#!/bin/sh\n").unwrap();
        std::fs::write(dir.join("expect"), "x\n").unwrap();
        std::fs::write(dir.join("scenario.conf"), conf).unwrap();
        dir
    }

    fn script(dir: &Path, name: &str, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn scenario_conf_new_keys() {
        let dir = scratch(
            "keys",
            "disk = 16 ext4\nhost_check = check.sh\nend = halt\n\
             exit_within = bye => 4\nexit_within = ciao => 5\n",
        );
        script(&dir, "check.sh", "#!/bin/sh\nexit 0\n");
        let s = Scenario::load(dir.clone()).unwrap();
        assert_eq!(
            s.disk,
            Some(Disk {
                size_mb: 16,
                format: DiskFormat::Ext4
            })
        );
        assert_eq!(s.host_check.as_deref(), Some("check.sh"));
        assert_eq!(s.expect.end, End::Halt);
        assert_eq!(s.expect.exit_within.len(), 2);
        assert!(s.host_only().contains(&"check.sh"));
        // Defaults.
        let d = scratch("defaults", "");
        let s = Scenario::load(d).unwrap();
        assert_eq!((s.disk, s.expect.end), (None, End::Poweroff));
        assert!(s.host_check.is_none() && s.expect.exit_within.is_empty());
        // Errors.
        for (i, bad) in [
            "end = shutdown\n",
            "disk = big\n",
            "host_check = missing.sh\n",
            "host_check = ../check.sh\n",
            "host_check = data\n",
            "exit_within = x\n",
        ]
        .iter()
        .enumerate()
        {
            let d = scratch(&format!("bad{i}"), bad);
            std::fs::write(d.join("data"), "not executable").unwrap();
            assert!(Scenario::load(d).is_err(), "{bad}");
        }
        for d in [
            "keys", "defaults", "bad0", "bad1", "bad2", "bad3", "bad4", "bad5",
        ] {
            let _ = std::fs::remove_dir_all(target_dir().join("xtask-test-scenarios").join(d));
        }
    }

    #[test]
    fn arches_and_jobs() {
        let both = scratch("arch-both", "arch = x86_64 aarch64\ntimeout = 20\n");
        let one = scratch("arch-default", "timeout_aarch64 = 7\n");
        let s = vec![
            Scenario::load(both.clone()).unwrap(),
            Scenario::load(one.clone()).unwrap(),
        ];
        assert_eq!(s[0].arches, ["x86_64", "aarch64"]);
        assert_eq!(s[1].arches, ["x86_64"]);
        let j = jobs(&s, ARCHES);
        let labels: Vec<String> = j.iter().map(Job::label).collect();
        // The aarch64 boots first: they are the slow ones.
        assert_eq!(labels, ["arch-both (aarch64)", "arch-both", "arch-default"]);
        assert_eq!(j[0].timeout(), Duration::from_secs(60), "3 × timeout");
        assert!(j[0].out_dir().ends_with("scenarios/arch-both-aarch64"));
        assert!(j[1].out_dir().ends_with("scenarios/arch-both"));
        assert_eq!(jobs(&s, &["x86_64"]).len(), 2);
        assert_eq!(jobs(&s, &["aarch64"]).len(), 1);
        let bad = scratch("arch-bad", "arch = x86_64 riscv64\n");
        assert!(Scenario::load(bad.clone()).is_err());
        for d in [both, one, bad] {
            let _ = std::fs::remove_dir_all(d);
        }
    }

    #[test]
    fn rootfs_disk_keeps_its_overlay_out_of_scenario() {
        let d = scratch("rootfs-disk", "disk = 16 rootfs\n");
        std::fs::create_dir_all(d.join("rootfs/etc")).unwrap();
        std::fs::write(d.join("rootfs/etc/hostname"), "x\n").unwrap();
        std::fs::write(d.join("data"), "y").unwrap();
        let s = Scenario::load(d.clone()).unwrap();
        assert!(s.rootfs_disk());
        let a = s.files().unwrap();
        assert!(a.contains("scenario/guest.sh") && a.contains("scenario/data"));
        assert!(!a.contains("scenario/rootfs") && !a.contains("scenario/expect"));
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn host_check_runs_with_env_and_reports() {
        let dir = scratch("hostcheck", "");
        script(
            &dir,
            "ok.sh",
            "#!/bin/sh\necho \"disk=$DISK console=$CONSOLE cwd=$(basename \"$PWD\")\"\n",
        );
        script(
            &dir,
            "bad.sh",
            "#!/bin/sh\necho one\necho two >&2\nexit 3\n",
        );
        let log = dir.join("out.log");
        let out = run_host_check(
            &dir,
            "ok.sh",
            Some(Path::new("/d.img")),
            Path::new("/c.log"),
            &log,
        )
        .unwrap();
        assert_eq!(out, "disk=/d.img console=/c.log cwd=hostcheck\n");
        let (why, text) =
            run_host_check(&dir, "bad.sh", None, Path::new("/c.log"), &log).unwrap_err();
        assert!(why.contains("host check bad.sh failed"), "{why}");
        assert!(why.ends_with(": two"), "{why}");
        assert_eq!(text, "one\ntwo\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn raw_disk_is_sparse_and_sized() {
        let p = target_dir().join("xtask-test-disk/raw.img");
        Disk {
            size_mb: 3,
            format: DiskFormat::Raw,
        }
        .create(&p, None)
        .unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 3 << 20);
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }

    #[test]
    fn scenarios_in_the_tree_load() {
        let (all, broken) = load_all(None).unwrap();
        assert!(broken.is_empty(), "{broken:?}");
        assert!(all.iter().any(|s| s.name == "1000-boot-poweroff"));
        for s in &all {
            assert!(
                s.name.as_bytes()[..4].iter().all(u8::is_ascii_digit),
                "{}",
                s.name
            );
            assert!(!s.expect.lines.is_empty(), "{}: empty expect", s.name);
        }
        assert!(load_all(Some("no-such-scenario")).unwrap().0.is_empty());
    }
}
