//! What an SMTP failure means for the user: temporary (may work later),
//! permanent (report) or configuration (fix the account), a one-line
//! message naming the server and the step, the facts callers branch on
//! ([`SmtpFailure`]) and, for the known cases, a [`Hint`] as data.
//!
//! Everything here is a pure function of the facts (step, reply code,
//! enhanced status and text, host, sender), so the table is tested without
//! a server.

use std::io;
use std::time::Duration;

use notify_core::{ErrorKind, TransportError};

use crate::client::Reply;
use crate::failure::{EnhancedStatus, SmtpFailure, Step};
use crate::hint::Hint;
use crate::providers::{self, Provider, Security};
use crate::tls::HandshakeProblem;

/// The facts every message and hint needs.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// The login, when authenticating.
    pub username: Option<String>,
    /// The sender address of the (first) message.
    pub from: Option<String>,
    /// The `ca_file` path, for certificate hints.
    pub ca_file: Option<String>,
    pub timeout: Duration,
    /// The login uses XOAUTH2 (`auth = "xoauth2"`): the secret is an access
    /// token, not a password.
    pub xoauth2: bool,
}

impl Ctx {
    /// `host:port`, with brackets around an IPv6 address.
    pub(crate) fn server(&self) -> String {
        server_label(&self.host, self.port)
    }

    /// `host:port (starttls)`.
    pub(crate) fn server_mode(&self) -> String {
        format!("{} ({})", self.server(), self.security)
    }

    /// The provider this server or sender belongs to.
    pub(crate) fn provider(&self) -> Option<&'static Provider> {
        providers::by_host(&self.host).or_else(|| {
            self.from
                .as_deref()
                .or(self.username.as_deref())
                .and_then(providers::by_address)
        })
    }
}

pub(crate) fn server_label(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A delivery failure before it becomes a [`TransportError`]; cheap to
/// clone, so one failed connection can answer for every message of a batch.
///
/// The message is complete on its own (it quotes the server's reply or the
/// I/O error), so no source error is attached: a caller printing the
/// source chain would only repeat it. The facts go along as details.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<Hint>,
    /// Where it happened; every failure of a session has one.
    pub step: Option<Step>,
    /// The refusing reply's code and enhanced status.
    pub code: Option<u16>,
    pub enhanced: Option<EnhancedStatus>,
    /// The recipient refused at RCPT TO.
    pub recipient: Option<String>,
    /// The connection is still in step with the server (a negative reply,
    /// not a broken stream), so a polite QUIT is possible.
    pub in_sync: bool,
    /// The failure concerns the connection or the account, not this one
    /// message: the rest of a batch would fail the same way.
    pub session_wide: bool,
    /// It happened at MAIL FROM, before anything of the message was sent.
    pub at_mail: bool,
}

impl Failure {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            hint: None,
            step: None,
            code: None,
            enhanced: None,
            recipient: None,
            in_sync: false,
            session_wide: true,
            at_mail: false,
        }
    }

    pub(crate) fn hint(mut self, hint: Hint) -> Self {
        self.hint = Some(hint);
        self
    }

    /// The step it happened at.
    pub(crate) fn at(mut self, step: Step) -> Self {
        self.step = Some(step);
        self
    }

    pub(crate) fn in_sync(mut self) -> Self {
        self.in_sync = true;
        self
    }

    pub(crate) fn per_message(mut self) -> Self {
        self.session_wide = false;
        self
    }

    /// The error for the caller: kind and message, with the
    /// [`SmtpFailure`] facts and the [`Hint`] as details.
    pub(crate) fn to_transport_error(&self) -> TransportError {
        let mut err = TransportError::new(self.kind, self.message.clone());
        if let Some(step) = self.step {
            err = err.with_detail(SmtpFailure {
                step,
                code: self.code,
                enhanced_status: self.enhanced,
                recipient: self.recipient.clone(),
            });
        }
        if let Some(hint) = &self.hint {
            err = err.with_detail(hint.clone());
        }
        err
    }
}

/// Seconds as "30 s" or "1.5 s".
pub(crate) fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// Microsoft's "basic authentication is disabled for this tenant".
const BASIC_AUTH_DISABLED: EnhancedStatus = EnhancedStatus::new(5, 7, 139);

