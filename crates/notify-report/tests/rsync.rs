//! The rsync reader against real rsync runs in a sandbox: statistics, an
//! unreadable file (a warning), a missing source, an unwritable or missing
//! destination (failures), an interrupted run, and `--info=progress2`.
//! The tests that run rsync are ignored by a plain `cargo test`; `cargo
//! xtask ci` installs rsync and runs them. Those that run rsync as another
//! user need root: elsewhere they print `skipped:` (and fail under
//! `CI=true`).
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{as_nobody, read, require, run, sh, show, total_size, write_file, Run, Tree, FILES};
use notify_core::{ExitCodes, Outcome, TaskResult};
use notify_report::{keys, Tool};

/// A sandbox with `src/` holding [`FILES`]; `dst` is not created.
fn sandbox() -> Tree {
    Tree::new("notify-rsync-")
}

/// The number after `label` in rsync's output (`1,234` → 1234).
fn printed(out: &[u8], label: &str) -> Option<u64> {
    let text = String::from_utf8_lossy(out);
    let line = text.lines().find_map(|l| l.strip_prefix(label))?;
    let digits: String = line
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn extra<'r>(r: &'r TaskResult, key: &str) -> Option<&'r str> {
    r.extra.get(key).map(String::as_str)
}

#[test]
#[ignore = "needs rsync; `cargo xtask ci` runs it"]
fn a_good_run_with_stats() {
    require("rsync");
    let sb = sandbox();
    let (src, dst) = (sb.path("src/"), sb.path("dst/"));
    let argv = ["rsync", "-a", "--stats", &src, &dst];
    let out = run(&argv, &[], sb.dir.path());
    let (r, _) = read(&argv, &[], &out);
    let context = show(&out);
    assert_eq!(r.outcome, Outcome::Success, "{context}");
    assert_eq!(r.source.as_deref(), Some(src.as_str()));
    assert_eq!(r.destination.as_deref(), Some(dst.as_str()));
    // What rsync printed, and what was really copied.
    let files = printed(&out.stdout, "Number of regular files transferred:");
    let bytes = printed(&out.stdout, "Total transferred file size:");
    assert_eq!(r.files_copied, files, "{context}");
    assert_eq!(r.files_copied, Some(FILES.len() as u64), "{context}");
    assert_eq!(r.bytes_copied, bytes, "{context}");
    assert_eq!(r.bytes_copied, Some(total_size()), "{context}");
    let total = total_size().to_string();
    assert_eq!(extra(&r, keys::DATA_PROCESSED), Some(total.as_str()));
    // Directories count as files for rsync: src/, sub/, sub/deeper/.
    let processed = (FILES.len() + 3).to_string();
    assert_eq!(extra(&r, keys::FILES_PROCESSED), Some(processed.as_str()));
    assert_eq!(extra(&r, keys::FILES_NEW), Some(processed.as_str()));
    assert_eq!(extra(&r, keys::FILES_DELETED), Some("0"));
    assert_eq!((r.error_count, r.warning_count), (0, 0), "{context}");

    // Again, with one file changed and one extra at the destination.
    write_file(&sb.dir.path().join("src/a.txt"), 2_000);
    write_file(&sb.dir.path().join("dst/extra"), 5);
    let argv = ["rsync", "-a", "--delete", "--stats", &src, &dst];
    let out = run(&argv, &[], sb.dir.path());
    let (r, _) = read(&argv, &[], &out);
    let context = show(&out);
    assert_eq!(r.files_copied, Some(1), "{context}");
    assert_eq!(r.bytes_copied, Some(2_000), "{context}");
    assert_eq!(extra(&r, keys::FILES_DELETED), Some("1"), "{context}");
    assert_eq!(extra(&r, keys::FILES_NEW), Some("0"), "{context}");
}

