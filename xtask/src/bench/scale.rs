//! Step `scale`: N services (sleeping daemons), one suite at a time, in rotating order. Time
//! from just before the scanner's fork until the last daemon's own start stamp; PSS and CPU
//! time of the scanner and every supervisor once all are up; time from the suite's stop
//! command until the last daemon and the last supervisor have exited (pidfds, in the
//! `downwatch` helper).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::harness::{Bench, Instance};
use super::procfs;
use super::report::{Fmt, Row, Section, int};
use super::stats::Summary;
use super::suite::{Kind, Suite};
use crate::util::{Result, err, progress};

/// One bring-up and tear-down.
#[derive(Debug, Default, Clone)]
struct Rec {
    up: usize,
    up_ms: Option<f64>,
    pss_kib: Option<f64>,
    cpu_ms: Option<f64>,
    down_ms: Option<f64>,
}

/// Parses downwatch's line "T1 DAEMONS_GONE SUPERVISORS_GONE LEFT": the time from T1 until
/// everything watched was gone, in ms (None if something was left).
pub(crate) fn parse_downwatch(line: &str) -> Option<f64> {
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let [t1, d, s, left] = v[..] else {
        return None;
    };
    let last = d.max(s);
    (left == 0 && last >= t1).then(|| (last - t1) as f64 / 1e6)
}

fn once(b: &Bench, s: &Suite, n: usize) -> Result<Rec> {
    let mut rec = Rec::default();
    let mut inst = Instance::start(b, s, &format!("scale{n}"), n, "sleeper", true)?;
    let base = inst.scandir.parent().map(|p| p.to_path_buf());
    let timeout = Duration::from_secs(if n > 1000 { 300 } else { 60 });
    let got = inst.wait_up(n, timeout, Duration::from_secs(5));
    rec.up = got.len();
    if got.len() < n {
        progress(format!(
            "bench: scale: {}: {} of {n} daemons came up",
            s.name(),
            got.len()
        ));
    } else {
        let last = got.iter().max().copied().unwrap_or(0);
        rec.up_ms = Some(last.saturating_sub(inst.tree.t0_ns) as f64 / 1e6);
        std::thread::sleep(Duration::from_secs(1));
        let mut procs = vec![inst.scanner()];
        procs.extend(inst.supervisors());
        let (mut pss, mut cpu) = (0u64, 0u64);
        for &p in &procs {
            pss += procfs::mem(p).map_or(0, |m| m.pss);
            cpu += procfs::cpu_ns(p).unwrap_or(0);
        }
        rec.pss_kib = Some(pss as f64);
        rec.cpu_ms = Some(cpu as f64 / 1e6);
        let mut list = String::new();
        for p in inst.named("bench-sleep") {
            list.push_str(&format!("d {p}\n"));
        }
        for p in &procs {
            list.push_str(&format!("s {p}\n"));
        }
        let listf = b.tmp.join(format!("down-{}-{n}.list", s.name()));
        std::fs::write(&listf, list)?;
        let mut c = Command::new(b.helper("downwatch"));
        c.arg(&listf).arg(timeout.as_secs().to_string());
        let cmds = s.stop_argv(&inst.scandir, inst.scanner(), &inst.services);
        for (i, cmd) in cmds.into_iter().enumerate() {
            if i > 0 {
                c.arg(";;");
            }
            c.args(cmd);
        }
        c.env("PATH", &s.path_env);
        if n <= 1000 {
            b.echo_once(&format!("downwatch {}", s.name()), &c);
        }
        let out = c.output()?;
        let line = String::from_utf8_lossy(&out.stdout);
        rec.down_ms = parse_downwatch(&line);
        if rec.down_ms.is_none() {
            progress(format!(
                "bench: scale: {}: not all down: {}",
                s.name(),
                line.trim()
            ));
        }
    }
    drop(inst);
    if let Some(base) = base {
        let _ = std::fs::remove_dir_all(base);
    }
    Ok(rec)
}

