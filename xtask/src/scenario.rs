//! QEMU scenarios: `tests/scenarios/NNNN-name/` holds `guest.sh` (run by busybox sh in the
//! guest as `rs6.script=/scenario/guest.sh`; rs6-init powers off when it exits), `expect`
//! (ordered lines, each a substring of a later console line: subsequence matching) and an
//! optional `scenario.conf` (`image`, `timeout`, `memory`, `cmdline`, `qemu_args`,
//! `on_console = TEXT => MONITOR COMMAND`). Every other file in the directory goes into the
//! guest under `/scenario/`.
//!
//! A scenario passes only if every expect line matched, a `rs6-test: PASS` line came, no
//! `rs6-test: FAIL` line came, and QEMU exited 0 by power-off before the timeout. Scenarios
//! run in parallel (one QEMU per core); each base image is built once per run, and each
//! scenario boots `target/scenarios/<name>/initrd.cpio.gz` = the base image's gzip members
//! followed by a small gzip'd cpio of the scenario files (the kernel unpacks concatenated
//! archives in order). The console is always saved to `target/scenarios/<name>/console.log`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::conf::Conf;
use crate::cpio::Archive;
use crate::image::{add_tree, gzip, write_file};
use crate::qemu::{Boot, Outcome, QemuConf, Trigger, captured};
use crate::setup::Kernel;
use crate::util::{Context, Result, err, progress, project_root, tail, target_dir};

/// The guest's verdict lines.
pub(crate) const PASS: &str = "rs6-test: PASS";
/// See [`PASS`].
pub(crate) const FAIL: &str = "rs6-test: FAIL";
/// Files of a scenario directory that stay on the host.
const HOST_ONLY: &[&str] = &["expect", "scenario.conf"];
/// Console lines printed when a scenario fails.
const TAIL: usize = 40;

/// One scenario, loaded.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// Directory name, e.g. `1000-boot-poweroff`.
    pub(crate) name: String,
    dir: PathBuf,
    expect: Vec<String>,
    image: String,
    timeout: Duration,
    memory: Option<u64>,
    cmdline: String,
    qemu_args: Vec<String>,
    triggers: Vec<Trigger>,
}

impl Scenario {
    const KEYS: &[&str] = &[
        "image",
        "timeout",
        "memory",
        "cmdline",
        "qemu_args",
        "on_console",
    ];

    fn load(dir: PathBuf) -> Result<Scenario> {
        let name = dir
            .file_name()
            .expect("a directory entry")
            .to_string_lossy()
            .into_owned();
        let guest = std::fs::read(dir.join("guest.sh")).ctx(|| "reading guest.sh")?;
        if !guest.starts_with(b"#!") {
            return Err(err(
                "guest.sh must start with `#!/bin/sh` (rs6-init execs it)",
            ));
        }
        let expect = std::fs::read_to_string(dir.join("expect")).ctx(|| "reading expect")?;
        let c = Conf::load(&dir.join("scenario.conf"), Self::KEYS, true)?;
        Ok(Scenario {
            expect: parse_expect(&expect),
            image: c.get("image").unwrap_or("minimal").to_string(),
            timeout: Duration::from_secs(c.number("timeout", 60)?),
            memory: c.get("memory").map(|_| c.number("memory", 0)).transpose()?,
            cmdline: c.all("cmdline").collect::<Vec<_>>().join(" "),
            qemu_args: c.words("qemu_args"),
            triggers: c
                .all("on_console")
                .map(Trigger::parse)
                .collect::<Result<_>>()?,
            name,
            dir,
        })
    }

    fn out_dir(&self) -> PathBuf {
        target_dir().join("scenarios").join(&self.name)
    }
}

/// Every scenario under `tests/scenarios/` whose name contains `filter`, sorted by name:
/// those that loaded, and a failed [`Report`] for each that did not (a broken scenario
/// fails, it does not stop the run).
pub(crate) fn load_all(filter: Option<&str>) -> Result<(Vec<Scenario>, Vec<Report>)> {
    let root = project_root().join("tests/scenarios");
    let mut dirs = Vec::new();
    for e in std::fs::read_dir(&root).ctx(|| format!("reading {}", root.display()))? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() && filter.is_none_or(|f| name.contains(f)) {
            dirs.push(e.path());
        }
    }
    dirs.sort();
    let (mut ok, mut broken) = (Vec::new(), Vec::new());
    for d in dirs {
        let name = d
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match Scenario::load(d) {
            Ok(s) => ok.push(s),
            Err(e) => broken.push(Report {
                name,
                result: Err(e.to_string()),
            }),
        }
    }
    Ok((ok, broken))
}

