//! `cargo xtask faults`: notify interrupted for real, against the SMTP test
//! server, to show what SPEC section 10 promises: no notification lost, at
//! most one duplicate per interruption. Slow (a few minutes), so not part
//! of `ci`. Four scenarios, each with its own data directory, config and
//! server; a table of figures at the end; exits non-zero when a property
//! fails.
//!
//! 1. `kill -9` of `notify send` at random moments, against a slow server
//!    (each 250 comes ~100 ms after the message is saved; some connections
//!    are never greeted, some stall after the 354). Each send has its own
//!    task name, so its subject is unique. Then `notify queue flush` until
//!    the queue is empty, and each notification is looked for on the
//!    server and in the local Maildir. A notification is owed once its
//!    `notify send` has opened its own SMTP connection (seen in the `-v`
//!    transcript, after the decision to notify; a retry of the queue
//!    connects before it): by then it has been rendered, and a kill must
//!    not lose it. Kills before that are counted apart.
//! 2. `kill -9` of `notify queue flush` at random moments over 200 queued
//!    messages (the server acks each after ~100 ms), then flushes to the
//!    end.
//! 3. SIGTERM at random moments of `notify send` and of `notify run --task
//!    t -- sh -c 'sleep 0.05; exit 1'` against a server that never greets
//!    (`timeout = "30s"`): each notification ends in the queue, the
//!    Maildir or on the server, and notify exits within 1 s of the signal.
//! 4. stderr on `/dev/full`: `notify run ... -- sh -c 'exit 3'` with a
//!    subject `##Nope##` (so notify warns first) keeps the job's exit code
//!    3, and both it and a `notify send` deliver their notification.
//!
//! In 1 and 2 every notify process (killed or not) is one interruption at
//! most, and what the server received while it ran is its own (processes
//! run one at a time, and the server is let settle in between): each
//! killed process may have delivered at most one message that arrives
//! again later, a process that was not killed none; copies of one
//! notification carry one Message-ID.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{cargo, json_port, step, target_dir, test_env, write_file, Apt};

/// Kills of `notify send` in scenario 1.
const SEND_KILLS: usize = 50;
/// Queued messages and kills of `notify queue flush` in scenario 2.
const QUEUED: usize = 200;
const FLUSH_KILLS: usize = 50;
/// `notify send` and `notify run` processes stopped with SIGTERM in
/// scenario 3 (each).
const TERM_RUNS: usize = 20;
/// Runs of each command with stderr on /dev/full in scenario 4.
const FULL_RUNS: usize = 3;
/// The server's pause between saving a message and its 250.
const SLOW_ACK: f64 = 0.1;
/// How fast notify must exit after SIGTERM (SPEC: within a second).
const EXIT_TARGET: Duration = Duration::from_secs(1);
/// A process still alive this long after its signal is killed.
const HUNG: Duration = Duration::from_secs(45);
/// The `notify run` job of scenario 3.
const TERM_JOB: &str = "sleep 0.05; exit 1";
const FROM: &str = "notify@example.com";
const RCPT: &str = "rcpt@example.com";
/// Every subject of scenarios 1 and 2 is this and the task name.
const SUBJECT_PREFIX: &str = "faults ";

struct Options {
    release: bool,
    seed: u64,
    only: BTreeSet<u8>,
    keep: bool,
}

pub fn faults(args: &[String]) -> Result<(), String> {
    let mut opts = Options {
        release: false,
        seed: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 % 1_000_000_007),
        only: BTreeSet::new(),
        keep: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--release" => opts.release = true,
            "--keep" => opts.keep = true,
            "--seed" => {
                let value = it.next().ok_or("--seed needs a number")?;
                opts.seed = value
                    .parse()
                    .map_err(|_| format!("--seed: `{value}` is not a number"))?;
            }
            "--only" => {
                let value = it.next().ok_or("--only needs scenario numbers (1-4)")?;
                for part in value.split(',') {
                    match part.trim().parse::<u8>() {
                        Ok(n @ 1..=4) => {
                            opts.only.insert(n);
                        }
                        _ => return Err(format!("--only: `{part}` is not a scenario (1-4)")),
                    }
                }
            }
            other => return Err(format!("faults: unknown argument `{other}`")),
        }
    }
    if opts.only.is_empty() {
        opts.only.extend(1..=4);
    }
    let start = Instant::now();
    let notify = build_notify(opts.release)?;
    let python = test_env(&mut Apt { updated: false })?;
    let base = target_dir().join("faults");
    let _ = fs::remove_dir_all(&base);
    fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    let ctx = Ctx {
        notify,
        python,
        base: base.clone(),
    };
    println!(
        "==> fault run, seed {} (repeat with --seed {}), in {}",
        opts.seed,
        opts.seed,
        base.display()
    );
    let mut rng = Rng::new(opts.seed);
    let mut rows = Vec::new();
    type Scenario = fn(&Ctx, &mut Rng) -> Result<Row, String>;
    let scenarios: [(u8, Scenario); 4] =
        [(1, kill_send), (2, kill_flush), (3, term), (4, dev_full)];
    for (n, scenario) in scenarios {
        if opts.only.contains(&n) {
            let started = Instant::now();
            let mut row = scenario(&ctx, &mut rng)?;
            row.secs = started.elapsed().as_secs_f64();
            rows.push(row);
        }
    }

    println!();
    println!("{}", table(&rows));
    for row in &rows {
        for note in &row.notes {
            println!("  {}: {note}", row.name);
        }
    }
    for row in &rows {
        for f in &row.failures {
            println!("  FAIL {}: {f}", row.name);
        }
    }
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| !r.failures.is_empty())
        .map(|r| r.name)
        .collect();
    println!(
        "faults: {} scenario(s) in {:.0}s, seed {}",
        rows.len(),
        start.elapsed().as_secs_f64(),
        opts.seed
    );
    if failed.is_empty() && !opts.keep {
        let _ = fs::remove_dir_all(&base);
    } else {
        println!(
            "  data dirs, configs, notify's stderr (logs/) and the mail received kept in {}",
            base.display()
        );
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("property failed in: {}", failed.join(", ")))
    }
}

