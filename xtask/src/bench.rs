//! `cargo xtask bench`: notify side by side with msmtp, swaks, Apprise and a
//! bare nodelay lettre program (`crates/notify-smtp/examples/bare_send.rs`)
//! on the same local aiosmtpd server (STARTTLS + AUTH PLAIN + a private CA),
//! interleaved in one run (A B C D E A B C D E ...), the same five in
//! plaintext on postfix's smtp-sink, peak RSS, `notify run` overhead, 1 GiB
//! pass-through, `notify --version`, `notify queue flush` of 1,000 messages
//! against a pooled smtplib loop, and the default template render
//! (criterion). Installs what is missing (postfix, msmtp, swaks, GNU time
//! from Debian; Apprise into the test venv). Prints a markdown table and
//! writes it to `bench/results.md`.
//!
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
            other => return Err(format!("bench: unknown argument `{other}`")),
        }
    }
    side_by_side(rounds.max(1))
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
    if missing.is_empty() {
        println!("    msmtp, swaks (with TLS) and GNU time already installed");
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

/// One measured program: how to start one run of it.
struct Case {
    name: &'static str,
    make: Box<dyn Fn() -> Command>,
}

impl Case {
    fn new(name: &'static str, make: impl Fn() -> Command + 'static) -> Self {
        Case {
            name,
            make: Box::new(make),
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

fn side_by_side(rounds: usize) -> Result<(), String> {
    let start = Instant::now();
    let mut build = cargo();
    build.args(["build", "--release", "--locked", "-p", "notify-cli"]);
    step("cargo build --release -p notify-cli", build)?;
    let notify = target_dir().join("release/notify");
    if !notify.is_file() {
        return Err(format!("no binary at {}", notify.display()));
    }
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

    // 3. 1 GiB of child output through `notify run`, vs a plain pipe.
    let big_rounds = rounds;
    println!("==> notify run passing 1 GiB through, vs head | cat, {big_rounds} rounds");
    let big_cases = [
        {
            let (notify, config, data_dir) = (notify.clone(), config.clone(), data_dir.clone());
            Case::new("notify run 1 GiB", move || {
                let mut c = Command::new(&notify);
                c.arg("--config")
                    .arg(&config)
                    .arg("--data-dir")
                    .arg(&data_dir)
                    .args(["-q", "run", "--task", "Big", "--level", "never"])
                    .args(["--", "head", "-c", &GIB.to_string(), "/dev/zero"]);
                c
            })
        },
        Case::new("head | cat 1 GiB", || {
            let mut c = Command::new("sh");
            c.args(["-c", &format!("head -c {GIB} /dev/zero | cat")]);
            c
        }),
    ];
    let big = interleave(&big_cases, big_rounds)?;
    let big_rss = big_cases[0].peak_rss_kib(1, &dir);

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
    let kib = |k: Option<u64>| {
        k.map_or("n/a".to_string(), |k| {
            format!("{:.1} MB", k as f64 / 1024.0)
        })
    };
    for (peer, target) in [(1usize, Some(0.75)), (2, None), (3, None), (4, None)] {
        let ratio = match (rss[0], rss[peer]) {
            (Some(a), Some(b)) => Some(a as f64 / b as f64),
            _ => None,
        };
        rows.push(Row {
            figure: format!("peak RSS of send (vs {})", send.names[peer]),
            notify: kib(rss[0]),
            peer: kib(rss[peer]),
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
    let gib_per_s = |ms: &[f64]| 1000.0 / median(ms);
    let notify_gibs = gib_per_s(&big.times[0]);
    rows.push(Row {
        figure: "`notify run` 1 GiB pass-through (vs `head -c 1G /dev/zero \\| cat`)".into(),
        notify: format!("{notify_gibs:.2} GiB/s"),
        peer: format!("{:.2} GiB/s", gib_per_s(&big.times[1])),
        ratio: format!("{:.2}", paired_ratio(&big.times[1], &big.times[0])),
        target: "≥ 1 GiB/s".into(),
        met: verdict(notify_gibs >= 1.0),
    });
    rows.push(Row {
        figure: "`notify run` 1 GiB peak RSS".into(),
        notify: kib(big_rss),
        peer: "—".into(),
        ratio: "—".into(),
        target: "< 20 MB".into(),
        met: big_rss.map_or("—".into(), |k| verdict((k as f64 / 1024.0) < 20.0)),
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

    let mut table = String::from(
        "| figure | notify | peer | ratio | target | met? |\n|---|---|---|---|---|---|\n",
    );
    for r in &rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.figure, r.notify, r.peer, r.ratio, r.target, r.met
        ));
    }

    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
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
         3 runs. 1 GiB pass-through: {big_rounds} rounds, output to /dev/null. Queue flush: \
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
         alike. Plaintext: the same five send the same message to postfix's smtp-sink \
         (no TLS, no AUTH), {rounds} rounds interleaved. Template render: criterion's \
         median for the default English subject and body (`cargo xtask bench criterion` \
         runs all the criterion benchmarks).\n\n"
    ));
    doc.push_str(&table);

    println!("\n{table}");
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
        let out = Command::new(notify)
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
        let out = Command::new(notify)
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
