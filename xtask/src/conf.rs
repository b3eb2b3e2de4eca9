//! The `key = value` format shared by `images/*/image.conf`, `qemu/*.conf` and
//! `tests/scenarios/*/scenario.conf`: one setting per line, `#` starts a comment line,
//! blank lines are ignored, whitespace around key and value is trimmed. A key may repeat
//! (`get` returns the last value, `all` every value in order). Each reader passes the keys
//! it knows, so a typo is an error instead of a silently ignored setting.

use std::path::Path;

use crate::util::{Context, Result, err};

/// A parsed conf file: `(key, value)` pairs in file order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Conf {
    pairs: Vec<(String, String)>,
}

impl Conf {
    /// Parses `text`; `origin` names the file in error messages; `known` are the allowed keys.
    pub(crate) fn parse(text: &str, origin: &str, known: &[&str]) -> Result<Conf> {
        let mut pairs = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(err(format!(
                    "{origin}:{}: expected `key = value`, got `{line}`",
                    i + 1
                )));
            };
            let k = k.trim();
            if !known.contains(&k) {
                return Err(err(format!(
                    "{origin}:{}: unknown key `{k}` (known: {})",
                    i + 1,
                    known.join(", ")
                )));
            }
            pairs.push((k.to_string(), v.trim().to_string()));
        }
        Ok(Conf { pairs })
    }

    /// Reads and parses `path`; a missing file is an empty conf when `optional`.
    pub(crate) fn load(path: &Path, known: &[&str], optional: bool) -> Result<Conf> {
        if optional && !path.exists() {
            return Ok(Conf::default());
        }
        let text = std::fs::read_to_string(path).ctx(|| format!("reading {}", path.display()))?;
        Conf::parse(&text, &path.display().to_string(), known)
    }

    /// The last value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in file order.
    pub(crate) fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `key` parsed as a number, or `default` when absent.
    pub(crate) fn number(&self, key: &str, default: u64) -> Result<u64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| err(format!("`{key} = {v}`: not a number"))),
        }
    }

    /// `key` split on whitespace (empty when absent).
    pub(crate) fn words(&self, key: &str) -> Vec<String> {
        self.all(key)
            .flat_map(str::split_whitespace)
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] = &["modules", "script", "memory", "cmdline"];

    #[test]
    fn parses_comments_blanks_and_spaces() {
        let c = Conf::parse(
            "# image\n\nmodules = virtio_blk  ext4\nscript=/etc/rs6/x.sh\n  memory = 128  \ncmdline = a=b c\n",
            "t",
            KEYS,
        )
        .unwrap();
        assert_eq!(c.words("modules"), ["virtio_blk", "ext4"]);
        assert_eq!(c.get("script"), Some("/etc/rs6/x.sh"));
        assert_eq!(c.number("memory", 256).unwrap(), 128);
        assert_eq!(c.get("cmdline"), Some("a=b c"));
        assert_eq!(c.get("nope"), None);
        assert_eq!(c.number("nope", 7).unwrap(), 7);
    }

    #[test]
    fn repeated_keys() {
        let c = Conf::parse("modules = a\nmodules = b c\n", "t", KEYS).unwrap();
        assert_eq!(c.get("modules"), Some("b c"));
        assert_eq!(c.words("modules"), ["a", "b", "c"]);
    }

    #[test]
    fn rejects_unknown_keys_and_garbage() {
        let e = Conf::parse("modlues = x\n", "f.conf", KEYS).unwrap_err();
        assert!(
            e.to_string().contains("f.conf:1: unknown key `modlues`"),
            "{e}"
        );
        let e = Conf::parse("\njust words\n", "f.conf", KEYS).unwrap_err();
        assert!(e.to_string().contains("f.conf:2: expected"), "{e}");
        let e = Conf::parse("memory = lots\n", "f", KEYS)
            .unwrap()
            .number("memory", 1)
            .unwrap_err();
        assert!(e.to_string().contains("not a number"), "{e}");
    }
}
