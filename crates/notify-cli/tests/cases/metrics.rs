//! The `[metrics]` textfile: written after `run`, `send` and `check`
//! whatever the level, checked by Prometheus's `promtool` and served by a
//! real `prometheus-node-exporter`; every task in it, concurrent writers,
//! a run going on, an overdue task, and the configuration's mistakes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify_testkit::prometheus::{promtool_check, NodeExporter};

use crate::support::TestEnv;

fn ok(env: &TestEnv, args: &[&str]) -> String {
    let out = env.notify(args);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A test home with `[metrics]` writing `prom/notify.prom` (relative to
/// the config file) and every task at level `never`.
fn metrics_env(extra: &str) -> (TestEnv, PathBuf) {
    let env = TestEnv::new();
    std::fs::create_dir(env.path().join("prom")).unwrap();
    env.config(&format!(
        "[email]\nlevel = \"never\"\n[metrics]\ntextfile = \"prom/notify.prom\"\n{extra}"
    ));
    let path = env.path().join("prom/notify.prom");
    (env, path)
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value of the sample `series` (name and labels as written).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The done-when case: after `notify run` (level `never`: no destination
/// at all), promtool passes the file and a real node_exporter serves the
/// success timestamp with no scrape error; `send` and `check` keep every
/// task in it.
#[test]
#[ignore = "needs promtool and prometheus-node-exporter; `cargo xtask ci` runs it"]
fn run_send_and_check_write_a_file_promtool_passes_and_node_exporter_serves() {
    let (env, path) = metrics_env("");
    let before = now();
    ok(
        &env,
        &[
            "run",
            "--task",
            "Nightly \"db\" dump",
            "--",
            "sh",
            "-c",
            "exit 0",
        ],
    );
    promtool_check(&path).unwrap();
    let t = text(&path);
    let success = value(
        &t,
        r#"notify_task_last_success_timestamp_seconds{task="Nightly \"db\" dump"}"#,
    )
    .unwrap_or_else(|| panic!("no success timestamp in\n{t}"));
    assert!(
        success >= before.floor() && success <= now() + 1.0,
        "{success}"
    );

    // A failure of another task: both tasks are in the file.
    ok(
        &env,
        &[
            "send",
            "--task",
            "offsite",
            "--status",
            "failure",
            "--exit-code",
            "3",
        ],
    );
    ok(&env, &["check"]);
    promtool_check(&path).unwrap();
    let t = text(&path);
    assert_eq!(
        value(&t, r#"notify_task_last_exit_code{task="offsite"}"#),
        Some(3.0)
    );
    assert_eq!(
        value(
            &t,
            r#"notify_task_last_success_timestamp_seconds{task="offsite"}"#
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &t,
            r#"notify_task_last_outcome{task="offsite",outcome="failure"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &t,
            r#"notify_task_last_outcome{task="Nightly \"db\" dump",outcome="success"}"#
        ),
        Some(1.0)
    );
    assert_eq!(value(&t, "notify_queue_pending"), Some(0.0));
    assert!(env.mails().is_empty(), "level never: no mail");

    let exporter = NodeExporter::start(&env.path().join("prom"));
    let served = exporter.scrape();
    assert_eq!(
        value(&served, "node_textfile_scrape_error"),
        Some(0.0),
        "{served}"
    );
    let got = value(
        &served,
        r#"notify_task_last_success_timestamp_seconds{task="Nightly \"db\" dump"}"#,
    )
    .unwrap_or_else(|| panic!("not served:\n{served}"));
    assert!((got - success).abs() < 1e-3, "{got} vs {success}");
    assert!(
        served.contains(r#"notify_task_last_exit_code{task="offsite"} 3"#),
        "{served}"
    );
}

/// While `notify run` works, the task is `running`; after, it is not, and
/// its duration is there.
#[test]
fn a_run_going_on_is_running_in_the_file() {
    let (env, path) = metrics_env("");
    let seen = env.path().join("seen.prom");
    let copy = format!("cp '{}' '{}'", path.display(), seen.display());
    ok(&env, &["run", "--task", "job", "--", "sh", "-c", &copy]);
    assert_eq!(
        value(&text(&seen), r#"notify_task_running{task="job"}"#),
        Some(1.0),
        "{}",
        text(&seen)
    );
    let after = text(&path);
    assert_eq!(
        value(&after, r#"notify_task_running{task="job"}"#),
        Some(0.0)
    );
    assert!(value(&after, r#"notify_task_last_duration_seconds{task="job"}"#).is_some());
}

/// Parallel `send`s of different tasks: the file is whole and, once all
/// are done, lists every task (each writes under the index's lock after
/// recording its own run).
#[test]
fn concurrent_writers_leave_a_whole_file_with_every_task() {
    let (env, path) = metrics_env("");
    let children: Vec<_> = (0..8)
        .map(|i| {
            env.std_cmd()
                .args([
                    "send",
                    "--task",
                    &format!("task {i}"),
                    "--status",
                    "success",
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let t = text(&path);
    assert!(t.ends_with("notify_queue_pending 0\n"), "{t}");
    for i in 0..8 {
        assert_eq!(
            value(
                &t,
                &format!(r#"notify_task_last_outcome{{task="task {i}",outcome="success"}}"#)
            ),
            Some(1.0),
            "task {i} missing in\n{t}"
        );
    }
    // Only the file itself: no temporary file left beside it.
    let names: Vec<_> = std::fs::read_dir(env.path().join("prom"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

/// A task past its expectation is `overdue` after a check, and a queued
/// notification counts in `notify_queue_pending`.
#[test]
fn overdue_tasks_and_queued_notifications_are_counted() {
    let (env, path) = metrics_env(
        "[tasks.\"Nightly\"]\nexpect_every = \"1s\"\ngrace = \"1s\"\n\
         [tasks.\"mailed\"]\nlevel = \"always\"\naccount = \"down\"\nto = \"ops@example.com\"\n\
         [accounts.down]\nfrom = \"n@example.com\"\nserver = \"127.0.0.1:1\"\nsecurity = \"none\"\n",
    );
    ok(&env, &["run", "--task", "Nightly", "--", "true"]);
    assert_eq!(
        value(&text(&path), r#"notify_task_overdue{task="Nightly"}"#),
        Some(0.0)
    );
    std::thread::sleep(Duration::from_millis(2500));
    ok(&env, &["check"]);
    assert_eq!(
        value(&text(&path), r#"notify_task_overdue{task="Nightly"}"#),
        Some(1.0),
        "{}",
        text(&path)
    );
    let out = env.notify(&["send", "--task", "mailed", "--status", "success"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    assert_eq!(value(&text(&path), "notify_queue_pending"), Some(1.0));
}

/// Mistakes: `[metrics]` in a task's table, a name node_exporter skips, a
/// directory that does not exist. Each is a warning naming the file and
/// line or the path; the job's exit code and its mail are untouched.
#[test]
fn metrics_mistakes_are_warnings_that_change_nothing_else() {
    let env = TestEnv::new();
    env.config(
        "[email]\nto = \"ops@example.com\"\n\
         [metrics]\ntextfile = \"missing/notify.txt\"\n\
         [tasks.\"T\".metrics]\ntextfile = \"t.prom\"\n",
    );
    let out = env.notify(&["run", "--task", "T", "--", "sh", "-c", "exit 4"]);
    assert_eq!(out.status.code(), Some(4), "{}", env.describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 5") && err.contains("`tasks.T.metrics` is ignored"),
        "{err}"
    );
    assert!(err.contains("does not end in .prom"), "{err}");
    assert!(
        err.contains("cannot write the metrics textfile")
            && err.contains("missing/notify.txt")
            && err.contains("--collector.textfile.directory"),
        "{err}"
    );
    assert_eq!(env.mails().len(), 1, "the failure is mailed as ever");
}

/// `--dry-run` writes nothing, as it records nothing.
#[test]
fn a_dry_run_writes_no_metrics() {
    let (env, path) = metrics_env("");
    ok(&env, &["run", "--dry-run", "--task", "t", "--", "true"]);
    ok(
        &env,
        &["send", "--dry-run", "--task", "t", "--status", "success"],
    );
    assert!(!path.exists());
}

/// `NOTIFY_METRICS__TEXTFILE` sets the file as the config key does.
#[test]
fn the_environment_sets_the_textfile() {
    let env = TestEnv::new();
    let path = env.path().join("env.prom");
    let out = env
        .cmd()
        .env("NOTIFY_METRICS__TEXTFILE", &path)
        .args([
            "send", "--task", "t", "--status", "success", "--level", "never",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert!(text(&path).contains(r#"notify_task_last_outcome{task="t",outcome="success"} 1"#));
}
