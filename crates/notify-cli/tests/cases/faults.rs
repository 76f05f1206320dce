//! Faults around a run: nothing notify writes for itself (diagnostics, a
//! warning) may cost the job's exit code or the notification.

use std::process::Stdio;

use crate::support::{closed_port, TestEnv};

/// A config whose subject names an unknown value, so notify warns on stderr
/// before it delivers.
const WARNS_FIRST: &str = r###"
[email]
subject = "##Nope## ##Task Name##"
"###;

/// A stderr on a full disk (`2>>/var/log/x`): the warning cannot be
/// written, the job's code and the notification stay.
#[cfg(target_os = "linux")]
#[test]
fn run_with_stderr_on_a_full_disk_keeps_the_exit_code_and_the_mail() {
    let env = TestEnv::new();
    env.config(WARNS_FIRST);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = env
        .std_cmd()
        .args([
            "run", "--task", "r", "--level", "always", "--", "sh", "-c", "exit 3",
        ])
        .stderr(Stdio::from(full))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", env.describe(&out));
    let mails = env.mails();
    assert_eq!(mails.len(), 1, "{}", env.describe(&out));
    let subject = mails[0].header("Subject").unwrap();
    assert!(subject.contains(": r: "), "{subject}");
}

/// `send` whose stderr is a pipe nobody reads any more.
#[cfg(unix)]
#[test]
fn send_with_a_closed_stderr_pipe_delivers() {
    let env = TestEnv::new();
    env.config(WARNS_FIRST);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = env
        .std_cmd()
        .args(["send", "--task", "s", "--status", "failure", "-v"])
        .stderr(Stdio::from(writer))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(env.mails().len(), 1);
}

/// Ten failing runs of one task at the same moment with `changes`: one
/// notice, and the state counts all ten (each run decides after the one
/// before has saved).
#[test]
fn concurrent_runs_of_one_task_decide_in_turn() {
    let env = TestEnv::new();
    let children: Vec<_> = (0..10)
        .map(|_| {
            env.std_cmd()
                .args(["run", "--task", "par", "--level", "changes", "--", "false"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    }
    assert_eq!(env.mails().len(), 1, "one notice for ten failures");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.path().join("data/state/par.json")).unwrap())
            .unwrap();
    assert_eq!(state["failed_runs"], 10, "{state}");
    assert_eq!(state["suppressed"], 9, "{state}");
}

/// A config whose `[email]` goes through account `name` at `port` on
/// 127.0.0.1 (no TLS), with `email_extra` and `account_extra` lines.
fn account_config(env: &TestEnv, name: &str, port: u16, email_extra: &str, account_extra: &str) {
    env.config(&format!(
        "[email]\naccount = \"{name}\"\nto = [\"ops@example.com\"]\n{email_extra}\n\
         [accounts.{name}]\nfrom = \"Backups <backup@example.com>\"\n\
         server = \"127.0.0.1:{port}\"\nsecurity = \"none\"\n{account_extra}"
    ));
}

fn down_server_config(env: &TestEnv) {
    account_config(env, "down", closed_port(), "", "timeout = \"5s\"\n");
}

fn send_canary(env: &TestEnv, data_dir: &std::path::Path) -> std::process::Output {
    env.std_cmd_without_data_dir()
        .arg("--data-dir")
        .arg(data_dir)
        .args([
            "send",
            "--task",
            "canary-task",
            "--status",
            "failure",
            "--set",
            "Database=canary-db",
        ])
        .output()
        .unwrap()
}

/// Server down, and neither the queue nor the local Maildir can be
/// written (a file where the data directory should be): the whole
/// notification goes to stderr and notify exits 74, with no hint that
/// promises a copy or a retry.
#[test]
fn nothing_queued_and_nothing_kept_writes_the_notification_to_stderr() {
    let env = TestEnv::new();
    down_server_config(&env);
    let data = env.path().join("data");
    std::fs::write(&data, "a file, not a directory").unwrap();
    let out = send_canary(&env, &data);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(74), "{}", env.describe(&out));
    assert!(
        stderr.contains("----- notification not delivered and not kept -----"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Subject: ") && stderr.contains("canary-task"),
        "{stderr}"
    );
    assert!(stderr.contains("To: ops@example.com"), "{stderr}");
    assert!(
        stderr.contains("----- end of notification -----"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the whole notification is above on stderr"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("a copy is in the local Maildir"),
        "{stderr}"
    );
    assert!(!stderr.contains("queued as"), "{stderr}");
}

/// Without any account, a Maildir that cannot be written is the same: 74
/// and the text on stderr.
#[test]
fn no_account_and_no_maildir_writes_the_notification_to_stderr() {
    let env = TestEnv::new();
    let data = env.path().join("data");
    std::fs::write(&data, "a file, not a directory").unwrap();
    let out = send_canary(&env, &data);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(74), "{}", env.describe(&out));
    assert!(stderr.contains("canary-task"), "{stderr}");
    assert!(
        stderr.contains("----- end of notification -----"),
        "{stderr}"
    );
}

/// Server down and the queue unwritable, but the Maildir works: not
/// retried, so not 75; the hint says where the copy is, truly.
#[test]
fn an_unwritable_queue_keeps_a_copy_and_does_not_claim_a_retry() {
    let env = TestEnv::new();
    down_server_config(&env);
    let data = env.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("queue"), "a file, not a directory").unwrap();
    let out = send_canary(&env, &data);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    assert!(stderr.contains("will not be retried"), "{stderr}");
    assert!(
        stderr.contains("a copy is in the local Maildir"),
        "{stderr}"
    );
    assert_eq!(env.mails().len(), 1, "{stderr}");
    assert!(!stderr.contains("notification not delivered and not kept"));
}

