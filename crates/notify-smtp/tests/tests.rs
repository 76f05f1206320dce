//! Integration tests of notify-smtp, one binary with a module per area.
//!
//! - `util`: an independent mail reader (unfolding, RFC 2047/2231, base64,
//!   quoted-printable, multipart) and the child-process helper.
//! - `message`: every header, encodings, multipart structure, errors,
//!   Message-ID uniqueness, header-injection safety.
//! - `maildir`: layout, permissions, LF line endings, concurrency across
//!   threads, tasks and processes, error kinds and hints.
//! - `writer`: `WriterTransport`, `StdoutTransport` (in a child process) and
//!   the re-exported `StubTransport`.
//! - `doctor`: `doctor::diagnose` against the same server: every step,
//!   its verdicts, details and hints.
//! - `smtp`: `SmtpTransport` against a real aiosmtpd server (notify-testkit)
//!   over real TLS: every security mode, AUTH mechanisms, certificate
//!   checks, faults and their hints, batches, transcript redaction.
//!
//! `doctor` and `smtp` need the default `smtp` feature; the others also run
//! with `--no-default-features`.
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

mod util;

#[cfg(feature = "smtp")]
mod doctor;
mod maildir;
mod message;
#[cfg(feature = "smtp")]
mod smtp;
mod writer;
