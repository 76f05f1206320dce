//! The level policy, cell by cell: every level × outcome × previous state.
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

use notify_core::{decide, Level, Outcome, PolicyOptions, Reason, Streak, TaskResult, TaskState};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-21 02:00 UTC);

#[derive(Debug, Clone, Copy)]
enum Prev {
    /// The task has never run.
    First,
    /// The last run was fine.
    Fine,
    /// Failing; the last mail went out an hour ago (reminder not due).
    FailingRecent,
    /// Failing; the last mail went out two days ago (reminder due).
    FailingOld,
    /// Failing, and no mail has ever gone out (e.g. level was `never`).
    FailingNever,
}

fn previous(prev: Prev) -> Option<TaskState> {
    let state = |failing: bool, notified: Option<Duration>| {
        let outcome = if failing {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        let mut s = TaskState::new(outcome, NOW - Duration::minutes(30));
        s.last_notified_at = notified.map(|ago| NOW - ago);
        s.suppressed = if failing { 2 } else { 0 };
        s.failing_since = failing.then(|| NOW - Duration::hours(5));
        s.failed_runs = if failing { 4 } else { 0 };
        s
    };
    match prev {
        Prev::First => None,
        Prev::Fine => Some(state(false, Some(Duration::days(3)))),
        Prev::FailingRecent => Some(state(true, Some(Duration::hours(1)))),
        Prev::FailingOld => Some(state(true, Some(Duration::days(2)))),
        Prev::FailingNever => Some(state(true, None)),
    }
}

/// Results under test: the four outcomes, plus a "success" that reported errors.
fn result(kind: &str) -> TaskResult {
    let mut r = TaskResult::new("Daily Backup", Outcome::Success);
    match kind {
        "success" => {}
        "warning" => r.outcome = Outcome::Warning,
        "failure" => r.outcome = Outcome::Failure,
        "cancelled" => r.outcome = Outcome::Cancelled,
        "success+errors" => r.error_count = 3,
        "success+warnings" => r.warning_count = 2,
        other => panic!("unknown case {other}"),
    }
    r
}

#[test]
fn every_cell() {
    use Prev::*;
    use Reason::*;
    // (level, result, previous, send, reason)
    #[rustfmt::skip]
    let table: &[(Level, &str, Prev, bool, Reason)] = &[
        // never: nothing, whatever happened
        (Level::Never, "success", First, false, LevelNever),
        (Level::Never, "failure", First, false, LevelNever),
        (Level::Never, "failure", Fine, false, LevelNever),
        (Level::Never, "cancelled", FailingOld, false, LevelNever),
        (Level::Never, "warning", FailingRecent, false, LevelNever),
        (Level::Never, "success+errors", FailingNever, false, LevelNever),
        // always: every run
        (Level::Always, "success", First, true, LevelAlways),
        (Level::Always, "warning", Fine, true, LevelAlways),
        (Level::Always, "failure", FailingRecent, true, LevelAlways),
        (Level::Always, "cancelled", FailingOld, true, LevelAlways),
        (Level::Always, "success+errors", FailingNever, true, LevelAlways),
        (Level::Always, "success", FailingRecent, true, LevelAlways),
        // errors: failure, cancelled (by default) or any error count
        (Level::Errors, "success", First, false, NoError),
        (Level::Errors, "success", FailingRecent, false, NoError),
        (Level::Errors, "warning", Fine, false, NoError),
        (Level::Errors, "warning", FailingOld, false, NoError),
        (Level::Errors, "failure", First, true, Error),
        (Level::Errors, "failure", Fine, true, Error),
        (Level::Errors, "failure", FailingRecent, true, Error),
        (Level::Errors, "cancelled", Fine, true, Error),
        (Level::Errors, "success+errors", Fine, true, Error),
        (Level::Errors, "success+warnings", Fine, false, NoError),
        // warnings: anything but a clean success
        (Level::Warnings, "success", First, false, Clean),
        (Level::Warnings, "success", FailingRecent, false, Clean),
        (Level::Warnings, "warning", Fine, true, Warning),
        (Level::Warnings, "success+warnings", Fine, true, Warning),
        (Level::Warnings, "success+errors", Fine, true, Error),
        (Level::Warnings, "failure", FailingRecent, true, Error),
        (Level::Warnings, "cancelled", First, true, Error),
        // changes, first run
        (Level::Changes, "success", First, false, FirstSuccess),
        (Level::Changes, "warning", First, false, FirstSuccess),
        (Level::Changes, "failure", First, true, FirstFailure),
        (Level::Changes, "cancelled", First, true, FirstFailure),
        (Level::Changes, "success+errors", First, true, FirstFailure),
        // changes, after a fine run
        (Level::Changes, "success", Fine, false, StillFine),
        (Level::Changes, "warning", Fine, false, StillFine),
        (Level::Changes, "failure", Fine, true, NewFailure),
        (Level::Changes, "cancelled", Fine, true, NewFailure),
        (Level::Changes, "success+errors", Fine, true, NewFailure),
        // changes, recovering
        (Level::Changes, "success", FailingRecent, true, Recovery),
        (Level::Changes, "warning", FailingOld, true, Recovery),
        (Level::Changes, "success", FailingNever, true, Recovery),
        // changes, still failing
        (Level::Changes, "failure", FailingRecent, false, StillFailing),
        (Level::Changes, "cancelled", FailingRecent, false, StillFailing),
        (Level::Changes, "success+errors", FailingRecent, false, StillFailing),
        (Level::Changes, "failure", FailingOld, true, Reminder),
        (Level::Changes, "failure", FailingNever, true, Reminder),
        (Level::Changes, "cancelled", FailingOld, true, Reminder),
    ];
    let opts = PolicyOptions::default();
    for &(level, kind, prev, send, reason) in table {
        let state = previous(prev);
        let d = decide(level, &result(kind), state.as_ref(), &opts, NOW);
        assert_eq!(
            (d.send, d.reason),
            (send, reason),
            "level {level}, result {kind}, previous {prev:?}"
        );
        // What is remembered follows from the run, whatever the level.
        assert_eq!(
            d.state.failing,
            result(kind).is_error(true),
            "{level} {kind} {prev:?}"
        );
        assert_eq!(d.state.last_run_at, NOW);
        let pending = state.as_ref().map_or(0, |s| s.suppressed);
        if send {
            assert_eq!(d.state.last_notified_at, Some(NOW));
            assert_eq!(d.state.suppressed, 0);
            assert_eq!(
                d.suppressed, pending,
                "a sent mail carries the held-back count"
            );
        } else {
            assert_eq!(
                d.state.last_notified_at,
                state.as_ref().and_then(|s| s.last_notified_at)
            );
            assert_eq!(d.suppressed, 0);
            let expect = if reason == StillFailing {
                pending + 1
            } else {
                pending
            };
            assert_eq!(d.state.suppressed, expect, "{level} {kind} {prev:?}");
        }
    }
}

#[test]
fn every_level_and_outcome_is_covered() {
    // Guard against the table above silently losing a row kind.
    for level in [
        Level::Never,
        Level::Always,
        Level::Errors,
        Level::Warnings,
        Level::Changes,
    ] {
        for outcome in Outcome::ALL {
            let r = TaskResult::new("t", outcome);
            let d = decide(level, &r, None, &PolicyOptions::default(), NOW);
            assert_eq!(
                d.send,
                match level {
                    Level::Never => false,
                    Level::Always => true,
                    Level::Errors | Level::Changes =>
                        matches!(outcome, Outcome::Failure | Outcome::Cancelled),
                    Level::Warnings => outcome != Outcome::Success,
                    _ => unreachable!("a new level needs its expectation here"),
                },
                "{level} {outcome}"
            );
        }
    }
}

#[test]
fn cancelled_can_be_no_error() {
    let mut opts = PolicyOptions::default();
    opts.cancelled_is_error = false;
    let r = result("cancelled");
    let d = decide(Level::Errors, &r, None, &opts, NOW);
    assert!(!d.send);
    let d = decide(Level::Changes, &r, None, &opts, NOW);
    assert_eq!((d.send, d.reason), (false, Reason::FirstSuccess));
}

/// A streak of `runs` failures that began at NOW.
fn streak(runs: u32, ended: bool) -> Streak {
    Streak::new(NOW, runs, ended)
}

#[test]
fn changes_reminds_at_most_once_per_remind_every_and_counts_repeats() {
    let mut opts = PolicyOptions::default();
    opts.remind_every = Duration::hours(6);
    let fail = result("failure");
    let mut state: Option<TaskState> = None;
    let mut sent = Vec::new();
    // A job failing every hour for 13 hours, then recovering.
    for hour in 0..=13 {
        let now = NOW + Duration::hours(hour);
        let r = if hour == 13 {
            result("success")
        } else {
            fail.clone()
        };
        let d = decide(Level::Changes, &r, state.as_ref(), &opts, now);
        if d.send {
            sent.push((hour, d.reason, d.suppressed, d.streak));
        }
        state = Some(d.state);
    }
    assert_eq!(
        sent,
        vec![
            (0, Reason::FirstFailure, 0, None),
            (6, Reason::Reminder, 5, Some(streak(7, false))),
            (12, Reason::Reminder, 5, Some(streak(13, false))),
            (13, Reason::Recovery, 0, Some(streak(13, true))),
        ]
    );
    assert_eq!(
        state.as_ref().map(|s| (s.failing_since, s.failed_runs)),
        Some((None, 0))
    );
    // Exactly at the boundary counts as due.
    let mut s = TaskState::new(Outcome::Failure, NOW);
    s.last_notified_at = Some(NOW);
    s.failing_since = Some(NOW);
    s.failed_runs = 1;
    let d = decide(
        Level::Changes,
        &fail,
        Some(&s),
        &opts,
        NOW + Duration::hours(6),
    );
    assert_eq!(d.reason, Reason::Reminder);
    let d = decide(
        Level::Changes,
        &fail,
        Some(&s),
        &opts,
        NOW + Duration::hours(6) - Duration::seconds(1),
    );
    assert_eq!(d.reason, Reason::StillFailing);
}

#[test]
fn decide_is_pure() {
    let prev = previous(Prev::FailingRecent);
    let r = result("failure");
    let a = decide(
        Level::Changes,
        &r,
        prev.as_ref(),
        &PolicyOptions::default(),
        NOW,
    );
    let b = decide(
        Level::Changes,
        &r,
        prev.as_ref(),
        &PolicyOptions::default(),
        NOW,
    );
    assert_eq!(a, b);
}

#[test]
fn levels_parse_with_clear_errors() {
    assert_eq!("Errors".parse::<Level>().unwrap(), Level::Errors);
    assert_eq!("changes".parse::<Level>().unwrap(), Level::Changes);
    let err = "sometimes".parse::<Level>().unwrap_err().to_string();
    assert_eq!(
        err,
        "unknown level `sometimes`; expected one of: never, always, errors, warnings, changes"
    );
    assert_eq!(Level::default(), Level::Errors);
    let level: Level = serde_json::from_str(r#""Always""#).unwrap();
    assert_eq!(level, Level::Always);
    let err = serde_json::from_str::<Level>(r#""loud""#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown level `loud`; expected one of"),
        "{err}"
    );
    assert_eq!(
        serde_json::to_string(&Level::Changes).unwrap(),
        r#""changes""#
    );
}

#[test]
fn state_round_trips_as_json() {
    let s = previous(Prev::FailingOld).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let back: TaskState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
}
