//! Test support for notify: a real SMTP server to deliver to.
//!
//! [`SmtpServer::start`] runs `smtp_server.py` (aiosmtpd 1.4.6, beside this
//! file's crate) with the listeners a test asks for — plaintext relay,
//! STARTTLS, implicit TLS, a silent port — each on a free 127.0.0.1 port,
//! with test certificates made by the `openssl` CLI, and fault hooks (451,
//! 550 for a recipient, a dropped connection after DATA, canned AUTH
//! replies). The server writes every message it accepts as `<n>.eml` plus
//! `<n>.json` (envelope, AUTH login, TLS, connection id) and logs
//! connections and command verbs to `events.jsonl`, so a test checks what
//! the server really received. The process is killed (by its PID) when the
//! [`SmtpServer`] is dropped, also when the test panics.
//!
//! A missing server is never a pass: a test that needs it is
//! `#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs
//! it"]`, so a plain `cargo test` reports it as ignored, and when it is run
//! (`cargo xtask ci` runs every ignored test, or `cargo test --
//! --include-ignored`) [`SmtpServer::start`] panics with the reason when the
//! server cannot run. The Python with aiosmtpd comes from
//! `NOTIFY_TEST_PYTHON` or `<workspace>/target/testenv/bin/python3` (which
//! `cargo xtask ci` sets up).
//!
//! [`http::HttpServer`] is a recording HTTP server with answers on demand
//! (a status, headers, a delay) for the HTTP destinations.
//! [`oauth::OAuthServer`] is an OAuth 2.0 server (device flow with
//! `authorization_pending` and `slow_down`, refresh tokens that rotate and
//! can be revoked) for `notify account login` and XOAUTH2 sends.
//!
//! [`prometheus`] runs Prometheus's own `promtool` and a real
//! `prometheus-node-exporter` around the metrics textfile.
//!
//! A test that cannot run for a reason of the machine rather than of a
//! component (no root, a low descriptor limit, no mount namespaces) calls
//! [`skip_unless_ci`]: `skipped: <reason>` on a developer's machine, a
//! failure under `CI=true`.
#![deny(missing_docs)]

pub mod desktop;
pub mod http;
pub mod oauth;
pub mod prometheus;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

pub use serde_json;
use serde_json::{json, Value};

/// How long to wait for the server's READY line.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// The environment variable naming the Python interpreter (with aiosmtpd).
pub const PYTHON_ENV: &str = "NOTIFY_TEST_PYTHON";

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

/// The test server script.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("smtp_server.py")
}

/// The Python to run the server with: `$NOTIFY_TEST_PYTHON`, else
/// `<workspace>/target/testenv/bin/python3`.
pub fn python_path() -> PathBuf {
    match std::env::var_os(PYTHON_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join("target/testenv/bin/python3"),
    }
}

/// Whether the tests run in CI (`CI=true` or `CI=1`), where no test
/// skips.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// For a test that this machine cannot run — for a reason of the machine
/// (not root, too few file descriptors, no mount namespaces), not a missing
/// component (a test that needs one is `#[ignore]`d and fails without it):
/// prints `skipped: <reason>`, or panics under `CI=true`, where every test
/// must run. The test returns right after:
///
/// ```no_run
/// fn a_test() {
///     let root = false;
///     if !root {
///         return notify_testkit::skip_unless_ci("needs root to run a tool as nobody");
///     }
/// }
/// ```
pub fn skip_unless_ci(reason: &str) {
    assert!(!in_ci(), "CI=true and this test cannot run here: {reason}");
    println!("skipped: {reason}");
}

/// Panics unless `program` is an executable file in a `PATH` directory:
/// for a test `#[ignore]`d as needing it, a missing program is a failure
/// when the test is run, never a silent pass.
pub fn require_program(program: &str) {
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program)))
    });
    assert!(
        found,
        "this test needs `{program}`, which is not on PATH; `cargo xtask ci` installs it"
    );
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// How a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No TLS. AUTH (when enabled) is offered in the clear.
    Plain,
    /// STARTTLS required before MAIL; AUTH only after STARTTLS.
    StartTls,
    /// Implicit TLS from the first byte.
    Tls,
    /// Accepts TCP connections and never says anything.
    Silent,
}