/// What every scenario needs.
struct Ctx {
    notify: PathBuf,
    python: PathBuf,
    base: PathBuf,
}

impl Ctx {
    /// A fresh directory for a scenario.
    fn dir(&self, name: &str) -> Result<PathBuf, String> {
        let dir = self.base.join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(dir)
    }

    /// `notify --config CONFIG --data-dir DATA`, with no `NOTIFY_*`
    /// variable of the caller's, no stdin, no stdout.
    fn notify(&self, config: &Path, data: &Path) -> Command {
        let mut cmd = Command::new(&self.notify);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("NOTIFY_") {
                cmd.env_remove(&name);
            }
        }
        cmd.arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(data)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd
    }
}

/// One line of the table, with notes and failed properties.
#[derive(Default)]
struct Row {
    name: &'static str,
    runs: usize,
    kills: usize,
    server: usize,
    maildir: usize,
    lost: usize,
    /// Found nowhere, but stopped before notify had the notification
    /// (not counted as lost).
    early: usize,
    extra: Option<usize>,
    max_copies: Option<usize>,
    exit_after: String,
    secs: f64,
    notes: Vec<String>,
    failures: Vec<String>,
}

fn table(rows: &[Row]) -> String {
    let header = [
        "scenario",
        "runs",
        "kills",
        "on server",
        "maildir",
        "lost",
        "extra copies",
        "max copies",
        "exit after SIGTERM (median / max)",
        "time",
        "result",
    ];
    let mut lines = vec![header.map(str::to_owned).to_vec()];
    for r in rows {
        let opt = |v: Option<usize>| v.map_or("-".to_owned(), |v| v.to_string());
        lines.push(vec![
            r.name.to_owned(),
            r.runs.to_string(),
            r.kills.to_string(),
            r.server.to_string(),
            r.maildir.to_string(),
            if r.early > 0 {
                format!("{} (+{} early)", r.lost, r.early)
            } else {
                r.lost.to_string()
            },
            opt(r.extra),
            opt(r.max_copies),
            if r.exit_after.is_empty() {
                "-".to_owned()
            } else {
                r.exit_after.clone()
            },
            format!("{:.0}s", r.secs),
            if r.failures.is_empty() {
                "ok".to_owned()
            } else {
                "FAIL".to_owned()
            },
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    lines
        .iter()
        .map(|l| {
            l.iter()
                .enumerate()
                .map(|(i, cell)| {
                    if i == 0 || i == 8 {
                        format!("{cell:<w$}", w = widths[i])
                    } else {
                        format!("{cell:>w$}", w = widths[i])
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn build_notify(release: bool) -> Result<PathBuf, String> {
    let mut build = cargo();
    build.args(["build", "--locked", "-p", "notify-cli"]);
    if release {
        build.arg("--release");
    }
    let profile = if release { "release" } else { "debug" };
    step(&format!("cargo build ({profile}) -p notify-cli"), build)?;
    let notify = target_dir().join(profile).join("notify");
    if notify.is_file() {
        Ok(notify)
    } else {
        Err(format!("no binary at {}", notify.display()))
    }
}

// ---------------------------------------------------------------------------
// The SMTP test server

/// The SMTP test server with one listener, `smtp`; ended (EOF on its stdin,
/// then by its PID) when dropped.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    out: PathBuf,
}

impl Server {
    /// Starts the server with `listener` (a JSON object's fields after
    /// `"name": "smtp"`), writing what it receives to `dir/mail`.
    fn start(ctx: &Ctx, dir: &Path, listener: &str) -> Result<Server, String> {
        let out = dir.join("mail");
        let config = dir.join("server.json");
        write_file(
            &config,
            &format!(
                "{{\"outdir\": {}, \"listeners\": [{{\"name\": \"smtp\", {listener}}}]}}\n",
                json_string(&out.to_string_lossy())
            ),
        )?;
        let mut child = Command::new(&ctx.python)
            .arg(crate::root().join("crates/notify-testkit/smtp_server.py"))
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", ctx.python.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let mut server = Server {
            child,
            stdin,
            port: 0,
            out,
        };
        let stdout = stdout.ok_or("no stdout from the SMTP test server")?;
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line.map_err(|e| format!("reading the server's output: {e}"))?;
            if let Some(json) = line.strip_prefix("READY ") {
                server.port =
                    json_port(json, "smtp").ok_or_else(|| format!("no port in `{line}`"))?;
                break;
            }
        }
        if server.port == 0 {
            return Err("the SMTP test server exited before it was ready".into());
        }
        thread::spawn(move || for _ in lines {});
        Ok(server)
    }

    /// The messages received so far, by their number.
    fn messages(&self) -> Vec<Mail> {
        let mut mails = Vec::new();
        let Ok(entries) = fs::read_dir(&self.out) else {
            return mails;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(n) = name
                .strip_suffix(".eml")
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            if let Ok(text) = fs::read(entry.path()) {
                mails.push(Mail::parse(n, &String::from_utf8_lossy(&text)));
            }
        }
        mails.sort_by_key(|m| m.n);
        mails
    }

    /// The number of the last message received (messages are numbered
    /// from 1 as they arrive).
    fn last(&self) -> usize {
        fs::read_dir(&self.out).map_or(0, |entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".eml")?.parse::<usize>().ok()
                })
                .max()
                .unwrap_or(0)
        })
    }

    /// Waits until every connection the server has seen is closed (so it
    /// has saved whatever it was still reading), at most 5 s.
    fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let events = fs::read_to_string(self.out.join("events.jsonl")).unwrap_or_default();
            let opened = events.matches("\"event\": \"connect\"").count();
            let closed = events.matches("\"event\": \"close\"").count();
            if opened == closed || Instant::now() > deadline {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// How often each fault was drawn.
    fn faults(&self) -> BTreeMap<String, usize> {
        let events = fs::read_to_string(self.out.join("events.jsonl")).unwrap_or_default();
        let mut counts = BTreeMap::new();
        for line in events.lines() {
            if let Some(rest) = line.split("\"fault\": \"").nth(1) {
                let name = rest.split('"').next().unwrap_or_default().to_owned();
                *counts.entry(name).or_insert(0) += 1;
            }
        }
        counts
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // EOF on stdin stops it cleanly; its PID, if it does not.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A received (or Maildir) message: its number, subject and Message-ID.
struct Mail {
    n: usize,
    subject: String,
    message_id: String,
}

impl Mail {
    fn parse(n: usize, text: &str) -> Mail {
        let mut headers: Vec<String> = Vec::new();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.push(' ');
                    last.push_str(line.trim_start());
                }
            } else {
                headers.push(line.to_owned());
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find_map(|h| {
                    let (key, value) = h.split_once(':')?;
                    key.eq_ignore_ascii_case(name)
                        .then(|| value.trim().to_owned())
                })
                .unwrap_or_default()
        };
        Mail {
            n,
            subject: header("Subject"),
            message_id: header("Message-ID"),
        }
    }

    /// The task name of a subject `faults NAME`.
    fn token(&self) -> Option<&str> {
        self.subject.strip_prefix(SUBJECT_PREFIX)
    }
}

/// The messages in a data directory's local Maildir.
fn maildir(data: &Path) -> Vec<Mail> {
    let mut mails = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = fs::read_dir(data.join("maildir").join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            if let Ok(text) = fs::read(entry.path()) {
                mails.push(Mail::parse(0, &String::from_utf8_lossy(&text)));
            }
        }
    }
    mails
}

/// The queue files of a data directory, with their text: pending, and
/// given up (`failed/`).
fn queue_files(data: &Path) -> (Vec<String>, Vec<String>) {
    let read = |dir: PathBuf| -> Vec<String> {
        let Ok(entries) = fs::read_dir(dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.ends_with(".json") && !name.starts_with('.')
            })
            .filter_map(|e| fs::read_to_string(e.path()).ok())
            .collect()
    };
    let queue = data.join("queue");
    let mut failed = read(queue.join("failed"));
    failed.extend(read(queue.join("failed/reported")));
    (read(queue), failed)
}

/// Whether a queue file's text holds the subject of `token`.
fn queued_for(text: &str, token: &str) -> bool {
    text.contains(&format!("{SUBJECT_PREFIX}{token}\""))
}

/// notify's config for a plaintext relay at `port`.
fn config(dir: &Path, port: u16, timeout: &str, subject: &str) -> Result<PathBuf, String> {
    let path = dir.join("notify.toml");
    write_file(
        &path,
        &format!(
            "[email]\naccount = \"fault\"\nto = [\"{RCPT}\"]\nlevel = \"always\"\n\
             subject = \"{subject}\"\n\n\
             [accounts.fault]\nfrom = \"{FROM}\"\nserver = \"127.0.0.1:{port}\"\n\
             security = \"none\"\ntimeout = \"{timeout}\"\n"
        ),
    )?;
    Ok(path)
}

/// A port nothing listens on (bound, then let go).
fn closed_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot bind a port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no local address: {e}"))
}

