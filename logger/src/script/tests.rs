//! Script parsing and selection, checked against what Debian's s6-log 2.11.3.2
//! answers for the same words (exit 100 messages observed on the oracle).

use super::*;

/// A stand-in regex: `^x` is a prefix test, anything else a substring test.
type Fake = &'static [u8];

fn parse(words: &[&'static CStr]) -> Result<Script<Fake>, Error> {
    Script::parse(words.iter().copied(), |re| {
        if re.to_bytes().first() == Some(&b'(') {
            Err(RegexError::Invalid)
        } else {
            Ok(re.to_bytes())
        }
    })
}

fn matches(re: &Fake, line: &[u8]) -> bool {
    if re.is_empty() {
        return true;
    }
    match re.strip_prefix(b"^") {
        Some(p) => line.starts_with(p),
        None => line.windows(re.len().max(1)).any(|w| w == *re),
    }
}

/// The indices of the actions `line` goes to.
fn targets(sc: &Script<Fake>, line: &str) -> std::vec::Vec<usize> {
    let mask = sc.select(|re| matches(re, line.as_bytes()));
    (0..32).filter(|i| mask & (1 << i) != 0).collect()
}

#[track_caller]
fn check_err(words: &[&'static CStr], want: Error) {
    match parse(words) {
        Ok(_) => panic!("{words:?} parsed"),
        Err(e) => assert_eq!(e, want, "{words:?}"),
    }
}

// ---- errors (each message and exit code checked on the oracle) ----

#[test]
fn malformed_scripts() {
    check_err(&[c"e", c"./d"], Error::Unrecognized(b"e"));
    check_err(&[c"t"], Error::NoAction);
    check_err(&[c"tx", c"./d"], Error::Syntax(b"tx"));
    check_err(&[c"n", c"./d"], Error::Unrecognized(b"n"));
    check_err(&[c"nx", c"./d"], Error::Unrecognized(b"nx"));
    check_err(&[c"s4096", c"l3000", c"./d"], Error::Conflict(b"l3000"));
    check_err(&[c"l50000", c"./d"], Error::Conflict(b"l50000"));
    check_err(&[c"x"], Error::Unrecognized(b"x"));
    check_err(&[c"+(", c"./d"], Error::Unrecognized(b"+("));
    check_err(&[c"fx", c"./d"], Error::Syntax(b"fx"));
    check_err(&[c"="], Error::Syntax(b"="));
    check_err(&[c"1x"], Error::Syntax(b"1x"));
    check_err(&[c"pfoo"], Error::NoAction);
    check_err(&[c"E", c"./d"], Error::Unrecognized(b"E"));
    check_err(&[c"^", c"./d"], Error::Unrecognized(b"^"));
    check_err(&[c"!"], Error::NoAction);
    check_err(&[c"R", c"./d"], Error::Unrecognized(b"R"));
    check_err(&[c""], Error::Unrecognized(b""));
    check_err(
        &[c"n99999999999", c"./d"],
        Error::Unrecognized(b"n99999999999"),
    );
    // the first pass wins: a syntax error after a bad number
    check_err(&[c"nx", c"tx", c"./d"], Error::Syntax(b"tx"));
}

#[test]
fn extraneous_selections_warn() {
    assert!(parse(&[c"./d", c"+x"]).is_ok_and(|s| s.extraneous));
    assert!(parse(&[c"./d", c"f"]).is_ok_and(|s| s.extraneous));
    assert!(parse(&[c"./d", c"n5", c"t"]).is_ok_and(|s| !s.extraneous));
    check_err(&[c"+x"], Error::NoAction);
}

// ---- settings ----

#[test]
fn logdir_settings_are_sticky_and_clamped() {
    let sc = parse(&[
        c"n3",
        c"s1",
        c"./a",
        c"s999999999",
        c"S5000",
        c"r50",
        c"!gzip",
        c"/b",
        c"!",
        c"./c",
    ])
    .unwrap();
    let l = &sc.logdirs;
    assert_eq!(l.len(), 3);
    assert_eq!((l[0].count, l[0].size, l[0].tolerance), (3, SIZE_MIN, 2000));
    assert_eq!(l[0].processor, None);
    assert_eq!(
        (l[1].size, l[1].max_total, l[1].retry_ms),
        (SIZE_MAX, 5000, 50)
    );
    assert_eq!(
        l[1].processor,
        Some(Processor {
            interp: Interp::Execline,
            cmd: c"gzip"
        })
    );
    assert_eq!(l[2].processor, None);
    assert_eq!(l[2].count, 3);
    assert_eq!(l[1].dir, c"/b");
}

#[test]
fn stamps_are_not_sticky_prefix_is() {
    let sc = parse(&[
        c"t", c"T", c"pPFX", c"1", c"2", c"E10", c"p", c"t", c"=st", c"^0", c"=s2",
    ])
    .unwrap();
    let a = &sc.actions;
    assert_eq!((a[0].tai, a[0].iso, a[0].prefix), (true, true, &b"PFX"[..]));
    assert_eq!(
        (a[1].tai, a[1].iso, a[1].prefix),
        (false, false, &b"PFX"[..])
    );
    assert_eq!(a[1].target, Target::Alert { len: 200 });
    assert_eq!(
        a[2].target,
        Target::Status {
            file: c"st",
            len: 1001
        }
    );
    assert!(a[2].tai);
    assert_eq!(a[2].prefix, b"");
    assert_eq!(
        a[3].target,
        Target::Status {
            file: c"s2",
            len: 0
        }
    );
    assert!(sc.has_stdout());
}

// ---- selection ----

#[test]
fn default_selects_everything() {
    let sc = parse(&[c"./d", c"1"]).unwrap();
    assert_eq!(targets(&sc, "anything"), [0, 1]);
}

#[test]
fn the_manual_example() {
    // s6-log n30 E500 - +fatal: 2 - +^STAT =/var/log/foobard/status f s10000000 S15000000 T !"gzip -nq9" /var/log/foobard
    let sc = parse(&[
        c"n30", c"E500", c"-", c"+fatal:", c"2", c"-", c"+^STAT", c"=status", c"f", c"T", c"./logs",
    ])
    .unwrap();
    assert_eq!(sc.blocks.len(), 3);
    assert_eq!(targets(&sc, "x fatal: boom"), [0]);
    assert_eq!(targets(&sc, "STAT ok"), [1]);
    assert_eq!(targets(&sc, "plain"), [2]);
    assert_eq!(targets(&sc, "STAT fatal: both"), [0, 1]);
}

#[test]
fn selection_carries_across_blocks() {
    // after "-x 1", an unselected line stays unselected for "2"
    let sc = parse(&[c"-x", c"1", c"+y", c"2"]).unwrap();
    assert!(targets(&sc, "x").is_empty());
    assert_eq!(targets(&sc, "xy"), [1]);
    assert_eq!(targets(&sc, "a"), [0, 1]);
}