#[test]
#[ignore = "needs rsync; `cargo xtask ci` runs it"]
fn human_readable_stats() {
    require("rsync");
    for (h, unit) in [("-h", 1000.0), ("-hh", 1024.0)] {
        let sb = sandbox();
        let (src, dst) = (sb.path("src/"), sb.path("dst/"));
        let argv = ["rsync", "-a", h, "--stats", &src, &dst];
        let out = run(&argv, &[], sb.dir.path());
        let (r, _) = read(&argv, &[], &out);
        let context = show(&out);
        assert_eq!(r.files_copied, Some(FILES.len() as u64), "{context}");
        // `354.35K`: exact to half a unit of the last digit printed.
        let bytes = r.bytes_copied.expect("bytes copied") as f64;
        let exact = total_size() as f64;
        assert!(
            (bytes - exact).abs() <= 0.005 * unit,
            "{h}: {bytes} for {exact}\n{context}"
        );
    }
}

#[test]
#[ignore = "needs rsync; `cargo xtask ci` runs it"]
fn itemized_changes_without_stats() {
    require("rsync");
    let sb = sandbox();
    let (src, dst) = (sb.path("src/"), sb.path("dst/"));
    write_file(&sb.dir.path().join("dst/old"), 10);
    let argv = ["rsync", "-avi", "--delete", &src, &dst];
    let out = run(&argv, &[], sb.dir.path());
    let (r, _) = read(&argv, &[], &out);
    let context = show(&out);
    assert_eq!(r.outcome, Outcome::Success, "{context}");
    assert_eq!(r.files_copied, Some(FILES.len() as u64), "{context}");
    assert_eq!(r.bytes_copied, None, "{context}");
    assert_eq!(extra(&r, keys::FILES_DELETED), Some("1"), "{context}");
    let total = total_size().to_string();
    assert_eq!(extra(&r, keys::DATA_PROCESSED), Some(total.as_str()));
}

#[test]
#[ignore = "needs rsync and setpriv; `cargo xtask ci` runs it"]
fn an_unreadable_file_is_a_warning() {
    require("rsync");
    let Some(mut argv) = as_nobody() else {
        return;
    };
    let sb = sandbox();
    let secret = sb.path("src/secret");
    write_file(Path::new(&secret), 100);
    sh(&["chown", "-R", "nobody:nogroup", &sb.path("")]);
    sh(&["chown", "root:root", &secret]);
    sh(&["chmod", "600", &secret]);
    let (src, dst) = (sb.path("src/"), sb.path("dst/"));
    argv.extend(["rsync", "-a", "--stats", &src, &dst]);
    let out = run(&argv, &[], sb.dir.path());
    let (r, _) = read(&argv, &[], &out);
    let context = show(&out);
    assert_eq!(out.code, Some(23), "{context}");
    assert_eq!(r.outcome, Outcome::Warning, "{context}");
    assert_eq!(r.source.as_deref(), Some(src.as_str()));
    assert_eq!(r.destination.as_deref(), Some(dst.as_str()));
    assert!(
        r.errors
            .iter()
            .any(|e| e.starts_with("rsync: ") && e.ends_with("Permission denied (13)")),
        "{:#?}\n{context}",
        r.errors
    );
    assert!(
        r.errors.last().is_some_and(|e| e.contains("(code 23)")),
        "{:#?}",
        r.errors
    );
    assert_eq!(r.error_count, r.errors.len() as u64);
    // rsync counts the file it could not open as transferred.
    let files = printed(&out.stdout, "Number of regular files transferred:");
    assert_eq!(r.files_copied, files, "{context}");
    assert_eq!(r.files_copied, Some(FILES.len() as u64 + 1), "{context}");
}

