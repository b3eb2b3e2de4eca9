//! `cargo xtask fuzz [--secs N] [--merge] [--check] [TARGET...]`: coverage-guided fuzzing
//! of the parsers of untrusted bytes (`fuzz/`, its own cargo workspace) with cargo-fuzz and
//! libFuzzer, on the stable toolchain: cargo-fuzz's `-Z` flags are accepted through
//! `RUSTC_BOOTSTRAP=1`, set for the fuzz build only (never for the workspace, whose
//! `.cargo/config.toml` flags a RUSTFLAGS would replace).
//!
//! Each target runs for N seconds (default 60), one after the other, on a working corpus
//! under `fuzz/target/corpus/TARGET/` seeded from the kept corpus `fuzz/corpus/TARGET/`;
//! the table gives executions, executions per second and the verdict. `--merge` rebuilds
//! the generated part of the kept corpus: the seeds (any file not named by a SHA-1) plus
//! the inputs that reach new edges (libFuzzer `-merge=1 -use_counters=0`), so the
//! repository keeps a small corpus. `--check` builds every target and replays the kept
//! corpus through the harnesses (`cargo test` in `fuzz/`), without fuzzing. A crash leaves
//! its input in `fuzz/artifacts/TARGET/` and fails the command; turn it into a regression
//! unit test next to the parser.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use crate::util::{Context, Result, cargo, echo_cmd, err, progress, project_root};

const USAGE: &str = "usage: cargo xtask fuzz [--secs N] [--merge] [--check] [TARGET...]";
/// Seconds per target when `--secs` is not given.
const DEFAULT_SECS: u64 = 60;
/// cargo-fuzz's build options: optimized, debug assertions and overflow checks on, no
/// sanitizer (the harnessed code has no `unsafe`; ASan would need a nightly-only runtime).
const BUILD_OPTS: [&str; 4] = ["-O", "-a", "-s", "none"];

#[derive(Debug, PartialEq, Eq)]
struct Opts {
    secs: u64,
    merge: bool,
    check: bool,
    targets: Vec<String>,
}

fn parse(args: &[String]) -> Result<Opts> {
    let mut o = Opts {
        secs: DEFAULT_SECS,
        merge: false,
        check: false,
        targets: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--secs" => {
                let v = it.next().ok_or_else(|| err("--secs needs a value"))?;
                o.secs = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| err(format!("--secs {v}: not a positive number")))?;
            }
            "--merge" => o.merge = true,
            "--check" => o.check = true,
            f if f.starts_with('-') => return Err(err(format!("unknown option `{f}`"))),
            t => o.targets.push(t.to_string()),
        }
    }
    Ok(o)
}

fn fuzz_dir() -> PathBuf {
    project_root().join("fuzz")
}

/// The targets named in `fuzz/Cargo.toml` (its `[[bin]]` sections), in order.
fn targets_in(manifest: &str) -> Vec<String> {
    let mut v = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(rest) = line.strip_prefix("name") {
            let name = rest.trim_start().trim_start_matches('=').trim();
            v.push(name.trim_matches('"').to_string());
        }
    }
    v
}

fn all_targets() -> Result<Vec<String>> {
    let p = fuzz_dir().join("Cargo.toml");
    let text = std::fs::read_to_string(&p).ctx(|| format!("read {}", p.display()))?;
    Ok(targets_in(&text))
}

/// `cargo fuzz ARGS` in `fuzz/`, stable rustc accepting cargo-fuzz's `-Z` flags.
fn cargo_fuzz(args: &[&str]) -> Command {
    let mut c = cargo();
    c.arg("fuzz").args(args).current_dir(fuzz_dir());
    c.env("RUSTC_BOOTSTRAP", "1");
    c
}

/// Installs cargo-fuzz (from crates.io, built from source) when it is missing.
fn ensure_cargo_fuzz() -> Result<()> {
    let present = cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    let mut c = cargo();
    c.args(["install", "cargo-fuzz", "--locked"]);
    echo_cmd(&c);
    let st = c.status().ctx(|| "run cargo install")?;
    if !st.success() {
        return Err(err(format!("cargo install cargo-fuzz failed: {st}")));
    }
    Ok(())
}

