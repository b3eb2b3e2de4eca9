//! `cargo xtask install --root DIR [--arch x86_64|aarch64] [--init] [--yes]`: puts rs6 into
//! a root file system tree (a Buildroot or Yocto staging root, a busybox rootfs, a disk
//! image's source directory):
//!
//! - every rs6 program in `DIR/bin/` (static musl release binaries of `--arch`);
//! - with `--init`: `DIR/sbin/init` a link to `/bin/rs6-init`, and `DIR/sbin/halt`,
//!   `poweroff`, `reboot` links to `/bin/rs6-hpr` (they signal process 1 the way rs6-init
//!   understands, so they come with rs6 as the init, not without it);
//! - the default configuration and an example service under `DIR/etc/rs6/`
//!   (`packaging/rootfs/` of this repository, copied with its modes).
//!
//! Idempotent: a program or link already right is left alone, a wrong one is replaced
//! atomically (a temporary file in the same directory, then rename(2)); a configuration
//! file already there is kept even if it differs (it is the administrator's), and reported.
//! Nothing outside DIR is touched: paths are resolved inside DIR the way a chroot would
//! (an absolute symlink such as `DIR/bin -> /usr/bin` means `DIR/usr/bin`, `..` stops at
//! DIR). A DIR of `/` is refused unless `--yes` is given too.
//!
//! The same lists (programs, links, configuration files) are what the Buildroot and Yocto
//! recipes under `packaging/` install; `tests::recipes_match_install` checks it.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::build::{Profile, cargo_build};
use crate::util::{Context, Result, err, progress, project_root};

/// The program behind `halt`, `poweroff` and `reboot`.
pub(crate) const HPR: &str = "rs6-hpr";
/// The names `--init` links to [`HPR`] in `sbin/`.
pub(crate) const HPR_LINKS: &[&str] = &["halt", "poweroff", "reboot"];
/// Process 1.
pub(crate) const INIT: &str = "rs6-init";
/// The default configuration, relative to the project root.
pub(crate) const CONFIG_TREE: &str = "packaging/rootfs";
/// rs6-init's default `rs6.sv`: the service definitions, copied to the scan directory.
pub(crate) const SV_DIR: &str = "etc/rs6/sv";
/// Workspace members whose `src/bin/rs6-*.rs` are not installed.
const NOT_INSTALLED: &[&str] = &["xtask", "tests"];

/// What `install` does with one path of DIR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A directory (mode used when it is created).
    Dir(u32),
    /// A program: the built binary, installed mode 0755, replaced when it differs.
    Program(PathBuf),
    /// A symlink with this target, replaced when it differs.
    Link(String),
    /// A configuration file (source, mode), installed only where nothing is.
    Config(PathBuf, u32),
}

/// One path of DIR (relative, `/`-separated, e.g. `bin/rs6-init`) and what goes there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    /// Relative to DIR.
    pub(crate) path: String,
    /// What goes there.
    pub(crate) kind: Kind,
}

/// The workspace members, from the root `Cargo.toml`'s `members = [...]`.
fn members() -> Result<Vec<String>> {
    let path = project_root().join("Cargo.toml");
    let text = std::fs::read_to_string(&path).ctx(|| format!("reading {}", path.display()))?;
    let start = text
        .find("members")
        .and_then(|i| text[i..].find('[').map(|j| i + j + 1))
        .ok_or_else(|| err("Cargo.toml: no `members = [...]`"))?;
    let end = text[start..]
        .find(']')
        .ok_or_else(|| err("Cargo.toml: unterminated members list"))?;
    Ok(text[start..start + end]
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty())
        .collect())
}

/// rs6's programs, sorted: every `src/bin/rs6-*.rs` of the workspace members but xtask's
/// and the test crate's (what `cargo xtask build` builds, read from the sources so that a
/// stale binary in target/ is never installed).
pub(crate) fn programs() -> Result<Vec<String>> {
    let mut v = Vec::new();
    for m in members()? {
        if NOT_INSTALLED.contains(&m.as_str()) {
            continue;
        }
        let dir = project_root().join(&m).join("src/bin");
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd {
            let name = e?.file_name().to_string_lossy().into_owned();
            if let Some(p) = name.strip_suffix(".rs")
                && p.starts_with("rs6-")
            {
                v.push(p.to_string());
            }
        }
    }
    v.sort();
    Ok(v)
}

