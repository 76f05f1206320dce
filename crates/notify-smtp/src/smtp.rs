//! Delivery over SMTP: [`SmtpTransport`] and its settings, [`SmtpConfig`].
//!
//! notify speaks the protocol itself (`client.rs`, with `smtp-proto` for
//! reading replies); lettre only builds the message. One sequence,
//! [`SmtpTransport::connect`], sets every connection up, for a delivery
//! and for `notify doctor` alike (the doctor watches it through an
//! [`Observer`]):
//!
//! - **The connection.** We resolve and connect the TCP stream (with a
//!   timeout and `TCP_NODELAY`), do implicit TLS with our own rustls
//!   configuration (`tls.rs`), and read the greeting; a silent port is
//!   probed for implicit TLS.
//! - **STARTTLS.** Greeting, EHLO, check that STARTTLS is offered (else
//!   QUIT and fail: never a silent downgrade), STARTTLS, 220, and nothing
//!   pipelined after it (the STARTTLS command-injection attack), then the
//!   handshake on the same stream and EHLO again.
//! - **Timeouts.** Every write and every reply is under
//!   [`SmtpConfig::timeout`].
//! - **AUTH** only with a mechanism the server offers, never before the
//!   connection is encrypted (unless `allow_insecure_auth`); an XOAUTH2
//!   error challenge is answered to get the server's final reply.
//! - **The envelope.** MAIL, each RCPT and DATA one by one, or in one write
//!   where the server offers PIPELINING; a failure names the step and the
//!   refused recipient. The body and its final `.` go out in one write.
//! - **The end.** QUIT without waiting for the 221, as Postfix does.
//! - **Errors.** Every failure becomes a [`TransportError`] with a kind and,
//!   for the known cases, a hint, from the reply's code, enhanced status
//!   code and text, the step and the I/O error; see `classify.rs`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use notify_core::{BatchReport, Delivery, ErrorKind, Notification, Transport, TransportError};
use rustls_pki_types::{CertificateDer, ServerName};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::TlsConnector;

use crate::classify::{self, secs, Ctx, Failure};
use crate::client::{self, Conn, Ehlo, Reply};
use crate::failure::Step;
use crate::hint::Hint;
use crate::providers::Security;
use crate::tls::{self, Sniff, Stream, SystemRoots};
use crate::transcript::{Sink, Transcript};
use crate::{build_message, BuiltMessage, Error, SettingError};

/// The SASL mechanism used to log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMechanism {
    /// `AUTH PLAIN` (RFC 4616): the default when the server offers it.
    Plain,
    /// `AUTH LOGIN`: obsolete, but some servers offer nothing else.
    Login,
    /// `AUTH XOAUTH2` (Google, Microsoft): the secret is an OAuth2 access
    /// token, sent as `user=...^Aauth=Bearer TOKEN^A^A`. Used only when
    /// pinned with `auth = "xoauth2"`.
    Xoauth2,
}

impl AuthMechanism {
    /// Every name, as written in `auth =`.
    pub const NAMES: &'static [&'static str] = &["plain", "login", "xoauth2"];

    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMechanism::Plain => "plain",
            AuthMechanism::Login => "login",
            AuthMechanism::Xoauth2 => "xoauth2",
        }
    }

    /// The mechanism's bit in smtp-proto's EHLO AUTH list.
    pub(crate) fn sasl(self) -> u64 {
        match self {
            AuthMechanism::Plain => smtp_proto::AUTH_PLAIN,
            AuthMechanism::Login => smtp_proto::AUTH_LOGIN,
            AuthMechanism::Xoauth2 => smtp_proto::AUTH_XOAUTH2,
        }
    }
}

impl fmt::Display for AuthMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthMechanism {
    type Err = SettingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "plain" => Ok(AuthMechanism::Plain),
            "login" => Ok(AuthMechanism::Login),
            "xoauth2" | "oauth2" | "oauthbearer-xoauth2" => Ok(AuthMechanism::Xoauth2),
            _ => Err(SettingError::UnknownAuthMechanism {
                value: s.to_owned(),
            }),
        }
    }
}

/// A login: the username and the password (or, for XOAUTH2, the access
/// token). `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    /// The login name, usually the full address.
    pub username: String,
    /// The password or token.
    pub secret: SecretString,
}

impl Credentials {
    /// Credentials from a username and a secret.
    pub fn new(username: impl Into<String>, secret: impl Into<String>) -> Self {
        Self::from_secret(username, SecretString::from(secret.into()))
    }

