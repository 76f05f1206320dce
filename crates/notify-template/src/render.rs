//! Rendering: values formatted per locale and escaped per mode, appended to a
//! caller's buffer. Nothing here allocates beyond growing that buffer.

use time::{Duration, OffsetDateTime};

use crate::catalogue::{ToolKind, ValueId};
use crate::locale::Locale;
use crate::{Context, Mode};

/// Appends `s`, a piece of template text, to `out`: folded in
/// [`Mode::Subject`], as it is otherwise (template text is the author's own
/// markup, so it is not HTML-escaped).
pub(crate) fn push_literal(out: &mut String, s: &str, mode: Mode) {
    match mode {
        Mode::Subject => push_folded(out, s),
        Mode::Text | Mode::Html => out.push_str(s),
    }
}

/// Appends `s`, a piece of a value, to `out`, made safe for `mode`.
pub(crate) fn push_value(out: &mut String, s: &str, mode: Mode) {
    match mode {
        Mode::Subject => push_folded(out, s),
        Mode::Text => out.push_str(s),
        Mode::Html => push_html(out, s),
    }
}

/// Whether `c` must not appear in a header: C0 and C1 controls (CR, LF, TAB,
/// NEL, ...), DEL, the Unicode line and paragraph separators and the
/// bidirectional overrides (notify-core's one sanitiser decides).
pub(crate) use notify_core::text::is_unsafe as is_header_unsafe;

/// Appends `s` with every header-unsafe character replaced by one space.
fn push_folded(out: &mut String, s: &str) {
    // Fast path: no byte that is a C0 control or DEL, or that can start the
    // UTF-8 form of a C1 control (0xC2) or of U+2028/U+2029 and the
    // bidirectional marks (all 0xE2).
    if !s
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || b == 0xc2 || b == 0xe2)
    {
        out.push_str(s);
        return;
    }
    out.reserve(s.len());
    for c in s.chars() {
        out.push(if is_header_unsafe(c) { ' ' } else { c });
    }
}

/// Appends `s` HTML-escaped: `&`, `<`, `>`, `"` and `'`.
fn push_html(out: &mut String, s: &str) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(entity);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// Appends the value `id` of `ctx.result` to `out`.
pub(crate) fn write_value(id: ValueId, ctx: &Context<'_>, mode: Mode, out: &mut String) {
    let r = ctx.result;
    let l = ctx.locale;
    match id {
        ValueId::TaskName => push_value(out, &r.task_name, mode),
        ValueId::ExitStatus => push_value(out, l.status_of(r), mode),
        ValueId::ExitCode => match (r.signal, r.exit_code) {
            (Some(signal), _) => {
                push_value(out, l.signal, mode);
                out.push(' ');
                push_i64(out, i64::from(signal));
                if let Some(name) = signal_name(signal) {
                    out.push_str(" (");
                    out.push_str(name);
                    out.push(')');
                }
            }
            (None, Some(code)) => push_i64(out, i64::from(code)),
            (None, None) => push_value(out, l.absent, mode),
        },
        ValueId::ComputerName => push_opt(out, r.computer_name.as_deref(), l, mode),
        ValueId::Source => push_opt(out, r.source.as_deref(), l, mode),
        ValueId::Destination => push_opt(out, r.destination.as_deref(), l, mode),
        ValueId::Command => push_opt(out, r.command.as_deref(), l, mode),
        ValueId::StartTime => push_time(out, r.started_at, ctx, mode),
        ValueId::EndTime => push_time(out, r.finished_at, ctx, mode),
        ValueId::ElapsedTime => match r.elapsed() {
            Some(d) => push_duration(out, d, l, mode),
            None => push_value(out, l.absent, mode),
        },
        ValueId::DataCopied => match r.bytes_copied {
            Some(n) => push_size(out, n, l, mode),
            None => push_value(out, l.absent, mode),
        },
        ValueId::FilesCopied => match r.files_copied {
            Some(n) => push_count(out, n, l, mode),
            None => push_value(out, l.absent, mode),
        },
        ValueId::ErrorCount => push_count(out, error_count(r), l, mode),
        ValueId::WarningCount => push_count(out, warning_count(r), l, mode),
        ValueId::Errors => match finding(r, true) {
            Some(notice) => push_lines(out, &[crate::silence_sentence(notice, ctx)], 1, l, mode),
            None => push_lines(out, &r.errors, r.error_count, l, mode),
        },
        ValueId::Warnings => match finding(r, false) {
            Some(notice) => push_lines(out, &[crate::silence_sentence(notice, ctx)], 1, l, mode),
            None => push_lines(out, &r.warnings, r.warning_count, l, mode),
        },
        ValueId::LastRun => match r
            .silence
            .as_ref()
            .and_then(|n| n.last_run_at.map(|at| (at, n)))
        {
            Some((at, notice)) => {
                push_time(out, Some(at), ctx, mode);
                if let Some(outcome) = notice.last_outcome {
                    out.push_str(" (");
                    push_value(out, l.status(outcome), mode);
                    out.push(')');
                }
            }
            None => push_value(out, l.absent, mode),
        },
        ValueId::ExpectedBy => {
            push_time(
                out,
                r.silence.as_ref().and_then(|n| n.expected_by),
                ctx,
                mode,
            );
        }
        ValueId::StatusColor => out.push_str(status_color(r.outcome)),
        ValueId::SnapshotId
        | ValueId::Archive
        | ValueId::FilesNew
        | ValueId::FilesChanged
        | ValueId::FilesUnmodified
        | ValueId::FilesDeleted
        | ValueId::FilesProcessed
        | ValueId::DataProcessed
        | ValueId::DataAdded
        | ValueId::DataCompressed => {
            let value = r.extra.get(id.key()).map(String::as_str);
            let number = value.and_then(|v| v.trim().parse::<u64>().ok());
            match (id.tool_kind(), number) {
                (Some(ToolKind::Count), Some(n)) => push_count(out, n, l, mode),
                (Some(ToolKind::Size), Some(n)) => push_size(out, n, l, mode),
                _ => push_opt(out, value, l, mode),
            }
        }
        ValueId::LogTail => push_opt(out, r.log_tail.as_deref().map(trim_line_ends), l, mode),
    }
}

