//! # rt — the runtime every rs6 program stands on
//!
//! rs6's long-running programs (PID 1, the scanner, the supervisors, the logger)
//! are `#![no_std]` + `#![no_main]` binaries with **no allocator linked**. This
//! crate gives them what std would have: an entry point ([`entry!`]) that hands
//! `main` its [`Args`], panic handlers that never unwind (and, for PID 1, never
//! return to the kernel), one-line error messages in s6's format
//! (`rs6-supervise: fatal: unable to open supervise/control: No such file or directory`),
//! fixed-capacity buffers, TAI64N time, signals as data (signalfd), and the few
//! system calls rustix does not expose (fork, execve, sigprocmask, signalfd).
//!
//! ## Contract
//! - No heap: nothing here allocates; every buffer has a capacity fixed at build time.
//! - No panics in non-test code: every fallible step returns a `Result`/`Option`.
//! - All `unsafe` lives in [`sys`] (and the expansion of [`entry!`]); each block
//!   carries a `// SAFETY:` comment.
//! - Errors are one line: program, verb, object, errno; exit codes are the
//!   constants in [`err`].
//!
//! See ARCHITECTURE.md for where each concept lives.
#![cfg_attr(not(test), no_std)]

pub mod buf;
pub mod ctl;
pub mod err;
pub mod getopt;
pub mod panic;
pub mod sig;
pub mod sys;
pub mod time;

pub use buf::Buf;
pub use sys::Args;

/// Defines the C `main` of a no_std program, its panic handler and the
/// `rust_eh_personality` symbol that non-LTO builds need.
///
/// `entry!(run)` calls `fn run(args: rt::Args) -> u8` and returns its value as
/// the exit code; a panic prints one line and exits 101 ([`err::EXIT_BUG`]).
/// `entry!(run, pid1)` is for process 1: a panic prints one line, syncs and
/// reboots, and never returns to the kernel (a PID 1 exit is a kernel panic).
///
/// A binary using it starts with `#![cfg_attr(not(test), no_std)]` and
/// `#![cfg_attr(not(test), no_main)]`, so that `cargo test`/`clippy
/// --all-targets` can build its unit tests with std (the macro's items are
/// `#[cfg(not(test))]`).
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        $crate::entry!(@main $main);
        #[cfg(not(test))]
        #[panic_handler]
        fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
            $crate::panic::exit_on_panic(info)
        }
    };
    ($main:path, pid1) => {
        $crate::entry!(@main $main);
        #[cfg(not(test))]
        #[panic_handler]
        fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
            $crate::panic::reboot_on_panic(info)
        }
    };
    (@main $main:path) => {
        #[cfg(not(test))]
        #[allow(unsafe_code)]
        #[unsafe(export_name = "main")]
        extern "C" fn rt_c_main(
            argc: core::ffi::c_int,
            argv: *const *const core::ffi::c_char,
            envp: *const *const core::ffi::c_char,
        ) -> core::ffi::c_int {
            // SAFETY: musl's __libc_start_main calls main with the argc/argv/envp
            // the kernel gave the process; they stay valid until exit.
            let args = unsafe { $crate::Args::from_raw(argc, argv, envp) };
            core::ffi::c_int::from($main(args))
        }
        /// Non-LTO builds reference this symbol (core is built with unwinding);
        /// with panic=abort it is never called.
        #[cfg(not(test))]
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        extern "C" fn rust_eh_personality() {}
    };
}
