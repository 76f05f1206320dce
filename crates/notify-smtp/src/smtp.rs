//! Delivery over SMTP: [`SmtpTransport`] and its settings, [`SmtpConfig`].
//!
//! lettre speaks the protocol; this module owns everything around it:
//!
//! - **The connection.** We resolve and connect the TCP stream ourselves
//!   (with a timeout and `TCP_NODELAY`: lettre writes the body and the final
//!   `CRLF.CRLF` separately, and with Nagle's algorithm every message would
//!   wait ~40 ms for a delayed ACK), do implicit TLS with our own rustls
//!   configuration, read the greeting, and only then hand the stream to
//!   lettre's `AsyncSmtpConnection::connect_with_transport`.
//! - **STARTTLS.** lettre's own `starttls()` wraps the stream it was given
//!   inside rustls, which would put our transcript adapter *below* TLS where
//!   it sees ciphertext, and it would use lettre's TLS settings rather than
//!   ours. So we do the plaintext part ourselves (greeting, EHLO, check that
//!   STARTTLS is offered, STARTTLS, 220), upgrade our own stream, and hand
//!   lettre the encrypted stream with the original greeting replayed in
//!   front of it, so lettre starts with EHLO over TLS as if the connection
//!   had just been made. Bytes the server sends after its 220 and before
//!   the handshake are refused (the STARTTLS command-injection attack).
//! - **Timeouts.** lettre's calls have none: every step is wrapped in
//!   `tokio::time::timeout` with [`SmtpConfig::timeout`].
//! - **Commands one by one.** MAIL, each RCPT, DATA and the message are
//!   separate lettre `command` calls, so an error names the step and the
//!   refused recipient; AUTH is driven here too, so that a mechanism is
//!   only used when the server offers it, never before the connection is
//!   encrypted (unless `allow_insecure_auth`), and an XOAUTH2 error
//!   challenge is answered to get the server's final reply.
//! - **Errors.** Every failure becomes a [`TransportError`] with a kind and,
//!   for the known cases, a hint; see `classify.rs`.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use lettre::transport::smtp::authentication::{Credentials as LettreCredentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Auth, Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use notify_core::{BatchReport, Delivery, ErrorKind, Notification, Transport, TransportError};
use rustls_pki_types::{CertificateDer, ServerName};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::TlsConnector;

use crate::classify::{self, hints, secs, Ctx, Failure, Step};
use crate::providers::Security;
use crate::tls::{self, Sniff, Stream};
use crate::transcript::{Shared, Sink, Transcript, Wire};
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

    pub(crate) fn lettre(self) -> Mechanism {
        match self {
            AuthMechanism::Plain => Mechanism::Plain,
            AuthMechanism::Login => Mechanism::Login,
            AuthMechanism::Xoauth2 => Mechanism::Xoauth2,
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
    /// `ca_file`), added to Mozilla's roots.
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
            .finish()
    }
}