/// The non-empty lines of an `expect` file (trailing whitespace dropped).
fn parse_expect(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Subsequence matching: each expect line must be a substring of a console line after the
/// one that matched the previous expect line. Err names the first expect line not found.
pub(crate) fn match_expect(lines: &[String], expect: &[String]) -> Result<(), String> {
    let mut at = 0;
    for (i, want) in expect.iter().enumerate() {
        match lines[at..].iter().position(|l| l.contains(want.as_str())) {
            Some(p) => at += p + 1,
            None => {
                return Err(format!(
                    "expect line {} `{want}` not found{}",
                    i + 1,
                    if i == 0 {
                        String::new()
                    } else {
                        format!(" after `{}`", expect[i - 1])
                    }
                ));
            }
        }
    }
    Ok(())
}

/// The harness's verdict on a finished boot: Ok, or every reason it failed.
pub(crate) fn verdict(o: &Outcome, expect: &[String]) -> Result<(), String> {
    let mut why = Vec::new();
    if let Some(l) = o.lines.iter().find(|l| l.contains(FAIL)) {
        why.push(format!("guest said `{}`", l.trim()));
    }
    if let Err(e) = match_expect(&o.lines, expect) {
        why.push(e);
    }
    if !o.lines.iter().any(|l| l.contains(PASS)) {
        why.push(format!("no `{PASS}` line"));
    }
    if let Err(e) = o.powered_off() {
        why.push(e);
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(why.join("; "))
    }
}

/// One scenario's result.
#[derive(Debug)]
pub(crate) struct Report {
    /// Scenario name.
    pub(crate) name: String,
    /// Ok or why it failed (the console tail was printed when it finished).
    pub(crate) result: Result<(), String>,
}

/// A built base image: its gzip'd bytes, or why it could not be built.
type Built = Arc<Result<Vec<u8>, String>>;

/// Base images, built once per name per run.
struct Images {
    kernel: Kernel,
    built: Mutex<HashMap<String, Built>>,
}

impl Images {
    fn get(&self, name: &str) -> Result<Built> {
        let mut built = self.built.lock().map_err(|_| err("image cache poisoned"))?;
        if let Some(b) = built.get(name) {
            return Ok(b.clone());
        }
        let b = Arc::new(
            crate::image::image(name, &self.kernel)
                .and_then(|(a, _)| gzip(&a))
                .map_err(|e| e.to_string()),
        );
        built.insert(name.to_string(), b.clone());
        Ok(b)
    }
}

/// Builds the scenario's initramfs, boots it, judges it, saves the console.
fn run_one(s: &Scenario, images: &Images, qemu: &QemuConf, kvm: bool) -> Result<(), String> {
    let base = images.get(&s.image).map_err(|e| e.to_string())?;
    let base = base
        .as_ref()
        .as_ref()
        .map_err(|e| format!("image {}: {e}", s.image))?;
    let mut overlay = Archive::new();
    add_tree(&mut overlay, &s.dir, "scenario", HOST_ONLY).map_err(|e| e.to_string())?;
    overlay.file(
        "scenario/guest.sh",
        0o755,
        std::fs::read(s.dir.join("guest.sh")).map_err(|e| format!("guest.sh: {e}"))?,
    );
    let mut initrd = base.clone();
    initrd.extend(gzip(&overlay).map_err(|e| e.to_string())?);
    let out = s.out_dir();
    let initrd_path = out.join("initrd.cpio.gz");
    write_file(&initrd_path, &initrd).map_err(|e| e.to_string())?;
    let boot = Boot {
        kernel: images.kernel.clone(),
        initrd: initrd_path,
        cmdline: format!("rs6.script=/scenario/guest.sh {}", s.cmdline)
            .trim_end()
            .to_string(),
        memory: s.memory,
        kvm,
        extra_args: s.qemu_args.clone(),
        monitor: (!s.triggers.is_empty()).then(|| out.join("monitor.sock")),
    };
    let o = captured(qemu, &boot, s.timeout, false, &s.triggers).map_err(|e| e.to_string())?;
    let log = out.join("console.log");
    let _ = write_file(&log, (o.lines.join("\n") + "\n").as_bytes());
    let secs = o.elapsed.as_secs_f64();
    match verdict(&o, &s.expect) {
        Ok(()) => {
            progress(format!("scenario {}: ok ({secs:.1}s)", s.name));
            Ok(())
        }
        Err(why) => {
            let rel = log.strip_prefix(project_root()).unwrap_or(&log);
            progress(format!(
                "scenario {}: FAILED ({secs:.1}s): {why}\n--- last {TAIL} console lines ({}) ---\n{}\n---",
                s.name,
                rel.display(),
                tail(&o.lines, TAIL)
            ));
            Err(why)
        }
    }
}

/// Runs `scenarios` in parallel, one QEMU per core; reports in scenario order.
pub(crate) fn run_all(
    scenarios: &[Scenario],
    kernel: &Kernel,
    qemu: &QemuConf,
    kvm: bool,
) -> Vec<Report> {
    let images = Images {
        kernel: kernel.clone(),
        built: Mutex::new(HashMap::new()),
    };
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(scenarios.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<(), String>>>> =
        Mutex::new(scenarios.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(s) = scenarios.get(i) else { return };
                    let r = run_one(s, &images, qemu, kvm);
                    results.lock().expect("no panics while holding it")[i] = Some(r);
                }
            });
        }
    });
    let results = results.into_inner().expect("workers joined");
    scenarios
        .iter()
        .zip(results)
        .map(|(s, r)| Report {
            name: s.name.clone(),
            result: r.unwrap_or_else(|| Err("not run".into())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn expect_is_an_ordered_subsequence_of_substrings() {
        let console = lines(&["boot", "rs6: minimal image up", "6.1.0-48-amd64", "bye"]);
        assert!(match_expect(&console, &lines(&["minimal image", "bye"])).is_ok());
        assert!(match_expect(&console, &[]).is_ok());
        let e = match_expect(&console, &lines(&["bye", "minimal"])).unwrap_err();
        assert_eq!(e, "expect line 2 `minimal` not found after `bye`");
        let e = match_expect(&console, &lines(&["nope"])).unwrap_err();
        assert_eq!(e, "expect line 1 `nope` not found");
        // One console line satisfies one expect line only.
        assert!(match_expect(&console, &lines(&["bye", "bye"])).is_err());
    }

    #[test]
    fn expect_file_parsing() {
        assert_eq!(parse_expect("a b  \n\n# c\n"), ["a b", "# c"]);
    }

    fn outcome(l: &[&str], code: Option<i32>) -> Outcome {
        Outcome {
            lines: lines(l),
            status: code.map(|c| ExitStatus::from_raw(c << 8)),
            elapsed: Duration::from_secs(1),
        }
    }

    #[test]
    fn verdicts() {
        let ok = ["hello", "rs6-test: PASS x", "reboot: Power down"];
        assert!(verdict(&outcome(&ok, Some(0)), &lines(&["hello"])).is_ok());
        let e = verdict(&outcome(&ok, None), &[]).unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        let e = verdict(&outcome(&ok[1..], Some(0)), &lines(&["hello"])).unwrap_err();
        assert!(e.contains("`hello` not found"), "{e}");
        let e = verdict(
            &outcome(&["rs6-test: FAIL x: why", ok[1], ok[2]], Some(0)),
            &[],
        )
        .unwrap_err();
        assert!(e.contains("guest said `rs6-test: FAIL x: why`"), "{e}");
        let e = verdict(&outcome(&["hello", ok[2]], Some(0)), &[]).unwrap_err();
        assert!(e.contains("no `rs6-test: PASS` line"), "{e}");
        let e = verdict(&outcome(&ok[..2], Some(0)), &[]).unwrap_err();
        assert!(e.contains("Power down"), "{e}");
    }

    #[test]
    fn scenarios_in_the_tree_load() {
        let (all, broken) = load_all(None).unwrap();
        assert!(broken.is_empty(), "{broken:?}");
        assert!(all.iter().any(|s| s.name == "1000-boot-poweroff"));
        for s in &all {
            assert!(
                s.name.as_bytes()[..4].iter().all(u8::is_ascii_digit),
                "{}",
                s.name
            );
            assert!(!s.expect.is_empty(), "{}: empty expect", s.name);
        }
        assert!(load_all(Some("no-such-scenario")).unwrap().0.is_empty());
    }
}
