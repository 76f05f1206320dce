//! Desktop notifications for notify: a [`Transport`] that shows a rendered
//! [`Notification`] on the user's desktop, beside or instead of a mail.
//!
//! - Linux: [`DesktopTransport`] calls `org.freedesktop.Notifications.Notify`
//!   on the session bus (libdbus, vendored) with the subject as summary, the
//!   text as body (capped at 2000 characters, and escaped when the server
//!   reads markup), an icon, `urgency` and `category` hints taken from the
//!   run's [`Outcome`](notify_core::Outcome): a failure is critical.
//! - macOS: `osascript -e 'display notification ...'`.
//! - Elsewhere: a permanent "not supported" error.
//!
//! A key design decision made in this crate is that a desktop that is not
//! there is an expected, transient condition and not a failure: notify
//! mostly runs from cron and systemd timers, with no session bus or no
//! notification server. Then [`Transport::send`] fails quickly with an
//! [`ErrorKind::Temporary`] error whose one-line message ends in "desktop
//! notification skipped", which the CLI prints as a warning. For the same
//! reason the session bus is looked up here (`DBUS_SESSION_BUS_ADDRESS`,
//! else `$XDG_RUNTIME_DIR/bus`) and libdbus is never allowed to
//! "autolaunch" a bus of its own, which would outlive the job; and every
//! D-Bus call of one send shares one deadline ([`DEFAULT_TIMEOUT`]).
#![deny(missing_docs)]

use std::time::Duration;

use async_trait::async_trait;
use notify_core::{Delivery, ErrorKind, Notification, Transport, TransportError};

mod content;
#[cfg(target_os = "linux")]
mod linux;
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod macos;

/// How long one [`Transport::send`] may take, D-Bus connection included,
/// unless [`DesktopTransport::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which bus to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
enum Bus {
    /// The session bus, looked up at each send.
    Session,
    /// A given D-Bus address.
    Address(String),
}

/// Shows notifications on the desktop (see the [crate] docs).
///
/// ```no_run
/// # async fn demo() {
/// use notify_core::{Notification, Outcome, Transport};
/// use notify_desktop::DesktopTransport;
///
/// let desktop = DesktopTransport::new();
/// let notification = Notification {
///     subject: "backup: failed".into(),
///     text: "borg exited with code 2".into(),
///     outcome: Some(Outcome::Failure),
///     ..Notification::default()
/// };
/// match desktop.send(&notification).await {
///     Ok(delivery) => println!("{}", delivery.detail), // desktop notification #7
///     Err(e) => eprintln!("warning: {e}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub struct DesktopTransport {
    bus: Bus,
    timeout: Duration,
}

impl DesktopTransport {
    /// The session bus of the environment, as libdbus finds it:
    /// `DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus` when that
    /// socket exists. It is looked up at each send, so this never fails.
    pub fn new() -> Self {
        DesktopTransport {
            bus: Bus::Session,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The bus at a D-Bus address such as `unix:path=/run/user/1000/bus`
    /// (Linux; ignored elsewhere).
    pub fn with_bus_address(address: impl Into<String>) -> Self {
        DesktopTransport {
            bus: Bus::Address(address.into()),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// How long one send may take in all (default [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long one send may take in all.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl Default for DesktopTransport {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Transport for DesktopTransport {
    /// Shows the notification. Errors: [`ErrorKind::Temporary`] when there
    /// is no session bus, no notification server or no answer in time;
    /// [`ErrorKind::Permanent`] when the server refuses, naming its D-Bus
    /// error, or on a platform without desktop notifications.
    async fn send(&self, notification: &Notification) -> Result<Delivery, TransportError> {
        let content = content::Content::new(notification);
        #[cfg(target_os = "linux")]
        {
            let bus = self.bus.clone();
            let timeout = self.timeout;
            let id = blocking(move || linux::notify(&bus, &content, timeout)).await?;
            Ok(Delivery {
                detail: format!("desktop notification #{id}"),
            })
        }
        #[cfg(target_os = "macos")]
        {
            blocking(move || macos::notify(&content)).await?;
            Ok(Delivery {
                detail: "desktop notification (Notification Center)".to_owned(),
            })
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos")))]
        {
            let _ = content;
            Err(TransportError::new(
                ErrorKind::Permanent,
                "desktop notifications are not supported on this platform",
            ))
        }
    }
}

/// Runs a blocking call off the async threads: on tokio's blocking pool
/// when there is a tokio runtime, else in place.
#[cfg(any(target_os = "linux", target_os = "macos"))]
async fn blocking<T, F>(f: F) -> Result<T, TransportError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, TransportError> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(f).await.unwrap_or_else(|e| {
            Err(TransportError::new(
                ErrorKind::Permanent,
                format!("the desktop notification task failed: {e}"),
            ))
        }),
        Err(_) => f(),
    }
}
