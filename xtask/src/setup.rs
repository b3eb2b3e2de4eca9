//! `cargo xtask setup`: idempotent host setup, for each guest architecture (x86_64 and
//! aarch64). Adds the musl rustup targets, installs the Debian packages the images and tests
//! need, and unpacks Debian's kernel for the architecture (the package `linux-image-amd64`
//! or `linux-image-arm64` depends on) under `target/kernel/root/` (x86_64) or
//! `target/kernel-aarch64/root/`. For aarch64 it also adds Debian's `arm64` architecture
//! (`dpkg --add-architecture arm64`, `apt-get update`) and unpacks, without installing,
//! `busybox-static:arm64` under `target/busybox-aarch64/root/` (the guest userland).
//! Every check is cheap, so a second run on a ready host takes well under a second; a kernel
//! is recorded in the stamp file `kernel.stamp` of its directory, which later commands read
//! via [`Kernel::load`].

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::build::{ARCHES, musl_target};
use crate::conf::Conf;
use crate::util::{Context, Result, err, output, progress, read, run, target_dir};

/// The rustup target of the host test suites (the default architecture's).
pub(crate) const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

/// Debian packages every architecture needs: the guest userland (busybox-static), s6 +
/// execline (the compatibility oracle), strace (debugging), cpio (inspecting images),
/// e2fsprogs (scenario disks: `mkfs.ext4`, and `debugfs`/`e2fsck` in host checks).
/// Debian's bookworm kernel ships plain `.ko` modules and no `modules.dep` (depmod runs in
/// its postinst), so `image.rs` resolves dependencies itself from each module's `.modinfo`.
const PACKAGES: &[&str] = &[
    "busybox-static",
    "cpio",
    "s6",
    "execline",
    "strace",
    "e2fsprogs",
];

/// What differs per guest architecture on the host side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Guest {
    /// `x86_64` or `aarch64` (`--arch`).
    pub(crate) arch: &'static str,
    /// Debian's name for it.
    deb_arch: &'static str,
    /// The metapackage whose dependency names the current Debian kernel.
    kernel_meta: &'static str,
    /// The Debian package with `qemu-system-<arch>`.
    qemu_package: &'static str,
}

/// The guests we know, in [`ARCHES`] order.
const GUESTS: &[Guest] = &[
    Guest {
        arch: "x86_64",
        deb_arch: "amd64",
        kernel_meta: "linux-image-amd64",
        qemu_package: "qemu-system-x86",
    },
    Guest {
        arch: "aarch64",
        deb_arch: "arm64",
        kernel_meta: "linux-image-arm64",
        // qemu-system-arm provides qemu-system-aarch64.
        qemu_package: "qemu-system-arm",
    },
];

impl Guest {
    /// The guest of `arch`.
    pub(crate) fn of(arch: &str) -> Result<Guest> {
        GUESTS
            .iter()
            .copied()
            .find(|g| g.arch == arch)
            .ok_or_else(|| {
                err(format!(
                    "--arch {arch}: unsupported (known: {})",
                    ARCHES.join(", ")
                ))
            })
    }

    /// Whether the host runs this architecture natively (its packages are not foreign).
    fn native(self) -> bool {
        self.arch == std::env::consts::ARCH
    }

    /// `PKG` for a native guest, `PKG:arm64` for a foreign one.
    fn qualified(self, pkg: &str) -> String {
        if self.native() {
            pkg.to_string()
        } else {
            format!("{pkg}:{}", self.deb_arch)
        }
    }

    /// Where the kernel is unpacked: `target/kernel` (x86_64), `target/kernel-<arch>`.
    fn kernel_dir(self) -> PathBuf {
        if self.arch == "x86_64" {
            target_dir().join("kernel")
        } else {
            target_dir().join(format!("kernel-{}", self.arch))
        }
    }

    /// Where a foreign busybox-static is unpacked.
    fn busybox_dir(self) -> PathBuf {
        target_dir().join(format!("busybox-{}", self.arch))
    }

