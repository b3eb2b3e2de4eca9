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

/// Most mount points stage 3 unmounts.
pub const MAX_MOUNTS: usize = 64;
/// Longest mount point path stage 3 handles.
pub const MOUNT_PATH_MAX: usize = 256;

/// Mount points stage 3 leaves alone: the kernel's own file systems (nothing
/// on them holds data) and the root, which is remounted read-only instead.
pub const KEEP_MOUNTED: [&[u8]; 4] = [b"/", b"/proc", b"/sys", b"/dev"];

/// The mount points listed in `/proc/self/mounts` text, in mount order, with
/// the kernel's octal escapes (`\040` for a space) decoded. Lines that do not
/// fit are skipped.
pub fn mount_points(mounts: &[u8]) -> heapless::Vec<rt::Buf<MOUNT_PATH_MAX>, MAX_MOUNTS> {
    let mut out = heapless::Vec::new();
    for line in mounts.split(|&c| c == b'\n') {
        let Some(target) = line.split(|&c| c == b' ').nth(1) else {
            continue;
        };
        let mut p = rt::Buf::new();
        let mut i = 0;
        let mut ok = true;
        while let Some(&c) = target.get(i) {
            if c == b'\\' {
                let oct = target.get(i + 1..i + 4).unwrap_or(&[]);
                let v = oct.iter().try_fold(0u8, |acc, &d| {
                    (b'0'..=b'7')
                        .contains(&d)
                        .then(|| acc.wrapping_mul(8).wrapping_add(d - b'0'))
                });
                match v {
                    Some(v) if oct.len() == 3 => {
                        ok &= p.try_push(&[v]);
                        i += 4;
                        continue;
                    }
                    _ => {}
                }
            }
            ok &= p.try_push(&[c]);
            i += 1;
        }
        if ok && !p.is_empty() && out.push(p).is_err() {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_mounts() {
        let text = b"rootfs / rootfs rw 0 0\nproc /proc proc rw 0 0\n/dev/vda /var/log ext4 rw 0 0\ntmpfs /mnt/with\\040space tmpfs rw 0 0\n";
        let m = mount_points(text);
        let v: Vec<&[u8]> = m.iter().map(|b| b.as_bytes()).collect();
        assert_eq!(
            v,
            vec![&b"/"[..], b"/proc", b"/var/log", b"/mnt/with space"]
        );
    }
}