/// Keeps a process's stderr in `dir/logs/NAME.log`, for a look afterwards.
fn keep_log(dir: &Path, name: &str, lines: &[(Instant, String)]) {
    let text: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    let _ = write_file(&dir.join("logs").join(format!("{name}.log")), &text);
}

// ---------------------------------------------------------------------------
// notify processes

/// A notify process, killed by its PID when dropped while still running;
/// its stderr lines (with the moment each was read) when captured.
struct Proc {
    child: Child,
    started: Instant,
    stderr: Option<JoinHandle<Vec<(Instant, String)>>>,
}

impl Proc {
    /// Starts `cmd`; with `capture`, its stderr is read line by line
    /// (else it goes where `cmd` says, by default to ours).
    fn spawn(mut cmd: Command, capture: bool) -> Result<Proc, String> {
        if capture {
            cmd.stderr(Stdio::piped());
        }
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
        let stderr = child.stderr.take().map(|pipe| {
            thread::spawn(move || {
                let mut lines = Vec::new();
                for line in BufReader::new(pipe).lines() {
                    match line {
                        Ok(line) => lines.push((Instant::now(), line)),
                        Err(_) => break,
                    }
                }
                lines
            })
        });
        Ok(Proc {
            child,
            started,
            stderr,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status, if it has exited (without waiting).
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL by its PID (std's `Child::kill`), unless it has exited;
    /// whether it was killed.
    fn kill9(&mut self) -> bool {
        self.exited().is_none() && self.child.kill().is_ok()
    }

    /// Waits for the exit (at most `limit`, then SIGKILL): the status
    /// (`None` when it had to be killed), the moment the exit was seen, and
    /// the stderr lines.
    fn finish(&mut self, limit: Duration) -> (Option<ExitStatus>, Instant, Vec<(Instant, String)>) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.exited() {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(2));
        };
        let at = Instant::now();
        let lines = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        (status, at, lines)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// SIGTERM to a PID, through kill(1).
fn sigterm(pid: u32) -> Result<(), String> {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kill -TERM {pid} failed ({status})"))
    }
}

#[cfg(unix)]
fn signal_of(status: &ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn signal_of(_status: &ExitStatus) -> Option<i32> {
    None
}

fn describe(status: Option<ExitStatus>) -> String {
    match status {
        None => "hung (killed)".into(),
        Some(s) => match (s.code(), signal_of(&s)) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(sig)) => format!("signal {sig}"),
            (None, None) => s.to_string(),
        },
    }
}

/// How far a notify got with its own notification, from its `-v` stderr:
/// the decision to notify, then its own SMTP connection (a retry of the
/// queue connects before the decision), the message's final dot, the
/// server's 250.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Nothing decided yet (starting, retrying the queue, or `run`'s job
    /// still running).
    Start,
    /// Decided to notify; not yet held in the queue (rendering it).
    Decided,
    /// Rendered and held in the queue; not connected yet (retrying older
    /// notifications first, or building the transport).
    Held,
    /// Connected (for its own notification or for the retry of an older
    /// one: waiting for the greeting, or in the SMTP conversation before
    /// the message's end).
    Connected,
    /// The whole message sent; no 250 seen yet.
    DataSent,
    /// The server's 250 seen.
    Accepted,
}

impl Phase {
    fn of<'a>(lines: impl IntoIterator<Item = &'a str>) -> Phase {
        let mut phase = Phase::Start;
        for line in lines {
            phase = match phase {
                Phase::Start if line.contains(": notifying (") => Phase::Decided,
                Phase::Decided if line.contains(": held in the queue as ") => Phase::Held,
                Phase::Held if line.starts_with("* connected to") => Phase::Connected,
                Phase::Connected if line == "C: ." => Phase::DataSent,
                Phase::DataSent if line.starts_with("S: 250") => Phase::Accepted,
                p => p,
            };
        }
        phase
    }

