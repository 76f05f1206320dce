//! The rclone reader against real rclone runs between local directories:
//! the stats block (`-v`, `-P`, `--stats-one-line`, `--use-json-log`), an
//! unreadable file, a missing source, an unwritable destination, and an
//! interrupted run. The tests that run rclone are ignored by a plain
//! `cargo test`; `cargo xtask ci` installs rclone and runs them. Those that
//! run rclone as another user need root: elsewhere they print `skipped:`
//! (and fail under `CI=true`).
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    as_nobody, read, read_ended, require, run, sh, show, total_size, write_file, Run, Tree, FILES,
};
use notify_core::{Outcome, TaskResult};
use notify_report::keys;

/// A sandbox with `src/` holding [`FILES`] and an empty rclone config.
struct Sandbox {
    tree: Tree,
}

impl std::ops::Deref for Sandbox {
    type Target = Tree;

    fn deref(&self) -> &Tree {
        &self.tree
    }
}

impl Sandbox {
    fn new() -> Sandbox {
        let tree = Tree::new("notify-rclone-");
        std::fs::write(tree.dir.path().join("rclone.conf"), "").expect("a config");
        Sandbox { tree }
    }

    /// `rclone --config CONF` followed by `args`.
    fn argv<'a>(&self, conf: &'a str, args: &[&'a str]) -> Vec<&'a str> {
        let mut argv = vec!["rclone", "--config", conf];
        argv.extend(args);
        argv
    }
}

fn deleted(r: &TaskResult) -> Option<&str> {
    r.extra.get(keys::FILES_DELETED).map(String::as_str)
}

/// The file count of the last `Transferred:   N / M, P%` line printed.
fn printed_files(run: &Run) -> Option<u64> {
    let text =
        String::from_utf8_lossy(&run.stderr).into_owned() + &String::from_utf8_lossy(&run.stdout);
    text.lines()
        .filter_map(|l| l.strip_prefix("Transferred:"))
        .filter(|rest| !rest.contains("ETA"))
        .filter_map(|rest| rest.split('/').next()?.trim().parse().ok())
        .next_back()
}

/// Bytes printed as `354.346 KiB` are exact to half a unit of the last
/// digit.
#[track_caller]
fn assert_about(bytes: Option<u64>, exact: u64, context: &str) {
    let bytes = bytes.unwrap_or_else(|| panic!("no bytes copied\n{context}"));
    let unit = if exact >= 1 << 20 { 1 << 20 } else { 1 << 10 };
    assert!(
        (bytes as f64 - exact as f64).abs() <= 0.0005 * unit as f64 + 1.0,
        "{bytes} for {exact}\n{context}"
    );
}

#[test]
#[ignore = "needs rclone; `cargo xtask ci` runs it"]
fn a_good_run_with_verbose_stats() {
    require("rclone");
    let sb = Sandbox::new();
    let (conf, src, dst) = (sb.path("rclone.conf"), sb.path("src"), sb.path("dst"));
    let argv = sb.argv(&conf, &["sync", &src, &dst, "-v"]);
    let out = run(&argv, &[], sb.dir.path());
    let (r, _) = read(&argv, &[], &out);
    let context = show(&out);
    assert_eq!(out.code, Some(0), "{context}");
    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!(r.source.as_deref(), Some(src.as_str()));
    assert_eq!(r.destination.as_deref(), Some(dst.as_str()));
    assert_eq!(r.files_copied, printed_files(&out), "{context}");
    assert_eq!(r.files_copied, Some(FILES.len() as u64), "{context}");
    assert_about(r.bytes_copied, total_size(), &context);
    assert_eq!(deleted(&r), Some("0"), "{context}");
    assert_eq!((r.error_count, r.warning_count), (0, 0), "{context}");

    // Again, with one file changed and one extra at the destination.
    write_file(&sb.dir.path().join("src/a.txt"), 2_000);
    write_file(&sb.dir.path().join("dst/extra"), 5);
    let out = run(&argv, &[], sb.dir.path());
    let (r, _) = read(&argv, &[], &out);
    let context = show(&out);
    assert_eq!(r.files_copied, Some(1), "{context}");
    assert_about(r.bytes_copied, 2_000, &context);
    assert_eq!(deleted(&r), Some("1"), "{context}");
}

#[test]
#[ignore = "needs rclone; `cargo xtask ci` runs it"]
fn a_good_run_with_the_json_log() {
    require("rclone");
    let sb = Sandbox::new();
    let (conf, src, dst) = (sb.path("rclone.conf"), sb.path("src"), sb.path("dst"));
    write_file(&sb.dir.path().join("dst/extra"), 5);
    let argv = sb.argv(&conf, &["sync", "--use-json-log", "-v", &src, &dst]);
    let out = run(&argv, &[], sb.dir.path());
    let (r, _) = read(&argv, &[], &out);
    let context = show(&out);
    assert_eq!(r.outcome, Outcome::Success, "{context}");
    assert_eq!(r.source.as_deref(), Some(src.as_str()));
    assert_eq!(r.destination.as_deref(), Some(dst.as_str()));
    // Exact, from the `stats` object.
    assert_eq!(r.bytes_copied, Some(total_size()), "{context}");
    assert_eq!(r.files_copied, Some(FILES.len() as u64), "{context}");
    assert_eq!(deleted(&r), Some("1"), "{context}");
    assert_eq!((r.error_count, r.warning_count), (0, 0), "{context}");
}

#[test]
#[ignore = "needs rclone; `cargo xtask ci` runs it"]
fn a_good_run_with_one_line_stats_and_progress() {
    require("rclone");
    // --stats-one-line: bytes only.
    let sb = Sandbox::new();
    let (conf, src, dst) = (sb.path("rclone.conf"), sb.path("src"), sb.path("dst"));
    let argv = sb.argv(&conf, &["copy", "-v", "--stats-one-line", &src, &dst]);
    let out = run(&argv, &[], sb.dir.path());
    let (r, _) = read(&argv, &[], &out);
    let context = show(&out);
    assert_eq!(r.outcome, Outcome::Success, "{context}");
    assert_about(r.bytes_copied, total_size(), &context);
    assert_eq!(r.files_copied, None, "{context}");
    assert_eq!((r.error_count, r.warning_count), (0, 0), "{context}");

    // -P: the block on stdout.
    let sb = Sandbox::new();
    let (conf, src, dst) = (sb.path("rclone.conf"), sb.path("src"), sb.path("dst"));
    let argv = sb.argv(&conf, &["copy", "-P", &src, &dst]);
    let out = run(&argv, &[], sb.dir.path());
    let (r, log) = read(&argv, &[], &out);
    let context = show(&out);
    assert_eq!(r.outcome, Outcome::Success, "{context}");
    assert_eq!(r.files_copied, Some(FILES.len() as u64), "{context}");
    assert_about(r.bytes_copied, total_size(), &context);
    assert_eq!((r.error_count, r.warning_count), (0, 0), "{context}");
    for line in log.lines() {
        assert!(line.len() <= 200, "{line:?}");
    }
}

#[test]
#[ignore = "needs rclone and setpriv; `cargo xtask ci` runs it"]
fn an_unreadable_file() {
    require("rclone");
    let Some(nobody) = as_nobody() else {
        return;
    };
    for json in [false, true] {
        let sb = Sandbox::new();
        let secret = sb.path("src/secret");
        write_file(Path::new(&secret), 100);
        sh(&["chown", "-R", "nobody:nogroup", &sb.path("")]);
        sh(&["chown", "root:root", &secret]);
        sh(&["chmod", "600", &secret]);
        let (conf, src, dst) = (sb.path("rclone.conf"), sb.path("src"), sb.path("dst"));
        let mut argv = nobody.clone();
        argv.extend(sb.argv(&conf, &["sync", "-v", &src, &dst]));
        if json {
            argv.push("--use-json-log");
        }
        let out = run(&argv, &[], sb.dir.path());
        let (r, _) = read(&argv, &[], &out);
        let context = show(&out);
        // rclone exits 1; its preset makes any non-zero exit a failure.
        assert_eq!(out.code, Some(1), "{context}");
        assert_eq!(r.outcome, Outcome::Failure);
        assert_eq!(r.source.as_deref(), Some(src.as_str()));
        // The last attempt's errors, the closing line last.
        let denied: Vec<_> = r
            .errors
            .iter()
            .filter(|e| e.contains("secret: Failed to copy") && e.ends_with("permission denied"))
            .collect();
        assert_eq!(denied.len(), 1, "{:#?}\n{context}", r.errors);
        assert!(
            r.errors
                .last()
                .is_some_and(|e| e.contains("Failed to sync: ") && e.ends_with("permission denied")),
            "{:#?}",
            r.errors
        );
        assert_eq!(r.error_count, r.errors.len() as u64);
        // Each retried attempt: one warning.
        assert_eq!(r.warning_count, 2, "{:#?}\n{context}", r.warnings);
        assert!(r.warnings[0].contains("Attempt 1/3 failed with 1 errors"));
        // The files rclone copied in the first attempt.
        assert_eq!(r.files_copied, Some(FILES.len() as u64), "{context}");
        if json {
            assert_eq!(r.bytes_copied, Some(total_size()), "{context}");
        }
    }
}

#[test]
#[ignore = "needs rclone; `cargo xtask ci` runs it"]
fn a_missing_source_is_a_failure() {
    require("rclone");
    let sb = Sandbox::new();
    let (conf, src, dst) = (
        sb.path("rclone.conf"),
        sb.path("nonexistent"),
        sb.path("dst"),
    );
    let argv = sb.argv(&conf, &["sync", &src, &dst]);
    let out = run(&argv, &[], sb.dir.path());
    let (r, _) = read(&argv, &[], &out);
    let context = show(&out);
    assert_eq!(out.code, Some(3), "{context}");
    assert_eq!(r.outcome, Outcome::Failure);
    assert!(r.error_count >= 1);
    assert!(
        r.errors[0].contains("error reading source root directory: directory not found"),
        "{:#?}\n{context}",
        r.errors
    );
    assert!(
        r.errors
            .last()
            .is_some_and(|e| e.ends_with("Failed to sync: directory not found")),
        "{:#?}",
        r.errors
    );
}

#[test]
#[ignore = "needs rclone and setpriv; `cargo xtask ci` runs it"]
fn an_unwritable_destination_is_a_failure() {
    require("rclone");
    let Some(mut argv) = as_nobody() else {
        return;
    };
    let sb = Sandbox::new();
    // The sandbox stays root's: nobody may read it, not write to it.
    sh(&["chmod", "755", &sb.path("")]);
    let (conf, src, dst) = (sb.path("rclone.conf"), sb.path("src"), sb.path("dst"));
    argv.extend(sb.argv(&conf, &["copy", "--retries", "1", &src, &dst]));
    let out = run(&argv, &[], sb.dir.path());
    let (r, _) = read(&argv, &[], &out);
    let context = show(&out);
    assert_ne!(out.code, Some(0), "{context}");
    assert_eq!(r.outcome, Outcome::Failure);
    assert!(r.error_count >= 1);
    assert!(
        r.errors.iter().any(|e| e.ends_with("permission denied")),
        "{:#?}\n{context}",
        r.errors
    );
    assert!(
        r.errors
            .last()
            .is_some_and(|e| e.contains("Failed to copy")),
        "{:#?}",
        r.errors
    );
    assert_eq!(r.warning_count, 0, "{:#?}", r.warnings);
}

#[test]
#[ignore = "needs rclone; `cargo xtask ci` runs it"]
fn an_interrupted_run_is_cancelled() {
    require("rclone");
    for signal in ["-INT", "-TERM"] {
        let sb = Sandbox::new();
        for i in 0..4 {
            write_file(&sb.dir.path().join(format!("big/f{i}")), 4 << 20);
        }
        let (conf, src, dst) = (sb.path("rclone.conf"), sb.path("big"), sb.path("dst"));
        let argv = sb.argv(&conf, &["sync", "-v", "--bwlimit", "1M", &src, &dst]);
        let child = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rclone runs");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5)
            && std::fs::read_dir(&dst).map_or(true, |mut d| d.next().is_none())
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        sh(&["kill", signal, &child.id().to_string()]);
        let out = child.wait_with_output().expect("the run's end");
        let (code, sig) = (out.status.code(), out.status.signal());
        let run = Run {
            code,
            stdout: out.stdout,
            stderr: out.stderr,
        };
        let context = show(&run);
        eprintln!("rclone, kill {signal}: exit code {code:?}, signal {sig:?}");
        // rclone 1.60 dies of the signal; a shell reports 130 or 143.
        assert!(
            matches!((code, sig), (None, Some(2 | 15)) | (Some(130 | 143), None)),
            "{signal}: {code:?} {sig:?}\n{context}"
        );
        let r = read_ended(&argv, &[], &run, sig).0;
        assert_eq!(r.outcome, Outcome::Cancelled);
        assert_eq!(r.source.as_deref(), Some(src.as_str()));
        assert_eq!(r.error_count, 0, "{:#?}\n{context}", r.errors);
        assert_eq!(r.files_copied, None, "no statistics when interrupted");
    }
}

/// A recorded or constructed run: `tests/fixtures/rclone/NAME.stdout` and
/// `.stderr` (a stream that printed nothing has no file).
fn fixture_run(name: &str, code: i32) -> Run {
    let stream = |ext: &str| {
        let path = format!("rclone/{name}.{ext}");
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

/// Output forms rclone 1.60 does not print here (see
/// `tests/fixtures/rclone/README.md`).
#[test]
fn fixtures() {
    // -P at a terminal: the block redrawn with cursor movements.
    let argv = [
        "rclone",
        "--config",
        "/dev/null",
        "sync",
        "/tmp/rc/big",
        "/tmp/rc/ttydst",
        "-P",
        "--bwlimit",
        "8M",
    ];
    let run = fixture_run("rclone-1.60.1-progress-tty", 0);
    let (r, log) = read(&argv, &[], &run);
    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!(r.source.as_deref(), Some("/tmp/rc/big"));
    assert_eq!(r.destination.as_deref(), Some("/tmp/rc/ttydst"));
    // `7.629 MiB`, `4 / 4`.
    assert_eq!((r.bytes_copied, r.files_copied), (Some(7_999_586), Some(4)));
    assert_eq!(deleted(&r), Some("0"));
    assert_eq!((r.error_count, r.warning_count), (0, 0), "{:#?}", r.errors);
    assert!(!log.contains('\x1b'), "{log}");

    // rclone 1.70: slog JSON, the closing line a notice.
    let denied = "failed to open source object: open /srv/data/secret: permission denied";
    let argv = [
        "rclone",
        "sync",
        "--use-json-log",
        "-v",
        "--retries",
        "1",
        "/srv/data",
        "/backup/data",
    ];
    let run = fixture_run("rclone-1.70-constructed-unreadable-json", 1);
    let (r, _) = read(&argv, &[], &run);
    assert_eq!(r.outcome, Outcome::Failure);
    assert_eq!(
        r.errors,
        [
            format!("ERROR : secret: Failed to copy: {denied}"),
            "ERROR : Local file system at /backup/data: not deleting files as there were IO errors".to_owned(),
            "ERROR : Local file system at /backup/data: not deleting directories as there were IO errors".to_owned(),
            format!("NOTICE: Failed to sync: {denied}"),
        ]
    );
    assert_eq!((r.error_count, r.warning_count), (4, 0));
    assert_eq!((r.bytes_copied, r.files_copied), (Some(3_000), Some(3)));
    assert_eq!(deleted(&r), Some("0"));

    // rclone 1.70: text, the closing line a notice.
    let argv = [
        "rclone",
        "sync",
        "-v",
        "--retries",
        "1",
        "/srv/data",
        "/backup/data",
    ];
    let run = fixture_run("rclone-1.70-constructed-unreadable", 1);
    let (r, _) = read(&argv, &[], &run);
    assert_eq!(r.outcome, Outcome::Failure);
    assert_eq!(r.errors.len(), 4, "{:#?}", r.errors);
    assert!(r.errors[0].ends_with(&format!("ERROR : secret: Failed to copy: {denied}")));
    assert_eq!(
        r.errors[3],
        format!("2025/07/01 02:00:01 NOTICE: Failed to sync: {denied}")
    );
    assert_eq!((r.error_count, r.warning_count), (4, 0));
    // `2.930 KiB`, `3 / 3`.
    assert_eq!((r.bytes_copied, r.files_copied), (Some(3_000), Some(3)));

    // rclone 1.70: a good sync with the JSON log.
    let argv = [
        "rclone",
        "sync",
        "--use-json-log",
        "-v",
        "/srv/data",
        "/backup/data",
    ];
    let run = fixture_run("rclone-1.70-constructed-sync-json", 0);
    let (r, _) = read(&argv, &[], &run);
    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!((r.bytes_copied, r.files_copied), (Some(251_000), Some(2)));
    assert_eq!(deleted(&r), Some("1"));
    assert_eq!((r.error_count, r.warning_count), (0, 0));
}