/// A negative reply (4xx/5xx) at `step`. `recipient` is the address of
/// RCPT TO.
pub(crate) fn reply(ctx: &Ctx, step: Step, r: &Reply, recipient: Option<&str>) -> Failure {
    let code = r.code;
    let text = r.text();
    let reply = one_line(&format!("{code} {text}"));
    let transient = (400..500).contains(&code);
    let kind = if transient {
        ErrorKind::Temporary
    } else {
        ErrorKind::Permanent
    };
    let server = ctx.server_mode();
    let lower = text.to_ascii_lowercase();
    let failure = match step {
        Step::Auth => auth_reply(ctx, r, &lower, &reply),
        Step::RcptTo => {
            let addr = recipient.unwrap_or("?");
            let what = if transient {
                "temporarily refused"
            } else {
                "rejected"
            };
            let mut failure =
                Failure::new(kind, format!("{server} {what} recipient <{addr}>: {reply}"))
                    .per_message();
            failure.recipient = recipient.map(str::to_owned);
            failure
        }
        Step::MailFrom if code == 530 && lower.contains("starttls") => Failure::new(
            ErrorKind::Config,
            format!("{server} requires STARTTLS before MAIL FROM: {reply}"),
        )
        .hint(Hint::StartTlsRequired),
        Step::MailFrom if code == 530 => Failure::new(
            ErrorKind::Config,
            format!("{server} requires authentication: {reply}"),
        )
        .hint(Hint::LoginRequired),
        Step::MailFrom => {
            let from = ctx.from.as_deref().unwrap_or("?");
            Failure::new(
                kind,
                format!("{server} refused the sender <{from}>: {reply}"),
            )
            .per_message()
        }
        Step::Data | Step::Message => {
            let failure =
                Failure::new(kind, format!("{server} refused the message: {reply}")).per_message();
            if code == 552 || lower.contains("size") {
                failure.hint(Hint::MessageTooLarge)
            } else {
                failure
            }
        }
        Step::StartTls => {
            let kind = if transient { kind } else { ErrorKind::Config };
            Failure::new(kind, format!("{server} refused STARTTLS: {reply}"))
        }
        Step::Greeting => Failure::new(kind, format!("{server} refused the connection: {reply}")),
        Step::Ehlo => {
            Failure::new(kind, format!("{server} refused EHLO: {reply}")).hint(Hint::HeloRefused)
        }
        Step::Resolve | Step::Connect | Step::TlsHandshake => {
            Failure::new(kind, format!("{server}: unexpected reply: {reply}"))
        }
    };
    let mut failure = failure.at(step).in_sync();
    failure.code = Some(code);
    failure.enhanced = r.enhanced_status();
    failure
}

/// A reply that is neither what the step expects nor a refusal (a 250 to
/// DATA, a 334 outside AUTH): the dialogue is out of step.
pub(crate) fn unexpected(ctx: &Ctx, step: Step, r: &Reply) -> Failure {
    Failure::new(
        ErrorKind::Permanent,
        format!(
            "{} sent an unexpected reply while notify was waiting for {}: {}",
            ctx.server_mode(),
            step.waiting_for(),
            one_line(&format!("{} {}", r.code, r.text()))
        ),
    )
    .at(step)
}

fn auth_reply(ctx: &Ctx, r: &Reply, lower: &str, reply: &str) -> Failure {
    let code = r.code;
    let user = ctx.username.as_deref().unwrap_or("?");
    let server = ctx.server_mode();
    let message = format!("authentication as {user} failed at {server}: {reply}");
    let username = ctx.username.clone();
    if (400..500).contains(&code) {
        Failure::new(ErrorKind::Temporary, message)
    } else if ctx.xoauth2 && (code == 534 || code == 535) {
        // Not a password: the usual hints (app passwords, Microsoft's
        // "use XOAUTH2") do not apply.
        Failure::new(ErrorKind::Permanent, message).hint(Hint::TokenRefused { username })
    } else if r.enhanced_status() == Some(BASIC_AUTH_DISABLED)
        || lower.contains("basic authentication is disabled")
    {
        Failure::new(ErrorKind::Permanent, message).hint(Hint::BasicAuthDisabled)
    } else if code == 534 || code == 535 {
        let hint = match ctx.provider() {
            Some(p) => Hint::ProviderPassword {
                provider: p.name,
                note: p.password_note,
            },
            None if code == 534 || lower.contains("application-specific") => {
                Hint::AppPasswordRequired { username }
            }
            None => Hint::CheckCredentials { username },
        };
        Failure::new(ErrorKind::Permanent, message).hint(hint)
    } else if code == 538 || (code == 530 && lower.contains("encrypt")) {
        Failure::new(ErrorKind::Config, message).hint(Hint::EncryptThePassword)
    } else if code == 504 {
        Failure::new(ErrorKind::Config, message).hint(Hint::MechanismRefused)
    } else {
        Failure::new(ErrorKind::Permanent, message)
    }
}