    /// When a signal came to a process of `kind` that ended with
    /// `status`: `run`'s job runs before the decision, and ends with 143
    /// when the SIGTERM passed on to it ended it.
    fn when(self, kind: &str, status: Option<ExitStatus>) -> &'static str {
        match (kind, self) {
            ("run", Phase::Start) if status.and_then(|s| s.code()) == Some(143) => "during the job",
            ("run", Phase::Start) => "before the decision (not during the job)",
            (_, p) => p.name(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Phase::Start => "before the decision",
            Phase::Decided => "decided, not held yet",
            Phase::Held => "held, not connected",
            Phase::Connected => "connected",
            Phase::DataSent => "message sent, 250 pending",
            Phase::Accepted => "250 received",
        }
    }
}

/// One notify process of scenarios 1 and 2: whether it was killed, and
/// the numbers of the messages the server received while it ran
/// (`from` < n <= `to`).
struct Span {
    label: String,
    killed: bool,
    from: usize,
    to: usize,
}

/// The copies of each notification on the server (by subject token), by
/// message number.
fn copies(received: &[Mail]) -> BTreeMap<&str, Vec<&Mail>> {
    let mut copies: BTreeMap<&str, Vec<&Mail>> = BTreeMap::new();
    for m in received {
        if let Some(t) = m.token() {
            copies.entry(t).or_default().push(m);
        }
    }
    copies
}

