//! # init — process 1 for rs6 images
//!
//! `rs6-init` is what the kernel starts (`/init` in an initramfs, `/sbin/init`
//! on a disk). As process 1 it mounts the kernel file systems, puts the console
//! on stdio, runs the image's `rc.init`, then the console program, reaps every
//! orphan, and on the console program's end or on a shutdown signal brings the
//! machine down: TERM to every process, a grace time, KILL, sync, unmount,
//! reboot(2). The pure decisions live here, the system calls in
//! `src/bin/rs6-init.rs`.
//!
//! ## Invariants
//! - Process 1 never exits and never panics: every failure is a warning line
//!   and a defined next step; the last step is always reboot(2); the panic
//!   handler reboots (`rt::entry!(main, pid1)`).
//! - No heap: the configuration is parsed from `/proc/cmdline` into fixed buffers.
//!
//! See `doc/rs6-init.md` for the user's view.
#![cfg_attr(not(test), no_std)]

pub mod cmdline;
pub mod scan;
pub mod shutdown;
pub mod stage1;
