//! rs6's build system, following the cargo-xtask convention
//! (<https://github.com/matklad/cargo-xtask>): `cargo xtask CMD` (an alias in
//! `.cargo/config.toml`) runs this host-only std program. One module per command; every
//! step prints one progress line with the elapsed time, every external command is printed
//! as `$ cmd args` before it runs. Nothing here is linked into an image.
//!
//! ```text
//! cargo xtask setup                     rustup musl targets, Debian packages, Debian kernels
//! cargo xtask build [--arch ARCH]       static musl release + release-syms builds, size table
//! cargo xtask image [NAME] [--arch ARCH]
//!                                       target/images/NAME.cpio.gz (default: demo)
//! cargo xtask run [NAME] [--arch ARCH] [--kvm] [--timeout SECS]
//!                                       boot NAME: a shell on a terminal, else its script
//! cargo xtask test [--arch ARCH] [--kvm] [FILTER]
//!                                       host tests, binary checks, QEMU scenarios
//! cargo xtask install --root DIR [--arch ARCH] [--init] [--yes]
//!                                       rs6 into a root file system tree
//! cargo xtask bench [--quick] [--only STEP]
//!                                       rs6 beside s6, runit, daemontools: bench/RESULTS.md
//! ```

mod bench;
mod build;
mod checks;
mod conf;
mod cpio;
mod elf;
mod fuzz;
mod image;
mod install;
mod qemu;
#[cfg(test)]
mod recipes;
mod run;
mod scenario;
mod setup;
mod test;
mod util;

use std::process::ExitCode;
use std::time::Duration;

use util::{Result, err};

