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
    deliver::notify(env, &result, &args.delivery, None).await
}

/// Reads a task result from a JSON file or `-` (stdin).
pub fn read_result(path: &Path) -> Result<TaskResult, CliError> {
    let (label, text) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::usage(format!("cannot read the task result from stdin: {e}")))?;
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
        let (k, v) = kv.split_once('=').ok_or_else(|| {
            CliError::usage(format!("--set `{kv}` is not KEY=VALUE"))
                .hint("e.g. --set Database=prod; use the value in a template as ##Database##")
        })?;
        let k = k.trim();
        if k.is_empty() || k.contains("##") {
            return Err(CliError::usage(format!("--set `{kv}` has no usable key")));
        }
        result.extra.insert(k.to_owned(), v.to_owned());
    }
    Ok(result)
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
