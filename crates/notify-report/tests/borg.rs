//! The borg reader on real runs of the borg installed here (Debian's 1.2.4
//! when these tests were written), each checked against what `borg info
//! --json` says of the archive it made, and on recorded borg 1.4.5 output
//! (`tests/fixtures/borg/`, see its README.md).
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{is_root, read, require, run, skip_unless_ci, Run};
use notify_core::{Outcome, TaskResult};
use serde_json::Value;

/// A temporary directory with files to back up (`src`), an unencrypted
/// repository (`repo`) and borg's own directory (`base`) inside it.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        for i in 1..=5u64 {
            write_random(&src.join(format!("file{i}")), i * 30_000, i);
        }
        std::fs::write(src.join("sub/note.txt"), "hello\n").unwrap();
        let sandbox = Sandbox { dir };
        let init = sandbox.borg(&["borg", "init", "-e", "none", &sandbox.repo()]);
        assert_eq!(init.code, Some(0), "borg init: {init:?}");
        sandbox
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn repo(&self) -> String {
        self.path("repo")
    }

    fn src(&self) -> String {
        self.path("src")
    }

    /// The environment of every borg run: borg's files inside the sandbox,
    /// and no question about the unencrypted repository.
    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("BORG_BASE_DIR".into(), self.path("base")),
            (
                "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK".into(),
                "yes".into(),
            ),
        ]
    }

    fn borg(&self, argv: &[&str]) -> Run {
        self.borg_with(argv, &[])
    }

    fn borg_with(&self, argv: &[&str], more: &[(&str, &str)]) -> Run {
        let env = self.env();
        let mut all: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.extend_from_slice(more);
        run(argv, &all, self.dir.path())
    }

    /// `borg ... --json` output.
    fn json(&self, argv: &[&str]) -> Value {
        let out = self.borg(argv);
        assert_eq!(out.code, Some(0), "{argv:?}: {out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The only archive's name and `borg info --json` statistics.
    fn archive(&self) -> (String, Value) {
        let list = self.json(&["borg", "list", "--json", &self.repo()]);
        let archives = list["archives"].as_array().unwrap();
        assert_eq!(archives.len(), 1, "{list}");
        let name = archives[0]["name"].as_str().unwrap().to_owned();
        let info = self.json(&[
            "borg",
            "info",
            "--json",
            &format!("{}::{name}", self.repo()),
        ]);
        (name, info["archives"][0]["stats"].clone())
    }
}

/// `len` bytes that do not compress, from a small generator seeded `seed`.
fn write_random(path: &Path, len: u64, seed: u64) {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut bytes = Vec::with_capacity(len as usize);
    while (bytes.len() as u64) < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len as usize);
    std::fs::write(path, bytes).unwrap();
}

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// A size the run reported against the one `borg info --json` gives: within
/// one percent. (`create` counts the archive's own metadata stream into its
/// sizes and `info` does not, and `--stats` prints three significant
/// digits.)
#[track_caller]
fn assert_close(reported: Option<u64>, info: &Value, what: &str) {
    let info = info.as_u64().unwrap();
    let reported = reported.unwrap_or_else(|| panic!("{what}: nothing read"));
    assert!(
        reported.abs_diff(info) * 100 <= info,
        "{what}: reported {reported}, borg info {info}"
    );
}

fn extra_number(r: &TaskResult, key: &str) -> Option<u64> {
    r.extra.get(key).map(|v| v.parse().unwrap())
}

/// What every good run reports: no error or warning line, and the archive
/// borg made as `borg info --json` describes it; with `printed`, the
/// `archive.stats` of `create --json`, the sizes are exactly those.
#[track_caller]
fn assert_good(sandbox: &Sandbox, r: &TaskResult, log: &str, printed: Option<&Value>) {
    assert_eq!(r.outcome, Outcome::Success, "{log}");
    assert_eq!(r.exit_code, Some(0));
    assert!(r.errors.is_empty() && r.warnings.is_empty(), "{r:?}");
    assert_eq!((r.error_count, r.warning_count), (0, 0));
    assert_eq!(r.source.as_deref(), Some(sandbox.src().as_str()));
    assert_eq!(r.destination.as_deref(), Some(sandbox.repo().as_str()));
    let (name, stats) = sandbox.archive();
    assert_eq!(r.extra.get("archive"), Some(&name), "{log}");
    let files = stats["nfiles"].as_u64();
    assert_eq!(r.files_copied, files);
    assert_eq!(extra_number(r, "files_processed"), files);
    let sizes = [
        ("bytes_copied", r.bytes_copied, "original_size"),
        (
            "data_processed",
            extra_number(r, "data_processed"),
            "original_size",
        ),
        (
            "data_compressed",
            extra_number(r, "data_compressed"),
            "compressed_size",
        ),
        (
            "data_added",
            extra_number(r, "data_added"),
            "deduplicated_size",
        ),
    ];
    for (what, value, key) in sizes {
        assert_close(value, &stats[key], what);
        if let Some(printed) = printed {
            assert_eq!(value, printed[key].as_u64(), "{what}");
        }
    }
}

