//! The Prometheus textfile: every task's last run as node_exporter's
//! textfile collector reads it (the text exposition format 0.0.4), written
//! whole or not at all.
//!
//! The file is rendered from the task index ([`Summary`]), so it lists
//! every task notify has heard of, not only the one that just ran; the
//! caller writes it under [`HistoryStore::with_index`](crate::HistoryStore::with_index),
//! so a file written later is never older than one written earlier.

use std::fmt::Write as _;
use std::path::Path;

use notify_core::Outcome;

use crate::error::{at, Op, Result};
use crate::files::{Durability, TempFile};
use crate::history::Summary;

/// What the textfile says of one task.
#[derive(Debug, Clone, Copy)]
pub struct TaskMetrics<'a> {
    /// The task's name (the `task` label).
    pub task: &'a str,
    /// What the index keeps of it.
    pub summary: &'a Summary,
    /// Whether it is overdue now.
    pub overdue: bool,
    /// Whether a run of it is going on.
    pub running: bool,
}

/// Every outcome, in the order of the `notify_task_last_outcome` series.
const OUTCOMES: [Outcome; 4] = [
    Outcome::Success,
    Outcome::Warning,
    Outcome::Failure,
    Outcome::Cancelled,
];

/// The gauges of a task, in the file's order: name, help, and the value
/// of one task (`None`: no sample for that task).
type Gauge = (
    &'static str,
    &'static str,
    fn(&TaskMetrics<'_>) -> Option<f64>,
);

const GAUGES: &[Gauge] = &[
    (
        "notify_task_last_run_timestamp_seconds",
        "When the task's last run started (Unix time).",
        |t| t.summary.last.as_ref().map(|r| unix(r.at())),
    ),
    (
        "notify_task_last_success_timestamp_seconds",
        "When the task's last run that did not fail started (Unix time; 0: never).",
        |t| Some(t.summary.last_success.map_or(0.0, unix)),
    ),
    (
        "notify_task_last_exit_code",
        "The exit code of the task's last run (absent when it had none).",
        |t| t.summary.last.as_ref()?.exit_code.map(f64::from),
    ),
    (
        "notify_task_last_duration_seconds",
        "How long the task's last run took.",
        |t| {
            let d = t.summary.last.as_ref()?.duration()?;
            Some(d.as_seconds_f64())
        },
    ),
    (
        "notify_task_bytes_copied",
        "Bytes copied by the task's last run, as its tool reported them.",
        |t| t.summary.last.as_ref()?.bytes_copied.map(|b| b as f64),
    ),
    (
        "notify_task_files_copied",
        "Files copied by the task's last run, as its tool reported them.",
        |t| t.summary.last.as_ref()?.files_copied.map(|f| f as f64),
    ),
    (
        "notify_task_last_errors",
        "Errors counted in the task's last run.",
        |t| t.summary.last.as_ref().map(|r| r.error_count as f64),
    ),
    (
        "notify_task_overdue",
        "1 when the task's next run is overdue (expect_every / expect_cron plus grace).",
        |t| Some(flag(t.overdue)),
    ),
    (
        "notify_task_running",
        "1 while a run of the task is going on.",
        |t| Some(flag(t.running)),
    ),
];

/// The textfile: HELP and TYPE lines, then one sample per task of each
/// gauge, then `notify_queue_pending`. Tasks are listed in the order given.
pub fn render(tasks: &[TaskMetrics<'_>], queue_pending: usize) -> String {
    let mut out = String::with_capacity(256 + tasks.len() * 600);
    let mut family = |name: &str, help: &str, samples: &mut dyn FnMut(&mut String)| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        samples(&mut out);
    };
    for (name, help, value) in GAUGES {
        family(name, help, &mut |out| {
            for t in tasks {
                if let Some(v) = value(t) {
                    sample(out, name, &[("task", t.task)], v);
                }
            }
        });
    }
    family(
        "notify_task_last_outcome",
        "1 for the outcome of the task's last run (success, warning, failure, cancelled), 0 for the others.",
        &mut |out| {
            for t in tasks {
                let Some(last) = &t.summary.last else {
                    continue;
                };
                for outcome in OUTCOMES {
                    sample(
                        out,
                        "notify_task_last_outcome",
                        &[("task", t.task), ("outcome", outcome.as_str())],
                        flag(last.outcome == outcome),
                    );
                }
            }
        },
    );
    family(
        "notify_queue_pending",
        "Notifications queued for a retry.",
        &mut |out| sample(out, "notify_queue_pending", &[], queue_pending as f64),
    );
    out
}

/// Replaces the file at `path` with `text`, readable by everyone (the
/// node_exporter runs as a user of its own): a temporary file in the same
/// directory whose name the collector ignores (it reads `*.prom` only),
/// then a rename.
pub fn write_textfile(path: &Path, text: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut temp =
        TempFile::write(dir, text.as_bytes(), Durability::Lazy).map_err(at(Op::Create, dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(at(Op::Create, temp.path()))?;
    }
    temp.replace(path).map_err(at(Op::Replace, path))?;
    // Not synced: a file lost in a crash is written again by the next
    // notify.
    Ok(())
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(label);
            out.push_str("=\"");
            escape_label(out, v);
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", number(value));
}

/// A label value as the text format wants it: backslash, double quote and
/// line feed escaped; any other control character (which no exporter
/// should pass on) as a space.
fn escape_label(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

/// A sample value: integers without a fraction, others as Rust prints
/// them (which Prometheus parses).
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn unix(t: time::OffsetDateTime) -> f64 {
    t.unix_timestamp() as f64 + f64::from(t.nanosecond()) / 1e9
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HistoryStore;
    use notify_core::{RunRecord, TaskResult};
    use time::macros::datetime;
    use time::Duration;

    const T0: time::OffsetDateTime = datetime!(2026-12-05 03:00 UTC);

    fn summaries() -> (
        tempfile::TempDir,
        std::collections::BTreeMap<String, Summary>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = HistoryStore::new(dir.path());
        let mut ok = TaskResult::new("Daily \"Backup\"\n\\", Outcome::Success);
        ok.started_at = Some(T0);
        ok.finished_at = Some(T0 + Duration::milliseconds(90_500));
        ok.exit_code = Some(0);
        ok.bytes_copied = Some(1_234_567);
        ok.files_copied = Some(42);
        store
            .record(&ok.task_name.clone(), RunRecord::of(&ok, T0), T0)
            .unwrap();
        let mut bad = TaskResult::new("db", Outcome::Failure);
        bad.started_at = Some(T0);
        bad.finished_at = Some(T0 + Duration::seconds(3));
        bad.exit_code = Some(2);
        store.record("db", RunRecord::of(&bad, T0), T0).unwrap();
        store.update("never ran", T0, |_| {}).unwrap();
        let index = store.index().0;
        (dir, index)
    }

    #[test]
    fn every_task_and_every_family_with_help_and_type() {
        let (_dir, index) = summaries();
        let tasks: Vec<TaskMetrics<'_>> = index
            .iter()
            .map(|(task, summary)| TaskMetrics {
                task,
                summary,
                overdue: task == "db",
                running: task == "never ran",
            })
            .collect();
        let text = render(&tasks, 3);
        let t0 = T0.unix_timestamp();
        for line in [
            format!(
                r#"notify_task_last_run_timestamp_seconds{{task="Daily \"Backup\"\n\\"}} {t0}"#
            ),
            format!(
                r#"notify_task_last_success_timestamp_seconds{{task="Daily \"Backup\"\n\\"}} {t0}"#
            ),
            r#"notify_task_last_success_timestamp_seconds{task="db"} 0"#.to_owned(),
            r#"notify_task_last_success_timestamp_seconds{task="never ran"} 0"#.to_owned(),
            r#"notify_task_last_exit_code{task="db"} 2"#.to_owned(),
            r#"notify_task_last_duration_seconds{task="Daily \"Backup\"\n\\"} 90.5"#.to_owned(),
            r#"notify_task_bytes_copied{task="Daily \"Backup\"\n\\"} 1234567"#.to_owned(),
            r#"notify_task_files_copied{task="Daily \"Backup\"\n\\"} 42"#.to_owned(),
            r#"notify_task_overdue{task="db"} 1"#.to_owned(),
            r#"notify_task_overdue{task="never ran"} 0"#.to_owned(),
            r#"notify_task_running{task="never ran"} 1"#.to_owned(),
            r#"notify_task_last_outcome{task="db",outcome="failure"} 1"#.to_owned(),
            r#"notify_task_last_outcome{task="db",outcome="success"} 0"#.to_owned(),
            "notify_queue_pending 3".to_owned(),
            "# TYPE notify_queue_pending gauge".to_owned(),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // No sample where nothing is known.
        assert!(!text.contains(r#"notify_task_last_exit_code{task="never ran"}"#));
        assert!(!text.contains(r#"notify_task_last_outcome{task="never ran""#));
        // Each family once, HELP before TYPE before its samples.
        for (name, _, _) in GAUGES {
            assert_eq!(text.matches(&format!("# TYPE {name} gauge\n")).count(), 1);
            let help = text.find(&format!("# HELP {name} ")).unwrap();
            let first = text.find(&format!("\n{name}{{")).unwrap_or(usize::MAX);
            assert!(help < first);
        }
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn the_file_is_replaced_whole_and_readable_by_the_exporter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.prom");
        write_textfile(&path, "a 1\n").unwrap();
        write_textfile(&path, "notify_queue_pending 0\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "notify_queue_pending 0\n"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("notify.prom")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        let err = write_textfile(&dir.path().join("missing/notify.prom"), "").unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
