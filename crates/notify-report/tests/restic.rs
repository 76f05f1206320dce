//! The restic reader against real restic runs (ignored by a plain `cargo
//! test`: they need restic, which `cargo xtask ci` installs) and against
//! the output of other restic versions in `tests/fixtures/restic/` (see its
//! README).
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{fixture, is_root, read, read_ended, require, run, Run};
use notify_core::{Outcome, TaskResult};

const PASSWORD: &str = "correct horse battery staple";

/// A temporary directory with a source tree, a repository and a cache.
struct Sandbox {
    dir: tempfile::TempDir,
    data: PathBuf,
    repo: PathBuf,
    cache: PathBuf,
}

impl Sandbox {
    /// A sandbox with `files` (path below `data`, size) of pseudo-random
    /// (incompressible) content, and an initialised repository.
    fn new(files: &[(&str, usize)]) -> Sandbox {
        Sandbox::new_in(&std::env::temp_dir(), files)
    }

    /// The same below `base`.
    fn new_in(base: &Path, files: &[(&str, usize)]) -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("notify-restic-")
            .tempdir_in(base)
            .unwrap();
        let data = dir.path().join("data");
        let sandbox = Sandbox {
            data: data.clone(),
            repo: dir.path().join("repo"),
            cache: dir.path().join("cache"),
            dir,
        };
        for (i, (name, size)) in files.iter().enumerate() {
            sandbox.write(name, *size, i as u64 + 1);
        }
        let out = run(
            &["restic", "init", "-r", sandbox.repo_str()],
            &sandbox.env(),
            sandbox.dir.path(),
        );
        assert_eq!(out.code, Some(0), "restic init: {}", text(&out.stderr));
        sandbox
    }

    /// Writes `size` pseudo-random bytes to `data/name`.
    fn write(&self, name: &str, size: usize, seed: u64) {
        let path = self.data.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut bytes = Vec::with_capacity(size + 8);
        while bytes.len() < size {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.extend_from_slice(&state.to_le_bytes());
        }
        bytes.truncate(size);
        fs::write(path, bytes).unwrap();
    }

    fn env(&self) -> [(&'static str, &str); 2] {
        [
            ("RESTIC_PASSWORD", PASSWORD),
            ("RESTIC_CACHE_DIR", self.cache.to_str().unwrap()),
        ]
    }

    fn data_str(&self) -> &str {
        self.data.to_str().unwrap()
    }

    fn repo_str(&self) -> &str {
        self.repo.to_str().unwrap()
    }

    /// The short ID of the newest snapshot, as `restic snapshots --json`
    /// gives it.
    fn latest_short_id(&self) -> String {
        let out = run(
            &["restic", "-r", self.repo_str(), "snapshots", "--json"],
            &self.env(),
            self.dir.path(),
        );
        assert_eq!(out.code, Some(0), "{}", text(&out.stderr));
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let newest = list
            .as_array()
            .unwrap()
            .iter()
            .max_by_key(|s| s["time"].as_str().unwrap().to_owned())
            .unwrap();
        newest["short_id"].as_str().unwrap().to_owned()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// restic's size format (`ui.FormatBytes`): three decimals of a binary
/// unit.
fn restic_size(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        b2 if b2 >= 1 << 30 => format!("{:.3} GiB", b / (1u64 << 30) as f64),
        b2 if b2 >= 1 << 20 => format!("{:.3} MiB", b / (1u64 << 20) as f64),
        b2 if b2 >= 1 << 10 => format!("{:.3} KiB", b / (1u64 << 10) as f64),
        _ => format!("{bytes} B"),
    }
}

fn id(args: &[&str]) -> Option<String> {
    let out = Command::new("id").args(args).output().ok()?;
    out.status
        .success()
        .then(|| text(&out.stdout).trim().to_owned())
}

/// Changes the owner of `path` and everything below it.
fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for entry in fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid, gid);
        }
    }
}

/// The summary line of a `--json` run's stdout.
fn json_summary(out: &Run) -> serde_json::Value {
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|m| m["message_type"] == "summary")
        .unwrap_or_else(|| panic!("no summary in {}", text(&out.stdout)))
}

