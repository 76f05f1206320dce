//! Readers that know the job: they turn a wrapped command's command line and
//! output into the values of a [`notify_core::TaskResult`] — source,
//! destination, bytes and files copied, error and warning lines with their
//! counts, and tool values such as restic's snapshot ID or borg's archive.
//!
//! - [`Invocation::parse`] recognises the tool (`restic`, `borg`, `rsync`,
//!   `rclone`) from the program name, also behind `sudo`, `env`, `nice`,
//!   `ionice`, `timeout`, `chrt` and `systemd-inhibit`.
//! - [`Report`] is fed the output chunk by chunk, stdout and stderr told
//!   apart, and keeps a cleaned, bounded [`Log`] of it: carriage-return
//!   progress collapsed to each line's final state, ANSI escapes removed,
//!   very long lines cut with a marker.
//! - [`Report::finish`] fills the result; [`keys`] names the tool values it
//!   puts into `TaskResult::extra`.
//! - [`Redactor`] keeps a command line's secrets (`RESTIC_PASSWORD=…`,
//!   `--password …`, a URL's password, rclone's `secret_access_key=…`) out
//!   of the mail: [`Invocation::shown`] is the command line to show, and the
//!   report masks the same secrets in everything the job printed.
//!
//! ```
//! use notify_core::{Outcome, TaskResult};
//! use notify_report::{Invocation, Report, Stream, ToolChoice};
//!
//! let argv = ["sudo", "rsync", "-a", "--stats", "/home/", "/mnt/backup/home/"];
//! let invocation = Invocation::parse(&argv, ToolChoice::Auto);
//! let mut report = Report::new(&invocation, &|_| None, 64 * 1024);
//! report.feed(Stream::Stdout, b"Number of regular files transferred: 200\n");
//! report.feed(Stream::Stdout, b"Total transferred file size: 1,234,567 bytes\n");
//! let mut result = TaskResult::new("Sync", Outcome::Success);
//! report.finish(&mut result);
//! assert_eq!(result.source.as_deref(), Some("/home/"));
//! assert_eq!(result.destination.as_deref(), Some("/mnt/backup/home/"));
//! assert_eq!(result.files_copied, Some(200));
//! assert_eq!(result.bytes_copied, Some(1_234_567));
//! ```
//!
//! A key design decision made in this crate is that it is pure, like
//! notify-core: it reads no file, no clock and no environment variable. The
//! caller passes the command line, a lookup for the few variables a tool
//! takes its repository from (`RESTIC_REPOSITORY`, `BORG_REPO`), and the
//! bytes the command printed; so every reader is tested with recorded
//! output, and memory stays bounded whatever the command prints. A newcomer
//! might expect a reader to decide the outcome: it never does. The outcome
//! comes from the exit code (or `--status`); readers only add what the
//! output says, and a failed run is never left without an error line.
#![deny(missing_docs)]

mod borg;
mod command;
mod findings;
mod generic;
pub mod keys;
mod lines;
mod log;
mod rclone;
mod redact;
mod restic;
mod rsync;

pub use command::{Invocation, Tool, ToolChoice};
pub use findings::{Findings, MAX_LINES};
pub use lines::MAX_LINE;
pub use log::Log;
pub use redact::{Redactor, MASK};

use notify_core::TaskResult;

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// A lookup for environment variables (the caller's environment, or a test's
/// map). Variables set on the command line with `env VAR=VALUE` or
/// `sudo VAR=VALUE` are looked up in the [`Invocation`] first.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What one tool's reader does with the output, line by line.
pub(crate) trait Reader {
    /// One cleaned line (no line end, escapes removed, at most
    /// [`MAX_LINE`] bytes plus a cut marker), decoded lossily.
    fn line(&mut self, stream: Stream, line: &str, found: &mut Findings);

    /// The output has ended.
    fn finish(&mut self, _found: &mut Findings) {}
}

