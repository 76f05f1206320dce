//! Never lose, never flood: the queue under faults, against the real SMTP
//! test server, and bounded memory with huge output.

use std::process::{Command, Stdio};

use notify_testkit::{Listener, ServerOptions, SmtpServer};

use crate::support::{closed_port, TestEnv};

const USER: &str = "user@example.com";
const PASSWORD: &str = "canary-Pa55-w0rd";

/// `[email]` through account `a` at `port` of the test server.
fn configure(env: &TestEnv, server: &SmtpServer, port: u16) {
    env.config(&format!(
        "[email]\naccount = \"a\"\nto = \"ops@example.com\"\nlevel = \"always\"\n\
         [accounts.a]\nfrom = \"{USER}\"\nserver = \"127.0.0.1:{port}\"\nsecurity = \"starttls\"\n\
         ca_file = \"{}\"\npassword = \"env:NOTIFY_TEST_PW\"\ntimeout = \"5s\"\n",
        server.certs().ca().display()
    ));
}

fn notify(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.cmd()
        .env("NOTIFY_TEST_PW", PASSWORD)
        .args(args)
        .output()
        .expect("run notify")
}

fn message_ids(server: &SmtpServer) -> Vec<String> {
    server
        .messages()
        .iter()
        .map(|m| {
            m.text()
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID: ").map(|v| v.trim().to_owned()))
                .unwrap_or_default()
        })
        .collect()
}

/// Makes a queued message due now (as if its retry time had come), and
/// optionally first queued at `first_failed_at`.
fn make_due(file: &std::path::Path, first_failed_at: Option<&str>) {
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    json["next_attempt_at"] = "2000-01-02T00:00:00Z".into();
    if let Some(at) = first_failed_at {
        json["first_failed_at"] = at.into();
    }
    std::fs::write(file, json.to_string()).unwrap();
    std::fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(std::time::SystemTime::UNIX_EPOCH)
        .unwrap();
}

