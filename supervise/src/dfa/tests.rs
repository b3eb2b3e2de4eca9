//! Tests of the DFA: every cell of the table against doc/rs6-supervise.md,
//! and the rules of ../shared/spec/s6-compat.md §3 checked cell by cell.

use super::*;

fn event_name(e: Event) -> String {
    match e {
        Event::Timeout => "timeout".into(),
        Event::Child => "child".into(),
        Event::Ready => "ready".into(),
        Event::SigTerm => "SIGTERM".into(),
        Event::SigHup => "SIGHUP".into(),
        Event::SigQuit => "SIGQUIT".into(),
        Event::SigInt => "SIGINT".into(),
        Event::Cmd(c) => format!("`{}`", c.letter() as char),
    }
}

fn cell(tr: Transition) -> String {
    let next = match tr.next {
        Next::Same => String::new(),
        Next::To(s) => format!(" → {}", s.name()),
        Next::Outcome { ok, failed } => format!(" → {} / {}", ok.name(), failed.name()),
    };
    let action = match tr.action {
        Send(s) => format!("send {}", s.name()),
        a => a.name().to_string(),
    };
    if tr.action == Nop && next.is_empty() {
        "·".into()
    } else {
        format!("{action}{next}")
    }
}

/// The table as Markdown, one line per event (the form in doc/rs6-supervise.md).
fn render() -> String {
    let live = &State::ALL[..State::COUNT - 1];
    let mut out = String::from("| event |");
    for s in live {
        out += &format!(" {} |", s.name());
    }
    out += "\n|---|";
    for _ in live {
        out += "---|";
    }
    out += "\n";
    for e in Event::all() {
        out += &format!("| {} |", event_name(e));
        for &s in live {
            out += &format!(" {} |", cell(transition(s, e)));
        }
        out += "\n";
    }
    out
}

#[test]
fn golden_table_matches_the_doc() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../doc/rs6-supervise.md"
    ))
    .expect("doc/rs6-supervise.md");
    let begin = "<!-- dfa-table begin -->\n";
    let end = "<!-- dfa-table end -->";
    let start = doc.find(begin).expect("table begin marker") + begin.len();
    let stop = doc.find(end).expect("table end marker");
    let documented = &doc[start..stop];
    let rendered = render();
    if documented != rendered {
        panic!("doc/rs6-supervise.md's table differs from TABLE; the table is:\n{rendered}");
    }
}

#[track_caller]
fn check(state: State, event: Event, expect: &str) {
    assert_eq!(
        cell(transition(state, event)),
        expect,
        "{} × {}",
        state.name(),
        event_name(event)
    );
}

fn cmd(b: u8) -> Event {
    Event::Cmd(Command::from_byte(b).unwrap())
}

const LIVE: [State; 5] = [Down, Up, Finish, LastUp, LastFinish];

#[test]
fn columns_are_numbered_by_the_enums() {
    let idx: Vec<usize> = Event::all().map(Event::index).collect();
    assert_eq!(idx, (0..Event::COUNT).collect::<Vec<_>>());
    for (i, s) in State::ALL.iter().enumerate() {
        assert_eq!(*s as usize, i);
    }
}

/// §3.1: signal-sending commands act only while `run` runs, never on finish.
#[test]
fn signal_commands_only_while_up() {
    let sends = [
        (b'a', "send ALRM"),
        (b'b', "send ABRT"),
        (b'q', "send QUIT"),
        (b'h', "send HUP"),
        (b'k', "send KILL"),
        (b't', "send TERM"),
        (b'i', "send INT"),
        (b'1', "send USR1"),
        (b'2', "send USR2"),
        (b'p', "pause"),
        (b'c', "resume"),
        (b'y', "send WINCH"),
        (b'r', "send down-signal"),
    ];
    for (b, action) in sends {
        check(Up, cmd(b), action);
        check(LastUp, cmd(b), action);
        check(Down, cmd(b), "·");
        check(Finish, cmd(b), "·");
        check(LastFinish, cmd(b), "·");
    }
}

