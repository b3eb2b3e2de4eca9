//! A fixed-capacity byte queue: what rs6-log holds between reading stdin and
//! writing a logdir or stdout. Bytes leave from the front, enter at the back;
//! the live part is moved to the front when the back runs out of room.

/// A byte queue of capacity `N`. Invariant: `start <= end <= N`.
pub struct Queue<const N: usize> {
    buf: [u8; N],
    start: usize,
    end: usize,
}

impl<const N: usize> Default for Queue<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Queue<N> {
    /// An empty queue.
    pub const fn new() -> Self {
        Queue {
            buf: [0; N],
            start: 0,
            end: 0,
        }
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Bytes that can still be added.
    pub fn room(&self) -> usize {
        N - self.len()
    }

    /// The bytes held, oldest first.
    pub fn data(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    /// The bytes held, writable (rs6-log turns a line's `\n` into a NUL in
    /// place for regexec).
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(self.start..self.end).unwrap_or(&mut [])
    }

    /// Drops the first `n` bytes (all of them if `n` is larger).
    pub fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// The free space at the back, to read into; then [`Queue::commit`].
    pub fn spare(&mut self) -> &mut [u8] {
        if self.end == N {
            self.compact();
        }
        self.buf.get_mut(self.end..).unwrap_or(&mut [])
    }

    /// Adds the `n` bytes just written into [`Queue::spare`].
    pub fn commit(&mut self, n: usize) {
        self.end = self.end.saturating_add(n).min(N);
    }

    /// Appends the concatenation of `parts`, all of it or (returning false)
    /// nothing.
    pub fn push(&mut self, parts: &[&[u8]]) -> bool {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if total > self.room() {
            return false;
        }
        if total > N - self.end {
            self.compact();
        }
        for p in parts.iter().filter(|p| !p.is_empty()) {
            let Some(dst) = self.buf.get_mut(self.end..self.end + p.len()) else {
                return false;
            };
            dst.copy_from_slice(p);
            self.end += p.len();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_and_compaction() {
        let mut q: Queue<8> = Queue::new();
        assert!(q.push(&[b"abc", b"de"]));
        assert!(!q.push(&[b"xyzw"]));
        assert_eq!(q.data(), b"abcde");
        q.consume(3);
        assert_eq!(q.room(), 6);
        assert!(q.push(&[b"fghij"]));
        assert_eq!(q.data(), b"defghij");
        q.consume(100);
        assert!(q.is_empty());
        let s = q.spare();
        assert_eq!(s.len(), 8);
        s[..2].copy_from_slice(b"hi");
        q.commit(2);
        assert_eq!(q.data(), b"hi");
    }

    #[test]
    fn spare_compacts_when_the_back_is_full() {
        let mut q: Queue<4> = Queue::new();
        assert!(q.push(&[b"abcd"]));
        q.consume(2);
        assert_eq!(q.spare().len(), 2);
        assert_eq!(q.data(), b"cd");
    }
}
