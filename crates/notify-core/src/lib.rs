//! The heart of notify: what a finished job looks like, whether it deserves a
//! mail, and the seam every delivery method plugs into.
//!
//! - [`TaskResult`] is the record of one run (name, [`Outcome`], exit code,
//!   times, counts, log tail); its JSON form is notify's exchange format and its
//!   schema is published as `task-result.schema.json` beside this crate.
//! - [`ExitCodes`] maps a wrapped command's exit code to an [`Outcome`]
//!   (`default`, `borg`, `restic`, `rsync` or a custom map).
//! - [`Level`] and [`decide`] are the notification policy.
//! - [`Silence`], [`SilenceNotice`] and [`overdue`]: what a check finds
//!   about a task that did not report; [`History`] keeps a task's last
//!   runs ([`RunRecord`]) and [`Running`] one that has not finished.
//! - [`Transport`] delivers a rendered [`Notification`]; [`StubTransport`]
//!   records what it is given, for tests.
//!
//! A key design decision made in this crate is that it is pure: the level
//! policy is a function of (level, this result, previous state, the time the
//! caller passes in). Nothing here reads clocks, files, the environment or the
//! network, so every decision is reproducible in a table-driven test, and a
//! library user gets the model without tokio or a mail library.
#![deny(missing_docs)]

mod error;
mod exit_codes;
mod policy;
mod result;
mod silence;
pub mod text;
mod transport;

/// The attribute [`Transport`] implementations need (`#[async_trait]`),
/// re-exported so that a crate implementing one needs no dependency of its
/// own on `async-trait`.
pub use async_trait::async_trait;
pub use error::ParseError;
pub use exit_codes::{CustomExitCodes, ExitCodes, Preset};
pub use policy::{
    decide, Decision, Level, PolicyOptions, Reason, SilenceMark, Streak, TaskState,
    DEFAULT_REMIND_EVERY,
};
pub use result::{Outcome, TaskResult};
pub use silence::{
    default_grace, overdue, History, RunRecord, RunStreak, Running, Silence, SilenceNotice,
    HISTORY_RUNS,
};
#[cfg(feature = "mock")]
pub use transport::MockTransport;
pub use transport::{
    Attachment, BatchReport, Delivery, ErrorKind, Notification, StubTransport, Transport,
    TransportError,
};

/// The JSON Schema of [`TaskResult`], as published in
/// `crates/notify-core/task-result.schema.json`.
pub const TASK_RESULT_SCHEMA: &str = include_str!("../task-result.schema.json");

/// The crate's README, whose examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