impl SmtpConfig {
    /// The default limit for connecting and for each reply: 30 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Settings for `host:port` with `security`; no login, default timeout,
    /// certificates checked against Mozilla's roots.
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
        self.prepare().map(|_| ())
    }

    /// The checks of [`SmtpConfig::validate`], keeping what they built.
    fn prepare(&self) -> Result<Prepared, Error> {
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
        let tls = tls::client_config(&extra, self.accept_invalid_certs).map_err(|reason| {
            Error::CaFile {
                file: label.clone(),
                reason,
            }
        })?;
        let probe_tls = tls::client_config(&[], true).map_err(|reason| Error::CaFile {
            file: label,
            reason,
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

/// Delivers notifications over SMTP with lettre, over our own TCP/TLS
/// stream. See the module docs of `smtp.rs` for how the connection is made.
///
/// Each [`Transport::send_batch`] opens one connection for the whole batch
/// and ends it with QUIT; [`Transport::send`] is a batch of one.
pub struct SmtpTransport {
    config: SmtpConfig,
    tls: Arc<ClientConfig>,
    /// Accepts any certificate: only to find out whether a silent port
    /// speaks TLS, never to send anything.
    probe_tls: Arc<ClientConfig>,
    /// The `ca_pem` certificates, for [`SmtpTransport::recording_tls`].
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
        } = config.prepare()?;
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

    /// The transport's TLS settings, with a verifier that also records the
    /// chain the server presents into `record` (`notify doctor`).
    pub(crate) fn recording_tls(
        &self,
        record: Arc<tls::Presented>,
    ) -> Result<Arc<ClientConfig>, String> {
        tls::recording_client_config(&self.extra_roots, self.config.accept_invalid_certs, record)
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
                    self.quit(current).await;
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
                    self.quit(current).await;
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
            self.quit(s).await;
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

    /// Connects, secures, greets and logs in.
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
                .hint(hints::insecure_auth()));
            }
        }
        let transcript = Transcript::new(self.transcript.clone());

        let addrs = self.resolve(ctx).await?;
        let attempts = self.connect_tcp(ctx, &addrs).await;
        let Some(connected) = attempts.connected else {
            return Err(attempts.failures.into_iter().last().map_or_else(
                || Failure::new(ErrorKind::Temporary, "no address to connect to"),
                |(_, failure)| failure,
            ));
        };
        let Connected { tcp, addr, .. } = connected;
        let local = tcp.local_addr().ok();
        self.note_connected(&transcript, addr);

        let sniff = Sniff::new(tcp);
        let mut encrypted = cfg.security == Security::Tls;
        let stream = if encrypted {
            self.handshake(ctx, sniff, &transcript).await?
        } else {
            Stream::Plain(sniff)
        };
        let mut wire = Wire::new(stream, transcript);
        let mut pending = Vec::new();
        let greeting = self
            .read_greeting(ctx, &mut wire, &mut pending, addr)
            .await?;
        let hello = self.client_id(local);

        if cfg.security == Security::StartTls {
            let upgrade = self
                .starttls_prepare(ctx, wire, &mut pending, &hello)
                .await?;
            let stream = self
                .handshake(ctx, upgrade.sniff, &upgrade.transcript)
                .await?;
            encrypted = true;
            wire = Wire::new(stream, upgrade.transcript);
        }

        let mut session = self
            .lettre_connect(ctx, wire, greeting.raw, pending, &hello, encrypted)
            .await?;
        if let Some(creds) = &cfg.credentials {
            self.authenticate(ctx, &mut session, creds).await?;
        }
        Ok(session)
    }

    /// Resolves the host name (with the timeout).
    pub(crate) async fn resolve(&self, ctx: &Ctx) -> Result<Vec<SocketAddr>, Failure> {
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
    pub(crate) async fn connect_tcp(&self, ctx: &Ctx, addrs: &[SocketAddr]) -> Attempts {
        let mut failures = Vec::new();
        for addr in addrs {
            let start = Instant::now();
            match timeout(self.config.timeout, TcpStream::connect(addr)).await {
                Ok(Ok(tcp)) => {
                    // Best effort: without it each message waits for a
                    // delayed ACK.
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
    pub(crate) fn note_connected(&self, transcript: &Transcript, addr: SocketAddr) {
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
    /// [`GREETING_PATIENCE`] may be an implicit-TLS port waiting for our
    /// ClientHello: a TLS handshake on a second connection is then tried
    /// while the greeting is still awaited. If that handshake succeeds, the
    /// wrong security mode is reported at once; otherwise the greeting is
    /// awaited up to the full timeout (a slow plaintext server still
    /// works).
    pub(crate) async fn read_greeting(
        &self,
        ctx: &Ctx,
        wire: &mut Wire,
        pending: &mut Vec<u8>,
        addr: SocketAddr,
    ) -> Result<Reply, Failure> {
        let cfg = &self.config;
        let start = tokio::time::Instant::now();
        let deadline = start + cfg.timeout;
        // One read for the whole wait: dropping it in between could lose
        // the first lines of a multi-line greeting.
        let read = read_reply(wire, pending);
        tokio::pin!(read);
        let patience = cfg.timeout.min(GREETING_PATIENCE);
        let result = match timeout(patience, &mut read).await {
            Ok(result) => Some(result),
            Err(_) if cfg.security == Security::Tls => {
                tokio::time::timeout_at(deadline, &mut read).await.ok()
            }
            Err(_) => {
                let probe = self.speaks_tls(addr);
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
                        _ = tokio::time::sleep_until(deadline) => {
                            // A short timeout ends before the probe does:
                            // its answer is still worth the wait.
                            if probing && (&mut probe).await {
                                return Err(self.implicit_tls_port(ctx, start.elapsed()));
                            }
                            break None;
                        }
                    }
                }
            }
        };
        let greeting = match result {
            None => return Err(self.greeting_timeout(ctx)),
            Some(Err(err)) => return Err(read_failure(ctx, Step::Greeting, err)),
            Some(Ok(reply)) => reply,
        };
        if !(200..300).contains(&greeting.code) {
            return Err(classify::reply(
                ctx,
                Step::Greeting,
                greeting.code,
                &greeting.text(),
                None,
            ));
        }
        Ok(greeting)
    }

    /// The plaintext part of STARTTLS, after the greeting: EHLO, check that
    /// STARTTLS is offered (else QUIT and fail), STARTTLS, 220, and nothing
    /// pipelined after it. Returns the stream, ready for the handshake.
    pub(crate) async fn starttls_prepare(
        &self,
        ctx: &Ctx,
        mut wire: Wire,
        pending: &mut Vec<u8>,
        hello: &ClientId,
    ) -> Result<Upgrade, Failure> {
        let cfg = &self.config;
        let ehlo = self
            .exchange(
                ctx,
                &mut wire,
                pending,
                Step::Ehlo,
                &format!("EHLO {hello}"),
            )
            .await?;
        if ehlo.code != 250 {
            return Err(classify::reply(
                ctx,
                Step::Ehlo,
                ehlo.code,
                &ehlo.text(),
                None,
            ));
        }
        if !ehlo.has_keyword("STARTTLS") {
            let failure = Failure::new(
                ErrorKind::Config,
                format!(
                    "{} does not offer STARTTLS, and security = \"starttls\" requires it; \
                     nothing was sent",
                    ctx.server()
                ),
            )
            .hint(format!(
                "if this port expects implicit TLS, set security = \"tls\"; only for a \
                 trusted relay without TLS, set security = \"none\"{}",
                if cfg.credentials.is_some() {
                    " (and allow_insecure_auth = true to send the password unencrypted)"
                } else {
                    ""
                }
            ));
            let _ = timeout(
                cfg.timeout.min(Duration::from_secs(5)),
                self.exchange(ctx, &mut wire, pending, Step::Quit, "QUIT"),
            )
            .await;
            return Err(failure);
        }
        let reply = self
            .exchange(ctx, &mut wire, pending, Step::StartTls, "STARTTLS")
            .await?;
        if reply.code != 220 {
            return Err(classify::reply(
                ctx,
                Step::StartTls,
                reply.code,
                &reply.text(),
                None,
            ));
        }
        if !pending.is_empty() {
            return Err(Failure::new(
                ErrorKind::Permanent,
                format!(
                    "{} sent data after its STARTTLS reply and before the TLS handshake; \
                     refusing to continue (a sign of a STARTTLS injection attack)",
                    ctx.server_mode()
                ),
            ));
        }
        let (stream, transcript) = wire.into_parts();
        let Stream::Plain(mut sniff) = stream else {
            return Err(Failure::new(
                ErrorKind::Temporary,
                "internal: stream already encrypted",
            ));
        };
        sniff.restart();
        Ok(Upgrade {
            sniff,
            transcript,
            reply,
        })
    }

    /// Hands the connection to lettre, which sends EHLO: it reads a
    /// greeting first, so it is given the one we read (plus anything the
    /// server pipelined after it). The EHLO reply is also read here for
    /// PIPELINING, which lettre does not keep.
    pub(crate) async fn lettre_connect(
        &self,
        ctx: &Ctx,
        mut wire: Wire,
        greeting: Vec<u8>,
        mut pending: Vec<u8>,
        hello: &ClientId,
        encrypted: bool,
    ) -> Result<Session, Failure> {
        let mut replay = greeting;
        replay.append(&mut pending);
        wire.set_replay(replay);
        wire.start_capture();
        let wire = Shared::new(wire);
        match timeout(
            self.config.timeout,
            AsyncSmtpConnection::connect_with_transport(Box::new(wire.clone()), hello),
        )
        .await
        {
            Err(_) => Err(classify::timeout(ctx, Step::Ehlo)),
            Ok(Err(err)) => Err(lettre_failure(ctx, Step::Ehlo, err, None)),
            Ok(Ok(conn)) => {
                let ehlo = wire.lock().take_capture();
                Ok(Session {
                    conn,
                    encrypted,
                    pipelining: ehlo_offers(&ehlo, "PIPELINING"),
                    wire,
                })
            }
        }
    }

    /// Runs the TLS handshake over `sniff` with the transport's TLS
    /// settings.
    async fn handshake(
        &self,
        ctx: &Ctx,
        sniff: Sniff,
        transcript: &Transcript,
    ) -> Result<Stream, Failure> {
        self.handshake_with(self.tls.clone(), ctx, sniff, transcript)
            .await
    }

    /// Runs the TLS handshake over `sniff` with `tls`.
    pub(crate) async fn handshake_with(
        &self,
        tls: Arc<ClientConfig>,
        ctx: &Ctx,
        sniff: Sniff,
        transcript: &Transcript,
    ) -> Result<Stream, Failure> {
        let cfg = &self.config;
        let name = ServerName::try_from(cfg.host.clone()).map_err(|err| {
            Failure::new(
                ErrorKind::Config,
                format!("`{}` is not a valid TLS server name: {err}", cfg.host),
            )
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
        .hint(hints::use_tls(ctx))
    }

    /// No greeting within the timeout (and, without TLS, the port did not
    /// answer a TLS handshake either).
    fn greeting_timeout(&self, ctx: &Ctx) -> Failure {
        let failure = classify::timeout(ctx, Step::Greeting);
        if self.config.security != Security::Tls {
            let hint = format!(
                "{}; if this port expects implicit TLS (465 usually does), set security = \"tls\"",
                hints::command_timeout(ctx)
            );
            failure.hint(hint)
        } else {
            failure
        }
    }

    async fn speaks_tls(&self, addr: SocketAddr) -> bool {
        let Ok(name) = ServerName::try_from(self.config.host.clone()) else {
            return false;
        };
        let connector = TlsConnector::from(self.probe_tls.clone());
        let probe = async {
            let tcp = TcpStream::connect(addr).await.ok()?;
            let _ = tcp.set_nodelay(true);
            connector.connect(name, tcp).await.ok()
        };
        let limit = self.config.timeout.min(Duration::from_secs(5));
        matches!(timeout(limit, probe).await, Ok(Some(_)))
    }

    /// Sends one command line of our own (before lettre takes over) and
    /// reads the reply.
    pub(crate) async fn exchange(
        &self,
        ctx: &Ctx,
        wire: &mut Wire,
        pending: &mut Vec<u8>,
        step: Step,
        line: &str,
    ) -> Result<Reply, Failure> {
        let io = async {
            wire.write_all(format!("{line}\r\n").as_bytes())
                .await
                .map_err(ReadError::Io)?;
            wire.flush().await.map_err(ReadError::Io)?;
            read_reply(wire, pending).await
        };
        match timeout(self.config.timeout, io).await {
            Err(_) => Err(classify::timeout(ctx, step)),
            Ok(Err(err)) => Err(read_failure(ctx, step, err)),
            Ok(Ok(reply)) => Ok(reply),
        }
    }

    /// Logs in with the configured or the best offered mechanism, never
    /// over an unencrypted connection unless allowed; returns the
    /// mechanism used.
    pub(crate) async fn authenticate(
        &self,
        ctx: &Ctx,
        session: &mut Session,
        creds: &Credentials,
    ) -> Result<AuthMechanism, Failure> {
        let cfg = &self.config;
        if !session.encrypted && !cfg.allow_insecure_auth {
            return Err(Failure::new(
                ErrorKind::Config,
                format!(
                    "refusing to send the password of {} over the unencrypted connection to {}",
                    creds.username,
                    ctx.server_mode()
                ),
            )
            .hint(hints::insecure_auth()));
        }
        let info = session.conn.server_info();
        let offered = offered_mechanisms(info);
        let offered_text = if offered.is_empty() {
            "no mechanism notify knows".to_owned()
        } else {
            offered
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mechanism = match cfg.auth {
            Some(m) if offered.contains(&m) => m,
            Some(m) => {
                return Err(Failure::new(
                    ErrorKind::Config,
                    format!(
                        "{} does not offer AUTH {} (it offers: {offered_text})",
                        ctx.server_mode(),
                        m.as_str().to_ascii_uppercase()
                    ),
                )
                .hint("remove `auth` to use what the server offers, or set it to one of those"))
            }
            None if offered.contains(&AuthMechanism::Plain) => AuthMechanism::Plain,
            None if offered.contains(&AuthMechanism::Login) => AuthMechanism::Login,
            None if offered.contains(&AuthMechanism::Xoauth2) => {
                return Err(Failure::new(
                    ErrorKind::Config,
                    format!(
                        "{} offers only XOAUTH2 authentication (OAuth2 tokens)",
                        ctx.server_mode()
                    ),
                )
                .hint(
                    "set auth = \"xoauth2\" and password = \"cmd:...\" with a command that \
                     prints an OAuth2 access token",
                ))
            }
            None => {
                return Err(Failure::new(
                    ErrorKind::Config,
                    format!(
                        "{} offers no authentication (no AUTH in its EHLO reply), but a password \
                         is configured",
                        ctx.server_mode()
                    ),
                )
                .hint(
                    "if this is a relay that needs no login, remove `password` from the account",
                ))
            }
        };
        // The one place the secret leaves its SecretString.
        let lettre_creds = LettreCredentials::new(
            creds.username.clone(),
            creds.secret.expose_secret().to_owned(),
        );
        let first = Auth::new(mechanism.lettre(), lettre_creds.clone(), None)
            .map_err(|err| lettre_failure(ctx, Step::Auth, err, None))?;
        let mut reply = self.command(session, ctx, Step::Auth, first, None).await?;
        let mut rounds = 0;
        while reply.has_code(334) {
            rounds += 1;
            if rounds > 5 {
                return Err(Failure::new(
                    ErrorKind::Permanent,
                    format!("{} sent too many AUTH challenges", ctx.server_mode()),
                ));
            }
            let next = match mechanism {
                AuthMechanism::Login => {
                    Auth::new_from_response(Mechanism::Login, lettre_creds.clone(), &reply)
                        .map_err(|err| lettre_failure(ctx, Step::Auth, err, None))?
                        .to_string()
                }
                // A challenge after the initial response is an error report
                // (XOAUTH2 sends base64 JSON); an empty answer gets the
                // final reply.
                AuthMechanism::Plain | AuthMechanism::Xoauth2 => "\r\n".to_owned(),
            };
            reply = self.command(session, ctx, Step::Auth, next, None).await?;
        }
        Ok(mechanism)
    }

    /// One lettre command with the timeout; a negative reply is an error.
    async fn command<C: fmt::Display>(
        &self,
        session: &mut Session,
        ctx: &Ctx,
        step: Step,
        command: C,
        recipient: Option<&str>,
    ) -> Result<Response, Failure> {
        match timeout(self.config.timeout, session.conn.command(command)).await {
            Err(_) => Err(classify::timeout(ctx, step)),
            Ok(Err(err)) => Err(lettre_failure(ctx, step, err, recipient)),
            Ok(Ok(reply)) => Ok(reply),
        }
    }

    async fn deliver(
        &self,
        session: &mut Session,
        ctx: &Ctx,
        message: &BuiltMessage,
    ) -> Result<Delivery, Failure> {
        let envelope = message.envelope();
        let body = message.formatted();
        let info = session.conn.server_info();
        let mut params = Vec::new();
        let non_ascii_addresses = envelope
            .to()
            .iter()
            .chain(envelope.from())
            .any(|a| !a.to_string().is_ascii());
        if non_ascii_addresses {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Err(Failure::new(
                    ErrorKind::Permanent,
                    format!(
                        "{} does not support SMTPUTF8, needed for a non-ASCII address",
                        ctx.server_mode()
                    ),
                )
                .per_message()
                .in_sync());
            }
            params.push(MailParameter::SmtpUtfEight);
        }
        if !body.is_ascii() {
            if !info.supports_feature(Extension::EightBitMime) {
                return Err(Failure::new(
                    ErrorKind::Permanent,
                    format!(
                        "{} does not support 8BITMIME, needed for this message",
                        ctx.server_mode()
                    ),
                )
                .per_message()
                .in_sync());
            }
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let mail = Mail::new(envelope.from().cloned(), params);
        if session.pipelining {
            self.envelope_pipelined(session, ctx, mail, envelope.to())
                .await?;
        } else {
            self.command(session, ctx, Step::MailFrom, mail, None)
                .await
                .map_err(|mut failure| {
                    failure.at_mail = true;
                    failure
                })?;
            for recipient in envelope.to() {
                self.command(
                    session,
                    ctx,
                    Step::RcptTo,
                    Rcpt::new(recipient.clone(), Vec::new()),
                    Some(recipient.as_ref()),
                )
                .await?;
            }
            self.command(session, ctx, Step::Data, Data, None).await?;
        }
        let reply = match timeout(self.config.timeout, session.conn.message(body)).await {
            Err(_) => return Err(classify::timeout(ctx, Step::Message)),
            Ok(Err(err)) => return Err(lettre_failure(ctx, Step::Message, err, None)),
            Ok(Ok(reply)) => reply,
        };
        let text = classify::one_line(&reply.message().collect::<Vec<_>>().join(" "));
        Ok(Delivery {
            detail: format!(
                "{} {} ({}, {})",
                reply.code(),
                text,
                ctx.server(),
                self.config.security
            )
            .replace("  (", " ("),
        })
    }

    /// MAIL, every RCPT and DATA in one write, then their replies, where
    /// the server offers PIPELINING (RFC 2920): one round trip instead of
    /// two plus one per recipient. The same failures as one by one; when
    /// the server said 354 to DATA although a recipient or the sender was
    /// refused, the connection is dropped, never given an empty message.
    async fn envelope_pipelined(
        &self,
        session: &mut Session,
        ctx: &Ctx,
        mail: Mail,
        recipients: &[lettre::Address],
    ) -> Result<(), Failure> {
        let mut commands = mail.to_string();
        for recipient in recipients {
            commands.push_str(&Rcpt::new(recipient.clone(), Vec::new()).to_string());
        }
        commands.push_str(&Data.to_string());
        let mut wire = session.wire.clone();
        let mut pending = Vec::new();
        let mut replies = Vec::with_capacity(recipients.len() + 2);
        let io = async {
            wire.write_all(commands.as_bytes())
                .await
                .map_err(ReadError::Io)?;
            for _ in 0..recipients.len() + 2 {
                replies.push(read_reply(&mut wire, &mut pending).await?);
            }
            Ok::<(), ReadError>(())
        };
        let result = timeout(self.config.timeout, io).await;
        // The step whose reply was awaited when it went wrong.
        let step = match replies.len() {
            0 => Step::MailFrom,
            n if n <= recipients.len() => Step::RcptTo,
            _ => Step::Data,
        };
        let mut failure = match result {
            Err(_) => classify::timeout(ctx, step),
            Ok(Err(err)) => read_failure(ctx, step, err),
            Ok(Ok(())) if !pending.is_empty() => Failure::new(
                ErrorKind::Temporary,
                format!(
                    "{} sent more replies than there were commands",
                    ctx.server_mode()
                ),
            ),
            Ok(Ok(())) => {
                let data = &replies[recipients.len() + 1];
                let refused = if replies[0].code / 100 != 2 {
                    Some(classify::reply(
                        ctx,
                        Step::MailFrom,
                        replies[0].code,
                        &replies[0].text(),
                        None,
                    ))
                } else if let Some((i, r)) = replies[1..=recipients.len()]
                    .iter()
                    .enumerate()
                    .find(|(_, r)| r.code / 100 != 2)
                {
                    Some(classify::reply(
                        ctx,
                        Step::RcptTo,
                        r.code,
                        &r.text(),
                        Some(recipients[i].as_ref()),
                    ))
                } else if data.code != 354 {
                    Some(classify::reply(
                        ctx,
                        Step::Data,
                        data.code,
                        &data.text(),
                        None,
                    ))
                } else {
                    None
                };
                match refused {
                    None => return Ok(()),
                    Some(mut f) => {
                        if data.code == 354 {
                            // The server waits for a message that must not
                            // be sent: only dropping the connection ends it.
                            f.in_sync = false;
                        }
                        f
                    }
                }
            }
        };
        // Nothing of the message went out when MAIL got no reply or a
        // refusal (see `send_kept` for why that matters).
        failure.at_mail = replies.first().is_none_or(|r| r.code / 100 != 2);
        Err(failure)
    }

    /// Ends the session: sends QUIT and closes the connection without
    /// waiting for the server's 221, as Postfix does by default
    /// (`smtp_skip_quit_response`). Every message was accepted or refused
    /// already; the reply would only cost a round trip.
    pub(crate) async fn quit(&self, mut session: Session) {
        let mut quit = std::pin::pin!(session.conn.quit());
        // One poll writes QUIT and, starting to read the reply, sends it
        // (see `Wire`); the reply itself is not awaited.
        let _ = std::future::poll_fn(|cx| Poll::Ready(quit.as_mut().poll(cx))).await;
    }
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

/// A connection lettre speaks over, greeted (and logged in).
pub(crate) struct Session {
    pub(crate) conn: AsyncSmtpConnection,
    /// Whether it is TLS (lettre's own `is_encrypted` cannot know).
    pub(crate) encrypted: bool,
    /// Whether the server offered PIPELINING (RFC 2920).
    pub(crate) pipelining: bool,
    /// notify's own handle on the stream lettre speaks over.
    pub(crate) wire: Shared,
}

/// Whether an EHLO reply (raw bytes) lists `keyword`.
fn ehlo_offers(raw: &[u8], keyword: &str) -> bool {
    String::from_utf8_lossy(raw).lines().any(|line| {
        let line = line.trim_end_matches('\r');
        (line.starts_with("250-") || line.starts_with("250 "))
            && line[4..]
                .split_whitespace()
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
    })
}

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

/// The plaintext part of STARTTLS done: the stream for the handshake and
/// what the server said.
#[derive(Debug)]
pub(crate) struct Upgrade {
    pub(crate) sniff: Sniff,
    pub(crate) transcript: Transcript,
    /// The 220 to STARTTLS.
    pub(crate) reply: Reply,
}

/// An error from lettre at `step`, classified.
fn lettre_failure(
    ctx: &Ctx,
    step: Step,
    err: lettre::transport::smtp::Error,
    recipient: Option<&str>,
) -> Failure {
    let detail = std::error::Error::source(&err)
        .map(ToString::to_string)
        .unwrap_or_else(|| err.to_string());
    if let Some(code) = err.status() {
        return classify::reply(ctx, step, u16::from(code), &detail, recipient);
    }
    if err.is_response() && detail == "incomplete response" {
        return classify::dropped(ctx, step, "end of stream");
    }
    if err.is_client() {
        return Failure::new(
            ErrorKind::Permanent,
            format!("{}: {detail}", ctx.server_mode()),
        );
    }
    if err.is_response() {
        return Failure::new(
            ErrorKind::Temporary,
            format!(
                "{} sent a reply notify cannot read while it was waiting for {}: {detail}",
                ctx.server_mode(),
                step.waiting_for()
            ),
        );
    }
    classify::dropped(ctx, step, &detail)
}

/// A reply we read ourselves (greeting, EHLO and STARTTLS before lettre
/// takes over).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) code: u16,
    /// The text of each line, without the code.
    pub(crate) lines: Vec<String>,
    pub(crate) raw: Vec<u8>,
}

impl Reply {
    pub(crate) fn text(&self) -> String {
        self.lines.join(" ")
    }

    /// Whether an EHLO reply lists `keyword` (e.g. STARTTLS).
    pub(crate) fn has_keyword(&self, keyword: &str) -> bool {
        self.lines.iter().skip(1).any(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(keyword))
        })
    }
}

#[derive(Debug)]
enum ReadError {
    Io(std::io::Error),
    Eof,
    NotSmtp(Vec<u8>),
    TooLong,
}

const MAX_REPLY: usize = 100_000;

/// Reads one (possibly multi-line) reply; bytes after it stay in `pending`.
async fn read_reply<R: tokio::io::AsyncRead + Unpin>(
    wire: &mut R,
    pending: &mut Vec<u8>,
) -> Result<Reply, ReadError> {
    let mut raw = Vec::new();
    let mut lines = Vec::new();
    let mut code = None;
    loop {
        while let Some(i) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            raw.extend_from_slice(&line);
            let text = line
                .strip_suffix(b"\n")
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                .unwrap_or(&line);
            let digits = text.len() >= 3 && text[..3].iter().all(u8::is_ascii_digit);
            let sep = text.get(3).copied();
            if !digits || !matches!(sep, None | Some(b' ') | Some(b'-')) {
                return Err(ReadError::NotSmtp(raw));
            }
            let this_code = u16::from(text[0] - b'0') * 100
                + u16::from(text[1] - b'0') * 10
                + u16::from(text[2] - b'0');
            if *code.get_or_insert(this_code) != this_code {
                return Err(ReadError::NotSmtp(raw));
            }
            lines.push(String::from_utf8_lossy(text.get(4..).unwrap_or_default()).into_owned());
            if sep != Some(b'-') {
                return Ok(Reply {
                    code: this_code,
                    lines,
                    raw,
                });
            }
        }
        if raw.is_empty() && !pending.is_empty() && !pending[0].is_ascii_digit() {
            return Err(ReadError::NotSmtp(pending.clone()));
        }
        if raw.len() + pending.len() > MAX_REPLY {
            return Err(ReadError::TooLong);
        }
        let mut chunk = [0u8; 4096];
        let n = wire.read(&mut chunk).await.map_err(ReadError::Io)?;
        if n == 0 {
            return Err(ReadError::Eof);
        }
        pending.extend_from_slice(&chunk[..n]);
    }
}

fn read_failure(ctx: &Ctx, step: Step, err: ReadError) -> Failure {
    match err {
        ReadError::Io(err) => classify::dropped(ctx, step, &err.to_string()),
        ReadError::Eof => classify::dropped(ctx, step, "end of stream"),
        ReadError::NotSmtp(bytes) if tls::looks_like_tls(&bytes) => Failure::new(
            ErrorKind::Config,
            format!(
                "{} answered with TLS data instead of an SMTP greeting: wrong security mode for \
                 this port",
                ctx.server_mode()
            ),
        )
        .hint(hints::use_tls(ctx)),
        ReadError::NotSmtp(bytes) => Failure::new(
            ErrorKind::Config,
            format!(
                "{} does not speak SMTP: it sent {} while notify was waiting for {}",
                ctx.server_mode(),
                tls::printable(&bytes),
                step.waiting_for()
            ),
        )
        .hint("check the server and port (465 for tls, 587 for starttls, 25 for a relay)"),
        ReadError::TooLong => Failure::new(
            ErrorKind::Temporary,
            format!(
                "{} sent an over-long reply while notify was waiting for {}",
                ctx.server_mode(),
                step.waiting_for()
            ),
        ),
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
pub(crate) fn offered_mechanisms(
    info: &lettre::transport::smtp::extension::ServerInfo,
) -> Vec<AuthMechanism> {
    [
        AuthMechanism::Plain,
        AuthMechanism::Login,
        AuthMechanism::Xoauth2,
    ]
    .into_iter()
    .filter(|m| info.supports_auth_mechanism(m.lettre()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
