//! The digest: one mail over every task (`notify digest`), with counts in
//! the subject, the tasks that need a look first, in every locale, as text
//! and HTML.

use notify_core::{Outcome, TaskResult};
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::locale::Locale;
use crate::render::{push_count, push_duration, push_size, push_time, push_value};
use crate::{Context, Mode, Rendered};

/// Where a task stands in a digest, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DigestStatus {
    /// The last run failed, was cancelled, or did not finish.
    Failed,
    /// The task is overdue.
    Overdue,
    /// The last run finished with warnings.
    Warning,
    /// A run is going on.
    Running,
    /// No run recorded yet.
    NoRun,
    /// The last run went well.
    Ok,
}

impl DigestStatus {
    /// Every status, in the order of the subject's counts and the locales'
    /// words.
    pub const ALL: [DigestStatus; 6] = [
        DigestStatus::Ok,
        DigestStatus::Warning,
        DigestStatus::Failed,
        DigestStatus::Overdue,
        DigestStatus::Running,
        DigestStatus::NoRun,
    ];

    fn index(self) -> usize {
        match self {
            DigestStatus::Ok => 0,
            DigestStatus::Warning => 1,
            DigestStatus::Failed => 2,
            DigestStatus::Overdue => 3,
            DigestStatus::Running => 4,
            DigestStatus::NoRun => 5,
        }
    }

    fn color(self) -> &'static str {
        match self {
            DigestStatus::Ok => "#2e7d32",
            DigestStatus::Warning => "#ef6c00",
            DigestStatus::Failed | DigestStatus::Overdue => "#c62828",
            DigestStatus::Running | DigestStatus::NoRun => "#616161",
        }
    }
}

/// One task in a digest.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DigestRow {
    /// The task's name.
    pub task: String,
    /// Where it stands.
    pub status: DigestStatus,
    /// When its last run started (or finished).
    pub last_run_at: Option<OffsetDateTime>,
    /// How long the last run took.
    pub duration: Option<Duration>,
    /// How much data the last run copied.
    pub bytes_copied: Option<u64>,
    /// The last run's first error line (shown for a task that failed).
    pub first_error: Option<String>,
    /// Runs within the digest's period.
    pub runs: u32,
    /// Of them, how many failed.
    pub failed_runs: u32,
}

impl DigestRow {
    /// A row for `task` standing at `status`, nothing else known.
    pub fn new(task: impl Into<String>, status: DigestStatus) -> Self {
        DigestRow {
            task: task.into(),
            status,
            last_run_at: None,
            duration: None,
            bytes_copied: None,
            first_error: None,
            runs: 0,
            failed_runs: 0,
        }
    }
}

/// A digest's content: the machine, when, over which period, the tasks.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Digest {
    /// The machine's name.
    pub host: String,
    /// When the digest was made.
    pub at: OffsetDateTime,
    /// The period the run counts cover, ending at `at`.
    pub period: Duration,
    /// The tasks, in any order (they are sorted when rendered).
    pub rows: Vec<DigestRow>,
}

impl Digest {
    /// A digest of `rows` on `host` at `at` over `period`.
    pub fn new(
        host: impl Into<String>,
        at: OffsetDateTime,
        period: Duration,
        rows: Vec<DigestRow>,
    ) -> Self {
        Digest {
            host: host.into(),
            at,
            period,
            rows,
        }
    }

    /// How many tasks stand at each status, in [`DigestStatus::ALL`] order.
    pub fn counts(&self) -> [usize; 6] {
        let mut counts = [0; 6];
        for row in &self.rows {
            counts[row.status.index()] += 1;
        }
        counts
    }
}

