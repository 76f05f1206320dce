//! The freedesktop notification call over D-Bus (libdbus, blocking).
//!
//! One private connection per send: `Hello`, `GetCapabilities` (to know
//! whether the body is read as markup), `Notify`, all within one deadline.

use std::path::Path;
use std::time::{Duration, Instant};

use dbus::arg::{PropMap, RefArg, Variant};
use dbus::channel::Channel;
use dbus::Message;
use notify_core::{ErrorKind, TransportError};

use crate::content::{escape_markup, Content};
use crate::Bus;

const BUS_NAME: &str = "org.freedesktop.DBus";
const BUS_PATH: &str = "/org/freedesktop/DBus";
const NOTIFICATIONS: &str = "org.freedesktop.Notifications";
const NOTIFICATIONS_PATH: &str = "/org/freedesktop/Notifications";
/// The environment variable libdbus reads the session bus from.
const SESSION_BUS_ENV: &str = "DBUS_SESSION_BUS_ADDRESS";
const APP_NAME: &str = "notify";
const NO_REPLY: &str = "org.freedesktop.DBus.Error.NoReply";
const DISCONNECTED: &str = "org.freedesktop.DBus.Error.Disconnected";
/// The message of our own [`NO_REPLY`] when the deadline passes.
const DEADLINE_PASSED: &str = "no reply in time";
/// Ask the server for its default expiry.
const EXPIRE_DEFAULT: i32 = -1;

const SKIPPED: &str = "desktop notification skipped";
const NO_BUS_HINT: &str = "desktop notifications need a desktop session; from cron or a \
                           systemd service, set DBUS_SESSION_BUS_ADDRESS (usually \
                           unix:path=/run/user/<uid>/bus)";
const NO_SERVER_HINT: &str = "start a notification daemon (the desktop's own, or e.g. dunst \
                              or mako)";

/// Shows `content` and returns the id the server gave it.
pub(crate) fn notify(
    bus: &Bus,
    content: &Content,
    timeout: Duration,
) -> Result<u32, TransportError> {
    let deadline = Instant::now() + timeout;
    let address = match bus {
        Bus::Session => session_address()?,
        Bus::Address(address) => address.clone(),
    };
    let channel = Channel::open_private(&address).map_err(|e| no_bus(&address, &e))?;

    // Register by hand, within the deadline (`Channel::register` would wait
    // libdbus' default 25 s, and forever during authentication).
    let hello = method_call(BUS_NAME, BUS_PATH, BUS_NAME, "Hello")?;
    call(&channel, hello, deadline).map_err(|e| match classify(&e) {
        Class::NoReply => timed_out(timeout, "the desktop session bus"),
        _ => no_bus(&address, &e),
    })?;

    let markup = match call(
        &channel,
        method_call(
            NOTIFICATIONS,
            NOTIFICATIONS_PATH,
            NOTIFICATIONS,
            "GetCapabilities",
        )?,
        deadline,
    ) {
        Ok(reply) => reply
            .read1::<Vec<String>>()
            .is_ok_and(|caps| caps.iter().any(|c| c == "body-markup")),
        Err(e) => match error_for(&e, timeout) {
            // No server, no answer: nothing to show it on.
            err if err.is_transient() => return Err(err),
            // A server without GetCapabilities: plain text is always safe.
            _ => false,
        },
    };
    let body = if markup {
        escape_markup(&content.body)
    } else {
        content.body.clone()
    };

    let mut hints = PropMap::new();
    hints.insert(
        "urgency".to_owned(),
        Variant(Box::new(content.urgency) as Box<dyn RefArg>),
    );
    if let Some(category) = content.category {
        hints.insert(
            "category".to_owned(),
            Variant(Box::new(category.to_owned()) as Box<dyn RefArg>),
        );
    }
    let mut notify = method_call(NOTIFICATIONS, NOTIFICATIONS_PATH, NOTIFICATIONS, "Notify")?;
    notify.append_all((
        APP_NAME,
        0u32,
        content.icon,
        content.summary.as_str(),
        body,
        Vec::<String>::new(),
        hints,
        EXPIRE_DEFAULT,
    ));
    let reply = call(&channel, notify, deadline).map_err(|e| error_for(&e, timeout))?;
    reply.read1::<u32>().map_err(|e| {
        TransportError::new(
            ErrorKind::Permanent,
            format!("the notification server answered Notify without an id ({e})"),
        )
    })
}

