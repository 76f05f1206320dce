//! `notify run`, `send` and `test` through a real SMTP server (aiosmtpd, from
//! notify-testkit) over real TLS. A canary password must never appear in
//! anything notify writes.

use std::process::Output;

use notify_testkit::{Cert, Listener, ServerOptions, SmtpServer};

use crate::support::TestEnv;

const USER: &str = "user@example.com";
const PASSWORD: &str = "canary-Pa55-w0rd";
const TOKEN: &str = "canary-oauth-T0ken";

/// Every form a password could leak in: as is, and base64 of AUTH PLAIN's
/// `\0user\0password`, of the password alone, and of XOAUTH2's string.
fn leak_forms() -> Vec<String> {
    vec![
        PASSWORD.to_owned(),
        TOKEN.to_owned(),
        base64(format!("\0{USER}\0{PASSWORD}").as_bytes()),
        base64(PASSWORD.as_bytes()),
        base64(TOKEN.as_bytes()),
        base64(format!("user={USER}\x01auth=Bearer {TOKEN}\x01\x01").as_bytes()),
    ]
}

fn base64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Asserts that no form of the canary is in the output or any file notify
/// wrote under the test directory.
fn assert_no_leak(env: &TestEnv, out: &Output) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for form in leak_forms() {
        assert!(!text.contains(&form), "output leaks `{form}`:\n{text}");
    }
    let mut stack = vec![env.path().join("data")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                let content = String::from_utf8_lossy(&bytes);
                for form in leak_forms() {
                    assert!(
                        !content.contains(&form),
                        "{} leaks `{form}`",
                        path.display()
                    );
                }
            }
        }
    }
}

fn server() -> ServerOptions {
    ServerOptions::new()
        .user(USER, PASSWORD)
        .token(USER, TOKEN)
        .listener(Listener::starttls("starttls"))
        .listener(Listener::tls("tls"))
        .listener(Listener::plain("relay"))
        .listener(Listener::starttls("self").cert(Cert::SelfSigned))
        .listener(
            Listener::starttls("faulty")
                .reject_rcpt("nobody@example.com")
                .data_451(-1),
        )
}

/// A config with one account per listener; `[email]` uses `account`.
fn configure(env: &TestEnv, server: &SmtpServer, account: &str, extra: &str) {
    let ca = server.certs().ca();
    env.config(&format!(
        r#"
[email]
account = "{account}"
to = ["Ops <ops@example.com>", "second@example.com"]
{extra}

[accounts.starttls]
from = "Backups <{USER}>"
server = "127.0.0.1:{starttls}"
security = "starttls"
ca_file = "{ca}"
password = "env:NOTIFY_TEST_PW"
timeout = "10s"

[accounts.tls]
from = "{USER}"
server = "127.0.0.1:{tls}"
security = "tls"
ca_file = "{ca}"
password = "env:NOTIFY_TEST_PW"
timeout = "10s"

[accounts.relay]
from = "{USER}"
server = "127.0.0.1:{relay}"
security = "none"
timeout = "10s"

[accounts.untrusted]
from = "{USER}"
server = "127.0.0.1:{tls}"
security = "tls"
password = "env:NOTIFY_TEST_PW"
timeout = "10s"

[accounts.self]
from = "{USER}"
server = "127.0.0.1:{selfport}"
accept_invalid_certs = true
password = "env:NOTIFY_TEST_PW"
timeout = "10s"

[accounts.faulty]
from = "{USER}"
server = "127.0.0.1:{faulty}"
ca_file = "{ca}"
password = "env:NOTIFY_TEST_PW"
timeout = "10s"

[accounts.oauth]
from = "{USER}"
server = "127.0.0.1:{starttls}"
ca_file = "{ca}"
auth = "xoauth2"
password = "cmd:printf '%s\n' {TOKEN}"
timeout = "10s"
"#,
        ca = ca.display(),
        starttls = server.port("starttls"),
        tls = server.port("tls"),
        relay = server.port("relay"),
        selfport = server.port("self"),
        faulty = server.port("faulty"),
    ));
}

