//! The `##Value Name##` template engine of notify: it turns a
//! [`notify_core::TaskResult`] into the subject and body of the notification
//! mail.
//!
//! - [`Template`] compiles a template once into literal text and value
//!   references; [`Template::render`] appends to a caller's `String`.
//! - [`catalogue`] lists the values (`Task Name`, `Exit Status`, ...) with
//!   their names, descriptions and [`sample_result`] samples; [`ValueId`]
//!   names one.
//! - [`Locale`] (`en`, `de`) holds every word and format as data: status
//!   sentences, value names, dates, durations, sizes, the default subject and
//!   body. Value names of every locale work in every template.
//! - [`render_notification`] renders a whole mail and never fails: a broken
//!   user template falls back to the locale's default, with a notice in the
//!   mail and a warning for stderr.
//!
//! Syntax beyond `##Value Name##`: `##?Name##` is the value, or when it is
//! absent its whole line is left out (so the default body has no `n/a`
//! rows); `##if Name## ... ##end##` renders what is between only when the
//! value is there (a marker alone on its line takes its line with it). A
//! value is there when it is a text that is not blank, a time, a count above
//! zero or at least one line. `##end##` and `##if` are words of the syntax,
//! not value names.
//!
//! Formats, per locale (all data in [`Locale`], so a locale is added as data):
//!
//! | | `en` | `de` |
//! |---|---|---|
//! | times (in [`Context::offset`]) | `2026-11-21 02:00:05 +01:00` | `21.11.2026 02:00:05 +01:00` |
//! | durations | `45 s`, `1 h 02 min 05 s`, `2 d 03 h 00 min 05 s` | `45 Sek.`, `1 Std. 02 Min. 05 Sek.`, `2 Tg. ...` |
//! | sizes (decimal: 1 kB = 1000 bytes) | `1 byte`, `999 bytes`, `1.5 GB` | `1 Byte`, `999 Bytes`, `1,5 GB` |
//! | counts | `12,345` | `12.345` |
//! | absent value / no error lines | `n/a` / `none` | `k. A.` / `keine` |
//! | signal | `signal 9 (SIGKILL)` | `Signal 9 (SIGKILL)` |
//!
//! A key design decision made in this crate is that compiling is strict and
//! rendering cannot fail: an unknown or unclosed name is an error with line,
//! column and "did you mean", because a typo should surface in
//! `notify template check` (or as a warning beside a default-template mail),
//! not as a silently blank line in a 3 a.m. failure mail; and once compiled,
//! every value renders (absent ones as the locale's "n/a"), so a notification
//! is never lost to a template. A newcomer might also expect `##Name##` to be
//! looked up at render time: it is resolved once, at compile time, to a
//! [`ValueId`], and rendering only appends to a buffer.
#![deny(missing_docs)]

mod catalogue;
mod digest;
mod locale;
mod render;
mod template;

use notify_core::TaskResult;
use time::UtcOffset;

pub use catalogue::{catalogue, overdue_sample, sample_result, ValueId, ValueInfo};
pub use digest::{render_digest, Digest, DigestRow, DigestStatus};
pub use locale::{locale, locales, Locale};
pub use template::{escape, Template, TemplateError, TemplateErrorKind};

/// What a template renders for: the task result, the language, and the
/// offset in which to show times (the results carry UTC).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Context<'a> {
    /// The run to report.
    pub result: &'a TaskResult,
    /// The language of status sentences, formats and placeholders.
    pub locale: &'a Locale,
    /// The local offset to show start and end times in.
    pub offset: UtcOffset,
}

impl<'a> Context<'a> {
    /// A context showing times in `offset`.
    pub fn new(result: &'a TaskResult, locale: &'a Locale, offset: UtcOffset) -> Self {
        Context {
            result,
            locale,
            offset,
        }
    }
}

/// Where the rendered text goes, which decides how values are made safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// A header line: every control character and line break, in values and
    /// template text alike, becomes a space.
    Subject,
    /// A plain-text body: values as they are.
    Text,
    /// An HTML body: values HTML-escaped, template text as written.
    Html,
}

/// A user's template and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source<'a> {
    /// Where the template came from, for warnings: `body.txt`,
    /// `email.subject`.
    pub label: &'a str,
    /// The template text.
    pub text: &'a str,
}

/// The templates of a mail. `None` subject or body means the locale's
/// default; `None` html means no HTML part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sources<'a> {
    /// The subject template.
    pub subject: Option<Source<'a>>,
    /// The plain-text body template.
    pub body: Option<Source<'a>>,
    /// The HTML body template.
    pub html: Option<Source<'a>>,
}

/// A rendered mail, plus what went wrong on the way (for stderr).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rendered {
    /// The subject, free of line breaks and control characters.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, when an HTML template was given and compiled.
    pub html: Option<String>,
    /// One line per template that failed and was replaced, in English, for
    /// stderr: `body.txt: line 2, column 7: unknown value ...`.
    pub warnings: Vec<String>,
}

