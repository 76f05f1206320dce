//! The sendmail interface: `notify sendmail`, notify run as `sendmail`
//! through a symlink with cron's exact command line, and the real
//! `bsd-mailx` calling it, against the real SMTP test server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use notify_testkit::{Listener, ServerOptions, SmtpServer};

use crate::support::{closed_port, TestEnv};

const USER: &str = "backup@example.com";
const PASSWORD: &str = "canary-Sendm41l-pw";

/// `[email]` through account `a` at `port` of the test server, with `extra`
/// appended.
fn configure(env: &TestEnv, server: &SmtpServer, port: u16, extra: &str) {
    env.config(&format!(
        "[email]\naccount = \"a\"\nto = \"ops@example.com\"\n\
         [accounts.a]\nfrom = \"Backups <{USER}>\"\nserver = \"127.0.0.1:{port}\"\n\
         security = \"starttls\"\nca_file = \"{}\"\npassword = \"env:NOTIFY_TEST_PW\"\n\
         timeout = \"5s\"\n{extra}",
        server.certs().ca().display()
    ));
}

fn with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    cmd.env("NOTIFY_TEST_PW", PASSWORD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write the message");
    child.wait_with_output().expect("wait")
}

/// `notify sendmail ARGS` with `input` on stdin.
fn sendmail(env: &TestEnv, args: &[&str], input: &[u8]) -> Output {
    let mut cmd = env.std_cmd();
    cmd.arg("sendmail").args(args);
    with_stdin(cmd, input)
}

/// A symlink named `sendmail` to the notify binary, in a `bin` directory of
/// its own (as /usr/sbin/sendmail would be).
fn sendmail_link(env: &TestEnv) -> PathBuf {
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("sendmail");
    let notify = env.std_cmd().get_program().to_owned();
    std::os::unix::fs::symlink(notify, &link).unwrap();
    link
}

/// `program` with the test's environment (no `--data-dir`: a program run
/// as `sendmail` takes sendmail's flags only).
fn with_env(env: &TestEnv, program: &Path) -> Command {
    let template = env.std_cmd_without_data_dir();
    let mut cmd = Command::new(program);
    for (key, value) in template.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    cmd.env("NOTIFY_DATA_DIR", env.path().join("data"));
    cmd
}

fn header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    head.split("\r\n")
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

