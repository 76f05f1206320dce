//! What an SMTP failure means for the user: temporary (may work later),
//! permanent (report) or configuration (fix the account), a one-line
//! message naming the server and the step, and a hint for the known cases.
//!
//! Everything here is a pure function of the facts (step, reply code and
//! text, host, sender), so the table is tested without a server.

use std::io;
use std::time::Duration;

use notify_core::{ErrorKind, TransportError};

use crate::client::Reply;
use crate::providers::{self, Provider, Security};
use crate::tls::HandshakeProblem;

/// A step of the SMTP session, for messages ("waiting for the reply to
/// RCPT TO").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Resolve,
    Connect,
    TlsHandshake,
    Greeting,
    Ehlo,
    StartTls,
    Auth,
    MailFrom,
    RcptTo,
    Data,
    Message,
}

impl Step {
    /// What we were waiting for, as in "timed out after 30 s waiting for
    /// ...".
    pub(crate) fn waiting_for(self) -> &'static str {
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
/// source chain would only repeat it.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
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
            in_sync: false,
            session_wide: true,
            at_mail: false,
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
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

    pub(crate) fn to_transport_error(&self) -> TransportError {
        let mut err = TransportError::new(self.kind, self.message.clone());
        if let Some(hint) = &self.hint {
            err = err.with_hint(hint.clone());
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

/// The hints, each in one place.
pub(crate) mod hints {
    use super::*;

    pub(crate) fn refused(ctx: &Ctx) -> String {
        format!(
            "nothing listens on {}: check the server name and port (465 for security = \"tls\", \
             587 for \"starttls\", 25 for a relay)",
            ctx.server()
        )
    }

    /// A lookup that failed or timed out, for a name that may well exist.
    pub(crate) fn dns(ctx: &Ctx) -> String {
        format!(
            "check the server's host name `{}` (a typo?) and that this machine can resolve \
             names (DNS, network); a temporary DNS failure may go away later",
            ctx.host
        )
    }

    /// The name does not exist: waiting will not help.
    pub(crate) fn no_such_host(ctx: &Ctx) -> String {
        format!(
            "no host named `{}` exists: check the server's host name (a typo?)",
            ctx.host
        )
    }

    pub(crate) fn connect_timeout(ctx: &Ctx) -> String {
        let port25 = if ctx.port == 25 {
            "; port 25 is often blocked by ISPs and cloud providers: use the submission port \
             587 (starttls) or 465 (tls)"
        } else {
            ""
        };
        format!(
            "a firewall may be dropping the connection, or the network or ISP blocks port {}{}; \
             check server and port",
            ctx.port, port25
        )
    }

    pub(crate) fn use_starttls(ctx: &Ctx) -> String {
        format!(
            "{} speaks plaintext SMTP, not implicit TLS: set security = \"starttls\" (or \
             security = \"none\" for a relay without TLS, usually port 25), or use the server's \
             implicit-TLS port (465)",
            ctx.server()
        )
    }

    pub(crate) fn use_tls(ctx: &Ctx) -> String {
        format!(
            "{} expects implicit TLS from the first byte (as port 465 usually does): set \
             security = \"tls\"",
            ctx.server()
        )
    }

    pub(crate) fn untrusted(ctx: &Ctx) -> String {
        let added = match &ctx.ca_file {
            Some(file) => format!(" (the certificates in {file} do not cover it)"),
            None => String::new(),
        };
        format!(
            "if you trust this server, add its CA certificate (or the server's own certificate) \
             in PEM form with ca_file = \"/path/ca.pem\"{added}; as a last resort, \
             accept_invalid_certs = true turns certificate checks off"
        )
    }

    pub(crate) fn insecure_auth() -> String {
        "use security = \"starttls\" or \"tls\" so the password is encrypted; only for a trusted \
         relay on this machine or network, set allow_insecure_auth = true"
            .to_owned()
    }

    pub(crate) fn microsoft() -> String {
        "Microsoft has turned off basic authentication (passwords) for SMTP: set auth = \
         \"xoauth2\" and password = \"cmd:...\" with a command that prints an OAuth2 access \
         token (a token helper)"
            .to_owned()
    }

    pub(crate) fn bad_password(ctx: &Ctx) -> String {
        let user = ctx.username.as_deref().unwrap_or("the from address");
        format!(
            "check the username ({user}; it is the from address unless `username` is set) and \
             the password that the account's `password =` store holds"
        )
    }

    pub(crate) fn bad_token(ctx: &Ctx) -> String {
        let user = ctx.username.as_deref().unwrap_or("the from address");
        format!(
            "the OAuth2 access token was refused: check that the token helper (`password = \
             \"cmd:...\"`) prints a fresh access token for {user} with the SMTP scope (for \
             Microsoft: https://outlook.office.com/SMTP.Send)"
        )
    }

    pub(crate) fn app_password(provider: &Provider) -> String {
        format!("{}: {}", provider.name, provider.password_note)
    }

    pub(crate) fn connection_lost() -> String {
        "the connection broke before the message was accepted: this is temporary and may work \
         later; if it keeps happening, check the network and the server's logs"
            .to_owned()
    }

    pub(crate) fn command_timeout(ctx: &Ctx) -> String {
        format!(
            "the server is slow or stuck; this is temporary and may work later; raise \
             `timeout` (now {}) if this server is always slow",
            secs(ctx.timeout)
        )
    }
}

/// A negative reply (4xx/5xx) at `step`. `recipient` is the address of
/// RCPT TO.
pub(crate) fn reply(
    ctx: &Ctx,
    step: Step,
    code: u16,
    text: &str,
    recipient: Option<&str>,
) -> Failure {
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
        Step::Auth => return auth_reply(ctx, code, text, &reply),
        Step::RcptTo => {
            let addr = recipient.unwrap_or("?");
            let what = if transient {
                "temporarily refused"
            } else {
                "rejected"
            };
            Failure::new(kind, format!("{server} {what} recipient <{addr}>: {reply}")).per_message()
        }
        Step::MailFrom if code == 530 && lower.contains("starttls") => Failure::new(
            ErrorKind::Config,
            format!("{server} requires STARTTLS before MAIL FROM: {reply}"),
        )
        .hint("set security = \"starttls\""),
        Step::MailFrom if code == 530 => Failure::new(
            ErrorKind::Config,
            format!("{server} requires authentication: {reply}"),
        )
        .hint(
            "set `password` (and `username` if the login differs from the from address) for \
             this account",
        ),
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
                failure.hint("the message is too large for this server: lower attach_log_max or turn attach_log off")
            } else {
                failure
            }
        }
        Step::StartTls => {
            let kind = if transient { kind } else { ErrorKind::Config };
            Failure::new(kind, format!("{server} refused STARTTLS: {reply}"))
        }
        Step::Greeting => Failure::new(kind, format!("{server} refused the connection: {reply}")),
        Step::Ehlo => Failure::new(kind, format!("{server} refused EHLO: {reply}")).hint(
            "the server refused this machine's name: set helo_name to this machine's public \
             host name",
        ),
        Step::Resolve | Step::Connect | Step::TlsHandshake => {
            Failure::new(kind, format!("{server}: unexpected reply: {reply}"))
        }
    };
    failure.in_sync()
}

