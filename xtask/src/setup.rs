//! `cargo xtask setup`: idempotent host setup. Adds the musl rustup target, installs the
//! Debian packages the images and tests need, and unpacks the Debian kernel (the one
//! `linux-image-amd64` depends on) under `target/kernel/root/`. Every check is cheap, so a
//! second run on a ready host takes well under a second; the kernel is recorded in the stamp
//! file `target/kernel/kernel.stamp`, which later commands read via [`Kernel::load`].

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::conf::Conf;
use crate::util::{Context, Result, err, output, progress, read, run, target_dir};

/// The rustup target every rs6 binary is built for.
pub(crate) const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

/// Debian packages: QEMU, the guest userland (busybox-static), s6 + execline (the
/// compatibility oracle), strace (debugging), cpio (inspecting images), e2fsprogs (scenario
/// disks: `mkfs.ext4`, and `debugfs`/`e2fsck` in host checks). Debian's bookworm
/// kernel ships plain `.ko` modules and no `modules.dep` (depmod runs in its postinst), so
/// `image.rs` resolves dependencies itself from each module's `.modinfo`.
const PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "busybox-static",
    "cpio",
    "s6",
    "execline",
    "strace",
    "e2fsprogs",
];

/// The metapackage whose dependency names the current Debian kernel.
const KERNEL_META: &str = "linux-image-amd64";

/// The unpacked Debian kernel.
#[derive(Debug, Clone)]
pub(crate) struct Kernel {
    /// `uname -r`, e.g. `6.1.0-56-amd64`.
    pub(crate) version: String,
    /// The kernel image for QEMU's `-kernel`.
    pub(crate) vmlinuz: PathBuf,
    /// `lib/modules/<version>/` of the unpacked package.
    pub(crate) modules: PathBuf,
}

impl Kernel {
    fn dir() -> PathBuf {
        target_dir().join("kernel")
    }

    fn stamp() -> PathBuf {
        Self::dir().join("kernel.stamp")
    }

    fn from_version(version: &str) -> Kernel {
        let root = Self::dir().join("root");
        Kernel {
            version: version.to_string(),
            vmlinuz: root.join("boot").join(format!("vmlinuz-{version}")),
            modules: root.join("lib/modules").join(version),
        }
    }

    /// The kernel recorded by a previous `setup`.
    pub(crate) fn load() -> Result<Kernel> {
        let conf = Conf::load(&Self::stamp(), &["package", "version"], false)
            .map_err(|e| err(format!("{e}\n(run `cargo xtask setup` first)")))?;
        let version = conf
            .get("version")
            .ok_or_else(|| err("kernel.stamp has no version; run `cargo xtask setup`"))?;
        let k = Kernel::from_version(version);
        if !k.vmlinuz.is_file() || !k.modules.join("modules.order").is_file() {
            return Err(err(format!(
                "{} or {}/modules.order missing; run `cargo xtask setup`",
                k.vmlinuz.display(),
                k.modules.display()
            )));
        }
        Ok(k)
    }
}

/// Runs the whole setup.
pub(crate) fn setup() -> Result<Kernel> {
    let mut apt = Apt { updated: false };
    musl_target()?;
    packages(&mut apt)?;
    let k = kernel(&mut apt)?;
    progress(format!("setup: ready (kernel {})", k.version));
    Ok(k)
}

fn musl_target() -> Result<()> {
    let installed = read(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if installed.lines().any(|l| l.trim() == MUSL_TARGET) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", MUSL_TARGET]))?;
    progress(format!("setup: rustup target {MUSL_TARGET} added"));
    Ok(())
}

fn is_root() -> bool {
    // The effective uid is the second number on the `Uid:` line.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn missing_packages() -> Result<Vec<&'static str>> {
    let out = output(
        Command::new("dpkg-query")
            .arg("-W")
            .arg("-f=${Package} ${Status}\\n")
            .args(PACKAGES),
    )?;
    // Exit status 1 just means some package is unknown to dpkg: those stay missing.
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            !text.lines().any(|l| {
                let mut w = l.split_whitespace();
                // dpkg-query prints the name without `:arch` for native packages.
                w.next().is_some_and(|n| n.split(':').next() == Some(*p))
                    && l.ends_with("install ok installed")
            })
        })
        .collect())
}

/// apt-get with "update once, then retry" when the package lists are stale or absent.
struct Apt {
    updated: bool,
}

impl Apt {
    fn update(&mut self) -> Result<()> {
        run(Command::new("apt-get").args(["update", "-q"]))?;
        self.updated = true;
        Ok(())
    }
}