#[test]
#[ignore = "needs borg; `cargo xtask ci` runs it"]
fn create_with_stats() {
    require("borg");
    let sandbox = Sandbox::new();
    let location = format!("{}::{{hostname}}-stats", sandbox.repo());
    let argv = ["borg", "create", "--stats", &location, &sandbox.src()];
    let out = sandbox.borg(&argv);
    let (r, log) = read(&argv, &[], &out);
    assert!(log.contains("This archive:"), "{log}");
    assert_good(&sandbox, &r, &log, None);
    assert!(!r.extra["archive"].contains('{'), "placeholders expanded");
}

#[test]
#[ignore = "needs borg; `cargo xtask ci` runs it"]
fn create_with_json() {
    require("borg");
    let sandbox = Sandbox::new();
    // `::ARCHIVE`: the repository is BORG_REPO.
    let argv = ["borg", "create", "--json", "::json-{now}", &sandbox.src()];
    let repo = sandbox.repo();
    let out = sandbox.borg_with(&argv, &[("BORG_REPO", &repo)]);
    let (r, log) = read(&argv, &[("BORG_REPO", &repo)], &out);
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_good(&sandbox, &r, &log, Some(&printed["archive"]["stats"]));
    assert!(r.extra["archive"].starts_with("json-2"), "{:?}", r.extra);
}

#[test]
#[ignore = "needs borg; `cargo xtask ci` runs it"]
fn create_with_log_json_and_stats() {
    require("borg");
    let sandbox = Sandbox::new();
    let location = format!("{}::lj", sandbox.repo());
    let argv = [
        "borg",
        "--log-json",
        "create",
        "--stats",
        "--list",
        "--progress",
        &location,
        &sandbox.src(),
    ];
    let out = sandbox.borg(&argv);
    let (r, log) = read(&argv, &[], &out);
    assert!(log.contains("\"type\": \"file_status\""), "{log}");
    assert_good(&sandbox, &r, &log, None);
}

#[test]
#[ignore = "needs borg and setpriv; `cargo xtask ci` runs it"]
fn unreadable_file_is_a_warning_with_an_error_line() {
    require("borg");
    require("setpriv");
    if !is_root() {
        return skip_unless_ci("running borg as nobody needs root");
    }
    let sandbox = Sandbox::new();
    let secret = sandbox.dir.path().join("src/secret.txt");
    std::fs::write(&secret, "secret\n").unwrap();
    let chown = |args: &[&str]| {
        let status = Command::new("chown").args(args).status().unwrap();
        assert!(status.success(), "chown {args:?}");
    };
    chown(&["-R", "nobody:nogroup", &sandbox.path("")]);
    chown(&["root:root", &secret.to_string_lossy()]);
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    for log_json in [false, true] {
        let location = format!("{}::unreadable-{log_json}", sandbox.repo());
        let mut argv = vec![
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--inh-caps=-all",
            "borg",
        ];
        if log_json {
            argv.push("--log-json");
        }
        let src = sandbox.src();
        argv.extend(["create", "--stats", &location, &src]);
        let out = sandbox.borg(&argv);
        let (r, log) = read(&argv, &[], &out);
        // borg 1.2.4: `SRC/secret.txt: open: [Errno 13] Permission denied:
        // 'secret.txt'`, exit code 1.
        assert_eq!(r.exit_code, Some(1), "{log}");
        assert_eq!(r.outcome, Outcome::Warning);
        let want = format!("{src}/secret.txt: open: [Errno 13] Permission denied: 'secret.txt'");
        // A file not in the archive is an error line (so the run mails at
        // `errors`), in a run that ended with a warning.
        assert_eq!(r.errors, [want], "{log}");
        assert_eq!(r.error_count, 1);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.source.as_deref(), Some(src.as_str()));
        assert_eq!(r.extra["archive"], format!("unreadable-{log_json}"));
        assert_eq!(r.files_copied, Some(6), "the five files and the note");
    }
}

