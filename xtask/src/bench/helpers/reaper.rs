//! reaper PIDFILE CMD [ARG...]: runs CMD (a scanner, or the floor loop) in a session of its
//! own with stdin on /dev/null, and stays its parent. It is a child subreaper, so every
//! orphan below it (daemons of killed supervisors included) is reparented to it and reaped.
//! PIDFILE receives "PID T0\n" (T0: CLOCK_MONOTONIC ns read just before the fork) by rename.
//!
//! It ends the tree when its stdin reaches end of file (the bench closed its end of the pipe,
//! or the bench died), or on SIGTERM, SIGINT or SIGHUP: it freezes every process below it
//! (SIGSTOP, so that nobody forks a replacement), kills them (SIGKILL), reaps them, and
//! repeats until none is left, then exits 0. It only ever signals its own descendants, found
//! through /proc/PID/task/TID/children.

mod common;

use common::*;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};

static ENDING: AtomicBool = AtomicBool::new(false);

/// Every descendant of PID, parents first.
fn descendants(pid: i32, out: &mut Vec<i32>) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for t in tasks.flatten() {
        let path = t.path().join("children");
        let Ok(s) = std::fs::read_to_string(&path) else {
            continue;
        };
        for c in s.split_whitespace().filter_map(|w| w.parse::<i32>().ok()) {
            out.push(c);
            descendants(c, out);
        }
    }
}

/// Kills everything below us, then exits.
fn end_tree() -> ! {
    if ENDING.swap(true, Ordering::SeqCst) {
        pause_forever(); // the other thread is at it and will exit the process
    }
    let me = pid();
    for _ in 0..500 {
        let mut found = Vec::new();
        descendants(me, &mut found);
        if found.is_empty() {
            exit_now(0);
        }
        for &p in &found {
            send(p, SIGSTOP);
        }
        for &p in &found {
            send(p, SIGKILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        while let Some(p) = reap_any(WNOHANG) {
            if p == 0 {
                break;
            }
        }
    }
    eprintln!("reaper: processes still below me after 500 rounds");
    exit_now(1)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: reaper PIDFILE CMD [ARG...]");
        exit_now(100);
    }
    let sigs = sigset(&[SIGTERM, SIGINT, SIGHUP]);
    let old = block(&sigs);
    set_subreaper();
    set_name(c"bench-reaper");
    let argv = cstrings(args[1..].iter().map(String::as_str));
    let t0 = now_ns();
    let Some(child) = fork_now() else {
        eprintln!("reaper: fork: {}", std::io::Error::last_os_error());
        exit_now(111)
    };
    if child == 0 {
        set_mask(&old);
        default_sigpipe();
        new_session();
        stdin_null();
        exec_or_die(&argv);
    }
    let tmp = format!("{}.tmp", args[0]);
    if std::fs::write(&tmp, format!("{child} {t0}\n")).is_err()
        || std::fs::rename(&tmp, &args[0]).is_err()
    {
        eprintln!("reaper: cannot write {}", args[0]);
        end_tree();
    }
    // Reap whatever dies below us, forever.
    std::thread::spawn(|| {
        loop {
            if reap_any(0).is_none() {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    });
    // End of file on stdin: the bench is done with this tree (or gone).
    std::thread::spawn(|| {
        let mut buf = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        end_tree();
    });
    wait_signal(&sigs);
    end_tree();
}