/// Whether the value `id` of `ctx.result` is there: a text that is not
/// blank, a time, a count above zero, at least one line. The task name, the
/// status and its colour are always there.
pub(crate) fn is_present(id: ValueId, ctx: &Context<'_>) -> bool {
    let r = ctx.result;
    let text = |v: Option<&str>| v.is_some_and(|v| !v.trim().is_empty());
    match id {
        ValueId::TaskName | ValueId::ExitStatus | ValueId::StatusColor => true,
        ValueId::ExitCode => r.exit_code.is_some() || r.signal.is_some(),
        ValueId::ComputerName => text(r.computer_name.as_deref()),
        ValueId::Source => text(r.source.as_deref()),
        ValueId::Destination => text(r.destination.as_deref()),
        ValueId::Command => text(r.command.as_deref()),
        ValueId::LogTail => text(r.log_tail.as_deref()),
        ValueId::StartTime => r.started_at.is_some(),
        ValueId::EndTime => r.finished_at.is_some(),
        ValueId::ElapsedTime => r.elapsed().is_some(),
        ValueId::DataCopied => r.bytes_copied.is_some(),
        ValueId::FilesCopied => r.files_copied.is_some(),
        ValueId::ErrorCount => error_count(r) > 0,
        ValueId::WarningCount => warning_count(r) > 0,
        ValueId::Errors => {
            finding(r, true).is_some() || r.errors.iter().any(|e| !e.trim().is_empty())
        }
        ValueId::Warnings => {
            finding(r, false).is_some() || r.warnings.iter().any(|w| !w.trim().is_empty())
        }
        ValueId::LastRun => r.silence.as_ref().is_some_and(|n| n.last_run_at.is_some()),
        ValueId::ExpectedBy => r.silence.as_ref().is_some_and(|n| n.expected_by.is_some()),
        ValueId::SnapshotId
        | ValueId::Archive
        | ValueId::FilesNew
        | ValueId::FilesChanged
        | ValueId::FilesUnmodified
        | ValueId::FilesDeleted
        | ValueId::FilesProcessed
        | ValueId::DataProcessed
        | ValueId::DataAdded
        | ValueId::DataCompressed => text(r.extra.get(id.key()).map(String::as_str)),
    }
}