#[test]
#[ignore = "needs borg; `cargo xtask ci` runs it"]
fn missing_repository_is_a_failure() {
    require("borg");
    let sandbox = Sandbox::new();
    let missing = sandbox.path("missing");
    let location = format!("{missing}::a");
    for log_json in [false, true] {
        let mut argv = vec!["borg"];
        if log_json {
            argv.push("--log-json");
        }
        let src = sandbox.src();
        argv.extend(["create", "--stats", &location, &src]);
        let out = sandbox.borg(&argv);
        let (r, log) = read(&argv, &[], &out);
        assert_eq!(r.exit_code, Some(2), "{log}");
        assert_eq!(r.outcome, Outcome::Failure);
        assert_eq!(
            r.errors,
            [format!("Repository {missing} does not exist.")],
            "{log}"
        );
        assert!(r.error_count >= 1);
        assert_eq!(r.destination.as_deref(), Some(missing.as_str()));
        assert_eq!(r.files_copied, None);
    }
}

/// Runs `argv` and sends it `signal` as soon as it lists its first file
/// of `slow/`.
fn run_interrupted(sandbox: &Sandbox, argv: &[&str], signal: &str) -> Run {
    let env = sandbox.env();
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .envs(env_refs(&env))
        .current_dir(sandbox.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut err = Vec::new();
    loop {
        let mut line = Vec::new();
        if stderr.read_until(b'\n', &mut line).unwrap() == 0 {
            break;
        }
        err.extend_from_slice(&line);
        if String::from_utf8_lossy(&line).contains("slow/f") {
            let kill = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(child.id().to_string())
                .status()
                .unwrap();
            assert!(kill.success());
            break;
        }
    }
    stderr.read_to_end(&mut err).unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: err,
    }
}

#[test]
#[ignore = "needs borg; `cargo xtask ci` runs it"]
fn interrupted_create() {
    require("borg");
    let sandbox = Sandbox::new();
    // Twenty files of random bytes under the slowest compression: seconds
    // of work after the first file is listed.
    let slow = sandbox.dir.path().join("slow");
    std::fs::create_dir(&slow).unwrap();
    for i in 1..=20 {
        write_random(&slow.join(format!("f{i:02}")), 2_000_000, 100 + i);
    }
    let slow = slow.to_string_lossy().into_owned();

    // SIGTERM: borg 1.2.4 logs `Received SIGTERM` and exits 143 (128 +
    // 15), which the borg preset calls cancelled.
    let location = format!("{}::term", sandbox.repo());
    let argv = [
        "borg", "create", "--list", "-C", "zstd,19", &location, &slow,
    ];
    let out = run_interrupted(&sandbox, &argv, "TERM");
    let (r, log) = read(&argv, &[], &out);
    assert_eq!(r.exit_code, Some(143), "{log}");
    assert_eq!(r.outcome, Outcome::Cancelled);
    assert_eq!(r.errors, ["Received SIGTERM"], "{log}");
    assert_eq!(r.files_copied, None, "no statistics");

    // SIGINT: borg 1.2.4 stops after the file it is on, saves a
    // checkpoint, logs `Got Ctrl-C / SIGINT.` and exits 2, an error
    // under the borg preset.
    let location = format!("{}::int", sandbox.repo());
    let argv = [
        "borg",
        "--log-json",
        "create",
        "--list",
        "-C",
        "zstd,19",
        &location,
        &slow,
    ];
    let out = run_interrupted(&sandbox, &argv, "INT");
    let (r, log) = read(&argv, &[], &out);
    assert_eq!(r.exit_code, Some(2), "{log}");
    assert_eq!(r.outcome, Outcome::Failure);
    assert_eq!(r.errors, ["Got Ctrl-C / SIGINT."], "{log}");
}

/// A recorded borg 1.4.5 run (`tests/fixtures/borg/borg-1.4.5-NAME.*`)
/// read as the command `argv` that printed it.
fn recorded(name: &str, argv: &str, code: i32) -> TaskResult {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/borg");
    let stream = |ext: &str| {
        let file = format!("borg-1.4.5-{name}.{ext}");
        if dir.join(&file).exists() {
            common::fixture(&format!("borg/{file}"))
        } else {
            Vec::new()
        }
    };
    let run = Run {
        code: Some(code),
        stdout: stream("stdout"),
        stderr: stream("stderr"),
    };
    let argv: Vec<&str> = argv.split_whitespace().collect();
    read(&argv, &[], &run).0
}

