//! rs6-supervise and its control tools
#![cfg_attr(not(test), no_std)]
