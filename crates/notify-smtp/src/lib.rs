//! Message building and delivery for notify: turns a rendered
//! [`Notification`](notify_core::Notification) into an RFC 5322 message and
//! hands it to a [`Transport`](notify_core::Transport).
//!
//! - [`build_message`] / [`format_message`] build the message with lettre:
//!   Date, Message-ID ([`new_message_id`]), MIME-Version, User-Agent,
//!   RFC 2047 encoded subject and display names, a UTF-8 text body,
//!   `multipart/alternative` with HTML, `multipart/mixed` with attachments.
//! - [`MaildirTransport`] writes into a local Maildir (the default when no
//!   account is configured), [`StdoutTransport`] prints (`--dry-run`),
//!   [`WriterTransport`] writes to any `Write`, and [`StubTransport`] (from
//!   core) records what it is given, for tests.
//! - [`Error`] is the one error type; it converts into core's
//!   [`TransportError`](notify_core::TransportError) with a kind (config,
//!   permanent, temporary) and a hint.
//!
//! A key design decision made in this crate is that every transport takes
//! core's plain `Notification` and builds the message through the one
//! [`build_message`], which validates and normalizes everything itself
//! before lettre sees it (addresses, Message-ID, date range, control
//! characters in the subject and file names, line lengths, an explicit
//! envelope so Bcc is never a header), because lettre's builder trusts its
//! caller: it panics on dates before 1970, writes a Message-ID with spaces
//! as an encoded-word, and never folds a long word. So what `--dry-run`
//! prints, what lands in the Maildir (with LF line endings) and what SMTP
//! sends are the same message, checked once.
#![deny(missing_docs)]

mod error;
mod maildir;
mod message;
mod stdout;

pub use error::Error;
pub use lettre::Message;
pub use maildir::MaildirTransport;
pub use message::{build_message, format_message, new_message_id, MAX_LINE_LEN, USER_AGENT};
pub use notify_core::StubTransport;
pub use stdout::{StdoutTransport, WriterTransport};
