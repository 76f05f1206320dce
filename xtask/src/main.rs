//! Development tasks for notify, run as `cargo xtask <task>`:
//!
//! - `ci`: everything CI checks, in the order a developer wants to hear
//!   about it: formatting, clippy with warnings denied, every test (built
//!   once, run with cargo-nextest when it is installed), doc tests, and a
//!   compile check of the fuzz target.
//! - `bench`: notify side by side with msmtp, swaks and Apprise on the
//!   test SMTP server, written to `bench/results.md` (see `bench.rs`);
//!   `bench criterion` runs the criterion benchmarks.
//! - `smtp-server`: the SMTP test server (aiosmtpd) in the foreground, for
//!   trying notify by hand: prints its ports, login and CA file.
//! - `keychain -- COMMAND...`: runs a command inside a private keychain
//!   session (below), e.g. the keychain tests by hand.
//! - `dist`: the release binary, its manual pages and shell completions in
//!   `target/dist/` (see `dist.rs`).
//! - `recipes`: tries the recipes of `docs/recipes/` for real (see
//!   `recipes.rs`).
//!
//! Before the tests, `ci` sets up what they need on a fresh machine: a
//! Python venv in `target/testenv` with aiosmtpd 1.4.6 (the real SMTP
//! server of notify-smtp's tests) and the `openssl` command (it makes the
//! test certificates), installing them with pip and apt-get when missing
//! (apt-get only as root; otherwise it names the packages). A second run
//! finds them and takes no time. The tests get the venv's Python through
//! `NOTIFY_TEST_PYTHON`.
//!
//! It also installs `man-db` when `man` is missing: a test renders
//! notify's manual page with `man -l`; and restic, borgbackup, rsync and
//! rclone when missing: the reader tests run them for real.
//!
//! On Linux the tests also get a real keychain: `ci` installs
//! `gnome-keyring libsecret-tools dbus` when their commands are missing and
//! runs the whole test step inside `dbus-run-session`, where an unlocked
//! `gnome-keyring-daemon` (its home in `target/keychain-session-PID`, never
//! the user's) owns the Secret Service. The daemon is stopped by its PID when
//! the tests end, also when they fail.
//!
//! A test that needs such a component is `#[ignore]`d ("needs ...; `cargo
//! xtask ci` runs it"), so a plain `cargo test` reports it as ignored rather
//! than passing it; `ci` runs the ignored tests too (nextest's
//! `--run-ignored all`, or `cargo test -- --include-ignored`), and there a
//! missing component fails the test.
//!
//! It needs only cargo and has no dependencies, so it builds in seconds.

