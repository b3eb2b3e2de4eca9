//! Panic handlers. rs6's release builds use `panic = "abort"`, and its
//! long-running programs are written so that they cannot panic; these handlers
//! are the last line of defence, not a control path.

use crate::err::{EXIT_BUG, Msg};
use core::panic::PanicInfo;

fn report(info: &PanicInfo<'_>) {
    let mut m = Msg::with(b"rs6", b"bug: panic");
    if let Some(loc) = info.location() {
        m = m
            .s(b" at ")
            .s(loc.file().as_bytes())
            .s(b":")
            .u(u64::from(loc.line()));
    }
    m.emit();
}

/// For ordinary programs: one line on stderr, then `_exit(101)`.
pub fn exit_on_panic(info: &PanicInfo<'_>) -> ! {
    report(info);
    crate::sys::exit(EXIT_BUG)
}

/// For process 1: one line, `sync`, `reboot(RB_AUTOBOOT)`; if the reboot
/// fails, sleep forever. Never returns: a PID 1 exit is a kernel panic.
pub fn reboot_on_panic(info: &PanicInfo<'_>) -> ! {
    report(info);
    rustix::fs::sync();
    let _ = rustix::system::reboot(rustix::system::RebootCommand::Restart);
    loop {
        let _ = rustix::thread::nanosleep(&rustix::time::Timespec {
            tv_sec: 3600,
            tv_nsec: 0,
        });
    }
}
