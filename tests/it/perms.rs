//! Permission tests (issue 9): what a user who is not root can do to a
//! supervision tree that root runs — nothing through the control fifos
//! (`supervise/control`, `.s6-svscan/control`, both `0600` in `0700`
//! directories), and on `event/` exactly what s6's mode `3730` with the
//! supervisor's group allows: members of that group (primary or
//! supplementary) subscribe, others do not, nobody lists the directory or
//! removes another listener's fifo, and an `event/` that existed before
//! the supervisor keeps its own mode.
//!
//! Every case runs s6's tool and rs6's as the same user (setpriv, from
//! root) and compares exit codes — Debian's s6 is the oracle — and checks
//! that nothing reached the supervisor or the scanner. Each test also opens
//! the mode up and shows that the same command then gets through, so the
//! tests can fail. tests/it/ftrig.rs's `subscribe_permissions_as_s6`
//! covers fifodirs made by mkfifodir; this file covers the ones the
//! supervisors make.

use crate::common::{TempDir, rs6, run, script, wait_until};
use crate::faults::{
    Imp, NOBODY, PATIENCE, St, Tree, argv_of, as_user, read_status, side_by_side, state,
    wait_status,
};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

/// The group of the supervisors in the `event/` tests.
const GROUP: u32 = 4242;

/// Runs `tool ARGS DIR` of `imp` as `nobody`: its exit code.
fn code_as(user: &mut Command, imp: Imp, tool: &str, args: &[&str], dir: &Path) -> i32 {
    run(user.arg(imp.tool(tool)).args(args).arg(dir)).0
}

fn nobody() -> Command {
    as_user(NOBODY, NOBODY, &[])
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// A root supervisor (of `imp`) on a service that runs for ever, in a
/// directory tree every user can traverse.
fn root_service(t: &TempDir, imp: Imp, user: Option<Command>) -> (Tree, std::path::PathBuf) {
    chmod(t.path(), 0o755);
    let sv = t.join("sv");
    script(&sv.join("run"), "exec sleep 100");
    let prog = vec![imp.tool("supervise").into(), "sv".into()];
    let args = match user {
        Some(u) => argv_of(&u, &prog),
        None => prog,
    };
    let tree = Tree::start(&t.join("tree"), t.path(), &args);
    wait_status(&sv, "up", St::up);
    (tree, sv)
}

/// `nobody` runs s6-svc and rs6-svc (`-d`, `-x`, `-k`), s6-svok and
/// rs6-svok, s6-svstat and rs6-svstat on root's service: the exit codes of
/// each pair agree (111: the fifo, the lock and the status are out of
/// reach), and the service stays up, untouched. With `supervise/` opened
/// (0755) the fifo's own mode still refuses. Once the fifo is 0622, the
/// same `-d` gets through: the test sees a write when there is one.
fn control_fifo(imp: Imp) -> Vec<i32> {
    let t = TempDir::new(&format!("perm-ctl-{imp:?}"));
    let (tree, sv) = root_service(&t, imp, None);
    let before = read_status(&sv).unwrap();
    let mut codes = Vec::new();
    for opened in [false, true] {
        if opened {
            chmod(&sv.join("supervise"), 0o755);
        }
        for cmd in ["-d", "-x", "-k"] {
            let r = code_as(&mut nobody(), Imp::Rs6, "svc", &[cmd], &sv);
            let s = code_as(&mut nobody(), Imp::S6, "svc", &[cmd], &sv);
            assert_eq!(
                r, s,
                "{imp:?}: svc {cmd} as nobody, supervise/ opened {opened}"
            );
            codes.push(r);
        }
        let r = code_as(
            &mut nobody(),
            Imp::Rs6,
            "svc",
            &["-wd", "-T", "300", "-d"],
            &sv,
        );
        let s = code_as(
            &mut nobody(),
            Imp::S6,
            "svc",
            &["-wd", "-T", "300", "-d"],
            &sv,
        );
        assert_eq!(r, s, "{imp:?}: svc -wd -d as nobody");
        codes.push(r);
        for tool in ["svok", "svstat"] {
            let r = code_as(&mut nobody(), Imp::Rs6, tool, &[], &sv);
            let s = code_as(&mut nobody(), Imp::S6, tool, &[], &sv);
            assert_eq!(
                r, s,
                "{imp:?}: {tool} as nobody, supervise/ opened {opened}"
            );
            codes.push(r);
        }
    }
    thread::sleep(Duration::from_millis(200));
    assert_eq!(
        read_status(&sv),
        Some(before),
        "{imp:?}: a command got through"
    );
    assert!(tree.alive(), "{imp:?}: supervisor gone");
    chmod(&sv.join("supervise/control"), 0o622);
    assert_eq!(code_as(&mut nobody(), Imp::Rs6, "svc", &["-d"], &sv), 0);
    wait_status(&sv, "down by nobody, once allowed", |s| !s.up());
    codes
}

#[test]
fn non_root_cannot_write_a_root_supervisors_control_fifo() {
    let (a, b) = side_by_side(control_fifo);
    assert_eq!(b, a, "under rs6-supervise vs under s6-supervise");
    // svc -d, -x, -k, -wd, svok, svstat; then again with supervise/ opened
    // (svok and svstat can then read the lock and the status).
    assert_eq!(
        b,
        vec![111, 111, 111, 111, 111, 111, 111, 111, 111, 111, 0, 0]
    );
}

/// `nobody` runs s6-svscanctl and rs6-svscanctl (`-t`, `-a`, `-q`) on
/// root's scanner: the same exit codes (111), and the scanner keeps running
/// with its services; with `.s6-svscan/` opened the fifo still refuses;
/// once the fifo is 0622, `-t` from nobody ends the scanner.
fn scanner_fifo(imp: Imp) -> Vec<i32> {
    let t = TempDir::new(&format!("perm-scan-{imp:?}"));
    chmod(t.path(), 0o755);
    let sd = t.join("sd");
    script(&sd.join("a/run"), "exec sleep 100");
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        rs6("rs6-supervise").parent().unwrap().display()
    );
    let tree = Tree::start_env(
        &t.join("tree"),
        t.path(),
        &[imp.tool("svscan").into(), sd.clone().into()],
        &[("PATH", path)],
    );
    let a = wait_status(&sd.join("a"), "a up", St::up);
    let mut codes = Vec::new();
    for opened in [false, true] {
        if opened {
            chmod(&sd.join(".s6-svscan"), 0o755);
        }
        for cmd in ["-t", "-a", "-q"] {
            let r = code_as(&mut nobody(), Imp::Rs6, "svscanctl", &[cmd], &sd);
            let s = code_as(&mut nobody(), Imp::S6, "svscanctl", &[cmd], &sd);
            assert_eq!(r, s, "{imp:?}: svscanctl {cmd} as nobody, opened {opened}");
            codes.push(r);
        }
    }
    thread::sleep(Duration::from_millis(200));
    assert!(tree.alive(), "{imp:?}-svscan: a command got through");
    assert_eq!(read_status(&sd.join("a")), Some(a));
    chmod(&sd.join(".s6-svscan/control"), 0o622);
    assert_eq!(
        code_as(&mut nobody(), Imp::Rs6, "svscanctl", &["-t"], &sd),
        0
    );
    assert_eq!(tree.wait_exit(PATIENCE), "exit 0", "{imp:?}-svscan");
    codes
}

