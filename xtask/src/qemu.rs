//! The QEMU harness: the command line from `qemu/<arch>.conf` plus a [`Boot`] request,
//! and two ways to run it. [`interactive`] hands the terminal to the guest console
//! (`-serial mon:stdio`, Ctrl-A X quits). [`captured`] pipes the serial console, collects it
//! line by line (optionally echoing), enforces a timeout, and always reaps QEMU: the child is
//! held by a kill-on-drop guard that kills exactly the pid it spawned.
//!
//! A boot may ask for a monitor socket (`-monitor unix:PATH`); [`Trigger`]s then send a
//! monitor command (for example `sendkey ctrl-alt-delete`) when a console line contains a
//! given text. A boot may attach raw disk images as virtio disks (`/dev/vda`, ...).
//!
//! How a guest ends is an [`End`]: power-off and reboot make QEMU exit (`-no-reboot`);
//! a halted guest keeps QEMU running, so [`captured`] can stop (kill) QEMU when a given
//! console line comes. Each console line is timestamped on arrival, so a caller can tell
//! how long after a given line QEMU ended.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::conf::Conf;
use crate::setup::Kernel;
use crate::util::{Context, Result, echo_cmd, err, project_root};

/// What the kernel prints (at emergency level, so even with `quiet`) on a power-off.
pub(crate) const POWER_OFF: &str = "reboot: Power down";
/// What the kernel prints on a reboot.
pub(crate) const RESTART: &str = "reboot: Restarting system";
/// What the kernel prints on a halt (QEMU then keeps running, CPUs stopped).
pub(crate) const HALTED: &str = "reboot: System halted";
/// What the kernel prints when it panics (then, with panic=-1 and -no-reboot, QEMU exits 0).
pub(crate) const PANIC: &str = "Kernel panic";

/// `qemu/<arch>.conf`.
#[derive(Debug, Clone)]
pub(crate) struct QemuConf {
    binary: String,
    machine: String,
    memory: u64,
    accel: String,
    args: Vec<String>,
    cmdline: String,
}

impl QemuConf {
    const KEYS: &[&str] = &["binary", "machine", "memory", "accel", "args", "cmdline"];

    /// Reads `qemu/<arch>.conf`.
    pub(crate) fn load(arch: &str) -> Result<QemuConf> {
        let path = project_root().join("qemu").join(format!("{arch}.conf"));
        let c = Conf::load(&path, Self::KEYS, false)?;
        let need = |k: &str| {
            c.get(k)
                .map(str::to_string)
                .ok_or_else(|| err(format!("{}: `{k}` missing", path.display())))
        };
        Ok(QemuConf {
            binary: need("binary")?,
            machine: need("machine")?,
            memory: c.number("memory", 256)?,
            accel: c.get("accel").unwrap_or("tcg").to_string(),
            args: c.words("args"),
            cmdline: c.get("cmdline").unwrap_or("").to_string(),
        })
    }
}

/// One boot: kernel, initramfs and what differs per run.
#[derive(Debug, Clone)]
pub(crate) struct Boot {
    /// The unpacked Debian kernel.
    pub(crate) kernel: Kernel,
    /// The gzip'd cpio for `-initrd`.
    pub(crate) initrd: PathBuf,
    /// Appended to the conf's kernel command line (`rs6.script=...`, image extras).
    pub(crate) cmdline: String,
    /// Overrides the conf's memory (MiB).
    pub(crate) memory: Option<u64>,
    /// `-accel kvm` instead of the conf's accelerator.
    pub(crate) kvm: bool,
    /// Extra QEMU arguments (a scenario's `qemu_args`).
    pub(crate) extra_args: Vec<String>,
    /// A unix-socket HMP monitor at this path (else `-monitor none` when captured).
    pub(crate) monitor: Option<PathBuf>,
    /// Raw disk images attached as virtio disks, in order (`/dev/vda`, `/dev/vdb`, ...).
    pub(crate) drives: Vec<PathBuf>,
}

