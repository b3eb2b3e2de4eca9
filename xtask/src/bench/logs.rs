//! Step `log`: each suite's logger (rs6-log, s6-log, svlogd, multilog) reads a stream of
//! 100-byte lines on a pipe, prefixes each with a TAI64N stamp and writes it to a logdir that
//! rotates at 16 MiB. Throughput = bytes fed / time from the logger's start until it exits
//! after end of file (everything written).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use super::harness::{Bench, Guard};
use super::report::{Fmt, Row, Section, int};
use super::stats::Summary;
use super::suite::{Kind, Role};
use crate::util::{Context, Result, progress};

/// Bytes per line, newline included.
pub(crate) const LINE: usize = 100;
/// A TAI64N stamp and its space: `@` + 24 hex digits + ` `.
const STAMP: u64 = 26;

/// LINES lines of exactly [`LINE`] bytes, numbered from FIRST.
pub(crate) fn block(first: usize, lines: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(lines * LINE);
    for i in first..first + lines {
        let head = format!("bench line {i:010} ");
        v.extend_from_slice(head.as_bytes());
        v.extend((0..LINE - 1 - head.len()).map(|j| b'a' + ((i + j) % 26) as u8));
        v.push(b'\n');
    }
    v
}

/// Bytes in the logdir's `current` and archived (`@...`) files.
fn logged_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    n == "current" || n.starts_with('@')
                })
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Feeds TOTAL bytes to every logger, REPS times.
pub(crate) fn logs(b: &Bench, total: u64, reps: usize) -> Result<Section> {
    let blk = block(0, 10_000); // 1 MB
    let chunks = (total / blk.len() as u64).max(1);
    let fed = chunks * blk.len() as u64;
    let lines = fed / LINE as u64;
    let mut res: BTreeMap<Kind, Vec<f64>> = BTreeMap::new();
    let mut short: Vec<String> = Vec::new();
    for r in 0..reps {
        let k = r % b.suites.len();
        for s in b.suites[k..].iter().chain(&b.suites[..k]) {
            progress(format!(
                "bench: log: {}, {} MB, run {}/{reps}",
                s.kind.program(Role::Logger),
                fed / 1_000_000,
                r + 1
            ));
            let dir = b.fresh_dir(&format!("log-{}", s.name()))?;
            let logdir = dir.join("logdir");
            std::fs::create_dir(&logdir)?;
            if let Some(cfg) = s.logdir_config() {
                std::fs::write(logdir.join("config"), cfg)?;
            }
            let mut c = s.logger(&logdir);
            c.stdin(Stdio::piped())
                .stderr(std::fs::File::create(dir.join("stderr"))?);
            b.echo_once(&format!("log {}", s.name()), &c);
            let t = Instant::now();
            let mut g = Guard(c.spawn().ctx(|| format!("cannot run {}", s.name()))?);
            let mut stdin = g.0.stdin.take().expect("piped");
            let mut ok = true;
            for _ in 0..chunks {
                if stdin.write_all(&blk).is_err() {
                    ok = false;
                    break;
                }
            }
            drop(stdin);
            let st = g.0.wait()?;
            let secs = t.elapsed().as_secs_f64();
            let got = logged_bytes(&logdir);
            let want = lines * (LINE as u64 + STAMP);
            if ok && st.success() {
                res.entry(s.kind).or_default().push(fed as f64 / secs / 1e6);
            } else {
                progress(format!("bench: warning: log: {} failed ({st})", s.name()));
            }
            if got != want {
                short.push(format!(
                    "{}: {} of {} bytes",
                    s.name(),
                    int(got as f64),
                    int(want as f64)
                ));
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let loggers = b
        .suites
        .iter()
        .map(|s| {
            let c = s.logger(Path::new("LOGDIR"));
            let args: Vec<String> = c
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            format!("`{} {}`", s.kind.program(Role::Logger), args.join(" "))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mb = fed / 1_000_000;
    let tmpdir = b.tmp.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(Section {
        title: "Logging".into(),
        rows: vec![Row::stats(
            format!("log throughput, {mb} MB of {LINE}-byte lines, MB/s (higher is better)"),
            Fmt::Sig,
            |k| Summary::of(res.get(&k).map_or(&[][..], |v| &v[..])),
        )],
        notes: vec![
            format!(
                "{} lines of {LINE} bytes written by xtask into a pipe, 1 MB at a time; the logger stamps each line (TAI64N) and writes it into a logdir under {} ({}) rotating at 16 MiB (rotation syncs the file). Time: from the logger's start until it exits after end of file. Loggers: {loggers} (svlogd reads `s16777215` and `n20` from LOGDIR/config). {reps} run(s) each, in rotating order.",
                int(lines as f64),
                tmpdir.display(),
                super::harness::fs_type(&tmpdir)
            ),
            if short.is_empty() {
                format!(
                    "Every logdir held exactly the {} stamped lines ({} bytes).",
                    int(lines as f64),
                    int((lines * (LINE as u64 + STAMP)) as f64)
                )
            } else {
                format!(
                    "Logdirs whose size differed from lines × {} bytes: {}.",
                    LINE as u64 + STAMP,
                    short.join(", ")
                )
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_100_bytes() {
        let b = block(7, 3);
        assert_eq!(b.len(), 3 * LINE);
        for l in b.split_inclusive(|&c| c == b'\n') {
            assert_eq!(l.len(), LINE);
            assert!(l.starts_with(b"bench line 00000000"));
        }
    }
}
