//! Notification Center through `osascript` (macOS).
//!
//! The script is fixed; the body and the summary reach it as arguments of
//! its `run` handler ([`osascript_args`]), so no character in them (quotes,
//! backslashes, newlines) can end a string literal and run code. osascript
//! runs under a deadline: it is killed and reaped when it does not finish
//! in time.
//!
//! Plain `std`, so it builds (and is type-checked and tested) everywhere;
//! it is only called on macOS.

use std::fmt;
use std::io::{self, Read};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use notify_core::{ErrorKind, TransportError};

use crate::content::Content;
use crate::SKIPPED;

const OSASCRIPT: &str = "osascript";

/// The script, one `-e` per line: `display notification BODY with title
/// SUMMARY`, both taken from the arguments.
const SCRIPT: [&str; 3] = [
    "on run argv",
    "display notification (item 1 of argv) with title (item 2 of argv)",
    "end run",
];

/// How often to look whether osascript has finished.
const POLL: Duration = Duration::from_millis(20);

/// How long to wait, after osascript exited, for the rest of its stderr.
const STDERR_GRACE: Duration = Duration::from_millis(200);

/// The most of osascript's stderr kept for an error message.
const MAX_STDERR: usize = 4096;

/// Lower-case pieces of osascript's stderr that say there is no GUI session
/// to show a notification in (run from ssh, cron or a launchd daemon):
/// no connection to the WindowServer, "No user interaction allowed"
/// (-1713), "Connection is invalid" (-609), "Application isn't running"
/// (-600), an Apple event timeout (-1712).
const NO_GUI_MARKERS: [&str; 10] = [
    "windowserver",
    "_cgsdefaultconnection",
    "no user interaction allowed",
    "(-1713)",
    "connection is invalid",
    "(-609)",
    "application isn't running",
    "(-600)",
    "timed out",
    "(-1712)",
];

/// Shows `content` with `display notification`, waiting at most `timeout`
/// for osascript.
pub(crate) fn notify(content: &Content, timeout: Duration) -> Result<(), TransportError> {
    let mut osascript = Command::new(OSASCRIPT);
    osascript.args(osascript_args(content));
    run(osascript, timeout)
}

/// Runs `cmd` (osascript) for at most `timeout`: kills and reaps it when it
/// takes longer. Its stderr explains a failure.
fn run(mut cmd: Command, timeout: Duration) -> Result<(), TransportError> {
    let deadline = crate::deadline_after(timeout);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error(&e))?;
    let stderr = read_in_background(child.stderr.take());
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                kill_and_reap(&mut child);
                return Err(TransportError::new(
                    ErrorKind::Permanent,
                    format!("cannot wait for osascript: {e}"),
                ));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            kill_and_reap(&mut child);
            return Err(timed_out(timeout));
        }
        thread::sleep(left.min(POLL));
    };
    if status.success() {
        return Ok(());
    }
    Err(exit_error(status, &collect(&stderr, STDERR_GRACE)))
}

/// osascript's arguments: the script, then `--` and the texts (which may
/// start with `-`), body first (`item 1 of argv`), summary second.
pub(crate) fn osascript_args(content: &Content) -> Vec<&str> {
    let mut args = Vec::with_capacity(2 * SCRIPT.len() + 3);
    for line in SCRIPT {
        args.push("-e");
        args.push(line);
    }
    args.push("--");
    args.push(&content.body);
    args.push(&content.summary);
    args
}

/// The error when osascript cannot be started. Missing (no GUI tools on
/// this system) or out of resources is temporary.
pub(crate) fn spawn_error(error: &io::Error) -> TransportError {
    match error.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::WouldBlock | io::ErrorKind::OutOfMemory => {
            TransportError::new(
                ErrorKind::Temporary,
                format!("cannot run {OSASCRIPT}: {error}; {SKIPPED}"),
            )
        }
        _ => TransportError::new(
            ErrorKind::Permanent,
            format!("cannot run {OSASCRIPT}: {error}"),
        ),
    }
}

