use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::{Outcome, ParseError, Silence, SilenceNotice, TaskResult};

/// How often a task that keeps failing is reminded about under
/// [`Level::Changes`]: once a day.
pub const DEFAULT_REMIND_EVERY: Duration = Duration::hours(24);

/// When a task sends a notification.
///
/// Deserializes from its name in any case (`"Always"` works in a config file
/// as it does on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Level {
    /// Don't send email.
    Never,
    /// Send after every run, success or not.
    Always,
    /// Only send on errors: a failure or any reported error (the default).
    #[default]
    Errors,
    /// Send on anything but a clean success: errors as above, and also
    /// warning outcomes and runs that reported warnings.
    Warnings,
    /// Send when the state changes: the first failure, a recovery, and while
    /// failing a reminder at most once per `remind_every`.
    Changes,
}

impl Level {
    /// Every level name.
    pub const NAMES: &'static [&'static str] =
        &["never", "always", "errors", "warnings", "changes"];

    /// The level's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Never => "never",
            Level::Always => "always",
            Level::Errors => "errors",
            Level::Warnings => "warnings",
            Level::Changes => "changes",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "never" => Ok(Level::Never),
            "always" => Ok(Level::Always),
            "errors" | "error" => Ok(Level::Errors),
            "warnings" | "warning" => Ok(Level::Warnings),
            "changes" | "change" => Ok(Level::Changes),
            _ => Err(ParseError::new("level", s, Level::NAMES)),
        }
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Knobs of the policy besides the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyOptions {
    /// Under [`Level::Changes`], the least time between two mails about the
    /// same ongoing failure.
    pub remind_every: Duration,
    /// Whether a cancelled run counts as an error (default: yes).
    pub cancelled_is_error: bool,
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            remind_every: DEFAULT_REMIND_EVERY,
            cancelled_is_error: true,
        }
    }
}

/// What is remembered about a task between runs (kept by the caller, e.g. as
/// JSON in notify's data directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskState {
    /// Whether the last run counted as an error.
    pub failing: bool,
    /// The last run's outcome.
    pub last_outcome: Outcome,
    /// When the last run was decided on.
    #[serde(with = "time::serde::rfc3339")]
    pub last_run_at: OffsetDateTime,
    /// When a notification was last sent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_notified_at: Option<OffsetDateTime>,
    /// Runs whose notification was suppressed since the last one sent.
    #[serde(default)]
    pub suppressed: u32,
    /// When the current run of failures began (`None` while not failing).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub failing_since: Option<OffsetDateTime>,
    /// How many runs in a row have failed (0 while not failing).
    #[serde(default)]
    pub failed_runs: u32,
    /// The last check finding decided on, until a run reports again: one
    /// finding is told once (a `changes` reminder aside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence: Option<SilenceMark>,
}

/// Which check finding a [`TaskState`] has decided on: its kind and what it
/// is about ([`SilenceNotice::since`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SilenceMark {
    /// The kind of finding.
    pub kind: Silence,
    /// What it is about.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

impl SilenceMark {
    /// The mark of `notice`.
    pub fn of(notice: &SilenceNotice) -> Self {
        SilenceMark {
            kind: notice.kind,
            since: notice.since,
        }
    }
}

impl TaskState {
    /// The state after one run that ended in `last_outcome` at
    /// `last_run_at`, before any notification: failing when the outcome is
    /// a failure or cancelled (the default options), no streak counted.
    /// Set the other fields as needed.
    pub fn new(last_outcome: Outcome, last_run_at: OffsetDateTime) -> Self {
        TaskState {
            failing: matches!(last_outcome, Outcome::Failure | Outcome::Cancelled),
            last_outcome,
            last_run_at,
            last_notified_at: None,
            suppressed: 0,
            failing_since: None,
            failed_runs: 0,
            silence: None,
        }
    }
}