/// Which certificate a TLS listener presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cert {
    /// `localhost`/`127.0.0.1`/`::1`, signed by the test CA ([`Certs::ca`]).
    Leaf,
    /// Self-signed, for the same names (CA:FALSE).
    SelfSigned,
    /// Signed by the test CA, but only for `wrong.example`.
    WrongName,
    /// Like [`Cert::Leaf`], but valid for 5 more days only (made at each
    /// start).
    Expiring,
    /// Like [`Cert::Leaf`], but expired yesterday (made at each start).
    Expired,
}

impl Cert {
    fn file_stem(self) -> &'static str {
        match self {
            Cert::Leaf => "leaf",
            Cert::SelfSigned => "self",
            Cert::WrongName => "wrongname",
            Cert::Expiring => "expiring",
            Cert::Expired => "expired",
        }
    }
}

/// One listening port of the server and its faults.
#[derive(Debug, Clone)]
pub struct Listener {
    name: String,
    mode: Mode,
    cert: Cert,
    auth: Option<bool>,
    auth_required: Option<bool>,
    exclude_mechanisms: Vec<String>,
    reject_rcpt: Vec<String>,
    data_451: i64,
    drop_after_data: bool,
    slow_data: f64,
    slow_ack: f64,
    close_after: u32,
    pipelining: bool,
    smtputf8: bool,
}

impl Listener {
    fn new(name: &str, mode: Mode) -> Self {
        Listener {
            name: name.to_owned(),
            mode,
            cert: Cert::Leaf,
            auth: None,
            auth_required: None,
            exclude_mechanisms: Vec::new(),
            reject_rcpt: Vec::new(),
            data_451: 0,
            drop_after_data: false,
            slow_data: 0.0,
            slow_ack: 0.0,
            close_after: 0,
            pipelining: false,
            smtputf8: false,
        }
    }

    /// A plaintext listener without AUTH (a relay); see [`Listener::auth`].
    pub fn plain(name: &str) -> Self {
        Self::new(name, Mode::Plain)
    }

    /// A STARTTLS listener: STARTTLS and AUTH required.
    pub fn starttls(name: &str) -> Self {
        Self::new(name, Mode::StartTls)
    }

    /// An implicit-TLS listener with AUTH required.
    pub fn tls(name: &str) -> Self {
        Self::new(name, Mode::Tls)
    }

    /// A port that accepts connections and never answers.
    pub fn silent(name: &str) -> Self {
        Self::new(name, Mode::Silent)
    }

    /// The certificate presented (default [`Cert::Leaf`]).
    pub fn cert(mut self, cert: Cert) -> Self {
        self.cert = cert;
        self
    }

    /// Offers AUTH (default: on for STARTTLS and TLS listeners, off for
    /// plain ones); AUTH is then also required unless
    /// [`Listener::auth_required`] says otherwise.
    pub fn auth(mut self, on: bool) -> Self {
        self.auth = Some(on);
        self
    }

    /// Whether MAIL needs a successful AUTH first.
    pub fn auth_required(mut self, on: bool) -> Self {
        self.auth_required = Some(on);
        self
    }

    /// Does not offer this mechanism (`PLAIN`, `LOGIN`, `XOAUTH2`).
    pub fn exclude_mechanism(mut self, mechanism: &str) -> Self {
        self.exclude_mechanisms.push(mechanism.to_owned());
        self
    }

    /// Answers RCPT TO for this address with 550.
    pub fn reject_rcpt(mut self, address: &str) -> Self {
        self.reject_rcpt.push(address.to_owned());
        self
    }

