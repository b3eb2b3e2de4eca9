//! The four suites the bench drives, each through its own programs: s6 (s6-svscan,
//! s6-supervise, s6-svc, s6-log), runit (runsvdir, runsv, sv, svlogd), daemontools (svscan,
//! supervise, svc, multilog) and rs6 (rs6-svscan, rs6-supervise, rs6-svc, rs6-log). Here are
//! their command lines and the formats of their `supervise/status` files; nothing here runs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    Rs6,
    S6,
    Runit,
    Daemontools,
}

/// Every suite, in the order of the table's columns.
pub(crate) const ALL: [Kind; 4] = [Kind::Rs6, Kind::S6, Kind::Runit, Kind::Daemontools];

/// The role of a program in a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Scanner,
    Supervisor,
    Control,
    Logger,
}

/// The roles, in the order of the size table.
pub(crate) const ROLES: [Role; 4] = [Role::Scanner, Role::Supervisor, Role::Control, Role::Logger];

/// How a command waits for the state it asked for.
pub(crate) enum Wait {
    /// The command itself waits (s6-svc -w, sv -w).
    Cli(Command),
    /// The command only sends; the bench then polls `supervise/status`.
    Poll(Command),
}

/// Services a scanner takes without options (s6-svscan's default `-c`).
const S6_DEFAULT_MAX: usize = 500;

impl Kind {
    /// Short name, as in the table.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Rs6 => "rs6",
            Kind::S6 => "s6",
            Kind::Runit => "runit",
            Kind::Daemontools => "daemontools",
        }
    }

    /// The program that plays ROLE.
    pub(crate) fn program(self, role: Role) -> &'static str {
        use Role::*;
        match (self, role) {
            (Kind::Rs6, Scanner) => "rs6-svscan",
            (Kind::Rs6, Supervisor) => "rs6-supervise",
            (Kind::Rs6, Control) => "rs6-svc",
            (Kind::Rs6, Logger) => "rs6-log",
            (Kind::S6, Scanner) => "s6-svscan",
            (Kind::S6, Supervisor) => "s6-supervise",
            (Kind::S6, Control) => "s6-svc",
            (Kind::S6, Logger) => "s6-log",
            (Kind::Runit, Scanner) => "runsvdir",
            (Kind::Runit, Supervisor) => "runsv",
            (Kind::Runit, Control) => "sv",
            (Kind::Runit, Logger) => "svlogd",
            (Kind::Daemontools, Scanner) => "svscan",
            (Kind::Daemontools, Supervisor) => "supervise",
            (Kind::Daemontools, Control) => "svc",
            (Kind::Daemontools, Logger) => "multilog",
        }
    }

    /// True if the supervisor reads readiness on `./notification-fd` (s6's protocol).
    pub(crate) fn notifies(self) -> bool {
        matches!(self, Kind::Rs6 | Kind::S6)
    }

    /// Other programs the bench runs (found on PATH when the suite is checked).
    fn extra_programs(self) -> &'static [&'static str] {
        match self {
            Kind::Rs6 => &["rs6-svscanctl"],
            Kind::S6 => &["s6-svscanctl", "s6-svlisten1"],
            Kind::Runit | Kind::Daemontools => &[],
        }
    }
}

/// A suite whose programs were found.
#[derive(Debug, Clone)]
pub(crate) struct Suite {
    pub(crate) kind: Kind,
    /// Directory of its programs.
    pub(crate) dir: PathBuf,
    /// PATH for its scanner (the suite's directory first).
    pub(crate) path_env: OsString,
}