/// Why [`decide`] decided as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The level is `never`.
    LevelNever,
    /// The level is `always`.
    LevelAlways,
    /// The run was an error (`errors` level).
    Error,
    /// The run was no error (`errors` level).
    NoError,
    /// The run had warnings, or ended with a warning outcome (`warnings`
    /// level).
    Warning,
    /// The run was a clean success (`warnings` level).
    Clean,
    /// The first run of the task, and it failed (`changes`).
    FirstFailure,
    /// The first run of the task, and it did not fail (`changes`).
    FirstSuccess,
    /// A failure after a success (`changes`).
    NewFailure,
    /// A success after a failure (`changes`).
    Recovery,
    /// Still failing, and `remind_every` has passed since the last mail
    /// (`changes`).
    Reminder,
    /// Still failing, within `remind_every` of the last mail (`changes`).
    StillFailing,
    /// Still fine (`changes`).
    StillFine,
    /// A check found the task silent, and had not told this yet.
    Silence(Silence),
    /// A check found the task silent again, as it had told already.
    AlreadyTold,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::LevelNever => "level is never",
            Reason::LevelAlways => "level is always",
            Reason::Error => "the run had errors",
            Reason::NoError => "the run had no errors",
            Reason::Warning => "the run had warnings",
            Reason::Clean => "the run was a clean success",
            Reason::FirstFailure => "first run, and it failed",
            Reason::FirstSuccess => "first run, and it did not fail",
            Reason::NewFailure => "failed after a success",
            Reason::Recovery => "recovered after a failure",
            Reason::Reminder => "still failing; reminder is due",
            Reason::StillFailing => "still failing; reminder not yet due",
            Reason::StillFine => "still fine",
            Reason::Silence(Silence::Overdue) => "the task is overdue",
            Reason::Silence(Silence::DidNotFinish) => "a run did not finish",
            Reason::Silence(Silence::StillRunning) => "a run is still going on past max_runtime",
            Reason::AlreadyTold => "told already",
        })
    }
}

/// The policy's verdict for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// Whether to send a notification for this run.
    pub send: bool,
    /// Why.
    pub reason: Reason,
    /// When sending: how many earlier runs had their notification suppressed
    /// since the last one sent, to be mentioned in this one.
    pub suppressed: u32,
    /// The state to remember for the next run.
    pub state: TaskState,
    /// The failures this mail is about, for reminders and recoveries: when
    /// they began and how many runs failed in a row (for a recovery, the
    /// streak that just ended).
    pub streak: Option<Streak>,
}

/// A run of consecutive failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Streak {
    /// When the first of them started (or was decided on).
    pub since: OffsetDateTime,
    /// How many runs failed in a row.
    pub runs: u32,
    /// Whether the streak has just ended with this run.
    pub ended: bool,
    /// For a recovery: the check finding the streak ended on (the task was
    /// overdue, or a run did not finish), so the mail can say how long it
    /// was missing.
    pub silence: Option<Silence>,
}

impl Streak {
    /// `runs` failures in a row since `since`; `ended` when this run ends
    /// them (a recovery).
    pub fn new(since: OffsetDateTime, runs: u32, ended: bool) -> Self {
        Streak {
            since,
            runs,
            ended,
            silence: None,
        }
    }
}

