//! `notify send`: notify about a job that ran elsewhere.

use std::io::Read;
use std::path::Path;

use notify_core::TaskResult;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::cli::SendArgs;
use crate::deliver::{self, Env};
use crate::error::CliError;

/// Builds the task result from `--result` and the flags, then notifies.
pub async fn send(env: &Env<'_>, args: SendArgs) -> Result<u8, CliError> {
    let result = task_result(&args)?;
    deliver::notify(env, &result, &args.delivery, None, deliver::Caller::Send).await
}

/// Reads a task result from a JSON file or `-` (stdin).
pub fn read_result(path: &Path) -> Result<TaskResult, CliError> {
    let (label, text) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::usage(format!("cannot read the task result from stdin: {e}")))?;
        if text.trim().is_empty() {
            return Err(CliError::usage("--result -: standard input was empty")
                .hint("pipe a task result as JSON, e.g. {\"task_name\": \"Backup\", \"outcome\": \"failure\"}"));
        }
        ("stdin".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!(
                "cannot read the task result {}: {e}",
                path.display()
            ))
        })?;
        (path.display().to_string(), text)
    };
    serde_json::from_str(&text).map_err(|e| {
        CliError::usage(format!("invalid task result in {label}: {e}")).hint(
            "only task_name and outcome are required; see task-result.schema.json for every field",
        )
    })
}

fn task_result(args: &SendArgs) -> Result<TaskResult, CliError> {
    let mut result = match &args.result {
        Some(path) => Some(read_result(path)?),
        None => None,
    };
    if let Some(r) = &mut result {
        if let Some(task) = &args.task {
            r.task_name = task.clone();
        }
        if let Some(status) = args.status {
            r.outcome = status;
        }
    }
    let mut result = match result {
        Some(r) => r,
        None => {
            let task = args.task.clone().ok_or_else(|| {
                CliError::usage("--task NAME is required (or a --result with task_name)")
            })?;
            let status = args.status.ok_or_else(|| {
                CliError::usage("--status STATUS is required (or a --result with outcome)")
                    .hint("STATUS is one of success, warning, failure, cancelled")
            })?;
            TaskResult::new(task, status)
        }
    };
    if result.task_name.trim().is_empty() {
        return Err(CliError::usage("the task name is empty"));
    }
    if let Some(code) = args.exit_code {
        result.exit_code = Some(code);
    }
    if let Some(t) = &args.started {
        result.started_at = Some(parse_time(t, "--started")?);
    }
    if let Some(t) = &args.finished {
        result.finished_at = Some(parse_time(t, "--finished")?);
    }
    if result.finished_at.is_none() {
        result.finished_at = Some(OffsetDateTime::now_utc());
    }
    if result.computer_name.is_none() {
        result.computer_name = Some(crate::computer_name());
    }
    for kv in &args.set {
        apply_set(&mut result, kv)?;
    }
    set_places(&mut result, &args.source, &args.destination);
    Ok(result)
}

/// `--source` and `--destination`: they replace what the result says.
pub fn set_places(result: &mut TaskResult, source: &Option<String>, destination: &Option<String>) {
    if let Some(source) = source {
        result.source = Some(source.clone());
    }
    if let Some(destination) = destination {
        result.destination = Some(destination.clone());
    }
}

