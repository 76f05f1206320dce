use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::ParseError;

/// How a run ended.
///
/// Exhaustive on purpose, unlike the crate's other enums: every consumer
/// (a locale's status sentence, a colour, an urgency) must say something
/// for each outcome, so a new one is a breaking change by design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The job did what it should.
    Success,
    /// The job finished but something deserves a look (e.g. unreadable files).
    Warning,
    /// The job failed.
    Failure,
    /// The job was stopped before it finished (e.g. by SIGINT or SIGTERM).
    Cancelled,
}

impl Outcome {
    /// Every outcome, in order of severity for display.
    pub const ALL: [Outcome; 4] = [
        Outcome::Success,
        Outcome::Warning,
        Outcome::Failure,
        Outcome::Cancelled,
    ];

    /// The name used in JSON, config and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Warning => "warning",
            Outcome::Failure => "failure",
            Outcome::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = ParseError;

    /// Accepts the four names and the common synonyms `ok`, `succeeded`,
    /// `warn`, `warnings`, `failed`, `fail`, `error`, `canceled`, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "success" | "ok" | "succeeded" | "successful" => Ok(Outcome::Success),
            "warning" | "warn" | "warnings" => Ok(Outcome::Warning),
            "failure" | "failed" | "fail" | "error" => Ok(Outcome::Failure),
            "cancelled" | "canceled" | "cancel" => Ok(Outcome::Cancelled),
            _ => Err(ParseError::new(
                "status",
                s,
                &["success", "warning", "failure", "cancelled"],
            )),
        }
    }
}

/// The record of one run of a task: what ran, where, when, how it ended.
///
/// Its JSON form (snake_case fields, RFC 3339 times) is notify's exchange
/// format; only `task_name` and `outcome` are required. Unknown fields are
/// rejected so that a misspelt field is reported instead of silently dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskResult {
    /// The task's name, e.g. `Daily Backup`.
    pub task_name: String,
    /// How the run ended.
    pub outcome: Outcome,
    /// The command's exit code, when it exited normally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The signal that ended the command, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// When the run started (UTC).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub started_at: Option<OffsetDateTime>,
    /// When the run finished (UTC).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub finished_at: Option<OffsetDateTime>,
    /// What was backed up or copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Where it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Bytes copied, when the job reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_copied: Option<u64>,
    /// Files copied, when the job reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_copied: Option<u64>,
    /// Number of errors the job reported.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error_count: u64,
    /// Number of warnings the job reported.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warning_count: u64,
    /// Error lines worth quoting in the mail (at most a few dozen; when
    /// `error_count` is larger, the mail says how many more there were).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Warning lines worth quoting in the mail, as `errors`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The last lines the job printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_tail: Option<String>,
    /// The command line that ran (for `notify run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The machine the job ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computer_name: Option<String>,
    /// Free-form values (`--set KEY=VALUE`), usable in templates by name;
    /// also the values a tool's reader found (`snapshot_id`, `data_added`,
    /// ... under their snake_case keys; counts and sizes as whole numbers).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
    /// Set when this is not a run's result but a check's finding about a
    /// task that did not report: overdue, did not finish, still running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence: Option<crate::SilenceNotice>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TaskResult {
    /// A result with only the required fields set.
    pub fn new(task_name: impl Into<String>, outcome: Outcome) -> Self {
        TaskResult {
            task_name: task_name.into(),
            outcome,
            exit_code: None,
            signal: None,
            started_at: None,
            finished_at: None,
            source: None,
            destination: None,
            bytes_copied: None,
            files_copied: None,
            error_count: 0,
            warning_count: 0,
            errors: Vec::new(),
            warnings: Vec::new(),
            log_tail: None,
            command: None,
            computer_name: None,
            extra: BTreeMap::new(),
            silence: None,
        }
    }

    /// How long the run took, when both times are known and in order.
    pub fn elapsed(&self) -> Option<Duration> {
        match (self.started_at, self.finished_at) {
            (Some(start), Some(end)) if end >= start => Some(end - start),
            _ => None,
        }
    }

    /// Whether this run counts as an error for the `errors` level: a
    /// failure, any reported error, or (when `cancelled_is_error`) a
    /// cancelled run.
    pub fn is_error(&self, cancelled_is_error: bool) -> bool {
        if self.silence.is_some() {
            // Overdue and did-not-finish are failures; a run still going
            // on past its time is news for `errors` too.
            return true;
        }
        match self.outcome {
            Outcome::Failure => true,
            Outcome::Cancelled if cancelled_is_error => true,
            _ => self.error_count > 0,
        }
    }

    /// Whether this run is anything but a clean success, for the
    /// `warnings` level: an error (as [`TaskResult::is_error`]), a warning
    /// outcome, a reported warning, or a cancelled run.
    pub fn is_warning(&self) -> bool {
        self.outcome != Outcome::Success || self.error_count > 0 || self.warning_count > 0
    }
}
