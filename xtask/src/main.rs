//! rs6's build system, following the cargo-xtask convention
//! (<https://github.com/matklad/cargo-xtask>): `cargo xtask CMD` (an alias in
//! `.cargo/config.toml`) runs this host-only std program. One module per command; every
//! step prints one progress line with the elapsed time, every external command is printed
//! as `$ cmd args` before it runs. Nothing here is linked into an image.
//!
//! ```text
//! cargo xtask setup                     rustup musl target, Debian packages, Debian kernel
//! cargo xtask build [--arch x86_64]     static musl release + release-syms builds, size table
//! cargo xtask image [NAME]              target/images/NAME.cpio.gz (default: demo)
//! cargo xtask run [NAME] [--kvm] [--timeout SECS]
//!                                       boot NAME: a shell on a terminal, else its script
//! cargo xtask test [--kvm] [FILTER]     host tests, binary checks, QEMU scenarios
//! cargo xtask bench [--quick] [--only STEP]
//!                                       rs6 beside s6, runit, daemontools: bench/RESULTS.md
//! ```

mod bench;
mod build;
mod checks;
mod conf;
mod cpio;
mod elf;
mod image;
mod qemu;
mod run;
mod scenario;
mod setup;
mod test;
mod util;

use std::process::ExitCode;
use std::time::Duration;

use util::{Result, err};

const USAGE: &str = "usage: cargo xtask <command>
  setup                               install what builds and tests need (idempotent)
  build [--arch x86_64]               static musl builds + size table
  image [NAME]                        build target/images/NAME.cpio.gz (default demo)
  run [NAME] [--kvm] [--timeout SECS] boot NAME in QEMU (shell on a tty, else its script)
  test [--kvm] [FILTER]               host tests, binary checks, scenarios matching FILTER
  bench [--quick] [--only STEP]       rs6 beside s6, runit, daemontools: bench/RESULTS.md";

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Cmd {
    Setup,
    Build {
        arch: String,
    },
    Image {
        name: String,
    },
    Run {
        name: String,
        kvm: bool,
        timeout: u64,
    },
    Test {
        kvm: bool,
        filter: Option<String>,
    },
    Help,
}

/// Default image for `image` and `run`.
const DEFAULT_IMAGE: &str = "demo";
/// The only architecture for now.
const DEFAULT_ARCH: &str = "x86_64";

impl Cmd {
    fn parse(args: &[String]) -> Result<Cmd> {
        let Some((cmd, rest)) = args.split_first() else {
            return Ok(Cmd::Help);
        };
        let mut kvm = false;
        let mut arch = None;
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
                "--arch" => arch = Some(value("--arch")?),
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
            "image" => (&[], 1),
            "run" => (&["--kvm", "--timeout"], 1),
            "test" => (&["--kvm"], 1),
            "help" => return Ok(Cmd::Help),
            other => return Err(err(format!("unknown command `{other}`"))),
        };
        for (flag, set) in [
            ("--kvm", kvm),
            ("--arch", arch.is_some()),
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
        Ok(match cmd.as_str() {
            "setup" => Cmd::Setup,
            "build" => Cmd::Build {
                arch: arch.unwrap_or_else(|| DEFAULT_ARCH.into()),
            },
            "image" => Cmd::Image {
                name: first.unwrap_or_else(|| DEFAULT_IMAGE.into()),
            },
            "run" => Cmd::Run {
                name: first.unwrap_or_else(|| DEFAULT_IMAGE.into()),
                kvm,
                timeout: timeout.unwrap_or(run::DEFAULT_TIMEOUT),
            },
            _ => Cmd::Test { kvm, filter: first },
        })
    }

    /// Runs the command; Ok(false) means "ran, but the verdict is failure".
    fn run(self) -> Result<bool> {
        match self {
            Cmd::Setup => setup::setup().map(|_| true),
            Cmd::Build { arch } => build::build(&arch, true).map(|()| true),
            Cmd::Image { name } => {
                let kernel = setup::setup()?;
                build::cargo_build(DEFAULT_ARCH, build::Profile::Release)?;
                image::image(&name, &kernel).map(|_| true)
            }
            Cmd::Run { name, kvm, timeout } => {
                run::run(DEFAULT_ARCH, &name, kvm, Duration::from_secs(timeout))
            }
            Cmd::Test { kvm, filter } => test::test(DEFAULT_ARCH, kvm, filter.as_deref()),
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
                name: "demo".into()
            }
        );
        assert_eq!(
            parse("run minimal --kvm --timeout 30").unwrap(),
            Cmd::Run {
                name: "minimal".into(),
                kvm: true,
                timeout: 30
            }
        );
        assert_eq!(
            parse("test 1000").unwrap(),
            Cmd::Test {
                kvm: false,
                filter: Some("1000".into())
            }
        );
        assert_eq!(
            parse("test --kvm").unwrap(),
            Cmd::Test {
                kvm: true,
                filter: None
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
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
