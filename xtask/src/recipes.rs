//! Consistency of the packaging recipes with `cargo xtask install` (tests only): the
//! Buildroot package (`packaging/buildroot/`) and the Yocto layer
//! (`packaging/yocto/meta-rs6/`) must carry the workspace version and install the same
//! programs, configuration files and `--init` links as `install.rs`; the Yocto layer's
//! `rs6-crates.inc` must list Cargo.lock's crates. Neither build system runs here (no
//! network for their downloads): this is what keeps the recipes honest.
//!
//! `RS6_UPDATE_RECIPES=1 cargo test -p xtask recipes` rewrites `rs6-crates.inc` from
//! Cargo.lock (as `bitbake -c update_crates rs6` would).

use std::path::{Path, PathBuf};

use crate::install::{HPR, HPR_LINKS, INIT, Item, Kind, SV_DIR, manifest, programs};
use crate::util::{project_root, target_dir};

fn read(rel: &str) -> String {
    let p = project_root().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const BR_MK: &str = "packaging/buildroot/package/rs6/rs6.mk";
const BR_POST_BUILD: &str = "packaging/buildroot/board/rs6/post-build.sh";
const YOCTO_RECIPES: &str = "packaging/yocto/meta-rs6/recipes-core/rs6";

/// The words of a make variable `NAME = ...` (with `\` continuation lines).
fn make_var(text: &str, name: &str) -> Vec<String> {
    let mut lines = text.lines();
    let prefix = format!("{name} =");
    let first = lines
        .by_ref()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{name} =` line"));
    let mut value = first[prefix.len()..].to_string();
    while value.trim_end().ends_with('\\') {
        let v = value.trim_end();
        value = format!("{} {}", &v[..v.len() - 1], lines.next().unwrap_or(""));
    }
    value.split_whitespace().map(str::to_string).collect()
}

/// The words of a BitBake assignment `NAME = "..."` (possibly over `\` lines).
fn bb_var(text: &str, name: &str) -> Vec<String> {
    let prefix = format!("{name} = \"");
    let start = text
        .lines()
        .position(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{name} = \"` line"));
    let rest: String = text
        .lines()
        .skip(start)
        .collect::<Vec<_>>()
        .join("\n")
        .split_at(prefix.len())
        .1
        .to_string();
    let end = rest
        .find('"')
        .unwrap_or_else(|| panic!("{name}: no closing quote"));
    rest[..end]
        .replace('\\', " ")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// `version = "..."` of `[workspace.package]` in the root Cargo.toml.
fn workspace_version() -> String {
    let text = read("Cargo.toml");
    let section = text
        .split("[workspace.package]")
        .nth(1)
        .expect("[workspace.package]");
    let line = section
        .lines()
        .find(|l| l.trim_start().starts_with("version"))
        .expect("version line");
    line.split('"').nth(1).expect("quoted version").to_string()
}

/// The Yocto recipe's path (`rs6_VERSION.bb`) and text.
fn yocto_recipe() -> (PathBuf, String) {
    let dir = project_root().join(YOCTO_RECIPES);
    let bb: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bb"))
        .collect();
    assert_eq!(
        bb.len(),
        1,
        "one rs6_VERSION.bb in {}: {bb:?}",
        dir.display()
    );
    let text = std::fs::read_to_string(&bb[0]).unwrap();
    (bb[0].clone(), text)
}

/// What `install --init` installs, from fake binaries (the names are what counts).
fn installed() -> Vec<Item> {
    let bins = target_dir().join("xtask-test-recipes-bins");
    std::fs::create_dir_all(&bins).unwrap();
    for p in programs().unwrap() {
        std::fs::write(bins.join(&p), "").unwrap();
    }
    manifest(&bins, true).unwrap()
}

/// The configuration files (paths below `etc/`) and their modes.
fn config_files(items: &[Item]) -> Vec<(String, u32)> {
    let mut v: Vec<(String, u32)> = items
        .iter()
        .filter_map(|i| match &i.kind {
            Kind::Config(_, mode) => Some((
                i.path.strip_prefix("etc/").expect("under etc/").to_string(),
                *mode,
            )),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn versions_match_the_workspace() {
    let version = workspace_version();
    assert_eq!(
        make_var(&read(BR_MK), "RS6_VERSION"),
        std::slice::from_ref(&version),
        "{BR_MK}"
    );
    let (bb, _) = yocto_recipe();
    assert_eq!(
        bb.file_name().unwrap().to_string_lossy(),
        format!("rs6_{version}.bb"),
        "the Yocto recipe's file name carries the version"
    );
}

#[test]
fn recipes_install_the_same_programs() {
    let want = programs().unwrap();
    assert_eq!(
        sorted(make_var(&read(BR_MK), "RS6_PROGRAMS")),
        want,
        "{BR_MK}: RS6_PROGRAMS"
    );
    let (bb, text) = yocto_recipe();
    assert_eq!(
        sorted(bb_var(&text, "RS6_PROGRAMS")),
        want,
        "{}: RS6_PROGRAMS",
        bb.display()
    );
}

#[test]
fn recipes_install_the_same_configuration() {
    let items = installed();
    let files = config_files(&items);
    for (f, mode) in &files {
        // Both recipes install the configuration files with mode 0755.
        assert_eq!(
            *mode, 0o755,
            "packaging/rootfs/etc/{f}: recipes install 0755"
        );
    }
    let want: Vec<String> = files.into_iter().map(|f| f.0).collect();
    assert_eq!(
        sorted(make_var(&read(BR_MK), "RS6_CONFIG_FILES")),
        want,
        "{BR_MK}: RS6_CONFIG_FILES"
    );
    let (bb, text) = yocto_recipe();
    assert_eq!(
        sorted(bb_var(&text, "RS6_CONFIG_FILES")),
        want,
        "{}: RS6_CONFIG_FILES",
        bb.display()
    );
    // Directories: those of the files (install -D), and the empty service directory.
    for i in &items {
        if let Kind::Dir(_) = i.kind
            && i.path.starts_with("etc")
            && i.path != SV_DIR
        {
            let prefix = format!("{}/", i.path);
            assert!(
                items
                    .iter()
                    .any(|f| matches!(f.kind, Kind::Config(..)) && f.path.starts_with(&prefix)),
                "{}: an empty directory the recipes do not create",
                i.path
            );
        }
    }
    let sv = SV_DIR.strip_prefix("etc/").unwrap();
    assert!(read(BR_MK).contains(&format!("$(TARGET_DIR)/etc/{sv}")));
    assert!(text.contains(&format!("${{D}}${{sysconfdir}}/{sv}")));
}

#[test]
fn recipes_make_the_same_init_links() {
    let links: Vec<(String, String)> = installed()
        .into_iter()
        .filter_map(|i| match i.kind {
            Kind::Link(t) => Some((i.path, t)),
            _ => None,
        })
        .collect();
    let mut want = vec![("sbin/init".to_string(), format!("/bin/{INIT}"))];
    want.extend(
        HPR_LINKS
            .iter()
            .map(|l| (format!("sbin/{l}"), format!("/bin/{HPR}"))),
    );
    assert_eq!(links, want);
    // Buildroot: post-build.sh makes them.
    let post = read(BR_POST_BUILD);
    assert!(
        post.contains(&format!("ln -sfn /bin/{INIT} \"$t/sbin/init\"")),
        "{BR_POST_BUILD}: /sbin/init"
    );
    assert!(
        post.contains(&format!("for l in {}; do", HPR_LINKS.join(" ")))
            && post.contains(&format!("ln -sfn /bin/{HPR} \"$t/sbin/$l\"")),
        "{BR_POST_BUILD}: halt, poweroff, reboot"
    );
    assert!(post.contains("rm -f \"$t/etc/inittab\""));
    assert!(read(BR_MK).contains("board/rs6/post-build.sh $(TARGET_DIR)"));
    // Yocto: update-alternatives.
    let (bb, text) = yocto_recipe();
    let mut names = vec!["init".to_string()];
    names.extend(HPR_LINKS.iter().map(|l| l.to_string()));
    assert_eq!(
        bb_var(&text, "ALTERNATIVE:${PN}"),
        names,
        "{}",
        bb.display()
    );
    for (path, target) in &want {
        let name = path.strip_prefix("sbin/").unwrap();
        let prog = target.strip_prefix("/bin/").unwrap();
        assert_eq!(
            bb_var(&text, &format!("ALTERNATIVE_LINK_NAME[{name}]")),
            [format!("${{base_sbindir}}/{name}")]
        );
        assert_eq!(
            bb_var(&text, &format!("ALTERNATIVE_TARGET[{name}]")),
            [format!("${{base_bindir}}/{prog}")]
        );
    }
}

#[test]
fn recipes_build_this_checkout() {
    // Buildroot: RS6_SITE is the tree two levels above BR2_EXTERNAL.
    assert_eq!(
        make_var(&read(BR_MK), "RS6_SITE"),
        ["$(BR2_EXTERNAL_RS6_PATH)/../.."]
    );
    let desc = read("packaging/buildroot/external.desc");
    assert!(
        desc.lines().any(|l| l == "name: RS6"),
        "BR2_EXTERNAL_RS6_PATH"
    );
    let br = project_root().join("packaging/buildroot/../..");
    assert_eq!(
        br.canonicalize().unwrap(),
        project_root().canonicalize().unwrap()
    );
    // Yocto: EXTERNALSRC is five levels above the recipe's directory.
    let (bb, text) = yocto_recipe();
    let ups = "'../../../../..'";
    assert!(text.contains(&format!("d.getVar('THISDIR'), {ups}")));
    let src = bb.parent().unwrap().join("../../../../..");
    assert_eq!(
        src.canonicalize().unwrap(),
        project_root().canonicalize().unwrap()
    );
    // Same build selection as `cargo xtask build`.
    let sel = "--workspace --exclude xtask --exclude rs6-tests";
    assert!(read(BR_MK).contains(&format!("RS6_CARGO_BUILD_OPTS = {sel}")));
    assert!(text.contains(&format!("oe_cargo_build {sel}")));
}

/// The `rustflags` of `[target.x86_64-unknown-linux-musl]` in `.cargo/config.toml`.
fn config_rustflags() -> Vec<String> {
    let text = read(".cargo/config.toml");
    let section = text
        .split("[target.x86_64-unknown-linux-musl]")
        .nth(1)
        .expect("x86_64 musl section");
    let line = section
        .lines()
        .find(|l| l.starts_with("rustflags"))
        .expect("rustflags");
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn yocto_adds_the_cargo_config_rustflags() {
    // The cargo class sets RUSTFLAGS, which replaces .cargo/config.toml's: the recipe
    // repeats them (Yocto links with gcc, as the x86_64 section does), and links statically.
    let (bb, text) = yocto_recipe();
    let mut want = config_rustflags();
    assert!(want.contains(&"link-arg=-lc".to_string()), "{want:?}");
    want.extend(["-C".to_string(), "target-feature=+crt-static".to_string()]);
    assert_eq!(
        bb_var(&text, "RUSTFLAGS:append"),
        want,
        "{}: RUSTFLAGS:append",
        bb.display()
    );
    // Buildroot sets no RUSTFLAGS: the config applies as is.
    let mk = read(BR_MK);
    assert!(!mk.contains("RUSTFLAGS=") && !mk.contains("RUSTFLAGS ="));
}

#[test]
fn yocto_license_checksum_names_the_license_line() {
    let (bb, text) = yocto_recipe();
    let want_line = "license = \"ISC\"";
    let cargo = read("Cargo.toml");
    let n = cargo
        .lines()
        .position(|l| l == want_line)
        .expect("license line in Cargo.toml")
        + 1;
    // md5 of `license = "ISC"\n`, the one line BitBake reads.
    let md5 = "11aa2ff8fb21df4e22bb1cff1a7a404a";
    let want = format!("file://Cargo.toml;beginline={n};endline={n};md5={md5}");
    assert_eq!(
        bb_var(&text, "LIC_FILES_CHKSUM"),
        std::slice::from_ref(&want),
        "{}: LIC_FILES_CHKSUM must be \"{want}\"",
        bb.display()
    );
    if let Ok(out) = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"license = \"ISC\"\n")?;
            c.wait_with_output()
        })
    {
        assert!(String::from_utf8_lossy(&out.stdout).starts_with(md5));
    }
}

/// `rs6-crates.inc` as `bitbake -c update_crates` writes it, from Cargo.lock.
fn crates_inc(lock: &str) -> String {
    let mut crates = Vec::new();
    for pkg in lock.split("[[package]]").skip(1) {
        let field = |k: &str| {
            pkg.lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = \"")))
                .map(|v| v.trim_end_matches('"').to_string())
        };
        let (Some(name), Some(version), Some(source), Some(sum)) = (
            field("name"),
            field("version"),
            field("source"),
            field("checksum"),
        ) else {
            continue;
        };
        if source.starts_with("registry+") {
            crates.push((name, version, sum));
        }
    }
    let mut s = String::from(
        "# Cargo.lock's crates, for the cargo class's offline build. Generated: \
         RS6_UPDATE_RECIPES=1 cargo test -p xtask recipes\n\
         # (the same as `bitbake -c update_crates rs6`).\n\n\
         # from Cargo.lock\nSRC_URI += \" \\\n",
    );
    for (n, v, _) in &crates {
        s.push_str(&format!("    crate://crates.io/{n}/{v} \\\n"));
    }
    s.push_str("\"\n\n");
    for (n, v, sum) in &crates {
        s.push_str(&format!("SRC_URI[{n}-{v}.sha256sum] = \"{sum}\"\n"));
    }
    s
}

