//! Faults around a run: nothing notify writes for itself (diagnostics, a
//! warning) may cost the job's exit code or the notification.

use std::process::Stdio;

use crate::support::TestEnv;

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
