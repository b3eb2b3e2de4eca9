//! Just enough of ELF64 little-endian (x86_64, aarch64) to answer three questions: does a
//! program header of type PT_INTERP exist (is the binary static), which symbols are in
//! `.symtab` (the no-allocator check), and what is in a named section (a kernel module's
//! `.modinfo`). Bounds are checked; a malformed file is an error, never a panic.

use crate::util::{Result, err};

/// Program header type of the dynamic loader path.
const PT_INTERP: u32 = 3;
/// Section header type of the full symbol table.
const SHT_SYMTAB: u32 = 2;

/// A parsed ELF64 little-endian file (borrowing its bytes).
pub(crate) struct Elf<'a> {
    data: &'a [u8],
}

fn get<const N: usize>(data: &[u8], at: usize) -> Result<[u8; N]> {
    data.get(
        at..at
            .checked_add(N)
            .ok_or_else(|| err("ELF: offset overflow"))?,
    )
    .and_then(|s| s.try_into().ok())
    .ok_or_else(|| err(format!("ELF: truncated at offset {at:#x}")))
}

fn u16_at(data: &[u8], at: usize) -> Result<usize> {
    Ok(u16::from_le_bytes(get(data, at)?).into())
}

fn u32_at(data: &[u8], at: usize) -> Result<u32> {
    Ok(u32::from_le_bytes(get(data, at)?))
}

fn usize_at(data: &[u8], at: usize) -> Result<usize> {
    usize::try_from(u64::from_le_bytes(get(data, at)?)).map_err(|_| err("ELF: huge offset"))
}

/// One section header (the fields we use).
struct Section {
    kind: u32,
    offset: usize,
    size: usize,
    link: usize,
    name: u32,
}

impl<'a> Elf<'a> {
    /// Checks the identification bytes: `\x7fELF`, 64-bit, little-endian.
    pub(crate) fn parse(data: &'a [u8]) -> Result<Elf<'a>> {
        if data.len() < 64 || &data[..4] != b"\x7fELF" {
            return Err(err("not an ELF file"));
        }
        if data[4] != 2 || data[5] != 1 {
            return Err(err("not a 64-bit little-endian ELF file"));
        }
        Ok(Elf { data })
    }

    /// `e_machine`: 62 for x86_64, 183 for aarch64.
    pub(crate) fn machine(&self) -> Result<u16> {
        Ok(u16::from_le_bytes(get(self.data, 0x12)?))
    }

    /// Whether a PT_INTERP program header exists (a dynamically linked executable).
    pub(crate) fn has_interp(&self) -> Result<bool> {
        let phoff = usize_at(self.data, 0x20)?;
        let phentsize = u16_at(self.data, 0x36)?;
        let phnum = u16_at(self.data, 0x38)?;
        for i in 0..phnum {
            if u32_at(self.data, phoff + i * phentsize)? == PT_INTERP {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn sections(&self) -> Result<Vec<Section>> {
        let shoff = usize_at(self.data, 0x28)?;
        let shentsize = u16_at(self.data, 0x3a)?;
        let shnum = u16_at(self.data, 0x3c)?;
        (0..shnum)
            .map(|i| {
                let at = shoff + i * shentsize;
                Ok(Section {
                    name: u32_at(self.data, at)?,
                    kind: u32_at(self.data, at + 4)?,
                    offset: usize_at(self.data, at + 0x18)?,
                    size: usize_at(self.data, at + 0x20)?,
                    link: u32_at(self.data, at + 0x28)? as usize,
                })
            })
            .collect()
    }

    fn bytes(&self, s: &Section) -> Result<&'a [u8]> {
        self.data
            .get(s.offset..s.offset.saturating_add(s.size))
            .ok_or_else(|| err("ELF: section outside the file"))
    }

    /// The NUL-terminated string at `at` in a string table.
    fn str_at(table: &[u8], at: usize) -> Result<&str> {
        let rest = table
            .get(at..)
            .ok_or_else(|| err("ELF: bad string index"))?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).map_err(|_| err("ELF: non-UTF-8 name"))
    }

    /// Names in `.symtab` (empty names skipped); `None` when the file has no symbol table
    /// (stripped).
    pub(crate) fn symbols(&self) -> Result<Option<Vec<&'a str>>> {
        let sections = self.sections()?;
        let Some(symtab) = sections.iter().find(|s| s.kind == SHT_SYMTAB) else {
            return Ok(None);
        };
        let strtab = sections
            .get(symtab.link)
            .ok_or_else(|| err("ELF: bad .symtab link"))?;
        let (syms, strs) = (self.bytes(symtab)?, self.bytes(strtab)?);
        let mut names = Vec::new();
        for sym in syms.chunks_exact(24) {
            let name = Self::str_at(strs, u32_at(sym, 0)? as usize)?;
            if !name.is_empty() {
                names.push(name);
            }
        }
        Ok(Some(names))
    }

    /// The contents of the section called `name`.
    pub(crate) fn section(&self, name: &str) -> Result<Option<&'a [u8]>> {
        let sections = self.sections()?;
        let shstrndx = u16_at(self.data, 0x3e)?;
        let names = self.bytes(
            sections
                .get(shstrndx)
                .ok_or_else(|| err("ELF: bad e_shstrndx"))?,
        )?;
        for s in &sections {
            if Self::str_at(names, s.name as usize)? == name {
                return Ok(Some(self.bytes(s)?));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_elf() {
        assert!(Elf::parse(b"#!/bin/sh\n").is_err());
        let mut v = vec![0u8; 64];
        v[..4].copy_from_slice(b"\x7fELF");
        v[4] = 1; // 32-bit
        assert!(Elf::parse(&v).is_err());
    }

    #[test]
    fn truncated_headers_are_errors() {
        let mut v = vec![0u8; 64];
        v[..6].copy_from_slice(b"\x7fELF\x02\x01");
        v[0x20] = 0xff; // e_phoff beyond the end
        v[0x38] = 1; // one program header
        let e = Elf::parse(&v).unwrap();
        assert!(e.has_interp().is_err());
    }

    /// The host's own test binary: dynamically linked (PT_INTERP) unless built static,
    /// with a symbol table (tests are not stripped) holding this very function's name.
    #[test]
    fn reads_the_running_test_binary() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let e = Elf::parse(&exe).unwrap();
        let syms = e.symbols().unwrap().expect("test binaries keep .symtab");
        assert!(
            syms.iter()
                .any(|s| s.contains("reads_the_running_test_binary"))
        );
        assert!(e.section(".text").unwrap().is_some());
        assert!(e.section(".no-such-section").unwrap().is_none());
        let want = if cfg!(target_arch = "aarch64") {
            183
        } else {
            62
        };
        assert_eq!(e.machine().unwrap(), want);
        let _ = e.has_interp().unwrap();
    }
}