/// Whether apt's output means "refresh the package lists and try again".
fn lists_stale(text: &str) -> bool {
    [
        "Unable to locate package",
        "has no installation candidate",
        "not found",
        "Failed to fetch",
        "404",
    ]
    .iter()
    .any(|m| text.contains(m))
}

fn packages(apt: &mut Apt) -> Result<()> {
    let missing = missing_packages()?;
    if missing.is_empty() {
        return Ok(());
    }
    let mut cmd = Command::new("apt-get");
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing);
    if !is_root() {
        return Err(err(format!(
            "setup: missing Debian packages {}; run as root: sudo apt-get install -y --no-install-recommends {}",
            missing.join(" "),
            missing.join(" ")
        )));
    }
    loop {
        let out = output(&mut cmd)?;
        if out.status.success() {
            break;
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !apt.updated && lists_stale(&text) {
            apt.update()?;
            continue;
        }
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        return Err(err(format!(
            "apt-get install failed:\n{}",
            crate::util::tail(&lines, 20)
        )));
    }
    progress(format!("setup: installed {}", missing.join(" ")));
    Ok(())
}

/// The package `linux-image-amd64` depends on, from `apt-cache depends`.
fn kernel_package(apt: &mut Apt) -> Result<String> {
    loop {
        let out = output(Command::new("apt-cache").args(["depends", KERNEL_META]))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let found = text.lines().find_map(|l| {
            l.trim()
                .strip_prefix("Depends:")
                .map(str::trim)
                .filter(|p| p.starts_with("linux-image-"))
                .map(str::to_string)
        });
        match found {
            Some(p) => return Ok(p),
            None if !apt.updated && is_root() => apt.update()?,
            None => {
                return Err(err(format!(
                    "`apt-cache depends {KERNEL_META}` names no kernel package{}",
                    if is_root() {
                        ""
                    } else {
                        "; run as root: sudo apt-get update"
                    }
                )));
            }
        }
    }
}

fn kernel(apt: &mut Apt) -> Result<Kernel> {
    if let Ok(k) = Kernel::load() {
        return Ok(k);
    }
    let dir = Kernel::dir();
    std::fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
    // A stale package list can name a kernel the mirror no longer has: update once, retry.
    let (pkg, deb) = loop {
        let pkg = kernel_package(apt)?;
        remove_debs(&dir)?;
        let r = run(Command::new("apt-get")
            .args(["download", "-q", "-o", "APT::Sandbox::User=root", &pkg])
            .current_dir(&dir));
        match r {
            Ok(()) => break (pkg.clone(), find_deb(&dir, &pkg)?),
            Err(_) if !apt.updated && is_root() => apt.update()?,
            Err(e) => return Err(e),
        }
    };
    let root = dir.join("root");
    if root.exists() {
        std::fs::remove_dir_all(&root).ctx(|| format!("removing {}", root.display()))?;
    }
    run(Command::new("dpkg").arg("-x").arg(&deb).arg(&root))?;
    let version = single_subdir(&root.join("lib/modules"))?;
    let k = Kernel::from_version(&version);
    if !k.vmlinuz.is_file() {
        return Err(err(format!("{} not in {pkg}", k.vmlinuz.display())));
    }
    std::fs::remove_file(&deb).ctx(|| format!("removing {}", deb.display()))?;
    std::fs::write(
        Kernel::stamp(),
        format!("# written by cargo xtask setup\npackage = {pkg}\nversion = {version}\n"),
    )
    .ctx(|| "writing kernel.stamp")?;
    progress(format!("setup: kernel {pkg} unpacked"));
    Kernel::load()
}

fn remove_debs(dir: &Path) -> Result<()> {
    for e in std::fs::read_dir(dir).ctx(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "deb") {
            std::fs::remove_file(&p).ctx(|| format!("removing {}", p.display()))?;
        }
    }
    Ok(())
}

fn find_deb(dir: &Path, pkg: &str) -> Result<PathBuf> {
    let prefix = format!("{pkg}_");
    for e in std::fs::read_dir(dir).ctx(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".deb") {
            return Ok(p);
        }
    }
    Err(err(format!(
        "apt-get download {pkg} left no .deb in {}",
        dir.display()
    )))
}

fn single_subdir(dir: &Path) -> Result<String> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).ctx(|| format!("reading {}", dir.display()))? {
        let e = e?;
        if e.file_type()?.is_dir() {
            names.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    match names.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(err(format!(
            "expected one kernel version in {}, found {names:?}",
            dir.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_list_messages() {
        assert!(lists_stale("E: Unable to locate package s6"));
        assert!(lists_stale(
            "E: Package 'cpio' has no installation candidate"
        ));
        assert!(!lists_stale("E: Could not get lock /var/lib/dpkg/lock"));
    }
}