/// A mail server that accepts connections and never says a word.
struct Silent {
    listener: std::net::TcpListener,
    held: Vec<std::net::TcpStream>,
}

impl Silent {
    fn new() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Silent {
            listener,
            held: Vec::new(),
        }
    }

    fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }

    /// Waits until notify has connected (and so waits for the greeting).
    fn wait_for_client(&mut self, child: &mut std::process::Child) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => return self.held.push(stream),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("accept: {e}"),
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("notify ended before it connected: {status}");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "notify never connected"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// Waits for `child`, which must end long before the 30 s delivery
/// timeout (a hang check, not a measurement).
fn ends_soon(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("notify ignored the stop signal while delivering");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[cfg(unix)]
fn signal(child: &std::process::Child, sig: i32) {
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

fn silent_server_config(env: &TestEnv, port: u16) {
    account_config(env, "silent", port, "", "timeout = \"30s\"\n");
}

fn queued(env: &TestEnv) -> usize {
    std::fs::read_dir(env.path().join("data/queue"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

/// SIGTERM, SIGINT or SIGHUP while `send` waits for a server: notify stops
/// at once, the notification is queued, exit 75.
#[cfg(unix)]
#[test]
fn a_stop_signal_while_sending_queues_and_exits() {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        let env = TestEnv::new();
        let mut server = Silent::new();
        silent_server_config(&env, server.port());
        let mut child = env
            .std_cmd()
            .args(["send", "--task", "stopped", "--status", "failure"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        server.wait_for_client(&mut child);
        signal(&child, sig);
        let status = ends_soon(&mut child);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(status.code(), Some(75), "signal {sig}: {stderr}");
        assert!(stderr.contains("stopped by SIG"), "{stderr}");
        assert!(stderr.contains("queued as"), "{stderr}");
        assert_eq!(queued(&env), 1, "signal {sig}: {stderr}");
    }
}

/// SIGTERM after the job has ended, while `run` delivers: the job's exit
/// code, and the notification queued.
#[cfg(unix)]
#[test]
fn a_stop_signal_while_run_delivers_keeps_the_job_s_code() {
    let env = TestEnv::new();
    let mut server = Silent::new();
    silent_server_config(&env, server.port());
    let mut child = env
        .std_cmd()
        .args(["run", "--task", "stopped", "--", "sh", "-c", "exit 3"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    server.wait_for_client(&mut child);
    signal(&child, libc::SIGTERM);
    let status = ends_soon(&mut child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert_eq!(queued(&env), 1, "{stderr}");
}

/// A server whose greeting and refusal carry terminal escape sequences:
/// nothing of them reaches notify's stderr raw, with or without `-v`.
#[test]
fn server_text_never_drives_the_terminal() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut out = stream.try_clone().unwrap();
        let mut lines = BufReader::new(stream);
        out.write_all(b"220 mx \x1b]0;PWNED\x07 ready\r\n").unwrap();
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            let reply: &[u8] = match line.get(..4).unwrap_or_default() {
                "EHLO" => b"250 mx\r\n",
                "MAIL" => b"250 ok\r\n",
                "RCPT" => b"550 5.1.1 \x1b[2J\x1b[31mno such user\r\n",
                "QUIT" => b"221 bye\r\n",
                _ => b"250 ok\r\n",
            };
            if out.write_all(reply).is_err() {
                break;
            }
            line.clear();
        }
    });
    let env = TestEnv::new();
    silent_server_config(&env, port);
    let out = env.notify(&["send", "-v", "--task", "esc", "--status", "failure"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.contains('\x1b') && !stderr.contains('\x07'),
        "{stderr:?}"
    );
    assert!(stderr.contains("no such user"), "{stderr}");
    assert!(
        stderr.contains("PWNED"),
        "the greeting is shown, escaped: {stderr}"
    );
    server.join().unwrap();
}

/// `--result` reads at most a few MiB: an endless file or pipe is an error,
/// not an ever-growing notify.
#[cfg(unix)]
#[test]
fn an_endless_result_is_refused() {
    let env = TestEnv::new();
    let out = env.notify(&["send", "--result", "/dev/zero"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is larger than 4 MiB"), "{stderr}");

    let line = "{\"task_name\": \"x\", \"outcome\": \"success\"}\n".repeat(200_000);
    let out = env
        .cmd()
        .args(["send", "--result", "-"])
        .write_stdin(line)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("task result in stdin is larger than"),
        "{stderr}"
    );
    assert!(env.mails().is_empty());
}

/// A result file saved by an editor that writes a UTF-8 byte-order mark.
#[test]
fn a_result_with_a_byte_order_mark_is_read() {
    let env = TestEnv::new();
    let path = env.path().join("result.json");
    std::fs::write(
        &path,
        "\u{feff}{\"task_name\": \"bom\", \"outcome\": \"failure\"}",
    )
    .unwrap();
    let out = env.notify(&["send", "--result", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let subject = env.mails()[0].header("Subject").unwrap();
    assert!(subject.contains(": bom: "), "{subject}");
}

/// A mistake in notify's own flags: the job runs all the same, with its
/// exit code; stderr and the mail say what was wrong.
#[test]
fn a_typo_in_notify_s_flags_never_skips_the_job() {
    let env = TestEnv::new();
    let out = env.notify(&[
        "run",
        "--task",
        "X",
        "--level",
        "always",
        "--exit-codes",
        "restik",
        "--",
        "sh",
        "-c",
        "echo ran; exit 4",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{}", env.describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\n");
    assert!(stderr.contains("'restik'"), "{stderr}");
    assert!(
        stderr.contains("running the command anyway, as task `X`"),
        "{stderr}"
    );
    let mails = env.mails();
    assert_eq!(mails.len(), 1, "{stderr}");
    assert!(mails[0].header("Subject").unwrap().contains(": X: "));
    let body = mails[0].body_text();
    assert!(
        body.contains("notify's command line had a mistake"),
        "{body}"
    );
    assert!(body.contains("restik"), "{body}");
}

/// No `--task`: the program's name is the task's.
#[test]
fn run_without_a_task_name_runs_as_the_program() {
    let env = TestEnv::new();
    let out = env.notify(&["run", "--", "sh", "-c", "exit 5"]);
    assert_eq!(out.status.code(), Some(5), "{}", env.describe(&out));
    let mails = env.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].header("Subject").unwrap().contains(": sh: "));
}

/// A command that does not exist is said on stderr as a shell says it.
#[test]
fn a_missing_command_is_said_on_stderr() {
    let env = TestEnv::new();
    let out = env.notify(&[
        "run",
        "--task",
        "M",
        "--",
        "resticc-not-installed",
        "backup",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(127), "{stderr}");
    assert!(
        stderr.contains("notify: resticc-not-installed: command not found"),
        "{stderr}"
    );
}

/// A bad address on the command line is a usage error (2) naming the flag,
/// not a configuration error (78).
#[test]
fn a_bad_address_flag_is_a_usage_error() {
    let env = TestEnv::new();
    for (flag, value) in [
        ("--to", "ops example.com"),
        ("--cc", "ok@example.com,bad"),
        ("--reply-to", "<nobody"),
    ] {
        let out = env.notify(&["send", "--task", "a", "--status", "failure", flag, value]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(&format!("for '{flag} ")), "{stderr}");
    }
    assert!(env.mails().is_empty());
}

/// The queue speaks local time to the second, and a give-up says how long
/// the notification really waited.
#[test]
fn queue_times_are_local_to_the_second_and_ages_are_real() {
    let env = TestEnv::new();
    account_config(
        &env,
        "down",
        closed_port(),
        "queue_max_age = \"1s\"\n",
        "timeout = \"5s\"\n",
    );
    let out = env.notify(&["send", "--task", "q", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    let out = env
        .cmd()
        .env("TZ", "CET-1")
        .args(["queue", "list"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let next = text
        .lines()
        .find_map(|l| l.split_once("attempt(s), next ").map(|(_, t)| t.to_owned()))
        .unwrap_or_else(|| panic!("{text}"));
    // `2026-12-05 06:30:00 +01:00`: no fraction, no `T`, the local offset.
    assert_eq!(next.len(), "2026-12-05 06:30:00 +01:00".len(), "{next}");
    assert!(!next.contains('T') && !next.contains('.'), "{next}");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let out = env.notify(&["queue", "flush"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gave up on the notification for `q` after 2s in the queue")
            || stderr.contains("gave up on the notification for `q` after 3s in the queue"),
        "{stderr}"
    );
}

/// A typo in the config file never switches email off: with `levle`
/// under `[email]`, `run` still delivers through the configured account
/// (here: queued, the server being down), not to the local Maildir "because
/// no account is configured".
#[test]
fn a_config_typo_keeps_the_account_in_force() {
    let env = TestEnv::new();
    account_config(
        &env,
        "down",
        closed_port(),
        "levle = \"always\"\n",
        "timeout = \"5s\"\n",
    );
    let out = env.notify(&["run", "--task", "typo", "--", "false"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did you mean `level`?"), "{stderr}");
    assert!(
        stderr.contains("queued as"),
        "delivered through the account: {stderr}"
    );
    assert!(
        !stderr.contains("no email account is configured"),
        "{stderr}"
    );
    assert!(!stderr.contains("built-in defaults"), "{stderr}");
    assert_eq!(queued(&env), 1);
}

/// A config path that is a directory (or a FIFO, a device) says so.
#[test]
fn a_config_path_that_is_not_a_file_says_what_it_is() {
    let env = TestEnv::new();
    let dir = env.path().join("conf.d");
    std::fs::create_dir(&dir).unwrap();
    let out = env
        .cmd()
        .arg("--config")
        .arg(&dir)
        .args(["send", "--task", "d", "--status", "failure"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("is a directory, not a file"), "{stderr}");
    assert!(!stderr.contains("does not exist"), "{stderr}");
}

/// A config file others can write turns `cmd:` into code execution for
/// them: notify warns, and does not run the command.
#[cfg(unix)]
#[test]
fn a_writable_config_does_not_run_password_commands() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let marker = env.path().join("ran");
    account_config(
        &env,
        "cmd",
        closed_port(),
        "",
        &format!(
            "allow_insecure_auth = true\npassword = \"cmd:touch {}\"\n",
            marker.display()
        ),
    );
    let config = env.config_path();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = env.notify(&["send", "--task", "w", "--status", "failure"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("is writable by everyone (mode 666)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not running the password command"),
        "{stderr}"
    );
    assert!(!marker.exists(), "the command ran");
    assert_eq!(env.mails().len(), 1, "a local copy is kept");

    // The same file, private: the command runs (and the server is down).
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = env.notify(&["send", "--task", "w", "--status", "failure"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(marker.exists(), "{stderr}");
    assert!(!stderr.contains("writable by"), "{stderr}");
}

/// No keychain where notify runs (no session D-Bus, as under cron) is a
/// configuration matter (78, with the file/env way out), not a temporary
/// one that would queue the notification forever.
#[cfg(target_os = "linux")]
#[test]
fn no_keychain_at_all_is_a_configuration_error() {
    let env = TestEnv::new();
    account_config(
        &env,
        "kc",
        closed_port(),
        "",
        "allow_insecure_auth = true\npassword = \"keychain\"\n",
    );
    let out = env
        .cmd()
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .args(["send", "--task", "k", "--status", "failure"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("no keychain is available here"), "{stderr}");
    assert!(stderr.contains("password = \"file:"), "{stderr}");
    assert_eq!(queued(&env), 0, "{stderr}");
    assert_eq!(env.mails().len(), 1, "a local copy is kept");
}

/// `account add` without a usable keychain says so before it asks or
/// writes anything, and names the file store to use instead.
#[cfg(target_os = "linux")]
#[test]
fn account_add_checks_the_keychain_before_anything_else() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .args([
            "account",
            "add",
            "work",
            "--from",
            "backup@example.com",
            "--server",
            "127.0.0.1:25",
        ])
        .write_stdin("secret-typed-for-nothing\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("the OS keychain cannot be used here"),
        "{stderr}"
    );
    assert!(stderr.contains("--password-store file:"), "{stderr}");
    assert!(stderr.contains("work.password"), "{stderr}");
    assert!(!env.config_path().exists(), "nothing written");
}

/// `password = "file:<a FIFO>"` no longer blocks a run: the password file
/// is refused at once and the job's code and a local copy stay.
#[cfg(unix)]
#[test]
fn a_fifo_as_password_file_does_not_hang_a_run() {
    let env = TestEnv::new();
    let fifo = env.path().join("pw.fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    account_config(
        &env,
        "f",
        closed_port(),
        "",
        &format!(
            "allow_insecure_auth = true\npassword = \"file:{}\"\n",
            fifo.display()
        ),
    );
    let mut child = env
        .std_cmd()
        .args(["run", "--task", "fifo", "--", "sh", "-c", "exit 6"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = ends_soon(&mut child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("a named pipe (FIFO), not a regular file"),
        "{stderr}"
    );
    assert_eq!(env.mails().len(), 1, "{stderr}");
}

/// notify's memory may hold a password: another process of the same user
/// (the job, here) cannot read it through /proc, and no core dump has it.
/// The job itself keeps its own /proc (and core dumps) as usual.
#[cfg(target_os = "linux")]
#[test]
fn another_process_of_the_user_cannot_read_notify_s_memory() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return notify_testkit::skip_unless_ci("running notify as `nobody` needs root");
    }
    let env = TestEnv::new();
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(assert_cmd::cargo::cargo_bin("notify"))
        .arg("--data-dir")
        .arg(env.path().join("data"))
        .args([
            "run",
            "--task",
            "mem",
            "--",
            "sh",
            "-c",
            "if head -c 1 /proc/$PPID/environ >/dev/null 2>&1; then echo PARENT-READABLE; \
             else echo PARENT-SEALED; fi; head -c 1 /proc/$$/environ >/dev/null && echo SELF-OK",
        ])
        .env("HOME", env.path())
        .env_remove("NOTIFY_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert!(stdout.contains("PARENT-SEALED"), "{stdout}");
    assert!(stdout.contains("SELF-OK"), "{stdout}");
}

/// A syntax error on the `password =` line of the config file: the quoted
/// line keeps its key, never its value.
#[test]
fn a_config_syntax_error_never_quotes_a_password() {
    let env = TestEnv::new();
    env.config("[accounts.x]\nfrom = \"a@example.com\"\npassword = \"cmd:pass show canary-Pa55\n");
    for args in [
        &["send", "--task", "s", "--status", "failure"][..],
        &["run", "--task", "s", "--", "false"][..],
    ] {
        let out = env.notify(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("line 3"), "{stderr}");
        assert!(
            stderr.contains("password = \"…\" (value not shown)"),
            "{stderr}"
        );
        assert!(!stderr.contains("canary-Pa55"), "{stderr}");
    }
}

/// SIGTERM while `run`'s job runs (a shutdown): the job gets it, the run is
/// still reported, but notify does not then wait out a server that never
/// answers: the report is queued within a second and notify exits.
#[cfg(unix)]
#[test]
fn a_stop_signal_during_the_job_does_not_wait_on_a_slow_server() {
    let env = TestEnv::new();
    let mut server = Silent::new();
    silent_server_config(&env, server.port());
    let mut child = env
        .std_cmd()
        .args(["run", "--task", "shutdown", "--", "sleep", "5"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal(&child, libc::SIGTERM);
    server.wait_for_client(&mut child);
    let status = ends_soon(&mut child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
    assert_eq!(queued(&env), 1, "{stderr}");
}