const USAGE: &str = "usage: cargo xtask <command>   (ARCH: x86_64 (default) or aarch64)
  setup                               install what builds and tests need (idempotent)
  build [--arch ARCH]                 static musl builds + size table
  image [NAME] [--arch ARCH]          build target/images/NAME.cpio.gz (default demo)
  run [NAME] [--arch ARCH] [--kvm] [--timeout SECS]
                                      boot NAME in QEMU (shell on a tty, else its script)
  test [--arch ARCH] [--kvm] [FILTER] host tests, binary checks, scenarios matching FILTER
                                      (both architectures' scenarios unless --arch)
  install --root DIR [--arch ARCH] [--init] [--yes]
                                      rs6 into a root file system: bin/, etc/rs6/, and with
                                      --init sbin/init and halt/poweroff/reboot (DIR / needs --yes)
  bench [--quick] [--only STEP]       rs6 beside s6, runit, daemontools: bench/RESULTS.md
  fuzz [--secs N] [--merge] [--check] [TARGET...]  fuzz each parser N s (default 60)";

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Cmd {
    Setup,
    Build {
        arch: String,
    },
    Image {
        name: String,
        arch: String,
    },
    Run {
        name: String,
        arch: String,
        kvm: bool,
        timeout: u64,
    },
    Test {
        arch: Option<String>,
        kvm: bool,
        filter: Option<String>,
    },
    Install {
        root: std::path::PathBuf,
        arch: String,
        init: bool,
        yes: bool,
    },
    Help,
}

/// Default image for `image` and `run`.
const DEFAULT_IMAGE: &str = "demo";
/// The architecture when `--arch` is not given (the host's, and the x86_64 suite's).
const DEFAULT_ARCH: &str = "x86_64";

impl Cmd {
    fn parse(args: &[String]) -> Result<Cmd> {
        let Some((cmd, rest)) = args.split_first() else {
            return Ok(Cmd::Help);
        };
        let mut kvm = false;
        let mut init = false;
        let mut yes = false;
        let mut arch = None;
        let mut root = None;
        let mut timeout = None;
        let mut positional = Vec::new();
        let mut it = rest.iter();
        while let Some(a) = it.next() {
            let mut value = |flag: &str| {
                it.next()
                    .cloned()
                    .ok_or_else(|| err(format!("{flag} needs a value")))
            };
            match a.as_str() {
                "--kvm" => kvm = true,
                "--init" => init = true,
                "--yes" => yes = true,
                "--arch" => {
                    let a = value("--arch")?;
                    build::musl_target(&a)?;
                    arch = Some(a);
                }
                "--root" => root = Some(value("--root")?),
                "--timeout" => {
                    let v = value("--timeout")?;
                    timeout = Some(
                        v.parse::<u64>()
                            .map_err(|_| err(format!("--timeout {v}: not a number")))?,
                    );
                }
                "-h" | "--help" => return Ok(Cmd::Help),
                f if f.starts_with('-') => {
                    return Err(err(format!("{cmd}: unknown option `{f}`")));
                }
                p => positional.push(p.to_string()),
            }
        }
        let allowed: (&[&str], usize) = match cmd.as_str() {
            "setup" => (&[], 0),
            "build" => (&["--arch"], 0),
            "image" => (&["--arch"], 1),
            "run" => (&["--arch", "--kvm", "--timeout"], 1),
            "test" => (&["--arch", "--kvm"], 1),
            "install" => (&["--arch", "--root", "--init", "--yes"], 0),
            "help" => return Ok(Cmd::Help),
            other => return Err(err(format!("unknown command `{other}`"))),
        };
        for (flag, set) in [
            ("--kvm", kvm),
            ("--init", init),
            ("--yes", yes),
            ("--arch", arch.is_some()),
            ("--root", root.is_some()),
            ("--timeout", timeout.is_some()),
        ] {
            if set && !allowed.0.contains(&flag) {
                return Err(err(format!("{cmd}: {flag} not supported")));
            }
        }
        if positional.len() > allowed.1 {
            return Err(err(format!(
                "{cmd}: unexpected argument `{}`",
                positional[allowed.1]
            )));
        }
        let first = positional.into_iter().next();
        let test_arch = arch.clone();
        let arch = arch.unwrap_or_else(|| DEFAULT_ARCH.into());
        Ok(match cmd.as_str() {
            "setup" => Cmd::Setup,
            "build" => Cmd::Build { arch },
            "image" => Cmd::Image {
                name: first.unwrap_or_else(|| DEFAULT_IMAGE.into()),
                arch,
            },
            "run" => Cmd::Run {
                name: first.unwrap_or_else(|| DEFAULT_IMAGE.into()),
                arch,
                kvm,
                timeout: timeout.unwrap_or(run::DEFAULT_TIMEOUT),
            },
            "install" => Cmd::Install {
                root: root
                    .ok_or_else(|| err("install: --root DIR is required"))?
                    .into(),
                arch,
                init,
                yes,
            },
            _ => Cmd::Test {
                arch: test_arch,
                kvm,
                filter: first,
            },
        })
    }

    /// Runs the command; Ok(false) means "ran, but the verdict is failure".
    fn run(self) -> Result<bool> {
        match self {
            Cmd::Setup => setup::setup_for(build::ARCHES).map(|_| true),
            Cmd::Build { arch } => {
                setup::rustup_target(build::musl_target(&arch)?)?;
                build::build(&arch, true).map(|()| true)
            }
            Cmd::Image { name, arch } => {
                let kernel = setup::setup_for(&[&arch])?.remove(0);
                build::cargo_build(&arch, build::Profile::Release)?;
                image::image(&name, &kernel).map(|_| true)
            }
            Cmd::Run {
                name,
                arch,
                kvm,
                timeout,
            } => run::run(&arch, &name, kvm, Duration::from_secs(timeout)),
            Cmd::Test { arch, kvm, filter } => test::test(arch.as_deref(), kvm, filter.as_deref()),
            Cmd::Install {
                root,
                arch,
                init,
                yes,
            } => {
                setup::rustup_target(build::musl_target(&arch)?)?;
                install::install(&root, &arch, init, yes).map(|()| true)
            }
            Cmd::Help => {
                println!("{USAGE}");
                Ok(true)
            }
        }
    }
}

fn main() -> ExitCode {
    util::start_clock();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "bench") {
        return bench::main(&args[1..]);
    }
    if args.first().is_some_and(|a| a == "fuzz") {
        return fuzz::main(&args[1..]);
    }
    let cmd = match Cmd::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xtask: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match cmd.run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("[xtask {:.1}s] error: {e}", util::elapsed());
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Cmd> {
        let v: Vec<String> = s.split_whitespace().map(str::to_string).collect();
        Cmd::parse(&v)
    }

    #[test]
    fn commands_and_defaults() {
        assert_eq!(parse("").unwrap(), Cmd::Help);
        assert_eq!(parse("setup").unwrap(), Cmd::Setup);
        assert_eq!(
            parse("build").unwrap(),
            Cmd::Build {
                arch: "x86_64".into()
            }
        );
        assert_eq!(
            parse("image").unwrap(),
            Cmd::Image {
                name: "demo".into(),
                arch: "x86_64".into()
            }
        );
        assert_eq!(
            parse("run minimal --kvm --timeout 30").unwrap(),
            Cmd::Run {
                name: "minimal".into(),
                arch: "x86_64".into(),
                kvm: true,
                timeout: 30
            }
        );
        assert_eq!(
            parse("run --arch aarch64").unwrap(),
            Cmd::Run {
                name: "demo".into(),
                arch: "aarch64".into(),
                kvm: false,
                timeout: run::DEFAULT_TIMEOUT
            }
        );
        assert_eq!(
            parse("test 1000").unwrap(),
            Cmd::Test {
                arch: None,
                kvm: false,
                filter: Some("1000".into())
            }
        );
        assert_eq!(
            parse("test --kvm --arch aarch64").unwrap(),
            Cmd::Test {
                arch: Some("aarch64".into()),
                kvm: true,
                filter: None
            }
        );
        assert_eq!(
            parse("install --root target/r --arch aarch64 --init").unwrap(),
            Cmd::Install {
                root: "target/r".into(),
                arch: "aarch64".into(),
                init: true,
                yes: false
            }
        );
        assert_eq!(
            parse("install --root / --yes").unwrap(),
            Cmd::Install {
                root: "/".into(),
                arch: "x86_64".into(),
                init: false,
                yes: true
            }
        );
    }

    #[test]
    fn bad_command_lines() {
        for bad in [
            "frobnicate",
            "setup extra",
            "build --kvm",
            "image a b",
            "run --timeout",
            "run --timeout soon",
            "test --frob",
            "test a b",
            "build --arch riscv64",
            "install",
            "install --root",
            "install --root d extra",
            "run --init",
            "test --yes",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
