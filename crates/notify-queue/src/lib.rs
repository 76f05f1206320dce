//! The durable side of notify: the on-disk delivery queue and the per-task
//! state, as a library with no CLI, no SMTP and no async runtime in it.
//!
//! - [`Queue`] keeps notifications whose delivery failed temporarily, one
//!   JSON file per entry under `DATA_DIR/queue`, and hands them out again
//!   when they are due ([`Queue::claim_due`]), with exponential backoff
//!   ([`backoff`]) until they are delivered ([`Queue::done`]) or given up
//!   ([`Queue::retry_later`], [`Queue::give_up`]). Safe with concurrent
//!   processes: a claim is a lock on the entry's file.
//! - [`StateStore`] keeps each task's [`TaskState`](notify_core::TaskState)
//!   (what the level policy compares a run with), one file per task and
//!   destination.
//! - [`HistoryStore`] keeps every task's last runs, whatever its level (a
//!   [`History`](notify_core::History) per task), and a record of each
//!   `notify run` still going on, for `status`, `digest` and the check for
//!   overdue and unfinished runs.
//! - [`metrics`] writes every task's last run as a Prometheus textfile
//!   (node_exporter's textfile collector), from the [`HistoryStore`]'s index.
//! - [`files`] is the one way any of notify's files is written: whole or not
//!   at all (a temporary file, then a rename or a link), mode 0600, synced
//!   when it matters; the Maildir delivery uses it too.
//!
//! A key design decision made in this crate is that a claim, not a scan,
//! decides who delivers an entry: the kernel releases a lock when its
//! process dies, even by `kill -9`, so a crash leaves nothing to clean up
//! and no entry is ever delivered by two processes at once. Removal after
//! delivery is per entry, so an interrupted retry repeats at most the
//! message that was on the wire.
//!
//! ```
//! use notify_core::Notification;
//! use notify_queue::{Queue, DEFAULT_MAX_AGE};
//! use time::OffsetDateTime;
//!
//! let data_dir = tempfile::tempdir()?;
//! let queue = Queue::new(data_dir.path());
//! let n = Notification::new("Backup failed", "borg exited with code 2");
//! let now = OffsetDateTime::now_utc();
//! queue.enqueue(Some("work"), "Backup", &n, "451 try again later", now)?;
//!
//! // A later run: everything, due or not (as `notify queue flush` does).
//! let (claimed, _warnings) = queue.claim_due(now, true, 100);
//! for entry in claimed {
//!     assert_eq!(entry.notification.subject, "Backup failed");
//!     // ... deliver entry.notification through any Transport, then:
//!     queue.done(&entry)?;
//! }
//! assert!(queue.list().0.is_empty());
//! # let _ = DEFAULT_MAX_AGE;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod error;
pub mod files;
mod history;
pub mod metrics;
mod queue;
mod state;

pub use error::{Error, Op, Result};

/// The directories of the data directory, by the name each store uses:
/// the queue, the level's memory per task, and the run history with the
/// runs in progress.
pub mod layout {
    /// Notifications waiting for a retry (`failed/`: given up on).
    pub const QUEUE: &str = "queue";
    /// What each task's levels remember (`changes`, reminders).
    pub const STATE: &str = "state";
    /// Each task's runs, for `status`, the digest, `check` and metrics.
    pub const HISTORY: &str = "history";
    /// Runs in progress, for `check`'s "did not finish".
    pub const RUNNING: &str = "running";
}
pub use history::{HistoryStore, RunningEntry, Starts, Summary};
pub use queue::{backoff, backoff_base, Claimed, Entry, Queue, QueuedId, Retry, DEFAULT_MAX_AGE};
pub use state::{stable_hash, StateLock, StateStore};

/// The crate's README, whose example runs as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
