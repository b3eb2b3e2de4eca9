//! A deterministic "newc" cpio writer (the initramfs format the kernel unpacks, see the
//! kernel's `Documentation/driver-api/early-userspace/buffer-format.rst`).
//!
//! Pure: an [`Archive`] is an in-memory map from path to entry, written in sorted path
//! order (so a directory always precedes its contents) with mtime 0, uid/gid 0 and inode
//! numbers 1, 2, 3, ... in that order. The same entries always give the same bytes.

use std::collections::BTreeMap;

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A directory.
    Dir,
    /// A regular file with its contents.
    File(Vec<u8>),
    /// A symbolic link to the given target.
    Symlink(String),
    /// A character device node.
    CharDev {
        /// Device major number.
        major: u32,
        /// Device minor number.
        minor: u32,
    },
}

/// One archive member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Permission bits (`0o7777` mask); the file type comes from `kind`.
    pub(crate) perm: u32,
    /// What it is.
    pub(crate) kind: Kind,
}

/// An initramfs under construction. Adding a path that exists replaces it (later layers
/// win: busybox links < rs6 binaries < image overlay < scenario files).
#[derive(Debug, Clone, Default)]
pub(crate) struct Archive {
    entries: BTreeMap<String, Entry>,
}

/// Normalises `/a/b/` and `./a/b` to `a/b` (cpio member names are relative).
fn norm(path: &str) -> String {
    let p = path.trim_start_matches("./").trim_matches('/');
    p.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

impl Archive {
    /// An empty archive.
    pub(crate) fn new() -> Archive {
        Archive::default()
    }

    /// Adds (or replaces) `path`, creating missing parent directories with mode 0755.
    pub(crate) fn insert(&mut self, path: &str, perm: u32, kind: Kind) {
        let path = norm(path);
        assert!(!path.is_empty(), "cpio: empty path");
        let mut parent = String::new();
        for comp in path.split('/').collect::<Vec<_>>().split_last().unwrap().1 {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(comp);
            if !matches!(
                self.entries.get(&parent),
                Some(Entry {
                    kind: Kind::Dir,
                    ..
                })
            ) {
                self.entries.insert(
                    parent.clone(),
                    Entry {
                        perm: 0o755,
                        kind: Kind::Dir,
                    },
                );
            }
        }
        // A non-directory replacing a directory also drops what was under it.
        if !matches!(kind, Kind::Dir) {
            let prefix = format!("{path}/");
            self.entries.retain(|k, _| !k.starts_with(&prefix));
        }
        self.entries.insert(
            path,
            Entry {
                perm: perm & 0o7777,
                kind,
            },
        );
    }

    /// Adds a directory.
    pub(crate) fn dir(&mut self, path: &str, perm: u32) {
        self.insert(path, perm, Kind::Dir);
    }

    /// Adds a regular file.
    pub(crate) fn file(&mut self, path: &str, perm: u32, data: Vec<u8>) {
        self.insert(path, perm, Kind::File(data));
    }

    /// Adds a symlink (mode 0777).
    pub(crate) fn symlink(&mut self, path: &str, target: &str) {
        self.insert(path, 0o777, Kind::Symlink(target.to_string()));
    }

    /// Adds a character device node.
    pub(crate) fn char_dev(&mut self, path: &str, perm: u32, major: u32, minor: u32) {
        self.insert(path, perm, Kind::CharDev { major, minor });
    }

    /// Whether `path` is present.
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(&norm(path))
    }

    /// The entry at `path`.
    #[cfg(test)]
    pub(crate) fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(&norm(path))
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Writes the entries into the directory `dir` (created if missing), parents first:
    /// directories (created or kept), files and symlinks (replacing what is there), with
    /// their modes. Device nodes cannot be made without privileges: an error.
    pub(crate) fn extract(&self, dir: &std::path::Path) -> crate::util::Result<()> {
        use crate::util::Context;
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
        for (path, e) in &self.entries {
            let p = dir.join(path);
            let perm = std::fs::Permissions::from_mode(e.perm);
            if !matches!(e.kind, Kind::Dir)
                && std::fs::symlink_metadata(&p).is_ok_and(|m| !m.is_dir())
            {
                std::fs::remove_file(&p).ctx(|| format!("removing {}", p.display()))?;
            }
            match &e.kind {
                Kind::Dir => {
                    if !p.is_dir() {
                        std::fs::create_dir(&p).ctx(|| format!("creating {}", p.display()))?;
                    }
                    std::fs::set_permissions(&p, perm).ctx(|| format!("chmod {}", p.display()))?;
                }
                Kind::File(data) => {
                    std::fs::write(&p, data).ctx(|| format!("writing {}", p.display()))?;
                    std::fs::set_permissions(&p, perm).ctx(|| format!("chmod {}", p.display()))?;
                }
                Kind::Symlink(t) => {
                    std::os::unix::fs::symlink(t, &p).ctx(|| format!("symlink {}", p.display()))?
                }
                Kind::CharDev { .. } => {
                    return Err(crate::util::err(format!(
                        "{path}: device nodes are not extracted"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Serialises to newc bytes, ending with the `TRAILER!!!` record.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, (path, e)) in self.entries.iter().enumerate() {
            let (ftype, nlink, data, rdev): (u32, u32, &[u8], (u32, u32)) = match &e.kind {
                Kind::Dir => (0o040000, 2, &[], (0, 0)),
                Kind::File(d) => (0o100000, 1, d, (0, 0)),
                Kind::Symlink(t) => (0o120000, 1, t.as_bytes(), (0, 0)),
                Kind::CharDev { major, minor } => (0o020000, 1, &[], (*major, *minor)),
            };
            let ino = u32::try_from(i + 1).expect("fewer than 2^32 entries");
            record(&mut out, path, ino, ftype | e.perm, nlink, data, rdev);
        }
        record(&mut out, "TRAILER!!!", 0, 0, 1, &[], (0, 0));
        out
    }
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn record(
    out: &mut Vec<u8>,
    name: &str,
    ino: u32,
    mode: u32,
    nlink: u32,
    data: &[u8],
    rdev: (u32, u32),
) {
    let size = u32::try_from(data.len()).expect("cpio newc members are < 4 GiB");
    let namesize = u32::try_from(name.len() + 1).expect("short name");
    // magic, then 13 fields of 8 hex digits: ino mode uid gid nlink mtime filesize
    // devmajor devminor rdevmajor rdevminor namesize check.
    let fields = [
        ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev.0, rdev.1, namesize, 0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_writes_modes_links_and_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let dir = crate::util::target_dir().join("xtask-test-extract");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::write(dir.join("etc/old"), "old").unwrap();
        let mut a = Archive::new();
        a.file("etc/rs6/run", 0o750, b"#!/bin/sh\n".to_vec());
        a.symlink("etc/old", "/bin/busybox");
        a.dir("tmp", 0o1777);
        a.extract(&dir).unwrap();
        let m = std::fs::metadata(dir.join("etc/rs6/run")).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o750);
        assert_eq!(
            std::fs::read_link(dir.join("etc/old")).unwrap(),
            std::path::Path::new("/bin/busybox")
        );
        let m = std::fs::metadata(dir.join("tmp")).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o1777);
        a.char_dev("dev/null", 0o666, 1, 3);
        assert!(a.extract(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn sample(order: bool) -> Archive {
        let mut a = Archive::new();
        type Op = Box<dyn Fn(&mut Archive)>;
        let mut ops: Vec<Op> = vec![
            Box::new(|a| a.file("/bin/busybox", 0o755, vec![1, 2, 3])),
            Box::new(|a| a.symlink("bin/sh", "/bin/busybox")),
            Box::new(|a| a.char_dev("/dev/console", 0o600, 5, 1)),
            Box::new(|a| a.dir("/tmp", 0o1777)),
            Box::new(|a| a.file("init", 0o755, b"#!/bin/sh\n".to_vec())),
        ];
        if order {
            ops.reverse();
        }
        for op in ops {
            op(&mut a);
        }
        a
    }

    /// Field `n` (0 = ino) of the header starting at `at`.
    fn field(b: &[u8], at: usize, n: usize) -> u32 {
        let s = std::str::from_utf8(&b[at + 6 + 8 * n..at + 14 + 8 * n]).unwrap();
        u32::from_str_radix(s, 16).unwrap()
    }

    /// Walks the archive: (name, ino, mode, data).
    fn members(b: &[u8]) -> Vec<(String, u32, u32, Vec<u8>)> {
        let mut at = 0;
        let mut v = Vec::new();
        loop {
            assert_eq!(&b[at..at + 6], b"070701");
            let namesize = field(b, at, 11) as usize;
            let size = field(b, at, 6) as usize;
            assert_eq!(field(b, at, 5), 0, "mtime");
            assert_eq!((field(b, at, 2), field(b, at, 3)), (0, 0), "uid/gid");
            let name = String::from_utf8(b[at + 110..at + 110 + namesize - 1].to_vec()).unwrap();
            let data_at = (at + 110 + namesize).next_multiple_of(4);
            let data = b[data_at..data_at + size].to_vec();
            let (ino, mode) = (field(b, at, 0), field(b, at, 1));
            at = (data_at + size).next_multiple_of(4);
            if name == "TRAILER!!!" {
                assert_eq!(at, b.len());
                return v;
            }
            v.push((name, ino, mode, data));
        }
    }

    #[test]
    fn same_bytes_whatever_the_insertion_order() {
        let (a, b) = (sample(false).to_bytes(), sample(true).to_bytes());
        assert_eq!(a, b);
        assert_eq!(a, sample(false).to_bytes());
        assert_eq!(a.len() % 4, 0);
    }

    #[test]
    fn sorted_with_parents_and_sequential_inodes() {
        let m = members(&sample(false).to_bytes());
        let names: Vec<&str> = m.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "bin",
                "bin/busybox",
                "bin/sh",
                "dev",
                "dev/console",
                "init",
                "tmp"
            ]
        );
        let inos: Vec<u32> = m.iter().map(|x| x.1).collect();
        assert_eq!(inos, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(m[0].2, 0o040755);
        assert_eq!(m[1].2, 0o100755);
        assert_eq!(m[1].3, [1, 2, 3]);
        assert_eq!(m[2].2, 0o120777);
        assert_eq!(m[2].3, b"/bin/busybox");
        assert_eq!(m[4].2, 0o020600);
        assert_eq!(m[6].2, 0o041777);
    }

    #[test]
    fn device_numbers_in_rdev() {
        let b = sample(false).to_bytes();
        let at = b.windows(12).position(|w| w == b"dev/console\0").unwrap() - 110;
        assert_eq!((field(&b, at, 9), field(&b, at, 10)), (5, 1));
    }

    #[test]
    fn later_layers_replace_earlier_ones() {
        let mut a = Archive::new();
        a.symlink("bin/rs6-svc", "/bin/busybox");
        a.file("bin/rs6-svc", 0o755, vec![9]);
        a.file("etc/x/y", 0o644, vec![]);
        a.symlink("etc/x", "/elsewhere");
        assert_eq!(a.get("/bin/rs6-svc").unwrap().kind, Kind::File(vec![9]));
        assert!(!a.contains("etc/x/y"));
        assert!(a.contains("./etc/x"));
        assert_eq!(a.len(), 4);
    }
}
