//! `cargo xtask image [NAME]`: assembles `target/images/NAME.cpio.gz`, the initramfs QEMU
//! boots. Layers, later ones replacing earlier paths:
//!
//! 1. the base directories and `/dev/console`, `/dev/null`;
//! 2. busybox-static at `/bin/busybox` plus a symlink per applet (`busybox --list-full`);
//! 3. every `rs6-*` release binary in `/bin/`, `/init` = a copy of `rs6-init`, and
//!    `/sbin/halt`, `/sbin/poweroff`, `/sbin/reboot` as links to `rs6-hpr` (replacing
//!    busybox's), as `cargo xtask install --init` lays them out (skipped with
//!    `rs6_binaries = no`: an initramfs that only mounts the real root);
//! 4. the overlay `images/NAME/rootfs/` verbatim (modes and symlinks kept);
//! 5. the kernel modules named by `images/NAME/image.conf` (`modules = ...`) with their
//!    dependencies, under `/lib/modules/<ver>/` with a generated `modules.dep`, so busybox
//!    `modprobe NAME` works.
//!
//! The archive is our own deterministic cpio (`cpio.rs`), gzip'd by flate2 with header
//! mtime 0: the same inputs give the same bytes. The architecture is the kernel's: an
//! aarch64 image gets the arm64 busybox and the aarch64 binaries, and is written to
//! `target/images/NAME-aarch64.cpio.gz`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::build::{Profile, binaries};
use crate::conf::Conf;
use crate::cpio::Archive;
use crate::elf::Elf;
use crate::install::{HPR, HPR_LINKS};
use crate::setup::{BUSYBOX, Guest, Kernel};
use crate::util::{Context, Result, err, human_size, progress, project_root, read, target_dir};

/// `images/NAME/image.conf`.
#[derive(Debug, Clone)]
pub(crate) struct ImageConf {
    /// Kernel modules to include (dependencies are added).
    pub(crate) modules: Vec<String>,
    /// Guest path of the default non-interactive script (`rs6.script=` for `run`).
    pub(crate) script: Option<String>,
    /// Extra kernel command line arguments.
    pub(crate) cmdline: String,
    /// Guest memory in MiB (overrides the QEMU conf).
    pub(crate) memory: Option<u64>,
    /// Whether the rs6 binaries (and `/init` = rs6-init) go in (`rs6_binaries = no`: not).
    pub(crate) rs6_binaries: bool,
}

impl ImageConf {
    const KEYS: &[&str] = &["modules", "script", "cmdline", "memory", "rs6_binaries"];

    /// Reads `images/NAME/image.conf` (the directory must exist, the file is optional).
    pub(crate) fn load(name: &str) -> Result<ImageConf> {
        let dir = image_dir(name);
        if !dir.is_dir() {
            return Err(err(format!("no image `{name}`: {} missing", dir.display())));
        }
        let c = Conf::load(&dir.join("image.conf"), Self::KEYS, true)?;
        Ok(ImageConf {
            modules: c.words("modules"),
            script: c.get("script").map(str::to_string),
            cmdline: c.all("cmdline").collect::<Vec<_>>().join(" "),
            memory: c.get("memory").map(|_| c.number("memory", 0)).transpose()?,
            rs6_binaries: match c.get("rs6_binaries") {
                None | Some("yes") => true,
                Some("no") => false,
                Some(v) => return Err(err(format!("`rs6_binaries = {v}`: expected yes or no"))),
            },
        })
    }
}

/// `images/NAME/`.
pub(crate) fn image_dir(name: &str) -> PathBuf {
    project_root().join("images").join(name)
}

/// `target/images/NAME.cpio.gz` (x86_64), `target/images/NAME-ARCH.cpio.gz` (others).
pub(crate) fn image_path(name: &str, arch: &str) -> PathBuf {
    let file = if arch == crate::DEFAULT_ARCH {
        format!("{name}.cpio.gz")
    } else {
        format!("{name}-{arch}.cpio.gz")
    };
    target_dir().join("images").join(file)
}

