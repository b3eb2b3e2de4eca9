//! Step `restart`: a daemon that has been up for more than a second exits by itself; how long
//! until the supervisor has the next one running? The daemon is the `probe` helper: it stamps
//! CLOCK_MONOTONIC first thing in main ("S"), and when told (SIGUSR1) stamps again ("E") and
//! exits 0. Latency = next S − E. Every suite runs at once, beside the floor (a bare
//! fork/exec/waitpid loop running the same probe); one restart at a time, lanes in turn.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::harness::{Bench, Instance, Tree, service, signal};
use super::report::{Fmt, Row, Section, cell};
use super::stats::Summary;
use super::suite::Kind;
use crate::util::{Result, progress};

/// How long a daemon stays up before it is told to exit: over the one second every
/// supervisor waits before restarting a daemon that died younger than that.
const HOLD: Duration = Duration::from_millis(1200);

/// One line of a probe's `stamps` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// `S` (started) or `E` (exiting).
    pub(crate) kind: char,
    pub(crate) ns: u64,
    pub(crate) pid: u32,
}

/// Parses a `stamps` file (a partly written last line is left out).
pub(crate) fn parse_stamps(text: &str) -> Vec<Stamp> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split(' ');
            let kind = w.next()?.chars().next()?;
            let ns = w.next()?.parse().ok()?;
            let pid = w.next()?.parse().ok()?;
            (w.next().is_none() && matches!(kind, 'S' | 'E')).then_some(Stamp { kind, ns, pid })
        })
        .collect()
}

/// The restart latencies (ns) in STAMPS: each E followed by the next S.
pub(crate) fn latencies(stamps: &[Stamp]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut exit: Option<u64> = None;
    for s in stamps {
        match (s.kind, exit) {
            ('E', _) => exit = Some(s.ns),
            ('S', Some(e)) => {
                out.push(s.ns.saturating_sub(e));
                exit = None;
            }
            _ => {}
        }
    }
    out
}

struct Lane {
    /// None: the floor.
    kind: Option<Kind>,
    /// The service has ./notification-fd and the probe reports readiness.
    ready: bool,
    dir: PathBuf,
    samples: usize,
    misses: u32,
    /// When the lane's current daemon was seen started.
    seen: Instant,
    /// Starts seen before the last SIGUSR1 and when it was sent, while waiting for the next.
    inflight: Option<(usize, Instant)>,
}

impl Lane {
    fn new(kind: Option<Kind>, ready: bool, dir: PathBuf) -> Lane {
        Lane {
            kind,
            ready,
            dir,
            samples: 0,
            misses: 0,
            seen: Instant::now(),
            inflight: None,
        }
    }

    fn stamps(&self) -> Vec<Stamp> {
        parse_stamps(&std::fs::read_to_string(self.dir.join("stamps")).unwrap_or_default())
    }

    fn starts(&self) -> Vec<Stamp> {
        self.stamps()
            .into_iter()
            .filter(|s| s.kind == 'S')
            .collect()
    }

    fn label(&self) -> String {
        let name = self.kind.map_or("floor", Kind::name);
        if self.ready {
            format!("{name} + readiness")
        } else {
            name.to_string()
        }
    }

    /// Latencies so far, in ms.
    fn ms(&self) -> Option<Summary> {
        let v: Vec<f64> = latencies(&self.stamps())
            .iter()
            .map(|&ns| ns as f64 / 1e6)
            .collect();
        Summary::of(&v)
    }
}

/// A restart in flight for longer than this is in a supervisor's throttle pause: another
/// lane may be restarted meanwhile.
const QUIET: Duration = Duration::from_millis(50);

