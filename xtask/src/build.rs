//! `cargo xtask build`: static musl builds of every rs6 binary (everything but xtask and
//! the host test crate), in the `release` profile (what goes into images) and the
//! `release-syms` profile (same code, symbols kept, for the no-allocator check), followed by
//! a size table. RUSTFLAGS is left alone: set in the environment it would replace
//! `.cargo/config.toml`'s `-C link-arg=-lc`.

use std::path::PathBuf;

use crate::setup::MUSL_TARGET;
use crate::util::{Context, Result, cargo, err, human_size, progress, run, target_dir};

/// Architectures `--arch` accepts.
pub(crate) const ARCHES: &[&str] = &["x86_64"];

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

    /// `target/<musl target>/<profile>/`.
    pub(crate) fn dir(self) -> PathBuf {
        target_dir().join(MUSL_TARGET).join(self.name())
    }
}

/// Every `rs6-*` executable in `profile`'s output directory, sorted by name.
pub(crate) fn binaries(profile: Profile) -> Result<Vec<(String, PathBuf)>> {
    use std::os::unix::fs::PermissionsExt;
    let dir = profile.dir();
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
    if !ARCHES.contains(&arch) {
        return Err(err(format!(
            "--arch {arch}: unsupported (known: {})",
            ARCHES.join(", ")
        )));
    }
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--profile",
        profile.name(),
        "--target",
        MUSL_TARGET,
    ])
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
    progress(format!("build: {} done", profile.name()));
    Ok(())
}

/// `cargo xtask build`: both profiles, then the size table of the release binaries.
pub(crate) fn build(arch: &str, with_syms: bool) -> Result<()> {
    cargo_build(arch, Profile::Release)?;
    if with_syms {
        cargo_build(arch, Profile::ReleaseSyms)?;
    }
    let bins = binaries(Profile::Release)?;
    let width = bins.iter().map(|b| b.0.len()).max().unwrap_or(0);
    let mut total = 0;
    for (name, path) in &bins {
        let size = std::fs::metadata(path)?.len();
        total += size;
        println!("  {name:<width$} {size:>9} B");
    }
    progress(format!(
        "build: {} rs6 binaries, {} in total",
        bins.len(),
        human_size(total)
    ));
    Ok(())
}
