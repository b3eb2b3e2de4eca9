//! downwatch PIDLIST TIMEOUT_S CMD [ARG...] [';;' CMD [ARG...]]...: times a tree going down.
//! PIDLIST has one line per process to watch, "d PID" (a daemon) or "s PID" (a supervisor or
//! the scanner). It opens a pidfd on each first, then reads T1 (CLOCK_MONOTONIC ns), runs the
//! commands one after the other (each waited for), and waits (epoll) until every watched
//! process has exited or TIMEOUT_S passed. It prints one line:
//! "T1 DAEMONS_GONE SUPERVISORS_GONE LEFT" (ns stamps of the last exit of each kind, 0 when
//! there was none; LEFT: processes still alive at the timeout).

mod common;

use common::*;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: downwatch PIDLIST TIMEOUT_S CMD [ARG...] [;; CMD...]");
        exit_now(100);
    }
    let list = std::fs::read_to_string(&args[0]).unwrap_or_default();
    let timeout_ns = args[1].parse::<u64>().unwrap_or(60) * 1_000_000_000;
    raise_nofile(list.lines().count() as u64 + 64);
    let ep = Epoll::new();
    let mut fds = Vec::new();
    for line in list.lines() {
        let mut w = line.split_whitespace();
        let (Some(kind), Some(Ok(p))) = (w.next(), w.next().map(str::parse::<i32>)) else {
            continue;
        };
        if let Some(fd) = pidfd(p) {
            ep.add(fd, ((kind == "d") as u64) << 32 | fds.len() as u64);
            fds.push(fd);
        }
    }
    let t1 = now_ns();
    for cmd in args[2..].split(|a| a == ";;") {
        if cmd.is_empty() {
            continue;
        }
        match fork_now() {
            Some(0) => {
                default_sigpipe();
                exec_or_die(&cstrings(cmd.iter().map(String::as_str)));
            }
            Some(p) => {
                wait_for(p);
            }
            None => eprintln!("downwatch: fork: {}", std::io::Error::last_os_error()),
        }
    }
    let (mut last_d, mut last_s) = (0u64, 0u64);
    let mut left = fds.len();
    let mut buf = vec![EpollEvent { events: 0, data: 0 }; 1024];
    while left > 0 && now_ns() - t1 < timeout_ns {
        let tags = ep.wait(&mut buf, 200);
        let now = now_ns();
        for tag in tags {
            let i = (tag & 0xffff_ffff) as usize;
            if fds[i] < 0 {
                continue;
            }
            close_fd(fds[i]); // closing removes it from the epoll set
            fds[i] = -1;
            left -= 1;
            if tag >> 32 == 1 {
                last_d = now;
            } else {
                last_s = now;
            }
        }
    }
    println!("{t1} {last_d} {last_s} {left}");
}