/// Renders a digest in `locale` with times at `offset`: the subject with
/// the counts (`Backups on host: 5 ok, 1 warning, 1 failed, 1 overdue`), a
/// text body and an HTML body listing the tasks that need a look first.
pub fn render_digest(digest: &Digest, locale: &Locale, offset: UtcOffset) -> Rendered {
    let words = &locale.digest;
    let counts = digest.counts();
    let mut parts = Vec::new();
    for status in DigestStatus::ALL {
        let n = counts[status.index()];
        if n > 0 || status == DigestStatus::Ok {
            parts.push(format!("{n} {}", words.counted[status.index()]));
        }
    }
    let host = notify_core::text::one_line(&digest.host, None);
    let subject = words
        .subject
        .replace("{host}", &host)
        .replace("{counts}", &parts.join(", "));

    let mut rows: Vec<&DigestRow> = digest.rows.iter().collect();
    rows.sort_by(|a, b| a.status.cmp(&b.status).then_with(|| a.task.cmp(&b.task)));

    let dummy = TaskResult::new("", Outcome::Success);
    let ctx = Context::new(&dummy, locale, offset);
    let time = |t: Option<OffsetDateTime>, mode: Mode| {
        let mut s = String::new();
        push_time(&mut s, t, &ctx, mode);
        s
    };
    let period = period_text(digest.period, locale);
    let intro = words
        .intro
        .replace("{period}", &period)
        .replace("{at}", &time(Some(digest.at), Mode::Text));

    let cells = |row: &DigestRow, mode: Mode| -> [String; 6] {
        let mut name = String::new();
        push_value(&mut name, &row.task, mode);
        let mut status = String::new();
        push_value(&mut status, words.statuses[row.status.index()], mode);
        let mut took = String::new();
        match row.duration {
            Some(d) => push_duration(&mut took, d, locale, mode),
            None => push_value(&mut took, locale.absent, mode),
        }
        let mut data = String::new();
        match row.bytes_copied {
            Some(n) => push_size(&mut data, n, locale, mode),
            None => push_value(&mut data, locale.absent, mode),
        }
        let mut runs = String::new();
        push_count(&mut runs, u64::from(row.runs), locale, mode);
        if row.failed_runs > 0 {
            let mut failed = String::new();
            push_count(&mut failed, u64::from(row.failed_runs), locale, mode);
            runs.push_str(&words.failed_runs.replace("{n}", &failed));
        }
        [name, status, time(row.last_run_at, mode), took, data, runs]
    };

    // Text: padded columns, the first error line under a failed task.
    let header = words.columns.map(str::to_owned);
    let text_rows: Vec<[String; 6]> = rows.iter().map(|r| cells(r, Mode::Text)).collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &text_rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String; 6]| {
        let mut out = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                out.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        out.trim_end().to_owned()
    };
    let mut text = format!("{subject}\n{intro}\n\n{}\n", line(&header));
    for (row, cells) in rows.iter().zip(&text_rows) {
        text.push_str(&line(cells));
        text.push('\n');
        if let (Some(error), true) = (&row.first_error, needs_look(row.status)) {
            text.push_str(&" ".repeat(widths[0] + 2));
            text.push_str(&notify_core::text::one_line(error, None));
            text.push('\n');
        }
    }

    // HTML: the same table, the status in its colour.
    let mut html = String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    push_value(&mut html, &subject, Mode::Html);
    html.push_str("</title></head>\n<body style=\"margin:0;padding:16px;background:#f4f4f4;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#222\">\n<div style=\"max-width:860px;margin:0 auto;background:#ffffff;border:1px solid #dddddd;padding:14px 18px\">\n<h1 style=\"font-size:18px;margin:0 0 6px\">");
    push_value(&mut html, &subject, Mode::Html);
    html.push_str("</h1>\n<p style=\"margin:0 0 12px;color:#666666\">");
    push_value(&mut html, &intro, Mode::Html);
    html.push_str("</p>\n<table style=\"border-collapse:collapse;font-size:14px\">\n<tr>");
    for h in &words.columns {
        html.push_str(
            "<th style=\"text-align:left;padding:4px 14px 4px 0;border-bottom:1px solid #dddddd\">",
        );
        push_value(&mut html, h, Mode::Html);
        html.push_str("</th>");
    }
    html.push_str("</tr>\n");
    for row in &rows {
        let c = cells(row, Mode::Html);
        html.push_str("<tr>");
        for (i, cell) in c.iter().enumerate() {
            if i == 1 {
                html.push_str(&format!(
                    "<td style=\"padding:4px 14px 4px 0;color:{};font-weight:bold\">",
                    row.status.color()
                ));
            } else {
                html.push_str("<td style=\"padding:4px 14px 4px 0\">");
            }
            html.push_str(cell);
            html.push_str("</td>");
        }
        html.push_str("</tr>\n");
        if let (Some(error), true) = (&row.first_error, needs_look(row.status)) {
            html.push_str("<tr><td></td><td colspan=\"5\" style=\"padding:0 0 6px;font-family:Menlo,Consolas,monospace;font-size:12px;color:#c62828\">");
            push_value(&mut html, error, Mode::Html);
            html.push_str("</td></tr>\n");
        }
    }
    html.push_str("</table>\n</div>\n</body>\n</html>\n");

    Rendered {
        subject: notify_core::text::one_line(&subject, None),
        text,
        html: Some(html),
        warnings: Vec::new(),
    }
}