    /// Answers the end of DATA with 451 the first `times` times (-1:
    /// always).
    pub fn data_451(mut self, times: i64) -> Self {
        self.data_451 = times;
        self
    }

    /// Stores the message, then closes the connection without replying.
    pub fn drop_after_data(mut self) -> Self {
        self.drop_after_data = true;
        self
    }

    /// Offers PIPELINING (RFC 2920) in its EHLO reply.
    pub fn pipelining(mut self) -> Self {
        self.pipelining = true;
        self
    }

    /// Offers SMTPUTF8 (RFC 6531) in its EHLO reply; without this the
    /// listener is a server without it (aiosmtpd's default).
    pub fn smtputf8(mut self) -> Self {
        self.smtputf8 = true;
        self
    }

    /// Closes each connection after it has delivered `n` messages (once
    /// the reply is out), as a server with an idle timeout or a limit of
    /// messages per connection does.
    pub fn close_after(mut self, n: u32) -> Self {
        self.close_after = n;
        self
    }

    /// Stores each message at once but waits this long before its 250, as
    /// a busy server does: a client killed in between has delivered a
    /// message it does not know about.
    pub fn slow_ack(mut self, wait: Duration) -> Self {
        self.slow_ack = wait.as_secs_f64();
        self
    }

    /// Waits this long after the 354 reply before reading the message, so
    /// that a big message fills the socket buffers (a slow link).
    pub fn slow_data(mut self, wait: Duration) -> Self {
        self.slow_data = wait.as_secs_f64();
        self
    }

    fn to_json(&self) -> Value {
        let mode = match self.mode {
            Mode::Plain => "plain",
            Mode::StartTls => "starttls",
            Mode::Tls => "tls",
            Mode::Silent => "silent",
        };
        let mut v = json!({
            "name": self.name,
            "mode": mode,
            "cert": self.cert.file_stem(),
            "exclude_mechanisms": self.exclude_mechanisms,
            "reject_rcpt": self.reject_rcpt,
            "data_451": self.data_451,
            "drop_after_data": self.drop_after_data,
            "slow_data": self.slow_data,
            "slow_ack": self.slow_ack,
            "close_after": self.close_after,
            "pipelining": self.pipelining,
            "smtputf8": self.smtputf8,
        });
        if let Some(auth) = self.auth {
            v["auth"] = json!(auth);
        }
        if let Some(required) = self.auth_required {
            v["auth_required"] = json!(required);
        }
        v
    }
}

/// What to start: listeners, accounts, canned answers.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    listeners: Vec<Listener>,
    users: BTreeMap<String, String>,
    tokens: BTreeMap<String, String>,
    auth_replies: BTreeMap<String, String>,
}

impl ServerOptions {
    /// No listeners yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a listener.
    pub fn listener(mut self, listener: Listener) -> Self {
        self.listeners.push(listener);
        self
    }

    /// An account for AUTH PLAIN and LOGIN.
    pub fn user(mut self, login: &str, password: &str) -> Self {
        self.users.insert(login.to_owned(), password.to_owned());
        self
    }

    /// An OAuth2 access token accepted by XOAUTH2 for `login`.
    pub fn token(mut self, login: &str, token: &str) -> Self {
        self.tokens.insert(login.to_owned(), token.to_owned());
        self
    }

    /// Any AUTH by `login` is answered with `reply`, e.g. Gmail's
    /// `534 5.7.9 Application-specific password required`.
    pub fn auth_reply(mut self, login: &str, reply: &str) -> Self {
        self.auth_replies.insert(login.to_owned(), reply.to_owned());
        self
    }
}

/// The test certificates (PEM files made once per workspace).
#[derive(Debug, Clone)]
pub struct Certs {
    dir: PathBuf,
}

impl Certs {
    /// The directory holding them.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The test CA that signed [`Cert::Leaf`] and [`Cert::WrongName`].
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A CA that signed nothing the server presents.
    pub fn other_ca(&self) -> PathBuf {
        self.dir.join("other-ca.pem")
    }