/// The error when osascript exited with `status`: temporary when `stderr`
/// says there is no GUI session (see [`NO_GUI_MARKERS`]), else permanent.
pub(crate) fn exit_error(status: impl fmt::Display, stderr: &[u8]) -> TransportError {
    let reason = String::from_utf8_lossy(stderr)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let lower = reason.to_lowercase();
    if NO_GUI_MARKERS.iter().any(|marker| lower.contains(marker)) {
        TransportError::new(
            ErrorKind::Temporary,
            format!("no GUI session for {OSASCRIPT} ({status}: {reason}); {SKIPPED}"),
        )
    } else {
        TransportError::new(
            ErrorKind::Permanent,
            format!("{OSASCRIPT} failed ({status}): {reason}"),
        )
    }
}

/// The error when osascript did not finish within `timeout`.
pub(crate) fn timed_out(timeout: Duration) -> TransportError {
    TransportError::new(
        ErrorKind::Temporary,
        format!("{OSASCRIPT} did not finish within {timeout:?}; {SKIPPED}"),
    )
}

fn kill_and_reap(child: &mut Child) {
    // Either can only fail when it has exited already; wait reaps it.
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads `pipe` until its end on a thread of its own (so a chatty child
/// never blocks on a full pipe while polled), sending what it reads.
fn read_in_background(pipe: Option<ChildStderr>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        // Without the thread the pipe is closed: stderr is then lost, and
        // the receiver reports a disconnect (read as empty).
        let _ = thread::Builder::new()
            .name("notify-osascript-stderr".to_owned())
            .spawn(move || {
                let mut buf = [0; 4096];
                loop {
                    match pipe.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            // Stops when nobody listens any more.
                            if tx.send(buf[..n].to_vec()).is_err() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            });
    }
    rx
}

/// What `chunks` brings until the pipe's end (or at most `grace` from
/// now: a grandchild may hold the pipe open), capped at [`MAX_STDERR`].
fn collect(chunks: &mpsc::Receiver<Vec<u8>>, grace: Duration) -> Vec<u8> {
    let deadline = crate::deadline_after(grace);
    let mut out = Vec::new();
    while out.len() < MAX_STDERR {
        let left = deadline.saturating_duration_since(Instant::now());
        match chunks.recv_timeout(left) {
            Ok(chunk) => out.extend_from_slice(&chunk),
            Err(_) => break,
        }
    }
    out.truncate(MAX_STDERR);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_core::Notification;

    fn content(subject: &str, text: &str) -> Content {
        Content::new(&{
            let mut built = Notification::default();
            built.subject = subject.to_owned();
            built.text = text.to_owned();
            built
        })
    }

    #[test]
    fn texts_are_arguments_never_source() {
        let nasty_body = "\"; do shell script \"touch /tmp/pwned\" --\n“curly” \\ end";
        let nasty_summary = "-e \u{201d} & (do shell script \"id\")";
        let content = content(nasty_summary, nasty_body);
        let args = osascript_args(&content);
        assert_eq!(
            args,
            [
                "-e",
                "on run argv",
                "-e",
                "display notification (item 1 of argv) with title (item 2 of argv)",
                "-e",
                "end run",
                "--",
                nasty_body,
                nasty_summary,
            ]
        );
        // The script is fixed: the texts appear only after `--`.
        let script = &args[..args.len() - 3];
        assert!(script
            .iter()
            .all(|arg| !arg.contains("shell") && !arg.contains('“')));
    }

    #[test]
    fn body_is_item_1_and_summary_item_2() {
        let content = content("backup: failed", "exit 2\n");
        let args = osascript_args(&content);
        let argv = &args[args.iter().position(|a| *a == "--").unwrap() + 1..];
        assert_eq!(argv, ["exit 2", "backup: failed"]);
        assert!(SCRIPT[1].starts_with("display notification (item 1 of argv)"));
        assert!(SCRIPT[1].ends_with("with title (item 2 of argv)"));
        // Empty texts are still passed, so item 2 always exists.
        let empty = Content::new(&Notification::default());
        let args = osascript_args(&empty);
        assert_eq!(args[args.len() - 2..], ["", ""]);
    }

    #[test]
    fn nul_never_reaches_the_arguments() {
        let content = content("a\0b", "c\0d");
        assert!(osascript_args(&content).iter().all(|a| !a.contains('\0')));
    }

    #[test]
    fn spawn_errors() {
        let err = spawn_error(&io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(err.kind(), ErrorKind::Temporary);
        let message = err.to_string();
        assert!(message.starts_with("cannot run osascript: "), "{message}");
        assert!(
            message.ends_with("; desktop notification skipped"),
            "{message}"
        );

        let err = spawn_error(&io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(err.kind(), ErrorKind::Permanent);
        assert!(err.to_string().starts_with("cannot run osascript: "));
    }

    #[test]
    fn exit_errors() {
        let err = exit_error(
            "exit status: 1",
            b"_RegisterApplication(), FAILED TO establish the default connection to the \
              WindowServer, _CGSDefaultConnection() is NULL.\n",
        );
        assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
        assert!(err
            .to_string()
            .starts_with("no GUI session for osascript (exit status: 1: "));
        assert!(err.to_string().ends_with("; desktop notification skipped"));

        let err = exit_error(
            "exit status: 1",
            b"execution error: No user interaction allowed. (-1713)\n",
        );
        assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");

        let err = exit_error(
            "exit status: 1",
            b"0:12: syntax error:\nExpected end of line. (-2741)\n",
        );
        assert_eq!(err.kind(), ErrorKind::Permanent);
        assert_eq!(
            err.to_string(),
            "osascript failed (exit status: 1): 0:12: syntax error: Expected end of line. (-2741)"
        );
    }

    #[cfg(unix)]
    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        cmd
    }

    #[cfg(unix)]
    #[test]
    fn run_succeeds_and_fails() {
        assert!(run(sh("exit 0"), Duration::from_secs(5)).is_ok());

        let err = run(
            sh("echo 'execution error: No user interaction allowed. (-1713)' >&2; exit 1"),
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
        assert_eq!(
            err.to_string(),
            "no GUI session for osascript (exit status: 1: execution error: No user \
             interaction allowed. (-1713)); desktop notification skipped"
        );

        let err = run(sh("echo 'bad\nthing' >&2; exit 3"), Duration::from_secs(5)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Permanent);
        assert_eq!(
            err.to_string(),
            "osascript failed (exit status: 3): bad thing"
        );

        let err = run(
            Command::new("/nonexistent/bin/osascript"),
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
        assert!(
            err.to_string().starts_with("cannot run osascript: "),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn run_kills_at_the_deadline() {
        let started = Instant::now();
        let err = run(sh("exec sleep 30"), Duration::from_millis(200)).unwrap_err();
        let elapsed = started.elapsed();
        assert_eq!(err.kind(), ErrorKind::Temporary);
        assert_eq!(
            err.to_string(),
            "osascript did not finish within 200ms; desktop notification skipped"
        );
        assert!(
            elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(3),
            "{elapsed:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn run_does_not_wait_for_an_inherited_stderr() {
        // A grandchild keeps the stderr pipe open after the child exits.
        let started = Instant::now();
        let err = run(
            sh("echo failed >&2; sleep 3 & exit 1"),
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Permanent);
        assert_eq!(err.to_string(), "osascript failed (exit status: 1): failed");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn timeout_error() {
        let err = timed_out(Duration::from_secs(5));
        assert_eq!(err.kind(), ErrorKind::Temporary);
        assert_eq!(
            err.to_string(),
            "osascript did not finish within 5s; desktop notification skipped"
        );
    }
}