/// The configuration tree's directories and files, sorted, as items.
fn config_items() -> Result<Vec<Item>> {
    let root = project_root().join(CONFIG_TREE);
    let mut items = Vec::new();
    let mut stack = vec![(root.clone(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        for e in std::fs::read_dir(&dir).ctx(|| format!("reading {}", dir.display()))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = std::fs::symlink_metadata(e.path())?;
            // Modes as git keeps them: executable or not.
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            if meta.is_dir() {
                items.push(Item {
                    path: path.clone(),
                    kind: Kind::Dir(0o755),
                });
                stack.push((e.path(), path));
            } else if meta.is_file() {
                items.push(Item {
                    path,
                    kind: Kind::Config(e.path(), mode),
                });
            } else {
                return Err(err(format!(
                    "{}: only directories and files belong in {CONFIG_TREE}",
                    e.path().display()
                )));
            }
        }
    }
    // The service definitions' directory starts empty (git keeps no empty directory).
    if !items.iter().any(|i| i.path == SV_DIR) {
        items.push(Item {
            path: SV_DIR.into(),
            kind: Kind::Dir(0o755),
        });
    }
    items.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(items)
}

/// Everything `install` puts in DIR, in order (directories before what is in them):
/// programs from `bin_dir`, the `--init` links, the configuration.
pub(crate) fn manifest(bin_dir: &Path, init: bool) -> Result<Vec<Item>> {
    let mut items = vec![Item {
        path: "bin".into(),
        kind: Kind::Dir(0o755),
    }];
    let programs = programs()?;
    for p in &programs {
        let src = bin_dir.join(p);
        if !src.is_file() {
            return Err(err(format!(
                "{} missing: not built (cargo xtask build)",
                src.display()
            )));
        }
        items.push(Item {
            path: format!("bin/{p}"),
            kind: Kind::Program(src),
        });
    }
    if init {
        for needed in [INIT, HPR] {
            if !programs.iter().any(|p| p == needed) {
                return Err(err(format!(
                    "--init needs {needed}, which is not a program"
                )));
            }
        }
        items.push(Item {
            path: "sbin".into(),
            kind: Kind::Dir(0o755),
        });
        items.push(Item {
            path: "sbin/init".into(),
            kind: Kind::Link(format!("/bin/{INIT}")),
        });
        for l in HPR_LINKS {
            items.push(Item {
                path: format!("sbin/{l}"),
                kind: Kind::Link(format!("/bin/{HPR}")),
            });
        }
    }
    items.extend(config_items()?);
    Ok(items)
}

/// The host path of the directory `rel` inside `root`, resolved as a chroot at `root`
/// would (symlinks followed, absolute ones from `root`, `..` never above `root`); missing
/// directories are created with `mode`.
fn resolve_dir(root: &Path, rel: &str, mode: u32) -> Result<PathBuf> {
    let mut cur: Vec<String> = Vec::new();
    let mut todo: VecDeque<String> = rel
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect();
    let mut hops = 0;
    while let Some(c) = todo.pop_front() {
        if c == ".." {
            cur.pop();
            continue;
        }
        let host = cur
            .iter()
            .fold(root.to_path_buf(), |p, c| p.join(c))
            .join(&c);
        match std::fs::symlink_metadata(&host) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return Err(err(format!("{}: too many symlinks", host.display())));
                }
                let t = std::fs::read_link(&host)?;
                let t = t.to_string_lossy();
                if t.starts_with('/') {
                    cur.clear();
                }
                for (i, part) in t
                    .split('/')
                    .filter(|p| !p.is_empty() && *p != ".")
                    .enumerate()
                {
                    todo.insert(i, part.to_string());
                }
            }
            Ok(m) if m.is_dir() => cur.push(c),
            Ok(_) => return Err(err(format!("{}: not a directory", host.display()))),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                std::fs::create_dir(&host).ctx(|| format!("creating {}", host.display()))?;
                std::fs::set_permissions(&host, std::fs::Permissions::from_mode(mode))
                    .ctx(|| format!("chmod {}", host.display()))?;
                cur.push(c);
            }
            Err(e) => return Err(err(format!("{}: {e}", host.display()))),
        }
    }
    Ok(cur.iter().fold(root.to_path_buf(), |p, c| p.join(c)))
}

