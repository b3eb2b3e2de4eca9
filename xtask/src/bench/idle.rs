//! Step `idle`: 10 services per suite, every suite's tree up at once, each daemon a
//! sleeping static program. Memory of the scanner and of each supervisor (smaps_rollup);
//! then, over one window with nothing attached, context switches (/proc/PID/status); then,
//! over a second window, system calls (one `strace -c -p PID` per process).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::harness::{Bench, Instance, Strace};
use super::procfs::{self, Mem};
use super::report::{Fmt, Row, Section, int};
use super::stats::Summary;
use super::suite::Kind;
use crate::util::{Result, progress, run};

/// Services per suite.
const SERVICES: usize = 10;

/// What one process did in the windows.
#[derive(Default)]
struct Proc {
    pid: u32,
    mem: Option<Mem>,
    ctxt_per_min: Option<f64>,
    calls_per_min: Option<f64>,
    calls: BTreeMap<String, u64>,
}

/// Figures of one suite: the scanner, then its supervisors.
struct Tree {
    scanner: Proc,
    sups: Vec<Proc>,
}

/// Runs the step with windows of WINDOW each.
pub(crate) fn idle(b: &Bench, window: Duration) -> Result<Section> {
    let mut insts = Vec::new();
    for s in &b.suites {
        insts.push(Instance::start(b, s, "idle", SERVICES, "sleeper", true)?);
    }
    for i in &mut insts {
        let got = i.wait_up(SERVICES, Duration::from_secs(20), Duration::from_secs(20));
        if got.len() < SERVICES {
            progress(format!(
                "bench: warning: idle: {}: {} of {SERVICES} daemons up",
                i.suite.name(),
                got.len()
            ));
        }
    }
    // Let start-up work end (daemontools' supervise sleeps a second after each start).
    std::thread::sleep(Duration::from_secs(2));
    run(&mut std::process::Command::new("sync"))?;
    let mut trees: BTreeMap<Kind, Tree> = BTreeMap::new();
    for i in &insts {
        let p = |pid| Proc {
            pid,
            mem: procfs::mem(pid),
            ..Proc::default()
        };
        let sups = i.supervisors();
        if sups.len() != SERVICES {
            progress(format!(
                "bench: warning: idle: {}: {} supervisors found",
                i.suite.name(),
                sups.len()
            ));
        }
        trees.insert(
            i.suite.kind,
            Tree {
                scanner: p(i.scanner()),
                sups: sups.into_iter().map(p).collect(),
            },
        );
    }

    progress(format!(
        "bench: idle: window 1/2: context switches over {} s",
        window.as_secs()
    ));
    let before: Vec<Option<u64>> = procs(&trees).map(|p| procfs::ctxt(p.pid)).collect();
    let t = Instant::now();
    std::thread::sleep(window);
    let mins = t.elapsed().as_secs_f64() / 60.0;
    let after: Vec<Option<u64>> = procs(&trees).map(|p| procfs::ctxt(p.pid)).collect();
    for (p, (a, z)) in procs_mut(&mut trees).zip(before.into_iter().zip(after)) {
        p.ctxt_per_min = a.zip(z).map(|(a, z)| z.saturating_sub(a) as f64 / mins);
    }

    progress(format!(
        "bench: idle: window 2/2: system calls over {} s (strace -c -p, one per process)",
        window.as_secs()
    ));
    let mut straces = Vec::new();
    for p in procs(&trees) {
        let out = b.tmp.join(format!("strace.{}", p.pid));
        straces.push(Strace::attach(b, p.pid, out)?);
    }
    std::thread::sleep(Duration::from_millis(500)); // every strace attached
    let attached: Vec<bool> = straces.iter_mut().map(|s| s.attached()).collect();
    let t = Instant::now();
    std::thread::sleep(window);
    let mins = t.elapsed().as_secs_f64() / 60.0;
    let texts: Vec<String> = straces.iter_mut().map(|s| s.finish()).collect();
    drop(straces);
    drop(insts);
    for (p, (ok, text)) in procs_mut(&mut trees).zip(attached.into_iter().zip(texts)) {
        if ok {
            p.calls = procfs::parse_strace_c(&text);
            p.calls_per_min = Some(p.calls.values().sum::<u64>() as f64 / mins);
        } else {
            progress(format!(
                "bench: warning: idle: strace did not attach to {}",
                p.pid
            ));
        }
    }
    Ok(section(&trees, window))
}

fn procs(t: &BTreeMap<Kind, Tree>) -> impl Iterator<Item = &Proc> {
    t.values()
        .flat_map(|t| std::iter::once(&t.scanner).chain(t.sups.iter()))
}