/// Builds the in-memory archive of image `name`.
pub(crate) fn assemble(name: &str, kernel: &Kernel) -> Result<Archive> {
    let conf = ImageConf::load(name)?;
    let mut a = Archive::new();
    for d in ["bin", "sbin", "dev", "proc", "sys", "run", "etc", "lib"] {
        a.dir(d, 0o755);
    }
    a.dir("tmp", 0o1777);
    a.dir("root", 0o700);
    a.char_dev("dev/console", 0o600, 5, 1);
    a.char_dev("dev/null", 0o666, 1, 3);

    let arch = kernel.arch.as_str();
    let bb = Guest::of(arch)?.busybox();
    let busybox =
        std::fs::read(&bb).ctx(|| format!("reading {} (run `cargo xtask setup`)", bb.display()))?;
    a.file("bin/busybox", 0o755, busybox);
    // The host's busybox-static lists the applets (setup checks that a foreign
    // architecture's busybox-static is the same version).
    for applet in read(Command::new(BUSYBOX).arg("--list-full"))?.lines() {
        let applet = applet.trim();
        if !applet.is_empty() && applet != "bin/busybox" {
            a.symlink(applet, BUSYBOX);
        }
    }

    if conf.rs6_binaries {
        let bins = binaries(arch, Profile::Release)?;
        for (bin, path) in &bins {
            let data = std::fs::read(path).ctx(|| format!("reading {}", path.display()))?;
            if bin == "rs6-init" {
                a.file("init", 0o755, data.clone());
            }
            a.file(&format!("bin/{bin}"), 0o755, data);
        }
        if bins.iter().any(|b| b.0 == HPR) {
            for link in HPR_LINKS {
                a.symlink(&format!("sbin/{link}"), &format!("/bin/{HPR}"));
            }
        }
    }

    let rootfs = image_dir(name).join("rootfs");
    if rootfs.is_dir() {
        add_tree(&mut a, &rootfs, "", &[])?;
    }
    if !a.contains("init") {
        return Err(err(format!(
            "image {name}: no /init: rs6-init is not built ({} has no rs6-init) and {}/init does not exist",
            Profile::Release.dir_for(arch).display(),
            rootfs.display()
        )));
    }
    add_modules(&mut a, kernel, &conf.modules)?;
    Ok(a)
}

