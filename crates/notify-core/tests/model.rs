//! The task-result model: JSON exchange format and its published schema.
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

use notify_core::{Outcome, Silence, SilenceNotice, TaskResult, TASK_RESULT_SCHEMA};
use serde_json::Value;
use time::macros::datetime;

/// Every field set. A struct literal on purpose: a new field fails to compile
/// here until it is added, and so cannot escape the schema check below.
fn full() -> TaskResult {
    TaskResult {
        task_name: "Daily Backup".into(),
        outcome: Outcome::Warning,
        exit_code: Some(1),
        signal: Some(15),
        started_at: Some(datetime!(2026-11-21 02:00:00 UTC)),
        finished_at: Some(datetime!(2026-11-21 02:14:05.5 UTC)),
        source: Some("/home".into()),
        destination: Some("sftp:backup@nas:/srv/restic".into()),
        bytes_copied: Some(1_234_567_890),
        files_copied: Some(4242),
        error_count: 2,
        warning_count: 7,
        errors: vec![
            "cannot read /home/a: permission denied".into(),
            "Ünïcode ✓".into(),
        ],
        warnings: vec!["file vanished: /home/b".into()],
        log_tail: Some("line 1\nline 2\n".into()),
        command: Some("restic backup /home".into()),
        computer_name: Some("nas".into()),
        extra: [("Ticket".to_owned(), "OPS-1".to_owned())]
            .into_iter()
            .collect(),
        silence: Some(
            SilenceNotice::new(Silence::Overdue, datetime!(2026-11-22 02:00 UTC))
                .last_run(
                    Some(datetime!(2026-11-21 02:00 UTC)),
                    Some(Outcome::Warning),
                )
                .expected_by(Some(datetime!(2026-11-22 02:00 UTC))),
        ),
    }
}

#[test]
fn json_round_trip_of_every_field() {
    let r = full();
    let json = serde_json::to_string_pretty(&r).unwrap();
    assert!(
        json.contains(r#""started_at": "2026-11-21T02:00:00Z""#),
        "{json}"
    );
    assert!(json.contains(r#""outcome": "warning""#), "{json}");
    let back: TaskResult = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn only_name_and_outcome_are_required() {
    let r: TaskResult = serde_json::from_str(r#"{"task_name":"x","outcome":"failure"}"#).unwrap();
    assert_eq!(r, TaskResult::new("x", Outcome::Failure));
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"task_name":"x","outcome":"failure"}"#
    );
    let err = serde_json::from_str::<TaskResult>(r#"{"task_name":"x"}"#).unwrap_err();
    assert!(err.to_string().contains("missing field `outcome`"), "{err}");
}

#[test]
fn bad_input_is_named() {
    let err = serde_json::from_str::<TaskResult>(r#"{"task_name":"x","outcome":"done"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown variant `done`"), "{err}");
    let err =
        serde_json::from_str::<TaskResult>(r#"{"task_name":"x","outcome":"success","exitcode":1}"#)
            .unwrap_err()
            .to_string();
    assert!(err.contains("unknown field `exitcode`"), "{err}");
    let err = serde_json::from_str::<TaskResult>(
        r#"{"task_name":"x","outcome":"success","started_at":"yesterday"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn elapsed_is_derived() {
    let r = full();
    assert_eq!(
        r.elapsed(),
        Some(time::Duration::seconds(845) + time::Duration::milliseconds(500))
    );
    let mut r = full();
    r.finished_at = None;
    assert_eq!(r.elapsed(), None);
    let mut r = full();
    r.finished_at = Some(datetime!(2026-11-20 00:00 UTC));
    assert_eq!(r.elapsed(), None, "an end before the start is no duration");
}

#[test]
fn outcome_words() {
    for (word, outcome) in [
        ("success", Outcome::Success),
        ("OK", Outcome::Success),
        ("warning", Outcome::Warning),
        ("failed", Outcome::Failure),
        ("Failure", Outcome::Failure),
        ("canceled", Outcome::Cancelled),
    ] {
        assert_eq!(word.parse::<Outcome>().unwrap(), outcome, "{word}");
    }
    let err = "meh".parse::<Outcome>().unwrap_err().to_string();
    assert_eq!(
        err,
        "unknown status `meh`; expected one of: success, warning, failure, cancelled"
    );
}

/// The published schema lists exactly the fields serde writes, marks exactly
/// the fields serde requires, and agrees on the outcome names.
#[test]
fn schema_matches_the_model() {
    let schema: Value = serde_json::from_str(TASK_RESULT_SCHEMA).expect("schema is JSON");
    let props = schema["properties"].as_object().expect("properties");
    let written: Value = serde_json::to_value(full()).unwrap();
    let mut model_fields: Vec<&String> = written.as_object().unwrap().keys().collect();
    let mut schema_fields: Vec<&String> = props.keys().collect();
    model_fields.sort();
    schema_fields.sort();
    assert_eq!(schema_fields, model_fields);

    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, ["task_name", "outcome"]);
    assert_eq!(schema["additionalProperties"], Value::Bool(false));

    let outcomes: Vec<&str> = props["outcome"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let model: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
    assert_eq!(outcomes, model);

    // Each field's JSON type in the schema agrees with what serde writes.
    for (name, value) in written.as_object().unwrap() {
        let ty = props[name]["type"].as_str().unwrap();
        let ok = match value {
            Value::String(_) => ty == "string",
            Value::Number(_) => ty == "integer",
            Value::Array(_) => ty == "array",
            Value::Object(_) => ty == "object",
            _ => false,
        };
        assert!(ok, "field {name}: schema says {ty}, serde writes {value}");
    }
}