#[test]
#[ignore = "needs rsync; `cargo xtask ci` runs it"]
fn a_missing_source_is_a_partial_transfer() {
    require("rsync");
    let sb = sandbox();
    let (src, dst) = (sb.path("nonexistent/"), sb.path("dst/"));
    let argv = ["rsync", "-a", &src, &dst];
    let out = run(&argv, &[], sb.dir.path());
    let (r, _) = read(&argv, &[], &out);
    let context = show(&out);
    // rsync reports a source it cannot find as a partial transfer.
    assert_eq!(out.code, Some(23), "{context}");
    assert_eq!(r.outcome, Outcome::Warning);
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("No such file or directory (2)")),
        "{:#?}\n{context}",
        r.errors
    );
}

#[test]
#[ignore = "needs rsync; `cargo xtask ci` runs it"]
fn a_missing_destination_is_a_failure() {
    require("rsync");
    let sb = sandbox();
    let (src, dst) = (sb.path("src/"), sb.path("no/such/dir/"));
    let argv = ["rsync", "-a", &src, &dst];
    let out = run(&argv, &[], sb.dir.path());
    let (r, _) = read(&argv, &[], &out);
    let context = show(&out);
    assert_eq!(out.code, Some(11), "{context}");
    assert_eq!(r.outcome, Outcome::Failure);
    assert!(r.error_count >= 1);
    assert!(
        r.errors[0].starts_with("rsync: ") && r.errors[0].contains("mkdir"),
        "{:#?}\n{context}",
        r.errors
    );
    assert!(r.errors.iter().any(|e| e.contains("(code 11)")));
}

#[test]
#[ignore = "needs rsync and setpriv; `cargo xtask ci` runs it"]
fn an_unwritable_destination_is_a_failure() {
    require("rsync");
    let Some(mut argv) = as_nobody() else {
        return;
    };
    let sb = sandbox();
    // The sandbox stays root's: nobody may read it, not write to it.
    sh(&["chmod", "755", &sb.path("")]);
    let (src, dst) = (sb.path("src/"), sb.path("dst/"));
    argv.extend(["rsync", "-a", &src, &dst]);
    let out = run(&argv, &[], sb.dir.path());
    let (r, _) = read(&argv, &[], &out);
    let context = show(&out);
    assert_eq!(out.code, Some(11), "{context}");
    assert_eq!(r.outcome, Outcome::Failure);
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("mkdir") && e.ends_with("Permission denied (13)")),
        "{:#?}\n{context}",
        r.errors
    );
    assert!(r.error_count >= 1);
}

/// Runs `argv` slowed by `--bwlimit`, sends `signal` once the transfer has
/// begun, and returns the run and the signal that ended it, if any.
fn interrupted(argv: &[&str], dst: &Path, signal: &str) -> (Run, Option<i32>) {
    let child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"));
    // Until something arrives at the destination, at most 5 seconds.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) && !has_files(dst) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    sh(&["kill", signal, &child.id().to_string()]);
    let out = child.wait_with_output().expect("the run's end");
    let run = Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    };
    (run, out.status.signal())
}

fn has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

/// A tree big enough to take a while at 1 MB/s.
fn big_tree(dir: &Path) -> PathBuf {
    let src = dir.join("big");
    for i in 0..4 {
        write_file(&src.join(format!("f{i}")), 4 << 20);
    }
    src
}

#[test]
#[ignore = "needs rsync; `cargo xtask ci` runs it"]
fn an_interrupted_run_is_cancelled() {
    require("rsync");
    for signal in ["-INT", "-TERM"] {
        let sb = sandbox();
        let src = format!("{}/", big_tree(sb.dir.path()).display());
        let dst = sb.path("dst/");
        let argv = ["rsync", "-a", "--stats", "--bwlimit=1000", &src, &dst];
        let (out, sig) = interrupted(&argv, Path::new(&dst), signal);
        let (r, _) = read(&argv, &[], &out);
        let context = show(&out);
        // rsync catches both and exits with 20.
        assert_eq!((out.code, sig), (Some(20), None), "{signal}: {context}");
        let codes = ExitCodes::Preset(Tool::Rsync.preset());
        assert_eq!(codes.outcome(out.code, sig), Outcome::Cancelled);
        assert_eq!(r.outcome, Outcome::Cancelled);
        assert!(
            r.errors.iter().any(|e| e.starts_with("rsync error: ")
                && e.contains("received SIGINT, SIGTERM, or SIGHUP (code 20)")),
            "{signal}: {:#?}\n{context}",
            r.errors
        );
        assert_eq!(r.files_copied, None, "no statistics when interrupted");
    }
}

