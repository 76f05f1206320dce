//! Runs the wrapped command: output passes through live, its tail is kept,
//! and termination signals sent to notify reach the command.

use std::cell::RefCell;
use std::ffi::OsString;
use std::io::Write;
use std::process::Stdio;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use notify_report::{Report, Stream};

/// How long a failed job's exit waits for notify's own stop signal, which
/// the same Ctrl-C sent (see `Finished::interrupted`).
const STOP_SIGNAL_GRACE: std::time::Duration = std::time::Duration::from_millis(50);

/// How long output may keep coming after the command exited, from a
/// background process that inherited its stdout or stderr.
pub const OUTPUT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// How the command ended.
#[derive(Debug)]
pub struct Finished {
    /// When the command exited (not when its output pipes closed).
    pub finished_at: time::OffsetDateTime,
    /// Its exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    /// Why it could not be started, when it could not.
    pub spawn_error: Option<String>,
    /// The stop signal (SIGINT, SIGTERM, SIGHUP) notify itself received
    /// while the command ran, if any: the command was asked to stop.
    pub interrupted: Option<i32>,
}

impl Finished {
    /// The outcome of the run: by `exit_codes`, except that a failure after
    /// notify was asked to stop (Ctrl-C reaches the whole process group;
    /// SIGTERM and SIGHUP are passed on) is *cancelled*: borg, for one,
    /// ends with its error code 2 after Ctrl-C.
    pub fn outcome(&self, exit_codes: &notify_core::ExitCodes) -> notify_core::Outcome {
        let outcome = exit_codes.outcome(self.exit_code, self.signal);
        if self.interrupted.is_some() && outcome == notify_core::Outcome::Failure {
            notify_core::Outcome::Cancelled
        } else {
            outcome
        }
    }
}

impl Finished {
    /// The exit code notify itself ends with: the command's code, 128+N for
    /// signal N, 127 when the command was not found and 126 when it could
    /// not be run (as shells do).
    pub fn process_exit_code(&self) -> u8 {
        if let Some(sig) = self.signal {
            return (128 + sig).clamp(0, 255) as u8;
        }
        match self.exit_code {
            Some(code) => (code & 0xff) as u8,
            None => 1,
        }
    }
}

/// Runs `argv`, copying its stdout and stderr through to ours as they come
/// and into `report`. Standard input is inherited.
pub async fn run(argv: &[OsString], report: &RefCell<Report>) -> Finished {
    let Some((program, args)) = argv.split_first() else {
        return Finished {
            finished_at: time::OffsetDateTime::now_utc(),
            exit_code: Some(2),
            signal: None,
            spawn_error: Some("no command given".into()),
            interrupted: None,
        };
    };
    // Listen for signals before the child exists, so none is missed.
    let mut signals = Signals::new();
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            let (code, what) = match e.kind() {
                std::io::ErrorKind::NotFound => (127, "command not found"),
                std::io::ErrorKind::PermissionDenied => (126, "permission denied"),
                _ => (126, "cannot run the command"),
            };
            let message = format!("{}: {what} ({e})", program.to_string_lossy());
            // As a shell says it: the job's output is where one looks first.
            crate::app::diag(&format!(
                "notify: {}",
                notify_core::text::printable(&message, None)
            ));
            report
                .borrow_mut()
                .feed(Stream::Stderr, format!("notify: {message}\n").as_bytes());
            return Finished {
                finished_at: time::OffsetDateTime::now_utc(),
                exit_code: Some(code),
                signal: None,
                spawn_error: Some(message),
                interrupted: None,
            };
        }
    };

    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let pid = child.id();
    let mut pumps = std::pin::pin!(async {
        tokio::join!(
            pump(stdout, unbuffered_stdout(), Stream::Stdout, report),
            pump(stderr, std::io::stderr(), Stream::Stderr, report)
        )
    });
    let mut pumps_done = false;
    let status = {
        let mut wait = std::pin::pin!(signals.wait(&mut child, pid));
        loop {
            tokio::select! {
                _ = &mut pumps, if !pumps_done => pumps_done = true,
                status = &mut wait => break status,
            }
        }
    };
    let finished_at = time::OffsetDateTime::now_utc();
    if !pumps_done {
        // A background process the job started may hold its output open;
        // take what comes for a moment, then stop listening.
        let _ = tokio::time::timeout(OUTPUT_GRACE, &mut pumps).await;
    }

    let interrupted = signals.received();
    match status {
        Ok(status) => Finished {
            finished_at,
            exit_code: status.code(),
            signal: exit_signal(&status),
            spawn_error: None,
            interrupted,
        },
        Err(e) => Finished {
            finished_at,
            exit_code: None,
            signal: None,
            spawn_error: Some(format!("cannot wait for the command: {e}")),
            interrupted,
        },
    }
}

#[cfg(unix)]
fn exit_signal(status: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn exit_signal(_status: &std::process::ExitStatus) -> Option<i32> {
    None
}

/// Our stdout without the line buffering of `std::io::stdout()` (a chunk of
/// the job's output in one write, not two): a duplicate of its descriptor.
/// Falls back to the buffered handle where that cannot be had.
fn unbuffered_stdout() -> Box<dyn Write> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(std::io::stdout())
}

