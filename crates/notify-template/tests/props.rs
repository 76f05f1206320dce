//! Properties of the engine, checked with proptest on arbitrary templates and
//! arbitrary task results:
//!
//! - compiling never panics, and errors point inside the template;
//! - rendering never panics, in any mode, locale or offset;
//! - a subject never contains a control character or line break, whatever
//!   the values and the template text;
//! - HTML values never carry markup;
//! - literal text escaped with `escape` renders back to itself.
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

use std::collections::BTreeMap;

use notify_core::{Outcome, TaskResult};
use notify_template::{
    catalogue, escape, locales, render_notification, Context, Mode, Source, Sources, Template,
};
use proptest::prelude::*;
use time::{OffsetDateTime, UtcOffset};

/// Any text, with control characters, line breaks, markup and `#` likely.
fn nasty() -> impl Strategy<Value = String> + Clone {
    let special = prop::sample::select(vec![
        '\r', '\n', '\t', '\0', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{2028}', '\u{2029}',
        '<', '>', '&', '"', '\'', '#', '\\', 'a', ' ', 'ü', '✓',
    ]);
    let c = prop_oneof![any::<char>(), special];
    prop::collection::vec(c, 0..32).prop_map(String::from_iter)
}

/// Text rich in what the parser cares about, mixed with arbitrary strings.
fn template_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("##".to_owned()),
        Just("#".to_owned()),
        Just("\\".to_owned()),
        Just("\\##".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("Task Name".to_owned()),
        Just("status beim beenden".to_owned()),
        Just("LOG_TAIL".to_owned()),
        Just("extra".to_owned()),
        Just("ü✓".to_owned()),
        nasty(),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// A template that always compiles: value references (any name of any
/// value, or the extra) between pieces of arbitrary literal text.
fn valid_template() -> impl Strategy<Value = String> {
    let mut names: Vec<String> = catalogue()
        .iter()
        .flat_map(|info| info.names().iter().map(|n| n.to_string()))
        .collect();
    names.push("Extra".to_owned());
    let name = prop::sample::select(names);
    // A literal ending in `#` or `\\` would merge with the value's `##`.
    let literal = nasty().prop_map(|s| escape(s.trim_end_matches(['#', '\\'])));
    prop::collection::vec((literal, name), 0..12).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(lit, name)| format!("{lit}##{name}##"))
            .collect()
    })
}

fn time_strategy() -> impl Strategy<Value = Option<OffsetDateTime>> {
    // The whole range `time` supports without the large-dates feature.
    let min = OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT).unix_timestamp();
    let max = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT).unix_timestamp();
    prop::option::of(
        prop_oneof![min..=max, 1_700_000_000i64..1_900_000_000]
            .prop_filter_map("in range", |t| OffsetDateTime::from_unix_timestamp(t).ok()),
    )
}

fn result_strategy() -> impl Strategy<Value = TaskResult> {
    let outcome = prop::sample::select(Outcome::ALL.to_vec());
    let text = nasty();
    let opt = prop::option::of(nasty());
    (
        (
            text.clone(),
            outcome,
            any::<Option<i32>>(),
            any::<Option<i32>>(),
        ),
        (time_strategy(), time_strategy()),
        (opt.clone(), opt.clone(), opt.clone(), opt.clone(), opt),
        (
            any::<Option<u64>>(),
            any::<Option<u64>>(),
            any::<u64>(),
            any::<u64>(),
        ),
        prop::collection::vec(text.clone(), 0..4),
        prop::collection::btree_map(text.clone(), text.clone(), 0..3),
    )
        .prop_map(
            |(
                (task_name, outcome, exit_code, signal),
                (started_at, finished_at),
                (source, destination, log_tail, command, computer_name),
                (bytes_copied, files_copied, error_count, warning_count),
                errors,
                extra,
            )| {
                let mut extra: BTreeMap<String, String> = extra;
                extra.insert("Extra".to_owned(), "x\r\ny<z>".to_owned());
                extra.insert("snapshot_id".to_owned(), "<5d2a>\r\n".to_owned());
                extra.insert("data_added".to_owned(), "12345678".to_owned());
                extra.insert("files_new".to_owned(), "not a number".to_owned());
                let warnings = errors.iter().rev().cloned().collect();
                TaskResult {
                    task_name,
                    outcome,
                    exit_code,
                    signal,
                    started_at,
                    finished_at,
                    source,
                    destination,
                    bytes_copied,
                    files_copied,
                    error_count,
                    warning_count,
                    errors,
                    warnings,
                    log_tail,
                    command,
                    computer_name,
                    extra,
                    silence: None,
                }
            },
        )
}

fn offset_strategy() -> impl Strategy<Value = UtcOffset> {
    (-93_599i32..=93_599).prop_filter_map("valid offset", |s| UtcOffset::from_whole_seconds(s).ok())
}

fn is_header_unsafe(c: char) -> bool {
    c < ' ' || c == '\u{7f}' || c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

proptest! {
    #[test]
    fn compile_never_panics(source in template_text()) {
        if let Err(e) = Template::compile(&source, &["extra"]) {
            let lines = source.split('\n').count();
            prop_assert!(e.line() >= 1 && e.line() <= lines);
            prop_assert!(e.column() >= 1);
            prop_assert!(e.suggestions().len() <= 3);
        }
    }

    #[test]
    fn compile_never_panics_on_any_string(source in any::<String>()) {
        let _ = Template::compile(&source, &[]);
    }

    #[test]
    fn render_never_panics(
        source in template_text(),
        result in result_strategy(),
        offset in offset_strategy(),
        de in any::<bool>(),
    ) {
        let locale = locales()[usize::from(de)];
        let ctx = Context::new(&result, locale, offset);
        if let Ok(template) = Template::compile(&source, &["extra"]) {
            for mode in [Mode::Subject, Mode::Text, Mode::Html] {
                let _ = template.render_to_string(&ctx, mode);
            }
        }
        let source = Some(Source { label: "t", text: &source });
        let rendered = render_notification(
            &Sources { subject: source, body: source, html: source },
            &ctx,
            &[],
            7,
        );
        prop_assert!(!rendered.subject.chars().any(is_header_unsafe));
    }

    #[test]
    fn subject_never_has_control_characters(
        source in valid_template(),
        result in result_strategy(),
        offset in offset_strategy(),
        de in any::<bool>(),
    ) {
        let template = Template::compile(&source, &["Extra"]).unwrap();
        let ctx = Context::new(&result, locales()[usize::from(de)], offset);
        let subject = template.render_to_string(&ctx, Mode::Subject);
        prop_assert!(!subject.chars().any(is_header_unsafe), "{:?}", subject);
        prop_assert!(!subject.contains('\r') && !subject.contains('\n'));
    }

    #[test]
    fn html_values_carry_no_markup(result in result_strategy()) {
        let names: String = catalogue().iter().map(|i| format!("##{}##", i.names()[0])).collect();
        let template = Template::compile(&format!("{names}##Extra##"), &["Extra"]).unwrap();
        let ctx = Context::new(&result, locales()[0], UtcOffset::UTC);
        let html = template.render_to_string(&ctx, Mode::Html);
        prop_assert!(!html.contains(['<', '>', '"', '\'']), "{:?}", html);
    }

    #[test]
    fn escaped_text_renders_to_itself(text in template_text()) {
        let template = Template::compile(&escape(&text), &[]).unwrap();
        let result = TaskResult::new("t", Outcome::Success);
        let ctx = Context::new(&result, locales()[0], UtcOffset::UTC);
        prop_assert_eq!(template.render_to_string(&ctx, Mode::Text), text);
    }
}