    /// The self-signed server certificate.
    pub fn self_signed(&self) -> PathBuf {
        self.dir.join("self.pem")
    }

    /// Reads one of the files.
    pub fn read(&self, path: &Path) -> Vec<u8> {
        fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }
}

/// The test certificates ([`Certs`]), without starting a server: made
/// once per workspace by `smtp_server.py --make-certs` with the `openssl`
/// CLI. Panics when Python, aiosmtpd or openssl is missing, as
/// [`SmtpServer::start`] does.
pub fn test_certs() -> Certs {
    match check_python().and_then(|python| certs(&python)) {
        Ok(certs) => certs,
        Err(reason) => panic!("the test certificates are unavailable: {reason}"),
    }
}

/// Runs the `openssl` CLI in `dir` (to make or inspect a certificate) and
/// returns its standard output. Panics when there is no `openssl` command
/// or it fails.
pub fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `openssl` ({e}); install Debian's `openssl` package, or run `cargo \
                 xtask ci`"
            )
        });
    if !out.status.success() {
        panic!(
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// Exactly what came after DATA (dot-unstuffed, CRLF line endings).
    pub raw: Vec<u8>,
    /// `listener`, `conn`, `mail_from`, `rcpt_tos`, `auth_login`, `tls`,
    /// `helo`, `dropped`, `mail_options`.
    pub meta: Value,
}

impl Received {
    /// The message as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

/// A running test server. Dropping it kills the process.
#[derive(Debug)]
pub struct SmtpServer {
    child: Child,
    ports: BTreeMap<String, u16>,
    outdir: tempfile::TempDir,
    certs: Certs,
}

/// Checks once per process that Python with aiosmtpd is there.
fn check_python() -> Result<PathBuf, String> {
    static CHECK: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    CHECK
        .get_or_init(|| {
            let python = python_path();
            if !python.exists() {
                return Err(format!(
                    "no Python for the SMTP test server at {} (set {PYTHON_ENV}, or run \
                     `cargo xtask ci`, which creates target/testenv with aiosmtpd)",
                    python.display()
                ));
            }
            let out = Command::new(&python)
                .args(["-c", "import aiosmtpd"])
                .output()
                .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "{} has no aiosmtpd (install it with `{} -m pip install aiosmtpd==1.4.6`, or \
                     run `cargo xtask ci`)",
                    python.display(),
                    python.display()
                ));
            }
            Ok(python)
        })
        .clone()
}

/// Makes the certificates once per process (the script makes them once per
/// workspace and copes with concurrent processes).
fn certs(python: &Path) -> Result<Certs, String> {
    static CERTS: OnceLock<Result<Certs, String>> = OnceLock::new();
    CERTS
        .get_or_init(|| {
            let dir = workspace_root().join("target/testenv/certs");
            let out = Command::new(python)
                .arg(script())
                .arg("--make-certs")
                .arg(&dir)
                .output()
                .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "making the test certificates failed (is the `openssl` command installed?): \
                     {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Ok(Certs { dir })
        })
        .clone()
}