/// Applies one `--set KEY=VALUE`. A KEY that names a template value
/// (`Source`, `Quelle`, `files_copied`, `Snapshot ID`, ...) sets that value
/// of the task result; any other KEY is an extra value, used in templates as
/// `##KEY##`. The outcome is never set this way: it comes from `--status`
/// or the exit code.
pub fn apply_set(result: &mut TaskResult, kv: &str) -> Result<(), CliError> {
    let (k, v) = kv.split_once('=').ok_or_else(|| {
        CliError::usage(format!("--set `{kv}` is not KEY=VALUE"))
            .hint("e.g. --set Database=prod; use the value in a template as ##Database##")
    })?;
    let key = k.trim();
    if key.is_empty() || key.contains('#') || key.contains(['\r', '\n']) {
        return Err(CliError::usage(format!("--set `{kv}` has no usable key"))
            .hint("a key is a name such as Database or Source, without # or line breaks"));
    }
    let known = notify_template::Template::compile(&format!("##{key}##"), &[])
        .ok()
        .and_then(|t| t.values().next());
    let Some(id) = known else {
        result.extra.insert(key.to_owned(), v.to_owned());
        return Ok(());
    };
    let number = |what: &str| {
        v.trim()
            .replace(['_', ','], "")
            .parse::<u64>()
            .map_err(|_| {
                CliError::usage(format!("--set {key}=`{v}`: {what} must be a whole number"))
            })
    };
    let text = || Some(v.to_owned());
    use notify_template::ValueId as V;
    match id {
        V::TaskName => result.task_name = v.to_owned(),
        V::ExitStatus => {
            return Err(
                CliError::usage(format!("--set {key}: the status is not set with --set")).hint(
                    "`notify send` takes --status success|warning|failure|cancelled; \
                 `notify run` takes it from the command's exit code (see --exit-codes)",
                ),
            )
        }
        V::StatusColor => {
            return Err(CliError::usage(format!(
                "--set {key}: the status colour follows the status"
            )))
        }
        V::ExitCode => {
            result.exit_code = Some(v.trim().parse().map_err(|_| {
                CliError::usage(format!("--set {key}=`{v}`: an exit code is a whole number"))
            })?)
        }
        V::ComputerName => result.computer_name = text(),
        V::Source => result.source = text(),
        V::Destination => result.destination = text(),
        V::StartTime => result.started_at = Some(parse_time(v, &format!("--set {key}"))?),
        V::EndTime => result.finished_at = Some(parse_time(v, &format!("--set {key}"))?),
        V::DataCopied => result.bytes_copied = Some(number("the number of bytes")?),
        V::FilesCopied => result.files_copied = Some(number("the number of files")?),
        V::ErrorCount => result.error_count = number("the error count")?,
        V::WarningCount => result.warning_count = number("the warning count")?,
        V::Errors => {
            result.errors.push(v.to_owned());
            result.error_count = result.error_count.max(result.errors.len() as u64);
        }
        V::Warnings => {
            result.warnings.push(v.to_owned());
            result.warning_count = result.warning_count.max(result.warnings.len() as u64);
        }
        // The values a tool's reader finds live in `extra` under their key.
        V::SnapshotId | V::Archive => {
            result.extra.insert(id.key().to_owned(), v.to_owned());
        }
        V::DataProcessed | V::DataAdded | V::DataCompressed => {
            let bytes = number("the number of bytes")?;
            result.extra.insert(id.key().to_owned(), bytes.to_string());
        }
        V::FilesNew
        | V::FilesChanged
        | V::FilesUnmodified
        | V::FilesDeleted
        | V::FilesProcessed => {
            let files = number("the number of files")?;
            result.extra.insert(id.key().to_owned(), files.to_string());
        }
        V::LogTail => result.log_tail = text(),
        V::Command => result.command = text(),
        V::ElapsedTime => {
            return Err(CliError::usage(format!(
                "--set {key}: the elapsed time is computed from the start and end times"
            ))
            .hint("pass --started and --finished instead"))
        }
    }
    Ok(())
}

/// Parses `now`, `@UNIX-SECONDS` or RFC 3339.
pub fn parse_time(text: &str, flag: &str) -> Result<OffsetDateTime, CliError> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(OffsetDateTime::now_utc());
    }
    let parsed = match t.strip_prefix('@') {
        Some(secs) => secs
            .parse::<i64>()
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()),
        None => OffsetDateTime::parse(t, &Rfc3339).ok(),
    };
    parsed.ok_or_else(|| {
        CliError::usage(format!("{flag} `{text}` is not a time"))
            .hint("write RFC 3339 (2026-11-21T02:00:00Z or 2026-11-21T03:00:00+01:00), @UNIX-SECONDS, or now")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_maps_known_names_onto_fields() {
        let mut r = TaskResult::new("t", notify_core::Outcome::Failure);
        for kv in [
            "Source=/srv/data",
            "Ziel=nas:/backup",
            "files_copied=1,234",
            "Data Copied=5000",
            "Errors=disk full",
            "Warnungen=slow disk",
            "Snapshot ID=5d2a4f3c",
            "data_added=1,500",
            "Neue Dateien=7",
            "Database=prod",
        ] {
            apply_set(&mut r, kv).unwrap();
        }
        assert_eq!(r.source.as_deref(), Some("/srv/data"));
        assert_eq!(r.destination.as_deref(), Some("nas:/backup"));
        assert_eq!(r.files_copied, Some(1234));
        assert_eq!(r.bytes_copied, Some(5000));
        assert_eq!(r.errors, ["disk full"]);
        assert_eq!((r.error_count, r.warning_count), (1, 1));
        assert_eq!(r.warnings, ["slow disk"]);
        assert_eq!(r.extra["snapshot_id"], "5d2a4f3c");
        assert_eq!(r.extra["data_added"], "1500");
        assert_eq!(r.extra["files_new"], "7");
        assert_eq!(r.extra.get("Database").map(String::as_str), Some("prod"));
        let err = apply_set(&mut r, "Files Copied=many")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be a whole number"), "{err}");
        let err = apply_set(&mut r, "Elapsed Time=5").unwrap_err().to_string();
        assert!(err.contains("computed from the start and end"), "{err}");
        assert!(apply_set(&mut r, "##x=1").is_err());
        let err = apply_set(&mut r, "Exit Status=success").unwrap_err();
        assert!(err.to_string().contains("not set with --set"), "{err}");
        assert_eq!(r.outcome, notify_core::Outcome::Failure);
        let err = apply_set(&mut r, "Files New=some").unwrap_err().to_string();
        assert!(err.contains("must be a whole number"), "{err}");
    }

    #[test]
    fn times() {
        let t = parse_time("2026-11-21T03:00:00+01:00", "--started").unwrap();
        assert_eq!(t.unix_timestamp(), 1_795_226_400);
        assert_eq!(parse_time("@0", "--started").unwrap().unix_timestamp(), 0);
        let err = parse_time("yesterday", "--started")
            .unwrap_err()
            .to_string();
        assert!(err.contains("--started `yesterday` is not a time"), "{err}");
    }
}
