//! `cargo xtask run [NAME] [--arch ARCH] [--kvm] [--timeout SECS]`: setup, build and
//! image, then boot image NAME (default `demo`) under `qemu/<ARCH>.conf`. On a terminal the guest runs `rs6.script=/bin/sh` on the
//! console (type `poweroff` or exit the shell to stop). Otherwise the guest runs the
//! image's `script` (image.conf), QEMU's stdin is /dev/null, the console is echoed on stdout,
//! and the run succeeds iff the guest powered off before the timeout.

use std::io::IsTerminal;
use std::time::Duration;

use crate::build::{Profile, cargo_build};
use crate::image::{ImageConf, image};
use crate::qemu::{Boot, QemuConf, captured, interactive};
use crate::setup::setup_for;
use crate::util::{Result, err, progress, tail};

/// Default limit for a non-interactive run.
pub(crate) const DEFAULT_TIMEOUT: u64 = 120;

/// Boots image `name`; Ok(true) when the run counts as a success.
pub(crate) fn run(arch: &str, name: &str, kvm: bool, timeout: Duration) -> Result<bool> {
    let kernel = setup_for(&[arch])?.remove(0);
    cargo_build(arch, Profile::Release)?;
    let (_, initrd) = image(name, &kernel)?;
    let conf = ImageConf::load(name)?;
    let qemu = QemuConf::load(arch)?;
    let tty = std::io::stdin().is_terminal();
    let script = if tty {
        "/bin/sh".to_string()
    } else {
        conf.script.clone().ok_or_else(|| {
            err(format!(
                "images/{name}/image.conf has no `script` (needed when stdin is not a terminal)"
            ))
        })?
    };
    let boot = Boot {
        kernel,
        initrd,
        cmdline: format!("rs6.script={script} {}", conf.cmdline)
            .trim_end()
            .to_string(),
        memory: conf.memory,
        kvm,
        extra_args: Vec::new(),
        monitor: None,
        drives: Vec::new(),
    };
    if tty {
        progress(format!("run {name}: interactive (Ctrl-A X quits QEMU)"));
        let status = interactive(&qemu, &boot)?;
        progress(format!("run {name}: QEMU exited: {status}"));
        return Ok(status.success());
    }
    progress(format!(
        "run {name}: {script}, timeout {}s",
        timeout.as_secs()
    ));
    let o = captured(&qemu, &boot, timeout, true, &[], None)?;
    match o.powered_off() {
        Ok(()) => {
            progress(format!(
                "run {name}: powered off after {:.1}s",
                o.elapsed.as_secs_f64()
            ));
            Ok(true)
        }
        Err(why) => {
            println!("--- console tail ---\n{}\n---", tail(&o.lines, 40));
            progress(format!("run {name}: FAILED: {why}"));
            Ok(false)
        }
    }
}
