SUMMARY = "s6-compatible process supervision suite and init for tiny Linux images"
DESCRIPTION = "rs6: static, heap-free programs of a few tens of kilobytes: rs6-init \
(process 1), rs6-svscan, rs6-supervise, rs6-log and s6's tools (rs6-svc, rs6-svstat, ...), \
compatible with s6's service directories, status files and fifodirs."
SECTION = "base"
LICENSE = "ISC"
# The workspace's `license = "ISC"` line (the tree has no license file).
LIC_FILES_CHKSUM = "file://Cargo.toml;beginline=10;endline=10;md5=11aa2ff8fb21df4e22bb1cff1a7a404a"

# The layer lives in rs6's source tree (packaging/yocto/meta-rs6): build that checkout.
# A copy of the layer kept elsewhere sets SRC_URI = "git://...;protocol=https;branch=main"
# and SRCREV instead of these two lines; rs6-crates.inc stays.
inherit externalsrc
EXTERNALSRC = "${@os.path.abspath(os.path.join(d.getVar('THISDIR'), '../../../../..'))}"

inherit cargo update-alternatives
require ${BPN}-crates.inc

# Static no_std binaries on musl's libc.a (TCLIBC = "musl"), x86_64 and aarch64.
COMPATIBLE_HOST = "(x86_64|aarch64).*-linux-musl.*"

# The binaries of `cargo xtask build`: the workspace's release profile (opt-level "z",
# LTO, one codegen unit, panic = "abort", stripped) applies as is; .cargo/config.toml's
# rustflags for the musl targets do not (the cargo class sets RUSTFLAGS), so they are
# added here (libc.a, plain static executables, no code/rodata page padding), with static
# linking, the default of rustup's musl targets.
RUSTFLAGS:append = " -C link-arg=-lc -C relocation-model=static -C link-arg=-Wl,-z,noseparate-code -C target-feature=+crt-static"

# What `cargo xtask install` installs (checked against it by xtask's tests).
RS6_PROGRAMS = "\
    rs6-cleanfifodir rs6-ftrig-listen1 rs6-ftrig-notify rs6-ftrig-wait \
    rs6-hpr rs6-init rs6-log rs6-mkfifodir rs6-shutdown rs6-supervise \
    rs6-svc rs6-svlisten1 rs6-svok rs6-svscan rs6-svscanctl rs6-svstat \
    rs6-svwait \
"
RS6_CONFIG_FILES = "\
    rs6/examples/heartbeat/log/run rs6/examples/heartbeat/run \
    rs6/rc.init rs6/rc.shutdown \
"

# The workspace's programs, not its build tool and tests.
do_compile() {
    oe_cargo_build --workspace --exclude xtask --exclude rs6-tests
}

do_install() {
    install -d ${D}${base_bindir}
    for p in ${RS6_PROGRAMS}; do
        install -m 0755 ${B}/target/${CARGO_TARGET_SUBDIR}/$p ${D}${base_bindir}/$p
    done
    install -d ${D}${sysconfdir}/rs6/sv
    for f in ${RS6_CONFIG_FILES}; do
        install -D -m 0755 ${S}/packaging/rootfs/etc/$f ${D}${sysconfdir}/$f
    done
}

CONFFILES:${PN} = "${sysconfdir}/rs6/rc.init ${sysconfdir}/rs6/rc.shutdown"

# /sbin/init and halt, poweroff, reboot, as `cargo xtask install --init` links them:
# above busybox (50), below sysvinit (200) and systemd, which INIT_MANAGER = "rs6" leaves out.
ALTERNATIVE:${PN} = "init halt poweroff reboot"
ALTERNATIVE_PRIORITY = "100"
ALTERNATIVE_LINK_NAME[init] = "${base_sbindir}/init"
ALTERNATIVE_TARGET[init] = "${base_bindir}/rs6-init"
ALTERNATIVE_LINK_NAME[halt] = "${base_sbindir}/halt"
ALTERNATIVE_TARGET[halt] = "${base_bindir}/rs6-hpr"
ALTERNATIVE_LINK_NAME[poweroff] = "${base_sbindir}/poweroff"
ALTERNATIVE_TARGET[poweroff] = "${base_bindir}/rs6-hpr"
ALTERNATIVE_LINK_NAME[reboot] = "${base_sbindir}/reboot"
ALTERNATIVE_TARGET[reboot] = "${base_bindir}/rs6-hpr"

# The release profile strips the binaries.
INSANE_SKIP:${PN} += "already-stripped"
