//! Check findings through the level policy: told once per finding at every
//! level but `never`; `changes` treats overdue and did-not-finish as
//! failures (reminders, a recovery that says how long the task was missing)
//! and a run still going on as news told once.
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

use notify_core::{
    decide, Level, Outcome, PolicyOptions, Reason, Silence, SilenceNotice, TaskResult, TaskState,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-12-05 03:00 UTC);

fn finding(kind: Silence, since: OffsetDateTime) -> TaskResult {
    SilenceNotice::new(kind, since)
        .last_run(Some(T0 - Duration::days(1)), Some(Outcome::Success))
        .expected_by(Some(since))
        .into_result("Daily Backup")
}

fn run(outcome: Outcome) -> TaskResult {
    TaskResult::new("Daily Backup", outcome)
}

/// Feeds `steps` (result, minutes after T0) through `level`, carrying the
/// state, and returns (send, reason) of each.
fn replay(level: Level, steps: &[(TaskResult, i64)]) -> Vec<(bool, Reason)> {
    let options = PolicyOptions::default();
    let mut state: Option<TaskState> = None;
    let mut out = Vec::new();
    for (result, minutes) in steps {
        let now = T0 + Duration::minutes(*minutes);
        let d = decide(level, result, state.as_ref(), &options, now);
        out.push((d.send, d.reason));
        state = Some(d.state);
    }
    out
}

#[test]
fn overdue_is_told_once_at_every_level_but_never() {
    let due = T0;
    let steps = [
        (run(Outcome::Success), -24 * 60),
        (finding(Silence::Overdue, due), 10),
        (finding(Silence::Overdue, due), 15),
    ];
    for level in [
        Level::Always,
        Level::Errors,
        Level::Warnings,
        Level::Changes,
    ] {
        let got = replay(level, &steps);
        assert_eq!(got[1], (true, Reason::Silence(Silence::Overdue)), "{level}");
        assert!(!got[2].0, "{level}: told twice: {got:?}");
    }
    let got = replay(Level::Never, &steps);
    assert!(got.iter().all(|(send, _)| !send));
}

#[test]
fn changes_reminds_of_an_overdue_task_and_says_when_it_recovers() {
    let due = T0;
    let day = 24 * 60;
    let got = replay(
        Level::Changes,
        &[
            (run(Outcome::Success), -day),
            (finding(Silence::Overdue, due), 10),
            (finding(Silence::Overdue, due), 60),
            (finding(Silence::Overdue, due), day + 11),
            (run(Outcome::Success), day + 30),
            (run(Outcome::Success), day + 40),
        ],
    );
    assert_eq!(
        got,
        vec![
            (false, Reason::FirstSuccess),
            (true, Reason::Silence(Silence::Overdue)),
            (false, Reason::AlreadyTold),
            (true, Reason::Reminder),
            (true, Reason::Recovery),
            (false, Reason::StillFine),
        ]
    );
}

#[test]
fn checking_a_finding_again_holds_nothing_back() {
    let options = PolicyOptions::default();
    let mut state = decide(Level::Changes, &run(Outcome::Success), None, &options, T0).state;
    for minutes in [10, 15, 20, 25] {
        let d = decide(
            Level::Changes,
            &finding(Silence::Overdue, T0),
            Some(&state),
            &options,
            T0 + Duration::minutes(minutes),
        );
        state = d.state;
    }
    assert_eq!(state.suppressed, 0);
    let back = decide(
        Level::Changes,
        &run(Outcome::Success),
        Some(&state),
        &options,
        T0 + Duration::hours(1),
    );
    assert_eq!((back.send, back.suppressed), (true, 0));
}

#[test]
fn the_recovery_streak_says_the_task_was_missing_since_it_was_due() {
    let options = PolicyOptions::default();
    let fine = decide(Level::Changes, &run(Outcome::Success), None, &options, T0);
    let missing = decide(
        Level::Changes,
        &finding(Silence::Overdue, T0 + Duration::hours(24)),
        Some(&fine.state),
        &options,
        T0 + Duration::hours(25),
    );
    assert!(missing.state.failing);
    assert_eq!(missing.state.failed_runs, 0, "a finding is no run");
    let back = decide(
        Level::Changes,
        &run(Outcome::Success),
        Some(&missing.state),
        &options,
        T0 + Duration::hours(30),
    );
    assert_eq!(back.reason, Reason::Recovery);
    let streak = back.streak.unwrap();
    assert!(streak.ended);
    assert_eq!(streak.silence, Some(Silence::Overdue));
    assert_eq!(streak.since, T0 + Duration::hours(24));
    assert_eq!(streak.runs, 0);
    assert_eq!(back.state.silence, None);
}

#[test]
fn a_failed_run_after_being_missing_is_news_under_changes() {
    let got = replay(
        Level::Changes,
        &[
            (run(Outcome::Failure), 0),
            (
                finding(Silence::DidNotFinish, T0 + Duration::hours(24)),
                25 * 60,
            ),
            (run(Outcome::Failure), 26 * 60),
            (run(Outcome::Failure), 27 * 60),
        ],
    );
    assert_eq!(
        got,
        vec![
            (true, Reason::FirstFailure),
            (true, Reason::Silence(Silence::DidNotFinish)),
            (true, Reason::NewFailure),
            (false, Reason::StillFailing),
        ]
    );
}

#[test]
fn a_new_finding_is_told_even_while_an_old_one_was() {
    let got = replay(
        Level::Errors,
        &[
            (finding(Silence::Overdue, T0), 10),
            (
                finding(Silence::Overdue, T0 + Duration::days(1)),
                24 * 60 + 10,
            ),
            (
                finding(Silence::DidNotFinish, T0 + Duration::days(1)),
                24 * 60 + 20,
            ),
        ],
    );
    assert!(got.iter().all(|(send, _)| *send), "{got:?}");
}

#[test]
fn still_running_is_told_once_and_is_no_failure() {
    let options = PolicyOptions::default();
    let fine = decide(Level::Changes, &run(Outcome::Success), None, &options, T0);
    let long = finding(Silence::StillRunning, T0 + Duration::days(1));
    let first = decide(
        Level::Changes,
        &long,
        Some(&fine.state),
        &options,
        T0 + Duration::days(1) + Duration::hours(7),
    );
    assert_eq!(first.reason, Reason::Silence(Silence::StillRunning));
    assert!(first.send);
    assert!(!first.state.failing);
    let again = decide(
        Level::Changes,
        &long,
        Some(&first.state),
        &options,
        T0 + Duration::days(3),
    );
    assert_eq!((again.send, again.reason), (false, Reason::AlreadyTold));
    // The run ends well: nothing to recover from.
    let done = decide(
        Level::Changes,
        &run(Outcome::Success),
        Some(&again.state),
        &options,
        T0 + Duration::days(3),
    );
    assert_eq!((done.send, done.reason), (false, Reason::StillFine));
    // Under `errors` it is told too.
    let errors = decide(Level::Errors, &long, Some(&fine.state), &options, T0);
    assert!(errors.send);
}

#[test]
fn a_finding_round_trips_as_json_in_the_result_and_the_state() {
    let r = finding(Silence::Overdue, T0);
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains(r#""silence":{"kind":"overdue""#), "{json}");
    assert_eq!(serde_json::from_str::<TaskResult>(&json).unwrap(), r);
    let d = decide(Level::Changes, &r, None, &PolicyOptions::default(), T0);
    let state = serde_json::to_string(&d.state).unwrap();
    assert_eq!(serde_json::from_str::<TaskState>(&state).unwrap(), d.state);
}