/// [`reply`] for a reply as the client read it: its code, and its text
/// with the enhanced status code in front (`5.7.139 ...`), which the
/// hints look for.
pub(crate) fn reply_to(ctx: &Ctx, step: Step, r: &Reply, recipient: Option<&str>) -> Failure {
    reply(ctx, step, r.code, &r.text(), recipient)
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
}

fn auth_reply(ctx: &Ctx, code: u16, text: &str, reply: &str) -> Failure {
    let user = ctx.username.as_deref().unwrap_or("?");
    let server = ctx.server_mode();
    let message = format!("authentication as {user} failed at {server}: {reply}");
    let lower = text.to_ascii_lowercase();
    let failure = if (400..500).contains(&code) {
        Failure::new(ErrorKind::Temporary, message)
    } else if ctx.xoauth2 && (code == 534 || code == 535) {
        // Not a password: the usual hints (app passwords, Microsoft's
        // "use XOAUTH2") do not apply.
        Failure::new(ErrorKind::Permanent, message).hint(hints::bad_token(ctx))
    } else if text.contains("5.7.139") || lower.contains("basic authentication is disabled") {
        Failure::new(ErrorKind::Permanent, message).hint(hints::microsoft())
    } else if code == 534 || code == 535 {
        let hint = match ctx.provider() {
            Some(p) => hints::app_password(p),
            None if code == 534 || lower.contains("application-specific") => format!(
                "the server asks for an app password: create one in the mail account's \
                 security settings and store it; {}",
                hints::bad_password(ctx)
            ),
            None => hints::bad_password(ctx),
        };
        Failure::new(ErrorKind::Permanent, message).hint(hint)
    } else if code == 538 || (code == 530 && lower.contains("encrypt")) {
        Failure::new(ErrorKind::Config, message).hint(hints::insecure_auth())
    } else if code == 504 {
        Failure::new(ErrorKind::Config, message).hint(
            "the server does not support this authentication mechanism: remove `auth` to pick \
             one it offers",
        )
    } else {
        Failure::new(ErrorKind::Permanent, message)
    };
    failure.in_sync()
}

