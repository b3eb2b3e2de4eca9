//! Step `sizes`: the four programs of each suite (scanner, supervisor, control tool, logger)
//! and the shared libraries they load (`ldd`), libc and the dynamic loader counted apart
//! since every dynamic program on the machine shares them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::harness::Bench;
use super::report::{Fmt, Row, Section, int};
use super::stats::Summary;
use super::suite::{ALL, Kind, ROLES, Role};

/// `(name, resolved path)` of the libraries `ldd` lists for PATH (the vDSO left out).
pub(crate) fn parse_ldd(text: &str) -> Vec<(String, PathBuf)> {
    let mut libs = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            [name, "=>", path, ..] if path.starts_with('/') => {
                libs.push((name.to_string(), PathBuf::from(path)))
            }
            [path, ..] if path.starts_with('/') => {
                let name = Path::new(path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                libs.push((name, PathBuf::from(path)))
            }
            _ => {}
        }
    }
    libs
}

/// libc and the dynamic loader: loaded by every dynamic program, counted apart.
fn is_common(name: &str) -> bool {
    name.starts_with("libc.so") || name.starts_with("ld-linux")
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

/// Measures the sizes.
pub(crate) fn sizes(b: &Bench) -> Section {
    let mut bins: BTreeMap<(Kind, usize), u64> = BTreeMap::new();
    let mut own: BTreeMap<Kind, BTreeMap<String, u64>> = BTreeMap::new();
    let mut common: BTreeMap<String, u64> = BTreeMap::new();
    for s in &b.suites {
        for (i, &role) in ROLES.iter().enumerate() {
            let p = s.path(role);
            bins.insert((s.kind, i), size(&p));
            let mut c = Command::new("ldd");
            c.arg(&p);
            b.echo_once("ldd", &c);
            let text = c
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            for (name, path) in parse_ldd(&text) {
                let real = std::fs::canonicalize(&path).unwrap_or(path);
                let bytes = size(&real);
                if is_common(&name) {
                    common.insert(name, bytes);
                } else {
                    own.entry(s.kind).or_default().insert(name, bytes);
                }
            }
        }
    }
    let one = |x: u64| Some(Summary::one(x as f64));
    let mut rows: Vec<Row> = ROLES
        .iter()
        .enumerate()
        .map(|(i, &role)| {
            Row::stats(
                format!("{} binary, bytes", role_name(role)),
                Fmt::Int,
                |k| bins.get(&(k, i)).and_then(|&x| one(x)),
            )
        })
        .collect();
    rows.push(Row::text("own shared libraries loaded", |k| {
        match own.get(&k) {
            Some(libs) if !libs.is_empty() => libs
                .iter()
                .map(|(n, s)| format!("{n} ({})", int(*s as f64)))
                .collect::<Vec<_>>()
                .join(", "),
            _ => "none".into(),
        }
    }));
    rows.push(Row::stats(
        "4 programs + own libraries, bytes",
        Fmt::Int,
        |k| {
            let progs: u64 = (0..ROLES.len()).filter_map(|i| bins.get(&(k, i))).sum();
            let libs: u64 = own.get(&k).map_or(0, |l| l.values().sum());
            (progs > 0).then(|| Summary::one((progs + libs) as f64))
        },
    ));
    let programs = ALL
        .iter()
        .map(|&k| {
            let names: Vec<&str> = ROLES.iter().map(|&r| k.program(r)).collect();
            format!("{}: {}", k.name(), names.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ");
    let common = common
        .iter()
        .map(|(n, s)| format!("{n} {} bytes", int(*s as f64)))
        .collect::<Vec<_>>()
        .join(", ");
    Section {
        title: "Sizes".into(),
        rows,
        notes: vec![
            format!(
                "Programs (scanner, supervisor, control, logger): {programs}. Sizes are the files' sizes (rs6: the stripped static release build)."
            ),
            format!(
                "Libraries are what `ldd` lists; not counted above, because every dynamic program on the machine shares them: {}.",
                if common.is_empty() {
                    "none".into()
                } else {
                    common
                }
            ),
        ],
    }
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Scanner => "scanner",
        Role::Supervisor => "supervisor",
        Role::Control => "control tool",
        Role::Logger => "logger",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output() {
        let text = "\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibskarnet.so.2.13 => /lib/x86_64-linux-gnu/libskarnet.so.2.13 (0x00007f0c)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0c)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f0c)
";
        let libs = parse_ldd(text);
        let names: Vec<&str> = libs.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(
            names,
            ["libskarnet.so.2.13", "libc.so.6", "ld-linux-x86-64.so.2"]
        );
        assert!(!is_common(names[0]) && is_common(names[1]) && is_common(names[2]));
        assert!(parse_ldd("\tstatically linked\n").is_empty());
        assert!(parse_ldd("\tnot a dynamic executable\n").is_empty());
    }
}