fn procs_mut(t: &mut BTreeMap<Kind, Tree>) -> impl Iterator<Item = &mut Proc> {
    t.values_mut()
        .flat_map(|t| std::iter::once(&mut t.scanner).chain(t.sups.iter_mut()))
}

fn section(trees: &BTreeMap<Kind, Tree>, window: Duration) -> Section {
    let one = |x: Option<f64>| x.map(Summary::one);
    let scn =
        |k: Kind, f: &dyn Fn(&Proc) -> Option<f64>| one(trees.get(&k).and_then(|t| f(&t.scanner)));
    let sup = |k: Kind, f: &dyn Fn(&Proc) -> Option<f64>| {
        let v: Vec<f64> = trees
            .get(&k)
            .map_or(vec![], |t| t.sups.iter().filter_map(f).collect());
        Summary::of(&v)
    };
    let total = |k: Kind, f: &dyn Fn(&Proc) -> Option<f64>| {
        let t = trees.get(&k)?;
        let mut sum = f(&t.scanner)?;
        for s in &t.sups {
            sum += f(s)?;
        }
        Some(Summary::one(sum))
    };
    let rss = |p: &Proc| p.mem.map(|m| m.rss as f64);
    let pss = |p: &Proc| p.mem.map(|m| m.pss as f64);
    let private = |p: &Proc| p.mem.map(|m| m.private as f64);
    let calls = |p: &Proc| p.calls_per_min;
    let ctxt = |p: &Proc| p.ctxt_per_min;
    let rows = vec![
        Row::stats("scanner RSS, KiB", Fmt::Int, |k| scn(k, &rss)),
        Row::stats("scanner PSS, KiB", Fmt::Int, |k| scn(k, &pss)),
        Row::stats("scanner Private, KiB", Fmt::Int, |k| scn(k, &private)),
        Row::stats("supervisor RSS, KiB", Fmt::Int, |k| sup(k, &rss)),
        Row::stats("supervisor PSS, KiB", Fmt::Int, |k| sup(k, &pss)),
        Row::stats("supervisor Private, KiB", Fmt::Int, |k| sup(k, &private)),
        Row::stats(
            format!("scanner + {SERVICES} supervisors PSS, KiB"),
            Fmt::Int,
            |k| total(k, &pss),
        ),
        Row::stats("scanner syscalls/min", Fmt::Sig, |k| scn(k, &calls)),
        Row::stats("supervisor syscalls/min", Fmt::Sig, |k| sup(k, &calls)),
        Row::stats(
            format!("scanner + {SERVICES} supervisors syscalls/min"),
            Fmt::Sig,
            |k| total(k, &calls),
        ),
        Row::stats("scanner context switches/min", Fmt::Sig, |k| scn(k, &ctxt)),
        Row::stats("supervisor context switches/min", Fmt::Sig, |k| {
            sup(k, &ctxt)
        }),
        Row::stats(
            format!("scanner + {SERVICES} supervisors context switches/min"),
            Fmt::Sig,
            |k| total(k, &ctxt),
        ),
    ];
    let mut detail = Vec::new();
    for (k, t) in trees {
        let top = |calls: &BTreeMap<String, u64>| {
            let mut v: Vec<(&String, &u64)> = calls.iter().collect();
            v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            if v.is_empty() {
                "none".to_string()
            } else {
                v.iter()
                    .take(5)
                    .map(|(n, c)| format!("{n} {}", int(**c as f64)))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let mut sups = BTreeMap::new();
        for s in &t.sups {
            for (n, c) in &s.calls {
                *sups.entry(n.clone()).or_insert(0) += c;
            }
        }
        detail.push(format!(
            "{}: scanner: {}; all {} supervisors: {}",
            k.name(),
            top(&t.scanner.calls),
            t.sups.len(),
            top(&sups)
        ));
    }
    let w = window.as_secs();
    Section {
        title: format!("Idle, {SERVICES} services up"),
        rows,
        notes: vec![
            format!(
                "{SERVICES} services per suite, every suite's tree up at once; each daemon is a static program that sleeps in pause(2). Memory: /proc/PID/smaps_rollup 2 s after all daemons are up, after sync(1); supervisor rows are the median (min–max) over the {SERVICES} supervisors. PSS divides shared pages among the processes mapping them (libc is shared with the whole machine), Private is what one more process costs."
            ),
            format!(
                "Context switches: voluntary + involuntary (/proc/PID/status) over a {w} s window with nothing attached; system calls: `strace -c -p PID`, one per process, over a second {w} s window (`restart_syscall`, the attach itself, not counted); both scaled to a minute."
            ),
            format!(
                "System calls in the {w} s window, most frequent first: {}.",
                detail.join(". ")
            ),
        ],
    }
}
