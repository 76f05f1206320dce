//! The freedesktop notification call over D-Bus (libdbus, blocking).
//!
//! One private connection per send: `Hello`, `GetCapabilities` (to know
//! whether the body is read as markup), `Notify`, all within one deadline.
//! The address is checked first: libdbus must not start a process
//! (`autolaunch:`, `unixexec:`) and panics on a NUL byte in it.

use std::path::Path;
use std::time::{Duration, Instant};

use dbus::arg::{PropMap, RefArg, Variant};
use dbus::channel::Channel;
use dbus::Message;
use notify_core::{ErrorKind, TransportError};

use crate::content::{escape_markup, Content};
use crate::{Bus, SKIPPED};

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

/// The vendored libdbus waits with `select()` (its build does not define
/// `HAVE_POLL`), whose `fd_set` only holds descriptors below this: waiting
/// on a higher one would write past it.
const FD_SETSIZE: i32 = 1024;

/// Address kinds (transports) for which libdbus starts a process: `dbus-launch`
/// for `autolaunch:`, any program for `unixexec:`.
const SPAWNING_TRANSPORTS: [&str; 2] = ["autolaunch", "unixexec"];
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
    let deadline = crate::deadline_after(timeout);
    let address = match bus {
        Bus::Session => session_address()?,
        Bus::Address(address) => address.clone(),
    };
    check_address(&address)?;
    let mut channel = Channel::open_private(&address).map_err(|e| no_bus(&address, &e))?;
    check_descriptor(&mut channel)?;

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

/// Refuses an address libdbus must not see: one with a NUL byte (dbus-rs
/// would panic on it) or one with which libdbus would start a process
/// (any entry of a `;`-separated list with a [`SPAWNING_TRANSPORTS`] kind).
fn check_address(address: &str) -> Result<(), TransportError> {
    if address.contains('\0') {
        return Err(TransportError::new(
            ErrorKind::Temporary,
            format!("the desktop session bus address contains a NUL byte; {SKIPPED}"),
        ));
    }
    let spawning = address
        .split(';')
        .filter_map(|entry| entry.split_once(':').map(|(kind, _)| kind.trim()))
        .find(|kind| {
            SPAWNING_TRANSPORTS
                .iter()
                .any(|spawning| kind.eq_ignore_ascii_case(spawning))
        });
    match spawning {
        None => Ok(()),
        Some(kind) => Err(TransportError::new(
            ErrorKind::Temporary,
            format!(
                "refusing the desktop session bus address of kind `{kind}:` (libdbus would \
                 start a process for it); {SKIPPED}"
            ),
        )
        .with_hint(NO_BUS_HINT)),
    }
}

/// Refuses a connection libdbus could not wait on safely: one whose socket
/// is at or above [`FD_SETSIZE`] (a process with over a thousand files
/// open). Checked before the first read or write.
fn check_descriptor(channel: &mut Channel) -> Result<(), TransportError> {
    // Deprecated for `set_watch_enabled` + `watch`, but `watch` panics
    // (an abort, in release) should libdbus report no descriptor.
    #[allow(deprecated)]
    let watches = channel.watch_fds().unwrap_or_default();
    match watches.iter().map(|w| w.fd).find(|&fd| fd >= FD_SETSIZE) {
        None => Ok(()),
        Some(fd) => Err(TransportError::new(
            ErrorKind::Temporary,
            format!(
                "too many open files for libdbus (its connection got descriptor {fd}; it can \
                 only wait on descriptors below {FD_SETSIZE}); {SKIPPED}"
            ),
        )),
    }
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
    let message = notify_core::text::one_line(error.message().unwrap_or(""), None);
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
    let message = notify_core::text::one_line(error.message().unwrap_or("cannot connect"), None);
    TransportError::new(
        ErrorKind::Temporary,
        format!("no desktop session bus at {address} ({message}); {SKIPPED}"),
    )
    .with_hint(NO_BUS_HINT)
}

pub(crate) fn timed_out(timeout: Duration, who: &str) -> TransportError {
    TransportError::new(
        ErrorKind::Temporary,
        format!("{who} did not answer within {timeout:?}; {SKIPPED}"),
    )
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
    fn spawning_addresses_are_refused() {
        for address in [
            "autolaunch:",
            "autolaunch:scope=*user",
            "unixexec:path=/bin/sh,argv1=-c,argv2=touch%20/tmp/x",
            "UNIXEXEC:path=/bin/true",
            // Any entry of a list: libdbus tries them in turn.
            "unix:path=/nonexistent;autolaunch:",
            "tcp:host=localhost,port=1; unixexec:path=/bin/true",
        ] {
            let err = check_address(address).expect_err(address);
            assert_eq!(err.kind(), ErrorKind::Temporary, "{address}");
            let message = err.to_string();
            assert!(
                message.starts_with("refusing the desktop session bus address of kind `"),
                "{message}"
            );
            assert!(
                message.ends_with("; desktop notification skipped"),
                "{message}"
            );
            assert!(err.hint().is_some(), "{address}");
        }
        assert_eq!(
            check_address("autolaunch:").unwrap_err().to_string(),
            "refusing the desktop session bus address of kind `autolaunch:` (libdbus would \
             start a process for it); desktop notification skipped"
        );
        assert!(check_address("unixexec:path=/bin/true")
            .unwrap_err()
            .to_string()
            .contains("`unixexec:`"));

        for address in [
            "unix:path=/run/user/1000/bus",
            "unix:abstract=/tmp/dbus-x,guid=0123",
            "unix:path=/tmp/autolaunch:here",
            "tcp:host=example.org,port=4000;unix:path=/run/user/1000/bus",
            "nonce-tcp:host=localhost,port=1,noncefile=/tmp/n",
            // Malformed, but nothing to start: libdbus rejects it.
            "no-colon",
            "",
        ] {
            assert!(check_address(address).is_ok(), "{address}");
        }
    }

    #[test]
    fn nul_in_address_is_an_error_not_a_panic() {
        let err = check_address("unix:path=/tmp/a\0b").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Temporary);
        assert_eq!(
            err.to_string(),
            "the desktop session bus address contains a NUL byte; desktop notification skipped"
        );
        // Through the whole send path, before libdbus sees it.
        let content = Content::new(&notify_core::Notification::default());
        let err = notify(
            &Bus::Address("unix:path=/tmp/a\0b".to_owned()),
            &content,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.to_string().contains("NUL byte"), "{err}");
        let err = notify(
            &Bus::Address("autolaunch:".to_owned()),
            &content,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.to_string().contains("`autolaunch:`"), "{err}");
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