/// The extra value `key` of `ctx.result`: by exact key, else by a key that
/// matches the way names do.
fn extra<'a>(key: &str, ctx: &Context<'a>) -> Option<&'a str> {
    let extra = &ctx.result.extra;
    extra
        .get(key)
        .or_else(|| {
            extra
                .iter()
                .find(|(k, _)| crate::template::names_match(k, key))
                .map(|(_, v)| v)
        })
        .map(String::as_str)
}

/// Appends the extra value `key` of `ctx.result`; absent when there is none.
pub(crate) fn write_extra(key: &str, ctx: &Context<'_>, mode: Mode, out: &mut String) {
    push_opt(out, extra(key, ctx), ctx.locale, mode);
}

/// Whether the extra value `key` is there and not blank.
pub(crate) fn extra_present(key: &str, ctx: &Context<'_>) -> bool {
    extra(key, ctx).is_some_and(|v| !v.trim().is_empty())
}

/// Error or warning lines, one per line, then a line saying how many more
/// were counted than kept; the locale's "none" when there are none.
fn push_lines(out: &mut String, lines: &[String], count: u64, l: &Locale, mode: Mode) {
    let mut any = false;
    for line in lines.iter().map(|e| trim_line_ends(e)) {
        if any {
            push_value(out, "\n", mode);
        }
        push_value(out, line, mode);
        any = true;
    }
    if !any {
        push_value(out, l.none, mode);
        return;
    }
    let more = count.saturating_sub(lines.len() as u64);
    if more > 0 {
        push_value(out, "\n", mode);
        push_value(out, &l.more_lines.replace("{n}", &more.to_string()), mode);
    }
}

/// The colour of an outcome, for HTML templates.
fn status_color(outcome: notify_core::Outcome) -> &'static str {
    match outcome {
        notify_core::Outcome::Success => "#2e7d32",
        notify_core::Outcome::Warning => "#b26a00",
        notify_core::Outcome::Failure => "#c62828",
        notify_core::Outcome::Cancelled => "#616161",
    }
}

fn trim_line_ends(s: &str) -> &str {
    s.trim_end_matches(['\n', '\r'])
}

/// An optional text value; absent, empty or blank renders the placeholder.
fn push_opt(out: &mut String, value: Option<&str>, l: &Locale, mode: Mode) {
    match value {
        Some(v) if !v.trim().is_empty() => push_value(out, v, mode),
        _ => push_value(out, l.absent, mode),
    }
}

/// The portable POSIX signal numbers (the same on Linux, the BSDs and
/// macOS); others are shown by number only.
fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// Appends the decimal digits of `n` (ASCII, safe in every mode).
fn push_digits(out: &mut String, n: u64, min_width: usize, sep: &str, mode: Mode) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let digits = &digits[i..];
    for _ in digits.len()..min_width {
        out.push('0');
    }
    let len = digits.len();
    for (k, &d) in digits.iter().enumerate() {
        if k > 0 && !sep.is_empty() && (len - k) % 3 == 0 {
            push_value(out, sep, mode);
        }
        out.push(char::from(d));
    }
}

fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_digits(out, n.unsigned_abs(), 1, "", Mode::Text);
}

/// A count with the locale's thousands separator: `12,345` / `12.345`.
pub(crate) fn push_count(out: &mut String, n: u64, l: &Locale, mode: Mode) {
    push_digits(out, n, 1, l.thousands_sep, mode);
}

/// A byte count in decimal units (1 kB = 1000 bytes) with one decimal:
/// `512 bytes`, `1.5 GB` / `1,5 GB`.
pub(crate) fn push_size(out: &mut String, bytes: u64, l: &Locale, mode: Mode) {
    if bytes < 1000 {
        push_digits(out, bytes, 1, "", mode);
        out.push(' ');
        let unit = if bytes == 1 {
            l.byte_one
        } else {
            l.byte_units[0]
        };
        push_value(out, unit, mode);
        return;
    }
    let mut unit = 1;
    let mut power: u128 = 1000;
    let mut tenths;
    loop {
        // Rounded to the nearest tenth of the unit.
        tenths = (u128::from(bytes) * 10 + power / 2) / power;
        if tenths < 10_000 || unit + 1 >= l.byte_units.len() {
            break;
        }
        unit += 1;
        power *= 1000;
    }
    let whole = u64::try_from(tenths / 10).unwrap_or(u64::MAX);
    push_digits(out, whole, 1, l.thousands_sep, mode);
    push_value(out, l.decimal_sep, mode);
    push_digits(out, (tenths % 10) as u64, 1, "", mode);
    out.push(' ');
    push_value(out, l.byte_units[unit], mode);
}