fn queue_files(env: &TestEnv, sub: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(env.path().join("data/queue").join(sub))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn dropped_after_data_is_retried_with_the_same_message_id() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("drop").drop_after_data())
            .listener(Listener::starttls("ok")),
    );
    let env = TestEnv::new();
    configure(&env, &server, server.port("drop"));
    let out = notify(&env, &["send", "--task", "t", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    assert_eq!(queue_files(&env, "").len(), 1);
    configure(&env, &server, server.port("ok"));
    let out = notify(&env, &["queue", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let ids = message_ids(&server);
    assert_eq!(
        ids.len(),
        2,
        "the dropped one reached the server, then the retry"
    );
    assert_eq!(
        ids[0], ids[1],
        "a duplicate is recognisable by its Message-ID"
    );
    assert!(queue_files(&env, "").is_empty());
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn rejected_recipient_is_not_queued() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("ok").reject_rcpt("nobody@example.com")),
    );
    let env = TestEnv::new();
    configure(&env, &server, server.port("ok"));
    let out = notify(
        &env,
        &[
            "send",
            "--task",
            "t",
            "--status",
            "failure",
            "--to",
            "nobody@example.com",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    assert!(
        queue_files(&env, "").is_empty(),
        "permanent failures are not queued"
    );
    assert_eq!(env.mails().len(), 1, "but kept locally");
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn a_corrupt_queue_file_is_moved_aside_and_the_rest_delivered() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("ok")),
    );
    let env = TestEnv::new();
    configure(&env, &server, closed_port());
    let out = notify(&env, &["send", "--task", "t", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    std::fs::write(
        env.path().join("data/queue/00000000000000000001-1-0.json"),
        "{garbage",
    )
    .unwrap();
    configure(&env, &server, server.port("ok"));
    let out = notify(&env, &["queue", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("corrupt"), "{stderr}");
    assert_eq!(server.messages().len(), 1);
    assert_eq!(queue_files(&env, "corrupt").len(), 1, "moved aside");
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn concurrent_flushes_deliver_each_message_once() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("ok")),
    );
    let env = TestEnv::new();
    configure(&env, &server, closed_port());
    for i in 0..12 {
        let out = notify(
            &env,
            &["send", "--task", &format!("t{i}"), "--status", "failure"],
        );
        assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    }
    configure(&env, &server, server.port("ok"));
    // Three notify processes flush the same queue at once.
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| notify(&env, &["queue", "flush"]));
        }
    });
    let mut ids = message_ids(&server);
    assert_eq!(ids.len(), 12, "each queued message delivered");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12, "and none twice");
    assert!(queue_files(&env, "").is_empty());
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn the_next_run_retries_what_is_due() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("ok")),
    );
    let env = TestEnv::new();
    configure(&env, &server, closed_port());
    let out = notify(&env, &["send", "--task", "queued", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    // Make it due now, as a minute later would.
    make_due(&queue_files(&env, "")[0], None);
    configure(&env, &server, server.port("ok"));
    let out = notify(
        &env,
        &["run", "--task", "other", "--level", "never", "--", "true"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let got = server.messages();
    assert_eq!(got.len(), 1, "{}", env.describe(&out));
    assert!(got[0].text().contains("queued"));
    assert!(queue_files(&env, "").is_empty());
}

/// A job printing 1 GB runs under a 256 MiB address-space limit: notify
/// keeps only a bounded tail, and the attached log is capped at
/// `attach_log_max` (default 1 MiB).
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs prlimit (util-linux); `cargo xtask ci` runs it"]
fn a_gigabyte_of_output_in_bounded_memory() {
    notify_testkit::require_program("prlimit");
    let env = TestEnv::new();
    let status = Command::new("prlimit")
        .arg("--as=268435456")
        .arg(assert_cmd::cargo::cargo_bin("notify"))
        .arg("--data-dir")
        .arg(env.path().join("data"))
        .args([
            "run",
            "--task",
            "big",
            "--level",
            "always",
            "--attach-log",
            "--",
            "sh",
            "-c",
            "head -c 1000000000 /dev/zero; echo; echo LAST",
        ])
        .env("HOME", env.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let mails = env.mails();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].raw.len() < 1_600_000,
        "{} bytes",
        mails[0].raw.len()
    );
    assert!(mails[0].body_text().contains("LAST"));
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn given_up_after_max_age_and_said_once_in_the_next_mail() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("ok")),
    );
    let env = TestEnv::new();
    configure(&env, &server, closed_port());
    let out = notify(&env, &["send", "--task", "old", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    // Eight days in the queue, and due.
    make_due(&queue_files(&env, "")[0], Some("2000-01-01T00:00:00Z"));
    let out = notify(&env, &["queue", "flush"]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gave up"));
    assert_eq!(queue_files(&env, "failed").len(), 1);
    let out = notify(&env, &["queue", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("given up (1):"));

    // The server is back: the next mail says one was lost, the one after not;
    // with an HTML body, both parts say it.
    configure(&env, &server, server.port("ok"));
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    env.config(&config.replace("[email]\n", "[email]\nhtml = \"default\"\n"));
    for task in ["new", "newer"] {
        let out = notify(&env, &["send", "--task", task, "--status", "failure"]);
        assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    }
    let got = server.messages();
    assert_eq!(got.len(), 2);
    let first = crate::support::Mail { raw: got[0].text() }.body_text();
    let notice = "1 earlier notification(s) through this account could not be delivered";
    assert_eq!(first.matches(notice).count(), 2, "text and HTML: {first}");
    assert!(!got[1].text().contains("could not be delivered"));
}

/// A full and a read-only data directory (small tmpfs mounts in a private
/// mount namespace): a clear error with a hint, and the job's exit code.
#[cfg(target_os = "linux")]
#[test]
fn full_or_read_only_data_dir_keeps_the_jobs_exit_code() {
    let env = TestEnv::new();
    let mnt = env.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let notify = assert_cmd::cargo::cargo_bin("notify");
    let run = |options: &str, job: &str| {
        Command::new("unshare")
            .args(["-m", "sh", "-c"])
            .arg(format!(
                "mount -t tmpfs -o {options} tmpfs '{m}' || exit 200; \
                 '{n}' --data-dir '{m}' run --task T --level always --attach-log -- sh -c '{job}' >/dev/null",
                m = mnt.display(),
                n = notify.display(),
            ))
            .env("HOME", env.path())
            .output()
            .unwrap()
    };
    // Needs root (CAP_SYS_ADMIN) and a kernel or container that allows it.
    let probe = Command::new("unshare")
        .args(["-m", "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .output()
        .unwrap();
    if !probe.status.success() {
        return notify_testkit::skip_unless_ci(&format!(
            "cannot mount a tmpfs in a private mount namespace here: {}",
            String::from_utf8_lossy(&probe.stderr).trim()
        ));
    }
    let full = run("size=64k", "head -c 300000 /dev/urandom; exit 4");
    let stderr = String::from_utf8_lossy(&full.stderr);
    assert_eq!(full.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.contains("hint: free some space"), "{stderr}");

    let ro = run("ro,size=64k", "exit 5");
    let stderr = String::from_utf8_lossy(&ro.stderr);
    assert_eq!(ro.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("read-only file system"), "{stderr}");
    assert!(stderr.contains("--data-dir"), "{stderr}");
}

#[test]
fn changes_level_reminder_says_how_long_it_has_been_failing() {
    let env = TestEnv::new();
    env.config("[email]\nlevel = \"changes\"\nremind_every = \"4s\"\n");
    let send = |status: &str| {
        let out = env.notify(&["send", "--task", "Flaky", "--status", status]);
        assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    };
    send("failure"); // first failure: mail
    send("failure"); // within 4 s: held back
    std::thread::sleep(std::time::Duration::from_millis(4200));
    send("failure"); // reminder
    let mails = env.mails();
    assert_eq!(mails.len(), 2);
    let reminder = mails
        .iter()
        .map(|m| m.body_text())
        .find(|b| b.contains("in a row"))
        .expect("a reminder");
    assert!(
        reminder.contains("This task has now failed 3 times in a row, since "),
        "{reminder}"
    );
    assert!(
        reminder.contains("1 earlier notification about this task was held back"),
        "{reminder}"
    );
}

/// notify killed with SIGKILL at random moments while it writes: whatever
/// is in the Maildir's new/ and in the queue is complete.
#[cfg(unix)]
#[test]
fn kill_9_mid_write_leaves_no_partial_file() {
    let env = TestEnv::new();
    let notify = assert_cmd::cargo::cargo_bin("notify");
    // A big result, so that writing the message takes a moment.
    let result = env.path().join("result.json");
    let tail = "line of output\n".repeat(150_000);
    std::fs::write(
        &result,
        serde_json::json!({"task_name": "k", "outcome": "failure", "log_tail": tail}).to_string(),
    )
    .unwrap();
    for i in 0..40u64 {
        let mut child = Command::new(&notify)
            .arg("--data-dir")
            .arg(env.path().join("data"))
            .args(["send", "--result"])
            .arg(&result)
            .env("HOME", env.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(500 * (i % 20)));
        let _ = child.kill();
        let _ = child.wait();
    }
    // Every delivered file is a whole message: headers, blank line, and the
    // default body's last section.
    // (A file left in tmp/ by a killed process is fine: it is never
    // delivered; so new/ is read directly here.)
    let new = env.path().join("data/maildir/new");
    let mails: Vec<crate::support::Mail> = std::fs::read_dir(&new)
        .map(|d| {
            d.flatten()
                .map(|e| crate::support::Mail {
                    raw: String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    for mail in mails {
        assert!(mail.raw.contains("\nSubject: ") || mail.raw.starts_with("Subject: "));
        let body = mail.body_text();
        assert!(
            body.contains("Log tail") || body.contains("Protokollauszug"),
            "a cut message: {}",
            mail.raw.len()
        );
    }
    for file in queue_files(&env, "") {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            serde_json::from_str::<serde_json::Value>(&text).is_ok(),
            "{}",
            file.display()
        );
    }
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn a_queued_notification_counts_as_sent_for_the_changes_level() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("ok")),
    );
    let env = TestEnv::new();
    configure(&env, &server, closed_port());
    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config = config.replace("level = \"always\"", "level = \"changes\"");
    std::fs::write(env.config_path(), config).unwrap();
    let out = notify(&env, &["send", "--task", "t", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    // The repeat is held back: the first is already on its way.
    let out = notify(&env, &["send", "--task", "t", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(queue_files(&env, "").len(), 1);
}

/// kill -9 of `queue flush` in the middle of a batch: each message leaves
/// the queue as soon as its 250 arrives, so the next flush repeats at most
/// the one that was in flight (SPEC section 10), not the whole batch.
#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn kill_9_of_a_flush_repeats_at_most_one_message() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("slow").slow_ack(std::time::Duration::from_millis(100))),
    );
    let env = TestEnv::new();
    configure(&env, &server, closed_port());
    for i in 0..30 {
        let out = notify(
            &env,
            &["send", "--task", &format!("k{i}"), "--status", "failure"],
        );
        assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    }
    configure(&env, &server, server.port("slow"));
    let mut flush = env
        .std_cmd()
        .env("NOTIFY_TEST_PW", PASSWORD)
        .args(["queue", "flush"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.messages().len() < 8 {
        assert!(
            std::time::Instant::now() < deadline,
            "the flush never got going"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    flush.kill().unwrap(); // SIGKILL
    flush.wait().unwrap();
    let out = notify(&env, &["queue", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let ids = message_ids(&server);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 30, "every queued message delivered");
    assert!(
        ids.len() <= 31,
        "{} deliveries for 30 messages after one kill",
        ids.len()
    );
    assert!(queue_files(&env, "").is_empty());
}

/// `notify send --task TASK --status failure`, killed with SIGKILL as soon
/// as it has connected to the server's silent listener.
fn kill_9_once_connected(env: &TestEnv, server: &SmtpServer, task: &str) {
    let mut send = env
        .std_cmd()
        .env("NOTIFY_TEST_PW", PASSWORD)
        .args(["send", "--task", task, "--status", "failure"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.connections("silent") == 0 {
        assert!(std::time::Instant::now() < deadline, "send never connected");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    send.kill().unwrap(); // SIGKILL
    send.wait().unwrap();
}

/// kill -9 of `send` while it waits for the server: the notification was
/// written to the queue before the delivery began, so the next notify
/// delivers it (nothing lost).
#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn kill_9_of_a_send_mid_delivery_loses_nothing() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("ok"))
            .listener(Listener::silent("silent")),
    );
    let env = TestEnv::new();
    configure(&env, &server, server.port("silent"));
    kill_9_once_connected(&env, &server, "killed"); // mid-delivery
    assert_eq!(queue_files(&env, "").len(), 1, "written ahead");
    configure(&env, &server, server.port("ok"));
    let out = notify(&env, &["queue", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].text().contains("killed"));
    assert!(queue_files(&env, "").is_empty());
}

/// kill -9 of `send` while it retries an older queued notification (before
/// it has connected for its own): its own was decided, rendered and held
/// in the queue before the retry began, so nothing is lost.
#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn kill_9_of_a_send_during_its_retry_loses_nothing() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("ok"))
            .listener(Listener::silent("silent")),
    );
    let env = TestEnv::new();
    configure(&env, &server, crate::support::closed_port());
    let out = notify(&env, &["send", "--task", "older", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    make_due(&queue_files(&env, "")[0], None);

    // The server now never greets: the retry of `older` waits on it.
    configure(&env, &server, server.port("silent"));
    kill_9_once_connected(&env, &server, "newer"); // during the retry
    assert_eq!(
        server.connections("silent"),
        1,
        "one connection: the retry's"
    );
    assert_eq!(queue_files(&env, "").len(), 2, "held before the retry");

    configure(&env, &server, server.port("ok"));
    let out = notify(&env, &["queue", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let got: Vec<String> = server.messages().iter().map(|m| m.text()).collect();
    assert_eq!(got.len(), 2);
    for task in ["older", "newer"] {
        assert!(got.iter().any(|m| m.contains(task)), "{task} delivered");
    }
    assert!(queue_files(&env, "").is_empty());
}