mod bench;
mod dist;
mod faults;
mod recipes;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    let result = match task {
        "ci" => ci(rest),
        "bench" => bench::bench(rest),
        "smtp-server" => smtp_server(rest),
        "keychain" => keychain(rest),
        "dist" => dist::dist(rest),
        "recipes" => recipes::recipes(rest),
        "faults" => faults::faults(rest),
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
  bench [--rounds N] [--only run]
          build notify in release, start the SMTP test server, install the
          peers (msmtp, swaks, apprise) and measure them side by side
          (interleaved, N rounds, default 20); writes bench/results.md;
          `--only run` measures only 1 GiB through `notify run` (zeros, and
          restic-like lines with the restic and the generic reader) and
          rewrites that section of bench/results.md
  bench criterion [ARGS]
          run the criterion benchmarks (extra arguments go to criterion,
          e.g. `cargo xtask bench criterion -- --measurement-time 3`)
  smtp-server [--port-base N]
          run the SMTP test server (plaintext relay, STARTTLS, implicit TLS)
          in the foreground on free ports (or N, N+1, N+2); prints the ports,
          a login and the CA file; Ctrl-C stops it
  dist    build notify in release and write target/dist/: the binary, the
          manual pages (man/notify.1, one per subcommand) and the shell
          completions (bash, zsh, fish)
  recipes [--write] [--keep] [PAGE...]
          try the recipes of docs/recipes/ (all, or the named pages) for real
          against the SMTP test server, installing restic, borg, rsync and
          PostgreSQL when missing; --write puts the mails this run produced
          into the pages, --keep keeps the temporary directory
  faults [--release] [--seed N] [--only 1,2,3,4] [--keep]
          interrupt notify for real against the SMTP test server (not in ci;
          a few minutes): 1 kill -9 of `send` on a slow, faulty server; 2 kill
          -9 of `queue flush` over 200 queued messages; 3 SIGTERM of `send`
          and `run` on a server that never greets (exit within 1 s?); 4 stderr
          on /dev/full; prints a table and fails when a notification is lost,
          an interruption repeats more than one message, or a property fails;
          --keep keeps target/faults (kept anyway on failure)
  keychain [--] COMMAND [ARGS...]
          run COMMAND in a private D-Bus session with an unlocked
          gnome-keyring (Linux), e.g. the keychain tests (ignored by a plain
          `cargo test`): `cargo xtask keychain -- cargo test -p notify-secrets
          --test keychain -- --include-ignored`";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the
/// workspace), else `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

/// Writes a file, creating its directory when needed.
fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The number after `"name": ` in a flat JSON text (the test server's
/// READY line).
fn json_port(json: &str, name: &str) -> Option<u16> {
    let key = format!("\"{name}\":");
    let rest = json[json.find(&key)? + key.len()..].trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
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

    println!(
        "==> test environment (target/testenv: aiosmtpd, openssl; keychain tools; backup tools; promtool, node_exporter; man; bsd-mailx)"
    );
    let env_start = Instant::now();
    let mut apt = Apt { updated: false };
    let python = test_env(&mut apt)?;
    let keychain = keychain_tools(&mut apt)?;
    backup_tools(&mut apt)?;
    prometheus_tools(&mut apt)?;
    if cfg!(target_os = "linux") && !Path::new("/usr/bin/bsd-mailx").exists() {
        // bsd-mailx needs some MTA installed; msmtp-mta is the smallest
        // (no daemon), and the test points mail at notify's own symlink.
        apt.install(
            &["bsd-mailx", "msmtp-mta"],
            "the sendmail test runs the real `mail -s` (bsd-mailx) against notify",
        )?;
    }
    if cfg!(target_os = "linux") && !on_path("man") {
        apt.install(
            &["man-db"],
            "the manual-page test renders notify's page with `man -l`",
        )?;
    }
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

    // The libraries and the binary also build without their default
    // features (no SMTP runtime in notify-smtp; no keyring, no libdbus in
    // the binary); the tidy tests check the dependency trees.
    let mut bare = cargo();
    bare.args([
        "clippy",
        "--locked",
        "-p",
        "notify-smtp",
        "-p",
        "notify-cli",
        "--no-default-features",
        "--",
        "-D",
        "warnings",
    ]);
    step(
        "cargo clippy --no-default-features (notify-smtp, notify-cli)",
        bare,
    )?;

    // Every test runs inside the keychain session (one build, one run), so
    // any test that needs the keychain has one. The ignored tests run too:
    // they are the ones that need a real component (the SMTP test server,
    // the keychain, dbus-daemon, the backup tools), which is all set up
    // here; a plain `cargo test` reports them as ignored. Not on its own:
    // the keychain tests' child-process helper, ignored for that reason.
    let mut argv = vec![std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())];
    let name = if has_nextest() {
        argv.extend(
            [
                "nextest",
                "run",
                "--workspace",
                "--locked",
                "--no-fail-fast",
                "--run-ignored",
                "all",
                "-E",
            ]
            .map(String::from),
        );
        argv.push(format!("not ({})", child_helpers_filterset()));
        "cargo nextest run"
    } else {
        println!("    (cargo-nextest not installed: using cargo test)");
        argv.extend(
            [
                "test",
                "--workspace",
                "--locked",
                "--lib",
                "--bins",
                "--tests",
                "--",
                "--include-ignored",
                "--exact",
            ]
            .map(String::from),
        );
        for name in CHILD_HELPERS {
            argv.extend(["--skip".to_owned(), (*name).to_owned()]);
        }
        "cargo test"
    };
    let session = KeychainSession::new(keychain)?;
    let mut test = session.command(&argv);
    test.env(PYTHON_ENV, &python);
    let tested = step(name, test);
    session.finish();
    tested?;

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

/// The tests that are only the body of a child process another test starts
/// (`#[ignore]`d, and left out when the ignored tests run).
const CHILD_HELPERS: &[&str] = &[
    "keychain_child",
    "child_session_bus_from_environment",
    "child_many_descriptors",
    "message::child_prints_message_ids",
    "maildir::child_delivers_to_a_maildir",
    "writer::child_sends_to_stdout",
    "queue::tests::child_process",
];

/// [`CHILD_HELPERS`] as a nextest filterset.
fn child_helpers_filterset() -> String {
    CHILD_HELPERS
        .iter()
        .map(|name| format!("test(={name})"))
        .collect::<Vec<_>>()
        .join(" | ")
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
    let python = test_env(&mut Apt { updated: false })?;
    let state = root().join("target/testenv/demo");
    let mut cmd = demo_server_command(&python, &state, port_base);
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

/// The SMTP test server in demo mode (relay, STARTTLS and implicit-TLS
/// listeners, a test login, the CA in `STATE/certs/ca.pem`).
fn demo_server_command(python: &Path, state: &Path, port_base: Option<u16>) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg(root().join("crates/notify-testkit/smtp_server.py"))
        .arg("--demo")
        .arg(state);
    if let Some(port) = port_base {
        cmd.args(["--port-base", &port.to_string()]);
    }
    cmd
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
        step(&format!("apt-get install {list}"), install)?;
        println!("    installed: {list}");
        Ok(())
    }
}

/// Makes sure the SMTP tests can run: `openssl`, and a venv in
/// `target/testenv` with aiosmtpd. Returns the venv's Python. Fast when
/// everything is already there.
fn test_env(apt: &mut Apt) -> Result<PathBuf, String> {
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

/// The commands the keychain tests need, and the Debian package of each.
const KEYCHAIN_TOOLS: &[(&str, &str)] = &[
    ("gnome-keyring-daemon", "gnome-keyring"),
    ("secret-tool", "libsecret-tools"),
    ("dbus-run-session", "dbus"),
    ("dbus-daemon", "dbus"),
    ("dbus-send", "dbus"),
];

/// Whether `program` is an executable file in a `PATH` directory.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program)))
    })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// The backup tools whose real runs the reader tests read, with their