/// The session bus as libdbus finds it: `$DBUS_SESSION_BUS_ADDRESS`, else
/// `$XDG_RUNTIME_DIR/bus` when that socket exists. Never X11 autolaunch,
/// which would start a bus of its own and leave it running.
fn session_address() -> Result<String, TransportError> {
    if let Some(address) = std::env::var_os(SESSION_BUS_ENV) {
        if let Some(address) = address.to_str().filter(|a| !a.is_empty()) {
            return Ok(address.to_owned());
        }
        if !address.is_empty() {
            return Err(TransportError::new(
                ErrorKind::Temporary,
                format!("no desktop session bus ({SESSION_BUS_ENV} is not UTF-8); {SKIPPED}"),
            ));
        }
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        let socket = Path::new(&dir).join("bus");
        if socket.exists() {
            if let Some(path) = socket.to_str() {
                return Ok(format!("unix:path={}", escape_address_value(path)));
            }
        }
    }
    Err(TransportError::new(
        ErrorKind::Temporary,
        format!("no desktop session bus ({SESSION_BUS_ENV} is not set); {SKIPPED}"),
    )
    .with_hint(NO_BUS_HINT))
}

/// Escapes a value in a D-Bus address: bytes other than `[-0-9A-Za-z_/.*]`
/// as `%XX`.
fn escape_address_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_/.*".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

fn method_call(
    dest: &str,
    path: &str,
    iface: &str,
    member: &str,
) -> Result<Message, TransportError> {
    Message::new_method_call(dest, path, iface, member).map_err(|e| {
        TransportError::new(
            ErrorKind::Permanent,
            format!("cannot build the D-Bus call {iface}.{member}: {e}"),
        )
    })
}

/// Sends `msg` and waits for its reply until `deadline`.
///
/// Drives the connection itself rather than calling libdbus'
/// `send_with_reply_and_block`, whose timeout does not cover the
/// authentication handshake: on a bus that accepts the connection and
/// never answers, that call blocks forever (seen with the vendored libdbus 1.14.4).
fn call(channel: &Channel, msg: Message, deadline: Instant) -> Result<Message, dbus::Error> {
    let serial = channel
        .send(msg)
        .map_err(|()| dbus::Error::new_custom(DISCONNECTED, "cannot queue the message"))?;
    loop {
        while let Some(mut reply) = channel.pop_message() {
            if reply.get_reply_serial() == Some(serial) {
                reply.as_result()?;
                return Ok(reply);
            }
            // Signals such as NameAcquired, or a late answer: not ours.
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(dbus::Error::new_custom(NO_REPLY, DEADLINE_PASSED));
        }
        // Reads and writes (authentication included) for at most `left`.
        channel
            .read_write(Some(left))
            .map_err(|()| dbus::Error::new_custom(DISCONNECTED, "reading or writing failed"))?;
    }
}

/// How a D-Bus error name reads for us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Nobody owns org.freedesktop.Notifications and none could be started.
    NoServer,
    /// No answer in time.
    NoReply,
    /// The connection to the bus broke.
    Disconnected,
    /// Anything the server itself answered.
    Other,
}

fn classify(error: &dbus::Error) -> Class {
    classify_name(error.name().unwrap_or(""))
}

fn classify_name(name: &str) -> Class {
    match name {
        "org.freedesktop.DBus.Error.ServiceUnknown"
        | "org.freedesktop.DBus.Error.NameHasNoOwner" => Class::NoServer,
        name if name.starts_with("org.freedesktop.DBus.Error.Spawn.") => Class::NoServer,
        NO_REPLY | "org.freedesktop.DBus.Error.Timeout" | "org.freedesktop.DBus.Error.TimedOut" => {
            Class::NoReply
        }
        DISCONNECTED | "org.freedesktop.DBus.Error.NoServer" => Class::Disconnected,
        _ => Class::Other,
    }
}

