//! `notify status`: one row per task, for a person or a script.

use std::fmt::Write as _;

use serde::Serialize;
use time::OffsetDateTime;

use crate::app::cli::StatusArgs;
use crate::app::config::HumanDuration;
use crate::app::error::{exit, CliError};
use crate::app::{emit, emit_json, shown, Env};
use crate::watch::overview::{self, TaskRow};

/// `notify status --json`: the tasks and when the overview was made.
#[derive(Serialize)]
struct Json<'a> {
    #[serde(with = "time::serde::rfc3339")]
    generated_at: OffsetDateTime,
    tasks: &'a [TaskRow],
}

/// Prints the overview; exits 1 when a task is failing or overdue.
pub fn status(env: &Env<'_>, args: &StatusArgs) -> Result<u8, CliError> {
    let now = OffsetDateTime::now_utc();
    let rows = overview::rows(env, now);
    if args.json {
        // Through a `Value`, whose objects keep their keys sorted, as every
        // `--json` output does (docs/json.md).
        let value = serde_json::to_value(Json {
            generated_at: now,
            tasks: &rows,
        })
        .map_err(|e| CliError::new(exit::PERMANENT, e.to_string()))?;
        emit_json(&value)?;
    } else if rows.is_empty() {
        emit(
            "No tasks yet: none in the configuration, and no run recorded \
             (`notify run --task NAME -- CMD` records one).\n",
        );
    } else {
        emit(&table(env, &rows, now, env.ui.stdout_color()));
    }
    Ok(if rows.iter().any(|r| r.failing) {
        exit::PERMANENT
    } else {
        exit::OK
    })
}

/// The colour of a status word.
#[derive(Clone, Copy)]
enum Tone {
    Good,
    Warn,
    Bad,
    Plain,
}

/// The text table: a header, then a row per task; columns padded to the
/// widest cell, colours (when `color`) on the status only.
fn table(env: &Env<'_>, rows: &[TaskRow], now: OffsetDateTime, color: bool) -> String {
    let header = [
        "TASK", "STATUS", "LAST RUN", "TOOK", "DATA", "STREAK", "NEXT",
    ];
    let mut cells: Vec<([String; 7], Tone)> = Vec::new();
    for r in rows {
        let (word, tone) = status_word(r);
        let last = r
            .last_started_at
            .or(r.last_finished_at)
            .map_or_else(|| "-".to_owned(), |at| when(env, at, now));
        let took = r.last_duration_seconds.map_or_else(
            || "-".to_owned(),
            |s| HumanDuration(time::Duration::seconds_f64(s)).to_string(),
        );
        let data = r.bytes_copied.map_or_else(|| "-".to_owned(), size);
        let streak = r.streak.map_or_else(
            || "-".to_owned(),
            |s| {
                if s.failing {
                    format!(
                        "failing for {} run{} since {}",
                        s.runs,
                        if s.runs == 1 { "" } else { "s" },
                        short_day(env, s.since, now)
                    )
                } else {
                    format!(
                        "ok for {} run{}",
                        s.runs,
                        if s.runs == 1 { "" } else { "s" }
                    )
                }
            },
        );
        let next = match (r.next_expected_at, r.overdue) {
            (Some(at), true) => format!("was due {}", when(env, at, now)),
            (Some(at), false) => when(env, at, now),
            (None, _) => "-".to_owned(),
        };
        cells.push(([shown(&r.task), word, last, took, data, streak, next], tone));
    }
    let mut widths = header.map(|h| h.chars().count());
    for (row, _) in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, row: &[String; 7], tone: Tone| {
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            let last = i == row.len() - 1;
            if i == 1 && color {
                out.push_str(&paint(cell, tone));
            } else {
                out.push_str(cell);
            }
            if !last {
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push('\n');
    };
    line(&mut out, &header.map(str::to_owned), Tone::Plain);
    for (row, tone) in &cells {
        line(&mut out, row, *tone);
    }
    // The first error line of each failing task, below the table.
    for r in rows.iter().filter(|r| r.failing) {
        if let Some(error) = &r.first_error {
            let _ = writeln!(out, "\n{}: {}", shown(&r.task), shown(error));
        }
    }
    out
}

/// The status column: what a person needs first.
fn status_word(r: &TaskRow) -> (String, Tone) {
    if r.running {
        return ("running".into(), Tone::Plain);
    }
    if r.overdue {
        return ("overdue".into(), Tone::Bad);
    }
    match r.last_outcome {
        None => ("never ran".into(), Tone::Plain),
        Some("success") if r.failing => ("errors".into(), Tone::Bad),
        Some("success") => ("ok".into(), Tone::Good),
        Some("warning") if r.failing => ("errors".into(), Tone::Bad),
        Some("warning") => ("warning".into(), Tone::Warn),
        Some("cancelled") => (
            "cancelled".into(),
            if r.failing { Tone::Bad } else { Tone::Warn },
        ),
        Some("did_not_finish") => ("did not finish".into(), Tone::Bad),
        Some(_) => ("failed".into(), Tone::Bad),
    }
}

fn paint(text: &str, tone: Tone) -> String {
    let code = match tone {
        Tone::Good => "32",
        Tone::Warn => "33",
        Tone::Bad => "1;31",
        Tone::Plain => return text.to_owned(),
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// A moment in local time to the minute, and how far from now.
fn when(env: &Env<'_>, at: OffsetDateTime, now: OffsetDateTime) -> String {
    let local = crate::app::local_time(at, env.offset);
    // `2026-12-05 06:30:00 +01:00` → `2026-12-05 06:30`
    let short: String = local.chars().take(16).collect();
    let gap = now - at;
    if gap >= time::Duration::ZERO {
        format!("{short} ({} ago)", HumanDuration(gap))
    } else {
        format!("{short} (in {})", HumanDuration(-gap))
    }
}

/// A day within the last week by its weekday and time (`Tue 03:00`), an
/// older one by its date.
fn short_day(env: &Env<'_>, at: OffsetDateTime, now: OffsetDateTime) -> String {
    let local = at.to_offset(env.offset);
    if now - at < time::Duration::days(6) {
        let day = &local.weekday().to_string()[..3];
        format!("{day} {:02}:{:02}", local.hour(), local.minute())
    } else {
        format!(
            "{}-{:02}-{:02}",
            local.year(),
            u8::from(local.month()),
            local.day()
        )
    }
}

/// Bytes in decimal units, one decimal (`1.5 GB`).
fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    #[allow(clippy::cast_precision_loss, reason = "a size shown to one decimal")]
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_decimal_units() {
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1_503_238_553), "1.5 GB");
        assert_eq!(size(210_763_776), "210.8 MB");
    }
}