    /// Credentials from a username and a secret that is already a
    /// [`SecretString`] (as a secret store returns it), without a copy of
    /// it in plain memory.
    pub fn from_secret(username: impl Into<String>, secret: SecretString) -> Self {
        Credentials {
            username: username.into(),
            secret,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// How to reach and log in to an SMTP server.
///
/// Start from [`SmtpConfig::new`] and set the fields that differ (the
/// struct may gain fields, so it cannot be written as a literal outside
/// this crate).
#[derive(Clone)]
#[non_exhaustive]
pub struct SmtpConfig {
    /// Host name or IP address (without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Implicit TLS, STARTTLS (required, never skipped) or none.
    pub security: Security,
    /// The login; `None` sends without AUTH (a plain relay).
    pub credentials: Option<Credentials>,
    /// The mechanism; `None` picks from the server's EHLO: PLAIN, else
    /// LOGIN. XOAUTH2 is used only when pinned here.
    pub auth: Option<AuthMechanism>,
    /// Extra trusted certificate(s) in PEM form (the contents of
    /// `ca_file`), added to the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Where `ca_pem` came from (the `ca_file` path), for messages.
    pub ca_file_label: Option<String>,
    /// Skip certificate validation entirely (`accept_invalid_certs`).
    pub accept_invalid_certs: bool,
    /// Allow credentials over an unencrypted connection.
    pub allow_insecure_auth: bool,
    /// The EHLO name; default: this machine's host name, or an address
    /// literal such as `[192.0.2.7]` of the local end of the connection
    /// when the host name is unusable (`localhost`, empty, not a domain).
    pub helo_name: Option<String>,
    /// Limit for the connection and for each command's reply.
    pub timeout: Duration,
    /// The certificates the system trusts, as read ([`SystemRoots`]: the
    /// platform's store by default; what `SSL_CERT_FILE`/`SSL_CERT_DIR`
    /// name, when the caller says so); Mozilla's roots where it has none.
    pub system_roots: SystemRoots,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("credentials", &self.credentials)
            .field("auth", &self.auth)
            .field(
                "ca_pem",
                &self.ca_pem.as_ref().map(|p| format!("{} bytes", p.len())),
            )
            .field("ca_file_label", &self.ca_file_label)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .field("allow_insecure_auth", &self.allow_insecure_auth)
            .field("helo_name", &self.helo_name)
            .field("timeout", &self.timeout)
            .field("system_roots", &self.system_roots)
            .finish()
    }
}

impl SmtpConfig {
    /// The default limit for connecting and for each reply: 30 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Settings for `host:port` with `security`; no login, default timeout,
    /// certificates checked against the system's roots.
    pub fn new(host: impl Into<String>, port: u16, security: Security) -> Self {
        SmtpConfig {
            host: host.into(),
            port,
            security,
            credentials: None,
            auth: None,
            ca_pem: None,
            ca_file_label: None,
            accept_invalid_certs: false,
            allow_insecure_auth: false,
            helo_name: None,
            timeout: Self::DEFAULT_TIMEOUT,
            system_roots: SystemRoots::Platform,
        }
    }

    /// Parses `server = "host[:port]"` (`[::1]:25` for IPv6) together with
    /// an optional `security`. Without a port, the port is the security
    /// mode's usual one (465, 587, 25); without a security mode, it follows
    /// the port ([`Security::for_port`]: `tls` for 465, else `starttls`).
    pub fn parse_server(
        server: &str,
        security: Option<Security>,
    ) -> Result<(String, u16, Security), SettingError> {
        let s = server.trim();
        let invalid = |why: &str| SettingError::InvalidServer {
            server: server.to_owned(),
            reason: why.to_owned(),
        };
        if s.is_empty() {
            return Err(SettingError::EmptyServer);
        }
        if s.contains("://") {
            return Err(invalid(
                "write host or host:port without a scheme, e.g. smtp.example.com:465",
            ));
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '@' | ','))
        {
            return Err(invalid(
                "a server is a host name or address with an optional :port, e.g. \
                 smtp.example.com:587",
            ));
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let Some((inside, after)) = rest.split_once(']') else {
                return Err(invalid("missing `]` after the IPv6 address"));
            };
            if inside.parse::<Ipv6Addr>().is_err() {
                return Err(invalid(&format!("`{inside}` is not an IPv6 address")));
            }
            let port = match after {
                "" => None,
                _ => match after.strip_prefix(':') {
                    Some(p) => Some(parse_port(server, p)?),
                    None => return Err(invalid("expected `:port` after `]`")),
                },
            };
            (inside, port)
        } else if s.matches(':').count() > 1 {
            if s.parse::<Ipv6Addr>().is_ok() {
                (s, None)
            } else {
                return Err(invalid(
                    "write an IPv6 address in brackets, e.g. [2001:db8::1]:587",
                ));
            }
        } else if let Some((host, port)) = s.split_once(':') {
            (host, Some(parse_port(server, port)?))
        } else {
            (s, None)
        };
        if host.is_empty() {
            return Err(invalid("the host name is missing"));
        }
        if !host.is_ascii() {
            return Err(invalid(
                "write an internationalized host name in its ASCII (xn--) form",
            ));
        }
        let security =
            security.unwrap_or_else(|| port.map(Security::for_port).unwrap_or(Security::StartTls));
        let port = port.unwrap_or_else(|| security.default_port());
        Ok((host.to_owned(), port, security))
    }

    /// Checks the settings without connecting: everything
    /// [`SmtpTransport::new`] checks except that a pinned `auth` has
    /// credentials (a password may only be fetched at send time). That is:
    /// the host (not empty, no spaces or control characters, usable as a
    /// TLS server name unless `security` is none), the port (not 0), the
    /// timeout (not zero), the username when there are credentials, the
    /// `ca_pem` certificates (they must parse, and there must be at least
    /// one: [`Error::CaFile`] names `ca_file_label`) and `helo_name`.
    pub fn validate(&self) -> Result<(), Error> {
        // The system's certificates are not read to check settings: only
        // a delivery that speaks TLS needs them.
        self.prepare(&SystemRoots::Compiled).map(|_| ())
    }

    /// The checks of [`SmtpConfig::validate`], keeping what they built.
    fn prepare(&self, system_roots: &SystemRoots) -> Result<Prepared, Error> {
        let host = self.host.trim();
        if host.is_empty() {
            return Err(invalid("server", &self.host, "the host name is empty"));
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                "server",
                &self.host,
                "a host name cannot contain spaces or control characters",
            ));
        }
        if self.port == 0 {
            return Err(invalid("server", "0", "the port must be from 1 to 65535"));
        }
        if self.timeout.is_zero() {
            return Err(invalid(
                "timeout",
                "0",
                "the timeout must be longer than zero",
            ));
        }
        if self.security != Security::None && ServerName::try_from(self.host.clone()).is_err() {
            return Err(invalid(
                "server",
                &self.host,
                "not a valid host name or IP address for TLS",
            ));
        }
        match &self.credentials {
            Some(c) if c.username.trim().is_empty() => {
                return Err(invalid("username", "", "the username is empty"));
            }
            Some(c) if c.username.chars().any(char::is_control) => {
                return Err(invalid(
                    "username",
                    &c.username,
                    "the username contains a control character",
                ));
            }
            _ => {}
        }
        let label = self
            .ca_file_label
            .clone()
            .unwrap_or_else(|| "ca_pem".to_owned());
        let extra = match &self.ca_pem {
            Some(pem) => tls::parse_pem_certificates(pem).map_err(|reason| Error::CaFile {
                file: label.clone(),
                reason,
            })?,
            None => Vec::new(),
        };
        // Without TLS the roots are never asked: the system's are not read.
        let roots = if self.security == Security::None {
            &SystemRoots::Compiled
        } else {
            system_roots
        };
        let tls =
            tls::client_config(&extra, roots, self.accept_invalid_certs).map_err(|reason| {
                Error::CaFile {
                    file: label.clone(),
                    reason,
                }
            })?;
        let probe_tls =
            tls::client_config(&[], &SystemRoots::Compiled, true).map_err(|reason| {
                Error::CaFile {
                    file: label,
                    reason,
                }
            })?;
        let helo = match &self.helo_name {
            Some(name) => Helo::Fixed(parse_helo(name)?),
            None => {
                let name = crate::system_hostname();
                if usable_hostname(&name) {
                    Helo::Hostname(name)
                } else {
                    Helo::Literal
                }
            }
        };
        Ok(Prepared {
            extra,
            tls,
            probe_tls,
            helo,
        })
    }

    pub(crate) fn label(&self) -> String {
        classify::server_label(&self.host, self.port)
    }
}

fn parse_port(server: &str, port: &str) -> Result<u16, SettingError> {
    match port.parse::<u16>() {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(SettingError::InvalidPort {
            server: server.to_owned(),
            port: port.to_owned(),
        }),
    }
}

/// What [`SmtpConfig::prepare`] built from checked settings.
struct Prepared {
    extra: Vec<CertificateDer<'static>>,
    tls: Arc<ClientConfig>,
    probe_tls: Arc<ClientConfig>,
    helo: Helo,
}

/// How long a server may stay silent before [`SmtpTransport::read_greeting`]
/// checks (on a second connection) whether the port expects implicit TLS.
const GREETING_PATIENCE: Duration = Duration::from_secs(5);

/// The EHLO name, decided once.
#[derive(Debug, Clone)]
enum Helo {
    /// Configured (`helo_name`).
    Fixed(ClientId),
    /// This machine's host name.
    Hostname(String),
    /// The address literal of the local end of each connection.
    Literal,
}

/// Delivers notifications over SMTP with notify's own client, over its own
/// TCP/TLS stream. See the module docs of `smtp.rs` for how the connection is made.
///
/// Each [`Transport::send_batch`] opens one connection for the whole batch
/// and ends it with QUIT; [`Transport::send`] is a batch of one.
pub struct SmtpTransport {
    config: SmtpConfig,
    tls: Arc<ClientConfig>,
    /// Accepts any certificate: only to find out whether a silent port
    /// speaks TLS, never to send anything.
    probe_tls: Arc<ClientConfig>,
    /// The `ca_pem` certificates, for a recording verifier (`notify
    /// doctor`).
    extra_roots: Vec<CertificateDer<'static>>,
    helo: Helo,
    transcript: Option<Sink>,
}

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("config", &self.config)
            .field("helo", &self.helo)
            .field("transcript", &self.transcript.is_some())
            .finish_non_exhaustive()
    }
}

fn invalid(setting: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidSetting {
        setting,
        value: value.into(),
        reason: reason.into(),
    }
}