/// A period in its largest whole unit (`1 d`, `12 h`), else in full.
fn period_text(period: Duration, locale: &Locale) -> String {
    let secs = period.whole_seconds();
    for (unit, name) in [(86_400, 0), (3600, 1), (60, 2)] {
        if secs > 0 && secs % unit == 0 {
            return format!("{} {}", secs / unit, locale.duration_units[name]);
        }
    }
    let mut out = String::new();
    push_duration(&mut out, period, locale, Mode::Text);
    out
}

fn needs_look(status: DigestStatus) -> bool {
    matches!(status, DigestStatus::Failed | DigestStatus::Overdue)
}

/// The words of a digest in one language.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DigestWords {
    /// The subject: `{host}` and `{counts}` are replaced.
    pub(crate) subject: &'static str,
    /// The line under it: `{period}` and `{at}` are replaced.
    pub(crate) intro: &'static str,
    /// A status as counted in the subject (`1 failed`), in
    /// [`DigestStatus::ALL`] order.
    pub(crate) counted: [&'static str; 6],
    /// A status in the table, in the same order.
    pub(crate) statuses: [&'static str; 6],
    /// The table's columns: task, status, last run, duration, data copied,
    /// runs.
    pub(crate) columns: [&'static str; 6],
    /// After the run count when some failed: `{n}` is replaced.
    pub(crate) failed_runs: &'static str,
}

pub(crate) const EN: DigestWords = DigestWords {
    subject: "Backups on {host}: {counts}",
    intro: "Every task, the ones that need a look first; runs counted over the last {period}, until {at}.",
    counted: ["ok", "warning", "failed", "overdue", "running", "not run yet"],
    statuses: ["OK", "Warning", "Failed", "Overdue", "Running", "Not run yet"],
    columns: ["Task", "Status", "Last run", "Duration", "Data copied", "Runs"],
    failed_runs: " ({n} failed)",
};

pub(crate) const DE: DigestWords = DigestWords {
    subject: "Sicherungen auf {host}: {counts}",
    intro:
        "Alle Aufgaben, die zu prüfenden zuerst; Läufe gezählt über die letzten {period}, bis {at}.",
    counted: [
        "ok",
        "mit Warnung",
        "fehlgeschlagen",
        "überfällig",
        "laufend",
        "noch nicht gelaufen",
    ],
    statuses: [
        "OK",
        "Warnung",
        "Fehlgeschlagen",
        "Überfällig",
        "Läuft",
        "Noch nicht gelaufen",
    ],
    columns: [
        "Aufgabe",
        "Status",
        "Letzter Lauf",
        "Dauer",
        "Kopierte Daten",
        "Läufe",
    ],
    failed_runs: " ({n} fehlgeschlagen)",
};