/// The first directory of PATH that has an executable PROG.
pub(crate) fn which(prog: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

impl Suite {
    /// The suite KIND with its programs in DIR (rs6), or found on PATH (the peers).
    /// Err names what is missing.
    pub(crate) fn find(kind: Kind, rs6_dir: &Path) -> Result<Suite, String> {
        let dir = match kind {
            Kind::Rs6 => rs6_dir.to_path_buf(),
            _ => which(kind.program(Role::Scanner))
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .ok_or_else(|| format!("{} not found on PATH", kind.program(Role::Scanner)))?,
        };
        let progs = ROLES.iter().map(|&r| kind.program(r));
        for p in progs.chain(kind.extra_programs().iter().copied()) {
            if !dir.join(p).is_file() {
                return Err(format!("{} missing in {}", p, dir.display()));
            }
        }
        let mut paths = vec![dir.clone()];
        if let Some(p) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&p));
        }
        let path_env = std::env::join_paths(paths).map_err(|e| e.to_string())?;
        Ok(Suite {
            kind,
            dir,
            path_env,
        })
    }

    pub(crate) fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// Path of the program playing ROLE.
    pub(crate) fn path(&self, role: Role) -> PathBuf {
        self.dir.join(self.kind.program(role))
    }

    /// A command running the suite's program PROG.
    fn cmd(&self, prog: &str) -> Command {
        let mut c = Command::new(self.dir.join(prog));
        c.stdin(Stdio::null()).stdout(Stdio::null());
        c
    }

    /// Process name of each supervisor.
    pub(crate) fn supervisor_comm(&self) -> &'static str {
        self.kind.program(Role::Supervisor)
    }

    /// The scanner's argv, in the foreground on SCANDIR, sized for N services: s6-svscan
    /// and rs6-svscan take 500 unless `-c` says more; runsvdir and svscan have no option.
    pub(crate) fn scanner_argv(&self, scandir: &Path, n: usize) -> Vec<OsString> {
        let mut v: Vec<OsString> = vec![self.path(Role::Scanner).into()];
        if matches!(self.kind, Kind::S6 | Kind::Rs6) && n > S6_DEFAULT_MAX {
            v.extend(["-c".into(), n.to_string().into()]);
        }
        v.push(scandir.into());
        v
    }

    /// The suite's own way to take every service down and make every supervisor exit: the
    /// commands to run one after the other (SCANNER is the scanner's pid, DIRS the services).
    pub(crate) fn stop_argv(
        &self,
        scandir: &Path,
        scanner: u32,
        dirs: &[PathBuf],
    ) -> Vec<Vec<OsString>> {
        let path = |p: &str| OsString::from(self.dir.join(p));
        match self.kind {
            // -t: SIGTERM to every supervisor; the scanner exits once they are gone.
            Kind::S6 => vec![vec![path("s6-svscanctl"), "-t".into(), scandir.into()]],
            Kind::Rs6 => vec![vec![path("rs6-svscanctl"), "-t".into(), scandir.into()]],
            // SIGHUP: runsvdir sends TERM to every runsv (each takes its service down and
            // exits), then exits.
            Kind::Runit => vec![vec![
                "kill".into(),
                "-HUP".into(),
                scanner.to_string().into(),
            ]],
            // No single command: stop svscan (else it restarts supervise processes), then
            // tell every supervise to take its service down and exit.
            Kind::Daemontools => {
                let mut svc = vec![path("svc"), "-dx".into()];
                svc.extend(dirs.iter().map(OsString::from));
                vec![
                    vec!["kill".into(), "-TERM".into(), scanner.to_string().into()],
                    svc,
                ]
            }
        }
    }

    /// Take DIR down and wait until it is down.
    pub(crate) fn down_wait(&self, dir: &Path) -> Wait {
        self.wait_cmd(dir, false)
    }

    /// Bring DIR up and wait until it is up.
    pub(crate) fn up_wait(&self, dir: &Path) -> Wait {
        self.wait_cmd(dir, true)
    }

    fn wait_cmd(&self, dir: &Path, up: bool) -> Wait {
        let ctl = self.kind.program(Role::Control);
        match self.kind {
            Kind::S6 | Kind::Rs6 => {
                let mut c = self.cmd(ctl);
                c.args(["-T", "5000", if up { "-wu" } else { "-wd" }])
                    .arg(if up { "-u" } else { "-d" })
                    .arg(dir);
                Wait::Cli(c)
            }
            Kind::Runit => {
                let mut c = self.cmd(ctl);
                c.args(["-v", "-w", "5", if up { "up" } else { "down" }])
                    .arg(dir);
                Wait::Cli(c)
            }
            Kind::Daemontools => Wait::Poll(self.send(dir, up)),
        }
    }

    /// The plain command (no wait): up when UP, else down.
    pub(crate) fn send(&self, dir: &Path, up: bool) -> Command {
        let mut c = self.cmd(self.kind.program(Role::Control));
        match self.kind {
            Kind::Runit => c.arg(if up { "up" } else { "down" }),
            _ => c.arg(if up { "-u" } else { "-d" }),
        };
        c.arg(dir);
        c
    }

    /// The daemon's pid per DIR's `supervise/status` (Some(0): down; None: unreadable).
    pub(crate) fn status_pid(&self, dir: &Path) -> Option<u64> {
        let bytes = std::fs::read(dir.join("supervise/status")).ok()?;
        parse_status_pid(self.kind, &bytes)
    }

    /// The logger reading stdin into LOGDIR, prefixing TAI64N stamps, rotating at
    /// [`LOG_SIZE`] bytes, [`LOG_FILES`] files kept (svlogd: see [`Suite::logdir_config`]).
    pub(crate) fn logger(&self, logdir: &Path) -> Command {
        let mut c = self.cmd(self.kind.program(Role::Logger));
        match self.kind {
            Kind::Runit => c.arg("-t"),
            _ => c.args(["t", &format!("s{LOG_SIZE}"), &format!("n{LOG_FILES}")]),
        };
        c.arg(logdir);
        c
    }

    /// What LOGDIR/config must hold before the logger starts (svlogd reads size and count
    /// from there, not from its command line).
    pub(crate) fn logdir_config(&self) -> Option<String> {
        (self.kind == Kind::Runit).then(|| format!("s{LOG_SIZE}\nn{LOG_FILES}\n"))
    }
}

