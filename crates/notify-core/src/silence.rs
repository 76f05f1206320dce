//! Silence is not success: what a check finds about a task that did not
//! report, and the history of runs it judges from.
//!
//! Nothing here reads a clock, a process table or a schedule: the caller
//! says when the next run was due ([`overdue`]) and whether a run's process
//! is still there; these are the plain data and the rules.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::{Outcome, TaskResult};

/// What a check found about a task that did not report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Silence {
    /// The last run started longer ago than expected plus the grace time.
    Overdue,
    /// A run started, and its process is gone without having finished
    /// (kill -9, a crash, a reboot).
    DidNotFinish,
    /// A run has been going on for longer than its `max_runtime`.
    StillRunning,
}

impl Silence {
    /// Every kind, in the order of the locales' sentences.
    pub const ALL: [Silence; 3] = [
        Silence::Overdue,
        Silence::DidNotFinish,
        Silence::StillRunning,
    ];

    /// The name in JSON: `overdue`, `did_not_finish`, `still_running`.
    pub fn as_str(self) -> &'static str {
        match self {
            Silence::Overdue => "overdue",
            Silence::DidNotFinish => "did_not_finish",
            Silence::StillRunning => "still_running",
        }
    }

    /// Whether it counts as a failure (for `changes`: a first notice,
    /// reminders, a recovery when a run works again). A run that is still
    /// going on is news once, not a failure.
    pub fn is_failure(self) -> bool {
        !matches!(self, Silence::StillRunning)
    }
}

impl fmt::Display for Silence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A check's finding about one task, carried by the [`TaskResult`] it is
/// told in ([`TaskResult::silence`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SilenceNotice {
    /// What was found.
    pub kind: Silence,
    /// What the finding is about, the same in every check until something
    /// changes: for [`Silence::Overdue`] when the missed run was expected,
    /// for the others when the run in question started. One finding is
    /// told once per `since` (a reminder aside).
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// When the last run that finished started (or finished, when its
    /// start is unknown).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_run_at: Option<OffsetDateTime>,
    /// How that run ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_outcome: Option<Outcome>,
    /// When the next run was expected (grace not counted), for
    /// [`Silence::Overdue`].
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expected_by: Option<OffsetDateTime>,
}

impl SilenceNotice {
    /// A finding of `kind` about what began at `since`.
    pub fn new(kind: Silence, since: OffsetDateTime) -> Self {
        SilenceNotice {
            kind,
            since,
            last_run_at: None,
            last_outcome: None,
            expected_by: None,
        }
    }

    /// With the last run that finished.
    pub fn last_run(mut self, at: Option<OffsetDateTime>, outcome: Option<Outcome>) -> Self {
        self.last_run_at = at;
        self.last_outcome = outcome;
        self
    }

    /// With when the next run was expected.
    pub fn expected_by(mut self, at: Option<OffsetDateTime>) -> Self {
        self.expected_by = at;
        self
    }

    /// The task result that tells it: outcome failure (a task that is
    /// still running: a warning), the times of the run in question.
    pub fn into_result(self, task_name: impl Into<String>) -> TaskResult {
        let mut result = TaskResult::new(
            task_name,
            if self.kind.is_failure() {
                Outcome::Failure
            } else {
                Outcome::Warning
            },
        );
        if self.kind != Silence::Overdue {
            result.started_at = Some(self.since);
        }
        result.silence = Some(self);
        result
    }
}

/// Whether a task whose last run started at `last_start` and whose next run
/// was due at `due` is overdue at `now`: more than `grace` past `due`, with
/// no run since.
pub fn overdue(
    last_start: Option<OffsetDateTime>,
    due: OffsetDateTime,
    grace: Duration,
    now: OffsetDateTime,
) -> bool {
    last_start.is_none_or(|start| start < due) && now > due + grace
}

/// The grace time of an expectation that recurs every `interval`, when none
/// is set: a tenth of it, at least one minute.
pub fn default_grace(interval: Duration) -> Duration {
    (interval / 10_i32).max(Duration::MINUTE)
}

/// The most runs a [`History`] keeps.
pub const HISTORY_RUNS: usize = 50;

/// One finished (or vanished) run, as a task's history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunRecord {
    /// How it ended.
    pub outcome: Outcome,
    /// Its process vanished without a finish (the outcome is then
    /// `failure`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub did_not_finish: bool,
    /// When it started, when known.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub started_at: Option<OffsetDateTime>,
    /// When it finished (or was found gone).
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// The exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The signal that ended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// Bytes copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_copied: Option<u64>,
    /// Files copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_copied: Option<u64>,
    /// Errors counted.
    #[serde(default)]
    pub error_count: u64,
    /// Warnings counted.
    #[serde(default)]
    pub warning_count: u64,
    /// The first error line, for an overview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The longest first error line a [`RunRecord`] keeps, in characters.
const FIRST_ERROR_MAX: usize = 300;