impl Boot {
    /// The full kernel command line.
    fn append(&self, conf: &QemuConf) -> String {
        [conf.cmdline.as_str(), self.cmdline.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The QEMU command line (without spawning).
    pub(crate) fn command(&self, conf: &QemuConf, interactive: bool) -> Command {
        let mut c = Command::new(&conf.binary);
        c.args(["-machine", &conf.machine])
            .args(["-accel", if self.kvm { "kvm" } else { &conf.accel }])
            .args(["-m", &self.memory.unwrap_or(conf.memory).to_string()])
            .args(&conf.args);
        if interactive {
            c.args(["-serial", "mon:stdio"]);
        } else {
            c.args(["-serial", "stdio"]);
            match &self.monitor {
                Some(p) => c
                    .arg("-monitor")
                    .arg(format!("unix:{},server=on,wait=off", p.display())),
                None => c.args(["-monitor", "none"]),
            };
        }
        c.arg("-kernel")
            .arg(&self.kernel.vmlinuz)
            .arg("-initrd")
            .arg(&self.initrd)
            .arg("-append")
            .arg(self.append(conf));
        for d in &self.drives {
            // QEMU's option syntax: a comma in a value is written as two commas.
            let file = d.display().to_string().replace(',', ",,");
            c.arg("-drive")
                .arg(format!("file={file},format=raw,if=virtio"));
        }
        c.args(&self.extra_args);
        c
    }
}

/// Kills and reaps the child if it is still running when dropped (a scenario that times
/// out, or an early return, never leaves QEMU behind). Kills only the pid it spawned.
pub(crate) struct KillOnDrop(pub(crate) Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Sends monitor commands when console lines contain a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trigger {
    /// The console text to wait for.
    pub(crate) when: String,
    /// The HMP command to send then (e.g. `sendkey ctrl-alt-delete`).
    pub(crate) command: String,
}

impl Trigger {
    /// Parses `TEXT => COMMAND`.
    pub(crate) fn parse(s: &str) -> Result<Trigger> {
        let (when, command) = s
            .split_once("=>")
            .ok_or_else(|| err(format!("`{s}`: expected `CONSOLE TEXT => MONITOR COMMAND`")))?;
        let (when, command) = (when.trim(), command.trim());
        if when.is_empty() || command.is_empty() {
            return Err(err(format!("`{s}`: empty text or command")));
        }
        Ok(Trigger {
            when: when.to_string(),
            command: command.to_string(),
        })
    }
}

/// How a guest is expected to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// reboot(RB_POWER_OFF): QEMU exits 0 after [`POWER_OFF`].
    Poweroff,
    /// reboot(RB_AUTOBOOT): with `-no-reboot`, QEMU exits 0 after [`RESTART`].
    Reboot,
    /// reboot(RB_HALT_SYSTEM): [`HALTED`] on the console; QEMU keeps running and the
    /// harness stops it.
    Halt,
}

impl End {
    /// Parses `poweroff`, `reboot` or `halt`.
    pub(crate) fn parse(s: &str) -> Result<End> {
        match s.trim() {
            "poweroff" => Ok(End::Poweroff),
            "reboot" => Ok(End::Reboot),
            "halt" => Ok(End::Halt),
            other => Err(err(format!("`{other}`: expected poweroff, reboot or halt"))),
        }
    }

    /// The kernel's console line for this end.
    pub(crate) fn line(self) -> &'static str {
        match self {
            End::Poweroff => POWER_OFF,
            End::Reboot => RESTART,
            End::Halt => HALTED,
        }
    }

    /// The console text on which [`captured`] must stop QEMU itself (a halted guest).
    pub(crate) fn stop_text(self) -> Option<&'static str> {
        (self == End::Halt).then_some(HALTED)
    }
}

