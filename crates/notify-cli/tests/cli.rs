//! The real `notify` binary, run in a temporary directory per test.
//!
//! Index:
//! - `run_*`: wrapping a command: levels, exit codes, signals, output.
//! - `send_*`: flags, JSON results, extras.
//! - `changes_*`: the `changes` level across runs (state in the data dir).
//! - `template_*`: values, check, preview, fallback at send time.
//! - `config_*`: files, environment overrides, errors.
//! - `header_*`: nothing a task name holds can add a header.
//! - `smtp::*` (tests/cases/smtp.rs): `run`, `send` and `test` through a
//!   real SMTP server over real TLS, and the canary password checks.
//! - `account::*` (tests/cases/account.rs): the account commands.
//! - `oauth::*` (tests/cases/oauth.rs): `account login`'s device flow
//!   against the test kit's OAuth server, XOAUTH2 sends with refreshed
//!   (and rotated) tokens, `invalid_grant`.
//! - `queue::*` (tests/cases/queue.rs): the queue under faults, and
//!   bounded memory with huge output.
//! - `json::*` (tests/cases/json.rs): every `--json` output.
//! - `readers::*` (tests/cases/readers.rs): real restic, borg, rsync and
//!   rclone runs (also as `nobody`, with a file they may not read) and
//!   what their mails say.
//! - `faults::*` (tests/cases/faults.rs): a stderr that cannot be
//!   written, and other faults around a run that must cost nothing.
//! - `check::*` (tests/cases/check.rs): `notify check` with second-scale
//!   expectations: overdue, did not finish (kill -9, a reused pid), still
//!   running past `max_runtime`, and the expectation keys' errors.
//! - `destinations::*` (tests/cases/destinations.rs): email, `[[also]]`
//!   and desktop destinations (a recording D-Bus notification server), the
//!   worst exit status; shell completions and the manual page.
//! - `http::*` (tests/cases/http.rs): webhook, ntfy and Healthchecks
//!   against a recording HTTP server: pings, JSON, headers, queueing.
//! - `metrics::*` (tests/cases/metrics.rs): the `[metrics]` textfile,
//!   checked by promtool and served by a real node_exporter.
//! - `sendmail::*` (tests/cases/sendmail.rs): the sendmail interface, as
//!   cron calls it through a `sendmail` symlink and as bsd-mailx does.
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]
#![allow(
    unsafe_code,
    reason = "tests send signals with kill(2) and count allocations"
)]

#[path = "cases/account.rs"]
mod account;
#[path = "cases/check.rs"]
mod check;
#[path = "cases/destinations.rs"]
mod destinations;
#[path = "cases/faults.rs"]
mod faults;
#[path = "cases/http.rs"]
mod http;
#[path = "cases/json.rs"]
mod json;
#[path = "cases/metrics.rs"]
mod metrics;
#[path = "cases/oauth.rs"]
mod oauth;
#[path = "cases/queue.rs"]
mod queue;
#[path = "cases/readers.rs"]
mod readers;
#[path = "cases/secret_faults.rs"]
mod secret_faults;
#[path = "cases/sendmail.rs"]
mod sendmail;
#[path = "cases/smtp.rs"]
mod smtp;
mod support;

use support::{decode_header, TestEnv};

// ---------------------------------------------------------------- run

