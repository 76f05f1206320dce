//! `DesktopTransport` against a real `dbus-daemon` (a private bus per test,
//! from notify-testkit) and a recording notification server on it.
//!
//! - delivery: what `Notify` carries per outcome (icon, urgency byte,
//!   category, app name, expiry), ids, markup escaping by capability,
//!   the body cap.
//! - unavailable: no bus (a missing socket, a socket that never answers,
//!   one whose backlog is full), a bus without a notification server, a
//!   server that never answers: all temporary, one line, fast; a socket
//!   descriptor too high for libdbus is refused.
//! - refused: a server's error reply is permanent and named; an address
//!   that would make libdbus start a process (or has a NUL) is refused,
//!   temporary.
//! - `new()`, in child processes (the environment is process-global):
//!   `DBUS_SESSION_BUS_ADDRESS`, `$XDG_RUNTIME_DIR/bus`, neither.
//! - thousands of open descriptors, in child processes: a full backlog, a
//!   descriptor above libdbus' `select()` limit.
#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use notify_core::{ErrorKind, Notification, Outcome, Transport, TransportError};
use notify_desktop::DesktopTransport;
use notify_testkit::desktop::{Answer, NotificationServer, Options, PrivateBus, Received};

const WAIT: Duration = Duration::from_secs(5);

fn notification(subject: &str, text: &str, outcome: Option<Outcome>) -> Notification {
    {
        let mut built = Notification::default();
        built.subject = subject.to_owned();
        built.text = text.to_owned();
        built.outcome = outcome;
        built.to = vec!["ops@example.com".to_owned()];
        built
    }
}

/// Sends one notification to `server` and returns what it received.
async fn deliver(server: &NotificationServer, notification: &Notification) -> Received {
    let before = server.received().len();
    let transport = DesktopTransport::with_bus_address(server.address());
    let delivery = transport
        .send(notification)
        .await
        .unwrap_or_else(|e| panic!("send failed: {e}\n{}", server.bus().log()));
    let mut got = server.wait_for(before + 1, WAIT);
    assert_eq!(got.len(), before + 1, "the server received {got:?}");
    let received = got.remove(before);
    let id = received.id.expect("the server answered with an id");
    assert_eq!(delivery.detail, format!("desktop notification #{id}"));
    received
}

async fn send_err(transport: &DesktopTransport) -> TransportError {
    match transport
        .send(&notification(
            "backup: failed",
            "exit 2",
            Some(Outcome::Failure),
        ))
        .await
    {
        Ok(delivery) => panic!("expected an error, got {delivery:?}"),
        Err(e) => e,
    }
}

// --- delivery ---------------------------------------------------------------

#[tokio::test]
#[ignore = "needs dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
async fn failure_is_critical_with_error_icon() {
    let server = NotificationServer::start();
    let got = deliver(
        &server,
        &notification(
            "backup: failed",
            "borg exited with code 2\nsee the log",
            Some(Outcome::Failure),
        ),
    )
    .await;
    assert_eq!(got.app_name, "notify");
    assert_eq!(got.replaces_id, 0);
    assert_eq!(got.app_icon, "dialog-error");
    assert_eq!(got.summary, "backup: failed");
    assert_eq!(got.body, "borg exited with code 2\nsee the log");
    assert!(got.actions.is_empty());
    assert_eq!(got.urgency(), Some(2), "hints: {:?}", got.hints);
    assert_eq!(got.category(), Some("transfer.error"));
    assert_eq!(got.hints.len(), 2, "hints: {:?}", got.hints);
    assert_eq!(got.expire_timeout, -1);
}

#[tokio::test]
#[ignore = "needs dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
async fn each_outcome_and_increasing_ids() {
    let server = NotificationServer::start();
    // (outcome, icon, urgency, category)
    let cases = [
        (
            Some(Outcome::Success),
            "dialog-information",
            1,
            Some("transfer.complete"),
        ),
        (Some(Outcome::Warning), "dialog-warning", 1, None),
        (Some(Outcome::Cancelled), "dialog-warning", 1, None),
        (None, "dialog-information", 1, None),
        (
            Some(Outcome::Failure),
            "dialog-error",
            2,
            Some("transfer.error"),
        ),
    ];
    for (n, (outcome, icon, urgency, category)) in cases.into_iter().enumerate() {
        let got = deliver(&server, &notification("backup", "done", outcome)).await;
        assert_eq!(got.app_icon, icon, "{outcome:?}");
        assert_eq!(got.urgency(), Some(urgency), "{outcome:?}: {:?}", got.hints);
        assert_eq!(got.category(), category, "{outcome:?}");
        assert_eq!(got.id, u32::try_from(n + 1).ok(), "{outcome:?}");
    }
}

