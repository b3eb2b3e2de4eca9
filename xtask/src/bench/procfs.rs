//! Reading /proc (process trees, names, memory, context switches, CPU time) and `strace -c`
//! summaries. Everything here reads; nothing signals. A process that vanishes between two
//! reads is left out: every reader returns None or an empty result for it.

use std::collections::BTreeMap;

/// The text of a /proc file, or None.
fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Direct children of PID, over all its threads.
pub(crate) fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(s.split_whitespace().filter_map(|w| w.parse::<u32>().ok()));
        }
    }
    out
}

/// Every process below PID (not PID itself), parents before their children.
pub(crate) fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let kids = children(p);
        out.extend(&kids);
        todo.extend(kids);
    }
    out
}

/// The process name (`comm`, at most 15 bytes).
pub(crate) fn comm(pid: u32) -> Option<String> {
    read(&format!("/proc/{pid}/comm")).map(|s| s.trim_end().to_string())
}

/// Memory of a process, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Mem {
    pub(crate) rss: u64,
    pub(crate) pss: u64,
    /// Private_Clean + Private_Dirty: what one more such process costs.
    pub(crate) private: u64,
}

/// Parses /proc/PID/smaps_rollup.
pub(crate) fn parse_smaps_rollup(text: &str) -> Option<Mem> {
    let mut m = Mem::default();
    let mut seen = false;
    for line in text.lines() {
        let mut w = line.split_whitespace();
        let (Some(key), Some(Ok(kib))) = (w.next(), w.next().map(str::parse::<u64>)) else {
            continue;
        };
        match key {
            "Rss:" => {
                m.rss = kib;
                seen = true;
            }
            "Pss:" => m.pss = kib,
            "Private_Clean:" | "Private_Dirty:" => m.private += kib,
            _ => {}
        }
    }
    seen.then_some(m)
}

/// Memory of PID.
pub(crate) fn mem(pid: u32) -> Option<Mem> {
    parse_smaps_rollup(&read(&format!("/proc/{pid}/smaps_rollup"))?)
}

/// Voluntary + involuntary context switches, from /proc/PID/status.
pub(crate) fn parse_ctxt(status: &str) -> Option<u64> {
    let mut total = None;
    for line in status.lines() {
        if let Some(v) = line
            .strip_prefix("voluntary_ctxt_switches:")
            .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
        {
            *total.get_or_insert(0) += v.trim().parse::<u64>().ok()?;
        }
    }
    total
}

/// Context switches of PID so far.
pub(crate) fn ctxt(pid: u32) -> Option<u64> {
    parse_ctxt(&read(&format!("/proc/{pid}/status"))?)
}

/// Nanoseconds PID has spent on a CPU (first field of /proc/PID/schedstat).
pub(crate) fn cpu_ns(pid: u32) -> Option<u64> {
    read(&format!("/proc/{pid}/schedstat"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `{syscall: calls}` from an `strace -c` summary. `restart_syscall` is left out: it is
/// the attach itself interrupting a sleeping call, not the program's doing.
pub(crate) fn parse_strace_c(text: &str) -> BTreeMap<String, u64> {
    let mut calls = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // % time, seconds, usecs/call, calls, [errors], syscall
        if f.len() < 5 || f.len() > 6 {
            continue;
        }
        let (Ok(n), Some(&name)) = (f[3].parse::<u64>(), f.last()) else {
            continue;
        };
        if name == "total" || name == "restart_syscall" {
            continue;
        }
        *calls.entry(name.to_string()).or_insert(0) += n;
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaps_rollup() {
        let text = "\
55d0c7a8e000-7ffd3b7f2000 ---p 00000000 00:00 0                          [rollup]
Rss:                 204 kB
Pss:                  57 kB
Pss_Dirty:            40 kB
Shared_Clean:        164 kB
Private_Clean:         4 kB
Private_Dirty:        36 kB
Swap:                  0 kB
";
        assert_eq!(
            parse_smaps_rollup(text),
            Some(Mem {
                rss: 204,
                pss: 57,
                private: 40
            })
        );
        assert_eq!(parse_smaps_rollup(""), None);
    }

    #[test]
    fn context_switches() {
        let text =
            "Name:\ts6-supervise\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(parse_ctxt(text), Some(15));
        assert_eq!(parse_ctxt("Name:\tx\n"), None);
    }

    #[test]
    fn strace_summary() {
        let text = "\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 60.00    0.000030           2        12           rt_sigaction
 40.00    0.000020           0        36           rt_sigprocmask
  0.00    0.000000           0         8         4 wait4
  0.00    0.000000           0         1           restart_syscall
------ ----------- ----------- --------- --------- ----------------
100.00    0.000050           0        57         4 total
";
        let c = parse_strace_c(text);
        assert_eq!(c.len(), 3);
        assert_eq!(c["rt_sigaction"], 12);
        assert_eq!(c["rt_sigprocmask"], 36);
        assert_eq!(c["wait4"], 8);
        // A process that made no call: strace writes nothing.
        assert!(parse_strace_c("").is_empty());
    }

    #[test]
    fn this_process() {
        let me = std::process::id();
        assert!(comm(me).is_some());
        assert!(mem(me).is_some_and(|m| m.rss > 0));
        assert!(ctxt(me).is_some());
    }
}