fn queue_files(env: &TestEnv) -> Vec<PathBuf> {
    std::fs::read_dir(env.path().join("data/queue"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default()
}

fn server() -> SmtpServer {
    SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("ok")),
    )
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn sendmail_t_i_delivers_through_the_account_with_date_and_message_id() {
    let server = server();
    let env = TestEnv::new();
    configure(&env, &server, server.port("ok"), "");
    let out = sendmail(
        &env,
        &["-t", "-i"],
        b"To: a@example.com\nBcc: hidden@example.com\nSubject: s\nX-Mine: kept\n\nb\n.\nafter the dot\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert!(out.stdout.is_empty(), "{}", env.describe(&out));
    let received = server.messages();
    assert_eq!(received.len(), 1);
    let m = &received[0];
    assert_eq!(m.meta["mail_from"], USER);
    assert_eq!(
        m.meta["rcpt_tos"],
        notify_testkit::serde_json::json!(["a@example.com", "hidden@example.com"])
    );
    assert_eq!(m.meta["auth_login"], USER, "through the account's login");
    let text = m.text();
    assert_eq!(header(&text, "To"), Some("a@example.com"));
    assert_eq!(header(&text, "Subject"), Some("s"));
    assert_eq!(header(&text, "X-Mine"), Some("kept"));
    assert_eq!(header(&text, "From"), Some("Backups <backup@example.com>"));
    assert!(header(&text, "Bcc").is_none(), "{text}");
    assert!(header(&text, "Date").is_some(), "{text}");
    let id = header(&text, "Message-ID").unwrap();
    assert!(id.ends_with("@example.com>"), "{id}");
    assert!(
        text.ends_with("\r\n\r\nb\r\n.\r\nafter the dot\r\n"),
        "-i keeps the dot line: {text:?}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains(PASSWORD));
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn crons_exact_line_through_a_sendmail_symlink_goes_to_the_configured_recipient() {
    let server = server();
    let env = TestEnv::new();
    configure(&env, &server, server.port("ok"), "");
    let link = sendmail_link(&env);
    // What cron (Debian's cron 3.0) writes to sendmail, and how it calls it.
    let message =
        "From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@host> /usr/local/bin/nightly\n\
                   MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\
                   Content-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\n\
                   X-Cron-Env: <HOME=/root>\n\nnightly: Größe 3 GB\n.\nlast line\n";
    let mut cmd = with_env(&env, &link);
    cmd.args(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"]);
    let out = with_stdin(cmd, message.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let received = server.messages();
    assert_eq!(received.len(), 1, "{}", env.describe(&out));
    let m = &received[0];
    assert_eq!(
        m.meta["rcpt_tos"],
        notify_testkit::serde_json::json!(["ops@example.com"]),
        "root goes to [email] to"
    );
    assert_eq!(m.meta["mail_from"], USER);
    assert_eq!(
        m.meta["mail_options"],
        notify_testkit::serde_json::json!(["BODY=8BITMIME"])
    );
    let text = m.text();
    assert_eq!(
        header(&text, "From"),
        Some("\"Cron Daemon\" <backup@example.com>"),
        "cron's name, the account's address: {text}"
    );
    assert!(header(&text, "Reply-To").is_none(), "root is local: {text}");
    assert_eq!(header(&text, "To"), Some("root"));
    assert_eq!(text.matches("X-Cron-Env: ").count(), 2, "{text}");
    assert!(text.contains("nightly: Größe 3 GB\r\n.\r\nlast line\r\n"));
    assert!(header(&text, "Message-ID").is_some());
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn aliases_map_local_names_and_a_foreign_from_becomes_reply_to() {
    let server = server();
    let env = TestEnv::new();
    configure(
        &env,
        &server,
        server.port("ok"),
        "[sendmail]\naliases = { root = [\"admin@example.com\", \"ops@example.com\"], postmaster = \"pm@example.com\" }\n",
    );
    let out = sendmail(
        &env,
        &["root@localhost", "Postmaster,ops@example.com"],
        "From: Smart Daemon <smartd@other.example>\nSubject: SMART error (CurrentPendingSector)\n\nsda: 8 sectors\n".as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let m = &server.messages()[0];
    assert_eq!(
        m.meta["rcpt_tos"],
        notify_testkit::serde_json::json!([
            "admin@example.com",
            "ops@example.com",
            "pm@example.com"
        ])
    );
    let text = m.text();
    assert_eq!(
        header(&text, "From"),
        Some("\"Smart Daemon\" <backup@example.com>")
    );
    assert_eq!(
        header(&text, "Reply-To"),
        Some("\"Smart Daemon\" <smartd@other.example>")
    );
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd) and bsd-mailx; `cargo xtask ci` runs it"]
fn bsd_mailx_mail_s_through_the_symlink() {
    assert!(
        Path::new("/usr/bin/bsd-mailx").exists(),
        "bsd-mailx is missing: `cargo xtask ci` installs it (apt-get install bsd-mailx)"
    );
    let server = server();
    let env = TestEnv::new();
    configure(&env, &server, server.port("ok"), "");
    let link = sendmail_link(&env);
    // mail reads `set sendmail=...` from MAILRC: the symlink stands where
    // /usr/sbin/sendmail would.
    let mailrc = env.path().join("mailrc");
    std::fs::write(&mailrc, format!("set sendmail={}\n", link.display())).unwrap();
    let mut cmd = with_env(&env, Path::new("/usr/bin/bsd-mailx"));
    cmd.env("MAILRC", &mailrc)
        .args(["-s", "disk sda failing", "root"]);
    let out = with_stdin(
        cmd,
        "Device: /dev/sda, 8 Currently unreadable sectors\n".as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    // mail may return before its sendmail child has finished.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.messages().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let received = server.messages();
    assert_eq!(received.len(), 1, "{}", env.describe(&out));
    let m = &received[0];
    assert_eq!(
        m.meta["rcpt_tos"],
        notify_testkit::serde_json::json!(["ops@example.com"])
    );
    let text = m.text();
    assert_eq!(header(&text, "Subject"), Some("disk sda failing"));
    assert_eq!(header(&text, "From"), Some("Backups <backup@example.com>"));
    assert!(text.contains("8 Currently unreadable sectors"));
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn server_down_exits_75_queues_and_the_flush_delivers_the_same_message() {
    let server = server();
    let env = TestEnv::new();
    configure(&env, &server, closed_port(), "");
    let link = sendmail_link(&env);
    let mut cmd = with_env(&env, &link);
    cmd.args(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"]);
    let out = with_stdin(
        cmd,
        b"From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@host> job\n\noutput\n",
    );
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    assert_eq!(queue_files(&env).len(), 1);
    let queued = std::fs::read_to_string(&queue_files(&env)[0]).unwrap();
    assert!(!queued.contains(PASSWORD));
    let list = env.cmd().args(["queue", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains("Cron <root@host> job"),
        "{}",
        env.describe(&list)
    );

    configure(&env, &server, server.port("ok"), "");
    let flush = env
        .cmd()
        .env("NOTIFY_TEST_PW", PASSWORD)
        .args(["queue", "flush"])
        .output()
        .unwrap();
    assert_eq!(flush.status.code(), Some(0), "{}", env.describe(&flush));
    let received = server.messages();
    assert_eq!(received.len(), 1);
    let text = received[0].text();
    assert_eq!(
        received[0].meta["rcpt_tos"],
        notify_testkit::serde_json::json!(["ops@example.com"])
    );
    assert_eq!(header(&text, "Subject"), Some("Cron <root@host> job"));
    assert!(text.ends_with("\r\n\r\noutput\r\n"), "{text:?}");
    assert!(queue_files(&env).is_empty());
}

#[test]
fn without_an_account_the_message_goes_to_the_local_maildir() {
    let env = TestEnv::new();
    let out = sendmail(
        &env,
        &["root"],
        b"Subject: from a daemon\n\nline one\n.\nnot read\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let mails = env.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].header("Subject").as_deref(), Some("from a daemon"));
    let body = mails[0].body_text();
    assert!(body.contains("line one"), "{body}");
    assert!(!body.contains("not read"), "a lone dot ends it without -i");
}

#[test]
fn a_broken_config_keeps_the_message_locally_and_exits_78() {
    let env = TestEnv::new();
    env.config("[email\n");
    let out = sendmail(&env, &["-t"], b"To: root\nSubject: kept\n\nbody\n");
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.toml"), "{stderr}");
    assert!(stderr.contains("local Maildir"), "{stderr}");
    assert_eq!(env.mails().len(), 1);
}

#[test]
fn local_names_without_an_address_and_no_recipients_are_clear_errors() {
    let env = TestEnv::new();
    env.config(
        "[email]\naccount = \"a\"\n[accounts.a]\nfrom = \"b@example.com\"\n\
         server = \"127.0.0.1:1\"\npassword = \"env:NOTIFY_TEST_PW\"\n",
    );
    let out = sendmail(&env, &["root"], b"Subject: s\n\nb\n");
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`root`"), "{stderr}");
    assert!(stderr.contains("[sendmail] aliases"), "{stderr}");

    let out = sendmail(&env, &["-i"], b"Subject: s\n\nb\n");
    assert_eq!(out.status.code(), Some(2), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-t"));

    let out = sendmail(&env, &["-bs"], b"");
    assert_eq!(out.status.code(), Some(2), "{}", env.describe(&out));
}

#[test]
fn help_and_unknown_flags() {
    let env = TestEnv::new();
    let out = sendmail(&env, &["--help"], b"");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("-FCronDaemon"), "{help}");
    let out = sendmail(&env, &["-Z", "root"], b"Subject: s\n\nb\n");
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ignoring the flag -Z"));
    assert_eq!(env.mails().len(), 1, "an unknown flag loses nothing");
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn an_idn_recipient_reaches_a_server_without_smtputf8_as_punycode() {
    let server = server();
    let env = TestEnv::new();
    configure(&env, &server, server.port("ok"), "");
    // `notify send --to`, and the same address through sendmail.
    let out = env
        .cmd()
        .env("NOTIFY_TEST_PW", PASSWORD)
        .args([
            "send", "--task", "t", "--status", "failure", "--level", "always",
        ])
        .args(["--to", "ops@exämple.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let out = sendmail(
        &env,
        &["-t"],
        "To: Jörg <ops@exämple.com>\nSubject: s\n\nb\n".as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let received = server.messages();
    assert_eq!(received.len(), 2);
    for m in &received {
        assert_eq!(
            m.meta["rcpt_tos"],
            notify_testkit::serde_json::json!(["ops@xn--exmple-cua.com"])
        );
    }
    // notify's own mail has nothing non-ASCII left; the other keeps its
    // header as written (UTF-8, so sent as 8BITMIME).
    assert_eq!(
        received[0].meta["mail_options"],
        notify_testkit::serde_json::json!([])
    );
    assert_eq!(
        header(&received[0].text(), "To"),
        Some("ops@xn--exmple-cua.com")
    );
}