/// Copies one output stream through and into the report, chunk by chunk,
/// so that memory stays bounded however much the job prints.
async fn pump<R: AsyncRead + Unpin, W: Write>(
    reader: Option<R>,
    mut out: W,
    stream: Stream,
    report: &RefCell<Report>,
) {
    let Some(mut reader) = reader else { return };
    let mut buf = vec![0u8; 128 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                // A closed stdout of our own (e.g. `| head`) must not stop the
                // job or the notification: keep reading, stop writing.
                let _ = out.write_all(&buf[..n]).and_then(|()| out.flush());
                report.borrow_mut().feed(stream, &buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
}

/// The signals notify listens to while the command runs. SIGTERM and SIGHUP
/// sent to notify are passed on to the command, and notify keeps waiting so
/// that it can report the run; SIGINT is not passed on, since a terminal's
/// Ctrl-C already reaches the whole process group, but it does not end notify
/// either.
struct Signals {
    #[cfg(unix)]
    streams: Option<(
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
    )>,
    /// The first stop signal received while the command ran.
    received: Option<i32>,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        let streams = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(term), Ok(hup), Ok(int)) => Some((term, hup, int)),
            _ => None,
        };
        Signals {
            streams,
            received: None,
        }
    }

    #[cfg(not(unix))]
    fn new() -> Self {
        Signals { received: None }
    }

    /// The first stop signal notify received while the command ran.
    fn received(&self) -> Option<i32> {
        self.received
    }

    /// Waits for the child, forwarding signals as described above.
    #[cfg(unix)]
    async fn wait(
        &mut self,
        child: &mut tokio::process::Child,
        pid: Option<u32>,
    ) -> std::io::Result<std::process::ExitStatus> {
        let Some((term, hup, int)) = self.streams.as_mut() else {
            return child.wait().await;
        };
        loop {
            // Signals first: Ctrl-C reaches notify and the job together.
            let sig = tokio::select! {
                biased;
                _ = term.recv() => { forward(pid, libc::SIGTERM); libc::SIGTERM }
                _ = hup.recv() => { forward(pid, libc::SIGHUP); libc::SIGHUP }
                _ = int.recv() => libc::SIGINT,
                status = child.wait() => {
                    // The job's exit can be seen before notify's own Ctrl-C
                    // (they arrive together, on different paths): a job
                    // that failed gets a moment for it to show.
                    if status.as_ref().is_ok_and(|s| !s.success()) && self.received.is_none() {
                        let late = tokio::time::timeout(STOP_SIGNAL_GRACE, async {
                            tokio::select! {
                                _ = term.recv() => libc::SIGTERM,
                                _ = hup.recv() => libc::SIGHUP,
                                _ = int.recv() => libc::SIGINT,
                            }
                        });
                        if let Ok(sig) = late.await {
                            self.received = Some(sig);
                        }
                    }
                    return status;
                }
            };
            self.received.get_or_insert(sig);
        }
    }

    #[cfg(not(unix))]
    async fn wait(
        &mut self,
        child: &mut tokio::process::Child,
        _pid: Option<u32>,
    ) -> std::io::Result<std::process::ExitStatus> {
        child.wait().await
    }
}

#[cfg(unix)]
#[allow(
    unsafe_code,
    reason = "kill(2) through libc passes a signal on to the job"
)]
fn forward(pid: Option<u32>, sig: i32) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) has no memory-safety preconditions; the pid is our
        // own child's, which we have not reaped yet.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// The command line as one string, quoted for a POSIX shell where needed.
pub fn display_command<S: AsRef<std::ffi::OsStr>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| {
            let s = a.as_ref().to_string_lossy();
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
            if plain {
                s.into_owned()
            } else {
                format!("'{}'", s.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_quoted_for_display() {
        let argv: Vec<OsString> = ["sh", "-c", "echo 'hi'; exit 1", "a=b"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(
            display_command(&argv),
            r#"sh -c 'echo '\''hi'\''; exit 1' a=b"#
        );
    }

    #[test]
    fn exit_codes_for_the_process() {
        let f = |exit_code, signal| Finished {
            finished_at: time::OffsetDateTime::UNIX_EPOCH,
            exit_code,
            signal,
            spawn_error: None,
            interrupted: None,
        };
        assert_eq!(f(Some(0), None).process_exit_code(), 0);
        assert_eq!(f(Some(3), None).process_exit_code(), 3);
        assert_eq!(f(None, Some(9)).process_exit_code(), 137);
        assert_eq!(f(None, Some(15)).process_exit_code(), 143);
        assert_eq!(f(None, None).process_exit_code(), 1);
    }

    #[test]
    fn a_failure_after_a_stop_signal_is_cancelled() {
        use notify_core::{ExitCodes, Outcome, Preset};
        let borg = ExitCodes::Preset(Preset::Borg);
        let f = |exit_code, interrupted| Finished {
            finished_at: time::OffsetDateTime::UNIX_EPOCH,
            exit_code: Some(exit_code),
            signal: None,
            spawn_error: None,
            interrupted,
        };
        assert_eq!(f(2, None).outcome(&borg), Outcome::Failure);
        assert_eq!(f(2, Some(libc::SIGINT)).outcome(&borg), Outcome::Cancelled);
        assert_eq!(f(1, Some(libc::SIGINT)).outcome(&borg), Outcome::Warning);
        assert_eq!(f(0, Some(libc::SIGTERM)).outcome(&borg), Outcome::Success);
    }
}