impl SmtpTransport {
    /// Checks the settings and prepares TLS: everything
    /// [`SmtpConfig::validate`] checks (host and port, timeout, username,
    /// the `ca_pem` certificates, `helo_name`), and that a pinned `auth` has
    /// credentials. Nothing is connected yet.
    pub fn new(config: SmtpConfig) -> Result<Self, Error> {
        if let (None, Some(auth)) = (&config.credentials, config.auth) {
            return Err(invalid(
                "auth",
                auth.as_str(),
                "`auth` is set but there is no password: set `password` too, or remove `auth`",
            ));
        }
        let Prepared {
            extra,
            tls,
            probe_tls,
            helo,
        } = config.prepare(&config.system_roots)?;
        Ok(SmtpTransport {
            config,
            tls,
            probe_tls,
            extra_roots: extra,
            helo,
            transcript: None,
        })
    }

    /// Calls `sink` once per line of the SMTP dialogue: `C: ` for what
    /// notify sends, `S: ` for what the server answers, `* ` for notes
    /// (connected, TLS established). AUTH payloads are replaced by
    /// `[redacted]` (the argument of `AUTH PLAIN`/`AUTH XOAUTH2` and every
    /// line answering a 334 challenge), and the message is summarized as
    /// `C: [message body: N bytes]`. The lines are the decrypted dialogue
    /// in every security mode.
    pub fn with_transcript(mut self, sink: Arc<dyn Fn(&str) + Send + Sync>) -> Self {
        self.transcript = Some(sink);
        self
    }

    /// The settings this transport was built with.
    pub fn config(&self) -> &SmtpConfig {
        &self.config
    }

    /// A session that keeps one connection open from message to message,
    /// for senders that do not have all their messages at hand at once
    /// (the queue reads them a chunk at a time). The same rules as
    /// [`Transport::send_batch`] (see its implementation here) apply
    /// across all its messages.
    pub fn into_session(self) -> SmtpSession {
        SmtpSession {
            transport: self,
            kept: Kept::default(),
        }
    }

    /// One message of a batch over the connection in `kept`, opened when
    /// there is none.
    async fn send_kept(
        &self,
        kept: &mut Kept,
        notification: &Notification,
    ) -> Result<Delivery, TransportError> {
        let message = build_message(notification).map_err(TransportError::from)?;
        if let Some(failure) = &kept.broken {
            return Err(failure.to_transport_error());
        }
        let ctx = self.ctx(Some(&message));
        let (mut current, reused) = match kept.session.take() {
            Some(s) => (s, true),
            None => (self.open_kept(kept, &ctx).await?, false),
        };
        let mut delivered = self.deliver(&mut current, &ctx, &message).await;
        // A kept connection the server has closed in the meantime (idle
        // timeout, 421) fails at MAIL FROM, before anything of the message
        // was sent: one fresh connection tries again.
        if let Err(failure) = &delivered {
            if reused && failure.at_mail && failure.kind == ErrorKind::Temporary {
                if failure.in_sync {
                    current.conn.quit().await;
                }
                current = self.open_kept(kept, &ctx).await?;
                delivered = self.deliver(&mut current, &ctx, &message).await;
            }
        }
        match delivered {
            Ok(delivery) => {
                kept.session = Some(current);
                Ok(delivery)
            }
            Err(failure) => {
                let err = failure.to_transport_error();
                if failure.in_sync {
                    current.conn.quit().await;
                }
                if failure.session_wide {
                    kept.broken = Some(failure);
                }
                Err(err)
            }
        }
    }

    /// Opens a connection for a batch; when that fails, the batch is
    /// broken: its remaining messages fail the same way without trying.
    async fn open_kept(&self, kept: &mut Kept, ctx: &Ctx) -> Result<Session, TransportError> {
        self.open(ctx).await.map_err(|failure| {
            let err = failure.to_transport_error();
            kept.broken = Some(failure);
            err
        })
    }

    async fn finish_kept(&self, kept: Kept) {
        if let Some(s) = kept.session {
            s.conn.quit().await;
        }
    }

    pub(crate) fn ctx(&self, message: Option<&BuiltMessage>) -> Ctx {
        Ctx {
            host: self.config.host.clone(),
            port: self.config.port,
            security: self.config.security,
            username: self.config.credentials.as_ref().map(|c| c.username.clone()),
            from: message.map(|m| m.sender().to_owned()),
            ca_file: self.config.ca_file_label.clone(),
            timeout: self.config.timeout,
            xoauth2: self.config.auth == Some(AuthMechanism::Xoauth2),
        }
    }

    pub(crate) fn client_id(&self, local: Option<SocketAddr>) -> ClientId {
        match &self.helo {
            Helo::Fixed(id) => id.clone(),
            Helo::Hostname(name) => ClientId::Domain(name.clone()),
            Helo::Literal => match local.map(|a| a.ip()) {
                Some(IpAddr::V4(ip)) => ClientId::Ipv4(ip),
                Some(IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
                    Some(v4) => ClientId::Ipv4(v4),
                    None => ClientId::Ipv6(ip),
                },
                None => ClientId::Ipv4(Ipv4Addr::LOCALHOST),
            },
        }
    }

    /// Opens a connection for delivery: refuses a password for an
    /// unencrypted server before connecting at all (unless allowed), then
    /// runs [`SmtpTransport::connect`] unwatched.
    async fn open(&self, ctx: &Ctx) -> Result<Session, Failure> {
        let cfg = &self.config;
        if let Some(creds) = &cfg.credentials {
            if cfg.security == Security::None && !cfg.allow_insecure_auth {
                return Err(Failure::new(
                    ErrorKind::Config,
                    format!(
                        "refusing to send the password of {} unencrypted to {} (security = \
                         \"none\"); nothing was sent",
                        creds.username,
                        ctx.server()
                    ),
                )
                .at(Step::Auth)
                .hint(Hint::EncryptThePassword));
            }
        }
        self.connect(ctx, &mut Unwatched).await
    }

    /// The connection sequence, the one for delivery and `notify doctor`:
    /// resolve, connect, (implicit TLS,) greeting, (EHLO, STARTTLS, TLS,)
    /// EHLO, AUTH when there are credentials. `observer` is shown each step
    /// as it succeeds; the first failure ends the sequence and is returned
    /// (after a QUIT when the connection is still in step).
    pub(crate) async fn connect(
        &self,
        ctx: &Ctx,
        observer: &mut (dyn Observer + Send),
    ) -> Result<Session, Failure> {
        let cfg = &self.config;
        let start = Instant::now();
        let addrs = self.resolve(ctx).await?;
        observer.resolved(&addrs, start.elapsed());
        let attempts = self.connect_tcp(ctx, &addrs).await;
        observer.connected(&attempts);
        let Some(Connected { tcp, addr, .. }) = attempts.connected else {
            return Err(attempts.failures.into_iter().last().map_or_else(
                || Failure::new(ErrorKind::Temporary, "no address to connect to").at(Step::Connect),
                |(_, failure)| failure,
            ));
        };
        let local = tcp.local_addr().ok();
        let hello = self.client_id(local).to_string();
        let transcript = Transcript::new(self.transcript.clone());
        self.note_connected(&transcript, addr);
        let recorder = observer.tls_recorder();

        let sniff = Sniff::new(tcp);
        let mut conn = if cfg.security == Security::Tls {
            let stream = self
                .handshake(ctx, sniff, &transcript, recorder.clone())
                .await?;
            observer.tls(&stream)?;
            Conn::new(stream, transcript, cfg.timeout)
        } else {
            Conn::new(Stream::Plain(sniff), transcript, cfg.timeout)
        };
        let greeting = self.read_greeting(ctx, &mut conn, addr).await?;

        if cfg.security == Security::StartTls {
            let ehlo = conn.ehlo(ctx, &hello).await?;
            if !ehlo.starttls() {
                conn.quit().await;
                return Err(self.starttls_missing(ctx));
            }
            let reply = conn.command(ctx, Step::StartTls, "STARTTLS").await?;
            if reply.code != 220 {
                return Err(classify::reply(ctx, Step::StartTls, &reply, None));
            }
            let (sniff, transcript) = conn.into_plain(ctx)?;
            observer.starttls(&greeting, &reply);
            let stream = self.handshake(ctx, sniff, &transcript, recorder).await?;
            observer.tls(&stream)?;
            conn = Conn::new(stream, transcript, cfg.timeout);
        }

        let ehlo = conn.ehlo(ctx, &hello).await?;
        observer.ehlo(&ehlo);
        let mut session = Session { conn, ehlo };
        if let Some(creds) = &cfg.credentials {
            match self.authenticate(ctx, &mut session, creds).await {
                Ok(mechanism) => observer.authenticated(mechanism),
                Err(failure) => {
                    if failure.in_sync {
                        session.conn.quit().await;
                    }
                    return Err(failure);
                }
            }
        }
        Ok(session)
    }

