//! Desktop notifications for notify: a [`Transport`] that shows a rendered
//! [`Notification`] on the user's desktop, beside or instead of a mail.
//!
//! - Linux: [`DesktopTransport`] calls `org.freedesktop.Notifications.Notify`
//!   on the session bus (libdbus, vendored) with the subject as summary, the
//!   text as body (capped at 2000 characters, and escaped when the server
//!   reads markup), an icon, `urgency` and `category` hints taken from the
//!   run's [`Outcome`](notify_core::Outcome): a failure is critical.
//! - macOS: `osascript`'s `display notification`, with the body and the
//!   summary passed as arguments of the script, never as part of its source.
//! - Elsewhere: a temporary "not supported" error (the environment has no
//!   desktop notifications; like a missing desktop, it is no failure).
//!
//! A key design decision made in this crate is that a desktop that is not
//! there is an expected, transient condition and not a failure: notify
//! mostly runs from cron and systemd timers, with no session bus or no
//! notification server. Then [`Transport::send`] fails quickly with an
//! [`ErrorKind::Temporary`] error whose one-line message ends in "desktop
//! notification skipped", which the CLI prints as a warning. For the same
//! reason the session bus is looked up here (`DBUS_SESSION_BUS_ADDRESS`,
//! else `$XDG_RUNTIME_DIR/bus`) and libdbus is never allowed to start a
//! process: it never "autolaunches" a bus of its own, which would outlive
//! the job, and an `autolaunch:` or `unixexec:` address (from the
//! environment or [`DesktopTransport::with_bus_address`]) is refused with a
//! temporary error. Every D-Bus call of one send shares one deadline
//! ([`DEFAULT_TIMEOUT`]), and a send returns soon after it even when
//! libdbus itself hangs (e.g. in `connect()`).
//!
//! Summary and body are sent as they are, except that NUL characters (which
//! neither D-Bus strings nor process arguments can carry) become U+FFFD.
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

/// How much longer than its timeout a send waits for the blocking work
/// before giving up on it (which should have ended by its own deadline).
#[cfg_attr(not(any(target_os = "linux", target_os = "macos")), allow(dead_code))]
const GRACE: Duration = Duration::from_secs(1);

/// How every temporary error's message ends.
pub(crate) const SKIPPED: &str = "desktop notification skipped";

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
/// let mut notification = Notification::new("backup: failed", "borg exited with code 2");
/// notification.outcome = Some(Outcome::Failure);
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
    ///
    /// This never fails; the address is checked at each send, which fails
    /// with an [`ErrorKind::Temporary`] error when the address has a NUL
    /// byte or would make libdbus start a process (`autolaunch:`,
    /// `unixexec:`; as for `DBUS_SESSION_BUS_ADDRESS` with [`new`](Self::new)).
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
    /// is no session bus (or a refused bus address), no notification server
    /// or no answer in time, when `osascript` is missing, finds no GUI
    /// session or does not finish in time, and on a platform without
    /// desktop notifications; [`ErrorKind::Permanent`] when the server
    /// refuses, naming its D-Bus error, or `osascript` fails otherwise.
    ///
    /// Within a tokio runtime, that runtime needs its time driver
    /// (`enable_time`, or `enable_all` as `#[tokio::main]` has it).
    async fn send(&self, notification: &Notification) -> Result<Delivery, TransportError> {
        let content = content::Content::new(notification);
        #[cfg(target_os = "linux")]
        {
            let bus = self.bus.clone();
            let timeout = self.timeout;
            let id = blocking(
                move || linux::notify(&bus, &content, timeout),
                timeout.saturating_add(GRACE),
                move || linux::timed_out(timeout, "the desktop session bus"),
            )
            .await?;
            Ok(Delivery::new(format!("desktop notification #{id}")))
        }
        #[cfg(target_os = "macos")]
        {
            let timeout = self.timeout;
            blocking(
                move || macos::notify(&content, timeout),
                timeout.saturating_add(GRACE),
                move || macos::timed_out(timeout),
            )
            .await?;
            Ok(Delivery::new(
                "desktop notification (Notification Center)".to_owned(),
            ))
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos")))]
        {
            let _ = content;
            Err(unsupported())
        }
    }
}

/// The error on a platform without desktop notifications: temporary, as
/// for any other environment without a desktop.
#[cfg_attr(any(target_os = "linux", target_os = "macos"), allow(dead_code))]
fn unsupported() -> TransportError {
    TransportError::new(
        ErrorKind::Temporary,
        format!("desktop notifications are not supported on this platform; {SKIPPED}"),
    )
}