#[test]
fn non_root_cannot_write_a_root_scanners_control_fifo() {
    let (a, b) = side_by_side(scanner_fifo);
    assert_eq!(b, a, "rs6-svscan vs s6-svscan");
    assert_eq!(b, vec![111; 6]);
}

/// Who may subscribe to `event/` of a supervisor running as root with
/// group 4242, through s6-ftrig-wait and rs6-ftrig-wait (each waits for the
/// `d` of a `-d`, then `-u` restarts the service): the mode and group of `event/`, then for each user
/// whether s6's tool and rs6's got the event (both must agree), whether
/// that user can list `event/` or remove root's listener fifo, and
/// s6-svwait/rs6-svwait's exit code (111 for everyone but root: the status
/// is in root's 0700 `supervise/`).
/// For one user: (who, heard an event, listed `event/`, removed root's
/// listener, svwait's exit code).
type Access = (String, bool, bool, bool, i32);

fn event_dir(imp: Imp) -> (u32, u32, Vec<Access>) {
    let t = TempDir::new(&format!("perm-event-{imp:?}"));
    let (tree, sv) = root_service(&t, imp, Some(as_user(0, GROUP, &[])));
    let event = sv.join("event");
    let m = fs::metadata(&event).unwrap();
    let (mode, gid) = (m.mode() & 0o7777, m.gid());
    // A listener of root's, whose fifo the others try to remove.
    let mut holder = Command::new(rs6("rs6-ftrig-wait"))
        .args(["-t", "20000"])
        .arg(&event)
        .arg("z")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let fifos = || -> Vec<String> {
        fs::read_dir(&event)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("ftrig1:@"))
            .collect()
    };
    assert!(wait_until(PATIENCE, || fifos().len() == 1));
    let mut roots = fifos()[0].clone();
    let users: [(&str, Command); 5] = [
        ("root", as_user(0, 0, &[])),
        ("group member", as_user(NOBODY, NOBODY, &[GROUP])),
        ("primary group", as_user(NOBODY, GROUP, &[])),
        ("nobody", as_user(NOBODY, NOBODY, &[])),
        ("other group", as_user(NOBODY, 4243, &[4244])),
    ];
    let mut out = Vec::new();
    for (who, user) in users {
        let mut got = Vec::new();
        for imp_tool in [Imp::S6, Imp::Rs6] {
            let listener = Command::new(user.get_program())
                .args(user.get_args())
                .arg(imp_tool.tool("ftrig-wait"))
                .args(["-t", "3000"])
                .arg(&event)
                .arg("d")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let pid = listener.id() as i32;
            // Subscribed (a second fifo) or failed (exited).
            wait_until(PATIENCE, || {
                fifos().len() == 2 || state(pid).is_none_or(|c| c == 'Z')
            });
            let subscribed = fifos().len() == 2;
            if subscribed {
                assert_eq!(run(Command::new(rs6("rs6-svc")).arg("-d").arg(&sv)).0, 0);
            }
            let o = listener.wait_with_output().unwrap();
            let heard = o.status.code() == Some(0) && o.stdout == b"d\n";
            assert_eq!(subscribed, heard, "{imp:?}/{who}/{imp_tool:?}");
            got.push(heard);
            if subscribed {
                wait_status(&sv, "down", |s| !s.up());
                assert_eq!(run(Command::new(rs6("rs6-svc")).arg("-u").arg(&sv)).0, 0);
                wait_status(&sv, "up", St::up);
            }
        }
        assert_eq!(
            got[0], got[1],
            "{imp:?}, {who}: s6-ftrig-wait vs rs6-ftrig-wait"
        );
        let ls = run(Command::new(user.get_program())
            .args(user.get_args())
            .arg("ls")
            .arg(&event))
        .0 == 0;
        let rm = run(Command::new(user.get_program())
            .args(user.get_args())
            .args(["rm", "-f"])
            .arg(event.join(&roots)))
        .0 == 0
            && !event.join(&roots).exists();
        if rm {
            // root removed it: recreate the holder for the next users.
            let _ = holder.kill();
            let _ = holder.wait();
            holder = Command::new(rs6("rs6-ftrig-wait"))
                .args(["-t", "20000"])
                .arg(&event)
                .arg("z")
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            assert!(wait_until(PATIENCE, || fifos().len() == 1));
            roots = fifos()[0].clone();
        }
        let mut codes = Vec::new();
        for w in [Imp::S6, Imp::Rs6] {
            codes.push(
                run(Command::new(user.get_program())
                    .args(user.get_args())
                    .arg(w.tool("svwait"))
                    .args(["-d", "-t", "300"])
                    .arg(&sv))
                .0,
            );
        }
        assert_eq!(
            codes[0], codes[1],
            "{imp:?}, {who}: s6-svwait vs rs6-svwait"
        );
        out.push((who.to_string(), got[0], ls, rm, codes[1]));
    }
    let _ = holder.kill();
    let _ = holder.wait();
    drop(tree);
    (mode, gid, out)
}