/// §3.2: the state commands, column by column.
#[test]
fn state_commands() {
    let rows: [(u8, [&str; 5]); 8] = [
        (
            b'u',
            [
                "start-up → up / down",
                "want-up",
                "want-up",
                "want-up",
                "want-up",
            ],
        ),
        (
            b'U',
            [
                "start-up-permanent → up / down",
                "want-up-permanent",
                "want-up-permanent",
                "want-up-permanent",
                "want-up-permanent",
            ],
        ),
        (
            b'd',
            ["want-down", "stop", "want-down", "stop", "want-down"],
        ),
        (
            b'D',
            [
                "want-down-permanent",
                "stop-permanent",
                "want-down-permanent",
                "stop-permanent",
                "want-down-permanent",
            ],
        ),
        (
            b'o',
            [
                "start-once → up / down",
                "want-down",
                "want-down",
                "want-down",
                "want-down",
            ],
        ),
        (
            b'O',
            [
                "want-down",
                "want-down",
                "want-down",
                "want-down",
                "want-down",
            ],
        ),
        (
            b'Q',
            [
                "want-down-permanent",
                "want-down-permanent",
                "want-down-permanent",
                "want-down-permanent",
                "want-down-permanent",
            ],
        ),
        (
            b'x',
            [
                "- → exit",
                "close-stdio → lastup",
                "close-stdio → lastfinish",
                "close-stdio",
                "close-stdio",
            ],
        ),
    ];
    for (b, expect) in rows {
        for (s, e) in LIVE.iter().zip(expect) {
            check(*s, cmd(b), e);
        }
    }
}

/// §3.3: signals received by the supervisor.
#[test]
fn supervisor_signals() {
    let rows: [(Event, [&str; 5]); 4] = [
        (
            Event::SigTerm,
            [
                "- → exit",
                "stop → lastup",
                "close-stdio → lastfinish",
                "stop",
                "·",
            ],
        ),
        (
            Event::SigHup,
            [
                "- → exit",
                "close-stdio → lastup",
                "close-stdio → lastfinish",
                "close-stdio",
                "close-stdio",
            ],
        ),
        (Event::SigQuit, ["- → exit"; 5]),
        (
            Event::SigInt,
            [
                "- → exit",
                "interrupt → exit",
                "interrupt → exit",
                "interrupt → exit",
                "interrupt → exit",
            ],
        ),
    ];
    for (ev, expect) in rows {
        for (s, e) in LIVE.iter().zip(expect) {
            check(*s, ev, e);
        }
    }
}

/// §6 and §3.4: deaths, finish, timers, readiness.
#[test]
fn deaths_timers_readiness() {
    let rows: [(Event, [&str; 5]); 3] = [
        (
            Event::Child,
            [
                "·",
                "died → finish / down",
                "finish-done → down",
                "died → lastfinish / exit",
                "finish-done → exit",
            ],
        ),
        (
            Event::Timeout,
            [
                "start → up / down",
                "up-timeout",
                "finish-timeout",
                "up-timeout",
                "finish-timeout",
            ],
        ),
        (
            Event::Ready,
            ["·", "read-readiness", "·", "read-readiness", "·"],
        ),
    ];
    for (ev, expect) in rows {
        for (s, e) in LIVE.iter().zip(expect) {
            check(*s, ev, e);
        }
    }
}

#[test]
fn exit_is_terminal() {
    for e in Event::all() {
        check(Exit, e, "·");
    }
}

/// Runs `event` on a machine put in `from` by a path of events.
fn after(path: &[Event]) -> Machine {
    let mut m = Machine::new();
    for &e in path {
        m.step(e, |_| true);
    }
    m
}

#[test]
fn step_assigns_the_next_state() {
    let mut m = Machine::new();
    assert_eq!(m.state(), Down);
    let tr = m.step(Event::Timeout, |a| {
        assert_eq!(a, Start);
        true
    });
    assert_eq!(tr.action, Start);
    assert_eq!(m.state(), Up);

    let mut m = Machine::new();
    m.step(Event::Timeout, |_| false);
    assert_eq!(m.state(), Down, "a failed spawn stays down");

    let mut m = after(&[Event::Timeout]);
    m.step(Event::Child, |_| false);
    assert_eq!(m.state(), Down, "no finish: down at once");

    let mut m = after(&[Event::Timeout, cmd(b'x')]);
    assert_eq!(m.state(), LastUp);
    m.step(Event::Child, |_| false);
    assert_eq!(m.state(), Exit);

    let mut m = after(&[Event::Timeout]);
    m.step(cmd(b'k'), |a| {
        assert_eq!(a, Send(Sig::Kill));
        true
    });
    assert_eq!(m.state(), Up);

    let mut m = after(&[Event::Timeout, Event::Child]);
    assert_eq!(m.state(), Finish);
    m.step(Event::Child, |_| false);
    assert_eq!(m.state(), Down, "To ignores the outcome");

    let m = after(&[Event::Timeout, Event::SigTerm, Event::Child, Event::Child]);
    assert_eq!(m.state(), Exit, "SIGTERM: down, finish, exit");
}
