//! floor: the least a supervisor can do. In the current directory, fork and exec ./run, wait
//! for it, and do it again, forever: no status, no control, no throttle. The restart step runs
//! it beside the suites (under the reaper, which ends it) as the fork+exec floor.
//!
//! floor --cost PROG N: N times, fork, read the clock in the child just before
//! execve(PROG --since NS), and let PROG print how long its exec and start-up took.

mod common;

use common::*;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() == 3 && args[0] == "--cost" {
        let n: u32 = args[2].parse().unwrap_or(0);
        for _ in 0..n {
            use std::io::Write;
            let _ = std::io::stdout().flush();
            match fork_now() {
                Some(0) => {
                    let ns = now_ns().to_string();
                    execv_or_die(&cstrings([args[1].as_str(), "--since", ns.as_str()]));
                }
                Some(p) => {
                    wait_for(p);
                }
                None => exit_now(111),
            }
        }
        return;
    }
    set_name(c"bench-floor");
    let run = cstrings(["./run"]);
    loop {
        match fork_now() {
            Some(0) => {
                default_sigpipe();
                execv_or_die(&run);
            }
            Some(p) => {
                wait_for(p);
            }
            None => std::thread::sleep(std::time::Duration::from_secs(1)),
        }
    }
}