#[test]
fn event_subscribers_as_s6_modes_allow() {
    let (a, b) = side_by_side(event_dir);
    assert_eq!(b, a, "event/ of rs6-supervise vs of s6-supervise");
    let (mode, gid, users) = b;
    assert_eq!(
        (mode, gid),
        (0o3730, GROUP),
        "event/ is 3730, the supervisor's group"
    );
    let row = |who: &str, heard, ls, rm, svwait| (who.to_string(), heard, ls, rm, svwait);
    assert_eq!(
        users,
        vec![
            row("root", true, true, true, 99),
            row("group member", true, false, false, 111),
            row("primary group", true, false, false, 111),
            row("nobody", false, false, false, 111),
            row("other group", false, false, false, 111),
        ]
    );
}

/// An `event/` that exists before the supervisor starts is used as it is
/// (s6: only a directory it creates gets 3730 and its group): a 0700
/// `event/` of root's keeps its mode, and a group member cannot subscribe.
#[test]
fn existing_event_dir_keeps_its_mode_as_s6() {
    let (a, b) = side_by_side(|imp| {
        let t = TempDir::new(&format!("perm-event-old-{imp:?}"));
        fs::create_dir_all(t.join("sv/event")).unwrap();
        chmod(&t.join("sv/event"), 0o700);
        let (tree, sv) = root_service(&t, imp, Some(as_user(0, GROUP, &[])));
        let m = fs::metadata(sv.join("event")).unwrap();
        let code = run(as_user(NOBODY, NOBODY, &[GROUP])
            .arg(imp.tool("ftrig-wait"))
            .args(["-t", "200"])
            .arg(sv.join("event"))
            .arg("d"))
        .0;
        drop(tree);
        (m.mode() & 0o7777, m.gid(), code)
    });
    assert_eq!(b, a, "rs6-supervise vs s6-supervise");
    assert_eq!(b, (0o700, 0, 111));
}
