//! `cargo xtask test [--kvm] [FILTER]`: setup and build, then (1) the host test suites
//! (the workspace for the musl target with `RS6_BIN` set, and xtask's own tests), (2) the
//! binary checks (`checks.rs`), (3) the QEMU scenarios whose name contains FILTER. Ends with
//! the line `N passed, N failed` (each cargo test invocation, check and scenario counts
//! one) and fails if anything failed.

use crate::build::{Profile, build};
use crate::qemu::QemuConf;
use crate::setup::{MUSL_TARGET, setup};
use crate::util::{Result, cargo, echo_cmd, progress};

/// Runs one cargo test invocation as a suite.
fn suite(args: &[&str], env: Option<(&str, String)>) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(args);
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    echo_cmd(&cmd);
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`cargo {}` failed: {s}", args.join(" "))),
        Err(e) => Err(format!("cannot run cargo: {e}")),
    }
}

/// The whole test run; Ok(true) when everything passed.
pub(crate) fn test(arch: &str, kvm: bool, filter: Option<&str>) -> Result<bool> {
    let kernel = setup()?;
    build(arch, true)?;
    let mut results: Vec<(String, Result<(), String>)> = Vec::new();

    let bin_dir = Profile::Release.dir();
    let r = suite(
        &[
            "test",
            "--workspace",
            "--exclude",
            "xtask",
            "--target",
            MUSL_TARGET,
        ],
        Some(("RS6_BIN", bin_dir.display().to_string())),
    );
    progress(format!(
        "host tests (workspace, {MUSL_TARGET}): {}",
        verdict(&r)
    ));
    results.push(("host tests: workspace".into(), r));
    let r = suite(&["test", "-p", "xtask"], None);
    progress(format!("host tests (xtask): {}", verdict(&r)));
    results.push(("host tests: xtask".into(), r));

    let checks = crate::checks::run_all()?;
    let failed = checks.iter().filter(|c| c.1.is_err()).count();
    progress(format!(
        "binary checks: {} passed, {failed} failed",
        checks.len() - failed
    ));
    results.extend(checks);

    let (scenarios, broken) = crate::scenario::load_all(filter)?;
    for b in broken {
        progress(format!("scenario {}: FAILED to load", b.name));
        results.push((format!("scenario: {}", b.name), b.result));
    }
    if scenarios.is_empty() {
        progress(format!(
            "scenarios: none to run (filter `{}`)",
            filter.unwrap_or_default()
        ));
    } else {
        let qemu = QemuConf::load(arch)?;
        progress(format!("scenarios: running {}", scenarios.len()));
        for r in crate::scenario::run_all(&scenarios, &kernel, &qemu, kvm) {
            results.push((format!("scenario: {}", r.name), r.result));
        }
    }

    let failed: Vec<_> = results.iter().filter(|r| r.1.is_err()).collect();
    for (name, r) in &failed {
        if let Err(why) = r {
            println!("FAILED {name}: {why}");
        }
    }
    println!(
        "{} passed, {} failed",
        results.len() - failed.len(),
        failed.len()
    );
    Ok(failed.is_empty())
}

fn verdict(r: &Result<(), String>) -> &'static str {
    if r.is_ok() { "ok" } else { "FAILED" }
}
