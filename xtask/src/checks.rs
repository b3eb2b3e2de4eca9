//! Binary checks run by `cargo xtask test`, one named result each:
//! - `static: rs6-X` (`static aarch64: rs6-X`): every release `rs6-*` binary of each
//!   architecture is an ELF file for that architecture's machine without a PT_INTERP
//!   program header (statically linked: the guest has no dynamic loader);
//! - `no-alloc: rs6-X`: the long-running programs ([`LONG_RUNNING`]), as built by the
//!   `release-syms` profile, contain no allocator symbol ([`allocator_symbols`]). musl's
//!   `__malloc_atfork` (a 1-byte no-op fork.c references) is allowed.

use crate::build::{Profile, binaries, elf_machine};
use crate::elf::Elf;
use crate::util::Result;

/// Programs that run for the machine's lifetime and must never allocate.
/// rs6-log is long-running too, but links malloc: musl's regcomp and regexec
/// allocate (only when a script has `+re`/`-re` selections; see doc/rs6-log.md).
pub(crate) const LONG_RUNNING: &[&str] = &["rs6-init", "rs6-svscan", "rs6-supervise"];

/// Symbols that mean an allocator is linked in.
const ALLOC_EXACT: &[&str] = &["malloc", "calloc", "realloc", "free"];
/// Prefixes of the same (`__rust_alloc_zeroed`, `__libc_malloc_impl`, ...).
const ALLOC_PREFIX: &[&str] = &["__libc_malloc", "__rust_alloc", "__rdl_alloc", "__rg_alloc"];

/// The allocator symbols among `names`, sorted and deduplicated.
pub(crate) fn allocator_symbols<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| ALLOC_EXACT.contains(n) || ALLOC_PREFIX.iter().any(|p| n.starts_with(p)))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Ok when `path` is a static ELF executable for `arch`'s machine.
pub(crate) fn check_static(path: &std::path::Path, arch: &str) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let elf = Elf::parse(&data).map_err(|e| e.to_string())?;
    let machine = elf.machine().map_err(|e| e.to_string())?;
    if Some(machine) != elf_machine(arch) {
        return Err(format!("ELF machine {machine}, not {arch}'s"));
    }
    match elf.has_interp() {
        Ok(false) => Ok(()),
        Ok(true) => Err("has a PT_INTERP header (dynamically linked)".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn check_no_alloc(arch: &str, name: &str) -> Result<(), String> {
    let path = Profile::ReleaseSyms.dir_for(arch).join(name);
    let data = std::fs::read(&path)
        .map_err(|e| format!("{}: {e} (release-syms build missing?)", path.display()))?;
    let elf = Elf::parse(&data).map_err(|e| e.to_string())?;
    let syms = elf
        .symbols()
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{}: no symbol table (stripped?)", path.display()))?;
    match allocator_symbols(&syms).as_slice() {
        [] => Ok(()),
        found => Err(format!("allocator symbols linked in: {}", found.join(", "))),
    }
}

/// Runs every check for `arch`: `(name, result)`. The no-allocator check needs the
/// `release-syms` build, made for the default architecture only (same code elsewhere).
pub(crate) fn run_all(arch: &str) -> Result<Vec<(String, Result<(), String>)>> {
    let bins = binaries(arch, Profile::Release)?;
    let mut out = Vec::new();
    let label = if arch == crate::DEFAULT_ARCH {
        String::new()
    } else {
        format!(" {arch}")
    };
    if bins.is_empty() {
        out.push((
            format!("binaries{label}"),
            Err(format!(
                "no rs6-* binaries in {}",
                Profile::Release.dir_for(arch).display()
            )),
        ));
    }
    for (name, path) in &bins {
        out.push((format!("static{label}: {name}"), check_static(path, arch)));
    }
    if arch == crate::DEFAULT_ARCH {
        for (name, _) in bins.iter().filter(|b| LONG_RUNNING.contains(&b.0.as_str())) {
            out.push((format!("no-alloc: {name}"), check_no_alloc(arch, name)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocator_symbol_names() {
        let syms = [
            "main",
            "__malloc_atfork",
            "free",
            "freeaddrinfo",
            "__libc_malloc_impl",
            "__rust_alloc_zeroed",
            "__rdl_alloc",
            "__rg_alloc",
            "malloc",
            "malloc",
            "memcpy",
        ];
        assert_eq!(
            allocator_symbols(&syms),
            [
                "__libc_malloc_impl",
                "__rdl_alloc",
                "__rg_alloc",
                "__rust_alloc_zeroed",
                "free",
                "malloc"
            ]
        );
        assert!(allocator_symbols(&["__malloc_atfork", "_start"]).is_empty());
    }

    #[test]
    fn a_dynamic_host_binary_fails_the_static_check() {
        // /bin/sh on Debian is dash, dynamically linked.
        let r = check_static(std::path::Path::new("/bin/sh"), "x86_64");
        assert!(r.unwrap_err().contains("PT_INTERP"));
        // busybox-static is static, but not an aarch64 binary.
        assert!(check_static(std::path::Path::new("/bin/busybox"), "x86_64").is_ok());
        let r = check_static(std::path::Path::new("/bin/busybox"), "aarch64");
        assert!(r.unwrap_err().contains("not aarch64's"));
    }
}