/// A reply on one line, made safe for a terminal (the one sanitiser).
pub(crate) fn one_line(text: &str) -> String {
    notify_core::text::one_line(text, None)
}

/// A timeout at `step`.
pub(crate) fn timeout(ctx: &Ctx, step: Step) -> Failure {
    let after = secs(ctx.timeout);
    let failure = match step {
        Step::Connect => Failure::new(
            ErrorKind::Temporary,
            format!("timed out after {after} connecting to {}", ctx.server()),
        )
        .hint(Hint::PortBlocked { port: ctx.port }),
        Step::Resolve => Failure::new(
            ErrorKind::Temporary,
            format!(
                "timed out after {after} resolving the host name `{}`",
                ctx.host
            ),
        )
        .hint(Hint::CheckHostName {
            host: ctx.host.clone(),
        }),
        _ => {
            let failure = Failure::new(
                ErrorKind::Temporary,
                format!(
                    "timed out after {after} waiting for {} from {}",
                    step.waiting_for(),
                    ctx.server_mode()
                ),
            );
            let failure = if step == Step::Message {
                failure.hint(Hint::Unconfirmed {
                    timeout: Some(ctx.timeout),
                })
            } else {
                failure.hint(Hint::SlowServer {
                    timeout: ctx.timeout,
                })
            };
            if matches!(
                step,
                Step::MailFrom | Step::RcptTo | Step::Data | Step::Message
            ) {
                failure.per_message()
            } else {
                failure
            }
        }
    };
    failure.at(step)
}

/// The connection broke (EOF or an I/O error) at `step`.
pub(crate) fn dropped(ctx: &Ctx, step: Step, detail: &str) -> Failure {
    let server = ctx.server_mode();
    let failure = Failure::new(
        ErrorKind::Temporary,
        format!(
            "{server} closed the connection while notify was waiting for {} ({detail})",
            step.waiting_for()
        ),
    )
    .at(step);
    match step {
        Step::Message => failure
            .hint(Hint::Unconfirmed { timeout: None })
            .per_message(),
        Step::MailFrom | Step::RcptTo | Step::Data => {
            failure.hint(Hint::ConnectionLost).per_message()
        }
        _ => failure.hint(Hint::ConnectionLost),
    }
}

/// Name resolution failed. A name that does not exist (NXDOMAIN:
/// `EAI_NONAME`, `EAI_NODATA`) is a configuration error, since a typo will
/// not fix itself; anything else (`EAI_AGAIN` "Temporary failure in name
/// resolution", no network) is temporary.
pub(crate) fn dns(ctx: &Ctx, err: &io::Error) -> Failure {
    let message = format!(
        "cannot resolve the host name `{}` ({}): {err}",
        ctx.host,
        ctx.server()
    );
    let host = ctx.host.clone();
    let failure = if host_not_found(&err.to_string()) {
        Failure::new(ErrorKind::Config, message).hint(Hint::NoSuchHost { host })
    } else {
        Failure::new(ErrorKind::Temporary, message).hint(Hint::CheckHostName { host })
    };
    failure.at(Step::Resolve)
}