const FILES: &[(&str, usize)] = &[
    ("notes.txt", 1_000),
    ("docs/photo.jpg", 300_000),
    ("docs/archive.bin", 2_500_000),
];

fn total(files: &[(&str, usize)]) -> u64 {
    files.iter().map(|(_, size)| *size as u64).sum()
}

#[test]
#[ignore = "needs restic; `cargo xtask ci` runs it"]
fn good_backup_text() {
    require("restic");
    let sb = Sandbox::new(FILES);
    let argv = ["restic", "-r", sb.repo_str(), "backup", sb.data_str()];
    let out = run(&argv, &sb.env(), sb.dir.path());
    let printed = text(&out.stdout);
    assert_eq!(out.code, Some(0), "{printed}{}", text(&out.stderr));
    let (r, _log) = read(&argv, &sb.env(), &out);

    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!(r.source.as_deref(), Some(sb.data_str()));
    assert_eq!(r.destination.as_deref(), Some(sb.repo_str()));
    // What restic printed, and the bytes that figure stands for.
    let size = restic_size(total(FILES));
    assert!(
        printed.contains(&format!("processed 3 files, {size} in ")),
        "{size} in {printed}"
    );
    assert_eq!(r.files_copied, Some(3));
    let bytes = r.bytes_copied.unwrap();
    assert_eq!(restic_size(bytes), size);
    assert!(
        bytes.abs_diff(total(FILES)) <= (1 << 20) / 2000 + 1,
        "{bytes}"
    );
    assert_eq!(r.extra["data_processed"], bytes.to_string());
    assert_eq!(r.extra["files_processed"], "3");
    assert_eq!(r.extra["files_new"], "3");
    assert_eq!(r.extra["files_changed"], "0");
    assert_eq!(r.extra["files_unmodified"], "0");
    assert!(r.extra["data_added"].parse::<u64>().unwrap() > 0);
    assert_eq!(r.extra["snapshot_id"], sb.latest_short_id());
    assert_eq!((r.error_count, r.warning_count), (0, 0), "{r:?}");
}

#[test]
#[ignore = "needs restic; `cargo xtask ci` runs it"]
fn good_backup_json() {
    require("restic");
    let sb = Sandbox::new(FILES);
    let first = run(
        &["restic", "-r", sb.repo_str(), "backup", sb.data_str()],
        &sb.env(),
        sb.dir.path(),
    );
    assert_eq!(first.code, Some(0), "{}", text(&first.stderr));
    // One file changed, one new.
    sb.write("notes.txt", 1_500, 99);
    sb.write("docs/new.txt", 42, 100);

    // The repository from the environment, as a job sets it.
    let env = [
        sb.env()[0],
        sb.env()[1],
        ("RESTIC_REPOSITORY", sb.repo_str()),
    ];
    let argv = ["restic", "backup", "--json", sb.data_str()];
    let out = run(&argv, &env, sb.dir.path());
    assert_eq!(out.code, Some(0), "{}", text(&out.stderr));
    let (r, _log) = read(&argv, &env, &out);
    let summary = json_summary(&out);

    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!(r.source.as_deref(), Some(sb.data_str()));
    assert_eq!(r.destination.as_deref(), Some(sb.repo_str()));
    assert_eq!(r.files_copied, summary["total_files_processed"].as_u64());
    assert_eq!(r.bytes_copied, summary["total_bytes_processed"].as_u64());
    assert_eq!(r.files_copied, Some(4));
    assert_eq!(r.bytes_copied, Some(total(FILES) - 1_000 + 1_500 + 42));
    assert_eq!(r.extra["files_new"], "1");
    assert_eq!(r.extra["files_changed"], "1");
    assert_eq!(r.extra["files_unmodified"], "2");
    assert_eq!(
        r.extra["data_added"],
        summary["data_added"].as_u64().unwrap().to_string()
    );
    assert_eq!(r.extra["snapshot_id"], sb.latest_short_id());
    assert_eq!((r.error_count, r.warning_count), (0, 0), "{r:?}");
}