/// Runs the blocking call `f` on a thread of its own and waits for it for
/// at most `limit`, else returns `late()`.
///
/// `f` has its own deadline, but libdbus can block beyond it where no
/// timeout applies (`connect()` to a hung bus with a full backlog, or to a
/// `tcp:` address of a dead host). The thread is then left behind, blocked
/// until the call returns or the process exits; that is acceptable for one
/// notification. It is a detached `std` thread rather than tokio's
/// `spawn_blocking` on purpose: dropping a tokio runtime waits for every
/// blocking-pool thread, so a hung call would hold up the end of the
/// program (e.g. the CLI's runtime at exit) until libdbus gave up.
///
/// Within a tokio runtime the wait is async; without one it blocks the
/// caller (polling, for at most `limit`).
#[cfg(any(target_os = "linux", target_os = "macos"))]
async fn blocking<T, F>(
    f: F,
    limit: Duration,
    late: impl FnOnce() -> TransportError,
) -> Result<T, TransportError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, TransportError> + Send + 'static,
{
    use tokio::sync::oneshot::error::TryRecvError;

    let (tx, mut rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("notify-desktop".to_owned())
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .unwrap_or_else(|payload| Err(panicked(payload.as_ref())));
            // The receiver is gone when the send has given up waiting.
            let _ = tx.send(result);
        })
        .map_err(|e| {
            TransportError::new(
                ErrorKind::Temporary,
                format!("cannot start a thread for the desktop notification: {e}; {SKIPPED}"),
            )
        })?;

    // The sender is only dropped unsent if the thread ends in a way
    // catch_unwind does not see (it should not).
    let lost = || {
        TransportError::new(
            ErrorKind::Permanent,
            "internal error: the desktop notification thread ended without a result",
        )
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        return match tokio::time::timeout(limit, rx).await {
            Ok(result) => result.unwrap_or_else(|_| Err(lost())),
            Err(_elapsed) => Err(late()),
        };
    }
    let deadline = deadline_after(limit);
    loop {
        match rx.try_recv() {
            Ok(result) => return result,
            Err(TryRecvError::Closed) => return Err(lost()),
            Err(TryRecvError::Empty) => {}
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(late());
        }
        std::thread::sleep(left.min(Duration::from_millis(10)));
    }
}

/// `timeout` from now; far in the future when that does not fit an
/// [`Instant`](std::time::Instant).
#[cfg_attr(not(any(target_os = "linux", target_os = "macos")), allow(dead_code))]
pub(crate) fn deadline_after(timeout: Duration) -> std::time::Instant {
    let now = std::time::Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(60 * 60 * 24 * 365 * 30))
}

/// The error for a panic in the blocking work: a bug in this crate (or
/// libdbus binding), reported as such. Only possible where panics unwind
/// (the release build aborts).
#[cfg(any(target_os = "linux", target_os = "macos"))]
fn panicked(payload: &(dyn std::any::Any + Send)) -> TransportError {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    let what = what.split_whitespace().collect::<Vec<_>>().join(" ");
    TransportError::new(
        ErrorKind::Permanent,
        format!("internal error: the desktop notification panicked ({what}); this is a bug"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_platform_is_temporary() {
        let err = unsupported();
        assert_eq!(err.kind(), ErrorKind::Temporary);
        assert!(err.is_transient());
        assert_eq!(
            err.to_string(),
            "desktop notifications are not supported on this platform; desktop notification \
             skipped"
        );
    }

    #[cfg(any(target_os = "linux", target_os = "macos"))]
    mod worker {
        use std::time::Instant;

        use super::super::*;

        fn late() -> TransportError {
            TransportError::new(ErrorKind::Temporary, "late")
        }

        fn slow() -> Result<u32, TransportError> {
            std::thread::sleep(Duration::from_secs(10));
            Ok(1)
        }

        #[tokio::test]
        async fn returns_the_result() {
            let got = blocking(|| Ok(7), Duration::from_secs(5), late).await;
            assert_eq!(got.unwrap(), 7);
            let err = blocking::<u32, _>(
                || Err(TransportError::new(ErrorKind::Permanent, "no")),
                Duration::from_secs(5),
                late,
            )
            .await
            .unwrap_err();
            assert_eq!(err.to_string(), "no");
        }

        #[tokio::test]
        async fn gives_up_at_the_limit() {
            let started = Instant::now();
            let err = blocking(slow, Duration::from_millis(100), late)
                .await
                .unwrap_err();
            assert_eq!(err.to_string(), "late");
            assert!(started.elapsed() < Duration::from_secs(3));
        }

        /// A hung call must not hold up the end of the runtime (as tokio's
        /// blocking pool would, waiting for its threads on drop).
        #[test]
        fn a_hung_call_does_not_hold_up_the_runtime() {
            let started = Instant::now();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let err = runtime
                .block_on(blocking(slow, Duration::from_millis(100), late))
                .unwrap_err();
            assert_eq!(err.to_string(), "late");
            drop(runtime);
            assert!(started.elapsed() < Duration::from_secs(3));
        }

        #[test]
        fn without_a_runtime() {
            assert_eq!(
                block_on_plain(blocking(|| Ok(3), Duration::from_secs(5), late)).unwrap(),
                3
            );
            let started = Instant::now();
            let err = block_on_plain(blocking(slow, Duration::from_millis(100), late)).unwrap_err();
            assert_eq!(err.to_string(), "late");
            assert!(started.elapsed() < Duration::from_secs(3));
        }

        #[tokio::test]
        async fn a_panic_is_a_sensible_error() {
            let err =
                blocking::<u32, _>(|| panic!("boom\nat line 3"), Duration::from_secs(5), late)
                    .await
                    .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Permanent);
            assert_eq!(
                err.to_string(),
                "internal error: the desktop notification panicked (boom at line 3); this is \
                 a bug"
            );
            let err = blocking::<u32, _>(
                || panic!("{}", String::from("formatted")),
                Duration::from_secs(5),
                late,
            )
            .await
            .unwrap_err();
            assert!(err.to_string().contains("(formatted)"), "{err}");
        }

        /// Polls `fut` to completion outside any tokio runtime (a minimal
        /// executor: the future under test never returns Pending there).
        fn block_on_plain<F: std::future::Future>(fut: F) -> F::Output {
            use std::sync::Arc;
            use std::task::{Context, Poll, Wake, Waker};

            struct Noop;
            impl Wake for Noop {
                fn wake(self: Arc<Self>) {}
            }

            let waker = Waker::from(Arc::new(Noop));
            let mut cx = Context::from_waker(&waker);
            let mut fut = std::pin::pin!(fut);
            loop {
                if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                    return out;
                }
            }
        }
    }
}

/// The crate's README, whose examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