    /// `security = "starttls"`, but the server's EHLO has no STARTTLS.
    fn starttls_missing(&self, ctx: &Ctx) -> Failure {
        Failure::new(
            ErrorKind::Config,
            format!(
                "{} does not offer STARTTLS, and security = \"starttls\" requires it; nothing \
                 was sent",
                ctx.server()
            ),
        )
        .at(Step::StartTls)
        .hint(Hint::StartTlsMissing {
            with_password: self.config.credentials.is_some(),
        })
    }

    /// Resolves the host name (with the timeout).
    async fn resolve(&self, ctx: &Ctx) -> Result<Vec<SocketAddr>, Failure> {
        let cfg = &self.config;
        let addrs: Vec<SocketAddr> = match timeout(
            cfg.timeout,
            tokio::net::lookup_host((cfg.host.as_str(), cfg.port)),
        )
        .await
        {
            Err(_) => return Err(classify::timeout(ctx, Step::Resolve)),
            Ok(Err(err)) => return Err(classify::dns(ctx, &err)),
            Ok(Ok(addrs)) => addrs.collect(),
        };
        if addrs.is_empty() {
            let err = std::io::Error::other("no address found");
            return Err(classify::dns(ctx, &err));
        }
        Ok(addrs)
    }

    /// Connects to the first address that answers, each within the
    /// timeout, with `TCP_NODELAY` set.
    async fn connect_tcp(&self, ctx: &Ctx, addrs: &[SocketAddr]) -> Attempts {
        let mut failures = Vec::new();
        for addr in addrs {
            let start = Instant::now();
            match timeout(self.config.timeout, TcpStream::connect(addr)).await {
                Ok(Ok(tcp)) => {
                    // Best effort: without it a command written right
                    // after another waits for a delayed ACK.
                    let _ = tcp.set_nodelay(true);
                    return Attempts {
                        connected: Some(Connected {
                            tcp,
                            addr: *addr,
                            elapsed: start.elapsed(),
                        }),
                        failures,
                    };
                }
                Ok(Err(err)) => {
                    failures.push((*addr, classify::connect(ctx, &addr.to_string(), &err)))
                }
                Err(_) => failures.push((*addr, classify::timeout(ctx, Step::Connect))),
            }
        }
        Attempts {
            connected: None,
            failures,
        }
    }

    /// The transcript's "* connected to ..." note.
    fn note_connected(&self, transcript: &Transcript, addr: SocketAddr) {
        let label = self.config.label();
        if label == addr.to_string() {
            transcript.note(&format!("connected to {label}"));
        } else {
            transcript.note(&format!("connected to {label} ({addr})"));
        }
    }

    /// Reads the greeting (with the timeout); anything but 2xx is an error.
    ///
    /// Without TLS so far, a server that says nothing for
    /// [`GREETING_PATIENCE`] (or half a shorter timeout; the whole wait,
    /// probe included, stays within the timeout) may be an implicit-TLS
    /// port waiting for our
    /// ClientHello: a TLS handshake on a second connection is then tried
    /// while the greeting is still awaited. If that handshake succeeds, the
    /// wrong security mode is reported at once; otherwise the greeting is
    /// awaited up to the full timeout (a slow plaintext server still
    /// works).
    async fn read_greeting(
        &self,
        ctx: &Ctx,
        conn: &mut Conn,
        addr: SocketAddr,
    ) -> Result<Reply, Failure> {
        let cfg = &self.config;
        let start = tokio::time::Instant::now();
        let deadline = start + cfg.timeout;
        // One read for the whole wait: dropping it in between could lose
        // the first lines of a multi-line greeting.
        let read = conn.read_reply();
        tokio::pin!(read);
        // Half of a short timeout, so the probe has the other half.
        let patience = (cfg.timeout / 2).min(GREETING_PATIENCE);
        let result = match timeout(patience, &mut read).await {
            Ok(result) => Some(result),
            Err(_) if cfg.security == Security::Tls => {
                tokio::time::timeout_at(deadline, &mut read).await.ok()
            }
            Err(_) => {
                // The probe gets what is left of the timeout, no more: the
                // whole wait stays within `timeout`, as the message says.
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                let probe = self.speaks_tls(addr, left);
                tokio::pin!(probe);
                let mut probing = true;
                loop {
                    tokio::select! {
                        result = &mut read => break Some(result),
                        tls = &mut probe, if probing => {
                            probing = false;
                            if tls {
                                return Err(self.implicit_tls_port(ctx, start.elapsed()));
                            }
                        }
                        _ = tokio::time::sleep_until(deadline) => break None,
                    }
                }
            }
        };
        let greeting = match result {
            None => return Err(self.greeting_timeout(ctx)),
            Some(Err(err)) => return Err(client::read_failure(ctx, Step::Greeting, err)),
            Some(Ok((reply, _))) => reply,
        };
        if !greeting.is_positive() {
            return Err(classify::reply(ctx, Step::Greeting, &greeting, None));
        }
        Ok(greeting)
    }

    /// Runs the TLS handshake over `sniff` with the transport's TLS
    /// settings; with `recorder`, the verifier also keeps the chain the
    /// server presents there (`notify doctor`).
    async fn handshake(
        &self,
        ctx: &Ctx,
        sniff: Sniff,
        transcript: &Transcript,
        recorder: Option<Arc<tls::Presented>>,
    ) -> Result<Stream, Failure> {
        let cfg = &self.config;
        let tls = match recorder {
            None => self.tls.clone(),
            Some(record) => tls::recording_client_config(
                &self.extra_roots,
                &cfg.system_roots,
                cfg.accept_invalid_certs,
                record,
            )
            .map_err(|reason| {
                Failure::new(ErrorKind::Config, format!("cannot set up TLS: {reason}"))
                    .at(Step::TlsHandshake)
            })?,
        };
        let name = ServerName::try_from(cfg.host.clone()).map_err(|err| {
            Failure::new(
                ErrorKind::Config,
                format!("`{}` is not a valid TLS server name: {err}", cfg.host),
            )
            .at(Step::TlsHandshake)
        })?;
        let connector = TlsConnector::from(tls);
        match timeout(cfg.timeout, connector.connect(name, sniff).into_fallible()).await {
            Err(_) => Err(classify::timeout(ctx, Step::TlsHandshake)),
            Ok(Err((err, sniff))) => {
                let problem = tls::handshake_problem(&err, sniff.first_bytes());
                Err(classify::handshake(ctx, &problem))
            }
            Ok(Ok(tls_stream)) => {
                let stream = Stream::Tls(Box::new(tls_stream));
                let summary = stream.tls_summary().unwrap_or_default();
                if cfg.accept_invalid_certs {
                    transcript.note(&format!(
                        "TLS established ({summary}); the certificate was NOT verified \
                         (accept_invalid_certs = true)"
                    ));
                } else {
                    transcript.note(&format!(
                        "TLS established ({summary}); certificate verified for {}",
                        cfg.host
                    ));
                }
                Ok(stream)
            }
        }
    }

