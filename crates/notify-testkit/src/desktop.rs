//! A real D-Bus and a recording freedesktop notification server (Linux).
//!
//! [`PrivateBus::start`] runs a `dbus-daemon` of the test's own
//! (`--nofork --print-address=1`, listening in a temporary directory, with
//! a minimal session-bus configuration that has no service directories, so
//! nothing is ever activated on it). Parallel tests each get their own bus,
//! and the user's session bus is never touched. The daemon is killed by its
//! PID when the value is dropped, also when the test panics.
//!
//! [`NotificationServer::start`] starts such a bus and owns
//! `org.freedesktop.Notifications` on it from a background thread that
//! answers like a desktop's notification daemon and records every `Notify`
//! call as a [`Received`]: app name, replaces_id, icon, summary, body,
//! actions, hints (with [`Received::urgency`] and [`Received::category`])
//! and expire_timeout.
//!
//! A test that needs them is `#[ignore = "needs dbus-daemon (a private
//! D-Bus); `cargo xtask ci` runs it"]`; when it runs and `dbus-daemon`
//! (Debian package `dbus`) is not installed, the `start` functions panic
//! with the reason, as [`SmtpServer::start`](crate::SmtpServer::start) does:
//!
//! ```no_run
//! # use std::time::Duration;
//! use notify_testkit::desktop::NotificationServer;
//!
//! fn a_test() {
//!     let server = NotificationServer::start();
//!     // Point the code under test at `server.address()`, let it notify, then:
//!     let got = server.wait_for(1, Duration::from_secs(5));
//!     assert_eq!(got[0].urgency(), Some(2));
//! }
//! ```
#![cfg(target_os = "linux")]

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dbus::arg::{ArgType, RefArg, Variant};
use dbus::blocking::stdintf::org_freedesktop_dbus::RequestNameReply;
use dbus::channel::Channel;
use dbus::message::MessageType;
use dbus::Message;

/// The well-known name a notification server owns.
pub const NOTIFICATIONS: &str = "org.freedesktop.Notifications";
/// Its object path.
pub const NOTIFICATIONS_PATH: &str = "/org/freedesktop/Notifications";

/// What [`NotificationServer`] answers to `GetServerInformation`.
pub const SERVER_INFORMATION: (&str, &str, &str, &str) = ("notify-testkit", "notify", "0.1", "1.2");

/// How often the server thread looks at its stop flag.
const POLL: Duration = Duration::from_millis(20);

/// A `dbus-daemon` of the test's own. Dropping it kills the daemon.
#[derive(Debug)]
pub struct PrivateBus {
    child: Child,
    address: String,
    // Kept open so the daemon never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
    dir: tempfile::TempDir,
}

/// A session-bus configuration without service directories (nothing is
/// activated: no gnome-keyring, no notification daemon starts behind a
/// test's back) that listens in `dir`; for `dbus-daemon --config-file` or
/// `dbus-run-session --config-file`.
pub fn bus_config(dir: &std::path::Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        dir.display()
    )
}

