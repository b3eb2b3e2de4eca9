//! Step `control`: command round trips, as a user's script sees them. One service per suite,
//! every suite at once; take it down and wait until it is down, bring it up and wait until it
//! is up: with the suite's own waiting command (`s6-svc -wd -d`, `rs6-svc -wd -d`,
//! `sv -w down`; daemontools has none: `svc -d`, then polling), and with the plain command
//! followed by polling `supervise/status` every millisecond.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::harness::{Bench, Instance};
use super::report::{Fmt, Row, Section};
use super::stats::Summary;
use super::suite::{Kind, Suite, Wait};
use crate::util::{Result, display_cmd, progress, project_root};

/// A down is sent at least this long after the last up: daemontools' supervise sleeps a
/// second after each start and reads no command meanwhile.
const GAP: Duration = Duration::from_millis(1100);
/// Between a down and the next up.
const PAUSE: Duration = Duration::from_millis(100);
/// Status polling period.
const POLL: Duration = Duration::from_millis(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Variant {
    Own,
    Poll,
}

/// Runs CMD; with POLL, then polls DIR's status until the daemon is up (UP) or down.
/// Returns the wall time, and whether the state was reached when it returned.
fn timed(s: &Suite, cmd: Wait, dir: &Path, up: bool, b: &Bench, key: &str) -> (f64, bool) {
    let reached = |s: &Suite| s.status_pid(dir).is_some_and(|p| (p != 0) == up);
    let t = Instant::now();
    let (mut c, poll) = match cmd {
        Wait::Cli(c) => (c, false),
        Wait::Poll(c) => (c, true),
    };
    b.echo_once(key, &c);
    let st = c.status();
    let ok = st.as_ref().is_ok_and(|st| st.success());
    if poll && ok {
        while !reached(s) && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(POLL);
        }
    }
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let good = ok && reached(s);
    let seen = std::fs::read(dir.join("supervise/status")).unwrap_or_default();
    if !good {
        progress(format!(
            "bench: warning: control: `{}` ({}) returned after {ms:.1} ms; supervise/status: {:02x?}",
            display_cmd(&c),
            st.map_or_else(|e| e.to_string(), |st| st.to_string()),
            seen,
        ));
    }
    (ms, good)
}

/// Runs REPS rounds.
pub(crate) fn control(b: &Bench, reps: usize) -> Result<Section> {
    let mut insts = Vec::new();
    for s in &b.suites {
        let mut i = Instance::start(b, s, "control", 1, "sleeper", true)?;
        i.wait_up(1, Duration::from_secs(10), Duration::from_secs(10));
        insts.push(i);
    }
    std::thread::sleep(GAP);
    let mut res: BTreeMap<(Kind, Variant, bool), Vec<f64>> = BTreeMap::new();
    let mut wrong: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut last_up: BTreeMap<Kind, Instant> = BTreeMap::new();
    progress(format!(
        "bench: control: {reps} rounds of down-and-wait, up-and-wait"
    ));
    for r in 0..reps {
        for v in [Variant::Own, Variant::Poll] {
            let k = r % insts.len();
            let order: Vec<&Instance> = insts[k..].iter().chain(&insts[..k]).collect();
            for i in order {
                let s = i.suite;
                let dir = &i.services[0];
                if let Some(t) = last_up.get(&s.kind) {
                    std::thread::sleep(GAP.saturating_sub(t.elapsed()));
                }
                for up in [false, true] {
                    let cmd = match v {
                        Variant::Own if up => s.up_wait(dir),
                        Variant::Own => s.down_wait(dir),
                        Variant::Poll => Wait::Poll(s.send(dir, up)),
                    };
                    let key = format!("control {} {v:?} {up}", s.name());
                    let (ms, ok) = timed(s, cmd, dir, up, b, &key);
                    res.entry((s.kind, v, up)).or_default().push(ms);
                    if !ok {
                        *wrong.entry(s.kind).or_default() += 1;
                    }
                    if up {
                        last_up.insert(s.kind, Instant::now());
                    } else {
                        std::thread::sleep(PAUSE);
                    }
                }
            }
        }
    }
    let own: Vec<String> = insts
        .iter()
        .map(|i| {
            let show = |w: Wait| match w {
                Wait::Cli(c) => display_cmd(&c),
                Wait::Poll(c) => format!("{} + polling", display_cmd(&c)),
            };
            let d = Path::new("DIR");
            format!(
                "{}: `{}`, `{}`",
                i.suite.name(),
                show(i.suite.down_wait(d)),
                show(i.suite.up_wait(d))
            )
        })
        .collect();
    drop(insts);
    let get = |v, up| {
        let res = &res;
        move |k: Kind| Summary::of(res.get(&(k, v, up)).map_or(&[][..], |x| &x[..]))
    };
    let rows = vec![
        Row::stats(
            "down-and-wait, own command, ms",
            Fmt::Sig,
            get(Variant::Own, false),
        ),
        Row::stats(
            "up-and-wait, own command, ms",
            Fmt::Sig,
            get(Variant::Own, true),
        ),
        Row::stats(
            "down + status polling, ms",
            Fmt::Sig,
            get(Variant::Poll, false),
        ),
        Row::stats(
            "up + status polling, ms",
            Fmt::Sig,
            get(Variant::Poll, true),
        ),
    ];
    let wrong = if wrong.is_empty() {
        "none".to_string()
    } else {
        wrong
            .iter()
            .map(|(k, n)| format!("{} {n}", k.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let own = own
        .iter()
        .map(|s| s.replace(&*project_root().to_string_lossy(), "."))
        .collect::<Vec<_>>()
        .join("; ");
    Ok(Section {
        title: "Control round trip".into(),
        rows,
        notes: vec![
            format!(
                "One service per suite, every suite at once, one command at a time, {reps} rounds, suites in rotating order; wall time around the command as xtask spawns it (fork + exec of the tool included). A down is sent ≥ {} s after the last up (daemontools' supervise sleeps a second after each start), an up {} s after the down. Polling reads `supervise/status` every {} ms until it shows ./run running (up) or not (down; s6's status shows ./finish's pid while finishing, and s6-supervise spawns ./finish after each death even when there is none). Commands that returned before the state was reached: {wrong}.",
                GAP.as_secs_f64(),
                PAUSE.as_secs_f64(),
                POLL.as_millis()
            ),
            format!("Own commands: {own}."),
        ],
    })
}