/// What a mail says about earlier runs, besides the run itself: how many
/// notifications were held back, and the run of failures it reminds of or
/// recovers from (from `notify_core::Decision`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct History {
    /// Earlier notifications held back since the last mail.
    pub suppressed: u32,
    /// The failures in a row this mail is about.
    pub streak: Option<notify_core::Streak>,
}

impl History {
    /// The history a decision reports: `suppressed` notifications held
    /// back, and the `streak` of failures.
    pub fn new(suppressed: u32, streak: Option<notify_core::Streak>) -> Self {
        History { suppressed, streak }
    }
}

/// Renders subject, text body and optional HTML body of a notification.
///
/// Templates are compiled with the keys of `ctx.result.extra` and `extras`
/// as extra names. A user template that fails to compile is replaced by the
/// locale's default (the HTML template by no HTML part); each failure adds a
/// warning and a localized notice at the top of the body. When `suppressed`
/// is above zero, a notice says how many earlier notifications were held
/// back. This function never fails and never panics.
pub fn render_notification(
    sources: &Sources<'_>,
    ctx: &Context<'_>,
    extras: &[&str],
    suppressed: u32,
) -> Rendered {
    let history = History {
        suppressed,
        streak: None,
    };
    render_notification_with(sources, ctx, extras, &history)
}

/// [`render_notification`] with the whole [`History`]: besides the
/// held-back count, a reminder says how many runs failed in a row and since
/// when, and a recovery says how long the task was failing.
pub fn render_notification_with(
    sources: &Sources<'_>,
    ctx: &Context<'_>,
    extras: &[&str],
    history: &History,
) -> Rendered {
    let suppressed = history.suppressed;
    let locale = ctx.locale;
    let mut names: Vec<&str> = ctx.result.extra.keys().map(String::as_str).collect();
    names.extend_from_slice(extras);

    let mut warnings = Vec::new();
    let mut notices = Vec::new();
    let mut compile = |source: Option<&Source<'_>>, default: &'static str, part: &str| {
        if let Some(source) = source {
            match Template::compile(source.text, &names) {
                Ok(template) => return template,
                Err(error) => {
                    warnings.push(format!(
                        "{}: {error}; the default {part} was used instead",
                        source.label
                    ));
                    notices.push(fill(locale.template_error_notice, source.label, &error));
                }
            }
        }
        Template::compile(default, &[]).unwrap_or_else(|_| Template::literal(default))
    };
    let subject = compile(sources.subject.as_ref(), locale.default_subject, "subject");
    let body = compile(sources.body.as_ref(), locale.default_body, "body");
    let html =
        sources
            .html
            .as_ref()
            .and_then(|source| match Template::compile(source.text, &names) {
                Ok(template) => Some(template),
                Err(error) => {
                    warnings.push(format!(
                        "{}: {error}; the mail is sent without an HTML part",
                        source.label
                    ));
                    notices.push(fill(locale.html_error_notice, source.label, &error));
                    None
                }
            });
    if suppressed > 0 {
        let notice = if suppressed == 1 {
            locale.suppressed_one
        } else {
            locale.suppressed_many
        };
        notices.push(notice.replace("{n}", &suppressed.to_string()));
    }
    if let Some(streak) = history.streak {
        notices.push(streak_notice(&streak, ctx));
    }

    let mut text = String::new();
    for notice in &notices {
        text.push_str(notice);
        text.push('\n');
    }
    if !notices.is_empty() {
        text.push('\n');
    }
    body.render(ctx, Mode::Text, &mut text);

    let html = html.map(|template| {
        let page = template.render_to_string(ctx, Mode::Html);
        with_notices(&page, &notices)
    });

    let mut subject = subject.render_to_string(ctx, Mode::Subject);
    if subject.char_indices().nth(MAX_SUBJECT_CHARS).is_some() {
        let cut = subject
            .char_indices()
            .nth(MAX_SUBJECT_CHARS - 1)
            .map_or(subject.len(), |(i, _)| i);
        subject.truncate(cut);
        subject.push('…');
        warnings.push(format!(
            "the subject was cut to {MAX_SUBJECT_CHARS} characters (a value such as \
             ##Log Tail## belongs in the body)"
        ));
    }
    Rendered {
        subject,
        text,
        html,
        warnings,
    }
}

/// The longest subject (in characters, `…` included) a notification gets:
/// a value as long as a whole log would otherwise make a header of
/// megabytes, which servers refuse and mail programs cannot show.
pub const MAX_SUBJECT_CHARS: usize = 1000;

/// `page` with each notice as an HTML paragraph right after its `<body>`
/// tag (or at the top, when it has none), escaped.
pub fn with_notices(page: &str, notices: &[String]) -> String {
    if notices.is_empty() {
        return page.to_owned();
    }
    let mut block = String::new();
    for notice in notices {
        block.push_str("<p>");
        render::push_value(&mut block, notice, Mode::Html);
        block.push_str("</p>\n");
    }
    let at = after_body_tag(page).unwrap_or(0);
    let mut out = String::with_capacity(page.len() + block.len());
    out.push_str(&page[..at]);
    out.push_str(&block);
    out.push_str(&page[at..]);
    out
}

