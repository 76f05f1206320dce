//! The one sanitiser for text from outside notify (server replies, job
//! output, task names, certificate fields) before it reaches a terminal, a
//! log line or a header: [`one_line`] for a single line, [`printable`]
//! where every character must stay visible.

/// Whether `c` could move a terminal's cursor, break a line, or reorder
/// what is shown: control characters (C0, DEL, C1), the Unicode line and
/// paragraph separators, and the bidirectional marks and overrides.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` on one line: every run of white space and unsafe characters
/// becomes one space, the ends are trimmed, and with `max_chars` the result
/// is cut to that many characters (the last one `…`).
///
/// ```
/// use notify_core::text::one_line;
/// assert_eq!(one_line("451 4.3.0\r\n  try\x1b[2J later ", None), "451 4.3.0 try [2J later");
/// assert_eq!(one_line("abcdef", Some(4)), "abc…");
/// ```
pub fn one_line(text: &str, max_chars: Option<usize>) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| c.is_whitespace() || is_unsafe(c))
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    cap(out, max_chars)
}

/// `text` with every unsafe character written as an escape (`\n`, `\t`,
/// `\u{1b}`), so that it shows what is there without acting on the
/// terminal; with `max_chars` cut to that many characters of the result
/// (the last one `…`).
///
/// ```
/// use notify_core::text::printable;
/// assert_eq!(printable("a\nb\x1b[2Jc", None), "a\\nb\\u{1b}[2Jc");
/// ```
pub fn printable(text: &str, max_chars: Option<usize>) -> String {
    if !text.chars().any(is_unsafe) {
        return cap(text.to_owned(), max_chars);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else if is_unsafe(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    cap(out, max_chars)
}

/// Every unsafe character replaced by a space, nothing else changed: for a
/// header value, whose spacing is the sender's.
///
/// ```
/// use notify_core::text::spaced;
/// assert_eq!(spaced("Backup\r\nBcc: x"), "Backup  Bcc: x");
/// ```
pub fn spaced(text: &str) -> String {
    text.chars()
        .map(|c| if is_unsafe(c) { ' ' } else { c })
        .collect()
}

fn cap(mut text: String, max_chars: Option<usize>) -> String {
    if let Some(max) = max_chars {
        if let Some((at, _)) = text.char_indices().nth(max) {
            // Keep max - 1 characters and the ellipsis.
            let keep = text[..at].char_indices().last().map_or(0, |(last, _)| last);
            text.truncate(keep);
            text.push('…');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_folds_and_caps() {
        assert_eq!(one_line("  a \t b\n\nc  ", None), "a b c");
        assert_eq!(one_line("a\u{2028}b\u{202e}c", None), "a b c");
        assert_eq!(one_line("", None), "");
        assert_eq!(one_line("abc", Some(3)), "abc");
        assert_eq!(one_line("abcd", Some(3)), "ab…");
        assert_eq!(one_line("äöüß", Some(2)), "ä…");
        assert_eq!(one_line("x", Some(0)), "…");
    }

    #[test]
    fn printable_escapes_what_acts_on_a_terminal() {
        assert_eq!(printable("plain text", None), "plain text");
        assert_eq!(printable("tab\there", None), "tab\\there");
        assert_eq!(printable("\u{9b}31m", None), "\\u{9b}31m");
        assert_eq!(printable("evil\u{202e}txt", None), "evil\\u{202e}txt");
        assert_eq!(printable("abcdef", Some(3)), "ab…");
    }

    #[test]
    fn spaced_keeps_the_spacing() {
        assert_eq!(spaced("a\u{0}b\u{7f}c\u{85}d"), "a b c d");
        assert_eq!(spaced("ok  as is"), "ok  as is");
    }
}