#[tokio::test]
#[ignore = "needs dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
async fn body_is_escaped_for_a_markup_server() {
    let server = NotificationServer::start();
    let got = deliver(
        &server,
        &notification("a <b> & c", "<b>bold</b> & 1 > 0", Some(Outcome::Success)),
    )
    .await;
    assert_eq!(got.body, "&lt;b&gt;bold&lt;/b&gt; &amp; 1 &gt; 0");
    // The summary is never markup.
    assert_eq!(got.summary, "a <b> & c");
}

#[tokio::test]
#[ignore = "needs dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
async fn body_is_plain_for_a_server_without_markup() {
    let server = NotificationServer::start_with(Options::new().capabilities(&["body"]));
    let got = deliver(
        &server,
        &notification("x", "<b>bold</b> & 1 > 0", Some(Outcome::Success)),
    )
    .await;
    assert_eq!(got.body, "<b>bold</b> & 1 > 0");
}

#[tokio::test]
#[ignore = "needs dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
async fn long_body_is_cut_with_an_ellipsis() {
    let server = NotificationServer::start();
    let text = "ä".repeat(5000);
    let got = deliver(&server, &notification("x", &text, Some(Outcome::Failure))).await;
    assert_eq!(got.body.chars().count(), 2000);
    assert!(got.body.starts_with("ää"));
    assert!(
        got.body.ends_with("ä…"),
        "{}",
        &got.body[got.body.len() - 10..]
    );
}

// --- unavailable: temporary -------------------------------------------------