    /// No greeting for `waited`, but the port answers a TLS handshake.
    fn implicit_tls_port(&self, ctx: &Ctx, waited: Duration) -> Failure {
        Failure::new(
            ErrorKind::Config,
            format!(
                "{} sent no greeting within {} but answers a TLS handshake: it expects \
                 implicit TLS, not security = \"{}\"",
                ctx.server(),
                secs(Duration::from_secs(waited.as_secs().max(1))),
                self.config.security
            ),
        )
        .at(Step::Greeting)
        .hint(Hint::UseTls {
            server: ctx.server(),
        })
    }

    /// No greeting within the timeout (and, without TLS, the port did not
    /// answer a TLS handshake either).
    fn greeting_timeout(&self, ctx: &Ctx) -> Failure {
        let failure = classify::timeout(ctx, Step::Greeting);
        if self.config.security != Security::Tls {
            failure.hint(Hint::NoGreeting {
                timeout: ctx.timeout,
            })
        } else {
            failure
        }
    }

    async fn speaks_tls(&self, addr: SocketAddr, within: Duration) -> bool {
        let Ok(name) = ServerName::try_from(self.config.host.clone()) else {
            return false;
        };
        let connector = TlsConnector::from(self.probe_tls.clone());
        let probe = async {
            let tcp = TcpStream::connect(addr).await.ok()?;
            let _ = tcp.set_nodelay(true);
            connector.connect(name, tcp).await.ok()
        };
        let limit = within.min(Duration::from_secs(5));
        matches!(timeout(limit, probe).await, Ok(Some(_)))
    }

    /// Logs in with the configured or the best offered mechanism, never
    /// over an unencrypted connection unless allowed; returns the
    /// mechanism used. A refusal before anything was sent is in step.
    async fn authenticate(
        &self,
        ctx: &Ctx,
        session: &mut Session,
        creds: &Credentials,
    ) -> Result<AuthMechanism, Failure> {
        let cfg = &self.config;
        if !session.conn.encrypted() && !cfg.allow_insecure_auth {
            return Err(Failure::new(
                ErrorKind::Config,
                format!(
                    "refusing to send the password of {} over the unencrypted connection to {}",
                    creds.username,
                    ctx.server_mode()
                ),
            )
            .at(Step::Auth)
            .hint(Hint::EncryptThePassword)
            .in_sync());
        }
        let mechanism = pick_mechanism(ctx, &session.ehlo, cfg.auth)?;
        let conn = &mut session.conn;
        // The one place the secret leaves its SecretString.
        let secret = creds.secret.expose_secret();
        let user = creds.username.as_str();
        let first = match mechanism {
            AuthMechanism::Plain => {
                format!(
                    "AUTH PLAIN {}",
                    client::b64(format!("\0{user}\0{secret}").as_bytes())
                )
            }
            AuthMechanism::Login => "AUTH LOGIN".to_owned(),
            AuthMechanism::Xoauth2 => format!(
                "AUTH XOAUTH2 {}",
                client::b64(format!("user={user}\x01auth=Bearer {secret}\x01\x01").as_bytes())
            ),
        };
        let mut reply = conn.command(ctx, Step::Auth, &first).await?;
        let mut rounds = 0;
        while reply.code == 334 {
            rounds += 1;
            if rounds > 5 {
                return Err(Failure::new(
                    ErrorKind::Permanent,
                    format!("{} sent too many AUTH challenges", ctx.server_mode()),
                )
                .at(Step::Auth));
            }
            let next = match mechanism {
                AuthMechanism::Login => {
                    let challenge = client::challenge_text(&reply).to_ascii_lowercase();
                    if challenge.contains("pass") || (rounds > 1 && !challenge.contains("user")) {
                        client::b64(secret.as_bytes())
                    } else {
                        client::b64(user.as_bytes())
                    }
                }
                // A challenge after the initial response is an error report
                // (XOAUTH2 sends base64 JSON); an empty answer gets the
                // final reply.
                AuthMechanism::Plain | AuthMechanism::Xoauth2 => String::new(),
            };
            reply = conn.command(ctx, Step::Auth, &next).await?;
        }
        if reply.is_positive() {
            Ok(mechanism)
        } else if reply.code >= 400 {
            Err(classify::reply(ctx, Step::Auth, &reply, None))
        } else {
            Err(classify::unexpected(ctx, Step::Auth, &reply))
        }
    }

    /// One command whose reply must be positive (2xx; 354 for DATA).
    async fn expect(
        conn: &mut Conn,
        ctx: &Ctx,
        step: Step,
        line: &str,
        recipient: Option<&str>,
    ) -> Result<Reply, Failure> {
        let reply = conn.command(ctx, step, line).await?;
        check(ctx, step, reply, recipient)
    }

    async fn deliver(
        &self,
        session: &mut Session,
        ctx: &Ctx,
        message: &BuiltMessage,
    ) -> Result<Delivery, Failure> {
        let envelope = message.envelope();
        let from = envelope.from().map_or("", |a| a.as_ref());
        let recipients: Vec<&str> = envelope.to().iter().map(|a| a.as_ref()).collect();
        let body = message.formatted();
        if let Some(bad) = std::iter::once(from)
            .chain(recipients.iter().copied())
            .find(|a| !client::safe_address(a))
        {
            return Err(Failure::new(
                ErrorKind::Permanent,
                format!("the address {bad:?} cannot be written in an SMTP command"),
            )
            .at(Step::MailFrom)
            .per_message()
            .in_sync());
        }
        let mut params = String::new();
        // Domains are A-labels already (`build_message`): only a part
        // before the `@` can still be non-ASCII.
        if let Some(address) = std::iter::once(from)
            .chain(recipients.iter().copied())
            .find(|a| !a.is_ascii())
        {
            if !session.ehlo.smtputf8() {
                return Err(Failure::new(
                    ErrorKind::Permanent,
                    format!(
                        "the address {address} has non-ASCII letters before the '@', which \
                         needs SMTPUTF8, and {} does not offer it",
                        ctx.server_mode()
                    ),
                )
                .at(Step::MailFrom)
                .per_message()
                .in_sync());
            }
            params.push_str(" SMTPUTF8");
        }
        if !body.is_ascii() {
            if !session.ehlo.eight_bit_mime() {
                return Err(Failure::new(
                    ErrorKind::Permanent,
                    format!(
                        "{} does not support 8BITMIME, needed for this message",
                        ctx.server_mode()
                    ),
                )
                .at(Step::MailFrom)
                .per_message()
                .in_sync());
            }
            params.push_str(" BODY=8BITMIME");
        }
        let mail = format!("MAIL FROM:<{from}>{params}");
        let conn = &mut session.conn;
        if session.ehlo.pipelining() {
            envelope_pipelined(conn, ctx, &mail, &recipients).await?;
        } else {
            Self::expect(conn, ctx, Step::MailFrom, &mail, None)
                .await
                .map_err(|mut failure| {
                    failure.at_mail = true;
                    failure
                })?;
            for recipient in &recipients {
                let line = format!("RCPT TO:<{recipient}>");
                Self::expect(conn, ctx, Step::RcptTo, &line, Some(recipient)).await?;
            }
            Self::expect(conn, ctx, Step::Data, "DATA", None).await?;
        }
        conn.send(ctx, Step::Message, &client::data_payload(body))
            .await?;
        let reply = conn.reply(ctx, Step::Message).await?;
        let reply = check(ctx, Step::Message, reply, None)?;
        let text = classify::one_line(&reply.text());
        let code = if text.is_empty() {
            reply.code.to_string()
        } else {
            format!("{} {text}", reply.code)
        };
        Ok(Delivery::new(format!(
            "{code} ({}, {})",
            ctx.server(),
            self.config.security
        )))
    }