/// Checks SPEC's "at most one duplicate per interruption": each process's
/// messages that arrived again later (at most one for a killed process,
/// none for another), and one Message-ID for all copies of a message.
/// Returns how many killed processes repeated a message.
fn check_repeats(
    received: &[Mail],
    spans: &[Span],
    copies: &BTreeMap<&str, Vec<&Mail>>,
    row: &mut Row,
) -> usize {
    let mut killed_repeating = 0;
    for span in spans {
        let repeated: BTreeSet<&str> = received
            .iter()
            .filter(|m| m.n > span.from && m.n <= span.to)
            .filter_map(|m| {
                let t = m.token()?;
                copies
                    .get(t)
                    .is_some_and(|c| c.iter().any(|other| other.n > m.n))
                    .then_some(t)
            })
            .collect();
        if span.killed && !repeated.is_empty() {
            killed_repeating += 1;
        }
        if repeated.len() > usize::from(span.killed) {
            row.failures.push(format!(
                "{} ({}) delivered {} message(s) that arrived again later: {}",
                span.label,
                if span.killed { "killed" } else { "not killed" },
                repeated.len(),
                repeated.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let ids_differ: Vec<&str> = copies
        .iter()
        .filter(|(_, c)| {
            c.iter()
                .map(|m| &m.message_id)
                .collect::<BTreeSet<_>>()
                .len()
                > 1
        })
        .map(|(t, _)| *t)
        .collect();
    if !ids_differ.is_empty() {
        row.failures.push(format!(
            "copies of one notification with different Message-IDs: {}",
            ids_differ.join(", ")
        ));
    }
    killed_repeating
}

// ---------------------------------------------------------------------------
// Scenario 1: kill -9 of notify send

fn kill_send(ctx: &Ctx, rng: &mut Rng) -> Result<Row, String> {
    println!("==> 1: kill -9 of `notify send` ({SEND_KILLS} kills; slow server, some connections never greeted, some stalled after the 354)");
    let dir = ctx.dir("1-kill-send")?;
    let server = Server::start(
        ctx,
        &dir,
        &format!(
            "\"mode\": \"plain\", \"auth\": false, \"slow_ack\": {SLOW_ACK}, \
             \"no_greeting\": 0.1, \"stall_data\": 0.1, \"fault_seed\": {}",
            rng.next() % 1_000_000
        ),
    )?;
    let config = config(&dir, server.port, "2s", "faults ##Task Name##")?;
    let data = dir.join("data");

    struct Sent {
        token: String,
        killed: bool,
        phase: Phase,
        status: String,
    }
    let mut sends: Vec<Sent> = Vec::new();
    let mut spans = Vec::new();
    let mut kills = 0;
    while kills < SEND_KILLS && sends.len() < SEND_KILLS * 4 {
        let token = format!("s1-{:03}", sends.len() + 1);
        // A quarter of the kills early (start-up, decision, rendering, queue retry,
        // connection); the rest anywhere in a send, which takes ~110 ms
        // with the slow 250, more when it first retries a message an
        // earlier kill left in the queue.
        let delay = if rng.below(4) == 0 {
            rng.millis(0, 15)
        } else {
            rng.millis(0, 400)
        };
        let from = server.last();
        let mut cmd = ctx.notify(&config, &data);
        cmd.args(["-v", "send", "--task", &token, "--status", "failure"]);
        let mut proc = Proc::spawn(cmd, true)?;
        sleep_until(proc.started + delay);
        let killed = proc.kill9();
        let (status, _, lines) = proc.finish(Duration::from_secs(30));
        keep_log(&dir, &token, &lines);
        let phase = Phase::of(lines.iter().map(|(_, l)| l.as_str()));
        kills += usize::from(killed);
        server.settle();
        spans.push(Span {
            label: format!("send `{token}`"),
            killed,
            from,
            to: server.last(),
        });
        sends.push(Sent {
            token,
            killed,
            phase,
            status: describe(status),
        });
    }
    let runs = sends.len();
    let received_before_flush = server.last();

    // Then the queue, until it is empty (the server keeps its faults).
    let mut flush_codes = Vec::new();
    for i in 1..=15 {
        if queue_files(&data).0.is_empty() {
            break;
        }
        let from = server.last();
        let mut cmd = ctx.notify(&config, &data);
        cmd.args(["-v", "queue", "flush"]);
        let mut proc = Proc::spawn(cmd, true)?;
        let (status, _, lines) = proc.finish(Duration::from_secs(120));
        keep_log(&dir, &format!("flush-{i}"), &lines);
        flush_codes.push(describe(status));
        server.settle();
        spans.push(Span {
            label: format!("flush {i}"),
            killed: false,
            from,
            to: server.last(),
        });
    }

    // Count.
    let received = server.messages();
    let copies = copies(&received);
    let local = maildir(&data);
    let (pending, failed) = queue_files(&data);
    let mut row = Row {
        name: "1 kill -9 send",
        runs,
        kills,
        ..Row::default()
    };
    let mut extra = 0;
    let mut max_copies = 0;
    let mut by_phase: BTreeMap<Phase, (usize, usize)> = BTreeMap::new();
    let mut lost_owed = Vec::new();
    for s in &sends {
        let on_server = copies.get(s.token.as_str()).map_or(0, Vec::len);
        let in_maildir = local.iter().filter(|m| m.token() == Some(&s.token)).count();
        let queued = pending
            .iter()
            .chain(&failed)
            .any(|t| queued_for(t, &s.token));
        let n = on_server + in_maildir;
        if on_server > 0 {
            row.server += 1;
        } else if in_maildir > 0 {
            row.maildir += 1;
        }
        extra += n.saturating_sub(1);
        max_copies = max_copies.max(n);
        let found = n > 0 || queued;
        if s.killed {
            let entry = by_phase.entry(s.phase).or_default();
            entry.0 += 1;
            entry.1 += usize::from(!found);
        }
        // Owed: notify had decided and rendered it (or had finished).
        if !found && (!s.killed || s.phase >= Phase::Held) {
            lost_owed.push(format!("{} ({}, {})", s.token, s.phase.name(), s.status));
        }
    }
    row.extra = Some(extra);
    row.max_copies = Some(max_copies);
    let killed_repeating = check_repeats(&received, &spans, &copies, &mut row);
    let finished = sends.iter().filter(|s| !s.killed).count();
    row.notes.push(format!(
        "{runs} sends: {kills} killed, {finished} finished first; server faults drawn: {}; \
         {received_before_flush} messages received during the sends, {} after {} flush(es) ({})",
        fmt_counts(&server.faults()),
        received.len(),
        flush_codes.len(),
        if flush_codes.is_empty() {
            "none needed".to_owned()
        } else {
            flush_codes.join(", ")
        }
    ));
    row.notes.push(format!(
        "kills by how far the send had got with its own notification (killed / found nowhere): {}",
        by_phase
            .iter()
            .map(|(p, (n, lost))| format!("{}: {n} / {lost}", p.name()))
            .collect::<Vec<_>>()
            .join("; ")
    ));
    row.notes.push(format!(
        "{killed_repeating} of {kills} kills left a message that was delivered again \
         (most often the one an earlier kill left, retried first by the next send)"
    ));
    row.lost = lost_owed.len();
    row.early = by_phase
        .iter()
        .filter(|(p, _)| **p < Phase::Held)
        .map(|(_, (_, lost))| lost)
        .sum();
    if row.early > 0 {
        row.notes.push(format!(
            "{} killed before notify had rendered and held their notification (starting, \
             reading its configuration, deciding) and found nowhere (early: not counted as \
             lost; nothing of theirs existed outside the process yet)",
            row.early
        ));
    }
    if !pending.is_empty() || !failed.is_empty() {
        row.failures.push(format!(
            "the queue is not empty after {} flushes: {} pending, {} given up",
            flush_codes.len(),
            pending.len(),
            failed.len()
        ));
    }
    if !lost_owed.is_empty() {
        row.failures.push(format!(
            "{} notification(s) lost after notify had held them (neither on the \
             server, in the Maildir nor in the queue): {}",
            lost_owed.len(),
            lost_owed.join(", ")
        ));
    }
    if extra > kills {
        row.failures
            .push(format!("{extra} extra copies for {kills} kills"));
    }
    Ok(row)
}

fn fmt_counts(counts: &BTreeMap<String, usize>) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------
// Scenario 2: kill -9 of notify queue flush

fn kill_flush(ctx: &Ctx, rng: &mut Rng) -> Result<Row, String> {
    println!("==> 2: kill -9 of `notify queue flush` ({FLUSH_KILLS} kills over {QUEUED} queued messages; the server acks each after ~100 ms)");
    let dir = ctx.dir("2-kill-flush")?;
    let data = dir.join("data");
    // Queue them: the account on a port nothing listens on.
    let dead = ctx.dir("2-kill-flush/dead")?;
    let dead_config = config(&dead, closed_port()?, "2s", "faults ##Task Name##")?;
    let filling = Instant::now();
    let tokens: Vec<String> = (1..=QUEUED).map(|i| format!("q2-{i:03}")).collect();
    for token in &tokens {
        let mut cmd = ctx.notify(&dead_config, &data);
        cmd.args(["-q", "send", "--task", token, "--status", "failure"]);
        let mut proc = Proc::spawn(cmd, true)?;
        let (status, _, lines) = proc.finish(Duration::from_secs(30));
        if status.and_then(|s| s.code()) != Some(75) {
            return Err(format!(
                "queueing `{token}`: expected exit 75 (queued), got {}: {}",
                describe(status),
                lines
                    .iter()
                    .map(|(_, l)| l.as_str())
                    .collect::<Vec<_>>()
                    .join(" / ")
            ));
        }
    }
    let queued = queue_files(&data).0.len();
    if queued != QUEUED {
        return Err(format!("{queued} messages queued, expected {QUEUED}"));
    }
    println!(
        "    queued {QUEUED} messages in {:.1}s",
        filling.elapsed().as_secs_f64()
    );

    let server = Server::start(
        ctx,
        &dir,
        &format!("\"mode\": \"plain\", \"auth\": false, \"slow_ack\": {SLOW_ACK}"),
    )?;
    let config = config(&dir, server.port, "30s", "faults ##Task Name##")?;

    let mut spans = Vec::new();
    let mut kills = 0;
    while kills < FLUSH_KILLS && spans.len() < FLUSH_KILLS * 2 {
        if queue_files(&data).0.is_empty() {
            break;
        }
        let from = server.last();
        let mut cmd = ctx.notify(&config, &data);
        cmd.args(["-q", "queue", "flush"]).stderr(Stdio::null());
        let mut proc = Proc::spawn(cmd, false)?;
        sleep_until(proc.started + rng.millis(0, 600));
        let killed = proc.kill9();
        let _ = proc.finish(Duration::from_secs(30));
        kills += usize::from(killed);
        server.settle();
        spans.push(Span {
            label: format!("flush {}", spans.len() + 1),
            killed,
            from,
            to: server.last(),
        });
    }
    let interrupted = spans.len();
    // Then to the end.
    let mut last_codes = Vec::new();
    for _ in 0..5 {
        if queue_files(&data).0.is_empty() {
            break;
        }
        let from = server.last();
        let mut cmd = ctx.notify(&config, &data);
        cmd.args(["-v", "queue", "flush"]);
        let mut proc = Proc::spawn(cmd, true)?;
        let (status, _, lines) = proc.finish(Duration::from_secs(120));
        keep_log(&dir, &format!("flush-{}", spans.len() + 1), &lines);
        last_codes.push(describe(status));
        server.settle();
        spans.push(Span {
            label: format!("flush {}", spans.len() + 1),
            killed: false,
            from,
            to: server.last(),
        });
    }

    let received = server.messages();
    let copies = copies(&received);
    let (pending, failed) = queue_files(&data);
    let mut row = Row {
        name: "2 kill -9 queue flush",
        runs: spans.len(),
        kills,
        ..Row::default()
    };
    for token in &tokens {
        match copies.get(token.as_str()) {
            Some(_) => row.server += 1,
            None => row.lost += 1,
        }
    }
    let extra: usize = copies.values().map(|c| c.len() - 1).sum();
    row.extra = Some(extra);
    row.max_copies = copies.values().map(Vec::len).max();
    let killed_repeating = check_repeats(&received, &spans, &copies, &mut row);
    let chains = copies.values().filter(|c| c.len() > 2).count();
    row.notes.push(format!(
        "{interrupted} flushes ({kills} killed), then {} to the end ({}); {} messages received \
         for {QUEUED} queued; {killed_repeating} of {kills} kills left a message that was \
         delivered again; {chains} message(s) arrived 3+ times (in flight at consecutive kills: \
         the one a kill leaves is the first of the next flush)",
        last_codes.len(),
        if last_codes.is_empty() {
            "none needed".to_owned()
        } else {
            last_codes.join(", ")
        },
        received.len(),
    ));
    if row.lost > 0 {
        row.failures.push(format!(
            "{} queued message(s) never arrived ({} still pending, {} given up)",
            row.lost,
            pending.len(),
            failed.len()
        ));
    }
    if !pending.is_empty() {
        row.failures.push(format!(
            "{} message(s) still queued after flushing to the end",
            pending.len()
        ));
    }
    if extra > kills {
        row.failures
            .push(format!("{extra} extra copies for {kills} kills"));
    }
    Ok(row)
}

// ---------------------------------------------------------------------------
// Scenario 3: SIGTERM, server never greets

fn term(ctx: &Ctx, rng: &mut Rng) -> Result<Row, String> {
    println!("==> 3: SIGTERM at random moments of `notify send` and `notify run -- sh -c '{TERM_JOB}'` ({TERM_RUNS} each; the server never greets, timeout 30 s)");
    let dir = ctx.dir("3-sigterm")?;
    let server = Server::start(ctx, &dir, "\"mode\": \"silent\"")?;
    let config = config(&dir, server.port, "30s", "faults ##Task Name##")?;

    struct Job {
        kind: &'static str,
        name: String,
        data: PathBuf,
        delay: Duration,
    }
    let mut jobs = Vec::new();
    for i in 0..TERM_RUNS * 2 {
        let kind = if i % 2 == 0 { "send" } else { "run" };
        let name = format!("{kind}-{:02}", i / 2 + 1);
        jobs.push(Job {
            kind,
            data: dir.join(format!("data-{name}")),
            name,
            // Half of the runs' signals in or near their job's 50 ms.
            delay: if kind == "run" && rng.below(2) == 0 {
                rng.millis(0, 70)
            } else {
                rng.millis(0, 300)
            },
        });
    }
    // Started 250 ms apart, each with its own data dir, and each watched
    // by its own thread, so that a notify that takes the whole timeout to
    // exit holds up no other.
    struct Outcome {
        kind: &'static str,
        name: String,
        data: PathBuf,
        status: Option<ExitStatus>,
        exit_after: Option<Duration>,
        phase: Phase,
        lines: Vec<(Instant, String)>,
        note: String,
    }
    let mut handles = Vec::new();
    let mut spawn_error = None;
    for job in jobs {
        let mut cmd = ctx.notify(&config, &job.data);
        cmd.arg("-v");
        match job.kind {
            "send" => cmd.args(["send", "--task", "t", "--status", "failure"]),
            _ => cmd.args(["run", "--task", "t", "--", "sh", "-c", TERM_JOB]),
        };
        let mut proc = match Proc::spawn(cmd, true) {
            Ok(proc) => proc,
            Err(e) => {
                // The ones started are still watched (and ended) below.
                spawn_error = Some(e);
                break;
            }
        };
        handles.push(thread::spawn(move || {
            sleep_until(proc.started + job.delay);
            let signalled = Instant::now();
            let sent = match proc.exited() {
                Some(_) => Err("exited before the signal".to_owned()),
                None => sigterm(proc.pid()),
            };
            let (status, at, lines) = proc.finish(HUNG);
            let phase = Phase::of(
                lines
                    .iter()
                    .filter(|(t, _)| *t <= signalled)
                    .map(|(_, l)| l.as_str()),
            );
            Outcome {
                kind: job.kind,
                name: job.name,
                data: job.data,
                status,
                exit_after: sent.is_ok().then(|| at - signalled),
                phase,
                lines,
                note: sent.err().unwrap_or_default(),
            }
        }));
        thread::sleep(Duration::from_millis(250));
    }
    let outcomes: Vec<Outcome> = handles.into_iter().filter_map(|h| h.join().ok()).collect();
    if let Some(e) = spawn_error {
        return Err(e);
    }
    server.settle();

    let mut row = Row {
        name: "3 SIGTERM send/run",
        runs: outcomes.len(),
        server: server.last(),
        ..Row::default()
    };
    let mut times: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut slow = Vec::new();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_phase: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    for o in &outcomes {
        keep_log(&dir, &o.name, &o.lines);
        let (pending, failed) = queue_files(&o.data);
        let local = maildir(&o.data).len();
        *codes
            .entry(format!("{} {}", o.kind, describe(o.status)))
            .or_insert(0) += 1;
        let by_signal = o.status.as_ref().and_then(signal_of).is_some();
        if local > 0 {
            row.maildir += 1;
        }
        let found = !pending.is_empty() || !failed.is_empty() || local > 0;
        if by_signal && !found {
            // Ended by the signal's default action: notify had not yet
            // taken over the signals, so it had nothing to keep.
            row.early += 1;
        } else if !found {
            row.lost += 1;
            row.failures.push(format!(
                "`notify {}` {} ({}, SIGTERM {}) kept nothing: not queued, not in the Maildir",
                o.kind,
                o.name,
                describe(o.status),
                o.phase.when(o.kind, o.status)
            ));
        }
        if let Some(after) = o.exit_after {
            row.kills += 1;
            times.entry(o.kind).or_default().push(after.as_secs_f64());
            by_phase
                .entry((o.kind, o.phase.when(o.kind, o.status)))
                .or_default()
                .push(after.as_secs_f64());
            if after > EXIT_TARGET {
                slow.push(format!(
                    "{} {:.1}s (SIGTERM {}, {})",
                    o.name,
                    after.as_secs_f64(),
                    o.phase.when(o.kind, o.status),
                    describe(o.status)
                ));
            }
        }
        if !o.note.is_empty() {
            row.notes.push(format!("{}: {}", o.name, o.note));
        }
    }
    let all: Vec<f64> = times.values().flatten().copied().collect();
    row.exit_after = format!("{} / {}", secs(median(&all)), secs(max(&all)));
    for (kind, t) in &times {
        row.notes.push(format!(
            "{kind}: exit after SIGTERM median {}, max {} ({} signalled, {} over {} s)",
            secs(median(t)),
            secs(max(t)),
            t.len(),
            t.iter().filter(|&&s| s > EXIT_TARGET.as_secs_f64()).count(),
            EXIT_TARGET.as_secs()
        ));
    }
    row.notes.push(format!(
        "by when SIGTERM came (runs, median / max exit after it): {}",
        by_phase
            .iter()
            .map(|((kind, phase), t)| format!(
                "{kind} {}: {}, {} / {}",
                phase,
                t.len(),
                secs(median(t)),
                secs(max(t))
            ))
            .collect::<Vec<_>>()
            .join("; ")
    ));
    row.notes
        .push(format!("exit statuses: {}", fmt_counts(&codes)));
    if row.early > 0 {
        row.notes.push(format!(
            "{} ended by SIGTERM's default action before notify handled signals, \
             with nothing kept (early: not counted as lost)",
            row.early
        ));
    }
    if !slow.is_empty() {
        row.failures.push(format!(
            "{} of {} exited more than {} s after SIGTERM: {}",
            slow.len(),
            all.len(),
            EXIT_TARGET.as_secs(),
            slow.join("; ")
        ));
    }
    Ok(row)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

fn secs(s: f64) -> String {
    if s.is_nan() {
        "-".into()
    } else if s < 1.0 {
        format!("{:.0} ms", s * 1e3)
    } else {
        format!("{s:.1} s")
    }
}

// ---------------------------------------------------------------------------
// Scenario 4: stderr on /dev/full

fn dev_full(ctx: &Ctx, _rng: &mut Rng) -> Result<Row, String> {
    println!("==> 4: stderr on /dev/full (`notify run -- sh -c 'exit 3'` with a subject `##Nope##`, and `notify send`; {FULL_RUNS} each)");
    let dir = ctx.dir("4-dev-full")?;
    let server = Server::start(ctx, &dir, "\"mode\": \"plain\", \"auth\": false")?;
    let config = config(&dir, server.port, "30s", "##Nope##")?;
    let mut row = Row {
        name: "4 stderr on /dev/full",
        ..Row::default()
    };
    // What notify says there, once with a stderr that works.
    for kind in ["run", "send"] {
        let mut cmd = ctx.notify(&config, &dir.join(format!("data-shown-{kind}")));
        dev_full_args(&mut cmd, kind);
        let mut proc = Proc::spawn(cmd, true)?;
        let (status, _, lines) = proc.finish(Duration::from_secs(60));
        row.notes.push(format!(
            "with a working stderr, `notify {kind}` ({}) says: {}",
            describe(status),
            lines
                .iter()
                .map(|(_, l)| l.as_str())
                .collect::<Vec<_>>()
                .join(" / ")
        ));
    }
    server.settle();
    for i in 0..FULL_RUNS * 2 {
        let kind = if i % 2 == 0 { "run" } else { "send" };
        let data = dir.join(format!("data-{kind}-{}", i / 2 + 1));
        let before = server.last();
        let mut cmd = ctx.notify(&config, &data);
        dev_full_args(&mut cmd, kind);
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .map_err(|e| format!("cannot open /dev/full: {e}"))?;
        cmd.stderr(Stdio::from(full));
        let mut proc = Proc::spawn(cmd, false)?;
        let (status, _, _) = proc.finish(Duration::from_secs(60));
        server.settle();
        let on_server = server.last() - before;
        let local = maildir(&data).len();
        let (pending, failed) = queue_files(&data);
        row.runs += 1;
        if on_server > 0 {
            row.server += 1;
        } else if local > 0 {
            row.maildir += 1;
        }
        let expected = if kind == "run" { 3 } else { 0 };
        let mut wrong = Vec::new();
        if status.and_then(|s| s.code()) != Some(expected) {
            wrong.push(format!("{} instead of exit {expected}", describe(status)));
        }
        if on_server + local + pending.len() + failed.len() == 0 {
            row.lost += 1;
            wrong.push("no notification on the server, in the Maildir or the queue".to_owned());
        } else if on_server == 0 {
            wrong.push(format!(
                "not delivered ({local} in the Maildir, {} queued)",
                pending.len() + failed.len()
            ));
        }
        if !wrong.is_empty() {
            row.failures.push(format!(
                "`notify {kind}` {} with 2>/dev/full: {}",
                i / 2 + 1,
                wrong.join("; ")
            ));
        }
    }
    Ok(row)
}

fn dev_full_args(cmd: &mut Command, kind: &str) {
    if kind == "run" {
        cmd.args(["run", "--task", "r", "--", "sh", "-c", "exit 3"]);
    } else {
        cmd.args(["send", "--task", "s", "--status", "failure"]);
    }
}

// ---------------------------------------------------------------------------

fn sleep_until(at: Instant) {
    let now = Instant::now();
    if at > now {
        thread::sleep(at - now);
    }
}

/// A small pseudo-random sequence (xorshift64*), from `--seed`.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A duration between `lo` and `hi` milliseconds, to the microsecond.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_micros(lo * 1000 + self.below((hi - lo) * 1000 + 1))
    }
}