/// The host path of `rel` inside `root`: its directory resolved (and created) by
/// [`resolve_dir`], the last component itself not followed.
fn resolve(root: &Path, rel: &str) -> Result<PathBuf> {
    let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    if name.is_empty() || name == "." || name == ".." {
        return Err(err(format!("bad path `{rel}`")));
    }
    Ok(resolve_dir(root, dir, 0o755)?.join(name))
}

/// What happened to the items.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Written or replaced.
    pub(crate) installed: Vec<String>,
    /// Already right.
    pub(crate) unchanged: usize,
    /// Configuration files left as the administrator has them (they differ).
    pub(crate) kept: Vec<String>,
}

/// `path` + `.rs6-new`: the temporary name beside it.
fn temp_beside(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".rs6-new");
    path.with_file_name(name)
}

/// Writes `data` with `mode` at `path` through a temporary file and rename(2).
fn replace_file(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let tmp = temp_beside(path);
    let _ = std::fs::remove_file(&tmp);
    std::fs::write(&tmp, data).ctx(|| format!("writing {}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
        .ctx(|| format!("chmod {}", tmp.display()))?;
    std::fs::rename(&tmp, path).ctx(|| format!("renaming to {}", path.display()))
}

/// Whether `path` is a regular file with these bytes and mode.
fn same_file(path: &Path, data: &[u8], mode: u32) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| {
        m.is_file()
            && m.permissions().mode() & 0o7777 == mode
            && std::fs::read(path).is_ok_and(|d| d == data)
    })
}

/// Installs `items` into `root` (which must exist).
pub(crate) fn apply(root: &Path, items: &[Item]) -> Result<Summary> {
    let mut s = Summary::default();
    for it in items {
        match &it.kind {
            Kind::Dir(mode) => {
                let host = root.join(&it.path);
                let existed = std::fs::symlink_metadata(&host).is_ok();
                resolve_dir(root, &it.path, *mode)?;
                if existed {
                    s.unchanged += 1;
                } else {
                    s.installed.push(it.path.clone());
                }
            }
            Kind::Program(src) => {
                let data = std::fs::read(src).ctx(|| format!("reading {}", src.display()))?;
                let dst = resolve(root, &it.path)?;
                if same_file(&dst, &data, 0o755) {
                    s.unchanged += 1;
                } else {
                    refuse_dir(&dst)?;
                    replace_file(&dst, &data, 0o755)?;
                    s.installed.push(it.path.clone());
                }
            }
            Kind::Link(target) => {
                let dst = resolve(root, &it.path)?;
                let now = std::fs::read_link(&dst).ok();
                if now.as_deref() == Some(Path::new(target)) {
                    s.unchanged += 1;
                } else {
                    refuse_dir(&dst)?;
                    let tmp = temp_beside(&dst);
                    let _ = std::fs::remove_file(&tmp);
                    std::os::unix::fs::symlink(target, &tmp)
                        .ctx(|| format!("symlink {}", tmp.display()))?;
                    std::fs::rename(&tmp, &dst).ctx(|| format!("renaming to {}", dst.display()))?;
                    s.installed.push(it.path.clone());
                }
            }
            Kind::Config(src, mode) => {
                let data = std::fs::read(src).ctx(|| format!("reading {}", src.display()))?;
                let dst = resolve(root, &it.path)?;
                if std::fs::symlink_metadata(&dst).is_err() {
                    replace_file(&dst, &data, *mode)?;
                    s.installed.push(it.path.clone());
                } else if same_file(&dst, &data, *mode) {
                    s.unchanged += 1;
                } else {
                    s.kept.push(it.path.clone());
                }
            }
        }
    }
    Ok(s)
}