    /// Ends a session that was opened with [`SmtpTransport::connect`].
    pub(crate) async fn quit(&self, session: Session) {
        session.conn.quit().await;
    }
}

/// A reply that must be positive at `step`: 2xx, or 354 for DATA; else a
/// classified failure.
fn check(ctx: &Ctx, step: Step, reply: Reply, recipient: Option<&str>) -> Result<Reply, Failure> {
    let good = match step {
        Step::Data => reply.code == 354,
        _ => reply.is_positive(),
    };
    if good {
        Ok(reply)
    } else if reply.code >= 400 {
        Err(classify::reply(ctx, step, &reply, recipient))
    } else {
        Err(classify::unexpected(ctx, step, &reply))
    }
}

/// The mechanism to log in with: the pinned one if offered, else PLAIN,
/// else LOGIN; XOAUTH2 only when pinned.
fn pick_mechanism(
    ctx: &Ctx,
    ehlo: &Ehlo,
    pinned: Option<AuthMechanism>,
) -> Result<AuthMechanism, Failure> {
    let offered = offered_mechanisms(ehlo);
    let offered_text = if offered.is_empty() {
        "no mechanism notify knows".to_owned()
    } else {
        offered
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let failure = match pinned {
        Some(m) if offered.contains(&m) => return Ok(m),
        None if offered.contains(&AuthMechanism::Plain) => return Ok(AuthMechanism::Plain),
        None if offered.contains(&AuthMechanism::Login) => return Ok(AuthMechanism::Login),
        Some(m) => Failure::new(
            ErrorKind::Config,
            format!(
                "{} does not offer AUTH {} (it offers: {offered_text})",
                ctx.server_mode(),
                m.as_str().to_ascii_uppercase()
            ),
        )
        .hint(Hint::MechanismNotOffered),
        None if offered.contains(&AuthMechanism::Xoauth2) => Failure::new(
            ErrorKind::Config,
            format!(
                "{} offers only XOAUTH2 authentication (OAuth2 tokens)",
                ctx.server_mode()
            ),
        )
        .hint(Hint::OnlyXoauth2),
        None => match ehlo.auth_mechanisms() {
            Some(mechanisms) => Failure::new(
                ErrorKind::Config,
                format!(
                    "{} offers only authentication mechanisms notify does not speak \
                     (AUTH {mechanisms}); notify speaks PLAIN, LOGIN and XOAUTH2",
                    ctx.server_mode()
                ),
            )
            .hint(Hint::MechanismsUnsupported),
            None => Failure::new(
                ErrorKind::Config,
                format!(
                    "{} offers no authentication (no AUTH in its EHLO reply), but a password \
                     is configured",
                    ctx.server_mode()
                ),
            )
            .hint(Hint::NoLoginNeeded),
        },
    };
    Err(failure.at(Step::Auth).in_sync())
}

/// MAIL, every RCPT and DATA in one write, then their replies, where the
/// server offers PIPELINING (RFC 2920): one round trip instead of two plus
/// one per recipient. The same failures as one by one; when the server
/// said 354 to DATA although a recipient or the sender was refused, the
/// connection is dropped, never given an empty message.
async fn envelope_pipelined(
    conn: &mut Conn,
    ctx: &Ctx,
    mail: &str,
    recipients: &[&str],
) -> Result<(), Failure> {
    let mut commands = format!("{mail}\r\n");
    for recipient in recipients {
        commands.push_str(&format!("RCPT TO:<{recipient}>\r\n"));
    }
    commands.push_str("DATA\r\n");
    conn.send(ctx, Step::MailFrom, commands.as_bytes())
        .await
        .map_err(|mut f| {
            f.at_mail = true;
            f
        })?;
    let mut replies = Vec::with_capacity(recipients.len() + 2);
    for i in 0..recipients.len() + 2 {
        let step = match i {
            0 => Step::MailFrom,
            n if n <= recipients.len() => Step::RcptTo,
            _ => Step::Data,
        };
        match conn.reply(ctx, step).await {
            Ok(reply) => replies.push(reply),
            Err(mut failure) => {
                // Nothing of the message went out when MAIL got no reply
                // or a refusal (see `send_kept` for why that matters).
                failure.at_mail = replies.first().is_none_or(|r: &Reply| !r.is_positive());
                return Err(failure);
            }
        }
    }
    let data = &replies[recipients.len() + 1];
    // `check` of a reply that is not what the step needs is always a
    // failure; `.err()` keeps it.
    let refused = if !replies[0].is_positive() {
        check(ctx, Step::MailFrom, replies[0].clone(), None).err()
    } else if let Some((i, r)) = replies[1..=recipients.len()]
        .iter()
        .enumerate()
        .find(|(_, r)| !r.is_positive())
    {
        check(ctx, Step::RcptTo, r.clone(), Some(recipients[i])).err()
    } else if data.code != 354 {
        check(ctx, Step::Data, data.clone(), None).err()
    } else {
        None
    };
    let Some(mut f) = refused else {
        return Ok(());
    };
    if data.code == 354 {
        // The server waits for a message that must not be sent: only
        // dropping the connection ends it.
        f.in_sync = false;
    }
    f.at_mail = !replies[0].is_positive();
    Err(f)
}

#[async_trait]
impl Transport for SmtpTransport {
    async fn send(&self, notification: &Notification) -> Result<Delivery, TransportError> {
        let mut kept = Kept::default();
        let result = self.send_kept(&mut kept, notification).await;
        self.finish_kept(kept).await;
        result
    }

    /// Delivers `notifications` over one connection, in order, and reports
    /// each one as soon as it is settled: right after the server's reply to
    /// its message, or its failure. Every notification is reported once.
    ///
    /// - A message that cannot be built (bad address, ...) fails alone with
    ///   [`ErrorKind::Config`]; the connection is not touched for it.
    /// - After a message fails at the server (a refused recipient, 451 to
    ///   DATA, a timeout), that connection is dropped (with a QUIT when it
    ///   is still in step) and the next message gets a fresh one.
    /// - A kept connection the server has closed in the meantime is opened
    ///   again once, for the message that found it closed.
    /// - When the connection cannot be set up at all (refused, TLS, AUTH),
    ///   every remaining message fails with that same error: it is not
    ///   retried once per message.
    /// - The session ends with QUIT, after the last report.
    async fn send_batch<'a>(
        &self,
        notifications: &[&'a Notification],
        report: &mut BatchReport<'a>,
    ) {
        let mut kept = Kept::default();
        for (i, notification) in notifications.iter().enumerate() {
            let result = self.send_kept(&mut kept, notification).await;
            report(i, result);
        }
        self.finish_kept(kept).await;
    }
}

/// What a batch keeps between its messages: the open connection, or the
/// failure that makes opening one pointless.
#[derive(Default)]
struct Kept {
    session: Option<Session>,
    broken: Option<Failure>,
}

/// An [`SmtpTransport`] with its connection kept open between messages
/// (see [`SmtpTransport::into_session`]). End it with
/// [`SmtpSession::finish`]; dropped, it closes the connection without QUIT.
pub struct SmtpSession {
    transport: SmtpTransport,
    kept: Kept,
}

impl fmt::Debug for SmtpSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSession")
            .field("transport", &self.transport)
            .field("connected", &self.kept.session.is_some())
            .field("broken", &self.kept.broken.is_some())
            .finish()
    }
}

