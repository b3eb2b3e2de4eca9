//! Binary checks run by `cargo xtask test`, one named result each:
//! - `static: rs6-X`: every release `rs6-*` binary is ELF without a PT_INTERP program
//!   header (statically linked: the guest has no dynamic loader);
//! - `no-alloc: rs6-X`: the long-running programs ([`LONG_RUNNING`]), as built by the
//!   `release-syms` profile, contain no allocator symbol ([`allocator_symbols`]). musl's
//!   `__malloc_atfork` (a 1-byte no-op fork.c references) is allowed.

use crate::build::{Profile, binaries};
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

fn check_static(path: &std::path::Path) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let elf = Elf::parse(&data).map_err(|e| e.to_string())?;
    match elf.has_interp() {
        Ok(false) => Ok(()),
        Ok(true) => Err("has a PT_INTERP header (dynamically linked)".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn check_no_alloc(name: &str) -> Result<(), String> {
    let path = Profile::ReleaseSyms.dir().join(name);
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

/// Runs every check: `(name, result)`.
pub(crate) fn run_all() -> Result<Vec<(String, Result<(), String>)>> {
    let bins = binaries(Profile::Release)?;
    let mut out = Vec::new();
    if bins.is_empty() {
        out.push((
            "binaries".to_string(),
            Err(format!(
                "no rs6-* binaries in {}",
                Profile::Release.dir().display()
            )),
        ));
    }
    for (name, path) in &bins {
        out.push((format!("static: {name}"), check_static(path)));
    }
    for (name, _) in bins.iter().filter(|b| LONG_RUNNING.contains(&b.0.as_str())) {
        out.push((format!("no-alloc: {name}"), check_no_alloc(name)));
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
        let r = check_static(std::path::Path::new("/bin/sh"));
        assert!(r.unwrap_err().contains("PT_INTERP"));
    }
}
