//! rs6-init (PID 1 stage 1), the scanner and shutdown
#![cfg_attr(not(test), no_std)]