/// A directory where a file or link goes is an error (never removed).
fn refuse_dir(dst: &Path) -> Result<()> {
    match std::fs::symlink_metadata(dst) {
        Ok(m) if m.is_dir() => Err(err(format!("{}: a directory is in the way", dst.display()))),
        _ => Ok(()),
    }
}

/// `DIR` made absolute and checked: created if missing; `/` only with `yes`.
pub(crate) fn prepare_root(root: &Path, yes: bool) -> Result<PathBuf> {
    std::fs::create_dir_all(root).ctx(|| format!("creating {}", root.display()))?;
    let canon = root
        .canonicalize()
        .ctx(|| format!("resolving {}", root.display()))?;
    if canon == Path::new("/") && !yes {
        return Err(err(
            "refusing to install into / (the running system): add --yes if that is what you mean",
        ));
    }
    Ok(canon)
}

/// `cargo xtask install`: build `arch`, then install into `root`.
pub(crate) fn install(root: &Path, arch: &str, init: bool, yes: bool) -> Result<()> {
    let root = prepare_root(root, yes)?;
    cargo_build(arch, Profile::Release)?;
    let items = manifest(&Profile::Release.dir_for(arch), init)?;
    let s = apply(&root, &items)?;
    for p in &s.installed {
        println!("  installed {p}");
    }
    for p in &s.kept {
        println!("  kept {p} (differs from {CONFIG_TREE}/{p}: yours)");
    }
    progress(format!(
        "install ({arch}{}): {} -> {} installed, {} unchanged, {} kept",
        if init { ", --init" } else { "" },
        root.display(),
        s.installed.len(),
        s.unchanged,
        s.kept.len()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::target_dir;

    /// A scratch directory under target/ (one per test: tests run in parallel).
    fn scratch(name: &str) -> PathBuf {
        let d = target_dir().join("xtask-test-install").join(name);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Fake built binaries for every program.
    fn fake_bins(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for p in programs().unwrap() {
            std::fs::write(dir.join(&p), format!("\x7fELF {p}")).unwrap();
        }
    }

    #[test]
    fn programs_are_the_workspace_binaries() {
        let p = programs().unwrap();
        for want in [
            INIT,
            HPR,
            "rs6-svscan",
            "rs6-supervise",
            "rs6-log",
            "rs6-svc",
        ] {
            assert!(p.iter().any(|x| x == want), "{want} missing from {p:?}");
        }
        assert!(
            p.iter()
                .all(|x| x.starts_with("rs6-") && !x.starts_with("rs6-test"))
        );
        let mut sorted = p.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(p, sorted);
    }

    #[test]
    fn installs_idempotently_with_init() {
        let d = scratch("idempotent");
        let bins = d.join("bins");
        fake_bins(&bins);
        let root = d.join("root");
        std::fs::create_dir_all(root.join("sbin")).unwrap();
        // A busybox rootfs: sbin/init and sbin/poweroff are busybox links.
        std::os::unix::fs::symlink("../bin/busybox", root.join("sbin/init")).unwrap();
        std::os::unix::fs::symlink("../bin/busybox", root.join("sbin/poweroff")).unwrap();
        let items = manifest(&bins, true).unwrap();
        let first = apply(&root, &items).unwrap();
        assert!(first.installed.contains(&"bin/rs6-init".to_string()));
        assert!(first.installed.contains(&"sbin/init".to_string()));
        assert!(first.kept.is_empty());
        assert_eq!(
            std::fs::read_link(root.join("sbin/init")).unwrap(),
            Path::new("/bin/rs6-init")
        );
        for l in HPR_LINKS {
            assert_eq!(
                std::fs::read_link(root.join("sbin").join(l)).unwrap(),
                Path::new("/bin/rs6-hpr")
            );
        }
        let m = std::fs::metadata(root.join("bin/rs6-svscan")).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o755);
        assert!(root.join("etc/rs6/rc.init").is_file());
        assert!(root.join("etc/rs6/sv").is_dir());
        // Second run: nothing to do.
        let second = apply(&root, &items).unwrap();
        assert!(second.installed.is_empty(), "{:?}", second.installed);
        assert_eq!(second.unchanged, items.len());
        // An edited configuration file is kept; a changed binary is replaced.
        std::fs::write(root.join("etc/rs6/rc.init"), "#!/bin/sh\n# mine\n").unwrap();
        std::fs::write(bins.join("rs6-log"), "\x7fELF new").unwrap();
        let third = apply(&root, &items).unwrap();
        assert_eq!(third.kept, ["etc/rs6/rc.init"]);
        assert_eq!(third.installed, ["bin/rs6-log"]);
        assert_eq!(
            std::fs::read_to_string(root.join("etc/rs6/rc.init")).unwrap(),
            "#!/bin/sh\n# mine\n"
        );
        // No temporary file is left behind.
        for dir in ["bin", "sbin", "etc/rs6"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let n = e.unwrap().file_name().to_string_lossy().into_owned();
                assert!(!n.ends_with(".rs6-new"), "{dir}/{n}");
            }
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn without_init_no_links() {
        let d = scratch("noinit");
        let bins = d.join("bins");
        fake_bins(&bins);
        let items = manifest(&bins, false).unwrap();
        assert!(!items.iter().any(|i| i.path.starts_with("sbin")));
        let root = d.join("root");
        std::fs::create_dir_all(&root).unwrap();
        apply(&root, &items).unwrap();
        assert!(!root.join("sbin").exists());
        assert!(root.join("bin/rs6-hpr").is_file());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn missing_binary_is_an_error() {
        let d = scratch("missing");
        let e = manifest(&d.join("nothing"), false).unwrap_err();
        assert!(e.to_string().contains("not built"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn symlinks_resolve_inside_root() {
        let d = scratch("chroot");
        let root = d.join("root");
        let outside = d.join("outside");
        std::fs::create_dir_all(root.join("usr/bin")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        // Merged /usr with an absolute link, and a link trying to leave the root.
        std::os::unix::fs::symlink("/usr/bin", root.join("bin")).unwrap();
        std::os::unix::fs::symlink("../../../../outside", root.join("escape")).unwrap();
        let p = resolve(&root, "bin/rs6-init").unwrap();
        assert_eq!(p, root.join("usr/bin/rs6-init"));
        let p = resolve(&root, "escape/x").unwrap();
        assert_eq!(p, root.join("outside/x"), "`..` stops at the root");
        assert!(root.join("outside").is_dir());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        let p = resolve(&root, "a/b/c").unwrap();
        assert_eq!(p, root.join("a/b/c"));
        assert!(root.join("a/b").is_dir());
        std::fs::write(root.join("file"), "").unwrap();
        assert!(resolve(&root, "file/x").is_err());
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert!(resolve(&root, "loop/x").is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn root_slash_needs_yes() {
        let e = prepare_root(Path::new("/"), false).unwrap_err();
        assert!(e.to_string().contains("--yes"), "{e}");
        assert_eq!(prepare_root(Path::new("/"), true).unwrap(), Path::new("/"));
        let d = scratch("prepare");
        let p = prepare_root(&d.join("new/root"), false).unwrap();
        assert!(p.is_dir() && p.is_absolute());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn config_tree_is_sane() {
        let items = config_items().unwrap();
        let paths: Vec<&str> = items.iter().map(|i| i.path.as_str()).collect();
        for want in [
            "etc",
            "etc/rs6",
            "etc/rs6/rc.init",
            "etc/rs6/rc.shutdown",
            "etc/rs6/sv",
        ] {
            assert!(paths.contains(&want), "{want} not in {paths:?}");
        }
        for i in &items {
            if let Kind::Config(src, mode) = &i.kind {
                let text = std::fs::read(src).unwrap();
                if text.starts_with(b"#!") {
                    assert_eq!(mode & 0o111, 0o111, "{} is a script", i.path);
                }
            }
        }
    }
}
