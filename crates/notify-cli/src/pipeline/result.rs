//! The task result from outside notify's own run: a JSON file or stdin
//! (`--result`), and the values set by flags (`--set`, `--source`,
//! `--destination`), shared by `run`, `send` and `template preview`.

use std::io::Read;
use std::path::Path;

use notify_core::TaskResult;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::app::error::CliError;

/// The largest task result `--result` reads (a result with a long log tail
/// is some kilobytes; this leaves room for many).
pub const MAX_RESULT_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a task result from a JSON file or `-` (stdin): at most
/// [`MAX_RESULT_BYTES`], with or without a UTF-8 byte-order mark.
pub fn read_result(path: &Path) -> Result<TaskResult, CliError> {
    let stdin = path.as_os_str() == "-";
    let label = if stdin {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    };
    let cannot = |e: std::io::Error| {
        CliError::usage(if stdin {
            format!("cannot read the task result from stdin: {e}")
        } else {
            format!("cannot read the task result {label}: {e}")
        })
    };
    let reader: Box<dyn Read> = if stdin {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(cannot)?)
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_RESULT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_RESULT_BYTES {
        return Err(CliError::usage(format!(
            "the task result in {label} is larger than {} MiB",
            MAX_RESULT_BYTES / (1024 * 1024)
        ))
        .hint(
            "a task result is a small JSON object; put long output in log_tail (its last \
             lines), not the whole log",
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        CliError::usage(format!(
            "the task result in {label} is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    // Editors on Windows start UTF-8 files with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if stdin && text.trim().is_empty() {
        return Err(CliError::usage("--result -: standard input was empty")
            .hint("pipe a task result as JSON, e.g. {\"task_name\": \"Backup\", \"outcome\": \"failure\"}"));
    }
    serde_json::from_str(text).map_err(|e| {
        CliError::usage(format!("invalid task result in {label}: {e}")).hint(
            "only task_name and outcome are required; see task-result.schema.json for every field",
        )
    })
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
        _ => {
            return Err(CliError::usage(format!(
                "--set {key}: this value cannot be set"
            )))
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
