//! probe: the restart-latency daemon, exec'd directly as a service's ./run. First thing in
//! main it reads CLOCK_MONOTONIC, then appends "S <ns> <pid>" to ./stamps. On SIGUSR1 it
//! appends "E <ns> <pid>" and exits 0 by itself, as a daemon that ends its work would; SIGTERM
//! (a `down`) ends it without a stamp. The next "S" minus this "E" is the supervisor's restart
//! latency, plus this program's own exec and start-up. With a ./notification-fd file (s6's
//! readiness protocol) it reports readiness right after the start stamp: a newline on that fd.
//!
//! probe --since NS: prints now - NS and exits (the caller read NS just before execve, so
//! this is the probe's exec + start-up cost; see `floor --cost`).

mod common;

use common::*;

fn main() {
    let t = now_ns();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() == 2 && args[0] == "--since" {
        let since: u64 = args[1].parse().unwrap_or(t);
        println!("{}", t.saturating_sub(since));
        return;
    }
    let sigs = sigset(&[SIGUSR1, SIGTERM]);
    block(&sigs);
    set_name(c"bench-probe");
    append_line("stamps", &format!("S {t} {}\n", pid()));
    if let Some(fd) = std::fs::read_to_string("notification-fd")
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .filter(|&fd| fd >= 3)
    {
        write_fd(fd, b"\n");
        close_fd(fd);
    }
    if wait_signal(&sigs) == SIGUSR1 {
        append_line("stamps", &format!("E {} {}\n", now_ns(), pid()));
    }
    exit_now(0)
}