/// Logdir rotation size: the largest multilog accepts.
pub(crate) const LOG_SIZE: u32 = 16_777_215;
/// Archived log files kept.
pub(crate) const LOG_FILES: u32 = 20;

/// The pid of `./run` in a `supervise/status` file, 0 when it is not running (down, or
/// `./finish` running). s6 and rs6 write 35 bytes: pid at 24..32, big-endian, which is
/// `./finish`'s while flag bit 1 (finishing) is set at byte 34 — s6-supervise spawns
/// `./finish` after each death even when there is none. runsv writes 20 bytes: pid at 12..16,
/// little-endian (djb's `uint32_pack`), byte 19 the state (0 down, 1 run, 2 finish);
/// supervise 18 bytes, pid at 12..16, little-endian.
pub(crate) fn parse_status_pid(kind: Kind, b: &[u8]) -> Option<u64> {
    const FINISHING: u8 = 2;
    const RUNSV_RUN: u8 = 1;
    match kind {
        Kind::S6 | Kind::Rs6 => {
            let f: [u8; 8] = b.get(24..32)?.try_into().ok()?;
            let finishing = *b.get(34)? & FINISHING != 0;
            (b.len() == 35).then(|| if finishing { 0 } else { u64::from_be_bytes(f) })
        }
        Kind::Runit => {
            let f: [u8; 4] = b.get(12..16)?.try_into().ok()?;
            let run = *b.get(19)? == RUNSV_RUN;
            (b.len() == 20).then(|| {
                if run {
                    u64::from(u32::from_le_bytes(f))
                } else {
                    0
                }
            })
        }
        Kind::Daemontools => {
            let f: [u8; 4] = b.get(12..16)?.try_into().ok()?;
            (b.len() == 18).then(|| u64::from(u32::from_le_bytes(f)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_files() {
        // Written by rs6-supervise (s6's format): up, pid 0x10b3.
        let mut s6 = [0u8; 35];
        s6[30] = 0x10;
        s6[31] = 0xb3;
        assert_eq!(parse_status_pid(Kind::S6, &s6), Some(0x10b3));
        assert_eq!(parse_status_pid(Kind::Rs6, &s6[..34]), None);
        // The same after a death: the pid is ./finish's (flag 2, finishing).
        s6[34] = 0x02;
        assert_eq!(parse_status_pid(Kind::S6, &s6), Some(0));
        let mut runit = [0u8; 20];
        runit[12] = 0xb3;
        runit[13] = 0x10;
        runit[19] = 1; // run
        assert_eq!(parse_status_pid(Kind::Runit, &runit), Some(0x10b3));
        runit[19] = 2; // finish
        assert_eq!(parse_status_pid(Kind::Runit, &runit), Some(0));
        assert_eq!(
            parse_status_pid(Kind::Daemontools, &runit[..18]),
            Some(0x10b3)
        );
        assert_eq!(parse_status_pid(Kind::Daemontools, &runit), None);
    }

    #[test]
    fn scanner_argv_raises_s6_limit() {
        let s = Suite {
            kind: Kind::S6,
            dir: "/usr/bin".into(),
            path_env: "/usr/bin".into(),
        };
        let argv = |n| {
            s.scanner_argv(Path::new("/x"), n)
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(argv(10), "/usr/bin/s6-svscan /x");
        assert_eq!(argv(1000), "/usr/bin/s6-svscan -c 1000 /x");
        let r = Suite {
            kind: Kind::Runit,
            ..s.clone()
        };
        assert_eq!(r.scanner_argv(Path::new("/x"), 1000).len(), 2);
    }
}
