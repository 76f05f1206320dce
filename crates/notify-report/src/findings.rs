//! What the readers found in a run's command line and output, and how it
//! goes into a task result.

use std::collections::{BTreeMap, VecDeque};

use notify_core::{Outcome, TaskResult};

use crate::generic::Severity;
use crate::{Log, Stream};

/// The most error (or warning) lines kept; the counts go on beyond it, and
/// the mail says how many more there were.
pub const MAX_LINES: usize = 50;

/// How many of the last lines of each stream are kept, as the errors of a
/// failed run that printed no recognisable error line.
const LAST_LINES: usize = 10;

/// Error or warning lines: the first [`MAX_LINES`], the last place kept for
/// the line that ended the run, and the count of all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Lines {
    kept: Vec<String>,
    count: u64,
}

impl Lines {
    fn push(&mut self, line: &str, last_word: bool) {
        self.count += 1;
        let line = line.trim_end();
        if self.kept.len() < MAX_LINES {
            self.kept.push(line.to_owned());
        } else if last_word {
            if let Some(last) = self.kept.last_mut() {
                *last = line.to_owned();
            }
        }
    }
}

/// What was found: the result's fields, the tool's values, error and warning
/// lines with their counts, and the last lines of each stream. Bounded
/// whatever the output's size.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// What was backed up or copied.
    pub source: Option<String>,
    /// Where it went.
    pub destination: Option<String>,
    /// Bytes copied.
    pub bytes_copied: Option<u64>,
    /// Files copied.
    pub files_copied: Option<u64>,
    values: BTreeMap<&'static str, String>,
    errors: Lines,
    warnings: Lines,
    last_stderr: VecDeque<String>,
}

impl Findings {
    /// Records an error line.
    pub fn error(&mut self, line: &str) {
        self.errors.push(line, false);
    }

    /// Records the error line that ended the run (`Fatal: ...`): kept even
    /// when [`MAX_LINES`] error lines came before it.
    pub fn fatal(&mut self, line: &str) {
        self.errors.push(line, true);
    }

    /// Records a warning line.
    pub fn warning(&mut self, line: &str) {
        self.warnings.push(line, false);
    }

    /// Sets a tool value (one of [`crate::keys`]).
    pub fn set(&mut self, key: &'static str, value: impl Into<String>) {
        self.values.insert(key, value.into());
    }

    /// Sets a count or size tool value.
    pub fn set_number(&mut self, key: &'static str, value: u64) {
        self.set(key, value.to_string());
    }

    /// A tool value found so far.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The error lines kept so far.
    pub fn errors(&self) -> &[String] {
        &self.errors.kept
    }

    /// How many error lines were seen.
    pub fn error_count(&self) -> u64 {
        self.errors.count
    }

    /// The warning lines kept so far.
    pub fn warnings(&self) -> &[String] {
        &self.warnings.kept
    }

    /// How many warning lines were seen.
    pub fn warning_count(&self) -> u64 {
        self.warnings.count
    }

    /// Keeps the last non-blank lines of stderr (those of stdout are the
    /// log's last lines when stderr had none).
    pub(crate) fn remember(&mut self, stream: Stream, line: &str) {
        if stream == Stream::Stdout || line.trim().is_empty() {
            return;
        }
        let last = &mut self.last_stderr;
        // The oldest line's buffer is reused: no allocation per line.
        let mut kept = if last.len() == LAST_LINES {
            last.pop_front().unwrap_or_default()
        } else {
            String::new()
        };
        kept.clear();
        kept.push_str(line.trim_end());
        last.push_back(kept);
    }

    /// Puts what was found into `result` (see [`crate::Report::finish`]);
    /// `log` is the run's output, whose last lines stand in for stderr's when
    /// it printed nothing there.
    pub(crate) fn apply(self, result: &mut TaskResult, log: &Log) {
        fill(&mut result.source, self.source);
        fill(&mut result.destination, self.destination);
        fill(&mut result.bytes_copied, self.bytes_copied);
        fill(&mut result.files_copied, self.files_copied);
        for (key, value) in self.values {
            result.extra.entry(key.to_owned()).or_insert(value);
        }
        result.errors.extend(self.errors.kept);
        result.error_count += self.errors.count;
        result.warnings.extend(self.warnings.kept);
        result.warning_count += self.warnings.count;

        let last = || -> Vec<String> {
            if self.last_stderr.is_empty() {
                log.last_lines(LAST_LINES)
            } else {
                self.last_stderr.iter().cloned().collect()
            }
        };
        match result.outcome {
            Outcome::Failure if result.errors.is_empty() => {
                // Not a line already listed as a warning.
                let lines = last()
                    .into_iter()
                    .filter(|l| !result.warnings.contains(l))
                    .collect::<Vec<_>>();
                result.errors.extend(lines);
                result.error_count = result.error_count.max(result.errors.len() as u64).max(1);
            }
            Outcome::Warning if result.errors.is_empty() && result.warnings.is_empty() => {
                result.warnings.extend(last());
                result.warning_count = result
                    .warning_count
                    .max(result.warnings.len() as u64)
                    .max(1);
            }
            _ => {}
        }
    }
}

