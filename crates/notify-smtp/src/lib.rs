//! Message building and delivery for notify: turns a rendered
//! [`Notification`](notify_core::Notification) into an RFC 5322 message and
//! hands it to a [`Transport`](notify_core::Transport).
//!
//! - [`build_message`] / [`format_message`] build the message with lettre:
//!   Date, Message-ID ([`new_message_id`]), MIME-Version, User-Agent,
//!   RFC 2047 encoded subject and display names, a UTF-8 text body,
//!   `multipart/alternative` with HTML, `multipart/mixed` with attachments.
//!   A [`BuiltMessage`] holds the bytes and the envelope as plain strings:
//!   no lettre type is part of this crate's API.
//! - [`Incoming`] reads a message another program wrote (what a
//!   `sendmail` command gets on stdin), keeps its header fields byte for
//!   byte and adds what delivery needs (From, Date, Message-ID); set as a
//!   notification's `raw_message`, every transport sends it as it is.
//! - [`SmtpTransport`] delivers over SMTP ([`SmtpConfig`]: implicit TLS,
//!   STARTTLS that is never skipped, or none; AUTH PLAIN/LOGIN/XOAUTH2 via
//!   [`AuthMechanism`] and [`Credentials`]; extra trusted CAs), one
//!   connection per batch, with a redacted transcript for `-v` and
//!   failures classified as temporary, permanent or configuration. Each
//!   failure carries its facts as details of the `TransportError`:
//!   [`SmtpFailure`] (step, reply code, enhanced status, refused
//!   recipient) and, for the known cases, a [`Hint`] (app passwords,
//!   Microsoft's 5.7.139, wrong TLS mode for the port, untrusted
//!   certificates).
//! - [`doctor::diagnose`] checks an SMTP account step by step (DNS, TCP,
//!   STARTTLS, TLS with the server's certificate, EHLO, AUTH) for
//!   `notify doctor`, through the same code as a delivery, without sending
//!   mail.
//! - [`MaildirTransport`] writes into a local Maildir (the default when no
//!   account is configured), [`StdoutTransport`] prints (`--dry-run`),
//!   [`WriterTransport`] writes to any `Write`, and [`StubTransport`] (from
//!   core) records what it is given, for tests.
//! - [`Error`] is the one error type of delivery; it converts into core's
//!   [`TransportError`](notify_core::TransportError) with a kind (config,
//!   permanent, temporary) and a [`Hint`]. [`SettingError`] says why a setting
//!   (`server`, `security`, `auth`, a provider's username) cannot be read.
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
//!
//! For SMTP, lettre only builds the message: the dialogue is this crate's
//! own client (`client.rs`, with `smtp-proto` parsing the replies and EHLO
//! capabilities), the one owner of the connection's stream. It connects,
//! encrypts (rustls with the ring provider, the system's roots as
//! [`SystemRoots`] says, Mozilla's where it has none), reads and
//! writes every byte under a timeout, and shows them to the `-v`
//! transcript, which only watches. One sequence sets every connection up,
//! for a delivery and for `notify doctor`, which observes it step by step.
//! See `smtp.rs`.
//!
//! Hints are data, never prose: a [`Hint`] names the remedy and its facts
//! (the host, the port, the refused username), and the program words it
//! with its own names for the settings, as notify's CLI does with its
//! config keys and flags.
//!
//! # Cargo features
//!
//! - `smtp` (default): [`SmtpTransport`], [`SmtpConfig`], [`SmtpSession`],
//!   [`Credentials`], [`AuthMechanism`] and [`doctor`], with tokio, rustls
//!   (ring), `rustls-native-certs`, Mozilla's roots and `x509-cert`. Without it
//!   (`default-features = false`) the crate still builds messages
//!   ([`build_message`], [`format_message`], [`new_message_id`]), delivers
//!   them with [`MaildirTransport`], [`StdoutTransport`] and
//!   [`WriterTransport`], and has [`providers`], [`system_hostname`] and
//!   [`Error`], with none of those crates and no async runtime.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The crate docs name the SMTP items, which exist only with `smtp`.
#![cfg_attr(not(feature = "smtp"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(feature = "smtp")]
mod classify;
#[cfg(feature = "smtp")]
mod client;
#[cfg(feature = "smtp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smtp")))]
pub mod doctor;
mod error;
#[cfg(feature = "smtp")]
mod failure;
mod hint;
mod incoming;
mod maildir;
mod message;
pub mod providers;
#[cfg(feature = "smtp")]
mod smtp;
mod stdout;
#[cfg(feature = "smtp")]
mod tls;
#[cfg(feature = "smtp")]
mod transcript;
#[cfg(feature = "smtp")]
mod x509;

pub use error::{BuildError, Error, SettingError};
#[cfg(feature = "smtp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smtp")))]
pub use failure::{EnhancedStatus, SmtpFailure, Step};
pub use hint::{CertificateProblem, Hint, MaildirProblem};

/// The computer's name (gethostname(2)), or `localhost` when it has none:
/// one source for EHLO and Maildir file names, as for notify's
/// `##Computer Name##`.
pub fn system_hostname() -> String {
    let name = gethostname::gethostname()
        .to_string_lossy()
        .trim()
        .to_owned();
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name
    }
}
pub use incoming::{address_list, Incoming, ListedMailbox};
pub use maildir::MaildirTransport;
pub use message::{
    build_message, format_message, new_message_id, BuiltMessage, MAX_LINE_LEN, USER_AGENT,
};
pub use notify_core::StubTransport;
pub use providers::{Provider, Security};
#[cfg(feature = "smtp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smtp")))]
pub use smtp::{AuthMechanism, Credentials, SmtpConfig, SmtpSession, SmtpTransport};
#[cfg(feature = "smtp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smtp")))]
pub use tls::SystemRoots;

/// The TLS client configuration notify uses for SMTP, for other
/// transports that should trust exactly what SMTP trusts (the HTTP
/// destinations): the `system` roots plus the PEM certificates of `ca_pem`
/// (a `ca_file`), or no chain validation with `accept_invalid_certs`; a
/// refused certificate is explained the same way (self-signed, unknown
/// CA, expired, wrong name). The error says why `ca_pem` cannot be used.
#[cfg(feature = "smtp")]
pub fn tls_client_config(
    ca_pem: Option<&[u8]>,
    system: &SystemRoots,
    accept_invalid_certs: bool,
) -> Result<std::sync::Arc<tokio_rustls::rustls::ClientConfig>, String> {
    let extra = match ca_pem {
        Some(pem) => tls::parse_pem_certificates(pem)?,
        None => Vec::new(),
    };
    tls::client_config(&extra, system, accept_invalid_certs)
}
pub use stdout::{StdoutTransport, WriterTransport};

/// The crate's README, whose examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
