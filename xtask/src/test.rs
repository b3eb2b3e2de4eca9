//! `cargo xtask test [--arch ARCH] [--kvm] [FILTER]`: setup and build (every architecture,
//! or ARCH only), then (1) the host test suites (the workspace for the x86_64 musl target
//! with `RS6_BIN` set, and xtask's own tests), (2) the binary checks (`checks.rs`) of each
//! architecture, (3) the QEMU scenarios whose name contains FILTER, each on the
//! architectures its `arch` key names, all in one pool of one QEMU per core. Ends with the
//! line `N passed, N failed` (each cargo test invocation, check and scenario boot counts
//! one) and fails if anything failed.

use crate::build::{ARCHES, Profile, build};
use crate::setup::{MUSL_TARGET, setup_for};
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
pub(crate) fn test(arch: Option<&str>, kvm: bool, filter: Option<&str>) -> Result<bool> {
    let arches: Vec<&str> = match arch {
        Some(a) => vec![a],
        None => ARCHES.to_vec(),
    };
    let kernels = setup_for(&arches)?;
    // The host suites need the default architecture's build whatever --arch says.
    build(crate::DEFAULT_ARCH, true)?;
    for a in arches.iter().filter(|a| **a != crate::DEFAULT_ARCH) {
        build(a, false)?;
    }
    let mut results: Vec<(String, Result<(), String>)> = Vec::new();

    let bin_dir = Profile::Release.dir_for(crate::DEFAULT_ARCH);
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

    for a in &arches {
        let checks = crate::checks::run_all(a)?;
        let failed = checks.iter().filter(|c| c.1.is_err()).count();
        progress(format!(
            "binary checks ({a}): {} passed, {failed} failed",
            checks.len() - failed
        ));
        results.extend(checks);
    }

    let (scenarios, broken) = crate::scenario::load_all(filter)?;
    for b in broken {
        progress(format!("scenario {}: FAILED to load", b.name));
        results.push((format!("scenario: {}", b.name), b.result));
    }
    let jobs = crate::scenario::jobs(&scenarios, &arches);
    if jobs.is_empty() {
        progress(format!(
            "scenarios: none to run (filter `{}`, {})",
            filter.unwrap_or_default(),
            arches.join(" ")
        ));
    } else {
        let started = std::time::Instant::now();
        progress(format!(
            "scenarios: running {} boots ({})",
            jobs.len(),
            arches
                .iter()
                .map(|a| format!("{a}: {}", jobs.iter().filter(|j| j.arch == *a).count()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for r in crate::scenario::run_all(&jobs, &kernels, kvm) {
            results.push((format!("scenario: {}", r.name), r.result));
        }
        progress(format!(
            "scenarios: done in {:.0}s",
            started.elapsed().as_secs_f64()
        ));
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