/// Debian packages: restic, borg, rsync, rclone; and setpriv (util-linux),
/// which runs a job as `nobody` so that a file can be unreadable to it.
const BACKUP_TOOLS: [(&str, &str); 5] = [
    ("restic", "restic"),
    ("borg", "borgbackup"),
    ("rsync", "rsync"),
    ("rclone", "rclone"),
    ("setpriv", "util-linux"),
];

/// Installs the backup tools of [`BACKUP_TOOLS`] that are missing.
fn backup_tools(apt: &mut Apt) -> Result<(), String> {
    let missing: Vec<&str> = BACKUP_TOOLS
        .iter()
        .filter(|(command, _)| !on_path(command))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        println!("    backup tools already installed (restic, borg, rsync, rclone)");
        return Ok(());
    }
    apt.install(
        &missing,
        "the reader tests run restic, borg, rsync and rclone for real",
    )
}

/// The Prometheus programs the metrics tests use, with their Debian
/// packages: promtool checks the textfile, node_exporter serves it.
const PROMETHEUS_TOOLS: [(&str, &str); 2] = [
    ("promtool", "prometheus"),
    ("prometheus-node-exporter", "prometheus-node-exporter"),
];

/// Installs the programs of [`PROMETHEUS_TOOLS`] that are missing.
fn prometheus_tools(apt: &mut Apt) -> Result<(), String> {
    let missing: Vec<&str> = PROMETHEUS_TOOLS
        .iter()
        .filter(|(command, _)| !on_path(command))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        println!("    promtool and node_exporter already installed");
        return Ok(());
    }
    apt.install(
        &missing,
        "the metrics tests check the textfile with promtool and serve it with node_exporter",
    )
}

/// Makes sure the keychain tests can run (Linux only): installs the
/// packages of [`KEYCHAIN_TOOLS`] whose commands are missing. `false` where
/// there is no Secret Service to set up (other systems).
fn keychain_tools(apt: &mut Apt) -> Result<bool, String> {
    if !cfg!(target_os = "linux") {
        println!("    keychain session: Linux only; keychain tests run without one");
        return Ok(false);
    }
    let mut missing: Vec<&str> = Vec::new();
    for (command, package) in KEYCHAIN_TOOLS {
        if !on_path(command) && !missing.contains(package) {
            missing.push(package);
        }
    }
    if missing.is_empty() {
        println!("    keychain tools already installed (gnome-keyring, libsecret-tools, dbus)");
        return Ok(true);
    }
    apt.install(
        &missing,
        "the keychain tests need a Secret Service (gnome-keyring), secret-tool and dbus-run-session",
    )?;
    if let Some((command, _)) = KEYCHAIN_TOOLS.iter().find(|(c, _)| !on_path(c)) {
        return Err(format!(
            "`{command}` is still missing after apt-get install"
        ));
    }
    Ok(true)
}

