//! Shared helpers of the reader tests: feeding recorded or live output
//! through a [`Report`], and running the real tools.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

use notify_core::{ExitCodes, Outcome, TaskResult};
use notify_report::{Invocation, Report, Stream, ToolChoice};

/// What a run printed, and how it ended.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Reads a run's output through the reader `argv` picks, with `env` as the
/// environment, and the outcome from the tool's exit-code preset; returns
/// the task result and the cleaned log.
pub fn read(argv: &[&str], env: &[(&str, &str)], run: &Run) -> (TaskResult, String) {
    read_ended(argv, env, run, None)
}

/// [`read`] of a run ended by `signal` (no exit code then): the outcome
/// comes from the signal, as `notify run` sees it.
pub fn read_ended(
    argv: &[&str],
    env: &[(&str, &str)],
    run: &Run,
    signal: Option<i32>,
) -> (TaskResult, String) {
    let invocation = Invocation::parse(argv, ToolChoice::Auto);
    let lookup = |name: &str| {
        env.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let mut report = Report::new(&invocation, &lookup, 1 << 20);
    // Interleave in small chunks, as pipes deliver them.
    let (mut o, mut e) = (&run.stdout[..], &run.stderr[..]);
    while !o.is_empty() || !e.is_empty() {
        let n = o.len().min(777);
        report.feed(Stream::Stdout, &o[..n]);
        o = &o[n..];
        let n = e.len().min(333);
        report.feed(Stream::Stderr, &e[..n]);
        e = &e[n..];
    }
    let codes = invocation
        .tool()
        .map(|t| ExitCodes::Preset(t.preset()))
        .unwrap_or_default();
    let mut result = TaskResult::new("test", codes.outcome(run.code, signal));
    result.exit_code = run.code;
    result.signal = signal;
    let log = report.finish(&mut result);
    (result, String::from_utf8_lossy(log.bytes()).into_owned())
}

/// Runs `argv` with `env` added to the environment, in `dir`.
pub fn run(argv: &[&str], env: &[(&str, &str)], dir: &Path) -> Run {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"));
    Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// Panics unless `program` is on PATH: the tests that run a tool are
/// `#[ignore = "needs <tool>; ..."]`, so they run only when asked to
/// (`cargo xtask ci`, which installs the tools), and then a missing tool is
/// a failure, never a silent pass.
pub fn require(program: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    assert!(
        found,
        "this test needs `{program}`, which is not on PATH; `cargo xtask ci` installs it"
    );
}

/// For a test this machine cannot run (a reason of the machine, such as
/// not running as root, not a missing tool): prints `skipped: <reason>`, or
/// panics under `CI=true`, where every test must run.
pub fn skip_unless_ci(reason: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "CI=true and this test cannot run here: {reason}");
    println!("skipped: {reason}");
}

/// Whether the tests run as root (needed to run a tool as `nobody`).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// The argv prefix that runs a command as `nobody` without privileges
/// (needs `setpriv`); `None` after [`skip_unless_ci`] when the tests do not
/// run as root (the caller returns).
pub fn as_nobody() -> Option<Vec<&'static str>> {
    require("setpriv");
    if !is_root() {
        skip_unless_ci("running a tool as nobody needs root");
        return None;
    }
    Some(vec![
        "setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "--inh-caps=-all",
    ])
}

/// Runs a setup command, which must succeed.
pub fn sh(argv: &[&str]) {
    let status = Command::new(argv[0])
        .args(&argv[1..])
        .status()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"));
    assert!(status.success(), "{argv:?}: {status}");
}

/// Writes `size` bytes of a fixed pattern that does not compress to
/// nothing, creating the directories.
pub fn write_file(path: &Path, size: usize) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("a directory");
    }
    let data: Vec<u8> = (0..size)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(path, data).expect("a file");
}

/// The files of a [`Tree`]'s source: name and size.
pub const FILES: &[(&str, usize)] = &[
    ("a.txt", 1_000),
    ("b.bin", 250_000),
    ("c.bin", 70_001),
    ("sub/d.txt", 12),
    ("sub/deeper/e.bin", 33_333),
];

/// The bytes of [`FILES`].
pub fn total_size() -> u64 {
    FILES.iter().map(|(_, n)| *n as u64).sum()
}

/// A sandbox under /tmp (so that another user can reach it once it is
/// theirs) with `src/` holding [`FILES`]; `dst` is not created.
pub struct Tree {
    pub dir: tempfile::TempDir,
}

impl Tree {
    /// A new tree in a directory named `prefix…`.
    pub fn new(prefix: &str) -> Tree {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in("/tmp")
            .expect("a temporary directory");
        for (name, size) in FILES {
            write_file(&dir.path().join("src").join(name), *size);
        }
        Tree { dir }
    }

    /// A path below the tree, as text.
    pub fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }
}

/// A run's output and exit code, for assertion messages.
pub fn show(run: &Run) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        run.code,
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    )
}

/// A fixture file below `tests/fixtures/`.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}

/// The outcome names, for messages.
pub fn outcome(r: &TaskResult) -> Outcome {
    r.outcome
}
