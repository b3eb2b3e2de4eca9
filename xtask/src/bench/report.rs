//! Markdown for the results: numbers with a few significant digits and thousands separators,
//! `median (min–max)` cells, rs6/s6 ratios, and padded tables that read well in a terminal too.

use std::collections::BTreeMap;

use super::stats::Summary;
use super::suite::{ALL, Kind};

/// How a figure's numbers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fmt {
    /// Rounded to an integer: `12,345`.
    Int,
    /// Three significant digits: `0.412`, `41.2`, `4,120`.
    Sig,
}

/// What `none` looks like in a cell.
pub(crate) const NONE: &str = "–";

/// X rounded to an integer, with thousands separators.
pub(crate) fn int(x: f64) -> String {
    let r = x.round();
    let digits = format!("{}", r.abs() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if r < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// X with SIG significant digits (integers from 10^(SIG-1) up, with separators).
pub(crate) fn num(x: f64, sig: i32) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return NONE.into();
    }
    let mag = x.abs().log10().floor() as i32; // 0 for 1..9.99, -2 for 0.01..
    if mag >= sig - 1 {
        return int(x);
    }
    let decimals = (sig - 1 - mag).clamp(0, 6) as usize;
    format!("{x:.decimals$}")
}

/// One value in format F.
pub(crate) fn value(x: f64, f: Fmt) -> String {
    match f {
        Fmt::Int => int(x),
        Fmt::Sig => num(x, 3),
    }
}

/// `median (min–max)`, or just the value when there was one sample or all were equal.
pub(crate) fn cell(s: Option<Summary>, f: Fmt) -> String {
    match s {
        None => NONE.into(),
        Some(s) if s.n == 1 || value(s.min, f) == value(s.max, f) => value(s.median, f),
        Some(s) => format!(
            "{} ({}–{})",
            value(s.median, f),
            value(s.min, f),
            value(s.max, f)
        ),
    }
}

/// A / B as `0.42`; `–` when either is missing or B is 0.
pub(crate) fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 && a.is_finite() && b.is_finite() => {
            let r = a / b;
            if r >= 0.1 {
                format!("{r:.2}")
            } else {
                num(r, 2)
            }
        }
        _ => NONE.into(),
    }
}

/// A markdown table; every column after the first is right-aligned, and cells are padded so
/// that the columns line up in plain text.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cols = headers.len();
    let width = |s: &str| s.chars().count();
    let mut w: Vec<usize> = headers.iter().map(|h| width(h).max(3)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(cols) {
            w[i] = w[i].max(width(c));
        }
    }
    let pad = |s: &str, i: usize| {
        let fill = " ".repeat(w[i] - width(s));
        if i == 0 {
            format!("{s}{fill}")
        } else {
            format!("{fill}{s}")
        }
    };
    let line = |cells: Vec<String>| format!("| {} |", cells.join(" | "));
    let mut out = vec![line(
        headers.iter().enumerate().map(|(i, h)| pad(h, i)).collect(),
    )];
    out.push(format!(
        "|{}|",
        (0..cols)
            .map(|i| if i == 0 {
                format!(":{}", "-".repeat(w[i] + 1))
            } else {
                format!("{}:", "-".repeat(w[i] + 1))
            })
            .collect::<Vec<_>>()
            .join("|")
    ));
    for r in rows {
        out.push(line(
            (0..cols)
                .map(|i| pad(r.get(i).map_or("", String::as_str), i))
                .collect(),
        ));
    }
    out.join("\n")
}

/// One figure: a cell per suite (its text, and the median the ratio is taken from).
pub(crate) struct Row {
    pub(crate) label: String,
    pub(crate) cells: BTreeMap<Kind, (String, Option<f64>)>,
}

impl Row {
    /// A figure measured repeatedly: `median (min–max)` per suite.
    pub(crate) fn stats(
        label: impl Into<String>,
        f: Fmt,
        mut get: impl FnMut(Kind) -> Option<Summary>,
    ) -> Row {
        let cells = ALL
            .iter()
            .map(|&k| {
                let s = get(k);
                (k, (cell(s, f), s.map(|s| s.median)))
            })
            .collect();
        Row {
            label: label.into(),
            cells,
        }
    }