/// Whether a resolver error says the name does not exist, as opposed to a
/// lookup that could not be done. The texts are those of `gai_strerror`
/// (glibc, musl, the BSDs and macOS) and of Windows' WSAHOST_NOT_FOUND.
pub(crate) fn host_not_found(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if lower.contains("temporary failure") || lower.contains("try again") {
        return false;
    }
    [
        // glibc EAI_NONAME
        "name or service not known",
        // macOS / BSD EAI_NONAME
        "nodename nor servname provided",
        // musl EAI_NONAME
        "name does not resolve",
        // glibc EAI_NODATA: the name exists but has no address
        "no address associated with hostname",
        // Windows
        "no such host is known",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// The TCP connection failed.
pub(crate) fn connect(ctx: &Ctx, addr: &str, err: &io::Error) -> Failure {
    let server = ctx.server();
    // The resolved address only when it says more than host:port.
    let target = if addr == server {
        server.clone()
    } else {
        format!("{server} ({addr})")
    };
    let failure = Failure::new(
        ErrorKind::Temporary,
        format!("cannot connect to {target}: {err}"),
    )
    .at(Step::Connect);
    match err.kind() {
        io::ErrorKind::ConnectionRefused => failure.hint(Hint::NothingListens { server }),
        io::ErrorKind::TimedOut => failure.hint(Hint::PortBlocked { port: ctx.port }),
        _ => failure.hint(Hint::CheckNetwork),
    }
}

/// The TLS handshake failed.
pub(crate) fn handshake(ctx: &Ctx, problem: &HandshakeProblem) -> Failure {
    let server = ctx.server_mode();
    let prefix = format!("TLS handshake with {server} failed");
    let untrusted = || Hint::TrustCertificate {
        ca_file: ctx.ca_file.clone(),
    };
    let failure = match problem {
        // After a 220 to STARTTLS, plaintext is not a wrong mode for the
        // port: the server (or something in between) broke its promise.
        HandshakeProblem::Plaintext(_) | HandshakeProblem::NotTls(_)
            if ctx.security == Security::StartTls =>
        {
            let detail = match problem {
                HandshakeProblem::Plaintext(line) => format!("it went on in plaintext ({line:?})"),
                HandshakeProblem::NotTls(detail) => detail.clone(),
                _ => String::new(),
            };
            Failure::new(
                ErrorKind::Permanent,
                format!(
                    "{prefix}: the server accepted STARTTLS but did not start TLS: {detail}; \
                     nothing was sent in plaintext"
                ),
            )
            .hint(Hint::StartTlsBroken)
        }
        HandshakeProblem::Plaintext(greeting) => Failure::new(
            ErrorKind::Config,
            format!("{prefix}: the server answered in plaintext ({greeting:?}): wrong security mode for this port"),
        )
        .hint(Hint::UseStartTls { server: ctx.server() }),
        HandshakeProblem::NotTls(detail) => Failure::new(
            ErrorKind::Config,
            format!("{prefix}: the server does not speak TLS here ({detail})"),
        )
        .hint(Hint::UseStartTls { server: ctx.server() }),
        HandshakeProblem::UnknownIssuer => Failure::new(
            ErrorKind::Config,
            format!("{prefix}: the server's certificate is not trusted: issued by an unknown CA (UnknownIssuer)"),
        )
        .hint(untrusted()),
        HandshakeProblem::SelfSigned => Failure::new(
            ErrorKind::Config,
            format!("{prefix}: the server's certificate is not trusted: it is self-signed"),
        )
        .hint(untrusted()),
        HandshakeProblem::WrongName { presented } => {
            let names = if presented.is_empty() {
                String::new()
            } else {
                format!(" (it is for {})", presented.join(", "))
            };
            Failure::new(
                ErrorKind::Config,
                format!(
                    "{prefix}: the server's certificate is not valid for the name `{}`{names}",
                    ctx.host
                ),
            )
            .hint(Hint::CertificateName {
                suggestion: presented
                    .first()
                    .map(|n| server_label(n, ctx.port)),
            })
        }
        HandshakeProblem::Expired(detail) => Failure::new(
            ErrorKind::Config,
            format!("{prefix}: the server's certificate is not valid now: {detail}"),
        )
        .hint(Hint::CertificateExpired),
        HandshakeProblem::OtherCertificate(detail) => {
            Failure::new(ErrorKind::Config, format!("{prefix}: {detail}")).hint(untrusted())
        }
        HandshakeProblem::Alert(alert) => Failure::new(
            ErrorKind::Config,
            format!("{prefix}: the server aborted the handshake (alert {alert})"),
        )
        .hint(Hint::TlsVersion),
        HandshakeProblem::Closed => Failure::new(
            ErrorKind::Temporary,
            format!("{prefix}: the server closed the connection"),
        )
        .hint(Hint::TlsClosed { server: ctx.server() }),
        HandshakeProblem::Other(detail) => {
            Failure::new(ErrorKind::Temporary, format!("{prefix}: {detail}"))
        }
    };
    failure.at(Step::TlsHandshake)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`reply`] for a reply `code text` as the server would send it.
    fn reply_of(ctx: &Ctx, step: Step, code: u16, text: &str, recipient: Option<&str>) -> Failure {
        let (r, _) = Reply::parse(format!("{code} {text}\r\n").as_bytes());
        reply(ctx, step, &r, recipient)
    }

    fn ctx(host: &str, from: &str) -> Ctx {
        Ctx {
            host: host.into(),
            port: 587,
            security: Security::StartTls,
            username: Some("me@example.com".into()),
            from: Some(from.into()),
            ca_file: None,
            timeout: Duration::from_secs(30),
            xoauth2: false,
        }
    }

    /// (host, from, step, code, text) → (kind, the start of the hint's
    /// `Debug`, or "" for no hint). The wording is the CLI's, tested there.
    #[test]
    fn reply_table() {
        use ErrorKind::*;
        let cases: &[(&str, &str, Step, u16, &str, ErrorKind, &str)] = &[
            (
                "smtp.gmail.com",
                "a@example.com",
                Step::Auth,
                534,
                "5.7.9 Application-specific password required",
                Permanent,
                "ProviderPassword { provider: \"Gmail / Google Workspace\"",
            ),
            (
                "127.0.0.1",
                "me@gmail.com",
                Step::Auth,
                535,
                "5.7.8 Username and Password not accepted",
                Permanent,
                "ProviderPassword { provider: \"Gmail / Google Workspace\"",
            ),
            (
                "smtp.mail.yahoo.com",
                "x@example.com",
                Step::Auth,
                535,
                "5.7.8 failed",
                Permanent,
                "ProviderPassword { provider: \"Yahoo Mail\"",
            ),
            (
                "smtp.mail.me.com",
                "x@example.com",
                Step::Auth,
                535,
                "5.7.8 failed",
                Permanent,
                "ProviderPassword { provider: \"iCloud Mail\"",
            ),
            (
                "127.0.0.1",
                "x@icloud.com",
                Step::Auth,
                535,
                "5.7.8 failed",
                Permanent,
                "ProviderPassword { provider: \"iCloud Mail\"",
            ),
            (
                "smtp.office365.com",
                "x@example.com",
                Step::Auth,
                535,
                "5.7.139 Authentication unsuccessful, basic authentication is disabled",
                Permanent,
                "BasicAuthDisabled",
            ),
            (
                "127.0.0.1",
                "x@example.com",
                Step::Auth,
                535,
                "5.7.139 Authentication unsuccessful",
                Permanent,
                "BasicAuthDisabled",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::Auth,
                535,
                "5.7.8 Authentication credentials invalid",
                Permanent,
                "CheckCredentials { username: Some(\"me@example.com\") }",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::Auth,
                534,
                "5.7.9 Please use an app password",
                Permanent,
                "AppPasswordRequired",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::Auth,
                454,
                "4.7.0 Temporary authentication failure",
                Temporary,
                "",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::Auth,
                538,
                "5.7.11 Encryption required",
                Config,
                "EncryptThePassword",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::Auth,
                504,
                "5.5.4 Unrecognized authentication type",
                Config,
                "MechanismRefused",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::RcptTo,
                550,
                "5.1.1 User unknown",
                Permanent,
                "",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::RcptTo,
                450,
                "4.2.0 Greylisted",
                Temporary,
                "",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::Data,
                451,
                "4.3.0 Try again later",
                Temporary,
                "",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::Message,
                552,
                "5.3.4 Message size exceeds fixed limit",
                Permanent,
                "MessageTooLarge",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::MailFrom,
                530,
                "5.7.0 Authentication required",
                Config,
                "LoginRequired",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::MailFrom,
                530,
                "Must issue a STARTTLS command first",
                Config,
                "StartTlsRequired",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::MailFrom,
                553,
                "5.7.1 Sender address rejected",
                Permanent,
                "",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::Greeting,
                421,
                "Service not available",
                Temporary,
                "",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::Greeting,
                554,
                "No SMTP service here",
                Permanent,
                "",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::StartTls,
                454,
                "TLS not available",
                Temporary,
                "",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::StartTls,
                502,
                "not implemented",
                Config,
                "",
            ),
        ];
        for (host, from, step, code, text, kind, hint) in cases {
            let f = reply_of(
                &ctx(host, from),
                *step,
                *code,
                text,
                Some("bob@example.com"),
            );
            assert_eq!(
                f.kind, *kind,
                "{host} {step:?} {code} {text}: {}",
                f.message
            );
            let got = f.hint.as_ref().map(|h| format!("{h:?}"));
            match got {
                Some(got) => assert!(
                    got.starts_with(hint) && !hint.is_empty(),
                    "{host} {step:?} {code} {text}: hint {got} is not {hint}"
                ),
                None => assert!(hint.is_empty(), "{host} {step:?} {code} {text}: no hint"),
            }
            assert_eq!(f.step, Some(*step));
            assert_eq!(f.code, Some(*code));
            assert!(!f.message.contains('\n'), "{}", f.message);
            assert!(f.message.contains(&format!("{host}:587")), "{}", f.message);
            assert!(f.message.contains(&code.to_string()), "{}", f.message);
        }
    }

    #[test]
    fn rejected_recipient_names_address_and_text() {
        let (r, _) = Reply::parse(
            b"550-5.1.1 <bob@example.com>: Recipient address rejected:\r\n550 5.1.1 User unknown\r\n",
        );
        let f = reply(
            &ctx("mx.example.com", "a@example.com"),
            Step::RcptTo,
            &r,
            Some("bob@example.com"),
        );
        assert_eq!(f.kind, ErrorKind::Permanent);
        assert!(!f.session_wide);
        let err = f.to_transport_error();
        assert_eq!(
            err.detail::<SmtpFailure>(),
            Some(&SmtpFailure {
                step: Step::RcptTo,
                code: Some(550),
                enhanced_status: Some(EnhancedStatus::new(5, 1, 1)),
                recipient: Some("bob@example.com".into()),
            })
        );
        assert!(err.detail::<Hint>().is_none());
        assert_eq!(
            f.message,
            "mx.example.com:587 (starttls) rejected recipient <bob@example.com>: 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown"
        );
    }

    #[test]
    fn network_failures() {
        let c = ctx("mx.example.com", "a@example.com");
        let refused = connect(
            &c,
            "192.0.2.1:587",
            &io::Error::from(io::ErrorKind::ConnectionRefused),
        );
        assert_eq!(refused.kind, ErrorKind::Temporary);
        assert_eq!(
            refused.message,
            format!(
                "cannot connect to mx.example.com:587 (192.0.2.1:587): {}",
                io::Error::from(io::ErrorKind::ConnectionRefused)
            )
        );
        let mut local = c.clone();
        local.host = "127.0.0.1".into();
        let once = connect(
            &local,
            "127.0.0.1:587",
            &io::Error::from(io::ErrorKind::ConnectionRefused),
        );
        assert!(
            once.message
                .starts_with("cannot connect to 127.0.0.1:587: "),
            "{}",
            once.message
        );
        let mut v6 = c.clone();
        v6.host = "::1".into();
        let once = connect(
            &v6,
            "[::1]:587",
            &io::Error::from(io::ErrorKind::ConnectionRefused),
        );
        assert!(
            once.message.starts_with("cannot connect to [::1]:587: "),
            "{}",
            once.message
        );
        assert_eq!(
            refused.hint,
            Some(Hint::NothingListens {
                server: "mx.example.com:587".into()
            })
        );
        assert_eq!(refused.step, Some(Step::Connect));
        let nx = dns(
            &c,
            &io::Error::other("failed to lookup address information: Name or service not known"),
        );
        assert_eq!(nx.kind, ErrorKind::Config);
        assert!(nx.message.contains("`mx.example.com`"), "{}", nx.message);
        assert_eq!(
            nx.hint,
            Some(Hint::NoSuchHost {
                host: "mx.example.com".into()
            })
        );
        let again = dns(
            &c,
            &io::Error::other(
                "failed to lookup address information: Temporary failure in name resolution",
            ),
        );
        assert_eq!(again.kind, ErrorKind::Temporary);
        assert_eq!(
            again.hint,
            Some(Hint::CheckHostName {
                host: "mx.example.com".into()
            })
        );
        let t = timeout(&c, Step::Data);
        assert_eq!(t.kind, ErrorKind::Temporary);
        assert!(t.message.contains("timed out after 30 s waiting for the reply to DATA from mx.example.com:587 (starttls)"), "{}", t.message);
        let mut c25 = c.clone();
        c25.port = 25;
        assert_eq!(
            timeout(&c25, Step::Connect).hint,
            Some(Hint::PortBlocked { port: 25 })
        );
        let d = dropped(&c, Step::Message, "unexpected EOF");
        assert_eq!(d.kind, ErrorKind::Temporary);
        assert_eq!(d.hint, Some(Hint::Unconfirmed { timeout: None }));
        assert_eq!(
            timeout(&c, Step::Message).hint,
            Some(Hint::Unconfirmed {
                timeout: Some(Duration::from_secs(30))
            })
        );
    }

    #[test]
    fn a_refused_token_gets_the_token_hint() {
        let mut c = ctx("smtp.office365.com", "me@example.com");
        c.xoauth2 = true;
        let f = reply_of(
            &c,
            Step::Auth,
            535,
            "5.7.3 Authentication unsuccessful",
            None,
        );
        assert_eq!(f.kind, ErrorKind::Permanent);
        assert_eq!(
            f.hint,
            Some(Hint::TokenRefused {
                username: Some("me@example.com".into())
            })
        );
    }

    #[test]
    fn resolver_texts() {
        for text in [
            "failed to lookup address information: Name or service not known",
            "failed to lookup address information: nodename nor servname provided, or not known",
            "failed to lookup address information: Name does not resolve",
            "failed to lookup address information: No address associated with hostname",
            "No such host is known. (os error 11001)",
        ] {
            assert!(host_not_found(text), "{text}");
        }
        for text in [
            "failed to lookup address information: Temporary failure in name resolution",
            "failed to lookup address information: Try again",
            "This is usually a temporary error during hostname resolution and means that the \
             local server did not receive a response from an authoritative server. (os error \
             11002)",
            "no address found",
            "failed to lookup address information: System error",
        ] {
            assert!(!host_not_found(text), "{text}");
        }
    }

    #[test]
    fn handshake_table() {
        use ErrorKind::*;
        let mut c = ctx("mx.example.com", "a@example.com");
        c.security = Security::Tls;
        let cases = [
            (
                HandshakeProblem::Plaintext("220 mx ESMTP".into()),
                Config,
                "UseStartTls",
            ),
            (
                HandshakeProblem::NotTls("corrupt".into()),
                Config,
                "UseStartTls",
            ),
            (HandshakeProblem::UnknownIssuer, Config, "TrustCertificate"),
            (HandshakeProblem::SelfSigned, Config, "TrustCertificate"),
            (
                HandshakeProblem::WrongName {
                    presented: vec!["other.example".into()],
                },
                Config,
                "CertificateName { suggestion: Some(\"other.example:587\") }",
            ),
            (HandshakeProblem::Closed, Temporary, "TlsClosed"),
        ];
        for (problem, kind, hint) in cases {
            let f = handshake(&c, &problem);
            assert_eq!(f.kind, kind, "{problem:?}");
            let got = format!("{:?}", f.hint);
            assert!(
                got.starts_with(&format!("Some({hint}")),
                "{problem:?}: {got}"
            );
            assert_eq!(f.step, Some(Step::TlsHandshake));
            assert!(f.message.contains("mx.example.com:587"), "{}", f.message);
        }
        let self_signed = handshake(&c, &HandshakeProblem::SelfSigned);
        assert!(self_signed.message.contains("self-signed"));
        let wrong = handshake(
            &c,
            &HandshakeProblem::WrongName {
                presented: vec!["other.example".into()],
            },
        );
        assert!(
            wrong
                .message
                .contains("not valid for the name `mx.example.com` (it is for other.example)"),
            "{}",
            wrong.message
        );
    }

    #[test]
    fn plaintext_after_a_yes_to_starttls_is_not_a_wrong_mode() {
        let c = ctx("mx.example.com", "a@example.com");
        assert_eq!(c.security, Security::StartTls);
        for problem in [
            HandshakeProblem::Plaintext("250 mx".into()),
            HandshakeProblem::NotTls("corrupt".into()),
        ] {
            let f = handshake(&c, &problem);
            assert_eq!(f.kind, ErrorKind::Permanent, "{problem:?}");
            assert_eq!(f.hint, Some(Hint::StartTlsBroken), "{problem:?}");
            assert!(
                f.message
                    .contains("accepted STARTTLS but did not start TLS"),
                "{}",
                f.message
            );
        }
    }

    #[test]
    fn labels() {
        assert_eq!(server_label("::1", 25), "[::1]:25");
        assert_eq!(server_label("mx", 25), "mx:25");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(one_line("a\r\n b\n"), "a b");
    }
}
