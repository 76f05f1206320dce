//! One row per task, from the configuration and the task histories: how its
//! last run went, its streak, when the next run is expected and whether it
//! is overdue or running. What `notify status` shows and `notify digest`
//! mails.

use notify_core::{History, Outcome, RunRecord};
use notify_queue::HistoryStore;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::app::config::Settings;
use crate::app::schedule::{self, Expectation};
use crate::app::Env;

use crate::app::process;

/// The state of one task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    /// The task's name.
    pub task: String,
    /// Its level (of the email).
    pub level: String,
    /// How the last run ended: `success`, `warning`, `failure`,
    /// `cancelled`, or `did_not_finish`; `None` before its first run.
    pub last_outcome: Option<&'static str>,
    /// When the last run started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_started_at: Option<OffsetDateTime>,
    /// When the last run finished (or was found gone).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_finished_at: Option<OffsetDateTime>,
    /// How long the last run took, in seconds.
    pub last_duration_seconds: Option<f64>,
    /// The last run's exit code.
    pub last_exit_code: Option<i32>,
    /// Bytes the last run copied.
    pub bytes_copied: Option<u64>,
    /// Files the last run copied.
    pub files_copied: Option<u64>,
    /// Errors the last run counted.
    pub error_count: Option<u64>,
    /// The last run's first error line.
    pub first_error: Option<String>,
    /// When the last run that did not fail started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success_at: Option<OffsetDateTime>,
    /// The current streak.
    pub streak: Option<Streak>,
    /// Whether the last run failed (or did not finish), or the task is
    /// overdue.
    pub failing: bool,
    /// `expect_every`, in seconds.
    pub expect_every_seconds: Option<i64>,
    /// `expect_cron`, as written.
    pub expect_cron: Option<String>,
    /// When the next run is expected (grace not counted).
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_expected_at: Option<OffsetDateTime>,
    /// Whether the expected run is later than expected plus grace.
    pub overdue: bool,
    /// Whether a `notify run` of it is going on.
    pub running: bool,
    /// Since when it is going on.
    #[serde(with = "time::serde::rfc3339::option")]
    pub running_since: Option<OffsetDateTime>,
    /// How many runs the history keeps.
    pub runs_recorded: usize,
}

/// A task's runs in a row that all failed, or all did not.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Streak {
    /// Whether they failed.
    pub failing: bool,
    /// How many (at most the runs the history keeps).
    pub runs: u32,
    /// When the first of them started.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

/// The rows of every task named in the configuration or known from its
/// history, by name; warnings about damaged files go to stderr.
pub fn rows(env: &Env<'_>, now: OffsetDateTime) -> Vec<TaskRow> {
    let store = HistoryStore::new(env.data_dir);
    let (histories, warnings) = store.all();
    let (running, more) = store.running();
    for w in warnings.iter().chain(&more) {
        env.ui.warn(w);
    }
    let config = &env.loaded.config;
    let mut names: Vec<String> = config.tasks.keys().cloned().collect();
    names.extend(histories.iter().map(|h| h.task.clone()));
    names.extend(running.iter().map(|r| r.task.clone()));
    names.sort();
    names.dedup();
    let tz = std::cell::OnceCell::new();
    names
        .into_iter()
        .map(|task| {
            let settings = config.for_task(&task).settings;
            let history = histories.iter().find(|h| h.task == task);
            let since = running
                .iter()
                .filter(|r| r.task == task && process::is_running(&r.run))
                .map(|r| r.run.started_at)
                .min();
            row(task, &settings, history, since, now, &tz)
        })
        .collect()
}

fn row(
    task: String,
    settings: &Settings,
    history: Option<&History>,
    running_since: Option<OffsetDateTime>,
    now: OffsetDateTime,
    tz: &std::cell::OnceCell<jiff::tz::TimeZone>,
) -> TaskRow {
    let cancelled_is_error = settings.cancelled_is_error.unwrap_or(true);
    let last: Option<&RunRecord> = history.and_then(History::last);
    let last_start = history
        .and_then(History::last_start)
        .into_iter()
        .chain(running_since)
        .max();
    let expectation = settings.expectation();
    let (next_expected_at, overdue) = expectation
        .as_ref()
        .and_then(|e| {
            schedule::due(
                e,
                settings,
                last_start,
                history.map(|h| h.first_seen_at),
                now,
                tz.get_or_init(schedule::local_zone),
            )
        })
        .map_or((None, false), |(at, late)| (Some(at), late));
    let streak = history.and_then(|h| h.streak(cancelled_is_error));
    TaskRow {
        level: settings.level().to_string(),
        last_outcome: last.map(outcome_name),
        last_started_at: last.and_then(|r| r.started_at),
        last_finished_at: last.map(|r| r.finished_at),
        last_duration_seconds: last
            .and_then(RunRecord::duration)
            .map(|d: Duration| d.as_seconds_f64()),
        last_exit_code: last.and_then(|r| r.exit_code),
        bytes_copied: last.and_then(|r| r.bytes_copied),
        files_copied: last.and_then(|r| r.files_copied),
        error_count: last.map(|r| r.error_count),
        first_error: last.and_then(|r| r.first_error.clone()),
        last_success_at: history
            .and_then(|h| h.last_success(cancelled_is_error))
            .map(RunRecord::at),
        streak: streak.map(|s| Streak {
            failing: s.failing,
            runs: s.runs,
            since: s.since,
        }),
        failing: overdue || streak.is_some_and(|s| s.failing),
        expect_every_seconds: match &expectation {
            Some(Expectation::Every(d)) => Some(d.whole_seconds()),
            _ => None,
        },
        expect_cron: match &expectation {
            Some(Expectation::Cron(c)) => Some(c.to_string()),
            _ => None,
        },
        next_expected_at,
        overdue,
        running: running_since.is_some(),
        running_since,
        runs_recorded: history.map_or(0, |h| h.runs.len()),
        task,
    }
}

/// The name of a run's outcome in JSON and in the overview.
fn outcome_name(run: &RunRecord) -> &'static str {
    if run.did_not_finish {
        return "did_not_finish";
    }
    match run.outcome {
        Outcome::Success => "success",
        Outcome::Warning => "warning",
        Outcome::Failure => "failure",
        Outcome::Cancelled => "cancelled",
    }
}
