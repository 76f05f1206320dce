//! `notify account add | list | set-password | remove` with the file store
//! (the keychain store has its own tests in notify-secrets), editing a real
//! config file and sending the closing test mail through a real SMTP server.

use notify_testkit::{Listener, ServerOptions, SmtpServer};

use crate::support::TestEnv;

const USER: &str = "user@example.com";
const PASSWORD: &str = "canary-Pa55-w0rd";

const CONFIG: &str = "# my notify settings\n\
[email]\n\
to = [\"ops@example.com\"]   # who hears about it\n\
\n\
[tasks.\"Daily Backup\"]\n\
level = \"always\"\n";

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn add_list_set_password_remove_with_a_file_store() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("starttls")),
    );
    let env = TestEnv::new();
    env.config(CONFIG);
    let pw_file = env.path().join("secret/work.pw");
    let store = format!("file:{}", pw_file.display());
    let server_arg = format!("127.0.0.1:{}", server.port("starttls"));
    let ca = server.certs().ca();

    let out = env
        .cmd()
        .args([
            "account",
            "add",
            "work",
            "--from",
            &format!("Backups <{USER}>"),
        ])
        .args([
            "--server",
            &server_arg,
            "--security",
            "starttls",
            "--password-store",
            &store,
        ])
        .arg("--ca-file")
        .arg(&ca)
        .write_stdin(format!("{PASSWORD}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Added account `work`"), "{stderr}");
    assert!(
        stderr.contains("notify test: sent to ops@example.com"),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD));

    // The password went to the file, 0600; the config keeps its comments.
    assert_eq!(
        std::fs::read_to_string(&pw_file).unwrap(),
        format!("{PASSWORD}\n")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&pw_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.starts_with("# my notify settings\n"), "{config}");
    assert!(config.contains("# who hears about it"), "{config}");
    assert!(config.contains("[accounts.work]"), "{config}");
    assert!(config.contains("account = \"work\""), "{config}");
    assert!(!config.contains(PASSWORD), "{config}");

    // The test mail arrived, authenticated with the stored password.
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].meta["auth_login"], USER);
    assert!(got[0].text().contains("Subject: Test: "));

    // Notifications now go through the account.
    let out = env.notify(&["run", "--task", "Daily Backup", "--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(server.messages().len(), 2);

    let out = env.notify(&["account", "list"]);
    assert_eq!(out.status.code(), Some(0));
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("work (used by [email])"), "{list}");
    assert!(
        list.contains(&format!("127.0.0.1:{} (starttls)", server.port("starttls"))),
        "{list}"
    );
    assert!(list.contains(": found"), "{list}");
    assert!(!list.contains(PASSWORD), "{list}");

    // A new password, with app-password spaces stripped.
    let out = env
        .cmd()
        .args(["account", "set-password", "work"])
        .write_stdin("abcd efgh ijkl mnop\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(
        std::fs::read_to_string(&pw_file).unwrap(),
        "abcdefghijklmnop\n"
    );
    let out = env.notify(&["send", "--task", "x", "--status", "failure"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the server refuses the new password"
    );

    let out = env.notify(&["account", "remove", "work"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(!config.contains("[accounts.work]"), "{config}");
    assert!(!config.contains("account = \"work\""), "{config}");
    assert!(config.contains("# who hears about it"), "{config}");
    let out = env.notify(&["account", "list"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no accounts"));
}

#[test]
fn add_checks_its_input_before_writing_anything() {
    let env = TestEnv::new();
    env.config(CONFIG);
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["account", "add", "bad name", "--from", "a@b.example"],
            2,
            "not a usable account name",
        ),
        (
            &["account", "add", "x", "--from", "nobody"],
            2,
            "not an email address",
        ),
        (&["account", "add", "x"], 2, "--from ADDR is required"),
        (
            &["account", "add", "x", "--from", "a@unknown.example"],
            2,
            "--server HOST:PORT is required",
        ),
        (
            &[
                "account",
                "add",
                "x",
                "--from",
                "a@b.example",
                "--provider",
                "nope",
            ],
            2,
            "unknown provider `nope`",
        ),
        (
            &[
                "account",
                "add",
                "x",
                "--from",
                "a@b.example",
                "--server",
                "h:99999",
            ],
            78,
            "99999",
        ),
        (
            &[
                "account",
                "add",
                "x",
                "--from",
                "a@b.example",
                "--server",
                "h",
                "--password-store",
                "vault:x",
            ],
            78,
            "names no secret store",
        ),
        (
            &["account", "set-password", "ghost"],
            2,
            "unknown account `ghost`",
        ),
        (
            &["account", "remove", "ghost"],
            2,
            "unknown account `ghost`",
        ),
    ];
    for (args, code, message) in cases {
        let out = env.cmd().args(*args).write_stdin("pw\n").output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(*code),
            "{args:?}: {}",
            env.describe(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), CONFIG);

    // env: and cmd: stores are read-only: nothing is prompted or stored.
    let out = env.notify(&[
        "account",
        "add",
        "relay",
        "--from",
        "cron@host.example",
        "--server",
        "smtp.host.example:465",
        "--password-store",
        "env:RELAY_PW",
        "--no-test",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let out = env
        .cmd()
        .args(["account", "set-password", "relay"])
        .write_stdin("x\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write"));
    let out = env.notify(&[
        "account",
        "add",
        "relay",
        "--from",
        "a@b.example",
        "--server",
        "h",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn import_from_msmtp() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("starttls")),
    );
    let env = TestEnv::new();
    env.config(CONFIG);
    let rc = env.path().join("msmtprc");
    std::fs::write(
        &rc,
        format!(
            "defaults\nauth on\ntls on\ntls_trust_file {ca}\n\n\
             account local\nhost 127.0.0.1\nport {port}\nfrom {USER}\nuser {USER}\n\
             passwordeval \"printf '%s\\n' {PASSWORD}\"\n\n\
             account plain\nhost relay.example\nauth off\ntls off\nfrom cron@host.example\n\n\
             account secret\nhost smtp.example.com\nport 465\ntls_starttls off\n\
             from me@example.com\npassword hunter2\n\n\
             account default : local\n",
            ca = server.certs().ca().display(),
            port = server.port("starttls"),
        ),
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["account", "import", "--msmtp"])
        .arg(&rc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Imported `local`, `plain`, `secret`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("notify account set-password secret"),
        "{stderr}"
    );
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("# who hears about it"), "{config}");
    assert!(config.contains("account = \"local\""), "{config}");
    assert!(config.contains("security = \"none\""), "{config}");
    assert!(
        config.contains("server = \"smtp.example.com:465\""),
        "{config}"
    );
    assert!(config.contains("security = \"tls\""), "{config}");
    assert!(!config.contains("hunter2"), "{config}");

    // The imported account works, its password coming from the command.
    let out = env.notify(&["test"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(server.messages().len(), 1);
    assert_eq!(server.messages()[0].meta["auth_login"], USER);

    // Importing again leaves the existing accounts alone.
    let out = env
        .cmd()
        .args(["account", "import", "--msmtp"])
        .arg(&rc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to import"));

    std::fs::write(&rc, "account a : missing\n").unwrap();
    let out = env
        .cmd()
        .args(["account", "import", "--msmtp"])
        .arg(&rc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1: unknown account `missing`"));
}

/// Panics unless a Secret Service answers on the session bus (`cargo xtask
/// ci` runs the tests in a session with gnome-keyring).
fn require_keychain() {
    let reachable = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty())
        && std::process::Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"));
    assert!(
        reachable,
        "no Secret Service on the session D-Bus; `cargo xtask ci` starts one (by hand: `cargo \
         xtask keychain -- cargo test -p notify-cli --test cli -- --include-ignored account::`)"
    );
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd) and gnome-keyring on a private D-Bus; `cargo xtask ci` runs it"]
fn add_with_the_keychain_then_test_and_send() {
    require_keychain();
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::tls("tls")),
    );
    let env = TestEnv::new();
    env.config(CONFIG);
    let name = format!("kc-{}", std::process::id());
    let out = env
        .cmd()
        .args(["account", "add", &name, "--from", USER, "--security", "tls"])
        .args(["--server", &format!("127.0.0.1:{}", server.port("tls"))])
        .arg("--ca-file")
        .arg(server.certs().ca())
        .write_stdin(format!("{PASSWORD}\n"))
        .output()
        .unwrap();
    // Whatever happens below, the keychain item goes.
    struct Cleanup(String, std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::process::Command::new(assert_cmd::cargo::cargo_bin("notify"))
                .arg("--config")
                .arg(&self.1)
                .args(["account", "remove", &self.0])
                .output();
        }
    }
    let _cleanup = Cleanup(name.clone(), env.config_path());
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("OS keychain"), "{stderr}");
    assert!(
        stderr.contains("notify test: sent to ops@example.com"),
        "{stderr}"
    );
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("password = \"keychain\""), "{config}");
    assert!(!config.contains(PASSWORD));

    // secret-tool, independently, finds what notify stored.
    let found = std::process::Command::new("secret-tool")
        .args(["lookup", "service", "notify", "username", &name])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&found.stdout).trim_end(), PASSWORD);

    // A later process reads it from the keychain for a notification.
    let out = env.notify(&["send", "--task", "kc", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let got = server.messages();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|m| m.meta["auth_login"] == USER));

    let out = env.notify(&["account", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("keychain: found"));

    // Gone from the keychain (e.g. a new machine): the error names the fix.
    let removed = std::process::Command::new("secret-tool")
        .args(["clear", "service", "notify", "username", &name])
        .status()
        .unwrap();
    assert!(removed.success());
    let out = env.notify(&["send", "--task", "kc", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("notify account set-password {name}")),
        "{stderr}"
    );
    assert!(stderr.contains("new machine"), "{stderr}");
    let out = env.notify(&["account", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOT usable"));
}

#[test]
fn add_creates_the_config_saves_recipients_and_resolves_paths() {
    let env = TestEnv::new();
    // An explicit config path that does not exist yet.
    let config = env.path().join("etc/notify.toml");
    let work = env.path().join("somewhere");
    std::fs::create_dir_all(&work).unwrap();
    let out = env
        .cmd()
        .current_dir(&work)
        .env("NOTIFY_CONFIG", &config)
        .args([
            "account",
            "add",
            "relay",
            "--from",
            "\"Doe, John\" <cron@host.example>",
            "--server",
            "smtp.host.example:465",
            "--password-store",
            "file:rel.pw",
            "--no-test",
        ])
        .write_stdin(format!("{PASSWORD}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("account = \"relay\""), "{text}");
    assert!(
        text.contains("to = [\"cron@host.example\"]"),
        "recipients saved: {text}"
    );
    let abs = work.join("rel.pw");
    assert!(
        text.contains(&format!("password = \"file:{}\"", abs.display())),
        "{text}"
    );
    assert!(abs.is_file());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Notifications go to cron@host.example"),
        "{stderr}"
    );

    // From another directory the account still finds its password.
    let out = env
        .cmd()
        .env("NOTIFY_CONFIG", &config)
        .args(["account", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains(": found"), "{list}");
}

#[test]
fn account_edits_refuse_what_they_cannot_do() {
    let env = TestEnv::new();
    env.config(
        "[email]\naccount = \"inline\"\n\n[accounts]\ninline = { from = \"a@b.example\", server = \"h:25\", security = \"none\" }\n\n\
         [tasks.t]\naccount = \"inline\"\n",
    );
    // set-password on an account without `password =`.
    let out = env
        .cmd()
        .args(["account", "set-password", "inline"])
        .write_stdin("pw\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no `password =`"));
    // An inline table is removed too, and task references are pointed out.
    let out = env.notify(&["account", "remove", "inline"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(!text.contains("inline = {"), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[tasks.\"t\"] still says account = \"inline\""),
        "{stderr}"
    );
    // A from address with a line break is refused before anything is written.
    let before = std::fs::read_to_string(env.config_path()).unwrap();
    let out = env.notify(&[
        "account",
        "add",
        "x",
        "--from",
        "a@b.example\r\nBcc: c@d.example",
        "--server",
        "h",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an email address"));
    assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), before);
    let out = env.notify(&["account", "remove", "ghost"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn edit_changes_only_what_is_given_keeps_comments_and_checks_first() {
    let env = TestEnv::new();
    let original = "# notify's config\n[email]\naccount = \"work\"\nto = \"me@example.com\"\n\n\
                    [accounts.work]\nfrom = \"Backups <backup@example.com>\"\n\
                    server = \"mail.example.com:587\"   # the office relay\n\
                    # how to connect\nsecurity = \"starttls\"\npassword = \"env:PW\"\n\n\
                    [accounts]\ninline = { from = \"a@b.example\", server = \"h:25\", security = \"none\" }\n";
    env.config(original);
    let ca = env.path().join("corp-ca.pem");
    let out = env.notify(&[
        "account",
        "edit",
        "work",
        "--server",
        "mail.example.com:465",
        "--security",
        "tls",
        "--timeout",
        "60s",
        "--username",
        "svc-backup",
        "--ca-file",
        ca.to_str().unwrap(),
    ]);
    // A ca_file that cannot be read is refused, and nothing is written.
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not changed: "));
    assert_eq!(
        std::fs::read_to_string(env.config_path()).unwrap(),
        original
    );

    std::fs::write(&ca, "not a certificate\n").unwrap();
    let out = env.notify(&["account", "edit", "work", "--ca-file", ca.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PEM"));

    let out = env.notify(&[
        "account",
        "edit",
        "work",
        "--server",
        "mail.example.com:465",
        "--security",
        "tls",
        "--timeout",
        "60s",
        "--username",
        "svc-backup",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(text.starts_with("# notify's config\n"), "{text}");
    assert!(
        text.contains("server = \"mail.example.com:465\"   # the office relay\n# how to connect\nsecurity = \"tls\"\n"),
        "in place, comments kept: {text}"
    );
    assert!(text.contains("timeout = \"60s\""), "{text}");
    assert!(text.contains("username = \"svc-backup\""), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("security: \"starttls\" → \"tls\""),
        "{stderr}"
    );
    // What `account list` reads is the edited account.
    let list = env.notify(&["account", "list", "--json"]);
    let json = String::from_utf8_lossy(&list.stdout);
    assert!(json.contains("mail.example.com"), "{json}");
    assert!(json.contains("465"), "{json}");

    // Invalid values and keys are refused with the file untouched.
    let before = std::fs::read_to_string(env.config_path()).unwrap();
    for (args, code, says) in [
        (vec!["--security", "bogus"], 78, "unknown security `bogus`"),
        (vec!["--timeout", "soon"], 2, "is not a duration"),
        (vec!["--unset", "colour"], 2, "not an account key"),
        (vec!["--unset", "server"], 78, "no `server` is set"),
        (vec![], 2, "nothing to change"),
    ] {
        let mut argv = vec!["account", "edit", "work"];
        argv.extend(args);
        let out = env.notify(&argv);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{argv:?}: {}",
            env.describe(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{argv:?}: {stderr}");
        assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), before);
    }
    let out = env.notify(&["account", "edit", "nope", "--server", "x"]);
    assert_eq!(out.status.code(), Some(2));

    // --unset puts a key back to its default; inline tables are edited too.
    let out = env.notify(&["account", "edit", "work", "--unset", "timeout"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert!(!std::fs::read_to_string(env.config_path())
        .unwrap()
        .contains("timeout"));
    let out = env.notify(&[
        "account",
        "edit",
        "inline",
        "--server",
        "relay.example:2525",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(text.contains("server = \"relay.example:2525\""), "{text}");
}

#[test]
fn import_into_an_empty_config_sets_the_recipients_as_add_does() {
    let env = TestEnv::new();
    let rc = env.path().join("msmtprc");
    std::fs::write(
        &rc,
        "account home\nhost smtp.example.com\nport 587\ntls on\nauth on\n\
         from Me <me@example.com>\nuser me@example.com\npasswordeval \"pass mail\"\n",
    )
    .unwrap();
    let config = env.path().join("new/config.toml");
    let out = env
        .cmd()
        .env("NOTIFY_CONFIG", &config)
        .args(["account", "import", "--msmtp"])
        .arg(&rc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("account = \"home\""), "{text}");
    assert!(text.contains("to = [\"me@example.com\"]"), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Notifications go to me@example.com"),
        "{}",
        env.describe(&out)
    );
}

/// Runs `notify ARGS` on a terminal (util-linux `script` gives it a pty),
/// typing `answers` one line each as the questions come; its output (the
/// questions, the echo) and exit code.
fn on_a_terminal(env: &TestEnv, args: &[&str], answers: &[&str]) -> (Option<i32>, String) {
    use std::io::{Read, Write};
    notify_testkit::require_program("script");
    let std_cmd = env.std_cmd();
    let mut line = String::from("exec");
    for part in std::iter::once(std_cmd.get_program()).chain(std_cmd.get_args()) {
        line.push_str(&format!(
            " '{}'",
            part.to_string_lossy().replace('\'', "'\\''")
        ));
    }
    for a in args {
        line.push_str(&format!(" '{}'", a.replace('\'', "'\\''")));
    }
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-q", "-e", "-f", "-c", &line, "/dev/null"]);
    for (key, value) in std_cmd.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    let mut child = cmd
        .env("TERM", "dumb")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut next = 0;
    // A question ends in ": " (and the prompt waits); answer it then.
    while std::time::Instant::now() < deadline {
        match rx.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(bytes) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if next < answers.len() && seen.trim_end_matches([' ']).ends_with(':')
                    || next < answers.len() && seen.ends_with("]: ")
                {
                    stdin
                        .write_all(format!("{}\r", answers[next]).as_bytes())
                        .unwrap();
                    stdin.flush().unwrap();
                    next += 1;
                    // Wait for the echo before looking for the next question.
                    seen.push_str("\n<answered>\n");
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(stdin);
    let status = child.wait().unwrap();
    (status.code(), seen)
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd) and util-linux `script`; `cargo xtask ci` runs it"]
fn interactive_add_asks_what_a_working_account_needs_and_offers_ca_file() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("starttls")),
    );
    let env = TestEnv::new();
    let pw = env.path().join("work.pw");
    let store = format!("file:{}", pw.display());
    let port = server.port("starttls");
    let ca = server.certs().ca();
    let (code, seen) = on_a_terminal(
        &env,
        &["account", "add", "work", "--password-store", &store],
        &[
            "Backups <user@example.com>",
            &format!("127.0.0.1:{port}"),
            "", // starttls, as port guesses
            "ops@example.com",
            PASSWORD,
            ca.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{seen}");
    for question in [
        "Send from",
        "SMTP server",
        "Security: tls, starttls or none [starttls]",
        "Send notifications to [user@example.com]",
        "Password for account `work`",
        "Trust it with its CA certificate",
    ] {
        assert!(seen.contains(question), "{question:?} not asked:\n{seen}");
    }
    assert!(seen.contains("unknown CA"), "{seen}");
    let config = std::fs::read_to_string(env.path().join("xdg-config/notify/config.toml")).unwrap();
    assert!(config.contains("security = \"starttls\""), "{config}");
    assert!(config.contains("to = [\"ops@example.com\"]"), "{config}");
    assert!(
        config.contains(&format!("ca_file = \"{}\"", ca.display())),
        "{config}"
    );
    assert!(!config.contains(PASSWORD));
    let received = server.messages();
    assert_eq!(received.len(), 1, "the second test mail got through");
    assert_eq!(
        received[0].meta["rcpt_tos"],
        notify_testkit::serde_json::json!(["ops@example.com"])
    );

    // A provider named at the server question: its preset, no security
    // question.
    let env = TestEnv::new();
    let (code, seen) = on_a_terminal(
        &env,
        &[
            "account",
            "add",
            "fm",
            "--password-store",
            &store,
            "--no-test",
        ],
        &[
            "Backups <me@corp.example>",
            "fastmail",
            "me@corp.example",
            PASSWORD,
        ],
    );
    assert_eq!(code, Some(0), "{seen}");
    assert!(seen.contains("or a provider ("), "{seen}");
    assert!(!seen.contains("Security:"), "{seen}");
    let config = std::fs::read_to_string(env.path().join("xdg-config/notify/config.toml")).unwrap();
    assert!(config.contains("provider = \"fastmail\""), "{config}");
    assert!(!config.contains("server ="), "{config}");

    // A mistake found after the questions: what was typed is said again.
    let env = TestEnv::new();
    let (code, seen) = on_a_terminal(
        &env,
        &["account", "add", "bad", "--password-store", &store],
        &[
            "Backups <user@example.com>",
            "smtp.example.com:587",
            "bogus",
            "ops@example.com",
        ],
    );
    assert_eq!(code, Some(78), "{seen}");
    assert!(
        seen.contains("Nothing was saved. To try again with what you typed:"),
        "{seen}"
    );
    assert!(
        seen.contains(
            "notify account add bad --from 'Backups <user@example.com>' --server 'smtp.example.com:587' --security 'bogus'"
        ),
        "{seen}"
    );
    assert!(!env.path().join("xdg-config/notify/config.toml").exists());
}