/// A throwaway password for the test keyring: it only has to exist.
fn throwaway_password() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("notify-test-{}-{nanos}", std::process::id())
}

/// Starts the daemon, waits until it owns the Secret Service name, runs
/// "$@" and stops the daemon by its PID, whatever happens. Runs as
/// `dbus-run-session -- sh -c SCRIPT sh COMMAND...`. The daemon alone gets
/// the temporary HOME / XDG dirs: the command keeps the real ones (cargo and
/// rustup live there).
const SESSION_SCRIPT: &str = r#"
set -u
d=$NOTIFY_KEYCHAIN_DIR
pw=$NOTIFY_KEYCHAIN_PW
unset NOTIFY_KEYCHAIN_PW NOTIFY_KEYCHAIN_DIR
mkdir -p "$d/home" "$d/data" "$d/run" && chmod 700 "$d/run" || exit 1
printf %s "$pw" | HOME="$d/home" XDG_DATA_HOME="$d/data" XDG_RUNTIME_DIR="$d/run" \
    gnome-keyring-daemon --foreground --unlock --components=secrets >"$d/daemon.log" 2>&1 &
daemon=$!
stop() { kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; }
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
owned() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
        grep -q 'boolean true'
}
n=0
until owned; do
    if ! kill -0 "$daemon" 2>/dev/null; then
        echo "xtask: gnome-keyring-daemon exited before it owned org.freedesktop.secrets; it said:" >&2
        cat "$d/daemon.log" >&2
        exit 1
    fi
    n=$((n + 1))
    if [ "$n" -ge 100 ]; then
        echo "xtask: gnome-keyring-daemon (pid $daemon) did not own org.freedesktop.secrets within 10 s; it said:" >&2
        cat "$d/daemon.log" >&2
        exit 1
    fi
    sleep 0.1
done
echo "    keychain session: gnome-keyring-daemon pid $daemon owns org.freedesktop.secrets"
"$@"
status=$?
stop
trap - EXIT
echo "    keychain session: gnome-keyring-daemon pid $daemon stopped"
exit "$status"
"#;

/// A private D-Bus session with an unlocked gnome-keyring for the commands
/// it wraps, or (when `active` is false) nothing: commands run as they are.
struct KeychainSession {
    dir: Option<PathBuf>,
}

impl KeychainSession {
    fn new(active: bool) -> Result<Self, String> {
        if !active {
            return Ok(KeychainSession { dir: None });
        }
        let dir = root().join(format!("target/keychain-session-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(KeychainSession { dir: Some(dir) })
    }

    /// `argv` as a command, inside the session when there is one.
    fn command(&self, argv: &[String]) -> Command {
        let (program, args) = match argv.split_first() {
            Some((program, args)) => (program.as_str(), args),
            None => ("true", &[][..]),
        };
        let Some(dir) = &self.dir else {
            let mut cmd = Command::new(program);
            cmd.args(args).current_dir(root());
            return cmd;
        };
        let mut cmd = Command::new("dbus-run-session");
        cmd.args([
            "--",
            "sh",
            "-c",
            SESSION_SCRIPT,
            "keychain-session",
            program,
        ])
        .args(args)
        .current_dir(root())
        .env("NOTIFY_KEYCHAIN_DIR", dir)
        .env("NOTIFY_KEYCHAIN_PW", throwaway_password());
        cmd
    }

    /// Removes the session's files.
    fn finish(self) {
        if let Some(dir) = self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn keychain(args: &[String]) -> Result<(), String> {
    let argv = match args.split_first() {
        Some((dashes, rest)) if dashes == "--" => rest,
        _ => args,
    };
    if argv.is_empty() {
        return Err(format!("keychain: which command?\n\n{HELP}"));
    }
    let active = keychain_tools(&mut Apt { updated: false })?;
    let session = KeychainSession::new(active)?;
    let mut cmd = session.command(argv);
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()));
    session.finish();
    let status = status?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", argv.join(" ")))
    }
}
