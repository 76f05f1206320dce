//! Secrets under faults: a `file:` password that is not a small regular
//! file, `set-password` on a symlink or a FIFO, a config file with a syntax
//! error next to a password, and what the job inherits from a notify that
//! holds a password.

use std::path::Path;
use std::time::Duration;

use crate::support::{closed_port, TestEnv};

const CANARY: &str = "canary-S3cret-Pa55";

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}

fn private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// An account on a closed port whose password is `password = "file:PATH"`.
fn file_account(env: &TestEnv, path: &Path) {
    let port = closed_port();
    env.config(&format!(
        r#"
[email]
account = "work"
to = ["ops@example.com"]

[accounts.work]
from = "Backups <backup@example.com>"
server = "127.0.0.1:{port}"
security = "none"
allow_insecure_auth = true
password = "file:{}"
"#,
        path.display()
    ));
}

/// Every file notify left in its data directory, as text.
fn everything_written(env: &TestEnv) -> String {
    fn walk(dir: &Path, out: &mut String) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    let mut out = String::new();
    walk(&env.path().join("data"), &mut out);
    out
}

/// A FIFO, a device and a 200 MB file as the password file: each is
/// refused at once with what it is and what to do, and `send` ends (the
/// FIFO used to block it until SIGKILL, the big file became a 200 MB AUTH
/// line).
#[cfg(unix)]
#[test]
fn a_password_file_that_is_not_a_small_regular_file_is_refused_at_once() {
    let env = TestEnv::new();
    let fifo = env.path().join("pw.fifo");
    mkfifo(&fifo);
    private(&fifo);
    let big = env.path().join("pw.big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(200 * 1024 * 1024)
        .unwrap();
    private(&big);
    let cases = [
        (
            fifo.as_path(),
            "is a named pipe (FIFO), not a regular file",
            "notify reads a password only from a regular file",
        ),
        (
            Path::new("/dev/zero"),
            "is a device, not a regular file",
            "put the password on the first line of a regular file",
        ),
        (
            big.as_path(),
            "is 209715200 bytes long",
            "names a file that holds only the password",
        ),
    ];
    for (path, what, hint) in cases {
        file_account(&env, path);
        let out = env
            .cmd()
            .args(["send", "--task", "pw", "--status", "failure"])
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
        assert!(
            stderr.contains(&format!("the password file {} {what}", path.display())),
            "{stderr}"
        );
        assert!(stderr.contains(hint), "{stderr}");
    }
}

/// `set-password` on a `file:` path that is a symlink to someone else's
/// file: the link is replaced by a new 0600 file, the target is untouched.
/// On a FIFO it is refused, and the FIFO stays.
#[cfg(unix)]
#[test]
fn set_password_never_writes_through_a_symlink_or_into_a_fifo() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let env = TestEnv::new();
    let victim = env.path().join("someone-elses-file");
    std::fs::write(&victim, "theirs\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = env.path().join("pw");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    file_account(&env, &link);
    let out = env
        .cmd()
        .args(["account", "set-password", "work"])
        .write_stdin(format!("{CANARY}\n"))
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "theirs\n");
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_file(), "the link itself was replaced");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::read_to_string(&link).unwrap(),
        format!("{CANARY}\n")
    );

    let fifo = env.path().join("pw.fifo");
    mkfifo(&fifo);
    file_account(&env, &fifo);
    let out = env
        .cmd()
        .args(["account", "set-password", "work"])
        .write_stdin(format!("{CANARY}\n"))
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    assert!(
        stderr.contains("is a named pipe (FIFO), not a regular file"),
        "{stderr}"
    );
    assert!(!stderr.contains(CANARY), "{stderr}");
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}

