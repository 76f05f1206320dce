//! What a notification shows, derived from a [`Notification`] without any
//! I/O: icon, urgency, category, summary and a capped body. Every platform
//! backend starts from [`Content`]. Its texts never contain NUL: D-Bus
//! strings are C strings, and so are process arguments (osascript).

use notify_core::{Notification, Outcome};

/// The most characters of the body a notification shows; longer bodies are
/// cut to `MAX_BODY_CHARS - 1` characters plus [`ELLIPSIS`].
pub(crate) const MAX_BODY_CHARS: usize = 2000;

/// Marks a body that was cut.
pub(crate) const ELLIPSIS: char = '…';

/// Stands in for a NUL character in summary and body.
pub(crate) const NUL_REPLACEMENT: char = char::REPLACEMENT_CHARACTER;

/// The freedesktop `urgency` hint values (a byte, per the spec).
pub(crate) const URGENCY_NORMAL: u8 = 1;
/// See [`URGENCY_NORMAL`].
pub(crate) const URGENCY_CRITICAL: u8 = 2;

/// A notification as a desktop shows it. (Icon, urgency and category are
/// for the freedesktop server only.)
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) struct Content {
    /// A freedesktop icon name.
    pub(crate) icon: &'static str,
    /// The subject, as is (summaries carry no markup) but for NUL
    /// characters, replaced (see [`replace_nul`]).
    pub(crate) summary: String,
    /// The text, NUL characters replaced, trailing whitespace removed and
    /// capped at [`MAX_BODY_CHARS`]; not escaped (see [`escape_markup`]).
    pub(crate) body: String,
    /// [`URGENCY_CRITICAL`] for a failure, else [`URGENCY_NORMAL`].
    pub(crate) urgency: u8,
    /// The freedesktop `category` hint, when one fits.
    pub(crate) category: Option<&'static str>,
}

impl Content {
    pub(crate) fn new(notification: &Notification) -> Self {
        let outcome = notification.outcome;
        Content {
            icon: icon(outcome),
            summary: replace_nul(&notification.subject),
            body: truncate(&replace_nul(notification.text.trim_end()), MAX_BODY_CHARS),
            urgency: urgency(outcome),
            category: category(outcome),
        }
    }
}

/// The icon: an error for a failure, a warning for a warning or a
/// cancelled run, information otherwise.
pub(crate) fn icon(outcome: Option<Outcome>) -> &'static str {
    match outcome {
        Some(Outcome::Failure) => "dialog-error",
        Some(Outcome::Warning | Outcome::Cancelled) => "dialog-warning",
        Some(Outcome::Success) | None => "dialog-information",
    }
}

/// Critical for a failure (it stays on screen until dismissed), normal
/// otherwise.
pub(crate) fn urgency(outcome: Option<Outcome>) -> u8 {
    match outcome {
        Some(Outcome::Failure) => URGENCY_CRITICAL,
        _ => URGENCY_NORMAL,
    }
}

/// `transfer.error` for a failure, `transfer.complete` for a success; the
/// spec has nothing that fits a warning or a cancelled run.
pub(crate) fn category(outcome: Option<Outcome>) -> Option<&'static str> {
    match outcome {
        Some(Outcome::Failure) => Some("transfer.error"),
        Some(Outcome::Success) => Some("transfer.complete"),
        _ => None,
    }
}

/// `text` if it has at most `max` characters, else its first `max - 1`
/// characters and [`ELLIPSIS`]. Cuts only on a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) => {
            let keep = max.saturating_sub(1);
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            let mut out = String::with_capacity(end + ELLIPSIS.len_utf8());
            out.push_str(&text[..end]);
            out.push(ELLIPSIS);
            out
        }
    }
}

/// `text` with every NUL character replaced by [`NUL_REPLACEMENT`], which
/// keeps the length in characters (and so the body cap) the same.
pub(crate) fn replace_nul(text: &str) -> String {
    text.replace('\0', NUL_REPLACEMENT.encode_utf8(&mut [0; 4]))
}