/// Runs RUNS restarts per lane.
pub(crate) fn restart(b: &Bench, runs: usize) -> Result<Section> {
    let mut insts = Vec::new();
    let mut lanes = Vec::new();
    for s in &b.suites {
        // s6 and rs6: a second service whose probe reports readiness.
        let n = if s.kind.notifies() { 2 } else { 1 };
        let inst = Instance::start_with(b, s, "restart", n, "probe", false, |dirs| {
            match dirs.get(1) {
                Some(d) => std::fs::write(d.join("notification-fd"), "3\n").map_err(Into::into),
                None => Ok(()),
            }
        })?;
        lanes.push(Lane::new(Some(s.kind), false, inst.services[0].clone()));
        if let Some(d) = inst.services.get(1) {
            lanes.push(Lane::new(Some(s.kind), true, d.clone()));
        }
        insts.push(inst);
    }
    let fdir = b.fresh_dir("floor")?;
    let fsvc = service(&fdir, "svc", &b.helper("probe"))?;
    let floor = Tree::start(
        b,
        "floor",
        &[b.helper("floor").into()],
        &fsvc,
        &[],
        &fdir.join("floor.log"),
    )?;
    lanes.push(Lane::new(None, false, fsvc));
    for l in &mut lanes {
        let t = Instant::now();
        while l.starts().is_empty() && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        l.seen = Instant::now();
        if l.starts().is_empty() {
            progress(format!(
                "bench: warning: restart: {}: no daemon started",
                l.label()
            ));
            l.misses = 3;
        }
    }
    progress(format!(
        "bench: restart: {runs} restarts per lane ({} lanes), each daemon up {} s first",
        lanes.len(),
        HOLD.as_secs_f64()
    ));
    let deadline = Instant::now() + Duration::from_secs(30) + HOLD * 3 * runs as u32;
    while Instant::now() < deadline {
        for l in lanes.iter_mut() {
            let Some((before, sent)) = l.inflight else {
                continue;
            };
            if l.starts().len() > before {
                l.samples += 1;
            } else if sent.elapsed() > Duration::from_secs(3) {
                l.misses += 1;
                progress(format!(
                    "bench: warning: restart: {}: no new daemon within 3 s",
                    l.label()
                ));
            } else {
                continue;
            }
            l.inflight = None;
            l.seen = Instant::now();
        }
        let open = |l: &Lane| l.samples < runs && l.misses < 3;
        if !lanes.iter().any(|l| open(l) || l.inflight.is_some()) {
            break;
        }
        let busy = lanes
            .iter()
            .any(|l| l.inflight.is_some_and(|(_, t)| t.elapsed() < QUIET));
        let next = lanes
            .iter_mut()
            .filter(|l| open(l) && l.inflight.is_none() && l.seen.elapsed() >= HOLD)
            .min_by_key(|l| (l.samples, l.seen));
        match next {
            Some(l) if !busy => {
                let starts = l.starts();
                if let Some(last) = starts.last() {
                    signal(last.pid, "USR1");
                    l.inflight = Some((starts.len(), Instant::now()));
                } else {
                    l.misses += 1;
                }
            }
            _ => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    drop(floor);
    drop(insts);
    // The probe's own exec + start-up, inside every figure (the floor's too).
    let mut c = Command::new(b.helper("floor"));
    c.arg("--cost").arg(b.helper("probe")).arg("100");
    b.echo_once("floor --cost", &c);
    let cost: Vec<f64> = String::from_utf8_lossy(&c.output()?.stdout)
        .split_whitespace()
        .filter_map(|w| w.parse::<f64>().ok())
        .map(|ns| ns / 1e6)
        .collect();

    let floor = lanes.iter().find(|l| l.kind.is_none()).and_then(Lane::ms);
    let lane = |k: Kind, ready: bool| {
        lanes
            .iter()
            .find(|l| l.kind == Some(k) && l.ready == ready)
            .and_then(Lane::ms)
    };
    let counts = lanes
        .iter()
        .map(|l| format!("{} {}", l.label(), latencies(&l.stamps()).len()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = vec![
        Row::stats(
            format!(
                "restart latency, ms (fork+exec floor: {})",
                cell(floor, Fmt::Sig)
            ),
            Fmt::Sig,
            |k| lane(k, false),
        ),
        Row::stats("restart latency p90, ms", Fmt::Sig, |k| {
            lane(k, false).map(|s| Summary::one(s.p90))
        }),
        Row::stats(
            "restart latency, readiness on notification-fd, ms",
            Fmt::Sig,
            |k| lane(k, true),
        ),
        Row::stats(
            "restart latency p90, readiness on notification-fd, ms",
            Fmt::Sig,
            |k| lane(k, true).map(|s| Summary::one(s.p90)),
        ),
    ];
    Ok(Section {
        title: "Restart".into(),
        rows,
        notes: vec![
            format!("The daemon is a static probe exec'd directly as ./run; it stamps CLOCK_MONOTONIC first thing in main. After ≥ {} s up it gets SIGUSR1, stamps again and exits 0 by itself; latency = next start stamp − exit stamp. Every suite and the floor (a bare fork/exec/waitpid loop running the same probe: no status, no throttle) run at once; one restart at a time, lanes in turn (a lane waiting in a supervisor's 1 s pause does not hold the others). Samples: {counts}.", HOLD.as_secs_f64()),
            "s6-supervise (and rs6-supervise, which follows it) restarts at once only a service that was *ready* for more than a second, and pauses a second before restarting one that was not: a daemon without ./notification-fd is never marked ready, hence the ~1 s of the first row. The readiness rows give the same service a ./notification-fd (3) on which the probe writes a newline right after its start stamp; runsv and supervise have no readiness protocol and restart at once after a second of uptime.".to_string(),
            format!("The probe's own exec + start-up (fork, clock read, execve, clock read in the new program), inside every figure: {} ms over {} runs.", cell(Summary::of(&cost), Fmt::Sig), cost.len()),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_and_latencies() {
        let text = "S 100 7\nE 1000 7\nS 1300 8\nE 5000 8\nS 5600 9\nE 9";
        let st = parse_stamps(text);
        assert_eq!(st.len(), 5);
        assert_eq!(
            st[1],
            Stamp {
                kind: 'E',
                ns: 1000,
                pid: 7
            }
        );
        assert_eq!(latencies(&st), [300, 600]);
        // A start without an exit stamp before it (a down, a crash) is no sample.
        assert_eq!(
            latencies(&parse_stamps("S 1 1\nS 5 2\nE 9 2\nS 12 3\n")),
            [3]
        );
    }
}