/// A config file with a syntax error on the `password =` line, on a line
/// next to it, inside a multi-line password or next to an inline table
/// that holds one: the error names file and line, and neither stderr nor
/// what `run` delivers to the local Maildir shows the password.
#[test]
fn a_config_syntax_error_never_shows_a_password() {
    let cases = [
        // On the password line.
        (
            format!("[accounts.x]\nfrom = \"a@example.com\"\npassword = \"{CANARY}\" oops\n"),
            "line 3",
            "3 | password = \"…\" (value not shown)",
        ),
        // On the line before.
        (
            format!("[accounts.x]\nfrom = a@example.com\npassword = \"{CANARY}\"\n"),
            "line 2",
            "2 | from = a@example.com",
        ),
        // On the line after.
        (
            format!("[accounts.x]\npassword = \"{CANARY}\"\nserver = smtp.example.com\n"),
            "line 3",
            "3 | server = smtp.example.com",
        ),
        // A string left open on the password line.
        (
            format!("[accounts.x]\npassword = 'cmd:pass show {CANARY}\n"),
            "line 2",
            "2 | password = \"…\" (value not shown)",
        ),
        // Inside a multi-line password: the quoted line is all secret.
        (
            format!("[accounts.x]\npassword = \"\"\"\n{CANARY} \\q\n\"\"\"\n"),
            "line 3",
            "3 | … (a line of the value of `password`, not shown)",
        ),
        // A multi-line password never closed.
        (
            format!("[accounts.x]\nsmtp_token = \"\"\"{CANARY}\nfrom = \"a@example.com\"\n"),
            "line 3",
            "3 | … (a line of the value of `smtp_token`, not shown)",
        ),
        // An inline table with the password and a mistake after it.
        (
            format!("accounts.x = {{ from = \"a@example.com\", password = \"{CANARY}\", server = oops }}\n"),
            "line 1",
            "1 | accounts.x = { from = \"a@example.com\", password = \"…\" (value not shown)",
        ),
    ];
    for (config, line, quoted) in cases {
        let env = TestEnv::new();
        env.config(&config);
        for args in [
            &["send", "--task", "s", "--status", "failure"][..],
            &["run", "--task", "s", "--", "sh", "-c", "exit 4"][..],
        ] {
            let out = env.notify(args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let expected = if args[0] == "run" { 4 } else { 78 };
            assert_eq!(out.status.code(), Some(expected), "{}", env.describe(&out));
            assert!(stderr.contains(line), "{config}\n{stderr}");
            assert!(stderr.contains(quoted), "{config}\n{stderr}");
            assert!(!stderr.contains(CANARY), "{config}\n{stderr}");
        }
        assert!(!env.mails().is_empty(), "{config}");
        assert!(!everything_written(&env).contains(CANARY), "{config}");
    }
}

/// A password put into `NOTIFY_ACCOUNTS__NAME__PASSWORD` by mistake (a PIN
/// is read as a number, not a string) is not echoed in the error.
#[test]
fn an_invalid_password_from_the_environment_is_not_echoed() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .args(["send", "--task", "s", "--status", "failure"])
        .env("NOTIFY_ACCOUNTS__X__PASSWORD", "73914025")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    assert!(
        stderr.contains("NOTIFY_ACCOUNTS__X__PASSWORD, key `accounts.x.password`"),
        "{stderr}"
    );
    assert!(stderr.contains("expected a string"), "{stderr}");
    assert!(!stderr.contains("73914025"), "{stderr}");
}

/// notify makes itself non-dumpable (no core dump holds a password) but
/// leaves the job's core dumps as they were: the job's core size limit is
/// the one notify was started with, and its /proc is its own (a
/// non-dumpable process's /proc files belong to root).
#[cfg(target_os = "linux")]
#[test]
fn the_job_keeps_its_core_dumps() {
    let env = TestEnv::new();
    let notify = assert_cmd::cargo::cargo_bin("notify");
    let script = format!(
        "ulimit -S -c 2048 && exec '{}' --data-dir '{}' run --task core -- \
         sh -c 'echo limit=$(ulimit -S -c); stat -c owner=%u /proc/$$/environ; id -u'",
        notify.display(),
        env.path().join("data").display()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("HOME", env.path())
        .env_remove("NOTIFY_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert!(stdout.contains("limit=2048"), "{stdout}");
    let uid = stdout.lines().last().unwrap_or_default().trim();
    assert!(stdout.contains(&format!("owner={uid}")), "{stdout}");
}