impl RunRecord {
    /// The record of `result`, finished at its `finished_at` or else `now`.
    pub fn of(result: &TaskResult, now: OffsetDateTime) -> Self {
        let first_error = result.errors.first().map(|line| {
            let mut line = line.clone();
            if let Some((cut, _)) = line.char_indices().nth(FIRST_ERROR_MAX) {
                line.truncate(cut);
                line.push('…');
            }
            line
        });
        RunRecord {
            outcome: result.outcome,
            did_not_finish: result
                .silence
                .as_ref()
                .is_some_and(|s| s.kind == Silence::DidNotFinish),
            started_at: result.started_at,
            finished_at: result.finished_at.unwrap_or(now),
            exit_code: result.exit_code,
            signal: result.signal,
            bytes_copied: result.bytes_copied,
            files_copied: result.files_copied,
            error_count: result.error_count,
            warning_count: result.warning_count,
            first_error,
        }
    }

    /// When the run started, else when it finished.
    pub fn at(&self) -> OffsetDateTime {
        self.started_at.unwrap_or(self.finished_at)
    }

    /// How long it took, when its start is known.
    pub fn duration(&self) -> Option<Duration> {
        self.started_at
            .map(|s| self.finished_at - s)
            .filter(|d| !d.is_negative())
    }

    /// Whether it counts as failing for a streak: a failure, a cancelled
    /// run (when `cancelled_is_error`), or errors counted.
    pub fn is_failing(&self, cancelled_is_error: bool) -> bool {
        match self.outcome {
            Outcome::Failure => true,
            Outcome::Cancelled if cancelled_is_error => true,
            _ => self.error_count > 0,
        }
    }
}

/// A run of `notify run` that has started and not yet finished: enough to
/// tell later whether its process is still there (the same pid, started at
/// the same time, since the same boot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Running {
    /// The id of this run (unique among the task's runs).
    pub id: String,
    /// The process id of the `notify run` that watches the job.
    pub pid: u32,
    /// That process's start time, in the system's own unit (clock ticks
    /// since boot on Linux), when known: a pid reused by another process
    /// has another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_start: Option<u64>,
    /// The boot the process belongs to, when known: after a reboot no
    /// process of an earlier boot is running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// When the run started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
}

impl Running {
    /// The record of a run that started at `started_at` in process `pid`.
    pub fn new(id: impl Into<String>, pid: u32, started_at: OffsetDateTime) -> Self {
        Running {
            id: id.into(),
            pid,
            process_start: None,
            boot_id: None,
            started_at,
        }
    }

    /// With the process's start time and boot id, as far as known.
    pub fn identity(mut self, process_start: Option<u64>, boot_id: Option<String>) -> Self {
        self.process_start = process_start;
        self.boot_id = boot_id;
        self
    }

    /// Whether `alive` is the same process: the pid, and the start time
    /// and boot id where both sides know them.
    pub fn same_process(
        &self,
        pid: u32,
        process_start: Option<u64>,
        boot_id: Option<&str>,
    ) -> bool {
        let agree = |a: Option<&str>, b: Option<&str>| match (a, b) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        self.pid == pid
            && match (self.process_start, process_start) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
            && agree(self.boot_id.as_deref(), boot_id)
    }
}

/// What is remembered of a task's runs, whatever its level: the last
/// [`HISTORY_RUNS`] runs, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct History {
    /// The task's name.
    pub task: String,
    /// When notify first heard of the task (its first run, or the first
    /// check that knew it from the configuration): the clock of an
    /// expectation starts here when it has never run.
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen_at: OffsetDateTime,
    /// The last runs, oldest first.
    #[serde(default)]
    pub runs: Vec<RunRecord>,
    /// When the last run that was not failing started (a cancelled run
    /// counts as failing), kept beyond the runs the history holds.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_success_at: Option<OffsetDateTime>,
}

/// A task's current streak: how many runs in a row were failing, or were
/// not, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunStreak {
    /// Whether the runs of the streak were failing.
    pub failing: bool,
    /// How many runs in a row (at most the runs kept).
    pub runs: u32,
    /// When the first of them started.
    pub since: OffsetDateTime,
}

impl History {
    /// The history of a task first seen at `now`, with no runs yet.
    pub fn new(task: impl Into<String>, now: OffsetDateTime) -> Self {
        History {
            task: task.into(),
            first_seen_at: now,
            runs: Vec::new(),
            last_success_at: None,
        }
    }

    /// Adds a run, dropping the oldest beyond [`HISTORY_RUNS`].
    pub fn record(&mut self, run: RunRecord) {
        if !run.is_failing(true) {
            self.last_success_at = self.last_success_at.max(Some(run.at()));
        }
        self.runs.push(run);
        if self.runs.len() > HISTORY_RUNS {
            let extra = self.runs.len() - HISTORY_RUNS;
            self.runs.drain(..extra);
        }
    }

    /// The last run.
    pub fn last(&self) -> Option<&RunRecord> {
        self.runs.last()
    }

    /// The last run that was not failing.
    pub fn last_success(&self, cancelled_is_error: bool) -> Option<&RunRecord> {
        self.runs
            .iter()
            .rev()
            .find(|r| !r.is_failing(cancelled_is_error))
    }