/// A source file the job may not read: as root, restic runs as `nobody`
/// and one file stays root's, mode 0600; otherwise the file is mode 0000.
#[test]
#[ignore = "needs restic and setpriv; `cargo xtask ci` runs it"]
fn unreadable_file_is_a_warning() {
    require("restic");
    let root = is_root();
    if root {
        require("setpriv");
    }
    // As root, below /tmp, which `nobody` may enter.
    let sb = if root {
        Sandbox::new_in(Path::new("/tmp"), FILES)
    } else {
        Sandbox::new(FILES)
    };
    let private = sb.data.join("private.key");
    fs::write(&private, "secret\n").unwrap();
    let mut wrapper: Vec<String> = Vec::new();
    if root {
        let uid = id(&["-u", "nobody"]).expect("a user nobody");
        let gid = id(&["-g", "nobody"]).expect("a group for nobody");
        chown_tree(sb.dir.path(), uid.parse().unwrap(), gid.parse().unwrap());
        std::os::unix::fs::lchown(&private, Some(0), Some(0)).unwrap();
        fs::set_permissions(&private, fs::Permissions::from_mode(0o600)).unwrap();
        wrapper = [
            "setpriv".to_owned(),
            format!("--reuid={uid}"),
            format!("--regid={gid}"),
            "--clear-groups".to_owned(),
            "--inh-caps=-all".to_owned(),
        ]
        .into();
    } else {
        fs::set_permissions(&private, fs::Permissions::from_mode(0o000)).unwrap();
    }

    for json in [false, true] {
        let mut argv: Vec<&str> = wrapper.iter().map(String::as_str).collect();
        argv.extend(["restic", "-r", sb.repo_str(), "backup", sb.data_str()]);
        if json {
            argv.push("--json");
        }
        let out = run(&argv, &sb.env(), sb.dir.path());
        eprintln!(
            "{argv:?}: exit {:?}\nstdout:\n{}stderr:\n{}",
            out.code,
            text(&out.stdout),
            text(&out.stderr)
        );
        assert_eq!(out.code, Some(3), "json: {json}");
        let (r, _log) = read(&argv, &sb.env(), &out);

        assert_eq!(r.outcome, Outcome::Warning);
        assert_eq!(r.source.as_deref(), Some(sb.data_str()));
        assert_eq!(r.destination.as_deref(), Some(sb.repo_str()));
        assert!(r.error_count >= 1, "{r:?}");
        let line = r
            .errors
            .iter()
            .find(|l| l.contains("private.key"))
            .unwrap_or_else(|| panic!("no private.key error in {:?}", r.errors));
        assert!(line.starts_with("error: "), "{line}");
        if !json {
            // restic's own text; JSON before 0.17.1 may carry no message.
            assert!(line.contains("permission denied"), "{line}");
        }
        // The readable files were backed up.
        assert_eq!(r.files_copied, Some(3), "{r:?}");
    }
}

#[test]
#[ignore = "needs restic; `cargo xtask ci` runs it"]
fn missing_repository_is_a_failure() {
    require("restic");
    let sb = Sandbox::new(FILES);
    let missing = sb.dir.path().join("nonexistent");
    let missing = missing.to_str().unwrap();
    for json in [false, true] {
        let mut argv = vec!["restic", "-r", missing, "backup", sb.data_str()];
        if json {
            argv.push("--json");
        }
        let out = run(&argv, &sb.env(), sb.dir.path());
        eprintln!(
            "{argv:?}: exit {:?}\nstderr:\n{}",
            out.code,
            text(&out.stderr)
        );
        let (r, _log) = read(&argv, &sb.env(), &out);
        assert_eq!(r.outcome, Outcome::Failure, "exit {:?}", out.code);
        assert_eq!(r.destination.as_deref(), Some(missing));
        assert!(r.error_count >= 1);
        let fatal = &r.errors[0];
        assert!(fatal.starts_with("Fatal:"), "{:?}", r.errors);
        assert!(fatal.contains("nonexistent"), "{fatal}");
        assert_eq!(r.files_copied, None);
    }
}

/// Reads all of a child's stream on a thread; `ready` is sent once the
/// output holds `marker`.
fn collect(
    mut stream: impl Read + Send + 'static,
    marker: &'static str,
    ready: mpsc::Sender<()>,
) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0; 8192];
        let mut sent = false;
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            if !sent && text(&all).contains(marker) {
                sent = ready.send(()).is_ok();
            }
        }
        all
    })
}