fn run_status(mut c: Command, what: &str) -> Result<()> {
    echo_cmd(&c);
    let st = c.status().ctx(|| format!("run {what}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(err(format!("{what} failed: {st}")))
    }
}

/// What one fuzzing run gave.
struct Outcome {
    target: String,
    secs: f64,
    execs: Option<u64>,
    corpus: usize,
    crash: Option<String>,
}

/// libFuzzer's final count: `stat::number_of_executed_units: N`, else `Done N runs`.
fn executions(log: &str) -> Option<u64> {
    let stat = log.lines().rev().find_map(|l| {
        l.strip_prefix("stat::number_of_executed_units:")
            .and_then(|n| n.trim().parse().ok())
    });
    stat.or_else(|| {
        log.lines().rev().find_map(|l| {
            l.strip_prefix("Done ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
    })
}

/// The input libFuzzer saved for a crash, from its log.
fn crash_input(log: &str) -> Option<String> {
    log.lines().find_map(|l| {
        l.split_once("Test unit written to ")
            .map(|(_, p)| p.trim().to_string())
    })
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// libFuzzer names the inputs it keeps by their SHA-1 (40 hex digits); other names in the
/// kept corpus are seeds and regression inputs, kept whatever their coverage.
fn is_generated(name: &str) -> bool {
    name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Rebuilds the generated part of the kept corpus: the seeds, plus the inputs of the old
/// kept corpus and the working one that reach new edges (`-merge=1 -use_counters=0`: hit
/// counts do not count, so the corpus stays small).
fn merge_into_kept(target: &str, kept: &Path, work: &Path) -> Result<()> {
    let fresh = fuzz_dir().join("target/merge").join(target);
    let _ = std::fs::remove_dir_all(&fresh);
    std::fs::create_dir_all(&fresh).ctx(|| format!("mkdir {}", fresh.display()))?;
    let names = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    for n in names(kept).into_iter().filter(|n| !is_generated(n)) {
        std::fs::copy(kept.join(&n), fresh.join(&n)).ctx(|| format!("copy {n}"))?;
    }
    let (f, k, w) = (
        fresh.display().to_string(),
        kept.display().to_string(),
        work.display().to_string(),
    );
    let mut args: Vec<&str> = vec!["run"];
    args.extend(BUILD_OPTS);
    args.extend([target, &f, &k, &w, "--", "-merge=1", "-use_counters=0"]);
    let mut c = cargo_fuzz(&args);
    c.stdout(Stdio::null()).stderr(Stdio::null());
    run_status(c, &format!("cargo fuzz merge {target}"))?;
    for n in names(kept).into_iter().filter(|n| is_generated(n)) {
        std::fs::remove_file(kept.join(&n)).ctx(|| format!("remove {n}"))?;
    }
    for n in names(&fresh).into_iter().filter(|n| is_generated(n)) {
        std::fs::copy(fresh.join(&n), kept.join(&n)).ctx(|| format!("copy {n}"))?;
    }
    Ok(())
}

fn fuzz_one(target: &str, secs: u64, merge: bool) -> Result<Outcome> {
    let kept = fuzz_dir().join("corpus").join(target);
    let work = fuzz_dir().join("target/corpus").join(target);
    let logs = fuzz_dir().join("target/logs");
    std::fs::create_dir_all(&work).ctx(|| format!("mkdir {}", work.display()))?;
    std::fs::create_dir_all(&logs).ctx(|| format!("mkdir {}", logs.display()))?;
    let log_path = logs.join(format!("{target}.log"));
    let log = std::fs::File::create(&log_path).ctx(|| format!("create {}", log_path.display()))?;
    let (w, k) = (work.display().to_string(), kept.display().to_string());
    let max_time = format!("-max_total_time={secs}");
    let mut args: Vec<&str> = vec!["run"];
    args.extend(BUILD_OPTS);
    args.extend([target, &w, &k, "--", &max_time, "-print_final_stats=1"]);
    let mut c = cargo_fuzz(&args);
    c.stdout(log.try_clone().ctx(|| "dup log")?).stderr(log);
    echo_cmd(&c);
    let started = Instant::now();
    let st = c.status().ctx(|| format!("run cargo fuzz {target}"))?;
    let secs_taken = started.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let crash = if st.success() {
        None
    } else {
        Some(crash_input(&text).unwrap_or_else(|| format!("{st}; see {}", log_path.display())))
    };
    if merge && crash.is_none() {
        merge_into_kept(target, &kept, &work)?;
    }
    Ok(Outcome {
        target: target.to_string(),
        secs: secs_taken,
        execs: executions(&text),
        corpus: count_files(&kept),
        crash,
    })
}

fn fuzz(o: &Opts) -> Result<bool> {
    let all = all_targets()?;
    let chosen: Vec<String> = if o.targets.is_empty() {
        all.clone()
    } else {
        for t in &o.targets {
            if !all.contains(t) {
                return Err(err(format!(
                    "no fuzz target `{t}` (targets: {})",
                    all.join(" ")
                )));
            }
        }
        o.targets.clone()
    };
    ensure_cargo_fuzz()?;
    let mut args: Vec<&str> = vec!["build"];
    args.extend(BUILD_OPTS);
    run_status(cargo_fuzz(&args), "cargo fuzz build")?;
    if o.check {
        let mut c = cargo();
        c.args(["test", "--release", "--manifest-path"])
            .arg(fuzz_dir().join("Cargo.toml"));
        run_status(c, "replaying the corpus")?;
        progress(format!(
            "fuzz: {} targets build, corpus replays clean",
            all.len()
        ));
        return Ok(true);
    }
    let mut outcomes = Vec::new();
    for t in &chosen {
        progress(format!("fuzz: {t} for {} s", o.secs));
        let out = fuzz_one(t, o.secs, o.merge)?;
        progress(format!(
            "fuzz: {t}: {} executions, {}",
            out.execs.map_or("?".into(), |n| n.to_string()),
            out.crash
                .as_deref()
                .map_or("0 crashes".into(), |c| format!("CRASH {c}"))
        ));
        outcomes.push(out);
    }
    println!(
        "\n{:<14} {:>7} {:>14} {:>10} {:>7}  result",
        "target", "seconds", "executions", "exec/s", "corpus"
    );
    for out in &outcomes {
        let execs = out.execs.map_or("?".into(), |n| n.to_string());
        let rate = out.execs.map_or("?".into(), |n| {
            format!("{:.0}", n as f64 / out.secs.max(0.001))
        });
        println!(
            "{:<14} {:>7.0} {:>14} {:>10} {:>7}  {}",
            out.target,
            out.secs,
            execs,
            rate,
            out.corpus,
            out.crash
                .as_deref()
                .map_or("ok, 0 panics".into(), |c| format!("CRASH: {c}"))
        );
    }
    let crashed = outcomes.iter().filter(|o| o.crash.is_some()).count();
    println!("{} passed, {crashed} failed", outcomes.len() - crashed);
    Ok(crashed == 0)
}

/// `cargo xtask fuzz ARGS`.
pub(crate) fn main(args: &[String]) -> ExitCode {
    let o = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("xtask fuzz: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match fuzz(&o) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("[xtask {:.1}s] error: {e}", crate::util::elapsed());
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn options() {
        assert_eq!(
            parse(&args("")).unwrap(),
            Opts {
                secs: DEFAULT_SECS,
                merge: false,
                check: false,
                targets: vec![]
            }
        );
        let o = parse(&args("--secs 5 --merge status control")).unwrap();
        assert_eq!((o.secs, o.merge, o.targets.len()), (5, true, 2));
        assert!(parse(&args("--check")).unwrap().check);
        for bad in ["--secs", "--secs 0", "--secs x", "--frob"] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_names() {
        assert!(is_generated("76a294636c921e2344d68a46c2ef5899c7676537"));
        assert!(!is_generated("seed-all"));
        assert!(!is_generated("regression-l-before-smaller-s"));
    }

    #[test]
    fn libfuzzer_logs() {
        let log = "#1000\tDONE cov: 5\nDone 123456 runs in 5 second(s)\nstat::number_of_executed_units: 123457\n";
        assert_eq!(executions(log), Some(123_457));
        assert_eq!(executions("Done 42 runs in 1 second(s)\n"), Some(42));
        assert_eq!(executions("nothing"), None);
        let crash = "==1== ERROR: libFuzzer: deadly signal\nartifact_prefix='x'; Test unit written to fuzz/artifacts/status/crash-abc\n";
        assert_eq!(
            crash_input(crash).as_deref(),
            Some("fuzz/artifacts/status/crash-abc")
        );
    }

    /// Every target of fuzz/Cargo.toml has its wrapper and a seed corpus, and the
    /// harness library lists it (what `cargo test` in fuzz/ replays).
    #[test]
    fn every_target_has_a_harness_and_seeds() {
        let targets = all_targets().unwrap();
        assert!(targets.len() >= 9, "{targets:?}");
        let lib = std::fs::read_to_string(fuzz_dir().join("src/lib.rs")).unwrap();
        for t in &targets {
            let wrapper = fuzz_dir().join(format!("fuzz_targets/{t}.rs"));
            let w = std::fs::read_to_string(&wrapper).unwrap();
            assert!(w.contains(&format!("rs6_fuzz::{t}(data)")), "{t}");
            assert!(count_files(&fuzz_dir().join("corpus").join(t)) > 0, "{t}");
            assert!(
                lib.contains(&format!("(\"{t}\", {t})")),
                "{t} not in TARGETS"
            );
        }
    }
}
