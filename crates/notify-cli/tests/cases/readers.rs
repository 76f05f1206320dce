//! `notify run` around real restic, borg, rsync and rclone runs: what the
//! mail says, with no `--exit-codes` and no `--level` (the tool's preset and
//! the default `errors` level). A job that may not read a file runs as
//! `nobody` through `setpriv` (a wrapper notify sees through), with one
//! root-owned 0600 file in its sandbox.
//!
//! A plain `cargo test` ignores these tests (they need the tools, which
//! `cargo xtask ci` installs); the `nobody` ones need root, and elsewhere
//! print `skipped:` (under `CI=true` they fail).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use crate::support::{Mail, TestEnv};
use notify_testkit::{require_program, skip_unless_ci};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The `setpriv` words that run a job as `nobody` without privileges.
const AS_NOBODY: [&str; 5] = [
    "setpriv",
    "--reuid=nobody",
    "--regid=nogroup",
    "--clear-groups",
    "--inh-caps=-all",
];

/// A sandbox for a job: `data/` with a few files (one of 40 kB), and the
/// job's own state below it. With `unreadable`, everything belongs to
/// `nobody` except `data/private.key`, root's and 0600.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("docs")).unwrap();
        std::fs::write(data.join("docs/a.txt"), "alpha\n".repeat(100)).unwrap();
        std::fs::write(data.join("docs/b.txt"), "beta\n".repeat(200)).unwrap();
        std::fs::write(data.join("big.bin"), vec![7u8; 40_000]).unwrap();
        std::fs::write(data.join("private.key"), "secret\n").unwrap();
        Sandbox { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn data(&self) -> String {
        self.path("data").display().to_string()
    }

    /// Hands the sandbox to `nobody`, but `data/private.key` to root, 0600.
    fn unreadable(&self) {
        let root = self.dir.path();
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let status = Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(root)
            .status()
            .unwrap();
        assert!(status.success());
        let key = self.path("data/private.key");
        std::os::unix::fs::chown(&key, Some(0), Some(0)).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// Runs a setup command, which must succeed.
fn setup(argv: &[&str], env: &[(&str, String)]) {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `notify run --task T -- ARGV` with `env` for the job; returns the exit
/// code and the mails in the Maildir.
fn run(t: &TestEnv, argv: &[&str], env: &[(&str, String)]) -> (i32, Vec<Mail>) {
    let mut cmd = t.cmd();
    cmd.args(["run", "--task", "Nightly", "--"]).args(argv);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run notify");
    let code = out.status.code().unwrap_or(-1);
    (code, t.mails())
}

/// The value of a `Label:   value` row of the default body.
fn row(body: &str, label: &str) -> Option<String> {
    body.lines()
        .find_map(|l| l.strip_prefix(label).map(|v| v.trim().to_owned()))
}

/// No row of the default body says `n/a`.
fn no_absent_rows(body: &str) {
    assert!(!body.contains("n/a"), "a row says n/a:\n{body}");
}

fn env_for(dir: &Sandbox, pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&str, String)> = pairs
        .iter()
        .map(|(k, v)| (*k, dir.path(v).display().to_string()))
        .collect();
    env.push(("LC_ALL", "C".to_owned()));
    env
}

// ------------------------------------------------------------------ restic

fn restic_env(s: &Sandbox) -> Vec<(&'static str, String)> {
    env_for(s, &[("RESTIC_CACHE_DIR", "cache"), ("HOME", "home")])
}

fn restic_init(s: &Sandbox) -> (String, String) {
    let repo = s.path("repo").display().to_string();
    let pw = s.path("pw");
    std::fs::write(&pw, "correct horse\n").unwrap();
    let pw = pw.display().to_string();
    setup(
        &["restic", "-r", &repo, "--password-file", &pw, "init"],
        &restic_env(s),
    );
    (repo, pw)
}

#[test]
#[ignore = "needs restic; `cargo xtask ci` runs it"]
fn restic_good_run_fills_source_destination_counts_and_snapshot() {
    require_program("restic");
    let t = TestEnv::new();
    t.config("[email]\nlevel = \"always\"\n");
    let s = Sandbox::new();
    let (repo, pw) = restic_init(&s);
    let data = s.data();
    let (code, mails) = run(
        &t,
        &[
            "restic",
            "-r",
            &repo,
            "--password-file",
            &pw,
            "backup",
            &data,
        ],
        &restic_env(&s),
    );
    assert_eq!(code, 0);
    assert_eq!(mails.len(), 1);
    let body = mails[0].body_text();
    assert_eq!(
        row(&body, "Status:").as_deref(),
        Some("Finished successfully"),
        "{body}"
    );
    assert_eq!(row(&body, "Source:"), Some(data.clone()), "{body}");
    assert_eq!(row(&body, "Destination:"), Some(repo.clone()), "{body}");
    assert_eq!(row(&body, "Files copied:").as_deref(), Some("4"), "{body}");
    assert_eq!(row(&body, "New files:").as_deref(), Some("4"), "{body}");
    // 600 + 1,000 + 40,000 + 7 bytes, as restic counts them.
    assert_eq!(
        row(&body, "Data copied:").as_deref(),
        Some("41.6 kB"),
        "{body}"
    );
    // The snapshot restic says it saved.
    let out = Command::new("restic")
        .args(["-r", &repo, "--password-file", &pw, "snapshots", "--json"])
        .envs(restic_env(&s))
        .output()
        .unwrap();
    let snapshots: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let short_id = snapshots[0]["short_id"].as_str().unwrap().to_owned();
    assert_eq!(row(&body, "Snapshot:"), Some(short_id), "{body}");
    no_absent_rows(&body);
}

#[test]
#[ignore = "needs restic and setpriv; `cargo xtask ci` runs it"]
fn restic_unreadable_file_mails_at_the_default_level_with_the_error() {
    require_program("restic");
    require_program("setpriv");
    if !is_root() {
        return skip_unless_ci("running restic as nobody needs root");
    }
    let t = TestEnv::new();
    let s = Sandbox::new();
    let (repo, pw) = restic_init(&s);
    s.unreadable();
    let data = s.data();
    let mut argv: Vec<&str> = AS_NOBODY.to_vec();
    argv.extend([
        "restic",
        "-r",
        &repo,
        "--password-file",
        &pw,
        "backup",
        &data,
    ]);
    let (code, mails) = run(&t, &argv, &restic_env(&s));
    assert_eq!(code, 3, "restic: some files could not be read");
    assert_eq!(mails.len(), 1, "a warning with errors mails at `errors`");
    let mail = &mails[0];
    assert!(
        mail.header("Subject")
            .unwrap()
            .ends_with("Nightly: Finished with warnings"),
        "{}",
        mail.raw
    );
    let body = mail.body_text();
    let errors = body.split("\nErrors\n------\n").nth(1).unwrap_or_default();
    assert!(
        errors.contains("private.key") && errors.contains("permission denied"),
        "{body}"
    );
    let count: u64 = row(&body, "Errors:").unwrap().parse().unwrap();
    assert!(count >= 1, "{body}");
    no_absent_rows(&body);
}

#[test]
#[ignore = "needs restic; `cargo xtask ci` runs it"]
fn restic_missing_repository_fails_with_the_fatal_line() {
    require_program("restic");
    let t = TestEnv::new();
    let s = Sandbox::new();
    let pw = s.path("pw");
    std::fs::write(&pw, "x\n").unwrap();
    let repo = s.path("no-such-repo").display().to_string();
    let pw = pw.display().to_string();
    let data = s.data();
    let (code, mails) = run(
        &t,
        &[
            "restic",
            "-r",
            &repo,
            "--password-file",
            &pw,
            "backup",
            &data,
        ],
        &restic_env(&s),
    );
    assert_eq!(code, 1);
    assert_eq!(mails.len(), 1);
    let body = mails[0].body_text();
    assert_eq!(row(&body, "Status:").as_deref(), Some("Failed"), "{body}");
    let errors = body.split("\nErrors\n------\n").nth(1).unwrap_or_default();
    assert!(errors.contains("Fatal:"), "{body}");
    let count: u64 = row(&body, "Errors:").unwrap().parse().unwrap();
    assert!(count >= 1, "{body}");
    no_absent_rows(&body);
}

// ------------------------------------------------------------------ rsync

#[test]
#[ignore = "needs rsync; `cargo xtask ci` runs it"]
fn rsync_good_run_fills_source_destination_and_counts() {
    require_program("rsync");
    let t = TestEnv::new();
    t.config("[email]\nlevel = \"always\"\n");
    let s = Sandbox::new();
    let src = format!("{}/", s.data());
    let dst = s.path("mirror").display().to_string();
    let (code, mails) = run(&t, &["rsync", "-a", "--stats", &src, &dst], &[]);
    assert_eq!(code, 0);
    let body = mails[0].body_text();
    assert_eq!(row(&body, "Source:"), Some(src), "{body}");
    assert_eq!(row(&body, "Destination:"), Some(dst), "{body}");
    assert_eq!(row(&body, "Files copied:").as_deref(), Some("4"), "{body}");
    assert_eq!(
        row(&body, "Data copied:").as_deref(),
        Some("41.6 kB"),
        "{body}"
    );
    no_absent_rows(&body);
}

#[test]
#[ignore = "needs rsync; `cargo xtask ci` runs it"]
fn rsync_mail_in_german_has_no_absent_rows() {
    require_program("rsync");
    let t = TestEnv::new();
    t.config("locale = \"de\"\n[email]\nlevel = \"always\"\n");
    let s = Sandbox::new();
    let src = format!("{}/", s.data());
    let dst = s.path("mirror").display().to_string();
    let (code, mails) = run(&t, &["rsync", "-a", "--stats", &src, &dst], &[]);
    assert_eq!(code, 0);
    let body = mails[0].body_text();
    assert_eq!(
        row(&body, "Kopierte Dateien:").as_deref(),
        Some("4"),
        "{body}"
    );
    assert_eq!(
        row(&body, "Kopierte Daten:").as_deref(),
        Some("41,6 kB"),
        "{body}"
    );
    assert!(!body.contains("k. A."), "{body}");
}

#[test]
#[ignore = "needs rsync and setpriv; `cargo xtask ci` runs it"]
fn rsync_unreadable_file_mails_at_the_default_level_with_the_error() {
    require_program("rsync");
    require_program("setpriv");
    if !is_root() {
        return skip_unless_ci("running rsync as nobody needs root");
    }
    let t = TestEnv::new();
    let s = Sandbox::new();
    s.unreadable();
    let src = format!("{}/", s.data());
    let dst = s.path("mirror").display().to_string();
    let mut argv: Vec<&str> = AS_NOBODY.to_vec();
    argv.extend(["rsync", "-a", "--stats", &src, &dst]);
    let (code, mails) = run(&t, &argv, &[]);
    assert_eq!(code, 23, "rsync: partial transfer");
    assert_eq!(mails.len(), 1);
    let body = mails[0].body_text();
    assert_eq!(
        row(&body, "Status:").as_deref(),
        Some("Finished with warnings"),
        "{body}"
    );
    let errors = body.split("\nErrors\n------\n").nth(1).unwrap_or_default();
    assert!(errors.contains("Permission denied (13)"), "{body}");
    no_absent_rows(&body);
}

#[test]
#[ignore = "needs rsync; `cargo xtask ci` runs it"]
fn rsync_missing_source_fails_with_its_error_line() {
    require_program("rsync");
    let t = TestEnv::new();
    let s = Sandbox::new();
    let src = s.path("no-such-dir/").display().to_string();
    let dst = s.path("mirror").display().to_string();
    let (code, mails) = run(&t, &["rsync", "-a", &src, &dst], &[]);
    assert_eq!(code, 23);
    // rsync calls a missing source a partial transfer (23): a warning, whose
    // error line still mails at `errors`.
    let body = mails[0].body_text();
    let errors = body.split("\nErrors\n------\n").nth(1).unwrap_or_default();
    assert!(errors.contains("No such file or directory"), "{body}");
    no_absent_rows(&body);
}

#[test]
#[ignore = "needs rsync; `cargo xtask ci` runs it"]
fn rsync_progress_leaves_a_readable_log_tail() {
    require_program("rsync");
    let t = TestEnv::new();
    t.config("[email]\nlevel = \"always\"\n");
    let s = Sandbox::new();
    for i in 0..50 {
        std::fs::write(s.path(&format!("data/f{i}")), vec![b'x'; 20_000]).unwrap();
    }
    let src = format!("{}/", s.data());
    let dst = s.path("mirror").display().to_string();
    let (code, mails) = run(&t, &["rsync", "-a", "--info=progress2", &src, &dst], &[]);
    assert_eq!(code, 0);
    let body = mails[0].body_text();
    let tail = body
        .split("\nLog tail\n--------\n")
        .nth(1)
        .unwrap_or_default();
    assert!(!tail.is_empty(), "{body}");
    for line in tail.lines() {
        assert!(line.len() < 200, "a long line in the log tail: {line:?}");
        assert!(!line.contains('\r') && !line.contains('\u{1b}'), "{line:?}");
    }
    assert!(tail.contains("100%"), "{tail}");
}

// ------------------------------------------------------------------ borg

fn borg_env(s: &Sandbox) -> Vec<(&'static str, String)> {
    let mut env = env_for(s, &[("BORG_BASE_DIR", "borg-base"), ("HOME", "home")]);
    env.push((
        "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK",
        "yes".to_owned(),
    ));
    env.push(("BORG_RELOCATED_REPO_ACCESS_IS_OK", "yes".to_owned()));
    env
}

#[test]
#[ignore = "needs borg; `cargo xtask ci` runs it"]
fn borg_good_run_fills_source_destination_counts_and_archive() {
    require_program("borg");
    let t = TestEnv::new();
    t.config("[email]\nlevel = \"always\"\n");
    let s = Sandbox::new();
    let repo = s.path("repo").display().to_string();
    setup(&["borg", "init", "-e", "none", &repo], &borg_env(&s));
    let data = s.data();
    let target = format!("{repo}::nightly-1");
    let (code, mails) = run(
        &t,
        &["borg", "create", "--stats", &target, &data],
        &borg_env(&s),
    );
    assert_eq!(code, 0);
    let body = mails[0].body_text();
    assert_eq!(row(&body, "Source:"), Some(data), "{body}");
    assert_eq!(row(&body, "Destination:"), Some(repo), "{body}");
    assert_eq!(
        row(&body, "Archive:").as_deref(),
        Some("nightly-1"),
        "{body}"
    );
    assert_eq!(row(&body, "Files copied:").as_deref(), Some("4"), "{body}");
    assert!(
        row(&body, "Data copied:").is_some_and(|v| v.ends_with("kB")),
        "{body}"
    );
    no_absent_rows(&body);
}

#[test]
#[ignore = "needs borg and setpriv; `cargo xtask ci` runs it"]
fn borg_unreadable_file_mails_at_the_default_level() {
    require_program("borg");
    require_program("setpriv");
    if !is_root() {
        return skip_unless_ci("running borg as nobody needs root");
    }
    let t = TestEnv::new();
    let s = Sandbox::new();
    let repo = s.path("repo").display().to_string();
    setup(&["borg", "init", "-e", "none", &repo], &borg_env(&s));
    s.unreadable();
    let data = s.data();
    let target = format!("{repo}::nightly-1");
    let mut argv: Vec<&str> = AS_NOBODY.to_vec();
    argv.extend(["borg", "create", "--stats", &target, &data]);
    let (code, mails) = run(&t, &argv, &borg_env(&s));
    assert_eq!(code, 1, "borg: warning");
    assert_eq!(mails.len(), 1, "a file not backed up mails at `errors`");
    let body = mails[0].body_text();
    assert_eq!(
        row(&body, "Status:").as_deref(),
        Some("Finished with warnings"),
        "{body}"
    );
    let errors = body.split("\nErrors\n------\n").nth(1).unwrap_or_default();
    assert!(
        errors.contains("private.key") && errors.contains("Permission denied"),
        "{body}"
    );
    no_absent_rows(&body);
}

#[test]
#[ignore = "needs borg; `cargo xtask ci` runs it"]
fn borg_missing_repository_fails_with_its_error_line() {
    require_program("borg");
    let t = TestEnv::new();
    let s = Sandbox::new();
    let target = format!("{}::a", s.path("no-such-repo").display());
    let data = s.data();
    let (code, mails) = run(&t, &["borg", "create", &target, &data], &borg_env(&s));
    assert_eq!(code, 2);
    let body = mails[0].body_text();
    assert_eq!(row(&body, "Status:").as_deref(), Some("Failed"), "{body}");
    let errors = body.split("\nErrors\n------\n").nth(1).unwrap_or_default();
    assert!(errors.contains("does not exist"), "{body}");
    no_absent_rows(&body);
}

// ------------------------------------------------------------------ rclone

fn rclone_env(s: &Sandbox) -> Vec<(&'static str, String)> {
    let config = s.path("rclone.conf");
    std::fs::write(&config, "").unwrap();
    let mut env = env_for(s, &[("HOME", "home")]);
    env.push(("RCLONE_CONFIG", config.display().to_string()));
    env
}

#[test]
#[ignore = "needs rclone; `cargo xtask ci` runs it"]
fn rclone_good_run_fills_source_destination_and_counts() {
    require_program("rclone");
    let t = TestEnv::new();
    t.config("[email]\nlevel = \"always\"\n");
    let s = Sandbox::new();
    let src = s.data();
    let dst = s.path("mirror").display().to_string();
    let (code, mails) = run(&t, &["rclone", "sync", "-v", &src, &dst], &rclone_env(&s));
    assert_eq!(code, 0);
    let body = mails[0].body_text();
    assert_eq!(row(&body, "Source:"), Some(src), "{body}");
    assert_eq!(row(&body, "Destination:"), Some(dst), "{body}");
    assert_eq!(row(&body, "Files copied:").as_deref(), Some("4"), "{body}");
    assert!(
        row(&body, "Data copied:").is_some_and(|v| v.ends_with("kB")),
        "{body}"
    );
    no_absent_rows(&body);
}

#[test]
#[ignore = "needs rclone; `cargo xtask ci` runs it"]
fn rclone_missing_source_fails_with_its_error_line() {
    require_program("rclone");
    let t = TestEnv::new();
    let s = Sandbox::new();
    let src = s.path("no-such-dir").display().to_string();
    let dst = s.path("mirror").display().to_string();
    let (code, mails) = run(&t, &["rclone", "sync", &src, &dst], &rclone_env(&s));
    assert_ne!(code, 0);
    let body = mails[0].body_text();
    assert_eq!(row(&body, "Status:").as_deref(), Some("Failed"), "{body}");
    let count: u64 = row(&body, "Errors:").unwrap().parse().unwrap();
    assert!(count >= 1, "{body}");
    no_absent_rows(&body);
}

#[test]
#[ignore = "needs rclone and setpriv; `cargo xtask ci` runs it"]
fn rclone_unreadable_file_mails_at_the_default_level_with_the_error() {
    require_program("rclone");
    require_program("setpriv");
    if !is_root() {
        return skip_unless_ci("running rclone as nobody needs root");
    }
    let t = TestEnv::new();
    let s = Sandbox::new();
    let env = rclone_env(&s);
    s.unreadable();
    let src = s.data();
    let dst = s.path("mirror").display().to_string();
    let mut argv: Vec<&str> = AS_NOBODY.to_vec();
    argv.extend(["rclone", "sync", "--retries", "1", &src, &dst]);
    let (code, mails) = run(&t, &argv, &env);
    // rclone has no exit code of its own for "some files failed": 1, failed.
    assert_eq!(code, 1);
    assert_eq!(mails.len(), 1);
    let body = mails[0].body_text();
    assert_eq!(row(&body, "Status:").as_deref(), Some("Failed"), "{body}");
    let errors = body.split("\nErrors\n------\n").nth(1).unwrap_or_default();
    assert!(
        errors.contains("private.key") && errors.contains("permission denied"),
        "{body}"
    );
    no_absent_rows(&body);
}
