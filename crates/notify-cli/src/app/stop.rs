//! SIGTERM, SIGINT and SIGHUP while notify delivers: stop within a second,
//! keep what was not delivered in the queue, and exit.
//!
//! [`listen`] starts a task that counts stop signals while notify is
//! [`armed`](arm) (`send`, `test`, `queue flush`, and `run` once its job has
//! ended: while the job runs, the runner passes signals on to it instead).
//! Every wait of a delivery races [`requested`], which resolves as soon as a
//! signal has come; the caller then queues what it holds. A first signal
//! also starts a watchdog: a notify still alive [`WATCHDOG`] later (stuck
//! where nothing races a signal) exits with the code [`set_exit_code`]
//! named, so a stop signal is never ignored.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::time::Duration;

/// How long notify may take to wind up after a stop signal before it exits
/// anyway.
pub const WATCHDOG: Duration = Duration::from_secs(3);

/// Stop signals received while armed.
static RECEIVED: AtomicU32 = AtomicU32::new(0);
/// The last of them (its number).
static LAST: AtomicI32 = AtomicI32::new(0);
/// Whether signals count now.
static ARMED: AtomicBool = AtomicBool::new(false);
/// What the watchdog exits with.
static EXIT_CODE: AtomicI32 = AtomicI32::new(75);

/// Starts listening for stop signals on `runtime`, armed from now on when
/// `armed` (`run` arms only once its job has ended). Call once, for the
/// commands that deliver. Without signal support (not Unix), nothing
/// happens.
pub fn listen(runtime: &tokio::runtime::Runtime, armed: bool) {
    arm(armed);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let _guard = runtime.enter();
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        runtime.spawn(async move {
            loop {
                let sig = tokio::select! {
                    _ = term.recv() => libc::SIGTERM,
                    _ = int.recv() => libc::SIGINT,
                    _ = hup.recv() => libc::SIGHUP,
                };
                if ARMED.load(Ordering::SeqCst) {
                    LAST.store(sig, Ordering::SeqCst);
                    if RECEIVED.fetch_add(1, Ordering::SeqCst) == 0 {
                        start_watchdog();
                    }
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = runtime;
}

/// Whether stop signals count (true) or are someone else's business (the
/// runner's, while the job runs).
pub fn arm(armed: bool) {
    ARMED.store(armed, Ordering::SeqCst);
}

/// A stop signal that came while `run`'s job ran (passed on to the job):
/// notify was asked to stop too, so the report of the run gets `grace` to
/// be delivered, then counts as stopped by `sig` (queued, exit at once).
pub fn stop_after(grace: Duration, sig: i32) {
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        LAST.store(sig, Ordering::SeqCst);
        if RECEIVED.fetch_add(1, Ordering::SeqCst) == 0 {
            start_watchdog();
        }
    });
}

/// The exit code the watchdog uses (`run`: the job's code).
pub fn set_exit_code(code: u8) {
    EXIT_CODE.store(i32::from(code), Ordering::SeqCst);
}

/// The stop signal received, if any: its name, for messages.
pub fn received() -> Option<&'static str> {
    if RECEIVED.load(Ordering::SeqCst) == 0 {
        return None;
    }
    Some(name(LAST.load(Ordering::SeqCst)))
}

/// Resolves once a stop signal has been received (at once if one has);
/// never without [`listen`]. Gives the signal's name.
pub async fn requested() -> &'static str {
    loop {
        if let Some(name) = received() {
            return name;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(unix)]
fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

#[cfg(not(unix))]
fn name(_sig: i32) -> &'static str {
    "a signal"
}

fn start_watchdog() {
    let _ = std::thread::Builder::new()
        .name("stop-watchdog".into())
        .spawn(|| {
            std::thread::sleep(WATCHDOG);
            super::diag(&format!(
                "notify: still busy {} s after {}; exiting",
                WATCHDOG.as_secs(),
                received().unwrap_or("a stop signal")
            ));
            std::process::exit(EXIT_CODE.load(Ordering::SeqCst));
        });
}
