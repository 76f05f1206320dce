//! `notify send --from-systemd`: the result of a unit that another unit's
//! `OnFailure=` or `OnSuccess=` monitors, from systemd's `MONITOR_*`
//! variables, with that invocation's journal lines as the log.

use notify_core::{Outcome, TaskResult};
use notify_report::{Invocation, Report, Stream, ToolChoice};

use crate::app::env_vars;
use crate::app::error::CliError;

/// The most journal lines read for the log.
const JOURNAL_LINES: &str = "1000";
/// How long `journalctl` may take.
const JOURNAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The log kept of them.
const LOG_BYTES: usize = 256 * 1024;

/// What systemd said about the monitored unit.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Monitor {
    pub service_result: Option<String>,
    pub exit_code: Option<String>,
    pub exit_status: Option<String>,
    pub unit: Option<String>,
    pub invocation_id: Option<String>,
}

impl Monitor {
    /// From the process environment.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Monitor {
            service_result: var(env_vars::MONITOR_SERVICE_RESULT),
            exit_code: var(env_vars::MONITOR_EXIT_CODE),
            exit_status: var(env_vars::MONITOR_EXIT_STATUS),
            unit: var(env_vars::MONITOR_UNIT),
            invocation_id: var(env_vars::MONITOR_INVOCATION_ID),
        }
    }

    /// The task result: named after the unit (unless `task` is given), the
    /// outcome from the service result, the exit code or signal.
    pub fn result(&self, task: Option<&str>) -> Result<TaskResult, CliError> {
        let name = match (task, &self.unit) {
            (Some(t), _) => t.to_owned(),
            (None, Some(unit)) => unit.clone(),
            (None, None) => {
                return Err(CliError::usage(format!(
                    "--from-systemd: {} is not set",
                    env_vars::MONITOR_UNIT
                ))
                .hint(
                    "systemd (244 or later) sets it for a unit started by OnFailure= or \
                     OnSuccess=; see docs/recipes/systemd.md (notify-onfailure@.service), or \
                     give --task and --status",
                ))
            }
        };
        let outcome = match self.service_result.as_deref() {
            Some("success") => Outcome::Success,
            Some(_) => Outcome::Failure,
            // No result: the exit status says.
            None => match (self.exit_code.as_deref(), self.exit_status.as_deref()) {
                (Some("exited"), Some("0")) => Outcome::Success,
                (None, None) => {
                    return Err(CliError::usage(format!(
                        "--from-systemd: neither {} nor {} is set",
                        env_vars::MONITOR_SERVICE_RESULT,
                        env_vars::MONITOR_EXIT_STATUS
                    ))
                    .hint("give --status"))
                }
                _ => Outcome::Failure,
            },
        };
        let mut result = TaskResult::new(name, outcome);
        match (self.exit_code.as_deref(), self.exit_status.as_deref()) {
            (Some("exited"), Some(status)) => result.exit_code = status.trim().parse().ok(),
            (Some("killed" | "dumped"), Some(signal)) => result.signal = signal_number(signal),
            _ => {}
        }
        if let Some(r) = &self.service_result {
            result.extra.insert("service_result".into(), r.clone());
        }
        if let Some(unit) = &self.unit {
            result.extra.insert("unit".into(), unit.clone());
        }
        if let Some(id) = &self.invocation_id {
            result.extra.insert("invocation_id".into(), id.clone());
        }
        Ok(result)
    }
}

/// A signal given by name (`TERM`, `SIGKILL`) or number.
fn signal_number(text: &str) -> Option<i32> {
    let name = text.trim().trim_start_matches("SIG");
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    Some(match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "TRAP" => 5,
        "ABRT" => 6,
        "BUS" => 7,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        _ => return None,
    })
}

/// Reads the invocation's journal lines into `result` (log tail, error and
/// warning lines, as the generic reader finds them) and returns the log;
/// when there is no journal to read, the log says why.
pub async fn journal(result: &mut TaskResult, invocation_id: Option<&str>) -> notify_report::Log {
    let invocation = Invocation::parse::<&str>(&[], ToolChoice::None);
    let lookup = |_: &str| None;
    let mut report = Report::new(&invocation, &lookup, LOG_BYTES);
    match invocation_id {
        Some(id) => match read_journal(id).await {
            Ok(bytes) => report.feed(Stream::Stdout, &bytes),
            Err(why) => report.feed(
                Stream::Stdout,
                format!("notify: no journal lines of this invocation: {why}\n").as_bytes(),
            ),
        },
        None => report.feed(
            Stream::Stdout,
            format!(
                "notify: no journal lines: {} is not set\n",
                env_vars::MONITOR_INVOCATION_ID
            )
            .as_bytes(),
        ),
    }
    report.finish(result)
}

/// `journalctl _SYSTEMD_INVOCATION_ID=ID`: its last lines, bounded in
/// number and time.
async fn read_journal(id: &str) -> Result<Vec<u8>, String> {
    if !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("`{id}` is not an invocation id"));
    }
    let mut cmd = tokio::process::Command::new("journalctl");
    cmd.arg(format!("_SYSTEMD_INVOCATION_ID={id}"))
        .args(["-o", "cat", "--no-pager", "-q", "-n", JOURNAL_LINES])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    let out = match tokio::time::timeout(JOURNAL_TIMEOUT, cmd.output()).await {
        Err(_) => {
            return Err(format!(
                "journalctl took longer than {} s",
                JOURNAL_TIMEOUT.as_secs()
            ))
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("journalctl is not installed (no systemd journal on this machine)".into())
        }
        Ok(Err(e)) => return Err(format!("cannot run journalctl: {e}")),
        Ok(Ok(out)) => out,
    };
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "journalctl failed ({}): {}",
            out.status,
            notify_core::text::one_line(why.trim(), Some(300))
        ));
    }
    if out.stdout.is_empty() {
        return Err("the journal has none (not kept, or rotated away)".into());
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor(result: &str, code: &str, status: &str) -> Monitor {
        Monitor {
            service_result: Some(result.into()),
            exit_code: Some(code.into()),
            exit_status: Some(status.into()),
            unit: Some("backup.service".into()),
            invocation_id: Some("0123abcd".into()),
        }
    }

    #[test]
    fn the_variables_make_the_result() {
        let r = monitor("exit-code", "exited", "3").result(None).unwrap();
        assert_eq!(r.task_name, "backup.service");
        assert_eq!(r.outcome, Outcome::Failure);
        assert_eq!(r.exit_code, Some(3));
        assert_eq!(r.extra["service_result"], "exit-code");
        let r = monitor("success", "exited", "0")
            .result(Some("Backup"))
            .unwrap();
        assert_eq!(
            (r.task_name.as_str(), r.outcome),
            ("Backup", Outcome::Success)
        );
        let r = monitor("signal", "killed", "TERM").result(None).unwrap();
        assert_eq!((r.outcome, r.signal), (Outcome::Failure, Some(15)));
        let r = monitor("core-dump", "dumped", "SEGV").result(None).unwrap();
        assert_eq!(r.signal, Some(11));
        let r = monitor("timeout", "killed", "KILL").result(None).unwrap();
        assert_eq!((r.outcome, r.signal), (Outcome::Failure, Some(9)));
        let err = Monitor::default().result(None).unwrap_err();
        assert!(
            err.message().contains("MONITOR_UNIT is not set"),
            "{}",
            err.message()
        );
    }
}