impl SmtpSession {
    /// Sends one message over the kept connection (opening it when needed).
    pub async fn send(&mut self, notification: &Notification) -> Result<Delivery, TransportError> {
        self.transport.send_kept(&mut self.kept, notification).await
    }

    /// Ends the connection with QUIT.
    pub async fn finish(self) {
        self.transport.finish_kept(self.kept).await;
    }
}

/// A connection in the dialogue, greeted (and logged in), with what its
/// EHLO offered.
#[derive(Debug)]
pub(crate) struct Session {
    conn: Conn,
    pub(crate) ehlo: Ehlo,
}

/// Watches [`SmtpTransport::connect`] step by step: each hook is called
/// when its step has succeeded (`connected` also when every address
/// failed). A delivery watches nothing ([`Unwatched`]); `notify doctor`
/// turns the hooks into its report.
pub(crate) trait Observer {
    /// The host name resolved to `addrs`.
    fn resolved(&mut self, _addrs: &[SocketAddr], _elapsed: Duration) {}
    /// Every TCP attempt, and the one that connected, if any.
    fn connected(&mut self, _attempts: &Attempts) {}
    /// Where the TLS verifier should also keep the chain it is shown.
    fn tls_recorder(&mut self) -> Option<Arc<tls::Presented>> {
        None
    }
    /// The plaintext part of STARTTLS went through: the greeting, and the
    /// server's 220 to STARTTLS.
    fn starttls(&mut self, _greeting: &Reply, _reply: &Reply) {}
    /// The TLS handshake succeeded; an error stops the sequence there.
    fn tls(&mut self, _stream: &Stream) -> Result<(), Failure> {
        Ok(())
    }
    /// What the last EHLO (after TLS, if any) offers.
    fn ehlo(&mut self, _ehlo: &Ehlo) {}
    /// Logged in with `mechanism`.
    fn authenticated(&mut self, _mechanism: AuthMechanism) {}
}

/// The observer of a delivery: watches nothing.
struct Unwatched;

impl Observer for Unwatched {}

/// A TCP connection made by [`SmtpTransport::connect_tcp`].
#[derive(Debug)]
pub(crate) struct Connected {
    pub(crate) tcp: TcpStream,
    pub(crate) addr: SocketAddr,
    /// How long the successful attempt took.
    pub(crate) elapsed: Duration,
}

/// What [`SmtpTransport::connect_tcp`] did: the connection, if any, and
/// each address that failed before it, in order.
#[derive(Debug)]
pub(crate) struct Attempts {
    pub(crate) connected: Option<Connected>,
    pub(crate) failures: Vec<(SocketAddr, Failure)>,
}

/// The EHLO name of a connection: a domain or an address literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientId {
    Domain(String),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientId::Domain(name) => f.write_str(name),
            ClientId::Ipv4(ip) => write!(f, "[{ip}]"),
            ClientId::Ipv6(ip) => write!(f, "[IPv6:{ip}]"),
        }
    }
}