#[test]
#[ignore = "needs rsync; `cargo xtask ci` runs it"]
fn progress2_makes_a_readable_log() {
    require("rsync");
    let sb = sandbox();
    let (src, dst) = (sb.path("src/"), sb.path("dst/"));
    let argv = ["rsync", "-a", "--info=progress2", "--stats", &src, &dst];
    let out = run(&argv, &[], sb.dir.path());
    assert!(
        out.stdout.contains(&b'\r'),
        "progress is redrawn\n{}",
        show(&out)
    );
    let (r, log) = read(&argv, &[], &out);
    let context = show(&out);
    assert_eq!(r.outcome, Outcome::Success, "{context}");
    assert_eq!((r.error_count, r.warning_count), (0, 0), "{context}");
    assert_eq!(r.files_copied, Some(FILES.len() as u64));
    assert!(!log.contains('\r'), "{log}");
    for line in log.lines() {
        assert!(line.len() <= 200, "{} bytes: {line:?}", line.len());
    }
    assert!(
        log.lines()
            .any(|l| l.contains("100%") && l.contains("xfr#")),
        "{log}"
    );
}

/// A recorded run: `tests/fixtures/rsync/NAME.stdout` and `.stderr` (a
/// stream that printed nothing has no file).
fn recorded(name: &str, code: i32) -> Run {
    let stream = |ext: &str| {
        let path = format!("rsync/{name}.{ext}");
        let full = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(&path);
        if full.exists() {
            common::fixture(&path)
        } else {
            Vec::new()
        }
    };
    Run {
        code: Some(code),
        stdout: stream("stdout"),
        stderr: stream("stderr"),
    }
}

