//! # supervise — rs6-supervise and its control tools
//!
//! One `rs6-supervise DIR` per service: it starts `DIR/run`, restarts it when
//! it dies (at most once a second unless it was ready that long), runs
//! `DIR/finish` after each death, obeys the command bytes written to
//! `DIR/supervise/control`, and tells the world what happened through
//! `DIR/supervise/status` (35 bytes) and the `DIR/event` fifodir — all in
//! the formats of s6 2.11, so s6's tools and rs6's drive each other.
//!
//! The tools: `rs6-svc` (send commands), `rs6-svstat` (print the status),
//! `rs6-svok` (is a supervisor running?).
//!
//! ## Code map
//! - [`dfa`]: the supervisor's state machine as one table; no I/O.
//! - [`control`]: command bytes ⇄ [`control::Command`]; the fifo writer of rs6-svc.
//! - [`status`]: the `supervise/status` record; parse/emit, read/write.
//! - [`dtally`]: the `supervise/death_tally` records.
//! - [`servicedir`]: the small files of a service directory and their parsers;
//!   the supervisor's timing constants.
//!
//! ## Invariants
//! - No heap, no panics in non-test code: fixed buffers, every fallible step
//!   returns a `Result`/`Option`.
//! - The state of a supervisor changes only in [`dfa::Machine::step`].
//! - File I/O in this library is limited to the small read/write helpers of
//!   `status`, `dtally`, `servicedir` and `control`; everything else (the loop,
//!   fork/exec, signals) lives in `src/bin/rs6-supervise.rs`.
#![cfg_attr(not(test), no_std)]

pub mod control;
pub mod dfa;
pub mod dtally;
pub mod servicedir;
pub mod setup;
pub mod spawn;
pub mod status;
pub mod svlisten;
pub mod svstat;
