//! Development tasks for notify, run as `cargo xtask <task>`:
//!
//! - `ci`: everything CI checks, in the order a developer wants to hear
//!   about it: formatting, clippy with warnings denied, every test (built
//!   once, run with cargo-nextest when it is installed), doc tests, and a
//!   compile check of the fuzz target.
//! - `bench`: the criterion benchmarks.
//! - `smtp-server`: the SMTP test server (aiosmtpd) in the foreground, for
//!   trying notify by hand: prints its ports, login and CA file.
//!
//! Before the tests, `ci` sets up what they need on a fresh machine: a
//! Python venv in `target/testenv` with aiosmtpd 1.4.6 (the real SMTP
//! server of notify-smtp's tests) and the `openssl` command (it makes the
//! test certificates), installing them with pip and apt-get when missing
//! (apt-get only as root; otherwise it names the packages). A second run
//! finds them and takes no time. The tests get the venv's Python through
//! `NOTIFY_TEST_PYTHON`.
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
        "smtp-server" => smtp_server(rest),
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
          e.g. `cargo xtask bench -- --measurement-time 3`)
  smtp-server [--port-base N]
          run the SMTP test server (plaintext relay, STARTTLS, implicit TLS)
          in the foreground on free ports (or N, N+1, N+2); prints the ports,
          a login and the CA file; Ctrl-C stops it";

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

    println!("==> test environment (target/testenv: aiosmtpd, openssl)");
    let env_start = Instant::now();
    let python = test_env()?;
    println!(
        "    test environment: {:.1}s",
        env_start.elapsed().as_secs_f64()
    );

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
        test.env(PYTHON_ENV, &python);
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
        test.env(PYTHON_ENV, &python);
        step("cargo test", test)?;
    }

    let mut doc = cargo();
    doc.args(["test", "--workspace", "--locked", "--doc"]);
    doc.env(PYTHON_ENV, &python);
    step("cargo test --doc", doc)?;

    let mut rustdoc = cargo();
    rustdoc
        .args(["doc", "--workspace", "--no-deps", "--locked"])
        .env("RUSTDOCFLAGS", "-D warnings");
    step("cargo doc -D warnings", rustdoc)?;

    // libfuzzer-sys builds libFuzzer's C++ sources even for `cargo check`.
    let fuzz = root().join("crates/notify-template/fuzz/Cargo.toml");
    let has_cxx = ["c++", "g++", "clang++"]
        .iter()
        .any(|c| succeeds(Path::new(c), &["--version"]));
    if fuzz.is_file() && !has_cxx {
        println!("==> fuzz target compile check skipped: no C++ compiler (install g++ to run it)");
    } else if fuzz.is_file() {
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

/// The variable notify-testkit reads to find the Python with aiosmtpd.
const PYTHON_ENV: &str = "NOTIFY_TEST_PYTHON";

/// The aiosmtpd version the test server is written against.
const AIOSMTPD: &str = "aiosmtpd==1.4.6";

fn smtp_server(args: &[String]) -> Result<(), String> {
    let mut port_base = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port-base" => {
                let value = args.next().ok_or("--port-base needs a port number")?;
                let port: u16 = value
                    .parse()
                    .map_err(|_| format!("--port-base: `{value}` is not a port number"))?;
                port_base = Some(port);
            }
            other => return Err(format!("smtp-server: unknown argument `{other}`\n\n{HELP}")),
        }
    }
    let python = test_env()?;
    let state = root().join("target/testenv/demo");
    let mut cmd = Command::new(&python);
    cmd.arg(root().join("crates/notify-testkit/smtp_server.py"))
        .arg("--demo")
        .arg(&state);
    if let Some(port) = port_base {
        cmd.args(["--port-base", &port.to_string()]);
    }
    println!("SMTP test server (aiosmtpd), state in {}", state.display());
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    // Ctrl-C reaches both processes; the server exits cleanly on it.
    if status.success() || status.code().is_none() || status.code() == Some(130) {
        Ok(())
    } else {
        Err(format!("the SMTP test server exited with {status}"))
    }
}

/// Whether a command runs and exits successfully (output discarded).
fn succeeds(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Installs Debian packages as root (running `apt-get update` once per
/// xtask run), or explains what to install.
struct Apt {
    updated: bool,
}

impl Apt {
    fn install(&mut self, packages: &[&str], why: &str) -> Result<(), String> {
        let list = packages.join(" ");
        let has_apt = succeeds(Path::new("apt-get"), &["--version"]);
        if !is_root() || !has_apt {
            return Err(format!(
                "{why}; install the package(s) `{list}` (e.g. `sudo apt-get install {list}`) \
                 and run again"
            ));
        }
        if !self.updated {
            let mut update = Command::new("apt-get");
            update.args(["update", "-q"]);
            step("apt-get update", update)?;
            self.updated = true;
        }
        let mut install = Command::new("apt-get");
        install
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive");
        step(&format!("apt-get install {list}"), install)
    }
}

/// Makes sure the SMTP tests can run: `openssl`, and a venv in
/// `target/testenv` with aiosmtpd. Returns the venv's Python. Fast when
/// everything is already there.
fn test_env() -> Result<PathBuf, String> {
    let mut apt = Apt { updated: false };
    if !succeeds(Path::new("openssl"), &["version"]) {
        apt.install(
            &["openssl"],
            "the `openssl` command (it makes the SMTP tests' certificates) is missing",
        )?;
    }
    let venv = root().join("target/testenv");
    let python = venv.join("bin/python3");
    let check = "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '1.4.6')";
    if succeeds(&python, &["-c", check]) {
        println!("    {AIOSMTPD} already in {}", venv.display());
        return Ok(python);
    }
    let system_python = Path::new("python3");
    if !succeeds(system_python, &["--version"]) {
        apt.install(
            &["python3", "python3-venv"],
            "python3 (it runs the SMTP test server) is missing",
        )?;
    }
    if !python.exists() {
        let make_venv = || {
            Command::new(system_python)
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .is_ok_and(|s| s.success())
        };
        if !make_venv() {
            // Debian splits venv (ensurepip) into its own package.
            let _ = std::fs::remove_dir_all(&venv);
            apt.install(
                &["python3-venv"],
                "`python3 -m venv` failed (Debian needs the python3-venv package)",
            )?;
            if !make_venv() {
                return Err(format!("`python3 -m venv {}` failed", venv.display()));
            }
        }
    }
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        AIOSMTPD,
    ]);
    step(&format!("pip install {AIOSMTPD}"), pip)?;
    if !succeeds(&python, &["-c", check]) {
        return Err(format!(
            "{AIOSMTPD} is still not importable by {}",
            python.display()
        ));
    }
    Ok(python)
}