/// Whether a host name is fit for EHLO: a domain, not `localhost`.
fn usable_hostname(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !name.is_empty()
        && name.len() <= 253
        && lower != "localhost"
        && !lower.starts_with("localhost.")
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Parses `helo_name`: a domain, an IP address, or an address literal
/// (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
fn parse_helo(name: &str) -> Result<ClientId, Error> {
    let trimmed = name.trim();
    let bad = |reason: &str| invalid("helo_name", name, reason);
    if trimmed.is_empty() {
        return Err(bad("it is empty"));
    }
    let inner = trimmed
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .map(|s| s.strip_prefix("IPv6:").unwrap_or(s));
    let ip_text = inner.unwrap_or(trimmed);
    if let Ok(ip) = ip_text.parse::<IpAddr>() {
        return Ok(match ip {
            IpAddr::V4(v4) => ClientId::Ipv4(v4),
            IpAddr::V6(v6) => ClientId::Ipv6(v6),
        });
    }
    if inner.is_some() {
        return Err(bad("not an IP address inside the brackets"));
    }
    if trimmed == "." || !usable_domain(trimmed) {
        return Err(bad(
            "expected a host name such as host.example.com or an address literal such as \
             [192.0.2.1]",
        ));
    }
    Ok(ClientId::Domain(trimmed.to_owned()))
}

fn usable_domain(name: &str) -> bool {
    !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
}

/// The mechanisms notify knows that the server's EHLO offers, in notify's
/// order of preference.
pub(crate) fn offered_mechanisms(ehlo: &Ehlo) -> Vec<AuthMechanism> {
    [
        AuthMechanism::Plain,
        AuthMechanism::Login,
        AuthMechanism::Xoauth2,
    ]
    .into_iter()
    .filter(|m| ehlo.offers(m.sasl()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanisms_notify_does_not_speak_are_named() {
        let ctx = Ctx {
            host: "mx.example.com".into(),
            port: 587,
            security: Security::StartTls,
            username: Some("me@example.com".into()),
            from: None,
            ca_file: None,
            timeout: Duration::from_secs(30),
            xoauth2: false,
        };
        let cram = Ehlo::from_bytes(b"250-mx\r\n250-AUTH CRAM-MD5 DIGEST-MD5\r\n250 8BITMIME\r\n");
        let f = pick_mechanism(&ctx, &cram, None).unwrap_err();
        assert!(
            f.message.contains("(AUTH CRAM-MD5 DIGEST-MD5)"),
            "{}",
            f.message
        );
        assert!(!f.message.contains("no AUTH"), "{}", f.message);
        assert_eq!(f.hint, Some(Hint::MechanismsUnsupported));
        let none = Ehlo::from_bytes(b"250-mx\r\n250 8BITMIME\r\n");
        let f = pick_mechanism(&ctx, &none, None).unwrap_err();
        assert!(
            f.message.contains("no AUTH in its EHLO reply"),
            "{}",
            f.message
        );
        assert_eq!(f.hint, Some(Hint::NoLoginNeeded));
        let plain = Ehlo::from_bytes(b"250-mx\r\n250 AUTH CRAM-MD5 PLAIN\r\n");
        assert_eq!(
            pick_mechanism(&ctx, &plain, None).unwrap(),
            AuthMechanism::Plain
        );
    }

    #[test]
    fn parse_server_forms() {
        let ok = |s: &str, sec: Option<Security>| SmtpConfig::parse_server(s, sec).unwrap();
        assert_eq!(
            ok("smtp.example.com", None),
            ("smtp.example.com".into(), 587, Security::StartTls)
        );
        assert_eq!(
            ok("smtp.example.com:465", None),
            ("smtp.example.com".into(), 465, Security::Tls)
        );
        assert_eq!(
            ok("smtp.example.com:25", None),
            ("smtp.example.com".into(), 25, Security::StartTls)
        );
        assert_eq!(
            ok("smtp.example.com", Some(Security::Tls)),
            ("smtp.example.com".into(), 465, Security::Tls)
        );
        assert_eq!(
            ok("relay", Some(Security::None)),
            ("relay".into(), 25, Security::None)
        );
        assert_eq!(
            ok("relay:2525", Some(Security::None)),
            ("relay".into(), 2525, Security::None)
        );
        assert_eq!(ok("[::1]:25", None), ("::1".into(), 25, Security::StartTls));
        assert_eq!(
            ok("[::1]", Some(Security::Tls)),
            ("::1".into(), 465, Security::Tls)
        );
        assert_eq!(
            ok("2001:db8::1", None),
            ("2001:db8::1".into(), 587, Security::StartTls)
        );
        assert_eq!(
            ok(" 127.0.0.1:465 ", None),
            ("127.0.0.1".into(), 465, Security::Tls)
        );
        for (bad, piece) in [
            ("", "empty"),
            ("smtp.example.com:", "invalid port ``"),
            ("smtp.example.com:0", "invalid port `0`"),
            ("smtp.example.com:70000", "invalid port `70000`"),
            ("smtp.example.com:abc", "1 to 65535"),
            ("smtps://smtp.example.com", "without a scheme"),
            ("smtp example.com", "invalid server `smtp example.com`"),
            ("[::1", "missing `]`"),
            ("[nope]:25", "not an IPv6 address"),
            ("[::1]25", "expected `:port`"),
            ("2001:db8::zz", "in brackets"),
            (":25", "host name is missing"),
            ("bücher.example", "xn--"),
        ] {
            let err = SmtpConfig::parse_server(bad, None).unwrap_err().to_string();
            assert!(err.contains(piece), "{bad:?}: {err}");
        }
    }

    #[test]
    fn auth_mechanism_names() {
        assert_eq!("PLAIN".parse::<AuthMechanism>(), Ok(AuthMechanism::Plain));
        assert_eq!(" login ".parse::<AuthMechanism>(), Ok(AuthMechanism::Login));
        assert_eq!(
            "xoauth2".parse::<AuthMechanism>(),
            Ok(AuthMechanism::Xoauth2)
        );
        let err = "cram-md5".parse::<AuthMechanism>().unwrap_err();
        assert_eq!(
            err,
            SettingError::UnknownAuthMechanism {
                value: "cram-md5".into()
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "unknown auth mechanism `cram-md5`; expected one of: {}",
                AuthMechanism::NAMES.join(", ")
            )
        );
        for name in AuthMechanism::NAMES {
            assert_eq!(name.parse::<AuthMechanism>().unwrap().as_str(), *name);
        }
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let mut config = SmtpConfig::new("smtp.example.com", 587, Security::StartTls);
        config.credentials = Some(Credentials::new("me@example.com", "canary-Pa55-w0rd"));
        let shown = format!("{config:?}");
        assert!(shown.contains("me@example.com"), "{shown}");
        assert!(!shown.contains("canary"), "{shown}");
        let transport = SmtpTransport::new(config).unwrap();
        assert!(!format!("{transport:?}").contains("canary"));
    }

    #[test]
    fn settings_are_checked() {
        let base = || SmtpConfig::new("smtp.example.com", 587, Security::StartTls);
        let err = |config: SmtpConfig| SmtpTransport::new(config).unwrap_err().to_string();

        let mut c = base();
        c.ca_pem = Some(b"not pem".to_vec());
        c.ca_file_label = Some("/etc/notify/ca.pem".into());
        let e = err(c);
        assert!(
            e.contains("/etc/notify/ca.pem") && e.contains("no certificate"),
            "{e}"
        );

        let mut c = base();
        c.auth = Some(AuthMechanism::Login);
        assert!(err(c).contains("`auth`"));

        let mut c = base();
        c.helo_name = Some("bad name\r\nRCPT".into());
        assert!(err(c).contains("helo_name"));

        let mut c = base();
        c.timeout = Duration::ZERO;
        assert!(err(c).contains("timeout"));

        let mut c = base();
        c.host = "bad host".into();
        assert!(err(c).contains("server"));

        let mut c = base();
        c.credentials = Some(Credentials::new("", "x"));
        assert!(err(c).contains("username"));
    }

    #[test]
    fn validate_checks_all_but_the_password() {
        let base = || SmtpConfig::new("smtp.example.com", 587, Security::StartTls);
        assert!(base().validate().is_ok());
        // A pinned mechanism whose password is only fetched at send time.
        let mut c = base();
        c.auth = Some(AuthMechanism::Xoauth2);
        assert!(c.validate().is_ok());
        assert!(SmtpTransport::new(c).is_err());

        type Breaks = fn(&mut SmtpConfig);
        let broken: Vec<(Breaks, &str)> = vec![
            (|c| c.ca_pem = Some(b"not pem".to_vec()), "no certificate"),
            (|c| c.helo_name = Some("bad name".into()), "helo_name"),
            (|c| c.timeout = Duration::ZERO, "timeout"),
            (|c| c.host = "bad host".into(), "server"),
            (|c| c.host = String::new(), "server"),
            (|c| c.port = 0, "server"),
            (
                |c| c.credentials = Some(Credentials::new("a\nb", "x")),
                "username",
            ),
        ];
        for (breakit, expected) in broken {
            let mut c = base();
            breakit(&mut c);
            let validated = c.validate().unwrap_err().to_string();
            assert!(validated.contains(expected), "{validated}");
            let new = SmtpTransport::new(c).unwrap_err().to_string();
            assert_eq!(validated, new);
        }
    }

    #[test]
    fn helo_names() {
        assert_eq!(
            parse_helo("host.example.com").unwrap(),
            ClientId::Domain("host.example.com".into())
        );
        assert_eq!(
            parse_helo("[192.0.2.1]").unwrap(),
            ClientId::Ipv4(Ipv4Addr::new(192, 0, 2, 1))
        );
        assert_eq!(
            parse_helo("192.0.2.1").unwrap(),
            ClientId::Ipv4(Ipv4Addr::new(192, 0, 2, 1))
        );
        assert_eq!(
            parse_helo("[IPv6:::1]").unwrap(),
            ClientId::Ipv6(Ipv6Addr::LOCALHOST)
        );
        assert!(parse_helo(".").is_err());
        assert!(parse_helo("[nope]").is_err());
        assert!(!usable_hostname("localhost"));
        assert!(!usable_hostname("localhost.localdomain"));
        assert!(!usable_hostname("."));
        assert!(!usable_hostname(""));
        assert!(usable_hostname("backup-01"));
        assert!(usable_hostname("nas.example.org"));
    }

    #[test]
    fn default_helo_is_never_localhost() {
        let transport =
            SmtpTransport::new(SmtpConfig::new("smtp.example.com", 587, Security::StartTls))
                .unwrap();
        let local: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        let id = transport.client_id(Some(local)).to_string();
        assert_ne!(id, "localhost");
        assert_ne!(id, ".");
        assert!(!id.is_empty());
        let literal = SmtpTransport {
            helo: Helo::Literal,
            ..transport
        };
        assert_eq!(literal.client_id(Some(local)).to_string(), "[192.0.2.7]");
        let v6: SocketAddr = "[2001:db8::7]:40000".parse().unwrap();
        assert_eq!(
            literal.client_id(Some(v6)).to_string(),
            "[IPv6:2001:db8::7]"
        );
    }
}