    /// The guest's busybox-static binary: the host's `/bin/busybox` for a native guest,
    /// else the unpacked foreign package's.
    pub(crate) fn busybox(self) -> PathBuf {
        if self.native() {
            PathBuf::from(BUSYBOX)
        } else {
            self.busybox_dir().join("root/bin/busybox")
        }
    }
}

/// Where busybox-static installs its binary on Debian.
pub(crate) const BUSYBOX: &str = "/bin/busybox";

/// The unpacked Debian kernel of one architecture.
#[derive(Debug, Clone)]
pub(crate) struct Kernel {
    /// The guest architecture (`x86_64`, `aarch64`).
    pub(crate) arch: String,
    /// `uname -r`, e.g. `6.1.0-56-amd64`.
    pub(crate) version: String,
    /// The kernel image for QEMU's `-kernel`.
    pub(crate) vmlinuz: PathBuf,
    /// `lib/modules/<version>/` of the unpacked package.
    pub(crate) modules: PathBuf,
}

impl Kernel {
    fn stamp(g: Guest) -> PathBuf {
        g.kernel_dir().join("kernel.stamp")
    }

    fn from_version(g: Guest, version: &str) -> Kernel {
        let root = g.kernel_dir().join("root");
        Kernel {
            arch: g.arch.to_string(),
            version: version.to_string(),
            vmlinuz: root.join("boot").join(format!("vmlinuz-{version}")),
            modules: root.join("lib/modules").join(version),
        }
    }

