//! `notify check`: overdue tasks, runs that did not finish, runs past their
//! `max_runtime`, with second-scale expectations and real processes.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::TestEnv;

fn subjects(env: &TestEnv) -> Vec<String> {
    env.mails()
        .iter()
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect()
}

fn ok(env: &TestEnv, args: &[&str]) -> String {
    let out = env.notify(args);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The done-when case: `expect_every = "3s"`, `grace = "1s"`, level
/// `changes`. A good run sends nothing; a check 5 s later one Overdue mail
/// naming the task; a second check nothing; the next good run a recovery.
#[test]
fn overdue_is_told_once_and_the_recovery_after_it() {
    for (locale, overdue, status) in [
        ("en", "Overdue", "Finished successfully"),
        ("de", "Überfällig", "Erfolgreich abgeschlossen"),
    ] {
        let env = TestEnv::new();
        env.config(&format!(
            "locale = \"{locale}\"\n[email]\nto = \"ops@example.com\"\n\
             [tasks.\"Nightly\"]\nlevel = \"changes\"\nexpect_every = \"3s\"\ngrace = \"1s\"\n"
        ));
        ok(&env, &["run", "--task", "Nightly", "--", "true"]);
        assert!(env.mails().is_empty(), "a good first run sends nothing");
        // Not yet due: nothing.
        ok(&env, &["check"]);
        assert!(env.mails().is_empty());
        std::thread::sleep(Duration::from_secs(5));
        let said = ok(&env, &["check"]);
        assert!(said.contains("found `Nightly`: overdue"), "{said}");
        assert_eq!(subjects(&env).len(), 1);
        let subject = &subjects(&env)[0];
        assert!(
            subject.ends_with(&format!("Nightly: {overdue}")),
            "{subject}"
        );
        let body = env.mails()[0].body_text();
        for word in if locale == "en" {
            ["Last run:", "Expected by:", "No run since"]
        } else {
            ["Letzter Lauf:", "Erwartet bis:", "Kein Lauf seit"]
        } {
            assert!(body.contains(word), "{word}: {body}");
        }
        ok(&env, &["check"]);
        assert_eq!(env.mails().len(), 1, "told once");
        ok(&env, &["run", "--task", "Nightly", "--", "true"]);
        let subjects = subjects(&env);
        assert_eq!(subjects.len(), 2, "{subjects:?}");
        assert!(subjects[1].ends_with(status), "{subjects:?}");
        let recovery = env.mails()[1].body_text();
        let missing = if locale == "en" {
            "it was missing since"
        } else {
            "sie fehlte seit"
        };
        assert!(recovery.contains(missing), "{recovery}");
        assert!(!recovery.contains("held back"), "{recovery}");
    }
}

/// A task that has never run: the clock starts when notify first hears of
/// it, and the mail says no run was recorded.
#[test]
fn a_task_that_never_ran_is_overdue_from_when_it_was_first_seen() {
    let env = TestEnv::new();
    env.config(
        "[email]\nto = \"ops@example.com\"\n\
         [tasks.\"Weekly\"]\nexpect_every = \"2s\"\ngrace = \"1s\"\n",
    );
    ok(&env, &["check"]);
    assert!(env.mails().is_empty());
    std::thread::sleep(Duration::from_millis(3500));
    ok(&env, &["check"]);
    let mails = env.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].body_text().contains("No run recorded yet"));
}

