//! rs6-test-reaper: runs one program (a scanner under test) as a child
//! subreaper, so that every process of the tree it starts — including
//! services orphaned by a supervisor killed with -9 — stays below it and is
//! reaped, and a test can find and kill all of them by pid.
//!
//! Usage: `rs6-test-reaper DIR PROG [ARGS...]`. Writes `DIR/pid` (the
//! program's pid) once started and `DIR/status` (`exit N` or `signal N`)
//! when it ends, each by rename, then goes on reaping until it has no child
//! left, and exits 0. Exits 111 when it cannot start the program.
#![allow(unsafe_code, reason = "test helper: prctl and waitpid through libc")]

use std::path::Path;
use std::process::Command;

fn put(dir: &Path, name: &str, text: &str) {
    let tmp = dir.join(format!("{name}.new"));
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, dir.join(name));
    }
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), Some(prog)) = (args.next(), args.next()) else {
        eprintln!("rs6-test-reaper: usage: rs6-test-reaper DIR PROG [ARGS...]");
        std::process::exit(100);
    };
    let dir = Path::new(&dir);
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    let child = match Command::new(&prog).args(args).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "rs6-test-reaper: fatal: unable to spawn {}: {e}",
                prog.to_string_lossy()
            );
            std::process::exit(111);
        }
    };
    let pid = child.id() as libc::pid_t;
    put(dir, "pid", &pid.to_string());
    loop {
        let mut st: libc::c_int = 0;
        // SAFETY: waitpid writes the status into a live c_int.
        let r = unsafe { libc::waitpid(-1, &mut st, 0) };
        if r == pid {
            let text = if libc::WIFEXITED(st) {
                format!("exit {}", libc::WEXITSTATUS(st))
            } else {
                format!("signal {}", libc::WTERMSIG(st))
            };
            put(dir, "status", &text);
        } else if r < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break; // ECHILD: nothing left
        }
    }
}