    /// When the last run that was not failing started (a cancelled run
    /// counts as failing), also when it is older than the runs kept.
    pub fn last_success_start(&self) -> Option<OffsetDateTime> {
        self.last_success(true)
            .map(RunRecord::at)
            .max(self.last_success_at)
    }

    /// When the last run started (or finished, when its start is unknown).
    pub fn last_start(&self) -> Option<OffsetDateTime> {
        self.runs.iter().map(RunRecord::at).max()
    }

    /// The current streak: the last runs that were all failing, or all not.
    pub fn streak(&self, cancelled_is_error: bool) -> Option<RunStreak> {
        let last = self.runs.last()?;
        let failing = last.is_failing(cancelled_is_error);
        let same: Vec<&RunRecord> = self
            .runs
            .iter()
            .rev()
            .take_while(|r| r.is_failing(cancelled_is_error) == failing)
            .collect();
        Some(RunStreak {
            failing,
            runs: u32::try_from(same.len()).unwrap_or(u32::MAX),
            since: same.last().map_or(last.at(), |r| r.at()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn run(outcome: Outcome, at: OffsetDateTime) -> RunRecord {
        let mut r = TaskResult::new("t", outcome);
        r.started_at = Some(at);
        r.finished_at = Some(at + Duration::minutes(5));
        RunRecord::of(&r, at)
    }

    #[test]
    fn overdue_only_past_due_and_grace_without_a_newer_run() {
        let due = datetime!(2026-12-05 03:00 UTC);
        let grace = Duration::minutes(10);
        let before = Some(datetime!(2026-12-04 03:00 UTC));
        assert!(!overdue(before, due, grace, due + Duration::minutes(10)));
        assert!(overdue(before, due, grace, due + Duration::minutes(11)));
        assert!(overdue(None, due, grace, due + Duration::minutes(11)));
        // A run at or after the due time: not overdue.
        assert!(!overdue(Some(due), due, grace, due + Duration::hours(5)));
    }

    #[test]
    fn default_grace_is_a_tenth_and_at_least_a_minute() {
        assert_eq!(default_grace(Duration::hours(24)), Duration::minutes(144));
        assert_eq!(default_grace(Duration::seconds(3)), Duration::MINUTE);
    }

    #[test]
    fn history_keeps_the_last_runs_and_counts_the_streak() {
        let t0 = datetime!(2026-12-01 03:00 UTC);
        let mut h = History::new("t", t0);
        for i in 0..60 {
            h.record(run(Outcome::Success, t0 + Duration::days(i)));
        }
        assert_eq!(h.runs.len(), HISTORY_RUNS);
        assert_eq!(h.runs[0].at(), t0 + Duration::days(10));
        for i in 60..63 {
            h.record(run(Outcome::Failure, t0 + Duration::days(i)));
        }
        let s = h.streak(true).unwrap();
        assert!(s.failing);
        assert_eq!(s.runs, 3);
        assert_eq!(s.since, t0 + Duration::days(60));
        assert_eq!(h.last_success(true).unwrap().at(), t0 + Duration::days(59));
        assert_eq!(h.last_start(), Some(t0 + Duration::days(62)));
    }

    #[test]
    fn the_last_success_is_kept_beyond_the_runs_held() {
        let t0 = datetime!(2026-12-01 03:00 UTC);
        let mut h = History::new("t", t0);
        assert_eq!(h.last_success_start(), None);
        h.record(run(Outcome::Warning, t0));
        h.record(run(Outcome::Cancelled, t0 + Duration::hours(1)));
        assert_eq!(h.last_success_start(), Some(t0));
        for i in 1..=(HISTORY_RUNS as i64 + 5) {
            h.record(run(Outcome::Failure, t0 + Duration::days(i)));
        }
        assert!(h.last_success(true).is_none());
        assert_eq!(h.last_success_start(), Some(t0));
        // A history written before the field existed reads as before.
        let old = r#"{"task":"t","first_seen_at":"2026-12-01T03:00:00Z","runs":[]}"#;
        let h: History = serde_json::from_str(old).unwrap();
        assert_eq!(h.last_success_at, None);
    }

    #[test]
    fn a_run_with_errors_counts_as_failing() {
        let mut r = TaskResult::new("t", Outcome::Success);
        r.error_count = 1;
        r.errors = vec!["x".repeat(1000)];
        let rec = RunRecord::of(&r, datetime!(2026-12-01 03:00 UTC));
        assert!(rec.is_failing(true));
        assert_eq!(
            rec.first_error.unwrap().chars().count(),
            FIRST_ERROR_MAX + 1
        );
    }

    #[test]
    fn the_same_process_is_the_pid_its_start_and_its_boot() {
        let r = Running::new("1", 42, datetime!(2026-12-01 03:00 UTC))
            .identity(Some(1000), Some("boot-a".into()));
        assert!(r.same_process(42, Some(1000), Some("boot-a")));
        assert!(!r.same_process(43, Some(1000), Some("boot-a")));
        // The pid reused by a process that started later.
        assert!(!r.same_process(42, Some(2000), Some("boot-a")));
        // Another boot.
        assert!(!r.same_process(42, Some(1000), Some("boot-b")));
        // Nothing but the pid known on one side.
        assert!(r.same_process(42, None, None));
    }
}