/// Copies the tree at `src` into the archive under `dest` (file modes and symlinks kept),
/// skipping top-level names in `skip`.
pub(crate) fn add_tree(a: &mut Archive, src: &Path, dest: &str, skip: &[&str]) -> Result<()> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let mut stack = vec![(src.to_path_buf(), dest.to_string())];
    while let Some((dir, prefix)) = stack.pop() {
        for e in std::fs::read_dir(&dir).ctx(|| format!("reading {}", dir.display()))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if dir == src && skip.contains(&name.as_str()) {
                continue;
            }
            let path = e.path();
            let guest = format!("{prefix}/{name}");
            let meta = std::fs::symlink_metadata(&path)?;
            let perm = meta.permissions().mode() & 0o7777;
            let ft = meta.file_type();
            if ft.is_symlink() {
                let t = std::fs::read_link(&path)?;
                a.symlink(&guest, &t.to_string_lossy());
            } else if ft.is_dir() {
                a.dir(&guest, perm);
                stack.push((path, guest));
            } else if ft.is_file() {
                let data = std::fs::read(&path).ctx(|| format!("reading {}", path.display()))?;
                a.file(&guest, perm, data);
            } else if ft.is_fifo() || ft.is_socket() || ft.is_char_device() || ft.is_block_device()
            {
                return Err(err(format!(
                    "{}: special files are not copied into images",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// `ext4`, `virtio-blk`, `kernel/x/virtio_blk.ko.xz` -> `ext4`, `virtio_blk`, `virtio_blk`.
fn module_name(s: &str) -> String {
    let base = s.rsplit('/').next().unwrap_or(s);
    let base = base.split(".ko").next().unwrap_or(base);
    base.replace('-', "_")
}

/// Reads a module file, decompressing `.ko.xz` / `.ko.gz` (the kernel and busybox insmod
/// both take a plain ELF).
fn read_module(path: &Path) -> Result<Vec<u8>> {
    let name = path.to_string_lossy();
    if name.ends_with(".ko") {
        std::fs::read(path).ctx(|| format!("reading {name}"))
    } else if name.ends_with(".ko.xz") {
        let out = Command::new("xz")
            .arg("-dc")
            .arg(path)
            .output()
            .ctx(|| "running xz -dc (apt-get install xz-utils)")?;
        if !out.status.success() {
            return Err(err(format!("xz -dc {name} failed")));
        }
        Ok(out.stdout)
    } else if name.ends_with(".ko.gz") {
        let mut v = Vec::new();
        let f = std::fs::File::open(path).ctx(|| format!("opening {name}"))?;
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(f), &mut v)
            .ctx(|| format!("gunzip {name}"))?;
        Ok(v)
    } else {
        Err(err(format!("{name}: unsupported module compression")))
    }
}

/// The `depends=` list of a module's `.modinfo`.
fn module_depends(ko: &[u8]) -> Result<Vec<String>> {
    let info = Elf::parse(ko)?.section(".modinfo")?.unwrap_or_default();
    Ok(info
        .split(|&b| b == 0)
        .filter_map(|kv| kv.strip_prefix(b"depends="))
        .flat_map(|v| {
            String::from_utf8_lossy(v)
                .split(',')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|d| !d.is_empty())
        .map(|d| module_name(&d))
        .collect())
}

/// Loaded modules: name -> (path relative to the modules dir, without compression suffix,
/// the plain bytes, its direct dependencies).
type Loaded = BTreeMap<String, (String, Vec<u8>, Vec<String>)>;

fn add_modules(a: &mut Archive, kernel: &Kernel, wanted: &[String]) -> Result<()> {
    if wanted.is_empty() {
        return Ok(());
    }
    let index = module_index(&kernel.modules)?;
    let builtin: BTreeSet<String> = std::fs::read_to_string(kernel.modules.join("modules.builtin"))
        .unwrap_or_default()
        .lines()
        .map(module_name)
        .collect();
    let mut loaded = Loaded::new();
    let mut todo: Vec<String> = wanted.iter().map(|m| module_name(m)).collect();
    while let Some(m) = todo.pop() {
        if loaded.contains_key(&m) || builtin.contains(&m) {
            continue;
        }
        let rel = index.get(&m).ok_or_else(|| {
            err(format!(
                "kernel module `{m}` not found in {}",
                kernel.modules.display()
            ))
        })?;
        let data = read_module(&kernel.modules.join(rel))?;
        let deps: Vec<String> = module_depends(&data)?
            .into_iter()
            .filter(|d| !builtin.contains(d))
            .collect();
        todo.extend(deps.iter().cloned());
        let plain = format!("{}.ko", rel.split(".ko").next().unwrap_or(rel));
        loaded.insert(m, (plain, data, deps));
    }
    let base = format!("lib/modules/{}", kernel.version);
    let dep = modules_dep(&loaded);
    for (path, data, _) in loaded.into_values() {
        a.file(&format!("{base}/{path}"), 0o644, data);
    }
    a.file(&format!("{base}/modules.dep"), 0o644, dep.into_bytes());
    for extra in ["modules.builtin", "modules.order"] {
        if let Ok(data) = std::fs::read(kernel.modules.join(extra)) {
            a.file(&format!("{base}/{extra}"), 0o644, data);
        }
    }
    Ok(())
}

/// `modules.dep` as depmod writes it: `path: dep dep ...` with every transitive dependency,
/// a module listed before what it needs (busybox and kmod load the list back to front).
fn modules_dep(loaded: &Loaded) -> String {
    fn visit(m: &str, loaded: &Loaded, seen: &mut BTreeSet<String>, order: &mut Vec<String>) {
        if !seen.insert(m.to_string()) {
            return;
        }
        if let Some((_, _, deps)) = loaded.get(m) {
            for d in deps {
                visit(d, loaded, seen, order);
            }
        }
        order.push(m.to_string());
    }
    let mut out = String::new();
    for (name, (path, _, _)) in loaded {
        let mut seen = BTreeSet::new();
        let mut order = Vec::new(); // load order: dependencies first, `name` last
        visit(name, loaded, &mut seen, &mut order);
        order.pop();
        out.push_str(path);
        out.push(':');
        for d in order.iter().rev() {
            if let Some((p, _, _)) = loaded.get(d) {
                out.push(' ');
                out.push_str(p);
            }
        }
        out.push('\n');
    }
    out
}

/// Module name -> path relative to `dir`, for every `*.ko*` under `dir/kernel/`.
fn module_index(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut index = BTreeMap::new();
    let mut stack = vec![dir.join("kernel")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ctx(|| format!("reading {}", d.display()))? {
            let e = e?;
            let p = e.path();
            if e.file_type()?.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains(".ko") {
                let rel = p.strip_prefix(dir).expect("under dir");
                let rel = rel.to_string_lossy().into_owned();
                index.insert(module_name(&rel), rel);
            }
        }
    }
    Ok(index)
}

/// gzip (header mtime 0, best compression) of the archive.
pub(crate) fn gzip(a: &Archive) -> Result<Vec<u8>> {
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(&a.to_bytes())?;
    Ok(gz.finish()?)
}

/// Writes `bytes` to `path` (through a temporary file and a rename).
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).ctx(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).ctx(|| format!("renaming to {}", path.display()))
}

/// Assembles and writes image `name`; returns the archive (for scenario overlays) and the
/// path of the gzip'd file.
pub(crate) fn image(name: &str, kernel: &Kernel) -> Result<(Archive, PathBuf)> {
    let a = assemble(name, kernel)?;
    let bytes = gzip(&a)?;
    let path = image_path(name, &kernel.arch);
    write_file(&path, &bytes)?;
    progress(format!(
        "image {name} ({}): {} ({} entries) -> {}",
        kernel.arch,
        human_size(bytes.len() as u64),
        a.len(),
        path.strip_prefix(project_root()).unwrap_or(&path).display()
    ));
    Ok((a, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpio::Kind;

    #[test]
    fn module_names() {
        assert_eq!(module_name("ext4"), "ext4");
        assert_eq!(module_name("virtio-blk"), "virtio_blk");
        assert_eq!(
            module_name("kernel/drivers/block/virtio_blk.ko.xz"),
            "virtio_blk"
        );
        assert_eq!(module_name("kernel/fs/jbd2/jbd2.ko"), "jbd2");
    }

    #[test]
    fn modules_dep_lists_transitive_deps_needers_first() {
        let mut l = Loaded::new();
        let m = |p: &str, d: &[&str]| {
            (
                p.to_string(),
                vec![],
                d.iter().map(|s| s.to_string()).collect(),
            )
        };
        l.insert(
            "ext4".into(),
            m("kernel/fs/ext4/ext4.ko", &["jbd2", "mbcache", "crc16"]),
        );
        l.insert("jbd2".into(), m("kernel/fs/jbd2/jbd2.ko", &["crc32c"]));
        l.insert("crc32c".into(), m("kernel/crypto/crc32c.ko", &[]));
        l.insert("mbcache".into(), m("kernel/fs/mbcache.ko", &[]));
        l.insert("crc16".into(), m("kernel/lib/crc16.ko", &[]));
        let dep = modules_dep(&l);
        let ext4 = dep
            .lines()
            .find(|x| x.starts_with("kernel/fs/ext4"))
            .unwrap();
        assert_eq!(
            ext4,
            "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko kernel/crypto/crc32c.ko"
        );
        assert!(dep.contains("kernel/crypto/crc32c.ko:\n"));
        assert_eq!(dep.lines().count(), 5);
    }

    #[test]
    fn add_tree_keeps_modes_and_symlinks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = target_dir().join("xtask-test-add-tree");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etc/rs6")).unwrap();
        std::fs::write(dir.join("etc/rs6/run"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            dir.join("etc/rs6/run"),
            std::fs::Permissions::from_mode(0o750),
        )
        .unwrap();
        std::os::unix::fs::symlink("/bin/busybox", dir.join("etc/link")).unwrap();
        std::fs::write(dir.join("expect"), "x").unwrap();
        let mut a = Archive::new();
        add_tree(&mut a, &dir, "scenario", &["expect"]).unwrap();
        let run = a.get("scenario/etc/rs6/run").unwrap();
        assert_eq!(run.perm, 0o750);
        assert_eq!(run.kind, Kind::File(b"#!/bin/sh\n".to_vec()));
        assert_eq!(
            a.get("scenario/etc/link").unwrap().kind,
            Kind::Symlink("/bin/busybox".into())
        );
        assert!(!a.contains("scenario/expect"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn gzip_is_deterministic() {
        let mut a = Archive::new();
        a.file("init", 0o755, b"#!/bin/sh\necho hi\n".to_vec());
        let (x, y) = (gzip(&a).unwrap(), gzip(&a).unwrap());
        assert_eq!(x, y);
        assert_eq!(&x[..2], [0x1f, 0x8b]);
        assert_eq!(&x[4..8], [0, 0, 0, 0], "gzip header mtime");
    }
}
