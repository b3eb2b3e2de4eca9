//! Settings of rs6-init from the kernel command line (`/proc/cmdline`).
//!
//! The kernel does not pass dotted parameters (`rs6.script=…`) to init's
//! environment (it takes them for module parameters), so rs6-init reads
//! `/proc/cmdline` itself. Recognised words:
//!
//! | word | meaning | default |
//! |---|---|---|
//! | `rs6.script=PATH` | the console program; when it exits the machine powers off | `/bin/sh` |
//! | `rs6.rc=PATH` | run first, waited for (starts the services) | `/etc/rs6/rc.init` |
//! | `rs6.grace=MS` | time between TERM and KILL at shutdown, in ms | 3000 (s6-linux-init's) |
//! | `rs6.on_exit=poweroff\|reboot\|halt` | what the end of the console program does | `poweroff` |
//! | `rs6.sv=PATH` | the image's service definitions, copied to the scan directory | `/etc/rs6/sv` |
//! | `rs6.scandir=PATH` | the scan directory rs6-svscan watches | `/run/service` |
//! | `rs6.rc_shutdown=PATH` | run at the start of a shutdown, waited for | `/etc/rs6/rc.shutdown` |
//! | `rs6.rw=1\|0` | remount `/` read-write at boot (a disk the kernel or an initramfs mounted read-only) | `0` |
//!
//! Unknown `rs6.*` words are ignored (reported by rs6-init as a warning).

use crate::shutdown::Action;
use rt::Buf;

/// Longest path accepted for a program named on the command line.
pub const PATH_MAX: usize = 256;
/// Default time between TERM and KILL at shutdown (s6-linux-init's default).
pub const GRACE_MS_DEFAULT: u32 = 3000;
/// Upper bound on the grace time (s6-linux-init-shutdownd's maximum).
pub const GRACE_MS_MAX: u32 = 300_000;

/// rs6-init's settings.
#[derive(Clone)]
pub struct Config {
    /// The console program.
    pub script: Buf<PATH_MAX>,
    /// The program run first and waited for.
    pub rc: Buf<PATH_MAX>,
    /// Grace time in ms between TERM and KILL at shutdown.
    pub grace_ms: u32,
    /// What happens when the console program exits.
    pub on_exit: Action,
    /// The service definitions copied to the scan directory at boot.
    pub sv: Buf<PATH_MAX>,
    /// The scan directory.
    pub scandir: Buf<PATH_MAX>,
    /// The program run first when the machine goes down.
    pub rc_shutdown: Buf<PATH_MAX>,
    /// Remount `/` read-write in stage 1.
    pub rw: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            script: Buf::from(b"/bin/sh").unwrap_or_default(),
            rc: Buf::from(b"/etc/rs6/rc.init").unwrap_or_default(),
            grace_ms: GRACE_MS_DEFAULT,
            on_exit: Action::Poweroff,
            sv: Buf::from(b"/etc/rs6/sv").unwrap_or_default(),
            scandir: Buf::from(b"/run/service").unwrap_or_default(),
            rc_shutdown: Buf::from(b"/etc/rs6/rc.shutdown").unwrap_or_default(),
            rw: false,
        }
    }
}

/// What parsing found besides the settings.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// `rs6.*` words that were not understood (count).
    pub bad_words: u32,
}

