//! `cargo xtask bench`: notify side by side with msmtp, swaks, Apprise and a
//! bare nodelay lettre program (`crates/notify-smtp/examples/bare_send.rs`)
//! on the same local aiosmtpd server (STARTTLS + AUTH PLAIN + a private CA),
//! interleaved in one run (A B C D E A B C D E ...), the same five in
//! plaintext on postfix's smtp-sink, peak RSS, `notify run` overhead, 1 GiB
//! through `notify run` (zeros as a pass-through, and restic-like lines read
//! by the restic and the generic reader), `notify --version`, `notify check`
//! with 1,000 tasks of history against it, `notify queue
//! flush` of 1,000 messages against a pooled smtplib loop, and the default
//! template render (criterion). Installs what is missing (postfix, msmtp,
//! swaks, GNU time from Debian; Apprise into the test venv). Prints a
//! markdown table and writes it to `bench/results.md`.
//!
//! `cargo xtask bench --only run` measures only the 1 GiB figures and
//! rewrites their section, the last of `bench/results.md`.
//! `cargo xtask bench criterion [ARGS]` runs the criterion benchmarks.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{cargo, json_port, on_path, root, step, succeeds, target_dir, write_file, Apt};

const USER: &str = "user@example.com";
const PASSWORD: &str = "password";
const RCPT: &str = "rcpt@example.com";
const PW_ENV: &str = "NOTIFY_BENCH_PASSWORD";
const GIB: u64 = 1 << 30;
const QUEUED: usize = 1000;

pub fn bench(args: &[String]) -> Result<(), String> {
    let mut rounds = 20usize;
    let mut only_run = false;
    let mut args_iter = args.iter();
    while let Some(arg) = args_iter.next() {
        match arg.as_str() {
            "criterion" => return criterion(&args[1..]),
            "--rounds" => {
                let value = args_iter.next().ok_or("--rounds needs a number")?;
                rounds = value
                    .parse()
                    .map_err(|_| format!("--rounds: `{value}` is not a number"))?;
            }
            "--only" => match args_iter.next().map(String::as_str) {
                Some("run") => only_run = true,
                Some(other) => {
                    return Err(format!(
                        "--only: `{other}` is not a part (the one part is `run`)"
                    ))
                }
                None => return Err("--only needs a part (`run`)".into()),
            },
            other => return Err(format!("bench: unknown argument `{other}`")),
        }
    }
    if only_run {
        only_run_section(rounds.max(1))
    } else {
        side_by_side(rounds.max(1))
    }
}

/// CPU time in clock ticks from `/proc/PID/stat`: the process's own
/// (user + system), or that of its waited-for children.
fn cpu_ticks(pid: &str, children: bool) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5), cutime and cstime
    // 16 and 17; `rest` starts at field 3.
    let (a, b) = if children { (13, 14) } else { (11, 12) };
    Some(fields.get(a)?.parse::<u64>().ok()? + fields.get(b)?.parse::<u64>().ok()?)
}

/// `case` run `runs` times: its CPU per run, the server's (pid) CPU per
/// run, and the wall time per run, in milliseconds. `None` where /proc is
/// not there.
fn cpu_split(case: &Case, server: u32, runs: u32) -> Result<Option<(f64, f64, f64)>, String> {
    let tick_ms = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(10.0, |hz| 1000.0 / hz);
    let server = server.to_string();
    let (Some(c0), Some(s0)) = (cpu_ticks("self", true), cpu_ticks(&server, false)) else {
        return Ok(None);
    };
    let start = Instant::now();
    for _ in 0..runs {
        case.run()?;
    }
    let wall = start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    let (Some(c1), Some(s1)) = (cpu_ticks("self", true), cpu_ticks(&server, false)) else {
        return Ok(None);
    };
    let per = |a: u64, b: u64| (b.saturating_sub(a)) as f64 * tick_ms / f64::from(runs);
    Ok(Some((per(c0, c1), per(s0, s1), wall)))
}

/// Runs one criterion benchmark of notify-template and returns its median
/// in nanoseconds (from criterion's `estimates.json`).
fn criterion_median_ns(bench: &str, dir_name: &str) -> Result<f64, String> {
    let mut cmd = cargo();
    cmd.args([
        "bench",
        "--locked",
        "-p",
        "notify-template",
        "--bench",
        "render",
    ])
    .args(["--", "--exact", bench, "--noplot"])
    .args(["--warm-up-time", "1", "--measurement-time", "3"]);
    step(&format!("cargo bench -p notify-template -- {bench}"), cmd)?;
    let path = target_dir().join(format!("criterion/{dir_name}/new/estimates.json"));
    let json =
        fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    json_number_after(&json, "\"median\"", "\"point_estimate\":")
        .ok_or_else(|| format!("no median in {}", path.display()))
}

/// The number after `key` that follows `section` in a JSON text.
fn json_number_after(json: &str, section: &str, key: &str) -> Option<f64> {
    let rest = &json[json.find(section)?..];
    let rest = rest[rest.find(key)? + key.len()..].trim_start();
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        .collect();
    number.parse().ok()
}

fn criterion(args: &[String]) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["bench", "--workspace", "--locked"]);
    cmd.args(args);
    step("cargo bench", cmd)
}

/// The SMTP test server, killed by its PID when dropped (also on error).
struct Server {
    child: Child,
    starttls: u16,
    ca: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        println!("    SMTP test server (pid {}) stopped", self.child.id());
    }
}

fn start_server(python: &Path) -> Result<Server, String> {
    let state = root().join("target/testenv/bench");
    // Old messages only take space: start each run with an empty mail dir.
    let _ = fs::remove_dir_all(state.join("mail"));
    let mut cmd = crate::demo_server_command(python, &state, None);
    cmd.stdout(Stdio::piped()).stdin(Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout from the server")?;
    let mut server = Server {
        child,
        starttls: 0,
        ca: state.join("certs/ca.pem"),
    };
    let mut lines = BufReader::new(stdout).lines();
    let mut seen_ready = false;
    for line in lines.by_ref() {
        let line = line.map_err(|e| format!("reading the server's output: {e}"))?;
        if let Some(json) = line.strip_prefix("READY ") {
            server.starttls = json_port(json, "starttls")
                .ok_or_else(|| format!("no starttls port in `{line}`"))?;
            seen_ready = true;
        }
        if seen_ready && line.contains("stop with Ctrl-C") {
            break;
        }
    }
    if !seen_ready {
        return Err("the SMTP test server exited before it was ready".into());
    }
    // Keep reading (nothing more is expected) so the server never blocks.
    std::thread::spawn(move || for _ in lines {});
    println!(
        "    SMTP test server pid {}: STARTTLS on 127.0.0.1:{}, CA {}",
        server.child.id(),
        server.starttls,
        server.ca.display()
    );
    Ok(server)
}

/// postfix's smtp-sink (plaintext, fast C), killed by its PID when dropped.
struct Sink {
    child: Child,
    port: u16,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        println!("    smtp-sink (pid {}) stopped", self.child.id());
    }
}

const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