/// rsync 3.2.7's output (see `tests/fixtures/rsync/README.md`).
#[test]
fn recorded_rsync_3_2_7() {
    struct Case {
        name: &'static str,
        argv: &'static [&'static str],
        code: i32,
        outcome: Outcome,
        files: Option<u64>,
        bytes: Option<u64>,
        values: &'static [(&'static str, &'static str)],
        errors: &'static [&'static str],
        warnings: &'static [&'static str],
    }
    let cases = [
        Case {
            name: "rsync-3.2.7-itemize-hh-stats",
            argv: &["rsync", "-ai", "-hh", "--delete", "--stats", "src/", "dst/"],
            code: 0,
            outcome: Outcome::Success,
            files: Some(5),
            // 1.74M in units of 1024.
            bytes: Some(1_824_522),
            values: &[
                (keys::FILES_PROCESSED, "7"),
                (keys::FILES_NEW, "7"),
                (keys::FILES_DELETED, "0"),
                (keys::DATA_PROCESSED, "1824522"),
            ],
            errors: &[],
            warnings: &[],
        },
        Case {
            name: "rsync-3.2.7-stats-h",
            argv: &["rsync", "-a", "--delete", "--stats", "-h", "src/", "dst/"],
            code: 0,
            outcome: Outcome::Success,
            files: Some(1),
            // 1.01K in units of 1000.
            bytes: Some(1_010),
            values: &[
                (keys::FILES_PROCESSED, "7"),
                (keys::FILES_NEW, "0"),
                (keys::FILES_DELETED, "1"),
                (keys::DATA_PROCESSED, "1820000"),
            ],
            errors: &[],
            warnings: &[],
        },
        Case {
            name: "rsync-3.2.7-stats-de_DE",
            argv: &["rsync", "-a", "--stats", "src/", "dst5/"],
            code: 0,
            outcome: Outcome::Success,
            files: Some(5),
            bytes: Some(1_821_021),
            values: &[(keys::DATA_PROCESSED, "1821021")],
            errors: &[],
            warnings: &[],
        },
        Case {
            name: "rsync-3.2.7-stats-h-de_DE",
            argv: &["rsync", "-a", "-h", "--stats", "src/", "dst6/"],
            code: 0,
            outcome: Outcome::Success,
            files: Some(5),
            bytes: Some(1_820_000),
            values: &[(keys::DATA_PROCESSED, "1820000")],
            errors: &[],
            warnings: &[],
        },
        Case {
            name: "rsync-3.2.7-progress2",
            argv: &["rsync", "-a", "--info=progress2", "--stats", "src/", "dst7/"],
            code: 0,
            outcome: Outcome::Success,
            files: Some(5),
            bytes: Some(1_821_021),
            values: &[],
            errors: &[],
            warnings: &[],
        },
        Case {
            name: "rsync-3.2.7-verbose",
            argv: &["rsync", "-av", "--delete", "src/", "dst8/"],
            code: 0,
            outcome: Outcome::Success,
            files: None,
            bytes: None,
            values: &[(keys::DATA_PROCESSED, "1821021"), (keys::FILES_DELETED, "0")],
            errors: &[],
            warnings: &[],
        },
        Case {
            name: "rsync-3.2.7-unreadable",
            argv: &[
                "setpriv",
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "--inh-caps=-all",
                "rsync",
                "-a",
                "--stats",
                "src/",
                "dst2/",
            ],
            code: 23,
            outcome: Outcome::Warning,
            files: Some(6),
            bytes: Some(1_821_023),
            values: &[],
            errors: &[
                "rsync: [sender] send_files failed to open \"/tmp/fx/src/secret\": Permission denied (13)",
                "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1347) [sender=3.2.7]",
            ],
            warnings: &[],
        },
        Case {
            name: "rsync-3.2.7-vanished",
            argv: &["rsync", "-a", "--stats", "--bwlimit=2000", "big/", "dst4/"],
            code: 24,
            outcome: Outcome::Warning,
            files: Some(4),
            bytes: Some(16_000_000),
            values: &[],
            errors: &[],
            warnings: &[
                "file has vanished: \"/tmp/fx/big/f4\"",
                "rsync warning: some files vanished before they could be transferred (code 24) at main.c(1347) [sender=3.2.7]",
            ],
        },
        Case {
            name: "rsync-3.2.7-sigint",
            argv: &["rsync", "-a", "--stats", "--bwlimit=1000", "big/", "dst3/"],
            code: 20,
            outcome: Outcome::Cancelled,
            files: None,
            bytes: None,
            values: &[],
            errors: &[
                "rsync error: received SIGUSR1 (code 19) at main.c(1622) [generator=3.2.7]",
                "rsync error: received SIGINT, SIGTERM, or SIGHUP (code 20) at rsync.c(716) [sender=3.2.7]",
            ],
            warnings: &[],
        },
    ];
    for case in cases {
        let run = recorded(case.name, case.code);
        let (r, log) = read(case.argv, &[], &run);
        let name = case.name;
        assert_eq!(r.outcome, case.outcome, "{name}");
        assert_eq!(
            (r.files_copied, r.bytes_copied),
            (case.files, case.bytes),
            "{name}"
        );
        for (key, value) in case.values {
            assert_eq!(extra(&r, key), Some(*value), "{name}: {key}");
        }
        assert_eq!(r.errors, case.errors, "{name}");
        assert_eq!(r.warnings, case.warnings, "{name}");
        assert_eq!(
            (r.error_count, r.warning_count),
            (case.errors.len() as u64, case.warnings.len() as u64),
            "{name}"
        );
        for line in log.lines() {
            assert!(line.len() <= 200, "{name}: {line:?}");
        }
    }
}