/// A duration as days, hours, minutes and seconds, leaving out leading zero
/// parts: `45 s`, `2 min 05 s`, `1 h 02 min 05 s`, `2 d 03 h 00 min 05 s`.
pub(crate) fn push_duration(out: &mut String, d: Duration, l: &Locale, mode: Mode) {
    let total = d.whole_seconds().max(0).unsigned_abs();
    let parts = [
        total / 86_400,
        total / 3600 % 24,
        total / 60 % 60,
        total % 60,
    ];
    let first = parts.iter().position(|&p| p > 0).unwrap_or(3);
    for (k, (&value, unit)) in parts.iter().zip(l.duration_units).enumerate().skip(first) {
        if k > first {
            out.push(' ');
        }
        push_digits(out, value, if k > first { 2 } else { 1 }, "", mode);
        out.push(' ');
        push_value(out, unit, mode);
    }
}

/// A point in time, shown in the context's offset, in the locale's pattern.
pub(crate) fn push_time(
    out: &mut String,
    t: Option<OffsetDateTime>,
    ctx: &Context<'_>,
    mode: Mode,
) {
    let Some(t) = t else {
        push_value(out, ctx.locale.absent, mode);
        return;
    };
    // Out of range (only near year ±9999): keep the original offset.
    let t = t.checked_to_offset(ctx.offset).unwrap_or(t);
    let pattern = ctx.locale.date_time;
    let mut rest = pattern;
    while let Some(pos) = rest.find('%') {
        push_value(out, &rest[..pos], mode);
        let mut chars = rest[pos + 1..].chars();
        let directive = chars.next();
        rest = chars.as_str();
        match directive {
            Some('Y') => {
                let year = t.year();
                if year < 0 {
                    out.push('-');
                }
                push_digits(out, u64::from(year.unsigned_abs()), 4, "", mode);
            }
            Some('m') => push_digits(out, u64::from(u8::from(t.month())), 2, "", mode),
            Some('d') => push_digits(out, u64::from(t.day()), 2, "", mode),
            Some('H') => push_digits(out, u64::from(t.hour()), 2, "", mode),
            Some('M') => push_digits(out, u64::from(t.minute()), 2, "", mode),
            Some('S') => push_digits(out, u64::from(t.second()), 2, "", mode),
            Some('z') => {
                let offset = t.offset();
                out.push(if offset.is_negative() { '-' } else { '+' });
                let (h, m, _) = offset.as_hms();
                push_digits(out, u64::from(h.unsigned_abs()), 2, "", mode);
                out.push(':');
                push_digits(out, u64::from(m.unsigned_abs()), 2, "", mode);
            }
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                let mut buf = [0u8; 4];
                push_value(out, other.encode_utf8(&mut buf), mode);
            }
            None => out.push('%'),
        }
    }
    push_value(out, rest, mode);
}

/// A check's finding that stands in for the error lines (`errors`: an
/// overdue task, a run that did not finish) or the warning lines (a run
/// still going on), when the result has no lines of its own: a mail about a
/// missing run never says `Errors: 0`.
fn finding(r: &notify_core::TaskResult, errors: bool) -> Option<&notify_core::SilenceNotice> {
    let notice = r.silence.as_ref()?;
    let lines = if errors { &r.errors } else { &r.warnings };
    (notice.kind.is_failure() == errors && lines.is_empty()).then_some(notice)
}

/// The error count, one at least for a finding told as an error line.
fn error_count(r: &notify_core::TaskResult) -> u64 {
    if finding(r, true).is_some() {
        r.error_count.max(1)
    } else {
        r.error_count
    }
}

/// The warning count, one at least for a finding told as a warning line.
fn warning_count(r: &notify_core::TaskResult) -> u64 {
    if finding(r, false).is_some() {
        r.warning_count.max(1)
    } else {
        r.warning_count
    }
}
