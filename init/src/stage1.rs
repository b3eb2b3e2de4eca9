//! The file systems stage 1 mounts, in order. A mount point that is already
//! mounted (EBUSY, e.g. /dev by the kernel's devtmpfs automount, or a
//! switch_root from an initramfs) is fine.

/// One mount of stage 1.
#[derive(Clone, Copy, Debug)]
pub struct Mount {
    /// Source (`proc`, `sysfs`, …).
    pub source: &'static [u8],
    /// Mount point (created 0755 if missing).
    pub target: &'static [u8],
    /// File system type.
    pub fstype: &'static [u8],
    /// Mount data.
    pub data: &'static core::ffi::CStr,
    /// MS_NOSUID | MS_NODEV | MS_NOEXEC as it applies.
    pub flags: rustix::mount::MountFlags,
}

use rustix::mount::MountFlags as F;

/// Stage 1's mounts, in order; stage 3 unmounts them in reverse.
pub const MOUNTS: [Mount; 6] = [
    Mount {
        source: b"proc",
        target: b"/proc",
        fstype: b"proc",
        data: c"",
        flags: F::NOSUID.union(F::NODEV).union(F::NOEXEC),
    },
    Mount {
        source: b"sysfs",
        target: b"/sys",
        fstype: b"sysfs",
        data: c"",
        flags: F::NOSUID.union(F::NODEV).union(F::NOEXEC),
    },
    Mount {
        source: b"devtmpfs",
        target: b"/dev",
        fstype: b"devtmpfs",
        data: c"mode=0755",
        flags: F::NOSUID,
    },
    Mount {
        source: b"devpts",
        target: b"/dev/pts",
        fstype: b"devpts",
        data: c"mode=0620,ptmxmode=0666",
        flags: F::NOSUID.union(F::NOEXEC),
    },
    Mount {
        source: b"tmpfs",
        target: b"/dev/shm",
        fstype: b"tmpfs",
        data: c"mode=1777",
        flags: F::NOSUID.union(F::NODEV),
    },
    Mount {
        source: b"tmpfs",
        target: b"/run",
        fstype: b"tmpfs",
        data: c"mode=0755",
        flags: F::NOSUID.union(F::NODEV),
    },
];

/// The environment of every program rs6-init starts (the kernel gives init
/// only `HOME=/` and `TERM=linux`).
pub const ENV: [&core::ffi::CStr; 3] = [
    c"PATH=/usr/bin:/usr/sbin:/bin:/sbin",
    c"HOME=/",
    c"TERM=linux",
];
