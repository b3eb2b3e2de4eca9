//! What an action writes for one line: `[@tai64n ][ISO  ][prefix ]line\n`,
//! and the two special shapes, alerts (`2`) and status files (`=FILE`).
//! Stamps are taken once per line, however many actions use them.

use crate::musl::LocalTime;
use crate::script::{Action, MAX_PREFIX};
use rt::Buf;
use rt::time::Tain;

/// Length of a TAI64N stamp with its space: `@` + 24 hex digits + ` `.
pub const TAI_LEN: usize = 26;
/// Most bytes of an ISO 8601 stamp with its two spaces
/// (`YYYY-MM-DD HH:MM:SS.nnnnnnnnn  ` is 31; years past 9999 are longer).
pub const ISO_MAX: usize = 48;
/// Most bytes an action puts before the line.
pub const HEAD_MAX: usize = TAI_LEN + ISO_MAX + MAX_PREFIX + 1;
/// What `2` puts before everything else (s6-log's exact words).
pub const ALERT_HEAD: &[u8] = b"s6-log: alert: ";

/// The stamps of one line.
pub struct Stamps {
    tai: [u8; TAI_LEN],
    iso: Buf<ISO_MAX>,
}

impl Stamps {
    /// Stamps for time `now`, `local` being `now` in local time (None when
    /// no action wants an ISO stamp).
    pub fn new(now: &Tain, local: Option<&LocalTime>) -> Stamps {
        let mut tai = [b' '; TAI_LEN];
        if let Some((at, rest)) = tai.split_first_mut() {
            *at = b'@';
            if let Some(hex) = rest.get_mut(..24) {
                hex.copy_from_slice(&now.hex());
            }
        }
        let mut iso = Buf::new();
        if let Some(l) = local {
            iso_stamp(&mut iso, l, now.nano);
        }
        Stamps { tai, iso }
    }

    /// The bytes `act` puts before the line, in order.
    pub fn head<'a>(&'a self, act: &'a Action) -> [&'a [u8]; 4] {
        let sp: &[u8] = if act.prefix.is_empty() { b"" } else { b" " };
        [
            if act.tai { &self.tai } else { b"" },
            if act.iso { self.iso.as_bytes() } else { b"" },
            act.prefix,
            sp,
        ]
    }
}

/// Formats `YYYY-MM-DD HH:MM:SS.nnnnnnnnn  ` (skalibs' `localtmn_fmt` plus
/// the two spaces s6-log adds).
pub fn iso_stamp<const N: usize>(out: &mut Buf<N>, l: &LocalTime, nano: u32) {
    let two = |out: &mut Buf<N>, v: u8| {
        out.push_byte(b'0' + v / 10 % 10).push_byte(b'0' + v % 10);
    };
    let pad: &[u8] = match l.year {
        0..=9 => b"000",
        10..=99 => b"00",
        100..=999 => b"0",
        _ => b"",
    };
    out.push(pad).push_i64(l.year).push(b"-");
    two(out, l.month);
    out.push(b"-");
    two(out, l.day);
    out.push(b" ");
    two(out, l.hour);
    out.push(b":");
    two(out, l.minute);
    out.push(b":");
    two(out, l.second);
    out.push(b".");
    let mut digits = [b'0'; 9];
    let mut n = nano;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.push(&digits).push(b"  ");
}

/// Where an alert cuts the line: `Some(n)` = the first `n` bytes then `...`
/// (s6-log cuts only when at least 4 bytes would go: `E + 3 < len`).
pub fn alert_cut(line_len: usize, alert_len: u32) -> Option<usize> {
    let e = usize::try_from(alert_len).ok()?;
    (e != 0 && e.saturating_add(3) < line_len).then_some(e)
}

/// How a status file of `size` bytes (0 = unpadded) holds a record of
/// `total` bytes whose last byte is the line's `\n`: the first `keep` bytes
/// of the record, then `pad` newlines. A record longer than `size` is cut to
/// `size` bytes (its `\n` included in the cut).
pub fn status_plan(total: usize, size: u32) -> (usize, usize) {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if size == 0 {
        (total, 0)
    } else if total > size {
        (size, 0)
    } else {
        let keep = total.saturating_sub(1);
        (keep, size - keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Target;

    fn act(tai: bool, iso: bool, prefix: &'static [u8]) -> Action {
        Action {
            target: Target::Stdout,
            tai,
            iso,
            prefix,
        }
    }

    #[test]
    fn heads() {
        let now = Tain {
            sec: 0x4000_0000_6b09_a82e,
            nano: 0x224d_141d,
        };
        let l = LocalTime {
            year: 2026,
            month: 11,
            day: 27,
            hour: 15,
            minute: 55,
            second: 53,
        };
        let st = Stamps::new(&now, Some(&l));
        let h = st.head(&act(true, true, b"[pfx]")).concat();
        assert_eq!(
            h,
            b"@400000006b09a82e224d141d 2026-11-27 15:55:53.575476765  [pfx] "
        );
        assert_eq!(st.head(&act(false, false, b"")).concat(), b"");
        assert_eq!(st.head(&act(true, false, b"")).concat().len(), TAI_LEN);
        let mut b: Buf<64> = Buf::new();
        iso_stamp(&mut b, &LocalTime { year: 7, ..l }, 5);
        assert_eq!(b.as_bytes(), b"0007-11-27 15:55:53.000000005  ");
    }

    #[test]
    fn alert_cuts_as_s6_log() {
        // oracle: `printf 'abcdef\n' | s6-log E2 2 E3 2` prints `ab...` then `abcdef`
        assert_eq!(alert_cut(6, 2), Some(2));
        assert_eq!(alert_cut(6, 3), None);
        assert_eq!(alert_cut(300, 200), Some(200));
        assert_eq!(alert_cut(300, 0), None);
    }

    #[test]
    fn status_padding() {
        assert_eq!(status_plan(2, 1001), (1, 1000)); // "1\n" -> 1001 bytes
        assert_eq!(status_plan(305, 0), (305, 0));
        assert_eq!(status_plan(305, 5), (5, 0)); // cut, no newline
        assert_eq!(status_plan(5, 5), (4, 1));
    }
}