impl PrivateBus {
    /// Starts a bus and waits for its address. Panics when it cannot: when
    /// `dbus-daemon` cannot be run (a test that needs it is `#[ignore]`d, so
    /// it only runs when asked to, and then a missing daemon is a failure),
    /// or when the daemon does not start.
    pub fn start() -> PrivateBus {
        let dir = tempfile::Builder::new()
            .prefix("notify-dbus-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let config = dir.path().join("bus.conf");
        fs::write(&config, bus_config(dir.path()))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        let stderr_path = dir.path().join("dbus-daemon.stderr");
        let stderr = fs::File::create(&stderr_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", stderr_path.display()));
        let spawned = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn();
        let mut child = spawned.unwrap_or_else(|e| {
            panic!(
                "the test D-Bus cannot run: cannot run `dbus-daemon` ({e}); install Debian's \
                 `dbus` package, or run `cargo xtask ci`"
            )
        });
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dbus-daemon's stdout is not captured");
        };
        // The daemon prints its address once it listens, or exits (EOF).
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let address = line.trim().to_owned();
        if read.is_err() || address.is_empty() {
            let _ = child.kill();
            let _ = child.wait();
            let log = fs::read_to_string(&stderr_path).unwrap_or_default();
            panic!("dbus-daemon did not print its address ({read:?}):\n{log}");
        }
        PrivateBus {
            child,
            address,
            _stdout: stdout,
            dir,
        }
    }

    /// The bus address, e.g. `unix:path=/tmp/notify-dbus-XXXX/dbus-YYYY,guid=...`:
    /// for `DBUS_SESSION_BUS_ADDRESS` or a transport's bus address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The daemon's own log (stderr), for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dbus-daemon.stderr")).unwrap_or_default()
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        // Child::kill signals exactly this child's PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A hint value as the server received it.
#[derive(Debug, Clone, PartialEq)]
pub enum Hint {
    /// `y`, e.g. `urgency`.
    Byte(u8),
    /// `b`.
    Bool(bool),
    /// `n`, `i`, `x`.
    Int(i64),
    /// `q`, `u`, `t`.
    UInt(u64),
    /// `d`.
    Double(f64),
    /// `s`, e.g. `category`.
    Str(String),
    /// Any other type, by its D-Bus signature.
    Other(String),
}

impl Hint {
    fn from_refarg(value: &dyn RefArg) -> Hint {
        let other = || Hint::Other(value.signature().to_string());
        match value.arg_type() {
            ArgType::Byte => value
                .as_u64()
                .and_then(|v| u8::try_from(v).ok())
                .map_or_else(other, Hint::Byte),
            ArgType::Boolean => value.as_u64().map_or_else(other, |v| Hint::Bool(v != 0)),
            ArgType::Int16 | ArgType::Int32 | ArgType::Int64 => {
                value.as_i64().map_or_else(other, Hint::Int)
            }
            ArgType::UInt16 | ArgType::UInt32 | ArgType::UInt64 => {
                value.as_u64().map_or_else(other, Hint::UInt)
            }
            ArgType::Double => value.as_f64().map_or_else(other, Hint::Double),
            ArgType::String => value
                .as_str()
                .map_or_else(other, |s| Hint::Str(s.to_owned())),
            _ => other(),
        }
    }
}

/// One `Notify` call, as the server received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// `app_name`.
    pub app_name: String,
    /// `replaces_id`.
    pub replaces_id: u32,
    /// `app_icon`.
    pub app_icon: String,
    /// `summary`.
    pub summary: String,
    /// `body`, exactly as sent (markup escapes included).
    pub body: String,
    /// `actions`.
    pub actions: Vec<String>,
    /// `hints`, each with the type it was sent as.
    pub hints: BTreeMap<String, Hint>,
    /// `expire_timeout`.
    pub expire_timeout: i32,
    /// The id the server answered with (`None` when it answered an error
    /// or nothing, see [`Answer`]).
    pub id: Option<u32>,
}

impl Received {
    /// The `urgency` hint when it was sent as a byte, as the spec says.
    pub fn urgency(&self) -> Option<u8> {
        match self.hints.get("urgency") {
            Some(Hint::Byte(b)) => Some(*b),
            _ => None,
        }
    }

    /// The `category` hint when it was sent as a string.
    pub fn category(&self) -> Option<&str> {
        match self.hints.get("category") {
            Some(Hint::Str(s)) => Some(s),
            _ => None,
        }
    }
}

/// How [`NotificationServer`] answers `Notify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// With ids 1, 2, 3, ... (the default).
    Ids,
    /// With this D-Bus error, e.g. `org.freedesktop.DBus.Error.InvalidArgs`.
    Error {
        /// The error name.
        name: String,
        /// The error message.
        message: String,
    },
    /// Never: the call is recorded and the caller waits until its timeout.
    Nothing,
}

/// What the notification server says about itself and how it answers.
#[derive(Debug, Clone)]
pub struct Options {
    capabilities: Vec<String>,
    answer: Answer,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            capabilities: vec!["body".to_owned(), "body-markup".to_owned()],
            answer: Answer::Ids,
        }
    }
}

impl Options {
    /// Capabilities `body` and `body-markup` (as GNOME Shell, Plasma, dunst
    /// and mako report), answering `Notify` with ids.
    pub fn new() -> Self {
        Self::default()
    }

    /// The answer to `GetCapabilities`, e.g. `&["body"]` for a server that
    /// shows the body as plain text.
    pub fn capabilities(mut self, capabilities: &[&str]) -> Self {
        self.capabilities = capabilities.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// How `Notify` is answered.
    pub fn answer(mut self, answer: Answer) -> Self {
        self.answer = answer;
        self
    }
}

/// A recording notification server on a [`PrivateBus`] of its own.
/// Dropping it stops the server thread and kills the daemon.
///
/// Answers `Notify` (see [`Answer`]), `GetCapabilities` (see
/// [`Options::capabilities`]) and `GetServerInformation`
/// ([`SERVER_INFORMATION`]); anything else gets an `UnknownMethod` error.
#[derive(Debug)]
pub struct NotificationServer {
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    // Dropped after the thread has stopped (fields drop in order).
    bus: PrivateBus,
}

impl NotificationServer {
    /// Starts a bus and the server with [`Options::new`]; panics when it
    /// cannot (see [`PrivateBus::start`]).
    pub fn start() -> NotificationServer {
        Self::start_with(Options::new())
    }