#[test]
fn run_errors_level_failure_sends_one_mail() {
    let env = TestEnv::new();
    let out = env.notify(&["run", "--task", "T", "--level", "errors", "--", "false"]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let mails = env.mails();
    assert_eq!(mails.len(), 1);
    let subject = mails[0].header("Subject").unwrap();
    assert!(subject.contains(": T: "), "{subject}");
    assert!(subject.contains("Failed"), "{subject}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("local Maildir"), "{stderr}");
    assert!(
        stderr.contains("Send through your mail provider"),
        "{stderr}"
    );
}

#[test]
fn run_errors_level_success_sends_nothing() {
    let env = TestEnv::new();
    let out = env.notify(&["run", "--task", "T", "--level", "errors", "--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(env.mails().len(), 0);
}

#[test]
fn run_always_level_sends_on_success_and_failure() {
    for (cmd, code, status) in [("true", 0, "Finished successfully"), ("false", 1, "Failed")] {
        let env = TestEnv::new();
        let out = env.notify(&["run", "--task", "T", "--level", "always", "--", cmd]);
        assert_eq!(out.status.code(), Some(code), "{}", env.describe(&out));
        let mails = env.mails();
        assert_eq!(mails.len(), 1, "{cmd}");
        assert!(mails[0].header("Subject").unwrap().contains(status));
    }
}

#[test]
fn run_never_level_sends_nothing() {
    let env = TestEnv::new();
    let out = env.notify(&["run", "--task", "T", "--level", "never", "--", "false"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(env.mails().len(), 0);
}

#[test]
fn run_propagates_exit_codes_and_signals() {
    let env = TestEnv::new();
    for (script, code) in [
        ("exit 7", 7),
        ("exit 0", 0),
        ("kill -9 $$", 137),
        ("kill -TERM $$", 143),
    ] {
        let out = env.notify(&[
            "run", "--task", "codes", "--level", "never", "--", "sh", "-c", script,
        ]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{script}: {}",
            env.describe(&out)
        );
    }
}

#[test]
fn run_signal_outcomes() {
    let env = TestEnv::new();
    env.notify(&[
        "run",
        "--task",
        "term",
        "--level",
        "always",
        "--",
        "sh",
        "-c",
        "kill -TERM $$",
    ]);
    env.notify(&[
        "run",
        "--task",
        "kill",
        "--level",
        "always",
        "--",
        "sh",
        "-c",
        "kill -KILL $$",
    ]);
    let mails = env.mails();
    assert_eq!(mails.len(), 2);
    let all: Vec<String> = mails.iter().map(|m| m.header("Subject").unwrap()).collect();
    assert!(
        all.iter()
            .any(|s| s.contains("term") && s.contains("Cancelled")),
        "{all:?}"
    );
    assert!(
        all.iter()
            .any(|s| s.contains("kill") && s.contains("Failed")),
        "{all:?}"
    );
}

#[test]
fn run_failed_notification_keeps_the_commands_exit_code() {
    let env = TestEnv::new();
    // The data dir is a file: the Maildir cannot be created.
    let blocker = env.path().join("blocked");
    std::fs::write(&blocker, "").unwrap();
    let out = env
        .cmd_without_data_dir()
        .arg("--data-dir")
        .arg(&blocker)
        .args([
            "run", "--task", "T", "--level", "always", "--", "sh", "-c", "exit 3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the notification for `T` failed"),
        "{stderr}"
    );
}

#[test]
fn run_passes_output_through_and_keeps_the_tail() {
    let env = TestEnv::new();
    let out = env.notify(&[
        "run",
        "--task",
        "T",
        "--level",
        "always",
        "--",
        "sh",
        "-c",
        "echo copying; echo oops >&2; printf 'bin\\377ary\\n'; exit 1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    // Byte for byte, including the invalid UTF-8.
    assert_eq!(out.stdout, b"copying\nbin\xffary\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("oops"));
    let body = env.mails()[0].body_text();
    assert!(body.contains("copying"), "{body}");
    assert!(body.contains("oops"), "{body}");
    assert!(body.contains("bin\u{fffd}ary"), "{body}");
    assert!(
        body.contains("sh -c"),
        "the command line is in the mail: {body}"
    );
}

#[test]
fn run_keeps_only_a_bounded_tail_of_huge_output() {
    let env = TestEnv::new();
    // About 30 MB of output; the mail keeps only the last lines.
    let out = env
        .cmd()
        .args([
            "run", "--task", "T", "--level", "always", "--", "sh", "-c",
            "i=0; while [ $i -lt 300 ]; do head -c 100000 /dev/zero | tr '\\0' x; echo; i=$((i+1)); done; echo LAST-LINE",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let mail = &env.mails()[0];
    let body = mail.body_text();
    assert!(body.contains("LAST-LINE"), "tail kept");
    assert!(mail.raw.len() < 200_000, "mail is {} bytes", mail.raw.len());
}

#[test]
fn run_does_not_wait_for_background_processes_holding_its_output() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .args([
            "run",
            "--task",
            "T",
            "--level",
            "always",
            "--",
            "sh",
            "-c",
            "sleep 20 & echo started; exit 1",
        ])
        .timeout(std::time::Duration::from_secs(15))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let body = env.mails()[0].body_text();
    assert!(body.contains("started"), "{body}");
    // Taken when the command exited, not 20 s later when `sleep` lets go.
    let elapsed = body
        .lines()
        .find_map(|l| l.strip_prefix("Elapsed time:"))
        .map(str::trim)
        .unwrap_or_default();
    let secs: u32 = elapsed.trim_end_matches(" s").parse().unwrap_or(u32::MAX);
    assert!(secs < 10, "finished when the command exited: {elapsed}");
}

#[cfg(unix)]
#[test]
fn run_passes_sigterm_on_and_still_reports() {
    let env = TestEnv::new();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("notify"))
        .args(["--data-dir"])
        .arg(env.path().join("data"))
        .args([
            "run",
            "--task",
            "T",
            "--level",
            "always",
            "--",
            "sh",
            "-c",
            "trap 'echo got-term; exit 5' TERM; echo ready; sleep 10 & wait",
        ])
        .env("HOME", env.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"ready\n");
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(status.code(), Some(5), "{rest}");
    assert!(rest.contains("got-term"), "{rest}");
    let body = env.mails()[0].body_text();
    assert!(body.contains("got-term"), "{body}");
    // The job failed after notify was asked to stop: cancelled.
    assert!(body.contains("Status:         Cancelled"), "{body}");
}

/// Ctrl-C reaches the whole process group: a job that then ends with an
/// error code of its own (borg ends with 2) was cancelled, not failed.
#[test]
fn run_ctrl_c_to_the_process_group_is_cancelled() {
    use std::os::unix::process::CommandExt;
    let env = TestEnv::new();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("notify"))
        .args(["--data-dir"])
        .arg(env.path().join("data"))
        .args([
            "run",
            "--task",
            "T",
            "--",
            "sh",
            "-c",
            "trap 'echo got-int; exit 2' INT; echo ready; sleep 10 & wait",
        ])
        .env("HOME", env.path())
        .stdout(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"ready\n");
    // SAFETY: plain kill(2) on our own child's process group.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2));
    let mails = env.mails();
    assert_eq!(mails.len(), 1, "cancelled mails at `errors`");
    let body = mails[0].body_text();
    assert!(body.contains("Status:         Cancelled"), "{body}");
}

#[test]
fn run_runs_the_job_even_with_a_broken_config() {
    let env = TestEnv::new();
    env.config("[email\nlevel = \"always\"\n");
    let out = env.notify(&["run", "--task", "T", "--", "sh", "-c", "echo RAN; exit 4"]);
    assert_eq!(out.status.code(), Some(4), "{}", env.describe(&out));
    assert_eq!(out.stdout, b"RAN\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.toml"),
        "the error is reported: {stderr}"
    );
    assert!(stderr.contains("running the command anyway"), "{stderr}");
    assert_eq!(env.mails().len(), 1, "the failure is still notified");
}

#[test]
fn run_with_bad_delivery_settings_keeps_the_notification_locally() {
    let env = TestEnv::new();
    env.config("[email]\naccount = \"nope\"\n");
    let out = env.notify(&["run", "--task", "T", "--", "false"]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown account `nope`"), "{stderr}");
    assert!(
        stderr.contains("goes to the local Maildir instead"),
        "{stderr}"
    );
    assert_eq!(env.mails().len(), 1);
    // Also on a success, the mistake is reported at once, not on the first failure.
    let out = env.notify(&["run", "--task", "T", "--", "true"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown account `nope`"));
    // send reports it as a configuration error.
    let out = env.notify(&["send", "--task", "T", "--status", "success"]);
    assert_eq!(out.status.code(), Some(78));
}

#[test]
fn run_reports_an_unusable_ca_file_on_a_successful_run() {
    let env = TestEnv::new();
    std::fs::write(env.path().join("ca.pem"), "not a certificate").unwrap();
    env.config(
        "[email]\naccount = \"a\"\nto = \"ops@example.com\"\n\
         [accounts.a]\nfrom = \"me@example.com\"\nserver = \"smtp.example.com:587\"\nca_file = \"ca.pem\"\n",
    );
    let out = env.notify(&["run", "--task", "T", "--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("account `a`"), "{stderr}");
    assert!(stderr.contains("ca.pem"), "{stderr}");
}

#[test]
fn run_long_task_names_keep_their_state() {
    let env = TestEnv::new();
    let name = "Ü ".repeat(150);
    for _ in 0..2 {
        let out = env.notify(&["run", "--task", &name, "--level", "changes", "--", "false"]);
        assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("cannot save"));
    }
    assert_eq!(
        env.mails().len(),
        1,
        "the repeat is held back, so state was saved"
    );
}

#[test]
fn run_command_not_found_is_a_failed_run() {
    let env = TestEnv::new();
    let out = env.notify(&["run", "--task", "T", "--", "/nonexistent/backup-tool"]);
    assert_eq!(out.status.code(), Some(127), "{}", env.describe(&out));
    let mails = env.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].body_text().contains("command not found"));
}

#[test]
fn run_exit_code_presets() {
    let env = TestEnv::new();
    let out = env.notify(&[
        "run",
        "--task",
        "B",
        "--level",
        "always",
        "--exit-codes",
        "borg",
        "--",
        "sh",
        "-c",
        "exit 1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(env.mails()[0]
        .header("Subject")
        .unwrap()
        .contains("Finished with warnings"));

    // A preset that does not exist: said, and the job runs all the same.
    let out = env.notify(&["run", "--task", "B", "--exit-codes", "borgg", "--", "true"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown exit-code preset `borgg`"),
        "{stderr}"
    );
}

#[test]
fn run_dry_run_prints_and_delivers_nothing() {
    let env = TestEnv::new();
    let out = env.notify(&["run", "--task", "T", "--dry-run", "--", "false"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Subject: "), "{stdout}");
    assert_eq!(env.mails().len(), 0);
    assert!(
        !env.path().join("data/state").exists(),
        "a dry run remembers nothing"
    );
}

// ---------------------------------------------------------------- send

#[test]
fn send_with_flags() {
    let env = TestEnv::new();
    let out = env.notify(&[
        "send",
        "--task",
        "DB dump",
        "--status",
        "failure",
        "--exit-code",
        "3",
        "--started",
        "2026-11-21T02:00:00Z",
        "--finished",
        "2026-11-21T02:01:05Z",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let mail = &env.mails()[0];
    assert!(mail.header("Subject").unwrap().contains("DB dump"));
    let body = mail.body_text();
    assert!(body.contains("Exit code:      3\n"), "{body}");
    assert!(body.contains("Elapsed time:   1 min 05 s\n"), "{body}");
    assert!(
        body.contains("Started:        2026-11-21 02:00:00 +00:00\n"),
        "{body}"
    );
}

#[test]
fn send_set_fills_known_values() {
    let env = TestEnv::new();
    let out = env.notify(&[
        "send",
        "--task",
        "sync",
        "--status",
        "failure",
        "--set",
        "Source=/srv/data",
        "--set",
        "Kopierte Dateien=42",
        "--set",
        "Ticket=OPS-7",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let body = env.mails()[0].body_text();
    assert!(body.contains("Source:         /srv/data\n"), "{body}");
    assert!(body.contains("Files copied:   42\n"), "{body}");
    let out = env.notify(&[
        "send",
        "--task",
        "sync",
        "--status",
        "failure",
        "--set",
        "Files Copied=lots",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be a whole number"));
}

#[test]
fn send_keeps_commas_inside_display_names() {
    let env = TestEnv::new();
    env.config("[email]\nto = [\"\\\"Doe, John\\\" <john@example.com>\", \"ops@example.com\"]\n");
    let out = env.notify(&[
        "send",
        "--task",
        "x",
        "--status",
        "failure",
        "--cc",
        "\"Roe, Jane\" <jane@example.com>, b@example.com",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let mail = &env.mails()[0];
    let to = mail.header("To").unwrap();
    assert!(
        to.contains("john@example.com") && to.contains("ops@example.com"),
        "{to}"
    );
    let cc = mail.header("Cc").unwrap();
    assert!(
        cc.contains("jane@example.com") && cc.contains("b@example.com"),
        "{cc}"
    );
}

#[test]
fn send_rejects_bad_addresses_before_anything_is_sent() {
    let env = TestEnv::new();
    let out = env.notify(&[
        "send",
        "--task",
        "x",
        "--status",
        "success",
        "--to",
        "ok@example.com,not-an-address",
    ]);
    // A flag's mistake: usage (2); the same in the config file is 78.
    assert_eq!(out.status.code(), Some(2), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not-an-address"), "{stderr}");
    assert!(stderr.contains("to"), "{stderr}");
}

#[test]
fn send_success_at_errors_level_sends_nothing() {
    let env = TestEnv::new();
    let out = env.notify(&["send", "--task", "x", "--status", "success"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(env.mails().len(), 0);
}

#[test]
fn send_result_json_from_file_and_stdin() {
    let env = TestEnv::new();
    let json = r#"{"task_name":"Nightly","outcome":"failure","exit_code":2,"errors":["disk full"],"source":"/srv"}"#;
    let file = env.path().join("result.json");
    std::fs::write(&file, json).unwrap();
    let out = env
        .cmd()
        .args(["send", "--result"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let out = env
        .cmd()
        .args(["send", "--result", "-", "--task", "From stdin"])
        .write_stdin(json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let mails = env.mails();
    assert_eq!(mails.len(), 2);
    let subjects: Vec<String> = mails.iter().map(|m| m.header("Subject").unwrap()).collect();
    assert!(
        subjects.iter().any(|s| s.contains("Nightly")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.contains("From stdin")),
        "{subjects:?}"
    );
    assert!(mails.iter().all(|m| m.body_text().contains("disk full")));
}

#[test]
fn send_bad_input_is_a_usage_error() {
    let env = TestEnv::new();
    let cases: &[(&[&str], &str)] = &[
        (&["send", "--task", "x"], "--status STATUS is required"),
        (&["send", "--status", "failure"], "--task NAME is required"),
        (
            &["send", "--task", "x", "--status", "meh"],
            "unknown status `meh`",
        ),
        (
            &[
                "send", "--task", "x", "--status", "failure", "--set", "novalue",
            ],
            "is not KEY=VALUE",
        ),
        (
            &[
                "send",
                "--task",
                "x",
                "--status",
                "failure",
                "--started",
                "yesterday",
            ],
            "is not a time",
        ),
    ];
    for (args, message) in cases {
        let out = env.notify(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            env.describe(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let file = env.path().join("bad.json");
    std::fs::write(
        &file,
        r#"{"task_name":"x","outcome":"failure","exitcode":1}"#,
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["send", "--result"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown field `exitcode`"), "{stderr}");
    assert!(stderr.contains("bad.json"), "{stderr}");
    assert_eq!(env.mails().len(), 0);
}

#[test]
fn send_extras_are_template_values() {
    let env = TestEnv::new();
    env.config(
        r###"
[email]
subject = "##Task Name## on ##Database##: ##Exit Status##"
"###,
    );
    let out = env.notify(&[
        "send",
        "--task",
        "dump",
        "--status",
        "failure",
        "--set",
        "Database=prod-eu",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(
        env.mails()[0].header("Subject").unwrap(),
        "dump on prod-eu: Failed"
    );
}

// ---------------------------------------------------------------- changes

#[test]
fn changes_level_sends_on_change_and_counts_repeats() {
    let env = TestEnv::new();
    let send = |status: &str| {
        let out = env.notify(&[
            "send", "--task", "Flaky", "--level", "changes", "--status", status,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    };
    send("success"); // first run, fine: nothing
    assert_eq!(env.mails().len(), 0);
    send("failure"); // new failure: mail
    assert_eq!(env.mails().len(), 1);
    send("failure"); // repeat within a day: held back
    send("failure");
    assert_eq!(env.mails().len(), 1);
    send("success"); // recovery: mail, mentioning the 2 held back
    let mails = env.mails();
    assert_eq!(mails.len(), 2);
    let recovery = mails
        .iter()
        .find(|m| {
            m.header("Subject")
                .unwrap()
                .contains("Finished successfully")
        })
        .expect("a recovery mail");
    let body = recovery.body_text();
    assert!(
        body.contains(
            "2 earlier notifications about this task were held back since the last mail."
        ),
        "{body}"
    );
    assert!(
        body.contains("The task works again, after 3 failed runs in a row over "),
        "{body}"
    );
    assert!(env.path().join("data/state/Flaky.json").is_file());
}

// ---------------------------------------------------------------- template

#[test]
fn template_values_in_german() {
    let env = TestEnv::new();
    let out = env.notify(&["template", "values", "--locale", "de"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in [
        "##Backup-Name##",
        "##Status beim Beenden##",
        "##Protokollauszug##",
        "##Kopierte Daten##",
    ] {
        assert!(stdout.contains(name), "{name} missing:\n{stdout}");
    }
    let out = env.notify(&["template", "values", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["name"] == "Task Name"));
}

#[test]
fn german_locale_failed_run_has_german_encoded_subject() {
    let env = TestEnv::new();
    env.config("locale = \"de\"\n");
    let out = env.notify(&["run", "--task", "Tägliche Sicherung", "--", "false"]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let mail = &env.mails()[0];
    let raw = mail.raw_header("Subject").unwrap();
    assert!(raw.is_ascii(), "the header is encoded: {raw}");
    assert!(raw.contains("=?"), "an RFC 2047 encoded-word: {raw}");
    let subject = decode_header(&raw);
    assert!(subject.contains("Tägliche Sicherung"), "{subject}");
    assert!(subject.contains("Fehlgeschlagen"), "{subject}");
}

#[test]
fn template_check_reports_line_column_and_suggestion() {
    let env = TestEnv::new();
    env.config(
        r###"
[email]
subject = "##Task Nme##"

[tasks."Daily Backup"]
body = """Start: ##Startzeit##
Ok: ##Kopierte Daten##
"""
"###,
    );
    std::fs::write(env.path().join("good.txt"), "##task name## \\## done").unwrap();
    std::fs::write(env.path().join("bad.txt"), "line one\n  ##Exit Stat").unwrap();
    let out = env
        .cmd()
        .args(["template", "check"])
        .arg(env.path().join("good.txt"))
        .arg(env.path().join("bad.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("email.subject: line 1, column 1"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean ##Task Name##"), "{stderr}");
    assert!(stderr.contains("bad.txt: line 2, column 3"), "{stderr}");
    assert!(
        stderr.contains("2 of 4 template(s) have errors"),
        "{stderr}"
    );

    let ok = TestEnv::new();
    let out = ok.notify(&["template", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", ok.describe(&out));
}

#[test]
fn template_check_counts_unreadable_files() {
    let env = TestEnv::new();
    env.config("[email]\nbody_file = \"missing.txt\"\n");
    let out = env.notify(&["template", "check"]);
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.txt"), "{stderr}");
    assert!(
        stderr.contains("1 of 1 template(s) have errors"),
        "{stderr}"
    );
}

#[test]
fn template_output_survives_a_closed_pipe() {
    let env = TestEnv::new();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' template values | true",
            assert_cmd::cargo::cargo_bin("notify").display()
        ))
        .env("HOME", env.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn template_preview_renders_samples() {
    let env = TestEnv::new();
    let out = env.notify(&["template", "preview", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("Subject: "), "{stdout}");
    assert!(stdout.contains("Failed"), "{stdout}");
    let out = env.notify(&[
        "template", "preview", "--locale", "de", "--status", "failure",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Fehlgeschlagen"));
    // Extras and values can be set, as with send.
    env.config("[email]\nsubject = \"##Task Name## on ##Database##\"\n");
    let out = env.notify(&[
        "template",
        "preview",
        "--set",
        "Database=prod",
        "--set",
        "Source=/srv",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("Subject: Daily Backup on prod\n"),
        "{stdout}"
    );
    assert!(stdout.contains("/srv"), "{stdout}");
}

#[test]
fn template_error_at_send_time_falls_back_to_the_default() {
    let env = TestEnv::new();
    env.config("[email]\nsubject = \"##Tsk Name## failed\"\n");
    let out = env.notify(&["run", "--task", "T", "--", "false"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("##Tsk Name##"),
        "the warning names the problem: {stderr}"
    );
    let mails = env.mails();
    assert_eq!(mails.len(), 1, "the notification is not lost");
    let subject = mails[0].header("Subject").unwrap();
    assert!(
        subject.contains(": T: Failed"),
        "default subject: {subject}"
    );
    assert!(
        mails[0].body_text().contains("Tsk Name"),
        "the mail says so"
    );
}

// ---------------------------------------------------------------- config

/// A mistake in the file leaves out that key only: the rest (the
/// recipients, above all) stays in force, and stderr and the mail say what
/// was ignored, with file, line and key. A file that is not TOML at all is
/// a configuration error.
#[test]
fn config_errors_name_file_line_and_key() {
    let env = TestEnv::new();
    env.config("locale = \"en\"\n[email]\nto = [\"ops@example.com\"]\nlevel = \"sometimes\"\n");
    let out = env.notify(&["send", "--task", "x", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.toml, line 4, key `email.level`"),
        "{stderr}"
    );
    assert!(stderr.contains("unknown level `sometimes`"), "{stderr}");
    assert!(
        stderr.contains("this key is ignored, the rest of the file is in force"),
        "{stderr}"
    );
    let mails = env.mails();
    assert_eq!(mails.len(), 1, "the failure is still mailed");
    assert_eq!(mails[0].header("To").unwrap(), "ops@example.com");
    assert!(mails[0]
        .body_text()
        .contains("notify's configuration has mistakes"));

    env.config("[email\nlevel = 3\n");
    let out = env.notify(&["send", "--task", "x", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.toml"), "{stderr}");
    assert!(stderr.contains("line 1"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");

    env.config("[email]\nlevl = \"always\"\nto = [\"ops@example.com\"]\n");
    let out = env.notify(&["send", "--task", "x", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "config.toml, line 2: unknown key `email.levl` (ignored); did you mean `level`?"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("`one of"), "no nested backticks: {stderr}");
    assert_eq!(env.mails().len(), 2);
}

#[test]
fn config_values_are_checked_with_file_and_line() {
    let env = TestEnv::new();
    env.config("[email]\nlevel = \"Always\"\n\n[tasks.x]\nlocale = \"fr\"\n");
    let out = env.notify(&["send", "--task", "x", "--status", "success"]);
    // The bad locale is left out (English), the level kept.
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(env.mails().len(), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 5"), "{stderr}");
    assert!(stderr.contains("tasks.x.locale"), "{stderr}");
    assert!(
        stderr.contains("unknown locale `fr`; expected one of: en, de"),
        "{stderr}"
    );
    // A level in any case is fine.
    env.config("[email]\nlevel = \"Always\"\n");
    let out = env.notify(&["send", "--task", "x", "--status", "success"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
    assert_eq!(env.mails().len(), 2);
}

#[test]
fn config_missing_explicit_file_is_an_error() {
    let env = TestEnv::new();
    let out = env.notify(&[
        "--config",
        "/nonexistent/notify.toml",
        "send",
        "--task",
        "x",
        "--status",
        "failure",
    ]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/notify.toml"));
}

#[test]
fn config_tasks_and_environment_override() {
    let env = TestEnv::new();
    env.config(
        r#"
[email]
level = "never"

[tasks."Daily Backup"]
level = "always"
"#,
    );
    env.notify(&["send", "--task", "Other", "--status", "failure"]);
    assert_eq!(env.mails().len(), 0, "[email] level never");
    env.notify(&["send", "--task", "Daily Backup", "--status", "success"]);
    assert_eq!(env.mails().len(), 1, "the task's own level");
    // Environment beats the file; unrelated NOTIFY_* variables are ignored.
    let out = env
        .cmd()
        .env("NOTIFY_EMAIL__LEVEL", "always")
        .env("NOTIFY_SOCKET", "/run/systemd/notify")
        .args(["send", "--task", "Other", "--status", "success"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(env.mails().len(), 2);
    // A value that looks like a number or a boolean is still text.
    let out = env
        .cmd()
        .env("NOTIFY_EMAIL__LEVEL", "always")
        .env("NOTIFY_EMAIL__SUBJECT", "true")
        .args(["send", "--task", "Other", "--status", "success"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert!(env
        .mails()
        .iter()
        .any(|m| m.header("Subject").as_deref() == Some("true")));
    // Flags beat both.
    env.cmd()
        .env("NOTIFY_EMAIL__LEVEL", "always")
        .args([
            "send", "--task", "Other", "--status", "success", "--level", "never",
        ])
        .output()
        .unwrap();
    assert_eq!(env.mails().len(), 3);
    // A bad environment value is named as such.
    let out = env
        .cmd()
        .env("NOTIFY_EMAIL__LEVEL", "loud")
        .args(["send", "--task", "Other", "--status", "success"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOTIFY_EMAIL__LEVEL"));
}

#[test]
fn config_recipients_and_notify_data_dir_env() {
    let env = TestEnv::new();
    env.config("[email]\nto = \"a@example.com, b@example.com\"\nlevel = \"always\"\n");
    let data = env.path().join("elsewhere");
    let out = env
        .cmd_without_data_dir()
        .env("NOTIFY_DATA_DIR", &data)
        .args(["send", "--task", "x", "--status", "success"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let mails = support::mails_in(&data.join("maildir"));
    assert_eq!(mails.len(), 1);
    let to = mails[0].header("To").unwrap();
    assert!(
        to.contains("a@example.com") && to.contains("b@example.com"),
        "{to}"
    );
}

// ---------------------------------------------------------------- headers

#[test]
fn header_task_name_with_line_breaks_cannot_add_headers() {
    let env = TestEnv::new();
    let out = env.notify(&[
        "send",
        "--task",
        "evil\r\nBcc: victim@example.com\nX-Injected: 1",
        "--status",
        "failure",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let mail = &env.mails()[0];
    assert!(mail.header("Bcc").is_none(), "{}", mail.raw);
    assert!(mail.header("X-Injected").is_none(), "{}", mail.raw);
    let subject = mail.header("Subject").unwrap();
    assert!(
        subject.contains("evil  Bcc: victim@example.com X-Injected: 1"),
        "{subject}"
    );
}

#[test]
fn providers_are_listed_and_chosen_by_address() {
    let env = TestEnv::new();
    let out = env.notify(&["providers"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for id in [
        "gmail",
        "icloud",
        "yahoo",
        "aol",
        "outlook",
        "office365",
        "zoho",
        "fastmail",
        "gmx",
    ] {
        assert!(text.contains(id), "{id} missing:\n{text}");
    }
    assert!(text.contains("smtp.gmail.com:465"), "{text}");
    let out = env.notify(&["providers", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 9);

    // No server: the preset of the from address's domain; `provider =` picks one.
    env.config(
        r#"
[email]
account = "g"
to = "me@example.com"
[accounts.g]
from = "Me <me@gmail.com>"
password = "env:UNUSED"
[accounts.i]
from = "me@custom.example"
provider = "icloud"
username = "me@example.com"
password = "env:UNUSED"
"#,
    );
    let body = |out: &std::process::Output| {
        support::Mail {
            raw: String::from_utf8_lossy(&out.stdout).into_owned(),
        }
        .body_text()
    };
    let out = env.notify(&["test", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let text = body(&out);
    assert!(
        text.contains("account `g` (smtp.gmail.com:465, tls)"),
        "{text}"
    );
    let out = env.notify(&["test", "--dry-run", "--account", "i"]);
    let text = body(&out);
    assert!(text.contains("(smtp.mail.me.com:587, starttls)"), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("@icloud.com"),
        "the iCloud login rule is explained: {stderr}"
    );
}

#[test]
fn attached_log_is_capped_and_keeps_the_tail() {
    let env = TestEnv::new();
    env.config("[email]\nattach_log_max = 2000\n");
    let out = env.notify(&[
        "run",
        "--task",
        "T",
        "--attach-log",
        "--",
        "sh",
        "-c",
        "i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done; exit 1",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let mail = &env.mails()[0];
    assert!(mail.raw.contains("multipart/mixed"), "{}", mail.raw);
    assert!(mail.raw.contains("log.txt"), "{}", mail.raw);
    let all = mail.body_text();
    assert!(all.contains("line-499"), "the tail is kept");
    assert!(!all.contains("line-10\n"), "the head is cut");
    assert!(
        mail.raw.contains("Content-Type: text/plain; charset=utf-8"),
        "{}",
        mail.raw
    );
    // Cut at a line boundary, with a line saying how much was cut.
    let attachment = all
        .split_once("bytes of earlier output cut]\n")
        .map(|(_, rest)| rest)
        .expect("a cut marker");
    assert!(attachment.starts_with("line-"), "{attachment}");
}

#[test]
fn attached_log_that_is_not_utf8_is_not_labelled_utf8() {
    let env = TestEnv::new();
    let out = env.notify(&[
        "run",
        "--task",
        "T",
        "--attach-log",
        "--",
        "sh",
        "-c",
        "printf 'caf\\351 latin-1\\n'; exit 1",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let mail = &env.mails()[0];
    let part = mail
        .raw
        .split("\n--")
        .find(|p| p.contains("filename=\"log.txt\""))
        .expect("the log attachment");
    assert!(
        part.contains("Content-Type: application/octet-stream"),
        "{}",
        mail.raw
    );
}

#[test]
fn run_set_source_and_destination_replace_what_the_output_said() {
    let env = TestEnv::new();
    env.config("[email]\nlevel = \"always\"\n");
    let out = env.notify(&[
        "run",
        "--task",
        "T",
        "--tool",
        "rsync",
        "--source",
        "/given",
        "--set",
        "Files Copied=7",
        "--set",
        "Snapshot ID=abc",
        "--set",
        "Exit Status=success",
        "--",
        "sh",
        "-c",
        "echo 'Number of regular files transferred: 200'; exit 0",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not set with --set"), "{stderr}");
    let body = env.mails()[0].body_text();
    assert!(body.contains("Source:         /given"), "{body}");
    assert!(body.contains("Files copied:   7"), "{body}");
    assert!(body.contains("Snapshot:       abc"), "{body}");
    // The mistake is in the mail too, and the job's status stands.
    assert!(
        body.contains("Status:         Finished successfully"),
        "{body}"
    );
    assert!(body.contains("notify: --set Exit Status"), "{body}");
}

#[test]
fn run_tool_from_the_config_reads_a_script() {
    let env = TestEnv::new();
    env.config("[email]\nlevel = \"always\"\n[tasks.T]\ntool = \"rsync\"\n");
    let out = env.notify(&[
        "run",
        "--task",
        "T",
        "--",
        "sh",
        "-c",
        "echo 'Number of regular files transferred: 3'; exit 23",
    ]);
    assert_eq!(out.status.code(), Some(23), "{}", env.describe(&out));
    let body = env.mails()[0].body_text();
    assert!(body.contains("Files copied:   3"), "{body}");
    // The rsync preset came with the reader: 23 is a warning.
    assert!(
        body.contains("Status:         Finished with warnings"),
        "{body}"
    );

    env.config("[tasks.T]\ntool = \"rsyncc\"\n");
    let out = env.notify(&["run", "--task", "T", "--", "true"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown tool `rsyncc`"), "{stderr}");
}

/// A password in the wrapped command line (a variable, an option, a URL)
/// is masked in the mail, also where the job prints it again.
#[test]
fn run_masks_secrets_of_the_command_line() {
    let env = TestEnv::new();
    env.config("[email]\nlevel = \"always\"\n");
    let out = env.notify(&[
        "run",
        "--task",
        "T",
        "--attach-log",
        "--tool",
        "restic",
        "--",
        "env",
        "RESTIC_PASSWORD=canary-pw-1",
        "sh",
        "-c",
        "echo \"Fatal: cannot open https://me:canary-pw-2@h/r with $RESTIC_PASSWORD\" >&2; exit 1",
        "sh",
        "--password",
        "canary-pw-3",
        "-r",
        "https://me:canary-pw-2@h/r",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let mail = &env.mails()[0];
    let all = mail.body_text();
    for canary in ["canary-pw-1", "canary-pw-2", "canary-pw-3"] {
        assert!(
            !mail.raw.contains(canary) && !all.contains(canary),
            "{canary}: {all}"
        );
    }
    assert!(all.contains("env 'RESTIC_PASSWORD=***' sh"), "{all}");
    assert!(
        all.contains("--password '***' -r 'https://me:***@h/r'"),
        "{all}"
    );
    assert!(
        all.contains("Fatal: cannot open https://me:***@h/r with ***"),
        "{all}"
    );
}

#[test]
fn send_set_cannot_change_the_status() {
    let env = TestEnv::new();
    let out = env.notify(&[
        "send",
        "--task",
        "T",
        "--status",
        "failure",
        "--set",
        "Exit Status=success",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--set Exit Status: the status is not set with --set"),
        "{stderr}"
    );
    assert!(stderr.contains("--status"), "{stderr}");
    assert!(env.mails().is_empty());
    let out = env.notify(&[
        "send",
        "--task",
        "T",
        "--status",
        "failure",
        "--source",
        "/srv",
        "--destination",
        "nas:/b",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let body = env.mails()[0].body_text();
    assert!(
        body.contains("Source:         /srv") && body.contains("Destination:    nas:/b"),
        "{body}"
    );
}

#[test]
fn help_teaches() {
    let env = TestEnv::new();
    let out = env.cmd().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Examples:"), "{text}");
    let out = env.notify(&["run", "--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("notify run --task"));
    let out = env.cmd().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