/// A level `never` task is remembered but never told about; `check
/// --dry-run` shows the mail and records nothing.
#[test]
fn never_stays_quiet_and_a_dry_run_sends_nothing() {
    let env = TestEnv::new();
    env.config(
        "[email]\nto = \"ops@example.com\"\n\
         [tasks.\"Quiet\"]\nlevel = \"never\"\nexpect_every = \"1s\"\ngrace = \"1s\"\n\
         [tasks.\"Loud\"]\nexpect_every = \"1s\"\ngrace = \"1s\"\n",
    );
    ok(&env, &["run", "--task", "Quiet", "--", "true"]);
    ok(&env, &["run", "--task", "Loud", "--", "true"]);
    std::thread::sleep(Duration::from_millis(2500));
    let out = env.notify(&["check", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Loud: Overdue"), "{stdout}");
    assert!(!stdout.contains("Quiet: Overdue"), "{stdout}");
    assert!(env.mails().is_empty());
    ok(&env, &["check"]);
    let subjects = subjects(&env);
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert!(subjects[0].ends_with("Loud: Overdue"));
}

/// Waits until `notify run` has recorded its run.
fn wait_for_running_record(env: &TestEnv) {
    let dir = env.path().join("data/running");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_dir(&dir).map_or(0, |d| d.count()) == 0 {
        assert!(
            Instant::now() < deadline,
            "no running record in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `notify run --task Long -- sleep 60`, both killed with SIGKILL: the next
/// check sends one "Did not finish" mail, the one after it nothing.
#[cfg(unix)]
#[test]
fn a_run_killed_with_its_job_did_not_finish() {
    use std::os::unix::process::CommandExt;
    let env = TestEnv::new();
    env.config("[email]\nto = \"ops@example.com\"\n");
    let mut child = env
        .std_cmd()
        .args(["run", "--task", "Long", "--", "sleep", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    wait_for_running_record(&env);
    // While it runs, a check finds nothing.
    let said = ok(&env, &["check"]);
    assert!(said.contains("nothing overdue"), "{said}");
    // SAFETY: kill(2) of the test's own process group.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    child.wait().unwrap();
    let said = ok(&env, &["check"]);
    assert!(said.contains("found `Long`: did_not_finish"), "{said}");
    let subjects = subjects(&env);
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert!(
        subjects[0].ends_with("Long: Did not finish"),
        "{subjects:?}"
    );
    assert!(env.mails()[0].body_text().contains("its process is gone"));
    ok(&env, &["check"]);
    assert_eq!(env.mails().len(), 1, "told once");
    // The history has the unfinished run.
    let history = std::fs::read_to_string(env.path().join("data/history/Long.json")).unwrap();
    assert!(history.contains("\"did_not_finish\":true"), "{history}");
}

/// A running record whose pid now belongs to another process (one that
/// started at another time) is a run that did not finish; one that is the
/// same process is still running.
#[cfg(target_os = "linux")]
#[test]
fn a_reused_pid_is_not_the_run() {
    let env = TestEnv::new();
    env.config("[email]\nto = \"ops@example.com\"\n");
    let mut other = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let pid = other.id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let start: u64 = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let write = |task: &str, process_start: u64| {
        let dir = env.path().join("data/running");
        std::fs::create_dir_all(&dir).unwrap();
        let record = serde_json::json!({
            "task": task,
            "run": {
                "id": format!("{pid}-1"),
                "pid": pid,
                "process_start": process_start,
                "boot_id": boot.trim(),
                "started_at": "2026-12-05T03:00:00Z",
            }
        });
        std::fs::write(dir.join(format!("{task}~{pid}-1.json")), record.to_string()).unwrap();
    };
    write("Same", start);
    write("Reused", start + 100);
    let said = ok(&env, &["check"]);
    other.kill().unwrap();
    other.wait().unwrap();
    assert!(said.contains("found `Reused`: did_not_finish"), "{said}");
    assert!(!said.contains("`Same`"), "{said}");
    let subjects = subjects(&env);
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert!(subjects[0].ends_with("Reused: Did not finish"));
}

/// A run past its `max_runtime`: one "Still running" mail while it runs,
/// not two; its own end is decided as usual.
#[test]
fn a_run_past_its_max_runtime_is_told_once() {
    let env = TestEnv::new();
    env.config("[email]\nto = \"ops@example.com\"\n[tasks.\"Slow\"]\nmax_runtime = \"1s\"\n");
    let child = env
        .std_cmd()
        .args(["run", "--task", "Slow", "--", "sleep", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_running_record(&env);
    std::thread::sleep(Duration::from_millis(1500));
    let said = ok(&env, &["check"]);
    assert!(said.contains("found `Slow`: still_running"), "{said}");
    ok(&env, &["check"]);
    let subjects = subjects(&env);
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert!(subjects[0].ends_with("Slow: Still running"), "{subjects:?}");
    assert!(env.mails()[0]
        .body_text()
        .contains("is still running, longer than its max_runtime"));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    // A clean end at level `errors`: no mail of its own; the record is gone.
    assert_eq!(env.mails().len(), 1);
    assert_eq!(
        std::fs::read_dir(env.path().join("data/running"))
            .unwrap()
            .count(),
        0
    );
}

/// Expectations with a mistake are left out with the file, line, key and
/// what to write; both kinds at once keep the cron expression.
#[test]
fn expectation_mistakes_name_the_file_line_and_key() {
    let env = TestEnv::new();
    env.config(
        "[email]\nto = \"ops@example.com\"\n\
         [tasks.\"A\"]\nexpect_cron = \"0 3 * *\"\n\
         [tasks.\"B\"]\nexpect_every = \"0s\"\n\
         [tasks.\"C\"]\nexpect_every = \"1d\"\nexpect_cron = \"0 3 * * *\"\n\
         [tasks.\"D\"]\ngrace = \"soon\"\n",
    );
    let out = env.notify(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "line 4, key `tasks.A.expect_cron`: `0 3 * *` is not a cron expression",
        "e.g. `0 3 * * *` for 03:00 every day",
        "line 6, key `tasks.B.expect_every`: must be more than 0 seconds",
        "line 8: `tasks.C` sets both expect_every and expect_cron; expect_every is ignored",
        "line 11, key `tasks.D.grace`: `soon` is not a duration",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
}

/// `notify status`: a row per task from the configuration and the history,
/// its JSON fields, and exit 1 while a task is failing.
#[test]
fn status_shows_every_task_and_exits_1_while_one_fails() {
    let env = TestEnv::new();
    env.config(
        "[email]\nto = \"ops@example.com\"\n\
         [tasks.\"Planned\"]\nexpect_cron = \"0 3 * * *\"\n",
    );
    let out = env.notify(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Planned") && text.contains("never ran"),
        "{text}"
    );

    ok(
        &env,
        &[
            "send", "--task", "Good", "--status", "success", "--level", "never",
        ],
    );
    let out = env.notify(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    for _ in 0..2 {
        env.cmd()
            .args(["run", "--task", "Dump", "--level", "never", "--"])
            .args(["sh", "-c", "echo 'error: disk full' >&2; exit 2"])
            .output()
            .unwrap();
    }
    let out = env.notify(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tasks = json["tasks"].as_array().unwrap();
    let names: Vec<&str> = tasks.iter().map(|t| t["task"].as_str().unwrap()).collect();
    assert_eq!(names, ["Dump", "Good", "Planned"]);
    let dump = &tasks[0];
    assert_eq!(dump["last_outcome"], "failure");
    assert_eq!(dump["last_exit_code"], 2);
    assert_eq!(dump["failing"], true);
    assert_eq!(dump["streak"]["runs"], 2);
    assert_eq!(dump["streak"]["failing"], true);
    assert_eq!(dump["first_error"], "error: disk full");
    assert_eq!(dump["runs_recorded"], 2);
    assert_eq!(dump["running"], false);
    for field in [
        "last_started_at",
        "last_finished_at",
        "last_duration_seconds",
        "last_success_at",
        "next_expected_at",
        "overdue",
        "running_since",
        "expect_every_seconds",
        "expect_cron",
        "bytes_copied",
        "files_copied",
        "level",
    ] {
        assert!(dump.get(field).is_some(), "{field} in {dump}");
    }
    let planned = &tasks[2];
    assert_eq!(planned["expect_cron"], "0 3 * * *");
    assert_eq!(planned["last_outcome"], serde_json::Value::Null);
    assert_eq!(tasks[1]["last_outcome"], "success");
    // The text: a header and a row each, the failing one's first error.
    let out = env.notify(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("TASK"), "{text}");
    assert!(text.contains("failing for 2 runs"), "{text}");
    assert!(text.contains("Dump: error: disk full"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour when not a terminal: {text}"
    );
    let out = env.notify(&["--color", "always", "status"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\u{1b}[1;31mfailed"));
}

/// Three runs at level `never` (two good, one failed), then `notify
/// digest`: one mail, its subject counting 2 and 1, its body naming all
/// three, the failed one first with its error.
#[test]
fn a_digest_covers_tasks_at_level_never() {
    let env = TestEnv::new();
    env.config("[email]\nto = \"ops@example.com\"\nlevel = \"never\"\n");
    ok(&env, &["run", "--task", "Photos", "--", "true"]);
    ok(
        &env,
        &["send", "--task", "Mail archive", "--status", "success"],
    );
    let out = env
        .cmd()
        .args(["run", "--task", "DB dump", "--", "sh", "-c"])
        .arg("echo 'pg_dump: error: connection refused' >&2; exit 1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(env.mails().is_empty(), "level never: no mail per run");
    ok(&env, &["digest"]);
    let mails = env.mails();
    assert_eq!(mails.len(), 1);
    let subject = mails[0].header("Subject").unwrap();
    assert!(subject.contains(": 2 ok, 1 failed"), "{subject}");
    let body = mails[0].body_text();
    let at = |t: &str| body.find(t).unwrap_or_else(|| panic!("{t} in {body}"));
    assert!(at("DB dump") < at("Mail archive") && at("Mail archive") < at("Photos"));
    assert!(
        body.contains("pg_dump: error: connection refused"),
        "{body}"
    );
    assert!(mails[0].raw.contains("text/html"), "an HTML part too");

    // In German.
    let env = TestEnv::new();
    env.config("locale = \"de\"\n[email]\nto = \"ops@example.com\"\nlevel = \"never\"\n");
    ok(&env, &["send", "--task", "A", "--status", "failure"]);
    ok(&env, &["digest"]);
    let subject = env.mails()[0].header("Subject").unwrap();
    assert!(subject.starts_with("Sicherungen auf "), "{subject}");
    assert!(subject.ends_with(": 0 ok, 1 fehlgeschlagen"), "{subject}");
}

/// `digest = "daily"`: the check sends it once its time of the day has
/// come, and not again that day.
#[test]
fn the_check_sends_the_daily_digest_once() {
    let env = TestEnv::new();
    env.config(
        "[email]\nto = \"ops@example.com\"\nlevel = \"never\"\n\
         digest = \"daily\"\ndigest_at = \"00:00\"\n",
    );
    ok(&env, &["send", "--task", "A", "--status", "success"]);
    // `send` ran the check on its way: the digest went out with it.
    assert_eq!(env.mails().len(), 1);
    ok(&env, &["check"]);
    ok(&env, &["check"]);
    let subjects = subjects(&env);
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert!(subjects[0].contains(": 1 ok"), "{subjects:?}");
}

/// `notify send --from-systemd`, as an `OnFailure=` unit runs it: the task
/// is the unit, the outcome and exit status come from the variables, the
/// log from the invocation's journal lines (here a `journalctl` on PATH
/// that prints them, as no journald runs in the test sandbox; the real
/// `journalctl` is the case below).
#[cfg(unix)]
#[test]
fn send_from_systemd_reads_the_variables_and_the_journal() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    env.config("[email]\nto = \"ops@example.com\"\n");
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let journalctl = bin.join("journalctl");
    std::fs::write(
        &journalctl,
        "#!/bin/sh\n[ \"$1\" = \"_SYSTEMD_INVOCATION_ID=0123abcd\" ] || exit 1\n\
         echo 'Starting backup of /srv'\necho 'error: cannot reach nas.local'\necho 'Backup failed'\n",
    )
    .unwrap();
    std::fs::set_permissions(&journalctl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let out = env
        .cmd()
        .env("PATH", &path)
        .env("MONITOR_SERVICE_RESULT", "exit-code")
        .env("MONITOR_EXIT_CODE", "exited")
        .env("MONITOR_EXIT_STATUS", "4")
        .env("MONITOR_UNIT", "backup.service")
        .env("MONITOR_INVOCATION_ID", "0123abcd")
        .args(["send", "--from-systemd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let mails = env.mails();
    assert_eq!(mails.len(), 1);
    let subject = mails[0].header("Subject").unwrap();
    assert!(subject.ends_with("backup.service: Failed"), "{subject}");
    let body = mails[0].body_text();
    assert!(body.contains("Exit code:      4"), "{body}");
    assert!(body.contains("error: cannot reach nas.local"), "{body}");
    assert!(
        body.contains("Starting backup of /srv"),
        "the log tail: {body}"
    );

    // Killed by a signal; the real journalctl, which has no lines for it.
    let out = env
        .cmd()
        .env("MONITOR_SERVICE_RESULT", "signal")
        .env("MONITOR_EXIT_CODE", "killed")
        .env("MONITOR_EXIT_STATUS", "TERM")
        .env("MONITOR_UNIT", "backup.service")
        .env("MONITOR_INVOCATION_ID", "89abcdef")
        .args(["send", "--from-systemd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let body = env.mails()[1].body_text();
    assert!(body.contains("signal 15 (SIGTERM)"), "{body}");
    assert!(
        body.contains("no journal lines of this invocation"),
        "{body}"
    );

    // Outside such a unit: a usage error that says what to do.
    let out = env.notify(&["send", "--from-systemd"]);
    assert_eq!(out.status.code(), Some(2), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MONITOR_UNIT is not set"));
}