fn notify(env: &TestEnv, password: &str, args: &[&str]) -> Output {
    env.cmd()
        .env("NOTIFY_TEST_PW", password)
        .args(args)
        .output()
        .expect("run notify")
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn run_send_and_test_deliver_over_starttls_and_tls() {
    let server = SmtpServer::start(server());
    for account in ["starttls", "tls"] {
        let env = TestEnv::new();
        configure(&env, &server, account, "");
        let before = server.messages().len();

        let out = notify(
            &env,
            PASSWORD,
            &[
                "-v",
                "run",
                "--task",
                "Nightly",
                "--",
                "sh",
                "-c",
                "echo copying; exit 3",
            ],
        );
        assert_eq!(out.status.code(), Some(3), "{}", env.describe(&out));
        assert_no_leak(&env, &out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("C: AUTH PLAIN [redacted]"), "{stderr}");
        assert!(
            stderr.contains(&format!("through account `{account}`: 250")),
            "{stderr}"
        );

        let out = notify(
            &env,
            PASSWORD,
            &[
                "send",
                "--task",
                "DB dump",
                "--status",
                "failure",
                "--cc",
                "cc@example.com",
                "--bcc",
                "hidden@example.com",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));

        let out = notify(&env, PASSWORD, &["test", "--to", "me@example.com"]);
        assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("notify test: sent to me@example.com")
        );

        let got = server.messages();
        assert_eq!(got.len(), before + 3, "{account}");
        let run = &got[before];
        let text = run.text();
        assert!(text.contains("Subject: "), "{text}");
        assert!(text.contains("Nightly: Failed"), "{text}");
        assert!(text.contains("copying"), "{text}");
        assert_eq!(run.meta["tls"], true, "{}", run.meta);
        assert_eq!(run.meta["auth_login"], USER, "{}", run.meta);
        let rcpts = run.meta["rcpt_tos"].to_string();
        assert!(
            rcpts.contains("ops@example.com") && rcpts.contains("second@example.com"),
            "{rcpts}"
        );

        let send = &got[before + 1];
        let rcpts = send.meta["rcpt_tos"].to_string();
        assert!(
            rcpts.contains("cc@example.com") && rcpts.contains("hidden@example.com"),
            "{rcpts}"
        );
        let text = send.text();
        assert!(text.contains("Cc: cc@example.com"), "{text}");
        assert!(
            !text.contains("hidden@example.com"),
            "Bcc is not a header: {text}"
        );

        let test = got[before + 2].text();
        assert!(test.contains("Subject: Test: "), "{test}");
        assert!(
            test.contains("This is a test message from notify"),
            "{test}"
        );
        assert!(env.mails().is_empty(), "nothing fell back to the Maildir");
    }
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn plaintext_relay_and_self_signed_with_accept_invalid_certs() {
    let server = SmtpServer::start(server());
    let env = TestEnv::new();
    configure(&env, &server, "relay", "");
    let out = notify(&env, PASSWORD, &["test"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(server.messages().last().unwrap().meta["tls"], false);

    let out = notify(&env, PASSWORD, &["test", "--account", "self"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("accept_invalid_certs = true"),
        "warned on use: {stderr}"
    );
    assert!(stderr.contains("NOT checked"), "{stderr}");
    assert_no_leak(&env, &out);
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn untrusted_certificate_is_refused_with_a_hint() {
    let server = SmtpServer::start(server());
    let env = TestEnv::new();
    configure(&env, &server, "untrusted", "");
    let before = server.messages().len();
    let out = notify(
        &env,
        PASSWORD,
        &["send", "--task", "x", "--status", "failure"],
    );
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not trusted"), "{stderr}");
    assert!(stderr.contains("ca_file"), "{stderr}");
    assert_eq!(server.messages().len(), before);
    assert_eq!(env.mails().len(), 1, "a copy is kept locally");
    assert_no_leak(&env, &out);
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn refused_password_exits_1_keeps_a_copy_and_never_shows_it() {
    let server = SmtpServer::start(server());
    let env = TestEnv::new();
    configure(&env, &server, "starttls", "");
    let out = notify(
        &env,
        "canary-Pa55-w0rd-wrong",
        &["-vvv", "send", "--task", "x", "--status", "failure"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("535"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!stderr.contains("canary-Pa55-w0rd-wrong"), "{stderr}");
    assert_eq!(env.mails().len(), 1);
    assert_no_leak(&env, &out);

    // run keeps the job's exit code whatever happened to the mail.
    let out = notify(
        &env,
        "canary-Pa55-w0rd-wrong",
        &["run", "--task", "x", "--", "sh", "-c", "exit 9"],
    );
    assert_eq!(out.status.code(), Some(9), "{}", env.describe(&out));
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn rejected_recipient_and_temporary_failure() {
    let server = SmtpServer::start(server());
    let env = TestEnv::new();
    configure(&env, &server, "faulty", "");
    let out = notify(
        &env,
        PASSWORD,
        &[
            "send",
            "--task",
            "x",
            "--status",
            "failure",
            "--to",
            "nobody@example.com",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nobody@example.com"), "{stderr}");
    assert!(stderr.contains("550"), "{stderr}");

    let out = notify(
        &env,
        PASSWORD,
        &["send", "--task", "x", "--status", "failure"],
    );
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("451"), "{stderr}");
    assert!(stderr.contains("queued as"), "{stderr}");
    assert_eq!(
        env.mails().len(),
        1,
        "the rejected one is kept locally, the other queued"
    );
    let out = env.notify(&["queue", "list"]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("queued (1):"), "{list}");
    assert!(list.contains("451"), "{list}");
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn xoauth2_with_a_token_helper() {
    let server = SmtpServer::start(server());
    let env = TestEnv::new();
    configure(&env, &server, "oauth", "");
    let out = notify(&env, PASSWORD, &["-v", "test"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AUTH XOAUTH2 [redacted]"), "{stderr}");
    assert_eq!(server.messages().last().unwrap().meta["auth_login"], USER);
    assert_no_leak(&env, &out);
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn secret_store_problems_are_configuration_errors() {
    let server = SmtpServer::start(server());
    let env = TestEnv::new();
    configure(&env, &server, "starttls", "");
    let out = env
        .cmd()
        .env_remove("NOTIFY_TEST_PW")
        .args(["send", "--task", "x", "--status", "failure"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("NOTIFY_TEST_PW is not set"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert_eq!(env.mails().len(), 1, "a copy is kept locally");

    // A password file others can read, and a failing password command.
    let pw = env.path().join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let extra = format!(
        "[accounts.open]\nfrom = \"{USER}\"\nserver = \"127.0.0.1:1\"\npassword = \"file:{}\"\n\
         [accounts.failing]\nfrom = \"{USER}\"\nserver = \"127.0.0.1:1\"\n\
         password = \"cmd:sh -c 'echo vault sealed >&2; exit 3'\"\n",
        pw.display()
    );
    configure(&env, &server, "open", &extra);
    let out = notify(
        &env,
        PASSWORD,
        &["send", "--task", "x", "--status", "failure"],
    );
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("readable by others"), "{stderr}");
    assert!(
        stderr.contains(&format!("hint: run `chmod 600 {}`", pw.display())),
        "{stderr}"
    );
    assert_no_leak(&env, &out);
    let out = notify(
        &env,
        PASSWORD,
        &[
            "send",
            "--task",
            "x",
            "--status",
            "failure",
            "--account",
            "failing",
        ],
    );
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exit status: 3"), "{stderr}");
    assert!(
        stderr.contains("vault sealed"),
        "its stderr is shown: {stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn server_down_is_temporary_and_leaks_nothing() {
    let server = SmtpServer::start(server());
    let env = TestEnv::new();
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!(
        "[accounts.down]\nfrom = \"{USER}\"\nserver = \"127.0.0.1:{closed}\"\n\
         password = \"env:NOTIFY_TEST_PW\"\ntimeout = \"5s\"\n"
    );
    configure(&env, &server, "down", &down);
    let out = notify(
        &env,
        PASSWORD,
        &["-vvv", "send", "--task", "x", "--status", "failure"],
    );
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(stderr.contains("queued as"), "{stderr}");
    assert_no_leak(&env, &out);
    let out = notify(
        &env,
        PASSWORD,
        &["-vvv", "run", "--task", "x", "--", "sh", "-c", "exit 2"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", env.describe(&out));
    assert_no_leak(&env, &out);
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn doctor_checks_each_step() {
    let server = SmtpServer::start(server());
    let env = TestEnv::new();
    configure(&env, &server, "starttls", "");
    let out = notify(&env, PASSWORD, &["doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for step in [
        "PASSWORD  ok",
        "DNS",
        "TCP",
        "STARTTLS",
        "TLS",
        "EHLO",
        "AUTH",
    ] {
        assert!(stdout.contains(step), "{step} missing:\n{stdout}");
    }
    assert!(stdout.contains("issued by \"notify test CA\""), "{stdout}");
    assert!(
        stdout.contains("authenticated as user@example.com"),
        "{stdout}"
    );
    assert!(stdout.contains("All checks passed."), "{stdout}");
    assert_no_leak(&env, &out);
    assert!(server.messages().is_empty(), "the doctor sends no mail");

    let out = notify(&env, PASSWORD, &["doctor", "--account", "untrusted"]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TLS       fail"), "{stdout}");
    assert!(
        stdout.contains("hint: if you trust this server"),
        "{stdout}"
    );
    assert!(stdout.contains("EHLO      skipped"), "{stdout}");

    let out = notify(
        &env,
        "canary-Pa55-w0rd-wrong",
        &["doctor", "--account", "tls"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("AUTH      fail"), "{stdout}");
    assert!(!stdout.contains("canary-Pa55-w0rd-wrong"), "{stdout}");

    let out = env
        .cmd()
        .env_remove("NOTIFY_TEST_PW")
        .args(["doctor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("PASSWORD  fail"), "{stdout}");
    assert!(stdout.contains("NOTIFY_TEST_PW is not set"), "{stdout}");
    assert!(
        stdout.contains("AUTH      skipped not checked: the password is not available"),
        "{stdout}"
    );
}

#[test]
fn doctor_without_an_account_points_to_the_maildir() {
    let env = TestEnv::new();
    let out = env.notify(&["doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no account configured"), "{stderr}");
    assert!(stderr.contains("notify account add"), "{stderr}");
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn queued_while_the_server_is_down_then_flushed_exactly_once() {
    let server = SmtpServer::start(server());
    let env = TestEnv::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let account = |port: u16| {
        format!(
            "[accounts.flaky]\nfrom = \"{USER}\"\nserver = \"127.0.0.1:{port}\"\nsecurity = \"tls\"\n\
             ca_file = \"{}\"\npassword = \"env:NOTIFY_TEST_PW\"\ntimeout = \"5s\"\n",
            server.certs().ca().display()
        )
    };
    // The server is "down": nothing listens on the account's port.
    configure(&env, &server, "flaky", &account(closed));
    let out = notify(
        &env,
        PASSWORD,
        &["send", "--task", "Nightly", "--status", "failure"],
    );
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    let out = notify(&env, PASSWORD, &["queue", "list"]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("queued (1):"), "{list}");
    assert!(list.contains("task `Nightly`"), "{list}");
    assert!(list.contains("1 attempt(s)"), "{list}");
    assert!(list.contains("refused"), "{list}");
    assert!(env.mails().is_empty());
    assert_no_leak(&env, &out);
    let queued = std::fs::read_dir(env.path().join("data/queue"))
        .unwrap()
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .unwrap();

    // Still down: flush keeps it, exit 75.
    let out = notify(&env, PASSWORD, &["queue", "flush"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));

    // The server is back: flush delivers it, once, with its Message-ID.
    configure(&env, &server, "flaky", &account(server.port("tls")));
    let out = notify(&env, PASSWORD, &["queue", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 delivered, 0 still queued, 0 given up")
    );
    let got = server.messages();
    assert_eq!(got.len(), 1);
    let text = got[0].text();
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap()
        .trim()
        .to_owned();
    assert!(queued.contains(&id), "the queued Message-ID {id} is kept");
    assert!(text.contains("Nightly"), "{text}");

    let out = notify(&env, PASSWORD, &["queue", "flush"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the queue is empty"));
    assert_eq!(server.messages().len(), 1, "delivered exactly once");
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn queue_purge_and_temporary_451_then_delivered() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("once").data_451(1)),
    );
    let env = TestEnv::new();
    env.config(&format!(
        "[email]\naccount = \"a\"\nto = \"ops@example.com\"\n[accounts.a]\nfrom = \"{USER}\"\n\
         server = \"127.0.0.1:{}\"\nca_file = \"{}\"\npassword = \"env:NOTIFY_TEST_PW\"\n",
        server.port("once"),
        server.certs().ca().display()
    ));
    let out = notify(
        &env,
        PASSWORD,
        &["send", "--task", "t", "--status", "failure"],
    );
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    let out = notify(&env, PASSWORD, &["queue", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("on attempt 2"), "{stderr}");

    // Purge empties what is left.
    let out = notify(
        &env,
        PASSWORD,
        &[
            "send",
            "--task",
            "t2",
            "--status",
            "failure",
            "--account",
            "a",
            "--to",
            "x@example.com",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    env.config(&format!(
        "[email]\naccount = \"a\"\nto = \"ops@example.com\"\n[accounts.a]\nfrom = \"{USER}\"\n\
         server = \"127.0.0.1:{closed}\"\npassword = \"env:NOTIFY_TEST_PW\"\n"
    ));
    for task in ["p1", "p2"] {
        let out = notify(
            &env,
            PASSWORD,
            &["send", "--task", task, "--status", "failure"],
        );
        assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    }
    let out = notify(&env, PASSWORD, &["queue", "purge"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("removed 2 queued notification(s)"));
    let out = notify(&env, PASSWORD, &["queue", "list"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("the queue is empty"));
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn a_private_ca_in_ssl_cert_file_is_trusted_without_ca_file() {
    let server = SmtpServer::start(server());
    let env = TestEnv::new();
    configure(&env, &server, "untrusted", "");
    let ca = server.certs().ca();
    // `untrusted` has no ca_file: the system's store does not know the CA.
    let out = env
        .cmd()
        .env("NOTIFY_TEST_PW", PASSWORD)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .args(["send", "--task", "t", "--status", "failure"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown CA"));

    // A company CA installed for the whole system, as SSL_CERT_FILE names it.
    let with_ca = |args: &[&str]| {
        env.cmd()
            .env("NOTIFY_TEST_PW", PASSWORD)
            .env("SSL_CERT_FILE", &ca)
            .env_remove("SSL_CERT_DIR")
            .args(args)
            .output()
            .unwrap()
    };
    let before = server.messages().len();
    let out = with_ca(&["send", "--task", "t", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(server.messages().len(), before + 1);
    let out = with_ca(&["doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "vouched for by the certificates named by SSL_CERT_FILE ({})",
            ca.display()
        )),
        "{stdout}"
    );
    // The account with a ca_file says so.
    let out = with_ca(&["doctor", "--account", "starttls"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("vouched for by ca_file "), "{stdout}");
    assert_no_leak(&env, &out);
}