/// Installs postfix (for smtp-sink) when missing. Its package asks which
/// mail setup to make; "No configuration" is answered beforehand, so no
/// mail system is set up or started.
fn install_smtp_sink(apt: &mut Apt) -> Result<(), String> {
    if Path::new(SMTP_SINK).is_file() {
        println!("    smtp-sink already installed");
        return Ok(());
    }
    if crate::is_root() && on_path("debconf-set-selections") {
        let mut preseed = Command::new("debconf-set-selections");
        preseed.stdin(Stdio::piped());
        let mut child = preseed
            .spawn()
            .map_err(|e| format!("cannot run debconf-set-selections: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            stdin
                .write_all(b"postfix postfix/main_mailer_type select No configuration\n")
                .map_err(|e| format!("debconf-set-selections: {e}"))?;
        }
        let status = child
            .wait()
            .map_err(|e| format!("debconf-set-selections: {e}"))?;
        if !status.success() {
            return Err(format!("debconf-set-selections failed ({status})"));
        }
    }
    apt.install(
        &["postfix"],
        "postfix's smtp-sink (the plaintext server of the bench) is missing",
    )?;
    if Path::new(SMTP_SINK).is_file() {
        Ok(())
    } else {
        Err(format!("postfix is installed but {SMTP_SINK} is not there"))
    }
}

/// Starts smtp-sink on a free port of 127.0.0.1 and waits until it accepts
/// connections.
fn start_sink() -> Result<Sink, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))?;
    let mut cmd = Command::new(SMTP_SINK);
    if crate::is_root() {
        // smtp-sink refuses to keep root privileges.
        cmd.args(["-u", "nobody"]);
    }
    cmd.arg(format!("127.0.0.1:{port}"))
        .arg("64")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {SMTP_SINK}: {e}"))?;
    let mut sink = Sink { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        if let Ok(Some(status)) = sink.child.try_wait() {
            return Err(format!("smtp-sink exited before it listened ({status})"));
        }
        if Instant::now() > deadline {
            return Err(format!("smtp-sink does not listen on 127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "    smtp-sink pid {} on 127.0.0.1:{}",
        sink.child.id(),
        sink.port
    );
    Ok(sink)
}

/// msmtp and swaks from Debian, Apprise into the venv; the apprise command.
fn peers(apt: &mut Apt, python: &Path) -> Result<PathBuf, String> {
    let mut missing = Vec::new();
    if !on_path("msmtp") {
        missing.push("msmtp");
    }
    if !on_path("swaks") {
        missing.push("swaks");
    }
    if !succeeds(
        Path::new("perl"),
        &["-MIO::Socket::SSL", "-MNet::SSLeay", "-e1"],
    ) {
        missing.extend(["libnet-ssleay-perl", "libio-socket-ssl-perl"]);
    }
    if !on_path("time") && !Path::new("/usr/bin/time").exists() {
        missing.push("time");
    }
    if !on_path("curl") {
        missing.push("curl");
    }
    if missing.is_empty() {
        println!("    msmtp, swaks (with TLS), curl and GNU time already installed");
    } else {
        apt.install(&missing, "the side-by-side peers are missing")?;
    }
    let apprise = python.with_file_name("apprise");
    if succeeds(&apprise, &["--version"]) {
        println!("    apprise already in {}", apprise.display());
    } else {
        let mut pip = Command::new(python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "apprise",
        ]);
        step("pip install apprise", pip)?;
    }
    Ok(apprise)
}

/// A Healthchecks stand-in for the ping benchmark: Python's threading HTTP
/// server answering every GET and POST with `200 OK`, counting them.
struct PingServer {
    child: std::process::Child,
    port: u16,
    count_file: PathBuf,
}

const PING_SERVER: &str = r#"
import http.server, sys
count_file = sys.argv[1]
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        size = int(self.headers.get("Content-Length") or 0)
        if size:
            self.rfile.read(size)
        n[0] += 1
        with open(count_file, "w") as f:
            f.write(str(n[0]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.send_header("Ping-Body-Limit", "100000")
        self.end_headers()
        self.wfile.write(b"OK")
    do_GET = do_POST = do_HEAD = answer
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

impl PingServer {
    fn start(python: &Path) -> Result<PingServer, String> {
        let count_file = root().join("target/bench-side-by-side/ping-count");
        let mut child = Command::new(python)
            .args(["-c", PING_SERVER])
            .arg(&count_file)
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the ping server: {e}"))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line);
        }
        let port = line.trim().parse().map_err(|_| {
            let _ = child.kill();
            format!("the ping server said `{}`, not its port", line.trim())
        })?;
        Ok(PingServer {
            child,
            port,
            count_file,
        })
    }

    /// How many pings it answered.
    fn count(&self) -> u64 {
        fs::read_to_string(&self.count_file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for PingServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One measured program: how to start one run of it.
struct Case {
    name: &'static str,
    make: Box<dyn Fn() -> Command>,
}

impl Case {
    fn new(name: &'static str, make: impl Fn() -> Command + 'static) -> Self {
        Case {
            name,
            make: Box::new(move || {
                let mut c = make();
                stock_tls(&mut c);
                c
            }),
        }
    }

    /// Runs once; the wall time, or what went wrong.
    fn run(&self) -> Result<Duration, String> {
        let mut cmd = (self.make)();
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let start = Instant::now();
        let out = cmd
            .output()
            .map_err(|e| format!("{}: cannot start {:?}: {e}", self.name, cmd.get_program()))?;
        let took = start.elapsed();
        if !out.status.success() {
            return Err(format!(
                "{} failed ({}): {}",
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(took)
    }

    /// Peak RSS in KiB (the largest of `n` runs under GNU time), if measurable.
    fn peak_rss_kib(&self, n: usize, dir: &Path) -> Option<u64> {
        let gnu_time = Path::new("/usr/bin/time");
        if !gnu_time.exists() {
            return None;
        }
        let out_file = dir.join(format!("rss-{}.txt", self.name.replace(' ', "_")));
        let mut peak = None;
        for _ in 0..n {
            let inner = (self.make)();
            let mut cmd = Command::new(gnu_time);
            cmd.args(["-f", "%M", "-o"])
                .arg(&out_file)
                .arg(inner.get_program())
                .args(inner.get_args());
            for (k, v) in inner.get_envs() {
                match v {
                    Some(v) => cmd.env(k, v),
                    None => cmd.env_remove(k),
                };
            }
            if let Some(d) = inner.get_current_dir() {
                cmd.current_dir(d);
            }
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
            if needs_message_stdin(self.name) {
                cmd.stdin(message_file(dir));
            }
            if !cmd.status().is_ok_and(|s| s.success()) {
                return None;
            }
            let kib = fs::read_to_string(&out_file).ok()?.trim().parse().ok()?;
            peak = Some(peak.map_or(kib, |p: u64| p.max(kib)));
        }
        peak
    }
}

/// The variables that point TLS at other certificates than the system's.
const TLS_VARS: [&str; 2] = ["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// Runs `c` with the system's own certificate store, as on a stock system:
/// `SSL_CERT_FILE` and `SSL_CERT_DIR` removed unless the case sets them
/// itself (Apprise gets the private CA that way). With both set, as some
/// machines have them, notify reads the directory too (about 2.3 ms more
/// per TLS process here; `bench/results.md` says whether they were set).
fn stock_tls(c: &mut Command) {
    for var in TLS_VARS {
        if !c.get_envs().any(|(k, _)| k == var) {
            c.env_remove(var);
        }
    }
}

fn needs_message_stdin(name: &str) -> bool {
    name == "msmtp"
}

fn message_file(dir: &Path) -> Stdio {
    fs::File::open(dir.join("message.eml")).map_or(Stdio::null(), Stdio::from)
}

/// Wall times of each case, runs interleaved round by round.
struct Series {
    names: Vec<&'static str>,
    times: Vec<Vec<f64>>, // [case][round], milliseconds
}

/// Runs the cases in turn (A B C A B C ...) for `rounds` rounds, after one
/// warm-up round that is not counted.
fn interleave(cases: &[Case], rounds: usize) -> Result<Series, String> {
    interleave_runs(cases, rounds, false)
}

/// [`interleave`], but each measured run right after an unmeasured run of
/// the same program: what a send costs when the machine and the server are
/// not cold from running something else.
fn interleave_warm(cases: &[Case], rounds: usize) -> Result<Series, String> {
    interleave_runs(cases, rounds, true)
}

fn interleave_runs(cases: &[Case], rounds: usize, warm: bool) -> Result<Series, String> {
    if !warm {
        for case in cases {
            case.run()?;
        }
    }
    let mut times = vec![Vec::with_capacity(rounds); cases.len()];
    for round in 0..rounds {
        for (i, case) in cases.iter().enumerate() {
            if warm {
                case.run()?;
            }
            times[i].push(case.run()?.as_secs_f64() * 1e3);
        }
        if (round + 1) % 5 == 0 {
            println!("    round {}/{rounds}", round + 1);
        }
    }
    Ok(Series {
        names: cases.iter().map(|c| c.name).collect(),
        times,
    })
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// "median (min–max)" in ms.
fn ms_summary(values: &[f64]) -> String {
    format!(
        "{:.1} ms ({:.1}–{:.1})",
        median(values),
        min(values),
        max(values)
    )
}

/// The median of the round-by-round ratios a / b.
fn paired_ratio(a: &[f64], b: &[f64]) -> f64 {
    let ratios: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    median(&ratios)
}

struct Row {
    figure: String,
    notify: String,
    peer: String,
    ratio: String,
    target: String,
    met: String,
}

/// The rows as a markdown table.
fn markdown_table(rows: &[Row]) -> String {
    let mut table = String::from(
        "| figure | notify | peer | ratio | target | met? |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.figure, r.notify, r.peer, r.ratio, r.target, r.met
        ));
    }
    table
}

/// Peak RSS in MB (MiB, as the other rows), or `n/a`.
fn mb(kib: Option<u64>) -> String {
    kib.map_or("n/a".to_string(), |k| {
        format!("{:.1} MB", k as f64 / 1024.0)
    })
}

fn verdict(ok: bool) -> String {
    if ok { "yes" } else { "**no**" }.to_string()
}

fn first_line(program: &Path, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_else(|| "(not found)".into())
}

/// The date and time as `2026-11-22 01:02 UTC`.
fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Builds notify in release; the binary's path.
fn build_notify() -> Result<PathBuf, String> {
    let mut build = cargo();
    build.args(["build", "--release", "--locked", "-p", "notify-cli"]);
    step("cargo build --release -p notify-cli", build)?;
    let notify = target_dir().join("release/notify");
    if notify.is_file() {
        Ok(notify)
    } else {
        Err(format!("no binary at {}", notify.display()))
    }
}

fn side_by_side(rounds: usize) -> Result<(), String> {
    let start = Instant::now();
    let notify = build_notify()?;
    let mut build = cargo();
    build.args(["build", "--release", "--locked", "-p", "notify-smtp"]);
    build.args(["--example", "bare_send"]);
    step(
        "cargo build --release -p notify-smtp --example bare_send",
        build,
    )?;
    let bare = target_dir().join("release/examples/bare_send");
    if !bare.is_file() {
        return Err(format!("no binary at {}", bare.display()));
    }

    println!("==> bench environment (aiosmtpd, smtp-sink, msmtp, swaks, apprise)");
    let mut apt = Apt { updated: false };
    let python = crate::test_env(&mut apt)?;
    install_smtp_sink(&mut apt)?;
    let apprise = peers(&mut apt, &python)?;

    let server = start_server(&python)?;
    let port = server.starttls;
    let ca = server.ca.clone();

    let dir = root().join("target/bench-side-by-side");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let data_dir = dir.join("notify-data");

    // notify: an account on the server, the password from the environment.
    let config = dir.join("notify.toml");
    write_file(
        &config,
        &format!(
            "[email]\naccount = \"bench\"\nto = [\"{RCPT}\"]\nlevel = \"always\"\n\n\
             [accounts.bench]\nfrom = \"{USER}\"\nserver = \"127.0.0.1:{port}\"\n\
             security = \"starttls\"\nusername = \"{USER}\"\npassword = \"env:{PW_ENV}\"\n\
             ca_file = \"{}\"\n",
            ca.display()
        ),
    )?;
    // msmtp: the same server, CA and login.
    let msmtprc = dir.join("msmtprc");
    write_file(
        &msmtprc,
        &format!(
            "defaults\ntls on\ntls_starttls on\ntls_trust_file {}\nauth plain\n\n\
             account bench\nhost 127.0.0.1\nport {port}\nfrom {USER}\nuser {USER}\n\
             password {PASSWORD}\n\naccount default : bench\n",
            ca.display()
        ),
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(&msmtprc, fs::Permissions::from_mode(0o600));
    }
    write_file(
        &dir.join("message.eml"),
        &format!(
            "From: {USER}\r\nTo: {RCPT}\r\nSubject: bench: Bench: failure\r\n\r\n\
             Task Bench failed with exit code 1.\r\n"
        ),
    )?;

    let notify_send = {
        let (notify, config, data_dir) = (notify.clone(), config.clone(), data_dir.clone());
        Case::new("notify send", move || {
            let mut c = Command::new(&notify);
            c.arg("--config")
                .arg(&config)
                .arg("--data-dir")
                .arg(&data_dir)
                .args(["-q", "send", "--task", "Bench", "--status", "failure"])
                .args(["--exit-code", "1"])
                .env(PW_ENV, PASSWORD);
            c
        })
    };
    let msmtp = {
        let (msmtprc, dir) = (msmtprc.clone(), dir.clone());
        Case::new("msmtp", move || {
            let mut c = Command::new("msmtp");
            c.arg("-C").arg(&msmtprc).arg(RCPT);
            c.stdin(message_file(&dir));
            c
        })
    };
    let swaks = {
        let ca = ca.clone();
        Case::new("swaks", move || {
            let mut c = Command::new("swaks");
            c.args(["--to", RCPT, "--from", USER, "--server", "127.0.0.1"])
                .args(["--port", &port.to_string()])
                .args(["--tls", "--tls-verify", "--tls-ca-path"])
                .arg(&ca)
                .args(["--auth", "PLAIN", "--auth-user", USER])
                .args(["--auth-password", PASSWORD])
                .args(["--header", "Subject: bench: Bench: failure"])
                .args(["--body", "Task Bench failed with exit code 1."]);
            c
        })
    };
    let apprise_case = {
        let (apprise, ca) = (apprise.clone(), ca.clone());
        Case::new("apprise", move || {
            let url = format!(
                "mailtos://127.0.0.1:{port}?user={}&pass={PASSWORD}&smtp=127.0.0.1\
                 &from={}&to={}&mode=starttls",
                USER.replace('@', "%40"),
                USER.replace('@', "%40"),
                RCPT.replace('@', "%40"),
            );
            let mut c = Command::new(&apprise);
            c.args(["-t", "bench: Bench: failure"])
                .args(["-b", "Task Bench failed with exit code 1."])
                .arg(url)
                .env("SSL_CERT_FILE", &ca);
            c
        })
    };

    // The baseline: lettre alone on a nodelay stream, the same message.
    let bare_case = {
        let (bare, ca) = (bare.clone(), ca.clone());
        Case::new("bare lettre", move || {
            let mut c = Command::new(&bare);
            c.args(["127.0.0.1", &port.to_string()])
                .arg(&ca)
                .args([USER, PASSWORD, USER, RCPT]);
            c
        })
    };

    // 1. One message per process, STARTTLS + AUTH PLAIN + verified CA.
    println!("==> send: notify, msmtp, swaks, apprise, bare lettre interleaved, {rounds} rounds");
    let send_cases = [notify_send, msmtp, swaks, apprise_case, bare_case];
    let send = interleave(&send_cases, rounds)?;
    println!("==> the same, each run right after one of its own (warm), {rounds} rounds");
    let warm = interleave_warm(&send_cases, rounds)?;
    println!("==> peak RSS (GNU time, largest of 3 runs each)");
    let rss: Vec<Option<u64>> = send_cases.iter().map(|c| c.peak_rss_kib(3, &dir)).collect();

    // Where a send's time goes: notify's own CPU and the server's CPU per
    // message, over 40 sends (the server runs only between the client's
    // turns, so the two add up to most of the wall time).
    const CPU_RUNS: u32 = 40;
    println!("==> CPU per send: notify and the server, {CPU_RUNS} sends");
    let cpu = cpu_split(&send_cases[0], server.child.id(), CPU_RUNS)?;

    // 1b. The same message in plaintext without AUTH, on smtp-sink.
    let sink = start_sink()?;
    let sink_port = sink.port;
    let plain_config = dir.join("notify-plain.toml");
    write_file(
        &plain_config,
        &format!(
            "[email]\naccount = \"sink\"\nto = [\"{RCPT}\"]\nlevel = \"always\"\n\n\
             [accounts.sink]\nfrom = \"{USER}\"\nserver = \"127.0.0.1:{sink_port}\"\n\
             security = \"none\"\n"
        ),
    )?;
    let plain_msmtprc = dir.join("msmtprc-plain");
    write_file(
        &plain_msmtprc,
        &format!(
            "account sink\nhost 127.0.0.1\nport {sink_port}\nfrom {USER}\ntls off\n\
             auth off\n\naccount default : sink\n"
        ),
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(&plain_msmtprc, fs::Permissions::from_mode(0o600));
    }
    let plain_cases = [
        {
            let (notify, config) = (notify.clone(), plain_config.clone());
            let data_dir = dir.join("notify-data-plain");
            Case::new("notify send", move || {
                let mut c = Command::new(&notify);
                c.arg("--config")
                    .arg(&config)
                    .arg("--data-dir")
                    .arg(&data_dir)
                    .args(["-q", "send", "--task", "Bench", "--status", "failure"])
                    .args(["--exit-code", "1"]);
                c
            })
        },
        {
            let (msmtprc, dir) = (plain_msmtprc.clone(), dir.clone());
            Case::new("msmtp", move || {
                let mut c = Command::new("msmtp");
                c.arg("-C").arg(&msmtprc).arg(RCPT);
                c.stdin(message_file(&dir));
                c
            })
        },
        Case::new("swaks", move || {
            let mut c = Command::new("swaks");
            c.args(["--to", RCPT, "--from", USER, "--server", "127.0.0.1"])
                .args(["--port", &sink_port.to_string()])
                .args(["--header", "Subject: bench: Bench: failure"])
                .args(["--body", "Task Bench failed with exit code 1."]);
            c
        }),
        {
            let apprise = apprise.clone();
            Case::new("apprise", move || {
                let url = format!(
                    "mailto://127.0.0.1:{sink_port}?smtp=127.0.0.1&from={}&to={}&mode=insecure",
                    USER.replace('@', "%40"),
                    RCPT.replace('@', "%40"),
                );
                let mut c = Command::new(&apprise);
                c.args(["-t", "bench: Bench: failure"])
                    .args(["-b", "Task Bench failed with exit code 1."])
                    .arg(url);
                c
            })
        },
        {
            let bare = bare.clone();
            Case::new("bare lettre", move || {
                let mut c = Command::new(&bare);
                c.args([
                    "127.0.0.1",
                    &sink_port.to_string(),
                    "-",
                    "-",
                    "-",
                    USER,
                    RCPT,
                ]);
                c
            })
        },
    ];
    println!("==> plaintext send on smtp-sink: the same five, {rounds} rounds");
    let plain = interleave(&plain_cases, rounds)?;
    drop(sink);

    // 2. `notify run -- true` vs `true`.
    println!("==> notify run -- true vs true, {rounds} rounds");
    let run_cases = [
        {
            let (notify, config, data_dir) = (notify.clone(), config.clone(), data_dir.clone());
            Case::new("notify run -- true", move || {
                let mut c = Command::new(&notify);
                c.arg("--config")
                    .arg(&config)
                    .arg("--data-dir")
                    .arg(&data_dir)
                    .args(["-q", "run", "--task", "True", "--level", "never"])
                    .args(["--", "true"])
                    .env(PW_ENV, PASSWORD);
                c
            })
        },
        Case::new("true", || Command::new("true")),
    ];
    let run = interleave(&run_cases, rounds)?;

    // 3. 1 GiB of child output through `notify run`: zeros (pass-through)
    // and restic-like lines, read by the restic and the generic reader.
    let run_section = run_1gib(&notify, &dir.join("run-1gib"), rounds)?;

    // 4. `notify --version`, a fresh process each time.
    println!("==> notify --version, {rounds} runs");
    let version_case = [{
        let notify = notify.clone();
        Case::new("notify --version", move || {
            let mut c = Command::new(&notify);
            c.arg("--version");
            c
        })
    }];
    let version = interleave(&version_case, rounds)?;

    // 4b. `notify check` with nothing to do and 1,000 tasks of history,
    // every one expected, vs `notify --version`, interleaved.
    println!("==> notify check (1,000 tasks of history) vs notify --version, {rounds} rounds");
    let (check_config, check_data) = check_history(&dir.join("check"))?;
    let check_cases = [
        {
            let notify = notify.clone();
            Case::new("notify check", move || {
                let mut c = Command::new(&notify);
                c.arg("--config")
                    .arg(&check_config)
                    .arg("--data-dir")
                    .arg(&check_data)
                    .args(["-q", "check"]);
                c
            })
        },
        {
            let notify = notify.clone();
            Case::new("notify --version", move || {
                let mut c = Command::new(&notify);
                c.arg("--version");
                c
            })
        },
    ];
    let check = interleave(&check_cases, rounds)?;

    // 4c. A Healthchecks ping: `notify send` with only a `[healthchecks]`
    // destination vs `curl -fsS -m 10` of the same URL, on a local server.
    println!("==> Healthchecks ping: notify send vs curl, {rounds} rounds");
    let ping_server = PingServer::start(&python)?;
    let ping_url = format!("http://127.0.0.1:{}/ping/5f0e-bench", ping_server.port);
    let ping_config = dir.join("notify-ping.toml");
    write_file(
        &ping_config,
        &format!("[email]\nlevel = \"never\"\n\n[healthchecks]\nurl = \"{ping_url}\"\n"),
    )?;
    let ping_cases = [
        {
            let (notify, config) = (notify.clone(), ping_config.clone());
            let data_dir = dir.join("notify-data-ping");
            Case::new("notify send (ping)", move || {
                let mut c = Command::new(&notify);
                c.arg("--config")
                    .arg(&config)
                    .arg("--data-dir")
                    .arg(&data_dir)
                    .args(["-q", "send", "--task", "Bench", "--status", "success"]);
                c
            })
        },
        {
            let url = ping_url.clone();
            Case::new("curl -fsS -m 10", move || {
                let mut c = Command::new("curl");
                c.args(["-fsS", "-m", "10", "-o", "/dev/null"]).arg(&url);
                c
            })
        },
    ];
    let ping = interleave(&ping_cases, rounds)?;
    let ping_rss: Vec<Option<u64>> = ping_cases.iter().map(|c| c.peak_rss_kib(3, &dir)).collect();
    let ping_count = ping_server.count();
    drop(ping_server);

    // 5. `notify queue flush` of 1,000 queued messages vs pooled smtplib.
    let queue_rounds = rounds;
    println!("==> queue flush of {QUEUED} messages vs pooled smtplib, {queue_rounds} rounds");
    let flush = queue_flush(&notify, &dir, &config, &python, port, &ca, queue_rounds)?;

    drop(server);

    // 6. The default template render, with criterion.
    println!("==> template render (criterion)");
    let render_ns = criterion_median_ns("render/en/subject+body", "render_en_subject+body")?;

    // The table.
    let t = &send.times;
    let mut rows = Vec::new();
    for (peer, target) in [(1, 0.1), (2, 0.15), (3, 0.02)] {
        let ratio = paired_ratio(&t[0], &t[peer]);
        rows.push(Row {
            figure: format!("send, STARTTLS+AUTH (vs {})", send.names[peer]),
            notify: ms_summary(&t[0]),
            peer: ms_summary(&t[peer]),
            ratio: format!("{ratio:.3}"),
            target: format!("≤ {target}"),
            met: verdict(ratio <= target),
        });
    }
    let w = &warm.times;
    for peer in 1..warm.names.len() {
        rows.push(Row {
            figure: format!("send, STARTTLS+AUTH, warm (vs {})", warm.names[peer]),
            notify: ms_summary(&w[0]),
            peer: ms_summary(&w[peer]),
            ratio: format!("{:.3}", paired_ratio(&w[0], &w[peer])),
            target: "—".into(),
            met: "—".into(),
        });
    }
    let bare_ratio = paired_ratio(&t[0], &t[4]);
    rows.push(Row {
        figure: "send vs bare nodelay lettre program".into(),
        notify: ms_summary(&t[0]),
        peer: ms_summary(&t[4]),
        ratio: format!("{bare_ratio:.2}"),
        target: "≤ 1.5".into(),
        met: verdict(bare_ratio <= 1.5),
    });
    if let Some((client, server_ms, wall)) = cpu {
        rows.push(Row {
            figure: "CPU per send: notify (user + system) / the aiosmtpd server".into(),
            notify: format!("{client:.1} ms"),
            peer: format!("{server_ms:.1} ms"),
            ratio: format!(
                "{:.0} % of {wall:.1} ms",
                (client + server_ms) / wall * 100.0
            ),
            target: "—".into(),
            met: "—".into(),
        });
    }
    for (peer, target) in [(1usize, Some(0.75)), (2, None), (3, None), (4, None)] {
        let ratio = match (rss[0], rss[peer]) {
            (Some(a), Some(b)) => Some(a as f64 / b as f64),
            _ => None,
        };
        rows.push(Row {
            figure: format!("peak RSS of send (vs {})", send.names[peer]),
            notify: mb(rss[0]),
            peer: mb(rss[peer]),
            ratio: ratio.map_or("—".into(), |r| format!("{r:.2}")),
            target: target.map_or("—".into(), |t| format!("≤ {t}")),
            met: match (ratio, target) {
                (Some(r), Some(t)) => verdict(r <= t),
                _ => "—".into(),
            },
        });
    }
    let overhead: Vec<f64> = run.times[0]
        .iter()
        .zip(&run.times[1])
        .map(|(a, b)| a - b)
        .collect();
    let overhead_median = median(&overhead);
    rows.push(Row {
        figure: "`notify run -- true` overhead over `true`".into(),
        notify: ms_summary(&run.times[0]),
        peer: ms_summary(&run.times[1]),
        ratio: format!("+{overhead_median:.2} ms"),
        target: "≤ +3 ms".into(),
        met: verdict(overhead_median <= 3.0),
    });
    let check_ratio = paired_ratio(&check.times[0], &check.times[1]);
    rows.push(Row {
        figure:
            "`notify check`, nothing to do, 1,000 expected tasks of history (vs `notify --version`)"
                .into(),
        notify: ms_summary(&check.times[0]),
        peer: ms_summary(&check.times[1]),
        ratio: format!("{check_ratio:.2}"),
        target: "≤ 2".into(),
        met: verdict(check_ratio <= 2.0),
    });
    let ping_ratio = paired_ratio(&ping.times[0], &ping.times[1]);
    rows.push(Row {
        figure: format!(
            "Healthchecks ping: `notify send` vs `curl -fsS -m 10`, same URL ({ping_count} pings served)"
        ),
        notify: ms_summary(&ping.times[0]),
        peer: ms_summary(&ping.times[1]),
        ratio: format!("{ping_ratio:.2}"),
        target: "≤ 1.0".into(),
        met: verdict(ping_ratio <= 1.0),
    });
    rows.push(Row {
        figure: "peak RSS of that `notify send` (vs curl)".into(),
        notify: mb(ping_rss[0]),
        peer: mb(ping_rss[1]),
        ratio: match (ping_rss[0], ping_rss[1]) {
            (Some(a), Some(b)) => format!("{:.2}", a as f64 / b as f64),
            _ => "—".into(),
        },
        target: "—".into(),
        met: "—".into(),
    });
    rows.push(Row {
        figure: "`notify --version` (fresh process)".into(),
        notify: ms_summary(&version.times[0]),
        peer: "—".into(),
        ratio: "—".into(),
        target: "—".into(),
        met: "—".into(),
    });
    let rate = |ms: &[f64]| QUEUED as f64 * 1000.0 / median(ms);
    let flush_ratio = paired_ratio(&flush.times[1], &flush.times[0]);
    rows.push(Row {
        figure: format!("`notify queue flush` of {QUEUED} (vs pooled smtplib loop)"),
        notify: format!("{:.0} msg/s", rate(&flush.times[0])),
        peer: format!("{:.0} msg/s", rate(&flush.times[1])),
        ratio: format!("{flush_ratio:.2}"),
        target: "≥ 1.0".into(),
        met: verdict(flush_ratio >= 1.0),
    });
    rows.push(Row {
        figure: "default template render, subject + body (criterion)".into(),
        notify: format!("{render_ns:.0} ns"),
        peer: "—".into(),
        ratio: "—".into(),
        target: "< 2 µs".into(),
        met: verdict(render_ns < 2000.0),
    });
    let p = &plain.times;
    for peer in 1..plain_cases.len() {
        rows.push(Row {
            figure: format!("send, plaintext on smtp-sink (vs {})", plain.names[peer]),
            notify: ms_summary(&p[0]),
            peer: ms_summary(&p[peer]),
            ratio: format!("{:.3}", paired_ratio(&p[0], &p[peer])),
            target: "—".into(),
            met: "—".into(),
        });
    }

    let table = markdown_table(&rows);

    let date = utc_now();
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let versions = [
        ("notify", first_line(&notify, &["--version"])),
        ("msmtp", first_line(Path::new("msmtp"), &["--version"])),
        ("swaks", first_line(Path::new("swaks"), &["--version"])),
        ("apprise", first_line(&apprise, &["--version"])),
        ("rustc", first_line(Path::new("rustc"), &["--version"])),
    ];
    let mut doc = String::from("# notify benchmarks\n\n");
    doc.push_str("Written by `cargo xtask bench` (do not edit by hand).\n\n");
    doc.push_str(&format!(
        "- date: {date}\n- machine: {nproc} CPUs, {}\n",
        cpu_model()
    ));
    let set: Vec<&str> = TLS_VARS
        .into_iter()
        .filter(|v| std::env::var_os(v).is_some())
        .collect();
    doc.push_str(&format!(
        "- certificates: the system's store ({}; removed for the runs)\n",
        if set.is_empty() {
            "no SSL_CERT_FILE or SSL_CERT_DIR set".to_owned()
        } else {
            format!("this machine sets {}", set.join(" and "))
        }
    ));
    for (name, v) in &versions {
        doc.push_str(&format!("- {name}: {v}\n"));
    }
    doc.push_str(&format!(
        "\nOne message per process to a local aiosmtpd server (STARTTLS, AUTH PLAIN, \
         certificate verified against a private CA); {rounds} rounds interleaved \
         (notify, msmtp, swaks, apprise, bare lettre, notify, ...) after one warm-up round. \
         The bare lettre program (`crates/notify-smtp/examples/bare_send.rs`) is lettre \
         alone on a TCP stream connected by hand with TCP_NODELAY: STARTTLS, AUTH PLAIN, \
         the same message, QUIT. Times are \
         wall time of the whole process, median (min–max); ratios are the median of the \
         round-by-round ratios notify / peer. Peak RSS is GNU time's %M, the largest of \
         3 runs. Queue flush: \
         {QUEUED} messages queued once (sends to a closed port), copied back before each of \
         {queue_rounds} interleaved rounds; the peer is one Python smtplib connection \
         (STARTTLS, login) sending {QUEUED} copies of a small message; rates are \
         messages per second of whole-process wall time; the ratio is notify rate / peer \
         rate. Warm: the same five interleaved, but each measured run comes right \
         after an unmeasured run of the same program; the difference to the first \
         rows is what a process pays when the machine and the server were busy with \
         another program (or idle) just before — the same few milliseconds for every \
         client, which weigh on the fastest most. CPU per send: the user + system time of {CPU_RUNS} `notify send` \
         processes and of the server process over the same sends, per send, from \
         /proc (clock-tick resolution); client and server take turns, so together they \
         are most of the wall time, and the server's share is paid by every client \
         alike. Healthchecks ping: `notify send` of a success with only a `[healthchecks]` \
         destination (the history written too) and `curl -fsS -m 10` of the same ping URL, \
         interleaved, against Python's threading HTTP server answering 200. \
         Plaintext: the same five send the same message to postfix's smtp-sink \
         (no TLS, no AUTH), {rounds} rounds interleaved. Template render: criterion's \
         median for the default English subject and body (`cargo xtask bench criterion` \
         runs all the criterion benchmarks).\n\n"
    ));
    doc.push_str(&table);
    doc.push_str(&run_section.markdown(&versions[0].1, &date, false));

    println!("\n{table}");
    println!("{}", run_section.table());
    let out_dir = root().join("bench");
    fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    write_file(&out_dir.join("results.md"), &doc)?;
    println!(
        "bench: wrote bench/results.md in {:.0}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The pooled-connection peer of `notify queue flush`.
const SMTPLIB_LOOP: &str = r#"
import smtplib, ssl, sys
port, ca, n, path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
msg = open(path, "rb").read()
s = smtplib.SMTP("127.0.0.1", port)
s.starttls(context=ssl.create_default_context(cafile=ca))
s.login("user@example.com", "password")
for _ in range(n):
    s.sendmail("user@example.com", ["rcpt@example.com"], msg)
s.quit()
"#;

/// A data directory with 1,000 tasks of history (50 good runs each, none
/// recent enough to be overdue under `expect_every = "1000d"` for all),
/// and the config that expects them; the first check builds the index.
fn check_history(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let _ = fs::remove_dir_all(dir);
    let history = dir.join("data/history");
    fs::create_dir_all(&history).map_err(|e| format!("{}: {e}", history.display()))?;
    for i in 0..1000 {
        let task = format!("task-{i:04}");
        let runs: Vec<String> = (1..=50)
            .map(|d| {
                let day = format!("2026-{:02}-{:02}T03:00:00Z", 9 + d / 29, 1 + d % 28);
                format!(
                    "{{\"outcome\":\"success\",\"started_at\":\"{day}\",\"finished_at\":\"{day}\",\
                     \"exit_code\":0,\"bytes_copied\":123456789,\"files_copied\":1234,\
                     \"error_count\":0,\"warning_count\":0}}"
                )
            })
            .collect();
        let json = format!(
            "{{\"task\":\"{task}\",\"first_seen_at\":\"2026-09-01T00:00:00Z\",\"runs\":[{}]}}",
            runs.join(",")
        );
        write_file(&history.join(format!("{task}.json")), &json)?;
    }
    let config = dir.join("config.toml");
    write_file(
        &config,
        "[email]\nto = \"ops@example.com\"\nexpect_every = \"1000d\"\n",
    )?;
    Ok((config, dir.join("data")))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(to);
    fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let entries = fs::read_dir(from).map_err(|e| format!("cannot list {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", from.display()))?;
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()))?;
        } else {
            fs::copy(&path, to.join(entry.file_name()))
                .map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Queued `.json` files directly in `queue`.
fn queued(queue: &Path) -> usize {
    fs::read_dir(queue).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.ends_with(".json") && !name.starts_with('.')
            })
            .count()
    })
}

/// Times `notify queue flush` of [`QUEUED`] messages and the smtplib loop,
/// interleaved.
fn queue_flush(
    notify: &Path,
    dir: &Path,
    config: &Path,
    python: &Path,
    port: u16,
    ca: &Path,
    rounds: usize,
) -> Result<Series, String> {
    // Queue the messages once: the same account on a closed port.
    let live = fs::read_to_string(config).map_err(|e| format!("{}: {e}", config.display()))?;
    let dead_config = dir.join("notify-dead.toml");
    write_file(
        &dead_config,
        &live.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:1"),
    )?;
    let template = dir.join("queue-template");
    let filling = Instant::now();
    for _ in 0..QUEUED {
        let mut queue_cmd = Command::new(notify);
        stock_tls(&mut queue_cmd);
        let out = queue_cmd
            .arg("--config")
            .arg(&dead_config)
            .arg("--data-dir")
            .arg(&template)
            .args(["-q", "send", "--task", "Queued", "--status", "failure"])
            .env(PW_ENV, PASSWORD)
            .output()
            .map_err(|e| format!("cannot start {}: {e}", notify.display()))?;
        if out.status.code() != Some(75) {
            return Err(format!(
                "queueing a message: expected exit 75 (queued), got {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    let have = queued(&template.join("queue"));
    if have != QUEUED {
        return Err(format!("{have} messages queued, expected {QUEUED}"));
    }
    println!(
        "    queued {QUEUED} messages in {:.1}s",
        filling.elapsed().as_secs_f64()
    );
    let script = dir.join("smtplib_loop.py");
    write_file(&script, SMTPLIB_LOOP)?;
    // The peer sends a message about as large as a queue entry.
    let sample = fs::read_dir(template.join("queue"))
        .ok()
        .and_then(|mut entries| entries.find_map(Result::ok))
        .and_then(|e| fs::metadata(e.path()).ok())
        .map_or(1000, |m| m.len() as usize);
    let body_line = "x".repeat(76);
    let mut message = format!("From: {USER}\r\nTo: {RCPT}\r\nSubject: bench: Queued\r\n\r\n");
    while message.len() < sample {
        message.push_str(&body_line);
        message.push_str("\r\n");
    }
    let message_path = dir.join("queued-message.eml");
    write_file(&message_path, &message)?;

    let round_dir = dir.join("queue-round");
    let mut times = vec![Vec::new(), Vec::new()];
    for round in 0..rounds {
        copy_dir(&template, &round_dir)?;
        let start = Instant::now();
        let mut flush_cmd = Command::new(notify);
        stock_tls(&mut flush_cmd);
        let out = flush_cmd
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(&round_dir)
            .args(["-q", "queue", "flush"])
            .env(PW_ENV, PASSWORD)
            .output()
            .map_err(|e| format!("cannot start {}: {e}", notify.display()))?;
        times[0].push(start.elapsed().as_secs_f64() * 1e3);
        let left = queued(&round_dir.join("queue"));
        if !out.status.success() || left != 0 {
            return Err(format!(
                "notify queue flush ({}) left {left} queued: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let start = Instant::now();
        let out = Command::new(python)
            .arg(&script)
            .arg(port.to_string())
            .arg(ca)
            .arg(QUEUED.to_string())
            .arg(&message_path)
            .output()
            .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
        times[1].push(start.elapsed().as_secs_f64() * 1e3);
        if !out.status.success() {
            return Err(format!(
                "the smtplib loop failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        println!("    round {}/{rounds}", round + 1);
    }
    Ok(Series {
        names: vec!["notify queue flush", "smtplib loop"],
        times,
    })
}

/// The heading of the 1 GiB section of `bench/results.md`, its last
/// section: `bench --only run` rewrites the page from there on.
const RUN_HEADING: &str = "## 1 GiB through `notify run`";

const MIB: usize = 1 << 20;

/// The restic-like input is `cat first block ... block last`: this many
/// files of 1 MiB each.
const RUN_FILES: usize = (GIB as usize) / MIB;

/// Runs of each `notify run` case under GNU time for its peak RSS.
const RUN_RSS_RUNS: usize = 3;

/// The 1 GiB figures and what a page says about them.
struct RunSection {
    rows: Vec<Row>,
    rounds: usize,
    /// Lines in the 1 GiB of restic-like output.
    lines: u64,
    /// The 1-minute load average before and after the measurement.
    load: (String, String),
}

impl RunSection {
    fn table(&self) -> String {
        markdown_table(&self.rows)
    }

    /// The section of `bench/results.md`, from its heading on; `alone` when
    /// `bench --only run` measured it without the rest of the page.
    fn markdown(&self, notify_version: &str, date: &str, alone: bool) -> String {
        let rounds = self.rounds;
        let lines = self.lines;
        let average = GIB as f64 / lines as f64;
        let (before, after) = &self.load;
        let mut text = format!("\n{RUN_HEADING}\n\n");
        if alone {
            let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
            text.push_str(&format!(
                "Measured on its own with `cargo xtask bench --only run`: {date}, {nproc} \
                 CPUs, {}, {notify_version}. The figures above may come from an earlier \
                 full run (see its date and machine).\n\n",
                cpu_model()
            ));
        }
        text.push_str(&format!(
            "1 GiB of output through `notify run -q --level never -- COMMAND` (output \
             passed through to /dev/null, nothing sent), {rounds} rounds interleaved with \
             their peers after one warm-up round; GiB/s from the median wall time of the \
             whole process (min–max of the rounds in brackets); the ratio is notify's \
             rate / the peer's, the median of the round-by-round ratios. Pass-through: \
             `head -c 1G /dev/zero` as in earlier runs: no line ends, and the cleaner \
             drops the NUL bytes; read by the generic reader (`head` is no tool notify \
             knows). Restic-like lines: what `restic backup -vv` prints (restic's \
             header, `unchanged`, `new` and `modified` lines of files and directories \
             with restic's sizes, its summary), {lines} lines of {average:.0} bytes on \
             average, made once from a fixed seed and printed by one `cat` of \
             {RUN_FILES} files of 1 MiB (the first holds the header, the last the \
             summary); `--tool restic` picks the restic reader, without it the generic \
             reader reads the same lines. The peer of both is the same `cat` into a \
             pipe to a second `cat`; the generator alone is that `cat` into /dev/null. \
             Peak RSS: GNU time's %M, the largest of {RUN_RSS_RUNS} runs (it counts \
             notify's child too, the smaller process). Load average (1 min) before / \
             after: {before} / {after}.\n\n"
        ));
        text.push_str(&self.table());
        text
    }
}

/// `notify run` with its output going to /dev/null, 1 GiB of it: zeros as
/// before, and restic-like lines read by the restic and the generic
/// reader, interleaved with plain pipes and the generator alone. `dir` is
/// made afresh.
fn run_1gib(notify: &Path, dir: &Path, rounds: usize) -> Result<RunSection, String> {
    let _ = fs::remove_dir_all(dir);
    let input = dir.join("input");
    fs::create_dir_all(&input).map_err(|e| format!("cannot create {}: {e}", input.display()))?;
    let config = dir.join("notify.toml");
    write_file(
        &config,
        &format!("[email]\nto = [\"{RCPT}\"]\nlevel = \"never\"\n"),
    )?;
    let lines = restic_input(&input)?;
    let mut files = vec!["first".to_string()];
    files.extend(std::iter::repeat_n("block".to_string(), RUN_FILES - 2));
    files.push("last".into());
    let cat_line = format!("cat {}", files.join(" "));

    let data_dir = dir.join("notify-data");
    let notify_run = |name: &'static str, tool: Option<&'static str>, argv: Vec<String>| {
        let (notify, config, data_dir, input) = (
            notify.to_path_buf(),
            config.clone(),
            data_dir.clone(),
            input.clone(),
        );
        Case::new(name, move || {
            let mut c = Command::new(&notify);
            c.arg("--config")
                .arg(&config)
                .arg("--data-dir")
                .arg(&data_dir)
                .args(["-q", "run", "--task", "Big", "--level", "never"]);
            if let Some(tool) = tool {
                c.args(["--tool", tool]);
            }
            c.arg("--").args(&argv).current_dir(&input);
            c
        })
    };
    let in_input = |name: &'static str, program: &'static str, argv: Vec<String>| {
        let input = input.clone();
        Case::new(name, move || {
            let mut c = Command::new(program);
            c.args(&argv).current_dir(&input);
            c
        })
    };
    let zeros = vec![
        "head".into(),
        "-c".into(),
        GIB.to_string(),
        "/dev/zero".into(),
    ];
    let mut cat = vec!["cat".to_string()];
    cat.extend(files.iter().cloned());
    let cases = [
        notify_run("notify run, zeros", None, zeros),
        in_input(
            "head | cat, zeros",
            "sh",
            vec!["-c".into(), format!("head -c {GIB} /dev/zero | cat")],
        ),
        notify_run(
            "notify run --tool restic, lines",
            Some("restic"),
            cat.clone(),
        ),
        notify_run("notify run, lines", None, cat),
        in_input(
            "cat | cat, lines",
            "sh",
            vec!["-c".into(), format!("{cat_line} | cat")],
        ),
        in_input("cat, lines", "cat", files.clone()),
    ];
    let load_before = load_average();
    println!(
        "==> 1 GiB through notify run: zeros, restic-like lines (restic reader, generic \
         reader), plain pipes, the generator alone; {rounds} rounds (load average {load_before})"
    );
    let series = interleave(&cases, rounds)?;
    println!("==> peak RSS of the 1 GiB runs (GNU time, largest of {RUN_RSS_RUNS} runs each)");
    // notify's three cases and the generator alone; not the shell pipes.
    let rss: Vec<Option<u64>> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            [0, 2, 3, 5]
                .contains(&i)
                .then(|| c.peak_rss_kib(RUN_RSS_RUNS, dir))
                .flatten()
        })
        .collect();
    let load_after = load_average();

    let t = &series.times;
    let rate = |ms: &[f64]| 1000.0 / median(ms);
    let gibs = |ms: &[f64]| {
        format!(
            "{:.2} GiB/s ({:.2}–{:.2})",
            rate(ms),
            1000.0 / max(ms),
            1000.0 / min(ms)
        )
    };
    let under_20_mb = |kib: Option<u64>| kib.map_or("—".into(), |k| verdict(k < 20 * 1024));
    let mut rows = Vec::new();
    rows.push(Row {
        figure: "`notify run` 1 GiB pass-through (vs `head -c 1G /dev/zero \\| cat`)".into(),
        notify: gibs(&t[0]),
        peer: gibs(&t[1]),
        ratio: format!("{:.2}", paired_ratio(&t[1], &t[0])),
        target: "≥ 1 GiB/s".into(),
        met: verdict(rate(&t[0]) >= 1.0),
    });
    rows.push(Row {
        figure: "`notify run` 1 GiB pass-through, peak RSS".into(),
        notify: mb(rss[0]),
        peer: "—".into(),
        ratio: "—".into(),
        target: "< 20 MB".into(),
        met: under_20_mb(rss[0]),
    });
    rows.push(Row {
        figure: "`notify run --tool restic`, 1 GiB of restic-like lines (vs `cat … \\| cat`)"
            .into(),
        notify: gibs(&t[2]),
        peer: gibs(&t[4]),
        ratio: format!("{:.2}", paired_ratio(&t[4], &t[2])),
        target: "≥ 1 GiB/s".into(),
        met: verdict(rate(&t[2]) >= 1.0),
    });
    rows.push(Row {
        figure: "`notify run --tool restic`, 1 GiB of restic-like lines, peak RSS".into(),
        notify: mb(rss[2]),
        peer: "—".into(),
        ratio: "—".into(),
        target: "< 20 MB".into(),
        met: under_20_mb(rss[2]),
    });
    rows.push(Row {
        figure: "`notify run`, generic reader, the same lines (vs `cat … \\| cat`)".into(),
        notify: gibs(&t[3]),
        peer: gibs(&t[4]),
        ratio: format!("{:.2}", paired_ratio(&t[4], &t[3])),
        target: "—".into(),
        met: "—".into(),
    });
    rows.push(Row {
        figure: "`notify run`, generic reader, the same lines, peak RSS".into(),
        notify: mb(rss[3]),
        peer: "—".into(),
        ratio: "—".into(),
        target: "< 20 MB".into(),
        met: under_20_mb(rss[3]),
    });
    rows.push(Row {
        figure: "generator alone: the same `cat` into /dev/null (rate, peak RSS)".into(),
        notify: "—".into(),
        peer: format!("{}, {}", gibs(&t[5]), mb(rss[5])),
        ratio: "—".into(),
        target: "—".into(),
        met: "—".into(),
    });
    Ok(RunSection {
        rows,
        rounds,
        lines,
        load: (load_before, load_after),
    })
}

/// The 1-minute load average, or `n/a`.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "n/a".into())
}

/// `bench --only run`: the 1 GiB figures alone, written into the last
/// section of `bench/results.md` (the rest of the page is kept).
fn only_run_section(rounds: usize) -> Result<(), String> {
    let start = Instant::now();
    let notify = build_notify()?;
    if !Path::new("/usr/bin/time").exists() {
        Apt { updated: false }.install(&["time"], "GNU time (it measures peak RSS) is missing")?;
    }
    let dir = root().join("target/bench-side-by-side/run-1gib");
    let section = run_1gib(&notify, &dir, rounds)?;
    let path = root().join("bench/results.md");
    let page = fs::read_to_string(&path).unwrap_or_else(|_| {
        "# notify benchmarks\n\nWritten by `cargo xtask bench` (do not edit by hand).\n".into()
    });
    let version = first_line(&notify, &["--version"]);
    let doc = with_run_section(&page, &section.markdown(&version, &utc_now(), true));
    println!("\n{}", section.table());
    write_file(&path, &doc)?;
    println!(
        "bench: wrote the 1 GiB section of bench/results.md in {:.0}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `page` with its 1 GiB section replaced by `section`. A page from before
/// the section had the pass-through in its main table: those rows and
/// their sentence go.
fn with_run_section(page: &str, section: &str) -> String {
    let kept = match page.find(&format!("\n{RUN_HEADING}")) {
        Some(at) => page[..at].to_string(),
        None => {
            let mut text: String = page
                .lines()
                .filter(|l| !l.starts_with("| `notify run` 1 GiB"))
                .map(|l| format!("{l}\n"))
                .collect();
            let sentence_end = "/dev/null. ";
            if let Some(from) = text.find("1 GiB pass-through: ") {
                if let Some(len) = text[from..].find(sentence_end) {
                    text.replace_range(from..from + len + sentence_end.len(), "");
                }
            }
            text
        }
    };
    format!("{}\n{section}", kept.trim_end_matches('\n'))
}

/// A small, fixed pseudo-random sequence (xorshift64*): the same input on
/// every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A size as restic prints it: `729 B`, `4.987 KiB`, `3.098 MiB`.
fn restic_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.3} {}", UNITS[unit])
}

/// What the restic-like lines counted, for a summary that about adds up.
#[derive(Default, Clone, Copy)]
struct Tally {
    files: [u64; 3], // new, changed, unmodified
    dirs: [u64; 3],
    bytes: u64,
    added: u64,
}

impl Tally {
    fn add(&mut self, other: &Tally, times: u64) {
        for i in 0..3 {
            self.files[i] += other.files[i] * times;
            self.dirs[i] += other.dirs[i] * times;
        }
        self.bytes += other.bytes * times;
        self.added += other.added * times;
    }
}

/// Appends one line of `restic backup -vv` (a file or a directory,
/// unchanged, new or modified) to `out`.
fn restic_line(rng: &mut Rng, tally: &mut Tally, out: &mut String) {
    const DIRS: &[&str] = &[
        "Documents",
        "Pictures",
        "projects",
        "src",
        "notes",
        "2025",
        "2026",
        "Mail",
        ".config",
        "archive",
        "Music",
        "build",
        "assets",
        "invoices",
        "photos",
        "website",
    ];
    const EXTS: &[&str] = &[
        ".txt", ".jpg", ".rs", ".md", ".json", ".tar.gz", ".pdf", ".png", ".toml", ".log", ".odt",
        ".mp3",
    ];
    let mut path = String::from("/home/user");
    for _ in 0..1 + rng.below(4) {
        path.push('/');
        path.push_str(rng.pick(DIRS));
    }
    let secs = format!("{}.{:03}s", rng.below(2), rng.below(1000));
    let bits = 4 + rng.below(24);
    let size = rng.below(1 << bits);
    let roll = rng.below(100);
    let line = if roll < 95 {
        path.push_str(&format!("/file{}{}", rng.below(100_000), rng.pick(EXTS)));
        tally.bytes += size;
        match roll {
            0..=59 => {
                tally.files[2] += 1;
                format!("unchanged {path}")
            }
            60..=84 => {
                tally.files[0] += 1;
                tally.added += size;
                format!(
                    "new       {path}, saved in {secs} ({} added)",
                    restic_size(size)
                )
            }
            _ => {
                tally.files[1] += 1;
                let added = size / (1 + rng.below(8));
                tally.added += added;
                format!(
                    "modified  {path}, saved in {secs} ({} added, {} stored)",
                    restic_size(added),
                    restic_size(added * 3 / 4)
                )
            }
        }
    } else {
        let meta = restic_size(200 + rng.below(40_000));
        match rng.below(3) {
            0 => {
                tally.dirs[2] += 1;
                format!("unchanged {path}/")
            }
            1 => {
                tally.dirs[0] += 1;
                format!(
                    "new       {path}/, saved in {secs} (0 B added, 0 B stored, {meta} metadata)"
                )
            }
            _ => {
                tally.dirs[1] += 1;
                format!(
                    "modified  {path}/, saved in {secs} (0 B added, 0 B stored, {meta} metadata)"
                )
            }
        }
    };
    out.push_str(&line);
    out.push('\n');
}

/// Fills `out` with restic-like lines up to exactly `len` bytes (more
/// than 300 to go).
fn fill_restic_lines(rng: &mut Rng, tally: &mut Tally, out: &mut String, len: usize) {
    while len - out.len() > 300 {
        restic_line(rng, tally, out);
    }
    // The last bytes: `unchanged` lines of a chosen length (41 bytes or
    // more: the name takes the rest).
    let head = "unchanged /home/user/archive/scan-";
    let tail = ".txt\n";
    loop {
        let left = len - out.len();
        let this = if left > 100 { 60 } else { left };
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let from = rng.below(ALPHABET.len() as u64) as usize;
        let name: String = (0..this - head.len() - tail.len())
            .map(|i| char::from(ALPHABET[(from + i) % ALPHABET.len()]))
            .collect();
        out.push_str(&format!("{head}{name}{tail}"));
        tally.files[2] += 1;
        if this == left {
            break;
        }
    }
}

/// Writes the restic-like input into `dir`: `first` (restic's header and
/// lines), `block` (lines) and `last` (lines and restic's summary), 1 MiB
/// each; `cat first block ... last` with [`RUN_FILES`] files is 1 GiB.
/// Returns the lines in that 1 GiB.
fn restic_input(dir: &Path) -> Result<u64, String> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut block = String::with_capacity(MIB);
    let mut block_tally = Tally::default();
    fill_restic_lines(&mut rng, &mut block_tally, &mut block, MIB);

    let mut first = String::with_capacity(MIB);
    let mut first_tally = Tally::default();
    let mut estimate = Tally::default();
    estimate.add(&block_tally, RUN_FILES as u64);
    first.push_str(&format!(
        "open repository\nlock repository\nusing parent snapshot 5d2a4f3c\nload index files\n\
         start scan on [/home/user]\nstart backup on [/home/user]\n\
         scan finished in 41.312s: {} files, {}\n",
        estimate.files.iter().sum::<u64>(),
        restic_size(estimate.bytes)
    ));
    fill_restic_lines(&mut rng, &mut first_tally, &mut first, MIB);

    let mut last = String::with_capacity(MIB);
    let mut last_tally = Tally::default();
    fill_restic_lines(&mut rng, &mut last_tally, &mut last, MIB - 1000);
    let mut total = Tally::default();
    total.add(&first_tally, 1);
    total.add(&block_tally, RUN_FILES as u64 - 2);
    total.add(&last_tally, 1);
    let [new, changed, unmodified] = total.files;
    let [dirs_new, dirs_changed, dirs_unmodified] = total.dirs;
    let summary = format!(
        "\nFiles:       {new:5} new, {changed:5} changed, {unmodified:5} unmodified\n\
         Dirs:        {dirs_new:5} new, {dirs_changed:5} changed, {dirs_unmodified:5} unmodified\n\
         Data Blobs:  {:5} new\nTree Blobs:  {:5} new\n\
         Added to the repository: {} ({} stored)\n\n\
         processed {} files, {} in 12:34\nsnapshot 5d2a4f3c saved\n",
        new + changed,
        dirs_new + dirs_changed,
        restic_size(total.added),
        restic_size(total.added * 3 / 4),
        new + changed + unmodified,
        restic_size(total.bytes),
    );
    // The lines that take `last` to its size are not in the summary's
    // counts: a few hundred bytes' worth in 1 GiB.
    fill_restic_lines(&mut rng, &mut last_tally, &mut last, MIB - summary.len());
    last.push_str(&summary);

    for (name, text) in [("first", &first), ("block", &block), ("last", &last)] {
        if text.len() != MIB {
            return Err(format!(
                "restic-like input: `{name}` is {} bytes, not 1 MiB",
                text.len()
            ));
        }
        write_file(&dir.join(name), text)?;
    }
    let count = |text: &str| text.bytes().filter(|&b| b == b'\n').count() as u64;
    Ok(count(&first) + count(&block) * (RUN_FILES as u64 - 2) + count(&last))
}