/// Sends one HMP command to the monitor socket at `path` and returns what it answered.
pub(crate) fn monitor_command(path: &Path, command: &str) -> Result<String> {
    let mut s = UnixStream::connect(path).ctx(|| format!("connecting to {}", path.display()))?;
    s.set_read_timeout(Some(Duration::from_millis(500)))?;
    s.write_all(format!("{command}\n").as_bytes())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // The banner, the echo and the answer, up to the second `(qemu)` prompt or a pause.
    while let Ok(n) = s.read(&mut chunk) {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if String::from_utf8_lossy(&buf).matches("(qemu)").count() >= 2 {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// How a captured run ended.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Console lines (serial output, then QEMU's own stderr lines prefixed `qemu: `).
    pub(crate) lines: Vec<String>,
    /// When each line arrived, since QEMU was spawned (same length as `lines`).
    pub(crate) times: Vec<Duration>,
    /// QEMU's exit status, `None` when it was killed (timeout, or the stop text).
    pub(crate) status: Option<ExitStatus>,
    /// QEMU was killed because a console line contained the stop text (not a timeout).
    pub(crate) stopped: bool,
    /// Wall time from spawn to QEMU's exit (or to the kill).
    pub(crate) elapsed: Duration,
}

impl Outcome {
    /// Ok when QEMU exited 0 after a power-off; else why not.
    pub(crate) fn powered_off(&self) -> Result<(), String> {
        self.ended(End::Poweroff)
    }

    /// The kernel's end lines (power-off, restart, halt) that came, for messages.
    fn end_lines(&self) -> String {
        let seen: Vec<&str> = [POWER_OFF, RESTART, HALTED]
            .into_iter()
            .filter(|t| self.lines.iter().any(|l| l.contains(t)))
            .collect();
        if seen.is_empty() {
            "none".into()
        } else {
            seen.iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    /// Ok when the guest ended the `end` way (QEMU exited 0 after the kernel's line, or for
    /// a halt, QEMU was stopped on the halt line); else why not.
    pub(crate) fn ended(&self, end: End) -> Result<(), String> {
        let want = end.line();
        if self.lines.iter().any(|l| l.contains(PANIC)) {
            return Err("the kernel panicked".into());
        }
        match (end, self.status) {
            (End::Halt, _) if self.stopped => Ok(()),
            (_, None) => Err(format!(
                "timed out after {:.0}s (killed QEMU); kernel end lines: {}",
                self.elapsed.as_secs_f64(),
                self.end_lines()
            )),
            (End::Halt, Some(s)) => Err(format!(
                "QEMU exited ({s}) instead of halting; kernel end lines: {}",
                self.end_lines()
            )),
            (_, Some(s)) if !s.success() => Err(format!("QEMU failed: {s}")),
            (_, Some(_)) if !self.lines.iter().any(|l| l.contains(want)) => Err(format!(
                "QEMU exited without `{want}` on the console; kernel end lines: {}",
                self.end_lines()
            )),
            (_, Some(_)) => Ok(()),
        }
    }

    /// When the first console line containing `text` arrived (since spawn).
    pub(crate) fn first(&self, text: &str) -> Option<Duration> {
        self.lines
            .iter()
            .position(|l| l.contains(text))
            .and_then(|i| self.times.get(i).copied())
    }
}

/// Runs QEMU with the terminal as the guest console; returns its exit status.
pub(crate) fn interactive(conf: &QemuConf, boot: &Boot) -> Result<ExitStatus> {
    let mut cmd = boot.command(conf, true);
    echo_cmd(&cmd);
    cmd.status().ctx(|| format!("running {}", conf.binary))
}

/// Runs QEMU with stdin from /dev/null and the console captured, for at most `timeout`.
/// Each console line is printed when `echo`, and fires the matching `triggers` (once each).
/// A console line containing `stop` ends the run at once: QEMU is killed and the outcome
/// says `stopped` (for a halted guest, which never exits).
pub(crate) fn captured(
    conf: &QemuConf,
    boot: &Boot,
    timeout: Duration,
    echo: bool,
    triggers: &[Trigger],
    stop: Option<&str>,
) -> Result<Outcome> {
    if !triggers.is_empty() && boot.monitor.is_none() {
        return Err(err("monitor triggers need a monitor socket"));
    }
    let mut cmd = boot.command(conf, false);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(m) = &boot.monitor {
        let _ = std::fs::remove_file(m);
    }
    echo_cmd(&cmd);
    let start = Instant::now();
    let mut child = KillOnDrop(cmd.spawn().ctx(|| format!("running {}", conf.binary))?);
    let (tx, rx) = mpsc::channel::<String>();
    let out = child.0.stdout.take().expect("piped");
    let errs = child.0.stderr.take().expect("piped");
    let tx2 = tx.clone();
    let readers = [
        std::thread::spawn(move || forward(out, "", &tx)),
        std::thread::spawn(move || forward(errs, "qemu: ", &tx2)),
    ];
    let mut lines = Vec::new();
    let mut times = Vec::new();
    let mut fired = vec![false; triggers.len()];
    let deadline = start + timeout;
    let mut status = None;
    let mut ended = None;
    let mut stopped = false;
    loop {
        let now = Instant::now();
        if status.is_none() {
            status = child.0.try_wait().ctx(|| "waiting for QEMU")?;
            if status.is_some() {
                ended = Some(start.elapsed());
            }
        }
        let wait = match status {
            // Exited: drain what the pipes still hold, briefly.
            Some(_) => Duration::from_secs(2),
            None if now >= deadline => break,
            None => (deadline - now).min(Duration::from_millis(100)),
        };
        match rx.recv_timeout(wait) {
            Ok(line) => {
                if echo {
                    println!("{line}");
                }
                for (t, f) in triggers.iter().zip(fired.iter_mut()) {
                    if !*f && line.contains(&t.when) {
                        *f = true;
                        let path = boot.monitor.as_deref().expect("checked above");
                        println!("[monitor] {}", t.command);
                        if let Err(e) = monitor_command(path, &t.command) {
                            lines.push(format!("xtask: monitor command failed: {e}"));
                        }
                    }
                }
                let stop_here = status.is_none() && stop.is_some_and(|t| line.contains(t));
                lines.push(line);
                times.push(start.elapsed());
                if stop_here {
                    stopped = true;
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) if status.is_some() => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                if status.is_none() {
                    status = Some(child.0.wait().ctx(|| "waiting for QEMU")?);
                    ended = Some(start.elapsed());
                }
                break;
            }
        }
    }
    let elapsed = ended.unwrap_or_else(|| start.elapsed());
    drop(child); // kills QEMU if still running (timeout or stop text), then reaps it
    for r in readers {
        let _ = r.join();
    }
    Ok(Outcome {
        lines,
        times,
        status,
        stopped,
        elapsed,
    })
}

/// Sends each line read from `r` (CR and trailing newline removed, lossy UTF-8) to `tx`.
fn forward(r: impl Read, prefix: &str, tx: &mpsc::Sender<String>) {
    let mut r = BufReader::new(r);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let s = String::from_utf8_lossy(&buf);
                let s = s.trim_end_matches(['\n', '\r']).replace('\r', "");
                if tx.send(format!("{prefix}{s}")).is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf() -> QemuConf {
        QemuConf {
            binary: "qemu-system-x86_64".into(),
            machine: "pc".into(),
            memory: 256,
            accel: "tcg".into(),
            args: vec!["-nodefaults".into(), "-no-reboot".into()],
            cmdline: "console=ttyS0 panic=-1 quiet".into(),
        }
    }

    fn boot() -> Boot {
        Boot {
            kernel: Kernel {
                arch: "x86_64".into(),
                version: "6.1".into(),
                vmlinuz: "/k/vmlinuz".into(),
                modules: "/k/mod".into(),
            },
            initrd: "/i.cpio.gz".into(),
            cmdline: "rs6.script=/bin/sh".into(),
            memory: None,
            kvm: false,
            extra_args: vec![],
            monitor: None,
            drives: vec![],
        }
    }

    fn argv(c: &Command) -> Vec<String> {
        c.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn captured_command_line() {
        let a = argv(&boot().command(&conf(), false));
        assert_eq!(
            a.join(" "),
            "-machine pc -accel tcg -m 256 -nodefaults -no-reboot -serial stdio -monitor none \
             -kernel /k/vmlinuz -initrd /i.cpio.gz -append console=ttyS0 panic=-1 quiet rs6.script=/bin/sh"
        );
    }

    #[test]
    fn interactive_kvm_monitor_and_memory() {
        let mut b = boot();
        b.kvm = true;
        b.memory = Some(512);
        let a = argv(&b.command(&conf(), true)).join(" ");
        assert!(a.contains("-accel kvm -m 512"), "{a}");
        assert!(a.contains("-serial mon:stdio -kernel"), "{a}");
        b.monitor = Some("/t/mon.sock".into());
        let a = argv(&b.command(&conf(), false)).join(" ");
        assert!(
            a.contains("-monitor unix:/t/mon.sock,server=on,wait=off"),
            "{a}"
        );
    }

    #[test]
    fn triggers_parse() {
        let t = Trigger::parse("rs6-test: READY => sendkey ctrl-alt-delete").unwrap();
        assert_eq!(t.when, "rs6-test: READY");
        assert_eq!(t.command, "sendkey ctrl-alt-delete");
        assert!(Trigger::parse("no arrow").is_err());
        assert!(Trigger::parse(" => x").is_err());
    }

    #[test]
    fn power_off_verdicts() {
        let o = |lines: &[&str], code: Option<i32>| outcome(lines, code, false);
        assert!(
            o(&["x", "[ 4.7] reboot: Power down"], Some(0))
                .powered_off()
                .is_ok()
        );
        let e = o(&["x"], Some(0)).powered_off().unwrap_err();
        assert!(e.contains("without"), "{e}");
        let e = o(&["Kernel panic - not syncing", POWER_OFF], Some(0))
            .powered_off()
            .unwrap_err();
        assert!(e.contains("panicked"), "{e}");
        let e = o(&[POWER_OFF], Some(1)).powered_off().unwrap_err();
        assert!(e.contains("QEMU failed"), "{e}");
        let e = o(&[], None).powered_off().unwrap_err();
        assert!(e.contains("timed out after 3s"), "{e}");
        let e = o(&["x", RESTART], Some(0)).powered_off().unwrap_err();
        assert!(e.contains("end lines: `reboot: Restarting system`"), "{e}");
    }

    fn outcome(lines: &[&str], code: Option<i32>, stopped: bool) -> Outcome {
        use std::os::unix::process::ExitStatusExt;
        Outcome {
            lines: lines.iter().map(|s| s.to_string()).collect(),
            times: (0..lines.len() as u64).map(Duration::from_secs).collect(),
            status: code.map(|c| ExitStatus::from_raw(c << 8)),
            stopped,
            elapsed: Duration::from_secs(3),
        }
    }

    #[test]
    fn ends_parse() {
        assert_eq!(End::parse("poweroff").unwrap(), End::Poweroff);
        assert_eq!(End::parse(" reboot ").unwrap(), End::Reboot);
        assert_eq!(End::parse("halt").unwrap(), End::Halt);
        assert!(End::parse("shutdown").is_err());
        assert_eq!(End::Halt.stop_text(), Some(HALTED));
        assert_eq!(End::Reboot.stop_text(), None);
    }

    #[test]
    fn reboot_and_halt_verdicts() {
        assert!(
            outcome(&["[ 2.1] reboot: Restarting system"], Some(0), false)
                .ended(End::Reboot)
                .is_ok()
        );
        let e = outcome(&[POWER_OFF], Some(0), false)
            .ended(End::Reboot)
            .unwrap_err();
        assert!(e.contains("without `reboot: Restarting system`"), "{e}");
        assert!(e.contains("`reboot: Power down`"), "{e}");
        // A halt: the harness stopped QEMU on the halt line.
        assert!(outcome(&[HALTED], None, true).ended(End::Halt).is_ok());
        let e = outcome(&["x"], None, false).ended(End::Halt).unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        let e = outcome(&[POWER_OFF], Some(0), false)
            .ended(End::Halt)
            .unwrap_err();
        assert!(e.contains("instead of halting"), "{e}");
        let e = outcome(&[PANIC, HALTED], None, true)
            .ended(End::Halt)
            .unwrap_err();
        assert!(e.contains("panicked"), "{e}");
    }

    #[test]
    fn first_line_times() {
        let o = outcome(&["a", "b x", "b y"], Some(0), false);
        assert_eq!(o.first("b"), Some(Duration::from_secs(1)));
        assert_eq!(o.first("zz"), None);
    }

    #[test]
    fn drives_are_virtio_raw() {
        let mut b = boot();
        b.drives = vec!["/t/disk.img".into(), "/t/a,b.img".into()];
        b.extra_args = vec!["-smp".into(), "2".into()];
        let a = argv(&b.command(&conf(), false)).join(" ");
        assert!(
            a.ends_with(
                "-drive file=/t/disk.img,format=raw,if=virtio \
                 -drive file=/t/a,,b.img,format=raw,if=virtio -smp 2"
            ),
            "{a}"
        );
    }
}