#[tokio::test]
async fn missing_bus_socket_is_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let address = format!("unix:path={}/no-such-bus", dir.path().display());
    let started = Instant::now();
    let err = send_err(&DesktopTransport::with_bus_address(&address)).await;
    assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("no desktop session bus at {address} (")),
        "{message}"
    );
    assert!(message.contains("No such file or directory"), "{message}");
    assert!(
        message.ends_with("; desktop notification skipped"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
    assert!(err
        .hint()
        .is_some_and(|h| h.contains("DBUS_SESSION_BUS_ADDRESS")));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn bus_that_never_answers_times_out_temporary() {
    // A socket that accepts connections and never says a word.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silent-bus");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let address = format!("unix:path={}", path.display());
    let transport =
        DesktopTransport::with_bus_address(&address).with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = send_err(&transport).await;
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
    assert_eq!(
        err.to_string(),
        "the desktop session bus did not answer within 300ms; desktop notification skipped"
    );
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn refused_bus_addresses_are_temporary() {
    for (address, kind) in [
        ("autolaunch:", "autolaunch"),
        ("unixexec:path=/bin/sh,argv1=-c,argv2=exit", "unixexec"),
    ] {
        let err = send_err(&DesktopTransport::with_bus_address(address)).await;
        assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
        assert!(err.to_string().contains(&format!("`{kind}:`")), "{err}");
    }
    let err = send_err(&DesktopTransport::with_bus_address("unix:path=/tmp/x\0y")).await;
    assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
    assert!(err.to_string().contains("NUL byte"), "{err}");
}

#[tokio::test]
#[ignore = "needs dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
async fn nul_in_texts_is_replaced() {
    let server = NotificationServer::start();
    let got = deliver(
        &server,
        &notification("job\0name", "line\0one", Some(Outcome::Success)),
    )
    .await;
    assert_eq!(got.summary, "job\u{fffd}name");
    assert_eq!(got.body, "line\u{fffd}one");
}

#[tokio::test]
#[ignore = "needs dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
async fn bus_without_notification_server_is_temporary() {
    let bus = PrivateBus::start();
    let err = send_err(&DesktopTransport::with_bus_address(bus.address())).await;
    assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
    assert_eq!(
        err.to_string(),
        "no notification server on the session bus (nothing owns \
         org.freedesktop.Notifications); desktop notification skipped"
    );
    assert!(err.hint().is_some());
}

#[tokio::test]
#[ignore = "needs dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
async fn silent_server_times_out_temporary() {
    let server = NotificationServer::start_with(Options::new().answer(Answer::Nothing));
    let transport = DesktopTransport::with_bus_address(server.address())
        .with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = send_err(&transport).await;
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
    assert_eq!(
        err.to_string(),
        "the notification server did not answer within 300ms; desktop notification skipped"
    );
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    // It did get the call.
    assert_eq!(server.received().len(), 1);
}

// --- refused: permanent -----------------------------------------------------

#[tokio::test]
#[ignore = "needs dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
async fn server_error_is_permanent_and_named() {
    let server = NotificationServer::start_with(Options::new().answer(Answer::Error {
        name: "org.freedesktop.Notifications.Error.Refused".to_owned(),
        message: "too many\nnotifications".to_owned(),
    }));
    let err = send_err(&DesktopTransport::with_bus_address(server.address())).await;
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    assert_eq!(
        err.to_string(),
        "the notification server refused the notification: \
         org.freedesktop.Notifications.Error.Refused: too many notifications"
    );
}

// --- the environment's session bus, in child processes ----------------------

/// The child side of the `session_bus_*` tests: runs only when the parent
/// sets `NOTIFY_DESKTOP_CHILD` (`no-bus` or `delivers`).
#[tokio::test]
#[ignore = "the body of a child process that the test above starts"]
async fn child_session_bus_from_environment() {
    let Ok(expect) = std::env::var("NOTIFY_DESKTOP_CHILD") else {
        panic!("not a test of its own: the session_bus tests run it with NOTIFY_DESKTOP_CHILD set");
    };
    let result = DesktopTransport::new()
        .send(&notification("from env", "body", Some(Outcome::Success)))
        .await;
    match expect.as_str() {
        "no-bus" => {
            let err = result.expect_err("no bus, yet it was delivered");
            assert_eq!(err.kind(), ErrorKind::Temporary);
            assert_eq!(
                err.to_string(),
                "no desktop session bus (DBUS_SESSION_BUS_ADDRESS is not set); desktop \
                 notification skipped"
            );
        }
        "delivers" => {
            let delivery = result.unwrap_or_else(|e| panic!("not delivered: {e}"));
            assert_eq!(delivery.detail, "desktop notification #1");
        }
        other => panic!("unknown NOTIFY_DESKTOP_CHILD={other}"),
    }
}

/// Runs `child_session_bus_from_environment` in a child process with
/// `DBUS_SESSION_BUS_ADDRESS` set to `address` (or removed) and
/// `XDG_RUNTIME_DIR` a new directory, holding a `bus` symlink to
/// `runtime_bus` when given: environment variables are process-global.
fn run_child(expect: &str, address: Option<&str>, runtime_bus: Option<&Path>) -> Output {
    let runtime_dir = tempfile::tempdir().unwrap();
    if let Some(socket) = runtime_bus {
        std::os::unix::fs::symlink(socket, runtime_dir.path().join("bus")).unwrap();
    }
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child_session_bus_from_environment",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("NOTIFY_DESKTOP_CHILD", expect)
    .env("XDG_RUNTIME_DIR", runtime_dir.path());
    match address {
        Some(address) => cmd.env("DBUS_SESSION_BUS_ADDRESS", address),
        None => cmd.env_remove("DBUS_SESSION_BUS_ADDRESS"),
    };
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn session_bus_unset_is_temporary() {
    run_child("no-bus", None, None);
}

#[test]
#[ignore = "needs dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
fn session_bus_from_environment_delivers() {
    let server = NotificationServer::start();
    run_child("delivers", Some(server.address()), None);
    let got = server.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].summary, "from env");
}

/// Without `DBUS_SESSION_BUS_ADDRESS`, `$XDG_RUNTIME_DIR/bus` is the
/// session bus (as libdbus and systemd user sessions have it).
#[test]
#[ignore = "needs dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
fn session_bus_from_xdg_runtime_dir_delivers() {
    let server = NotificationServer::start();
    // unix:path=/tmp/notify-dbus-XXXX/dbus-YYYY,guid=...
    let socket = server
        .address()
        .strip_prefix("unix:path=")
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("not a unix:path address: {}", server.address()));
    run_child("delivers", None, Some(Path::new(socket)));
    let got = server.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].summary, "from env");
}