/// Folds a reply into one line.
pub(crate) fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A timeout at `step`.
pub(crate) fn timeout(ctx: &Ctx, step: Step) -> Failure {
    let after = secs(ctx.timeout);
    match step {
        Step::Connect => Failure::new(
            ErrorKind::Temporary,
            format!("timed out after {after} connecting to {}", ctx.server()),
        )
        .hint(hints::connect_timeout(ctx)),
        Step::Resolve => Failure::new(
            ErrorKind::Temporary,
            format!(
                "timed out after {after} resolving the host name `{}`",
                ctx.host
            ),
        )
        .hint(hints::dns(ctx)),
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
                failure.hint(format!(
                    "the server did not confirm the message: it may or may not have been \
                     delivered; sent again, it has the same Message-ID, so a duplicate is \
                     recognisable; {}",
                    hints::command_timeout(ctx)
                ))
            } else {
                failure.hint(hints::command_timeout(ctx))
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
    }
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
    );
    match step {
        Step::Message => failure
            .hint(
                "the server received the message but closed the connection before confirming \
                 it: it may or may not have been delivered; sent again, it has the same \
                 Message-ID, so a duplicate is recognisable",
            )
            .per_message(),
        Step::MailFrom | Step::RcptTo | Step::Data => {
            failure.hint(hints::connection_lost()).per_message()
        }
        _ => failure.hint(hints::connection_lost()),
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
    if host_not_found(&err.to_string()) {
        Failure::new(ErrorKind::Config, message).hint(hints::no_such_host(ctx))
    } else {
        Failure::new(ErrorKind::Temporary, message).hint(hints::dns(ctx))
    }
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
        server
    } else {
        format!("{server} ({addr})")
    };
    let failure = Failure::new(
        ErrorKind::Temporary,
        format!("cannot connect to {target}: {err}"),
    );
    match err.kind() {
        io::ErrorKind::ConnectionRefused => failure.hint(hints::refused(ctx)),
        io::ErrorKind::TimedOut => failure.hint(hints::connect_timeout(ctx)),
        _ => failure.hint("check the network connection, server and port"),
    }
}