fn wait_for(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("restic did not stop within {limit:?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// A backup stopped midway by SIGINT (text output) or SIGTERM (`--json`).
/// The upload is throttled so that the backup is still running when the
/// signal comes: uninterrupted it would take about a minute.
#[test]
#[ignore = "needs restic; `cargo xtask ci` runs it"]
fn interrupted_backup_is_cancelled() {
    require("restic");
    let sb = Sandbox::new(&[("big/one.bin", 8 << 20), ("big/two.bin", 8 << 20)]);
    for (signal, name, json) in [(2, "INT", false), (15, "TERM", true)] {
        let mut argv = vec![
            "restic",
            "-r",
            sb.repo_str(),
            "--limit-upload",
            "256",
            "backup",
            sb.data_str(),
        ];
        // Text output prints the parent line before it reads the files;
        // `--json` prints status messages while it does.
        let marker = if json {
            argv.push("--json");
            "\"message_type\":\"status\""
        } else {
            "parent snapshot"
        };
        let mut child = Command::new(argv[0])
            .args(&argv[1..])
            .envs(sb.env())
            .current_dir(sb.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stdout = collect(child.stdout.take().unwrap(), marker, tx.clone());
        let stderr = collect(child.stderr.take().unwrap(), "\u{0}never", tx);
        if rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = child.kill();
            panic!("restic did not start the backup");
        }
        thread::sleep(Duration::from_millis(500));
        let pid = child.id().to_string();
        let killed = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = wait_for(&mut child, Duration::from_secs(60));
        let out = Run {
            code: status.code(),
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        };
        eprintln!(
            "SIG{name}: exit code {:?}, signal {:?}\nstdout:\n{}stderr:\n{:?}",
            out.code,
            status.signal(),
            text(&out.stdout),
            text(&out.stderr)
        );
        let r = read_ended(&argv, &[], &out, status.signal()).0;
        assert_eq!(r.outcome, Outcome::Cancelled, "{status:?}");
        assert_eq!(r.source.as_deref(), Some(sb.data_str()));
        assert_eq!(r.error_count, 0, "{:?}", r.errors);
        if signal == 2 {
            // restic 0.14 and later exit with 130 on SIGINT and say so.
            assert_eq!(out.code, Some(130));
            assert!(
                r.warnings
                    .iter()
                    .any(|w| w == "signal interrupt received, cleaning up"),
                "{:?}",
                r.warnings
            );
        } else {
            // restic 0.14 leaves SIGTERM to Go's default (killed by the
            // signal); later versions catch it and exit with 130.
            assert!(
                out.code == Some(130) || status.signal() == Some(15),
                "{status:?}"
            );
        }
    }
}

/// One fixture: its files, command line, exit code, and what the reader
/// must find.
struct Case {
    name: &'static str,
    argv: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    code: i32,
    check: fn(&TaskResult),
}

fn fixture_run(name: &str, code: i32) -> Run {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/restic");
    let stream = |ext: &str| {
        let file = format!("{name}.{ext}");
        if dir.join(&file).exists() {
            fixture(&format!("restic/{file}"))
        } else {
            Vec::new()
        }
    };
    let out = Run {
        code: Some(code),
        stdout: stream("out"),
        stderr: stream("err"),
    };
    assert!(
        !out.stdout.is_empty() || !out.stderr.is_empty(),
        "no fixture {name}"
    );
    out
}

#[test]
fn fixtures_of_other_versions() {
    const FIX_DATA: &str = "/tmp/restic-fixture/data";
    const FIX_REPO: &str = "/tmp/restic-fixture/repo";
    let cases = [
        Case {
            name: "0.14.0-backup-unreadable",
            argv: &[
                "setpriv",
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "--inh-caps=-all",
                "restic",
                "-r",
                FIX_REPO,
                "backup",
                FIX_DATA,
            ],
            env: &[],
            code: 3,
            check: |r| {
                assert_eq!(r.outcome, Outcome::Warning);
                assert_eq!(r.source.as_deref(), Some(FIX_DATA));
                assert_eq!(r.destination.as_deref(), Some(FIX_REPO));
                assert_eq!(r.files_copied, Some(2));
                // 146.490 KiB
                assert_eq!(r.bytes_copied, Some(150_006));
                assert_eq!(r.extra["snapshot_id"], "8c105e08");
                assert_eq!(r.extra["files_new"], "2");
                assert_eq!(r.extra["data_added"], "152206");
                assert_eq!(
                    r.errors,
                    [
                        "error: Open: open /tmp/restic-fixture/data/closed: permission denied",
                        "error: open /tmp/restic-fixture/data/private.key: permission denied",
                    ]
                );
                assert_eq!(
                    r.warnings,
                    ["Warning: at least one source file could not be read"]
                );
            },
        },
        Case {
            name: "0.14.0-backup-json-unreadable",
            argv: &[
                "setpriv",
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "--inh-caps=-all",
                "restic",
                "-r",
                FIX_REPO,
                "backup",
                "--json",
                FIX_DATA,
            ],
            env: &[],
            code: 3,
            check: |r| {
                assert_eq!(r.outcome, Outcome::Warning);
                assert_eq!(r.source.as_deref(), Some(FIX_DATA));
                assert_eq!(r.files_copied, Some(3));
                assert_eq!(r.bytes_copied, Some(150_015));
                assert_eq!(r.extra["snapshot_id"], "e4a1e861");
                assert_eq!(r.extra["files_new"], "1");
                assert_eq!(r.extra["files_changed"], "1");
                assert_eq!(r.extra["files_unmodified"], "1");
                assert_eq!(r.extra["data_added"], "2574");
                // The scan error is not counted twice.
                assert_eq!(
                    r.errors,
                    [
                        "error: /tmp/restic-fixture/data/closed: failed during archival (restic printed no details)",
                        "error: open /tmp/restic-fixture/data/private.key: permission denied",
                    ]
                );
                assert_eq!(r.warning_count, 1);
            },
        },
        Case {
            name: "0.14.0-backup-missing-repo",
            argv: &[
                "restic",
                "-r",
                "/tmp/restic-fixture/nonexistent",
                "backup",
                FIX_DATA,
            ],
            env: &[],
            code: 1,
            check: |r| {
                assert_eq!(r.outcome, Outcome::Failure);
                assert_eq!(
                    r.destination.as_deref(),
                    Some("/tmp/restic-fixture/nonexistent")
                );
                assert_eq!(
                    r.errors,
                    ["Fatal: unable to open config file: stat /tmp/restic-fixture/nonexistent/config: no such file or directory; Is there a repository at the following location? /tmp/restic-fixture/nonexistent"]
                );
                assert_eq!(r.error_count, 1);
                assert_eq!(r.files_copied, None);
            },
        },
        Case {
            name: "0.14.0-backup-interrupted",
            argv: &[
                "restic",
                "-r",
                FIX_REPO,
                "--limit-upload",
                "256",
                "backup",
                "/tmp/restic-fixture/big",
            ],
            env: &[],
            code: 130,
            check: |r| {
                assert_eq!(r.outcome, Outcome::Cancelled);
                assert_eq!(r.source.as_deref(), Some("/tmp/restic-fixture/big"));
                assert_eq!(r.warnings, ["signal interrupt received, cleaning up"]);
                assert_eq!(r.error_count, 0);
                assert_eq!(r.files_copied, None);
            },
        },
        Case {
            name: "0.16.5-backup-json-unreadable",
            argv: &["restic", "-r", "/srv/repo", "backup", "--json", "/srv/data"],
            env: &[],
            code: 3,
            check: |r| {
                assert_eq!(r.outcome, Outcome::Warning);
                assert_eq!(r.files_copied, Some(2));
                assert_eq!(r.bytes_copied, Some(150_007));
                // The full ID, shortened as restic shows it.
                assert_eq!(r.extra["snapshot_id"], "3f1c9a7b");
                assert_eq!(r.extra["data_added"], "152206");
                assert_eq!(
                    r.errors,
                    [
                        "error: /srv/data/closed: failed during archival (restic printed no details)",
                        "error: open /srv/data/private.key: permission denied",
                    ]
                );
                assert_eq!(r.warning_count, 1);
            },
        },
        Case {
            name: "0.17.3-backup-json-unreadable",
            argv: &["restic", "-r", "/srv/repo", "backup", "--json", "/srv/data"],
            env: &[],
            code: 3,
            check: |r| {
                assert_eq!(r.outcome, Outcome::Warning);
                assert_eq!(r.files_copied, Some(3));
                assert_eq!(r.bytes_copied, Some(150_015));
                assert_eq!(r.extra["snapshot_id"], "9b2e4d61");
                assert_eq!(r.extra["files_changed"], "1");
                assert_eq!(
                    r.errors,
                    [
                        "error: open /srv/data/closed: permission denied",
                        "error: open /srv/data/private.key: permission denied",
                    ]
                );
                assert_eq!(r.error_count, 2);
            },
        },
        Case {
            name: "0.17.3-backup-unreadable",
            argv: &["restic", "-r", "/srv/repo", "backup", "/srv/data"],
            env: &[],
            code: 3,
            check: |r| {
                assert_eq!(r.outcome, Outcome::Warning);
                assert_eq!(r.files_copied, Some(3));
                // 146.499 KiB
                assert_eq!(r.bytes_copied, Some(150_015));
                assert_eq!(r.extra["snapshot_id"], "9b2e4d61");
                assert_eq!(r.extra["files_new"], "1");
                assert_eq!(r.extra["files_changed"], "1");
                assert_eq!(r.extra["files_unmodified"], "1");
                // 2.514 KiB
                assert_eq!(r.extra["data_added"], "2574");
                assert_eq!(r.error_count, 2);
                assert_eq!(r.warning_count, 1);
            },
        },
        Case {
            name: "0.18.1-backup-json",
            argv: &["restic", "backup", "--json", "/srv/data"],
            env: &[("RESTIC_REPOSITORY", "/srv/repo")],
            code: 0,
            check: |r| {
                assert_eq!(r.outcome, Outcome::Success);
                assert_eq!(r.source.as_deref(), Some("/srv/data"));
                assert_eq!(r.destination.as_deref(), Some("/srv/repo"));
                assert_eq!(r.files_copied, Some(22));
                assert_eq!(r.bytes_copied, Some(3_248_488));
                assert_eq!(r.extra["snapshot_id"], "5d2a4f3c");
                assert_eq!(r.extra["files_new"], "22");
                assert_eq!(r.extra["files_processed"], "22");
                assert_eq!(r.extra["data_processed"], "3248488");
                assert_eq!(r.extra["data_added"], "3257926");
                assert_eq!((r.error_count, r.warning_count), (0, 0));
            },
        },
        Case {
            name: "0.18.1-backup-json-missing-repo",
            argv: &[
                "restic",
                "-r",
                "/srv/missing",
                "backup",
                "--json",
                "/srv/data",
            ],
            env: &[],
            code: 10,
            check: |r| {
                assert_eq!(r.outcome, Outcome::Failure);
                assert_eq!(
                    r.errors,
                    ["Fatal: repository does not exist: unable to open config file: stat /srv/missing/config: no such file or directory; Is there a repository at the following location? /srv/missing"]
                );
                assert_eq!(r.error_count, 1);
            },
        },
        Case {
            name: "0.18.1-backup-json-interrupted",
            argv: &["restic", "-r", "/srv/repo", "backup", "--json", "/srv/big"],
            env: &[],
            code: 130,
            check: |r| {
                assert_eq!(r.outcome, Outcome::Cancelled);
                assert_eq!(r.warnings, ["signal interrupt received, cleaning up"]);
                assert_eq!(r.error_count, 0);
                assert_eq!(r.files_copied, None);
            },
        },
    ];
    for case in &cases {
        let out = fixture_run(case.name, case.code);
        let (r, _log) = read(case.argv, case.env, &out);
        eprintln!("{}: {r:?}", case.name);
        (case.check)(&r);
    }
    // Every fixture file is tested.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/restic");
    for entry in fs::read_dir(dir).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = file.strip_suffix(".out").or(file.strip_suffix(".err")) {
            assert!(
                cases.iter().any(|c| c.name == stem),
                "fixture {file} is not tested"
            );
        }
    }
}