impl SmtpServer {
    /// Starts the server and waits for it to listen. Panics when it cannot:
    /// when Python, aiosmtpd or openssl is missing (a test that needs the
    /// server is `#[ignore]`d, so it only runs when asked to, and then a
    /// missing server is a failure, never a skip), or when it does not
    /// start.
    pub fn start(options: ServerOptions) -> SmtpServer {
        let prepared = check_python().and_then(|python| Ok((certs(&python)?, python)));
        let (certs, python) = match prepared {
            Ok(ok) => ok,
            Err(reason) => panic!("the SMTP test server (aiosmtpd) cannot run: {reason}"),
        };
        let outdir = tempfile::Builder::new()
            .prefix("notify-smtp-test-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let config = json!({
            "outdir": outdir.path().join("mail"),
            "certdir": certs.dir(),
            "users": options.users,
            "tokens": options.tokens,
            "auth_replies": options.auth_replies,
            "listeners": options.listeners.iter().map(Listener::to_json).collect::<Vec<_>>(),
        });
        let config_path = outdir.path().join("config.json");
        fs::write(&config_path, config.to_string())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config_path.display()));
        let stderr_path = outdir.path().join("server.stderr");
        let stderr = fs::File::create(&stderr_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", stderr_path.display()));
        let mut child = Command::new(&python)
            .arg(script())
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the test server's stdout is not captured");
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent {
                    if let Some(json) = line.strip_prefix("READY ") {
                        let _ = tx.send(json.to_owned());
                        sent = true;
                    }
                }
            }
        });
        let ready = rx.recv_timeout(READY_TIMEOUT);
        let mut server = SmtpServer {
            child,
            ports: BTreeMap::new(),
            outdir,
            certs,
        };
        let json = match ready {
            Ok(json) => json,
            Err(_) => {
                let _ = server.child.kill();
                let _ = server.child.wait();
                let log = fs::read_to_string(&stderr_path).unwrap_or_default();
                panic!("the SMTP test server did not get ready within {READY_TIMEOUT:?}:\n{log}");
            }
        };
        let value: Value =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("bad READY line {json:?}: {e}"));
        if let Some(ports) = value["ports"].as_object() {
            for (name, port) in ports {
                let port = port
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(0);
                server.ports.insert(name.clone(), port);
            }
        }
        server
    }

    /// The port of listener `name`.
    pub fn port(&self, name: &str) -> u16 {
        match self.ports.get(name) {
            Some(port) => *port,
            None => panic!("no listener named {name:?} (have {:?})", self.ports.keys()),
        }
    }

    /// The test certificates.
    pub fn certs(&self) -> &Certs {
        &self.certs
    }

    fn mail_dir(&self) -> PathBuf {
        self.outdir.path().join("mail")
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for n in 1.. {
            let eml = self.mail_dir().join(format!("{n}.eml"));
            let meta = self.mail_dir().join(format!("{n}.json"));
            let (Ok(raw), Ok(meta)) = (fs::read(&eml), fs::read_to_string(&meta)) else {
                break;
            };
            let meta = serde_json::from_str(&meta)
                .unwrap_or_else(|e| panic!("bad {}: {e}", eml.display()));
            out.push(Received { raw, meta });
        }
        out
    }

    /// Every event (`connect`, `command` with `verb`, `auth` with
    /// `mechanism`), each with `listener` and `conn`.
    pub fn events(&self) -> Vec<Value> {
        let text = fs::read_to_string(self.mail_dir().join("events.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The events, once every connection to `listener` has a `close`
    /// event (or after 5 s).
    fn settled_events(&self, listener: &str) -> Vec<Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let events = self.events();
            let count = |kind: &str| {
                events
                    .iter()
                    .filter(|e| e["listener"] == listener && e["event"] == kind)
                    .count()
            };
            if count("close") >= count("connect") || std::time::Instant::now() >= deadline {
                return events;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// How many connections `listener` accepted.
    pub fn connections(&self, listener: &str) -> usize {
        self.events()
            .iter()
            .filter(|e| e["listener"] == listener && e["event"] == "connect")
            .count()
    }

    /// The command verbs `listener` received, in order (`EHLO`, `AUTH`,
    /// `MAIL`, ...), once every connection to it has closed (or after 5 s):
    /// a client may close right after sending QUIT, before the server has
    /// read it.
    pub fn commands(&self, listener: &str) -> Vec<String> {
        self.settled_events(listener)
            .iter()
            .filter(|e| e["listener"] == listener && e["event"] == "command")
            .filter_map(|e| e["verb"].as_str().map(str::to_owned))
            .collect()
    }

    /// The server's own log (stderr), for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.outdir.path().join("server.stderr")).unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        // Child::kill signals exactly this child's PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
