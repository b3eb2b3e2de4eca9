//! `cargo xtask bench [--quick] [--only STEP,...] [--keep]`: rs6 measured beside the suites
//! one would pick instead — Debian's s6, runit and daemontools — doing the same work in one
//! run: sizes, idle memory, idle system calls and context switches, restart latency beside a
//! bare fork+exec floor, control round trips, 1000 and 10,000 services, logger throughput.
//! Prints a markdown table (median and min–max of repeated runs, ratio rs6/s6) and writes it
//! to `bench/RESULTS.md` with the machine, date and command (`--only` runs write
//! `target/bench/RESULTS.md` instead, so a partial run never replaces the full one).
//!
//! Timing is measured and reported, never asserted. Everything runs in a temporary
//! directory; every process is started below a guard that ends it by pid (see
//! `bench/harness.rs`). The small programs the bench needs (the reaper, the sleeping
//! daemon, the restart probe, the fork+exec floor, the down-watcher) are Rust files in
//! `bench/helpers/`, compiled with rustc at the start of each run.

mod control;
mod harness;
mod idle;
mod logs;
mod procfs;
mod report;
mod restart;
mod scale;
mod sizes;
mod stats;
mod suite;

use std::process::{Command, ExitCode};
use std::time::{Duration, SystemTime};

use crate::build::{Profile, cargo_build};
use crate::util::{Result, elapsed, err, progress, project_root, run, target_dir};
use harness::Bench;
use report::{Section, results_table};
use suite::{ALL, Suite};

const USAGE: &str = "usage: cargo xtask bench [--quick] [--only STEP[,STEP...]] [--keep]
  rs6 beside s6, runit and daemontools; writes bench/RESULTS.md
  --quick   short windows and small counts (about 2 minutes instead of 10)
  --only    steps among: sizes, idle, restart, control, scale, log
            (the table then goes to target/bench/RESULTS.md)
  --keep    keep the temporary directory (scan directories, logs)";

/// A step of the bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Sizes,
    Idle,
    Restart,
    Control,
    Scale,
    Log,
}

const STEPS: [(Step, &str); 6] = [
    (Step::Sizes, "sizes"),
    (Step::Idle, "idle"),
    (Step::Restart, "restart"),
    (Step::Control, "control"),
    (Step::Scale, "scale"),
    (Step::Log, "log"),
];

/// The command line.
#[derive(Debug, PartialEq, Eq)]
struct Opts {
    quick: bool,
    /// None: every step.
    only: Option<Vec<Step>>,
    keep: bool,
}

impl Opts {
    /// Parses the arguments after `bench`; Ok(None) means help.
    fn parse(args: &[String]) -> Result<Option<Opts>> {
        let mut o = Opts {
            quick: false,
            only: None,
            keep: false,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quick" => o.quick = true,
                "--keep" => o.keep = true,
                "--only" => {
                    let v = it.next().ok_or_else(|| err("--only needs a value"))?;
                    let mut steps = Vec::new();
                    for name in v.split(',').filter(|s| !s.is_empty()) {
                        let step = STEPS
                            .iter()
                            .find(|s| s.1 == name)
                            .ok_or_else(|| err(format!("--only: unknown step `{name}`")))?;
                        steps.push(step.0);
                    }
                    if steps.is_empty() {
                        return Err(err("--only needs a value"));
                    }
                    o.only = Some(steps);
                }
                "-h" | "--help" => return Ok(None),
                other => return Err(err(format!("bench: unexpected argument `{other}`"))),
            }
        }
        Ok(Some(o))
    }

    fn runs(&self, step: Step) -> bool {
        self.only.as_ref().is_none_or(|v| v.contains(&step))
    }
}