#[test]
fn borg_1_4_recorded_runs() {
    const W: &str = "/tmp/borg-fixture";
    struct Case {
        name: &'static str,
        argv: &'static str,
        code: i32,
        outcome: Outcome,
        archive: Option<&'static str>,
        files: Option<u64>,
        /// original, compressed, deduplicated
        sizes: Option<[u64; 3]>,
        errors: &'static [&'static str],
        warnings: &'static [&'static str],
    }
    let good = |name, argv, archive, sizes| Case {
        name,
        argv,
        code: 0,
        outcome: Outcome::Success,
        archive: Some(archive),
        files: Some(7),
        sizes: Some(sizes),
        errors: &[],
        warnings: &[],
    };
    const UNREADABLE: &str =
        "/tmp/borg-fixture/src/secret.txt: open: [Errno 13] Permission denied: 'secret.txt'";
    let cases = [
        good(
            "create-log-json-stats",
            "borg --log-json create --stats --list --progress \
             /tmp/borg-fixture/repo::{hostname}-{now:%Y-%m-%d} /tmp/borg-fixture/src",
            "vm-2026-12-04",
            [600_010, 600_030, 600_030],
        ),
        good(
            "create-json",
            "borg create --json /tmp/borg-fixture/repo::json-{now:%Y-%m-%d} /tmp/borg-fixture/src",
            "json-2026-12-04",
            [600_013, 600_034, 0],
        ),
        good(
            "create-stats",
            "borg create --stats /tmp/borg-fixture/repo::stats /tmp/borg-fixture/src",
            "stats",
            [600_010, 600_030, 0],
        ),
        Case {
            name: "unreadable-log-json",
            argv: "setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
                   borg --log-json create --stats /tmp/borg-fixture/repo::unreadable-lj \
                   /tmp/borg-fixture/src",
            code: 1,
            outcome: Outcome::Warning,
            archive: Some("unreadable-lj"),
            files: Some(6),
            sizes: Some([600_010, 600_020, 0]),
            errors: &[UNREADABLE],
            warnings: &[],
        },
        Case {
            name: "unreadable",
            argv: "setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
                   borg create --stats /tmp/borg-fixture/repo::unreadable /tmp/borg-fixture/src",
            code: 1,
            outcome: Outcome::Warning,
            archive: Some("unreadable"),
            files: Some(6),
            sizes: Some([600_010, 600_020, 0]),
            errors: &[UNREADABLE],
            warnings: &[],
        },
        Case {
            name: "missing-repo-log-json",
            argv: "borg --log-json create --stats /tmp/borg-fixture/missing::a /tmp/borg-fixture/src",
            code: 2,
            outcome: Outcome::Failure,
            archive: Some("a"),
            files: None,
            sizes: None,
            errors: &["Repository /tmp/borg-fixture/missing does not exist."],
            warnings: &[],
        },
        Case {
            name: "missing-repo",
            argv: "borg create --stats /tmp/borg-fixture/missing::a /tmp/borg-fixture/src",
            code: 2,
            outcome: Outcome::Failure,
            archive: Some("a"),
            files: None,
            sizes: None,
            errors: &["Repository /tmp/borg-fixture/missing does not exist."],
            warnings: &[],
        },
        Case {
            name: "sigterm-log-json",
            argv: "borg --log-json create --list -C zstd,19 \
                   /tmp/borg-fixture/repo::sigterm-log-json /tmp/borg-fixture/slow",
            code: 143,
            outcome: Outcome::Cancelled,
            archive: Some("sigterm-log-json"),
            files: None,
            sizes: None,
            errors: &["Received SIGTERM"],
            warnings: &[],
        },
        Case {
            name: "sigint",
            argv: "borg create --list -C zstd,19 /tmp/borg-fixture/repo::sigint /tmp/borg-fixture/slow",
            code: 2,
            outcome: Outcome::Failure,
            archive: Some("sigint"),
            files: None,
            sizes: None,
            errors: &["Error: Got Ctrl-C / SIGINT."],
            warnings: &[],
        },
    ];
    for case in cases {
        let r = recorded(case.name, case.argv, case.code);
        let name = case.name;
        assert_eq!(r.outcome, case.outcome, "{name}");
        assert_eq!(r.errors, case.errors, "{name}");
        assert_eq!(r.error_count, case.errors.len() as u64, "{name}");
        assert_eq!(r.warnings, case.warnings, "{name}");
        assert_eq!(r.warning_count, case.warnings.len() as u64, "{name}");
        assert_eq!(
            r.extra.get("archive").map(String::as_str),
            case.archive,
            "{name}"
        );
        assert!(
            r.source.as_deref().is_some_and(|s| s.starts_with(W)),
            "{name}"
        );
        assert!(
            r.destination.as_deref().is_some_and(|d| d.starts_with(W)),
            "{name}"
        );
        assert_eq!(r.files_copied, case.files, "{name}");
        assert_eq!(extra_number(&r, "files_processed"), case.files, "{name}");
        let sizes = [
            extra_number(&r, "data_processed"),
            extra_number(&r, "data_compressed"),
            extra_number(&r, "data_added"),
        ];
        assert_eq!(sizes, case.sizes.map(|s| s.map(Some)).unwrap_or_default());
        assert_eq!(r.bytes_copied, case.sizes.map(|s| s[0]), "{name}");
    }
}
