//! `cargo xtask build [--arch x86_64|aarch64]`: static musl builds of every rs6 binary
//! (everything but xtask and the host test crate), in the `release` profile (what goes into
//! images) and the `release-syms` profile (same code, symbols kept, for the no-allocator
//! check), followed by a size table. aarch64 links with rust-lld (`.cargo/config.toml`), so
//! no cross C toolchain is needed. RUSTFLAGS is left alone: set in the environment it would
//! replace `.cargo/config.toml`'s `-C link-arg=-lc`.

use std::path::PathBuf;

use crate::util::{Context, Result, cargo, err, human_size, progress, run, target_dir};

/// Architectures `--arch` accepts.
pub(crate) const ARCHES: &[&str] = &["x86_64", "aarch64"];

/// The rustup target of `arch` (`x86_64-unknown-linux-musl`, ...).
pub(crate) fn musl_target(arch: &str) -> Result<&'static str> {
    match arch {
        "x86_64" => Ok("x86_64-unknown-linux-musl"),
        "aarch64" => Ok("aarch64-unknown-linux-musl"),
        _ => Err(err(format!(
            "--arch {arch}: unsupported (known: {})",
            ARCHES.join(", ")
        ))),
    }
}

/// The ELF `e_machine` of `arch`'s binaries (EM_X86_64, EM_AARCH64).
pub(crate) fn elf_machine(arch: &str) -> Option<u16> {
    match arch {
        "x86_64" => Some(62),
        "aarch64" => Some(183),
        _ => None,
    }
}

/// A cargo profile we build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// Stripped binaries for images.
    Release,
    /// Same, unstripped (`[profile.release-syms]` in the workspace Cargo.toml).
    ReleaseSyms,
}

impl Profile {
    fn name(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::ReleaseSyms => "release-syms",
        }
    }

    /// `target/x86_64-unknown-linux-musl/<profile>/` (the default architecture's).
    pub(crate) fn dir(self) -> PathBuf {
        self.dir_for(crate::DEFAULT_ARCH)
    }

    /// `target/<musl target of arch>/<profile>/` (an unknown arch gets the default's).
    pub(crate) fn dir_for(self, arch: &str) -> PathBuf {
        let t = musl_target(arch).unwrap_or(crate::setup::MUSL_TARGET);
        target_dir().join(t).join(self.name())
    }
}

/// Every `rs6-*` executable in `profile`'s output directory for `arch`, sorted by name.
pub(crate) fn binaries(arch: &str, profile: Profile) -> Result<Vec<(String, PathBuf)>> {
    use std::os::unix::fs::PermissionsExt;
    let dir = profile.dir_for(arch);
    let mut v = Vec::new();
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Ok(v);
    };
    for e in rd {
        let e = e.ctx(|| format!("reading {}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let meta = e.metadata()?;
        if name.starts_with("rs6-")
            && !name.contains('.')
            && meta.is_file()
            && meta.permissions().mode() & 0o111 != 0
        {
            v.push((name, e.path()));
        }
    }
    v.sort();
    Ok(v)
}

/// Builds `profile` for `arch`.
pub(crate) fn cargo_build(arch: &str, profile: Profile) -> Result<()> {
    let target = musl_target(arch)?;
    let mut cmd = cargo();
    cmd.args(["build", "--profile", profile.name(), "--target", target])
        .args([
            "--workspace",
            "--exclude",
            "xtask",
            "--exclude",
            "rs6-tests",
        ]);
    if std::env::var_os("RUSTFLAGS").is_some() {
        progress("warning: RUSTFLAGS is set and replaces .cargo/config.toml's -C link-arg=-lc");
    }
    run(&mut cmd)?;
    progress(format!("build: {} {arch} done", profile.name()));
    Ok(())
}

/// `cargo xtask build`: both profiles, then the size table of the release binaries.
pub(crate) fn build(arch: &str, with_syms: bool) -> Result<()> {
    cargo_build(arch, Profile::Release)?;
    if with_syms {
        cargo_build(arch, Profile::ReleaseSyms)?;
    }
    let bins = binaries(arch, Profile::Release)?;
    let width = bins.iter().map(|b| b.0.len()).max().unwrap_or(0);
    let mut total = 0;
    for (name, path) in &bins {
        let size = std::fs::metadata(path)?.len();
        total += size;
        println!("  {name:<width$} {size:>9} B");
    }
    progress(format!(
        "build: {} rs6 binaries for {arch}, {} in total",
        bins.len(),
        human_size(total)
    ));
    Ok(())
}