/// The error for a failed call to the notification server.
fn error_for(error: &dbus::Error, timeout: Duration) -> TransportError {
    let name = error.name().unwrap_or("org.freedesktop.DBus.Error.Failed");
    let message = one_line(error.message().unwrap_or(""));
    match classify_name(name) {
        Class::NoServer if name == "org.freedesktop.DBus.Error.ServiceUnknown" => {
            TransportError::new(
                ErrorKind::Temporary,
                format!(
                    "no notification server on the session bus (nothing owns \
                     {NOTIFICATIONS}); {SKIPPED}"
                ),
            )
            .with_hint(NO_SERVER_HINT)
        }
        Class::NoServer => TransportError::new(
            ErrorKind::Temporary,
            format!("no notification server on the session bus ({message}); {SKIPPED}"),
        )
        .with_hint(NO_SERVER_HINT),
        Class::NoReply if message == DEADLINE_PASSED => {
            timed_out(timeout, "the notification server")
        }
        // E.g. the server quit without answering.
        Class::NoReply => TransportError::new(
            ErrorKind::Temporary,
            format!("the notification server did not answer ({message}); {SKIPPED}"),
        ),
        Class::Disconnected => TransportError::new(
            ErrorKind::Temporary,
            format!("lost the connection to the desktop session bus ({message}); {SKIPPED}"),
        ),
        Class::Other => TransportError::new(
            ErrorKind::Permanent,
            if message.is_empty() {
                format!("the notification server refused the notification: {name}")
            } else {
                format!("the notification server refused the notification: {name}: {message}")
            },
        ),
    }
}

fn no_bus(address: &str, error: &dbus::Error) -> TransportError {
    let message = one_line(error.message().unwrap_or("cannot connect"));
    TransportError::new(
        ErrorKind::Temporary,
        format!("no desktop session bus at {address} ({message}); {SKIPPED}"),
    )
    .with_hint(NO_BUS_HINT)
}

fn timed_out(timeout: Duration, who: &str) -> TransportError {
    TransportError::new(
        ErrorKind::Temporary,
        format!("{who} did not answer within {timeout:?}; {SKIPPED}"),
    )
}

/// The message on one line, for a warning.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names() {
        let cases = [
            ("org.freedesktop.DBus.Error.ServiceUnknown", Class::NoServer),
            ("org.freedesktop.DBus.Error.NameHasNoOwner", Class::NoServer),
            (
                "org.freedesktop.DBus.Error.Spawn.ChildExited",
                Class::NoServer,
            ),
            ("org.freedesktop.DBus.Error.NoReply", Class::NoReply),
            ("org.freedesktop.DBus.Error.Timeout", Class::NoReply),
            (
                "org.freedesktop.DBus.Error.Disconnected",
                Class::Disconnected,
            ),
            ("org.freedesktop.DBus.Error.UnknownMethod", Class::Other),
            ("org.freedesktop.DBus.Error.InvalidArgs", Class::Other),
            ("com.example.Refused", Class::Other),
            ("", Class::Other),
        ];
        for (name, class) in cases {
            assert_eq!(classify_name(name), class, "{name}");
        }
    }

    #[test]
    fn errors_read_as_one_line() {
        let timeout = Duration::from_secs(5);
        let check = |name: &str, message: &str, kind: ErrorKind, expect: &str| {
            let err = error_for(&dbus::Error::new_custom(name, message), timeout);
            assert_eq!(err.kind(), kind, "{name}");
            assert_eq!(err.to_string(), expect, "{name}");
        };
        check(
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "The name is not activatable",
            ErrorKind::Temporary,
            "no notification server on the session bus (nothing owns \
             org.freedesktop.Notifications); desktop notification skipped",
        );
        check(
            "org.freedesktop.DBus.Error.Spawn.ChildExited",
            "Process dunst exited\nwith status 1",
            ErrorKind::Temporary,
            "no notification server on the session bus (Process dunst exited with status 1); \
             desktop notification skipped",
        );
        check(
            "org.freedesktop.DBus.Error.NoReply",
            DEADLINE_PASSED,
            ErrorKind::Temporary,
            "the notification server did not answer within 5s; desktop notification skipped",
        );
        check(
            "org.freedesktop.DBus.Error.NoReply",
            "Message recipient disconnected from message bus without replying",
            ErrorKind::Temporary,
            "the notification server did not answer (Message recipient disconnected from \
             message bus without replying); desktop notification skipped",
        );
        check(
            "org.freedesktop.DBus.Error.Disconnected",
            "reading or writing failed",
            ErrorKind::Temporary,
            "lost the connection to the desktop session bus (reading or writing failed); \
             desktop notification skipped",
        );
        check(
            "com.example.Refused",
            "not today",
            ErrorKind::Permanent,
            "the notification server refused the notification: com.example.Refused: not today",
        );
    }

    #[test]
    fn address_escaping() {
        assert_eq!(
            escape_address_value("/run/user/1000/bus"),
            "/run/user/1000/bus"
        );
        assert_eq!(
            escape_address_value("/tmp/a b,c=d;é"),
            "/tmp/a%20b%2cc%3dd%3b%c3%a9"
        );
    }
}
