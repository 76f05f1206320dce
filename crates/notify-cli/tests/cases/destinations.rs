//! Several destinations per task: the email, `[[also]]` emails and the
//! desktop (a recording notification server on a private D-Bus), each with
//! its own level; one failing destination never blocks another, and the
//! exit status of `send` is the worst. Also the shell completions and the
//! manual page.

use std::process::{Command, Output};
use std::time::Duration;

use notify_testkit::desktop::NotificationServer;
use notify_testkit::{Listener, ServerOptions, SmtpServer};

use crate::support::{closed_port, TestEnv};

const FROM: &str = "backup@example.com";

fn smtp() -> ServerOptions {
    ServerOptions::new()
        .listener(Listener::plain("relay"))
        .listener(Listener::plain("reject").reject_rcpt("nobody@example.com"))
}

/// A config with the relay as `[email]`'s account, plus `extra`.
fn configure(env: &TestEnv, server: &SmtpServer, email_extra: &str, extra: &str) {
    env.config(&format!(
        r#"
[email]
account = "relay"
to = ["ops@example.com"]
{email_extra}

[accounts.relay]
from = "{FROM}"
server = "127.0.0.1:{relay}"
security = "none"
timeout = "10s"

[accounts.reject]
from = "{FROM}"
server = "127.0.0.1:{reject}"
security = "none"
timeout = "10s"

[accounts.down]
from = "{FROM}"
server = "127.0.0.1:{down}"
security = "none"
timeout = "5s"
{extra}
"#,
        relay = server.port("relay"),
        reject = server.port("reject"),
        down = closed_port(),
    ));
}

/// `notify ARGS` talking to the desktop at `bus` (a D-Bus address).
fn notify_on(env: &TestEnv, bus: &str, args: &[&str]) -> Output {
    env.cmd()
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .args(args)
        .output()
        .expect("run notify")
}

