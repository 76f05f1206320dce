//! What the user can do about a failure, as data.

use std::path::PathBuf;
use std::time::Duration;

use crate::providers::Security;

/// What the user can do about a failure: which remedy applies, with the
/// facts it needs.
///
/// This crate does not word its hints. The remedy is nearly always a
/// setting, and how a setting is named belongs to the program that has it:
/// notify's CLI says `security = "starttls"` in its config file, another
/// program may have a checkbox. Each variant names the
/// [`SmtpConfig`](crate::SmtpConfig) field it is about, where there is
/// one. [`Error::hint`](crate::Error::hint) gives the hint of a build or
/// Maildir error; an SMTP failure attaches it to the
/// [`TransportError`](notify_core::TransportError) as a detail
/// (`err.detail::<Hint>()`), and [`doctor::Check`](crate::doctor) carries
/// one per step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hint {
    // --- Reaching the server -------------------------------------------
    /// The connection was refused: nothing listens on `server`
    /// (`host:port`); check `host` and `port` (465 for implicit TLS, 587
    /// for STARTTLS, 25 for a relay).
    NothingListens {
        /// `host:port`.
        server: String,
    },
    /// The name lookup failed or timed out, though the name may exist:
    /// check `host` and this machine's DNS; it may go away later.
    CheckHostName {
        /// The host name looked up.
        host: String,
    },
    /// No host of that name exists: check `host` for a typo.
    NoSuchHost {
        /// The host name looked up.
        host: String,
    },
    /// The connection timed out: a firewall, the network or the ISP may be
    /// dropping connections to `port` (on port 25 often so: use 587 or
    /// 465).
    PortBlocked {
        /// The port connected to.
        port: u16,
    },
    /// Any other network error while connecting: check the network, `host`
    /// and `port`.
    CheckNetwork,
    /// What answered on the port is not SMTP: check `host` and `port`.
    NotSmtp,
    /// Some of the server's addresses failed before one worked; every
    /// delivery waits for them first (often a broken IPv6 route).
    SlowAddresses {
        /// The `timeout` each failing address may take, when they timed out.
        timeout: Option<Duration>,
    },
    // --- The security mode ----------------------------------------------
    /// `server` speaks plaintext SMTP, not implicit TLS: use
    /// [`Security::StartTls`] (or [`Security::None`] for a relay), or the
    /// implicit-TLS port 465.
    UseStartTls {
        /// `host:port`.
        server: String,
    },
    /// The TLS handshake was closed by the server; if it keeps happening,
    /// the port may not speak implicit TLS ([`Hint::UseStartTls`]).
    TlsClosed {
        /// `host:port`.
        server: String,
    },
    /// `server` expects implicit TLS from the first byte: use
    /// [`Security::Tls`].
    UseTls {
        /// `host:port`.
        server: String,
    },
    /// No greeting within `timeout`: the server is slow or stuck (raise
    /// `timeout`), or the port expects implicit TLS ([`Security::Tls`]).
    NoGreeting {
        /// The `timeout` setting.
        timeout: Duration,
    },
    /// The server does not offer STARTTLS: if the port expects implicit
    /// TLS use [`Security::Tls`]; only for a trusted relay
    /// [`Security::None`] (with `allow_insecure_auth` when there is a
    /// password).
    StartTlsMissing {
        /// A password is configured.
        with_password: bool,
    },
    /// The server said yes to STARTTLS and then did not speak TLS: a broken
    /// server, or a device in the network path that strips STARTTLS; the
    /// server's administrator must look (notify never falls back to
    /// plaintext).
    StartTlsBroken,
    /// The server requires STARTTLS before MAIL FROM: use
    /// [`Security::StartTls`].
    StartTlsRequired,
    /// A password must not travel unencrypted: use [`Security::StartTls`]
    /// or [`Security::Tls`]; only for a trusted relay, `allow_insecure_auth`.
    EncryptThePassword,
    /// Mail and password travel in plaintext by choice
    /// (`allow_insecure_auth`): use STARTTLS or TLS if the server offers it.
    PreferEncryption,
    /// Mail travels in plaintext: fine for a relay on this machine or a
    /// trusted network, else use STARTTLS or TLS.
    PlaintextRelay,
    // --- Certificates ----------------------------------------------------
    /// The server's certificate is not trusted: add its CA certificate (or
    /// the server's own) as `ca_pem`; as a last resort,
    /// `accept_invalid_certs`.
    TrustCertificate {
        /// The `ca_file_label` (the extra certificates already given), which
        /// do not cover it.
        ca_file: Option<String>,
    },
    /// The certificate is not valid for the name connected to: use a name
    /// it covers as `host`; as a last resort, `accept_invalid_certs`.
    CertificateName {
        /// A name the certificate covers, with the port (`host:port`).
        suggestion: Option<String>,
    },
    /// The certificate is not valid now: check this machine's clock, else
    /// it must be renewed; as a last resort, `accept_invalid_certs`.
    CertificateExpired,
    /// The certificate expires within `within_days` days: tell the server's
    /// administrator.
    CertificateExpiresSoon {
        /// The warning threshold: it expires within this many days.
        within_days: i64,
    },
    /// The server aborted the handshake: it may need a TLS version or cipher
    /// notify does not offer (it offers TLS 1.2 and 1.3).
    TlsVersion,
    /// Certificate checks are off (`accept_invalid_certs`) but the
    /// certificate is valid: turn them back on.
    CertificateValid,
    /// Certificate checks are off (`accept_invalid_certs`) and the
    /// certificate would not be trusted: an impostor could read mail and
    /// password; fix the `problem`, then turn the checks back on.
    CheckingOff {
        /// Why it would not be trusted.
        problem: CertificateProblem,
        /// Extra certificates (`ca_pem`) are already given.
        ca_file_set: bool,
    },
    // --- Logging in --------------------------------------------------------
    /// Microsoft has turned basic authentication off (5.7.139): use
    /// [`AuthMechanism::Xoauth2`](crate::AuthMechanism) with an access
    /// token.
    BasicAuthDisabled,
    /// The login was refused: check the username (the sender address unless
    /// one is set) and the password.
    CheckCredentials {
        /// The username sent.
        username: Option<String>,
    },
    /// The login was refused and the server asks for an app password.
    AppPasswordRequired {
        /// The username sent.
        username: Option<String>,
    },
    /// The login was refused by a known provider, whose note says what it
    /// needs (usually an app password).
    ProviderPassword {
        /// The provider's display name.
        provider: &'static str,
        /// What the provider needs, from [`providers`](crate::providers).
        note: &'static str,
    },
    /// The OAuth2 access token (XOAUTH2) was refused: the token must be
    /// fresh, for the username, with the SMTP scope.
    TokenRefused {
        /// The username sent.
        username: Option<String>,
    },
    /// The server does not support the mechanism used (504): leave `auth`
    /// unset to pick one it offers.
    MechanismRefused,
    /// The pinned `auth` mechanism is not offered: leave `auth` unset or
    /// pin one of those offered.
    MechanismNotOffered,
    /// The server offers only XOAUTH2: use
    /// [`AuthMechanism::Xoauth2`](crate::AuthMechanism) with an access
    /// token.
    OnlyXoauth2,
    /// The server offers AUTH, but only mechanisms notify does not speak
    /// (CRAM-MD5, GSSAPI, ...): enable PLAIN or LOGIN (over TLS) on the
    /// server, or use XOAUTH2.
    MechanismsUnsupported,
    /// The server offers no AUTH but credentials are set: if it is a relay
    /// that needs no login, drop the credentials.
    NoLoginNeeded,
    /// The server offers no AUTH at this point though a password is
    /// configured: with [`Security::None`], AUTH often appears only after
    /// STARTTLS; otherwise the port may be a relay port.
    AuthNotOffered {
        /// The security mode used.
        security: Security,
    },
    /// No password is configured but the server offers AUTH: if it refuses
    /// mail without a login, set one.
    AuthOffered,
    /// The server requires a login before MAIL FROM: set the credentials.
    LoginRequired,
    // --- Delivering --------------------------------------------------------
    /// The message is too large for the server: send smaller attachments.
    MessageTooLarge,
    /// The server refused the EHLO name: set `helo_name` to this machine's
    /// public host name.
    HeloRefused,
    /// The connection broke before the message was accepted: temporary.
    ConnectionLost,
    /// The server is slow or stuck: temporary; raise `timeout` if it is
    /// always slow.
    SlowServer {
        /// The `timeout` setting.
        timeout: Duration,
    },
    /// The server did not confirm the message: it may or may not have been
    /// delivered; sent again, it has the same Message-ID.
    Unconfirmed {
        /// The `timeout` that ran out, when the confirmation never came (the
        /// server may be slow); `None` when the connection was closed.
        timeout: Option<Duration>,
    },
    // --- The message and local delivery -----------------------------------
    /// An address is malformed: give each address of `field` as its own
    /// entry, as `Name <user@example.com>` or `user@example.com`.
    AddressForm {
        /// The notification field: `from`, `to`, `cc`, `bcc` or `reply_to`.
        field: &'static str,
    },
    /// The notification has no sender: set `from`.
    SetFrom,
    /// The notification has no recipients: set `to`.
    SetRecipients,
    /// A preset Message-ID is malformed: leave it unset, or use
    /// `<unique-part@example.com>`.
    MessageIdForm,
    /// The date cannot be written: leave it unset, or check the clock.
    DateRange,
    /// An attachment's content type is not a MIME type.
    ContentType,
    /// A single address, display name or file name is too long for one
    /// header line: shorten it.
    LineTooLong,
    /// The extra certificates are not PEM certificates.
    CaFileForm,
    /// A setting is invalid: fix it.
    FixSetting {
        /// The setting's name, as [`Error::InvalidSetting`](crate::Error) has
        /// it.
        setting: &'static str,
    },
    /// The Maildir cannot be written: `problem` says why.
    Maildir {
        /// The directory concerned.
        dir: PathBuf,
        /// What is wrong with it.
        problem: MaildirProblem,
    },
}

/// Why a certificate would not be trusted, for [`Hint::CheckingOff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateProblem {
    /// It is not valid for the name connected to.
    WrongName,
    /// It is expired or not yet valid.
    Expired,
    /// Its issuer is not trusted (or another problem of the chain).
    Untrusted,
}

/// Why a Maildir cannot be written, for [`Hint::Maildir`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MaildirProblem {
    /// This user may not write there.
    Denied,
    /// The file system is mounted read-only.
    ReadOnly,
    /// The directory, or one of its parents, is a file.
    NotADirectory,
    /// The file system (or the user's quota) is full.
    Full,
}
