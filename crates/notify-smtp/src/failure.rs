//! The facts of an SMTP failure that callers branch on.

use std::fmt;

/// A step of the SMTP session: where a failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Looking up the server's addresses.
    Resolve,
    /// The TCP connection.
    Connect,
    /// The TLS handshake (implicit TLS, or after STARTTLS).
    TlsHandshake,
    /// The server's greeting.
    Greeting,
    /// EHLO.
    Ehlo,
    /// STARTTLS.
    StartTls,
    /// AUTH.
    Auth,
    /// MAIL FROM.
    MailFrom,
    /// RCPT TO (see [`SmtpFailure::recipient`]).
    RcptTo,
    /// DATA.
    Data,
    /// The message itself, after DATA, up to the server's confirmation.
    Message,
}

impl Step {
    /// What notify was waiting for, as in "timed out after 30 s waiting
    /// for ...".
    pub fn waiting_for(self) -> &'static str {
        match self {
            Step::Resolve => "the DNS lookup",
            Step::Connect => "the TCP connection",
            Step::TlsHandshake => "the TLS handshake",
            Step::Greeting => "the server's greeting",
            Step::Ehlo => "the reply to EHLO",
            Step::StartTls => "the reply to STARTTLS",
            Step::Auth => "the reply to AUTH",
            Step::MailFrom => "the reply to MAIL FROM",
            Step::RcptTo => "the reply to RCPT TO",
            Step::Data => "the reply to DATA",
            Step::Message => "the reply to the message (after DATA)",
        }
    }
}

/// An enhanced mail system status code (RFC 3463), e.g. `5.7.139`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    /// 2 (success), 4 (persistent transient) or 5 (permanent).
    pub class: u16,
    /// The subject, e.g. 7 for security or policy.
    pub subject: u16,
    /// The detail, e.g. 139 for Microsoft's "basic authentication is
    /// disabled".
    pub detail: u16,
}

impl EnhancedStatus {
    /// `class.subject.detail`.
    pub const fn new(class: u16, subject: u16, detail: u16) -> Self {
        EnhancedStatus {
            class,
            subject,
            detail,
        }
    }
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// What an SMTP delivery failure is, in the terms callers branch on: the
/// step, the server's reply code and enhanced status (when the server
/// refused), and the refused recipient. [`SmtpTransport`]'s errors carry
/// it as a detail of the
/// [`TransportError`](notify_core::TransportError):
///
/// ```
/// use notify_smtp::{SmtpFailure, Step};
///
/// fn refused_recipient(err: &notify_core::TransportError) -> Option<&str> {
///     let failure = err.detail::<SmtpFailure>()?;
///     match failure.step {
///         Step::RcptTo if failure.code.is_some_and(|c| c >= 500) => failure.recipient.as_deref(),
///         _ => None,
///     }
/// }
/// # let _ = refused_recipient;
/// ```
///
/// The hint for the user is a separate detail, a [`Hint`](crate::Hint).
///
/// [`SmtpTransport`]: crate::SmtpTransport
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SmtpFailure {
    /// Where it failed.
    pub step: Step,
    /// The reply code of a refusal (`550`), if the server sent one.
    pub code: Option<u16>,
    /// The enhanced status code of that reply, if it had one.
    pub enhanced_status: Option<EnhancedStatus>,
    /// The recipient the server refused (at [`Step::RcptTo`]).
    pub recipient: Option<String>,
}
