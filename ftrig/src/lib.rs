//! fifodir event notification library and tools
#![cfg_attr(not(test), no_std)]