/// The recipients of every message the server accepted on `listener`.
fn rcpts(server: &SmtpServer, listener: &str) -> Vec<String> {
    server
        .messages()
        .iter()
        .filter(|m| m.meta["listener"] == listener)
        .map(|m| {
            m.meta["rcpt_tos"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default()
        })
        .collect()
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd) and dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
fn failed_run_with_desktop_delivers_email_and_desktop_notification() {
    let server = SmtpServer::start(smtp());
    let desktop = NotificationServer::start();
    let env = TestEnv::new();
    configure(&env, &server, "", "");
    let out = notify_on(
        &env,
        desktop.address(),
        &[
            "run",
            "--task",
            "Nightly",
            "--desktop",
            "--level",
            "errors",
            "--",
            "sh",
            "-c",
            "exit 3",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", env.describe(&out));
    assert_eq!(rcpts(&server, "relay"), ["ops@example.com"]);
    let shown = desktop.wait_for(1, Duration::from_secs(10));
    assert_eq!(shown.len(), 1, "{}", env.describe(&out));
    let n = &shown[0];
    assert_eq!(n.summary, "Nightly: Failed");
    assert!(n.body.contains("Exit code 3"), "{}", n.body);
    assert_eq!(n.urgency(), Some(2), "a failure is critical");
    assert_eq!(n.app_name, "notify");
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd) and dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
fn successful_run_at_level_errors_delivers_neither() {
    let server = SmtpServer::start(smtp());
    let desktop = NotificationServer::start();
    let env = TestEnv::new();
    configure(&env, &server, "", "");
    let out = notify_on(
        &env,
        desktop.address(),
        &[
            "run",
            "--task",
            "Nightly",
            "--desktop",
            "--level",
            "errors",
            "--",
            "true",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    std::thread::sleep(Duration::from_millis(300));
    assert!(rcpts(&server, "relay").is_empty());
    assert!(desktop.received().is_empty(), "{:?}", desktop.received());
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd) and dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
fn desktop_level_and_start_notice_are_the_desktops_own() {
    let server = SmtpServer::start(smtp());
    let desktop = NotificationServer::start();
    let env = TestEnv::new();
    configure(
        &env,
        &server,
        "level = \"errors\"\ndesktop = true\ndesktop_level = \"always\"\nnotify_on_start = true",
        "",
    );
    let out = notify_on(
        &env,
        desktop.address(),
        &["run", "--task", "Sync", "--", "echo", "hello"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let shown = desktop.wait_for(2, Duration::from_secs(10));
    assert_eq!(shown.len(), 2, "{shown:?}\n{}", env.describe(&out));
    assert_eq!(shown[0].summary, "Sync started");
    assert!(shown[0].body.starts_with("Started "), "{}", shown[0].body);
    assert!(
        !shown[0].body.contains("echo"),
        "no command line on the screen: {}",
        shown[0].body
    );
    assert_eq!(shown[1].summary, "Sync: Finished successfully");
    assert_eq!(shown[1].urgency(), Some(1));
    // The email's level is `errors`: a success sends no mail.
    assert!(rcpts(&server, "relay").is_empty());
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn no_session_bus_is_one_warning_and_email_still_goes() {
    let server = SmtpServer::start(smtp());
    let env = TestEnv::new();
    configure(&env, &server, "", "");
    let missing = env.path().join("no-such-bus");
    let out = notify_on(
        &env,
        &format!("unix:path={}", missing.display()),
        &[
            "send",
            "--task",
            "T",
            "--status",
            "failure",
            "--desktop",
            "--level",
            "always",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(rcpts(&server, "relay"), ["ops@example.com"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("bus"), "{stderr}");
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn also_destinations_have_their_own_level_and_recipients() {
    let server = SmtpServer::start(smtp());
    let env = TestEnv::new();
    configure(
        &env,
        &server,
        "level = \"errors\"\n\n[[email.also]]\nto = [\"me@example.org\"]\nlevel = \"always\"",
        "",
    );
    let out = env.notify(&["run", "--task", "Job", "--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(rcpts(&server, "relay"), ["me@example.org"], "only `always`");

    let out = env.notify(&["run", "--task", "Job", "--", "false"]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let mut got = rcpts(&server, "relay");
    got.sort();
    assert_eq!(
        got,
        ["me@example.org", "me@example.org", "ops@example.com"],
        "both on a failure"
    );
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn a_failing_destination_never_blocks_another_and_send_exits_with_the_worst() {
    let server = SmtpServer::start(smtp());
    // The task's account is down (queued, 75); the [[also]] one works.
    let env = TestEnv::new();
    configure(
        &env,
        &server,
        "level = \"always\"\n\n[[email.also]]\naccount = \"relay\"\nto = [\"me@example.org\"]",
        "",
    );
    let out = env.notify(&[
        "send",
        "--task",
        "T",
        "--status",
        "failure",
        "--account",
        "down",
    ]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    assert_eq!(rcpts(&server, "relay"), ["me@example.org"]);

    // A refused recipient (permanent, 1) beats a queued message (75).
    let env = TestEnv::new();
    configure(
        &env,
        &server,
        "level = \"always\"\n\n[[email.also]]\naccount = \"down\"\nto = [\"me@example.org\"]",
        "",
    );
    let out = env.notify(&[
        "send",
        "--task",
        "T",
        "--status",
        "failure",
        "--account",
        "reject",
        "--to",
        "nobody@example.com",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("queued"),
        "the queued one is reported too: {stderr}"
    );

    // A configuration error in one destination (78) beats everything, and
    // the other destination is still delivered.
    let env = TestEnv::new();
    configure(
        &env,
        &server,
        "level = \"always\"\n\n[[email.also]]\naccount = \"nonesuch\"\nto = [\"me@example.org\"]",
        "",
    );
    let before = rcpts(&server, "relay").len();
    let out = env.notify(&["send", "--task", "T", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nonesuch"), "{stderr}");
    assert_eq!(
        rcpts(&server, "relay").len(),
        before + 1,
        "the email still went"
    );
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn flags_change_the_tasks_own_email_and_level_reaches_every_destination() {
    let server = SmtpServer::start(smtp());
    let env = TestEnv::new();
    configure(
        &env,
        &server,
        "level = \"never\"\n\n[[email.also]]\nto = [\"me@example.org\"]",
        "",
    );
    // --account and --to change the task's email only; the [[also]] entry
    // keeps the configured account (relay) and its own recipients.
    let out = env.notify(&[
        "send",
        "--task",
        "T",
        "--status",
        "failure",
        "--level",
        "always",
        "--account",
        "reject",
        "--to",
        "other@example.com",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(rcpts(&server, "relay"), ["me@example.org"]);
    assert_eq!(rcpts(&server, "reject"), ["other@example.com"]);
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn run_keeps_an_also_notification_locally_when_its_settings_are_broken() {
    let server = SmtpServer::start(smtp());
    let env = TestEnv::new();
    configure(
        &env,
        &server,
        "level = \"never\"\n\n[[email.also]]\naccount = \"nonesuch\"\nto = [\"me@example.org\"]\nlevel = \"always\"",
        "",
    );
    let out = env.notify(&["run", "--task", "T", "--", "false"]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nonesuch"), "{stderr}");
    assert!(stderr.contains("local Maildir"), "{stderr}");
    let mails = env.mails();
    assert_eq!(mails.len(), 1, "{}", env.describe(&out));
    assert!(rcpts(&server, "relay").is_empty());
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd) and dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
fn each_destination_keeps_its_own_memory_under_changes() {
    let server = SmtpServer::start(smtp());
    let desktop = NotificationServer::start();
    let env = TestEnv::new();
    configure(
        &env,
        &server,
        "level = \"changes\"\ndesktop = true\ndesktop_level = \"always\"",
        "",
    );
    for _ in 0..2 {
        let out = notify_on(
            &env,
            desktop.address(),
            &["send", "--task", "T", "--status", "failure"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    }
    // `changes`: the first failure only; the desktop (`always`): both.
    assert_eq!(rcpts(&server, "relay").len(), 1);
    assert_eq!(desktop.wait_for(2, Duration::from_secs(10)).len(), 2);
    assert!(env.path().join("data/state/desktop/T.json").is_file());
    assert!(env.path().join("data/state/T.json").is_file());
}

#[test]
fn dry_run_prints_the_desktop_notification() {
    let env = TestEnv::new();
    let out = env.notify(&[
        "send",
        "--task",
        "T",
        "--status",
        "warning",
        "--desktop",
        "--level",
        "always",
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("--- desktop notification ---"), "{stdout}");
    assert!(
        stdout.contains("Summary: T: Finished with warnings"),
        "{stdout}"
    );
    assert!(env.mails().is_empty(), "a dry run delivers nothing");
}

// ---------------------------------------------------------------- completions, man

#[test]
#[ignore = "needs bash; `cargo xtask ci` runs it"]
fn bash_completion_loads_and_completes_subcommands() {
    notify_testkit::require_program("bash");
    let env = TestEnv::new();
    let notify = env.cmd().get_program().to_owned();
    let script = r#"
set -e
source <("$NOTIFY" completions bash)
complete -p notify >/dev/null
COMP_WORDS=(notify ru); COMP_CWORD=1; COMP_LINE="notify ru"; COMP_POINT=${#COMP_LINE}
_notify notify ru notify
printf 'sub:%s\n' "${COMPREPLY[@]}"
COMP_WORDS=(notify queue ""); COMP_CWORD=2; COMP_LINE="notify queue "; COMP_POINT=${#COMP_LINE}
_notify notify "" queue
printf 'queue:%s\n' "${COMPREPLY[@]}"
"#;
    let out = Command::new("bash")
        .args(["-c", script])
        .env("NOTIFY", &notify)
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.lines().any(|l| l == "sub:run"), "{stdout}");
    for sub in ["list", "flush", "purge"] {
        assert!(
            stdout.lines().any(|l| l == format!("queue:{sub}")),
            "{sub}: {stdout}"
        );
    }
}

#[test]
fn zsh_and_fish_completions_are_generated() {
    let env = TestEnv::new();
    for (shell, marker) in [("zsh", "#compdef notify"), ("fish", "complete -c notify")] {
        let out = env.notify(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: {text}");
    }
    let out = env.notify(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "{}", env.describe(&out));
}

/// Writes the manual pages into a new directory of `env` (whose config is
/// broken: that must not break the manual) and returns it.
fn write_manual(env: &TestEnv) -> std::path::PathBuf {
    env.config("this is not toml");
    let dir = env.path().join("man");
    let out = env.notify(&["man", "--dir", dir.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    dir
}

#[test]
fn the_manual_pages_are_written_whatever_the_config() {
    let env = TestEnv::new();
    let dir = write_manual(&env);
    for page in [
        "notify.1",
        "notify-run.1",
        "notify-send.1",
        "notify-queue-flush.1",
    ] {
        assert!(dir.join(page).is_file(), "{page} missing");
    }
}

#[test]
#[ignore = "needs man (man-db); `cargo xtask ci` runs it"]
fn the_manual_page_renders_with_man() {
    notify_testkit::require_program("man");
    let env = TestEnv::new();
    let dir = write_manual(&env);
    let out = Command::new("man")
        .arg("-l")
        .arg(dir.join("notify.1"))
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .expect("man");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for piece in [
        "NAME",
        "notify",
        "COMMANDS",
        "completions",
        "notify-run(1)",
        "EXIT STATUS",
        "EX_TEMPFAIL",
        "ENVIRONMENT",
        "NOTIFY_CONFIG",
        "SSL_CERT_FILE",
        "FILES",
        "notify/queue",
        "EXAMPLES",
        "notify sendmail root",
    ] {
        assert!(text.contains(piece), "{piece} not in:\n{text}");
    }
    // `notify man` alone: one page, pointing at --help, not at other pages.
    let out = env.notify(&["man"]);
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");
    assert!(!page.contains("notify\\-run(1)"), "{page}");
}