/// Escapes `&`, `<` and `>` for a server that reads the body as markup
/// (capability `body-markup`).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(outcome: Option<Outcome>) -> Notification {
        {
            let mut built = Notification::default();
            built.subject = "backup: failed".into();
            built.text = "exit code 2\n\n".into();
            built.outcome = outcome;
            built
        }
    }

    #[test]
    fn mapping_per_outcome() {
        // (outcome, icon, urgency, category)
        let cases = [
            (
                Some(Outcome::Failure),
                "dialog-error",
                2,
                Some("transfer.error"),
            ),
            (
                Some(Outcome::Success),
                "dialog-information",
                1,
                Some("transfer.complete"),
            ),
            (Some(Outcome::Warning), "dialog-warning", 1, None),
            (Some(Outcome::Cancelled), "dialog-warning", 1, None),
            (None, "dialog-information", 1, None),
        ];
        for (outcome, icon, urgency, category) in cases {
            let content = Content::new(&notification(outcome));
            assert_eq!(content.icon, icon, "{outcome:?}");
            assert_eq!(content.urgency, urgency, "{outcome:?}");
            assert_eq!(content.category, category, "{outcome:?}");
        }
        // Every outcome is covered above.
        assert_eq!(Outcome::ALL.len(), 4);
    }

    #[test]
    fn content_keeps_summary_and_trims_body() {
        let content = Content::new(&notification(Some(Outcome::Failure)));
        assert_eq!(content.summary, "backup: failed");
        assert_eq!(content.body, "exit code 2");
    }

    #[test]
    fn truncation() {
        let check = |text: &str, max: usize, expect: &str| {
            assert_eq!(truncate(text, max), expect, "truncate({text:?}, {max})");
        };
        check("", 5, "");
        check("abcde", 5, "abcde");
        check("abcdef", 5, "abcd…");
        // Characters, not bytes: never cuts inside one.
        check("äöüßé", 5, "äöüßé");
        check("äöüßéx", 5, "äöüß…");
        check("日本語のテキスト", 4, "日本語…");
        check("🙂🙂🙂", 2, "🙂…");
        check("abc", 0, "…");

        let long = "x".repeat(MAX_BODY_CHARS + 10);
        let body = Content::new(&{
            let mut built = Notification::default();
            built.text = long;
            built
        })
        .body;
        assert_eq!(body.chars().count(), MAX_BODY_CHARS);
        assert!(body.ends_with(ELLIPSIS));
        let exact = "y".repeat(MAX_BODY_CHARS);
        assert_eq!(truncate(&exact, MAX_BODY_CHARS), exact);
    }

    #[test]
    fn markup_escaping() {
        let check = |text: &str, expect: &str| assert_eq!(escape_markup(text), expect);
        check("plain", "plain");
        check("<b>&</b>", "&lt;b&gt;&amp;&lt;/b&gt;");
        check("a && b > c", "a &amp;&amp; b &gt; c");
        check("&amp;", "&amp;amp;");
        check("\"quotes' stay", "\"quotes' stay");
    }

    #[test]
    fn nul_is_replaced() {
        assert_eq!(replace_nul("a\0b\0"), "a\u{fffd}b\u{fffd}");
        assert_eq!(replace_nul("no nul"), "no nul");
        let content = Content::new(&{
            let mut built = Notification::default();
            built.subject = "job\0name".into();
            built.text = "line\0one\n\0\n".into();
            built
        });
        assert_eq!(content.summary, "job\u{fffd}name");
        // NUL is not whitespace: a trailing one stays (replaced).
        assert_eq!(content.body, "line\u{fffd}one\n\u{fffd}");
        assert!(!content.summary.contains('\0') && !content.body.contains('\0'));

        // The cap counts a replaced NUL as the one character it was.
        let long = "\0".repeat(MAX_BODY_CHARS + 1);
        let body = Content::new(&{
            let mut built = Notification::default();
            built.text = long;
            built
        })
        .body;
        assert_eq!(body.chars().count(), MAX_BODY_CHARS);
        assert!(!body.contains('\0'));
        assert!(body.starts_with(NUL_REPLACEMENT) && body.ends_with(ELLIPSIS));
    }
}
