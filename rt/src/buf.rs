//! Fixed-capacity byte buffers and integer formatting/parsing without
//! `core::fmt` (which costs about 13 KB per binary).

use heapless::Vec;

/// A byte buffer of capacity `N` that silently cuts what does not fit
/// (messages) — use [`Buf::try_push`] where cutting would be wrong (paths).
#[derive(Clone, Default)]
pub struct Buf<const N: usize>(Vec<u8, N>);

impl<const N: usize> Buf<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        Buf(Vec::new())
    }
    /// A buffer holding `bytes`, or None if they do not fit.
    pub fn from(bytes: &[u8]) -> Option<Self> {
        let mut b = Self::new();
        b.try_push(bytes).then_some(b)
    }
    /// Appends as much of `bytes` as fits.
    pub fn push(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            if self.0.push(b).is_err() {
                break;
            }
        }
        self
    }
    /// Appends all of `bytes`, or nothing and returns false.
    pub fn try_push(&mut self, bytes: &[u8]) -> bool {
        self.0.extend_from_slice(bytes).is_ok()
    }
    /// Appends one byte if it fits.
    pub fn push_byte(&mut self, b: u8) -> &mut Self {
        let _ = self.0.push(b);
        self
    }
    /// Appends `n` in decimal.
    pub fn push_u64(&mut self, n: u64) -> &mut Self {
        let mut tmp = [0u8; 20];
        let s = fmt_u64(n, &mut tmp);
        self.push(s)
    }
    /// Appends `n` in decimal, with a `-` if negative.
    pub fn push_i64(&mut self, n: i64) -> &mut Self {
        if n < 0 {
            self.push(b"-");
        }
        self.push_u64(n.unsigned_abs())
    }
    /// Appends `bytes` as lowercase hex, two digits per byte.
    pub fn push_hex(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.push_byte(HEX[usize::from(b >> 4)]);
            self.push_byte(HEX[usize::from(b & 15)]);
        }
        self
    }
    /// The bytes so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.0.clear()
    }
    /// Cuts the buffer to `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.0.truncate(len)
    }
    /// The bytes plus a terminating NUL, as a C string; None if the buffer is
    /// full or holds a NUL. The NUL stays until the next [`Buf::clear`] or
    /// [`Buf::truncate`].
    pub fn c_str(&mut self) -> Option<&core::ffi::CStr> {
        if self.0.last() != Some(&0) {
            self.0.push(0).ok()?;
        }
        core::ffi::CStr::from_bytes_with_nul(&self.0).ok()
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Formats `n` in decimal into `tmp`, returning the digits.
pub fn fmt_u64(mut n: u64, tmp: &mut [u8; 20]) -> &[u8] {
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    &tmp[i..]
}

/// Parses a whole byte string as a decimal u64 (no sign, no spaces).
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(n)
}

/// The first line of `s` (up to the first `\n`, or all of it).
pub fn first_line(s: &[u8]) -> &[u8] {
    match s.iter().position(|&c| c == b'\n') {
        Some(i) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

/// Decodes 2·N lowercase or uppercase hex digits into N bytes.
pub fn parse_hex(s: &[u8], out: &mut [u8]) -> Option<()> {
    if s.len() != out.len() * 2 {
        return None;
    }
    let digit = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        *o = digit(*pair.first()?)? << 4 | digit(*pair.get(1)?)?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let mut b: Buf<64> = Buf::new();
        b.push_u64(0)
            .push(b" ")
            .push_u64(18446744073709551615)
            .push(b" ")
            .push_i64(-42);
        assert_eq!(b.as_bytes(), b"0 18446744073709551615 -42");
        assert_eq!(parse_u64(b"5000"), Some(5000));
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"12a"), None);
        assert_eq!(parse_u64(b"99999999999999999999999"), None);
        assert_eq!(first_line(b"3\nrest"), b"3");
    }

    #[test]
    fn cut_and_cstr() {
        let mut b: Buf<4> = Buf::new();
        b.push(b"abcdef");
        assert_eq!(b.as_bytes(), b"abcd");
        assert!(b.c_str().is_none());
        let mut p: Buf<8> = Buf::new();
        assert!(p.try_push(b"run"));
        assert_eq!(p.c_str().map(|c| c.to_bytes()), Some(&b"run"[..]));
        assert!(!p.try_push(b"123456789"));
    }

    #[test]
    fn hex() {
        let mut b: Buf<8> = Buf::new();
        b.push_hex(&[0x40, 0x0a]);
        assert_eq!(b.as_bytes(), b"400a");
        let mut out = [0u8; 2];
        assert_eq!(parse_hex(b"400A", &mut out), Some(()));
        assert_eq!(out, [0x40, 0x0a]);
        assert_eq!(parse_hex(b"4g0a", &mut out), None);
    }
}
