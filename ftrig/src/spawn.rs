//! Spawning the program of `rs6-ftrig-listen1` and `rs6-svlisten1` (skalibs'
//! `child_spawn0`): fork, exec with a PATH search, and report in the parent
//! whether the exec worked, through a close-on-exec pipe (end-of-file = the
//! exec succeeded; four bytes = its errno).

use core::ffi::CStr;
use rt::sys::{self, Fork};
use rustix::io::Errno;
use rustix::pipe::{PipeFlags, pipe_with};
use rustix::process::{Pid, WaitOptions};

/// Starts `argv` (`argv[0]` searched in PATH) with an empty signal mask and
/// default SIGPIPE; Ok(pid) once it has exec'd, Err(errno) when it could not.
pub fn spawn(argv: &[&CStr]) -> Result<Pid, Errno> {
    let file = argv.first().ok_or(Errno::INVAL)?;
    let (r, w) = pipe_with(PipeFlags::CLOEXEC)?;
    match sys::fork()? {
        Fork::Child => {
            drop(r);
            rt::sig::reset_for_child();
            let e = sys::execvp(file, argv);
            let _ = rustix::io::write(&w, &e.raw_os_error().to_ne_bytes());
            sys::exit(127)
        }
        Fork::Parent(pid) => {
            drop(w);
            let mut b = [0u8; 4];
            let mut got = 0;
            while got < b.len() {
                match rustix::io::read(&r, b.get_mut(got..).unwrap_or(&mut [])) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(Errno::INTR) => {}
                    Err(_) => break,
                }
            }
            if got < b.len() {
                return Ok(pid);
            }
            let _ = rustix::process::waitpid(Some(pid), WaitOptions::empty());
            Err(Errno::from_raw_os_error(i32::from_ne_bytes(b)))
        }
    }
}

/// Reaps every child that has exited, without waiting.
pub fn reap() {
    while let Ok(Some(_)) = rustix::process::wait(WaitOptions::NOHANG) {}
}