    /// A figure in words (no ratio).
    pub(crate) fn text(label: impl Into<String>, mut get: impl FnMut(Kind) -> String) -> Row {
        let cells = ALL.iter().map(|&k| (k, (get(k), None))).collect();
        Row {
            label: label.into(),
            cells,
        }
    }
}

/// The figures of one step, and how they were measured.
pub(crate) struct Section {
    pub(crate) title: String,
    pub(crate) rows: Vec<Row>,
    pub(crate) notes: Vec<String>,
}

/// The results table: one row per figure, a bold row per section; columns rs6, s6, the
/// ratio rs6/s6 of the medians, runit, daemontools.
pub(crate) fn results_table(sections: &[Section]) -> String {
    let mut rows = Vec::new();
    for s in sections {
        rows.push(vec![format!("**{}**", s.title)]);
        for r in &s.rows {
            let get = |k: Kind| r.cells.get(&k).cloned().unwrap_or((NONE.into(), None));
            let (rs6, a) = get(Kind::Rs6);
            let (s6, b) = get(Kind::S6);
            rows.push(vec![
                r.label.clone(),
                rs6,
                s6,
                ratio(a, b),
                get(Kind::Runit).0,
                get(Kind::Daemontools).0,
            ]);
        }
    }
    table(
        &["figure", "rs6", "s6", "rs6/s6", "runit", "daemontools"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(int(1234567.4), "1,234,567");
        assert_eq!(int(999.0), "999");
        assert_eq!(int(-1000.0), "-1,000");
        assert_eq!(num(0.0, 3), "0");
        assert_eq!(num(0.041234, 3), "0.0412");
        assert_eq!(num(4.1234, 3), "4.12");
        assert_eq!(num(41.234, 3), "41.2");
        assert_eq!(num(412.34, 3), "412");
        assert_eq!(num(41234.0, 3), "41,234");
        assert_eq!(num(f64::INFINITY, 3), NONE);
    }

    #[test]
    fn cells_and_ratios() {
        let s = Summary::of(&[1.0, 2.0, 30.0]).unwrap();
        assert_eq!(cell(Some(s), Fmt::Sig), "2.00 (1.00–30.0)");
        assert_eq!(cell(Some(s), Fmt::Int), "2 (1–30)");
        assert_eq!(cell(Some(Summary::one(1500.0)), Fmt::Int), "1,500");
        assert_eq!(cell(None, Fmt::Int), NONE);
        assert_eq!(ratio(Some(1.0), Some(4.0)), "0.25");
        assert_eq!(ratio(Some(1.0), Some(400.0)), "0.0025");
        assert_eq!(ratio(Some(1.0), Some(0.0)), NONE);
        assert_eq!(ratio(None, Some(1.0)), NONE);
    }

    #[test]
    fn tables_are_padded_markdown() {
        let t = table(
            &["figure", "rs6", "s6"],
            &[
                vec!["size".into(), "1,234".into(), "56".into()],
                vec!["**Idle**".into()],
            ],
        );
        let want = "\
| figure   |   rs6 |  s6 |
|:---------|------:|----:|
| size     | 1,234 |  56 |
| **Idle** |       |     |";
        assert_eq!(t, want);
    }

    #[test]
    fn results_table_has_ratio_of_medians() {
        let rows = vec![
            Row::stats("size, bytes", Fmt::Int, |k| match k {
                Kind::Rs6 => Some(Summary::one(25.0)),
                Kind::S6 => Some(Summary::one(100.0)),
                _ => None,
            }),
            Row::text("libraries", |k| k.name().to_string()),
        ];
        let t = results_table(&[Section {
            title: "Sizes".into(),
            rows,
            notes: vec![],
        }]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[0].starts_with("| figure "));
        assert!(lines[2].starts_with("| **Sizes**"));
        let cells: Vec<&str> = lines[3].split('|').map(str::trim).collect();
        assert_eq!(
            cells[1..7],
            ["size, bytes", "25", "100", "0.25", NONE, NONE]
        );
        let cells: Vec<&str> = lines[4].split('|').map(str::trim).collect();
        assert_eq!(cells[2..7], ["rs6", "s6", NONE, "runit", "daemontools"]);
    }
}
