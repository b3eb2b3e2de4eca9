//! sleeper: the idle daemon (what `exec sleep 100000` is, without a shell), exec'd directly
//! as a service's ./run. If $BENCH_UPFIFO names a fifo, it first writes one 20-byte record
//! "<CLOCK_MONOTONIC ns, 19 digits>\n" there (read first thing in main), so that the bench
//! learns when each daemon of a bring-up really started. Then it sleeps until a signal kills it.

mod common;

use common::*;
use std::io::Write;

fn main() {
    let t = now_ns();
    set_name(c"bench-sleep");
    if let Some(fifo) = std::env::var_os("BENCH_UPFIFO").filter(|f| !f.is_empty()) {
        // The bench holds the fifo open for reading, so this open does not block; the write
        // may, if the bench is slow to read: the record is never lost.
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(fifo) {
            let _ = f.write_all(format!("{t:019}\n").as_bytes());
        }
    }
    pause_forever()
}