/// Runs each (N, REPS) of PLAN.
pub(crate) fn scale(b: &Bench, plan: &[(usize, usize)]) -> Result<Section> {
    let mut rows = Vec::new();
    let mut limits = Vec::new();
    for &(n, reps) in plan {
        let mut res: BTreeMap<Kind, Vec<Rec>> = BTreeMap::new();
        for r in 0..reps {
            let k = r % b.suites.len();
            for s in b.suites[k..].iter().chain(&b.suites[..k]) {
                progress(format!(
                    "bench: scale: {}, {} services, run {}/{reps}",
                    s.name(),
                    int(n as f64),
                    r + 1
                ));
                let rec = once(b, s, n).map_err(|e| err(format!("scale {n} {}: {e}", s.name())))?;
                if rec.up < n {
                    limits.push(format!(
                        "{} at {}: {} up",
                        s.name(),
                        int(n as f64),
                        int(rec.up as f64)
                    ));
                }
                res.entry(s.kind).or_default().push(rec);
            }
        }
        let get = |f: fn(&Rec) -> Option<f64>| {
            let res = &res;
            move |k: Kind| {
                let v: Vec<f64> = res
                    .get(&k)
                    .map_or(vec![], |r| r.iter().filter_map(f).collect());
                Summary::of(&v)
            }
        };
        let nn = int(n as f64);
        rows.push(Row::text(format!("{nn} services: daemons up"), |k| {
            res.get(&k)
                .and_then(|r| r.iter().map(|x| x.up).min())
                .map_or("–".into(), |u| format!("{} / {nn}", int(u as f64)))
        }));
        rows.push(Row::stats(
            format!("{nn} services: time to all up, ms"),
            Fmt::Sig,
            get(|r| r.up_ms),
        ));
        rows.push(Row::stats(
            format!("{nn} services: scanner + supervisors PSS, KiB"),
            Fmt::Int,
            get(|r| r.pss_kib),
        ));
        rows.push(Row::stats(
            format!("{nn} services: scanner + supervisors CPU time, ms"),
            Fmt::Sig,
            get(|r| r.cpu_ms),
        ));
        rows.push(Row::stats(
            format!("{nn} services: time to all down, ms"),
            Fmt::Sig,
            get(|r| r.down_ms),
        ));
    }
    let stops = b
        .suites
        .iter()
        .map(|s| {
            let argv = s.stop_argv(Path::new("SCANDIR"), u32::MAX, &["DIR...".into()]);
            let cmds: Vec<String> = argv.iter().map(|a| words(a)).collect();
            format!(
                "{}: `{}`",
                s.name(),
                cmds.join("; ").replace(&u32::MAX.to_string(), "PID")
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let scanners = b
        .suites
        .iter()
        .map(|s| {
            format!(
                "`{}`",
                words(&s.scanner_argv(Path::new("SCANDIR"), 1000)).replace("1000", "N")
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut notes = vec![
        format!(
            "Services whose ./run is the sleeping static daemon; one suite at a time, suites in rotating order, on a scan directory last modified 10 s before (runsvdir waits a second before scanning a directory modified within the current second). Up: from the reaper's clock read just before it forks the scanner until the last daemon's own start stamp (CLOCK_MONOTONIC). PSS and CPU time (/proc/PID/schedstat): the scanner and every supervisor, 1 s after all are up. Down: from the stop command until the last daemon and the last supervisor have exited (pidfd + epoll)."
        ),
        format!(
            "Scanners: {scanners} (s6-svscan and rs6-svscan take 500 services unless `-c` says more; runsvdir and svscan have no such option). Stop: {stops}."
        ),
    ];
    if !limits.is_empty() {
        notes.push(format!(
            "Not every daemon came up: {}. runsvdir and daemontools' svscan refuse more than 1000 services (\"too many services\", a compiled-in limit).",
            limits.join(", ")
        ));
    }
    Ok(Section {
        title: "Scale".into(),
        rows,
        notes,
    })
}

/// ARGV as words, the program by its file name.
fn words(argv: &[OsString]) -> String {
    argv.iter()
        .enumerate()
        .map(|(i, w)| {
            let p = Path::new(w);
            let w = if i == 0 {
                p.file_name().unwrap_or(w)
            } else {
                w.as_os_str()
            };
            w.to_string_lossy().into_owned()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downwatch_line() {
        assert_eq!(parse_downwatch("1000000 3000000 5000000 0\n"), Some(4.0));
        assert_eq!(parse_downwatch("1000000 3000000 5000000 2\n"), None);
        assert_eq!(parse_downwatch("garbage"), None);
    }
}