/// Decides whether `result` deserves a notification at `level`, given the
/// task's previous state (`None` on its first run) and the time `now`.
///
/// A pure function: the same arguments always give the same decision.
pub fn decide(
    level: Level,
    result: &TaskResult,
    previous: Option<&TaskState>,
    options: &PolicyOptions,
    now: OffsetDateTime,
) -> Decision {
    if let Some(notice) = &result.silence {
        return decide_silence(level, notice, previous, options, now);
    }
    let failing = result.is_error(options.cancelled_is_error);
    // The last thing decided on was a check's failure finding (overdue, did
    // not finish): this run is the task reporting again.
    let after_silence = previous
        .and_then(|p| p.silence)
        .filter(|m| m.kind.is_failure());
    let pending = previous.map_or(0, |p| p.suppressed);

    let (send, reason) = match level {
        Level::Never => (false, Reason::LevelNever),
        Level::Always => (true, Reason::LevelAlways),
        Level::Errors if failing => (true, Reason::Error),
        Level::Errors => (false, Reason::NoError),
        Level::Warnings if failing => (true, Reason::Error),
        Level::Warnings if result.is_warning() => (true, Reason::Warning),
        Level::Warnings => (false, Reason::Clean),
        Level::Changes => match previous {
            None if failing => (true, Reason::FirstFailure),
            None => (false, Reason::FirstSuccess),
            Some(prev) => match (prev.failing, failing) {
                (false, true) => (true, Reason::NewFailure),
                (true, false) => (true, Reason::Recovery),
                (false, false) => (false, Reason::StillFine),
                // Running again after being missing, and failing: news.
                (true, true) if after_silence.is_some() => (true, Reason::NewFailure),
                (true, true) => {
                    let due = prev
                        .last_notified_at
                        .is_none_or(|at| now - at >= options.remind_every);
                    if due {
                        (true, Reason::Reminder)
                    } else {
                        (false, Reason::StillFailing)
                    }
                }
            },
        },
    };

    // Only a repeat that `changes` holds back is counted as suppressed; a
    // quiet success under `errors` is not a lost notification.
    let held_back = !send && reason == Reason::StillFailing;
    let was_failing = previous.filter(|p| p.failing);
    let (failing_since, failed_runs) = match (failing, was_failing) {
        (true, Some(p)) => (
            Some(p.failing_since.unwrap_or(p.last_run_at)),
            // A finding is no run; an old state may have counted none.
            if p.silence.is_some() {
                p.failed_runs
            } else {
                p.failed_runs.max(1)
            }
            .saturating_add(1),
        ),
        (true, None) => (Some(result.started_at.unwrap_or(now)), 1),
        (false, _) => (None, 0),
    };
    let streak = match (failing, was_failing) {
        (true, _) if failed_runs > 1 => failing_since.map(|since| Streak {
            since,
            runs: failed_runs,
            ended: false,
            silence: None,
        }),
        (false, Some(p)) => Some(Streak {
            since: p.failing_since.unwrap_or(p.last_run_at),
            runs: if after_silence.is_some() {
                p.failed_runs
            } else {
                p.failed_runs.max(1)
            },
            ended: true,
            silence: after_silence.map(|m| m.kind),
        }),
        _ => None,
    };
    let state = TaskState {
        failing,
        last_outcome: result.outcome,
        last_run_at: now,
        last_notified_at: if send {
            Some(now)
        } else {
            previous.and_then(|p| p.last_notified_at)
        },
        suppressed: match (send, held_back) {
            (true, _) => 0,
            (false, true) => pending.saturating_add(1),
            (false, false) => pending,
        },
        failing_since,
        failed_runs,
        silence: None,
    };
    Decision {
        send,
        reason,
        suppressed: if send { pending } else { 0 },
        state,
        streak,
    }
}

/// [`decide`] for a check's finding: told once per finding at every level
/// but `never`; under `changes`, overdue and did-not-finish are failures
/// (reminders per `remind_every`, a recovery when a run works again), and a
/// run still going on is told once without changing whether the task is
/// failing. The same finding checked again is not counted as a held-back
/// notification.
fn decide_silence(
    level: Level,
    notice: &SilenceNotice,
    previous: Option<&TaskState>,
    options: &PolicyOptions,
    now: OffsetDateTime,
) -> Decision {
    let mark = SilenceMark::of(notice);
    let failure = notice.kind.is_failure();
    let told = previous.and_then(|p| p.silence) == Some(mark);
    let pending = previous.map_or(0, |p| p.suppressed);
    let (send, reason) = match level {
        Level::Never => (false, Reason::LevelNever),
        _ if !told => (true, Reason::Silence(notice.kind)),
        Level::Changes if failure => {
            let due = previous
                .and_then(|p| p.last_notified_at)
                .is_none_or(|at| now - at >= options.remind_every);
            if due {
                (true, Reason::Reminder)
            } else {
                (false, Reason::AlreadyTold)
            }
        }
        _ => (false, Reason::AlreadyTold),
    };
    let mut state = previous.cloned().unwrap_or_else(|| {
        let outcome = if failure {
            Outcome::Failure
        } else {
            Outcome::Warning
        };
        TaskState::new(outcome, now)
    });
    if failure {
        if !state.failing {
            state.failing = true;
            state.failing_since = Some(notice.since);
            state.failed_runs = 0;
        }
        state.failing_since.get_or_insert(notice.since);
    }
    // A finding checked again is no new run: nothing is counted as held
    // back.
    if send {
        state.last_notified_at = Some(now);
        state.suppressed = 0;
    }
    state.silence = Some(mark);
    Decision {
        send,
        reason,
        suppressed: if send { pending } else { 0 },
        state,
        streak: None,
    }
}