impl Config {
    /// Parses the contents of `/proc/cmdline` over the defaults.
    pub fn parse(cmdline: &[u8]) -> (Config, Report) {
        let mut c = Config::default();
        let mut r = Report::default();
        for word in cmdline
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
        {
            let Some(kv) = word.strip_prefix(b"rs6.") else {
                continue;
            };
            let (k, v) = match kv.iter().position(|&b| b == b'=') {
                Some(i) => (kv.get(..i).unwrap_or(&[]), kv.get(i + 1..).unwrap_or(&[])),
                None => (kv, &[][..]),
            };
            let ok = match k {
                b"script" => set_path(&mut c.script, v),
                b"rc" => set_path(&mut c.rc, v),
                b"sv" => set_path(&mut c.sv, v),
                b"scandir" => set_path(&mut c.scandir, v),
                b"rc_shutdown" => set_path(&mut c.rc_shutdown, v),
                b"grace" => match rt::buf::parse_u64(v) {
                    Some(ms) => {
                        c.grace_ms = u32::try_from(ms).unwrap_or(GRACE_MS_MAX).min(GRACE_MS_MAX);
                        true
                    }
                    None => false,
                },
                b"rw" => match v {
                    b"1" => {
                        c.rw = true;
                        true
                    }
                    b"0" => {
                        c.rw = false;
                        true
                    }
                    _ => false,
                },
                b"on_exit" => match Action::from_word(v) {
                    Some(a) => {
                        c.on_exit = a;
                        true
                    }
                    None => false,
                },
                _ => false,
            };
            if !ok {
                r.bad_words += 1;
            }
        }
        (c, r)
    }
}

/// Reads `/proc/cmdline` and parses it; the defaults when it cannot be read
/// (the error is returned beside them, for the caller to report).
pub fn load() -> (Config, Report, Option<rustix::io::Errno>) {
    use rustix::fs::{Mode, OFlags};
    let mut buf = [0u8; 4096];
    let read = rustix::fs::open(
        c"/proc/cmdline",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .and_then(|fd| rustix::io::read(&fd, &mut buf));
    let (n, err) = match read {
        Ok(n) => (n, None),
        Err(e) => (0, Some(e)),
    };
    let (c, r) = Config::parse(buf.get(..n).unwrap_or(&[]));
    (c, r, err)
}

fn set_path(dst: &mut Buf<PATH_MAX>, v: &[u8]) -> bool {
    if v.first() != Some(&b'/') || v.len() >= PATH_MAX {
        return false;
    }
    dst.clear();
    dst.try_push(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let (c, r) = Config::parse(b"console=ttyS0 quiet panic=-1\n");
        assert_eq!(c.script.as_bytes(), b"/bin/sh");
        assert_eq!(c.rc.as_bytes(), b"/etc/rs6/rc.init");
        assert_eq!(c.grace_ms, 3000);
        assert_eq!(c.on_exit, Action::Poweroff);
        assert_eq!(c.scandir.as_bytes(), b"/run/service");
        assert_eq!(c.sv.as_bytes(), b"/etc/rs6/sv");
        assert!(!c.rw);
        assert_eq!(r, Report::default());
    }

    #[test]
    fn remount_rw() {
        let (c, r) = Config::parse(b"root=/dev/vda ro rs6.rw=1\n");
        assert!(c.rw);
        assert_eq!(r.bad_words, 0);
        let (c, _) = Config::parse(b"rs6.rw=1 rs6.rw=0");
        assert!(!c.rw);
        let (c, r) = Config::parse(b"rs6.rw rs6.rw=yes rs6.rw=");
        assert!(!c.rw);
        assert_eq!(r.bad_words, 3);
    }

    #[test]
    fn settings() {
        let (c, r) = Config::parse(
            b"console=ttyS0 rs6.script=/scenario/guest.sh rs6.grace=500 rs6.on_exit=reboot rs6.rc=/etc/rc rs6.scandir=/service\n",
        );
        assert_eq!(c.scandir.as_bytes(), b"/service");
        assert_eq!(c.script.as_bytes(), b"/scenario/guest.sh");
        assert_eq!(c.rc.as_bytes(), b"/etc/rc");
        assert_eq!(c.grace_ms, 500);
        assert_eq!(c.on_exit, Action::Reboot);
        assert_eq!(r.bad_words, 0);
    }

    #[test]
    fn bad_words_keep_defaults() {
        let (c, r) =
            Config::parse(b"rs6.script=relative rs6.grace=x rs6.nope=1 rs6.grace=999999999");
        assert_eq!(c.script.as_bytes(), b"/bin/sh");
        assert_eq!(c.grace_ms, GRACE_MS_MAX);
        assert_eq!(r.bad_words, 3);
    }
}