/// The localized sentence about a run of failures.
fn streak_notice(streak: &notify_core::Streak, ctx: &Context<'_>) -> String {
    let locale = ctx.locale;
    let mut since = String::new();
    render::push_time(&mut since, Some(streak.since), ctx, Mode::Text);
    let end = ctx
        .result
        .finished_at
        .or(ctx.result.started_at)
        .unwrap_or(streak.since);
    let mut duration = String::new();
    render::push_duration(
        &mut duration,
        (end - streak.since).max(time::Duration::ZERO),
        locale,
        Mode::Text,
    );
    let template = match (streak.ended, streak.runs) {
        _ if streak.ended && streak.silence.is_some() => locale.streak_recovered_missing,
        (false, _) => locale.streak_failing,
        (true, 1) => locale.streak_recovered_one,
        (true, _) => locale.streak_recovered_many,
    };
    template
        .replace("{n}", &streak.runs.to_string())
        .replace("{since}", &since)
        .replace("{duration}", &duration)
}

/// What a check's finding says, in `ctx`'s locale and offset: when the task
/// last ran and when it was expected (overdue), or when the run in question
/// started. It stands in for the error (or warning) lines of the mail.
pub fn silence_sentence(notice: &notify_core::SilenceNotice, ctx: &Context<'_>) -> String {
    let locale = ctx.locale;
    let time = |at: Option<time::OffsetDateTime>| {
        let mut out = String::new();
        render::push_time(&mut out, at, ctx, Mode::Text);
        out
    };
    match notice.kind {
        notify_core::Silence::Overdue => match notice.last_run_at {
            Some(last) => locale
                .overdue
                .replace("{last_run}", &time(Some(last)))
                .replace(
                    "{last_outcome}",
                    notice
                        .last_outcome
                        .map_or(locale.absent, |o| locale.status(o)),
                )
                .replace("{expected_by}", &time(notice.expected_by)),
            None => locale
                .overdue_never
                .replace("{expected_by}", &time(notice.expected_by)),
        },
        notify_core::Silence::DidNotFinish => locale
            .did_not_finish
            .replace("{since}", &time(Some(notice.since))),
        notify_core::Silence::StillRunning => locale
            .still_running
            .replace("{since}", &time(Some(notice.since))),
    }
}

/// A notice with its `{label}` and `{error}` filled in.
fn fill(notice: &str, label: &str, error: &TemplateError) -> String {
    notice
        .replace("{label}", label)
        .replace("{error}", &error.to_string())
}

/// The position just after the `<body ...>` tag, if the page has one.
fn after_body_tag(page: &str) -> Option<usize> {
    let lower = page.to_ascii_lowercase();
    let start = lower.find("<body")?;
    let end = lower[start..].find('>')?;
    Some(start + end + 1)
}

/// The fuzz target's body, shared with `tests/fuzz_corpus.rs` so the seeds
/// run under plain `cargo test` too. Not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::{locales, render_notification, sample_result, Context, Mode, Source, Sources};
    use crate::{Template, TemplateErrorKind};

    /// Compiles `data` (lossily decoded) with a few extra names and renders
    /// it in all three modes and locales; panics when an invariant breaks.
    pub fn parse_and_render(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let mut result = sample_result();
        result.task_name = format!("Daily\r\nBcc: x@example.com\u{2028}{text}");
        result.errors = vec![text.to_string(), "<b>&\"'</b>".to_owned()];
        result
            .extra
            .insert("Repository".to_owned(), format!("<{text}>"));
        let extras = ["Repository", "host_name"];
        for locale in locales() {
            let ctx = Context::new(&result, locale, time::UtcOffset::UTC);
            match Template::compile(&text, &extras) {
                Ok(template) => {
                    for mode in [Mode::Subject, Mode::Text, Mode::Html] {
                        let out = template.render_to_string(&ctx, mode);
                        if mode == Mode::Subject {
                            assert!(
                                !out.chars().any(crate::render::is_header_unsafe),
                                "control character in subject {out:?}"
                            );
                        }
                    }
                }
                Err(error) => {
                    assert!(error.line() >= 1 && error.column() >= 1);
                    assert!(error.suggestions().len() <= 3);
                    if error.kind() != TemplateErrorKind::UnknownValue {
                        assert!(error.suggestions().is_empty());
                    }
                    assert!(error.to_string().starts_with("line "));
                }
            }
            let source = Some(Source {
                label: "fuzz",
                text: &text,
            });
            let rendered = render_notification(
                &Sources {
                    subject: source,
                    body: source,
                    html: source,
                },
                &ctx,
                &extras,
                2,
            );
            assert!(!rendered
                .subject
                .chars()
                .any(crate::render::is_header_unsafe));
            assert!(!rendered.text.is_empty());
        }
    }
}

/// The crate's README, whose examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
