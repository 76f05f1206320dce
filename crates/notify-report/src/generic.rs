//! The generic reader, for any command: lines that start with `error`,
//! `fatal` or `warning` (any case, also after a `program:` prefix).

use crate::{Findings, Reader, Stream};

/// What a line says of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Severity {
    Error,
    Warning,
}

/// The severity a line announces: `error: ...`, `ERROR ...`, `Fatal: ...`,
/// `warning: ...`, `WARN ...`, also behind one `program:` word
/// (`pg_dump: error: ...`) or a `[...]` tag.
pub(crate) fn severity(line: &str) -> Option<Severity> {
    let line = line.trim_start();
    if let Some(s) = announced(line) {
        return Some(s);
    }
    // `[2026-11-21 02:00:00] ERROR ...`, `[ERROR] ...`
    if let Some(rest) = line.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let tag = &rest[..end];
            if let Some(s) = announced(tag) {
                return Some(s);
            }
            return announced(rest[end + 1..].trim_start());
        }
    }
    // `pg_dump: error: ...`: the program word is short and has no blank, so
    // only the first few bytes are searched, however long the line.
    let head = &line.as_bytes()[..line.len().min(42)];
    let colon = head
        .iter()
        .position(|&b| b == b':' || b.is_ascii_whitespace())?;
    if colon == 0 || head[colon] != b':' || line.as_bytes().get(colon + 1) != Some(&b' ') {
        return None;
    }
    announced(line[colon + 2..].trim_start())
}

fn announced(text: &str) -> Option<Severity> {
    // Every word starts with c, e, f or w: most lines end here.
    if !matches!(
        text.as_bytes().first().map(u8::to_ascii_lowercase),
        Some(b'c' | b'e' | b'f' | b'w')
    ) {
        return None;
    }
    const WORDS: [(&str, Severity); 5] = [
        ("error", Severity::Error),
        ("fatal", Severity::Error),
        ("critical", Severity::Error),
        ("warning", Severity::Warning),
        ("warn", Severity::Warning),
    ];
    for (word, severity) in WORDS {
        let Some(head) = text.get(..word.len()) else {
            continue;
        };
        if head.eq_ignore_ascii_case(word) {
            // A whole word: `error:`, `ERROR `, `Error[E0308]`, not `errors`.
            let next = text[word.len()..].chars().next();
            if next.is_none_or(|c| !c.is_alphanumeric()) {
                return Some(severity);
            }
        }
    }
    None
}

/// Records `line` by its severity; whether it had one.
pub(crate) fn classify(line: &str, found: &mut Findings) -> bool {
    match severity(line) {
        Some(Severity::Error) => found.error(line),
        Some(Severity::Warning) => found.warning(line),
        None => return false,
    }
    true
}

/// The reader for commands notify has no reader of its own for.
pub(crate) struct Generic;

impl Reader for Generic {
    fn line(&mut self, _stream: Stream, line: &str, found: &mut Findings) {
        classify(line, found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities() {
        use Severity::*;
        let cases: &[(&str, Option<Severity>)] = &[
            ("error: disk full", Some(Error)),
            ("ERROR 1045 (28000): Access denied", Some(Error)),
            ("Fatal: unable to open config file", Some(Error)),
            ("fatal error", Some(Error)),
            ("  Error[E42] indented", Some(Error)),
            ("CRITICAL: x", Some(Error)),
            ("warning: file changed as we read it", Some(Warning)),
            ("WARN slow", Some(Warning)),
            ("pg_dump: error: connection to server failed", Some(Error)),
            ("tar: warning: x", Some(Warning)),
            ("[2026-11-21 02:00:00] ERROR boom", Some(Error)),
            ("[ERROR] boom", Some(Error)),
            ("[warning] hmm", Some(Warning)),
            ("Errors: 0", None),
            ("errorless", None),
            ("warnings=0", None),
            ("no error here", None),
            ("copying /home/error.log", None),
            ("a b: error: not a program word", None),
            ("", None),
            ("é", None),
        ];
        for &(line, want) in cases {
            assert_eq!(severity(line), want, "{line:?}");
        }
    }
}
