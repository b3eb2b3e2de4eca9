//! Small helpers every command uses: the error type, `project_root()`, one-line progress
//! reports with elapsed time, and running external commands (always printed as `$ cmd args`
//! before they run, hermit-style).

use std::ffi::OsStr;
use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

/// xtask's error: a message for the user, already in words.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result with [`Error`].
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// Builds an [`Error`] from a message.
pub(crate) fn err(msg: impl Display) -> Error {
    msg.to_string().into()
}

/// Adds "while doing X" to an error, like anyhow's `context`.
pub(crate) trait Context<T> {
    /// Prefixes the error with `what()`.
    fn ctx<S: Display>(self, what: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Display> Context<T> for std::result::Result<T, E> {
    fn ctx<S: Display>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| err(format!("{}: {e}", what())))
    }
}

/// The workspace root: the parent of xtask's manifest directory.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// `project_root()/target`.
pub(crate) fn target_dir() -> PathBuf {
    project_root().join("target")
}

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Starts the elapsed-time clock (called first thing in `main`).
pub(crate) fn start_clock() {
    start();
}

/// Seconds since xtask started.
pub(crate) fn elapsed() -> f64 {
    start().elapsed().as_secs_f64()
}

/// Prints one progress line: `[xtask 12.3s] msg`.
pub(crate) fn progress(msg: impl Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "[xtask {:.1}s] {msg}", elapsed());
    let _ = out.flush();
}

/// The command line as the user would type it (arguments with spaces are quoted).
pub(crate) fn display_cmd(cmd: &Command) -> String {
    let mut s = String::new();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            s.push_str(&format!("{}={} ", k.to_string_lossy(), quote(v)));
        }
    }
    // `$CARGO` is an absolute path into the toolchain; show it as the user types it.
    let prog = Path::new(cmd.get_program());
    if prog.file_name() == Some(OsStr::new("cargo")) {
        s.push_str("cargo");
    } else {
        s.push_str(&quote(cmd.get_program()));
    }
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&quote(a));
    }
    if let Some(dir) = cmd.get_current_dir() {
        s.push_str(&format!("   (in {})", dir.display()));
    }
    s
}

fn quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Prints `$ cmd args` (one line).
pub(crate) fn echo_cmd(cmd: &Command) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "$ {}", display_cmd(cmd));
    let _ = out.flush();
}

/// Prints and runs `cmd` with inherited stdio; fails unless it exits 0.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    echo_cmd(cmd);
    let status = cmd
        .status()
        .ctx(|| format!("cannot run {}", cmd.get_program().to_string_lossy()))?;
    if status.success() {
        Ok(())
    } else {
        Err(err(format!("`{}` failed: {status}", display_cmd(cmd))))
    }
}

/// Prints and runs `cmd`, capturing stdout and stderr; returns the output whatever the exit
/// status (the caller decides).
pub(crate) fn output(cmd: &mut Command) -> Result<Output> {
    echo_cmd(cmd);
    cmd.stdin(Stdio::null())
        .output()
        .ctx(|| format!("cannot run {}", cmd.get_program().to_string_lossy()))
}

/// Like [`output`] but fails unless the command exits 0; returns stdout as text.
pub(crate) fn read(cmd: &mut Command) -> Result<String> {
    let out = output(cmd)?;
    if !out.status.success() {
        return Err(err(format!(
            "`{}` failed: {}\n{}",
            display_cmd(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The cargo that runs us (`$CARGO`), or `cargo`.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Formats a byte count as `1.2 MB` / `45.6 kB` / `789 B` (SI units).
pub(crate) fn human_size(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1} MB", n as f64 / 1e6)
    } else if n >= 1_000 {
        format!("{:.1} kB", n as f64 / 1e3)
    } else {
        format!("{n} B")
    }
}

/// The last `n` lines of `lines`, joined with newlines.
pub(crate) fn tail(lines: &[String], n: usize) -> String {
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_cmd_quotes_only_when_needed() {
        let mut c = Command::new("qemu-system-x86_64");
        c.args(["-m", "256", "-append", "console=ttyS0 quiet", "it's"]);
        assert_eq!(
            display_cmd(&c),
            r"qemu-system-x86_64 -m 256 -append 'console=ttyS0 quiet' 'it'\''s'"
        );
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(789), "789 B");
        assert_eq!(human_size(45_600), "45.6 kB");
        assert_eq!(human_size(1_234_567), "1.2 MB");
    }

    #[test]
    fn tail_takes_last_lines() {
        let v: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        assert_eq!(tail(&v, 2), "3\n4");
        assert_eq!(tail(&v, 10), "0\n1\n2\n3\n4");
    }
}