/// A run's output being read: the tool's reader, the line splitter and the
/// cleaned log.
pub struct Report {
    reader: Box<dyn Reader>,
    found: Findings,
    lines: lines::Splitter,
    log: Log,
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("found", &self.found)
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl Report {
    /// A report for `invocation`, whose reader reads the command line now
    /// (source, destination, repository from `env`), keeping at most
    /// `log_max_bytes` of cleaned output in its [`Log`].
    pub fn new(invocation: &Invocation, env: EnvLookup<'_>, log_max_bytes: usize) -> Report {
        let lookup = |name: &str| {
            invocation
                .env(name)
                .map(str::to_owned)
                .or_else(|| env(name))
        };
        let mut found = Findings::default();
        let reader: Box<dyn Reader> = match invocation.tool() {
            Some(Tool::Restic) => restic::reader(invocation, &lookup, &mut found),
            Some(Tool::Borg) => borg::reader(invocation, &lookup, &mut found),
            Some(Tool::Rsync) => rsync::reader(invocation, &lookup, &mut found),
            Some(Tool::Rclone) => rclone::reader(invocation, &lookup, &mut found),
            None => Box::new(generic::Generic),
        };
        Report {
            reader,
            found,
            lines: lines::Splitter::default(),
            log: Log::new(log_max_bytes).with_redactor(invocation.redactor().clone()),
        }
    }

    /// Reads a chunk of output. Lines are complete when their line end
    /// arrives; each stream keeps its own partial line.
    pub fn feed(&mut self, stream: Stream, chunk: &[u8]) {
        let Report {
            reader,
            found,
            lines,
            log,
        } = self;
        // Lines that lie one after the other in the chunk go into the log
        // with one copy, not one each.
        let base = chunk.as_ptr() as usize;
        let mut pending: Option<(usize, usize)> = None;
        lines.feed(stream, chunk, &mut |stream, line, text| {
            let at = (line.as_ptr() as usize).wrapping_sub(base);
            let in_chunk = at <= chunk.len()
                && line.len() < chunk.len() - at
                && chunk.get(at + line.len()) == Some(&b'\n');
            match pending {
                Some((start, end)) if in_chunk && at == end => {
                    pending = Some((start, at + line.len() + 1));
                }
                _ => {
                    if let Some((start, end)) = pending.take() {
                        log.push_lines(&chunk[start..end]);
                    }
                    if in_chunk {
                        pending = Some((at, at + line.len() + 1));
                    } else {
                        log.push_line(line);
                    }
                }
            }
            deliver(reader.as_mut(), found, stream, line, text)
        });
        if let Some((start, end)) = pending {
            log.push_lines(&chunk[start..end]);
        }
    }

    /// The cleaned output so far.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// What the readers found so far.
    pub fn findings(&self) -> &Findings {
        &self.found
    }

    /// Ends the output (a partial last line counts as a line) and fills
    /// `result` with what was found: source, destination, bytes and files
    /// copied, errors, warnings, tool values (into `extra`, without
    /// replacing a value already there). Values already set in `result` are
    /// kept: what the caller knows wins over what the output says.
    ///
    /// The outcome is not changed. A [`Outcome::Failure`] with no error line
    /// gets the last lines of stderr (else of stdout) as its errors, and at
    /// least one error counted; a [`Outcome::Warning`] with neither error
    /// nor warning lines gets them as its warnings.
    ///
    /// [`Outcome::Failure`]: notify_core::Outcome::Failure
    /// [`Outcome::Warning`]: notify_core::Outcome::Warning
    pub fn finish(mut self, result: &mut TaskResult) -> Log {
        let Report {
            reader,
            found,
            lines,
            log,
        } = &mut self;
        lines.finish(&mut |stream, line, text| {
            log.push_line(line);
            deliver(reader.as_mut(), found, stream, line, text)
        });
        reader.finish(found);
        std::mem::take(found).apply(result, log);
        redact_result(log.redactor(), result);
        self.log
    }
}

/// Masks the command line's secrets in the text values of `result`.
fn redact_result(redactor: &Redactor, result: &mut TaskResult) {
    let mask = |text: &mut String| {
        if let std::borrow::Cow::Owned(masked) = redactor.text(text) {
            *text = masked;
        }
    };
    for text in [&mut result.source, &mut result.destination]
        .into_iter()
        .flatten()
    {
        mask(text);
    }
    result.errors.iter_mut().for_each(mask);
    result.warnings.iter_mut().for_each(mask);
    result.extra.values_mut().for_each(mask);
}

/// One line to the findings and the tool's reader (the caller puts it into
/// the log).
fn deliver(
    reader: &mut dyn Reader,
    found: &mut Findings,
    stream: Stream,
    line: &[u8],
    text: Option<&str>,
) {
    // Most output is UTF-8 (and then often checked with its chunk
    // already); the lossy copy only when it is not.
    let text = match text.map(Ok).unwrap_or_else(|| std::str::from_utf8(line)) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(line),
    };
    found.remember(stream, &text);
    reader.line(stream, &text, found);
}

/// The crate's README, whose examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