/// Counts and windows of a run.
struct Plan {
    idle_window: Duration,
    restart_runs: usize,
    control_reps: usize,
    /// (services, repetitions)
    scale: Vec<(usize, usize)>,
    log_bytes: u64,
    log_reps: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                idle_window: Duration::from_secs(5),
                restart_runs: 10,
                control_reps: 5,
                scale: vec![(1000, 1)],
                log_bytes: 50_000_000,
                log_reps: 2,
            }
        } else {
            Plan {
                idle_window: Duration::from_secs(30),
                restart_runs: 50,
                control_reps: 20,
                scale: vec![(1000, 3), (10_000, 1)],
                log_bytes: 200_000_000,
                log_reps: 3,
            }
        }
    }
}

/// `cargo xtask bench ARGS`.
pub(crate) fn main(args: &[String]) -> ExitCode {
    let opts = match Opts::parse(args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("xtask: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match bench(&opts, args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("[xtask {:.1}s] error: {e}", elapsed());
            ExitCode::FAILURE
        }
    }
}

/// The Debian packages of the peers and strace, each with a program it installs.
const PACKAGES: [(&str, &str); 4] = [
    ("s6", "s6-svscan"),
    ("runit", "runsvdir"),
    ("daemontools", "svscan"),
    ("strace", "strace"),
];

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Installs the missing packages (runit without recommends: nothing may hook it into init).
fn packages() -> Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(_, prog)| suite::which(prog).is_none())
        .map(|(pkg, _)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let args = ["install", "-y", "-q", "--no-install-recommends"];
    if !is_root() {
        return Err(err(format!(
            "missing Debian packages: {}; run: sudo apt-get {} {}",
            missing.join(" "),
            args.join(" "),
            missing.join(" ")
        )));
    }
    let install = || {
        let mut c = Command::new("apt-get");
        c.env("DEBIAN_FRONTEND", "noninteractive")
            .args(args)
            .args(&missing);
        run(&mut c)
    };
    if install().is_err() {
        run(Command::new("apt-get").args(["update", "-q"]))?;
        install()?;
    }
    progress(format!("bench: installed {}", missing.join(" ")));
    Ok(())
}

fn bench(opts: &Opts, args: &[String]) -> Result<bool> {
    let started = std::time::Instant::now();
    let plan = Plan::new(opts.quick);
    packages()?;
    cargo_build(crate::DEFAULT_ARCH, Profile::Release)?;
    let rs6 = Profile::Release.dir();
    let suites = ALL
        .iter()
        .map(|&k| Suite::find(k, &rs6).map_err(|e| err(format!("{}: {e}", k.name()))))
        .collect::<Result<Vec<_>>>()?;
    let b = Bench::new(suites, opts.keep)?;
    let facts = machine(args);
    let mut sections: Vec<Section> = Vec::new();
    let mut failed: Vec<String> = Vec::new();
    for (step, name) in STEPS {
        if !opts.runs(step) {
            continue;
        }
        progress(format!("bench: step {name}"));
        let r = match step {
            Step::Sizes => Ok(sizes::sizes(&b)),
            Step::Idle => idle::idle(&b, plan.idle_window),
            Step::Restart => restart::restart(&b, plan.restart_runs),
            Step::Control => control::control(&b, plan.control_reps),
            Step::Scale => scale::scale(&b, &plan.scale),
            Step::Log => logs::logs(&b, plan.log_bytes, plan.log_reps),
        };
        match r {
            Ok(s) => sections.push(s),
            Err(e) => {
                progress(format!("bench: step {name} failed: {e}"));
                failed.push(format!("{name}: {e}"));
            }
        }
    }
    drop(b);
    let took = started.elapsed().as_secs_f64();
    let text = markdown(&facts, &sections, &failed, took);
    let out = if opts.only.is_some() {
        target_dir().join("bench/RESULTS.md")
    } else {
        project_root().join("bench/RESULTS.md")
    };
    if let Some(d) = out.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(&out, &text)?;
    println!("{text}");
    progress(format!(
        "bench: {} steps in {:.0} s, written to {}{}",
        sections.len(),
        took,
        out.display(),
        if failed.is_empty() {
            String::new()
        } else {
            format!("; {} failed", failed.len())
        }
    ));
    Ok(failed.is_empty())
}

