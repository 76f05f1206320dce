//! `notify send`: notify about a job that ran elsewhere.

use notify_core::TaskResult;
use time::OffsetDateTime;

use crate::app::cli::SendArgs;
use crate::app::error::CliError;
use crate::app::Env;
use crate::pipeline::result::{apply_set, parse_time, read_result, set_places};
use crate::pipeline::{self, Connect};

/// Builds the task result from `--result` and the flags, then notifies.
pub async fn send(env: &Env<'_>, connect: &dyn Connect, args: SendArgs) -> Result<u8, CliError> {
    let (result, log) = if args.from_systemd {
        let (result, log) = from_systemd(&args).await?;
        (result, Some(log))
    } else {
        (task_result(&args)?, None)
    };
    let sent = pipeline::notify(
        env,
        connect,
        &result,
        &args.delivery,
        log.as_ref(),
        pipeline::Caller::Send,
        None,
    )
    .await;
    if !args.delivery.dry_run {
        crate::watch::metrics::write(env, OffsetDateTime::now_utc());
    }
    if !args.delivery.dry_run && crate::app::stop::received().is_none() {
        crate::watch::check_on_the_way(env, connect, time::OffsetDateTime::now_utc()).await;
    }
    sent
}

/// The result of the unit systemd monitors, with its journal as the log;
/// `--task`, `--status`, `--exit-code`, `--set`, `--source` and
/// `--destination` override what systemd said.
async fn from_systemd(args: &SendArgs) -> Result<(TaskResult, notify_report::Log), CliError> {
    let monitor = super::systemd::Monitor::from_env();
    let mut result = monitor.result(args.task.as_deref())?;
    if let Some(status) = args.status {
        result.outcome = status;
    }
    if let Some(code) = args.exit_code {
        result.exit_code = Some(code);
    }
    if let Some(t) = &args.started {
        result.started_at = Some(parse_time(t, "--started")?);
    }
    result.finished_at = Some(match &args.finished {
        Some(t) => parse_time(t, "--finished")?,
        None => OffsetDateTime::now_utc(),
    });
    result.computer_name = Some(crate::app::computer_name());
    let log = super::systemd::journal(&mut result, monitor.invocation_id.as_deref()).await;
    let text = log.text(crate::pipeline::DEFAULT_LOG_TAIL_LINES);
    if !text.is_empty() {
        result.log_tail = Some(text);
    }
    for kv in &args.set {
        apply_set(&mut result, kv)?;
    }
    set_places(&mut result, &args.source, &args.destination);
    Ok((result, log))
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
        result.computer_name = Some(crate::app::computer_name());
    }
    for kv in &args.set {
        apply_set(&mut result, kv)?;
    }
    set_places(&mut result, &args.source, &args.destination);
    Ok(result)
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