// --- thousands of descriptors, in child processes ---------------------------
//
// Not in this process: testkit's notification servers here use libdbus too,
// which cannot wait on a descriptor above 1023 (see `high_descriptor_*`).

/// The child side of the `*_descriptor*` tests: runs only when the parent
/// sets `NOTIFY_DESKTOP_FDS_CHILD` (`full-backlog` or `high-fd`, with the
/// bus in `NOTIFY_DESKTOP_FDS_ADDRESS`). Prints `skipped:` when the
/// descriptor limit is too low (a reason of the machine; under `CI=true` it
/// fails instead).
#[tokio::test]
#[ignore = "the body of a child process that the test above starts"]
async fn child_many_descriptors() {
    let Ok(which) = std::env::var("NOTIFY_DESKTOP_FDS_CHILD") else {
        panic!(
            "not a test of its own: the descriptor tests run it with NOTIFY_DESKTOP_FDS_CHILD set"
        );
    };
    match which.as_str() {
        "full-backlog" => full_backlog_times_out().await,
        "high-fd" => {
            let address = std::env::var("NOTIFY_DESKTOP_FDS_ADDRESS").unwrap();
            high_descriptor_is_refused(&address).await;
        }
        other => panic!("unknown NOTIFY_DESKTOP_FDS_CHILD={other}"),
    }
}

/// A bus whose listen backlog is full: libdbus' blocking `connect()` waits
/// with no timeout of its own, so the send gives up on it (after its
/// timeout and a grace second) and leaves the thread behind.
async fn full_backlog_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full-bus");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    // Connect (never accepted) until connect() blocks: the backlog is full.
    let (tx, rx) = std::sync::mpsc::channel();
    let filler_path = path.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        loop {
            match std::os::unix::net::UnixStream::connect(&filler_path) {
                Ok(stream) => held.push(stream),
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
            if tx.send(Ok(held.len())).is_err() {
                return;
            }
        }
    });
    loop {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                // E.g. too many open files before the backlog (SOMAXCONN) filled.
                return notify_testkit::skip_unless_ci(&format!(
                    "cannot fill the listen backlog: {e}"
                ));
            }
            // No progress: the filler is blocked in connect().
            Err(_) => break,
        }
    }

    let address = format!("unix:path={}", path.display());
    let transport =
        DesktopTransport::with_bus_address(&address).with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = send_err(&transport).await;
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
    assert_eq!(
        err.to_string(),
        "the desktop session bus did not answer within 300ms; desktop notification skipped"
    );
    // The outer limit, not the D-Bus deadline: connect() itself hung.
    assert!(
        elapsed >= Duration::from_millis(1200) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
}

/// With over a thousand files open, the D-Bus socket's descriptor is too
/// high for the vendored libdbus' `select()`: refused, not waited on.
async fn high_descriptor_is_refused(address: &str) {
    use std::os::unix::io::AsRawFd;

    let mut held = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) if file.as_raw_fd() >= 1100 => break,
            Ok(file) => held.push(file),
            Err(e) => {
                return notify_testkit::skip_unless_ci(&format!("cannot open 1100 files: {e}"));
            }
        }
    }
    let err = send_err(&DesktopTransport::with_bus_address(address)).await;
    assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with("too many open files for libdbus (its connection got descriptor "),
        "{message}"
    );
    assert!(
        message.ends_with("; desktop notification skipped"),
        "{message}"
    );
}

/// Runs `child_many_descriptors` in a child process, and passes on the
/// `skipped:` line it printed, if any.
fn run_descriptor_child(which: &str, address: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_many_descriptors",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("NOTIFY_DESKTOP_FDS_CHILD", which)
        .env("NOTIFY_DESKTOP_FDS_ADDRESS", address)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // Not at the start of a line: libtest has printed `test NAME ... ` there.
    if let Some(at) = stdout.find("skipped: ") {
        println!("{}", stdout[at..].lines().next().unwrap_or_default());
    }
}

#[test]
fn bus_with_a_full_backlog_times_out_temporary() {
    run_descriptor_child("full-backlog", "");
}

#[test]
#[ignore = "needs dbus-daemon (a private D-Bus); `cargo xtask ci` runs it"]
fn high_descriptor_is_refused_temporary() {
    let bus = PrivateBus::start();
    run_descriptor_child("high-fd", bus.address());
}