#[test]
fn yocto_crates_match_cargo_lock() {
    let want = crates_inc(&read("Cargo.lock"));
    let path: &Path = &project_root().join(YOCTO_RECIPES).join("rs6-crates.inc");
    if std::env::var_os("RS6_UPDATE_RECIPES").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "{} is not Cargo.lock's crate list: run RS6_UPDATE_RECIPES=1 cargo test -p xtask recipes",
        path.display()
    );
    assert!(want.contains("crate://crates.io/rustix/"));
}

#[test]
fn parsers() {
    let mk = "A = 1\nRS6_X = \\\n\ta b \\\n\tc\nB = 2\n";
    assert_eq!(make_var(mk, "RS6_X"), ["a", "b", "c"]);
    assert_eq!(make_var(mk, "A"), ["1"]);
    let bb = "X = \"\\\n    a b \\\n    c \\\n\"\nY[z] = \"${D}/q\"\n";
    assert_eq!(bb_var(bb, "X"), ["a", "b", "c"]);
    assert_eq!(bb_var(bb, "Y[z]"), ["${D}/q"]);
    let lock = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\
                source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
                checksum = \"abc\"\n\n[[package]]\nname = \"local\"\nversion = \"0.1.0\"\n";
    let inc = crates_inc(lock);
    assert!(inc.contains("    crate://crates.io/a/1.0.0 \\\n"));
    assert!(inc.contains("SRC_URI[a-1.0.0.sha256sum] = \"abc\"\n"));
    assert!(!inc.contains("local"));
}