/// Error and warning lines held back until a later line decides whether
/// they count; bounded like [`Findings`]: the first [`MAX_LINES`] of each
/// kept, the rest counted.
#[derive(Debug, Default)]
pub(crate) struct Held {
    lines: Vec<(Severity, String)>,
    errors: u64,
    warnings: u64,
}

impl Held {
    /// Holds `line` back as an error or a warning.
    pub(crate) fn push(&mut self, severity: Severity, line: &str) {
        let count = match severity {
            Severity::Error => &mut self.errors,
            Severity::Warning => &mut self.warnings,
        };
        *count += 1;
        let kept = self.lines.iter().filter(|(s, _)| *s == severity).count();
        if kept < MAX_LINES {
            self.lines.push((severity, line.to_owned()));
        }
    }

    /// Forgets the lines held.
    pub(crate) fn clear(&mut self) {
        *self = Held::default();
    }

    /// Records the lines held, in their order, and their counts.
    pub(crate) fn release(&mut self, found: &mut Findings) {
        let Held {
            lines,
            errors,
            warnings,
        } = std::mem::take(self);
        let (mut kept_errors, mut kept_warnings) = (0, 0);
        for (severity, line) in &lines {
            match severity {
                Severity::Error => {
                    found.error(line);
                    kept_errors += 1;
                }
                Severity::Warning => {
                    found.warning(line);
                    kept_warnings += 1;
                }
            }
        }
        // The lines that were only counted.
        found.errors.count += errors - kept_errors;
        found.warnings.count += warnings - kept_warnings;
    }
}

fn fill<T>(field: &mut Option<T>, found: Option<T>) {
    if field.is_none() {
        *field = found;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_capped_and_the_last_word_kept() {
        let mut f = Findings::default();
        for i in 0..200 {
            f.error(&format!("error {i}"));
        }
        f.fatal("Fatal: the end");
        assert_eq!(f.errors().len(), MAX_LINES);
        assert_eq!(f.errors()[MAX_LINES - 1], "Fatal: the end");
        assert_eq!(f.error_count(), 201);
    }

    #[test]
    fn a_failure_is_never_without_errors() {
        let mut f = Findings::default();
        let mut log = Log::new(0);
        log.push_line(b"copying");
        f.remember(Stream::Stdout, "copying");
        f.remember(Stream::Stderr, "something broke");
        f.remember(Stream::Stderr, "   ");
        let mut r = TaskResult::new("t", Outcome::Failure);
        f.clone().apply(&mut r, &log);
        assert_eq!(r.errors, ["something broke"]);
        assert_eq!(r.error_count, 1);

        let mut quiet = Findings::default();
        quiet.remember(Stream::Stdout, "only stdout");
        let mut stdout = Log::new(0);
        stdout.push_line(b"only stdout");
        stdout.push_line(b"  ");
        let mut r = TaskResult::new("t", Outcome::Failure);
        quiet.apply(&mut r, &stdout);
        assert_eq!(r.errors, ["only stdout"]);

        let mut r = TaskResult::new("t", Outcome::Failure);
        Findings::default().apply(&mut r, &Log::new(0));
        assert!(r.errors.is_empty());
        assert_eq!(r.error_count, 1);

        let mut r = TaskResult::new("t", Outcome::Warning);
        f.clone().apply(&mut r, &log);
        assert_eq!(
            (r.warnings.len(), r.warning_count, r.error_count),
            (1, 1, 0)
        );

        let mut r = TaskResult::new("t", Outcome::Success);
        f.apply(&mut r, &log);
        assert!(r.errors.is_empty() && r.warnings.is_empty());

        // A failure whose only lines were warnings does not list them twice.
        let mut w = Findings::default();
        w.remember(Stream::Stderr, "warning: slow");
        w.remember(Stream::Stderr, "killed");
        w.warning("warning: slow");
        let mut r = TaskResult::new("t", Outcome::Failure);
        w.apply(&mut r, &Log::new(0));
        assert_eq!(r.errors, ["killed"]);
        assert_eq!(r.warnings, ["warning: slow"]);
    }

    #[test]
    fn what_the_caller_set_wins() {
        let mut f = Findings {
            source: Some("/found".into()),
            files_copied: Some(3),
            ..Findings::default()
        };
        f.set(crate::keys::SNAPSHOT_ID, "abcd1234");
        let mut r = TaskResult::new("t", Outcome::Success);
        r.source = Some("/given".into());
        r.extra.insert("snapshot_id".into(), "given".into());
        f.apply(&mut r, &Log::new(0));
        assert_eq!(r.source.as_deref(), Some("/given"));
        assert_eq!(r.files_copied, Some(3));
        assert_eq!(r.extra["snapshot_id"], "given");
    }
}
