//! Development tasks for notify, run as `cargo xtask <task>`:
//!
//! - `ci`: everything CI checks, in the order a developer wants to hear
//!   about it: formatting, clippy with warnings denied, every test (built
//!   once, run with cargo-nextest when it is installed), doc tests, and a
//!   compile check of the fuzz target.
//! - `bench`: the criterion benchmarks.
//!
//! It needs only cargo and has no dependencies, so it builds in seconds.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    let result = match task {
        "ci" => ci(rest),
        "bench" => bench(rest),
        "help" | "-h" | "--help" => {
            println!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

const HELP: &str = "\
usage: cargo xtask <task>

tasks:
  ci      format check, clippy -D warnings, all tests (nextest when installed),
          doc tests, fuzz-target compile check
  bench   run the criterion benchmarks (extra arguments go to criterion,
          e.g. `cargo xtask bench -- --measurement-time 3`)";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs a step, printing its name and duration; fails with its name.
fn step(name: &str, mut cmd: Command) -> Result<(), String> {
    println!("==> {name}");
    let start = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{name}: cannot start {:?}: {e}", cmd.get_program()))?;
    println!("    {name}: {:.1}s", start.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ci(_args: &[String]) -> Result<(), String> {
    let start = Instant::now();

    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    step("cargo fmt --check", fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]);
    step("cargo clippy -D warnings", clippy)?;

    if has_nextest() {
        let mut test = cargo();
        test.args([
            "nextest",
            "run",
            "--workspace",
            "--locked",
            "--no-fail-fast",
        ]);
        step("cargo nextest run", test)?;
    } else {
        println!("    (cargo-nextest not installed: using cargo test)");
        let mut test = cargo();
        test.args([
            "test",
            "--workspace",
            "--locked",
            "--lib",
            "--bins",
            "--tests",
        ]);
        step("cargo test", test)?;
    }

    let mut doc = cargo();
    doc.args(["test", "--workspace", "--locked", "--doc"]);
    step("cargo test --doc", doc)?;

    let fuzz = root().join("crates/notify-template/fuzz/Cargo.toml");
    if fuzz.is_file() {
        let mut check = cargo();
        check
            .args(["check", "--locked", "--manifest-path"])
            .arg(&fuzz)
            .env("CARGO_TARGET_DIR", root().join("target/fuzz-check"));
        step("fuzz target compiles (cargo check)", check)?;
    }

    println!(
        "ci: all checks passed in {:.0}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn bench(args: &[String]) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["bench", "--workspace", "--locked"]);
    cmd.args(args);
    step("cargo bench", cmd)
}