/// The TLS handshake failed.
pub(crate) fn handshake(ctx: &Ctx, problem: &HandshakeProblem) -> Failure {
    let server = ctx.server_mode();
    let prefix = format!("TLS handshake with {server} failed");
    match problem {
        HandshakeProblem::Plaintext(greeting) => Failure::new(
            ErrorKind::Config,
            format!("{prefix}: the server answered in plaintext ({greeting:?}): wrong security mode for this port"),
        )
        .hint(hints::use_starttls(ctx)),
        HandshakeProblem::NotTls(detail) => Failure::new(
            ErrorKind::Config,
            format!("{prefix}: the server does not speak TLS here ({detail})"),
        )
        .hint(hints::use_starttls(ctx)),
        HandshakeProblem::UnknownIssuer => Failure::new(
            ErrorKind::Config,
            format!("{prefix}: the server's certificate is not trusted: issued by an unknown CA (UnknownIssuer)"),
        )
        .hint(hints::untrusted(ctx)),
        HandshakeProblem::SelfSigned => Failure::new(
            ErrorKind::Config,
            format!("{prefix}: the server's certificate is not trusted: it is self-signed"),
        )
        .hint(hints::untrusted(ctx)),
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
            .hint(format!(
                "connect with a name the certificate covers in `server =`{}; as a last resort, \
                 accept_invalid_certs = true turns certificate checks off",
                presented
                    .first()
                    .map(|n| format!(" (e.g. server = \"{}:{}\")", n, ctx.port))
                    .unwrap_or_default()
            ))
        }
        HandshakeProblem::Expired(detail) => Failure::new(
            ErrorKind::Config,
            format!("{prefix}: the server's certificate is not valid now: {detail}"),
        )
        .hint(
            "check this machine's clock; otherwise the server's certificate must be renewed; as \
             a last resort, accept_invalid_certs = true turns certificate checks off",
        ),
        HandshakeProblem::OtherCertificate(detail) => Failure::new(
            ErrorKind::Config,
            format!("{prefix}: {detail}"),
        )
        .hint(hints::untrusted(ctx)),
        HandshakeProblem::Alert(alert) => Failure::new(
            ErrorKind::Config,
            format!("{prefix}: the server aborted the handshake (alert {alert})"),
        )
        .hint("the server may need an older TLS version or another cipher than notify offers (TLS 1.2 and 1.3)"),
        HandshakeProblem::Closed => Failure::new(
            ErrorKind::Temporary,
            format!("{prefix}: the server closed the connection"),
        )
        .hint(format!(
            "if this keeps happening, the port may not speak implicit TLS: {}",
            hints::use_starttls(ctx)
        )),
        HandshakeProblem::Other(detail) => Failure::new(
            ErrorKind::Temporary,
            format!("{prefix}: {detail}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// (host, from, step, code, text) → (kind, a piece of the hint or "").
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
                "myaccount.google.com/apppasswords",
            ),
            (
                "127.0.0.1",
                "me@gmail.com",
                Step::Auth,
                535,
                "5.7.8 Username and Password not accepted",
                Permanent,
                "apppasswords",
            ),
            (
                "smtp.mail.yahoo.com",
                "x@example.com",
                Step::Auth,
                535,
                "5.7.8 failed",
                Permanent,
                "Generate app password",
            ),
            (
                "smtp.mail.me.com",
                "x@example.com",
                Step::Auth,
                535,
                "5.7.8 failed",
                Permanent,
                "App-Specific Passwords",
            ),
            (
                "127.0.0.1",
                "x@icloud.com",
                Step::Auth,
                535,
                "5.7.8 failed",
                Permanent,
                "App-Specific Passwords",
            ),
            (
                "smtp.office365.com",
                "x@example.com",
                Step::Auth,
                535,
                "5.7.139 Authentication unsuccessful, basic authentication is disabled",
                Permanent,
                "auth = \"xoauth2\"",
            ),
            (
                "127.0.0.1",
                "x@example.com",
                Step::Auth,
                535,
                "5.7.139 Authentication unsuccessful",
                Permanent,
                "password = \"cmd:",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::Auth,
                535,
                "5.7.8 Authentication credentials invalid",
                Permanent,
                "check the username (me@example.com",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::Auth,
                534,
                "5.7.9 Please use an app password",
                Permanent,
                "app password",
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
                "allow_insecure_auth",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::Auth,
                504,
                "5.5.4 Unrecognized authentication type",
                Config,
                "remove `auth`",
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
                "attach_log_max",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::MailFrom,
                530,
                "5.7.0 Authentication required",
                Config,
                "set `password`",
            ),
            (
                "mail.example.com",
                "x@example.com",
                Step::MailFrom,
                530,
                "Must issue a STARTTLS command first",
                Config,
                "security = \"starttls\"",
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
            let f = reply(
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
            let got = f.hint.clone().unwrap_or_default();
            assert!(
                got.contains(hint),
                "{host} {step:?} {code} {text}: hint {got:?} lacks {hint:?}"
            );
            assert!(!f.message.contains('\n'), "{}", f.message);
            assert!(f.message.contains(&format!("{host}:587")), "{}", f.message);
            assert!(f.message.contains(&code.to_string()), "{}", f.message);
        }
    }

    #[test]
    fn rejected_recipient_names_address_and_text() {
        let f = reply(
            &ctx("mx.example.com", "a@example.com"),
            Step::RcptTo,
            550,
            "5.1.1 <bob@example.com>: Recipient address rejected:\r\nUser unknown",
            Some("bob@example.com"),
        );
        assert_eq!(f.kind, ErrorKind::Permanent);
        assert!(!f.session_wide);
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
        assert!(refused
            .hint
            .unwrap()
            .contains("nothing listens on mx.example.com:587"));
        let nx = dns(
            &c,
            &io::Error::other("failed to lookup address information: Name or service not known"),
        );
        assert_eq!(nx.kind, ErrorKind::Config);
        assert!(nx.message.contains("`mx.example.com`"), "{}", nx.message);
        let hint = nx.hint.unwrap();
        assert!(hint.contains("check the server's host name"), "{hint}");
        assert!(!hint.contains("server ="), "{hint}");
        let again = dns(
            &c,
            &io::Error::other(
                "failed to lookup address information: Temporary failure in name resolution",
            ),
        );
        assert_eq!(again.kind, ErrorKind::Temporary);
        assert!(again
            .hint
            .unwrap()
            .contains("check the server's host name `mx.example.com`"));
        let t = timeout(&c, Step::Data);
        assert_eq!(t.kind, ErrorKind::Temporary);
        assert!(t.message.contains("timed out after 30 s waiting for the reply to DATA from mx.example.com:587 (starttls)"), "{}", t.message);
        let mut c25 = c.clone();
        c25.port = 25;
        assert!(timeout(&c25, Step::Connect)
            .hint
            .unwrap()
            .contains("port 25 is often blocked"));
        let d = dropped(&c, Step::Message, "unexpected EOF");
        assert_eq!(d.kind, ErrorKind::Temporary);
        assert!(d
            .hint
            .unwrap()
            .contains("may or may not have been delivered"));
    }

    #[test]
    fn a_refused_token_gets_the_token_hint() {
        let mut c = ctx("smtp.office365.com", "me@example.com");
        c.xoauth2 = true;
        let f = reply(
            &c,
            Step::Auth,
            535,
            "5.7.3 Authentication unsuccessful",
            None,
        );
        assert_eq!(f.kind, ErrorKind::Permanent);
        let hint = f.hint.unwrap();
        assert!(hint.contains("OAuth2 access token was refused"), "{hint}");
        assert!(
            hint.contains("for me@example.com with the SMTP scope"),
            "{hint}"
        );
        assert!(!hint.contains("app password"), "{hint}");
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
    fn no_hint_promises_a_retry() {
        let c = ctx("mx.example.com", "a@example.com");
        let mut hints = Vec::new();
        for step in [
            Step::Connect,
            Step::Greeting,
            Step::Ehlo,
            Step::RcptTo,
            Step::Data,
            Step::Message,
        ] {
            hints.push(timeout(&c, step).hint);
            hints.push(dropped(&c, step, "EOF").hint);
        }
        for hint in hints.into_iter().flatten() {
            assert!(
                !hint.contains("queued") && !hint.contains("retried"),
                "{hint}"
            );
        }
    }

    #[test]
    fn handshake_table() {
        use ErrorKind::*;
        let c = ctx("mx.example.com", "a@example.com");
        let cases = [
            (
                HandshakeProblem::Plaintext("220 mx ESMTP".into()),
                Config,
                "security = \"starttls\"",
            ),
            (
                HandshakeProblem::NotTls("corrupt".into()),
                Config,
                "security = \"starttls\"",
            ),
            (
                HandshakeProblem::UnknownIssuer,
                Config,
                "ca_file = \"/path/ca.pem\"",
            ),
            (
                HandshakeProblem::SelfSigned,
                Config,
                "accept_invalid_certs = true",
            ),
            (
                HandshakeProblem::WrongName {
                    presented: vec!["other.example".into()],
                },
                Config,
                "server = \"other.example:587\"",
            ),
            (HandshakeProblem::Closed, Temporary, "implicit TLS"),
        ];
        for (problem, kind, hint) in cases {
            let f = handshake(&c, &problem);
            assert_eq!(f.kind, kind, "{problem:?}");
            assert!(
                f.hint.clone().unwrap_or_default().contains(hint),
                "{problem:?}: {:?}",
                f.hint
            );
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
    fn labels() {
        assert_eq!(server_label("::1", 25), "[::1]:25");
        assert_eq!(server_label("mx", 25), "mx:25");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(one_line("a\r\n b\n"), "a b");
    }
}