    /// Starts a bus and the server with `options`; panics when it cannot
    /// (see [`PrivateBus::start`]). Returns once the server owns
    /// `org.freedesktop.Notifications`.
    pub fn start_with(options: Options) -> NotificationServer {
        let bus = PrivateBus::start();
        let fail = |what: &str, e: &dyn std::fmt::Debug| -> ! {
            panic!("the test notification server cannot {what}: {e:?}")
        };
        let mut channel = Channel::open_private(bus.address())
            .unwrap_or_else(|e| fail(&format!("connect to {}", bus.address()), &e));
        channel
            .register()
            .unwrap_or_else(|e| fail("register on the bus", &e));
        let connection = dbus::blocking::Connection::from(channel);
        match connection.request_name(NOTIFICATIONS, false, true, true) {
            Ok(RequestNameReply::PrimaryOwner) => {}
            other => fail(&format!("own {NOTIFICATIONS}"), &other),
        }
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let received = Arc::clone(&received);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("notification-server".to_owned())
                .spawn(move || serve(connection.channel(), &options, &received, &stop))
                .unwrap_or_else(|e| fail("start its thread", &e))
        };
        NotificationServer {
            received,
            stop,
            thread: Some(thread),
            bus,
        }
    }

    /// The bus address, for the transport under test.
    pub fn address(&self) -> &str {
        self.bus.address()
    }

    /// The bus it runs on.
    pub fn bus(&self) -> &PrivateBus {
        &self.bus
    }

    /// Every `Notify` call so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until `n` calls arrived or `timeout` passed, and returns what
    /// arrived (possibly fewer than `n`).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= n || Instant::now() >= deadline {
                return received;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for NotificationServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // `bus` drops next and kills the daemon.
    }
}

/// The server loop: answers calls until `stop` is set or the bus goes.
fn serve(channel: &Channel, options: &Options, received: &Mutex<Vec<Received>>, stop: &AtomicBool) {
    let mut next_id = 0u32;
    while !stop.load(Ordering::Acquire) {
        let msg = match channel.blocking_pop_message(POLL) {
            Ok(Some(msg)) => msg,
            Ok(None) => continue,
            Err(_) => break,
        };
        if msg.msg_type() != MessageType::MethodCall {
            continue;
        }
        let member = msg.member().map(|m| m.to_string()).unwrap_or_default();
        let ours = msg.interface().is_some_and(|i| &*i == NOTIFICATIONS)
            && msg.path().is_some_and(|p| &*p == NOTIFICATIONS_PATH);
        let reply = match member.as_str() {
            "Notify" if ours => notify(&msg, options, received, &mut next_id),
            "GetCapabilities" if ours => {
                Some(msg.return_with_args((options.capabilities.clone(),)))
            }
            "GetServerInformation" if ours => Some(msg.return_with_args(SERVER_INFORMATION)),
            _ => dbus::channel::default_reply(&msg),
        };
        if let Some(reply) = reply {
            let _ = channel.send(reply);
            channel.flush();
        }
    }
}

type NotifyArgs = (
    String,
    u32,
    String,
    String,
    String,
    Vec<String>,
    HashMap<String, Variant<Box<dyn RefArg>>>,
    i32,
);

/// Records one `Notify` call and makes its reply.
fn notify(
    msg: &Message,
    options: &Options,
    received: &Mutex<Vec<Received>>,
    next_id: &mut u32,
) -> Option<Message> {
    let args: NotifyArgs = match msg.read_all() {
        Ok(args) => args,
        Err(e) => {
            let text = format!("Notify expects (susssasa{{sv}}i): {e:?}");
            return Some(error_reply(
                msg,
                "org.freedesktop.DBus.Error.InvalidArgs",
                &text,
            ));
        }
    };
    let (app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout) = args;
    let (reply, id) = match &options.answer {
        Answer::Ids => {
            *next_id += 1;
            (Some(msg.return_with_args((*next_id,))), Some(*next_id))
        }
        Answer::Error { name, message } => (Some(error_reply(msg, name, message)), None),
        Answer::Nothing => (None, None),
    };
    let hints = hints
        .iter()
        .map(|(k, v)| (k.clone(), Hint::from_refarg(&*v.0)))
        .collect();
    received
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Received {
            app_name,
            replaces_id,
            app_icon,
            summary,
            body,
            actions,
            hints,
            expire_timeout,
            id,
        });
    reply
}

fn error_reply(msg: &Message, name: &str, message: &str) -> Message {
    let text = std::ffi::CString::new(message.replace('\0', " ")).unwrap_or_default();
    match dbus::strings::ErrorName::new(name) {
        Ok(name) => msg.error(&name, &text),
        Err(_) => msg.error(&"org.freedesktop.DBus.Error.Failed".into(), &text),
    }
}
