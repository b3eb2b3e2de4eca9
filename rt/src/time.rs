//! Time: monotonic milliseconds for deadlines, TAI64N labels for what is
//! written to disk (`supervise/status`, `death_tally`, log stamps, fifo names).
//!
//! A TAI64N label is 12 bytes: 8-byte big-endian seconds label + 4-byte
//! big-endian nanoseconds. Like skalibs built without `--enable-tai-clock`,
//! rs6 computes the seconds label as `2^62 + unix seconds + 37` (10 + the 27
//! leap seconds up to 2017). See ../shared/spec/s6-compat.md §2.1.

use rustix::time::{ClockId, Timespec, clock_gettime};

/// TAI64 label of the UNIX epoch, leap seconds included (2^62 + 10 + 27).
pub const TAI_UNIX_OFFSET: u64 = (1 << 62) + 37;

/// Milliseconds on CLOCK_MONOTONIC (never jumps; for deadlines).
pub fn now_ms() -> u64 {
    to_ms(&clock_gettime(ClockId::Monotonic))
}

fn to_ms(t: &Timespec) -> u64 {
    let s = u64::try_from(t.tv_sec).unwrap_or(0);
    let ns = u64::try_from(t.tv_nsec).unwrap_or(0);
    s.saturating_mul(1000).saturating_add(ns / 1_000_000)
}

/// The `Timespec` that a poll waiting until `deadline_ms` (monotonic) takes:
/// zero if it has passed.
pub fn until(deadline_ms: u64) -> Timespec {
    let left = deadline_ms.saturating_sub(now_ms());
    Timespec {
        tv_sec: i64::try_from(left / 1000).unwrap_or(i64::MAX),
        tv_nsec: i64::try_from((left % 1000) * 1_000_000).unwrap_or(0),
    }
}

/// A TAI64N time stamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tain {
    /// TAI64 seconds label (2^62 + TAI seconds).
    pub sec: u64,
    /// Nanoseconds, 0..1e9.
    pub nano: u32,
}

impl Tain {
    /// Now, from CLOCK_REALTIME.
    pub fn now() -> Tain {
        let t = clock_gettime(ClockId::Realtime);
        Tain::from_unix(t.tv_sec, u32::try_from(t.tv_nsec).unwrap_or(0))
    }
    /// From UNIX seconds and nanoseconds.
    pub fn from_unix(sec: i64, nano: u32) -> Tain {
        Tain {
            sec: TAI_UNIX_OFFSET.wrapping_add_signed(sec),
            nano,
        }
    }
    /// UNIX seconds (may be negative for labels before 1970).
    pub fn unix_sec(&self) -> i64 {
        self.sec.wrapping_sub(TAI_UNIX_OFFSET) as i64
    }
    /// The 12-byte big-endian encoding.
    pub fn pack(&self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..8].copy_from_slice(&self.sec.to_be_bytes());
        b[8..].copy_from_slice(&self.nano.to_be_bytes());
        b
    }
    /// Decodes 12 big-endian bytes.
    pub fn unpack(b: &[u8; 12]) -> Tain {
        let mut s = [0u8; 8];
        let mut n = [0u8; 4];
        s.copy_from_slice(&b[..8]);
        n.copy_from_slice(&b[8..]);
        Tain {
            sec: u64::from_be_bytes(s),
            nano: u32::from_be_bytes(n),
        }
    }
    /// 24 lowercase hex digits (the `@…` of log stamps and ftrig fifo names).
    pub fn hex(&self) -> [u8; 24] {
        let mut out = [0u8; 24];
        let mut b = crate::buf::Buf::<24>::new();
        b.push_hex(&self.pack());
        out.copy_from_slice(b.as_bytes());
        out
    }
    /// Whole seconds from `self` to `later` (0 if `later` is earlier).
    pub fn secs_until(&self, later: &Tain) -> u64 {
        later.sec.saturating_sub(self.sec)
            - u64::from(later.sec > self.sec && later.nano < self.nano)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trip() {
        let t = Tain::from_unix(1_700_000_000, 123_456_789);
        assert_eq!(t.sec, 0x4000_0000_0000_0000 + 1_700_000_000 + 37);
        assert_eq!(Tain::unpack(&t.pack()), t);
        assert_eq!(t.unix_sec(), 1_700_000_000);
        assert_eq!(&t.hex()[..8], b"40000000");
    }

    #[test]
    fn seconds_between() {
        let a = Tain {
            sec: 100,
            nano: 500,
        };
        assert_eq!(
            a.secs_until(&Tain {
                sec: 103,
                nano: 400
            }),
            2
        );
        assert_eq!(
            a.secs_until(&Tain {
                sec: 103,
                nano: 600
            }),
            3
        );
        assert_eq!(a.secs_until(&Tain { sec: 90, nano: 0 }), 0);
    }
}