    /// The kernel of `arch` recorded by a previous `setup`.
    pub(crate) fn load(arch: &str) -> Result<Kernel> {
        let g = Guest::of(arch)?;
        let conf = Conf::load(&Self::stamp(g), &["package", "version"], false)
            .map_err(|e| err(format!("{e}\n(run `cargo xtask setup` first)")))?;
        let version = conf
            .get("version")
            .ok_or_else(|| err("kernel.stamp has no version; run `cargo xtask setup`"))?;
        let k = Kernel::from_version(g, version);
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

/// Sets up every architecture in `arches`; returns their kernels, in that order.
pub(crate) fn setup_for(arches: &[&str]) -> Result<Vec<Kernel>> {
    let guests = arches
        .iter()
        .map(|a| Guest::of(a))
        .collect::<Result<Vec<_>>>()?;
    let mut apt = Apt { updated: false };
    for g in &guests {
        rustup_target(musl_target(g.arch)?)?;
        if !g.native() {
            foreign_arch(*g, &mut apt)?;
        }
    }
    let mut wanted: Vec<&str> = PACKAGES.to_vec();
    wanted.extend(guests.iter().map(|g| g.qemu_package));
    packages(&mut apt, &wanted)?;
    let mut kernels = Vec::new();
    for g in &guests {
        if !g.native() {
            foreign_busybox(*g, &mut apt)?;
        }
        kernels.push(kernel(*g, &mut apt)?);
    }
    let names: Vec<String> = kernels
        .iter()
        .map(|k| format!("{} {}", k.arch, k.version))
        .collect();
    progress(format!("setup: ready (kernels: {})", names.join(", ")));
    Ok(kernels)
}

/// `rustup target add TARGET` unless it is installed.
pub(crate) fn rustup_target(target: &str) -> Result<()> {
    let installed = read(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if installed.lines().any(|l| l.trim() == target) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", target]))?;
    progress(format!("setup: rustup target {target} added"));
    Ok(())
}

/// `dpkg --add-architecture` for a foreign guest, then a package list update.
fn foreign_arch(g: Guest, apt: &mut Apt) -> Result<()> {
    let known = read(Command::new("dpkg").arg("--print-foreign-architectures"))?;
    if known.lines().any(|l| l.trim() == g.deb_arch) {
        return Ok(());
    }
    if !is_root() {
        return Err(err(format!(
            "setup: Debian architecture {0} missing; run as root: sudo dpkg --add-architecture {0} && sudo apt-get update",
            g.deb_arch
        )));
    }
    run(Command::new("dpkg").args(["--add-architecture", g.deb_arch]))?;
    apt.update()?;
    progress(format!("setup: Debian architecture {} added", g.deb_arch));
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

fn missing_packages<'a>(wanted: &[&'a str]) -> Result<Vec<&'a str>> {
    let out = output(
        Command::new("dpkg-query")
            .arg("-W")
            .arg("-f=${Package} ${Status}\\n")
            .args(wanted),
    )?;
    // Exit status 1 just means some package is unknown to dpkg: those stay missing.
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(wanted
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

fn packages(apt: &mut Apt, wanted: &[&str]) -> Result<()> {
    let missing = missing_packages(wanted)?;
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

/// The package the kernel metapackage (`linux-image-amd64`, `linux-image-arm64`) depends
/// on, from `apt-cache depends` (without the `:arm64` qualifier apt adds to foreign ones).
fn kernel_package(g: Guest, apt: &mut Apt) -> Result<String> {
    let meta = g.qualified(g.kernel_meta);
    loop {
        let out = output(Command::new("apt-cache").args(["depends", &meta]))?;
        let text = String::from_utf8_lossy(&out.stdout);
        match depends_on(&text, "linux-image-") {
            Some(p) => return Ok(p),
            None if !apt.updated && is_root() => apt.update()?,
            None => {
                return Err(err(format!(
                    "`apt-cache depends {meta}` names no kernel package{}",
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

/// The first `Depends:` of `apt-cache depends` output starting with `prefix`, without an
/// architecture qualifier.
fn depends_on(text: &str, prefix: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.trim()
            .strip_prefix("Depends:")
            .map(str::trim)
            .filter(|p| p.starts_with(prefix))
            .map(|p| p.split(':').next().unwrap_or(p).to_string())
    })
}

/// `apt-get download PKG` into `dir` (the package lists updated once if the mirror no longer
/// has what they name); returns the .deb. `name` gives the package name for each try.
fn download(
    g: Guest,
    dir: &Path,
    apt: &mut Apt,
    mut name: impl FnMut(&mut Apt) -> Result<String>,
) -> Result<(String, PathBuf)> {
    std::fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
    loop {
        let pkg = name(apt)?;
        remove_debs(dir)?;
        let r = run(Command::new("apt-get")
            .args(["download", "-q", "-o", "APT::Sandbox::User=root"])
            .arg(g.qualified(&pkg))
            .current_dir(dir));
        match r {
            Ok(()) => {
                let deb = find_deb(dir, &pkg)?;
                return Ok((pkg, deb));
            }
            Err(_) if !apt.updated && is_root() => apt.update()?,
            Err(e) => return Err(e),
        }
    }
}

/// `dpkg -x DEB DIR/root` (a fresh `root`), then the .deb is removed.
fn unpack(deb: &Path, dir: &Path) -> Result<PathBuf> {
    let root = dir.join("root");
    if root.exists() {
        std::fs::remove_dir_all(&root).ctx(|| format!("removing {}", root.display()))?;
    }
    run(Command::new("dpkg").arg("-x").arg(deb).arg(&root))?;
    std::fs::remove_file(deb).ctx(|| format!("removing {}", deb.display()))?;
    Ok(root)
}

fn kernel(g: Guest, apt: &mut Apt) -> Result<Kernel> {
    if let Ok(k) = Kernel::load(g.arch) {
        return Ok(k);
    }
    let dir = g.kernel_dir();
    let (pkg, deb) = download(g, &dir, apt, |apt| kernel_package(g, apt))?;
    let root = unpack(&deb, &dir)?;
    let version = single_subdir(&root.join("lib/modules"))?;
    let k = Kernel::from_version(g, &version);
    if !k.vmlinuz.is_file() {
        return Err(err(format!("{} not in {pkg}", k.vmlinuz.display())));
    }
    std::fs::write(
        Kernel::stamp(g),
        format!("# written by cargo xtask setup\npackage = {pkg}\nversion = {version}\n"),
    )
    .ctx(|| "writing kernel.stamp")?;
    progress(format!("setup: kernel {pkg} unpacked"));
    Kernel::load(g.arch)
}

/// Unpacks (never installs) a foreign architecture's busybox-static: the guest userland.
/// Its applet list is the host busybox's (`--list-full` cannot run a foreign binary),
/// the same when the Debian versions are (a difference is reported).
fn foreign_busybox(g: Guest, apt: &mut Apt) -> Result<()> {
    let dir = g.busybox_dir();
    let stamp = dir.join("busybox.stamp");
    if Conf::load(&stamp, &["version"], false).is_ok() && g.busybox().is_file() {
        return Ok(());
    }
    let host = host_package_version("busybox-static")?;
    let (_, deb) = download(g, &dir, apt, |_| Ok("busybox-static".to_string()))?;
    let name = deb.file_name().unwrap_or_default().to_string_lossy();
    // busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb: the version, `:` escaped as %3a.
    let version = name
        .split('_')
        .nth(1)
        .unwrap_or_default()
        .replace("%3a", ":");
    if version != host {
        // A point release keeps Debian's busybox configuration: warn, go on.
        progress(format!(
            "setup: warning: busybox-static:{} is {version} but the host's is {host}; its applet list is used (`apt-get install busybox-static` to match)",
            g.deb_arch
        ));
    }
    unpack(&deb, &dir)?;
    if !g.busybox().is_file() {
        return Err(err(format!(
            "{} not in busybox-static",
            g.busybox().display()
        )));
    }
    std::fs::write(
        &stamp,
        format!("# written by cargo xtask setup\nversion = {version}\n"),
    )
    .ctx(|| "writing busybox.stamp")?;
    progress(format!(
        "setup: busybox-static:{} {version} unpacked",
        g.deb_arch
    ));
    Ok(())
}

/// The installed version of a host package.
fn host_package_version(pkg: &str) -> Result<String> {
    Ok(
        read(Command::new("dpkg-query").args(["-W", "-f=${Version}", pkg]))?
            .trim()
            .to_string(),
    )
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
    fn kernel_package_from_apt_cache() {
        let amd = "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n";
        assert_eq!(
            depends_on(amd, "linux-image-").as_deref(),
            Some("linux-image-6.1.0-56-amd64")
        );
        let arm = "linux-image-arm64:arm64\n  Depends: linux-image-6.1.0-56-arm64:arm64\n";
        assert_eq!(
            depends_on(arm, "linux-image-").as_deref(),
            Some("linux-image-6.1.0-56-arm64")
        );
        assert_eq!(
            depends_on("x\n  Recommends: linux-image-1\n", "linux-image-"),
            None
        );
    }

    #[test]
    fn guests() {
        let a = Guest::of("aarch64").unwrap();
        assert_eq!(a.qualified("busybox-static"), "busybox-static:arm64");
        assert!(a.kernel_dir().ends_with("target/kernel-aarch64"));
        assert!(
            a.busybox()
                .ends_with("target/busybox-aarch64/root/bin/busybox")
        );
        let x = Guest::of("x86_64").unwrap();
        assert_eq!(x.qualified("busybox-static"), "busybox-static");
        assert!(x.kernel_dir().ends_with("target/kernel"));
        assert_eq!(x.busybox(), PathBuf::from(BUSYBOX));
        assert!(Guest::of("riscv64").is_err());
        assert_eq!(
            GUESTS.iter().map(|g| g.arch).collect::<Vec<_>>(),
            ARCHES,
            "one guest per --arch"
        );
    }

    #[test]
    fn stale_list_messages() {
        assert!(lists_stale("E: Unable to locate package s6"));
        assert!(lists_stale(
            "E: Package 'cpio' has no installation candidate"
        ));
        assert!(!lists_stale("E: Could not get lock /var/lib/dpkg/lock"));
    }
}