/// The machine, the date and the command, as `(what, value)` lines.
fn machine(args: &[String]) -> Vec<(&'static str, String)> {
    let first = |path: &str, key: &str| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(key))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "?".into())
    };
    let trim =
        |path: &str| std::fs::read_to_string(path).map_or("?".into(), |s| s.trim().to_string());
    let quiet = |c: &mut Command| {
        c.output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let pkgs = PACKAGES
        .iter()
        .map(|(p, _)| {
            let v = quiet(Command::new("dpkg-query").args(["-W", "-f", "${Version}", p]));
            format!("{p} {}", v.unwrap_or_else(|| "?".into()))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let rs6 = quiet(
        Command::new("git")
            .current_dir(project_root())
            .args(["describe", "--always", "--dirty"]),
    );
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    vec![
        ("date", utc(now)),
        (
            "command",
            format!("cargo xtask bench {}", args.join(" "))
                .trim_end()
                .to_string(),
        ),
        (
            "nproc",
            std::thread::available_parallelism().map_or("?".into(), |n| n.to_string()),
        ),
        ("model name", first("/proc/cpuinfo", "model name")),
        ("memory", first("/proc/meminfo", "MemTotal")),
        ("kernel", trim("/proc/sys/kernel/osrelease")),
        ("Debian", trim("/etc/debian_version")),
        ("packages", pkgs),
        (
            "rs6",
            format!(
                "{} (static musl release build)",
                rs6.unwrap_or_else(|| "?".into())
            ),
        ),
        ("load average at start", loadavg()),
        ("temporary directory", {
            let t = harness::temp_root();
            format!("{} ({})", t.display(), harness::fs_type(&t))
        }),
    ]
}

/// The 1, 5 and 15 minute load averages.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// "YYYY-MM-DD HH:MM UTC" for SECS since the epoch.
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The whole report.
fn markdown(
    facts: &[(&str, String)],
    sections: &[Section],
    failed: &[String],
    took: f64,
) -> String {
    let mut s = String::from("# rs6 beside s6, runit and daemontools\n\n");
    s.push_str("Generated by `cargo xtask bench`; do not edit by hand. Medians of repeated runs, min–max in parentheses; rs6/s6 is the ratio of the medians: below 1, rs6 is smaller, faster or quieter (for the one throughput row, above 1 is better).\n\n");
    for (k, v) in facts {
        s.push_str(&format!("- {k}: {v}\n"));
    }
    s.push_str(&format!(
        "- duration: {took:.0} s; load average at the end: {}\n\n",
        loadavg()
    ));
    if !sections.is_empty() {
        s.push_str(&results_table(sections));
        s.push_str("\n\n## How each figure was measured\n");
        for sec in sections {
            s.push_str(&format!("\n### {}\n\n", sec.title));
            for n in &sec.notes {
                s.push_str(&format!("- {n}\n"));
            }
        }
    }
    if !failed.is_empty() {
        s.push_str("\n## Steps that failed\n\n");
        for f in failed {
            s.push_str(&format!("- {f}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Option<Opts>> {
        let v: Vec<String> = s.split_whitespace().map(str::to_string).collect();
        Opts::parse(&v)
    }

    #[test]
    fn options() {
        let o = parse("").unwrap().unwrap();
        assert_eq!((o.quick, o.only, o.keep), (false, None, false));
        let o = parse("--quick --only restart,log --keep").unwrap().unwrap();
        assert!(o.quick && o.keep);
        assert_eq!(o.only, Some(vec![Step::Restart, Step::Log]));
        assert!(o.runs(Step::Log) && !o.runs(Step::Idle));
        assert!(parse("--help").unwrap().is_none());
        for bad in ["--only", "--only frob", "--only ,", "extra", "--kvm"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13 UTC");
    }

    #[test]
    fn report_lists_facts_and_failures() {
        let text = markdown(&[("nproc", "2".into())], &[], &["scale: boom".into()], 3.0);
        assert!(text.contains("- nproc: 2\n"));
        assert!(text.contains("- duration: 3 s; load average at the end: "));
        assert!(text.contains("- scale: boom\n"));
    }
}
